/*
 * store_row.c: parameters bound from the structs of model.h and store.h,
 * and rows read back into them, through the column table (struct column)
 * that each concern's file keeps for its struct.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include <sqlite3.h>

#include "store_int.h"

/* Bind a string, or NULL, to parameter `i`. */
int
store_bind_str(struct mvm_store *st, sqlite3_stmt *s, int i, const char *v,
    struct mvm_error *e)
{
	int rc;

	if (v == NULL)
		rc = sqlite3_bind_null(s, i);
	else
		rc = sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : store_sql_error(st, rc, e);
}

int
store_bind_i64(struct mvm_store *st, sqlite3_stmt *s, int i, int64_t v,
    struct mvm_error *e)
{
	int rc;

	rc = sqlite3_bind_int64(s, i, v);
	return rc == SQLITE_OK ? 0 : store_sql_error(st, rc, e);
}

/* Bind the fields of `row` described by `cols` to parameters 1, 2, ... */
int
store_bind_row(struct mvm_store *st, sqlite3_stmt *s, const struct column *cols,
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
				return store_sql_error(st, rc, e);
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
			return store_sql_error(st, rc, e);
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
int
store_next_row(struct mvm_store *st, sqlite3_stmt *s, const struct column *cols,
    size_t ncols, void *row, struct mvm_error *e)
{
	int rc;

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_sql_error(st, rc, e);
	rc = read_row(s, cols, ncols, row, e);
	return rc < 0 ? rc : 1;
}

/* Run a bound "SELECT count(*)" and return the count. */
int
store_count_rows(struct mvm_store *st, sqlite3_stmt *s, struct mvm_error *e)
{
	int64_t n;
	int rc;

	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW)
		return store_sql_error(st, rc, e);
	n = sqlite3_column_int64(s, 0);
	if (n < 0 || n > INT32_MAX)
		return mvm_error_set(e, EOVERFLOW, "the store holds %" PRId64
		    " rows, more than a count can return", n);
	return (int)n;
}
