/*
 * fs_int.h: private to the mvmfs filesystem, shared by fs.c and the files
 * of its classes (fs_*.c); nothing else includes it.
 *
 * Every kind of node (node.h) belongs to one file class, which says how
 * its files behave:
 *   fs_dir.c      directories: the root, node, tenants, pools, instances
 *                 and the object directories (lookup, listing, mkdir,
 *                 rmdir);
 *   fs_view.c     views: read-only files rendered at open;
 *   fs_value.c    value files (state, a pool's desired, ctl): each write
 *                 is one command;
 *   fs_doc.c      documents (config, secrets, /mvm/desired): buffered,
 *                 committed at close and on rename;
 *   fs_events.c   events streams: blocking reads, and what an event wakes;
 *   fs_scratch.c  scratch files: create, unlink, rename (onto a control
 *                 file: a commit).
 * fs.c holds the one table that gives each kind its class and the facts
 * that differ between kinds of one class (mode, writability, what renders
 * its content, ...), and the FUSE operations, which find a node's class
 * there and call through. fs_common.c has what the classes share.
 *
 * Threads: every function may be called from any FUSE or worker thread;
 * the locks of struct mvmfs_fs say what they guard.
 */
#ifndef MVMFS_FS_INT_H
#define MVMFS_FS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "defer.h"
#include "doc.h"
#include "fs.h"
#include "node.h"
#include "render.h"

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
#define MVMFS_FS_DIR_ENTRY_TIMEOUT	10.0
#define MVMFS_FS_DIR_ATTR_TIMEOUT	10.0
#define MVMFS_FS_FILE_ENTRY_TIMEOUT	10.0

struct mvmfs_ofile;

/* A poll(2) waiting for the next event touching an object. */
struct mvmfs_poller {
	struct mvmfs_poller	*next;
	struct mvmfs_key	 key;
	struct fuse_pollhandle	*ph;
};

/* A blocking read of an events stream waiting for the next event. */
struct mvmfs_waiter {
	struct mvmfs_waiter	*next;
	struct mvmfs_ofile	*of;
	size_t			 size;
	struct mvmfs_slot	 slot;
};

struct mvmfs_fs {
	struct mvmfs_fs_deps	 d;
	struct mvmfs_render_src	 src;
	char			 accel_reason[256];	/* src.accel_reason */
	struct mvmfs_nodes	*nodes;
	struct mvmfs_scratches	*scratch;
	pthread_mutex_t		 plock;		/* guards pollers, waiters */
	uint64_t		 changes;	/* events seen, for poll */
	struct mvmfs_poller	*pollers;
	struct mvmfs_waiter	*waiters;
	pthread_mutex_t		 olock;		/* guards open_files */
	struct mvmfs_ofile	*open_files;	/* freed at shutdown */
	pthread_mutex_t		 rlock;		/* guards report */
	struct mvm_reconcile_report report;	/* of the last /mvm/desired */
	bool			 have_report;
	struct mvmfs_workers	*workers;	/* transitions */
	struct mvmfs_workers	*notifier;	/* entry invalidations */
	pthread_rwlock_t	 slock;		/* guards se; read to use it */
	struct fuse_session	*se;		/* NULL: nothing to notify */
};

/*
 * What one open file holds. Descriptors that share one open (dup, fork)
 * share it, and their writes, flushes and polls may run at once on
 * several FUSE threads: `lock` guards `doc`, and is held by the class's
 * write, flush and poll for as long as they use it. A holder never waits
 * for a transition (value files' writes, whose answers may be deferred,
 * touch only what is fixed at open). The rest is set at open and only
 * read until the release, which the kernel sends after the last request
 * on the open.
 */
struct mvmfs_ofile {
	struct mvmfs_key	 key;
	char			*buf;		/* content rendered at open */
	size_t			 len;
	pthread_mutex_t		 lock;		/* guards doc */
	struct mvmfs_doc	*doc;		/* document being written */
	struct mvmfs_evreader	*ev;		/* events stream */
	bool			 nonblock;
	bool			 operator;	/* written by an operator */
	struct mvmfs_ofile	*prev, *next;	/* in fs->open_files */
};

/*
 * How the files of one class behave. Every entry is set, except where its
 * comment says NULL is allowed. `k`'s objects exist when an entry is
 * called (the caller checked), and *t is their tenant (zeroed for the
 * node's files).
 */
struct mvmfs_fs_class {
	double	entry_timeout;		/* seconds the kernel keeps an entry */
	double	attr_timeout;		/* and the attributes */
	/*
	 * Whether the file itself exists, beyond its objects: 0 or -ENOENT.
	 * NULL: it exists as long as they do.
	 */
	int	(*exists)(struct mvmfs_fs *fs, const struct mvmfs_key *k);
	/*
	 * Fill *st, zeroed but for st_ino and st_blksize. Returns 0 or a
	 * negative errno.
	 */
	int	(*stat)(struct mvmfs_fs *fs, const struct mvmfs_key *k,
		    const struct mvm_tenant *t, struct stat *st);
	/*
	 * Apply the `to_set` fields of *attr to file `ino`, whose attributes
	 * now are *st; on success *st holds the new ones. Returns 0 or a
	 * negative errno (then nothing was changed).
	 */
	int	(*setattr)(struct mvmfs_fs *fs, fuse_req_t req,
		    const struct mvmfs_key *k, const struct mvm_tenant *t,
		    fuse_ino_t ino, const struct stat *attr, int to_set,
		    struct stat *st);
	/*
	 * Prepare the open file `of` (its key and nonblock set) and `fi`
	 * for the open `req` asks. Returns 0, or a negative errno (what
	 * `of` holds then is freed by the caller, who answers).
	 */
	int	(*open)(struct mvmfs_fs *fs, fuse_req_t req,
		    struct mvmfs_ofile *of, struct fuse_file_info *fi,
		    const struct mvm_tenant *t);
	/* Answer a read of `size` bytes at `off`, now or later. */
	void	(*read)(struct mvmfs_fs *fs, fuse_req_t req,
		    struct mvmfs_ofile *of, size_t size, off_t off,
		    struct fuse_file_info *fi);
	/* Answer a write, now or later. */
	void	(*write)(struct mvmfs_fs *fs, fuse_req_t req,
		    struct mvmfs_ofile *of, const char *buf, size_t size,
		    off_t off);
	/*
	 * Commit what the open file holds (a close of a descriptor).
	 * Returns 0 or a negative errno (recorded). NULL: nothing to commit.
	 */
	int	(*flush)(struct mvmfs_fs *fs, struct mvmfs_ofile *of);
	/*
	 * What poll(2) may report now (0: nothing yet, wait for the next
	 * event touching the object).
	 */
	unsigned (*poll)(struct mvmfs_fs *fs, const struct mvmfs_ofile *of);
};

extern const struct mvmfs_fs_class mvmfs_fs_dir_class;
extern const struct mvmfs_fs_class mvmfs_fs_view_class;
extern const struct mvmfs_fs_class mvmfs_fs_value_class;
extern const struct mvmfs_fs_class mvmfs_fs_doc_class;
extern const struct mvmfs_fs_class mvmfs_fs_events_class;
extern const struct mvmfs_fs_class mvmfs_fs_scratch_class;

/* A fixed entry of a directory. */
struct mvmfs_fs_child {
	const char	*name;
	enum mvmfs_kind	 kind;
	bool		 json;		/* the `<name>.json` form of a view */
};

/* What a listing directory holds (fs_dir.c); opaque elsewhere. */
struct mvmfs_fs_listing;
extern const struct mvmfs_fs_listing mvmfs_fs_tenants;
extern const struct mvmfs_fs_listing mvmfs_fs_pools;
extern const struct mvmfs_fs_listing mvmfs_fs_instances;

/* The commands of a ctl file (fs_value.c); opaque elsewhere. */
struct mvmfs_fs_ctl;
extern const struct mvmfs_fs_ctl mvmfs_fs_node_ctl;
extern const struct mvmfs_fs_ctl mvmfs_fs_tenant_ctl;
extern const struct mvmfs_fs_ctl mvmfs_fs_pool_ctl;

/*
 * Render the content of file `k` into *out (malloc'd, *len bytes, freed
 * with mvmfs_fs_content_free; *out and *len are NULL and 0 on entry).
 * Returns 0 or a negative errno (the sentence in e, which may be NULL).
 */
typedef int mvmfs_fs_content_fn(struct mvmfs_fs *fs,
    const struct mvmfs_key *k, char **out, size_t *len, struct mvm_error *e);

/*
 * Run the command of a write of buf[0..size) (size > 0) to value file
 * `of`. Returns 0 when it is done (the caller answers the write of `size`
 * bytes), MVMFS_FS_ANSWERED once `req` is answered (or handed to a worker
 * that answers it), or a negative errno, `req` unanswered.
 */
#define MVMFS_FS_ANSWERED	1
typedef int mvmfs_fs_command_fn(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, const char *buf, size_t size,
    struct mvm_error *e);

/*
 * Take the bytes text[0..len) of a scratch file renamed onto file `k`, by
 * a caller who is an operator or not (mvmfs_fs_is_operator). Returns 0 or
 * a negative errno.
 */
typedef int mvmfs_fs_take_fn(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, const char *text, size_t len, struct mvm_error *e);

/*
 * Apply the document `doc` to file `k`, for a caller who is an operator
 * or not (what a tenant's config refuses the others: fs_doc.c). Returns 0
 * or a negative errno.
 */
typedef int mvmfs_fs_commit_fn(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, struct mvmfs_doc *doc, struct mvm_error *e);

/* The facts of one kind of node: the table of fs.c has one per kind. */
struct mvmfs_fs_kind {
	const struct mvmfs_fs_class	*cls;
	mode_t				 mode;	/* type and permission bits */
	bool				 writable; /* may be opened to write */
	bool				 secret; /* content zeroed on free */
	/*
	 * Read by the operators only: its mode's group is the admin group,
	 * and open checks the caller too.
	 */
	bool				 operator_only;
	/* Directories; NULL, false: none. */
	const struct mvmfs_fs_child	*children;	/* fixed entries */
	const struct mvmfs_fs_listing	*listing;	/* objects listed */
	bool				 object_dir; /* holds scratch files */
	/* Files; NULL: none. */
	mvmfs_fs_content_fn		*content;
	mvmfs_fs_take_fn		*take;		/* rename onto it */
	enum mvmfs_view			 view;		/* a rendered view */
	mvmfs_fs_command_fn		*command;	/* value files */
	const struct mvmfs_fs_ctl	*ctl;		/* ctl files */
	enum mvmfs_doc_kind		 doc;		/* documents */
	mvmfs_fs_commit_fn		*commit;	/* documents */
};

/* ---- fs.c: the table and what reads it ---- */

/* The facts of kind `k`. */
const struct mvmfs_fs_kind *mvmfs_fs_kind(enum mvmfs_kind k);

/* True for the kinds of the directory class. */
bool	mvmfs_fs_is_dir(enum mvmfs_kind k);

/*
 * The content of file `k` (see mvmfs_fs_content_fn; kinds without one
 * have none: *out NULL, *len 0, returns 0).
 */
int	mvmfs_fs_content(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    char **out, size_t *len, struct mvm_error *e);

/* Free a content buffer of `k` (may be NULL); secrets are zeroed first. */
void	mvmfs_fs_content_free(const struct mvmfs_key *k, char *buf,
	    size_t len);

/*
 * Fill *st for node `ino` of `k`, whose objects exist and whose tenant is
 * *t. Returns 0 or a negative errno.
 */
int	mvmfs_fs_stat(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    const struct mvm_tenant *t, fuse_ino_t ino, struct stat *st);

/* ---- fs_common.c: errors, access, the kernel's cache, jobs ---- */

/* The errlog object key of the object a node belongs to ("" the node). */
void	mvmfs_fs_object_key(const struct mvmfs_key *k, char *buf, size_t len);

/*
 * Record a failure in the err file of the object `k` belongs to and
 * return `rc` (a negative errno). `e` may be NULL or empty: the sentence
 * is then strerror's.
 */
int	mvmfs_fs_fail(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    const char *op, int rc, const struct mvm_error *e);

/* The time now, in milliseconds since the epoch. */
int64_t	mvmfs_fs_now_ms(void);

/* Append an audit event for a change made here, and publish it. */
void	mvmfs_fs_audit(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    const char *action);

/* Ask the reconciler for a pass over a pool (NULL: the tenant's). */
void	mvmfs_fs_kick(struct mvmfs_fs *fs, const char *tenant,
	    const char *pool);

/*
 * Check that the objects of `k` exist, with one indexed query for the
 * whole tenant/pool/instance chain, and the file itself (its class's
 * exists); copy the tenant into *t (may be NULL) when `k` has one.
 * Returns 0, -ENOENT or the store's errno.
 */
int	mvmfs_fs_exists(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    struct mvm_tenant *t);

/* The key of `ino`, whose objects still exist (mvmfs_fs_exists). */
int	mvmfs_fs_ino_key(struct mvmfs_fs *fs, fuse_ino_t ino,
	    struct mvmfs_key *k, struct mvm_tenant *t);

/*
 * Is the caller of `req` an operator: root, or a member of the admin group
 * (its primary group or one of its groups, as the kernel reports them)?
 */
bool	mvmfs_fs_is_operator(struct mvmfs_fs *fs, fuse_req_t req);

/*
 * May the caller of `req` change things under `k`, whose tenant is *t?
 * Root may; a tenant's owner may change its tenant's tree (but for the
 * keys of its config that are the operators', see fs_doc.c). 0 or
 * -EACCES.
 */
int	mvmfs_fs_may_write(fuse_req_t req, const struct mvmfs_key *k,
	    const struct mvm_tenant *t);

/* A malloc'd, NUL-terminated copy of s[0..len). 0 or -ENOMEM. */
int	mvmfs_fs_dup_text(const char *s, size_t len, char **out,
	    size_t *outlen);

/*
 * A copy of what a renderer wrote into buf: `rc` is its return, the length
 * of the text or a negative errno (returned as it is).
 */
int	mvmfs_fs_dup_rendered(const char *buf, int rc, char **out,
	    size_t *outlen);

/*
 * The text of pool k's `config`, or with `counts` of its `desired` (the
 * content of both, see mvmfs_fs_content_fn).
 */
int	mvmfs_fs_pool_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    bool counts, char **out, size_t *len, struct mvm_error *e);

/* Object ids collected from a store listing. */
struct mvmfs_fs_ids {
	char	(*v)[MVM_ID_MAX + 1];
	size_t	 n, cap;
};

/* Append `id` to `ids` (free ids->v when done). 0 or -ENOMEM. */
int	mvmfs_fs_ids_add(struct mvmfs_fs_ids *ids, const char *id);

/*
 * Have the kernel drop its entry of `name` in directory `parent`, from
 * the notifier thread (the kernel takes the directory's lock to do it,
 * which a request on that directory may hold while it waits for us).
 * Never blocks; out of memory, the entry's timeout lapses instead.
 */
void	mvmfs_fs_inval_entry(struct mvmfs_fs *fs, uint64_t parent,
	    const char *name);

/*
 * Have the kernel drop the attributes of every node of `tenant` it holds,
 * after its uid or gid changed. Safe inside a request.
 */
void	mvmfs_fs_inval_tenant_attrs(struct mvmfs_fs *fs, const char *tenant);

/*
 * Queue a transition of instance `k` to `to` with `flags`, or its
 * destruction, on a worker. With `req` the job answers it when done (a
 * write of `size` bytes, or an rmdir; a Ctrl-C answers EINTR at once) and
 * this returns 0 even when it failed, having answered; without, the
 * caller answers, and a negative errno means nothing was queued.
 */
int	mvmfs_fs_job_queue(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    bool destroy, enum mvm_state to, unsigned flags, size_t size,
	    fuse_req_t req);

/*
 * Answer a read of `size` bytes at `off` from buf[0..len). The bytes are
 * copied first (and the copy zeroed): the buffer belongs to the open
 * file, which a release on another thread may free as soon as the kernel
 * has the reply.
 */
void	mvmfs_fs_reply_slice(fuse_req_t req, const char *buf, size_t len,
	    off_t off, size_t size);

/* Open files: added at open or create, removed at release. */
void	mvmfs_fs_ofile_track(struct mvmfs_fs *fs, struct mvmfs_ofile *of);
void	mvmfs_fs_ofile_untrack(struct mvmfs_fs *fs, struct mvmfs_ofile *of);

/* A new, empty open file (zeroed, its lock ready), or NULL: no memory. */
struct mvmfs_ofile *mvmfs_fs_ofile_new(void);

/*
 * Free `of` (may be NULL) and what it holds. No request may use it any
 * more (the release, or an open that failed).
 */
void	mvmfs_fs_ofile_free(struct mvmfs_ofile *of);

/* ---- fs_common.c: behaviour the classes share ---- */

/*
 * Fill the mode (of k's kind), `nlink`, owner (the tenant's; for the
 * operators' files, root and the admin group) and times of *st. No size:
 * see mvmfs_fs_stat_sized.
 */
void	mvmfs_fs_stat_fixed(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    const struct mvm_tenant *t, nlink_t nlink, struct stat *st);

/* mvmfs_fs_stat_fixed with one link and the size of the content. */
int	mvmfs_fs_stat_sized(struct mvmfs_fs *fs, const struct mvmfs_key *k,
	    const struct mvm_tenant *t, struct stat *st);

/*
 * The setattr of the files of the tree (class setattr): truncation is
 * never an action, and ownership and modes follow the contract, so it
 * succeeds only when it changes nothing real (size 0 of a writable file,
 * the same owner and mode, any times), and tools that copy attributes
 * work. -EPERM otherwise.
 */
int	mvmfs_fs_setattr_fixed(struct mvmfs_fs *fs, fuse_req_t req,
	    const struct mvmfs_key *k, const struct mvm_tenant *t,
	    fuse_ino_t ino, const struct stat *attr, int to_set,
	    struct stat *st);

/*
 * Refuse to open `of` for writing when its kind takes no writes or the
 * caller may not write under it, and at all when the kind is the
 * operators' and the caller is not one (the kernel checked the mode
 * already; this is the daemon's own check). 0 or -EACCES.
 */
int	mvmfs_fs_open_access(struct mvmfs_fs *fs, fuse_req_t req,
	    const struct mvmfs_ofile *of, const struct fuse_file_info *fi,
	    const struct mvm_tenant *t);

/*
 * Render the content into `of` unless it is opened write-only (a failure
 * is recorded), and spare a file that holds no document a FLUSH.
 * 0 or a negative errno.
 */
int	mvmfs_fs_open_render(struct mvmfs_fs *fs, struct mvmfs_ofile *of,
	    struct fuse_file_info *fi);

/* Class open of files read from their content: access, then render. */
int	mvmfs_fs_open_fixed(struct mvmfs_fs *fs, fuse_req_t req,
	    struct mvmfs_ofile *of, struct fuse_file_info *fi,
	    const struct mvm_tenant *t);

/* Class read of the content rendered at open. */
void	mvmfs_fs_read_content(struct mvmfs_fs *fs, fuse_req_t req,
	    struct mvmfs_ofile *of, size_t size, off_t off,
	    struct fuse_file_info *fi);

/*
 * Class write of files that take none: an empty write succeeds, any
 * other fails with EBADF (recorded).
 */
void	mvmfs_fs_write_none(struct mvmfs_fs *fs, fuse_req_t req,
	    struct mvmfs_ofile *of, const char *buf, size_t size, off_t off);

/*
 * Class poll of files read from their content: POLLIN | POLLPRI when the
 * content differs from what this descriptor rendered at open (so a
 * watcher polls, wakes, and opens the file again), POLLERR when it cannot
 * be rendered.
 */
unsigned mvmfs_fs_poll_content(struct mvmfs_fs *fs,
	    const struct mvmfs_ofile *of);

/* ---- fs_dir.c: directories ---- */

/*
 * The key of `name` in directory `pk`, which must exist; a listed child
 * (a tenant, pool or instance) must exist too. -ENOENT, -ENOTDIR.
 */
int	mvmfs_fs_child_key(struct mvmfs_fs *fs, const struct mvmfs_key *pk,
	    const char *name, struct mvmfs_key *k);

/* The FUSE operations on directories. */
void	mvmfs_fs_dir_lookup(fuse_req_t req, fuse_ino_t parent,
	    const char *name);
void	mvmfs_fs_dir_opendir(fuse_req_t req, fuse_ino_t ino,
	    struct fuse_file_info *fi);
void	mvmfs_fs_dir_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
	    off_t off, struct fuse_file_info *fi);
void	mvmfs_fs_dir_releasedir(fuse_req_t req, fuse_ino_t ino,
	    struct fuse_file_info *fi);
void	mvmfs_fs_dir_mkdir(fuse_req_t req, fuse_ino_t parent,
	    const char *name, mode_t mode);
void	mvmfs_fs_dir_rmdir(fuse_req_t req, fuse_ino_t parent,
	    const char *name);

/* ---- fs_view.c, fs_value.c, fs_doc.c: what each kind's file holds ---- */

mvmfs_fs_content_fn mvmfs_fs_view_readme, mvmfs_fs_view_render,
    mvmfs_fs_view_status, mvmfs_fs_view_export, mvmfs_fs_view_err,
    mvmfs_fs_view_log;
mvmfs_fs_content_fn mvmfs_fs_value_ctl_help, mvmfs_fs_value_counts,
    mvmfs_fs_value_state;
mvmfs_fs_content_fn mvmfs_fs_doc_desired_text, mvmfs_fs_doc_tenant_text,
    mvmfs_fs_doc_secrets_text, mvmfs_fs_doc_pool_text;

mvmfs_fs_command_fn mvmfs_fs_value_write_state, mvmfs_fs_value_write_counts,
    mvmfs_fs_value_write_ctl;

/* A pool's desired counts set whole; a document committed whole. */
mvmfs_fs_take_fn mvmfs_fs_value_set_counts, mvmfs_fs_doc_take;

mvmfs_fs_commit_fn mvmfs_fs_doc_commit_desired, mvmfs_fs_doc_commit_tenant,
    mvmfs_fs_doc_commit_secrets, mvmfs_fs_doc_commit_pool;

/* ---- fs_events.c: streams and what an event wakes ---- */

/* The change hook of the events hub: wakes blocked reads and polls. */
void	mvmfs_fs_on_change(void *arg, const struct mvm_event *ev);

/* Answer EBADF to the blocked reads of `of`, which is being released. */
void	mvmfs_fs_waiters_drop(struct mvmfs_fs *fs, struct mvmfs_ofile *of);

/* Free a waiter taken off fs->waiters. */
void	mvmfs_fs_waiter_free(struct mvmfs_waiter *w);

/* ---- fs_scratch.c: scratch files ---- */

void	mvmfs_fs_scratch_create(fuse_req_t req, fuse_ino_t parent,
	    const char *name, mode_t mode, struct fuse_file_info *fi);
void	mvmfs_fs_scratch_unlink(fuse_req_t req, fuse_ino_t parent,
	    const char *name);
void	mvmfs_fs_scratch_rename(fuse_req_t req, fuse_ino_t parent,
	    const char *name, fuse_ino_t newparent, const char *newname,
	    unsigned int flags);

#endif
