/*
 * engine.h: the lifecycle engine. It drives instances through the state
 * machine of docs/state-model.md for real: VMM processes through the
 * Firecracker API (fc.h), the guest agent over vsock (guest.h), every step
 * recorded in the store (store.h) before its side effect.
 *
 * Files of an instance:
 *   <state_dir>/tenants/<t>/pools/<p>/instances/<i>/
 *       vmm.log  console.log  snapshot/{vmstate,mem}
 *   <run_dir>/vm/<run name>/
 *       api.sock  vsock.sock  (short paths: unix sockets are limited to 108 bytes)
 * The run name is the one the instance records (model.h, run_name), set when
 * a cold boot launches its VMM from its identity (mvm_names_run_name), never
 * from its tenant's net_id or its address, which can change or be reused.
 *
 * Threads: every function may be called from any thread. Transitions of
 * one instance are serialised by its intent row in the store (a second one
 * gets -EBUSY); transitions of different instances run in parallel. The
 * engine runs one monitor thread that notices VMMs that die on their own.
 */
#ifndef MVM_ENGINE_H
#define MVM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

struct mvm_event;
struct mvm_store;
struct mvm_engine;

struct mvm_engine_config {
	const char	*state_dir;	/* snapshots and logs; e.g. /var/lib/mvm */
	const char	*run_dir;	/* sockets; e.g. /run/mvm */
	const char	*vmm_path;	/* mvm-qemu or firecracker */
	const char	*image_dir;	/* vmlinuz, initrd, rootfs.ext4 */
	int		 boot_timeout_ms;	/* launch to agent Ping; 0: 60000 */
	int		 api_timeout_ms;	/* one VMM API call; 0: 10000 */
	int		 snapshot_timeout_ms;	/* snapshot create or load; 0: 120000 */
	/*
	 * Called after every audit event the engine writes (every state
	 * change writes one), from the thread that wrote it, with no engine
	 * lock held. May be NULL. The event is valid only during the call.
	 */
	void		(*on_event)(void *arg, const struct mvm_event *ev);
	void		*on_event_arg;
};

/* Flags for mvm_engine_transition. */
#define MVM_ENGINE_FORCE	0x1	/* override minimum runtime (audited) */
/*
 * The reconciler provisions a warm or sleeping instance by booting it and
 * parking it straight away: minimum runtime does not apply to the second
 * move, since the instance never served. Refused (-EINVAL) unless the
 * instance is running and the move is to warm or sleeping. Only the
 * reconciler uses it, right after the boot it made.
 */
#define MVM_ENGINE_PROVISION	0x2
/*
 * The sleep policy moves an idle instance colder: on success the instance
 * is marked parked (model.h) and keeps the slot it was parked from. Every
 * transition without this flag clears the mark.
 */
#define MVM_ENGINE_PARK		0x4

/*
 * Open the engine over an open store (which stays owned by the caller and
 * must outlive the engine). Recovery runs here: every in-flight intent is
 * rolled forward or back, running and warm instances whose VMM is gone move
 * to stopped, and VMM processes under run_dir that no instance claims are
 * killed. Strings in `cfg` are copied. Returns 0 or a negative errno.
 */
int mvm_engine_open(const struct mvm_engine_config *cfg,
    struct mvm_store *st, struct mvm_engine **out, struct mvm_error *e);

/* Stop the monitor thread and free the engine. Running VMMs keep running. */
void mvm_engine_close(struct mvm_engine *eng);

/*
 * Move instance tenant/pool/id to `to` and return when it is there. Errors:
 * -ENOENT no such instance; -EOPNOTSUPP not allowed from its state;
 * -EAGAIN minimum runtime not reached (unless MVM_ENGINE_FORCE); -EDQUOT
 * a tenant quota would be exceeded (checked atomically with recording the
 * intent, in-flight transitions counted); -EBUSY another transition of it
 * is in progress; -EIO the VMM or guest failed (the instance is left in a
 * true state, said in e). A failure adds one to the instance's `failures`
 * and sets last_failure_at, and so does a VMM that dies on its own. A
 * success keeps them, except a move to stopped, which clears them: a
 * guest that boots and then crashes keeps counting towards the failure
 * budget until it has stayed healthy (mvm_engine_settle).
 * Moving to the state the instance is in is a no-op success that changes
 * nothing, the parked mark included.
 */
int mvm_engine_transition(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, enum mvm_state to, unsigned flags,
    struct mvm_error *e);

/*
 * Forget the failures of instance tenant/pool/id if it has earned it: it
 * is running with no transition in progress, has been for its pool's
 * settle_seconds (mvm_fsm_settle_at), its VMM lives and its agent answers
 * a Ping now. Then failures and last_failure_at become 0, with the event
 * "instance.settled". Returns 1 when it cleared them, 0 when there was
 * nothing to clear or it is not time or not healthy (the count stays),
 * or a store error (-ENOENT ...) said in e. The Ping takes up to 2 s.
 */
int mvm_engine_settle(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e);

/*
 * Stop the instance if it has a process, remove its files and sockets and
 * delete its record. Errors as for mvm_engine_transition.
 */
int mvm_engine_destroy(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e);

/*
 * Run the same reconciliation as at open: useful after the caller knows
 * the world changed under it. Returns how many instances it changed.
 */
int mvm_engine_recover(struct mvm_engine *eng, struct mvm_error *e);

/*
 * Paths of an instance's files, written into `buf` of `len` bytes, from
 * `in` alone (the vsock path from its recorded run name). Return 0 or
 * -ENAMETOOLONG.
 */
int mvm_engine_instance_dir(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len);
int mvm_engine_vsock_path(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len);

#endif
