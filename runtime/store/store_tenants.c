/*
 * store_tenants.c: tenants and pools, and the tenant of an object.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include <sqlite3.h>

#include "netplan.h"
#include "store_int.h"

/* In the order of TENANT_COLS and POOL_COLS (store_int.h). */
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
	COL(COL_U32, struct mvm_pool, runtime.settle_seconds),
	COL(COL_I64, struct mvm_pool, created_at),
	COL(COL_U64, struct mvm_pool, revision),
};

/* Tenants. */

int
store_tenant_get(struct mvm_store *st, const char *id, struct mvm_tenant *out,
    struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_GET];
	int rc;

	if ((rc = store_bind_str(st, s, 1, id, e)) < 0)
		goto out;
	rc = store_next_row(st, s, tenant_cols, NCOLS(tenant_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" does not exist",
		    id);
out:
	store_stmt_done(s);
	return rc < 0 ? rc : 0;
}

/* Report which tenant holds `net_id` (after a UNIQUE violation). */
static int
net_id_taken(struct mvm_store *st, uint16_t net_id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_TENANT_BY_NET_ID];
	char owner[MVM_ID_MAX + 1] = "?";
	const unsigned char *text;

	if (store_bind_i64(st, s, 1, net_id, NULL) == 0 &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    (text = sqlite3_column_text(s, 0)) != NULL)
		snprintf(owner, sizeof(owner), "%s", (const char *)text);
	store_stmt_done(s);
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_row(st, s, tenant_cols, NCOLS(tenant_cols), &row,
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
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
	rc = store_tenant_get(st, id, out, e);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, instance, e)) < 0)
		goto out;
	rc = store_next_row(st, s, tenant_cols, NCOLS(tenant_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "object \"%s%s%s%s%s\" does not "
		    "exist", tenant, pool != NULL ? "/" : "",
		    pool != NULL ? pool : "", instance != NULL ? "/" : "",
		    instance != NULL ? instance : "");
out:
	store_stmt_done(s);
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_row(st, s, tenant_cols, NCOLS(tenant_cols), &row,
	    e)) < 0 || (rc = store_bind_i64(st, s, NCOLS(tenant_cols) + 1,
	    (int64_t)t->revision, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE) {
		if ((rc = store_tenant_get(st, t->id, &cur, e)) == 0)
			rc = mvm_error_set(e, ESTALE, "tenant \"%s\" was "
			    "changed meanwhile (revision %" PRIu64 ", not %"
			    PRIu64 "); read it again", t->id, cur.revision,
			    t->revision);
	} else if (rc == SQLITE_CONSTRAINT_UNIQUE)
		rc = net_id_taken(st, t->net_id, e);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
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

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_str(st, count, 1, id, e)) < 0 ||
	    (rc = store_count_rows(st, count, e)) < 0)
		goto out;
	if (rc > 0) {
		rc = mvm_error_set(e, EBUSY, "tenant \"%s\" still has %d "
		    "pool%s; delete them first", id, rc, rc == 1 ? "" : "s");
		goto out;
	}
	if ((rc = store_bind_str(st, s, 1, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" does not exist",
		    id);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(count);
	store_stmt_done(s);
	return store_write_end(st, rc, e);
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
	while ((rc = store_next_row(st, s, tenant_cols, NCOLS(tenant_cols), &t,
	    e)) == 1)
		if ((rc = fn(&t, arg)) != 0)
			break;
	st->in_callback = false;
	store_stmt_done(s);
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
	rc = store_count_rows(st, s, e);
	store_stmt_done(s);
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

	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, id, e)) < 0)
		goto out;
	rc = store_next_row(st, s, pool_cols, NCOLS(pool_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "pool \"%s/%s\" does not exist",
		    tenant, id);
out:
	store_stmt_done(s);
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_row(st, s, pool_cols, NCOLS(pool_cols), &row,
	    e)) < 0)
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_row(st, s, pool_cols, NCOLS(pool_cols), &row,
	    e)) < 0 || (rc = store_bind_i64(st, s, NCOLS(pool_cols) + 1,
	    (int64_t)p->revision, e)) < 0)
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
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

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_str(st, count, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, count, 2, id, e)) < 0 ||
	    (rc = store_count_rows(st, count, e)) < 0)
		goto out;
	if (rc > 0) {
		rc = mvm_error_set(e, EBUSY, "pool \"%s/%s\" still has %d "
		    "instance%s; delete them first", tenant, id, rc,
		    rc == 1 ? "" : "s");
		goto out;
	}
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "pool \"%s/%s\" does not exist",
		    tenant, id);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(count);
	store_stmt_done(s);
	return store_write_end(st, rc, e);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((rc = store_next_row(st, s, pool_cols, NCOLS(pool_cols), &p,
	    e)) == 1)
		if ((rc = fn(&p, arg)) != 0)
			break;
	st->in_callback = false;
out:
	store_stmt_done(s);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) == 0)
		rc = store_count_rows(st, s, e);
	store_stmt_done(s);
	store_unlock(st);
	return rc;
}
