/*
 * test_loops.c: pools that never loop (issue 10, items 6 and 7), with real
 * guests booted through mvm-qemu under the reconciler. A guest that boots
 * and then dies, by a killed VMM or a kernel panic, reaches the failure
 * budget and stays stopped; a sleeping instance whose snapshot cannot be
 * loaded is retried with backoff, then stopped with its snapshot kept
 * aside, and its slot is filled by a boot. The events of a failing
 * instance stay bounded.
 *
 * Needs MVM_QEMU and MVM_TEST_IMAGE. Assertions are on the store, the
 * files and the order of events, never on timing.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "guest.h"
#include "recfix.h"
#include "store.h"
#include "vmm.h"

#define BUDGET	3	/* recfix's failure budget */

TestSuite(loops, .init = recfix_setup, .fini = recfix_teardown,
    .timeout = 900);

/* What the events of one instance say. */
struct tale {
	const char	*id;
	unsigned	 total;		/* events naming the instance */
	unsigned	 failed;	/* instance.failed (a failed move) */
	unsigned	 died;		/* instance.died (the VMM died) */
	unsigned	 kept;		/* instance.snapshot-kept */
	char		 last_kept[MVM_EVENT_DETAIL_MAX + 1];
	/* The seq of the last of each kind, or 0. */
	int64_t		 died_at, settled_at, state_at;
};

static int
tale_add(const struct mvm_event *ev, void *arg)
{
	struct tale *t = arg;

	t->total++;
	if (strcmp(ev->action, "instance.failed") == 0)
		t->failed++;
	else if (strcmp(ev->action, "instance.died") == 0) {
		t->died++;
		t->died_at = ev->seq;
	} else if (strcmp(ev->action, "instance.settled") == 0)
		t->settled_at = ev->seq;
	else if (strcmp(ev->action, "instance.state") == 0)
		t->state_at = ev->seq;
	else if (strcmp(ev->action, "instance.snapshot-kept") == 0) {
		t->kept++;
		snprintf(t->last_kept, sizeof(t->last_kept), "%s", ev->detail);
	}
	return 0;
}

static struct tale
tale_of(const char *pool, const char *id)
{
	struct mvm_event_filter f = { .tenant = "acme", .pool = pool,
	    .instance = id };
	struct tale t = { .id = id };

	cr_assert_eq(mvm_store_event_list(fx.store.st, &f, tale_add, &t,
	    NULL), 0);
	return t;
}

/* The pool's only record; fails unless it has exactly one. */
static struct mvm_instance
only(const char *pool)
{
	struct mvm_instance v[64];
	size_t n = recfix_records(v, pool);

	cr_assert_eq(n, 1, "pool %s has %zu records", pool, n);
	return v[0];
}

/* Wait for the pool's next pass to end with no step left. */
static struct mvm_reconcile_pool_status
next_quiet_pass(const char *pool)
{
	struct mvm_reconcile_pool_status s;
	unsigned seen;

	pthread_mutex_lock(&rx.mu);
	seen = rx.changes[MVM_RECONCILE_POOL_PASSED];
	pthread_mutex_unlock(&rx.mu);
	mvm_reconcile_kick(rx.rec, "acme", pool);
	for (int i = 0; i < WAIT_S * 10; i++) {
		unsigned now;

		pthread_mutex_lock(&rx.mu);
		now = rx.changes[MVM_RECONCILE_POOL_PASSED];
		pthread_mutex_unlock(&rx.mu);
		s = recfix_status(pool);
		if (now > seen && s.passed && !s.active)
			return s;
		usleep(100 * 1000);
	}
	cr_assert_fail("pool %s was not passed again", pool);
	return s;
}

/*
 * Run the pool's one instance into a crash loop: each time it reaches
 * running, `crash` makes it die. Returns when it has failed out (stopped
 * at the budget); fails if it is booted more than BUDGET + 1 times.
 */
static struct mvm_instance
crash_loop(const char *pool, void (*crash)(const struct mvm_instance *))
{
	struct mvm_instance in;
	unsigned boots = 0;

	recfix_set_desired(pool, 1, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", pool);
	memset(&in, 0, sizeof(in));
	for (int i = 0; i < WAIT_S * 10; i++) {
		struct mvm_instance v[64];
		struct mvm_vmm_proc p;

		if (recfix_records(v, pool) == 0) {
			/* The first pass has not created it yet. */
			usleep(100 * 1000);
			continue;
		}
		in = only(pool);
		p = (struct mvm_vmm_proc){ in.pid, in.pid_start };
		if (in.op == MVM_OP_NONE && in.state == MVM_STATE_STOPPED &&
		    in.failures >= BUDGET)
			return in;
		if (in.op == MVM_OP_NONE && in.state == MVM_STATE_RUNNING &&
		    mvm_vmm_alive(&p)) {
			cr_assert_leq(++boots, BUDGET + 1, "booted %u times, "
			    "failures %u: the crash loop never ends", boots,
			    in.failures);
			crash(&in);
			/* Until its VMM is gone (a panic takes a moment). */
			for (int k = 0; k < 600 && mvm_vmm_alive(&p); k++)
				usleep(100 * 1000);
			cr_assert_not(mvm_vmm_alive(&p), "the VMM of %s "
			    "outlived its crash", in.id);
			continue;
		}
		usleep(100 * 1000);
	}
	cr_assert_fail("pool %s never failed out: %s, failures %u", pool,
	    mvm_state_name(in.state), in.failures);
	return in;
}

/* The instance failed out stays stopped with its reason, quietly. */
static void
assert_failed_out(const char *pool, const struct mvm_instance *in,
    const char *why)
{
	struct mvm_reconcile_pool_status s;
	struct tale before, after;

	s = next_quiet_pass(pool);
	cr_assert_eq(s.summary.failed, 1, "%s", s.pending);
	cr_assert_not(s.summary.converged);
	cr_assert(strstr(s.pending, "hold ") != NULL, "%s", s.pending);
	cr_assert(strstr(in->reason, why) != NULL, "reason: %s", in->reason);
	before = tale_of(pool, in->id);
	cr_assert_eq(before.died, BUDGET, "%u deaths", before.died);

	s = next_quiet_pass(pool);
	after = tale_of(pool, in->id);
	cr_assert_eq(only(pool).state, MVM_STATE_STOPPED);
	cr_assert_eq(only(pool).failures, BUDGET);
	cr_assert_eq(after.total, before.total, "a failed-out instance "
	    "still makes events");
	cr_assert_eq(s.totals.started, BUDGET, "started %u times",
	    s.totals.started);
	recfix_assert_processes(pool);
}

static void
kill_vmm(const struct mvm_instance *in)
{
	cr_assert_eq(kill(in->pid, SIGKILL), 0);
}

Test(loops, killed_vmm_reaches_budget)
{
	struct mvm_instance in = crash_loop("web", kill_vmm);

	assert_failed_out("web", &in, "exited on its own");
}

/* Make the guest's kernel panic a moment after this call returns. */
static void
panic_guest(const struct mvm_instance *in)
{
	struct mvm_guest_exec_result *r = vmfix_guest_sh(&fx, in,
	    "setsid sh -c 'sleep 1; echo c > /proc/sysrq-trigger' "
	    "</dev/null >/dev/null 2>&1 &");

	mvm_guest_exec_free(r);
}

Test(loops, panicking_guest_reaches_budget)
{
	struct mvm_instance in = crash_loop("web", panic_guest);

	assert_failed_out("web", &in, "exited on its own");
}

/* Entries of directory `dir` whose name starts with `prefix`. */
static int
entries(const char *dir, const char *prefix, char *first, size_t len)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	int n = 0;

	cr_assert_not_null(dp, "%s", dir);
	while ((d = readdir(dp)) != NULL) {
		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
			continue;
		if (n++ == 0)
			snprintf(first, len, "%s", d->d_name);
	}
	closedir(dp);
	return n;
}

Test(loops, unreadable_snapshot_is_kept_aside)
{
	struct mvm_instance in, v[64];
	struct tale t;
	char dir[400], path[500], kept[256] = "";
	uint32_t by[MVM_STATE_COUNT];
	size_t total;

	recfix_set_desired("web", 0, 0, 1);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 0, 0, 1);
	in = only("web");
	cr_assert_eq(mvm_engine_instance_dir(fx.eng, &in, dir, sizeof(dir)),
	    0);
	/* The memory file no longer holds a guest. */
	snprintf(path, sizeof(path), "%s/snapshot/mem", dir);
	cr_assert_eq(truncate(path, 4096), 0, "%s", path);

	recfix_set_desired("web", 1, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	for (int i = 0; i < WAIT_S * 10; i++) {
		struct mvm_reconcile_pool_status s = recfix_status("web");

		t = tale_of("web", in.id);
		cr_assert_leq(t.failed, BUDGET, "%u failed wakes: no budget",
		    t.failed);
		recfix_tally("web", by, &total);
		if (t.kept > 0 && s.passed && !s.active &&
		    s.summary.converged && by[MVM_STATE_RUNNING] == 1)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(t.failed, BUDGET, "%u failed wakes", t.failed);
	cr_assert_eq(t.kept, 1, "no event said the snapshot was kept aside");
	cr_assert(strstr(t.last_kept, "snapshot") != NULL, "%s", t.last_kept);

	/* Kept aside, renamed, not deleted; the slot was filled by a boot. */
	cr_assert_eq(entries(dir, "snapshot.failed-", kept, sizeof(kept)), 1,
	    "no snapshot kept aside in %s", dir);
	cr_assert(strstr(t.last_kept, kept) != NULL, "the event names %s: %s",
	    kept, t.last_kept);
	snprintf(path, sizeof(path), "%s/%s/mem", dir, kept);
	cr_assert_eq(access(path, F_OK), 0, "%s", path);
	recfix_wait_converged("web", 1, 0, 0);
	total = recfix_records(v, "web");
	cr_assert_eq(total, 1, "%zu records for 1 slot", total);
	cr_assert_eq(v[0].state, MVM_STATE_RUNNING);

	/* Quiet once converged: no more events for the instance. */
	t = tale_of("web", in.id);
	next_quiet_pass("web");
	cr_assert_eq(tale_of("web", in.id).total, t.total);
	recfix_assert_processes("web");
}

Test(loops, healthy_instance_settles)
{
	struct mvm_instance in;
	struct mvm_pool p;
	struct tale t;

	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", "web", &p, NULL),
	    0);
	p.runtime.settle_seconds = 3;
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, NULL), 0);
	recfix_set_desired("web", 1, 0, 0);
	mvm_reconcile_kick(rx.rec, "acme", "web");
	recfix_wait_converged("web", 1, 0, 0);
	in = only("web");
	kill_vmm(&in);

	/* It dies once, boots again, and its count is forgotten later. */
	for (int i = 0; i < WAIT_S * 10; i++) {
		in = only("web");
		if (in.state == MVM_STATE_RUNNING && in.op == MVM_OP_NONE &&
		    in.failures == 0 && tale_of("web", in.id).died_at > 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_eq(in.failures, 0, "the count stayed at %u", in.failures);
	cr_assert_eq(in.state, MVM_STATE_RUNNING);
	t = tale_of("web", in.id);
	cr_assert_gt(t.settled_at, t.died_at, "settled before it died");
	cr_assert_gt(t.settled_at, t.state_at,
	    "settled before it was running again");
	recfix_assert_processes("web");
}
