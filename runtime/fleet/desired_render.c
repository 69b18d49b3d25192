/*
 * desired_render.c: the desired-state document written out (see
 * desired.h; the pieces are named in desired_int.h): rendering to JSON,
 * the node as a document, and equality over the schema's fields.
 */
#include "desired.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired_int.h"
#include "netplan.h"
#include "quota.h"

/*
 * Rendering. cJSON's Add functions return NULL when out of memory; each
 * object is built by one chain of them, and any NULL fails the whole.
 */

static bool
add_u32(cJSON *o, const char *name, uint32_t v)
{
	return cJSON_AddNumberToObject(o, name, v) != NULL;
}

static bool
add_str(cJSON *o, const char *name, const char *s)
{
	return cJSON_AddStringToObject(o, name, s) != NULL;
}

/* The secrets hash, or null when there is none. */
static bool
add_hash(cJSON *o, const char *hash)
{
	if (hash[0] == '\0')
		return cJSON_AddNullToObject(o, "secrets_hash") != NULL;
	return add_str(o, "secrets_hash", hash);
}

static bool
add_pool(cJSON *arr, const struct mvm_desired_pool *dp)
{
	const struct mvm_pool *p = &dp->pool;
	cJSON *o, *r, *c, *pol;

	if ((o = cJSON_CreateObject()) == NULL)
		return false;
	if (!cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	return add_str(o, "pool_id", p->id) &&
	    add_str(o, "flake_ref", p->image) &&
	    add_str(o, "profile", dp->profile) &&
	    add_str(o, "role", mvm_desired_role_name(dp->role)) &&
	    (r = cJSON_AddObjectToObject(o, "instance_resources")) != NULL &&
	    add_u32(r, "vcpus", p->vcpus) &&
	    add_u32(r, "mem_mib", p->mem_mib) &&
	    add_u32(r, "data_disk_mib", p->data_disk_mib) &&
	    (c = cJSON_AddObjectToObject(o, "desired_counts")) != NULL &&
	    add_u32(c, "running", p->desired.running) &&
	    add_u32(c, "warm", p->desired.warm) &&
	    add_u32(c, "sleeping", p->desired.sleeping) &&
	    (pol = cJSON_AddObjectToObject(o, "runtime_policy")) != NULL &&
	    add_u32(pol, "min_running_seconds",
	    p->runtime.min_running_seconds) &&
	    add_u32(pol, "min_warm_seconds", p->runtime.min_warm_seconds) &&
	    add_u32(pol, "drain_timeout_seconds",
	    p->runtime.drain_timeout_seconds) &&
	    add_u32(pol, "graceful_shutdown_seconds",
	    p->runtime.graceful_shutdown_seconds) &&
	    add_str(o, "seccomp_policy", mvm_desired_seccomp_name(dp->seccomp))
	    && add_str(o, "snapshot_compression",
	    mvm_desired_compression_name(dp->compression)) &&
	    cJSON_AddNullToObject(o, "routing_table") != NULL &&
	    cJSON_AddArrayToObject(o, "secret_scopes") != NULL;
}

static bool
add_tenant(cJSON *arr, const struct mvm_desired_tenant *dt)
{
	const struct mvm_tenant *t = &dt->tenant;
	const struct mvm_quota *q = &t->quota;
	cJSON *o, *n, *qo, *pools;
	char subnet[16 + 3];
	size_t i;

	mvm_net_format_ip(mvm_net_subnet(t->net_id), subnet);
	strcat(subnet, "/24");
	if ((o = cJSON_CreateObject()) == NULL)
		return false;
	if (!cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return false;
	}
	if (!add_str(o, "tenant_id", t->id) ||
	    (n = cJSON_AddObjectToObject(o, "network")) == NULL ||
	    !add_u32(n, "tenant_net_id", t->net_id) ||
	    !add_str(n, "ipv4_subnet", subnet) ||
	    (qo = cJSON_AddObjectToObject(o, "quotas")) == NULL ||
	    !add_u32(qo, "max_vcpus", q->max_vcpus) ||
	    !add_u32(qo, "max_mem_mib", q->max_mem_mib) ||
	    !add_u32(qo, "max_running", q->max_running) ||
	    !add_u32(qo, "max_warm", q->max_warm) ||
	    !add_u32(qo, "max_pools", q->max_pools) ||
	    !add_u32(qo, "max_instances_per_pool", q->max_instances_per_pool) ||
	    !add_u32(qo, "max_disk_gib", q->max_disk_gib) ||
	    !add_hash(o, dt->secrets_hash) ||
	    (pools = cJSON_AddArrayToObject(o, "pools")) == NULL)
		return false;
	for (i = 0; i < dt->npools; i++)
		if (!add_pool(pools, &dt->pools[i]))
			return false;
	return true;
}

int
mvm_desired_render(const struct mvm_desired *d, char **out, size_t *len)
{
	cJSON *root, *tenants;
	char *text = NULL;
	size_t i, n;
	int rc = -ENOMEM;

	*out = NULL;
	*len = 0;
	if ((root = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	if (!add_u32(root, "schema_version", MVM_DESIRED_SCHEMA_VERSION) ||
	    !add_str(root, "node_id", d->node_id) ||
	    (tenants = cJSON_AddArrayToObject(root, "tenants")) == NULL)
		goto out;
	for (i = 0; i < d->ntenants; i++)
		if (!add_tenant(tenants, &d->tenants[i]))
			goto out;
	if (cJSON_AddBoolToObject(root, "prune_unknown_tenants",
	    d->prune_unknown_tenants) == NULL ||
	    cJSON_AddBoolToObject(root, "prune_unknown_pools",
	    d->prune_unknown_pools) == NULL ||
	    (text = cJSON_Print(root)) == NULL)
		goto out;
	n = strlen(text);
	if ((*out = malloc(n + 2)) == NULL)
		goto out;
	memcpy(*out, text, n);
	(*out)[n] = '\n';
	(*out)[n + 1] = '\0';
	*len = n + 1;
	rc = 0;
out:
	cJSON_free(text);
	cJSON_Delete(root);
	return rc;
}

/*
 * The node as a document.
 */

int
mvm_desired_from_node(const char *node_id, const struct mvm_tenant *tenants,
    size_t ntenants, const struct mvm_pool *pools, size_t npools,
    struct mvm_desired **out, struct mvm_error *e)
{
	struct mvm_desired *d = NULL;
	size_t *owner = NULL, i, t;
	int rc;

	*out = NULL;
	if (node_id == NULL)
		node_id = MVM_DESIRED_NODE_ID_DEFAULT;
	if ((rc = mvm_desired_check_token(node_id, "node_id",
	    MVM_DESIRED_NODE_ID_MAX, e)) != 0)
		return rc;
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (ntenants > 0 && (d->tenants = calloc(ntenants,
	    sizeof(*d->tenants))) == NULL) ||
	    (npools > 0 && (owner = calloc(npools, sizeof(*owner))) == NULL))
		goto nomem;
	memcpy(d->node_id, node_id, strlen(node_id) + 1);
	d->ntenants = ntenants;
	for (i = 0; i < npools; i++) {
		for (t = 0; t < ntenants &&
		    strcmp(pools[i].tenant, tenants[t].id) != 0; t++)
			;
		if (t == ntenants) {
			rc = mvm_error_set(e, EINVAL, "pool \"%s/%s\" names a "
			    "tenant that is not among the node's tenants",
			    pools[i].tenant, pools[i].id);
			goto fail;
		}
		owner[i] = t;
		d->tenants[t].npools++;
	}
	for (t = 0; t < ntenants; t++) {
		d->tenants[t].tenant = tenants[t];
		if (d->tenants[t].npools > 0 && (d->tenants[t].pools =
		    calloc(d->tenants[t].npools, sizeof(struct mvm_desired_pool)))
		    == NULL)
			goto nomem;
		d->tenants[t].npools = 0;
	}
	for (i = 0; i < npools; i++) {
		struct mvm_desired_tenant *dt = &d->tenants[owner[i]];
		struct mvm_desired_pool *dp = &dt->pools[dt->npools++];

		dp->pool = pools[i];
		snprintf(dp->profile, sizeof(dp->profile), "%s",
		    MVM_DESIRED_PROFILE_DEFAULT);
		dp->role = MVM_DESIRED_ROLE_WORKER;
		dp->seccomp = MVM_DESIRED_SECCOMP_BASELINE;
		dp->compression = MVM_DESIRED_COMPRESSION_NONE;
	}
	free(owner);
	*out = d;
	return 0;
nomem:
	rc = mvm_error_set(e, ENOMEM, "out of memory for the desired document");
fail:
	free(owner);
	mvm_desired_free(d);
	return rc;
}

/*
 * Equality over the schema's fields.
 */

static bool
pool_equal(const struct mvm_desired_pool *a, const struct mvm_desired_pool *b)
{
	const struct mvm_pool *x = &a->pool, *y = &b->pool;

	return strcmp(x->tenant, y->tenant) == 0 && strcmp(x->id, y->id) == 0 &&
	    strcmp(x->image, y->image) == 0 &&
	    strcmp(a->profile, b->profile) == 0 && a->role == b->role &&
	    x->vcpus == y->vcpus && x->mem_mib == y->mem_mib &&
	    x->data_disk_mib == y->data_disk_mib &&
	    x->desired.running == y->desired.running &&
	    x->desired.warm == y->desired.warm &&
	    x->desired.sleeping == y->desired.sleeping &&
	    x->runtime.min_running_seconds == y->runtime.min_running_seconds &&
	    x->runtime.min_warm_seconds == y->runtime.min_warm_seconds &&
	    x->runtime.drain_timeout_seconds ==
	    y->runtime.drain_timeout_seconds &&
	    x->runtime.graceful_shutdown_seconds ==
	    y->runtime.graceful_shutdown_seconds &&
	    a->seccomp == b->seccomp && a->compression == b->compression;
}

static bool
tenant_equal(const struct mvm_desired_tenant *a,
    const struct mvm_desired_tenant *b)
{
	size_t i;

	if (strcmp(a->tenant.id, b->tenant.id) != 0 ||
	    a->tenant.net_id != b->tenant.net_id ||
	    !mvm_quota_equal(&a->tenant.quota, &b->tenant.quota) ||
	    strcmp(a->secrets_hash, b->secrets_hash) != 0 ||
	    a->npools != b->npools)
		return false;
	for (i = 0; i < a->npools; i++)
		if (!pool_equal(&a->pools[i], &b->pools[i]))
			return false;
	return true;
}

bool
mvm_desired_equal(const struct mvm_desired *a, const struct mvm_desired *b)
{
	size_t i;

	if (strcmp(a->node_id, b->node_id) != 0 ||
	    a->prune_unknown_tenants != b->prune_unknown_tenants ||
	    a->prune_unknown_pools != b->prune_unknown_pools ||
	    a->ntenants != b->ntenants)
		return false;
	for (i = 0; i < a->ntenants; i++)
		if (!tenant_equal(&a->tenants[i], &b->tenants[i]))
			return false;
	return true;
}
