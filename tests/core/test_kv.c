/* test_kv.c: the key=value line parser and its helpers. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kv.h"

static int
parse(const char *s, struct mvm_kv *kv, struct mvm_error *e)
{
	return mvm_kv_parse_line(s, strlen(s), kv, e);
}

static void
kv_is(const struct mvm_kv *kv, const char *k, const char *v)
{
	cr_assert_eq(kv->key_len, strlen(k));
	cr_assert(memcmp(kv->key, k, kv->key_len) == 0);
	cr_assert_eq(kv->value_len, strlen(v), "value length %zu",
	    kv->value_len);
	cr_assert(memcmp(kv->value, v, kv->value_len) == 0);
}

Test(kv, simple_pairs)
{
	struct mvm_kv kv;

	cr_assert_eq(parse("vcpus=2", &kv, NULL), 0);
	kv_is(&kv, "vcpus", "2");
	cr_assert_eq(parse("  \tmax_vcpus \t=\t 16  ", &kv, NULL), 0);
	kv_is(&kv, "max_vcpus", "16");
	cr_assert_eq(parse("image=", &kv, NULL), 0);
	kv_is(&kv, "image", "");
	cr_assert_eq(parse("a=b=c", &kv, NULL), 0);
	kv_is(&kv, "a", "b=c");
	cr_assert_eq(parse("k=two words", &kv, NULL), 0);
	kv_is(&kv, "k", "two words");
	cr_assert_eq(parse("name=caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    &kv, NULL), 0);
	kv_is(&kv, "name", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	cr_assert_eq(parse("k=#not a comment", &kv, NULL), 0);
	kv_is(&kv, "k", "#not a comment");
}

Test(kv, pointers_into_the_line)
{
	const char *line = "key=value";
	struct mvm_kv kv;

	cr_assert_eq(mvm_kv_parse_line(line, strlen(line), &kv, NULL), 0);
	cr_assert_eq(kv.key, line);
	cr_assert_eq(kv.value, line + 4);
}

Test(kv, skipped_lines)
{
	struct mvm_kv kv = { NULL, 0, NULL, 0 };

	cr_assert_eq(parse("", &kv, NULL), 1);
	cr_assert_eq(parse("   \t ", &kv, NULL), 1);
	cr_assert_eq(parse("# comment with = and \x01", &kv, NULL), 1);
	cr_assert_eq(parse("  # indented", &kv, NULL), 1);
	cr_assert_null(kv.key);
}

static void
refused(const char *s, size_t len, const char *needle)
{
	struct mvm_error e = { 0, "" };
	struct mvm_kv kv;

	cr_assert_eq(mvm_kv_parse_line(s, len, &kv, &e), -EINVAL,
	    "accepted \"%.*s\"", (int)len, s);
	cr_assert_eq(e.code, EINVAL);
	if (needle != NULL)
		cr_assert(strstr(e.msg, needle) != NULL, "\"%s\" not in: %s",
		    needle, e.msg);
}

#define REFUSED(lit, needle) refused(lit, sizeof(lit) - 1, needle)

Test(kv, bad_keys)
{
	REFUSED("novalue", "has no '='");
	REFUSED("=x", "no key");
	REFUSED("  =x", "no key");
	REFUSED("Vcpus=1", "'V' at byte 0");
	REFUSED("1abc=1", "'1' at byte 0");
	REFUSED("_a=1", "'_' at byte 0");
	REFUSED("a-b=1", "'-' at byte 1");
	REFUSED("a b=1", "' ' at byte 1");
	REFUSED("a/b=1", "'/' at byte 1");
	REFUSED("a.b=1", "'.' at byte 1");
	REFUSED("a\0b=1", "\\x00");
}

Test(kv, key_length_limit)
{
	char line[80];

	memset(line, 'k', 64);
	strcpy(line + 64, "=1");
	cr_assert_eq(mvm_kv_parse_line(line, strlen(line),
	    &(struct mvm_kv){ 0 }, NULL), 0);
	memset(line, 'k', 65);
	strcpy(line + 65, "=1");
	refused(line, strlen(line), "is 65 bytes; the limit is 64");
}

Test(kv, bad_values)
{
	REFUSED("k=a\rb", "carriage return at byte 3");
	REFUSED("k=1\r", "carriage return");
	REFUSED("k=a\x01", "U+0001 at byte 3");
	REFUSED("k=a\x7f", "U+007F");
	REFUSED("k=\xc2\x85", "U+0085");	/* C1 NEL */
	REFUSED("k=a\0b", "U+0000 at byte 3");
	REFUSED("k=a\nb", "U+000A");
	REFUSED("k=\xff", "invalid UTF-8 byte \\xff at byte 2");
	REFUSED("k=\x80", "invalid UTF-8");		/* lone continuation */
	REFUSED("k=\xc3", "invalid UTF-8");		/* truncated */
	REFUSED("k=\xc3(", "invalid UTF-8");		/* bad continuation */
	REFUSED("k=\xc0\xaf", "invalid UTF-8");	/* overlong '/' */
	REFUSED("k=\xe0\x80\xaf", "invalid UTF-8");	/* overlong */
	REFUSED("k=\xed\xa0\x80", "invalid UTF-8");	/* surrogate */
	REFUSED("k=\xf4\x90\x80\x80", "invalid UTF-8");	/* > U+10FFFF */
	REFUSED("k=\xf8\x88\x80\x80\x80", "invalid UTF-8");
}

Test(kv, error_sentences_never_carry_raw_bytes)
{
	struct mvm_error e = { 0, "" };
	struct mvm_kv kv;

	cr_assert_eq(mvm_kv_parse_line("k=\x1b[31mred", 10, &kv, &e), -EINVAL);
	cr_assert_null(strchr(e.msg, '\x1b'), "%s", e.msg);
	cr_assert(strstr(e.msg, "\\x1b") != NULL, "%s", e.msg);
	for (const char *p = e.msg; *p != '\0'; p++)
		cr_assert((unsigned char)*p >= 0x20 &&
		    (unsigned char)*p < 0x7f);
}

Test(kv, value_length_limit)
{
	size_t n = 2 + MVM_KV_VALUE_MAX + 1;
	char *line = malloc(n + 1);
	struct mvm_kv kv;

	cr_assert_not_null(line);
	memcpy(line, "k=", 2);
	memset(line + 2, 'v', MVM_KV_VALUE_MAX + 1);
	line[n] = '\0';
	refused(line, n, "is 4097 bytes; the limit is 4096");
	cr_assert_eq(mvm_kv_parse_line(line, n - 1, &kv, NULL), 0);
	cr_assert_eq(kv.value_len, MVM_KV_VALUE_MAX);
	free(line);
}

Test(kv, huge_line_of_blanks_is_skipped)
{
	size_t n = 1 << 20;
	char *line = malloc(n);
	struct mvm_kv kv;

	cr_assert_not_null(line);
	memset(line, ' ', n);
	cr_assert_eq(mvm_kv_parse_line(line, n, &kv, NULL), 1);
	line[n - 1] = 'x';
	cr_assert_eq(mvm_kv_parse_line(line, n, &kv, NULL), -EINVAL);
	free(line);
}

static int
u32(const char *v, uint32_t min, uint32_t max, uint32_t *out,
    struct mvm_error *e)
{
	struct mvm_kv kv = { "max_vcpus", 9, v, strlen(v) };

	return mvm_kv_u32(&kv, min, max, out, e);
}

Test(kv, u32_accepts_plain_decimal)
{
	uint32_t v = 0;

	cr_assert_eq(u32("0", 0, 10, &v, NULL), 0);
	cr_assert_eq(v, 0);
	cr_assert_eq(u32("10", 0, 10, &v, NULL), 0);
	cr_assert_eq(v, 10);
	cr_assert_eq(u32("4294967295", 0, UINT32_MAX, &v, NULL), 0);
	cr_assert_eq(v, UINT32_MAX);
}

Test(kv, u32_refuses)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "abc",
		"01", "00", "4294967296", "99999999999999999999999", "1a",
	};
	struct mvm_error e = { 0, "" };
	uint32_t v = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(u32(bad[i], 0, UINT32_MAX, &v, &e), -EINVAL,
		    "accepted \"%s\"", bad[i]);
		cr_assert(strstr(e.msg, "max_vcpus") != NULL, "%s", e.msg);
		cr_assert(strstr(e.msg, bad[i]) != NULL, "%s", e.msg);
		cr_assert_eq(v, 7);
	}
}

Test(kv, u32_range_is_inclusive)
{
	struct mvm_error e = { 0, "" };
	uint32_t v = 0;

	cr_assert_eq(u32("1", 1, 32, &v, NULL), 0);
	cr_assert_eq(u32("32", 1, 32, &v, NULL), 0);
	cr_assert_eq(u32("0", 1, 32, &v, &e), -EINVAL);
	cr_assert(strstr(e.msg, "max_vcpus=0 is out of range; it must be "
	    "from 1 to 32") != NULL, "%s", e.msg);
	cr_assert_eq(u32("33", 1, 32, &v, &e), -EINVAL);
	cr_assert_eq(v, 32);
}

Test(kv, booleans)
{
	static const char *const t[] = { "true", "yes", "1" };
	static const char *const f[] = { "false", "no", "0" };
	static const char *const bad[] = {
		"", "TRUE", "on", "2", "y", "true ",
	};
	struct mvm_error e = { 0, "" };
	bool b;

	for (size_t i = 0; i < 3; i++) {
		struct mvm_kv kt = { "pinned", 6, t[i], strlen(t[i]) };
		struct mvm_kv kf = { "pinned", 6, f[i], strlen(f[i]) };

		b = false;
		cr_assert_eq(mvm_kv_bool(&kt, &b, NULL), 0);
		cr_assert(b);
		cr_assert_eq(mvm_kv_bool(&kf, &b, NULL), 0);
		cr_assert_not(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_kv kv = { "pinned", 6, bad[i], strlen(bad[i]) };

		cr_assert_eq(mvm_kv_bool(&kv, &b, &e), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(e.msg, "pinned") != NULL);
	}
}

Test(kv, words_and_lines)
{
	const char *s = " running=3\twarm=1  sleeping=2 ";
	const char *w, *l;
	size_t pos = 0, n, count = 0;

	while (mvm_kv_next_word(s, strlen(s), &pos, &w, &n) == 1)
		count++;
	cr_assert_eq(count, 3);
	pos = 0;
	cr_assert_eq(mvm_kv_next_word("  ", 2, &pos, &w, &n), 0);

	s = "a\n\nb\nc";
	pos = 0;
	count = 0;
	while (mvm_kv_next_line(s, strlen(s), &pos, &l, &n) == 1)
		count++;
	cr_assert_eq(count, 4);
	s = "a\n";
	pos = 0;
	cr_assert_eq(mvm_kv_next_line(s, 2, &pos, &l, &n), 1);
	cr_assert_eq(n, 1);
	cr_assert_eq(mvm_kv_next_line(s, 2, &pos, &l, &n), 0);
}

Test(kv, escape)
{
	char out[MVM_KV_ESCAPE_SIZE];
	char big[200];

	cr_assert_str_eq(mvm_kv_escape("a\"b\\c\x01\xff", 7, out),
	    "a\\\"b\\\\c\\x01\\xff");
	memset(big, 'x', sizeof(big));
	mvm_kv_escape(big, sizeof(big), out);
	cr_assert_eq(strlen(out), MVM_KV_ESCAPE_IN + 3);
	cr_assert(strcmp(out + MVM_KV_ESCAPE_IN, "...") == 0);
	memset(big, 0xff, sizeof(big));
	mvm_kv_escape(big, sizeof(big), out);
	cr_assert_eq(strlen(out), MVM_KV_ESCAPE_IN * 4 + 3);
}
