/*
 * test_store_tenants.c: tenants, pools and the tenant of an object,
 * against a real SQLite file in a temporary directory.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "storetest.h"

STORETEST_SUITE(store);

/* Tenants. */

Test(store, tenant_round_trips_every_field)
{
	struct mvm_tenant t = storetest_tenant("acme", 4095), got;

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
	struct mvm_tenant a = storetest_tenant("acme", 3),
	    b = storetest_tenant("acme", 4), c = storetest_tenant("beta", 3);

	cr_assert_eq(mvm_store_tenant_create(st, &a, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "tenant \"acme\" already exists");
	cr_assert_eq(mvm_store_tenant_create(st, &c, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "net_id 3 is already used by tenant acme");
	cr_assert_eq(mvm_store_tenant_count(st, &err), 1);
}

Test(store, tenant_net_id_out_of_range_is_einval)
{
	struct mvm_tenant t = storetest_tenant("acme", 4096);

	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), -EINVAL);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

Test(store, tenant_update_is_compare_and_swap)
{
	struct mvm_tenant t = storetest_tenant("acme", 3), other,
	    b = storetest_tenant("beta", 4);

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

	t = storetest_tenant("ghost", 9);
	cr_assert_eq(mvm_store_tenant_update(st, &t, &err), -ENOENT);
}

Test(store, tenant_delete_restricted_by_pools)
{
	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), -EBUSY);
	cr_assert_str_eq(err.msg,
	    "tenant \"acme\" still has 1 pool; delete them first");
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "web", &err), 0);
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), 0);
	cr_assert_eq(mvm_store_tenant_delete(st, "acme", &err), -ENOENT);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

static int
collect_tenant(const struct mvm_tenant *t, void *arg)
{
	struct storetest_collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s", t->id);
	return c->n == c->stop_at ? 7 : 0;
}

Test(store, tenant_list_is_sorted_and_stoppable)
{
	struct mvm_tenant t;
	struct storetest_collect c = { .n = 0 };
	const char *ids[] = { "zeta", "alpha", "mid" };

	for (int i = 0; i < 3; i++) {
		t = storetest_tenant(ids[i], (uint16_t)i);
		cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	}
	cr_assert_eq(mvm_store_tenant_list(st, collect_tenant, &c, &err), 0);
	cr_assert_eq(c.n, 3);
	cr_assert_str_eq(c.ids[0], "alpha");
	cr_assert_str_eq(c.ids[1], "mid");
	cr_assert_str_eq(c.ids[2], "zeta");

	c = (struct storetest_collect){ .stop_at = 2 };
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
	struct mvm_tenant t = storetest_tenant("acme", 3);
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
	struct mvm_tenant t = storetest_tenant("acme", 3);
	struct mvm_pool p = storetest_pool("acme", "web"), got;

	p.vcpus = 2;
	p.mem_mib = 3;
	p.data_disk_mib = 4;
	p.desired = (struct mvm_counts){ 5, 6, 7 };
	p.runtime = (struct mvm_runtime_policy){ 8, 9, 10, 11, 15 };
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
	storetest_pool_eq(&got, &p);
}

Test(store, pool_needs_its_tenant_and_is_unique)
{
	struct mvm_pool p = storetest_pool("ghost", "web");
	struct mvm_pool got;

	cr_assert_eq(mvm_store_pool_create(st, &p, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "tenant \"ghost\" does not exist");
	storetest_tenant_and_pool(st, "acme", "web");
	p = storetest_pool("acme", "web");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "pool \"acme/web\" already exists");
	cr_assert_eq(mvm_store_pool_get(st, "acme", "api", &got, &err),
	    -ENOENT);
	cr_assert_eq(mvm_store_pool_delete(st, "acme", "api", &err), -ENOENT);
}

Test(store, pool_update_is_compare_and_swap)
{
	struct mvm_pool p, stale;

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &p, &err), 0);
	stale = p;
	p.desired.running = 3;
	cr_assert_eq(mvm_store_pool_update(st, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.revision, 2);
	stale.desired.running = 9;
	cr_assert_eq(mvm_store_pool_update(st, &stale, &err), -ESTALE);
	cr_assert_eq(mvm_store_pool_get(st, "acme", "web", &stale, &err), 0);
	cr_assert_eq(stale.desired.running, 3);
	stale = storetest_pool("acme", "nope");
	cr_assert_eq(mvm_store_pool_update(st, &stale, &err), -ENOENT);
}

Test(store, pool_delete_restricted_by_instances)
{
	struct mvm_instance in = storetest_instance("acme", "web", "i1");

	storetest_tenant_and_pool(st, "acme", "web");
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
	struct storetest_collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s/%s", p->tenant,
	    p->id);
	return 0;
}

Test(store, pool_list_and_count_by_tenant)
{
	struct mvm_tenant b = storetest_tenant("beta", 4);
	struct mvm_pool p;
	struct storetest_collect c = { .n = 0 };

	storetest_tenant_and_pool(st, "acme", "web");
	p = storetest_pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = storetest_pool("beta", "db");
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
Test(store, object_tenant_checks_the_whole_chain)
{
	struct mvm_tenant t;
	struct mvm_instance in = storetest_instance("acme", "web", "vm1");

	storetest_tenant_and_pool(st, "acme", "web");
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
