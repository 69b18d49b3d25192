/*
 * test_tree.c: the /mvm tree served by a real mvmfs, checked at the
 * system-call level: listings, sizes and modes, inode numbers, mkdir and
 * rmdir of objects and their errnos (docs/design.md section 3.4), the names of
 * control files, ownership and other users, and what the kernel caches.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

Test(mvmfs, root_listing_and_views_have_truthful_sizes)
{
	const char *names[] = { "README", "ctl", "desired", "err", "events",
	    "node", "status", "status.json", "tenants" };
	const char *views[] = { "README", "node/info", "node/info.json",
	    "node/stats", "node/metrics", "node/desired", "status" };
	struct stat st;
	size_t i;
	char *text;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(dir_has("", names[i]), "no %s in /", names[i]);
	cr_expect(dir_has("node", "stats.json"));
	for (i = 0; i < sizeof(views) / sizeof(views[0]); i++) {
		cr_assert_eq(stat(P(views[i]), &st), 0);
		text = rd(views[i]);
		cr_assert_not_null(text);
		cr_expect_eq((size_t)st.st_size, strlen(text),
		    "%s: st_size %lld, read %zu bytes", views[i],
		    (long long)st.st_size, strlen(text));
		cr_expect_gt(strlen(text), 0, "%s is empty", views[i]);
		free(text);
	}
	cr_expect(contains("node/info", "node_id="));
	/* The accelerator is probed as mvm-qemu probes it, never unknown. */
	cr_expect(contains("node/info", "accel=tcg") ||
	    contains("node/info", "accel=kvm"));
	cr_expect(contains("node/info", "accel_reason=") &&
	    !contains("node/info", "accel_reason=\n"),
	    "node/info says why it chose its accelerator");
	cr_expect(contains("node/info.json", "\"node_id\""));
	cr_expect(contains("status", "{"));
	cr_assert_eq(stat(P("node/info"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0444);
	cr_assert_eq(stat(P("ctl"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0200);
	cr_assert_eq(stat(P("nosuch"), &st), -1);
	cr_expect_eq(errno, ENOENT);
}

Test(mvmfs, inode_numbers_are_stable)
{
	struct stat a, b;

	make_tree();
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &a), 0);
	/* Drop the kernel's dentries and inodes, forcing forget. */
	sync();
	if (access("/proc/sys/vm/drop_caches", W_OK) == 0) {
		FILE *f = fopen("/proc/sys/vm/drop_caches", "w");

		if (f != NULL) {
			fputs("2\n", f);
			fclose(f);
		}
	}
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &b), 0);
	cr_expect_eq(a.st_ino, b.st_ino);
	cr_assert_eq(stat(P("tenants/acme"), &a), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &b), 0);
	cr_expect_neq(a.st_ino, b.st_ino);
}

Test(mvmfs, mkdir_and_rmdir_objects)
{
	struct stat st;

	make_tree();
	cr_expect(dir_has("tenants", "acme"));
	cr_expect(dir_has("tenants/acme/pools", "web"));
	cr_expect_eq(mkdir(P("tenants/acme"), 0750), -1);
	cr_expect_eq(errno, EEXIST);
	cr_expect_eq(mkdir(P("tenants/Bad_Name"), 0750), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("err", "mkdir EINVAL tenant id"),
	    "node err has no sentence for the bad tenant name");
	cr_expect_eq(mkdir(P("tenants/acme/pools/ctl"), 0750), -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/err", "mkdir EINVAL"));
	cr_expect_eq(mkdir(P("tenants/acme/scratch"), 0750), -1);
	cr_expect_eq(errno, EPERM);

	/* A second tenant gets the next net_id. */
	cr_assert_eq(mkdir(P("tenants/beta"), 0750), 0);
	cr_expect(contains("tenants/acme/config", "net_id=0\n"));
	cr_expect(contains("tenants/beta/config", "net_id=1\n"));
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0750);
	cr_expect_eq(st.st_uid, getuid());

	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	expect_content("tenants/acme/pools/web/instances/vm1/state",
	    "created\n");
	cr_expect(contains("tenants/acme/pools/web/instances/vm1/info",
	    "state=created"));
	cr_expect_eq(rmdir(P("tenants/acme/pools/web")), -1);
	cr_expect_eq(errno, EBUSY);
	cr_expect_eq(rmdir(P("tenants/acme")), -1);
	cr_expect_eq(errno, EBUSY);
	cr_expect_eq(rmdir(P("tenants/acme/pools/web/instances")), -1);
	cr_expect_eq(errno, EPERM);
	cr_assert_eq(rmdir(P("tenants/acme/pools/web/instances/vm1")), 0,
	    "%s", strerror(errno));
	cr_expect(!dir_has("tenants/acme/pools/web/instances", "vm1"));
	cr_assert_eq(rmdir(P("tenants/acme/pools/web")), 0);
	cr_assert_eq(rmdir(P("tenants/acme")), 0);
	cr_expect_eq(stat(P("tenants/acme"), &st), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect(events_have("events", "\"action\":\"tenant.create\""));
	cr_expect(events_have("events", "\"action\":\"instance.create\""));
}

Test(mvmfs, quotas_refuse_with_edquot)
{
	make_tree();
	cr_assert_eq(wr("tenants/acme/config",
	    "max_pools=1\nmax_instances_per_pool=1\n"), 0);
	cr_expect_eq(mkdir(P("tenants/acme/pools/api"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/err", "EDQUOT"));
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/a"), 0750), 0);
	cr_expect_eq(mkdir(P("tenants/acme/pools/web/instances/b"), 0750), -1);
	cr_expect_eq(errno, EDQUOT);
	cr_expect(contains("tenants/acme/pools/web/err", "EDQUOT"));
	cr_expect(contains("tenants/acme/status", "max_pools=1/1"));
}

Test(mvmfs, control_files_keep_their_names)
{
	const char *cfg = "tenants/acme/config";
	char buf[64];
	int fd;

	make_tree();
	cr_expect_eq(unlink(P(cfg)), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(rename(P(cfg), P("tenants/acme/config.old")), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(rmdir(P("tenants/acme/pools")), -1);
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(getxattr(P(cfg), "user.x", buf, sizeof(buf)), -1);
	cr_expect_eq(errno, EOPNOTSUPP);
	cr_expect_eq(setxattr(P(cfg), "user.x", "1", 1, 0), -1);
	cr_expect_eq(errno, EOPNOTSUPP);
	fd = open(P("tenants/acme"), O_TMPFILE | O_RDWR, 0600);
	cr_expect_eq(fd, -1);
	cr_expect(errno == EOPNOTSUPP || errno == EISDIR, "O_TMPFILE: %s",
	    strerror(errno));
	/* Read-only views refuse writers, root included. */
	cr_expect_eq(wr("tenants/acme/status", "x\n"), -EACCES);
	cr_expect_eq(chmod(P(cfg), 0640), 0);
	cr_expect_eq(chmod(P(cfg), 0666), -1);
	cr_expect_eq(errno, EPERM);
	/* Owner and mode round-trip; changing them is refused. */
	cr_expect_eq(chown(P(cfg), getuid(), getgid()), 0);
	cr_expect_eq(chown(P(cfg), 4242, -1), -1);
	cr_expect_eq(errno, EPERM);
}

Test(mvmfs, other_users_are_refused)
{
	pid_t pid;
	int status;

	make_tree();
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int bad = 0;

		if (setresgid(54321, 54321, 54321) != 0 ||
		    setresuid(54321, 54321, 54321) != 0)
			_exit(100);
		/* The kernel refuses by mode (tenant dir 0750, root's). */
		if (open(P("tenants/acme/config"), O_RDONLY) != -1 ||
		    errno != EACCES)
			bad |= 1;
		if (mkdir(P("tenants/other"), 0750) != -1 || errno != EACCES)
			bad |= 2;
		if (open(P("desired"), O_RDONLY) != -1 || errno != EACCES)
			bad |= 4;
		/* Public node views stay readable. */
		if (access(P("node/info"), R_OK) != 0)
			bad |= 8;
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status));
	cr_expect_eq(WEXITSTATUS(status), 0, "refusals failed: mask %d",
	    WEXITSTATUS(status));

	/* Hand the tenant to that uid: it may then act in its tree. */
	cr_assert_eq(wr("tenants/acme/config", "uid=54321\ngid=54321\n"), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		int bad = 0;

		if (setresgid(54321, 54321, 54321) != 0 ||
		    setresuid(54321, 54321, 54321) != 0)
			_exit(100);
		if (mkdir(P("tenants/acme/pools/api"), 0750) != 0)
			bad |= 1;
		if (wr("tenants/acme/pools/api/desired", "running=0\n") != 0)
			bad |= 2;
		_exit(bad);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect_eq(WEXITSTATUS(status), 0, "owner failed: mask %d",
	    WEXITSTATUS(status));
}

/*
 * The kernel caches directory attributes and control file entries; every
 * change must still show at once.
 */
Test(mvmfs, cached_entries_and_attributes_follow_changes)
{
	const char *scratch = "tenants/acme/pools/web/.config.tmp";
	struct stat st, ctl;

	make_tree();
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_assert_eq(st.st_uid, getuid());
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &st), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &ctl), 0);

	/* A new owner shows on the tenant's directories at once. */
	cr_assert_eq(wr("tenants/acme/config", "uid=54321\ngid=54322\n"), 0);
	cr_assert_eq(stat(P("tenants/acme"), &st), 0);
	cr_expect_eq(st.st_uid, 54321);
	cr_expect_eq(st.st_gid, 54322);
	cr_assert_eq(stat(P("tenants/acme/pools/web"), &st), 0);
	cr_expect_eq(st.st_uid, 54321);
	cr_expect_eq(st.st_gid, 54322);

	/* After a rename onto it, the name is the control file again. */
	cr_assert_eq(wr_flags(scratch, "vcpus=2\n", O_CREAT | O_TRUNC), 0);
	cr_assert_eq(rename(P(scratch), P("tenants/acme/pools/web/config")), 0,
	    "%s", strerror(errno));
	cr_assert_eq(stat(P("tenants/acme/pools/web/config"), &st), 0);
	cr_expect_eq(st.st_ino, ctl.st_ino);
	cr_expect_eq(st.st_mode, ctl.st_mode);
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=2\n"));

	/* A removed instance takes its cached control files with it. */
	cr_assert_eq(mkdir(P("tenants/acme/pools/web/instances/vm1"), 0750), 0);
	cr_assert_eq(stat(P("tenants/acme/pools/web/instances/vm1/state"),
	    &st), 0);
	cr_assert_eq(rmdir(P("tenants/acme/pools/web/instances/vm1")), 0,
	    "%s", strerror(errno));
	cr_expect_eq(stat(P("tenants/acme/pools/web/instances/vm1/state"),
	    &st), -1);
	cr_expect_eq(errno, ENOENT);
	cr_expect_eq(stat(P("tenants/acme/pools/web/instances/vm1"), &st), -1);
	cr_expect_eq(errno, ENOENT);
}
