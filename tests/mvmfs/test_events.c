/*
 * test_events.c: events streams and poll(2) through a real mvmfs: the
 * backlog, non-blocking and blocking reads, a signal ending a blocked
 * read, and polls woken by changes.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

Test(mvmfs, events_backlog_and_nonblocking_read)
{
	char buf[65536];
	ssize_t n;
	int fd;

	make_tree();
	fd = open(P("tenants/acme/events"), O_RDONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0, "%s", strerror(errno));
	buf[n] = '\0';
	cr_expect(strstr(buf, "\"action\":\"tenant.create\"") != NULL, "%s",
	    buf);
	cr_expect(strstr(buf, "\"action\":\"pool.create\"") != NULL, "%s", buf);
	cr_expect_eq(read(fd, buf, sizeof(buf)), -1);
	cr_expect_eq(errno, EAGAIN);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	n = read(fd, buf, sizeof(buf) - 1);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_expect(strstr(buf, "\"instance\":\"vm1\"") != NULL, "%s", buf);
	close(fd);
}

struct blocked_read {
	int	fd;
	char	buf[8192];
	ssize_t	n;
};

static void *
blocked_read_main(void *arg)
{
	struct blocked_read *b = arg;

	b->n = read(b->fd, b->buf, sizeof(b->buf) - 1);
	return NULL;
}

Test(mvmfs, events_block_until_the_next_event)
{
	struct blocked_read b = { .n = -2 };
	char drain[65536];
	pthread_t th;

	make_tree();
	b.fd = open(P("tenants/acme/pools/web/events"), O_RDONLY);
	cr_assert_geq(b.fd, 0);
	/* The backlog comes first, without blocking. */
	cr_assert_gt(read(b.fd, drain, sizeof(drain)), 0);
	cr_assert_eq(pthread_create(&th, NULL, blocked_read_main, &b), 0);
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm2"), 0750), 0);
	pthread_join(th, NULL);
	cr_assert_gt(b.n, 0, "%s", strerror(errno));
	b.buf[b.n] = '\0';
	cr_expect(strstr(b.buf, "\"instance\":\"vm2\"") != NULL, "%s", b.buf);
	close(b.fd);
}

static int
read_events_blocking(void)
{
	char buf[65536];
	int fd = open(P("events"), O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0)
		return 1;
	/* Nothing new: this read blocks until the signal interrupts it. */
	if (read(fd, buf, sizeof(buf)) != -1 || errno != EINTR)
		return 2;
	close(fd);
	return 0;
}

Test(mvmfs, a_signal_interrupts_a_blocked_read)
{
	make_tree();
	cr_expect_eq(interrupted_child(read_events_blocking), 0);
	/* The daemon still serves. */
	cr_expect(contains("README", "mvm"));
}

struct blocked_poll {
	int	fd;
	short	revents;
	int	n;
};

static void *
blocked_poll_main(void *arg)
{
	struct blocked_poll *b = arg;
	struct pollfd pfd = { .fd = b->fd, .events = POLLIN | POLLPRI };

	b->n = poll(&pfd, 1, -1);
	b->revents = pfd.revents;
	return NULL;
}

/* poll(2) on `rel` wakes when mkdir of `made` changes its object. */
static void
expect_poll_wakes(const char *rel, int flags, const char *made)
{
	struct blocked_poll b = { .n = -2 };
	struct pollfd pfd;
	char drain[65536];
	pthread_t th;

	b.fd = open(P(rel), O_RDONLY | flags);
	cr_assert_geq(b.fd, 0, "%s: %s", rel, strerror(errno));
	while (read(b.fd, drain, sizeof(drain)) > 0 && (flags & O_NONBLOCK))
		;
	pfd = (struct pollfd){ .fd = b.fd, .events = POLLIN | POLLPRI };
	cr_expect_eq(poll(&pfd, 1, 0), 0, "%s is ready before any change", rel);
	cr_assert_eq(pthread_create(&th, NULL, blocked_poll_main, &b), 0);
	cr_assert_eq(mkdir(P(made), 0750), 0, "%s: %s", made, strerror(errno));
	pthread_join(th, NULL);
	cr_expect_eq(b.n, 1, "%s: poll returned %d", rel, b.n);
	cr_expect(b.revents & POLLIN, "%s: revents %#x", rel, b.revents);
	close(b.fd);
}

Test(mvmfs, poll_wakes_on_changes)
{
	make_tree();
	expect_poll_wakes("tenants/acme/events", O_NONBLOCK,
	    "tenants/acme/pools/api");
	expect_poll_wakes("tenants/acme/pools/web/status", 0,
	    "tenants/acme/pools/web/instances/vm1");
	expect_poll_wakes("tenants/acme/status", 0, "tenants/acme/pools/db");
}
