/*
 * desired_check.c: validating the desired-state document's values (see
 * desired.h; the pieces are named in desired_int.h): JSON paths and
 * sentences, the raw bytes, objects and typed values, duplicate ids.
 */
#include "desired.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "desired_int.h"
#include "names.h"

/* Bytes of a bad string shown before "...". */
#define QUOTE_SHOWN	40

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
void
mvm_desired_child(char out[PATH_LEN], const char *path, const char *name)
{
	if (snprintf(out, PATH_LEN, "%s%s%s", path, path[0] != '\0' ? "." :
	    "", name) >= PATH_LEN)
		out[PATH_LEN - 2] = '~';
}

void
mvm_desired_element(char out[PATH_LEN], const char *path, size_t i)
{
	if (snprintf(out, PATH_LEN, "%s[%zu]", path, i) >= PATH_LEN)
		out[PATH_LEN - 2] = '~';
}

/*
 * Write `s` in double quotes, unprintable bytes as \xNN, cut with "..."
 * after QUOTE_SHOWN bytes or when the next byte would not leave room for
 * the "...", the closing quote and the NUL.
 */
const char *
mvm_desired_quote(char out[QUOTE_LEN], const char *s)
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

int
mvm_desired_type_error(const char *path, const char *want, const cJSON *v,
    struct mvm_error *e)
{
	return mvm_error_set(e, EINVAL, "%s: expected %s, got %s", where(path),
	    want, type_name(v));
}

/* Show a JSON number: integers exactly, anything else as %g. */
const char *
mvm_desired_number(char out[32], double d)
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

int
mvm_desired_prescan(const unsigned char *s, size_t len, struct mvm_error *e)
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
	    "%s", where(path), mvm_desired_quote(q, name), known);
}

/*
 * Check that `obj` is an object whose keys are among f[0..n), each at most
 * once, with every required one present. found[i] gets the value of f[i]
 * or NULL.
 */
int
mvm_desired_fields(const cJSON *obj, const char *path, const struct field *f,
    size_t n, const cJSON **found, struct mvm_error *e)
{
	char p[PATH_LEN];
	const cJSON *c;
	size_t i;

	if (!cJSON_IsObject(obj))
		return mvm_desired_type_error(path, "an object", obj, e);
	for (i = 0; i < n; i++)
		found[i] = NULL;
	cJSON_ArrayForEach(c, obj) {
		for (i = 0; i < n && strcmp(c->string, f[i].name) != 0; i++)
			;
		if (i == n)
			return unknown_field(path, c->string, f, n, e);
		if (found[i] != NULL) {
			mvm_desired_child(p, path, f[i].name);
			return mvm_error_set(e, EINVAL, "%s: given twice; a "
			    "field may appear only once", p);
		}
		found[i] = c;
	}
	for (i = 0; i < n; i++) {
		if (f[i].required && found[i] == NULL) {
			mvm_desired_child(p, path, f[i].name);
			return mvm_error_set(e, EINVAL, "%s: required field is "
			    "missing", p);
		}
	}
	return 0;
}

int
mvm_desired_get_u32(const cJSON *v, const char *path, uint32_t lo, uint32_t hi,
    uint32_t *out, struct mvm_error *e)
{
	char num[32];
	double d;

	if (!cJSON_IsNumber(v))
		return mvm_desired_type_error(path, "an integer", v, e);
	d = v->valuedouble;
	if (!(d >= lo && d <= hi))
		return mvm_error_set(e, EINVAL, "%s: %s is out of range %u..%u",
		    path, mvm_desired_number(num, d), lo, hi);
	if ((double)(uint32_t)d != d)
		return mvm_error_set(e, EINVAL, "%s: %s is not an integer",
		    path, mvm_desired_number(num, d));
	*out = (uint32_t)d;
	return 0;
}

int
mvm_desired_get_bool(const cJSON *v, const char *path, bool *out,
    struct mvm_error *e)
{
	if (!cJSON_IsBool(v))
		return mvm_desired_type_error(path, "a boolean", v, e);
	*out = cJSON_IsTrue(v);
	return 0;
}

int
mvm_desired_get_string(const cJSON *v, const char *path, const char **out,
    struct mvm_error *e)
{
	*out = NULL;
	if (!cJSON_IsString(v))
		return mvm_desired_type_error(path, "a string", v, e);
	*out = v->valuestring;
	return 0;
}

/* A string that must be one of names[0..n); *out gets its index. */
int
mvm_desired_get_enum(const cJSON *v, const char *path, const char *const *names,
    size_t n, unsigned *out, struct mvm_error *e)
{
	char q[QUOTE_LEN], list[128];
	const char *s;
	size_t i, len = 0;
	int rc;

	if ((rc = mvm_desired_get_string(v, path, &s, e)) != 0)
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
	    mvm_desired_quote(q, s), list);
}

/* A tenant or pool id by names.h rules, copied into out. */
int
mvm_desired_get_id(const cJSON *v, const char *path, enum mvm_name_kind kind,
    char out[MVM_ID_MAX + 1], struct mvm_error *e)
{
	struct mvm_error sub = { 0 };
	const char *s;
	size_t n;
	int rc;

	if ((rc = mvm_desired_get_string(v, path, &s, e)) != 0)
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
int
mvm_desired_check_token(const char *s, const char *path, size_t max,
    struct mvm_error *e)
{
	char q[QUOTE_LEN];
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return mvm_error_set(e, EINVAL, "%s: %s must be 1 to %zu bytes "
		    "long", path, mvm_desired_quote(q, s), max);
	for (i = 0; i < n; i++)
		if (!token_byte(s[i], i == 0))
			return mvm_error_set(e, EINVAL, "%s: %s has a bad byte "
			    "at offset %zu; allowed are a-z, A-Z, 0-9 and, "
			    "after the first byte, '.', '_' and '-'", path,
			    mvm_desired_quote(q, s), i);
	return 0;
}

int
mvm_desired_get_token(const cJSON *v, const char *path, size_t max, char *out,
    struct mvm_error *e)
{
	const char *s;
	int rc;

	if ((rc = mvm_desired_get_string(v, path, &s, e)) != 0 ||
	    (rc = mvm_desired_check_token(s, path, max, e)) != 0)
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
int
mvm_desired_find_duplicate(const void *array, size_t off, size_t stride,
    size_t n, size_t *first, size_t *second)
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
