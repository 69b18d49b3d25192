/*
 * test_events.c: the event hub and its readers, over a real store in a
 * temporary directory. Events are added to the store and then published,
 * as the engine does.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "events.h"
#include "store.h"
#include "storefix.h"

static struct storefix sf;
static struct mvm_store *st;
static struct mvmfs_events *evs;
static struct mvm_error err;

static void
setup(void)
{
	storefix_setup(&sf, "ev");
	st = sf.st;
	cr_assert_not_null(evs = mvmfs_events_new(st));
}

static void
teardown(void)
{
	mvmfs_events_free(evs);
	storefix_teardown(&sf);
}

TestSuite(events, .init = setup, .fini = teardown);

/* Store an event and, when `publish`, hand it to the hub. */
static int64_t
emit(const char *t, const char *p, const char *i, const char *action,
    const char *detail, bool publish)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = 1764189157123;	/* 2025-11-26T20:32:37.123Z */
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", t);
	snprintf(ev.pool, sizeof(ev.pool), "%s", p);
	snprintf(ev.instance, sizeof(ev.instance), "%s", i);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	snprintf(ev.detail, sizeof(ev.detail), "%s", detail);
	cr_assert_eq(mvm_store_event_add(st, &ev, &ev.seq, &err), 0);
	if (publish)
		mvmfs_events_publish(evs, &ev);
	return ev.seq;
}

/* Read everything there is now, as one string. */
static char *
drain(struct mvmfs_evreader *r, size_t chunk)
{
	size_t len = 0, cap = 1 << 20;
	char *all = malloc(cap);
	ssize_t n;

	while ((n = mvmfs_evreader_read(r, all + len, chunk, &err)) > 0) {
		len += n;
		cr_assert_lt(len + chunk, cap);
	}
	cr_assert_eq(n, -EAGAIN);
	all[len] = '\0';
	return all;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

Test(events, json_line)
{
	struct mvm_event ev;
	char buf[MVMFS_EVENT_LINE_MAX];
	cJSON *o;
	int n;

	memset(&ev, 0, sizeof(ev));
	ev.seq = 42;
	ev.time_ms = 1764189157005;
	strcpy(ev.tenant, "acme");
	strcpy(ev.action, "instance.state");
	strcpy(ev.detail, "say \"hi\"\n\x01");
	n = mvmfs_event_json(&ev, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_null(memchr(buf, '\n', n - 1), "one line");
	cr_assert_not_null(o = cJSON_Parse(buf));
	cr_assert_eq(cJSON_GetObjectItem(o, "seq")->valuedouble, 42);
	cr_assert_str_eq(cJSON_GetObjectItem(o, "time")->valuestring,
	    "2025-11-26T20:32:37.005Z");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "tenant")->valuestring, "acme");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "pool")->valuestring, "");
	cr_assert_str_eq(cJSON_GetObjectItem(o, "detail")->valuestring,
	    "say \"hi\"\n\x01");
	cJSON_Delete(o);
	cr_assert_eq(mvmfs_event_json(&ev, buf, 20), -ENOSPC);
	/* The longest event fits the documented bound. */
	memset(ev.tenant, 1, MVM_ID_MAX);
	memset(ev.pool, 1, MVM_ID_MAX);
	memset(ev.instance, 1, MVM_ID_MAX);
	memset(ev.action, 1, MVM_EVENT_ACTION_MAX);
	memset(ev.detail, 1, MVM_EVENT_DETAIL_MAX);
	cr_assert_gt(mvmfs_event_json(&ev, buf, sizeof(buf)), 0);
}

Test(events, backlog_is_the_last_100_matching)
{
	struct mvmfs_evreader *r;
	char detail[16], *all, *first;
	int i;

	for (i = 1; i <= 150; i++) {
		snprintf(detail, sizeof(detail), "n%d", i);
		emit("acme", "web", "", "pool.x", detail, false);
		emit("other", "", "", "tenant.x", detail, false);
	}
	cr_assert_eq(mvmfs_evreader_open(evs, "acme", NULL, NULL, &r, &err),
	    0);
	cr_assert(mvmfs_evreader_ready(r));
	all = drain(r, 4096);
	cr_assert_eq(count_lines(all), MVMFS_EVENTS_BACKLOG);
	first = strstr(all, "\"detail\":\"n51\"");
	cr_assert(first != NULL && strchr(all, '\n') > first, "%.200s", all);
	cr_assert_null(strstr(all, "other"));
	cr_assert_not_null(strstr(all, "\"detail\":\"n150\"}\n"));
	cr_assert_not(mvmfs_evreader_ready(r));
	free(all);
	mvmfs_evreader_close(r);
}

Test(events, filters_by_object)
{
	struct mvmfs_evreader *node, *t, *p, *i;
	char *all;

	cr_assert_eq(mvmfs_evreader_open(evs, NULL, NULL, NULL, &node, &err),
	    0);
	cr_assert_eq(mvmfs_evreader_open(evs, "acme", NULL, NULL, &t, &err),
	    0);
	cr_assert_eq(mvmfs_evreader_open(evs, "acme", "web", NULL, &p, &err),
	    0);
	cr_assert_eq(mvmfs_evreader_open(evs, "acme", "web", "i-1", &i, &err),
	    0);
	cr_assert_eq(mvmfs_evreader_read(node, (char[64]){ 0 }, 64, &err),
	    -EAGAIN);
	emit("acme", "", "", "tenant.create", "", true);
	emit("acme", "web", "", "pool.create", "", true);
	emit("acme", "web", "i-1", "instance.create", "", true);
	emit("acme", "web", "i-2", "instance.create", "", true);
	emit("acme", "api", "i-1", "instance.create", "", true);
	emit("zeta", "", "", "tenant.create", "", true);
	all = drain(node, 4096);
	cr_assert_eq(count_lines(all), 6);
	free(all);
	all = drain(t, 4096);
	cr_assert_eq(count_lines(all), 5);
	free(all);
	all = drain(p, 4096);
	cr_assert_eq(count_lines(all), 3);
	free(all);
	all = drain(i, 4096);
	cr_assert_eq(count_lines(all), 1);
	cr_assert_not_null(strstr(all, "\"instance\":\"i-1\""));
	cr_assert_not_null(strstr(all, "\"pool\":\"web\""));
	free(all);
	mvmfs_evreader_close(node);
	mvmfs_evreader_close(t);
	mvmfs_evreader_close(p);
	mvmfs_evreader_close(i);
}

Test(events, no_duplicates_between_backlog_and_ring)
{
	struct mvmfs_evreader *r;
	struct mvm_event ev;
	char *all;

	/* Stored before the open, published after it. */
	memset(&ev, 0, sizeof(ev));
	strcpy(ev.action, "late");
	cr_assert_eq(mvm_store_event_add(st, &ev, &ev.seq, &err), 0);
	cr_assert_eq(mvmfs_evreader_open(evs, NULL, NULL, NULL, &r, &err), 0);
	mvmfs_events_publish(evs, &ev);
	emit("", "", "", "next", "", true);
	all = drain(r, 4096);
	cr_assert_eq(count_lines(all), 2, "%s", all);
	cr_assert_lt(strstr(all, "late"), strstr(all, "next"));
	free(all);
	mvmfs_evreader_close(r);
}

Test(events, small_reads_split_long_lines_and_keep_whole_ones)
{
	struct mvmfs_evreader *r;
	char big[MVM_EVENT_DETAIL_MAX + 1], buf[300], *all;
	ssize_t n;

	memset(big, 'd', MVM_EVENT_DETAIL_MAX);
	big[MVM_EVENT_DETAIL_MAX] = '\0';
	cr_assert_eq(mvmfs_evreader_open(evs, NULL, NULL, NULL, &r, &err), 0);
	emit("", "", "", "a", "", true);
	emit("", "", "", "b", "", true);
	/* Two short lines, but only whole lines are given when they fit. */
	n = mvmfs_evreader_read(r, buf, 150, &err);
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n');
	cr_assert_null(memchr(buf, '\n', n - 1));
	n = mvmfs_evreader_read(r, buf, sizeof(buf), &err);
	cr_assert_gt(n, 0);
	cr_assert_eq(buf[n - 1], '\n');
	emit("", "", "", "big", big, true);
	all = drain(r, 100);
	cr_assert_eq(count_lines(all), 1);
	cr_assert_gt(strlen(all), MVM_EVENT_DETAIL_MAX);
	free(all);
	mvmfs_evreader_close(r);
}

static void
wake(void *arg)
{
	(*(int *)arg)++;
}

static void
changed(void *arg, const struct mvm_event *ev)
{
	cr_assert_not_null(ev);
	(*(int *)arg)++;
}

Test(events, waiters_fire_once_on_a_matching_event)
{
	struct mvmfs_evreader *r;
	int woke = 0, woke2 = 0, changes = 0;
	char *all;

	cr_assert_eq(mvmfs_evreader_open(evs, "acme", NULL, NULL, &r, &err),
	    0);
	mvmfs_events_subscribe_changes(evs, changed, &changes);
	cr_assert_eq(mvmfs_evreader_wait(r, wake, &woke), 0);
	cr_assert_eq(mvmfs_evreader_wait(r, wake, &woke2), 0);
	emit("other", "", "", "x", "", true);
	cr_assert_eq(woke, 0);
	cr_assert_eq(changes, 1);
	emit("acme", "", "", "x", "", true);
	cr_assert_eq(woke, 1);
	cr_assert_eq(woke2, 1);
	emit("acme", "", "", "y", "", true);
	cr_assert_eq(woke, 1, "one-shot");
	cr_assert_eq(changes, 3);
	/* Something is there to read: no waiting. */
	cr_assert_eq(mvmfs_evreader_wait(r, wake, &woke), -EALREADY);
	all = drain(r, 4096);
	cr_assert_eq(count_lines(all), 2);
	free(all);
	cr_assert_eq(mvmfs_evreader_wait(r, wake, &woke), 0);
	mvmfs_events_subscribe_changes(evs, NULL, NULL);
	mvmfs_evreader_close(r);	/* drops the waiter uncalled */
	emit("acme", "", "", "z", "", true);
	cr_assert_eq(woke, 1);
}

Test(events, overrun_reader_catches_up_from_the_store)
{
	struct mvmfs_evreader *r;
	char detail[16], want[40], *all, *prev, *at;
	int i;

	cr_assert_eq(mvmfs_evreader_open(evs, NULL, NULL, NULL, &r, &err), 0);
	for (i = 1; i <= 3 * MVMFS_EVENTS_RING; i++) {
		snprintf(detail, sizeof(detail), "n%d", i);
		emit("", "", "", "x", detail, true);
	}
	all = drain(r, 65536);
	cr_assert_eq(count_lines(all), 3 * MVMFS_EVENTS_RING);
	prev = all;
	for (i = 1; i <= 3 * MVMFS_EVENTS_RING; i++) {
		snprintf(want, sizeof(want), "\"detail\":\"n%d\"}", i);
		at = strstr(prev, want);
		cr_assert_not_null(at, "n%d missing or out of order", i);
		prev = at;
	}
	free(all);
	mvmfs_evreader_close(r);
}

struct pub {
	int	count;
};

static void *
publisher(void *arg)
{
	struct pub *p = arg;
	int i;

	for (i = 0; i < p->count; i++)
		emit("acme", "", "", "t", "", true);
	return NULL;
}

static void
wake_flag(void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

Test(events, concurrent_publish_and_read_lose_nothing)
{
	struct mvmfs_evreader *r;
	struct pub p = { .count = 2000 };
	size_t total = 0;
	pthread_t th;
	char buf[4096];
	ssize_t n;
	int flag;

	cr_assert_eq(mvmfs_evreader_open(evs, "acme", NULL, NULL, &r, &err),
	    0);
	pthread_create(&th, NULL, publisher, &p);
	while (total < (size_t)p.count) {
		n = mvmfs_evreader_read(r, buf, sizeof(buf) - 1, &err);
		if (n > 0) {
			buf[n] = '\0';
			total += count_lines(buf);
			continue;
		}
		cr_assert_eq(n, -EAGAIN);
		flag = 0;
		if (mvmfs_evreader_wait(r, wake_flag, &flag) == 0)
			while (!__atomic_load_n(&flag, __ATOMIC_SEQ_CST))
				usleep(100);
	}
	pthread_join(th, NULL);
	cr_assert_eq(total, (size_t)p.count);
	cr_assert_eq(mvmfs_evreader_read(r, buf, sizeof(buf), &err), -EAGAIN);
	mvmfs_evreader_close(r);
}
