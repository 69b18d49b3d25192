/*
 * fuzz_fc_reply.c: the readers of a VMM's answers (runtime/vmm/fc.c) on
 * arbitrary bytes, each input read as every kind of answer: an error body,
 * the InstanceInfo of GET / and the FullVmConfiguration of GET /vm/config.
 *
 * Checked properties: an error body always gives -EIO with a sentence that
 * names the call, and Firecracker's {"fault_message"} in full when it fits;
 * a refused answer gives -EPROTO with a sentence; an accepted one obeys the
 * header's bounds, and rendering what was kept as a fresh answer reads
 * back to the same values. Nothing is kept between inputs.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fc.h"

static const char *const states[] = {
	[MVM_FC_STATE_NOT_STARTED] = "Not started",
	[MVM_FC_STATE_RUNNING] = "Running",
	[MVM_FC_STATE_PAUSED] = "Paused",
};

static void
refused_ok(int rc, const struct mvm_error *e)
{
	if (rc != -EPROTO || e->code != EPROTO || e->msg[0] == '\0')
		abort();
}

static void
fault(const char *body, size_t len)
{
	static const char prefix[] = "PUT /drives/rootfs: 400: ";
	struct mvm_error e = { 0 };
	const cJSON *msg;
	cJSON *doc;
	int rc;

	rc = mvm_fc_parse_fault("PUT", "/drives/rootfs", 400, body, len, &e);
	if (rc != -EIO || e.code != EIO ||
	    strncmp(e.msg, prefix, sizeof(prefix) - 1) != 0)
		abort();
	doc = cJSON_ParseWithLength(body, len);
	msg = cJSON_GetObjectItemCaseSensitive(doc, "fault_message");
	if (cJSON_IsString(msg) && sizeof(prefix) - 1 +
	    strlen(msg->valuestring) < sizeof(e.msg) &&
	    strcmp(e.msg + sizeof(prefix) - 1, msg->valuestring) != 0)
		abort();
	cJSON_Delete(doc);
}

/* Render `info` as an InstanceInfo and read it back: the same values. */
static void
info(const char *body, size_t len)
{
	struct mvm_fc_info a, b;
	struct mvm_error e = { 0 };
	cJSON *doc;
	char *text;
	int rc;

	if ((rc = mvm_fc_parse_info(body, len, &a, &e)) != 0) {
		refused_ok(rc, &e);
		return;
	}
	if ((unsigned)a.state > MVM_FC_STATE_PAUSED ||
	    strnlen(a.id, sizeof(a.id)) > MVM_FC_INFO_MAX ||
	    strnlen(a.app_name, sizeof(a.app_name)) > MVM_FC_INFO_MAX ||
	    strnlen(a.vmm_version, sizeof(a.vmm_version)) > MVM_FC_INFO_MAX)
		abort();
	if ((doc = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(doc, "id", a.id) == NULL ||
	    cJSON_AddStringToObject(doc, "app_name", a.app_name) == NULL ||
	    cJSON_AddStringToObject(doc, "vmm_version", a.vmm_version) == NULL ||
	    cJSON_AddStringToObject(doc, "state", states[a.state]) == NULL ||
	    (text = cJSON_PrintUnformatted(doc)) == NULL)
		abort();
	if (mvm_fc_parse_info(text, strlen(text), &b, NULL) != 0 ||
	    strcmp(a.id, b.id) != 0 || strcmp(a.app_name, b.app_name) != 0 ||
	    strcmp(a.vmm_version, b.vmm_version) != 0 || a.state != b.state)
		abort();
	cJSON_free(text);
	cJSON_Delete(doc);
}

/* Render the machine kept from GET /vm/config and read it back. */
static void
vm_config(const char *body, size_t len)
{
	struct mvm_fc_machine a, b;
	struct mvm_error e = { 0 };
	char text[160];
	int rc, n;

	if ((rc = mvm_fc_parse_vm_config(body, len, &a, &e)) != 0) {
		refused_ok(rc, &e);
		return;
	}
	n = snprintf(text, sizeof(text), "{\"machine-config\":{\"vcpu_count\":"
	    "%u,\"mem_size_mib\":%u,\"track_dirty_pages\":%s}}", a.vcpu_count,
	    a.mem_size_mib, a.track_dirty_pages ? "true" : "false");
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    mvm_fc_parse_vm_config(text, (size_t)n, &b, NULL) != 0 ||
	    a.vcpu_count != b.vcpu_count || a.mem_size_mib != b.mem_size_mib ||
	    a.track_dirty_pages != b.track_dirty_pages)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *body;

	/* The client hands the readers the body and a NUL after it. */
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	fault(body, size);
	info(body, size);
	vm_config(body, size);
	free(body);
	return 0;
}
