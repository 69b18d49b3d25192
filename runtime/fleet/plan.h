/*
 * plan.h: the reconciler's planner. A pure function from one pool's desired
 * counts and its instances' true states to an ordered list of steps that
 * make the pool match, plus what has to wait and why.
 *
 * Nothing here touches the store, a VMM or the clock: the caller gives the
 * pool, its instance records with their failure history, the tenant's quota
 * and usage (usage.h) and `now`, and executes the steps itself. Planning
 * again after the steps are applied gives no steps (only deferrals, if any
 * remain): the plan is idempotent.
 *
 * The rules, in the order they are applied:
 *
 * 1. An instance with an operation in progress (op != none) is counted in
 *    the state that operation leads to (waking counts as running) and is
 *    never touched. A destroying or destroyed instance is not counted.
 *
 *    A parked instance (model.h: the sleep policy moved it colder because
 *    it was idle) with no operation in progress, in warm or sleeping,
 *    counts in the state it was parked from and is never touched, as long
 *    as that state's count wants it (members in the order given; parked
 *    ones beyond the count are planned like any other, by their true
 *    state). So the reconciler does not wake what the policy put to sleep.
 *
 * 2. Failure counts concern the moves up: boots, wakes and resumes, and
 *    guests that died after booting (the engine keeps the count until the
 *    instance has stayed running for the pool's settle_seconds). A stopped
 *    or created instance whose count has reached the failure budget is
 *    "failed out": left alone with its error, never started again by the
 *    planner, and it still holds a slot (see rule 3). So a pool whose image
 *    cannot boot, or whose guest keeps crashing, never has more instances
 *    than its desired counts, and the pool stays unconverged
 *    (summary.failed_holding) until an operator clears the failure count,
 *    destroys the instance or lowers the counts. One below the budget
 *    waits out a backoff of backoff_seconds, doubled per failure (at most
 *    backoff_max_seconds), after last_failure_at, and meanwhile also holds
 *    a slot, as a deferred start.
 *
 *    A warm or sleeping instance below the budget in its backoff counts in
 *    its state but is no source for another slot; when its own slot can
 *    spare it, it holds a slot nothing cheaper fills (before backing-off
 *    stopped ones): a move up is a deferred resume or wake, a move down is
 *    carried out. A warm or sleeping instance at the budget is stopped (a
 *    stop step; the engine keeps a sleeping one's snapshot aside and
 *    clears the count), holding a missing slot as a stopped one would, so
 *    that the next plan fills it by booting it. A running instance at the
 *    budget counts in running and may only stop, never go colder.
 *
 * 3. Each missing running instance comes from the cheapest source: a warm
 *    one (resume), then a sleeping one (wake), then a stopped or created one
 *    (start), then a new one (create). Then each missing warm instance comes
 *    from a surplus running one (pause), then sleeping (wake to warm), then
 *    stopped (start to warm), then new; each missing sleeping one from a
 *    surplus warm one (sleep), a surplus running one (sleep), stopped (start
 *    to sleeping). The slots still missing are held by failed-out, then
 *    backing-off instances, coldest slot first (so that a new instance
 *    never lands in a colder slot than theirs, which would make it a
 *    cheaper source for a warmer slot in the next plan), and only the rest
 *    are filled by new instances (create). Surplus left after that goes to
 *    stopped. So surplus moves to the warmest state that has room, in one
 *    step per instance, and no instance takes two steps in one plan.
 *
 * 4. Which instance of a state moves: the one that has been in its state
 *    longest (entered_running_at for running, entered_warm_at for warm,
 *    created_at otherwise; 0, unknown, sorts first), ties broken by id. A
 *    scale-down therefore picks the instances that reach their minimum
 *    runtime first. Among stopped and created instances, the fewest
 *    failures come first; among backing-off ones, the earliest to end.
 *
 * 5. A step that leaves running or warm for a colder state obeys the
 *    minimum runtime (fsm.h): when it is not reached, the step becomes a
 *    deferral with mvm_fsm_eligible's sentence and eligible_at. A start
 *    in backoff is a deferral with the backoff's end as eligible_at. A
 *    deferred instance still fills the slot it was chosen for, so nothing
 *    else is moved or created in its place.
 *
 * 6. Every step is checked against the quota with the usage as the plan
 *    leaves it (steps that free quota come first, see below). A move up
 *    that the quota refuses becomes a deferral of its slot: no instance
 *    named, mvm_quota_check's sentence, eligible_at 0 (it waits for a
 *    quota change, not a time). The slot stays held and the instance that
 *    move would have used is free to fill a colder slot instead, so the
 *    plan is the same when made again. A refused move down (a pause over
 *    max_warm) is deferred on its instance. No other source is tried for
 *    a refused slot: the sources are in order of cost.
 *
 * next_at is also the earliest time a running instance with failures may
 * have them forgotten (mvm_fsm_settle_at), so the caller passes again
 * then and asks the engine to settle it.
 *
 * Order of the steps: moves down (pause, sleep, stop), which free what
 * they leave, before moves up (resume, wake, start, create), each group in
 * the order decided. An executor that runs steps concurrently must let the
 * moves down finish before the moves up that follow them.
 *
 * A start or create step whose target is warm or sleeping is provisioning:
 * the executor boots the instance and pauses or snapshots it straight away.
 * Minimum runtime does not apply to an instance that never served. Its
 * quota is checked at the peak (the instance is briefly running) and at the
 * end.
 *
 * The planner never destroys: stopped records are kept for reuse, which is
 * also what bounds the number of instances. MVM_PLAN_DESTROY exists so that
 * an executor can carry pool removal in the same step type.
 */
#ifndef MVM_PLAN_H
#define MVM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "quota.h"

enum mvm_plan_action {
	MVM_PLAN_CREATE,	/* new record, then boot to the target */
	MVM_PLAN_START,		/* created or stopped: boot to the target */
	MVM_PLAN_RESUME,	/* warm -> running */
	MVM_PLAN_WAKE,		/* sleeping -> running or warm */
	MVM_PLAN_PAUSE,		/* running -> warm */
	MVM_PLAN_SLEEP,		/* running or warm -> sleeping */
	MVM_PLAN_STOP,		/* running, warm or sleeping -> stopped */
	MVM_PLAN_DESTROY,	/* any -> destroyed; never planned here */
	MVM_PLAN_ACTION_COUNT
};

/* One instance of the pool as the caller knows it. */
struct mvm_plan_member {
	const struct mvm_instance *in;	/* borrowed for the call */
	uint32_t	failures;	/* failed moves since the last success */
	int64_t		last_failure_at; /* 0 when it never failed */
};

struct mvm_plan_options {
	uint32_t	failure_budget;		/* default 3; 0: no budget */
	uint32_t	backoff_seconds;	/* default 10 */
	uint32_t	backoff_max_seconds;	/* default 600 */
};

struct mvm_plan_step {
	char		instance[MVM_ID_MAX + 1];	/* "" for a new one */
	enum mvm_plan_action action;
	enum mvm_state	from;		/* created for a new one */
	enum mvm_state	to;
	char		reason[MVM_REASON_MAX + 1];
};

struct mvm_plan_deferral {
	char		instance[MVM_ID_MAX + 1];	/* "": new or a quota wait */
	enum mvm_plan_action action;	/* what it wants to do */
	enum mvm_state	from;
	enum mvm_state	to;
	int		code;		/* EAGAIN (time) or EDQUOT (quota) */
	char		reason[MVM_ERROR_MSG_MAX];
	int64_t		eligible_at;	/* 0: waits for a quota change */
};

struct mvm_plan_summary {
	bool		converged;	/* nothing to do, wait for or fix */
	struct mvm_counts desired;
	uint32_t	states[MVM_STATE_COUNT]; /* records by current state */
	uint32_t	busy;		/* with an operation in progress */
	uint32_t	parked;		/* holding a warmer slot (rule 1) */
	uint32_t	failed;		/* failed out (rule 2) */
	uint32_t	failed_holding;	/* slots left empty by them */
	size_t		steps;
	size_t		deferred;
	int64_t		next_at;	/* earliest eligible_at or settle > 0 */
};

/*
 * A plan. The arrays belong to the plan and stay valid until the next
 * mvm_plan_pool or mvm_plan_free on it; reusing one plan for many pools
 * reuses its memory.
 */
struct mvm_plan {
	struct mvm_plan_step	*steps;
	size_t			 nsteps;
	struct mvm_plan_deferral *deferred;
	size_t			 ndeferred;
	struct mvm_plan_summary	 summary;
	/* Private. */
	size_t			 step_cap, def_cap, work_cap;
	void			*work;
};

/* Fill in the documented defaults. */
void mvm_plan_options_defaults(struct mvm_plan_options *o);

/* Make `pl` an empty plan that owns nothing. */
void mvm_plan_init(struct mvm_plan *pl);

/* Free what `pl` owns and make it empty again. `pl` may be NULL. */
void mvm_plan_free(struct mvm_plan *pl);

/* Largest desired count per state the planner accepts (config allows 100). */
#define MVM_PLAN_COUNT_MAX	1000

/*
 * Plan pool `p` with its `n` members `m` (every record of the pool, in any
 * order, ids unique), quota `q` and usage `u` (the tenant's, with
 * pool_instances counting this pool, as mvm_usage_tenant gives it), options
 * `o` (NULL for the defaults) at time `now`. Replaces what `pl` held.
 * Returns 0; -EINVAL when a member is NULL, belongs to another pool or has
 * a state or op out of range, or a desired count is over
 * MVM_PLAN_COUNT_MAX (said in e); -ENOMEM. On failure the plan is empty.
 */
int mvm_plan_pool(struct mvm_plan *pl, const struct mvm_pool *p,
    const struct mvm_plan_member *m, size_t n, const struct mvm_quota *q,
    const struct mvm_usage *u, const struct mvm_plan_options *o, int64_t now,
    struct mvm_error *e);

/* The action's name as events show it ("resume"), or "unknown". */
const char *mvm_plan_action_name(enum mvm_plan_action a);

/*
 * Write the summary as a pool's `status` shows it, one line:
 * "converged=no running=2/3 warm=1/1 sleeping=0/1 busy=0 parked=0 failed=0
 * steps=2 deferred=1 next_at=1700000000". Returns the length it needed (as
 * snprintf does; the text is cut to fit `len`).
 */
int mvm_plan_summary_format(const struct mvm_plan_summary *s, char *buf,
    size_t len);

#endif
