/*
 * storefix.c: the fixture of the store's unit tests (see storefix.h).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "storefix.h"
#include "tmpdir.h"

char	storefix_dir[64];
char	storefix_path[128];

/* The test file's handle, as storefix_setup was given it. */
static struct mvm_store **fix_st;

void
storefix_setup(struct mvm_store **st)
{
	struct mvm_error err = { .code = 0 };

	fix_st = st;
	tmpdir_make(storefix_dir, sizeof(storefix_dir), "store");
	snprintf(storefix_path, sizeof(storefix_path), "%s/state.db",
	    storefix_dir);
	cr_assert_eq(mvm_store_open(storefix_path, st, &err), 0, "%s",
	    err.msg);
}

void
storefix_teardown(void)
{
	mvm_store_close(*fix_st);
	*fix_st = NULL;
	tmpdir_remove(storefix_dir);
}

struct mvm_tenant
storefix_tenant(const char *id, uint16_t net_id)
{
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.net_id = net_id;
	return t;
}

struct mvm_pool
storefix_pool(const char *tenant_id, const char *id)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant_id);
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.image, sizeof(p.image), "debian-12");
	return p;
}

struct mvm_instance
storefix_instance(const char *tenant_id, const char *pool_id, const char *id)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant_id);
	snprintf(in.pool, sizeof(in.pool), "%s", pool_id);
	snprintf(in.id, sizeof(in.id), "%s", id);
	return in;
}

void
storefix_tenant_and_pool(struct mvm_store *st, const char *t, const char *p)
{
	struct mvm_tenant tt = storefix_tenant(t, 3);
	struct mvm_pool pp = storefix_pool(t, p);
	struct mvm_error err = { .code = 0 };

	cr_assert_eq(mvm_store_tenant_create(st, &tt, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_pool_create(st, &pp, &err), 0, "%s", err.msg);
}

void
storefix_raw_sql(const char *p, const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

void
storefix_tenant_eq(const struct mvm_tenant *a, const struct mvm_tenant *b)
{
	cr_assert_str_eq(a->id, b->id);
	cr_assert_eq(a->net_id, b->net_id);
	cr_assert_eq(memcmp(&a->quota, &b->quota, sizeof(a->quota)), 0);
	cr_assert_eq(a->uid, b->uid);
	cr_assert_eq(a->gid, b->gid);
	cr_assert_eq(a->pinned, b->pinned);
	cr_assert_eq(a->created_at, b->created_at);
	cr_assert_eq(a->revision, b->revision);
}

void
storefix_pool_eq(const struct mvm_pool *a, const struct mvm_pool *b)
{
	cr_assert_str_eq(a->tenant, b->tenant);
	cr_assert_str_eq(a->id, b->id);
	cr_assert_str_eq(a->image, b->image);
	cr_assert_eq(a->vcpus, b->vcpus);
	cr_assert_eq(a->mem_mib, b->mem_mib);
	cr_assert_eq(a->data_disk_mib, b->data_disk_mib);
	cr_assert_eq(memcmp(&a->desired, &b->desired, sizeof(a->desired)), 0);
	cr_assert_eq(memcmp(&a->runtime, &b->runtime, sizeof(a->runtime)), 0);
	cr_assert_eq(memcmp(&a->sleep, &b->sleep, sizeof(a->sleep)), 0);
	cr_assert_eq(a->pinned, b->pinned);
	cr_assert_eq(a->created_at, b->created_at);
	cr_assert_eq(a->revision, b->revision);
}

void
storefix_instance_eq(const struct mvm_instance *a,
    const struct mvm_instance *b)
{
	cr_assert_str_eq(a->tenant, b->tenant);
	cr_assert_str_eq(a->pool, b->pool);
	cr_assert_str_eq(a->id, b->id);
	cr_assert_eq(a->state, b->state);
	cr_assert_eq(a->op, b->op);
	cr_assert_eq(a->created_at, b->created_at);
	cr_assert_eq(a->entered_running_at, b->entered_running_at);
	cr_assert_eq(a->entered_warm_at, b->entered_warm_at);
	cr_assert_eq(a->ip_offset, b->ip_offset);
	cr_assert_eq(a->pid, b->pid);
	cr_assert_eq(a->pid_start, b->pid_start);
	cr_assert_str_eq(a->reason, b->reason);
	cr_assert_eq(a->revision, b->revision);
}
