/*
 * libFuzzer harness for the guest protocol: the input is a byte stream as
 * the agent would read it. Every complete frame goes through the agent's
 * request parser and, when it parses, through a reply encoder: an Exec's
 * through the Exec encoder, with its stdin and argv as the output.
 *
 * Nothing is kept from one input to the next: the frame reader is made
 * afresh for each (mvm_frame_reader_reset() keeps the count of 0xFF bytes
 * just seen, so a reused reader would let the end of one input complete a
 * sync marker begun by the last), and the Exec outcome is cleared.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
reply_exec(const struct mvm_agent_req *req)
{
	/* Static for its size (two 64 KiB buffers), cleared for each use. */
	static struct mvm_agent_exec x;

	memset(&x, 0, sizeof(x));
	if (req->stdin_buf != NULL)
		mvm_agent_output_add(&x.out, (const uint8_t *)req->stdin_buf,
		    req->stdin_len);
	for (size_t i = 0; i < req->argc; i++)
		mvm_agent_output_add(&x.err, (const uint8_t *)req->argv[i],
		    strlen(req->argv[i]) + 1);
	if (req->argv[req->argc] != NULL)
		abort();
	return mvm_agent_reply_exec(req->id, &x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvm_frame_reader r;
	struct mvm_agent_req req;
	struct mvm_error e;
	size_t used;
	char *reply;

	if (mvm_frame_reader_init(&r) != 0)
		abort();
	while (size > 0) {
		if (mvm_frame_feed(&r, data, size, &used) == MVM_FRAME_DONE) {
			if (r.payload[r.len] != '\0' || r.len > MVM_FRAME_MAX)
				abort();
			if (mvm_agent_parse((char *)r.payload, r.len, &req,
			    &e) != 0)
				reply = mvm_agent_reply_error(req.id, e.msg);
			else if (req.type == MVM_AGENT_EXEC)
				reply = reply_exec(&req);
			else
				reply = mvm_agent_reply_ping(req.id, "id", 1);
			free(reply);
			mvm_agent_req_free(&req);
		}
		if (used == 0 || used > size)
			abort();
		data += used;
		size -= used;
	}
	mvm_frame_reader_free(&r);
	return 0;
}
