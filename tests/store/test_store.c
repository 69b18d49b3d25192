/*
 * test_store.c: the store's API against a real SQLite file in a temporary
 * directory. The few raw SQLite calls here forge damaged or foreign
 * databases that the store must refuse.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "tmpdir.h"

static char dir[64];
static char path[128];
static struct mvm_store *st;
static struct mvm_error err;

static void
setup(void)
{
	tmpdir_make(dir, sizeof(dir), "store");
	snprintf(path, sizeof(path), "%s/state.db", dir);
	cr_assert_eq(mvm_store_open(path, &st, &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	mvm_store_close(st);
	st = NULL;
	tmpdir_remove(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

static struct mvm_tenant
tenant(const char *id, uint16_t net_id)
{
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.net_id = net_id;
	return t;
}

static struct mvm_pool
pool(const char *tenant_id, const char *id)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant_id);
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.image, sizeof(p.image), "debian-12");
	return p;
}

static struct mvm_instance
instance(const char *tenant_id, const char *pool_id, const char *id)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant_id);
	snprintf(in.pool, sizeof(in.pool), "%s", pool_id);
	snprintf(in.id, sizeof(in.id), "%s", id);
	return in;
}

/* Create tenant `t` with net_id 3 and its pool `p`. */
static void
tenant_and_pool(const char *t, const char *p)
{
	struct mvm_tenant tt = tenant(t, 3);
	struct mvm_pool pp = pool(t, p);

	cr_assert_eq(mvm_store_tenant_create(st, &tt, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_pool_create(st, &pp, &err), 0, "%s", err.msg);
}

/* Forge a change with raw SQL, as damage or another program would. */
static void
raw_sql(const char *p, const char *sql)
{
	sqlite3 *db;

	cr_assert_eq(sqlite3_open(p, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
	    "%s", sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* Field by field: struct padding may differ between copies. */
static void
tenant_eq(const struct mvm_tenant *a, const struct mvm_tenant *b)
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

static void
pool_eq(const struct mvm_pool *a, const struct mvm_pool *b)
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

static void
instance_eq(const struct mvm_instance *a, const struct mvm_instance *b)
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

/* Open and schema. */

Test(store, open_creates_private_file_at_current_schema)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0600);
	cr_assert_eq(mvm_store_schema_version(st), MVM_STORE_SCHEMA_VERSION);
}

Test(store, open_in_missing_directory_is_enoent)
{
	struct mvm_store *other = NULL;
	char p[192];

	snprintf(p, sizeof(p), "%s/no/such/dir/state.db", dir);
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

	snprintf(p, sizeof(p), "%s/junk.db", dir);
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
	raw_sql(path, "PRAGMA user_version = 99");
	cr_assert_eq(mvm_store_open(path, &other, &err), -EPROTO);
	cr_assert_null(other);
	cr_assert_not_null(strstr(err.msg, "schema version 99"), "%s",
	    err.msg);
}

Test(store, open_foreign_sqlite_database_is_eproto)
{
	struct mvm_store *other = NULL;
	char p[192];

	snprintf(p, sizeof(p), "%s/other.db", dir);
	raw_sql(p, "CREATE TABLE tenants (x); INSERT INTO tenants VALUES (1)");
	cr_assert_eq(mvm_store_open(p, &other, &err), -EPROTO);
	cr_assert_null(other);
	cr_assert_not_null(strstr(err.msg, "another application"), "%s",
	    err.msg);
}

Test(store, reopen_keeps_everything)
{
	struct mvm_tenant t = tenant("acme", 3), got_t;
	struct mvm_pool p = pool("acme", "web"), got_p;
	struct mvm_instance in = instance("acme", "web", "i1"), got_i;
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
	cr_assert_eq(mvm_store_open(path, &st, &err), 0, "%s", err.msg);

	cr_assert_eq(mvm_store_tenant_get(st, "acme", &got_t, &err), 0);
	tenant_eq(&got_t, &t);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &got_p, &err), 0);
	pool_eq(&got_p, &p);
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

/*
 * A schema 1 file (the columns of schema 2 dropped again, as a file of the
 * first release had them) opens at schema 2 with every row kept and the
 * new columns at their defaults.
 */
Test(store, schema_1_migrates_forward)
{
	struct mvm_tenant t = tenant("acme", 3);
	struct mvm_pool p = pool("acme", "web"), got_p;
	struct mvm_instance in = instance("acme", "web", "i1"), got_i;

	p.managed = true;
	in.failures = 2;
	in.parked = true;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	mvm_store_close(st);
	st = NULL;
	raw_sql(path, "ALTER TABLE pools DROP COLUMN managed;"
	    "ALTER TABLE instances DROP COLUMN failures;"
	    "ALTER TABLE instances DROP COLUMN last_failure_at;"
	    "ALTER TABLE instances DROP COLUMN parked;"
	    "ALTER TABLE instances DROP COLUMN parked_from;"
	    "PRAGMA user_version = 1");
	cr_assert_eq(mvm_store_open(path, &st, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_schema_version(st), 2);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &got_p, &err), 0);
	cr_assert_not(got_p.managed);
	cr_assert_eq(got_p.vcpus, p.vcpus);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got_i,
	    &err), 0);
	cr_assert_eq(got_i.failures, 0);
	cr_assert_eq(got_i.last_failure_at, 0);
	cr_assert_not(got_i.parked);
	cr_assert_eq(got_i.ip_offset, in.ip_offset);
}

/* Tenants. */

Test(store, tenant_round_trips_every_field)
{
	struct mvm_tenant t = tenant("acme", 4095), got;

	t.quota = (struct mvm_quota){ 1, 2, 3, 4, 5, 6, 7 };
	t.uid = 4000000000u;
	t.gid = 1001;
	t.pinned = true;
	t.created_at = -12345678901LL;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.revision, 1);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(mvm_store_tenant_get(st, "acme", &got, &err), 0);
	cr_assert_str_eq(got.id, "acme");
	cr_assert_eq(got.net_id, 4095);
	cr_assert_eq(got.quota.max_vcpus, 1);
	cr_assert_eq(got.quota.max_mem_mib, 2);
	cr_assert_eq(got.quota.max_running, 3);
	cr_assert_eq(got.quota.max_warm, 4);
	cr_assert_eq(got.quota.max_pools, 5);
	cr_assert_eq(got.quota.max_instances_per_pool, 6);
	cr_assert_eq(got.quota.max_disk_gib, 7);
	cr_assert_eq(got.uid, 4000000000u);
	cr_assert_eq(got.gid, 1001);
	cr_assert(got.pinned);
	cr_assert_eq(got.created_at, -12345678901LL);
	cr_assert_eq(got.revision, 1);
}

Test(store, tenant_get_missing_is_enoent)
{
	struct mvm_tenant got;

	cr_assert_eq(mvm_store_tenant_get(st, "nobody", &got, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "tenant \"nobody\" does not exist");
}

Test(store, tenant_id_and_net_id_are_unique)
{
	struct mvm_tenant a = tenant("acme", 3), b = tenant("acme", 4),
	    c = tenant("beta", 3);

	cr_assert_eq(mvm_store_tenant_create(st, &a, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "tenant \"acme\" already exists");
	cr_assert_eq(mvm_store_tenant_create(st, &c, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "net_id 3 is already used by tenant acme");
	cr_assert_eq(mvm_store_tenant_count(st, &err), 1);
}

Test(store, tenant_net_id_out_of_range_is_einval)
{
	struct mvm_tenant t = tenant("acme", 4096);

	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), -EINVAL);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

Test(store, tenant_update_is_compare_and_swap)
{
	struct mvm_tenant t = tenant("acme", 3), other, b = tenant("beta", 4);

	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	other = t;
	t.quota.max_vcpus = 99;
	cr_assert_eq(mvm_store_tenant_update(st, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.revision, 2);

	/* A writer holding revision 1 lost the race. */
	other.quota.max_vcpus = 1;
	cr_assert_eq(mvm_store_tenant_update(st, &other, &err), -ESTALE);
	cr_assert_eq(other.revision, 1);
	cr_assert_not_null(strstr(err.msg, "revision 2, not 1"), "%s", err.msg);
	cr_assert_eq(mvm_store_tenant_get(st, "acme", &other, &err), 0);
	cr_assert_eq(other.quota.max_vcpus, 99);
	cr_assert_eq(other.revision, 2);

	/* The net_id stays unique through updates. */
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	b.net_id = 3;
	cr_assert_eq(mvm_store_tenant_update(st, &b, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "net_id 3 is already used by tenant acme");
	cr_assert_eq(b.revision, 1);

	t = tenant("ghost", 9);
	cr_assert_eq(mvm_store_tenant_update(st, &t, &err), -ENOENT);
}

Test(store, tenant_delete_restricted_by_pools)
{
	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), -EBUSY);
	cr_assert_str_eq(err.msg,
	    "tenant \"acme\" still has 1 pool; delete them first");
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "web", &err), 0);
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), 0);
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), -ENOENT);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

struct collect {
	char	ids[8][3 * MVM_ID_MAX + 3];
	int	n;
	int	stop_at;	/* return 7 after this many rows; 0: never */
};

static int
collect_tenant(const struct mvm_tenant *t, void *arg)
{
	struct collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", t->id);
	return c->n == c->stop_at ? 7 : 0;
}

Test(store, tenant_list_is_sorted_and_stoppable)
{
	struct mvm_tenant t;
	struct collect c = { .n = 0 };
	const char *ids[] = { "zeta", "alpha", "mid" };

	for (int i = 0; i < 3; i++) {
		t = tenant(ids[i], (uint16_t)i);
		cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	}
	cr_assert_eq(mvm_store_tenant_list(st, collect_tenant, &c, &err), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.ids[0], "alpha");
	cr_assert_str_eq(c.ids[1], "mid");
	cr_assert_str_eq(c.ids[2], "zeta");

	c = (struct collect){ .stop_at = 2 };
	cr_assert_eq(mvm_store_tenant_list(st, collect_tenant, &c, &err), 7);
	cr_assert_eq(c.n, 2);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 3);
}

static int
reenter(const struct mvm_tenant *t, void *arg)
{
	struct mvm_tenant got;

	*(int *)arg = mvm_store_tenant_get(st, t->id, &got, NULL);
	return 0;
}

Test(store, callback_calling_into_store_is_edeadlk)
{
	struct mvm_tenant t = tenant("acme", 3);
	int inner = 0;

	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_tenant_list(st, reenter, &inner, &err), 0);
	cr_assert_eq(inner, -EDEADLK);
	/* The handle is usable afterwards. */
	cr_assert_eq(mvm_store_tenant_get(st, "acme", &t, &err), 0);
}

/* Pools. */

Test(store, pool_round_trips_every_field)
{
	struct mvm_tenant t = tenant("acme", 3);
	struct mvm_pool p = pool("acme", "web"), got;

	p.vcpus = 2;
	p.mem_mib = 3;
	p.data_disk_mib = 4;
	p.desired = (struct mvm_counts){ 5, 6, 7 };
	p.runtime = (struct mvm_runtime_policy){ 8, 9, 10, 11 };
	p.sleep = (struct mvm_sleep_policy){ 12, 13, 14, 4294967295u };
	p.pinned = true;
	p.created_at = 1700000000;
	memset(p.image, 'x', MVM_IMAGE_MAX);
	p.image[MVM_IMAGE_MAX] = '\0';
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.revision, 1);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &got, &err), 0);
	pool_eq(&got, &p);
}

Test(store, pool_needs_its_tenant_and_is_unique)
{
	struct mvm_pool p = pool("ghost", "web");
	struct mvm_pool got;

	cr_assert_eq(mvm_store_pool_create(st, &p, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "tenant \"ghost\" does not exist");
	tenant_and_pool("acme", "web");
	p = pool("acme", "web");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "pool \"acme/web\" already exists");
	cr_assert_eq(mvm_store_pool_get(st, "acme", "api", &got, &err),
	    -ENOENT);
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "api", &err), -ENOENT);
}

Test(store, pool_update_is_compare_and_swap)
{
	struct mvm_pool p, stale;

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &p, &err), 0);
	stale = p;
	p.desired.running = 3;
	cr_assert_eq(mvm_store_pool_update(st, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.revision, 2);
	stale.desired.running = 9;
	cr_assert_eq(mvm_store_pool_update(st, &stale, &err), -ESTALE);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &stale, &err), 0);
	cr_assert_eq(stale.desired.running, 3);
	stale = pool("acme", "nope");
	cr_assert_eq(mvm_store_pool_update(st, &stale, &err), -ENOENT);
}

Test(store, pool_delete_restricted_by_instances)
{
	struct mvm_instance in = instance("acme", "web", "i1");

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "web", &err), -EBUSY);
	cr_assert_str_eq(err.msg,
	    "pool \"acme/web\" still has 1 instance; delete them first");
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "i1", &err),
	    0);
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "web", &err), 0);
}

static int
collect_pool(const struct mvm_pool *p, void *arg)
{
	struct collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s/%s", p->tenant,
	    p->id);
	return 0;
}

Test(store, pool_list_and_count_by_tenant)
{
	struct mvm_tenant b = tenant("beta", 4);
	struct mvm_pool p;
	struct collect c = { .n = 0 };

	tenant_and_pool("acme", "web");
	p = pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = pool("beta", "db");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);

	cr_assert_eq(mvm_store_pool_list(st, "acme", collect_pool, &c, &err),
	    0);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.ids[0], "acme/api");
	cr_assert_str_eq(c.ids[1], "acme/web");
	c.n = 0;
	cr_assert_eq(mvm_store_pool_list(st, NULL, collect_pool, &c, &err), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.ids[2], "beta/db");
	cr_assert_eq(mvm_store_pool_count(st, "acme", &err), 2);
	cr_assert_eq(mvm_store_pool_count(st, "beta", &err), 1);
	cr_assert_eq(mvm_store_pool_count(st, "ghost", &err), 0);
	cr_assert_eq(mvm_store_pool_count(st, NULL, &err), 3);
}

/* Instances. */

Test(store, instance_round_trips_every_field)
{
	struct mvm_instance in = instance("acme", "web", "i1"), got;

	tenant_and_pool("acme", "web");
	in.state = MVM_STATE_SLEEPING;
	in.op = MVM_OP_DESTROYING;
	in.created_at = 1;
	in.entered_running_at = 2;
	in.entered_warm_at = 3;
	in.ip_offset = 254;
	in.pid = -7;
	in.pid_start = UINT64_MAX;
	memset(in.reason, 'r', MVM_REASON_MAX);
	in.reason[MVM_REASON_MAX] = '\0';
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(in.revision, 1);
	cr_assert_eq(in.ip_offset, 254);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got,
	    &err), 0);
	instance_eq(&got, &in);
}

Test(store, instance_create_errors)
{
	struct mvm_instance in = instance("acme", "nope", "i1");

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "pool \"acme/nope\" does not exist");
	in = instance("ghost", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);

	in = instance("acme", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = instance("acme", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "instance \"acme/web/i1\" already exists");

	in = instance("acme", "web", "i2");
	in.ip_offset = 3;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "ip_offset 3 of tenant \"acme\" is already "
	    "used by instance web/i1");
	in.ip_offset = 2;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EINVAL);
	in.ip_offset = 255;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EINVAL);
	in.ip_offset = 0;
	in.state = MVM_STATE_COUNT;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EINVAL);
	cr_assert_eq(mvm_store_instance_count(st, "acme", "web", &err), 1);
}

Test(store, offsets_fill_the_subnet_then_enospc_and_reuse)
{
	struct mvm_instance in;
	uint8_t used[32];
	char id[16];

	tenant_and_pool("acme", "web");
	for (int i = 3; i <= 254; i++) {
		snprintf(id, sizeof(id), "i%d", i);
		in = instance("acme", "web", id);
		cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0, "%s",
		    err.msg);
		cr_assert_eq(in.ip_offset, i);
	}
	in = instance("acme", "web", "one-too-many");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOSPC);
	cr_assert_not_null(strstr(err.msg, "no free address in 10.240.3.0/24"),
	    "%s", err.msg);
	cr_assert_eq(in.ip_offset, 0);

	cr_assert_eq(mvm_store_used_offsets(st, "acme", used, &err), 0);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(!!(used[i / 8] & (1u << (i % 8))),
		    i >= 3 && i <= 254, "offset %d", i);

	/* The lowest freed offset is handed out again. */
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "i100",
	    &err), 0);
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "i40",
	    &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 40);
	in = instance("acme", "web", "another");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 100);
}

Test(store, offsets_are_per_tenant)
{
	struct mvm_tenant b = tenant("beta", 4);
	struct mvm_pool p = pool("beta", "web");
	struct mvm_instance in = instance("acme", "web", "i1");
	uint8_t used[32];

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = instance("beta", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 3);
	cr_assert_eq(mvm_store_used_offsets(st, "ghost", used, &err), -ENOENT);
}

Test(store, offsets_are_tenant_wide_across_pools)
{
	struct mvm_pool p = pool("acme", "api");
	struct mvm_instance in = instance("acme", "web", "i1");

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = instance("acme", "api", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 4);
	in = instance("acme", "api", "i2");
	in.ip_offset = 3;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EEXIST);
}

Test(store, instance_update_is_compare_and_swap)
{
	struct mvm_instance in = instance("acme", "web", "i1"), stale, other;

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	other = instance("acme", "web", "i2");
	cr_assert_eq(mvm_store_instance_create(st, &other, &err), 0);
	stale = in;
	in.state = MVM_STATE_RUNNING;
	in.pid = 1234;
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), 0, "%s",
	    err.msg);
	cr_assert_eq(in.revision, 2);
	stale.state = MVM_STATE_STOPPED;
	cr_assert_eq(mvm_store_instance_update(st, &stale, &err), -ESTALE);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &stale,
	    &err), 0);
	cr_assert_eq(stale.state, MVM_STATE_RUNNING);
	cr_assert_eq(stale.pid, 1234);

	in.ip_offset = other.ip_offset;
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), -EEXIST);
	in.ip_offset = 0;
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), -EINVAL);
	in = instance("acme", "web", "ghost");
	in.ip_offset = 9;
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), -ENOENT);
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "ghost",
	    &err), -ENOENT);
}

static int
collect_instance(const struct mvm_instance *in, void *arg)
{
	struct collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s/%s/%s", in->tenant,
	    in->pool, in->id);
	return 0;
}

Test(store, instance_list_and_count_by_pool_tenant_and_all)
{
	struct mvm_tenant b = tenant("beta", 4);
	struct mvm_pool p;
	struct mvm_instance in;
	struct collect c = { .n = 0 };
	const char *rows[][3] = { { "acme", "web", "b" },
	    { "acme", "web", "a" }, { "acme", "api", "z" },
	    { "beta", "db", "q" } };

	tenant_and_pool("acme", "web");
	p = pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = pool("beta", "db");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	for (int i = 0; i < 4; i++) {
		in = instance(rows[i][0], rows[i][1], rows[i][2]);
		cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	}

	cr_assert_eq(mvm_store_instance_list(st, "acme", "web",
	    collect_instance, &c, &err), 0);
	cr_assert_eq(c.n, 2);
	cr_assert_str_eq(c.ids[0], "acme/web/a");
	cr_assert_str_eq(c.ids[1], "acme/web/b");
	c.n = 0;
	cr_assert_eq(mvm_store_instance_list(st, "acme", NULL,
	    collect_instance, &c, &err), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.ids[0], "acme/api/z");
	c.n = 0;
	cr_assert_eq(mvm_store_instance_list(st, NULL, NULL, collect_instance,
	    &c, &err), 0);
	cr_assert_eq(c.n, 4);
	cr_assert_str_eq(c.ids[3], "beta/db/q");
	cr_assert_eq(mvm_store_instance_list(st, NULL, "web", collect_instance,
	    &c, &err), -EINVAL);

	cr_assert_eq(mvm_store_instance_count(st, "acme", "web", &err), 2);
	cr_assert_eq(mvm_store_instance_count(st, "acme", NULL, &err), 3);
	cr_assert_eq(mvm_store_instance_count(st, NULL, NULL, &err), 4);
}

/* One row of a tally, as text: "pool state count". */
static int
collect_tally(const char *pool, enum mvm_state state, uint32_t count,
    void *arg)
{
	struct collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s %s %u", pool,
	    mvm_state_name(state), count);
	return 0;
}

Test(store, instance_tally_counts_by_pool_and_state)
{
	struct mvm_tenant b = tenant("beta", 4);
	struct mvm_pool p;
	struct mvm_instance in;
	struct collect c = { .n = 0 };
	const char *rows[][3] = { { "acme", "web", "a" },
	    { "acme", "web", "b" }, { "acme", "web", "c" },
	    { "acme", "api", "z" }, { "beta", "db", "q" } };

	tenant_and_pool("acme", "web");
	p = pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = pool("beta", "db");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	for (int i = 0; i < 5; i++) {
		in = instance(rows[i][0], rows[i][1], rows[i][2]);
		cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	}
	/* web: a and b running, c created; api: z created. */
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(mvm_store_instance_get(st, "acme", "web",
		    rows[i][2], &in, &err), 0);
		in.state = MVM_STATE_RUNNING;
		cr_assert_eq(mvm_store_instance_update(st, &in, &err), 0);
	}

	cr_assert_eq(mvm_store_instance_tally(st, "acme", collect_tally, &c,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 3);
	cr_expect_str_eq(c.ids[0], "api created 1");
	cr_expect_str_eq(c.ids[1], "web created 1");
	cr_expect_str_eq(c.ids[2], "web running 2");
	c.n = 0;
	cr_assert_eq(mvm_store_instance_tally(st, "nobody", collect_tally, &c,
	    &err), 0);
	cr_expect_eq(c.n, 0);
}

Test(store, object_tenant_checks_the_whole_chain)
{
	struct mvm_tenant t;
	struct mvm_instance in = instance("acme", "web", "vm1");

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);

	memset(&t, 0, sizeof(t));
	cr_assert_eq(mvm_store_object_tenant(st, "acme", NULL, NULL, &t,
	    &err), 0, "%s", err.msg);
	cr_expect_str_eq(t.id, "acme");
	cr_expect_eq(t.net_id, 3);
	cr_expect_eq(mvm_store_object_tenant(st, "acme", "web", NULL, &t,
	    &err), 0);
	cr_expect_eq(mvm_store_object_tenant(st, "acme", "web", "vm1", &t,
	    &err), 0);
	cr_expect_eq(mvm_store_object_tenant(st, "acme", "web", "vm2", &t,
	    &err), -ENOENT);
	cr_expect_str_eq(err.msg, "object \"acme/web/vm2\" does not exist");
	cr_expect_eq(mvm_store_object_tenant(st, "acme", "api", NULL, &t,
	    &err), -ENOENT);
	cr_expect_eq(mvm_store_object_tenant(st, "beta", NULL, NULL, &t,
	    &err), -ENOENT);
	/* The instance exists, but under another pool. */
	cr_expect_eq(mvm_store_object_tenant(st, "beta", "web", "vm1", &t,
	    &err), -ENOENT);
	cr_expect_eq(mvm_store_object_tenant(st, "acme", NULL, "vm1", &t,
	    &err), -EINVAL);
}

/* Intents. */

static struct mvm_intent
intent(const char *t, const char *p, const char *i)
{
	struct mvm_intent it;

	memset(&it, 0, sizeof(it));
	snprintf(it.tenant, sizeof(it.tenant), "%s", t);
	snprintf(it.pool, sizeof(it.pool), "%s", p);
	snprintf(it.instance, sizeof(it.instance), "%s", i);
	it.from_state = MVM_STATE_RUNNING;
	it.to_state = MVM_STATE_SLEEPING;
	it.op = MVM_OP_SNAPSHOTTING;
	it.started_at = 42;
	snprintf(it.detail, sizeof(it.detail), "draining");
	return it;
}

static int
count_intent(const struct mvm_intent *it, void *arg)
{
	(void)it;
	(*(int *)arg)++;
	return 0;
}

Test(store, intent_lifecycle)
{
	struct mvm_instance in = instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1"), again, got;
	int n = 0;

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), -ENOENT);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), 0, "%s", err.msg);
	cr_assert_gt(it.id, 0);
	again = intent("acme", "web", "i1");
	cr_assert_eq(mvm_store_intent_begin(st, &again, &err), -EBUSY);
	cr_assert_str_eq(err.msg, "instance \"acme/web/i1\" already has a "
	    "transition in progress");

	cr_assert_eq(mvm_store_intent_step(st, it.id, 2, "snapshot written",
	    &err), 0);
	cr_assert_eq(mvm_store_intent_get(st, "acme", "web", "i1", &got,
	    &err), 0);
	cr_assert_eq(got.id, it.id);
	cr_assert_eq(got.step, 2);
	cr_assert_str_eq(got.detail, "snapshot written");
	cr_assert_eq(got.from_state, MVM_STATE_RUNNING);
	cr_assert_eq(got.to_state, MVM_STATE_SLEEPING);
	cr_assert_eq(got.op, MVM_OP_SNAPSHOTTING);
	cr_assert_eq(got.started_at, 42);
	cr_assert_eq(mvm_store_intent_list(st, count_intent, &n, &err), 0);
	cr_assert_eq(n, 1);

	cr_assert_eq(mvm_store_intent_end(st, it.id, &err), 0);
	cr_assert_eq(mvm_store_intent_end(st, it.id, &err), -ENOENT);
	cr_assert_eq(mvm_store_intent_step(st, it.id, 3, NULL, &err), -ENOENT);
	cr_assert_eq(mvm_store_intent_get(st, "acme", "web", "i1", &got,
	    &err), -ENOENT);
}

Test(store, intent_step_detail_too_long_is_einval)
{
	struct mvm_instance in = instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1");
	char detail[MVM_INTENT_DETAIL_MAX + 2];

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), 0);
	memset(detail, 'd', sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	cr_assert_eq(mvm_store_intent_step(st, it.id, 1, detail, &err),
	    -EINVAL);
	detail[MVM_INTENT_DETAIL_MAX] = '\0';
	cr_assert_eq(mvm_store_intent_step(st, it.id, 1, detail, &err), 0);
}

Test(store, intent_is_deleted_with_its_instance)
{
	struct mvm_instance in = instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1");
	int n = 0;

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), 0);
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "i1", &err),
	    0);
	cr_assert_eq(mvm_store_intent_list(st, count_intent, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(mvm_store_intent_end(st, it.id, &err), -ENOENT);
}

/* Events. */

static struct mvm_event
event(int64_t time_ms, const char *t, const char *p, const char *i,
    const char *action)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = time_ms;
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", t);
	snprintf(ev.pool, sizeof(ev.pool), "%s", p);
	snprintf(ev.instance, sizeof(ev.instance), "%s", i);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	snprintf(ev.detail, sizeof(ev.detail), "detail of %s", action);
	return ev;
}

struct seqs {
	int64_t	seq[16];
	int	n;
};

static int
collect_event(const struct mvm_event *ev, void *arg)
{
	struct seqs *s = arg;

	s->seq[s->n++] = ev->seq;
	return 0;
}

/* Events 1..6: two tenants, two pools, node-level ones with no tenant. */
static void
add_events(int64_t seq[6])
{
	struct mvm_event evs[6] = {
		event(1000, "acme", "web", "i1", "created"),
		event(2000, "acme", "web", "i2", "created"),
		event(3000, "acme", "api", "i1", "created"),
		event(4000, "beta", "web", "i1", "created"),
		event(5000, "", "", "", "node-started"),
		event(6000, "acme", "web", "i1", "running"),
	};

	for (int i = 0; i < 6; i++) {
		cr_assert_eq(mvm_store_event_add(st, &evs[i], &seq[i], &err),
		    0);
		if (i > 0)
			cr_assert_gt(seq[i], seq[i - 1]);
	}
}

Test(store, event_list_filters)
{
	struct mvm_event_filter f = { .tenant = "acme" };
	struct seqs s = { .n = 0 };
	int64_t seq[6];

	add_events(seq);
	cr_assert_eq(mvm_store_event_list(st, NULL, collect_event, &s, &err),
	    0);
	cr_assert_eq(s.n, 6);

	s.n = 0;
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.seq[3], seq[5]);

	s.n = 0;
	f = (struct mvm_event_filter){ .tenant = "acme", .pool = "web",
	    .instance = "i1" };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.seq[0], seq[0]);
	cr_assert_eq(s.seq[1], seq[5]);

	s.n = 0;
	f = (struct mvm_event_filter){ .pool = "web", .after_seq = seq[0],
	    .limit = 2 };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.seq[0], seq[1]);
	cr_assert_eq(s.seq[1], seq[3]);

	s.n = 0;
	f = (struct mvm_event_filter){ .tenant = "" };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.seq[0], seq[4]);
}

static int
copy_event(const struct mvm_event *ev, void *arg)
{
	*(struct mvm_event *)arg = *ev;
	return 1;
}

Test(store, event_fields_survive_the_round_trip)
{
	struct mvm_event ev = event(77, "acme", "web", "i1", "slept"), got;

	memset(ev.detail, 'd', MVM_EVENT_DETAIL_MAX);
	ev.detail[MVM_EVENT_DETAIL_MAX] = '\0';
	cr_assert_eq(mvm_store_event_add(st, &ev, &ev.seq, &err), 0);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(mvm_store_event_list(st, NULL, copy_event, &got, &err), 1);
	cr_assert_eq(got.seq, ev.seq);
	cr_assert_eq(got.time_ms, 77);
	cr_assert_str_eq(got.tenant, "acme");
	cr_assert_str_eq(got.pool, "web");
	cr_assert_str_eq(got.instance, "i1");
	cr_assert_str_eq(got.action, "slept");
	cr_assert_str_eq(got.detail, ev.detail);
}

Test(store, events_prune_by_count_and_age)
{
	struct seqs s = { .n = 0 };
	struct mvm_event ev = event(9000, "", "", "", "later");
	int64_t seq[6], next;

	add_events(seq);
	/* Nothing is older than 10 s at time 10 s; no count bound. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 10000, 10000, &err), 0);
	/* Older than 2.5 s at time 5 s: events at 1000 and 2000. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 2500, 5000, &err), 2);
	/* Keep the newest three of the remaining four. */
	cr_assert_eq(mvm_store_events_prune(st, 3, 0, 0, &err), 1);
	cr_assert_eq(mvm_store_event_list(st, NULL, collect_event, &s, &err),
	    0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.seq[0], seq[3]);
	cr_assert_eq(s.seq[2], seq[5]);
	/*
	 * Both bounds at once, each removing one: the age bound the event at
	 * 4000, the count bound (keep 1) the one at 5000.
	 */
	cr_assert_eq(mvm_store_events_prune(st, 1, 1500, 6000, &err), 2);
	/* Sequence numbers never go back, even after pruning everything. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 1, 1000000, &err), 1);
	cr_assert_eq(mvm_store_event_add(st, &ev, &next, &err), 0);
	cr_assert_gt(next, seq[5]);
}

/* Meta. */

Test(store, meta_get_set_and_buffer_size)
{
	char buf[8];

	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    -ENOENT);
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "node-1", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    6);
	cr_assert_str_eq(buf, "node-1");
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "node-1234", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    -ERANGE);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, 0, &err), -ERANGE);
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    0);
	cr_assert_str_eq(buf, "");
}

/* Transactions. */

Test(store, rollback_undoes_everything)
{
	struct mvm_tenant t = tenant("acme", 3);
	struct mvm_pool p = pool("acme", "web");

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_meta_set(st, "k", "v", &err), 0);
	cr_assert_eq(mvm_store_pool_count(st, "acme", &err), 1);
	cr_assert_eq(mvm_store_rollback(st), 0);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
	cr_assert_eq(mvm_store_pool_count(st, NULL, &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "k", NULL, 0, &err), -ENOENT);
}

Test(store, failing_call_inside_transaction_undoes_only_itself)
{
	struct mvm_tenant t = tenant("acme", 3);
	struct mvm_instance in = instance("acme", "nope", "i1");

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);
	cr_assert_eq(mvm_store_commit(st, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 1);
	cr_assert_eq(mvm_store_instance_count(st, NULL, NULL, &err), 0);
}

Test(store, failure_mid_transaction_then_rollback_leaves_nothing)
{
	struct mvm_tenant t = tenant("acme", 3), dup = tenant("beta", 3);
	struct mvm_pool p = pool("acme", "web");

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &dup, &err), -EEXIST);
	cr_assert_eq(mvm_store_rollback(st), 0);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
	cr_assert_eq(mvm_store_pool_count(st, NULL, &err), 0);
}

Test(store, transaction_misuse_is_einval)
{
	cr_assert_eq(mvm_store_commit(st, &err), -EINVAL);
	cr_assert_eq(mvm_store_rollback(st), -EINVAL);
	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_begin(st, &err), -EINVAL);
	cr_assert_eq(mvm_store_commit(st, &err), 0);
}

Test(store, other_connections_see_only_commits)
{
	struct mvm_store *other;
	struct mvm_tenant t = tenant("acme", 3);

	cr_assert_eq(mvm_store_open(path, &other, &err), 0);
	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	/* A reader on another connection sees the last commit only. */
	cr_assert_eq(mvm_store_tenant_count(other, &err), 0);
	cr_assert_eq(mvm_store_commit(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_count(other, &err), 1);
	mvm_store_close(other);
}

Test(store, close_rolls_back_an_open_transaction)
{
	struct mvm_tenant t = tenant("acme", 3);

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	mvm_store_close(st);
	cr_assert_eq(mvm_store_open(path, &st, &err), 0);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

/*
 * Threads sharing a handle: each increments a counter read and written in
 * its own transaction. Without the transaction owning the handle, the
 * increments would interleave and get lost.
 */
#define INCREMENTS 200

static void *
incrementer(void *arg)
{
	char buf[32];
	int rc = 0;

	(void)arg;
	for (int i = 0; i < INCREMENTS && rc == 0; i++) {
		if ((rc = mvm_store_begin(st, NULL)) < 0)
			break;
		rc = mvm_store_meta_get(st, "counter", buf, sizeof(buf), NULL);
		if (rc >= 0) {
			snprintf(buf, sizeof(buf), "%ld", strtol(buf, NULL,
			    10) + 1);
			rc = mvm_store_meta_set(st, "counter", buf, NULL);
		}
		if (rc < 0)
			mvm_store_rollback(st);
		else
			rc = mvm_store_commit(st, NULL);
	}
	return (void *)(intptr_t)rc;
}

Test(store, threads_share_a_handle_with_transactions)
{
	pthread_t th[3];
	void *rc;
	char buf[32];

	cr_assert_eq(mvm_store_meta_set(st, "counter", "0", &err), 0);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, incrementer, NULL),
		    0);
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], &rc);
		cr_assert_eq((intptr_t)rc, 0);
	}
	cr_assert_gt(mvm_store_meta_get(st, "counter", buf, sizeof(buf),
	    &err), 0);
	cr_assert_eq(strtol(buf, NULL, 10), 3 * INCREMENTS);
}

/* Bad input and damaged rows. */

Test(store, hostile_strings_are_stored_verbatim)
{
	const char *ids[] = {
		"'; DROP TABLE tenants; --",
		"quote\"d",
		"\xff\xfe\x80 not utf-8",
		"%s%n%x",
	};
	struct mvm_tenant t, got;
	char long_id[MVM_ID_MAX + 1], buf[8];

	for (int i = 0; i < 4; i++) {
		t = tenant(ids[i], (uint16_t)(10 + i));
		cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0, "%s",
		    err.msg);
		cr_assert_eq(mvm_store_tenant_get(st, ids[i], &got, &err), 0);
		cr_assert_str_eq(got.id, ids[i]);
	}
	memset(long_id, 'a', MVM_ID_MAX);
	long_id[MVM_ID_MAX] = '\0';
	t = tenant(long_id, 20);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_tenant_get(st, long_id, &got, &err), 0);
	cr_assert_str_eq(got.id, long_id);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 5);
	cr_assert_eq(mvm_store_meta_set(st, "'); DELETE FROM meta; --",
	    "\xc3\x28", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "'); DELETE FROM meta; --", buf,
	    sizeof(buf), &err), 2);
	cr_assert_str_eq(buf, "\xc3\x28");
}

Test(store, unterminated_text_field_is_einval)
{
	struct mvm_tenant t = tenant("acme", 3);

	memset(t.id, 'a', sizeof(t.id));
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), -EINVAL);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

Test(store, oversized_or_out_of_range_rows_read_back_as_eio)
{
	struct mvm_instance in = instance("acme", "web", "i1"), got;
	struct mvm_tenant t;
	char sql[512];

	tenant_and_pool("acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);

	/* A reason longer than the array. */
	snprintf(sql, sizeof(sql), "UPDATE instances SET reason = "
	    "printf('%%.300c', 'x')");
	raw_sql(path, sql);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got,
	    &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "reason"), "%s", err.msg);

	/* A state the enum does not have, past the CHECK constraint. */
	raw_sql(path, "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE instances SET reason = '', state = 9");
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got,
	    &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "state"), "%s", err.msg);

	/* A net_id beyond uint16_t. */
	raw_sql(path, "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE tenants SET net_id = 70000");
	cr_assert_eq(mvm_store_tenant_get(st, "acme", &t, &err), -EIO);
}
