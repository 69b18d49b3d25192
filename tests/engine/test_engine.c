/*
 * test_engine.c: the lifecycle engine with real guests booted through
 * mvm-qemu, and its recovery after the engine's process is killed.
 *
 * Needs MVM_QEMU (the mvm-qemu binary, set by meson) and MVM_TEST_IMAGE
 * (a built guest image; scripts/check.sh builds it once per run).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "fc.h"
#include "guest.h"
#include "store.h"
#include "vmfix.h"
#include "vmm.h"

static struct vmfix fx;

static void
setup(void)
{
	vmfix_setup(&fx, "engine");
	vmfix_tenant_create(&fx, "acme", 7);
	vmfix_pool_create(&fx, "acme", "web");
}

static void
teardown(void)
{
	vmfix_teardown(&fx);
}

static void
make_instance(const char *id, struct mvm_instance *out)
{
	struct mvm_error e = { 0 };

	memset(out, 0, sizeof(*out));
	snprintf(out->tenant, sizeof(out->tenant), "acme");
	snprintf(out->pool, sizeof(out->pool), "web");
	snprintf(out->id, sizeof(out->id), "%s", id);
	out->state = MVM_STATE_CREATED;
	out->created_at = time(NULL);
	cr_assert_eq(mvm_store_instance_create(fx.store.st, out, &e), 0, "%s",
	    e.msg);
}

static struct mvm_instance
get(const char *id)
{
	struct mvm_instance in;

	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", "web", id, &in,
	    NULL), 0);
	return in;
}

static void
go(const char *id, enum mvm_state to)
{
	struct mvm_error e = { 0 };
	int rc = mvm_engine_transition(fx.eng, "acme", "web", id, to, 0, &e);

	cr_assert_eq(rc, 0, "-> %s: %d %s", mvm_state_name(to), rc, e.msg);
	cr_assert_eq(get(id).state, to);
}

static int
ping(const char *id, int timeout_ms, struct mvm_guest_pong *pong)
{
	struct mvm_instance in = get(id);
	char vsock[256];
	int fd = -1, rc;

	cr_assert_eq(mvm_engine_vsock_path(fx.eng, &in, vsock, sizeof(vsock)), 0);
	rc = mvm_guest_connect(vsock, MVM_GUEST_PORT, timeout_ms, &fd, NULL);
	if (rc == 0)
		rc = mvm_guest_ping(fd, timeout_ms, pong, NULL);
	mvm_guest_close(fd);
	return rc;
}

/* Run `script` with /bin/sh in the guest; returns its stdout (caller frees). */
static char *
guest_sh(const char *id, const char *script)
{
	struct mvm_instance in = get(id);
	struct mvm_guest_exec_result *r = vmfix_guest_sh(&fx, &in, script);
	char *out = strdup((char *)r->stdout_buf);

	mvm_guest_exec_free(r);
	return out;
}

/* Count entries under a directory, recursively (0 when it is gone). */
static int
count_entries(const char *path)
{
	char cmd[300], buf[32] = "";
	FILE *f;

	snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 2>/dev/null | wc -l",
	    path);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	pclose(f);
	return atoi(buf);
}

TestSuite(engine, .init = setup, .fini = teardown, .timeout = 600);

Test(engine, full_lifecycle)
{
	struct mvm_guest_pong p1, p2, p3;
	struct mvm_instance in;
	struct mvm_vmm_proc proc;
	char dir[256], snap[300], value[32], script[64], *text;
	struct stat sb;

	make_instance("i-00000001", &in);

	/* Cold start: the agent answers. */
	go("i-00000001", MVM_STATE_RUNNING);
	in = get("i-00000001");
	cr_assert_gt(in.pid, 0);
	cr_assert_eq(in.op, MVM_OP_NONE);
	cr_assert_eq(ping("i-00000001", 5000, &p1), 0);
	cr_assert_neq(p1.boot_id[0], '\0');

	/* Pause: the guest cannot answer. */
	go("i-00000001", MVM_STATE_WARM);
	cr_assert_eq(ping("i-00000001", 1500, &p2), -ETIMEDOUT);
	cr_assert_eq(get("i-00000001").pid, in.pid, "pause must keep the process");

	/* Resume: the same process, the same boot, uptime moved on. */
	go("i-00000001", MVM_STATE_RUNNING);
	cr_assert_eq(get("i-00000001").pid, in.pid, "resume must not relaunch");
	cr_assert_eq(ping("i-00000001", 5000, &p2), 0);
	cr_assert_str_eq(p2.boot_id, p1.boot_id);
	cr_assert_geq(p2.uptime_ms, p1.uptime_ms);

	/* A value that lives only in guest memory (the root's upper layer is tmpfs). */
	snprintf(value, sizeof(value), "%08x%08x", (unsigned)rand(),
	    (unsigned)getpid());
	snprintf(script, sizeof(script), "echo %s > /tmp/probe", value);
	free(guest_sh("i-00000001", script));

	/* Sleep: no process, a snapshot on disk. */
	proc = (struct mvm_vmm_proc){ .pid = in.pid, .start_time = in.pid_start };
	go("i-00000001", MVM_STATE_SLEEPING);
	cr_assert_not(mvm_vmm_alive(&proc), "the VMM must be gone after sleep");
	cr_assert_eq(get("i-00000001").pid, 0);
	cr_assert_eq(mvm_engine_instance_dir(fx.eng, &in, dir, sizeof(dir)), 0);
	snprintf(snap, sizeof(snap), "%s/snapshot/mem", dir);
	cr_assert_eq(stat(snap, &sb), 0, "no memory file at %s", snap);
	cr_assert_gt(sb.st_size, 0);
	snprintf(snap, sizeof(snap), "%s/snapshot/vmstate", dir);
	cr_assert_eq(stat(snap, &sb), 0, "no state file at %s", snap);

	/* Wake: a new process, the same guest (boot id), uptime continues. */
	go("i-00000001", MVM_STATE_RUNNING);
	cr_assert_neq(get("i-00000001").pid, in.pid);
	cr_assert_eq(ping("i-00000001", 5000, &p3), 0);
	cr_assert_str_eq(p3.boot_id, p1.boot_id, "wake must restore the same guest");
	cr_assert_geq(p3.uptime_ms, p2.uptime_ms);
	text = guest_sh("i-00000001", "cat /tmp/probe");
	cr_assert_eq(strncmp(text, value, strlen(value)), 0,
	    "memory after wake holds \"%s\", not \"%s\"", text, value);
	free(text);

	/* Sleep from warm, wake to warm, resume. */
	go("i-00000001", MVM_STATE_WARM);
	go("i-00000001", MVM_STATE_SLEEPING);
	go("i-00000001", MVM_STATE_WARM);
	go("i-00000001", MVM_STATE_RUNNING);
	cr_assert_eq(ping("i-00000001", 5000, &p3), 0);
	cr_assert_str_eq(p3.boot_id, p1.boot_id);

	/* Stop: no process; a fresh boot has a new boot id. */
	in = get("i-00000001");
	proc = (struct mvm_vmm_proc){ .pid = in.pid, .start_time = in.pid_start };
	go("i-00000001", MVM_STATE_STOPPED);
	cr_assert_not(mvm_vmm_alive(&proc));
	go("i-00000001", MVM_STATE_RUNNING);
	cr_assert_eq(ping("i-00000001", 5000, &p3), 0);
	cr_assert_str_neq(p3.boot_id, p1.boot_id, "a cold boot is a new guest");

	/* Destroy: nothing left. */
	in = get("i-00000001");
	proc = (struct mvm_vmm_proc){ .pid = in.pid, .start_time = in.pid_start };
	cr_assert_eq(mvm_engine_destroy(fx.eng, "acme", "web", "i-00000001",
	    NULL), 0);
	cr_assert_not(mvm_vmm_alive(&proc));
	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", "web",
	    "i-00000001", &in, NULL), -ENOENT);
	cr_assert_eq(count_entries(dir), 0, "files left in %s", dir);
	snprintf(snap, sizeof(snap), "%s/vm", fx.run_dir);
	cr_assert_eq(count_entries(snap), 0, "sockets left in %s", snap);
}

Test(engine, refusals)
{
	struct mvm_instance in;
	struct mvm_error e = { 0 };
	struct mvm_intent it;
	struct mvm_tenant t;
	struct mvm_pool p;

	make_instance("i-00000001", &in);
	/* Not allowed from created. */
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000001",
	    MVM_STATE_WARM, 0, &e), -EOPNOTSUPP);
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000002",
	    MVM_STATE_RUNNING, 0, &e), -ENOENT);

	/* Minimum runtime holds a fresh instance in running, force overrides. */
	cr_assert_eq(mvm_store_pool_get(fx.store.st, "acme", "web", &p, NULL),
	    0);
	p.runtime.min_running_seconds = 3600;
	cr_assert_eq(mvm_store_pool_update(fx.store.st, &p, NULL), 0);
	go("i-00000001", MVM_STATE_RUNNING);
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000001",
	    MVM_STATE_WARM, 0, &e), -EAGAIN);
	cr_assert(strstr(e.msg, "min_running_seconds") != NULL, "%s", e.msg);
	cr_assert_eq(get("i-00000001").state, MVM_STATE_RUNNING);
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000001",
	    MVM_STATE_WARM, MVM_ENGINE_FORCE, &e), 0, "%s", e.msg);
	cr_assert_eq(get("i-00000001").state, MVM_STATE_WARM);

	/* Quotas: with max_running 0 a second instance cannot start; nothing
	 * is launched and no intent is left behind. */
	cr_assert_eq(mvm_store_tenant_get(fx.store.st, "acme", &t, NULL), 0);
	t.quota.max_running = 0;
	cr_assert_eq(mvm_store_tenant_update(fx.store.st, &t, NULL), 0);
	make_instance("i-00000002", &in);
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000002",
	    MVM_STATE_RUNNING, 0, &e), -EDQUOT);
	cr_assert(strstr(e.msg, "max_running") != NULL, "%s", e.msg);
	in = get("i-00000002");
	cr_assert_eq(in.state, MVM_STATE_CREATED);
	cr_assert_eq(in.pid, 0);
	cr_assert_eq(mvm_store_intent_get(fx.store.st, "acme", "web",
	    "i-00000002", &it, NULL), -ENOENT);
	/* Resuming the warm one needs a running slot too. */
	cr_assert_eq(mvm_engine_transition(fx.eng, "acme", "web", "i-00000001",
	    MVM_STATE_RUNNING, 0, &e), -EDQUOT);
	cr_assert_eq(mvm_engine_destroy(fx.eng, "acme", "web", "i-00000002",
	    NULL), 0);
}

Test(engine, vmm_death_is_noticed)
{
	struct mvm_instance in;
	int i;

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	in = get("i-00000001");
	cr_assert_eq(kill(in.pid, SIGKILL), 0);
	/* The monitor thread moves it to stopped with the reason. */
	for (i = 0; i < 100 && get("i-00000001").state != MVM_STATE_STOPPED; i++)
		usleep(100 * 1000);
	in = get("i-00000001");
	cr_assert_eq(in.state, MVM_STATE_STOPPED);
	cr_assert(strstr(in.reason, "exited on its own") != NULL, "%s", in.reason);
	cr_assert_eq(in.pid, 0);
}

/*
 * Crash recovery: a child process runs the transition to `to` and is
 * killed with SIGKILL once its intent reaches `step`. Returns the step the
 * intent had reached; the engine and the store are left closed.
 */
static int
crash_at(enum mvm_state to, int step)
{
	struct mvm_intent it;
	pid_t child;
	int status, i, reached = -1;

	vmfix_close(&fx);
	child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct mvm_store *st;
		struct mvm_engine *eng;

		if (mvm_store_open(fx.store.db, &st, NULL) < 0 ||
		    mvm_engine_open(&fx.cfg, st, &eng, NULL) < 0)
			_exit(2);
		mvm_engine_transition(eng, "acme", "web", "i-00000001", to, 0,
		    NULL);
		_exit(0);
	}
	storefix_open(&fx.store);
	for (i = 0; i < 6000; i++) {
		if (mvm_store_intent_get(fx.store.st, "acme", "web",
		    "i-00000001", &it, NULL) == 0 && it.step >= step) {
			reached = it.step;
			break;
		}
		if (waitpid(child, &status, WNOHANG) == child)
			cr_assert_fail("the transition finished before step %d", step);
		usleep(5 * 1000);
	}
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	cr_assert_geq(reached, step, "never reached step %d", step);
	storefix_close(&fx.store);
	return reached;
}

/*
 * Reopen the engine after crash_at() stopped it at step `reached`: it
 * settles the instance in a true state.
 */
static void
check_settled(int reached, enum mvm_state expect1, enum mvm_state expect2)
{
	struct mvm_intent it;
	struct mvm_instance in;

	vmfix_open(&fx);
	in = get("i-00000001");
	cr_assert_eq(in.op, MVM_OP_NONE);
	cr_assert(in.state == expect1 || in.state == expect2,
	    "after a crash at step %d the instance is %s", reached,
	    mvm_state_name(in.state));
	cr_assert_eq(mvm_store_intent_get(fx.store.st, "acme", "web",
	    "i-00000001", &it, NULL), -ENOENT, "the intent must be settled");
	if (in.state == MVM_STATE_RUNNING || in.state == MVM_STATE_WARM) {
		struct mvm_vmm_proc p = { in.pid, in.pid_start };

		cr_assert(mvm_vmm_alive(&p), "a running instance has its VMM");
	}
}

/*
 * No VMM under our run dir but the one the record names; all are killed,
 * so this comes last.
 */
static void
check_no_orphans(void)
{
	struct mvm_instance in = get("i-00000001");
	char prefix[200];

	snprintf(prefix, sizeof(prefix), "%s/vm/", fx.run_dir);
	cr_assert_eq(mvm_vmm_kill_orphans(prefix, NULL, NULL),
	    in.state == MVM_STATE_RUNNING || in.state == MVM_STATE_WARM ? 1 : 0);
}

static void
crash_during(enum mvm_state to, int step, enum mvm_state expect1,
    enum mvm_state expect2)
{
	check_settled(crash_at(to, step), expect1, expect2);
	check_no_orphans();
}

/* Step numbers of runtime/engine/engine_int.h (enum step): LAUNCHED=2, BOOTED=4, SNAPSHOTTING=7, STOPPING=10. */
Test(engine, crash_during_start)
{
	struct mvm_instance in;

	make_instance("i-00000001", &in);
	crash_during(MVM_STATE_RUNNING, 4, MVM_STATE_RUNNING, MVM_STATE_STOPPED);
}

Test(engine, crash_during_sleep)
{
	struct mvm_instance in;

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	crash_during(MVM_STATE_SLEEPING, 7, MVM_STATE_RUNNING,
	    MVM_STATE_SLEEPING);
}

Test(engine, crash_during_wake)
{
	struct mvm_instance in;

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	go("i-00000001", MVM_STATE_SLEEPING);
	crash_during(MVM_STATE_RUNNING, 2, MVM_STATE_SLEEPING,
	    MVM_STATE_RUNNING);
}

/* ---- recovery asks the VMM (issue 10, item 8) ---- */

/* The snapshot directory of instance `id`. */
static void
snapshot_dir(const char *id, char *buf, size_t len)
{
	struct mvm_instance in = get(id);
	char dir[256];

	cr_assert_eq(mvm_engine_instance_dir(fx.eng, &in, dir, sizeof(dir)), 0);
	snprintf(buf, len, "%s/snapshot", dir);
}

/* Pause or resume the VMM of `id` behind the engine's back. */
static void
vmm_set(const char *api_sock, enum mvm_fc_vm_target target)
{
	struct mvm_error e = { 0 };
	struct mvm_fc *fc = NULL;

	cr_assert_eq(mvm_fc_open(api_sock, &fc, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_fc_patch_vm(fc, target, &e), 0, "%s", e.msg);
	mvm_fc_close(fc);
}

struct event_find {
	const char	*action;
	const char	*needle;
	bool		 found;
};

static int
event_match(const struct mvm_event *ev, void *arg)
{
	struct event_find *f = arg;

	if (strcmp(ev->action, f->action) == 0 &&
	    strstr(ev->detail, f->needle) != NULL)
		f->found = true;
	return 0;
}

/* Whether instance i-00000001 has an event `action` whose detail holds `needle`. */
static bool
has_event(const char *action, const char *needle)
{
	struct mvm_event_filter flt = { .instance = "i-00000001" };
	struct event_find f = { action, needle, false };

	cr_assert_eq(mvm_store_event_list(fx.store.st, &flt, event_match, &f,
	    NULL), 0);
	return f.found;
}

/*
 * With the engine closed, pause or resume the VMM behind its back; the
 * reopened engine's record must say `expect`, with an event naming `word`.
 */
static void
flip(const char *api, enum mvm_fc_vm_target target, enum mvm_state expect,
    const char *word)
{
	enum mvm_state s;

	vmfix_close(&fx);
	vmm_set(api, target);
	vmfix_open(&fx);
	s = get("i-00000001").state;
	cr_assert_eq(s, expect, "the record says %s of a %s VMM",
	    mvm_state_name(s), word);
	cr_assert(has_event("instance.recovered", word));
}

Test(engine, recovery_asks_the_vmm_whether_it_runs)
{
	struct mvm_instance in;
	char vsock[256], api[256];

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	in = get("i-00000001");
	cr_assert_eq(mvm_engine_vsock_path(fx.eng, &in, vsock, sizeof(vsock)), 0);
	snprintf(api, sizeof(api), "%.*s/api.sock",
	    (int)(strrchr(vsock, '/') - vsock), vsock);

	/* A running record whose VMM is paused is warm; and back. */
	flip(api, MVM_FC_VM_PAUSED, MVM_STATE_WARM, "paused");
	cr_assert_eq(get("i-00000001").pid, in.pid);
	flip(api, MVM_FC_VM_RESUMED, MVM_STATE_RUNNING, "running");
	free(guest_sh("i-00000001", "true"));
}

/*
 * Hold the lock that orders the host's calls to guest `id`
 * (mvm_guest_connect in guest.h), as another process would.
 */
static int
hold_guest(const char *id)
{
	struct mvm_instance in = get(id);
	char vsock[256], lock[270];
	int fd;

	cr_assert_eq(mvm_engine_vsock_path(fx.eng, &in, vsock, sizeof(vsock)), 0);
	snprintf(lock, sizeof(lock), "%s.lock", vsock);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "cannot open %s", lock);
	cr_assert_eq(flock(fd, LOCK_EX), 0);
	return fd;
}

Test(engine, crash_during_wake_after_load_sends_wake)
{
	struct mvm_instance in;
	char snap[300], *text;
	long long guest_s;
	int lock, reached;

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	/* A stale guest clock, which only a Wake puts right. */
	free(guest_sh("i-00000001", "date -u -s '2001-09-09 01:46:40' >/dev/null"));
	go("i-00000001", MVM_STATE_SLEEPING);
	snapshot_dir("i-00000001", snap, sizeof(snap));

	/*
	 * With the guest's lock held here, the engine's Wake waits; it is
	 * killed after the load (step BOOTED=4), before its Wake.
	 */
	lock = hold_guest("i-00000001");
	reached = crash_at(MVM_STATE_RUNNING, 4);
	close(lock);
	check_settled(reached, MVM_STATE_RUNNING, MVM_STATE_RUNNING);
	text = guest_sh("i-00000001", "date +%s");
	guest_s = atoll(text);
	cr_assert(guest_s > (long long)time(NULL) - 120,
	    "the guest clock says %s: the recovered wake sent no Wake", text);
	free(text);
	cr_assert_eq(access(snap, F_OK), -1, "the spent snapshot %s is left",
	    snap);
	check_no_orphans();
}

Test(engine, crash_during_stop_of_sleeping_leaves_no_snapshot)
{
	struct mvm_instance in;
	char snap[300], junk[340];

	make_instance("i-00000001", &in);
	go("i-00000001", MVM_STATE_RUNNING);
	go("i-00000001", MVM_STATE_SLEEPING);
	snapshot_dir("i-00000001", snap, sizeof(snap));
	/* Many files make the removal long enough to be cut short. */
	for (int i = 0; i < 20000; i++) {
		int fd;

		snprintf(junk, sizeof(junk), "%s/junk-%05d", snap, i);
		fd = open(junk, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		cr_assert_geq(fd, 0);
		close(fd);
	}
	crash_during(MVM_STATE_STOPPED, 10, MVM_STATE_STOPPED,
	    MVM_STATE_STOPPED);
	cr_assert_eq(access(snap, F_OK), -1, "an interrupted stop left %s",
	    snap);
}
