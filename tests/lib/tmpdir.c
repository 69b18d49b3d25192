/*
 * tmpdir.c: temporary directories for the tests (see tmpdir.h).
 */
#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

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

void
tmpdir_remove(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
