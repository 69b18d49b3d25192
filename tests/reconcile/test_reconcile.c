/*
 * test_reconcile.c: the reconciler with real guests booted through
 * mvm-qemu: scaling up and down, counts changed mid-pass, a failing image,
 * a SIGKILL mid-pass, minimum runtime, quotas, and desired-state documents.
 *
 * Needs MVM_QEMU and MVM_TEST_IMAGE, as tests/engine does. Assertions are
 * on the store and the processes, never on timing; the waits only bound
 * how long a broken reconciler can hang the suite.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "desired.h"
#include "engine.h"
#include "reconcile.h"
#include "recfix.h"
#include "store.h"
#include "vmfix.h"
#include "vmm.h"

TestSuite(reconcile, .init = recfix_setup, .fini = recfix_teardown,
    .timeout = 900);

Test(reconcile, scale_up_and_down)
{
	struct mvm_reconcile_pool_status s;
	uint32_t by[MVM_STATE_COUNT];
	size_t total;

	recfix_set_desired("web", 3, 1, 1);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 3, 1, 1);
	recfix_tally("web", by, &total);
	cr_assert_eq(total, 5, "%zu records for 5 slots", total);
	recfix_assert_processes("web");
	s = recfix_status("web");
	cr_assert_eq(s.totals.created, 5);
	cr_assert_eq(s.totals.started, 5);
	cr_assert_eq(s.totals.warmed, 1);
	cr_assert_eq(s.totals.slept, 1);
	cr_assert_eq(s.totals.failed, 0);
	cr_assert_str_eq(s.pending, "");
	pthread_mutex_lock(&rx.mu);
	cr_assert_geq(rx.events, 10, "each step begins and ends with an event");
	cr_assert_gt(rx.changes[MVM_RECONCILE_POOL_PASSED], 0);
	pthread_mutex_unlock(&rx.mu);

	recfix_set_desired("web", 0, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 0, 0, 0);
	recfix_tally("web", by, &total);
	cr_assert_eq(total, 5, "records are kept for reuse");
	cr_assert_eq(by[MVM_STATE_STOPPED], 5);
	recfix_assert_processes("web");
}

Test(reconcile, counts_change_mid_pass)
{
	uint32_t by[MVM_STATE_COUNT];
	size_t total;
	int i;

	recfix_set_desired("web", 1, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	/* Change the counts once the first record exists, mid-boot. */
	for (i = 0; i < WAIT_S * 100; i++) {
		recfix_tally("web", by, &total);
		if (total > 0)
			break;
		usleep(10 * 1000);
	}
	cr_assert_eq(total, 1);
	cr_assert(recfix_status("web").active, "the pass has ended already");
	recfix_set_desired("web", 1, 1, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 1, 1, 0);
	recfix_tally("web", by, &total);
	cr_assert_eq(total, 2, "%zu records for 2 slots", total);
	recfix_assert_processes("web");
}

Test(reconcile, failing_image_reaches_budget)
{
	struct mvm_reconcile_pool_status s;
	struct mvm_instance v[64];
	char bad[200], cmd[600];
	size_t n;
	int i;

	snprintf(bad, sizeof(bad), "%s/broken", fx.store.dir);
	snprintf(cmd, sizeof(cmd), "cp -r '%s' '%s' && truncate -s 4096 "
	    "'%s/vmlinuz'", fx.cfg.image_dir, bad, bad);
	cr_assert_eq(system(cmd), 0);
	recfix_make_pool("bad", bad);
	recfix_set_desired("bad", 2, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "bad");
	for (i = 0; i < WAIT_S * 10; i++) {
		s = recfix_status("bad");
		if (s.passed && !s.active && s.summary.failed == 2)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(s.summary.failed, 2, "never failed out: %s", s.pending);
	cr_assert_gt(s.summary.failed_holding, 0);
	cr_assert_not(s.summary.converged);
	cr_assert(strstr(s.pending, "hold ") != NULL, "%s", s.pending);

	/* More passes create nothing. */
	for (i = 0; i < 3; i++) {
		mvm_reconcile_kick(rx.rec, "acme", "bad");
		sleep(1);
	}
	n = recfix_records(v, "bad");
	cr_assert_eq(n, 2, "%zu records for 2 slots", n);
	for (size_t k = 0; k < n; k++) {
		cr_assert_eq(v[k].state, MVM_STATE_STOPPED);
		cr_assert_eq(v[k].failures, 3, "%s failed %u times", v[k].id,
		    v[k].failures);
		cr_assert_neq(v[k].reason[0], '\0');
	}
	s = recfix_status("bad");
	cr_assert_eq(s.totals.created, 2);
	cr_assert_eq(s.totals.failed, 6);
	cr_assert_not(s.summary.converged);
	recfix_assert_processes("bad");
}

/* Whether a record of `pool` is starting with its VMM launched. */
static bool
booting(const char *pool)
{
	struct mvm_instance v[64];
	size_t n = recfix_records(v, pool);

	for (size_t i = 0; i < n; i++)
		if (v[i].op == MVM_OP_STARTING && v[i].pid > 0)
			return true;
	return false;
}

Test(reconcile, sigkill_mid_pass)
{
	struct mvm_instance v[64];
	uint32_t by[MVM_STATE_COUNT];
	size_t n, total;
	pid_t child;
	int st, i, unclaimed;

	recfix_set_desired("web", 2, 0, 0);
	recfix_close_all();
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct mvm_store *s;
		struct mvm_engine *eng;
		struct mvm_reconcile *r;
		struct mvm_reconcile_config c = rx.cfg;

		c.on_change = NULL;
		c.on_event = NULL;
		if (mvm_store_open(fx.store.db, &s, NULL) < 0 ||
		    mvm_engine_open(&fx.cfg, s, &eng, NULL) < 0)
			_exit(2);
		c.st = s;
		c.eng = eng;
		if (mvm_reconcile_open(&c, &r, NULL) < 0)
			_exit(2);
		mvm_reconcile_kick(r, "acme", "web");
		for (;;)
			pause();
	}
	storefix_open(&fx.store);
	/*
	 * Kill the reconciler's process once a boot is under way: a record
	 * is starting with its VMM launched. What a host's speed changes is
	 * only how long that takes, not what the kill interrupts.
	 */
	for (i = 0; i < WAIT_S * 100; i++) {
		if (booting("web"))
			break;
		cr_assert_eq(waitpid(child, &st, WNOHANG), 0, "the child died");
		usleep(10 * 1000);
	}
	cr_assert(booting("web"), "no boot got under way");
	kill(child, SIGKILL);
	waitpid(child, &st, 0);
	storefix_close(&fx.store);

	recfix_open_all();
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 2, 0, 0);
	recfix_tally("web", by, &total);
	cr_assert_eq(total, 2, "%zu records for 2 slots", total);
	n = recfix_records(v, NULL);
	cr_assert_eq(vmfix_vmm_count(&fx, v, n, &unclaimed), 2);
	cr_assert_eq(unclaimed, 0, "an orphan VMM survived the crash");
	recfix_assert_processes("web");
}

Test(reconcile, minimum_runtime_defers)
{
	struct mvm_reconcile_pool_status s;
	struct mvm_pool p;
	uint32_t by[MVM_STATE_COUNT];
	size_t total;
	int i;

	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", "web", &p, NULL),
	    0);
	p.runtime.min_running_seconds = 6;
	p.desired.running = 1;
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, NULL), 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 1, 0, 0);

	recfix_set_desired("web", 0, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	for (i = 0; i < WAIT_S * 10; i++) {
		s = recfix_status("web");
		if (s.summary.desired.running == 0 && s.summary.deferred > 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(s.summary.deferred, 1, "no deferral: %s", s.pending);
	cr_assert_not(s.summary.converged);
	cr_assert_gt(s.summary.next_at, 0);
	cr_assert(strstr(s.pending, "min_running_seconds") != NULL, "%s",
	    s.pending);
	recfix_tally("web", by, &total);
	cr_assert_eq(by[MVM_STATE_RUNNING], 1, "stopped before its minimum");

	/* No kick: next_at brings the pass. */
	recfix_wait_converged("web", 0, 0, 0);
	recfix_tally("web", by, &total);
	cr_assert_eq(by[MVM_STATE_STOPPED], 1);
	recfix_assert_processes("web");
}

Test(reconcile, quota_defers_then_proceeds)
{
	struct mvm_reconcile_pool_status s;
	struct mvm_tenant t;
	uint32_t by[MVM_STATE_COUNT];
	size_t total;
	int i;

	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "acme", &t, NULL), 0);
	t.quota.max_running = 1;
	cr_assert_eq(mvm_store_tenant_update(fx.store.st, &t, NULL), 0);
	recfix_set_desired("web", 2, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	for (i = 0; i < WAIT_S * 10; i++) {
		s = recfix_status("web");
		recfix_tally("web", by, &total);
		if (s.passed && !s.active && by[MVM_STATE_RUNNING] == 1 &&
		    s.summary.deferred > 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(by[MVM_STATE_RUNNING], 1);
	cr_assert_eq(total, 1, "a slot the quota refuses gets no record");
	cr_assert_eq(s.summary.deferred, 1, "%s", s.pending);
	cr_assert_not(s.summary.converged);
	cr_assert(strstr(s.pending, "max_running") != NULL, "%s", s.pending);
	cr_assert_eq(s.totals.failed, 0, "a quota refusal is not a failure");

	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "acme", &t, NULL), 0);
	t.quota.max_running = 2;
	cr_assert_eq(mvm_store_tenant_update(fx.store.st, &t, NULL), 0);
	mvm_reconcile_kick(rx.rec, "acme", NULL);
	recfix_wait_converged("web", 2, 0, 0);
	recfix_tally("web", by, &total);
	cr_assert_eq(total, 2);
	recfix_assert_processes("web");
}

/* A document with tenant corp and pools wk (worker) and gw (gateway). */
static struct mvm_desired *
document(uint32_t max_running, uint32_t wk_mem, uint32_t gw_running,
    bool with_wk, bool prune_pools, bool with_corp, bool prune_tenants)
{
	char text[4096], pools[2048] = "", tenants[3000] = "";
	const char *pool_fmt = "{\"pool_id\": \"%s\", \"flake_ref\": \"\", "
	    "\"profile\": \"minimal\", \"role\": \"%s\", "
	    "\"instance_resources\": {\"vcpus\": 1, \"mem_mib\": %u}, "
	    "\"desired_counts\": {\"running\": %u, \"warm\": 0, "
	    "\"sleeping\": 0}, \"runtime_policy\": {\"min_running_seconds\": "
	    "0, \"min_warm_seconds\": 0, \"drain_timeout_seconds\": 2, "
	    "\"graceful_shutdown_seconds\": 10}}";
	struct mvm_desired *d = NULL;
	struct mvm_error e = { 0 };
	char wk[700], gw[700];

	snprintf(wk, sizeof(wk), pool_fmt, "wk", "worker", wk_mem, 0u);
	snprintf(gw, sizeof(gw), pool_fmt, "gw", "gateway", 128u, gw_running);
	snprintf(pools, sizeof(pools), "%s%s%s", with_wk ? wk : "",
	    with_wk ? ", " : "", gw);
	if (with_corp)
		snprintf(tenants, sizeof(tenants), "{\"tenant_id\": \"corp\", "
		    "\"network\": {\"tenant_net_id\": 9, \"ipv4_subnet\": "
		    "\"10.240.9.0/24\"}, \"quotas\": {\"max_vcpus\": 16, "
		    "\"max_mem_mib\": 32768, \"max_running\": %u, "
		    "\"max_warm\": 4, \"max_pools\": 3, "
		    "\"max_instances_per_pool\": 10, \"max_disk_gib\": 100}, "
		    "\"pools\": [%s]}", max_running, pools);
	snprintf(text, sizeof(text), "{\"schema_version\": 1, \"node_id\": "
	    "\"n1\", \"tenants\": [%s], \"prune_unknown_pools\": %s, "
	    "\"prune_unknown_tenants\": %s}", tenants,
	    prune_pools ? "true" : "false", prune_tenants ? "true" : "false");
	cr_assert_eq(mvm_desired_parse(text, strlen(text), &d, &e), 0,
	    "%s: %s", e.msg, text);
	return d;
}

static cJSON *
apply(struct mvm_desired *d, struct mvm_reconcile_report *rep)
{
	struct mvm_error e = { 0 };
	char *json = NULL;
	size_t len = 0;
	cJSON *o;

	cr_assert_eq(mvm_reconcile_apply(rx.rec, d, 1000, 1000, WAIT_S * 1000,
	    rep, &e), 0, "%s", e.msg);
	mvm_desired_free(d);
	cr_assert_eq(mvm_reconcile_report_json(rx.rec, rep, &json, &len), 0);
	cr_assert_eq(strlen(json), len);
	cr_assert_eq(json[len - 1], '\n');
	o = cJSON_Parse(json);
	cr_assert_not_null(o, "%s", json);
	free(json);
	return o;
}

static void
assert_strings(const cJSON *o, const char *name, const char *a,
    const char *b)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, name);
	int n = (a != NULL) + (b != NULL);

	cr_assert(cJSON_IsArray(arr), "%s", name);
	cr_assert_eq(cJSON_GetArraySize(arr), n, "%s", name);
	if (a != NULL)
		cr_assert_str_eq(cJSON_GetArrayItem(arr, 0)->valuestring, a);
	if (b != NULL)
		cr_assert_str_eq(cJSON_GetArrayItem(arr, 1)->valuestring, b);
}

static double
number(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsNumber(v), "%s", name);
	return v->valuedouble;
}

Test(reconcile, apply_documents)
{
	struct mvm_reconcile_report rep;
	struct mvm_tenant t;
	struct mvm_pool p;
	struct mvm_instance v[64];
	const cJSON *pools, *item;
	cJSON *o;

	/* Create: gateway pools first, whatever the document's order. */
	o = apply(document(8, 128, 0, true, false, true, false), &rep);
	cr_assert(rep.converged);
	cr_assert_gt(rep.finished_at, 0);
	assert_strings(o, "tenants_created", "corp", NULL);
	assert_strings(o, "pools_created", "corp/gw", "corp/wk");
	assert_strings(o, "pools_updated", NULL, NULL);
	assert_strings(o, "errors", NULL, NULL);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o,
	    "converged")));
	cr_assert_eq(number(o, "instances_created"), 0);
	pools = cJSON_GetObjectItemCaseSensitive(o, "pools");
	cr_assert_eq(cJSON_GetArraySize(pools), 2);
	item = cJSON_GetArrayItem(pools, 0);
	cr_assert_str_eq(cJSON_GetObjectItemCaseSensitive(item,
	    "pool")->valuestring, "corp/wk");
	cr_assert(strstr(cJSON_GetObjectItemCaseSensitive(item,
	    "summary")->valuestring, "converged=yes") != NULL);
	cJSON_Delete(o);
	mvm_reconcile_report_free(&rep);
	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "corp", &t, NULL), 0);
	cr_assert_eq(t.net_id, 9);
	cr_assert_eq(t.uid, 1000);
	cr_assert_eq(t.quota.max_running, 8);
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "corp", "wk", &p, NULL),
	    0);
	cr_assert_eq(p.mem_mib, 128);
	/* A key documents do not carry, set in the pool's config. */
	p.runtime.settle_seconds = 5;
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, NULL), 0);
	pthread_mutex_lock(&rx.mu);
	cr_assert_eq(rx.changes[MVM_RECONCILE_TENANT_CREATED], 1);
	cr_assert_eq(rx.changes[MVM_RECONCILE_POOL_CREATED], 2);
	pthread_mutex_unlock(&rx.mu);

	/* Update: quotas, a pool's memory, counts (one guest boots). */
	o = apply(document(4, 256, 1, true, false, true, false), &rep);
	cr_assert(rep.converged);
	assert_strings(o, "tenants_created", NULL, NULL);
	assert_strings(o, "tenants_updated", "corp", NULL);
	assert_strings(o, "pools_updated", "corp/gw", "corp/wk");
	cr_assert_eq(number(o, "instances_created"), 1);
	cr_assert_eq(number(o, "instances_started"), 1);
	cr_assert_eq(number(o, "instances_failed"), 0);
	cJSON_Delete(o);
	mvm_reconcile_report_free(&rep);
	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "corp", &t, NULL), 0);
	cr_assert_eq(t.quota.max_running, 4);
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "corp", "wk", &p, NULL),
	    0);
	cr_assert_eq(p.mem_mib, 256);
	cr_assert_eq(p.runtime.settle_seconds, 5, "the document reset it");
	cr_assert_eq(recfix_records(v, NULL), 1);
	cr_assert_eq(v[0].state, MVM_STATE_RUNNING);
	cr_assert_str_eq(v[0].pool, "gw");

	/* The same document again changes nothing. */
	o = apply(document(4, 256, 1, true, false, true, false), &rep);
	assert_strings(o, "tenants_updated", NULL, NULL);
	assert_strings(o, "pools_updated", NULL, NULL);
	cr_assert_eq(number(o, "instances_created"), 0);
	cJSON_Delete(o);
	mvm_reconcile_report_free(&rep);

	/* Without wk and with prune_unknown_pools: wk goes, acme stays. */
	o = apply(document(4, 256, 1, false, true, true, false), &rep);
	assert_strings(o, "pools_pruned", "corp/wk", NULL);
	assert_strings(o, "tenants_pruned", NULL, NULL);
	cJSON_Delete(o);
	mvm_reconcile_report_free(&rep);
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "corp", "wk", &p, NULL),
	    -ENOENT);
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", "web", &p, NULL),
	    0);

	/* No tenants, prune_unknown_tenants: both go, gw's guest with them. */
	o = apply(document(4, 256, 1, false, false, false, true), &rep);
	assert_strings(o, "tenants_pruned", "acme", "corp");
	assert_strings(o, "pools_pruned", "acme/web", "corp/gw");
	assert_strings(o, "errors", NULL, NULL);
	cJSON_Delete(o);
	mvm_reconcile_report_free(&rep);
	cr_assert_eq(mvm_store_tenant_count(fx.store.st, NULL), 0);
	cr_assert_eq(recfix_records(v, NULL), 0);
	recfix_assert_processes(NULL);
	pthread_mutex_lock(&rx.mu);
	cr_assert_eq(rx.changes[MVM_RECONCILE_TENANT_PRUNED], 2);
	cr_assert_eq(rx.changes[MVM_RECONCILE_POOL_PRUNED], 3);
	pthread_mutex_unlock(&rx.mu);
}

struct dry {
	char	pools[4][2 * MVM_ID_MAX + 2];
	size_t	steps[4];
	int	n;
};

static int
dry_pool(const struct mvm_pool *p, const struct mvm_plan *pl, void *arg)
{
	struct dry *d = arg;

	cr_assert_lt(d->n, 4);
	snprintf(d->pools[d->n], sizeof(d->pools[0]), "%s/%s", p->tenant,
	    p->id);
	d->steps[d->n++] = pl->nsteps;
	return 0;
}

Test(reconcile, plan_all_is_a_dry_run)
{
	struct mvm_desired *d;
	struct mvm_error e = { 0 };
	struct mvm_instance v[64];
	struct dry dry = { 0 };
	struct mvm_pool p;

	/* As stored: web wants nothing. */
	cr_assert_eq(mvm_reconcile_plan_all(fx.store.st, NULL, NULL, dry_pool,
	    &dry, &e), 1, "%s", e.msg);
	cr_assert_str_eq(dry.pools[0], "acme/web");
	cr_assert_eq(dry.steps[0], 0);

	/* As the document would have it: corp's two pools are new. */
	memset(&dry, 0, sizeof(dry));
	d = document(8, 128, 2, true, false, true, false);
	cr_assert_eq(mvm_reconcile_plan_all(fx.store.st, d, NULL, dry_pool,
	    &dry, &e), 3, "%s", e.msg);
	mvm_desired_free(d);
	cr_assert_str_eq(dry.pools[0], "acme/web");
	cr_assert_str_eq(dry.pools[1], "corp/wk");
	cr_assert_eq(dry.steps[1], 0);
	cr_assert_str_eq(dry.pools[2], "corp/gw");
	cr_assert_eq(dry.steps[2], 2, "two creates for running=2");

	/* Nothing was written. */
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "corp", "gw", &p, NULL),
	    -ENOENT);
	cr_assert_eq(recfix_records(v, NULL), 0);
}
