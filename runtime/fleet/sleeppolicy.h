/*
 * sleeppolicy.h: which idle instances of a pool to warm or put to sleep.
 *
 * A pure function over a pool's instances, their idle tracks (idle.h) and
 * the time. For each instance that is running or warm with no operation in
 * progress, and idle for `idle` seconds without a break:
 *
 *	running or warm, idle >= sleep_after_idle_seconds  -> sleeping
 *	running,         idle >= warm_after_idle_seconds   -> warm
 *
 * The deeper step wins when both apply. A threshold of 0 disables its step.
 * Nothing in a pinned pool or of a pinned tenant is ever touched. Minimum
 * runtime is obeyed: a step that mvm_fsm_eligible refuses is returned as a
 * deferral, with its reason and the time it becomes eligible, so that the
 * caller can log it and come back. An instance never measured (no track,
 * or a track without an idle interval) is not idle.
 *
 * Decisions come coldest first (longest idle), ties by instance id, and
 * each carries a sentence for the event log:
 * "idle 312 s (cpu 0.4% < 5%, net 0 B < 1024 B, guest idle) >=
 * warm_after_idle_seconds=300".
 */
#ifndef MVM_SLEEPPOLICY_H
#define MVM_SLEEPPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "idle.h"
#include "model.h"

/* One instance of the pool, as the caller knows it. */
struct mvm_sleep_input {
	const struct mvm_instance	*in;
	const struct mvm_idle_track	*idle;	/* NULL: never measured */
};

struct mvm_sleep_decision {
	size_t		index;		/* into the input array */
	enum mvm_state	to;		/* MVM_STATE_WARM or _SLEEPING */
	bool		deferred;	/* minimum runtime not reached yet */
	int64_t		eligible_at;	/* when deferred: Unix s it may go */
	int64_t		idle_seconds;
	char		reason[MVM_ERROR_MSG_MAX];	/* one sentence */
};

/*
 * Decide for the `n` instances `ins` of pool `p` of tenant `t` at Unix time
 * `now`, writing at most one decision per instance into `out`, which has
 * room for `n`. Instances of another pool are skipped. Returns the number
 * of decisions (0 for a pinned pool or tenant), in the order above.
 */
size_t mvm_sleep_decide(const struct mvm_tenant *t, const struct mvm_pool *p,
    const struct mvm_sleep_input *ins, size_t n, int64_t now,
    struct mvm_sleep_decision *out);

#endif
