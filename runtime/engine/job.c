/*
 * job.c: the records one transition works with (struct job in
 * engine_int.h): loading them, recording each step of the intent, saving
 * the instance, and publishing the outcome with the intent dropped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine_int.h"
#include "fc.h"
#include "store.h"
#include "vmm.h"

int
mvm_engine_job_load(struct job *j, struct mvm_engine *eng,
    const char *tenant, const char *pool, const char *id,
    struct mvm_error *e)
{
	int rc;

	memset(j, 0, sizeof(*j));
	j->eng = eng;
	rc = mvm_store_instance_get(eng->st, tenant, pool, id, &j->in, e);
	if (rc < 0)
		return rc;
	rc = mvm_store_pool_get(eng->st, tenant, pool, &j->pool, e);
	if (rc < 0)
		return rc;
	rc = mvm_store_tenant_get(eng->st, tenant, &j->tenant, e);
	if (rc < 0)
		return rc;
	if (mvm_engine_instance_dir(eng, &j->in, j->dir, sizeof(j->dir)) < 0)
		return mvm_error_set(e, ENAMETOOLONG,
		    "paths of instance %s are too long", id);
	return mvm_engine_job_paths(j, e);
}

int
mvm_engine_job_paths(struct job *j, struct mvm_error *e)
{
	if (mvm_engine_run_dir_of(j->eng, &j->in, j->rundir,
	    sizeof(j->rundir)) < 0 ||
	    mvm_engine_bufprintf(j->api_sock, sizeof(j->api_sock),
	    "%s/api.sock", j->rundir) < 0 ||
	    mvm_engine_bufprintf(j->vsock, sizeof(j->vsock), "%s/vsock.sock",
	    j->rundir) < 0)
		return mvm_error_set(e, ENAMETOOLONG,
		    "paths of instance %s are too long", j->in.id);
	return 0;
}

/* Bytes the files of directory `dir` use on disk (not recursive). */
static uint64_t
dir_bytes(const char *dir)
{
	struct dirent *de;
	struct stat sb;
	uint64_t n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode))
			n += (uint64_t)sb.st_blocks * 512;
	closedir(d);
	return n;
}

/* The MiB (rounded up) the instance's snapshot files use; 0: none. */
static uint64_t
snapshot_mib(const struct job *j)
{
	char dir[PATH_MAX_MVM];

	if (mvm_engine_bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir) < 0)
		return 0;
	return (dir_bytes(dir) + (1u << 20) - 1) >> 20;
}

int
mvm_engine_job_step(struct job *j, enum step s, struct mvm_error *e)
{
	j->intent.step = s;
	return mvm_store_intent_step(j->eng->st, j->intent.id, s, NULL, e);
}

int
mvm_engine_job_save(struct job *j, struct mvm_error *e)
{
	return mvm_store_instance_update(j->eng->st, &j->in, e);
}

void
mvm_engine_set_state(struct mvm_instance *in, enum mvm_state s)
{
	int64_t now = mvm_engine_now_s();

	in->state = s;
	in->op = MVM_OP_NONE;
	in->entered_running_at = s == MVM_STATE_RUNNING ? now : 0;
	in->entered_warm_at = s == MVM_STATE_WARM ? now : 0;
	if (s != MVM_STATE_RUNNING && s != MVM_STATE_WARM) {
		in->pid = 0;
		in->pid_start = 0;
	}
}

int
mvm_engine_job_finish(struct job *j, struct mvm_error *e)
{
	struct mvm_engine *eng = j->eng;
	int rc;

	/* What its snapshot uses on disk counts against max_disk_gib. */
	j->in.disk_mib = snapshot_mib(j);
	rc = mvm_store_begin(eng->st, e);
	if (rc < 0)
		return rc;
	rc = mvm_engine_job_save(j, e);
	if (rc == 0)
		rc = mvm_store_intent_end(eng->st, j->intent.id, e);
	if (rc < 0) {
		mvm_store_rollback(eng->st);
		return rc;
	}
	rc = mvm_store_commit(eng->st, e);
	if (rc == 0 && (j->in.state == MVM_STATE_RUNNING ||
	    j->in.state == MVM_STATE_WARM))
		mvm_engine_watch_add(eng, &j->in);
	return rc;
}

struct mvm_vmm_proc
mvm_engine_job_proc(const struct job *j)
{
	struct mvm_vmm_proc p = { .pid = j->in.pid,
	    .start_time = j->in.pid_start };

	return p;
}

int
mvm_engine_job_fc(struct job *j, struct mvm_error *e)
{
	int rc;

	if (j->fc != NULL)
		return 0;
	rc = mvm_fc_open(j->api_sock, &j->fc, e);
	if (rc < 0)
		return rc;
	mvm_fc_set_timeout_ms(j->fc, j->eng->api_timeout_ms);
	mvm_fc_set_slow_timeout_ms(j->fc, j->eng->snapshot_timeout_ms);
	return 0;
}

void
mvm_engine_job_kill(struct job *j)
{
	struct mvm_vmm_proc p = mvm_engine_job_proc(j);

	mvm_fc_close(j->fc);
	j->fc = NULL;
	if (p.pid > 0)
		mvm_vmm_kill(&p, KILL_WAIT_MS);
	j->in.pid = 0;
	j->in.pid_start = 0;
	unlink(j->api_sock);
}
