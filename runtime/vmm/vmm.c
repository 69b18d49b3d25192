/* vmm.c: launching, identifying and ending VMM processes. */
#include "vmm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

static int
open_append(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

/*
 * The grandchild: point stdio at the console file, close what we inherited
 * and exec the VMM. On failure, write errno to `report` and exit.
 */
static void __attribute__((noreturn))
launch_exec(const struct mvm_vmm_launch *l, int report)
{
	int fd, err;
	const char *argv[] = { l->vmm_path, "--api-sock", l->api_sock,
	    "--id", l->id, "--log-path", l->log_path, NULL };

	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	close(fd);
	fd = open_append(l->console_path);
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
	    dup2(fd, STDERR_FILENO) < 0)
		goto fail;
	close(fd);
	if (l->tmp_dir != NULL && setenv("TMPDIR", l->tmp_dir, 1) < 0)
		goto fail;
	/* Everything but stdio and the CLOEXEC report pipe goes. */
	closefrom(3);
	execv(l->vmm_path, (char *const *)argv);
fail:
	err = errno;
	if (write(report, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int
mvm_vmm_launch(const struct mvm_vmm_launch *l, struct mvm_vmm_proc *out,
    struct mvm_error *e)
{
	int pipefd[2] = { -1, -1 }, status, err = 0, fd, rc;
	pid_t child, vmm = 0;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	/* A log file that cannot be created is reported here, not lost. */
	fd = open_append(l->log_path);
	if (fd < 0)
		return mvm_error_set(e, errno, "cannot create VMM log %s: %s",
		    l->log_path, strerror(errno));
	close(fd);
	if (unlink(l->api_sock) < 0 && errno != ENOENT)
		return mvm_error_set(e, errno, "cannot remove stale socket %s: %s",
		    l->api_sock, strerror(errno));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return mvm_error_set(e, errno, "pipe: %s", strerror(errno));

	child = fork();
	if (child < 0) {
		rc = mvm_error_set(e, errno, "fork: %s", strerror(errno));
		goto out;
	}
	if (child == 0) {
		/* The middle process: new session, fork the VMM, report its pid. */
		close(pipefd[0]);
		setsid();
		vmm = fork();
		if (vmm < 0)
			_exit(1);
		if (vmm == 0)
			launch_exec(l, pipefd[1]);
		n = write(pipefd[1], &vmm, sizeof(vmm));
		_exit(n == sizeof(vmm) ? 0 : 1);
	}

	close(pipefd[1]);
	pipefd[1] = -1;
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	n = read(pipefd[0], &vmm, sizeof(vmm));
	if (n != sizeof(vmm)) {
		rc = mvm_error_set(e, EIO, "could not launch %s", l->vmm_path);
		goto out;
	}
	/* The pipe closes on exec (EOF) or carries the exec errno. */
	n = read(pipefd[0], &err, sizeof(err));
	if (n == sizeof(err)) {
		rc = mvm_error_set(e, err, "cannot execute %s: %s", l->vmm_path,
		    strerror(err));
		goto out;
	}
	out->pid = vmm;
	if (mvm_vmm_start_time(vmm, &out->start_time) < 0) {
		rc = mvm_error_set(e, EIO, "%s (pid %d) exited at once; see %s",
		    l->vmm_path, (int)vmm, l->console_path);
		goto out;
	}
	rc = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}

int
mvm_vmm_start_time(pid_t pid, uint64_t *start_time)
{
	char path[64], buf[1024], *p, state;
	unsigned long long st = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: skip past the last ')'. */
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ')
		return -ESRCH;
	p += 2;
	state = *p;
	if (state == 'Z' || state == 'X')
		return -ESRCH;
	/* Fields from 3 (state) on; the start time is field 22. */
	for (field = 3; field < 22 && p != NULL; field++) {
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	if (p == NULL || sscanf(p, "%llu", &st) != 1)
		return -ESRCH;
	*start_time = st;
	return 0;
}

bool
mvm_vmm_alive(const struct mvm_vmm_proc *p)
{
	uint64_t st;

	if (p->pid <= 0)
		return false;
	return mvm_vmm_start_time(p->pid, &st) == 0 && st == p->start_time;
}

int
mvm_vmm_pidfd(const struct mvm_vmm_proc *p)
{
	int fd;

	if (p->pid <= 0)
		return -ESRCH;
	fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	if (fd < 0)
		return -errno;
	/* Checked after opening, so the fd cannot refer to a recycled pid. */
	if (!mvm_vmm_alive(p)) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int
mvm_vmm_wait_exit(const struct mvm_vmm_proc *p, int timeout_ms)
{
	struct pollfd pfd;
	int fd, rc;

	fd = mvm_vmm_pidfd(p);
	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	pfd.fd = fd;
	pfd.events = POLLIN;
	do {
		rc = poll(&pfd, 1, timeout_ms);
	} while (rc < 0 && errno == EINTR);
	close(fd);
	if (rc > 0)
		return 0;
	return mvm_vmm_alive(p) ? -ETIMEDOUT : 0;
}

int
mvm_vmm_kill(const struct mvm_vmm_proc *p, int timeout_ms)
{
	int fd, rc;

	fd = mvm_vmm_pidfd(p);
	if (fd == -ESRCH)
		return 0;
	if (fd < 0)
		return fd;
	/* Signalling through the pidfd cannot hit a recycled pid. */
	rc = (int)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
	if (rc < 0 && errno != ESRCH)
		return -errno;
	return mvm_vmm_wait_exit(p, timeout_ms);
}

/* Read /proc/<pid>/cmdline and say whether it has `--api-sock <prefix>...`. */
static bool
cmdline_uses_prefix(pid_t pid, const char *prefix)
{
	char path[64], buf[4096];
	size_t plen = strlen(prefix);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *a = buf; a < buf + n; a += strlen(a) + 1) {
		char *next = a + strlen(a) + 1;

		if (strcmp(a, "--api-sock") == 0 && next < buf + n &&
		    strncmp(next, prefix, plen) == 0)
			return true;
	}
	return false;
}

int
mvm_vmm_kill_orphans(const char *run_prefix,
    bool (*known)(pid_t pid, void *arg), void *arg)
{
	struct dirent *d;
	DIR *dir;
	int killed = 0;

	dir = opendir("/proc");
	if (dir == NULL)
		return -errno;
	while ((d = readdir(dir)) != NULL) {
		struct mvm_vmm_proc p = { 0 };
		char *end;
		long pid = strtol(d->d_name, &end, 10);

		if (*end != '\0' || pid <= 1 || pid == getpid())
			continue;
		if (!cmdline_uses_prefix((pid_t)pid, run_prefix))
			continue;
		if (known != NULL && known((pid_t)pid, arg))
			continue;
		p.pid = (pid_t)pid;
		if (mvm_vmm_start_time(p.pid, &p.start_time) < 0)
			continue;
		if (mvm_vmm_kill(&p, 2000) == 0)
			killed++;
	}
	closedir(dir);
	return killed;
}
