/*
 * store_schema.c: opening and closing the store: the file, the pragmas,
 * the forward migrations and the schema version.
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_int.h"

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
	/* 2 -> 3: how long a restarted instance must stay healthy. */
	"ALTER TABLE pools ADD COLUMN settle_seconds INTEGER NOT NULL"
	"  DEFAULT 60;",
	/*
	 * 3 -> 4: what an instance was booted with, the disk its snapshot
	 * uses, and the name of its run directory. Instances with a VM or a
	 * snapshot were booted at their pool's size (the only size schemas 2
	 * and 3 knew), and their VMMs listen in the directory schema 3 named
	 * after the tap (mvm_net_tap_name: "mvm-t<net_id>i<offset>"): both are
	 * recorded, so recovery finds those VMMs and a woken snapshot finds
	 * the sockets it was made with. The snapshot's size is measured when
	 * the instance next changes state.
	 */
	"ALTER TABLE instances ADD COLUMN vcpus INTEGER NOT NULL DEFAULT 0"
	"  CHECK (vcpus >= 0);"
	"ALTER TABLE instances ADD COLUMN mem_mib INTEGER NOT NULL DEFAULT 0"
	"  CHECK (mem_mib >= 0);"
	"ALTER TABLE instances ADD COLUMN disk_mib INTEGER NOT NULL DEFAULT 0"
	"  CHECK (disk_mib >= 0);"
	"ALTER TABLE instances ADD COLUMN run_name TEXT NOT NULL DEFAULT '';"
	"UPDATE instances SET"
	"  vcpus = (SELECT p.vcpus FROM pools p"
	"    WHERE p.tenant = instances.tenant AND p.id = instances.pool),"
	"  mem_mib = (SELECT p.mem_mib FROM pools p"
	"    WHERE p.tenant = instances.tenant AND p.id = instances.pool),"
	"  run_name = (SELECT printf('mvm-t%di%d', t.net_id, instances.ip_offset)"
	"    FROM tenants t WHERE t.id = instances.tenant)"
	"  WHERE state IN (1, 2, 3) OR pid != 0;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) ==
    MVM_STORE_SCHEMA_VERSION, "one migration per schema version");

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
		rc = store_sql_error(st, rc, e);
	sqlite3_finalize(s);
	return rc;
}

/* Run SQL text without results. */
static int
exec_sql(struct mvm_store *st, const char *sql, struct mvm_error *e)
{
	int rc;

	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sql_error(st, rc, e);
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
	int fd, rc;

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
		    "opening the store \"%s\"", path) :
		    store_sql_error(st, rc, e);
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
		rc = store_sql_error(st, rc, e);
		goto fail;
	}
	if ((rc = exec_sql(st, "PRAGMA foreign_keys = ON; "
	    "PRAGMA synchronous = NORMAL;", e)) < 0 ||
	    (rc = migrate(st, path, e)) < 0 ||
	    (rc = store_stmts_prepare(st, e)) < 0)
		goto fail;
	*out = st;
	return 0;

fail:
	mvm_store_close(st);
	return rc;
}

void
mvm_store_close(struct mvm_store *st)
{
	if (st == NULL)
		return;
	if (st->in_txn) {
		store_exec_stmt(st, ST_ROLLBACK, NULL);
		st->in_txn = false;
		store_unlock(st);
	}
	store_stmts_finalize(st);
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
