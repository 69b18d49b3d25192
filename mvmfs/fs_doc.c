/*
 * fs_doc.c: the documents of the /mvm tree (see fs_int.h and doc.h): a
 * tenant's or a pool's `config`, a tenant's `secrets` and the node's
 * `desired`. A reader gets the document as it is; the writes of one open
 * are buffered and the document is committed whole when the descriptor is
 * closed (flush), or when a scratch file is renamed onto it.
 *
 * A tenant's config is one canonical document, but every key it has today
 * (the seven quotas, uid, gid, net_id, subnet, gateway, pinned) is the
 * operators': a commit by anyone else that changes one fails with EPERM,
 * naming the keys, and changes nothing; one that changes none (the text
 * read, written back) succeeds. The write that completes such a line
 * fails already, so `echo max_vcpus=99 > config` reports it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "desired.h"
#include "fs_int.h"
#include "objects.h"

/* The largest node `desired` document the store keeps (meta value). */
#define DESIRED_MAX		MVMFS_DOC_DESIRED_MAX

/* ---- what a read shows ---- */

/* The node's desired document, as last committed (empty: never). */
int
mvmfs_fs_doc_desired_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	const size_t sizes[] = { 64 * 1024, DESIRED_MAX + 1 };
	size_t i, size;
	char *buf;
	int rc = -ERANGE;

	(void)k;
	/* Most documents are small: try small, then the largest there is. */
	for (i = 0; i < 2 && rc == -ERANGE; i++) {
		size = sizes[i];
		if ((buf = malloc(size)) == NULL)
			return -ENOMEM;
		rc = mvm_store_meta_get(fs->d.st, "desired", buf, size, e);
		if (rc >= 0 || rc == -ENOENT) {
			if (rc == -ENOENT)
				buf[0] = '\0';
			*out = buf;
			*len = strlen(buf);
			return 0;
		}
		free(buf);
	}
	return rc;
}

int
mvmfs_fs_doc_tenant_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_tenant t;
	int rc;

	if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t, e)) < 0)
		return rc;
	rc = mvm_config_tenant_render(&t, buf, sizeof(buf));
	return mvmfs_fs_dup_rendered(buf, rc, out, len);
}

int
mvmfs_fs_doc_secrets_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	char *big = NULL;
	int rc;

	if ((rc = mvm_secrets_get(fs->d.secrets, k->tenant, &big, len,
	    e)) < 0)
		return rc;
	/* Keep the clear text in one buffer that is zeroed on free. */
	*out = big;
	return 0;
}

int
mvmfs_fs_doc_pool_text(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    char **out, size_t *len, struct mvm_error *e)
{
	return mvmfs_fs_pool_text(fs, k, false, out, len, e);
}

/* ---- the operators' keys ---- */

/*
 * Decide whether a caller who is not an operator may turn tenant *was
 * into *now: 0 when their canonical configs (config.c renders every key,
 * one sorted line each, so both texts have the same keys in the same
 * order) are the same, else -EPERM with a sentence naming the keys whose
 * lines differ. Every key of a tenant's config is an operator's.
 */
static int
tenant_refusal(const struct mvm_tenant *was, const struct mvm_tenant *now,
    struct mvm_error *e)
{
	/* A tenant's canonical config is some 13 short lines. */
	char a[4096], b[4096], keys[256] = "";
	const char *pa = a, *pb = b;
	size_t n = 0;

	if (mvm_config_tenant_render(was, a, sizeof(a)) < 0 ||
	    mvm_config_tenant_render(now, b, sizeof(b)) < 0)
		return mvm_error_set(e, EIO, "cannot render the config of "
		    "tenant %s", was->id);
	while (*pa != '\0' && *pb != '\0') {
		size_t la = strcspn(pa, "\n"), lb = strcspn(pb, "\n");

		if ((la != lb || memcmp(pa, pb, la) != 0) && n < sizeof(keys))
			n += (size_t)snprintf(keys + n, sizeof(keys) - n,
			    "%s%.*s", n > 0 ? ", " : "",
			    (int)strcspn(pa, "="), pa);
		pa += la + (pa[la] == '\n');
		pb += lb + (pb[lb] == '\n');
	}
	if (keys[0] == '\0')
		return 0;
	return mvm_error_set(e, EPERM, "only an operator (root or a member "
	    "of the admin group) may change %s of tenant %s; its owner may "
	    "read them", keys, was->id);
}

/*
 * Judge the tenant config `of` holds once a write ends a line, for a
 * caller who is not an operator, as its commit will: 0, or -EPERM (the
 * sentence in e). A text that cannot be applied yet (a JSON object not
 * closed, subnet before its net_id) is left to the commit.
 */
static int
doc_judge_tenant(struct mvmfs_fs *fs, const struct mvmfs_ofile *of,
    const char *buf, size_t size, struct mvm_error *e)
{
	struct mvm_tenant was, now;

	if (of->operator || size == 0 || buf[size - 1] != '\n' ||
	    mvmfs_fs_kind(of->key.kind)->doc != MVMFS_DOC_TENANT_CONFIG)
		return 0;
	if (mvm_store_tenant_get(fs->d.st, of->key.tenant, &was, NULL) < 0)
		return 0;
	now = was;
	if (mvmfs_doc_commit_tenant(of->doc, &now, NULL) < 0)
		return 0;
	return tenant_refusal(&was, &now, e);
}

/* ---- commits ---- */

/*
 * Validate the fleet document, keep its exact bytes, and have the
 * reconciler apply it. Nothing is kept or changed when it does not
 * validate (EINVAL, with the JSON path in e). Tenants the document
 * creates are owned by root: only root may write /mvm/desired (0600).
 */
int
mvmfs_fs_doc_commit_desired(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, struct mvmfs_doc *doc, struct mvm_error *e)
{
	struct mvm_reconcile_report rep;
	struct mvm_desired *d = NULL;
	const char *text;
	char *copy = NULL;
	size_t len;
	int rc;

	(void)operator;		/* only root may open it to write */
	memset(&rep, 0, sizeof(rep));
	if ((rc = mvmfs_doc_text(doc, &text, &len, e)) < 0 ||
	    (rc = mvm_desired_parse(text, len, &d, e)) < 0)
		return rc;
	if ((copy = strndup(text, len)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = mvm_store_meta_set(fs->d.st, "desired", copy, e)) < 0)
		goto out;
	if (fs->d.rec == NULL)
		goto out;
	if ((rc = mvm_reconcile_apply(fs->d.rec, d, 0, 0, 0, &rep, e)) < 0)
		goto out;
	pthread_mutex_lock(&fs->rlock);
	mvm_reconcile_report_free(&fs->report);
	fs->report = rep;
	fs->have_report = true;
	pthread_mutex_unlock(&fs->rlock);
	memset(&rep, 0, sizeof(rep));
out:
	mvm_reconcile_report_free(&rep);
	mvm_desired_free(d);
	free(copy);
	if (rc == 0)
		mvmfs_fs_audit(fs, k, "node.desired");
	return rc;
}

/*
 * Apply a tenant's config, refusing one that changes an operator key when
 * the caller is no operator (judged against the very revision it would
 * replace, so a concurrent change cannot slip through).
 */
int
mvmfs_fs_doc_commit_tenant(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, struct mvmfs_doc *doc, struct mvm_error *e)
{
	struct mvm_tenant was, t;
	int rc, tries;

	for (tries = 0; tries < 5; tries++) {
		if ((rc = mvm_store_tenant_get(fs->d.st, k->tenant, &t,
		    e)) < 0)
			return rc;
		was = t;
		if ((rc = mvmfs_doc_commit_tenant(doc, &t, e)) < 0 ||
		    (!operator && (rc = tenant_refusal(&was, &t, e)) < 0))
			return rc;
		if ((rc = mvm_objects_tenant_update(fs->d.st, &t, e)) != -ESTALE)
			break;
	}
	/* The kernel caches directory owners; see fs_int.h. */
	if (rc == 0 && (t.uid != was.uid || t.gid != was.gid))
		mvmfs_fs_inval_tenant_attrs(fs, k->tenant);
	/* New quotas may let deferred steps go. */
	if (rc == 0)
		mvmfs_fs_kick(fs, k->tenant, NULL);
	if (rc == 0)
		mvmfs_fs_audit(fs, k, "tenant.config");
	return rc;
}

int
mvmfs_fs_doc_commit_secrets(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, struct mvmfs_doc *doc, struct mvm_error *e)
{
	const char *text;
	size_t len;
	int rc;

	(void)operator;		/* the owner's */
	if ((rc = mvmfs_doc_text(doc, &text, &len, e)) < 0)
		return rc;
	/* The secrets module writes its own event. */
	rc = mvm_secrets_set(fs->d.secrets, k->tenant, text, len, e);
	return rc < 0 ? rc : 0;
}

int
mvmfs_fs_doc_commit_pool(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, struct mvmfs_doc *doc, struct mvm_error *e)
{
	struct mvm_pool p;
	int rc, tries;

	(void)operator;		/* the owner's */
	for (tries = 0; tries < 5; tries++) {
		if ((rc = mvm_store_pool_get(fs->d.st, k->tenant, k->pool, &p,
		    e)) < 0 ||
		    (rc = mvmfs_doc_commit_pool(doc, &p, e)) < 0)
			return rc;
		if ((rc = mvm_store_pool_update(fs->d.st, &p, e)) != -ESTALE)
			break;
	}
	if (rc == 0)
		mvmfs_fs_kick(fs, k->tenant, k->pool);
	if (rc == 0)
		mvmfs_fs_audit(fs, k, "pool.config");
	return rc;
}

/* ---- open documents ---- */

/* A fresh document for `of`, checked against the object as it is now. */
static int
doc_renew(struct mvmfs_fs *fs, struct mvmfs_ofile *of)
{
	enum mvmfs_doc_kind dk = mvmfs_fs_kind(of->key.kind)->doc;
	struct mvm_tenant t;
	struct mvm_pool p;
	int rc;

	mvmfs_doc_free(of->doc);
	of->doc = NULL;
	if (dk == MVMFS_DOC_TENANT_CONFIG &&
	    (rc = mvm_store_tenant_get(fs->d.st, of->key.tenant, &t, NULL)) < 0)
		return rc;
	if (dk == MVMFS_DOC_POOL_CONFIG && (rc = mvm_store_pool_get(fs->d.st,
	    of->key.tenant, of->key.pool, &p, NULL)) < 0)
		return rc;
	if ((of->doc = mvmfs_doc_new(dk, &t, &p)) == NULL)
		return -ENOMEM;
	return 0;
}

/*
 * Commit the bytes text[0..len) of a scratch file renamed onto document
 * `k`, as closing a write of the same bytes would: the commit point of
 * sed -i and of configuration-management tools.
 */
int
mvmfs_fs_doc_take(struct mvmfs_fs *fs, const struct mvmfs_key *k,
    bool operator, const char *text, size_t len, struct mvm_error *e)
{
	struct mvmfs_ofile of;
	ssize_t n;
	int rc;

	memset(&of, 0, sizeof(of));
	of.key = *k;
	if ((rc = doc_renew(fs, &of)) < 0)
		return rc;
	if (len == 0)
		rc = mvm_error_set(e, EINVAL, "an empty file was renamed onto "
		    "a document; an empty commit is never applied");
	else if ((n = mvmfs_doc_write(of.doc, text, len, 0, e)) < 0)
		rc = (int)n;
	else
		rc = mvmfs_fs_kind(k->kind)->commit(fs, k, operator, of.doc,
		    e);
	mvmfs_doc_free(of.doc);
	return rc;
}

static int
doc_open(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    struct fuse_file_info *fi, const struct mvm_tenant *t)
{
	int rc;

	if ((rc = mvmfs_fs_open_access(fs, req, of, fi, t)) < 0)
		return rc;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		of->operator = mvmfs_fs_is_operator(fs, req);
		if ((rc = doc_renew(fs, of)) < 0)
			return rc;
	}
	return mvmfs_fs_open_render(fs, of, fi);
}

/* A write to the document of `of`, under its lock (see fs_int.h). */
static void
doc_write(struct mvmfs_fs *fs, fuse_req_t req, struct mvmfs_ofile *of,
    const char *buf, size_t size, off_t off)
{
	struct mvm_error e = { 0 };
	ssize_t n;
	int rc;

	pthread_mutex_lock(&of->lock);
	if (of->doc == NULL) {
		pthread_mutex_unlock(&of->lock);
		/* Opened to read, or its document could not be renewed. */
		mvmfs_fs_write_none(fs, req, of, buf, size, off);
		return;
	}
	n = mvmfs_doc_write(of->doc, buf, size, off, &e);
	if (n >= 0 && (rc = doc_judge_tenant(fs, of, buf, size, &e)) < 0) {
		/* The document can never commit: drop it, keep nothing. */
		mvmfs_doc_free(of->doc);
		of->doc = NULL;
		n = rc;
	}
	pthread_mutex_unlock(&of->lock);
	if (n < 0) {
		mvmfs_fs_fail(fs, &of->key, "write", (int)n, &e);
		fuse_reply_err(req, (int)-n);
		return;
	}
	fuse_reply_write(req, size);
}

/*
 * Commit the document of `of` and start a new one, under its lock: a
 * write or another close on a descriptor of the same open waits, and
 * then goes to the new document. A commit queues what it changes and
 * waits for no transition.
 */
static int
doc_flush(struct mvmfs_fs *fs, struct mvmfs_ofile *of)
{
	struct mvm_error e = { 0 };
	int rc = 0;

	pthread_mutex_lock(&of->lock);
	if (of->doc == NULL || !mvmfs_doc_dirty(of->doc))
		goto out;
	rc = mvmfs_fs_kind(of->key.kind)->commit(fs, &of->key, of->operator,
	    of->doc, &e);
	/* A second close of a dup'ed descriptor commits nothing again. */
	if (doc_renew(fs, of) < 0) {
		mvmfs_doc_free(of->doc);
		of->doc = NULL;
	}
out:
	pthread_mutex_unlock(&of->lock);
	if (rc < 0)
		mvmfs_fs_fail(fs, &of->key, "commit", rc, &e);
	return rc;
}

/* A document being written is always ready; one being read, as a view. */
static unsigned
doc_poll(struct mvmfs_fs *fs, const struct mvmfs_ofile *cof)
{
	/* The lock guards the open file's state, which poll only reads. */
	struct mvmfs_ofile *of = (struct mvmfs_ofile *)cof;
	bool writing;

	pthread_mutex_lock(&of->lock);
	writing = of->doc != NULL;
	pthread_mutex_unlock(&of->lock);
	if (writing)
		return POLLIN | POLLOUT;
	return mvmfs_fs_poll_content(fs, of);
}

const struct mvmfs_fs_class mvmfs_fs_doc_class = {
	.entry_timeout = MVMFS_FS_FILE_ENTRY_TIMEOUT,
	.stat = mvmfs_fs_stat_sized,
	.setattr = mvmfs_fs_setattr_fixed,
	.open = doc_open,
	.read = mvmfs_fs_read_content,
	.write = doc_write,
	.flush = doc_flush,
	.poll = doc_poll,
};
