/*
 * bench_fs: how fast mvmfs serves a large /mvm tree, against the same
 * paths on tmpfs where a comparison makes sense.
 *
 *   bench_fs [--mvmfs PATH] [--instances N] [--iterations N] [--runs N]
 *            [--no-small-pools]
 *
 * It mounts a private tree (mvmfs -f with its own state and run
 * directories in a temporary directory) and creates N instance records
 * (mkdir only, no guests). Every instance holds an address of its tenant's
 * /24 from creation on, so a tenant holds at most 252: the records go 250
 * to a tenant, each tenant with raised quotas and one pool. It then
 * measures the mkdir rate, listing a full pool, open+read+close of `state`
 * files against the same paths on tmpfs, the stat rate and the daemon's
 * resident memory. Unless told not to, it then creates N more instances
 * in new tenants as pools of ten and reports that mkdir rate too. It
 * prints one line per figure with its aim and asserts nothing. The tree is
 * unmounted, mvmfs reaped and the temporary directory removed on every
 * exit path.
 *
 * The mvmfs binary comes from --mvmfs, else $MVMFS, else the one built
 * alongside this program; the VMM it is given (it boots nothing, but
 * refuses to start without one) from $MVM_QEMU, else the built mvm-qemu,
 * and the image from $MVM_TEST_IMAGE, else the build's test image. Run it as root: mvmfs mounts with allow_other,
 * only root creates tenants, and the comparison tree is a private tmpfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "defaults.h"
#include "timing.h"

#ifndef MVMFS_DEFAULT
#define MVMFS_DEFAULT	"mvmfs"
#endif

#define POOL		"p"
#define PER_TENANT	250	/* instances; a /24 holds 252 */
#define SMALL_POOL_SIZE	10
#define SMALL_POOLS	(PER_TENANT / SMALL_POOL_SIZE)	/* per tenant */
#define MAX_RUNS	50

struct options {
	const char	*mvmfs;
	const char	*vmm;
	const char	*image;
	int		 instances;
	int		 iterations;
	int		 runs;
	bool		 small_pools;
};

/* Everything cleanup() must undo; filled as it is made. */
static struct {
	char	root[64];
	char	mnt[128];
	char	state[128];
	char	run[128];
	char	shm[128];
	bool	shm_mounted;
	pid_t	pid;
} bench;

static volatile sig_atomic_t interrupted;

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void
on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static void
cleanup(void)
{
	char cmd[256];
	int status;

	if (bench.mnt[0] != '\0' && bench.pid > 0) {
		snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s' 2>/dev/null",
		    bench.mnt);
		if (system(cmd) != 0)
			kill(bench.pid, SIGTERM);
		waitpid(bench.pid, &status, 0);
		bench.pid = 0;
	}
	if (bench.shm_mounted && umount(bench.shm) == 0)
		bench.shm_mounted = false;
	if (bench.root[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", bench.root);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_fs: could not remove %s\n",
			    bench.root);
		bench.root[0] = '\0';
	}
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench_fs: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);	/* atexit runs cleanup() */
}

static void
check_interrupt(void)
{
	if (interrupted)
		die("interrupted");
}

/* A path under the mount point, in one of four rotating buffers. */
static const char *
M(const char *fmt, ...)
{
	static char buf[4][512];
	static int i;
	char rel[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", bench.mnt, rel);
	return buf[i];
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: a fixed sequence, so runs pick the same instances. */
static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32) % n;
}

static void
start_daemon(const char *bin, const char *vmm, const char *image)
{
	struct stat st;
	int i, status;

	bench.pid = fork();
	if (bench.pid == -1)
		die("fork: %s", strerror(errno));
	if (bench.pid == 0) {
		execl(bin, bin, "-f", "--state-dir", bench.state, "--run-dir",
		    bench.run, "--vmm", vmm, "--image", image, bench.mnt,
		    (char *)NULL);
		fprintf(stderr, "bench_fs: %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	for (i = 0; i < 300; i++) {
		if (stat(M("README"), &st) == 0)
			return;
		if (waitpid(bench.pid, &status, WNOHANG) == bench.pid) {
			bench.pid = 0;
			die("mvmfs exited with status %#x before mounting",
			    status);
		}
		sleep_ms(50);
	}
	die("mvmfs did not mount %s within 15 s", bench.mnt);
}

static void
write_file(const char *path, const char *text)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		die("open %s: %s", path, strerror(errno));
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die("write %s: %s", path, strerror(errno));
	if (close(fd) < 0)
		die("close %s: %s", path, strerror(errno));
}

static void
make_dir(const char *path)
{
	if (mkdir(path, 0755) < 0)
		die("mkdir %s: %s", path, strerror(errno));
}

/* The resident set of mvmfs in KiB, from /proc/<pid>/status. */
static long
mvmfs_rss_kib(void)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)bench.pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* A tenant whose quotas hold PER_TENANT instances in one or more pools. */
static void
make_tenant(const char *tenant)
{
	char cfg[128];

	make_dir(M("tenants/%s", tenant));
	snprintf(cfg, sizeof(cfg), "max_instances_per_pool=%d\nmax_pools=%d\n",
	    PER_TENANT, SMALL_POOLS);
	write_file(M("tenants/%s/config", tenant), cfg);
}

/* The tenant of instance i: PER_TENANT instances to a tenant. */
static void
tenant_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "t%03d", i / PER_TENANT);
}

/* The path of instance i's `state` under `base`. */
static void
state_path(char *buf, size_t len, const char *base, int i)
{
	char t[16];

	tenant_name(t, sizeof(t), i);
	snprintf(buf, len, "%s/tenants/%s/pools/%s/instances/i%05d/state",
	    base, t, POOL, i);
}

/*
 * Read a directory as `ls` does, or with `stat_each` as `ls -l` does (lstat
 * of every entry). Returns the number of entries other than . and ..
 */
static int
list_dir(const char *path, bool stat_each)
{
	struct dirent *d;
	struct stat st;
	DIR *dir;
	int n = 0;

	if ((dir = opendir(path)) == NULL)
		die("opendir %s: %s", path, strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (stat_each && fstatat(dirfd(dir), d->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) < 0)
			die("stat %s/%s: %s", path, d->d_name, strerror(errno));
		n++;
	}
	closedir(dir);
	return n;
}

static double
median_list_ms(const char *path, bool stat_each, int runs, int want)
{
	double v[MAX_RUNS];
	struct bench_samples s;

	bench_samples_init(&s, v, MAX_RUNS);
	for (int r = 0; r < runs; r++) {
		double t0 = bench_now_us();
		int n = list_dir(path, stat_each);

		bench_samples_add(&s, (bench_now_us() - t0) / 1e3);
		if (n != want)
			die("%s lists %d entries, expected %d", path, n, want);
		check_interrupt();
	}
	return bench_summarize(&s).median;
}

/*
 * open+read+close of random `state` files under `base`; adds the
 * microseconds of each iteration to `lat`.
 */
static void
read_loop(const char *base, int instances, struct bench_samples *lat,
    int iters)
{
	char path[512], buf[64];
	int fd;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (int k = 0; k < iters; k++) {
		double t0;

		state_path(path, sizeof(path), base, (int)rnd(instances));
		t0 = bench_now_us();
		if ((fd = open(path, O_RDONLY)) < 0)
			die("open %s: %s", path, strerror(errno));
		if (read(fd, buf, sizeof(buf)) <= 0)
			die("read %s: %s", path, strerror(errno));
		close(fd);
		bench_samples_add(lat, bench_now_us() - t0);
		if (k % 1024 == 0)
			check_interrupt();
	}
}

/* stat of random `state` files under `base`; returns stats per second. */
static double
stat_rate(const char *base, int instances, int iters)
{
	char path[512];
	struct stat st;
	double t0, spent = 0;

	rng_state = 0x2545f4914f6cdd1dull;
	for (int k = 0; k < iters; k++) {
		state_path(path, sizeof(path), base, (int)rnd(instances));
		t0 = bench_now_us();
		if (stat(path, &st) < 0)
			die("stat %s: %s", path, strerror(errno));
		spent += bench_now_us() - t0;
	}
	return iters / (spent / 1e6);
}

/* The same `state` paths on a private tmpfs, each holding "created\n". */
static void
make_tmpfs_tree(int instances)
{
	static const char *const dirs[] = { "%s/tenants/%s", "%s/tenants/%s/"
	    "pools", "%s/tenants/%s/pools/" POOL, "%s/tenants/%s/pools/" POOL
	    "/instances" };
	char path[512], t[16];

	snprintf(bench.shm, sizeof(bench.shm), "%s/tmpfs", bench.root);
	make_dir(bench.shm);
	if (mount("tmpfs", bench.shm, "tmpfs", 0, "size=256m,mode=0755") < 0)
		die("mount tmpfs on %s: %s", bench.shm, strerror(errno));
	bench.shm_mounted = true;
	snprintf(path, sizeof(path), "%s/tenants", bench.shm);
	make_dir(path);
	for (int i = 0; i < instances; i++) {
		tenant_name(t, sizeof(t), i);
		if (i % PER_TENANT == 0)
			for (size_t d = 0; d < sizeof(dirs) / sizeof(*dirs);
			    d++) {
				snprintf(path, sizeof(path), dirs[d], bench.shm,
				    t);
				make_dir(path);
			}
		snprintf(path, sizeof(path),
		    "%s/tenants/%s/pools/%s/instances/i%05d", bench.shm, t,
		    POOL, i);
		make_dir(path);
		state_path(path, sizeof(path), bench.shm, i);
		write_file(path, "created\n");
		check_interrupt();
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: bench_fs [--mvmfs PATH] [--instances N] "
	    "[--iterations N] [--runs N] [--no-small-pools]\n"
	    "N instances: a multiple of 250, at most 49750\n");
	exit(2);
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "mvmfs", required_argument, NULL, 'm' },
		{ "instances", required_argument, NULL, 'n' },
		{ "iterations", required_argument, NULL, 'i' },
		{ "runs", required_argument, NULL, 'r' },
		{ "no-small-pools", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *env = getenv("MVMFS");
	const char *vmm = getenv("MVM_QEMU"), *image = getenv("MVM_TEST_IMAGE");
	int ch;

	o->mvmfs = env != NULL && *env != '\0' ? env : MVMFS_DEFAULT;
	o->vmm = vmm != NULL && *vmm != '\0' ? vmm : MVM_QEMU_DEFAULT;
	o->image = image != NULL && *image != '\0' ? image : MVM_IMAGE_DEFAULT;
	o->instances = 10000;
	o->iterations = 20000;
	o->runs = 7;
	o->small_pools = true;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			o->mvmfs = optarg;
			break;
		case 'n':
			o->instances = atoi(optarg);
			break;
		case 'i':
			o->iterations = atoi(optarg);
			break;
		case 'r':
			o->runs = atoi(optarg);
			break;
		case 's':
			o->small_pools = false;
			break;
		default:
			usage();
		}
	}
	/* Whole tenants, and names i00000..i99999 for both layouts. */
	if (optind != argc || o->instances < PER_TENANT ||
	    o->instances % PER_TENANT != 0 || o->instances > 49750 ||
	    o->iterations < 100 || o->runs < 1 ||
	    o->runs > MAX_RUNS)
		usage();
}

/* List every pool's instances; returns the milliseconds taken. */
static double
list_all_ms(int instances, bool stat_each)
{
	char t[16];
	double t0 = bench_now_us();
	int n = 0;

	for (int i = 0; i < instances; i += PER_TENANT) {
		tenant_name(t, sizeof(t), i);
		n += list_dir(M("tenants/%s/pools/%s/instances", t, POOL),
		    stat_each);
	}
	if (n != instances)
		die("the pools list %d instances, expected %d", n, instances);
	return (bench_now_us() - t0) / 1e3;
}

int
main(int argc, char **argv)
{
	struct options o;
	struct sigaction sa;
	char t[16];
	double t0, secs, *lat_buf, *tlat_buf, all_buf[MAX_RUNS];
	struct bench_samples lat, tlat, all;
	struct bench_summary fs, tmp;
	double fs_stat, tmp_stat;
	int tenants;

	parse_options(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	tenants = (o.instances + PER_TENANT - 1) / PER_TENANT;
	lat_buf = calloc((size_t)o.iterations, sizeof(*lat_buf));
	tlat_buf = calloc((size_t)o.iterations, sizeof(*tlat_buf));
	if (lat_buf == NULL || tlat_buf == NULL)
		die("out of memory");
	bench_samples_init(&lat, lat_buf, o.iterations);
	bench_samples_init(&tlat, tlat_buf, o.iterations);
	bench_samples_init(&all, all_buf, MAX_RUNS);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	atexit(cleanup);

	snprintf(bench.root, sizeof(bench.root), "/tmp/bench-fs-XXXXXX");
	if (mkdtemp(bench.root) == NULL) {
		bench.root[0] = '\0';
		die("mkdtemp: %s", strerror(errno));
	}
	snprintf(bench.mnt, sizeof(bench.mnt), "%s/mnt", bench.root);
	snprintf(bench.state, sizeof(bench.state), "%s/state", bench.root);
	snprintf(bench.run, sizeof(bench.run), "%s/run", bench.root);
	make_dir(bench.mnt);
	start_daemon(o.mvmfs, o.vmm, o.image);
	printf("bench_fs: %s, %d instances, %d per tenant and pool\n",
	    o.mvmfs, o.instances, PER_TENANT);

	/* 1. mkdir rate: the tenants and pools first, untimed. */
	for (int i = 0; i < o.instances; i += PER_TENANT) {
		tenant_name(t, sizeof(t), i);
		make_tenant(t);
		make_dir(M("tenants/%s/pools/%s", t, POOL));
	}
	t0 = bench_now_us();
	for (int i = 0; i < o.instances; i++) {
		tenant_name(t, sizeof(t), i);
		make_dir(M("tenants/%s/pools/%s/instances/i%05d", t, POOL, i));
		check_interrupt();
	}
	secs = (bench_now_us() - t0) / 1e6;
	printf("mkdir (%d pools of %d): %.0f instances/s (aim >= 2000)\n",
	    tenants, PER_TENANT, o.instances / secs);

	/* 2. Listing a full pool: names only, then names and attributes. */
	tenant_name(t, sizeof(t), 0);
	printf("ls of a pool of %d (readdir): %.2f ms median of %d "
	    "(aim < 200)\n", PER_TENANT, median_list_ms(M("tenants/%s/pools/"
	    "%s/instances", t, POOL), false, o.runs, PER_TENANT), o.runs);
	printf("ls -l of a pool of %d (readdir+stat): %.2f ms median of %d "
	    "(aim < 200)\n", PER_TENANT, median_list_ms(M("tenants/%s/pools/"
	    "%s/instances", t, POOL), true, o.runs, PER_TENANT), o.runs);
	for (int r = 0; r < o.runs; r++)
		bench_samples_add(&all, list_all_ms(o.instances, true));
	printf("ls -l of all %d pools (%d instances): %.1f ms median of %d\n",
	    tenants, o.instances, bench_summarize(&all).median, o.runs);

	/* 3. open+read+close of `state`, then the same on tmpfs. */
	make_tmpfs_tree(o.instances);
	read_loop(bench.mnt, o.instances, &lat, o.iterations);
	read_loop(bench.shm, o.instances, &tlat, o.iterations);
	fs = bench_summarize(&lat);
	tmp = bench_summarize(&tlat);
	printf("open+read+close state (%d random): median %.1f us, p99 %.1f "
	    "us\n", o.iterations, fs.median, fs.p99);
	printf("open+read+close state on tmpfs: median %.1f us, p99 %.1f us\n",
	    tmp.median, tmp.p99);
	printf("open+read+close ratio mvmfs/tmpfs: %.1fx median, %.1fx p99 "
	    "(aim <= 10x)\n", fs.median / tmp.median, fs.p99 / tmp.p99);

	/* 4. stat rate. */
	fs_stat = stat_rate(bench.mnt, o.instances, o.iterations);
	tmp_stat = stat_rate(bench.shm, o.instances, o.iterations);
	printf("stat of random state files: %.0f stat/s (tmpfs %.0f stat/s, "
	    "%.1fx slower)\n", fs_stat, tmp_stat, tmp_stat / fs_stat);

	/* 5. Resident memory with the instances in place. */
	printf("mvmfs VmRSS with %d instances: %.1f MiB (aim < 64)\n",
	    o.instances, mvmfs_rss_kib() / 1024.0);

	/* Optional: as many again, as pools of ten in new tenants. */
	if (o.small_pools) {
		int pools = 0;

		for (int i = 0; i < o.instances; i += PER_TENANT) {
			tenant_name(t, sizeof(t), o.instances + i);
			make_tenant(t);
		}
		t0 = bench_now_us();
		for (int i = o.instances; i < 2 * o.instances; i++) {
			tenant_name(t, sizeof(t), i);
			if (i % SMALL_POOL_SIZE == 0) {
				make_dir(M("tenants/%s/pools/s%03d", t,
				    i % PER_TENANT / SMALL_POOL_SIZE));
				pools++;
			}
			make_dir(M("tenants/%s/pools/s%03d/instances/i%05d",
			    t, i % PER_TENANT / SMALL_POOL_SIZE, i));
			check_interrupt();
		}
		secs = (bench_now_us() - t0) / 1e6;
		printf("mkdir (%d pools of %d, pool mkdirs timed too): %.0f "
		    "instances/s, %.0f mkdir/s (aim >= 2000)\n", pools,
		    SMALL_POOL_SIZE, o.instances / secs,
		    (o.instances + pools) / secs);
		printf("mvmfs VmRSS with %d instances: %.1f MiB\n",
		    2 * o.instances, mvmfs_rss_kib() / 1024.0);
	}
	free(lat_buf);
	free(tlat_buf);
	return 0;
}
