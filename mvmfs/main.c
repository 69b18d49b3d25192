/*
 * main.c: mvmfs, the daemon that serves the /mvm tree.
 *
 * mvmfs [-f] [--state-dir DIR] [--run-dir DIR] [--vmm PATH] [--image DIR]
 *       [--concurrency N] [--reconcile-interval MS] [--sample-interval MS]
 *       [--failure-budget N] [--backoff S] [--admin-group NAME] MOUNTPOINT
 *
 * The operators are root and the members of the admin group (NAME,
 * default "mvm", looked up once at start; without such a group, root
 * alone): they alone change a tenant's limits, identity and network, and
 * read the node's files that show every tenant (docs/filesystem.md).
 *
 * It first checks that the VMM program and the image files a boot needs
 * are there, and refuses to start (exit 1, one sentence naming the
 * missing path) when one is not. It opens the store and the engine (whose
 * recovery finds the instances a previous run left), starts the
 * reconciler (pools keep their desired counts) and the sleep policy's
 * sampler, mounts the tree with default_permissions and allow_other, and
 * serves it until unmounted or signalled (SIGINT, SIGTERM, SIGHUP).
 * Running VMs keep running when it exits.
 *
 * Without -f it detaches before it starts any thread (a fork keeps only
 * the thread that calls it), and the parent exits 0 once the tree is
 * mounted, or 1 when the child failed, with the child's message on the
 * parent's stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "kv.h"

/* Worker threads for transitions: VMs changing state at the same time. */
#define TRANSITION_WORKERS	4

struct options {
	bool		 foreground;
	const char	*state_dir;
	const char	*run_dir;
	const char	*vmm;
	const char	*image;
	const char	*mountpoint;
	unsigned	 concurrency;		/* boots and wakes at once */
	unsigned	 reconcile_ms;		/* periodic reconcile pass */
	unsigned	 sample_ms;		/* sleep policy pass; 0: off */
	unsigned	 failure_budget;
	unsigned	 backoff_s;
	const char	*admin_group;
};

static void
usage(void)
{
	fprintf(stderr, "usage: mvmfs [-f] [--state-dir DIR] [--run-dir DIR] "
	    "[--vmm PATH] [--image DIR]\n"
	    "             [--concurrency N] [--reconcile-interval MS] "
	    "[--sample-interval MS]\n"
	    "             [--failure-budget N] [--backoff S] "
	    "[--admin-group NAME] MOUNTPOINT\n");
	exit(2);
}

/* A number for option `name` within lo..hi, or exit with a message. */
static unsigned
number(const char *name, const char *arg, unsigned lo, unsigned hi)
{
	struct mvm_kv kv = { .key = name, .key_len = strlen(name),
	    .value = arg, .value_len = strlen(arg) };
	struct mvm_error e = { 0 };
	uint32_t v;

	if (mvm_kv_u32(&kv, lo, hi, &v, &e) < 0) {
		fprintf(stderr, "mvmfs: --%s\n", e.msg);
		exit(2);
	}
	return v;
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
		{ "concurrency", required_argument, NULL, 'c' },
		{ "reconcile-interval", required_argument, NULL, 'R' },
		{ "sample-interval", required_argument, NULL, 'S' },
		{ "failure-budget", required_argument, NULL, 'b' },
		{ "backoff", required_argument, NULL, 'B' },
		{ "admin-group", required_argument, NULL, 'g' },
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
		case 'c':
			o->concurrency = number("concurrency", optarg, 1, 64);
			break;
		case 'R':
			o->reconcile_ms = number("reconcile-interval", optarg,
			    100, 86400000);
			break;
		case 'S':
			o->sample_ms = number("sample-interval", optarg, 0,
			    86400000);
			break;
		case 'b':
			o->failure_budget = number("failure-budget", optarg,
			    1, 1000);
			break;
		case 'B':
			o->backoff_s = number("backoff", optarg, 1, 3600);
			break;
		case 'g':
			o->admin_group = optarg;
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

/*
 * The mvm-qemu next to this binary, else the first one on PATH (the VMM
 * is run with execv, which searches nothing), else the bare name, which
 * check_vmm_and_image refuses.
 */
static const char *
default_vmm(char *buf, size_t len)
{
	char self[PATH_MAX], *path, *dir, *save = NULL;
	const char *env = getenv("PATH");
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/mvm-qemu", dirname(self));
		if (access(buf, X_OK) == 0)
			return buf;
	}
	if (env != NULL && (path = strdup(env)) != NULL) {
		for (dir = strtok_r(path, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			snprintf(buf, len, "%s/mvm-qemu", dir);
			if (dir[0] == '/' && access(buf, X_OK) == 0) {
				free(path);
				return buf;
			}
		}
		free(path);
	}
	return "mvm-qemu";
}

/*
 * Refuse to start without the VMM program or the image files every boot
 * needs (the initrd is optional), with one sentence naming what is
 * missing: found only at the first boot, the failure would be a timeout
 * far from its cause. Returns 0 or -1.
 */
static int
check_vmm_and_image(const char *vmm, const char *image)
{
	static const char *const files[] = { "vmlinuz", "rootfs.ext4" };
	char path[PATH_MAX];
	const char *why;
	struct stat sb;
	size_t i;

	if (access(vmm, X_OK) != 0) {
		fprintf(stderr, "mvmfs: the VMM program %s cannot be run (%s); "
		    "give its path with --vmm\n", vmm, strerror(errno));
		return -1;
	}
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", image, files[i]);
		why = NULL;
		if (stat(path, &sb) != 0 || access(path, R_OK) != 0)
			why = strerror(errno);
		else if (!S_ISREG(sb.st_mode))
			why = "not a regular file";
		if (why != NULL) {
			fprintf(stderr, "mvmfs: the image file %s cannot be "
			    "read (%s); --image names a directory holding "
			    "vmlinuz, rootfs.ext4 and, optionally, initrd\n",
			    path, why);
			return -1;
		}
	}
	return 0;
}

static int
ensure_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "mvmfs: %s: %s\n", path, strerror(errno));
	return -1;
}

/*
 * What the callbacks of the engine, the reconciler, the sleeper and the
 * secrets module need. The reconciler and the filesystem come after the
 * engine, whose monitor thread may already call back: they are read and
 * written atomically, NULL until set.
 */
struct daemon {
	struct mvmfs_events	*evs;
	struct mvm_reconcile	*rec;
	struct mvmfs_fs		*fs;
	struct mvm_secrets	*sec;
};

/* Hand an event to the hub; an instance's change may need a pass. */
static void
publish(void *arg, const struct mvm_event *ev)
{
	struct daemon *dm = arg;
	struct mvm_reconcile *rec = __atomic_load_n(&dm->rec,
	    __ATOMIC_ACQUIRE);

	mvmfs_events_publish(dm->evs, ev);
	if (rec != NULL && ev->instance[0] != '\0' &&
	    strncmp(ev->action, "instance.", 9) == 0)
		mvm_reconcile_kick(rec, ev->tenant, ev->pool);
}

/* The reconciler created, changed or removed objects. */
static void
changed(void *arg, enum mvm_reconcile_change what, const char *tenant,
    const char *pool)
{
	struct daemon *dm = arg;
	struct mvmfs_fs *fs = __atomic_load_n(&dm->fs, __ATOMIC_ACQUIRE);

	if (what == MVM_RECONCILE_TENANT_PRUNED)
		mvm_secrets_delete(dm->sec, tenant, NULL);
	if (fs != NULL && (what == MVM_RECONCILE_TENANT_PRUNED ||
	    what == MVM_RECONCILE_POOL_PRUNED))
		mvmfs_fs_object_gone(fs, tenant, pool, NULL);
}

/* The sleep policy's sampler: a pass every `ms` until told to stop. */
struct sampler {
	struct mvm_sleeper	*sl;
	unsigned		 ms;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	bool			 stop;
	pthread_t		 thread;
};

static void *
sampler_main(void *arg)
{
	struct sampler *sa = arg;
	struct mvm_error e = { 0 };
	struct timespec ts;

	pthread_mutex_lock(&sa->mu);
	while (!sa->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += sa->ms / 1000;
		ts.tv_nsec += (long)(sa->ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!sa->stop && pthread_cond_timedwait(&sa->cv, &sa->mu,
		    &ts) != ETIMEDOUT)
			continue;
		if (sa->stop)
			break;
		pthread_mutex_unlock(&sa->mu);
		if (mvm_sleeper_pass(sa->sl, NULL, &e) < 0)
			fprintf(stderr, "mvmfs: sleep policy: %s\n", e.msg);
		pthread_mutex_lock(&sa->mu);
	}
	pthread_mutex_unlock(&sa->mu);
	return NULL;
}

static void
sampler_stop(struct sampler *sa)
{
	pthread_mutex_lock(&sa->mu);
	sa->stop = true;
	pthread_cond_signal(&sa->cv);
	pthread_mutex_unlock(&sa->mu);
	pthread_join(sa->thread, NULL);
}

/*
 * Detach from the terminal before any thread exists. The parent waits on
 * a pipe for the child's word and exits with it: 0 once mounted, 1 when
 * the child failed (or died). Returns the pipe's write end in the child.
 */
static int
detach(void)
{
	int fds[2];
	char status = 1;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "mvmfs: pipe: %s\n", strerror(errno));
		exit(1);
	}
	if ((pid = fork()) < 0) {
		fprintf(stderr, "mvmfs: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		if (read(fds[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(fds[0]);
	setsid();
	return fds[1];
}

/* Tell the waiting parent how it went, and let go of the terminal. */
static void
detached(int fd, char status)
{
	int null;

	if (fd < 0)
		return;
	if (status == 0 && (null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(fd, &status, 1) != 1)
		return;
	close(fd);
}

int
main(int argc, char **argv)
{
	struct options o = { .state_dir = "/var/lib/mvm", .run_dir = "/run/mvm",
	    .image = "/var/lib/mvm/images/default", .concurrency = 2,
	    .reconcile_ms = 30000, .sample_ms = 10000, .failure_budget = 3,
	    .backoff_s = 10, .admin_group = "mvm" };
	char *fargv[] = { argv[0], "-o",
	    "default_permissions,allow_other,fsname=mvmfs,subtype=mvmfs",
	    NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
	struct mvm_engine_config cfg;
	struct mvm_reconcile_config rcfg;
	struct mvm_sleeper_config scfg;
	struct mvmfs_fs_deps deps;
	struct mvm_error e = { 0 };
	struct daemon dm = { 0 };
	struct sampler sa = { 0 };
	struct mvm_store *st = NULL;
	struct mvm_engine *eng = NULL;
	struct mvm_reconcile *rec = NULL;
	struct mvm_sleeper *sl = NULL;
	struct mvmfs_errlog *log = NULL;
	struct mvmfs_fs *fs = NULL;
	struct fuse_session *se = NULL;
	struct fuse_loop_config *lc = NULL;
	struct group *admin;
	bool has_admin = false;
	gid_t admin_gid = 0;
	char db[PATH_MAX], vmmbuf[PATH_MAX];
	int rc = 1, mounted = 0, handlers = 0, sampling = 0, waitfd = -1;

	parse_options(argc, argv, &o);
	/* Before any thread: getgrnam is not thread-safe. */
	if ((admin = getgrnam(o.admin_group)) != NULL) {
		has_admin = true;
		admin_gid = admin->gr_gid;
	} else {
		fprintf(stderr, "mvmfs: no group %s: root is the only "
		    "operator\n", o.admin_group);
	}
	if (o.vmm == NULL)
		o.vmm = default_vmm(vmmbuf, sizeof(vmmbuf));
	if (check_vmm_and_image(o.vmm, o.image) < 0)
		return 1;
	if (!o.foreground)
		waitfd = detach();
	if (ensure_dir(o.state_dir) < 0 || ensure_dir(o.run_dir) < 0)
		goto out;
	snprintf(db, sizeof(db), "%s/state.db", o.state_dir);
	if (mvm_store_open(db, &st, &e) < 0) {
		fprintf(stderr, "mvmfs: store %s: %s\n", db, e.msg);
		goto out;
	}
	if ((dm.evs = mvmfs_events_new(st)) == NULL ||
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
	cfg.on_event_arg = &dm;
	if (mvm_engine_open(&cfg, st, &eng, &e) < 0) {
		fprintf(stderr, "mvmfs: engine: %s\n", e.msg);
		goto out;
	}
	if (mvm_secrets_open(o.state_dir, st, &dm.sec, &e) < 0) {
		fprintf(stderr, "mvmfs: secrets: %s\n", e.msg);
		goto out;
	}
	mvm_secrets_on_event(dm.sec, publish, &dm);
	memset(&rcfg, 0, sizeof(rcfg));
	rcfg.st = st;
	rcfg.eng = eng;
	rcfg.concurrency = o.concurrency;
	rcfg.interval_ms = o.reconcile_ms;
	mvm_plan_options_defaults(&rcfg.plan);
	rcfg.plan.failure_budget = o.failure_budget;
	rcfg.plan.backoff_seconds = o.backoff_s;
	rcfg.on_change = changed;
	rcfg.on_change_arg = &dm;
	rcfg.on_event = publish;
	rcfg.on_event_arg = &dm;
	if (mvm_reconcile_open(&rcfg, &rec, &e) < 0) {
		fprintf(stderr, "mvmfs: reconciler: %s\n", e.msg);
		goto out;
	}
	__atomic_store_n(&dm.rec, rec, __ATOMIC_RELEASE);
	memset(&scfg, 0, sizeof(scfg));
	scfg.st = st;
	scfg.eng = eng;
	scfg.on_event = publish;
	scfg.on_event_arg = &dm;
	if (mvm_sleeper_open(&scfg, &sl, &e) < 0) {
		fprintf(stderr, "mvmfs: sleep policy: %s\n", e.msg);
		goto out;
	}
	deps = (struct mvmfs_fs_deps){ .st = st, .eng = eng, .errlog = log,
	    .events = dm.evs, .secrets = dm.sec, .rec = rec, .sleeper = sl,
	    .state_dir = o.state_dir, .vmm_path = o.vmm,
	    .admin_group = has_admin, .admin_gid = admin_gid,
	    .image_dir = o.image };
	if (mvmfs_fs_new(&deps, TRANSITION_WORKERS, &fs) < 0) {
		fprintf(stderr, "mvmfs: cannot start worker threads\n");
		goto out;
	}
	__atomic_store_n(&dm.fs, fs, __ATOMIC_RELEASE);
	if (o.sample_ms > 0) {
		sa.sl = sl;
		sa.ms = o.sample_ms;
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_mutex_init(&sa.mu, NULL);
		pthread_cond_init(&sa.cv, &ca);
		pthread_condattr_destroy(&ca);
		if (pthread_create(&sa.thread, NULL, sampler_main, &sa) != 0) {
			fprintf(stderr, "mvmfs: cannot start the sampler\n");
			goto out;
		}
		sampling = 1;
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
	detached(waitfd, 0);
	waitfd = -1;
	if ((lc = fuse_loop_cfg_create()) == NULL)
		goto out;
	fuse_loop_cfg_set_clone_fd(lc, 0);
	rc = fuse_session_loop_mt(se, lc) == 0 ? 0 : 1;
out:
	detached(waitfd, 1);
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
	if (sampling)
		sampler_stop(&sa);
	/* No step may start or call back into what is freed below. */
	__atomic_store_n(&dm.rec, NULL, __ATOMIC_RELEASE);
	mvm_reconcile_close(rec);
	__atomic_store_n(&dm.fs, NULL, __ATOMIC_RELEASE);
	mvmfs_fs_free(fs);
	mvm_sleeper_close(sl);
	if (eng != NULL)
		mvm_engine_close(eng);
	mvm_secrets_close(dm.sec);
	mvmfs_events_free(dm.evs);
	mvmfs_errlog_free(log);
	mvm_store_close(st);
	fuse_opt_free_args(&args);
	return rc;
}
