/*
 * tmpdir.c: temporary directories for the tests (see tmpdir.h).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tmpdir.h"

void
tmpdir_make(char *dir, size_t len, const char *name)
{
	int n = snprintf(dir, len, "/tmp/mvm-%s-XXXXXX", name);

	cr_assert(n > 0 && (size_t)n < len, "temp dir name for %s too long",
	    name);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s", dir);
}

static int
rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

int
tmpdir_remove(const char *dir)
{
	struct stat sb;

	if (dir == NULL || dir[0] == '\0')
		return 0;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (lstat(dir, &sb) == 0)
		return -ENOTEMPTY;
	return errno == ENOENT ? 0 : -errno;
}

void
tmpdir_put(const char *root, const char *rel, const char *text)
{
	char path[PATH_MAX], *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (slash = path + strlen(root) + 1; (slash = strchr(slash, '/'));
	    slash++) {
		*slash = '\0';
		cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST, "%s",
		    path);
		*slash = '/';
	}
	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}
