/*
 * qmp.h: a synchronous client for QEMU's machine protocol (QMP).
 *
 * One command at a time: send it, then read lines until its answer,
 * logging any asynchronous events met on the way.
 */
#ifndef VMM_QMP_H
#define VMM_QMP_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

struct vmm_qmp {
	int	 fd;		/* connected socket, -1 when closed */
	char	 buf[65536];	/* bytes read but not yet consumed */
	size_t	 len;
};

/*
 * Connect to the QMP socket at `path`, read the greeting and leave
 * negotiation mode (qmp_capabilities). Retries the connection for up to
 * `timeout_ms`. Returns 0, -ETIMEDOUT, -EPROTO or a socket errno, with `e`.
 */
int vmm_qmp_connect(struct vmm_qmp *q, const char *path, int timeout_ms,
    struct mvm_error *e);

/*
 * Run command `cmd` with arguments `args` (may be NULL; always consumed).
 * When `pass_fd` >= 0 it travels with the command as SCM_RIGHTS (for
 * getfd). On success returns 0 and, if `ret` is not NULL, stores the
 * "return" value (caller frees with cJSON_Delete). QEMU's own error is
 * -EIO with its description in `e`; a dead or silent QEMU (60 s) is
 * -EPIPE or -ETIMEDOUT.
 */
int vmm_qmp_call(struct vmm_qmp *q, const char *cmd, cJSON *args,
    int pass_fd, cJSON **ret, struct mvm_error *e);

/* Close the connection. Safe to call twice. */
void vmm_qmp_close(struct vmm_qmp *q);

#endif
