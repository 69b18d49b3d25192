/*
 * reconcile.c: the reconciler's loop (see reconcile.h; the pieces are
 * named in reconcile_int.h). One scheduler thread reads the store and
 * plans pools; worker threads carry the steps out (reconcile_apply.c).
 * Here are the threads, the queue, the pool table, the passes, the kicks
 * and the timing of retries. Everything shared lives under one mutex,
 * which is never held across a store, engine or callback call.
 */
#include "reconcile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "fsm.h"
#include "reconcile_int.h"
#include "store.h"
#include "usage.h"

#define DEFAULT_CONCURRENCY	2
#define DEFAULT_INTERVAL_MS	30000
/* After a round the engine deferred (a race the plan could not see). */
#define DEFER_RETRY_MS		1000
/* Slack after a next_at, so the plan made then sees it reached. */
#define DUE_SLACK_MS		20

static int64_t
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mvm_reconcile_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t
mvm_reconcile_real_ms(void)
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
int
mvm_reconcile_grow(void *arr, size_t *cap, size_t n, size_t size)
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

int
mvm_reconcile_key_cmp(const char *t1, const char *p1, const char *t2,
    const char *p2)
{
	int c = strcmp(t1, t2);

	return c != 0 ? c : strcmp(p1, p2);
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
		int c = mvm_reconcile_key_cmp(tenant, id, r->pools[mid]->tenant,
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

struct pool *
mvm_reconcile_pool_find(const struct mvm_reconcile *r, const char *tenant,
    const char *id)
{
	bool found;
	size_t i = pool_index(r, tenant, id, &found);

	return found ? r->pools[i] : NULL;
}

/* Find or add tenant/id; NULL when out of memory. */
struct pool *
mvm_reconcile_pool_add(struct mvm_reconcile *r, const char *tenant,
    const char *id)
{
	struct pool *p;
	bool found;
	size_t i = pool_index(r, tenant, id, &found);

	if (found)
		return r->pools[i];
	if (mvm_reconcile_grow(&r->pools, &r->pools_cap, r->npools,
	    sizeof(*r->pools)) < 0 ||
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
void
mvm_reconcile_pool_forget(struct mvm_reconcile *r, struct pool *p)
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

/*
 * Record the plan in `pl` as pool p's last pass and queue its steps. Runs
 * on the scheduler thread while p->passing keeps everyone else off p.
 */
static void
record(struct mvm_reconcile *r, struct pool *p, const struct mvm_plan *pl,
    const struct input *in, int64_t pass_ms, uint32_t us, int64_t now)
{
	struct task *tasks = NULL;
	char *waits;
	size_t ndown = 0;
	uint32_t fresh;

	if (pl->nsteps > 0 &&
	    (tasks = calloc(pl->nsteps, sizeof(*tasks))) == NULL) {
		/* Plan again at the next trigger rather than lose steps. */
		pthread_mutex_lock(&r->mu);
		p->due_ms = mvm_reconcile_mono_ms() + DEFER_RETRY_MS;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	fresh = mvm_reconcile_waits(r, p, pl, in, &waits);
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
		int64_t wait = pl->summary.next_at * 1000 -
		    mvm_reconcile_real_ms();

		p->due_ms = mvm_reconcile_mono_ms() + (wait > 0 ? wait : 0) +
		    DUE_SLACK_MS;
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
	mvm_reconcile_changed(r, MVM_RECONCILE_POOL_PASSED, p->tenant, p->id);
}

/*
 * Forget the failures the pool's running instances have lived down: each
 * one due (mvm_fsm_settle_at) is checked by the engine, which pings its
 * agent. The plan still sees the old counts, which do not matter for a
 * running instance. Runs on the scheduler thread, r->mu not held.
 */
static void
settle(struct mvm_reconcile *r, const struct input *in, int64_t now)
{
	for (size_t i = 0; i < in->nins; i++) {
		const struct mvm_instance *x = &in->ins[i];
		int64_t at = mvm_fsm_settle_at(x, &in->pool.runtime);

		if (at > 0 && at <= now)
			mvm_engine_settle(r->cfg.eng, x->tenant, x->pool, x->id,
			    NULL);
	}
}

/* Plan pool p from `in` and record it. */
static void
pass_input(struct mvm_reconcile *r, struct pool *p, const struct input *in,
    int64_t pass_ms, int64_t t0_us)
{
	struct mvm_error err;
	int64_t now = time(NULL);
	uint32_t us;

	settle(r, in, now);

	/* A pool nobody gave counts to is left as its operator has it. */
	if (!in->pool.managed) {
		pthread_mutex_lock(&r->mu);
		p->passed = false;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	mvm_error_clear(&err);
	if (mvm_reconcile_plan_input(&r->plan, in, &r->members,
	    &r->members_cap, &r->opt, now, &err) < 0) {
		mvm_reconcile_event(r, p->tenant, p->id, "", "reconcile.fail",
		    "cannot plan the pool: %s", err.msg);
		pthread_mutex_lock(&r->mu);
		p->due_ms = mvm_reconcile_mono_ms() + r->cfg.interval_ms;
		pthread_mutex_unlock(&r->mu);
		return;
	}
	us = (uint32_t)(mono_us() - t0_us);
	record(r, p, &r->plan, in, pass_ms, us, now);
}

int
mvm_reconcile_list_add(const struct mvm_instance *in, void *arg)
{
	struct list *l = arg;

	if (mvm_reconcile_grow(&l->ins, &l->cap, l->n, sizeof(*in)) < 0)
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
	int64_t pass_ms = mvm_reconcile_real_ms(), t0 = mono_us();
	int rc;

	memset(&in, 0, sizeof(in));
	rc = mvm_store_pool_get(r->cfg.st, p->tenant, p->id, &in.pool, NULL);
	if (rc == 0)
		rc = mvm_store_tenant_get(r->cfg.st, p->tenant, &t, NULL);
	if (rc == 0)
		rc = mvm_store_instance_list(r->cfg.st, p->tenant, p->id,
		    mvm_reconcile_list_add, &l, NULL);
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
		mvm_reconcile_pool_forget(r, p);
	} else if (rc < 0 && rc != -ENOENT) {
		p->due_ms = mvm_reconcile_mono_ms() + r->cfg.interval_ms;
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

	if (mvm_reconcile_node_read(r->cfg.st, &nd, NULL) < 0)
		return;
	pthread_mutex_lock(&r->mu);
	gen = ++r->scan_gen;
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < nd.w.npools; i++) {
		struct input in;
		struct pool *p;
		int64_t pass_ms = mvm_reconcile_real_ms(), t0 = mono_us();

		if (!mvm_reconcile_node_input(&nd, i, &in))
			continue;
		pthread_mutex_lock(&r->mu);
		if ((p = mvm_reconcile_pool_add(r, in.pool.tenant,
		    in.pool.id)) != NULL)
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
			mvm_reconcile_pool_forget(r, p);
	}
	pthread_mutex_unlock(&r->mu);
	mvm_reconcile_node_free(&nd);
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
	return mvm_reconcile_list_add(&in, names);
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
		int64_t now = mvm_reconcile_mono_ms(), until = r->periodic_ms;
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

/*
 * Task t ended with `rc`. Called with r->mu held. Returns true when it was
 * the last of its pool's round.
 */
static bool
task_end(struct mvm_reconcile *r, struct task *t, int rc,
    const struct mvm_error *err, const struct mvm_reconcile_counts *c)
{
	struct pool *p = t->pool;

	mvm_reconcile_counts_add(&p->totals, c);
	if (mvm_reconcile_deferral(rc)) {
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
		int64_t when = mvm_reconcile_mono_ms() + DEFER_RETRY_MS;

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
		char tenant[MVM_ID_MAX + 1], pool[MVM_ID_MAX + 1];
		struct task *t = NULL;
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
		rc = mvm_reconcile_step(r, t, tenant, pool, &c, &err);
		pthread_mutex_lock(&r->mu);
		r->heavy -= t->heavy;
		last = task_end(r, t, rc, &err, &c);
		pthread_cond_broadcast(&r->work_cv);
		if (last) {
			pthread_mutex_unlock(&r->mu);
			mvm_reconcile_changed(r, MVM_RECONCILE_POOL_PASSED,
			    tenant, pool);
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
	r->periodic_ms = mvm_reconcile_mono_ms();
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
		if (mvm_reconcile_grow(&r->kick_tenants, &r->kick_cap,
		    r->nkick_tenants, sizeof(*r->kick_tenants)) < 0)
			r->kick_all = true;
		else
			snprintf(r->kick_tenants[r->nkick_tenants++],
			    sizeof(*r->kick_tenants), "%s", tenant);
	} else if ((p = mvm_reconcile_pool_add(r, tenant, pool)) != NULL)
		p->wanted = true;
	else
		r->kick_all = true;
	pthread_cond_signal(&r->sched_cv);
	pthread_mutex_unlock(&r->mu);
}
