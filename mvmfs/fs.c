/*
 * fs.c: the FUSE operations of mvmfs (see fs.h and docs/filesystem.md).
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
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "config.h"
#include "defer.h"
#include "desired.h"
#include "doc.h"
#include "fs.h"
#include "names.h"
#include "node.h"
#include "objects.h"
#include "quota.h"
#include "render.h"
#include "scratch.h"
#include "usage.h"
#include "world.h"

/* Retention applied by the node's `prune-events` command. */
#define PRUNE_KEEP_COUNT	100000
#define PRUNE_KEEP_AGE_MS	(30LL * 24 * 3600 * 1000)
/* The largest node `desired` document the store keeps (meta value). */
#define DESIRED_MAX		MVMFS_DOC_DESIRED_MAX

/*
 * What the kernel may cache, and for how many seconds.
 *
 * Entries. Directories appear and go only through mkdir and rmdir on this
 * mount, which update the kernel's entries, and never move (rename:
 * EPERM). The names of control files under an object directory never
 * change either. The one rename the tree takes moves a scratch file onto
 * a control file: the kernel then moves the scratch file's entry, whose
 * timeout is 0, onto the control file's name, so the next lookup asks
 * again; rename also queues an invalidation of that name. An object the
 * daemon removes by itself (a destroy) has its entry invalidated through
 * mvmfs_fs_object_gone(). Scratch file entries are never cached.
 *
 * Attributes. A directory's attributes are its mode and its tenant's uid
 * and gid; when a tenant config commit changes the uid or gid, the
 * attributes of every node of that tenant the kernel holds are
 * invalidated at once (an attribute-only invalidation takes no lock in the
 * kernel, so it is safe inside a request), and default_permissions sees
 * the new owner on the next check. File attributes are never cached: a
 * view's size follows its content, which changes without a request
 * (states, stats), and stat must report it.
 */
#define DIR_ENTRY_TIMEOUT	10.0
#define DIR_ATTR_TIMEOUT	10.0
#define FILE_ENTRY_TIMEOUT	10.0

struct mvmfs_fs {
	struct mvmfs_fs_deps	 d;
	struct mvmfs_render_src	 src;
	char			 accel_reason[256];	/* src.accel_reason */
	struct mvmfs_nodes	*nodes;
	struct mvmfs_scratches	*scratch;
	pthread_mutex_t		 plock;		/* guards pollers, waiters */
	uint64_t		 changes;	/* events seen, for op_poll */
	struct poller		*pollers;
	struct waiter		*waiters;
	pthread_mutex_t		 olock;		/* guards open_files */
	struct ofile		*open_files;	/* freed at shutdown */
	pthread_mutex_t		 rlock;		/* guards report */
	struct mvm_reconcile_report report;	/* of the last /mvm/desired */
	bool			 have_report;
	struct mvmfs_workers	*workers;	/* transitions */
	struct mvmfs_workers	*notifier;	/* entry invalidations */
	pthread_rwlock_t	 slock;		/* guards se; read to use it */
	struct fuse_session	*se;		/* NULL: nothing to notify */
};

/* An entry invalidation waiting for the notifier thread. */
struct inval {
	struct mvmfs_fs		*fs;
	uint64_t		 parent;
	char			 name[MVM_ID_MAX + 1];
};

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

/* A poll(2) waiting for the next event touching an object. */
struct poller {
	struct poller		*next;
	struct mvmfs_key	 key;
	struct fuse_pollhandle	*ph;
};

/* A blocking read of an events stream waiting for the next event. */
struct waiter {
	struct waiter		*next;
	struct ofile		*of;
	size_t			 size;
	struct mvmfs_slot	 slot;
};

/* What one open file holds. */
struct ofile {
	struct mvmfs_key	 key;
	char			*buf;		/* content rendered at open */
	size_t			 len;
	struct mvmfs_doc	*doc;		/* document being written */
	struct mvmfs_evreader	*ev;		/* events stream */
	bool			 nonblock;
	struct ofile		*prev, *next;	/* in fs->open_files */
};

struct child {
	const char	*name;
	enum mvmfs_kind	 kind;
	bool		 json;
};

static const struct child root_children[] = {
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

static const struct child node_children[] = {
	{ "desired", MVMFS_NODE_EXPORT, false },
	{ "info", MVMFS_NODE_INFO, false },
	{ "info.json", MVMFS_NODE_INFO, true },
	{ "metrics", MVMFS_NODE_METRICS, false },
	{ "stats", MVMFS_NODE_STATS, false },
	{ "stats.json", MVMFS_NODE_STATS, true },
	{ NULL, 0, false }
};

static const struct child tenant_children[] = {
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

static const struct child pool_children[] = {
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

static const struct child instance_children[] = {
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

static const char node_ctl_help[] = "prune-events\n";
static const char tenant_ctl_help[] = "rotate-secrets\n";
static const char pool_ctl_help[] = "retry\n";

/* The fixed children of a directory kind; NULL for a non-directory. */
static const struct child *
children_of(enum mvmfs_kind k)
{
	switch (k) {
	case MVMFS_ROOT:
		return root_children;
	case MVMFS_NODE_DIR:
		return node_children;
	case MVMFS_TENANT:
		return tenant_children;
	case MVMFS_POOL:
		return pool_children;
	case MVMFS_INSTANCE:
		return instance_children;
	default:
		return NULL;
	}
}

static bool
is_dir(enum mvmfs_kind k)
{
	return children_of(k) != NULL || k == MVMFS_TENANTS ||
	    k == MVMFS_POOLS || k == MVMFS_INSTANCES;
}

/* Directories of an object (and the root), where scratch files may live. */
static bool
is_object_dir(enum mvmfs_kind k)
{
	return k == MVMFS_ROOT || k == MVMFS_TENANT || k == MVMFS_POOL ||
	    k == MVMFS_INSTANCE;
}

/* The object kind a listing directory holds, or -1 when it holds none. */
static int
listed_kind(enum mvmfs_kind k)
{
	switch (k) {
	case MVMFS_TENANTS:
		return MVMFS_TENANT;
	case MVMFS_POOLS:
		return MVMFS_POOL;
	case MVMFS_INSTANCES:
		return MVMFS_INSTANCE;
	default:
		return -1;
	}
}

static bool
is_events(enum mvmfs_kind k)
{
	return k == MVMFS_NODE_EVENTS || k == MVMFS_TENANT_EVENTS ||
	    k == MVMFS_POOL_EVENTS || k == MVMFS_INSTANCE_EVENTS;
}

/* Files a write may be opened on. */
static bool
is_writable(enum mvmfs_kind k)
{
	switch (k) {
	case MVMFS_NODE_CTL:
	case MVMFS_NODE_DESIRED:
	case MVMFS_TENANT_CONFIG:
	case MVMFS_TENANT_SECRETS:
	case MVMFS_TENANT_CTL:
	case MVMFS_POOL_CONFIG:
	case MVMFS_POOL_DESIRED:
	case MVMFS_POOL_CTL:
	case MVMFS_INSTANCE_STATE:
		return true;
	default:
		return false;
	}
}

/* The document kind of a document file, or -1 for other files. */
static int
doc_kind(enum mvmfs_kind k)
{
	switch (k) {
	case MVMFS_NODE_DESIRED:
		return MVMFS_DOC_DESIRED;
	case MVMFS_TENANT_CONFIG:
		return MVMFS_DOC_TENANT_CONFIG;
	case MVMFS_TENANT_SECRETS:
		return MVMFS_DOC_SECRETS;
	case MVMFS_POOL_CONFIG:
		return MVMFS_DOC_POOL_CONFIG;
	default:
		return -1;
	}
}

/* The errlog object key of the object a node belongs to. */
static void
object_key(const struct mvmfs_key *k, char *buf, size_t len)
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

/*
 * Record a failure in the err file of the object `k` belongs to and
 * return `rc` (a negative errno).
 */
static int
fail(struct mvmfs_fs *fs, const struct mvmfs_key *k, const char *op, int rc,
    const struct mvm_error *e)
{
	char obj[256];

	object_key(k, obj, sizeof(obj));
	mvmfs_errlog_add(fs->d.errlog, obj, op, -rc,
	    e != NULL && e->code != 0 ? e->msg : strerror(-rc));
	return rc;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Append an audit event for a change made here, and publish it. */
static void
audit(struct mvmfs_fs *fs, const struct mvmfs_key *k, const char *action)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = now_ms();
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", k->tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", k->pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", k->instance);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	if (mvm_store_event_add(fs->d.st, &ev, &ev.seq, NULL) == 0)
		mvmfs_events_publish(fs->d.events, &ev);
}

/*
 * Check that the objects of `k` exist, with one indexed query for the
 * whole tenant/pool/instance chain; copy the tenant into *t (may be NULL)
 * when `k` has one. Returns 0, -ENOENT or the store's errno.
 */
static int
exists(struct mvmfs_fs *fs, const struct mvmfs_key *k, struct mvm_tenant *t)
{
	struct mvm_tenant tt;
	int rc;

	if (k->tenant[0] != '\0' && (rc = mvm_store_object_tenant(fs->d.st,
	    k->tenant, k->pool[0] != '\0' ? k->pool : NULL,
	    k->instance[0] != '\0' ? k->instance : NULL,
	    t != NULL ? t : &tt, NULL)) < 0)
		return rc;
	if (k->kind == MVMFS_SCRATCH) {
		struct stat st;

		if ((rc = mvmfs_scratch_stat(fs->scratch, k->scratch, &st)) < 0)
			return rc;
	}
	return 0;
}

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
 * Have the kernel drop its entry of `name` in directory `parent`. The
 * kernel takes the directory's lock to do it, which a request on that
 * directory may hold while it waits for us, so the notifier thread sends
 * it, and nothing ever waits for that thread.
 */
static void
inval_entry(struct mvmfs_fs *fs, uint64_t parent, const char *name)
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
 * Have the kernel drop the attributes of every node of `tenant` it holds,
 * after its uid or gid changed. Attribute-only invalidation takes no lock
 * in the kernel, so this is safe inside a request.
 */
static void
inval_tenant_attrs(struct mvmfs_fs *fs, const char *tenant)
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
	inval_entry(fs, mvmfs_nodes_peek(fs->nodes, &pk), name);
}

void
mvmfs_fs_attach(struct mvmfs_fs *fs, struct fuse_session *se)
{
	pthread_rwlock_wrlock(&fs->slock);
	fs->se = se;
	pthread_rwlock_unlock(&fs->slock);
}

/*
 * The key of `name` in directory `pk`, from the name alone: whether the
 * objects exist is left to the caller. -ENOENT, -ENOTDIR.
 */
static int
name_key(struct mvmfs_fs *fs, const struct mvmfs_key *pk, const char *name,
    struct mvmfs_key *k)
{
	const struct child *c;
	int lk = listed_kind(pk->kind);

	*k = *pk;
	k->json = false;
	if (lk >= 0) {
		if (mvm_names_check(MVM_NAME_TENANT, name, strlen(name),
		    NULL) < 0)
			return -ENOENT;
		k->kind = lk;
		if (lk == MVMFS_TENANT)
			snprintf(k->tenant, sizeof(k->tenant), "%s", name);
		else if (lk == MVMFS_POOL)
			snprintf(k->pool, sizeof(k->pool), "%s", name);
		else
			snprintf(k->instance, sizeof(k->instance), "%s", name);
		return 0;
	}
	if ((c = children_of(pk->kind)) == NULL)
		return -ENOTDIR;
	for (; c->name != NULL; c++) {
		if (strcmp(c->name, name) == 0) {
			k->kind = c->kind;
			k->json = c->json;
			return 0;
		}
	}
	if (is_object_dir(pk->kind)) {
		char dir[256];

		object_key(pk, dir, sizeof(dir));
		if (mvmfs_scratch_find(fs->scratch, dir, name,
		    &k->scratch) == 0) {
			k->kind = MVMFS_SCRATCH;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * The key of `name` in directory `pk`, which must exist; a listed child
 * (a tenant, pool or instance) must exist too. -ENOENT, -ENOTDIR.
 */
static int
child_key(struct mvmfs_fs *fs, const struct mvmfs_key *pk, const char *name,
    struct mvmfs_key *k)
{
	int rc;

	if ((rc = name_key(fs, pk, name, k)) < 0)
		return rc;
	return listed_kind(pk->kind) >= 0 ? exists(fs, k, NULL) : 0;
}

/* The key of `ino`, whose objects still exist. */
static int
ino_key(struct mvmfs_fs *fs, fuse_ino_t ino, struct mvmfs_key *k,
    struct mvm_tenant *t)
{
	int rc;

	if ((rc = mvmfs_nodes_get(fs->nodes, ino, k)) < 0)
		return rc;
	return exists(fs, k, t);
}

/* The view of a read-only file kind, or -1. */
static int
view_of(enum mvmfs_kind k)
{
	switch (k) {
	case MVMFS_NODE_INFO:
		return MVMFS_VIEW_NODE_INFO;
	case MVMFS_NODE_STATS:
		return MVMFS_VIEW_NODE_STATS;
	case MVMFS_NODE_METRICS:
		return MVMFS_VIEW_NODE_METRICS;
	case MVMFS_TENANT_STATUS:
		return MVMFS_VIEW_TENANT_STATUS;
	case MVMFS_POOL_STATUS:
		return MVMFS_VIEW_POOL_STATUS;
	case MVMFS_INSTANCE_INFO:
		return MVMFS_VIEW_INSTANCE_INFO;
	case MVMFS_INSTANCE_STATS:
		return MVMFS_VIEW_INSTANCE_STATS;
	default:
		return -1;
	}
}

static int
dup_text(const char *s, size_t len, char **out, size_t *outlen)
{
	if ((*out = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(*out, s, len);
	(*out)[len] = '\0';
	*outlen = len;
	return 0;
}

/* The node's desired document, as last committed (empty: never). */
static int
desired_text(struct mvmfs_fs *fs, char **out, size_t *len,
    struct mvm_error *e)
{
	const size_t sizes[] = { 64 * 1024, DESIRED_MAX + 1 };
	size_t i, size;
	char *buf;
	int rc = -ERANGE;

	/* Most documents are small: try small, then the largest there is. */
	for (i = 0; i < 2 && rc == -ERANGE; i++) {
		size = sizes[i];
		if ((buf = malloc(size)) == NULL)
			return -ENOMEM;
		rc = mvm_store_meta_get(fs->d.st, "desired", buf, size, e);
		if (rc >= 0 || rc == -ENOENT) {
			if (rc == -ENOENT)
				buf[0] = '\0';
			*out = buf;
			*len = strlen(buf);
			return 0;
		}
		free(buf);
	}
	return rc;
}

/* /mvm/status: the report of the last /mvm/desired, brought up to date. */
static int
status_text(struct mvmfs_fs *fs, char **out, size_t *len,
    struct mvm_error *e)
{
	struct mvm_reconcile_report empty;
	int rc;

	memset(&empty, 0, sizeof(empty));
	if (fs->d.rec == NULL)
		return dup_text("{}\n", 3, out, len);
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
static int
export_text(struct mvmfs_fs *fs, char **out, size_t *len,
    struct mvm_error *e)
{
	struct mvm_world w = { 0 };
	struct mvm_desired *d = NULL;
	char node_id[MVMFS_NODE_ID_LEN + 1];
	int rc;

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

/*
 * Render the content of file `k` into a new buffer (*out, freed by the
 * caller). Streams have no content. Returns 0 or a negative errno.
 */
static int
content(struct mvmfs_fs *fs, const struct mvmfs_key *k, char **out,
    size_t *len, struct mvm_error *e)
{
	char buf[MVM_CONFIG_TEXT_MAX], obj[256], *big = NULL;
	struct mvm_tenant t;
	struct mvm_pool p;
	struct mvm_instance in;
	int rc, v;

	*out = NULL;
	*len = 0;
	if (k->kind == MVMFS_NODE_STATUS)
		return status_text(fs, out, len, e);
	if (k->kind == MVMFS_NODE_EXPORT)
		return export_text(fs, out, len, e);
	if ((v = view_of(k->kind)) >= 0)
		return mvmfs_render(&fs->src, v, k->tenant, k->pool,
		    k->instance, k->json, out, len, e);
	switch (k->kind) {
	case MVMFS_README:
		return dup_text(mvmfs_readme(), strlen(mvmfs_readme()), out,
		    len);
	case MVMFS_NODE_CTL:
		return dup_text(node_ctl_help, strlen(node_ctl_help), out, len);
	case MVMFS_TENANT_CTL:
		return dup_text(tenant_ctl_help, strlen(tenant_ctl_help), out,
		    len);
	case MVMFS_POOL_CTL:
		return dup_text(pool_ctl_help, strlen(pool_ctl_help), out, len);
	case MVMFS_NODE_ERR:
	case MVMFS_TENANT_ERR:
	case MVMFS_POOL_ERR:
	case MVMFS_INSTANCE_ERR:
		object_key(k, obj, sizeof(obj));
		return mvmfs_errlog_render(fs->d.errlog, obj, out, len);
	case MVMFS_NODE_DESIRED:
		return desired_text(fs, out, len, e);
	case MVMFS_TENANT_CONFIG:
		if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t, e)) < 0)
			return rc;
		if ((rc = mvm_config_tenant_render(&t, buf, sizeof(buf))) < 0)
			return rc;
		return dup_text(buf, rc, out, len);
	case MVMFS_TENANT_SECRETS:
		if ((rc = mvm_secrets_get(fs->d.secrets, k->tenant, &big,
		    len, e)) < 0)
			return rc;
		/* Keep the clear text in one buffer that is zeroed on free. */
		*out = big;
		return 0;
	case MVMFS_POOL_CONFIG:
	case MVMFS_POOL_DESIRED:
		if ((rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
		    e)) < 0)
			return rc;
		rc = k->kind == MVMFS_POOL_CONFIG ?
		    mvm_config_pool_render(&p, buf, sizeof(buf)) :
		    mvm_config_counts_render(&p.desired, buf, sizeof(buf));
		if (rc < 0)
			return rc;
		return dup_text(buf, rc, out, len);
	case MVMFS_INSTANCE_STATE:
		if ((rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
		    k->instance, &in, e)) < 0)
			return rc;
		rc = snprintf(buf, sizeof(buf), "%s\n",
		    mvm_state_name(in.state));
		return dup_text(buf, rc, out, len);
	case MVMFS_INSTANCE_LOG:
		if ((rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
		    k->instance, &in, e)) < 0)
			return rc;
		if ((rc = mvm_engine_instance_dir(fs->d.eng, &in, buf,
		    sizeof(buf))) < 0)
			return rc;
		return mvmfs_render_log(buf, out, len, e);
	default:
		return 0;
	}
}

/* Free a content buffer; secrets are zeroed first. */
static void
content_free(const struct mvmfs_key *k, char *buf, size_t len)
{
	if (buf != NULL && k->kind == MVMFS_TENANT_SECRETS)
		mvm_secrets_free_text(buf, len);
	else
		free(buf);
}

static mode_t
mode_of(const struct mvmfs_key *k)
{
	bool node = k->tenant[0] == '\0';

	if (is_dir(k->kind))
		return S_IFDIR | (node ? 0755 : 0750);
	switch (k->kind) {
	case MVMFS_NODE_CTL:
		return S_IFREG | 0200;
	case MVMFS_NODE_DESIRED:
	case MVMFS_TENANT_SECRETS:
		return S_IFREG | 0600;
	case MVMFS_INSTANCE_STATE:
		return S_IFREG | 0660;
	default:
		if (is_writable(k->kind))
			return S_IFREG | 0640;
		return S_IFREG | (node ? 0444 : 0440);
	}
}

/* Fill *st for `k`, whose objects exist and whose tenant is *t. */
static int
stat_of(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, fuse_ino_t ino, struct stat *st)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_blksize = 4096;
	if (k->kind == MVMFS_SCRATCH) {
		st->st_nlink = 1;
		return mvmfs_scratch_stat(fs->scratch, k->scratch, st);
	}
	st->st_mode = mode_of(k);
	st->st_nlink = is_dir(k->kind) ? 2 : 1;
	if (k->tenant[0] != '\0') {
		st->st_uid = t->uid;
		st->st_gid = t->gid;
	}
	st->st_blksize = 4096;
	if (!is_dir(k->kind) && !is_events(k->kind)) {
		if ((rc = content(fs, k, &buf, &len, NULL)) < 0)
			return rc;
		content_free(k, buf, len);
		st->st_size = len;
	}
	st->st_mtime = st->st_ctime = st->st_atime = time(NULL);
	return 0;
}

/* Take a lookup reference on `k` and answer `req` with its entry. */
static void
reply_entry(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k)
{
	struct fuse_entry_param ep;
	struct mvm_tenant t;
	uint64_t ino;
	int rc;

	memset(&ep, 0, sizeof(ep));
	memset(&t, 0, sizeof(t));
	if ((rc = exists(fs, k, &t)) < 0 ||
	    (rc = mvmfs_nodes_ref(fs->nodes, k, &ino)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((rc = stat_of(fs, k, &t, ino, &ep.attr)) < 0) {
		mvmfs_nodes_forget(fs->nodes, ino, 1);
		fuse_reply_err(req, -rc);
		return;
	}
	ep.ino = ino;
	if (is_dir(k->kind)) {
		ep.entry_timeout = DIR_ENTRY_TIMEOUT;
		ep.attr_timeout = DIR_ATTR_TIMEOUT;
	} else if (k->kind != MVMFS_SCRATCH) {
		ep.entry_timeout = FILE_ENTRY_TIMEOUT;
	}
	if (fuse_reply_entry(req, &ep) != 0)
		mvmfs_nodes_forget(fs->nodes, ino, 1);
}

/*
 * May the caller of `req` change things under `k`? Root may; a tenant's
 * owner may change its tenant's tree. -EACCES otherwise.
 */
static int
may_write(fuse_req_t req, const struct mvmfs_key *k, const struct mvm_tenant *t)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	if (ctx->uid == 0)
		return 0;
	if (k->tenant[0] != '\0' && ctx->uid == t->uid)
		return 0;
	return -EACCES;
}

/* ---- worker threads ---- */

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
			object_key(&j->key, obj, sizeof(obj));
			mvmfs_errlog_forget(fs->d.errlog, obj);
			mvmfs_fs_object_gone(fs, j->key.tenant, j->key.pool,
			    j->key.instance);
		}
	} else {
		rc = mvm_engine_transition(fs->d.eng, j->key.tenant,
		    j->key.pool, j->key.instance, j->to, j->flags, &e);
	}
	if (rc < 0)
		fail(fs, &j->key, j->destroy ? "rmdir" : "write", rc, &e);
	job_answer(j, rc);
	mvmfs_slot_destroy(&j->slot);
	free(j);
}

/*
 * Queue a job. With `req` the job answers it when done (a Ctrl-C answers
 * EINTR at once) and this returns 0 even when it failed, having answered;
 * without, the caller answers, and a negative errno means nothing was
 * queued.
 */
static int
job_queue(struct mvmfs_fs *fs, const struct mvmfs_key *k, bool destroy,
    enum mvm_state to, unsigned flags, size_t size, fuse_req_t req)
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

/*
 * Answer a read of `size` bytes at `off` from buf[0..len). The bytes are
 * copied first: the buffer belongs to the open file, which a release on
 * another thread may free as soon as the kernel has the reply.
 */
static void
reply_slice(fuse_req_t req, const char *buf, size_t len, off_t off,
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
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
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
	if ((rc = ino_key(fs, ino, &k, &t)) < 0 ||
	    (rc = stat_of(fs, &k, &t, ino, &st)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_attr(req, &st, is_dir(k.kind) ? DIR_ATTR_TIMEOUT : 0);
}

/*
 * A scratch file takes any mode, times and size; its owner may give it
 * only to itself (root to anyone), as chown(2) allows on other file
 * systems.
 */
static int
setattr_scratch(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *k,
    const struct stat *attr, int to_set, const struct stat *cur)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct timespec now, at, mt;
	mode_t mode = attr->st_mode;
	uid_t uid = attr->st_uid;
	gid_t gid = attr->st_gid;
	int rc;

	if (ctx->uid != 0) {
		if ((to_set & FUSE_SET_ATTR_UID) && uid != cur->st_uid)
			return -EPERM;
		if ((to_set & FUSE_SET_ATTR_GID) && gid != cur->st_gid &&
		    gid != ctx->gid)
			return -EPERM;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && (rc = mvmfs_scratch_truncate(
	    fs->scratch, k->scratch, attr->st_size)) < 0)
		return rc;
	clock_gettime(CLOCK_REALTIME, &now);
	at = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim;
	mt = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim;
	return mvmfs_scratch_setattr(fs->scratch, k->scratch,
	    (to_set & FUSE_SET_ATTR_MODE) ? &mode : NULL,
	    (to_set & FUSE_SET_ATTR_UID) ? &uid : NULL,
	    (to_set & FUSE_SET_ATTR_GID) ? &gid : NULL,
	    (to_set & FUSE_SET_ATTR_ATIME) ? &at : NULL,
	    (to_set & FUSE_SET_ATTR_MTIME) ? &mt : NULL);
}

/*
 * Truncation is never an action, and ownership and modes follow the
 * contract: setattr succeeds only when it changes nothing real (size 0,
 * the same owner and mode, any times), so tools that copy attributes work.
 */
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
	if ((rc = ino_key(fs, ino, &k, &t)) < 0 ||
	    (rc = stat_of(fs, &k, &t, ino, &st)) < 0)
		goto fail;
	if (k.kind == MVMFS_SCRATCH) {
		if ((rc = setattr_scratch(fs, req, &k, attr, to_set,
		    &st)) < 0 ||
		    (rc = stat_of(fs, &k, &t, ino, &st)) < 0)
			goto fail;
		fuse_reply_attr(req, &st, 0);
		return;
	}
	rc = -EPERM;
	if ((to_set & FUSE_SET_ATTR_SIZE) &&
	    (attr->st_size != 0 || !is_writable(k.kind)))
		goto fail;
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (st.st_mode & 07777))
		goto fail;
	if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != st.st_uid)
		goto fail;
	if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != st.st_gid)
		goto fail;
	fuse_reply_attr(req, &st, 0);
	return;
fail:
	fuse_reply_err(req, -rc);
}

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

struct idlist {
	char	(*ids)[MVM_ID_MAX + 1];
	size_t	 n, cap;
};

static int
idlist_add(struct idlist *l, const char *id)
{
	void *np;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		if ((np = realloc(l->ids, l->cap * sizeof(*l->ids))) == NULL)
			return -ENOMEM;
		l->ids = np;
	}
	snprintf(l->ids[l->n++], sizeof(*l->ids), "%s", id);
	return 0;
}

static int
list_tenant(const struct mvm_tenant *t, void *arg)
{
	return idlist_add(arg, t->id);
}

static int
list_pool(const struct mvm_pool *p, void *arg)
{
	return idlist_add(arg, p->id);
}

static int
list_instance(const struct mvm_instance *in, void *arg)
{
	return idlist_add(arg, in->id);
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

static void
op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct dirbuf *b = NULL;
	struct idlist ids = { 0 };
	struct mvmfs_key k, ck;
	const struct child *c;
	size_t i;
	int rc;

	if ((rc = ino_key(fs, ino, &k, NULL)) < 0)
		goto fail;
	rc = -ENOTDIR;
	if (!is_dir(k.kind))
		goto fail;
	rc = -ENOMEM;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto fail;
	if ((rc = dirbuf_add(req, b, ".", ino, S_IFDIR)) < 0 ||
	    (rc = dirbuf_add(req, b, "..", 0, S_IFDIR)) < 0)
		goto fail;
	for (c = children_of(k.kind); c != NULL && c->name != NULL; c++) {
		ck = k;
		ck.kind = c->kind;
		ck.json = c->json;
		if ((rc = dirbuf_add(req, b, c->name,
		    mvmfs_nodes_peek(fs->nodes, &ck), mode_of(&ck))) < 0)
			goto fail;
	}
	if (k.kind == MVMFS_TENANTS)
		rc = mvm_store_tenant_list(fs->d.st, list_tenant, &ids, NULL);
	else if (k.kind == MVMFS_POOLS)
		rc = mvm_store_pool_list(fs->d.st, k.tenant, list_pool, &ids,
		    NULL);
	else if (k.kind == MVMFS_INSTANCES)
		rc = mvm_store_instance_list(fs->d.st, k.tenant, k.pool,
		    list_instance, &ids, NULL);
	if (rc < 0)
		goto fail;
	for (i = 0; i < ids.n; i++) {
		if ((rc = child_key(fs, &k, ids.ids[i], &ck)) == -ENOENT)
			continue;	/* removed meanwhile */
		if (rc < 0 || (rc = dirbuf_add(req, b, ids.ids[i],
		    mvmfs_nodes_peek(fs->nodes, &ck), S_IFDIR)) < 0)
			goto fail;
	}
	if (is_object_dir(k.kind)) {
		struct scratch_walk w = { req, b, fs, &k };
		char dir[256];

		object_key(&k, dir, sizeof(dir));
		if ((rc = mvmfs_scratch_list(fs->scratch, dir, list_scratch,
		    &w)) < 0)
			goto fail;
	}
	free(ids.ids);
	fi->fh = (uintptr_t)b;
	fuse_reply_open(req, fi);
	return;
fail:
	free(ids.ids);
	if (b != NULL)
		free(b->p);
	free(b);
	fuse_reply_err(req, -rc);
}

static void
op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	reply_slice(req, b->p, b->len, off, size);
}

static void
op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dirbuf *b = (struct dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	free(b->p);
	free(b);
	fuse_reply_err(req, 0);
}

static void
ofile_free(struct ofile *of)
{
	if (of == NULL)
		return;
	content_free(&of->key, of->buf, of->len);
	mvmfs_doc_free(of->doc);
	mvmfs_evreader_close(of->ev);
	free(of);
}

/* A fresh document for `of`, checked against the object as it is now. */
static int
ofile_new_doc(struct mvmfs_fs *fs, struct ofile *of)
{
	struct mvm_tenant t;
	struct mvm_pool p;
	int rc, dk = doc_kind(of->key.kind);

	mvmfs_doc_free(of->doc);
	of->doc = NULL;
	if (dk == MVMFS_DOC_TENANT_CONFIG &&
	    (rc = mvm_store_tenant_get(fs->d.st, of->key.tenant, &t, NULL)) < 0)
		return rc;
	if (dk == MVMFS_DOC_POOL_CONFIG && (rc = mvm_store_pool_get(fs->d.st,
	    of->key.tenant, of->key.pool, &p, NULL)) < 0)
		return rc;
	if ((of->doc = mvmfs_doc_new(dk, &t, &p)) == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * Hand `of` to the kernel as the open file of `fi` (a reply to open or
 * create). The filesystem keeps a list of open files so the ones still
 * open at unmount are freed.
 */
static void
ofile_track(struct mvmfs_fs *fs, struct ofile *of)
{
	pthread_mutex_lock(&fs->olock);
	of->next = fs->open_files;
	if (of->next != NULL)
		of->next->prev = of;
	fs->open_files = of;
	pthread_mutex_unlock(&fs->olock);
}

static void
ofile_untrack(struct mvmfs_fs *fs, struct ofile *of)
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

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct ofile *of = NULL;
	struct mvm_tenant t;
	struct mvm_error e = { 0 };
	int acc = fi->flags & O_ACCMODE, rc;

	memset(&t, 0, sizeof(t));
	rc = -ENOMEM;
	if ((of = calloc(1, sizeof(*of))) == NULL)
		goto fail;
	if ((rc = ino_key(fs, ino, &of->key, &t)) < 0)
		goto fail;
	of->nonblock = (fi->flags & O_NONBLOCK) != 0;
	if (of->key.kind == MVMFS_SCRATCH) {
		/* The kernel checked the mode; bytes are read in place. */
		if ((fi->flags & O_TRUNC) && acc != O_RDONLY &&
		    (rc = mvmfs_scratch_truncate(fs->scratch, of->key.scratch,
		    0)) < 0)
			goto fail;
		fi->direct_io = 1;
		fi->fh = (uintptr_t)of;
		ofile_track(fs, of);
		if (fuse_reply_open(req, fi) != 0) {
			ofile_untrack(fs, of);
			ofile_free(of);
		}
		return;
	}
	if (acc != O_RDONLY) {
		rc = -EACCES;
		if (!is_writable(of->key.kind) ||
		    (rc = may_write(req, &of->key, &t)) < 0)
			goto fail;
		if (doc_kind(of->key.kind) >= 0 &&
		    (rc = ofile_new_doc(fs, of)) < 0)
			goto fail;
	}
	if (is_events(of->key.kind)) {
		if ((rc = mvmfs_evreader_open(fs->d.events,
		    of->key.tenant[0] ? of->key.tenant : NULL,
		    of->key.pool[0] ? of->key.pool : NULL,
		    of->key.instance[0] ? of->key.instance : NULL, &of->ev,
		    &e)) < 0) {
			fail(fs, &of->key, "open", rc, &e);
			goto fail;
		}
		fi->nonseekable = 1;
	} else if (acc != O_WRONLY &&
	    (rc = content(fs, &of->key, &of->buf, &of->len, &e)) < 0) {
		fail(fs, &of->key, "open", rc, &e);
		goto fail;
	}
	fi->direct_io = 1;
	/* Only a document commits on close; spare the others a FLUSH. */
	fi->noflush = of->doc == NULL;
	fi->fh = (uintptr_t)of;
	ofile_track(fs, of);
	if (fuse_reply_open(req, fi) != 0) {
		ofile_untrack(fs, of);
		ofile_free(of);
	}
	return;
fail:
	ofile_free(of);
	fuse_reply_err(req, -rc);
}

/*
 * Read the next lines of an events stream into a reply. Returns 0 when
 * `req` was answered, or -EAGAIN when nothing is new (not answered).
 */
static int
events_reply(fuse_req_t req, struct ofile *of, size_t size)
{
	char *buf;
	ssize_t n;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return 0;
	}
	n = mvmfs_evreader_read(of->ev, buf, size, NULL);
	if (n >= 0)
		fuse_reply_buf(req, buf, n);
	else if (n != -EAGAIN)
		fuse_reply_err(req, (int)-n);
	free(buf);
	return n == -EAGAIN ? -EAGAIN : 0;
}

static void
waiter_free(struct waiter *w)
{
	mvmfs_slot_destroy(&w->slot);
	free(w);
}

/*
 * Answer the blocked reads that can read now, and drop those a signal
 * answered. Called with fs->plock held, which keeps every waiter's open
 * file alive (release drops its waiters under the same lock).
 */
static void
waiters_run(struct mvmfs_fs *fs)
{
	struct waiter **pp, *w;
	bool done;

	for (pp = &fs->waiters; (w = *pp) != NULL;) {
		done = mvmfs_slot_answered(&w->slot);
		if (!done && mvmfs_evreader_ready(w->of->ev)) {
			if (mvmfs_slot_claim(&w->slot) &&
			    events_reply(w->slot.req, w->of, w->size) == -EAGAIN)
				fuse_reply_buf(w->slot.req, NULL, 0);
			done = true;
		}
		if (done) {
			*pp = w->next;
			waiter_free(w);
		} else {
			pp = &w->next;
		}
	}
}

/* Forget the blocked reads of `of`, which is being released. */
static void
waiters_drop(struct mvmfs_fs *fs, struct ofile *of)
{
	struct waiter **pp, *w;

	pthread_mutex_lock(&fs->plock);
	for (pp = &fs->waiters; (w = *pp) != NULL;) {
		if (w->of == of) {
			*pp = w->next;
			if (mvmfs_slot_claim(&w->slot))
				fuse_reply_err(w->slot.req, EBADF);
			waiter_free(w);
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&fs->plock);
}

/*
 * Park a blocking read until an event arrives for its stream (on_change
 * answers it), or a signal interrupts it (EINTR).
 */
static void
events_wait(struct mvmfs_fs *fs, fuse_req_t req, struct ofile *of,
    size_t size)
{
	struct waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->of = of;
	w->size = size;
	mvmfs_slot_init(&w->slot, req);
	pthread_mutex_lock(&fs->plock);
	w->next = fs->waiters;
	fs->waiters = w;
	/* An event may have come since the read found nothing. */
	waiters_run(fs);
	pthread_mutex_unlock(&fs->plock);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;

	(void)ino;
	if (of->key.kind == MVMFS_SCRATCH) {
		struct mvmfs_fs *fs = fuse_req_userdata(req);
		char *buf;
		ssize_t n;

		n = mvmfs_scratch_read(fs->scratch, of->key.scratch, size, off,
		    &buf);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, n);
		free(buf);
		return;
	}
	if (of->ev != NULL) {
		if (events_reply(req, of, size) == 0)
			return;
		if (of->nonblock || (fi->flags & O_NONBLOCK))
			fuse_reply_err(req, EAGAIN);
		else
			events_wait(fuse_req_userdata(req), req, of, size);
		return;
	}
	reply_slice(req, of->buf, of->len, off, size);
}

/*
 * Parse a write to `state`: one line `<target>[ force]`, with or without
 * its newline.
 */
static int
parse_state(const char *buf, size_t size, enum mvm_state *to, unsigned *flags,
    struct mvm_error *e)
{
	const char *p = buf, *end = buf + size, *w;
	size_t wl;

	*flags = 0;
	if (size > 0 && end[-1] == '\n')
		end--;
	if (memchr(buf, '\n', end - buf) != NULL)
		return mvm_error_set(e, EINVAL,
		    "state accepts one target per write, got several lines");
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
		;
	if (mvm_state_parse(w, p - w, to) < 0 || *to == MVM_STATE_DESTROYED)
		return mvm_error_set(e, EINVAL,
		    "\"%.*s\" is not a target state; write running, warm, "
		    "sleeping or stopped, optionally followed by \" force\" "
		    "(rmdir the instance to destroy it)", (int)(p - w), w);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
		;
	wl = p - w;
	if (wl == 5 && memcmp(w, "force", 5) == 0)
		*flags |= MVM_ENGINE_FORCE;
	else if (wl != 0)
		return mvm_error_set(e, EINVAL,
		    "\"%.*s\" after the target state is not understood; only "
		    "\"force\" is", (int)wl, w);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return mvm_error_set(e, EINVAL,
		    "state takes a target and at most \"force\"");
	return 0;
}

/*
 * Validate, check quotas and queue a transition. The engine checks quotas
 * again, atomically with recording the intent (that check is the one that
 * counts); this early one only lets an O_NONBLOCK writer, whose write is
 * answered before the transition runs, still get EDQUOT from write(2).
 */
static int
write_state(struct mvmfs_fs *fs, fuse_req_t req, struct ofile *of,
    const char *buf, size_t size, struct mvm_error *e)
{
	const struct mvmfs_key *k = &of->key;
	struct mvm_instance in;
	struct mvm_tenant t;
	struct mvm_pool p;
	struct mvm_usage u;
	struct mvm_quota_delta d;
	enum mvm_state to;
	unsigned flags;
	int rc;

	if ((rc = parse_state(buf, size, &to, &flags, e)) < 0)
		return rc;
	if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t, e)) < 0 ||
	    (rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
	    e)) < 0 ||
	    (rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
	    k->instance, &in, e)) < 0)
		return rc;
	if ((rc = mvm_usage_tenant(fs->d.st, k->tenant, k->pool, &u, e)) < 0)
		return rc;
	mvm_quota_delta_transition(&d, &p, in.state, to);
	if ((rc = mvm_quota_check(&t.quota, &u, &d, NULL, e)) < 0)
		return rc;
	if (of->nonblock) {
		if ((rc = job_queue(fs, k, false, to, flags, size, NULL)) < 0)
			return rc;
		fuse_reply_write(req, size);
		return 0;
	}
	return job_queue(fs, k, false, to, flags, size, req);
}

/* Ask the reconciler for a pass over a pool (NULL: the tenant's). */
static void
kick(struct mvmfs_fs *fs, const char *tenant, const char *pool)
{
	if (fs->d.rec != NULL)
		mvm_reconcile_kick(fs->d.rec, tenant, pool);
}

/* Instance ids collected from a store listing. */
struct ids {
	char	(*v)[MVM_ID_MAX + 1];
	size_t	 n, cap;
};

static int
collect_id(const struct mvm_instance *in, void *arg)
{
	struct ids *ids = arg;
	void *nv;

	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 16;
		if ((nv = realloc(ids->v, ids->cap * sizeof(*ids->v))) == NULL)
			return -ENOMEM;
		ids->v = nv;
	}
	memcpy(ids->v[ids->n++], in->id, sizeof(*ids->v));
	return 0;
}

static int
write_pool_desired(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const char *buf, size_t size, struct mvm_error *e)
{
	struct mvm_pool p;
	int rc, tries;

	for (tries = 0; tries < 5; tries++) {
		if ((rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
		    e)) < 0)
			return rc;
		if ((rc = mvm_config_counts_parse(buf, size, &p.desired,
		    e)) < 0)
			return rc;
		p.managed = true;
		if ((rc = mvm_store_pool_update(fs->d.st, &p, e)) != -ESTALE)
			break;
	}
	if (rc == 0) {
		audit(fs, k, "pool.desired");
		kick(fs, k->tenant, k->pool);
	}
	return rc;
}

/*
 * The pool's `retry`: forget the failures of its instances, so that those
 * the planner left failed out are started again, and pass the pool.
 */
static int
pool_retry(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	struct ids ids = { 0 };
	struct mvm_instance in;
	size_t i;
	int rc, tries;

	if ((rc = mvm_store_instance_list(fs->d.st, k->tenant, k->pool,
	    collect_id, &ids, e)) < 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		for (tries = 0; tries < 5; tries++) {
			if ((rc = mvm_store_instance_get(fs->d.st, k->tenant,
			    k->pool, ids.v[i], &in, e)) < 0 ||
			    in.failures == 0)
				break;
			in.failures = 0;
			in.last_failure_at = 0;
			if ((rc = mvm_store_instance_update(fs->d.st, &in,
			    e)) != -ESTALE)
				break;
		}
		if (rc < 0 && rc != -ENOENT)
			goto out;
	}
	rc = 0;
	audit(fs, k, "pool.retry");
	kick(fs, k->tenant, k->pool);
out:
	free(ids.v);
	return rc;
}

/* The ctl command of `k` that line[0..len) names, or NULL. */
static const char *
ctl_command(const struct mvmfs_key *k, const char *line, size_t len)
{
	const char *cmd = k->kind == MVMFS_NODE_CTL ? "prune-events" :
	    k->kind == MVMFS_TENANT_CTL ? "rotate-secrets" : "retry";

	if (cmd != NULL && len == strlen(cmd) && memcmp(line, cmd, len) == 0)
		return cmd;
	return NULL;
}

/*
 * Commands to a ctl file: one per line, the last newline optional. Every
 * line is checked before the first is run, so a bad one runs none.
 */
static int
write_ctl(struct mvmfs_fs *fs, const struct mvmfs_key *k, const char *buf,
    size_t size, struct mvm_error *e)
{
	const char *p, *end = buf + size, *nl;
	size_t len;
	int rc = 0;
	bool run;

	for (run = false; ; run = true) {
		for (p = buf; p < end && rc >= 0; p = nl < end ? nl + 1 : end) {
			if ((nl = memchr(p, '\n', end - p)) == NULL)
				nl = end;
			len = nl - p;
			if (ctl_command(k, p, len) == NULL)
				return mvm_error_set(e, EINVAL,
				    "\"%.*s\" is not a command; %s",
				    (int)(len > 64 ? 64 : len), p,
				    k->kind == MVMFS_NODE_CTL ?
				    "the node accepts prune-events" :
				    k->kind == MVMFS_TENANT_CTL ?
				    "a tenant accepts rotate-secrets" :
				    "a pool accepts retry");
			if (!run)
				continue;
			if (k->kind == MVMFS_NODE_CTL)
				rc = mvm_store_events_prune(fs->d.st,
				    PRUNE_KEEP_COUNT, PRUNE_KEEP_AGE_MS,
				    now_ms(), e);
			else if (k->kind == MVMFS_TENANT_CTL)
				rc = mvm_secrets_rotate(fs->d.secrets,
				    k->tenant, e);
			else
				rc = pool_retry(fs, k, e);
		}
		if (run || rc < 0)
			break;
	}
	return rc < 0 ? rc : 0;
}

static void
op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	struct mvm_error e = { 0 };
	ssize_t n;
	int rc;

	(void)ino;
	if (of->key.kind == MVMFS_SCRATCH) {
		n = mvmfs_scratch_write(fs->scratch, of->key.scratch, buf, size,
		    off);
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, n);
		return;
	}
	if (of->doc != NULL) {
		if ((n = mvmfs_doc_write(of->doc, buf, size, off, &e)) < 0) {
			rc = (int)n;
			goto fail;
		}
		fuse_reply_write(req, size);
		return;
	}
	if (size == 0) {
		/* An empty write carries no command. */
		fuse_reply_write(req, 0);
		return;
	}
	switch (of->key.kind) {
	case MVMFS_INSTANCE_STATE:
		if ((rc = write_state(fs, req, of, buf, size, &e)) < 0)
			goto fail;
		return;		/* answered by write_state or its job */
	case MVMFS_POOL_DESIRED:
		rc = write_pool_desired(fs, &of->key, buf, size, &e);
		break;
	case MVMFS_NODE_CTL:
	case MVMFS_TENANT_CTL:
	case MVMFS_POOL_CTL:
		rc = write_ctl(fs, &of->key, buf, size, &e);
		break;
	default:
		rc = -EBADF;
		break;
	}
	if (rc < 0)
		goto fail;
	fuse_reply_write(req, size);
	return;
fail:
	fail(fs, &of->key, "write", rc, &e);
	fuse_reply_err(req, -rc);
}

/*
 * Validate the fleet document text[0..len), keep its exact bytes, and have
 * the reconciler apply it. Nothing is kept or changed when it does not
 * validate (EINVAL, with the JSON path in e). Tenants the document
 * creates are owned by root: only root may write /mvm/desired (0600).
 */
static int
apply_desired(struct mvmfs_fs *fs, const char *text, size_t len,
    struct mvm_error *e)
{
	struct mvm_reconcile_report rep;
	struct mvm_desired *d = NULL;
	char *copy = NULL;
	int rc;

	memset(&rep, 0, sizeof(rep));
	if ((rc = mvm_desired_parse(text, len, &d, e)) < 0)
		return rc;
	if ((copy = strndup(text, len)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mvm_store_meta_set(fs->d.st, "desired", copy, e)) < 0)
		goto out;
	if (fs->d.rec == NULL)
		goto out;
	if ((rc = mvm_reconcile_apply(fs->d.rec, d, 0, 0, 0, &rep, e)) < 0)
		goto out;
	pthread_mutex_lock(&fs->rlock);
	mvm_reconcile_report_free(&fs->report);
	fs->report = rep;
	fs->have_report = true;
	pthread_mutex_unlock(&fs->rlock);
	memset(&rep, 0, sizeof(rep));
out:
	mvm_reconcile_report_free(&rep);
	mvm_desired_free(d);
	free(copy);
	return rc;
}

/* Apply the document `doc` to the file `k`. */
static int
commit(struct mvmfs_fs *fs, const struct mvmfs_key *k, struct mvmfs_doc *doc,
    struct mvm_error *e)
{
	struct mvm_tenant t;
	struct mvm_pool p;
	const char *text;
	size_t len;
	uint32_t uid = 0, gid = 0;
	int rc, tries;

	switch (k->kind) {
	case MVMFS_TENANT_CONFIG:
		for (tries = 0; tries < 5; tries++) {
			if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t,
			    e)) < 0)
				return rc;
			uid = t.uid;
			gid = t.gid;
			if ((rc = mvmfs_doc_commit_tenant(doc, &t, e)) < 0)
				return rc;
			if ((rc = mvm_store_tenant_update(fs->d.st, &t,
			    e)) != -ESTALE)
				break;
		}
		/* The kernel caches directory owners; see the top. */
		if (rc == 0 && (t.uid != uid || t.gid != gid))
			inval_tenant_attrs(fs, k->tenant);
		/* New quotas may let deferred steps go. */
		if (rc == 0)
			kick(fs, k->tenant, NULL);
		break;
	case MVMFS_POOL_CONFIG:
		for (tries = 0; tries < 5; tries++) {
			if ((rc = mvm_store_pool_get(fs->d.st, k->tenant,
			    k->pool, &p, e)) < 0 ||
			    (rc = mvmfs_doc_commit_pool(doc, &p, e)) < 0)
				return rc;
			if ((rc = mvm_store_pool_update(fs->d.st, &p,
			    e)) != -ESTALE)
				break;
		}
		if (rc == 0)
			kick(fs, k->tenant, k->pool);
		break;
	case MVMFS_TENANT_SECRETS:
		if ((rc = mvmfs_doc_text(doc, &text, &len, e)) < 0)
			return rc;
		/* The secrets module writes its own event. */
		rc = mvm_secrets_set(fs->d.secrets, k->tenant, text, len, e);
		return rc < 0 ? rc : 0;
	case MVMFS_NODE_DESIRED:
		if ((rc = mvmfs_doc_text(doc, &text, &len, e)) < 0)
			return rc;
		if ((rc = apply_desired(fs, text, len, e)) < 0)
			return rc;
		break;
	default:
		return -EINVAL;
	}
	if (rc == 0)
		audit(fs, k, k->kind == MVMFS_NODE_DESIRED ? "node.desired" :
		    k->kind == MVMFS_TENANT_CONFIG ? "tenant.config" :
		    "pool.config");
	return rc;
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	struct mvm_error e = { 0 };
	int rc = 0;

	(void)ino;
	if (of->doc == NULL || !mvmfs_doc_dirty(of->doc))
		goto out;
	rc = commit(fs, &of->key, of->doc, &e);
	if (rc < 0)
		fail(fs, &of->key, "commit", rc, &e);
	/* A second close of a dup'ed descriptor commits nothing again. */
	if (ofile_new_doc(fs, of) < 0) {
		mvmfs_doc_free(of->doc);
		of->doc = NULL;
	}
out:
	fuse_reply_err(req, -rc);
}

static void
op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;

	(void)ino;
	waiters_drop(fs, of);
	ofile_untrack(fs, of);
	ofile_free(of);
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

static int
mkdir_tenant(struct mvmfs_fs *fs, fuse_req_t req, const char *name,
    struct mvm_error *e)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct mvm_tenant t;
	int rc;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", name);
	t.uid = ctx->uid;
	t.gid = ctx->gid;
	if ((rc = mvm_objects_free_net_id(fs->d.st, &t.net_id, e)) < 0)
		return rc;
	return mvm_objects_tenant_create(fs->d.st, &t, e);
}

static int
mkdir_pool(struct mvmfs_fs *fs, const struct mvmfs_key *pk, const char *name,
    struct mvm_error *e)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", pk->tenant);
	snprintf(p.id, sizeof(p.id), "%s", name);
	return mvm_objects_pool_create(fs->d.st, &p, e);
}

static int
mkdir_instance(struct mvmfs_fs *fs, const struct mvmfs_key *pk,
    const char *name, struct mvm_error *e)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", pk->tenant);
	snprintf(in.pool, sizeof(in.pool), "%s", pk->pool);
	snprintf(in.id, sizeof(in.id), "%s", name);
	in.state = MVM_STATE_CREATED;
	return mvm_objects_instance_create(fs->d.st, &in, e);
}

static void
op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	static const enum mvm_name_kind nk[] = {
		[MVMFS_TENANT] = MVM_NAME_TENANT,
		[MVMFS_POOL] = MVM_NAME_POOL,
		[MVMFS_INSTANCE] = MVM_NAME_INSTANCE,
	};
	static const char *what[] = {
		[MVMFS_TENANT] = "tenant",
		[MVMFS_POOL] = "pool",
		[MVMFS_INSTANCE] = "instance",
	};
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvm_error e = { 0 };
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	char action[32];
	int rc, lk;

	(void)mode;
	memset(&t, 0, sizeof(t));
	if ((rc = ino_key(fs, parent, &pk, &t)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if ((lk = listed_kind(pk.kind)) < 0) {
		rc = mvm_error_set(&e, EPERM,
		    "directories are created only under tenants, pools and "
		    "instances; \"%s\" cannot be made here", name);
		goto fail;
	}
	/* Only root adds tenants; a tenant's owner adds below it. */
	if ((rc = may_write(req, &pk, &t)) < 0) {
		mvm_error_set(&e, EACCES, "uid %u may not create %s \"%s\"",
		    (unsigned)fuse_req_ctx(req)->uid, what[lk], name);
		goto fail;
	}
	if ((rc = mvm_names_check(nk[lk], name, strlen(name), &e)) < 0)
		goto fail;
	if (child_key(fs, &pk, name, &k) == 0) {
		rc = mvm_error_set(&e, EEXIST, "%s \"%s\" exists", what[lk],
		    name);
		goto fail;
	}
	if (lk == MVMFS_TENANT)
		rc = mkdir_tenant(fs, req, name, &e);
	else if (lk == MVMFS_POOL)
		rc = mkdir_pool(fs, &pk, name, &e);
	else
		rc = mkdir_instance(fs, &pk, name, &e);
	if (rc < 0)
		goto fail;
	snprintf(action, sizeof(action), "%s.create", what[lk]);
	audit(fs, &k, action);
	reply_entry(fs, req, &k);
	return;
fail:
	fail(fs, &pk, "mkdir", rc, &e);
	fuse_reply_err(req, -rc);
}

static void
op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvm_error e = { 0 };
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	char obj[256];
	int rc;

	memset(&t, 0, sizeof(t));
	if ((rc = ino_key(fs, parent, &pk, &t)) < 0 ||
	    (rc = child_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (listed_kind(pk.kind) < 0) {
		rc = is_dir(k.kind) ? mvm_error_set(&e, EPERM,
		    "\"%s\" is part of the tree and cannot be removed", name) :
		    -ENOTDIR;
		goto fail;
	}
	if ((rc = may_write(req, &k, &t)) < 0) {
		mvm_error_set(&e, EACCES, "uid %u may not remove \"%s\"",
		    (unsigned)fuse_req_ctx(req)->uid, name);
		goto fail;
	}
	switch (k.kind) {
	case MVMFS_TENANT:
		rc = mvm_store_tenant_delete(fs->d.st, k.tenant, &e);
		if (rc == -EBUSY)
			mvm_error_set(&e, EBUSY, "tenant \"%s\" still has "
			    "pools; remove them first", k.tenant);
		else if (rc == 0)
			mvm_secrets_delete(fs->d.secrets, k.tenant, NULL);
		break;
	case MVMFS_POOL:
		rc = mvm_store_pool_delete(fs->d.st, k.tenant, k.pool, &e);
		if (rc == -EBUSY)
			mvm_error_set(&e, EBUSY, "pool \"%s\" still has "
			    "instances; remove them first", k.pool);
		break;
	default:
		/* The instance's VM goes first; the worker answers. */
		if ((rc = job_queue(fs, &k, true, MVM_STATE_DESTROYED, 0, 0,
		    req)) < 0)
			goto fail;
		return;
	}
	if (rc < 0)
		goto fail;
	object_key(&k, obj, sizeof(obj));
	mvmfs_errlog_forget(fs->d.errlog, obj);
	audit(fs, &k, k.kind == MVMFS_TENANT ? "tenant.destroy" :
	    "pool.destroy");
	fuse_reply_err(req, 0);
	return;
fail:
	fail(fs, &pk, "rmdir", rc, &e);
	fuse_reply_err(req, -rc);
}

static void
op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct mvmfs_key pk, k;
	int rc;

	if ((rc = ino_key(fs, parent, &pk, NULL)) < 0 ||
	    (rc = child_key(fs, &pk, name, &k)) < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	if (k.kind == MVMFS_SCRATCH) {
		char dir[256];

		object_key(&pk, dir, sizeof(dir));
		rc = mvmfs_scratch_unlink(fs->scratch, dir, name);
		fuse_reply_err(req, -rc);
		return;
	}
	fuse_reply_err(req, is_dir(k.kind) ? EISDIR : EPERM);
}

/*
 * Commit scratch file `src` onto control file `dst`, as closing a write
 * of the same bytes would: the commit point of sed -i and of
 * configuration-management tools.
 */
static int
rename_commit(struct mvmfs_fs *fs, fuse_req_t req, const struct mvmfs_key *src,
    const struct mvmfs_key *dst, struct mvm_error *e)
{
	struct ofile of;
	struct mvm_tenant t;
	char *data = NULL;
	ssize_t n;
	int rc;

	memset(&of, 0, sizeof(of));
	memset(&t, 0, sizeof(t));
	of.key = *dst;
	if ((rc = exists(fs, dst, &t)) < 0 ||
	    (rc = may_write(req, dst, &t)) < 0)
		return rc;
	if ((n = mvmfs_scratch_read(fs->scratch, src->scratch,
	    MVMFS_SCRATCH_MAX_BYTES, 0, &data)) < 0)
		return (int)n;
	if (dst->kind == MVMFS_POOL_DESIRED) {
		rc = write_pool_desired(fs, dst, data != NULL ? data : "", n,
		    e);
		goto out;
	}
	if (doc_kind(dst->kind) < 0) {
		rc = mvm_error_set(e, EPERM, "only config, secrets, desired "
		    "and a pool's desired take a file renamed onto them");
		goto out;
	}
	if ((rc = ofile_new_doc(fs, &of)) < 0)
		goto out;
	if (n == 0)
		rc = mvm_error_set(e, EINVAL, "an empty file was renamed onto "
		    "a document; an empty commit is never applied");
	else if ((n = mvmfs_doc_write(of.doc, data, n, 0, e)) < 0)
		rc = (int)n;
	else
		rc = commit(fs, dst, of.doc, e);
	mvmfs_doc_free(of.doc);
out:
	if (data != NULL)
		explicit_bzero(data, n > 0 ? (size_t)n : 0);
	free(data);
	return rc;
}

static void
op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
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
	if ((rc = ino_key(fs, parent, &pk, NULL)) < 0 ||
	    (rc = child_key(fs, &pk, name, &k)) < 0) {
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
	rc = child_key(fs, &pk, newname, &dk);
	if (rc == 0 && (flags & RENAME_NOREPLACE)) {
		fuse_reply_err(req, EEXIST);
		return;
	}
	object_key(&pk, dir, sizeof(dir));
	if (rc < 0 || dk.kind == MVMFS_SCRATCH) {
		rc = mvmfs_scratch_rename(fs->scratch, dir, name, newname);
		fuse_reply_err(req, -rc);
		return;
	}
	if (is_dir(dk.kind)) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((rc = rename_commit(fs, req, &k, &dk, &e)) < 0) {
		fail(fs, &dk, "rename", rc, &e);
		fuse_reply_err(req, -rc);
		return;
	}
	mvmfs_scratch_unlink(fs->scratch, dir, name);
	fuse_reply_err(req, 0);
	/* The kernel moved the scratch entry onto the control file's name. */
	inval_entry(fs, parent, newname);
}

static void
op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param ep;
	struct mvmfs_key pk, k;
	struct mvm_tenant t;
	struct ofile *of = NULL;
	char dir[256];
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&ep, 0, sizeof(ep));
	if ((rc = ino_key(fs, parent, &pk, &t)) < 0)
		goto fail;
	if (child_key(fs, &pk, name, &k) == 0) {
		rc = -EEXIST;
		goto fail;
	}
	rc = -EPERM;
	if (!is_object_dir(pk.kind) || (rc = may_write(req, &pk, &t)) < 0)
		goto fail;
	object_key(&pk, dir, sizeof(dir));
	k = pk;
	k.kind = MVMFS_SCRATCH;
	if ((rc = mvmfs_scratch_create(fs->scratch, dir, name, ctx->uid,
	    ctx->gid, mode & ~ctx->umask, &k.scratch)) < 0)
		goto fail;
	rc = -ENOMEM;
	if ((of = calloc(1, sizeof(*of))) == NULL)
		goto undo;
	of->key = k;
	if ((rc = mvmfs_nodes_ref(fs->nodes, &k, &ep.ino)) < 0)
		goto undo;
	if ((rc = stat_of(fs, &k, &t, ep.ino, &ep.attr)) < 0) {
		mvmfs_nodes_forget(fs->nodes, ep.ino, 1);
		goto undo;
	}
	fi->direct_io = 1;
	fi->fh = (uintptr_t)of;
	ofile_track(fs, of);
	if (fuse_reply_create(req, &ep, fi) != 0) {
		mvmfs_nodes_forget(fs->nodes, ep.ino, 1);
		ofile_untrack(fs, of);
		ofile_free(of);
	}
	return;
undo:
	ofile_free(of);
	mvmfs_scratch_unlink(fs->scratch, dir, name);
fail:
	fuse_reply_err(req, -rc);
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

/* Does event `ev` touch the object of `k` (or one below it)? */
static bool
event_touches(const struct mvm_event *ev, const struct mvmfs_key *k)
{
	return (k->tenant[0] == '\0' || strcmp(ev->tenant, k->tenant) == 0) &&
	    (k->pool[0] == '\0' || strcmp(ev->pool, k->pool) == 0) &&
	    (k->instance[0] == '\0' || strcmp(ev->instance, k->instance) == 0);
}

/* Every published event: wake the polls of the objects it touches. */
static void
on_change(void *arg, const struct mvm_event *ev)
{
	struct mvmfs_fs *fs = arg;
	struct poller **pp, *p, *woken = NULL;

	pthread_mutex_lock(&fs->plock);
	fs->changes++;
	waiters_run(fs);
	for (pp = &fs->pollers; (p = *pp) != NULL;) {
		if (event_touches(ev, &p->key)) {
			*pp = p->next;
			p->next = woken;
			woken = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&fs->plock);
	while ((p = woken) != NULL) {
		woken = p->next;
		fuse_lowlevel_notify_poll(p->ph);
		fuse_pollhandle_destroy(p->ph);
		free(p);
	}
}

/*
 * Streams are readable when a line is waiting; state and the views when
 * their content differs from what this descriptor rendered at open (so a
 * watcher polls, wakes, and opens the file again). Otherwise the poll
 * handle waits for the next event touching the object.
 */
/* Whether the open file `of` has something new for poll(2) to report. */
static unsigned
poll_ready(struct mvmfs_fs *fs, const struct ofile *of)
{
	unsigned revents = 0;
	char *now = NULL;
	size_t len = 0;

	if (of->ev != NULL) {
		if (mvmfs_evreader_ready(of->ev))
			revents = POLLIN;
	} else if (of->key.kind == MVMFS_SCRATCH || of->doc != NULL) {
		revents = POLLIN | POLLOUT;
	} else if (content(fs, &of->key, &now, &len, NULL) < 0) {
		revents = POLLERR;
	} else {
		if (len != of->len ||
		    (len > 0 && memcmp(now, of->buf, len) != 0))
			revents = POLLIN | POLLPRI;
		content_free(&of->key, now, len);
	}
	return revents;
}

static void
op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
    struct fuse_pollhandle *ph)
{
	struct mvmfs_fs *fs = fuse_req_userdata(req);
	struct ofile *of = (struct ofile *)(uintptr_t)fi->fh;
	struct poller *p = NULL;
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
		if ((revents = poll_ready(fs, of)) != 0 || p == NULL)
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

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mkdir = op_mkdir,
	.mknod = op_mknod,
	.rmdir = op_rmdir,
	.unlink = op_unlink,
	.rename = op_rename,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
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
	mvmfs_events_subscribe_changes(fs->d.events, on_change, fs);
	*out = fs;
	return 0;
}

void
mvmfs_fs_free(struct mvmfs_fs *fs)
{
	struct poller *p;
	struct waiter *w;
	struct ofile *of;

	if (fs == NULL)
		return;
	if (fs->d.events != NULL)
		mvmfs_events_subscribe_changes(fs->d.events, NULL, NULL);
	/* Transitions in progress finish; their answers go nowhere. */
	mvmfs_workers_free(fs->workers);
	mvmfs_workers_free(fs->notifier);
	while ((w = fs->waiters) != NULL) {
		fs->waiters = w->next;
		waiter_free(w);
	}
	/* Files the kernel never released (the mount went away). */
	while ((of = fs->open_files) != NULL) {
		fs->open_files = of->next;
		ofile_free(of);
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
