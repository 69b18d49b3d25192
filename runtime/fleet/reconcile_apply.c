/*
 * reconcile_apply.c: what the reconciler does (see reconcile.h; the pieces
 * are named in reconcile_int.h): carry out one planned step (check, act,
 * verify), and apply a fleet desired-state document (tenants, then pools
 * in role order, then pruning).
 */
#include "reconcile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "names.h"
#include "objects.h"
#include "quota.h"
#include "reconcile_int.h"
#include "store.h"
#include "world.h"

/* Generated ids that collide before a create gives up. */
#define CREATE_TRIES		8

/* The parts of a pool a document sets (its spec and counts). */
static bool
spec_equal(const struct mvm_pool *a, const struct mvm_pool *b)
{
	return strcmp(a->image, b->image) == 0 && a->vcpus == b->vcpus &&
	    a->mem_mib == b->mem_mib && a->data_disk_mib == b->data_disk_mib &&
	    a->desired.running == b->desired.running &&
	    a->desired.warm == b->desired.warm &&
	    a->desired.sleeping == b->desired.sleeping &&
	    a->runtime.min_running_seconds == b->runtime.min_running_seconds &&
	    a->runtime.min_warm_seconds == b->runtime.min_warm_seconds &&
	    a->runtime.drain_timeout_seconds ==
	    b->runtime.drain_timeout_seconds &&
	    a->runtime.graceful_shutdown_seconds ==
	    b->runtime.graceful_shutdown_seconds;
}

void
mvm_reconcile_spec_copy(struct mvm_pool *dst, const struct mvm_pool *src)
{
	uint32_t settle = dst->runtime.settle_seconds;

	memcpy(dst->image, src->image, sizeof(dst->image));
	dst->vcpus = src->vcpus;
	dst->mem_mib = src->mem_mib;
	dst->data_disk_mib = src->data_disk_mib;
	dst->desired = src->desired;
	dst->runtime = src->runtime;
	/* A document has no settle_seconds: the pool keeps its config's. */
	dst->runtime.settle_seconds = settle;
	dst->managed = true;
}

const struct mvm_desired_tenant *
mvm_reconcile_doc_tenant(const struct mvm_desired *d, const char *id)
{
	for (size_t i = 0; i < d->ntenants; i++)
		if (strcmp(d->tenants[i].tenant.id, id) == 0)
			return &d->tenants[i];
	return NULL;
}

static const struct mvm_desired_pool *
doc_pool(const struct mvm_desired_tenant *dt, const char *id)
{
	for (size_t i = 0; i < dt->npools; i++)
		if (strcmp(dt->pools[i].pool.id, id) == 0)
			return &dt->pools[i];
	return NULL;
}

/* Store a new instance of pool p with a generated id into *in. */
static int
create(struct mvm_reconcile *r, const struct pool *p, struct mvm_instance *in,
    struct mvm_error *e)
{
	int rc = -EEXIST;

	for (int i = 0; i < CREATE_TRIES && rc == -EEXIST; i++) {
		memset(in, 0, sizeof(*in));
		snprintf(in->tenant, sizeof(in->tenant), "%s", p->tenant);
		snprintf(in->pool, sizeof(in->pool), "%s", p->id);
		in->state = MVM_STATE_CREATED;
		if ((rc = mvm_names_instance_generate(in->id)) < 0)
			return mvm_error_set(e, -rc, "cannot generate an "
			    "instance id: %s", strerror(-rc));
		rc = mvm_objects_instance_create(r->cfg.st, in, e);
	}
	return rc;
}

/*
 * Carry out task t: check, act, verify. What succeeded is added to *c.
 * Returns 0, DROPPED (the instance is no longer as planned), or the
 * failing call's negative errno with its sentence in e.
 */
static int
run_step(struct mvm_reconcile *r, struct task *t,
    struct mvm_reconcile_counts *c, struct mvm_error *e)
{
	struct pool *p = t->pool;
	struct mvm_plan_step s = t->step;
	struct mvm_instance in;
	int rc;

	if (s.action == MVM_PLAN_CREATE) {
		if ((rc = create(r, p, &in, e)) < 0)
			return rc;
		c->created++;
		pthread_mutex_lock(&r->mu);
		memcpy(t->step.instance, in.id, sizeof(t->step.instance));
		pthread_mutex_unlock(&r->mu);
		memcpy(s.instance, in.id, sizeof(s.instance));
	} else {
		rc = mvm_store_instance_get(r->cfg.st, p->tenant, p->id,
		    s.instance, &in, e);
		if (rc == -ENOENT)
			return DROPPED;
		if (rc < 0)
			return rc;
		if (in.state != s.from || in.op != MVM_OP_NONE)
			return DROPPED;
	}

	if (s.action == MVM_PLAN_CREATE || s.action == MVM_PLAN_START) {
		rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
		    s.instance, MVM_STATE_RUNNING, 0, e);
		if (rc < 0)
			return rc;
		c->started++;
		/* Freshly booted: minimum runtime does not hold it back. */
		if (s.to != MVM_STATE_RUNNING &&
		    (rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
		    s.instance, s.to, MVM_ENGINE_PROVISION, e)) < 0)
			return rc;
	} else if ((rc = mvm_engine_transition(r->cfg.eng, p->tenant, p->id,
	    s.instance, s.to, 0, e)) < 0)
		return rc;

	switch (s.action) {
	case MVM_PLAN_CREATE:
	case MVM_PLAN_START:
		c->warmed += s.to == MVM_STATE_WARM;
		c->slept += s.to == MVM_STATE_SLEEPING;
		break;
	case MVM_PLAN_RESUME:
		c->resumed++;
		break;
	case MVM_PLAN_WAKE:
		c->woken++;
		break;
	case MVM_PLAN_PAUSE:
		c->warmed++;
		break;
	case MVM_PLAN_SLEEP:
		c->slept++;
		break;
	case MVM_PLAN_STOP:
		c->stopped++;
		break;
	default:
		break;
	}
	if (s.action == MVM_PLAN_DESTROY)
		return 0;
	if ((rc = mvm_store_instance_get(r->cfg.st, p->tenant, p->id,
	    s.instance, &in, e)) < 0)
		return rc;
	if (in.state != s.to)
		return mvm_error_set(e, EIO, "instance %s is %s after the %s, "
		    "not %s", s.instance, mvm_state_name(in.state),
		    mvm_plan_action_name(s.action), mvm_state_name(s.to));
	return 0;
}

/* Minimum runtime, a quota or another transition: wait, not a failure. */
bool
mvm_reconcile_deferral(int rc)
{
	return rc == -EAGAIN || rc == -EDQUOT || rc == -EBUSY;
}

/* Task t with its events: step, then done, deferred or failed. */
int
mvm_reconcile_step(struct mvm_reconcile *r, struct task *t,
    const char *tenant, const char *pool, struct mvm_reconcile_counts *c,
    struct mvm_error *err)
{
	const struct mvm_plan_step *s = &t->step;
	const char *action = mvm_plan_action_name(s->action);
	char line[LINE_MAX_LEN];
	int64_t t0;
	int rc;

	mvm_reconcile_line_format(line, sizeof(line), action, s->instance,
	    s->from, s->to, s->reason);
	mvm_reconcile_event(r, tenant, pool, s->instance, "reconcile.step",
	    "%s", line);
	memset(c, 0, sizeof(*c));
	mvm_error_clear(err);
	t0 = mvm_reconcile_mono_ms();
	rc = run_step(r, t, c, err);
	if (rc == 0)
		mvm_reconcile_event(r, tenant, pool, s->instance,
		    "reconcile.done", "%s %s %s -> %s in %lld ms", action,
		    s->instance, mvm_state_name(s->from),
		    mvm_state_name(s->to),
		    (long long)(mvm_reconcile_mono_ms() - t0));
	else if (rc != DROPPED) {
		mvm_reconcile_line_format(line, sizeof(line), action,
		    s->instance, s->from, s->to, err->msg);
		mvm_reconcile_event(r, tenant, pool, s->instance,
		    mvm_reconcile_deferral(rc) ? "reconcile.defer" :
		    "reconcile.fail", "%s", line);
	}
	return rc;
}

/* Only the store failing or memory running out stops an application. */
static bool
fatal(int rc)
{
	return rc == -EIO || rc == -ENOMEM;
}

/* Note a problem with one object in the report; returns rc if fatal. */
static int
report_error(struct mvm_reconcile_report *rep, int rc,
    const struct mvm_error *err, const char *what)
{
	if (mvm_reconcile_strlist_add(&rep->errors, &rep->nerrors, "%s: %s",
	    what, err->msg) < 0)
		return -ENOMEM;
	return fatal(rc) ? rc : 0;
}

/* Create or update tenant dt; *ok when it exists afterwards. */
static int
apply_tenant(struct mvm_reconcile *r, const struct mvm_desired_tenant *dt,
    uint32_t uid, uint32_t gid, struct mvm_reconcile_report *rep, bool *ok)
{
	struct mvm_store *st = r->cfg.st;
	const char *id = dt->tenant.id;
	struct mvm_tenant cur, next;
	struct mvm_error err;
	bool update;
	int rc;

	*ok = false;
	mvm_error_clear(&err);
	rc = mvm_store_tenant_get(st, id, &cur, &err);
	if (rc == -ENOENT) {
		next = dt->tenant;
		next.uid = uid;
		next.gid = gid;
		next.created_at = 0;
		next.revision = 0;
		if ((rc = mvm_objects_tenant_create(st, &next, &err)) < 0)
			return report_error(rep, rc, &err, id);
		*ok = true;
		mvm_reconcile_changed(r, MVM_RECONCILE_TENANT_CREATED, id,
		    NULL);
		return mvm_reconcile_strlist_add(&rep->tenants_created,
		    &rep->ntenants_created, "%s", id);
	}
	if (rc < 0)
		return report_error(rep, rc, &err, id);
	*ok = true;
	next = cur;
	update = !mvm_quota_equal(&cur.quota, &dt->tenant.quota);
	next.quota = dt->tenant.quota;
	if (cur.net_id != dt->tenant.net_id) {
		rc = mvm_objects_tenant_net_check(st, &cur, dt->tenant.net_id,
		    &err);
		if (rc == -EBUSY) {
			if ((rc = report_error(rep, -EBUSY, &err, id)) < 0)
				return rc;
		} else if (rc < 0) {
			return report_error(rep, rc, &err, id);
		} else {
			next.net_id = dt->tenant.net_id;
			update = true;
		}
	}
	if (!update)
		return 0;
	if ((rc = mvm_objects_tenant_update(st, &next, &err)) < 0)
		return report_error(rep, rc, &err, id);
	mvm_reconcile_changed(r, MVM_RECONCILE_TENANT_UPDATED, id, NULL);
	return mvm_reconcile_strlist_add(&rep->tenants_updated,
	    &rep->ntenants_updated, "%s", id);
}

/* Create pool dp, or update its spec and counts. */
static int
apply_pool(struct mvm_reconcile *r, const struct mvm_desired_pool *dp,
    struct mvm_reconcile_report *rep)
{
	struct mvm_store *st = r->cfg.st;
	const struct mvm_pool *want = &dp->pool;
	struct mvm_pool cur, next;
	struct mvm_error err;
	char what[2 * MVM_ID_MAX + 2];
	int rc;

	snprintf(what, sizeof(what), "%s/%s", want->tenant, want->id);
	mvm_error_clear(&err);
	rc = mvm_store_pool_get(st, want->tenant, want->id, &cur, &err);
	if (rc == -ENOENT) {
		next = *want;
		next.created_at = 0;
		next.revision = 0;
		next.managed = true;
		if ((rc = mvm_objects_pool_create(st, &next, &err)) < 0)
			return report_error(rep, rc, &err, what);
		mvm_reconcile_changed(r, MVM_RECONCILE_POOL_CREATED,
		    want->tenant, want->id);
		return mvm_reconcile_strlist_add(&rep->pools_created,
		    &rep->npools_created, "%s", what);
	}
	if (rc < 0)
		return report_error(rep, rc, &err, what);
	if (spec_equal(&cur, want) && cur.managed)
		return 0;
	next = cur;
	mvm_reconcile_spec_copy(&next, want);
	if ((rc = mvm_store_pool_update(st, &next, &err)) < 0)
		return report_error(rep, rc, &err, what);
	mvm_reconcile_changed(r, MVM_RECONCILE_POOL_UPDATED, want->tenant,
	    want->id);
	return mvm_reconcile_strlist_add(&rep->pools_updated,
	    &rep->npools_updated, "%s", what);
}

/*
 * Prune pool tenant/id: hold it (no pass, wait for its round to end),
 * destroy its instances, delete it. Returns 0 when it is gone, 1 when it
 * is not (said in the report), or a fatal errno.
 */
static int
prune_pool(struct mvm_reconcile *r, const char *tenant, const char *id,
    struct mvm_reconcile_report *rep)
{
	struct mvm_error err;
	struct list l = { 0 };
	char what[2 * MVM_ID_MAX + 2];
	struct pool *p;
	int rc;

	snprintf(what, sizeof(what), "%s/%s", tenant, id);
	pthread_mutex_lock(&r->mu);
	if ((p = mvm_reconcile_pool_add(r, tenant, id)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return -ENOMEM;
	}
	p->held = true;
	while ((p->active || p->passing) && !r->closing)
		pthread_cond_wait(&r->progress_cv, &r->mu);
	rc = r->closing ? mvm_error_set(&err, ESHUTDOWN, "the reconciler is "
	    "closing") : 0;
	pthread_mutex_unlock(&r->mu);
	if (rc < 0)
		goto fail;

	mvm_error_clear(&err);
	if ((rc = mvm_store_instance_list(r->cfg.st, tenant, id,
	    mvm_reconcile_list_add, &l, &err)) < 0)
		goto fail;
	for (size_t i = 0; i < l.n; i++) {
		mvm_error_clear(&err);
		rc = mvm_engine_destroy(r->cfg.eng, tenant, id, l.ins[i].id,
		    &err);
		if (rc < 0 && rc != -ENOENT)
			goto fail;
	}
	if ((rc = mvm_store_pool_delete(r->cfg.st, tenant, id, &err)) < 0)
		goto fail;
	free(l.ins);
	pthread_mutex_lock(&r->mu);
	mvm_reconcile_pool_forget(r, p);
	pthread_mutex_unlock(&r->mu);
	mvm_reconcile_changed(r, MVM_RECONCILE_POOL_PRUNED, tenant, id);
	return mvm_reconcile_strlist_add(&rep->pools_pruned,
	    &rep->npools_pruned, "%s", what);

fail:
	/* Kept, and passed again as usual. */
	free(l.ins);
	pthread_mutex_lock(&r->mu);
	p->held = false;
	p->wanted = true;
	pthread_cond_signal(&r->sched_cv);
	pthread_mutex_unlock(&r->mu);
	rc = report_error(rep, rc, &err, what);
	return rc < 0 ? rc : 1;
}

/* Prune what the document does not name, as its flags ask. */
static int
prune(struct mvm_reconcile *r, const struct mvm_desired *d,
    struct mvm_reconcile_report *rep, struct mvm_error *e)
{
	struct mvm_world w;
	struct mvm_error err;
	int rc;

	if ((rc = mvm_world_load(r->cfg.st, NULL, MVM_WORLD_NO_INSTANCES, &w,
	    e)) < 0)
		return rc;
	for (size_t i = 0; i < w.npools; i++) {
		const struct mvm_pool *p = &w.pools[i];
		const struct mvm_desired_tenant *dt =
		    mvm_reconcile_doc_tenant(d, p->tenant);

		if (dt != NULL ? d->prune_unknown_pools &&
		    doc_pool(dt, p->id) == NULL : d->prune_unknown_tenants)
			if ((rc = prune_pool(r, p->tenant, p->id, rep)) < 0)
				goto out;
	}
	for (size_t i = 0; i < w.ntenants && d->prune_unknown_tenants; i++) {
		const char *id = w.tenants[i].id;

		if (mvm_reconcile_doc_tenant(d, id) != NULL)
			continue;
		mvm_error_clear(&err);
		if ((rc = mvm_store_tenant_delete(r->cfg.st, id, &err)) < 0) {
			if (rc == -EBUSY)
				mvm_error_set(&err, EBUSY, "the tenant still "
				    "has pools, so it is kept");
			if ((rc = report_error(rep, rc, &err, id)) < 0)
				goto out;
			continue;
		}
		mvm_reconcile_changed(r, MVM_RECONCILE_TENANT_PRUNED, id, NULL);
		if ((rc = mvm_reconcile_strlist_add(&rep->tenants_pruned,
		    &rep->ntenants_pruned, "%s", id)) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to prune");
	mvm_world_free(&w);
	return rc;
}

static int
ref_cmp_role(const void *va, const void *vb)
{
	const struct pool_ref *a = va, *b = vb;

	if (a->dp->role != b->dp->role)
		return (int)a->dp->role - (int)b->dp->role;
	return (a->order > b->order) - (a->order < b->order);
}

/* Every pool of `d` in document order; *n gets the count. */
struct pool_ref *
mvm_reconcile_doc_refs(const struct mvm_desired *d, size_t *n)
{
	struct pool_ref *refs;
	size_t k = 0;

	*n = 0;
	for (size_t i = 0; i < d->ntenants; i++)
		*n += d->tenants[i].npools;
	if ((refs = calloc(*n + 1, sizeof(*refs))) == NULL)
		return NULL;
	for (size_t i = 0; i < d->ntenants; i++)
		for (size_t j = 0; j < d->tenants[i].npools; j++, k++)
			refs[k] = (struct pool_ref){ &d->tenants[i].pools[j],
			    k };
	return refs;
}

int
mvm_reconcile_apply(struct mvm_reconcile *r, const struct mvm_desired *d,
    uint32_t uid, uint32_t gid, int wait_ms, struct mvm_reconcile_report *rep,
    struct mvm_error *e)
{
	struct pool_ref *refs = NULL;
	bool *ok = NULL;
	size_t nrefs = 0;
	int64_t deadline;
	int rc = 0;

	memset(rep, 0, sizeof(*rep));
	rep->started_at = mvm_reconcile_real_ms();
	if ((refs = mvm_reconcile_doc_refs(d, &nrefs)) == NULL ||
	    (ok = calloc(d->ntenants + 1, sizeof(*ok))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->ntenants; i++)
		if ((rc = apply_tenant(r, &d->tenants[i], uid, gid, rep,
		    &ok[i])) < 0)
			goto out;
	/* Pools in role order, gateways first. */
	qsort(refs, nrefs, sizeof(*refs), ref_cmp_role);
	for (size_t i = 0; i < nrefs; i++) {
		const struct mvm_desired_tenant *dt =
		    mvm_reconcile_doc_tenant(d, refs[i].dp->pool.tenant);

		if (ok[dt - d->tenants] &&
		    (rc = apply_pool(r, refs[i].dp, rep)) < 0)
			goto out;
	}
	if ((d->prune_unknown_pools || d->prune_unknown_tenants) &&
	    (rc = prune(r, d, rep, e)) < 0)
		goto out;

	/* The document's pools that exist, their totals now, and a kick. */
	if ((rep->baseline = calloc(nrefs + 1, sizeof(*rep->baseline))) ==
	    NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->ntenants; i++) {
		const struct mvm_desired_tenant *dt = &d->tenants[i];

		for (size_t j = 0; j < dt->npools; j++) {
			const struct mvm_pool *p = &dt->pools[j].pool;
			const struct pool *ps;
			struct mvm_pool cur;

			if (mvm_store_pool_get(r->cfg.st, p->tenant, p->id,
			    &cur, NULL) < 0)
				continue;
			if ((rc = mvm_reconcile_strlist_add(&rep->pools,
			    &rep->npools, "%s/%s", p->tenant, p->id)) < 0)
				goto out;
			pthread_mutex_lock(&r->mu);
			if ((ps = mvm_reconcile_pool_find(r, p->tenant,
			    p->id)) != NULL)
				rep->baseline[rep->npools - 1] = ps->totals;
			pthread_mutex_unlock(&r->mu);
			mvm_reconcile_kick(r, p->tenant, p->id);
		}
	}

	deadline = mvm_reconcile_mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	mvm_reconcile_report_update(r, rep);
	while (wait_ms > 0 && !rep->converged &&
	    mvm_reconcile_mono_ms() < deadline) {
		int64_t until = mvm_reconcile_mono_ms() + 200;
		struct timespec ts;

		if (until > deadline)
			until = deadline;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		pthread_mutex_lock(&r->mu);
		if (r->closing) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		pthread_cond_timedwait(&r->progress_cv, &r->mu, &ts);
		pthread_mutex_unlock(&r->mu);
		mvm_reconcile_report_update(r, rep);
	}

out:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to apply the document");
	else if (rc < 0 && rep->nerrors > 0)
		mvm_error_set(e, -rc, "%s", rep->errors[rep->nerrors - 1]);
	free(refs);
	free(ok);
	return rc;
}
