/* model.c: defaults and names for the object model. */
#include "model.h"

#include <errno.h>
#include <string.h>

static const char *const state_names[MVM_STATE_COUNT] = {
	[MVM_STATE_CREATED] = "created",
	[MVM_STATE_RUNNING] = "running",
	[MVM_STATE_WARM] = "warm",
	[MVM_STATE_SLEEPING] = "sleeping",
	[MVM_STATE_STOPPED] = "stopped",
	[MVM_STATE_DESTROYED] = "destroyed",
};

static const char *const op_names[MVM_OP_COUNT] = {
	[MVM_OP_NONE] = "none",
	[MVM_OP_STARTING] = "starting",
	[MVM_OP_PAUSING] = "pausing",
	[MVM_OP_RESUMING] = "resuming",
	[MVM_OP_SNAPSHOTTING] = "snapshotting",
	[MVM_OP_WAKING] = "waking",
	[MVM_OP_STOPPING] = "stopping",
	[MVM_OP_DESTROYING] = "destroying",
};

void
mvm_quota_defaults(struct mvm_quota *q)
{
	q->max_vcpus = 16;
	q->max_mem_mib = 32768;
	q->max_running = 8;
	q->max_warm = 4;
	q->max_pools = 4;
	q->max_instances_per_pool = 16;
	q->max_disk_gib = 100;
}

void
mvm_runtime_policy_defaults(struct mvm_runtime_policy *p)
{
	p->min_running_seconds = 60;
	p->min_warm_seconds = 30;
	p->drain_timeout_seconds = 30;
	p->graceful_shutdown_seconds = 15;
	p->settle_seconds = 60;
}

void
mvm_sleep_policy_defaults(struct mvm_sleep_policy *p)
{
	p->warm_after_idle_seconds = 300;
	p->sleep_after_idle_seconds = 900;
	p->idle_cpu_percent = 5;
	p->idle_net_bytes = 1024;
}

void
mvm_tenant_init(struct mvm_tenant *t)
{
	memset(t, 0, sizeof(*t));
	mvm_quota_defaults(&t->quota);
}

void
mvm_pool_init(struct mvm_pool *p)
{
	memset(p, 0, sizeof(*p));
	p->vcpus = 1;
	p->mem_mib = 128;
	mvm_runtime_policy_defaults(&p->runtime);
	mvm_sleep_policy_defaults(&p->sleep);
}

const char *
mvm_state_name(enum mvm_state s)
{
	if ((unsigned)s >= MVM_STATE_COUNT)
		return "unknown";
	return state_names[s];
}

const char *
mvm_op_name(enum mvm_op op)
{
	if ((unsigned)op >= MVM_OP_COUNT)
		return "unknown";
	return op_names[op];
}

int
mvm_state_parse(const char *s, size_t len, enum mvm_state *out)
{
	for (int i = 0; i < MVM_STATE_COUNT; i++) {
		if (strlen(state_names[i]) == len &&
		    memcmp(state_names[i], s, len) == 0) {
			*out = (enum mvm_state)i;
			return 0;
		}
	}
	return -EINVAL;
}
