/*
 * objects.h: creating tenants, pools and instances with their checks.
 *
 * The store inserts rows; these functions decide whether a new object may
 * exist, and insert it in the same store transaction as that decision, so
 * two creators racing for the last slot of a quota cannot both pass. mvmfs
 * (mkdir) and the reconciler (desired state) both create through here.
 */
#ifndef MVM_OBJECTS_H
#define MVM_OBJECTS_H

#include "error.h"
#include "model.h"

struct mvm_store;

/*
 * The lowest net_id no tenant holds, into *out. Returns 0, -ENOSPC when
 * all 4096 are taken, or the store's errno.
 */
int mvm_objects_free_net_id(struct mvm_store *st, uint16_t *out,
    struct mvm_error *e);

/*
 * Store tenant *t (id, net_id, quota, uid, gid set by the caller);
 * created_at is set to now when 0. Returns 0 or the store's errno
 * (-EEXIST when the id or the net_id is taken).
 */
int mvm_objects_tenant_create(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e);

/*
 * The rule for a tenant's network, shared by every writer of a tenant (its
 * config file in mvmfs, a fleet document): the net_id, and with it the
 * subnet and gateway, may change only while the tenant has no instance
 * record, since the address, tap and MAC of each instance are functions of
 * it. Returns 0 when `net_id` is cur's or the tenant has no instance;
 * -EBUSY with the sentence "net_id 3 cannot change to 9 while the tenant
 * has 2 instances"; or the store's errno.
 */
int mvm_objects_tenant_net_check(struct mvm_store *st,
    const struct mvm_tenant *cur, uint16_t net_id, struct mvm_error *e);

/*
 * Write tenant *t (read before, its revision unchanged) after checking the
 * network rule against the stored row, in one store transaction, so an
 * instance created meanwhile is counted. Returns 0 (t's revision moves
 * on), -EBUSY (said in e), -ESTALE when the row changed since it was read,
 * -ENOENT, or the store's errno.
 */
int mvm_objects_tenant_update(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e);

/*
 * Store pool *p after checking the tenant's max_pools quota, atomically.
 * created_at is set to now when 0. Returns 0, -EDQUOT (said in e), or the
 * store's errno (-ENOENT no such tenant, -EEXIST).
 */
int mvm_objects_pool_create(struct mvm_store *st, struct mvm_pool *p,
    struct mvm_error *e);

/*
 * Store instance *in (tenant, pool, id set; state created, no process;
 * created_at set to now when 0; ip_offset 0 allocates one) after checking
 * max_instances_per_pool and max_disk_gib, atomically. Returns 0, -EDQUOT
 * (said in e), or the store's errno (-ENOENT, -EEXIST, -ENOSPC no free
 * address in the tenant's /24).
 */
int mvm_objects_instance_create(struct mvm_store *st,
    struct mvm_instance *in, struct mvm_error *e);

#endif
