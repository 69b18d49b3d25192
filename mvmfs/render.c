/*
 * render.c: views as typed fields, printed as key=value or JSON.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "netplan.h"
#include "quota.h"
#include "reconcile.h"
#include "render.h"
#include "sleeper.h"
#include "store.h"
#include "vmm.h"
#include "world.h"

#ifndef MVM_VERSION
#define MVM_VERSION "unknown"
#endif

#define FIELDS_MAX	48

enum ftype { F_STR, F_INT, F_BOOL, F_FIXED2, F_PAIR };

struct field {
	char		key[40];
	enum ftype	type;
	char		s[2560];	/* a pool's pending steps are long */
	int64_t		i;
	double		d;
	uint64_t	used, limit;
};

struct view {
	struct field	f[FIELDS_MAX];
	size_t		n;
};

static struct field *
add(struct view *v, const char *key, enum ftype type)
{
	struct field *f = &v->f[v->n < FIELDS_MAX ? v->n++ : FIELDS_MAX - 1];

	memset(f, 0, sizeof(*f));
	snprintf(f->key, sizeof(f->key), "%s", key);
	f->type = type;
	return f;
}

static void
add_str(struct view *v, const char *key, const char *s)
{
	snprintf(add(v, key, F_STR)->s, sizeof(v->f[0].s), "%s", s);
}

static void
add_int(struct view *v, const char *key, int64_t i)
{
	add(v, key, F_INT)->i = i;
}

static void
add_bool(struct view *v, const char *key, bool b)
{
	add(v, key, F_BOOL)->i = b;
}

static void
add_pair(struct view *v, const char *key, uint64_t used, uint64_t limit)
{
	struct field *f = add(v, key, F_PAIR);

	f->used = used;
	f->limit = limit;
}

static int
field_cmp(const void *a, const void *b)
{
	return strcmp(((const struct field *)a)->key,
	    ((const struct field *)b)->key);
}

static int
emit(struct view *v, bool json, char **out, size_t *len,
    struct mvm_error *e)
{
	cJSON *o = NULL, *pair;
	struct field *f;
	FILE *fp = NULL;
	char *s = NULL;
	size_t i;
	int rc = 0;

	qsort(v->f, v->n, sizeof(v->f[0]), field_cmp);
	if (json) {
		if ((o = cJSON_CreateObject()) == NULL)
			goto nomem;
		for (i = 0; i < v->n; i++) {
			f = &v->f[i];
			switch (f->type) {
			case F_STR:
				pair = cJSON_CreateString(f->s);
				break;
			case F_INT:
				pair = cJSON_CreateNumber((double)f->i);
				break;
			case F_BOOL:
				pair = cJSON_CreateBool(f->i);
				break;
			case F_FIXED2:
				pair = cJSON_CreateNumber(f->d);
				break;
			default:
				if ((pair = cJSON_CreateObject()) != NULL &&
				    (cJSON_AddNumberToObject(pair, "used",
				    (double)f->used) == NULL ||
				    cJSON_AddNumberToObject(pair, "limit",
				    (double)f->limit) == NULL)) {
					cJSON_Delete(pair);
					pair = NULL;
				}
				break;
			}
			if (pair == NULL)
				goto nomem;
			cJSON_AddItemToObject(o, f->key, pair);
		}
		if ((s = cJSON_PrintUnformatted(o)) == NULL)
			goto nomem;
		if ((*out = malloc(strlen(s) + 2)) == NULL)
			goto nomem;
		*len = sprintf(*out, "%s\n", s);
		goto out;
	}
	if ((fp = open_memstream(out, len)) == NULL)
		goto nomem;
	for (i = 0; i < v->n; i++) {
		f = &v->f[i];
		switch (f->type) {
		case F_STR:
			fprintf(fp, "%s=%s\n", f->key, f->s);
			break;
		case F_INT:
			fprintf(fp, "%s=%" PRId64 "\n", f->key, f->i);
			break;
		case F_BOOL:
			fprintf(fp, "%s=%s\n", f->key, f->i ? "true" : "false");
			break;
		case F_FIXED2:
			fprintf(fp, "%s=%.2f\n", f->key, f->d);
			break;
		case F_PAIR:
			fprintf(fp, "%s=%" PRIu64 "/%" PRIu64 "\n", f->key,
			    f->used, f->limit);
			break;
		}
	}
	if (fclose(fp) != 0) {
		free(*out);
		goto nomem;
	}
	goto out;
nomem:
	rc = mvm_error_set(e, ENOMEM, "out of memory rendering a view");
	*out = NULL;
	*len = 0;
out:
	cJSON_free(s);
	cJSON_Delete(o);
	return rc;
}

/*
 * A tenant's usage; *fullest is the most instances in one of its pools
 * and *pools the number of its pools.
 */
static void
usage(const struct mvm_world *w, const char *tenant, struct mvm_usage *u,
    uint32_t *fullest, uint32_t *pools, uint32_t *instances)
{
	const struct mvm_instance *in;
	const struct mvm_pool *p;
	size_t i, j, n, np;

	memset(u, 0, sizeof(*u));
	*fullest = *instances = 0;
	np = mvm_world_tenant_pools(w, tenant, &p);
	for (i = 0; i < np; i++) {
		n = mvm_world_pool_instances(w, tenant, p[i].id, &in);
		for (j = 0; j < n; j++)
			mvm_quota_usage_add_instance(u, &p[i], &in[j]);
		*instances += n;
		if (n > *fullest)
			*fullest = n;
	}
	*pools = np;
	u->pools = *pools;
}

static uint64_t
quota_used(const struct mvm_usage *u, uint32_t fullest,
    enum mvm_quota_kind k)
{
	switch (k) {
	case MVM_QUOTA_VCPUS:		return u->vcpus;
	case MVM_QUOTA_MEM_MIB:		return u->mem_mib;
	case MVM_QUOTA_RUNNING:		return u->running;
	case MVM_QUOTA_WARM:		return u->warm;
	case MVM_QUOTA_POOLS:		return u->pools;
	case MVM_QUOTA_INSTANCES_PER_POOL: return fullest;
	default:			return (u->disk_mib + 1023) / 1024;
	}
}

static uint64_t
quota_limit(const struct mvm_quota *q, enum mvm_quota_kind k)
{
	switch (k) {
	case MVM_QUOTA_VCPUS:		return q->max_vcpus;
	case MVM_QUOTA_MEM_MIB:		return q->max_mem_mib;
	case MVM_QUOTA_RUNNING:		return q->max_running;
	case MVM_QUOTA_WARM:		return q->max_warm;
	case MVM_QUOTA_POOLS:		return q->max_pools;
	case MVM_QUOTA_INSTANCES_PER_POOL: return q->max_instances_per_pool;
	default:			return q->max_disk_gib;
	}
}

/* The node id, made on first use: 36 characters in the UUID v4 layout. */
int
mvmfs_render_node_id(struct mvm_store *st, char id[MVMFS_NODE_ID_LEN + 1],
    struct mvm_error *e)
{
	unsigned char r[16];
	int rc;

	rc = mvm_store_meta_get(st, "node_id", id, MVMFS_NODE_ID_LEN + 1, e);
	if (rc != -ENOENT)
		return rc < 0 ? rc : 0;
	if ((rc = mvm_store_begin(st, e)) < 0)
		return rc;
	rc = mvm_store_meta_get(st, "node_id", id, MVMFS_NODE_ID_LEN + 1, e);
	if (rc == -ENOENT) {
		randombytes_buf(r, sizeof(r));
		r[6] = (r[6] & 0x0f) | 0x40;
		r[8] = (r[8] & 0x3f) | 0x80;
		snprintf(id, MVMFS_NODE_ID_LEN + 1, "%02x%02x%02x%02x-%02x%02x-"
		    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
		    r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10],
		    r[11], r[12], r[13], r[14], r[15]);
		rc = mvm_store_meta_set(st, "node_id", id, e);
	}
	if (rc < 0) {
		mvm_store_rollback(st);
		return rc;
	}
	return mvm_store_commit(st, e);
}

static int
view_node_info(const struct mvmfs_render_src *src, struct view *v,
    struct mvm_error *e)
{
	char id[MVMFS_NODE_ID_LEN + 1];
	struct utsname un;
	struct sysinfo si;
	long cpus;
	int rc;

	if ((rc = mvmfs_render_node_id(src->st, id, e)) < 0)
		return rc;
	uname(&un);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (sysinfo(&si) != 0)
		memset(&si, 0, sizeof(si));
	add_str(v, "accel", src->accel != NULL ? src->accel : "unknown");
	add_str(v, "accel_reason", src->accel_reason != NULL ?
	    src->accel_reason : "");
	add_str(v, "arch", un.machine);
	add_int(v, "cpus", cpus > 0 ? cpus : 0);
	add_str(v, "image_dir", src->image_dir != NULL ? src->image_dir : "");
	add_bool(v, "kvm", access("/dev/kvm", F_OK) == 0);
	add_bool(v, "kvm_pvm", access("/sys/module/kvm_pvm", F_OK) == 0);
	add_int(v, "mem_mib", (int64_t)((uint64_t)si.totalram * si.mem_unit >>
	    20));
	add_str(v, "node_id", id);
	add_str(v, "version", MVM_VERSION);
	add_str(v, "vmm", src->vmm != NULL ? src->vmm : "unknown");
	add_str(v, "vmm_path", src->vmm_path != NULL ? src->vmm_path : "");
	return 0;
}

/* The number of instances `in[0..nins)` in each state. */
static void
add_state_counts(struct view *v, const struct mvm_instance *in, size_t nins)
{
	uint32_t n[MVM_STATE_COUNT] = { 0 };
	size_t i;
	int s;

	for (i = 0; i < nins; i++)
		if (in[i].state < MVM_STATE_COUNT)
			n[in[i].state]++;
	for (s = 0; s < MVM_STATE_DESTROYED; s++)
		add_int(v, mvm_state_name(s), n[s]);
}

static int
view_node_stats(const struct mvmfs_render_src *src, struct view *v,
    struct mvm_error *e)
{
	const struct mvm_pool *p;
	struct mvm_usage u;
	struct mvm_world w;
	size_t i;
	int rc;

	if ((rc = mvm_world_load(src->st, NULL, 0, &w, e)) < 0)
		return rc;
	memset(&u, 0, sizeof(u));
	for (i = 0; i < w.nins; i++)
		if ((p = mvm_world_pool(&w, w.ins[i].tenant,
		    w.ins[i].pool)) != NULL)
			mvm_quota_usage_add_instance(&u, p, &w.ins[i]);
	add_int(v, "tenants", w.ntenants);
	add_int(v, "pools", w.npools);
	add_int(v, "instances", w.nins);
	add_state_counts(v, w.ins, w.nins);
	add_int(v, "vcpus_used", u.vcpus);
	add_int(v, "mem_mib_used", u.mem_mib);
	mvm_world_free(&w);
	return 0;
}

static int
view_tenant_status(const struct mvmfs_render_src *src, const char *tenant,
    struct view *v, struct mvm_error *e)
{
	struct mvm_usage u;
	struct mvm_world w;
	char vkey[MVM_ID_MAX + 32], buf[32];
	uint32_t fullest, pools, instances;
	int k, rc;

	if ((rc = mvm_world_load(src->st, tenant, 0, &w, e)) < 0)
		return rc;
	usage(&w, tenant, &u, &fullest, &pools, &instances);
	for (k = 0; k < MVM_QUOTA_COUNT; k++)
		add_pair(v, mvm_quota_name(k), quota_used(&u, fullest, k),
		    quota_limit(&w.tenants[0].quota, k));
	add_int(v, "pools", pools);
	add_int(v, "instances", instances);
	snprintf(vkey, sizeof(vkey), "secrets_version:%s", tenant);
	rc = mvm_store_meta_get(src->st, vkey, buf, sizeof(buf), e);
	add_int(v, "secrets_version", rc > 0 ? strtoll(buf, NULL, 10) : 0);
	mvm_world_free(&w);
	return rc == -ENOENT || rc >= 0 ? 0 : rc;
}

/* Copy lines `in` into `out` as one line, joined by "; ". */
static void
join_lines(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in != '\0' && o + 3 < len; in++) {
		if (*in != '\n')
			out[o++] = *in;
		else if (in[1] != '\0') {
			out[o++] = ';';
			out[o++] = ' ';
		}
	}
	out[o] = '\0';
}

/* The reconciler's last pass over a pool, for its status. */
static void
add_pass(struct view *v, const struct mvmfs_render_src *src,
    const char *tenant, const char *pool)
{
	struct mvm_reconcile_pool_status ps;
	const struct mvm_reconcile_counts *c = &ps.totals;
	char joined[sizeof(((struct field *)0)->s)];

	memset(&ps, 0, sizeof(ps));
	if (src->rec == NULL ||
	    mvm_reconcile_pool_status(src->rec, tenant, pool, &ps) < 0 ||
	    !ps.passed) {
		add_str(v, "converged", "unknown");
		return;
	}
	add_str(v, "converged", ps.summary.converged && !ps.active ?
	    "yes" : "no");
	add_bool(v, "active", ps.active);
	add_int(v, "busy", ps.summary.busy);
	add_int(v, "parked", ps.summary.parked);
	add_int(v, "failed", ps.summary.failed);
	add_int(v, "steps", (int64_t)ps.summary.steps);
	add_int(v, "deferred", (int64_t)ps.summary.deferred);
	add_int(v, "next_at", ps.summary.next_at);
	add_int(v, "last_pass_at", ps.last_pass_at);
	add_int(v, "pass_revision", (int64_t)ps.pool_revision);
	join_lines(ps.pending, joined, sizeof(joined));
	add_str(v, "pending", joined);
	add_int(v, "total_created", c->created);
	add_int(v, "total_started", c->started);
	add_int(v, "total_resumed", c->resumed);
	add_int(v, "total_woken", c->woken);
	add_int(v, "total_warmed", c->warmed);
	add_int(v, "total_slept", c->slept);
	add_int(v, "total_stopped", c->stopped);
	add_int(v, "total_deferred", c->deferred);
	add_int(v, "total_failed", c->failed);
}

static int
view_pool_status(const struct mvmfs_render_src *src, const char *tenant,
    const char *pool, struct view *v, struct mvm_error *e)
{
	const struct mvm_instance *in;
	const struct mvm_pool *p;
	struct mvm_world w;
	size_t n;
	int rc;

	if ((rc = mvm_world_load(src->st, tenant, 0, &w, e)) < 0)
		return rc;
	if ((p = mvm_world_pool(&w, tenant, pool)) == NULL) {
		rc = mvm_error_set(e, ENOENT, "pool \"%s\" of tenant \"%s\" "
		    "does not exist", pool, tenant);
		goto out;
	}
	n = mvm_world_pool_instances(&w, tenant, pool, &in);
	add_state_counts(v, in, n);
	add_int(v, "desired_running", p->desired.running);
	add_int(v, "desired_warm", p->desired.warm);
	add_int(v, "desired_sleeping", p->desired.sleeping);
	add_int(v, "instances", n);
	add_int(v, "revision", (int64_t)p->revision);
	add_bool(v, "managed", p->managed);
	add_pass(v, src, tenant, pool);
out:
	mvm_world_free(&w);
	return rc;
}

static int
view_instance_info(const struct mvmfs_render_src *src, const char *tenant,
    const char *pool, const char *id, struct view *v, struct mvm_error *e)
{
	struct mvm_instance in;
	struct mvm_tenant t;
	uint8_t mac[6];
	char buf[20];
	int rc;

	if ((rc = mvm_store_tenant_get(src->st, tenant, &t, e)) < 0 ||
	    (rc = mvm_store_instance_get(src->st, tenant, pool, id, &in,
	    e)) < 0)
		return rc;
	add_str(v, "state", mvm_state_name(in.state));
	add_str(v, "op", mvm_op_name(in.op));
	mvm_net_format_ip(mvm_net_addr(t.net_id, in.ip_offset), buf);
	add_str(v, "ip", buf);
	mvm_net_format_ip(mvm_net_gateway(t.net_id), buf);
	add_str(v, "gateway", buf);
	mvm_net_mac(t.net_id, in.ip_offset, mac);
	mvm_net_format_mac(mac, buf);
	add_str(v, "mac", buf);
	mvm_net_tap_name(t.net_id, in.ip_offset, buf);
	add_str(v, "tap", buf);
	add_int(v, "pid", in.pid);
	add_int(v, "created_at", in.created_at);
	add_int(v, "entered_running_at", in.entered_running_at);
	add_int(v, "entered_warm_at", in.entered_warm_at);
	add_int(v, "revision", (int64_t)in.revision);
	add_str(v, "reason", in.reason);
	return 0;
}

struct proc {
	pid_t		pid, ppid;
	uint64_t	ticks;	/* utime + stime */
	uint64_t	rss;	/* pages */
	bool		mine;
};

/* Read pid, ppid, utime+stime and rss (pages) from /proc/<pid>/stat. */
static int
read_stat(pid_t pid, struct proc *p)
{
	char path[64], buf[1024], *s;
	unsigned long long ut, st;
	long long rss;
	int ppid, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The name may hold anything; the fields follow the last ')'. */
	if ((s = strrchr(buf, ')')) == NULL)
		return -EIO;
	if (sscanf(s + 2, "%*c %d %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu "
	    "%llu %*s %*s %*s %*s %*s %*s %*s %*s %lld", &ppid, &ut, &st,
	    &rss) != 4)
		return -EIO;
	p->pid = pid;
	p->ppid = ppid;
	p->ticks = ut + st;
	p->rss = rss > 0 ? (uint64_t)rss : 0;
	p->mine = false;
	return 0;
}

/* Sum CPU ticks and RSS pages of `root` and all its descendants. */
static int
proc_tree(pid_t root, uint64_t *ticks, uint64_t *rss)
{
	struct proc *ps = NULL, *np;
	struct dirent *de;
	size_t n = 0, cap = 0, i, j;
	bool changed;
	DIR *d;
	char *end;
	long pid;

	*ticks = *rss = 0;
	if ((d = opendir("/proc")) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0)
			continue;
		if (n == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			if ((np = reallocarray(ps, cap, sizeof(*ps))) == NULL) {
				closedir(d);
				free(ps);
				return -ENOMEM;
			}
			ps = np;
		}
		if (read_stat(pid, &ps[n]) == 0)
			ps[n++].mine = pid == root;
	}
	closedir(d);
	do {
		changed = false;
		for (i = 0; i < n; i++) {
			if (ps[i].mine)
				continue;
			for (j = 0; j < n; j++) {
				if (ps[j].mine && ps[j].pid == ps[i].ppid) {
					ps[i].mine = changed = true;
					break;
				}
			}
		}
	} while (changed);
	for (i = 0; i < n; i++) {
		if (ps[i].mine) {
			*ticks += ps[i].ticks;
			*rss += ps[i].rss;
		}
	}
	free(ps);
	return 0;
}

/* What the sleep policy measured of an instance, for its stats. */
static void
add_idle(struct view *v, const struct mvmfs_render_src *src,
    const struct mvm_instance *in)
{
	struct mvm_idle_track t;
	struct field *f;
	bool have;

	have = src->sleeper != NULL && mvm_sleeper_instance(src->sleeper,
	    in->tenant, in->pool, in->id, &t) == 0 && t.have_iv;
	add_int(v, "idle_seconds", have ?
	    mvm_idle_track_seconds(&t, time(NULL)) : 0);
	f = add(v, "cpu_percent", F_FIXED2);
	f->d = have ? t.iv.cpu_percent : -1;
	add_int(v, "net_bytes", have && t.iv.net_known ?
	    (int64_t)t.iv.net_bytes : -1);
	add_int(v, "failures", in->failures);
	add_bool(v, "parked", in->parked);
	add_str(v, "parked_from", in->parked ?
	    mvm_state_name(in->parked_from) : "");
}

static int
view_instance_stats(const struct mvmfs_render_src *src, const char *tenant,
    const char *pool, const char *id, struct view *v, struct mvm_error *e)
{
	struct mvm_vmm_proc vp;
	struct mvm_instance in;
	struct mvm_pool p;
	struct field *f;
	uint64_t ticks = 0, rss = 0;
	int64_t since = 0, now = time(NULL);
	long hz = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	int rc;

	if ((rc = mvm_store_pool_get(src->st, tenant, pool, &p, e)) < 0 ||
	    (rc = mvm_store_instance_get(src->st, tenant, pool, id, &in,
	    e)) < 0)
		return rc;
	vp.pid = in.pid;
	vp.start_time = in.pid_start;
	if (in.pid > 0 && mvm_vmm_alive(&vp))
		proc_tree(in.pid, &ticks, &rss);
	if (in.state == MVM_STATE_RUNNING)
		since = in.entered_running_at;
	else if (in.state == MVM_STATE_WARM)
		since = in.entered_warm_at;
	f = add(v, "cpu_seconds", F_FIXED2);
	f->d = hz > 0 ? (double)ticks / hz : 0;
	add_int(v, "rss_kib", (int64_t)(rss * (page > 0 ? page : 4096) / 1024));
	add_int(v, "vcpus", p.vcpus);
	add_int(v, "mem_mib", p.mem_mib);
	add_int(v, "uptime_seconds", since > 0 && now > since ?
	    now - since : 0);
	add_str(v, "state", mvm_state_name(in.state));
	add_idle(v, src, &in);
	return 0;
}

static void
metric_head(FILE *fp, const char *name, const char *help)
{
	fprintf(fp, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

static int
view_metrics(const struct mvmfs_render_src *src, char **out, size_t *len,
    struct mvm_error *e)
{
	uint32_t n[MVM_STATE_COUNT], fullest, pools, instances;
	const struct mvm_instance *in;
	const struct mvm_tenant *t;
	const struct mvm_pool *p;
	struct mvm_usage u;
	struct mvm_world w;
	FILE *fp;
	size_t i, j, nin;
	int s, k, rc;

	if ((rc = mvm_world_load(src->st, NULL, 0, &w, e)) < 0)
		return rc;
	if ((fp = open_memstream(out, len)) == NULL) {
		mvm_world_free(&w);
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	/* Ids are [a-z0-9-] (names.h), so label values need no escaping. */
	metric_head(fp, "mvm_instances", "Instances by tenant, pool and "
	    "state.");
	for (i = 0; i < w.npools; i++) {
		p = &w.pools[i];
		memset(n, 0, sizeof(n));
		nin = mvm_world_pool_instances(&w, p->tenant, p->id, &in);
		for (j = 0; j < nin; j++)
			if (in[j].state < MVM_STATE_COUNT)
				n[in[j].state]++;
		for (s = 0; s < MVM_STATE_DESTROYED; s++)
			fprintf(fp, "mvm_instances{tenant=\"%s\",pool=\"%s\","
			    "state=\"%s\"} %u\n", p->tenant, p->id,
			    mvm_state_name(s), n[s]);
	}
	metric_head(fp, "mvm_tenant_quota_used", "What a tenant uses of each "
	    "quota.");
	for (i = 0; i < w.ntenants; i++) {
		t = &w.tenants[i];
		usage(&w, t->id, &u, &fullest, &pools, &instances);
		for (k = 0; k < MVM_QUOTA_COUNT; k++)
			fprintf(fp, "mvm_tenant_quota_used{tenant=\"%s\","
			    "quota=\"%s\"} %" PRIu64 "\n", t->id,
			    mvm_quota_name(k), quota_used(&u, fullest, k));
	}
	metric_head(fp, "mvm_tenant_quota_limit", "Each quota of a tenant.");
	for (i = 0; i < w.ntenants; i++) {
		t = &w.tenants[i];
		for (k = 0; k < MVM_QUOTA_COUNT; k++)
			fprintf(fp, "mvm_tenant_quota_limit{tenant=\"%s\","
			    "quota=\"%s\"} %" PRIu64 "\n", t->id,
			    mvm_quota_name(k), quota_limit(&t->quota, k));
	}
	mvm_world_free(&w);
	if (fclose(fp) != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
		return mvm_error_set(e, ENOMEM, "out of memory");
	}
	return 0;
}

int
mvmfs_render(const struct mvmfs_render_src *src, enum mvmfs_view v,
    const char *tenant, const char *pool, const char *instance, bool json,
    char **out, size_t *len, struct mvm_error *e)
{
	struct view *view;
	int rc;

	*out = NULL;
	*len = 0;
	if (v == MVMFS_VIEW_NODE_METRICS)
		return view_metrics(src, out, len, e);
	if ((view = calloc(1, sizeof(*view))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	switch (v) {
	case MVMFS_VIEW_NODE_INFO:
		rc = view_node_info(src, view, e);
		break;
	case MVMFS_VIEW_NODE_STATS:
		rc = view_node_stats(src, view, e);
		break;
	case MVMFS_VIEW_TENANT_STATUS:
		rc = view_tenant_status(src, tenant, view, e);
		break;
	case MVMFS_VIEW_POOL_STATUS:
		rc = view_pool_status(src, tenant, pool, view, e);
		break;
	case MVMFS_VIEW_INSTANCE_INFO:
		rc = view_instance_info(src, tenant, pool, instance, view, e);
		break;
	case MVMFS_VIEW_INSTANCE_STATS:
		rc = view_instance_stats(src, tenant, pool, instance, view, e);
		break;
	default:
		rc = mvm_error_set(e, EINVAL, "unknown view %d", (int)v);
		break;
	}
	if (rc == 0)
		rc = emit(view, json, out, len, e);
	free(view);
	return rc;
}

/* Append the last MVMFS_LOG_TAIL bytes of dir/name to fp. */
static int
tail_file(FILE *fp, const char *dir, const char *name, struct mvm_error *e)
{
	char path[PATH_MAX], buf[8192];
	struct stat sb;
	ssize_t n;
	int fd, rc = 0;

	fprintf(fp, "==> %s <==\n", name);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path))
		return mvm_error_set(e, ENAMETOOLONG, "instance directory "
		    "\"%s\" is too long", dir);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return errno == ENOENT ? 0 : mvm_error_set(e, errno,
		    "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == 0 && sb.st_size > MVMFS_LOG_TAIL)
		lseek(fd, sb.st_size - MVMFS_LOG_TAIL, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, fp);
	if (n < 0)
		rc = mvm_error_set(e, errno, "cannot read %s: %s", path,
		    strerror(errno));
	close(fd);
	return rc;
}

int
mvmfs_render_log(const char *dir, char **out, size_t *len,
    struct mvm_error *e)
{
	FILE *fp;
	int rc;

	*out = NULL;
	*len = 0;
	if ((fp = open_memstream(out, len)) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	if ((rc = tail_file(fp, dir, "vmm.log", e)) == 0)
		rc = tail_file(fp, dir, "console.log", e);
	if (fclose(fp) != 0 && rc == 0)
		rc = mvm_error_set(e, ENOMEM, "out of memory");
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}

const char *
mvmfs_readme(void)
{
	return
	    "This is /mvm, the control plane of an mvm node: tenants, pools\n"
	    "and Firecracker-API microVM instances, as files.\n"
	    "\n"
	    "  mkdir tenants/T, tenants/T/pools/P, .../instances/I  create\n"
	    "  rmdir                                     destroy\n"
	    "  echo running > .../instances/I/state     start (blocks until done)\n"
	    "  echo 'warm force' > state                 skip the minimum runtime\n"
	    "\n"
	    "File classes:\n"
	    "  state, desired (pool), ctl   value files: each write is one\n"
	    "      command, and its error comes back from write(2).\n"
	    "  config, secrets, /mvm/desired  documents: written whole, applied\n"
	    "      at close or when a scratch file is renamed onto them. config\n"
	    "      reads back every key in canonical form; secrets and desired\n"
	    "      read back exactly what was written.\n"
	    "  info, stats, status, node/*  views: key=value lines; add .json\n"
	    "      to the name for JSON.\n"
	    "  events                       JSON lines; blocks for new ones.\n"
	    "  err                          why the last operations failed:\n"
	    "      <seq> <time> <op> <ERRNO> <message>\n"
	    "\n"
	    "Errors: EINVAL bad value, EOPNOTSUPP not from this state, EAGAIN\n"
	    "minimum runtime not reached, EBUSY in progress or not empty, EDQUOT\n"
	    "over quota, ENOSPC no address left, EACCES/EPERM not yours, EIO the\n"
	    "VMM failed. The sentence is in the object's err file.\n";
}
