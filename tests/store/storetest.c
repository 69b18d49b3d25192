/*
 * storetest.c: the fixture of the store's unit tests (see storetest.h).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "storetest.h"

struct storefix	storetest_fix;

/* The test file's handle, as storetest_setup was given it. */
static struct mvm_store **fix_st;

void
storetest_setup(struct mvm_store **st)
{
	storefix_setup(&storetest_fix, "store");
	fix_st = st;
	*st = storetest_fix.st;
}

void
storetest_teardown(void)
{
	/* The test may have closed and reopened its handle: close that one. */
	mvm_store_close(*fix_st);
	*fix_st = NULL;
	storetest_fix.st = NULL;
	storefix_teardown(&storetest_fix);
}

struct mvm_tenant
storetest_tenant(const char *id, uint16_t net_id)
{
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.net_id = net_id;
	return t;
}

struct mvm_pool
storetest_pool(const char *tenant_id, const char *id)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant_id);
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.image, sizeof(p.image), "debian-12");
	return p;
}

struct mvm_instance
storetest_instance(const char *tenant_id, const char *pool_id, const char *id)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant_id);
	snprintf(in.pool, sizeof(in.pool), "%s", pool_id);
	snprintf(in.id, sizeof(in.id), "%s", id);
	return in;
}

void
storetest_tenant_and_pool(struct mvm_store *st, const char *t, const char *p)
{
	struct mvm_tenant tt = storetest_tenant(t, 3);
	struct mvm_pool pp = storetest_pool(t, p);
	struct mvm_error err = { .code = 0 };

	cr_assert_eq(mvm_store_tenant_create(st, &tt, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_pool_create(st, &pp, &err), 0, "%s", err.msg);
}

void
storetest_raw_sql(const char *p, const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

void
storetest_tenant_eq(const struct mvm_tenant *a, const struct mvm_tenant *b)
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
storetest_pool_eq(const struct mvm_pool *a, const struct mvm_pool *b)
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
storetest_instance_eq(const struct mvm_instance *a,
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
	cr_assert_eq(a->vcpus, b->vcpus);
	cr_assert_eq(a->mem_mib, b->mem_mib);
	cr_assert_eq(a->disk_mib, b->disk_mib);
	cr_assert_str_eq(a->run_name, b->run_name);
	cr_assert_eq(a->revision, b->revision);
}
