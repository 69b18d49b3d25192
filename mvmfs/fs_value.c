/*
 * fs_value.c: the value files of the /mvm tree (see fs_int.h): an
 * instance's `state`, a pool's `desired` and the `ctl` files. Each read
 * shows the value (or, for ctl, the commands); each write(2) is one
 * command, validated and run before it returns, except a transition,
 * which a worker runs and answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fs_int.h"
#include "quota.h"
#include "usage.h"

/* Retention applied by the node's `prune-events` command. */
#define PRUNE_KEEP_COUNT	100000
#define PRUNE_KEEP_AGE_MS	(30LL * 24 * 3600 * 1000)

/* The one command a ctl file takes, one per line. */
struct mvmfs_fs_ctl {
	const char	*name;
	const char	*help;		/* what a read shows */
	const char	*accepts;	/* the end of a refusal's sentence */
	int		(*run)(struct mvmfs_fs *fs, const struct mvmfs_key *k,
			    struct mvm_error *e);
};

/* ---- state ---- */

int
mvmfs_fs_value_state(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_instance in;
	int rc;

	if ((rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
	    k->instance, &in, e)) < 0)
		return rc;
	rc = snprintf(buf, sizeof(buf), "%s\n", mvm_state_name(in.state));
	return mvmfs_fs_dup_rendered(buf, rc, out, len);
}

/*
 * Parse a write to `state`: one line `<target>[ force]`, with or without
 * its newline.
 */
static int
parse_state(const char *buf, size_t size, enum mvm_state *to, unsigned *flags,
    struct mvm_error *e)
{
	const char *p = buf, *end = buf + size, *w;
	size_t wl;

	*flags = 0;
	if (size > 0 && end[-1] == '\n')
		end--;
	if (memchr(buf, '\n', end - buf) != NULL)
		return mvm_error_set(e, EINVAL,
		    "state accepts one target per write, got several lines");
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
		;
	if (mvm_state_parse(w, p - w, to) < 0 || *to == MVM_STATE_DESTROYED)
		return mvm_error_set(e, EINVAL,
		    "\"%.*s\" is not a target state; write running, warm, "
		    "sleeping or stopped, optionally followed by \" force\" "
		    "(rmdir the instance to destroy it)", (int)(p - w), w);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (w = p; p < end && *p != ' ' && *p != '\t'; p++)
		;
	wl = p - w;
	if (wl == 5 && memcmp(w, "force", 5) == 0)
		*flags |= MVM_ENGINE_FORCE;
	else if (wl != 0)
		return mvm_error_set(e, EINVAL,
		    "\"%.*s\" after the target state is not understood; only "
		    "\"force\" is", (int)wl, w);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return mvm_error_set(e, EINVAL,
		    "state takes a target and at most \"force\"");
	return 0;
}

/*
 * Validate, check quotas and queue a transition. The engine checks quotas
 * again, atomically with recording the intent (that check is the one that
 * counts); this early one only lets an O_NONBLOCK writer, whose write is
 * answered before the transition runs, still get EDQUOT from write(2).
 */
int
mvmfs_fs_value_write_state(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, const char *buf, size_t size,
    struct mvm_error *e)
{
	const struct mvmfs_key *k = &of->key;
	struct mvm_instance in;
	struct mvm_tenant t;
	struct mvm_pool p;
	struct mvm_usage u;
	struct mvm_quota_delta d;
	enum mvm_state to;
	unsigned flags;
	int rc;

	if ((rc = parse_state(buf, size, &to, &flags, e)) < 0)
		return rc;
	if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t, e)) < 0 ||
	    (rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
	    e)) < 0 ||
	    (rc = mvm_store_instance_get(fs->d.st, k->tenant, k->pool,
	    k->instance, &in, e)) < 0)
		return rc;
	if ((rc = mvm_usage_tenant(fs->d.st, k->tenant, k->pool, &u, e)) < 0)
		return rc;
	mvm_quota_delta_move(&d, &p, &in, to);
	if ((rc = mvm_quota_check(&t.quota, &u, &d, NULL, e)) < 0)
		return rc;
	/* Non-blocking, the write is answered before the transition runs. */
	if (of->nonblock)
		return mvmfs_fs_job_queue(fs, k, false, to, flags, size, NULL);
	if ((rc = mvmfs_fs_job_queue(fs, k, false, to, flags, size,
	    req)) < 0)
		return rc;
	return MVMFS_FS_ANSWERED;
}

/* ---- a pool's desired counts ---- */

int
mvmfs_fs_value_counts(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	return mvmfs_fs_pool_text(fs, k, true, out, len, e);
}

/* Set the counts text[0..len) names; the pool is then managed. */
int
mvmfs_fs_value_set_counts(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, const char *text, size_t len, struct mvm_error *e)
{
	struct mvm_pool p;
	int rc, tries;

	(void)operator;		/* the counts are the owner's */
	for (tries = 0; tries < 5; tries++) {
		if ((rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
		    e)) < 0)
			return rc;
		if ((rc = mvm_config_counts_parse(text, len, &p.desired,
		    e)) < 0)
			return rc;
		p.managed = true;
		if ((rc = mvm_store_pool_update(fs->d.st, &p, e)) != -ESTALE)
			break;
	}
	if (rc == 0) {
		mvmfs_fs_audit(fs, k, "pool.desired");
		mvmfs_fs_kick(fs, k->tenant, k->pool);
	}
	return rc;
}

int
mvmfs_fs_value_write_counts(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, const char *buf, size_t size,
    struct mvm_error *e)
{
	int rc;

	(void)req;
	rc = mvmfs_fs_value_set_counts(fs, &of->key, of->operator, buf, size,
	    e);
	return rc < 0 ? rc : 0;
}

/* ---- ctl ---- */

int
mvmfs_fs_value_ctl_help(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	const char *help = mvmfs_fs_kind(k->kind)->ctl->help;

	(void)fs;
	(void)e;
	return mvmfs_fs_dup_text(help, strlen(help), out, len);
}

static int
prune_events(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	(void)k;
	return mvm_store_events_prune(fs->d.st, PRUNE_KEEP_COUNT,
	    PRUNE_KEEP_AGE_MS, mvmfs_fs_now_ms(), e);
}

static int
rotate_secrets(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	return mvm_secrets_rotate(fs->d.secrets, k->tenant, e);
}

static int
collect_id(const struct mvm_instance *in, void *arg)
{
	return mvmfs_fs_ids_add(arg, in->id);
}

/*
 * The pool's `retry`: forget the failures of its instances, so that those
 * the planner left failed out are started again, and pass the pool.
 */
static int
pool_retry(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    struct mvm_error *e)
{
	struct mvmfs_fs_ids ids = { 0 };
	struct mvm_instance in;
	size_t i;
	int rc, tries;

	if ((rc = mvm_store_instance_list(fs->d.st, k->tenant, k->pool,
	    collect_id, &ids, e)) < 0)
		goto out;
	for (i = 0; i < ids.n; i++) {
		for (tries = 0; tries < 5; tries++) {
			if ((rc = mvm_store_instance_get(fs->d.st, k->tenant,
			    k->pool, ids.v[i], &in, e)) < 0 ||
			    in.failures == 0)
				break;
			in.failures = 0;
			in.last_failure_at = 0;
			if ((rc = mvm_store_instance_update(fs->d.st, &in,
			    e)) != -ESTALE)
				break;
		}
		if (rc < 0 && rc != -ENOENT)
			goto out;
	}
	rc = 0;
	mvmfs_fs_audit(fs, k, "pool.retry");
	mvmfs_fs_kick(fs, k->tenant, k->pool);
out:
	free(ids.v);
	return rc;
}

const struct mvmfs_fs_ctl mvmfs_fs_node_ctl = {
	"prune-events", "prune-events\n", "the node accepts prune-events",
	prune_events
};

const struct mvmfs_fs_ctl mvmfs_fs_tenant_ctl = {
	"rotate-secrets", "rotate-secrets\n",
	"a tenant accepts rotate-secrets", rotate_secrets
};

const struct mvmfs_fs_ctl mvmfs_fs_pool_ctl = {
	"retry", "retry\n", "a pool accepts retry", pool_retry
};

/*
 * Commands to a ctl file: one per line, the last newline optional. Every
 * line is checked before the first is run, so a bad one runs none.
 */
int
mvmfs_fs_value_write_ctl(struct mvmfs_fs *fs, fuse_req_t req,
    struct mvmfs_ofile *of, const char *buf, size_t size,
    struct mvm_error *e)
{
	const struct mvmfs_key *k = &of->key;
	const struct mvmfs_fs_ctl *ctl = mvmfs_fs_kind(k->kind)->ctl;
	const char *p, *end = buf + size, *nl;
	size_t len;
	int rc = 0;
	bool run;

	(void)req;
	for (run = false; ; run = true) {
		for (p = buf; p < end && rc >= 0; p = nl < end ? nl + 1 : end) {
			if ((nl = memchr(p, '\n', end - p)) == NULL)
				nl = end;
			len = nl - p;
			if (len != strlen(ctl->name) ||
			    memcmp(p, ctl->name, len) != 0)
				return mvm_error_set(e, EINVAL,
				    "\"%.*s\" is not a command; %s",
				    (int)(len > 64 ? 64 : len), p,
				    ctl->accepts);
			if (run)
				rc = ctl->run(fs, k, e);
		}
		if (run || rc < 0)
			break;
	}
	return rc < 0 ? rc : 0;
}

/* ---- the class ---- */

static void
value_write(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    const char *buf, size_t size, off_t off)
{
	struct mvm_error e = { 0 };
	int rc;

	(void)off;
	if (size == 0) {
		/* An empty write carries no command. */
		fuse_reply_write(req, 0);
		return;
	}
	rc = mvmfs_fs_kind(of->key.kind)->command(fs, req, of, buf, size, &e);
	if (rc < 0) {
		mvmfs_fs_fail(fs, &of->key, "write", rc, &e);
		fuse_reply_err(req, -rc);
	} else if (rc == 0) {
		fuse_reply_write(req, size);
	}
}

const struct mvmfs_fs_class mvmfs_fs_value_class = {
	.entry_timeout = MVMFS_FS_FILE_ENTRY_TIMEOUT,
	.stat = mvmfs_fs_stat_sized,
	.setattr = mvmfs_fs_setattr_fixed,
	.open = mvmfs_fs_open_fixed,
	.read = mvmfs_fs_read_content,
	.write = value_write,
	.poll = mvmfs_fs_poll_content,
};
