/*
 * test_guest_lock.c: host-side calls to one guest's agent from several
 * threads at once (issue 10, item 9). The sampler's Status and the
 * engine's SleepPrep, Wake or an Exec share the one vsock port of an
 * instance; every call must succeed with its own, correct reply.
 *
 * Needs MVM_QEMU and MVM_TEST_IMAGE, like test_engine.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "guest.h"
#include "store.h"
#include "vmfix.h"

#define STATUS_THREADS	3
#define ROUNDS		4
/* Long enough to wait out the others' calls on a loaded TCG host. */
#define CALL_MS		30000

static struct vmfix fx;
static char vsock[256];
static atomic_bool done;

struct tally {
	int	calls;
	int	failures;
	char	first[600];	/* the first failure, as a sentence */
};

static void
setup(void)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in = { .state = MVM_STATE_CREATED };

	vmfix_setup(&fx, "guestlock");
	vmfix_tenant_create(&fx, "acme", 7);
	vmfix_pool_create(&fx, "acme", "web");
	snprintf(in.tenant, sizeof(in.tenant), "acme");
	snprintf(in.pool, sizeof(in.pool), "web");
	snprintf(in.id, sizeof(in.id), "i-00000001");
	in.created_at = time(NULL);
	cr_assert_eq(mvm_store_instance_create(fx.store.st, &in, &e), 0, "%s",
	    e.msg);
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", in.id,
	    MVM_STATE_RUNNING, 0, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_engine_vsock_path(fx.eng, &in, vsock, sizeof(vsock)),
	    0);
}

static void
teardown(void)
{
	vmfix_teardown(&fx);
}

static void
fail(struct tally *t, const char *what, int rc, const struct mvm_error *e)
{
	if (t->failures++ == 0)
		snprintf(t->first, sizeof(t->first), "%s: %d %s", what, rc,
		    e->msg);
}

/* The sampler's part: Status, one connection each, until `done`. */
static void *
status_loop(void *arg)
{
	struct tally *t = arg;
	struct mvm_guest_status st;
	struct mvm_error e;
	int fd, rc;

	while (!atomic_load(&done)) {
		memset(&e, 0, sizeof(e));
		memset(&st, 0, sizeof(st));
		t->calls++;
		rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, CALL_MS, &fd, &e);
		if (rc == 0)
			rc = mvm_guest_status(fd, CALL_MS, &st, &e);
		if (fd >= 0)
			mvm_guest_close(fd);
		if (rc != 0)
			fail(t, "Status", rc, &e);
		else if (st.uptime_ms == 0)
			fail(t, "Status with no uptime", 0, &e);
	}
	return NULL;
}

/* The engine's part: an Exec, a SleepPrep and a Wake, each on its own stream. */
static void
engine_round(struct tally *t, int round)
{
	const char *argv[] = { "/bin/sh", "-c", "sleep 0.3; echo $0", NULL,
	    NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_guest_drain drain;
	struct mvm_error e = { 0 };
	uint8_t seed[32] = { 1, 2, 3 };
	struct timespec ts;
	int64_t guest_ns;
	char word[16], want[20];
	int fd, rc;

	snprintf(word, sizeof(word), "round%d", round);
	argv[3] = word;
	snprintf(want, sizeof(want), "%s\n", word);
	t->calls += 3;
	rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, CALL_MS, &fd, &e);
	if (rc == 0)
		rc = mvm_guest_exec(fd, CALL_MS, argv, NULL, 10000, &r, &e);
	if (fd >= 0)
		mvm_guest_close(fd);
	if (rc != 0)
		fail(t, "Exec", rc, &e);
	else if (r->exit_code != 0 || strcmp((char *)r->stdout_buf, want) != 0)
		fail(t, "Exec with the wrong output", r->exit_code, &e);
	mvm_guest_exec_free(r);

	rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, CALL_MS, &fd, &e);
	if (rc == 0)
		rc = mvm_guest_sleep_prep(fd, CALL_MS, 2000, &drain, &e);
	if (fd >= 0)
		mvm_guest_close(fd);
	if (rc != 0)
		fail(t, "SleepPrep", rc, &e);

	clock_gettime(CLOCK_REALTIME, &ts);
	rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, CALL_MS, &fd, &e);
	if (rc == 0)
		rc = mvm_guest_wake(fd, CALL_MS,
		    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, seed,
		    sizeof(seed), &guest_ns, &e);
	if (fd >= 0)
		mvm_guest_close(fd);
	if (rc != 0)
		fail(t, "Wake", rc, &e);
	else if (guest_ns / 1000000000 < ts.tv_sec - 60)
		fail(t, "Wake left the guest clock behind", 0, &e);
}

TestSuite(guest_lock, .init = setup, .fini = teardown, .timeout = 600);

Test(guest_lock, status_beside_exec_sleepprep_and_wake)
{
	struct tally st[STATUS_THREADS] = { 0 }, eng = { 0 };
	pthread_t th[STATUS_THREADS];

	atomic_store(&done, false);
	for (int i = 0; i < STATUS_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, status_loop, &st[i]),
		    0);
	for (int round = 0; round < ROUNDS; round++)
		engine_round(&eng, round);
	atomic_store(&done, true);
	for (int i = 0; i < STATUS_THREADS; i++)
		pthread_join(th[i], NULL);

	cr_assert_eq(eng.failures, 0, "%d of %d engine calls failed; first: %s",
	    eng.failures, eng.calls, eng.first);
	for (int i = 0; i < STATUS_THREADS; i++) {
		cr_assert_gt(st[i].calls, 0);
		cr_assert_eq(st[i].failures, 0, "%d of %d Status calls of thread "
		    "%d failed; first: %s", st[i].failures, st[i].calls, i,
		    st[i].first);
	}
}
