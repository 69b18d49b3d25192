/*
 * guestlock.c: the gates that let one call at a time reach a guest's agent
 * (guest_int.h says why and how).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "guest_int.h"

#define SUN_PATH_MAX	sizeof(((struct sockaddr_un *)0)->sun_path)

/* A thread waiting in line for a gate. */
struct waiter {
	struct waiter	*next;
};

struct mvm_guest_gate {
	struct mvm_guest_gate	*next;
	char			 lock_path[SUN_PATH_MAX + 8];
	bool			 busy;	/* a caller holds it */
	int			 lock;	/* the flocked lock file while busy */
	int			 conn;	/* the holder's connection, or -1 */
	struct waiter		*head;	/* first come, first served */
	struct waiter		*tail;
	size_t			 users;	/* the holder and the waiters */
};

/* Every gate in use, under `mu`; `cv` is broadcast when one frees. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static pthread_once_t cv_once = PTHREAD_ONCE_INIT;
static struct mvm_guest_gate *gates;

static void
cv_init(void)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &a);
	pthread_condattr_destroy(&a);
}

/* The gate of `lock_path`, made when none is in use; NULL without memory. */
static struct mvm_guest_gate *
gate_get(const char *lock_path)
{
	struct mvm_guest_gate *g;

	for (g = gates; g != NULL; g = g->next)
		if (strcmp(g->lock_path, lock_path) == 0)
			return g;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	snprintf(g->lock_path, sizeof(g->lock_path), "%s", lock_path);
	g->lock = -1;
	g->conn = -1;
	g->next = gates;
	gates = g;
	return g;
}

/* One user less of `g` (held under `mu`); the last one frees it. */
static void
gate_put(struct mvm_guest_gate *g)
{
	struct mvm_guest_gate **pp;

	if (--g->users > 0)
		return;
	for (pp = &gates; *pp != g; pp = &(*pp)->next)
		continue;
	*pp = g->next;
	free(g);
}

/* Take `w` out of the line of `g` (held under `mu`). */
static void
line_remove(struct mvm_guest_gate *g, struct waiter *w)
{
	struct waiter **pp, *prev = NULL;

	for (pp = &g->head; *pp != w; pp = &(*pp)->next)
		prev = *pp;
	*pp = w->next;
	if (g->tail == w)
		g->tail = prev;
}

/* Wait in line for `g` until `deadline`: 0 or -ETIMEDOUT (under `mu`). */
static int
line_wait(struct mvm_guest_gate *g, int64_t deadline)
{
	struct waiter w = { 0 };
	struct timespec ts = { .tv_sec = deadline / 1000,
	    .tv_nsec = (deadline % 1000) * 1000000 };
	int rc = 0;

	if (g->tail != NULL)
		g->tail->next = &w;
	else
		g->head = &w;
	g->tail = &w;
	while (rc == 0 && (g->busy || g->head != &w))
		if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
			rc = -ETIMEDOUT;
	if (rc == 0 && (g->busy || g->head != &w))
		rc = -ETIMEDOUT;
	line_remove(g, &w);
	if (rc == 0)
		g->busy = true;
	else
		pthread_cond_broadcast(&cv);	/* the next in line may go */
	return rc;
}

/* Open and flock the lock file of gate `g` before `deadline`. */
static int
flock_take(struct mvm_guest_gate *g, int64_t deadline, struct mvm_error *e)
{
	int l, nap_ms = 1;

	l = open(g->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l < 0 && errno == ENOENT)
		return mvm_error_set(e, ECONNREFUSED, "nothing listens beside "
		    "%s: its directory is gone", g->lock_path);
	if (l < 0)
		return mvm_error_set(e, errno, "cannot open the lock %s: %s",
		    g->lock_path, strerror(errno));
	while (flock(l, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int err = errno;

			close(l);
			return mvm_error_set(e, err, "cannot lock %s: %s",
			    g->lock_path, strerror(err));
		}
		if (mvm_guest_now_ms() >= deadline) {
			close(l);
			return mvm_error_set(e, ETIMEDOUT, "another process "
			    "held %s past the timeout", g->lock_path);
		}
		usleep((useconds_t)nap_ms * 1000);
		nap_ms = nap_ms < 16 ? nap_ms * 2 : nap_ms;
	}
	g->lock = l;
	return 0;
}

int
mvm_guest_gate_enter(const char *vsock_uds_path, int64_t deadline,
    struct mvm_guest_gate **out, struct mvm_error *e)
{
	char lock_path[SUN_PATH_MAX + 8];
	struct mvm_guest_gate *g;
	int rc;

	*out = NULL;
	if (strlen(vsock_uds_path) >= SUN_PATH_MAX)
		return mvm_error_set(e, ENAMETOOLONG, "vsock socket path "
		    "\"%s\" is longer than %zu bytes", vsock_uds_path,
		    SUN_PATH_MAX - 1);
	snprintf(lock_path, sizeof(lock_path), "%s.lock", vsock_uds_path);
	pthread_once(&cv_once, cv_init);
	pthread_mutex_lock(&mu);
	if ((g = gate_get(lock_path)) == NULL) {
		pthread_mutex_unlock(&mu);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	g->users++;
	rc = line_wait(g, deadline);
	if (rc < 0)
		gate_put(g);
	pthread_mutex_unlock(&mu);
	if (rc < 0)
		return mvm_error_set(e, ETIMEDOUT, "another call to the guest "
		    "behind \"%s\" held it past the timeout", vsock_uds_path);
	if ((rc = flock_take(g, deadline, e)) < 0) {
		mvm_guest_gate_leave(g);
		return rc;
	}
	*out = g;
	return 0;
}

void
mvm_guest_gate_bind(struct mvm_guest_gate *g, int fd)
{
	pthread_mutex_lock(&mu);
	g->conn = fd;
	pthread_mutex_unlock(&mu);
}

struct mvm_guest_gate *
mvm_guest_gate_of(int fd)
{
	struct mvm_guest_gate *g;

	pthread_mutex_lock(&mu);
	for (g = gates; g != NULL; g = g->next)
		if (g->busy && g->conn == fd)
			break;
	pthread_mutex_unlock(&mu);
	return g;
}

void
mvm_guest_gate_leave(struct mvm_guest_gate *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&mu);
	if (g->lock >= 0)
		close(g->lock);		/* drops the flock */
	g->lock = -1;
	g->conn = -1;
	g->busy = false;
	gate_put(g);
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}
