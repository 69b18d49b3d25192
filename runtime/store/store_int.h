/*
 * store_int.h: private to the store's own files (runtime/store/store*.c);
 * nothing outside them includes it. store.h stays the contract for callers.
 *
 * The store is one handle over one SQLite database, in these files:
 *   store.c            the cached statements, the SQLite errors, the
 *                      handle's lock, a call's own transaction or
 *                      savepoint, and the explicit transactions;
 *   store_row.c        parameters bound from structs, rows read into them;
 *   store_schema.c     open and close, the pragmas, the migrations and the
 *                      schema version;
 *   store_tenants.c    tenants and pools;
 *   store_instances.c  instances, their addresses, and intents;
 *   store_events.c     the audit log and the settings (meta).
 * Only these files hold SQL.
 *
 * Rows map to the structs of model.h and store.h through column tables:
 * each table lists the struct fields in the order of the matching *_COLS
 * string below, and store_bind_row and store_next_row walk it. The
 * statements are all in store.c, prepared once at open and reset after each
 * use; the handle's mutex keeps them single-user. (The migrations and the
 * pragmas of store_schema.c run as plain SQL text.)
 *
 * Threads: every function here expects the caller to hold the handle's
 * lock (store_lock, or store_write_begin for a mutating call), except the
 * lock functions themselves and store_stmts_prepare and _finalize, which
 * open and close call while no other thread can have the handle.
 */
#ifndef MVM_STORE_INT_H
#define MVM_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "error.h"
#include "model.h"
#include "store.h"

/* How a struct field is stored. */
enum col_type {
	COL_TEXT,	/* char array of `size` bytes */
	COL_BOOL,
	COL_U16,
	COL_I32,
	COL_U32,
	COL_I64,
	COL_U64,	/* stored as the int64 with the same bits */
	COL_STATE,	/* enum mvm_state */
	COL_OP,		/* enum mvm_op */
};

struct column {
	enum col_type	type;
	size_t		off;
	size_t		size;
};

#define COL(t, s, f)	{ t, offsetof(s, f), sizeof(((s *)0)->f) }
#define NCOLS(c)	(sizeof(c) / sizeof((c)[0]))

/*
 * The column lists of the statements of store.c, and the parameters of an
 * insert or update that go with them. The column table of each list, in
 * the file of its concern, names the struct fields in the same order. The
 * lists of intents and events leave out their first column (the id or
 * seq), which SQLite assigns on insert; their selects read it first.
 */
#define TENANT_COLS "id, net_id, max_vcpus, max_mem_mib, max_running, " \
	"max_warm, max_pools, max_instances_per_pool, max_disk_gib, uid, " \
	"gid, pinned, created_at, revision"
#define TENANT_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, " \
	"?13, ?14"

#define POOL_COLS "tenant, id, image, vcpus, mem_mib, data_disk_mib, " \
	"desired_running, desired_warm, desired_sleeping, " \
	"min_running_seconds, min_warm_seconds, drain_timeout_seconds, " \
	"graceful_shutdown_seconds, warm_after_idle_seconds, " \
	"sleep_after_idle_seconds, idle_cpu_percent, idle_net_bytes, pinned, " \
	"managed, settle_seconds, created_at, revision"
#define POOL_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, " \
	"?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22"

#define INSTANCE_COLS "tenant, pool, id, state, op, created_at, " \
	"entered_running_at, entered_warm_at, ip_offset, pid, pid_start, " \
	"reason, failures, last_failure_at, parked, parked_from, vcpus, " \
	"mem_mib, disk_mib, run_name, revision"
#define INSTANCE_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, " \
	"?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21"

#define INTENT_COLS "tenant, pool, instance, from_state, to_state, op, " \
	"step, started_at, detail"

#define EVENT_COLS "time_ms, tenant, pool, instance, action, detail"

/* Every statement the store runs, prepared once at open. */
enum stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_TENANT_INSERT,
	ST_TENANT_GET,
	ST_TENANT_UPDATE,
	ST_TENANT_DELETE,
	ST_TENANT_LIST,
	ST_TENANT_COUNT,
	ST_TENANT_BY_NET_ID,
	ST_TENANT_OF_OBJECT,
	ST_POOL_INSERT,
	ST_POOL_GET,
	ST_POOL_UPDATE,
	ST_POOL_DELETE,
	ST_POOL_LIST,
	ST_POOL_COUNT,
	ST_INSTANCE_INSERT,
	ST_INSTANCE_GET,
	ST_INSTANCE_UPDATE,
	ST_INSTANCE_DELETE,
	ST_INSTANCE_LIST,
	ST_INSTANCE_COUNT,
	ST_INSTANCE_OFFSETS,
	ST_INSTANCE_BY_OFFSET,
	ST_INSTANCE_TALLY,
	ST_INTENT_INSERT,
	ST_INTENT_STEP,
	ST_INTENT_DELETE,
	ST_INTENT_GET,
	ST_INTENT_LIST,
	ST_EVENT_INSERT,
	ST_EVENT_LIST,
	ST_EVENT_PRUNE_AGE,
	ST_EVENT_PRUNE_COUNT,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT
};

struct mvm_store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[ST_COUNT];
	pthread_mutex_t	 lock;		/* recursive; see store.h */
	bool		 in_txn;	/* an explicit transaction is open */
	bool		 in_callback;	/* a list callback is running */
};

/* store.c: statements, errors, the lock and a call's transaction. */

/*
 * Prepare every statement into st->stmt. Returns 0, or the negative errno
 * of store_sql_error; statements prepared before a failure stay in
 * st->stmt for store_stmts_finalize.
 */
int	store_stmts_prepare(struct mvm_store *st, struct mvm_error *e);

/* Finalize every statement of st->stmt (NULL entries included). */
void	store_stmts_finalize(struct mvm_store *st);

/*
 * Turn an SQLite result code into a negative errno and a sentence:
 * -ENOMEM, -EBUSY (SQLITE_BUSY or SQLITE_LOCKED), -EINVAL (a CHECK
 * constraint), -EIO (everything else, with SQLite's message).
 */
int	store_sql_error(struct mvm_store *st, int rc, struct mvm_error *e);

/* Make `s` ready for its next use: reset it and clear its bindings. */
void	store_stmt_done(sqlite3_stmt *s);

/* Run the cached statement `id`, which returns no rows. 0 or -errno. */
int	store_exec_stmt(struct mvm_store *st, enum stmt id,
	    struct mvm_error *e);

/*
 * Take the handle's lock. Fails with -EDEADLK (and releases it again)
 * when the caller is a list callback of this handle.
 */
int	store_lock(struct mvm_store *st, struct mvm_error *e);
void	store_unlock(struct mvm_store *st);

/*
 * Start a mutating call: its own transaction outside an explicit one, a
 * savepoint inside one. On success the handle is locked until
 * store_write_end, which the caller must then call exactly once.
 */
int	store_write_begin(struct mvm_store *st, struct mvm_error *e);

/*
 * Finish a mutating call whose result is `rc`: keep its changes when rc is
 * not negative, undo them otherwise, and unlock the handle. Returns rc, or
 * the commit's error.
 */
int	store_write_end(struct mvm_store *st, int rc, struct mvm_error *e);

/* store_row.c: parameters and rows. */

/*
 * Bind a string (SQLITE_STATIC: it must outlive the step) or NULL, or an
 * integer, to parameter `i`. 0 or a negative errno.
 */
int	store_bind_str(struct mvm_store *st, sqlite3_stmt *s, int i,
	    const char *v, struct mvm_error *e);
int	store_bind_i64(struct mvm_store *st, sqlite3_stmt *s, int i, int64_t v,
	    struct mvm_error *e);

/*
 * Bind the fields of `row` described by `cols` to parameters 1, 2, ...
 * 0, or -EINVAL when a text field has no NUL or an enum is out of range.
 */
int	store_bind_row(struct mvm_store *st, sqlite3_stmt *s,
	    const struct column *cols, size_t ncols, const void *row,
	    struct mvm_error *e);

/*
 * Step `s` once. Returns 1 with `row` filled when a row came, 0 when there
 * are no more rows, or a negative errno (-EIO for a corrupt row).
 */
int	store_next_row(struct mvm_store *st, sqlite3_stmt *s,
	    const struct column *cols, size_t ncols, void *row,
	    struct mvm_error *e);

/* Run a bound "SELECT count(*)" and return the count, or -EOVERFLOW. */
int	store_count_rows(struct mvm_store *st, sqlite3_stmt *s,
	    struct mvm_error *e);

/* store_tenants.c, for the instances. */

/* Copy tenant `id` into *out. 0, -ENOENT or another negative errno. */
int	store_tenant_get(struct mvm_store *st, const char *id,
	    struct mvm_tenant *out, struct mvm_error *e);

#endif
