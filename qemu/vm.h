/*
 * vm.h: one microVM's lifecycle with Firecracker's semantics, carried out
 * on QEMU: start, pause, resume, Ctrl-Alt-Del, metrics, snapshot create and
 * load. The HTTP layer (api.c) parses requests and calls these; every
 * function answers with 0 or a negative errno and, on error, a sentence in
 * `e` fit for a fault_message.
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "launch.h"
#include "loop.h"
#include "vmconfig.h"

enum vmm_state {
	VMM_NOT_STARTED,
	VMM_RUNNING,
	VMM_PAUSED,
};

struct vmm_vsock;

struct vmm_vm {
	char			 id[65];
	struct vmm_config	 cfg;
	enum vmm_state		 state;
	bool			 started;	/* InstanceStart or load tried */
	enum mvm_accel		 accel;
	char			 rundir[256];	/* private: QMP, channels */
	struct vmm_qemu		 qemu;
	struct vmm_watch	 qemu_watch;	/* QEMU's pidfd */
	struct vmm_vsock	*vsock;
	int			 metrics_fd;	/* -1 until PUT /metrics */
	bool			 exit_after_reply; /* a load failed */
	bool			 exited;	/* QEMU has exited */
	int			 exit_status;
	uint64_t		 lat_us[4];	/* see enum vmm_latency */
};

enum vmm_latency {
	VMM_LAT_PAUSE,
	VMM_LAT_RESUME,
	VMM_LAT_SNAPSHOT_CREATE,
	VMM_LAT_SNAPSHOT_LOAD,
};

/*
 * Prepare `vm` with default configuration and a private run directory
 * (mkdtemp under $TMPDIR or /tmp). Returns 0 or a negative errno with `e`.
 */
int vmm_vm_init(struct vmm_vm *vm, const char *id, enum mvm_accel accel,
    struct mvm_error *e);

/* Kill QEMU if it runs, close the vsock proxy, remove the run directory. */
void vmm_vm_fini(struct vmm_vm *vm);

/* "Not started", "Running" or "Paused", as GET / reports it. */
const char *vmm_vm_state_name(const struct vmm_vm *vm);

/* InstanceStart: -EINVAL when already started or without a boot source. */
int vmm_vm_start(struct vmm_vm *vm, struct mvm_error *e);

/* PATCH /vm. Idempotent. -EINVAL before start. */
int vmm_vm_pause(struct vmm_vm *vm, struct mvm_error *e);
int vmm_vm_resume(struct vmm_vm *vm, struct mvm_error *e);

/* SendCtrlAltDel: presses Ctrl-Alt-Del on the i8042 keyboard. */
int vmm_vm_ctrl_alt_del(struct vmm_vm *vm, struct mvm_error *e);

/* PUT /metrics: open (append) the metrics file. -EINVAL the second time. */
int vmm_vm_metrics_open(struct vmm_vm *vm, const char *path,
    struct mvm_error *e);

/* FlushMetrics: append one JSON line. -EINVAL when metrics are not set. */
int vmm_vm_flush_metrics(struct vmm_vm *vm, struct mvm_error *e);

/*
 * PUT /snapshot/create with a checked SnapshotCreateParams body. Needs a
 * paused VM; Diff is -EOPNOTSUPP. Writes the configuration JSON and QEMU's
 * migration stream to temporary names, then renames both into place.
 */
int vmm_vm_snapshot_create(struct vmm_vm *vm, const cJSON *body,
    struct mvm_error *e);

/*
 * PUT /snapshot/load with a checked SnapshotLoadParams body, only in a
 * fresh process. On failure after QEMU was started the process must end
 * (Firecracker's rule): vm->exit_after_reply is set.
 */
int vmm_vm_snapshot_load(struct vmm_vm *vm, const cJSON *body,
    struct mvm_error *e);

#endif
