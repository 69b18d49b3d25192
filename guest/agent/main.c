/*
 * mvm-guest: the in-guest agent. It serves the frame protocol (frame.h,
 * agent.h) on AF_VSOCK port 52 when the guest has a vsock device, and
 * otherwise on the virtio-serial port named "mvm.vsock.52", which mvm-qemu
 * bridges to Firecracker's hybrid vsock socket. It is one process with one
 * connection at a time and one request at a time: a SleepPrep holds the
 * connection while its drain hook runs, an Exec while its program runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "agent.h"
#include "frame.h"
#include "sys.h"

#define VSOCK_PORT	52
#define SERIAL_NAME	"mvm.vsock.52"
#define RETRY_MS	100

struct agent {
	char			boot_id[MVM_SYS_BOOT_ID_LEN + 1];
	struct mvm_agent_cpu	cpu;		/* sample at the last Status */
	uint64_t		last_busy_ms;
	struct mvm_frame_reader	reader;
};

static void
say(const char *fmt, ...)
{
	va_list ap;

	fputs("mvm-guest: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Write all of `iov` to `fd`. Returns 0 or a negative errno. */
static int
write_all(int fd, struct iovec *iov, int iovcnt)
{
	while (iovcnt > 0) {
		ssize_t n = writev(fd, iov, iovcnt);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Send `json` (which may be NULL after an allocation failure) as a frame. */
static int
send_frame(int fd, char *json)
{
	uint8_t hdr[MVM_FRAME_HDR_LEN];
	struct iovec iov[2];
	int rc;

	if (json == NULL)
		return -ENOMEM;
	rc = mvm_frame_header(strlen(json), hdr);
	if (rc == 0) {
		iov[0] = (struct iovec){ hdr, sizeof(hdr) };
		iov[1] = (struct iovec){ json, strlen(json) };
		rc = write_all(fd, iov, 2);
	}
	free(json);
	return rc;
}

static char *
do_status(struct agent *a, struct mvm_agent_req *req)
{
	struct mvm_agent_status st = { 0 };
	struct mvm_agent_cpu cur;

	st.uptime_ms = mvm_sys_uptime_ms();
	if (mvm_sys_cpu(&cur) == 0) {
		st.cpu_percent = mvm_agent_cpu_percent(&a->cpu, &cur);
		a->cpu = cur;
	}
	st.busy_file = mvm_sys_busy_file();
	st.busy = st.busy_file || st.cpu_percent > MVM_AGENT_BUSY_CPU_PCT;
	if (st.busy)
		a->last_busy_ms = st.uptime_ms;
	st.last_busy_ms = a->last_busy_ms;
	return mvm_agent_reply_status(req->id, &st);
}

static char *
do_exec(struct mvm_agent_req *req)
{
	struct mvm_agent_exec *x;
	struct mvm_error e = { 0 };
	char *reply;

	/* Two 64 KiB buffers: too much for the stack of a small agent. */
	if ((x = malloc(sizeof(*x))) == NULL)
		return mvm_agent_reply_error(req->id, "Exec: out of memory");
	if (mvm_sys_exec(req, x, &e) != 0)
		reply = mvm_agent_reply_error(req->id, e.msg);
	else
		reply = mvm_agent_reply_exec(req->id, x);
	free(x);
	return reply;
}

/* Serve one complete frame payload; returns the reply text or NULL. */
static char *
handle(struct agent *a, const char *buf, size_t len)
{
	struct mvm_agent_req req;
	struct mvm_error e = { 0 };
	char reason[128], *reply = NULL;
	int64_t now;
	int rc;

	if (mvm_agent_parse(buf, len, &req, &e) != 0) {
		reply = mvm_agent_reply_error(req.id, e.msg);
		goto out;
	}
	switch (req.type) {
	case MVM_AGENT_PING:
		reply = mvm_agent_reply_ping(req.id, a->boot_id,
		    mvm_sys_uptime_ms());
		break;
	case MVM_AGENT_STATUS:
		reply = do_status(a, &req);
		break;
	case MVM_AGENT_SLEEP_PREP:
		reason[0] = '\0';
		rc = mvm_sys_drain(req.drain_timeout_ms, reason,
		    sizeof(reason));
		if (rc < 0) {
			snprintf(reason, sizeof(reason), "cannot start the "
			    "drain hook: %s", strerror(-rc));
			rc = 0;
		}
		reply = mvm_agent_reply_sleep_prep(req.id, rc == 1,
		    rc == 1 ? NULL : reason);
		break;
	case MVM_AGENT_WAKE:
		rc = mvm_sys_wake(req.seed, req.seed_len, req.time_ns, &now);
		if (rc != 0) {
			snprintf(reason, sizeof(reason), "Wake failed: %s",
			    strerror(-rc));
			reply = mvm_agent_reply_error(req.id, reason);
		} else {
			reply = mvm_agent_reply_wake(req.id, now);
		}
		break;
	case MVM_AGENT_EXEC:
		reply = do_exec(&req);
		break;
	}
out:
	mvm_agent_req_free(&req);
	return reply;
}

/*
 * Feed `n` bytes read from `fd` to the frame reader and answer every event.
 * Returns 0 or a negative errno from writing.
 */
static int
consume(struct agent *a, int fd, const uint8_t *buf, size_t n)
{
	char msg[96];
	size_t used;
	int rc = 0;

	while (n > 0 && rc == 0) {
		switch (mvm_frame_feed(&a->reader, buf, n, &used)) {
		case MVM_FRAME_MORE:
			break;
		case MVM_FRAME_SYNC:
			rc = write_all(fd, &(struct iovec){ MVM_FRAME_MARKER,
			    MVM_FRAME_MARKER_LEN }, 1);
			break;
		case MVM_FRAME_TOO_LONG:
			snprintf(msg, sizeof(msg), "frame length %zu exceeds "
			    "%d bytes; input discarded until a sync marker",
			    a->reader.len, MVM_FRAME_MAX);
			rc = send_frame(fd, mvm_agent_reply_error(NULL, msg));
			break;
		case MVM_FRAME_DONE:
			rc = send_frame(fd, handle(a, (char *)a->reader.payload,
			    a->reader.len));
			break;
		}
		buf += used;
		n -= used;
	}
	return rc;
}

/*
 * Serve the stream `fd` until it ends. A virtio-serial port reads end of
 * file while no host is connected: then wait and read again, so the same
 * port serves the next host.
 */
static void
serve(struct agent *a, int fd, int is_serial)
{
	static uint8_t buf[65536];
	ssize_t n;

	mvm_frame_reader_reset(&a->reader);
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 && !is_serial)
			return;
		if (n <= 0) {
			/* No host: the next bytes start a new conversation. */
			mvm_frame_reader_reset(&a->reader);
			sleep_ms(RETRY_MS);
			continue;
		}
		if (consume(a, fd, buf, (size_t)n) != 0 && !is_serial)
			return;
	}
}

/* Whether a vsock transport to the host exists (a virtio-vsock device). */
static int
have_vsock(void)
{
	unsigned int cid = VMADDR_CID_ANY;
	int fd;

	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) != 0)
		cid = VMADDR_CID_ANY;
	close(fd);
	return cid != VMADDR_CID_ANY && cid > VMADDR_CID_HOST;
}

static void
serve_vsock(struct agent *a)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_port = VSOCK_PORT,
		.svm_cid = VMADDR_CID_ANY,
	};
	int lfd, fd;

	lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(lfd, 8) != 0) {
		say("vsock port %d: %s", VSOCK_PORT, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return;
	}
	say("listening on vsock port %d", VSOCK_PORT);
	for (;;) {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EINTR)
				sleep_ms(RETRY_MS);
			continue;
		}
		serve(a, fd, 0);
		close(fd);
	}
}

/*
 * Open the virtio-serial port named SERIAL_NAME. Without udev its /dev node
 * may be missing; it is then made from the dev numbers in sysfs. Returns a
 * descriptor or -1.
 */
static int
open_serial(void)
{
	char path[300], text[64], dev[300];
	struct dirent *d;
	unsigned maj, min;
	DIR *dir;
	int fd = -1;

	dir = opendir("/sys/class/virtio-ports");
	if (dir == NULL)
		return -1;
	while (fd < 0 && (d = readdir(dir)) != NULL) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name",
		    d->d_name);
		f = fopen(path, "re");
		if (f == NULL)
			continue;
		if (fgets(text, sizeof(text), f) == NULL)
			text[0] = '\0';
		fclose(f);
		text[strcspn(text, "\n")] = '\0';
		if (strcmp(text, SERIAL_NAME) != 0)
			continue;
		snprintf(dev, sizeof(dev), "/dev/%s", d->d_name);
		if (access(dev, F_OK) != 0) {
			snprintf(path, sizeof(path),
			    "/sys/class/virtio-ports/%s/dev", d->d_name);
			f = fopen(path, "re");
			if (f == NULL)
				continue;
			if (fscanf(f, "%u:%u", &maj, &min) == 2)
				mknod(dev, S_IFCHR | 0600, makedev(maj, min));
			fclose(f);
		}
		fd = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0)
			say("serving virtio-serial port %s (%s)", SERIAL_NAME,
			    dev);
	}
	closedir(dir);
	return fd;
}

int
main(void)
{
	struct agent a = { 0 };
	int fd, waited = 0;

	signal(SIGPIPE, SIG_IGN);
	if (mvm_sys_boot_id(a.boot_id) != 0 ||
	    mvm_frame_reader_init(&a.reader) != 0) {
		say("cannot read the boot id or allocate buffers");
		return 1;
	}
	mvm_sys_cpu(&a.cpu);
	for (;;) {
		if (have_vsock()) {
			serve_vsock(&a);
		} else if ((fd = open_serial()) >= 0) {
			serve(&a, fd, 1);
			close(fd);
		} else if (waited++ == 50) {
			say("no vsock device and no port named %s yet",
			    SERIAL_NAME);
		}
		sleep_ms(RETRY_MS);
	}
}
