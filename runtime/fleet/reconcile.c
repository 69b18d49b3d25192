/*
 * reconcile.c: the reconciler (see reconcile.h). One scheduler thread
 * reads the store and plans pools; worker threads carry the steps out
 * through the engine. Everything shared lives under one mutex, which is
 * never held across a store, engine or callback call.
 */
#include "reconcile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "names.h"
#include "objects.h"
#include "quota.h"
#include "store.h"
#include "usage.h"
#include "world.h"

#define DEFAULT_CONCURRENCY	2
#define DEFAULT_INTERVAL_MS	30000
/* After a round the engine deferred (a race the plan could not see). */
#define DEFER_RETRY_MS		1000
/* Generated ids that collide before a create gives up. */
#define CREATE_TRIES		8
/* Slack after a next_at, so the plan made then sees it reached. */
#define DUE_SLACK_MS		20
/* The longest pending line: action, instance, states and a sentence. */
#define LINE_MAX_LEN		(MVM_ID_MAX + MVM_ERROR_MSG_MAX + 64)
/* run_step's answer for a step whose instance changed since the plan. */
#define DROPPED			1

enum task_state {
	T_HELD,		/* a move up waiting for the moves down */
	T_QUEUED,
	T_RUNNING,
	T_DONE,		/* done, failed or dropped: no longer pending */
	T_DEFERRED,	/* the engine deferred it: pending with its reason */
};

struct pool;

struct task {
	struct task		*next;		/* in the queue */
	struct pool		*pool;
	struct mvm_plan_step	 step;
	bool			 heavy;		/* a boot or a wake */
	bool			 down;		/* pause, sleep or stop */
	enum task_state		 state;
	char			 why[MVM_ERROR_MSG_MAX];	/* T_DEFERRED */
};

/* What identifies a deferral from one pass to the next (for events). */
struct defkey {
	char			 instance[MVM_ID_MAX + 1];
	enum mvm_plan_action	 action;
	enum mvm_state		 to;
	int			 code;
};

struct pool {
	char			 tenant[MVM_ID_MAX + 1];
	char			 id[MVM_ID_MAX + 1];
	bool			 wanted;	/* pass as soon as possible */
	bool			 passing;	/* the scheduler is planning it */
	bool			 held;		/* being pruned: never passed */
	bool			 active;	/* steps queued or running */
	bool			 passed;
	bool			 engine_deferred; /* in this round */
	int64_t			 due_ms;	/* monotonic; 0: nothing due */
	int64_t			 pass_ms;	/* real time the last pass began */
	int64_t			 last_pass_at;
	uint32_t		 last_pass_us;
	uint64_t		 revision;	/* of the pool the pass read */
	unsigned		 seen;		/* node scan generation */
	struct mvm_plan_summary	 summary;
	struct mvm_reconcile_counts totals;
	struct task		*tasks;		/* this round's steps */
	size_t			 ntasks, nleft, ndown;
	char			*waits;		/* deferral and hold lines */
	struct defkey		*prev;		/* the scheduler's own */
	size_t			 nprev;
};

struct mvm_reconcile {
	struct mvm_reconcile_config cfg;
	struct mvm_plan_options	 opt;
	pthread_mutex_t		 mu;
	pthread_cond_t		 sched_cv;	/* the scheduler has work */
	pthread_cond_t		 work_cv;	/* a task, or a free boot slot */
	pthread_cond_t		 progress_cv;	/* a pass or a round ended */
	pthread_t		 sched;
	bool			 sched_started;
	pthread_t		*workers;
	unsigned		 nworkers;	/* started */
	bool			 closing;
	bool			 kick_all;
	char			(*kick_tenants)[MVM_ID_MAX + 1];
	size_t			 nkick_tenants, kick_cap;
	int64_t			 periodic_ms;	/* the next full pass, monotonic */
	unsigned		 scan_gen;
	struct pool		**pools;	/* sorted by (tenant, id) */
	size_t			 npools, pools_cap;
	struct task		*head, *tail;	/* the queue */
	unsigned		 heavy;		/* boots and wakes running */
	/* The scheduler's own. */
	struct mvm_plan		 plan;
	struct mvm_plan_member	*members;
	size_t			 members_cap;
};

/* The whole node as one read sees it, and each tenant's usage. */
struct node {
	struct mvm_world	 w;
	struct mvm_usage	*usage;		/* parallel to w.tenants */
};

/* What planning one pool needs. */
struct input {
	struct mvm_pool			 pool;
	struct mvm_quota		 quota;
	struct mvm_usage		 usage;
	const struct mvm_instance	*ins;
	size_t				 nins;
};

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static int64_t
real_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Make room for one more element of `size` bytes in *arr. */
static int
grow(void *arr, size_t *cap, size_t n, size_t size)
{
	void **p = arr, *np;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : 16;
	if ((np = reallocarray(*p, ncap, size)) == NULL)
		return -ENOMEM;
	*p = np;
	*cap = ncap;
	return 0;
}

static void
node_free(struct node *nd)
{
	mvm_world_free(&nd->w);
	free(nd->usage);
	memset(nd, 0, sizeof(*nd));
}

/* Read every tenant, pool and instance, and each tenant's usage. */
static int
node_read(struct mvm_store *st, struct node *nd, struct mvm_error *e)
{
	int rc;

	memset(nd, 0, sizeof(*nd));
	if ((rc = mvm_world_load(st, NULL, 0, &nd->w, e)) < 0)
		return rc;
	if (nd->w.ntenants > 0 && (nd->usage = calloc(nd->w.ntenants,
	    sizeof(*nd->usage))) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "no memory to read the node");
		goto fail;
	}
	for (size_t i = 0; i < nd->w.ntenants; i++)
		if ((rc = mvm_usage_tenant(st, nd->w.tenants[i].id, NULL,
		    &nd->usage[i], e)) < 0)
			goto fail;
	return 0;

fail:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to read the node");
	node_free(nd);
	return rc;
}

static int
key_cmp(const char *t1, const char *p1, const char *t2, const char *p2)
{
	int c = strcmp(t1, t2);

	return c != 0 ? c : strcmp(p1, p2);
}

/* The input of pool `i` of the node; false when its tenant is missing. */
static bool
node_input(const struct node *nd, size_t i, struct input *in)
{
	const struct mvm_pool *p = &nd->w.pools[i];
	const struct mvm_instance *ins;
	const struct mvm_tenant *t;
	struct mvm_usage scratch;
	size_t n;

	if ((t = mvm_world_tenant(&nd->w, p->tenant)) == NULL)
		return false;
	n = mvm_world_pool_instances(&nd->w, p->tenant, p->id, &ins);
	memset(&scratch, 0, sizeof(scratch));
	for (size_t j = 0; j < n; j++)
		mvm_quota_usage_add(&scratch, p, ins[j].state);
	in->pool = *p;
	in->quota = t->quota;
	in->usage = nd->usage[t - nd->w.tenants];
	in->usage.pool_instances = scratch.pool_instances;
	in->ins = ins;
	in->nins = n;
	return true;
}

/* Plan one pool's input into `pl`; *m and *cap are a reusable buffer. */
static int
plan_input(struct mvm_plan *pl, const struct input *in,
    struct mvm_plan_member **m, size_t *cap, const struct mvm_plan_options *o,
    int64_t now, struct mvm_error *e)
{
	for (size_t i = 0; i < in->nins; i++) {
		if (grow(m, cap, i, sizeof(**m)) < 0)
			return mvm_error_set(e, ENOMEM,
			    "no memory to plan pool %s/%s", in->pool.tenant,
			    in->pool.id);
		(*m)[i] = (struct mvm_plan_member){ .in = &in->ins[i],
		    .failures = in->ins[i].failures,
		    .last_failure_at = in->ins[i].last_failure_at };
	}
	return mvm_plan_pool(pl, &in->pool, *m, in->nins, &in->quota,
	    &in->usage, o, now, e);
}

/* The parts of a pool a document sets (its spec and counts). */
static bool
spec_equal(const struct mvm_pool *a, const struct mvm_pool *b)
{
	return strcmp(a->image, b->image) == 0 && a->vcpus == b->vcpus &&
	    a->mem_mib == b->mem_mib && a->data_disk_mib == b->data_disk_mib &&
	    a->desired.running == b->desired.running &&
	    a->desired.warm == b->desired.warm &&
	    a->desired.sleeping == b->desired.sleeping &&
	    a->runtime.min_running_seconds == b->runtime.min_running_seconds &&
	    a->runtime.min_warm_seconds == b->runtime.min_warm_seconds &&
	    a->runtime.drain_timeout_seconds ==
	    b->runtime.drain_timeout_seconds &&
	    a->runtime.graceful_shutdown_seconds ==
	    b->runtime.graceful_shutdown_seconds;
}

static void
spec_copy(struct mvm_pool *dst, const struct mvm_pool *src)
{
	memcpy(dst->image, src->image, sizeof(dst->image));
	dst->vcpus = src->vcpus;
	dst->mem_mib = src->mem_mib;
	dst->data_disk_mib = src->data_disk_mib;
	dst->desired = src->desired;
	dst->runtime = src->runtime;
	dst->managed = true;
}

static const struct mvm_desired_tenant *
doc_tenant(const struct mvm_desired *d, const char *id)
{
	for (size_t i = 0; i < d->ntenants; i++)
		if (strcmp(d->tenants[i].tenant.id, id) == 0)
			return &d->tenants[i];
	return NULL;
}

static const struct mvm_desired_pool *
doc_pool(const struct mvm_desired_tenant *dt, const char *id)
{
	for (size_t i = 0; i < dt->npools; i++)
		if (strcmp(dt->pools[i].pool.id, id) == 0)
			return &dt->pools[i];
	return NULL;
}

/* "<action> <instance or new> <from> -> <to>: <reason>" */
static int
line_format(char *buf, size_t len, const char *action, const char *instance,
    enum mvm_state from, enum mvm_state to, const char *reason)
{
	return snprintf(buf, len, "%s %s %s -> %s: %s", action,
	    instance[0] != '\0' ? instance : "new", mvm_state_name(from),
	    mvm_state_name(to), reason);
}

/* Write an event of pool tenant/pool and hand it to on_event. */
static void
event(struct mvm_reconcile *r, const char *tenant, const char *pool,
    const char *instance, const char *action, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
event(struct mvm_reconcile *r, const char *tenant, const char *pool,
    const char *instance, const char *action, const char *fmt, ...)
{
	struct mvm_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = real_ms();
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", instance);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (mvm_store_event_add(r->cfg.st, &ev, &ev.seq, NULL) == 0 &&
	    r->cfg.on_event != NULL)
		r->cfg.on_event(r->cfg.on_event_arg, &ev);
}

static void
changed(struct mvm_reconcile *r, enum mvm_reconcile_change what,
    const char *tenant, const char *pool)
{
	if (r->cfg.on_change != NULL)
		r->cfg.on_change(r->cfg.on_change_arg, what, tenant, pool);
}

static void
counts_add(struct mvm_reconcile_counts *a, const struct mvm_reconcile_counts *b)
{
	a->created += b->created;
	a->started += b->started;
	a->resumed += b->resumed;
	a->woken += b->woken;
	a->warmed += b->warmed;
	a->slept += b->slept;
	a->stopped += b->stopped;
	a->deferred += b->deferred;
	a->failed += b->failed;
}

/* a += b - base, each count at least 0 (a forgotten pool starts over). */
static void
counts_add_since(struct mvm_reconcile_counts *a,
    const struct mvm_reconcile_counts *b,
    const struct mvm_reconcile_counts *base)
{
#define SINCE(f)	a->f += b->f >= base->f ? b->f - base->f : b->f
	SINCE(created);
	SINCE(started);
	SINCE(resumed);
	SINCE(woken);
	SINCE(warmed);
	SINCE(slept);
	SINCE(stopped);
	SINCE(deferred);
	SINCE(failed);
#undef SINCE
}

/*
 * The pool table. Callers hold r->mu. Returns the index where tenant/id is
 * or would go; *found says which.
 */
static size_t
pool_index(const struct mvm_reconcile *r, const char *tenant, const char *id,
    bool *found)
{
	size_t lo = 0, hi = r->npools;

	*found = false;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = key_cmp(tenant, id, r->pools[mid]->tenant,
		    r->pools[mid]->id);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static struct pool *
pool_find(const struct mvm_reconcile *r, const char *tenant, const char *id)
{
	bool found;
	size_t i = pool_index(r, tenant, id, &found);

	return found ? r->pools[i] : NULL;
}

/* Find or add tenant/id; NULL when out of memory. */
static struct pool *
pool_add(struct mvm_reconcile *r, const char *tenant, const char *id)
{
	struct pool *p;
	bool found;
	size_t i = pool_index(r, tenant, id, &found);

	if (found)
		return r->pools[i];
	if (grow(&r->pools, &r->pools_cap, r->npools, sizeof(*r->pools)) < 0 ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	snprintf(p->tenant, sizeof(p->tenant), "%s", tenant);
	snprintf(p->id, sizeof(p->id), "%s", id);
	memmove(&r->pools[i + 1], &r->pools[i],
	    (r->npools - i) * sizeof(*r->pools));
	r->pools[i] = p;
	r->npools++;
	return p;
}

static void
pool_free(struct pool *p)
{
	free(p->tasks);
	free(p->waits);
	free(p->prev);
	free(p);
}

/* Forget pool `p`, which nobody is using. */
static void
pool_forget(struct mvm_reconcile *r, struct pool *p)
{
	bool found;
	size_t i = pool_index(r, p->tenant, p->id, &found);

	if (!found || r->pools[i] != p)
		return;
	memmove(&r->pools[i], &r->pools[i + 1],
	    (r->npools - i - 1) * sizeof(*r->pools));
	r->npools--;
	pool_free(p);
}

static bool
pool_busy(const struct pool *p)
{
	return p->active || p->passing || p->held;
}

/* Settled since `since_ms`: passed, nothing queued and nothing to do. */
static bool
pool_settled(const struct pool *p, int64_t since_ms)
{
	return p != NULL && p->passed && p->pass_ms >= since_ms &&
	    !p->active && !p->passing && !p->wanted &&
	    p->summary.steps == 0 && p->summary.busy == 0;
}

static void
enqueue(struct mvm_reconcile *r, struct task *t)
{
	t->state = T_QUEUED;
	t->next = NULL;
	if (r->tail != NULL)
		r->tail->next = t;
	else
		r->head = t;
	r->tail = t;
}

/* The first queued task a worker may run now, unlinked; NULL if none. */
static struct task *
dequeue(struct mvm_reconcile *r)
{
	struct task *t, *prev = NULL;

	for (t = r->head; t != NULL; prev = t, t = t->next) {
		if (t->heavy && r->heavy >= r->cfg.concurrency)
			continue;
		if (prev != NULL)
			prev->next = t->next;
		else
			r->head = t->next;
		if (r->tail == t)
			r->tail = prev;
		t->next = NULL;
		return t;
	}
	return NULL;
}

static bool
is_heavy(enum mvm_plan_action a)
{
	return a == MVM_PLAN_CREATE || a == MVM_PLAN_START ||
	    a == MVM_PLAN_WAKE;
}

static bool
is_down(enum mvm_plan_action a)
{
	return a == MVM_PLAN_PAUSE || a == MVM_PLAN_SLEEP ||
	    a == MVM_PLAN_STOP || a == MVM_PLAN_DESTROY;
}

/* Append `line` and a newline to the malloc'd text *buf of length *len. */
static int
text_add(char **buf, size_t *len, size_t *cap, const char *line)
{
	size_t n = strlen(line);
	char *nb;

	if (*len + n + 2 > *cap) {
		size_t ncap = (*len + n + 2) * 2;

		if ((nb = realloc(*buf, ncap)) == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, line, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
	return 0;
}

/*
 * Record the plan in `pl` as pool p's last pass and queue its steps. Runs
 * on the scheduler thread while p->passing keeps everyone else off p.
 */
static void
record(struct mvm_reconcile *r, struct pool *p, const struct mvm_plan *pl,
    const struct input *in, int64_t pass_ms, uint32_t us, int64_t now)
{
	struct defkey *keys = NULL;
	struct task *tasks = NULL;
	char *waits = NULL, line[LINE_MAX_LEN];
	size_t wlen = 0, wcap = 0, ndown = 0;
	uint32_t fresh = 0;

	if (pl->ndeferred > 0)
		keys = calloc(pl->ndeferred, sizeof(*keys));
	if (pl->nsteps > 0 &&
	    (tasks = calloc(pl->nsteps, sizeof(*tasks))) == NULL) {
		/* Plan again at the next trigger rather than lose steps. */
		free(keys);
		pthread_mutex_lock(&r->mu);
		p->due_ms = mono_ms() + DEFER_RETRY_MS;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	/* A deferral is an event when it is new since the last pass. */
	for (size_t i = 0; i < pl->ndeferred; i++) {
		const struct mvm_plan_deferral *d = &pl->deferred[i];
		const char *action = mvm_plan_action_name(d->action);
		bool seen = false;

		for (size_t j = 0; j < p->nprev && !seen; j++)
			seen = strcmp(p->prev[j].instance, d->instance) == 0 &&
			    p->prev[j].action == d->action &&
			    p->prev[j].to == d->to &&
			    p->prev[j].code == d->code;
		line_format(line, sizeof(line), action, d->instance, d->from,
		    d->to, d->reason);
		text_add(&waits, &wlen, &wcap, line);
		if (keys != NULL) {
			snprintf(keys[i].instance, sizeof(keys[i].instance),
			    "%s", d->instance);
			keys[i].action = d->action;
			keys[i].to = d->to;
			keys[i].code = d->code;
		}
		if (!seen) {
			fresh++;
			event(r, p->tenant, p->id, d->instance,
			    "reconcile.defer", "%s", line);
		}
	}
	free(p->prev);
	p->prev = keys;
	p->nprev = keys != NULL ? pl->ndeferred : 0;
	/* Failed-out instances hold their slots with their errors. */
	for (size_t i = 0; i < in->nins && r->opt.failure_budget > 0; i++) {
		const struct mvm_instance *x = &in->ins[i];
		char why[MVM_ERROR_MSG_MAX];

		if (x->op != MVM_OP_NONE ||
		    x->failures < r->opt.failure_budget ||
		    (x->state != MVM_STATE_STOPPED &&
		    x->state != MVM_STATE_CREATED))
			continue;
		snprintf(why, sizeof(why), "failed out after %u failures "
		    "(budget %u): %s", x->failures, r->opt.failure_budget,
		    x->reason);
		line_format(line, sizeof(line), "hold", x->id, x->state,
		    x->state, why);
		text_add(&waits, &wlen, &wcap, line);
	}
	for (size_t i = 0; i < pl->nsteps; i++) {
		tasks[i].step = pl->steps[i];
		tasks[i].heavy = is_heavy(pl->steps[i].action);
		tasks[i].down = is_down(pl->steps[i].action);
		tasks[i].state = T_HELD;
		ndown += tasks[i].down;
	}

	pthread_mutex_lock(&r->mu);
	free(p->tasks);
	free(p->waits);
	p->tasks = tasks;
	p->waits = waits;
	p->ntasks = p->nleft = pl->nsteps;
	p->ndown = ndown;
	p->passed = true;
	p->pass_ms = pass_ms;
	p->last_pass_at = now;
	p->last_pass_us = us;
	p->revision = in->pool.revision;
	p->summary = pl->summary;
	p->totals.deferred += fresh;
	p->engine_deferred = false;
	p->active = pl->nsteps > 0;
	p->due_ms = 0;
	if (pl->summary.next_at > 0) {
		int64_t wait = pl->summary.next_at * 1000 - real_ms();

		p->due_ms = mono_ms() + (wait > 0 ? wait : 0) + DUE_SLACK_MS;
	}
	/* Moves down first; the moves up when they have all ended. */
	for (size_t i = 0; i < p->ntasks; i++) {
		p->tasks[i].pool = p;
		if (p->tasks[i].down || ndown == 0)
			enqueue(r, &p->tasks[i]);
	}
	pthread_cond_broadcast(&r->work_cv);
	pthread_cond_broadcast(&r->progress_cv);
	pthread_mutex_unlock(&r->mu);
	changed(r, MVM_RECONCILE_POOL_PASSED, p->tenant, p->id);
}

/* Plan pool p from `in` and record it. */
static void
pass_input(struct mvm_reconcile *r, struct pool *p, const struct input *in,
    int64_t pass_ms, int64_t t0_us)
{
	struct mvm_error err;
	int64_t now = time(NULL);
	uint32_t us;

	/* A pool nobody gave counts to is left as its operator has it. */
	if (!in->pool.managed) {
		pthread_mutex_lock(&r->mu);
		p->passed = false;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	mvm_error_clear(&err);
	if (plan_input(&r->plan, in, &r->members, &r->members_cap, &r->opt,
	    now, &err) < 0) {
		event(r, p->tenant, p->id, "", "reconcile.fail",
		    "cannot plan the pool: %s", err.msg);
		pthread_mutex_lock(&r->mu);
		p->due_ms = mono_ms() + r->cfg.interval_ms;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	us = (uint32_t)(mono_us() - t0_us);
	record(r, p, &r->plan, in, pass_ms, us, now);
}

struct list {
	struct mvm_instance	*ins;
	size_t			 n, cap;
};

static int
list_add(const struct mvm_instance *in, void *arg)
{
	struct list *l = arg;

	if (grow(&l->ins, &l->cap, l->n, sizeof(*in)) < 0)
		return -ENOMEM;
	l->ins[l->n++] = *in;
	return 0;
}

/* One pool's pass, reading only that pool. p->passing is set. */
static void
pass_one(struct mvm_reconcile *r, struct pool *p)
{
	struct mvm_tenant t;
	struct input in;
	struct list l = { 0 };
	int64_t pass_ms = real_ms(), t0 = mono_us();
	int rc;

	memset(&in, 0, sizeof(in));
	rc = mvm_store_pool_get(r->cfg.st, p->tenant, p->id, &in.pool, NULL);
	if (rc == 0)
		rc = mvm_store_tenant_get(r->cfg.st, p->tenant, &t, NULL);
	if (rc == 0)
		rc = mvm_store_instance_list(r->cfg.st, p->tenant, p->id,
		    list_add, &l, NULL);
	if (rc == 0)
		rc = mvm_usage_tenant(r->cfg.st, p->tenant, p->id, &in.usage,
		    NULL);
	if (rc == 0) {
		in.quota = t.quota;
		in.ins = l.ins;
		in.nins = l.n;
		pass_input(r, p, &in, pass_ms, t0);
	}
	free(l.ins);
	pthread_mutex_lock(&r->mu);
	p->passing = false;
	if (rc == -ENOENT && !p->active && !p->held && !p->wanted) {
		/* Deleted meanwhile: forget it quietly. */
		pool_forget(r, p);
	} else if (rc < 0 && rc != -ENOENT) {
		p->due_ms = mono_ms() + r->cfg.interval_ms;
	}
	pthread_cond_broadcast(&r->progress_cv);
	pthread_mutex_unlock(&r->mu);
}

/* The periodic pass: one read of the node, every idle pool planned. */
static void
pass_node(struct mvm_reconcile *r)
{
	struct node nd;
	unsigned gen;

	if (node_read(r->cfg.st, &nd, NULL) < 0)
		return;
	pthread_mutex_lock(&r->mu);
	gen = ++r->scan_gen;
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < nd.w.npools; i++) {
		struct input in;
		struct pool *p;
		int64_t pass_ms = real_ms(), t0 = mono_us();

		if (!node_input(&nd, i, &in))
			continue;
		pthread_mutex_lock(&r->mu);
		if ((p = pool_add(r, in.pool.tenant, in.pool.id)) != NULL)
			p->seen = gen;
		if (p == NULL || pool_busy(p) || r->closing) {
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		p->passing = true;
		p->wanted = false;
		pthread_mutex_unlock(&r->mu);
		pass_input(r, p, &in, pass_ms, t0);
		pthread_mutex_lock(&r->mu);
		p->passing = false;
		pthread_cond_broadcast(&r->progress_cv);
		pthread_mutex_unlock(&r->mu);
	}
	/* Pools the node no longer has are forgotten. */
	pthread_mutex_lock(&r->mu);
	for (size_t i = r->npools; i-- > 0;) {
		struct pool *p = r->pools[i];

		if (p->seen != gen && !pool_busy(p) && !p->wanted)
			pool_forget(r, p);
	}
	pthread_mutex_unlock(&r->mu);
	node_free(&nd);
}

static int
mark_pool(const struct mvm_pool *pool, void *arg)
{
	struct list *names = arg;
	struct mvm_instance in;

	/* Reuse the instance list: its tenant and pool fields name pools. */
	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "%s", pool->tenant);
	snprintf(in.pool, sizeof(in.pool), "%s", pool->id);
	return list_add(&in, names);
}

/* Ask for a pass over every pool of `tenant`. */
static void
kick_tenant(struct mvm_reconcile *r, const char *tenant)
{
	struct list names = { 0 };

	mvm_store_pool_list(r->cfg.st, tenant, mark_pool, &names, NULL);
	for (size_t i = 0; i < names.n; i++)
		mvm_reconcile_kick(r, names.ins[i].tenant, names.ins[i].pool);
	free(names.ins);
}

static void *
sched_main(void *arg)
{
	struct mvm_reconcile *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->closing) {
		int64_t now = mono_ms(), until = r->periodic_ms;
		struct pool *due = NULL;
		struct timespec ts;

		if (now >= r->periodic_ms) {
			r->kick_all = true;
			r->periodic_ms = now + r->cfg.interval_ms;
		}
		if (r->kick_all) {
			r->kick_all = false;
			r->nkick_tenants = 0;
			pthread_mutex_unlock(&r->mu);
			pass_node(r);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		if (r->nkick_tenants > 0) {
			char tenant[MVM_ID_MAX + 1];

			memcpy(tenant, r->kick_tenants[--r->nkick_tenants],
			    sizeof(tenant));
			pthread_mutex_unlock(&r->mu);
			kick_tenant(r, tenant);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		for (size_t i = 0; i < r->npools && due == NULL; i++) {
			struct pool *p = r->pools[i];

			if (pool_busy(p))
				continue;
			if (p->wanted || (p->due_ms > 0 && p->due_ms <= now))
				due = p;
			else if (p->due_ms > 0 && p->due_ms < until)
				until = p->due_ms;
		}
		if (due != NULL) {
			due->wanted = false;
			due->due_ms = 0;
			due->passing = true;
			pthread_mutex_unlock(&r->mu);
			pass_one(r, due);
			pthread_mutex_lock(&r->mu);
			continue;
		}
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		pthread_cond_timedwait(&r->sched_cv, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/* Store a new instance of pool p with a generated id into *in. */
static int
create(struct mvm_reconcile *r, const struct pool *p, struct mvm_instance *in,
    struct mvm_error *e)
{
	int rc = -EEXIST;

	for (int i = 0; i < CREATE_TRIES && rc == -EEXIST; i++) {
		memset(in, 0, sizeof(*in));
		snprintf(in->tenant, sizeof(in->tenant), "%s", p->tenant);
		snprintf(in->pool, sizeof(in->pool), "%s", p->id);
		in->state = MVM_STATE_CREATED;
		if ((rc = mvm_names_instance_generate(in->id)) < 0)
			return mvm_error_set(e, -rc, "cannot generate an "
			    "instance id: %s", strerror(-rc));
		rc = mvm_objects_instance_create(r->cfg.st, in, e);
	}
	return rc;
}

/*
 * Carry out task t: check, act, verify. What succeeded is added to *c.
 * Returns 0, DROPPED (the instance is no longer as planned), or the
 * failing call's negative errno with its sentence in e.
 */
static int
run_step(struct mvm_reconcile *r, struct task *t,
    struct mvm_reconcile_counts *c, struct mvm_error *e)
{
	struct pool *p = t->pool;
	struct mvm_plan_step s = t->step;
	struct mvm_instance in;
	int rc;

	if (s.action == MVM_PLAN_CREATE) {
		if ((rc = create(r, p, &in, e)) < 0)
			return rc;
		c->created++;
		pthread_mutex_lock(&r->mu);
		memcpy(t->step.instance, in.id, sizeof(t->step.instance));
		pthread_mutex_unlock(&r->mu);
		memcpy(s.instance, in.id, sizeof(s.instance));
	} else {
		rc = mvm_store_instance_get(r->cfg.st, p->tenant, p->id,
		    s.instance, &in, e);
		if (rc == -ENOENT)
			return DROPPED;
		if (rc < 0)
			return rc;
		if (in.state != s.from || in.op != MVM_OP_NONE)
			return DROPPED;
	}

	if (s.action == MVM_PLAN_CREATE || s.action == MVM_PLAN_START) {
		rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
		    s.instance, MVM_STATE_RUNNING, 0, e);
		if (rc < 0)
			return rc;
		c->started++;
		/* Freshly booted: minimum runtime does not hold it back. */
		if (s.to != MVM_STATE_RUNNING &&
		    (rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
		    s.instance, s.to, MVM_ENGINE_PROVISION, e)) < 0)
			return rc;
	} else if ((rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
	    s.instance, s.to, 0, e)) < 0)
		return rc;

	switch (s.action) {
	case MVM_PLAN_CREATE:
	case MVM_PLAN_START:
		c->warmed += s.to == MVM_STATE_WARM;
		c->slept += s.to == MVM_STATE_SLEEPING;
		break;
	case MVM_PLAN_RESUME:
		c->resumed++;
		break;
	case MVM_PLAN_WAKE:
		c->woken++;
		break;
	case MVM_PLAN_PAUSE:
		c->warmed++;
		break;
	case MVM_PLAN_SLEEP:
		c->slept++;
		break;
	case MVM_PLAN_STOP:
		c->stopped++;
		break;
	default:
		break;
	}
	if (s.action == MVM_PLAN_DESTROY)
		return 0;
	if ((rc = mvm_store_instance_get(r->cfg.st, p->tenant, p->id,
	    s.instance, &in, e)) < 0)
		return rc;
	if (in.state != s.to)
		return mvm_error_set(e, EIO, "instance %s is %s after the %s, "
		    "not %s", s.instance, mvm_state_name(in.state),
		    mvm_plan_action_name(s.action), mvm_state_name(s.to));
	return 0;
}

/* Minimum runtime, a quota or another transition: wait, not a failure. */
static bool
deferral(int rc)
{
	return rc == -EAGAIN || rc == -EDQUOT || rc == -EBUSY;
}

/*
 * Task t ended with `rc`. Called with r->mu held. Returns true when it was
 * the last of its pool's round.
 */
static bool
task_end(struct mvm_reconcile *r, struct task *t, int rc,
    const struct mvm_error *err, const struct mvm_reconcile_counts *c)
{
	struct pool *p = t->pool;

	counts_add(&p->totals, c);
	if (deferral(rc)) {
		t->state = T_DEFERRED;
		snprintf(t->why, sizeof(t->why), "%s", err->msg);
		p->totals.deferred++;
		p->engine_deferred = true;
	} else {
		t->state = T_DONE;
		if (rc < 0 && rc != DROPPED)
			p->totals.failed++;
	}
	if (t->down && --p->ndown == 0)
		for (size_t i = 0; i < p->ntasks; i++)
			if (p->tasks[i].state == T_HELD)
				enqueue(r, &p->tasks[i]);
	if (--p->nleft > 0)
		return false;
	/* Pass again: a step may have failed, or counts changed meanwhile. */
	p->active = false;
	if (p->engine_deferred) {
		int64_t when = mono_ms() + DEFER_RETRY_MS;

		if (p->due_ms == 0 || when < p->due_ms)
			p->due_ms = when;
	} else
		p->wanted = true;
	pthread_cond_signal(&r->sched_cv);
	pthread_cond_broadcast(&r->progress_cv);
	return true;
}

static void *
worker_main(void *arg)
{
	struct mvm_reconcile *r = arg;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		struct mvm_reconcile_counts c;
		struct mvm_error err;
		char line[LINE_MAX_LEN], tenant[MVM_ID_MAX + 1];
		char pool[MVM_ID_MAX + 1];
		struct task *t = NULL;
		int64_t t0;
		bool last;
		int rc;

		while (!r->closing && (t = dequeue(r)) == NULL)
			pthread_cond_wait(&r->work_cv, &r->mu);
		if (r->closing) {
			/* A task taken just now goes back for close to free. */
			if (t != NULL)
				enqueue(r, t);
			break;
		}
		t->state = T_RUNNING;
		r->heavy += t->heavy;
		memcpy(tenant, t->pool->tenant, sizeof(tenant));
		memcpy(pool, t->pool->id, sizeof(pool));
		pthread_mutex_unlock(&r->mu);

		line_format(line, sizeof(line),
		    mvm_plan_action_name(t->step.action), t->step.instance,
		    t->step.from, t->step.to, t->step.reason);
		event(r, tenant, pool, t->step.instance, "reconcile.step", "%s",
		    line);
		memset(&c, 0, sizeof(c));
		mvm_error_clear(&err);
		t0 = mono_ms();
		rc = run_step(r, t, &c, &err);
		if (rc == 0)
			event(r, tenant, pool, t->step.instance,
			    "reconcile.done", "%s %s %s -> %s in %lld ms",
			    mvm_plan_action_name(t->step.action),
			    t->step.instance, mvm_state_name(t->step.from),
			    mvm_state_name(t->step.to),
			    (long long)(mono_ms() - t0));
		else if (rc != DROPPED) {
			line_format(line, sizeof(line),
			    mvm_plan_action_name(t->step.action),
			    t->step.instance, t->step.from, t->step.to,
			    err.msg);
			event(r, tenant, pool, t->step.instance,
			    deferral(rc) ? "reconcile.defer" : "reconcile.fail",
			    "%s", line);
		}

		pthread_mutex_lock(&r->mu);
		r->heavy -= t->heavy;
		last = task_end(r, t, rc, &err, &c);
		pthread_cond_broadcast(&r->work_cv);
		if (last) {
			pthread_mutex_unlock(&r->mu);
			changed(r, MVM_RECONCILE_POOL_PASSED, tenant, pool);
			pthread_mutex_lock(&r->mu);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int
mvm_reconcile_open(const struct mvm_reconcile_config *cfg,
    struct mvm_reconcile **out, struct mvm_error *e)
{
	struct mvm_reconcile *r;
	pthread_condattr_t ca;
	struct mvm_plan_options zero = { 0 };
	int rc;

	*out = NULL;
	if (cfg == NULL || cfg->st == NULL || cfg->eng == NULL)
		return mvm_error_set(e, EINVAL,
		    "the reconciler needs a store and an engine");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mvm_error_set(e, ENOMEM, "no memory for the reconciler");
	r->cfg = *cfg;
	if (r->cfg.concurrency == 0)
		r->cfg.concurrency = DEFAULT_CONCURRENCY;
	if (r->cfg.workers == 0)
		r->cfg.workers = r->cfg.concurrency + 2;
	if (r->cfg.interval_ms == 0)
		r->cfg.interval_ms = DEFAULT_INTERVAL_MS;
	if (memcmp(&cfg->plan, &zero, sizeof(zero)) == 0)
		mvm_plan_options_defaults(&r->opt);
	else
		r->opt = cfg->plan;
	mvm_plan_init(&r->plan);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->sched_cv, &ca);
	pthread_cond_init(&r->progress_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&r->work_cv, NULL);
	r->periodic_ms = mono_ms();
	if ((r->workers = calloc(r->cfg.workers, sizeof(*r->workers))) ==
	    NULL) {
		rc = mvm_error_set(e, ENOMEM, "no memory for the reconciler");
		goto fail;
	}
	for (; r->nworkers < r->cfg.workers; r->nworkers++)
		if ((rc = pthread_create(&r->workers[r->nworkers], NULL,
		    worker_main, r)) != 0) {
			rc = mvm_error_set(e, rc, "cannot start a reconciler "
			    "worker: %s", strerror(rc));
			goto fail;
		}
	if ((rc = pthread_create(&r->sched, NULL, sched_main, r)) != 0) {
		rc = mvm_error_set(e, rc, "cannot start the reconciler: %s",
		    strerror(rc));
		goto fail;
	}
	r->sched_started = true;
	*out = r;
	return 0;

fail:
	mvm_reconcile_close(r);
	return rc;
}

void
mvm_reconcile_close(struct mvm_reconcile *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->closing = true;
	pthread_cond_broadcast(&r->sched_cv);
	pthread_cond_broadcast(&r->work_cv);
	pthread_cond_broadcast(&r->progress_cv);
	pthread_mutex_unlock(&r->mu);
	if (r->sched_started)
		pthread_join(r->sched, NULL);
	for (unsigned i = 0; i < r->nworkers; i++)
		pthread_join(r->workers[i], NULL);
	for (size_t i = 0; i < r->npools; i++)
		pool_free(r->pools[i]);
	free(r->pools);
	free(r->workers);
	free(r->kick_tenants);
	free(r->members);
	mvm_plan_free(&r->plan);
	pthread_cond_destroy(&r->sched_cv);
	pthread_cond_destroy(&r->work_cv);
	pthread_cond_destroy(&r->progress_cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

void
mvm_reconcile_kick(struct mvm_reconcile *r, const char *tenant,
    const char *pool)
{
	struct pool *p;

	pthread_mutex_lock(&r->mu);
	if (tenant == NULL) {
		r->kick_all = true;
	} else if (pool == NULL) {
		/* Out of memory, the whole node is passed instead. */
		if (grow(&r->kick_tenants, &r->kick_cap, r->nkick_tenants,
		    sizeof(*r->kick_tenants)) < 0)
			r->kick_all = true;
		else
			snprintf(r->kick_tenants[r->nkick_tenants++],
			    sizeof(*r->kick_tenants), "%s", tenant);
	} else if ((p = pool_add(r, tenant, pool)) != NULL)
		p->wanted = true;
	else
		r->kick_all = true;
	pthread_cond_signal(&r->sched_cv);
	pthread_mutex_unlock(&r->mu);
}

int
mvm_reconcile_pool_status(struct mvm_reconcile *r, const char *tenant,
    const char *pool, struct mvm_reconcile_pool_status *out)
{
	char line[LINE_MAX_LEN];
	const struct pool *p;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->mu);
	if ((p = pool_find(r, tenant, pool)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return -ENOENT;
	}
	out->passed = p->passed;
	out->last_pass_at = p->last_pass_at;
	out->last_pass_us = p->last_pass_us;
	out->pool_revision = p->revision;
	out->active = p->active;
	out->summary = p->summary;
	out->totals = p->totals;
	/* Whole lines only: stop at the first that does not fit. */
	for (size_t i = 0; i < p->ntasks; i++) {
		const struct task *t = &p->tasks[i];
		int n;

		if (t->state == T_DONE)
			continue;
		n = line_format(line, sizeof(line),
		    mvm_plan_action_name(t->step.action), t->step.instance,
		    t->step.from, t->step.to,
		    t->state == T_DEFERRED ? t->why : t->step.reason);
		if (n < 0 || len + (size_t)n + 1 >= sizeof(out->pending))
			goto out;
		memcpy(out->pending + len, line, (size_t)n);
		len += (size_t)n;
		out->pending[len++] = '\n';
	}
	for (const char *w = p->waits, *nl; w != NULL && *w != '\0';
	    w = nl + 1) {
		nl = strchr(w, '\n');
		if (len + (size_t)(nl - w) + 1 >= sizeof(out->pending))
			break;
		memcpy(out->pending + len, w, (size_t)(nl - w) + 1);
		len += (size_t)(nl - w) + 1;
	}
out:
	out->pending[len] = '\0';
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* Append a formatted string to a report's list. */
static int
strlist_add(char ***arr, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
strlist_add(char ***arr, size_t *n, const char *fmt, ...)
{
	char **na, *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	if ((na = reallocarray(*arr, *n + 1, sizeof(*na))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	na[(*n)++] = s;
	*arr = na;
	return 0;
}

static void
strlist_free(char **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

/* Only the store failing or memory running out stops an application. */
static bool
fatal(int rc)
{
	return rc == -EIO || rc == -ENOMEM;
}

/* Note a problem with one object in the report; returns rc if fatal. */
static int
report_error(struct mvm_reconcile_report *rep, int rc,
    const struct mvm_error *err, const char *what)
{
	if (strlist_add(&rep->errors, &rep->nerrors, "%s: %s", what,
	    err->msg) < 0)
		return -ENOMEM;
	return fatal(rc) ? rc : 0;
}

/* Create or update tenant dt; *ok when it exists afterwards. */
static int
apply_tenant(struct mvm_reconcile *r, const struct mvm_desired_tenant *dt,
    uint32_t uid, uint32_t gid, struct mvm_reconcile_report *rep, bool *ok)
{
	struct mvm_store *st = r->cfg.st;
	const char *id = dt->tenant.id;
	struct mvm_tenant cur, next;
	struct mvm_error err;
	bool update;
	int rc, n;

	*ok = false;
	mvm_error_clear(&err);
	rc = mvm_store_tenant_get(st, id, &cur, &err);
	if (rc == -ENOENT) {
		next = dt->tenant;
		next.uid = uid;
		next.gid = gid;
		next.created_at = 0;
		next.revision = 0;
		if ((rc = mvm_objects_tenant_create(st, &next, &err)) < 0)
			return report_error(rep, rc, &err, id);
		*ok = true;
		changed(r, MVM_RECONCILE_TENANT_CREATED, id, NULL);
		return strlist_add(&rep->tenants_created,
		    &rep->ntenants_created, "%s", id);
	}
	if (rc < 0)
		return report_error(rep, rc, &err, id);
	*ok = true;
	next = cur;
	update = !mvm_quota_equal(&cur.quota, &dt->tenant.quota);
	next.quota = dt->tenant.quota;
	if (cur.net_id != dt->tenant.net_id) {
		if ((n = mvm_store_instance_count(st, id, NULL, &err)) < 0)
			return report_error(rep, n, &err, id);
		if (n > 0) {
			mvm_error_set(&err, EBUSY, "net_id %u cannot change to "
			    "%u while the tenant has %d instances", cur.net_id,
			    dt->tenant.net_id, n);
			if ((rc = report_error(rep, -EBUSY, &err, id)) < 0)
				return rc;
		} else {
			next.net_id = dt->tenant.net_id;
			update = true;
		}
	}
	if (!update)
		return 0;
	if ((rc = mvm_store_tenant_update(st, &next, &err)) < 0)
		return report_error(rep, rc, &err, id);
	changed(r, MVM_RECONCILE_TENANT_UPDATED, id, NULL);
	return strlist_add(&rep->tenants_updated, &rep->ntenants_updated, "%s",
	    id);
}

/* Create pool dp, or update its spec and counts. */
static int
apply_pool(struct mvm_reconcile *r, const struct mvm_desired_pool *dp,
    struct mvm_reconcile_report *rep)
{
	struct mvm_store *st = r->cfg.st;
	const struct mvm_pool *want = &dp->pool;
	struct mvm_pool cur, next;
	struct mvm_error err;
	char what[2 * MVM_ID_MAX + 2];
	int rc;

	snprintf(what, sizeof(what), "%s/%s", want->tenant, want->id);
	mvm_error_clear(&err);
	rc = mvm_store_pool_get(st, want->tenant, want->id, &cur, &err);
	if (rc == -ENOENT) {
		next = *want;
		next.created_at = 0;
		next.revision = 0;
		next.managed = true;
		if ((rc = mvm_objects_pool_create(st, &next, &err)) < 0)
			return report_error(rep, rc, &err, what);
		changed(r, MVM_RECONCILE_POOL_CREATED, want->tenant, want->id);
		return strlist_add(&rep->pools_created, &rep->npools_created,
		    "%s", what);
	}
	if (rc < 0)
		return report_error(rep, rc, &err, what);
	if (spec_equal(&cur, want) && cur.managed)
		return 0;
	next = cur;
	spec_copy(&next, want);
	if ((rc = mvm_store_pool_update(st, &next, &err)) < 0)
		return report_error(rep, rc, &err, what);
	changed(r, MVM_RECONCILE_POOL_UPDATED, want->tenant, want->id);
	return strlist_add(&rep->pools_updated, &rep->npools_updated, "%s",
	    what);
}

/*
 * Prune pool tenant/id: hold it (no pass, wait for its round to end),
 * destroy its instances, delete it. Returns 0 when it is gone, 1 when it
 * is not (said in the report), or a fatal errno.
 */
static int
prune_pool(struct mvm_reconcile *r, const char *tenant, const char *id,
    struct mvm_reconcile_report *rep)
{
	struct mvm_error err;
	struct list l = { 0 };
	char what[2 * MVM_ID_MAX + 2];
	struct pool *p;
	int rc;

	snprintf(what, sizeof(what), "%s/%s", tenant, id);
	pthread_mutex_lock(&r->mu);
	if ((p = pool_add(r, tenant, id)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return -ENOMEM;
	}
	p->held = true;
	while ((p->active || p->passing) && !r->closing)
		pthread_cond_wait(&r->progress_cv, &r->mu);
	rc = r->closing ? mvm_error_set(&err, ESHUTDOWN, "the reconciler is "
	    "closing") : 0;
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		goto fail;

	mvm_error_clear(&err);
	if ((rc = mvm_store_instance_list(r->cfg.st, tenant, id, list_add, &l,
	    &err)) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		mvm_error_clear(&err);
		rc = mvm_engine_destroy(r->cfg.eng, tenant, id, l.ins[i].id,
		    &err);
		if (rc < 0 && rc != -ENOENT)
			goto fail;
	}
	if ((rc = mvm_store_pool_delete(r->cfg.st, tenant, id, &err)) < 0)
		goto fail;
	free(l.ins);
	pthread_mutex_lock(&r->mu);
	pool_forget(r, p);
	pthread_mutex_unlock(&r->mu);
	changed(r, MVM_RECONCILE_POOL_PRUNED, tenant, id);
	return strlist_add(&rep->pools_pruned, &rep->npools_pruned, "%s",
	    what);

fail:
	/* Kept, and passed again as usual. */
	free(l.ins);
	pthread_mutex_lock(&r->mu);
	p->held = false;
	p->wanted = true;
	pthread_cond_signal(&r->sched_cv);
	pthread_mutex_unlock(&r->mu);
	rc = report_error(rep, rc, &err, what);
	return rc < 0 ? rc : 1;
}

/* Prune what the document does not name, as its flags ask. */
static int
prune(struct mvm_reconcile *r, const struct mvm_desired *d,
    struct mvm_reconcile_report *rep, struct mvm_error *e)
{
	struct mvm_world w;
	struct mvm_error err;
	int rc;

	if ((rc = mvm_world_load(r->cfg.st, NULL, MVM_WORLD_NO_INSTANCES, &w,
	    e)) < 0)
		return rc;
	for (size_t i = 0; i < w.npools; i++) {
		const struct mvm_pool *p = &w.pools[i];
		const struct mvm_desired_tenant *dt = doc_tenant(d, p->tenant);

		if (dt != NULL ? d->prune_unknown_pools &&
		    doc_pool(dt, p->id) == NULL : d->prune_unknown_tenants)
			if ((rc = prune_pool(r, p->tenant, p->id, rep)) < 0)
				goto out;
	}
	for (size_t i = 0; i < w.ntenants && d->prune_unknown_tenants; i++) {
		const char *id = w.tenants[i].id;

		if (doc_tenant(d, id) != NULL)
			continue;
		mvm_error_clear(&err);
		if ((rc = mvm_store_tenant_delete(r->cfg.st, id, &err)) < 0) {
			if (rc == -EBUSY)
				mvm_error_set(&err, EBUSY, "the tenant still "
				    "has pools, so it is kept");
			if ((rc = report_error(rep, rc, &err, id)) < 0)
				goto out;
			continue;
		}
		changed(r, MVM_RECONCILE_TENANT_PRUNED, id, NULL);
		if ((rc = strlist_add(&rep->tenants_pruned,
		    &rep->ntenants_pruned, "%s", id)) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to prune");
	mvm_world_free(&w);
	return rc;
}

struct pool_ref {
	const struct mvm_desired_pool	*dp;
	size_t				 order;	/* in the document */
};

static int
ref_cmp_role(const void *va, const void *vb)
{
	const struct pool_ref *a = va, *b = vb;

	if (a->dp->role != b->dp->role)
		return (int)a->dp->role - (int)b->dp->role;
	return (a->order > b->order) - (a->order < b->order);
}

/* Every pool of `d` in document order; *n gets the count. */
static struct pool_ref *
doc_refs(const struct mvm_desired *d, size_t *n)
{
	struct pool_ref *refs;
	size_t k = 0;

	*n = 0;
	for (size_t i = 0; i < d->ntenants; i++)
		*n += d->tenants[i].npools;
	if ((refs = calloc(*n + 1, sizeof(*refs))) == NULL)
		return NULL;
	for (size_t i = 0; i < d->ntenants; i++)
		for (size_t j = 0; j < d->tenants[i].npools; j++, k++)
			refs[k] = (struct pool_ref){ &d->tenants[i].pools[j],
			    k };
	return refs;
}

int
mvm_reconcile_apply(struct mvm_reconcile *r, const struct mvm_desired *d,
    uint32_t uid, uint32_t gid, int wait_ms, struct mvm_reconcile_report *rep,
    struct mvm_error *e)
{
	struct pool_ref *refs = NULL;
	bool *ok = NULL;
	size_t nrefs = 0;
	int64_t deadline;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	rep->started_at = real_ms();
	if ((refs = doc_refs(d, &nrefs)) == NULL ||
	    (ok = calloc(d->ntenants + 1, sizeof(*ok))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->ntenants; i++)
		if ((rc = apply_tenant(r, &d->tenants[i], uid, gid, rep,
		    &ok[i])) < 0)
			goto out;
	/* Pools in role order, gateways first. */
	qsort(refs, nrefs, sizeof(*refs), ref_cmp_role);
	for (size_t i = 0; i < nrefs; i++) {
		const struct mvm_desired_tenant *dt =
		    doc_tenant(d, refs[i].dp->pool.tenant);

		if (ok[dt - d->tenants] &&
		    (rc = apply_pool(r, refs[i].dp, rep)) < 0)
			goto out;
	}
	if ((d->prune_unknown_pools || d->prune_unknown_tenants) &&
	    (rc = prune(r, d, rep, e)) < 0)
		goto out;

	/* The document's pools that exist, their totals now, and a kick. */
	if ((rep->baseline = calloc(nrefs + 1, sizeof(*rep->baseline))) ==
	    NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->ntenants; i++) {
		const struct mvm_desired_tenant *dt = &d->tenants[i];

		for (size_t j = 0; j < dt->npools; j++) {
			const struct mvm_pool *p = &dt->pools[j].pool;
			const struct pool *ps;
			struct mvm_pool cur;

			if (mvm_store_pool_get(r->cfg.st, p->tenant, p->id,
			    &cur, NULL) < 0)
				continue;
			if ((rc = strlist_add(&rep->pools, &rep->npools,
			    "%s/%s", p->tenant, p->id)) < 0)
				goto out;
			pthread_mutex_lock(&r->mu);
			if ((ps = pool_find(r, p->tenant, p->id)) != NULL)
				rep->baseline[rep->npools - 1] = ps->totals;
			pthread_mutex_unlock(&r->mu);
			mvm_reconcile_kick(r, p->tenant, p->id);
		}
	}

	deadline = mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	mvm_reconcile_report_update(r, rep);
	while (wait_ms > 0 && !rep->converged && mono_ms() < deadline) {
		int64_t until = mono_ms() + 200;
		struct timespec ts;

		if (until > deadline)
			until = deadline;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		pthread_mutex_lock(&r->mu);
		if (r->closing) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_cond_timedwait(&r->progress_cv, &r->mu, &ts);
		pthread_mutex_unlock(&r->mu);
		mvm_reconcile_report_update(r, rep);
	}

out:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to apply the document");
	else if (rc < 0 && rep->nerrors > 0)
		mvm_error_set(e, -rc, "%s", rep->errors[rep->nerrors - 1]);
	free(refs);
	free(ok);
	return rc;
}

int
mvm_reconcile_report_update(struct mvm_reconcile *r,
    struct mvm_reconcile_report *rep)
{
	struct mvm_reconcile_counts c;
	bool converged = true;

	memset(&c, 0, sizeof(c));
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < rep->npools; i++) {
		char tenant[MVM_ID_MAX + 1];
		const char *slash = strchr(rep->pools[i], '/');
		const struct pool *p;

		snprintf(tenant, sizeof(tenant), "%.*s",
		    (int)(slash - rep->pools[i]), rep->pools[i]);
		p = pool_find(r, tenant, slash + 1);
		if (p != NULL)
			counts_add_since(&c, &p->totals, &rep->baseline[i]);
		if (!pool_settled(p, rep->started_at))
			converged = false;
	}
	pthread_mutex_unlock(&r->mu);
	rep->counts = c;
	rep->converged = converged;
	if (converged && rep->finished_at == 0)
		rep->finished_at = real_ms();
	return 0;
}

void
mvm_reconcile_report_free(struct mvm_reconcile_report *rep)
{
	if (rep == NULL)
		return;
	strlist_free(rep->tenants_created, rep->ntenants_created);
	strlist_free(rep->tenants_updated, rep->ntenants_updated);
	strlist_free(rep->tenants_pruned, rep->ntenants_pruned);
	strlist_free(rep->pools_created, rep->npools_created);
	strlist_free(rep->pools_updated, rep->npools_updated);
	strlist_free(rep->pools_pruned, rep->npools_pruned);
	strlist_free(rep->errors, rep->nerrors);
	strlist_free(rep->pools, rep->npools);
	free(rep->baseline);
	memset(rep, 0, sizeof(*rep));
}

/* Add `n` strings as an array member `name` of `obj`. */
static bool
json_strings(cJSON *obj, const char *name, char *const *s, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(obj, name);

	for (size_t i = 0; a != NULL && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(s[i])))
			return false;
	return a != NULL;
}

/* One pool of the report: {"pool", "converged", "summary", "pending"}. */
static bool
json_pool(struct mvm_reconcile *r, cJSON *arr, const char *name,
    int64_t since_ms)
{
	struct mvm_reconcile_pool_status ps;
	char tenant[MVM_ID_MAX + 1], summary[512];
	const char *slash = strchr(name, '/');
	bool settled = false;
	cJSON *o, *lines;

	snprintf(tenant, sizeof(tenant), "%.*s", (int)(slash - name), name);
	if (mvm_reconcile_pool_status(r, tenant, slash + 1, &ps) < 0)
		memset(&ps, 0, sizeof(ps));
	pthread_mutex_lock(&r->mu);
	settled = pool_settled(pool_find(r, tenant, slash + 1), since_ms);
	pthread_mutex_unlock(&r->mu);
	mvm_plan_summary_format(&ps.summary, summary, sizeof(summary));
	if ((o = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(arr, o) ||
	    cJSON_AddStringToObject(o, "pool", name) == NULL ||
	    cJSON_AddBoolToObject(o, "converged", settled) == NULL ||
	    cJSON_AddStringToObject(o, "summary", summary) == NULL ||
	    (lines = cJSON_AddArrayToObject(o, "pending")) == NULL)
		return false;
	for (char *l = ps.pending, *nl; *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL)
			break;
		*nl = '\0';
		if (!cJSON_AddItemToArray(lines, cJSON_CreateString(l)))
			return false;
	}
	return true;
}

int
mvm_reconcile_report_json(struct mvm_reconcile *r,
    const struct mvm_reconcile_report *rep, char **out, size_t *len)
{
	const struct mvm_reconcile_counts *c = &rep->counts;
	const struct {
		const char	*name;
		uint32_t	 value;
	} nums[] = {
		{ "instances_created", c->created },
		{ "instances_started", c->started },
		{ "instances_resumed", c->resumed },
		{ "instances_woken", c->woken },
		{ "instances_warmed", c->warmed },
		{ "instances_slept", c->slept },
		{ "instances_stopped", c->stopped },
		{ "instances_deferred", c->deferred },
		{ "instances_failed", c->failed },
	};
	cJSON *o, *pools;
	char *text = NULL;
	bool ok;
	int rc = -ENOMEM;

	*out = NULL;
	if ((o = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	ok = cJSON_AddNumberToObject(o, "started_at",
	    (double)rep->started_at) != NULL &&
	    cJSON_AddNumberToObject(o, "finished_at",
	    (double)rep->finished_at) != NULL &&
	    json_strings(o, "tenants_created", rep->tenants_created,
	    rep->ntenants_created) &&
	    json_strings(o, "tenants_updated", rep->tenants_updated,
	    rep->ntenants_updated) &&
	    json_strings(o, "tenants_pruned", rep->tenants_pruned,
	    rep->ntenants_pruned) &&
	    json_strings(o, "pools_created", rep->pools_created,
	    rep->npools_created) &&
	    json_strings(o, "pools_updated", rep->pools_updated,
	    rep->npools_updated) &&
	    json_strings(o, "pools_pruned", rep->pools_pruned,
	    rep->npools_pruned);
	for (size_t i = 0; ok && i < sizeof(nums) / sizeof(nums[0]); i++)
		ok = cJSON_AddNumberToObject(o, nums[i].name,
		    nums[i].value) != NULL;
	ok = ok && json_strings(o, "errors", rep->errors, rep->nerrors) &&
	    cJSON_AddBoolToObject(o, "converged", rep->converged) != NULL &&
	    (pools = cJSON_AddArrayToObject(o, "pools")) != NULL;
	for (size_t i = 0; ok && i < rep->npools; i++)
		ok = json_pool(r, pools, rep->pools[i], rep->started_at);
	if (ok && (text = cJSON_Print(o)) != NULL) {
		size_t n = strlen(text);

		if ((*out = malloc(n + 2)) != NULL) {
			memcpy(*out, text, n);
			(*out)[n] = '\n';
			(*out)[n + 1] = '\0';
			if (len != NULL)
				*len = n + 1;
			rc = 0;
		}
	}
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

static int
ref_cmp_key(const void *va, const void *vb)
{
	const struct pool_ref *a = va, *b = vb;

	return key_cmp(a->dp->pool.tenant, a->dp->pool.id, b->dp->pool.tenant,
	    b->dp->pool.id);
}

/* The pool tenant/id in refs sorted by ref_cmp_key, or NULL. */
static struct pool_ref *
ref_find(struct pool_ref *refs, size_t n, const char *tenant, const char *id)
{
	struct mvm_desired_pool kp;
	struct pool_ref key = { &kp, 0 };

	snprintf(kp.pool.tenant, sizeof(kp.pool.tenant), "%s", tenant);
	snprintf(kp.pool.id, sizeof(kp.pool.id), "%s", id);
	return bsearch(&key, refs, n, sizeof(*refs), ref_cmp_key);
}

int
mvm_reconcile_plan_all(struct mvm_store *st, const struct mvm_desired *d,
    const struct mvm_plan_options *o,
    int (*fn)(const struct mvm_pool *p, const struct mvm_plan *pl,
    void *arg), void *arg, struct mvm_error *e)
{
	struct mvm_plan_options opt, zero = { 0 };
	struct mvm_plan_member *m = NULL;
	struct pool_ref *refs = NULL, *ref;
	struct mvm_plan pl;
	struct node nd;
	bool *matched = NULL;
	size_t mcap = 0, nrefs = 0;
	int64_t now = time(NULL);
	int rc, planned = 0;

	if (o == NULL || memcmp(o, &zero, sizeof(zero)) == 0)
		mvm_plan_options_defaults(&opt);
	else
		opt = *o;
	mvm_plan_init(&pl);
	if ((rc = node_read(st, &nd, e)) < 0)
		return rc;
	if (d != NULL) {
		if ((refs = doc_refs(d, &nrefs)) == NULL ||
		    (matched = calloc(nrefs + 1, sizeof(*matched))) == NULL) {
			rc = mvm_error_set(e, ENOMEM, "no memory to plan");
			goto out;
		}
		qsort(refs, nrefs, sizeof(*refs), ref_cmp_key);
	}
	for (size_t i = 0; i < nd.w.npools; i++) {
		const struct mvm_desired_tenant *dt;
		struct input in;

		if (!node_input(&nd, i, &in))
			continue;
		if (d != NULL && (dt = doc_tenant(d, in.pool.tenant)) != NULL) {
			in.quota = dt->tenant.quota;
			if ((ref = ref_find(refs, nrefs, in.pool.tenant,
			    in.pool.id)) != NULL) {
				spec_copy(&in.pool, &ref->dp->pool);
				matched[ref - refs] = true;
			}
		}
		if ((rc = plan_input(&pl, &in, &m, &mcap, &opt, now, e)) < 0 ||
		    (fn != NULL && (rc = fn(&in.pool, &pl, arg)) != 0))
			goto out;
		planned++;
	}
	/* The document's new pools, in document order, with no instances. */
	for (size_t i = 0; d != NULL && i < d->ntenants; i++) {
		const struct mvm_desired_tenant *dt = &d->tenants[i];
		const struct mvm_tenant *t = mvm_world_tenant(&nd.w,
		    dt->tenant.id);

		for (size_t j = 0; j < dt->npools; j++) {
			struct input in;

			ref = ref_find(refs, nrefs, dt->tenant.id,
			    dt->pools[j].pool.id);
			if (matched[ref - refs])
				continue;
			memset(&in, 0, sizeof(in));
			in.pool = dt->pools[j].pool;
			in.quota = dt->tenant.quota;
			if (t != NULL)
				in.usage = nd.usage[t - nd.w.tenants];
			in.usage.pool_instances = 0;
			if ((rc = plan_input(&pl, &in, &m, &mcap, &opt, now,
			    e)) < 0 ||
			    (fn != NULL && (rc = fn(&in.pool, &pl, arg)) != 0))
				goto out;
			planned++;
		}
	}
	rc = planned;
out:
	free(m);
	free(refs);
	free(matched);
	mvm_plan_free(&pl);
	node_free(&nd);
	return rc;
}
