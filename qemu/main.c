/*
 * mvm-qemu: a Firecracker-API front end for QEMU's microvm machine.
 *
 * One process serves one microVM: the API on --api-sock, QEMU as a child,
 * the guest's serial console on our standard output. The process ends when
 * QEMU ends (guest reboot or Ctrl-Alt-Del), on SIGTERM/SIGINT (QEMU is
 * killed with us), or after a failed snapshot load, as Firecracker does.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "launch.h"
#include "log.h"
#include "loop.h"
#include "vm.h"

#define METRICS_PERIOD_S 60

static bool quit;

static void
usage(FILE *f)
{
	fprintf(f, "usage: mvm-qemu --api-sock PATH [--id ID] [--log-path FILE] "
	    "[--level LEVEL]\n"
	    "       mvm-qemu --version | --help\n");
}

static void
signal_event(struct vmm_watch *w, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	if (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		vmm_log(VMM_LOG_INFO, "signal %u received, shutting down",
		    si.ssi_signo);
		quit = true;
	}
}

/* Bind and listen on the API socket; like Firecracker, never replace one. */
static int
api_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "api-sock", required_argument, NULL, 'a' },
		{ "id", required_argument, NULL, 'i' },
		{ "log-path", required_argument, NULL, 'l' },
		{ "level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = NULL, *id = "anonymous-instance", *log_path = NULL;
	enum vmm_log_level level = VMM_LOG_INFO;
	struct vmm_watch sigw = { .fd = -1, .fn = signal_event };
	struct mvm_error e = { 0 };
	struct vmm_api *api = NULL;
	struct vmm_vm vm;
	bool vm_ready = false, sock_made = false;
	enum mvm_accel accel;
	char why[256];
	time_t last_flush = time(NULL);
	sigset_t mask;
	int c, fd, rc, status = 1, timeout;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': sock = optarg; break;
		case 'i': id = optarg; break;
		case 'l': log_path = optarg; break;
		case 'L':
			if (vmm_log_parse_level(optarg, &level) < 0) {
				fprintf(stderr, "mvm-qemu: --level \"%s\" must be "
				    "Error, Warning, Info, Debug, Trace or "
				    "Off\n", optarg);
				return 1;
			}
			break;
		case 'V':
			printf("mvm-qemu %s (Firecracker API 1.17)\n",
			    MVM_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (sock == NULL || optind != argc) {
		usage(stderr);
		return 1;
	}
	vmm_log_set_id(id);
	if ((rc = vmm_log_open(log_path, level)) < 0) {
		fprintf(stderr, "mvm-qemu: cannot open --log-path %s: %s\n",
		    log_path, strerror(-rc));
		return 1;
	}
	if (mvm_accel_probe(&accel, why, sizeof(why), &e) < 0) {
		vmm_log(VMM_LOG_ERROR, "%s", e.msg);
		goto out;
	}
	vmm_log(VMM_LOG_INFO, "mvm-qemu %s starting; accelerator %s: %s",
	    MVM_VERSION, accel == MVM_ACCEL_KVM ? "kvm" : "tcg", why);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((rc = vmm_loop_init()) < 0 ||
	    (sigw.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0 ||
	    vmm_loop_add(&sigw, EPOLLIN) < 0) {
		vmm_log(VMM_LOG_ERROR, "cannot set up the event loop: %s",
		    strerror(errno));
		goto out;
	}
	if (vmm_vm_init(&vm, id, accel, &e) < 0) {
		vmm_log(VMM_LOG_ERROR, "%s", e.msg);
		goto out;
	}
	vm_ready = true;
	if ((fd = api_listen(sock)) < 0) {
		vmm_log(VMM_LOG_ERROR, "Failed to open the API socket at %s: %s",
		    sock, strerror(-fd));
		goto out;
	}
	sock_made = true;
	if (vmm_api_start(&api, fd, &vm, &e) < 0) {
		vmm_log(VMM_LOG_ERROR, "%s", e.msg);
		goto out;
	}
	vmm_log(VMM_LOG_INFO, "API listening on %s", sock);

	while (!quit && !vm.exited && !vmm_api_done(api)) {
		timeout = vmm_api_timeout(api);
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		if (vmm_loop_run_once(timeout) < 0)
			break;
		vmm_api_run(api);
		if (vm.metrics_fd >= 0 &&
		    time(NULL) - last_flush >= METRICS_PERIOD_S) {
			vmm_vm_flush_metrics(&vm, NULL);
			last_flush = time(NULL);
		}
	}
	if (vm.exited)
		status = vm.exit_status;
	else
		status = vmm_api_done(api) ? 1 : 0;
	vmm_log(VMM_LOG_INFO, "mvm-qemu exiting with status %d", status);
out:
	vmm_api_stop(api);
	if (vm_ready)
		vmm_vm_fini(&vm);
	if (sock_made)
		unlink(sock);
	if (sigw.fd >= 0)
		close(sigw.fd);
	vmm_loop_fini();
	vmm_log_close();
	return status;
}
