/*
 * fs.h: the FUSE operations of mvmfs (low-level API).
 *
 * mvmfs_fs_new() gathers what the operations need; the caller passes the
 * result as the session's userdata with mvmfs_fs_ops(). Transitions and
 * instance destruction run on the filesystem's own worker threads, so no
 * FUSE thread waits for a VM: the request is answered from the worker.
 */
#ifndef MVMFS_FS_H
#define MVMFS_FS_H

/*
 * 3.12: fuse_session_loop_mt() takes the config of fuse_loop_cfg_create().
 * Under an older version libfuse reads that config as its old struct and
 * starts a thread and a /dev/fuse clone for every request.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

#include "engine.h"
#include "errlog.h"
#include "events.h"
#include "reconcile.h"
#include "secrets.h"
#include "sleeper.h"
#include "store.h"

/* What the filesystem works on; all owned by the caller, outliving it. */
struct mvmfs_fs_deps {
	struct mvm_store	*st;
	struct mvm_engine	*eng;
	struct mvmfs_errlog	*errlog;
	struct mvmfs_events	*events;
	struct mvm_secrets	*secrets;
	struct mvm_reconcile	*rec;		/* kicked on changes; may be NULL */
	struct mvm_sleeper	*sleeper;	/* idle figures; may be NULL */
	const char		*state_dir;
	const char		*vmm_path;	/* named by node/info */
	/*
	 * The operators are root and, when admin_group is set, the members
	 * of group admin_gid (docs/filesystem.md, Access).
	 */
	bool			 admin_group;
	gid_t			 admin_gid;
	const char		*image_dir;	/* named by node/info */
};

struct mvmfs_fs;

/*
 * A filesystem over `deps` with `workers` transition threads (1..64)
 * started. Returns 0 and sets *out, or -ENOMEM, -EINVAL or the negative
 * errno of pthread_create.
 */
int mvmfs_fs_new(const struct mvmfs_fs_deps *deps, int workers,
    struct mvmfs_fs **out);

/*
 * Wait for the transitions in progress, stop the workers and free `fs`
 * (which may be NULL). Call after the session loop has returned.
 */
void mvmfs_fs_free(struct mvmfs_fs *fs);

/*
 * Give `fs` the session it serves, so it can tell the kernel to drop what
 * it caches; before destroying the session, pass NULL (this waits for a
 * notification being sent). Until then `fs` notifies nothing.
 */
void mvmfs_fs_attach(struct mvmfs_fs *fs, struct fuse_session *se);

/*
 * Tell the kernel that the tenant, pool or instance named (pool and
 * instance NULL for a tenant, instance NULL for a pool) is gone, when
 * something other than an rmdir on this mount removed it (a destroy, a
 * reconciler): its directory entry is invalidated in the background, so
 * the name disappears at once instead of when its timeout lapses. Never
 * blocks, never fails (out of memory, the timeout does the work).
 */
void mvmfs_fs_object_gone(struct mvmfs_fs *fs, const char *tenant,
    const char *pool, const char *instance);

/* The operations; their userdata must be a struct mvmfs_fs. */
const struct fuse_lowlevel_ops *mvmfs_fs_ops(void);

#endif
