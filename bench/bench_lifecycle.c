/*
 * bench_lifecycle: how long each lifecycle step of one real guest takes,
 * through the engine, the Firecracker API client and the VMM, against the
 * same cold boot done by launching QEMU directly with the arguments the VMM
 * used (the baseline).
 *
 *   bench_lifecycle [--runs N] [--vmm PATH] [--image DIR] [--mem MIB]
 *
 * The VMM is --vmm, else $MVM_QEMU, else the mvm-qemu of this build; the
 * image --image, else the build's test image.
 *
 * It prints, per step, the median and the spread (min..max) over N runs in
 * milliseconds, and the snapshot size. It asserts nothing: figures only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "defaults.h"
#include "engine.h"
#include "guest.h"
#include "store.h"
#include "timing.h"
#include "vmm.h"

#define MAX_RUNS	50
#define MAX_ARGS	128

enum metric {
	M_COLD, M_PAUSE, M_RESUME, M_SLEEP, M_WAKE, M_RAW, M_COUNT
};

static const char *const metric_names[M_COUNT] = {
	[M_COLD] = "cold start to agent Ping",
	[M_PAUSE] = "pause (running -> warm)",
	[M_RESUME] = "resume (warm -> running)",
	[M_SLEEP] = "sleep (snapshot, VMM gone)",
	[M_WAKE] = "wake to agent Ping",
	[M_RAW] = "raw QEMU cold boot to agent Ping",
};

/* The samples of each metric, in milliseconds. */
static double sample_buf[M_COUNT][MAX_RUNS];
static struct bench_samples samples[M_COUNT];

static void
die(const char *what, const struct mvm_error *e)
{
	fprintf(stderr, "bench_lifecycle: %s: %s\n", what,
	    e != NULL ? e->msg : strerror(errno));
	exit(1);
}

/* Ping the agent through the hybrid vsock socket until it answers. */
static int
ping_vsock(const char *vsock, int timeout_ms)
{
	struct mvm_guest_pong pong;
	double deadline = bench_now_ms() + timeout_ms;
	int fd, rc;

	do {
		fd = -1;
		rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, 1000, &fd, NULL);
		if (rc == 0)
			rc = mvm_guest_ping(fd, 1000, &pong, NULL);
		mvm_guest_close(fd);
		if (rc == 0)
			return 0;
		usleep(20 * 1000);
	} while (bench_now_ms() < deadline);
	return rc;
}

/* The pid of a child of `parent` (QEMU under mvm-qemu), or 0. */
static pid_t
child_of(pid_t parent)
{
	struct dirent *d;
	DIR *dir = opendir("/proc");
	pid_t found = 0;

	while (dir != NULL && found == 0 && (d = readdir(dir)) != NULL) {
		char path[300], buf[512], *p;
		int ppid;
		FILE *f;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == parent)
			found = atoi(d->d_name);
		fclose(f);
	}
	if (dir != NULL)
		closedir(dir);
	return found;
}

/* Read a process's argv into `argv` (strings in `buf`). Returns argc. */
static int
read_cmdline(pid_t pid, char *buf, size_t len, char **argv)
{
	char path[64];
	ssize_t n;
	int fd, argc = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n && argc < MAX_ARGS - 1; a += strlen(a) + 1)
		argv[argc++] = a;
	argv[argc] = NULL;
	return argc;
}

/*
 * The baseline: run QEMU with the arguments mvm-qemu gave it, minus -S
 * (so it starts at once instead of waiting for QMP "cont"), and time until
 * the agent answers on the virtio-serial socket directly.
 */
static double
raw_boot(char **argv, const char *port_sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mvm_guest_pong pong;
	double t0 = bench_now_ms(), t = -1;
	pid_t pid;
	int fd = -1, status;

	unlink(port_sock);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (strlen(port_sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, port_sock, strlen(port_sock) + 1);
	while (bench_now_ms() - t0 < 120000) {
		if (fd < 0) {
			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
				close(fd);
				fd = -1;
				usleep(5 * 1000);
				continue;
			}
		}
		if (mvm_guest_ping(fd, 1000, &pong, NULL) == 0) {
			t = bench_now_ms() - t0;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return t;
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_lifecycle [--runs N] [--vmm PATH] "
	    "[--image DIR] [--mem MIB]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "vmm", required_argument, NULL, 'v' },
		{ "image", required_argument, NULL, 'i' },
		{ "mem", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vmm = getenv("MVM_QEMU"), *image = MVM_IMAGE_DEFAULT;
	char root[] = "/tmp/mvm-bench-XXXXXX", state[128], run[128], db[160];
	char qbuf[16384], *qargv[MAX_ARGS], vsock[256], dir[512], path[600];
	char rawdir[160], port_sock[200];
	struct bench_summary sum[M_COUNT];
	struct mvm_engine_config cfg;
	struct mvm_error e = { 0 };
	struct mvm_store *st;
	struct mvm_engine *eng;
	struct mvm_tenant t;
	struct mvm_pool p;
	long snap_bytes = 0;
	int runs = 5, mem = 128, c, qargc = 0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r': runs = atoi(optarg); break;
		case 'v': vmm = optarg; break;
		case 'i': image = optarg; break;
		case 'm': mem = atoi(optarg); break;
		default: usage();
		}
	}
	if (vmm == NULL || *vmm == '\0')
		vmm = MVM_QEMU_DEFAULT;
	if (runs < 1 || runs > MAX_RUNS || mem < 16)
		usage();
	for (int m = 0; m < M_COUNT; m++)
		bench_samples_init(&samples[m], sample_buf[m], MAX_RUNS);
	if (mkdtemp(root) == NULL)
		die("mkdtemp", NULL);
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(run, sizeof(run), "%s/run", root);
	snprintf(db, sizeof(db), "%s/state.db", root);
	cfg = (struct mvm_engine_config){ .state_dir = state, .run_dir = run,
	    .vmm_path = vmm, .image_dir = image, .boot_timeout_ms = 120000 };
	if (mvm_store_open(db, &st, &e) < 0)
		die("store", &e);
	if (mvm_engine_open(&cfg, st, &eng, &e) < 0)
		die("engine", &e);
	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "bench");
	t.net_id = 4000;
	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "bench");
	snprintf(p.id, sizeof(p.id), "guests");
	p.vcpus = 1;
	p.mem_mib = (uint32_t)mem;
	p.runtime.min_running_seconds = 0;
	p.runtime.min_warm_seconds = 0;
	p.runtime.drain_timeout_seconds = 1;
	if (mvm_store_tenant_create(st, &t, &e) < 0 ||
	    mvm_store_pool_create(st, &p, &e) < 0)
		die("records", &e);

	printf("bench_lifecycle: %d runs, 1 vCPU, %d MiB, VMM %s, image %s\n",
	    runs, mem, vmm, image);
	for (int r = 0; r < runs; r++) {
		struct mvm_instance in = { 0 };
		struct stat sb;
		double t0;

		snprintf(in.tenant, sizeof(in.tenant), "bench");
		snprintf(in.pool, sizeof(in.pool), "guests");
		snprintf(in.id, sizeof(in.id), "i-%08x", r + 1);
		if (mvm_store_instance_create(st, &in, &e) < 0)
			die("instance", &e);
#define STEP(metric, to) do {						\
		t0 = bench_now_ms();					\
		if (mvm_engine_transition(eng, "bench", "guests", in.id,	\
		    (to), 0, &e) < 0)					\
			die(metric_names[metric], &e);			\
		bench_samples_add(&samples[metric], bench_now_ms() - t0); \
	} while (0)
		STEP(M_COLD, MVM_STATE_RUNNING);
		if (r == 0) {
			/* Capture QEMU's arguments for the baseline. */
			struct mvm_instance cur;
			pid_t q;

			mvm_store_instance_get(st, "bench", "guests", in.id, &cur,
			    NULL);
			q = child_of(cur.pid);
			if (q > 0)
				qargc = read_cmdline(q, qbuf, sizeof(qbuf), qargv);
		}
		STEP(M_PAUSE, MVM_STATE_WARM);
		STEP(M_RESUME, MVM_STATE_RUNNING);
		STEP(M_SLEEP, MVM_STATE_SLEEPING);
		mvm_engine_instance_dir(eng, &in, dir, sizeof(dir));
		snprintf(path, sizeof(path), "%s/snapshot/mem", dir);
		snap_bytes = stat(path, &sb) == 0 ? (long)sb.st_size : 0;
		snprintf(path, sizeof(path), "%s/snapshot/vmstate", dir);
		snap_bytes += stat(path, &sb) == 0 ? (long)sb.st_size : 0;
		/* Wake to Ping: the transition, then the agent's answer. */
		t0 = bench_now_ms();
		if (mvm_engine_transition(eng, "bench", "guests", in.id,
		    MVM_STATE_RUNNING, 0, &e) < 0)
			die("wake", &e);
		mvm_store_instance_get(st, "bench", "guests", in.id, &in, NULL);
		mvm_engine_vsock_path(eng, &in, vsock, sizeof(vsock));
		if (ping_vsock(vsock, 30000) < 0)
			die("ping after wake", NULL);
		bench_samples_add(&samples[M_WAKE], bench_now_ms() - t0);
		if (mvm_engine_destroy(eng, "bench", "guests", in.id, &e) < 0)
			die("destroy", &e);
		fprintf(stderr, "run %d/%d done\n", r + 1, runs);
	}

	/* The baseline, with mvm-qemu's run directory swapped for ours. */
	snprintf(rawdir, sizeof(rawdir), "%s/raw", root);
	mkdir(rawdir, 0700);
	snprintf(port_sock, sizeof(port_sock), "%s/vsock-52.sock", rawdir);
	if (qargc > 0) {
		static char rewritten[MAX_ARGS][1024];
		char *raw[MAX_ARGS];
		int n = 0;

		for (int i = 0; i < qargc; i++) {
			char *s;

			if (strcmp(qargv[i], "-S") == 0)
				continue;
			snprintf(rewritten[n], sizeof(rewritten[n]), "%s", qargv[i]);
			/* Any socket path=.../<name>.sock moves into rawdir. */
			if ((s = strstr(qargv[i], "path=")) != NULL) {
				const char *end = strchr(s, ','), *slash;
				int plen = (int)(s - qargv[i]);
				int nlen = end ? (int)(end - s) : (int)strlen(s);

				slash = memrchr(s, '/', (size_t)nlen);
				if (slash == NULL || snprintf(rewritten[n],
				    sizeof(rewritten[n]), "%.*spath=%s%.*s%s", plen,
				    qargv[i], rawdir, (int)(s + nlen - slash), slash,
				    end ? end : "") >= (int)sizeof(rewritten[n]))
					die("QEMU argument too long", NULL);
			}
			raw[n] = rewritten[n];
			n++;
		}
		raw[n] = NULL;
		for (int r = 0; r < runs; r++) {
			double ms = raw_boot(raw, port_sock);

			if (ms > 0)
				bench_samples_add(&samples[M_RAW], ms);
		}
	}

	printf("%-36s %10s %10s %10s\n", "step", "median", "min", "max");
	for (int m = 0; m < M_COUNT; m++) {
		sum[m] = bench_summarize(&samples[m]);
		if (sum[m].n == 0) {
			printf("%-36s %10s\n", metric_names[m], "n/a");
			continue;
		}
		printf("%-36s %8.0f ms %7.0f ms %7.0f ms\n", metric_names[m],
		    sum[m].median, sum[m].min, sum[m].max);
	}
	printf("snapshot size: %.1f MiB (memory plus device state)\n",
	    snap_bytes / 1048576.0);
	if (sum[M_RAW].n > 0 && sum[M_COLD].n > 0) {
		double cold = sum[M_COLD].median, raw = sum[M_RAW].median;

		printf("overhead of mvm over raw QEMU: %+.1f%%\n",
		    (cold - raw) / raw * 100);
		printf("wake to Ping / cold start: %.0f%%\n",
		    sum[M_WAKE].median / cold * 100);
	}
	mvm_engine_close(eng);
	mvm_store_close(st);
	snprintf(qbuf, sizeof(qbuf), "rm -rf '%s'", root);
	return system(qbuf) == 0 ? 0 : 1;
}
