/*
 * fc.h: the Firecracker API client.
 *
 * This is the engine's only way to talk to a VMM: Firecracker in production,
 * mvm-qemu here. Both answer Firecracker's REST API (HTTP/1.1 and JSON) on a
 * unix socket; every request body built here has exactly the field names of
 * Firecracker's OpenAPI spec (firecracker-api-1.17.yaml) and no others.
 *
 * A handle owns one libcurl easy handle and so one keep-alive connection to
 * its VMM. Calls on a handle are serialised by a mutex inside it, so any
 * number of threads may share a handle and the VMM still sees at most one
 * connection and one request at a time (Firecracker refuses an 11th
 * concurrent connection). Different handles are independent.
 *
 * The first mvm_fc_open() in the process initialises libcurl
 * (curl_global_init, once, under pthread_once). libcurl is never cleaned up
 * again; a program that also uses libcurl elsewhere must call
 * curl_global_init itself before starting threads, or open its first handle
 * before doing so.
 *
 * Every call has a total timeout (connect, send, wait, receive) and a
 * connect timeout of MVM_FC_CONNECT_TIMEOUT_MS or the total, whichever is
 * shorter.
 *
 * Errors shared by every call below (negative errno; e->msg names the call,
 * e.g. "PUT /machine-config: ..."):
 *   -EINVAL       an argument is NULL where a value is required, or an id is
 *                 not 1..64 characters of [A-Za-z0-9_-]
 *   -ENOENT       the API socket does not exist
 *   -ECONNREFUSED nothing listens on the API socket (or -EACCES, other
 *                 connect errnos are passed through)
 *   -ETIMEDOUT    no complete answer within the timeout
 *   -EIO          the VMM answered with an HTTP status other than 2xx
 *                 (e->msg is "<METHOD> <path>: <status>: <fault_message>"),
 *                 or the connection broke during the exchange
 *   -EPROTO       the answer was over MVM_FC_BODY_MAX bytes, or a GET
 *                 answer was not the JSON document the spec describes
 *   -ENOMEM       out of memory
 */
#ifndef MVM_FC_H
#define MVM_FC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Default total timeout of ordinary calls (configuration, actions, GET). */
#define MVM_FC_TIMEOUT_MS		5000L
/* Default total timeout of slow calls: snapshot create and load. */
#define MVM_FC_SLOW_TIMEOUT_MS		120000L
/* Upper bound on the time to establish the connection. */
#define MVM_FC_CONNECT_TIMEOUT_MS	1000L
/* Largest response body accepted; bigger answers fail with -EPROTO. */
#define MVM_FC_BODY_MAX			(1024 * 1024)
/* Longest string kept from GET / (id, app_name, vmm_version). */
#define MVM_FC_INFO_MAX			127

struct mvm_fc;

/* PUT /logger "level". */
enum mvm_fc_log_level {
	MVM_FC_LOG_ERROR,
	MVM_FC_LOG_WARNING,
	MVM_FC_LOG_INFO,
	MVM_FC_LOG_DEBUG,
	MVM_FC_LOG_TRACE,
	MVM_FC_LOG_OFF,
};

/* PUT /actions "action_type". */
enum mvm_fc_action_type {
	MVM_FC_INSTANCE_START,
	MVM_FC_SEND_CTRL_ALT_DEL,
	MVM_FC_FLUSH_METRICS,
};

/* PATCH /vm "state". */
enum mvm_fc_vm_target {
	MVM_FC_VM_PAUSED,
	MVM_FC_VM_RESUMED,
};

/* GET / "state". */
enum mvm_fc_vm_state {
	MVM_FC_STATE_NOT_STARTED,
	MVM_FC_STATE_RUNNING,
	MVM_FC_STATE_PAUSED,
};

/*
 * PUT /machine-config (sent with "smt": false) and the machine-config part
 * of GET /vm/config.
 */
struct mvm_fc_machine {
	uint32_t	vcpu_count;
	uint32_t	mem_size_mib;
	bool		track_dirty_pages;
};

/* PUT /boot-source. NULL optional fields are left out of the body. */
struct mvm_fc_boot {
	const char	*kernel_image_path;	/* required */
	const char	*initrd_path;		/* optional */
	const char	*boot_args;		/* optional */
};

/* PUT /drives/{drive_id}. */
struct mvm_fc_drive {
	const char	*drive_id;		/* required; also the URL id */
	const char	*path_on_host;		/* required */
	bool		 is_root_device;
	bool		 is_read_only;
};

/* PUT /network-interfaces/{iface_id}. */
struct mvm_fc_net {
	const char	*iface_id;		/* required; also the URL id */
	const char	*host_dev_name;		/* required: the tap */
	const char	*guest_mac;		/* optional */
};

/* PUT /snapshot/create and PUT /snapshot/load. */
struct mvm_fc_snapshot {
	const char	*snapshot_path;		/* the VM state file */
	const char	*mem_file_path;		/* the guest memory file */
};

/* GET /. */
struct mvm_fc_info {
	char			id[MVM_FC_INFO_MAX + 1];
	char			app_name[MVM_FC_INFO_MAX + 1];
	char			vmm_version[MVM_FC_INFO_MAX + 1];
	enum mvm_fc_vm_state	state;
};

/*
 * Make a handle for the VMM whose API listens on `api_sock`. Nothing is
 * connected yet: the first call connects. On success *out owns the handle,
 * to be freed with mvm_fc_close(). Returns 0, -EINVAL (NULL or empty path),
 * -ENAMETOOLONG (path does not fit a sockaddr_un) or -ENOMEM.
 */
int mvm_fc_open(const char *api_sock, struct mvm_fc **out,
    struct mvm_error *e);

/* Close the connection and free the handle. NULL is allowed. */
void mvm_fc_close(struct mvm_fc *fc);

/*
 * Set the total timeout of ordinary calls (default MVM_FC_TIMEOUT_MS) or of
 * snapshot create and load (default MVM_FC_SLOW_TIMEOUT_MS). A value <= 0
 * restores the default. Waits for a call in progress to finish.
 */
void mvm_fc_set_timeout_ms(struct mvm_fc *fc, long ms);
void mvm_fc_set_slow_timeout_ms(struct mvm_fc *fc, long ms);

/*
 * Poll GET / until the VMM answers it, for a VMM that was just launched and
 * may not have bound its socket yet. Returns 0 once it answers 200 with an
 * InstanceInfo, -ETIMEDOUT when `timeout_ms` passes while the socket is
 * missing, refusing or silent, or any other error of GET / at once.
 */
int mvm_fc_wait_ready(struct mvm_fc *fc, int timeout_ms, struct mvm_error *e);

/* PUT /logger {"log_path", "level"}. */
int mvm_fc_put_logger(struct mvm_fc *fc, const char *log_path,
    enum mvm_fc_log_level level, struct mvm_error *e);

/* PUT /metrics {"metrics_path"}. */
int mvm_fc_put_metrics(struct mvm_fc *fc, const char *metrics_path,
    struct mvm_error *e);

/* PUT /machine-config {"vcpu_count", "mem_size_mib", "smt": false,
 * "track_dirty_pages"}. The VMM judges the values. */
int mvm_fc_put_machine_config(struct mvm_fc *fc,
    const struct mvm_fc_machine *m, struct mvm_error *e);

/* PUT /boot-source {"kernel_image_path", "initrd_path"?, "boot_args"?}. */
int mvm_fc_put_boot_source(struct mvm_fc *fc, const struct mvm_fc_boot *b,
    struct mvm_error *e);

/* PUT /drives/{id} {"drive_id", "path_on_host", "is_root_device",
 * "is_read_only"}. */
int mvm_fc_put_drive(struct mvm_fc *fc, const struct mvm_fc_drive *d,
    struct mvm_error *e);

/* PUT /network-interfaces/{id} {"iface_id", "host_dev_name",
 * "guest_mac"?}. */
int mvm_fc_put_network_interface(struct mvm_fc *fc,
    const struct mvm_fc_net *n, struct mvm_error *e);

/* PUT /vsock {"guest_cid", "uds_path"}. */
int mvm_fc_put_vsock(struct mvm_fc *fc, uint32_t guest_cid,
    const char *uds_path, struct mvm_error *e);

/* PUT /mmds/config {"network_interfaces": [ifaces...], "version": "V2"}.
 * Each interface id follows the id rule above. */
int mvm_fc_put_mmds_config(struct mvm_fc *fc, const char *const *ifaces,
    size_t n_ifaces, struct mvm_error *e);

/* PUT /mmds with `json`, sent as given. Returns -EINVAL unless `json` is a
 * JSON object. */
int mvm_fc_put_mmds(struct mvm_fc *fc, const char *json, struct mvm_error *e);

/* PUT /actions {"action_type"}. */
int mvm_fc_action(struct mvm_fc *fc, enum mvm_fc_action_type action,
    struct mvm_error *e);

/* PATCH /vm {"state": "Paused" | "Resumed"}. */
int mvm_fc_patch_vm(struct mvm_fc *fc, enum mvm_fc_vm_target target,
    struct mvm_error *e);

/* PUT /snapshot/create {"snapshot_type": "Full", "snapshot_path",
 * "mem_file_path"}. Uses the slow timeout. */
int mvm_fc_snapshot_create(struct mvm_fc *fc, const struct mvm_fc_snapshot *s,
    struct mvm_error *e);

/* PUT /snapshot/load {"snapshot_path", "mem_backend": {"backend_type":
 * "File", "backend_path": mem_file_path}, "resume_vm"}. Uses the slow
 * timeout. */
int mvm_fc_snapshot_load(struct mvm_fc *fc, const struct mvm_fc_snapshot *s,
    bool resume_vm, struct mvm_error *e);

/* GET / into *info. -EPROTO if a required field is missing, not a string,
 * longer than MVM_FC_INFO_MAX, or the state is not one of the spec's. */
int mvm_fc_get_instance_info(struct mvm_fc *fc, struct mvm_fc_info *info,
    struct mvm_error *e);

/* GET /vm/config, keeping the "machine-config" object's vcpu_count,
 * mem_size_mib and track_dirty_pages (false when absent) in *m. -EPROTO if
 * machine-config or one of the two numbers is missing or not a uint32. */
int mvm_fc_get_vm_config(struct mvm_fc *fc, struct mvm_fc_machine *m,
    struct mvm_error *e);

/*
 * The readers of a VMM's answers, which the calls above use and which take
 * any bytes (a VMM is not trusted). `body` holds `len` bytes followed by a
 * NUL. Each returns 0 or a negative errno with `e` set; on failure the
 * output may be partly written.
 */

/*
 * A non-2xx answer `status` to `method` `path`: always returns -EIO, with
 * e->msg "<method> <path>: <status>: <fault_message>" when `body` is
 * Firecracker's {"fault_message": "..."}, or else with the body quoted as
 * it came ("(no body)" when it is empty).
 */
int mvm_fc_parse_fault(const char *method, const char *path, long status,
    const char *body, size_t len, struct mvm_error *e);

/* The answer to GET /, as mvm_fc_get_instance_info() judges it. */
int mvm_fc_parse_info(const char *body, size_t len, struct mvm_fc_info *info,
    struct mvm_error *e);

/* The answer to GET /vm/config, as mvm_fc_get_vm_config() judges it. */
int mvm_fc_parse_vm_config(const char *body, size_t len,
    struct mvm_fc_machine *m, struct mvm_error *e);

#endif
