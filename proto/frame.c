/* frame.c: length-prefixed frames with a 0xFF sync marker. */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int
mvm_frame_header(size_t len, uint8_t hdr[MVM_FRAME_HDR_LEN])
{
	if (len > MVM_FRAME_MAX)
		return -EMSGSIZE;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return 0;
}

int
mvm_frame_reader_init(struct mvm_frame_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->payload = malloc(MVM_FRAME_MAX + 1);
	if (r->payload == NULL)
		return -ENOMEM;
	return 0;
}

void
mvm_frame_reader_free(struct mvm_frame_reader *r)
{
	free(r->payload);
	r->payload = NULL;
}

void
mvm_frame_reader_reset(struct mvm_frame_reader *r)
{
	r->len = 0;
	r->have = 0;
	r->hdr_len = 0;
	r->discarding = false;
	r->done = false;
}

enum mvm_frame_event
mvm_frame_feed(struct mvm_frame_reader *r, const uint8_t *data, size_t n,
    size_t *used)
{
	size_t i;

	if (r->done)
		mvm_frame_reader_reset(r);
	for (i = 0; i < n; i++) {
		uint8_t b = data[i];

		/*
		 * The marker wins over every other state. A longer run is
		 * swallowed whole, so the next frame starts at the first
		 * byte that is not 0xFF.
		 */
		r->ff_run = b == 0xff ? r->ff_run + 1 : 0;
		if (r->ff_run == MVM_FRAME_MARKER_LEN) {
			mvm_frame_reader_reset(r);
			*used = i + 1;
			return MVM_FRAME_SYNC;
		}
		if (r->ff_run > MVM_FRAME_MARKER_LEN || r->discarding)
			continue;

		if (r->hdr_len < MVM_FRAME_HDR_LEN) {
			r->hdr[r->hdr_len++] = b;
			if (r->hdr_len < MVM_FRAME_HDR_LEN)
				continue;
			r->len = (size_t)r->hdr[0] << 24 |
			    (size_t)r->hdr[1] << 16 |
			    (size_t)r->hdr[2] << 8 | r->hdr[3];
			r->have = 0;
			if (r->len > MVM_FRAME_MAX) {
				r->discarding = true;
				*used = i + 1;
				return MVM_FRAME_TOO_LONG;
			}
		} else {
			r->payload[r->have++] = b;
		}
		if (r->have == r->len) {
			r->payload[r->len] = '\0';
			r->done = true;
			*used = i + 1;
			return MVM_FRAME_DONE;
		}
	}
	*used = n;
	return MVM_FRAME_MORE;
}
