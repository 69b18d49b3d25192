/*
 * config.h: tenant and pool configuration as key=value text.
 *
 * This is the text of the `config` and `desired` files. Writing sets the
 * keys given and keeps the others; reading returns the canonical form:
 * every key, sorted, one `key=value\n` line each. Rendering and applying
 * the rendering again changes nothing, so writing back what you read is a
 * no-op and a template of the canonical form is idempotent.
 *
 * Tenant keys:
 *   gateway		read-only: accepted only when equal to the derived one
 *   gid, uid		owner of the tenant's tree, 0..4294967294
 *   max_disk_gib, max_instances_per_pool, max_mem_mib, max_pools,
 *   max_running, max_vcpus, max_warm
 *			the seven quotas (quota.h), 0..4294967295
 *   net_id		0..4095
 *   pinned		boolean (true, false, yes, no, 1, 0); renders true/false
 *   subnet		the tenant /24, a function of net_id: given alone it
 *			sets net_id; given with net_id it must agree
 * Pool keys:
 *   data_disk_mib	0..1048576 (0: no data disk)
 *   drain_timeout_seconds, graceful_shutdown_seconds,
 *   min_running_seconds, min_warm_seconds	0..86400
 *   idle_cpu_percent	0..100
 *   idle_net_bytes	0..4294967295
 *   image		an image reference (mvm_config_image_check), or empty
 *			for the node's default image
 *   managed		boolean: the reconciler keeps the pool at its desired
 *			counts (writing the counts sets it)
 *   mem_mib		16..1048576
 *   pinned		boolean
 *   sleep_after_idle_seconds, warm_after_idle_seconds
 *			0..2592000 (30 days; 0 disables)
 *   vcpus		1..32
 */
#ifndef MVM_CONFIG_H
#define MVM_CONFIG_H

#include <stddef.h>

#include "error.h"
#include "kv.h"
#include "model.h"

/* A buffer of this size always holds a tenant's or a pool's rendering. */
#define MVM_CONFIG_TEXT_MAX	2048

/*
 * Apply one key to *t or *p. Returns 0, or -EINVAL with a sentence for an
 * unknown key ("unknown tenant config key \"foo\"; known keys: ..."), a bad
 * value, or a read-only key given a different value. The object is
 * unchanged on failure.
 */
int mvm_config_tenant_set(struct mvm_tenant *t, const struct mvm_kv *kv,
    struct mvm_error *e);
int mvm_config_pool_set(struct mvm_pool *p, const struct mvm_kv *kv,
    struct mvm_error *e);

/*
 * Apply a whole text of `len` bytes: lines split at '\n', blank lines and
 * `#` comments skipped, each key at most once. All or nothing: the object
 * changes only when every line is good. Subnet and gateway are judged after
 * the other keys, since they depend on net_id. Returns 0, or -EINVAL with a
 * sentence that starts with the 1-based line number ("line 3: vcpus=64 is
 * out of range; ...") or, for a text without any key, says so.
 */
int mvm_config_tenant_apply_text(struct mvm_tenant *t, const char *text,
    size_t len, struct mvm_error *e);
int mvm_config_pool_apply_text(struct mvm_pool *p, const char *text,
    size_t len, struct mvm_error *e);

/*
 * Write the canonical form into buf[0..len), NUL-terminated. Returns the
 * number of bytes written without the NUL, or -ENOSPC when it does not fit
 * (buf then holds an unspecified, NUL-terminated prefix if len > 0).
 */
int mvm_config_tenant_render(const struct mvm_tenant *t, char *buf,
    size_t len);
int mvm_config_pool_render(const struct mvm_pool *p, char *buf, size_t len);

/*
 * Check an image reference: 1 to 255 bytes of A-Z, a-z, 0-9 and ._:/@+-,
 * not starting with '/' or '-', with no ".." path component.
 * Returns 0 or -EINVAL with a sentence quoting the value.
 */
int mvm_config_image_check(const char *s, size_t len, struct mvm_error *e);

/*
 * Parse the `desired` text: `running=N warm=N sleeping=N` in any order,
 * separated by blanks or newlines, each key at most once, each N 0..100;
 * keys absent keep their value in *c. Blank lines and `#` comment lines are
 * skipped; at least one key is required. All or nothing. Returns 0 or
 * -EINVAL with a sentence naming the bad word.
 */
int mvm_config_counts_parse(const char *s, size_t len, struct mvm_counts *c,
    struct mvm_error *e);

/*
 * Write "running=3 warm=1 sleeping=2\n" into buf[0..len). Returns the bytes
 * written without the NUL, or -ENOSPC (64 bytes always suffice).
 */
int mvm_config_counts_render(const struct mvm_counts *c, char *buf,
    size_t len);

#endif
