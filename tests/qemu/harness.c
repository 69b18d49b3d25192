/* harness.c: process, HTTP and console helpers for the mvm-qemu tests. */
#include "harness.h"
#include "tmpdir.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char fixture_dir[256];

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static void
fixture(void)
{
	const char *script = getenv("MVM_FIXTURE");
	FILE *p;

	if (fixture_dir[0] != '\0')
		return;
	cr_assert_not_null(script, "MVM_FIXTURE is not set");
	p = popen(script, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(fixture_dir, sizeof(fixture_dir), p));
	cr_assert_eq(pclose(p), 0, "fixture.sh failed");
	fixture_dir[strcspn(fixture_dir, "\n")] = '\0';
}

const char *
vmmh_kernel(void)
{
	static char path[300];

	fixture();
	snprintf(path, sizeof(path), "%s/vmlinuz", fixture_dir);
	return path;
}

const char *
vmmh_initrd(void)
{
	static char path[300];

	fixture();
	snprintf(path, sizeof(path), "%s/initrd.cpio", fixture_dir);
	return path;
}

void
vmmh_init(struct vmmh *h)
{
	memset(h, 0, sizeof(*h));
	tmpdir_make(h->dir, sizeof(h->dir), "qemu");
}

void
vmmh_spawn(struct vmmh *h, const char *tag)
{
	const char *bin = getenv("MVM_QEMU");
	pid_t parent = getpid();
	int fd;

	cr_assert_not_null(bin, "MVM_QEMU is not set");
	snprintf(h->sock, sizeof(h->sock), "%s/%s.sock", h->dir, tag);
	snprintf(h->out, sizeof(h->out), "%s/%s.out", h->dir, tag);
	snprintf(h->log, sizeof(h->log), "%s/%s.log", h->dir, tag);
	h->pid = fork();
	cr_assert_geq(h->pid, 0);
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(fd, 0);
		fd = open(h->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		dup2(fd, 1);
		fd = open(h->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		dup2(fd, 2);
		/* QEMU's private run directory goes in ours, too. */
		setenv("TMPDIR", h->dir, 1);
		execl(bin, bin, "--api-sock", h->sock, "--id", tag, "--level",
		    "Debug", (char *)NULL);
		_exit(127);
	}
	/*
	 * The socket file appears at bind(2), before mvm-qemu listens on it:
	 * wait until a connection is accepted, or a slow start (a loaded
	 * host, a sanitizer build) fails the first request with ECONNREFUSED.
	 */
	for (int i = 0; i < 1000 && (fd = vmmh_connect(h->sock)) < 0; i++)
		sleep_ms(10);
	cr_assert_geq(fd, 0, "mvm-qemu does not accept on its API socket %s",
	    h->sock);
	close(fd);
}

struct buf {
	char	*p;
	size_t	 len;
};

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *np = realloc(b->p, b->len + size * n + 1);

	if (np == NULL)
		return 0;
	b->p = np;
	memcpy(b->p + b->len, data, size * n);
	b->len += size * n;
	b->p[b->len] = '\0';
	return size * n;
}

long
vmmh_api(struct vmmh *h, const char *method, const char *path,
    const char *body, char **resp)
{
	struct curl_slist *hdr = NULL;
	struct buf b = { NULL, 0 };
	char url[512];
	long code = 0;
	CURL *c = curl_easy_init();

	cr_assert_not_null(c);
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->sock);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (body != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	if (resp != NULL)
		*resp = b.p != NULL ? b.p : strdup("");
	else
		free(b.p);
	return code;
}

long
vmmh_fault(struct vmmh *h, const char *method, const char *path,
    const char *body, const char *fault)
{
	char *resp = NULL;
	long code = vmmh_api(h, method, path, body, &resp);

	cr_expect(strstr(resp, "\"fault_message\"") != NULL,
	    "%s %s: no fault_message in %s", method, path, resp);
	cr_expect(strstr(resp, fault) != NULL, "%s %s: \"%s\" not in %s",
	    method, path, fault, resp);
	free(resp);
	return code;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL)
		return strdup("");
	n = getdelim(&s, &cap, '\0', f);
	fclose(f);
	if (n < 0) {
		free(s);
		return strdup("");
	}
	return s;
}

bool
vmmh_wait_output(struct vmmh *h, const char *needle, int secs)
{
	char *s;
	bool found;

	for (int i = 0; i < secs * 20; i++) {
		s = slurp(h->out);
		found = strstr(s, needle) != NULL;
		free(s);
		if (found)
			return true;
		sleep_ms(50);
	}
	return false;
}

static long
tick(struct vmmh *h, bool last)
{
	char *s = slurp(h->out), *p = s;
	long n, best = 0;

	while ((p = strstr(p, "MVM-TICK ")) != NULL) {
		n = strtol(p + 9, &p, 10);
		if (!last) {
			best = n;
			break;
		}
		if (n > best)
			best = n;
	}
	free(s);
	return best;
}

long
vmmh_last_tick(struct vmmh *h)
{
	return tick(h, true);
}

long
vmmh_first_tick(struct vmmh *h)
{
	return tick(h, false);
}

double
vmmh_ready_uptime(struct vmmh *h)
{
	char *s = slurp(h->out), *p = strstr(s, "MVM-TEST-READY uptime=");
	double up = p != NULL ? strtod(p + 22, NULL) : -1;

	free(s);
	return up;
}

pid_t
vmmh_qemu_pid(struct vmmh *h)
{
	char path[300], buf[512], *p;
	struct dirent *d;
	pid_t found = 0;
	int ppid;
	DIR *dir = opendir("/proc");
	FILE *f;

	if (dir == NULL)
		return 0;
	while (found == 0 && (d = readdir(dir)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%s/stat", d->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == h->pid &&
		    strstr(buf, "(qemu-system") != NULL)
			found = atoi(d->d_name);
		fclose(f);
	}
	closedir(dir);
	return found;
}

int
vmmh_wait_exit(struct vmmh *h, int secs)
{
	int status;

	for (int i = 0; i < secs * 20; i++) {
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			    128 + WTERMSIG(status);
		}
		sleep_ms(50);
	}
	return -1;
}

bool
vmmh_gone(pid_t pid, int secs)
{
	char path[64], buf[512], *p, state = 'R';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < secs * 20; i++) {
		if ((f = fopen(path, "r")) == NULL)
			return true;
		/* A zombie waiting for its reaper is gone as well. */
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL)
			state = p[2];
		fclose(f);
		if (state == 'Z')
			return true;
		sleep_ms(50);
	}
	return false;
}

int
vmmh_stop(struct vmmh *h)
{
	int status;

	if (h->pid <= 0)
		return -1;
	kill(h->pid, SIGTERM);
	if ((status = vmmh_wait_exit(h, 30)) < 0)
		cr_log_error("mvm-qemu ignored SIGTERM");
	return status;
}

void
vmmh_cleanup(struct vmmh *h)
{
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
		h->pid = 0;
	}
	if (getenv("MVM_TEST_KEEP") == NULL && tmpdir_remove(h->dir) != 0)
		fprintf(stderr, "cannot remove %s\n", h->dir);
	h->dir[0] = '\0';
}

int
vmmh_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

bool
vmmh_read_line(int fd, char *buf, size_t len, int secs)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t n = 0;

	while (n + 1 < len) {
		if (poll(&pfd, 1, secs * 1000) <= 0)
			return false;
		if (read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return n > 0 && buf[n - 1] == '\n';
}
