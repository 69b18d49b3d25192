/*
 * sys.h: what mvm-guest does to and reads from the guest system.
 *
 * These functions act on the running kernel (clock, RNG, processes, /proc)
 * and are exercised by the integration tests that boot a real guest.
 */
#ifndef MVM_GUEST_SYS_H
#define MVM_GUEST_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"

/* A workload that is busy creates this file and removes it when idle. */
#define MVM_SYS_BUSY_FILE	"/run/mvm/busy"
/* Drain hooks, tried in this order: one registered at run time by the
 * workload, then one shipped in the image. */
#define MVM_SYS_DRAIN_RUN	"/run/mvm/drain"
#define MVM_SYS_DRAIN_ETC	"/etc/mvm/drain"

#define MVM_SYS_BOOT_ID_LEN	36
/* The PATH an Exec'd program gets and argv[0] is looked up in. */
#define MVM_SYS_EXEC_PATH	"/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Read the kernel's boot id (a UUID) into `out`. Returns 0 or a negative
 * errno from reading /proc/sys/kernel/random/boot_id.
 */
int mvm_sys_boot_id(char out[MVM_SYS_BOOT_ID_LEN + 1]);

/* Milliseconds of CLOCK_BOOTTIME: guest time since boot. */
uint64_t mvm_sys_uptime_ms(void);

/* Sample /proc/stat. Returns 0 or a negative errno. */
int mvm_sys_cpu(struct mvm_agent_cpu *out);

/* Whether MVM_SYS_BUSY_FILE exists. */
bool mvm_sys_busy_file(void);

/*
 * Run the first executable drain hook and wait up to `timeout_ms` for it.
 * Returns 1 when it exited with status 0 (or no hook exists), 0 when it
 * failed or timed out (then it is killed with its process group and
 * `reason` says why), or a negative errno when it could not be started.
 */
int mvm_sys_drain(uint64_t timeout_ms, char *reason, size_t reasonsz);

/*
 * Credit `seed` to the kernel RNG (RNDADDENTROPY), set CLOCK_REALTIME to
 * `time_ns` and store the new reading of that clock in *now_ns. Returns 0
 * or a negative errno from the failing system call.
 */
int mvm_sys_wake(const uint8_t *seed, size_t len, int64_t time_ns,
    int64_t *now_ns);

/*
 * Run the Exec request `req` and wait for it: the program runs in its own
 * process group with the environment PATH=MVM_SYS_EXEC_PATH and HOME=/root,
 * in /, its stdin reading req->stdin_buf (or /dev/null when absent), its
 * stdout and stderr captured into `x`. It is done when it has exited and
 * both pipes are closed; after req->exec_timeout_ms the whole group gets
 * SIGKILL and x->timed_out is set. Returns 0, or a negative errno when the
 * program could not be started (then `e` names the cause).
 */
int mvm_sys_exec(const struct mvm_agent_req *req, struct mvm_agent_exec *x,
    struct mvm_error *e);

#endif
