/*
 * recfix.c: the fixture of the reconciler's tests with real guests
 * (recfix.h): a store, an engine and a reconciler over them, tenant acme
 * with pool web, and what the tests read back.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "recfix.h"
#include "store.h"
#include "vmm.h"

struct vmfix fx;

/* The reconciler under test and what its callbacks saw. */
struct recfix_state rx;

static void
on_event(void *arg, const struct mvm_event *ev)
{
	(void)arg;
	if (strncmp(ev->action, "reconcile.", 10) == 0) {
		pthread_mutex_lock(&rx.mu);
		rx.events++;
		pthread_mutex_unlock(&rx.mu);
	}
}

static void
on_change(void *arg, enum mvm_reconcile_change what, const char *tenant,
    const char *pool)
{
	(void)arg;
	(void)tenant;
	(void)pool;
	pthread_mutex_lock(&rx.mu);
	rx.changes[what]++;
	pthread_mutex_unlock(&rx.mu);
}

void
recfix_reconciler_open(void)
{
	struct mvm_error e = { 0 };

	rx.cfg.st = fx.store.st;
	rx.cfg.eng = fx.eng;
	cr_assert_eq(mvm_reconcile_open(&rx.cfg, &rx.rec, &e), 0,
	    "reconciler: %s", e.msg);
}

void
recfix_open_all(void)
{
	vmfix_open(&fx);
	recfix_reconciler_open();
}

void
recfix_close_all(void)
{
	mvm_reconcile_close(rx.rec);
	rx.rec = NULL;
	vmfix_close(&fx);
}

void
recfix_make_pool(const char *id, const char *image)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	vmfix_pool_init(&p, "acme", id);
	snprintf(p.image, sizeof(p.image), "%s", image);
	p.managed = true;
	cr_assert_eq(mvm_store_pool_create(fx.store.st, &p, &e), 0, "%s",
	    e.msg);
}

void
recfix_setup(void)
{
	memset(&rx, 0, sizeof(rx));
	pthread_mutex_init(&rx.mu, NULL);
	vmfix_setup(&fx, "rec");
	rx.cfg = (struct mvm_reconcile_config){ .concurrency = 2,
	    .interval_ms = 1000,
	    .plan = { .failure_budget = 3, .backoff_seconds = 1,
	    .backoff_max_seconds = 4 },
	    .on_change = on_change, .on_event = on_event };
	recfix_reconciler_open();
	vmfix_tenant_create(&fx, "acme", 7);
	recfix_make_pool("web", "");
}

void
recfix_teardown(void)
{
	mvm_reconcile_close(rx.rec);
	rx.rec = NULL;
	vmfix_teardown(&fx);
	pthread_mutex_destroy(&rx.mu);
}

static int
collect(const struct mvm_instance *in, void *arg)
{
	struct mvm_instance **v = arg;
	size_t n = 0;

	while ((*v)[n].id[0] != '\0')
		n++;
	if (n < 63)
		(*v)[n] = *in;
	return 0;
}

/* Every instance record of the node into v (at most 63), zero-terminated. */
size_t
recfix_records(struct mvm_instance v[64], const char *pool)
{
	size_t n = 0;

	memset(v, 0, 64 * sizeof(*v));
	cr_assert_eq(mvm_store_instance_list(fx.store.st, pool ? "acme" : NULL,
	    pool, collect, &v, NULL), 0);
	while (v[n].id[0] != '\0')
		n++;
	return n;
}

void
recfix_set_desired(const char *pool, uint32_t running, uint32_t warm,
    uint32_t sleeping)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", pool, &p, NULL),
	    0);
	p.desired = (struct mvm_counts){ running, warm, sleeping };
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, &e), 0, "%s",
	    e.msg);
}

struct mvm_reconcile_pool_status
recfix_status(const char *pool)
{
	struct mvm_reconcile_pool_status s;

	if (mvm_reconcile_pool_status(rx.rec, "acme", pool, &s) < 0)
		memset(&s, 0, sizeof(s));
	return s;
}

/* Records of `pool` by state. */
void
recfix_tally(const char *pool, uint32_t by[MVM_STATE_COUNT], size_t *total)
{
	struct mvm_instance v[64];
	size_t n = recfix_records(v, pool);

	memset(by, 0, MVM_STATE_COUNT * sizeof(*by));
	for (size_t i = 0; i < n; i++)
		by[v[i].state]++;
	*total = n;
}

/*
 * Wait until the pool's last pass is converged with nothing running and
 * the store holds exactly the desired counts.
 */
void
recfix_wait_converged(const char *pool, uint32_t running, uint32_t warm,
    uint32_t sleeping)
{
	struct mvm_reconcile_pool_status s;
	uint32_t by[MVM_STATE_COUNT];
	size_t total;

	for (int i = 0; i < WAIT_S * 10; i++) {
		s = recfix_status(pool);
		recfix_tally(pool, by, &total);
		if (s.passed && !s.active && s.summary.converged &&
		    by[MVM_STATE_RUNNING] == running &&
		    by[MVM_STATE_WARM] == warm &&
		    by[MVM_STATE_SLEEPING] == sleeping)
			return;
		usleep(100 * 1000);
	}
	cr_assert_fail("pool %s did not converge to %u/%u/%u: running %u "
	    "warm %u sleeping %u; pending: %s", pool, running, warm, sleeping,
	    by[MVM_STATE_RUNNING], by[MVM_STATE_WARM],
	    by[MVM_STATE_SLEEPING], s.pending);
}

/* Every running or warm record has a live VMM; the others have none. */
void
recfix_assert_processes(const char *pool)
{
	struct mvm_instance v[64];
	size_t n = recfix_records(v, pool);
	int unclaimed, live = 0;

	for (size_t i = 0; i < n; i++) {
		struct mvm_vmm_proc p = { v[i].pid, v[i].pid_start };

		if (v[i].state == MVM_STATE_RUNNING ||
		    v[i].state == MVM_STATE_WARM) {
			cr_assert_gt(v[i].pid, 0, "%s has no VMM", v[i].id);
			cr_assert(mvm_vmm_alive(&p), "the VMM of %s is gone",
			    v[i].id);
			live++;
		} else
			cr_assert_eq(v[i].pid, 0, "%s is %s with a pid", v[i].id,
			    mvm_state_name(v[i].state));
	}
	cr_assert_eq(vmfix_vmm_count(&fx, v, n, &unclaimed), live);
	cr_assert_eq(unclaimed, 0, "a VMM process no record claims");
}
