/*
 * recovery.c: settling what a crash or a restart left (engine.h,
 * mvm_engine_recover). Each intent still in the store is rolled forward
 * or back to the state that is true of its VMM and snapshot, and owes
 * its guest what the move would have given it (a Wake, no stale
 * snapshot); running and warm instances whose VMM is gone become stopped,
 * those whose VMM lives take the state its API reports (running or
 * paused) and are handed to the monitor; VMMs under the run directory
 * that no record claims are killed.
 */
#include <errno.h>
#include <stdlib.h>

#include "engine_int.h"
#include "fc.h"
#include "store.h"
#include "vmm.h"

struct recover_list {
	struct mvm_intent	*intents;
	size_t			 n;
	struct mvm_instance	*insts;
	size_t			 ninsts;
};

static int
collect_intent(const struct mvm_intent *it, void *arg)
{
	struct recover_list *l = arg;
	struct mvm_intent *n = realloc(l->intents, (l->n + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	l->intents = n;
	l->intents[l->n++] = *it;
	return 0;
}

static int
collect_instance(const struct mvm_instance *in, void *arg)
{
	struct recover_list *l = arg;
	struct mvm_instance *n = realloc(l->insts, (l->ninsts + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	l->insts = n;
	l->insts[l->ninsts++] = *in;
	return 0;
}

/*
 * Finish what the interrupted move of `j` owed its guest and its files,
 * now that it settles as `s`, before the outcome is published (so a crash
 * here is settled again): a guest that was frozen (paused or in a
 * snapshot) and runs again gets its Wake, as after a resume or a wake; a
 * wake whose VMM holds the guest has spent its snapshot; an instance that
 * ends stopped has none (mvm_engine_snapshot_drop, as a stop does).
 */
static void
settle_owed(struct job *j, enum mvm_state s)
{
	char dir[PATH_MAX_MVM];
	enum mvm_op op = j->intent.op;

	if (s == MVM_STATE_RUNNING && op != MVM_OP_STARTING)
		mvm_engine_agent_wake(j);
	if (s == MVM_STATE_STOPPED)
		mvm_engine_snapshot_drop(j, j->intent.from_state);
	else if (op == MVM_OP_WAKING &&
	    (s == MVM_STATE_RUNNING || s == MVM_STATE_WARM) &&
	    mvm_engine_bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir) == 0)
		mvm_engine_rmtree(dir);
}

/*
 * Settle one instance whose transition was cut short. The rule: look at the
 * VMM (alive with the same start time? paused or running?) and at the
 * snapshot on disk, and publish the state that is true; finish a destroy.
 */
static int
recover_intent(struct mvm_engine *eng, const struct mvm_intent *it)
{
	struct mvm_vmm_proc p;
	struct mvm_fc_info info;
	struct job j;
	bool alive, answered = false;
	enum mvm_state s;
	int rc;

	rc = mvm_engine_job_load(&j, eng, it->tenant, it->pool, it->instance,
	    NULL);
	if (rc < 0)
		return rc;
	j.intent = *it;
	if (it->op == MVM_OP_DESTROYING) {
		mvm_engine_job_kill(&j);
		mvm_engine_rmtree(j.dir);
		mvm_engine_rmtree(j.rundir);
		rc = mvm_store_instance_delete(eng->st, it->tenant, it->pool,
		    it->instance, NULL);
		if (rc == 0)
			mvm_engine_event(eng, &j.in, "instance.recovered",
			    "finished an interrupted destroy");
		return rc;
	}
	p = mvm_engine_job_proc(&j);
	alive = p.pid > 0 && mvm_vmm_alive(&p);
	if (alive && mvm_engine_job_fc(&j, NULL) == 0 &&
	    mvm_fc_get_instance_info(j.fc, &info, NULL) == 0)
		answered = true;

	if (answered && info.state == MVM_FC_STATE_RUNNING &&
	    it->op != MVM_OP_STOPPING &&
	    (it->op != MVM_OP_STARTING ||
	    mvm_engine_agent_wait(&j, NULL) == 0)) {
		s = MVM_STATE_RUNNING;
	} else if (answered && info.state == MVM_FC_STATE_PAUSED &&
	    it->op != MVM_OP_STOPPING && it->op != MVM_OP_SNAPSHOTTING &&
	    it->op != MVM_OP_STARTING) {
		s = MVM_STATE_WARM;
	} else if (it->op == MVM_OP_SNAPSHOTTING &&
	    mvm_engine_snapshot_complete(&j) &&
	    it->step >= STEP_SNAPSHOT_DONE) {
		/* The snapshot was published: finish the sleep. */
		mvm_engine_job_kill(&j);
		s = MVM_STATE_SLEEPING;
	} else if (it->op == MVM_OP_SNAPSHOTTING && answered &&
	    info.state == MVM_FC_STATE_PAUSED) {
		/* Cut before the snapshot was published: undo the pause. */
		if (it->from_state == MVM_STATE_RUNNING &&
		    mvm_fc_patch_vm(j.fc, MVM_FC_VM_RESUMED, NULL) == 0) {
			s = MVM_STATE_RUNNING;
		} else {
			s = MVM_STATE_WARM;
		}
	} else if ((it->op == MVM_OP_WAKING ||
	    (it->from_state == MVM_STATE_SLEEPING && it->op != MVM_OP_STOPPING)) &&
	    mvm_engine_snapshot_complete(&j)) {
		/* The load did not finish: the snapshot still holds the guest. */
		mvm_engine_job_kill(&j);
		s = MVM_STATE_SLEEPING;
	} else {
		mvm_engine_job_kill(&j);
		s = MVM_STATE_STOPPED;
	}
	mvm_engine_set_state(&j.in, s);
	if (s == MVM_STATE_STOPPED)
		mvm_engine_bufprintf(j.in.reason, sizeof(j.in.reason),
		    "%s was interrupted by a restart of mvm; the VMM was %s",
		    mvm_op_name(it->op), alive ? "killed" : "gone");
	settle_owed(&j, s);
	rc = mvm_engine_job_finish(&j, NULL);
	if (rc == 0)
		mvm_engine_event(eng, &j.in, "instance.recovered",
		    "interrupted %s (%s -> %s, step %d) settled as %s",
		    mvm_op_name(it->op), mvm_state_name(it->from_state),
		    mvm_state_name(it->to_state), it->step, mvm_state_name(s));
	mvm_fc_close(j.fc);
	return rc;
}

/*
 * The VMM of running or warm record `rec` lives: ask it whether it runs or
 * is paused, and correct the record when it says otherwise (the VMM was
 * paused or resumed behind mvm's back, or mvm died between the two). A VMM
 * that does not answer is left as the record says. Returns 1 when the
 * record changed, else 0; either way the VMM is watched.
 */
static int
recover_vmm_state(struct mvm_engine *eng, const struct mvm_instance *rec)
{
	struct mvm_fc_info info;
	enum mvm_state s = rec->state;
	struct job j;
	int changed = 0;

	if (mvm_engine_job_load(&j, eng, rec->tenant, rec->pool, rec->id,
	    NULL) < 0) {
		mvm_engine_watch_add(eng, rec);
		return 0;
	}
	if (mvm_engine_job_fc(&j, NULL) == 0 &&
	    mvm_fc_get_instance_info(j.fc, &info, NULL) == 0) {
		if (info.state == MVM_FC_STATE_RUNNING)
			s = MVM_STATE_RUNNING;
		else if (info.state == MVM_FC_STATE_PAUSED)
			s = MVM_STATE_WARM;
	}
	if (s != j.in.state) {
		mvm_engine_set_state(&j.in, s);
		if (mvm_engine_job_save(&j, NULL) == 0) {
			changed = 1;
			mvm_engine_event(eng, &j.in, "instance.recovered",
			    "the record said %s but VMM process %d was %s: "
			    "corrected to %s", mvm_state_name(rec->state),
			    (int)rec->pid, s == MVM_STATE_RUNNING ? "running" :
			    "paused", mvm_state_name(s));
			if (s == MVM_STATE_RUNNING)
				mvm_engine_agent_wake(&j);
		}
	}
	mvm_engine_watch_add(eng, &j.in);
	mvm_fc_close(j.fc);
	return changed;
}

/* A running or warm instance with no intent: is its VMM still there? */
static int
recover_instance(struct mvm_engine *eng, const struct mvm_instance *rec)
{
	struct mvm_vmm_proc p = { .pid = rec->pid, .start_time = rec->pid_start };
	struct mvm_instance in = *rec;

	if (in.state != MVM_STATE_RUNNING && in.state != MVM_STATE_WARM)
		return 0;
	if (p.pid > 0 && mvm_vmm_alive(&p))
		return recover_vmm_state(eng, rec);
	mvm_engine_bufprintf(in.reason, sizeof(in.reason),
	    "VMM process %d was gone when mvm started", (int)in.pid);
	mvm_engine_set_state(&in, MVM_STATE_STOPPED);
	in.parked = false;
	if (mvm_store_instance_update(eng->st, &in, NULL) < 0)
		return 0;
	mvm_engine_event(eng, &in, "instance.died", "%s", in.reason);
	return 1;
}

/* Whether a record of the list `arg` (a struct recover_list) claims `pid`. */
static bool
pid_known(pid_t pid, void *arg)
{
	const struct recover_list *l = arg;

	for (size_t i = 0; i < l->ninsts; i++)
		if (l->insts[i].pid == pid)
			return true;
	return false;
}

int
mvm_engine_recover(struct mvm_engine *eng, struct mvm_error *e)
{
	struct recover_list l = { 0 };
	char prefix[PATH_MAX_MVM];
	int rc, changed = 0;

	rc = mvm_store_intent_list(eng->st, collect_intent, &l, e);
	for (size_t i = 0; rc >= 0 && i < l.n; i++)
		if (recover_intent(eng, &l.intents[i]) == 0)
			changed++;
	if (rc >= 0)
		rc = mvm_store_instance_list(eng->st, NULL, NULL,
		    collect_instance, &l, e);
	for (size_t i = 0; rc >= 0 && i < l.ninsts; i++)
		changed += recover_instance(eng, &l.insts[i]);
	/* VMMs under our run dir that no record claims are orphans. */
	if (rc >= 0) {
		free(l.insts);
		l.insts = NULL;
		l.ninsts = 0;
		rc = mvm_store_instance_list(eng->st, NULL, NULL,
		    collect_instance, &l, e);
	}
	if (rc >= 0) {
		mvm_engine_bufprintf(prefix, sizeof(prefix), "%s/vm/",
		    eng->run_dir);
		mvm_vmm_kill_orphans(prefix, pid_known, &l);
	}
	free(l.intents);
	free(l.insts);
	return rc < 0 ? rc : changed;
}
