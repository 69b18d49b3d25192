/*
 * transition.c: the transition driver (engine.h). It loads the records,
 * checks the rule (fsm.h, the pure decider) and the tenant's quotas,
 * records the intent, runs the step of the move (steps.c), settles the
 * record when a step fails, and publishes the outcome with its event.
 * Destroy is driven here too.
 */
#include <errno.h>
#include <string.h>

#include "engine_int.h"
#include "fc.h"
#include "fsm.h"
#include "guest.h"
#include "quota.h"
#include "store.h"
#include "usage.h"
#include "vmm.h"

/* After a failed step: make the record say what is true. */
static void
settle_failure(struct job *j, enum mvm_state from)
{
	struct mvm_vmm_proc p = mvm_engine_job_proc(j);
	enum mvm_state s;

	switch (j->in.op) {
	case MVM_OP_STARTING:
		/* A half-booted VM is of no use: kill it. */
		mvm_engine_job_kill(j);
		s = MVM_STATE_STOPPED;
		break;
	case MVM_OP_WAKING:
		/* The snapshot is still on disk: the instance still sleeps. */
		mvm_engine_job_kill(j);
		s = MVM_STATE_SLEEPING;
		break;
	default:
		/* Pause, resume and sleep leave the VM as it was if it lives. */
		if (p.pid > 0 && mvm_vmm_alive(&p)) {
			struct mvm_fc_info info;

			s = from;
			if (mvm_engine_job_fc(j, NULL) == 0 &&
			    mvm_fc_get_instance_info(j->fc, &info, NULL) == 0)
				s = info.state == MVM_FC_STATE_PAUSED ?
				    MVM_STATE_WARM : MVM_STATE_RUNNING;
		} else if (from == MVM_STATE_SLEEPING &&
		    mvm_engine_snapshot_complete(j)) {
			s = MVM_STATE_SLEEPING;
		} else {
			mvm_engine_job_kill(j);
			s = MVM_STATE_STOPPED;
		}
		break;
	}
	if (s != from || s == MVM_STATE_STOPPED) {
		int64_t er = j->in.entered_running_at, ew = j->in.entered_warm_at;

		mvm_engine_set_state(&j->in, s);
		/* Staying in the same state keeps its clock. */
		if (s == from) {
			j->in.entered_running_at = er;
			j->in.entered_warm_at = ew;
		}
	}
	j->in.op = MVM_OP_NONE;
}

/* Name intent `it` after the instance it moves. */
static void
intent_name(struct mvm_intent *it, const char *tenant, const char *pool,
    const char *id)
{
	mvm_engine_bufprintf(it->tenant, sizeof(it->tenant), "%s", tenant);
	mvm_engine_bufprintf(it->pool, sizeof(it->pool), "%s", pool);
	mvm_engine_bufprintf(it->instance, sizeof(it->instance), "%s", id);
}

/*
 * Would moving the job's instance to `to` break a quota of its tenant?
 * Called inside the transaction that records the intent, so in-flight
 * transitions (counted by mvm_usage_tenant) and this check cannot race.
 */
static int
check_quota(struct job *j, enum mvm_state to, struct mvm_error *e)
{
	struct mvm_quota_delta d;
	struct mvm_usage u;
	int rc;

	rc = mvm_usage_tenant(j->eng->st, j->in.tenant, j->in.pool, &u, e);
	if (rc < 0)
		return rc;
	mvm_quota_delta_move(&d, &j->pool, &j->in, to);
	return mvm_quota_check(&j->tenant.quota, &u, &d, NULL, e);
}

int
mvm_engine_transition(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, enum mvm_state to, unsigned flags,
    struct mvm_error *e)
{
	struct job j;
	enum mvm_state from;
	enum mvm_op op;
	int64_t t0 = mvm_engine_mono_ms();
	int rc;

	rc = mvm_engine_job_load(&j, eng, tenant, pool, id, e);
	if (rc < 0)
		return rc;
	from = j.in.state;
	if (to == MVM_STATE_DESTROYED)
		return mvm_engine_destroy(eng, tenant, pool, id, e);
	rc = mvm_fsm_check(from, to, &op, e);
	if (rc < 0 || op == MVM_OP_NONE)
		return rc;
	if ((flags & MVM_ENGINE_PROVISION) && (from != MVM_STATE_RUNNING ||
	    (to != MVM_STATE_WARM && to != MVM_STATE_SLEEPING)))
		return mvm_error_set(e, EINVAL, "instance %s is not a freshly "
		    "booted one to provision as %s", id, mvm_state_name(to));
	rc = mvm_fsm_eligible(&j.in, to, &j.pool.runtime, mvm_engine_now_s(),
	    (flags & (MVM_ENGINE_FORCE | MVM_ENGINE_PROVISION)) != 0, e);
	if (rc < 0)
		return rc;

	/* The intent and the visible op, together, before any side effect. */
	j.intent = (struct mvm_intent){ .from_state = from, .to_state = to,
	    .op = op, .step = STEP_BEGUN, .started_at = mvm_engine_now_s() };
	intent_name(&j.intent, tenant, pool, id);
	if ((rc = mvm_store_begin(eng->st, e)) < 0)
		return rc;
	/* Quotas and the intent in one transaction: racing starts queue here. */
	rc = check_quota(&j, to, e);
	if (rc == 0)
		rc = mvm_store_intent_begin(eng->st, &j.intent, e);
	if (rc == -EBUSY)
		mvm_error_set(e, EBUSY,
		    "instance %s is already in a transition", id);
	j.in.op = op;
	if (rc == 0)
		rc = mvm_engine_job_save(&j, e);
	if (rc < 0) {
		mvm_store_rollback(eng->st);
		return rc == -ESTALE ? mvm_error_set(e, EBUSY,
		    "instance %s changed under this transition; try again", id) : rc;
	}
	if ((rc = mvm_store_commit(eng->st, e)) < 0)
		return rc;
	if ((flags & MVM_ENGINE_FORCE) &&
	    mvm_fsm_eligible(&j.in, to, &j.pool.runtime, mvm_engine_now_s(),
	    false, NULL) < 0)
		mvm_engine_event(eng, &j.in, "instance.force",
		    "minimum runtime overridden for %s -> %s",
		    mvm_state_name(from), mvm_state_name(to));

	switch (op) {
	case MVM_OP_STARTING:
		rc = mvm_engine_do_start(&j, e);
		break;
	case MVM_OP_PAUSING:
		rc = mvm_engine_do_pause(&j, e);
		break;
	case MVM_OP_RESUMING:
		rc = mvm_engine_do_resume(&j, e);
		break;
	case MVM_OP_SNAPSHOTTING:
		rc = mvm_engine_do_sleep(&j, e);
		break;
	case MVM_OP_WAKING:
		rc = mvm_engine_do_wake(&j, to, e);
		break;
	case MVM_OP_STOPPING:
		rc = mvm_engine_do_stop(&j, e);
		break;
	default:
		rc = mvm_error_set(e, EINVAL, "no action for %s -> %s",
		    mvm_state_name(from), mvm_state_name(to));
		break;
	}
	if (rc < 0) {
		struct mvm_error fe;

		settle_failure(&j, from);
		mvm_engine_bufprintf(j.in.reason, sizeof(j.in.reason),
		    "%s failed: %s", mvm_op_name(op),
		    e != NULL ? e->msg : strerror(-rc));
		j.in.failures++;
		j.in.last_failure_at = mvm_engine_now_s();
		j.in.parked = false;
		if (mvm_engine_job_finish(&j, &fe) == 0)
			mvm_engine_event(eng, &j.in, "instance.failed",
			    "%s -> %s failed, now %s: %s", mvm_state_name(from),
			    mvm_state_name(to), mvm_state_name(j.in.state),
			    j.in.reason);
		mvm_fc_close(j.fc);
		/* Every failure of the VMM or guest is EIO to the caller. */
		return rc == -EIO ? rc : mvm_error_set(e, EIO, "%s",
		    j.in.reason);
	}
	if (op == MVM_OP_RESUMING || op == MVM_OP_STARTING ||
	    op == MVM_OP_WAKING)
		j.in.reason[0] = '\0';
	/*
	 * A boot or wake that worked proves little: the guest may die a
	 * moment later. The count is forgotten when the instance has stayed
	 * healthy (mvm_engine_settle), or when it is stopped: the run or the
	 * snapshot that failed is gone, and the next boot starts afresh.
	 */
	if (to == MVM_STATE_STOPPED) {
		j.in.failures = 0;
		j.in.last_failure_at = 0;
	}
	if (!(flags & MVM_ENGINE_PARK))
		j.in.parked = false;
	else if (!j.in.parked) {
		j.in.parked = true;
		j.in.parked_from = from;
	}
	rc = mvm_engine_job_finish(&j, e);
	if (rc == 0)
		mvm_engine_event(eng, &j.in, "instance.state",
		    "%s -> %s in %lld ms", mvm_state_name(from),
		    mvm_state_name(to), (long long)(mvm_engine_mono_ms() - t0));
	mvm_fc_close(j.fc);
	return rc;
}

int
mvm_engine_settle(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
{
	struct mvm_guest_pong pong;
	struct mvm_instance cur;
	struct mvm_intent it;
	struct mvm_vmm_proc p;
	struct job j;
	int64_t at, now = mvm_engine_now_s();
	uint32_t forgotten = 0;
	bool moved;
	int rc;

	if ((rc = mvm_engine_job_load(&j, eng, tenant, pool, id, e)) < 0)
		return rc;
	at = mvm_fsm_settle_at(&j.in, &j.pool.runtime);
	p = mvm_engine_job_proc(&j);
	/* Not due, or not healthy now: the count stays. */
	if (at == 0 || now < at || !mvm_vmm_alive(&p) ||
	    mvm_engine_agent_ping(&j, AGENT_CALL_MS, &pong, NULL) < 0)
		return 0;
	if ((rc = mvm_store_begin(eng->st, e)) < 0)
		return rc;
	rc = mvm_store_instance_get(eng->st, tenant, pool, id, &cur, e);
	/* It moved meanwhile: the next pass looks again. */
	moved = rc == 0 && (cur.revision != j.in.revision ||
	    mvm_store_intent_get(eng->st, tenant, pool, id, &it, NULL) == 0);
	if (rc == 0 && !moved) {
		forgotten = cur.failures;
		cur.failures = 0;
		cur.last_failure_at = 0;
		rc = mvm_store_instance_update(eng->st, &cur, e);
	}
	if (rc == 0 && !moved)
		rc = mvm_store_commit(eng->st, e);
	else
		mvm_store_rollback(eng->st);
	if (rc < 0 || moved)
		return rc;
	mvm_engine_event(eng, &cur, "instance.settled", "running for %lld s "
	    "with its agent answering: %u failures forgotten",
	    (long long)(now - cur.entered_running_at), forgotten);
	return 1;
}

int
mvm_engine_destroy(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
{
	struct job j;
	int rc;

	rc = mvm_engine_job_load(&j, eng, tenant, pool, id, e);
	if (rc < 0)
		return rc;
	j.intent = (struct mvm_intent){ .from_state = j.in.state,
	    .to_state = MVM_STATE_DESTROYED, .op = MVM_OP_DESTROYING,
	    .started_at = mvm_engine_now_s() };
	intent_name(&j.intent, tenant, pool, id);
	rc = mvm_store_intent_begin(eng->st, &j.intent, e);
	if (rc == -EBUSY)
		return mvm_error_set(e, EBUSY,
		    "instance %s is already in a transition", id);
	if (rc < 0)
		return rc;
	j.in.op = MVM_OP_DESTROYING;
	if ((rc = mvm_engine_job_save(&j, e)) < 0)
		goto out;
	if (j.in.pid > 0)
		mvm_engine_do_stop(&j, NULL);
	if ((rc = mvm_engine_job_step(&j, STEP_RELEASING, e)) < 0)
		goto out;
	mvm_engine_job_kill(&j);
	if ((rc = mvm_engine_rmtree(j.dir)) < 0 ||
	    (rc = mvm_engine_rmtree(j.rundir)) < 0) {
		rc = mvm_error_set(e, EIO, "cannot remove the files of %s: %s",
		    id, strerror(-rc));
		goto out;
	}
	/* Deleting the instance deletes its intent with it. */
	rc = mvm_store_instance_delete(eng->st, tenant, pool, id, e);
	if (rc == 0)
		mvm_engine_event(eng, &j.in, "instance.destroyed",
		    "released every resource");
out:
	mvm_fc_close(j.fc);
	return rc;
}
