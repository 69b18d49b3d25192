/*
 * fs_dir.c: the directories of the /mvm tree (see fs_int.h): the names
 * in them (lookup), their listings, and the objects that mkdir creates and
 * rmdir destroys in the listing directories (tenants, pools, instances).
 *
 * A directory has fixed entries (its kind's children), the objects of its
 * listing, or, in an object directory, scratch files as well.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"
#include "names.h"
#include "objects.h"
#include "scratch.h"

/*
 * What a listing directory holds: objects of one kind, each named by its
 * id, which is the key field at offset `id`.
 */
struct mvmfs_fs_listing {
	enum mvmfs_kind		 kind;
	enum mvm_name_kind	 names;		/* the rules of new names */
	const char		*what;		/* "tenant", in sentences */
	size_t			 id;
	/* Collect the ids of the objects under directory `k`. */
	int	(*list)(struct mvmfs_fs *fs, const struct mvmfs_key *k,
		    struct mvmfs_fs_ids *ids);
	/* Create object `name` under directory `pk`. */
	int	(*make)(struct mvmfs_fs *fs, fuse_req_t req,
		    const struct mvmfs_key *pk, const char *name,
		    struct mvm_error *e);
	/*
	 * Destroy object `k`. Returns 0 once `req` is answered (or handed
	 * to a worker that answers it), or a negative errno, `req`
	 * unanswered.
	 */
	int	(*remove)(struct mvmfs_fs *fs, fuse_req_t req,
		    const struct mvmfs_key *k, struct mvm_error *e);
};

/*
 * The key of `name` in directory `pk`, from the name alone: whether the
 * objects exist is left to the caller. -ENOENT, -ENOTDIR.
 */
static int
name_key(struct mvmfs_fs *fs, const struct mvmfs_key *pk, const char *name,
    struct mvmfs_key *k)
{
	const struct mvmfs_fs_kind *pkind = mvmfs_fs_kind(pk->kind);
	const struct mvmfs_fs_listing *l = pkind->listing;
	const struct mvmfs_fs_child *c;

	*k = *pk;
	k->json = false;
	if (l != NULL) {
		if (mvm_names_check(MVM_NAME_TENANT, name, strlen(name),
		    NULL) < 0)
			return -ENOENT;
		k->kind = l->kind;
		snprintf((char *)k + l->id, MVM_ID_MAX + 1, "%s", name);
		return 0;
	}
	if ((c = pkind->children) == NULL)
		return -ENOTDIR;
	for (; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			k->kind = c->kind;
			k->json = c->json;
			return 0;
		}
	}
	if (pkind->object_dir) {
		char dir[256];

		mvmfs_fs_object_key(pk, dir, sizeof(dir));
		if (mvmfs_scratch_find(fs->scratch, dir, name,
		    &k->scratch) == 0) {
			k->kind = MVMFS_SCRATCH;
			return 0;
		}
	}
	return -ENOENT;
}

int
mvmfs_fs_child_key(struct mvmfs_fs *fs, const struct mvmfs_key *pk,
    const char *name, struct mvmfs_key *k)
{
	int rc;

	if ((rc = name_key(fs, pk, name, k)) < 0)
		return rc;
	return mvmfs_fs_kind(pk->kind)->listing != NULL ?
	    mvmfs_fs_exists(fs, k, NULL) : 0;
}

/* Take a lookup reference on `k` and answer `req` with its entry. */
static void
reply_entry(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k)
{
	const struct mvmfs_fs_class *c = mvmfs_fs_kind(k->kind)->cls;
	struct fuse_entry_param ep;
	struct mvm_tenant t;
	uint64_t ino;
	int rc;

	memset(&ep, 0, sizeof(ep));
	memset(&t, 0, sizeof(t));
	if ((rc = mvmfs_fs_exists(fs, k, &t)) < 0 ||
	    (rc = mvmfs_nodes_ref(fs->nodes, k, &ino)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((rc = mvmfs_fs_stat(fs, k, &t, ino, &ep.attr)) < 0) {
		mvmfs_nodes_forget(fs->nodes, ino, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	ep.ino = ino;
	ep.entry_timeout = c->entry_timeout;
	ep.attr_timeout = c->attr_timeout;
	if (fuse_reply_entry(req, &ep) != 0)
		mvmfs_nodes_forget(fs->nodes, ino, 1);
}

void
mvmfs_fs_dir_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_key pk, k;
	int rc;

	/*
	 * reply_entry checks the whole chain of `k`, the parent's objects
	 * included, in one query.
	 */
	if ((rc = mvmfs_nodes_get(fs->nodes, parent, &pk)) < 0 ||
	    (rc = name_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	reply_entry(fs, req, &k);
}

/* ---- listings ---- */

/* A directory listing, built whole at opendir so offsets stay valid. */
struct dirbuf {
	char	*p;
	size_t	 len;
};

static int
dirbuf_add(fuse_req_t req, struct dirbuf *b, const char *name, fuse_ino_t ino,
    mode_t mode)
{
	struct stat st;
	size_t need;
	char *np;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = mode;
	need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	if ((np = realloc(b->p, b->len + need)) == NULL)
		return -ENOMEM;
	b->p = np;
	fuse_add_direntry(req, b->p + b->len, need, name, &st, b->len + need);
	b->len += need;
	return 0;
}

struct scratch_walk {
	fuse_req_t		 req;
	struct dirbuf		*b;
	struct mvmfs_fs		*fs;
	const struct mvmfs_key	*dir;
};

static int
list_scratch(const char *name, uint64_t id, void *arg)
{
	struct scratch_walk *w = arg;
	struct mvmfs_key k = *w->dir;

	k.kind = MVMFS_SCRATCH;
	k.json = false;
	k.scratch = id;
	return dirbuf_add(w->req, w->b, name, mvmfs_nodes_peek(w->fs->nodes,
	    &k), S_IFREG);
}

/* Add every entry of directory `k` (node `ino`) to `b`. */
static int
dir_list(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    fuse_ino_t ino, struct dirbuf *b)
{
	const struct mvmfs_fs_kind *kind = mvmfs_fs_kind(k->kind);
	struct mvmfs_fs_ids ids = { 0 };
	const struct mvmfs_fs_child *c;
	struct mvmfs_key ck;
	size_t i;
	int rc;

	if ((rc = dirbuf_add(req, b, ".", ino, S_IFDIR)) < 0 ||
	    (rc = dirbuf_add(req, b, "..", 0, S_IFDIR)) < 0)
		return rc;
	for (c = kind->children; c != NULL && c->name != NULL; c++) {
		ck = *k;
		ck.kind = c->kind;
		ck.json = c->json;
		if ((rc = dirbuf_add(req, b, c->name,
		    mvmfs_nodes_peek(fs->nodes, &ck),
		    mvmfs_fs_kind(c->kind)->mode)) < 0)
			return rc;
	}
	if (kind->listing != NULL &&
	    (rc = kind->listing->list(fs, k, &ids)) < 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		if ((rc = mvmfs_fs_child_key(fs, k, ids.v[i], &ck)) == -ENOENT)
			continue;	/* removed meanwhile */
		if (rc < 0 || (rc = dirbuf_add(req, b, ids.v[i],
		    mvmfs_nodes_peek(fs->nodes, &ck), S_IFDIR)) < 0)
			goto out;
	}
	rc = 0;
	if (kind->object_dir) {
		struct scratch_walk w = { req, b, fs, k };
		char dir[256];

		mvmfs_fs_object_key(k, dir, sizeof(dir));
		rc = mvmfs_scratch_list(fs->scratch, dir, list_scratch, &w);
	}
out:
	free(ids.v);
	return rc < 0 ? rc : 0;
}

void
mvmfs_fs_dir_opendir(fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct dirbuf *b = NULL;
	struct mvmfs_key k;
	int rc;

	if ((rc = mvmfs_fs_ino_key(fs, ino, &k, NULL)) < 0)
		goto fail;
	rc = -ENOTDIR;
	if (!mvmfs_fs_is_dir(k.kind))
		goto fail;
	rc = -ENOMEM;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	if ((rc = dir_list(fs, req, &k, ino, b)) < 0)
		goto fail;
	fi->fh = (uintptr_t)b;
	fuse_reply_open(req, fi);
	return;
fail:
	if (b != NULL)
		free(b->p);
	free(b);
	fuse_reply_err(req, -rc);
}

void
mvmfs_fs_dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	mvmfs_fs_reply_slice(req, b->p, b->len, off, size);
}

void
mvmfs_fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	free(b->p);
	free(b);
	fuse_reply_err(req, 0);
}

/* ---- the objects of the listings ---- */

static int
list_tenant(const struct mvm_tenant *t, void *arg)
{
	return mvmfs_fs_ids_add(arg, t->id);
}

static int
list_pool(const struct mvm_pool *p, void *arg)
{
	return mvmfs_fs_ids_add(arg, p->id);
}

static int
list_instance(const struct mvm_instance *in, void *arg)
{
	return mvmfs_fs_ids_add(arg, in->id);
}

static int
list_tenants(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvmfs_fs_ids *ids)
{
	(void)k;
	return mvm_store_tenant_list(fs->d.st, list_tenant, ids, NULL);
}

static int
list_pools(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvmfs_fs_ids *ids)
{
	return mvm_store_pool_list(fs->d.st, k->tenant, list_pool, ids, NULL);
}

static int
list_instances(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvmfs_fs_ids *ids)
{
	return mvm_store_instance_list(fs->d.st, k->tenant, k->pool,
	    list_instance, ids, NULL);
}

/* A new tenant belongs to whoever made it, with the next free net_id. */
static int
make_tenant(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *pk,
    const char *name, struct mvm_error *e)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct mvm_tenant t;
	int rc;

	(void)pk;
	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", name);
	t.uid = ctx->uid;
	t.gid = ctx->gid;
	if ((rc = mvm_objects_free_net_id(fs->d.st, &t.net_id, e)) < 0)
		return rc;
	return mvm_objects_tenant_create(fs->d.st, &t, e);
}

static int
make_pool(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *pk,
    const char *name, struct mvm_error *e)
{
	struct mvm_pool p;

	(void)req;
	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", pk->tenant);
	snprintf(p.id, sizeof(p.id), "%s", name);
	return mvm_objects_pool_create(fs->d.st, &p, e);
}

static int
make_instance(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *pk,
    const char *name, struct mvm_error *e)
{
	struct mvm_instance in;

	(void)req;
	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", pk->tenant);
	snprintf(in.pool, sizeof(in.pool), "%s", pk->pool);
	snprintf(in.id, sizeof(in.id), "%s", name);
	in.state = MVM_STATE_CREATED;
	return mvm_objects_instance_create(fs->d.st, &in, e);
}

/* Object `k` was removed: forget its failures, audit, answer. */
static int
removed(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    const char *action)
{
	char obj[256];

	mvmfs_fs_object_key(k, obj, sizeof(obj));
	mvmfs_errlog_forget(fs->d.errlog, obj);
	mvmfs_fs_audit(fs, k, action);
	fuse_reply_err(req, 0);
	return 0;
}

static int
remove_tenant(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	int rc;

	rc = mvm_store_tenant_delete(fs->d.st, k->tenant, e);
	if (rc == -EBUSY)
		mvm_error_set(e, EBUSY, "tenant \"%s\" still has pools; "
		    "remove them first", k->tenant);
	else if (rc == 0)
		mvm_secrets_delete(fs->d.secrets, k->tenant, NULL);
	if (rc < 0)
		return rc;
	return removed(fs, req, k, "tenant.destroy");
}

static int
remove_pool(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	int rc;

	rc = mvm_store_pool_delete(fs->d.st, k->tenant, k->pool, e);
	if (rc == -EBUSY)
		mvm_error_set(e, EBUSY, "pool \"%s\" still has instances; "
		    "remove them first", k->pool);
	if (rc < 0)
		return rc;
	return removed(fs, req, k, "pool.destroy");
}

/* The instance's VM goes first; the worker answers. */
static int
remove_instance(struct mvmfs_fs *fs, fuse_req_t req,
    const struct mvmfs_key *k, struct mvm_error *e)
{
	(void)e;
	return mvmfs_fs_job_queue(fs, k, true, MVM_STATE_DESTROYED, 0, 0, req);
}

const struct mvmfs_fs_listing mvmfs_fs_tenants = {
	MVMFS_TENANT, MVM_NAME_TENANT, "tenant",
	offsetof(struct mvmfs_key, tenant),
	list_tenants, make_tenant, remove_tenant
};

const struct mvmfs_fs_listing mvmfs_fs_pools = {
	MVMFS_POOL, MVM_NAME_POOL, "pool", offsetof(struct mvmfs_key, pool),
	list_pools, make_pool, remove_pool
};

const struct mvmfs_fs_listing mvmfs_fs_instances = {
	MVMFS_INSTANCE, MVM_NAME_INSTANCE, "instance",
	offsetof(struct mvmfs_key, instance),
	list_instances, make_instance, remove_instance
};

void
mvmfs_fs_dir_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
    mode_t mode)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	const struct mvmfs_fs_listing *l;
	struct mvm_error e = { 0 };
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	char action[32];
	int rc;

	(void)mode;
	memset(&t, 0, sizeof(t));
	if ((rc = mvmfs_fs_ino_key(fs, parent, &pk, &t)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((l = mvmfs_fs_kind(pk.kind)->listing) == NULL) {
		rc = mvm_error_set(&e, EPERM,
		    "directories are created only under tenants, pools and "
		    "instances; \"%s\" cannot be made here", name);
		goto fail;
	}
	/* Only root adds tenants; a tenant's owner adds below it. */
	if ((rc = mvmfs_fs_may_write(req, &pk, &t)) < 0) {
		mvm_error_set(&e, EACCES, "uid %u may not create %s \"%s\"",
		    (unsigned)fuse_req_ctx(req)->uid, l->what, name);
		goto fail;
	}
	if ((rc = mvm_names_check(l->names, name, strlen(name), &e)) < 0)
		goto fail;
	if (mvmfs_fs_child_key(fs, &pk, name, &k) == 0) {
		rc = mvm_error_set(&e, EEXIST, "%s \"%s\" exists", l->what,
		    name);
		goto fail;
	}
	if ((rc = l->make(fs, req, &pk, name, &e)) < 0)
		goto fail;
	snprintf(action, sizeof(action), "%s.create", l->what);
	mvmfs_fs_audit(fs, &k, action);
	reply_entry(fs, req, &k);
	return;
fail:
	mvmfs_fs_fail(fs, &pk, "mkdir", rc, &e);
	fuse_reply_err(req, -rc);
}

void
mvmfs_fs_dir_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	const struct mvmfs_fs_listing *l;
	struct mvm_error e = { 0 };
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = mvmfs_fs_ino_key(fs, parent, &pk, &t)) < 0 ||
	    (rc = mvmfs_fs_child_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((l = mvmfs_fs_kind(pk.kind)->listing) == NULL) {
		rc = mvmfs_fs_is_dir(k.kind) ? mvm_error_set(&e, EPERM,
		    "\"%s\" is part of the tree and cannot be removed", name) :
		    -ENOTDIR;
		goto fail;
	}
	if ((rc = mvmfs_fs_may_write(req, &k, &t)) < 0) {
		mvm_error_set(&e, EACCES, "uid %u may not remove \"%s\"",
		    (unsigned)fuse_req_ctx(req)->uid, name);
		goto fail;
	}
	if ((rc = l->remove(fs, req, &k, &e)) < 0)
		goto fail;
	return;
fail:
	mvmfs_fs_fail(fs, &pk, "rmdir", rc, &e);
	fuse_reply_err(req, -rc);
}

static int
dir_stat(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, struct stat *st)
{
	mvmfs_fs_stat_fixed(fs, k, t, 2, st);
	return 0;
}

/*
 * The file operations of a directory, should any reach it, are those of a
 * file with no content that takes no writes.
 */
const struct mvmfs_fs_class mvmfs_fs_dir_class = {
	.entry_timeout = MVMFS_FS_DIR_ENTRY_TIMEOUT,
	.attr_timeout = MVMFS_FS_DIR_ATTR_TIMEOUT,
	.stat = dir_stat,
	.setattr = mvmfs_fs_setattr_fixed,
	.open = mvmfs_fs_open_fixed,
	.read = mvmfs_fs_read_content,
	.write = mvmfs_fs_write_none,
	.poll = mvmfs_fs_poll_content,
};
