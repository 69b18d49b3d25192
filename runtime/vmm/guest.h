/*
 * guest.h: the host side of the guest agent protocol.
 *
 * mvm-guest (guest/agent) listens on vsock port MVM_GUEST_PORT inside every
 * guest. The host reaches it through the VMM's hybrid vsock unix socket
 * (Firecracker's, or mvm-qemu's, which carries the port over virtio-serial):
 * connect, send "CONNECT <port>\n", read "OK <n>\n", then exchange frames
 * (proto/frame.h). Every request is sent as a sync marker followed by
 * one frame; the agent echoes the marker, then replies. The client skips
 * everything up to the echo and any reply whose id is not its own, so a
 * stream left mid-frame by an earlier connection cannot confuse it. The
 * wire format is in docs/guest-protocol.md.
 *
 * All functions take a timeout in milliseconds for the whole call and
 * return 0 or a negative errno: -ETIMEDOUT when it passed, -EPROTO when the
 * peer's answer is malformed, -EIO when the agent answered with an Error,
 * -ECONNRESET when the stream ended. `e` (may be NULL) receives a sentence.
 */
#ifndef MVM_GUEST_H
#define MVM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MVM_GUEST_PORT		52
#define MVM_GUEST_BOOT_ID_MAX	64
#define MVM_GUEST_REASON_MAX	255
#define MVM_GUEST_EXEC_OUT_MAX	(64 * 1024)	/* bytes of stdout, stderr */

struct cJSON;

/*
 * Connect to the hybrid vsock socket `vsock_uds_path` and open guest port
 * `port`. On success *fd is a non-blocking stream socket the caller ends
 * with mvm_guest_close(), never close(2).
 *
 * One connection per socket at a time: the call first waits, within the
 * timeout, until no other connection to the same socket is open, from this
 * process (first come, first served) or another (an flock on
 * "<vsock_uds_path>.lock", a file it creates beside the socket). A thread
 * must not open a second connection to a guest while it holds one.
 *
 * Returns -ECONNREFUSED when the socket or its directory is absent or
 * refuses, or when the VMM closes the connection because nothing listens
 * on the port; -EPROTO when the answer is not "OK <n>"; -ETIMEDOUT (also
 * when another connection held the socket past the timeout);
 * -ENAMETOOLONG; -ENOMEM.
 */
int mvm_guest_connect(const char *vsock_uds_path, uint32_t port,
    int timeout_ms, int *fd, struct mvm_error *e);

/*
 * End a connection that mvm_guest_connect() made (-1 is allowed): half-
 * close it, wait up to half a second for the VMM to end its side (so the
 * next caller finds the guest port free), close it and let the next caller
 * in. Any thread.
 */
void mvm_guest_close(int fd);

struct mvm_guest_pong {
	char		boot_id[MVM_GUEST_BOOT_ID_MAX + 1];
	uint64_t	uptime_ms;	/* guest CLOCK_BOOTTIME */
};

struct mvm_guest_status {
	bool		busy;
	bool		busy_file;	/* the workload said so */
	unsigned	cpu_percent;	/* non-idle CPU since the last Status */
	uint64_t	last_busy_ms;	/* guest uptime when last busy, 0 never */
	uint64_t	uptime_ms;
};

struct mvm_guest_drain {
	bool		drained;
	char		reason[MVM_GUEST_REASON_MAX + 1];  /* "" if drained */
};

/* Ping: the guest's boot id and uptime. */
int mvm_guest_ping(int fd, int timeout_ms, struct mvm_guest_pong *out,
    struct mvm_error *e);

/* Status: whether the workload is busy (see docs/guest-protocol.md). */
int mvm_guest_status(int fd, int timeout_ms, struct mvm_guest_status *out,
    struct mvm_error *e);

/*
 * SleepPrep: run the guest's drain hook for at most `drain_timeout_ms`.
 * `timeout_ms` should exceed it. A hook that fails or times out is not an
 * error: out->drained is false and out->reason says why.
 */
int mvm_guest_sleep_prep(int fd, int timeout_ms, uint32_t drain_timeout_ms,
    struct mvm_guest_drain *out, struct mvm_error *e);

/*
 * Wake: credit `seed` (32 to 512 bytes; -EINVAL otherwise) to the guest's
 * RNG and set its clock to `time_ns` (Unix nanoseconds). *guest_time_ns
 * receives the guest clock read right after, to about a microsecond (the
 * reply is decoded as a double).
 */
int mvm_guest_wake(int fd, int timeout_ms, int64_t time_ns,
    const uint8_t *seed, size_t seed_len, int64_t *guest_time_ns,
    struct mvm_error *e);

/* What an Exec captured; see mvm_guest_exec(). */
struct mvm_guest_exec_result {
	int		 exit_code;	/* -1 when killed by a signal */
	int		 signal;	/* the killing signal, or 0 */
	bool		 timed_out;	/* killed at exec_timeout_ms */
	uint8_t		*stdout_buf;	/* stdout_len bytes plus a NUL */
	size_t		 stdout_len;
	bool		 stdout_truncated; /* more was written */
	uint8_t		*stderr_buf;	/* stderr_len bytes plus a NUL */
	size_t		 stderr_len;
	bool		 stderr_truncated; /* more was written */
};

/*
 * Exec: run `argv` (NULL-terminated; 1 to 64 strings, argv[0] an absolute
 * path or a name looked up in the guest's /usr/sbin:/usr/bin:/sbin:/bin) in
 * the guest with `stdin_text` (may be NULL: /dev/null) as its input, and
 * wait for it. The agent kills its process group after `exec_timeout_ms`
 * (0 means the agent's default, 10 s); `timeout_ms`, for the whole call,
 * should exceed it. The agent serves nothing else meanwhile.
 *
 * A program that fails, is killed or times out is not an error: see
 * exit_code, signal and timed_out. On success *out is a result the caller
 * releases with mvm_guest_exec_free(); the output buffers hold the exact
 * bytes, at most MVM_GUEST_EXEC_OUT_MAX of each stream. Returns -EINVAL
 * when argv is empty or a string is not valid UTF-8, -EIO when the agent
 * refused the request (a bad field, or the program could not be started:
 * the reason is in `e`), -EPROTO for a malformed reply, and the errors of
 * mvm_guest_call().
 */
int mvm_guest_exec(int fd, int timeout_ms, const char *const *argv,
    const char *stdin_text, uint32_t exec_timeout_ms,
    struct mvm_guest_exec_result **out, struct mvm_error *e);

/* Release an Exec result; NULL is allowed. */
void mvm_guest_exec_free(struct mvm_guest_exec_result *r);

/*
 * Send `req` (an object with "type"; the function sets "id") and wait for
 * the reply with that id, which *reply receives (the caller frees it with
 * cJSON_Delete). An Error reply is returned as -EIO with its text in `e`.
 */
int mvm_guest_call(int fd, int timeout_ms, struct cJSON *req,
    struct cJSON **reply, struct mvm_error *e);

/*
 * The host's reading of what a guest sends back, which the calls above use
 * and which take anything (a guest is not trusted). They do no I/O.
 */

struct mvm_frame_reader;

/*
 * Feed `n` bytes of the agent's stream to `r`, looking for the reply with
 * id `id`. Frames before the sync marker the agent echoes are stale and
 * skipped, as are frames that are not JSON or carry another id; *synced
 * records the echo (start an exchange with false and keep it across calls).
 * Returns true with the reply in *reply (the caller frees it with
 * cJSON_Delete; the bytes after it are not looked at), or false with
 * *reply NULL when all `n` bytes went by without it.
 */
bool mvm_guest_reply_scan(struct mvm_frame_reader *r, const uint8_t *buf,
    size_t n, uint64_t id, bool *synced, struct cJSON **reply);

/*
 * Judge `reply` (may be NULL) as the answer to a request of type `type`:
 * 0 when its "type" is `type`, -EIO for an Error reply (its "error" text
 * in `e`), -EPROTO otherwise.
 */
int mvm_guest_reply_check(const char *type, const struct cJSON *reply,
    struct mvm_error *e);

/*
 * Decode the fields of a reply that mvm_guest_reply_check() accepted, as
 * the call of the same name does: 0, or -EPROTO naming the field that is
 * missing or out of range (-ENOMEM for Exec). On failure the output may be
 * partly written, but for Exec, whose *out is then NULL; on success it is
 * a result for mvm_guest_exec_free().
 */
int mvm_guest_parse_pong(const struct cJSON *reply,
    struct mvm_guest_pong *out, struct mvm_error *e);
int mvm_guest_parse_status(const struct cJSON *reply,
    struct mvm_guest_status *out, struct mvm_error *e);
int mvm_guest_parse_drain(const struct cJSON *reply,
    struct mvm_guest_drain *out, struct mvm_error *e);
int mvm_guest_parse_wake(const struct cJSON *reply, int64_t *guest_time_ns,
    struct mvm_error *e);
int mvm_guest_parse_exec(const struct cJSON *reply,
    struct mvm_guest_exec_result **out, struct mvm_error *e);

#endif
