/*
 * test_plan.c: the reconciler's planner. Each test builds a pool of
 * instance records, plans, applies the steps to the records the way an
 * executor would (simulated: the state changes, nothing boots), and plans
 * again.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fsm.h"
#include "plan.h"

#define MAXI	64
#define T0	1700000000

struct world {
	struct mvm_pool		p;
	struct mvm_quota	q;
	struct mvm_instance	in[MAXI];
	uint32_t		failures[MAXI];
	int64_t			last_failure[MAXI];
	size_t			n;
	int			created;	/* new records made so far */
	int64_t			now;
	struct mvm_plan		pl;
};

static void
world_init(struct world *w, uint32_t run, uint32_t warm, uint32_t sleeping)
{
	memset(w, 0, sizeof(*w));
	mvm_pool_init(&w->p);
	snprintf(w->p.tenant, sizeof(w->p.tenant), "acme");
	snprintf(w->p.id, sizeof(w->p.id), "web");
	w->p.vcpus = 1;
	w->p.mem_mib = 128;
	w->p.desired.running = run;
	w->p.desired.warm = warm;
	w->p.desired.sleeping = sleeping;
	w->p.runtime.min_running_seconds = 0;
	w->p.runtime.min_warm_seconds = 0;
	mvm_quota_defaults(&w->q);
	w->q.max_vcpus = w->q.max_mem_mib = w->q.max_running = 1000000;
	w->q.max_warm = w->q.max_instances_per_pool = 1000000;
	w->q.max_disk_gib = 1000000;
	w->now = T0;
	mvm_plan_init(&w->pl);
}

/* Add a record in `s`, entered at `entered` (created_at for all states). */
static struct mvm_instance *
add(struct world *w, const char *id, enum mvm_state s, int64_t entered)
{
	struct mvm_instance *in = &w->in[w->n++];

	cr_assert(w->n <= MAXI);
	memset(in, 0, sizeof(*in));
	memcpy(in->tenant, w->p.tenant, sizeof(in->tenant));
	memcpy(in->pool, w->p.id, sizeof(in->pool));
	snprintf(in->id, sizeof(in->id), "%s", id);
	in->state = s;
	in->created_at = entered;
	if (s == MVM_STATE_RUNNING)
		in->entered_running_at = entered;
	if (s == MVM_STATE_WARM)
		in->entered_warm_at = entered;
	return in;
}

static struct mvm_instance *
find(struct world *w, const char *id)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->in[i].id, id) == 0)
			return &w->in[i];
	return NULL;
}

static void
usage(const struct world *w, struct mvm_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->pools = 1;
	for (size_t i = 0; i < w->n; i++)
		mvm_quota_usage_add(u, &w->p, w->in[i].state);
}

static int
plan(struct world *w)
{
	struct mvm_plan_member m[MAXI];
	struct mvm_usage u;
	struct mvm_error e;
	int rc;

	for (size_t i = 0; i < w->n; i++) {
		m[i].in = &w->in[i];
		m[i].failures = w->failures[i];
		m[i].last_failure_at = w->last_failure[i];
	}
	usage(w, &u);
	mvm_error_clear(&e);
	rc = mvm_plan_pool(&w->pl, &w->p, m, w->n, &w->q, &u, NULL, w->now,
	    &e);
	cr_assert_eq(rc, 0, "plan: %s", e.msg);
	return rc;
}

/* Do what the plan says: every step succeeds. */
static void
apply(struct world *w)
{
	for (size_t i = 0; i < w->pl.nsteps; i++) {
		const struct mvm_plan_step *st = &w->pl.steps[i];
		struct mvm_instance *in;
		char id[16];

		if (st->action == MVM_PLAN_CREATE) {
			cr_assert_str_empty(st->instance);
			snprintf(id, sizeof(id), "n%d", w->created++);
			in = add(w, id, MVM_STATE_CREATED, w->now);
		} else {
			cr_assert_not_null(in = find(w, st->instance));
			cr_assert_eq(in->state, st->from);
			cr_assert_eq(in->op, MVM_OP_NONE);
		}
		in->state = st->to;
		in->entered_running_at = st->to == MVM_STATE_RUNNING ?
		    w->now : 0;
		in->entered_warm_at = st->to == MVM_STATE_WARM ? w->now : 0;
	}
}

static uint32_t
count(const struct world *w, enum mvm_state s)
{
	uint32_t c = 0;

	for (size_t i = 0; i < w->n; i++)
		c += w->in[i].state == s;
	return c;
}

static void
assert_step(const struct world *w, size_t i, const char *id,
    enum mvm_plan_action a, enum mvm_state to)
{
	const struct mvm_plan_step *st;

	cr_assert_lt(i, w->pl.nsteps, "step %zu missing", i);
	st = &w->pl.steps[i];
	cr_assert_str_eq(st->instance, id, "step %zu is on \"%s\"", i,
	    st->instance);
	cr_assert_eq(st->action, a, "step %zu is %s, not %s", i,
	    mvm_plan_action_name(st->action), mvm_plan_action_name(a));
	cr_assert_eq(st->to, to, "step %zu goes to %s", i,
	    mvm_state_name(st->to));
	cr_assert_str_neq(st->reason, "");
}

static void
assert_converged(struct world *w)
{
	plan(w);
	cr_assert_eq(w->pl.nsteps, 0, "second plan has %zu steps, first %s %s",
	    w->pl.nsteps, w->pl.nsteps ? w->pl.steps[0].instance : "",
	    w->pl.nsteps ? w->pl.steps[0].reason : "");
	cr_assert_eq(w->pl.ndeferred, 0);
	cr_assert(w->pl.summary.converged);
	cr_assert_eq(count(w, MVM_STATE_RUNNING), w->p.desired.running);
	cr_assert_eq(count(w, MVM_STATE_WARM), w->p.desired.warm);
	cr_assert_eq(count(w, MVM_STATE_SLEEPING), w->p.desired.sleeping);
}

Test(plan, scale_up_from_empty)
{
	struct world w;
	char line[256];

	world_init(&w, 3, 1, 1);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 5);
	cr_assert_eq(w.pl.ndeferred, 0);
	for (size_t i = 0; i < 3; i++)
		assert_step(&w, i, "", MVM_PLAN_CREATE, MVM_STATE_RUNNING);
	assert_step(&w, 3, "", MVM_PLAN_CREATE, MVM_STATE_WARM);
	assert_step(&w, 4, "", MVM_PLAN_CREATE, MVM_STATE_SLEEPING);
	cr_assert_not(w.pl.summary.converged);
	mvm_plan_summary_format(&w.pl.summary, line, sizeof(line));
	cr_assert_str_eq(line, "converged=no running=0/3 warm=0/1 "
	    "sleeping=0/1 busy=0 parked=0 failed=0 steps=5 deferred=0 next_at=0");
	apply(&w);
	assert_converged(&w);
	mvm_plan_summary_format(&w.pl.summary, line, sizeof(line));
	cr_assert_str_eq(line, "converged=yes running=3/3 warm=1/1 "
	    "sleeping=1/1 busy=0 parked=0 failed=0 steps=0 deferred=0 next_at=0");
	mvm_plan_free(&w.pl);
}

Test(plan, scale_up_from_mixed_states)
{
	struct world w;

	world_init(&w, 3, 1, 1);
	add(&w, "w1", MVM_STATE_WARM, T0 - 100);
	add(&w, "s1", MVM_STATE_SLEEPING, T0 - 100);
	add(&w, "c1", MVM_STATE_CREATED, T0 - 50);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 80);
	plan(&w);
	/* Running: warm, then sleeping, then the oldest of stopped/created. */
	assert_step(&w, 0, "w1", MVM_PLAN_RESUME, MVM_STATE_RUNNING);
	assert_step(&w, 1, "s1", MVM_PLAN_WAKE, MVM_STATE_RUNNING);
	assert_step(&w, 2, "x1", MVM_PLAN_START, MVM_STATE_RUNNING);
	/* Warm: the remaining created one, provisioned; sleeping: new. */
	assert_step(&w, 3, "c1", MVM_PLAN_START, MVM_STATE_WARM);
	assert_step(&w, 4, "", MVM_PLAN_CREATE, MVM_STATE_SLEEPING);
	cr_assert_eq(w.pl.nsteps, 5);
	apply(&w);
	assert_converged(&w);
	cr_assert_eq(w.n, 5);
	mvm_plan_free(&w.pl);
}

Test(plan, running_prefers_warm_then_sleeping_then_stopped_then_new)
{
	static const enum mvm_state order[] = {
		MVM_STATE_WARM, MVM_STATE_SLEEPING, MVM_STATE_STOPPED,
	};
	static const enum mvm_plan_action actions[] = {
		MVM_PLAN_RESUME, MVM_PLAN_WAKE, MVM_PLAN_START, MVM_PLAN_CREATE,
	};
	static const char *const ids[] = { "a-warm", "b-sleep", "c-stop", "" };

	/* Remove the cheapest source each round: the next one is taken. */
	for (size_t k = 0; k < 4; k++) {
		struct world w;

		world_init(&w, 1, 0, 0);
		for (size_t j = k; j < 3; j++)
			add(&w, ids[j], order[j], T0 - 10);
		plan(&w);
		cr_assert_geq(w.pl.nsteps, 1);
		assert_step(&w, w.pl.nsteps - 1, ids[k], actions[k],
		    MVM_STATE_RUNNING);
		mvm_plan_free(&w.pl);
	}
}

Test(plan, warm_prefers_surplus_running_then_sleeping_then_stopped_then_new)
{
	struct world w;

	world_init(&w, 1, 1, 0);
	add(&w, "r1", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "r2", MVM_STATE_RUNNING, T0 - 50);
	add(&w, "s1", MVM_STATE_SLEEPING, T0 - 10);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	/* r1 has been running longest, so it is the one paused. */
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "r1", MVM_PLAN_PAUSE, MVM_STATE_WARM);
	assert_step(&w, 1, "s1", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	mvm_plan_free(&w.pl);

	world_init(&w, 0, 1, 0);
	add(&w, "s1", MVM_STATE_SLEEPING, T0 - 10);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "s1", MVM_PLAN_WAKE, MVM_STATE_WARM);
	mvm_plan_free(&w.pl);

	world_init(&w, 0, 1, 0);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "x1", MVM_PLAN_START, MVM_STATE_WARM);
	mvm_plan_free(&w.pl);

	world_init(&w, 0, 1, 0);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "", MVM_PLAN_CREATE, MVM_STATE_WARM);
	mvm_plan_free(&w.pl);
}

Test(plan, sleeping_prefers_surplus_warm_then_running_then_stopped)
{
	struct world w;

	world_init(&w, 1, 0, 1);
	add(&w, "r1", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "r2", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "w1", MVM_STATE_WARM, T0 - 100);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	/* w1 sleeps to fill sleeping; the surplus running one stops. */
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "w1", MVM_PLAN_SLEEP, MVM_STATE_SLEEPING);
	assert_step(&w, 1, "r1", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	apply(&w);
	assert_converged(&w);
	mvm_plan_free(&w.pl);

	world_init(&w, 1, 0, 1);
	add(&w, "r1", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "r2", MVM_STATE_RUNNING, T0 - 200);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "r2", MVM_PLAN_SLEEP, MVM_STATE_SLEEPING);
	mvm_plan_free(&w.pl);

	world_init(&w, 0, 0, 1);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "x1", MVM_PLAN_START, MVM_STATE_SLEEPING);
	mvm_plan_free(&w.pl);
}

Test(plan, scale_down_without_minimum_runtime)
{
	struct world w;

	world_init(&w, 3, 1, 1);
	plan(&w);
	apply(&w);
	w.p.desired = (struct mvm_counts){ 0, 0, 0 };
	w.now += 5;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 5);
	for (size_t i = 0; i < w.pl.nsteps; i++)
		cr_assert_eq(w.pl.steps[i].action, MVM_PLAN_STOP);
	apply(&w);
	assert_converged(&w);
	cr_assert_eq(count(&w, MVM_STATE_STOPPED), 5);
	/* Scaling up again reuses the records: nothing new is created. */
	w.p.desired = (struct mvm_counts){ 3, 1, 1 };
	plan(&w);
	for (size_t i = 0; i < w.pl.nsteps; i++)
		cr_assert_eq(w.pl.steps[i].action, MVM_PLAN_START);
	apply(&w);
	assert_converged(&w);
	cr_assert_eq(w.n, 5);
	mvm_plan_free(&w.pl);
}

Test(plan, scale_down_obeys_minimum_runtime)
{
	struct world w;
	const struct mvm_plan_deferral *d;

	world_init(&w, 1, 0, 0);
	w.p.runtime.min_running_seconds = 60;
	add(&w, "old", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "mid", MVM_STATE_RUNNING, T0 - 40);
	add(&w, "new", MVM_STATE_RUNNING, T0 - 10);
	plan(&w);
	/* The longest running leaves first: it is eligible first. */
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "old", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	cr_assert_eq(w.pl.ndeferred, 1);
	d = &w.pl.deferred[0];
	cr_assert_str_eq(d->instance, "mid");
	cr_assert_eq(d->action, MVM_PLAN_STOP);
	cr_assert_eq(d->code, EAGAIN);
	cr_assert_eq(d->eligible_at, T0 + 20);
	cr_assert(strstr(d->reason, "min_running_seconds=60") != NULL,
	    "%s", d->reason);
	cr_assert_eq(w.pl.summary.next_at, T0 + 20);
	cr_assert_not(w.pl.summary.converged);
	apply(&w);

	/* Planning again before it is eligible: only the deferral. */
	w.now = T0 + 19;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert_eq(count(&w, MVM_STATE_RUNNING), 2);

	w.now = T0 + 20;
	plan(&w);
	cr_assert_eq(w.pl.ndeferred, 0);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "mid", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	apply(&w);
	assert_converged(&w);
	cr_assert_eq(find(&w, "new")->state, MVM_STATE_RUNNING);
	mvm_plan_free(&w.pl);
}

Test(plan, warm_to_sleeping_obeys_min_warm)
{
	struct world w;

	world_init(&w, 0, 0, 1);
	w.p.runtime.min_warm_seconds = 30;
	add(&w, "w1", MVM_STATE_WARM, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert_eq(w.pl.deferred[0].action, MVM_PLAN_SLEEP);
	cr_assert_eq(w.pl.deferred[0].eligible_at, T0 + 20);
	/* The deferred instance holds the slot: nothing else is made. */
	w.now = T0 + 20;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "w1", MVM_PLAN_SLEEP, MVM_STATE_SLEEPING);
	mvm_plan_free(&w.pl);
}

Test(plan, busy_instances_count_at_their_target_and_are_left_alone)
{
	struct world w;

	world_init(&w, 2, 1, 0);
	add(&w, "b1", MVM_STATE_STOPPED, T0 - 10)->op = MVM_OP_STARTING;
	add(&w, "b2", MVM_STATE_RUNNING, T0 - 10)->op = MVM_OP_PAUSING;
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	/* b1 counts as running, b2 as warm: one running is missing. */
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "x1", MVM_PLAN_START, MVM_STATE_RUNNING);
	cr_assert_eq(w.pl.summary.busy, 2);
	apply(&w);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_not(w.pl.summary.converged, "busy instances are pending");
	mvm_plan_free(&w.pl);
}

Test(plan, parked_instances_hold_their_slot_within_the_counts)
{
	struct world w;
	struct mvm_instance *in;

	world_init(&w, 2, 0, 0);
	/* The sleep policy parked p1 (was running) in warm, p2 in sleeping. */
	in = add(&w, "p1", MVM_STATE_WARM, T0 - 100);
	in->parked = true;
	in->parked_from = MVM_STATE_RUNNING;
	in = add(&w, "p2", MVM_STATE_SLEEPING, T0 - 100);
	in->parked = true;
	in->parked_from = MVM_STATE_RUNNING;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0, "parked instances were moved: %s %s",
	    w.pl.nsteps ? w.pl.steps[0].instance : "",
	    w.pl.nsteps ? mvm_plan_action_name(w.pl.steps[0].action) : "");
	cr_assert(w.pl.summary.converged);
	cr_assert_eq(w.pl.summary.parked, 2);

	/* Scaled down to one: the second parked one is surplus and stops. */
	w.p.desired.running = 1;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "p2", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	cr_assert_eq(w.pl.summary.parked, 1);

	/* Unparked (an operator woke it elsewhere): planned by true state. */
	w.p.desired.running = 2;
	w.in[0].parked = false;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "p1", MVM_PLAN_RESUME, MVM_STATE_RUNNING);
	mvm_plan_free(&w.pl);
}

Test(plan, failure_budget_never_replaces_again_and_again)
{
	struct world w;
	int pass;

	world_init(&w, 2, 0, 0);
	/* A broken image: every boot fails and the record stays stopped. */
	for (pass = 0; pass < 50; pass++) {
		plan(&w);
		if (w.pl.nsteps == 0 && w.pl.ndeferred == 0)
			break;
		for (size_t i = 0; i < w.pl.nsteps; i++) {
			const struct mvm_plan_step *st = &w.pl.steps[i];
			struct mvm_instance *in;
			char id[16];

			if (st->action == MVM_PLAN_CREATE) {
				snprintf(id, sizeof(id), "n%d", w.created++);
				in = add(&w, id, MVM_STATE_STOPPED, w.now);
			} else
				in = find(&w, st->instance);
			w.failures[in - w.in]++;
			w.last_failure[in - w.in] = w.now;
		}
		w.now += 1000;
	}
	cr_assert_lt(pass, 50);
	cr_assert_eq(w.n, 2, "%zu instances were made for 2 slots", w.n);
	cr_assert_eq(w.failures[0], 3);
	cr_assert_eq(w.failures[1], 3);
	cr_assert_eq(w.pl.summary.failed, 2);
	cr_assert_eq(w.pl.summary.failed_holding, 2);
	cr_assert_not(w.pl.summary.converged);

	/* Scaling down frees the held slots: converged, still failed. */
	w.p.desired.running = 0;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.summary.failed, 2);
	cr_assert_eq(w.pl.summary.failed_holding, 0);
	cr_assert(w.pl.summary.converged);

	/* An operator clearing one failure count lets it start again. */
	w.p.desired.running = 2;
	w.failures[1] = 0;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "n1", MVM_PLAN_START, MVM_STATE_RUNNING);
	mvm_plan_free(&w.pl);
}

Test(plan, failed_instance_backs_off)
{
	struct world w;

	world_init(&w, 1, 0, 0);
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 100);
	w.failures[0] = 2;
	w.last_failure[0] = T0 - 5;
	plan(&w);
	/* 10 s doubled once: eligible 20 s after the failure. */
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert_str_eq(w.pl.deferred[0].instance, "x1");
	cr_assert_eq(w.pl.deferred[0].action, MVM_PLAN_START);
	cr_assert_eq(w.pl.deferred[0].code, EAGAIN);
	cr_assert_eq(w.pl.deferred[0].eligible_at, T0 + 15);

	/* A healthy stopped record is preferred to one backing off. */
	add(&w, "x2", MVM_STATE_STOPPED, T0 - 1);
	plan(&w);
	cr_assert_eq(w.pl.ndeferred, 0);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "x2", MVM_PLAN_START, MVM_STATE_RUNNING);
	mvm_plan_free(&w.pl);
}

Test(plan, quota_refusal_is_a_deferral_until_raised)
{
	struct world w;
	const struct mvm_plan_deferral *d;

	world_init(&w, 3, 0, 0);
	w.q.max_running = 2;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 2);
	cr_assert_eq(w.pl.ndeferred, 1);
	d = &w.pl.deferred[0];
	cr_assert_str_empty(d->instance);
	cr_assert_eq(d->action, MVM_PLAN_CREATE);
	cr_assert_eq(d->code, EDQUOT);
	cr_assert_eq(d->eligible_at, 0);
	cr_assert(strstr(d->reason, "max_running=2") != NULL, "%s", d->reason);
	apply(&w);

	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert_eq(w.pl.deferred[0].code, EDQUOT);

	w.q.max_running = 3;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	assert_step(&w, 0, "", MVM_PLAN_CREATE, MVM_STATE_RUNNING);
	apply(&w);
	assert_converged(&w);
	mvm_plan_free(&w.pl);
}

Test(plan, quota_refusal_frees_the_instance_for_another_slot)
{
	struct world w;

	/* No warm allowed: the created records go to sleeping instead. */
	world_init(&w, 0, 2, 2);
	w.q.max_warm = 0;
	add(&w, "c1", MVM_STATE_CREATED, T0 - 20);
	add(&w, "c2", MVM_STATE_CREATED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "c1", MVM_PLAN_START, MVM_STATE_SLEEPING);
	assert_step(&w, 1, "c2", MVM_PLAN_START, MVM_STATE_SLEEPING);
	cr_assert_eq(w.pl.ndeferred, 2);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_str_empty(w.pl.deferred[i].instance);
		cr_assert_eq(w.pl.deferred[i].to, MVM_STATE_WARM);
		cr_assert_eq(w.pl.deferred[i].code, EDQUOT);
	}
	apply(&w);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 2);
	cr_assert_eq(w.n, 2);

	/* Raised: the warm slots wake the sleeping ones, new ones sleep. */
	w.q.max_warm = 2;
	plan(&w);
	cr_assert_eq(w.pl.ndeferred, 0);
	assert_step(&w, 0, "c1", MVM_PLAN_WAKE, MVM_STATE_WARM);
	assert_step(&w, 1, "c2", MVM_PLAN_WAKE, MVM_STATE_WARM);
	assert_step(&w, 2, "", MVM_PLAN_CREATE, MVM_STATE_SLEEPING);
	assert_step(&w, 3, "", MVM_PLAN_CREATE, MVM_STATE_SLEEPING);
	apply(&w);
	assert_converged(&w);
	mvm_plan_free(&w.pl);
}

Test(plan, provisioning_is_charged_at_its_peak)
{
	struct world w;

	/* Warm needs a boot: a tenant with no running room cannot have it. */
	world_init(&w, 0, 1, 0);
	w.q.max_running = 0;
	add(&w, "x1", MVM_STATE_STOPPED, T0 - 10);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 0);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert(strstr(w.pl.deferred[0].reason, "max_running=0") != NULL);
	mvm_plan_free(&w.pl);
}

Test(plan, moves_down_come_before_moves_up)
{
	struct world w;

	/* Decided first, the resume is still listed after the stop. */
	world_init(&w, 1, 0, 0);
	add(&w, "w1", MVM_STATE_WARM, T0 - 100);
	add(&w, "w2", MVM_STATE_WARM, T0 - 50);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "w2", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	assert_step(&w, 1, "w1", MVM_PLAN_RESUME, MVM_STATE_RUNNING);
	apply(&w);
	assert_converged(&w);
	mvm_plan_free(&w.pl);
}

Test(plan, scale_between_running_and_warm_within_quota)
{
	struct world w;

	world_init(&w, 0, 1, 0);
	w.q.max_running = 2;
	w.q.max_warm = 1;
	add(&w, "r1", MVM_STATE_RUNNING, T0 - 100);
	add(&w, "r2", MVM_STATE_RUNNING, T0 - 90);
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "r1", MVM_PLAN_PAUSE, MVM_STATE_WARM);
	assert_step(&w, 1, "r2", MVM_PLAN_STOP, MVM_STATE_STOPPED);
	apply(&w);
	assert_converged(&w);

	/* Back up: the warm one resumes and r2 boots into warm. */
	w.p.desired = (struct mvm_counts){ 1, 1, 0 };
	plan(&w);
	cr_assert_eq(w.pl.ndeferred, 0);
	cr_assert_eq(w.pl.nsteps, 2);
	assert_step(&w, 0, "r1", MVM_PLAN_RESUME, MVM_STATE_RUNNING);
	assert_step(&w, 1, "r2", MVM_PLAN_START, MVM_STATE_WARM);
	apply(&w);
	assert_converged(&w);

	/* With one running slot, r2 cannot boot (it is briefly running). */
	w.p.desired = (struct mvm_counts){ 0, 1, 0 };
	plan(&w);
	apply(&w);
	w.p.desired = (struct mvm_counts){ 1, 1, 0 };
	w.q.max_running = 1;
	plan(&w);
	cr_assert_eq(w.pl.nsteps, 1);
	cr_assert_eq(w.pl.ndeferred, 1);
	cr_assert_eq(w.pl.deferred[0].code, EDQUOT);
	mvm_plan_free(&w.pl);
}

Test(plan, rejects_bad_input)
{
	struct world w;
	struct mvm_plan_member m;
	struct mvm_usage u;
	struct mvm_error e;
	struct mvm_instance *in;

	world_init(&w, 1, 0, 0);
	in = add(&w, "x1", MVM_STATE_STOPPED, T0);
	snprintf(in->pool, sizeof(in->pool), "other");
	m = (struct mvm_plan_member){ in, 0, 0 };
	memset(&u, 0, sizeof(u));
	cr_assert_eq(mvm_plan_pool(&w.pl, &w.p, &m, 1, &w.q, &u, NULL, T0, &e),
	    -EINVAL);
	cr_assert_str_eq(e.msg, "instance x1 belongs to pool acme/other, not "
	    "acme/web");
	cr_assert_eq(w.pl.nsteps, 0);
	w.p.desired.running = MVM_PLAN_COUNT_MAX + 1;
	cr_assert_eq(mvm_plan_pool(&w.pl, &w.p, NULL, 0, &w.q, &u, NULL, T0,
	    &e), -EINVAL);
	cr_assert(strstr(e.msg, "wants 1001 running") != NULL, "%s", e.msg);
	mvm_plan_free(&w.pl);
}

/*
 * Property: for many random pools, applying a plan and planning again gives
 * no steps; every step is a move the state machine allows; no instance is
 * moved twice; creates never exceed the slots wanted; a quota is never
 * pushed over its limit; and once time passes every deferral for time
 * clears, so the pool converges unless a quota or a failure holds it.
 */
static uint32_t
rnd(uint64_t *s, uint32_t n)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(*s >> 33) % n;
}

static void
check_plan(struct world *w)
{
	for (size_t i = 0; i < w->pl.nsteps; i++) {
		const struct mvm_plan_step *st = &w->pl.steps[i];
		enum mvm_op op;

		if (st->from != MVM_STATE_CREATED &&
		    st->from != MVM_STATE_STOPPED)
			cr_assert_eq(mvm_fsm_check(st->from, st->to, &op,
			    NULL), 0, "%s to %s", mvm_state_name(st->from),
			    mvm_state_name(st->to));
		if (st->instance[0] == '\0')
			continue;
		cr_assert_eq(st->from, find(w, st->instance)->state);
		for (size_t j = i + 1; j < w->pl.nsteps; j++)
			cr_assert_str_neq(st->instance, w->pl.steps[j].instance);
		for (size_t j = 0; j < w->pl.ndeferred; j++)
			cr_assert_str_neq(st->instance,
			    w->pl.deferred[j].instance);
	}
}

static void
check_quota(const struct world *w, const struct mvm_usage *before)
{
	struct mvm_usage a;

	usage(w, &a);
	if (a.running > w->q.max_running)
		cr_assert_leq(a.running, before->running);
	if (a.warm > w->q.max_warm)
		cr_assert_leq(a.warm, before->warm);
	if (a.vcpus > w->q.max_vcpus)
		cr_assert_leq(a.vcpus, before->vcpus);
	if (a.pool_instances > w->q.max_instances_per_pool)
		cr_assert_leq(a.pool_instances, before->pool_instances);
}

Test(plan, random_pools_converge)
{
	uint64_t seed = 20261126;

	for (int round = 0; round < 2000; round++) {
		struct world w;
		struct mvm_usage before;
		uint32_t wanted, creates = 0;
		size_t n;
		int pass;

		world_init(&w, rnd(&seed, 5), rnd(&seed, 3), rnd(&seed, 3));
		w.p.vcpus = 1 + rnd(&seed, 2);
		w.p.runtime.min_running_seconds = rnd(&seed, 2) * 60;
		w.p.runtime.min_warm_seconds = rnd(&seed, 2) * 30;
		if (rnd(&seed, 3) == 0) {
			w.q.max_running = rnd(&seed, 5);
			w.q.max_warm = rnd(&seed, 3);
			w.q.max_vcpus = rnd(&seed, 10);
			w.q.max_instances_per_pool = rnd(&seed, 12);
		}
		n = rnd(&seed, 12);
		for (size_t i = 0; i < n; i++) {
			static const enum mvm_state st[] = {
				MVM_STATE_CREATED, MVM_STATE_RUNNING,
				MVM_STATE_WARM, MVM_STATE_SLEEPING,
				MVM_STATE_STOPPED,
			};
			char id[32];
			struct mvm_instance *in;

			snprintf(id, sizeof(id), "i%02zu", n - i);
			in = add(&w, id, st[rnd(&seed, 5)],
			    T0 - (int64_t)rnd(&seed, 120));
			if (rnd(&seed, 10) == 0)
				in->op = (enum mvm_op)(1 + rnd(&seed, 6));
			if (rnd(&seed, 5) == 0) {
				w.failures[i] = rnd(&seed, 4);
				w.last_failure[i] = T0 - rnd(&seed, 30);
			}
		}
		wanted = w.p.desired.running + w.p.desired.warm +
		    w.p.desired.sleeping;
		for (pass = 0; pass < 8; pass++) {
			usage(&w, &before);
			plan(&w);
			check_plan(&w);
			for (size_t i = 0; i < w.pl.nsteps; i++)
				creates += w.pl.steps[i].action ==
				    MVM_PLAN_CREATE;
			apply(&w);
			check_quota(&w, &before);
			plan(&w);
			cr_assert_eq(w.pl.nsteps, 0, "round %d pass %d: %s %s",
			    round, pass, w.pl.steps[0].instance,
			    w.pl.steps[0].reason);
			if (w.pl.summary.next_at == 0)
				break;
			w.now = w.pl.summary.next_at;
		}
		cr_assert_lt(pass, 8, "round %d never settles", round);
		cr_assert_leq(creates, wanted);
		/* Only quota refusals may still be deferred now. */
		for (size_t i = 0; i < w.pl.ndeferred; i++)
			cr_assert_eq(w.pl.deferred[i].code, EDQUOT,
			    "round %d: %s", round, w.pl.deferred[i].reason);
		if (w.pl.ndeferred == 0 && w.pl.summary.busy == 0 &&
		    w.pl.summary.failed_holding == 0) {
			cr_assert(w.pl.summary.converged);
			cr_assert_eq(count(&w, MVM_STATE_RUNNING),
			    w.p.desired.running, "round %d", round);
			cr_assert_eq(count(&w, MVM_STATE_WARM),
			    w.p.desired.warm);
			cr_assert_eq(count(&w, MVM_STATE_SLEEPING),
			    w.p.desired.sleeping);
		}

		/* With room in every quota and time passed, it converges. */
		w.q.max_vcpus = w.q.max_running = w.q.max_warm = 1000000;
		w.q.max_instances_per_pool = 1000000;
		w.now += 100000;
		plan(&w);
		check_plan(&w);
		apply(&w);
		plan(&w);
		cr_assert_eq(w.pl.nsteps, 0);
		cr_assert_eq(w.pl.ndeferred, 0, "round %d: %s", round,
		    w.pl.ndeferred ? w.pl.deferred[0].reason : "");
		if (w.pl.summary.busy == 0 && w.pl.summary.failed_holding == 0) {
			cr_assert(w.pl.summary.converged);
			cr_assert_eq(count(&w, MVM_STATE_RUNNING),
			    w.p.desired.running, "round %d", round);
		}
		mvm_plan_free(&w.pl);
	}
}
