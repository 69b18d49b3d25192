/*
 * vmm.h: VMM processes: launch, identity, liveness, exit, orphans.
 *
 * A VMM (firecracker or mvm-qemu) is launched detached: it is not a child
 * of the engine's process (double fork, new session), so it survives a
 * crash or restart of the engine and never becomes a zombie of it. A VMM is
 * identified by its pid together with the kernel's start time of that pid,
 * so a recycled pid is never mistaken for our VMM.
 *
 * Launching goes through mvm_vmm_launch() only: when VMMs are jailed through
 * mvm-hostd, that one function changes.
 */
#ifndef MVM_VMM_H
#define MVM_VMM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct mvm_vmm_proc {
	pid_t		pid;
	uint64_t	start_time;	/* /proc/<pid>/stat field 22, in ticks */
};

struct mvm_vmm_launch {
	const char	*vmm_path;	/* executable: mvm-qemu or firecracker */
	const char	*api_sock;	/* --api-sock; removed first if stale */
	const char	*id;		/* --id */
	const char	*log_path;	/* --log-path; created if missing */
	const char	*console_path;	/* the VMM's stdout and stderr (serial) */
	const char	*tmp_dir;	/* its TMPDIR (mvm-qemu's private files) */
};

/*
 * Start a VMM as described by `l` and fill `out`. Returns 0 once the process
 * has exec'd, -ENOENT or -EACCES when the executable cannot be run, another
 * negative errno on a failed fork or open. The caller waits for the API
 * socket itself (mvm_fc_wait_ready).
 */
int mvm_vmm_launch(const struct mvm_vmm_launch *l, struct mvm_vmm_proc *out,
    struct mvm_error *e);

/*
 * Read the start time of `pid` from /proc. Returns 0, or -ESRCH when no
 * such process exists (or it is a zombie).
 */
int mvm_vmm_start_time(pid_t pid, uint64_t *start_time);

/* True when the process recorded in `p` still runs (same pid, same start). */
bool mvm_vmm_alive(const struct mvm_vmm_proc *p);

/*
 * Wait up to `timeout_ms` for the process to exit. Returns 0 when it is
 * gone, -ETIMEDOUT when it still runs. Works for processes that are not our
 * children (pidfd).
 */
int mvm_vmm_wait_exit(const struct mvm_vmm_proc *p, int timeout_ms);

/*
 * Send SIGKILL to the process (if it is still the same one) and wait up to
 * `timeout_ms` for it to go. Returns 0 when it is gone, -ETIMEDOUT
 * otherwise.
 */
int mvm_vmm_kill(const struct mvm_vmm_proc *p, int timeout_ms);

/*
 * Open a pidfd for the process, for a caller that polls many of them.
 * Returns the fd (close it when done), or -ESRCH when the process is not
 * the one recorded.
 */
int mvm_vmm_pidfd(const struct mvm_vmm_proc *p);

/*
 * Find VMM processes whose command line names an API socket under
 * `run_prefix` (the engine's run directory) and that `known` does not
 * claim, and kill them. Returns how many were killed. `known` returns true
 * for a pid the store records as a live VMM.
 */
int mvm_vmm_kill_orphans(const char *run_prefix,
    bool (*known)(pid_t pid, void *arg), void *arg);

#endif
