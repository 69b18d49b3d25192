/*
 * monitor.c: the engine's monitor thread. It polls a pidfd per live VMM
 * (the watch list) and, when one exits while no transition owns its
 * instance, publishes the instance as stopped with the reason.
 *
 * The watch list is guarded by eng->mu; a write to eng->wakefd tells the
 * thread that the list changed or that it must stop.
 */
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine_int.h"
#include "store.h"
#include "vmm.h"

static void
watch_poke(struct mvm_engine *eng)
{
	uint64_t one = 1;

	if (write(eng->wakefd, &one, sizeof(one)) < 0) {
		/* A full counter still wakes the monitor; nothing to do. */
	}
}

void
mvm_engine_watch_add(struct mvm_engine *eng, const struct mvm_instance *in)
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
	mvm_engine_bufprintf(w->tenant, sizeof(w->tenant), "%s", in->tenant);
	mvm_engine_bufprintf(w->pool, sizeof(w->pool), "%s", in->pool);
	mvm_engine_bufprintf(w->id, sizeof(w->id), "%s", in->id);
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
	mvm_engine_bufprintf(in.reason, sizeof(in.reason),
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
	in.last_failure_at = mvm_engine_now_s();
	in.parked = false;
	if (mvm_store_instance_update(eng->st, &in, NULL) < 0) {
		mvm_store_rollback(eng->st);
		return;
	}
	if (mvm_store_commit(eng->st, NULL) == 0)
		mvm_engine_event(eng, &in, "instance.died", "%s", in.reason);
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

int
mvm_engine_monitor_start(struct mvm_engine *eng, struct mvm_error *e)
{
	int rc;

	if ((rc = pthread_create(&eng->monitor, NULL, monitor_main, eng)) != 0)
		return mvm_error_set(e, rc, "cannot start the monitor thread");
	eng->monitor_started = true;
	return 0;
}

void
mvm_engine_monitor_stop(struct mvm_engine *eng)
{
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
	eng->watches = NULL;
	eng->nwatches = 0;
}
