/* test_names.c: id rules and generated instance ids. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "names.h"

static int
check(enum mvm_name_kind k, const char *s, size_t len, struct mvm_error *e)
{
	return mvm_names_check(k, s, len, e);
}

#define CHECK(k, lit, e) check(k, lit, sizeof(lit) - 1, e)

static void
msg_has(const struct mvm_error *e, const char *needle)
{
	cr_assert(strstr(e->msg, needle) != NULL, "\"%s\" not in: %s", needle,
	    e->msg);
}

Test(names, valid_ids)
{
	static const char *const ok[] = {
		"a", "0", "acme", "acme-prod", "a-b-c", "123", "x1-2y",
		"i-0123abcd", "configs", "state1", "my-pools", "ctl-a",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		for (int k = MVM_NAME_TENANT; k <= MVM_NAME_INSTANCE; k++)
			cr_assert_eq(check(k, ok[i], strlen(ok[i]), NULL), 0,
			    "%s", ok[i]);
}

Test(names, length_limit)
{
	char s[65];
	struct mvm_error e = { 0, "" };

	memset(s, 'a', sizeof(s));
	cr_assert_eq(check(MVM_NAME_POOL, s, 63, NULL), 0);
	cr_assert_eq(check(MVM_NAME_POOL, s, 64, &e), -ENAMETOOLONG);
	cr_assert_eq(e.code, ENAMETOOLONG);
	msg_has(&e, "pool id \"");
	msg_has(&e, "is 64 bytes; the limit is 63");
	cr_assert_eq(check(MVM_NAME_POOL, s, 65, &e), -ENAMETOOLONG);
}

Test(names, empty)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(check(MVM_NAME_TENANT, "", 0, &e), -EINVAL);
	msg_has(&e, "tenant id is empty");
}

Test(names, upper_case_sentence)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(CHECK(MVM_NAME_TENANT, "Acme", &e), -EINVAL);
	cr_assert_str_eq(e.msg, "tenant id \"Acme\" has an upper-case letter "
	    "'A' at byte 0; ids use a-z, 0-9 and '-'");
}

Test(names, bad_bytes)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(CHECK(MVM_NAME_INSTANCE, "a/b", &e), -EINVAL);
	msg_has(&e, "instance id \"a/b\" has a path separator '/' at byte 1");
	cr_assert_eq(CHECK(MVM_NAME_POOL, "..", &e), -EINVAL);
	msg_has(&e, "'.' at byte 0");
	cr_assert_eq(CHECK(MVM_NAME_POOL, ".", &e), -EINVAL);
	cr_assert_eq(CHECK(MVM_NAME_POOL, "a..b", &e), -EINVAL);
	cr_assert_eq(CHECK(MVM_NAME_POOL, "a_b", &e), -EINVAL);
	msg_has(&e, "'_' at byte 1");
	cr_assert_eq(CHECK(MVM_NAME_POOL, "a b", &e), -EINVAL);
	cr_assert_eq(CHECK(MVM_NAME_POOL, "ab\n", &e), -EINVAL);
	msg_has(&e, "a control byte '\\x0a' at byte 2");
	cr_assert_eq(CHECK(MVM_NAME_POOL, "ab\0cd", &e), -EINVAL);
	msg_has(&e, "\"ab\\x00cd\" has a NUL byte '\\x00' at byte 2");
	cr_assert_eq(CHECK(MVM_NAME_TENANT, "caf\xc3\xa9", &e), -EINVAL);
	msg_has(&e, "a non-ASCII byte '\\xc3' at byte 3");
	cr_assert_eq(CHECK(MVM_NAME_TENANT, "\xff\xfe", &e), -EINVAL);
	cr_assert_eq(CHECK(MVM_NAME_TENANT, "a\x1b[2Jb", &e), -EINVAL);
	cr_assert_null(strchr(e.msg, '\x1b'), "raw escape in: %s", e.msg);
}

Test(names, dashes_at_the_ends)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(CHECK(MVM_NAME_POOL, "-a", &e), -EINVAL);
	msg_has(&e, "pool id \"-a\" starts with '-'");
	cr_assert_eq(CHECK(MVM_NAME_POOL, "a-", &e), -EINVAL);
	msg_has(&e, "ends with '-'");
	cr_assert_eq(CHECK(MVM_NAME_POOL, "-", &e), -EINVAL);
	cr_assert_eq(CHECK(MVM_NAME_POOL, "a--b", NULL), 0);
}

Test(names, reserved)
{
	static const char *const names[] = {
		"ctl", "err", "events", "status", "config", "secrets",
		"desired", "state", "info", "stats", "log", "metrics", "pools",
		"instances", "tenants", "node", "readme",
	};
	struct mvm_error e = { 0, "" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cr_assert_eq(check(MVM_NAME_INSTANCE, names[i],
		    strlen(names[i]), &e), -EINVAL, "%s", names[i]);
		msg_has(&e, "is reserved");
		msg_has(&e, names[i]);
	}
}

Test(names, kinds_are_named)
{
	struct mvm_error e = { 0, "" };

	CHECK(MVM_NAME_TENANT, "A", &e);
	msg_has(&e, "tenant id");
	CHECK(MVM_NAME_POOL, "A", &e);
	msg_has(&e, "pool id");
	CHECK(MVM_NAME_INSTANCE, "A", &e);
	msg_has(&e, "instance id");
}

Test(names, generated_ids)
{
	char a[12], b[12];

	cr_assert_eq(mvm_names_instance_generate(a), 0);
	cr_assert_eq(strlen(a), MVM_NAMES_GENERATED_LEN);
	cr_assert_eq(strncmp(a, "i-", 2), 0);
	cr_assert(mvm_names_is_generated_instance(a, strlen(a)));
	cr_assert_eq(mvm_names_check(MVM_NAME_INSTANCE, a, strlen(a), NULL),
	    0);
	/* Two 32-bit draws agree with probability 2^-32. */
	cr_assert_eq(mvm_names_instance_generate(b), 0);
	cr_assert_str_neq(a, b);
}

Test(names, generated_shape)
{
	cr_assert(mvm_names_is_generated_instance("i-0123abcd", 10));
	cr_assert(mvm_names_is_generated_instance("i-ffffffff", 10));
	cr_assert_not(mvm_names_is_generated_instance("i-0123abc", 9));
	cr_assert_not(mvm_names_is_generated_instance("i-0123abcde", 11));
	cr_assert_not(mvm_names_is_generated_instance("i-0123ABCD", 10));
	cr_assert_not(mvm_names_is_generated_instance("i-0123abcg", 10));
	cr_assert_not(mvm_names_is_generated_instance("x-0123abcd", 10));
	cr_assert_not(mvm_names_is_generated_instance("i_0123abcd", 10));
	cr_assert_not(mvm_names_is_generated_instance("", 0));
}

/* The run directory name: short, stable, and one per identity. */
Test(names, run_names)
{
	char a[MVM_NAMES_RUN_LEN + 1], b[MVM_NAMES_RUN_LEN + 1];

	mvm_names_run_name("acme", "web", "vm1", a);
	cr_assert_eq(strlen(a), MVM_NAMES_RUN_LEN);
	cr_assert_eq(strncmp(a, "i-", 2), 0);
	cr_assert_eq(strspn(a + 2, "0123456789abcdef"), 16);
	mvm_names_run_name("acme", "web", "vm1", b);
	cr_assert_str_eq(a, b);
	mvm_names_run_name("acme", "web", "vm2", b);
	cr_assert_str_neq(a, b);
	mvm_names_run_name("acm", "eweb", "vm1", b);
	cr_assert_str_neq(a, b);
	mvm_names_run_name("beta", "web", "vm1", b);
	cr_assert_str_neq(a, b);
}
