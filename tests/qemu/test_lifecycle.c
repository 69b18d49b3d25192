/*
 * test_lifecycle.c: a real guest (Debian kernel + busybox initramfs from
 * fixture.sh) driven through mvm-qemu's Firecracker API: boot, pause and
 * resume, vsock both ways, snapshot, restore in a fresh process, Ctrl-Alt-
 * Del, and no QEMU left behind when mvm-qemu is killed. One guest is booted
 * and carried through every step to keep the suite short on two cores.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct vmmh a, b, c;

static void
teardown(void)
{
	/* b and c share a's directory, which a's cleanup removes. */
	if (b.pid > 0) {
		kill(b.pid, SIGKILL);
		vmmh_wait_exit(&b, 10);
	}
	if (c.pid > 0) {
		kill(c.pid, SIGKILL);
		vmmh_wait_exit(&c, 10);
	}
	vmmh_cleanup(&a);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
configure(struct vmmh *h, const char *vsock)
{
	char body[1024];

	cr_assert_eq(vmmh_api(h, "PUT", "/machine-config",
	    "{\"vcpu_count\":1,\"mem_size_mib\":128}", NULL), 204);
	snprintf(body, sizeof(body), "{\"kernel_image_path\":\"%s\","
	    "\"initrd_path\":\"%s\",\"boot_args\":\"console=ttyS0 reboot=k "
	    "panic=1 no_timer_check\"}", vmmh_kernel(), vmmh_initrd());
	cr_assert_eq(vmmh_api(h, "PUT", "/boot-source", body, NULL), 204);
	snprintf(body, sizeof(body), "{\"guest_cid\":3,\"uds_path\":\"%s\"}",
	    vsock);
	cr_assert_eq(vmmh_api(h, "PUT", "/vsock", body, NULL), 204);
}

/* Host-initiated vsock: CONNECT 52, then the guest echoes our line. */
static void
vsock_echo(const char *vsock, const char *msg)
{
	char line[128], want[128];
	int fd = -1;

	/* The guest opens its end of port 52 a moment after boot. */
	for (int i = 0; i < 100; i++) {
		fd = vmmh_connect(vsock);
		cr_assert_geq(fd, 0, "cannot connect to %s", vsock);
		cr_assert_eq(write(fd, "CONNECT 52\n", 11), 11);
		cr_assert(vmmh_read_line(fd, line, sizeof(line), 10),
		    "no answer to CONNECT");
		cr_assert_eq(strncmp(line, "OK ", 3), 0, "got %s", line);
		snprintf(want, sizeof(want), "%s\n", msg);
		cr_assert_eq(write(fd, want, strlen(want)), (ssize_t)strlen(want));
		if (vmmh_read_line(fd, line, sizeof(line), 1))
			break;
		close(fd);
		fd = -1;
	}
	cr_assert_geq(fd, 0, "the guest never echoed on port 52");
	cr_expect_str_eq(line, want);
	close(fd);
}

/* CONNECT to a port nobody serves: the connection closes, no "OK". */
static void
vsock_refused(const char *vsock, const char *request)
{
	char line[128];
	int fd = vmmh_connect(vsock);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, request, strlen(request)),
	    (ssize_t)strlen(request));
	cr_expect(!vmmh_read_line(fd, line, sizeof(line), 5),
	    "%s answered %s", request, line);
	close(fd);
}

/* Guest-initiated vsock: the guest's greeting reaches <uds_path>_53. */
static void
vsock_guest_initiated(const char *vsock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[128];
	int l, c;

	cr_assert_lt(strlen(vsock) + 3, sizeof(sa.sun_path));
	strcpy(sa.sun_path, vsock);
	strcat(sa.sun_path, "_53");
	unlink(sa.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(l, 0);
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l, 1), 0);
	c = accept(l, NULL, NULL);
	cr_assert_geq(c, 0);
	cr_assert(vmmh_read_line(c, line, sizeof(line), 10));
	cr_expect_eq(strncmp(line, "GUEST53 ", 8), 0, "got %s", line);
	close(c);
	close(l);
	unlink(sa.sun_path);
}

Test(lifecycle, boot_pause_snapshot_restore_shutdown, .fini = teardown,
    .timeout = 300)
{
	char vsock[400], snap[400], mem[400], body[1400], tmp[420], *r;
	long t1, t2, at_snapshot, first;
	double t0, booted;
	pid_t qemu;
	struct stat st;

	vmmh_init(&a);
	snprintf(vsock, sizeof(vsock), "%s/v.sock", a.dir);
	snprintf(snap, sizeof(snap), "%s/snapshot.json", a.dir);
	snprintf(mem, sizeof(mem), "%s/memory.bin", a.dir);
	vmmh_kernel();	/* build the fixture before timing anything */

	/* Cold boot. */
	vmmh_spawn(&a, "first");
	configure(&a, vsock);
	t0 = now();
	cr_assert_eq(vmmh_api(&a, "PUT", "/actions",
	    "{\"action_type\":\"InstanceStart\"}", NULL), 204);
	cr_expect_eq(vmmh_fault(&a, "PUT", "/actions",
	    "{\"action_type\":\"InstanceStart\"}", "after starting"), 400);
	cr_expect_eq(vmmh_fault(&a, "PUT", "/boot-source",
	    "{\"kernel_image_path\":\"/k\"}", "after starting"), 400);
	cr_assert(vmmh_wait_output(&a, "MVM-TEST-READY", 60), "no boot marker");
	booted = now() - t0;
	cr_assert(vmmh_wait_output(&a, "MVM-TICK 3\r", 30), "no ticks");
	printf("mvm-qemu TCG boot to userspace (1 vCPU, 128 MiB): %.2f s "
	    "wall from InstanceStart, guest uptime %.2f s\n", booted,
	    vmmh_ready_uptime(&a));
	cr_assert_eq(vmmh_api(&a, "GET", "/", NULL, &r), 200);
	cr_expect(strstr(r, "\"state\":\"Running\"") != NULL, "%s", r);
	free(r);

	/* Vsock both ways. */
	cr_assert(vmmh_wait_output(&a, "MVM-PORTS 52=/dev/vport", 30));
	vsock_echo(vsock, "hello from the host");
	vsock_refused(vsock, "CONNECT 99\n");
	vsock_refused(vsock, "CONNECT 53\n");
	vsock_refused(vsock, "HELLO\n");
	vsock_guest_initiated(vsock);

	/* Pause stops the counter; resume moves it on. */
	cr_expect_eq(vmmh_fault(&a, "PUT", "/snapshot/create",
	    "{\"snapshot_path\":\"/tmp/never\",\"mem_file_path\":\"/tmp/never\"}",
	    "must be paused"), 400);
	cr_assert_eq(vmmh_api(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}",
	    NULL), 204);
	cr_assert_eq(vmmh_api(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}",
	    NULL), 204);
	/*
	 * Order, not time: once the VMM says Paused its vCPUs have stopped,
	 * and QEMU writes the serial console from them unbuffered, so every
	 * tick the guest printed is in the output. None may follow it until
	 * the resume, however long the pause lasts.
	 */
	cr_assert_eq(vmmh_api(&a, "GET", "/", NULL, &r), 200);
	cr_expect(strstr(r, "\"state\":\"Paused\"") != NULL, "%s", r);
	free(r);
	t1 = vmmh_last_tick(&a);
	sleep(1);
	t2 = vmmh_last_tick(&a);
	cr_expect_eq(t1, t2, "the counter moved while paused (%ld -> %ld)",
	    t1, t2);
	cr_assert_eq(vmmh_api(&a, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
	    NULL), 204);
	snprintf(tmp, sizeof(tmp), "MVM-TICK %ld\r", t2 + 2);
	cr_assert(vmmh_wait_output(&a, tmp, 30), "no tick after resume");

	/* Full snapshot of the paused VM. */
	cr_assert_eq(vmmh_api(&a, "PATCH", "/vm", "{\"state\":\"Paused\"}",
	    NULL), 204);
	at_snapshot = vmmh_last_tick(&a);
	cr_expect_eq(vmmh_fault(&a, "PUT", "/snapshot/create",
	    "{\"snapshot_type\":\"Diff\",\"snapshot_path\":\"/tmp/x\","
	    "\"mem_file_path\":\"/tmp/y\"}", "not supported"), 400);
	snprintf(body, sizeof(body), "{\"snapshot_type\":\"Full\","
	    "\"snapshot_path\":\"%s\",\"mem_file_path\":\"%s\"}", snap, mem);
	cr_assert_eq(vmmh_api(&a, "PUT", "/snapshot/create", body, NULL), 204);
	cr_assert_eq(stat(snap, &st), 0);
	cr_assert_eq(stat(mem, &st), 0);
	cr_expect_gt(st.st_size, 1 << 20, "memory file is %lld bytes",
	    (long long)st.st_size);
	snprintf(tmp, sizeof(tmp), "%s.tmp", snap);
	cr_expect_neq(stat(tmp, &st), 0, "%s left behind", tmp);
	snprintf(tmp, sizeof(tmp), "%s.tmp", mem);
	cr_expect_neq(stat(tmp, &st), 0, "%s left behind", tmp);

	/* The snapshotted VM can go on running (a failed sleep resumes). */
	cr_assert_eq(vmmh_api(&a, "PATCH", "/vm", "{\"state\":\"Resumed\"}",
	    NULL), 204);
	snprintf(tmp, sizeof(tmp), "MVM-TICK %ld\r", at_snapshot + 5);
	cr_assert(vmmh_wait_output(&a, tmp, 30), "no tick after the snapshot");

	/* Killing mvm-qemu takes QEMU with it. */
	qemu = vmmh_qemu_pid(&a);
	cr_assert_gt(qemu, 0, "no QEMU child found");
	kill(a.pid, SIGKILL);
	cr_assert_eq(vmmh_wait_exit(&a, 10), 128 + SIGKILL);
	cr_expect(vmmh_gone(qemu, 10), "QEMU %d outlived mvm-qemu", (int)qemu);

	/*
	 * A load whose memory file is not a migration stream fails, and the
	 * process ends after answering, as Firecracker's does.
	 */
	c = a;
	vmmh_spawn(&c, "broken");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"%s\"}}", snap, snap);
	cr_expect_eq(vmmh_fault(&c, "PUT", "/snapshot/load", body, "migration"),
	    400);
	cr_expect_eq(vmmh_wait_exit(&c, 30), 1, "mvm-qemu lived on after a "
	    "failed load");

	/* Restore in a fresh process: the counter continues. */
	b = a;
	vmmh_spawn(&b, "second");
	snprintf(body, sizeof(body), "{\"snapshot_path\":\"%s\",\"mem_backend\":"
	    "{\"backend_type\":\"File\",\"backend_path\":\"%s\"},"
	    "\"resume_vm\":true}", snap, mem);
	t0 = now();
	cr_assert_eq(vmmh_api(&b, "PUT", "/snapshot/load", body, NULL), 204);
	printf("mvm-qemu snapshot load + resume: %.3f s\n", now() - t0);
	cr_assert_eq(vmmh_api(&b, "GET", "/", NULL, &r), 200);
	cr_expect(strstr(r, "\"state\":\"Running\"") != NULL, "%s", r);
	free(r);
	cr_expect_eq(vmmh_fault(&b, "PUT", "/snapshot/load", body,
	    "not allowed"), 400);
	cr_assert_eq(vmmh_api(&b, "GET", "/vm/config", NULL, &r), 200);
	cr_expect(strstr(r, vmmh_kernel()) != NULL, "%s", r);
	free(r);
	snprintf(tmp, sizeof(tmp), "MVM-TICK %ld\r", at_snapshot + 2);
	cr_assert(vmmh_wait_output(&b, tmp, 30), "the counter did not go on "
	    "from %ld", at_snapshot);
	/*
	 * The restored counter starts where the snapshot left it: not from 1,
	 * and not from where the first VM got to after it was resumed.
	 */
	first = vmmh_first_tick(&b);
	cr_expect(first >= at_snapshot - 1 && first <= at_snapshot + 2,
	    "restored counter starts at %ld, snapshot was at %ld", first,
	    at_snapshot);
	cr_expect(!vmmh_wait_output(&b, "MVM-TEST-READY", 0),
	    "the restored guest booted again");
	vsock_echo(vsock, "hello after restore");

	/* Ctrl-Alt-Del ends the guest, and mvm-qemu with it. */
	qemu = vmmh_qemu_pid(&b);
	cr_assert_eq(vmmh_api(&b, "PUT", "/actions",
	    "{\"action_type\":\"SendCtrlAltDel\"}", NULL), 204);
	cr_expect_eq(vmmh_wait_exit(&b, 60), 0, "mvm-qemu did not exit");
	cr_expect(vmmh_gone(qemu, 10));
	cr_expect_neq(stat(b.sock, &st), 0, "API socket left behind");
}
