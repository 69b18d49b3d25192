/*
 * loop.h: mvm-qemu's single event loop (epoll). Everything, including the
 * HTTP API, runs on the main thread, so no state needs a lock.
 */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include <stdint.h>

struct vmm_watch {
	int	 fd;
	void	(*fn)(struct vmm_watch *w, uint32_t events);
};

/* Create the loop. Returns 0 or a negative errno. */
int vmm_loop_init(void);

/*
 * Watch w->fd for `events` (EPOLLIN, EPOLLOUT, ...); w->fn runs when one
 * fires. `w` must stay valid until vmm_loop_del. Returns 0 or -errno.
 */
int vmm_loop_add(struct vmm_watch *w, uint32_t events);

/* Change the events of a watched fd. Returns 0 or -errno. */
int vmm_loop_mod(struct vmm_watch *w, uint32_t events);

/* Stop watching w->fd (the caller closes it). */
void vmm_loop_del(struct vmm_watch *w);

/*
 * Wait up to `timeout_ms` (-1: forever) and dispatch ready watches.
 * Returns the number dispatched or a negative errno (never -EINTR).
 */
int vmm_loop_run_once(int timeout_ms);

/*
 * Free `p` (with free(3)) once the current batch of callbacks is done, so
 * a callback may drop an object whose other watch is ready in the same
 * batch; that watch's callback must check the object is still alive.
 * Returns 0 or -ENOMEM (then `p` is leaked rather than freed early).
 */
int vmm_loop_free_later(void *p);

/* Close the loop and free anything still pending. */
void vmm_loop_fini(void);

#endif
