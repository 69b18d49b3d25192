/*
 * test_sleeper_fake.c: the sleep policy runner over a fake /proc and /sys
 * and instances with no VMM behind them: which instances it measures, when
 * a track starts afresh or is dropped, deferrals told once, pinned pools
 * left alone, a transition held elsewhere left alone, a failed one told.
 *
 * The fake VMM pids lie above any pid_max Linux allows (4194304), so the
 * engine can never mistake a real process for one of them.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "netplan.h"
#include "sleeper.h"
#include "store.h"
#include "storefix.h"
#include "tmpdir.h"

#define NET_ID		3017
#define PID_WEB		5000001
#define PID_PINNED	5000002
#define PID_OTHER	5000003

static struct {
	struct storefix		 store;	/* the temp dir and its store */
	char			 fake[96];
	struct mvm_engine	*eng;
	struct mvm_sleeper	*sl;
	char			 told[32][MVM_EVENT_ACTION_MAX + 1];
	int			 ntold;
	int			 moved;
} fx;

/* A /proc/<pid>/stat line with `ticks` of user time. */
static void
put_stat(int pid, int ppid, unsigned ticks, unsigned start)
{
	char rel[64], text[512];

	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(text, sizeof(text), "%d (vmm) S %d %d %d 0 -1 4194560 100 0 "
	    "0 0 %u 0 0 0 20 0 1 0 %u 1000 10 18446744073709551615 1 1 0 "
	    "0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n", pid, ppid, pid, pid, ticks,
	    start);
	tmpdir_put(fx.fake, rel, text);
}

/* The byte counters of the tap of the instance at `offset`. */
static void
put_tap(uint16_t offset, unsigned rx, unsigned tx)
{
	char tap[16], rel[96], num[32];

	mvm_net_tap_name(NET_ID, offset, tap);
	snprintf(rel, sizeof(rel), "sys/class/net/%s/statistics/rx_bytes", tap);
	snprintf(num, sizeof(num), "%u\n", rx);
	tmpdir_put(fx.fake, rel, num);
	snprintf(rel, sizeof(rel), "sys/class/net/%s/statistics/tx_bytes", tap);
	snprintf(num, sizeof(num), "%u\n", tx);
	tmpdir_put(fx.fake, rel, num);
}

static void
on_event(void *arg, const struct mvm_event *ev)
{
	cr_assert_eq(arg, &fx);
	if (fx.ntold < 32)
		snprintf(fx.told[fx.ntold++], sizeof(fx.told[0]), "%s",
		    ev->action);
}

static void
on_moved(void *arg, const char *tenant, const char *pool)
{
	(void)tenant;
	(void)pool;
	cr_assert_eq(arg, &fx);
	fx.moved++;
}

static void
pool(const char *id, bool pinned, uint32_t min_running)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	snprintf(p.tenant, sizeof(p.tenant), "acme");
	snprintf(p.id, sizeof(p.id), "%s", id);
	p.pinned = pinned;
	p.runtime.min_running_seconds = min_running;
	p.sleep.warm_after_idle_seconds = 2;
	p.sleep.sleep_after_idle_seconds = 4;
	cr_assert_eq(mvm_store_pool_create(fx.store.st, &p, NULL), 0);
}

static void
instance(const char *pool, const char *id, enum mvm_state state, int pid,
    unsigned start)
{
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "acme");
	snprintf(in.pool, sizeof(in.pool), "%s", pool);
	snprintf(in.id, sizeof(in.id), "%s", id);
	in.state = state;
	in.created_at = time(NULL);
	if (state == MVM_STATE_RUNNING)
		in.entered_running_at = time(NULL);
	in.pid = pid;
	in.pid_start = start;
	cr_assert_eq(mvm_store_instance_create(fx.store.st, &in, NULL), 0);
}

/*
 * Pool web (minimum runtime 3600 s, so the policy can only defer), pool
 * still (pinned), pool other (no minimum runtime); a running instance in
 * each, with a tap for web's, and a stopped one in web.
 */
static void
setup(void)
{
	struct mvm_error e = { 0 };
	struct mvm_tenant t;
	char state[128], run[128];

	memset(&fx, 0, sizeof(fx));
	storefix_setup(&fx.store, "sleeper-fake");
	snprintf(fx.fake, sizeof(fx.fake), "%s/fake", fx.store.dir);
	snprintf(state, sizeof(state), "%s/state", fx.store.dir);
	snprintf(run, sizeof(run), "%s/run", fx.store.dir);
	cr_assert_eq(mkdir(fx.fake, 0755), 0);

	put_stat(1, 0, 0, 1);
	put_stat(PID_WEB, 1, 100, 7000);
	put_stat(PID_WEB + 10, PID_WEB, 50, 7001);	/* a child of the VMM */
	put_stat(PID_PINNED, 1, 100, 8000);
	put_stat(PID_OTHER, 1, 100, 9000);
	put_tap(MVM_NET_FIRST_OFFSET, 1000, 1000);

	cr_assert_eq(mvm_engine_open(&(struct mvm_engine_config){
	    .state_dir = state, .run_dir = run, .vmm_path = "/bin/false",
	    .image_dir = fx.store.dir, .api_timeout_ms = 500 }, fx.store.st,
	    &fx.eng, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_sleeper_open(&(struct mvm_sleeper_config){
	    .st = fx.store.st, .eng = fx.eng, .root = fx.fake,
	    .guest_timeout_ms = 100, .on_event = on_event,
	    .on_event_arg = &fx, .on_moved = on_moved,
	    .on_moved_arg = &fx }, &fx.sl, &e), 0, "%s", e.msg);

	mvm_tenant_init(&t);
	snprintf(t.id, sizeof(t.id), "acme");
	t.net_id = NET_ID;
	cr_assert_eq(mvm_store_tenant_create(fx.store.st, &t, NULL), 0);
	pool("web", false, 3600);
	pool("still", true, 0);
	pool("other", false, 0);
	/* Offsets in creation order: web/a 3, still/b 4, other/c 5. */
	instance("web", "a", MVM_STATE_RUNNING, PID_WEB, 7000);
	instance("still", "b", MVM_STATE_RUNNING, PID_PINNED, 8000);
	instance("other", "c", MVM_STATE_RUNNING, PID_OTHER, 9000);
	instance("web", "z", MVM_STATE_STOPPED, 0, 0);
}

static void
teardown(void)
{
	mvm_sleeper_close(fx.sl);
	mvm_engine_close(fx.eng);
	cr_expect_eq(storefix_teardown(&fx.store), 0);
}

TestSuite(sleeper_fake, .init = setup, .fini = teardown, .timeout = 60);

static struct mvm_sleeper_result
pass(void)
{
	struct mvm_sleeper_result r;
	struct mvm_error e = { 0 };

	/* The clock of a sample must move on from the last one. */
	usleep(20 * 1000);
	cr_assert_eq(mvm_sleeper_pass(fx.sl, &r, &e), 0, "%s", e.msg);
	return r;
}

static struct mvm_idle_track
track(const char *pool, const char *id)
{
	struct mvm_idle_track t;

	cr_assert_eq(mvm_sleeper_instance(fx.sl, "acme", pool, id, &t), 0,
	    "%s/%s has no track", pool, id);
	return t;
}

struct count {
	const char	*action;
	int		 n;
	char		 detail[MVM_EVENT_DETAIL_MAX + 1];	/* the last */
};

static char last_detail[MVM_EVENT_DETAIL_MAX + 1];

static int
count_event(const struct mvm_event *ev, void *arg)
{
	struct count *c = arg;

	if (strcmp(ev->action, c->action) == 0) {
		c->n++;
		snprintf(c->detail, sizeof(c->detail), "%s", ev->detail);
	}
	return 0;
}

/*
 * How many events `action` instance pool/id has in the store; the detail
 * of the last one goes to last_detail.
 */
static int
events(const char *pool, const char *id, const char *action)
{
	struct mvm_event_filter f = { .tenant = "acme", .pool = pool,
	    .instance = id };
	struct count c = { .action = action };

	cr_assert_eq(mvm_store_event_list(fx.store.st, &f, count_event, &c,
	    NULL), 0);
	snprintf(last_detail, sizeof(last_detail), "%s", c.detail);
	return c.n;
}

static void
set_instance(const char *pool, const char *id, enum mvm_state state,
    int pid, unsigned start)
{
	struct mvm_instance in;

	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", pool, id, &in,
	    NULL), 0);
	in.state = state;
	in.pid = pid;
	in.pid_start = start;
	cr_assert_eq(mvm_store_instance_update(fx.store.st, &in, NULL), 0);
}

Test(sleeper_fake, measures_running_and_warm_instances)
{
	struct mvm_idle_track t;
	struct mvm_sleeper_result r;

	cr_assert_eq(mvm_sleeper_instance(fx.sl, "acme", "web", "a", &t),
	    -ENOENT, "nothing is measured before a pass");
	r = pass();
	cr_assert_eq(r.measured, 3, "the stopped instance is not measured");
	cr_assert_eq(mvm_sleeper_instance(fx.sl, "acme", "web", "z", &t),
	    -ENOENT);
	t = track("web", "a");
	cr_assert(t.have_last);
	cr_assert_not(t.have_iv, "one sample is only a baseline");

	/* Nothing moved: an idle interval, the tap read. */
	pass();
	t = track("web", "a");
	cr_assert(t.have_iv);
	cr_assert(t.idle);
	cr_assert(t.iv.net_known);
	cr_assert_eq(t.iv.net_bytes, 0);
	cr_assert_eq(t.iv.guest, MVM_IDLE_GUEST_UNKNOWN,
	    "no agent answers for a fake VMM");
	t = track("still", "b");
	cr_assert_not(t.iv.net_known, "an instance without a tap");

	/* Traffic on the tap makes web/a busy; the others stay idle. */
	put_tap(MVM_NET_FIRST_OFFSET, 5000, 3000);
	pass();
	t = track("web", "a");
	cr_assert_not(t.idle);
	cr_assert_eq(t.iv.net_bytes, 6000);
	cr_assert(track("still", "b").idle);

	/* CPU time of the VMM's child counts for the VMM. */
	put_tap(MVM_NET_FIRST_OFFSET, 5000, 3000);
	pass();
	cr_assert(track("web", "a").idle);
	put_stat(PID_WEB + 10, PID_WEB, 100000, 7001);
	pass();
	t = track("web", "a");
	cr_assert_not(t.idle);
	cr_assert_gt(t.iv.cpu_percent, 100.0);

	/* A warm instance is measured too. */
	set_instance("web", "a", MVM_STATE_WARM, PID_WEB, 7000);
	r = pass();
	cr_assert_eq(r.measured, 3);
	cr_assert(track("web", "a").have_iv, "the same VMM: the track goes on");
}

Test(sleeper_fake, tracks_restart_and_drop)
{
	struct mvm_idle_track t;
	struct mvm_sleeper_result r;

	pass();
	pass();
	cr_assert(track("web", "a").have_iv);

	/* Another VMM process (a wake, a restart): the track starts afresh. */
	put_stat(PID_WEB, 1, 0, 7500);
	set_instance("web", "a", MVM_STATE_RUNNING, PID_WEB, 7500);
	pass();
	t = track("web", "a");
	cr_assert(t.have_last);
	cr_assert_not(t.have_iv);

	/* A VMM gone from /proc is not measured; its track is kept empty. */
	put_stat(PID_WEB, 1, 0, 9999);
	r = pass();
	cr_assert_eq(r.measured, 2);
	cr_assert_eq(mvm_sleeper_instance(fx.sl, "acme", "web", "a", &t),
	    -ENOENT);

	/* An instance that left running and warm is dropped. */
	pass();
	cr_assert(track("other", "c").have_iv);
	set_instance("other", "c", MVM_STATE_SLEEPING, 0, 0);
	r = pass();
	cr_assert_eq(r.measured, 1);
	cr_assert_eq(mvm_sleeper_instance(fx.sl, "acme", "other", "c", &t),
	    -ENOENT);
	/* And starts from nothing when it comes back. */
	set_instance("other", "c", MVM_STATE_RUNNING, PID_OTHER, 9000);
	pass();
	cr_assert_not(track("other", "c").have_iv);
}

Test(sleeper_fake, defers_once_and_leaves_pinned_pools_alone)
{
	struct mvm_sleeper_result r, sum = { 0 };
	struct mvm_intent it = { .from_state = MVM_STATE_RUNNING,
	    .to_state = MVM_STATE_STOPPED, .op = MVM_OP_STOPPING,
	    .started_at = time(NULL) };
	struct mvm_idle_track pinned;
	struct mvm_instance in;
	int i;

	/* A transition of other/c is in progress: the policy leaves it be. */
	snprintf(it.tenant, sizeof(it.tenant), "acme");
	snprintf(it.pool, sizeof(it.pool), "other");
	snprintf(it.instance, sizeof(it.instance), "c");
	cr_assert_eq(mvm_store_intent_begin(fx.store.st, &it, NULL), 0);

	/* Past both thresholds (2 s and 4 s) by the wall clock. */
	for (i = 0; i < 25; i++) {
		r = pass();
		sum.deferred += r.deferred;
		sum.warmed += r.warmed;
		sum.slept += r.slept;
		sum.failed += r.failed;
		usleep(230 * 1000);
	}
	pinned = track("still", "b");
	cr_assert_geq(mvm_idle_track_seconds(&pinned, time(NULL)), 4,
	    "the pinned instance was idle past both thresholds");
	cr_assert_gt(sum.deferred, 1, "web/a is deferred on every pass");
	cr_assert_eq(sum.warmed + sum.slept + sum.failed, 0);
	cr_assert_eq(events("web", "a", "sleep.defer"), 1,
	    "one deferral event per instance and state");
	cr_assert(strstr(last_detail, "min_running_seconds=3600") != NULL, "%s",
	    last_detail);
	cr_assert_eq(events("still", "b", "sleep.defer") +
	    events("still", "b", "sleep.warm") +
	    events("still", "b", "sleep.sleep"), 0, "pinned pools are not touched");
	cr_assert_eq(events("other", "c", "sleep.fail") +
	    events("other", "c", "sleep.warm"), 0,
	    "a transition held elsewhere is not the sleeper's");
	cr_assert_eq(fx.ntold, 1);
	cr_assert_str_eq(fx.told[0], "sleep.defer");
	cr_assert_eq(fx.moved, 0);
	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", "web", "a",
	    &in, NULL), 0);
	cr_assert_eq(in.state, MVM_STATE_RUNNING);
}

Test(sleeper_fake, failed_move_is_an_event)
{
	struct mvm_sleeper_result r, sum = { 0 };
	int i;

	/* other/c has no minimum runtime, and its VMM is no VMM. */
	for (i = 0; i < 20 && sum.failed == 0; i++) {
		r = pass();
		sum.failed += r.failed;
		sum.warmed += r.warmed;
		usleep(250 * 1000);
	}
	cr_assert_eq(sum.failed, 1);
	cr_assert_eq(sum.warmed, 0);
	cr_assert_eq(events("other", "c", "sleep.fail"), 1);
	cr_assert(strncmp(last_detail, "running -> warm: ", 17) == 0, "%s",
	    last_detail);
	cr_assert_eq(events("other", "c", "sleep.warm"), 0);
}

Test(sleeper_fake, refusals)
{
	struct mvm_sleeper_config cfg = { .st = fx.store.st };
	struct mvm_sleeper_result r;
	struct mvm_error e = { 0 };
	struct mvm_sleeper *s = (void *)1;
	char noproc[128];

	cr_assert_eq(mvm_sleeper_open(&cfg, &s, &e), -EINVAL);
	cr_assert_null(s);
	cr_assert(strstr(e.msg, "engine") != NULL, "%s", e.msg);

	/* A root without proc/: the pass fails and moves nothing. */
	snprintf(noproc, sizeof(noproc), "%s/state", fx.store.dir);
	cfg = (struct mvm_sleeper_config){ .st = fx.store.st, .eng = fx.eng,
	    .root = noproc };
	cr_assert_eq(mvm_sleeper_open(&cfg, &s, &e), 0, "%s", e.msg);
	cr_assert_eq(mvm_sleeper_pass(s, &r, &e), -ENOENT);
	cr_assert(strstr(e.msg, "/proc") != NULL, "%s", e.msg);
	mvm_sleeper_close(s);
	mvm_sleeper_close(NULL);
}
