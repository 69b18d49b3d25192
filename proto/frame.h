/*
 * frame.h: the byte framing of the guest agent protocol, shared by the
 * agent (guest/agent) and the host client (runtime/vmm/guest.c).
 *
 * A frame is a 4-byte big-endian payload length followed by that many bytes
 * of JSON text (one object). The payload is at most MVM_FRAME_MAX bytes, so
 * the first header byte is always 0x00 and the second at most 0x04.
 *
 * A sync marker is a run of at least four 0xFF bytes. It can never occur in
 * a valid stream: a header holds at most two consecutive 0xFF bytes and JSON
 * text, being UTF-8, holds none. Wherever a reader meets the marker it drops
 * any partial frame and starts a new one after the run, so a sender that
 * prefixes each request with the marker resynchronises a stream that a
 * previous, interrupted connection left mid-frame. See
 * docs/guest-protocol.md.
 *
 * This module does no I/O and depends on nothing but libc.
 */
#ifndef MVM_GUEST_FRAME_H
#define MVM_GUEST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MVM_FRAME_MAX		(256 * 1024)	/* payload bytes */
#define MVM_FRAME_HDR_LEN	4
#define MVM_FRAME_MARKER_LEN	4
#define MVM_FRAME_MARKER	"\xff\xff\xff\xff"

/*
 * Write the header for a payload of `len` bytes into `hdr`. Returns 0, or
 * -EMSGSIZE when `len` exceeds MVM_FRAME_MAX.
 */
int mvm_frame_header(size_t len, uint8_t hdr[MVM_FRAME_HDR_LEN]);

enum mvm_frame_event {
	MVM_FRAME_MORE,		/* all input consumed, no frame complete yet */
	MVM_FRAME_DONE,		/* a frame is complete: see payload and len */
	MVM_FRAME_SYNC,		/* a sync marker was seen; state was reset */
	MVM_FRAME_TOO_LONG,	/* a header announced more than MVM_FRAME_MAX
				   bytes; input is discarded up to the next
				   sync marker */
};

/* An incremental frame decoder. Treat the fields as private but for the two
 * documented after MVM_FRAME_DONE. */
struct mvm_frame_reader {
	uint8_t		*payload;	/* after DONE: len bytes plus a NUL */
	size_t		 len;		/* after DONE: payload length; after
					   TOO_LONG: the announced length */
	size_t		 have;
	uint8_t		 hdr[MVM_FRAME_HDR_LEN];
	size_t		 hdr_len;
	unsigned	 ff_run;	/* consecutive 0xFF bytes just seen */
	bool		 discarding;	/* after TOO_LONG, until a marker */
	bool		 done;		/* the last event was DONE */
};

/*
 * Prepare `r` for use: allocates the MVM_FRAME_MAX + 1 byte payload buffer,
 * which mvm_frame_reader_free() releases. Returns 0 or -ENOMEM.
 */
int mvm_frame_reader_init(struct mvm_frame_reader *r);
void mvm_frame_reader_free(struct mvm_frame_reader *r);

/* Forget any partial frame and discard state, as a sync marker does. */
void mvm_frame_reader_reset(struct mvm_frame_reader *r);

/*
 * Feed up to `n` bytes of `data` to `r`. Consumption stops right after the
 * byte that completes an event, and *used says how many bytes were taken;
 * call again with the rest. The payload of a DONE frame stays valid until
 * the next call.
 */
enum mvm_frame_event mvm_frame_feed(struct mvm_frame_reader *r,
    const uint8_t *data, size_t n, size_t *used);

#endif
