/* loop.c: a thin epoll dispatcher. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define MAX_EVENTS 32

static int epfd = -1;
static void **graveyard;
static size_t ngrave, capgrave;

static void
bury(void)
{
	for (size_t i = 0; i < ngrave; i++)
		free(graveyard[i]);
	ngrave = 0;
}

int
vmm_loop_free_later(void *p)
{
	void **g;

	if (ngrave == capgrave) {
		g = realloc(graveyard, (capgrave + 16) * sizeof(*g));
		if (g == NULL)
			return -ENOMEM;
		graveyard = g;
		capgrave += 16;
	}
	graveyard[ngrave++] = p;
	return 0;
}

int
vmm_loop_init(void)
{
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

int
vmm_loop_add(struct vmm_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

int
vmm_loop_mod(struct vmm_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void
vmm_loop_del(struct vmm_watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

int
vmm_loop_run_once(int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	struct vmm_watch *w;
	int n;

	if ((n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms)) < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		w = evs[i].data.ptr;
		w->fn(w, evs[i].events);
	}
	bury();
	return n;
}

void
vmm_loop_fini(void)
{
	if (epfd >= 0)
		close(epfd);
	epfd = -1;
	bury();
	free(graveyard);
	graveyard = NULL;
	capgrave = 0;
}
