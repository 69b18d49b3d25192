/*
 * test_fc_qemu.c: the Firecracker API client against the real mvm-qemu
 * (path in $MVM_QEMU), before boot: configuration calls succeed, GET /
 * and GET /vm/config report them, and refusals (bad values, wrong phase)
 * come back as -EIO with mvm-qemu's fault message. No guest is started.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fc.h"
#include "tmpdir.h"

static char dir[64];
static char sock[128];
static pid_t pid;
static struct mvm_fc *fc;
static struct mvm_error err;

/*
 * Make an empty file `name` in the test directory and return its path,
 * which stays valid for the rest of the test (at most 8 per test).
 */
static const char *
touch(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p;
	int fd;

	cr_assert_lt(next, 8);
	p = paths[next++];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "cannot create %s", p);
	close(fd);
	return p;
}

/*
 * Start mvm-qemu with its output in the test directory. It gets SIGKILL
 * when this process dies, so even a test killed part way leaves no VMM.
 */
static pid_t
spawn_vmm(const char *bin, const char *log)
{
	pid_t parent = getpid(), child;
	int fd;

	if ((child = fork()) != 0)
		return child;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(126);
	if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(126);
	execl(bin, bin, "--api-sock", sock, "--id", "fc-test", (char *)NULL);
	_exit(127);
}

static void
setup(void)
{
	const char *bin = getenv("MVM_QEMU");
	char log[160];

	cr_assert_not_null(bin, "MVM_QEMU is not set");
	tmpdir_make(dir, sizeof(dir), "fc-qemu");
	snprintf(sock, sizeof(sock), "%s/api.sock", dir);
	snprintf(log, sizeof(log), "%s/mvm-qemu.out", dir);
	pid = spawn_vmm(bin, log);
	cr_assert_gt(pid, 0, "fork: %s", strerror(errno));

	cr_assert_eq(mvm_fc_open(sock, &fc, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_fc_wait_ready(fc, 10000, &err), 0, "%s", err.msg);
}

static void
teardown(void)
{
	mvm_fc_close(fc);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (tmpdir_remove(dir) != 0)
		cr_log_warn("could not remove %s", dir);
}

TestSuite(fc_qemu, .init = setup, .fini = teardown);

/* A refusal: -EIO, and a message "<call>: 400: <non-empty sentence>". */
static void
expect_fault(int rc, const char *call)
{
	size_t n = strlen(call);

	cr_log_info("%s", err.msg);
	cr_expect_eq(rc, -EIO, "%s returned %d: %s", call, rc, err.msg);
	cr_expect(strncmp(err.msg, call, n) == 0 &&
	    strncmp(err.msg + n, ": 400: ", 7) == 0 &&
	    err.msg[n + 7] != '\0', "unexpected message \"%s\"", err.msg);
}

Test(fc_qemu, preboot_configuration)
{
	struct mvm_fc_machine m = { .vcpu_count = 2, .mem_size_mib = 256 };
	struct mvm_fc_machine got;
	struct mvm_fc_info info;
	struct mvm_fc_boot b = { touch("vmlinux"), touch("initrd"),
	    "console=ttyS0 panic=1" };
	struct mvm_fc_drive d = { "rootfs", touch("root.ext4"), true, false };
	char vs[160];

	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0, "%s",
	    err.msg);
	cr_expect_eq(info.state, MVM_FC_STATE_NOT_STARTED);
	cr_expect_str_eq(info.id, "fc-test");
	cr_expect_neq(info.app_name[0], '\0');
	cr_expect_neq(info.vmm_version[0], '\0');

	cr_expect_eq(mvm_fc_put_logger(fc, touch("vmm.log"), MVM_FC_LOG_INFO,
	    &err), 0, "%s", err.msg);
	cr_expect_eq(mvm_fc_put_metrics(fc, touch("metrics.json"), &err), 0,
	    "%s", err.msg);
	cr_expect_eq(mvm_fc_put_machine_config(fc, &m, &err), 0, "%s",
	    err.msg);
	cr_expect_eq(mvm_fc_put_boot_source(fc, &b, &err), 0, "%s", err.msg);
	cr_expect_eq(mvm_fc_put_drive(fc, &d, &err), 0, "%s", err.msg);
	snprintf(vs, sizeof(vs), "%s/v.sock", dir);
	cr_expect_eq(mvm_fc_put_vsock(fc, 3, vs, &err), 0, "%s", err.msg);

	cr_assert_eq(mvm_fc_get_vm_config(fc, &got, &err), 0, "%s", err.msg);
	cr_expect_eq(got.vcpu_count, 2);
	cr_expect_eq(got.mem_size_mib, 256);
	cr_expect_not(got.track_dirty_pages);

	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0);
	cr_expect_eq(info.state, MVM_FC_STATE_NOT_STARTED);
}

Test(fc_qemu, refusals_carry_fault_messages)
{
	struct mvm_fc_machine zero = { .vcpu_count = 0, .mem_size_mib = 128 };
	struct mvm_fc_machine ok = { .vcpu_count = 1, .mem_size_mib = 128 };
	struct mvm_fc_snapshot s = { "/nonexistent/state", "/nonexistent/mem" };
	struct mvm_fc_info info;

	expect_fault(mvm_fc_put_machine_config(fc, &zero, &err),
	    "PUT /machine-config");
	/* Pausing, resuming and snapshotting need a started VM. */
	expect_fault(mvm_fc_patch_vm(fc, MVM_FC_VM_PAUSED, &err), "PATCH /vm");
	expect_fault(mvm_fc_patch_vm(fc, MVM_FC_VM_RESUMED, &err),
	    "PATCH /vm");
	expect_fault(mvm_fc_snapshot_create(fc, &s, &err),
	    "PUT /snapshot/create");
	/* Loading a snapshot is refused once the VM has been configured. */
	cr_assert_eq(mvm_fc_put_machine_config(fc, &ok, &err), 0, "%s",
	    err.msg);
	expect_fault(mvm_fc_snapshot_load(fc, &s, true, &err),
	    "PUT /snapshot/load");
	/* The VMM is still there and still not started. */
	cr_assert_eq(mvm_fc_get_instance_info(fc, &info, &err), 0);
	cr_expect_eq(info.state, MVM_FC_STATE_NOT_STARTED);
}
