/*
 * fc.c: the Firecracker API client, libcurl over the VMM's unix socket.
 *
 * Each handle keeps one CURL easy handle, which keeps the connection open
 * between requests, and one mutex, held for the whole of each exchange.
 * Request bodies are built with cJSON from the spec's field names only.
 */
#include "fc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* Longest drive or interface id accepted in a URL, as Firecracker's ids. */
#define FC_ID_MAX	64
/* Pause between two probes of mvm_fc_wait_ready(). */
#define FC_POLL_MS	10L

/* The response body of the exchange in progress. */
struct fc_buf {
	char	*data;		/* NUL-terminated, NULL until the first byte */
	size_t	 len;
	size_t	 cap;
	bool	 overflow;	/* the body passed MVM_FC_BODY_MAX */
	bool	 nomem;
};

struct mvm_fc {
	pthread_mutex_t		 lock;		/* held for a whole exchange */
	CURL			*curl;
	struct curl_slist	*headers;
	char			*sock;
	long			 timeout_ms;
	long			 slow_timeout_ms;
	struct fc_buf		 resp;
	char			 curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t fc_once = PTHREAD_ONCE_INIT;
static CURLcode fc_global_rc;

static void
fc_global_init(void)
{
	fc_global_rc = curl_global_init(CURL_GLOBAL_ALL);
}

static size_t
fc_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fc_buf *b = arg;
	size_t n = size * nmemb;
	size_t cap;
	char *p;

	if (n > MVM_FC_BODY_MAX - b->len) {
		b->overflow = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 1024 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->data, cap)) == NULL) {
			b->nomem = true;
			return 0;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

int
mvm_fc_open(const char *api_sock, struct mvm_fc **out, struct mvm_error *e)
{
	/* An empty "Expect:" stops curl from waiting for 100-continue. */
	static const char *const headers[] = {
		"Content-Type: application/json",
		"Accept: application/json",
		"Expect:",
	};
	struct sockaddr_un sun;
	struct mvm_fc *fc = NULL;
	struct curl_slist *h;
	size_t i;

	*out = NULL;
	if (api_sock == NULL || api_sock[0] == '\0')
		return mvm_error_set(e, EINVAL,
		    "the VMM API socket path is empty");
	if (strlen(api_sock) >= sizeof(sun.sun_path))
		return mvm_error_set(e, ENAMETOOLONG,
		    "VMM API socket path \"%s\" is longer than %zu bytes",
		    api_sock, sizeof(sun.sun_path) - 1);
	pthread_once(&fc_once, fc_global_init);
	if (fc_global_rc != CURLE_OK)
		return mvm_error_set(e, ENOMEM, "libcurl cannot start: %s",
		    curl_easy_strerror(fc_global_rc));

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		goto fail;
	pthread_mutex_init(&fc->lock, NULL);
	fc->timeout_ms = MVM_FC_TIMEOUT_MS;
	fc->slow_timeout_ms = MVM_FC_SLOW_TIMEOUT_MS;
	if ((fc->sock = strdup(api_sock)) == NULL)
		goto fail;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if ((h = curl_slist_append(fc->headers, headers[i])) == NULL)
			goto fail;
		fc->headers = h;
	}
	if ((fc->curl = curl_easy_init()) == NULL)
		goto fail;
	if (curl_easy_setopt(fc->curl, CURLOPT_UNIX_SOCKET_PATH, fc->sock) ||
	    curl_easy_setopt(fc->curl, CURLOPT_HTTPHEADER, fc->headers) ||
	    curl_easy_setopt(fc->curl, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(fc->curl, CURLOPT_NOPROXY, "*") ||
	    curl_easy_setopt(fc->curl, CURLOPT_WRITEFUNCTION, fc_write) ||
	    curl_easy_setopt(fc->curl, CURLOPT_WRITEDATA, &fc->resp) ||
	    curl_easy_setopt(fc->curl, CURLOPT_ERRORBUFFER, fc->curl_err))
		goto fail;
	*out = fc;
	return 0;
fail:
	mvm_fc_close(fc);
	return mvm_error_set(e, ENOMEM, "out of memory opening a client for %s",
	    api_sock);
}

void
mvm_fc_close(struct mvm_fc *fc)
{
	if (fc == NULL)
		return;
	if (fc->curl != NULL)
		curl_easy_cleanup(fc->curl);
	curl_slist_free_all(fc->headers);
	pthread_mutex_destroy(&fc->lock);
	free(fc->resp.data);
	free(fc->sock);
	free(fc);
}

void
mvm_fc_set_timeout_ms(struct mvm_fc *fc, long ms)
{
	pthread_mutex_lock(&fc->lock);
	fc->timeout_ms = ms > 0 ? ms : MVM_FC_TIMEOUT_MS;
	pthread_mutex_unlock(&fc->lock);
}

void
mvm_fc_set_slow_timeout_ms(struct mvm_fc *fc, long ms)
{
	pthread_mutex_lock(&fc->lock);
	fc->slow_timeout_ms = ms > 0 ? ms : MVM_FC_SLOW_TIMEOUT_MS;
	pthread_mutex_unlock(&fc->lock);
}

int
mvm_fc_parse_fault(const char *method, const char *path, long status,
    const char *body, size_t len, struct mvm_error *e)
{
	const cJSON *fault;
	cJSON *doc;
	int rc;

	doc = cJSON_ParseWithLength(body, len);
	fault = cJSON_GetObjectItemCaseSensitive(doc, "fault_message");
	if (cJSON_IsString(fault))
		rc = mvm_error_set(e, EIO, "%s %s: %ld: %s", method, path,
		    status, fault->valuestring);
	else
		rc = mvm_error_set(e, EIO, "%s %s: %ld: %s", method, path,
		    status, body[0] != '\0' ? body : "(no body)");
	cJSON_Delete(doc);
	return rc;
}

/* Turn a failed curl_easy_perform() into a negative errno and a sentence. */
static int
fc_curl_error(struct mvm_fc *fc, CURLcode cc, const char *method,
    const char *path, long timeout_ms, struct mvm_error *e)
{
	long oserr = 0;

	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(fc->curl, CURLINFO_OS_ERRNO, &oserr);
		if (oserr <= 0 || strerrordesc_np((int)oserr) == NULL)
			oserr = ECONNREFUSED;
		return mvm_error_set(e, (int)oserr,
		    "%s %s: cannot connect to the VMM API socket %s: %s",
		    method, path, fc->sock, strerrordesc_np((int)oserr));
	case CURLE_OPERATION_TIMEDOUT:
		return mvm_error_set(e, ETIMEDOUT,
		    "%s %s: the VMM at %s did not answer within %ld ms",
		    method, path, fc->sock, timeout_ms);
	case CURLE_OUT_OF_MEMORY:
		return mvm_error_set(e, ENOMEM, "%s %s: out of memory",
		    method, path);
	case CURLE_WRITE_ERROR:
		if (fc->resp.overflow)
			return mvm_error_set(e, EPROTO,
			    "%s %s: the answer is over the %d byte limit",
			    method, path, MVM_FC_BODY_MAX);
		if (fc->resp.nomem)
			return mvm_error_set(e, ENOMEM,
			    "%s %s: out of memory reading the answer",
			    method, path);
		break;
	default:
		break;
	}
	return mvm_error_set(e, EIO, "%s %s: talking to %s failed: %s",
	    method, path, fc->sock, fc->curl_err[0] != '\0' ? fc->curl_err :
	    curl_easy_strerror(cc));
}

/*
 * One exchange: `method` on `path` with `body` (NULL for GET). The total
 * timeout is the handle's ordinary or slow one, lowered to `cap_ms` when
 * that is positive. On success, if `out` is not NULL, *out receives a copy
 * of the response body (caller frees) and `*outlen` its length.
 */
static int
fc_call(struct mvm_fc *fc, const char *method, const char *path,
    const char *body, bool slow, long cap_ms, char **out, size_t *outlen,
    struct mvm_error *e)
{
	char url[256];
	long timeout, status = 0;
	CURLcode cc;
	int rc = 0;

	snprintf(url, sizeof(url), "http://localhost%s", path);
	pthread_mutex_lock(&fc->lock);
	fc->resp.len = 0;
	fc->resp.overflow = fc->resp.nomem = false;
	if (fc->resp.data != NULL)
		fc->resp.data[0] = '\0';
	fc->curl_err[0] = '\0';
	timeout = slow ? fc->slow_timeout_ms : fc->timeout_ms;
	if (cap_ms > 0 && cap_ms < timeout)
		timeout = cap_ms;

	cc = curl_easy_setopt(fc->curl, CURLOPT_URL, url);
	if (cc == CURLE_OK && body == NULL)
		cc = curl_easy_setopt(fc->curl, CURLOPT_HTTPGET, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(fc->curl, CURLOPT_CUSTOMREQUEST,
		    body == NULL ? NULL : method);
	if (cc == CURLE_OK && body != NULL)
		cc = curl_easy_setopt(fc->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(body));
	if (cc == CURLE_OK && body != NULL)
		cc = curl_easy_setopt(fc->curl, CURLOPT_POSTFIELDS, body);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(fc->curl, CURLOPT_TIMEOUT_MS, timeout);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(fc->curl, CURLOPT_CONNECTTIMEOUT_MS,
		    timeout < MVM_FC_CONNECT_TIMEOUT_MS ? timeout :
		    MVM_FC_CONNECT_TIMEOUT_MS);
	if (cc == CURLE_OK)
		cc = curl_easy_perform(fc->curl);
	if (cc != CURLE_OK) {
		rc = fc_curl_error(fc, cc, method, path, timeout, e);
		goto out;
	}
	curl_easy_getinfo(fc->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		rc = mvm_fc_parse_fault(method, path, status,
		    fc->resp.data != NULL ? fc->resp.data : "", fc->resp.len, e);
		goto out;
	}
	if (out != NULL) {
		*out = malloc(fc->resp.len + 1);
		if (*out == NULL) {
			rc = mvm_error_set(e, ENOMEM, "%s %s: out of memory",
			    method, path);
			goto out;
		}
		if (fc->resp.len > 0)
			memcpy(*out, fc->resp.data, fc->resp.len);
		(*out)[fc->resp.len] = '\0';
		*outlen = fc->resp.len;
	}
out:
	pthread_mutex_unlock(&fc->lock);
	return rc;
}

/*
 * Send `doc` (consumed; NULL means building it ran out of memory) with
 * `method` to `path`.
 */
static int
fc_send(struct mvm_fc *fc, const char *method, const char *path, cJSON *doc,
    bool slow, struct mvm_error *e)
{
	char *body = NULL;
	int rc;

	if (doc == NULL || (body = cJSON_PrintUnformatted(doc)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "%s %s: out of memory", method,
		    path);
		goto out;
	}
	rc = fc_call(fc, method, path, body, slow, 0, NULL, NULL, e);
out:
	cJSON_free(body);
	cJSON_Delete(doc);
	return rc;
}

/*
 * Builders that keep a document under construction, or free it and return
 * NULL when memory runs out, so a body is built as a flat list of adds. A
 * NULL string value leaves an optional field out.
 */
static cJSON *
add_str(cJSON *o, const char *key, const char *val)
{
	if (o != NULL && val != NULL &&
	    cJSON_AddStringToObject(o, key, val) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
add_num(cJSON *o, const char *key, double val)
{
	if (o != NULL && cJSON_AddNumberToObject(o, key, val) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *
add_bool(cJSON *o, const char *key, bool val)
{
	if (o != NULL && cJSON_AddBoolToObject(o, key, val) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Attach `child` (consumed) to `o` under `key`. */
static cJSON *
add_item(cJSON *o, const char *key, cJSON *child)
{
	if (o != NULL && child != NULL &&
	    cJSON_AddItemToObject(o, key, child))
		return o;
	cJSON_Delete(child);
	cJSON_Delete(o);
	return NULL;
}

/* Ids end up in URLs, so they are held to Firecracker's id alphabet. */
static bool
valid_id(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strspn(id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
	return n > 0 && n <= FC_ID_MAX && id[n] == '\0';
}

static int
bad_id(const char *call, const char *field, const char *id,
    struct mvm_error *e)
{
	return mvm_error_set(e, EINVAL, "%s: %s \"%s\" must be 1 to %d "
	    "letters, digits, '_' or '-'", call, field, id != NULL ? id : "",
	    FC_ID_MAX);
}

static int
missing(const char *call, const char *field, struct mvm_error *e)
{
	return mvm_error_set(e, EINVAL, "%s: %s is required", call, field);
}

int
mvm_fc_put_logger(struct mvm_fc *fc, const char *log_path,
    enum mvm_fc_log_level level, struct mvm_error *e)
{
	static const char *const names[] = {
		[MVM_FC_LOG_ERROR] = "Error",
		[MVM_FC_LOG_WARNING] = "Warning",
		[MVM_FC_LOG_INFO] = "Info",
		[MVM_FC_LOG_DEBUG] = "Debug",
		[MVM_FC_LOG_TRACE] = "Trace",
		[MVM_FC_LOG_OFF] = "Off",
	};
	cJSON *o;

	if (log_path == NULL)
		return missing("PUT /logger", "log_path", e);
	if ((unsigned)level > MVM_FC_LOG_OFF)
		return mvm_error_set(e, EINVAL, "PUT /logger: level %d is not "
		    "a log level", (int)level);
	o = cJSON_CreateObject();
	o = add_str(o, "log_path", log_path);
	o = add_str(o, "level", names[level]);
	return fc_send(fc, "PUT", "/logger", o, false, e);
}

int
mvm_fc_put_metrics(struct mvm_fc *fc, const char *metrics_path,
    struct mvm_error *e)
{
	cJSON *o;

	if (metrics_path == NULL)
		return missing("PUT /metrics", "metrics_path", e);
	o = cJSON_CreateObject();
	o = add_str(o, "metrics_path", metrics_path);
	return fc_send(fc, "PUT", "/metrics", o, false, e);
}

int
mvm_fc_put_machine_config(struct mvm_fc *fc, const struct mvm_fc_machine *m,
    struct mvm_error *e)
{
	cJSON *o;

	o = cJSON_CreateObject();
	o = add_num(o, "vcpu_count", m->vcpu_count);
	o = add_num(o, "mem_size_mib", m->mem_size_mib);
	o = add_bool(o, "smt", false);
	o = add_bool(o, "track_dirty_pages", m->track_dirty_pages);
	return fc_send(fc, "PUT", "/machine-config", o, false, e);
}

int
mvm_fc_put_boot_source(struct mvm_fc *fc, const struct mvm_fc_boot *b,
    struct mvm_error *e)
{
	cJSON *o;

	if (b->kernel_image_path == NULL)
		return missing("PUT /boot-source", "kernel_image_path", e);
	o = cJSON_CreateObject();
	o = add_str(o, "kernel_image_path", b->kernel_image_path);
	o = add_str(o, "initrd_path", b->initrd_path);
	o = add_str(o, "boot_args", b->boot_args);
	return fc_send(fc, "PUT", "/boot-source", o, false, e);
}

int
mvm_fc_put_drive(struct mvm_fc *fc, const struct mvm_fc_drive *d,
    struct mvm_error *e)
{
	char path[16 + FC_ID_MAX];
	cJSON *o;

	if (!valid_id(d->drive_id))
		return bad_id("PUT /drives", "drive_id", d->drive_id, e);
	snprintf(path, sizeof(path), "/drives/%s", d->drive_id);
	if (d->path_on_host == NULL)
		return missing(path, "path_on_host", e);
	o = cJSON_CreateObject();
	o = add_str(o, "drive_id", d->drive_id);
	o = add_str(o, "path_on_host", d->path_on_host);
	o = add_bool(o, "is_root_device", d->is_root_device);
	o = add_bool(o, "is_read_only", d->is_read_only);
	return fc_send(fc, "PUT", path, o, false, e);
}

int
mvm_fc_put_network_interface(struct mvm_fc *fc, const struct mvm_fc_net *n,
    struct mvm_error *e)
{
	char path[32 + FC_ID_MAX];
	cJSON *o;

	if (!valid_id(n->iface_id))
		return bad_id("PUT /network-interfaces", "iface_id",
		    n->iface_id, e);
	snprintf(path, sizeof(path), "/network-interfaces/%s", n->iface_id);
	if (n->host_dev_name == NULL)
		return missing(path, "host_dev_name", e);
	o = cJSON_CreateObject();
	o = add_str(o, "iface_id", n->iface_id);
	o = add_str(o, "host_dev_name", n->host_dev_name);
	o = add_str(o, "guest_mac", n->guest_mac);
	return fc_send(fc, "PUT", path, o, false, e);
}

int
mvm_fc_put_vsock(struct mvm_fc *fc, uint32_t guest_cid, const char *uds_path,
    struct mvm_error *e)
{
	cJSON *o;

	if (uds_path == NULL)
		return missing("PUT /vsock", "uds_path", e);
	o = cJSON_CreateObject();
	o = add_num(o, "guest_cid", guest_cid);
	o = add_str(o, "uds_path", uds_path);
	return fc_send(fc, "PUT", "/vsock", o, false, e);
}

int
mvm_fc_put_mmds_config(struct mvm_fc *fc, const char *const *ifaces,
    size_t n_ifaces, struct mvm_error *e)
{
	cJSON *o, *list;
	size_t i;

	for (i = 0; i < n_ifaces; i++)
		if (!valid_id(ifaces[i]))
			return bad_id("PUT /mmds/config", "network interface",
			    ifaces[i], e);
	list = cJSON_CreateArray();
	for (i = 0; list != NULL && i < n_ifaces; i++) {
		if (!cJSON_AddItemToArray(list, cJSON_CreateString(ifaces[i]))) {
			cJSON_Delete(list);
			list = NULL;
		}
	}
	o = cJSON_CreateObject();
	o = add_item(o, "network_interfaces", list);
	o = add_str(o, "version", "V2");
	return fc_send(fc, "PUT", "/mmds/config", o, false, e);
}

int
mvm_fc_put_mmds(struct mvm_fc *fc, const char *json, struct mvm_error *e)
{
	cJSON *doc;
	bool object;

	if (json == NULL)
		return missing("PUT /mmds", "the document", e);
	doc = cJSON_Parse(json);
	object = cJSON_IsObject(doc);
	cJSON_Delete(doc);
	if (!object)
		return mvm_error_set(e, EINVAL,
		    "PUT /mmds: the metadata must be one JSON object");
	return fc_call(fc, "PUT", "/mmds", json, false, 0, NULL, NULL, e);
}

int
mvm_fc_action(struct mvm_fc *fc, enum mvm_fc_action_type action,
    struct mvm_error *e)
{
	static const char *const names[] = {
		[MVM_FC_INSTANCE_START] = "InstanceStart",
		[MVM_FC_SEND_CTRL_ALT_DEL] = "SendCtrlAltDel",
		[MVM_FC_FLUSH_METRICS] = "FlushMetrics",
	};
	cJSON *o;

	if ((unsigned)action > MVM_FC_FLUSH_METRICS)
		return mvm_error_set(e, EINVAL, "PUT /actions: action %d is "
		    "not an action type", (int)action);
	o = cJSON_CreateObject();
	o = add_str(o, "action_type", names[action]);
	return fc_send(fc, "PUT", "/actions", o, false, e);
}

int
mvm_fc_patch_vm(struct mvm_fc *fc, enum mvm_fc_vm_target target,
    struct mvm_error *e)
{
	cJSON *o;

	if (target != MVM_FC_VM_PAUSED && target != MVM_FC_VM_RESUMED)
		return mvm_error_set(e, EINVAL, "PATCH /vm: state %d is not "
		    "Paused or Resumed", (int)target);
	o = cJSON_CreateObject();
	o = add_str(o, "state", target == MVM_FC_VM_PAUSED ? "Paused" :
	    "Resumed");
	return fc_send(fc, "PATCH", "/vm", o, false, e);
}

int
mvm_fc_snapshot_create(struct mvm_fc *fc, const struct mvm_fc_snapshot *s,
    struct mvm_error *e)
{
	cJSON *o;

	if (s->snapshot_path == NULL)
		return missing("PUT /snapshot/create", "snapshot_path", e);
	if (s->mem_file_path == NULL)
		return missing("PUT /snapshot/create", "mem_file_path", e);
	o = cJSON_CreateObject();
	o = add_str(o, "snapshot_type", "Full");
	o = add_str(o, "snapshot_path", s->snapshot_path);
	o = add_str(o, "mem_file_path", s->mem_file_path);
	return fc_send(fc, "PUT", "/snapshot/create", o, true, e);
}

int
mvm_fc_snapshot_load(struct mvm_fc *fc, const struct mvm_fc_snapshot *s,
    bool resume_vm, struct mvm_error *e)
{
	cJSON *o, *mem;

	if (s->snapshot_path == NULL)
		return missing("PUT /snapshot/load", "snapshot_path", e);
	if (s->mem_file_path == NULL)
		return missing("PUT /snapshot/load", "mem_file_path", e);
	mem = cJSON_CreateObject();
	mem = add_str(mem, "backend_type", "File");
	mem = add_str(mem, "backend_path", s->mem_file_path);
	o = cJSON_CreateObject();
	o = add_str(o, "snapshot_path", s->snapshot_path);
	o = add_item(o, "mem_backend", mem);
	o = add_bool(o, "resume_vm", resume_vm);
	return fc_send(fc, "PUT", "/snapshot/load", o, true, e);
}

/*
 * Parse `len` bytes of `body`, the answer to GET `path`, as a JSON object
 * into *doc (caller deletes).
 */
static int
fc_json_object(const char *path, const char *body, size_t len, cJSON **doc,
    struct mvm_error *e)
{
	if ((*doc = cJSON_ParseWithLength(body, len)) != NULL &&
	    cJSON_IsObject(*doc))
		return 0;
	cJSON_Delete(*doc);
	*doc = NULL;
	return mvm_error_set(e, EPROTO, "GET %s: the answer is not a JSON "
	    "object", path);
}

/* Copy the string member `key` of `doc` into dst[MVM_FC_INFO_MAX + 1]. */
static int
info_str(const cJSON *doc, const char *key, char *dst, struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);

	if (!cJSON_IsString(v))
		return mvm_error_set(e, EPROTO, "GET /: the answer has no "
		    "string \"%s\"", key);
	if (strlen(v->valuestring) > MVM_FC_INFO_MAX)
		return mvm_error_set(e, EPROTO, "GET /: \"%s\" is longer than "
		    "%d bytes", key, MVM_FC_INFO_MAX);
	strcpy(dst, v->valuestring);
	return 0;
}

int
mvm_fc_parse_info(const char *body, size_t len, struct mvm_fc_info *info,
    struct mvm_error *e)
{
	char state[MVM_FC_INFO_MAX + 1];
	cJSON *doc;
	int rc;

	if ((rc = fc_json_object("/", body, len, &doc, e)) < 0)
		return rc;
	if ((rc = info_str(doc, "id", info->id, e)) < 0 ||
	    (rc = info_str(doc, "app_name", info->app_name, e)) < 0 ||
	    (rc = info_str(doc, "vmm_version", info->vmm_version, e)) < 0 ||
	    (rc = info_str(doc, "state", state, e)) < 0)
		goto out;
	if (strcmp(state, "Not started") == 0)
		info->state = MVM_FC_STATE_NOT_STARTED;
	else if (strcmp(state, "Running") == 0)
		info->state = MVM_FC_STATE_RUNNING;
	else if (strcmp(state, "Paused") == 0)
		info->state = MVM_FC_STATE_PAUSED;
	else
		rc = mvm_error_set(e, EPROTO, "GET /: state \"%s\" is not "
		    "\"Not started\", \"Running\" or \"Paused\"", state);
out:
	cJSON_Delete(doc);
	return rc;
}

static int
fc_get_info(struct mvm_fc *fc, long cap_ms, struct mvm_fc_info *info,
    struct mvm_error *e)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if ((rc = fc_call(fc, "GET", "/", NULL, false, cap_ms, &body, &len,
	    e)) == 0)
		rc = mvm_fc_parse_info(body, len, info, e);
	free(body);
	return rc;
}

int
mvm_fc_get_instance_info(struct mvm_fc *fc, struct mvm_fc_info *info,
    struct mvm_error *e)
{
	return fc_get_info(fc, 0, info, e);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int
mvm_fc_wait_ready(struct mvm_fc *fc, int timeout_ms, struct mvm_error *e)
{
	struct mvm_fc_info info;
	struct timespec pause;
	long deadline = now_ms() + timeout_ms, left, nap;
	int rc;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return mvm_error_set(e, ETIMEDOUT, "the VMM at %s did "
			    "not answer GET / within %d ms", fc->sock,
			    timeout_ms);
		rc = fc_get_info(fc, left, &info, e);
		if (rc != -ENOENT && rc != -ECONNREFUSED && rc != -ETIMEDOUT)
			return rc;
		nap = deadline - now_ms();
		nap = nap < FC_POLL_MS ? nap : FC_POLL_MS;
		if (nap > 0) {
			pause.tv_sec = 0;
			pause.tv_nsec = nap * 1000000L;
			nanosleep(&pause, NULL);
		}
	}
}

/* A JSON number that is a whole uint32_t. */
static bool
get_u32(const cJSON *o, const char *key, uint32_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > UINT32_MAX ||
	    v->valuedouble != (double)(uint32_t)v->valuedouble)
		return false;
	*out = (uint32_t)v->valuedouble;
	return true;
}

int
mvm_fc_parse_vm_config(const char *body, size_t len, struct mvm_fc_machine *m,
    struct mvm_error *e)
{
	const cJSON *mc, *dirty;
	cJSON *doc;
	int rc;

	if ((rc = fc_json_object("/vm/config", body, len, &doc, e)) < 0)
		return rc;
	mc = cJSON_GetObjectItemCaseSensitive(doc, "machine-config");
	if (!cJSON_IsObject(mc) || !get_u32(mc, "vcpu_count", &m->vcpu_count) ||
	    !get_u32(mc, "mem_size_mib", &m->mem_size_mib)) {
		rc = mvm_error_set(e, EPROTO, "GET /vm/config: the answer has "
		    "no machine-config with whole vcpu_count and mem_size_mib");
		goto out;
	}
	dirty = cJSON_GetObjectItemCaseSensitive(mc, "track_dirty_pages");
	m->track_dirty_pages = cJSON_IsTrue(dirty);
out:
	cJSON_Delete(doc);
	return rc;
}

int
mvm_fc_get_vm_config(struct mvm_fc *fc, struct mvm_fc_machine *m,
    struct mvm_error *e)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if ((rc = fc_call(fc, "GET", "/vm/config", NULL, false, 0, &body, &len,
	    e)) == 0)
		rc = mvm_fc_parse_vm_config(body, len, m, e);
	free(body);
	return rc;
}
