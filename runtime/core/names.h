/*
 * names.h: the rules for tenant, pool and instance ids.
 *
 * An id is a directory name in the /mvm tree and a part of host paths and
 * database keys, so it is strict: 1 to MVM_ID_MAX (63) bytes of a-z, 0-9 and
 * '-', not starting or ending with '-', and not one of the names the tree
 * itself uses (ctl, err, events, status, config, secrets, desired, state,
 * info, stats, log, metrics, pools, instances, tenants, node, readme). The
 * charset alone keeps out '/', '.', "..", NUL, upper case and anything that
 * is not ASCII.
 *
 * Instance ids the user does not choose are generated: "i-" and 8 lower-case
 * hex digits.
 */
#ifndef MVM_NAMES_H
#define MVM_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/* What an id names; it only changes the wording of error sentences. */
enum mvm_name_kind {
	MVM_NAME_TENANT,
	MVM_NAME_POOL,
	MVM_NAME_INSTANCE,
};

/* Bytes of a generated instance id, without the NUL. */
#define MVM_NAMES_GENERATED_LEN	10

/*
 * Check the `len` bytes at `s` (NUL bytes included, no terminator needed)
 * as an id of `kind`. Returns 0 when valid; -ENAMETOOLONG when longer than
 * 63 bytes; -EINVAL otherwise (empty, a byte outside the charset, a leading
 * or trailing '-', a reserved name). The sentence names the kind ("tenant
 * id"), shows the value with unprintable bytes escaped, and for a bad byte
 * says which byte and where.
 */
int mvm_names_check(enum mvm_name_kind kind, const char *s, size_t len,
    struct mvm_error *e);

/* "tenant id", "pool id" or "instance id". */
const char *mvm_names_kind(enum mvm_name_kind kind);

/*
 * Write a fresh instance id, "i-" and 8 lower-case hex digits from
 * getrandom(2), NUL-terminated. Returns 0, or the negative errno of
 * getrandom. The caller retries on a collision.
 */
int mvm_names_instance_generate(char out[12]);

/* True when s[0..len) has the exact shape of a generated instance id. */
bool mvm_names_is_generated_instance(const char *s, size_t len);

/* Bytes of an instance's run directory name, without the NUL. */
#define MVM_NAMES_RUN_LEN	18

/*
 * Write the name of the run directory of instance tenant/pool/id: "i-" and
 * 16 lower-case hex digits of a 64-bit FNV-1a hash of the three ids (each
 * with its NUL, so "a"+"bc" and "ab"+"c" differ), NUL-terminated. It
 * depends on nothing that can change while the instance exists (not its
 * tenant's net_id, not its address), and it is short: a socket path under
 * /run/mvm/vm/<name>/ stays far below the 108 bytes of sockaddr_un.
 */
void mvm_names_run_name(const char *tenant, const char *pool, const char *id,
    char out[MVM_NAMES_RUN_LEN + 1]);

#endif
