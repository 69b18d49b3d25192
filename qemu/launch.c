/* launch.c: QEMU's command line and process. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "log.h"
#include "vsock.h"

#define MAX_ARGS	160
#define DEFAULT_BOOT_ARGS "console=ttyS0 reboot=k panic=1"

/*
 * The host's TSC rate in kHz, measured once over 20 ms; 0 when unknown.
 * Under TCG the guest's TSC ticks at the host's rate, and a Linux guest
 * that must calibrate it against the emulated PIT fails whenever the host
 * is busy ("tsc: Unable to calibrate against PIT") and then hangs early in
 * boot. Telling it the rate (tsc_early_khz=) skips that calibration, much
 * as Firecracker reports the TSC frequency in CPUID.
 */
static long
host_tsc_khz(void)
{
#if defined(__x86_64__)
	static long khz = -1;
	struct timespec a, b, pause = { 0, 20 * 1000 * 1000 };
	unsigned long long c0, c1;
	double ns;

	if (khz >= 0)
		return khz;
	clock_gettime(CLOCK_MONOTONIC_RAW, &a);
	c0 = __rdtsc();
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC_RAW, &b);
	c1 = __rdtsc();
	ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	khz = ns > 0 ? (long)((double)(c1 - c0) * 1e6 / ns) : 0;
	return khz;
#else
	return 0;
#endif
}

struct argv {
	char	*v[MAX_ARGS + 1];
	int	 n;
	bool	 failed;
};

static void __attribute__((format(printf, 2, 3)))
add(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->failed || a->n == MAX_ARGS) {
		a->failed = true;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		a->failed = true;
	else
		a->v[a->n++] = s;
	va_end(ap);
}

/*
 * A copy of `s` with every comma doubled, as QEMU's option parser wants
 * inside a value. The result is a static buffer valid until the next call;
 * NULL when `s` is too long.
 */
static const char *
qesc(const char *s)
{
	static char buf[8192];
	size_t j = 0;

	for (; *s != '\0'; s++) {
		if (j + 3 >= sizeof(buf))
			return NULL;
		buf[j++] = *s;
		if (*s == ',')
			buf[j++] = ',';
	}
	buf[j] = '\0';
	return buf;
}

void
vmm_launch_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p != NULL; p++)
		free(*p);
	free(argv);
}

int
vmm_launch_argv(const struct vmm_config *c, enum mvm_accel accel,
    const char *rundir, bool incoming, char ***argvp, struct mvm_error *e)
{
	struct argv a = { .n = 0 };
	const char *bargs, *path, *mac, *uuid;
	char *cmdline = NULL;
	const cJSON *d, *n;
	int i = 0, rc;

	if (c->boot == NULL)
		return mvm_error_set(e, EINVAL, "Cannot start microvm without "
		    "kernel configuration.");
	add(&a, "%s", getenv("MVM_QEMU_BINARY") != NULL ?
	    getenv("MVM_QEMU_BINARY") : "qemu-system-x86_64");
	add(&a, "-M");
	add(&a, "microvm,x-option-roms=off,pit=on,pic=on,rtc=on,"
	    "isa-serial=on,acpi=on");
	add(&a, "-accel");
	add(&a, accel == MVM_ACCEL_KVM ? "kvm" : "tcg");
	add(&a, "-cpu");
	add(&a, accel == MVM_ACCEL_KVM ? "host" : "max");
	add(&a, "-smp");
	add(&a, "%d", vmm_config_vcpus(c));
	add(&a, "-m");
	add(&a, "%dM", vmm_config_mem_mib(c));
	add(&a, "-nodefaults");
	add(&a, "-no-user-config");
	add(&a, "-nographic");
	add(&a, "-no-reboot");
	add(&a, "-S");

	/* Boot source; a root drive adds root= as Firecracker does. */
	bargs = vmm_json_str(c->boot, "boot_args", DEFAULT_BOOT_ARGS);
	d = cJSON_GetArrayItem(c->drives, 0);
	if (d != NULL && vmm_json_bool(d, "is_root_device", false)) {
		uuid = vmm_json_str(d, "partuuid", NULL);
		rc = uuid != NULL ?
		    asprintf(&cmdline, "%s root=PARTUUID=%s %s", bargs, uuid,
		    vmm_json_bool(d, "is_read_only", false) ? "ro" : "rw") :
		    asprintf(&cmdline, "%s root=/dev/vda %s", bargs,
		    vmm_json_bool(d, "is_read_only", false) ? "ro" : "rw");
		if (rc < 0)
			cmdline = NULL, a.failed = true;
	} else if ((cmdline = strdup(bargs)) == NULL) {
		a.failed = true;
	}
	if (cmdline != NULL && accel == MVM_ACCEL_TCG &&
	    strstr(cmdline, "tsc_early_khz=") == NULL && host_tsc_khz() > 0) {
		char *longer;

		if (asprintf(&longer, "%s tsc_early_khz=%ld", cmdline,
		    host_tsc_khz()) < 0) {
			a.failed = true;
		} else {
			free(cmdline);
			cmdline = longer;
		}
	}
	add(&a, "-kernel");
	add(&a, "%s", vmm_json_str(c->boot, "kernel_image_path", ""));
	if ((path = vmm_json_str(c->boot, "initrd_path", NULL)) != NULL) {
		add(&a, "-initrd");
		add(&a, "%s", path);
	}
	add(&a, "-append");
	add(&a, "%s", cmdline != NULL ? cmdline : "");

	/* Serial console on our stdout, keyboard for Ctrl-Alt-Del, QMP. */
	add(&a, "-chardev");
	add(&a, "stdio,id=serial0,signal=off");
	add(&a, "-serial");
	add(&a, "chardev:serial0");
	add(&a, "-device");
	add(&a, "i8042");
	add(&a, "-chardev");
	add(&a, "socket,id=qmp,path=%s/qmp.sock,server=on,wait=off", rundir);
	add(&a, "-mon");
	add(&a, "chardev=qmp,mode=control");

	cJSON_ArrayForEach(d, c->drives) {
		path = qesc(vmm_json_str(d, "path_on_host", ""));
		if (path == NULL) {
			rc = mvm_error_set(e, EINVAL, "Drive path is too long.");
			goto fail;
		}
		add(&a, "-drive");
		add(&a, "id=drive%d,file=%s,format=raw,if=none,readonly=%s,"
		    "cache=%s", i, path,
		    vmm_json_bool(d, "is_read_only", false) ? "on" : "off",
		    strcmp(vmm_json_str(d, "cache_type", "Unsafe"),
		    "Writeback") == 0 ? "writeback" : "unsafe");
		add(&a, "-device");
		add(&a, "virtio-blk-device,drive=drive%d", i);
		i++;
	}
	i = 0;
	cJSON_ArrayForEach(n, c->nets) {
		add(&a, "-netdev");
		add(&a, "tap,id=net%d,ifname=%s,script=no,downscript=no", i,
		    qesc(vmm_json_str(n, "host_dev_name", "")));
		add(&a, "-device");
		mac = vmm_json_str(n, "guest_mac", NULL);
		if (cJSON_HasObjectItem(n, "mtu"))
			add(&a, "virtio-net-device,netdev=net%d%s%s,host_mtu=%d",
			    i, mac != NULL ? ",mac=" : "", mac != NULL ? mac : "",
			    cJSON_GetObjectItem(n, "mtu")->valueint);
		else
			add(&a, "virtio-net-device,netdev=net%d%s%s", i,
			    mac != NULL ? ",mac=" : "", mac != NULL ? mac : "");
		i++;
	}
	if (c->vsock != NULL) {
		add(&a, "-device");
		add(&a, "virtio-serial-device,id=vser0,max_ports=%d",
		    VMM_VSOCK_NPORTS + 1);
		for (i = 0; i < VMM_VSOCK_NPORTS; i++) {
			add(&a, "-chardev");
			add(&a, "socket,id=vsock%u,path=%s/vsock-%u.sock,"
			    "server=on,wait=off", vmm_vsock_ports[i], rundir,
			    vmm_vsock_ports[i]);
			add(&a, "-device");
			add(&a, "virtserialport,bus=vser0.0,nr=%d,chardev=vsock%u,"
			    "name=mvm.vsock.%u", i + 1, vmm_vsock_ports[i],
			    vmm_vsock_ports[i]);
		}
	}
	if (incoming) {
		add(&a, "-incoming");
		add(&a, "defer");
	}
	if (a.failed) {
		rc = mvm_error_set(e, ENOMEM, "Cannot build QEMU's command line.");
		goto fail;
	}
	if ((*argvp = calloc((size_t)a.n + 1, sizeof(char *))) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto fail;
	}
	memcpy(*argvp, a.v, (size_t)a.n * sizeof(char *));
	free(cmdline);
	return a.n;
fail:
	for (i = 0; i < a.n; i++)
		free(a.v[i]);
	free(cmdline);
	return rc;
}

int
vmm_launch_start(struct vmm_qemu *q, const struct vmm_config *c,
    enum mvm_accel accel, const char *rundir, bool incoming,
    struct mvm_error *e)
{
	char **argv = NULL, qmp_path[4096];
	pid_t parent = getpid();
	sigset_t none;
	int rc;

	q->pid = 0;
	q->pidfd = -1;
	q->qmp.fd = -1;
	if ((rc = vmm_launch_argv(c, accel, rundir, incoming, &argv, e)) < 0)
		return rc;
	switch ((q->pid = fork())) {
	case -1:
		rc = mvm_error_set(e, errno, "fork: %s.", strerror(errno));
		q->pid = 0;
		goto out;
	case 0:
		/* QEMU must not outlive us, even when we are SIGKILLed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "mvm-qemu: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	vmm_log(VMM_LOG_INFO, "started QEMU pid %d (%s, %d vCPU, %d MiB%s)",
	    (int)q->pid, accel == MVM_ACCEL_KVM ? "kvm" : "tcg",
	    vmm_config_vcpus(c), vmm_config_mem_mib(c),
	    incoming ? ", incoming migration" : "");
	if ((q->pidfd = pidfd_open(q->pid, 0)) < 0) {
		rc = mvm_error_set(e, errno, "pidfd_open: %s.", strerror(errno));
		goto fail;
	}
	snprintf(qmp_path, sizeof(qmp_path), "%s/qmp.sock", rundir);
	if ((rc = vmm_qmp_connect(&q->qmp, qmp_path, 30000, e)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	vmm_launch_stop(q);
out:
	vmm_launch_argv_free(argv);
	return rc;
}

int
vmm_launch_reap(struct vmm_qemu *q)
{
	int status = 0;

	if (q->pid > 0 && waitpid(q->pid, &status, 0) < 0)
		status = 0;
	if (q->pidfd >= 0)
		close(q->pidfd);
	vmm_qmp_close(&q->qmp);
	q->pid = 0;
	q->pidfd = -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

void
vmm_launch_stop(struct vmm_qemu *q)
{
	if (q->pid > 0)
		kill(q->pid, SIGKILL);
	vmm_launch_reap(q);
}
