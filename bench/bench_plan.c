/*
 * bench_plan: how long the reconciler's planner takes over a node's worth
 * of pools: 1,000 pools of 10 instances each, once when nothing needs doing
 * and once when every pool's desired counts changed.
 *
 *   bench_plan [--runs N]
 *
 * It prints the median and the spread (min..max) over N runs, in
 * milliseconds, for each case. It asserts nothing: figures only.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "timing.h"

#define NPOOLS		1000
#define PER_POOL	10
#define MAX_RUNS	100
#define T0		1700000000

struct node {
	struct mvm_pool		pools[NPOOLS];
	struct mvm_instance	in[NPOOLS][PER_POOL];
	struct mvm_plan_member	m[NPOOLS][PER_POOL];
	struct mvm_quota	q;
};

/* Every pool: 6 running, 2 warm, 2 sleeping, desired exactly that. */
static void
build(struct node *nd)
{
	static const enum mvm_state states[PER_POOL] = {
		MVM_STATE_RUNNING, MVM_STATE_RUNNING, MVM_STATE_RUNNING,
		MVM_STATE_RUNNING, MVM_STATE_RUNNING, MVM_STATE_RUNNING,
		MVM_STATE_WARM, MVM_STATE_WARM,
		MVM_STATE_SLEEPING, MVM_STATE_SLEEPING,
	};

	mvm_quota_defaults(&nd->q);
	nd->q.max_vcpus = nd->q.max_mem_mib = UINT32_MAX;
	nd->q.max_running = nd->q.max_warm = UINT32_MAX;
	nd->q.max_instances_per_pool = nd->q.max_disk_gib = UINT32_MAX;
	for (int p = 0; p < NPOOLS; p++) {
		struct mvm_pool *pool = &nd->pools[p];

		mvm_pool_init(pool);
		snprintf(pool->tenant, sizeof(pool->tenant), "t%d", p / 10);
		snprintf(pool->id, sizeof(pool->id), "p%d", p);
		pool->desired = (struct mvm_counts){ 6, 2, 2 };
		pool->runtime.min_running_seconds = 0;
		pool->runtime.min_warm_seconds = 0;
		for (int i = 0; i < PER_POOL; i++) {
			struct mvm_instance *in = &nd->in[p][i];

			memset(in, 0, sizeof(*in));
			snprintf(in->tenant, sizeof(in->tenant), "%s",
			    pool->tenant);
			snprintf(in->pool, sizeof(in->pool), "%s", pool->id);
			snprintf(in->id, sizeof(in->id), "i%d", i);
			in->state = states[i];
			in->created_at = T0 - 1000 + i;
			if (in->state == MVM_STATE_RUNNING)
				in->entered_running_at = in->created_at;
			if (in->state == MVM_STATE_WARM)
				in->entered_warm_at = in->created_at;
			nd->m[p][i] = (struct mvm_plan_member){ in, 0, 0 };
		}
	}
}

/* Plan every pool once; returns the milliseconds and the steps made. */
static double
pass(struct node *nd, struct mvm_plan *pl, size_t *steps)
{
	struct mvm_usage u;
	struct mvm_error e;
	double t0 = bench_now_ms();

	*steps = 0;
	for (int p = 0; p < NPOOLS; p++) {
		memset(&u, 0, sizeof(u));
		for (int i = 0; i < PER_POOL; i++)
			mvm_quota_usage_add(&u, &nd->pools[p],
			    nd->in[p][i].state);
		if (mvm_plan_pool(pl, &nd->pools[p], nd->m[p], PER_POOL,
		    &nd->q, &u, NULL, T0, &e) != 0) {
			fprintf(stderr, "bench_plan: %s\n", e.msg);
			exit(1);
		}
		*steps += pl->nsteps;
	}
	return bench_now_ms() - t0;
}

/* Plan every pool `runs` times and print the figure line. */
static void
report(const char *what, struct node *nd, struct mvm_plan *pl, int runs)
{
	double v[MAX_RUNS];
	struct bench_samples s;
	struct bench_summary sum;
	size_t steps = 0;

	bench_samples_init(&s, v, MAX_RUNS);
	for (int r = 0; r < runs; r++)
		bench_samples_add(&s, pass(nd, pl, &steps));
	sum = bench_summarize(&s);
	bench_figure(what, "", &sum, ", %zu steps", steps);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static struct node nd;
	struct mvm_plan pl;
	int runs = 20, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'r' || (runs = atoi(optarg)) < 1 || runs > MAX_RUNS) {
			fprintf(stderr, "usage: bench_plan [--runs 1..%d]\n",
			    MAX_RUNS);
			return 2;
		}
	}
	build(&nd);
	mvm_plan_init(&pl);
	report("1,000 pools x 10, nothing to do", &nd, &pl, runs);

	/* Every pool changes: 2 running, 3 warm, 3 sleeping wanted. */
	for (int p = 0; p < NPOOLS; p++)
		nd.pools[p].desired = (struct mvm_counts){ 2, 3, 3 };
	report("1,000 pools x 10, every pool changes", &nd, &pl, runs);
	mvm_plan_free(&pl);
	return 0;
}
