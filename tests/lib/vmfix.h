/*
 * vmfix.h: the fixture shared by the suites that boot real guests through
 * mvm-qemu (tests/engine, tests/sleeper, tests/reconcile).
 *
 * A fixture is a store fixture (storefix.h: a fresh tree under /tmp holding
 * the store's database) that also holds the engine's state and run
 * directories, with the store and the engine opened over it. The VMM and
 * the guest image come from the environment that meson sets: MVM_QEMU (the
 * mvm-qemu binary) and MVM_TEST_IMAGE (a built guest image;
 * scripts/check.sh builds it once per run).
 *
 * Every function here is for Criterion tests: where something the test
 * cannot do without fails, it fails the test with a Criterion assertion
 * instead of returning an error.
 */
#ifndef VMFIX_H
#define VMFIX_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "guest.h"
#include "storefix.h"

struct vmfix {
	struct storefix		 store;	/* the temp tree and its store */
	char			 state_dir[128];	/* <dir>/state */
	char			 run_dir[128];	/* <dir>/run */
	struct mvm_engine_config cfg;	/* over the paths above */
	struct mvm_engine	*eng;	/* NULL while closed */
};

/*
 * Zero *fx, make the tree /tmp/mvm-<name>-XXXXXX with its store
 * (storefix_setup), fill fx->cfg (timeouts long enough for guests under
 * TCG on a loaded machine) and open the engine. Fails the test when
 * MVM_QEMU or MVM_TEST_IMAGE is unset or the image has no kernel.
 */
void	vmfix_setup(struct vmfix *fx, const char *name);

/*
 * Open the store at fx->store.db, then the engine over it; fails the test
 * on error.
 */
void	vmfix_open(struct vmfix *fx);

/* Close the engine, then the store, and set both to NULL. Either may be closed. */
void	vmfix_close(struct vmfix *fx);

/*
 * Undo vmfix_setup whatever a failed test left behind: destroy every
 * instance the store holds (when the engine is open), close both, kill
 * the VMMs still running under fx->run_dir and remove the tree. The caller
 * closes what it opened over the engine first.
 */
void	vmfix_teardown(struct vmfix *fx);

/* Create tenant `id` with defaults (mvm_tenant_init) and net_id; fails the test on error. */
void	vmfix_tenant_create(struct vmfix *fx, const char *id, uint32_t net_id);

/*
 * Fill *p as mvm_pool_init does, named tenant/id, with a runtime policy
 * that lets a test move guests at once: no minimum running or warm time, a
 * 2 s drain and a 10 s graceful shutdown. The caller adjusts and creates it.
 */
void	vmfix_pool_init(struct mvm_pool *p, const char *tenant, const char *id);

/* Create pool tenant/id as vmfix_pool_init fills it; fails the test on error. */
void	vmfix_pool_create(struct vmfix *fx, const char *tenant, const char *id);

/*
 * Run `script` with /bin/sh in the guest of `in` (5 s to connect, 15 s for
 * the call, 10 s for the script) and fail the test unless the call works
 * and the script exits 0. Returns the result; the caller frees it with
 * mvm_guest_exec_free.
 */
struct mvm_guest_exec_result *vmfix_guest_sh(const struct vmfix *fx,
	    const struct mvm_instance *in, const char *script);

/*
 * Count the VMM processes (mvm-qemu with --api-sock) whose command line
 * mentions fx->store.dir. *unclaimed gets how many of those, and of their
 * QEMU children, belong to no record among the n in `v` (by the record's
 * pid). Returns the count of VMMs.
 */
int	vmfix_vmm_count(const struct vmfix *fx, const struct mvm_instance *v,
	    size_t n, int *unclaimed);

#endif
