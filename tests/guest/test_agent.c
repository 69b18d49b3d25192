/* Unit tests of the agent's request parsing and reply encoding. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"
#include "frame.h"

static int
parse(const char *text, struct mvm_agent_req *req, struct mvm_error *e)
{
	return mvm_agent_parse(text, strlen(text), req, e);
}

/* Parse `text`, expect EINVAL with `needle` in the message. */
static void
expect_bad(const char *text, const char *needle)
{
	struct mvm_agent_req req;
	struct mvm_error e = { 0 };

	cr_assert_eq(parse(text, &req, &e), -EINVAL, "accepted %s", text);
	cr_assert_not_null(strstr(e.msg, needle), "message \"%s\" for %s",
	    e.msg, text);
	mvm_agent_req_free(&req);
}

Test(agent, ping_with_id)
{
	struct mvm_agent_req req;
	char *reply;

	cr_assert_eq(parse("{\"type\":\"Ping\",\"id\":7,\"extra\":[1]}", &req,
	    NULL), 0);
	cr_assert_eq(req.type, MVM_AGENT_PING);
	cr_assert_not_null(req.id);
	reply = mvm_agent_reply_ping(req.id, "b1d0e2c4-0000-4000-8000-000000000001",
	    1234);
	cr_assert_str_eq(reply, "{\"type\":\"Ping\",\"id\":7,\"boot_id\":"
	    "\"b1d0e2c4-0000-4000-8000-000000000001\",\"uptime_ms\":1234}");
	free(reply);
	mvm_agent_req_free(&req);
}

Test(agent, string_id_echoed)
{
	struct mvm_agent_req req;
	char *reply;

	cr_assert_eq(parse("{\"id\":\"abc\",\"type\":\"Status\"}", &req,
	    NULL), 0);
	cr_assert_eq(req.type, MVM_AGENT_STATUS);
	reply = mvm_agent_reply_status(req.id, &(struct mvm_agent_status){
	    .busy = true, .busy_file = false, .cpu_percent = 42,
	    .last_busy_ms = 900, .uptime_ms = 1000 });
	cr_assert_str_eq(reply, "{\"type\":\"Status\",\"id\":\"abc\","
	    "\"busy\":true,\"busy_file\":false,\"cpu_percent\":42,"
	    "\"last_busy_ms\":900,\"uptime_ms\":1000}");
	free(reply);
	mvm_agent_req_free(&req);
}

Test(agent, sleep_prep)
{
	struct mvm_agent_req req;
	char *reply;

	cr_assert_eq(parse("{\"type\":\"SleepPrep\",\"drain_timeout_ms\":1500}",
	    &req, NULL), 0);
	cr_assert_eq(req.type, MVM_AGENT_SLEEP_PREP);
	cr_assert_eq(req.drain_timeout_ms, 1500);
	cr_assert_null(req.id);
	reply = mvm_agent_reply_sleep_prep(req.id, false, "timeout");
	cr_assert_str_eq(reply, "{\"type\":\"SleepPrep\",\"drained\":false,"
	    "\"reason\":\"timeout\"}");
	free(reply);
	reply = mvm_agent_reply_sleep_prep(NULL, true, NULL);
	cr_assert_str_eq(reply, "{\"type\":\"SleepPrep\",\"drained\":true}");
	free(reply);
	mvm_agent_req_free(&req);
}

Test(agent, wake_decodes_seed_and_time)
{
	struct mvm_agent_req req;
	char text[256], *reply;

	snprintf(text, sizeof(text), "{\"type\":\"Wake\",\"time_ns\":"
	    "1790000000123456789,\"seed\":\"%s\"}",
	    "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F");
	cr_assert_eq(parse(text, &req, NULL), 0);
	cr_assert_eq(req.type, MVM_AGENT_WAKE);
	cr_assert_eq(req.time_ns, 1790000000123456789LL);
	cr_assert_eq(req.seed_len, 32);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(req.seed[i], i);
	reply = mvm_agent_reply_wake(NULL, 1790000000123456789LL);
	cr_assert_str_eq(reply, "{\"type\":\"Wake\",\"time_ns\":"
	    "1790000000123456789}");
	free(reply);
	mvm_agent_req_free(&req);
}

Test(agent, bad_requests)
{
	expect_bad("", "not one JSON value");
	expect_bad("{\"type\":", "not one JSON value");
	expect_bad("{} {}", "not one JSON value");
	expect_bad("[1,2]", "JSON array, not an object");
	expect_bad("\"Ping\"", "JSON string, not an object");
	expect_bad("{}", "lacks the string field \"type\"");
	expect_bad("{\"type\":5}", "lacks the string field \"type\"");
	expect_bad("{\"type\":\"Reboot\"}", "\"Reboot\" is not one of");
	expect_bad("{\"type\":\"Ping\",\"id\":[1]}", "\"id\" must be");
	expect_bad("{\"type\":\"SleepPrep\"}", "lacks the integer field "
	    "\"drain_timeout_ms\"");
	expect_bad("{\"type\":\"SleepPrep\",\"drain_timeout_ms\":\"5\"}",
	    "must be an integer");
	expect_bad("{\"type\":\"SleepPrep\",\"drain_timeout_ms\":1.5}",
	    "must be an integer");
	expect_bad("{\"type\":\"SleepPrep\",\"drain_timeout_ms\":-1}",
	    "between 0 and 3600000");
	expect_bad("{\"type\":\"Wake\",\"seed\":\"00\"}", "\"time_ns\"");
	expect_bad("{\"type\":\"Wake\",\"time_ns\":1}", "hex string field");
	expect_bad("{\"type\":\"Wake\",\"time_ns\":1,\"seed\":\"0011\"}",
	    "4 hex digits");
	expect_bad("{\"type\":\"Wake\",\"time_ns\":1,\"seed\":"
	    "\"zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"}",
	    "not a hex digit at offset 0");
}

Test(agent, embedded_nul_is_not_json)
{
	struct mvm_agent_req req;
	struct mvm_error e = { 0 };

	cr_assert_eq(mvm_agent_parse("{}\0{}", 5, &req, &e), -EINVAL);
	mvm_agent_req_free(&req);
}

Test(agent, error_keeps_id)
{
	struct mvm_agent_req req;
	struct mvm_error e = { 0 };
	char *reply;

	cr_assert_eq(parse("{\"id\":9,\"type\":\"Nope\"}", &req, &e), -EINVAL);
	reply = mvm_agent_reply_error(req.id, e.msg);
	cr_assert_str_eq(reply, "{\"type\":\"Error\",\"id\":9,\"error\":"
	    "\"request type \\\"Nope\\\" is not one of Ping, Status, "
	    "SleepPrep, Wake, Exec\"}");
	free(reply);
	mvm_agent_req_free(&req);
}

Test(agent, cpu_share)
{
	struct mvm_agent_cpu a, b;

	cr_assert_eq(mvm_agent_cpu_parse("cpu  100 0 50 800 50 0 0 0 0 0\n"
	    "cpu0 1 2 3 4\n", &a), 0);
	cr_assert_eq(a.total, 1000);
	cr_assert_eq(a.idle, 850);
	cr_assert_eq(mvm_agent_cpu_parse("cpu  130 0 60 850 60 0 0 0 0 0\n",
	    &b), 0);
	/* 100 ticks passed, 60 of them idle or iowait. */
	cr_assert_eq(mvm_agent_cpu_percent(&a, &b), 40);
	cr_assert_eq(mvm_agent_cpu_percent(&b, &a), 0);
	cr_assert_eq(mvm_agent_cpu_percent(&a, &a), 0);
	cr_assert_eq(mvm_agent_cpu_parse("intr 1 2 3\n", &a), -EINVAL);
	cr_assert_eq(mvm_agent_cpu_parse("cpu  1 2\n", &a), -EINVAL);
}

Test(agent, exec_parses_argv_timeout_stdin)
{
	struct mvm_agent_req req;
	struct mvm_error e = { 0 };

	cr_assert_eq(parse("{\"type\":\"Exec\",\"id\":3,\"argv\":[\"/bin/sh\","
	    "\"-c\",\"cat; echo \\\"\\u00e9\\\"\"],\"timeout_ms\":500,"
	    "\"stdin\":\"a\\nb\"}", &req, &e), 0, "%s", e.msg);
	cr_assert_eq(req.type, MVM_AGENT_EXEC);
	cr_assert_eq(req.argc, 3);
	cr_assert_str_eq(req.argv[0], "/bin/sh");
	cr_assert_str_eq(req.argv[1], "-c");
	cr_assert_str_eq(req.argv[2], "cat; echo \"\xc3\xa9\"");
	cr_assert_null(req.argv[3]);
	cr_assert_eq(req.exec_timeout_ms, 500);
	cr_assert_eq(req.stdin_len, 3);
	cr_assert_str_eq(req.stdin_buf, "a\nb");
	mvm_agent_req_free(&req);

	/* A bare name, the default timeout, no stdin. */
	cr_assert_eq(parse("{\"type\":\"Exec\",\"argv\":[\"true\"]}", &req,
	    &e), 0, "%s", e.msg);
	cr_assert_eq(req.argc, 1);
	cr_assert_str_eq(req.argv[0], "true");
	cr_assert_eq(req.exec_timeout_ms, MVM_AGENT_EXEC_DEF_MS);
	cr_assert_null(req.stdin_buf);
	mvm_agent_req_free(&req);

	/* An empty stdin is a pipe that is closed at once, not /dev/null. */
	cr_assert_eq(parse("{\"type\":\"Exec\",\"argv\":[\"cat\"],"
	    "\"stdin\":\"\"}", &req, &e), 0, "%s", e.msg);
	cr_assert_not_null(req.stdin_buf);
	cr_assert_eq(req.stdin_len, 0);
	mvm_agent_req_free(&req);
}

/* Build {"type":"Exec","argv":[...]} with `n` copies of a `len`-byte arg. */
static char *
argv_request(size_t n, size_t len)
{
	size_t size = 64 + n * (len + 3);
	char *s = malloc(size), *p;

	cr_assert_not_null(s);
	p = s + sprintf(s, "{\"type\":\"Exec\",\"argv\":[");
	for (size_t i = 0; i < n; i++) {
		*p++ = '"';
		memset(p, 'a', len);
		p += len;
		*p++ = '"';
		*p++ = i + 1 < n ? ',' : ']';
	}
	strcpy(p, "}");
	return s;
}

Test(agent, exec_argv_limits)
{
	struct mvm_agent_req req;
	char *text;

	/* 64 strings are allowed, 65 are not. */
	text = argv_request(64, 10);
	cr_assert_eq(parse(text, &req, NULL), 0);
	cr_assert_eq(req.argc, 64);
	cr_assert_null(req.argv[64]);
	mvm_agent_req_free(&req);
	free(text);
	text = argv_request(65, 10);
	expect_bad(text, "has 65 strings, not 1 to 64");
	free(text);

	/* One string of 4096 bytes is allowed, 4097 is not. */
	text = argv_request(1, 4096);
	cr_assert_eq(parse(text, &req, NULL), 0);
	cr_assert_eq(strlen(req.argv[0]), 4096);
	mvm_agent_req_free(&req);
	free(text);
	text = argv_request(1, 4097);
	expect_bad(text, "\"argv\"[0] has 4097 bytes, not 1 to 4096");
	free(text);

	/* 15 * 4097 bytes fit below 64 KiB; 16 * 4097 do not. */
	text = argv_request(15, 4096);
	cr_assert_eq(parse(text, &req, NULL), 0);
	mvm_agent_req_free(&req);
	free(text);
	text = argv_request(16, 4096);
	expect_bad(text, "has 65552 bytes with terminators, not below 65536");
	free(text);
}

Test(agent, exec_bad_fields)
{
	expect_bad("{\"type\":\"Exec\"}", "lacks the array field \"argv\"");
	expect_bad("{\"type\":\"Exec\",\"argv\":\"/bin/ls\"}",
	    "lacks the array field \"argv\"");
	expect_bad("{\"type\":\"Exec\",\"argv\":[]}",
	    "\"argv\" has 0 strings, not 1 to 64");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\",7]}",
	    "\"argv\"[1] is not a string");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\",\"\"]}",
	    "\"argv\"[1] has 0 bytes, not 1 to 4096");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\",\"a\\u0000b\"]}",
	    "\"argv\"[1] contains a NUL character");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"bin/ls\"]}",
	    "\"argv\"[0] \"bin/ls\" must be an absolute path or a name");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\"],\"timeout_ms\":0}",
	    "\"timeout_ms\" must be between 1 and 3600000");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\"],"
	    "\"timeout_ms\":3600001}", "between 1 and 3600000");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\"],\"timeout_ms\":\"1\"}",
	    "\"timeout_ms\" must be an integer");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\"],\"timeout_ms\":null}",
	    "\"timeout_ms\" must be an integer");
	expect_bad("{\"type\":\"Exec\",\"argv\":[\"ls\"],\"stdin\":5}",
	    "\"stdin\" must be a string");
}

Test(agent, exec_output_is_capped)
{
	struct mvm_agent_output *o = calloc(1, sizeof(*o));
	uint8_t chunk[40000];

	cr_assert_not_null(o);
	memset(chunk, 'x', sizeof(chunk));
	mvm_agent_output_add(o, chunk, sizeof(chunk));
	cr_assert_eq(o->len, 40000);
	cr_assert(!o->truncated);
	chunk[MVM_AGENT_OUT_MAX - 40000 - 1] = 'y';
	mvm_agent_output_add(o, chunk, sizeof(chunk));
	cr_assert_eq(o->len, MVM_AGENT_OUT_MAX);
	cr_assert(o->truncated);
	cr_assert_eq(o->buf[MVM_AGENT_OUT_MAX - 1], 'y');
	mvm_agent_output_add(o, chunk, 1);
	cr_assert_eq(o->len, MVM_AGENT_OUT_MAX);
	free(o);
}

Test(agent, exec_reply_is_base64)
{
	struct mvm_agent_exec *x = calloc(1, sizeof(*x));
	char *reply;

	cr_assert_not_null(x);
	x->exit_code = 3;
	/* Bytes that are not UTF-8 survive: 0xff 0xfe 0x00 'A'. */
	mvm_agent_output_add(&x->out, (const uint8_t *)"\xff\xfe\0A", 4);
	x->err.truncated = true;
	reply = mvm_agent_reply_exec(NULL, x);
	cr_assert_str_eq(reply, "{\"type\":\"Exec\",\"exit_code\":3,"
	    "\"signal\":0,\"timed_out\":false,\"stdout\":\"//4AQQ==\","
	    "\"stdout_truncated\":false,\"stderr\":\"\","
	    "\"stderr_truncated\":true}");
	free(reply);

	/* Both streams full still fit one frame. */
	x->exit_code = -1;
	x->signal = 9;
	x->timed_out = true;
	memset(x->out.buf, 0xff, sizeof(x->out.buf));
	memset(x->err.buf, 0xff, sizeof(x->err.buf));
	x->out.len = x->err.len = MVM_AGENT_OUT_MAX;
	reply = mvm_agent_reply_exec(NULL, x);
	cr_assert_not_null(reply);
	cr_assert_lt(strlen(reply), MVM_FRAME_MAX);
	cr_assert_not_null(strstr(reply, "\"exit_code\":-1,\"signal\":9,"
	    "\"timed_out\":true,\"stdout\":\"////"));
	free(reply);
	free(x);
}
