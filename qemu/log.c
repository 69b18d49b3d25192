/* log.c: timestamped log lines to stderr or a file. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int log_fd = STDERR_FILENO;
static enum vmm_log_level log_level = VMM_LOG_INFO;
static char log_id[65] = "anonymous-instance";

static const char *const level_names[] = {
	[VMM_LOG_OFF] = "Off",
	[VMM_LOG_ERROR] = "Error",
	[VMM_LOG_WARN] = "Warning",
	[VMM_LOG_INFO] = "Info",
	[VMM_LOG_DEBUG] = "Debug",
	[VMM_LOG_TRACE] = "Trace",
};

int
vmm_log_parse_level(const char *name, enum vmm_log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	    i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum vmm_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void
vmm_log_set_id(const char *id)
{
	snprintf(log_id, sizeof(log_id), "%s", id);
}

int
vmm_log_open(const char *path, enum vmm_log_level level)
{
	int fd;

	if (path != NULL) {
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -errno;
		vmm_log_close();
		log_fd = fd;
	}
	log_level = level;
	return 0;
}

void
vmm_log(enum vmm_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if (level == VMM_LOG_OFF || level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ [mvm-qemu:%s:%s] ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, log_id,
	    level_names[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* A lost log line must not stop the VMM. */
	if (write(log_fd, line, (size_t)n) < 0)
		return;
}

void
vmm_log_close(void)
{
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
}
