/* qmp.c: line-oriented QMP over a unix socket. */
#include "qmp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vmconfig.h"

#define REPLY_TIMEOUT_MS 60000

/* Read one JSON line into *out. Returns 0, -EPIPE, -ETIMEDOUT or -EPROTO. */
static int
read_msg(struct vmm_qmp *q, cJSON **out)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	char *nl;
	ssize_t n;
	size_t used;

	for (;;) {
		if ((nl = memchr(q->buf, '\n', q->len)) != NULL) {
			*nl = '\0';
			*out = cJSON_Parse(q->buf);
			used = (size_t)(nl - q->buf) + 1;
			memmove(q->buf, q->buf + used, q->len - used);
			q->len -= used;
			return *out == NULL ? -EPROTO : 0;
		}
		if (q->len == sizeof(q->buf))
			return -EPROTO;
		n = poll(&pfd, 1, REPLY_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ETIMEDOUT;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -EPIPE;
		q->len += (size_t)n;
	}
}

static int
send_all(int fd, const char *s, size_t len, int pass_fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = (void *)s, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	ssize_t n;

	if (pass_fd >= 0) {
		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	while (iov.iov_len > 0) {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		iov.iov_base = (char *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
	return 0;
}

int
vmm_qmp_call(struct vmm_qmp *q, const char *cmd, cJSON *args, int pass_fd,
    cJSON **ret, struct mvm_error *e)
{
	cJSON *req = cJSON_CreateObject(), *msg = NULL, *v;
	char *text = NULL;
	int rc;

	if (req == NULL) {
		cJSON_Delete(args);
		return mvm_error_set(e, ENOMEM, "Out of memory.");
	}
	cJSON_AddStringToObject(req, "execute", cmd);
	if (args != NULL)
		cJSON_AddItemToObject(req, "arguments", args);
	if ((text = cJSON_PrintUnformatted(req)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "Out of memory.");
		goto out;
	}
	vmm_log(VMM_LOG_DEBUG, "qmp > %s", text);
	if ((rc = send_all(q->fd, text, strlen(text), pass_fd)) < 0 ||
	    (rc = send_all(q->fd, "\n", 1, -1)) < 0) {
		rc = mvm_error_set(e, -rc, "QEMU's QMP socket refused command "
		    "%s: %s.", cmd, strerror(-rc));
		goto out;
	}
	for (;;) {
		cJSON_Delete(msg);
		if ((rc = read_msg(q, &msg)) < 0) {
			rc = mvm_error_set(e, -rc, "No answer from QEMU to QMP "
			    "command %s: %s.", cmd, strerror(-rc));
			goto out;
		}
		if ((v = cJSON_GetObjectItem(msg, "event")) != NULL) {
			vmm_log(VMM_LOG_DEBUG, "qmp event %s",
			    cJSON_IsString(v) ? v->valuestring : "?");
			continue;
		}
		if ((v = cJSON_GetObjectItem(msg, "error")) != NULL) {
			rc = mvm_error_set(e, EIO, "QEMU refused %s: %s.", cmd,
			    vmm_json_str(v, "desc", "?"));
			goto out;
		}
		if ((v = cJSON_DetachItemFromObject(msg, "return")) != NULL) {
			if (ret != NULL)
				*ret = v;
			else
				cJSON_Delete(v);
			rc = 0;
			goto out;
		}
	}
out:
	cJSON_Delete(msg);
	cJSON_Delete(req);
	free(text);
	return rc;
}

int
vmm_qmp_connect(struct vmm_qmp *q, const char *path, int timeout_ms,
    struct mvm_error *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	cJSON *greeting = NULL;
	int rc, waited = 0;

	q->len = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return mvm_error_set(e, ENAMETOOLONG, "QMP socket path %s is "
		    "too long.", path);
	strcpy(sa.sun_path, path);
	if ((q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return mvm_error_set(e, errno, "socket: %s.", strerror(errno));
	while (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if ((errno != ENOENT && errno != ECONNREFUSED) ||
		    waited >= timeout_ms) {
			rc = mvm_error_set(e, errno == ENOENT ||
			    errno == ECONNREFUSED ? ETIMEDOUT : errno,
			    "Cannot reach QEMU's QMP socket %s: %s.", path,
			    strerror(errno));
			goto fail;
		}
		nanosleep(&pause, NULL);
		waited += 10;
	}
	if ((rc = read_msg(q, &greeting)) < 0 ||
	    !cJSON_HasObjectItem(greeting, "QMP")) {
		rc = mvm_error_set(e, EPROTO, "QEMU sent no QMP greeting on %s.",
		    path);
		goto fail;
	}
	cJSON_Delete(greeting);
	greeting = NULL;
	if ((rc = vmm_qmp_call(q, "qmp_capabilities", NULL, -1, NULL, e)) < 0)
		goto fail;
	return 0;
fail:
	cJSON_Delete(greeting);
	vmm_qmp_close(q);
	return rc;
}

void
vmm_qmp_close(struct vmm_qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	q->len = 0;
}
