/*
 * engine.c: the lifecycle engine (see engine.h and docs/state-model.md).
 *
 * Every transition follows one pattern: load the records, check the rule
 * (fsm.h), record an intent, then do the work one step at a time, writing
 * the step to the intent before each side effect, and finally publish the
 * new state and drop the intent in one transaction. Recovery (at open) reads
 * the intents left by a crash and settles each instance in a true state.
 */
#include "engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fc.h"
#include "fsm.h"
#include "guest.h"
#include "netplan.h"
#include "quota.h"
#include "store.h"
#include "usage.h"
#include "vmm.h"

/* Steps of an intent, in the order a transition reaches them. */
enum step {
	STEP_BEGUN = 0,		/* nothing done yet */
	STEP_LAUNCHING,		/* about to launch a VMM */
	STEP_LAUNCHED,		/* VMM pid recorded on the instance */
	STEP_CONFIGURED,	/* boot configured, InstanceStart or load next */
	STEP_BOOTED,		/* the guest runs; waiting for its agent */
	STEP_DRAINING,		/* SleepPrep sent to the guest agent */
	STEP_PAUSING,		/* PATCH /vm Paused next */
	STEP_SNAPSHOTTING,	/* snapshot create next */
	STEP_SNAPSHOT_DONE,	/* snapshot complete on disk */
	STEP_RESUMING,		/* PATCH /vm Resumed next */
	STEP_STOPPING,		/* SendCtrlAltDel or kill in progress */
	STEP_RELEASING,		/* removing files of a destroyed instance */
};

#define PATH_MAX_MVM	4096
#define AGENT_CALL_MS	2000
#define KILL_WAIT_MS	5000

struct watch {
	char			tenant[MVM_ID_MAX + 1];
	char			pool[MVM_ID_MAX + 1];
	char			id[MVM_ID_MAX + 1];
	struct mvm_vmm_proc	proc;
	int			pidfd;
};

struct mvm_engine {
	char			*state_dir;
	char			*run_dir;
	char			*vmm_path;
	char			*image_dir;
	int			 boot_timeout_ms;
	int			 api_timeout_ms;
	int			 snapshot_timeout_ms;
	struct mvm_store	*st;
	void			(*on_event)(void *, const struct mvm_event *);
	void			*on_event_arg;

	/* The monitor thread and the VMMs it watches. */
	pthread_t		 monitor;
	bool			 monitor_started;
	int			 wakefd;	/* eventfd: the watch list changed */
	pthread_mutex_t		 mu;
	bool			 stopping;
	struct watch		*watches;
	size_t			 nwatches;
};

/* Everything one transition works with. */
struct job {
	struct mvm_engine	*eng;
	struct mvm_tenant	 tenant;
	struct mvm_pool		 pool;
	struct mvm_instance	 in;
	struct mvm_intent	 intent;
	char			 dir[PATH_MAX_MVM];	/* instance state dir */
	char			 rundir[PATH_MAX_MVM];	/* sockets */
	char			 api_sock[PATH_MAX_MVM];
	char			 vsock[PATH_MAX_MVM];
	struct mvm_fc		*fc;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * snprintf that says whether the text fit: 0, or -ENAMETOOLONG when it was
 * cut. Paths and sentences are built with it so truncation is a checked
 * outcome rather than a silent one.
 */
static int
bufprintf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bufprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Append an audit event for instance `in`; failures to log are not fatal. */
static void
event(struct mvm_engine *eng, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
event(struct mvm_engine *eng, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
{
	struct mvm_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = now_ms();
	bufprintf(ev.tenant, sizeof(ev.tenant), "%s", in->tenant);
	bufprintf(ev.pool, sizeof(ev.pool), "%s", in->pool);
	bufprintf(ev.instance, sizeof(ev.instance), "%s", in->id);
	bufprintf(ev.action, sizeof(ev.action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (mvm_store_event_add(eng->st, &ev, &ev.seq, NULL) == 0 &&
	    eng->on_event != NULL)
		eng->on_event(eng->on_event_arg, &ev);
}

/* mkdir -p for a path we build ourselves; mode applies to new parts. */
static int
mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX_MVM];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf; a missing path is not an error. */
static int
rmtree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/* Whether `path` exists with file type `type` (S_IFREG, S_IFDIR). */
static bool
exists_as(const char *path, mode_t type)
{
	struct stat sb;

	return stat(path, &sb) == 0 && (sb.st_mode & S_IFMT) == type;
}

int
mvm_engine_instance_dir(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len)
{
	return bufprintf(buf, len, "%s/tenants/%s/pools/%s/instances/%s",
	    eng->state_dir, in->tenant, in->pool, in->id);
}

/*
 * The run directory is named after the tap, which is unique on the node
 * and short, so socket paths stay under the 108 bytes of sockaddr_un.
 */
static int
run_dir_of(const struct mvm_engine *eng, uint16_t net_id,
    const struct mvm_instance *in, char *buf, size_t len)
{
	char tap[16];

	mvm_net_tap_name(net_id, in->ip_offset, tap);
	return bufprintf(buf, len, "%s/vm/%s", eng->run_dir, tap);
}

int
mvm_engine_vsock_path(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len)
{
	struct mvm_tenant t;
	char dir[PATH_MAX_MVM];
	int rc;

	rc = mvm_store_tenant_get(eng->st, in->tenant, &t, NULL);
	if (rc < 0)
		return rc;
	rc = run_dir_of(eng, t.net_id, in, dir, sizeof(dir));
	if (rc < 0)
		return rc;
	return bufprintf(buf, len, "%s/vsock.sock", dir);
}

/* ---- the watch list of the monitor thread ---- */

static void
watch_poke(struct mvm_engine *eng)
{
	uint64_t one = 1;

	if (write(eng->wakefd, &one, sizeof(one)) < 0) {
		/* A full counter still wakes the monitor; nothing to do. */
	}
}

static void
watch_add(struct mvm_engine *eng, const struct mvm_instance *in)
{
	struct mvm_vmm_proc p = { .pid = in->pid, .start_time = in->pid_start };
	struct watch *w;
	int fd;

	pthread_mutex_lock(&eng->mu);
	for (size_t i = 0; i < eng->nwatches; i++) {
		if (eng->watches[i].proc.pid == p.pid &&
		    eng->watches[i].proc.start_time == p.start_time) {
			pthread_mutex_unlock(&eng->mu);
			return;
		}
	}
	pthread_mutex_unlock(&eng->mu);
	fd = mvm_vmm_pidfd(&p);
	if (fd < 0)
		return;
	pthread_mutex_lock(&eng->mu);
	w = realloc(eng->watches, (eng->nwatches + 1) * sizeof(*w));
	if (w == NULL) {
		pthread_mutex_unlock(&eng->mu);
		close(fd);
		return;
	}
	eng->watches = w;
	w = &eng->watches[eng->nwatches++];
	memset(w, 0, sizeof(*w));
	bufprintf(w->tenant, sizeof(w->tenant), "%s", in->tenant);
	bufprintf(w->pool, sizeof(w->pool), "%s", in->pool);
	bufprintf(w->id, sizeof(w->id), "%s", in->id);
	w->proc = p;
	w->pidfd = fd;
	pthread_mutex_unlock(&eng->mu);
	watch_poke(eng);
}

/* Drop watch `i`; the caller holds eng->mu. */
static void
watch_drop_locked(struct mvm_engine *eng, size_t i)
{
	close(eng->watches[i].pidfd);
	eng->watches[i] = eng->watches[--eng->nwatches];
}

/*
 * A watched VMM exited. If no transition owns the instance and the record
 * still names that process, the VMM died on its own: the instance is
 * stopped, with the reason.
 */
static void
vmm_died(struct mvm_engine *eng, const struct watch *w)
{
	struct mvm_instance in;
	struct mvm_intent it;
	char dir[PATH_MAX_MVM];

	if (mvm_store_begin(eng->st, NULL) < 0)
		return;
	if (mvm_store_instance_get(eng->st, w->tenant, w->pool, w->id, &in,
	    NULL) < 0 ||
	    mvm_store_intent_get(eng->st, w->tenant, w->pool, w->id, &it,
	    NULL) == 0 ||
	    in.pid != w->proc.pid || in.pid_start != w->proc.start_time ||
	    (in.state != MVM_STATE_RUNNING && in.state != MVM_STATE_WARM)) {
		mvm_store_rollback(eng->st);
		return;
	}
	mvm_engine_instance_dir(eng, &in, dir, sizeof(dir));
	bufprintf(in.reason, sizeof(in.reason),
	    "VMM process %d exited on its own while %s; see %s/console.log",
	    (int)in.pid, mvm_state_name(in.state), dir);
	in.state = MVM_STATE_STOPPED;
	in.op = MVM_OP_NONE;
	in.pid = 0;
	in.pid_start = 0;
	in.entered_running_at = 0;
	in.entered_warm_at = 0;
	/* A guest that keeps crashing must reach the failure budget. */
	in.failures++;
	in.last_failure_at = now_s();
	in.parked = false;
	if (mvm_store_instance_update(eng->st, &in, NULL) < 0) {
		mvm_store_rollback(eng->st);
		return;
	}
	if (mvm_store_commit(eng->st, NULL) == 0)
		event(eng, &in, "instance.died", "%s", in.reason);
}

static void *
monitor_main(void *arg)
{
	struct mvm_engine *eng = arg;
	struct pollfd *pfds = NULL;
	struct watch *dead = NULL;

	for (;;) {
		size_t n, ndead = 0;
		uint64_t v;

		pthread_mutex_lock(&eng->mu);
		if (eng->stopping) {
			pthread_mutex_unlock(&eng->mu);
			break;
		}
		n = eng->nwatches;
		free(pfds);
		pfds = calloc(n + 1, sizeof(*pfds));
		if (pfds == NULL) {
			pthread_mutex_unlock(&eng->mu);
			sleep(1);
			continue;
		}
		pfds[0].fd = eng->wakefd;
		pfds[0].events = POLLIN;
		for (size_t i = 0; i < n; i++) {
			pfds[i + 1].fd = eng->watches[i].pidfd;
			pfds[i + 1].events = POLLIN;
		}
		pthread_mutex_unlock(&eng->mu);

		if (poll(pfds, n + 1, -1) < 0)
			continue;
		if (pfds[0].revents & POLLIN) {
			if (read(eng->wakefd, &v, sizeof(v)) < 0) {
				/* Spurious wake-up: the list is re-read anyway. */
			}
		}

		/* Collect exited processes under the lock, act without it. */
		pthread_mutex_lock(&eng->mu);
		free(dead);
		dead = calloc(n + 1, sizeof(*dead));
		for (size_t i = 1; i <= n && dead != NULL; i++) {
			if (!(pfds[i].revents & (POLLIN | POLLHUP)))
				continue;
			for (size_t j = 0; j < eng->nwatches; j++) {
				if (eng->watches[j].pidfd != pfds[i].fd)
					continue;
				dead[ndead++] = eng->watches[j];
				watch_drop_locked(eng, j);
				break;
			}
		}
		pthread_mutex_unlock(&eng->mu);
		for (size_t i = 0; i < ndead; i++)
			vmm_died(eng, &dead[i]);
	}
	free(pfds);
	free(dead);
	return NULL;
}

/* ---- loading and publishing ---- */

static int
job_load(struct job *j, struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
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
	if (mvm_engine_instance_dir(eng, &j->in, j->dir, sizeof(j->dir)) < 0 ||
	    run_dir_of(eng, j->tenant.net_id, &j->in, j->rundir,
	    sizeof(j->rundir)) < 0 ||
	    bufprintf(j->api_sock, sizeof(j->api_sock), "%s/api.sock",
	    j->rundir) < 0 ||
	    bufprintf(j->vsock, sizeof(j->vsock), "%s/vsock.sock",
	    j->rundir) < 0)
		return mvm_error_set(e, ENAMETOOLONG,
		    "paths of instance %s are too long", id);
	return 0;
}

/* Record how far the transition got, before the next side effect. */
static int
job_step(struct job *j, enum step s, struct mvm_error *e)
{
	j->intent.step = s;
	return mvm_store_intent_step(j->eng->st, j->intent.id, s, NULL, e);
}

/* Write the instance record (its revision moves on in j->in). */
static int
job_save(struct job *j, struct mvm_error *e)
{
	return mvm_store_instance_update(j->eng->st, &j->in, e);
}

static void
set_state(struct mvm_instance *in, enum mvm_state s)
{
	int64_t now = now_s();

	in->state = s;
	in->op = MVM_OP_NONE;
	in->entered_running_at = s == MVM_STATE_RUNNING ? now : 0;
	in->entered_warm_at = s == MVM_STATE_WARM ? now : 0;
	if (s != MVM_STATE_RUNNING && s != MVM_STATE_WARM) {
		in->pid = 0;
		in->pid_start = 0;
	}
}

/*
 * Publish the outcome: the instance in its new state and the intent gone,
 * in one transaction, so a crash sees either the old intent or the result.
 */
static int
job_finish(struct job *j, struct mvm_error *e)
{
	struct mvm_engine *eng = j->eng;
	int rc;

	rc = mvm_store_begin(eng->st, e);
	if (rc < 0)
		return rc;
	rc = job_save(j, e);
	if (rc == 0)
		rc = mvm_store_intent_end(eng->st, j->intent.id, e);
	if (rc < 0) {
		mvm_store_rollback(eng->st);
		return rc;
	}
	rc = mvm_store_commit(eng->st, e);
	if (rc == 0 && (j->in.state == MVM_STATE_RUNNING ||
	    j->in.state == MVM_STATE_WARM))
		watch_add(eng, &j->in);
	return rc;
}

static struct mvm_vmm_proc
job_proc(const struct job *j)
{
	struct mvm_vmm_proc p = { .pid = j->in.pid,
	    .start_time = j->in.pid_start };

	return p;
}

static int
job_fc(struct job *j, struct mvm_error *e)
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

/* Kill the VMM of the job (if any) and forget it on the record. */
static void
job_kill(struct job *j)
{
	struct mvm_vmm_proc p = job_proc(j);

	mvm_fc_close(j->fc);
	j->fc = NULL;
	if (p.pid > 0)
		mvm_vmm_kill(&p, KILL_WAIT_MS);
	j->in.pid = 0;
	j->in.pid_start = 0;
	unlink(j->api_sock);
}

/* ---- guest agent ---- */

static int
agent_ping(struct job *j, int timeout_ms, struct mvm_guest_pong *pong,
    struct mvm_error *e)
{
	int fd = -1, rc;

	rc = mvm_guest_connect(j->vsock, MVM_GUEST_PORT, timeout_ms, &fd, e);
	if (rc == 0)
		rc = mvm_guest_ping(fd, timeout_ms, pong, e);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Wait until the guest agent answers Ping, up to the boot timeout. */
static int
agent_wait(struct job *j, struct mvm_error *e)
{
	int64_t deadline = mono_ms() + j->eng->boot_timeout_ms;
	struct mvm_guest_pong pong;
	struct mvm_vmm_proc p = job_proc(j);
	struct mvm_error last = { 0 };
	int rc;

	do {
		rc = agent_ping(j, 1000, &pong, &last);
		if (rc == 0)
			return 0;
		if (!mvm_vmm_alive(&p))
			return mvm_error_set(e, EIO,
			    "the VMM exited while the guest booted; see %s/console.log",
			    j->dir);
		if (rc == -ECONNREFUSED)
			usleep(100 * 1000);
	} while (mono_ms() < deadline);
	return mvm_error_set(e, EIO,
	    "the guest agent did not answer within %d ms (%s); see %s/console.log",
	    j->eng->boot_timeout_ms, last.msg, j->dir);
}

/* Tell the guest its clock and entropy are stale (after any resume). */
static void
agent_wake(struct job *j)
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
	if (fd >= 0)
		close(fd);
	explicit_bzero(seed, sizeof(seed));
	if (rc < 0)
		event(j->eng, &j->in, "instance.wake-agent",
		    "the guest agent did not take the new clock: %s", e.msg);
}

/* ---- the transitions ---- */

/* Launch a fresh VMM, record it, and wait for its API. */
static int
launch(struct job *j, struct mvm_error *e)
{
	struct mvm_engine *eng = j->eng;
	char log[PATH_MAX_MVM], console[PATH_MAX_MVM];
	struct mvm_vmm_launch l;
	struct mvm_vmm_proc p;
	int rc;

	if ((rc = mkdirs(j->dir, 0750)) < 0 || (rc = mkdirs(j->rundir, 0750)) < 0)
		return mvm_error_set(e, -rc, "cannot create %s or %s: %s",
		    j->dir, j->rundir, strerror(-rc));
	bufprintf(log, sizeof(log), "%s/vmm.log", j->dir);
	bufprintf(console, sizeof(console), "%s/console.log", j->dir);
	unlink(j->vsock);
	rc = job_step(j, STEP_LAUNCHING, e);
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
	rc = job_save(j, e);
	if (rc == 0)
		rc = job_step(j, STEP_LAUNCHED, e);
	if (rc == 0)
		rc = job_fc(j, e);
	if (rc == 0)
		rc = mvm_fc_wait_ready(j->fc, eng->api_timeout_ms, e);
	return rc;
}

static char *image_cmdline(const char *image_dir);

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
	if ((p->image[0] == '\0' ? bufprintf(buf, len, "%s", eng->image_dir) :
	    p->image[0] == '/' ? bufprintf(buf, len, "%s", p->image) :
	    bufprintf(buf, len, "%.*s/%s", base, slash != NULL ?
	    eng->image_dir : ".", p->image)) < 0)
		return mvm_error_set(e, ENAMETOOLONG, "image path of pool %s "
		    "is too long", p->id);
	return 0;
}

static int
do_start(struct job *j, struct mvm_error *e)
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
	bufprintf(kernel, sizeof(kernel), "%s/vmlinuz", dir);
	bufprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	bufprintf(rootfs, sizeof(rootfs), "%s/rootfs.ext4", dir);
	mvm_net_format_ip(mvm_net_addr(j->tenant.net_id, j->in.ip_offset), ip);
	mvm_net_format_ip(mvm_net_gateway(j->tenant.net_id), gw);
	bufprintf(args, sizeof(args), "%s mvm.ip=%s/24 mvm.gw=%s mvm.id=%s",
	    cmdline, ip, gw, j->in.id);
	free(cmdline);

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
	if ((rc = job_step(j, STEP_CONFIGURED, e)) < 0 ||
	    (rc = mvm_fc_action(j->fc, MVM_FC_INSTANCE_START, e)) < 0 ||
	    (rc = job_step(j, STEP_BOOTED, e)) < 0)
		return rc;
	rc = agent_wait(j, e);
	if (rc < 0)
		return rc;
	set_state(&j->in, MVM_STATE_RUNNING);
	return 0;
}

static int
do_pause(struct job *j, struct mvm_error *e)
{
	int rc;

	if ((rc = job_fc(j, e)) < 0 || (rc = job_step(j, STEP_PAUSING, e)) < 0 ||
	    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_PAUSED, e)) < 0)
		return rc;
	set_state(&j->in, MVM_STATE_WARM);
	return 0;
}

static int
do_resume(struct job *j, struct mvm_error *e)
{
	int rc;

	if ((rc = job_fc(j, e)) < 0 || (rc = job_step(j, STEP_RESUMING, e)) < 0 ||
	    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, e)) < 0)
		return rc;
	set_state(&j->in, MVM_STATE_RUNNING);
	agent_wake(j);
	return 0;
}

static int
snapshot_paths(const struct job *j, const char *sub, char *vmstate,
    char *mem, size_t len)
{
	if (bufprintf(vmstate, len, "%s/%s/vmstate", j->dir, sub) < 0 ||
	    bufprintf(mem, len, "%s/%s/mem", j->dir, sub) < 0)
		return -ENAMETOOLONG;
	return 0;
}

/* Both snapshot files of the published snapshot exist. */
static bool
snapshot_complete(const struct job *j)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];

	if (snapshot_paths(j, "snapshot", vmstate, mem, sizeof(vmstate)) < 0)
		return false;
	return exists_as(vmstate, S_IFREG) && exists_as(mem, S_IFREG);
}

static int
do_sleep(struct job *j, struct mvm_error *e)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];
	char tmpdir[PATH_MAX_MVM], dir[PATH_MAX_MVM];
	enum mvm_state from = j->in.state;
	struct mvm_guest_drain drain;
	struct mvm_error ae;
	struct mvm_fc_snapshot s;
	int fd = -1, rc;

	bufprintf(tmpdir, sizeof(tmpdir), "%s/snapshot.new", j->dir);
	bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	if ((rc = job_fc(j, e)) < 0)
		return rc;

	/* Drain: only a running guest can answer. */
	if (from == MVM_STATE_RUNNING) {
		uint32_t drain_ms = j->pool.runtime.drain_timeout_seconds * 1000;

		if ((rc = job_step(j, STEP_DRAINING, e)) < 0)
			return rc;
		rc = mvm_guest_connect(j->vsock, MVM_GUEST_PORT, AGENT_CALL_MS,
		    &fd, &ae);
		if (rc == 0)
			rc = mvm_guest_sleep_prep(fd, (int)drain_ms + AGENT_CALL_MS,
			    drain_ms, &drain, &ae);
		if (fd >= 0)
			close(fd);
		if (rc < 0)
			event(j->eng, &j->in, "instance.drain",
			    "the guest agent did not drain: %s", ae.msg);
		else if (!drain.drained)
			event(j->eng, &j->in, "instance.drain",
			    "drain incomplete: %s", drain.reason);
		if ((rc = job_step(j, STEP_PAUSING, e)) < 0 ||
		    (rc = mvm_fc_patch_vm(j->fc, MVM_FC_VM_PAUSED, e)) < 0)
			return rc;
	}

	/* Write the snapshot beside the old one, then swap it in. */
	if ((rc = rmtree(tmpdir)) < 0 || (rc = mkdirs(tmpdir, 0700)) < 0)
		return mvm_error_set(e, -rc, "cannot prepare %s: %s", tmpdir,
		    strerror(-rc));
	snapshot_paths(j, "snapshot.new", vmstate, mem, sizeof(vmstate));
	s = (struct mvm_fc_snapshot){ .snapshot_path = vmstate,
	    .mem_file_path = mem };
	if ((rc = job_step(j, STEP_SNAPSHOTTING, e)) < 0)
		return rc;
	rc = mvm_fc_snapshot_create(j->fc, &s, e);
	if (rc < 0)
		goto undo;
	if ((rc = rmtree(dir)) < 0 || rename(tmpdir, dir) < 0) {
		rc = mvm_error_set(e, rc < 0 ? -rc : errno,
		    "cannot publish the snapshot in %s: %s", dir,
		    strerror(rc < 0 ? -rc : errno));
		goto undo;
	}
	if ((rc = job_step(j, STEP_SNAPSHOT_DONE, e)) < 0)
		return rc;
	job_kill(j);
	set_state(&j->in, MVM_STATE_SLEEPING);
	return 0;

undo:
	/* Never publish a frozen VM as running: resume it, report EIO. */
	if (e != NULL)
		memcpy(ae.msg, e->msg, sizeof(ae.msg));
	else
		ae.msg[0] = '\0';
	rmtree(tmpdir);
	if (from == MVM_STATE_RUNNING &&
	    mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, NULL) == 0)
		agent_wake(j);
	return mvm_error_set(e, EIO, "snapshot failed, %s left %s: %s",
	    j->in.id, mvm_state_name(from), ae.msg);
}

static int
do_wake(struct job *j, enum mvm_state to, struct mvm_error *e)
{
	char vmstate[PATH_MAX_MVM], mem[PATH_MAX_MVM];
	struct mvm_fc_snapshot s;
	char dir[PATH_MAX_MVM];
	int rc;

	if (!snapshot_complete(j))
		return mvm_error_set(e, EIO,
		    "instance %s is sleeping but its snapshot in %s/snapshot is missing",
		    j->in.id, j->dir);
	snapshot_paths(j, "snapshot", vmstate, mem, sizeof(vmstate));
	rc = launch(j, e);
	if (rc < 0)
		return rc;
	s = (struct mvm_fc_snapshot){ .snapshot_path = vmstate,
	    .mem_file_path = mem };
	if ((rc = job_step(j, STEP_CONFIGURED, e)) < 0 ||
	    (rc = mvm_fc_snapshot_load(j->fc, &s, to == MVM_STATE_RUNNING,
	    e)) < 0 ||
	    (rc = job_step(j, STEP_BOOTED, e)) < 0)
		return rc;
	set_state(&j->in, to);
	if (to == MVM_STATE_RUNNING)
		agent_wake(j);
	/* The snapshot is spent: the guest has moved on from it. */
	bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	rmtree(dir);
	return 0;
}

/* Stop gracefully (SendCtrlAltDel, then wait), else kill. */
static int
do_stop(struct job *j, struct mvm_error *e)
{
	struct mvm_vmm_proc p = job_proc(j);
	int grace_ms = (int)j->pool.runtime.graceful_shutdown_seconds * 1000;
	char dir[PATH_MAX_MVM];
	int rc;

	if ((rc = job_step(j, STEP_STOPPING, e)) < 0)
		return rc;
	if (p.pid > 0 && mvm_vmm_alive(&p)) {
		/* A paused guest cannot hear the key press: resume it first. */
		if (job_fc(j, NULL) == 0 &&
		    (j->in.state != MVM_STATE_WARM ||
		    mvm_fc_patch_vm(j->fc, MVM_FC_VM_RESUMED, NULL) == 0) &&
		    mvm_fc_action(j->fc, MVM_FC_SEND_CTRL_ALT_DEL, NULL) == 0 &&
		    mvm_vmm_wait_exit(&p, grace_ms) == 0) {
			bufprintf(j->in.reason, sizeof(j->in.reason),
			    "stopped by request (clean shutdown)");
		} else {
			bufprintf(j->in.reason, sizeof(j->in.reason),
			    "stopped by request (killed after %d s)",
			    grace_ms / 1000);
		}
	} else {
		bufprintf(j->in.reason, sizeof(j->in.reason), "stopped by request");
	}
	job_kill(j);
	bufprintf(dir, sizeof(dir), "%s/snapshot", j->dir);
	rmtree(dir);
	set_state(&j->in, MVM_STATE_STOPPED);
	return 0;
}

/* After a failed step: make the record say what is true. */
static void
settle_failure(struct job *j, enum mvm_state from)
{
	struct mvm_vmm_proc p = job_proc(j);
	enum mvm_state s;

	switch (j->in.op) {
	case MVM_OP_STARTING:
		/* A half-booted VM is of no use: kill it. */
		job_kill(j);
		s = MVM_STATE_STOPPED;
		break;
	case MVM_OP_WAKING:
		/* The snapshot is still on disk: the instance still sleeps. */
		job_kill(j);
		s = MVM_STATE_SLEEPING;
		break;
	default:
		/* Pause, resume and sleep leave the VM as it was if it lives. */
		if (p.pid > 0 && mvm_vmm_alive(&p)) {
			struct mvm_fc_info info;

			s = from;
			if (job_fc(j, NULL) == 0 &&
			    mvm_fc_get_instance_info(j->fc, &info, NULL) == 0)
				s = info.state == MVM_FC_STATE_PAUSED ?
				    MVM_STATE_WARM : MVM_STATE_RUNNING;
		} else if (from == MVM_STATE_SLEEPING && snapshot_complete(j)) {
			s = MVM_STATE_SLEEPING;
		} else {
			job_kill(j);
			s = MVM_STATE_STOPPED;
		}
		break;
	}
	if (s != from || s == MVM_STATE_STOPPED) {
		int64_t er = j->in.entered_running_at, ew = j->in.entered_warm_at;

		set_state(&j->in, s);
		/* Staying in the same state keeps its clock. */
		if (s == from) {
			j->in.entered_running_at = er;
			j->in.entered_warm_at = ew;
		}
	}
	j->in.op = MVM_OP_NONE;
}

/*
 * Would moving the job's instance to `to` break a quota of its tenant?
 * Called inside the transaction that records the intent, so in-flight
 * transitions (counted by mvm_usage_tenant) and this check cannot race.
 */
static int
check_quota(struct job *j, enum mvm_state to, struct mvm_error *e)
{
	struct mvm_quota_delta d;
	struct mvm_usage u;
	int rc;

	rc = mvm_usage_tenant(j->eng->st, j->in.tenant, j->in.pool, &u, e);
	if (rc < 0)
		return rc;
	mvm_quota_delta_transition(&d, &j->pool, j->in.state, to);
	return mvm_quota_check(&j->tenant.quota, &u, &d, NULL, e);
}

int
mvm_engine_transition(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, enum mvm_state to, unsigned flags,
    struct mvm_error *e)
{
	struct job j;
	enum mvm_state from;
	enum mvm_op op;
	int64_t t0 = mono_ms();
	int rc;

	rc = job_load(&j, eng, tenant, pool, id, e);
	if (rc < 0)
		return rc;
	from = j.in.state;
	if (to == MVM_STATE_DESTROYED)
		return mvm_engine_destroy(eng, tenant, pool, id, e);
	rc = mvm_fsm_check(from, to, &op, e);
	if (rc < 0 || op == MVM_OP_NONE)
		return rc;
	if ((flags & MVM_ENGINE_PROVISION) && (from != MVM_STATE_RUNNING ||
	    (to != MVM_STATE_WARM && to != MVM_STATE_SLEEPING)))
		return mvm_error_set(e, EINVAL, "instance %s is not a freshly "
		    "booted one to provision as %s", id, mvm_state_name(to));
	rc = mvm_fsm_eligible(&j.in, to, &j.pool.runtime, now_s(),
	    (flags & (MVM_ENGINE_FORCE | MVM_ENGINE_PROVISION)) != 0, e);
	if (rc < 0)
		return rc;

	/* The intent and the visible op, together, before any side effect. */
	j.intent = (struct mvm_intent){ .from_state = from, .to_state = to,
	    .op = op, .step = STEP_BEGUN, .started_at = now_s() };
	bufprintf(j.intent.tenant, sizeof(j.intent.tenant), "%s", tenant);
	bufprintf(j.intent.pool, sizeof(j.intent.pool), "%s", pool);
	bufprintf(j.intent.instance, sizeof(j.intent.instance), "%s", id);
	if ((rc = mvm_store_begin(eng->st, e)) < 0)
		return rc;
	/* Quotas and the intent in one transaction: racing starts queue here. */
	rc = check_quota(&j, to, e);
	if (rc == 0)
		rc = mvm_store_intent_begin(eng->st, &j.intent, e);
	if (rc == -EBUSY)
		mvm_error_set(e, EBUSY,
		    "instance %s is already in a transition", id);
	j.in.op = op;
	if (rc == 0)
		rc = job_save(&j, e);
	if (rc < 0) {
		mvm_store_rollback(eng->st);
		return rc == -ESTALE ? mvm_error_set(e, EBUSY,
		    "instance %s changed under this transition; try again", id) : rc;
	}
	if ((rc = mvm_store_commit(eng->st, e)) < 0)
		return rc;
	if ((flags & MVM_ENGINE_FORCE) &&
	    mvm_fsm_eligible(&j.in, to, &j.pool.runtime, now_s(), false,
	    NULL) < 0)
		event(eng, &j.in, "instance.force",
		    "minimum runtime overridden for %s -> %s",
		    mvm_state_name(from), mvm_state_name(to));

	switch (op) {
	case MVM_OP_STARTING:
		rc = do_start(&j, e);
		break;
	case MVM_OP_PAUSING:
		rc = do_pause(&j, e);
		break;
	case MVM_OP_RESUMING:
		rc = do_resume(&j, e);
		break;
	case MVM_OP_SNAPSHOTTING:
		rc = do_sleep(&j, e);
		break;
	case MVM_OP_WAKING:
		rc = do_wake(&j, to, e);
		break;
	case MVM_OP_STOPPING:
		rc = do_stop(&j, e);
		break;
	default:
		rc = mvm_error_set(e, EINVAL, "no action for %s -> %s",
		    mvm_state_name(from), mvm_state_name(to));
		break;
	}
	if (rc < 0) {
		struct mvm_error fe;

		settle_failure(&j, from);
		bufprintf(j.in.reason, sizeof(j.in.reason), "%s failed: %s",
		    mvm_op_name(op), e != NULL ? e->msg : strerror(-rc));
		j.in.failures++;
		j.in.last_failure_at = now_s();
		j.in.parked = false;
		if (job_finish(&j, &fe) == 0)
			event(eng, &j.in, "instance.failed",
			    "%s -> %s failed, now %s: %s", mvm_state_name(from),
			    mvm_state_name(to), mvm_state_name(j.in.state),
			    j.in.reason);
		mvm_fc_close(j.fc);
		/* Every failure of the VMM or guest is EIO to the caller. */
		return rc == -EIO ? rc : mvm_error_set(e, EIO, "%s",
		    j.in.reason);
	}
	if (op == MVM_OP_RESUMING || op == MVM_OP_STARTING ||
	    op == MVM_OP_WAKING)
		j.in.reason[0] = '\0';
	j.in.failures = 0;
	j.in.last_failure_at = 0;
	if (!(flags & MVM_ENGINE_PARK))
		j.in.parked = false;
	else if (!j.in.parked) {
		j.in.parked = true;
		j.in.parked_from = from;
	}
	rc = job_finish(&j, e);
	if (rc == 0)
		event(eng, &j.in, "instance.state", "%s -> %s in %lld ms",
		    mvm_state_name(from), mvm_state_name(to),
		    (long long)(mono_ms() - t0));
	mvm_fc_close(j.fc);
	return rc;
}

int
mvm_engine_destroy(struct mvm_engine *eng, const char *tenant,
    const char *pool, const char *id, struct mvm_error *e)
{
	struct job j;
	int rc;

	rc = job_load(&j, eng, tenant, pool, id, e);
	if (rc < 0)
		return rc;
	j.intent = (struct mvm_intent){ .from_state = j.in.state,
	    .to_state = MVM_STATE_DESTROYED, .op = MVM_OP_DESTROYING,
	    .started_at = now_s() };
	bufprintf(j.intent.tenant, sizeof(j.intent.tenant), "%s", tenant);
	bufprintf(j.intent.pool, sizeof(j.intent.pool), "%s", pool);
	bufprintf(j.intent.instance, sizeof(j.intent.instance), "%s", id);
	rc = mvm_store_intent_begin(eng->st, &j.intent, e);
	if (rc == -EBUSY)
		return mvm_error_set(e, EBUSY,
		    "instance %s is already in a transition", id);
	if (rc < 0)
		return rc;
	j.in.op = MVM_OP_DESTROYING;
	if ((rc = job_save(&j, e)) < 0)
		goto out;
	if (j.in.pid > 0)
		do_stop(&j, NULL);
	if ((rc = job_step(&j, STEP_RELEASING, e)) < 0)
		goto out;
	job_kill(&j);
	if ((rc = rmtree(j.dir)) < 0 || (rc = rmtree(j.rundir)) < 0) {
		rc = mvm_error_set(e, EIO, "cannot remove the files of %s: %s",
		    id, strerror(-rc));
		goto out;
	}
	/* Deleting the instance deletes its intent with it. */
	rc = mvm_store_instance_delete(eng->st, tenant, pool, id, e);
	if (rc == 0)
		event(eng, &j.in, "instance.destroyed", "released every resource");
out:
	mvm_fc_close(j.fc);
	return rc;
}

/* ---- recovery ---- */

struct recover_list {
	struct mvm_intent	*intents;
	size_t			 n;
	struct mvm_instance	*insts;
	size_t			 ninsts;
};

static int
collect_intent(const struct mvm_intent *it, void *arg)
{
	struct recover_list *l = arg;
	struct mvm_intent *n = realloc(l->intents, (l->n + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	l->intents = n;
	l->intents[l->n++] = *it;
	return 0;
}

static int
collect_instance(const struct mvm_instance *in, void *arg)
{
	struct recover_list *l = arg;
	struct mvm_instance *n = realloc(l->insts, (l->ninsts + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	l->insts = n;
	l->insts[l->ninsts++] = *in;
	return 0;
}

/*
 * Settle one instance whose transition was cut short. The rule: look at the
 * VMM (alive with the same start time? paused or running?) and at the
 * snapshot on disk, and publish the state that is true; finish a destroy.
 */
static int
recover_intent(struct mvm_engine *eng, const struct mvm_intent *it)
{
	struct mvm_vmm_proc p;
	struct mvm_fc_info info;
	struct job j;
	bool alive, answered = false;
	enum mvm_state s;
	int rc;

	rc = job_load(&j, eng, it->tenant, it->pool, it->instance, NULL);
	if (rc < 0)
		return rc;
	j.intent = *it;
	if (it->op == MVM_OP_DESTROYING) {
		job_kill(&j);
		rmtree(j.dir);
		rmtree(j.rundir);
		rc = mvm_store_instance_delete(eng->st, it->tenant, it->pool,
		    it->instance, NULL);
		if (rc == 0)
			event(eng, &j.in, "instance.recovered",
			    "finished an interrupted destroy");
		return rc;
	}
	p = job_proc(&j);
	alive = p.pid > 0 && mvm_vmm_alive(&p);
	if (alive && job_fc(&j, NULL) == 0 &&
	    mvm_fc_get_instance_info(j.fc, &info, NULL) == 0)
		answered = true;

	if (answered && info.state == MVM_FC_STATE_RUNNING &&
	    it->op != MVM_OP_STOPPING &&
	    (it->op != MVM_OP_STARTING ||
	    agent_wait(&j, NULL) == 0)) {
		s = MVM_STATE_RUNNING;
	} else if (answered && info.state == MVM_FC_STATE_PAUSED &&
	    it->op != MVM_OP_STOPPING && it->op != MVM_OP_SNAPSHOTTING &&
	    it->op != MVM_OP_STARTING) {
		s = MVM_STATE_WARM;
	} else if (it->op == MVM_OP_SNAPSHOTTING && snapshot_complete(&j) &&
	    it->step >= STEP_SNAPSHOT_DONE) {
		/* The snapshot was published: finish the sleep. */
		job_kill(&j);
		s = MVM_STATE_SLEEPING;
	} else if (it->op == MVM_OP_SNAPSHOTTING && answered &&
	    info.state == MVM_FC_STATE_PAUSED) {
		/* Cut before the snapshot was published: undo the pause. */
		if (it->from_state == MVM_STATE_RUNNING &&
		    mvm_fc_patch_vm(j.fc, MVM_FC_VM_RESUMED, NULL) == 0) {
			s = MVM_STATE_RUNNING;
		} else {
			s = MVM_STATE_WARM;
		}
	} else if ((it->op == MVM_OP_WAKING ||
	    (it->from_state == MVM_STATE_SLEEPING && it->op != MVM_OP_STOPPING)) &&
	    snapshot_complete(&j)) {
		/* The load did not finish: the snapshot still holds the guest. */
		job_kill(&j);
		s = MVM_STATE_SLEEPING;
	} else {
		job_kill(&j);
		s = MVM_STATE_STOPPED;
	}
	set_state(&j.in, s);
	if (s == MVM_STATE_STOPPED)
		bufprintf(j.in.reason, sizeof(j.in.reason),
		    "%s was interrupted by a restart of mvm; the VMM was %s",
		    mvm_op_name(it->op), alive ? "killed" : "gone");
	rc = job_finish(&j, NULL);
	if (rc == 0)
		event(eng, &j.in, "instance.recovered",
		    "interrupted %s (%s -> %s, step %d) settled as %s",
		    mvm_op_name(it->op), mvm_state_name(it->from_state),
		    mvm_state_name(it->to_state), it->step, mvm_state_name(s));
	mvm_fc_close(j.fc);
	return rc;
}

/* A running or warm instance with no intent: is its VMM still there? */
static int
recover_instance(struct mvm_engine *eng, const struct mvm_instance *rec)
{
	struct mvm_vmm_proc p = { .pid = rec->pid, .start_time = rec->pid_start };
	struct mvm_instance in = *rec;

	if (in.state != MVM_STATE_RUNNING && in.state != MVM_STATE_WARM)
		return 0;
	if (p.pid > 0 && mvm_vmm_alive(&p)) {
		watch_add(eng, &in);
		return 0;
	}
	bufprintf(in.reason, sizeof(in.reason),
	    "VMM process %d was gone when mvm started", (int)in.pid);
	set_state(&in, MVM_STATE_STOPPED);
	in.parked = false;
	if (mvm_store_instance_update(eng->st, &in, NULL) < 0)
		return 0;
	event(eng, &in, "instance.died", "%s", in.reason);
	return 1;
}

struct known_arg {
	struct recover_list	*l;
	struct mvm_store	*st;
};

static bool
pid_known(pid_t pid, void *arg)
{
	struct known_arg *k = arg;

	for (size_t i = 0; i < k->l->ninsts; i++)
		if (k->l->insts[i].pid == pid)
			return true;
	return false;
}

int
mvm_engine_recover(struct mvm_engine *eng, struct mvm_error *e)
{
	struct recover_list l = { 0 };
	struct known_arg k = { .l = &l, .st = eng->st };
	char prefix[PATH_MAX_MVM];
	int rc, changed = 0;

	rc = mvm_store_intent_list(eng->st, collect_intent, &l, e);
	for (size_t i = 0; rc >= 0 && i < l.n; i++)
		if (recover_intent(eng, &l.intents[i]) == 0)
			changed++;
	if (rc >= 0)
		rc = mvm_store_instance_list(eng->st, NULL, NULL,
		    collect_instance, &l, e);
	for (size_t i = 0; rc >= 0 && i < l.ninsts; i++)
		changed += recover_instance(eng, &l.insts[i]);
	/* VMMs under our run dir that no record claims are orphans. */
	if (rc >= 0) {
		free(l.insts);
		l.insts = NULL;
		l.ninsts = 0;
		rc = mvm_store_instance_list(eng->st, NULL, NULL,
		    collect_instance, &l, e);
	}
	if (rc >= 0) {
		bufprintf(prefix, sizeof(prefix), "%s/vm/", eng->run_dir);
		mvm_vmm_kill_orphans(prefix, pid_known, &k);
	}
	free(l.intents);
	free(l.insts);
	return rc < 0 ? rc : changed;
}

/* ---- open and close ---- */

/* The image's kernel command line, from manifest.json ("cmdline"). */
static char *
image_cmdline(const char *image_dir)
{
	char path[PATH_MAX_MVM], *text = NULL, *out = NULL;
	cJSON *doc = NULL, *c;
	FILE *f;
	long len;

	bufprintf(path, sizeof(path), "%s/manifest.json", image_dir);
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

int
mvm_engine_open(const struct mvm_engine_config *cfg, struct mvm_store *st,
    struct mvm_engine **out, struct mvm_error *e)
{
	struct mvm_engine *eng;
	int rc;

	*out = NULL;
	eng = calloc(1, sizeof(*eng));
	if (eng == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	eng->st = st;
	eng->on_event = cfg->on_event;
	eng->on_event_arg = cfg->on_event_arg;
	eng->wakefd = -1;
	pthread_mutex_init(&eng->mu, NULL);
	eng->state_dir = strdup(cfg->state_dir);
	eng->run_dir = strdup(cfg->run_dir);
	eng->vmm_path = strdup(cfg->vmm_path);
	eng->image_dir = strdup(cfg->image_dir);
	eng->boot_timeout_ms = cfg->boot_timeout_ms > 0 ?
	    cfg->boot_timeout_ms : 60000;
	eng->api_timeout_ms = cfg->api_timeout_ms > 0 ?
	    cfg->api_timeout_ms : 10000;
	eng->snapshot_timeout_ms = cfg->snapshot_timeout_ms > 0 ?
	    cfg->snapshot_timeout_ms : 120000;
	if (eng->state_dir == NULL || eng->run_dir == NULL ||
	    eng->vmm_path == NULL || eng->image_dir == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto fail;
	}
	eng->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (eng->wakefd < 0) {
		rc = mvm_error_set(e, errno ? errno : ENOMEM,
		    "cannot set up the engine: %s", strerror(errno));
		goto fail;
	}
	if ((rc = mkdirs(eng->state_dir, 0755)) < 0 ||
	    (rc = mkdirs(eng->run_dir, 0755)) < 0) {
		rc = mvm_error_set(e, -rc, "cannot create %s or %s: %s",
		    eng->state_dir, eng->run_dir, strerror(-rc));
		goto fail;
	}
	rc = mvm_engine_recover(eng, e);
	if (rc < 0)
		goto fail;
	if ((rc = pthread_create(&eng->monitor, NULL, monitor_main, eng)) != 0) {
		rc = mvm_error_set(e, rc, "cannot start the monitor thread");
		goto fail;
	}
	eng->monitor_started = true;
	*out = eng;
	return 0;
fail:
	mvm_engine_close(eng);
	return rc;
}

void
mvm_engine_close(struct mvm_engine *eng)
{
	if (eng == NULL)
		return;
	if (eng->monitor_started) {
		pthread_mutex_lock(&eng->mu);
		eng->stopping = true;
		pthread_mutex_unlock(&eng->mu);
		watch_poke(eng);
		pthread_join(eng->monitor, NULL);
	}
	for (size_t i = 0; i < eng->nwatches; i++)
		close(eng->watches[i].pidfd);
	free(eng->watches);
	if (eng->wakefd >= 0)
		close(eng->wakefd);
	pthread_mutex_destroy(&eng->mu);
	free(eng->state_dir);
	free(eng->run_dir);
	free(eng->vmm_path);
	free(eng->image_dir);
	free(eng);
}
