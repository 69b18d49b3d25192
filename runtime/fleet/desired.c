/* desired.c: the fleet desired-state document, schema v1, with cJSON. */
#include "desired.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "names.h"
#include "netplan.h"
#include "quota.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* Room for the longest JSON path ("tenants[N].pools[N].runtime_policy..."). */
#define PATH_LEN	128
/* Room for a quoted, escaped excerpt of a bad string in a sentence. */
#define QUOTE_LEN	80
/* Bytes of a bad string shown before "...". */
#define QUOTE_SHOWN	40
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
 * Paths and sentences.
 */

static const char *
where(const char *path)
{
	return path[0] != '\0' ? path : "document";
}

/*
 * The path of field `name` or element `i` under `path`. The schema's paths
 * are far shorter than PATH_LEN; should one ever be cut, it ends in '~' so
 * the reader sees that it was.
 */
static void
child(char out[PATH_LEN], const char *path, const char *name)
{
	if (snprintf(out, PATH_LEN, "%s%s%s", path, path[0] != '\0' ? "." :
	    "", name) >= PATH_LEN)
		out[PATH_LEN - 2] = '~';
}

static void
element(char out[PATH_LEN], const char *path, size_t i)
{
	if (snprintf(out, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
		out[PATH_LEN - 2] = '~';
}

/*
 * Write `s` in double quotes, unprintable bytes as \xNN, cut with "..."
 * after QUOTE_SHOWN bytes or when the next byte would not leave room for
 * the "...", the closing quote and the NUL.
 */
static const char *
quote(char out[QUOTE_LEN], const char *s)
{
	size_t n = 0, i;

	out[n++] = '"';
	for (i = 0; s[i] != '\0' && i < QUOTE_SHOWN &&
	    n + 4 + 5 <= QUOTE_LEN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
			n += (size_t)snprintf(out + n, QUOTE_LEN - n, "\\x%02x",
			    c);
		else
			out[n++] = (char)c;
	}
	if (s[i] != '\0') {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

static const char *
type_name(const cJSON *v)
{
	if (cJSON_IsObject(v))
		return "an object";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	return "an invalid value";
}

static int
type_error(const char *path, const char *want, const cJSON *v,
    struct mvm_error *e)
{
	return mvm_error_set(e, EINVAL, "%s: expected %s, got %s", where(path),
	    want, type_name(v));
}

/* Show a JSON number: integers exactly, anything else as %g. */
static const char *
number(char out[32], double d)
{
	if (d >= -1e15 && d <= 1e15 && d == (double)(long long)d)
		snprintf(out, 32, "%lld", (long long)d);
	else
		snprintf(out, 32, "%g", d);
	return out;
}

/*
 * The raw bytes, before cJSON sees them: no NUL bytes (cJSON would stop at
 * one, and an escaped one would silently cut a string short), only valid
 * UTF-8, and no deeper nesting than MVM_DESIRED_DEPTH_MAX.
 */

/* Length of the valid UTF-8 sequence at s[0..n) that starts with a byte
 * >= 0x80, or 0 when it is not one (overlong, surrogate, > U+10FFFF). */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int
prescan(const unsigned char *s, size_t len, struct mvm_error *e)
{
	size_t i = 0, depth = 0, n;
	bool in_string = false;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '\0')
			return mvm_error_set(e, EINVAL, "byte %zu of the "
			    "desired document is a NUL; NUL bytes are not "
			    "allowed", i);
		if (c >= 0x80) {
			if ((n = utf8_len(s + i, len - i)) == 0)
				return mvm_error_set(e, EINVAL, "byte %zu of "
				    "the desired document is not valid UTF-8",
				    i);
			i += n;
			continue;
		}
		if (in_string) {
			if (c == '"')
				in_string = false;
			else if (c == '\\' && i + 1 < len) {
				if (len - i >= 6 &&
				    memcmp(s + i + 1, "u0000", 5) == 0)
					return mvm_error_set(e, EINVAL, "byte "
					    "%zu of the desired document is an "
					    "escaped NUL (\\u0000); NUL bytes are "
					    "not allowed", i);
				/* Skip the escaped byte if it is ASCII. */
				if (s[i + 1] != '\0' && s[i + 1] < 0x80)
					i++;
			}
		} else if (c == '"')
			in_string = true;
		else if (c == '[' || c == '{') {
			if (++depth > MVM_DESIRED_DEPTH_MAX)
				return mvm_error_set(e, EINVAL, "byte %zu of "
				    "the desired document nests deeper than %d "
				    "arrays and objects", i,
				    MVM_DESIRED_DEPTH_MAX);
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
		i++;
	}
	return 0;
}

/*
 * Objects and typed values. Every function takes the JSON path of the value
 * it looks at, so its sentence can name it.
 */

struct field {
	const char	*name;
	bool		 required;
};

static int
unknown_field(const char *path, const char *name, const struct field *f,
    size_t n, struct mvm_error *e)
{
	char known[400], q[QUOTE_LEN];
	size_t len = 0, i;

	known[0] = '\0';
	for (i = 0; i < n && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len,
		    "%s%s", i > 0 ? ", " : "", f[i].name);
	return mvm_error_set(e, EINVAL, "%s: unknown field %s; known fields: "
	    "%s", where(path), quote(q, name), known);
}

/*
 * Check that `obj` is an object whose keys are among f[0..n), each at most
 * once, with every required one present. found[i] gets the value of f[i]
 * or NULL.
 */
static int
fields(const cJSON *obj, const char *path, const struct field *f, size_t n,
    const cJSON **found, struct mvm_error *e)
{
	char p[PATH_LEN];
	const cJSON *c;
	size_t i;

	if (!cJSON_IsObject(obj))
		return type_error(path, "an object", obj, e);
	for (i = 0; i < n; i++)
		found[i] = NULL;
	cJSON_ArrayForEach(c, obj) {
		for (i = 0; i < n && strcmp(c->string, f[i].name) != 0; i++)
			;
		if (i == n)
			return unknown_field(path, c->string, f, n, e);
		if (found[i] != NULL) {
			child(p, path, f[i].name);
			return mvm_error_set(e, EINVAL, "%s: given twice; a "
			    "field may appear only once", p);
		}
		found[i] = c;
	}
	for (i = 0; i < n; i++) {
		if (f[i].required && found[i] == NULL) {
			child(p, path, f[i].name);
			return mvm_error_set(e, EINVAL, "%s: required field is "
			    "missing", p);
		}
	}
	return 0;
}

static int
get_u32(const cJSON *v, const char *path, uint32_t lo, uint32_t hi,
    uint32_t *out, struct mvm_error *e)
{
	char num[32];
	double d;

	if (!cJSON_IsNumber(v))
		return type_error(path, "an integer", v, e);
	d = v->valuedouble;
	if (!(d >= lo && d <= hi))
		return mvm_error_set(e, EINVAL, "%s: %s is out of range %u..%u",
		    path, number(num, d), lo, hi);
	if ((double)(uint32_t)d != d)
		return mvm_error_set(e, EINVAL, "%s: %s is not an integer",
		    path, number(num, d));
	*out = (uint32_t)d;
	return 0;
}

static int
get_bool(const cJSON *v, const char *path, bool *out, struct mvm_error *e)
{
	if (!cJSON_IsBool(v))
		return type_error(path, "a boolean", v, e);
	*out = cJSON_IsTrue(v);
	return 0;
}

static int
get_string(const cJSON *v, const char *path, const char **out,
    struct mvm_error *e)
{
	*out = NULL;
	if (!cJSON_IsString(v))
		return type_error(path, "a string", v, e);
	*out = v->valuestring;
	return 0;
}

/* A string that must be one of names[0..n); *out gets its index. */
static int
get_enum(const cJSON *v, const char *path, const char *const *names,
    size_t n, unsigned *out, struct mvm_error *e)
{
	char q[QUOTE_LEN], list[128];
	const char *s;
	size_t i, len = 0;
	int rc;

	if ((rc = get_string(v, path, &s, e)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (unsigned)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
		    i > 0 ? ", " : "", names[i]);
	return mvm_error_set(e, EINVAL, "%s: %s is not one of %s", path,
	    quote(q, s), list);
}

/* A tenant or pool id by names.h rules, copied into out. */
static int
get_id(const cJSON *v, const char *path, enum mvm_name_kind kind,
    char out[MVM_ID_MAX + 1], struct mvm_error *e)
{
	struct mvm_error sub = { 0 };
	const char *s;
	size_t n;
	int rc;

	if ((rc = get_string(v, path, &s, e)) != 0)
		return rc;
	n = strlen(s);
	if (mvm_names_check(kind, s, n, &sub) != 0)
		return mvm_error_set(e, EINVAL, "%s: %s", path, sub.msg);
	memcpy(out, s, n + 1);
	return 0;
}

static bool
token_byte(char c, bool first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return !first && (c == '.' || c == '_' || c == '-');
}

/* Check a node id or profile: 1..max bytes of the token charset. */
static int
check_token(const char *s, const char *path, size_t max, struct mvm_error *e)
{
	char q[QUOTE_LEN];
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return mvm_error_set(e, EINVAL, "%s: %s must be 1 to %zu bytes "
		    "long", path, quote(q, s), max);
	for (i = 0; i < n; i++)
		if (!token_byte(s[i], i == 0))
			return mvm_error_set(e, EINVAL, "%s: %s has a bad byte "
			    "at offset %zu; allowed are a-z, A-Z, 0-9 and, "
			    "after the first byte, '.', '_' and '-'", path,
			    quote(q, s), i);
	return 0;
}

static int
get_token(const cJSON *v, const char *path, size_t max, char *out,
    struct mvm_error *e)
{
	const char *s;
	int rc;

	if ((rc = get_string(v, path, &s, e)) != 0 ||
	    (rc = check_token(s, path, max, e)) != 0)
		return rc;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/*
 * Duplicates, found by sorting (id, index) pairs, so a document with many
 * tenants or pools stays fast. Reports the pair whose second index is the
 * smallest: the first repetition a reader meets.
 */

struct key {
	const char	*id;
	size_t		 index;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The ids are at offset `off` in each of the n elements of `array`, `stride`
 * bytes apart (array may be NULL when n is 0). Returns 0 when all are
 * distinct, 1 with *first and *second set to a repeated pair, or -ENOMEM.
 */
static int
find_duplicate(const void *array, size_t off, size_t stride, size_t n,
    size_t *first, size_t *second)
{
	struct key *k;
	size_t i;
	int found = 0;

	if (n < 2)
		return 0;
	if ((k = calloc(n, sizeof(*k))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		k[i].id = (const char *)array + i * stride + off;
		k[i].index = i;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(k[i - 1].id, k[i].id) != 0)
			continue;
		if (!found || k[i].index < *second) {
			*first = k[i - 1].index;
			*second = k[i].index;
			found = 1;
		}
	}
	free(k);
	return found;
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

	if ((rc = fields(v, path, f, NELEM(f), found, e)) != 0)
		return rc;
	child(p, path, "tenant_net_id");
	if ((rc = get_u32(found[0], p, 0, MVM_NET_ID_MAX, &net_id, e)) != 0)
		return rc;
	child(p, path, "ipv4_subnet");
	if ((rc = get_string(found[1], p, &s, e)) != 0)
		return rc;
	if (mvm_net_parse_subnet(s, strlen(s), &subnet_id, &sub) != 0)
		return mvm_error_set(e, EINVAL, "%s: %s", p, sub.msg);
	if (subnet_id != net_id) {
		mvm_net_format_ip(mvm_net_subnet((uint16_t)net_id), want);
		return mvm_error_set(e, EINVAL, "%s: %s does not belong to "
		    "tenant_net_id %u, whose subnet is %s/24", p, quote(q, s),
		    net_id, want);
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
	if ((rc = fields(v, path, f, n, found, e)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		if (found[i] == NULL)
			continue;
		child(p, path, u[i].name);
		if ((rc = get_u32(found[i], p, u[i].lo, u[i].hi,
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
	if ((rc = fields(v, path, f, PF_COUNT, found, e)) != 0)
		return rc;
	child(p, path, "pool_id");
	if ((rc = get_id(found[PF_POOL_ID], p, MVM_NAME_POOL, pool->id, e)) != 0)
		return rc;
	child(p, path, "flake_ref");
	if ((rc = get_string(found[PF_FLAKE_REF], p, &s, e)) != 0)
		return rc;
	if (s[0] != '\0' && mvm_config_image_check(s, strlen(s), &sub) != 0)
		return mvm_error_set(e, EINVAL, "%s: %s (flake_ref is the "
		    "pool's image reference)", p, sub.msg);
	memcpy(pool->image, s, strlen(s) + 1);
	child(p, path, "profile");
	if ((rc = get_token(found[PF_PROFILE], p, MVM_DESIRED_PROFILE_MAX,
	    dp->profile, e)) != 0)
		return rc;
	child(p, path, "role");
	if (found[PF_ROLE] != NULL) {
		if ((rc = get_enum(found[PF_ROLE], p, role_names,
		    NELEM(role_names), &u, e)) != 0)
			return rc;
		dp->role = (enum mvm_desired_role)u;
	}
	child(p, path, "instance_resources");
	pool->data_disk_mib = 0;
	if ((rc = parse_u32_object(found[PF_RESOURCES], p, resource_fields,
	    NELEM(resource_fields), pool, e)) != 0)
		return rc;
	child(p, path, "desired_counts");
	if ((rc = parse_u32_object(found[PF_COUNTS], p, count_fields,
	    NELEM(count_fields), &pool->desired, e)) != 0)
		return rc;
	child(p, path, "runtime_policy");
	if (found[PF_POLICY] != NULL &&
	    (rc = parse_u32_object(found[PF_POLICY], p, policy_fields,
	    NELEM(policy_fields), &pool->runtime, e)) != 0)
		return rc;
	child(p, path, "seccomp_policy");
	if (found[PF_SECCOMP] != NULL) {
		if ((rc = get_enum(found[PF_SECCOMP], p, seccomp_names,
		    NELEM(seccomp_names), &u, e)) != 0)
			return rc;
		dp->seccomp = (enum mvm_desired_seccomp)u;
	}
	child(p, path, "snapshot_compression");
	if (found[PF_COMPRESSION] != NULL) {
		if ((rc = get_enum(found[PF_COMPRESSION], p, compression_names,
		    NELEM(compression_names), &u, e)) != 0)
			return rc;
		dp->compression = (enum mvm_desired_compression)u;
	}
	child(p, path, "routing_table");
	if (found[PF_ROUTING] != NULL && !cJSON_IsNull(found[PF_ROUTING]))
		return mvm_error_set(e, EINVAL, "%s: must be null; mvm has no "
		    "routing tables", p);
	child(p, path, "secret_scopes");
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
		return type_error(path, "an array", v, e);
	dt->npools = (size_t)cJSON_GetArraySize(v);
	if (dt->npools > 0 &&
	    (dt->pools = calloc(dt->npools, sizeof(*dt->pools))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for %zu pools",
		    dt->npools);
	cJSON_ArrayForEach(c, v) {
		element(p, path, i);
		if ((rc = parse_pool(c, p, dt->tenant.id, &dt->pools[i], e)) != 0)
			return rc;
		i++;
	}
	rc = find_duplicate(dt->pools, offsetof(struct mvm_desired_pool,
	    pool.id), sizeof(*dt->pools), dt->npools, &first, &second);
	if (rc < 0)
		return mvm_error_set(e, -rc, "out of memory checking pool ids");
	if (rc > 0) {
		element(p, path, second);
		element(first_path, path, first);
		return mvm_error_set(e, EINVAL, "%s.pool_id: %s is already used "
		    "by %s; pool ids are unique within a tenant", p,
		    quote(q, dt->pools[second].pool.id), first_path);
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
	if ((rc = fields(v, path, f, NELEM(f), found, e)) != 0)
		return rc;
	child(p, path, "tenant_id");
	if ((rc = get_id(found[0], p, MVM_NAME_TENANT, dt->tenant.id, e)) != 0)
		return rc;
	child(p, path, "network");
	if ((rc = parse_network(found[1], p, &dt->tenant, e)) != 0)
		return rc;
	child(p, path, "quotas");
	if ((rc = parse_u32_object(found[2], p, quota_fields,
	    NELEM(quota_fields), &dt->tenant.quota, e)) != 0)
		return rc;
	child(p, path, "secrets_hash");
	if (found[3] != NULL && !cJSON_IsNull(found[3])) {
		if (!cJSON_IsString(found[3]))
			return type_error(p, "a string or null", found[3], e);
		s = found[3]->valuestring;
		for (i = 0; s[i] != '\0' && s[i] > 0x20 && s[i] < 0x7f; i++)
			;
		if (i == 0 || s[i] != '\0' || i > MVM_DESIRED_HASH_MAX)
			return mvm_error_set(e, EINVAL, "%s: %s must be null or "
			    "1 to %d bytes of printable ASCII without blanks",
			    p, quote(q, s), MVM_DESIRED_HASH_MAX);
		memcpy(dt->secrets_hash, s, i + 1);
	}
	child(p, path, "pools");
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
		return type_error("tenants", "an array", v, e);
	d->ntenants = (size_t)cJSON_GetArraySize(v);
	if (d->ntenants > 0 &&
	    (d->tenants = calloc(d->ntenants, sizeof(*d->tenants))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for %zu tenants",
		    d->ntenants);
	cJSON_ArrayForEach(c, v) {
		element(p, "tenants", i);
		if ((rc = parse_tenant(c, p, &d->tenants[i], e)) != 0)
			return rc;
		i++;
	}
	rc = find_duplicate(d->tenants, offsetof(struct mvm_desired_tenant,
	    tenant.id), sizeof(*d->tenants), d->ntenants, &first, &second);
	if (rc < 0)
		return mvm_error_set(e, -rc, "out of memory checking tenant ids");
	if (rc > 0)
		return mvm_error_set(e, EINVAL, "tenants[%zu].tenant_id: %s is "
		    "already used by tenants[%zu]; tenant ids are unique", second,
		    quote(q, d->tenants[second].tenant.id), first);
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
		return type_error("", "an object", root, e);
	/* A document of another version is told so before anything else. */
	version = cJSON_GetObjectItemCaseSensitive(root, "schema_version");
	if (cJSON_IsNumber(version) &&
	    version->valuedouble != MVM_DESIRED_SCHEMA_VERSION)
		return mvm_error_set(e, EINVAL, "schema_version: %s is not "
		    "supported; it must be %d", number(num,
		    version->valuedouble), MVM_DESIRED_SCHEMA_VERSION);
	if ((rc = fields(root, "", f, NELEM(f), found, e)) != 0)
		return rc;
	if (!cJSON_IsNumber(found[0]))
		return type_error("schema_version", "an integer", found[0], e);
	if ((rc = get_token(found[1], "node_id", MVM_DESIRED_NODE_ID_MAX,
	    d->node_id, e)) != 0)
		return rc;
	if (found[3] != NULL && (rc = get_bool(found[3],
	    "prune_unknown_tenants", &d->prune_unknown_tenants, e)) != 0)
		return rc;
	if (found[4] != NULL && (rc = get_bool(found[4],
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
	if ((rc = prescan((const unsigned char *)text, len, e)) != 0)
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
	if ((rc = check_token(node_id, "node_id", MVM_DESIRED_NODE_ID_MAX,
	    e)) != 0)
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
