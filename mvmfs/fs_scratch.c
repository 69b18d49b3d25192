/*
 * fs_scratch.c: scratch files in the /mvm tree (see fs_int.h and
 * scratch.h): any other name created in an object directory. A scratch
 * file is an ordinary, inert file of its creator; renaming it onto a
 * control file commits its bytes there, as closing a write of the same
 * bytes would. Nothing else in the tree is unlinked or renamed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs_int.h"
#include "scratch.h"

/*
 * Commit scratch file `src` onto control file `dst`: the commit point of
 * sed -i and of configuration-management tools.
 */
static int
rename_commit(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *src,
    const struct mvmfs_key *dst, struct mvm_error *e)
{
	mvmfs_fs_take_fn *take = mvmfs_fs_kind(dst->kind)->take;
	struct mvm_tenant t;
	char *data = NULL;
	ssize_t n;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = mvmfs_fs_exists(fs, dst, &t)) < 0 ||
	    (rc = mvmfs_fs_may_write(req, dst, &t)) < 0)
		return rc;
	if ((n = mvmfs_scratch_read(fs->scratch, src->scratch,
	    MVMFS_SCRATCH_MAX_BYTES, 0, &data)) < 0)
		return (int)n;
	if (take == NULL)
		rc = mvm_error_set(e, EPERM, "only config, secrets, desired "
		    "and a pool's desired take a file renamed onto them");
	else
		rc = take(fs, dst, mvmfs_fs_is_operator(fs, req),
		    data != NULL ? data : "", n, e);
	if (data != NULL)
		explicit_bzero(data, n);
	free(data);
	return rc;
}

void
mvmfs_fs_scratch_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
    fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvm_error e = { 0 };
	struct mvmfs_key pk, k, dk;
	char dir[256];
	int rc;

	if (flags & ~(unsigned)RENAME_NOREPLACE) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if ((rc = mvmfs_fs_ino_key(fs, parent, &pk, NULL)) < 0 ||
	    (rc = mvmfs_fs_child_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* Objects and control files keep their names. */
	if (k.kind != MVMFS_SCRATCH) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if (newparent != parent) {
		fuse_reply_err(req, EXDEV);
		return;
	}
	rc = mvmfs_fs_child_key(fs, &pk, newname, &dk);
	if (rc == 0 && (flags & RENAME_NOREPLACE)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	mvmfs_fs_object_key(&pk, dir, sizeof(dir));
	if (rc < 0 || dk.kind == MVMFS_SCRATCH) {
		rc = mvmfs_scratch_rename(fs->scratch, dir, name, newname);
		fuse_reply_err(req, -rc);
		return;
	}
	if (mvmfs_fs_is_dir(dk.kind)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((rc = rename_commit(fs, req, &k, &dk, &e)) < 0) {
		mvmfs_fs_fail(fs, &dk, "rename", rc, &e);
		fuse_reply_err(req, -rc);
		return;
	}
	mvmfs_scratch_unlink(fs->scratch, dir, name);
	fuse_reply_err(req, 0);
	/* The kernel moved the scratch entry onto the control file's name. */
	mvmfs_fs_inval_entry(fs, parent, newname);
}

void
mvmfs_fs_scratch_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_key pk, k;
	int rc;

	if ((rc = mvmfs_fs_ino_key(fs, parent, &pk, NULL)) < 0 ||
	    (rc = mvmfs_fs_child_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (k.kind == MVMFS_SCRATCH) {
		char dir[256];

		mvmfs_fs_object_key(&pk, dir, sizeof(dir));
		rc = mvmfs_scratch_unlink(fs->scratch, dir, name);
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_err(req, mvmfs_fs_is_dir(k.kind) ? EISDIR : EPERM);
}

void
mvmfs_fs_scratch_create(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param ep;
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	struct mvmfs_ofile *of = NULL;
	char dir[256];
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&ep, 0, sizeof(ep));
	if ((rc = mvmfs_fs_ino_key(fs, parent, &pk, &t)) < 0)
		goto fail;
	if (mvmfs_fs_child_key(fs, &pk, name, &k) == 0) {
		rc = -EEXIST;
		goto fail;
	}
	rc = -EPERM;
	if (!mvmfs_fs_kind(pk.kind)->object_dir ||
	    (rc = mvmfs_fs_may_write(req, &pk, &t)) < 0)
		goto fail;
	mvmfs_fs_object_key(&pk, dir, sizeof(dir));
	k = pk;
	k.kind = MVMFS_SCRATCH;
	if ((rc = mvmfs_scratch_create(fs->scratch, dir, name, ctx->uid,
	    ctx->gid, mode & ~ctx->umask, &k.scratch)) < 0)
		goto fail;
	rc = -ENOMEM;
	if ((of = mvmfs_fs_ofile_new()) == NULL)
		goto undo;
	of->key = k;
	if ((rc = mvmfs_nodes_ref(fs->nodes, &k, &ep.ino)) < 0)
		goto undo;
	if ((rc = mvmfs_fs_stat(fs, &k, &t, ep.ino, &ep.attr)) < 0) {
		mvmfs_nodes_forget(fs->nodes, ep.ino, 1);
		goto undo;
	}
	fi->direct_io = 1;
	fi->fh = (uintptr_t)of;
	mvmfs_fs_ofile_track(fs, of);
	if (fuse_reply_create(req, &ep, fi) != 0) {
		mvmfs_nodes_forget(fs->nodes, ep.ino, 1);
		mvmfs_fs_ofile_untrack(fs, of);
		mvmfs_fs_ofile_free(of);
	}
	return;
undo:
	mvmfs_fs_ofile_free(of);
	mvmfs_scratch_unlink(fs->scratch, dir, name);
fail:
	fuse_reply_err(req, -rc);
}

/* ---- the class ---- */

static int
scratch_exists(struct mvmfs_fs *fs, const struct mvmfs_key *k)
{
	struct stat st;

	return mvmfs_scratch_stat(fs->scratch, k->scratch, &st);
}

static int
scratch_stat(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, struct stat *st)
{
	(void)t;
	st->st_nlink = 1;
	return mvmfs_scratch_stat(fs->scratch, k->scratch, st);
}

/*
 * A scratch file takes any mode, times and size; its owner may give it
 * only to itself (root to anyone), as chown(2) allows on other file
 * systems.
 */
static int
scratch_setattr(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    const struct mvm_tenant *t, fuse_ino_t ino, const struct stat *attr,
    int to_set, struct stat *st)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct timespec now, at, mt;
	mode_t mode = attr->st_mode;
	uid_t uid = attr->st_uid;
	gid_t gid = attr->st_gid;
	int rc;

	if (ctx->uid != 0) {
		if ((to_set & FUSE_SET_ATTR_UID) && uid != st->st_uid)
			return -EPERM;
		if ((to_set & FUSE_SET_ATTR_GID) && gid != st->st_gid &&
		    gid != ctx->gid)
			return -EPERM;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && (rc = mvmfs_scratch_truncate(
	    fs->scratch, k->scratch, attr->st_size)) < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	at = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim;
	mt = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim;
	if ((rc = mvmfs_scratch_setattr(fs->scratch, k->scratch,
	    (to_set & FUSE_SET_ATTR_MODE) ? &mode : NULL,
	    (to_set & FUSE_SET_ATTR_UID) ? &uid : NULL,
	    (to_set & FUSE_SET_ATTR_GID) ? &gid : NULL,
	    (to_set & FUSE_SET_ATTR_ATIME) ? &at : NULL,
	    (to_set & FUSE_SET_ATTR_MTIME) ? &mt : NULL)) < 0)
		return rc;
	return mvmfs_fs_stat(fs, k, t, ino, st);
}

/* The kernel checked the mode; bytes are read in place. */
static int
scratch_open(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    struct fuse_file_info *fi, const struct mvm_tenant *t)
{
	(void)req;
	(void)t;
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		return mvmfs_scratch_truncate(fs->scratch, of->key.scratch, 0);
	return 0;
}

static void
scratch_read(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    size_t size, off_t off, struct fuse_file_info *fi)
{
	char *buf;
	ssize_t n;

	(void)fi;
	n = mvmfs_scratch_read(fs->scratch, of->key.scratch, size, off, &buf);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, n);
	free(buf);
}

static void
scratch_write(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    const char *buf, size_t size, off_t off)
{
	ssize_t n;

	n = mvmfs_scratch_write(fs->scratch, of->key.scratch, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, n);
}

static unsigned
scratch_poll(struct mvmfs_fs *fs, const struct mvmfs_ofile *of)
{
	(void)fs;
	(void)of;
	return POLLIN | POLLOUT;
}

/* Scratch file entries and attributes are never cached. */
const struct mvmfs_fs_class mvmfs_fs_scratch_class = {
	.exists = scratch_exists,
	.stat = scratch_stat,
	.setattr = scratch_setattr,
	.open = scratch_open,
	.read = scratch_read,
	.write = scratch_write,
	.poll = scratch_poll,
};
