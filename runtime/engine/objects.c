/*
 * objects.c: creating tenants, pools and instances with their checks
 * (see objects.h).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "objects.h"
#include "quota.h"
#include "store.h"
#include "usage.h"

struct netids {
	uint8_t used[4096 / 8];
};

static int
netid_mark(const struct mvm_tenant *t, void *arg)
{
	struct netids *n = arg;

	if (t->net_id < 4096)
		n->used[t->net_id / 8] |= 1u << (t->net_id % 8);
	return 0;
}

int
mvm_objects_free_net_id(struct mvm_store *st, uint16_t *out,
    struct mvm_error *e)
{
	struct netids n;
	int rc, id;

	memset(&n, 0, sizeof(n));
	if ((rc = mvm_store_tenant_list(st, netid_mark, &n, e)) < 0)
		return rc;
	for (id = 0; id < 4096; id++) {
		if (!(n.used[id / 8] & (1u << (id % 8)))) {
			*out = (uint16_t)id;
			return 0;
		}
	}
	return mvm_error_set(e, ENOSPC,
	    "every net_id 0..4095 is taken; no tenant can be added");
}

int
mvm_objects_tenant_create(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e)
{
	if (t->created_at == 0)
		t->created_at = time(NULL);
	return mvm_store_tenant_create(st, t, e);
}

/*
 * Inside an open transaction: check delta `d` for `tenant` (and `pool`,
 * whose instances count as pool_instances) against the tenant's quota.
 */
static int
check(struct mvm_store *st, const char *tenant, const char *pool,
    const struct mvm_quota_delta *d, struct mvm_error *e)
{
	struct mvm_tenant t;
	struct mvm_usage u;
	int rc;

	if ((rc = mvm_store_tenant_get(st, tenant, &t, e)) < 0 ||
	    (rc = mvm_usage_tenant(st, tenant, pool, &u, e)) < 0)
		return rc;
	return mvm_quota_check(&t.quota, &u, d, NULL, e);
}

/* End the transaction: commit after success, roll back after `rc` < 0. */
static int
finish(struct mvm_store *st, int rc, struct mvm_error *e)
{
	if (rc < 0) {
		mvm_store_rollback(st);
		return rc;
	}
	return mvm_store_commit(st, e);
}

int
mvm_objects_tenant_net_check(struct mvm_store *st,
    const struct mvm_tenant *cur, uint16_t net_id, struct mvm_error *e)
{
	int n;

	if (net_id == cur->net_id)
		return 0;
	if ((n = mvm_store_instance_count(st, cur->id, NULL, e)) <= 0)
		return n;
	return mvm_error_set(e, EBUSY, "net_id %u cannot change to %u while "
	    "the tenant has %d instances", cur->net_id, net_id, n);
}

int
mvm_objects_tenant_update(struct mvm_store *st, struct mvm_tenant *t,
    struct mvm_error *e)
{
	struct mvm_tenant cur;
	int rc;

	if ((rc = mvm_store_begin(st, e)) < 0)
		return rc;
	if ((rc = mvm_store_tenant_get(st, t->id, &cur, e)) == 0 &&
	    (rc = mvm_objects_tenant_net_check(st, &cur, t->net_id, e)) == 0)
		rc = mvm_store_tenant_update(st, t, e);
	return finish(st, rc, e);
}

int
mvm_objects_pool_create(struct mvm_store *st, struct mvm_pool *p,
    struct mvm_error *e)
{
	struct mvm_quota_delta d;
	int rc;

	if (p->created_at == 0)
		p->created_at = time(NULL);
	mvm_quota_delta_pool_create(&d);
	if ((rc = mvm_store_begin(st, e)) < 0)
		return rc;
	if ((rc = check(st, p->tenant, NULL, &d, e)) == 0)
		rc = mvm_store_pool_create(st, p, e);
	return finish(st, rc, e);
}

int
mvm_objects_instance_create(struct mvm_store *st, struct mvm_instance *in,
    struct mvm_error *e)
{
	struct mvm_quota_delta d;
	struct mvm_pool p;
	int rc;

	if (in->created_at == 0)
		in->created_at = time(NULL);
	if ((rc = mvm_store_begin(st, e)) < 0)
		return rc;
	if ((rc = mvm_store_pool_get(st, in->tenant, in->pool, &p, e)) == 0) {
		mvm_quota_delta_instance_create(&d, &p);
		if ((rc = check(st, in->tenant, in->pool, &d, e)) == 0)
			rc = mvm_store_instance_create(st, in, e);
	}
	return finish(st, rc, e);
}
