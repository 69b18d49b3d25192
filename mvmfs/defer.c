/*
 * defer.c: deferred replies and worker threads (see defer.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "defer.h"

struct item {
	struct item	*next;
	void		(*fn)(void *arg);
	void		*arg;
};

struct mvmfs_workers {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct item	*head;
	struct item	**tail;
	bool		 stopping;
	int		 n;
	pthread_t	 threads[];
};

static void
on_interrupt(fuse_req_t req, void *arg)
{
	struct mvmfs_slot *sl = arg;
	bool mine;

	pthread_mutex_lock(&sl->lock);
	mine = !sl->answered;
	sl->answered = true;
	pthread_mutex_unlock(&sl->lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

void
mvmfs_slot_init(struct mvmfs_slot *sl, fuse_req_t req)
{
	pthread_mutex_init(&sl->lock, NULL);
	sl->req = req;
	sl->answered = false;
	if (req != NULL)
		fuse_req_interrupt_func(req, on_interrupt, sl);
}

bool
mvmfs_slot_claim(struct mvmfs_slot *sl)
{
	bool mine;

	pthread_mutex_lock(&sl->lock);
	mine = !sl->answered && sl->req != NULL;
	sl->answered = true;
	pthread_mutex_unlock(&sl->lock);
	/*
	 * libfuse calls the interrupt function under the request's lock,
	 * which this takes: a running callback is waited out, and none
	 * runs afterwards.
	 */
	if (mine)
		fuse_req_interrupt_func(sl->req, NULL, NULL);
	return mine;
}

bool
mvmfs_slot_answered(struct mvmfs_slot *sl)
{
	bool done;

	pthread_mutex_lock(&sl->lock);
	done = sl->answered;
	pthread_mutex_unlock(&sl->lock);
	return done;
}

void
mvmfs_slot_destroy(struct mvmfs_slot *sl)
{
	pthread_mutex_destroy(&sl->lock);
}

static void *
worker_main(void *arg)
{
	struct mvmfs_workers *ws = arg;
	struct item *it;

	for (;;) {
		pthread_mutex_lock(&ws->lock);
		while (ws->head == NULL && !ws->stopping)
			pthread_cond_wait(&ws->cond, &ws->lock);
		if ((it = ws->head) != NULL) {
			ws->head = it->next;
			if (ws->head == NULL)
				ws->tail = &ws->head;
		}
		pthread_mutex_unlock(&ws->lock);
		if (it == NULL)
			break;
		it->fn(it->arg);
		free(it);
	}
	return NULL;
}

int
mvmfs_workers_new(int n, struct mvmfs_workers **out)
{
	struct mvmfs_workers *ws;
	int rc;

	if (n < 1 || n > 64)
		return -EINVAL;
	if ((ws = calloc(1, sizeof(*ws) + n * sizeof(ws->threads[0]))) == NULL)
		return -ENOMEM;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->cond, NULL);
	ws->tail = &ws->head;
	for (ws->n = 0; ws->n < n; ws->n++) {
		if ((rc = pthread_create(&ws->threads[ws->n], NULL,
		    worker_main, ws)) != 0) {
			mvmfs_workers_free(ws);
			return -rc;
		}
	}
	*out = ws;
	return 0;
}

int
mvmfs_workers_queue(struct mvmfs_workers *ws, void (*fn)(void *arg),
    void *arg)
{
	struct item *it;

	if ((it = calloc(1, sizeof(*it))) == NULL)
		return -ENOMEM;
	it->fn = fn;
	it->arg = arg;
	pthread_mutex_lock(&ws->lock);
	*ws->tail = it;
	ws->tail = &it->next;
	pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	return 0;
}

void
mvmfs_workers_free(struct mvmfs_workers *ws)
{
	int i;

	if (ws == NULL)
		return;
	pthread_mutex_lock(&ws->lock);
	ws->stopping = true;
	pthread_cond_broadcast(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
	for (i = 0; i < ws->n; i++)
		pthread_join(ws->threads[i], NULL);
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
	free(ws);
}
