/*
 * test_tenancy.c: the tenant boundary (docs/filesystem.md, Access). A
 * tenant's limits, identity and network are the operator's (root, or a
 * member of the admin group): its owner reads them but may not change
 * them. The node files that show every tenant (/mvm/events, /mvm/status,
 * node/desired, node/metrics) are the operator's too; the aggregate
 * counts (node/info, node/stats) stay public, and an owner reads its own
 * tenant's events only.
 *
 * Every check runs as the user it is about: a forked child takes the
 * user's uid, gid and groups, then acts on the real mount.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mount.h"

#define OWNER	54321		/* acme's owner */
#define OTHER	54322		/* a local user with no tenant */
#define BETA	54323		/* beta's owner */

/* The admin group of the admin suite (a group the host has), and its id. */
static char admin_name[64];
static gid_t admin_gid;

/*
 * Run fn() in a child as `uid` with primary group `gid` and, when
 * `extra` is not (gid_t)-1, that supplementary group; return fn's
 * result (a mask of the checks that failed; 100: could not switch).
 */
static int
as_user(uid_t uid, gid_t gid, gid_t extra, int (*fn)(void))
{
	gid_t groups[1] = { extra };
	pid_t pid;
	int status;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		if (setgroups(extra != (gid_t)-1 ? 1 : 0, groups) != 0 ||
		    setresgid(gid, gid, gid) != 0 ||
		    setresuid(uid, uid, uid) != 0)
			_exit(100);
		_exit(fn());
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the child did not exit: %#x", status);
	return WEXITSTATUS(status);
}

/* Open `rel` to read and close it: 0 or -errno. */
static int
can_read(const char *rel)
{
	int fd;

	if ((fd = open(P(rel), O_RDONLY | O_NONBLOCK)) < 0)
		return -errno;
	close(fd);
	return 0;
}

/* One write(2) of `text` to a fresh open of `rel`: the write's -errno. */
static int
write_errno(const char *rel, const char *text)
{
	int fd, rc = 0;

	if ((fd = open(P(rel), O_WRONLY | O_TRUNC)) < 0)
		return -1000 - errno;
	if (write(fd, text, strlen(text)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* mkdir tenants/acme (owned by OWNER) and tenants/beta (by BETA). */
static void
make_tenants(void)
{
	make_tree();
	cr_assert_eq(wr("tenants/acme/config", "uid=54321\ngid=54321\n"), 0);
	cr_assert_eq(mkdir(P("tenants/beta"), 0750), 0, "%s", strerror(errno));
	cr_assert_eq(wr("tenants/beta/config", "uid=54323\ngid=54323\n"), 0);
}

/* ---- the owner and the operator keys ---- */

static char *canonical;		/* acme's config as root read it */

static int
owner_tries_operator_keys(void)
{
	static const char *const tries[] = {
		"max_vcpus=99\n", "max_mem_mib=999999\n", "max_running=99\n",
		"net_id=7\n", "subnet=10.240.7.0/24\n", "uid=0\n", "gid=0\n",
		"pinned=true\n",
	};
	const char *scratch = "tenants/acme/.config.tmp";
	char *err;
	size_t i;
	int bad = 0;

	/* The owner reads its limits. */
	if (can_read("tenants/acme/config") != 0)
		bad |= 1;
	/* Each operator key fails with EPERM from the write. */
	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (write_errno("tenants/acme/config", tries[i]) != -EPERM)
			bad |= 2;
	/* The sentence in err names the key. */
	err = rd("tenants/acme/err");
	if (err == NULL || strstr(err, "max_vcpus") == NULL ||
	    strstr(err, "EPERM") == NULL)
		bad |= 4;
	free(err);
	/* A rename onto config is a commit like any other. */
	if (wr_flags(scratch, "max_vcpus=99\n", O_CREAT | O_TRUNC) != 0 ||
	    rename(P(scratch), P("tenants/acme/config")) != -1 ||
	    errno != EPERM)
		bad |= 8;
	unlink(P(scratch));
	/* Writing back what was read changes nothing, so it succeeds. */
	if (wr("tenants/acme/config", canonical) != 0)
		bad |= 16;
	/* The owner still manages its pools. */
	if (wr("tenants/acme/pools/web/config", "vcpus=2\n") != 0 ||
	    wr("tenants/acme/pools/web/desired", "running=0\n") != 0)
		bad |= 32;
	return bad;
}

TestSuite(tenancy, .init = setup, .fini = teardown, .timeout = 300);

Test(tenancy, owner_may_not_change_operator_keys)
{
	int bad;

	make_tenants();
	cr_assert_not_null(canonical = rd("tenants/acme/config"));
	bad = as_user(OWNER, OWNER, (gid_t)-1, owner_tries_operator_keys);
	cr_expect_eq(bad, 0, "owner checks failed: mask %d", bad);
	/* Nothing changed. */
	expect_content("tenants/acme/config", canonical);
	/* Root may. */
	cr_expect_eq(wr("tenants/acme/config", "max_vcpus=99\n"), 0);
	cr_expect(contains("tenants/acme/config", "max_vcpus=99\n"));
	free(canonical);
}

/* ---- the node files ---- */

static const char *const operator_files[] = {
	"events", "status", "status.json", "node/desired", "node/metrics",
};
#define N_OPERATOR_FILES (sizeof(operator_files) / sizeof(operator_files[0]))

/* A user who is not an operator: refused the node files, not the counts. */
static int
refused_node_files(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < N_OPERATOR_FILES; i++)
		if (can_read(operator_files[i]) != -EACCES)
			bad |= 1;
	if (can_read("node/info") != 0 || can_read("node/stats") != 0 ||
	    can_read("node/info.json") != 0)
		bad |= 2;
	return bad;
}

/* acme's owner: its own events, not beta's, not the node's. */
static int
owner_reads_own_events(void)
{
	int bad = refused_node_files();

	if (can_read("tenants/acme/events") != 0)
		bad |= 4;
	if (can_read("tenants/beta/events") != -EACCES)
		bad |= 8;
	return bad;
}

/* A user with no tenant reads no tenant's events. */
static int
other_reads_no_events(void)
{
	int bad = refused_node_files();

	if (can_read("tenants/acme/events") != -EACCES)
		bad |= 4;
	return bad;
}

/* The operators' files are 0440, root's and group `gid`'s; root reads them. */
static void
expect_operator_files(gid_t gid)
{
	struct stat st;
	size_t i;

	for (i = 0; i < N_OPERATOR_FILES; i++) {
		cr_assert_eq(stat(P(operator_files[i]), &st), 0);
		cr_expect_eq(st.st_mode & 07777, 0440, "%s: mode %o",
		    operator_files[i], st.st_mode & 07777);
		cr_expect_eq(st.st_uid, 0);
		cr_expect_eq(st.st_gid, gid, "%s: gid %u, not %u",
		    operator_files[i], (unsigned)st.st_gid, (unsigned)gid);
		cr_expect_eq(can_read(operator_files[i]), 0, "root reads %s",
		    operator_files[i]);
	}
}

Test(tenancy, node_files_are_the_operators)
{
	struct group *g;
	struct stat st;
	int bad;

	make_tenants();
	/* The default admin group is "mvm"; a host without it has root's. */
	g = getgrnam("mvm");
	expect_operator_files(g != NULL ? g->gr_gid : 0);
	cr_assert_eq(stat(P("node/info"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0444);
	cr_assert_eq(stat(P("node/stats"), &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0444);
	bad = as_user(OWNER, OWNER, (gid_t)-1, owner_reads_own_events);
	cr_expect_eq(bad, 0, "owner checks failed: mask %d", bad);
	bad = as_user(OTHER, OTHER, (gid_t)-1, other_reads_no_events);
	cr_expect_eq(bad, 0, "other user checks failed: mask %d", bad);
}

/* ---- the admin group ---- */

/* mvmfs --admin-group with a group the host has (not root's). */
static void
setup_admin(void)
{
	struct group *g;

	setgrent();
	while ((g = getgrent()) != NULL && g->gr_gid == 0)
		;
	cr_assert_not_null(g, "the host has no group but root's");
	snprintf(admin_name, sizeof(admin_name), "%s", g->gr_name);
	admin_gid = g->gr_gid;
	endgrent();
	mount_admin_group = admin_name;
	setup();
}

/* An admin reads the node files. */
static int
admin_reads_node(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < N_OPERATOR_FILES; i++)
		if (can_read(operator_files[i]) != 0)
			bad |= 1;
	return bad;
}

/* An admin who owns acme may change its limits, and reads the node. */
static int
admin_owner_changes_limits(void)
{
	int bad = admin_reads_node() != 0 ? 2 : 0;

	if (wr("tenants/acme/config", "max_vcpus=99\nnet_id=9\n") != 0)
		bad |= 1;
	return bad;
}

TestSuite(admin, .init = setup_admin, .fini = teardown, .timeout = 300);

Test(admin, admin_group_members_are_operators)
{
	int bad;

	make_tenants();
	expect_operator_files(admin_gid);
	bad = as_user(OWNER, OWNER, admin_gid, admin_owner_changes_limits);
	cr_expect_eq(bad, 0, "admin owner checks failed: mask %d", bad);
	cr_expect(contains("tenants/acme/config", "max_vcpus=99\n"));
	cr_expect(contains("tenants/acme/config", "net_id=9\n"));
	bad = as_user(OTHER, OTHER, admin_gid, admin_reads_node);
	cr_expect_eq(bad, 0, "admin checks failed: mask %d", bad);
	/* Without the group, the same owner is refused again. */
	bad = as_user(OWNER, OWNER, (gid_t)-1, refused_node_files);
	cr_expect_eq(bad, 0, "owner checks failed: mask %d", bad);
}
