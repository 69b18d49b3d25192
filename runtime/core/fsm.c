/* fsm.c: the instance state machine as a table, and minimum runtimes. */
#include "fsm.h"

#include <errno.h>
#include <stdio.h>

static const struct {
	enum mvm_state	from;
	enum mvm_state	to;
	enum mvm_op	op;
} transitions[] = {
	{ MVM_STATE_CREATED,	MVM_STATE_RUNNING,	MVM_OP_STARTING },
	{ MVM_STATE_STOPPED,	MVM_STATE_RUNNING,	MVM_OP_STARTING },
	{ MVM_STATE_RUNNING,	MVM_STATE_WARM,		MVM_OP_PAUSING },
	{ MVM_STATE_WARM,	MVM_STATE_RUNNING,	MVM_OP_RESUMING },
	{ MVM_STATE_RUNNING,	MVM_STATE_SLEEPING,	MVM_OP_SNAPSHOTTING },
	{ MVM_STATE_WARM,	MVM_STATE_SLEEPING,	MVM_OP_SNAPSHOTTING },
	{ MVM_STATE_SLEEPING,	MVM_STATE_RUNNING,	MVM_OP_WAKING },
	{ MVM_STATE_SLEEPING,	MVM_STATE_WARM,		MVM_OP_WAKING },
	{ MVM_STATE_RUNNING,	MVM_STATE_STOPPED,	MVM_OP_STOPPING },
	{ MVM_STATE_WARM,	MVM_STATE_STOPPED,	MVM_OP_STOPPING },
	{ MVM_STATE_SLEEPING,	MVM_STATE_STOPPED,	MVM_OP_STOPPING },
	{ MVM_STATE_CREATED,	MVM_STATE_DESTROYED,	MVM_OP_DESTROYING },
	{ MVM_STATE_RUNNING,	MVM_STATE_DESTROYED,	MVM_OP_DESTROYING },
	{ MVM_STATE_WARM,	MVM_STATE_DESTROYED,	MVM_OP_DESTROYING },
	{ MVM_STATE_SLEEPING,	MVM_STATE_DESTROYED,	MVM_OP_DESTROYING },
	{ MVM_STATE_STOPPED,	MVM_STATE_DESTROYED,	MVM_OP_DESTROYING },
};

#define NTRANSITIONS (sizeof(transitions) / sizeof(transitions[0]))

int
mvm_fsm_check(enum mvm_state from, enum mvm_state to, enum mvm_op *op,
    struct mvm_error *e)
{
	char targets[128] = "";
	size_t n = 0;

	if ((unsigned)from >= MVM_STATE_COUNT ||
	    (unsigned)to >= MVM_STATE_COUNT)
		return mvm_error_set(e, EINVAL,
		    "state %d or %d is not an instance state", (int)from,
		    (int)to);
	if (from == to && from != MVM_STATE_DESTROYED) {
		if (op != NULL)
			*op = MVM_OP_NONE;
		return 0;
	}
	for (size_t i = 0; i < NTRANSITIONS; i++) {
		if (transitions[i].from != from)
			continue;
		if (transitions[i].to == to) {
			if (op != NULL)
				*op = transitions[i].op;
			return 0;
		}
		n += (size_t)snprintf(targets + n, sizeof(targets) - n, "%s%s",
		    n > 0 ? ", " : "", mvm_state_name(transitions[i].to));
	}
	if (from == MVM_STATE_DESTROYED)
		return mvm_error_set(e, EOPNOTSUPP,
		    "cannot go from destroyed to %s; a destroyed instance is "
		    "gone", mvm_state_name(to));
	return mvm_error_set(e, EOPNOTSUPP,
	    "cannot go from %s to %s; from %s an instance can go to: %s",
	    mvm_state_name(from), mvm_state_name(to), mvm_state_name(from),
	    targets);
}

/*
 * The minimum that governs leaving in->state for `to`: sets *min and
 * *entered and returns true, or returns false when none applies.
 */
static bool
minimum(const struct mvm_instance *in, enum mvm_state to,
    const struct mvm_runtime_policy *p, uint32_t *min, int64_t *entered,
    const char **name)
{
	if (in->state == MVM_STATE_RUNNING && (to == MVM_STATE_WARM ||
	    to == MVM_STATE_SLEEPING || to == MVM_STATE_STOPPED)) {
		*min = p->min_running_seconds;
		*entered = in->entered_running_at;
		*name = "min_running_seconds";
	} else if (in->state == MVM_STATE_WARM && to == MVM_STATE_SLEEPING) {
		*min = p->min_warm_seconds;
		*entered = in->entered_warm_at;
		*name = "min_warm_seconds";
	} else
		return false;
	return *min != 0 && *entered != 0;
}

int
mvm_fsm_eligible(const struct mvm_instance *in, enum mvm_state to,
    const struct mvm_runtime_policy *p, int64_t now, bool force,
    struct mvm_error *e)
{
	const char *name;
	int64_t entered, elapsed;
	uint32_t min;

	if (force || !minimum(in, to, p, &min, &entered, &name))
		return 0;
	if (now <= entered)
		elapsed = 0;
	else if (__builtin_sub_overflow(now, entered, &elapsed))
		elapsed = INT64_MAX;
	if (elapsed >= (int64_t)min)
		return 0;
	return mvm_error_set(e, EAGAIN,
	    "%s=%u not reached: %lld s in %s, eligible in %lld s (write "
	    "'%s force' to override)", name, min, (long long)elapsed,
	    mvm_state_name(in->state), (long long)(min - elapsed),
	    mvm_state_name(to));
}

int64_t
mvm_fsm_eligible_at(const struct mvm_instance *in, enum mvm_state to,
    const struct mvm_runtime_policy *p)
{
	const char *name;
	int64_t entered, at;
	uint32_t min;

	if (!minimum(in, to, p, &min, &entered, &name))
		return 0;
	if (__builtin_add_overflow(entered, (int64_t)min, &at))
		return INT64_MAX;
	return at;
}

int64_t
mvm_fsm_settle_at(const struct mvm_instance *in,
    const struct mvm_runtime_policy *p)
{
	int64_t at;

	if (in->failures == 0 || in->state != MVM_STATE_RUNNING ||
	    in->op != MVM_OP_NONE || in->entered_running_at <= 0)
		return 0;
	if (__builtin_add_overflow(in->entered_running_at,
	    (int64_t)p->settle_seconds, &at))
		return INT64_MAX;
	return at;
}
