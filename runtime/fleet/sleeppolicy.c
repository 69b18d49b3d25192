/* sleeppolicy.c: warm or sleep idle instances, coldest first. */
#include "sleeppolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"

/*
 * The step the thresholds ask of `in`, idle for `idle` seconds under `sp`:
 * sets *to and the threshold's name and value, or returns false.
 */
static bool
step(const struct mvm_instance *in, const struct mvm_sleep_policy *sp,
    int64_t idle, enum mvm_state *to, const char **name, uint32_t *limit)
{
	if (sp->sleep_after_idle_seconds != 0 &&
	    idle >= (int64_t)sp->sleep_after_idle_seconds) {
		*to = MVM_STATE_SLEEPING;
		*name = "sleep_after_idle_seconds";
		*limit = sp->sleep_after_idle_seconds;
		return true;
	}
	if (in->state == MVM_STATE_RUNNING && sp->warm_after_idle_seconds != 0 &&
	    idle >= (int64_t)sp->warm_after_idle_seconds) {
		*to = MVM_STATE_WARM;
		*name = "warm_after_idle_seconds";
		*limit = sp->warm_after_idle_seconds;
		return true;
	}
	return false;
}

/* Coldest first; the instance id breaks ties so the order is stable. */
static int
coldest_first(const void *a, const void *b, void *arg)
{
	const struct mvm_sleep_decision *x = a, *y = b;
	const struct mvm_sleep_input *ins = arg;

	if (x->idle_seconds != y->idle_seconds)
		return x->idle_seconds > y->idle_seconds ? -1 : 1;
	return strcmp(ins[x->index].in->id, ins[y->index].in->id);
}

size_t
mvm_sleep_decide(const struct mvm_tenant *t, const struct mvm_pool *p,
    const struct mvm_sleep_input *ins, size_t n, int64_t now,
    struct mvm_sleep_decision *out)
{
	struct mvm_sleep_decision *d;
	const struct mvm_instance *in;
	struct mvm_error e;
	char why[256];
	const char *name;
	uint32_t limit;
	int64_t idle;
	size_t i, nd = 0;
	enum mvm_state to;

	if (t->pinned || p->pinned)
		return 0;
	for (i = 0; i < n; i++) {
		in = ins[i].in;
		if (strcmp(in->tenant, p->tenant) != 0 ||
		    strcmp(in->pool, p->id) != 0 || in->op != MVM_OP_NONE ||
		    (in->state != MVM_STATE_RUNNING &&
		    in->state != MVM_STATE_WARM) ||
		    ins[i].idle == NULL || !ins[i].idle->have_iv)
			continue;
		idle = mvm_idle_track_seconds(ins[i].idle, now);
		if (idle == 0 || !step(in, &p->sleep, idle, &to, &name, &limit))
			continue;
		d = &out[nd++];
		memset(d, 0, sizeof(*d));
		d->index = i;
		d->to = to;
		d->idle_seconds = idle;
		mvm_idle_describe(&ins[i].idle->iv, &p->sleep, why,
		    sizeof(why));
		if (mvm_fsm_eligible(in, to, &p->runtime, now, false, &e) < 0) {
			d->deferred = true;
			d->eligible_at = mvm_fsm_eligible_at(in, to,
			    &p->runtime);
			snprintf(d->reason, sizeof(d->reason),
			    "idle %lld s (%s) >= %s=%u, but %.200s", (long long)idle,
			    why, name, limit, e.msg);
		} else
			snprintf(d->reason, sizeof(d->reason),
			    "idle %lld s (%s) >= %s=%u", (long long)idle, why,
			    name, limit);
	}
	if (nd > 1)
		qsort_r(out, nd, sizeof(*out), coldest_first, (void *)ins);
	return nd;
}
