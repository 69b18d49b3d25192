/*
 * test_robust.c: what a real mvmfs must hold to when used carelessly or
 * concurrently: a malformed secrets line shows nothing of its bytes in the
 * err file or the events; several writers and closes on one open document
 * leave its state whole; and a daemon started with a missing VMM program
 * or image refuses to start, naming the missing path.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

/* ---- item 3: secrets never reach err or the events ---- */

/* Lines that break the secrets rules, each holding a marker of its own. */
static const struct {
	const char	*text;		/* written in one write(2) */
	const char	*marker;	/* must show nowhere */
	const char	*line;		/* what err must say instead */
} bad_secrets[] = {
	{ "OK=1\nS3CRET-NOEQ-7f3a\n", "7f3a", "line 2" },
	{ "my token S3CRET-KEY-91bc=v\n", "91bc", "line 1" },
	{ "TOKEN=abc\rS3CRET-CR-55d0\n", "55d0", "TOKEN" },
};

/* A last line without its newline is judged at close. */
#define TAIL_SECRET	"OK=1\nS3CRET-TAIL-c4e2"
#define TAIL_MARKER	"c4e2"

static void
expect_nowhere(const char *marker)
{
	char *s;

	s = rd("tenants/acme/err");
	cr_assert_not_null(s);
	cr_expect(strstr(s, marker) == NULL, "err shows secret bytes: %s", s);
	free(s);
	s = rd_events("tenants/acme/events");
	cr_expect(strstr(s, marker) == NULL, "tenant events show secret "
	    "bytes: %s", s);
	free(s);
	s = rd_events("events");
	cr_expect(strstr(s, marker) == NULL, "node events show secret "
	    "bytes: %s", s);
	free(s);
}

Test(mvmfs, malformed_secrets_show_no_secret_bytes)
{
	char *err;
	size_t i;

	make_tree();
	for (i = 0; i < sizeof(bad_secrets) / sizeof(bad_secrets[0]); i++) {
		cr_expect_eq(wr("tenants/acme/secrets", bad_secrets[i].text),
		    -EINVAL, "case %zu", i);
		cr_expect(contains("tenants/acme/err", bad_secrets[i].line),
		    "case %zu: err names no %s", i, bad_secrets[i].line);
		expect_nowhere(bad_secrets[i].marker);
	}
	cr_expect_eq(wr("tenants/acme/secrets", TAIL_SECRET), -EINVAL);
	err = rd("tenants/acme/err");
	cr_assert_not_null(err);
	cr_expect(strstr(err, "commit EINVAL") != NULL, "%s", err);
	cr_expect(strstr(err, "line 2") != NULL, "%s", err);
	free(err);
	expect_nowhere(TAIL_MARKER);
}

/* ---- item 10: writes and closes racing on one open document ---- */

#define HAMMER_THREADS	3
#define HAMMER_FORKS	2
#define HAMMER_ROUNDS	150
#define HAMMER_LINE	"vcpus=1\n"

struct hammer {
	int	fd;		/* the shared open file */
	int	failures;	/* writes or closes that failed */
	int	first_errno;
};

/*
 * Start the document over with one whole line, then close a dup of the
 * descriptor, which commits what the open file holds: both must succeed
 * whatever the other writers do meanwhile.
 */
static void
hammer(struct hammer *h)
{
	size_t len = strlen(HAMMER_LINE);
	int i, d;

	for (i = 0; i < HAMMER_ROUNDS; i++) {
		d = dup(h->fd);
		if (d < 0 || pwrite(d, HAMMER_LINE, len, 0) != (ssize_t)len ||
		    close(d) != 0) {
			if (h->failures++ == 0)
				h->first_errno = errno;
			if (d >= 0)
				close(d);
		}
	}
}

static void *
hammer_thread(void *arg)
{
	hammer(arg);
	return NULL;
}

Test(mvmfs, concurrent_writes_and_closes_of_one_open_document)
{
	const char *cfg = "tenants/acme/pools/web/config";
	struct hammer h[HAMMER_THREADS];
	pthread_t th[HAMMER_THREADS];
	pid_t pid[HAMMER_FORKS];
	int fd, i, status;

	make_tree();
	fd = open(P(cfg), O_WRONLY);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	for (i = 0; i < HAMMER_FORKS; i++) {
		pid[i] = fork();
		cr_assert_neq(pid[i], -1);
		if (pid[i] == 0) {
			struct hammer ch = { .fd = fd };

			hammer(&ch);
			_exit(ch.failures == 0 ? 0 : ch.first_errno & 0x7f);
		}
	}
	for (i = 0; i < HAMMER_THREADS; i++) {
		h[i] = (struct hammer){ .fd = fd };
		cr_assert_eq(pthread_create(&th[i], NULL, hammer_thread, &h[i]),
		    0);
	}
	for (i = 0; i < HAMMER_THREADS; i++) {
		pthread_join(th[i], NULL);
		cr_expect_eq(h[i].failures, 0, "thread %d: %d failures, the "
		    "first: %s", i, h[i].failures,
		    strerror(h[i].first_errno));
	}
	for (i = 0; i < HAMMER_FORKS; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "child %d: status %#x (%s)", i, status,
		    strerror(WEXITSTATUS(status)));
	}
	cr_expect_eq(close(fd), 0, "%s", strerror(errno));
	cr_expect(contains(cfg, "vcpus=1\n"));
	/* The daemon is whole: it still serves, and exits clean (ASan). */
	cr_expect(is_mounted());
}

/* ---- item 11: a daemon with a missing VMM or image refuses to start ---- */

/*
 * Run mvmfs -f on a second mount point with `vmm` and `image`. It must
 * exit non-zero within a few seconds; *out gets what it wrote on stderr
 * (caller frees). When it mounts instead, it is unmounted and stopped,
 * and the test fails.
 */
static char *
refused_start(const char *vmm, const char *image)
{
	char mnt[192], state[192], run[192], cmd[256];
	char *out = calloc(1, 4096);
	size_t len = 0;
	ssize_t n;
	int p[2], status = 0, i;
	pid_t pid;

	cr_assert_not_null(out);
	snprintf(mnt, sizeof(mnt), "%s/mnt2", fx.root);
	snprintf(state, sizeof(state), "%s/state2", fx.root);
	snprintf(run, sizeof(run), "%s/run2", fx.root);
	mkdir(mnt, 0755);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(getenv("MVMFS"), "mvmfs", "-f", "--state-dir", state,
		    "--run-dir", run, "--vmm", vmm, "--image", image, mnt,
		    (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	for (i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		sleep_ms(50);
	if (i == 100) {
		snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s' 2>/dev/null",
		    mnt);
		if (system(cmd) != 0)
			kill(pid, SIGTERM);
		waitpid(pid, &status, 0);
		cr_expect_fail("mvmfs started with --vmm %s --image %s", vmm,
		    image);
	} else {
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) != 0,
		    "mvmfs exited with status %#x", status);
	}
	while (len < 4095 && (n = read(p[0], out + len, 4095 - len)) > 0)
		len += n;
	close(p[0]);
	return out;
}

/* The path of directory `name` under the test's root (a static buffer). */
static const char *
image_dir_path(const char *name)
{
	static char dir[192];

	snprintf(dir, sizeof(dir), "%s/%s", fx.root, name);
	return dir;
}

/* Make directory `name` under the test's root holding empty `files`. */
static const char *
image_dir(const char *name, const char *const *files)
{
	const char *dir = image_dir_path(name);
	char path[256];
	int fd;

	cr_assert_eq(mkdir(dir, 0755), 0);
	for (; *files != NULL; files++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *files);
		cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT, 0644), 0);
		close(fd);
	}
	return dir;
}

/* Start mvmfs with `vmm` and `image`: refused, naming path `want`. */
static void
expect_refused(const char *vmm, const char *image, const char *want)
{
	char *out = refused_start(vmm, image);

	cr_expect(strstr(out, want) != NULL, "stderr names no %s: %s", want,
	    out);
	free(out);
}

Test(mvmfs, missing_vmm_or_image_refuses_to_start)
{
	static const char *const no_kernel[] = { "initrd", "rootfs.ext4",
	    NULL };
	static const char *const no_rootfs[] = { "vmlinuz", "initrd", NULL };
	const char *vmm = getenv("MVM_QEMU"), *image = getenv("MVM_TEST_IMAGE");
	char want[256], line[512];

	snprintf(want, sizeof(want), "%s/no-such-vmm", fx.root);
	expect_refused(want, image, want);
	snprintf(want, sizeof(want), "%s/vmlinuz", image_dir("img1",
	    no_kernel));
	expect_refused(vmm, image_dir_path("img1"), want);
	snprintf(want, sizeof(want), "%s/rootfs.ext4", image_dir("img2",
	    no_rootfs));
	expect_refused(vmm, image_dir_path("img2"), want);
	/* The daemon that did start shows what it runs with. */
	snprintf(line, sizeof(line), "vmm_path=%s\n", vmm);
	cr_expect(contains("node/info", line), "node/info: no %s", line);
	snprintf(line, sizeof(line), "image_dir=%s\n", image);
	cr_expect(contains("node/info", line), "node/info: no %s", line);
	snprintf(line, sizeof(line), "\"image_dir\":\"%s\"", image);
	cr_expect(contains("node/info.json", line), "node/info.json: no %s",
	    line);
}
