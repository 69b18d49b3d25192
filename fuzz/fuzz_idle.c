/*
 * fuzz_idle.c: the /proc and /sys readers of idle measurement
 * (runtime/vmm/idle.c) on arbitrary file contents.
 *
 * A fake root is made once in a temporary directory ($TMPDIR, else
 * /dev/shm or /tmp): proc/1 to proc/4 (plus proc/self and proc/0, which
 * the reader must pass over) and the statistics directory of tap "tap0".
 * Input: up to six parts separated by '|', the contents of proc/1/stat to
 * proc/4/stat, rx_bytes and tx_bytes. Every input rewrites all six files,
 * and a part the input lacks removes its file, so nothing is left from the
 * input before.
 *
 * Checked properties: the snapshot holds only the fake pids, sorted, once
 * each; the CPU of a tree is at least that of its top and does not depend
 * on the start-time check when the start time is right, which a wrong one
 * fails; a sample of a present VMM either succeeds or says the counters do
 * not parse, and knows the traffic only when both counter files exist; two
 * samples of unchanged files make an interval with no CPU and no traffic.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idle.h"

#define NPROC	4
#define NPART	(NPROC + 2)

static char root[PATH_MAX];
static char files[NPART][PATH_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
must(bool ok, const char *what)
{
	if (!ok) {
		perror(what);
		abort();
	}
}

/* Make `root`/`rel` (a directory), or abort. */
static void
mkdir_in(const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	must(mkdir(path, 0700) == 0, path);
}

static void
cleanup(void)
{
	static const char *const dirs[] = {
		"proc/1", "proc/2", "proc/3", "proc/4", "proc/self", "proc/0",
		"proc", "sys/class/net/tap0/statistics", "sys/class/net/tap0",
		"sys/class/net", "sys/class", "sys", "",
	};
	char path[PATH_MAX];

	for (int i = 0; i < NPART; i++)
		unlink(files[i]);
	snprintf(path, sizeof(path), "%s/proc/0/stat", root);
	unlink(path);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, dirs[i]);
		rmdir(path);
	}
}

/* Write `len` bytes to `path`, or remove it when `data` is NULL. */
static void
put(const char *path, const uint8_t *data, size_t len)
{
	ssize_t n;
	int fd;

	if (data == NULL) {
		must(unlink(path) == 0 || errno == ENOENT, path);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	must(fd >= 0, path);
	while (len > 0) {
		n = write(fd, data, len);
		must(n > 0, path);
		data += n;
		len -= (size_t)n;
	}
	close(fd);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char zero_stat[] = "0 (zero) S 0 0 0 0 0 0 0 0 0 0 "
	    "5 5 5 5 20 0 1 0 1 0 0\n";
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX];

	(void)argc;
	(void)argv;
	/* Memory rather than disk where there is a choice: it is much faster. */
	if (tmp == NULL || tmp[0] == '\0')
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(root, sizeof(root), "%s/fuzz_idle.XXXXXX", tmp);
	must(mkdtemp(root) != NULL, root);
	atexit(cleanup);
	mkdir_in("proc");
	for (int i = 1; i <= NPROC; i++) {
		snprintf(path, sizeof(path), "proc/%d", i);
		mkdir_in(path);
		snprintf(files[i - 1], PATH_MAX, "%s/proc/%d/stat", root, i);
	}
	/* Entries the reader must pass over: not a pid, and pid 0. */
	mkdir_in("proc/self");
	mkdir_in("proc/0");
	snprintf(path, sizeof(path), "%s/proc/0/stat", root);
	put(path, (const uint8_t *)zero_stat, strlen(zero_stat));
	mkdir_in("sys");
	mkdir_in("sys/class");
	mkdir_in("sys/class/net");
	mkdir_in("sys/class/net/tap0");
	mkdir_in("sys/class/net/tap0/statistics");
	snprintf(files[NPROC], PATH_MAX,
	    "%s/sys/class/net/tap0/statistics/rx_bytes", root);
	snprintf(files[NPROC + 1], PATH_MAX,
	    "%s/sys/class/net/tap0/statistics/tx_bytes", root);
	return 0;
}

/* Write the input's parts over the fake files; returns which exist. */
static unsigned
lay_out(const uint8_t *data, size_t size)
{
	const uint8_t *part = data, *bar;
	unsigned present = 0;
	size_t left = size;
	int i;

	for (i = 0; i < NPART && part != NULL; i++) {
		bar = memchr(part, '|', left);
		put(files[i], part, bar != NULL ? (size_t)(bar - part) : left);
		present |= 1u << i;
		if (bar != NULL) {
			left -= (size_t)(bar - part) + 1;
			part = bar + 1;
		} else {
			part = NULL;
		}
	}
	for (; i < NPART; i++)
		put(files[i], NULL, 0);
	return present;
}

static const struct mvm_idle_proc *
entry(const struct mvm_idle_procs *p, int32_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
	return NULL;
}

static void
check_procs(const struct mvm_idle_procs *p, int r)
{
	const struct mvm_idle_proc *top;
	uint64_t ticks, again;

	if (r < 0 || (size_t)r != p->n || p->n > NPROC)
		abort();
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid < 1 || p->v[i].pid > NPROC || p->v[i].ppid < 0 ||
		    (i > 0 && p->v[i - 1].pid >= p->v[i].pid))
			abort();
	for (int32_t pid = 0; pid <= NPROC + 1; pid++) {
		top = entry(p, pid);
		ticks = again = 0;
		if (top == NULL) {
			if (mvm_idle_procs_cpu(p, pid, 0, &ticks) != -ESRCH)
				abort();
			continue;
		}
		if (mvm_idle_procs_cpu(p, pid, 0, &ticks) != 0 ||
		    ticks < top->ticks ||
		    (top->start != 0 && (mvm_idle_procs_cpu(p, pid,
		    top->start, &again) != 0 || again != ticks)))
			abort();
		if (top->start + 1 != 0 && mvm_idle_procs_cpu(p, pid,
		    top->start + 1, &again) != -ESRCH)
			abort();
	}
}

static void
check_samples(const struct mvm_idle_procs *p, unsigned present)
{
	static const struct mvm_sleep_policy policy = {
		.idle_cpu_percent = 5, .idle_net_bytes = 1024,
	};
	bool taps = (present >> NPROC & 3u) == 3u;
	struct mvm_idle_sample a, b;
	struct mvm_idle_interval iv;
	struct mvm_idle_track t;
	char text[256];
	int r;

	r = mvm_idle_sample(p, root, 1, 0, "tap0", MVM_IDLE_GUEST_IDLE, &a);
	if (entry(p, 1) == NULL) {
		if (r != -ESRCH)
			abort();
		return;
	}
	if (r == -EIO)
		return;
	if (r != 0 || a.net_known != taps)
		abort();
	if (mvm_idle_sample(p, root, 1, 0, "tap0", MVM_IDLE_GUEST_BUSY,
	    &b) != 0 || b.cpu_ns != a.cpu_ns || b.net_known != a.net_known ||
	    b.net_bytes != a.net_bytes)
		abort();
	r = mvm_idle_interval(&a, &b, &iv);
	if (r == -EINVAL)
		return;		/* the clock did not move between the two */
	if (r != 0 || iv.cpu_percent != 0.0 || iv.net_known != taps ||
	    (taps && iv.net_bytes != 0))
		abort();
	if (mvm_idle_describe(&iv, &policy, text, sizeof(text)) <= 0)
		abort();
	mvm_idle_track_init(&t);
	if (mvm_idle_track_add(&t, &a, &policy) != 0 ||
	    mvm_idle_track_add(&t, &b, &policy) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvm_idle_procs p;
	unsigned present;
	int r;

	present = lay_out(data, size);
	r = mvm_idle_procs_read(root, &p);
	check_procs(&p, r);
	check_samples(&p, present);
	mvm_idle_procs_free(&p);
	return 0;
}
