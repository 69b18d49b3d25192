/*
 * store_instances.c: instances, the addresses (ip offsets) they hold
 * within their tenant, their tally by state, and the intents of their
 * transitions.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "netplan.h"
#include "store_int.h"

/*
 * In the order of INSTANCE_COLS and of "id, " INTENT_COLS (store_int.h):
 * SQLite assigns the id on insert.
 */
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
	COL(COL_U32, struct mvm_instance, vcpus),
	COL(COL_U32, struct mvm_instance, mem_mib),
	COL(COL_U64, struct mvm_instance, disk_mib),
	COL(COL_TEXT, struct mvm_instance, run_name),
	COL(COL_U64, struct mvm_instance, revision),
};

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

/* Instances. */

static int
instance_get(struct mvm_store *st, const char *tenant, const char *pool,
    const char *id, struct mvm_instance *out, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_GET];
	int rc;

	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, id, e)) < 0)
		goto out;
	rc = store_next_row(st, s, instance_cols, NCOLS(instance_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" does not "
		    "exist", tenant, pool, id);
out:
	store_stmt_done(s);
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

	if (store_bind_str(st, s, 1, tenant, NULL) == 0 &&
	    store_bind_i64(st, s, 2, offset, NULL) == 0 &&
	    sqlite3_step(s) == SQLITE_ROW &&
	    (pool = sqlite3_column_text(s, 0)) != NULL &&
	    (id = sqlite3_column_text(s, 1)) != NULL)
		snprintf(owner, sizeof(owner), "%.*s/%.*s", MVM_ID_MAX,
		    (const char *)pool, MVM_ID_MAX, (const char *)id);
	store_stmt_done(s);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0)
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
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
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

	if ((rc = store_tenant_get(st, tenant, &t, e)) < 0 ||
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if (row.ip_offset == 0 && (rc = allocate_offset(st, in->tenant,
	    &row.ip_offset, e)) < 0)
		goto out;
	if ((rc = store_bind_row(st, s, instance_cols, NCOLS(instance_cols),
	    &row, e)) < 0)
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0) {
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_row(st, s, instance_cols, NCOLS(instance_cols),
	    &row, e)) < 0 || (rc = store_bind_i64(st, s,
	    NCOLS(instance_cols) + 1, (int64_t)in->revision, e)) < 0)
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
		in->revision++;
	return rc;
}

int
mvm_store_instance_delete(struct mvm_store *st, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_DELETE];
	int rc;

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" does not "
		    "exist", tenant, pool, id);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	return store_write_end(st, rc, e);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0)
		return rc;
	return store_bind_str(st, s, 2, pool, e);
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
	while ((rc = store_next_row(st, s, instance_cols, NCOLS(instance_cols),
	    &in, e)) == 1)
		if ((rc = fn(&in, arg)) != 0)
			break;
	st->in_callback = false;
out:
	store_stmt_done(s);
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
		rc = store_count_rows(st, s, e);
	store_stmt_done(s);
	store_unlock(st);
	return rc;
}

int
mvm_store_instance_tally(struct mvm_store *st, const char *tenant,
    mvm_store_tally_fn fn, void *arg, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INSTANCE_TALLY];
	struct mvm_store_tally t;
	const unsigned char *pool;
	int rc, sr, state;

	if ((rc = store_lock(st, e)) < 0)
		return rc;
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0)
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
		t = (struct mvm_store_tally){ .pool = (const char *)pool,
		    .state = (enum mvm_state)state,
		    .vcpus = (uint32_t)sqlite3_column_int64(s, 2),
		    .mem_mib = (uint32_t)sqlite3_column_int64(s, 3),
		    .count = (uint32_t)sqlite3_column_int64(s, 4),
		    .disk_mib = (uint64_t)sqlite3_column_int64(s, 5) };
		if ((rc = fn(&t, arg)) != 0)
			break;
	}
	st->in_callback = false;
	if (sr != SQLITE_ROW && sr != SQLITE_DONE)
		rc = store_sql_error(st, sr, e);
out:
	store_stmt_done(s);
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
	if ((rc = store_tenant_get(st, tenant, &t, e)) == 0)
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

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	/* Skip the id column: SQLite assigns it. */
	if ((rc = store_bind_row(st, s, intent_cols + 1,
	    NCOLS(intent_cols) - 1, it, e)) < 0)
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
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0)
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_i64(st, s, 1, id, e)) < 0 ||
	    (rc = store_bind_i64(st, s, 2, step, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, detail, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "intent %" PRId64 " does not "
		    "exist", id);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	return store_write_end(st, rc, e);
}

int
mvm_store_intent_end(struct mvm_store *st, int64_t id, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_INTENT_DELETE];
	int rc;

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_i64(st, s, 1, id, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE && sqlite3_changes(st->db) == 1)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = mvm_error_set(e, ENOENT, "intent %" PRId64 " does not "
		    "exist", id);
	else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	return store_write_end(st, rc, e);
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
	if ((rc = store_bind_str(st, s, 1, tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, pool, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, instance, e)) < 0)
		goto out;
	rc = store_next_row(st, s, intent_cols, NCOLS(intent_cols), out, e);
	if (rc == 0)
		rc = mvm_error_set(e, ENOENT, "instance \"%s/%s/%s\" has no "
		    "transition in progress", tenant, pool, instance);
out:
	store_stmt_done(s);
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
	while ((rc = store_next_row(st, s, intent_cols, NCOLS(intent_cols), &it,
	    e)) == 1)
		if ((rc = fn(&it, arg)) != 0)
			break;
	st->in_callback = false;
	store_stmt_done(s);
	store_unlock(st);
	return rc;
}
