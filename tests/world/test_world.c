/*
 * test_world.c: the node snapshot (world.h) against a real SQLite file in a
 * temporary directory.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"
#include "storefix.h"
#include "world.h"

static struct storefix sf;
static struct mvm_store *st;
static struct mvm_error err;

static void
setup(void)
{
	storefix_setup(&sf, "world");
	st = sf.st;
}

static void
teardown(void)
{
	storefix_teardown(&sf);
	st = NULL;
}

TestSuite(world, .init = setup, .fini = teardown);

static void
mk_tenant(const char *id, uint16_t net_id, uint32_t max_pools)
{
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.net_id = net_id;
	t.quota.max_pools = max_pools;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0, "%s", err.msg);
}

static void
mk_pool(const char *tenant, const char *id, uint32_t vcpus)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "%s", tenant);
	snprintf(p.id, sizeof(p.id), "%s", id);
	snprintf(p.image, sizeof(p.image), "debian-12");
	p.vcpus = vcpus;
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0, "%s", err.msg);
}

static void
mk_instance(const char *tenant, const char *pool, const char *id,
    enum mvm_state state)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant);
	snprintf(in.pool, sizeof(in.pool), "%s", pool);
	snprintf(in.id, sizeof(in.id), "%s", id);
	in.state = state;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0, "%s",
	    err.msg);
}

/*
 * Three tenants, created out of order: "b" with pools "y" (two instances)
 * and "x" (one); "a" with pool "z" (three) and the empty pool "e"; "c"
 * with nothing. Ids chosen so that creation order, tenant-blind order and
 * key order all differ.
 */
static void
populate(void)
{
	mk_tenant("b", 2, 10);
	mk_tenant("c", 3, 11);
	mk_tenant("a", 1, 12);
	mk_pool("b", "y", 2);
	mk_pool("a", "z", 4);
	mk_pool("b", "x", 1);
	mk_pool("a", "e", 8);
	mk_instance("b", "y", "i2", MVM_STATE_RUNNING);
	mk_instance("a", "z", "k3", MVM_STATE_WARM);
	mk_instance("b", "x", "i1", MVM_STATE_STOPPED);
	mk_instance("a", "z", "k1", MVM_STATE_CREATED);
	mk_instance("b", "y", "i1", MVM_STATE_SLEEPING);
	mk_instance("a", "z", "k2", MVM_STATE_RUNNING);
}

Test(world, empty_node)
{
	const struct mvm_instance *in = (void *)1;
	const struct mvm_pool *p = (void *)1;
	struct mvm_world w;

	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.ntenants, 0);
	cr_assert_eq(w.npools, 0);
	cr_assert_eq(w.nins, 0);
	cr_assert_null(mvm_world_tenant(&w, "a"));
	cr_assert_null(mvm_world_pool(&w, "a", "p"));
	cr_assert_eq(mvm_world_tenant_pools(&w, "a", &p), 0);
	cr_assert_null(p);
	cr_assert_eq(mvm_world_pool_instances(&w, "a", "p", &in), 0);
	cr_assert_null(in);
	mvm_world_free(&w);
	mvm_world_free(&w);	/* an empty world may be freed again */
}

Test(world, whole_node_sorted_by_key)
{
	static const char *tenants[] = { "a", "b", "c" };
	static const char *pools[][2] = { { "a", "e" }, { "a", "z" },
	    { "b", "x" }, { "b", "y" } };
	static const char *ins[][3] = { { "a", "z", "k1" }, { "a", "z", "k2" },
	    { "a", "z", "k3" }, { "b", "x", "i1" }, { "b", "y", "i1" },
	    { "b", "y", "i2" } };
	struct mvm_world w;
	size_t i;

	populate();
	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.ntenants, 3);
	for (i = 0; i < w.ntenants; i++)
		cr_assert_str_eq(w.tenants[i].id, tenants[i]);
	cr_assert_eq(w.tenants[0].net_id, 1);
	cr_assert_eq(w.tenants[0].quota.max_pools, 12);
	cr_assert_eq(w.npools, 4);
	for (i = 0; i < w.npools; i++) {
		cr_assert_str_eq(w.pools[i].tenant, pools[i][0]);
		cr_assert_str_eq(w.pools[i].id, pools[i][1]);
	}
	cr_assert_eq(w.pools[1].vcpus, 4);
	cr_assert_eq(w.nins, 6);
	for (i = 0; i < w.nins; i++) {
		cr_assert_str_eq(w.ins[i].tenant, ins[i][0]);
		cr_assert_str_eq(w.ins[i].pool, ins[i][1]);
		cr_assert_str_eq(w.ins[i].id, ins[i][2]);
	}
	cr_assert_eq(w.ins[2].state, MVM_STATE_WARM);
	cr_assert_eq(w.ins[4].state, MVM_STATE_SLEEPING);
	mvm_world_free(&w);
	cr_assert_eq(w.ntenants + w.npools + w.nins, 0);
	cr_assert_null(w.tenants);
}

/* More rows than the first allocation holds, so the arrays must grow. */
Test(world, grows_past_first_allocation)
{
	struct mvm_world w;
	char id[16];
	int i;

	mk_tenant("t", 1, 100);
	mk_pool("t", "p", 1);
	for (i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "i%02d", i);
		mk_instance("t", "p", id, MVM_STATE_CREATED);
	}
	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.nins, 40);
	for (i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "i%02d", i);
		cr_assert_str_eq(w.ins[i].id, id);
	}
	mvm_world_free(&w);
}

Test(world, one_tenant)
{
	const struct mvm_instance *in;
	struct mvm_world w;
	size_t i;

	populate();
	cr_assert_eq(mvm_world_load(st, "b", 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.ntenants, 1);
	cr_assert_str_eq(w.tenants[0].id, "b");
	cr_assert_eq(w.npools, 2);
	cr_assert_str_eq(w.pools[0].id, "x");
	cr_assert_str_eq(w.pools[1].id, "y");
	cr_assert_eq(w.nins, 3);
	for (i = 0; i < w.nins; i++)
		cr_assert_str_eq(w.ins[i].tenant, "b");
	cr_assert_null(mvm_world_tenant(&w, "a"));
	cr_assert_null(mvm_world_pool(&w, "a", "z"));
	cr_assert_eq(mvm_world_pool_instances(&w, "a", "z", &in), 0);
	mvm_world_free(&w);

	/* A tenant with no pools. */
	cr_assert_eq(mvm_world_load(st, "c", 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.ntenants, 1);
	cr_assert_eq(w.npools, 0);
	cr_assert_eq(w.nins, 0);
	mvm_world_free(&w);
}

Test(world, missing_tenant_is_enoent_and_empty)
{
	struct mvm_world w;

	populate();
	mvm_error_clear(&err);
	cr_assert_eq(mvm_world_load(st, "nope", 0, &w, &err), -ENOENT);
	cr_assert_eq(err.code, ENOENT);
	cr_assert_neq(err.msg[0], '\0');
	cr_assert_eq(w.ntenants + w.npools + w.nins, 0);
	cr_assert_null(w.tenants);
	cr_assert_null(w.pools);
	cr_assert_null(w.ins);
	mvm_world_free(&w);
}

Test(world, lookups)
{
	const struct mvm_tenant *t;
	const struct mvm_pool *p;
	struct mvm_world w;

	populate();
	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	cr_assert_not_null(t = mvm_world_tenant(&w, "c"));
	cr_assert_str_eq(t->id, "c");
	cr_assert_eq(t->net_id, 3);
	cr_assert_eq(t, &w.tenants[2]);
	cr_assert_null(mvm_world_tenant(&w, "bb"));
	cr_assert_null(mvm_world_tenant(&w, ""));
	cr_assert_not_null(p = mvm_world_pool(&w, "a", "z"));
	cr_assert_eq(p->vcpus, 4);
	cr_assert_not_null(p = mvm_world_pool(&w, "b", "x"));
	cr_assert_eq(p->vcpus, 1);
	/* The pool id exists, but under another tenant. */
	cr_assert_null(mvm_world_pool(&w, "a", "x"));
	cr_assert_null(mvm_world_pool(&w, "c", "y"));
	cr_assert_null(mvm_world_pool(&w, "zz", "z"));
	mvm_world_free(&w);
}

Test(world, tenant_pools_and_pool_instances_are_ranges)
{
	const struct mvm_instance *in;
	const struct mvm_pool *p;
	struct mvm_world w;

	populate();
	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_world_tenant_pools(&w, "a", &p), 2);
	cr_assert_eq(p, &w.pools[0]);
	cr_assert_str_eq(p[1].id, "z");
	cr_assert_eq(mvm_world_tenant_pools(&w, "b", &p), 2);
	cr_assert_eq(p, &w.pools[2]);
	cr_assert_eq(mvm_world_tenant_pools(&w, "c", &p), 0);
	cr_assert_null(p);

	cr_assert_eq(mvm_world_pool_instances(&w, "a", "z", &in), 3);
	cr_assert_eq(in, &w.ins[0]);
	cr_assert_str_eq(in[2].id, "k3");
	cr_assert_eq(mvm_world_pool_instances(&w, "b", "x", &in), 1);
	cr_assert_eq(in, &w.ins[3]);
	cr_assert_eq(mvm_world_pool_instances(&w, "b", "y", &in), 2);
	cr_assert_eq(in, &w.ins[4]);
	cr_assert_str_eq(in[0].id, "i1");
	cr_assert_str_eq(in[1].id, "i2");
	/* An empty pool, and pools that do not exist on either side. */
	cr_assert_eq(mvm_world_pool_instances(&w, "a", "e", &in), 0);
	cr_assert_null(in);
	cr_assert_eq(mvm_world_pool_instances(&w, "a", "a", &in), 0);
	cr_assert_eq(mvm_world_pool_instances(&w, "c", "zz", &in), 0);
	cr_assert_eq(mvm_world_pool_instances(&w, "0", "z", &in), 0);
	mvm_world_free(&w);
}

Test(world, without_instances)
{
	const struct mvm_instance *in;
	struct mvm_world w;

	populate();
	cr_assert_eq(mvm_world_load(st, NULL, MVM_WORLD_NO_INSTANCES, &w,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(w.ntenants, 3);
	cr_assert_eq(w.npools, 4);
	cr_assert_eq(w.nins, 0);
	cr_assert_null(w.ins);
	cr_assert_eq(mvm_world_pool_instances(&w, "a", "z", &in), 0);
	mvm_world_free(&w);
}

/*
 * Loaded inside the caller's own transaction, the world sees what that
 * transaction wrote and leaves it open.
 */
Test(world, joins_the_callers_transaction)
{
	struct mvm_world w;

	populate();
	cr_assert_eq(mvm_store_begin(st, &err), 0, "%s", err.msg);
	mk_pool("c", "new", 1);
	cr_assert_eq(mvm_world_load(st, "c", 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.npools, 1);
	cr_assert_str_eq(w.pools[0].id, "new");
	mvm_world_free(&w);
	cr_assert_eq(mvm_store_rollback(st), 0);
	cr_assert_eq(mvm_world_load(st, "c", 0, &w, &err), 0, "%s", err.msg);
	cr_assert_eq(w.npools, 0);
	mvm_world_free(&w);
}

/* A load ends its own transaction: the caller can begin one afterwards. */
Test(world, leaves_no_transaction_open)
{
	struct mvm_world w;

	populate();
	cr_assert_eq(mvm_world_load(st, NULL, 0, &w, &err), 0, "%s", err.msg);
	mvm_world_free(&w);
	cr_assert_eq(mvm_world_load(st, "nope", 0, &w, &err), -ENOENT);
	cr_assert_eq(mvm_store_begin(st, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_commit(st, &err), 0, "%s", err.msg);
}
