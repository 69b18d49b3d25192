/*
 * test_scratch.c: scratch files through a real mvmfs: create, attributes,
 * caps, unlink, rename onto a control file as a commit, and real tools
 * (sed -i, Python's write-then-replace).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

TestSuite(mvmfs, .init = setup, .fini = teardown, .timeout = 300);

/* Run a shell command in the mount point. */
static int
run(const char *cmd)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "cd '%s' && %s", fx.mnt, cmd);
	return system(buf);
}

Test(mvmfs, scratch_files_and_rename_commit)
{
	const char *scratch = "tenants/acme/pools/web/.config.tmp";
	struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;
	char *text;
	int fd;

	make_tree();
	/* A scratch file is an ordinary, inert file of its creator. */
	fd = open(P(scratch), O_WRONLY | O_CREAT | O_EXCL, 0600);
	cr_assert_geq(fd, 0, "%s", strerror(errno));
	cr_expect_eq(write(fd, "vcpus=4\n", 8), 8);
	cr_expect_eq(fsync(fd), 0);
	cr_expect_eq(fchmod(fd, 0640), 0);
	cr_expect_eq(fchown(fd, getuid(), getgid()), 0);
	cr_expect_eq(futimens(fd, times), 0);
	cr_expect_eq(close(fd), 0);
	cr_expect_eq(open(P(scratch), O_WRONLY | O_CREAT | O_EXCL, 0600), -1);
	cr_expect_eq(errno, EEXIST);
	cr_assert_eq(stat(P(scratch), &st), 0);
	cr_expect_eq(st.st_size, 8);
	cr_expect_eq(st.st_mode & 07777, 0640);
	cr_expect_eq(st.st_mtime, 1000000000);
	cr_expect(dir_has("tenants/acme/pools/web", ".config.tmp"));
	expect_content(scratch, "vcpus=4\n");
	cr_expect(!contains("tenants/acme/pools/web/config", "vcpus=4\n"));
	/* Renaming it onto the control file is the commit. */
	cr_assert_eq(rename(P(scratch), P("tenants/acme/pools/web/config")), 0,
	    "%s", strerror(errno));
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=4\n"));
	cr_expect_eq(stat(P(scratch), &st), -1);
	cr_expect_eq(errno, ENOENT);
	/* A bad document is refused by rename and recorded. */
	cr_assert_eq(wr_flags(scratch, "vcpus=99\n", O_CREAT | O_TRUNC), 0);
	cr_expect_eq(rename(P(scratch), P("tenants/acme/pools/web/config")),
	    -1);
	cr_expect_eq(errno, EINVAL);
	cr_expect(contains("tenants/acme/pools/web/err", "rename EINVAL"));
	/* Scratch to scratch, and unlink. */
	cr_expect_eq(rename(P(scratch), P("tenants/acme/pools/web/other")), 0);
	cr_expect_eq(unlink(P("tenants/acme/pools/web/other")), 0);
	cr_expect(!dir_has("tenants/acme/pools/web", "other"));
	/* Not in listing directories, and never onto views. */
	cr_expect_eq(open(P("tenants/x"), O_WRONLY | O_CREAT, 0600), -1);
	cr_expect_eq(errno, EPERM);
	cr_assert_eq(wr_flags("tenants/acme/s", "x", O_CREAT), 0);
	cr_expect_eq(rename(P("tenants/acme/s"), P("tenants/acme/status")), -1);
	cr_expect_eq(errno, EPERM);

	/* Scratch files are capped in size and number. */
	{
		static char big[4 * 1024 * 1024 + 1];
		char name[64];
		int i, n;

		fd = open(P("tenants/acme/big"), O_WRONLY | O_CREAT, 0600);
		cr_assert_geq(fd, 0);
		/*
		 * The kernel splits a large write and returns what fitted;
		 * writing on, the byte past 4 MiB fails.
		 */
		cr_expect_lt(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
		for (i = 0; i < 4096 && write(fd, "x", 1) == 1; i++)
			;
		cr_expect_eq(errno, EFBIG);
		cr_assert_eq(fstat(fd, &st), 0);
		cr_expect_eq(st.st_size, 4 * 1024 * 1024);
		close(fd);
		cr_expect_eq(unlink(P("tenants/acme/big")), 0);
		for (i = n = 0; i < 70; i++) {
			snprintf(name, sizeof(name), "tenants/acme/pools/web/"
			    "f%d", i);
			fd = open(P(name), O_WRONLY | O_CREAT, 0600);
			if (fd < 0) {
				cr_expect_eq(errno, EDQUOT);
				break;
			}
			close(fd);
			n++;
		}
		cr_expect_eq(n, 64, "%d scratch files were allowed", n);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "tenants/acme/pools/web/"
			    "f%d", i);
			cr_expect_eq(unlink(P(name)), 0);
		}
	}

	/* Real tools: sed -i and Python's write-then-replace. */
	cr_assert_eq(run("sed -i 's/^vcpus=.*/vcpus=2/' "
	    "tenants/acme/pools/web/config"), 0);
	cr_expect(contains("tenants/acme/pools/web/config", "vcpus=2\n"));
	cr_assert_eq(run("python3 -c 'import os,tempfile; "
	    "fd,p=tempfile.mkstemp(dir=\"tenants/acme\"); "
	    "os.write(fd,b\"TOKEN=abc\\n\"); os.fsync(fd); os.close(fd); "
	    "os.replace(p,\"tenants/acme/secrets\")'"), 0);
	text = rd("tenants/acme/secrets");
	cr_expect_str_eq(text, "TOKEN=abc\n");
	free(text);
}
