/* vm.c: the lifecycle of one microVM on QEMU. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vsock.h"

#define SNAPSHOT_FORMAT		"mvm-qemu-snapshot-1"
#define SNAPSHOT_MAX_BYTES	(1 << 20)
#define MIGRATE_FD_NAME		"mvm-snapshot"
#define MIGRATE_TIMEOUT_MS	(10 * 60 * 1000)

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
qemu_exited(struct vmm_watch *w, uint32_t events)
{
	struct vmm_vm *vm = (struct vmm_vm *)((char *)w -
	    offsetof(struct vmm_vm, qemu_watch));

	(void)events;
	vmm_loop_del(w);
	vm->exit_status = vmm_launch_reap(&vm->qemu);
	vm->exited = true;
	vmm_log(VMM_LOG_INFO, "QEMU exited with status %d", vm->exit_status);
}

int
vmm_vm_init(struct vmm_vm *vm, const char *id, enum mvm_accel accel,
    struct mvm_error *e)
{
	const char *tmp = getenv("TMPDIR");
	int rc;

	memset(vm, 0, sizeof(*vm));
	vm->qemu.pidfd = vm->qemu.qmp.fd = vm->metrics_fd = -1;
	vm->qemu_watch.fd = -1;
	vm->qemu_watch.fn = qemu_exited;
	vm->accel = accel;
	snprintf(vm->id, sizeof(vm->id), "%s", id);
	if ((rc = vmm_config_init(&vm->cfg)) < 0)
		return mvm_error_set(e, -rc, "Out of memory.");
	snprintf(vm->rundir, sizeof(vm->rundir), "%s/mvm-qemu.XXXXXX",
	    tmp != NULL && *tmp != '\0' && strlen(tmp) < 64 ? tmp : "/tmp");
	if (mkdtemp(vm->rundir) == NULL) {
		rc = mvm_error_set(e, errno, "Cannot create a run directory "
		    "%s: %s.", vm->rundir, strerror(errno));
		vm->rundir[0] = '\0';
		vmm_config_free(&vm->cfg);
		return rc;
	}
	return 0;
}

static void
remove_rundir(struct vmm_vm *vm)
{
	char path[512];

	if (vm->rundir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/qmp.sock", vm->rundir);
	unlink(path);
	for (int i = 0; i < VMM_VSOCK_NPORTS; i++) {
		snprintf(path, sizeof(path), "%s/vsock-%u.sock", vm->rundir,
		    vmm_vsock_ports[i]);
		unlink(path);
	}
	rmdir(vm->rundir);
}

/* Stop QEMU and the vsock proxy; the VM can start again afterwards. */
static void
teardown(struct vmm_vm *vm)
{
	vmm_vsock_close(vm->vsock);
	vm->vsock = NULL;
	if (vm->qemu.pid > 0) {
		vmm_loop_del(&vm->qemu_watch);
		vmm_launch_stop(&vm->qemu);
	}
	vm->qemu_watch.fd = -1;
}

void
vmm_vm_fini(struct vmm_vm *vm)
{
	teardown(vm);
	remove_rundir(vm);
	if (vm->metrics_fd >= 0)
		close(vm->metrics_fd);
	vmm_config_free(&vm->cfg);
}

const char *
vmm_vm_state_name(const struct vmm_vm *vm)
{
	switch (vm->state) {
	case VMM_RUNNING:	return "Running";
	case VMM_PAUSED:	return "Paused";
	case VMM_NOT_STARTED:	break;
	}
	return "Not started";
}

/* Launch QEMU for vm->cfg and start the vsock proxy. */
static int
bring_up(struct vmm_vm *vm, bool incoming, struct mvm_error *e)
{
	int rc;

	if ((rc = vmm_launch_start(&vm->qemu, &vm->cfg, vm->accel, vm->rundir,
	    incoming, e)) < 0)
		return rc;
	vm->qemu_watch.fd = vm->qemu.pidfd;
	if ((rc = vmm_loop_add(&vm->qemu_watch, EPOLLIN)) < 0) {
		rc = mvm_error_set(e, -rc, "epoll: %s.", strerror(-rc));
		goto fail;
	}
	if (vm->cfg.vsock != NULL && (rc = vmm_vsock_open(&vm->vsock,
	    vmm_json_str(vm->cfg.vsock, "uds_path", ""), vm->rundir, e)) < 0)
		goto fail;
	return 0;
fail:
	teardown(vm);
	return rc;
}

static int
not_started(const struct vmm_vm *vm, struct mvm_error *e)
{
	if (vm->state == VMM_NOT_STARTED)
		return mvm_error_set(e, EINVAL, "The requested operation is "
		    "not supported before starting the microVM.");
	return 0;
}

int
vmm_vm_start(struct vmm_vm *vm, struct mvm_error *e)
{
	int rc;

	if (vm->started)
		return mvm_error_set(e, EINVAL, "The requested operation is "
		    "not supported after starting the microVM.");
	if (vm->cfg.boot == NULL)
		return mvm_error_set(e, EINVAL, "Cannot start microvm without "
		    "kernel configuration.");
	vm->started = true;
	if ((rc = bring_up(vm, false, e)) < 0)
		goto fail;
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "cont", NULL, -1, NULL, e)) < 0) {
		teardown(vm);
		goto fail;
	}
	vm->state = VMM_RUNNING;
	vmm_log(VMM_LOG_INFO, "microVM started");
	return 0;
fail:
	/* Like Firecracker, a failed start may be retried after a fix. */
	vm->started = false;
	return rc;
}

int
vmm_vm_pause(struct vmm_vm *vm, struct mvm_error *e)
{
	uint64_t t0 = now_us();
	int rc;

	if ((rc = not_started(vm, e)) < 0)
		return rc;
	if (vm->state == VMM_PAUSED)
		return 0;
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "stop", NULL, -1, NULL, e)) < 0)
		return rc;
	vm->state = VMM_PAUSED;
	vm->lat_us[VMM_LAT_PAUSE] = now_us() - t0;
	vmm_log(VMM_LOG_INFO, "microVM paused");
	return 0;
}

int
vmm_vm_resume(struct vmm_vm *vm, struct mvm_error *e)
{
	uint64_t t0 = now_us();
	int rc;

	if ((rc = not_started(vm, e)) < 0)
		return rc;
	if (vm->state == VMM_RUNNING)
		return 0;
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "cont", NULL, -1, NULL, e)) < 0)
		return rc;
	vm->state = VMM_RUNNING;
	vm->lat_us[VMM_LAT_RESUME] = now_us() - t0;
	vmm_log(VMM_LOG_INFO, "microVM resumed");
	return 0;
}

int
vmm_vm_ctrl_alt_del(struct vmm_vm *vm, struct mvm_error *e)
{
	cJSON *args;
	int rc;

	if ((rc = not_started(vm, e)) < 0)
		return rc;
	args = cJSON_Parse("{\"keys\":[{\"type\":\"qcode\",\"data\":\"ctrl\"},"
	    "{\"type\":\"qcode\",\"data\":\"alt\"},"
	    "{\"type\":\"qcode\",\"data\":\"delete\"}]}");
	if (args == NULL)
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "send-key", args, -1, NULL, e)) < 0)
		return rc;
	vmm_log(VMM_LOG_INFO, "sent Ctrl-Alt-Del to the guest");
	return 0;
}

int
vmm_vm_metrics_open(struct vmm_vm *vm, const char *path, struct mvm_error *e)
{
	if (vm->metrics_fd >= 0)
		return mvm_error_set(e, EINVAL, "Reinitialization of metrics "
		    "not allowed.");
	vm->metrics_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600);
	if (vm->metrics_fd < 0)
		return mvm_error_set(e, errno, "Cannot open the metrics file "
		    "\"%s\": %s.", path, strerror(errno));
	return 0;
}

int
vmm_vm_flush_metrics(struct vmm_vm *vm, struct mvm_error *e)
{
	static const char *const lat_names[] = {
		"pause_vm", "resume_vm", "full_create_snapshot", "load_snapshot"
	};
	const cJSON *props;
	cJSON *doc, *lat;
	struct timespec ts;
	char *text = NULL;
	size_t len;
	int rc = 0;

	if (vm->metrics_fd < 0)
		return mvm_error_set(e, EINVAL, "The metrics system is not "
		    "initialized; PUT /metrics first.");
	clock_gettime(CLOCK_REALTIME, &ts);
	if ((doc = cJSON_CreateObject()) == NULL ||
	    (lat = cJSON_AddObjectToObject(doc, "latencies_us")) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	cJSON_AddNumberToObject(doc, "utc_timestamp_ms",
	    (double)ts.tv_sec * 1000 + (double)(ts.tv_nsec / 1000000));
	if (vmm_json_bool(vm->cfg.metrics, "emit_id", false))
		cJSON_AddStringToObject(doc, "id", vm->id);
	props = cJSON_GetObjectItem(vm->cfg.metrics, "properties");
	if (props != NULL)
		cJSON_AddItemToObject(doc, "properties",
		    cJSON_Duplicate(props, true));
	cJSON_AddStringToObject(doc, "state", vmm_vm_state_name(vm));
	for (int i = 0; i < 4; i++)
		cJSON_AddNumberToObject(lat, lat_names[i], (double)vm->lat_us[i]);
	if ((text = cJSON_PrintUnformatted(doc)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	len = strlen(text);
	text[len++] = '\n';	/* replaces the terminating NUL */
	if (write(vm->metrics_fd, text, len) != (ssize_t)len)
		rc = mvm_error_set(e, EIO, "Cannot write the metrics file: %s.",
		    strerror(errno));
out:
	free(text);
	cJSON_Delete(doc);
	return rc;
}

/* Poll query-migrate until the migration ends. Returns 0 or -EIO. */
static int
wait_migration(struct vmm_vm *vm, struct mvm_error *e)
{
	struct timespec pause = { 0, 2 * 1000 * 1000 };
	const char *status;
	cJSON *ret = NULL;
	int rc, waited = 0;

	for (;;) {
		if ((rc = vmm_qmp_call(&vm->qemu.qmp, "query-migrate", NULL, -1,
		    &ret, e)) < 0)
			return rc;
		status = vmm_json_str(ret, "status", "none");
		if (strcmp(status, "completed") == 0) {
			cJSON_Delete(ret);
			return 0;
		}
		if (strcmp(status, "failed") == 0 ||
		    strcmp(status, "cancelled") == 0 ||
		    waited > MIGRATE_TIMEOUT_MS) {
			rc = mvm_error_set(e, EIO, "QEMU's migration stream "
			    "%s: %s.", strcmp(status, "failed") == 0 ?
			    "failed" : "did not complete",
			    vmm_json_str(ret, "error-desc", status));
			cJSON_Delete(ret);
			return rc;
		}
		cJSON_Delete(ret);
		ret = NULL;
		nanosleep(&pause, NULL);
		waited += 2;
	}
}

/* Write `text` to `path` through a temporary name, fsynced. */
static int
write_file_atomic(const char *path, const char *text, struct mvm_error *e)
{
	char tmp[4200];
	size_t len = strlen(text);
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		return mvm_error_set(e, errno, "Cannot create \"%s\": %s.", tmp,
		    strerror(errno));
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0)
		rc = mvm_error_set(e, EIO, "Cannot write \"%s\": %s.", tmp,
		    strerror(errno));
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = mvm_error_set(e, errno, "Cannot rename \"%s\": %s.", tmp,
		    strerror(errno));
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int
vmm_vm_snapshot_create(struct vmm_vm *vm, const cJSON *body,
    struct mvm_error *e)
{
	const char *mem = vmm_json_str(body, "mem_file_path", "");
	const char *snap = vmm_json_str(body, "snapshot_path", "");
	char memtmp[4200], *text = NULL;
	cJSON *doc = NULL, *config = NULL, *args;
	uint64_t t0 = now_us();
	int fd = -1, rc;

	if (strcmp(vmm_json_str(body, "snapshot_type", "Full"), "Diff") == 0)
		return mvm_error_set(e, EOPNOTSUPP, "Diff snapshots are not "
		    "supported by mvm-qemu; use snapshot_type \"Full\".");
	if ((rc = not_started(vm, e)) < 0)
		return rc;
	if (vm->state != VMM_PAUSED)
		return mvm_error_set(e, EINVAL, "Cannot create a snapshot: the "
		    "microVM must be paused first (PATCH /vm "
		    "{\"state\":\"Paused\"}).");

	snprintf(memtmp, sizeof(memtmp), "%s.tmp", mem);
	if ((fd = open(memtmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0) {
		rc = mvm_error_set(e, errno, "Cannot create the memory file "
		    "\"%s\": %s.", memtmp, strerror(errno));
		goto out;
	}
	args = cJSON_CreateObject();
	cJSON_AddNumberToObject(args, "max-bandwidth", 1099511627776.0);
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "migrate-set-parameters", args,
	    -1, NULL, e)) < 0)
		goto out;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "fdname", MIGRATE_FD_NAME);
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "getfd", args, fd, NULL, e)) < 0)
		goto out;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "uri", "fd:" MIGRATE_FD_NAME);
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "migrate", args, -1, NULL,
	    e)) < 0 || (rc = wait_migration(vm, e)) < 0)
		goto out;
	if (fsync(fd) < 0) {
		rc = mvm_error_set(e, errno, "Cannot sync \"%s\": %s.", memtmp,
		    strerror(errno));
		goto out;
	}

	if ((doc = cJSON_CreateObject()) == NULL ||
	    (config = vmm_config_to_json(&vm->cfg)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	if (!cJSON_AddItemToObject(doc, "vm", config)) {
		cJSON_Delete(config);
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	if (cJSON_AddStringToObject(doc, "format", SNAPSHOT_FORMAT) == NULL ||
	    (text = cJSON_Print(doc)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	if ((rc = write_file_atomic(snap, text, e)) < 0)
		goto out;
	if (rename(memtmp, mem) < 0) {
		rc = mvm_error_set(e, errno, "Cannot rename \"%s\": %s.",
		    memtmp, strerror(errno));
		unlink(snap);
		goto out;
	}
	vm->lat_us[VMM_LAT_SNAPSHOT_CREATE] = now_us() - t0;
	vmm_log(VMM_LOG_INFO, "snapshot created: %s, %s (%llu us)", snap, mem,
	    (unsigned long long)vm->lat_us[VMM_LAT_SNAPSHOT_CREATE]);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(memtmp);
	free(text);
	cJSON_Delete(doc);
	return rc;
}

/*
 * Read and parse the snapshot file into *out (the caller frees it).
 * Returns 0 or a negative errno with `e`.
 */
static int
read_snapshot(const char *path, cJSON **out, struct mvm_error *e)
{
	char *buf = NULL;
	ssize_t n = 0;
	size_t len = 0;
	int fd, rc = 0;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mvm_error_set(e, errno, "Cannot open the snapshot file "
		    "\"%s\": %s.", path, strerror(errno));
	if ((buf = malloc(SNAPSHOT_MAX_BYTES)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	while (len < SNAPSHOT_MAX_BYTES &&
	    (n = read(fd, buf + len, SNAPSHOT_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == SNAPSHOT_MAX_BYTES) {
		rc = mvm_error_set(e, EINVAL, "The snapshot file \"%s\" cannot "
		    "be read or exceeds %d bytes.", path, SNAPSHOT_MAX_BYTES);
		goto out;
	}
	*out = cJSON_ParseWithLength(buf, len);
	if (*out == NULL || strcmp(vmm_json_str(*out, "format", ""),
	    SNAPSHOT_FORMAT) != 0) {
		rc = mvm_error_set(e, EINVAL, "The snapshot file \"%s\" is not "
		    "an mvm-qemu snapshot (%s).", path, SNAPSHOT_FORMAT);
		cJSON_Delete(*out);
		*out = NULL;
	}
out:
	free(buf);
	close(fd);
	return rc;
}

/* Apply network_overrides and vsock_override to the loaded config. */
static int
apply_overrides(struct vmm_vm *vm, const cJSON *body, struct mvm_error *e)
{
	const cJSON *o, *ifc, *vo;
	const char *id;
	bool found;

	cJSON_ArrayForEach(o, cJSON_GetObjectItem(body, "network_overrides")) {
		id = vmm_json_str(o, "iface_id", "");
		found = false;
		cJSON_ArrayForEach(ifc, vm->cfg.nets) {
			if (strcmp(vmm_json_str(ifc, "iface_id", ""), id) != 0)
				continue;
			cJSON_ReplaceItemInObject((cJSON *)ifc, "host_dev_name",
			    cJSON_CreateString(vmm_json_str(o, "host_dev_name",
			    "")));
			found = true;
		}
		if (!found)
			return mvm_error_set(e, EINVAL, "network_overrides names "
			    "iface_id \"%s\", which the snapshot does not have.",
			    id);
	}
	if ((vo = cJSON_GetObjectItem(body, "vsock_override")) != NULL) {
		if (vm->cfg.vsock == NULL)
			return mvm_error_set(e, EINVAL, "vsock_override given "
			    "but the snapshot has no vsock device.");
		cJSON_ReplaceItemInObject(vm->cfg.vsock, "uds_path",
		    cJSON_CreateString(vmm_json_str(vo, "uds_path", "")));
	}
	return 0;
}

int
vmm_vm_snapshot_load(struct vmm_vm *vm, const cJSON *body,
    struct mvm_error *e)
{
	const cJSON *mb = cJSON_GetObjectItem(body, "mem_backend");
	const char *mem = vmm_json_str(body, "mem_file_path", NULL);
	uint64_t t0 = now_us();
	cJSON *doc = NULL, *args;
	int fd = -1, rc;

	if (vm->started || vmm_config_touched(&vm->cfg))
		return mvm_error_set(e, EINVAL, "Loading a microVM snapshot not "
		    "allowed after configuring boot-specific resources.");
	if ((mb != NULL) == (mem != NULL))
		return mvm_error_set(e, EINVAL, "Exactly one of mem_backend and "
		    "mem_file_path must be given.");
	if (mb != NULL) {
		if (strcmp(vmm_json_str(mb, "backend_type", ""), "File") != 0)
			return mvm_error_set(e, EOPNOTSUPP, "mem_backend type "
			    "\"%s\" is not supported by mvm-qemu; use "
			    "\"File\".", vmm_json_str(mb, "backend_type", ""));
		mem = vmm_json_str(mb, "backend_path", "");
	}
	if (vmm_json_bool(body, "enable_diff_snapshots", false))
		return mvm_error_set(e, EOPNOTSUPP, "Diff snapshots are not "
		    "supported by mvm-qemu.");
	if (strcmp(vmm_json_str(body, "huge_pages", "Snapshot"), "2M") == 0)
		return mvm_error_set(e, EOPNOTSUPP, "huge_pages \"2M\" is not "
		    "supported by mvm-qemu.");
	if ((rc = read_snapshot(vmm_json_str(body, "snapshot_path", ""), &doc,
	    e)) < 0)
		return rc;
	if ((fd = open(mem, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = mvm_error_set(e, errno, "Cannot open the memory file "
		    "\"%s\": %s.", mem, strerror(errno));
		goto out;
	}
	if ((rc = vmm_config_load_json(&vm->cfg, cJSON_GetObjectItem(doc,
	    "vm"), e)) < 0)
		goto out;

	/* From here on a failure ends the process, as in Firecracker. */
	vm->started = true;
	if ((rc = apply_overrides(vm, body, e)) < 0 ||
	    (rc = bring_up(vm, true, e)) < 0)
		goto fail;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "fdname", MIGRATE_FD_NAME);
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "getfd", args, fd, NULL, e)) < 0)
		goto fail;
	args = cJSON_CreateObject();
	cJSON_AddStringToObject(args, "uri", "fd:" MIGRATE_FD_NAME);
	if ((rc = vmm_qmp_call(&vm->qemu.qmp, "migrate-incoming", args, -1,
	    NULL, e)) < 0)
		goto fail;
	if ((rc = wait_migration(vm, e)) < 0) {
		/* QEMU exits by itself when the stream does not load. */
		if (rc == -EPIPE)
			mvm_error_set(e, EIO, "QEMU ended while loading the "
			    "memory file \"%s\": it is not a migration stream "
			    "of this snapshot's configuration.", mem);
		goto fail;
	}
	vm->state = VMM_PAUSED;
	vm->lat_us[VMM_LAT_SNAPSHOT_LOAD] = now_us() - t0;
	vmm_log(VMM_LOG_INFO, "snapshot loaded from %s (%llu us)", mem,
	    (unsigned long long)vm->lat_us[VMM_LAT_SNAPSHOT_LOAD]);
	if (vmm_json_bool(body, "resume_vm", false) &&
	    (rc = vmm_vm_resume(vm, e)) < 0)
		goto fail;
	rc = 0;
	goto out;
fail:
	teardown(vm);
	vm->state = VMM_NOT_STARTED;
	vm->exit_after_reply = true;
out:
	if (fd >= 0)
		close(fd);
	cJSON_Delete(doc);
	return rc;
}
