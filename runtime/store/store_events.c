/*
 * store_events.c: the audit log (events) and the settings (meta).
 */
#include "store.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

/* In the order of "seq, " EVENT_COLS (store_int.h): SQLite assigns seq. */
static const struct column event_cols[] = {
	COL(COL_I64, struct mvm_event, seq),
	COL(COL_I64, struct mvm_event, time_ms),
	COL(COL_TEXT, struct mvm_event, tenant),
	COL(COL_TEXT, struct mvm_event, pool),
	COL(COL_TEXT, struct mvm_event, instance),
	COL(COL_TEXT, struct mvm_event, action),
	COL(COL_TEXT, struct mvm_event, detail),
};

/* Events. */

int
mvm_store_event_add(struct mvm_store *st, const struct mvm_event *ev,
    int64_t *seq, struct mvm_error *e)
{
	sqlite3_stmt *s = st->stmt[ST_EVENT_INSERT];
	int64_t id = 0;
	int rc;

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	/* Skip the seq column: SQLite assigns it. */
	if ((rc = store_bind_row(st, s, event_cols + 1, NCOLS(event_cols) - 1,
	    ev, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		id = sqlite3_last_insert_rowid(st->db);
		rc = 0;
	} else
		rc = store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	if ((rc = store_write_end(st, rc, e)) == 0 && seq != NULL)
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
	if ((rc = store_bind_str(st, s, 1, f->tenant, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, f->pool, e)) < 0 ||
	    (rc = store_bind_str(st, s, 3, f->instance, e)) < 0 ||
	    (rc = store_bind_i64(st, s, 4, f->after_seq, e)) < 0 ||
	    (rc = store_bind_i64(st, s, 5, limit, e)) < 0)
		goto out;
	st->in_callback = true;
	while ((rc = store_next_row(st, s, event_cols, NCOLS(event_cols), &ev,
	    e)) == 1)
		if ((rc = fn(&ev, arg)) != 0)
			break;
	st->in_callback = false;
out:
	store_stmt_done(s);
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

	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if (keep_age_ms > 0 && now_ms > INT64_MIN + keep_age_ms) {
		if ((rc = store_bind_i64(st, age, 1, now_ms - keep_age_ms,
		    e)) < 0)
			goto out;
		if ((rc = sqlite3_step(age)) != SQLITE_DONE) {
			rc = store_sql_error(st, rc, e);
			goto out;
		}
		removed += sqlite3_changes(st->db);
	}
	if (keep_count > 0 && keep_count <= INT64_MAX) {
		if ((rc = store_bind_i64(st, count, 1, (int64_t)keep_count,
		    e)) < 0)
			goto out;
		if ((rc = sqlite3_step(count)) != SQLITE_DONE) {
			rc = store_sql_error(st, rc, e);
			goto out;
		}
		removed += sqlite3_changes(st->db);
	}
	rc = removed > INT32_MAX ? INT32_MAX : (int)removed;
out:
	store_stmt_done(age);
	store_stmt_done(count);
	return store_write_end(st, rc, e);
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
	if ((rc = store_bind_str(st, s, 1, key, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		/* An absent key is an answer, not a failure: e stays as it was. */
		rc = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		rc = store_sql_error(st, rc, e);
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
	store_stmt_done(s);
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
	if ((rc = store_write_begin(st, e)) < 0)
		return rc;
	if ((rc = store_bind_str(st, s, 1, key, e)) < 0 ||
	    (rc = store_bind_str(st, s, 2, value, e)) < 0)
		goto out;
	rc = sqlite3_step(s);
	rc = rc == SQLITE_DONE ? 0 : store_sql_error(st, rc, e);
out:
	store_stmt_done(s);
	return store_write_end(st, rc, e);
}
