/*
 * harness.h: helpers for the mvm-qemu integration tests: run mvm-qemu in a
 * private directory, talk to its API over the unix socket with libcurl,
 * and watch the guest's serial console in the captured standard output.
 * The mvm-qemu child dies with the test process (PR_SET_PDEATHSIG), and
 * with it QEMU, so a failing test leaves nothing running.
 */
#ifndef VMM_TEST_HARNESS_H
#define VMM_TEST_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

struct vmmh {
	char	dir[256];	/* private temporary directory */
	char	sock[300];	/* <dir>/<tag>.sock, the API socket */
	char	out[300];	/* captured stdout (serial console) */
	char	log[300];	/* captured stderr (mvm-qemu's log) */
	pid_t	pid;		/* mvm-qemu, 0 when not running */
};

/* Make the private directory (once per struct). */
void vmmh_init(struct vmmh *h);

/*
 * Start mvm-qemu with its API socket at <dir>/<tag>.sock and its output
 * in <tag>.out (serial console) and <tag>.log; waits for the socket.
 */
void vmmh_spawn(struct vmmh *h, const char *tag);

/*
 * One HTTP request; returns the status code, stores the body (malloc'd,
 * NUL-terminated) in *resp when resp is not NULL. `body` NULL sends none.
 */
long vmmh_api(struct vmmh *h, const char *method, const char *path,
    const char *body, char **resp);

/* Like vmmh_api but returns only the code and asserts `fault` appears. */
long vmmh_fault(struct vmmh *h, const char *method, const char *path,
    const char *body, const char *fault);

/* Wait up to `secs` for `needle` in the captured output. */
bool vmmh_wait_output(struct vmmh *h, const char *needle, int secs);

/* The largest "MVM-TICK <n>" in the output so far (0 when none). */
long vmmh_last_tick(struct vmmh *h);

/* The first "MVM-TICK <n>" in the output (0 when none). */
long vmmh_first_tick(struct vmmh *h);

/* The guest's uptime printed with MVM-TEST-READY, or -1. */
double vmmh_ready_uptime(struct vmmh *h);

/* The pid of mvm-qemu's QEMU child, or 0. */
pid_t vmmh_qemu_pid(struct vmmh *h);

/* Wait up to `secs` for mvm-qemu to exit; returns its status or -1. */
int vmmh_wait_exit(struct vmmh *h, int secs);

/* Wait up to `secs` for process `pid` to disappear. */
bool vmmh_gone(pid_t pid, int secs);

/*
 * Ask mvm-qemu to exit (SIGTERM) and return its exit status, -1 if it did
 * not exit within 30 s (it is then left for vmmh_cleanup). Under the
 * sanitizers a leak makes the status non-zero.
 */
int vmmh_stop(struct vmmh *h);

/* Kill mvm-qemu (SIGKILL) if running and remove the directory. */
void vmmh_cleanup(struct vmmh *h);

/* Paths of the test guest built by fixture.sh (run once per process). */
const char *vmmh_kernel(void);
const char *vmmh_initrd(void);

/* Connect to a unix socket; returns the fd or -1. */
int vmmh_connect(const char *path);

/* Read one line (up to '\n', at most len-1 bytes) with a timeout. */
bool vmmh_read_line(int fd, char *buf, size_t len, int secs);

#endif
