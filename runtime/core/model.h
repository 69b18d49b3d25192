/*
 * model.h: tenants, pools and instances, as plain fixed-size structs.
 *
 * The structs own no heap memory, so they can be copied by assignment,
 * stored on the stack and handed between threads without ownership rules.
 * Times are Unix seconds (CLOCK_REALTIME, so they survive a restart); 0 means
 * "never" or "not set".
 *
 * The text form of a tenant's and a pool's configuration (the `config` files
 * of the /mvm tree) is in config.h; the rules that govern state changes are
 * in fsm.h, quotas in quota.h, addresses in netplan.h.
 */
#ifndef MVM_MODEL_H
#define MVM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest tenant, pool or instance id, without the NUL. */
#define MVM_ID_MAX	63
/* Longest image reference, without the NUL. */
#define MVM_IMAGE_MAX	255
/* Longest reason sentence kept on an instance, without the NUL. */
#define MVM_REASON_MAX	255
/* Longest network interface name on Linux, without the NUL (IFNAMSIZ - 1). */
#define MVM_IFNAME_MAX	15
/* Longest name of an instance's run directory, without the NUL. */
#define MVM_RUN_NAME_MAX	31

/* Persistent instance states. The numeric values are stored in SQLite. */
enum mvm_state {
	MVM_STATE_CREATED = 0,
	MVM_STATE_RUNNING = 1,
	MVM_STATE_WARM = 2,
	MVM_STATE_SLEEPING = 3,
	MVM_STATE_STOPPED = 4,
	MVM_STATE_DESTROYED = 5,
	MVM_STATE_COUNT
};

/* The transient operation an instance is in, shown as `op=` in `info`. */
enum mvm_op {
	MVM_OP_NONE = 0,
	MVM_OP_STARTING,	/* created or stopped -> running: cold boot */
	MVM_OP_PAUSING,		/* running -> warm */
	MVM_OP_RESUMING,	/* warm -> running */
	MVM_OP_SNAPSHOTTING,	/* running or warm -> sleeping */
	MVM_OP_WAKING,		/* sleeping -> running or warm */
	MVM_OP_STOPPING,	/* running, warm or sleeping -> stopped */
	MVM_OP_DESTROYING,	/* any -> destroyed */
	MVM_OP_COUNT
};

/* The seven per-tenant quotas. */
struct mvm_quota {
	uint32_t	max_vcpus;		/* vCPUs of running and warm instances */
	uint32_t	max_mem_mib;		/* memory of running and warm instances */
	uint32_t	max_running;		/* instances in running */
	uint32_t	max_warm;		/* instances in warm */
	uint32_t	max_pools;		/* pools of the tenant */
	uint32_t	max_instances_per_pool;	/* instance records per pool, any state */
	uint32_t	max_disk_gib;		/* data disks of all instance records */
};

struct mvm_tenant {
	char		id[MVM_ID_MAX + 1];
	uint16_t	net_id;		/* 0..4095; the /24 is a function of it */
	struct mvm_quota quota;
	uint32_t	uid;		/* owner of the tenant's tree */
	uint32_t	gid;
	bool		pinned;		/* never touched by the sleep policy */
	int64_t		created_at;
	uint64_t	revision;	/* bumped by the store on every update */
};

/* How long an instance must stay in a state before it may leave it. */
struct mvm_runtime_policy {
	uint32_t	min_running_seconds;		/* default 60 */
	uint32_t	min_warm_seconds;		/* default 30 */
	uint32_t	drain_timeout_seconds;		/* default 30 */
	uint32_t	graceful_shutdown_seconds;	/* default 15 */
	/*
	 * How long an instance must stay running with its agent answering
	 * before its failure count is forgotten (default 60): a guest that
	 * boots and then dies keeps counting towards the failure budget.
	 */
	uint32_t	settle_seconds;
};

/* When an idle instance is warmed or put to sleep. */
struct mvm_sleep_policy {
	uint32_t	warm_after_idle_seconds;	/* default 300; 0 disables */
	uint32_t	sleep_after_idle_seconds;	/* default 900; 0 disables */
	uint32_t	idle_cpu_percent;		/* default 5: below is idle */
	uint32_t	idle_net_bytes;			/* default 1024 per interval */
};

/* Desired number of instances in each steady state. */
struct mvm_counts {
	uint32_t	running;
	uint32_t	warm;
	uint32_t	sleeping;
};

struct mvm_pool {
	char		tenant[MVM_ID_MAX + 1];
	char		id[MVM_ID_MAX + 1];
	char		image[MVM_IMAGE_MAX + 1];	/* image reference */
	uint32_t	vcpus;		/* 1..32 */
	uint32_t	mem_mib;	/* 16..1048576 */
	uint32_t	data_disk_mib;	/* 0 means no data disk */
	struct mvm_counts desired;
	struct mvm_runtime_policy runtime;
	struct mvm_sleep_policy sleep;
	bool		pinned;		/* never touched by the sleep policy */
	/*
	 * The reconciler keeps the pool at its desired counts. Set when the
	 * counts are written (its `desired` file, a fleet document); a pool
	 * made by mkdir starts unmanaged, so instances an operator starts by
	 * hand are not stopped for counts nobody asked for.
	 */
	bool		managed;
	int64_t		created_at;
	uint64_t	revision;	/* bumped by the store on every update */
};

struct mvm_instance {
	char		tenant[MVM_ID_MAX + 1];
	char		pool[MVM_ID_MAX + 1];
	char		id[MVM_ID_MAX + 1];
	enum mvm_state	state;
	enum mvm_op	op;
	int64_t		created_at;
	int64_t		entered_running_at;	/* 0 unless running */
	int64_t		entered_warm_at;	/* 0 unless warm */
	uint16_t	ip_offset;	/* host part of the address: 3..254 */
	int32_t		pid;		/* VMM process, 0 when none */
	uint64_t	pid_start;	/* its start time (/proc/<pid>/stat field 22) */
	char		reason[MVM_REASON_MAX + 1];	/* why it last stopped */
	uint32_t	failures;	/* failed moves since the last success */
	int64_t		last_failure_at; /* 0 when it never failed */
	/*
	 * Set when the sleep policy moved the instance colder because it was
	 * idle: it still fills the slot of parked_from (running or warm) in
	 * its pool's desired counts, so the reconciler does not undo the
	 * policy. Any other transition clears it.
	 */
	bool		parked;
	enum mvm_state	parked_from;	/* valid when parked */
	/*
	 * What the instance was booted with: a cold boot records its pool's
	 * vcpus and mem_mib here, and a running, warm or woken instance holds
	 * these against its tenant's quota whatever its pool says since.
	 * 0 before the first boot.
	 */
	uint32_t	vcpus;
	uint32_t	mem_mib;
	uint64_t	disk_mib;	/* MiB its snapshot files use; 0: none */
	/*
	 * Its run directory under <run_dir>/vm/ (sockets), recorded when a
	 * VMM is launched and used while that VMM lives; "" before the first
	 * launch. See mvm_names_run_name.
	 */
	char		run_name[MVM_RUN_NAME_MAX + 1];
	uint64_t	revision;	/* bumped by the store on every update */
};

/* Fill in the documented defaults (the values listed in the comments above). */
void mvm_quota_defaults(struct mvm_quota *q);
void mvm_runtime_policy_defaults(struct mvm_runtime_policy *p);
void mvm_sleep_policy_defaults(struct mvm_sleep_policy *p);
/* Zero `t` and set default quotas; the caller sets id and net_id. */
void mvm_tenant_init(struct mvm_tenant *t);
/* Zero `p` and set defaults: 1 vCPU, 128 MiB, no data disk, default policies. */
void mvm_pool_init(struct mvm_pool *p);

/*
 * Names of states and operations as they appear in files ("running",
 * "snapshotting", "none"). Out-of-range values give "unknown".
 */
const char *mvm_state_name(enum mvm_state s);
const char *mvm_op_name(enum mvm_op op);

/*
 * Parse a state name of `len` bytes (no NUL needed, no whitespace allowed).
 * Returns 0 and sets *out, or -EINVAL.
 */
int mvm_state_parse(const char *s, size_t len, enum mvm_state *out);

#endif
