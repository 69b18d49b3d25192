/*
 * test_store_instances.c: instances, their addresses within the tenant,
 * their tally by state, and the intents of their transitions, against a
 * real SQLite file in a temporary directory.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "storetest.h"

STORETEST_SUITE(store);

/* Instances. */

Test(store, instance_round_trips_every_field)
{
	struct mvm_instance in = storetest_instance("acme", "web", "i1"), got;

	storetest_tenant_and_pool(st, "acme", "web");
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
	storetest_instance_eq(&got, &in);
}

Test(store, instance_create_errors)
{
	struct mvm_instance in = storetest_instance("acme", "nope", "i1");

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);
	cr_assert_str_eq(err.msg, "pool \"acme/nope\" does not exist");
	in = storetest_instance("ghost", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);

	in = storetest_instance("acme", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = storetest_instance("acme", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EEXIST);
	cr_assert_str_eq(err.msg, "instance \"acme/web/i1\" already exists");

	in = storetest_instance("acme", "web", "i2");
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

	storetest_tenant_and_pool(st, "acme", "web");
	for (int i = 3; i <= 254; i++) {
		snprintf(id, sizeof(id), "i%d", i);
		in = storetest_instance("acme", "web", id);
		cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0, "%s",
		    err.msg);
		cr_assert_eq(in.ip_offset, i);
	}
	in = storetest_instance("acme", "web", "one-too-many");
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
	in = storetest_instance("acme", "web", "another");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 100);
}

Test(store, offsets_are_per_tenant)
{
	struct mvm_tenant b = storetest_tenant("beta", 4);
	struct mvm_pool p = storetest_pool("beta", "web");
	struct mvm_instance in = storetest_instance("acme", "web", "i1");
	uint8_t used[32];

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = storetest_instance("beta", "web", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 3);
	cr_assert_eq(mvm_store_used_offsets(st, "ghost", used, &err), -ENOENT);
}

Test(store, offsets_are_tenant_wide_across_pools)
{
	struct mvm_pool p = storetest_pool("acme", "api");
	struct mvm_instance in = storetest_instance("acme", "web", "i1");

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	in = storetest_instance("acme", "api", "i1");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(in.ip_offset, 4);
	in = storetest_instance("acme", "api", "i2");
	in.ip_offset = 3;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -EEXIST);
}

Test(store, instance_update_is_compare_and_swap)
{
	struct mvm_instance in = storetest_instance("acme", "web", "i1"), stale,
	    other;

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	other = storetest_instance("acme", "web", "i2");
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
	in = storetest_instance("acme", "web", "ghost");
	in.ip_offset = 9;
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), -ENOENT);
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "ghost",
	    &err), -ENOENT);
}

static int
collect_instance(const struct mvm_instance *in, void *arg)
{
	struct storetest_collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s/%s/%s", in->tenant,
	    in->pool, in->id);
	return 0;
}

Test(store, instance_list_and_count_by_pool_tenant_and_all)
{
	struct mvm_tenant b = storetest_tenant("beta", 4);
	struct mvm_pool p;
	struct mvm_instance in;
	struct storetest_collect c = { .n = 0 };
	const char *rows[][3] = { { "acme", "web", "b" },
	    { "acme", "web", "a" }, { "acme", "api", "z" },
	    { "beta", "db", "q" } };

	storetest_tenant_and_pool(st, "acme", "web");
	p = storetest_pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = storetest_pool("beta", "db");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	for (int i = 0; i < 4; i++) {
		in = storetest_instance(rows[i][0], rows[i][1], rows[i][2]);
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

/* One row of a tally, as text: "pool state vcpus/mem_mib count disk". */
static int
collect_tally(const struct mvm_store_tally *t, void *arg)
{
	struct storetest_collect *c = arg;

	snprintf(c->ids[c->n++], sizeof(c->ids[0]), "%s %s %u/%u %u %llu",
	    t->pool, mvm_state_name(t->state), t->vcpus, t->mem_mib, t->count,
	    (unsigned long long)t->disk_mib);
	return 0;
}

Test(store, instance_tally_counts_by_pool_state_and_size)
{
	struct mvm_tenant b = storetest_tenant("beta", 4);
	struct mvm_pool p;
	struct mvm_instance in;
	struct storetest_collect c = { .n = 0 };
	const char *rows[][3] = { { "acme", "web", "a" },
	    { "acme", "web", "b" }, { "acme", "web", "c" },
	    { "acme", "api", "z" }, { "beta", "db", "q" },
	    { "acme", "web", "d" } };

	storetest_tenant_and_pool(st, "acme", "web");
	p = storetest_pool("acme", "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &b, &err), 0);
	p = storetest_pool("beta", "db");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	for (int i = 0; i < 6; i++) {
		in = storetest_instance(rows[i][0], rows[i][1], rows[i][2]);
		cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	}
	/*
	 * web: a and b running, booted with 2 vCPUs and 256 MiB, d running
	 * with 1 and 128 and a 5 MiB snapshot; c created; api: z created.
	 */
	for (int i = 0; i < 6; i++) {
		if (i == 2 || i == 3 || i == 4)
			continue;
		cr_assert_eq(mvm_store_instance_get(st, "acme", "web",
		    rows[i][2], &in, &err), 0);
		in.state = MVM_STATE_RUNNING;
		in.vcpus = i == 5 ? 1 : 2;
		in.mem_mib = i == 5 ? 128 : 256;
		in.disk_mib = i == 5 ? 5 : 0;
		cr_assert_eq(mvm_store_instance_update(st, &in, &err), 0);
	}

	cr_assert_eq(mvm_store_instance_tally(st, "acme", collect_tally, &c,
	    &err), 0, "%s", err.msg);
	cr_assert_eq(c.n, 4);
	cr_expect_str_eq(c.ids[0], "api created 0/0 1 0");
	cr_expect_str_eq(c.ids[1], "web created 0/0 1 0");
	cr_expect_str_eq(c.ids[2], "web running 1/128 1 5");
	cr_expect_str_eq(c.ids[3], "web running 2/256 2 0");
	c.n = 0;
	cr_assert_eq(mvm_store_instance_tally(st, "nobody", collect_tally, &c,
	    &err), 0);
	cr_expect_eq(c.n, 0);
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
	struct mvm_instance in = storetest_instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1"), again, got;
	int n = 0;

	storetest_tenant_and_pool(st, "acme", "web");
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
	struct mvm_instance in = storetest_instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1");
	char detail[MVM_INTENT_DETAIL_MAX + 2];

	storetest_tenant_and_pool(st, "acme", "web");
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
	struct mvm_instance in = storetest_instance("acme", "web", "i1");
	struct mvm_intent it = intent("acme", "web", "i1");
	int n = 0;

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);
	cr_assert_eq(mvm_store_intent_begin(st, &it, &err), 0);
	cr_assert_eq(mvm_store_instance_delete(st, "acme", "web", "i1", &err),
	    0);
	cr_assert_eq(mvm_store_intent_list(st, count_intent, &n, &err), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(mvm_store_intent_end(st, it.id, &err), -ENOENT);
}
