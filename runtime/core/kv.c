/* kv.c: the key=value line parser and its number helpers. */
#include "kv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Decode the UTF-8 sequence at s[0..len). Returns its length and sets *cp,
 * or 0 when the bytes are not a valid shortest-form encoding of a scalar
 * value (stray continuation bytes, overlong forms, surrogates, values above
 * U+10FFFF, truncated sequences).
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c, min;
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

const char *
mvm_kv_escape(const char *s, size_t len, char out[MVM_KV_ESCAPE_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, n = len < MVM_KV_ESCAPE_IN ? len : MVM_KV_ESCAPE_IN;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		}
	}
	if (n < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* Check that v[0..len) is printable UTF-8; `at` is its offset in the line. */
static int
check_value(const char *line, size_t llen, const char *v, size_t len,
    struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE];
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		size_t at = (size_t)(v + i - line);

		n = utf8_decode((const unsigned char *)v + i, len - i, &cp);
		if (n == 0)
			return mvm_error_set(e, EINVAL,
			    "line \"%s\" has an invalid UTF-8 byte \\x%02x at "
			    "byte %zu; values are printable UTF-8",
			    mvm_kv_escape(line, llen, q),
			    (unsigned char)v[i], at);
		if (cp == '\r')
			return mvm_error_set(e, EINVAL,
			    "line \"%s\" has a carriage return at byte %zu; "
			    "lines end with \\n alone",
			    mvm_kv_escape(line, llen, q), at);
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return mvm_error_set(e, EINVAL,
			    "line \"%s\" has a control character U+%04X at "
			    "byte %zu; values are printable UTF-8",
			    mvm_kv_escape(line, llen, q), (unsigned)cp, at);
		i += n;
	}
	return 0;
}

int
mvm_kv_parse_line(const char *line, size_t len, struct mvm_kv *out,
    struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE], qc[MVM_KV_ESCAPE_SIZE];
	const char *eq, *k, *v;
	size_t b = 0, end = len, klen, vlen;
	int r;

	while (b < len && is_blank(line[b]))
		b++;
	if (b == len || line[b] == '#')
		return 1;
	eq = memchr(line, '=', len);
	if (eq == NULL)
		return mvm_error_set(e, EINVAL,
		    "line \"%s\" has no '='; lines are key=value",
		    mvm_kv_escape(line, len, q));

	k = line + b;
	klen = (size_t)(eq - k);
	while (klen > 0 && is_blank(k[klen - 1]))
		klen--;
	if (klen == 0)
		return mvm_error_set(e, EINVAL,
		    "line \"%s\" has no key before '='",
		    mvm_kv_escape(line, len, q));
	if (klen > MVM_KV_KEY_MAX)
		return mvm_error_set(e, EINVAL,
		    "key \"%s\" is %zu bytes; the limit is %d",
		    mvm_kv_escape(k, klen, q), klen, MVM_KV_KEY_MAX);
	for (size_t i = 0; i < klen; i++) {
		char c = k[i];

		if ((c >= 'a' && c <= 'z') ||
		    (i > 0 && ((c >= '0' && c <= '9') || c == '_')))
			continue;
		return mvm_error_set(e, EINVAL,
		    "key \"%s\" has '%s' at byte %zu; keys are a-z followed "
		    "by a-z, 0-9 and '_'", mvm_kv_escape(k, klen, q),
		    mvm_kv_escape(&k[i], 1, qc), i);
	}

	v = eq + 1;
	while (end > (size_t)(v - line) && is_blank(line[end - 1]))
		end--;
	while (v < line + end && is_blank(*v))
		v++;
	vlen = (size_t)(line + end - v);
	if (vlen > MVM_KV_VALUE_MAX)
		return mvm_error_set(e, EINVAL,
		    "value of %s is %zu bytes; the limit is %d",
		    mvm_kv_escape(k, klen, q), vlen, MVM_KV_VALUE_MAX);
	if ((r = check_value(line, len, v, vlen, e)) < 0)
		return r;

	out->key = k;
	out->key_len = klen;
	out->value = v;
	out->value_len = vlen;
	return 0;
}

bool
mvm_kv_is(const struct mvm_kv *kv, const char *key)
{
	return strlen(key) == kv->key_len &&
	    memcmp(kv->key, key, kv->key_len) == 0;
}

int
mvm_kv_u32(const struct mvm_kv *kv, uint32_t min, uint32_t max,
    uint32_t *out, struct mvm_error *e)
{
	char qk[MVM_KV_ESCAPE_SIZE], qv[MVM_KV_ESCAPE_SIZE];
	uint64_t n = 0;

	if (kv->value_len == 0)
		return mvm_error_set(e, EINVAL,
		    "%s is empty; it must be a number from %u to %u",
		    mvm_kv_escape(kv->key, kv->key_len, qk), min, max);
	for (size_t i = 0; i < kv->value_len; i++) {
		char c = kv->value[i];

		if (c < '0' || c > '9' || (i == 0 && c == '0' &&
		    kv->value_len > 1))
			return mvm_error_set(e, EINVAL,
			    "%s=\"%s\" is not a plain decimal number; it must "
			    "be a number from %u to %u",
			    mvm_kv_escape(kv->key, kv->key_len, qk),
			    mvm_kv_escape(kv->value, kv->value_len, qv),
			    min, max);
		n = n * 10 + (uint64_t)(c - '0');
		if (n > UINT32_MAX)
			break;
	}
	if (n < min || n > max)
		return mvm_error_set(e, EINVAL,
		    "%s=%s is out of range; it must be from %u to %u",
		    mvm_kv_escape(kv->key, kv->key_len, qk),
		    mvm_kv_escape(kv->value, kv->value_len, qv), min, max);
	*out = (uint32_t)n;
	return 0;
}

int
mvm_kv_bool(const struct mvm_kv *kv, bool *out, struct mvm_error *e)
{
	static const struct {
		const char	*word;
		bool		 value;
	} words[] = {
		{ "true", true }, { "yes", true }, { "1", true },
		{ "false", false }, { "no", false }, { "0", false },
	};
	char qk[MVM_KV_ESCAPE_SIZE], qv[MVM_KV_ESCAPE_SIZE];

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == kv->value_len &&
		    memcmp(words[i].word, kv->value, kv->value_len) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return mvm_error_set(e, EINVAL,
	    "%s=\"%s\" is not a boolean; write true, false, yes, no, 1 or 0",
	    mvm_kv_escape(kv->key, kv->key_len, qk),
	    mvm_kv_escape(kv->value, kv->value_len, qv));
}

int
mvm_kv_next_word(const char *s, size_t len, size_t *pos, const char **word,
    size_t *wlen)
{
	size_t i = *pos, start;

	while (i < len && is_blank(s[i]))
		i++;
	if (i == len) {
		*pos = len;
		return 0;
	}
	start = i;
	while (i < len && !is_blank(s[i]))
		i++;
	*word = s + start;
	*wlen = i - start;
	*pos = i;
	return 1;
}

int
mvm_kv_next_line(const char *s, size_t len, size_t *pos, const char **line,
    size_t *llen)
{
	const char *nl;
	size_t i = *pos;

	if (i >= len)
		return 0;
	nl = memchr(s + i, '\n', len - i);
	*line = s + i;
	*llen = nl != NULL ? (size_t)(nl - (s + i)) : len - i;
	*pos = nl != NULL ? (size_t)(nl - s) + 1 : len;
	return 1;
}
