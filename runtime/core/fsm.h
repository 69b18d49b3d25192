/*
 * fsm.h: which state changes an instance may make, and when.
 *
 * The allowed transitions, as in docs/design.md section 4.2:
 *
 *	created, stopped         -> running    starting (cold boot)
 *	running                  -> warm       pausing
 *	warm                     -> running    resuming
 *	running, warm            -> sleeping   snapshotting
 *	sleeping                 -> running    waking (restore and resume)
 *	sleeping                 -> warm       waking (restore, stay paused)
 *	running, warm, sleeping  -> stopped    stopping
 *	every state but destroyed -> destroyed destroying
 *
 * Asking for the state an instance is already in (other than destroyed) is
 * an accepted no-op, so configuration tools that write `running` again and
 * again stay idempotent. Otherwise `created` is never a target, and
 * `destroyed` is never left (not even for itself).
 *
 * Minimum runtime: leaving running (to warm, sleeping or stopped) needs
 * min_running_seconds spent in running; warm to sleeping needs
 * min_warm_seconds in warm. Destroy and an operator's `force` are exempt.
 */
#ifndef MVM_FSM_H
#define MVM_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

/*
 * Is `from` -> `to` allowed? Returns 0 and sets *op to the operation that
 * performs it (MVM_OP_NONE for the from == to no-op); -EOPNOTSUPP with a
 * sentence listing where `from` can go ("cannot go from stopped to warm;
 * from stopped an instance can go to: running, destroyed"); -EINVAL for a
 * value that is not a state. *op is untouched on failure; `op` may be NULL.
 */
int mvm_fsm_check(enum mvm_state from, enum mvm_state to, enum mvm_op *op,
    struct mvm_error *e);

/*
 * May instance `in` leave its current state for `to` at time `now`, as far
 * as the minimum runtime goes? (Whether the move is allowed at all is
 * mvm_fsm_check's business.) Returns 0 when eligible: a minimum of 0, an
 * entry time of 0 (unknown), `force`, and a destroy always are; a clock
 * that went backwards counts as 0 s spent. Otherwise -EAGAIN with
 * "min_running_seconds=60 not reached: 12 s in running, eligible in 48 s
 * (write 'warm force' to override)".
 */
int mvm_fsm_eligible(const struct mvm_instance *in, enum mvm_state to,
    const struct mvm_runtime_policy *p, int64_t now, bool force,
    struct mvm_error *e);

/*
 * The time from which mvm_fsm_eligible(in, to, p, t, false) returns 0 for
 * every t >= it: the entry time plus the minimum (saturating), or 0 when no
 * minimum applies. The reconciler sleeps until then.
 */
int64_t mvm_fsm_eligible_at(const struct mvm_instance *in, enum mvm_state to,
    const struct mvm_runtime_policy *p);

/*
 * When the failures of instance `in` may be forgotten: a running instance
 * with no operation in progress and failures > 0 settles once it has been
 * running for p->settle_seconds (its agent answering then, which the
 * engine checks). Returns that time (saturating), or 0 when nothing is to
 * be forgotten or the instance is not running.
 */
int64_t mvm_fsm_settle_at(const struct mvm_instance *in,
    const struct mvm_runtime_policy *p);

#endif
