/*
 * test_render.c: the views, over a real store in a temporary directory.
 * The test process itself stands in for a VMM where a live pid is needed.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "render.h"
#include "store.h"
#include "storefix.h"
#include "vmm.h"

static struct storefix sf;
static struct mvm_store *st;
static struct mvmfs_render_src src;
static struct mvm_error err;

static void
add_instance(const char *t, const char *p, const char *id,
    enum mvm_state s)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	strcpy(in.tenant, t);
	strcpy(in.pool, p);
	strcpy(in.id, id);
	in.state = s;
	in.created_at = 1000;
	if (s == MVM_STATE_RUNNING)
		in.entered_running_at = 2000;
	cr_assert_eq(mvm_store_instance_create(st, &in, &err), 0, "%s",
	    err.msg);
}

/* acme (net 7): pool web (2 vCPU, 256 MiB, 2 GiB disk) with 3 instances. */
static void
setup(void)
{
	struct mvm_tenant t;
	struct mvm_pool p;

	storefix_setup(&sf, "render");
	st = sf.st;
	src.st = st;
	src.vmm = "mvm-qemu";
	src.accel = "tcg";
	mvm_tenant_init(&t);
	strcpy(t.id, "acme");
	t.net_id = 7;
	t.quota.max_running = 5;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	mvm_tenant_init(&t);
	strcpy(t.id, "zeta");
	t.net_id = 8;
	cr_assert_eq(mvm_store_tenant_create(st, &t, &err), 0);
	mvm_pool_init(&p);
	strcpy(p.tenant, "acme");
	strcpy(p.id, "web");
	p.vcpus = 2;
	p.mem_mib = 256;
	p.data_disk_mib = 2048;
	p.desired.running = 2;
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	strcpy(p.id, "api");
	cr_assert_eq(mvm_store_pool_create(st, &p, &err), 0);
	add_instance("acme", "web", "i-1", MVM_STATE_RUNNING);
	add_instance("acme", "web", "i-2", MVM_STATE_WARM);
	add_instance("acme", "web", "i-3", MVM_STATE_SLEEPING);
	add_instance("acme", "api", "i-4", MVM_STATE_STOPPED);
}

static void
teardown(void)
{
	storefix_teardown(&sf);
}

TestSuite(render, .init = setup, .fini = teardown);

static char *
view(enum mvmfs_view v, const char *t, const char *p, const char *i,
    bool json)
{
	char *out;
	size_t len;

	cr_assert_eq(mvmfs_render(&src, v, t, p, i, json, &out, &len, &err),
	    0, "%s", err.msg);
	cr_assert_eq(strlen(out), len);
	cr_assert_eq(out[len - 1], '\n');
	return out;
}

/* Lines are key=value, sorted by key, and the JSON has the same keys. */
static void
check_forms(enum mvmfs_view v, const char *t, const char *p, const char *i)
{
	char *kv = view(v, t, p, i, false), *js = view(v, t, p, i, true);
	char *line, *save, *eq, prev[64] = "";
	cJSON *o = cJSON_Parse(js), *item;
	int nkeys = 0;

	cr_assert_not_null(o, "bad JSON: %s", js);
	for (line = strtok_r(kv, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		cr_assert_not_null(eq = strchr(line, '='), "%s", line);
		*eq = '\0';
		cr_assert_gt(strcmp(line, prev), 0, "%s after %s", line, prev);
		snprintf(prev, sizeof(prev), "%s", line);
		cr_assert_not_null(cJSON_GetObjectItem(o, line), "%s", line);
		nkeys++;
	}
	cr_assert_eq(cJSON_GetArraySize(o), nkeys);
	item = o->child;
	cr_assert_not_null(item);
	cJSON_Delete(o);
	free(kv);
	free(js);
}

Test(render, every_view_has_both_forms)
{
	check_forms(MVMFS_VIEW_NODE_INFO, NULL, NULL, NULL);
	check_forms(MVMFS_VIEW_NODE_STATS, NULL, NULL, NULL);
	check_forms(MVMFS_VIEW_TENANT_STATUS, "acme", NULL, NULL);
	check_forms(MVMFS_VIEW_POOL_STATUS, "acme", "web", NULL);
	check_forms(MVMFS_VIEW_INSTANCE_INFO, "acme", "web", "i-1");
	check_forms(MVMFS_VIEW_INSTANCE_STATS, "acme", "web", "i-1");
}

Test(render, node_info)
{
	char *a = view(MVMFS_VIEW_NODE_INFO, NULL, NULL, NULL, false);
	char *b = view(MVMFS_VIEW_NODE_INFO, NULL, NULL, NULL, false);
	char id[64];

	cr_assert_str_eq(a, b, "the node id is kept");
	cr_assert_gt(mvm_store_meta_get(st, "node_id", id, sizeof(id), &err),
	    0);
	cr_assert_eq(strlen(id), 36);
	cr_assert_not_null(strstr(a, id));
	cr_assert_not_null(strstr(a, "vmm=mvm-qemu\n"));
	cr_assert_not_null(strstr(a, "accel=tcg\n"));
	cr_assert_not_null(strstr(a, access("/dev/kvm", F_OK) == 0 ?
	    "kvm=true\n" : "kvm=false\n"));
	cr_assert_not_null(strstr(a, "\narch="));
	cr_assert_null(strstr(a, "cpus=0\n"));
	cr_assert_null(strstr(a, "mem_mib=0\n"));
	free(a);
	free(b);
}

Test(render, node_stats)
{
	char *s = view(MVMFS_VIEW_NODE_STATS, NULL, NULL, NULL, false);

	cr_assert_str_eq(s, "created=0\ninstances=4\nmem_mib_used=512\n"
	    "pools=2\nrunning=1\nsleeping=1\nstopped=1\ntenants=2\n"
	    "vcpus_used=4\nwarm=1\n");
	free(s);
}

Test(render, tenant_status)
{
	char *s = view(MVMFS_VIEW_TENANT_STATUS, "acme", NULL, NULL, false);
	char *j = view(MVMFS_VIEW_TENANT_STATUS, "acme", NULL, NULL, true);
	cJSON *o = cJSON_Parse(j), *q;

	/* 4 records of 2 GiB: 8 GiB of disk; web holds 3 of them. */
	cr_assert_str_eq(s, "instances=4\nmax_disk_gib=8/100\n"
	    "max_instances_per_pool=3/16\nmax_mem_mib=512/32768\n"
	    "max_pools=2/4\nmax_running=1/5\nmax_vcpus=4/16\nmax_warm=1/4\n"
	    "pools=2\nsecrets_version=0\n", "got:\n%s", s);
	q = cJSON_GetObjectItem(o, "max_running");
	cr_assert_eq(cJSON_GetObjectItem(q, "used")->valuedouble, 1);
	cr_assert_eq(cJSON_GetObjectItem(q, "limit")->valuedouble, 5);
	cJSON_Delete(o);
	free(s);
	free(j);
}

Test(render, pool_status_and_missing_objects)
{
	char *s = view(MVMFS_VIEW_POOL_STATUS, "acme", "web", NULL, false);
	char *out;
	size_t len;

	cr_assert_str_eq(s, "converged=unknown\ncreated=0\ndesired_running=2\n"
	    "desired_sleeping=0\ndesired_warm=0\ninstances=3\nmanaged=false\n"
	    "revision=1\n"
	    "running=1\nsleeping=1\nstopped=0\nwarm=1\n", "got:\n%s", s);
	free(s);
	cr_assert_eq(mvmfs_render(&src, MVMFS_VIEW_POOL_STATUS, "acme", "nope",
	    NULL, false, &out, &len, &err), -ENOENT);
	cr_assert_null(out);
	cr_assert_eq(mvmfs_render(&src, MVMFS_VIEW_TENANT_STATUS, "nope", NULL,
	    NULL, false, &out, &len, &err), -ENOENT);
	cr_assert_eq(mvmfs_render(&src, MVMFS_VIEW_INSTANCE_INFO, "acme", "web",
	    "i-9", false, &out, &len, &err), -ENOENT);
}

Test(render, instance_info)
{
	char *s = view(MVMFS_VIEW_INSTANCE_INFO, "acme", "web", "i-1", false);

	cr_assert_not_null(strstr(s, "state=running\n"), "%s", s);
	cr_assert_not_null(strstr(s, "op=none\n"));
	cr_assert_not_null(strstr(s, "ip=10.240.7.3\n"));
	cr_assert_not_null(strstr(s, "gateway=10.240.7.1\n"));
	cr_assert_not_null(strstr(s, "created_at=1000\n"));
	cr_assert_not_null(strstr(s, "entered_running_at=2000\n"));
	cr_assert_not_null(strstr(s, "\nmac="));
	cr_assert_not_null(strstr(s, "\ntap="));
	cr_assert_not_null(strstr(s, "pid=0\n"));
	free(s);
}

/* Make i-1's VMM the test process, with a busy child as "QEMU". */
static pid_t
fake_vmm(void)
{
	struct mvm_instance in;
	pid_t child;
	char *block;
	int p[2];

	cr_assert_eq(pipe(p), 0);
	if ((child = fork()) == 0) {
		/* Touch 32 MiB so the child's RSS clearly counts. */
		block = malloc(32 << 20);
		memset(block, 1, 32 << 20);
		close(p[0]);
		/* Sending a byte of it keeps the compiler from eliding it. */
		if (write(p[1], block + (32 << 20) - 1, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &(char){ 0 }, 1), 1);
	close(p[0]);
	cr_assert_eq(mvm_store_instance_get(st, "acme", "web", "i-1", &in,
	    &err), 0);
	in.pid = getpid();
	cr_assert_eq(mvm_vmm_start_time(in.pid, &in.pid_start), 0);
	cr_assert_eq(mvm_store_instance_update(st, &in, &err), 0);
	return child;
}

static long
field(const char *s, const char *key)
{
	const char *at = strstr(s, key);

	cr_assert_not_null(at, "%s missing in %s", key, s);
	return strtol(at + strlen(key), NULL, 10);
}

Test(render, instance_stats_sum_the_vmm_tree)
{
	pid_t child;
	char *s;

	s = view(MVMFS_VIEW_INSTANCE_STATS, "acme", "web", "i-1", false);
	cr_assert_not_null(strstr(s, "cpu_seconds=0.00\n"), "%s", s);
	cr_assert_not_null(strstr(s, "rss_kib=0\n"));
	cr_assert_not_null(strstr(s, "mem_mib=256\n"));
	cr_assert_not_null(strstr(s, "vcpus=2\n"));
	cr_assert_gt(field(s, "uptime_seconds="), 0);
	free(s);
	child = fake_vmm();
	s = view(MVMFS_VIEW_INSTANCE_STATS, "acme", "web", "i-1", false);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	cr_assert_gt(field(s, "rss_kib="), 32 * 1024, "%s", s);
	cr_assert_not_null(strstr(s, "state=running\n"));
	free(s);
	/* Sleeping: no uptime. */
	s = view(MVMFS_VIEW_INSTANCE_STATS, "acme", "web", "i-3", false);
	cr_assert_not_null(strstr(s, "uptime_seconds=0\n"));
	free(s);
}

Test(render, metrics)
{
	char *s = view(MVMFS_VIEW_NODE_METRICS, NULL, NULL, NULL, false);

	cr_assert_not_null(strstr(s, "# HELP mvm_instances "));
	cr_assert_not_null(strstr(s, "# TYPE mvm_instances gauge\n"));
	cr_assert_not_null(strstr(s, "mvm_instances{tenant=\"acme\","
	    "pool=\"web\",state=\"running\"} 1\n"), "%s", s);
	cr_assert_not_null(strstr(s, "mvm_instances{tenant=\"acme\","
	    "pool=\"api\",state=\"stopped\"} 1\n"));
	cr_assert_not_null(strstr(s, "mvm_tenant_quota_used{tenant=\"acme\","
	    "quota=\"max_vcpus\"} 4\n"));
	cr_assert_not_null(strstr(s, "mvm_tenant_quota_limit{tenant=\"acme\","
	    "quota=\"max_running\"} 5\n"));
	cr_assert_not_null(strstr(s, "mvm_tenant_quota_used{tenant=\"zeta\","
	    "quota=\"max_pools\"} 0\n"));
	cr_assert_null(strstr(s, "destroyed"));
	free(s);
}

Test(render, log_tails_both_files)
{
	char path[160], *out, *big;
	size_t len;
	FILE *f;

	cr_assert_eq(mvmfs_render_log(sf.dir, &out, &len, &err), 0);
	cr_assert_str_eq(out, "==> vmm.log <==\n==> console.log <==\n");
	free(out);
	snprintf(path, sizeof(path), "%s/vmm.log", sf.dir);
	f = fopen(path, "w");
	big = malloc(MVMFS_LOG_TAIL + 10);
	memset(big, 'o', MVMFS_LOG_TAIL + 10);
	memcpy(big, "OLD", 3);
	fwrite(big, 1, MVMFS_LOG_TAIL + 10, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/console.log", sf.dir);
	f = fopen(path, "w");
	fputs("Linux version 6.1\nlogin:\n", f);
	fclose(f);
	cr_assert_eq(mvmfs_render_log(sf.dir, &out, &len, &err), 0);
	cr_assert_eq(len, 16 + MVMFS_LOG_TAIL + 20 + 25);
	cr_assert_null(strstr(out, "OLD"));
	cr_assert_str_eq(out + 16 + MVMFS_LOG_TAIL,
	    "==> console.log <==\nLinux version 6.1\nlogin:\n");
	free(out);
	free(big);
}

Test(render, readme)
{
	cr_assert_not_null(strstr(mvmfs_readme(), "events"));
}
