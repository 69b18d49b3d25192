/*
 * mount.c: the private mvmfs mount of the mvmfs integration tests, and
 * the helpers they share (see mount.h).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"
#include "vmm.h"

struct fixture fx;
const char *mount_admin_group;

static const char *
env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		cr_assert_fail("%s is not set: run the suite through meson",
		    name);
	return v;
}

const char *
P(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", fx.mnt, rel);
	return buf[i];
}

void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

bool
is_mounted(void)
{
	struct stat st;

	return stat(P("README"), &st) == 0;
}

void
start_daemon(void)
{
	const char *bin = env("MVMFS");
	int i;

	fx.pid = fork();
	cr_assert_neq(fx.pid, -1);
	if (fx.pid == 0) {
		if (mount_admin_group != NULL)
			execl(bin, bin, "-f", "--state-dir", fx.state,
			    "--run-dir", fx.run, "--vmm", env("MVM_QEMU"),
			    "--image", env("MVM_TEST_IMAGE"), "--admin-group",
			    mount_admin_group, fx.mnt, (char *)NULL);
		else
			execl(bin, bin, "-f", "--state-dir", fx.state,
			    "--run-dir", fx.run, "--vmm", env("MVM_QEMU"),
			    "--image", env("MVM_TEST_IMAGE"), fx.mnt,
			    (char *)NULL);
		_exit(127);
	}
	/* Recovery may first finish a boot a killed mvmfs left. */
	for (i = 0; i < 1200 && !is_mounted(); i++)
		sleep_ms(50);
	cr_assert(is_mounted(), "mvmfs did not mount %s", fx.mnt);
}

void
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

void
restart_daemon(void)
{
	char cmd[256];

	kill(fx.pid, SIGKILL);
	waitpid(fx.pid, NULL, 0);
	fx.pid = 0;
	snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s'", fx.mnt);
	cr_assert_eq(system(cmd), 0);
	start_daemon();
}

void
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

void
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
int
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

int
wr(const char *rel, const char *text)
{
	return wr_flags(rel, text, O_TRUNC);
}

/* The whole content of a file (caller frees), or NULL with errno. */
char *
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

void
expect_content(const char *rel, const char *want)
{
	char *got = rd(rel);

	cr_assert_not_null(got, "%s: %s", rel, strerror(errno));
	cr_expect_str_eq(got, want, "%s", rel);
	free(got);
}

bool
contains(const char *rel, const char *needle)
{
	char *got = rd(rel);
	bool yes = got != NULL && strstr(got, needle) != NULL;

	free(got);
	return yes;
}

/* What an events stream holds now, read without blocking (caller frees). */
char *
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

bool
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
int
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

bool
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

void
make_tree(void)
{
	cr_assert_eq(mkdir(P("tenants/acme"), 0750), 0, "%s", strerror(errno));
	cr_assert_eq(mkdir(P("tenants/acme/pools/web"), 0750), 0, "%s",
	    strerror(errno));
}
