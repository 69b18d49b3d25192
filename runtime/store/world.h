/*
 * world.h: a snapshot of the node (or of one tenant) as the store lists it:
 * its tenants, pools and instances copied into three sorted arrays, for
 * code that looks at everything at once (views, the reconciler's periodic
 * pass, the sleep policy, the exported document).
 *
 * The three lists are read in one store transaction, so they agree with
 * each other: every pool's tenant is in the snapshot and every instance's
 * pool is too, even while other threads or processes write.
 *
 * Order: the arrays are sorted by key, byte by byte (strcmp), as the store
 * lists them, so one pool's instances are side by side and the lookups
 * below are binary searches.
 */
#ifndef MVM_WORLD_H
#define MVM_WORLD_H

#include <stddef.h>

#include "error.h"
#include "model.h"

struct mvm_store;

/* mvm_world_load flags. */
#define MVM_WORLD_NO_INSTANCES	0x1	/* tenants and pools only */

struct mvm_world {
	struct mvm_tenant	*tenants;	/* sorted by id */
	size_t			 ntenants;
	struct mvm_pool		*pools;		/* sorted by (tenant, id) */
	size_t			 npools;
	struct mvm_instance	*ins;		/* sorted by (tenant, pool, id) */
	size_t			 nins;
	/* Private: the allocated length of each array. */
	size_t			 tcap, pcap, icap;
};

/*
 * Read tenant `tenant` with its pools and instances into *w, or every
 * tenant, pool and instance of the node when `tenant` is NULL. With
 * MVM_WORLD_NO_INSTANCES in `flags`, w->ins stays empty.
 *
 * The reads run in one store transaction (mvm_store_begin, ended by a
 * rollback since nothing is written), which also holds off other threads
 * of this handle until the read is done. Called inside a transaction the
 * calling thread already has open, the reads join it.
 *
 * Returns 0, or the store's negative errno (store.h), and then *w is empty
 * (all zero); notably -ENOENT when `tenant` does not exist, -EBUSY when
 * another process holds the write lock past the busy timeout, -ENOMEM.
 * On success the arrays belong to *w: release them with mvm_world_free.
 */
int	mvm_world_load(struct mvm_store *st, const char *tenant,
	    unsigned flags, struct mvm_world *w, struct mvm_error *e);

/* Free the arrays of *w and leave it empty. Safe on an empty world. */
void	mvm_world_free(struct mvm_world *w);

/*
 * Lookups by key. Each returns a pointer into w's arrays (valid until
 * mvm_world_free), or NULL when the snapshot has no such object.
 */
const struct mvm_tenant *mvm_world_tenant(const struct mvm_world *w,
	    const char *id);
const struct mvm_pool *mvm_world_pool(const struct mvm_world *w,
	    const char *tenant, const char *id);

/*
 * The pools of tenant `tenant`, or the instances of pool tenant/pool: a
 * contiguous run of the sorted array. Returns how many there are and sets
 * *first to the first of them (NULL when there are none).
 */
size_t	mvm_world_tenant_pools(const struct mvm_world *w, const char *tenant,
	    const struct mvm_pool **first);
size_t	mvm_world_pool_instances(const struct mvm_world *w,
	    const char *tenant, const char *pool,
	    const struct mvm_instance **first);

#endif
