/*
 * storefix.h: the fixture of the store's unit tests (tests/store/
 * test_store*.c), private to this directory: a fresh store file in a
 * temporary directory for each test, builders of rows with the defaults
 * of model.h, and field-by-field comparisons.
 *
 * Every function here is for Criterion tests: where something the test
 * cannot do without fails, it fails the test with a Criterion assertion
 * instead of returning an error.
 */
#ifndef STOREFIX_H
#define STOREFIX_H

#include <stdint.h>

#include "store.h"

/* The current test's directory, and the store file in it (state.db). */
extern char	storefix_dir[64];
extern char	storefix_path[128];

/*
 * Make the directory /tmp/mvm-store-XXXXXX and open the store file in it
 * into *st. The fixture keeps `st` for storefix_teardown, so it must be a
 * variable that outlives the test (the test file's handle).
 */
void	storefix_setup(struct mvm_store **st);

/*
 * Close the store that *st (of storefix_setup) holds now, unless the test
 * left it NULL, set *st to NULL and remove the directory.
 */
void	storefix_teardown(void);

/*
 * A tenant or a pool with the defaults of model.h (the pool's image
 * "debian-12"), or an instance of zeros, named as given.
 */
struct mvm_tenant	storefix_tenant(const char *id, uint16_t net_id);
struct mvm_pool		storefix_pool(const char *tenant_id, const char *id);
struct mvm_instance	storefix_instance(const char *tenant_id,
			    const char *pool_id, const char *id);

/* Create tenant `t` with net_id 3 and its pool `p` in `st`. */
void	storefix_tenant_and_pool(struct mvm_store *st, const char *t,
	    const char *p);

/*
 * Run `sql` on the database file `p` through a connection of its own, as
 * damage or another program would.
 */
void	storefix_raw_sql(const char *p, const char *sql);

/* Assert equal, field by field: struct padding may differ between copies. */
void	storefix_tenant_eq(const struct mvm_tenant *a,
	    const struct mvm_tenant *b);
void	storefix_pool_eq(const struct mvm_pool *a, const struct mvm_pool *b);
void	storefix_instance_eq(const struct mvm_instance *a,
	    const struct mvm_instance *b);

/* What the list callbacks of the tests collect: one key a row. */
struct storefix_collect {
	char	ids[8][3 * MVM_ID_MAX + 3];
	int	n;
	int	stop_at;	/* return 7 after this many rows; 0: never */
};

#endif
