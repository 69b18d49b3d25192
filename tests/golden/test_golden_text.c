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

/* The `n` bytes of a rendering in `buf` against golden file `name`. */
static void
check(const char *name, const char *buf, int n)
{
	cr_assert_gt(n, 0, "%s: rendering failed", name);
	golden_check(name, buf, (size_t)n);
}

/* A tenant's config: the defaults, then with keys set. */
Test(golden, tenant_config)
{
	static const char text[] = "net_id=7\nmax_running=5\nmax_vcpus=64\n"
	    "pinned=yes\nuid=1000\ngid=1000\n";
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_error e = { 0 };
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	check("config-tenant-default", buf,
	    mvm_config_tenant_render(&t, buf, sizeof(buf)));
	cr_assert_eq(mvm_config_tenant_apply_text(&t, text, strlen(text), &e),
	    0, "%s", e.msg);
	check("config-tenant-set", buf,
	    mvm_config_tenant_render(&t, buf, sizeof(buf)));
}

/* A pool's config: the defaults, then with keys set. */
Test(golden, pool_config)
{
	static const char text[] = "vcpus=2\nmem_mib=512\ndata_disk_mib=2048\n"
	    "image=library/alpine:3.20\nmanaged=true\npinned=yes\n"
	    "min_running_seconds=120\nwarm_after_idle_seconds=600\n"
	    "sleep_after_idle_seconds=3600\nidle_cpu_percent=10\n";
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	mvm_pool_init(&p);
	check("config-pool-default", buf,
	    mvm_config_pool_render(&p, buf, sizeof(buf)));
	cr_assert_eq(mvm_config_pool_apply_text(&p, text, strlen(text), &e),
	    0, "%s", e.msg);
	check("config-pool-set", buf,
	    mvm_config_pool_render(&p, buf, sizeof(buf)));
}
