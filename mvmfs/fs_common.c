/*
 * fs_common.c: what the file classes of mvmfs share (see fs_int.h):
 * errors, audit events, existence and access, the kernel's cache, the
 * worker jobs, open files, and the behaviour of files read from their
 * content.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "fs_int.h"
#include "scratch.h"

void
mvmfs_fs_object_key(const struct mvmfs_key *k, char *buf, size_t len)
{
	if (k->instance[0] != '\0')
		snprintf(buf, len, "i/%s/%s/%s", k->tenant, k->pool,
		    k->instance);
	else if (k->pool[0] != '\0')
		snprintf(buf, len, "p/%s/%s", k->tenant, k->pool);
	else if (k->tenant[0] != '\0')
		snprintf(buf, len, "t/%s", k->tenant);
	else
		buf[0] = '\0';
}

int
mvmfs_fs_fail(struct mvmfs_fs *fs, const struct mvmfs_key *k, const char *op,
    int rc, const struct mvm_error *e)
{
	char obj[256];

	mvmfs_fs_object_key(k, obj, sizeof(obj));
	mvmfs_errlog_add(fs->d.errlog, obj, op, -rc,
	    e != NULL && e->code != 0 ? e->msg : strerror(-rc));
	return rc;
}

int64_t
mvmfs_fs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
mvmfs_fs_audit(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const char *action)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = mvmfs_fs_now_ms();
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", k->tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", k->pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", k->instance);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	if (mvm_store_event_add(fs->d.st, &ev, &ev.seq, NULL) == 0)
		mvmfs_events_publish(fs->d.events, &ev);
}

void
mvmfs_fs_kick(struct mvmfs_fs *fs, const char *tenant, const char *pool)
{
	if (fs->d.rec != NULL)
		mvm_reconcile_kick(fs->d.rec, tenant, pool);
}

int
mvmfs_fs_exists(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvm_tenant *t)
{
	const struct mvmfs_fs_class *c = mvmfs_fs_kind(k->kind)->cls;
	struct mvm_tenant tt;
	int rc;

	if (k->tenant[0] != '\0' && (rc = mvm_store_object_tenant(fs->d.st,
	    k->tenant, k->pool[0] != '\0' ? k->pool : NULL,
	    k->instance[0] != '\0' ? k->instance : NULL,
	    t != NULL ? t : &tt, NULL)) < 0)
		return rc;
	if (c->exists != NULL && (rc = c->exists(fs, k)) < 0)
		return rc;
	return 0;
}

int
mvmfs_fs_ino_key(struct mvmfs_fs *fs, fuse_ino_t ino, struct mvmfs_key *k,
    struct mvm_tenant *t)
{
	int rc;

	if ((rc = mvmfs_nodes_get(fs->nodes, ino, k)) < 0)
		return rc;
	return mvmfs_fs_exists(fs, k, t);
}

/* The most groups a caller's group list is searched through. */
#define CALLER_GROUPS_MAX	65536

bool
mvmfs_fs_is_operator(struct mvmfs_fs *fs, fuse_req_t req)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t small[64], *list = small;
	bool yes = false;
	int n, i;

	if (ctx->uid == 0)
		return true;
	if (!fs->d.admin_group)
		return false;
	if (ctx->gid == fs->d.admin_gid)
		return true;
	/*
	 * The kernel sends no groups: libfuse reads them from /proc, and
	 * returns how many there are (more than it stored when they do not
	 * fit). A failure, or no memory for a long list, refuses.
	 */
	n = fuse_req_getgroups(req, 64, small);
	if (n > 64) {
		list = n <= CALLER_GROUPS_MAX ? malloc(n * sizeof(*list)) :
		    NULL;
		if (list == NULL || fuse_req_getgroups(req, n, list) != n)
			n = 0;
	}
	for (i = 0; i < n && !yes; i++)
		yes = list[i] == fs->d.admin_gid;
	if (list != small)
		free(list);
	return yes;
}

int
mvmfs_fs_may_write(fuse_req_t req, const struct mvmfs_key *k,
    const struct mvm_tenant *t)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (ctx->uid == 0)
		return 0;
	if (k->tenant[0] != '\0' && ctx->uid == t->uid)
		return 0;
	return -EACCES;
}

int
mvmfs_fs_dup_text(const char *s, size_t len, char **out, size_t *outlen)
{
	if ((*out = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	*outlen = len;
	return 0;
}

int
mvmfs_fs_dup_rendered(const char *buf, int rc, char **out, size_t *outlen)
{
	if (rc < 0)
		return rc;
	return mvmfs_fs_dup_text(buf, rc, out, outlen);
}

int
mvmfs_fs_pool_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool counts, char **out, size_t *len, struct mvm_error *e)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_pool p;
	int rc;

	if ((rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
	    e)) < 0)
		return rc;
	rc = counts ? mvm_config_counts_render(&p.desired, buf, sizeof(buf)) :
	    mvm_config_pool_render(&p, buf, sizeof(buf));
	return mvmfs_fs_dup_rendered(buf, rc, out, len);
}

int
mvmfs_fs_ids_add(struct mvmfs_fs_ids *ids, const char *id)
{
	void *nv;

	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 16;
		if ((nv = realloc(ids->v, ids->cap * sizeof(*ids->v))) == NULL)
			return -ENOMEM;
		ids->v = nv;
	}
	snprintf(ids->v[ids->n++], sizeof(*ids->v), "%s", id);
	return 0;
}

/* ---- the kernel's cache ---- */

/* An entry invalidation waiting for the notifier thread. */
struct inval {
	struct mvmfs_fs		*fs;
	uint64_t		 parent;
	char			 name[MVM_ID_MAX + 1];
};

/* The notifier thread sends one entry invalidation. */
static void
inval_run(void *arg)
{
	struct inval *iv = arg;
	struct mvmfs_fs *fs = iv->fs;

	/*
	 * -ENOENT only means the kernel had forgotten the name already.
	 * Users of the session share its lock, so a request that holds a
	 * directory this waits for never waits for this thread.
	 */
	pthread_rwlock_rdlock(&fs->slock);
	if (fs->se != NULL)
		(void)fuse_lowlevel_notify_inval_entry(fs->se, iv->parent,
		    iv->name, strlen(iv->name));
	pthread_rwlock_unlock(&fs->slock);
	free(iv);
}

/*
 * The kernel takes the directory's lock to drop an entry, which a request
 * on that directory may hold while it waits for us, so the notifier
 * thread sends it, and nothing ever waits for that thread.
 */
void
mvmfs_fs_inval_entry(struct mvmfs_fs *fs, uint64_t parent, const char *name)
{
	struct inval *iv;

	if ((iv = calloc(1, sizeof(*iv))) == NULL)
		return;		/* the entry's timeout lapses instead */
	iv->fs = fs;
	iv->parent = parent;
	snprintf(iv->name, sizeof(iv->name), "%s", name);
	if (mvmfs_workers_queue(fs->notifier, inval_run, iv) < 0)
		free(iv);
}

static void
inval_attr(uint64_t ino, void *arg)
{
	struct fuse_session *se = arg;

	(void)fuse_lowlevel_notify_inval_inode(se, ino, -1, 0);
}

/*
 * Attribute-only invalidation takes no lock in the kernel, so this is
 * safe inside a request.
 */
void
mvmfs_fs_inval_tenant_attrs(struct mvmfs_fs *fs, const char *tenant)
{
	pthread_rwlock_rdlock(&fs->slock);
	if (fs->se != NULL)
		mvmfs_nodes_each_of_tenant(fs->nodes, tenant, inval_attr,
		    fs->se);
	pthread_rwlock_unlock(&fs->slock);
}

void
mvmfs_fs_object_gone(struct mvmfs_fs *fs, const char *tenant,
    const char *pool, const char *instance)
{
	struct mvmfs_key pk;
	const char *name;

	memset(&pk, 0, sizeof(pk));
	if (instance != NULL) {
		pk.kind = MVMFS_INSTANCES;
		snprintf(pk.tenant, sizeof(pk.tenant), "%s", tenant);
		snprintf(pk.pool, sizeof(pk.pool), "%s", pool);
		name = instance;
	} else if (pool != NULL) {
		pk.kind = MVMFS_POOLS;
		snprintf(pk.tenant, sizeof(pk.tenant), "%s", tenant);
		name = pool;
	} else {
		pk.kind = MVMFS_TENANTS;
		name = tenant;
	}
	mvmfs_fs_inval_entry(fs, mvmfs_nodes_peek(fs->nodes, &pk), name);
}

void
mvmfs_fs_attach(struct mvmfs_fs *fs, struct fuse_session *se)
{
	pthread_rwlock_wrlock(&fs->slock);
	fs->se = se;
	pthread_rwlock_unlock(&fs->slock);
}

/* ---- worker threads ---- */

/* A transition or a destruction waiting for, or on, a worker thread. */
struct job {
	struct mvmfs_fs		*fs;
	bool			 destroy;	/* else a transition to `to` */
	struct mvmfs_key	 key;		/* the instance */
	enum mvm_state		 to;
	unsigned		 flags;
	size_t			 size;		/* bytes to acknowledge */
	struct mvmfs_slot	 slot;		/* req NULL: answered at once */
};

/* Answer the job's request with `rc`, unless an interrupt did already. */
static void
job_answer(struct job *j, int rc)
{
	if (!mvmfs_slot_claim(&j->slot))
		return;
	if (rc < 0)
		fuse_reply_err(j->slot.req, -rc);
	else if (j->destroy)
		fuse_reply_err(j->slot.req, 0);
	else
		fuse_reply_write(j->slot.req, j->size);
}

/* A worker thread runs a job: the engine call, its error, the answer. */
static void
job_run(void *arg)
{
	struct job *j = arg;
	struct mvmfs_fs *fs = j->fs;
	struct mvm_error e = { 0 };
	char obj[256];
	int rc;

	if (j->destroy) {
		rc = mvm_engine_destroy(fs->d.eng, j->key.tenant, j->key.pool,
		    j->key.instance, &e);
		if (rc == 0) {
			mvmfs_fs_object_key(&j->key, obj, sizeof(obj));
			mvmfs_errlog_forget(fs->d.errlog, obj);
			mvmfs_fs_object_gone(fs, j->key.tenant, j->key.pool,
			    j->key.instance);
		}
	} else {
		rc = mvm_engine_transition(fs->d.eng, j->key.tenant,
		    j->key.pool, j->key.instance, j->to, j->flags, &e);
	}
	if (rc < 0)
		mvmfs_fs_fail(fs, &j->key, j->destroy ? "rmdir" : "write", rc,
		    &e);
	job_answer(j, rc);
	mvmfs_slot_destroy(&j->slot);
	free(j);
}

int
mvmfs_fs_job_queue(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool destroy, enum mvm_state to, unsigned flags, size_t size,
    fuse_req_t req)
{
	struct job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -ENOMEM;
	j->fs = fs;
	j->key = *k;
	j->destroy = destroy;
	j->to = to;
	j->flags = flags;
	j->size = size;
	mvmfs_slot_init(&j->slot, req);
	if (mvmfs_workers_queue(fs->workers, job_run, j) == 0)
		return 0;
	if (mvmfs_slot_claim(&j->slot))
		fuse_reply_err(req, ENOMEM);
	mvmfs_slot_destroy(&j->slot);
	free(j);
	return req != NULL ? 0 : -ENOMEM;
}

/* ---- open files ---- */

void
mvmfs_fs_reply_slice(fuse_req_t req, const char *buf, size_t len, off_t off,
    size_t size)
{
	char *copy;

	if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > len - off)
		size = len - off;
	if ((copy = malloc(size)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(copy, buf + off, size);
	fuse_reply_buf(req, copy, size);
	explicit_bzero(copy, size);	/* it may hold secrets */
	free(copy);
}

/*
 * The filesystem keeps a list of open files so the ones still open at
 * unmount are freed.
 */
void
mvmfs_fs_ofile_track(struct mvmfs_fs *fs, struct mvmfs_ofile *of)
{
	pthread_mutex_lock(&fs->olock);
	of->next = fs->open_files;
	if (of->next != NULL)
		of->next->prev = of;
	fs->open_files = of;
	pthread_mutex_unlock(&fs->olock);
}

void
mvmfs_fs_ofile_untrack(struct mvmfs_fs *fs, struct mvmfs_ofile *of)
{
	pthread_mutex_lock(&fs->olock);
	if (of->prev != NULL)
		of->prev->next = of->next;
	else
		fs->open_files = of->next;
	if (of->next != NULL)
		of->next->prev = of->prev;
	pthread_mutex_unlock(&fs->olock);
}

struct mvmfs_ofile *
mvmfs_fs_ofile_new(void)
{
	struct mvmfs_ofile *of;

	if ((of = calloc(1, sizeof(*of))) == NULL)
		return NULL;
	pthread_mutex_init(&of->lock, NULL);
	return of;
}

void
mvmfs_fs_ofile_free(struct mvmfs_ofile *of)
{
	if (of == NULL)
		return;
	mvmfs_fs_content_free(&of->key, of->buf, of->len);
	mvmfs_doc_free(of->doc);
	mvmfs_evreader_close(of->ev);
	pthread_mutex_destroy(&of->lock);
	free(of);
}

/* ---- files read from their content ---- */

void
mvmfs_fs_stat_fixed(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, nlink_t nlink, struct stat *st)
{
	st->st_mode = mvmfs_fs_kind(k->kind)->mode;
	st->st_nlink = nlink;
	if (k->tenant[0] != '\0') {
		st->st_uid = t->uid;
		st->st_gid = t->gid;
	} else if (mvmfs_fs_kind(k->kind)->operator_only &&
	    fs->d.admin_group) {
		st->st_gid = fs->d.admin_gid;
	}
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
}

int
mvmfs_fs_stat_sized(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, struct stat *st)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if ((rc = mvmfs_fs_content(fs, k, &buf, &len, NULL)) < 0)
		return rc;
	mvmfs_fs_content_free(k, buf, len);
	st->st_size = len;
	mvmfs_fs_stat_fixed(fs, k, t, 1, st);
	return 0;
}

int
mvmfs_fs_setattr_fixed(struct mvmfs_fs *fs, fuse_req_t req,
    const struct mvmfs_key *k, const struct mvm_tenant *t, fuse_ino_t ino,
    const struct stat *attr, int to_set, struct stat *st)
{
	(void)fs;
	(void)req;
	(void)t;
	(void)ino;
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    (attr->st_size != 0 || !mvmfs_fs_kind(k->kind)->writable))
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (st->st_mode & 07777))
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st->st_uid)
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st->st_gid)
		return -EPERM;
	return 0;
}

int
mvmfs_fs_open_access(struct mvmfs_fs *fs, fuse_req_t req,
    const struct mvmfs_ofile *of, const struct fuse_file_info *fi,
    const struct mvm_tenant *t)
{
	if (mvmfs_fs_kind(of->key.kind)->operator_only &&
	    !mvmfs_fs_is_operator(fs, req))
		return -EACCES;
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		return 0;
	if (!mvmfs_fs_kind(of->key.kind)->writable)
		return -EACCES;
	return mvmfs_fs_may_write(req, &of->key, t);
}

int
mvmfs_fs_open_render(struct mvmfs_fs *fs, struct mvmfs_ofile *of,
    struct fuse_file_info *fi)
{
	struct mvm_error e = { 0 };
	int rc;

	if ((fi->flags & O_ACCMODE) != O_WRONLY &&
	    (rc = mvmfs_fs_content(fs, &of->key, &of->buf, &of->len,
	    &e)) < 0)
		return mvmfs_fs_fail(fs, &of->key, "open", rc, &e);
	/* Only a document commits on close; spare the others a FLUSH. */
	fi->noflush = of->doc == NULL;
	return 0;
}

int
mvmfs_fs_open_fixed(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, struct fuse_file_info *fi,
    const struct mvm_tenant *t)
{
	int rc;

	if ((rc = mvmfs_fs_open_access(fs, req, of, fi, t)) < 0)
		return rc;
	return mvmfs_fs_open_render(fs, of, fi);
}

void
mvmfs_fs_read_content(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)fs;
	(void)fi;
	mvmfs_fs_reply_slice(req, of->buf, of->len, off, size);
}

void
mvmfs_fs_write_none(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, const char *buf, size_t size, off_t off)
{
	(void)buf;
	(void)off;
	if (size == 0) {
		/* An empty write carries no command. */
		fuse_reply_write(req, 0);
		return;
	}
	mvmfs_fs_fail(fs, &of->key, "write", -EBADF, NULL);
	fuse_reply_err(req, EBADF);
}

unsigned
mvmfs_fs_poll_content(struct mvmfs_fs *fs, const struct mvmfs_ofile *of)
{
	unsigned revents = 0;
	char *now = NULL;
	size_t len = 0;

	if (mvmfs_fs_content(fs, &of->key, &now, &len, NULL) < 0)
		return POLLERR;
	if (len != of->len || (len > 0 && memcmp(now, of->buf, len) != 0))
		revents = POLLIN | POLLPRI;
	mvmfs_fs_content_free(&of->key, now, len);
	return revents;
}
