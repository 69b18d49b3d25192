/* test_quota.c: usage, action costs, and every quota at and over its limit. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "quota.h"

static struct mvm_pool
pool(uint32_t vcpus, uint32_t mem, uint32_t disk)
{
	struct mvm_pool p;

	mvm_pool_init(&p);
	p.vcpus = vcpus;
	p.mem_mib = mem;
	p.data_disk_mib = disk;
	return p;
}

Test(quota, usage_by_state)
{
	struct mvm_pool p = pool(2, 256, 1024);
	struct mvm_usage u;

	memset(&u, 0, sizeof(u));
	mvm_quota_usage_add(&u, &p, MVM_STATE_RUNNING);
	mvm_quota_usage_add(&u, &p, MVM_STATE_WARM);
	mvm_quota_usage_add(&u, &p, MVM_STATE_SLEEPING);
	mvm_quota_usage_add(&u, &p, MVM_STATE_STOPPED);
	mvm_quota_usage_add(&u, &p, MVM_STATE_CREATED);
	mvm_quota_usage_add(&u, &p, MVM_STATE_DESTROYED);
	cr_assert_eq(u.vcpus, 4);
	cr_assert_eq(u.mem_mib, 512);
	cr_assert_eq(u.running, 1);
	cr_assert_eq(u.warm, 1);
	cr_assert_eq(u.pool_instances, 5);
	cr_assert_eq(u.disk_mib, 5 * 1024);
	cr_assert_eq(u.pools, 0);
}

/* An instance counts what it was booted with, not its pool's size now. */
Test(quota, instance_usage_is_what_it_booted_with)
{
	struct mvm_pool p = pool(1, 128, 0);
	struct mvm_instance in;
	struct mvm_usage u;

	memset(&u, 0, sizeof(u));
	memset(&in, 0, sizeof(in));
	in.state = MVM_STATE_RUNNING;
	in.vcpus = 2;
	in.mem_mib = 512;
	mvm_quota_usage_add_instance(&u, &p, &in);
	in.state = MVM_STATE_SLEEPING;
	in.disk_mib = 300;
	mvm_quota_usage_add_instance(&u, &p, &in);
	/* Never booted (or a row from before schema 3): the pool's size. */
	memset(&in, 0, sizeof(in));
	in.state = MVM_STATE_WARM;
	mvm_quota_usage_add_instance(&u, &p, &in);
	cr_assert(u.vcpus == 3 && u.mem_mib == 640 && u.disk_mib == 300,
	    "%u vCPUs, %u MiB, %llu MiB of disk", u.vcpus, u.mem_mib,
	    (unsigned long long)u.disk_mib);
	cr_assert(u.running == 1 && u.warm == 1 && u.pool_instances == 3);
}

/* A cold boot takes the pool's size now; every other move keeps its own. */
Test(quota, instance_moves)
{
	struct mvm_pool p = pool(1, 128, 0);
	struct mvm_instance in;
	struct mvm_quota_delta d;

	memset(&in, 0, sizeof(in));
	in.state = MVM_STATE_STOPPED;
	in.vcpus = 4;
	in.mem_mib = 1024;
	mvm_quota_delta_move(&d, &p, &in, MVM_STATE_RUNNING);
	cr_assert_eq(d.vcpus, 1);
	cr_assert_eq(d.mem_mib, 128);
	cr_assert_str_eq(d.what, "start");
	in.state = MVM_STATE_SLEEPING;
	mvm_quota_delta_move(&d, &p, &in, MVM_STATE_RUNNING);
	cr_assert_eq(d.vcpus, 4);
	cr_assert_eq(d.mem_mib, 1024);
	cr_assert_str_eq(d.what, "wake");
	in.state = MVM_STATE_WARM;
	mvm_quota_delta_move(&d, &p, &in, MVM_STATE_RUNNING);
	cr_assert_eq(d.vcpus, 0);
	cr_assert_eq(d.running, 1);
	cr_assert_eq(d.warm, -1);
	in.state = MVM_STATE_RUNNING;
	mvm_quota_delta_move(&d, &p, &in, MVM_STATE_STOPPED);
	cr_assert_eq(d.vcpus, -4);
	cr_assert_eq(d.mem_mib, -1024);
}

Test(quota, usage_saturates)
{
	struct mvm_pool p = pool(32, 1048576, 0);
	struct mvm_usage u;

	memset(&u, 0, sizeof(u));
	u.mem_mib = UINT32_MAX - 5;
	mvm_quota_usage_add(&u, &p, MVM_STATE_RUNNING);
	cr_assert_eq(u.mem_mib, UINT32_MAX);
}

struct move {
	enum mvm_state	from, to;
	int64_t		vcpus, mem, running, warm, inst, disk;
	const char	*what;
};

Test(quota, transition_deltas)
{
	static const struct move moves[] = {
		{ MVM_STATE_CREATED, MVM_STATE_RUNNING, 2, 256, 1, 0, 0, 0,
		    "start" },
		{ MVM_STATE_STOPPED, MVM_STATE_RUNNING, 2, 256, 1, 0, 0, 0,
		    "start" },
		{ MVM_STATE_WARM, MVM_STATE_RUNNING, 0, 0, 1, -1, 0, 0,
		    "resume" },
		{ MVM_STATE_RUNNING, MVM_STATE_WARM, 0, 0, -1, 1, 0, 0,
		    "pause" },
		{ MVM_STATE_SLEEPING, MVM_STATE_WARM, 2, 256, 0, 1, 0, 0,
		    "wake" },
		{ MVM_STATE_SLEEPING, MVM_STATE_RUNNING, 2, 256, 1, 0, 0, 0,
		    "wake" },
		{ MVM_STATE_RUNNING, MVM_STATE_SLEEPING, -2, -256, -1, 0, 0, 0,
		    "sleep" },
		{ MVM_STATE_WARM, MVM_STATE_SLEEPING, -2, -256, 0, -1, 0, 0,
		    "sleep" },
		{ MVM_STATE_RUNNING, MVM_STATE_STOPPED, -2, -256, -1, 0, 0, 0,
		    "stop" },
		{ MVM_STATE_SLEEPING, MVM_STATE_STOPPED, 0, 0, 0, 0, 0, 0,
		    "stop" },
		{ MVM_STATE_WARM, MVM_STATE_DESTROYED, -2, -256, 0, -1, -1,
		    -1024, "destroy" },
		{ MVM_STATE_STOPPED, MVM_STATE_DESTROYED, 0, 0, 0, 0, -1,
		    -1024, "destroy" },
		{ MVM_STATE_RUNNING, MVM_STATE_RUNNING, 0, 0, 0, 0, 0, 0,
		    "change" },
	};
	struct mvm_pool p = pool(2, 256, 1024);

	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		const struct move *m = &moves[i];
		struct mvm_quota_delta d;

		mvm_quota_delta_transition(&d, &p, m->from, m->to);
		cr_assert_eq(d.vcpus, m->vcpus, "move %zu", i);
		cr_assert_eq(d.mem_mib, m->mem, "move %zu", i);
		cr_assert_eq(d.running, m->running, "move %zu", i);
		cr_assert_eq(d.warm, m->warm, "move %zu", i);
		cr_assert_eq(d.pool_instances, m->inst, "move %zu", i);
		cr_assert_eq(d.disk_mib, m->disk, "move %zu", i);
		cr_assert_eq(d.pools, 0);
		cr_assert_str_eq(d.what, m->what);
	}
}

Test(quota, create_deltas)
{
	struct mvm_pool p = pool(2, 256, 1024);
	struct mvm_quota_delta d;

	mvm_quota_delta_pool_create(&d);
	cr_assert_eq(d.pools, 1);
	cr_assert_eq(d.vcpus + d.mem_mib + d.running + d.warm +
	    d.pool_instances + d.disk_mib, 0);
	mvm_quota_delta_instance_create(&d, &p);
	cr_assert_eq(d.pool_instances, 1);
	cr_assert_eq(d.disk_mib, 1024);
	cr_assert_eq(d.vcpus + d.mem_mib + d.running + d.warm + d.pools, 0);
}

/*
 * For each quota: a usage exactly at "limit minus the delta" passes, one
 * more unit fails with EDQUOT, *which and a sentence naming the quota.
 */
static void
set_usage(struct mvm_usage *u, enum mvm_quota_kind k, uint64_t v)
{
	switch (k) {
	case MVM_QUOTA_VCPUS: u->vcpus = (uint32_t)v; break;
	case MVM_QUOTA_MEM_MIB: u->mem_mib = (uint32_t)v; break;
	case MVM_QUOTA_RUNNING: u->running = (uint32_t)v; break;
	case MVM_QUOTA_WARM: u->warm = (uint32_t)v; break;
	case MVM_QUOTA_POOLS: u->pools = (uint32_t)v; break;
	case MVM_QUOTA_INSTANCES_PER_POOL:
		u->pool_instances = (uint32_t)v;
		break;
	case MVM_QUOTA_DISK_GIB: u->disk_mib = v; break;
	default: cr_assert_fail("kind"); break;
	}
}

enum action { START, WAKE_WARM, POOL_CREATE, INSTANCE_CREATE };

Test(quota, every_quota_at_and_over)
{
	/*
	 * The default limits: 16 vCPUs, 32768 MiB, 8 running, 4 warm,
	 * 4 pools, 16 instances per pool, 100 GiB. The pool: 2 vCPUs,
	 * 1024 MiB, a 2048 MiB data disk.
	 */
	static const struct {
		enum mvm_quota_kind	 kind;
		enum action		 action;
		uint64_t		 at;	/* usage that just fits */
		const char		*sentence;
	} cases[] = {
		{ MVM_QUOTA_VCPUS, START, 14, "quota max_vcpus=16 exceeded: 15 "
		    "vCPUs in use now, this start needs 2 vCPUs more" },
		{ MVM_QUOTA_MEM_MIB, START, 31744, "quota max_mem_mib=32768 "
		    "exceeded: 31745 MiB of memory in use now, this start "
		    "needs 1024 MiB more" },
		{ MVM_QUOTA_RUNNING, START, 7,
		    "quota max_running=8 exceeded: 8 running now, this start "
		    "needs 1 more" },
		{ MVM_QUOTA_WARM, WAKE_WARM, 3,
		    "quota max_warm=4 exceeded: 4 warm now, this wake needs 1 "
		    "more" },
		{ MVM_QUOTA_POOLS, POOL_CREATE, 3,
		    "quota max_pools=4 exceeded: 4 pools now, this pool create "
		    "needs 1 more" },
		{ MVM_QUOTA_INSTANCES_PER_POOL, INSTANCE_CREATE, 15,
		    "quota max_instances_per_pool=16 exceeded: 16 instances in "
		    "this pool now, this instance create needs 1 more" },
		{ MVM_QUOTA_DISK_GIB, INSTANCE_CREATE, 100 * 1024 - 2048,
		    "quota max_disk_gib=100 exceeded: 100353 MiB of disk in "
		    "use now, this instance create needs 2048 MiB more" },
	};
	struct mvm_pool p = pool(2, 1024, 2048);
	struct mvm_quota q;

	mvm_quota_defaults(&q);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mvm_error e = { 0, "" };
		enum mvm_quota_kind which = MVM_QUOTA_COUNT;
		struct mvm_quota_delta d;
		struct mvm_usage u;

		switch (cases[i].action) {
		case START:
			mvm_quota_delta_transition(&d, &p, MVM_STATE_STOPPED,
			    MVM_STATE_RUNNING);
			break;
		case WAKE_WARM:
			mvm_quota_delta_transition(&d, &p, MVM_STATE_SLEEPING,
			    MVM_STATE_WARM);
			break;
		case POOL_CREATE:
			mvm_quota_delta_pool_create(&d);
			break;
		case INSTANCE_CREATE:
			mvm_quota_delta_instance_create(&d, &p);
			break;
		}
		memset(&u, 0, sizeof(u));
		set_usage(&u, cases[i].kind, cases[i].at);
		cr_assert_eq(mvm_quota_check(&q, &u, &d, &which, &e), 0,
		    "%s at the limit: %s", mvm_quota_name(cases[i].kind),
		    e.msg);
		cr_assert_eq(which, MVM_QUOTA_COUNT);
		set_usage(&u, cases[i].kind, cases[i].at + 1);
		cr_assert_eq(mvm_quota_check(&q, &u, &d, &which, &e), -EDQUOT,
		    "%s over", mvm_quota_name(cases[i].kind));
		cr_assert_eq(e.code, EDQUOT);
		cr_assert_eq(which, cases[i].kind);
		cr_assert_str_eq(e.msg, cases[i].sentence);
	}
}

Test(quota, freeing_moves_are_never_refused)
{
	static const enum mvm_state moves[][2] = {
		{ MVM_STATE_RUNNING, MVM_STATE_SLEEPING },
		{ MVM_STATE_WARM, MVM_STATE_SLEEPING },
		{ MVM_STATE_RUNNING, MVM_STATE_STOPPED },
		{ MVM_STATE_WARM, MVM_STATE_STOPPED },
		{ MVM_STATE_SLEEPING, MVM_STATE_STOPPED },
		{ MVM_STATE_RUNNING, MVM_STATE_DESTROYED },
		{ MVM_STATE_SLEEPING, MVM_STATE_DESTROYED },
	};
	struct mvm_pool p = pool(4, 4096, 4096);
	struct mvm_quota q;
	struct mvm_usage u;

	/* Every quota is zero and the tenant is far over all of them. */
	memset(&q, 0, sizeof(q));
	memset(&u, 0xff, sizeof(u));
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		struct mvm_quota_delta d;

		mvm_quota_delta_transition(&d, &p, moves[i][0], moves[i][1]);
		cr_assert_eq(mvm_quota_check(&q, &u, &d, NULL, NULL), 0,
		    "move %zu", i);
	}
}

Test(quota, resume_is_not_checked_against_max_warm)
{
	struct mvm_pool p = pool(2, 1024, 0);
	struct mvm_quota_delta d;
	struct mvm_quota q;
	struct mvm_usage u;
	enum mvm_quota_kind which;

	mvm_quota_defaults(&q);
	memset(&u, 0, sizeof(u));
	u.warm = 10;		/* over max_warm=4: an operator lowered it */
	u.vcpus = 16;		/* at max_vcpus: a resume needs none */
	u.mem_mib = 32768;
	u.running = 7;
	mvm_quota_delta_transition(&d, &p, MVM_STATE_WARM, MVM_STATE_RUNNING);
	cr_assert_eq(mvm_quota_check(&q, &u, &d, NULL, NULL), 0);
	u.running = 8;
	cr_assert_eq(mvm_quota_check(&q, &u, &d, &which, NULL), -EDQUOT);
	cr_assert_eq(which, MVM_QUOTA_RUNNING);
}

Test(quota, zero_quota_refuses_any_increase)
{
	struct mvm_pool p = pool(1, 16, 0);
	struct mvm_quota_delta d;
	struct mvm_quota q;
	struct mvm_usage u;
	enum mvm_quota_kind which;

	mvm_quota_defaults(&q);
	q.max_pools = 0;
	memset(&u, 0, sizeof(u));
	mvm_quota_delta_pool_create(&d);
	cr_assert_eq(mvm_quota_check(&q, &u, &d, &which, NULL), -EDQUOT);
	cr_assert_eq(which, MVM_QUOTA_POOLS);
	/* No data disk: an instance create needs no disk quota. */
	q.max_disk_gib = 0;
	mvm_quota_delta_instance_create(&d, &p);
	cr_assert_eq(mvm_quota_check(&q, &u, &d, NULL, NULL), 0);
}

Test(quota, names)
{
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_VCPUS), "max_vcpus");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_MEM_MIB), "max_mem_mib");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_RUNNING), "max_running");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_WARM), "max_warm");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_POOLS), "max_pools");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_INSTANCES_PER_POOL),
	    "max_instances_per_pool");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_DISK_GIB), "max_disk_gib");
	cr_assert_str_eq(mvm_quota_name(MVM_QUOTA_COUNT), "unknown");
}
