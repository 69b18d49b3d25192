/*
 * Integration tests: boot the guest image under QEMU's microvm machine
 * (TCG) with a virtio-serial port named mvm.vsock.52 on a unix socket, and
 * talk to mvm-guest through the host client. The image comes from
 * $MVM_TEST_IMAGE (default /var/lib/mvm/images/default); build it with
 * `sh guest/build-image.sh`.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "guest.h"
#include "frame.h"
#include "tmpdir.h"

struct vm {
	char	dir[64];	/* scratch directory, removed at the end */
	char	sock[128];	/* QEMU's end of the agent port */
	pid_t	pid;
	int	fd;		/* our connection to the agent port */
};

static struct vm vm = { .pid = -1, .fd = -1 };

static const char *
image_dir(void)
{
	const char *d = getenv("MVM_TEST_IMAGE");

	return d != NULL && d[0] != '\0' ? d : "/var/lib/mvm/images/default";
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
run(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/*
 * The kernel command line: the one the image's manifest asks for, plus
 * what TCG needs on a busy host. TCG's guest TSC ticks at the host TSC
 * rate, but the kernel measures that rate against the emulated PIT, which
 * fails when the host deschedules QEMU, and the boot then hangs; telling
 * the kernel the rate skips the measurement (docs/guest-image.md).
 */
static void
cmdline(char *out, size_t size)
{
	char path[600], line[256], *text = NULL;
	double mhz = 0;
	cJSON *m = NULL;
	size_t len = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/manifest.json", image_dir());
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_gt(getdelim(&text, &len, '\0', f), 0);
	fclose(f);
	m = cJSON_Parse(text);
	free(text);
	cr_assert_not_null(cJSON_GetStringValue(cJSON_GetObjectItem(m,
	    "cmdline")), "%s has no \"cmdline\"", path);
	snprintf(out, size, "%s", cJSON_GetObjectItem(m, "cmdline")->valuestring);
	cJSON_Delete(m);

	f = fopen("/proc/cpuinfo", "r");
	while (f != NULL && mhz == 0 && fgets(line, sizeof(line), f) != NULL)
		sscanf(line, "cpu MHz : %lf", &mhz);
	if (f != NULL)
		fclose(f);
	if (mhz > 0)
		snprintf(out + strlen(out), size - strlen(out),
		    " tsc_early_khz=%.0f tsc=reliable", mhz * 1000);
}

/*
 * Boot the image with `rootfs` as its disk, connect to the agent port and
 * wait until the agent answers a Ping.
 */
static void
boot(const char *rootfs, struct mvm_guest_pong *first)
{
	char kernel[512], initrd[512], drive[600], chardev[200], serial[160];
	char append[512];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mvm_error e = { 0 };
	double t0, deadline;
	int logfd;

	snprintf(kernel, sizeof(kernel), "%s/vmlinuz", image_dir());
	snprintf(initrd, sizeof(initrd), "%s/initrd", image_dir());
	snprintf(drive, sizeof(drive), "id=root,file=%s,format=raw,if=none,"
	    "readonly=on", rootfs);
	snprintf(vm.sock, sizeof(vm.sock), "%s/agent.sock", vm.dir);
	snprintf(chardev, sizeof(chardev), "socket,id=agent,path=%s,"
	    "server=on,wait=off", vm.sock);
	snprintf(serial, sizeof(serial), "file:%s/console.log", vm.dir);
	cmdline(append, sizeof(append));

	t0 = now_s();
	vm.pid = fork();
	cr_assert_geq(vm.pid, 0);
	if (vm.pid == 0) {
		/* Die with the test, whatever way it ends. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		logfd = open("/dev/null", O_WRONLY);
		dup2(logfd, 1);
		execlp("qemu-system-x86_64", "qemu-system-x86_64",
		    "-M", "microvm", "-accel", "tcg", "-m", "256",
		    "-smp", "1", "-nodefaults", "-no-user-config",
		    "-nographic", "-no-reboot",
		    "-kernel", kernel, "-initrd", initrd,
		    "-append", append,
		    "-serial", serial,
		    "-drive", drive, "-device", "virtio-blk-device,drive=root",
		    "-device", "virtio-serial-device",
		    "-chardev", chardev,
		    "-device", "virtserialport,chardev=agent,name=mvm.vsock.52",
		    (char *)NULL);
		_exit(127);
	}

	strcpy(sa.sun_path, vm.sock);
	deadline = t0 + 120;
	while (vm.fd < 0 && now_s() < deadline) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);

		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			vm.fd = s;
			break;
		}
		close(s);
		cr_assert_eq(waitpid(vm.pid, NULL, WNOHANG), 0,
		    "qemu-system-x86_64 exited early");
		usleep(20000);
	}
	cr_assert_geq(vm.fd, 0, "QEMU never opened %s", vm.sock);
	while (mvm_guest_ping(vm.fd, 500, first, &e) != 0) {
		cr_assert_lt(now_s(), deadline, "the agent never answered "
		    "(last: %s); see %s/console.log", e.msg, vm.dir);
		cr_assert_eq(waitpid(vm.pid, NULL, WNOHANG), 0,
		    "the guest stopped; see %s/console.log", vm.dir);
	}
	printf("guest: boot to agent ready %.2f s (QEMU TCG)\n", now_s() - t0);
	fflush(stdout);
}

static void
setup(void)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/manifest.json", image_dir());
	cr_assert_eq(access(path, R_OK), 0, "no guest image at %s: build it "
	    "with `sh guest/build-image.sh --out %s` or set MVM_TEST_IMAGE",
	    image_dir(), image_dir());
	tmpdir_make(vm.dir, sizeof(vm.dir), "guest-test");
}

static void
teardown(void)
{
	if (vm.fd >= 0)
		close(vm.fd);
	if (vm.pid > 0) {
		kill(vm.pid, SIGKILL);
		waitpid(vm.pid, NULL, 0);
	}
	tmpdir_remove(vm.dir);
}

TestSuite(guest_vm, .init = setup, .fini = teardown, .timeout = 300);

Test(guest_vm, agent_protocol)
{
	struct mvm_guest_pong p1, p2;
	struct mvm_guest_status st;
	struct mvm_guest_drain d;
	struct mvm_error e = { 0 };
	struct mvm_frame_reader r;
	uint8_t seed[32], buf[4096];
	const int64_t t = 1893456000LL * 1000000000LL;	/* 2030-01-01 */
	int64_t guest_ns = 0;
	char path[600];
	size_t used, off;
	ssize_t n;
	bool got_error = false;

	snprintf(path, sizeof(path), "%s/rootfs.ext4", image_dir());
	boot(path, &p1);

	/* Ping twice: the same boot, a later uptime. */
	usleep(200000);
	cr_assert_eq(mvm_guest_ping(vm.fd, 5000, &p2, &e), 0, "%s", e.msg);
	cr_assert_eq(strlen(p1.boot_id), 36, "boot id \"%s\"", p1.boot_id);
	cr_assert_str_eq(p1.boot_id, p2.boot_id);
	cr_assert_gt(p2.uptime_ms, p1.uptime_ms);

	cr_assert_eq(mvm_guest_status(vm.fd, 5000, &st, &e), 0, "%s", e.msg);
	cr_assert(!st.busy_file);
	cr_assert_leq(st.cpu_percent, 100);
	cr_assert_geq(st.uptime_ms, p2.uptime_ms);
	cr_assert_eq(st.busy, st.cpu_percent > 5);

	/* The stock image has no drain hook: drained at once. */
	cr_assert_eq(mvm_guest_sleep_prep(vm.fd, 5000, 1000, &d, &e), 0, "%s",
	    e.msg);
	cr_assert(d.drained);
	cr_assert_str_empty(d.reason);

	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	cr_assert_eq(mvm_guest_wake(vm.fd, 5000, t, seed, sizeof(seed),
	    &guest_ns, &e), 0, "%s", e.msg);
	cr_assert_geq(guest_ns, t - 1000);
	cr_assert_lt(guest_ns, t + 60LL * 1000000000LL);

	/* Garbage: an error frame, and the agent still answers after. */
	cr_assert_eq(write(vm.fd, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	cr_assert_eq(mvm_frame_reader_init(&r), 0);
	for (double end = now_s() + 10; !got_error && now_s() < end;) {
		n = read(vm.fd, buf, sizeof(buf));
		if (n <= 0) {
			usleep(10000);
			continue;
		}
		for (off = 0; off < (size_t)n; off += used)
			if (mvm_frame_feed(&r, buf + off, (size_t)n - off,
			    &used) == MVM_FRAME_DONE &&
			    strstr((char *)r.payload, "\"type\":\"Error\"") &&
			    strstr((char *)r.payload, "exceeds"))
				got_error = true;
	}
	mvm_frame_reader_free(&r);
	cr_assert(got_error, "no Error frame for garbage input");
	cr_assert_eq(mvm_guest_ping(vm.fd, 5000, &p2, &e), 0, "%s", e.msg);
	cr_assert_str_eq(p1.boot_id, p2.boot_id);
}

Test(guest_vm, drain_hook)
{
	struct mvm_guest_pong p;
	struct mvm_guest_status st;
	struct mvm_guest_drain d;
	struct mvm_error e = { 0 };
	char cmd[2048], rootfs[128], hook[128];
	FILE *f;

	/* A copy of the image with a hook that marks the guest busy and
	 * takes a second, written with debugfs (no mounts). */
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs.ext4", vm.dir);
	snprintf(hook, sizeof(hook), "%s/drain", vm.dir);
	f = fopen(hook, "w");
	cr_assert_not_null(f);
	fputs("#!/bin/sh\ntouch /run/mvm/busy\nsleep 1\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cp '%s/rootfs.ext4' '%s' && "
	    "debugfs -w -R 'write %s etc/mvm/drain' '%s' >/dev/null 2>&1 && "
	    "debugfs -w -R 'sif etc/mvm/drain mode 0100755' '%s' "
	    ">/dev/null 2>&1", image_dir(), rootfs, hook, rootfs, rootfs);
	cr_assert_eq(run(cmd), 0, "cannot prepare %s", rootfs);
	boot(rootfs, &p);

	/* Too short a timeout: not drained, and the hook is killed. */
	cr_assert_eq(mvm_guest_sleep_prep(vm.fd, 5000, 100, &d, &e), 0, "%s",
	    e.msg);
	cr_assert(!d.drained);
	cr_assert_str_eq(d.reason, "timeout");

	/* Enough time: drained, and the hook's busy file shows in Status. */
	cr_assert_eq(mvm_guest_sleep_prep(vm.fd, 20000, 10000, &d, &e), 0,
	    "%s", e.msg);
	cr_assert(d.drained, "not drained: %s", d.reason);
	cr_assert_eq(mvm_guest_status(vm.fd, 5000, &st, &e), 0, "%s", e.msg);
	cr_assert(st.busy_file);
	cr_assert(st.busy);
	cr_assert_eq(st.last_busy_ms, st.uptime_ms);
}

/* Run `argv` in the guest and return its result; fails the test on error. */
static struct mvm_guest_exec_result *
exec_ok(const char *const *argv, const char *stdin_text, uint32_t ms)
{
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };

	cr_assert_eq(mvm_guest_exec(vm.fd, (int)ms + 30000, argv, stdin_text,
	    ms, &r, &e), 0, "exec %s: %s", argv[0], e.msg);
	return r;
}

/* Whether the `len` bytes at `buf` are all `c`. */
static bool
all_bytes(const uint8_t *buf, size_t len, uint8_t c)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != c)
			return false;
	return true;
}

Test(guest_vm, exec)
{
	static const char *const echo[] = { "/bin/echo", "hello", "world",
	    NULL };
	static const char *const status[] = { "sh", "-c", "exit 7", NULL };
	static const char *const split[] = { "sh", "-c",
	    "echo out; echo err >&2; echo more", NULL };
	static const char *const cat[] = { "cat", NULL };
	static const char *const sleeper[] = { "sh", "-c",
	    "sleep 10 & sleep 10", NULL };
	static const char *const sleeps[] = { "pidof", "sleep", NULL };
	static const char *const big[] = { "sh", "-c",
	    "head -c 204800 /dev/zero | tr '\\0' x; "
	    "head -c 204800 /dev/zero >&2", NULL };
	static const char *const tmpfs_put[] = { "sh", "-c",
	    "echo \"$1\" >/tmp/value", "sh", "42 \xc3\xa9", NULL };
	static const char *const tmpfs_get[] = { "cat", "/tmp/value", NULL };
	static const char *const missing[] = { "no-such-program", NULL };
	struct mvm_guest_exec_result *r;
	struct mvm_guest_pong p1, p2;
	struct mvm_error e = { 0 };
	char path[600], *text;
	size_t len = 100000;

	snprintf(path, sizeof(path), "%s/rootfs.ext4", image_dir());
	boot(path, &p1);

	r = exec_ok(echo, NULL, 5000);
	cr_assert_eq(r->exit_code, 0);
	cr_assert_eq(r->signal, 0);
	cr_assert(!r->timed_out);
	cr_assert_str_eq((char *)r->stdout_buf, "hello world\n");
	cr_assert_eq(r->stderr_len, 0);
	mvm_guest_exec_free(r);

	r = exec_ok(status, NULL, 5000);
	cr_assert_eq(r->exit_code, 7);
	mvm_guest_exec_free(r);

	r = exec_ok(split, NULL, 5000);
	cr_assert_eq(r->exit_code, 0);
	cr_assert_str_eq((char *)r->stdout_buf, "out\nmore\n");
	cr_assert_str_eq((char *)r->stderr_buf, "err\n");
	mvm_guest_exec_free(r);

	r = exec_ok(cat, "line one\nline two\n", 5000);
	cr_assert_str_eq((char *)r->stdout_buf, "line one\nline two\n");
	mvm_guest_exec_free(r);

	/* More stdin than a pipe holds, echoed back while it is written:
	 * no deadlock, and the echo is cut at 64 KiB. */
	text = malloc(len + 1);
	cr_assert_not_null(text);
	memset(text, 'i', len);
	text[len] = '\0';
	r = exec_ok(cat, text, 20000);
	free(text);
	cr_assert_eq(r->exit_code, 0);
	cr_assert_eq(r->stdout_len, MVM_GUEST_EXEC_OUT_MAX);
	cr_assert(r->stdout_truncated);
	cr_assert(all_bytes(r->stdout_buf, r->stdout_len, 'i'));
	mvm_guest_exec_free(r);

	/* 200 KiB on each stream: each cut at 64 KiB and flagged; the NUL
	 * bytes of stderr survive the trip. */
	r = exec_ok(big, NULL, 20000);
	cr_assert_eq(r->exit_code, 0);
	cr_assert(!r->timed_out);
	cr_assert_eq(r->stdout_len, MVM_GUEST_EXEC_OUT_MAX);
	cr_assert(r->stdout_truncated);
	cr_assert(all_bytes(r->stdout_buf, r->stdout_len, 'x'));
	cr_assert_eq(r->stderr_len, MVM_GUEST_EXEC_OUT_MAX);
	cr_assert(r->stderr_truncated);
	cr_assert(all_bytes(r->stderr_buf, r->stderr_len, 0));
	mvm_guest_exec_free(r);

	/* A shell and its background child: the timeout kills both. */
	r = exec_ok(sleeper, NULL, 500);
	cr_assert(r->timed_out);
	cr_assert_eq(r->exit_code, -1);
	cr_assert_eq(r->signal, 9);
	mvm_guest_exec_free(r);
	r = exec_ok(sleeps, NULL, 5000);
	cr_assert_eq(r->exit_code, 1, "sleep still runs: pid %s",
	    (char *)r->stdout_buf);
	mvm_guest_exec_free(r);

	/* tmpfs keeps what an Exec wrote for the next one. */
	r = exec_ok(tmpfs_put, NULL, 5000);
	cr_assert_eq(r->exit_code, 0, "%s", (char *)r->stderr_buf);
	mvm_guest_exec_free(r);
	r = exec_ok(tmpfs_get, NULL, 5000);
	cr_assert_str_eq((char *)r->stdout_buf, "42 \xc3\xa9\n");
	mvm_guest_exec_free(r);

	r = NULL;
	cr_assert_eq(mvm_guest_exec(vm.fd, 10000, missing, NULL, 5000, &r, &e),
	    -EIO);
	cr_assert_null(r);
	cr_assert_not_null(strstr(e.msg, "\"no-such-program\": No such file"),
	    "%s", e.msg);

	cr_assert_eq(mvm_guest_ping(vm.fd, 5000, &p2, &e), 0, "%s", e.msg);
	cr_assert_str_eq(p1.boot_id, p2.boot_id);
}
