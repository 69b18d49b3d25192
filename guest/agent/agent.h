/*
 * agent.h: the request and reply logic of mvm-guest, free of I/O.
 *
 * Requests and replies are JSON objects (one per frame, see frame.h) with a
 * string field "type". Every request may carry an "id" (a string or an
 * integer), echoed verbatim in the reply. Fields this version does not know
 * are ignored. The reply to a request has the request's type; a request that
 * cannot be served gets {"type":"Error","error":"..."}. The full protocol is
 * in docs/guest-protocol.md.
 */
#ifndef MVM_GUEST_AGENT_H
#define MVM_GUEST_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_object;

#define MVM_AGENT_SEED_MIN	32	/* bytes of Wake seed, decoded */
#define MVM_AGENT_SEED_MAX	512
#define MVM_AGENT_DRAIN_MAX_MS	3600000	/* longest SleepPrep drain timeout */
#define MVM_AGENT_BUSY_CPU_PCT	5	/* CPU share above which a guest is busy */

/* Exec limits (docs/guest-protocol.md). */
#define MVM_AGENT_ARGV_MAX	64		/* strings in argv */
#define MVM_AGENT_ARG_MAX	4096		/* bytes in one string */
#define MVM_AGENT_ARGV_TOTAL	(64 * 1024)	/* bytes of argv, NULs included,
						   must stay below this */
#define MVM_AGENT_EXEC_MAX_MS	3600000
#define MVM_AGENT_EXEC_DEF_MS	10000
#define MVM_AGENT_OUT_MAX	(64 * 1024)	/* bytes kept of each stream */

enum mvm_agent_type {
	MVM_AGENT_PING,
	MVM_AGENT_STATUS,
	MVM_AGENT_SLEEP_PREP,
	MVM_AGENT_WAKE,
	MVM_AGENT_EXEC,
};

struct mvm_agent_req {
	enum mvm_agent_type	 type;
	struct json_object	*id;		/* NULL when absent; owned */
	uint64_t		 drain_timeout_ms;	/* SleepPrep */
	int64_t			 time_ns;		/* Wake */
	uint8_t			 seed[MVM_AGENT_SEED_MAX];	/* Wake */
	size_t			 seed_len;
	/* Exec: argv[argc] is NULL; the strings live in argv_buf. */
	char			*argv[MVM_AGENT_ARGV_MAX + 1];
	size_t			 argc;
	char			*argv_buf;	/* owned */
	char			*stdin_buf;	/* owned; NULL: no "stdin" */
	size_t			 stdin_len;
	uint64_t		 exec_timeout_ms;
};

/*
 * Parse the frame payload `buf` (`len` bytes) into `req`. On failure the
 * reason is in `e` and, if the payload was an object with a usable "id",
 * req->id holds it so the error reply can echo it. Returns 0 or -EINVAL.
 * Either way the caller releases req with mvm_agent_req_free().
 */
int mvm_agent_parse(const char *buf, size_t len, struct mvm_agent_req *req,
    struct mvm_error *e);
void mvm_agent_req_free(struct mvm_agent_req *req);

/* The facts a Status reply reports. */
struct mvm_agent_status {
	bool		busy;
	bool		busy_file;	/* the workload's busy file exists */
	unsigned	cpu_percent;	/* non-idle CPU share since the last Status */
	uint64_t	last_busy_ms;	/* uptime when last seen busy, 0 if never */
	uint64_t	uptime_ms;
};

/*
 * Reply encoders. Each returns a NUL-terminated JSON text the caller frees,
 * or NULL when memory ran out. `id` may be NULL (no id to echo).
 */
char *mvm_agent_reply_ping(struct json_object *id, const char *boot_id,
    uint64_t uptime_ms);
char *mvm_agent_reply_status(struct json_object *id,
    const struct mvm_agent_status *st);
char *mvm_agent_reply_sleep_prep(struct json_object *id, bool drained,
    const char *reason);
char *mvm_agent_reply_wake(struct json_object *id, int64_t time_ns);
char *mvm_agent_reply_error(struct json_object *id, const char *msg);

/* What an Exec captured of one output stream. */
struct mvm_agent_output {
	uint8_t		buf[MVM_AGENT_OUT_MAX];
	size_t		len;
	bool		truncated;	/* more was written and discarded */
};

/* The outcome of an Exec. */
struct mvm_agent_exec {
	int			exit_code;	/* -1 when killed by a signal */
	int			signal;		/* the killing signal, or 0 */
	bool			timed_out;	/* the group was killed at the
						   timeout */
	struct mvm_agent_output	out;		/* stdout */
	struct mvm_agent_output	err;		/* stderr */
};

/*
 * Keep the next `n` bytes of `data` written to stream `o`: append what fits
 * below MVM_AGENT_OUT_MAX and mark the rest as discarded.
 */
void mvm_agent_output_add(struct mvm_agent_output *o, const uint8_t *data,
    size_t n);

/*
 * The Exec reply. "stdout" and "stderr" are base64 (RFC 4648 with padding),
 * so any bytes round-trip; both at their limit still fit in one frame.
 */
char *mvm_agent_reply_exec(struct json_object *id,
    const struct mvm_agent_exec *x);

/* Cumulative CPU time from the first line of /proc/stat, in ticks. */
struct mvm_agent_cpu {
	uint64_t	total;
	uint64_t	idle;		/* idle plus iowait */
};

/*
 * Parse the "cpu " line at the start of a /proc/stat text. Returns 0 or
 * -EINVAL when the text does not start with that line.
 */
int mvm_agent_cpu_parse(const char *text, struct mvm_agent_cpu *out);

/*
 * The non-idle share, in percent, of the CPU time between samples `prev`
 * and `cur`; 0 when no time passed or the counters went backwards.
 */
unsigned mvm_agent_cpu_percent(const struct mvm_agent_cpu *prev,
    const struct mvm_agent_cpu *cur);

#endif
