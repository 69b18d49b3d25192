/* idle.c: CPU and traffic counters of an instance, and idle intervals. */
#include "idle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Read up to len - 1 bytes of file `path` into buf, NUL-terminated.
 * Returns the byte count or a negative errno.
 */
static int
read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	r = (int)got;
out:
	close(fd);
	return r;
}

/* Parse the unsigned decimal at `s`; *end is set to where it stopped. */
static bool
parse_u64(const char *s, uint64_t *out, char **end)
{
	unsigned long long v;
	char *e;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno != 0)
		return false;
	*out = v;
	*end = e;
	return true;
}

/*
 * Parse the text of /proc/<pid>/stat into *p. The command name sits in
 * parentheses and may itself hold spaces and ')', so fields are counted
 * from the last ')'. Fields (1-based): 4 ppid, 14 utime, 15 stime,
 * 16 cutime, 17 cstime, 22 starttime; others (some signed) are skipped.
 */
static bool
parse_stat(const char *text, struct mvm_idle_proc *p)
{
	const char *s = strrchr(text, ')');
	uint64_t v, ticks = 0;
	char *end;
	int field;

	if (s == NULL || s[1] != ' ')
		return false;
	s += 2;		/* now at field 3, the state */
	for (field = 3; field <= 22; field++) {
		if (field == 4 || (field >= 14 && field <= 17) ||
		    field == 22) {
			if (!parse_u64(s, &v, &end) || (*end != ' ' &&
			    *end != '\n' && *end != '\0'))
				return false;
			if (field == 4 && v > INT32_MAX)
				return false;
			if (field == 4)
				p->ppid = (int32_t)v;
			else if (field == 22)
				p->start = v;
			else if (__builtin_add_overflow(ticks, v, &ticks))
				return false;
		} else if ((end = strchr(s, ' ')) == NULL)
			return false;
		if (field < 22) {
			if (*end != ' ')
				return false;
			s = end + 1;
		}
	}
	p->ticks = ticks;
	return true;
}

static int
by_pid(const void *a, const void *b)
{
	const struct mvm_idle_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static const struct mvm_idle_proc *
find(const struct mvm_idle_procs *p, int32_t pid)
{
	struct mvm_idle_proc key = { .pid = pid };

	if (p->n == 0)
		return NULL;
	return bsearch(&key, p->v, p->n, sizeof(*p->v), by_pid);
}

int
mvm_idle_procs_read(const char *root, struct mvm_idle_procs *out)
{
	char path[PATH_MAX], text[4096];
	struct mvm_idle_proc *nv, pr;
	struct dirent *de;
	size_t cap = 0;
	char *end;
	uint64_t pid;
	DIR *d;
	int r;

	out->v = NULL;
	out->n = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/proc", root) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if ((d = opendir(path)) == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (!parse_u64(de->d_name, &pid, &end) || *end != '\0' ||
		    pid == 0 || pid > INT32_MAX)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/proc/%s/stat",
		    root, de->d_name) >= sizeof(path))
			continue;
		if (read_small(path, text, sizeof(text)) < 0)
			continue;	/* it exited meanwhile */
		if (!parse_stat(text, &pr))
			continue;
		pr.pid = (int32_t)pid;
		if (out->n == cap) {
			cap = cap ? cap * 2 : 256;
			if ((nv = reallocarray(out->v, cap, sizeof(*nv))) ==
			    NULL) {
				r = -ENOMEM;
				goto out;
			}
			out->v = nv;
		}
		out->v[out->n++] = pr;
	}
	if (out->n > 0)
		qsort(out->v, out->n, sizeof(*out->v), by_pid);
	r = out->n > INT_MAX ? INT_MAX : (int)out->n;
out:
	closedir(d);
	return r;
}

void
mvm_idle_procs_free(struct mvm_idle_procs *p)
{
	if (p == NULL)
		return;
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int
mvm_idle_procs_cpu(const struct mvm_idle_procs *p, int32_t pid,
    uint64_t pid_start, uint64_t *ticks)
{
	const struct mvm_idle_proc *top, *parent;
	uint64_t sum;
	bool *in, grew;
	size_t i;

	if ((top = find(p, pid)) == NULL ||
	    (pid_start != 0 && top->start != pid_start))
		return -ESRCH;
	if ((in = calloc(p->n, sizeof(*in))) == NULL)
		return -ENOMEM;
	/*
	 * Mark the tree by growing it from the top until a round adds
	 * nothing: one round per level, and VMM trees are shallow.
	 */
	in[top - p->v] = true;
	sum = top->ticks;
	do {
		grew = false;
		for (i = 0; i < p->n; i++) {
			if (in[i] || (parent = find(p, p->v[i].ppid)) == NULL ||
			    !in[parent - p->v])
				continue;
			in[i] = true;
			grew = true;
			if (__builtin_add_overflow(sum, p->v[i].ticks, &sum))
				sum = UINT64_MAX;
		}
	} while (grew);
	free(in);
	*ticks = sum;
	return 0;
}

/* Read one counter of `tap`'s statistics directory. */
static int
read_counter(const char *root, const char *tap, const char *name,
    uint64_t *out)
{
	char path[PATH_MAX], text[64];
	char *end;
	int r;

	if ((size_t)snprintf(path, sizeof(path),
	    "%s/sys/class/net/%s/statistics/%s", root, tap, name) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if ((r = read_small(path, text, sizeof(text))) < 0)
		return r;
	if (!parse_u64(text, out, &end) || (*end != '\n' && *end != '\0'))
		return -EIO;
	return 0;
}

static uint64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
mvm_idle_sample(const struct mvm_idle_procs *procs, const char *root,
    int32_t pid, uint64_t pid_start, const char *tap,
    enum mvm_idle_guest guest, struct mvm_idle_sample *out)
{
	struct mvm_idle_sample s = { .guest = guest };
	uint64_t ticks, rx, tx;
	long hz;
	int r;

	if (tap != NULL && tap[0] != '\0' && (strlen(tap) > MVM_IFNAME_MAX ||
	    strchr(tap, '/') != NULL || tap[0] == '.'))
		return -EINVAL;
	if ((r = mvm_idle_procs_cpu(procs, pid, pid_start, &ticks)) < 0)
		return r;
	if ((hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	/* Split the division so that ticks * 1e9 cannot overflow. */
	s.cpu_ns = ticks / (uint64_t)hz * 1000000000u +
	    ticks % (uint64_t)hz * 1000000000u / (uint64_t)hz;
	if (tap != NULL && tap[0] != '\0') {
		r = read_counter(root, tap, "rx_bytes", &rx);
		if (r == 0)
			r = read_counter(root, tap, "tx_bytes", &tx);
		if (r == 0) {
			s.net_bytes = rx + tx;
			s.net_known = true;
		} else if (r != -ENOENT)
			return r;
	}
	s.mono_ns = clock_ns(CLOCK_MONOTONIC);
	s.at = (int64_t)(clock_ns(CLOCK_REALTIME) / 1000000000u);
	*out = s;
	return 0;
}

int
mvm_idle_interval(const struct mvm_idle_sample *a,
    const struct mvm_idle_sample *b, struct mvm_idle_interval *out)
{
	struct mvm_idle_interval iv = { .guest = b->guest };
	uint64_t ns;

	if (b->mono_ns <= a->mono_ns)
		return -EINVAL;
	if (b->cpu_ns < a->cpu_ns ||
	    (a->net_known && b->net_known && b->net_bytes < a->net_bytes))
		return -ESTALE;
	ns = b->mono_ns - a->mono_ns;
	iv.ms = ns / 1000000u > 0 ? ns / 1000000u : 1;
	iv.cpu_percent = 100.0 * (double)(b->cpu_ns - a->cpu_ns) / (double)ns;
	if (a->net_known && b->net_known) {
		iv.net_known = true;
		iv.net_bytes = b->net_bytes - a->net_bytes;
	}
	*out = iv;
	return 0;
}

bool
mvm_idle_is_idle(const struct mvm_idle_interval *iv,
    const struct mvm_sleep_policy *p)
{
	if (!(iv->cpu_percent < (double)p->idle_cpu_percent))
		return false;
	if (iv->net_known && iv->net_bytes >= p->idle_net_bytes)
		return false;
	return iv->guest != MVM_IDLE_GUEST_BUSY;
}

int
mvm_idle_describe(const struct mvm_idle_interval *iv,
    const struct mvm_sleep_policy *p, char *buf, size_t len)
{
	static const char *guest[] = {
		[MVM_IDLE_GUEST_UNKNOWN] = "guest status unknown",
		[MVM_IDLE_GUEST_IDLE] = "guest idle",
		[MVM_IDLE_GUEST_BUSY] = "guest busy",
	};
	char net[64];

	if (iv->net_known)
		snprintf(net, sizeof(net), "net %" PRIu64 " B %s %" PRIu32
		    " B", iv->net_bytes, iv->net_bytes < p->idle_net_bytes ?
		    "<" : ">=", p->idle_net_bytes);
	else
		snprintf(net, sizeof(net), "net unknown (no tap)");
	return snprintf(buf, len, "cpu %.1f%% %s %" PRIu32 "%%, %s, %s",
	    iv->cpu_percent, iv->cpu_percent < (double)p->idle_cpu_percent ?
	    "<" : ">=", p->idle_cpu_percent, net,
	    (unsigned)iv->guest <= MVM_IDLE_GUEST_BUSY ? guest[iv->guest] :
	    guest[MVM_IDLE_GUEST_UNKNOWN]);
}

void
mvm_idle_track_init(struct mvm_idle_track *t)
{
	memset(t, 0, sizeof(*t));
}

int
mvm_idle_track_add(struct mvm_idle_track *t,
    const struct mvm_idle_sample *s, const struct mvm_sleep_policy *p)
{
	struct mvm_idle_interval iv;
	int r;

	if (!t->have_last) {
		t->last = *s;
		t->have_last = true;
		return 0;
	}
	if ((r = mvm_idle_interval(&t->last, s, &iv)) == -ESTALE) {
		mvm_idle_track_init(t);
		t->last = *s;
		t->have_last = true;
		return r;
	}
	if (r < 0)
		return r;
	t->iv = iv;
	t->have_iv = true;
	t->idle = mvm_idle_is_idle(&iv, p);
	if (!t->idle)
		t->idle_since = 0;
	else if (t->idle_since == 0)
		t->idle_since = t->last.at;
	t->last = *s;
	return t->idle ? 1 : 0;
}

int64_t
mvm_idle_track_seconds(const struct mvm_idle_track *t, int64_t now)
{
	if (!t->idle || t->idle_since == 0 || now <= t->idle_since)
		return 0;
	return now - t->idle_since;
}
