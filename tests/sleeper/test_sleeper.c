/*
 * test_sleeper.c: the sleep policy runner with real guests booted through
 * mvm-qemu: an idle guest goes warm then sleeping; a guest that keeps a
 * CPU busy or sends traffic stays running; a pinned pool is left alone;
 * minimum runtime defers the move once, with an event.
 *
 * Needs MVM_QEMU (the mvm-qemu binary, set by meson) and MVM_TEST_IMAGE
 * (a built guest image; scripts/check.sh builds it once per run), and
 * root for the tap of the traffic test. The tests share one instance
 * address, hence one tap name, so they run one at a time (-j1).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "guest.h"
#include "netplan.h"
#include "sleeper.h"
#include "store.h"
#include "vmfix.h"

/*
 * The net_id of this run's tenant, so its tap name meets no other test's
 * or run's: another checkout running the suite at the same time included.
 */
#define NET_ID		(2048 + (uint16_t)(getpid() % 2000))
#define INSTANCE	"i-00000001"
/* Passes one second apart that outlast both thresholds (3 s and 8 s). */
#define WINDOW_PASSES	16

static struct vmfix fx;

/* The sleeper under test, the tap of its instance and what it told. */
static struct {
	char			 tap[MVM_IFNAME_MAX + 1];
	struct mvm_sleeper	*sl;
	int			 moved;
	char			 actions[16][MVM_EVENT_ACTION_MAX + 1];
	int			 nactions;
} sx;

static void
on_moved(void *arg, const char *tenant, const char *pool)
{
	cr_assert_eq(arg, &sx);
	cr_assert_str_eq(tenant, "acme");
	cr_assert_str_eq(pool, "web");
	sx.moved++;
}

static void
on_event(void *arg, const struct mvm_event *ev)
{
	cr_assert_eq(arg, &sx);
	cr_assert_gt(ev->seq, 0, "the event must be stored before it is told");
	if (sx.nactions < 16)
		snprintf(sx.actions[sx.nactions++], sizeof(sx.actions[0]),
		    "%s", ev->action);
}

static void
setup(void)
{
	struct mvm_error e = { 0 };

	memset(&sx, 0, sizeof(sx));
	vmfix_setup(&fx, "sleeper");
	cr_assert_eq(mvm_sleeper_open(&(struct mvm_sleeper_config){
	    .st = fx.store.st, .eng = fx.eng, .guest_timeout_ms = 1000,
	    .on_moved = on_moved, .on_moved_arg = &sx,
	    .on_event = on_event, .on_event_arg = &sx }, &sx.sl, &e), 0,
	    "sleeper: %s", e.msg);
	vmfix_tenant_create(&fx, "acme", NET_ID);
	mvm_net_tap_name(NET_ID, MVM_NET_FIRST_OFFSET, sx.tap);
}

static void
teardown(void)
{
	char cmd[256];

	mvm_sleeper_close(sx.sl);
	vmfix_teardown(&fx);
	snprintf(cmd, sizeof(cmd), "ip link del '%s' 2>/dev/null", sx.tap);
	(void)system(cmd);
}

TestSuite(sleeper, .init = setup, .fini = teardown, .timeout = 600);

/*
 * Pool acme/web with thresholds of a few seconds and no minimum runtime
 * unless `min_running` says otherwise, and one running instance of it.
 */
static void
start_pool(bool pinned, uint32_t min_running)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in;
	struct mvm_pool p;
	int rc;

	vmfix_pool_init(&p, "acme", "web");
	p.pinned = pinned;
	p.runtime.min_running_seconds = min_running;
	p.sleep.warm_after_idle_seconds = 3;
	p.sleep.sleep_after_idle_seconds = 8;
	cr_assert_eq(mvm_store_pool_create(fx.store.st, &p, &e), 0, "%s",
	    e.msg);

	memset(&in, 0, sizeof(in));
	snprintf(in.tenant, sizeof(in.tenant), "acme");
	snprintf(in.pool, sizeof(in.pool), "web");
	snprintf(in.id, sizeof(in.id), INSTANCE);
	in.state = MVM_STATE_CREATED;
	in.created_at = time(NULL);
	cr_assert_eq(mvm_store_instance_create(fx.store.st, &in, &e), 0, "%s",
	    e.msg);
	cr_assert_eq(in.ip_offset, MVM_NET_FIRST_OFFSET);
	rc = mvm_engine_transition(fx.eng, "acme", "web", INSTANCE,
	    MVM_STATE_RUNNING, 0, &e);
	cr_assert_eq(rc, 0, "start: %d %s", rc, e.msg);
}

static struct mvm_instance
get(void)
{
	struct mvm_instance in;

	cr_assert_eq(mvm_store_instance_get(fx.store.st, "acme", "web",
	    INSTANCE, &in, NULL), 0);
	return in;
}

/* One pass, its figures added to *sum, and what it saw logged. */
static void
pass(struct mvm_sleeper_result *sum)
{
	struct mvm_sleeper_result r;
	struct mvm_error e = { 0 };
	struct mvm_idle_track tr;
	struct mvm_sleep_policy sp;
	char why[256] = "not measured";
	int rc;

	rc = mvm_sleeper_pass(sx.sl, &r, &e);
	cr_assert_eq(rc, 0, "pass: %d %s", rc, e.msg);
	mvm_sleep_policy_defaults(&sp);
	if (mvm_sleeper_instance(sx.sl, "acme", "web", INSTANCE, &tr) == 0 &&
	    tr.have_iv)
		mvm_idle_describe(&tr.iv, &sp, why, sizeof(why));
	cr_log_info("pass: measured %u warmed %u slept %u deferred %u "
	    "failed %u; %s: %s", r.measured, r.warmed, r.slept, r.deferred,
	    r.failed, mvm_state_name(get().state), why);
	sum->measured += r.measured;
	sum->warmed += r.warmed;
	sum->slept += r.slept;
	sum->deferred += r.deferred;
	sum->failed += r.failed;
}

struct found {
	const char	*action;
	int		 n;
	char		 detail[MVM_EVENT_DETAIL_MAX + 1];
};

static int
match_event(const struct mvm_event *ev, void *arg)
{
	struct found *f = arg;

	if (strcmp(ev->action, f->action) == 0) {
		f->n++;
		snprintf(f->detail, sizeof(f->detail), "%s", ev->detail);
	}
	return 0;
}

/* How many events `action` the instance has; *detail gets the last. */
static int
events(const char *action, char *detail, size_t len)
{
	struct mvm_event_filter f = { .tenant = "acme", .pool = "web",
	    .instance = INSTANCE };
	struct found fd = { .action = action };

	cr_assert_eq(mvm_store_event_list(fx.store.st, &f, match_event, &fd,
	    NULL), 0);
	if (detail != NULL)
		snprintf(detail, len, "%s", fd.detail);
	return fd.n;
}

static bool
told(const char *action)
{
	for (int i = 0; i < sx.nactions; i++)
		if (strcmp(sx.actions[i], action) == 0)
			return true;
	return false;
}

/* Run `script` with /bin/sh in the guest; it must exit 0. */
static void
guest_sh(const char *script)
{
	struct mvm_instance in = get();
	struct mvm_guest_exec_result *r = vmfix_guest_sh(&fx, &in, script);

	cr_assert_not(r->timed_out, "%s held the Exec open", script);
	mvm_guest_exec_free(r);
}

/*
 * Run passes a second apart over the window and require that the
 * instance stays running and unparked throughout. Returns the last track.
 */
static struct mvm_idle_track
stays_running(struct mvm_sleeper_result *sum)
{
	struct mvm_idle_track tr;
	struct mvm_instance in;

	for (int i = 0; i < WINDOW_PASSES; i++) {
		pass(sum);
		in = get();
		cr_assert_eq(in.state, MVM_STATE_RUNNING,
		    "pass %d moved the instance to %s", i,
		    mvm_state_name(in.state));
		cr_assert_not(in.parked);
		sleep(1);
	}
	cr_assert_eq(mvm_sleeper_instance(sx.sl, "acme", "web", INSTANCE, &tr),
	    0);
	cr_assert(tr.have_iv);
	return tr;
}

Test(sleeper, idle_guest_goes_warm_then_sleeping)
{
	struct mvm_sleeper_result sum = { 0 };
	struct mvm_idle_track tr;
	struct mvm_instance in;
	char detail[MVM_EVENT_DETAIL_MAX + 1];
	bool was_warm = false;
	int i;

	start_pool(false, 0);
	for (i = 0; i < 60 && get().state != MVM_STATE_SLEEPING; i++) {
		pass(&sum);
		in = get();
		if (in.state == MVM_STATE_WARM) {
			was_warm = true;
			cr_assert(in.parked, "a warm move of the policy parks");
			cr_assert_eq(in.parked_from, MVM_STATE_RUNNING);
			cr_assert_gt(in.pid, 0, "a warm guest keeps its VMM");
		}
		sleep(1);
	}
	in = get();
	cr_assert_eq(in.state, MVM_STATE_SLEEPING, "still %s after %d passes",
	    mvm_state_name(in.state), i);
	cr_assert(was_warm, "the guest must pass through warm");
	cr_assert(in.parked);
	cr_assert_eq(in.parked_from, MVM_STATE_RUNNING,
	    "parked from the slot it first left");
	cr_assert_eq(in.pid, 0);
	cr_assert_eq(sum.warmed, 1);
	cr_assert_eq(sum.slept, 1);
	cr_assert_eq(sum.failed, 0);
	cr_assert_eq(sx.moved, 2, "on_moved once per pass that moved");

	cr_assert_eq(events("sleep.warm", detail, sizeof(detail)), 1);
	cr_assert(strstr(detail, "warm_after_idle_seconds=3") != NULL, "%s",
	    detail);
	cr_assert_eq(events("sleep.sleep", detail, sizeof(detail)), 1);
	cr_assert(strstr(detail, "sleep_after_idle_seconds=8") != NULL, "%s",
	    detail);
	cr_assert(told("sleep.warm") && told("sleep.sleep"));

	/* A sleeping instance is not measured: its track is gone. */
	pass(&sum);
	cr_assert_eq(mvm_sleeper_instance(sx.sl, "acme", "web", INSTANCE, &tr),
	    -ENOENT);
}

Test(sleeper, busy_guest_stays_running)
{
	struct mvm_sleeper_result sum = { 0 };
	struct mvm_idle_track tr;

	start_pool(false, 0);
	/* Output redirected so that the loop outlives the Exec. */
	guest_sh("while :; do :; done >/dev/null 2>&1 </dev/null &");
	tr = stays_running(&sum);
	cr_assert_gt(sum.measured, 0);
	cr_assert_eq(sum.warmed + sum.slept + sum.failed, 0);
	cr_assert_not(tr.idle);
	cr_assert_geq(tr.iv.cpu_percent, 5.0, "the spinning vCPU must show");
	cr_assert_eq(tr.iv.guest, MVM_IDLE_GUEST_BUSY);
	cr_assert_eq(events("sleep.warm", NULL, 0), 0);
}

Test(sleeper, guest_sending_traffic_stays_running)
{
	struct mvm_sleeper_result sum = { 0 };
	struct mvm_idle_track tr;
	char cmd[256], gw[16], script[128];

	/* The engine attaches a tap that exists when the guest starts. */
	mvm_net_format_ip(mvm_net_gateway(NET_ID), gw);
	snprintf(cmd, sizeof(cmd), "ip tuntap add dev %s mode tap && "
	    "ip addr add %s/24 dev %s && ip link set %s up", sx.tap, gw,
	    sx.tap, sx.tap);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	start_pool(false, 0);
	snprintf(script, sizeof(script),
	    "ping -s 1400 -i 0.5 %s >/dev/null 2>&1 </dev/null &", gw);
	guest_sh(script);
	tr = stays_running(&sum);
	cr_assert_eq(sum.warmed + sum.slept + sum.failed, 0);
	cr_assert(tr.iv.net_known, "the tap's counters must be read");
	cr_assert_geq(tr.iv.net_bytes, 1024, "the traffic must show");
	cr_assert_not(tr.idle);
}

Test(sleeper, pinned_pool_is_left_alone)
{
	struct mvm_sleeper_result sum = { 0 };
	struct mvm_idle_track tr;

	start_pool(true, 0);
	tr = stays_running(&sum);
	cr_assert_gt(sum.measured, 0);
	cr_assert_eq(sum.warmed + sum.slept + sum.deferred + sum.failed, 0);
	/* It was idle long enough to be moved, had it not been pinned. */
	cr_assert(tr.idle);
	cr_assert_geq(mvm_idle_track_seconds(&tr, time(NULL)), 8);
	cr_assert_eq(sx.nactions, 0);
	cr_assert_eq(sx.moved, 0);
}

Test(sleeper, minimum_runtime_defers_once)
{
	struct mvm_sleeper_result sum = { 0 };
	char detail[MVM_EVENT_DETAIL_MAX + 1];

	start_pool(false, 30);
	stays_running(&sum);
	cr_assert_gt(sum.deferred, 1, "deferred on every pass while idle");
	cr_assert_eq(sum.warmed + sum.slept + sum.failed, 0);
	cr_assert_eq(events("sleep.defer", detail, sizeof(detail)), 1,
	    "one event, not one per pass");
	cr_assert(strstr(detail, "min_running_seconds=30") != NULL, "%s",
	    detail);
	cr_assert(told("sleep.defer"));
	cr_assert_eq(sx.moved, 0);
}
