/*
 * render.h: the read-only views of the /mvm tree, rendered at open.
 *
 * Each view is a set of typed fields. Its plain form is `key=value\n` lines
 * sorted by key; its `.json` form is one JSON object with the same keys, in
 * the same order, numbers and booleans typed, and a newline after it.
 * Secrets never appear in any view.
 *
 *   NODE_INFO	   accel, accel_reason, arch, cpus, image_dir (the
 *		   default image boots use), kvm (true when /dev/kvm
 *		   exists), kvm_pvm (true when the kvm_pvm module is loaded),
 *		   mem_mib, node_id (created on first use and kept in the
 *		   store), version, vmm (its program's name), vmm_path (the
 *		   program run)
 *   NODE_STATS	   tenants, pools, instances, one count per state,
 *		   vcpus_used and mem_mib_used (running and warm instances)
 *   NODE_METRICS  Prometheus text: mvm_instances{tenant,pool,state},
 *		   mvm_tenant_quota_used{tenant,quota} and
 *		   mvm_tenant_quota_limit{tenant,quota} (`json` is ignored)
 *   TENANT_STATUS one `<quota>=<used>/<limit>` per quota (JSON: an object
 *		   {"used":U,"limit":L}), pools, instances, secrets_version.
 *		   Disk is shown in GiB rounded up; max_instances_per_pool
 *		   shows the tenant's fullest pool.
 *   POOL_STATUS   one count per state, desired_running, desired_warm,
 *		   desired_sleeping, instances, revision, managed (the
 *		   reconciler keeps the pool at its counts), and the reconciler's
 *		   last pass: converged (yes, no; unknown before the first
 *		   pass), busy, parked, failed, steps, deferred, next_at,
 *		   last_pass_at, pass_revision (the pool revision that pass
 *		   read: once it equals revision, the pass saw the latest
 *		   counts), active (steps queued or running), pending
 *		   (what is still to do, deferred or failed, with the reason,
 *		   lines joined by "; "), and the totals done since mvmfs
 *		   started: total_created, total_started, total_resumed,
 *		   total_woken, total_warmed, total_slept, total_stopped,
 *		   total_deferred, total_failed
 *   INSTANCE_INFO created_at, entered_running_at, entered_warm_at (Unix
 *		   seconds, 0: never), gateway, ip, mac, op, pid, reason,
 *		   revision, state, tap
 *   INSTANCE_STATS cpu_seconds (utime + stime) and rss_kib of the VMM and
 *		   all its descendants (QEMU runs as mvm-qemu's child), from
 *		   /proc/<pid>/stat, 0 when the VMM does not run; mem_mib,
 *		   state, uptime_seconds (since it entered running or warm),
 *		   vcpus; from the sleep policy's measurements: idle_seconds,
 *		   cpu_percent and net_bytes of the last interval (-1:
 *		   unknown), failures, parked (true, false) and parked_from
 */
#ifndef MVMFS_RENDER_H
#define MVMFS_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

struct mvm_store;
struct mvm_reconcile;
struct mvm_sleeper;

enum mvmfs_view {
	MVMFS_VIEW_NODE_INFO,
	MVMFS_VIEW_NODE_STATS,
	MVMFS_VIEW_NODE_METRICS,
	MVMFS_VIEW_TENANT_STATUS,
	MVMFS_VIEW_POOL_STATUS,
	MVMFS_VIEW_INSTANCE_INFO,
	MVMFS_VIEW_INSTANCE_STATS,
};

/* What the views need to know besides the store. */
struct mvmfs_render_src {
	struct mvm_store *st;
	struct mvm_reconcile *rec;	/* pool status; NULL: none */
	struct mvm_sleeper *sleeper;	/* instance idle figures; NULL: none */
	const char	*vmm;	/* "mvm-qemu", "firecracker"; NULL: unknown */
	const char	*vmm_path;	/* the VMM program run; NULL: unknown */
	const char	*image_dir;	/* the default image; NULL: unknown */
	const char	*accel;	/* "kvm" or "tcg"; NULL: unknown */
	const char	*accel_reason;	/* why that one; NULL: none */
};

/*
 * Render view `v` of the object named by tenant, pool and instance (those
 * the view needs; the others may be NULL). On success *out is a
 * NUL-terminated text of *len bytes that the caller frees with free(3).
 * Returns 0, or -ENOENT (the sentence names the missing object), -ENOMEM,
 * or a store error.
 */
int	mvmfs_render(const struct mvmfs_render_src *src, enum mvmfs_view v,
	    const char *tenant, const char *pool, const char *instance,
	    bool json, char **out, size_t *len, struct mvm_error *e);

/*
 * The `log` file of an instance whose files are in directory `dir` (see
 * mvm_engine_instance_dir): the last MVMFS_LOG_TAIL bytes of vmm.log, then
 * of console.log, each after a line "==> <name> <==". A missing file shows
 * as empty. Returns 0 and a text as for mvmfs_render, or -ENOMEM, or the
 * errno of a read that failed for another reason than ENOENT.
 */
#define MVMFS_LOG_TAIL	(64 * 1024)
int	mvmfs_render_log(const char *dir, char **out, size_t *len,
	    struct mvm_error *e);

/*
 * The node's id (a random UUID made on first use and kept in the store as
 * meta `node_id`) into `id`. Returns 0 or the store's errno.
 */
#define MVMFS_NODE_ID_LEN	36
int	mvmfs_render_node_id(struct mvm_store *st,
	    char id[MVMFS_NODE_ID_LEN + 1], struct mvm_error *e);

/* The text of /mvm/README (static). */
const char *mvmfs_readme(void);

#endif
