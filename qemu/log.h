/*
 * log.h: mvm-qemu's human-readable log, one line per API request and per
 * lifecycle event, in Firecracker's spirit:
 *   2024-01-02T03:04:05.678901Z [mvm-qemu:<id>:INFO] message
 * Lines go to standard error until a log file is opened (--log-path or
 * PUT /logger).
 */
#ifndef VMM_LOG_H
#define VMM_LOG_H

enum vmm_log_level {
	VMM_LOG_OFF,
	VMM_LOG_ERROR,
	VMM_LOG_WARN,
	VMM_LOG_INFO,
	VMM_LOG_DEBUG,
	VMM_LOG_TRACE,
};

/*
 * Parse a Firecracker level name (Error, Warning, Info, Debug, Trace, Off;
 * any case). Returns 0, or -EINVAL for another name.
 */
int vmm_log_parse_level(const char *name, enum vmm_log_level *out);

/* Set the instance id printed in each line (copied; at most 64 bytes). */
void vmm_log_set_id(const char *id);

/*
 * Send further lines to `path` (appended, created 0600 if missing; a FIFO
 * works too) at `level`. `path` NULL keeps the current destination and
 * only changes the level. Returns 0 or the negative errno of open(2); on
 * failure the previous destination stays.
 */
int vmm_log_open(const char *path, enum vmm_log_level level);

/* Write one line when `level` is enabled. */
void vmm_log(enum vmm_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Close the log file, if any. */
void vmm_log_close(void);

#endif
