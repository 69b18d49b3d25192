/* usage.c: a tenant's use of its quotas, in-flight transitions included. */
#include "usage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct walk {
	struct mvm_pool		*pools;
	size_t			 npools, cap;
	struct mvm_intent	*intents;
	size_t			 nintents, icap;
	const char		*tenant;
	const char		*pool;
	struct mvm_usage	*u;
};

static int
add_pool(const struct mvm_pool *p, void *arg)
{
	struct walk *w = arg;
	struct mvm_pool *np;

	if (w->npools == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		if ((np = realloc(w->pools, w->cap * sizeof(*np))) == NULL)
			return -ENOMEM;
		w->pools = np;
	}
	w->pools[w->npools++] = *p;
	return 0;
}

static int
add_intent(const struct mvm_intent *it, void *arg)
{
	struct walk *w = arg;
	struct mvm_intent *ni;

	if (strcmp(it->tenant, w->tenant) != 0)
		return 0;
	if (w->nintents == w->icap) {
		w->icap = w->icap ? w->icap * 2 : 8;
		if ((ni = realloc(w->intents, w->icap * sizeof(*ni))) == NULL)
			return -ENOMEM;
		w->intents = ni;
	}
	w->intents[w->nintents++] = *it;
	return 0;
}

/* Add the positive part of a delta: what an in-flight move reserves. */
static void
reserve(struct mvm_usage *u, const struct mvm_quota_delta *d)
{
	u->vcpus += d->vcpus > 0 ? (uint32_t)d->vcpus : 0;
	u->mem_mib += d->mem_mib > 0 ? (uint32_t)d->mem_mib : 0;
	u->running += d->running > 0 ? (uint32_t)d->running : 0;
	u->warm += d->warm > 0 ? (uint32_t)d->warm : 0;
}

static const struct mvm_pool *
pool_of(const struct walk *w, const char *id)
{
	for (size_t i = 0; i < w->npools; i++)
		if (strcmp(w->pools[i].id, id) == 0)
			return &w->pools[i];
	return NULL;
}

/* Add one group of instances, at the size they were booted with. */
static int
add_tally(const struct mvm_store_tally *t, void *arg)
{
	struct walk *w = arg;
	struct mvm_instance in = { .state = t->state, .vcpus = t->vcpus,
	    .mem_mib = t->mem_mib };
	const struct mvm_pool *p;
	uint32_t before = w->u->pool_instances;

	if ((p = pool_of(w, t->pool)) == NULL)
		return 0;
	for (uint32_t i = 0; i < t->count; i++)
		mvm_quota_usage_add_instance(w->u, p, &in);
	if (__builtin_add_overflow(w->u->disk_mib, t->disk_mib,
	    &w->u->disk_mib))
		w->u->disk_mib = UINT64_MAX;
	if (w->pool == NULL || strcmp(t->pool, w->pool) != 0)
		w->u->pool_instances = before;
	return 0;
}

/* Reserve what the in-flight transitions of the tenant's instances add. */
static int
add_intents(struct mvm_store *st, struct walk *w, struct mvm_error *e)
{
	struct mvm_instance in;
	struct mvm_quota_delta d;
	struct mvm_error err;
	const struct mvm_pool *p;
	int rc;

	for (size_t i = 0; i < w->nintents; i++) {
		const struct mvm_intent *it = &w->intents[i];

		if (it->to_state == MVM_STATE_DESTROYED ||
		    (p = pool_of(w, it->pool)) == NULL)
			continue;
		rc = mvm_store_instance_get(st, it->tenant, it->pool,
		    it->instance, &in, &err);
		if (rc == -ENOENT)
			continue;	/* destroyed since the intent was read */
		if (rc < 0) {
			if (e != NULL)
				*e = err;
			return rc;
		}
		mvm_quota_delta_move(&d, p, &in, it->to_state);
		reserve(w->u, &d);
	}
	return 0;
}

int
mvm_usage_tenant(struct mvm_store *st, const char *tenant, const char *pool,
    struct mvm_usage *u, struct mvm_error *e)
{
	struct walk w = { .tenant = tenant, .pool = pool, .u = u };
	int rc;

	memset(u, 0, sizeof(*u));
	if ((rc = mvm_store_pool_list(st, tenant, add_pool, &w, e)) < 0 ||
	    (rc = mvm_store_intent_list(st, add_intent, &w, e)) < 0)
		goto out;
	u->pools = (uint32_t)w.npools;
	if ((rc = mvm_store_instance_tally(st, tenant, add_tally, &w, e)) < 0)
		goto out;
	rc = add_intents(st, &w, e);
out:
	free(w.pools);
	free(w.intents);
	return rc < 0 ? rc : 0;
}
