/*
 * libFuzzer harness for the guest protocol: the input is a byte stream as
 * the agent would read it. Every complete frame goes through the agent's
 * request parser and, when it parses, through a reply encoder.
 */
#include <stdint.h>
#include <stdlib.h>

#include "agent.h"
#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mvm_frame_reader r;
	static int ready;
	struct mvm_agent_req req;
	struct mvm_error e;
	size_t used;
	char *reply;

	if (!ready) {
		if (mvm_frame_reader_init(&r) != 0)
			abort();
		ready = 1;
	}
	mvm_frame_reader_reset(&r);
	while (size > 0) {
		if (mvm_frame_feed(&r, data, size, &used) == MVM_FRAME_DONE) {
			if (r.payload[r.len] != '\0' || r.len > MVM_FRAME_MAX)
				abort();
			if (mvm_agent_parse((char *)r.payload, r.len, &req,
			    &e) == 0)
				reply = mvm_agent_reply_ping(req.id, "id", 1);
			else
				reply = mvm_agent_reply_error(req.id, e.msg);
			free(reply);
			mvm_agent_req_free(&req);
		}
		if (used == 0 || used > size)
			abort();
		data += used;
		size -= used;
	}
	return 0;
}
