/*
 * test_documents.c: documents through a real mvmfs: config, secrets and
 * the node's desired, buffered per open and committed at close; and the
 * value files that go with them (a pool's desired, ctl).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

Test(mvmfs, config_is_a_document)
{
	const char *cfg = "tenants/acme/pools/web/config";
	char *before, *after;
	int fd;

	make_tree();
	/* A bad line fails its write; shells see that error. */
	cr_expect_eq(wr(cfg, "vcpus=abc\n"), -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "write EINVAL"));
	cr_expect_eq(wr(cfg, "nokey=1\n"), -EINVAL);
	/* Keys given are set, the others kept; canonical read-back. */
	cr_assert_eq(wr(cfg, "vcpus=2\nmem_mib=256\n"), 0);
	cr_expect(contains(cfg, "vcpus=2\n"));
	cr_expect(contains(cfg, "mem_mib=256\n"));
	before = rd(cfg);
	cr_assert_not_null(before);
	cr_assert_eq(wr(cfg, before), 0, "writing back the canonical form");
	after = rd(cfg);
	cr_expect_str_eq(before, after);
	free(after);
	/* Several writes of one open make one document. */
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "vcpus=3\n", 8), 8);
	cr_expect_eq(write(fd, "mem_mib=512\n", 12), 12);
	cr_expect_eq(close(fd), 0);
	cr_expect(contains(cfg, "vcpus=3\nwarm_after_idle_seconds") ||
	    contains(cfg, "vcpus=3\n"));
	cr_expect(contains(cfg, "mem_mib=512\n"));
	/* O_TRUNC alone is not an action, and an empty commit is refused. */
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(close(fd), 0);
	cr_expect(contains(cfg, "mem_mib=512\n"));
	cr_expect_eq(truncate(P(cfg), 0), 0);
	cr_expect(contains(cfg, "mem_mib=512\n"));
	fd = open(P(cfg), O_WRONLY | O_TRUNC);
	cr_assert_geq(fd, 0);
	cr_expect_eq(write(fd, "# nothing\n", 10), 10);
	cr_expect_eq(close(fd), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "commit EINVAL"));
	after = rd(cfg);
	cr_expect(strstr(after, "mem_mib=512\n") != NULL);
	free(after);
	free(before);
}

Test(mvmfs, desired_secrets_and_ctl)
{
	const char *secret = "API_KEY=s3cr=t value\n# comment\nX=\n";
	struct stat st;

	make_tree();
	/* Counts make the reconciler boot: an image that is not there fails. */
	cr_assert_eq(wr("tenants/acme/pools/web/config",
	    "image=mvm-test-no-such-image\n"), 0);
	cr_assert_eq(wr("tenants/acme/pools/web/desired",
	    "running=2 warm=1\n"), 0);
	expect_content("tenants/acme/pools/web/desired",
	    "running=2 warm=1 sleeping=0\n");
	cr_expect_eq(wr("tenants/acme/pools/web/desired", "running=x\n"),
	    -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/status",
	    "desired_running=2"));

	cr_assert_eq(wr("tenants/acme/secrets", secret), 0);
	expect_content("tenants/acme/secrets", secret);
	cr_assert_eq(stat(P("tenants/acme/secrets"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600);
	cr_expect_eq((size_t)st.st_size, strlen(secret));
	cr_expect_eq(wr("tenants/acme/secrets", "lower=1\n"), -EINVAL);
	cr_expect_eq(wr("tenants/acme/ctl", "rotate-secrets\n"), 0);
	expect_content("tenants/acme/secrets", secret);
	cr_expect(contains("tenants/acme/status", "secrets_version=2"));
	cr_expect_eq(wr("tenants/acme/ctl", "explode\n"), -EINVAL);
	cr_expect_eq(wr("tenants/acme/pools/web/ctl", "anything\n"), -EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err",
	    "a pool accepts retry"));
	cr_expect_eq(wr("tenants/acme/pools/web/ctl", "retry\n"), 0);
	cr_expect_eq(wr("ctl", "prune-events\n"), 0);
	/* Several commands in one write: all checked, then all run. */
	cr_expect_eq(wr("ctl", "prune-events\nprune-events"), 0);
	cr_expect_eq(wr("ctl", "prune-events\nbogus\n"), -EINVAL);
	cr_expect(contains("err", "\"bogus\" is not a command"));

	/* The fleet document: refused whole with the JSON path, or kept. */
	cr_expect_eq(wr("desired", "{\"version\": 1}\n"), -EINVAL);
	cr_expect(contains("err", "schema_version"));
	cr_assert_eq(wr("desired", "{\"schema_version\": 1, \"node_id\": "
	    "\"n1\", \"tenants\": []}\n"), 0);
	expect_content("desired", "{\"schema_version\": 1, \"node_id\": "
	    "\"n1\", \"tenants\": []}\n");
	cr_expect(contains("status", "\"converged\""));
	cr_expect(contains("node/desired", "\"acme\""));
}
