/*
 * test_store_schema.c: opening the store (a new file, a missing directory,
 * files that are not an mvm store), reopening it, and the migration from
 * schema 1. The raw SQL here forges old, newer or foreign databases.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "storetest.h"

STORETEST_SUITE(store);

/* Open and schema. */

Test(store, open_creates_private_file_at_current_schema)
{
	struct stat sb;

	cr_assert_eq(stat(storetest_fix.db, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(mvm_store_schema_version(st), MVM_STORE_SCHEMA_VERSION);
}

Test(store, open_in_missing_directory_is_enoent)
{
	struct mvm_store *other = NULL;
	char p[192];

	snprintf(p, sizeof(p), "%s/no/such/dir/state.db", storetest_fix.dir);
	cr_assert_eq(mvm_store_open(p, &other, &err), -ENOENT);
	cr_assert_null(other);
	cr_assert_eq(err.code, ENOENT);
	cr_assert_not_null(strstr(err.msg, p), "%s", err.msg);
}

Test(store, open_file_that_is_not_a_database_fails_clearly)
{
	struct mvm_store *other = NULL;
	char p[192];
	FILE *f;

	snprintf(p, sizeof(p), "%s/junk.db", storetest_fix.dir);
	cr_assert_not_null(f = fopen(p, "w"));
	for (int i = 0; i < 200; i++)
		fputs("this is not an SQLite database at all\n", f);
	fclose(f);
	cr_assert_eq(mvm_store_open(p, &other, &err), -EIO);
	cr_assert_null(other);
	cr_assert_not_null(strstr(err.msg, "not an SQLite database"), "%s",
	    err.msg);
}

Test(store, open_newer_schema_is_eproto)
{
	struct mvm_store *other = NULL;

	mvm_store_close(st);
	st = NULL;
	storetest_raw_sql(storetest_fix.db, "PRAGMA user_version = 99");
	cr_assert_eq(mvm_store_open(storetest_fix.db, &other, &err), -EPROTO);
	cr_assert_null(other);
	cr_assert_not_null(strstr(err.msg, "schema version 99"), "%s",
	    err.msg);
}

Test(store, open_foreign_sqlite_database_is_eproto)
{
	struct mvm_store *other = NULL;
	char p[192];

	snprintf(p, sizeof(p), "%s/other.db", storetest_fix.dir);
	storetest_raw_sql(p, "CREATE TABLE tenants (x); "
	    "INSERT INTO tenants VALUES (1)");
	cr_assert_eq(mvm_store_open(p, &other, &err), -EPROTO);
	cr_assert_null(other);
	cr_assert_not_null(strstr(err.msg, "another application"), "%s",
	    err.msg);
}

Test(store, reopen_keeps_everything)
{
	struct mvm_tenant t = storetest_tenant("acme", 3), got_t;
	struct mvm_pool p = storetest_pool("acme", "web"), got_p;
	struct mvm_instance in = storetest_instance("acme", "web", "i1"), got_i;
	struct mvm_intent it = { .from_state = MVM_STATE_CREATED,
	    .to_state = MVM_STATE_RUNNING, .op = MVM_OP_STARTING }, got_it;
	struct mvm_event ev = { .time_ms = 5, .action = "created" };
	char buf[32];

	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	memcpy(it.tenant, "acme", 5);
	memcpy(it.pool, "web", 4);
	memcpy(it.instance, "i1", 3);
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), 0);
	cr_assert_eq(mvm_store_event_add(st, &ev, NULL, &err), 0);
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "n1", &err), 0);
	mvm_store_close(st);
	cr_assert_eq(mvm_store_open(storetest_fix.db, &st, &err), 0, "%s",
	    err.msg);

	cr_assert_eq(mvm_store_tenant_get(st, "acme", &got_t, &err), 0);
	storetest_tenant_eq(&got_t, &t);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &got_p, &err), 0);
	storetest_pool_eq(&got_p, &p);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got_i,
	    &err), 0);
	cr_assert_eq(got_i.ip_offset, 3);
	cr_assert_eq(mvm_store_intent_get(st, "acme", "web", "i1", &got_it,
	    &err), 0);
	cr_assert_eq(got_it.id, it.id);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf),
	    &err), 2);
	cr_assert_str_eq(buf, "n1");
	cr_assert_eq(mvm_store_schema_version(st), MVM_STORE_SCHEMA_VERSION);
}

/* The columns schema 4 added, dropped again to forge an older file. */
#define DROP_SCHEMA_4 "ALTER TABLE instances DROP COLUMN vcpus;" \
	"ALTER TABLE instances DROP COLUMN mem_mib;" \
	"ALTER TABLE instances DROP COLUMN disk_mib;" \
	"ALTER TABLE instances DROP COLUMN run_name;"

/*
 * A schema 1 file (the columns of schemas 2 to 4 dropped again, as a file
 * of the first release had them) opens at the current schema with every
 * row kept and the new columns at their defaults.
 */
Test(store, schema_1_migrates_forward)
{
	struct mvm_tenant t = storetest_tenant("acme", 3);
	struct mvm_pool p = storetest_pool("acme", "web"), got_p;
	struct mvm_instance in = storetest_instance("acme", "web", "i1"), got_i;

	p.managed = true;
	in.failures = 2;
	in.parked = true;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	mvm_store_close(st);
	st = NULL;
	storetest_raw_sql(storetest_fix.db, DROP_SCHEMA_4
	    "ALTER TABLE pools DROP COLUMN managed;"
	    "ALTER TABLE pools DROP COLUMN settle_seconds;"
	    "ALTER TABLE instances DROP COLUMN failures;"
	    "ALTER TABLE instances DROP COLUMN last_failure_at;"
	    "ALTER TABLE instances DROP COLUMN parked;"
	    "ALTER TABLE instances DROP COLUMN parked_from;"
	    "PRAGMA user_version = 1");
	cr_assert_eq(mvm_store_open(storetest_fix.db, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(mvm_store_schema_version(st), MVM_STORE_SCHEMA_VERSION);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &got_p, &err), 0);
	cr_assert_not(got_p.managed);
	cr_assert_eq(got_p.runtime.settle_seconds, 60);
	cr_assert_eq(got_p.vcpus, p.vcpus);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got_i,
	    &err), 0);
	cr_assert_eq(got_i.failures, 0);
	cr_assert_eq(got_i.last_failure_at, 0);
	cr_assert_not(got_i.parked);
	cr_assert_eq(got_i.ip_offset, in.ip_offset);
}

/*
 * A schema 3 file opens at schema 4: an instance that has a VM or a
 * snapshot records its pool's size (what schema 3 booted it with) and the
 * run directory schema 3 named after its tap, where its VMM listens; an
 * instance never booted records neither.
 */
Test(store, schema_3_migrates_forward)
{
	struct mvm_tenant t = storetest_tenant("acme", 3);
	struct mvm_pool p = storetest_pool("acme", "web");
	struct mvm_instance a = storetest_instance("acme", "web", "a");
	struct mvm_instance b = storetest_instance("acme", "web", "b");
	struct mvm_instance c = storetest_instance("acme", "web", "c");
	struct mvm_instance got;
	char tap[32];

	p.vcpus = 3;
	p.mem_mib = 384;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	a.state = MVM_STATE_RUNNING;
	a.pid = 4242;
	b.state = MVM_STATE_SLEEPING;
	cr_assert_eq(mvm_store_instance_create(st, &a, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &b, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &c, &err), 0);
	mvm_store_close(st);
	st = NULL;
	storetest_raw_sql(storetest_fix.db, DROP_SCHEMA_4
	    "PRAGMA user_version = 3");
	cr_assert_eq(mvm_store_open(storetest_fix.db, &st, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(mvm_store_schema_version(st), 4);

	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "a", &got,
	    &err), 0);
	cr_expect_eq(got.vcpus, 3);
	cr_expect_eq(got.mem_mib, 384);
	cr_expect_eq(got.disk_mib, 0);
	snprintf(tap, sizeof(tap), "mvm-t3i%u", (unsigned)got.ip_offset);
	cr_expect_str_eq(got.run_name, tap);
	cr_expect_eq(got.pid, 4242);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "b", &got,
	    &err), 0);
	cr_expect_eq(got.vcpus, 3);
	snprintf(tap, sizeof(tap), "mvm-t3i%u", (unsigned)got.ip_offset);
	cr_expect_str_eq(got.run_name, tap);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "c", &got,
	    &err), 0);
	cr_expect_eq(got.vcpus, 0);
	cr_expect_eq(got.mem_mib, 0);
	cr_expect_str_eq(got.run_name, "");
}
