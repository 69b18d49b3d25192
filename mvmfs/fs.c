/*
 * fs.c: the FUSE operations of mvmfs (see fs.h and docs/filesystem.md):
 * the shape of the tree, and a thin dispatcher.
 *
 * The table `kinds` gives every kind of node its file class (fs_int.h)
 * and the facts that differ between kinds of one class. An operation on a
 * node or an open file finds its class there and calls through; the
 * operations on names in a directory (lookup, mkdir, rmdir, create,
 * unlink, rename) and on listings are those of fs_dir.c and fs_scratch.c.
 *
 * Every operation finds the node's key (node.h), checks in the store that
 * its objects still exist, and acts. Nothing of the tree is cached here:
 * the store is the truth, so an object removed by another process simply
 * answers ENOENT.
 *
 * Long operations (a transition, the destruction of an instance) are queued
 * to a small pool of worker threads, which answer the FUSE request when the
 * engine returns. A Ctrl-C interrupts the wait (EINTR), not the work.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "accel.h"
#include "fs_int.h"
#include "scratch.h"

static const struct mvmfs_fs_child root_children[] = {
	{ "README", MVMFS_README, false },
	{ "ctl", MVMFS_NODE_CTL, false },
	{ "desired", MVMFS_NODE_DESIRED, false },
	{ "err", MVMFS_NODE_ERR, false },
	{ "events", MVMFS_NODE_EVENTS, false },
	{ "node", MVMFS_NODE_DIR, false },
	{ "status", MVMFS_NODE_STATUS, false },
	{ "status.json", MVMFS_NODE_STATUS, true },
	{ "tenants", MVMFS_TENANTS, false },
	{ NULL, 0, false }
};

static const struct mvmfs_fs_child node_children[] = {
	{ "desired", MVMFS_NODE_EXPORT, false },
	{ "info", MVMFS_NODE_INFO, false },
	{ "info.json", MVMFS_NODE_INFO, true },
	{ "metrics", MVMFS_NODE_METRICS, false },
	{ "stats", MVMFS_NODE_STATS, false },
	{ "stats.json", MVMFS_NODE_STATS, true },
	{ NULL, 0, false }
};

static const struct mvmfs_fs_child tenant_children[] = {
	{ "config", MVMFS_TENANT_CONFIG, false },
	{ "ctl", MVMFS_TENANT_CTL, false },
	{ "err", MVMFS_TENANT_ERR, false },
	{ "events", MVMFS_TENANT_EVENTS, false },
	{ "pools", MVMFS_POOLS, false },
	{ "secrets", MVMFS_TENANT_SECRETS, false },
	{ "status", MVMFS_TENANT_STATUS, false },
	{ "status.json", MVMFS_TENANT_STATUS, true },
	{ NULL, 0, false }
};

static const struct mvmfs_fs_child pool_children[] = {
	{ "config", MVMFS_POOL_CONFIG, false },
	{ "ctl", MVMFS_POOL_CTL, false },
	{ "desired", MVMFS_POOL_DESIRED, false },
	{ "err", MVMFS_POOL_ERR, false },
	{ "events", MVMFS_POOL_EVENTS, false },
	{ "instances", MVMFS_INSTANCES, false },
	{ "status", MVMFS_POOL_STATUS, false },
	{ "status.json", MVMFS_POOL_STATUS, true },
	{ NULL, 0, false }
};

static const struct mvmfs_fs_child instance_children[] = {
	{ "err", MVMFS_INSTANCE_ERR, false },
	{ "events", MVMFS_INSTANCE_EVENTS, false },
	{ "info", MVMFS_INSTANCE_INFO, false },
	{ "info.json", MVMFS_INSTANCE_INFO, true },
	{ "log", MVMFS_INSTANCE_LOG, false },
	{ "state", MVMFS_INSTANCE_STATE, false },
	{ "stats", MVMFS_INSTANCE_STATS, false },
	{ "stats.json", MVMFS_INSTANCE_STATS, true },
	{ NULL, 0, false }
};

/*
 * Every kind of node. The node's own directories and aggregate views are
 * public (0755, 0444); what shows every tenant (OPERATOR: its events,
 * status, desired export and metrics) is the operators' (0440, root and
 * the admin group), and its control files root's. A tenant's files are
 * its owner's and its group's (0750, 0440, and 0640 for what its owner
 * writes).
 */
#define DIR	.cls = &mvmfs_fs_dir_class
#define VIEW	.cls = &mvmfs_fs_view_class
#define VALUE	.cls = &mvmfs_fs_value_class, .writable = true
#define DOC	.cls = &mvmfs_fs_doc_class, .writable = true, \
		.take = mvmfs_fs_doc_take
#define EVENTS	.cls = &mvmfs_fs_events_class
#define OPERATOR .mode = S_IFREG | 0440, .operator_only = true
#define CTL	VALUE, .content = mvmfs_fs_value_ctl_help, \
		.command = mvmfs_fs_value_write_ctl
static const struct mvmfs_fs_kind kinds[MVMFS_KIND_COUNT] = {
	[MVMFS_ROOT] = { DIR, .mode = S_IFDIR | 0755,
	    .children = root_children, .object_dir = true },
	[MVMFS_README] = { VIEW, .mode = S_IFREG | 0444,
	    .content = mvmfs_fs_view_readme },
	[MVMFS_NODE_DIR] = { DIR, .mode = S_IFDIR | 0755,
	    .children = node_children },
	[MVMFS_NODE_INFO] = { VIEW, .mode = S_IFREG | 0444,
	    .content = mvmfs_fs_view_render, .view = MVMFS_VIEW_NODE_INFO },
	[MVMFS_NODE_STATS] = { VIEW, .mode = S_IFREG | 0444,
	    .content = mvmfs_fs_view_render, .view = MVMFS_VIEW_NODE_STATS },
	[MVMFS_NODE_METRICS] = { VIEW, OPERATOR,
	    .content = mvmfs_fs_view_render,
	    .view = MVMFS_VIEW_NODE_METRICS },
	[MVMFS_NODE_CTL] = { CTL, .mode = S_IFREG | 0200,
	    .ctl = &mvmfs_fs_node_ctl },
	[MVMFS_NODE_ERR] = { VIEW, .mode = S_IFREG | 0444,
	    .content = mvmfs_fs_view_err },
	[MVMFS_NODE_EVENTS] = { EVENTS, OPERATOR },
	[MVMFS_NODE_EXPORT] = { VIEW, OPERATOR,
	    .content = mvmfs_fs_view_export },
	[MVMFS_NODE_DESIRED] = { DOC, .mode = S_IFREG | 0600,
	    .content = mvmfs_fs_doc_desired_text, .doc = MVMFS_DOC_DESIRED,
	    .commit = mvmfs_fs_doc_commit_desired },
	[MVMFS_NODE_STATUS] = { VIEW, OPERATOR,
	    .content = mvmfs_fs_view_status },
	[MVMFS_TENANTS] = { DIR, .mode = S_IFDIR | 0755,
	    .listing = &mvmfs_fs_tenants },
	[MVMFS_TENANT] = { DIR, .mode = S_IFDIR | 0750,
	    .children = tenant_children, .object_dir = true },
	[MVMFS_TENANT_CONFIG] = { DOC, .mode = S_IFREG | 0640,
	    .content = mvmfs_fs_doc_tenant_text,
	    .doc = MVMFS_DOC_TENANT_CONFIG,
	    .commit = mvmfs_fs_doc_commit_tenant },
	[MVMFS_TENANT_SECRETS] = { DOC, .mode = S_IFREG | 0600,
	    .secret = true, .content = mvmfs_fs_doc_secrets_text,
	    .doc = MVMFS_DOC_SECRETS, .commit = mvmfs_fs_doc_commit_secrets },
	[MVMFS_TENANT_STATUS] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_render,
	    .view = MVMFS_VIEW_TENANT_STATUS },
	[MVMFS_TENANT_CTL] = { CTL, .mode = S_IFREG | 0640,
	    .ctl = &mvmfs_fs_tenant_ctl },
	[MVMFS_TENANT_ERR] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_err },
	[MVMFS_TENANT_EVENTS] = { EVENTS, .mode = S_IFREG | 0440 },
	[MVMFS_POOLS] = { DIR, .mode = S_IFDIR | 0750,
	    .listing = &mvmfs_fs_pools },
	[MVMFS_POOL] = { DIR, .mode = S_IFDIR | 0750,
	    .children = pool_children, .object_dir = true },
	[MVMFS_POOL_CONFIG] = { DOC, .mode = S_IFREG | 0640,
	    .content = mvmfs_fs_doc_pool_text, .doc = MVMFS_DOC_POOL_CONFIG,
	    .commit = mvmfs_fs_doc_commit_pool },
	[MVMFS_POOL_DESIRED] = { VALUE, .mode = S_IFREG | 0640,
	    .content = mvmfs_fs_value_counts,
	    .command = mvmfs_fs_value_write_counts,
	    .take = mvmfs_fs_value_set_counts },
	[MVMFS_POOL_STATUS] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_render,
	    .view = MVMFS_VIEW_POOL_STATUS },
	[MVMFS_POOL_CTL] = { CTL, .mode = S_IFREG | 0640,
	    .ctl = &mvmfs_fs_pool_ctl },
	[MVMFS_POOL_ERR] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_err },
	[MVMFS_POOL_EVENTS] = { EVENTS, .mode = S_IFREG | 0440 },
	[MVMFS_INSTANCES] = { DIR, .mode = S_IFDIR | 0750,
	    .listing = &mvmfs_fs_instances },
	[MVMFS_INSTANCE] = { DIR, .mode = S_IFDIR | 0750,
	    .children = instance_children, .object_dir = true },
	[MVMFS_INSTANCE_STATE] = { VALUE, .mode = S_IFREG | 0660,
	    .content = mvmfs_fs_value_state,
	    .command = mvmfs_fs_value_write_state },
	[MVMFS_INSTANCE_INFO] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_render,
	    .view = MVMFS_VIEW_INSTANCE_INFO },
	[MVMFS_INSTANCE_STATS] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_render,
	    .view = MVMFS_VIEW_INSTANCE_STATS },
	[MVMFS_INSTANCE_LOG] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_log },
	[MVMFS_INSTANCE_ERR] = { VIEW, .mode = S_IFREG | 0440,
	    .content = mvmfs_fs_view_err },
	[MVMFS_INSTANCE_EVENTS] = { EVENTS, .mode = S_IFREG | 0440 },
	/* The mode and the rest are the scratch file's own (scratch.h). */
	[MVMFS_SCRATCH] = { .cls = &mvmfs_fs_scratch_class },
};
#undef DIR
#undef VIEW
#undef VALUE
#undef DOC
#undef EVENTS
#undef OPERATOR
#undef CTL

const struct mvmfs_fs_kind *
mvmfs_fs_kind(enum mvmfs_kind k)
{
	return &kinds[k];
}

bool
mvmfs_fs_is_dir(enum mvmfs_kind k)
{
	return kinds[k].cls == &mvmfs_fs_dir_class;
}

int
mvmfs_fs_content(struct mvmfs_fs *fs, const struct mvmfs_key *k, char **out,
    size_t *len, struct mvm_error *e)
{
	*out = NULL;
	*len = 0;
	if (kinds[k->kind].content == NULL)
		return 0;	/* streams and directories have none */
	return kinds[k->kind].content(fs, k, out, len, e);
}

void
mvmfs_fs_content_free(const struct mvmfs_key *k, char *buf, size_t len)
{
	if (buf != NULL && kinds[k->kind].secret)
		mvm_secrets_free_text(buf, len);
	else
		free(buf);
}

int
mvmfs_fs_stat(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_blksize = 4096;
	return kinds[k->kind].cls->stat(fs, k, t, st);
}

/* The class of the open file of `fi`. */
static const struct mvmfs_fs_class *
class_of(const struct fuse_file_info *fi)
{
	const struct mvmfs_ofile *of = (void *)(uintptr_t)fi->fh;

	return kinds[of->key.kind].cls;
}

/* ---- operations ---- */

static void
op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* open(O_TRUNC) arrives as a flag, never as a separate truncate. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
}

static void
op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);

	mvmfs_nodes_forget(fs->nodes, ino, nlookup);
	fuse_reply_none(req);
}

static void
op_forget_multi(fuse_req_t req, size_t count,
    struct fuse_forget_data *forgets)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	size_t i;

	for (i = 0; i < count; i++)
		mvmfs_nodes_forget(fs->nodes, forgets[i].ino,
		    forgets[i].nlookup);
	fuse_reply_none(req);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_key k;
	struct mvm_tenant t;
	struct stat st;
	int rc;

	(void)fi;
	if ((rc = mvmfs_fs_ino_key(fs, ino, &k, &t)) < 0 ||
	    (rc = mvmfs_fs_stat(fs, &k, &t, ino, &st)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_attr(req, &st, kinds[k.kind].cls->attr_timeout);
}

static void
op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_key k;
	struct mvm_tenant t;
	struct stat st;
	int rc;

	(void)fi;
	if ((rc = mvmfs_fs_ino_key(fs, ino, &k, &t)) < 0 ||
	    (rc = mvmfs_fs_stat(fs, &k, &t, ino, &st)) < 0 ||
	    (rc = kinds[k.kind].cls->setattr(fs, req, &k, &t, ino, attr,
	    to_set, &st)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_attr(req, &st, 0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_ofile *of = NULL;
	struct mvm_tenant t;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = -ENOMEM;
	if ((of = mvmfs_fs_ofile_new()) == NULL)
		goto fail;
	if ((rc = mvmfs_fs_ino_key(fs, ino, &of->key, &t)) < 0)
		goto fail;
	of->nonblock = (fi->flags & O_NONBLOCK) != 0;
	if ((rc = kinds[of->key.kind].cls->open(fs, req, of, fi, &t)) < 0)
		goto fail;
	fi->direct_io = 1;
	fi->fh = (uintptr_t)of;
	mvmfs_fs_ofile_track(fs, of);
	if (fuse_reply_open(req, fi) != 0) {
		mvmfs_fs_ofile_untrack(fs, of);
		mvmfs_fs_ofile_free(of);
	}
	return;
fail:
	mvmfs_fs_ofile_free(of);
	fuse_reply_err(req, -rc);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)ino;
	class_of(fi)->read(fuse_req_userdata(req), req,
	    (struct mvmfs_ofile *)(uintptr_t)fi->fh, size, off, fi);
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	class_of(fi)->write(fuse_req_userdata(req), req,
	    (struct mvmfs_ofile *)(uintptr_t)fi->fh, buf, size, off);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct mvmfs_fs_class *c = class_of(fi);
	int rc = 0;

	(void)ino;
	if (c->flush != NULL)
		rc = c->flush(fuse_req_userdata(req),
		    (struct mvmfs_ofile *)(uintptr_t)fi->fh);
	fuse_reply_err(req, -rc);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_ofile *of = (struct mvmfs_ofile *)(uintptr_t)fi->fh;

	(void)ino;
	mvmfs_fs_waiters_drop(fs, of);
	mvmfs_fs_ofile_untrack(fs, of);
	mvmfs_fs_ofile_free(of);
	fuse_reply_err(req, 0);
}

static void
op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
    struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, 0);
}

/*
 * Whether the open file has something new is its class's to say (poll in
 * struct mvmfs_fs_class). Otherwise the poll handle waits for the next
 * event touching the object (mvmfs_fs_on_change wakes it).
 */
static void
op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct fuse_pollhandle *ph)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_ofile *of = (struct mvmfs_ofile *)(uintptr_t)fi->fh;
	const struct mvmfs_fs_class *c = kinds[of->key.kind].cls;
	struct mvmfs_poller *p = NULL;
	unsigned revents;
	uint64_t seen;

	(void)ino;
	if (ph != NULL && (p = calloc(1, sizeof(*p))) == NULL) {
		fuse_pollhandle_destroy(ph);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/*
	 * A change between the check and the registration would wake no
	 * one: check again until no change came in between.
	 */
	for (;;) {
		pthread_mutex_lock(&fs->plock);
		seen = fs->changes;
		pthread_mutex_unlock(&fs->plock);
		if ((revents = c->poll(fs, of)) != 0 || p == NULL)
			break;
		pthread_mutex_lock(&fs->plock);
		if (fs->changes == seen) {
			p->key = of->key;
			p->ph = ph;
			p->next = fs->pollers;
			fs->pollers = p;
			p = NULL;
			ph = NULL;
			pthread_mutex_unlock(&fs->plock);
			break;
		}
		pthread_mutex_unlock(&fs->plock);
	}
	free(p);
	if (ph != NULL)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, revents);
}

static void
op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EPERM);
}

static void
op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
    const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, EOPNOTSUPP);
}

static void
op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	(void)ino;
	(void)name;
	(void)size;
	fuse_reply_err(req, EOPNOTSUPP);
}

static void
op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	(void)ino;
	(void)size;
	fuse_reply_err(req, EOPNOTSUPP);
}

static void
op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, EOPNOTSUPP);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = mvmfs_fs_dir_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mkdir = mvmfs_fs_dir_mkdir,
	.mknod = op_mknod,
	.rmdir = mvmfs_fs_dir_rmdir,
	.unlink = mvmfs_fs_scratch_unlink,
	.rename = mvmfs_fs_scratch_rename,
	.create = mvmfs_fs_scratch_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = mvmfs_fs_dir_opendir,
	.readdir = mvmfs_fs_dir_readdir,
	.releasedir = mvmfs_fs_dir_releasedir,
	.poll = op_poll,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
};

const struct fuse_lowlevel_ops *
mvmfs_fs_ops(void)
{
	return &ops;
}

int
mvmfs_fs_new(const struct mvmfs_fs_deps *deps, int workers,
    struct mvmfs_fs **out)
{
	struct mvmfs_fs *fs;
	int rc;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return -ENOMEM;
	fs->d = *deps;
	fs->src.st = deps->st;
	fs->src.vmm_path = deps->vmm_path;
	fs->src.image_dir = deps->image_dir;
	if (deps->vmm_path != NULL) {
		const char *base = strrchr(deps->vmm_path, '/');

		fs->src.vmm = base != NULL ? base + 1 : deps->vmm_path;
	}
	/* Firecracker always runs on KVM; mvm-qemu chooses as the probe does. */
	if (fs->src.vmm != NULL && strcmp(fs->src.vmm, "firecracker") == 0) {
		fs->src.accel = "kvm";
		fs->src.accel_reason = "firecracker always runs on KVM";
	} else {
		enum mvm_accel accel;

		if (mvm_accel_probe(&accel, fs->accel_reason,
		    sizeof(fs->accel_reason), NULL) == 0) {
			fs->src.accel = mvm_accel_name(accel);
			fs->src.accel_reason = fs->accel_reason;
		}
	}
	fs->src.rec = deps->rec;
	fs->src.sleeper = deps->sleeper;
	pthread_mutex_init(&fs->plock, NULL);
	pthread_mutex_init(&fs->olock, NULL);
	pthread_mutex_init(&fs->rlock, NULL);
	pthread_rwlock_init(&fs->slock, NULL);
	rc = -ENOMEM;
	if ((fs->nodes = mvmfs_nodes_new()) == NULL ||
	    (fs->scratch = mvmfs_scratch_new()) == NULL ||
	    (rc = mvmfs_workers_new(workers, &fs->workers)) < 0 ||
	    (rc = mvmfs_workers_new(1, &fs->notifier)) < 0) {
		mvmfs_fs_free(fs);
		return rc;
	}
	mvmfs_events_subscribe_changes(fs->d.events, mvmfs_fs_on_change,
	    fs);
	*out = fs;
	return 0;
}

void
mvmfs_fs_free(struct mvmfs_fs *fs)
{
	struct mvmfs_poller *p;
	struct mvmfs_waiter *w;
	struct mvmfs_ofile *of;

	if (fs == NULL)
		return;
	if (fs->d.events != NULL)
		mvmfs_events_subscribe_changes(fs->d.events, NULL, NULL);
	/* Transitions in progress finish; their answers go nowhere. */
	mvmfs_workers_free(fs->workers);
	mvmfs_workers_free(fs->notifier);
	while ((w = fs->waiters) != NULL) {
		fs->waiters = w->next;
		mvmfs_fs_waiter_free(w);
	}
	/* Files the kernel never released (the mount went away). */
	while ((of = fs->open_files) != NULL) {
		fs->open_files = of->next;
		mvmfs_fs_ofile_free(of);
	}
	while ((p = fs->pollers) != NULL) {
		fs->pollers = p->next;
		fuse_pollhandle_destroy(p->ph);
		free(p);
	}
	mvmfs_nodes_free(fs->nodes);
	mvmfs_scratch_free(fs->scratch);
	mvm_reconcile_report_free(&fs->report);
	pthread_mutex_destroy(&fs->plock);
	pthread_mutex_destroy(&fs->olock);
	pthread_mutex_destroy(&fs->rlock);
	pthread_rwlock_destroy(&fs->slock);
	free(fs);
}
