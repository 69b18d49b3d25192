/* vmconfig.c: Firecracker's request bodies, checked field by field. */
#include "vmconfig.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define BODY_ERR "An error occurred when deserializing the json body of a request: "

enum ftype {
	F_STR,
	F_BOOL,
	F_INT,
	F_OBJ,		/* nested object checked against `sub` */
	F_OBJARR,	/* array of objects checked against `sub` */
	F_STRARR,	/* array of strings */
	F_STRMAP,	/* object whose values are strings */
};

struct field {
	const char		*name;
	enum ftype		 type;
	bool			 required;
	const char *const	*enums;		/* NULL-terminated, or NULL */
	bool			 icase;		/* enum compared ignoring case */
	double			 min, max;	/* F_INT range */
	const struct schema	*sub;
};

struct schema {
	const char		*name;
	const struct field	*fields;	/* ends with a NULL name */
};

#define END { NULL, 0, false, NULL, false, 0, 0, NULL }
#define I64 9.2e18

static const struct field token_bucket_fields[] = {
	{ "size", F_INT, true, NULL, false, 0, I64, NULL },
	{ "one_time_burst", F_INT, false, NULL, false, 0, I64, NULL },
	{ "refill_time", F_INT, true, NULL, false, 0, I64, NULL },
	END
};
static const struct schema token_bucket = { "TokenBucket", token_bucket_fields };

static const struct field rate_limiter_fields[] = {
	{ "bandwidth", F_OBJ, false, NULL, false, 0, 0, &token_bucket },
	{ "ops", F_OBJ, false, NULL, false, 0, 0, &token_bucket },
	END
};
static const struct schema rate_limiter = { "RateLimiter", rate_limiter_fields };

static const char *const cpu_templates[] = {
	"C3", "T2", "T2S", "T2CL", "T2A", "V1N1", "None", NULL
};
static const char *const huge_pages[] = { "None", "Transparent", "2M", NULL };
static const struct field machine_fields[] = {
	{ "cpu_template", F_STR, false, cpu_templates, false, 0, 0, NULL },
	{ "smt", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "mem_size_mib", F_INT, true, NULL, false, 1, 1 << 30, NULL },
	{ "track_dirty_pages", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "vcpu_count", F_INT, true, NULL, false, 1, 32, NULL },
	{ "huge_pages", F_STR, false, huge_pages, false, 0, 0, NULL },
	END
};
static const struct schema machine = { "MachineConfiguration", machine_fields };

static const struct field boot_fields[] = {
	{ "boot_args", F_STR, false, NULL, false, 0, 0, NULL },
	{ "initrd_path", F_STR, false, NULL, false, 0, 0, NULL },
	{ "kernel_image_path", F_STR, true, NULL, false, 0, 0, NULL },
	END
};
static const struct schema boot = { "BootSource", boot_fields };

static const char *const cache_types[] = { "Unsafe", "Writeback", NULL };
static const char *const io_engines[] = { "Sync", "Async", NULL };
static const struct field drive_fields[] = {
	{ "drive_id", F_STR, true, NULL, false, 0, 0, NULL },
	{ "partuuid", F_STR, false, NULL, false, 0, 0, NULL },
	{ "is_root_device", F_BOOL, true, NULL, false, 0, 0, NULL },
	{ "cache_type", F_STR, false, cache_types, false, 0, 0, NULL },
	{ "is_read_only", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "path_on_host", F_STR, false, NULL, false, 0, 0, NULL },
	{ "rate_limiter", F_OBJ, false, NULL, false, 0, 0, &rate_limiter },
	{ "io_engine", F_STR, false, io_engines, false, 0, 0, NULL },
	{ "socket", F_STR, false, NULL, false, 0, 0, NULL },
	END
};
static const struct schema drive = { "Drive", drive_fields };

static const struct field net_fields[] = {
	{ "guest_mac", F_STR, false, NULL, false, 0, 0, NULL },
	{ "host_dev_name", F_STR, true, NULL, false, 0, 0, NULL },
	{ "iface_id", F_STR, true, NULL, false, 0, 0, NULL },
	{ "mtu", F_INT, false, NULL, false, 68, 65535, NULL },
	{ "rx_rate_limiter", F_OBJ, false, NULL, false, 0, 0, &rate_limiter },
	{ "tx_rate_limiter", F_OBJ, false, NULL, false, 0, 0, &rate_limiter },
	END
};
static const struct schema net = { "NetworkInterface", net_fields };

static const struct field vsock_fields[] = {
	{ "guest_cid", F_INT, true, NULL, false, 3, 4294967295.0, NULL },
	{ "uds_path", F_STR, true, NULL, false, 0, 0, NULL },
	{ "vsock_id", F_STR, false, NULL, false, 0, 0, NULL },
	END
};
static const struct schema vsock = { "Vsock", vsock_fields };

static const char *const levels[] = {
	"Error", "Warning", "Info", "Debug", "Trace", "Off", NULL
};
static const struct field logger_fields[] = {
	{ "level", F_STR, false, levels, true, 0, 0, NULL },
	{ "log_path", F_STR, false, NULL, false, 0, 0, NULL },
	{ "show_level", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "show_log_origin", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "module", F_STR, false, NULL, false, 0, 0, NULL },
	END
};
static const struct schema logger = { "Logger", logger_fields };

static const struct field metrics_fields[] = {
	{ "metrics_path", F_STR, true, NULL, false, 0, 0, NULL },
	{ "emit_id", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "properties", F_STRMAP, false, NULL, false, 0, 0, NULL },
	END
};
static const struct schema metrics = { "Metrics", metrics_fields };

static const char *const mmds_versions[] = { "V1", "V2", NULL };
static const struct field mmds_config_fields[] = {
	{ "version", F_STR, false, mmds_versions, false, 0, 0, NULL },
	{ "network_interfaces", F_STRARR, true, NULL, false, 0, 0, NULL },
	{ "ipv4_address", F_STR, false, NULL, false, 0, 0, NULL },
	{ "imds_compat", F_BOOL, false, NULL, false, 0, 0, NULL },
	END
};
static const struct schema mmds_config = { "MmdsConfig", mmds_config_fields };

static const char *const action_types[] = {
	"FlushMetrics", "InstanceStart", "SendCtrlAltDel", NULL
};
static const struct field action_fields[] = {
	{ "action_type", F_STR, true, action_types, false, 0, 0, NULL },
	END
};
static const struct schema action = { "InstanceActionInfo", action_fields };

static const char *const vm_states[] = { "Paused", "Resumed", NULL };
static const struct field vm_fields[] = {
	{ "state", F_STR, true, vm_states, false, 0, 0, NULL },
	END
};
static const struct schema vm = { "Vm", vm_fields };

static const char *const snapshot_types[] = { "Full", "Diff", NULL };
static const struct field snap_create_fields[] = {
	{ "mem_file_path", F_STR, true, NULL, false, 0, 0, NULL },
	{ "snapshot_path", F_STR, true, NULL, false, 0, 0, NULL },
	{ "snapshot_type", F_STR, false, snapshot_types, false, 0, 0, NULL },
	END
};
static const struct schema snap_create = {
	"SnapshotCreateParams", snap_create_fields
};

static const char *const backend_types[] = { "File", "Uffd", NULL };
static const struct field mem_backend_fields[] = {
	{ "backend_type", F_STR, true, backend_types, false, 0, 0, NULL },
	{ "backend_path", F_STR, true, NULL, false, 0, 0, NULL },
	END
};
static const struct schema mem_backend = { "MemoryBackend", mem_backend_fields };

static const struct field net_override_fields[] = {
	{ "iface_id", F_STR, true, NULL, false, 0, 0, NULL },
	{ "host_dev_name", F_STR, true, NULL, false, 0, 0, NULL },
	END
};
static const struct schema net_override = {
	"NetworkOverride", net_override_fields
};

static const struct field vsock_override_fields[] = {
	{ "uds_path", F_STR, true, NULL, false, 0, 0, NULL },
	END
};
static const struct schema vsock_override = {
	"VsockOverride", vsock_override_fields
};

static const char *const load_huge_pages[] = {
	"Snapshot", "None", "Transparent", "2M", NULL
};
static const struct field snap_load_fields[] = {
	{ "enable_diff_snapshots", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "track_dirty_pages", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "mem_file_path", F_STR, false, NULL, false, 0, 0, NULL },
	{ "mem_backend", F_OBJ, false, NULL, false, 0, 0, &mem_backend },
	{ "snapshot_path", F_STR, true, NULL, false, 0, 0, NULL },
	{ "resume_vm", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "network_overrides", F_OBJARR, false, NULL, false, 0, 0, &net_override },
	{ "vsock_override", F_OBJ, false, NULL, false, 0, 0, &vsock_override },
	{ "clock_realtime", F_BOOL, false, NULL, false, 0, 0, NULL },
	{ "huge_pages", F_STR, false, load_huge_pages, false, 0, 0, NULL },
	END
};
static const struct schema snap_load = { "SnapshotLoadParams", snap_load_fields };

static const char *
type_name(enum ftype t)
{
	switch (t) {
	case F_STR:	return "a string";
	case F_BOOL:	return "a boolean";
	case F_INT:	return "an integer";
	case F_OBJ:	return "an object";
	case F_STRMAP:	return "an object of strings";
	case F_OBJARR:
	case F_STRARR:	return "an array";
	}
	return "?";
}

static int check(const struct schema *s, const cJSON *o, bool partial,
    struct mvm_error *e);

static int
check_value(const struct schema *s, const struct field *f, const cJSON *v,
    struct mvm_error *e)
{
	const cJSON *it;
	bool ok = false;
	int rc;

	switch (f->type) {
	case F_STR:
		ok = cJSON_IsString(v);
		break;
	case F_BOOL:
		ok = cJSON_IsBool(v);
		break;
	case F_INT:
		ok = cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble);
		break;
	case F_OBJ:
	case F_STRMAP:
		ok = cJSON_IsObject(v);
		break;
	case F_OBJARR:
	case F_STRARR:
		ok = cJSON_IsArray(v);
		break;
	}
	if (!ok)
		return mvm_error_set(e, EINVAL, BODY_ERR
		    "field `%s` of %s must be %s.", f->name, s->name,
		    type_name(f->type));

	if (f->type == F_INT && (v->valuedouble < f->min ||
	    v->valuedouble > f->max))
		return mvm_error_set(e, EINVAL, BODY_ERR
		    "field `%s` of %s is %.0f, outside %.0f..%.0f.", f->name,
		    s->name, v->valuedouble, f->min, f->max);
	if (f->enums != NULL) {
		ok = false;
		for (const char *const *p = f->enums; *p != NULL && !ok; p++)
			ok = f->icase ? strcasecmp(*p, v->valuestring) == 0 :
			    strcmp(*p, v->valuestring) == 0;
		if (!ok)
			return mvm_error_set(e, EINVAL, BODY_ERR
			    "unknown variant `%s` for field `%s` of %s.",
			    v->valuestring, f->name, s->name);
	}
	if (f->type == F_OBJ)
		return check(f->sub, v, false, e);
	cJSON_ArrayForEach(it, v) {
		if (f->type == F_OBJARR && (rc = check(f->sub, it, false, e)) < 0)
			return rc;
		if ((f->type == F_STRARR || f->type == F_STRMAP) &&
		    !cJSON_IsString(it))
			return mvm_error_set(e, EINVAL, BODY_ERR
			    "every item of field `%s` of %s must be a string.",
			    f->name, s->name);
	}
	return 0;
}

/*
 * Check object `o` against schema `s`: known fields, types and, unless
 * `partial` (a PATCH body), required fields.
 */
static int
check(const struct schema *s, const cJSON *o, bool partial,
    struct mvm_error *e)
{
	const struct field *f;
	const cJSON *m;
	int rc;

	if (!cJSON_IsObject(o))
		return mvm_error_set(e, EINVAL, BODY_ERR
		    "expected a JSON object for %s.", s->name);
	cJSON_ArrayForEach(m, o) {
		for (f = s->fields; f->name != NULL; f++)
			if (strcmp(f->name, m->string) == 0)
				break;
		if (f->name == NULL)
			return mvm_error_set(e, EINVAL, BODY_ERR
			    "unknown field `%s` in %s.", m->string, s->name);
		if ((rc = check_value(s, f, m, e)) < 0)
			return rc;
	}
	for (f = s->fields; f->name != NULL; f++)
		if (f->required && !partial && !cJSON_HasObjectItem(o, f->name))
			return mvm_error_set(e, EINVAL, BODY_ERR
			    "missing field `%s` in %s.", f->name, s->name);
	return 0;
}

const char *
vmm_json_str(const cJSON *o, const char *name, const char *dflt)
{
	const cJSON *v = o == NULL ? NULL : cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : dflt;
}

bool
vmm_json_bool(const cJSON *o, const char *name, bool dflt)
{
	const cJSON *v = o == NULL ? NULL : cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static int
json_int(const cJSON *o, const char *name, int dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsNumber(v) ? (int)v->valuedouble : dflt;
}

int
vmm_config_vcpus(const struct vmm_config *c)
{
	return json_int(c->machine, "vcpu_count", 1);
}

int
vmm_config_mem_mib(const struct vmm_config *c)
{
	return json_int(c->machine, "mem_size_mib", 128);
}

/* Firecracker's machine-config with every optional field at its default. */
static cJSON *
machine_defaults(void)
{
	return cJSON_Parse("{\"vcpu_count\":1,\"mem_size_mib\":128,"
	    "\"smt\":false,\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
}

int
vmm_config_init(struct vmm_config *c)
{
	memset(c, 0, sizeof(*c));
	c->machine = machine_defaults();
	c->drives = cJSON_CreateArray();
	c->nets = cJSON_CreateArray();
	if (c->machine == NULL || c->drives == NULL || c->nets == NULL) {
		vmm_config_free(c);
		return -ENOMEM;
	}
	return 0;
}

void
vmm_config_free(struct vmm_config *c)
{
	cJSON *parts[] = { c->machine, c->boot, c->drives, c->nets, c->vsock,
	    c->logger, c->metrics, c->mmds_config, c->mmds };

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		cJSON_Delete(parts[i]);
	memset(c, 0, sizeof(*c));
}

bool
vmm_config_touched(const struct vmm_config *c)
{
	return c->touched;
}

static const struct schema *
resource_schema(enum vmm_resource r)
{
	switch (r) {
	case VMM_RES_MACHINE:		return &machine;
	case VMM_RES_BOOT:		return &boot;
	case VMM_RES_DRIVE:		return &drive;
	case VMM_RES_NET:		return &net;
	case VMM_RES_VSOCK:		return &vsock;
	case VMM_RES_LOGGER:		return &logger;
	case VMM_RES_METRICS:		return &metrics;
	case VMM_RES_MMDS_CONFIG:	return &mmds_config;
	case VMM_RES_MMDS:		return NULL;
	}
	return NULL;
}

int
vmm_config_check_body(enum vmm_body b, const cJSON *body, struct mvm_error *e)
{
	static const struct schema *const schemas[] = {
		[VMM_BODY_ACTION] = &action,
		[VMM_BODY_VM] = &vm,
		[VMM_BODY_SNAPSHOT_CREATE] = &snap_create,
		[VMM_BODY_SNAPSHOT_LOAD] = &snap_load,
	};

	return check(schemas[b], body, false, e);
}

/* RFC 7386 JSON merge patch of `patch` into `target`; -ENOMEM on failure. */
static int
merge_patch(cJSON *target, const cJSON *patch)
{
	const cJSON *p;
	cJSON *t, *copy;

	cJSON_ArrayForEach(p, patch) {
		t = cJSON_GetObjectItemCaseSensitive(target, p->string);
		if (cJSON_IsNull(p)) {
			cJSON_DeleteItemFromObjectCaseSensitive(target, p->string);
		} else if (cJSON_IsObject(p) && cJSON_IsObject(t)) {
			if (merge_patch(t, p) < 0)
				return -ENOMEM;
		} else {
			if ((copy = cJSON_Duplicate(p, true)) == NULL)
				return -ENOMEM;
			if (t != NULL)
				cJSON_ReplaceItemViaPointer(target, t, copy);
			else
				cJSON_AddItemToObject(target, p->string, copy);
		}
	}
	return 0;
}

static bool
valid_mac(const char *s)
{
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[17] == '\0';
}

/* Index of the array element whose `key` member equals `val`, or -1. */
static int
find_by(const cJSON *arr, const char *key, const char *val)
{
	int i = 0;
	const cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		if (strcmp(vmm_json_str(it, key, ""), val) == 0)
			return i;
		i++;
	}
	return -1;
}

/* Rules across fields of the machine configuration. */
static int
check_machine(const cJSON *m, struct mvm_error *e)
{
	int vcpus = json_int(m, "vcpu_count", 1);
	const char *hp = vmm_json_str(m, "huge_pages", "None");
	const char *tmpl = vmm_json_str(m, "cpu_template", "None");

	if (vmm_json_bool(m, "smt", false) && vcpus > 1 && vcpus % 2 != 0)
		return mvm_error_set(e, EINVAL, "The vCPU number is invalid! "
		    "With smt enabled, vcpu_count %d must be 1 or even.", vcpus);
	if (strcmp(hp, "2M") == 0)
		return mvm_error_set(e, EINVAL, "huge_pages \"2M\" is not "
		    "supported by mvm-qemu; use \"None\" or \"Transparent\".");
	if (strcmp(tmpl, "None") != 0)
		return mvm_error_set(e, EINVAL, "cpu_template \"%s\" is not "
		    "supported by mvm-qemu; only \"None\" is.", tmpl);
	return 0;
}

static int
check_drive(const struct vmm_config *c, const char *id, const cJSON *d,
    struct mvm_error *e)
{
	const char *did = vmm_json_str(d, "drive_id", "");
	const cJSON *it;
	int slot;

	if (id != NULL && strcmp(id, did) != 0)
		return mvm_error_set(e, EINVAL, "The id from the path [%s] does "
		    "not match the id from the body [%s]!", id, did);
	if (cJSON_HasObjectItem(d, "socket"))
		return mvm_error_set(e, EINVAL, "Drive %s: vhost-user block "
		    "devices (`socket`) are not supported by mvm-qemu.", did);
	if (vmm_json_str(d, "path_on_host", NULL) == NULL)
		return mvm_error_set(e, EINVAL, "Drive %s: `path_on_host` is "
		    "required for a virtio-block device.", did);
	slot = find_by(c->drives, "drive_id", did);
	if (vmm_json_bool(d, "is_root_device", false)) {
		cJSON_ArrayForEach(it, c->drives)
			if (vmm_json_bool(it, "is_root_device", false) &&
			    strcmp(vmm_json_str(it, "drive_id", ""), did) != 0)
				return mvm_error_set(e, EINVAL, "A root block "
				    "device already exists!");
	}
	if (slot < 0 && cJSON_GetArraySize(c->drives) >= VMM_MAX_DRIVES)
		return mvm_error_set(e, ENOSPC, "Drive %s: at most %d drives "
		    "are supported.", did, VMM_MAX_DRIVES);
	return 0;
}

static int
check_net(const struct vmm_config *c, const char *id, const cJSON *n,
    struct mvm_error *e)
{
	const char *iid = vmm_json_str(n, "iface_id", "");
	const char *tap = vmm_json_str(n, "host_dev_name", "");
	const char *mac = vmm_json_str(n, "guest_mac", NULL);
	const cJSON *it;

	if (id != NULL && strcmp(id, iid) != 0)
		return mvm_error_set(e, EINVAL, "The id from the path [%s] does "
		    "not match the id from the body [%s]!", id, iid);
	if (*tap == '\0' || strlen(tap) > 15)
		return mvm_error_set(e, EINVAL, "Network interface %s: "
		    "host_dev_name \"%s\" must be 1 to 15 bytes.", iid, tap);
	if (mac != NULL && !valid_mac(mac))
		return mvm_error_set(e, EINVAL, "Network interface %s: "
		    "guest_mac \"%s\" is not of the form xx:xx:xx:xx:xx:xx.",
		    iid, mac);
	cJSON_ArrayForEach(it, c->nets) {
		if (strcmp(vmm_json_str(it, "iface_id", ""), iid) == 0)
			continue;
		if (strcmp(vmm_json_str(it, "host_dev_name", ""), tap) == 0)
			return mvm_error_set(e, EINVAL, "Could not create the "
			    "network device: host_dev_name %s is already in "
			    "use.", tap);
		if (mac != NULL && strcasecmp(vmm_json_str(it, "guest_mac",
		    ""), mac) == 0)
			return mvm_error_set(e, EINVAL, "The MAC address %s is "
			    "already in use.", mac);
	}
	if (find_by(c->nets, "iface_id", iid) < 0 &&
	    cJSON_GetArraySize(c->nets) >= VMM_MAX_NETS)
		return mvm_error_set(e, ENOSPC, "Network interface %s: at most "
		    "%d interfaces are supported.", iid, VMM_MAX_NETS);
	return 0;
}

/*
 * Put `item` into `arr` replacing, in its place, the element whose `key`
 * matches, or first when `first`. The element is replaced rather than
 * deleted and inserted again: some cJSON 1.7.15 builds (Debian's, patched
 * for CVE-2023-50471) refuse an insert anywhere but at the head, which
 * dropped a device replaced in the middle and leaked it.
 */
static void
upsert(cJSON *arr, const char *key, cJSON *item, bool first)
{
	int slot = find_by(arr, key, vmm_json_str(item, key, ""));

	if (first) {
		if (slot >= 0)
			cJSON_DeleteItemFromArray(arr, slot);
		cJSON_InsertItemInArray(arr, 0, item);
	} else if (slot >= 0) {
		cJSON_ReplaceItemInArray(arr, slot, item);
	} else {
		cJSON_AddItemToArray(arr, item);
	}
}

static void
replace(cJSON **slot, cJSON *v)
{
	cJSON_Delete(*slot);
	*slot = v;
}

int
vmm_config_apply(struct vmm_config *c, enum vmm_resource r, const char *id,
    const cJSON *body, bool patch, struct mvm_error *e)
{
	const struct schema *s = resource_schema(r);
	cJSON *v = NULL, *dflt;
	int rc;

	if (patch && r != VMM_RES_MACHINE && r != VMM_RES_MMDS)
		return mvm_error_set(e, EOPNOTSUPP, "PATCH of this resource is "
		    "not supported by mvm-qemu.");
	if (r == VMM_RES_MMDS) {
		if (!cJSON_IsObject(body))
			return mvm_error_set(e, EINVAL, BODY_ERR
			    "the MMDS data store must be a JSON object.");
		if (patch && c->mmds == NULL)
			return mvm_error_set(e, EINVAL, "The MMDS data store is "
			    "not initialized; PUT /mmds first.");
		if (patch) {
			if ((v = cJSON_Duplicate(c->mmds, true)) == NULL ||
			    merge_patch(v, body) < 0) {
				rc = -ENOMEM;
				goto fail;
			}
		} else if ((v = cJSON_Duplicate(body, true)) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		replace(&c->mmds, v);
		return 0;
	}

	if ((rc = check(s, body, patch, e)) < 0)
		goto fail;
	if (patch) {
		/* Merge into the current value; the result is checked below. */
		if ((v = cJSON_Duplicate(c->machine, true)) == NULL ||
		    merge_patch(v, body) < 0) {
			rc = -ENOMEM;
			goto fail;
		}
	} else if ((v = cJSON_Duplicate(body, true)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}

	switch (r) {
	case VMM_RES_MACHINE:
		if ((rc = check_machine(v, e)) < 0)
			goto fail;
		/* PUT resets optional fields to their defaults. */
		if ((dflt = machine_defaults()) == NULL) {
			rc = -ENOMEM;
			goto fail;
		}
		rc = merge_patch(dflt, v);
		cJSON_Delete(v);
		v = dflt;
		if (rc < 0)
			goto fail;
		replace(&c->machine, v);
		c->touched = true;
		break;
	case VMM_RES_BOOT:
		replace(&c->boot, v);
		c->touched = true;
		break;
	case VMM_RES_DRIVE:
		if ((rc = check_drive(c, id, v, e)) < 0)
			goto fail;
		upsert(c->drives, "drive_id", v,
		    vmm_json_bool(v, "is_root_device", false));
		c->touched = true;
		break;
	case VMM_RES_NET:
		if ((rc = check_net(c, id, v, e)) < 0)
			goto fail;
		upsert(c->nets, "iface_id", v, false);
		c->touched = true;
		break;
	case VMM_RES_VSOCK:
		replace(&c->vsock, v);
		c->touched = true;
		break;
	case VMM_RES_LOGGER:
		replace(&c->logger, v);
		break;
	case VMM_RES_METRICS:
		replace(&c->metrics, v);
		break;
	case VMM_RES_MMDS_CONFIG: {
		const cJSON *it;

		cJSON_ArrayForEach(it, cJSON_GetObjectItem(v, "network_interfaces"))
			if (find_by(c->nets, "iface_id", it->valuestring) < 0) {
				rc = mvm_error_set(e, EINVAL, "The MMDS could "
				    "not be configured: network interface %s "
				    "does not exist.", it->valuestring);
				goto fail;
			}
		replace(&c->mmds_config, v);
		c->touched = true;
		break;
	}
	case VMM_RES_MMDS:
		break;
	}
	return 0;
fail:
	cJSON_Delete(v);
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "Out of memory while applying the "
		    "configuration.");
	return rc;
}

static int
add_copy(cJSON *doc, const char *name, const cJSON *v)
{
	cJSON *copy;

	if (v == NULL)
		return 0;
	if ((copy = cJSON_Duplicate(v, true)) == NULL)
		return -ENOMEM;
	cJSON_AddItemToObject(doc, name, copy);
	return 0;
}

cJSON *
vmm_config_to_json(const struct vmm_config *c)
{
	cJSON *doc = cJSON_CreateObject();

	if (doc == NULL ||
	    add_copy(doc, "boot-source", c->boot) < 0 ||
	    add_copy(doc, "drives", c->drives) < 0 ||
	    add_copy(doc, "logger", c->logger) < 0 ||
	    add_copy(doc, "machine-config", c->machine) < 0 ||
	    add_copy(doc, "metrics", c->metrics) < 0 ||
	    add_copy(doc, "mmds-config", c->mmds_config) < 0 ||
	    add_copy(doc, "network-interfaces", c->nets) < 0 ||
	    add_copy(doc, "vsock", c->vsock) < 0) {
		cJSON_Delete(doc);
		return NULL;
	}
	return doc;
}

int
vmm_config_load_json(struct vmm_config *c, const cJSON *doc,
    struct mvm_error *e)
{
	struct vmm_config n;
	const cJSON *part, *it;
	int rc;

	if (!cJSON_IsObject(doc))
		return mvm_error_set(e, EINVAL, "The snapshot file is not a "
		    "JSON object.");
	if ((rc = vmm_config_init(&n)) < 0)
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	if ((part = cJSON_GetObjectItem(doc, "machine-config")) != NULL &&
	    (rc = vmm_config_apply(&n, VMM_RES_MACHINE, NULL, part, false, e)) < 0)
		goto fail;
	if ((part = cJSON_GetObjectItem(doc, "boot-source")) != NULL &&
	    (rc = vmm_config_apply(&n, VMM_RES_BOOT, NULL, part, false, e)) < 0)
		goto fail;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "drives"))
		if ((rc = vmm_config_apply(&n, VMM_RES_DRIVE, NULL, it, false,
		    e)) < 0)
			goto fail;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(doc, "network-interfaces"))
		if ((rc = vmm_config_apply(&n, VMM_RES_NET, NULL, it, false,
		    e)) < 0)
			goto fail;
	if ((part = cJSON_GetObjectItem(doc, "vsock")) != NULL &&
	    (rc = vmm_config_apply(&n, VMM_RES_VSOCK, NULL, part, false, e)) < 0)
		goto fail;
	if ((part = cJSON_GetObjectItem(doc, "mmds-config")) != NULL &&
	    (rc = vmm_config_apply(&n, VMM_RES_MMDS_CONFIG, NULL, part, false,
	    e)) < 0)
		goto fail;

	/* Keep what a snapshot does not carry: logger, metrics, MMDS data. */
	n.logger = c->logger;
	n.metrics = c->metrics;
	n.mmds = c->mmds;
	c->logger = c->metrics = c->mmds = NULL;
	vmm_config_free(c);
	*c = n;
	return 0;
fail:
	vmm_config_free(&n);
	return rc;
}
