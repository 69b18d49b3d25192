/*
 * storefix.c: a store in a temporary directory (see storefix.h).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "storefix.h"
#include "tmpdir.h"

void
storefix_setup(struct storefix *sf, const char *name)
{
	memset(sf, 0, sizeof(*sf));
	tmpdir_make(sf->dir, sizeof(sf->dir), name);
	snprintf(sf->db, sizeof(sf->db), "%s/state.db", sf->dir);
	storefix_open(sf);
}

void
storefix_open(struct storefix *sf)
{
	struct mvm_error e = { 0 };

	cr_assert_eq(mvm_store_open(sf->db, &sf->st, &e), 0, "store %s: %s",
	    sf->db, e.msg);
}

void
storefix_close(struct storefix *sf)
{
	mvm_store_close(sf->st);
	sf->st = NULL;
}

int
storefix_teardown(struct storefix *sf)
{
	storefix_close(sf);
	return tmpdir_remove(sf->dir);
}
