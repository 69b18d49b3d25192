/*
 * fs_view.c: the views of the /mvm tree (see fs_int.h): read-only files
 * whose content is rendered at open (info, stats, status, those of node/,
 * README, the *.json forms, log, err). A writer is refused (EACCES), root
 * included, and poll(2) reports when the content differs from what the
 * descriptor rendered.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "desired.h"
#include "fs_int.h"
#include "world.h"

int
mvmfs_fs_view_readme(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	(void)fs;
	(void)k;
	(void)e;
	return mvmfs_fs_dup_text(mvmfs_readme(), strlen(mvmfs_readme()), out,
	    len);
}

/* A view of render.h: the kind's view of k's object. */
int
mvmfs_fs_view_render(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	return mvmfs_render(&fs->src, mvmfs_fs_kind(k->kind)->view, k->tenant,
	    k->pool, k->instance, k->json, out, len, e);
}

/* /mvm/status: the report of the last /mvm/desired, brought up to date. */
int
mvmfs_fs_view_status(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	struct mvm_reconcile_report empty;
	int rc;

	(void)k;
	memset(&empty, 0, sizeof(empty));
	if (fs->d.rec == NULL)
		return mvmfs_fs_dup_text("{}\n", 3, out, len);
	pthread_mutex_lock(&fs->rlock);
	if (fs->have_report)
		mvm_reconcile_report_update(fs->d.rec, &fs->report);
	rc = mvm_reconcile_report_json(fs->d.rec, fs->have_report ?
	    &fs->report : &empty, out, len);
	pthread_mutex_unlock(&fs->rlock);
	if (rc < 0)
		return mvm_error_set(e, -rc, "cannot render the report");
	return 0;
}

/* /mvm/node/desired: every tenant and pool of the node as a document. */
int
mvmfs_fs_view_export(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	struct mvm_world w = { 0 };
	struct mvm_desired *d = NULL;
	char node_id[MVMFS_NODE_ID_LEN + 1];
	int rc;

	(void)k;
	if ((rc = mvmfs_render_node_id(fs->d.st, node_id, e)) < 0)
		goto out;
	if ((rc = mvm_world_load(fs->d.st, NULL, MVM_WORLD_NO_INSTANCES, &w,
	    e)) < 0 ||
	    (rc = mvm_desired_from_node(node_id, w.tenants, w.ntenants,
	    w.pools, w.npools, &d, e)) < 0)
		goto out;
	if ((rc = mvm_desired_render(d, out, len)) < 0)
		mvm_error_set(e, -rc, "cannot render the node's document");
out:
	mvm_desired_free(d);
	mvm_world_free(&w);
	return rc < 0 ? rc : 0;
}

/* An `err` file: the failures recorded for k's object. */
int
mvmfs_fs_view_err(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	char obj[256];

	(void)e;
	mvmfs_fs_object_key(k, obj, sizeof(obj));
	return mvmfs_errlog_render(fs->d.errlog, obj, out, len);
}

/* An instance's `log`: the tails of its VMM's and its console's logs. */
int
mvmfs_fs_view_log(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	char dir[MVM_CONFIG_TEXT_MAX];
	struct mvm_instance in;
	int rc;

	if ((rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
	    k->instance, &in, e)) < 0)
		return rc;
	if ((rc = mvm_engine_instance_dir(fs->d.eng, &in, dir,
	    sizeof(dir))) < 0)
		return rc;
	return mvmfs_render_log(dir, out, len, e);
}

const struct mvmfs_fs_class mvmfs_fs_view_class = {
	.entry_timeout = MVMFS_FS_FILE_ENTRY_TIMEOUT,
	.stat = mvmfs_fs_stat_sized,
	.setattr = mvmfs_fs_setattr_fixed,
	.open = mvmfs_fs_open_fixed,
	.read = mvmfs_fs_read_content,
	.write = mvmfs_fs_write_none,
	.poll = mvmfs_fs_poll_content,
};
