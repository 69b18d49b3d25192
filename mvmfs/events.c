/*
 * events.c: the in-memory ring of recent events and its readers.
 *
 * A reader remembers its position in the ring by insertion count, not by
 * seq: engine threads store events in seq order but may publish them in
 * another order, and a position never skips one. Events that came from the
 * store (the backlog and catch-ups) are not delivered twice: ring entries
 * whose seq is not above the newest event loaded from the store are skipped
 * (every event stored later has a larger seq).
 *
 * Lock order: the store is never called with the hub's lock held, since the
 * engine may publish while it holds the store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "events.h"
#include "store.h"

/* Stop moving ring events into a reader's buffer beyond this many bytes. */
#define PEND_SOFT_MAX	(64 * 1024)

struct waiter {
	struct waiter	*next;
	void		(*wake)(void *);
	void		*arg;
};

struct mvmfs_evreader {
	struct mvmfs_events	*evs;
	struct mvmfs_evreader	*next;		/* in evs->readers */
	char		*tenant, *pool, *instance;	/* NULL: any */
	size_t		 pos;		/* next ring entry, by count */
	int64_t		 stored_seq;	/* newest seq loaded from the store */
	int64_t		 last_seq;	/* newest seq delivered */
	char		*pend;		/* formatted lines not yet read */
	size_t		 pend_len, pend_off, pend_cap;
	struct waiter	*waiters;
};

struct mvmfs_events {
	pthread_mutex_t	 lock;
	struct mvm_store *st;
	struct mvm_event *ring;		/* entry i at ring[i % RING] */
	size_t		 count;		/* events ever published */
	struct mvmfs_evreader *readers;
	void		(*change)(void *, const struct mvm_event *);
	void		*change_arg;
};

struct mvmfs_events *
mvmfs_events_new(struct mvm_store *st)
{
	struct mvmfs_events *evs;

	if ((evs = calloc(1, sizeof(*evs))) == NULL)
		return NULL;
	if ((evs->ring = calloc(MVMFS_EVENTS_RING, sizeof(*evs->ring))) ==
	    NULL) {
		free(evs);
		return NULL;
	}
	pthread_mutex_init(&evs->lock, NULL);
	evs->st = st;
	return evs;
}

void
mvmfs_events_free(struct mvmfs_events *evs)
{
	if (evs == NULL)
		return;
	pthread_mutex_destroy(&evs->lock);
	free(evs->ring);
	free(evs);
}

int
mvmfs_event_json(const struct mvm_event *ev, char *buf, size_t size)
{
	char when[40], *s;
	struct tm tm;
	time_t secs = ev->time_ms / 1000;
	cJSON *o;
	size_t n;
	int rc;

	gmtime_r(&secs, &tm);
	n = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + n, sizeof(when) - n, ".%03dZ",
	    (int)(ev->time_ms % 1000 + 1000) % 1000);
	if ((o = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	if (cJSON_AddNumberToObject(o, "seq", (double)ev->seq) == NULL ||
	    cJSON_AddStringToObject(o, "time", when) == NULL ||
	    cJSON_AddStringToObject(o, "tenant", ev->tenant) == NULL ||
	    cJSON_AddStringToObject(o, "pool", ev->pool) == NULL ||
	    cJSON_AddStringToObject(o, "instance", ev->instance) == NULL ||
	    cJSON_AddStringToObject(o, "action", ev->action) == NULL ||
	    cJSON_AddStringToObject(o, "detail", ev->detail) == NULL ||
	    (s = cJSON_PrintUnformatted(o)) == NULL) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	n = strlen(s);
	rc = n + 2 > size ? -ENOSPC : snprintf(buf, size, "%s\n", s);
	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

static bool
field_matches(const char *want, const char *have)
{
	return want == NULL || strcmp(want, have) == 0;
}

static bool
matches(const struct mvmfs_evreader *r, const struct mvm_event *ev)
{
	return field_matches(r->tenant, ev->tenant) &&
	    field_matches(r->pool, ev->pool) &&
	    field_matches(r->instance, ev->instance);
}

/* Append the line of `ev` to the reader's buffer. */
static int
pend_add(struct mvmfs_evreader *r, const struct mvm_event *ev)
{
	char *np;
	size_t cap;
	int n;

	if (r->pend_off == r->pend_len)
		r->pend_off = r->pend_len = 0;
	if (r->pend_cap - r->pend_len < MVMFS_EVENT_LINE_MAX) {
		cap = r->pend_cap == 0 ? 2 * MVMFS_EVENT_LINE_MAX :
		    r->pend_cap * 2;
		if ((np = realloc(r->pend, cap)) == NULL)
			return -ENOMEM;
		r->pend = np;
		r->pend_cap = cap;
	}
	if ((n = mvmfs_event_json(ev, r->pend + r->pend_len,
	    r->pend_cap - r->pend_len)) < 0)
		return n;
	r->pend_len += n;
	if (ev->seq > r->last_seq)
		r->last_seq = ev->seq;
	return 0;
}

/*
 * Events listed from the store, oldest first: with keep > 0, the newest
 * `keep` of them in a circular array; with keep 0, all of them.
 */
struct tail {
	struct mvm_event *ev;
	size_t		 keep;
	size_t		 cap;
	size_t		 n;	/* seen */
};

static int
tail_add(const struct mvm_event *ev, void *arg)
{
	struct tail *t = arg;
	struct mvm_event *nev;
	size_t cap;

	if (t->keep > 0) {
		t->ev[t->n++ % t->keep] = *ev;
		return 0;
	}
	if (t->n == t->cap) {
		cap = t->cap == 0 ? 256 : t->cap * 2;
		if ((nev = reallocarray(t->ev, cap, sizeof(*nev))) == NULL)
			return -ENOMEM;
		t->ev = nev;
		t->cap = cap;
	}
	t->ev[t->n++] = *ev;
	return 0;
}

/*
 * Load the events after `after` from the store into the reader's buffer:
 * the newest `keep`, or all when keep is 0. Called without the hub's lock.
 */
static int
load_stored(struct mvmfs_evreader *r, int64_t after, size_t keep,
    struct mvm_error *e)
{
	struct mvm_event_filter f = {
		.tenant = r->tenant, .pool = r->pool, .instance = r->instance,
		.after_seq = after,
	};
	struct tail t = { .keep = keep };
	const struct mvm_event *ev;
	size_t i, first;
	int rc = 0;

	if (keep > 0 && (t.ev = calloc(keep, sizeof(*t.ev))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	if ((rc = mvm_store_event_list(r->evs->st, &f, tail_add, &t, e)) < 0)
		goto out;
	first = keep > 0 && t.n > keep ? t.n - keep : 0;
	pthread_mutex_lock(&r->evs->lock);
	for (i = first; i < t.n && rc == 0; i++) {
		ev = &t.ev[keep > 0 ? i % keep : i];
		rc = pend_add(r, ev);
		if (ev->seq > r->stored_seq)
			r->stored_seq = ev->seq;
	}
	pthread_mutex_unlock(&r->evs->lock);
out:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "out of memory");
	free(t.ev);
	return rc;
}

static char *
dup_or_null(const char *s, bool *failed)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*failed = true;
	return d;
}

int
mvmfs_evreader_open(struct mvmfs_events *evs, const char *tenant,
    const char *pool, const char *instance, struct mvmfs_evreader **out,
    struct mvm_error *e)
{
	struct mvmfs_evreader *r;
	bool failed = false;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	r->evs = evs;
	r->tenant = dup_or_null(tenant, &failed);
	r->pool = dup_or_null(pool, &failed);
	r->instance = dup_or_null(instance, &failed);
	if (failed) {
		mvmfs_evreader_close(r);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	/* Register first, so nothing published during the load is lost. */
	pthread_mutex_lock(&evs->lock);
	r->pos = evs->count;
	r->next = evs->readers;
	evs->readers = r;
	pthread_mutex_unlock(&evs->lock);
	if ((rc = load_stored(r, 0, MVMFS_EVENTS_BACKLOG, e)) < 0) {
		mvmfs_evreader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void
mvmfs_evreader_close(struct mvmfs_evreader *r)
{
	struct mvmfs_evreader **p;
	struct waiter *w, *next;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->evs->lock);
	for (p = &r->evs->readers; *p != NULL; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	pthread_mutex_unlock(&r->evs->lock);
	for (w = r->waiters; w != NULL; w = next) {
		next = w->next;
		free(w);
	}
	free(r->tenant);
	free(r->pool);
	free(r->instance);
	free(r->pend);
	free(r);
}

/* Is a ring entry there that this reader would deliver? Lock held. */
static bool
ring_has(const struct mvmfs_evreader *r)
{
	const struct mvmfs_events *evs = r->evs;
	const struct mvm_event *ev;
	size_t i;

	if (evs->count - r->pos > MVMFS_EVENTS_RING)
		return true;	/* overrun: a catch-up is due */
	for (i = r->pos; i < evs->count; i++) {
		ev = &evs->ring[i % MVMFS_EVENTS_RING];
		if (ev->seq > r->stored_seq && matches(r, ev))
			return true;
	}
	return false;
}

/*
 * Move ring entries into the reader's buffer. Returns 1 when the reader
 * was overrun and must catch up from the store, 0, or -ENOMEM.
 */
static int
drain_ring(struct mvmfs_evreader *r)
{
	struct mvmfs_events *evs = r->evs;
	const struct mvm_event *ev;
	int rc;

	if (evs->count - r->pos > MVMFS_EVENTS_RING) {
		r->pos = evs->count;
		return 1;
	}
	for (; r->pos < evs->count; r->pos++) {
		if (r->pend_len - r->pend_off >= PEND_SOFT_MAX)
			break;
		ev = &evs->ring[r->pos % MVMFS_EVENTS_RING];
		if (ev->seq <= r->stored_seq || !matches(r, ev))
			continue;
		if ((rc = pend_add(r, ev)) < 0)
			return rc;
	}
	return 0;
}

/* Copy whole lines that fit, or the first part of a longer one. */
static size_t
copy_out(struct mvmfs_evreader *r, char *buf, size_t size)
{
	const char *p = r->pend + r->pend_off;
	size_t avail = r->pend_len - r->pend_off, n = avail;
	const char *nl;

	if (n > size) {
		n = size;
		if ((nl = memrchr(p, '\n', n)) != NULL)
			n = nl - p + 1;
	}
	memcpy(buf, p, n);
	r->pend_off += n;
	return n;
}

ssize_t
mvmfs_evreader_read(struct mvmfs_evreader *r, char *buf, size_t size,
    struct mvm_error *e)
{
	int64_t after;
	ssize_t n;
	int rc;

	pthread_mutex_lock(&r->evs->lock);
	if (r->pend_off == r->pend_len)
		rc = drain_ring(r);
	else
		rc = 0;
	after = r->last_seq > r->stored_seq ? r->last_seq : r->stored_seq;
	pthread_mutex_unlock(&r->evs->lock);
	if (rc < 0)
		return mvm_error_set(e, ENOMEM, "out of memory");
	if (rc == 1 && (rc = load_stored(r, after, 0, e)) < 0)
		return rc;
	pthread_mutex_lock(&r->evs->lock);
	n = r->pend_off < r->pend_len ? (ssize_t)copy_out(r, buf, size) :
	    -EAGAIN;
	pthread_mutex_unlock(&r->evs->lock);
	return n;
}

bool
mvmfs_evreader_ready(struct mvmfs_evreader *r)
{
	bool ready;

	pthread_mutex_lock(&r->evs->lock);
	ready = r->pend_off < r->pend_len || ring_has(r);
	pthread_mutex_unlock(&r->evs->lock);
	return ready;
}

int
mvmfs_evreader_wait(struct mvmfs_evreader *r, void (*wake)(void *arg),
    void *arg)
{
	struct waiter *w;
	int rc = 0;

	if ((w = malloc(sizeof(*w))) == NULL)
		return -ENOMEM;
	w->wake = wake;
	w->arg = arg;
	pthread_mutex_lock(&r->evs->lock);
	if (r->pend_off < r->pend_len || ring_has(r)) {
		rc = -EALREADY;
	} else {
		w->next = r->waiters;
		r->waiters = w;
		w = NULL;
	}
	pthread_mutex_unlock(&r->evs->lock);
	free(w);
	return rc;
}

void
mvmfs_events_subscribe_changes(struct mvmfs_events *evs,
    void (*fn)(void *arg, const struct mvm_event *ev), void *arg)
{
	pthread_mutex_lock(&evs->lock);
	evs->change = fn;
	evs->change_arg = arg;
	pthread_mutex_unlock(&evs->lock);
}

void
mvmfs_events_publish(void *arg, const struct mvm_event *ev)
{
	struct mvmfs_events *evs = arg;
	struct mvmfs_evreader *r;
	struct waiter *fire = NULL, *w, *next;
	void (*change)(void *, const struct mvm_event *);
	void *change_arg;

	pthread_mutex_lock(&evs->lock);
	evs->ring[evs->count++ % MVMFS_EVENTS_RING] = *ev;
	for (r = evs->readers; r != NULL; r = r->next) {
		if (!matches(r, ev) || r->waiters == NULL)
			continue;
		for (w = r->waiters; w->next != NULL; w = w->next)
			;
		w->next = fire;
		fire = r->waiters;
		r->waiters = NULL;
	}
	change = evs->change;
	change_arg = evs->change_arg;
	pthread_mutex_unlock(&evs->lock);
	for (w = fire; w != NULL; w = next) {
		next = w->next;
		w->wake(w->arg);
		free(w);
	}
	if (change != NULL)
		change(change_arg, ev);
}
