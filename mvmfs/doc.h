/*
 * doc.h: the write buffer of one open document file (docs/design.md,
 * section 3.3): a tenant's or a pool's `config`, a tenant's `secrets` and the
 * node's `desired`.
 *
 * Writes are buffered per open file and the document is applied whole, at
 * close or at the rename of a scratch file onto it. What can be judged line
 * by line is judged as each line completes, so the write(2) that brings a
 * bad line fails with EINVAL and keeps nothing of its bytes; the earlier
 * lines stay.
 *
 * Offsets: a write must start where the previous one ended (the end of the
 * buffer), or at offset 0, which starts the document over (a tool that
 * rewinds and writes again replaces what it wrote). Any other offset is
 * -EINVAL: a document is not a random-access file.
 *
 * Kinds and their rules:
 *   TENANT_CONFIG, POOL_CONFIG  key=value lines (kv.h), at most
 *		MVMFS_DOC_CONFIG_MAX bytes. Each complete line is parsed and
 *		set on a scratch copy of the object given to mvmfs_doc_new,
 *		so a bad key or value fails its write. `subnet` and `gateway` depend on
 *		net_id, which may come later in the text, so only their syntax
 *		is checked per line; they, the once-per-key rule and the
 *		all-or-nothing application are judged at commit. A config
 *		whose first non-blank byte is `{` is a JSON object instead
 *		(strings, booleans, integers 0..4294967295 as values) and is
 *		judged whole at commit.
 *   SECRETS	KEY=VALUE lines: KEY is [A-Z_][A-Z0-9_]* of at most
 *		MVMFS_DOC_SECRET_KEY_MAX bytes, VALUE any bytes but NUL, CR
 *		and newline, at most MVMFS_DOC_SECRET_VALUE_MAX; empty lines
 *		and lines starting with `#` are allowed; at most
 *		MVM_SECRETS_MAX bytes in all; each KEY at most once
 *		(judged at commit). The bytes are kept exactly. The buffer is
 *		zeroed whenever it is freed or reused. A sentence about a bad
 *		line gives its number, and its KEY once KEY is a valid name,
 *		never any other byte of it: the err file and the events that
 *		show sentences are readable by more than `secrets` is.
 *   DESIRED	any bytes, at most MVMFS_DOC_DESIRED_MAX (the JSON schema is
 *		judged when the reconciler arrives).
 * A document larger than its limit fails the write that exceeds it with
 * -EFBIG. An empty document (no byte written) is never committed: -EINVAL.
 */
#ifndef MVMFS_DOC_H
#define MVMFS_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "model.h"
#include "secrets.h"

#define MVMFS_DOC_CONFIG_MAX		(64 * 1024)
#define MVMFS_DOC_SECRET_KEY_MAX	128
#define MVMFS_DOC_SECRET_VALUE_MAX	(64 * 1024)
#define MVMFS_DOC_DESIRED_MAX		(4 * 1024 * 1024)

enum mvmfs_doc_kind {
	MVMFS_DOC_TENANT_CONFIG,
	MVMFS_DOC_POOL_CONFIG,
	MVMFS_DOC_SECRETS,
	MVMFS_DOC_DESIRED,
};

struct mvmfs_doc;

/*
 * A new, empty document of `kind`. For TENANT_CONFIG `t`, for POOL_CONFIG
 * `p` is the object as it is now (copied; the lines are checked against
 * it); NULL means the defaults of mvm_tenant_init/mvm_pool_init. The other
 * pointer is ignored. Returns NULL when out of memory.
 */
struct mvmfs_doc *mvmfs_doc_new(enum mvmfs_doc_kind kind,
	    const struct mvm_tenant *t, const struct mvm_pool *p);

/* Free the document (zeroing a secrets buffer first). `doc` may be NULL. */
void	mvmfs_doc_free(struct mvmfs_doc *doc);

/*
 * Add the `size` bytes of `buf` written at offset `off` (see Offsets).
 * Returns `size` (0 is allowed and only marks the document written), or
 *   -EINVAL  a bad offset, or a complete line that breaks the kind's rules
 *            (the sentence starts with "line N: "); nothing of this write
 *            is kept;
 *   -EFBIG   the document would exceed its kind's limit;
 *   -ENOMEM.
 */
ssize_t	mvmfs_doc_write(struct mvmfs_doc *doc, const char *buf,
	    size_t size, off_t off, struct mvm_error *e);

/* True once a write (even an empty one) has succeeded. */
bool	mvmfs_doc_dirty(const struct mvmfs_doc *doc);

/*
 * Apply the whole document to *t or *p: every key given is set, the others
 * keep their values (config.h, all or nothing: *t or *p is unchanged on
 * failure). Returns 0, or -EINVAL for an empty document, a document of
 * another kind, or a text config.h refuses (the sentence says which line).
 */
int	mvmfs_doc_commit_tenant(struct mvmfs_doc *doc, struct mvm_tenant *t,
	    struct mvm_error *e);
int	mvmfs_doc_commit_pool(struct mvmfs_doc *doc, struct mvm_pool *p,
	    struct mvm_error *e);

/*
 * Judge the whole document and point *text at its bytes (owned by `doc`,
 * valid until the next write or free; not NUL-terminated) for SECRETS and
 * DESIRED. Returns 0, or -EINVAL for an empty document, a last line
 * without newline that breaks the rules, a KEY given twice, or a config
 * document (use the commit functions for those).
 */
int	mvmfs_doc_text(struct mvmfs_doc *doc, const char **text, size_t *len,
	    struct mvm_error *e);

#endif
