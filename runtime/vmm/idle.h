/*
 * idle.h: is an instance idle? Measurements for the sleep policy.
 *
 * An instance is measured by sampling, now and then, three counters:
 *
 *  - the CPU time of its VMM process and of every process below it (QEMU
 *    under mvm-qemu, helpers), from /proc/<pid>/stat: utime + stime + cutime
 *    + cstime of each process in the tree, so time of a child that exits and
 *    is reaped inside the tree moves to its parent and is not lost;
 *  - the bytes its tap received and sent, from
 *    /sys/class/net/<tap>/statistics/{rx,tx}_bytes; an instance without a
 *    tap (or whose tap is gone) has *unknown* traffic, never zero;
 *  - whether the guest is busy, as the guest agent's Status says, which the
 *    caller asks and passes in.
 *
 * Two samples make an interval: its CPU use in percent of ONE host CPU (so
 * 100% is one CPU kept busy and a 4-vCPU guest can show 400%; a percentage
 * of the pool's vCPUs would let a guest spinning one of many vCPUs pass for
 * idle), and its tap traffic in bytes. An interval is idle when, with the
 * pool's struct mvm_sleep_policy,
 *
 *	cpu < idle_cpu_percent  AND  net < idle_net_bytes  AND  guest not busy
 *
 * where unknown traffic and an unknown guest status are no evidence of
 * activity and so do not stop an interval from being idle (an instance
 * without a tap or without an agent can still sleep; its CPU still counts).
 *
 * The caller keeps one struct mvm_idle_track per instance and feeds it every
 * sample; it remembers since when the instance has been idle without a
 * break. Paths are read below a root prefix ("" for the real system, or a
 * directory holding a fake proc/ and sys/ for tests).
 */
#ifndef MVM_IDLE_H
#define MVM_IDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* What the guest agent's Status said, if anything. */
enum mvm_idle_guest {
	MVM_IDLE_GUEST_UNKNOWN = 0,	/* no agent, or it did not answer */
	MVM_IDLE_GUEST_IDLE,
	MVM_IDLE_GUEST_BUSY,
};

/* One process of a /proc snapshot. */
struct mvm_idle_proc {
	int32_t		pid;
	int32_t		ppid;
	uint64_t	ticks;	/* utime + stime + cutime + cstime, clock ticks */
	uint64_t	start;	/* start time, field 22 of /proc/<pid>/stat */
};

/* Every process on the system at one moment, sorted by pid. */
struct mvm_idle_procs {
	struct mvm_idle_proc	*v;	/* owned; freed by mvm_idle_procs_free */
	size_t			 n;
};

/* One reading of an instance's counters. */
struct mvm_idle_sample {
	uint64_t		mono_ns;	/* CLOCK_MONOTONIC when taken */
	int64_t			at;		/* Unix seconds when taken */
	uint64_t		cpu_ns;		/* CPU time of the VMM's tree */
	uint64_t		net_bytes;	/* tap rx + tx; see net_known */
	bool			net_known;	/* false: no tap, or it is gone */
	enum mvm_idle_guest	guest;
};

/* What happened between two samples. */
struct mvm_idle_interval {
	uint64_t		ms;		/* length, at least 1 */
	double			cpu_percent;	/* of one host CPU */
	uint64_t		net_bytes;	/* valid when net_known */
	bool			net_known;	/* both samples knew the tap */
	enum mvm_idle_guest	guest;		/* as the later sample said */
};

/* An instance's idleness over time; zero it (or _init) to start. */
struct mvm_idle_track {
	struct mvm_idle_sample	 last;		/* valid when have_last */
	bool			 have_last;
	struct mvm_idle_interval iv;		/* the latest interval */
	bool			 have_iv;
	bool			 idle;		/* iv was idle */
	int64_t			 idle_since;	/* Unix s; 0: not idle */
};

/*
 * Read every process under `root`/proc into *out (which the caller frees
 * with mvm_idle_procs_free, also after a failure). One snapshot serves every
 * instance of a pass. Entries that vanish while being read, or that do not
 * parse, are left out. Returns the number of processes, or -ENOMEM, or the
 * negative errno of opening the proc directory (-ENOENT, -EACCES).
 */
int mvm_idle_procs_read(const char *root, struct mvm_idle_procs *out);

/* Free what mvm_idle_procs_read allocated and empty *p. NULL is fine. */
void mvm_idle_procs_free(struct mvm_idle_procs *p);

/*
 * The CPU ticks of process `pid` and all its descendants in `p`, into
 * *ticks. When pid_start is not 0 it must equal the process's start time,
 * so a reused pid is not mistaken for the VMM. Returns 0, or -ESRCH when
 * there is no such process (or it is another one with the same pid).
 */
int mvm_idle_procs_cpu(const struct mvm_idle_procs *p, int32_t pid,
    uint64_t pid_start, uint64_t *ticks);

/*
 * Take a sample of the VMM `pid` (with start time `pid_start`, 0 to skip
 * that check) in `procs`, of tap `tap` under `root`/sys/class/net (NULL or
 * "" for none), with the guest status the caller got. Stamps *out with both
 * clocks. Returns 0; -ESRCH when the VMM is gone; -EINVAL for a tap name
 * that is not an interface name (empty, over 15 bytes, '/', or starting
 * with '.'); -EIO for counters that do not parse; or the negative errno of
 * reading them other than -ENOENT (a missing tap only makes traffic
 * unknown).
 */
int mvm_idle_sample(const struct mvm_idle_procs *procs, const char *root,
    int32_t pid, uint64_t pid_start, const char *tap,
    enum mvm_idle_guest guest, struct mvm_idle_sample *out);

/*
 * The interval from sample `a` to the later sample `b`, into *out. Returns
 * 0; -EINVAL when `b` is not later than `a` on the monotonic clock;
 * -ESTALE when a counter went backwards (the VMM or the tap was replaced,
 * or a process left the tree): there is nothing to compare, start again
 * from `b`.
 */
int mvm_idle_interval(const struct mvm_idle_sample *a,
    const struct mvm_idle_sample *b, struct mvm_idle_interval *out);

/* Was interval `iv` idle under policy `p` (the rule at the top)? */
bool mvm_idle_is_idle(const struct mvm_idle_interval *iv,
    const struct mvm_sleep_policy *p);

/*
 * Describe `iv` against `p` in `buf` of `len` bytes, for reasons and
 * events: "cpu 0.4% < 5%, net 0 B < 1024 B, guest idle", or
 * "cpu 37.2% >= 5%, net unknown (no tap), guest busy". Returns what
 * snprintf returns (the length it wanted).
 */
int mvm_idle_describe(const struct mvm_idle_interval *iv,
    const struct mvm_sleep_policy *p, char *buf, size_t len);

/* Start a track afresh: no sample, not idle. */
void mvm_idle_track_init(struct mvm_idle_track *t);

/*
 * Feed sample `s` to track `t`, judged under policy `p`. The first sample
 * only sets the baseline. After that, a busy interval clears idle_since and
 * an idle one sets it, unless already set, to the time of the interval's
 * first sample. Returns 1 when the interval was idle, 0 when it was busy or
 * there was no interval yet; -EINVAL when `s` is not later than the last
 * sample (it is ignored); -ESTALE when a counter went backwards: the track
 * restarts from `s`, not idle. Call mvm_idle_track_init when the VMM
 * process is replaced (a wake, a restart).
 */
int mvm_idle_track_add(struct mvm_idle_track *t,
    const struct mvm_idle_sample *s, const struct mvm_sleep_policy *p);

/*
 * For how many seconds, at Unix time `now`, `t` has been idle without a
 * break: 0 when not idle, and 0 for a clock that went backwards.
 */
int64_t mvm_idle_track_seconds(const struct mvm_idle_track *t, int64_t now);

#endif
