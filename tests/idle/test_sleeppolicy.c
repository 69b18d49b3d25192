/*
 * test_sleeppolicy.c: decisions at the thresholds, disabled thresholds,
 * pinned pools and tenants, minimum runtime deferrals, and the order.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sleeppolicy.h"

#define NOW	1700000000
#define R	MVM_STATE_RUNNING
#define W	MVM_STATE_WARM
#define S	MVM_STATE_SLEEPING
#define NONE	MVM_STATE_COUNT	/* "no decision" in the tables */

static struct mvm_tenant tenant;
static struct mvm_pool pool;

static void
setup(void)
{
	mvm_tenant_init(&tenant);
	strcpy(tenant.id, "acme");
	mvm_pool_init(&pool);
	strcpy(pool.tenant, "acme");
	strcpy(pool.id, "web");
	/* Defaults: warm 300, sleep 900, cpu 5%, net 1024 B; 60 s / 30 s. */
}

TestSuite(sleep, .init = setup);

/* An instance in `st` for an hour, and a track idle for `idle` seconds. */
static void
make(struct mvm_instance *in, struct mvm_idle_track *t, const char *id,
    enum mvm_state st, int64_t idle)
{
	memset(in, 0, sizeof(*in));
	strcpy(in->tenant, "acme");
	strcpy(in->pool, "web");
	strcpy(in->id, id);
	in->state = st;
	if (st == R)
		in->entered_running_at = NOW - 3600;
	if (st == W)
		in->entered_warm_at = NOW - 3600;
	mvm_idle_track_init(t);
	t->have_last = true;
	t->have_iv = true;
	t->iv = (struct mvm_idle_interval){ .ms = 30000, .cpu_percent = 0.4,
	    .net_bytes = 0, .net_known = true, .guest = MVM_IDLE_GUEST_IDLE };
	t->idle = idle > 0;
	t->idle_since = idle > 0 ? NOW - idle : 0;
}

/* Decide for one instance; the decision's target, or NONE. */
static enum mvm_state
decide1(struct mvm_instance *in, struct mvm_idle_track *t,
    struct mvm_sleep_decision *d)
{
	struct mvm_sleep_input ins = { in, t };
	size_t n = mvm_sleep_decide(&tenant, &pool, &ins, 1, NOW, d);

	cr_assert_leq(n, 1);
	return n == 0 ? NONE : d->to;
}

Test(sleep, thresholds)
{
	static const struct {
		enum mvm_state	st;
		int64_t		idle;
		uint32_t	warm, sleep;
		enum mvm_state	want;
	} cases[] = {
		{ R, 0, 300, 900, NONE },
		{ R, 299, 300, 900, NONE },
		{ R, 300, 300, 900, W },
		{ R, 301, 300, 900, W },
		{ R, 899, 300, 900, W },
		{ R, 900, 300, 900, S },
		{ R, 901, 300, 900, S },
		{ W, 299, 300, 900, NONE },
		{ W, 300, 300, 900, NONE },
		{ W, 899, 300, 900, NONE },
		{ W, 900, 300, 900, S },
		{ W, 901, 300, 900, S },
		/* warm disabled: running goes straight to sleep */
		{ R, 500, 0, 900, NONE },
		{ R, 900, 0, 900, S },
		/* sleep disabled: nothing ever sleeps */
		{ R, 100000, 300, 0, W },
		{ W, 100000, 300, 0, NONE },
		/* both disabled */
		{ R, 100000, 0, 0, NONE },
		/* a sleep threshold below the warm one */
		{ R, 150, 300, 100, S },
		/* states the policy does not move */
		{ MVM_STATE_SLEEPING, 100000, 300, 900, NONE },
		{ MVM_STATE_STOPPED, 100000, 300, 900, NONE },
		{ MVM_STATE_CREATED, 100000, 300, 900, NONE },
	};
	struct mvm_instance in;
	struct mvm_idle_track t;
	struct mvm_sleep_decision d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pool.sleep.warm_after_idle_seconds = cases[i].warm;
		pool.sleep.sleep_after_idle_seconds = cases[i].sleep;
		make(&in, &t, "i1", cases[i].st, cases[i].idle);
		cr_assert_eq(decide1(&in, &t, &d), cases[i].want,
		    "case %zu: %s idle %lld s", i,
		    mvm_state_name(cases[i].st), (long long)cases[i].idle);
		if (cases[i].want != NONE) {
			cr_assert_not(d.deferred, "case %zu", i);
			cr_assert_eq(d.index, 0);
			cr_assert_eq(d.idle_seconds, cases[i].idle);
		}
	}
}

Test(sleep, reason_sentences)
{
	struct mvm_instance in;
	struct mvm_idle_track t;
	struct mvm_sleep_decision d;

	make(&in, &t, "i1", R, 312);
	cr_assert_eq(decide1(&in, &t, &d), W);
	cr_assert_str_eq(d.reason, "idle 312 s (cpu 0.4% < 5%, net 0 B < "
	    "1024 B, guest idle) >= warm_after_idle_seconds=300");

	make(&in, &t, "i1", W, 950);
	t.iv.net_known = false;
	t.iv.guest = MVM_IDLE_GUEST_UNKNOWN;
	cr_assert_eq(decide1(&in, &t, &d), S);
	cr_assert_str_eq(d.reason, "idle 950 s (cpu 0.4% < 5%, net unknown "
	    "(no tap), guest status unknown) >= sleep_after_idle_seconds=900");
}

Test(sleep, not_idle_or_not_measured)
{
	struct mvm_instance in;
	struct mvm_idle_track t;
	struct mvm_sleep_decision d;
	struct mvm_sleep_input ins = { &in, NULL };

	make(&in, &t, "i1", R, 100000);
	cr_assert_eq(mvm_sleep_decide(&tenant, &pool, &ins, 1, NOW, &d), 0,
	    "no track: never measured");
	t.have_iv = false;
	cr_assert_eq(decide1(&in, &t, &d), NONE, "a baseline only");

	make(&in, &t, "i1", R, 100000);
	t.idle = false;
	t.idle_since = 0;
	cr_assert_eq(decide1(&in, &t, &d), NONE, "busy now");

	make(&in, &t, "i1", R, 100000);
	in.op = MVM_OP_PAUSING;
	cr_assert_eq(decide1(&in, &t, &d), NONE, "an operation is running");

	make(&in, &t, "i1", R, 100000);
	strcpy(in.pool, "db");
	cr_assert_eq(decide1(&in, &t, &d), NONE, "another pool");
	make(&in, &t, "i1", R, 100000);
	strcpy(in.tenant, "other");
	cr_assert_eq(decide1(&in, &t, &d), NONE, "another tenant");
}

Test(sleep, pinned)
{
	struct mvm_instance in;
	struct mvm_idle_track t;
	struct mvm_sleep_decision d;

	make(&in, &t, "i1", R, 100000);
	cr_assert_eq(decide1(&in, &t, &d), S);
	pool.pinned = true;
	cr_assert_eq(decide1(&in, &t, &d), NONE, "pinned pool");
	pool.pinned = false;
	tenant.pinned = true;
	cr_assert_eq(decide1(&in, &t, &d), NONE, "pinned tenant");
}

Test(sleep, minimum_runtime_defers)
{
	static const struct {
		enum mvm_state	st;
		int64_t		in_state;	/* seconds in the state */
		int64_t		idle;
		enum mvm_state	want;
		bool		deferred;
		const char	*why;
	} cases[] = {
		{ R, 59, 300, W, true, "min_running_seconds=60 not reached: "
		  "59 s in running, eligible in 1 s" },
		{ R, 60, 300, W, false, NULL },
		{ R, 61, 300, W, false, NULL },
		{ R, 10, 900, S, true, "min_running_seconds=60 not reached: "
		  "10 s in running, eligible in 50 s" },
		{ W, 29, 900, S, true, "min_warm_seconds=30 not reached: "
		  "29 s in warm, eligible in 1 s" },
		{ W, 30, 900, S, false, NULL },
		{ W, 31, 900, S, false, NULL },
	};
	struct mvm_instance in;
	struct mvm_idle_track t;
	struct mvm_sleep_decision d;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make(&in, &t, "i1", cases[i].st, cases[i].idle);
		if (cases[i].st == R)
			in.entered_running_at = NOW - cases[i].in_state;
		else
			in.entered_warm_at = NOW - cases[i].in_state;
		cr_assert_eq(decide1(&in, &t, &d), cases[i].want, "case %zu",
		    i);
		cr_assert_eq(d.deferred, cases[i].deferred, "case %zu", i);
		if (!cases[i].deferred) {
			cr_assert_null(strstr(d.reason, "not reached"));
			continue;
		}
		cr_assert_eq(d.eligible_at, NOW - cases[i].in_state +
		    (cases[i].st == R ? 60 : 30), "case %zu", i);
		cr_assert_not_null(strstr(d.reason, cases[i].why),
		    "case %zu: %s", i, d.reason);
		cr_assert_eq(strncmp(d.reason, "idle ", 5), 0);
	}

	/* A minimum of 0 disables the check. */
	pool.runtime.min_running_seconds = 0;
	make(&in, &t, "i1", R, 300);
	in.entered_running_at = NOW;
	cr_assert_eq(decide1(&in, &t, &d), W);
	cr_assert_not(d.deferred);
}

Test(sleep, coldest_first)
{
	static const struct {
		const char	*id;
		enum mvm_state	st;
		int64_t		idle;
	} pool_of[] = {
		{ "b", R, 400 },
		{ "c", W, 1000 },
		{ "a", R, 350 },
		{ "busy", R, 0 },
		{ "d", R, 1000 },
		{ "e", R, 5000 },	/* deferred, still first */
		{ "f", W, 500 },	/* warm, not yet sleepy */
	};
	static const struct {
		const char	*id;
		enum mvm_state	to;
		bool		deferred;
	} want[] = {
		{ "e", S, true },
		{ "c", S, false },
		{ "d", S, false },
		{ "b", W, false },
		{ "a", W, false },
	};
	enum { N = sizeof(pool_of) / sizeof(pool_of[0]) };
	struct mvm_instance in[N];
	struct mvm_idle_track t[N];
	struct mvm_sleep_input ins[N];
	struct mvm_sleep_decision d[N];
	size_t n;

	for (size_t i = 0; i < N; i++) {
		make(&in[i], &t[i], pool_of[i].id, pool_of[i].st,
		    pool_of[i].idle);
		ins[i] = (struct mvm_sleep_input){ &in[i], &t[i] };
	}
	in[5].entered_running_at = NOW - 5;
	n = mvm_sleep_decide(&tenant, &pool, ins, N, NOW, d);
	cr_assert_eq(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(in[d[i].index].id, want[i].id, "position %zu",
		    i);
		cr_assert_eq(d[i].to, want[i].to, "position %zu", i);
		cr_assert_eq(d[i].deferred, want[i].deferred, "position %zu",
		    i);
		if (i > 0)
			cr_assert_geq(d[i - 1].idle_seconds, d[i].idle_seconds);
	}
	cr_assert_eq(mvm_sleep_decide(&tenant, &pool, ins, 0, NOW, d), 0);
}
