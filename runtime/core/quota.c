/* quota.c: tenant usage, action costs and the quota check, as one table. */
#include "quota.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "fsm.h"

static const struct {
	const char	*name;		/* the config key */
	size_t		 limit;		/* offset of the limit in mvm_quota */
	uint64_t	 scale;		/* limit units to usage units */
	const char	*in_use;	/* usage wording: "8 running now" */
	const char	*unit;		/* delta wording: "needs 2 MiB more" */
} quotas[MVM_QUOTA_COUNT] = {
	[MVM_QUOTA_VCPUS] = { "max_vcpus",
	    offsetof(struct mvm_quota, max_vcpus), 1,
	    " vCPUs in use", " vCPUs" },
	[MVM_QUOTA_MEM_MIB] = { "max_mem_mib",
	    offsetof(struct mvm_quota, max_mem_mib), 1,
	    " MiB of memory in use", " MiB" },
	[MVM_QUOTA_RUNNING] = { "max_running",
	    offsetof(struct mvm_quota, max_running), 1, " running", "" },
	[MVM_QUOTA_WARM] = { "max_warm",
	    offsetof(struct mvm_quota, max_warm), 1, " warm", "" },
	[MVM_QUOTA_POOLS] = { "max_pools",
	    offsetof(struct mvm_quota, max_pools), 1, " pools", "" },
	[MVM_QUOTA_INSTANCES_PER_POOL] = { "max_instances_per_pool",
	    offsetof(struct mvm_quota, max_instances_per_pool), 1,
	    " instances in this pool", "" },
	[MVM_QUOTA_DISK_GIB] = { "max_disk_gib",
	    offsetof(struct mvm_quota, max_disk_gib), 1024,
	    " MiB of disk in use", " MiB" },
};

const char *
mvm_quota_name(enum mvm_quota_kind k)
{
	if ((unsigned)k >= MVM_QUOTA_COUNT)
		return "unknown";
	return quotas[k].name;
}

/*
 * What one instance holds while it has a VM (vcpus, mem_mib) and, as a
 * record, on disk: its pool's data disk and its snapshot files.
 */
struct spec {
	uint32_t	vcpus;
	uint32_t	mem_mib;
	uint64_t	disk_mib;
};

static struct spec
pool_spec(const struct mvm_pool *p)
{
	return (struct spec){ p->vcpus, p->mem_mib, p->data_disk_mib };
}

/* An instance records what it booted with; before its first boot, 0. */
static struct spec
instance_spec(const struct mvm_pool *p, const struct mvm_instance *in)
{
	struct spec sp = pool_spec(p);

	if (in->vcpus != 0)
		sp.vcpus = in->vcpus;
	if (in->mem_mib != 0)
		sp.mem_mib = in->mem_mib;
	if (__builtin_add_overflow(sp.disk_mib, in->disk_mib, &sp.disk_mib))
		sp.disk_mib = UINT64_MAX;
	return sp;
}

/* Add sign times what one instance of spec `sp` in state `s` holds to `d`. */
static void
holds(struct mvm_quota_delta *d, const struct spec *sp, enum mvm_state s,
    int sign)
{
	if (s == MVM_STATE_RUNNING || s == MVM_STATE_WARM) {
		d->vcpus += sign * (int64_t)sp->vcpus;
		d->mem_mib += sign * (int64_t)sp->mem_mib;
		if (s == MVM_STATE_RUNNING)
			d->running += sign;
		else
			d->warm += sign;
	}
	if ((unsigned)s < MVM_STATE_DESTROYED) {
		d->pool_instances += sign;
		d->disk_mib += sign * (int64_t)(sp->disk_mib > INT64_MAX ?
		    INT64_MAX : sp->disk_mib);
	}
}

static uint32_t
add32(uint32_t a, int64_t b)
{
	return b > (int64_t)(UINT32_MAX - a) ? UINT32_MAX : a + (uint32_t)b;
}

static void
usage_add(struct mvm_usage *u, const struct spec *sp, enum mvm_state s)
{
	struct mvm_quota_delta d;

	memset(&d, 0, sizeof(d));
	holds(&d, sp, s, 1);
	u->vcpus = add32(u->vcpus, d.vcpus);
	u->mem_mib = add32(u->mem_mib, d.mem_mib);
	u->running = add32(u->running, d.running);
	u->warm = add32(u->warm, d.warm);
	u->pool_instances = add32(u->pool_instances, d.pool_instances);
	if (__builtin_add_overflow(u->disk_mib, (uint64_t)d.disk_mib,
	    &u->disk_mib))
		u->disk_mib = UINT64_MAX;
}

void
mvm_quota_usage_add(struct mvm_usage *u, const struct mvm_pool *p,
    enum mvm_state s)
{
	struct spec sp = pool_spec(p);

	usage_add(u, &sp, s);
}

void
mvm_quota_usage_add_instance(struct mvm_usage *u, const struct mvm_pool *p,
    const struct mvm_instance *in)
{
	struct spec sp = instance_spec(p, in);

	usage_add(u, &sp, in->state);
}

/* The operation of from -> to, for the sentences; "change" when none. */
static const char *
move_name(enum mvm_state from, enum mvm_state to, enum mvm_op *op)
{
	static const char *const what[MVM_OP_COUNT] = {
		[MVM_OP_NONE] = "change",
		[MVM_OP_STARTING] = "start",
		[MVM_OP_PAUSING] = "pause",
		[MVM_OP_RESUMING] = "resume",
		[MVM_OP_SNAPSHOTTING] = "sleep",
		[MVM_OP_WAKING] = "wake",
		[MVM_OP_STOPPING] = "stop",
		[MVM_OP_DESTROYING] = "destroy",
	};

	*op = MVM_OP_NONE;
	(void)mvm_fsm_check(from, to, op, NULL);
	return what[*op];
}

void
mvm_quota_delta_transition(struct mvm_quota_delta *d,
    const struct mvm_pool *p, enum mvm_state from, enum mvm_state to)
{
	struct spec sp = pool_spec(p);
	enum mvm_op op;

	memset(d, 0, sizeof(*d));
	holds(d, &sp, to, 1);
	holds(d, &sp, from, -1);
	d->what = move_name(from, to, &op);
}

void
mvm_quota_delta_move(struct mvm_quota_delta *d, const struct mvm_pool *p,
    const struct mvm_instance *in, enum mvm_state to)
{
	struct spec was = instance_spec(p, in), will = was;
	enum mvm_op op;

	memset(d, 0, sizeof(*d));
	d->what = move_name(in->state, to, &op);
	/* A cold boot takes the pool's size now; other moves keep theirs. */
	if (op == MVM_OP_STARTING) {
		will.vcpus = p->vcpus;
		will.mem_mib = p->mem_mib;
	}
	holds(d, &will, to, 1);
	holds(d, &was, in->state, -1);
}

void
mvm_quota_delta_pool_create(struct mvm_quota_delta *d)
{
	memset(d, 0, sizeof(*d));
	d->pools = 1;
	d->what = "pool create";
}

void
mvm_quota_delta_instance_create(struct mvm_quota_delta *d,
    const struct mvm_pool *p)
{
	struct spec sp = pool_spec(p);

	memset(d, 0, sizeof(*d));
	holds(d, &sp, MVM_STATE_CREATED, 1);
	d->what = "instance create";
}

int
mvm_quota_check(const struct mvm_quota *q, const struct mvm_usage *u,
    const struct mvm_quota_delta *d, enum mvm_quota_kind *which,
    struct mvm_error *e)
{
	const uint64_t used[MVM_QUOTA_COUNT] = {
		[MVM_QUOTA_VCPUS] = u->vcpus,
		[MVM_QUOTA_MEM_MIB] = u->mem_mib,
		[MVM_QUOTA_RUNNING] = u->running,
		[MVM_QUOTA_WARM] = u->warm,
		[MVM_QUOTA_POOLS] = u->pools,
		[MVM_QUOTA_INSTANCES_PER_POOL] = u->pool_instances,
		[MVM_QUOTA_DISK_GIB] = u->disk_mib,
	};
	const int64_t more[MVM_QUOTA_COUNT] = {
		[MVM_QUOTA_VCPUS] = d->vcpus,
		[MVM_QUOTA_MEM_MIB] = d->mem_mib,
		[MVM_QUOTA_RUNNING] = d->running,
		[MVM_QUOTA_WARM] = d->warm,
		[MVM_QUOTA_POOLS] = d->pools,
		[MVM_QUOTA_INSTANCES_PER_POOL] = d->pool_instances,
		[MVM_QUOTA_DISK_GIB] = d->disk_mib,
	};

	for (int k = 0; k < MVM_QUOTA_COUNT; k++) {
		uint32_t limit;
		uint64_t after;

		if (more[k] <= 0)
			continue;
		memcpy(&limit, (const char *)q + quotas[k].limit,
		    sizeof(limit));
		if (!__builtin_add_overflow(used[k], (uint64_t)more[k],
		    &after) && after <= (uint64_t)limit * quotas[k].scale)
			continue;
		if (which != NULL)
			*which = (enum mvm_quota_kind)k;
		return mvm_error_set(e, EDQUOT,
		    "quota %s=%u exceeded: %llu%s now, this %s needs %lld%s "
		    "more", quotas[k].name, limit,
		    (unsigned long long)used[k], quotas[k].in_use,
		    d->what != NULL ? d->what : "change", (long long)more[k],
		    quotas[k].unit);
	}
	return 0;
}

bool
mvm_quota_equal(const struct mvm_quota *a, const struct mvm_quota *b)
{
	return a->max_vcpus == b->max_vcpus &&
	    a->max_mem_mib == b->max_mem_mib &&
	    a->max_running == b->max_running && a->max_warm == b->max_warm &&
	    a->max_pools == b->max_pools &&
	    a->max_instances_per_pool == b->max_instances_per_pool &&
	    a->max_disk_gib == b->max_disk_gib;
}
