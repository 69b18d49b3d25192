/*
 * fake_vmm.h: a scripted HTTP server on a real unix socket, for testing the
 * Firecracker API client.
 *
 * libmicrohttpd serves a socket bound in a fresh temporary directory, one
 * thread per connection. Every request is recorded (method, path, body);
 * the answer follows the script fields below. The counters tell how many
 * connections the client opened and how many requests were ever in the
 * server at once.
 */
#ifndef FAKE_VMM_H
#define FAKE_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define FAKE_VMM_REQS	128

struct fake_req {
	char	 method[16];
	char	 path[256];
	char	*body;		/* NUL-terminated, "" when there was none */
};

struct fake_vmm {
	char			 dir[64];
	char			 sock[108];
	struct MHD_Daemon	*daemon;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;

	/*
	 * Script; change under `lock` (or before the client runs). With
	 * status 0, GET / answers 200 with `info` (a default InstanceInfo
	 * when NULL), GET /vm/config answers 200 with `vm_config`, anything
	 * else 204. A non-zero status answers every request with it and
	 * `body` (NULL: empty). `big` > 0 answers 200 with that many bytes.
	 * `hang` holds every answer until fake_vmm_stop().
	 */
	unsigned		 status;
	const char		*body;
	const char		*info;
	const char		*vm_config;
	size_t			 big;
	bool			 hang;

	/* Record, read under `lock`. */
	struct fake_req		 reqs[FAKE_VMM_REQS];
	size_t			 nreqs;
	unsigned		 connections;
	unsigned		 inflight;
	unsigned		 max_inflight;
	bool			 released;
};

/* Bind, listen and serve. Returns 0 or a negative errno. */
int fake_vmm_start(struct fake_vmm *v);

/* Release held answers, stop the server, remove the socket, free records. */
void fake_vmm_stop(struct fake_vmm *v);

#endif
