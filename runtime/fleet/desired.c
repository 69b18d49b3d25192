/*
 * desired.c: the fleet desired-state document, schema v1, with cJSON:
 * parsing, the schema object by object (see desired.h; the pieces are
 * named in desired_int.h).
 */
#include "desired.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "desired_int.h"
#include "names.h"
#include "netplan.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* The most counted of any one state a pool may ask for. */
#define COUNT_MAX	100
/* Runtime policy seconds, as config.c allows them. */
#define POLICY_SECONDS_MAX	86400
#define VCPUS_MIN	1
#define VCPUS_MAX	32
#define MEM_MIB_MIN	16
#define MEM_MIB_MAX	1048576
#define DISK_MIB_MAX	1048576

static const char *const role_names[] = {
	"gateway", "builder", "worker", "capability-imessage",
};
static const char *const seccomp_names[] = { "baseline", "strict" };
static const char *const compression_names[] = { "none", "lz4", "zstd" };
_Static_assert(NELEM(role_names) == MVM_DESIRED_ROLE_COUNT, "roles");
_Static_assert(NELEM(seccomp_names) == MVM_DESIRED_SECCOMP_COUNT, "seccomp");
_Static_assert(NELEM(compression_names) == MVM_DESIRED_COMPRESSION_COUNT,
    "compression");

const char *
mvm_desired_role_name(enum mvm_desired_role r)
{
	return (unsigned)r < NELEM(role_names) ? role_names[r] : "unknown";
}

const char *
mvm_desired_seccomp_name(enum mvm_desired_seccomp s)
{
	return (unsigned)s < NELEM(seccomp_names) ? seccomp_names[s] :
	    "unknown";
}

const char *
mvm_desired_compression_name(enum mvm_desired_compression c)
{
	return (unsigned)c < NELEM(compression_names) ?
	    compression_names[c] : "unknown";
}
/*
 * The schema, object by object.
 */

static int
parse_network(const cJSON *v, const char *path, struct mvm_tenant *t,
    struct mvm_error *e)
{
	static const struct field f[] = {
		{ "tenant_net_id", true },
		{ "ipv4_subnet", true },
	};
	const cJSON *found[NELEM(f)];
	struct mvm_error sub = { 0 };
	char p[PATH_LEN], q[QUOTE_LEN], want[16];
	const char *s;
	uint32_t net_id;
	uint16_t subnet_id;
	int rc;

	if ((rc = mvm_desired_fields(v, path, f, NELEM(f), found, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "tenant_net_id");
	if ((rc = mvm_desired_get_u32(found[0], p, 0, MVM_NET_ID_MAX, &net_id,
	    e)) != 0)
		return rc;
	mvm_desired_child(p, path, "ipv4_subnet");
	if ((rc = mvm_desired_get_string(found[1], p, &s, e)) != 0)
		return rc;
	if (mvm_net_parse_subnet(s, strlen(s), &subnet_id, &sub) != 0)
		return mvm_error_set(e, EINVAL, "%s: %s", p, sub.msg);
	if (subnet_id != net_id) {
		mvm_net_format_ip(mvm_net_subnet((uint16_t)net_id), want);
		return mvm_error_set(e, EINVAL, "%s: %s does not belong to "
		    "tenant_net_id %u, whose subnet is %s/24", p,
		    mvm_desired_quote(q, s), net_id, want);
	}
	t->net_id = (uint16_t)net_id;
	return 0;
}

/* One unsigned member of an object whose members are all unsigned. */
struct u32_field {
	const char	*name;
	bool		 required;
	uint32_t	 lo, hi;
	size_t		 offset;	/* of the uint32_t in the destination */
};

#define U32_OBJECT_MAX	8

/*
 * Parse `v`, an object of the members u[0..n), into the struct at `dst`;
 * an absent optional member keeps the value already there.
 */
static int
parse_u32_object(const cJSON *v, const char *path, const struct u32_field *u,
    size_t n, void *dst, struct mvm_error *e)
{
	struct field f[U32_OBJECT_MAX];
	const cJSON *found[U32_OBJECT_MAX];
	char p[PATH_LEN];
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		f[i] = (struct field){ .name = u[i].name,
		    .required = u[i].required };
	if ((rc = mvm_desired_fields(v, path, f, n, found, e)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (found[i] == NULL)
			continue;
		mvm_desired_child(p, path, u[i].name);
		if ((rc = mvm_desired_get_u32(found[i], p, u[i].lo, u[i].hi,
		    (uint32_t *)((char *)dst + u[i].offset), e)) != 0)
			return rc;
	}
	return 0;
}

#define QUOTA(name)	{ #name, true, 0, UINT32_MAX, \
			    offsetof(struct mvm_quota, name) }
static const struct u32_field quota_fields[] = {
	QUOTA(max_vcpus), QUOTA(max_mem_mib), QUOTA(max_running),
	QUOTA(max_warm), QUOTA(max_pools), QUOTA(max_instances_per_pool),
	QUOTA(max_disk_gib),
};

static const struct u32_field resource_fields[] = {
	{ "vcpus", true, VCPUS_MIN, VCPUS_MAX,
	    offsetof(struct mvm_pool, vcpus) },
	{ "mem_mib", true, MEM_MIB_MIN, MEM_MIB_MAX,
	    offsetof(struct mvm_pool, mem_mib) },
	{ "data_disk_mib", false, 0, DISK_MIB_MAX,
	    offsetof(struct mvm_pool, data_disk_mib) },
};

#define COUNT(name)	{ #name, true, 0, COUNT_MAX, \
			    offsetof(struct mvm_counts, name) }
static const struct u32_field count_fields[] = {
	COUNT(running), COUNT(warm), COUNT(sleeping),
};

/* Every policy field is optional: absent ones keep their defaults. */
#define POLICY(name)	{ #name, false, 0, POLICY_SECONDS_MAX, \
			    offsetof(struct mvm_runtime_policy, name) }
static const struct u32_field policy_fields[] = {
	POLICY(min_running_seconds), POLICY(min_warm_seconds),
	POLICY(drain_timeout_seconds), POLICY(graceful_shutdown_seconds),
};

_Static_assert(NELEM(quota_fields) <= U32_OBJECT_MAX &&
    NELEM(resource_fields) <= U32_OBJECT_MAX &&
    NELEM(count_fields) <= U32_OBJECT_MAX &&
    NELEM(policy_fields) <= U32_OBJECT_MAX, "raise U32_OBJECT_MAX");

enum pool_field {
	PF_POOL_ID, PF_FLAKE_REF, PF_PROFILE, PF_ROLE, PF_RESOURCES,
	PF_COUNTS, PF_POLICY, PF_SECCOMP, PF_COMPRESSION, PF_ROUTING,
	PF_SCOPES, PF_COUNT
};

static int
parse_pool(const cJSON *v, const char *path, const char *tenant,
    struct mvm_desired_pool *dp, struct mvm_error *e)
{
	static const struct field f[PF_COUNT] = {
		[PF_POOL_ID] = { "pool_id", true },
		[PF_FLAKE_REF] = { "flake_ref", true },
		[PF_PROFILE] = { "profile", true },
		[PF_ROLE] = { "role", false },
		[PF_RESOURCES] = { "instance_resources", true },
		[PF_COUNTS] = { "desired_counts", true },
		[PF_POLICY] = { "runtime_policy", false },
		[PF_SECCOMP] = { "seccomp_policy", false },
		[PF_COMPRESSION] = { "snapshot_compression", false },
		[PF_ROUTING] = { "routing_table", false },
		[PF_SCOPES] = { "secret_scopes", false },
	};
	const cJSON *found[PF_COUNT];
	struct mvm_pool *pool = &dp->pool;
	struct mvm_error sub = { 0 };
	char p[PATH_LEN];
	const char *s;
	unsigned u;
	int rc;

	mvm_pool_init(pool);
	snprintf(pool->tenant, sizeof(pool->tenant), "%s", tenant);
	dp->role = MVM_DESIRED_ROLE_WORKER;
	dp->seccomp = MVM_DESIRED_SECCOMP_BASELINE;
	dp->compression = MVM_DESIRED_COMPRESSION_NONE;
	if ((rc = mvm_desired_fields(v, path, f, PF_COUNT, found, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "pool_id");
	if ((rc = mvm_desired_get_id(found[PF_POOL_ID], p, MVM_NAME_POOL,
	    pool->id, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "flake_ref");
	if ((rc = mvm_desired_get_string(found[PF_FLAKE_REF], p, &s, e)) != 0)
		return rc;
	if (s[0] != '\0' && mvm_config_image_check(s, strlen(s), &sub) != 0)
		return mvm_error_set(e, EINVAL, "%s: %s (flake_ref is the "
		    "pool's image reference)", p, sub.msg);
	memcpy(pool->image, s, strlen(s) + 1);
	mvm_desired_child(p, path, "profile");
	if ((rc = mvm_desired_get_token(found[PF_PROFILE], p,
	    MVM_DESIRED_PROFILE_MAX, dp->profile, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "role");
	if (found[PF_ROLE] != NULL) {
		if ((rc = mvm_desired_get_enum(found[PF_ROLE], p, role_names,
		    NELEM(role_names), &u, e)) != 0)
			return rc;
		dp->role = (enum mvm_desired_role)u;
	}
	mvm_desired_child(p, path, "instance_resources");
	pool->data_disk_mib = 0;
	if ((rc = parse_u32_object(found[PF_RESOURCES], p, resource_fields,
	    NELEM(resource_fields), pool, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "desired_counts");
	if ((rc = parse_u32_object(found[PF_COUNTS], p, count_fields,
	    NELEM(count_fields), &pool->desired, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "runtime_policy");
	if (found[PF_POLICY] != NULL &&
	    (rc = parse_u32_object(found[PF_POLICY], p, policy_fields,
	    NELEM(policy_fields), &pool->runtime, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "seccomp_policy");
	if (found[PF_SECCOMP] != NULL) {
		if ((rc = mvm_desired_get_enum(found[PF_SECCOMP], p,
		    seccomp_names, NELEM(seccomp_names), &u, e)) != 0)
			return rc;
		dp->seccomp = (enum mvm_desired_seccomp)u;
	}
	mvm_desired_child(p, path, "snapshot_compression");
	if (found[PF_COMPRESSION] != NULL) {
		if ((rc = mvm_desired_get_enum(found[PF_COMPRESSION], p,
		    compression_names, NELEM(compression_names), &u, e)) != 0)
			return rc;
		dp->compression = (enum mvm_desired_compression)u;
	}
	mvm_desired_child(p, path, "routing_table");
	if (found[PF_ROUTING] != NULL && !cJSON_IsNull(found[PF_ROUTING]))
		return mvm_error_set(e, EINVAL, "%s: must be null; mvm has no "
		    "routing tables", p);
	mvm_desired_child(p, path, "secret_scopes");
	if (found[PF_SCOPES] != NULL && (!cJSON_IsArray(found[PF_SCOPES]) ||
	    found[PF_SCOPES]->child != NULL))
		return mvm_error_set(e, EINVAL, "%s: must be []; mvm delivers "
		    "a tenant's secrets whole and has no secret scopes", p);
	return 0;
}

static int
parse_pools(const cJSON *v, const char *path, struct mvm_desired_tenant *dt,
    struct mvm_error *e)
{
	char p[PATH_LEN], q[QUOTE_LEN], first_path[PATH_LEN];
	const cJSON *c;
	size_t i = 0, first, second;
	int rc;

	if (!cJSON_IsArray(v))
		return mvm_desired_type_error(path, "an array", v, e);
	dt->npools = (size_t)cJSON_GetArraySize(v);
	if (dt->npools > 0 &&
	    (dt->pools = calloc(dt->npools, sizeof(*dt->pools))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for %zu pools",
		    dt->npools);
	cJSON_ArrayForEach(c, v) {
		mvm_desired_element(p, path, i);
		if ((rc = parse_pool(c, p, dt->tenant.id, &dt->pools[i], e)) != 0)
			return rc;
		i++;
	}
	rc = mvm_desired_find_duplicate(dt->pools,
	    offsetof(struct mvm_desired_pool, pool.id), sizeof(*dt->pools),
	    dt->npools, &first, &second);
	if (rc < 0)
		return mvm_error_set(e, -rc, "out of memory checking pool ids");
	if (rc > 0) {
		mvm_desired_element(p, path, second);
		mvm_desired_element(first_path, path, first);
		return mvm_error_set(e, EINVAL, "%s.pool_id: %s is already used "
		    "by %s; pool ids are unique within a tenant", p,
		    mvm_desired_quote(q, dt->pools[second].pool.id),
		    first_path);
	}
	return 0;
}

static int
parse_tenant(const cJSON *v, const char *path, struct mvm_desired_tenant *dt,
    struct mvm_error *e)
{
	static const struct field f[] = {
		{ "tenant_id", true },
		{ "network", true },
		{ "quotas", true },
		{ "secrets_hash", false },
		{ "pools", true },
	};
	const cJSON *found[NELEM(f)];
	char p[PATH_LEN], q[QUOTE_LEN];
	const char *s;
	size_t i;
	int rc;

	mvm_tenant_init(&dt->tenant);
	if ((rc = mvm_desired_fields(v, path, f, NELEM(f), found, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "tenant_id");
	if ((rc = mvm_desired_get_id(found[0], p, MVM_NAME_TENANT,
	    dt->tenant.id, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "network");
	if ((rc = parse_network(found[1], p, &dt->tenant, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "quotas");
	if ((rc = parse_u32_object(found[2], p, quota_fields,
	    NELEM(quota_fields), &dt->tenant.quota, e)) != 0)
		return rc;
	mvm_desired_child(p, path, "secrets_hash");
	if (found[3] != NULL && !cJSON_IsNull(found[3])) {
		if (!cJSON_IsString(found[3]))
			return mvm_desired_type_error(p, "a string or null",
			    found[3], e);
		s = found[3]->valuestring;
		for (i = 0; s[i] != '\0' && s[i] > 0x20 && s[i] < 0x7f; i++)
			;
		if (i == 0 || s[i] != '\0' || i > MVM_DESIRED_HASH_MAX)
			return mvm_error_set(e, EINVAL, "%s: %s must be null or "
			    "1 to %d bytes of printable ASCII without blanks",
			    p, mvm_desired_quote(q, s), MVM_DESIRED_HASH_MAX);
		memcpy(dt->secrets_hash, s, i + 1);
	}
	mvm_desired_child(p, path, "pools");
	return parse_pools(found[4], p, dt, e);
}

static int
parse_tenants(const cJSON *v, struct mvm_desired *d, struct mvm_error *e)
{
	/* For each net_id, 1 + the index of the tenant that has it. */
	uint32_t owner[MVM_NET_ID_MAX + 1];
	char p[PATH_LEN], q[QUOTE_LEN];
	const cJSON *c;
	size_t i = 0, first, second;
	int rc;

	if (!cJSON_IsArray(v))
		return mvm_desired_type_error("tenants", "an array", v, e);
	d->ntenants = (size_t)cJSON_GetArraySize(v);
	if (d->ntenants > 0 &&
	    (d->tenants = calloc(d->ntenants, sizeof(*d->tenants))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for %zu tenants",
		    d->ntenants);
	cJSON_ArrayForEach(c, v) {
		mvm_desired_element(p, "tenants", i);
		if ((rc = parse_tenant(c, p, &d->tenants[i], e)) != 0)
			return rc;
		i++;
	}
	rc = mvm_desired_find_duplicate(d->tenants,
	    offsetof(struct mvm_desired_tenant, tenant.id), sizeof(*d->tenants),
	    d->ntenants, &first, &second);
	if (rc < 0)
		return mvm_error_set(e, -rc, "out of memory checking tenant ids");
	if (rc > 0)
		return mvm_error_set(e, EINVAL, "tenants[%zu].tenant_id: %s is "
		    "already used by tenants[%zu]; tenant ids are unique", second,
		    mvm_desired_quote(q, d->tenants[second].tenant.id), first);
	memset(owner, 0, sizeof(owner));
	for (i = 0; i < d->ntenants; i++) {
		uint16_t id = d->tenants[i].tenant.net_id;

		if (owner[id] != 0)
			return mvm_error_set(e, EINVAL, "tenants[%zu].network."
			    "tenant_net_id: %u is already used by tenants[%zu]; "
			    "each tenant needs its own net_id", i, id,
			    (size_t)owner[id] - 1);
		owner[id] = (uint32_t)i + 1;
	}
	return 0;
}

static int
parse_root(const cJSON *root, struct mvm_desired *d, struct mvm_error *e)
{
	static const struct field f[] = {
		{ "schema_version", true },
		{ "node_id", true },
		{ "tenants", true },
		{ "prune_unknown_tenants", false },
		{ "prune_unknown_pools", false },
	};
	const cJSON *found[NELEM(f)], *version;
	char num[32];
	int rc;

	if (!cJSON_IsObject(root))
		return mvm_desired_type_error("", "an object", root, e);
	/* A document of another version is told so before anything else. */
	version = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	if (cJSON_IsNumber(version) &&
	    version->valuedouble != MVM_DESIRED_SCHEMA_VERSION)
		return mvm_error_set(e, EINVAL, "schema_version: %s is not "
		    "supported; it must be %d", mvm_desired_number(num,
		    version->valuedouble), MVM_DESIRED_SCHEMA_VERSION);
	if ((rc = mvm_desired_fields(root, "", f, NELEM(f), found, e)) != 0)
		return rc;
	if (!cJSON_IsNumber(found[0]))
		return mvm_desired_type_error("schema_version", "an integer",
		    found[0], e);
	if ((rc = mvm_desired_get_token(found[1], "node_id",
	    MVM_DESIRED_NODE_ID_MAX, d->node_id, e)) != 0)
		return rc;
	if (found[3] != NULL && (rc = mvm_desired_get_bool(found[3],
	    "prune_unknown_tenants", &d->prune_unknown_tenants, e)) != 0)
		return rc;
	if (found[4] != NULL && (rc = mvm_desired_get_bool(found[4],
	    "prune_unknown_pools", &d->prune_unknown_pools, e)) != 0)
		return rc;
	return parse_tenants(found[2], d, e);
}

int
mvm_desired_parse(const char *text, size_t len, struct mvm_desired **out,
    struct mvm_error *e)
{
	struct mvm_desired *d = NULL;
	const char *end = NULL;
	cJSON *root = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (len == 0)
		return mvm_error_set(e, EINVAL, "the desired document is empty");
	if (len > MVM_DESIRED_MAX)
		return mvm_error_set(e, EFBIG, "the desired document is %zu "
		    "bytes; the limit is %d", len, MVM_DESIRED_MAX);
	if ((rc = mvm_desired_prescan((const unsigned char *)text, len,
	    e)) != 0)
		return rc;
	if ((root = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL) {
		rc = mvm_error_set(e, EINVAL, "the desired document is not "
		    "valid JSON: syntax error at byte %zu", end != NULL &&
		    end >= text ? (size_t)(end - text) : 0);
		goto out;
	}
	for (i = (size_t)(end - text); i < len; i++) {
		if (strchr(" \t\r\n", text[i]) == NULL) {
			rc = mvm_error_set(e, EINVAL, "the desired document "
			    "has bytes after its JSON value, at byte %zu", i);
			goto out;
		}
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory for the desired "
		    "document");
		goto out;
	}
	if ((rc = parse_root(root, d, e)) != 0)
		goto out;
	*out = d;
	d = NULL;
out:
	mvm_desired_free(d);
	cJSON_Delete(root);
	return rc;
}

void
mvm_desired_free(struct mvm_desired *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->ntenants; i++)
		free(d->tenants[i].pools);
	free(d->tenants);
	free(d);
}
