/*
 * events.h: the `events` streams of the /mvm tree.
 *
 * Every audit event (store.h) is one JSON line:
 *   {"seq":12,"time":"2026-11-26T20:32:37.123Z","tenant":"acme",
 *    "pool":"web","instance":"i-1234abcd","action":"instance.state",
 *    "detail":"running"}
 * (fields that do not apply are empty strings). A hub keeps the newest
 * MVMFS_EVENTS_RING events in memory, fed by mvmfs_events_publish, which
 * is what the engine's on_event should call. A reader follows one object:
 * the node (everything), a tenant, a pool or an instance. It first gets the
 * last MVMFS_EVENTS_BACKLOG matching events from the store, then each new
 * one once. A reader that falls more than the ring behind catches up with
 * every matching event stored after the last one it got, so it misses
 * nothing that was stored.
 *
 * Threads: every function may be called from any thread; one reader must
 * not be used by two threads at once. Callbacks run with no lock held.
 */
#ifndef MVMFS_EVENTS_H
#define MVMFS_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define MVMFS_EVENTS_RING	1024
#define MVMFS_EVENTS_BACKLOG	100

struct mvm_event;
struct mvm_store;
struct mvmfs_events;
struct mvmfs_evreader;

/* A hub over `st` (which must outlive it), or NULL when out of memory. */
struct mvmfs_events *mvmfs_events_new(struct mvm_store *st);

/* Free the hub. Every reader must have been closed. `evs` may be NULL. */
void	mvmfs_events_free(struct mvmfs_events *evs);

/*
 * Hand a stored event (ev->seq set) to the hub: it enters the ring, the
 * waiters of every reader it matches are called, then the change hook.
 * The signature fits struct mvm_engine_config's on_event.
 */
void	mvmfs_events_publish(void *evs, const struct mvm_event *ev);

/*
 * Call fn(arg, ev) after every published event (poll on `state` and
 * `status`). One hook; a second call replaces it, NULL removes it.
 */
void	mvmfs_events_subscribe_changes(struct mvmfs_events *evs,
	    void (*fn)(void *arg, const struct mvm_event *ev), void *arg);

/*
 * Open a reader of the events of an object: all NULL for the node, tenant
 * for a tenant, tenant and pool for a pool, all three for an instance.
 * The backlog is loaded here. On success *out owns the reader. Returns 0,
 * -ENOMEM, or a store error.
 */
int	mvmfs_evreader_open(struct mvmfs_events *evs, const char *tenant,
	    const char *pool, const char *instance,
	    struct mvmfs_evreader **out, struct mvm_error *e);

/*
 * Close the reader. Waiters still registered are dropped without being
 * called. `r` may be NULL.
 */
void	mvmfs_evreader_close(struct mvmfs_evreader *r);

/*
 * Copy the next lines into buf[0..size): as many whole lines as fit, or the
 * first part of a line longer than `size` (its rest comes next). Returns the
 * bytes copied (> 0 when size > 0), -EAGAIN when nothing new is there, or
 * a store error when catching up failed.
 */
ssize_t	mvmfs_evreader_read(struct mvmfs_evreader *r, char *buf,
	    size_t size, struct mvm_error *e);

/* True when a read would return bytes now. */
bool	mvmfs_evreader_ready(struct mvmfs_evreader *r);

/*
 * Register a one-shot wake(arg), called (from the publishing thread, no
 * lock held) on the next event this reader matches. Several may be
 * registered. Returns 0, -EALREADY when a read would return bytes now
 * (nothing registered: read instead), or -ENOMEM.
 */
int	mvmfs_evreader_wait(struct mvmfs_evreader *r,
	    void (*wake)(void *arg), void *arg);

/*
 * Write the JSON line of `ev` (with its '\n') into buf[0..size),
 * NUL-terminated. Returns its length, -ENOSPC when it does not fit, or
 * -ENOMEM. MVMFS_EVENT_LINE_MAX bytes always suffice.
 */
#define MVMFS_EVENT_LINE_MAX	8192
int	mvmfs_event_json(const struct mvm_event *ev, char *buf, size_t size);

#endif
