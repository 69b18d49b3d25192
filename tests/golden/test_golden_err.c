/*
 * test_golden_err.c: one `err` line per errno class the README names, each
 * made by the code path that makes it in mvm (the config parser, the state
 * machine, the quota check, the store, the node key, the engine), logged
 * and rendered as mvmfs does (errlog.h), against the golden file err.
 *
 * Two things change from run to run and are replaced before the
 * comparison: the time of each line (its shape is checked first) and the
 * temporary directory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "engine.h"
#include "errlog.h"
#include "fsm.h"
#include "golden.h"
#include "netplan.h"
#include "quota.h"
#include "secrets.h"
#include "storefix.h"
#include "tmpdir.h"

#define TIME_SHAPE	"dddd-dd-ddTdd:dd:ddZ"

static struct storefix sf;
static struct mvmfs_errlog *errs;

static void
setup(void)
{
	struct mvm_error e = { 0 };
	struct mvm_tenant t;
	struct mvm_pool p;

	storefix_setup(&sf, "golden-err");
	cr_assert_not_null(errs = mvmfs_errlog_new());
	mvm_tenant_init(&t);
	strcpy(t.id, "acme");
	t.net_id = 7;
	t.quota.max_instances_per_pool = 1000;
	cr_assert_eq(mvm_store_tenant_create(sf.st, &t, &e), 0, "%s", e.msg);
	mvm_pool_init(&p);
	strcpy(p.tenant, "acme");
	strcpy(p.id, "web");
	cr_assert_eq(mvm_store_pool_create(sf.st, &p, &e), 0, "%s", e.msg);
}

static void
teardown(void)
{
	mvmfs_errlog_free(errs);
	storefix_teardown(&sf);
}

TestSuite(golden, .init = setup, .fini = teardown, .timeout = 60);

/* Log the failure `rc` with sentence `e` as operation `op` of mvmfs. */
static void
log_failure(const char *op, int rc, const struct mvm_error *e)
{
	cr_assert_lt(rc, 0, "%s did not fail", op);
	cr_assert_eq(e->code, -rc, "%s: errno %d, sentence for %d", op, -rc,
	    e->code);
	cr_assert_gt(mvmfs_errlog_add(errs, "", op, -rc, e->msg), 0);
}

/* EINVAL: a pool config with a value out of range. */
static void
bad_value(void)
{
	static const char text[] = "mem_mib=256\nvcpus=64\n";
	struct mvm_error e = { 0 };
	struct mvm_pool p;

	mvm_pool_init(&p);
	log_failure("write", mvm_config_pool_apply_text(&p, text,
	    strlen(text), &e), &e);
}

/* EOPNOTSUPP: stopped cannot go to warm. */
static void
wrong_state(void)
{
	struct mvm_error e = { 0 };

	log_failure("write", mvm_fsm_check(MVM_STATE_STOPPED, MVM_STATE_WARM,
	    NULL, &e), &e);
}

/* EAGAIN: 20 s in running, with the default minimum of 60 s. */
static void
too_soon(void)
{
	struct mvm_runtime_policy policy;
	struct mvm_error e = { 0 };
	struct mvm_instance in;

	memset(&in, 0, sizeof(in));
	in.state = MVM_STATE_RUNNING;
	in.entered_running_at = 1000;
	mvm_runtime_policy_defaults(&policy);
	log_failure("write", mvm_fsm_eligible(&in, MVM_STATE_WARM, &policy,
	    1020, false, &e), &e);
}

/* EBUSY: a tenant that still has a pool. */
static void
not_empty(void)
{
	struct mvm_error e = { 0 };

	log_failure("rmdir", mvm_store_tenant_delete(sf.st, "acme", &e), &e);
}

/* EDQUOT: a fifth pool with the default max_pools of 4. */
static void
over_quota(void)
{
	struct mvm_quota_delta d;
	struct mvm_error e = { 0 };
	struct mvm_usage u = { .pools = 4 };
	struct mvm_quota q;

	mvm_quota_defaults(&q);
	mvm_quota_delta_pool_create(&d);
	log_failure("mkdir", mvm_quota_check(&q, &u, &d, NULL, &e), &e);
}

/* ENOSPC: one instance more than the tenant's /24 has addresses. */
static void
no_address(void)
{
	struct mvm_error e = { 0 };
	struct mvm_instance in;
	int rc = 0, i;

	cr_assert_eq(mvm_store_begin(sf.st, &e), 0, "%s", e.msg);
	for (i = 0; rc == 0; i++) {
		memset(&in, 0, sizeof(in));
		strcpy(in.tenant, "acme");
		strcpy(in.pool, "web");
		snprintf(in.id, sizeof(in.id), "i-%d", i);
		rc = mvm_store_instance_create(sf.st, &in, &e);
	}
	cr_assert_eq(mvm_store_rollback(sf.st), 0);
	cr_assert_gt(i, 1, "the first instance failed: %s", e.msg);
	log_failure("mkdir", rc, &e);
}

/* EACCES: a node key that others may read. */
static void
open_key(void)
{
	struct mvm_secrets *s = NULL;
	struct mvm_error e = { 0 };
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/node.key", sf.dir);
	cr_assert_geq(fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644), 0);
	cr_assert_eq(write(fd, "0123456789abcdef0123456789abcdef", 32), 32);
	cr_assert_eq(fchmod(fd, 0644), 0);
	close(fd);
	log_failure("open", mvm_secrets_open(sf.dir, sf.st, &s, &e), &e);
	cr_assert_null(s);
}

/*
 * EIO: a VMM that never opens its API socket (it only sleeps, and the
 * engine kills it when the wait is over).
 */
static void
vmm_failed(void)
{
	char state[128], run[128], vmm[128];
	struct mvm_error e = { 0 };
	struct mvm_engine *eng;
	struct mvm_instance in;

	snprintf(state, sizeof(state), "%s/state", sf.dir);
	snprintf(run, sizeof(run), "%s/run", sf.dir);
	snprintf(vmm, sizeof(vmm), "%s/vmm", sf.dir);
	tmpdir_put(sf.dir, "vmm", "#!/bin/sh\nexec sleep 30\n");
	cr_assert_eq(chmod(vmm, 0755), 0);
	cr_assert_eq(mvm_engine_open(&(struct mvm_engine_config){
	    .state_dir = state, .run_dir = run, .vmm_path = vmm,
	    .image_dir = sf.dir, .api_timeout_ms = 500 }, sf.st, &eng, &e),
	    0, "%s", e.msg);
	memset(&in, 0, sizeof(in));
	strcpy(in.tenant, "acme");
	strcpy(in.pool, "web");
	strcpy(in.id, "i-1");
	cr_assert_eq(mvm_store_instance_create(sf.st, &in, &e), 0, "%s",
	    e.msg);
	log_failure("write", mvm_engine_transition(eng, "acme", "web", "i-1",
	    MVM_STATE_RUNNING, 0, &e), &e);
	mvm_engine_close(eng);
}

/* Check the time of every line of `text` for its shape and blank it. */
static void
blank_times(char *text)
{
	char *line, *at;

	for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
		cr_assert_not_null(at = strchr(line, ' '), "%s", line);
		at++;
		for (size_t i = 0; i < strlen(TIME_SHAPE); i++) {
			char want = TIME_SHAPE[i];

			cr_assert(want == 'd' ? at[i] >= '0' && at[i] <= '9' :
			    at[i] == want, "bad time in %s", line);
			at[i] = 'd' == want ? 'X' : want;
		}
		cr_assert_not_null(strchr(line, '\n'));
	}
}

Test(golden, err_sentences)
{
	char *text, *stable;
	size_t len;

	bad_value();
	wrong_state();
	too_soon();
	not_empty();
	over_quota();
	no_address();
	open_key();
	vmm_failed();
	cr_assert_eq(mvmfs_errlog_render(errs, "", &text, &len), 0);
	blank_times(text);
	stable = golden_replace(text, sf.dir, "$TMP");
	golden_check("err", stable, strlen(stable));
	free(stable);
	free(text);
}
