/*
 * test_golden_text.c: the fixed texts of the API against their golden
 * files: the tree's README and the canonical config forms of a tenant and
 * a pool, with the defaults and with keys set.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "golden.h"
#include "render.h"

Test(golden, readme)
{
	const char *text = mvmfs_readme();

	golden_check("readme", text, strlen(text));
}

/* Render `t` in canonical form and compare it with golden file `name`. */
static void
check_tenant(const char *name, const struct mvm_tenant *t)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	int n = mvm_config_tenant_render(t, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	golden_check(name, buf, (size_t)n);
}

static void
check_pool(const char *name, const struct mvm_pool *p)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	int n = mvm_config_pool_render(p, buf, sizeof(buf));

	cr_assert_gt(n, 0);
	golden_check(name, buf, (size_t)n);
}

Test(golden, tenant_config)
{
	static const char text[] = "net_id=7\nmax_running=5\nmax_vcpus=64\n"
	    "pinned=yes\nuid=1000\ngid=1000\n";
	struct mvm_error e = { 0 };
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	check_tenant("config-tenant-default", &t);
	cr_assert_eq(mvm_config_tenant_apply_text(&t, text, strlen(text), &e),
	    0, "%s", e.msg);
	check_tenant("config-tenant-set", &t);
}

Test(golden, pool_config)
{
	static const char text[] = "vcpus=2\nmem_mib=512\ndata_disk_mib=2048\n"
	    "image=library/alpine:3.20\nmanaged=true\npinned=yes\n"
	    "min_running_seconds=120\nwarm_after_idle_seconds=600\n"
	    "sleep_after_idle_seconds=3600\nidle_cpu_percent=10\n";
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	mvm_pool_init(&p);
	check_pool("config-pool-default", &p);
	cr_assert_eq(mvm_config_pool_apply_text(&p, text, strlen(text), &e),
	    0, "%s", e.msg);
	check_pool("config-pool-set", &p);
}
