/*
 * golden.c: comparing texts with their golden files (see golden.h).
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golden.h"

#ifndef MVM_GOLDEN_DIR
#error "MVM_GOLDEN_DIR must name the directory of the golden files"
#endif

/* The contents of `path` into a malloc'd, NUL-terminated *out; -errno. */
static int
read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t n;
	FILE *mem;

	*out = NULL;
	*len = 0;
	if (f == NULL)
		return -errno;
	cr_assert_not_null(mem = open_memstream(out, len));
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		cr_assert_eq(fwrite(buf, 1, n, mem), n);
	cr_assert_eq(ferror(f), 0, "read %s", path);
	fclose(f);
	cr_assert_eq(fclose(mem), 0);
	return 0;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(text, 1, len, f), len, "write %s", path);
	cr_assert_eq(fclose(f), 0, "write %s", path);
}

/* Print `diff -u` of the golden file (or nothing) and `text` on stderr. */
static void
print_diff(const char *name, const char *path, bool exists, const char *text,
    size_t len)
{
	char actual[] = "/tmp/mvm-golden-XXXXXX", label[128];
	pid_t pid;
	int fd, status;

	cr_assert_geq(fd = mkstemp(actual), 0, "mkstemp: %s", strerror(errno));
	close(fd);
	write_file(actual, text, len);
	snprintf(label, sizeof(label), "tests/golden/%s.txt", name);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execlp("diff", "diff", "-u", "--label", label, "--label",
		    "got", exists ? path : "/dev/null", actual, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	unlink(actual);
}

void
golden_check(const char *name, const char *text, size_t len)
{
	const char *update = getenv("MVM_GOLDEN_UPDATE");
	char path[512], *want;
	size_t wlen;
	int rc;

	snprintf(path, sizeof(path), "%s/%s.txt", MVM_GOLDEN_DIR, name);
	rc = read_file(path, &want, &wlen);
	cr_assert(rc == 0 || rc == -ENOENT, "cannot read %s: %s", path,
	    strerror(-rc));
	if (rc == 0 && wlen == len && memcmp(want, text, len) == 0) {
		free(want);
		return;
	}
	free(want);
	if (update != NULL && strcmp(update, "1") == 0) {
		write_file(path, text, len);
		cr_log_warn("golden: wrote %s", path);
		return;
	}
	print_diff(name, path, rc == 0, text, len);
	cr_assert_fail("%s differs from its golden file %s (diff above; "
	    "MVM_GOLDEN_UPDATE=1 accepts the new text)", name, path);
}

char *
golden_replace(const char *text, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), len;
	const char *at;
	char *out;
	FILE *mem;

	cr_assert_gt(flen, 0);
	cr_assert_not_null(mem = open_memstream(&out, &len));
	while ((at = strstr(text, from)) != NULL) {
		fwrite(text, 1, (size_t)(at - text), mem);
		fwrite(to, 1, tlen, mem);
		text = at + flen;
	}
	fputs(text, mem);
	cr_assert_eq(fclose(mem), 0);
	return out;
}
