/* api.c: HTTP routes of Firecracker's API, answered by vm.c. */
#include "api.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define API_VERSION	"1.17.0"	/* the Firecracker API level served */

struct vmm_api {
	struct vmm_watch	 w;	/* libmicrohttpd's epoll fd */
	struct MHD_Daemon	*mhd;
	struct vmm_vm		*vm;
	bool			 done;
};

/* The body of one request as it arrives. */
struct req {
	char	*buf;
	size_t	 len;
	bool	 too_big;
};

/* What a handler sees of a request. */
struct call {
	struct vmm_vm		*vm;
	const char		*id;	/* {id} of the path, or NULL */
	const cJSON		*body;	/* parsed body of PUT/PATCH */
	enum vmm_resource	 res;
	bool			 patch;
};

/*
 * A handler returns 0 (204, or 200 with *out when it sets it), -ENOENT
 * (404) or another negative errno (400 with e's sentence).
 */
typedef int (*handler_fn)(const struct call *c, cJSON **out,
    struct mvm_error *e);

static int
h_info(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)e;
	if ((*out = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	cJSON_AddStringToObject(*out, "app_name", "mvm-qemu");
	cJSON_AddStringToObject(*out, "id", c->vm->id);
	cJSON_AddStringToObject(*out, "state", vmm_vm_state_name(c->vm));
	cJSON_AddStringToObject(*out, "vmm_version", MVM_VERSION);
	return 0;
}

static int
h_version(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)c;
	(void)e;
	if ((*out = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	cJSON_AddStringToObject(*out, "firecracker_version", API_VERSION);
	return 0;
}

static int
h_get_machine(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)e;
	*out = cJSON_Duplicate(c->vm->cfg.machine, true);
	return *out == NULL ? -ENOMEM : 0;
}

static int
h_get_config(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)e;
	*out = vmm_config_to_json(&c->vm->cfg);
	return *out == NULL ? -ENOMEM : 0;
}

static int
h_get_mmds(const struct call *c, cJSON **out, struct mvm_error *e)
{
	if (c->vm->cfg.mmds == NULL)
		return mvm_error_set(e, ENOENT, "The MMDS data store is not "
		    "initialized.");
	*out = cJSON_Duplicate(c->vm->cfg.mmds, true);
	return *out == NULL ? -ENOMEM : 0;
}

/* PUT or PATCH of a resource that only exists before boot. */
static int
h_preboot(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)out;
	if (c->vm->started)
		return mvm_error_set(e, EINVAL, "The requested operation is not "
		    "supported after starting the microVM.");
	return vmm_config_apply(&c->vm->cfg, c->res, c->id, c->body, c->patch,
	    e);
}

static int
h_mmds(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)out;
	return vmm_config_apply(&c->vm->cfg, VMM_RES_MMDS, NULL, c->body,
	    c->patch, e);
}

static int
h_logger(const struct call *c, cJSON **out, struct mvm_error *e)
{
	enum vmm_log_level level = VMM_LOG_INFO;
	const char *path;
	int rc;

	(void)out;
	if ((rc = vmm_config_apply(&c->vm->cfg, VMM_RES_LOGGER, NULL, c->body,
	    false, e)) < 0)
		return rc;
	vmm_log_parse_level(vmm_json_str(c->body, "level", "Info"), &level);
	path = vmm_json_str(c->body, "log_path", NULL);
	if ((rc = vmm_log_open(path, level)) < 0)
		return mvm_error_set(e, -rc, "Cannot open the log file \"%s\": "
		    "%s.", path, strerror(-rc));
	return 0;
}

static int
h_metrics(const struct call *c, cJSON **out, struct mvm_error *e)
{
	struct vmm_config scratch;
	int rc;

	(void)out;
	if (c->vm->metrics_fd >= 0)
		return mvm_error_set(e, EINVAL, "Reinitialization of metrics "
		    "not allowed.");
	/* Check the body before opening anything. */
	if ((rc = vmm_config_init(&scratch)) < 0)
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	rc = vmm_config_apply(&scratch, VMM_RES_METRICS, NULL, c->body, false,
	    e);
	vmm_config_free(&scratch);
	if (rc < 0 || (rc = vmm_vm_metrics_open(c->vm,
	    vmm_json_str(c->body, "metrics_path", ""), e)) < 0)
		return rc;
	return vmm_config_apply(&c->vm->cfg, VMM_RES_METRICS, NULL, c->body,
	    false, e);
}

static int
h_actions(const struct call *c, cJSON **out, struct mvm_error *e)
{
	const char *type;
	int rc;

	(void)out;
	if ((rc = vmm_config_check_body(VMM_BODY_ACTION, c->body, e)) < 0)
		return rc;
	type = vmm_json_str(c->body, "action_type", "");
	if (strcmp(type, "InstanceStart") == 0)
		return vmm_vm_start(c->vm, e);
	if (strcmp(type, "SendCtrlAltDel") == 0)
		return vmm_vm_ctrl_alt_del(c->vm, e);
	return vmm_vm_flush_metrics(c->vm, e);
}

static int
h_vm(const struct call *c, cJSON **out, struct mvm_error *e)
{
	int rc;

	(void)out;
	if ((rc = vmm_config_check_body(VMM_BODY_VM, c->body, e)) < 0)
		return rc;
	if (strcmp(vmm_json_str(c->body, "state", ""), "Paused") == 0)
		return vmm_vm_pause(c->vm, e);
	return vmm_vm_resume(c->vm, e);
}

static int
h_snapshot_create(const struct call *c, cJSON **out, struct mvm_error *e)
{
	int rc;

	(void)out;
	if ((rc = vmm_config_check_body(VMM_BODY_SNAPSHOT_CREATE, c->body,
	    e)) < 0)
		return rc;
	return vmm_vm_snapshot_create(c->vm, c->body, e);
}

static int
h_snapshot_load(const struct call *c, cJSON **out, struct mvm_error *e)
{
	int rc;

	(void)out;
	if ((rc = vmm_config_check_body(VMM_BODY_SNAPSHOT_LOAD, c->body,
	    e)) < 0)
		return rc;
	return vmm_vm_snapshot_load(c->vm, c->body, e);
}

static int
h_unsupported(const struct call *c, cJSON **out, struct mvm_error *e)
{
	(void)c;
	(void)out;
	return mvm_error_set(e, EOPNOTSUPP, "This Firecracker endpoint is not "
	    "supported by mvm-qemu.");
}

struct route {
	const char		*method;
	const char		*path;	/* a trailing '/' takes an {id} */
	handler_fn		 fn;
	enum vmm_resource	 res;
	bool			 patch;
};

static const struct route routes[] = {
	{ "GET", "/", h_info, 0, false },
	{ "GET", "/version", h_version, 0, false },
	{ "GET", "/machine-config", h_get_machine, 0, false },
	{ "GET", "/vm/config", h_get_config, 0, false },
	{ "GET", "/mmds", h_get_mmds, 0, false },
	{ "PUT", "/machine-config", h_preboot, VMM_RES_MACHINE, false },
	{ "PATCH", "/machine-config", h_preboot, VMM_RES_MACHINE, true },
	{ "PUT", "/boot-source", h_preboot, VMM_RES_BOOT, false },
	{ "PUT", "/drives/", h_preboot, VMM_RES_DRIVE, false },
	{ "PUT", "/network-interfaces/", h_preboot, VMM_RES_NET, false },
	{ "PUT", "/vsock", h_preboot, VMM_RES_VSOCK, false },
	{ "PUT", "/mmds/config", h_preboot, VMM_RES_MMDS_CONFIG, false },
	{ "PUT", "/mmds", h_mmds, VMM_RES_MMDS, false },
	{ "PATCH", "/mmds", h_mmds, VMM_RES_MMDS, true },
	{ "PUT", "/logger", h_logger, VMM_RES_LOGGER, false },
	{ "PUT", "/metrics", h_metrics, VMM_RES_METRICS, false },
	{ "PUT", "/actions", h_actions, 0, false },
	{ "PATCH", "/vm", h_vm, 0, false },
	{ "PUT", "/snapshot/create", h_snapshot_create, 0, false },
	{ "PUT", "/snapshot/load", h_snapshot_load, 0, false },
	/* Firecracker endpoints this front end does not implement. */
	{ "PATCH", "/drives/", h_unsupported, 0, false },
	{ "PATCH", "/network-interfaces/", h_unsupported, 0, false },
	{ "*", "/balloon", h_unsupported, 0, false },
	{ "*", "/balloon/statistics", h_unsupported, 0, false },
	{ "*", "/balloon/hinting/start", h_unsupported, 0, false },
	{ "*", "/balloon/hinting/status", h_unsupported, 0, false },
	{ "*", "/balloon/hinting/stop", h_unsupported, 0, false },
	{ "*", "/cpu-config", h_unsupported, 0, false },
	{ "*", "/entropy", h_unsupported, 0, false },
	{ "*", "/serial", h_unsupported, 0, false },
	{ "*", "/hotplug/memory", h_unsupported, 0, false },
	{ "*", "/pmem/", h_unsupported, 0, false },
};

/* Find the route of `method` `url`; *id gets the {id} part, if any. */
static const struct route *
route_find(const char *method, const char *url, const char **id)
{
	const struct route *r;
	size_t n;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		if (strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0)
			continue;
		n = strlen(r->path);
		if (n > 1 && r->path[n - 1] == '/') {
			if (strncmp(url, r->path, n) == 0 && url[n] != '\0' &&
			    strchr(url + n, '/') == NULL) {
				*id = url + n;
				return r;
			}
		} else if (strcmp(url, r->path) == 0) {
			*id = NULL;
			return r;
		}
	}
	return NULL;
}

bool
vmm_api_route(const char *method, const char *url, const char **id)
{
	*id = NULL;
	return route_find(method, url, id) != NULL;
}

static enum MHD_Result
send_json(struct MHD_Connection *conn, unsigned code, cJSON *doc)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *text = doc != NULL ? cJSON_PrintUnformatted(doc) : NULL;

	cJSON_Delete(doc);
	if (text == NULL) {
		resp = MHD_create_response_from_buffer(0, (void *)"",
		    MHD_RESPMEM_PERSISTENT);
	} else {
		resp = MHD_create_response_from_buffer(strlen(text), text,
		    MHD_RESPMEM_MUST_FREE);
		if (resp == NULL)
			free(text);
	}
	if (resp == NULL)
		return MHD_NO;
	if (text != NULL)
		MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
send_fault(struct MHD_Connection *conn, unsigned code, const char *msg)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc != NULL)
		cJSON_AddStringToObject(doc, "fault_message", msg);
	return send_json(conn, code, doc);
}

/* Route, parse and answer one complete request. */
static enum MHD_Result
dispatch(struct vmm_api *a, struct MHD_Connection *conn, const char *method,
    const char *url, struct req *rq)
{
	struct mvm_error e = { 0 };
	struct call c = { .vm = a->vm };
	const struct route *r;
	cJSON *body = NULL, *out = NULL;
	unsigned code;
	int rc;

	if ((r = route_find(method, url, &c.id)) == NULL) {
		mvm_error_set(&e, EINVAL, "Invalid request method and/or path: "
		    "%s %s.", method, url);
		rc = -EINVAL;
		goto reply;
	}
	if (rq->too_big) {
		rc = mvm_error_set(&e, EFBIG, "Request payload with size larger "
		    "than the limit of %d bytes allowed by server.",
		    VMM_API_MAX_BODY);
		goto reply;
	}
	if (strcmp(method, "GET") != 0) {
		body = rq->len > 0 ? cJSON_ParseWithLength(rq->buf, rq->len) :
		    NULL;
		if (body == NULL) {
			rc = mvm_error_set(&e, EINVAL, "An error occurred when "
			    "deserializing the json body of a request: %s.",
			    rq->len == 0 ? "the body is empty" :
			    "the body is not valid JSON");
			goto reply;
		}
	}
	c.body = body;
	c.res = r->res;
	c.patch = r->patch;
	rc = r->fn(&c, &out, &e);
reply:
	if (rc == 0)
		code = out != NULL ? MHD_HTTP_OK : MHD_HTTP_NO_CONTENT;
	else if (rc == -ENOENT)
		code = MHD_HTTP_NOT_FOUND;
	else
		code = MHD_HTTP_BAD_REQUEST;
	if (rc < 0 && e.msg[0] == '\0')
		mvm_error_set(&e, -rc, "Internal error: %s.", strerror(-rc));
	if (rc < 0)
		vmm_log(VMM_LOG_WARN, "%s %s: %u %s", method, url, code, e.msg);
	else
		vmm_log(VMM_LOG_INFO, "%s %s: %u", method, url, code);
	cJSON_Delete(body);
	return rc < 0 ? send_fault(conn, code, e.msg) : send_json(conn, code, out);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct vmm_api *a = cls;
	struct req *rq = *con_cls;
	char *nb;

	(void)version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!rq->too_big &&
		    rq->len + *upload_data_size <= VMM_API_MAX_BODY) {
			if ((nb = realloc(rq->buf, rq->len +
			    *upload_data_size)) == NULL)
				return MHD_NO;
			rq->buf = nb;
			memcpy(rq->buf + rq->len, upload_data, *upload_data_size);
			rq->len += *upload_data_size;
		} else {
			rq->too_big = true;
		}
		*upload_data_size = 0;
		return MHD_YES;
	}
	return dispatch(a, conn, method, url, rq);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct vmm_api *a = cls;
	struct req *rq = *con_cls;

	(void)conn;
	(void)toe;
	if (rq != NULL) {
		free(rq->buf);
		free(rq);
		*con_cls = NULL;
	}
	if (a->vm->exit_after_reply)
		a->done = true;
}

static void
api_event(struct vmm_watch *w, uint32_t events)
{
	(void)events;
	vmm_api_run((struct vmm_api *)w);
}

int
vmm_api_start(struct vmm_api **ap, int listen_fd, struct vmm_vm *vm,
    struct mvm_error *e)
{
	const union MHD_DaemonInfo *info;
	struct vmm_api *a;
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(listen_fd);
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	}
	a->vm = vm;
	a->w.fn = api_event;
	a->mhd = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, a,
	    MHD_OPTION_LISTEN_SOCKET, listen_fd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
	    MHD_OPTION_CONNECTION_LIMIT, 10,
	    MHD_OPTION_END);
	if (a->mhd == NULL) {
		close(listen_fd);
		rc = mvm_error_set(e, EIO, "libmicrohttpd cannot serve the API "
		    "socket.");
		goto fail;
	}
	info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	a->w.fd = info != NULL ? info->epoll_fd : -1;
	if (a->w.fd < 0 || (rc = vmm_loop_add(&a->w, EPOLLIN)) < 0) {
		rc = mvm_error_set(e, EIO, "Cannot watch libmicrohttpd's epoll "
		    "descriptor.");
		goto fail;
	}
	*ap = a;
	return 0;
fail:
	a->w.fd = -1;
	vmm_api_stop(a);
	return rc;
}

int
vmm_api_timeout(struct vmm_api *a)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(a->mhd, &ms) != MHD_YES)
		return -1;
	return ms > 60000 ? 60000 : (int)ms;
}

void
vmm_api_run(struct vmm_api *a)
{
	MHD_run(a->mhd);
}

bool
vmm_api_done(const struct vmm_api *a)
{
	return a->done;
}

void
vmm_api_stop(struct vmm_api *a)
{
	if (a == NULL)
		return;
	if (a->w.fd >= 0)
		vmm_loop_del(&a->w);
	if (a->mhd != NULL)
		MHD_stop_daemon(a->mhd);
	free(a);
}
