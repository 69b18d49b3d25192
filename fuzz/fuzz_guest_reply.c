/*
 * fuzz_guest_reply.c: the host's reading of a guest agent's stream
 * (runtime/vmm/guest.c) on arbitrary bytes. A guest is untrusted.
 *
 * Input: byte 0 is the size of the reads the rest is cut into (0 means
 * 4096, the client's buffer), the rest is what the agent sends back to a
 * request with id FUZZ_ID. The stream is scanned as mvm_guest_call() does;
 * a reply found is judged as the answer to each request type in turn and,
 * where its type is accepted, decoded by that type's reader.
 *
 * Checked properties: a reply found carries FUZZ_ID and came after the
 * echoed sync marker; a refusal is -EIO or -EPROTO with a sentence; exactly
 * the reply's own type is accepted; a decoded reply obeys its contract
 * (bounds, NUL-terminated strings), and Exec output re-encodes to the very
 * base64 text it came from. Each input gets a fresh frame reader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "frame.h"
#include "guest.h"

#define FUZZ_ID	7

static const char *const types[] = {
	"Ping", "Status", "SleepPrep", "Wake", "Exec", "Error",
};

/* A refusal carries the errno it returned and a sentence. */
static void
refusal_ok(int rc, const struct mvm_error *e)
{
	if (rc >= 0 || e->code != -rc || e->msg[0] == '\0')
		abort();
}

/* `buf` of `len` bytes is the base64 text of the reply's field `name`. */
static void
same_base64(const cJSON *reply, const char *name, const uint8_t *buf,
    size_t len)
{
	const char *want = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(reply, name));
	size_t n = sodium_base64_ENCODED_LEN(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *text;

	if (want == NULL || buf == NULL || buf[len] != '\0' ||
	    len > MVM_GUEST_EXEC_OUT_MAX || (text = malloc(n)) == NULL)
		abort();
	sodium_bin2base64(text, n, buf, len, sodium_base64_VARIANT_ORIGINAL);
	if (strcmp(text, want) != 0)
		abort();
	free(text);
}

static void
decode(const char *type, const cJSON *reply)
{
	/* Not NULL, so that a failed Exec decode must clear it. */
	struct mvm_guest_exec_result *x = (void *)1;
	struct mvm_guest_status st;
	struct mvm_guest_pong pong;
	struct mvm_guest_drain dr;
	struct mvm_error e = { 0 };
	int64_t t;
	int rc;

	if (strcmp(type, "Ping") == 0) {
		rc = mvm_guest_parse_pong(reply, &pong, &e);
		if (rc == 0 && (pong.boot_id[0] == '\0' ||
		    strnlen(pong.boot_id, sizeof(pong.boot_id)) >
		    MVM_GUEST_BOOT_ID_MAX))
			abort();
	} else if (strcmp(type, "Status") == 0) {
		rc = mvm_guest_parse_status(reply, &st, &e);
		if (rc == 0 && st.cpu_percent > 100)
			abort();
	} else if (strcmp(type, "SleepPrep") == 0) {
		rc = mvm_guest_parse_drain(reply, &dr, &e);
		if (rc == 0 && strnlen(dr.reason, sizeof(dr.reason)) >
		    MVM_GUEST_REASON_MAX)
			abort();
		if (rc == 0 && !dr.drained && !cJSON_IsString(
		    cJSON_GetObjectItemCaseSensitive(reply, "reason")))
			abort();
	} else if (strcmp(type, "Wake") == 0) {
		rc = mvm_guest_parse_wake(reply, &t, &e);
		if (rc == 0 && t < 0)
			abort();
	} else if (strcmp(type, "Exec") == 0) {
		rc = mvm_guest_parse_exec(reply, &x, &e);
		if ((rc == 0) != (x != NULL))
			abort();
		if (rc == 0) {
			if (x->exit_code < -1 || x->exit_code > 255 ||
			    x->signal < 0 || x->signal > 127)
				abort();
			same_base64(reply, "stdout", x->stdout_buf,
			    x->stdout_len);
			same_base64(reply, "stderr", x->stderr_buf,
			    x->stderr_len);
		}
		mvm_guest_exec_free(x);
	} else {
		return;
	}
	if (rc != 0 && rc != -EPROTO)
		abort();
	if (rc != 0)
		refusal_ok(rc, &e);
}

static void
judge(const cJSON *reply)
{
	const char *own = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(reply, "type"));
	struct mvm_error e;
	int rc;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		mvm_error_clear(&e);
		rc = mvm_guest_reply_check(types[i], reply, &e);
		if (own != NULL && strcmp(own, "Error") == 0) {
			if (rc != -EIO)
				abort();
		} else if (own != NULL && strcmp(own, types[i]) == 0) {
			if (rc != 0)
				abort();
			decode(types[i], reply);
			continue;
		} else if (rc != -EPROTO) {
			abort();
		}
		refusal_ok(rc, &e);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvm_frame_reader r;
	cJSON *reply = NULL;
	const cJSON *id;
	bool synced = false, found = false;
	size_t chunk, n;

	if (size < 1)
		return 0;
	chunk = data[0] == 0 ? 4096 : data[0];
	data++;
	size--;
	if (mvm_frame_reader_init(&r) != 0)
		abort();
	while (size > 0 && !found) {
		n = size < chunk ? size : chunk;
		found = mvm_guest_reply_scan(&r, data, n, FUZZ_ID, &synced,
		    &reply);
		if (found != (reply != NULL))
			abort();
		data += n;
		size -= n;
	}
	if (found) {
		id = cJSON_GetObjectItemCaseSensitive(reply, "id");
		if (!synced || !cJSON_IsNumber(id) ||
		    id->valuedouble != FUZZ_ID)
			abort();
		judge(reply);
	}
	cJSON_Delete(reply);
	mvm_frame_reader_free(&r);
	return 0;
}
