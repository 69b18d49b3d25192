/* test_doc.c: document write buffers, their line checks and commits. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "doc.h"

static struct mvm_error err;

static ssize_t
w(struct mvmfs_doc *d, const char *s, off_t off)
{
	mvm_error_clear(&err);
	return mvmfs_doc_write(d, s, strlen(s), off, &err);
}

static struct mvm_tenant
tenant(void)
{
	struct mvm_tenant t;

	mvm_tenant_init(&t);
	strcpy(t.id, "acme");
	t.net_id = 5;
	return t;
}

Test(doc, config_lines_across_writes)
{
	struct mvm_tenant t = tenant();
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_TENANT_CONFIG, &t, NULL);

	cr_assert_not(mvmfs_doc_dirty(d));
	cr_assert_eq(w(d, "max_vcpus=1", 0), 11);
	cr_assert_eq(w(d, "6\nmax_po", 11), 8);
	cr_assert_eq(w(d, "ols=3\n# comment\n\n", 19), 17);
	cr_assert(mvmfs_doc_dirty(d));
	cr_assert_eq(mvmfs_doc_commit_tenant(d, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.quota.max_vcpus, 16);
	cr_assert_eq(t.quota.max_pools, 3);
	cr_assert_eq(t.net_id, 5);
	mvmfs_doc_free(d);
}

Test(doc, bad_line_fails_its_write_and_keeps_nothing_of_it)
{
	struct mvm_tenant t = tenant();
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_TENANT_CONFIG, &t, NULL);

	cr_assert_eq(w(d, "max_pools=2\n", 0), 12);
	cr_assert_eq(w(d, "max_running=4\nmax_vcpus=abc\n", 12), -EINVAL);
	cr_assert_eq(err.code, EINVAL);
	cr_assert(strncmp(err.msg, "line 3: ", 8) == 0, "%s", err.msg);
	cr_assert_eq(w(d, "nosuchkey=1\n", 12), -EINVAL);
	cr_assert(strstr(err.msg, "nosuchkey") != NULL, "%s", err.msg);
	/* The failed writes left the end at 12. */
	cr_assert_eq(w(d, "x", 13), -EINVAL);
	cr_assert_eq(w(d, "max_warm=7\n", 12), 11);
	cr_assert_eq(mvmfs_doc_commit_tenant(d, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.quota.max_pools, 2);
	cr_assert_eq(t.quota.max_warm, 7);
	cr_assert_neq(t.quota.max_running, 4);
	mvmfs_doc_free(d);
}

Test(doc, bad_bytes_in_config)
{
	static const char *bad[] = {
		"max_pools=1\r\n",		/* CR */
		"image=caf\xe9\n",		/* Latin-1, not UTF-8 */
		"image=\xc0\xaf\n",		/* overlong */
		"vcpus=99\n",			/* out of range */
		"=1\n",
	};
	struct mvmfs_doc *d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, NULL);
		cr_assert_eq(w(d, bad[i], 0), -EINVAL, "line %zu", i);
		mvmfs_doc_free(d);
	}
	d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, NULL);
	cr_assert_eq(mvmfs_doc_write(d, "vcpus=2\0\n", 9, 0, &err), -EINVAL);
	mvmfs_doc_free(d);
}

Test(doc, huge_line_and_huge_document)
{
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, NULL);
	size_t n = MVMFS_DOC_CONFIG_MAX + 1;
	char *big = malloc(n);

	memset(big, 'a', n);
	/* A line that never ends is refused once it cannot be a line. */
	cr_assert_eq(mvmfs_doc_write(d, big, 9000, 0, &err), -EINVAL);
	cr_assert(strstr(err.msg, "longer than") != NULL, "%s", err.msg);
	cr_assert_eq(mvmfs_doc_write(d, big, n, 0, &err), -EFBIG);
	mvmfs_doc_free(d);
	free(big);
}

Test(doc, offsets)
{
	struct mvm_pool p;
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, NULL);

	mvm_pool_init(&p);
	cr_assert_eq(w(d, "vcpus=3\n", 0), 8);
	cr_assert_eq(w(d, "mem_mib=256\n", 4), -EINVAL);
	cr_assert(strstr(err.msg, "offset 4") != NULL, "%s", err.msg);
	cr_assert_eq(w(d, "mem_mib=256\n", -1), -EINVAL);
	/* Offset 0 starts over: vcpus=3 is forgotten. */
	cr_assert_eq(w(d, "mem_mib=512\n", 0), 12);
	cr_assert_eq(w(d, "", 12), 0);
	cr_assert_eq(mvmfs_doc_commit_pool(d, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.vcpus, 1);
	cr_assert_eq(p.mem_mib, 512);
	mvmfs_doc_free(d);
}

Test(doc, empty_commit_is_refused)
{
	struct mvm_tenant t = tenant();
	struct mvm_pool p;
	struct mvmfs_doc *d;
	const char *text;
	size_t len;

	mvm_pool_init(&p);
	d = mvmfs_doc_new(MVMFS_DOC_TENANT_CONFIG, &t, NULL);
	cr_assert_eq(w(d, "", 0), 0);
	cr_assert(mvmfs_doc_dirty(d));
	cr_assert_eq(mvmfs_doc_commit_tenant(d, &t, &err), -EINVAL);
	cr_assert(strstr(err.msg, "empty") != NULL);
	cr_assert_eq(mvmfs_doc_commit_pool(d, &p, &err), -EINVAL);
	mvmfs_doc_free(d);
	d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	cr_assert_eq(mvmfs_doc_text(d, &text, &len, &err), -EINVAL);
	mvmfs_doc_free(d);
	d = mvmfs_doc_new(MVMFS_DOC_DESIRED, NULL, NULL);
	cr_assert_eq(mvmfs_doc_text(d, &text, &len, &err), -EINVAL);
	mvmfs_doc_free(d);
}

Test(doc, canonical_writeback_with_a_new_net_id)
{
	struct mvm_tenant t = tenant(), after;
	char text[MVM_CONFIG_TEXT_MAX];
	struct mvmfs_doc *d;

	/* gateway and subnet sort before net_id, yet follow it. */
	after = t;
	after.net_id = 9;
	cr_assert_gt(mvm_config_tenant_render(&after, text, sizeof(text)), 0);
	d = mvmfs_doc_new(MVMFS_DOC_TENANT_CONFIG, &t, NULL);
	cr_assert_eq(w(d, text, 0), (ssize_t)strlen(text), "%s", err.msg);
	cr_assert_eq(mvmfs_doc_commit_tenant(d, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(t.net_id, 9);
	mvmfs_doc_free(d);
	/* A wrong gateway is caught at commit, all or nothing. */
	d = mvmfs_doc_new(MVMFS_DOC_TENANT_CONFIG, &t, NULL);
	cr_assert_eq(w(d, "max_pools=9\ngateway=10.240.1.1\n", 0), 31);
	cr_assert_eq(mvmfs_doc_commit_tenant(d, &t, &err), -EINVAL);
	cr_assert_neq(t.quota.max_pools, 9);
	mvmfs_doc_free(d);
}

Test(doc, last_line_without_newline)
{
	struct mvm_pool p;
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, NULL);

	mvm_pool_init(&p);
	cr_assert_eq(w(d, "vcpus=4", 0), 7);
	cr_assert_eq(mvmfs_doc_commit_pool(d, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.vcpus, 4);
	mvmfs_doc_free(d);
}

Test(doc, secrets_exact_bytes)
{
	static const char text[] = "# api keys\nDB_PASSWORD= sp ace \n\n"
	    "_TOKEN=caf\xe9=\xff\x01\nEMPTY=\nLAST=no newline";
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	const char *out;
	size_t len;

	cr_assert_eq(mvmfs_doc_write(d, text, 20, 0, &err), 20);
	cr_assert_eq(mvmfs_doc_write(d, text + 20, sizeof(text) - 21, 20,
	    &err), (ssize_t)sizeof(text) - 21, "%s", err.msg);
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), 0, "%s", err.msg);
	cr_assert_eq(len, sizeof(text) - 1);
	cr_assert(memcmp(out, text, len) == 0);
	mvmfs_doc_free(d);
}

Test(doc, secrets_bad_lines)
{
	static const char *bad[] = {
		"lower=1\n", "1ABC=1\n", "NOEQUALS\n", "=x\n", "A-B=1\n",
		"KEY=va\rlue\n", "KEY=value\r\n", " KEY=1\n",
	};
	struct mvmfs_doc *d;
	char key[MVMFS_DOC_SECRET_KEY_MAX + 4];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
		cr_assert_eq(w(d, bad[i], 0), -EINVAL, "case %zu", i);
		cr_assert(strncmp(err.msg, "line 1: ", 8) == 0);
		mvmfs_doc_free(d);
	}
	d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	cr_assert_eq(mvmfs_doc_write(d, "K=a\0b\n", 6, 0, &err), -EINVAL);
	cr_assert(strstr(err.msg, "NUL") != NULL);
	memset(key, 'K', sizeof(key));
	memcpy(key + MVMFS_DOC_SECRET_KEY_MAX + 1, "=\n", 2);
	cr_assert_eq(mvmfs_doc_write(d, key, MVMFS_DOC_SECRET_KEY_MAX + 3, 0,
	    &err), -EINVAL);
	memcpy(key + MVMFS_DOC_SECRET_KEY_MAX, "=\n", 2);
	cr_assert_eq(mvmfs_doc_write(d, key, MVMFS_DOC_SECRET_KEY_MAX + 2, 0,
	    &err), MVMFS_DOC_SECRET_KEY_MAX + 2, "%s", err.msg);
	mvmfs_doc_free(d);
}

/*
 * A malformed secrets line is reported by its number, and by its key
 * when the key is a valid name: never by any other byte of it (the err
 * file that shows the sentence is group-readable, secrets are not).
 */
Test(doc, secrets_errors_show_no_secret_bytes)
{
#define LINE(s)	s, sizeof(s) - 1
	static const struct {
		const char	*text;
		size_t		 len;
		const char	*name;	/* the sentence's only quote, or NULL */
	} bad[] = {
		{ LINE("S3CRET-MARKER no equals\n"), NULL },
		{ LINE("my S3CRET-MARKER=v\n"), NULL },
		{ LINE("lower-MARKER=v\n"), NULL },
		{ LINE("TOKEN=S3CRET-MARKER\r\n"), "TOKEN" },
		{ LINE("TOKEN=S3CRET-MARKER\0x\n"), "TOKEN" },
	};
#undef LINE
	struct mvmfs_doc *d;
	const char *out;
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
		mvm_error_clear(&err);
		cr_assert_eq(mvmfs_doc_write(d, bad[i].text, bad[i].len, 0,
		    &err), -EINVAL, "case %zu", i);
		cr_expect(strncmp(err.msg, "line 1", 6) == 0, "%s", err.msg);
		cr_expect(strstr(err.msg, "MARKER") == NULL, "case %zu: %s",
		    i, err.msg);
		if (bad[i].name != NULL)
			cr_expect(strstr(err.msg, bad[i].name) != NULL,
			    "case %zu: %s", i, err.msg);
		mvmfs_doc_free(d);
	}
	/* A last line without newline, judged whole. */
	d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	cr_assert_eq(w(d, "A=1\nS3CRET-MARKER", 0), 17);
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), -EINVAL);
	cr_expect(strncmp(err.msg, "line 2", 6) == 0, "%s", err.msg);
	cr_expect(strstr(err.msg, "MARKER") == NULL, "%s", err.msg);
	mvmfs_doc_free(d);
}

Test(doc, secrets_limits_and_duplicates)
{
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	size_t vmax = MVMFS_DOC_SECRET_VALUE_MAX, n, off = 0;
	char *line = malloc(vmax + 16);
	const char *out;
	size_t len;
	int i;

	memcpy(line, "V=", 2);
	memset(line + 2, 'v', vmax + 1);
	line[vmax + 3] = '\n';
	cr_assert_eq(mvmfs_doc_write(d, line, vmax + 4, 0, &err), -EINVAL);
	/* 16 values of 64 KiB fill the 1 MiB; the next byte is too many. */
	for (i = 0; i < 16; i++) {
		n = (size_t)snprintf(line, 16, "V%02d=", i);
		memset(line + n, 'v', vmax - n - 1);
		line[vmax - 1] = '\n';
		cr_assert_eq(mvmfs_doc_write(d, line, vmax, off, &err),
		    (ssize_t)vmax, "%s", err.msg);
		off += vmax;
	}
	cr_assert_eq(mvmfs_doc_write(d, "X", 1, off, &err), -EFBIG);
	mvmfs_doc_free(d);
	free(line);
	d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	cr_assert_eq(w(d, "A=1\nB=2\nA=3\n", 0), 12);
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), -EINVAL);
	cr_assert(strstr(err.msg, "secret A ") != NULL, "%s", err.msg);
	mvmfs_doc_free(d);
	d = mvmfs_doc_new(MVMFS_DOC_SECRETS, NULL, NULL);
	cr_assert_eq(w(d, "A=1\nlower", 0), 9);
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), -EINVAL);
	cr_assert(strncmp(err.msg, "line 2: ", 8) == 0, "%s", err.msg);
	mvmfs_doc_free(d);
}

Test(doc, desired_any_bytes)
{
	static const char bytes[] = "{\"x\":\0\r\n\xff}";
	struct mvmfs_doc *d = mvmfs_doc_new(MVMFS_DOC_DESIRED, NULL, NULL);
	const char *out;
	size_t len;
	char *big = calloc(1, MVMFS_DOC_DESIRED_MAX);

	cr_assert_eq(mvmfs_doc_write(d, bytes, sizeof(bytes), 0, &err),
	    (ssize_t)sizeof(bytes));
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), 0);
	cr_assert_eq(len, sizeof(bytes));
	cr_assert(memcmp(out, bytes, len) == 0);
	cr_assert_eq(mvmfs_doc_write(d, big, MVMFS_DOC_DESIRED_MAX, len, &err),
	    -EFBIG);
	cr_assert_eq(mvmfs_doc_write(d, big, MVMFS_DOC_DESIRED_MAX, 0, &err),
	    MVMFS_DOC_DESIRED_MAX);
	cr_assert_eq(mvmfs_doc_text(d, &out, &len, &err), 0);
	cr_assert_eq(len, MVMFS_DOC_DESIRED_MAX);
	mvmfs_doc_free(d);
	free(big);
}

Test(doc, config_as_json)
{
	struct mvm_pool p;
	struct mvmfs_doc *d;

	mvm_pool_init(&p);
	d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, &p);
	/* Not judged line by line: the object spans lines. */
	cr_assert_eq(w(d, "  {\"vcpus\": 4,\n", 0), 15);
	cr_assert_eq(w(d, "\"image\": \"alpine:3.19\", \"pinned\": true}\n",
	    15), 40);
	cr_assert_eq(mvmfs_doc_commit_pool(d, &p, &err), 0, "%s", err.msg);
	cr_assert_eq(p.vcpus, 4);
	cr_assert_str_eq(p.image, "alpine:3.19");
	cr_assert(p.pinned);
	mvmfs_doc_free(d);
}

Test(doc, bad_json_configs)
{
	static const char *bad[] = {
		"{\"vcpus\": 4",			/* unterminated */
		"{\"vcpus\": 99}",			/* out of range */
		"{\"vcpus\": 2.5}",
		"{\"vcpus\": -1}",
		"{\"vcpus\": [1]}",
		"{\"image\": \"a\\nvcpus=9\"}",	/* a forged line */
		"{\"VCPUS\": 2}",
		"{\"a=b\": 2}",
		"[1, 2]",
	};
	struct mvm_pool p, before;
	struct mvmfs_doc *d;
	size_t i;

	mvm_pool_init(&p);
	before = p;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = mvmfs_doc_new(MVMFS_DOC_POOL_CONFIG, NULL, &p);
		cr_assert_eq(w(d, bad[i], 0), (ssize_t)strlen(bad[i]),
		    "case %zu: %s", i, err.msg);
		cr_assert_eq(mvmfs_doc_commit_pool(d, &p, &err), -EINVAL,
		    "case %zu", i);
		cr_assert(memcmp(&p, &before, sizeof(p)) == 0);
		mvmfs_doc_free(d);
	}
}
