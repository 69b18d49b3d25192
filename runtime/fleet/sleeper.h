/*
 * sleeper.h: the sleep policy at work. It measures every running and warm
 * instance of the node (idle.h: the VMM's CPU time from /proc, the tap's
 * byte counters, the guest agent's Status), keeps one idle track per
 * instance, decides per pool (sleeppolicy.h) and carries the decisions out
 * through the engine with MVM_ENGINE_PARK, so the reconciler leaves the
 * parked instances where the policy put them (plan.h rule 1).
 *
 * A pass: one /proc snapshot for all instances; for each running instance,
 * one Status call to its agent over vsock (`guest_timeout_ms`; no answer
 * means an unknown guest status, which is no evidence of activity); a warm
 * instance is paused, so its guest is not asked and its CPU is the VMM's
 * own. Tracks of instances that left running and warm, whose VMM process
 * changed (pid or start time) or cannot be measured, or that the policy
 * just moved, start afresh. Decisions are taken coldest first, each one
 * an event of the instance: "sleep.warm" or "sleep.sleep" with
 * mvm_sleep_decide's sentence when carried out, "sleep.defer" with the
 * minimum-runtime sentence when deferred (once per instance and state, not
 * every pass), "sleep.fail" with the engine's sentence when the transition
 * failed. An instance that another transition holds (-EBUSY) or that was
 * destroyed meanwhile (-ENOENT) is someone else's business: it is left
 * alone, without an event. Events go to the store (mvm_store_event_add)
 * and then to `on_event`.
 *
 * The caller runs passes (mvmfs: every `sample_ms`, default 10000). Threads:
 * passes must not run concurrently (the caller's loop serialises them);
 * mvm_sleeper_instance may be called from any thread at any time.
 */
#ifndef MVM_SLEEPER_H
#define MVM_SLEEPER_H

#include <stdint.h>

#include "error.h"
#include "idle.h"
#include "model.h"

struct mvm_engine;
struct mvm_event;
struct mvm_store;
struct mvm_sleeper;

struct mvm_sleeper_config {
	struct mvm_store	*st;	/* borrowed; outlives the sleeper */
	struct mvm_engine	*eng;	/* borrowed; outlives the sleeper */
	const char		*root;	/* "" or NULL: the real /proc and /sys */
	int			 guest_timeout_ms;	/* 0: 500 */
	/*
	 * Called once per pool whose instances a pass moved, after its
	 * moves; may be NULL.
	 */
	void	(*on_moved)(void *arg, const char *tenant, const char *pool);
	void	*on_moved_arg;
	/*
	 * Called after every event the sleeper has written to the store,
	 * from the pass's thread; may be NULL. The event is valid only
	 * during the call.
	 */
	void	(*on_event)(void *arg, const struct mvm_event *ev);
	void	*on_event_arg;
};

/* What one pass did. */
struct mvm_sleeper_result {
	uint32_t	measured;	/* instances sampled */
	uint32_t	warmed;
	uint32_t	slept;
	uint32_t	deferred;
	uint32_t	failed;
};

/*
 * Open a sleeper with no tracks; `root` is copied. Returns 0, -EINVAL (st
 * or eng NULL, or a negative guest_timeout_ms) or -ENOMEM. *out is freed
 * with mvm_sleeper_close.
 */
int mvm_sleeper_open(const struct mvm_sleeper_config *cfg,
    struct mvm_sleeper **out, struct mvm_error *e);

/* Free the sleeper and its tracks. NULL is fine. */
void mvm_sleeper_close(struct mvm_sleeper *s);

/*
 * Measure every running and warm instance and carry out the policy's
 * decisions. Returns 0 with *res filled (res may be NULL), or a negative
 * errno when the store or /proc could not be read, or -ENOMEM (in each
 * case nothing was moved).
 * A failed transition is counted in res->failed, not returned.
 */
int mvm_sleeper_pass(struct mvm_sleeper *s, struct mvm_sleeper_result *res,
    struct mvm_error *e);

/*
 * The idle track of instance tenant/pool/id into *out, for its `stats`
 * view (idle seconds, the last interval's CPU and traffic). Returns 0, or
 * -ENOENT when the instance has not been measured.
 */
int mvm_sleeper_instance(struct mvm_sleeper *s, const char *tenant,
    const char *pool, const char *id, struct mvm_idle_track *out);

#endif
