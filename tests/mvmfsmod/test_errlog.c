/* test_errlog.c: the per-object error logs behind the `err` files. */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errlog.h"

static char *
render(struct mvmfs_errlog *log, const char *key, size_t *len)
{
	char *out;

	cr_assert_eq(mvmfs_errlog_render(log, key, &out, len), 0);
	cr_assert_eq(strlen(out), *len);
	return out;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

Test(errlog, line_format)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	regex_t re;
	size_t len;
	char *out;

	cr_assert_eq(mvmfs_errlog_add(log, "t/acme", "write", EINVAL,
	    "max_vcpus=abc is not a number"), 1);
	cr_assert_eq(mvmfs_errlog_add(log, "t/acme", "commit", EDQUOT,
	    "quota max_pools=1 exceeded"), 2);
	out = render(log, "t/acme", &len);
	cr_assert_eq(regcomp(&re, "^1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:"
	    "[0-9]{2}:[0-9]{2}Z write EINVAL max_vcpus=abc is not a number\n"
	    "2 [0-9TZ:-]{20} commit EDQUOT quota max_pools=1 exceeded\n$",
	    REG_EXTENDED), 0);
	cr_assert_eq(regexec(&re, out, 0, NULL, 0), 0, "got: %s", out);
	regfree(&re);
	free(out);
	mvmfs_errlog_free(log);
}

Test(errlog, objects_are_separate_and_unknown_is_empty)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	size_t len;
	char *out;

	mvmfs_errlog_add(log, "", "write", EINVAL, "node");
	mvmfs_errlog_add(log, "p/acme/web", "rmdir", EBUSY, "pool");
	out = render(log, "i/acme/web/i-1", &len);
	cr_assert_eq(len, 0);
	free(out);
	out = render(log, "", &len);
	cr_assert(strstr(out, "EINVAL node\n") != NULL);
	cr_assert(strstr(out, "pool") == NULL);
	free(out);
	out = render(log, "p/acme/web", &len);
	cr_assert(strstr(out, "1 ") == out && strstr(out, "EBUSY pool\n"));
	free(out);
	mvmfs_errlog_free(log);
}

Test(errlog, control_bytes_become_spaces)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	size_t len;
	char *out;

	mvmfs_errlog_add(log, "t/a", "wr\nite", EIO, "two\nlines\r\tand\x7f");
	out = render(log, "t/a", &len);
	cr_assert_eq(count_lines(out), 1);
	cr_assert(strstr(out, " wr ite EIO two lines  and \n") != NULL,
	    "got: %s", out);
	free(out);
	mvmfs_errlog_free(log);
}

Test(errlog, keeps_the_newest_64_and_counts_on)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	char msg[32], *out, *first;
	size_t len;
	int i;

	for (i = 1; i <= 100; i++) {
		snprintf(msg, sizeof(msg), "failure %d", i);
		cr_assert_eq(mvmfs_errlog_add(log, "t/a", "write", EINVAL,
		    msg), i);
	}
	out = render(log, "t/a", &len);
	cr_assert_eq(count_lines(out), MVMFS_ERRLOG_KEEP);
	cr_assert(strncmp(out, "37 ", 3) == 0, "got: %.40s", out);
	cr_assert(strstr(out, "failure 36\n") == NULL);
	first = strstr(out, "failure 100\n");
	cr_assert(first != NULL && first[12] == '\0');
	free(out);
	/* A destroyed object's log goes; a new one starts at 1. */
	mvmfs_errlog_forget(log, "t/a");
	out = render(log, "t/a", &len);
	cr_assert_eq(len, 0);
	free(out);
	cr_assert_eq(mvmfs_errlog_add(log, "t/a", "mkdir", EEXIST, "x"), 1);
	mvmfs_errlog_free(log);
}

Test(errlog, long_message_is_truncated_to_one_line)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	char *big = malloc(5000), *out;
	size_t len;

	memset(big, 'y', 4999);
	big[4999] = '\0';
	mvmfs_errlog_add(log, "", "write", E2BIG, big);
	out = render(log, "", &len);
	cr_assert_eq(count_lines(out), 1);
	cr_assert(len < 600);
	free(out);
	free(big);
	mvmfs_errlog_free(log);
}

static void *
adder(void *arg)
{
	int i;

	for (i = 0; i < 1000; i++)
		mvmfs_errlog_add(arg, i % 2 ? "t/a" : "t/b", "write", EINVAL,
		    "x");
	return NULL;
}

Test(errlog, threads)
{
	struct mvmfs_errlog *log = mvmfs_errlog_new();
	pthread_t th[4];
	char *out;
	size_t len;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, adder, log);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	/* 2000 entries per object, so the next seq is 2001. */
	cr_assert_eq(mvmfs_errlog_add(log, "t/a", "write", EINVAL, "x"), 2001);
	out = render(log, "t/b", &len);
	cr_assert_eq(count_lines(out), MVMFS_ERRLOG_KEEP);
	cr_assert(strncmp(out, "1937 ", 5) == 0);
	free(out);
	mvmfs_errlog_free(log);
}
