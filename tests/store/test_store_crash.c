/*
 * test_store_crash.c: SIGKILL a process in the middle of store writes, then
 * check that the database is intact and that every logical change is there
 * whole or not at all.
 *
 * The child runs a loop of transactions, each touching several rows:
 *   create:  an instance, its "created" event, the counters next_id,
 *            created and txns in meta;
 *   start:   an intent (begin and a first step) and txns;
 *   finish:  the instance's new state, the intent's removal, a "state"
 *            event naming the new state, and txns;
 *   delete:  the instance (its intent goes with it), a "deleted" event, the
 *            deleted and txns counters.
 * The parent kills it after a delay drawn from the seed, reopens the store
 * and checks the invariants that tie those rows together.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "tmpdir.h"

#define SEEDS		10
#define MAX_INSTANCES	120
#define CHILD_ROUNDS	1000000	/* the child is killed long before */
#define AFTER_ROUNDS	200

static const char *const pools[] = { "web", "api" };

static uint64_t
rng_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* Add `delta` to the decimal counter `key` in meta (0 when unset). */
static int
meta_add(struct mvm_store *st, const char *key, long delta, long *now)
{
	char buf[32];
	long v = 0;
	int rc;

	rc = mvm_store_meta_get(st, key, buf, sizeof(buf), NULL);
	if (rc >= 0)
		v = strtol(buf, NULL, 10);
	else if (rc != -ENOENT)
		return rc;
	v += delta;
	snprintf(buf, sizeof(buf), "%ld", v);
	if (now != NULL)
		*now = v;
	return mvm_store_meta_set(st, key, buf, NULL);
}

static long
meta_long(struct mvm_store *st, const char *key)
{
	char buf[32];

	if (mvm_store_meta_get(st, key, buf, sizeof(buf), NULL) < 0)
		return 0;
	return strtol(buf, NULL, 10);
}

static struct mvm_event
event(const struct mvm_instance *in, const char *action, const char *detail)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = 1000;
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", in->tenant);
	snprintf(ev.pool, sizeof(ev.pool), "%s", in->pool);
	snprintf(ev.instance, sizeof(ev.instance), "%s", in->id);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	return ev;
}

static int
setup_tenant(struct mvm_store *st)
{
	struct mvm_tenant t;
	struct mvm_pool p;
	int rc;

	if ((rc = mvm_store_begin(st, NULL)) < 0)
		return rc;
	rc = mvm_store_tenant_get(st, "acme", &t, NULL);
	if (rc == -ENOENT) {
		mvm_tenant_init(&t);
		snprintf(t.id, sizeof(t.id), "acme");
		t.net_id = 3;
		rc = mvm_store_tenant_create(st, &t, NULL);
		for (size_t i = 0; rc == 0 && i < 2; i++) {
			mvm_pool_init(&p);
			snprintf(p.tenant, sizeof(p.tenant), "acme");
			snprintf(p.id, sizeof(p.id), "%s", pools[i]);
			rc = mvm_store_pool_create(st, &p, NULL);
		}
	}
	if (rc < 0) {
		mvm_store_rollback(st);
		return rc;
	}
	return mvm_store_commit(st, NULL);
}

struct ids {
	struct mvm_instance	in[MAX_INSTANCES];
	int			n;
};

static int
collect(const struct mvm_instance *in, void *arg)
{
	struct ids *ids = arg;

	if (ids->n == MAX_INSTANCES)
		return -E2BIG;
	ids->in[ids->n++] = *in;
	return 0;
}

static int
op_create(struct mvm_store *st, uint64_t *rng)
{
	struct mvm_instance in;
	struct mvm_event ev;
	long id;
	int rc;

	memset(&in, 0, sizeof(in));
	if ((rc = meta_add(st, "next_id", 1, &id)) < 0)
		return rc;
	snprintf(in.tenant, sizeof(in.tenant), "acme");
	snprintf(in.pool, sizeof(in.pool), "%s", pools[rng_next(rng) % 2]);
	snprintf(in.id, sizeof(in.id), "i%ld", id - 1);
	in.created_at = id;
	ev = event(&in, "created", "");
	if ((rc = mvm_store_instance_create(st, &in, NULL)) < 0 ||
	    (rc = mvm_store_event_add(st, &ev, NULL, NULL)) < 0)
		return rc;
	return meta_add(st, "created", 1, NULL);
}

/* Start a transition of `in`, or finish the one it has. */
static int
op_transition(struct mvm_store *st, struct mvm_instance *in, uint64_t *rng)
{
	struct mvm_intent it;
	struct mvm_event ev;
	int rc;

	rc = mvm_store_intent_get(st, in->tenant, in->pool, in->id, &it, NULL);
	if (rc == -ENOENT) {
		memset(&it, 0, sizeof(it));
		memcpy(it.tenant, in->tenant, sizeof(it.tenant));
		memcpy(it.pool, in->pool, sizeof(it.pool));
		memcpy(it.instance, in->id, sizeof(it.instance));
		it.from_state = in->state;
		it.to_state = (enum mvm_state)((in->state + 1 +
		    rng_next(rng) % (MVM_STATE_DESTROYED - 1)) %
		    MVM_STATE_DESTROYED);
		it.op = MVM_OP_STARTING;
		if ((rc = mvm_store_intent_begin(st, &it, NULL)) < 0)
			return rc;
		return mvm_store_intent_step(st, it.id, 1, "prepared", NULL);
	}
	if (rc < 0)
		return rc;
	in->state = it.to_state;
	ev = event(in, "state", mvm_state_name(in->state));
	if ((rc = mvm_store_instance_update(st, in, NULL)) < 0 ||
	    (rc = mvm_store_intent_end(st, it.id, NULL)) < 0)
		return rc;
	return mvm_store_event_add(st, &ev, NULL, NULL);
}

static int
op_delete(struct mvm_store *st, const struct mvm_instance *in)
{
	struct mvm_event ev = event(in, "deleted", "");
	int rc;

	if ((rc = mvm_store_instance_delete(st, in->tenant, in->pool, in->id,
	    NULL)) < 0 || (rc = mvm_store_event_add(st, &ev, NULL, NULL)) < 0)
		return rc;
	return meta_add(st, "deleted", 1, NULL);
}

/* One logical change in one transaction. */
static int
churn_once(struct mvm_store *st, uint64_t *rng)
{
	static struct ids ids;
	struct mvm_instance *in;
	uint64_t r = rng_next(rng) % 100;
	int rc;

	ids.n = 0;
	if ((rc = mvm_store_instance_list(st, "acme", NULL, collect, &ids,
	    NULL)) < 0)
		return rc;
	if ((rc = mvm_store_begin(st, NULL)) < 0)
		return rc;
	in = ids.n > 0 ? &ids.in[rng_next(rng) % (uint64_t)ids.n] : NULL;
	if (in == NULL || (r < 35 && ids.n < MAX_INSTANCES - 1))
		rc = op_create(st, rng);
	else if (r < 85)
		rc = op_transition(st, in, rng);
	else
		rc = op_delete(st, in);
	if (rc == 0)
		rc = meta_add(st, "txns", 1, NULL);
	if (rc < 0) {
		mvm_store_rollback(st);
		return rc;
	}
	return mvm_store_commit(st, NULL);
}

static int
churn(const char *path, uint64_t seed, int rounds)
{
	struct mvm_store *st;
	struct mvm_error e;
	uint64_t rng = seed | 1;
	int rc;

	if ((rc = mvm_store_open(path, &st, &e)) < 0) {
		fprintf(stderr, "open: %s\n", e.msg);
		return rc;
	}
	rc = setup_tenant(st);
	for (int i = 0; rc == 0 && i < rounds; i++)
		rc = churn_once(st, &rng);
	mvm_store_close(st);
	return rc;
}

/* What the event log says about instance i<n>. */
struct history {
	int	created;
	int	deleted;
	int	states;
	char	last_state[16];
};

struct log {
	struct history	*h;
	long		 n;
	long		 created;
	long		 deleted;
	int		 bad;
};

static int
tally(const struct mvm_event *ev, void *arg)
{
	struct log *log = arg;
	struct history *h;
	long n;

	if (ev->instance[0] != 'i' ||
	    (n = strtol(ev->instance + 1, NULL, 10)) < 0 || n >= log->n) {
		log->bad++;
		return 0;
	}
	h = &log->h[n];
	if (strcmp(ev->action, "created") == 0) {
		h->created++;
		log->created++;
	} else if (strcmp(ev->action, "deleted") == 0) {
		h->deleted++;
		log->deleted++;
	} else if (strcmp(ev->action, "state") == 0) {
		h->states++;
		snprintf(h->last_state, sizeof(h->last_state), "%.15s",
		    ev->detail);
	} else
		log->bad++;
	return 0;
}

struct check {
	struct log	*log;
	int		 live;
};

static int
check_instance(const struct mvm_instance *in, void *arg)
{
	struct check *c = arg;
	struct history *h;
	long n = strtol(in->id + 1, NULL, 10);

	cr_assert(n >= 0 && n < c->log->n, "instance %s beyond next_id",
	    in->id);
	h = &c->log->h[n];
	cr_assert_eq(h->created, 1, "instance %s has no created event", in->id);
	cr_assert_eq(h->deleted, 0, "instance %s outlived its deletion",
	    in->id);
	cr_assert_eq(in->revision, (uint64_t)h->states + 1,
	    "instance %s: revision %lu but %d state events", in->id,
	    (unsigned long)in->revision, h->states);
	if (h->states > 0)
		cr_assert_str_eq(mvm_state_name(in->state), h->last_state);
	else
		cr_assert_eq(in->state, MVM_STATE_CREATED);
	c->live++;
	return 0;
}

static int
check_intent(const struct mvm_intent *it, void *arg)
{
	struct mvm_instance *ins = arg;
	int i;

	for (i = 0; ins[i].id[0] != '\0'; i++)
		if (strcmp(ins[i].pool, it->pool) == 0 &&
		    strcmp(ins[i].id, it->instance) == 0)
			break;
	cr_assert_neq(ins[i].id[0], '\0', "intent %ld without its instance",
	    (long)it->id);
	cr_assert_eq(it->from_state, ins[i].state);
	cr_assert_eq(it->step, 1);
	return 0;
}

static int
copy_instance(const struct mvm_instance *in, void *arg)
{
	struct mvm_instance **cursor = arg;

	*(*cursor)++ = *in;
	return 0;
}

/* Raw SQLite checks of the file's structure. */
static void
check_file(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s,
	    NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
	cr_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
	sqlite3_finalize(s);
	cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s,
	    NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(s), SQLITE_DONE,
	    "a row breaks a foreign key");
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* Check every invariant; return the number of committed transactions. */
static long
verify(const char *path)
{
	static struct mvm_instance ins[MAX_INSTANCES + 1];
	struct mvm_instance *cursor = ins;
	struct mvm_store *st;
	struct mvm_error e;
	struct log log = { .n = 0 };
	struct check c = { .log = &log };
	uint8_t used[32];
	int bits = 0, count;
	long txns;

	cr_assert_eq(mvm_store_open(path, &st, &e), 0, "%s", e.msg);
	check_file(path);
	cr_assert_eq(mvm_store_schema_version(st), MVM_STORE_SCHEMA_VERSION);
	txns = meta_long(st, "txns");
	if (mvm_store_tenant_count(st, NULL) == 0) {
		/* Killed before its first transaction. */
		cr_assert_eq(txns, 0);
		mvm_store_close(st);
		return 0;
	}

	log.n = meta_long(st, "next_id");
	cr_assert_not_null(log.h = calloc((size_t)log.n + 1, sizeof(*log.h)));
	cr_assert_eq(mvm_store_event_list(st, NULL, tally, &log, &e), 0);
	cr_assert_eq(log.bad, 0);
	cr_assert_eq(log.created, meta_long(st, "created"));
	cr_assert_eq(log.created, log.n);
	cr_assert_eq(log.deleted, meta_long(st, "deleted"));
	for (long n = 0; n < log.n; n++) {
		cr_assert_eq(log.h[n].created, 1, "i%ld: created %d times", n,
		    log.h[n].created);
		cr_assert_leq(log.h[n].deleted, 1);
	}

	cr_assert_eq(mvm_store_instance_list(st, NULL, NULL, check_instance,
	    &c, &e), 0);
	count = mvm_store_instance_count(st, "acme", NULL, &e);
	cr_assert_eq(count, c.live);
	cr_assert_eq(count, log.created - log.deleted);
	cr_assert_geq(txns, log.created + log.deleted);

	/* Offsets are unique: one bit per instance. */
	cr_assert_eq(mvm_store_used_offsets(st, "acme", used, &e), 0);
	for (int i = 0; i < 256; i++)
		bits += !!(used[i / 8] & (1u << (i % 8)));
	cr_assert_eq(bits, count);

	/* Every intent has its instance and starts from its state. */
	cr_assert_eq(mvm_store_instance_list(st, NULL, NULL, copy_instance,
	    &cursor, &e), 0);
	cursor->id[0] = '\0';
	cr_assert_eq(mvm_store_intent_list(st, check_intent, ins, &e), 0);

	free(log.h);
	mvm_store_close(st);
	return txns;
}

Test(store_crash, sigkill_at_random_moments_keeps_the_store_whole,
    .timeout = 120)
{
	char dir[64], path[128];
	int status;
	pid_t pid;

	for (uint64_t seed = 1; seed <= SEEDS; seed++) {
		uint64_t r = seed * 0x9e3779b97f4a7c15ULL;
		useconds_t delay = (useconds_t)(3000 + rng_next(&r) % 300000);
		long before, after;

		tmpdir_make(dir, sizeof(dir), "crash");
		snprintf(path, sizeof(path), "%s/state.db", dir);

		fflush(NULL);
		cr_assert_geq(pid = fork(), 0);
		if (pid == 0)
			_exit(churn(path, seed, CHILD_ROUNDS) == 0 ? 0 : 1);
		usleep(delay);
		kill(pid, SIGKILL);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0), "the child failed on its own");

		before = verify(path);
		/* The store stays usable: the loop runs on after reopen. */
		cr_assert_eq(churn(path, seed + 1000, AFTER_ROUNDS), 0);
		after = verify(path);
		cr_assert_eq(after, before + AFTER_ROUNDS);
		printf("seed %2llu: killed after %3u ms with %5ld transactions "
		    "committed; %ld after reopen\n", (unsigned long long)seed,
		    delay / 1000, before, after);

		tmpdir_remove(dir);
	}
}
