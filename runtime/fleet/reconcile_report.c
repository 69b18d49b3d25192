/*
 * reconcile_report.c: what the reconciler tells (see reconcile.h; the
 * pieces are named in reconcile_int.h): its events and change callbacks,
 * the pending lines of a pass, a pool's status, a document's report and
 * its JSON, and the dry-run plan of the whole node with the node read it
 * shares with the periodic pass.
 */
#include "reconcile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconcile_int.h"
#include "store.h"
#include "usage.h"
#include "world.h"

/* Write an event of pool tenant/pool and hand it to on_event. */
void
mvm_reconcile_event(struct mvm_reconcile *r, const char *tenant,
    const char *pool, const char *instance, const char *action,
    const char *fmt, ...)
{
	struct mvm_event ev;
	va_list ap;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = mvm_reconcile_real_ms();
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", instance);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(ev.detail, sizeof(ev.detail), fmt, ap);
	va_end(ap);
	if (mvm_store_event_add(r->cfg.st, &ev, &ev.seq, NULL) == 0 &&
	    r->cfg.on_event != NULL)
		r->cfg.on_event(r->cfg.on_event_arg, &ev);
}

void
mvm_reconcile_changed(struct mvm_reconcile *r, enum mvm_reconcile_change what,
    const char *tenant, const char *pool)
{
	if (r->cfg.on_change != NULL)
		r->cfg.on_change(r->cfg.on_change_arg, what, tenant, pool);
}

void
mvm_reconcile_counts_add(struct mvm_reconcile_counts *a,
    const struct mvm_reconcile_counts *b)
{
	a->created += b->created;
	a->started += b->started;
	a->resumed += b->resumed;
	a->woken += b->woken;
	a->warmed += b->warmed;
	a->slept += b->slept;
	a->stopped += b->stopped;
	a->deferred += b->deferred;
	a->failed += b->failed;
}

/* a += b - base, each count at least 0 (a forgotten pool starts over). */
static void
counts_add_since(struct mvm_reconcile_counts *a,
    const struct mvm_reconcile_counts *b,
    const struct mvm_reconcile_counts *base)
{
#define SINCE(f)	a->f += b->f >= base->f ? b->f - base->f : b->f
	SINCE(created);
	SINCE(started);
	SINCE(resumed);
	SINCE(woken);
	SINCE(warmed);
	SINCE(slept);
	SINCE(stopped);
	SINCE(deferred);
	SINCE(failed);
#undef SINCE
}

/* "<action> <instance or new> <from> -> <to>: <reason>" */
int
mvm_reconcile_line_format(char *buf, size_t len, const char *action,
    const char *instance, enum mvm_state from, enum mvm_state to,
    const char *reason)
{
	return snprintf(buf, len, "%s %s %s -> %s: %s", action,
	    instance[0] != '\0' ? instance : "new", mvm_state_name(from),
	    mvm_state_name(to), reason);
}

/* Append `line` and a newline to the malloc'd text *buf of length *len. */
static int
text_add(char **buf, size_t *len, size_t *cap, const char *line)
{
	size_t n = strlen(line);
	char *nb;

	if (*len + n + 2 > *cap) {
		size_t ncap = (*len + n + 2) * 2;

		if ((nb = realloc(*buf, ncap)) == NULL)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, line, n);
	*len += n;
	(*buf)[(*len)++] = '\n';
	(*buf)[*len] = '\0';
	return 0;
}

uint32_t
mvm_reconcile_waits(struct mvm_reconcile *r, struct pool *p,
    const struct mvm_plan *pl, const struct input *in, char **waits)
{
	struct defkey *keys = NULL;
	char line[LINE_MAX_LEN];
	size_t wlen = 0, wcap = 0;
	uint32_t fresh = 0;

	*waits = NULL;
	if (pl->ndeferred > 0)
		keys = calloc(pl->ndeferred, sizeof(*keys));
	/* A deferral is an event when it is new since the last pass. */
	for (size_t i = 0; i < pl->ndeferred; i++) {
		const struct mvm_plan_deferral *d = &pl->deferred[i];
		const char *action = mvm_plan_action_name(d->action);
		bool seen = false;

		for (size_t j = 0; j < p->nprev && !seen; j++)
			seen = strcmp(p->prev[j].instance, d->instance) == 0 &&
			    p->prev[j].action == d->action &&
			    p->prev[j].to == d->to &&
			    p->prev[j].code == d->code;
		mvm_reconcile_line_format(line, sizeof(line), action,
		    d->instance, d->from, d->to, d->reason);
		text_add(waits, &wlen, &wcap, line);
		if (keys != NULL) {
			snprintf(keys[i].instance, sizeof(keys[i].instance),
			    "%s", d->instance);
			keys[i].action = d->action;
			keys[i].to = d->to;
			keys[i].code = d->code;
		}
		if (!seen) {
			fresh++;
			mvm_reconcile_event(r, p->tenant, p->id, d->instance,
			    "reconcile.defer", "%s", line);
		}
	}
	free(p->prev);
	p->prev = keys;
	p->nprev = keys != NULL ? pl->ndeferred : 0;
	/* Failed-out instances hold their slots with their errors. */
	for (size_t i = 0; i < in->nins && r->opt.failure_budget > 0; i++) {
		const struct mvm_instance *x = &in->ins[i];
		char why[MVM_ERROR_MSG_MAX];

		if (x->op != MVM_OP_NONE ||
		    x->failures < r->opt.failure_budget ||
		    (x->state != MVM_STATE_STOPPED &&
		    x->state != MVM_STATE_CREATED))
			continue;
		snprintf(why, sizeof(why), "failed out after %u failures "
		    "(budget %u): %s", x->failures, r->opt.failure_budget,
		    x->reason);
		mvm_reconcile_line_format(line, sizeof(line), "hold", x->id,
		    x->state, x->state, why);
		text_add(waits, &wlen, &wcap, line);
	}
	return fresh;
}

/* Settled since `since_ms`: passed, nothing queued and nothing to do. */
static bool
pool_settled(const struct pool *p, int64_t since_ms)
{
	return p != NULL && p->passed && p->pass_ms >= since_ms &&
	    !p->active && !p->passing && !p->wanted &&
	    p->summary.steps == 0 && p->summary.busy == 0;
}

int
mvm_reconcile_pool_status(struct mvm_reconcile *r, const char *tenant,
    const char *pool, struct mvm_reconcile_pool_status *out)
{
	char line[LINE_MAX_LEN];
	const struct pool *p;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&r->mu);
	if ((p = mvm_reconcile_pool_find(r, tenant, pool)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return -ENOENT;
	}
	out->passed = p->passed;
	out->last_pass_at = p->last_pass_at;
	out->last_pass_us = p->last_pass_us;
	out->pool_revision = p->revision;
	out->active = p->active;
	out->summary = p->summary;
	out->totals = p->totals;
	/* Whole lines only: stop at the first that does not fit. */
	for (size_t i = 0; i < p->ntasks; i++) {
		const struct task *t = &p->tasks[i];
		int n;

		if (t->state == T_DONE)
			continue;
		n = mvm_reconcile_line_format(line, sizeof(line),
		    mvm_plan_action_name(t->step.action), t->step.instance,
		    t->step.from, t->step.to,
		    t->state == T_DEFERRED ? t->why : t->step.reason);
		if (n < 0 || len + (size_t)n + 1 >= sizeof(out->pending))
			goto out;
		memcpy(out->pending + len, line, (size_t)n);
		len += (size_t)n;
		out->pending[len++] = '\n';
	}
	for (const char *w = p->waits, *nl; w != NULL && *w != '\0';
	    w = nl + 1) {
		nl = strchr(w, '\n');
		if (len + (size_t)(nl - w) + 1 >= sizeof(out->pending))
			break;
		memcpy(out->pending + len, w, (size_t)(nl - w) + 1);
		len += (size_t)(nl - w) + 1;
	}
out:
	out->pending[len] = '\0';
	pthread_mutex_unlock(&r->mu);
	return 0;
}

int
mvm_reconcile_strlist_add(char ***arr, size_t *n, const char *fmt, ...)
{
	char **na, *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		return -ENOMEM;
	if ((na = reallocarray(*arr, *n + 1, sizeof(*na))) == NULL) {
		free(s);
		return -ENOMEM;
	}
	na[(*n)++] = s;
	*arr = na;
	return 0;
}

static void
strlist_free(char **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(arr[i]);
	free(arr);
}

int
mvm_reconcile_report_update(struct mvm_reconcile *r,
    struct mvm_reconcile_report *rep)
{
	struct mvm_reconcile_counts c;
	bool converged = true;

	memset(&c, 0, sizeof(c));
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < rep->npools; i++) {
		char tenant[MVM_ID_MAX + 1];
		const char *slash = strchr(rep->pools[i], '/');
		const struct pool *p;

		snprintf(tenant, sizeof(tenant), "%.*s",
		    (int)(slash - rep->pools[i]), rep->pools[i]);
		p = mvm_reconcile_pool_find(r, tenant, slash + 1);
		if (p != NULL)
			counts_add_since(&c, &p->totals, &rep->baseline[i]);
		if (!pool_settled(p, rep->started_at))
			converged = false;
	}
	pthread_mutex_unlock(&r->mu);
	rep->counts = c;
	rep->converged = converged;
	if (converged && rep->finished_at == 0)
		rep->finished_at = mvm_reconcile_real_ms();
	return 0;
}

void
mvm_reconcile_report_free(struct mvm_reconcile_report *rep)
{
	if (rep == NULL)
		return;
	strlist_free(rep->tenants_created, rep->ntenants_created);
	strlist_free(rep->tenants_updated, rep->ntenants_updated);
	strlist_free(rep->tenants_pruned, rep->ntenants_pruned);
	strlist_free(rep->pools_created, rep->npools_created);
	strlist_free(rep->pools_updated, rep->npools_updated);
	strlist_free(rep->pools_pruned, rep->npools_pruned);
	strlist_free(rep->errors, rep->nerrors);
	strlist_free(rep->pools, rep->npools);
	free(rep->baseline);
	memset(rep, 0, sizeof(*rep));
}

/* Add `n` strings as an array member `name` of `obj`. */
static bool
json_strings(cJSON *obj, const char *name, char *const *s, size_t n)
{
	cJSON *a = cJSON_AddArrayToObject(obj, name);

	for (size_t i = 0; a != NULL && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(s[i])))
			return false;
	return a != NULL;
}

/* One pool of the report: {"pool", "converged", "summary", "pending"}. */
static bool
json_pool(struct mvm_reconcile *r, cJSON *arr, const char *name,
    int64_t since_ms)
{
	struct mvm_reconcile_pool_status ps;
	char tenant[MVM_ID_MAX + 1], summary[512];
	const char *slash = strchr(name, '/');
	bool settled = false;
	cJSON *o, *lines;

	snprintf(tenant, sizeof(tenant), "%.*s", (int)(slash - name), name);
	if (mvm_reconcile_pool_status(r, tenant, slash + 1, &ps) < 0)
		memset(&ps, 0, sizeof(ps));
	pthread_mutex_lock(&r->mu);
	settled = pool_settled(mvm_reconcile_pool_find(r, tenant, slash + 1),
	    since_ms);
	pthread_mutex_unlock(&r->mu);
	mvm_plan_summary_format(&ps.summary, summary, sizeof(summary));
	if ((o = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(arr, o) ||
	    cJSON_AddStringToObject(o, "pool", name) == NULL ||
	    cJSON_AddBoolToObject(o, "converged", settled) == NULL ||
	    cJSON_AddStringToObject(o, "summary", summary) == NULL ||
	    (lines = cJSON_AddArrayToObject(o, "pending")) == NULL)
		return false;
	for (char *l = ps.pending, *nl; *l != '\0'; l = nl + 1) {
		if ((nl = strchr(l, '\n')) == NULL)
			break;
		*nl = '\0';
		if (!cJSON_AddItemToArray(lines, cJSON_CreateString(l)))
			return false;
	}
	return true;
}

int
mvm_reconcile_report_json(struct mvm_reconcile *r,
    const struct mvm_reconcile_report *rep, char **out, size_t *len)
{
	const struct mvm_reconcile_counts *c = &rep->counts;
	const struct {
		const char	*name;
		uint32_t	 value;
	} nums[] = {
		{ "instances_created", c->created },
		{ "instances_started", c->started },
		{ "instances_resumed", c->resumed },
		{ "instances_woken", c->woken },
		{ "instances_warmed", c->warmed },
		{ "instances_slept", c->slept },
		{ "instances_stopped", c->stopped },
		{ "instances_deferred", c->deferred },
		{ "instances_failed", c->failed },
	};
	cJSON *o, *pools;
	char *text = NULL;
	bool ok;
	int rc = -ENOMEM;

	*out = NULL;
	if ((o = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	ok = cJSON_AddNumberToObject(o, "started_at",
	    (double)rep->started_at) != NULL &&
	    cJSON_AddNumberToObject(o, "finished_at",
	    (double)rep->finished_at) != NULL &&
	    json_strings(o, "tenants_created", rep->tenants_created,
	    rep->ntenants_created) &&
	    json_strings(o, "tenants_updated", rep->tenants_updated,
	    rep->ntenants_updated) &&
	    json_strings(o, "tenants_pruned", rep->tenants_pruned,
	    rep->ntenants_pruned) &&
	    json_strings(o, "pools_created", rep->pools_created,
	    rep->npools_created) &&
	    json_strings(o, "pools_updated", rep->pools_updated,
	    rep->npools_updated) &&
	    json_strings(o, "pools_pruned", rep->pools_pruned,
	    rep->npools_pruned);
	for (size_t i = 0; ok && i < sizeof(nums) / sizeof(nums[0]); i++)
		ok = cJSON_AddNumberToObject(o, nums[i].name,
		    nums[i].value) != NULL;
	ok = ok && json_strings(o, "errors", rep->errors, rep->nerrors) &&
	    cJSON_AddBoolToObject(o, "converged", rep->converged) != NULL &&
	    (pools = cJSON_AddArrayToObject(o, "pools")) != NULL;
	for (size_t i = 0; ok && i < rep->npools; i++)
		ok = json_pool(r, pools, rep->pools[i], rep->started_at);
	if (ok && (text = cJSON_Print(o)) != NULL) {
		size_t n = strlen(text);

		if ((*out = malloc(n + 2)) != NULL) {
			memcpy(*out, text, n);
			(*out)[n] = '\n';
			(*out)[n + 1] = '\0';
			if (len != NULL)
				*len = n + 1;
			rc = 0;
		}
	}
	cJSON_free(text);
	cJSON_Delete(o);
	return rc;
}

void
mvm_reconcile_node_free(struct node *nd)
{
	mvm_world_free(&nd->w);
	free(nd->usage);
	memset(nd, 0, sizeof(*nd));
}

/* Read every tenant, pool and instance, and each tenant's usage. */
int
mvm_reconcile_node_read(struct mvm_store *st, struct node *nd,
    struct mvm_error *e)
{
	int rc;

	memset(nd, 0, sizeof(*nd));
	if ((rc = mvm_world_load(st, NULL, 0, &nd->w, e)) < 0)
		return rc;
	if (nd->w.ntenants > 0 && (nd->usage = calloc(nd->w.ntenants,
	    sizeof(*nd->usage))) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "no memory to read the node");
		goto fail;
	}
	for (size_t i = 0; i < nd->w.ntenants; i++)
		if ((rc = mvm_usage_tenant(st, nd->w.tenants[i].id, NULL,
		    &nd->usage[i], e)) < 0)
			goto fail;
	return 0;

fail:
	if (rc == -ENOMEM)
		mvm_error_set(e, ENOMEM, "no memory to read the node");
	mvm_reconcile_node_free(nd);
	return rc;
}

/* The input of pool `i` of the node; false when its tenant is missing. */
bool
mvm_reconcile_node_input(const struct node *nd, size_t i, struct input *in)
{
	const struct mvm_pool *p = &nd->w.pools[i];
	const struct mvm_instance *ins;
	const struct mvm_tenant *t;
	struct mvm_usage scratch;
	size_t n;

	if ((t = mvm_world_tenant(&nd->w, p->tenant)) == NULL)
		return false;
	n = mvm_world_pool_instances(&nd->w, p->tenant, p->id, &ins);
	memset(&scratch, 0, sizeof(scratch));
	for (size_t j = 0; j < n; j++)
		mvm_quota_usage_add(&scratch, p, ins[j].state);
	in->pool = *p;
	in->quota = t->quota;
	in->usage = nd->usage[t - nd->w.tenants];
	in->usage.pool_instances = scratch.pool_instances;
	in->ins = ins;
	in->nins = n;
	return true;
}

/* Plan one pool's input into `pl`; *m and *cap are a reusable buffer. */
int
mvm_reconcile_plan_input(struct mvm_plan *pl, const struct input *in,
    struct mvm_plan_member **m, size_t *cap, const struct mvm_plan_options *o,
    int64_t now, struct mvm_error *e)
{
	for (size_t i = 0; i < in->nins; i++) {
		if (mvm_reconcile_grow(m, cap, i, sizeof(**m)) < 0)
			return mvm_error_set(e, ENOMEM,
			    "no memory to plan pool %s/%s", in->pool.tenant,
			    in->pool.id);
		(*m)[i] = (struct mvm_plan_member){ .in = &in->ins[i],
		    .failures = in->ins[i].failures,
		    .last_failure_at = in->ins[i].last_failure_at };
	}
	return mvm_plan_pool(pl, &in->pool, *m, in->nins, &in->quota,
	    &in->usage, o, now, e);
}

static int
ref_cmp_key(const void *va, const void *vb)
{
	const struct pool_ref *a = va, *b = vb;

	return mvm_reconcile_key_cmp(a->dp->pool.tenant, a->dp->pool.id,
	    b->dp->pool.tenant, b->dp->pool.id);
}

/* The pool tenant/id in refs sorted by ref_cmp_key, or NULL. */
static struct pool_ref *
ref_find(struct pool_ref *refs, size_t n, const char *tenant, const char *id)
{
	struct mvm_desired_pool kp;
	struct pool_ref key = { &kp, 0 };

	snprintf(kp.pool.tenant, sizeof(kp.pool.tenant), "%s", tenant);
	snprintf(kp.pool.id, sizeof(kp.pool.id), "%s", id);
	return bsearch(&key, refs, n, sizeof(*refs), ref_cmp_key);
}

int
mvm_reconcile_plan_all(struct mvm_store *st, const struct mvm_desired *d,
    const struct mvm_plan_options *o,
    int (*fn)(const struct mvm_pool *p, const struct mvm_plan *pl,
    void *arg), void *arg, struct mvm_error *e)
{
	struct mvm_plan_options opt, zero = { 0 };
	struct mvm_plan_member *m = NULL;
	struct pool_ref *refs = NULL, *ref;
	struct mvm_plan pl;
	struct node nd;
	bool *matched = NULL;
	size_t mcap = 0, nrefs = 0;
	int64_t now = time(NULL);
	int rc, planned = 0;

	if (o == NULL || memcmp(o, &zero, sizeof(zero)) == 0)
		mvm_plan_options_defaults(&opt);
	else
		opt = *o;
	mvm_plan_init(&pl);
	if ((rc = mvm_reconcile_node_read(st, &nd, e)) < 0)
		return rc;
	if (d != NULL) {
		if ((refs = mvm_reconcile_doc_refs(d, &nrefs)) == NULL ||
		    (matched = calloc(nrefs + 1, sizeof(*matched))) == NULL) {
			rc = mvm_error_set(e, ENOMEM, "no memory to plan");
			goto out;
		}
		qsort(refs, nrefs, sizeof(*refs), ref_cmp_key);
	}
	for (size_t i = 0; i < nd.w.npools; i++) {
		const struct mvm_desired_tenant *dt;
		struct input in;

		if (!mvm_reconcile_node_input(&nd, i, &in))
			continue;
		if (d != NULL && (dt = mvm_reconcile_doc_tenant(d,
		    in.pool.tenant)) != NULL) {
			in.quota = dt->tenant.quota;
			if ((ref = ref_find(refs, nrefs, in.pool.tenant,
			    in.pool.id)) != NULL) {
				mvm_reconcile_spec_copy(&in.pool,
				    &ref->dp->pool);
				matched[ref - refs] = true;
			}
		}
		if ((rc = mvm_reconcile_plan_input(&pl, &in, &m, &mcap, &opt,
		    now, e)) < 0 ||
		    (fn != NULL && (rc = fn(&in.pool, &pl, arg)) != 0))
			goto out;
		planned++;
	}
	/* The document's new pools, in document order, with no instances. */
	for (size_t i = 0; d != NULL && i < d->ntenants; i++) {
		const struct mvm_desired_tenant *dt = &d->tenants[i];
		const struct mvm_tenant *t = mvm_world_tenant(&nd.w,
		    dt->tenant.id);

		for (size_t j = 0; j < dt->npools; j++) {
			struct input in;

			ref = ref_find(refs, nrefs, dt->tenant.id,
			    dt->pools[j].pool.id);
			if (matched[ref - refs])
				continue;
			memset(&in, 0, sizeof(in));
			in.pool = dt->pools[j].pool;
			in.quota = dt->tenant.quota;
			if (t != NULL)
				in.usage = nd.usage[t - nd.w.tenants];
			in.usage.pool_instances = 0;
			if ((rc = mvm_reconcile_plan_input(&pl, &in, &m, &mcap,
			    &opt, now, e)) < 0 ||
			    (fn != NULL && (rc = fn(&in.pool, &pl, arg)) != 0))
				goto out;
			planned++;
		}
	}
	rc = planned;
out:
	free(m);
	free(refs);
	free(matched);
	mvm_plan_free(&pl);
	mvm_reconcile_node_free(&nd);
	return rc;
}
