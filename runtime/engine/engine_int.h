/*
 * engine_int.h: private to the engine (runtime/engine); nothing outside
 * this folder includes it. engine.h is the public contract.
 *
 * The engine is split by concern:
 *   engine.c      the handle (open, close), paths, events, file helpers
 *   job.c         one transition's records: load, step, save, publish
 *   transition.c  the transition driver: the rule (fsm.h), the intent, the
 *                 dispatch to a step, the outcome and its event; destroy
 *   steps.c       the side-effecting steps of each move, the guest agent
 *   recovery.c    settling what a crash left: intents, lost VMMs, orphans
 *   monitor.c     the thread that notices VMMs that die on their own
 *
 * Every function here may be called from any thread, like those of
 * engine.h, unless it says otherwise.
 */
#ifndef MVM_ENGINE_INT_H
#define MVM_ENGINE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "engine.h"
#include "error.h"
#include "model.h"
#include "store.h"
#include "vmm.h"

struct mvm_fc;
struct mvm_guest_pong;

/* Steps of an intent, in the order a transition reaches them. */
enum step {
	STEP_BEGUN = 0,		/* nothing done yet */
	STEP_LAUNCHING,		/* about to launch a VMM */
	STEP_LAUNCHED,		/* VMM pid recorded on the instance */
	STEP_CONFIGURED,	/* boot configured, InstanceStart or load next */
	STEP_BOOTED,		/* the guest runs; waiting for its agent */
	STEP_DRAINING,		/* SleepPrep sent to the guest agent */
	STEP_PAUSING,		/* PATCH /vm Paused next */
	STEP_SNAPSHOTTING,	/* snapshot create next */
	STEP_SNAPSHOT_DONE,	/* snapshot complete on disk */
	STEP_RESUMING,		/* PATCH /vm Resumed next */
	STEP_STOPPING,		/* SendCtrlAltDel or kill in progress */
	STEP_RELEASING,		/* removing files of a destroyed instance */
};

#define PATH_MAX_MVM	4096
#define AGENT_CALL_MS	2000
#define KILL_WAIT_MS	5000

/* One VMM the monitor thread watches, by instance and process identity. */
struct watch {
	char			tenant[MVM_ID_MAX + 1];
	char			pool[MVM_ID_MAX + 1];
	char			id[MVM_ID_MAX + 1];
	struct mvm_vmm_proc	proc;
	int			pidfd;
};

struct mvm_engine {
	char			*state_dir;
	char			*run_dir;
	char			*vmm_path;
	char			*image_dir;
	int			 boot_timeout_ms;
	int			 api_timeout_ms;
	int			 snapshot_timeout_ms;
	struct mvm_store	*st;
	void			(*on_event)(void *, const struct mvm_event *);
	void			*on_event_arg;

	/* The monitor thread and the VMMs it watches. */
	pthread_t		 monitor;
	bool			 monitor_started;
	int			 wakefd;	/* eventfd: the watch list changed */
	pthread_mutex_t		 mu;
	bool			 stopping;
	struct watch		*watches;
	size_t			 nwatches;
};

/*
 * Everything one transition works with. A job lives on the stack of the
 * thread that runs the transition; only j->fc is owned (closed with
 * mvm_fc_close when the job is done).
 */
struct job {
	struct mvm_engine	*eng;
	struct mvm_tenant	 tenant;
	struct mvm_pool		 pool;
	struct mvm_instance	 in;
	struct mvm_intent	 intent;
	char			 dir[PATH_MAX_MVM];	/* instance state dir */
	char			 rundir[PATH_MAX_MVM];	/* sockets */
	char			 api_sock[PATH_MAX_MVM];
	char			 vsock[PATH_MAX_MVM];
	struct mvm_fc		*fc;
};

/* ---- engine.c: shared helpers ---- */

/* Wall-clock seconds, and monotonic milliseconds for durations. */
int64_t mvm_engine_now_s(void);
int64_t mvm_engine_mono_ms(void);

/*
 * snprintf that says whether the text fit: 0, or -ENAMETOOLONG when it was
 * cut. Paths and sentences are built with it so truncation is a checked
 * outcome rather than a silent one.
 */
int mvm_engine_bufprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Append an audit event for instance `in` and pass it to the on_event
 * callback; failures to log are not fatal.
 */
void mvm_engine_event(struct mvm_engine *eng, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * mkdir -p for a path we build ourselves; mode applies to new parts.
 * Returns 0 or a negative errno.
 */
int mvm_engine_mkdirs(const char *path, mode_t mode);

/* rm -rf; a missing path is not an error. Returns 0 or a negative errno. */
int mvm_engine_rmtree(const char *path);

/*
 * The run directory of instance `in`: <run_dir>/vm/<in->run_name>, or
 * the name its identity gives (mvm_names_run_name) while it records none.
 * Returns 0 or -ENAMETOOLONG.
 */
int mvm_engine_run_dir_of(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len);

/* ---- job.c: one transition's records ---- */

/*
 * Load the instance, its pool and tenant into a zeroed `j` and build its
 * paths. Returns 0, a store error (-ENOENT ...) or -ENAMETOOLONG.
 */
int mvm_engine_job_load(struct job *j, struct mvm_engine *eng,
    const char *tenant, const char *pool, const char *id,
    struct mvm_error *e);

/*
 * Build j->rundir, j->api_sock and j->vsock from j->in (run_dir_of).
 * Returns 0 or -ENAMETOOLONG with e set.
 */
int mvm_engine_job_paths(struct job *j, struct mvm_error *e);

/* Record how far the transition got, before the next side effect. */
int mvm_engine_job_step(struct job *j, enum step s, struct mvm_error *e);

/*
 * Write the instance record (its revision moves on in j->in). Publishing
 * (job_finish) also measures the disk its snapshot files use.
 */
int mvm_engine_job_save(struct job *j, struct mvm_error *e);

/*
 * Publish the outcome: the instance in its new state and the intent gone,
 * in one transaction, so a crash sees either the old intent or the result.
 * A running or warm instance is handed to the monitor thread.
 */
int mvm_engine_job_finish(struct job *j, struct mvm_error *e);

/* The VMM process the job's record names (pid 0: none). */
struct mvm_vmm_proc mvm_engine_job_proc(const struct job *j);

/* Open j->fc on the instance's API socket, once. 0 or a negative errno. */
int mvm_engine_job_fc(struct job *j, struct mvm_error *e);

/* Kill the VMM of the job (if any) and forget it on the record. */
void mvm_engine_job_kill(struct job *j);

/*
 * Put `in` in state `s` with no op, restarting the clocks of running and
 * warm; a state without a process forgets the pid.
 */
void mvm_engine_set_state(struct mvm_instance *in, enum mvm_state s);

/* ---- steps.c: the side-effecting steps of each move ---- */

/*
 * Each step moves j->in to its target state in memory on success; the
 * caller publishes it. On failure they return a negative errno with e set
 * and leave the record for the driver to settle.
 */
int mvm_engine_do_start(struct job *j, struct mvm_error *e);
int mvm_engine_do_pause(struct job *j, struct mvm_error *e);
int mvm_engine_do_resume(struct job *j, struct mvm_error *e);
int mvm_engine_do_sleep(struct job *j, struct mvm_error *e);
int mvm_engine_do_wake(struct job *j, enum mvm_state to,
    struct mvm_error *e);
/* Stop gracefully (SendCtrlAltDel, then wait), else kill. */
int mvm_engine_do_stop(struct job *j, struct mvm_error *e);

/* Both snapshot files of the published snapshot exist. */
bool mvm_engine_snapshot_complete(const struct job *j);

/*
 * Wait until the guest agent answers Ping, up to the boot timeout. 0, or
 * -EIO with the reason in e.
 */
int mvm_engine_agent_wait(struct job *j, struct mvm_error *e);

/*
 * The snapshot of an instance that stops, coming from state `from`: a
 * sleeping instance that failed (its last wake, most likely) keeps it,
 * renamed snapshot.failed-<Unix time> for inspection until the instance
 * is destroyed, with the reason and an event saying where; any other
 * snapshot is removed. A stopped instance never has a snapshot.
 */
void mvm_engine_snapshot_drop(struct job *j, enum mvm_state from);

/*
 * Send the guest its Wake: the host's clock and fresh entropy, which a
 * guest that was paused or restored from a snapshot lacks. A guest that
 * does not take it is not an error: an event says so.
 */
void mvm_engine_agent_wake(struct job *j);

/*
 * Ping the guest agent once within timeout_ms; its answer in *pong.
 * 0, or the negative errno of the call with e set.
 */
int mvm_engine_agent_ping(struct job *j, int timeout_ms,
    struct mvm_guest_pong *pong, struct mvm_error *e);

/* ---- monitor.c: the VMM death monitor ---- */

/* Watch the VMM that running or warm instance `in` names, once. */
void mvm_engine_watch_add(struct mvm_engine *eng,
    const struct mvm_instance *in);

/*
 * Start the monitor thread (eng->wakefd and eng->mu are set up). Returns 0
 * or a negative errno with e set.
 */
int mvm_engine_monitor_start(struct mvm_engine *eng, struct mvm_error *e);

/*
 * Stop the monitor thread if it was started and drop every watch. Called
 * once, from mvm_engine_close.
 */
void mvm_engine_monitor_stop(struct mvm_engine *eng);

#endif
