/*
 * main.c: mvmfs, the daemon that serves the /mvm tree.
 *
 * mvmfs [-f] [--state-dir DIR] [--run-dir DIR] [--vmm PATH] [--image DIR]
 *       MOUNTPOINT
 *
 * It opens the store and the engine (whose recovery finds the instances a
 * previous run left), mounts the tree with default_permissions and
 * allow_other, and serves it until unmounted or signalled (SIGINT, SIGTERM,
 * SIGHUP). Running VMs keep running when it exits.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

/* Worker threads for transitions: VMs changing state at the same time. */
#define TRANSITION_WORKERS	4

struct options {
	bool		 foreground;
	const char	*state_dir;
	const char	*run_dir;
	const char	*vmm;
	const char	*image;
	const char	*mountpoint;
};

static void
usage(void)
{
	fprintf(stderr, "usage: mvmfs [-f] [--state-dir DIR] [--run-dir DIR] "
	    "[--vmm PATH] [--image DIR] MOUNTPOINT\n");
	exit(2);
}

static int
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "run-dir", required_argument, NULL, 'r' },
		{ "vmm", required_argument, NULL, 'v' },
		{ "image", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			o->foreground = true;
			break;
		case 's':
			o->state_dir = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'v':
			o->vmm = optarg;
			break;
		case 'i':
			o->image = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	o->mountpoint = argv[optind];
	return 0;
}

/* The mvm-qemu next to this binary, else the name for PATH. */
static const char *
default_vmm(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/mvm-qemu", dirname(self));
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return "mvm-qemu";
}

static int
ensure_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "mvmfs: %s: %s\n", path, strerror(errno));
	return -1;
}

/* Hand an event from the engine or the secrets module to the hub. */
static void
publish(void *arg, const struct mvm_event *ev)
{
	mvmfs_events_publish(arg, ev);
}

int
main(int argc, char **argv)
{
	struct options o = { .state_dir = "/var/lib/mvm", .run_dir = "/run/mvm",
	    .image = "/var/lib/mvm/images/default" };
	char *fargv[] = { argv[0], "-o",
	    "default_permissions,allow_other,fsname=mvmfs,subtype=mvmfs",
	    NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct mvm_engine_config cfg;
	struct mvmfs_fs_deps deps;
	struct mvm_error e = { 0 };
	struct mvm_store *st = NULL;
	struct mvm_engine *eng = NULL;
	struct mvmfs_events *evs = NULL;
	struct mvmfs_errlog *log = NULL;
	struct mvmfs_secrets *sec = NULL;
	struct mvmfs_fs *fs = NULL;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *lc = NULL;
	char db[PATH_MAX], vmmbuf[PATH_MAX];
	int rc = 1, mounted = 0, handlers = 0;

	parse_options(argc, argv, &o);
	if (o.vmm == NULL)
		o.vmm = default_vmm(vmmbuf, sizeof(vmmbuf));
	if (ensure_dir(o.state_dir) < 0 || ensure_dir(o.run_dir) < 0)
		goto out;
	snprintf(db, sizeof(db), "%s/state.db", o.state_dir);
	if (mvm_store_open(db, &st, &e) < 0) {
		fprintf(stderr, "mvmfs: store %s: %s\n", db, e.msg);
		goto out;
	}
	if ((evs = mvmfs_events_new(st)) == NULL ||
	    (log = mvmfs_errlog_new()) == NULL) {
		fprintf(stderr, "mvmfs: out of memory\n");
		goto out;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.state_dir = o.state_dir;
	cfg.run_dir = o.run_dir;
	cfg.vmm_path = o.vmm;
	cfg.image_dir = o.image;
	cfg.on_event = publish;
	cfg.on_event_arg = evs;
	if (mvm_engine_open(&cfg, st, &eng, &e) < 0) {
		fprintf(stderr, "mvmfs: engine: %s\n", e.msg);
		goto out;
	}
	if (mvmfs_secrets_open(o.state_dir, st, &sec, &e) < 0) {
		fprintf(stderr, "mvmfs: secrets: %s\n", e.msg);
		goto out;
	}
	mvmfs_secrets_on_event(sec, publish, evs);
	deps = (struct mvmfs_fs_deps){ .st = st, .eng = eng, .errlog = log,
	    .events = evs, .secrets = sec, .state_dir = o.state_dir,
	    .vmm_path = o.vmm };
	if (mvmfs_fs_new(&deps, TRANSITION_WORKERS, &fs) < 0) {
		fprintf(stderr, "mvmfs: cannot start worker threads\n");
		goto out;
	}
	if ((se = fuse_session_new(&args, mvmfs_fs_ops(),
	    sizeof(struct fuse_lowlevel_ops), fs)) == NULL)
		goto out;
	mvmfs_fs_attach(fs, se);
	if (fuse_set_signal_handlers(se) != 0)
		goto out;
	handlers = 1;
	if (fuse_session_mount(se, o.mountpoint) != 0)
		goto out;
	mounted = 1;
	if (fuse_daemonize(o.foreground) != 0)
		goto out;
	if ((lc = fuse_loop_cfg_create()) == NULL)
		goto out;
	fuse_loop_cfg_set_clone_fd(lc, 0);
	rc = fuse_session_loop_mt(se, lc) == 0 ? 0 : 1;
out:
	fuse_loop_cfg_destroy(lc);
	/* Unmounted, the kernel fails what a notification could wait for. */
	if (mounted)
		fuse_session_unmount(se);
	if (fs != NULL)
		mvmfs_fs_attach(fs, NULL);
	if (handlers)
		fuse_remove_signal_handlers(se);
	if (se != NULL)
		fuse_session_destroy(se);
	mvmfs_fs_free(fs);
	if (eng != NULL)
		mvm_engine_close(eng);
	mvmfs_secrets_close(sec);
	mvmfs_events_free(evs);
	mvmfs_errlog_free(log);
	mvm_store_close(st);
	fuse_opt_free_args(&args);
	return rc;
}
