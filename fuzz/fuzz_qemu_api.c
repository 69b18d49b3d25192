/*
 * fuzz_qemu_api.c: mvm-qemu's reading of Firecracker API requests
 * (qemu/api.c routes them, qemu/vmconfig.c checks and applies the bodies)
 * on arbitrary bytes.
 *
 * Input: requests, two lines each: "METHOD PATH", then the body on one
 * line (JSON needs no newline). A request the route table does not serve
 * is dropped; a body that is empty or not JSON is refused as the server
 * refuses it; the rest go, in order, to one configuration made afresh for
 * the input: resources to vmm_config_apply(), commands (actions, vm,
 * snapshot create and load) to vmm_config_check_body().
 *
 * Checked properties: an {id} lies inside its path and holds no '/'; a
 * refused request changes nothing and has a sentence; an accepted one
 * keeps the configuration within its rules (device counts, one root drive
 * and it first, distinct taps and interface ids, MMDS interfaces that
 * exist); an accepted command or logger body has the values its handler
 * relies on; and at the end the configuration, as GET /vm/config shows it,
 * loads back as a snapshot does and shows the same again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api.h"
#include "log.h"
#include "vmconfig.h"

enum kind { K_RESOURCE, K_COMMAND };

/* How the handler behind each body-taking route reads the body. */
struct target {
	const char		*method;
	const char		*path;	/* a trailing '/' takes an {id} */
	enum kind		 kind;
	enum vmm_resource	 res;	/* K_RESOURCE */
	bool			 patch;
	enum vmm_body		 body;	/* K_COMMAND */
};

static const struct target targets[] = {
	{ "PUT", "/machine-config", K_RESOURCE, VMM_RES_MACHINE, false, 0 },
	{ "PATCH", "/machine-config", K_RESOURCE, VMM_RES_MACHINE, true, 0 },
	{ "PUT", "/boot-source", K_RESOURCE, VMM_RES_BOOT, false, 0 },
	{ "PUT", "/drives/", K_RESOURCE, VMM_RES_DRIVE, false, 0 },
	{ "PUT", "/network-interfaces/", K_RESOURCE, VMM_RES_NET, false, 0 },
	{ "PUT", "/vsock", K_RESOURCE, VMM_RES_VSOCK, false, 0 },
	{ "PUT", "/mmds/config", K_RESOURCE, VMM_RES_MMDS_CONFIG, false, 0 },
	{ "PUT", "/mmds", K_RESOURCE, VMM_RES_MMDS, false, 0 },
	{ "PATCH", "/mmds", K_RESOURCE, VMM_RES_MMDS, true, 0 },
	{ "PUT", "/logger", K_RESOURCE, VMM_RES_LOGGER, false, 0 },
	{ "PUT", "/metrics", K_RESOURCE, VMM_RES_METRICS, false, 0 },
	{ "PUT", "/actions", K_COMMAND, 0, false, VMM_BODY_ACTION },
	{ "PATCH", "/vm", K_COMMAND, 0, false, VMM_BODY_VM },
	{ "PUT", "/snapshot/create", K_COMMAND, 0, false,
	    VMM_BODY_SNAPSHOT_CREATE },
	{ "PUT", "/snapshot/load", K_COMMAND, 0, false,
	    VMM_BODY_SNAPSHOT_LOAD },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct target *
target_of(const char *method, const char *path)
{
	const struct target *t;
	size_t n;

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		t = &targets[i];
		n = strlen(t->path);
		if (strcmp(t->method, method) != 0)
			continue;
		if (t->path[n - 1] == '/' ? strncmp(path, t->path, n) == 0 :
		    strcmp(path, t->path) == 0)
			return t;
	}
	return NULL;
}

/* Everything a request may change, as text. The caller frees it. */
static char *
state_text(const struct vmm_config *c)
{
	cJSON *doc = vmm_config_to_json(c);
	char *text;

	if (doc == NULL || (c->mmds != NULL && !cJSON_AddItemToObject(doc,
	    "mmds", cJSON_Duplicate(c->mmds, true))) ||
	    (text = cJSON_PrintUnformatted(doc)) == NULL)
		abort();
	cJSON_Delete(doc);
	return text;
}

static bool
is_one_of(const char *s, const char *const *set)
{
	for (; s != NULL && *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* The rules of a configuration that only accepted requests built. */
static void
check_config(const struct vmm_config *c)
{
	const cJSON *it, *other;
	int i = 0;

	if (vmm_config_vcpus(c) < 1 || vmm_config_vcpus(c) > 32 ||
	    vmm_config_mem_mib(c) < 1 ||
	    cJSON_GetArraySize(c->drives) > VMM_MAX_DRIVES ||
	    cJSON_GetArraySize(c->nets) > VMM_MAX_NETS)
		abort();
	cJSON_ArrayForEach(it, c->drives)
		if (vmm_json_bool(it, "is_root_device", false) && i++ > 0)
			abort();
	if (i == 1 && !vmm_json_bool(cJSON_GetArrayItem(c->drives, 0),
	    "is_root_device", false))
		abort();
	cJSON_ArrayForEach(it, c->nets)
		for (other = it->next; other != NULL; other = other->next)
			if (strcmp(vmm_json_str(it, "iface_id", ""),
			    vmm_json_str(other, "iface_id", "")) == 0 ||
			    strcmp(vmm_json_str(it, "host_dev_name", ""),
			    vmm_json_str(other, "host_dev_name", "")) == 0)
				abort();
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(c->mmds_config,
	    "network_interfaces")) {
		bool found = false;

		cJSON_ArrayForEach(other, c->nets)
			found = found || strcmp(vmm_json_str(other, "iface_id",
			    ""), it->valuestring) == 0;
		if (!found)
			abort();
	}
}

/* What the command handlers read from a body the check accepted. */
static void
check_command(enum vmm_body b, const cJSON *body)
{
	static const char *const actions[] = {
		"InstanceStart", "SendCtrlAltDel", "FlushMetrics", NULL,
	};
	static const char *const states[] = { "Paused", "Resumed", NULL };
	const cJSON *mb;

	switch (b) {
	case VMM_BODY_ACTION:
		if (!is_one_of(vmm_json_str(body, "action_type", NULL),
		    actions))
			abort();
		break;
	case VMM_BODY_VM:
		if (!is_one_of(vmm_json_str(body, "state", NULL), states))
			abort();
		break;
	case VMM_BODY_SNAPSHOT_CREATE:
		if (vmm_json_str(body, "mem_file_path", NULL) == NULL ||
		    vmm_json_str(body, "snapshot_path", NULL) == NULL)
			abort();
		break;
	case VMM_BODY_SNAPSHOT_LOAD:
		mb = cJSON_GetObjectItem(body, "mem_backend");
		if (vmm_json_str(body, "snapshot_path", NULL) == NULL ||
		    (mb != NULL && (vmm_json_str(mb, "backend_type",
		    NULL) == NULL || vmm_json_str(mb, "backend_path",
		    NULL) == NULL)))
			abort();
		break;
	}
}

static void
request(struct vmm_config *c, const char *method, const char *path,
    const char *body_text, size_t body_len)
{
	enum vmm_log_level level;
	const struct target *t;
	struct mvm_error e = { 0 };
	const char *id;
	char *before, *after;
	cJSON *body;
	int rc;

	if (!vmm_api_route(method, path, &id))
		return;
	if (id != NULL && (id[0] == '\0' || id < path ||
	    id >= path + strlen(path) || strchr(id, '/') != NULL))
		abort();
	/* As dispatch(): a body-taking request needs a JSON body. */
	if ((t = target_of(method, path)) == NULL || body_len == 0 ||
	    (body = cJSON_ParseWithLength(body_text, body_len)) == NULL)
		return;
	if (t->kind == K_COMMAND) {
		if ((rc = vmm_config_check_body(t->body, body, &e)) == 0)
			check_command(t->body, body);
		else if (rc != -EINVAL || e.code != EINVAL || e.msg[0] == '\0')
			abort();
		cJSON_Delete(body);
		return;
	}
	before = state_text(c);
	rc = vmm_config_apply(c, t->res, id, body, t->patch, &e);
	if (rc < 0) {
		after = state_text(c);
		if (e.code != -rc || e.msg[0] == '\0' || strcmp(before,
		    after) != 0)
			abort();
		free(after);
	} else {
		if (rc != 0)
			abort();
		check_config(c);
		/* h_logger reads the level the check let through. */
		if (t->res == VMM_RES_LOGGER && vmm_log_parse_level(
		    vmm_json_str(body, "level", "Info"), &level) != 0)
			abort();
	}
	free(before);
	cJSON_Delete(body);
}

/* The configuration loads back as a snapshot of it does, unchanged. */
static void
round_trip(const struct vmm_config *c)
{
	struct vmm_config n;
	struct mvm_error e = { 0 };
	cJSON *doc;
	char *a, *b;

	if ((doc = vmm_config_to_json(c)) == NULL ||
	    vmm_config_init(&n) != 0 ||
	    vmm_config_load_json(&n, doc, &e) != 0)
		abort();
	/* A snapshot carries neither logger nor metrics. */
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "logger");
	cJSON_DeleteItemFromObjectCaseSensitive(doc, "metrics");
	a = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if ((doc = vmm_config_to_json(&n)) == NULL)
		abort();
	b = cJSON_PrintUnformatted(doc);
	if (a == NULL || b == NULL || strcmp(a, b) != 0)
		abort();
	cJSON_free(a);
	cJSON_free(b);
	cJSON_Delete(doc);
	vmm_config_free(&n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config c;
	char *text, *line, *next, *body, *sp;
	size_t left, body_len;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (vmm_config_init(&c) != 0)
		abort();
	for (line = text, left = size; left > 0; ) {
		/* The request line, then the body line. */
		next = memchr(line, '\n', left);
		body = next != NULL ? next + 1 : line + left;
		if (next != NULL)
			*next = '\0';
		left -= (size_t)(body - line);
		next = memchr(body, '\n', left);
		body_len = next != NULL ? (size_t)(next - body) : left;
		left -= body_len + (next != NULL);
		if ((sp = strchr(line, ' ')) != NULL) {
			*sp = '\0';
			request(&c, line, sp + 1, body, body_len);
		}
		line = body + body_len + (next != NULL);
	}
	round_trip(&c);
	vmm_config_free(&c);
	free(text);
	return 0;
}
