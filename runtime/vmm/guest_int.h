/*
 * guest_int.h: private to the guest-agent client (runtime/vmm/guest.c and
 * guestlock.c); nothing else includes it. guest.h is the public contract.
 *
 * One guest's calls, one at a time. mvm-qemu carries one host stream per
 * guest port and refuses a second CONNECT while one is open, and the agent
 * serves one stream at a time, so two host callers (the sleeper's Status,
 * the engine's SleepPrep or Wake, an Exec) would collide. A connection
 * therefore holds the gate of its vsock socket from mvm_guest_connect() to
 * mvm_guest_close(). A gate is two locks: a first-come first-served queue
 * among the threads of this process, so a caller that loops cannot starve
 * the others, and an exclusive flock(2) on "<socket>.lock" beside the
 * socket, which orders separate processes too and which the kernel drops
 * when its holder dies.
 */
#ifndef MVM_GUEST_INT_H
#define MVM_GUEST_INT_H

#include <stdint.h>

#include "error.h"

struct mvm_guest_gate;

/* Milliseconds of CLOCK_MONOTONIC, the clock of every deadline here. */
int64_t mvm_guest_now_ms(void);

/*
 * Wait until the gate of `vsock_uds_path` is ours, before `deadline`.
 * Returns 0 with *g set; -ETIMEDOUT while another call holds it;
 * -ECONNREFUSED when the socket's directory is gone; -ENAMETOOLONG,
 * -ENOMEM or the errno of open or flock. Any thread.
 */
int mvm_guest_gate_enter(const char *vsock_uds_path, int64_t deadline,
    struct mvm_guest_gate **g, struct mvm_error *e);

/* Record that connection `fd` holds gate `g`, for mvm_guest_gate_of(). */
void mvm_guest_gate_bind(struct mvm_guest_gate *g, int fd);

/* The gate connection `fd` holds, or NULL when it holds none. */
struct mvm_guest_gate *mvm_guest_gate_of(int fd);

/* Give gate `g` to the next caller that waits for it; NULL is allowed. */
void mvm_guest_gate_leave(struct mvm_guest_gate *g);

#endif
