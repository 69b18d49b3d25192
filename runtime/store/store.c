/*
 * store.c: the durable state of a node in SQLite. The only file with SQL.
 *
 * Rows map to the structs of model.h through column tables: each table
 * lists the struct fields in the order of the matching *_COLS string, and
 * bind_row and read_row walk it. Statements are prepared once at open and
 * reset after each use; the handle's mutex keeps them single-user.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "netplan.h"

/* PRAGMA application_id of an mvm store: "mvms". */
#define STORE_APP_ID		0x6d766d73
/* How long a writer waits for another process's write lock. */
#define STORE_BUSY_MS		5000

/*
 * Forward migrations. Entry i takes the schema from version i to i + 1 and
 * runs in its own transaction together with the user_version update. Never
 * edit an entry that has shipped: append a new one.
 */
static const char *const migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE tenants ("
	"  id TEXT NOT NULL PRIMARY KEY,"
	"  net_id INTEGER NOT NULL UNIQUE CHECK (net_id BETWEEN 0 AND 4095),"
	"  max_vcpus INTEGER NOT NULL,"
	"  max_mem_mib INTEGER NOT NULL,"
	"  max_running INTEGER NOT NULL,"
	"  max_warm INTEGER NOT NULL,"
	"  max_pools INTEGER NOT NULL,"
	"  max_instances_per_pool INTEGER NOT NULL,"
	"  max_disk_gib INTEGER NOT NULL,"
	"  uid INTEGER NOT NULL,"
	"  gid INTEGER NOT NULL,"
	"  pinned INTEGER NOT NULL CHECK (pinned IN (0, 1)),"
	"  created_at INTEGER NOT NULL,"
	"  revision INTEGER NOT NULL"
	") STRICT;"
	"CREATE TABLE pools ("
	"  tenant TEXT NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,"
	"  id TEXT NOT NULL,"
	"  image TEXT NOT NULL,"
	"  vcpus INTEGER NOT NULL,"
	"  mem_mib INTEGER NOT NULL,"
	"  data_disk_mib INTEGER NOT NULL,"
	"  desired_running INTEGER NOT NULL,"
	"  desired_warm INTEGER NOT NULL,"
	"  desired_sleeping INTEGER NOT NULL,"
	"  min_running_seconds INTEGER NOT NULL,"
	"  min_warm_seconds INTEGER NOT NULL,"
	"  drain_timeout_seconds INTEGER NOT NULL,"
	"  graceful_shutdown_seconds INTEGER NOT NULL,"
	"  warm_after_idle_seconds INTEGER NOT NULL,"
	"  sleep_after_idle_seconds INTEGER NOT NULL,"
	"  idle_cpu_percent INTEGER NOT NULL,"
	"  idle_net_bytes INTEGER NOT NULL,"
	"  pinned INTEGER NOT NULL CHECK (pinned IN (0, 1)),"
	"  created_at INTEGER NOT NULL,"
	"  revision INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant, id)"
	") STRICT;"
	"CREATE TABLE instances ("
	"  tenant TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 5),"
	"  op INTEGER NOT NULL CHECK (op BETWEEN 0 AND 7),"
	"  created_at INTEGER NOT NULL,"
	"  entered_running_at INTEGER NOT NULL,"
	"  entered_warm_at INTEGER NOT NULL,"
	"  ip_offset INTEGER NOT NULL CHECK (ip_offset BETWEEN 3 AND 254),"
	"  pid INTEGER NOT NULL,"
	"  pid_start INTEGER NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  revision INTEGER NOT NULL,"
	"  PRIMARY KEY (tenant, pool, id),"
	"  UNIQUE (tenant, ip_offset),"
	"  FOREIGN KEY (tenant, pool) REFERENCES pools (tenant, id)"
	"    ON DELETE RESTRICT"
	") STRICT;"
	"CREATE TABLE intents ("
	"  id INTEGER PRIMARY KEY,"
	"  tenant TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  instance TEXT NOT NULL,"
	"  from_state INTEGER NOT NULL CHECK (from_state BETWEEN 0 AND 5),"
	"  to_state INTEGER NOT NULL CHECK (to_state BETWEEN 0 AND 5),"
	"  op INTEGER NOT NULL CHECK (op BETWEEN 0 AND 7),"
	"  step INTEGER NOT NULL,"
	"  started_at INTEGER NOT NULL,"
	"  detail TEXT NOT NULL,"
	"  UNIQUE (tenant, pool, instance),"
	"  FOREIGN KEY (tenant, pool, instance)"
	"    REFERENCES instances (tenant, pool, id) ON DELETE CASCADE"
	") STRICT;"
	"CREATE TABLE events ("
	"  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time_ms INTEGER NOT NULL,"
	"  tenant TEXT NOT NULL,"
	"  pool TEXT NOT NULL,"
	"  instance TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT NOT NULL"
	") STRICT;"
	"CREATE INDEX events_time ON events (time_ms);"
	"CREATE TABLE meta ("
	"  key TEXT NOT NULL PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") STRICT;",
	/* 1 -> 2: managed pools, failure history and parking. */
	"ALTER TABLE pools ADD COLUMN managed INTEGER NOT NULL DEFAULT 0"
	"  CHECK (managed IN (0, 1));"
	"ALTER TABLE instances ADD COLUMN failures INTEGER NOT NULL DEFAULT 0"
	"  CHECK (failures >= 0);"
	"ALTER TABLE instances ADD COLUMN last_failure_at INTEGER NOT NULL"
	"  DEFAULT 0;"
	"ALTER TABLE instances ADD COLUMN parked INTEGER NOT NULL DEFAULT 0"
	"  CHECK (parked IN (0, 1));"
	"ALTER TABLE instances ADD COLUMN parked_from INTEGER NOT NULL"
	"  DEFAULT 0 CHECK (parked_from BETWEEN 0 AND 5);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    MVM_STORE_SCHEMA_VERSION, "one migration per schema version");

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

#define TENANT_COLS "id, net_id, max_vcpus, max_mem_mib, max_running, " \
	"max_warm, max_pools, max_instances_per_pool, max_disk_gib, uid, " \
	"gid, pinned, created_at, revision"
#define TENANT_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, " \
	"?13, ?14"
static const struct column tenant_cols[] = {
	COL(COL_TEXT, struct mvm_tenant, id),
	COL(COL_U16, struct mvm_tenant, net_id),
	COL(COL_U32, struct mvm_tenant, quota.max_vcpus),
	COL(COL_U32, struct mvm_tenant, quota.max_mem_mib),
	COL(COL_U32, struct mvm_tenant, quota.max_running),
	COL(COL_U32, struct mvm_tenant, quota.max_warm),
	COL(COL_U32, struct mvm_tenant, quota.max_pools),
	COL(COL_U32, struct mvm_tenant, quota.max_instances_per_pool),
	COL(COL_U32, struct mvm_tenant, quota.max_disk_gib),
	COL(COL_U32, struct mvm_tenant, uid),
	COL(COL_U32, struct mvm_tenant, gid),
	COL(COL_BOOL, struct mvm_tenant, pinned),
	COL(COL_I64, struct mvm_tenant, created_at),
	COL(COL_U64, struct mvm_tenant, revision),
};

#define POOL_COLS "tenant, id, image, vcpus, mem_mib, data_disk_mib, " \
	"desired_running, desired_warm, desired_sleeping, " \
	"min_running_seconds, min_warm_seconds, drain_timeout_seconds, " \
	"graceful_shutdown_seconds, warm_after_idle_seconds, " \
	"sleep_after_idle_seconds, idle_cpu_percent, idle_net_bytes, pinned, " \
	"managed, created_at, revision"
#define POOL_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, " \
	"?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21"
static const struct column pool_cols[] = {
	COL(COL_TEXT, struct mvm_pool, tenant),
	COL(COL_TEXT, struct mvm_pool, id),
	COL(COL_TEXT, struct mvm_pool, image),
	COL(COL_U32, struct mvm_pool, vcpus),
	COL(COL_U32, struct mvm_pool, mem_mib),
	COL(COL_U32, struct mvm_pool, data_disk_mib),
	COL(COL_U32, struct mvm_pool, desired.running),
	COL(COL_U32, struct mvm_pool, desired.warm),
	COL(COL_U32, struct mvm_pool, desired.sleeping),
	COL(COL_U32, struct mvm_pool, runtime.min_running_seconds),
	COL(COL_U32, struct mvm_pool, runtime.min_warm_seconds),
	COL(COL_U32, struct mvm_pool, runtime.drain_timeout_seconds),
	COL(COL_U32, struct mvm_pool, runtime.graceful_shutdown_seconds),
	COL(COL_U32, struct mvm_pool, sleep.warm_after_idle_seconds),
	COL(COL_U32, struct mvm_pool, sleep.sleep_after_idle_seconds),
	COL(COL_U32, struct mvm_pool, sleep.idle_cpu_percent),
	COL(COL_U32, struct mvm_pool, sleep.idle_net_bytes),
	COL(COL_BOOL, struct mvm_pool, pinned),
	COL(COL_BOOL, struct mvm_pool, managed),
	COL(COL_I64, struct mvm_pool, created_at),
	COL(COL_U64, struct mvm_pool, revision),
};

#define INSTANCE_COLS "tenant, pool, id, state, op, created_at, " \
	"entered_running_at, entered_warm_at, ip_offset, pid, pid_start, " \
	"reason, failures, last_failure_at, parked, parked_from, revision"
#define INSTANCE_PARAMS "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, " \
	"?12, ?13, ?14, ?15, ?16, ?17"
static const struct column instance_cols[] = {
	COL(COL_TEXT, struct mvm_instance, tenant),
	COL(COL_TEXT, struct mvm_instance, pool),
	COL(COL_TEXT, struct mvm_instance, id),
	COL(COL_STATE, struct mvm_instance, state),
	COL(COL_OP, struct mvm_instance, op),
	COL(COL_I64, struct mvm_instance, created_at),
	COL(COL_I64, struct mvm_instance, entered_running_at),
	COL(COL_I64, struct mvm_instance, entered_warm_at),
	COL(COL_U16, struct mvm_instance, ip_offset),
	COL(COL_I32, struct mvm_instance, pid),
	COL(COL_U64, struct mvm_instance, pid_start),
	COL(COL_TEXT, struct mvm_instance, reason),
	COL(COL_U32, struct mvm_instance, failures),
	COL(COL_I64, struct mvm_instance, last_failure_at),
	COL(COL_BOOL, struct mvm_instance, parked),
	COL(COL_STATE, struct mvm_instance, parked_from),
	COL(COL_U64, struct mvm_instance, revision),
};

/* The first column (the id or seq) is assigned by SQLite on insert. */
#define INTENT_COLS "tenant, pool, instance, from_state, to_state, op, " \
	"step, started_at, detail"
static const struct column intent_cols[] = {
	COL(COL_I64, struct mvm_intent, id),
	COL(COL_TEXT, struct mvm_intent, tenant),
	COL(COL_TEXT, struct mvm_intent, pool),
	COL(COL_TEXT, struct mvm_intent, instance),
	COL(COL_STATE, struct mvm_intent, from_state),
	COL(COL_STATE, struct mvm_intent, to_state),
	COL(COL_OP, struct mvm_intent, op),
	COL(COL_I32, struct mvm_intent, step),
	COL(COL_I64, struct mvm_intent, started_at),
	COL(COL_TEXT, struct mvm_intent, detail),
};

#define EVENT_COLS "time_ms, tenant, pool, instance, action, detail"
static const struct column event_cols[] = {
	COL(COL_I64, struct mvm_event, seq),
	COL(COL_I64, struct mvm_event, time_ms),
	COL(COL_TEXT, struct mvm_event, tenant),
	COL(COL_TEXT, struct mvm_event, pool),
	COL(COL_TEXT, struct mvm_event, instance),
	COL(COL_TEXT, struct mvm_event, action),
	COL(COL_TEXT, struct mvm_event, detail),
};

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

/*
 * A NULL filter parameter matches every row: "(?1 IS NULL OR tenant = ?1)".
 * Updates set every column (the key to itself) from the same parameters as
 * the insert, the new revision included, and match the old revision.
 */
static const char *const stmt_sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT mvm_call",
	[ST_RELEASE] = "RELEASE mvm_call",
	[ST_ROLLBACK_TO] = "ROLLBACK TO mvm_call",

	[ST_TENANT_INSERT] = "INSERT INTO tenants (" TENANT_COLS ")"
	    " VALUES (" TENANT_PARAMS ")",
	[ST_TENANT_GET] = "SELECT " TENANT_COLS " FROM tenants WHERE id = ?1",
	[ST_TENANT_UPDATE] = "UPDATE tenants SET (" TENANT_COLS ") = ("
	    TENANT_PARAMS ") WHERE id = ?1 AND revision = ?15",
	[ST_TENANT_DELETE] = "DELETE FROM tenants WHERE id = ?1",
	[ST_TENANT_LIST] = "SELECT " TENANT_COLS " FROM tenants ORDER BY id",
	[ST_TENANT_COUNT] = "SELECT count(*) FROM tenants",
	[ST_TENANT_BY_NET_ID] = "SELECT id FROM tenants WHERE net_id = ?1",
	[ST_TENANT_OF_OBJECT] = "SELECT " TENANT_COLS " FROM tenants"
	    " WHERE id = ?1 AND (?2 IS NULL OR EXISTS (SELECT 1 FROM pools"
	    " WHERE tenant = ?1 AND id = ?2)) AND (?3 IS NULL OR EXISTS"
	    " (SELECT 1 FROM instances WHERE tenant = ?1 AND pool = ?2"
	    " AND id = ?3))",

	[ST_POOL_INSERT] = "INSERT INTO pools (" POOL_COLS ")"
	    " VALUES (" POOL_PARAMS ")",
	[ST_POOL_GET] = "SELECT " POOL_COLS " FROM pools"
	    " WHERE tenant = ?1 AND id = ?2",
	[ST_POOL_UPDATE] = "UPDATE pools SET (" POOL_COLS ") = (" POOL_PARAMS
	    ") WHERE tenant = ?1 AND id = ?2 AND revision = ?22",
	[ST_POOL_DELETE] = "DELETE FROM pools WHERE tenant = ?1 AND id = ?2",
	[ST_POOL_LIST] = "SELECT " POOL_COLS " FROM pools"
	    " WHERE (?1 IS NULL OR tenant = ?1) ORDER BY tenant, id",
	[ST_POOL_COUNT] = "SELECT count(*) FROM pools"
	    " WHERE (?1 IS NULL OR tenant = ?1)",

	[ST_INSTANCE_INSERT] = "INSERT INTO instances (" INSTANCE_COLS ")"
	    " VALUES (" INSTANCE_PARAMS ")",
	[ST_INSTANCE_GET] = "SELECT " INSTANCE_COLS " FROM instances"
	    " WHERE tenant = ?1 AND pool = ?2 AND id = ?3",
	[ST_INSTANCE_UPDATE] = "UPDATE instances SET (" INSTANCE_COLS ") = ("
	    INSTANCE_PARAMS ") WHERE tenant = ?1 AND pool = ?2 AND id = ?3"
	    " AND revision = ?18",
	[ST_INSTANCE_DELETE] = "DELETE FROM instances"
	    " WHERE tenant = ?1 AND pool = ?2 AND id = ?3",
	[ST_INSTANCE_LIST] = "SELECT " INSTANCE_COLS " FROM instances"
	    " WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR pool = ?2)"
	    " ORDER BY tenant, pool, id",
	[ST_INSTANCE_COUNT] = "SELECT count(*) FROM instances"
	    " WHERE (?1 IS NULL OR tenant = ?1) AND (?2 IS NULL OR pool = ?2)",
	[ST_INSTANCE_OFFSETS] = "SELECT ip_offset FROM instances"
	    " WHERE tenant = ?1",
	[ST_INSTANCE_BY_OFFSET] = "SELECT pool, id FROM instances"
	    " WHERE tenant = ?1 AND ip_offset = ?2",
	[ST_INSTANCE_TALLY] = "SELECT pool, state, count(*) FROM instances"
	    " WHERE tenant = ?1 GROUP BY pool, state ORDER BY pool, state",

	[ST_INTENT_INSERT] = "INSERT INTO intents (" INTENT_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_INTENT_STEP] = "UPDATE intents SET step = ?2, detail = ?3"
	    " WHERE id = ?1",
	[ST_INTENT_DELETE] = "DELETE FROM intents WHERE id = ?1",
	[ST_INTENT_GET] = "SELECT id, " INTENT_COLS " FROM intents"
	    " WHERE tenant = ?1 AND pool = ?2 AND instance = ?3",
	[ST_INTENT_LIST] = "SELECT id, " INTENT_COLS " FROM intents"
	    " ORDER BY id",

	[ST_EVENT_INSERT] = "INSERT INTO events (" EVENT_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_EVENT_LIST] = "SELECT seq, " EVENT_COLS " FROM events"
	    " WHERE seq > ?4 AND (?1 IS NULL OR tenant = ?1)"
	    " AND (?2 IS NULL OR pool = ?2) AND (?3 IS NULL OR instance = ?3)"
	    " ORDER BY seq LIMIT ?5",
	[ST_EVENT_PRUNE_AGE] = "DELETE FROM events WHERE time_ms < ?1",
	[ST_EVENT_PRUNE_COUNT] = "DELETE FROM events WHERE seq <="
	    " (SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?1)",

	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
	    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

struct mvm_store {
	sqlite3		*db;
	sqlite3_stmt	*stmt[ST_COUNT];
	pthread_mutex_t	 lock;		/* recursive; see store.h */
	bool		 in_txn;	/* an explicit transaction is open */
	bool		 in_callback;	/* a list callback is running */
};

/* Turn an SQLite result code into a negative errno and a sentence. */
static int
sql_error(struct mvm_store *st, int rc, struct mvm_error *e)
{
	switch (rc & 0xff) {
	case SQLITE_NOMEM:
		return mvm_error_set(e, ENOMEM, "the store ran out of memory");
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return mvm_error_set(e, EBUSY, "the store is locked by another "
		    "process: %s", sqlite3_errmsg(st->db));
	default:
		if (rc == SQLITE_CONSTRAINT_CHECK)
			return mvm_error_set(e, EINVAL, "a value is out of "
			    "range for the store: %s", sqlite3_errmsg(st->db));
		return mvm_error_set(e, EIO, "the store failed: %s",
		    sqlite3_errmsg(st->db));
	}
}

/* Make `s` ready for its next use. */
static void
stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a cached statement that returns no rows. */
static int
exec_stmt(struct mvm_store *st, enum stmt id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc;

	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : sql_error(st, rc, e);
	stmt_done(s);
	return rc;
}

/* Bind a string, or NULL, to parameter `i`. */
static int
bind_str(struct mvm_store *st, sqlite3_stmt *s, int i, const char *v,
    struct mvm_error *e)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(s, i);
	else
		rc = sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : sql_error(st, rc, e);
}

static int
bind_i64(struct mvm_store *st, sqlite3_stmt *s, int i, int64_t v,
    struct mvm_error *e)
{
	int rc;

	rc = sqlite3_bind_int64(s, i, v);
	return rc == SQLITE_OK ? 0 : sql_error(st, rc, e);
}

/* Bind the fields of `row` described by `cols` to parameters 1, 2, ... */
static int
bind_row(struct mvm_store *st, sqlite3_stmt *s, const struct column *cols,
    size_t ncols, const void *row, struct mvm_error *e)
{
	const struct column *c;
	const char *p;
	int64_t v = 0;
	size_t len;
	int i, rc;

	for (i = 0; (size_t)i < ncols; i++) {
		c = &cols[i];
		p = (const char *)row + c->off;
		switch (c->type) {
		case COL_TEXT:
			len = strnlen(p, c->size);
			if (len == c->size)
				return mvm_error_set(e, EINVAL, "a text field "
				    "of %zu bytes has no terminating NUL",
				    c->size);
			rc = sqlite3_bind_text(s, i + 1, p, (int)len,
			    SQLITE_STATIC);
			if (rc != SQLITE_OK)
				return sql_error(st, rc, e);
			continue;
		case COL_BOOL:
			assert(c->size == sizeof(bool));
			v = *(const bool *)p;
			break;
		case COL_U16:
			assert(c->size == sizeof(uint16_t));
			v = *(const uint16_t *)p;
			break;
		case COL_I32:
			assert(c->size == sizeof(int32_t));
			v = *(const int32_t *)p;
			break;
		case COL_U32:
			assert(c->size == sizeof(uint32_t));
			v = *(const uint32_t *)p;
			break;
		case COL_I64:
			assert(c->size == sizeof(int64_t));
			v = *(const int64_t *)p;
			break;
		case COL_U64:
			assert(c->size == sizeof(uint64_t));
			v = (int64_t)*(const uint64_t *)p;
			break;
		case COL_STATE:
			assert(c->size == sizeof(enum mvm_state));
			v = *(const enum mvm_state *)p;
			if (v < 0 || v >= MVM_STATE_COUNT)
				return mvm_error_set(e, EINVAL, "state %" PRId64
				    " is not a valid instance state", v);
			break;
		case COL_OP:
			assert(c->size == sizeof(enum mvm_op));
			v = *(const enum mvm_op *)p;
			if (v < 0 || v >= MVM_OP_COUNT)
				return mvm_error_set(e, EINVAL, "operation %"
				    PRId64 " is not a valid operation", v);
			break;
		}
		if ((rc = sqlite3_bind_int64(s, i + 1, v)) != SQLITE_OK)
			return sql_error(st, rc, e);
	}
	return 0;
}

/*
 * Copy the current row of `s` into `row`, checking that every value fits
 * its field.
 */
static int
read_row(sqlite3_stmt *s, const struct column *cols, size_t ncols, void *row,
    struct mvm_error *e)
{
	const struct column *c;
	const unsigned char *text;
	char *p;
	int64_t v;
	int i, len;

	for (i = 0; (size_t)i < ncols; i++) {
		c = &cols[i];
		p = (char *)row + c->off;
		if (c->type == COL_TEXT) {
			text = sqlite3_column_text(s, i);
			len = sqlite3_column_bytes(s, i);
			if (sqlite3_column_type(s, i) != SQLITE_TEXT ||
			    text == NULL || (size_t)len >= c->size)
				goto corrupt;
			memcpy(p, text, (size_t)len);
			p[len] = '\0';
			continue;
		}
		if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
			goto corrupt;
		v = sqlite3_column_int64(s, i);
		switch (c->type) {
		case COL_TEXT:
			break;
		case COL_BOOL:
			if (v < 0 || v > 1)
				goto corrupt;
			*(bool *)p = v;
			break;
		case COL_U16:
			if (v < 0 || v > UINT16_MAX)
				goto corrupt;
			*(uint16_t *)p = (uint16_t)v;
			break;
		case COL_I32:
			if (v < INT32_MIN || v > INT32_MAX)
				goto corrupt;
			*(int32_t *)p = (int32_t)v;
			break;
		case COL_U32:
			if (v < 0 || v > UINT32_MAX)
				goto corrupt;
			*(uint32_t *)p = (uint32_t)v;
			break;
		case COL_I64:
			*(int64_t *)p = v;
			break;
		case COL_U64:
			*(uint64_t *)p = (uint64_t)v;
			break;
		case COL_STATE:
			if (v < 0 || v >= MVM_STATE_COUNT)
				goto corrupt;
			*(enum mvm_state *)p = (enum mvm_state)v;
			break;
		case COL_OP:
			if (v < 0 || v >= MVM_OP_COUNT)
				goto corrupt;
			*(enum mvm_op *)p = (enum mvm_op)v;
			break;
		}
	}
	return 0;

corrupt:
	return mvm_error_set(e, EIO, "corrupt row in the store: column %s "
	    "holds a value of the wrong type, out of range or too long",
	    sqlite3_column_name(s, i));
}

/*
 * Step `s` once. Returns 1 with `row` filled when a row came, 0 when there
 * are no more rows, or a negative errno.
 */
static int
next_row(struct mvm_store *st, sqlite3_stmt *s, const struct column *cols,
    size_t ncols, void *row, struct mvm_error *e)
{
	int rc;

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sql_error(st, rc, e);
	rc = read_row(s, cols, ncols, row, e);
	return rc < 0 ? rc : 1;
}

/* Run a bound "SELECT count(*)" and return the count. */
static int
count_rows(struct mvm_store *st, sqlite3_stmt *s, struct mvm_error *e)
{
	int64_t n;
	int rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return sql_error(st, rc, e);
	n = sqlite3_column_int64(s, 0);
	if (n < 0 || n > INT32_MAX)
		return mvm_error_set(e, EOVERFLOW, "the store holds %" PRId64
		    " rows, more than a count can return", n);
	return (int)n;
}

/*
 * Take the handle. Fails with -EDEADLK when the caller is a list callback
 * of this handle (the only thread that can get the recursive lock then).
 */
static int
store_lock(struct mvm_store *st, struct mvm_error *e)
{
	pthread_mutex_lock(&st->lock);
	if (st->in_callback) {
		pthread_mutex_unlock(&st->lock);
		return mvm_error_set(e, EDEADLK, "a list callback called into "
		    "the store it is listing; act after the listing returns");
	}
	return 0;
}

static void
store_unlock(struct mvm_store *st)
{
	pthread_mutex_unlock(&st->lock);
}

/*
 * Start a mutating call: its own transaction outside an explicit one, a
 * savepoint inside one. On success the handle is locked until write_end.
 */
static int
write_begin(struct mvm_store *st, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = exec_stmt(st, st->in_txn ? ST_SAVEPOINT : ST_BEGIN, e);
	if (rc < 0)
		store_unlock(st);
	return rc;
}

/*
 * Finish a mutating call whose result is `rc`: keep its changes when rc is
 * not negative, undo them otherwise. Returns rc, or the commit's error.
 */
static int
write_end(struct mvm_store *st, int rc, struct mvm_error *e)
{
	int r;

	if (st->in_txn) {
		if (rc < 0 && !sqlite3_get_autocommit(st->db))
			exec_stmt(st, ST_ROLLBACK_TO, NULL);
		if (!sqlite3_get_autocommit(st->db)) {
			r = exec_stmt(st, ST_RELEASE, rc < 0 ? NULL : e);
			if (rc >= 0 && r < 0)
				rc = r;
		}
	} else if (rc >= 0) {
		if ((r = exec_stmt(st, ST_COMMIT, e)) < 0) {
			rc = r;
			if (!sqlite3_get_autocommit(st->db))
				exec_stmt(st, ST_ROLLBACK, NULL);
		}
	} else if (!sqlite3_get_autocommit(st->db))
		exec_stmt(st, ST_ROLLBACK, NULL);
	store_unlock(st);
	return rc;
}

/* Run a query that returns one integer, such as PRAGMA user_version. */
static int
query_int(struct mvm_store *st, const char *sql, int *out,
    struct mvm_error *e)
{
	sqlite3_stmt *s = NULL;
	int rc;

	rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		*out = sqlite3_column_int(s, 0);
		rc = 0;
	} else
		rc = sql_error(st, rc, e);
	sqlite3_finalize(s);
	return rc;
}

/* Run SQL text without results. */
static int
exec_sql(struct mvm_store *st, const char *sql, struct mvm_error *e)
{
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sql_error(st, rc, e);
}

/*
 * Bring the schema to MVM_STORE_SCHEMA_VERSION, one migration per
 * transaction. The version is read inside the write transaction, so two
 * processes opening a new file at once do not both migrate it.
 */
static int
migrate(struct mvm_store *st, const char *path, struct mvm_error *e)
{
	char sql[96];
	int version, app_id, objects, rc;

	for (;;) {
		if ((rc = exec_sql(st, "BEGIN IMMEDIATE", e)) < 0)
			goto fail;
		if ((rc = query_int(st, "PRAGMA application_id", &app_id,
		    e)) < 0 || (rc = query_int(st, "PRAGMA user_version",
		    &version, e)) < 0 || (rc = query_int(st, "SELECT count(*)"
		    " FROM sqlite_schema", &objects, e)) < 0)
			goto fail;
		if (app_id != STORE_APP_ID && (app_id != 0 || objects != 0)) {
			rc = mvm_error_set(e, EPROTO, "\"%s\" is an SQLite "
			    "database of another application, not an mvm "
			    "store", path);
			goto fail;
		}
		if (version < 0 || version > MVM_STORE_SCHEMA_VERSION) {
			rc = mvm_error_set(e, EPROTO, "the store \"%s\" has "
			    "schema version %d, and this build knows versions "
			    "up to %d; use a newer mvm", path, version,
			    MVM_STORE_SCHEMA_VERSION);
			goto fail;
		}
		if (version == MVM_STORE_SCHEMA_VERSION) {
			if ((rc = exec_sql(st, "COMMIT", e)) < 0)
				goto fail;
			return 0;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; "
		    "PRAGMA application_id = %d;", version + 1, STORE_APP_ID);
		if ((rc = exec_sql(st, migrations[version], e)) < 0 ||
		    (rc = exec_sql(st, sql, e)) < 0 ||
		    (rc = exec_sql(st, "COMMIT", e)) < 0)
			goto fail;
	}

fail:
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
mvm_store_open(const char *path, struct mvm_store **out, struct mvm_error *e)
{
	pthread_mutexattr_t attr;
	struct mvm_store *st;
	int fd, rc, i;

	*out = NULL;
	/* Create the file ourselves, for its mode and a clear errno. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return mvm_error_set(e, errno, "cannot open the store \"%s\": "
		    "%s", path, strerror(errno));
	close(fd);

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory opening the "
		    "store \"%s\"", path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	/* The handle's mutex serialises use, so SQLite's own is not needed. */
	rc = sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		rc = st->db == NULL ? mvm_error_set(e, ENOMEM, "out of memory "
		    "opening the store \"%s\"", path) : sql_error(st, rc, e);
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);

	/* The first statement reads the file: a foreign file fails here. */
	rc = sqlite3_exec(st->db, "PRAGMA journal_mode = WAL", NULL, NULL,
	    NULL);
	if ((rc & 0xff) == SQLITE_NOTADB) {
		rc = mvm_error_set(e, EIO, "\"%s\" is not an SQLite database, "
		    "so it cannot be an mvm store", path);
		goto fail;
	}
	if (rc != SQLITE_OK) {
		rc = sql_error(st, rc, e);
		goto fail;
	}
	if ((rc = exec_sql(st, "PRAGMA foreign_keys = ON; "
	    "PRAGMA synchronous = NORMAL;", e)) < 0 ||
	    (rc = migrate(st, path, e)) < 0)
		goto fail;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			rc = sql_error(st, rc, e);
			goto fail;
		}
	}
	*out = st;
	return 0;

fail:
	mvm_store_close(st);
	return rc;
}

void
mvm_store_close(struct mvm_store *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->in_txn) {
		exec_stmt(st, ST_ROLLBACK, NULL);
		st->in_txn = false;
		store_unlock(st);
	}
	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int
mvm_store_schema_version(struct mvm_store *st)
{
	int version, rc;

	if ((rc = store_lock(st, NULL)) < 0)
		return rc;
	rc = query_int(st, "PRAGMA user_version", &version, NULL);
	store_unlock(st);
	return rc < 0 ? rc : version;
}

int
mvm_store_begin(struct mvm_store *st, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if (st->in_txn)
		rc = mvm_error_set(e, EINVAL, "a store transaction is already "
		    "open on this handle");
	else
		rc = exec_stmt(st, ST_BEGIN, e);
	if (rc < 0) {
		store_unlock(st);
		return rc;
	}
	/* Keep the lock: the transaction belongs to this thread. */
	st->in_txn = true;
	return 0;
}

/* End the explicit transaction with COMMIT or ROLLBACK and let go of it. */
static int
txn_end(struct mvm_store *st, enum stmt how, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if (!st->in_txn) {
		store_unlock(st);
		return mvm_error_set(e, EINVAL, "no store transaction is open "
		    "on this handle");
	}
	rc = exec_stmt(st, how, e);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		exec_stmt(st, ST_ROLLBACK, NULL);
	st->in_txn = false;
	/* Once for this call, once for the lock mvm_store_begin kept. */
	store_unlock(st);
	store_unlock(st);
	return rc;
}

int
mvm_store_commit(struct mvm_store *st, struct mvm_error *e)
{
	return txn_end(st, ST_COMMIT, e);
}

int
mvm_store_rollback(struct mvm_store *st)
{
	return txn_end(st, ST_ROLLBACK, NULL);
}

/* Tenants. */

static int
tenant_get(struct mvm_store *st, const char *id, struct mvm_tenant *out,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_GET];
	int rc;

	if ((rc = bind_str(st, s, 1, id, e)) < 0)
		goto out;
	rc = next_row(st, s, tenant_cols, NCOLS(tenant_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" does not exist",
		    id);
out:
	stmt_done(s);
	return rc < 0 ? rc : 0;
}

/* Report which tenant holds `net_id` (after a UNIQUE violation). */
static int
net_id_taken(struct mvm_store *st, uint16_t net_id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_BY_NET_ID];
	char owner[MVM_ID_MAX + 1] = "?";
	const unsigned char *text;

	if (bind_i64(st, s, 1, net_id, NULL) == 0 &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    (text = sqlite3_column_text(s, 0)) != NULL)
		snprintf(owner, sizeof(owner), "%s", (const char *)text);
	stmt_done(s);
	return mvm_error_set(e, EEXIST, "net_id %u is already used by tenant "
	    "%s", net_id, owner);
}

int
mvm_store_tenant_create(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_INSERT];
	struct mvm_tenant row = *t;
	int rc;

	if ((rc = mvm_net_check_net_id(t->net_id, e)) < 0)
		return rc;
	row.revision = 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_row(st, s, tenant_cols, NCOLS(tenant_cols), &row,
	    e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = mvm_error_set(e, EEXIST, "tenant \"%s\" already exists",
		    t->id);
	else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = net_id_taken(st, t->net_id, e);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		t->revision = 1;
	return rc;
}

int
mvm_store_tenant_get(struct mvm_store *st, const char *id,
    struct mvm_tenant *out, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = tenant_get(st, id, out, e);
	store_unlock(st);
	return rc;
}

int
mvm_store_object_tenant(struct mvm_store *st, const char *tenant,
    const char *pool, const char *instance, struct mvm_tenant *out,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_OF_OBJECT];
	int rc;

	if (instance != NULL && pool == NULL)
		return mvm_error_set(e, EINVAL, "instance \"%s\" was given "
		    "without its pool", instance);
	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = bind_str(st, s, 3, instance, e)) < 0)
		goto out;
	rc = next_row(st, s, tenant_cols, NCOLS(tenant_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "object \"%s%s%s%s%s\" does not "
		    "exist", tenant, pool != NULL ? "/" : "",
		    pool != NULL ? pool : "", instance != NULL ? "/" : "",
		    instance != NULL ? instance : "");
out:
	stmt_done(s);
	store_unlock(st);
	return rc < 0 ? rc : 0;
}

int
mvm_store_tenant_update(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_UPDATE];
	struct mvm_tenant row = *t, cur;
	int rc;

	if ((rc = mvm_net_check_net_id(t->net_id, e)) < 0)
		return rc;
	row.revision = t->revision + 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_row(st, s, tenant_cols, NCOLS(tenant_cols), &row,
	    e)) < 0 || (rc = bind_i64(st, s, NCOLS(tenant_cols) + 1,
	    (int64_t)t->revision, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE) {
		if ((rc = tenant_get(st, t->id, &cur, e)) == 0)
			rc = mvm_error_set(e, ESTALE, "tenant \"%s\" was "
			    "changed meanwhile (revision %" PRIu64 ", not %"
			    PRIu64 "); read it again", t->id, cur.revision,
			    t->revision);
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = net_id_taken(st, t->net_id, e);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		t->revision++;
	return rc;
}

int
mvm_store_tenant_delete(struct mvm_store *st, const char *id,
    struct mvm_error *e)
{
	sqlite3_stmt *count = st->stmt[ST_POOL_COUNT];
	sqlite3_stmt *s = st->stmt[ST_TENANT_DELETE];
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, count, 1, id, e)) < 0 ||
	    (rc = count_rows(st, count, e)) < 0)
		goto out;
	if (rc > 0) {
		rc = mvm_error_set(e, EBUSY, "tenant \"%s\" still has %d "
		    "pool%s; delete them first", id, rc, rc == 1 ? "" : "s");
		goto out;
	}
	if ((rc = bind_str(st, s, 1, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" does not exist",
		    id);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(count);
	stmt_done(s);
	return write_end(st, rc, e);
}

int
mvm_store_tenant_list(struct mvm_store *st, mvm_store_tenant_fn fn,
    void *arg, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_LIST];
	struct mvm_tenant t;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	st->in_callback = true;
	while ((rc = next_row(st, s, tenant_cols, NCOLS(tenant_cols), &t,
	    e)) == 1)
		if ((rc = fn(&t, arg)) != 0)
			break;
	st->in_callback = false;
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_tenant_count(struct mvm_store *st, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_COUNT];
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = count_rows(st, s, e);
	stmt_done(s);
	store_unlock(st);
	return rc;
}

/* Pools. */

static int
pool_get(struct mvm_store *st, const char *tenant, const char *id,
    struct mvm_pool *out, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_POOL_GET];
	int rc;

	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, id, e)) < 0)
		goto out;
	rc = next_row(st, s, pool_cols, NCOLS(pool_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "pool \"%s/%s\" does not exist",
		    tenant, id);
out:
	stmt_done(s);
	return rc < 0 ? rc : 0;
}

int
mvm_store_pool_create(struct mvm_store *st, struct mvm_pool *p,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_POOL_INSERT];
	struct mvm_pool row = *p;
	int rc;

	row.revision = 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_row(st, s, pool_cols, NCOLS(pool_cols), &row, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = mvm_error_set(e, EEXIST, "pool \"%s/%s\" already exists",
		    p->tenant, p->id);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" does not exist",
		    p->tenant);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		p->revision = 1;
	return rc;
}

int
mvm_store_pool_get(struct mvm_store *st, const char *tenant, const char *id,
    struct mvm_pool *out, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = pool_get(st, tenant, id, out, e);
	store_unlock(st);
	return rc;
}

int
mvm_store_pool_update(struct mvm_store *st, struct mvm_pool *p,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_POOL_UPDATE];
	struct mvm_pool row = *p, cur;
	int rc;

	row.revision = p->revision + 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_row(st, s, pool_cols, NCOLS(pool_cols), &row, e)) < 0 ||
	    (rc = bind_i64(st, s, NCOLS(pool_cols) + 1, (int64_t)p->revision,
	    e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE) {
		if ((rc = pool_get(st, p->tenant, p->id, &cur, e)) == 0)
			rc = mvm_error_set(e, ESTALE, "pool \"%s/%s\" was "
			    "changed meanwhile (revision %" PRIu64 ", not %"
			    PRIu64 "); read it again", p->tenant, p->id,
			    cur.revision, p->revision);
	} else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		p->revision++;
	return rc;
}

int
mvm_store_pool_delete(struct mvm_store *st, const char *tenant,
    const char *id, struct mvm_error *e)
{
	sqlite3_stmt *count = st->stmt[ST_INSTANCE_COUNT];
	sqlite3_stmt *s = st->stmt[ST_POOL_DELETE];
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, count, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, count, 2, id, e)) < 0 ||
	    (rc = count_rows(st, count, e)) < 0)
		goto out;
	if (rc > 0) {
		rc = mvm_error_set(e, EBUSY, "pool \"%s/%s\" still has %d "
		    "instance%s; delete them first", tenant, id, rc,
		    rc == 1 ? "" : "s");
		goto out;
	}
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "pool \"%s/%s\" does not exist",
		    tenant, id);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(count);
	stmt_done(s);
	return write_end(st, rc, e);
}

int
mvm_store_pool_list(struct mvm_store *st, const char *tenant,
    mvm_store_pool_fn fn, void *arg, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_POOL_LIST];
	struct mvm_pool p;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((rc = next_row(st, s, pool_cols, NCOLS(pool_cols), &p,
	    e)) == 1)
		if ((rc = fn(&p, arg)) != 0)
			break;
	st->in_callback = false;
out:
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_pool_count(struct mvm_store *st, const char *tenant,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_POOL_COUNT];
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) == 0)
		rc = count_rows(st, s, e);
	stmt_done(s);
	store_unlock(st);
	return rc;
}

/* Instances. */

static int
instance_get(struct mvm_store *st, const char *tenant, const char *pool,
    const char *id, struct mvm_instance *out, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_GET];
	int rc;

	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = bind_str(st, s, 3, id, e)) < 0)
		goto out;
	rc = next_row(st, s, instance_cols, NCOLS(instance_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" does not "
		    "exist", tenant, pool, id);
out:
	stmt_done(s);
	return rc < 0 ? rc : 0;
}

static int
check_offset(uint16_t offset, struct mvm_error *e)
{
	if (offset < MVM_NET_FIRST_OFFSET || offset > MVM_NET_LAST_OFFSET)
		return mvm_error_set(e, EINVAL, "ip_offset %u is outside "
		    "%d..%d", offset, MVM_NET_FIRST_OFFSET,
		    MVM_NET_LAST_OFFSET);
	return 0;
}

/* Report which instance holds `offset` (after a UNIQUE violation). */
static int
offset_taken(struct mvm_store *st, const char *tenant, uint16_t offset,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_BY_OFFSET];
	char owner[2 * MVM_ID_MAX + 2] = "?";
	const unsigned char *pool, *id;

	if (bind_str(st, s, 1, tenant, NULL) == 0 &&
	    bind_i64(st, s, 2, offset, NULL) == 0 &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    (pool = sqlite3_column_text(s, 0)) != NULL &&
	    (id = sqlite3_column_text(s, 1)) != NULL)
		snprintf(owner, sizeof(owner), "%.*s/%.*s", MVM_ID_MAX,
		    (const char *)pool, MVM_ID_MAX, (const char *)id);
	stmt_done(s);
	return mvm_error_set(e, EEXIST, "ip_offset %u of tenant \"%s\" is "
	    "already used by instance %s", offset, tenant, owner);
}

static int
used_offsets(struct mvm_store *st, const char *tenant, uint8_t used[32],
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_OFFSETS];
	int64_t v;
	int rc;

	memset(used, 0, 32);
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = sqlite3_column_int64(s, 0);
		if (v < 0 || v > 255) {
			rc = mvm_error_set(e, EIO, "corrupt row in the store: "
			    "ip_offset %" PRId64 " of tenant \"%s\"", v,
			    tenant);
			goto out;
		}
		used[v / 8] |= (uint8_t)(1u << (v % 8));
	}
	rc = rc == SQLITE_DONE ? 0 : sql_error(st, rc, e);
out:
	stmt_done(s);
	return rc;
}

/* Pick the lowest free offset of the tenant for a new instance. */
static int
allocate_offset(struct mvm_store *st, const char *tenant, uint16_t *offset,
    struct mvm_error *e)
{
	struct mvm_tenant t;
	uint8_t used[32];
	char subnet[16];
	int rc;

	if ((rc = tenant_get(st, tenant, &t, e)) < 0 ||
	    (rc = used_offsets(st, tenant, used, e)) < 0)
		return rc;
	if (mvm_net_lowest_free(used, offset) < 0) {
		mvm_net_format_ip(mvm_net_subnet(t.net_id), subnet);
		return mvm_error_set(e, ENOSPC, "no free address in %s/24 "
		    "(tenant \"%s\")", subnet, tenant);
	}
	return 0;
}

int
mvm_store_instance_create(struct mvm_store *st, struct mvm_instance *in,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_INSERT];
	struct mvm_instance row = *in;
	int rc;

	if (in->ip_offset != 0 && (rc = check_offset(in->ip_offset, e)) < 0)
		return rc;
	row.revision = 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if (row.ip_offset == 0 && (rc = allocate_offset(st, in->tenant,
	    &row.ip_offset, e)) < 0)
		goto out;
	if ((rc = bind_row(st, s, instance_cols, NCOLS(instance_cols), &row,
	    e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = mvm_error_set(e, EEXIST, "instance \"%s/%s/%s\" already "
		    "exists", in->tenant, in->pool, in->id);
	else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = offset_taken(st, in->tenant, row.ip_offset, e);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = mvm_error_set(e, ENOENT, "pool \"%s/%s\" does not exist",
		    in->tenant, in->pool);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0) {
		in->ip_offset = row.ip_offset;
		in->revision = 1;
	}
	return rc;
}

int
mvm_store_instance_get(struct mvm_store *st, const char *tenant,
    const char *pool, const char *id, struct mvm_instance *out,
    struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = instance_get(st, tenant, pool, id, out, e);
	store_unlock(st);
	return rc;
}

int
mvm_store_instance_update(struct mvm_store *st, struct mvm_instance *in,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_UPDATE];
	struct mvm_instance row = *in, cur;
	int rc;

	if ((rc = check_offset(in->ip_offset, e)) < 0)
		return rc;
	row.revision = in->revision + 1;
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_row(st, s, instance_cols, NCOLS(instance_cols), &row,
	    e)) < 0 || (rc = bind_i64(st, s, NCOLS(instance_cols) + 1,
	    (int64_t)in->revision, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE) {
		if ((rc = instance_get(st, in->tenant, in->pool, in->id, &cur,
		    e)) == 0)
			rc = mvm_error_set(e, ESTALE, "instance \"%s/%s/%s\" "
			    "was changed meanwhile (revision %" PRIu64 ", not %"
			    PRIu64 "); read it again", in->tenant, in->pool,
			    in->id, cur.revision, in->revision);
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = offset_taken(st, in->tenant, in->ip_offset, e);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		in->revision++;
	return rc;
}

int
mvm_store_instance_delete(struct mvm_store *st, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_DELETE];
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = bind_str(st, s, 3, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" does not "
		    "exist", tenant, pool, id);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	return write_end(st, rc, e);
}

/* Bind the (tenant, pool) selection of instance list and count. */
static int
bind_selection(struct mvm_store *st, sqlite3_stmt *s, const char *tenant,
    const char *pool, struct mvm_error *e)
{
	int rc;

	if (tenant == NULL && pool != NULL)
		return mvm_error_set(e, EINVAL, "pool \"%s\" was given without "
		    "its tenant", pool);
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0)
		return rc;
	return bind_str(st, s, 2, pool, e);
}

int
mvm_store_instance_list(struct mvm_store *st, const char *tenant,
    const char *pool, mvm_store_instance_fn fn, void *arg,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_LIST];
	struct mvm_instance in;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_selection(st, s, tenant, pool, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((rc = next_row(st, s, instance_cols, NCOLS(instance_cols), &in,
	    e)) == 1)
		if ((rc = fn(&in, arg)) != 0)
			break;
	st->in_callback = false;
out:
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_instance_count(struct mvm_store *st, const char *tenant,
    const char *pool, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_COUNT];
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_selection(st, s, tenant, pool, e)) == 0)
		rc = count_rows(st, s, e);
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_instance_tally(struct mvm_store *st, const char *tenant,
    mvm_store_tally_fn fn, void *arg, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_TALLY];
	const unsigned char *pool;
	int rc, sr, state;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((sr = sqlite3_step(s)) == SQLITE_ROW) {
		pool = sqlite3_column_text(s, 0);
		state = sqlite3_column_int(s, 1);
		if (pool == NULL || state < 0 || state >= MVM_STATE_COUNT) {
			rc = mvm_error_set(e, EIO, "the store holds a bad "
			    "instance state %d in tenant \"%s\"", state,
			    tenant);
			break;
		}
		if ((rc = fn((const char *)pool, (enum mvm_state)state,
		    (uint32_t)sqlite3_column_int64(s, 2), arg)) != 0)
			break;
	}
	st->in_callback = false;
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		rc = sql_error(st, sr, e);
out:
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_used_offsets(struct mvm_store *st, const char *tenant,
    uint8_t used[32], struct mvm_error *e)
{
	struct mvm_tenant t;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = tenant_get(st, tenant, &t, e)) == 0)
		rc = used_offsets(st, tenant, used, e);
	store_unlock(st);
	return rc;
}

/* Intents. */

int
mvm_store_intent_begin(struct mvm_store *st, struct mvm_intent *it,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_INSERT];
	int64_t id = 0;
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	/* Skip the id column: SQLite assigns it. */
	if ((rc = bind_row(st, s, intent_cols + 1, NCOLS(intent_cols) - 1, it,
	    e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		id = sqlite3_last_insert_rowid(st->db);
		rc = 0;
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = mvm_error_set(e, EBUSY, "instance \"%s/%s/%s\" already "
		    "has a transition in progress", it->tenant, it->pool,
		    it->instance);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" does not "
		    "exist", it->tenant, it->pool, it->instance);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0)
		it->id = id;
	return rc;
}

int
mvm_store_intent_step(struct mvm_store *st, int64_t id, int32_t step,
    const char *detail, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_STEP];
	int rc;

	if (detail == NULL)
		detail = "";
	if (strlen(detail) > MVM_INTENT_DETAIL_MAX)
		return mvm_error_set(e, EINVAL, "an intent detail of %zu bytes "
		    "is longer than %d", strlen(detail), MVM_INTENT_DETAIL_MAX);
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_i64(st, s, 1, id, e)) < 0 ||
	    (rc = bind_i64(st, s, 2, step, e)) < 0 ||
	    (rc = bind_str(st, s, 3, detail, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "intent %" PRId64 " does not "
		    "exist", id);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	return write_end(st, rc, e);
}

int
mvm_store_intent_end(struct mvm_store *st, int64_t id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_DELETE];
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_i64(st, s, 1, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "intent %" PRId64 " does not "
		    "exist", id);
	else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	return write_end(st, rc, e);
}

int
mvm_store_intent_get(struct mvm_store *st, const char *tenant,
    const char *pool, const char *instance, struct mvm_intent *out,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_GET];
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = bind_str(st, s, 3, instance, e)) < 0)
		goto out;
	rc = next_row(st, s, intent_cols, NCOLS(intent_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" has no "
		    "transition in progress", tenant, pool, instance);
out:
	stmt_done(s);
	store_unlock(st);
	return rc < 0 ? rc : 0;
}

int
mvm_store_intent_list(struct mvm_store *st, mvm_store_intent_fn fn,
    void *arg, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_LIST];
	struct mvm_intent it;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	st->in_callback = true;
	while ((rc = next_row(st, s, intent_cols, NCOLS(intent_cols), &it,
	    e)) == 1)
		if ((rc = fn(&it, arg)) != 0)
			break;
	st->in_callback = false;
	stmt_done(s);
	store_unlock(st);
	return rc;
}

/* Events. */

int
mvm_store_event_add(struct mvm_store *st, const struct mvm_event *ev,
    int64_t *seq, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_EVENT_INSERT];
	int64_t id = 0;
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	/* Skip the seq column: SQLite assigns it. */
	if ((rc = bind_row(st, s, event_cols + 1, NCOLS(event_cols) - 1, ev,
	    e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		id = sqlite3_last_insert_rowid(st->db);
		rc = 0;
	} else
		rc = sql_error(st, rc, e);
out:
	stmt_done(s);
	if ((rc = write_end(st, rc, e)) == 0 && seq != NULL)
		*seq = id;
	return rc;
}

int
mvm_store_event_list(struct mvm_store *st, const struct mvm_event_filter *f,
    mvm_store_event_fn fn, void *arg, struct mvm_error *e)
{
	static const struct mvm_event_filter all;
	sqlite3_stmt *s = st->stmt[ST_EVENT_LIST];
	struct mvm_event ev;
	int64_t limit;
	int rc;

	if (f == NULL)
		f = &all;
	/* A negative LIMIT means none to SQLite. */
	limit = f->limit == 0 || f->limit > INT64_MAX ? -1 : (int64_t)f->limit;
	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, f->tenant, e)) < 0 ||
	    (rc = bind_str(st, s, 2, f->pool, e)) < 0 ||
	    (rc = bind_str(st, s, 3, f->instance, e)) < 0 ||
	    (rc = bind_i64(st, s, 4, f->after_seq, e)) < 0 ||
	    (rc = bind_i64(st, s, 5, limit, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((rc = next_row(st, s, event_cols, NCOLS(event_cols), &ev,
	    e)) == 1)
		if ((rc = fn(&ev, arg)) != 0)
			break;
	st->in_callback = false;
out:
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_events_prune(struct mvm_store *st, size_t keep_count,
    int64_t keep_age_ms, int64_t now_ms, struct mvm_error *e)
{
	sqlite3_stmt *age = st->stmt[ST_EVENT_PRUNE_AGE];
	sqlite3_stmt *count = st->stmt[ST_EVENT_PRUNE_COUNT];
	int64_t removed = 0;
	int rc;

	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if (keep_age_ms > 0 && now_ms > INT64_MIN + keep_age_ms) {
		if ((rc = bind_i64(st, age, 1, now_ms - keep_age_ms, e)) < 0)
			goto out;
		if ((rc = sqlite3_step(age)) != SQLITE_DONE) {
			rc = sql_error(st, rc, e);
			goto out;
		}
		removed += sqlite3_changes(st->db);
	}
	if (keep_count > 0 && keep_count <= INT64_MAX) {
		if ((rc = bind_i64(st, count, 1, (int64_t)keep_count, e)) < 0)
			goto out;
		if ((rc = sqlite3_step(count)) != SQLITE_DONE) {
			rc = sql_error(st, rc, e);
			goto out;
		}
		removed += sqlite3_changes(st->db);
	}
	rc = removed > INT32_MAX ? INT32_MAX : (int)removed;
out:
	stmt_done(age);
	stmt_done(count);
	return write_end(st, rc, e);
}

/* Meta. */

int
mvm_store_meta_get(struct mvm_store *st, const char *key, char *buf,
    size_t size, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_META_GET];
	const unsigned char *text;
	size_t len;
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, key, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		/* An absent key is an answer, not a failure: e stays as it was. */
		rc = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = sql_error(st, rc, e);
		goto out;
	}
	text = sqlite3_column_text(s, 0);
	len = (size_t)sqlite3_column_bytes(s, 0);
	if (text == NULL || len > INT32_MAX)
		rc = mvm_error_set(e, EIO, "corrupt row in the store: setting "
		    "\"%s\"", key);
	else if (len >= size)
		rc = mvm_error_set(e, ERANGE, "setting \"%s\" holds %zu bytes, "
		    "more than the buffer of %zu can take", key, len, size);
	else {
		memcpy(buf, text, len);
		buf[len] = '\0';
		rc = (int)len;
	}
out:
	stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_meta_set(struct mvm_store *st, const char *key, const char *value,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_META_SET];
	int rc;

	if (key == NULL || value == NULL)
		return mvm_error_set(e, EINVAL, "a setting needs a key and a "
		    "value");
	if ((rc = write_begin(st, e)) < 0)
		return rc;
	if ((rc = bind_str(st, s, 1, key, e)) < 0 ||
	    (rc = bind_str(st, s, 2, value, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : sql_error(st, rc, e);
out:
	stmt_done(s);
	return write_end(st, rc, e);
}
