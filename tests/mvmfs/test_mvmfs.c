/*
 * test_mvmfs.c: the /mvm tree served by a real mvmfs process, checked at
 * the system-call level: every file class, the errnos of DESIGN.md section
 * 3, ownership, and one instance's whole lifecycle with a real guest.
 *
 * Each test mounts its own tree in a temporary directory (mvmfs -f in a
 * child process) and unmounts it with fusermount3 -u, even on failure.
 * Needs MVMFS, MVM_QEMU and MVM_TEST_IMAGE (set by meson).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

struct fixture {
	char	root[64];
	char	mnt[128];
	char	state[128];
	char	run[128];
	pid_t	pid;
};

static struct fixture fx;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		cr_assert_fail("%s is not set: run the suite through meson",
		    name);
	return v;
}

static const char *
P(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fx.mnt, rel);
	return buf[i];
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static bool
is_mounted(void)
{
	struct stat st;

	return stat(P("README"), &st) == 0;
}

static void
start_daemon(void)
{
	const char *bin = env("MVMFS");
	int i;

	fx.pid = fork();
	cr_assert_neq(fx.pid, -1);
	if (fx.pid == 0) {
		execl(bin, bin, "-f", "--state-dir", fx.state, "--run-dir",
		    fx.run, "--vmm", env("MVM_QEMU"), "--image",
		    env("MVM_TEST_IMAGE"), fx.mnt, (char *)NULL);
		_exit(127);
	}
	/* Recovery may first finish a boot a killed mvmfs left. */
	for (i = 0; i < 1200 && !is_mounted(); i++)
		sleep_ms(50);
	cr_assert(is_mounted(), "mvmfs did not mount %s", fx.mnt);
}

static void
stop_daemon(void)
{
	char cmd[256];
	int status;

	snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s' 2>/dev/null", fx.mnt);
	if (system(cmd) != 0 && fx.pid > 0)
		kill(fx.pid, SIGTERM);
	if (fx.pid > 0) {
		waitpid(fx.pid, &status, 0);
		/* A clean exit: under ASan this also means no leak. */
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "mvmfs exited with status %#x", status);
	}
	fx.pid = 0;
}

static void
setup(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.root, sizeof(fx.root), "/tmp/mvmfs-test-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.root));
	/* Other uids must reach the mount point (mkdtemp makes it 0700). */
	cr_assert_eq(chmod(fx.root, 0755), 0);
	snprintf(fx.mnt, sizeof(fx.mnt), "%s/mnt", fx.root);
	snprintf(fx.state, sizeof(fx.state), "%s/state", fx.root);
	snprintf(fx.run, sizeof(fx.run), "%s/run", fx.root);
	cr_assert_eq(mkdir(fx.mnt, 0755), 0);
	start_daemon();
}

static void
teardown(void)
{
	char cmd[256];

	/* Destroy what a failed lifecycle test left running. */
	if (fx.pid > 0 && is_mounted())
		rmdir(P("tenants/acme/pools/web/instances/vm1"));
	stop_daemon();
	if (fx.root[0] != '\0') {
		char prefix[160];

		/* VMMs a crashed daemon could not destroy. */
		snprintf(prefix, sizeof(prefix), "%s/vm/", fx.run);
		mvm_vmm_kill_orphans(prefix, NULL, NULL);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.root);
		cr_expect_eq(system(cmd), 0);
	}
}

/* Write `text` in one write(2) to a fresh open; 0 or -errno of the step. */
static int
wr_flags(const char *rel, const char *text, int flags)
{
	int fd, rc = 0;

	if ((fd = open(P(rel), O_WRONLY | flags)) < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		rc = -errno;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

static int
wr(const char *rel, const char *text)
{
	return wr_flags(rel, text, O_TRUNC);
}

/* The whole content of a file (caller frees), or NULL with errno. */
static char *
rd(const char *rel)
{
	char *buf = NULL, *np;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	if ((fd = open(P(rel), O_RDONLY)) < 0)
		return NULL;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			np = realloc(buf, cap + 1);
			cr_assert_not_null(np);
			buf = np;
		}
		if ((n = read(fd, buf + len, cap - len)) <= 0)
			break;
		len += n;
	}
	close(fd);
	cr_assert_geq(n, 0, "read %s: %s", rel, strerror(errno));
	buf[len] = '\0';
	return buf;
}

static void
expect_content(const char *rel, const char *want)
{
	char *got = rd(rel);

	cr_assert_not_null(got, "%s: %s", rel, strerror(errno));
	cr_expect_str_eq(got, want, "%s", rel);
	free(got);
}

static bool
contains(const char *rel, const char *needle)
{
	char *got = rd(rel);
	bool yes = got != NULL && strstr(got, needle) != NULL;

	free(got);
	return yes;
}

/* What an events stream holds now, read without blocking (caller frees). */
static char *
rd_events(const char *rel)
{
	char *buf = calloc(1, 1 << 20);
	size_t len = 0;
	ssize_t n;
	int fd;

	cr_assert_not_null(buf);
	fd = open(P(rel), O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0, "%s: %s", rel, strerror(errno));
	while (len < (1 << 20) - 1 &&
	    (n = read(fd, buf + len, (1 << 20) - 1 - len)) > 0)
		len += n;
	cr_expect(n == -1 && errno == EAGAIN, "%s: the stream should end "
	    "with EAGAIN: %s", rel, strerror(errno));
	close(fd);
	return buf;
}

static bool
events_have(const char *rel, const char *needle)
{
	char *got = rd_events(rel);
	bool yes = strstr(got, needle) != NULL;

	free(got);
	return yes;
}

static void
on_usr1(int sig)
{
	(void)sig;
}

/*
 * In a child, run fn() with a SIGUSR1 handler that interrupts system
 * calls; signal it until it exits, and return its exit status.
 */
static int
interrupted_child(int (*fn)(void))
{
	struct sigaction sa;
	sigset_t usr1, old;
	pid_t pid;
	int status, i;

	/* Blocked until the child has its handler, so no signal kills it. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;	/* no SA_RESTART */
		sigaction(SIGUSR1, &sa, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		_exit(fn());
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < 1200; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
		sleep_ms(50);
		kill(pid, SIGUSR1);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 254;
}

static bool
dir_has(const char *rel, const char *name)
{
	DIR *d = opendir(P(rel));
	struct dirent *de;
	bool found = false;

	cr_assert_not_null(d, "%s: %s", rel, strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, name) == 0)
			found = true;
	closedir(d);
	return found;
}

static void
make_tree(void)
{
	cr_assert_eq(mkdir(P("tenants/acme"), 0750), 0, "%s", strerror(errno));
	cr_assert_eq(mkdir(P("tenants/acme/pools/web"), 0750), 0, "%s",
	    strerror(errno));
}

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

Test(mvmfs, root_listing_and_views_have_truthful_sizes)
{
	const char *names[] = { "README", "ctl", "desired", "err", "events",
	    "node", "status", "status.json", "tenants" };
	const char *views[] = { "README", "node/info", "node/info.json",
	    "node/stats", "node/metrics", "node/desired", "status" };
	struct stat st;
	size_t i;
	char *text;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(dir_has("", names[i]), "no %s in /", names[i]);
	cr_expect(dir_has("node", "stats.json"));
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		cr_assert_eq(stat(P(views[i]), &st), 0);
		text = rd(views[i]);
		cr_assert_not_null(text);
		cr_expect_eq((size_t)st.st_size, strlen(text),
		    "%s: st_size %lld, read %zu bytes", views[i],
		    (long long)st.st_size, strlen(text));
		cr_expect_gt(strlen(text), 0, "%s is empty", views[i]);
		free(text);
	}
	cr_expect(contains("node/info", "node_id="));
	/* The accelerator is probed as mvm-qemu probes it, never unknown. */
	cr_expect(contains("node/info", "accel=tcg") ||
	    contains("node/info", "accel=kvm"));
	cr_expect(contains("node/info", "accel_reason=") &&
	    !contains("node/info", "accel_reason=\n"),
	    "node/info says why it chose its accelerator");
	cr_expect(contains("node/info.json", "\"node_id\""));
	cr_expect(contains("status", "{"));
	cr_assert_eq(stat(P("node/info"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0444);
	cr_assert_eq(stat(P("ctl"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0200);
	cr_assert_eq(stat(P("nosuch"), &st), -1);
	cr_expect_eq(errno, ENOENT);
}

Test(mvmfs, inode_numbers_are_stable)
{
	struct stat a, b;

	make_tree();
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &a), 0);
	/* Drop the kernel's dentries and inodes, forcing forget. */
	sync();
	if (access("/proc/sys/vm/drop_caches", W_OK) == 0) {
		FILE *f = fopen("/proc/sys/vm/drop_caches", "w");

		if (f != NULL) {
			fputs("2\n", f);
			fclose(f);
		}
	}
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &b), 0);
	cr_expect_eq(a.st_ino, b.st_ino);
	cr_assert_eq(stat(P("tenants/acme"), &a), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &b), 0);
	cr_expect_neq(a.st_ino, b.st_ino);
}

Test(mvmfs, mkdir_and_rmdir_objects)
{
	struct stat st;

	make_tree();
	cr_expect(dir_has("tenants", "acme"));
	cr_expect(dir_has("tenants/acme/pools", "web"));
	cr_expect_eq(mkdir(P("tenants/acme"), 0750), -1);
	cr_expect_eq(errno, EEXIST);
	cr_expect_eq(mkdir(P("tenants/Bad_Name"), 0750), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("err", "mkdir EINVAL tenant id"),
	    "node err has no sentence for the bad tenant name");
	cr_expect_eq(mkdir(P("tenants/acme/pools/ctl"), 0750), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/err", "mkdir EINVAL"));
	cr_expect_eq(mkdir(P("tenants/acme/scratch"), 0750), -1);
	cr_expect_eq(errno, EPERM);

	/* A second tenant gets the next net_id. */
	cr_assert_eq(mkdir(P("tenants/beta"), 0750), 0);
	cr_expect(contains("tenants/acme/config", "net_id=0\n"));
	cr_expect(contains("tenants/beta/config", "net_id=1\n"));
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0750);
	cr_expect_eq(st.st_uid, getuid());

	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	expect_content("tenants/acme/pools/web/instances/vm1/state",
	    "created\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/info",
	    "state=created"));
	cr_expect_eq(rmdir(P("tenants/acme/pools/web")), -1);
	cr_expect_eq(errno, EBUSY);
	cr_expect_eq(rmdir(P("tenants/acme")), -1);
	cr_expect_eq(errno, EBUSY);
	cr_expect_eq(rmdir(P("tenants/acme/pools/web/instances")), -1);
	cr_expect_eq(errno, EPERM);
	cr_assert_eq(rmdir(P("tenants/acme/pools/web/instances/vm1")), 0,
	    "%s", strerror(errno));
	cr_expect(!dir_has("tenants/acme/pools/web/instances", "vm1"));
	cr_assert_eq(rmdir(P("tenants/acme/pools/web")), 0);
	cr_assert_eq(rmdir(P("tenants/acme")), 0);
	cr_expect_eq(stat(P("tenants/acme"), &st), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect(events_have("events", "\"action\":\"tenant.create\""));
	cr_expect(events_have("events", "\"action\":\"instance.create\""));
}

Test(mvmfs, quotas_refuse_with_edquot)
{
	make_tree();
	cr_assert_eq(wr("tenants/acme/config",
	    "max_pools=1\nmax_instances_per_pool=1\n"), 0);
	cr_expect_eq(mkdir(P("tenants/acme/pools/api"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/err", "EDQUOT"));
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/a"), 0750), 0);
	cr_expect_eq(mkdir(P("tenants/acme/pools/web/instances/b"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/pools/web/err", "EDQUOT"));
	cr_expect(contains("tenants/acme/status", "max_pools=1/1"));
}

Test(mvmfs, state_writes_are_validated)
{
	const char *state = "tenants/acme/pools/web/instances/vm1/state";

	make_tree();
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	cr_expect_eq(wr(state, "flying\n"), -EINVAL);
	cr_expect_eq(wr(state, "running now\n"), -EINVAL);
	cr_expect_eq(wr(state, "running\nstopped\n"), -EINVAL);
	cr_expect_eq(wr(state, "destroyed\n"), -EINVAL);
	/* created -> warm is not a transition of the state machine. */
	cr_expect_eq(wr(state, "warm\n"), -EOPNOTSUPP);
	cr_expect_eq(wr(state, ""), 0);
	expect_content(state, "created\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EINVAL \"flying\" is not a target state"));
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EOPNOTSUPP"));
}

Test(mvmfs, config_is_a_document)
{
	const char *cfg = "tenants/acme/pools/web/config";
	char *before, *after;
	int fd;

	make_tree();
	/* A bad line fails its write; shells see that error. */
	cr_expect_eq(wr(cfg, "vcpus=abc\n"), -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "write EINVAL"));
	cr_expect_eq(wr(cfg, "nokey=1\n"), -EINVAL);
	/* Keys given are set, the others kept; canonical read-back. */
	cr_assert_eq(wr(cfg, "vcpus=2\nmem_mib=256\n"), 0);
	cr_expect(contains(cfg, "vcpus=2\n"));
	cr_expect(contains(cfg, "mem_mib=256\n"));
	before = rd(cfg);
	cr_assert_not_null(before);
	cr_assert_eq(wr(cfg, before), 0, "writing back the canonical form");
	after = rd(cfg);
	cr_expect_str_eq(before, after);
	free(after);
	/* Several writes of one open make one document. */
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "vcpus=3\n", 8), 8);
	cr_expect_eq(write(fd, "mem_mib=512\n", 12), 12);
	cr_expect_eq(close(fd), 0);
	cr_expect(contains(cfg, "vcpus=3\nwarm_after_idle_seconds") ||
	    contains(cfg, "vcpus=3\n"));
	cr_expect(contains(cfg, "mem_mib=512\n"));
	/* O_TRUNC alone is not an action, and an empty commit is refused. */
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(close(fd), 0);
	cr_expect(contains(cfg, "mem_mib=512\n"));
	cr_expect_eq(truncate(P(cfg), 0), 0);
	cr_expect(contains(cfg, "mem_mib=512\n"));
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "# nothing\n", 10), 10);
	cr_expect_eq(close(fd), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "commit EINVAL"));
	after = rd(cfg);
	cr_expect(strstr(after, "mem_mib=512\n") != NULL);
	free(after);
	free(before);
}

Test(mvmfs, desired_secrets_and_ctl)
{
	const char *secret = "API_KEY=s3cr=t value\n# comment\nX=\n";
	struct stat st;

	make_tree();
	/* Counts make the reconciler boot: an image that is not there fails. */
	cr_assert_eq(wr("tenants/acme/pools/web/config",
	    "image=mvm-test-no-such-image\n"), 0);
	cr_assert_eq(wr("tenants/acme/pools/web/desired",
	    "running=2 warm=1\n"), 0);
	expect_content("tenants/acme/pools/web/desired",
	    "running=2 warm=1 sleeping=0\n");
	cr_expect_eq(wr("tenants/acme/pools/web/desired", "running=x\n"),
	    -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/status",
	    "desired_running=2"));

	cr_assert_eq(wr("tenants/acme/secrets", secret), 0);
	expect_content("tenants/acme/secrets", secret);
	cr_assert_eq(stat(P("tenants/acme/secrets"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq((size_t)st.st_size, strlen(secret));
	cr_expect_eq(wr("tenants/acme/secrets", "lower=1\n"), -EINVAL);
	cr_expect_eq(wr("tenants/acme/ctl", "rotate-secrets\n"), 0);
	expect_content("tenants/acme/secrets", secret);
	cr_expect(contains("tenants/acme/status", "secrets_version=2"));
	cr_expect_eq(wr("tenants/acme/ctl", "explode\n"), -EINVAL);
	cr_expect_eq(wr("tenants/acme/pools/web/ctl", "anything\n"), -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err",
	    "a pool accepts retry"));
	cr_expect_eq(wr("tenants/acme/pools/web/ctl", "retry\n"), 0);
	cr_expect_eq(wr("ctl", "prune-events\n"), 0);
	/* Several commands in one write: all checked, then all run. */
	cr_expect_eq(wr("ctl", "prune-events\nprune-events"), 0);
	cr_expect_eq(wr("ctl", "prune-events\nbogus\n"), -EINVAL);
	cr_expect(contains("err", "\"bogus\" is not a command"));

	/* The fleet document: refused whole with the JSON path, or kept. */
	cr_expect_eq(wr("desired", "{\"version\": 1}\n"), -EINVAL);
	cr_expect(contains("err", "schema_version"));
	cr_assert_eq(wr("desired", "{\"schema_version\": 1, \"node_id\": "
	    "\"n1\", \"tenants\": []}\n"), 0);
	expect_content("desired", "{\"schema_version\": 1, \"node_id\": "
	    "\"n1\", \"tenants\": []}\n");
	cr_expect(contains("status", "\"converged\""));
	cr_expect(contains("node/desired", "\"acme\""));
}

Test(mvmfs, control_files_keep_their_names)
{
	const char *cfg = "tenants/acme/config";
	char buf[64];
	int fd;

	make_tree();
	cr_expect_eq(unlink(P(cfg)), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(rename(P(cfg), P("tenants/acme/config.old")), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(rmdir(P("tenants/acme/pools")), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(getxattr(P(cfg), "user.x", buf, sizeof(buf)), -1);
	cr_expect_eq(errno, EOPNOTSUPP);
	cr_expect_eq(setxattr(P(cfg), "user.x", "1", 1, 0), -1);
	cr_expect_eq(errno, EOPNOTSUPP);
	fd = open(P("tenants/acme"), O_TMPFILE | O_RDWR, 0600);
	cr_expect_eq(fd, -1);
	cr_expect(errno == EOPNOTSUPP || errno == EISDIR, "O_TMPFILE: %s",
	    strerror(errno));
	/* Read-only views refuse writers, root included. */
	cr_expect_eq(wr("tenants/acme/status", "x\n"), -EACCES);
	cr_expect_eq(chmod(P(cfg), 0640), 0);
	cr_expect_eq(chmod(P(cfg), 0666), -1);
	cr_expect_eq(errno, EPERM);
	/* Owner and mode round-trip; changing them is refused. */
	cr_expect_eq(chown(P(cfg), getuid(), getgid()), 0);
	cr_expect_eq(chown(P(cfg), 4242, -1), -1);
	cr_expect_eq(errno, EPERM);
}

Test(mvmfs, other_users_are_refused)
{
	pid_t pid;
	int status;

	make_tree();
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int bad = 0;

		if (setresgid(54321, 54321, 54321) != 0 ||
		    setresuid(54321, 54321, 54321) != 0)
			_exit(100);
		/* The kernel refuses by mode (tenant dir 0750, root's). */
		if (open(P("tenants/acme/config"), O_RDONLY) != -1 ||
		    errno != EACCES)
			bad |= 1;
		if (mkdir(P("tenants/other"), 0750) != -1 || errno != EACCES)
			bad |= 2;
		if (open(P("desired"), O_RDONLY) != -1 || errno != EACCES)
			bad |= 4;
		/* Public node views stay readable. */
		if (access(P("node/info"), R_OK) != 0)
			bad |= 8;
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 0, "refusals failed: mask %d",
	    WEXITSTATUS(status));

	/* Hand the tenant to that uid: it may then act in its tree. */
	cr_assert_eq(wr("tenants/acme/config", "uid=54321\ngid=54321\n"), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int bad = 0;

		if (setresgid(54321, 54321, 54321) != 0 ||
		    setresuid(54321, 54321, 54321) != 0)
			_exit(100);
		if (mkdir(P("tenants/acme/pools/api"), 0750) != 0)
			bad |= 1;
		if (wr("tenants/acme/pools/api/desired", "running=0\n") != 0)
			bad |= 2;
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect_eq(WEXITSTATUS(status), 0, "owner failed: mask %d",
	    WEXITSTATUS(status));
}

/*
 * The kernel caches directory attributes and control file entries; every
 * change must still show at once.
 */
Test(mvmfs, cached_entries_and_attributes_follow_changes)
{
	const char *scratch = "tenants/acme/pools/web/.config.tmp";
	struct stat st, ctl;

	make_tree();
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_assert_eq(st.st_uid, getuid());
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &st), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &ctl), 0);

	/* A new owner shows on the tenant's directories at once. */
	cr_assert_eq(wr("tenants/acme/config", "uid=54321\ngid=54322\n"), 0);
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_expect_eq(st.st_uid, 54321);
	cr_expect_eq(st.st_gid, 54322);
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &st), 0);
	cr_expect_eq(st.st_uid, 54321);
	cr_expect_eq(st.st_gid, 54322);

	/* After a rename onto it, the name is the control file again. */
	cr_assert_eq(wr_flags(scratch, "vcpus=2\n", O_CREAT | O_TRUNC), 0);
	cr_assert_eq(rename(P(scratch), P("tenants/acme/pools/web/config")), 0,
	    "%s", strerror(errno));
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &st), 0);
	cr_expect_eq(st.st_ino, ctl.st_ino);
	cr_expect_eq(st.st_mode, ctl.st_mode);
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=2\n"));

	/* A removed instance takes its cached control files with it. */
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web/instances/vm1/state"),
	    &st), 0);
	cr_assert_eq(rmdir(P("tenants/acme/pools/web/instances/vm1")), 0,
	    "%s", strerror(errno));
	cr_expect_eq(stat(P("tenants/acme/pools/web/instances/vm1/state"),
	    &st), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect_eq(stat(P("tenants/acme/pools/web/instances/vm1"), &st), -1);
	cr_expect_eq(errno, ENOENT);
}

Test(mvmfs, events_backlog_and_nonblocking_read)
{
	char buf[65536];
	ssize_t n;
	int fd;

	make_tree();
	fd = open(P("tenants/acme/events"), O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "%s", strerror(errno));
	buf[n] = '\0';
	cr_expect(strstr(buf, "\"action\":\"tenant.create\"") != NULL, "%s",
	    buf);
	cr_expect(strstr(buf, "\"action\":\"pool.create\"") != NULL, "%s", buf);
	cr_expect_eq(read(fd, buf, sizeof(buf)), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect(strstr(buf, "\"instance\":\"vm1\"") != NULL, "%s", buf);
	close(fd);
}

struct blocked_read {
	int	fd;
	char	buf[8192];
	ssize_t	n;
};

static void *
blocked_read_main(void *arg)
{
	struct blocked_read *b = arg;

	b->n = read(b->fd, b->buf, sizeof(b->buf) - 1);
	return NULL;
}

Test(mvmfs, events_block_until_the_next_event)
{
	struct blocked_read b = { .n = -2 };
	char drain[65536];
	pthread_t th;

	make_tree();
	b.fd = open(P("tenants/acme/pools/web/events"), O_RDONLY);
	cr_assert_geq(b.fd, 0);
	/* The backlog comes first, without blocking. */
	cr_assert_gt(read(b.fd, drain, sizeof(drain)), 0);
	cr_assert_eq(pthread_create(&th, NULL, blocked_read_main, &b), 0);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm2"), 0750), 0);
	pthread_join(th, NULL);
	cr_assert_gt(b.n, 0, "%s", strerror(errno));
	b.buf[b.n] = '\0';
	cr_expect(strstr(b.buf, "\"instance\":\"vm2\"") != NULL, "%s", b.buf);
	close(b.fd);
}

static int
read_events_blocking(void)
{
	char buf[65536];
	int fd = open(P("events"), O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return 1;
	/* Nothing new: this read blocks until the signal interrupts it. */
	if (read(fd, buf, sizeof(buf)) != -1 || errno != EINTR)
		return 2;
	close(fd);
	return 0;
}

Test(mvmfs, a_signal_interrupts_a_blocked_read)
{
	make_tree();
	cr_expect_eq(interrupted_child(read_events_blocking), 0);
	/* The daemon still serves. */
	cr_expect(contains("README", "mvm"));
}

struct blocked_poll {
	int	fd;
	short	revents;
	int	n;
};

static void *
blocked_poll_main(void *arg)
{
	struct blocked_poll *b = arg;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN | POLLPRI };

	b->n = poll(&pfd, 1, -1);
	b->revents = pfd.revents;
	return NULL;
}

/* poll(2) on `rel` wakes when mkdir of `made` changes its object. */
static void
expect_poll_wakes(const char *rel, int flags, const char *made)
{
	struct blocked_poll b = { .n = -2 };
	struct pollfd pfd;
	char drain[65536];
	pthread_t th;

	b.fd = open(P(rel), O_RDONLY | flags);
	cr_assert_geq(b.fd, 0, "%s: %s", rel, strerror(errno));
	while (read(b.fd, drain, sizeof(drain)) > 0 && (flags & O_NONBLOCK))
		;
	pfd = (struct pollfd){ .fd = b.fd, .events = POLLIN | POLLPRI };
	cr_expect_eq(poll(&pfd, 1, 0), 0, "%s is ready before any change", rel);
	cr_assert_eq(pthread_create(&th, NULL, blocked_poll_main, &b), 0);
	cr_assert_eq(mkdir(P(made), 0750), 0, "%s: %s", made, strerror(errno));
	pthread_join(th, NULL);
	cr_expect_eq(b.n, 1, "%s: poll returned %d", rel, b.n);
	cr_expect(b.revents & POLLIN, "%s: revents %#x", rel, b.revents);
	close(b.fd);
}

Test(mvmfs, poll_wakes_on_changes)
{
	make_tree();
	expect_poll_wakes("tenants/acme/events", O_NONBLOCK,
	    "tenants/acme/pools/api");
	expect_poll_wakes("tenants/acme/pools/web/status", 0,
	    "tenants/acme/pools/web/instances/vm1");
	expect_poll_wakes("tenants/acme/status", 0, "tenants/acme/pools/db");
}

/* Run a shell command in the mount point. */
static int
run(const char *cmd)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "cd '%s' && %s", fx.mnt, cmd);
	return system(buf);
}

Test(mvmfs, scratch_files_and_rename_commit)
{
	const char *scratch = "tenants/acme/pools/web/.config.tmp";
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;
	char *text;
	int fd;

	make_tree();
	/* A scratch file is an ordinary, inert file of its creator. */
	fd = open(P(scratch), O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_expect_eq(write(fd, "vcpus=4\n", 8), 8);
	cr_expect_eq(fsync(fd), 0);
	cr_expect_eq(fchmod(fd, 0640), 0);
	cr_expect_eq(fchown(fd, getuid(), getgid()), 0);
	cr_expect_eq(futimens(fd, times), 0);
	cr_expect_eq(close(fd), 0);
	cr_expect_eq(open(P(scratch), O_WRONLY | O_CREAT | O_EXCL, 0600), -1);
	cr_expect_eq(errno, EEXIST);
	cr_assert_eq(stat(P(scratch), &st), 0);
	cr_expect_eq(st.st_size, 8);
	cr_expect_eq(st.st_mode & 07777, 0640);
	cr_expect_eq(st.st_mtime, 1000000000);
	cr_expect(dir_has("tenants/acme/pools/web", ".config.tmp"));
	expect_content(scratch, "vcpus=4\n");
	cr_expect(!contains("tenants/acme/pools/web/config", "vcpus=4\n"));
	/* Renaming it onto the control file is the commit. */
	cr_assert_eq(rename(P(scratch), P("tenants/acme/pools/web/config")), 0,
	    "%s", strerror(errno));
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=4\n"));
	cr_expect_eq(stat(P(scratch), &st), -1);
	cr_expect_eq(errno, ENOENT);
	/* A bad document is refused by rename and recorded. */
	cr_assert_eq(wr_flags(scratch, "vcpus=99\n", O_CREAT | O_TRUNC), 0);
	cr_expect_eq(rename(P(scratch), P("tenants/acme/pools/web/config")),
	    -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "rename EINVAL"));
	/* Scratch to scratch, and unlink. */
	cr_expect_eq(rename(P(scratch), P("tenants/acme/pools/web/other")), 0);
	cr_expect_eq(unlink(P("tenants/acme/pools/web/other")), 0);
	cr_expect(!dir_has("tenants/acme/pools/web", "other"));
	/* Not in listing directories, and never onto views. */
	cr_expect_eq(open(P("tenants/x"), O_WRONLY | O_CREAT, 0600), -1);
	cr_expect_eq(errno, EPERM);
	cr_assert_eq(wr_flags("tenants/acme/s", "x", O_CREAT), 0);
	cr_expect_eq(rename(P("tenants/acme/s"), P("tenants/acme/status")), -1);
	cr_expect_eq(errno, EPERM);

	/* Scratch files are capped in size and number. */
	{
		static char big[4 * 1024 * 1024 + 1];
		char name[64];
		int i, n;

		fd = open(P("tenants/acme/big"), O_WRONLY | O_CREAT, 0600);
		cr_assert_geq(fd, 0);
		/*
		 * The kernel splits a large write and returns what fitted;
		 * writing on, the byte past 4 MiB fails.
		 */
		cr_expect_lt(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
		for (i = 0; i < 4096 && write(fd, "x", 1) == 1; i++)
			;
		cr_expect_eq(errno, EFBIG);
		cr_assert_eq(fstat(fd, &st), 0);
		cr_expect_eq(st.st_size, 4 * 1024 * 1024);
		close(fd);
		cr_expect_eq(unlink(P("tenants/acme/big")), 0);
		for (i = n = 0; i < 70; i++) {
			snprintf(name, sizeof(name), "tenants/acme/pools/web/"
			    "f%d", i);
			fd = open(P(name), O_WRONLY | O_CREAT, 0600);
			if (fd < 0) {
				cr_expect_eq(errno, EDQUOT);
				break;
			}
			close(fd);
			n++;
		}
		cr_expect_eq(n, 64, "%d scratch files were allowed", n);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "tenants/acme/pools/web/"
			    "f%d", i);
			cr_expect_eq(unlink(P(name)), 0);
		}
	}

	/* Real tools: sed -i and Python's write-then-replace. */
	cr_assert_eq(run("sed -i 's/^vcpus=.*/vcpus=2/' "
	    "tenants/acme/pools/web/config"), 0);
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=2\n"));
	cr_assert_eq(run("python3 -c 'import os,tempfile; "
	    "fd,p=tempfile.mkstemp(dir=\"tenants/acme\"); "
	    "os.write(fd,b\"TOKEN=abc\\n\"); os.fsync(fd); os.close(fd); "
	    "os.replace(p,\"tenants/acme/secrets\")'"), 0);
	text = rd("tenants/acme/secrets");
	cr_expect_str_eq(text, "TOKEN=abc\n");
	free(text);
}

/* Wait until the instance's state file reads `want` (at most ~60 s). */
static void
wait_state(const char *want)
{
	const char *state = "tenants/acme/pools/web/instances/vm1/state";
	char *got = NULL;
	int i;

	for (i = 0; i < 600; i++) {
		free(got);
		got = rd(state);
		if (got != NULL && strcmp(got, want) == 0)
			break;
		sleep_ms(100);
	}
	cr_expect_str_eq(got, want);
	free(got);
}

static int
write_running_interrupted(void)
{
	int fd = open(P("tenants/acme/pools/web/instances/vm1/state"),
	    O_WRONLY);

	if (fd < 0)
		return 1;
	if (write(fd, "running\n", 8) != -1 || errno != EINTR)
		return 2;
	close(fd);
	return 0;
}

Test(mvmfs, lifecycle_with_a_real_guest)
{
	const char *dir = "tenants/acme/pools/web/instances/vm1";
	const char *state = "tenants/acme/pools/web/instances/vm1/state";
	char path[512], *info;
	const char *steps[] = { "instance.create", "running", "warm",
	    "sleeping", "stopped" };
	struct pollfd pfd;
	size_t i;
	int fd;

	make_tree();
	cr_assert_eq(wr("tenants/acme/pools/web/config",
	    "min_warm_seconds=0\ndrain_timeout_seconds=2\n"), 0);
	cr_assert_eq(mkdir(P(dir), 0750), 0);

	/* Ctrl-C ends the wait, not the boot. */
	cr_expect_eq(interrupted_child(write_running_interrupted), 0);
	wait_state("running\n");
	info = rd("tenants/acme/pools/web/instances/vm1/info");
	cr_assert_not_null(info);
	cr_expect(strstr(info, "op=none") != NULL, "%s", info);
	cr_expect(strstr(info, "pid=0\n") == NULL, "%s", info);
	free(info);
	/* Minimum runtime: refused without force, audited with it. */
	cr_expect_eq(wr(state, "warm\n"), -EAGAIN);
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EAGAIN"));

	/* mvmfs dies; the guest does not; a new mvmfs finds it. */
	kill(fx.pid, SIGKILL);
	waitpid(fx.pid, NULL, 0);
	fx.pid = 0;
	snprintf(path, sizeof(path), "fusermount3 -u '%s'", fx.mnt);
	cr_assert_eq(system(path), 0);
	start_daemon();
	expect_content(state, "running\n");

	cr_assert_eq(wr(state, "warm force\n"), 0);
	expect_content(state, "warm\n");
	cr_assert_eq(wr(state, "running\n"), 0);
	expect_content(state, "running\n");
	cr_assert_eq(wr(state, "sleeping force\n"), 0, "%s",
	    rd("tenants/acme/pools/web/instances/vm1/err"));
	expect_content(state, "sleeping\n");
	info = rd("tenants/acme/pools/web/instances/vm1/info");
	cr_expect(strstr(info, "pid=0\n") != NULL, "%s", info);
	free(info);

	/*
	 * O_NONBLOCK: the write is accepted at once; the wake goes on, and
	 * poll(2) on a state descriptor opened before says when it is done.
	 */
	pfd.fd = open(P(state), O_RDONLY);
	pfd.events = POLLIN | POLLPRI;
	cr_assert_geq(pfd.fd, 0);
	fd = open(P(state), O_WRONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "running\n", 8), 8);
	close(fd);
	cr_expect_eq(poll(&pfd, 1, -1), 1);
	close(pfd.fd);
	expect_content(state, "running\n");

	cr_assert_eq(wr(state, "stopped force\n"), 0);
	expect_content(state, "stopped\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/log", "==>"));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		cr_expect(events_have(
		    "tenants/acme/pools/web/instances/vm1/events", steps[i]),
		    "no event %s", steps[i]);
	cr_assert_eq(rmdir(P(dir)), 0, "%s", strerror(errno));
	cr_expect(!dir_has("tenants/acme/pools/web/instances", "vm1"));
}

/* ---- issue 5: pools that keep their shape ---- */

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
	char cmd[256];
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
	kill(fx.pid, SIGKILL);
	waitpid(fx.pid, NULL, 0);
	fx.pid = 0;
	snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s'", fx.mnt);
	cr_assert_eq(system(cmd), 0);
	start_daemon();
	cr_expect(wait_converged("web", 180),
	    "the pool did not converge after restart");
	cr_expect(contains("tenants/acme/pools/web/status", "\nrunning=2\n"));
	cr_expect_eq(count_entries("tenants/acme/pools/web/instances"), 2);
	cr_expect_eq(count_vmms(), 2);
	empty_pool("web");
}
