/*
 * test_node.c: the inode table of mvmfs (mvmfs/node.h): numbers stable for
 * an object's key, lookup counts, forget.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "node.h"

static struct mvmfs_key
key(enum mvmfs_kind kind, const char *t, const char *p, const char *i)
{
	struct mvmfs_key k;

	memset(&k, 0, sizeof(k));
	k.kind = kind;
	snprintf(k.tenant, sizeof(k.tenant), "%s", t);
	snprintf(k.pool, sizeof(k.pool), "%s", p);
	snprintf(k.instance, sizeof(k.instance), "%s", i);
	return k;
}

Test(node, root_is_one_and_never_forgotten)
{
	struct mvmfs_nodes *nt = mvmfs_nodes_new();
	struct mvmfs_key k, root = key(MVMFS_ROOT, "", "", "");

	cr_assert_not_null(nt);
	cr_expect_eq(mvmfs_nodes_peek(nt, &root), 1);
	mvmfs_nodes_forget(nt, 1, 100);
	cr_assert_eq(mvmfs_nodes_get(nt, 1, &k), 0);
	cr_expect_eq(k.kind, MVMFS_ROOT);
	cr_expect_eq(mvmfs_nodes_count(nt), 1);
	mvmfs_nodes_free(nt);
}

Test(node, numbers_follow_the_key_across_forget)
{
	struct mvmfs_nodes *nt = mvmfs_nodes_new();
	struct mvmfs_key a = key(MVMFS_INSTANCE_STATE, "acme", "web", "vm1");
	struct mvmfs_key b = key(MVMFS_INSTANCE_STATE, "acme", "web", "vm2");
	struct mvmfs_key got;
	uint64_t ia, ia2, ib;

	cr_assert_eq(mvmfs_nodes_ref(nt, &a, &ia), 0);
	cr_assert_eq(mvmfs_nodes_ref(nt, &a, &ia2), 0);
	cr_expect_eq(ia, ia2);
	cr_assert_eq(mvmfs_nodes_ref(nt, &b, &ib), 0);
	cr_expect_neq(ia, ib);
	cr_expect_gt(ia, 1);
	cr_assert_eq(mvmfs_nodes_get(nt, ia, &got), 0);
	cr_expect_str_eq(got.instance, "vm1");
	cr_expect_eq(mvmfs_nodes_count(nt), 3);

	/* Two lookups need two forgets. */
	mvmfs_nodes_forget(nt, ia, 1);
	cr_expect_eq(mvmfs_nodes_get(nt, ia, &got), 0);
	mvmfs_nodes_forget(nt, ia, 1);
	cr_expect_eq(mvmfs_nodes_get(nt, ia, &got), -ENOENT);
	cr_expect_eq(mvmfs_nodes_count(nt), 2);

	/* Looked up again, the same key gets the same number. */
	cr_expect_eq(mvmfs_nodes_peek(nt, &a), ia);
	cr_assert_eq(mvmfs_nodes_ref(nt, &a, &ia2), 0);
	cr_expect_eq(ia2, ia);
	mvmfs_nodes_forget(nt, 123456789, 1);	/* unknown: ignored */
	mvmfs_nodes_free(nt);
}

Test(node, json_form_and_scratch_id_are_part_of_the_key)
{
	struct mvmfs_nodes *nt = mvmfs_nodes_new();
	struct mvmfs_key v = key(MVMFS_INSTANCE_INFO, "acme", "web", "vm1");
	struct mvmfs_key j = v, s1 = key(MVMFS_SCRATCH, "acme", "", ""), s2;
	uint64_t iv, ij, i1, i2;

	j.json = true;
	s1.scratch = 1;
	s2 = s1;
	s2.scratch = 2;
	cr_assert_eq(mvmfs_nodes_ref(nt, &v, &iv), 0);
	cr_assert_eq(mvmfs_nodes_ref(nt, &j, &ij), 0);
	cr_assert_eq(mvmfs_nodes_ref(nt, &s1, &i1), 0);
	cr_assert_eq(mvmfs_nodes_ref(nt, &s2, &i2), 0);
	cr_expect_neq(iv, ij);
	cr_expect_neq(i1, i2);
	cr_expect_eq(mvmfs_nodes_count(nt), 5);
	mvmfs_nodes_free(nt);
}

Test(node, many_nodes_get_distinct_numbers)
{
	struct mvmfs_nodes *nt = mvmfs_nodes_new();
	static uint64_t inos[3000];
	char id[32];
	struct mvmfs_key k;
	size_t i, j;

	for (i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "i-%08zx", i);
		k = key(MVMFS_INSTANCE, "acme", "web", id);
		cr_assert_eq(mvmfs_nodes_ref(nt, &k, &inos[i]), 0);
	}
	for (i = 0; i < 3000; i++)
		for (j = i + 1; j < 3000; j++)
			cr_assert_neq(inos[i], inos[j]);
	mvmfs_nodes_free(nt);
}
