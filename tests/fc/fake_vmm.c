/* fake_vmm.c: a scripted libmicrohttpd server on a unix socket. */
#include "fake_vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

static const char default_info[] = "{\"id\":\"anonymous-instance\","
    "\"state\":\"Not started\",\"vmm_version\":\"1.17.0\","
    "\"app_name\":\"Firecracker\"}";

/* One request in progress: its upload so far. */
struct fake_ctx {
	char	*body;
	size_t	 len;
	bool	 answered;
};

static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
    enum MHD_ConnectionNotificationCode code)
{
	struct fake_vmm *v = cls;

	(void)c;
	(void)socket_ctx;
	if (code != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&v->lock);
	v->connections++;
	pthread_mutex_unlock(&v->lock);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_ctx,
    enum MHD_RequestTerminationCode code)
{
	struct fake_vmm *v = cls;
	struct fake_ctx *ctx = *req_ctx;

	(void)c;
	(void)code;
	if (ctx == NULL)
		return;
	if (!ctx->answered) {
		pthread_mutex_lock(&v->lock);
		v->inflight--;
		pthread_mutex_unlock(&v->lock);
	}
	free(ctx->body);
	free(ctx);
	*req_ctx = NULL;
}

/* Record the finished request and pick its answer, under v->lock. */
static struct MHD_Response *
answer(struct fake_vmm *v, const char *method, const char *url,
    struct fake_ctx *ctx, unsigned *status)
{
	struct fake_req *r;
	const char *text = NULL;
	char *big;
	struct MHD_Response *resp;

	if (v->nreqs < FAKE_VMM_REQS) {
		r = &v->reqs[v->nreqs++];
		snprintf(r->method, sizeof(r->method), "%s", method);
		snprintf(r->path, sizeof(r->path), "%s", url);
		r->body = ctx->body != NULL ? ctx->body : strdup("");
		ctx->body = NULL;
	}
	if (v->big > 0) {
		*status = 200;
		if ((big = malloc(v->big)) == NULL)
			return NULL;
		memset(big, 'x', v->big);
		return MHD_create_response_from_buffer(v->big, big,
		    MHD_RESPMEM_MUST_FREE);
	}
	if (v->status != 0) {
		*status = v->status;
		text = v->body;
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/") == 0) {
		*status = 200;
		text = v->info != NULL ? v->info : default_info;
	} else if (strcmp(method, "GET") == 0 &&
	    strcmp(url, "/vm/config") == 0) {
		*status = 200;
		text = v->vm_config;
	} else
		*status = 204;
	text = text != NULL ? text : "";
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text,
	    MHD_RESPMEM_MUST_COPY);
	if (resp != NULL && text[0] != '\0')
		MHD_add_response_header(resp, "Content-Type",
		    "application/json");
	return resp;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_ctx)
{
	struct fake_vmm *v = cls;
	struct fake_ctx *ctx = *req_ctx;
	struct MHD_Response *resp;
	struct timespec brief = { 0, 2 * 1000 * 1000 };
	enum MHD_Result ret;
	unsigned status = 500;
	char *p;

	(void)version;
	if (ctx == NULL) {
		if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
			return MHD_NO;
		*req_ctx = ctx;
		pthread_mutex_lock(&v->lock);
		if (++v->inflight > v->max_inflight)
			v->max_inflight = v->inflight;
		pthread_mutex_unlock(&v->lock);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if ((p = realloc(ctx->body, ctx->len + *upload_size + 1)) ==
		    NULL)
			return MHD_NO;
		memcpy(p + ctx->len, upload, *upload_size);
		ctx->len += *upload_size;
		p[ctx->len] = '\0';
		ctx->body = p;
		*upload_size = 0;
		return MHD_YES;
	}

	/* Stay "in flight" a moment so that overlapping requests would meet. */
	nanosleep(&brief, NULL);
	pthread_mutex_lock(&v->lock);
	resp = answer(v, method, url, ctx, &status);
	while (v->hang && !v->released)
		pthread_cond_wait(&v->cond, &v->lock);
	v->inflight--;
	ctx->answered = true;
	pthread_mutex_unlock(&v->lock);
	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int
fake_vmm_start(struct fake_vmm *v)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	snprintf(v->dir, sizeof(v->dir), "/tmp/mvm-fc-test-XXXXXX");
	if (mkdtemp(v->dir) == NULL)
		return -errno;
	snprintf(v->sock, sizeof(v->sock), "%s/api.sock", v->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", v->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(fd, 16) < 0) {
		close(fd);
		return -errno;
	}
	v->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, on_request, v,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, v,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, v,
	    MHD_OPTION_END);
	if (v->daemon == NULL) {
		close(fd);
		return -EIO;
	}
	return 0;
}

void
fake_vmm_stop(struct fake_vmm *v)
{
	pthread_mutex_lock(&v->lock);
	v->released = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (v->daemon != NULL)
		MHD_stop_daemon(v->daemon);
	v->daemon = NULL;
	unlink(v->sock);
	rmdir(v->dir);
	for (size_t i = 0; i < v->nreqs; i++)
		free(v->reqs[i].body);
	v->nreqs = 0;
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
}
