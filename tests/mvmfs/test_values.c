/*
 * test_values.c: an instance's state file through a real mvmfs: its
 * validation, and one instance's whole lifecycle with a real guest booted
 * through mvm-qemu (transitions, Ctrl-C, O_NONBLOCK and poll, a restart of
 * the daemon).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

Test(mvmfs, state_writes_are_validated)
{
	const char *state = "tenants/acme/pools/web/instances/vm1/state";

	make_tree();
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	cr_expect_eq(wr(state, "flying\n"), -EINVAL);
	cr_expect_eq(wr(state, "running now\n"), -EINVAL);
	cr_expect_eq(wr(state, "running\nstopped\n"), -EINVAL);
	cr_expect_eq(wr(state, "destroyed\n"), -EINVAL);
	/* created -> warm is not a transition of the state machine. */
	cr_expect_eq(wr(state, "warm\n"), -EOPNOTSUPP);
	cr_expect_eq(wr(state, ""), 0);
	expect_content(state, "created\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EINVAL \"flying\" is not a target state"));
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EOPNOTSUPP"));
}

/* Wait until the instance's state file reads `want` (at most ~60 s). */
static void
wait_state(const char *want)
{
	const char *state = "tenants/acme/pools/web/instances/vm1/state";
	char *got = NULL;
	int i;

	for (i = 0; i < 600; i++) {
		free(got);
		got = rd(state);
		if (got != NULL && strcmp(got, want) == 0)
			break;
		sleep_ms(100);
	}
	cr_expect_str_eq(got, want);
	free(got);
}

static int
write_running_interrupted(void)
{
	int fd = open(P("tenants/acme/pools/web/instances/vm1/state"),
	    O_WRONLY);

	if (fd < 0)
		return 1;
	if (write(fd, "running\n", 8) != -1 || errno != EINTR)
		return 2;
	close(fd);
	return 0;
}

Test(mvmfs, lifecycle_with_a_real_guest)
{
	const char *dir = "tenants/acme/pools/web/instances/vm1";
	const char *state = "tenants/acme/pools/web/instances/vm1/state";
	char *info;
	const char *steps[] = { "instance.create", "running", "warm",
	    "sleeping", "stopped" };
	struct pollfd pfd;
	size_t i;
	int fd;

	make_tree();
	cr_assert_eq(wr("tenants/acme/pools/web/config",
	    "min_warm_seconds=0\ndrain_timeout_seconds=2\n"), 0);
	cr_assert_eq(mkdir(P(dir), 0750), 0);

	/* Ctrl-C ends the wait, not the boot. */
	cr_expect_eq(interrupted_child(write_running_interrupted), 0);
	wait_state("running\n");
	info = rd("tenants/acme/pools/web/instances/vm1/info");
	cr_assert_not_null(info);
	cr_expect(strstr(info, "op=none") != NULL, "%s", info);
	cr_expect(strstr(info, "pid=0\n") == NULL, "%s", info);
	free(info);
	/* Minimum runtime: refused without force, audited with it. */
	cr_expect_eq(wr(state, "warm\n"), -EAGAIN);
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/err",
	    "write EAGAIN"));

	/* mvmfs dies; the guest does not; a new mvmfs finds it. */
	restart_daemon();
	expect_content(state, "running\n");

	cr_assert_eq(wr(state, "warm force\n"), 0);
	expect_content(state, "warm\n");
	cr_assert_eq(wr(state, "running\n"), 0);
	expect_content(state, "running\n");
	cr_assert_eq(wr(state, "sleeping force\n"), 0, "%s",
	    rd("tenants/acme/pools/web/instances/vm1/err"));
	expect_content(state, "sleeping\n");
	info = rd("tenants/acme/pools/web/instances/vm1/info");
	cr_expect(strstr(info, "pid=0\n") != NULL, "%s", info);
	free(info);

	/*
	 * O_NONBLOCK: the write is accepted at once; the wake goes on, and
	 * poll(2) on a state descriptor opened before says when it is done.
	 */
	pfd.fd = open(P(state), O_RDONLY);
	pfd.events = POLLIN | POLLPRI;
	cr_assert_geq(pfd.fd, 0);
	fd = open(P(state), O_WRONLY | O_NONBLOCK);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "running\n", 8), 8);
	close(fd);
	cr_expect_eq(poll(&pfd, 1, -1), 1);
	close(pfd.fd);
	expect_content(state, "running\n");

	cr_assert_eq(wr(state, "stopped force\n"), 0);
	expect_content(state, "stopped\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/log", "==>"));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		cr_expect(events_have(
		    "tenants/acme/pools/web/instances/vm1/events", steps[i]),
		    "no event %s", steps[i]);
	cr_assert_eq(rmdir(P(dir)), 0, "%s", strerror(errno));
	cr_expect(!dir_has("tenants/acme/pools/web/instances", "vm1"));
}
