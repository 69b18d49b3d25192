/*
 * reconcile_int.h: private to the reconciler, shared by its three pieces
 * and included by nothing else:
 *   reconcile.c         the loop: scheduler and worker threads, the queue,
 *                       the pool table, passes, kicks and backoff timing;
 *   reconcile_apply.c   carrying out a planned step, and applying a fleet
 *                       desired-state document;
 *   reconcile_report.c  what the reconciler tells: events, the per-pool
 *                       status, a document's report, and the dry-run plan
 *                       of the whole node (with the node read it shares
 *                       with the periodic pass).
 *
 * Locking: the fields of struct mvm_reconcile and struct pool are under
 * r->mu, unless a field says whose it is. r->mu is never held across a
 * store, engine or callback call. Each function says whether it wants
 * r->mu held.
 */
#ifndef MVM_RECONCILE_INT_H
#define MVM_RECONCILE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desired.h"
#include "error.h"
#include "model.h"
#include "plan.h"
#include "quota.h"
#include "reconcile.h"
#include "world.h"

/* The longest pending line: action, instance, states and a sentence. */
#define LINE_MAX_LEN		(MVM_ID_MAX + MVM_ERROR_MSG_MAX + 64)
/* A step's answer when its instance changed since the plan. */
#define DROPPED			1

enum task_state {
	T_HELD,		/* a move up waiting for the moves down */
	T_QUEUED,
	T_RUNNING,
	T_DONE,		/* done, failed or dropped: no longer pending */
	T_DEFERRED,	/* the engine deferred it: pending with its reason */
};

struct pool;

struct task {
	struct task		*next;		/* in the queue */
	struct pool		*pool;
	struct mvm_plan_step	 step;
	bool			 heavy;		/* a boot or a wake */
	bool			 down;		/* pause, sleep or stop */
	enum task_state		 state;
	char			 why[MVM_ERROR_MSG_MAX];	/* T_DEFERRED */
};

/* What identifies a deferral from one pass to the next (for events). */
struct defkey {
	char			 instance[MVM_ID_MAX + 1];
	enum mvm_plan_action	 action;
	enum mvm_state		 to;
	int			 code;
};

struct pool {
	char			 tenant[MVM_ID_MAX + 1];
	char			 id[MVM_ID_MAX + 1];
	bool			 wanted;	/* pass as soon as possible */
	bool			 passing;	/* the scheduler is planning it */
	bool			 held;		/* being pruned: never passed */
	bool			 active;	/* steps queued or running */
	bool			 passed;
	bool			 engine_deferred; /* in this round */
	int64_t			 due_ms;	/* monotonic; 0: nothing due */
	int64_t			 pass_ms;	/* real time the last pass began */
	int64_t			 last_pass_at;
	uint32_t		 last_pass_us;
	uint64_t		 revision;	/* of the pool the pass read */
	unsigned		 seen;		/* node scan generation */
	struct mvm_plan_summary	 summary;
	struct mvm_reconcile_counts totals;
	struct task		*tasks;		/* this round's steps */
	size_t			 ntasks, nleft, ndown;
	char			*waits;		/* deferral and hold lines */
	struct defkey		*prev;		/* the scheduler's own */
	size_t			 nprev;
};

struct mvm_reconcile {
	struct mvm_reconcile_config cfg;
	struct mvm_plan_options	 opt;
	pthread_mutex_t		 mu;
	pthread_cond_t		 sched_cv;	/* the scheduler has work */
	pthread_cond_t		 work_cv;	/* a task, or a free boot slot */
	pthread_cond_t		 progress_cv;	/* a pass or a round ended */
	pthread_t		 sched;
	bool			 sched_started;
	pthread_t		*workers;
	unsigned		 nworkers;	/* started */
	bool			 closing;
	bool			 kick_all;
	char			(*kick_tenants)[MVM_ID_MAX + 1];
	size_t			 nkick_tenants, kick_cap;
	int64_t			 periodic_ms;	/* the next full pass, monotonic */
	unsigned		 scan_gen;
	struct pool		**pools;	/* sorted by (tenant, id) */
	size_t			 npools, pools_cap;
	struct task		*head, *tail;	/* the queue */
	unsigned		 heavy;		/* boots and wakes running */
	/* The scheduler's own. */
	struct mvm_plan		 plan;
	struct mvm_plan_member	*members;
	size_t			 members_cap;
};

/* The whole node as one read sees it, and each tenant's usage. */
struct node {
	struct mvm_world	 w;
	struct mvm_usage	*usage;		/* parallel to w.tenants */
};

/* What planning one pool needs. */
struct input {
	struct mvm_pool			 pool;
	struct mvm_quota		 quota;
	struct mvm_usage		 usage;
	const struct mvm_instance	*ins;
	size_t				 nins;
};

/* A growing array of instance records (mvm_reconcile_list_add). */
struct list {
	struct mvm_instance	*ins;
	size_t			 n, cap;
};

/* A pool of a document, and its place in the document. */
struct pool_ref {
	const struct mvm_desired_pool	*dp;
	size_t				 order;	/* in the document */
};

/*
 * reconcile.c: the loop.
 */

/* The monotonic and the real clock, in ms. */
int64_t mvm_reconcile_mono_ms(void);
int64_t mvm_reconcile_real_ms(void);

/*
 * Make room for one more element of `size` bytes in the array *arr of *cap
 * elements, n of them used. Returns 0 or -ENOMEM (*arr unchanged).
 */
int mvm_reconcile_grow(void *arr, size_t *cap, size_t n, size_t size);

/* The order of (tenant, pool) keys: strcmp on tenants, then on pools. */
int mvm_reconcile_key_cmp(const char *t1, const char *p1, const char *t2,
    const char *p2);

/*
 * The pool table; callers hold r->mu. pool_find returns tenant/id or NULL;
 * pool_add finds or adds it (NULL when out of memory); pool_forget
 * removes and frees `p`, which nobody may be using.
 */
struct pool *mvm_reconcile_pool_find(const struct mvm_reconcile *r,
    const char *tenant, const char *id);
struct pool *mvm_reconcile_pool_add(struct mvm_reconcile *r,
    const char *tenant, const char *id);
void mvm_reconcile_pool_forget(struct mvm_reconcile *r, struct pool *p);

/*
 * A callback for mvm_store_instance_list: append a copy of `in` to the
 * struct list at `arg`. Returns 0 or -ENOMEM.
 */
int mvm_reconcile_list_add(const struct mvm_instance *in, void *arg);

/*
 * reconcile_apply.c: steps and documents.
 */

/*
 * Carry out task t of pool tenant/pool (names copied under r->mu, which is
 * not held now): check, act, verify, with the step's events. What
 * succeeded is counted in *c (zeroed first), a failure's sentence is in
 * *err. Returns 0, DROPPED (the instance is no longer as planned), or the
 * failing call's negative errno. Runs on the worker that took t.
 */
int mvm_reconcile_step(struct mvm_reconcile *r, struct task *t,
    const char *tenant, const char *pool, struct mvm_reconcile_counts *c,
    struct mvm_error *err);

/* True for a step's answer that is a wait, not a failure. */
bool mvm_reconcile_deferral(int rc);

/* Copy the parts of a pool a document sets (spec, counts) into dst. */
void mvm_reconcile_spec_copy(struct mvm_pool *dst, const struct mvm_pool *src);

/* Tenant `id` of document d, or NULL. */
const struct mvm_desired_tenant *mvm_reconcile_doc_tenant(
    const struct mvm_desired *d, const char *id);

/*
 * Every pool of d in document order, malloc'd (free(3)); *n gets the
 * count. NULL when out of memory.
 */
struct pool_ref *mvm_reconcile_doc_refs(const struct mvm_desired *d,
    size_t *n);

/*
 * reconcile_report.c: what the reconciler tells.
 */

/*
 * Write an event of pool tenant/pool (the store assigns its seq) and hand
 * it to on_event. r->mu must not be held.
 */
void mvm_reconcile_event(struct mvm_reconcile *r, const char *tenant,
    const char *pool, const char *instance, const char *action,
    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Call on_change, if any. r->mu must not be held. */
void mvm_reconcile_changed(struct mvm_reconcile *r,
    enum mvm_reconcile_change what, const char *tenant, const char *pool);

/* a += b, count by count. */
void mvm_reconcile_counts_add(struct mvm_reconcile_counts *a,
    const struct mvm_reconcile_counts *b);

/*
 * "<action> <instance or new> <from> -> <to>: <reason>" into buf; returns
 * what snprintf returns.
 */
int mvm_reconcile_line_format(char *buf, size_t len, const char *action,
    const char *instance, enum mvm_state from, enum mvm_state to,
    const char *reason);

/*
 * The lines of pool p's new pass that are not its steps, into *waits (a
 * malloc'd text, NULL when there are none or memory ran out): one per
 * deferral of `pl` and one per failed-out instance of `in`. A deferral
 * new since the pool's previous pass is an event; p->prev becomes this
 * pass's deferrals. Runs on the scheduler thread, r->mu not held, while
 * p->passing keeps everyone else off p. Returns the number of new
 * deferrals.
 */
uint32_t mvm_reconcile_waits(struct mvm_reconcile *r, struct pool *p,
    const struct mvm_plan *pl, const struct input *in, char **waits);

/* Append a formatted string to a report's list. Returns 0 or -ENOMEM. */
int mvm_reconcile_strlist_add(char ***arr, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Read every tenant, pool and instance, and each tenant's usage, into *nd
 * (free it with mvm_reconcile_node_free). Returns 0, or -ENOMEM or the
 * store's negative errno, said in e.
 */
int mvm_reconcile_node_read(struct mvm_store *st, struct node *nd,
    struct mvm_error *e);
void mvm_reconcile_node_free(struct node *nd);

/*
 * The input of pool `i` of the node (pointing into nd); false when its
 * tenant is missing.
 */
bool mvm_reconcile_node_input(const struct node *nd, size_t i,
    struct input *in);

/*
 * Plan one pool's input into `pl` with options o at `now` (Unix s); *m and
 * *cap are a buffer reused from call to call (free(3) *m at the end).
 * Returns mvm_plan_pool's answer, or -ENOMEM, said in e.
 */
int mvm_reconcile_plan_input(struct mvm_plan *pl, const struct input *in,
    struct mvm_plan_member **m, size_t *cap, const struct mvm_plan_options *o,
    int64_t now, struct mvm_error *e);

#endif
