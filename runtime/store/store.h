/*
 * store.h: the durable state of a node (tenants, pools, instances, the
 * in-flight transitions, the audit log and a few settings) in one SQLite
 * database.
 *
 * Durability: the database runs in WAL mode with synchronous=NORMAL. Every
 * commit is atomic, and a process crash (SIGKILL included) at any moment
 * leaves the database as of the last completed commit. A power loss or a
 * kernel crash may lose the last few commits, but never corrupts the file or
 * leaves half of a transaction.
 *
 * Threads: a handle may be shared by threads. A recursive mutex inside it
 * serialises every call. An explicit transaction (mvm_store_begin) belongs
 * to the thread that opened it: that thread keeps the mutex until it commits
 * or rolls back, and other threads calling into the handle wait until then.
 * Several processes may open the same file; SQLite's locks serialise them
 * and a writer waits up to five seconds for another before -EBUSY.
 *
 * Transactions: every mutating function called outside an explicit
 * transaction runs in its own. Called inside one, it joins it, and a failing
 * call undoes only its own changes, so the caller can still commit what came
 * before or roll everything back. This is how the engine does read, check
 * and write (a quota check and the insert) atomically.
 *
 * Errors common to every function below and not repeated for each:
 *   -EIO      SQLite failed, or a stored row is corrupt (a string that does
 *             not fit its array, an enum or number out of range); the
 *             sentence carries SQLite's own message or names the row.
 *   -ENOMEM   out of memory.
 *   -EBUSY    another process holds the write lock for longer than the
 *             busy timeout.
 *   -EDEADLK  the call was made from inside a list callback (see below).
 *   -EINVAL   a text field of a struct is not NUL-terminated within its
 *             array, or a number is out of its documented range.
 *   -EOVERFLOW a count does not fit an int.
 * Functions taking `struct mvm_error *e` fill it on failure; it may be NULL.
 * Key arguments (ids) must not be NULL unless a function says otherwise.
 *
 * List callbacks: `fn` is called once per row, in the documented order,
 * with a pointer valid only during the call. A non-zero return stops the
 * listing and becomes the list function's return value. `fn` runs with the
 * handle locked and a statement open, so it must not call into the store
 * (such calls fail with -EDEADLK); copy what you need and act afterwards.
 *
 * Strings are stored verbatim through bound parameters (quotes, SQL text and
 * non-UTF-8 bytes included). The store does not validate names: names.h does.
 */
#ifndef MVM_STORE_H
#define MVM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

/* The schema version this build creates and understands. */
#define MVM_STORE_SCHEMA_VERSION	4

/* Longest intent detail, event action and event detail, without the NUL. */
#define MVM_INTENT_DETAIL_MAX	255
#define MVM_EVENT_ACTION_MAX	63
#define MVM_EVENT_DETAIL_MAX	1023

struct mvm_store;

/*
 * An in-flight transition of one instance, recorded before its first side
 * effect and removed when it is finished (section 4 of the design).
 */
struct mvm_intent {
	int64_t		id;		/* assigned by mvm_store_intent_begin */
	char		tenant[MVM_ID_MAX + 1];
	char		pool[MVM_ID_MAX + 1];
	char		instance[MVM_ID_MAX + 1];
	enum mvm_state	from_state;
	enum mvm_state	to_state;
	enum mvm_op	op;
	int32_t		step;		/* how far the transition got */
	int64_t		started_at;	/* Unix seconds */
	char		detail[MVM_INTENT_DETAIL_MAX + 1];
};

/*
 * One line of the audit log. Fields that do not apply (a node-level event
 * has no tenant) are empty strings.
 */
struct mvm_event {
	int64_t		seq;		/* assigned by mvm_store_event_add */
	int64_t		time_ms;	/* Unix milliseconds, from the caller */
	char		tenant[MVM_ID_MAX + 1];
	char		pool[MVM_ID_MAX + 1];
	char		instance[MVM_ID_MAX + 1];
	char		action[MVM_EVENT_ACTION_MAX + 1];
	char		detail[MVM_EVENT_DETAIL_MAX + 1];
};

/*
 * Which events to list: a NULL tenant, pool or instance matches any value;
 * only events with seq > after_seq are listed; limit 0 means no limit.
 */
struct mvm_event_filter {
	const char	*tenant;
	const char	*pool;
	const char	*instance;
	int64_t		 after_seq;
	size_t		 limit;
};

typedef int (*mvm_store_tenant_fn)(const struct mvm_tenant *t, void *arg);
typedef int (*mvm_store_pool_fn)(const struct mvm_pool *p, void *arg);
typedef int (*mvm_store_instance_fn)(const struct mvm_instance *in, void *arg);
typedef int (*mvm_store_intent_fn)(const struct mvm_intent *it, void *arg);
typedef int (*mvm_store_event_fn)(const struct mvm_event *ev, void *arg);
/*
 * One group of a tenant's instances (mvm_store_instance_tally): `count`
 * instances of `pool` in `state` that record the same vcpus and mem_mib
 * (what they were booted with, 0 before a first boot), and the sum of
 * their disk_mib.
 */
struct mvm_store_tally {
	const char	*pool;		/* valid during the callback only */
	enum mvm_state	 state;
	uint32_t	 vcpus;
	uint32_t	 mem_mib;
	uint32_t	 count;
	uint64_t	 disk_mib;
};
typedef int (*mvm_store_tally_fn)(const struct mvm_store_tally *t,
    void *arg);

/*
 * Open the store at `path`, creating the file with mode 0600 when it does
 * not exist, and migrate its schema forward to MVM_STORE_SCHEMA_VERSION
 * (each migration in its own transaction). On success *out owns the handle;
 * free it with mvm_store_close.
 * Returns 0, or:
 *   -ENOENT, -EACCES, ... (from open(2)) when the file cannot be created,
 *            for example because its directory does not exist;
 *   -EPROTO  the database has a newer schema than this build knows, or
 *            belongs to another application;
 *   -EIO     the file is not an SQLite database, or SQLite failed.
 */
int	mvm_store_open(const char *path, struct mvm_store **out,
	    struct mvm_error *e);

/*
 * Close the handle, rolling back a transaction left open (which must belong
 * to the calling thread). `st` may be NULL. No call may be in progress on it.
 */
void	mvm_store_close(struct mvm_store *st);

/* The schema version of the open database (PRAGMA user_version), or -EIO. */
int	mvm_store_schema_version(struct mvm_store *st);

/*
 * Explicit transactions. mvm_store_begin starts a write transaction
 * (BEGIN IMMEDIATE, so the write lock is taken at once) owned by the calling
 * thread; -EINVAL when one is already open. mvm_store_commit commits it; on
 * failure it has been rolled back. mvm_store_rollback undoes it. Both return
 * -EINVAL when no transaction is open.
 */
int	mvm_store_begin(struct mvm_store *st, struct mvm_error *e);
int	mvm_store_commit(struct mvm_store *st, struct mvm_error *e);
int	mvm_store_rollback(struct mvm_store *st);

/*
 * Tenants, keyed by id. net_id must be 0..4095 and is unique.
 *
 * create: stores *t with revision 1 (and sets t->revision = 1).
 *   -EEXIST when the id or the net_id is taken.
 * get: copies the tenant `id` into *out. -ENOENT.
 * update: replaces every field of the stored tenant t->id if its revision
 *   equals t->revision, then increments both. -ENOENT; -ESTALE when the
 *   stored revision differs (someone else updated it); -EEXIST when the new
 *   net_id is taken.
 * delete: -ENOENT; -EBUSY while the tenant has pools.
 * list: every tenant, sorted by id.
 * count: returns the number of tenants.
 */
int	mvm_store_tenant_create(struct mvm_store *st, struct mvm_tenant *t,
	    struct mvm_error *e);
int	mvm_store_tenant_get(struct mvm_store *st, const char *id,
	    struct mvm_tenant *out, struct mvm_error *e);
int	mvm_store_tenant_update(struct mvm_store *st, struct mvm_tenant *t,
	    struct mvm_error *e);
int	mvm_store_tenant_delete(struct mvm_store *st, const char *id,
	    struct mvm_error *e);
int	mvm_store_tenant_list(struct mvm_store *st, mvm_store_tenant_fn fn,
	    void *arg, struct mvm_error *e);
int	mvm_store_tenant_count(struct mvm_store *st, struct mvm_error *e);

/*
 * The tenant of an object, checked in one query: copies tenant `tenant`
 * into *out when it exists and so do its pool `pool` (unless NULL) and
 * that pool's instance `instance` (unless NULL). -ENOENT when any of them
 * does not exist; -EINVAL when `instance` is given without `pool`.
 */
int	mvm_store_object_tenant(struct mvm_store *st, const char *tenant,
	    const char *pool, const char *instance, struct mvm_tenant *out,
	    struct mvm_error *e);

/*
 * Pools, keyed by (tenant, id). The same contract as tenants, and:
 * create: -ENOENT when the tenant does not exist; -EEXIST.
 * delete: -EBUSY while the pool has instances.
 * list: the pools of `tenant` sorted by id, or of every tenant sorted by
 *   (tenant, id) when `tenant` is NULL.
 * count: the pools of `tenant` (all pools when NULL).
 */
int	mvm_store_pool_create(struct mvm_store *st, struct mvm_pool *p,
	    struct mvm_error *e);
int	mvm_store_pool_get(struct mvm_store *st, const char *tenant,
	    const char *id, struct mvm_pool *out, struct mvm_error *e);
int	mvm_store_pool_update(struct mvm_store *st, struct mvm_pool *p,
	    struct mvm_error *e);
int	mvm_store_pool_delete(struct mvm_store *st, const char *tenant,
	    const char *id, struct mvm_error *e);
int	mvm_store_pool_list(struct mvm_store *st, const char *tenant,
	    mvm_store_pool_fn fn, void *arg, struct mvm_error *e);
int	mvm_store_pool_count(struct mvm_store *st, const char *tenant,
	    struct mvm_error *e);

/*
 * Instances, keyed by (tenant, pool, id). ip_offset is unique within the
 * tenant (the address is tenant-wide) and lies in 3..254.
 *
 * create: when in->ip_offset is 0, allocates the tenant's lowest free
 *   offset in the same transaction and writes it to in->ip_offset. Stores
 *   revision 1 (and sets in->revision = 1). -ENOENT when the tenant or the
 *   pool does not exist; -EEXIST when the id or the given offset is taken;
 *   -ENOSPC when the tenant has no free address.
 * update: replaces every field but the key if the stored revision equals
 *   in->revision, then increments both. -ENOENT; -ESTALE; -EEXIST when the
 *   new ip_offset is taken.
 * delete: also deletes the instance's intent. -ENOENT.
 * list: the instances of one pool (tenant and pool given), of one tenant
 *   (pool NULL) or of every tenant (both NULL), sorted by (tenant, pool, id).
 * count: the same selection as list; returns the number.
 * tally: calls fn(t, arg) once for every (pool, state, vcpus, mem_mib)
 *   that instances of `tenant` hold, sorted so, with the number of those
 *   instances and their summed disk_mib (struct mvm_store_tally); one
 *   aggregate query, however many instances.
 *   A nonzero return of fn stops the walk and is returned.
 * used_offsets: sets bit i of used[i / 8] for every offset i the tenant's
 *   instances hold, clears the others. -ENOENT when the tenant does not
 *   exist.
 */
int	mvm_store_instance_create(struct mvm_store *st,
	    struct mvm_instance *in, struct mvm_error *e);
int	mvm_store_instance_get(struct mvm_store *st, const char *tenant,
	    const char *pool, const char *id, struct mvm_instance *out,
	    struct mvm_error *e);
int	mvm_store_instance_update(struct mvm_store *st,
	    struct mvm_instance *in, struct mvm_error *e);
int	mvm_store_instance_delete(struct mvm_store *st, const char *tenant,
	    const char *pool, const char *id, struct mvm_error *e);
int	mvm_store_instance_list(struct mvm_store *st, const char *tenant,
	    const char *pool, mvm_store_instance_fn fn, void *arg,
	    struct mvm_error *e);
int	mvm_store_instance_count(struct mvm_store *st, const char *tenant,
	    const char *pool, struct mvm_error *e);
int	mvm_store_instance_tally(struct mvm_store *st, const char *tenant,
	    mvm_store_tally_fn fn, void *arg, struct mvm_error *e);
int	mvm_store_used_offsets(struct mvm_store *st, const char *tenant,
	    uint8_t used[32], struct mvm_error *e);

/*
 * Intents: at most one per instance, deleted with it.
 *
 * begin: stores *it (it->id is ignored) and sets it->id. -ENOENT when the
 *   instance does not exist; -EBUSY when it already has an intent.
 * step: sets the step and detail (NULL means empty) of intent `id`. -ENOENT.
 * end: deletes intent `id`. -ENOENT.
 * get: the intent of one instance. -ENOENT when it has none.
 * list: every intent, in the order they began (for recovery at start-up).
 */
int	mvm_store_intent_begin(struct mvm_store *st, struct mvm_intent *it,
	    struct mvm_error *e);
int	mvm_store_intent_step(struct mvm_store *st, int64_t id, int32_t step,
	    const char *detail, struct mvm_error *e);
int	mvm_store_intent_end(struct mvm_store *st, int64_t id,
	    struct mvm_error *e);
int	mvm_store_intent_get(struct mvm_store *st, const char *tenant,
	    const char *pool, const char *instance, struct mvm_intent *out,
	    struct mvm_error *e);
int	mvm_store_intent_list(struct mvm_store *st, mvm_store_intent_fn fn,
	    void *arg, struct mvm_error *e);

/*
 * Events: an append-only log that outlives the objects it mentions.
 *
 * add: appends *ev (ev->seq is ignored) and sets *seq (may be NULL) to its
 *   sequence number, which is larger than any earlier one, even pruned.
 * list: the events matching `f` (NULL matches all) in seq order.
 * prune: deletes every event beyond either bound: all but the newest
 *   `keep_count` (0: no count bound), and those older than
 *   now_ms - keep_age_ms (keep_age_ms <= 0: no age bound). Returns how many
 *   it deleted.
 */
int	mvm_store_event_add(struct mvm_store *st, const struct mvm_event *ev,
	    int64_t *seq, struct mvm_error *e);
int	mvm_store_event_list(struct mvm_store *st,
	    const struct mvm_event_filter *f, mvm_store_event_fn fn, void *arg,
	    struct mvm_error *e);
int	mvm_store_events_prune(struct mvm_store *st, size_t keep_count,
	    int64_t keep_age_ms, int64_t now_ms, struct mvm_error *e);

/*
 * Settings (node id and the like) as text. get copies the value of `key`
 * with its NUL into buf of `size` bytes and returns its length: -ENOENT when
 * the key is not set (an answer, not a failure: `e` is left untouched);
 * -ERANGE when buf is too small. set creates or replaces.
 */
int	mvm_store_meta_get(struct mvm_store *st, const char *key, char *buf,
	    size_t size, struct mvm_error *e);
int	mvm_store_meta_set(struct mvm_store *st, const char *key,
	    const char *value, struct mvm_error *e);

#endif
