/*
 * vmconfig.h: the pre-boot configuration of one microVM, as Firecracker's
 * API describes it.
 *
 * Every resource is kept as the validated JSON body that configured it
 * (cJSON objects owned by the struct), so GET /vm/config and the snapshot
 * file are plain serialisations and nothing is translated twice. Bodies are
 * checked against the field tables of firecracker-api-1.17.yaml: unknown
 * fields, wrong types, values outside an enum or range and missing required
 * fields are all refused with a sentence naming the field.
 */
#ifndef VMM_VMCONFIG_H
#define VMM_VMCONFIG_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "error.h"

#define VMM_MAX_DRIVES	16
#define VMM_MAX_NETS	8

/* The resources a PUT or PATCH can configure. */
enum vmm_resource {
	VMM_RES_MACHINE,	/* /machine-config */
	VMM_RES_BOOT,		/* /boot-source */
	VMM_RES_DRIVE,		/* /drives/{id} */
	VMM_RES_NET,		/* /network-interfaces/{id} */
	VMM_RES_VSOCK,		/* /vsock */
	VMM_RES_LOGGER,		/* /logger */
	VMM_RES_METRICS,	/* /metrics */
	VMM_RES_MMDS_CONFIG,	/* /mmds/config */
	VMM_RES_MMDS,		/* /mmds (the data store) */
};

/* Bodies that are commands rather than resources. */
enum vmm_body {
	VMM_BODY_ACTION,		/* InstanceActionInfo */
	VMM_BODY_VM,			/* Vm */
	VMM_BODY_SNAPSHOT_CREATE,	/* SnapshotCreateParams */
	VMM_BODY_SNAPSHOT_LOAD,		/* SnapshotLoadParams */
};

struct vmm_config {
	cJSON	*machine;	/* MachineConfiguration; always present */
	cJSON	*boot;		/* BootSource, or NULL */
	cJSON	*drives;	/* array of Drive; root device first */
	cJSON	*nets;		/* array of NetworkInterface */
	cJSON	*vsock;		/* Vsock, or NULL */
	cJSON	*logger;	/* Logger, or NULL */
	cJSON	*metrics;	/* Metrics, or NULL */
	cJSON	*mmds_config;	/* MmdsConfig, or NULL */
	cJSON	*mmds;		/* MMDS data store, or NULL */
	bool	 touched;	/* a boot-specific resource was configured */
};

/*
 * Fill `c` with Firecracker's defaults (1 vCPU, 128 MiB, no devices).
 * Returns 0 or -ENOMEM; on failure `c` needs no vmm_config_free.
 */
int vmm_config_init(struct vmm_config *c);

/* Release everything `c` owns. Safe on a zeroed struct. */
void vmm_config_free(struct vmm_config *c);

/*
 * Apply one PUT (patch false) or PATCH (patch true) of resource `r`. `id`
 * is the path component of /drives/{id} and /network-interfaces/{id} and
 * must equal the body's drive_id or iface_id; NULL for other resources.
 * PATCH is defined for VMM_RES_MACHINE (merge) and VMM_RES_MMDS (RFC 7386
 * merge); for others it returns -EOPNOTSUPP. The body is copied; the
 * caller keeps ownership of `body`. On error nothing changes and `e`
 * names the field and the rule: -EINVAL bad body, -ENOSPC too many
 * devices, -ENOMEM.
 */
int vmm_config_apply(struct vmm_config *c, enum vmm_resource r,
    const char *id, const cJSON *body, bool patch, struct mvm_error *e);

/*
 * Check a command body against its field table. Returns 0, or -EINVAL with
 * `e` naming the unknown, missing or mistyped field.
 */
int vmm_config_check_body(enum vmm_body b, const cJSON *body,
    struct mvm_error *e);

/*
 * Whether any resource other than the logger, metrics and MMDS data store
 * has been configured (Firecracker refuses snapshot/load then).
 */
bool vmm_config_touched(const struct vmm_config *c);

/*
 * The FullVmConfiguration document of `c` (GET /vm/config). The caller owns
 * the result and frees it with cJSON_Delete; NULL when out of memory.
 */
cJSON *vmm_config_to_json(const struct vmm_config *c);

/*
 * Replace the devices of `c` (machine-config, boot-source, drives,
 * network-interfaces, vsock, mmds-config) with those of a document made by
 * vmm_config_to_json, validating it as if each part had been PUT. Logger
 * and metrics keep their current values. Returns 0, -EINVAL (with `e`) or
 * -ENOMEM; on error `c` is unchanged.
 */
int vmm_config_load_json(struct vmm_config *c, const cJSON *doc,
    struct mvm_error *e);

/* Typed reads of the machine configuration. */
int vmm_config_vcpus(const struct vmm_config *c);
int vmm_config_mem_mib(const struct vmm_config *c);

/*
 * A string member of object `o`, or `dflt` when `o` is NULL or the member
 * is absent. The string belongs to `o`.
 */
const char *vmm_json_str(const cJSON *o, const char *name, const char *dflt);

/* A boolean member of `o`, or `dflt` when absent. */
bool vmm_json_bool(const cJSON *o, const char *name, bool dflt);

#endif
