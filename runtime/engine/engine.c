/*
 * engine.c: the lifecycle engine (see engine.h and docs/state-model.md):
 * the handle, the paths of an instance, and the helpers every part of the
 * engine shares (engine_int.h lists the parts).
 *
 * Every transition follows one pattern: load the records, check the rule
 * (fsm.h), record an intent, then do the work one step at a time, writing
 * the step to the intent before each side effect, and finally publish the
 * new state and drop the intent in one transaction. Recovery (at open) reads
 * the intents left by a crash and settles each instance in a true state.
 */
#include "engine.h"

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine_int.h"
#include "names.h"
#include "store.h"

int64_t
mvm_engine_now_s(void)
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

int64_t
mvm_engine_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
mvm_engine_bufprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void
mvm_engine_event(struct mvm_engine *eng, const struct mvm_instance *in,
    const char *action, const char *fmt, ...)
{
	struct mvm_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = now_ms();
	mvm_engine_bufprintf(ev.tenant, sizeof(ev.tenant), "%s", in->tenant);
	mvm_engine_bufprintf(ev.pool, sizeof(ev.pool), "%s", in->pool);
	mvm_engine_bufprintf(ev.instance, sizeof(ev.instance), "%s", in->id);
	mvm_engine_bufprintf(ev.action, sizeof(ev.action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (mvm_store_event_add(eng->st, &ev, &ev.seq, NULL) == 0 &&
	    eng->on_event != NULL)
		eng->on_event(eng->on_event_arg, &ev);
}

int
mvm_engine_mkdirs(const char *path, mode_t mode)
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

int
mvm_engine_rmtree(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

int
mvm_engine_instance_dir(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len)
{
	return mvm_engine_bufprintf(buf, len,
	    "%s/tenants/%s/pools/%s/instances/%s",
	    eng->state_dir, in->tenant, in->pool, in->id);
}

/*
 * The run directory is the one the instance records (where its VMM, if it
 * has one, listens), else the one its identity names (mvm_names_run_name):
 * never a function of its tenant's net_id, which can be given to another
 * tenant, nor of anything else that may change while the instance lives.
 */
int
mvm_engine_run_dir_of(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len)
{
	char name[MVM_NAMES_RUN_LEN + 1];

	if (in->run_name[0] != '\0')
		return mvm_engine_bufprintf(buf, len, "%s/vm/%s", eng->run_dir,
		    in->run_name);
	mvm_names_run_name(in->tenant, in->pool, in->id, name);
	return mvm_engine_bufprintf(buf, len, "%s/vm/%s", eng->run_dir, name);
}

int
mvm_engine_vsock_path(const struct mvm_engine *eng,
    const struct mvm_instance *in, char *buf, size_t len)
{
	char dir[PATH_MAX_MVM];
	int rc;

	rc = mvm_engine_run_dir_of(eng, in, dir, sizeof(dir));
	if (rc < 0)
		return rc;
	return mvm_engine_bufprintf(buf, len, "%s/vsock.sock", dir);
}

/* ---- open and close ---- */

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
	if ((rc = mvm_engine_mkdirs(eng->state_dir, 0755)) < 0 ||
	    (rc = mvm_engine_mkdirs(eng->run_dir, 0755)) < 0) {
		rc = mvm_error_set(e, -rc, "cannot create %s or %s: %s",
		    eng->state_dir, eng->run_dir, strerror(-rc));
		goto fail;
	}
	rc = mvm_engine_recover(eng, e);
	if (rc < 0)
		goto fail;
	rc = mvm_engine_monitor_start(eng, e);
	if (rc < 0)
		goto fail;
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
	mvm_engine_monitor_stop(eng);
	if (eng->wakefd >= 0)
		close(eng->wakefd);
	pthread_mutex_destroy(&eng->mu);
	free(eng->state_dir);
	free(eng->run_dir);
	free(eng->vmm_path);
	free(eng->image_dir);
	free(eng);
}
