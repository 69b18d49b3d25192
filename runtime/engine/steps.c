/*
 * steps.c: the side-effecting steps of each move (engine_int.h): boot,
 * pause, resume, drain and snapshot, wake from a snapshot, stop. Each step
 * writes how far it got to the intent before its next side effect; the
 * driver (transition.c) settles the record when a step fails.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"
#include "fc.h"
#include "guest.h"
#include "names.h"
#include "netplan.h"
#include "vmm.h"

/* Whether `path` exists with file type `type` (S_IFREG, S_IFDIR). */
static bool
exists_as(const char *path, mode_t type)
{
	struct stat sb;

	return stat(path, &sb) == 0 && (sb.st_mode & S_IFMT) == type;
}

/* ---- guest agent ---- */

int
mvm_engine_agent_ping(struct job *j, int timeout_ms,
    struct mvm_guest_pong *pong, struct mvm_error *e)
{
	int fd = -1, rc;

	rc = mvm_guest_connect(j->vsock, MVM_GUEST_PORT, timeout_ms, &fd, e);
	if (rc == 0)
		rc = mvm_guest_ping(fd, timeout_ms, pong, e);
	mvm_guest_close(fd);
	return rc;
}

/* Wait until the guest agent answers Ping, up to the boot timeout. */
int
mvm_engine_agent_wait(struct job *j, struct mvm_error *e)
{
	int64_t deadline = mvm_engine_mono_ms() + j->eng->boot_timeout_ms;
	struct mvm_guest_pong pong;
	struct mvm_vmm_proc p = mvm_engine_job_proc(j);
	struct mvm_error last = { 0 };
	int rc;

	do {
		rc = mvm_engine_agent_ping(j, 1000, &pong, &last);
		if (rc == 0)
			return 0;
		if (!mvm_vmm_alive(&p))
			return mvm_error_set(e, EIO,
			    "the VMM exited while the guest booted; see %s/console.log",
			    j->dir);
		if (rc == -ECONNREFUSED)
			usleep(100 * 1000);
	} while (mvm_engine_mono_ms() < deadline);
	return mvm_error_set(e, EIO,
	    "the guest agent did not answer within %d ms (%s); see %s/console.log",
	    j->eng->boot_timeout_ms, last.msg, j->dir);
}

/* Tell the guest its clock and entropy are stale (after any resume). */
void
mvm_engine_agent_wake(struct job *j)
{
	uint8_t seed[32];
	struct timespec ts;
	int64_t guest_ns;
	struct mvm_error e;
	int fd = -1, rc;

	if (getrandom(seed, sizeof(seed), 0) != sizeof(seed))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = mvm_guest_connect(j->vsock, MVM_GUEST_PORT, AGENT_CALL_MS, &fd, &e);
	if (rc == 0)
		rc = mvm_guest_wake(fd, AGENT_CALL_MS,
		    (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, seed,
		    sizeof(seed), &guest_ns, &e);
	mvm_guest_close(fd);
	explicit_bzero(seed, sizeof(seed));
	if (rc < 0)
		mvm_engine_event(j->eng, &j->in, "instance.wake-agent",
		    "the guest agent did not take the new clock: %s", e.msg);
}

/* ---- booting ---- */

/* The image's kernel command line, from manifest.json ("cmdline"). */
static char *
image_cmdline(const char *image_dir)
{
	char path[PATH_MAX_MVM], *text = NULL, *out = NULL;
	cJSON *doc = NULL, *c;
	FILE *f;
	long len;

	mvm_engine_bufprintf(path, sizeof(path), "%s/manifest.json", image_dir);
	f = fopen(path, "re");
	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 &&
	    len < 1 << 20 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = calloc(1, (size_t)len + 1)) != NULL &&
	    fread(text, 1, (size_t)len, f) == (size_t)len)
		doc = cJSON_Parse(text);
	if (f != NULL)
		fclose(f);
	c = cJSON_GetObjectItemCaseSensitive(doc, "cmdline");
	out = strdup(cJSON_IsString(c) ? c->valuestring :
	    "console=ttyS0 reboot=k panic=1");
	cJSON_Delete(doc);
	free(text);
	return out;
}

/*
 * The directory of pool p's image: the engine's image_dir for "", the
 * reference itself when it is an absolute path, otherwise the reference
 * under the directory that holds image_dir (images are siblings:
 * /var/lib/mvm/images/default, /var/lib/mvm/images/web-2). A reference
 * with a ".." component is refused (EINVAL).
 */
static int
image_dir_of(const struct mvm_engine *eng, const struct mvm_pool *p,
    char *buf, size_t len, struct mvm_error *e)
{
	const char *slash = strrchr(eng->image_dir, '/');
	int base = slash != NULL ? (int)(slash - eng->image_dir) : 1;

	if (strcmp(p->image, "..") == 0 || strncmp(p->image, "../", 3) == 0 ||
	    strstr(p->image, "/../") != NULL ||
	    (strlen(p->image) >= 3 &&
	    strcmp(p->image + strlen(p->image) - 3, "/..") == 0))
		return mvm_error_set(e, EINVAL, "image \"%s\" of pool %s "
		    "leaves the image directory", p->image, p->id);
	if ((p->image[0] == '\0' ?
	    mvm_engine_bufprintf(buf, len, "%s", eng->image_dir) :
	    p->image[0] == '/' ?
	    mvm_engine_bufprintf(buf, len, "%s", p->image) :
	    mvm_engine_bufprintf(buf, len, "%.*s/%s", base, slash != NULL ?
	    eng->image_dir : ".", p->image)) < 0)
		return mvm_error_set(e, ENAMETOOLONG, "image path of pool %s "
		    "is too long", p->id);
	return 0;
}

/* Launch a fresh VMM, record it, and wait for its API. */
static int
launch(struct job *j, struct mvm_error *e)
{
	struct mvm_engine *eng = j->eng;
	char log[PATH_MAX_MVM], console[PATH_MAX_MVM];
	struct mvm_vmm_launch l;
	struct mvm_vmm_proc p;
	int rc;

	/* Record where this VMM listens: recovery and wakes look there. */
	if (j->in.run_name[0] == '\0')
		mvm_names_run_name(j->in.tenant, j->in.pool, j->in.id,
		    j->in.run_name);
	if ((rc = mvm_engine_job_paths(j, e)) < 0)
		return rc;
	if ((rc = mvm_engine_mkdirs(j->dir, 0750)) < 0 ||
	    (rc = mvm_engine_mkdirs(j->rundir, 0750)) < 0)
		return mvm_error_set(e, -rc, "cannot create %s or %s: %s",
		    j->dir, j->rundir, strerror(-rc));
	mvm_engine_bufprintf(log, sizeof(log), "%s/vmm.log", j->dir);
	mvm_engine_bufprintf(console, sizeof(console), "%s/console.log",
	    j->dir);
	unlink(j->vsock);
	rc = mvm_engine_job_step(j, STEP_LAUNCHING, e);
	if (rc < 0)
		return rc;
	l = (struct mvm_vmm_launch){ .vmm_path = eng->vmm_path,
	    .api_sock = j->api_sock, .id = j->in.id, .log_path = log,
	    .console_path = console, .tmp_dir = j->rundir };
	rc = mvm_vmm_launch(&l, &p, e);
	if (rc < 0)
		return rc;
	j->in.pid = p.pid;
	j->in.pid_start = p.start_time;
	rc = mvm_engine_job_save(j, e);
	if (rc == 0)
		rc = mvm_engine_job_step(j, STEP_LAUNCHED, e);
	if (rc == 0)
		rc = mvm_engine_job_fc(j, e);
	if (rc == 0)
		rc = mvm_fc_wait_ready(j->fc, eng->api_timeout_ms, e);
	return rc;
}

int
mvm_engine_do_start(struct job *j, struct mvm_error *e)
{
	struct mvm_engine *eng = j->eng;
	char kernel[PATH_MAX_MVM], initrd[PATH_MAX_MVM], rootfs[PATH_MAX_MVM];
	char args[1024], ip[16], gw[16], tap[16], mac[18];
	char dir[PATH_MAX_MVM], *cmdline;
	uint8_t macb[6];
	struct mvm_fc_machine m = { .vcpu_count = j->pool.vcpus,
	    .mem_size_mib = j->pool.mem_mib };
	struct mvm_fc_boot b;
	struct mvm_fc_drive d;
	int rc;

	if ((rc = image_dir_of(eng, &j->pool, dir, sizeof(dir), e)) < 0)
		return rc;
	if (!exists_as(dir, S_IFDIR))
		return mvm_error_set(e, ENOENT, "image \"%s\" of pool %s has "
		    "no directory %s", j->pool.image, j->pool.id, dir);
	if ((cmdline = image_cmdline(dir)) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	mvm_engine_bufprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	mvm_engine_bufprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	mvm_engine_bufprintf(rootfs, sizeof(rootfs), "%s/rootfs.ext4", dir);
	mvm_net_format_ip(mvm_net_addr(j->tenant.net_id, j->in.ip_offset), ip);
	mvm_net_format_ip(mvm_net_gateway(j->tenant.net_id), gw);
	mvm_engine_bufprintf(args, sizeof(args),
	    "%s mvm.ip=%s/24 mvm.gw=%s mvm.id=%s", cmdline, ip, gw, j->in.id);
	free(cmdline);

	/*
	 * A cold boot takes the pool's size now and a run directory named by
	 * the instance's identity; the instance holds both until it stops
	 * (a sleep and a wake keep them: the snapshot has that size and those
	 * sockets).
	 */
	j->in.vcpus = j->pool.vcpus;
	j->in.mem_mib = j->pool.mem_mib;
	j->in.run_name[0] = '\0';
	rc = launch(j, e);
	if (rc < 0)
		return rc;
	b = (struct mvm_fc_boot){ .kernel_image_path = kernel,
	    .initrd_path = exists_as(initrd, S_IFREG) ? initrd : NULL,
	    .boot_args = args };
	d = (struct mvm_fc_drive){ .drive_id = "rootfs", .path_on_host = rootfs,
	    .is_root_device = true, .is_read_only = true };
	if ((rc = mvm_fc_put_machine_config(j->fc, &m, e)) < 0 ||
	    (rc = mvm_fc_put_boot_source(j->fc, &b, e)) < 0 ||
	    (rc = mvm_fc_put_drive(j->fc, &d, e)) < 0 ||
	    (rc = mvm_fc_put_vsock(j->fc, 3, j->vsock, e)) < 0)
		return rc;
	/* The tap is made by mvm-hostd; without one the guest has no network. */
	mvm_net_tap_name(j->tenant.net_id, j->in.ip_offset, tap);
	if (if_nametoindex(tap) != 0) {
		struct mvm_fc_net n = { .iface_id = "eth0",
		    .host_dev_name = tap, .guest_mac = mac };

		mvm_net_mac(j->tenant.net_id, j->in.ip_offset, macb);
		mvm_net_format_mac(macb, mac);
		if ((rc = mvm_fc_put_network_interface(j->fc, &n, e)) < 0)
			return rc;
	}
	if ((rc = mvm_engine_job_step(j, STEP_CONFIGURED, e)) < 0 ||
	    (rc = mvm_fc_action(j->fc, MVM_FC_INSTANCE_START, e)) < 0 ||
	    (rc = mvm_engine_job_step(j, STEP_BOOTED, e)) < 0)
		return rc;
	rc = mvm_engine_agent_wait(j, e);
	if (rc < 0)
		return rc;
	mvm_engine_set_state(&j->in, MVM_STATE_RUNNING);
	return 0;
}

int
mvm_engine_do_pause(struct job *j, struct mvm_error *e)
{
	int rc;

	if ((rc = mvm_engine_job_fc(j, e)) < 0 ||
	    (rc = mvm_engine_job_step(j, STEP_PAUSING, e)) < 0 ||
	    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_PAUSED, e)) < 0)
		return rc;
	mvm_engine_set_state(&j->in, MVM_STATE_WARM);
	return 0;
}

int
mvm_engine_do_resume(struct job *j, struct mvm_error *e)
{
	int rc;

	if ((rc = mvm_engine_job_fc(j, e)) < 0 ||
	    (rc = mvm_engine_job_step(j, STEP_RESUMING, e)) < 0 ||
	    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, e)) < 0)
		return rc;
	mvm_engine_set_state(&j->in, MVM_STATE_RUNNING);
	mvm_engine_agent_wake(j);
	return 0;
}

static int
snapshot_paths(const struct job *j, const char *sub, char *vmstate,
    char *mem, size_t len)
{
	if (mvm_engine_bufprintf(vmstate, len, "%s/%s/vmstate", j->dir,
	    sub) < 0 ||
	    mvm_engine_bufprintf(mem, len, "%s/%s/mem", j->dir, sub) < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* Both snapshot files of the published snapshot exist. */
bool
mvm_engine_snapshot_complete(const struct job *j)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];

	if (snapshot_paths(j, "snapshot", vmstate, mem, sizeof(vmstate)) < 0)
		return false;
	return exists_as(vmstate, S_IFREG) && exists_as(mem, S_IFREG);
}

int
mvm_engine_do_sleep(struct job *j, struct mvm_error *e)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];
	char tmpdir[PATH_MAX_MVM], dir[PATH_MAX_MVM];
	enum mvm_state from = j->in.state;
	struct mvm_guest_drain drain;
	struct mvm_error ae;
	struct mvm_fc_snapshot s;
	int fd = -1, rc;

	mvm_engine_bufprintf(tmpdir, sizeof(tmpdir), "%s/snapshot.new", j->dir);
	mvm_engine_bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	if ((rc = mvm_engine_job_fc(j, e)) < 0)
		return rc;

	/* Drain: only a running guest can answer. */
	if (from == MVM_STATE_RUNNING) {
		uint32_t drain_ms = j->pool.runtime.drain_timeout_seconds * 1000;

		if ((rc = mvm_engine_job_step(j, STEP_DRAINING, e)) < 0)
			return rc;
		rc = mvm_guest_connect(j->vsock, MVM_GUEST_PORT, AGENT_CALL_MS,
		    &fd, &ae);
		if (rc == 0)
			rc = mvm_guest_sleep_prep(fd, (int)drain_ms + AGENT_CALL_MS,
			    drain_ms, &drain, &ae);
		mvm_guest_close(fd);
		if (rc < 0)
			mvm_engine_event(j->eng, &j->in, "instance.drain",
			    "the guest agent did not drain: %s", ae.msg);
		else if (!drain.drained)
			mvm_engine_event(j->eng, &j->in, "instance.drain",
			    "drain incomplete: %s", drain.reason);
		if ((rc = mvm_engine_job_step(j, STEP_PAUSING, e)) < 0 ||
		    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_PAUSED, e)) < 0)
			return rc;
	}

	/* Write the snapshot beside the old one, then swap it in. */
	if ((rc = mvm_engine_rmtree(tmpdir)) < 0 ||
	    (rc = mvm_engine_mkdirs(tmpdir, 0700)) < 0)
		return mvm_error_set(e, -rc, "cannot prepare %s: %s", tmpdir,
		    strerror(-rc));
	snapshot_paths(j, "snapshot.new", vmstate, mem, sizeof(vmstate));
	s = (struct mvm_fc_snapshot){ .snapshot_path = vmstate,
	    .mem_file_path = mem };
	if ((rc = mvm_engine_job_step(j, STEP_SNAPSHOTTING, e)) < 0)
		return rc;
	rc = mvm_fc_snapshot_create(j->fc, &s, e);
	if (rc < 0)
		goto undo;
	if ((rc = mvm_engine_rmtree(dir)) < 0 || rename(tmpdir, dir) < 0) {
		rc = mvm_error_set(e, rc < 0 ? -rc : errno,
		    "cannot publish the snapshot in %s: %s", dir,
		    strerror(rc < 0 ? -rc : errno));
		goto undo;
	}
	if ((rc = mvm_engine_job_step(j, STEP_SNAPSHOT_DONE, e)) < 0)
		return rc;
	mvm_engine_job_kill(j);
	mvm_engine_set_state(&j->in, MVM_STATE_SLEEPING);
	return 0;

undo:
	/* Never publish a frozen VM as running: resume it, report EIO. */
	if (e != NULL)
		memcpy(ae.msg, e->msg, sizeof(ae.msg));
	else
		ae.msg[0] = '\0';
	mvm_engine_rmtree(tmpdir);
	if (from == MVM_STATE_RUNNING &&
	    mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, NULL) == 0)
		mvm_engine_agent_wake(j);
	return mvm_error_set(e, EIO, "snapshot failed, %s left %s: %s",
	    j->in.id, mvm_state_name(from), ae.msg);
}

int
mvm_engine_do_wake(struct job *j, enum mvm_state to, struct mvm_error *e)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];
	struct mvm_fc_snapshot s;
	char dir[PATH_MAX_MVM];
	int rc;

	if (!mvm_engine_snapshot_complete(j))
		return mvm_error_set(e, EIO,
		    "instance %s is sleeping but its snapshot in %s/snapshot is missing",
		    j->in.id, j->dir);
	snapshot_paths(j, "snapshot", vmstate, mem, sizeof(vmstate));
	rc = launch(j, e);
	if (rc < 0)
		return rc;
	s = (struct mvm_fc_snapshot){ .snapshot_path = vmstate,
	    .mem_file_path = mem };
	if ((rc = mvm_engine_job_step(j, STEP_CONFIGURED, e)) < 0 ||
	    (rc = mvm_fc_snapshot_load(j->fc, &s, to == MVM_STATE_RUNNING,
	    e)) < 0 ||
	    (rc = mvm_engine_job_step(j, STEP_BOOTED, e)) < 0)
		return rc;
	mvm_engine_set_state(&j->in, to);
	if (to == MVM_STATE_RUNNING)
		mvm_engine_agent_wake(j);
	/* The snapshot is spent: the guest has moved on from it. */
	mvm_engine_bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	mvm_engine_rmtree(dir);
	return 0;
}

void
mvm_engine_snapshot_drop(struct job *j, enum mvm_state from)
{
	char dir[PATH_MAX_MVM], aside[PATH_MAX_MVM];
	long long now = (long long)mvm_engine_now_s();

	mvm_engine_bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	if (from != MVM_STATE_SLEEPING || j->in.failures == 0 ||
	    !exists_as(dir, S_IFDIR)) {
		mvm_engine_rmtree(dir);
		return;
	}
	if (mvm_engine_bufprintf(aside, sizeof(aside), "%s/snapshot.failed-%lld",
	    j->dir, now) < 0 || rename(dir, aside) < 0)
		mvm_engine_bufprintf(aside, sizeof(aside), "%s", dir);
	mvm_engine_bufprintf(j->in.reason, sizeof(j->in.reason),
	    "stopped after %u failures while sleeping; the snapshot is kept "
	    "in %s", j->in.failures, aside);
	mvm_engine_event(j->eng, &j->in, "instance.snapshot-kept",
	    "stopped after %u failures while sleeping; its snapshot is kept "
	    "in %s for inspection, and a later boot starts afresh",
	    j->in.failures, aside);
}

/* Stop gracefully (SendCtrlAltDel, then wait), else kill. */
int
mvm_engine_do_stop(struct job *j, struct mvm_error *e)
{
	struct mvm_vmm_proc p = mvm_engine_job_proc(j);
	int grace_ms = (int)j->pool.runtime.graceful_shutdown_seconds * 1000;
	int rc;

	if ((rc = mvm_engine_job_step(j, STEP_STOPPING, e)) < 0)
		return rc;
	if (p.pid > 0 && mvm_vmm_alive(&p)) {
		/* A paused guest cannot hear the key press: resume it first. */
		if (mvm_engine_job_fc(j, NULL) == 0 &&
		    (j->in.state != MVM_STATE_WARM ||
		    mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, NULL) == 0) &&
		    mvm_fc_action(j->fc, MVM_FC_SEND_CTRL_ALT_DEL, NULL) == 0 &&
		    mvm_vmm_wait_exit(&p, grace_ms) == 0) {
			mvm_engine_bufprintf(j->in.reason, sizeof(j->in.reason),
			    "stopped by request (clean shutdown)");
		} else {
			mvm_engine_bufprintf(j->in.reason, sizeof(j->in.reason),
			    "stopped by request (killed after %d s)",
			    grace_ms / 1000);
		}
	} else {
		mvm_engine_bufprintf(j->in.reason, sizeof(j->in.reason),
		    "stopped by request");
	}
	mvm_engine_job_kill(j);
	mvm_engine_snapshot_drop(j, j->in.state);
	mvm_engine_set_state(&j->in, MVM_STATE_STOPPED);
	return 0;
}
