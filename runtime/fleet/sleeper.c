/* sleeper.c: measure running and warm instances, park the idle ones. */
#include "sleeper.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "guest.h"
#include "netplan.h"
#include "sleeppolicy.h"
#include "store.h"
#include "world.h"

/* What the sleeper remembers of one running or warm instance. */
struct track {
	char			tenant[MVM_ID_MAX + 1];
	char			pool[MVM_ID_MAX + 1];
	char			id[MVM_ID_MAX + 1];
	int32_t			pid;		/* the VMM the track measured */
	uint64_t		pid_start;
	enum mvm_state		state;		/* as of the last pass */
	bool			deferred;	/* sleep.defer written in state */
	struct mvm_idle_track	idle;
};

struct mvm_sleeper {
	struct mvm_store	*st;
	struct mvm_engine	*eng;
	char			*root;
	int			 guest_timeout_ms;
	void			(*on_moved)(void *, const char *, const char *);
	void			*on_moved_arg;
	void			(*on_event)(void *, const struct mvm_event *);
	void			*on_event_arg;
	/*
	 * Tracks sorted by (tenant, pool, id). Only the pass writes them, and
	 * it holds the lock to do so; mvm_sleeper_instance reads under it.
	 */
	pthread_mutex_t		 lock;
	struct track		*tracks;
	size_t			 ntracks;
};

/* The node as one pass sees it, and its running and warm instances. */
struct view {
	struct mvm_world		 w;
	const struct mvm_instance	**in;	/* into w.ins, in its order */
	size_t				 nin;
};

/* Tracks in order of (tenant, pool, id). */
static int
track_cmp(const void *a, const void *b)
{
	const struct track *x = a, *y = b;
	int c;

	if ((c = strcmp(x->tenant, y->tenant)) != 0 ||
	    (c = strcmp(x->pool, y->pool)) != 0)
		return c;
	return strcmp(x->id, y->id);
}

static void
view_free(struct view *w)
{
	mvm_world_free(&w->w);
	free(w->in);
	memset(w, 0, sizeof(*w));
}

/* Read the node and pick out its running and warm instances. */
static int
view_read(struct mvm_store *st, struct view *w, struct mvm_error *e)
{
	size_t i;
	int rc;

	memset(w, 0, sizeof(*w));
	if ((rc = mvm_world_load(st, NULL, 0, &w->w, e)) < 0)
		return rc;
	if (w->w.nins > 0 &&
	    (w->in = calloc(w->w.nins, sizeof(*w->in))) == NULL) {
		view_free(w);
		return mvm_error_set(e, ENOMEM, "out of memory listing the "
		    "node's instances");
	}
	for (i = 0; i < w->w.nins; i++)
		if (w->w.ins[i].state == MVM_STATE_RUNNING ||
		    w->w.ins[i].state == MVM_STATE_WARM)
			w->in[w->nin++] = &w->w.ins[i];
	return 0;
}

/* The track of tenant/pool/id in a sorted array of n, or NULL. */
static struct track *
track_find(struct track *v, size_t n, const char *tenant, const char *pool,
    const char *id)
{
	struct track key;

	if (n == 0)
		return NULL;
	snprintf(key.tenant, sizeof(key.tenant), "%s", tenant);
	snprintf(key.pool, sizeof(key.pool), "%s", pool);
	snprintf(key.id, sizeof(key.id), "%s", id);
	return bsearch(&key, v, n, sizeof(*v), track_cmp);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Ask the agent of running instance `in` whether its workload is busy,
 * within the guest timeout for the whole exchange. No answer is no
 * evidence either way.
 */
static enum mvm_idle_guest
guest_status(struct mvm_sleeper *s, const struct mvm_instance *in)
{
	struct mvm_guest_status gs;
	char path[256];
	int64_t deadline = mono_ms() + s->guest_timeout_ms;
	int fd = -1, rc, left;

	if (in->state != MVM_STATE_RUNNING || in->op != MVM_OP_NONE ||
	    mvm_engine_vsock_path(s->eng, in, path, sizeof(path)) < 0)
		return MVM_IDLE_GUEST_UNKNOWN;
	rc = mvm_guest_connect(path, MVM_GUEST_PORT, s->guest_timeout_ms, &fd,
	    NULL);
	if (rc == 0) {
		left = (int)(deadline - mono_ms());
		rc = left > 0 ? mvm_guest_status(fd, left, &gs, NULL) :
		    -ETIMEDOUT;
	}
	mvm_guest_close(fd);
	if (rc < 0)
		return MVM_IDLE_GUEST_UNKNOWN;
	return gs.busy ? MVM_IDLE_GUEST_BUSY : MVM_IDLE_GUEST_IDLE;
}

/* Start track `tr` of `in` afresh. */
static void
track_restart(struct track *tr, const struct mvm_instance *in)
{
	tr->pid = in->pid;
	tr->pid_start = in->pid_start;
	tr->state = in->state;
	tr->deferred = false;
	mvm_idle_track_init(&tr->idle);
}

/*
 * Build the track of `in` for this pass from its old one (NULL when new)
 * and a sample, unless the sample cannot be taken. Returns true when it
 * was sampled.
 */
static bool
measure(struct mvm_sleeper *s, const struct view *w,
    const struct mvm_idle_procs *procs, const struct mvm_instance *in,
    const struct track *old, struct track *tr)
{
	const struct mvm_tenant *t = mvm_world_tenant(&w->w, in->tenant);
	const struct mvm_pool *p = mvm_world_pool(&w->w, in->tenant,
	    in->pool);
	struct mvm_idle_sample smp;
	char tap[MVM_IFNAME_MAX + 1] = "";

	if (old != NULL && old->pid == in->pid &&
	    old->pid_start == in->pid_start) {
		*tr = *old;
		if (tr->state != in->state) {
			tr->state = in->state;
			tr->deferred = false;
		}
	} else {
		memset(tr, 0, sizeof(*tr));
		snprintf(tr->tenant, sizeof(tr->tenant), "%s", in->tenant);
		snprintf(tr->pool, sizeof(tr->pool), "%s", in->pool);
		snprintf(tr->id, sizeof(tr->id), "%s", in->id);
		track_restart(tr, in);
	}
	if (t == NULL || p == NULL)
		return false;	/* deleted since the listing */
	mvm_net_tap_name(t->net_id, in->ip_offset, tap);
	if (in->pid <= 0 || mvm_idle_sample(procs, s->root, in->pid,
	    in->pid_start, tap, guest_status(s, in), &smp) < 0) {
		/* No VMM to measure (it is gone): no evidence of idleness. */
		track_restart(tr, in);
		return false;
	}
	mvm_idle_track_add(&tr->idle, &smp, &p->sleep);
	return true;
}

/* Write an event of instance `in` to the store, then tell on_event. */
static void
event(struct mvm_sleeper *s, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
event(struct mvm_sleeper *s, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
{
	struct mvm_event ev;
	struct timespec ts;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", in->tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", in->pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", in->id);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (mvm_store_event_add(s->st, &ev, &ev.seq, NULL) == 0 &&
	    s->on_event != NULL)
		s->on_event(s->on_event_arg, &ev);
}

/*
 * Carry out decision `d` on instance `in`, whose track is `tr`. Returns
 * true when the instance moved.
 */
static bool
carry_out(struct mvm_sleeper *s, const struct mvm_instance *in,
    struct track *tr, const struct mvm_sleep_decision *d,
    struct mvm_sleeper_result *res)
{
	struct mvm_error e = { 0 };
	int rc;

	if (d->deferred) {
		res->deferred++;
		if (!tr->deferred)
			event(s, in, "sleep.defer", "%s", d->reason);
		pthread_mutex_lock(&s->lock);
		tr->deferred = true;
		pthread_mutex_unlock(&s->lock);
		return false;
	}
	rc = mvm_engine_transition(s->eng, in->tenant, in->pool, in->id, d->to,
	    MVM_ENGINE_PARK, &e);
	if (rc == -EBUSY || rc == -ENOENT)
		return false;
	if (rc < 0) {
		res->failed++;
		event(s, in, "sleep.fail", "%s -> %s: %s",
		    mvm_state_name(in->state), mvm_state_name(d->to), e.msg);
		return false;
	}
	if (d->to == MVM_STATE_WARM)
		res->warmed++;
	else
		res->slept++;
	event(s, in, d->to == MVM_STATE_WARM ? "sleep.warm" : "sleep.sleep",
	    "%s", d->reason);
	/* Idleness in the new state is counted from now. */
	pthread_mutex_lock(&s->lock);
	track_restart(tr, in);
	pthread_mutex_unlock(&s->lock);
	return true;
}

/*
 * Decide for the pool of instances w->in[from, to) and carry the decisions
 * out, coldest first. `ins` and `d` have room for the pool's instances.
 */
static void
pool_pass(struct mvm_sleeper *s, const struct view *w, size_t from,
    size_t to, struct mvm_sleep_input *ins, struct mvm_sleep_decision *d,
    struct mvm_sleeper_result *res)
{
	const struct mvm_instance *first = w->in[from];
	const struct mvm_tenant *t = mvm_world_tenant(&w->w, first->tenant);
	const struct mvm_pool *p = mvm_world_pool(&w->w, first->tenant,
	    first->pool);
	size_t i, nd;
	bool moved = false;

	if (t == NULL || p == NULL)
		return;		/* deleted since the listing */
	for (i = 0; i < to - from; i++) {
		ins[i].in = w->in[from + i];
		ins[i].idle = &s->tracks[from + i].idle;
	}
	nd = mvm_sleep_decide(t, p, ins, to - from, time(NULL), d);
	for (i = 0; i < nd; i++)
		if (carry_out(s, ins[d[i].index].in,
		    &s->tracks[from + d[i].index], &d[i], res))
			moved = true;
	if (moved && s->on_moved != NULL)
		s->on_moved(s->on_moved_arg, p->tenant, p->id);
}

int
mvm_sleeper_open(const struct mvm_sleeper_config *cfg,
    struct mvm_sleeper **out, struct mvm_error *e)
{
	struct mvm_sleeper *s;

	*out = NULL;
	if (cfg->st == NULL || cfg->eng == NULL || cfg->guest_timeout_ms < 0)
		return mvm_error_set(e, EINVAL, "the sleeper needs a store, an "
		    "engine and a guest timeout of 0 ms or more");
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->root = strdup(cfg->root != NULL ? cfg->root : "")) == NULL) {
		free(s);
		return mvm_error_set(e, ENOMEM, "out of memory opening the "
		    "sleeper");
	}
	s->st = cfg->st;
	s->eng = cfg->eng;
	s->guest_timeout_ms = cfg->guest_timeout_ms ? cfg->guest_timeout_ms :
	    500;
	s->on_moved = cfg->on_moved;
	s->on_moved_arg = cfg->on_moved_arg;
	s->on_event = cfg->on_event;
	s->on_event_arg = cfg->on_event_arg;
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void
mvm_sleeper_close(struct mvm_sleeper *s)
{
	if (s == NULL)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->tracks);
	free(s->root);
	free(s);
}

int
mvm_sleeper_pass(struct mvm_sleeper *s, struct mvm_sleeper_result *res,
    struct mvm_error *e)
{
	struct mvm_sleeper_result r = { 0 };
	struct mvm_idle_procs procs = { 0 };
	struct mvm_sleep_decision *d = NULL;
	struct mvm_sleep_input *ins = NULL;
	struct track *tracks = NULL, *old;
	struct view w;
	size_t i, from;
	int rc;

	if ((rc = view_read(s->st, &w, e)) < 0)
		return rc;
	if ((rc = mvm_idle_procs_read(s->root, &procs)) < 0) {
		mvm_error_set(e, -rc, "cannot read %s/proc: %s", s->root,
		    strerror(-rc));
		goto out;
	}
	/* Everything the pass needs, before it moves anything. */
	if (w.nin > 0 && ((tracks = calloc(w.nin, sizeof(*tracks))) == NULL ||
	    (ins = calloc(w.nin, sizeof(*ins))) == NULL ||
	    (d = calloc(w.nin, sizeof(*d))) == NULL)) {
		free(tracks);
		rc = mvm_error_set(e, ENOMEM, "out of memory measuring %zu "
		    "instances", w.nin);
		goto out;
	}
	/* One track per running or warm instance: the others are dropped. */
	for (i = 0; i < w.nin; i++) {
		old = track_find(s->tracks, s->ntracks, w.in[i]->tenant,
		    w.in[i]->pool, w.in[i]->id);
		if (measure(s, &w, &procs, w.in[i], old, &tracks[i]))
			r.measured++;
	}
	pthread_mutex_lock(&s->lock);
	old = s->tracks;
	s->tracks = tracks;
	s->ntracks = w.nin;
	pthread_mutex_unlock(&s->lock);
	free(old);
	/* The instances are sorted, so each pool's are side by side. */
	for (from = 0, i = 1; i <= w.nin; i++) {
		if (i < w.nin &&
		    strcmp(w.in[i]->tenant, w.in[from]->tenant) == 0 &&
		    strcmp(w.in[i]->pool, w.in[from]->pool) == 0)
			continue;
		pool_pass(s, &w, from, i, ins, d, &r);
		from = i;
	}
	if (res != NULL)
		*res = r;
	rc = 0;
out:
	free(ins);
	free(d);
	mvm_idle_procs_free(&procs);
	view_free(&w);
	return rc;
}

int
mvm_sleeper_instance(struct mvm_sleeper *s, const char *tenant,
    const char *pool, const char *id, struct mvm_idle_track *out)
{
	struct track *tr;
	int rc = -ENOENT;

	pthread_mutex_lock(&s->lock);
	tr = track_find(s->tracks, s->ntracks, tenant, pool, id);
	if (tr != NULL && tr->idle.have_last) {
		*out = tr->idle;
		rc = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}
