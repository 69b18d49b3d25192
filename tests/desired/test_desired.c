/*
 * test_desired.c: the fleet desired-state document: valid documents, every
 * field invalid in turn, unknown and repeated fields, bad bytes, size and
 * depth limits, duplicates, rendering and the round trip.
 */
#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"

/* The smallest document with one tenant and one pool: only required fields. */
static const char minimal[] =
    "{\"schema_version\":1,\"node_id\":\"n1\",\"tenants\":[{"
    "\"tenant_id\":\"acme\","
    "\"network\":{\"tenant_net_id\":3,\"ipv4_subnet\":\"10.240.3.0/24\"},"
    "\"quotas\":{\"max_vcpus\":16,\"max_mem_mib\":32768,\"max_running\":8,"
    "\"max_warm\":4,\"max_pools\":3,\"max_instances_per_pool\":10,"
    "\"max_disk_gib\":100},"
    "\"pools\":[{\"pool_id\":\"workers\",\"flake_ref\":\"ghcr.io/org/app:1\","
    "\"profile\":\"minimal\","
    "\"instance_resources\":{\"vcpus\":2,\"mem_mib\":1024},"
    "\"desired_counts\":{\"running\":3,\"warm\":1,\"sleeping\":2}}]}]}";

/* Every field given, two tenants, the first with two pools. */
static const char full[] =
    "{\n"
    "  \"schema_version\": 1,\n"
    "  \"node_id\": \"node-abc123\",\n"
    "  \"tenants\": [{\n"
    "    \"tenant_id\": \"acme\",\n"
    "    \"network\": {\"tenant_net_id\": 3, \"ipv4_subnet\": \"10.240.3.0/24\"},\n"
    "    \"quotas\": {\"max_vcpus\": 16, \"max_mem_mib\": 32768, \"max_running\": 8,\n"
    "               \"max_warm\": 4, \"max_pools\": 3, \"max_instances_per_pool\": 10,\n"
    "               \"max_disk_gib\": 100},\n"
    "    \"secrets_hash\": \"sha256:abc\",\n"
    "    \"pools\": [{\n"
    "      \"pool_id\": \"workers\", \"flake_ref\": \"ghcr.io/org/worker@sha256:ab\",\n"
    "      \"profile\": \"minimal\", \"role\": \"builder\",\n"
    "      \"instance_resources\": {\"vcpus\": 2, \"mem_mib\": 1024, \"data_disk_mib\": 2048},\n"
    "      \"desired_counts\": {\"running\": 3, \"warm\": 1, \"sleeping\": 2},\n"
    "      \"runtime_policy\": {\"min_running_seconds\": 61, \"min_warm_seconds\": 31,\n"
    "                         \"drain_timeout_seconds\": 32, \"graceful_shutdown_seconds\": 16},\n"
    "      \"seccomp_policy\": \"strict\", \"snapshot_compression\": \"zstd\",\n"
    "      \"routing_table\": null, \"secret_scopes\": []\n"
    "    }, {\n"
    "      \"pool_id\": \"gw\", \"flake_ref\": \"\", \"profile\": \"edge_1.0\",\n"
    "      \"role\": \"gateway\",\n"
    "      \"instance_resources\": {\"vcpus\": 32, \"mem_mib\": 1048576},\n"
    "      \"desired_counts\": {\"running\": 100, \"warm\": 0, \"sleeping\": 0},\n"
    "      \"runtime_policy\": {\"min_warm_seconds\": 0},\n"
    "      \"snapshot_compression\": \"lz4\"\n"
    "    }]\n"
    "  }, {\n"
    "    \"tenant_id\": \"beta\",\n"
    "    \"network\": {\"tenant_net_id\": 4095, \"ipv4_subnet\": \"10.255.255.0/24\"},\n"
    "    \"quotas\": {\"max_vcpus\": 4294967295, \"max_mem_mib\": 0, \"max_running\": 0,\n"
    "               \"max_warm\": 0, \"max_pools\": 0, \"max_instances_per_pool\": 0,\n"
    "               \"max_disk_gib\": 0},\n"
    "    \"secrets_hash\": null,\n"
    "    \"pools\": []\n"
    "  }],\n"
    "  \"prune_unknown_tenants\": true, \"prune_unknown_pools\": true\n"
    "}\n";

static struct mvm_desired *
parse_ok(const char *text, size_t len)
{
	struct mvm_error e = { 0 };
	struct mvm_desired *d = NULL;
	int rc = mvm_desired_parse(text, len, &d, &e);

	cr_assert_eq(rc, 0, "refused (%d): %s", rc, e.msg);
	cr_assert_not_null(d);
	return d;
}

/* Parse, expect failure with errno `code` and a sentence starting `want`. */
static void
parse_fails(const char *text, size_t len, int code, const char *want)
{
	struct mvm_error e = { 0 };
	struct mvm_desired *d = (struct mvm_desired *)&e;
	int rc = mvm_desired_parse(text, len, &d, &e);

	cr_assert_eq(rc, -code, "rc %d, want %d, for: %.200s (msg: %s)", rc,
	    -code, text, e.msg);
	cr_assert_null(d);
	cr_assert_eq(e.code, code);
	cr_assert(strncmp(e.msg, want, strlen(want)) == 0,
	    "message\n  %s\ndoes not start with\n  %s", e.msg, want);
}

/* parse_fails on a string literal without NUL bytes. */
#define S_FAILS(lit, code, want) parse_fails(lit, strlen(lit), code, want)

Test(desired, minimal_document_gets_the_defaults)
{
	struct mvm_desired *d = parse_ok(minimal, strlen(minimal));
	const struct mvm_desired_tenant *t;
	const struct mvm_desired_pool *p;

	cr_assert_str_eq(d->node_id, "n1");
	cr_assert(!d->prune_unknown_tenants && !d->prune_unknown_pools);
	cr_assert_eq(d->ntenants, 1);
	t = &d->tenants[0];
	cr_assert_str_eq(t->tenant.id, "acme");
	cr_assert_eq(t->tenant.net_id, 3);
	cr_assert_eq(t->tenant.quota.max_vcpus, 16);
	cr_assert_eq(t->tenant.quota.max_mem_mib, 32768);
	cr_assert_eq(t->tenant.quota.max_running, 8);
	cr_assert_eq(t->tenant.quota.max_warm, 4);
	cr_assert_eq(t->tenant.quota.max_pools, 3);
	cr_assert_eq(t->tenant.quota.max_instances_per_pool, 10);
	cr_assert_eq(t->tenant.quota.max_disk_gib, 100);
	cr_assert_str_eq(t->secrets_hash, "");
	cr_assert_eq(t->npools, 1);
	p = &t->pools[0];
	cr_assert_str_eq(p->pool.tenant, "acme");
	cr_assert_str_eq(p->pool.id, "workers");
	cr_assert_str_eq(p->pool.image, "ghcr.io/org/app:1");
	cr_assert_str_eq(p->profile, "minimal");
	cr_assert_eq(p->role, MVM_DESIRED_ROLE_WORKER);
	cr_assert_eq(p->pool.vcpus, 2);
	cr_assert_eq(p->pool.mem_mib, 1024);
	cr_assert_eq(p->pool.data_disk_mib, 0);
	cr_assert_eq(p->pool.desired.running, 3);
	cr_assert_eq(p->pool.desired.warm, 1);
	cr_assert_eq(p->pool.desired.sleeping, 2);
	cr_assert_eq(p->pool.runtime.min_running_seconds, 60);
	cr_assert_eq(p->pool.runtime.min_warm_seconds, 30);
	cr_assert_eq(p->pool.runtime.drain_timeout_seconds, 30);
	cr_assert_eq(p->pool.runtime.graceful_shutdown_seconds, 15);
	cr_assert_eq(p->seccomp, MVM_DESIRED_SECCOMP_BASELINE);
	cr_assert_eq(p->compression, MVM_DESIRED_COMPRESSION_NONE);
	/* Fields outside the schema keep the model's defaults. */
	cr_assert_eq(p->pool.sleep.warm_after_idle_seconds, 300);
	cr_assert_eq(p->pool.sleep.sleep_after_idle_seconds, 900);
	cr_assert(!p->pool.pinned && !t->tenant.pinned);
	mvm_desired_free(d);
}

Test(desired, full_document_keeps_every_field)
{
	struct mvm_desired *d = parse_ok(full, strlen(full));
	const struct mvm_desired_pool *w, *g;
	const struct mvm_desired_tenant *b;

	cr_assert_str_eq(d->node_id, "node-abc123");
	cr_assert(d->prune_unknown_tenants && d->prune_unknown_pools);
	cr_assert_eq(d->ntenants, 2);
	cr_assert_str_eq(d->tenants[0].secrets_hash, "sha256:abc");
	cr_assert_eq(d->tenants[0].npools, 2);
	w = &d->tenants[0].pools[0];
	cr_assert_str_eq(w->pool.image, "ghcr.io/org/worker@sha256:ab");
	cr_assert_eq(w->role, MVM_DESIRED_ROLE_BUILDER);
	cr_assert_eq(w->pool.data_disk_mib, 2048);
	cr_assert_eq(w->pool.runtime.min_running_seconds, 61);
	cr_assert_eq(w->pool.runtime.min_warm_seconds, 31);
	cr_assert_eq(w->pool.runtime.drain_timeout_seconds, 32);
	cr_assert_eq(w->pool.runtime.graceful_shutdown_seconds, 16);
	cr_assert_eq(w->seccomp, MVM_DESIRED_SECCOMP_STRICT);
	cr_assert_eq(w->compression, MVM_DESIRED_COMPRESSION_ZSTD);
	g = &d->tenants[0].pools[1];
	cr_assert_str_eq(g->pool.id, "gw");
	cr_assert_str_eq(g->pool.image, "");
	cr_assert_str_eq(g->profile, "edge_1.0");
	cr_assert_eq(g->role, MVM_DESIRED_ROLE_GATEWAY);
	cr_assert_eq(g->pool.vcpus, 32);
	cr_assert_eq(g->pool.mem_mib, 1048576);
	cr_assert_eq(g->pool.desired.running, 100);
	/* A partial policy keeps the defaults of the fields it leaves out. */
	cr_assert_eq(g->pool.runtime.min_warm_seconds, 0);
	cr_assert_eq(g->pool.runtime.min_running_seconds, 60);
	cr_assert_eq(g->compression, MVM_DESIRED_COMPRESSION_LZ4);
	cr_assert_eq(g->seccomp, MVM_DESIRED_SECCOMP_BASELINE);
	b = &d->tenants[1];
	cr_assert_str_eq(b->tenant.id, "beta");
	cr_assert_eq(b->tenant.net_id, 4095);
	cr_assert_eq(b->tenant.quota.max_vcpus, 4294967295u);
	cr_assert_eq(b->tenant.quota.max_disk_gib, 0);
	cr_assert_str_eq(b->secrets_hash, "");
	cr_assert_eq(b->npools, 0);
	cr_assert_null(b->pools);
	mvm_desired_free(d);
}

Test(desired, empty_tenant_list_and_integral_exponents)
{
	const char *doc = "{\"schema_version\":1e0,\"node_id\":\"x\","
	    "\"tenants\":[]}";
	struct mvm_desired *d = parse_ok(doc, strlen(doc));

	cr_assert_eq(d->ntenants, 0);
	cr_assert_null(d->tenants);
	mvm_desired_free(d);
}

/*
 * One change to the full document: at `path` (dot-separated keys and array
 * indexes) put the JSON `value`, or remove the field when value is NULL.
 * A missing last key is added, so unknown fields go in the same way.
 */
struct mutation {
	const char	*path;
	const char	*value;
	const char	*want;	/* start of the sentence */
};

static char *
mutate(const char *doc, const char *path, const char *value)
{
	cJSON *root = cJSON_Parse(doc), *at = root, *v = NULL;
	char buf[256], *save = NULL, *tok, *next, *out;

	cr_assert_not_null(root);
	snprintf(buf, sizeof(buf), "%s", path);
	tok = strtok_r(buf, ".", &save);
	while ((next = strtok_r(NULL, ".", &save)) != NULL) {
		at = cJSON_IsArray(at) ? cJSON_GetArrayItem(at, atoi(tok)) :
		    cJSON_GetObjectItemCaseSensitive(at, tok);
		cr_assert_not_null(at, "no %s in %s", tok, path);
		tok = next;
	}
	if (value != NULL) {
		v = cJSON_Parse(value);
		cr_assert_not_null(v, "bad test value %s", value);
	}
	if (cJSON_IsArray(at)) {
		cr_assert_not_null(v);
		cr_assert(cJSON_ReplaceItemInArray(at, atoi(tok), v));
	} else if (v == NULL)
		cJSON_DeleteItemFromObjectCaseSensitive(at, tok);
	else if (cJSON_GetObjectItemCaseSensitive(at, tok) != NULL)
		cr_assert(cJSON_ReplaceItemInObjectCaseSensitive(at, tok, v));
	else
		cr_assert(cJSON_AddItemToObject(at, tok, v));
	out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	cr_assert_not_null(out);
	return out;
}

static void
run_mutations(const struct mutation *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *doc = mutate(full, m[i].path, m[i].value);

		parse_fails(doc, strlen(doc), EINVAL, m[i].want);
		free(doc);
	}
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define P0 "tenants.0.pools.0."
#define R0 "tenants[0].pools[0]."

Test(desired, each_field_invalid_in_turn)
{
	static const struct mutation m[] = {
		/* Root. */
		{ "schema_version", "2",
		    "schema_version: 2 is not supported; it must be 1" },
		{ "schema_version", "0",
		    "schema_version: 0 is not supported; it must be 1" },
		{ "schema_version", "1.5",
		    "schema_version: 1.5 is not supported; it must be 1" },
		{ "schema_version", "\"1\"",
		    "schema_version: expected an integer, got a string" },
		{ "schema_version", NULL,
		    "schema_version: required field is missing" },
		{ "node_id", NULL, "node_id: required field is missing" },
		{ "node_id", "\"\"", "node_id: \"\" must be 1 to 253 bytes" },
		{ "node_id", "\"-x\"", "node_id: \"-x\" has a bad byte at "
		    "offset 0" },
		{ "node_id", "\"a b\"", "node_id: \"a b\" has a bad byte at "
		    "offset 1" },
		{ "node_id", "7", "node_id: expected a string, got a number" },
		{ "tenants", NULL, "tenants: required field is missing" },
		{ "tenants", "{}", "tenants: expected an array, got an object" },
		{ "tenants", "null", "tenants: expected an array, got null" },
		{ "prune_unknown_tenants", "1",
		    "prune_unknown_tenants: expected a boolean, got a number" },
		{ "prune_unknown_pools", "\"true\"",
		    "prune_unknown_pools: expected a boolean, got a string" },
		/* Tenant. */
		{ "tenants.0", "[]",
		    "tenants[0]: expected an object, got an array" },
		{ "tenants.0.tenant_id", NULL,
		    "tenants[0].tenant_id: required field is missing" },
		{ "tenants.0.tenant_id", "\"Acme\"",
		    "tenants[0].tenant_id: tenant id \"Acme\"" },
		{ "tenants.0.tenant_id", "\"status\"",
		    "tenants[0].tenant_id: tenant id \"status\"" },
		{ "tenants.0.tenant_id", "\"a234567890123456789012345678901234"
		    "5678901234567890123456789012345\"",
		    "tenants[0].tenant_id: tenant id" },
		{ "tenants.0.network", NULL,
		    "tenants[0].network: required field is missing" },
		{ "tenants.0.network.tenant_net_id", "4096",
		    "tenants[0].network.tenant_net_id: 4096 is out of range "
		    "0..4095" },
		{ "tenants.0.network.tenant_net_id", "-1",
		    "tenants[0].network.tenant_net_id: -1 is out of range "
		    "0..4095" },
		{ "tenants.0.network.tenant_net_id", "2.5",
		    "tenants[0].network.tenant_net_id: 2.5 is not an integer" },
		{ "tenants.0.network.tenant_net_id", NULL,
		    "tenants[0].network.tenant_net_id: required field is "
		    "missing" },
		{ "tenants.0.network.ipv4_subnet", "\"10.240.4.0/24\"",
		    "tenants[0].network.ipv4_subnet: \"10.240.4.0/24\" does not "
		    "belong to tenant_net_id 3, whose subnet is "
		    "10.240.3.0/24" },
		{ "tenants.0.network.ipv4_subnet", "\"10.240.3.0/16\"",
		    "tenants[0].network.ipv4_subnet: " },
		{ "tenants.0.network.ipv4_subnet", "\"192.168.3.0/24\"",
		    "tenants[0].network.ipv4_subnet: " },
		{ "tenants.0.network.ipv4_subnet", "3",
		    "tenants[0].network.ipv4_subnet: expected a string, got a "
		    "number" },
		{ "tenants.0.quotas", "null",
		    "tenants[0].quotas: expected an object, got null" },
		{ "tenants.0.quotas.max_vcpus", "4294967296",
		    "tenants[0].quotas.max_vcpus: 4294967296 is out of range "
		    "0..4294967295" },
		{ "tenants.0.quotas.max_mem_mib", "-1",
		    "tenants[0].quotas.max_mem_mib: -1 is out of range "
		    "0..4294967295" },
		{ "tenants.0.quotas.max_running", "true",
		    "tenants[0].quotas.max_running: expected an integer, got a "
		    "boolean" },
		{ "tenants.0.quotas.max_warm", NULL,
		    "tenants[0].quotas.max_warm: required field is missing" },
		{ "tenants.0.quotas.max_pools", "0.5",
		    "tenants[0].quotas.max_pools: 0.5 is not an integer" },
		{ "tenants.0.quotas.max_instances_per_pool", NULL,
		    "tenants[0].quotas.max_instances_per_pool: required field "
		    "is missing" },
		{ "tenants.0.quotas.max_disk_gib", "1e300",
		    "tenants[0].quotas.max_disk_gib: 1e+300 is out of range" },
		{ "tenants.0.secrets_hash", "\"\"",
		    "tenants[0].secrets_hash: \"\" must be null or 1 to 255 "
		    "bytes" },
		{ "tenants.0.secrets_hash", "\"sha256: x\"",
		    "tenants[0].secrets_hash: \"sha256: x\" must be null" },
		{ "tenants.0.secrets_hash", "5",
		    "tenants[0].secrets_hash: expected a string or null, got a "
		    "number" },
		{ "tenants.0.pools", NULL,
		    "tenants[0].pools: required field is missing" },
		{ "tenants.0.pools", "{}",
		    "tenants[0].pools: expected an array, got an object" },
		/* Pool. */
		{ "tenants.0.pools.0", "3",
		    "tenants[0].pools[0]: expected an object, got a number" },
		{ P0 "pool_id", NULL, R0 "pool_id: required field is missing" },
		{ P0 "pool_id", "\"-w\"", R0 "pool_id: pool id \"-w\"" },
		{ P0 "pool_id", "\"\"", R0 "pool_id: pool id" },
		{ P0 "flake_ref", NULL,
		    R0 "flake_ref: required field is missing" },
		{ P0 "flake_ref", "\"github:org/app?rev=abc\"", R0 "flake_ref: " },
		{ P0 "flake_ref", "\"/abs\"", R0 "flake_ref: " },
		{ P0 "flake_ref", "null",
		    R0 "flake_ref: expected a string, got null" },
		{ P0 "profile", NULL, R0 "profile: required field is missing" },
		{ P0 "profile", "\"mini mal\"",
		    R0 "profile: \"mini mal\" has a bad byte at offset 4" },
		{ P0 "profile", "\"1234567890123456789012345678901234567890"
		    "123456789012345678901234\"",
		    R0 "profile: \"1234567890123456789012345678901234567890...\" "
		    "must be 1 to 63 bytes long" },
		{ P0 "role", "\"Worker\"", R0 "role: \"Worker\" is not one of "
		    "gateway, builder, worker, capability-imessage" },
		{ P0 "role", "null", R0 "role: expected a string, got null" },
		{ P0 "instance_resources", NULL,
		    R0 "instance_resources: required field is missing" },
		{ P0 "instance_resources.vcpus", "0", R0 "instance_resources."
		    "vcpus: 0 is out of range 1..32" },
		{ P0 "instance_resources.vcpus", "33", R0 "instance_resources."
		    "vcpus: 33 is out of range 1..32" },
		{ P0 "instance_resources.vcpus", NULL, R0 "instance_resources."
		    "vcpus: required field is missing" },
		{ P0 "instance_resources.mem_mib", "15", R0 "instance_resources."
		    "mem_mib: 15 is out of range 16..1048576" },
		{ P0 "instance_resources.mem_mib", "1048577",
		    R0 "instance_resources.mem_mib: 1048577 is out of range "
		    "16..1048576" },
		{ P0 "instance_resources.mem_mib", NULL, R0 "instance_resources."
		    "mem_mib: required field is missing" },
		{ P0 "instance_resources.data_disk_mib", "1048577",
		    R0 "instance_resources.data_disk_mib: 1048577 is out of "
		    "range 0..1048576" },
		{ P0 "instance_resources.data_disk_mib", "null",
		    R0 "instance_resources.data_disk_mib: expected an integer, "
		    "got null" },
		{ P0 "desired_counts", NULL,
		    R0 "desired_counts: required field is missing" },
		{ P0 "desired_counts.running", "101",
		    R0 "desired_counts.running: 101 is out of range 0..100" },
		{ P0 "desired_counts.warm", "-1",
		    R0 "desired_counts.warm: -1 is out of range 0..100" },
		{ P0 "desired_counts.sleeping", NULL,
		    R0 "desired_counts.sleeping: required field is missing" },
		{ P0 "runtime_policy", "[]",
		    R0 "runtime_policy: expected an object, got an array" },
		{ P0 "runtime_policy.min_running_seconds", "86401",
		    R0 "runtime_policy.min_running_seconds: 86401 is out of "
		    "range 0..86400" },
		{ P0 "runtime_policy.min_warm_seconds", "\"30\"",
		    R0 "runtime_policy.min_warm_seconds: expected an integer, "
		    "got a string" },
		{ P0 "runtime_policy.drain_timeout_seconds", "1e6",
		    R0 "runtime_policy.drain_timeout_seconds: 1000000 is out "
		    "of range 0..86400" },
		{ P0 "runtime_policy.graceful_shutdown_seconds", "-0.5",
		    R0 "runtime_policy.graceful_shutdown_seconds: -0.5 is out "
		    "of range 0..86400" },
		{ P0 "seccomp_policy", "\"none\"", R0 "seccomp_policy: \"none\" "
		    "is not one of baseline, strict" },
		{ P0 "snapshot_compression", "\"gzip\"",
		    R0 "snapshot_compression: \"gzip\" is not one of none, lz4, "
		    "zstd" },
		{ P0 "routing_table", "{\"routes\":[]}",
		    R0 "routing_table: must be null; mvm has no routing tables" },
		{ P0 "secret_scopes", "[{\"integration\":\"x\",\"keys\":[]}]",
		    R0 "secret_scopes: must be []" },
		{ P0 "secret_scopes", "null", R0 "secret_scopes: must be []" },
	};

	run_mutations(m, NELEM(m));
}

Test(desired, unknown_fields_at_every_level)
{
	static const struct mutation m[] = {
		{ "extra", "1", "document: unknown field \"extra\"; known "
		    "fields: schema_version, node_id, tenants, "
		    "prune_unknown_tenants, prune_unknown_pools" },
		{ "tenants.1.pinned", "true", "tenants[1]: unknown field "
		    "\"pinned\"; known fields: tenant_id, network, quotas, "
		    "secrets_hash, pools" },
		{ "tenants.0.network.gateway", "\"10.240.3.1\"",
		    "tenants[0].network: unknown field \"gateway\"" },
		{ "tenants.0.quotas.max_cpus", "1",
		    "tenants[0].quotas: unknown field \"max_cpus\"" },
		{ P0 "image", "\"x\"", "tenants[0].pools[0]: unknown field "
		    "\"image\"; known fields: pool_id, flake_ref, profile, role, "
		    "instance_resources, desired_counts, runtime_policy, "
		    "seccomp_policy, snapshot_compression, routing_table, "
		    "secret_scopes" },
		{ P0 "instance_resources.disk", "1",
		    R0 "instance_resources: unknown field \"disk\"" },
		{ P0 "desired_counts.stopped", "1",
		    R0 "desired_counts: unknown field \"stopped\"" },
		{ P0 "runtime_policy.x", "1",
		    R0 "runtime_policy: unknown field \"x\"" },
		/* Keys are case-sensitive, and odd bytes are shown escaped. */
		{ "Node_id", "\"x\"", "document: unknown field \"Node_id\"" },
		{ "a\nb\xc3\xa9", "1",
		    "document: unknown field \"a\\x0ab\\xc3\\xa9\"" },
	};

	run_mutations(m, NELEM(m));
}

Test(desired, long_unprintable_names_are_cut_in_the_sentence)
{
	struct mvm_error e = { 0 };
	struct mvm_desired *d;
	char doc[128];

	/* Each byte shows as four; the excerpt stops before it overflows. */
	memset(doc, 0, sizeof(doc));
	strcpy(doc, "{\"");
	memset(doc + 2, '\v', 60);
	strcpy(doc + 62, "\":1}");
	cr_assert_eq(mvm_desired_parse(doc, strlen(doc), &d, &e), -EINVAL);
	cr_assert(strncmp(e.msg, "document: unknown field \"\\x0b\\x0b", 33)
	    == 0, "%s", e.msg);
	cr_assert(strstr(e.msg, "\\x0b...\"; known fields: ") != NULL, "%s",
	    e.msg);
}

Test(desired, a_field_given_twice_is_refused)
{
	char doc[sizeof(minimal) + 64];

	snprintf(doc, sizeof(doc), "{\"node_id\":\"again\",%s", minimal + 1);
	parse_fails(doc, strlen(doc), EINVAL,
	    "node_id: given twice; a field may appear only once");
}

Test(desired, duplicate_ids_and_net_ids)
{
	static const struct mutation m[] = {
		{ "tenants.1.tenant_id", "\"acme\"",
		    "tenants[1].tenant_id: \"acme\" is already used by "
		    "tenants[0]; tenant ids are unique" },
		{ "tenants.0.pools.1.pool_id", "\"workers\"",
		    "tenants[0].pools[1].pool_id: \"workers\" is already used "
		    "by tenants[0].pools[0]; pool ids are unique within a "
		    "tenant" },
		{ "tenants.1.network", "{\"tenant_net_id\":3,"
		    "\"ipv4_subnet\":\"10.240.3.0/24\"}",
		    "tenants[1].network.tenant_net_id: 3 is already used by "
		    "tenants[0]; each tenant needs its own net_id" },
	};
	struct mvm_desired *d;
	char *doc;

	run_mutations(m, NELEM(m));
	/* The same pool id under two tenants is fine. */
	doc = mutate(full, "tenants.1.pools", "[{\"pool_id\":\"workers\","
	    "\"flake_ref\":\"a\",\"profile\":\"p\",\"instance_resources\":"
	    "{\"vcpus\":1,\"mem_mib\":16},\"desired_counts\":{\"running\":0,"
	    "\"warm\":0,\"sleeping\":0}}]");
	d = parse_ok(doc, strlen(doc));
	cr_assert_str_eq(d->tenants[1].pools[0].pool.tenant, "beta");
	mvm_desired_free(d);
	free(doc);
}

Test(desired, the_first_repetition_is_reported)
{
	/* Tenants b, a, a, b: the first repeat a reader meets is tenants[2]. */
	const char *t = "{\"tenant_id\":\"%s\",\"network\":{\"tenant_net_id\":"
	    "%d,\"ipv4_subnet\":\"10.240.%d.0/24\"},\"quotas\":{\"max_vcpus\":1,"
	    "\"max_mem_mib\":1,\"max_running\":1,\"max_warm\":1,\"max_pools\":1,"
	    "\"max_instances_per_pool\":1,\"max_disk_gib\":1},\"pools\":[]}";
	const char *ids[] = { "b", "a", "a", "b" };
	char doc[4096], one[512];
	size_t n;

	n = (size_t)snprintf(doc, sizeof(doc),
	    "{\"schema_version\":1,\"node_id\":\"n\",\"tenants\":[");
	for (int i = 0; i < 4; i++) {
		snprintf(one, sizeof(one), t, ids[i], i, i);
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s%s",
		    i > 0 ? "," : "", one);
	}
	snprintf(doc + n, sizeof(doc) - n, "]}");
	parse_fails(doc, strlen(doc), EINVAL, "tenants[2].tenant_id: \"a\" is "
	    "already used by tenants[1]");
}

Test(desired, bytes_the_document_may_not_contain)
{
	char doc[sizeof(minimal)], want[128];
	char *p;

	parse_fails("", 0, EINVAL, "the desired document is empty");
	parse_fails(" \n", 2, EINVAL, "the desired document is not valid "
	    "JSON: syntax error at byte");
	/* A raw NUL, even at the very end, and in the middle of an id. */
	snprintf(want, sizeof(want), "byte %zu of the desired document is a "
	    "NUL; NUL bytes are not allowed", strlen(minimal));
	parse_fails(minimal, sizeof(minimal), EINVAL, want);
	memcpy(doc, minimal, sizeof(minimal));
	p = strstr(doc, "\"acme\"");
	p[3] = '\0';
	snprintf(want, sizeof(want), "byte %zu of the desired document is a "
	    "NUL", (size_t)(p + 3 - doc));
	parse_fails(doc, sizeof(minimal) - 1, EINVAL, want);
	/* An escaped NUL would cut a string short in cJSON. */
	S_FAILS("{\"node_id\":\"n\\u0000x\"}", EINVAL,
	    "byte 13 of the desired document is an escaped NUL");
	/* An escaped backslash followed by u0000 is text, not a NUL. */
	S_FAILS("{\"schema_version\":1,\"node_id\":\"n\\\\u0000x\","
	    "\"tenants\":[]}", EINVAL,
	    "node_id: \"n\\x5cu0000x\" has a bad byte at offset 1");
	/* Invalid UTF-8: a stray byte, an overlong '/', a surrogate, a
	 * truncated sequence at the end. */
	S_FAILS("{\"node_id\":\"\xff\"}", EINVAL,
	    "byte 12 of the desired document is not valid UTF-8");
	S_FAILS("{\"node_id\":\"\xc0\xaf\"}", EINVAL,
	    "byte 12 of the desired document is not valid UTF-8");
	S_FAILS("{\"node_id\":\"\xed\xa0\x80\"}", EINVAL,
	    "byte 12 of the desired document is not valid UTF-8");
	S_FAILS("{\"node_id\":\"\xf4\x90\x80\x80\"}", EINVAL,
	    "byte 12 of the desired document is not valid UTF-8");
	S_FAILS("{\"node_id\":\"x\"}\xe2\x82", EINVAL,
	    "byte 15 of the desired document is not valid UTF-8");
	/* Valid UTF-8 reaches the schema, which refuses it by name. */
	S_FAILS("{\"schema_version\":1,\"node_id\":\"n\xc3\xa9\","
	    "\"tenants\":[]}", EINVAL,
	    "node_id: \"n\\xc3\\xa9\" has a bad byte at offset 1");
	S_FAILS("{\"schema_version\":1,\"node_id\":\"\xf0\x9f\x98\x80\","
	    "\"tenants\":[]}", EINVAL, "node_id: ");
}

Test(desired, syntax_errors_and_trailing_bytes)
{
	char doc[sizeof(minimal) + 8], want[128];
	struct mvm_desired *d;

	parse_fails("{\"schema_version\":1,}", 21, EINVAL,
	    "the desired document is not valid JSON: syntax error at byte 20");
	parse_fails("[1, 2", 5, EINVAL, "the desired document is not valid "
	    "JSON");
	snprintf(doc, sizeof(doc), "%s {}", minimal);
	snprintf(want, sizeof(want), "the desired document has bytes after "
	    "its JSON value, at byte %zu", strlen(minimal) + 1);
	parse_fails(doc, strlen(doc), EINVAL, want);
	/* White space after the value is fine. */
	snprintf(doc, sizeof(doc), "%s \r\n\t", minimal);
	d = parse_ok(doc, strlen(doc));
	mvm_desired_free(d);
	/* The length is honoured: no NUL terminator is needed or read. */
	d = parse_ok(full, strlen(full));
	mvm_desired_free(d);
	parse_fails("{}", 2, EINVAL, "schema_version: required field is "
	    "missing");
	parse_fails("[]", 2, EINVAL, "document: expected an object, got an "
	    "array");
	parse_fails("\"x\"", 3, EINVAL, "document: expected an object, got a "
	    "string");
}

Test(desired, deep_nesting_is_refused_before_parsing)
{
	size_t depth = 200000, i;
	char *doc = malloc(2 * depth);
	char small[64];

	cr_assert_not_null(doc);
	for (i = 0; i < depth; i++) {
		doc[i] = '[';
		doc[2 * depth - 1 - i] = ']';
	}
	parse_fails(doc, 2 * depth, EINVAL, "byte 16 of the desired document "
	    "nests deeper than 16 arrays and objects");
	free(doc);
	/* Exactly the limit is only a schema problem. */
	memset(small, '[', 16);
	memset(small + 16, ']', 16);
	parse_fails(small, 32, EINVAL, "document: expected an object, got an "
	    "array");
	/* Deep inside a field the schema does know. */
	doc = mutate(full, P0 "routing_table", "[[[[[[[[[[[[[[]]]]]]]]]]]]]]");
	parse_fails(doc, strlen(doc), EINVAL, "byte ");
	cr_assert(strstr(doc, "[[[[[[[[[[[") != NULL);
	free(doc);
	/* Brackets inside strings do not count. */
	memset(small, '[', 40);
	memcpy(small, "{\"", 2);
	memcpy(small + 40, "\":1}", 5);
	parse_fails(small, strlen(small), EINVAL, "document: unknown field");
}

/* A document of `npools` pools in one tenant, and its length. */
static char *
big_document(size_t npools, size_t *len)
{
	size_t cap = 256 + npools * 256, n;
	char *doc = malloc(cap);

	cr_assert_not_null(doc);
	n = (size_t)snprintf(doc, cap, "{\"schema_version\":1,\"node_id\":\"n\","
	    "\"tenants\":[{\"tenant_id\":\"big\",\"network\":{\"tenant_net_id\":"
	    "9,\"ipv4_subnet\":\"10.240.9.0/24\"},\"quotas\":{\"max_vcpus\":1,"
	    "\"max_mem_mib\":1,\"max_running\":1,\"max_warm\":1,\"max_pools\":1,"
	    "\"max_instances_per_pool\":1,\"max_disk_gib\":1},\"pools\":[");
	for (size_t i = 0; i < npools; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"pool_id\":\"p%zu\","
		    "\"flake_ref\":\"img\",\"profile\":\"x\",\"instance_resources\":"
		    "{\"vcpus\":1,\"mem_mib\":16},\"desired_counts\":{\"running\":0,"
		    "\"warm\":0,\"sleeping\":%zu}}", i > 0 ? "," : "", i, i % 101);
	n += (size_t)snprintf(doc + n, cap - n, "]}]}");
	*len = n;
	return doc;
}

Test(desired, huge_documents)
{
	struct mvm_desired *d;
	size_t len;
	char *doc;

	/* Just under the limit: about 27,000 pools, all kept. */
	doc = big_document(27000, &len);
	cr_assert_leq(len, MVM_DESIRED_MAX);
	cr_assert_gt(len, MVM_DESIRED_MAX - 400000);
	d = parse_ok(doc, len);
	cr_assert_eq(d->tenants[0].npools, 27000);
	cr_assert_str_eq(d->tenants[0].pools[26999].pool.id, "p26999");
	cr_assert_eq(d->tenants[0].pools[26999].pool.desired.sleeping,
	    26999 % 101);
	mvm_desired_free(d);
	free(doc);
	/* Over it, whatever the content. */
	doc = big_document(31000, &len);
	cr_assert_gt(len, MVM_DESIRED_MAX);
	parse_fails(doc, len, EFBIG, "the desired document is ");
	free(doc);
	parse_fails(minimal, (size_t)MVM_DESIRED_MAX + 1, EFBIG,
	    "the desired document is 4194305 bytes; the limit is 4194304");
}

Test(desired, every_net_id_once)
{
	size_t cap = 4096 * 300, n;
	struct mvm_desired *d;
	char *doc = malloc(cap);

	cr_assert_not_null(doc);
	n = (size_t)snprintf(doc, cap, "{\"schema_version\":1,\"node_id\":\"n\","
	    "\"tenants\":[");
	for (int i = 0; i <= 4095; i++)
		n += (size_t)snprintf(doc + n, cap - n, "%s{\"tenant_id\":\"t%d\","
		    "\"network\":{\"tenant_net_id\":%d,\"ipv4_subnet\":"
		    "\"10.%d.%d.0/24\"},\"quotas\":{\"max_vcpus\":1,"
		    "\"max_mem_mib\":1,\"max_running\":1,\"max_warm\":1,"
		    "\"max_pools\":1,\"max_instances_per_pool\":1,"
		    "\"max_disk_gib\":1},\"pools\":[]}", i > 0 ? "," : "", i,
		    4095 - i, 240 + (4095 - i) / 256, (4095 - i) % 256);
	snprintf(doc + n, cap - n, "]}");
	d = parse_ok(doc, strlen(doc));
	cr_assert_eq(d->ntenants, 4096);
	cr_assert_eq(d->tenants[0].tenant.net_id, 4095);
	cr_assert_eq(d->tenants[4095].tenant.net_id, 0);
	mvm_desired_free(d);
	free(doc);
}

/* Render `d`, parse the rendering, and check the two agree. */
static void
round_trip(const struct mvm_desired *d)
{
	struct mvm_desired *back;
	size_t len;
	char *text;

	cr_assert_eq(mvm_desired_render(d, &text, &len), 0);
	cr_assert_eq(strlen(text), len);
	cr_assert_eq(text[len - 1], '\n');
	back = parse_ok(text, len);
	cr_assert(mvm_desired_equal(d, back), "changed by the round trip:\n%s",
	    text);
	mvm_desired_free(back);
	free(text);
}

Test(desired, render_parse_round_trip)
{
	struct mvm_desired *d = parse_ok(full, strlen(full));
	size_t len;
	char *text;

	round_trip(d);
	/* The rendering writes out every optional field. */
	cr_assert_eq(mvm_desired_render(d, &text, &len), 0);
	cr_assert(strstr(text, "\"secrets_hash\":\tnull") != NULL, "%s", text);
	cr_assert(strstr(text, "\"routing_table\":\tnull") != NULL);
	cr_assert(strstr(text, "\"secret_scopes\":\t[]") != NULL);
	cr_assert(strstr(text, "\"data_disk_mib\":\t0") != NULL);
	cr_assert(strstr(text, "\"ipv4_subnet\":\t\"10.255.255.0/24\"") !=
	    NULL);
	cr_assert(strstr(text, "\"max_vcpus\":\t4294967295") != NULL);
	free(text);
	mvm_desired_free(d);
	d = parse_ok(minimal, strlen(minimal));
	round_trip(d);
	mvm_desired_free(d);
}

Test(desired, equal_sees_every_schema_field)
{
	struct mvm_desired *a = parse_ok(full, strlen(full));
	struct mvm_desired *b = parse_ok(full, strlen(full));
	struct mvm_desired_pool *p = &b->tenants[0].pools[1];

	cr_assert(mvm_desired_equal(a, b));
	p->pool.runtime.graceful_shutdown_seconds++;
	cr_assert(!mvm_desired_equal(a, b));
	p->pool.runtime.graceful_shutdown_seconds--;
	p->compression = MVM_DESIRED_COMPRESSION_ZSTD;
	cr_assert(!mvm_desired_equal(a, b));
	p->compression = MVM_DESIRED_COMPRESSION_LZ4;
	b->tenants[1].tenant.quota.max_disk_gib = 1;
	cr_assert(!mvm_desired_equal(a, b));
	b->tenants[1].tenant.quota.max_disk_gib = 0;
	strcpy(b->tenants[0].secrets_hash, "sha256:abd");
	cr_assert(!mvm_desired_equal(a, b));
	strcpy(b->tenants[0].secrets_hash, "sha256:abc");
	b->prune_unknown_pools = false;
	cr_assert(!mvm_desired_equal(a, b));
	b->prune_unknown_pools = true;
	b->tenants[0].npools = 1;
	cr_assert(!mvm_desired_equal(a, b));
	b->tenants[0].npools = 2;
	/* Fields outside the schema are not compared. */
	p->pool.pinned = true;
	b->tenants[0].tenant.uid = 1000;
	cr_assert(mvm_desired_equal(a, b));
	mvm_desired_free(a);
	mvm_desired_free(b);
}

Test(desired, export_of_the_node)
{
	struct mvm_tenant t[2];
	struct mvm_pool p[3];
	struct mvm_error e = { 0 };
	struct mvm_desired *d;

	mvm_tenant_init(&t[0]);
	strcpy(t[0].id, "acme");
	t[0].net_id = 7;
	t[0].quota.max_running = 12;
	mvm_tenant_init(&t[1]);
	strcpy(t[1].id, "empty");
	t[1].net_id = 4095;
	for (int i = 0; i < 3; i++) {
		mvm_pool_init(&p[i]);
		strcpy(p[i].tenant, "acme");
		snprintf(p[i].id, sizeof(p[i].id), "pool%d", i);
		p[i].desired.running = (uint32_t)i;
	}
	strcpy(p[0].image, "ghcr.io/x/y:2");
	p[1].vcpus = 4;
	p[1].mem_mib = 4096;
	p[1].data_disk_mib = 100;
	p[2].runtime.min_running_seconds = 0;
	cr_assert_eq(mvm_desired_from_node(NULL, t, 2, p, 3, &d, &e), 0, "%s",
	    e.msg);
	cr_assert_str_eq(d->node_id, "local");
	cr_assert_eq(d->ntenants, 2);
	cr_assert_eq(d->tenants[0].npools, 3);
	cr_assert_eq(d->tenants[1].npools, 0);
	cr_assert_str_eq(d->tenants[0].pools[0].pool.image, "ghcr.io/x/y:2");
	cr_assert_str_eq(d->tenants[0].pools[1].profile, "minimal");
	cr_assert_eq(d->tenants[0].pools[1].role, MVM_DESIRED_ROLE_WORKER);
	cr_assert(!d->prune_unknown_pools && !d->prune_unknown_tenants);
	round_trip(d);
	mvm_desired_free(d);

	/* Pools interleaved between tenants keep their order per tenant. */
	strcpy(p[1].tenant, "empty");
	cr_assert_eq(mvm_desired_from_node("node-7", t, 2, p, 3, &d, &e), 0);
	cr_assert_str_eq(d->node_id, "node-7");
	cr_assert_eq(d->tenants[0].npools, 2);
	cr_assert_str_eq(d->tenants[0].pools[1].pool.id, "pool2");
	cr_assert_str_eq(d->tenants[1].pools[0].pool.id, "pool1");
	round_trip(d);
	mvm_desired_free(d);

	/* A pool of no known tenant, or a bad node id, is refused. */
	strcpy(p[2].tenant, "ghost");
	d = (struct mvm_desired *)&e;
	cr_assert_eq(mvm_desired_from_node("n", t, 2, p, 3, &d, &e), -EINVAL);
	cr_assert_null(d);
	cr_assert_str_eq(e.msg, "pool \"ghost/pool2\" names a tenant that is "
	    "not among the node's tenants");
	cr_assert_eq(mvm_desired_from_node("bad id", t, 2, p, 2, &d, &e),
	    -EINVAL);
	cr_assert(strncmp(e.msg, "node_id: \"bad id\" has a bad byte", 32) ==
	    0, "%s", e.msg);
	/* Nothing at all is a valid, empty node. */
	cr_assert_eq(mvm_desired_from_node(NULL, NULL, 0, NULL, 0, &d, &e), 0);
	cr_assert_eq(d->ntenants, 0);
	round_trip(d);
	mvm_desired_free(d);
}

Test(desired, names_of_the_enums)
{
	cr_assert_str_eq(mvm_desired_role_name(MVM_DESIRED_ROLE_CAPABILITY_IMESSAGE),
	    "capability-imessage");
	cr_assert_str_eq(mvm_desired_role_name(MVM_DESIRED_ROLE_COUNT),
	    "unknown");
	cr_assert_str_eq(mvm_desired_seccomp_name(MVM_DESIRED_SECCOMP_STRICT),
	    "strict");
	cr_assert_str_eq(mvm_desired_compression_name(
	    MVM_DESIRED_COMPRESSION_ZSTD), "zstd");
}
