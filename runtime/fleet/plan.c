/* plan.c: the reconciler's planner: fill slots from the cheapest source. */
#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"

/*
 * Movable instances by state, warmest first. The first three double as
 * slot indices: running, warm, sleeping. B_BACKOFF holds stopped and
 * created instances waiting out a backoff; B_NEW stands for an instance
 * that does not exist yet; B_WAIT holds warm and sleeping instances that
 * wait out a backoff after a failure (they count in their state, but move
 * only to hold a slot nothing cheaper fills, like B_BACKOFF) and running
 * ones at the failure budget (they count in running and may only stop,
 * since a colder state would retire them); B_RETIRE holds warm and
 * sleeping instances that failed out, which go to stopped; B_NONE holds
 * the ones the planner leaves alone.
 */
enum bucket {
	B_RUNNING, B_WARM, B_SLEEPING, B_STOPPED, B_BACKOFF, B_WAIT, B_NEW,
	B_RETIRE, B_NONE, B_COUNT
};

#define NSLOTS	3

static const enum mvm_state slot_state[NSLOTS] = {
	MVM_STATE_RUNNING, MVM_STATE_WARM, MVM_STATE_SLEEPING
};

struct work {
	const struct mvm_plan_member *m;
	enum bucket	bucket;
	int64_t		backoff_until;	/* 0 when not backing off */
	int64_t		entry;		/* when it entered its state */
};

/* One decision: move `w` (NULL: a new instance) from `from` to `to`. */
struct move {
	const struct work *w;
	enum mvm_state	from;
	enum mvm_state	to;
	enum bucket	source;
	uint32_t	want;	/* the slot's desired count, for the reason */
	uint32_t	had;	/* what it had when this move was decided */
};

struct ctx {
	struct mvm_plan		*pl;
	const struct mvm_pool	*p;
	const struct mvm_quota	*q;
	struct mvm_usage	 u;	/* as the plan leaves it so far */
	struct mvm_plan_options	 o;
	int64_t			 now;
	struct work		*w;
	size_t			 n;
	size_t			 next[B_COUNT], end[B_COUNT];
	uint32_t		 have[NSLOTS];
	uint32_t		 want[NSLOTS];	/* the desired counts */
	uint32_t		 fill[NSLOTS];	/* want less slots held by quota */
	struct move		*moves;
	size_t			 nmoves;
	size_t			 nheld;		/* quota deferrals so far */
};

/*
 * Where a missing instance of each slot comes from, cheapest first, among
 * the instances that can move now. What is still missing after that is
 * held by failed-out and backing-off instances, then filled by new ones.
 */
static const struct {
	enum bucket	b;
	bool		surplus_only;	/* only what its own slot does not need */
} sources[NSLOTS][3] = {
	{ { B_WARM, false }, { B_SLEEPING, false }, { B_STOPPED, false } },
	{ { B_RUNNING, true }, { B_SLEEPING, false }, { B_STOPPED, false } },
	{ { B_WARM, true }, { B_RUNNING, true }, { B_STOPPED, false } },
};

static const char *const action_names[MVM_PLAN_ACTION_COUNT] = {
	[MVM_PLAN_CREATE] = "create",
	[MVM_PLAN_START] = "start",
	[MVM_PLAN_RESUME] = "resume",
	[MVM_PLAN_WAKE] = "wake",
	[MVM_PLAN_PAUSE] = "pause",
	[MVM_PLAN_SLEEP] = "sleep",
	[MVM_PLAN_STOP] = "stop",
	[MVM_PLAN_DESTROY] = "destroy",
};

const char *
mvm_plan_action_name(enum mvm_plan_action a)
{
	if ((unsigned)a >= MVM_PLAN_ACTION_COUNT)
		return "unknown";
	return action_names[a];
}

void
mvm_plan_options_defaults(struct mvm_plan_options *o)
{
	o->failure_budget = 3;
	o->backoff_seconds = 10;
	o->backoff_max_seconds = 600;
}

void
mvm_plan_init(struct mvm_plan *pl)
{
	memset(pl, 0, sizeof(*pl));
}

void
mvm_plan_free(struct mvm_plan *pl)
{
	if (pl == NULL)
		return;
	free(pl->steps);
	free(pl->deferred);
	free(pl->work);
	mvm_plan_init(pl);
}

/* The state an operation in progress leads to (waking: running). */
static enum mvm_state
op_target(enum mvm_op op, enum mvm_state s)
{
	switch (op) {
	case MVM_OP_STARTING:
	case MVM_OP_RESUMING:
	case MVM_OP_WAKING:
		return MVM_STATE_RUNNING;
	case MVM_OP_PAUSING:
		return MVM_STATE_WARM;
	case MVM_OP_SNAPSHOTTING:
		return MVM_STATE_SLEEPING;
	case MVM_OP_STOPPING:
		return MVM_STATE_STOPPED;
	case MVM_OP_DESTROYING:
		return MVM_STATE_DESTROYED;
	default:
		return s;
	}
}

static int
slot_of(enum mvm_state s)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slot_state[i] == s)
			return i;
	return -1;
}

/* When the backoff after the member's last failure ends, or 0. */
static int64_t
backoff_until(const struct mvm_plan_member *m,
    const struct mvm_plan_options *o, int64_t now)
{
	uint64_t delay = o->backoff_max_seconds;
	int64_t until;

	if (m->failures == 0 || m->last_failure_at <= 0)
		return 0;
	if (m->failures - 1 < 32)
		delay = (uint64_t)o->backoff_seconds << (m->failures - 1);
	if (delay > o->backoff_max_seconds)
		delay = o->backoff_max_seconds;
	if (__builtin_add_overflow(m->last_failure_at, (int64_t)delay, &until))
		until = INT64_MAX;
	return until > now ? until : 0;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return (a > b) - (a < b);
}

/* Bucket, then backoff, failures (for boots), entry, id. */
static int
cmp_work(const void *va, const void *vb)
{
	const struct work *a = va, *b = vb;
	int c;

	if (a->bucket != b->bucket)
		return (int)a->bucket - (int)b->bucket;
	/* The backoff that ends first first (B_BACKOFF, B_WAIT). */
	if ((c = cmp_i64(a->backoff_until, b->backoff_until)) != 0)
		return c;
	if ((a->bucket == B_STOPPED || a->bucket == B_BACKOFF) &&
	    (c = cmp_i64(a->m->failures, b->m->failures)) != 0)
		return c;
	if ((c = cmp_i64(a->entry, b->entry)) != 0)
		return c;
	return strcmp(a->m->in->id, b->m->in->id);
}

/* Whether the member's failures have reached the budget (rule 2). */
static bool
failed_out(const struct ctx *c, const struct mvm_plan_member *m)
{
	return c->o.failure_budget > 0 && m->failures >= c->o.failure_budget;
}

/* Classify every member; count what each slot has. */
static int
classify(struct ctx *c, const struct mvm_plan_member *m,
    struct mvm_error *e)
{
	struct mvm_plan_summary *s = &c->pl->summary;
	uint32_t failed = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct mvm_instance *in = m[i].in;
		struct work *w = &c->w[i];
		int slot;

		if (in == NULL)
			return mvm_error_set(e, EINVAL,
			    "member %zu of pool %s/%s has no instance", i,
			    c->p->tenant, c->p->id);
		if (strcmp(in->tenant, c->p->tenant) != 0 ||
		    strcmp(in->pool, c->p->id) != 0)
			return mvm_error_set(e, EINVAL,
			    "instance %s belongs to pool %s/%s, not %s/%s",
			    in->id, in->tenant, in->pool, c->p->tenant,
			    c->p->id);
		if ((unsigned)in->state >= MVM_STATE_COUNT ||
		    (unsigned)in->op >= MVM_OP_COUNT)
			return mvm_error_set(e, EINVAL,
			    "instance %s has state %d or op %d, which are not "
			    "valid", in->id, (int)in->state, (int)in->op);
		w->m = &m[i];
		w->bucket = B_NONE;
		w->backoff_until = 0;
		w->entry = in->created_at;
		s->states[in->state]++;
		if (in->op != MVM_OP_NONE) {
			s->busy++;
			if ((slot = slot_of(op_target(in->op, in->state))) >= 0)
				c->have[slot]++;
			continue;
		}
		/* Parked by the sleep policy: holds its old slot, if wanted. */
		if (in->parked && (slot = slot_of(in->parked_from)) >= 0 &&
		    c->have[slot] < c->want[slot] &&
		    (in->state == MVM_STATE_WARM ||
		    in->state == MVM_STATE_SLEEPING)) {
			s->parked++;
			c->have[slot]++;
			continue;
		}
		switch (in->state) {
		case MVM_STATE_RUNNING:
			w->bucket = failed_out(c, &m[i]) ? B_WAIT : B_RUNNING;
			w->entry = in->entered_running_at;
			break;
		case MVM_STATE_WARM:
		case MVM_STATE_SLEEPING:
			if (in->state == MVM_STATE_WARM) {
				w->bucket = B_WARM;
				w->entry = in->entered_warm_at;
			} else
				w->bucket = B_SLEEPING;
			/*
			 * A failed-out one does not count in its state: it
			 * holds a slot only when one is missing (assign), as a
			 * stopped one would.
			 */
			if (failed_out(c, &m[i])) {
				w->bucket = B_RETIRE;
				continue;
			}
			w->backoff_until = backoff_until(&m[i], &c->o, c->now);
			if (w->backoff_until > 0)
				w->bucket = B_WAIT;
			break;
		case MVM_STATE_CREATED:
		case MVM_STATE_STOPPED:
			if (failed_out(c, &m[i]))
				failed++;
			else if ((w->backoff_until = backoff_until(&m[i],
			    &c->o, c->now)) > 0)
				w->bucket = B_BACKOFF;
			else
				w->bucket = B_STOPPED;
			break;
		default:
			break;
		}
		if ((slot = slot_of(in->state)) >= 0)
			c->have[slot]++;
	}
	s->failed = failed;
	if (c->n > 0)
		qsort(c->w, c->n, sizeof(*c->w), cmp_work);
	for (size_t i = 0, b = 0; b < B_COUNT; b++) {
		c->next[b] = i;
		while (i < c->n && c->w[i].bucket == b)
			i++;
		c->end[b] = i;
	}
	return 0;
}

static bool
available(const struct ctx *c, enum bucket b)
{
	return b == B_NEW || c->next[b] < c->end[b];
}

/* Decide to move the next instance of bucket `b` (or a new one) to `to`. */
static void
decide(struct ctx *c, enum bucket b, enum mvm_state to, uint32_t want,
    uint32_t had)
{
	struct move *mv = &c->moves[c->nmoves++];

	mv->w = b == B_NEW ? NULL : &c->w[c->next[b]++];
	mv->from = mv->w != NULL ? mv->w->m->in->state : MVM_STATE_CREATED;
	mv->to = to;
	mv->source = b;
	mv->want = want;
	mv->had = had;
}

/*
 * Put the first waiting instance (B_WAIT) that may go next in line for
 * decide(): with `hold`, one of another slot that its own slot does not
 * need, to hold `slot` (it is then taken from its own: a move up is a
 * deferral until its backoff ends, a move down is carried out); otherwise
 * one in `slot` itself, to stop. Returns false when there is none.
 */
static bool
take_waiting(struct ctx *c, int slot, bool hold)
{
	for (size_t i = c->next[B_WAIT]; i < c->end[B_WAIT]; i++) {
		int own = slot_of(c->w[i].m->in->state);

		if (hold ? own == slot || own == 0 ||
		    c->have[own] <= c->want[own] : own != slot)
			continue;
		if (i != c->next[B_WAIT]) {
			struct work t = c->w[i];

			c->w[i] = c->w[c->next[B_WAIT]];
			c->w[c->next[B_WAIT]] = t;
		}
		if (hold)
			c->have[own]--;
		return true;
	}
	return false;
}

/*
 * Rules 2 to 4: which instance goes where. Slots that no instance able to
 * move now can fill are held by failed-out instances, then by backing-off
 * ones, coldest slot first, and only the rest is filled by new instances,
 * warmest slot first. Holding the coldest slots keeps the plan idempotent:
 * a new instance placed in a colder slot would be a cheaper source for a
 * warmer one in the next plan.
 */
static void
assign(struct ctx *c)
{
	uint32_t failed = c->pl->summary.failed;
	size_t retiring = c->end[B_RETIRE] - c->next[B_RETIRE];
	int slot;

	while (available(c, B_RETIRE))
		decide(c, B_RETIRE, MVM_STATE_STOPPED, 0, 0);
	for (slot = 0; slot < NSLOTS; slot++) {
		while (c->have[slot] < c->fill[slot]) {
			enum bucket b = B_NONE;

			for (int k = 0; k < 3 && b == B_NONE; k++) {
				b = sources[slot][k].b;
				if (!available(c, b) ||
				    (sources[slot][k].surplus_only &&
				    c->have[b] <= c->want[b]))
					b = B_NONE;
			}
			if (b == B_NONE)
				break;
			decide(c, b, slot_state[slot], c->want[slot],
			    c->have[slot]);
			if (b < NSLOTS)
				c->have[b]--;
			c->have[slot]++;
		}
	}
	for (slot = NSLOTS - 1; slot >= 0; slot--) {
		for (; failed > 0 && c->have[slot] < c->fill[slot]; failed--) {
			c->have[slot]++;
			c->pl->summary.failed_holding++;
		}
		/* Stopped after this plan, a retiring one can fill it next. */
		for (; retiring > 0 && c->have[slot] < c->fill[slot];
		    retiring--)
			c->have[slot]++;
		/* A waiting one its own slot can spare holds it. */
		while (c->have[slot] < c->fill[slot] &&
		    take_waiting(c, slot, true)) {
			decide(c, B_WAIT, slot_state[slot], c->want[slot],
			    c->have[slot]);
			c->have[slot]++;
		}
		while (c->have[slot] < c->fill[slot] &&
		    available(c, B_BACKOFF)) {
			decide(c, B_BACKOFF, slot_state[slot], c->want[slot],
			    c->have[slot]);
			c->have[slot]++;
		}
	}
	for (slot = 0; slot < NSLOTS; slot++) {
		while (c->have[slot] < c->fill[slot]) {
			decide(c, B_NEW, slot_state[slot], c->want[slot],
			    c->have[slot]);
			c->have[slot]++;
		}
	}
	for (slot = 0; slot < NSLOTS; slot++) {
		while (c->have[slot] > c->want[slot] &&
		    (available(c, (enum bucket)slot) ||
		    take_waiting(c, slot, false))) {
			decide(c, available(c, (enum bucket)slot) ?
			    (enum bucket)slot : B_WAIT, MVM_STATE_STOPPED,
			    c->want[slot], c->have[slot]);
			c->have[slot]--;
		}
	}
}

static bool
is_down(const struct move *mv)
{
	return mv->to == MVM_STATE_STOPPED ||
	    (mv->from == MVM_STATE_RUNNING && mv->to != MVM_STATE_RUNNING) ||
	    (mv->from == MVM_STATE_WARM && mv->to == MVM_STATE_SLEEPING);
}

static enum mvm_plan_action
action_of(const struct move *mv)
{
	if (mv->w == NULL)
		return MVM_PLAN_CREATE;
	switch (mv->from) {
	case MVM_STATE_CREATED:
	case MVM_STATE_STOPPED:
		return MVM_PLAN_START;
	case MVM_STATE_WARM:
		return mv->to == MVM_STATE_RUNNING ? MVM_PLAN_RESUME :
		    mv->to == MVM_STATE_SLEEPING ? MVM_PLAN_SLEEP :
		    MVM_PLAN_STOP;
	case MVM_STATE_SLEEPING:
		return mv->to == MVM_STATE_STOPPED ? MVM_PLAN_STOP :
		    MVM_PLAN_WAKE;
	default:
		return mv->to == MVM_STATE_WARM ? MVM_PLAN_PAUSE :
		    mv->to == MVM_STATE_SLEEPING ? MVM_PLAN_SLEEP :
		    MVM_PLAN_STOP;
	}
}

static uint32_t
add_u32(uint32_t a, int64_t d)
{
	if (d < 0)
		return (uint64_t)-d > a ? 0 : a - (uint32_t)-d;
	return d > (int64_t)(UINT32_MAX - a) ? UINT32_MAX : a + (uint32_t)d;
}

/* Add a delta, freeing parts included, to usage `u`. */
static void
apply(struct mvm_usage *u, const struct mvm_quota_delta *d)
{
	u->vcpus = add_u32(u->vcpus, d->vcpus);
	u->mem_mib = add_u32(u->mem_mib, d->mem_mib);
	u->running = add_u32(u->running, d->running);
	u->warm = add_u32(u->warm, d->warm);
	u->pools = add_u32(u->pools, d->pools);
	u->pool_instances = add_u32(u->pool_instances, d->pool_instances);
	if (d->disk_mib < 0)
		u->disk_mib = (uint64_t)-d->disk_mib > u->disk_mib ? 0 :
		    u->disk_mib - (uint64_t)-d->disk_mib;
	else if (__builtin_add_overflow(u->disk_mib, (uint64_t)d->disk_mib,
	    &u->disk_mib))
		u->disk_mib = UINT64_MAX;
}

/* Check one delta against the quota and add it to *u when it passes. */
static int
charge(const struct ctx *c, struct mvm_usage *u,
    const struct mvm_quota_delta *d, struct mvm_error *e)
{
	int rc;

	if ((rc = mvm_quota_check(c->q, u, d, NULL, e)) == 0)
		apply(u, d);
	return rc;
}

/*
 * Rule 6: charge the whole move to a copy of the usage, which replaces
 * the plan's only if every part passes.
 */
static int
charge_move(struct ctx *c, const struct move *mv, struct mvm_error *e)
{
	struct mvm_usage u = c->u;
	struct mvm_quota_delta d;
	enum mvm_state from = mv->from;
	int rc;

	if (mv->w == NULL) {
		mvm_quota_delta_instance_create(&d, c->p);
		if ((rc = charge(c, &u, &d, e)) != 0)
			return rc;
	}
	if (from == MVM_STATE_CREATED || from == MVM_STATE_STOPPED) {
		/* Every boot passes through running: charge the peak. */
		mvm_quota_delta_transition(&d, c->p, from, MVM_STATE_RUNNING);
		if ((rc = charge(c, &u, &d, e)) != 0)
			return rc;
		from = MVM_STATE_RUNNING;
	}
	if (from != mv->to) {
		mvm_quota_delta_transition(&d, c->p, from, mv->to);
		if ((rc = charge(c, &u, &d, e)) != 0)
			return rc;
	}
	c->u = u;
	return 0;
}

static void
defer(struct ctx *c, const struct move *mv, const struct mvm_error *err,
    int64_t eligible_at)
{
	struct mvm_plan *pl = c->pl;
	struct mvm_plan_deferral *d = &pl->deferred[pl->ndeferred++];

	memset(d, 0, sizeof(*d));
	if (mv->w != NULL)
		snprintf(d->instance, sizeof(d->instance), "%s",
		    mv->w->m->in->id);
	d->action = action_of(mv);
	d->from = mv->from;
	d->to = mv->to;
	d->code = err->code;
	snprintf(d->reason, sizeof(d->reason), "%s", err->msg);
	d->eligible_at = eligible_at;
	if (eligible_at > 0 && (pl->summary.next_at == 0 ||
	    eligible_at < pl->summary.next_at))
		pl->summary.next_at = eligible_at;
}

static void
step(struct ctx *c, const struct move *mv)
{
	static const char *const from_words[B_COUNT] = {
		[B_RUNNING] = "surplus running",
		[B_WARM] = "warm",
		[B_SLEEPING] = "sleeping",
		[B_STOPPED] = "stopped",
		[B_BACKOFF] = "stopped",
		[B_WAIT] = "one backing off",
		[B_NEW] = "a new instance",
	};
	struct mvm_plan *pl = c->pl;
	struct mvm_plan_step *st = &pl->steps[pl->nsteps++];
	const char *src = from_words[mv->source];

	memset(st, 0, sizeof(*st));
	if (mv->w != NULL)
		snprintf(st->instance, sizeof(st->instance), "%s",
		    mv->w->m->in->id);
	st->action = action_of(mv);
	st->from = mv->from;
	st->to = mv->to;
	if (mv->from == MVM_STATE_CREATED && mv->w != NULL)
		src = "created";
	if (mv->source == B_RETIRE)
		snprintf(st->reason, sizeof(st->reason),
		    "instance failed %u times to leave %s (budget %u): it goes "
		    "to stopped and its slot is filled afresh",
		    mv->w->m->failures, mvm_state_name(mv->from),
		    c->o.failure_budget);
	else if (mv->to == MVM_STATE_STOPPED)
		snprintf(st->reason, sizeof(st->reason),
		    "pool wants %u %s, has %u: the surplus goes to stopped",
		    mv->want, mvm_state_name(mv->from), mv->had);
	else
		snprintf(st->reason, sizeof(st->reason),
		    "pool wants %u %s, has %u: filled from %s (%s)", mv->want,
		    mvm_state_name(mv->to), mv->had, src,
		    action_names[st->action]);
}

/* Rule 5 for one move down: minimum runtime, then quota. */
static void
emit_down(struct ctx *c, const struct move *mv)
{
	const struct mvm_instance *in = mv->w->m->in;
	struct mvm_error err;

	mvm_error_clear(&err);
	if (mvm_fsm_eligible(in, mv->to, &c->p->runtime, c->now, false,
	    &err) != 0)
		defer(c, mv, &err, mvm_fsm_eligible_at(in, mv->to,
		    &c->p->runtime));
	else if (charge_move(c, mv, &err) != 0)
		defer(c, mv, &err, 0);
	else
		step(c, mv);
}

/*
 * Rule 5 for one move up: backoff after failures, then quota. Returns
 * -EDQUOT with the sentence in *err when the quota refuses it, and leaves
 * the deferral to the caller.
 */
static int
emit_up(struct ctx *c, const struct move *mv, struct mvm_error *err)
{
	const struct work *w = mv->w;

	mvm_error_clear(err);
	if (w != NULL && w->backoff_until > 0) {
		mvm_error_set(err, EAGAIN,
		    "instance %s failed %u times (budget %u): backing off "
		    "until %lld, %lld s from now", w->m->in->id,
		    w->m->failures, c->o.failure_budget,
		    (long long)w->backoff_until,
		    (long long)(w->backoff_until - c->now));
		defer(c, mv, err, w->backoff_until);
	} else if (charge_move(c, mv, err) != 0)
		return -EDQUOT;
	else
		step(c, mv);
	return 0;
}

/*
 * One planning attempt over the classified members. Returns true when it
 * is final; false when the quota refused a move up, which is then recorded
 * as a deferral that holds its slot, so the next attempt fills the other
 * slots with the instances that move would have used.
 */
static bool
attempt(struct ctx *c, const struct ctx *base)
{
	struct mvm_plan *pl = c->pl;
	struct mvm_error err;
	struct move mv;

	memcpy(c->have, base->have, sizeof(c->have));
	memcpy(c->next, base->next, sizeof(c->next));
	c->u = base->u;
	c->nmoves = 0;
	pl->nsteps = 0;
	pl->ndeferred = c->nheld;
	pl->summary.failed_holding = 0;
	pl->summary.next_at = 0;
	assign(c);
	for (size_t i = 0; i < c->nmoves; i++)
		if (is_down(&c->moves[i]))
			emit_down(c, &c->moves[i]);
	for (size_t i = 0; i < c->nmoves; i++) {
		if (is_down(&c->moves[i]) ||
		    emit_up(c, &c->moves[i], &err) == 0)
			continue;
		/* A quota deferral waits for a slot, not for an instance. */
		mv = c->moves[i];
		mv.w = NULL;
		pl->ndeferred = c->nheld++;
		defer(c, &mv, &err, 0);
		pl->deferred[pl->ndeferred - 1].action = action_of(&c->moves[i]);
		c->fill[slot_of(mv.to)]--;
		return false;
	}
	return true;
}

/* Make room for `n` instances, `want` desired, `nmoves` moves at most. */
static int
reserve(struct mvm_plan *pl, size_t n, size_t nmoves)
{
	size_t bytes = n * sizeof(struct work) + nmoves * sizeof(struct move);
	void *p;

	if (pl->work_cap < bytes) {
		if ((p = realloc(pl->work, bytes)) == NULL)
			return -ENOMEM;
		pl->work = p;
		pl->work_cap = bytes;
	}
	if (pl->step_cap < nmoves) {
		if ((p = reallocarray(pl->steps, nmoves,
		    sizeof(*pl->steps))) == NULL)
			return -ENOMEM;
		pl->steps = p;
		pl->step_cap = nmoves;
	}
	if (pl->def_cap < nmoves) {
		if ((p = reallocarray(pl->deferred, nmoves,
		    sizeof(*pl->deferred))) == NULL)
			return -ENOMEM;
		pl->deferred = p;
		pl->def_cap = nmoves;
	}
	return 0;
}

int
mvm_plan_pool(struct mvm_plan *pl, const struct mvm_pool *p,
    const struct mvm_plan_member *m, size_t n, const struct mvm_quota *q,
    const struct mvm_usage *u, const struct mvm_plan_options *o, int64_t now,
    struct mvm_error *e)
{
	struct mvm_plan_summary *s = &pl->summary;
	struct ctx c, base;
	size_t most;
	int rc;

	pl->nsteps = pl->ndeferred = 0;
	memset(s, 0, sizeof(*s));
	memset(&c, 0, sizeof(c));
	c.want[0] = p->desired.running;
	c.want[1] = p->desired.warm;
	c.want[2] = p->desired.sleeping;
	for (int i = 0; i < NSLOTS; i++)
		if (c.want[i] > MVM_PLAN_COUNT_MAX)
			return mvm_error_set(e, EINVAL,
			    "pool %s/%s wants %u %s; at most %d are allowed",
			    p->tenant, p->id, c.want[i],
			    mvm_state_name(slot_state[i]), MVM_PLAN_COUNT_MAX);
	/* Every member moves at most once; new ones fill wanted slots only. */
	most = n + (size_t)c.want[0] + c.want[1] + c.want[2];
	if ((rc = reserve(pl, n, most)) != 0)
		return mvm_error_set(e, -rc, "no memory to plan pool %s/%s",
		    p->tenant, p->id);
	c.pl = pl;
	c.p = p;
	c.q = q;
	c.u = *u;
	if (o != NULL)
		c.o = *o;
	else
		mvm_plan_options_defaults(&c.o);
	c.now = now;
	c.w = pl->work;
	c.n = n;
	c.moves = (struct move *)(c.w + n);
	s->desired = p->desired;
	if ((rc = classify(&c, m, e)) != 0)
		goto fail;
	memcpy(c.fill, c.want, sizeof(c.fill));
	base = c;
	while (!attempt(&c, &base))
		continue;
	/* A pass is due when a recovering instance may have its count cleared. */
	for (size_t i = 0; i < n; i++) {
		int64_t at = mvm_fsm_settle_at(m[i].in, &p->runtime);

		if (at > now && (s->next_at == 0 || at < s->next_at))
			s->next_at = at;
	}
	s->steps = pl->nsteps;
	s->deferred = pl->ndeferred;
	s->converged = pl->nsteps == 0 && pl->ndeferred == 0 && s->busy == 0 &&
	    s->failed_holding == 0;
	return 0;

fail:
	memset(s, 0, sizeof(*s));
	return rc;
}

int
mvm_plan_summary_format(const struct mvm_plan_summary *s, char *buf,
    size_t len)
{
	return snprintf(buf, len, "converged=%s running=%u/%u warm=%u/%u "
	    "sleeping=%u/%u busy=%u parked=%u failed=%u steps=%zu "
	    "deferred=%zu next_at=%lld", s->converged ? "yes" : "no",
	    s->states[MVM_STATE_RUNNING], s->desired.running,
	    s->states[MVM_STATE_WARM], s->desired.warm,
	    s->states[MVM_STATE_SLEEPING], s->desired.sleeping, s->busy,
	    s->parked, s->failed, s->steps, s->deferred,
	    (long long)s->next_at);
}
