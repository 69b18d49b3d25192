/*
 * bench_reconcile: how long the reconciler takes to read and plan a node.
 *
 *   bench_reconcile [--runs N]
 *
 * (i)   A pass over 1,000 pools holding 10,000 instance records when
 *       nothing needs doing: one read of the store and a plan per pool
 *       (mvm_reconcile_plan_all). Aim: under 50 ms.
 * (ii)  A document that changes every pool's counts: parse it, then plan
 *       every pool as if it were applied. Aim: under 200 ms.
 * (iii) With MVM_TEST_IMAGE set: scaling one pool from 0 to 6 running
 *       guests, end to end, through the reconciler, on $MVM_QEMU, else
 *       the mvm-qemu of this build.
 *
 * It prints the median and the spread (min..max) over N runs, in
 * milliseconds. It asserts nothing: figures only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defaults.h"
#include "desired.h"
#include "engine.h"
#include "reconcile.h"
#include "store.h"
#include "timing.h"

#define NTENANTS	100
#define POOLS_PER	10
#define PER_POOL	10
#define MAX_RUNS	100
#define GUESTS		6

static void
print(const char *what, struct bench_samples *s, double aim)
{
	struct bench_summary sum = bench_summarize(s);

	bench_figure(what, "median ", &sum, "; aim < %.0f", aim);
}

struct tally {
	size_t	pools;
	size_t	steps;
	size_t	converged;
};

static int
count(const struct mvm_pool *p, const struct mvm_plan *pl, void *arg)
{
	struct tally *t = arg;

	(void)p;
	t->pools++;
	t->steps += pl->nsteps;
	t->converged += pl->summary.converged;
	return 0;
}

/* Every pool: 6 running, 2 warm, 2 sleeping records, desired exactly so. */
static int
populate(struct mvm_store *st, struct mvm_error *e)
{
	static const enum mvm_state states[PER_POOL] = {
		MVM_STATE_RUNNING, MVM_STATE_RUNNING, MVM_STATE_RUNNING,
		MVM_STATE_RUNNING, MVM_STATE_RUNNING, MVM_STATE_RUNNING,
		MVM_STATE_WARM, MVM_STATE_WARM,
		MVM_STATE_SLEEPING, MVM_STATE_SLEEPING,
	};
	int rc;

	if ((rc = mvm_store_begin(st, e)) < 0)
		return rc;
	for (int t = 0; t < NTENANTS && rc == 0; t++) {
		struct mvm_tenant tn;

		mvm_tenant_init(&tn);
		snprintf(tn.id, sizeof(tn.id), "t%d", t);
		tn.net_id = (uint16_t)t;
		tn.quota.max_vcpus = tn.quota.max_mem_mib = UINT32_MAX;
		tn.quota.max_running = tn.quota.max_warm = UINT32_MAX;
		tn.quota.max_pools = UINT32_MAX;
		tn.quota.max_instances_per_pool = UINT32_MAX;
		tn.quota.max_disk_gib = UINT32_MAX;
		if ((rc = mvm_store_tenant_create(st, &tn, e)) < 0)
			break;
		for (int p = 0; p < POOLS_PER && rc == 0; p++) {
			struct mvm_pool pl;

			mvm_pool_init(&pl);
			snprintf(pl.tenant, sizeof(pl.tenant), "t%d", t);
			snprintf(pl.id, sizeof(pl.id), "p%d", p);
			pl.desired = (struct mvm_counts){ 6, 2, 2 };
			pl.managed = true;
			pl.runtime.min_running_seconds = 0;
			pl.runtime.min_warm_seconds = 0;
			if ((rc = mvm_store_pool_create(st, &pl, e)) < 0)
				break;
			for (int i = 0; i < PER_POOL && rc == 0; i++) {
				struct mvm_instance in;

				memset(&in, 0, sizeof(in));
				snprintf(in.tenant, sizeof(in.tenant), "t%d", t);
				snprintf(in.pool, sizeof(in.pool), "p%d", p);
				snprintf(in.id, sizeof(in.id), "i-%08x",
				    (unsigned)(p * PER_POOL + i));
				in.state = states[i];
				in.created_at = 1700000000;
				rc = mvm_store_instance_create(st, &in, e);
			}
		}
	}
	if (rc < 0) {
		mvm_store_rollback(st);
		return rc;
	}
	return mvm_store_commit(st, e);
}

/* The node's own document with every pool's counts changed, as text. */
static int
changed_document(struct mvm_store *st, char **text, size_t *len,
    struct mvm_error *e)
{
	struct mvm_desired *d = NULL;
	struct mvm_tenant *tenants;
	struct mvm_pool *pools;
	int rc = -ENOMEM;

	tenants = calloc(NTENANTS, sizeof(*tenants));
	pools = calloc(NTENANTS * POOLS_PER, sizeof(*pools));
	if (tenants == NULL || pools == NULL)
		goto out;
	for (int t = 0; t < NTENANTS; t++) {
		char id[16];

		snprintf(id, sizeof(id), "t%d", t);
		if ((rc = mvm_store_tenant_get(st, id, &tenants[t], e)) < 0)
			goto out;
		for (int p = 0; p < POOLS_PER; p++) {
			struct mvm_pool *pl = &pools[t * POOLS_PER + p];
			char pid[16];

			snprintf(pid, sizeof(pid), "p%d", p);
			if ((rc = mvm_store_pool_get(st, id, pid, pl, e)) < 0)
				goto out;
			pl->desired = (struct mvm_counts){ 7, 1, 1 };
		}
	}
	if ((rc = mvm_desired_from_node(NULL, tenants, NTENANTS, pools,
	    NTENANTS * POOLS_PER, &d, e)) == 0)
		rc = mvm_desired_render(d, text, len);
out:
	mvm_desired_free(d);
	free(tenants);
	free(pools);
	return rc;
}

static int
bench_store(int runs)
{
	char dir[] = "/tmp/mvm-bench-rec-XXXXXX", path[64], cmd[96];
	double v[MAX_RUNS];
	struct bench_samples s;
	struct mvm_store *st = NULL;
	struct mvm_error e = { 0 };
	struct tally t;
	char *text = NULL;
	size_t len = 0;
	int rc = 1;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (mvm_store_open(path, &st, &e) < 0 || populate(st, &e) < 0) {
		fprintf(stderr, "bench_reconcile: %s\n", e.msg);
		goto out;
	}

	bench_samples_init(&s, v, MAX_RUNS);
	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_ms();

		memset(&t, 0, sizeof(t));
		if (mvm_reconcile_plan_all(st, NULL, NULL, count, &t, &e) < 0) {
			fprintf(stderr, "bench_reconcile: %s\n", e.msg);
			goto out;
		}
		bench_samples_add(&s, bench_now_ms() - t0);
	}
	printf("(i) %zu pools, %d records: %zu converged, %zu steps\n",
	    t.pools, NTENANTS * POOLS_PER * PER_POOL, t.converged, t.steps);
	print("(i) pass when nothing needs doing", &s, 50);

	if (changed_document(st, &text, &len, &e) < 0) {
		fprintf(stderr, "bench_reconcile: %s\n", e.msg);
		goto out;
	}
	bench_samples_init(&s, v, MAX_RUNS);
	for (int r = 0; r < runs; r++) {
		struct mvm_desired *d = NULL;
		double t0 = bench_now_ms();

		memset(&t, 0, sizeof(t));
		if (mvm_desired_parse(text, len, &d, &e) < 0 ||
		    mvm_reconcile_plan_all(st, d, NULL, count, &t, &e) < 0) {
			fprintf(stderr, "bench_reconcile: %s\n", e.msg);
			mvm_desired_free(d);
			goto out;
		}
		bench_samples_add(&s, bench_now_ms() - t0);
		mvm_desired_free(d);
	}
	printf("(ii) a %zu-byte document: %zu pools, %zu steps\n", len,
	    t.pools, t.steps);
	print("(ii) parse + plan a document changing all", &s, 200);
	rc = 0;
out:
	free(text);
	mvm_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}

struct ids {
	char	id[GUESTS * 2][MVM_ID_MAX + 1];
	int	n;
};

static int
collect(const struct mvm_instance *in, void *arg)
{
	struct ids *ids = arg;

	if (ids->n < GUESTS * 2)
		snprintf(ids->id[ids->n++], sizeof(ids->id[0]), "%s", in->id);
	return 0;
}

/* (iii): one pool from 0 to GUESTS running guests, end to end. */
static int
bench_guests(void)
{
	const char *qemu = getenv("MVM_QEMU"), *image = getenv("MVM_TEST_IMAGE");
	char dir[] = "/tmp/mvm-bench-rec-XXXXXX", state[64], run[64], db[64];
	char cmd[96];
	struct mvm_engine_config ec = { 0 };
	struct mvm_reconcile_config rc = { 0 };
	struct mvm_reconcile_pool_status s;
	struct mvm_store *st = NULL;
	struct mvm_engine *eng = NULL;
	struct mvm_reconcile *r = NULL;
	struct mvm_error e = { 0 };
	struct mvm_tenant t;
	struct mvm_pool p;
	double t0;
	int ret = 1;

	if (qemu == NULL || *qemu == '\0')
		qemu = MVM_QEMU_DEFAULT;
	if (image == NULL || *image == '\0') {
		printf("(iii) skipped: set MVM_TEST_IMAGE to boot %d guests\n",
		    GUESTS);
		return 0;
	}
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(db, sizeof(db), "%s/state.db", dir);
	ec = (struct mvm_engine_config){ .state_dir = state, .run_dir = run,
	    .vmm_path = qemu, .image_dir = image, .boot_timeout_ms = 300000 };
	if (mvm_store_open(db, &st, &e) < 0 ||
	    mvm_engine_open(&ec, st, &eng, &e) < 0)
		goto out;
	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "bench");
	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "bench");
	snprintf(p.id, sizeof(p.id), "web");
	p.runtime.min_running_seconds = 0;
	p.runtime.graceful_shutdown_seconds = 5;
	p.desired.running = GUESTS;
	p.managed = true;
	if (mvm_store_tenant_create(st, &t, &e) < 0 ||
	    mvm_store_pool_create(st, &p, &e) < 0)
		goto out;
	rc = (struct mvm_reconcile_config){ .st = st, .eng = eng };
	if (mvm_reconcile_open(&rc, &r, &e) < 0)
		goto out;
	t0 = bench_now_ms();
	mvm_reconcile_kick(r, "bench", "web");
	for (;;) {
		usleep(50 * 1000);
		if (mvm_reconcile_pool_status(r, "bench", "web", &s) < 0)
			continue;
		if (s.passed && !s.active && s.summary.converged)
			break;
		if (bench_now_ms() - t0 > 600000) {
			mvm_error_set(&e, ETIMEDOUT, "no convergence in 600 s");
			goto out;
		}
	}
	printf("(iii) 0 -> %d running guests: %.0f ms end to end (concurrency "
	    "2)\n", GUESTS, bench_now_ms() - t0);
	ret = 0;
out:
	if (ret != 0)
		fprintf(stderr, "bench_reconcile: %s\n", e.msg);
	mvm_reconcile_close(r);
	if (eng != NULL) {
		struct ids ids = { 0 };

		mvm_store_instance_list(st, "bench", "web", collect, &ids, NULL);
		for (int i = 0; i < ids.n; i++)
			mvm_engine_destroy(eng, "bench", "web", ids.id[i], NULL);
	}
	mvm_engine_close(eng);
	mvm_store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int runs = 11, c;

	while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (c != 'r' || (runs = atoi(optarg)) < 1 || runs > MAX_RUNS) {
			fprintf(stderr, "usage: bench_reconcile [--runs 1..%d]\n",
			    MAX_RUNS);
			return 2;
		}
	}
	if (bench_store(runs) != 0)
		return 1;
	return bench_guests();
}
