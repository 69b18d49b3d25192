/*
 * Unit tests of the host client (runtime/vmm/guest.c) against a scripted peer
 * that plays the VMM's hybrid vsock socket and the agent on a unix socket.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "guest.h"
#include "frame.h"

/* What the peer does after accepting one connection. */
enum script {
	HANG_UP,	/* close right after reading CONNECT */
	SAY_NO,		/* answer "NO\n" */
	SILENT,		/* read CONNECT, never answer */
	AGENT,		/* answer OK, then serve one request as scripted */
};

struct peer {
	char		path[108];
	int		lfd;
	enum script	script;
	const char	*reply_fmt;	/* printf format with one %d: the id */
	char		connect_line[64];
	char		request[512];	/* the JSON request the peer read */
	pthread_t	thread;
};

/* The peer's writes: a short one fails the client's assertions anyway. */
static void
put(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		fprintf(stderr, "peer: short write\n");
}

/* Wait for the client to close its end. */
static void
wait_eof(int fd)
{
	uint8_t c;

	while (read(fd, &c, 1) > 0)
		;
}

static void
send_frame(int fd, const char *json)
{
	uint8_t hdr[4];

	cr_assert_eq(mvm_frame_header(strlen(json), hdr), 0);
	put(fd, hdr, 4);
	put(fd, json, strlen(json));
}

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	struct mvm_frame_reader r;
	char reply[512];
	uint8_t c, buf[1024];
	size_t len = 0, used, off;
	ssize_t n;
	bool synced = false;
	int fd, id;

	fd = accept(p->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	while (len < sizeof(p->connect_line) - 1 && read(fd, &c, 1) == 1 &&
	    c != '\n')
		p->connect_line[len++] = (char)c;
	switch (p->script) {
	case HANG_UP:
		break;
	case SAY_NO:
		put(fd, "NO\n", 3);
		break;
	case SILENT:
		/* Hold the connection until the client gives up. */
		wait_eof(fd);
		break;
	case AGENT:
		put(fd, "OK 1073741824\n", 14);
		mvm_frame_reader_init(&r);
		/* Stale output of an earlier conversation comes first. */
		send_frame(fd, "{\"type\":\"Ping\",\"id\":0}");
		put(fd, "\x00\x00\x00\x30{\"type\"", 11);
		while (p->request[0] == '\0' &&
		    (n = read(fd, buf, sizeof(buf))) > 0) {
			for (off = 0; off < (size_t)n; off += used) {
				switch (mvm_frame_feed(&r, buf + off,
				    (size_t)n - off, &used)) {
				case MVM_FRAME_SYNC:
					synced = true;
					break;
				case MVM_FRAME_DONE:
					if (synced)
						snprintf(p->request,
						    sizeof(p->request), "%s",
						    (char *)r.payload);
					break;
				default:
					break;
				}
			}
		}
		mvm_frame_reader_free(&r);
		cJSON *req = cJSON_Parse(p->request);
		id = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(req, "id"));
		cJSON_Delete(req);
		put(fd, MVM_FRAME_MARKER, MVM_FRAME_MARKER_LEN);
		/* A reply to somebody else, then ours. */
		snprintf(reply, sizeof(reply), p->reply_fmt, id + 1000);
		send_frame(fd, reply);
		snprintf(reply, sizeof(reply), p->reply_fmt, id);
		send_frame(fd, reply);
		wait_eof(fd);
		break;
	}
	close(fd);
	return NULL;
}

static void
peer_start(struct peer *p, enum script script, const char *reply_fmt)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(p, 0, sizeof(*p));
	p->script = script;
	p->reply_fmt = reply_fmt;
	snprintf(p->path, sizeof(p->path), "/tmp/mvm-test-guest-%d.sock",
	    getpid());
	unlink(p->path);
	strcpy(sa.sun_path, p->path);
	p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(p->lfd, 0);
	cr_assert_eq(bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(p->lfd, 1), 0);
	cr_assert_eq(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

static void
peer_stop(struct peer *p, int client_fd)
{
	if (client_fd >= 0)
		close(client_fd);
	pthread_join(p->thread, NULL);
	close(p->lfd);
	unlink(p->path);
}

Test(client, nothing_listens)
{
	struct mvm_error e = { 0 };
	int fd;

	cr_assert_eq(mvm_guest_connect("/nonexistent/v.sock", 52, 500, &fd,
	    &e), -ECONNREFUSED);
	cr_assert_eq(fd, -1);
	cr_assert_not_null(strstr(e.msg, "/nonexistent/v.sock"));
}

Test(client, port_not_listening_in_guest)
{
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, HANG_UP, NULL);
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e),
	    -ECONNREFUSED);
	peer_stop(&p, -1);
	cr_assert_str_eq(p.connect_line, "CONNECT 52");
	cr_assert_not_null(strstr(e.msg, "port 52"), "%s", e.msg);
}

Test(client, bad_answer)
{
	struct peer p;
	int fd;

	peer_start(&p, SAY_NO, NULL);
	cr_assert_eq(mvm_guest_connect(p.path, 1234, 2000, &fd, NULL),
	    -EPROTO);
	peer_stop(&p, -1);
	cr_assert_str_eq(p.connect_line, "CONNECT 1234");
}

Test(client, timeout)
{
	struct peer p;
	int fd;

	peer_start(&p, SILENT, NULL);
	cr_assert_eq(mvm_guest_connect(p.path, 52, 200, &fd, NULL),
	    -ETIMEDOUT);
	/* The peer sees the client's end of stream and exits. */
	peer_stop(&p, -1);
}

Test(client, ping_skips_stale_frames)
{
	struct mvm_guest_pong pong;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Ping\",\"id\":%d,"
	    "\"boot_id\":\"abc\",\"uptime_ms\":77}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0, "%s",
	    e.msg);
	cr_assert_eq(mvm_guest_ping(fd, 2000, &pong, &e), 0, "%s", e.msg);
	peer_stop(&p, fd);
	cr_assert_str_eq(pong.boot_id, "abc");
	cr_assert_eq(pong.uptime_ms, 77);
	cr_assert_not_null(strstr(p.request, "\"type\":\"Ping\""));
}

Test(client, wake_sends_exact_time_and_hex_seed)
{
	uint8_t seed[32];
	struct mvm_error e = { 0 };
	struct peer p;
	int64_t now = 0;
	int fd;

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0xa0 + i);
	peer_start(&p, AGENT, "{\"type\":\"Wake\",\"id\":%d,"
	    "\"time_ns\":1790000000000000000}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_wake(fd, 2000, 1790000000123456789LL, seed,
	    sizeof(seed), &now, &e), 0, "%s", e.msg);
	peer_stop(&p, fd);
	cr_assert_eq(now, 1790000000000000000LL);
	cr_assert_not_null(strstr(p.request, "\"time_ns\":1790000000123456789"),
	    "%s", p.request);
	cr_assert_not_null(strstr(p.request, "\"seed\":\"a0a1a2a3a4a5a6a7a8a9"
	    "aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\""), "%s", p.request);
}

Test(client, error_reply_is_eio)
{
	struct mvm_guest_status st;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Error\",\"id\":%d,"
	    "\"error\":\"no such thing\"}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, NULL), 0);
	cr_assert_eq(mvm_guest_status(fd, 2000, &st, &e), -EIO);
	peer_stop(&p, fd);
	cr_assert_str_eq(e.msg, "guest agent refused Status: no such thing");
}

Test(client, malformed_reply_is_eproto)
{
	struct mvm_guest_drain d;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"SleepPrep\",\"id\":%d,"
	    "\"drained\":\"yes\"}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, NULL), 0);
	cr_assert_eq(mvm_guest_sleep_prep(fd, 2000, 100, &d, &e), -EPROTO);
	peer_stop(&p, fd);
	cr_assert_not_null(strstr(e.msg, "\"drained\""), "%s", e.msg);
	cr_assert_not_null(strstr(p.request, "\"drain_timeout_ms\":100"));
}

Test(client, seed_length_checked)
{
	uint8_t seed[16] = { 0 };
	int64_t now;

	cr_assert_eq(mvm_guest_wake(-1, 100, 1, seed, sizeof(seed), &now,
	    NULL), -EINVAL);
}

Test(client, exec_decodes_output)
{
	static const char *const argv[] = { "/bin/sh", "-c", "echo \xc3\xa9",
	    NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	/* stdout is 0xff 0xfe 0x00 'A': not text, but it round-trips. */
	peer_start(&p, AGENT, "{\"type\":\"Exec\",\"id\":%d,\"exit_code\":3,"
	    "\"signal\":0,\"timed_out\":false,\"stdout\":\"//4AQQ==\","
	    "\"stdout_truncated\":true,\"stderr\":\"aGk=\","
	    "\"stderr_truncated\":false}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_exec(fd, 2000, argv, "in\n", 1500, &r, &e), 0,
	    "%s", e.msg);
	peer_stop(&p, fd);
	cr_assert_eq(r->exit_code, 3);
	cr_assert_eq(r->signal, 0);
	cr_assert(!r->timed_out);
	cr_assert_eq(r->stdout_len, 4);
	cr_assert_eq(memcmp(r->stdout_buf, "\xff\xfe\0A", 5), 0);
	cr_assert(r->stdout_truncated);
	cr_assert_eq(r->stderr_len, 2);
	cr_assert_str_eq((char *)r->stderr_buf, "hi");
	cr_assert(!r->stderr_truncated);
	mvm_guest_exec_free(r);
	cr_assert_not_null(strstr(p.request, "\"type\":\"Exec\""), "%s",
	    p.request);
	cr_assert_not_null(strstr(p.request, "\"argv\":[\"/bin/sh\",\"-c\","
	    "\"echo \xc3\xa9\"]"), "%s", p.request);
	cr_assert_not_null(strstr(p.request, "\"timeout_ms\":1500"), "%s",
	    p.request);
	cr_assert_not_null(strstr(p.request, "\"stdin\":\"in\\n\""), "%s",
	    p.request);
}

Test(client, exec_killed_and_defaults)
{
	static const char *const argv[] = { "sleep", "10", NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Exec\",\"id\":%d,\"exit_code\":-1,"
	    "\"signal\":9,\"timed_out\":true,\"stdout\":\"\","
	    "\"stdout_truncated\":false,\"stderr\":\"\","
	    "\"stderr_truncated\":false}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_exec(fd, 2000, argv, NULL, 0, &r, &e), 0,
	    "%s", e.msg);
	peer_stop(&p, fd);
	cr_assert_eq(r->exit_code, -1);
	cr_assert_eq(r->signal, 9);
	cr_assert(r->timed_out);
	cr_assert_eq(r->stdout_len, 0);
	cr_assert_str_eq((char *)r->stdout_buf, "");
	mvm_guest_exec_free(r);
	/* No exec timeout and no stdin: the agent's defaults. */
	cr_assert_null(strstr(p.request, "timeout_ms"), "%s", p.request);
	cr_assert_null(strstr(p.request, "stdin"), "%s", p.request);
}

Test(client, exec_bad_base64_is_eproto)
{
	static const char *const argv[] = { "true", NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Exec\",\"id\":%d,\"exit_code\":0,"
	    "\"signal\":0,\"timed_out\":false,\"stdout\":\"no base64!\","
	    "\"stdout_truncated\":false,\"stderr\":\"\","
	    "\"stderr_truncated\":false}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_exec(fd, 2000, argv, NULL, 0, &r, &e), -EPROTO);
	peer_stop(&p, fd);
	cr_assert_null(r);
	cr_assert_str_eq(e.msg, "guest reply field \"stdout\" is not base64");
}

/*
 * libsodium 1.0.18 decodes a byte above 0x7f as if it were '/': "éé" (four
 * such bytes) came out as three 0xff bytes. The reader refuses it.
 */
Test(client, exec_non_ascii_base64_is_eproto)
{
	struct mvm_guest_exec_result *r = (void *)1;
	struct mvm_error e = { 0 };
	cJSON *reply;

	reply = cJSON_Parse("{\"type\":\"Exec\",\"id\":1,\"exit_code\":0,"
	    "\"signal\":0,\"timed_out\":false,\"stdout\":\"\xc3\xa9\xc3\xa9\","
	    "\"stdout_truncated\":false,\"stderr\":\"\","
	    "\"stderr_truncated\":false}");
	cr_assert_not_null(reply);
	cr_assert_eq(mvm_guest_parse_exec(reply, &r, &e), -EPROTO);
	cJSON_Delete(reply);
	cr_assert_null(r);
	cr_assert_str_eq(e.msg, "guest reply field \"stdout\" is not base64");
}

Test(client, exec_bad_exit_code_is_eproto)
{
	static const char *const argv[] = { "true", NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Exec\",\"id\":%d,\"exit_code\":256,"
	    "\"signal\":0,\"timed_out\":false,\"stdout\":\"\","
	    "\"stdout_truncated\":false,\"stderr\":\"\","
	    "\"stderr_truncated\":false}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_exec(fd, 2000, argv, NULL, 0, &r, &e), -EPROTO);
	peer_stop(&p, fd);
	cr_assert_null(r);
	cr_assert_not_null(strstr(e.msg, "\"exit_code\""), "%s", e.msg);
}

Test(client, exec_refused_is_eio)
{
	static const char *const argv[] = { "nosuch", NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };
	struct peer p;
	int fd;

	peer_start(&p, AGENT, "{\"type\":\"Error\",\"id\":%d,\"error\":"
	    "\"Exec cannot run \\\"nosuch\\\": No such file or directory\"}");
	cr_assert_eq(mvm_guest_connect(p.path, 52, 2000, &fd, &e), 0);
	cr_assert_eq(mvm_guest_exec(fd, 2000, argv, NULL, 0, &r, &e), -EIO);
	peer_stop(&p, fd);
	cr_assert_null(r);
	cr_assert_str_eq(e.msg, "guest agent refused Exec: Exec cannot run "
	    "\"nosuch\": No such file or directory");
}

Test(client, exec_checks_arguments)
{
	static const char *const none[] = { NULL };
	static const char *const latin1[] = { "echo", "caf\xe9", NULL };
	static const char *const marker[] = { "echo", "\xff\xff\xff\xff",
	    NULL };
	static const char *const overlong[] = { "echo", "\xc0\xaf", NULL };
	static const char *const surrogate[] = { "echo", "\xed\xa0\x80",
	    NULL };
	static const char *const ok[] = { "echo", "\xf0\x9f\x98\x80", NULL };
	struct mvm_guest_exec_result *r = NULL;
	struct mvm_error e = { 0 };

	/* All refused before anything is sent: fd -1 is never used. */
	cr_assert_eq(mvm_guest_exec(-1, 100, none, NULL, 0, &r, &e), -EINVAL);
	cr_assert_eq(mvm_guest_exec(-1, 100, latin1, NULL, 0, &r, &e),
	    -EINVAL);
	cr_assert_str_eq(e.msg, "Exec argv[1] is not valid UTF-8");
	cr_assert_eq(mvm_guest_exec(-1, 100, marker, NULL, 0, &r, &e),
	    -EINVAL);
	cr_assert_eq(mvm_guest_exec(-1, 100, overlong, NULL, 0, &r, &e),
	    -EINVAL);
	cr_assert_eq(mvm_guest_exec(-1, 100, surrogate, NULL, 0, &r, &e),
	    -EINVAL);
	cr_assert_eq(mvm_guest_exec(-1, 100, ok, "\x80", 0, &r, &e), -EINVAL);
	cr_assert_str_eq(e.msg, "Exec stdin text is not valid UTF-8");
	cr_assert_null(r);
	/* Valid UTF-8 passes the check and fails on the bad descriptor. */
	cr_assert_eq(mvm_guest_exec(-1, 100, ok, "\xc3\xa9", 0, &r, &e),
	    -EBADF);
}
