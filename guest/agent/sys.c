/* sys.c: clock, RNG, /proc and drain hook access for mvm-guest. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/random.h>

/* Read up to `size - 1` bytes of file `path` into `buf`, NUL-terminated. */
static int
read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc == 0)
		buf[n] = '\0';
	return rc;
}

int
mvm_sys_boot_id(char out[MVM_SYS_BOOT_ID_LEN + 1])
{
	char buf[64];
	int rc;

	rc = read_text("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));
	if (rc != 0)
		return rc;
	if (strlen(buf) < MVM_SYS_BOOT_ID_LEN)
		return -EINVAL;
	memcpy(out, buf, MVM_SYS_BOOT_ID_LEN);
	out[MVM_SYS_BOOT_ID_LEN] = '\0';
	return 0;
}

uint64_t
mvm_sys_uptime_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
mvm_sys_cpu(struct mvm_agent_cpu *out)
{
	char buf[512];
	int rc;

	rc = read_text("/proc/stat", buf, sizeof(buf));
	if (rc != 0)
		return rc;
	return mvm_agent_cpu_parse(buf, out);
}

bool
mvm_sys_busy_file(void)
{
	return access(MVM_SYS_BUSY_FILE, F_OK) == 0;
}

int
mvm_sys_drain(uint64_t timeout_ms, char *reason, size_t reasonsz)
{
	static const char *const hooks[] = { MVM_SYS_DRAIN_RUN,
	    MVM_SYS_DRAIN_ETC };
	const struct timespec tick = { 0, 10 * 1000 * 1000 };
	const char *hook = NULL;
	uint64_t waited = 0;
	int status;
	pid_t pid, r;

	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++)
		if (access(hooks[i], X_OK) == 0) {
			hook = hooks[i];
			break;
		}
	if (hook == NULL)
		return 1;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		/* Its own process group, so a timeout kills its children. */
		setpgid(0, 0);
		execl(hook, hook, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (waited >= timeout_ms) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			snprintf(reason, reasonsz, "timeout");
			return 0;
		}
		nanosleep(&tick, NULL);
		waited += 10;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 1;
	if (WIFEXITED(status))
		snprintf(reason, reasonsz, "%s exited with status %d", hook,
		    WEXITSTATUS(status));
	else
		snprintf(reason, reasonsz, "%s was killed by signal %d", hook,
		    WTERMSIG(status));
	return 0;
}

int
mvm_sys_wake(const uint8_t *seed, size_t len, int64_t time_ns,
    int64_t *now_ns)
{
	/* The ioctl's argument: a header and its flexible array of bytes. */
	_Alignas(struct rand_pool_info) uint8_t
	    pool[sizeof(struct rand_pool_info) + MVM_AGENT_SEED_MAX];
	struct rand_pool_info *info = (struct rand_pool_info *)pool;
	struct timespec ts;
	int fd, rc = 0;

	if (len > MVM_AGENT_SEED_MAX)
		return -EINVAL;
	info->entropy_count = (int)(len * 8);
	info->buf_size = (int)len;
	memcpy(pool + sizeof(*info), seed, len);
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (ioctl(fd, RNDADDENTROPY, info) != 0)
		rc = -errno;
	close(fd);
	if (rc != 0)
		goto out;

	ts.tv_sec = time_ns / 1000000000;
	ts.tv_nsec = time_ns % 1000000000;
	if (clock_settime(CLOCK_REALTIME, &ts) != 0) {
		rc = -errno;
		goto out;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	*now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
out:
	explicit_bzero(&pool, sizeof(pool));
	return rc;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* In a forked child: make `from` descriptor `to`, kept across exec. */
static void
child_fd(int from, int to)
{
	if (from == to)
		fcntl(to, F_SETFD, 0);
	else
		dup2(from, to);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read once from the ready pipe `*fd` into `o`; at end of file (or an
 * error) close it and set *fd to -1.
 */
static void
collect(int *fd, struct mvm_agent_output *o)
{
	uint8_t buf[16384];
	ssize_t n;

	n = read(*fd, buf, sizeof(buf));
	if (n > 0)
		mvm_agent_output_add(o, buf, (size_t)n);
	else if (n == 0 || (errno != EINTR && errno != EAGAIN))
		close_fd(fd);
}

int
mvm_sys_exec(const struct mvm_agent_req *req, struct mvm_agent_exec *x,
    struct mvm_error *e)
{
	static char *env[] = { "PATH=" MVM_SYS_EXEC_PATH, "HOME=/root", NULL };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
	int report[2] = { -1, -1 }, pidfd = -1, status = 0, cerr, rc;
	struct pollfd p[4];
	size_t off = 0;
	bool reaped = false;
	int64_t left, deadline;
	ssize_t n;
	pid_t pid;

	x->exit_code = -1;
	x->signal = 0;
	x->timed_out = false;
	x->out.len = x->err.len = 0;
	x->out.truncated = x->err.truncated = false;
	/* Without stdin text the program reads /dev/null. */
	if (req->stdin_buf != NULL)
		rc = pipe2(in, O_CLOEXEC);
	else if ((in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		rc = -1;
	else
		rc = 0;
	if (rc != 0 || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0 || pipe2(report, O_CLOEXEC) != 0) {
		rc = mvm_error_set(e, errno, "Exec cannot make pipes: %s",
		    strerror(errno));
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = mvm_error_set(e, errno, "Exec cannot fork: %s",
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* Its own process group, so a timeout kills its children. */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);	/* the agent ignores it */
		child_fd(in[0], 0);
		child_fd(out[1], 1);
		child_fd(err[1], 2);
		if (chdir("/") == 0) {
			environ = env;
			execvp(req->argv[0], req->argv);
		}
		/* The report pipe closes on a successful exec; this says why
		 * there was none. */
		cerr = errno;
		if (write(report[1], &cerr, sizeof(cerr)) < 0)
			_exit(126);
		_exit(127);
	}
	setpgid(pid, pid);
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	close_fd(&report[1]);
	while ((n = read(report[0], &cerr, sizeof(cerr))) < 0 && errno == EINTR)
		;
	if (n == sizeof(cerr)) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		rc = mvm_error_set(e, cerr, "Exec cannot run \"%.200s\": %s",
		    req->argv[0], strerror(cerr));
		goto out;
	}
	if ((pidfd = pidfd_open(pid, 0)) < 0) {
		rc = mvm_error_set(e, errno, "Exec cannot watch process %d: "
		    "%s", (int)pid, strerror(errno));
		kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	if (in[1] >= 0)
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	if (req->stdin_len == 0)
		close_fd(&in[1]);

	/* Feed stdin and drain both outputs together, so that a program
	 * blocked writing one stream never stalls the others. */
	rc = 0;
	deadline = mono_ms() + (int64_t)req->exec_timeout_ms;
	p[3] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	while (out[0] >= 0 || err[0] >= 0 || !reaped) {
		p[0] = (struct pollfd){ .fd = out[0], .events = POLLIN };
		p[1] = (struct pollfd){ .fd = err[0], .events = POLLIN };
		p[2] = (struct pollfd){ .fd = in[1], .events = POLLOUT };
		left = deadline - mono_ms();
		if (left <= 0) {
			kill(-pid, SIGKILL);
			x->timed_out = true;
			break;
		}
		if (poll(p, 4, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			rc = mvm_error_set(e, errno, "Exec poll: %s",
			    strerror(errno));
			kill(-pid, SIGKILL);
			break;
		}
		if (p[0].revents != 0)
			collect(&out[0], &x->out);
		if (p[1].revents != 0)
			collect(&err[0], &x->err);
		if (p[2].revents != 0) {
			n = write(in[1], req->stdin_buf + off,
			    req->stdin_len - off);
			if (n > 0)
				off += (size_t)n;
			if (off == req->stdin_len ||
			    (n < 0 && errno != EAGAIN && errno != EINTR))
				close_fd(&in[1]);
		}
		if (p[3].revents != 0 &&
		    waitpid(pid, &status, WNOHANG) == pid) {
			reaped = true;
			p[3].fd = -1;
		}
	}
	while (!reaped && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status)) {
		x->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		x->exit_code = -1;
		x->signal = WTERMSIG(status);
	}
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	close_fd(&report[0]);
	close_fd(&report[1]);
	close_fd(&pidfd);
	return rc;
}
