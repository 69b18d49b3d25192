/*
 * recfix.h: the fixture the reconciler's tests with real guests share.
 * recfix_setup opens a store, an engine (vmfix.h) and a reconciler with a
 * fast failure policy (budget 3, backoff 1 s doubling to 4 s, a pass a
 * second), creates tenant acme (net_id 7) and its managed pool web with
 * the default image. Every helper fails the test (criterion) when the
 * store does not answer; none of them is thread-safe except the callbacks.
 */
#ifndef RECFIX_H
#define RECFIX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "reconcile.h"
#include "vmfix.h"

#define WAIT_S	300	/* the longest any wait below may take */

extern struct vmfix fx;

/* The reconciler under test and what its callbacks saw. */
struct recfix_state {
	struct mvm_reconcile	*rec;
	struct mvm_reconcile_config cfg;
	pthread_mutex_t		 mu;	/* guards the counters below */
	unsigned		 events;	/* reconcile.* events seen */
	unsigned		 changes[MVM_RECONCILE_POOL_PASSED + 1];
};
extern struct recfix_state rx;

/* The suite's .init and .fini. */
void	recfix_setup(void);
void	recfix_teardown(void);

/* Open the reconciler with rx.cfg over fx's store and engine. */
void	recfix_reconciler_open(void);
/* Open, or close, the store and engine and the reconciler. */
void	recfix_open_all(void);
void	recfix_close_all(void);

/* Create managed pool `id` of acme with `image` ("" for the default). */
void	recfix_make_pool(const char *id, const char *image);

/*
 * Every instance record of `pool` of acme (NULL: of the node) into v, at
 * most 63, zero-terminated. Returns the count.
 */
size_t	recfix_records(struct mvm_instance v[64], const char *pool);

/* Write the desired counts of acme's `pool`. */
void	recfix_set_desired(const char *pool, uint32_t running, uint32_t warm,
	    uint32_t sleeping);

/* The pool's status, zeroed when it has none. */
struct mvm_reconcile_pool_status recfix_status(const char *pool);

/* Records of `pool` by state, and their total. */
void	recfix_tally(const char *pool, uint32_t by[MVM_STATE_COUNT],
	    size_t *total);

/*
 * Wait until the pool's last pass is converged with nothing running and
 * the store holds exactly the desired counts; fail after WAIT_S.
 */
void	recfix_wait_converged(const char *pool, uint32_t running,
	    uint32_t warm, uint32_t sleeping);

/* Every running or warm record has a live VMM; the others have none. */
void	recfix_assert_processes(const char *pool);

#endif
