/*
 * test_held.c: what an instance holds, with real guests booted through
 * mvm-qemu: the quota it uses is what it was booted with, whatever its
 * pool says since (issue 10, item 5), and its sockets live in a run
 * directory named by its identity, not by values that can change (item 2).
 *
 * Needs MVM_QEMU and MVM_TEST_IMAGE, like test_engine.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "guest.h"
#include "store.h"
#include "usage.h"
#include "vmfix.h"

static struct vmfix fx;

static void
setup(void)
{
	vmfix_setup(&fx, "held");
	vmfix_tenant_create(&fx, "acme", 7);
}

static void
teardown(void)
{
	vmfix_teardown(&fx);
}

TestSuite(held, .init = setup, .fini = teardown, .timeout = 600);

static void
make_pool(const char *tenant, uint32_t vcpus)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	vmfix_pool_init(&p, tenant, "web");
	p.vcpus = vcpus;
	cr_assert_eq(mvm_store_pool_create(fx.store.st, &p, &e), 0, "%s",
	    e.msg);
}

static void
set_pool_vcpus(uint32_t vcpus)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", "web", &p, &e), 0);
	p.vcpus = vcpus;
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, &e), 0, "%s",
	    e.msg);
}

static void
make_instance(const char *tenant, const char *id)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", tenant);
	snprintf(in.pool, sizeof(in.pool), "web");
	snprintf(in.id, sizeof(in.id), "%s", id);
	in.state = MVM_STATE_CREATED;
	in.created_at = time(NULL);
	cr_assert_eq(mvm_store_instance_create(fx.store.st, &in, &e), 0, "%s",
	    e.msg);
}

static int
go(const char *id, enum mvm_state to, struct mvm_error *e)
{
	return mvm_engine_transition(fx.eng, "acme", "web", id, to, 0, e);
}

static uint32_t
vcpus_used(void)
{
	struct mvm_error e = { 0 };
	struct mvm_usage u;

	cr_assert_eq(mvm_usage_tenant(fx.store.st, "acme", NULL, &u, &e), 0,
	    "%s", e.msg);
	return u.vcpus;
}

/*
 * max_vcpus=2, a pool of 2 vCPUs: one instance boots and holds both.
 * Lowering the pool to 1 vCPU frees nothing that instance holds, so a
 * second boot (of 1 vCPU) is refused; raising the pool again counts the
 * second instance at the 1 vCPU it booted with.
 */
Test(held, quota_counts_what_instances_booted_with)
{
	struct mvm_error e = { 0 };
	struct mvm_tenant t;
	int rc;

	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "acme", &t, &e), 0);
	t.quota.max_vcpus = 2;
	cr_assert_eq(mvm_store_tenant_update(fx.store.st, &t, &e), 0);
	make_pool("acme", 2);
	make_instance("acme", "a");
	make_instance("acme", "b");

	cr_assert_eq(go("a", MVM_STATE_RUNNING, &e), 0, "%s", e.msg);
	cr_assert_eq(vcpus_used(), 2);
	set_pool_vcpus(1);
	cr_expect_eq(vcpus_used(), 2, "a still holds the 2 vCPUs it booted with");
	rc = go("b", MVM_STATE_RUNNING, &e);
	cr_expect_eq(rc, -EDQUOT, "a second boot must be refused: %d %s", rc,
	    e.msg);
	cr_expect(strstr(e.msg, "quota max_vcpus=2 exceeded: 2 vCPUs in use")
	    != NULL, "%s", e.msg);

	/* Stopped, a frees its vCPUs; b boots with the pool's 1 now. */
	cr_assert_eq(go("a", MVM_STATE_STOPPED, &e), 0, "%s", e.msg);
	if (rc != 0)
		cr_assert_eq(go("b", MVM_STATE_RUNNING, &e), 0, "%s", e.msg);
	cr_expect_eq(vcpus_used(), 1);
	set_pool_vcpus(2);
	cr_expect_eq(vcpus_used(), 1, "b still holds the 1 vCPU it booted with");
	/* A new boot is checked with the new spec: 1 held + 2 > 2. */
	cr_expect_eq(go("a", MVM_STATE_RUNNING, &e), -EDQUOT, "%s", e.msg);
}

/* Connect to the guest agent behind `path` and ping it. */
static int
ping(const char *path)
{
	struct mvm_guest_pong pong;
	struct mvm_error e = { 0 };
	int fd = -1, rc;

	rc = mvm_guest_connect(path, MVM_GUEST_PORT, 5000, &fd, &e);
	if (rc == 0)
		rc = mvm_guest_ping(fd, 5000, &pong, &e);
	if (fd >= 0)
		mvm_guest_close(fd);
	return rc;
}

static void
vsock_of(const char *tenant, const char *id, char *buf, size_t len)
{
	struct mvm_instance in;

	cr_assert_eq(mvm_store_instance_get(fx.store.st, tenant, "web", id, &in,
	    NULL), 0);
	cr_assert_eq(mvm_engine_vsock_path(fx.eng, &in, buf, len), 0);
}

/*
 * A live instance's sockets do not move when its tenant's net_id does, and
 * the freed net_id given to another tenant names no socket of the first.
 */
Test(held, run_dir_is_named_by_identity)
{
	struct mvm_error e = { 0 };
	struct mvm_tenant t;
	char before[256], after[256], other[256];

	make_pool("acme", 1);
	make_instance("acme", "a");
	cr_assert_eq(go("a", MVM_STATE_RUNNING, &e), 0, "%s", e.msg);
	vsock_of("acme", "a", before, sizeof(before));
	cr_expect(strstr(before, "mvm-t") == NULL,
	    "the run dir is not named after the tap: %s", before);
	cr_assert_eq(ping(before), 0);

	/* Forged under the rule that refuses it: the paths must not care. */
	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "acme", &t, &e), 0);
	t.net_id = 8;
	cr_assert_eq(mvm_store_tenant_update(fx.store.st, &t, &e), 0);
	vsock_of("acme", "a", after, sizeof(after));
	cr_expect_str_eq(after, before);
	cr_expect_eq(ping(after), 0, "the guest answers where it was booted");

	vmfix_tenant_create(&fx, "beta", 7);
	make_pool("beta", 1);
	make_instance("beta", "a");
	vsock_of("beta", "a", other, sizeof(other));
	cr_expect_str_neq(other, before);

	cr_expect_eq(go("a", MVM_STATE_STOPPED, &e), 0, "%s", e.msg);
}

/* Bytes the files of `dir` use on disk, as MiB rounded up. */
static uint64_t
du_mib(const char *dir)
{
	char cmd[512], out[64] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "du -s -B1 %s | cut -f1", dir);
	cr_assert_not_null(f = popen(cmd, "r"));
	cr_assert_not_null(fgets(out, sizeof(out), f));
	pclose(f);
	return (strtoull(out, NULL, 10) + (1u << 20) - 1) >> 20;
}

/*
 * max_disk_gib counts the disk really used: a sleeping instance holds the
 * blocks of its snapshot files, and a woken one (its snapshot spent) none.
 */
Test(held, disk_counts_snapshot_files)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in;
	struct mvm_usage u;
	char dir[512];
	uint64_t want;

	make_pool("acme", 1);
	make_instance("acme", "a");
	cr_assert_eq(go("a", MVM_STATE_RUNNING, &e), 0, "%s", e.msg);
	cr_assert_eq(go("a", MVM_STATE_SLEEPING, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", "web", "a",
	    &in, NULL), 0);
	cr_assert_eq(mvm_engine_instance_dir(fx.eng, &in, dir, sizeof(dir)),
	    0);
	strcat(dir, "/snapshot");
	want = du_mib(dir);
	cr_assert_gt(want, 0);
	cr_assert_eq(mvm_usage_tenant(fx.store.st, "acme", NULL, &u, &e), 0);
	/* du counts the directory's own block too: within 1 MiB. */
	cr_expect(u.disk_mib + 1 >= want && u.disk_mib <= want,
	    "disk used %llu MiB, the snapshot holds %llu MiB",
	    (unsigned long long)u.disk_mib, (unsigned long long)want);

	cr_assert_eq(go("a", MVM_STATE_RUNNING, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_usage_tenant(fx.store.st, "acme", NULL, &u, &e), 0);
	cr_expect_eq(u.disk_mib, 0);
	cr_expect_eq(go("a", MVM_STATE_STOPPED, &e), 0, "%s", e.msg);
}
