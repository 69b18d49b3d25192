/* guest.c: the host client of the mvm-guest agent protocol. */
#include "guest.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "frame.h"
#include "guest_int.h"

static atomic_uint_fast64_t next_id = 1;

int64_t
mvm_guest_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until `fd` is ready for `events` or `deadline` (CLOCK_MONOTONIC ms)
 * passes. Returns 0, -ETIMEDOUT or a negative errno from poll.
 */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - mvm_guest_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Write `len` bytes before `deadline`. Returns 0 or a negative errno. */
static int
send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;
	ssize_t n;
	int rc;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n >= 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Read at most `len` bytes before `deadline`. Returns the count, 0 at end
 * of stream, or a negative errno.
 */
static ssize_t
recv_some(int fd, void *buf, size_t len, int64_t deadline)
{
	ssize_t n;
	int rc;

	for (;;) {
		n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
			return rc;
	}
}

/*
 * Connect to `vsock_uds_path` and open guest port `port` before
 * `deadline`, as mvm_guest_connect() says, with no lock.
 */
static int
dial(const char *vsock_uds_path, uint32_t port, int64_t deadline, int *fd,
    struct mvm_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[64], cmd[32];
	size_t len = 0;
	ssize_t n;
	int s, rc;

	*fd = -1;
	if (strlen(vsock_uds_path) >= sizeof(sa.sun_path))
		return mvm_error_set(e, ENAMETOOLONG, "vsock socket path "
		    "\"%s\" is longer than %zu bytes", vsock_uds_path,
		    sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, vsock_uds_path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return mvm_error_set(e, errno, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			rc = mvm_error_set(e, ECONNREFUSED, "nothing listens "
			    "on vsock socket \"%s\"", vsock_uds_path);
		else
			rc = mvm_error_set(e, errno, "connect to vsock socket "
			    "\"%s\": %s", vsock_uds_path, strerror(errno));
		goto fail;
	}
	snprintf(cmd, sizeof(cmd), "CONNECT %" PRIu32 "\n", port);
	if ((rc = send_all(s, cmd, strlen(cmd), deadline)) != 0) {
		rc = mvm_error_set(e, -rc, "sending CONNECT %" PRIu32 " to "
		    "\"%s\": %s", port, vsock_uds_path, strerror(-rc));
		goto fail;
	}
	/* One byte at a time: what follows the line belongs to the agent. */
	while (len == 0 || line[len - 1] != '\n') {
		if (len == sizeof(line) - 1) {
			rc = mvm_error_set(e, EPROTO, "vsock socket \"%s\" "
			    "answered CONNECT with an overlong line",
			    vsock_uds_path);
			goto fail;
		}
		n = recv_some(s, line + len, 1, deadline);
		if (n == 0) {
			rc = mvm_error_set(e, ECONNREFUSED, "nothing listens "
			    "on guest vsock port %" PRIu32 " behind \"%s\"",
			    port, vsock_uds_path);
			goto fail;
		}
		if (n < 0) {
			rc = mvm_error_set(e, (int)-n, "waiting for the answer "
			    "to CONNECT %" PRIu32 " on \"%s\": %s", port,
			    vsock_uds_path, strerror((int)-n));
			goto fail;
		}
		len++;
	}
	line[len - 1] = '\0';
	if (strncmp(line, "OK ", 3) != 0 || line[3] < '0' || line[3] > '9' ||
	    strspn(line + 3, "0123456789") != strlen(line + 3)) {
		rc = mvm_error_set(e, EPROTO, "vsock socket \"%s\" answered "
		    "CONNECT with \"%.40s\", not \"OK <port>\"",
		    vsock_uds_path, line);
		goto fail;
	}
	*fd = s;
	return 0;
fail:
	close(s);
	return rc;
}

int
mvm_guest_connect(const char *vsock_uds_path, uint32_t port, int timeout_ms,
    int *fd, struct mvm_error *e)
{
	int64_t deadline = mvm_guest_now_ms() + timeout_ms;
	struct mvm_guest_gate *g;
	int rc;

	*fd = -1;
	if ((rc = mvm_guest_gate_enter(vsock_uds_path, deadline, &g, e)) < 0)
		return rc;
	if ((rc = dial(vsock_uds_path, port, deadline, fd, e)) < 0) {
		mvm_guest_gate_leave(g);
		return rc;
	}
	mvm_guest_gate_bind(g, *fd);
	return 0;
}

/* How long mvm_guest_close() waits for the VMM to drop the stream. */
#define CLOSE_WAIT_MS	500

/*
 * End our side of the stream and wait, briefly, until the VMM ends its
 * own: mvm-qemu frees the guest port only when it has seen the end, and
 * the next holder of the lock must not find the port still busy.
 */
static void
hang_up(int fd)
{
	int64_t deadline = mvm_guest_now_ms() + CLOSE_WAIT_MS;
	uint8_t buf[256];

	if (shutdown(fd, SHUT_WR) == 0)
		while (recv_some(fd, buf, sizeof(buf), deadline) > 0)
			continue;
	close(fd);
}

void
mvm_guest_close(int fd)
{
	struct mvm_guest_gate *g;

	if (fd < 0)
		return;
	g = mvm_guest_gate_of(fd);
	if (g == NULL) {
		close(fd);
		return;
	}
	hang_up(fd);
	mvm_guest_gate_leave(g);
}

/* Whether `reply` carries the id `id`. */
static bool
id_matches(const cJSON *reply, uint64_t id)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "id");

	return cJSON_IsNumber(v) && v->valuedouble == (double)id;
}

bool
mvm_guest_reply_scan(struct mvm_frame_reader *r, const uint8_t *buf,
    size_t n, uint64_t id, bool *synced, cJSON **reply)
{
	size_t off, used;

	*reply = NULL;
	for (off = 0; off < n; off += used) {
		enum mvm_frame_event ev = mvm_frame_feed(r, buf + off, n - off,
		    &used);

		if (ev == MVM_FRAME_SYNC)
			*synced = true;
		/* Frames before the echo are stale: skip them. */
		if (ev != MVM_FRAME_DONE || !*synced)
			continue;
		*reply = cJSON_ParseWithLength((char *)r->payload, r->len);
		if (*reply != NULL && id_matches(*reply, id))
			return true;
		cJSON_Delete(*reply);
		*reply = NULL;
	}
	return false;
}

int
mvm_guest_reply_check(const char *type, const cJSON *reply,
    struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "type");

	if (!cJSON_IsString(v))
		return mvm_error_set(e, EPROTO, "guest reply to %s has no "
		    "string \"type\"", type);
	if (strcmp(v->valuestring, "Error") == 0) {
		v = cJSON_GetObjectItemCaseSensitive(reply, "error");
		return mvm_error_set(e, EIO, "guest agent refused %s: %s", type,
		    cJSON_IsString(v) ? v->valuestring : "(no reason)");
	}
	if (strcmp(v->valuestring, type) != 0)
		return mvm_error_set(e, EPROTO, "guest answered %s with type "
		    "\"%.32s\"", type, v->valuestring);
	return 0;
}

int
mvm_guest_call(int fd, int timeout_ms, cJSON *req, cJSON **reply,
    struct mvm_error *e)
{
	int64_t deadline = mvm_guest_now_ms() + timeout_ms;
	struct mvm_frame_reader r = { 0 };
	uint64_t id = atomic_fetch_add(&next_id, 1);
	uint8_t hdr[MVM_FRAME_HDR_LEN], buf[4096];
	const char *type;
	bool synced = false;
	char *text = NULL;
	cJSON *obj = NULL;
	size_t len;
	ssize_t n;
	int rc;

	*reply = NULL;
	type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(req,
	    "type"));
	if (type == NULL)
		return mvm_error_set(e, EINVAL, "guest request has no string "
		    "\"type\"");
	if ((rc = mvm_frame_reader_init(&r)) != 0)
		return mvm_error_set(e, ENOMEM, "out of memory");
	cJSON_DeleteItemFromObjectCaseSensitive(req, "id");
	if (cJSON_AddNumberToObject(req, "id", (double)id) == NULL ||
	    (text = cJSON_PrintUnformatted(req)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	len = strlen(text);
	if (mvm_frame_header(len, hdr) != 0) {
		rc = mvm_error_set(e, EMSGSIZE, "guest request %s of %zu bytes "
		    "exceeds %d bytes", type, len, MVM_FRAME_MAX);
		goto out;
	}
	if ((rc = send_all(fd, MVM_FRAME_MARKER, MVM_FRAME_MARKER_LEN,
	    deadline)) != 0 || (rc = send_all(fd, hdr, sizeof(hdr),
	    deadline)) != 0 || (rc = send_all(fd, text, len, deadline)) != 0) {
		rc = mvm_error_set(e, -rc, "sending guest request %s: %s",
		    type, strerror(-rc));
		goto out;
	}

	for (;;) {
		n = recv_some(fd, buf, sizeof(buf), deadline);
		if (n == 0) {
			rc = mvm_error_set(e, ECONNRESET, "guest agent closed "
			    "the stream before answering %s", type);
			goto out;
		}
		if (n < 0) {
			rc = mvm_error_set(e, (int)-n, "waiting for the guest "
			    "agent's answer to %s: %s", type, strerror((int)-n));
			goto out;
		}
		if (mvm_guest_reply_scan(&r, buf, (size_t)n, id, &synced, &obj))
			break;
	}
	if ((rc = mvm_guest_reply_check(type, obj, e)) == 0) {
		*reply = obj;
		obj = NULL;
	}
out:
	cJSON_Delete(obj);
	cJSON_free(text);
	mvm_frame_reader_free(&r);
	return rc;
}

/*
 * Send a request of type `type` with optional extra fields `fields`
 * (consumed) and return the reply in *reply.
 */
static int
request(int fd, int timeout_ms, const char *type, cJSON *fields,
    cJSON **reply, struct mvm_error *e)
{
	cJSON *req = fields != NULL ? fields : cJSON_CreateObject();
	int rc;

	if (req == NULL || cJSON_AddStringToObject(req, "type", type) == NULL)
		rc = mvm_error_set(e, ENOMEM, "out of memory");
	else
		rc = mvm_guest_call(fd, timeout_ms, req, reply, e);
	cJSON_Delete(req);
	return rc;
}

/* Read the non-negative integer field `name` of `obj` into *out. */
static int
get_uint(const cJSON *obj, const char *name, uint64_t *out,
    struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble >= 18446744073709551616.0 ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" is "
		    "not a non-negative integer", name);
	*out = (uint64_t)v->valuedouble;
	return 0;
}

/* Read the integer field `name` of `obj`, within [min, max], into *out. */
static int
get_int(const cJSON *obj, const char *name, int min, int max, int *out,
    struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsNumber(v) || v->valuedouble < min ||
	    v->valuedouble > max || v->valuedouble != (double)v->valueint)
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" is "
		    "not an integer from %d to %d", name, min, max);
	*out = v->valueint;
	return 0;
}

static int
get_bool(const cJSON *obj, const char *name, bool *out, struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsBool(v))
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" is "
		    "not a boolean", name);
	*out = cJSON_IsTrue(v);
	return 0;
}

int
mvm_guest_parse_pong(const cJSON *reply, struct mvm_guest_pong *out,
    struct mvm_error *e)
{
	const char *boot_id;

	boot_id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply,
	    "boot_id"));
	if (boot_id == NULL || boot_id[0] == '\0' ||
	    strlen(boot_id) > MVM_GUEST_BOOT_ID_MAX)
		return mvm_error_set(e, EPROTO, "guest Ping reply has no valid "
		    "\"boot_id\"");
	strcpy(out->boot_id, boot_id);
	return get_uint(reply, "uptime_ms", &out->uptime_ms, e);
}

int
mvm_guest_ping(int fd, int timeout_ms, struct mvm_guest_pong *out,
    struct mvm_error *e)
{
	cJSON *reply = NULL;
	int rc;

	if ((rc = request(fd, timeout_ms, "Ping", NULL, &reply, e)) == 0)
		rc = mvm_guest_parse_pong(reply, out, e);
	cJSON_Delete(reply);
	return rc;
}

int
mvm_guest_parse_status(const cJSON *reply, struct mvm_guest_status *out,
    struct mvm_error *e)
{
	uint64_t pct = 0;
	int rc;

	if ((rc = get_bool(reply, "busy", &out->busy, e)) != 0 ||
	    (rc = get_bool(reply, "busy_file", &out->busy_file, e)) != 0 ||
	    (rc = get_uint(reply, "cpu_percent", &pct, e)) != 0 ||
	    (rc = get_uint(reply, "last_busy_ms", &out->last_busy_ms, e)) != 0 ||
	    (rc = get_uint(reply, "uptime_ms", &out->uptime_ms, e)) != 0)
		return rc;
	if (pct > 100)
		rc = mvm_error_set(e, EPROTO, "guest Status cpu_percent %" PRIu64
		    " exceeds 100", pct);
	out->cpu_percent = (unsigned)pct;
	return rc;
}

int
mvm_guest_status(int fd, int timeout_ms, struct mvm_guest_status *out,
    struct mvm_error *e)
{
	cJSON *reply = NULL;
	int rc;

	if ((rc = request(fd, timeout_ms, "Status", NULL, &reply, e)) == 0)
		rc = mvm_guest_parse_status(reply, out, e);
	cJSON_Delete(reply);
	return rc;
}

int
mvm_guest_parse_drain(const cJSON *reply, struct mvm_guest_drain *out,
    struct mvm_error *e)
{
	const char *reason;
	int rc;

	if ((rc = get_bool(reply, "drained", &out->drained, e)) != 0)
		return rc;
	reason = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(reply,
	    "reason"));
	snprintf(out->reason, sizeof(out->reason), "%s",
	    reason != NULL ? reason : "");
	if (!out->drained && reason == NULL)
		return mvm_error_set(e, EPROTO, "guest SleepPrep reply says not "
		    "drained without a reason");
	return 0;
}

int
mvm_guest_sleep_prep(int fd, int timeout_ms, uint32_t drain_timeout_ms,
    struct mvm_guest_drain *out, struct mvm_error *e)
{
	cJSON *fields, *reply = NULL;
	int rc;

	fields = cJSON_CreateObject();
	if (fields == NULL || cJSON_AddNumberToObject(fields,
	    "drain_timeout_ms", drain_timeout_ms) == NULL) {
		cJSON_Delete(fields);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	if ((rc = request(fd, timeout_ms, "SleepPrep", fields, &reply,
	    e)) == 0)
		rc = mvm_guest_parse_drain(reply, out, e);
	cJSON_Delete(reply);
	return rc;
}

int
mvm_guest_parse_wake(const cJSON *reply, int64_t *guest_time_ns,
    struct mvm_error *e)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(reply, "time_ns");

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble >= 9223372036854775807.0)
		return mvm_error_set(e, EPROTO, "guest Wake reply has no valid "
		    "\"time_ns\"");
	*guest_time_ns = (int64_t)v->valuedouble;
	return 0;
}

int
mvm_guest_wake(int fd, int timeout_ms, int64_t time_ns, const uint8_t *seed,
    size_t seed_len, int64_t *guest_time_ns, struct mvm_error *e)
{
	char hex[2 * 512 + 1], num[24];
	cJSON *fields = NULL, *reply = NULL;
	int rc;

	if (seed_len < 32 || seed_len > 512)
		return mvm_error_set(e, EINVAL, "Wake seed of %zu bytes must "
		    "have 32 to 512 bytes", seed_len);
	if (time_ns < 0)
		return mvm_error_set(e, EINVAL, "Wake time %" PRId64 " ns is "
		    "before 1970", time_ns);
	for (size_t i = 0; i < seed_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", seed[i]);
	/* Printed by hand: a double would lose the low bits of time_ns. */
	snprintf(num, sizeof(num), "%" PRId64, time_ns);
	fields = cJSON_CreateObject();
	if (fields == NULL ||
	    !cJSON_AddItemToObject(fields, "time_ns", cJSON_CreateRaw(num)) ||
	    cJSON_AddStringToObject(fields, "seed", hex) == NULL) {
		cJSON_Delete(fields);
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = request(fd, timeout_ms, "Wake", fields, &reply, e)) == 0)
		rc = mvm_guest_parse_wake(reply, guest_time_ns, e);
out:
	explicit_bzero(hex, sizeof(hex));
	cJSON_Delete(reply);
	return rc;
}

/*
 * Whether `s` is UTF-8 (RFC 3629: no overlong forms, surrogates or code
 * points beyond U+10FFFF). The frames must be: a 0xFF byte in a request
 * could even form a sync marker.
 */
static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp, min;
	int more;

	while (*p != '\0') {
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			more = 1, min = 0x80, cp = *p & 0x1f;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			more = 2, min = 0x800, cp = *p & 0x0f;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			more = 3, min = 0x10000, cp = *p & 0x07;
		} else {
			return false;
		}
		/* A NUL fails the test, so this never reads past the end. */
		for (p++; more > 0; more--, p++) {
			if ((*p & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (*p & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
	}
	return true;
}

/*
 * Decode the base64 field `name` of `obj` into a new *buf (freed by the
 * caller, also on failure) holding *len bytes and a NUL.
 */
static int
get_base64(const cJSON *obj, const char *name, uint8_t **buf, size_t *len,
    struct mvm_error *e)
{
	const char *s;
	size_t n;

	s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, name));
	if (s == NULL)
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" is "
		    "not a string", name);
	n = strlen(s);
	if ((*buf = malloc(n / 4 * 3 + 1)) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	/* libsodium 1.0.18 decodes any byte above 0x7f as a '/'. */
	if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/=") != n ||
	    sodium_base642bin(*buf, n / 4 * 3, s, n, NULL, len, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" is "
		    "not base64", name);
	if (*len > MVM_GUEST_EXEC_OUT_MAX)
		return mvm_error_set(e, EPROTO, "guest reply field \"%s\" has "
		    "%zu bytes, more than %d", name, *len,
		    MVM_GUEST_EXEC_OUT_MAX);
	(*buf)[*len] = '\0';
	return 0;
}

int
mvm_guest_parse_exec(const cJSON *reply, struct mvm_guest_exec_result **out,
    struct mvm_error *e)
{
	struct mvm_guest_exec_result *r;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	if ((rc = get_int(reply, "exit_code", -1, 255, &r->exit_code,
	    e)) != 0 ||
	    (rc = get_int(reply, "signal", 0, 127, &r->signal, e)) != 0 ||
	    (rc = get_bool(reply, "timed_out", &r->timed_out, e)) != 0 ||
	    (rc = get_base64(reply, "stdout", &r->stdout_buf, &r->stdout_len,
	    e)) != 0 || (rc = get_bool(reply, "stdout_truncated",
	    &r->stdout_truncated, e)) != 0 ||
	    (rc = get_base64(reply, "stderr", &r->stderr_buf, &r->stderr_len,
	    e)) != 0 || (rc = get_bool(reply, "stderr_truncated",
	    &r->stderr_truncated, e)) != 0) {
		mvm_guest_exec_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
mvm_guest_exec(int fd, int timeout_ms, const char *const *argv,
    const char *stdin_text, uint32_t exec_timeout_ms,
    struct mvm_guest_exec_result **out, struct mvm_error *e)
{
	cJSON *fields, *args, *reply = NULL;
	int rc;

	*out = NULL;
	if (argv == NULL || argv[0] == NULL)
		return mvm_error_set(e, EINVAL, "Exec needs a program: argv "
		    "is empty");
	for (size_t i = 0; argv[i] != NULL; i++)
		if (!utf8_valid(argv[i]))
			return mvm_error_set(e, EINVAL, "Exec argv[%zu] is not "
			    "valid UTF-8", i);
	if (stdin_text != NULL && !utf8_valid(stdin_text))
		return mvm_error_set(e, EINVAL, "Exec stdin text is not valid "
		    "UTF-8");
	fields = cJSON_CreateObject();
	args = cJSON_AddArrayToObject(fields, "argv");
	rc = args == NULL ? -ENOMEM : 0;
	for (size_t i = 0; rc == 0 && argv[i] != NULL; i++)
		if (!cJSON_AddItemToArray(args, cJSON_CreateString(argv[i])))
			rc = -ENOMEM;
	if (rc != 0 || (exec_timeout_ms != 0 && cJSON_AddNumberToObject(fields,
	    "timeout_ms", exec_timeout_ms) == NULL) || (stdin_text != NULL &&
	    cJSON_AddStringToObject(fields, "stdin", stdin_text) == NULL)) {
		cJSON_Delete(fields);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	if ((rc = request(fd, timeout_ms, "Exec", fields, &reply, e)) == 0)
		rc = mvm_guest_parse_exec(reply, out, e);
	cJSON_Delete(reply);
	return rc;
}

void
mvm_guest_exec_free(struct mvm_guest_exec_result *r)
{
	if (r == NULL)
		return;
	free(r->stdout_buf);
	free(r->stderr_buf);
	free(r);
}
