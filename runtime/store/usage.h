/*
 * usage.h: what a tenant uses now, read from the store, for quota checks.
 *
 * Each instance counts what it holds (quota.h): the vcpus and mem_mib it
 * was booted with, not its pool's size now, and the disk its snapshot
 * files use. An instance in the middle of a transition (it has an intent)
 * is counted in its current state plus whatever the transition adds (a
 * start at its pool's size now), so a start that
 * has begun but not finished already holds its vCPUs, memory and running
 * slot, and two starts racing for the last slot cannot both pass.
 */
#ifndef MVM_USAGE_H
#define MVM_USAGE_H

#include "error.h"
#include "quota.h"

struct mvm_store;

/*
 * Fill *u with tenant `tenant`'s use of every quota. pool_instances counts
 * the instances of `pool` (0 when `pool` is NULL). Call it inside a store
 * transaction (mvm_store_begin) when the result decides a write, so nothing
 * changes between the check and the write. Returns 0 or the store's
 * negative errno (-ENOMEM, -EIO).
 */
int mvm_usage_tenant(struct mvm_store *st, const char *tenant,
    const char *pool, struct mvm_usage *u, struct mvm_error *e);

#endif
