/*
 * mvm-demo: a short, live tour of the engine with real guests.
 *
 *   mvm-demo [--state-dir DIR] [--run-dir DIR] [--vmm PATH] [--image DIR]
 *   mvm-demo --stop [...]
 *
 * It creates tenant "acme" with pool "web", boots three microVMs at once,
 * lists them, puts one to sleep and wakes it with the time each took,
 * pauses and resumes another, and prints the audit log. The VMs keep
 * running afterwards; `--stop` destroys them and removes the demo's state.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "names.h"
#include "netplan.h"
#include "store.h"

#define NINST	3

static struct mvm_engine *eng;
static struct mvm_store *st;

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
fail(const char *what, const struct mvm_error *e)
{
	fprintf(stderr, "mvm-demo: %s: %s\n", what, e->msg);
	exit(1);
}

/* Move one instance and say how long it took. */
static void
move(const char *id, enum mvm_state to, const char *verb)
{
	struct mvm_error e = { 0 };
	double t0 = now_ms();

	printf("  %-8s %s ... ", verb, id);
	fflush(stdout);
	if (mvm_engine_transition(eng, "acme", "web", id, to, 0, &e) < 0)
		fail(verb, &e);
	printf("%s in %.0f ms\n", mvm_state_name(to), now_ms() - t0);
}

static int
print_instance(const struct mvm_instance *in, void *arg)
{
	char ip[16];

	(void)arg;
	mvm_net_format_ip(mvm_net_addr(3, in->ip_offset), ip);
	printf("  %-12s %-10s %-14s pid %-8d\n", in->id, mvm_state_name(in->state),
	    ip, (int)in->pid);
	return 0;
}

static void
list(void)
{
	printf("  %-12s %-10s %-14s %s\n", "INSTANCE", "STATE", "IP", "VMM");
	mvm_store_instance_list(st, "acme", "web", print_instance, NULL, NULL);
}

static int
print_event(const struct mvm_event *ev, void *arg)
{
	time_t t = (time_t)(ev->time_ms / 1000);
	char when[16];

	(void)arg;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	printf("  %s %-10s %-20s %s\n", when, ev->instance, ev->action,
	    ev->detail);
	return 0;
}

static void *
boot(void *arg)
{
	struct mvm_error *e = calloc(1, sizeof(*e));
	const char *id = arg;

	if (e != NULL && mvm_engine_transition(eng, "acme", "web", id,
	    MVM_STATE_RUNNING, 0, e) == 0) {
		free(e);
		return NULL;
	}
	return e;
}

static int
destroy_one(const struct mvm_instance *in, void *arg)
{
	char (*ids)[MVM_ID_MAX + 1] = arg;

	for (int i = 0; i < 64; i++) {
		if (ids[i][0] == '\0') {
			snprintf(ids[i], sizeof(ids[i]), "%s", in->id);
			break;
		}
	}
	return 0;
}

static int
stop_all(void)
{
	char ids[64][MVM_ID_MAX + 1] = { { 0 } };
	struct mvm_error e = { 0 };

	mvm_store_instance_list(st, "acme", "web", destroy_one, ids, NULL);
	for (int i = 0; i < 64 && ids[i][0] != '\0'; i++) {
		printf("destroying %s\n", ids[i]);
		if (mvm_engine_destroy(eng, "acme", "web", ids[i], &e) < 0)
			fprintf(stderr, "mvm-demo: %s: %s\n", ids[i], e.msg);
	}
	mvm_store_pool_delete(st, "acme", "web", NULL);
	mvm_store_tenant_delete(st, "acme", NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "vmm", required_argument, NULL, 'v' },
		{ "image", required_argument, NULL, 'i' },
		{ "stop", no_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct mvm_engine_config cfg = { .state_dir = "/var/lib/mvm-demo",
	    .run_dir = "/run/mvm-demo", .vmm_path = "build/vmm/mvm-qemu",
	    .image_dir = "/var/lib/mvm/images/default",
	    .boot_timeout_ms = 120000 };
	char db[512], ids[NINST][MVM_ID_MAX + 1];
	struct mvm_error e = { 0 };
	struct mvm_event_filter f = { .tenant = "acme" };
	struct mvm_tenant t;
	struct mvm_pool p;
	pthread_t th[NINST];
	bool stop = false;
	double t0;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': cfg.state_dir = optarg; break;
		case 'r': cfg.run_dir = optarg; break;
		case 'v': cfg.vmm_path = optarg; break;
		case 'i': cfg.image_dir = optarg; break;
		case 'x': stop = true; break;
		default:
			fprintf(stderr, "usage: mvm-demo [--stop] [--state-dir DIR] "
			    "[--run-dir DIR] [--vmm PATH] [--image DIR]\n");
			return 2;
		}
	}
	snprintf(db, sizeof(db), "%s/state.db", cfg.state_dir);
	if (mkdir(cfg.state_dir, 0700) < 0 && errno != EEXIST) {
		perror(cfg.state_dir);
		return 1;
	}
	if (mvm_store_open(db, &st, &e) < 0)
		fail("store", &e);
	/* Opening the engine also settles anything a previous run left. */
	if (mvm_engine_open(&cfg, st, &eng, &e) < 0)
		fail("engine", &e);
	if (stop) {
		stop_all();
		goto out;
	}
	if (mvm_store_tenant_get(st, "acme", &t, NULL) == 0) {
		printf("A demo is already there; `make demo-stop` ends it.\n");
		list();
		goto out;
	}

	printf("\n1. Tenant acme (net_id 3, 10.240.3.0/24) with pool web "
	    "(1 vCPU, 128 MiB)\n");
	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "acme");
	t.net_id = 3;
	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "acme");
	snprintf(p.id, sizeof(p.id), "web");
	p.runtime.min_running_seconds = 0;
	p.runtime.min_warm_seconds = 0;
	p.runtime.drain_timeout_seconds = 2;
	if (mvm_store_tenant_create(st, &t, &e) < 0 ||
	    mvm_store_pool_create(st, &p, &e) < 0)
		fail("create", &e);

	printf("\n2. Booting %d microVMs at once (QEMU TCG here: a few seconds each)\n",
	    NINST);
	t0 = now_ms();
	for (int i = 0; i < NINST; i++) {
		struct mvm_instance in = { 0 };

		snprintf(in.tenant, sizeof(in.tenant), "acme");
		snprintf(in.pool, sizeof(in.pool), "web");
		if (mvm_names_instance_generate(in.id) < 0)
			snprintf(in.id, sizeof(in.id), "i-%08x", i);
		snprintf(ids[i], sizeof(ids[i]), "%s", in.id);
		if (mvm_store_instance_create(st, &in, &e) < 0)
			fail("instance", &e);
		pthread_create(&th[i], NULL, boot, ids[i]);
	}
	for (int i = 0; i < NINST; i++) {
		struct mvm_error *be = NULL;

		pthread_join(th[i], (void **)&be);
		if (be != NULL)
			fail(ids[i], be);
	}
	printf("  all %d running, guest agents answering, in %.1f s\n", NINST,
	    (now_ms() - t0) / 1000);
	list();

	printf("\n3. Sleep and wake %s (snapshot to disk, memory freed)\n", ids[0]);
	move(ids[0], MVM_STATE_SLEEPING, "sleep");
	list();
	move(ids[0], MVM_STATE_RUNNING, "wake");

	printf("\n4. Warm standby for %s (vCPUs paused, same process)\n", ids[1]);
	move(ids[1], MVM_STATE_WARM, "pause");
	move(ids[1], MVM_STATE_RUNNING, "resume");

	printf("\n5. The audit log\n");
	mvm_store_event_list(st, &f, print_event, NULL, NULL);

	printf("\nThe microVMs keep running. Look around:\n"
	    "  ps -o pid,rss,args -C mvm-qemu          the VMMs\n"
	    "  ls %s/tenants/acme/pools/web/instances/ each instance's logs\n"
	    "  sqlite3 %s 'select * from events'\n"
	    "Stop everything with: make demo-stop\n", cfg.state_dir, db);
out:
	mvm_engine_close(eng);
	mvm_store_close(st);
	return 0;
}
