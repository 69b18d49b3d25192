/*
 * defer.h: FUSE requests answered later, and the threads that do the slow
 * work meanwhile.
 *
 * A slot holds a request that one of two parties answers: the thread that
 * finished the work, or the kernel's interrupt (a Ctrl-C of the caller),
 * which is answered EINTR at once while the work goes on. Whoever claims
 * the slot first answers; the other leaves the request alone.
 *
 * Workers are a fixed set of threads running queued functions in order,
 * so a FUSE thread never waits for a VM.
 */
#ifndef MVMFS_DEFER_H
#define MVMFS_DEFER_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>

struct mvmfs_slot {
	fuse_req_t	 req;		/* NULL: nothing to answer */
	pthread_mutex_t	 lock;
	bool		 answered;
};

/*
 * Take `req` (may be NULL) into `sl` and arrange that an interrupt answers
 * it EINTR, possibly before this returns.
 */
void mvmfs_slot_init(struct mvmfs_slot *sl, fuse_req_t req);

/*
 * Claim the right to answer. True: the caller must answer sl->req now
 * (no interrupt will touch it any more); false: it was answered already,
 * or there is no request.
 */
bool mvmfs_slot_claim(struct mvmfs_slot *sl);

/* True once the request was answered or claimed. */
bool mvmfs_slot_answered(struct mvmfs_slot *sl);

/* Release the slot's lock; the request must be answered. */
void mvmfs_slot_destroy(struct mvmfs_slot *sl);

struct mvmfs_workers;

/*
 * Start `n` (1..64) threads. Returns 0 and sets *out, or -EINVAL, -ENOMEM
 * or the negative errno of pthread_create.
 */
int mvmfs_workers_new(int n, struct mvmfs_workers **out);

/*
 * Run fn(arg) on a worker, after what was queued before. Returns 0 or
 * -ENOMEM (then fn is not run).
 */
int mvmfs_workers_queue(struct mvmfs_workers *ws, void (*fn)(void *arg),
    void *arg);

/* Run what is queued, stop the threads and free `ws` (may be NULL). */
void mvmfs_workers_free(struct mvmfs_workers *ws);

#endif
