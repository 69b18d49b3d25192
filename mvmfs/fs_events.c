/*
 * fs_events.c: the `events` streams of the /mvm tree (see fs_int.h and
 * events.h), and what a published event wakes: the blocked reads of the
 * streams it matches and the polls of the objects it touches.
 *
 * A read of a stream returns the lines waiting, or, when none is, waits
 * for the next event (EAGAIN instead under O_NONBLOCK); a signal ends the
 * wait (EINTR). The waits are parked on fs->waiters, the polls on
 * fs->pollers, both under fs->plock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fs_int.h"

/*
 * Read the next lines of an events stream into a reply. Returns 0 when
 * `req` was answered, or -EAGAIN when nothing is new (not answered).
 */
static int
events_reply(fuse_req_t req, struct mvmfs_ofile *of, size_t size)
{
	char *buf;
	ssize_t n;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return 0;
	}
	n = mvmfs_evreader_read(of->ev, buf, size, NULL);
	if (n >= 0)
		fuse_reply_buf(req, buf, n);
	else if (n != -EAGAIN)
		fuse_reply_err(req, (int)-n);
	free(buf);
	return n == -EAGAIN ? -EAGAIN : 0;
}

void
mvmfs_fs_waiter_free(struct mvmfs_waiter *w)
{
	mvmfs_slot_destroy(&w->slot);
	free(w);
}

/*
 * Answer the blocked reads that can read now, and drop those a signal
 * answered. Called with fs->plock held, which keeps every waiter's open
 * file alive (release drops its waiters under the same lock).
 */
static void
waiters_run(struct mvmfs_fs *fs)
{
	struct mvmfs_waiter **pp, *w;
	bool done;

	for (pp = &fs->waiters; (w = *pp) != NULL;) {
		done = mvmfs_slot_answered(&w->slot);
		if (!done && mvmfs_evreader_ready(w->of->ev)) {
			if (mvmfs_slot_claim(&w->slot) &&
			    events_reply(w->slot.req, w->of, w->size) == -EAGAIN)
				fuse_reply_buf(w->slot.req, NULL, 0);
			done = true;
		}
		if (done) {
			*pp = w->next;
			mvmfs_fs_waiter_free(w);
		} else {
			pp = &w->next;
		}
	}
}

void
mvmfs_fs_waiters_drop(struct mvmfs_fs *fs, struct mvmfs_ofile *of)
{
	struct mvmfs_waiter **pp, *w;

	pthread_mutex_lock(&fs->plock);
	for (pp = &fs->waiters; (w = *pp) != NULL;) {
		if (w->of == of) {
			*pp = w->next;
			if (mvmfs_slot_claim(&w->slot))
				fuse_reply_err(w->slot.req, EBADF);
			mvmfs_fs_waiter_free(w);
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&fs->plock);
}

/*
 * Park a blocking read until an event arrives for its stream (on_change
 * answers it), or a signal interrupts it (EINTR).
 */
static void
events_wait(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    size_t size)
{
	struct mvmfs_waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->of = of;
	w->size = size;
	mvmfs_slot_init(&w->slot, req);
	pthread_mutex_lock(&fs->plock);
	w->next = fs->waiters;
	fs->waiters = w;
	/* An event may have come since the read found nothing. */
	waiters_run(fs);
	pthread_mutex_unlock(&fs->plock);
}

/* Does event `ev` touch the object of `k` (or one below it)? */
static bool
event_touches(const struct mvm_event *ev, const struct mvmfs_key *k)
{
	return (k->tenant[0] == '\0' || strcmp(ev->tenant, k->tenant) == 0) &&
	    (k->pool[0] == '\0' || strcmp(ev->pool, k->pool) == 0) &&
	    (k->instance[0] == '\0' || strcmp(ev->instance, k->instance) == 0);
}

/* Every published event: wake the polls of the objects it touches. */
void
mvmfs_fs_on_change(void *arg, const struct mvm_event *ev)
{
	struct mvmfs_fs *fs = arg;
	struct mvmfs_poller **pp, *p, *woken = NULL;

	pthread_mutex_lock(&fs->plock);
	fs->changes++;
	waiters_run(fs);
	for (pp = &fs->pollers; (p = *pp) != NULL;) {
		if (event_touches(ev, &p->key)) {
			*pp = p->next;
			p->next = woken;
			woken = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&fs->plock);
	while ((p = woken) != NULL) {
		woken = p->next;
		fuse_lowlevel_notify_poll(p->ph);
		fuse_pollhandle_destroy(p->ph);
		free(p);
	}
}

/* ---- the class ---- */

static int
events_stat(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    const struct mvm_tenant *t, struct stat *st)
{
	mvmfs_fs_stat_fixed(fs, k, t, 1, st);	/* a stream has no size */
	return 0;
}

static int
events_open(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    struct fuse_file_info *fi, const struct mvm_tenant *t)
{
	struct mvm_error e = { 0 };
	int rc;

	if ((rc = mvmfs_fs_open_access(fs, req, of, fi, t)) < 0)
		return rc;
	if ((rc = mvmfs_evreader_open(fs->d.events,
	    of->key.tenant[0] ? of->key.tenant : NULL,
	    of->key.pool[0] ? of->key.pool : NULL,
	    of->key.instance[0] ? of->key.instance : NULL, &of->ev, &e)) < 0)
		return mvmfs_fs_fail(fs, &of->key, "open", rc, &e);
	fi->nonseekable = 1;
	fi->noflush = 1;	/* only a document commits on close */
	return 0;
}

static void
events_read(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)off;
	if (events_reply(req, of, size) == 0)
		return;
	if (of->nonblock || (fi->flags & O_NONBLOCK))
		fuse_reply_err(req, EAGAIN);
	else
		events_wait(fs, req, of, size);
}

/* A stream is readable when a line is waiting. */
static unsigned
events_poll(struct mvmfs_fs *fs, const struct mvmfs_ofile *of)
{
	(void)fs;
	return mvmfs_evreader_ready(of->ev) ? POLLIN : 0;
}

const struct mvmfs_fs_class mvmfs_fs_events_class = {
	.entry_timeout = MVMFS_FS_FILE_ENTRY_TIMEOUT,
	.stat = events_stat,
	.setattr = mvmfs_fs_setattr_fixed,
	.open = events_open,
	.read = events_read,
	.write = mvmfs_fs_write_none,
	.poll = events_poll,
};
