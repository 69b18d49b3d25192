/*
 * store.c: what every part of the store shares: the statements it caches,
 * the SQLite error mapping, the handle's lock, a mutating call's own
 * transaction or savepoint, and the explicit transactions of store.h.
 * store_int.h lists the other files.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "store_int.h"

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
	    ") WHERE tenant = ?1 AND id = ?2 AND revision = ?23",
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
	    " AND revision = ?22",
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
	[ST_INSTANCE_TALLY] = "SELECT pool, state, vcpus, mem_mib, count(*),"
	    " sum(disk_mib) FROM instances WHERE tenant = ?1"
	    " GROUP BY pool, state, vcpus, mem_mib"
	    " ORDER BY pool, state, vcpus, mem_mib",

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

/* Turn an SQLite result code into a negative errno and a sentence. */
int
store_sql_error(struct mvm_store *st, int rc, struct mvm_error *e)
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
void
store_stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* Run a cached statement that returns no rows. */
int
store_exec_stmt(struct mvm_store *st, enum stmt id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc;

	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, rc, e);
	store_stmt_done(s);
	return rc;
}

int
store_stmts_prepare(struct mvm_store *st, struct mvm_error *e)
{
	int rc, i;

	for (i = 0; i < ST_COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL);
		if (rc != SQLITE_OK)
			return store_sql_error(st, rc, e);
	}
	return 0;
}

void
store_stmts_finalize(struct mvm_store *st)
{
	int i;

	for (i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
}

/*
 * Take the handle. Fails with -EDEADLK when the caller is a list callback
 * of this handle (the only thread that can get the recursive lock then).
 */
int
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

void
store_unlock(struct mvm_store *st)
{
	pthread_mutex_unlock(&st->lock);
}

/*
 * Start a mutating call: its own transaction outside an explicit one, a
 * savepoint inside one. On success the handle is locked until store_write_end.
 */
int
store_write_begin(struct mvm_store *st, struct mvm_error *e)
{
	int rc;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	rc = store_exec_stmt(st, st->in_txn ? ST_SAVEPOINT : ST_BEGIN, e);
	if (rc < 0)
		store_unlock(st);
	return rc;
}

/*
 * Finish a mutating call whose result is `rc`: keep its changes when rc is
 * not negative, undo them otherwise. Returns rc, or the commit's error.
 */
int
store_write_end(struct mvm_store *st, int rc, struct mvm_error *e)
{
	int r;

	if (st->in_txn) {
		if (rc < 0 && !sqlite3_get_autocommit(st->db))
			store_exec_stmt(st, ST_ROLLBACK_TO, NULL);
		if (!sqlite3_get_autocommit(st->db)) {
			r = store_exec_stmt(st, ST_RELEASE, rc < 0 ? NULL : e);
			if (rc >= 0 && r < 0)
				rc = r;
		}
	} else if (rc >= 0) {
		if ((r = store_exec_stmt(st, ST_COMMIT, e)) < 0) {
			rc = r;
			if (!sqlite3_get_autocommit(st->db))
				store_exec_stmt(st, ST_ROLLBACK, NULL);
		}
	} else if (!sqlite3_get_autocommit(st->db))
		store_exec_stmt(st, ST_ROLLBACK, NULL);
	store_unlock(st);
	return rc;
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
		rc = store_exec_stmt(st, ST_BEGIN, e);
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
	rc = store_exec_stmt(st, how, e);
	if (rc < 0 && !sqlite3_get_autocommit(st->db))
		store_exec_stmt(st, ST_ROLLBACK, NULL);
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
