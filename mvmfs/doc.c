/*
 * doc.c: document write buffers and their line-by-line checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "config.h"
#include "doc.h"
#include "kv.h"

/* Longest incomplete line kept while waiting for its newline. */
#define CONFIG_LINE_MAX	(MVM_KV_KEY_MAX + MVM_KV_VALUE_MAX + 64)
#define SECRET_LINE_MAX	(MVMFS_DOC_SECRET_KEY_MAX + 1 + \
			    MVMFS_DOC_SECRET_VALUE_MAX)

struct mvmfs_doc {
	enum mvmfs_doc_kind kind;
	char		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 checked;	/* end of the last complete line judged */
	unsigned	 lines;		/* complete lines judged */
	bool		 dirty;
	enum { FORM_UNKNOWN, FORM_KV, FORM_JSON } form;	/* of a config */
	struct mvm_tenant base_t, t;	/* as given, and with the lines set */
	struct mvm_pool	 base_p, p;
};

struct mvmfs_doc *
mvmfs_doc_new(enum mvmfs_doc_kind kind, const struct mvm_tenant *t,
    const struct mvm_pool *p)
{
	struct mvmfs_doc *doc;

	if ((doc = calloc(1, sizeof(*doc))) == NULL)
		return NULL;
	doc->kind = kind;
	if (t != NULL)
		doc->base_t = *t;
	else
		mvm_tenant_init(&doc->base_t);
	if (p != NULL)
		doc->base_p = *p;
	else
		mvm_pool_init(&doc->base_p);
	doc->t = doc->base_t;
	doc->p = doc->base_p;
	return doc;
}

void
mvmfs_doc_free(struct mvmfs_doc *doc)
{
	if (doc == NULL)
		return;
	if (doc->buf != NULL)
		sodium_memzero(doc->buf, doc->cap);
	free(doc->buf);
	free(doc);
}

static size_t
limit(enum mvmfs_doc_kind kind)
{
	switch (kind) {
	case MVMFS_DOC_TENANT_CONFIG:
	case MVMFS_DOC_POOL_CONFIG:
		return MVMFS_DOC_CONFIG_MAX;
	case MVMFS_DOC_SECRETS:
		return MVM_SECRETS_MAX;
	case MVMFS_DOC_DESIRED:
		break;
	}
	return MVMFS_DOC_DESIRED_MAX;
}

/*
 * Make room for `need` bytes. The old buffer is zeroed before it is freed
 * (realloc could leave a copy of secrets in the heap).
 */
static int
reserve(struct mvmfs_doc *doc, size_t need)
{
	size_t cap = doc->cap == 0 ? 4096 : doc->cap;
	char *nbuf;

	if (need <= doc->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	if ((nbuf = malloc(cap)) == NULL)
		return -ENOMEM;
	if (doc->buf != NULL) {
		memcpy(nbuf, doc->buf, doc->len);
		sodium_memzero(doc->buf, doc->cap);
		free(doc->buf);
	}
	doc->buf = nbuf;
	doc->cap = cap;
	return 0;
}

static bool
secret_key_ok(const char *k, size_t len)
{
	size_t i;

	if (len == 0 || len > MVMFS_DOC_SECRET_KEY_MAX)
		return false;
	if (k[0] >= '0' && k[0] <= '9')
		return false;
	for (i = 0; i < len; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') ||
		    (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

/*
 * Judge one secrets line. The sentences name the line by its number and
 * quote its key only once it is a valid name: any other byte of the line
 * may be (part of) a secret, and err and the events are readable by more
 * than the secrets file is.
 */
static int
check_secret(const char *line, size_t len, unsigned no, struct mvm_error *e)
{
	const char *eq, *bad;
	size_t klen, vlen;

	if (len == 0 || line[0] == '#')
		return 0;
	if ((eq = memchr(line, '=', len)) == NULL)
		return mvm_error_set(e, EINVAL, "line %u: a line is KEY=VALUE, "
		    "and this one has no '='", no);
	klen = eq - line;
	vlen = len - klen - 1;
	if (!secret_key_ok(line, klen))
		return mvm_error_set(e, EINVAL, "line %u: the secret name "
		    "before its first '=' must be 1 to %d bytes of A-Z, 0-9 "
		    "and _, not starting with a digit", no,
		    MVMFS_DOC_SECRET_KEY_MAX);
	if (vlen > MVMFS_DOC_SECRET_VALUE_MAX)
		return mvm_error_set(e, EINVAL, "line %u: the value of %.*s "
		    "has %zu bytes; at most %d are allowed", no, (int)klen,
		    line, vlen, MVMFS_DOC_SECRET_VALUE_MAX);
	if ((bad = memchr(eq + 1, '\0', vlen)) != NULL ||
	    (bad = memchr(eq + 1, '\r', vlen)) != NULL)
		return mvm_error_set(e, EINVAL, "line %u: the value of %.*s "
		    "contains a %s byte; values may hold any byte but NUL, "
		    "CR and newline", no, (int)klen, line,
		    *bad == '\0' ? "NUL" : "carriage return (CR)");
	return 0;
}

/* Judge complete line number `no` of the document. */
static int
check_line(struct mvmfs_doc *doc, const char *line, size_t len, unsigned no,
    struct mvm_error *e)
{
	struct mvm_error le;
	struct mvm_kv kv;
	int rc;

	switch (doc->kind) {
	case MVMFS_DOC_SECRETS:
		return check_secret(line, len, no, e);
	case MVMFS_DOC_DESIRED:
		return 0;
	case MVMFS_DOC_TENANT_CONFIG:
	case MVMFS_DOC_POOL_CONFIG:
		break;
	}
	mvm_error_clear(&le);
	if ((rc = mvm_kv_parse_line(line, len, &kv, &le)) == 1)
		return 0;
	if (rc == 0) {
		if (mvm_kv_is(&kv, "subnet") || mvm_kv_is(&kv, "gateway"))
			return 0;
		if (doc->kind == MVMFS_DOC_TENANT_CONFIG)
			rc = mvm_config_tenant_set(&doc->t, &kv, &le);
		else
			rc = mvm_config_pool_set(&doc->p, &kv, &le);
	}
	if (rc < 0)
		return mvm_error_set(e, -rc, "line %u: %s", no, le.msg);
	return 0;
}

static bool
is_config(const struct mvmfs_doc *doc)
{
	return doc->kind == MVMFS_DOC_TENANT_CONFIG ||
	    doc->kind == MVMFS_DOC_POOL_CONFIG;
}

/* A config whose first non-blank byte is '{' is a JSON object. */
static int
detect_form(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
		    s[i] == '\r')
			continue;
		return s[i] == '{' ? FORM_JSON : FORM_KV;
	}
	return FORM_UNKNOWN;
}

ssize_t
mvmfs_doc_write(struct mvmfs_doc *doc, const char *buf, size_t size,
    off_t off, struct mvm_error *e)
{
	struct mvm_tenant save_t = doc->t;
	struct mvm_pool save_p = doc->p;
	unsigned lines = doc->lines;
	size_t pos, end, max = limit(doc->kind), linemax;
	const char *nl;
	int rc;

	if (off != 0 && (off < 0 || (size_t)off != doc->len))
		return mvm_error_set(e, EINVAL, "write at offset %lld: a "
		    "document is written from its start to its end, so "
		    "writes go at offset %zu (the end) or 0 (start over)",
		    (long long)off, doc->len);
	if (off == 0 && doc->len > 0) {
		sodium_memzero(doc->buf, doc->len);
		doc->len = doc->checked = 0;
		doc->form = FORM_UNKNOWN;
		doc->lines = lines = 0;
		doc->t = save_t = doc->base_t;
		doc->p = save_p = doc->base_p;
	}
	if (size > max - doc->len)
		return mvm_error_set(e, EFBIG, "the document would have %zu "
		    "bytes; at most %zu are allowed", doc->len + size, max);
	if ((rc = reserve(doc, doc->len + size)) < 0)
		return mvm_error_set(e, ENOMEM, "out of memory for the "
		    "document");
	if (size > 0)
		memcpy(doc->buf + doc->len, buf, size);
	end = doc->len + size;
	pos = doc->checked;
	if (is_config(doc) && doc->form == FORM_UNKNOWN)
		doc->form = detect_form(doc->buf, end);
	if (doc->form == FORM_JSON)
		pos = end;	/* judged whole at commit */
	while (pos < end &&
	    (nl = memchr(doc->buf + pos, '\n', end - pos)) != NULL) {
		if ((rc = check_line(doc, doc->buf + pos,
		    nl - (doc->buf + pos), ++lines, e)) < 0)
			goto fail;
		pos = nl - doc->buf + 1;
	}
	linemax = doc->kind == MVMFS_DOC_SECRETS ? SECRET_LINE_MAX :
	    CONFIG_LINE_MAX;
	if (doc->kind != MVMFS_DOC_DESIRED && doc->form != FORM_JSON &&
	    end - pos > linemax) {
		rc = mvm_error_set(e, EINVAL, "line %u is longer than %zu "
		    "bytes", lines + 1, linemax);
		goto fail;
	}
	doc->len = end;
	doc->checked = pos;
	doc->lines = lines;
	doc->dirty = true;
	return size;
fail:
	sodium_memzero(doc->buf + doc->len, size);
	doc->t = save_t;
	doc->p = save_p;
	return rc;
}

bool
mvmfs_doc_dirty(const struct mvmfs_doc *doc)
{
	return doc->dirty;
}

static int
empty(struct mvm_error *e)
{
	return mvm_error_set(e, EINVAL, "the document is empty; an empty "
	    "commit is refused (write the whole document)");
}

/*
 * Turn a JSON object into key=value text: strings as they are, integers
 * in 0..4294967295, booleans as true/false. Keys must be kv keys and
 * strings may not hold control bytes, so no member can forge a line.
 */
static int
json_to_kv(const char *buf, size_t len, char **out, size_t *olen,
    struct mvm_error *e)
{
	char esc[MVM_KV_ESCAPE_SIZE];
	const cJSON *m;
	cJSON *o;
	FILE *f;
	const char *k, *c;
	int rc = 0;

	*out = NULL;
	*olen = 0;
	if ((o = cJSON_ParseWithLength(buf, len)) == NULL ||
	    !cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return mvm_error_set(e, EINVAL, "the document starts with '{' "
		    "but is not one JSON object");
	}
	if ((f = open_memstream(out, olen)) == NULL) {
		cJSON_Delete(o);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	cJSON_ArrayForEach(m, o) {
		k = m->string;
		if (strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(k) || k[0] == '\0') {
			rc = mvm_error_set(e, EINVAL, "JSON key \"%s\" is "
			    "not a config key", mvm_kv_escape(k, strlen(k), esc));
			break;
		}
		if (cJSON_IsString(m)) {
			for (c = m->valuestring; *c != '\0'; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					break;
			if (*c != '\0') {
				rc = mvm_error_set(e, EINVAL, "the value of %s "
				    "holds a control byte", k);
				break;
			}
			fprintf(f, "%s=%s\n", k, m->valuestring);
		} else if (cJSON_IsBool(m)) {
			fprintf(f, "%s=%s\n", k, cJSON_IsTrue(m) ? "true" :
			    "false");
		} else if (cJSON_IsNumber(m) && m->valuedouble >= 0 &&
		    m->valuedouble <= 4294967295.0 &&
		    m->valuedouble == (double)(uint32_t)m->valuedouble) {
			fprintf(f, "%s=%u\n", k, (uint32_t)m->valuedouble);
		} else {
			rc = mvm_error_set(e, EINVAL, "the value of %s must be "
			    "a string, a boolean or an integer from 0 to "
			    "4294967295", k);
			break;
		}
	}
	cJSON_Delete(o);
	if (fclose(f) != 0 && rc == 0)
		rc = mvm_error_set(e, ENOMEM, "out of memory");
	if (rc < 0) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

/* Apply the document, JSON or key=value, to a tenant or a pool. */
static int
apply(struct mvmfs_doc *doc, struct mvm_tenant *t, struct mvm_pool *p,
    struct mvm_error *e)
{
	const char *text = doc->buf;
	char *conv = NULL;
	size_t len = doc->len;
	int rc;

	if (doc->len == 0)
		return empty(e);
	if (doc->form == FORM_JSON) {
		if ((rc = json_to_kv(doc->buf, doc->len, &conv, &len, e)) < 0)
			return rc;
		text = conv;
	}
	if (t != NULL)
		rc = mvm_config_tenant_apply_text(t, text, len, e);
	else
		rc = mvm_config_pool_apply_text(p, text, len, e);
	free(conv);
	return rc;
}

int
mvmfs_doc_commit_tenant(struct mvmfs_doc *doc, struct mvm_tenant *t,
    struct mvm_error *e)
{
	if (doc->kind != MVMFS_DOC_TENANT_CONFIG)
		return mvm_error_set(e, EINVAL, "not a tenant config "
		    "document");
	return apply(doc, t, NULL, e);
}

int
mvmfs_doc_commit_pool(struct mvmfs_doc *doc, struct mvm_pool *p,
    struct mvm_error *e)
{
	if (doc->kind != MVMFS_DOC_POOL_CONFIG)
		return mvm_error_set(e, EINVAL, "not a pool config document");
	return apply(doc, NULL, p, e);
}

struct key {
	const char	*s;
	size_t		 len;
	unsigned	 no;		/* its line number */
};

static int
name_cmp(const struct key *x, const struct key *y)
{
	int c = memcmp(x->s, y->s, x->len < y->len ? x->len : y->len);

	if (c != 0)
		return c;
	return (x->len > y->len) - (x->len < y->len);
}

/* By name, then by line: a repeated name follows its first line. */
static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = name_cmp(x, y);

	return c != 0 ? c : (x->no > y->no) - (x->no < y->no);
}

/* Refuse a secrets text that names a KEY twice, saying on which lines. */
static int
check_unique(const char *text, size_t len, struct mvm_error *e)
{
	struct key *keys = NULL;
	const char *line, *eq;
	size_t pos = 0, llen, n = 0, cap = 0, i;
	unsigned no = 0;
	int rc = 0;

	while (mvm_kv_next_line(text, len, &pos, &line, &llen)) {
		no++;
		if (llen == 0 || line[0] == '#')
			continue;
		if ((eq = memchr(line, '=', llen)) == NULL)
			continue;	/* already refused line by line */
		if (n == cap) {
			struct key *nk;

			cap = cap == 0 ? 64 : cap * 2;
			if ((nk = reallocarray(keys, cap, sizeof(*nk))) ==
			    NULL) {
				rc = mvm_error_set(e, ENOMEM, "out of memory");
				goto out;
			}
			keys = nk;
		}
		keys[n].s = line;
		keys[n].len = eq - line;
		keys[n++].no = no;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	for (i = 1; i < n; i++) {
		if (name_cmp(&keys[i - 1], &keys[i]) == 0) {
			rc = mvm_error_set(e, EINVAL, "line %u: secret %.*s "
			    "was already given on line %u", keys[i].no,
			    (int)keys[i].len, keys[i].s, keys[i - 1].no);
			goto out;
		}
	}
out:
	free(keys);
	return rc;
}

int
mvmfs_doc_text(struct mvmfs_doc *doc, const char **text, size_t *len,
    struct mvm_error *e)
{
	int rc;

	if (doc->kind != MVMFS_DOC_SECRETS && doc->kind != MVMFS_DOC_DESIRED)
		return mvm_error_set(e, EINVAL, "a config document is "
		    "committed to its object, not read as text");
	if (doc->len == 0)
		return empty(e);
	if (doc->checked < doc->len && (rc = check_line(doc,
	    doc->buf + doc->checked, doc->len - doc->checked,
	    doc->lines + 1, e)) < 0)
		return rc;
	if (doc->kind == MVMFS_DOC_SECRETS &&
	    (rc = check_unique(doc->buf, doc->len, e)) < 0)
		return rc;
	*text = doc->buf;
	*len = doc->len;
	return 0;
}
