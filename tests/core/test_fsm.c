/* test_fsm.c: every pair of states, and minimum runtimes at the boundary. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "fsm.h"

#define C MVM_STATE_CREATED
#define R MVM_STATE_RUNNING
#define W MVM_STATE_WARM
#define S MVM_STATE_SLEEPING
#define T MVM_STATE_STOPPED
#define D MVM_STATE_DESTROYED

/*
 * The expected operation for each (from, to), or -1 where the move is
 * refused. Asking for the current state is an accepted no-op, created
 * included; destroyed is never left, not even for itself.
 */
static const int expect[MVM_STATE_COUNT][MVM_STATE_COUNT] = {
	[C] = { MVM_OP_NONE, MVM_OP_STARTING, -1, -1, -1, MVM_OP_DESTROYING },
	[R] = { -1, MVM_OP_NONE, MVM_OP_PAUSING, MVM_OP_SNAPSHOTTING,
		MVM_OP_STOPPING, MVM_OP_DESTROYING },
	[W] = { -1, MVM_OP_RESUMING, MVM_OP_NONE, MVM_OP_SNAPSHOTTING,
		MVM_OP_STOPPING, MVM_OP_DESTROYING },
	[S] = { -1, MVM_OP_WAKING, MVM_OP_WAKING, MVM_OP_NONE,
		MVM_OP_STOPPING, MVM_OP_DESTROYING },
	[T] = { -1, MVM_OP_STARTING, -1, -1, MVM_OP_NONE, MVM_OP_DESTROYING },
	[D] = { -1, -1, -1, -1, -1, -1 },
};

Test(fsm, every_pair)
{
	for (int from = 0; from < MVM_STATE_COUNT; from++) {
		for (int to = 0; to < MVM_STATE_COUNT; to++) {
			struct mvm_error e = { 0, "" };
			enum mvm_op op = MVM_OP_COUNT;
			int r = mvm_fsm_check(from, to, &op, &e);

			if (expect[from][to] < 0) {
				cr_assert_eq(r, -EOPNOTSUPP, "%s -> %s",
				    mvm_state_name(from), mvm_state_name(to));
				cr_assert_eq(e.code, EOPNOTSUPP);
				cr_assert_eq(op, MVM_OP_COUNT, "op touched");
				cr_assert(strstr(e.msg, mvm_state_name(to)) !=
				    NULL, "%s", e.msg);
			} else {
				cr_assert_eq(r, 0, "%s -> %s: %s",
				    mvm_state_name(from), mvm_state_name(to),
				    e.msg);
				cr_assert_eq(op, expect[from][to], "%s -> %s",
				    mvm_state_name(from), mvm_state_name(to));
			}
		}
	}
}

Test(fsm, refusal_sentence_lists_targets)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(mvm_fsm_check(T, W, NULL, &e), -EOPNOTSUPP);
	cr_assert_str_eq(e.msg, "cannot go from stopped to warm; from stopped "
	    "an instance can go to: running, destroyed");
	cr_assert_eq(mvm_fsm_check(R, C, NULL, &e), -EOPNOTSUPP);
	cr_assert_str_eq(e.msg, "cannot go from running to created; from "
	    "running an instance can go to: warm, sleeping, stopped, "
	    "destroyed");
	cr_assert_eq(mvm_fsm_check(D, R, NULL, &e), -EOPNOTSUPP);
	cr_assert(strstr(e.msg, "destroyed") != NULL, "%s", e.msg);
	cr_assert_eq(mvm_fsm_check(D, D, NULL, &e), -EOPNOTSUPP);
}

Test(fsm, out_of_range_states)
{
	cr_assert_eq(mvm_fsm_check(MVM_STATE_COUNT, R, NULL, NULL), -EINVAL);
	cr_assert_eq(mvm_fsm_check(R, (enum mvm_state)-1, NULL, NULL),
	    -EINVAL);
}

static struct mvm_instance
instance(enum mvm_state s, int64_t entered)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	in.state = s;
	if (s == R)
		in.entered_running_at = entered;
	if (s == W)
		in.entered_warm_at = entered;
	return in;
}

static struct mvm_runtime_policy
policy(uint32_t min_running, uint32_t min_warm)
{
	struct mvm_runtime_policy p;

	mvm_runtime_policy_defaults(&p);
	p.min_running_seconds = min_running;
	p.min_warm_seconds = min_warm;
	return p;
}

Test(fsm, min_running_boundary)
{
	struct mvm_runtime_policy p = policy(60, 30);
	struct mvm_instance in = instance(R, 1000);
	const enum mvm_state tos[] = { W, S, T };

	for (size_t i = 0; i < 3; i++) {
		struct mvm_error e = { 0, "" };

		cr_assert_eq(mvm_fsm_eligible(&in, tos[i], &p, 1059, false,
		    &e), -EAGAIN);
		cr_assert_eq(e.code, EAGAIN);
		cr_assert_eq(mvm_fsm_eligible(&in, tos[i], &p, 1060, false,
		    NULL), 0);
		cr_assert_eq(mvm_fsm_eligible(&in, tos[i], &p, 1061, false,
		    NULL), 0);
		cr_assert_eq(mvm_fsm_eligible_at(&in, tos[i], &p), 1060);
	}
}

Test(fsm, min_running_sentence)
{
	struct mvm_runtime_policy p = policy(60, 30);
	struct mvm_instance in = instance(R, 1000);
	struct mvm_error e = { 0, "" };

	cr_assert_eq(mvm_fsm_eligible(&in, W, &p, 1012, false, &e), -EAGAIN);
	cr_assert_str_eq(e.msg, "min_running_seconds=60 not reached: 12 s in "
	    "running, eligible in 48 s (write 'warm force' to override)");
}

Test(fsm, min_warm_boundary)
{
	struct mvm_runtime_policy p = policy(60, 30);
	struct mvm_instance in = instance(W, 500);
	struct mvm_error e = { 0, "" };

	cr_assert_eq(mvm_fsm_eligible(&in, S, &p, 529, false, &e), -EAGAIN);
	cr_assert_str_eq(e.msg, "min_warm_seconds=30 not reached: 29 s in "
	    "warm, eligible in 1 s (write 'sleeping force' to override)");
	cr_assert_eq(mvm_fsm_eligible(&in, S, &p, 530, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&in, S, &p, 531, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible_at(&in, S, &p), 530);
	/* Warm to running or stopped has no minimum. */
	cr_assert_eq(mvm_fsm_eligible(&in, R, &p, 501, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&in, T, &p, 501, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible_at(&in, R, &p), 0);
}

Test(fsm, exemptions)
{
	struct mvm_runtime_policy p = policy(60, 30);
	struct mvm_runtime_policy zero = policy(0, 0);
	struct mvm_instance in = instance(R, 1000);
	struct mvm_instance unknown = instance(R, 0);
	struct mvm_instance warm = instance(W, 1000);

	cr_assert_eq(mvm_fsm_eligible(&in, W, &zero, 1000, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&warm, S, &zero, 1000, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&unknown, W, &p, 5, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&in, W, &p, 1001, true, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&warm, S, &p, 1001, true, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&in, D, &p, 1001, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&warm, D, &p, 1001, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&in, R, &p, 1001, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible_at(&unknown, W, &p), 0);
	cr_assert_eq(mvm_fsm_eligible_at(&in, W, &zero), 0);
	cr_assert_eq(mvm_fsm_eligible_at(&in, D, &p), 0);
}

Test(fsm, clock_backwards_counts_as_zero)
{
	struct mvm_runtime_policy p = policy(60, 30);
	struct mvm_instance in = instance(R, 1000);
	struct mvm_error e = { 0, "" };

	cr_assert_eq(mvm_fsm_eligible(&in, W, &p, 900, false, &e), -EAGAIN);
	cr_assert(strstr(e.msg, ": 0 s in running, eligible in 60 s") != NULL,
	    "%s", e.msg);
}

Test(fsm, extreme_times_do_not_overflow)
{
	struct mvm_runtime_policy p = policy(UINT32_MAX, 30);
	struct mvm_instance in = instance(R, INT64_MIN);
	struct mvm_instance late = instance(R, INT64_MAX);

	cr_assert_eq(mvm_fsm_eligible(&in, W, &p, INT64_MAX, false, NULL), 0);
	cr_assert_eq(mvm_fsm_eligible(&late, W, &p, INT64_MIN, false, NULL),
	    -EAGAIN);
	cr_assert_eq(mvm_fsm_eligible_at(&late, W, &p), INT64_MAX);
}

/* Failures are forgotten settle_seconds after entering running, not before. */
Test(fsm, settle_at)
{
	struct mvm_runtime_policy p = policy(0, 0);
	struct mvm_instance in = instance(R, 1000);

	cr_assert_eq(p.settle_seconds, 60);
	cr_assert_eq(mvm_fsm_settle_at(&in, &p), 0, "nothing to forget");
	in.failures = 2;
	cr_assert_eq(mvm_fsm_settle_at(&in, &p), 1060);
	in.op = MVM_OP_PAUSING;
	cr_assert_eq(mvm_fsm_settle_at(&in, &p), 0, "busy");
	in = instance(W, 1000);
	in.failures = 2;
	cr_assert_eq(mvm_fsm_settle_at(&in, &p), 0, "only running settles");
	in = instance(R, INT64_MAX - 5);
	in.failures = 1;
	cr_assert_eq(mvm_fsm_settle_at(&in, &p), INT64_MAX);
}
