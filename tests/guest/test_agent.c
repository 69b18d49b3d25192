/* Unit tests of the agent's request parsing and reply encoding. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "agent.h"

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
	    "SleepPrep, Wake\"}");
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
