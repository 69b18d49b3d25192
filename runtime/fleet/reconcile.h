/*
 * reconcile.h: the reconciler. It keeps every pool of the node at its
 * desired counts (plan.h decides, this module acts) and applies fleet
 * desired-state documents (desired.h).
 *
 * Only managed pools (model.h) are passed; the others are left as their
 * operator has them and have no status. A document marks its pools
 * managed.
 *
 * Passes. A pass over one pool reads the pool, its tenant, its instances
 * and the tenant's usage from the store, plans (mvm_plan_pool), records
 * the plan as the pool's last pass, and hands the steps to the workers.
 * Moves down (pause, sleep, stop) run first; the moves up of that pass
 * are started only when they are all done. While a pool has steps queued
 * or running it is not planned again; when its last step ends, the pool
 * is passed again at once (a step may have failed, or counts may have
 * changed meanwhile), or a second later when the engine deferred one of
 * its steps (so a plan and an engine that disagree cannot spin). So a pool
 * never gets two plans acting at once, and a record the planner counts is
 * never created twice. A deferral of a plan is an event when it is new
 * since the pool's previous pass, not at every pass.
 *
 * Workers. Steps of all pools share `workers` threads. Of them, at most
 * `concurrency` run a boot or a wake at the same time (create, start, and
 * wake: the expensive moves); pause, resume, sleep and stop take any free
 * worker.
 *
 * A step is idempotent: check (the instance is still in the state the
 * plan saw, with no operation in progress; otherwise the step is dropped
 * and the pool passed again), act (mvm_engine_transition), verify (read
 * the record back). A create makes a record (mvm_objects_instance_create,
 * generated id) and starts it in the same step. Provisioning (a start or
 * create whose target is warm or sleeping) boots the instance to running,
 * then moves it on with MVM_ENGINE_PROVISION. Outcomes:
 *   - success: counted in the pass's report;
 *   - -EAGAIN (minimum runtime), -EDQUOT (quota), -EBUSY (another
 *     transition of the instance): a deferral, with the engine's sentence;
 *     the pool is passed again when the time comes (the plan's next_at),
 *     on the next trigger, or at the periodic pass;
 *   - any other error: a failure; the engine has counted it on the
 *     instance (failures, last_failure_at), so the planner backs off and
 *     eventually leaves the instance failed out (plan.h rule 2).
 * Before planning, a pass asks the engine to settle every running
 * instance of the pool whose settle time has come (mvm_engine_settle:
 * its failures are forgotten if its agent answers).
 * Every decision (step begun, step done, deferred, failed) is an event of
 * the pool (actions "reconcile.step", "reconcile.done", "reconcile.defer",
 * "reconcile.fail") whose detail names the instance, the move and the
 * reason.
 *
 * Triggers: mvm_reconcile_kick (a desired write, an instance state change,
 * a config change), the periodic pass over every pool (`interval_ms`), and
 * the earliest next_at of any pool's last plan.
 *
 * Threads: every function may be called from any thread, except that
 * mvm_reconcile_close must not be called from a callback.
 */
#ifndef MVM_RECONCILE_H
#define MVM_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desired.h"
#include "error.h"
#include "model.h"
#include "plan.h"

struct mvm_event;
struct mvm_store;
struct mvm_engine;
struct mvm_reconcile;

/* What changed, for the on_change callback. */
enum mvm_reconcile_change {
	MVM_RECONCILE_TENANT_CREATED,
	MVM_RECONCILE_TENANT_UPDATED,
	MVM_RECONCILE_TENANT_PRUNED,	/* its pools and instances are gone */
	MVM_RECONCILE_POOL_CREATED,
	MVM_RECONCILE_POOL_UPDATED,
	MVM_RECONCILE_POOL_PRUNED,	/* its instances are gone */
	MVM_RECONCILE_POOL_PASSED,	/* a pass ended: status changed */
};

struct mvm_reconcile_config {
	struct mvm_store	*st;		/* borrowed; outlives the reconciler */
	struct mvm_engine	*eng;		/* borrowed; outlives the reconciler */
	unsigned		 concurrency;	/* boots and wakes at once; 0: 2 */
	unsigned		 workers;	/* step threads; 0: concurrency + 2 */
	unsigned		 interval_ms;	/* periodic pass; 0: 30000 */
	struct mvm_plan_options	 plan;		/* zeroed: plan.h defaults */
	/*
	 * Called after a change, from a reconciler thread, with no lock of
	 * the reconciler held; may be NULL. `pool` is NULL for tenant changes.
	 */
	void	(*on_change)(void *arg, enum mvm_reconcile_change what,
		    const char *tenant, const char *pool);
	void	*on_change_arg;
	/*
	 * Called after every event the reconciler writes (as the engine's
	 * hook of the same name), from the thread that wrote it, with no lock
	 * of the reconciler held; may be NULL. The event is valid only during
	 * the call.
	 */
	void	(*on_event)(void *arg, const struct mvm_event *ev);
	void	*on_event_arg;
};

/* Counts of what a pass or a document application did. */
struct mvm_reconcile_counts {
	uint32_t	created;	/* new instance records */
	uint32_t	started;	/* boots (created or stopped) */
	uint32_t	resumed;
	uint32_t	woken;
	uint32_t	warmed;		/* paused */
	uint32_t	slept;
	uint32_t	stopped;
	uint32_t	deferred;
	uint32_t	failed;
};

/*
 * One pool's last pass, as its `status` file shows it. `pending` holds one
 * line per step still to do or deferred and per failed-out instance, each
 * "<action> <instance or new> <from> -> <to>: <reason>", newline-separated,
 * cut at the array's size (at a line's end). A failed-out instance's line
 * has the action "hold" and from and to both its state.
 */
struct mvm_reconcile_pool_status {
	bool			 passed;	/* false: never passed yet */
	int64_t			 last_pass_at;	/* Unix s when the plan was made */
	uint32_t		 last_pass_us;	/* planning time */
	uint64_t		 pool_revision;	/* the pool's, as the pass read it */
	bool			 active;	/* steps queued or running */
	struct mvm_plan_summary	 summary;	/* of the last plan */
	struct mvm_reconcile_counts totals;	/* since the reconciler opened */
	char			 pending[2048];
};

/*
 * The report of a document application (mvm_reconcile_apply), which
 * /mvm/status shows. Arrays are owned by the report; free it with
 * mvm_reconcile_report_free.
 */
struct mvm_reconcile_report {
	int64_t		 started_at;	/* Unix ms */
	int64_t		 finished_at;	/* Unix ms; 0 while waiting */
	char		**tenants_created, **tenants_updated, **tenants_pruned;
	size_t		 ntenants_created, ntenants_updated, ntenants_pruned;
	char		**pools_created, **pools_updated, **pools_pruned;
	size_t		 npools_created, npools_updated, npools_pruned;
	struct mvm_reconcile_counts counts;	/* of the passes it waited for */
	char		**errors;	/* one sentence each */
	size_t		 nerrors;
	bool		 converged;	/* every pool of the document */
	/*
	 * Every pool of the document ("t/p") that exists after the
	 * application (one that could not be created is in errors instead),
	 * and its totals at apply time.
	 */
	char		**pools;
	size_t		 npools;
	struct mvm_reconcile_counts *baseline;
};

/*
 * Start the reconciler (its scheduler and worker threads); no pass runs
 * until the first kick or the first periodic pass, which comes at once.
 * Returns 0, -EINVAL (st or eng NULL), -ENOMEM, or pthread_create's errno.
 */
int mvm_reconcile_open(const struct mvm_reconcile_config *cfg,
    struct mvm_reconcile **out, struct mvm_error *e);

/*
 * Stop: no new step starts; waits for the steps running to end (the
 * engine cannot stop a boot half way), then frees. NULL is fine.
 */
void mvm_reconcile_close(struct mvm_reconcile *r);

/*
 * Ask for a pass over pool tenant/pool soon; pool NULL: every pool of the
 * tenant; tenant NULL: every pool of the node. Never blocks on a pass.
 */
void mvm_reconcile_kick(struct mvm_reconcile *r, const char *tenant,
    const char *pool);

/*
 * The last pass of pool tenant/pool into *out. Returns 0; -ENOENT when the
 * reconciler has not seen the pool (out->passed false is then implied).
 */
int mvm_reconcile_pool_status(struct mvm_reconcile *r, const char *tenant,
    const char *pool, struct mvm_reconcile_pool_status *out);

/*
 * Apply document `d` to the node: create every tenant and pool it names
 * that does not exist (tenants owned by uid/gid), update those that
 * differ (a tenant's quotas; its net_id only while it has no instances,
 * otherwise an error in the report; a pool's image, resources, desired
 * counts and runtime policy: instances booted afterwards use the new
 * spec), prune tenants and pools it does not name when its prune flags say
 * so (destroying their instances through the engine), then kick every pool
 * of the document. Pools are created in role order (gateway first).
 * prune_unknown_pools prunes the pools of the document's tenants that it
 * does not name; prune_unknown_tenants prunes the tenants it does not
 * name, pools first. A pool being pruned is passed no more, and its steps
 * under way are waited for before its instances are destroyed; one that
 * cannot be emptied is kept (an error in the report), and so is its tenant.
 * When `wait_ms` > 0, waits up to that long for every pool of the document
 * to converge (or to have nothing left to do but wait for a deferral or a
 * failed-out instance) and fills counts and converged; 0 returns after the
 * kicks. Problems with single objects go to rep->errors and the rest is
 * still applied. Returns 0 (rep filled; free it with
 * mvm_reconcile_report_free), or a store errno (-EIO, -ENOMEM) with what
 * was applied so far in the report.
 */
int mvm_reconcile_apply(struct mvm_reconcile *r, const struct mvm_desired *d,
    uint32_t uid, uint32_t gid, int wait_ms, struct mvm_reconcile_report *rep,
    struct mvm_error *e);

/*
 * Bring rep's counts, converged and finished_at up to date from the pools'
 * current statuses: counts are what the document's pools did since the
 * document was applied; converged when each of them has passed after the
 * application, has no step queued or running, and its last plan was
 * converged or has only deferrals and failed-out instances left (then
 * finished_at is set, once). Returns 0.
 */
int mvm_reconcile_report_update(struct mvm_reconcile *r,
    struct mvm_reconcile_report *rep);

/* Free what `rep` owns and zero it. NULL is fine. */
void mvm_reconcile_report_free(struct mvm_reconcile_report *rep);

/*
 * The report as JSON for /mvm/status: an object with started_at,
 * finished_at, tenants_created, tenants_updated, tenants_pruned,
 * pools_created ("t/p"), pools_updated, pools_pruned (arrays of strings),
 * instances_created, instances_started, instances_resumed,
 * instances_woken, instances_warmed, instances_slept, instances_stopped,
 * instances_deferred, instances_failed (numbers), errors (array of
 * strings), converged (boolean) and pools: an array with one object per
 * pool of the document, {"pool": "t/p", "converged": bool, "summary":
 * mvm_plan_summary_format's line, "pending": [lines of the pool status's
 * pending text]}, newline-terminated. *out is malloc'd (free(3)). Returns
 * 0 or -ENOMEM.
 */
int mvm_reconcile_report_json(struct mvm_reconcile *r,
    const struct mvm_reconcile_report *rep, char **out, size_t *len);

/*
 * Plan every pool of the node as a pass would, acting on nothing and
 * recording nothing (for dry runs and benchmarks): one read of the whole
 * node, then mvm_plan_pool per pool with options `o` (NULL or zeroed:
 * plan.h's defaults). With `d` NULL the pools are planned as stored;
 * otherwise as if `d` had been applied without pruning: a stored pool that
 * `d` names gets its spec and counts, a tenant that `d` names its quotas,
 * and a pool of `d` that does not exist is planned with no instances.
 * `fn` is called for each pool, in (tenant, pool) order, then the new ones
 * in document order, with the plan (valid during the call); a non-zero
 * return stops the walk and is returned. Returns the number of pools
 * planned, or the store's or the planner's negative errno (said in e).
 */
int mvm_reconcile_plan_all(struct mvm_store *st, const struct mvm_desired *d,
    const struct mvm_plan_options *o,
    int (*fn)(const struct mvm_pool *p, const struct mvm_plan *pl,
    void *arg), void *arg, struct mvm_error *e);

#endif
