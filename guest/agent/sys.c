/* sys.c: clock, RNG, /proc and drain hook access for mvm-guest. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
