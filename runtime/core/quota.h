/*
 * quota.h: the seven per-tenant quotas, and what actions cost.
 *
 * What an instance holds depends on its state: a running or warm instance
 * holds the vcpus and mem_mib it was booted with (a paused VM keeps its
 * memory; a woken one has the size its snapshot had) and counts as one
 * running or one warm; sleeping, stopped and created hold no CPU or
 * memory. Changing a pool's size changes what its next cold boots take,
 * never what its live instances hold. Every instance record, whatever its
 * state, holds its pool's data_disk_mib of disk (the data volume it is
 * given) and the disk its snapshot files really use, and counts against
 * max_instances_per_pool.
 *
 * The engine sums a tenant's usage with mvm_quota_usage_add_instance(),
 * builds the delta of the move it is about to take with
 * mvm_quota_delta_move(), and asks mvm_quota_check(). The pool-only forms
 * (mvm_quota_usage_add, mvm_quota_delta_transition) count an instance at
 * its pool's size now: the planner's estimate for instances not yet booted.
 * Only what the delta increases is checked, so a move that frees something
 * is never refused, even when the tenant is already over a quota that an
 * operator lowered.
 */
#ifndef MVM_QUOTA_H
#define MVM_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "model.h"

enum mvm_quota_kind {
	MVM_QUOTA_VCPUS,
	MVM_QUOTA_MEM_MIB,
	MVM_QUOTA_RUNNING,
	MVM_QUOTA_WARM,
	MVM_QUOTA_POOLS,
	MVM_QUOTA_INSTANCES_PER_POOL,
	MVM_QUOTA_DISK_GIB,
	MVM_QUOTA_COUNT
};

/* What a tenant uses now; pool_instances counts the pool acted upon. */
struct mvm_usage {
	uint32_t	vcpus;
	uint32_t	mem_mib;
	uint32_t	running;
	uint32_t	warm;
	uint32_t	pools;
	uint32_t	pool_instances;
	uint64_t	disk_mib;
};

/* What an action adds (positive) or frees (negative). */
struct mvm_quota_delta {
	int64_t		vcpus;
	int64_t		mem_mib;
	int64_t		running;
	int64_t		warm;
	int64_t		pools;
	int64_t		pool_instances;
	int64_t		disk_mib;
	const char	*what;	/* "start", "pool create", ...: for sentences */
};

/*
 * Add what one instance of pool `p` in state `s` holds to `u`. Instances in
 * MVM_STATE_DESTROYED hold nothing. Counts saturate instead of wrapping.
 */
void mvm_quota_usage_add(struct mvm_usage *u, const struct mvm_pool *p,
    enum mvm_state s);

/*
 * Add what instance `in` of pool `p` holds in its state to `u`: the vcpus
 * and mem_mib it records (the pool's for a field that is 0: never booted),
 * its pool's data_disk_mib and its disk_mib (snapshot files).
 */
void mvm_quota_usage_add_instance(struct mvm_usage *u,
    const struct mvm_pool *p, const struct mvm_instance *in);

/*
 * Fill `d` with the cost of moving an instance of `p` from `from` to `to`
 * (to destroyed frees its record and disk), counting it at the pool's size.
 * d->what names the move by its operation ("start", "resume", "wake", ...).
 */
void mvm_quota_delta_transition(struct mvm_quota_delta *d,
    const struct mvm_pool *p, enum mvm_state from, enum mvm_state to);

/*
 * Fill `d` with the cost of moving instance `in` of `p` from its state to
 * `to`: what it holds now is freed (as mvm_quota_usage_add_instance counts
 * it), and what it will hold is taken: the pool's vcpus and mem_mib for a
 * cold boot (start), what it was booted with for every other move.
 */
void mvm_quota_delta_move(struct mvm_quota_delta *d, const struct mvm_pool *p,
    const struct mvm_instance *in, enum mvm_state to);

/* Fill `d` with the cost of creating a pool: one pool. */
void mvm_quota_delta_pool_create(struct mvm_quota_delta *d);

/* Fill `d` with the cost of an instance record of `p` (in created). */
void mvm_quota_delta_instance_create(struct mvm_quota_delta *d,
    const struct mvm_pool *p);

/*
 * Would usage `u` plus delta `d` stay within quota `q`? Returns 0, or
 * -EDQUOT for the first quota (in enum order) that a positive part of the
 * delta would exceed, with *which set (`which` may be NULL) and a sentence:
 * "quota max_running=8 exceeded: 8 running now, this start needs 1 more".
 * Disk is compared in MiB against max_disk_gib * 1024.
 */
int mvm_quota_check(const struct mvm_quota *q, const struct mvm_usage *u,
    const struct mvm_quota_delta *d, enum mvm_quota_kind *which,
    struct mvm_error *e);

/* The quota's config key ("max_vcpus", ...), or "unknown". */
const char *mvm_quota_name(enum mvm_quota_kind k);

/* True when `a` and `b` set every one of the seven quotas alike. */
bool mvm_quota_equal(const struct mvm_quota *a, const struct mvm_quota *b);

#endif
