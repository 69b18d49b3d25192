/*
 * storefix.h: a real store (SQLite, store.h) in a fresh temporary
 * directory, for the tests that need the store but boot no guests; vmfix.h
 * builds on it for those that do.
 *
 * Every function here is for Criterion tests: where something the test
 * cannot do without fails, it fails the test with a Criterion assertion
 * instead of returning an error.
 */
#ifndef MVM_TESTS_STOREFIX_H
#define MVM_TESTS_STOREFIX_H

#include "store.h"

struct storefix {
	char			 dir[64];	/* tmpdir_make(..., name) */
	char			 db[128];	/* <dir>/state.db */
	struct mvm_store	*st;		/* NULL while closed */
};

/*
 * Zero *sf, make the directory /tmp/mvm-<name>-XXXXXX (tmpdir.h) and open
 * a new store at <dir>/state.db into sf->st.
 */
void	storefix_setup(struct storefix *sf, const char *name);

/* Open the store at sf->db into sf->st (again, after storefix_close). */
void	storefix_open(struct storefix *sf);

/* Close sf->st and set it to NULL; a closed store is left alone. */
void	storefix_close(struct storefix *sf);

/*
 * Close the store and remove the directory with all it holds. Returns what
 * tmpdir_remove returns (0: all gone). A zeroed *sf is fine: nothing to do.
 */
int	storefix_teardown(struct storefix *sf);

#endif
