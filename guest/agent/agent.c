/* agent.c: parse requests and encode replies of the guest agent protocol. */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "frame.h"

/* An Exec reply with both streams at their limit fits in one frame. */
_Static_assert(2 * sodium_base64_ENCODED_LEN(MVM_AGENT_OUT_MAX,
    sodium_base64_VARIANT_ORIGINAL) + 1024 < MVM_FRAME_MAX,
    "Exec output limit too large for a frame");

static const struct {
	const char		*name;
	enum mvm_agent_type	 type;
} types[] = {
	{ "Ping", MVM_AGENT_PING },
	{ "Status", MVM_AGENT_STATUS },
	{ "SleepPrep", MVM_AGENT_SLEEP_PREP },
	{ "Wake", MVM_AGENT_WAKE },
	{ "Exec", MVM_AGENT_EXEC },
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the hex string `s` into req->seed. */
static int
parse_seed(const char *s, struct mvm_agent_req *req, struct mvm_error *e)
{
	size_t n = strlen(s);

	if (n % 2 != 0 || n / 2 < MVM_AGENT_SEED_MIN ||
	    n / 2 > MVM_AGENT_SEED_MAX)
		return mvm_error_set(e, EINVAL, "Wake seed of %zu hex digits "
		    "must be an even count encoding %d to %d bytes", n,
		    MVM_AGENT_SEED_MIN, MVM_AGENT_SEED_MAX);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return mvm_error_set(e, EINVAL, "Wake seed has a "
			    "character that is not a hex digit at offset %zu",
			    hi < 0 ? 2 * i : 2 * i + 1);
		req->seed[i] = (uint8_t)(hi << 4 | lo);
	}
	req->seed_len = n / 2;
	return 0;
}

/* Fetch the integer field `name` of `obj` into *out, within [min, max]. */
static int
int_field(struct json_object *obj, const char *type, const char *name,
    int64_t min, int64_t max, int64_t *out, struct mvm_error *e)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, name, &v))
		return mvm_error_set(e, EINVAL, "%s request lacks the "
		    "integer field \"%s\"", type, name);
	if (!json_object_is_type(v, json_type_int))
		return mvm_error_set(e, EINVAL, "%s field \"%s\" must be an "
		    "integer", type, name);
	errno = 0;
	*out = json_object_get_int64(v);
	/* json-c clamps values beyond int64 and reports it in errno. */
	if (errno != 0 || *out < min || *out > max)
		return mvm_error_set(e, EINVAL, "%s field \"%s\" must be "
		    "between %" PRId64 " and %" PRId64, type, name, min, max);
	return 0;
}

/*
 * Copy the Exec field "argv" of `obj` into req->argv: 1 to
 * MVM_AGENT_ARGV_MAX strings of 1 to MVM_AGENT_ARG_MAX bytes without NUL,
 * below MVM_AGENT_ARGV_TOTAL bytes in all, argv[0] absolute or a bare name.
 */
static int
parse_argv(struct json_object *obj, struct mvm_agent_req *req,
    struct mvm_error *e)
{
	struct json_object *v, *s;
	size_t n, len, total = 0, off = 0;
	const char *str;

	if (!json_object_object_get_ex(obj, "argv", &v) ||
	    !json_object_is_type(v, json_type_array))
		return mvm_error_set(e, EINVAL, "Exec request lacks the array "
		    "field \"argv\"");
	n = json_object_array_length(v);
	if (n < 1 || n > MVM_AGENT_ARGV_MAX)
		return mvm_error_set(e, EINVAL, "Exec field \"argv\" has %zu "
		    "strings, not 1 to %d", n, MVM_AGENT_ARGV_MAX);
	for (size_t i = 0; i < n; i++) {
		s = json_object_array_get_idx(v, i);
		if (!json_object_is_type(s, json_type_string))
			return mvm_error_set(e, EINVAL, "Exec field "
			    "\"argv\"[%zu] is not a string", i);
		len = (size_t)json_object_get_string_len(s);
		str = json_object_get_string(s);
		if (len < 1 || len > MVM_AGENT_ARG_MAX)
			return mvm_error_set(e, EINVAL, "Exec field "
			    "\"argv\"[%zu] has %zu bytes, not 1 to %d", i, len,
			    MVM_AGENT_ARG_MAX);
		if (strlen(str) != len)
			return mvm_error_set(e, EINVAL, "Exec field "
			    "\"argv\"[%zu] contains a NUL character", i);
		total += len + 1;
	}
	if (total >= MVM_AGENT_ARGV_TOTAL)
		return mvm_error_set(e, EINVAL, "Exec field \"argv\" has %zu "
		    "bytes with terminators, not below %d", total,
		    MVM_AGENT_ARGV_TOTAL);
	str = json_object_get_string(json_object_array_get_idx(v, 0));
	if (str[0] != '/' && strchr(str, '/') != NULL)
		return mvm_error_set(e, EINVAL, "Exec field \"argv\"[0] "
		    "\"%.64s\" must be an absolute path or a name without "
		    "'/' to look up in PATH", str);
	if ((req->argv_buf = malloc(total)) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for Exec argv");
	for (size_t i = 0; i < n; i++) {
		s = json_object_array_get_idx(v, i);
		len = (size_t)json_object_get_string_len(s) + 1;
		req->argv[i] = memcpy(req->argv_buf + off,
		    json_object_get_string(s), len);
		off += len;
	}
	req->argv[n] = NULL;
	req->argc = n;
	return 0;
}

/* Read the rest of an Exec request: "argv", "timeout_ms", "stdin". */
static int
parse_exec(struct json_object *obj, struct mvm_agent_req *req,
    struct mvm_error *e)
{
	struct json_object *v;
	int64_t n = MVM_AGENT_EXEC_DEF_MS;
	int rc;

	if ((rc = parse_argv(obj, req, e)) != 0)
		return rc;
	if (json_object_object_get_ex(obj, "timeout_ms", &v) &&
	    (rc = int_field(obj, "Exec", "timeout_ms", 1,
	    MVM_AGENT_EXEC_MAX_MS, &n, e)) != 0)
		return rc;
	req->exec_timeout_ms = (uint64_t)n;
	if (!json_object_object_get_ex(obj, "stdin", &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return mvm_error_set(e, EINVAL, "Exec field \"stdin\" must be "
		    "a string");
	req->stdin_len = (size_t)json_object_get_string_len(v);
	req->stdin_buf = malloc(req->stdin_len + 1);
	if (req->stdin_buf == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory for Exec stdin");
	memcpy(req->stdin_buf, json_object_get_string(v), req->stdin_len + 1);
	return 0;
}

int
mvm_agent_parse(const char *buf, size_t len, struct mvm_agent_req *req,
    struct mvm_error *e)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL, *v;
	const char *type;
	int64_t n;
	size_t i;
	int rc;

	memset(req, 0, sizeof(*req));
	tok = json_tokener_new();
	if (tok == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory parsing a request");
		goto out;
	}
	/* A payload with a NUL inside is not JSON text. */
	if (len == 0 || memchr(buf, '\0', len) != NULL ||
	    (obj = json_tokener_parse_ex(tok, buf, (int)len)) == NULL ||
	    json_tokener_get_parse_end(tok) != len) {
		rc = mvm_error_set(e, EINVAL, "frame payload of %zu bytes is "
		    "not one JSON value", len);
		goto out;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		rc = mvm_error_set(e, EINVAL, "frame payload is a JSON %s, "
		    "not an object", json_type_to_name(json_object_get_type(obj)));
		goto out;
	}
	if (json_object_object_get_ex(obj, "id", &v)) {
		if (!json_object_is_type(v, json_type_string) &&
		    !json_object_is_type(v, json_type_int)) {
			rc = mvm_error_set(e, EINVAL, "request field \"id\" "
			    "must be a string or an integer");
			goto out;
		}
		req->id = json_object_get(v);
	}
	if (!json_object_object_get_ex(obj, "type", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		rc = mvm_error_set(e, EINVAL, "request lacks the string field "
		    "\"type\"");
		goto out;
	}
	type = json_object_get_string(v);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i].name) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0])) {
		rc = mvm_error_set(e, EINVAL, "request type \"%.64s\" is not "
		    "one of Ping, Status, SleepPrep, Wake, Exec", type);
		goto out;
	}
	req->type = types[i].type;
	rc = 0;
	switch (req->type) {
	case MVM_AGENT_PING:
	case MVM_AGENT_STATUS:
		break;
	case MVM_AGENT_SLEEP_PREP:
		rc = int_field(obj, type, "drain_timeout_ms", 0,
		    MVM_AGENT_DRAIN_MAX_MS, &n, e);
		req->drain_timeout_ms = (uint64_t)n;
		break;
	case MVM_AGENT_WAKE:
		rc = int_field(obj, type, "time_ns", 0, INT64_MAX,
		    &req->time_ns, e);
		if (rc != 0)
			break;
		if (!json_object_object_get_ex(obj, "seed", &v) ||
		    !json_object_is_type(v, json_type_string)) {
			rc = mvm_error_set(e, EINVAL, "Wake request lacks the "
			    "hex string field \"seed\"");
			break;
		}
		rc = parse_seed(json_object_get_string(v), req, e);
		break;
	case MVM_AGENT_EXEC:
		rc = parse_exec(obj, req, e);
		break;
	}
out:
	json_object_put(obj);
	if (tok != NULL)
		json_tokener_free(tok);
	return rc;
}

void
mvm_agent_req_free(struct mvm_agent_req *req)
{
	json_object_put(req->id);
	req->id = NULL;
	explicit_bzero(req->seed, sizeof(req->seed));
	free(req->argv_buf);
	req->argv_buf = NULL;
	req->argv[0] = NULL;
	req->argc = 0;
	free(req->stdin_buf);
	req->stdin_buf = NULL;
}

/*
 * Start a reply object of type `type` echoing `id`, or return NULL when out
 * of memory.
 */
static struct json_object *
reply_new(struct json_object *id, const char *type)
{
	struct json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (json_object_object_add(o, "type",
	    json_object_new_string(type)) != 0 ||
	    (id != NULL && json_object_object_add(o, "id",
	    json_object_get(id)) != 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * Serialise `o`, release it and return the text, or NULL. Slashes are not
 * escaped: base64 output is full of them, and "\/" could double the size
 * of an Exec reply past the frame limit.
 */
static char *
reply_finish(struct json_object *o, bool ok)
{
	char *s = NULL;

	if (o != NULL && ok)
		s = strdup(json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return s;
}

/* Add field `name` with value `v` (which may be NULL) to `o`. */
static bool
add(struct json_object *o, const char *name, struct json_object *v)
{
	return o != NULL && v != NULL && json_object_object_add(o, name, v) == 0;
}

char *
mvm_agent_reply_ping(struct json_object *id, const char *boot_id,
    uint64_t uptime_ms)
{
	struct json_object *o = reply_new(id, "Ping");
	bool ok;

	ok = add(o, "boot_id", json_object_new_string(boot_id)) &&
	    add(o, "uptime_ms", json_object_new_uint64(uptime_ms));
	return reply_finish(o, ok);
}

char *
mvm_agent_reply_status(struct json_object *id,
    const struct mvm_agent_status *st)
{
	struct json_object *o = reply_new(id, "Status");
	bool ok;

	ok = add(o, "busy", json_object_new_boolean(st->busy)) &&
	    add(o, "busy_file", json_object_new_boolean(st->busy_file)) &&
	    add(o, "cpu_percent", json_object_new_uint64(st->cpu_percent)) &&
	    add(o, "last_busy_ms", json_object_new_uint64(st->last_busy_ms)) &&
	    add(o, "uptime_ms", json_object_new_uint64(st->uptime_ms));
	return reply_finish(o, ok);
}

char *
mvm_agent_reply_sleep_prep(struct json_object *id, bool drained,
    const char *reason)
{
	struct json_object *o = reply_new(id, "SleepPrep");
	bool ok;

	ok = add(o, "drained", json_object_new_boolean(drained)) &&
	    (reason == NULL ||
	    add(o, "reason", json_object_new_string(reason)));
	return reply_finish(o, ok);
}

char *
mvm_agent_reply_wake(struct json_object *id, int64_t time_ns)
{
	struct json_object *o = reply_new(id, "Wake");
	bool ok;

	ok = add(o, "time_ns", json_object_new_int64(time_ns));
	return reply_finish(o, ok);
}

char *
mvm_agent_reply_error(struct json_object *id, const char *msg)
{
	struct json_object *o = reply_new(id, "Error");
	bool ok;

	ok = add(o, "error", json_object_new_string(msg));
	return reply_finish(o, ok);
}

void
mvm_agent_output_add(struct mvm_agent_output *o, const uint8_t *data,
    size_t n)
{
	size_t room = MVM_AGENT_OUT_MAX - o->len;

	if (n > room) {
		o->truncated = true;
		n = room;
	}
	memcpy(o->buf + o->len, data, n);
	o->len += n;
}

/* Add `o` to `reply` as base64 field `name` and bool field `flag`. */
static bool
add_output(struct json_object *reply, const char *name, const char *flag,
    const struct mvm_agent_output *o)
{
	char *b64;
	bool ok;

	b64 = malloc(sodium_base64_ENCODED_LEN(MVM_AGENT_OUT_MAX,
	    sodium_base64_VARIANT_ORIGINAL));
	if (b64 == NULL)
		return false;
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(MVM_AGENT_OUT_MAX,
	    sodium_base64_VARIANT_ORIGINAL), o->buf, o->len,
	    sodium_base64_VARIANT_ORIGINAL);
	ok = add(reply, name, json_object_new_string(b64)) &&
	    add(reply, flag, json_object_new_boolean(o->truncated));
	free(b64);
	return ok;
}

char *
mvm_agent_reply_exec(struct json_object *id, const struct mvm_agent_exec *x)
{
	struct json_object *o = reply_new(id, "Exec");
	bool ok;

	ok = add(o, "exit_code", json_object_new_int(x->exit_code)) &&
	    add(o, "signal", json_object_new_int(x->signal)) &&
	    add(o, "timed_out", json_object_new_boolean(x->timed_out)) &&
	    add_output(o, "stdout", "stdout_truncated", &x->out) &&
	    add_output(o, "stderr", "stderr_truncated", &x->err);
	return reply_finish(o, ok);
}

int
mvm_agent_cpu_parse(const char *text, struct mvm_agent_cpu *out)
{
	unsigned long long v[8] = { 0 };
	int n;

	if (strncmp(text, "cpu ", 4) != 0)
		return -EINVAL;
	n = sscanf(text + 4, "%llu %llu %llu %llu %llu %llu %llu %llu",
	    &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return -EINVAL;
	/* user nice system idle iowait irq softirq steal */
	out->total = 0;
	for (int i = 0; i < n; i++)
		out->total += v[i];
	out->idle = v[3] + v[4];
	return 0;
}

unsigned
mvm_agent_cpu_percent(const struct mvm_agent_cpu *prev,
    const struct mvm_agent_cpu *cur)
{
	uint64_t total, idle;

	if (cur->total <= prev->total || cur->idle < prev->idle)
		return 0;
	total = cur->total - prev->total;
	idle = cur->idle - prev->idle;
	if (idle >= total)
		return 0;
	return (unsigned)((total - idle) * 100 / total);
}
