/*
 * error.h: how mvm reports failure.
 *
 * Every fallible function in mvm returns 0 (or a non-negative count) on
 * success and a negative errno on failure. Where the caller needs to tell a
 * person what went wrong, it also passes a struct mvm_error, which receives
 * the errno and one sentence that names the offending value and the rule it
 * broke. The pointer may be NULL when the caller only wants the errno.
 */
#ifndef MVM_ERROR_H
#define MVM_ERROR_H

#include <stddef.h>

#define MVM_ERROR_MSG_MAX 512

struct mvm_error {
	int	code;			/* positive errno, 0 when no error */
	char	msg[MVM_ERROR_MSG_MAX];	/* one sentence, no trailing newline */
};

/*
 * Record errno `code` and a printf-style sentence in `e` (which may be NULL)
 * and return -code, so a caller can write `return mvm_error_set(e, EINVAL,
 * "...")`. Messages longer than MVM_ERROR_MSG_MAX are truncated.
 */
int mvm_error_set(struct mvm_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forget any recorded error. `e` may be NULL. */
void mvm_error_clear(struct mvm_error *e);

/*
 * The symbolic name of a positive errno ("EINVAL", "EDQUOT", ...), as the
 * `err` files print it; "E<number>" for values this table does not know.
 * The returned string is static for known values and a per-thread buffer
 * otherwise.
 */
const char *mvm_errno_name(int code);

#endif
