/*
 * test_reconcile.c: pools that keep their shape, through a real mvmfs:
 * quotas and the reconciler's deferrals, and a daemon killed in the middle
 * of a pass converging without duplicates.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

/* Wait up to `s` seconds for `rel` to contain `needle`. */
static bool
wait_contains(const char *rel, const char *needle, int s)
{
	int i;

	for (i = 0; i < s * 10; i++) {
		if (contains(rel, needle))
			return true;
		sleep_ms(100);
	}
	return false;
}

/* Entries of the directory `rel`, "." and ".." left out. */
static int
count_entries(const char *rel)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(P(rel))) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* mvm-qemu processes serving this test's run directory. */
static int
count_vmms(void)
{
	char path[288], exe[PATH_MAX], cmd[4096];
	struct dirent *de;
	ssize_t n;
	DIR *d;
	FILE *f;
	int count = 0;

	cr_assert_not_null(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/exe", de->d_name);
		if ((n = readlink(path, exe, sizeof(exe) - 1)) <= 0)
			continue;
		exe[n] = '\0';
		if (strcmp(strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe,
		    "mvm-qemu") != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		n = (ssize_t)fread(cmd, 1, sizeof(cmd) - 1, f);
		fclose(f);
		for (ssize_t i = 0; i < n; i++)
			if (cmd[i] == '\0')
				cmd[i] = ' ';
		cmd[n > 0 ? n : 0] = '\0';
		if (strstr(cmd, fx.run) != NULL)
			count++;
	}
	closedir(d);
	return count;
}

/*
 * Wait up to `s` seconds for pool `pool` of acme to converge in a pass
 * that read it as it is now: converged=yes from the pass before the last
 * write would say nothing (pass_revision tells them apart).
 */
static bool
wait_converged(const char *pool, int s)
{
	char rel[128], *text, *rev, *pass;
	bool done = false;
	int i;

	snprintf(rel, sizeof(rel), "tenants/acme/pools/%s/status", pool);
	for (i = 0; i < s * 10 && !done; i++) {
		if ((text = rd(rel)) == NULL)
			break;
		rev = strstr(text, "\nrevision=");
		pass = strstr(text, "\npass_revision=");
		done = strstr(text, "converged=yes\n") != NULL && rev != NULL &&
		    pass != NULL && strtoull(rev + 10, NULL, 10) ==
		    strtoull(pass + 15, NULL, 10);
		free(text);
		if (!done)
			sleep_ms(100);
	}
	return done;
}

/* Scale the pool to nothing and remove its instances. */
static void
empty_pool(const char *pool)
{
	char rel[128];
	struct dirent *de;
	DIR *d;

	snprintf(rel, sizeof(rel), "tenants/acme/pools/%s/desired", pool);
	cr_assert_eq(wr(rel, "running=0 warm=0 sleeping=0\n"), 0);
	cr_expect(wait_converged(pool, 120), "the pool did not scale down");
	snprintf(rel, sizeof(rel), "tenants/acme/pools/%s/instances", pool);
	cr_assert_not_null(d = opendir(P(rel)));
	while ((de = readdir(d)) != NULL) {
		char path[128 + 256];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", rel, de->d_name);
		cr_expect_eq(rmdir(P(path)), 0, "rmdir %s: %s", path,
		    strerror(errno));
	}
	closedir(d);
	cr_expect_eq(count_vmms(), 0);
}

/*
 * Every quota refuses at its limit with EDQUOT and a sentence naming it;
 * the reconciler takes a refusal as a wait, and goes on once the quota is
 * raised.
 */
Test(mvmfs, quotas_refuse_and_the_reconciler_waits_for_them)
{
	const char *tcfg = "tenants/acme/config";
	const char *a = "tenants/acme/pools/web/instances/a/state";
	static const struct {
		const char	*config;
		const char	*sentence;
	} runs[] = {
		{ "max_vcpus=0\n", "quota max_vcpus=0 exceeded" },
		{ "max_vcpus=16\nmax_mem_mib=64\n",
		    "quota max_mem_mib=64 exceeded" },
		{ "max_mem_mib=32768\nmax_running=0\n",
		    "quota max_running=0 exceeded" },
	};
	size_t i;

	make_tree();
	cr_assert_eq(wr(tcfg, "max_pools=1\nmax_instances_per_pool=2\n"
	    "max_disk_gib=1\nmax_warm=0\n"), 0);
	cr_assert_eq(wr("tenants/acme/pools/web/config", "data_disk_mib=2048\n"
	    "min_running_seconds=0\nmin_warm_seconds=0\n"), 0);

	cr_expect_eq(mkdir(P("tenants/acme/pools/api"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/err", "quota max_pools=1 exceeded"));
	cr_expect_eq(mkdir(P("tenants/acme/pools/web/instances/a"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/pools/web/err",
	    "quota max_disk_gib=1 exceeded"));
	cr_assert_eq(wr("tenants/acme/pools/web/config", "data_disk_mib=0\n"),
	    0);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/a"), 0750), 0);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/b"), 0750), 0);
	cr_expect_eq(mkdir(P("tenants/acme/pools/web/instances/c"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/pools/web/err",
	    "quota max_instances_per_pool=2 exceeded"));
	/* Refused before anything boots. */
	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		cr_assert_eq(wr(tcfg, runs[i].config), 0);
		cr_expect_eq(wr(a, "running\n"), -EDQUOT, "%s", runs[i].config);
		cr_expect(contains("tenants/acme/pools/web/instances/a/err",
		    runs[i].sentence), "no \"%s\"", runs[i].sentence);
	}
	cr_expect_eq(count_vmms(), 0);

	/* One warm instance wanted, none allowed: deferred, not failed. */
	cr_assert_eq(wr(tcfg, "max_running=8\n"), 0);
	cr_assert_eq(wr("tenants/acme/pools/web/desired", "warm=1\n"), 0);
	cr_expect(wait_contains("tenants/acme/pools/web/status",
	    "max_warm=0 exceeded", 30), "no quota deferral in the status");
	cr_expect(contains("tenants/acme/pools/web/status", "converged=no"));
	cr_expect(contains("tenants/acme/pools/web/status", "failed=0"));
	cr_expect_eq(count_entries("tenants/acme/pools/web/instances"), 2);
	cr_expect(events_have("tenants/acme/pools/web/events",
	    "reconcile.defer"));
	/* Raised: the reconciler boots one and parks it warm. */
	cr_assert_eq(wr(tcfg, "max_warm=1\n"), 0);
	cr_expect(wait_contains("tenants/acme/pools/web/status",
	    "converged=yes", 120), "the pool did not converge");
	cr_expect(contains("tenants/acme/pools/web/status", "\nwarm=1\n"));
	cr_expect(contains("tenants/acme/status", "max_warm=1/1"));
	cr_expect_eq(count_entries("tenants/acme/pools/web/instances"), 2);
	cr_expect_eq(count_vmms(), 1);
	empty_pool("web");
}

/*
 * mvmfs killed while a pass boots instances: the next mvmfs settles what
 * was in flight and converges, with no duplicate record and no orphan VM.
 */
Test(mvmfs, killed_mid_pass_converges_without_duplicates)
{
	int i;

	make_tree();
	cr_assert_eq(wr("tenants/acme/pools/web/config",
	    "min_running_seconds=0\n"), 0);
	cr_assert_eq(wr("tenants/acme/pools/web/desired", "running=2\n"), 0);
	for (i = 0; i < 300 && count_entries("tenants/acme/pools/web/"
	    "instances") < 1; i++)
		sleep_ms(50);
	cr_assert_geq(count_entries("tenants/acme/pools/web/instances"), 1,
	    "the reconciler made no instance");
	restart_daemon();
	cr_expect(wait_converged("web", 180),
	    "the pool did not converge after restart");
	cr_expect(contains("tenants/acme/pools/web/status", "\nrunning=2\n"));
	cr_expect_eq(count_entries("tenants/acme/pools/web/instances"), 2);
	cr_expect_eq(count_vmms(), 2);
	empty_pool("web");
}
