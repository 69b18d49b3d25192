/* world.c: the node's tenants, pools and instances in one read (world.h). */
#include "world.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

/* Append *item of `size` bytes to *arr, which holds n of *cap. */
static int
append(void *arr, size_t *n, size_t *cap, const void *item, size_t size)
{
	void **p = arr, *np;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap != 0 ? *cap * 2 : 16;
		if ((np = reallocarray(*p, ncap, size)) == NULL)
			return -ENOMEM;
		*p = np;
		*cap = ncap;
	}
	memcpy((char *)*p + *n * size, item, size);
	(*n)++;
	return 0;
}

static int
add_tenant(const struct mvm_tenant *t, void *arg)
{
	struct mvm_world *w = arg;

	return append(&w->tenants, &w->ntenants, &w->tcap, t, sizeof(*t));
}

static int
add_pool(const struct mvm_pool *p, void *arg)
{
	struct mvm_world *w = arg;

	return append(&w->pools, &w->npools, &w->pcap, p, sizeof(*p));
}

static int
add_instance(const struct mvm_instance *in, void *arg)
{
	struct mvm_world *w = arg;

	return append(&w->ins, &w->nins, &w->icap, in, sizeof(*in));
}

/* The three reads, without the transaction around them. */
static int
read_all(struct mvm_store *st, const char *tenant, unsigned flags,
    struct mvm_world *w, struct mvm_error *e)
{
	struct mvm_tenant t;
	int rc;

	if (tenant != NULL) {
		if ((rc = mvm_store_tenant_get(st, tenant, &t, e)) < 0 ||
		    (rc = add_tenant(&t, w)) < 0)
			return rc;
	} else if ((rc = mvm_store_tenant_list(st, add_tenant, w, e)) < 0)
		return rc;
	if ((rc = mvm_store_pool_list(st, tenant, add_pool, w, e)) < 0)
		return rc;
	if ((flags & MVM_WORLD_NO_INSTANCES) == 0 &&
	    (rc = mvm_store_instance_list(st, tenant, NULL, add_instance, w,
	    e)) < 0)
		return rc;
	return 0;
}

int
mvm_world_load(struct mvm_store *st, const char *tenant, unsigned flags,
    struct mvm_world *w, struct mvm_error *e)
{
	struct mvm_error err;
	bool own;
	int rc;

	memset(w, 0, sizeof(*w));
	/*
	 * One transaction, so a pool or instance created or deleted between
	 * two lists cannot make them disagree. -EINVAL means this thread
	 * already has one open, which serves as well.
	 */
	mvm_error_clear(&err);
	rc = mvm_store_begin(st, &err);
	if (rc < 0 && rc != -EINVAL) {
		if (e != NULL)
			*e = err;
		return rc;
	}
	own = rc == 0;
	rc = read_all(st, tenant, flags, w, e);
	if (own)
		mvm_store_rollback(st);
	if (rc < 0) {
		if (rc == -ENOMEM)
			mvm_error_set(e, ENOMEM, "out of memory reading the "
			    "node's tenants, pools and instances");
		mvm_world_free(w);
	}
	return rc;
}

void
mvm_world_free(struct mvm_world *w)
{
	free(w->tenants);
	free(w->pools);
	free(w->ins);
	memset(w, 0, sizeof(*w));
}

/*
 * Orders of an element against a key of one or two ids (k2 NULL: the
 * first only), as the store sorts them.
 */
static int
tenant_cmp(const void *elem, const char *k1, const char *k2)
{
	(void)k2;
	return strcmp(((const struct mvm_tenant *)elem)->id, k1);
}

static int
pool_cmp(const void *elem, const char *k1, const char *k2)
{
	const struct mvm_pool *p = elem;
	int c = strcmp(p->tenant, k1);

	return c != 0 || k2 == NULL ? c : strcmp(p->id, k2);
}

static int
instance_cmp(const void *elem, const char *k1, const char *k2)
{
	const struct mvm_instance *in = elem;
	int c = strcmp(in->tenant, k1);

	return c != 0 ? c : strcmp(in->pool, k2);
}

/*
 * The run of the `n` sorted elements of `size` bytes at `base` that equal
 * the key: sets *start to its first index and returns its length.
 */
static size_t
equal_range(const void *base, size_t n, size_t size,
    int (*cmp)(const void *, const char *, const char *), const char *k1,
    const char *k2, size_t *start)
{
	const char *b = base;
	size_t lo = 0, hi = n, mid, end;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp(b + mid * size, k1, k2) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < n && cmp(b + end * size, k1, k2) == 0; end++)
		;
	*start = lo;
	return end - lo;
}

const struct mvm_tenant *
mvm_world_tenant(const struct mvm_world *w, const char *id)
{
	size_t i;

	if (equal_range(w->tenants, w->ntenants, sizeof(*w->tenants),
	    tenant_cmp, id, NULL, &i) == 0)
		return NULL;
	return &w->tenants[i];
}

const struct mvm_pool *
mvm_world_pool(const struct mvm_world *w, const char *tenant, const char *id)
{
	size_t i;

	if (equal_range(w->pools, w->npools, sizeof(*w->pools), pool_cmp,
	    tenant, id, &i) == 0)
		return NULL;
	return &w->pools[i];
}

size_t
mvm_world_tenant_pools(const struct mvm_world *w, const char *tenant,
    const struct mvm_pool **first)
{
	size_t i, n;

	n = equal_range(w->pools, w->npools, sizeof(*w->pools), pool_cmp,
	    tenant, NULL, &i);
	*first = n > 0 ? &w->pools[i] : NULL;
	return n;
}

size_t
mvm_world_pool_instances(const struct mvm_world *w, const char *tenant,
    const char *pool, const struct mvm_instance **first)
{
	size_t i, n;

	n = equal_range(w->ins, w->nins, sizeof(*w->ins), instance_cmp,
	    tenant, pool, &i);
	*first = n > 0 ? &w->ins[i] : NULL;
	return n;
}
