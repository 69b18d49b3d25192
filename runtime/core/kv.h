/*
 * kv.h: the key=value text of value and config files.
 *
 * A file is read one line at a time, as wireguard-tools reads its
 * configuration: each line, without its newline, is handed to
 * mvm_kv_parse_line(), which checks the syntax and points at the key and the
 * value inside the caller's buffer. Nothing here allocates; a struct mvm_kv
 * is valid only while the line it was parsed from is.
 *
 * The grammar of one line:
 *   - empty, or only spaces and tabs: skipped;
 *   - first non-blank byte `#`: a comment, skipped;
 *   - otherwise `key=value`, with spaces and tabs around the key and around
 *     the value ignored. The key is `[a-z][a-z0-9_]{0,63}`; the value is at
 *     most MVM_KV_VALUE_MAX bytes of printable UTF-8: no NUL, no control
 *     characters (C0, DEL, C1; a carriage return is one) and only valid,
 *     shortest-form sequences of scalar values. The value may be empty.
 */
#ifndef MVM_KV_H
#define MVM_KV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MVM_KV_KEY_MAX		64	/* bytes in a key */
#define MVM_KV_VALUE_MAX	4096	/* bytes in a value */

/* One parsed line: both strings point into the caller's line, no NUL. */
struct mvm_kv {
	const char	*key;
	size_t		 key_len;
	const char	*value;
	size_t		 value_len;
};

/*
 * Parse one line of `len` bytes (without its '\n'; the line need not be
 * NUL-terminated and may contain NUL bytes, which are refused).
 * Returns 0 and fills *out for a key=value line, 1 for a line to skip (blank
 * or comment; *out is untouched), or -EINVAL with a sentence that names the
 * line (escaped) and the byte that is wrong.
 */
int mvm_kv_parse_line(const char *line, size_t len, struct mvm_kv *out,
    struct mvm_error *e);

/*
 * Read kv's value as a decimal number in [min, max]: digits only, no sign,
 * no leading zero (except "0" itself), no blanks, no overflow.
 * Returns 0 and sets *out, or -EINVAL with a sentence naming key, value and
 * range. *out is untouched on failure.
 */
int mvm_kv_u32(const struct mvm_kv *kv, uint32_t min, uint32_t max,
    uint32_t *out, struct mvm_error *e);

/*
 * Read kv's value as a boolean: true, yes and 1 are true; false, no and 0
 * are false (lower case only). Returns 0 and sets *out, or -EINVAL.
 */
int mvm_kv_bool(const struct mvm_kv *kv, bool *out, struct mvm_error *e);

/* True when kv's key is the NUL-terminated string `key`. */
bool mvm_kv_is(const struct mvm_kv *kv, const char *key);

/*
 * Iterate over the words of s[0..len): runs of bytes separated by spaces and
 * tabs. Start with *pos = 0. Returns 1 and sets *word and *wlen to the next
 * word, advancing *pos past it, or 0 when no word is left.
 */
int mvm_kv_next_word(const char *s, size_t len, size_t *pos,
    const char **word, size_t *wlen);

/*
 * Iterate over the lines of s[0..len), split at '\n' (a final line without
 * one counts; the empty remainder after a final '\n' does not). Start with
 * *pos = 0. Returns 1 and sets *line and *llen (without the '\n'), or 0 at
 * the end.
 */
int mvm_kv_next_line(const char *s, size_t len, size_t *pos,
    const char **line, size_t *llen);

/*
 * Render untrusted bytes for an error sentence: printable ASCII as is, `"`
 * and `\` with a backslash, anything else (control bytes, NUL, every byte
 * of a multi-byte sequence) as \xHH. At most MVM_KV_ESCAPE_IN bytes of input
 * are shown, followed by "..." when there are more. Returns `out`, always
 * NUL-terminated, so the call can sit in a printf argument list.
 */
#define MVM_KV_ESCAPE_IN	80
#define MVM_KV_ESCAPE_SIZE	(MVM_KV_ESCAPE_IN * 4 + 4)
const char *mvm_kv_escape(const char *s, size_t len,
    char out[MVM_KV_ESCAPE_SIZE]);

#endif
