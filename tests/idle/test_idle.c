/*
 * test_idle.c: counters read from a fake /proc and /sys, intervals at the
 * thresholds, the idle track, and real processes: a spinning one is busy,
 * a sleeping one idle.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "idle.h"
#include "tmpdir.h"

static char root[64];

/* A /proc/<pid>/stat line with the fields the reader uses. */
static void
put_stat(int pid, const char *comm, int ppid, unsigned utime,
    unsigned stime, unsigned cutime, unsigned cstime, unsigned start)
{
	char rel[64], text[512];

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(text, sizeof(text), "%d (%s) S %d %d %d 0 -1 4194560 100 0 "
	    "0 0 %u %u %u %u 20 0 1 0 %u 1000 10 18446744073709551615 1 1 0 "
	    "0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", pid, comm, ppid, pid, pid,
	    utime, stime, cutime, cstime, start);
	tmpdir_put(root, rel, text);
}

static void
make_root(void)
{
	tmpdir_make(root, sizeof(root), "idle");
}

static void
remove_root(void)
{
	cr_assert_eq(tmpdir_remove(root), 0);
}

TestSuite(idle_fake, .init = make_root, .fini = remove_root);

/*
 * init (1), the VMM (100) with a child (101) and a grandchild (102), an
 * unrelated process (200) whose child (201) is not in the tree, and junk.
 */
static void
fake_tree(void)
{
	put_stat(1, "init", 0, 1000, 1000, 0, 0, 1);
	put_stat(100, "mvm-qemu", 1, 10, 5, 3, 2, 5000);
	put_stat(101, "qemu) x (y", 100, 200, 100, 0, 0, 5001);
	put_stat(102, "helper", 101, 7, 3, 0, 0, 5002);
	put_stat(200, "other", 1, 999, 999, 0, 0, 6000);
	put_stat(201, "other kid", 200, 50, 50, 0, 0, 6001);
	tmpdir_put(root, "proc/300/stat", "300 (broken) S 1 2 3\n");
	tmpdir_put(root, "proc/self/stat", "not a pid\n");
	tmpdir_put(root, "proc/uptime", "1.0 1.0\n");
}

Test(idle_fake, procs_and_tree)
{
	struct mvm_idle_procs p;
	uint64_t ticks = 0;

	fake_tree();
	cr_assert_eq(mvm_idle_procs_read(root, &p), 6);
	for (size_t i = 1; i < p.n; i++)
		cr_assert_lt(p.v[i - 1].pid, p.v[i].pid);
	cr_assert_eq(p.v[2].pid, 101);
	cr_assert_eq(p.v[2].ppid, 100, "a ')' in the name must not confuse");
	cr_assert_eq(p.v[2].start, 5001);

	/* 20 + 300 + 10: the VMM, its child, its grandchild; not 200/201. */
	cr_assert_eq(mvm_idle_procs_cpu(&p, 100, 5000, &ticks), 0);
	cr_assert_eq(ticks, 330);
	cr_assert_eq(mvm_idle_procs_cpu(&p, 100, 0, &ticks), 0);
	cr_assert_eq(ticks, 330);
	cr_assert_eq(mvm_idle_procs_cpu(&p, 102, 5002, &ticks), 0);
	cr_assert_eq(ticks, 10);
	cr_assert_eq(mvm_idle_procs_cpu(&p, 100, 4999, &ticks), -ESRCH,
	    "a reused pid is not the VMM");
	cr_assert_eq(mvm_idle_procs_cpu(&p, 300, 0, &ticks), -ESRCH);
	cr_assert_eq(mvm_idle_procs_cpu(&p, 42, 0, &ticks), -ESRCH);
	mvm_idle_procs_free(&p);
	cr_assert_null(p.v);
	cr_assert_eq(p.n, 0);
	mvm_idle_procs_free(NULL);
}

Test(idle_fake, no_proc)
{
	struct mvm_idle_procs p;

	cr_assert_eq(mvm_idle_procs_read(root, &p), -ENOENT);
	cr_assert_eq(p.n, 0);
	mvm_idle_procs_free(&p);
}

Test(idle_fake, sample_counters)
{
	struct mvm_idle_procs p;
	struct mvm_idle_sample s;
	long hz = sysconf(_SC_CLK_TCK);

	fake_tree();
	tmpdir_put(root, "sys/class/net/mvm-t1i3/statistics/rx_bytes",
	    "1000\n");
	tmpdir_put(root, "sys/class/net/mvm-t1i3/statistics/tx_bytes", "234\n");
	tmpdir_put(root, "sys/class/net/mvm-t1i4/statistics/rx_bytes", "12x\n");
	tmpdir_put(root, "sys/class/net/mvm-t1i4/statistics/tx_bytes", "1\n");
	cr_assert_gt(mvm_idle_procs_read(root, &p), 0);

	cr_assert_eq(mvm_idle_sample(&p, root, 100, 5000, "mvm-t1i3",
	    MVM_IDLE_GUEST_BUSY, &s), 0);
	cr_assert_eq(s.cpu_ns, 330ull * 1000000000ull / (uint64_t)hz);
	cr_assert(s.net_known);
	cr_assert_eq(s.net_bytes, 1234);
	cr_assert_eq(s.guest, MVM_IDLE_GUEST_BUSY);
	cr_assert_gt(s.mono_ns, 0);
	cr_assert_gt(s.at, 1600000000);

	/* No tap, or a tap that is gone: traffic unknown, not zero. */
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, NULL,
	    MVM_IDLE_GUEST_IDLE, &s), 0);
	cr_assert_not(s.net_known);
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "",
	    MVM_IDLE_GUEST_IDLE, &s), 0);
	cr_assert_not(s.net_known);
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "mvm-t1i9",
	    MVM_IDLE_GUEST_IDLE, &s), 0);
	cr_assert_not(s.net_known);

	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "mvm-t1i4",
	    MVM_IDLE_GUEST_IDLE, &s), -EIO);
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "../../etc",
	    MVM_IDLE_GUEST_IDLE, &s), -EINVAL);
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "..",
	    MVM_IDLE_GUEST_IDLE, &s), -EINVAL);
	cr_assert_eq(mvm_idle_sample(&p, root, 100, 0, "a-name-too-long-x",
	    MVM_IDLE_GUEST_IDLE, &s), -EINVAL);
	cr_assert_eq(mvm_idle_sample(&p, root, 77, 0, "mvm-t1i3",
	    MVM_IDLE_GUEST_IDLE, &s), -ESRCH);
	mvm_idle_procs_free(&p);
}

/* A sample at `sec` seconds with `cpu_ms` of CPU and `net` bytes. */
static struct mvm_idle_sample
at(int64_t sec, uint64_t cpu_ms, int64_t net, enum mvm_idle_guest g)
{
	struct mvm_idle_sample s = {
		.mono_ns = (uint64_t)sec * 1000000000u,
		.at = 1700000000 + sec,
		.cpu_ns = cpu_ms * 1000000u,
		.net_bytes = net < 0 ? 0 : (uint64_t)net,
		.net_known = net >= 0,
		.guest = g,
	};

	return s;
}

#define G_IDLE MVM_IDLE_GUEST_IDLE
#define G_BUSY MVM_IDLE_GUEST_BUSY
#define G_UNKNOWN MVM_IDLE_GUEST_UNKNOWN

Test(idle, interval_at_thresholds)
{
	static const struct {
		uint64_t	cpu_ms;		/* over 10 s */
		int64_t		net;		/* over 10 s; -1 unknown */
		enum mvm_idle_guest g;
		bool		idle;
		const char	*text;
	} cases[] = {
		{ 0, 0, G_IDLE, true,
		  "cpu 0.0% < 5%, net 0 B < 1024 B, guest idle" },
		{ 40, 0, G_IDLE, true,
		  "cpu 0.4% < 5%, net 0 B < 1024 B, guest idle" },
		{ 499, 1023, G_IDLE, true,
		  "cpu 5.0% < 5%, net 1023 B < 1024 B, guest idle" },
		{ 500, 0, G_IDLE, false,
		  "cpu 5.0% >= 5%, net 0 B < 1024 B, guest idle" },
		{ 501, 0, G_IDLE, false,
		  "cpu 5.0% >= 5%, net 0 B < 1024 B, guest idle" },
		{ 0, 1024, G_IDLE, false,
		  "cpu 0.0% < 5%, net 1024 B >= 1024 B, guest idle" },
		{ 0, 1025, G_IDLE, false,
		  "cpu 0.0% < 5%, net 1025 B >= 1024 B, guest idle" },
		{ 0, -1, G_IDLE, true,
		  "cpu 0.0% < 5%, net unknown (no tap), guest idle" },
		{ 0, 0, G_BUSY, false,
		  "cpu 0.0% < 5%, net 0 B < 1024 B, guest busy" },
		{ 0, 0, G_UNKNOWN, true,
		  "cpu 0.0% < 5%, net 0 B < 1024 B, guest status unknown" },
		{ 25000, -1, G_BUSY, false,
		  "cpu 250.0% >= 5%, net unknown (no tap), guest busy" },
	};
	struct mvm_sleep_policy p;
	struct mvm_idle_interval iv;
	char text[256];

	mvm_sleep_policy_defaults(&p);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mvm_idle_sample a = at(100, 7000, 5000, G_IDLE);
		struct mvm_idle_sample b = at(110, 7000 + cases[i].cpu_ms,
		    cases[i].net < 0 ? -1 : 5000 + cases[i].net, cases[i].g);

		cr_assert_eq(mvm_idle_interval(&a, &b, &iv), 0, "case %zu", i);
		cr_assert_eq(iv.ms, 10000);
		cr_assert_eq(iv.net_known, cases[i].net >= 0);
		if (cases[i].net >= 0)
			cr_assert_eq(iv.net_bytes, (uint64_t)cases[i].net);
		cr_assert_eq(mvm_idle_is_idle(&iv, &p), cases[i].idle,
		    "case %zu", i);
		mvm_idle_describe(&iv, &p, text, sizeof(text));
		cr_assert_str_eq(text, cases[i].text, "case %zu", i);
	}
}

Test(idle, interval_errors)
{
	struct mvm_idle_sample a = at(100, 500, 100, G_IDLE);
	struct mvm_idle_sample b;
	struct mvm_idle_interval iv;

	b = at(100, 600, 100, G_IDLE);
	cr_assert_eq(mvm_idle_interval(&a, &b, &iv), -EINVAL, "same time");
	b = at(99, 600, 100, G_IDLE);
	cr_assert_eq(mvm_idle_interval(&a, &b, &iv), -EINVAL, "earlier");
	b = at(101, 499, 100, G_IDLE);
	cr_assert_eq(mvm_idle_interval(&a, &b, &iv), -ESTALE, "cpu went back");
	b = at(101, 500, 99, G_IDLE);
	cr_assert_eq(mvm_idle_interval(&a, &b, &iv), -ESTALE, "net went back");

	/* One side without a tap: the interval's traffic is unknown. */
	b = at(101, 500, -1, G_IDLE);
	cr_assert_eq(mvm_idle_interval(&a, &b, &iv), 0);
	cr_assert_not(iv.net_known);
	cr_assert_eq(mvm_idle_interval(&b, &(struct mvm_idle_sample){
	    .mono_ns = b.mono_ns + 1, .cpu_ns = b.cpu_ns, .net_known = true,
	    .net_bytes = 0 }, &iv), 0);
	cr_assert_not(iv.net_known);
	cr_assert_eq(iv.ms, 1, "intervals under 1 ms count as 1 ms");
}

Test(idle, track)
{
	struct mvm_sleep_policy p;
	struct mvm_idle_track t;
	struct mvm_idle_sample s;
	const int64_t t0 = 1700000000;

	mvm_sleep_policy_defaults(&p);
	mvm_idle_track_init(&t);
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 + 50), 0);

	s = at(0, 0, 0, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 0, "baseline only");
	cr_assert_not(t.have_iv);
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 + 5), 0);

	s = at(10, 10, 0, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 1);
	cr_assert_eq(t.idle_since, t0, "idle since the interval began");
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 + 10), 10);
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 - 3), 0, "clock went back");

	s = at(20, 20, 100, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 1);
	cr_assert_eq(t.idle_since, t0, "an idle interval keeps the start");
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 + 25), 25);

	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), -EINVAL);
	cr_assert_eq(t.idle_since, t0, "an ignored sample changes nothing");

	s = at(30, 20, 100, G_BUSY);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 0, "the guest is busy");
	cr_assert_eq(t.idle_since, 0);
	cr_assert_eq(mvm_idle_track_seconds(&t, t0 + 30), 0);

	s = at(40, 20, 100, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 1);
	cr_assert_eq(t.idle_since, t0 + 30);

	s = at(50, 2020, 100, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 0, "20% CPU is busy");
	cr_assert_eq(t.idle_since, 0);

	s = at(60, 2020, 2000, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 0, "traffic is busy");
	cr_assert_eq(t.idle_since, 0);

	s = at(70, 2020, 2000, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 1);
	cr_assert_eq(t.idle_since, t0 + 60);

	/* A new VMM: its counters start again, and so does the track. */
	s = at(80, 5, 0, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), -ESTALE);
	cr_assert_eq(t.idle_since, 0);
	cr_assert_not(t.have_iv);
	s = at(90, 5, 0, G_IDLE);
	cr_assert_eq(mvm_idle_track_add(&t, &s, &p), 1);
	cr_assert_eq(t.idle_since, t0 + 80);
}

/* Real processes. */

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The groups spawn() made, killed by the suite's fini even on failure. */
static pid_t spawned[2];
static size_t nspawned;

/*
 * Fork a process leading its own process group. When `spin` it forks a
 * child that spins, so only the tree, not the top, is busy; either way it
 * then waits for signals. Each dies with its parent. Returns its pid once
 * everything runs.
 */
static pid_t
spawn(bool spin)
{
	int fds[2];
	char c;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setpgid(0, 0);
		if (spin && fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(fds[0]);
			close(fds[1]);
			for (volatile unsigned long n = 0;; n++)
				;
		}
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	setpgid(pid, pid);
	spawned[nspawned++] = pid;
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void
reap_all(void)
{
	for (size_t i = 0; i < nspawned; i++) {
		kill(-spawned[i], SIGKILL);
		waitpid(spawned[i], NULL, 0);
	}
	nspawned = 0;
}

TestSuite(idle_real, .fini = reap_all);

static void
sample_real(pid_t pid, struct mvm_idle_sample *s)
{
	struct mvm_idle_procs p;
	uint64_t start = 0;

	cr_assert_gt(mvm_idle_procs_read("", &p), 0);
	for (size_t i = 0; i < p.n; i++)
		if (p.v[i].pid == pid)
			start = p.v[i].start;
	cr_assert_neq(start, 0, "pid %d is in /proc", (int)pid);
	cr_assert_eq(mvm_idle_sample(&p, "", pid, start, "lo",
	    MVM_IDLE_GUEST_UNKNOWN, s), 0);
	mvm_idle_procs_free(&p);
}

Test(idle_real, busy_tree_vs_sleeper, .timeout = 20)
{
	struct mvm_sleep_policy p;
	struct mvm_idle_sample b0, b1, s0, s1;
	struct mvm_idle_interval bi, si;
	pid_t busy, sleeper;

	mvm_sleep_policy_defaults(&p);
	p.idle_net_bytes = UINT32_MAX;	/* lo's traffic is not ours */
	busy = spawn(true);
	sleeper = spawn(false);
	sample_real(busy, &b0);
	sample_real(sleeper, &s0);
	cr_assert(b0.net_known, "lo has statistics");
	nap_ms(500);
	sample_real(busy, &b1);
	sample_real(sleeper, &s1);
	reap_all();

	cr_assert_eq(mvm_idle_interval(&b0, &b1, &bi), 0);
	cr_assert_eq(mvm_idle_interval(&s0, &s1, &si), 0);
	cr_assert_geq(bi.ms, 500);
	cr_assert_not(mvm_idle_is_idle(&bi, &p),
	    "a spinning child is busy: %.1f%%", bi.cpu_percent);
	cr_assert(mvm_idle_is_idle(&si, &p),
	    "a sleeping process is idle: %.1f%%", si.cpu_percent);
}
