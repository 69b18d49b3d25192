/*
 * test_store.c: what the store's handle does whatever the rows: explicit
 * transactions, threads sharing a handle, hostile strings and damaged
 * rows, against a real SQLite file in a temporary directory. The raw SQL
 * here forges damaged rows that the store must refuse.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "storetest.h"

STORETEST_SUITE(store);

/* Transactions. */

Test(store, rollback_undoes_everything)
{
	struct mvm_tenant t = storetest_tenant("acme", 3);
	struct mvm_pool p = storetest_pool("acme", "web");

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
	struct mvm_tenant t = storetest_tenant("acme", 3);
	struct mvm_instance in = storetest_instance("acme", "nope", "i1");

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), -ENOENT);
	cr_assert_eq(mvm_store_commit(st, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 1);
	cr_assert_eq(mvm_store_instance_count(st, NULL, NULL, &err), 0);
}

Test(store, failure_mid_transaction_then_rollback_leaves_nothing)
{
	struct mvm_tenant t = storetest_tenant("acme", 3),
	    dup = storetest_tenant("beta", 3);
	struct mvm_pool p = storetest_pool("acme", "web");

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
	struct mvm_tenant t = storetest_tenant("acme", 3);

	cr_assert_eq(mvm_store_open(storetest_fix.db, &other, &err), 0);
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
	struct mvm_tenant t = storetest_tenant("acme", 3);

	cr_assert_eq(mvm_store_begin(st, &err), 0);
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	mvm_store_close(st);
	cr_assert_eq(mvm_store_open(storetest_fix.db, &st, &err), 0);
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
		t = storetest_tenant(ids[i], (uint16_t)(10 + i));
		cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0, "%s",
		    err.msg);
		cr_assert_eq(mvm_store_tenant_get(st, ids[i], &got, &err), 0);
		cr_assert_str_eq(got.id, ids[i]);
	}
	memset(long_id, 'a', MVM_ID_MAX);
	long_id[MVM_ID_MAX] = '\0';
	t = storetest_tenant(long_id, 20);
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
	struct mvm_tenant t = storetest_tenant("acme", 3);

	memset(t.id, 'a', sizeof(t.id));
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), -EINVAL);
	cr_assert_eq(mvm_store_tenant_count(st, &err), 0);
}

Test(store, oversized_or_out_of_range_rows_read_back_as_eio)
{
	struct mvm_instance in = storetest_instance("acme", "web", "i1"), got;
	struct mvm_tenant t;
	char sql[512];

	storetest_tenant_and_pool(st, "acme", "web");
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0);

	/* A reason longer than the array. */
	snprintf(sql, sizeof(sql), "UPDATE instances SET reason = "
	    "printf('%%.300c', 'x')");
	storetest_raw_sql(storetest_fix.db, sql);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got,
	    &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "reason"), "%s", err.msg);

	/* A state the enum does not have, past the CHECK constraint. */
	storetest_raw_sql(storetest_fix.db, "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE instances SET reason = '', state = 9");
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i1", &got,
	    &err), -EIO);
	cr_assert_not_null(strstr(err.msg, "state"), "%s", err.msg);

	/* A net_id beyond uint16_t. */
	storetest_raw_sql(storetest_fix.db, "PRAGMA ignore_check_constraints = ON; "
	    "UPDATE tenants SET net_id = 70000");
	cr_assert_eq(mvm_store_tenant_get(st, "acme", &t, &err), -EIO);
}
