/*
 * desired.h: the fleet desired-state document, schema v1.
 *
 * This is the JSON a coordinator sends and /mvm/desired holds: every tenant
 * of the node with its network and quotas, and every pool with its image,
 * resources, desired counts and runtime policy. The schema is the original
 * product's (mvm-rust-inventory.md section 9.1), checked strictly:
 *
 *   {
 *     "schema_version": 1,			required, must be 1
 *     "node_id": "node-abc123",		required, see MVM_DESIRED_NODE_ID_MAX
 *     "tenants": [{				required, may be empty
 *       "tenant_id": "acme",			required, names.h rules
 *       "network": {				required
 *         "tenant_net_id": 3,			required, 0..4095
 *         "ipv4_subnet": "10.240.3.0/24"	required, must be net_id's /24
 *       },
 *       "quotas": {"max_vcpus": 16, "max_mem_mib": 32768, "max_running": 8,
 *                  "max_warm": 4, "max_pools": 3,
 *                  "max_instances_per_pool": 10, "max_disk_gib": 100},
 *						required, all seven, 0..4294967295
 *       "secrets_hash": "sha256:abc...",	optional, null (default) or
 *						1..255 bytes of printable ASCII,
 *						no blanks
 *       "pools": [{				required, may be empty
 *         "pool_id": "workers",		required, names.h rules
 *         "flake_ref": "ghcr.io/org/app:1",	required, the pool's image
 *         "profile": "minimal",		required, see below
 *         "role": "worker",			optional: gateway, builder,
 *						worker (default),
 *						capability-imessage
 *         "instance_resources": {		required
 *           "vcpus": 2,			required, 1..32
 *           "mem_mib": 1024,			required, 16..1048576
 *           "data_disk_mib": 2048		optional, 0..1048576, default 0
 *         },
 *         "desired_counts": {"running": 3, "warm": 1, "sleeping": 2},
 *						required, all three, 0..100
 *         "runtime_policy": {			optional; each field optional,
 *           "min_running_seconds": 60,		0..86400, defaults 60, 30,
 *           "min_warm_seconds": 30,		30 and 15 (model.h)
 *           "drain_timeout_seconds": 30,
 *           "graceful_shutdown_seconds": 15
 *         },
 *         "seccomp_policy": "baseline",	optional: baseline (default),
 *						strict
 *         "snapshot_compression": "none",	optional: none (default), lz4,
 *						zstd
 *         "routing_table": null,		optional, only null
 *         "secret_scopes": []			optional, only []
 *       }]
 *     }],
 *     "prune_unknown_tenants": false,		optional booleans, default
 *     "prune_unknown_pools": false		false
 *   }
 *
 * Rules beyond the per-field ones: an unknown field at any level, a field
 * given twice in one object, a tenant id given twice, a pool id given twice
 * within one tenant, and a net_id given to two tenants are all refused.
 * Integers are JSON numbers with an integral value. null stands for an
 * absent field only where the schema says so (secrets_hash, routing_table).
 * The document is at most MVM_DESIRED_MAX bytes of UTF-8 without NUL bytes
 * (escaped \u0000 included), nests at most MVM_DESIRED_DEPTH_MAX arrays and
 * objects deep, and is one JSON value with only white space after it.
 *
 * Mapping to the model. A tenant becomes a struct mvm_tenant (id, net_id,
 * quota; the rest at mvm_tenant_init's defaults) and a pool a struct
 * mvm_pool (tenant, id, image, vcpus, mem_mib, data_disk_mib, desired,
 * runtime; the rest at mvm_pool_init's defaults, so the document never
 * changes a pool's sleep policy or pinning). mvm boots images, not Nix
 * flakes, so `flake_ref` IS the pool's image reference: it must pass
 * mvm_config_image_check (which refuses flake syntax such as
 * "github:org/app?rev=abc", since '?' and '=' are not image bytes), or be
 * "" for "no image yet", as in a pool's config. `profile` and `role` are
 * kept as given for the reconciler (role orders pool creation) and have no
 * effect on the node otherwise; a profile is 1..63 bytes of a-z, A-Z, 0-9,
 * '.', '_' and '-', starting with a letter or digit. secret_scopes and
 * routing_table were never implemented by the original; mvm has neither,
 * so only their empty values are accepted, and a document relying on them
 * is refused instead of half applied. `node_id` is kept as text and never
 * compared with the node's own id (the signed envelope binds the node).
 *
 * Errors name the JSON path of the offending value, then the rule:
 * "tenants[2].pools[0].instance_resources.vcpus: 0 is out of range 1..32".
 */
#ifndef MVM_DESIRED_H
#define MVM_DESIRED_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "model.h"

/* The largest document, in bytes. */
#define MVM_DESIRED_MAX			(4 * 1024 * 1024)
/* The deepest nesting of arrays and objects (the schema needs 6). */
#define MVM_DESIRED_DEPTH_MAX		16
/* The only schema version there is. */
#define MVM_DESIRED_SCHEMA_VERSION	1
/* Longest node id, without the NUL: 1..253 bytes of the profile charset. */
#define MVM_DESIRED_NODE_ID_MAX		253
/* Longest profile, without the NUL. */
#define MVM_DESIRED_PROFILE_MAX		63
/* Longest secrets hash, without the NUL. */
#define MVM_DESIRED_HASH_MAX		255
/* The profile mvm_desired_from_node gives every pool. */
#define MVM_DESIRED_PROFILE_DEFAULT	"minimal"
/* The node id mvm_desired_from_node uses when given NULL. */
#define MVM_DESIRED_NODE_ID_DEFAULT	"local"

/* Pool roles, in the order the original created pools (gateway first). */
enum mvm_desired_role {
	MVM_DESIRED_ROLE_GATEWAY = 0,
	MVM_DESIRED_ROLE_BUILDER,
	MVM_DESIRED_ROLE_WORKER,
	MVM_DESIRED_ROLE_CAPABILITY_IMESSAGE,
	MVM_DESIRED_ROLE_COUNT
};

enum mvm_desired_seccomp {
	MVM_DESIRED_SECCOMP_BASELINE = 0,
	MVM_DESIRED_SECCOMP_STRICT,
	MVM_DESIRED_SECCOMP_COUNT
};

enum mvm_desired_compression {
	MVM_DESIRED_COMPRESSION_NONE = 0,
	MVM_DESIRED_COMPRESSION_LZ4,
	MVM_DESIRED_COMPRESSION_ZSTD,
	MVM_DESIRED_COMPRESSION_COUNT
};

struct mvm_desired_pool {
	struct mvm_pool			pool;	/* pool.tenant is the tenant id */
	char				profile[MVM_DESIRED_PROFILE_MAX + 1];
	enum mvm_desired_role		role;
	enum mvm_desired_seccomp	seccomp;
	enum mvm_desired_compression	compression;
};

struct mvm_desired_tenant {
	struct mvm_tenant	tenant;
	char			secrets_hash[MVM_DESIRED_HASH_MAX + 1]; /* "": null */
	struct mvm_desired_pool	*pools;		/* npools, document order */
	size_t			npools;
};

/* One document. Owns its arrays; release it with mvm_desired_free. */
struct mvm_desired {
	char				node_id[MVM_DESIRED_NODE_ID_MAX + 1];
	struct mvm_desired_tenant	*tenants;	/* document order */
	size_t				ntenants;
	bool				prune_unknown_tenants;
	bool				prune_unknown_pools;
};

/*
 * Parse and validate the `len` bytes at `text` (no NUL terminator needed).
 * On success returns 0 and sets *out to a new document the caller releases
 * with mvm_desired_free. On failure *out is NULL and the return is -EFBIG
 * (longer than MVM_DESIRED_MAX), -ENOMEM, or -EINVAL for everything else
 * (empty input, bad bytes, JSON syntax with the byte offset, too deep, and
 * every schema rule, with the JSON path); `e` gets the sentence.
 */
int mvm_desired_parse(const char *text, size_t len, struct mvm_desired **out,
    struct mvm_error *e);

/* Release `d` and everything it owns. NULL is allowed. */
void mvm_desired_free(struct mvm_desired *d);

/*
 * Render `d` as a schema v1 document: indented JSON with every optional
 * field written out, ending in a newline. *out gets a NUL-terminated,
 * malloc'd string the caller frees with free(3), *len its length. Returns
 * 0 or -ENOMEM. The rendering of a parsed document parses back to an equal
 * one (mvm_desired_equal); rendering invalid values (from a caller that
 * filled the structs by hand) gives a document mvm_desired_parse refuses.
 */
int mvm_desired_render(const struct mvm_desired *d, char **out, size_t *len);

/*
 * Build the document that describes the node as it is (`mvm agent
 * desired`): schema 1, node_id `node_id` (MVM_DESIRED_NODE_ID_DEFAULT when
 * NULL), one entry per tenant in the order given with its net_id, subnet
 * and quotas and no secrets hash, and under it the pools whose `tenant`
 * names it, in the order given, with image as flake_ref, profile
 * MVM_DESIRED_PROFILE_DEFAULT, role worker, resources, desired counts,
 * runtime policy, seccomp baseline and no compression; prune flags false.
 * The tenant and pool structs are copied as they are (pool.tenant
 * included). Returns 0 and sets *out (free with mvm_desired_free), -ENOMEM,
 * or -EINVAL when a pool names a tenant not in `tenants` or node_id breaks
 * the node id rule.
 */
int mvm_desired_from_node(const char *node_id,
    const struct mvm_tenant *tenants, size_t ntenants,
    const struct mvm_pool *pools, size_t npools, struct mvm_desired **out,
    struct mvm_error *e);

/*
 * True when `a` and `b` say the same thing: equal in every field the
 * schema carries (node_id, prune flags, and per tenant and pool every
 * field listed above, in the same order). Fields outside the schema
 * (uid, pinned, revision, sleep policy, ...) are not compared.
 */
bool mvm_desired_equal(const struct mvm_desired *a,
    const struct mvm_desired *b);

/* The schema's spelling of a role, seccomp policy or compression. */
const char *mvm_desired_role_name(enum mvm_desired_role r);
const char *mvm_desired_seccomp_name(enum mvm_desired_seccomp s);
const char *mvm_desired_compression_name(enum mvm_desired_compression c);

#endif
