/* config.c: tenant and pool configuration text, driven by key tables. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "netplan.h"

enum field_type {
	F_U32,		/* uint32_t in [min, max] */
	F_BOOL,		/* bool */
	F_NET_ID,	/* uint16_t net_id */
	F_SUBNET,	/* the net_id, written as its /24 */
	F_GATEWAY,	/* the net_id's gateway, read-only */
	F_IMAGE,	/* char[MVM_IMAGE_MAX + 1] */
};

struct field {
	const char	*name;
	enum field_type	 type;
	size_t		 off;	/* of the member in the object */
	uint32_t	 min;
	uint32_t	 max;
};

/* Each table is sorted by name: it is the order of the canonical form. */
#define TU32(n, m, lo, hi) \
	{ n, F_U32, offsetof(struct mvm_tenant, m), lo, hi }
static const struct field tenant_fields[] = {
	{ "gateway", F_GATEWAY, offsetof(struct mvm_tenant, net_id), 0, 0 },
	TU32("gid", gid, 0, UINT32_MAX - 1),
	TU32("max_disk_gib", quota.max_disk_gib, 0, UINT32_MAX),
	TU32("max_instances_per_pool", quota.max_instances_per_pool, 0,
	    UINT32_MAX),
	TU32("max_mem_mib", quota.max_mem_mib, 0, UINT32_MAX),
	TU32("max_pools", quota.max_pools, 0, UINT32_MAX),
	TU32("max_running", quota.max_running, 0, UINT32_MAX),
	TU32("max_vcpus", quota.max_vcpus, 0, UINT32_MAX),
	TU32("max_warm", quota.max_warm, 0, UINT32_MAX),
	{ "net_id", F_NET_ID, offsetof(struct mvm_tenant, net_id), 0,
	    MVM_NET_ID_MAX },
	{ "pinned", F_BOOL, offsetof(struct mvm_tenant, pinned), 0, 0 },
	{ "subnet", F_SUBNET, offsetof(struct mvm_tenant, net_id), 0, 0 },
	TU32("uid", uid, 0, UINT32_MAX - 1),
};
#undef TU32

#define PU32(n, m, lo, hi) \
	{ n, F_U32, offsetof(struct mvm_pool, m), lo, hi }
static const struct field pool_fields[] = {
	PU32("data_disk_mib", data_disk_mib, 0, 1048576),
	PU32("drain_timeout_seconds", runtime.drain_timeout_seconds, 0, 86400),
	PU32("graceful_shutdown_seconds", runtime.graceful_shutdown_seconds, 0,
	    86400),
	PU32("idle_cpu_percent", sleep.idle_cpu_percent, 0, 100),
	PU32("idle_net_bytes", sleep.idle_net_bytes, 0, UINT32_MAX),
	{ "image", F_IMAGE, offsetof(struct mvm_pool, image), 0, 0 },
	{ "managed", F_BOOL, offsetof(struct mvm_pool, managed), 0, 0 },
	PU32("mem_mib", mem_mib, 16, 1048576),
	PU32("min_running_seconds", runtime.min_running_seconds, 0, 86400),
	PU32("min_warm_seconds", runtime.min_warm_seconds, 0, 86400),
	{ "pinned", F_BOOL, offsetof(struct mvm_pool, pinned), 0, 0 },
	PU32("settle_seconds", runtime.settle_seconds, 0, 86400),
	PU32("sleep_after_idle_seconds", sleep.sleep_after_idle_seconds, 0,
	    2592000),
	PU32("vcpus", vcpus, 1, 32),
	PU32("warm_after_idle_seconds", sleep.warm_after_idle_seconds, 0,
	    2592000),
};
#undef PU32

struct schema {
	const char		*what;	/* "tenant" or "pool" */
	const struct field	*fields;
	size_t			 nfields;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* apply_text() keeps one line number per key. */
#define MAX_FIELDS 32
_Static_assert(NELEM(tenant_fields) <= MAX_FIELDS, "too many tenant keys");
_Static_assert(NELEM(pool_fields) <= MAX_FIELDS, "too many pool keys");

static const struct schema tenant_schema = {
	"tenant", tenant_fields, NELEM(tenant_fields)
};
static const struct schema pool_schema = {
	"pool", pool_fields, NELEM(pool_fields)
};

/* What the keys applied so far in one text have said. */
struct apply_state {
	bool	net_id_given;
};

/*
 * Keys are applied in phases: subnet after net_id, gateway after both, so
 * the order of lines in a text never matters.
 */
static int
phase_of(const struct field *f)
{
	return f->type == F_SUBNET ? 1 : f->type == F_GATEWAY ? 2 : 0;
}

#define NPHASES 3

static const struct field *
find_field(const struct schema *s, const struct mvm_kv *kv)
{
	for (size_t i = 0; i < s->nfields; i++)
		if (mvm_kv_is(kv, s->fields[i].name))
			return &s->fields[i];
	return NULL;
}

static int
unknown_key(const struct schema *s, const struct mvm_kv *kv,
    struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE], known[512];
	size_t n = 0;

	known[0] = '\0';
	for (size_t i = 0; i < s->nfields && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s",
		    i > 0 ? ", " : "", s->fields[i].name);
	return mvm_error_set(e, EINVAL,
	    "unknown %s config key \"%s\"; known keys: %s", s->what,
	    mvm_kv_escape(kv->key, kv->key_len, q), known);
}

int
mvm_config_image_check(const char *s, size_t len, struct mvm_error *e)
{
	static const char extra[] = "._:/@+-";
	char q[MVM_KV_ESCAPE_SIZE], qc[MVM_KV_ESCAPE_SIZE];
	size_t start = 0;

	if (len == 0)
		return mvm_error_set(e, EINVAL, "image reference is empty");
	if (len > MVM_IMAGE_MAX)
		return mvm_error_set(e, EINVAL,
		    "image reference \"%s\" is %zu bytes; the limit is %d",
		    mvm_kv_escape(s, len, q), len, MVM_IMAGE_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') ||
		    (c != '\0' && strchr(extra, c) != NULL))
			continue;
		return mvm_error_set(e, EINVAL,
		    "image reference \"%s\" has '%s' at byte %zu; references "
		    "use A-Z, a-z, 0-9 and ._:/@+-", mvm_kv_escape(s, len, q),
		    mvm_kv_escape(&s[i], 1, qc), i);
	}
	if (s[0] == '/' || s[0] == '-')
		return mvm_error_set(e, EINVAL,
		    "image reference \"%s\" starts with '%c'; references "
		    "start with a letter, a digit or one of ._:@+",
		    mvm_kv_escape(s, len, q), s[0]);
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i - start == 2 && s[start] == '.' && s[start + 1] == '.')
			return mvm_error_set(e, EINVAL,
			    "image reference \"%s\" has a \"..\" path "
			    "component", mvm_kv_escape(s, len, q));
		start = i + 1;
	}
	return 0;
}

/* Set field f of obj from kv. obj is unchanged on failure. */
static int
field_set(const struct field *f, void *obj, const struct mvm_kv *kv,
    const struct apply_state *st, struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE], want[16], have[16];
	char *m = (char *)obj + f->off;
	uint16_t *net_id, id;
	uint32_t v;
	bool b;
	int r;

	switch (f->type) {
	case F_U32:
		if ((r = mvm_kv_u32(kv, f->min, f->max, &v, e)) < 0)
			return r;
		*(uint32_t *)m = v;
		return 0;
	case F_BOOL:
		if ((r = mvm_kv_bool(kv, &b, e)) < 0)
			return r;
		*(bool *)m = b;
		return 0;
	case F_NET_ID:
		if ((r = mvm_kv_u32(kv, f->min, f->max, &v, e)) < 0)
			return r;
		*(uint16_t *)m = (uint16_t)v;
		return 0;
	case F_SUBNET:
		net_id = (uint16_t *)m;
		if ((r = mvm_net_parse_subnet(kv->value, kv->value_len, &id,
		    e)) < 0)
			return r;
		if (st->net_id_given && id != *net_id) {
			mvm_net_format_ip(mvm_net_subnet(*net_id), want);
			return mvm_error_set(e, EINVAL,
			    "subnet %s does not agree with net_id=%u, whose "
			    "subnet is %s/24; give one of them or both alike",
			    mvm_kv_escape(kv->value, kv->value_len, q),
			    *net_id, want);
		}
		*net_id = id;
		return 0;
	case F_GATEWAY:
		net_id = (uint16_t *)m;
		mvm_net_format_ip(mvm_net_gateway(*net_id), want);
		if (strlen(want) == kv->value_len &&
		    memcmp(want, kv->value, kv->value_len) == 0)
			return 0;
		mvm_net_format_ip(mvm_net_subnet(*net_id), have);
		return mvm_error_set(e, EINVAL,
		    "gateway is read-only: for net_id=%u (%s/24) it is %s, "
		    "not \"%s\"", *net_id, have, want,
		    mvm_kv_escape(kv->value, kv->value_len, q));
	case F_IMAGE:
		if (kv->value_len > 0 &&
		    (r = mvm_config_image_check(kv->value, kv->value_len,
		    e)) < 0)
			return r;
		memcpy(m, kv->value, kv->value_len);
		m[kv->value_len] = '\0';
		return 0;
	}
	return mvm_error_set(e, EINVAL, "internal: bad field type");
}

static int
set_one(const struct schema *s, void *obj, const struct mvm_kv *kv,
    struct mvm_error *e)
{
	const struct apply_state st = { .net_id_given = false };
	const struct field *f;

	if ((f = find_field(s, kv)) == NULL)
		return unknown_key(s, kv, e);
	return field_set(f, obj, kv, &st, e);
}

/*
 * Apply text to a scratch copy `tmp` of obj (both `size` bytes) and copy it
 * back only when every line is good.
 */
static int
apply_text(const struct schema *s, void *obj, void *tmp, size_t size,
    const char *text, size_t len, struct mvm_error *e)
{
	struct apply_state st = { .net_id_given = false };
	size_t first_line[MAX_FIELDS] = { 0 };
	struct mvm_error sub = { 0, "" };
	const struct field *f;
	const char *line;
	struct mvm_kv kv;
	size_t llen, lineno = 0, pos, nkeys = 0;
	int r = 0;

	memcpy(tmp, obj, size);
	for (int phase = 0; phase < NPHASES; phase++) {
		pos = 0;
		lineno = 0;
		while (mvm_kv_next_line(text, len, &pos, &line, &llen)) {
			lineno++;
			if ((r = mvm_kv_parse_line(line, llen, &kv, &sub)) < 0)
				goto fail;
			if (r == 1)
				continue;
			if ((f = find_field(s, &kv)) == NULL) {
				r = unknown_key(s, &kv, &sub);
				goto fail;
			}
			if (phase == 0) {
				size_t i = (size_t)(f - s->fields);

				if (first_line[i] != 0) {
					r = mvm_error_set(&sub, EINVAL,
					    "key %s is given twice (lines %zu "
					    "and %zu)", f->name, first_line[i],
					    lineno);
					goto fail;
				}
				first_line[i] = lineno;
				nkeys++;
				if (f->type == F_NET_ID)
					st.net_id_given = true;
			}
			if (phase_of(f) != phase)
				continue;
			if ((r = field_set(f, tmp, &kv, &st, &sub)) < 0)
				goto fail;
		}
	}
	if (nkeys == 0)
		return mvm_error_set(e, EINVAL,
		    "%s config text has no key=value line", s->what);
	memcpy(obj, tmp, size);
	return 0;
fail:
	return mvm_error_set(e, -r, "line %zu: %s", lineno, sub.msg);
}

/* Write field f of obj as text; `out` holds MVM_IMAGE_MAX + 1 bytes. */
static void
field_text(const struct field *f, const void *obj, char *out)
{
	const char *m = (const char *)obj + f->off;
	int n;

	switch (f->type) {
	case F_U32:
		snprintf(out, 16, "%u", *(const uint32_t *)m);
		return;
	case F_BOOL:
		strcpy(out, *(const bool *)m ? "true" : "false");
		return;
	case F_NET_ID:
		snprintf(out, 16, "%u", *(const uint16_t *)m);
		return;
	case F_SUBNET:
		n = mvm_net_format_ip(mvm_net_subnet(*(const uint16_t *)m),
		    out);
		strcpy(out + n, "/24");
		return;
	case F_GATEWAY:
		mvm_net_format_ip(mvm_net_gateway(*(const uint16_t *)m), out);
		return;
	case F_IMAGE:
		snprintf(out, MVM_IMAGE_MAX + 1, "%s", m);
		return;
	}
	out[0] = '\0';
}

static int
render(const struct schema *s, const void *obj, char *buf, size_t len)
{
	char value[MVM_IMAGE_MAX + 1];
	size_t n = 0;

	for (size_t i = 0; i < s->nfields; i++) {
		field_text(&s->fields[i], obj, value);
		n += (size_t)snprintf(n < len ? buf + n : NULL,
		    n < len ? len - n : 0, "%s=%s\n", s->fields[i].name, value);
	}
	if (n >= len)
		return -ENOSPC;
	return (int)n;
}

int
mvm_config_tenant_set(struct mvm_tenant *t, const struct mvm_kv *kv,
    struct mvm_error *e)
{
	return set_one(&tenant_schema, t, kv, e);
}

int
mvm_config_pool_set(struct mvm_pool *p, const struct mvm_kv *kv,
    struct mvm_error *e)
{
	return set_one(&pool_schema, p, kv, e);
}

int
mvm_config_tenant_apply_text(struct mvm_tenant *t, const char *text,
    size_t len, struct mvm_error *e)
{
	struct mvm_tenant tmp;

	return apply_text(&tenant_schema, t, &tmp, sizeof(tmp), text, len, e);
}

int
mvm_config_pool_apply_text(struct mvm_pool *p, const char *text, size_t len,
    struct mvm_error *e)
{
	struct mvm_pool tmp;

	return apply_text(&pool_schema, p, &tmp, sizeof(tmp), text, len, e);
}

int
mvm_config_tenant_render(const struct mvm_tenant *t, char *buf, size_t len)
{
	return render(&tenant_schema, t, buf, len);
}

int
mvm_config_pool_render(const struct mvm_pool *p, char *buf, size_t len)
{
	return render(&pool_schema, p, buf, len);
}

static const struct {
	const char	*name;
	size_t		 off;
} count_keys[] = {
	{ "running", offsetof(struct mvm_counts, running) },
	{ "warm", offsetof(struct mvm_counts, warm) },
	{ "sleeping", offsetof(struct mvm_counts, sleeping) },
};

#define NCOUNT_KEYS NELEM(count_keys)
#define COUNT_MAX 100

/* Apply one `key=N` word of the desired text to *c. */
static int
count_word(const char *w, size_t wlen, struct mvm_counts *c, unsigned *seen,
    struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE];
	struct mvm_kv kv;
	uint32_t v;
	int r;

	if ((r = mvm_kv_parse_line(w, wlen, &kv, e)) < 0)
		return r;
	if (r == 1)
		return mvm_error_set(e, EINVAL,
		    "desired word \"%s\" is not key=value; a comment takes a "
		    "whole line", mvm_kv_escape(w, wlen, q));
	for (size_t i = 0; i < NCOUNT_KEYS; i++) {
		if (!mvm_kv_is(&kv, count_keys[i].name))
			continue;
		if (*seen & (1u << i))
			return mvm_error_set(e, EINVAL,
			    "desired key %s is given twice",
			    count_keys[i].name);
		if ((r = mvm_kv_u32(&kv, 0, COUNT_MAX, &v, e)) < 0)
			return r;
		*(uint32_t *)((char *)c + count_keys[i].off) = v;
		*seen |= 1u << i;
		return 0;
	}
	return mvm_error_set(e, EINVAL,
	    "unknown desired key \"%s\"; known keys: running, warm, sleeping",
	    mvm_kv_escape(kv.key, kv.key_len, q));
}

int
mvm_config_counts_parse(const char *s, size_t len, struct mvm_counts *c,
    struct mvm_error *e)
{
	struct mvm_counts tmp = *c;
	const char *line, *w;
	size_t llen, wlen, pos = 0, wpos;
	unsigned seen = 0;
	struct mvm_kv kv;
	int r;

	while (mvm_kv_next_line(s, len, &pos, &line, &llen)) {
		if (mvm_kv_parse_line(line, llen, &kv, NULL) == 1)
			continue;
		wpos = 0;
		while (mvm_kv_next_word(line, llen, &wpos, &w, &wlen))
			if ((r = count_word(w, wlen, &tmp, &seen, e)) < 0)
				return r;
	}
	if (seen == 0)
		return mvm_error_set(e, EINVAL,
		    "desired text has no key; write running=N warm=N "
		    "sleeping=N");
	*c = tmp;
	return 0;
}

int
mvm_config_counts_render(const struct mvm_counts *c, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "running=%u warm=%u sleeping=%u\n", c->running,
	    c->warm, c->sleeping);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
