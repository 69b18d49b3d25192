/* vsock.c: the hybrid vsock proxy, driven by the event loop. */
#include "vsock.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define GUEST_INITIATED_PORT	53
#define FIRST_HOST_PORT		1073741824u	/* Firecracker's first */
#define BUF_SIZE		65536
#define LINE_MAX_LEN		32

const unsigned vmm_vsock_ports[VMM_VSOCK_NPORTS] = { 52, GUEST_INITIATED_PORT };

struct stream;

/* One side of a stream and the bytes read from it, not yet written on. */
struct end {
	struct vmm_watch	 w;
	struct stream		*s;
	char			 buf[BUF_SIZE];
	size_t			 off, len;
};

struct stream {
	struct vmm_vsock	*v;
	struct stream		*next;
	unsigned		 port;
	bool			 ready;	/* handshake done, bytes may flow */
	bool			 dead;
	char			 line[LINE_MAX_LEN];
	size_t			 linelen;
	struct end		 host;	/* client or <uds_path>_<port> */
	struct end		 guest;	/* QEMU's chardev for the port */
};

struct vmm_vsock {
	struct vmm_watch	 listener;
	struct stream		*streams;
	char			 uds_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char			 rundir[4096];
	unsigned		 next_host_port;
};

static void end_event(struct vmm_watch *w, uint32_t events);

static int
unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static void
end_close(struct end *x)
{
	if (x->w.fd >= 0) {
		vmm_loop_del(&x->w);
		close(x->w.fd);
	}
	x->w.fd = -1;
	x->off = x->len = 0;
}

static struct stream *
stream_new(struct vmm_vsock *v, unsigned port)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->v = v;
	s->port = port;
	s->host.s = s->guest.s = s;
	s->host.w.fd = s->guest.w.fd = -1;
	s->host.w.fn = s->guest.w.fn = end_event;
	s->next = v->streams;
	v->streams = s;
	return s;
}

static void
stream_kill(struct stream *s)
{
	struct stream **pp;

	if (s->dead)
		return;
	s->dead = true;
	end_close(&s->host);
	end_close(&s->guest);
	for (pp = &s->v->streams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (vmm_loop_free_later(s) < 0)
		vmm_log(VMM_LOG_ERROR, "vsock: out of memory, leaking a stream");
}

/* Whether a host may CONNECT to guest port `port`. */
static bool
host_port(unsigned long port)
{
	for (int i = 0; i < VMM_VSOCK_NPORTS; i++)
		if (vmm_vsock_ports[i] == port)
			return port != GUEST_INITIATED_PORT;
	return false;
}

static bool
port_busy(const struct vmm_vsock *v, unsigned port)
{
	for (const struct stream *s = v->streams; s != NULL; s = s->next)
		if (s->port == port && s->ready)
			return true;
	return false;
}

/* Start the guest-initiated stream of `port`: only its channel is open. */
static int
guest_stream_open(struct vmm_vsock *v, unsigned port)
{
	char path[4200];
	struct stream *s;
	int fd;

	snprintf(path, sizeof(path), "%s/vsock-%u.sock", v->rundir, port);
	if ((fd = unix_connect(path)) < 0)
		return fd;
	if ((s = stream_new(v, port)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	s->ready = true;
	s->guest.w.fd = fd;
	if (vmm_loop_add(&s->guest.w, EPOLLIN) < 0) {
		stream_kill(s);
		return -EIO;
	}
	return 0;
}

/* Watch each end for what it can do next. */
static void
stream_update(struct stream *s)
{
	struct end *ends[2] = { &s->host, &s->guest };
	uint32_t ev;

	for (int i = 0; i < 2; i++) {
		if (ends[i]->w.fd < 0)
			continue;
		ev = 0;
		if (ends[i]->len == 0)
			ev |= EPOLLIN;
		if (ends[1 - i]->len > 0 && ends[1 - i]->w.fd >= 0)
			ev |= EPOLLOUT;
		vmm_loop_mod(&ends[i]->w, ev);
	}
}

/* Write what `src` holds to `dst`. Returns 0, or -1 when `dst` failed. */
static int
flush(struct end *src, struct end *dst)
{
	ssize_t n;

	while (src->len > 0 && dst->w.fd >= 0) {
		n = send(dst->w.fd, src->buf + src->off, src->len, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		src->off += (size_t)n;
		src->len -= (size_t)n;
	}
	if (src->len == 0)
		src->off = 0;
	return 0;
}

/*
 * Bytes from the guest on a guest-initiated port with no host connection
 * yet: connect to <uds_path>_<port>, or drop them when nobody listens.
 */
static void
guest_dial(struct stream *s)
{
	char path[sizeof(s->v->uds_path) + 16];
	int fd;

	snprintf(path, sizeof(path), "%s_%u", s->v->uds_path, s->port);
	if ((fd = unix_connect(path)) < 0) {
		vmm_log(VMM_LOG_DEBUG, "vsock: guest port %u: %s: %s; dropping "
		    "%zu bytes", s->port, path, strerror(-fd), s->guest.len);
		s->guest.len = s->guest.off = 0;
		return;
	}
	s->host.w.fd = fd;
	if (vmm_loop_add(&s->host.w, EPOLLIN) < 0) {
		end_close(&s->host);
		return;
	}
	vmm_log(VMM_LOG_INFO, "vsock: guest connected port %u to %s", s->port,
	    path);
}

/* Read and answer "CONNECT <port>\n". Returns 0, or -1 to kill the stream. */
static int
handshake(struct stream *s)
{
	char path[4200], ok[32], *nl, *endp;
	unsigned long port;
	size_t rest;
	ssize_t n;
	int fd;

	n = recv(s->host.w.fd, s->line + s->linelen,
	    sizeof(s->line) - 1 - s->linelen, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	s->linelen += (size_t)n;
	s->line[s->linelen] = '\0';
	if ((nl = strchr(s->line, '\n')) == NULL)
		return s->linelen == sizeof(s->line) - 1 ? -1 : 0;
	*nl = '\0';
	if (strncmp(s->line, "CONNECT ", 8) != 0)
		return -1;
	errno = 0;
	port = strtoul(s->line + 8, &endp, 10);
	if (errno != 0 || *endp != '\0' || endp == s->line + 8)
		return -1;
	s->port = (unsigned)port;
	if (!host_port(port) || port_busy(s->v, s->port)) {
		vmm_log(VMM_LOG_INFO, "vsock: refusing CONNECT %lu (%s)", port,
		    host_port(port) ? "port busy" : "no such port");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/vsock-%u.sock", s->v->rundir, s->port);
	if ((fd = unix_connect(path)) < 0) {
		vmm_log(VMM_LOG_WARN, "vsock: port %u: %s", s->port,
		    strerror(-fd));
		return -1;
	}
	s->guest.w.fd = fd;
	if (vmm_loop_add(&s->guest.w, 0) < 0)
		return -1;
	n = snprintf(ok, sizeof(ok), "OK %u\n", s->v->next_host_port++);
	if (send(s->host.w.fd, ok, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	/* Bytes that followed the request line go to the guest. */
	rest = s->linelen - (size_t)(nl + 1 - s->line);
	memcpy(s->host.buf, nl + 1, rest);
	s->host.len = rest;
	s->ready = true;
	vmm_log(VMM_LOG_INFO, "vsock: host connected to guest port %u", s->port);
	return 0;
}

static void
end_event(struct vmm_watch *w, uint32_t events)
{
	struct end *x = (struct end *)w;
	struct stream *s = x->s;
	struct end *other = x == &s->host ? &s->guest : &s->host;
	ssize_t n;

	if (s->dead)
		return;
	if (!s->ready) {
		if (handshake(s) < 0)
			goto kill;
		goto out;
	}
	if (events & EPOLLOUT && flush(other, x) < 0)
		goto broken;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR) && x->len == 0) {
		n = recv(x->w.fd, x->buf, sizeof(x->buf), 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			goto out;
		if (n <= 0)
			goto broken;
		x->off = 0;
		x->len = (size_t)n;
		if (x == &s->guest && s->host.w.fd < 0)
			guest_dial(s);
		if (flush(x, other) < 0)
			goto broken;
	}
out:
	stream_update(s);
	return;
broken:
	/*
	 * A guest-initiated channel is reopened after its host peer goes, so
	 * the guest sees a hangup and the port can carry the next connection.
	 */
	if (s->port == GUEST_INITIATED_PORT && s->host.w.fd >= 0 &&
	    x == &s->host) {
		stream_kill(s);
		if (guest_stream_open(s->v, GUEST_INITIATED_PORT) < 0)
			vmm_log(VMM_LOG_WARN, "vsock: cannot reopen port %u",
			    GUEST_INITIATED_PORT);
		return;
	}
kill:
	if (s->ready)
		vmm_log(VMM_LOG_INFO, "vsock: stream on port %u closed",
		    s->port);
	stream_kill(s);
}

static void
listener_event(struct vmm_watch *w, uint32_t events)
{
	struct vmm_vsock *v = (struct vmm_vsock *)w;
	struct stream *s;
	int fd;

	(void)events;
	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if ((s = stream_new(v, 0)) == NULL) {
		close(fd);
		return;
	}
	s->host.w.fd = fd;
	if (vmm_loop_add(&s->host.w, EPOLLIN) < 0)
		stream_kill(s);
}

int
vmm_vsock_open(struct vmm_vsock **vp, const char *uds_path,
    const char *rundir, struct mvm_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vmm_vsock *v;
	struct stat st;
	int rc;

	if (strlen(uds_path) >= sizeof(sa.sun_path))
		return mvm_error_set(e, ENAMETOOLONG, "vsock uds_path \"%s\" "
		    "is longer than %zu bytes.", uds_path,
		    sizeof(sa.sun_path) - 1);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	v->listener.fd = -1;
	v->listener.fn = listener_event;
	v->next_host_port = FIRST_HOST_PORT;
	snprintf(v->uds_path, sizeof(v->uds_path), "%s", uds_path);
	snprintf(v->rundir, sizeof(v->rundir), "%s", rundir);
	strcpy(sa.sun_path, uds_path);

	if (lstat(uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			rc = mvm_error_set(e, EEXIST, "vsock uds_path \"%s\" "
			    "exists and is not a socket.", uds_path);
			goto fail;
		}
		unlink(uds_path);
	}
	v->listener.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (v->listener.fd < 0 ||
	    bind(v->listener.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(v->listener.fd, 16) < 0) {
		rc = mvm_error_set(e, errno, "Cannot listen on vsock uds_path "
		    "\"%s\": %s.", uds_path, strerror(errno));
		goto fail;
	}
	if ((rc = vmm_loop_add(&v->listener, EPOLLIN)) < 0) {
		rc = mvm_error_set(e, -rc, "epoll: %s.", strerror(-rc));
		goto fail;
	}
	if ((rc = guest_stream_open(v, GUEST_INITIATED_PORT)) < 0) {
		rc = mvm_error_set(e, -rc, "Cannot open the channel of guest "
		    "port %u: %s.", GUEST_INITIATED_PORT, strerror(-rc));
		goto fail;
	}
	*vp = v;
	return 0;
fail:
	vmm_vsock_close(v);
	return rc;
}

void
vmm_vsock_close(struct vmm_vsock *v)
{
	if (v == NULL)
		return;
	while (v->streams != NULL)
		stream_kill(v->streams);
	if (v->listener.fd >= 0) {
		vmm_loop_del(&v->listener);
		close(v->listener.fd);
		unlink(v->uds_path);
	}
	free(v);
}
