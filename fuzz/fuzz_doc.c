/*
 * fuzz_doc.c: mvmfs's document buffers on arbitrary writes.
 *
 * Input: byte 0 picks the kind, byte 1 the size of the writes the rest is
 * cut into. Checked properties: a refused write changes nothing (the text
 * is exactly the accepted writes); cutting the input into writes gives the
 * same verdict as one write when every write is accepted; a committed
 * config renders to a text that applies back to the same object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "doc.h"

static const enum mvmfs_doc_kind kinds[] = {
	MVMFS_DOC_TENANT_CONFIG, MVMFS_DOC_POOL_CONFIG, MVMFS_DOC_SECRETS,
	MVMFS_DOC_DESIRED,
};

/* Commit or take the text; returns the verdict (0 or a negative errno). */
static int
finish(struct mvmfs_doc *doc, enum mvmfs_doc_kind kind, const char *want,
    size_t wlen)
{
	char buf[MVM_CONFIG_TEXT_MAX];
	struct mvm_tenant t, t2;
	struct mvm_pool p, p2;
	const char *text;
	size_t len;
	int rc, n;

	switch (kind) {
	case MVMFS_DOC_TENANT_CONFIG:
		mvm_tenant_init(&t);
		if ((rc = mvmfs_doc_commit_tenant(doc, &t, NULL)) < 0)
			return rc;
		if ((n = mvm_config_tenant_render(&t, buf, sizeof(buf))) < 0)
			abort();
		t2 = t;
		if (mvm_config_tenant_apply_text(&t2, buf, n, NULL) != 0 ||
		    memcmp(&t, &t2, sizeof(t)) != 0)
			abort();
		return 0;
	case MVMFS_DOC_POOL_CONFIG:
		mvm_pool_init(&p);
		if ((rc = mvmfs_doc_commit_pool(doc, &p, NULL)) < 0)
			return rc;
		if ((n = mvm_config_pool_render(&p, buf, sizeof(buf))) < 0)
			abort();
		p2 = p;
		if (mvm_config_pool_apply_text(&p2, buf, n, NULL) != 0 ||
		    memcmp(&p, &p2, sizeof(p)) != 0)
			abort();
		return 0;
	default:
		if ((rc = mvmfs_doc_text(doc, &text, &len, NULL)) < 0)
			return rc;
		if (len != wlen || memcmp(text, want, len) != 0)
			abort();
		return 0;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum mvmfs_doc_kind kind;
	struct mvmfs_doc *doc, *whole;
	char *kept;
	size_t chunk, off = 0, klen = 0, n;
	bool all = true;
	int v1, v2;

	if (size < 2)
		return 0;
	kind = kinds[data[0] % 4];
	chunk = data[1] == 0 ? 1 : data[1];
	data += 2;
	size -= 2;
	if ((kept = malloc(size + 1)) == NULL)
		return 0;
	doc = mvmfs_doc_new(kind, NULL, NULL);
	while (off < size) {
		n = size - off < chunk ? size - off : chunk;
		if (mvmfs_doc_write(doc, (const char *)data + off, n, klen,
		    NULL) == (ssize_t)n) {
			memcpy(kept + klen, data + off, n);
			klen += n;
		} else {
			all = false;
		}
		off += n;
	}
	v1 = finish(doc, kind, kept, klen);
	if (all) {
		whole = mvmfs_doc_new(kind, NULL, NULL);
		if (mvmfs_doc_write(whole, (const char *)data, size, 0, NULL) !=
		    (ssize_t)size)
			abort();
		v2 = finish(whole, kind, kept, klen);
		if (v1 != v2)
			abort();
		mvmfs_doc_free(whole);
	}
	mvmfs_doc_free(doc);
	free(kept);
	return 0;
}
