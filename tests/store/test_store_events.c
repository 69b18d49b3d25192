/*
 * test_store_events.c: the audit log (events: filters, fields, pruning)
 * and the settings (meta), against a real SQLite file in a temporary
 * directory.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "storetest.h"

STORETEST_SUITE(store);

/* Events. */

static struct mvm_event
event(int64_t time_ms, const char *t, const char *p, const char *i,
    const char *action)
{
	struct mvm_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.time_ms = time_ms;
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", t);
	snprintf(ev.pool, sizeof(ev.pool), "%s", p);
	snprintf(ev.instance, sizeof(ev.instance), "%s", i);
	snprintf(ev.action, sizeof(ev.action), "%s", action);
	snprintf(ev.detail, sizeof(ev.detail), "detail of %s", action);
	return ev;
}

struct seqs {
	int64_t	seq[16];
	int	n;
};

static int
collect_event(const struct mvm_event *ev, void *arg)
{
	struct seqs *s = arg;

	s->seq[s->n++] = ev->seq;
	return 0;
}

/* Events 1..6: two tenants, two pools, node-level ones with no tenant. */
static void
add_events(int64_t seq[6])
{
	struct mvm_event evs[6] = {
		event(1000, "acme", "web", "i1", "created"),
		event(2000, "acme", "web", "i2", "created"),
		event(3000, "acme", "api", "i1", "created"),
		event(4000, "beta", "web", "i1", "created"),
		event(5000, "", "", "", "node-started"),
		event(6000, "acme", "web", "i1", "running"),
	};

	for (int i = 0; i < 6; i++) {
		cr_assert_eq(mvm_store_event_add(st, &evs[i], &seq[i], &err),
		    0);
		if (i > 0)
			cr_assert_gt(seq[i], seq[i - 1]);
	}
}

Test(store, event_list_filters)
{
	struct mvm_event_filter f = { .tenant = "acme" };
	struct seqs s = { .n = 0 };
	int64_t seq[6];

	add_events(seq);
	cr_assert_eq(mvm_store_event_list(st, NULL, collect_event, &s, &err),
	    0);
	cr_assert_eq(s.n, 6);

	s.n = 0;
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 4);
	cr_assert_eq(s.seq[3], seq[5]);

	s.n = 0;
	f = (struct mvm_event_filter){ .tenant = "acme", .pool = "web",
	    .instance = "i1" };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.seq[0], seq[0]);
	cr_assert_eq(s.seq[1], seq[5]);

	s.n = 0;
	f = (struct mvm_event_filter){ .pool = "web", .after_seq = seq[0],
	    .limit = 2 };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_eq(s.seq[0], seq[1]);
	cr_assert_eq(s.seq[1], seq[3]);

	s.n = 0;
	f = (struct mvm_event_filter){ .tenant = "" };
	cr_assert_eq(mvm_store_event_list(st, &f, collect_event, &s, &err), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.seq[0], seq[4]);
}

static int
copy_event(const struct mvm_event *ev, void *arg)
{
	*(struct mvm_event *)arg = *ev;
	return 1;
}

Test(store, event_fields_survive_the_round_trip)
{
	struct mvm_event ev = event(77, "acme", "web", "i1", "slept"), got;

	memset(ev.detail, 'd', MVM_EVENT_DETAIL_MAX);
	ev.detail[MVM_EVENT_DETAIL_MAX] = '\0';
	cr_assert_eq(mvm_store_event_add(st, &ev, &ev.seq, &err), 0);
	memset(&got, 0xa5, sizeof(got));
	cr_assert_eq(mvm_store_event_list(st, NULL, copy_event, &got, &err), 1);
	cr_assert_eq(got.seq, ev.seq);
	cr_assert_eq(got.time_ms, 77);
	cr_assert_str_eq(got.tenant, "acme");
	cr_assert_str_eq(got.pool, "web");
	cr_assert_str_eq(got.instance, "i1");
	cr_assert_str_eq(got.action, "slept");
	cr_assert_str_eq(got.detail, ev.detail);
}

Test(store, events_prune_by_count_and_age)
{
	struct seqs s = { .n = 0 };
	struct mvm_event ev = event(9000, "", "", "", "later");
	int64_t seq[6], next;

	add_events(seq);
	/* Nothing is older than 10 s at time 10 s; no count bound. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 10000, 10000, &err), 0);
	/* Older than 2.5 s at time 5 s: events at 1000 and 2000. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 2500, 5000, &err), 2);
	/* Keep the newest three of the remaining four. */
	cr_assert_eq(mvm_store_events_prune(st, 3, 0, 0, &err), 1);
	cr_assert_eq(mvm_store_event_list(st, NULL, collect_event, &s, &err),
	    0);
	cr_assert_eq(s.n, 3);
	cr_assert_eq(s.seq[0], seq[3]);
	cr_assert_eq(s.seq[2], seq[5]);
	/*
	 * Both bounds at once, each removing one: the age bound the event at
	 * 4000, the count bound (keep 1) the one at 5000.
	 */
	cr_assert_eq(mvm_store_events_prune(st, 1, 1500, 6000, &err), 2);
	/* Sequence numbers never go back, even after pruning everything. */
	cr_assert_eq(mvm_store_events_prune(st, 0, 1, 1000000, &err), 1);
	cr_assert_eq(mvm_store_event_add(st, &ev, &next, &err), 0);
	cr_assert_gt(next, seq[5]);
}

/* Meta. */

Test(store, meta_get_set_and_buffer_size)
{
	char buf[8];

	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    -ENOENT);
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "node-1", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    6);
	cr_assert_str_eq(buf, "node-1");
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "node-1234", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    -ERANGE);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, 0, &err), -ERANGE);
	cr_assert_eq(mvm_store_meta_set(st, "node_id", "", &err), 0);
	cr_assert_eq(mvm_store_meta_get(st, "node_id", buf, sizeof(buf), &err),
	    0);
	cr_assert_str_eq(buf, "");
}
