/*
 * storetest.h: the fixture of the store's unit tests (tests/store/
 * test_store*.c), private to this directory: a fresh store file in a
 * temporary directory for each test, builders of rows with the defaults
 * of model.h, and field-by-field comparisons.
 *
 * Every function here is for Criterion tests: where something the test
 * cannot do without fails, it fails the test with a Criterion assertion
 * instead of returning an error.
 */
#ifndef MVM_TESTS_STORETEST_H
#define MVM_TESTS_STORETEST_H

#include <stdint.h>

#include "store.h"
#include "storefix.h"

/*
 * The current test's directory (.dir) and the store file in it (.db), made
 * by the fixture shared by all tests (tests/lib/storefix.h).
 */
extern struct storefix	storetest_fix;

/*
 * Make the directory /tmp/mvm-store-XXXXXX and open the store file in it
 * into *st (tests/lib/storefix.h does both). The fixture keeps `st` for storetest_teardown, so it must be a
 * variable that outlives the test (the test file's handle).
 */
void	storetest_setup(struct mvm_store **st);

/*
 * Close the store that *st (of storetest_setup) holds now, unless the test
 * left it NULL, set *st to NULL and remove the directory.
 */
void	storetest_teardown(void);

/*
 * The suite of one test file: its store handle `st` and error `err`, and a
 * fresh store opened before each test and removed after it.
 */
#define STORETEST_SUITE(name)						\
	static struct mvm_store *st;					\
	static struct mvm_error err;					\
	static void storetest_init_(void) { storetest_setup(&st); }	\
	TestSuite(name, .init = storetest_init_, .fini = storetest_teardown)

/*
 * A tenant or a pool with the defaults of model.h (the pool's image
 * "debian-12"), or an instance of zeros, named as given.
 */
struct mvm_tenant	storetest_tenant(const char *id, uint16_t net_id);
struct mvm_pool		storetest_pool(const char *tenant_id, const char *id);
struct mvm_instance	storetest_instance(const char *tenant_id,
			    const char *pool_id, const char *id);

/* Create tenant `t` with net_id 3 and its pool `p` in `st`. */
void	storetest_tenant_and_pool(struct mvm_store *st, const char *t,
	    const char *p);

/*
 * Run `sql` on the database file `p` through a connection of its own, as
 * damage or another program would.
 */
void	storetest_raw_sql(const char *p, const char *sql);

/* Assert equal, field by field: struct padding may differ between copies. */
void	storetest_tenant_eq(const struct mvm_tenant *a,
	    const struct mvm_tenant *b);
void	storetest_pool_eq(const struct mvm_pool *a, const struct mvm_pool *b);
void	storetest_instance_eq(const struct mvm_instance *a,
	    const struct mvm_instance *b);

/* What the list callbacks of the tests collect: one key a row. */
struct storetest_collect {
	char	ids[8][3 * MVM_ID_MAX + 3];
	int	n;
	int	stop_at;	/* return 7 after this many rows; 0: never */
};

#endif
