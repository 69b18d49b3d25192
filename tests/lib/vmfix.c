/*
 * vmfix.c: the fixture shared by the suites that boot real guests.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmfix.h"
#include "vmm.h"

/* At most this many instances are destroyed by vmfix_teardown. */
#define LEFTOVERS_MAX	64

struct leftovers {
	struct mvm_instance	v[LEFTOVERS_MAX];
	size_t			n;
};

static const char *
env_or_fail(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		cr_assert_fail("%s is not set: run the suite through meson "
		    "(make check)", name);
	return v;
}

/* Open the engine over the open store; fails the test on error. */
static void
open_engine(struct vmfix *fx)
{
	struct mvm_error e = { 0 };

	cr_assert_eq(mvm_engine_open(&fx->cfg, fx->store.st, &fx->eng, &e), 0,
	    "engine: %s", e.msg);
}

void
vmfix_setup(struct vmfix *fx, const char *name)
{
	char image_check[512];

	memset(fx, 0, sizeof(*fx));
	storefix_setup(&fx->store, name);
	snprintf(fx->state_dir, sizeof(fx->state_dir), "%s/state",
	    fx->store.dir);
	snprintf(fx->run_dir, sizeof(fx->run_dir), "%s/run", fx->store.dir);
	fx->cfg = (struct mvm_engine_config){ .state_dir = fx->state_dir,
	    .run_dir = fx->run_dir, .vmm_path = env_or_fail("MVM_QEMU"),
	    .image_dir = env_or_fail("MVM_TEST_IMAGE"),
	    .boot_timeout_ms = 120000, .api_timeout_ms = 20000 };
	snprintf(image_check, sizeof(image_check), "%s/vmlinuz",
	    fx->cfg.image_dir);
	cr_assert_eq(access(image_check, R_OK), 0,
	    "no guest image at %s: build it with guest/build-image.sh",
	    fx->cfg.image_dir);
	open_engine(fx);
}

void
vmfix_open(struct vmfix *fx)
{
	storefix_open(&fx->store);
	open_engine(fx);
}

void
vmfix_close(struct vmfix *fx)
{
	mvm_engine_close(fx->eng);
	fx->eng = NULL;
	storefix_close(&fx->store);
}

static int
collect(const struct mvm_instance *in, void *arg)
{
	struct leftovers *l = arg;

	if (l->n < LEFTOVERS_MAX)
		l->v[l->n++] = *in;
	return 0;
}

void
vmfix_teardown(struct vmfix *fx)
{
	struct leftovers *l;
	char prefix[160];

	/* Destroy what a failed test left, then kill what even that missed. */
	if (fx->eng != NULL && (l = calloc(1, sizeof(*l))) != NULL) {
		mvm_store_instance_list(fx->store.st, NULL, NULL, collect, l,
		    NULL);
		for (size_t i = 0; i < l->n; i++)
			mvm_engine_destroy(fx->eng, l->v[i].tenant,
			    l->v[i].pool, l->v[i].id, NULL);
		free(l);
	}
	vmfix_close(fx);
	if (fx->store.dir[0] == '\0')
		return;
	snprintf(prefix, sizeof(prefix), "%s/vm/", fx->run_dir);
	mvm_vmm_kill_orphans(prefix, NULL, NULL);
	storefix_teardown(&fx->store);
}

void
vmfix_tenant_create(struct vmfix *fx, const char *id, uint32_t net_id)
{
	struct mvm_error e = { 0 };
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "%s", id);
	t.net_id = net_id;
	cr_assert_eq(mvm_store_tenant_create(fx->store.st, &t, &e), 0, "%s",
	    e.msg);
}

void
vmfix_pool_init(struct mvm_pool *p, const char *tenant, const char *id)
{
	mvm_pool_init(p);
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->runtime.min_running_seconds = 0;
	p->runtime.min_warm_seconds = 0;
	p->runtime.drain_timeout_seconds = 2;
	p->runtime.graceful_shutdown_seconds = 10;
}

void
vmfix_pool_create(struct vmfix *fx, const char *tenant, const char *id)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	vmfix_pool_init(&p, tenant, id);
	cr_assert_eq(mvm_store_pool_create(fx->store.st, &p, &e), 0, "%s",
	    e.msg);
}

struct mvm_guest_exec_result *
vmfix_guest_sh(const struct vmfix *fx, const struct mvm_instance *in,
    const char *script)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	char vsock[256];
	int fd = -1;

	cr_assert_eq(mvm_engine_vsock_path(fx->eng, in, vsock, sizeof(vsock)),
	    0);
	cr_assert_eq(mvm_guest_connect(vsock, MVM_GUEST_PORT, 5000, &fd, &e), 0,
	    "%s", e.msg);
	cr_assert_eq(mvm_guest_exec(fd, 15000, argv, NULL, 10000, &r, &e), 0,
	    "%s", e.msg);
	mvm_guest_close(fd);
	cr_assert_eq(r->exit_code, 0, "%s: %s", script, (char *)r->stderr_buf);
	return r;
}

/* The parent of process `pid`, or 0. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *rp;
	FILE *f;
	size_t len;
	int ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	if ((rp = strrchr(buf, ')')) == NULL ||
	    sscanf(rp + 1, " %*c %d", &ppid) != 1)
		return 0;
	return (pid_t)ppid;
}

int
vmfix_vmm_count(const struct vmfix *fx, const struct mvm_instance *v,
    size_t n, int *unclaimed)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int count = 0;

	cr_assert_not_null(d);
	*unclaimed = 0;
	while ((de = readdir(d)) != NULL) {
		char path[300], buf[4096];
		pid_t pid = (pid_t)atoi(de->d_name), owner;
		bool claimed = false, vmm;
		size_t len;
		FILE *f;

		if (pid <= 0 || pid == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (strstr(buf, fx->store.dir) == NULL ||
		    strstr(buf, "qemu") == NULL)
			continue;
		vmm = strstr(buf, "--api-sock") != NULL;
		count += vmm;
		owner = vmm ? pid : parent_of(pid);
		for (size_t i = 0; i < n; i++)
			claimed = claimed || (v[i].pid > 0 && v[i].pid == owner);
		*unclaimed += !claimed;
	}
	closedir(d);
	return count;
}
