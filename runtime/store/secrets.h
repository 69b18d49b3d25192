/*
 * secrets.h: tenant secrets, encrypted at rest with the node key.
 *
 * The node key is 32 random bytes in <state_dir>/node.key, created with
 * mode 0600 (O_EXCL) on first start and refused when group or others may
 * read it. In memory it lives in sodium_malloc'd, mlocked, read-only pages.
 *
 * A tenant's secrets text (the exact bytes of its `secrets` document) is
 * sealed with XChaCha20-Poly1305 (libsodium's IETF AEAD) under a fresh
 * random nonce for every version, with the tenant id as associated data so
 * a sealed row copied onto another tenant does not open, and stored in the
 * store's meta table:
 *   secrets:<tenant>          base64(nonce || ciphertext || tag)
 *   secrets_version:<tenant>  the version, 1 for the first text
 * Each new version writes the audit event "tenant.secrets" whose detail is
 * "version=N": never a name or a value. Plaintext copies made here are
 * zeroed before they are freed.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef MVM_SECRETS_H
#define MVM_SECRETS_H

#include <stddef.h>

#include "error.h"

/* The largest secrets text a tenant may store, in bytes. */
#define MVM_SECRETS_MAX		(1024 * 1024)

struct mvm_event;
struct mvm_store;
struct mvm_secrets;

/*
 * Load (or create) the node key of `state_dir` and keep `st`, which must
 * outlive the handle. On success *out owns the handle. Returns 0, or:
 *   -EACCES  node.key may be read by group or others;
 *   -EIO     node.key is not exactly 32 bytes, or sodium_init failed;
 *   -ENOMEM, or the errno of open/read/write/fsync.
 */
int	mvm_secrets_open(const char *state_dir, struct mvm_store *st,
	    struct mvm_secrets **out, struct mvm_error *e);

/* Zero and free the key and the handle. `s` may be NULL. */
void	mvm_secrets_close(struct mvm_secrets *s);

/*
 * Call fn(arg, ev) after each event this handle writes to the store (from
 * the writing thread, no lock held), as the engine's on_event does.
 */
void	mvm_secrets_on_event(struct mvm_secrets *s,
	    void (*fn)(void *arg, const struct mvm_event *ev), void *arg);

/*
 * Seal `len` bytes of `text` as the next version of `tenant`'s secrets, in
 * one store transaction with its event. `text` is not judged here (mvmfs/doc.h
 * does that). Returns the new version (>= 1), or -EFBIG when len exceeds
 * MVM_SECRETS_MAX, or a store error.
 */
int	mvm_secrets_set(struct mvm_secrets *s, const char *tenant,
	    const char *text, size_t len, struct mvm_error *e);

/*
 * The current secrets text of `tenant`: *text (NUL-terminated, *len bytes
 * before the NUL) to be released with mvm_secrets_free_text. A tenant
 * without secrets has the empty text. Returns 0, or -EIO when the stored
 * value does not decode or does not open with this node's key (the sentence
 * says which), or a store error.
 */
int	mvm_secrets_get(struct mvm_secrets *s, const char *tenant,
	    char **text, size_t *len, struct mvm_error *e);

/* Zero and free a text from mvm_secrets_get. `text` may be NULL. */
void	mvm_secrets_free_text(char *text, size_t len);

/*
 * Seal the same text again under a fresh nonce as a new version (with its
 * event). Returns the new version, -ENOENT when the tenant has no secrets,
 * or the errors of get and set.
 */
int	mvm_secrets_rotate(struct mvm_secrets *s, const char *tenant,
	    struct mvm_error *e);

/* The version of `tenant`'s secrets, 0 when it has none; or a store error. */
int	mvm_secrets_version(struct mvm_secrets *s, const char *tenant,
	    struct mvm_error *e);

/*
 * Forget `tenant`'s secrets (when the tenant is destroyed): the stored
 * value is overwritten with the empty string and its version with 0.
 * Returns 0 or a store error.
 */
int	mvm_secrets_delete(struct mvm_secrets *s, const char *tenant,
	    struct mvm_error *e);

#endif
