/*
 * test_golden_views.c: the keys of every view, in order, in both forms,
 * against the golden file view-keys; and the whole metrics text, whose
 * values depend only on the store, against the golden file metrics.
 *
 * The node: tenant acme (net 7) with pool web, managed with nothing to do,
 * so that the reconciler's pass fills its status, and pool api, not
 * managed, holding instance i-1 (sleeping) and i-2 (stopped). The engine
 * behind the reconciler has no VMM (/bin/false) and boots nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "golden.h"
#include "reconcile.h"
#include "render.h"
#include "storefix.h"

static struct storefix sf;
static struct mvm_engine *eng;
static struct mvm_reconcile *rec;
static struct mvmfs_render_src src;

static void
add_instance(const char *id, enum mvm_state s)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	strcpy(in.tenant, "acme");
	strcpy(in.pool, "api");
	strcpy(in.id, id);
	in.state = s;
	in.created_at = 1000;
	cr_assert_eq(mvm_store_instance_create(sf.st, &in, &e), 0, "%s",
	    e.msg);
}

static void
add_pool(const char *id, bool managed)
{
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	mvm_pool_init(&p);
	strcpy(p.tenant, "acme");
	strcpy(p.id, id);
	p.managed = managed;
	cr_assert_eq(mvm_store_pool_create(sf.st, &p, &e), 0, "%s", e.msg);
}

/* Wait until the reconciler has passed pool acme/web. */
static void
wait_passed(void)
{
	struct mvm_reconcile_pool_status ps;

	for (int i = 0; i < 1000; i++) {
		mvm_reconcile_kick(rec, "acme", "web");
		if (mvm_reconcile_pool_status(rec, "acme", "web", &ps) == 0 &&
		    ps.passed && !ps.active)
			return;
		usleep(10 * 1000);
	}
	cr_assert_fail("the reconciler never passed acme/web");
}

static void
setup(void)
{
	char state[128], run[128];
	struct mvm_error e = { 0 };
	struct mvm_tenant t;

	storefix_setup(&sf, "golden-views");
	snprintf(state, sizeof(state), "%s/state", sf.dir);
	snprintf(run, sizeof(run), "%s/run", sf.dir);
	cr_assert_eq(mvm_engine_open(&(struct mvm_engine_config){
	    .state_dir = state, .run_dir = run, .vmm_path = "/bin/false",
	    .image_dir = sf.dir }, sf.st, &eng, &e), 0, "%s", e.msg);
	mvm_tenant_init(&t);
	strcpy(t.id, "acme");
	t.net_id = 7;
	cr_assert_eq(mvm_store_tenant_create(sf.st, &t, &e), 0, "%s", e.msg);
	add_pool("web", true);
	add_pool("api", false);
	add_instance("i-1", MVM_STATE_SLEEPING);
	add_instance("i-2", MVM_STATE_STOPPED);
	cr_assert_eq(mvm_reconcile_open(&(struct mvm_reconcile_config){
	    .st = sf.st, .eng = eng }, &rec, &e), 0, "%s", e.msg);
	src = (struct mvmfs_render_src){ .st = sf.st, .rec = rec,
	    .vmm = "mvm-qemu", .accel = "tcg" };
}

static void
teardown(void)
{
	mvm_reconcile_close(rec);
	mvm_engine_close(eng);
	storefix_teardown(&sf);
}

TestSuite(golden, .init = setup, .fini = teardown, .timeout = 60);

static char *
render(enum mvmfs_view v, const char *t, const char *p, const char *i,
    bool json, size_t *len)
{
	struct mvm_error e = { 0 };
	char *out;

	cr_assert_eq(mvmfs_render(&src, v, t, p, i, json, &out, len, &e), 0,
	    "%s", e.msg);
	return out;
}

/* The keys of both forms of view `v` under "# <title>" lines, into `keys`. */
static void
add_keys(FILE *keys, const char *title, enum mvmfs_view v, const char *t,
    const char *p, const char *i)
{
	char *text, *line, *save, *eq;
	cJSON *o, *item;
	size_t len;

	text = render(v, t, p, i, false, &len);
	fprintf(keys, "# %s\n", title);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		cr_assert_not_null(eq = strchr(line, '='), "%s", line);
		fprintf(keys, "%.*s\n", (int)(eq - line), line);
	}
	free(text);
	text = render(v, t, p, i, true, &len);
	cr_assert_not_null(o = cJSON_Parse(text), "bad JSON: %s", text);
	fprintf(keys, "\n# %s.json\n", title);
	cJSON_ArrayForEach(item, o)
		fprintf(keys, "%s\n", item->string);
	fprintf(keys, "\n");
	cJSON_Delete(o);
	free(text);
}

Test(golden, view_keys)
{
	size_t len;
	char *text;
	FILE *keys;

	wait_passed();
	cr_assert_not_null(keys = open_memstream(&text, &len));
	add_keys(keys, "node/info", MVMFS_VIEW_NODE_INFO, NULL, NULL, NULL);
	add_keys(keys, "node/stats", MVMFS_VIEW_NODE_STATS, NULL, NULL, NULL);
	add_keys(keys, "tenants/acme/status", MVMFS_VIEW_TENANT_STATUS, "acme",
	    NULL, NULL);
	add_keys(keys, "tenants/acme/pools/web/status (managed, passed)",
	    MVMFS_VIEW_POOL_STATUS, "acme", "web", NULL);
	add_keys(keys, "tenants/acme/pools/api/status (not managed)",
	    MVMFS_VIEW_POOL_STATUS, "acme", "api", NULL);
	add_keys(keys, "tenants/acme/pools/api/instances/i-1/info",
	    MVMFS_VIEW_INSTANCE_INFO, "acme", "api", "i-1");
	add_keys(keys, "tenants/acme/pools/api/instances/i-1/stats",
	    MVMFS_VIEW_INSTANCE_STATS, "acme", "api", "i-1");
	cr_assert_eq(fclose(keys), 0);
	golden_check("view-keys", text, len);
	free(text);
}

Test(golden, metrics)
{
	size_t len;
	char *text = render(MVMFS_VIEW_NODE_METRICS, NULL, NULL, NULL, false,
	    &len);

	golden_check("metrics", text, len);
	free(text);
}
