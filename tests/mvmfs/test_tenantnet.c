/*
 * test_tenantnet.c: a tenant's network through a real mvmfs: while the
 * tenant has instances, its config refuses a new net_id or subnet with
 * EBUSY and the same sentence the reconciler gives (issue 10, item 2).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 120);

Test(mvmfs, net_change_with_instances_is_ebusy)
{
	const char *cfg = "tenants/acme/config";
	char *before, *after;

	make_tree();
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	before = rd(cfg);
	cr_assert_not_null(before);
	cr_assert(strstr(before, "net_id=200\n") == NULL);

	cr_expect_eq(wr(cfg, "net_id=200\n"), -EBUSY);
	cr_expect(contains("tenants/acme/err", "cannot change to 200 while "
	    "the tenant has 1 instances"));
	cr_expect_eq(wr(cfg, "subnet=10.240.201.0/24\n"), -EBUSY);
	/* Nothing else in the commit is applied either. */
	cr_expect_eq(wr(cfg, "max_running=5\nnet_id=200\n"), -EBUSY);
	after = rd(cfg);
	cr_expect_str_eq(after, before);
	free(after);

	/* Other keys still commit; and with no instance the net may move. */
	cr_expect_eq(wr(cfg, "max_running=5\n"), 0);
	cr_assert_eq(rmdir(P("tenants/acme/pools/web/instances/vm1")), 0);
	cr_expect_eq(wr(cfg, "net_id=200\n"), 0);
	cr_expect(contains(cfg, "net_id=200\n"));
	free(before);
}
