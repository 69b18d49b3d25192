/*
 * mount.h: the fixture of the mvmfs integration tests (test_*.c here but
 * test_node.c): a private /mvm tree served by a real mvmfs process, and
 * the helpers the tests share to act on it at the system-call level.
 *
 * Each test mounts its own tree in a temporary directory (mvmfs -f in a
 * child process, with its own state and run directories) and unmounts it
 * with fusermount3 -u, even on failure. Needs MVMFS, MVM_QEMU and
 * MVM_TEST_IMAGE (set by meson).
 *
 * The helpers are the tests' vocabulary and keep their short names. Paths
 * `rel` are relative to the mount point. Where something a test cannot do
 * without fails, the helper fails the test with a Criterion assertion.
 */
#ifndef MVM_TESTS_MVMFS_MOUNT_H
#define MVM_TESTS_MVMFS_MOUNT_H

#include <stdbool.h>
#include <sys/types.h>

struct fixture {
	char	root[64];	/* the temporary directory */
	char	mnt[128];	/* <root>/mnt, the mount point */
	char	state[128];	/* <root>/state */
	char	run[128];	/* <root>/run */
	pid_t	pid;		/* the mvmfs process; 0: none */
};

/* The fixture of the running test. */
extern struct fixture fx;

/*
 * The group mvmfs is started with as its admin group (--admin-group);
 * NULL, the default: none given, mvmfs looks for "mvm". Set it in a
 * suite's .init before calling setup().
 */
extern const char *mount_admin_group;

/* The Criterion .init and .fini: make the tree and mount it; undo it all. */
void	setup(void);
void	teardown(void);

/* Start mvmfs on fx.mnt and wait until it serves (fails the test if not). */
void	start_daemon(void);

/* Unmount and reap mvmfs, expecting a clean exit (no leak under ASan). */
void	stop_daemon(void);

/*
 * Kill mvmfs (SIGKILL: it cleans nothing up; the guests it started go on),
 * unmount what it left and start a new one on the same state.
 */
void	restart_daemon(void);

/* The absolute path of `rel` (one of four static buffers, reused in turn). */
const char *P(const char *rel);

void	sleep_ms(int ms);

/* True while the mount serves (README can be stat'ed). */
bool	is_mounted(void);

/* Write `text` in one write(2) to a fresh open; 0 or -errno of the step. */
int	wr_flags(const char *rel, const char *text, int flags);

/* wr_flags with O_TRUNC. */
int	wr(const char *rel, const char *text);

/* The whole content of a file (caller frees), or NULL with errno. */
char	*rd(const char *rel);

/* Expect the content of `rel` to be `want`. */
void	expect_content(const char *rel, const char *want);

/* True when `rel` can be read and holds `needle`. */
bool	contains(const char *rel, const char *needle);

/* What an events stream holds now, read without blocking (caller frees). */
char	*rd_events(const char *rel);

/* True when the events stream `rel` holds `needle` now. */
bool	events_have(const char *rel, const char *needle);

/*
 * In a child, run fn() with a SIGUSR1 handler that interrupts system
 * calls; signal it until it exits, and return its exit status.
 */
int	interrupted_child(int (*fn)(void));

/* True when directory `rel` lists `name`. */
bool	dir_has(const char *rel, const char *name);

/* mkdir tenants/acme and its pool web. */
void	make_tree(void);

#endif
