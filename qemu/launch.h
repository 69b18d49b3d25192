/*
 * launch.h: the QEMU process behind one microVM.
 *
 * mvm-qemu runs `qemu-system-x86_64 -M microvm` with the devices of a
 * vmm_config, its serial console on mvm-qemu's own standard output, and
 * QMP on a private unix socket. QEMU dies with mvm-qemu (PR_SET_PDEATHSIG)
 * and mvm-qemu exits when QEMU does.
 */
#ifndef VMM_LAUNCH_H
#define VMM_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "accel.h"
#include "error.h"
#include "qmp.h"
#include "vmconfig.h"

struct vmm_qemu {
	pid_t		pid;	/* 0 when not running */
	int		pidfd;	/* readable when QEMU exits; -1 when none */
	struct vmm_qmp	qmp;
};

/*
 * Build QEMU's argument vector for `c`. `rundir` is the private directory
 * that holds the QMP and vsock channel sockets; `incoming` adds
 * `-incoming defer`. The vCPUs start stopped (-S). Returns the number of
 * arguments and stores a NULL-terminated vector in *argv (free with
 * vmm_launch_argv_free), or -ENOMEM / -EINVAL with `e`.
 */
int vmm_launch_argv(const struct vmm_config *c, enum mvm_accel accel,
    const char *rundir, bool incoming, char ***argv, struct mvm_error *e);

/* Free a vector from vmm_launch_argv. NULL is allowed. */
void vmm_launch_argv_free(char **argv);

/*
 * Start QEMU (the binary named by MVM_QEMU_BINARY, default
 * qemu-system-x86_64) for `c` and connect to its QMP socket. On success
 * `q` holds the process and an open QMP connection; the VM is stopped.
 * Returns 0 or a negative errno with `e`; on failure no process is left.
 */
int vmm_launch_start(struct vmm_qemu *q, const struct vmm_config *c,
    enum mvm_accel accel, const char *rundir, bool incoming,
    struct mvm_error *e);

/*
 * Reap QEMU after its pidfd became readable. Returns its exit status
 * (0..255, or 128 + signal) and leaves `q` empty.
 */
int vmm_launch_reap(struct vmm_qemu *q);

/* Kill QEMU (SIGKILL), reap it and close QMP. Safe when none runs. */
void vmm_launch_stop(struct vmm_qemu *q);

#endif
