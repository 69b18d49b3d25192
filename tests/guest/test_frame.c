/* Unit tests of the guest protocol frame codec (proto/frame.c). */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

static struct mvm_frame_reader r;

static void
setup(void)
{
	cr_assert_eq(mvm_frame_reader_init(&r), 0);
}

static void
teardown(void)
{
	mvm_frame_reader_free(&r);
}

TestSuite(frame, .init = setup, .fini = teardown);

Test(frame, header_exact_bytes)
{
	uint8_t h[4];

	cr_assert_eq(mvm_frame_header(0x12, h), 0);
	cr_assert_arr_eq(h, "\x00\x00\x00\x12", 4);
	cr_assert_eq(mvm_frame_header(MVM_FRAME_MAX, h), 0);
	cr_assert_arr_eq(h, "\x00\x04\x00\x00", 4);
	cr_assert_eq(mvm_frame_header(MVM_FRAME_MAX + 1, h), -EMSGSIZE);
}

Test(frame, decodes_one_frame_exactly)
{
	const uint8_t in[] = "\x00\x00\x00\x02{}\x00\x00";
	size_t used;

	cr_assert_eq(mvm_frame_feed(&r, in, sizeof(in) - 1, &used),
	    MVM_FRAME_DONE);
	cr_assert_eq(used, 6);
	cr_assert_eq(r.len, 2);
	cr_assert_str_eq((char *)r.payload, "{}");
	/* The rest is the start of the next header. */
	cr_assert_eq(mvm_frame_feed(&r, in + used, 2, &used), MVM_FRAME_MORE);
	cr_assert_eq(used, 2);
}

Test(frame, byte_at_a_time)
{
	const char *json = "{\"type\":\"Ping\"}";
	uint8_t buf[64];
	size_t n = strlen(json), used;
	enum mvm_frame_event ev = MVM_FRAME_MORE;

	mvm_frame_header(n, buf);
	memcpy(buf + 4, json, n);
	for (size_t i = 0; i < n + 4; i++) {
		cr_assert_eq(ev, MVM_FRAME_MORE, "event before byte %zu", i);
		ev = mvm_frame_feed(&r, buf + i, 1, &used);
		cr_assert_eq(used, 1);
	}
	cr_assert_eq(ev, MVM_FRAME_DONE);
	cr_assert_str_eq((char *)r.payload, json);
}

Test(frame, empty_frame)
{
	size_t used;

	cr_assert_eq(mvm_frame_feed(&r, (const uint8_t *)"\0\0\0\0", 4, &used),
	    MVM_FRAME_DONE);
	cr_assert_eq(r.len, 0);
}

Test(frame, max_size_accepted)
{
	size_t total = 4 + MVM_FRAME_MAX, used, off = 0;
	uint8_t *buf = malloc(total);
	enum mvm_frame_event ev = MVM_FRAME_MORE;

	cr_assert_not_null(buf);
	mvm_frame_header(MVM_FRAME_MAX, buf);
	memset(buf + 4, 'a', MVM_FRAME_MAX);
	while (off < total && ev == MVM_FRAME_MORE) {
		size_t chunk = total - off < 1000 ? total - off : 1000;

		ev = mvm_frame_feed(&r, buf + off, chunk, &used);
		off += used;
	}
	cr_assert_eq(ev, MVM_FRAME_DONE);
	cr_assert_eq(off, total);
	cr_assert_eq(r.len, MVM_FRAME_MAX);
	cr_assert_eq(r.payload[MVM_FRAME_MAX - 1], 'a');
	free(buf);
}

Test(frame, too_long_discards_until_sync)
{
	const uint8_t in[] = "\x00\x04\x00\x01" "{\"a\":1}"
	    "\xff\xff\xff\xff" "\x00\x00\x00\x02{}";
	size_t n = sizeof(in) - 1, used, off = 0;

	cr_assert_eq(mvm_frame_feed(&r, in, n, &used), MVM_FRAME_TOO_LONG);
	cr_assert_eq(used, 4);
	cr_assert_eq(r.len, MVM_FRAME_MAX + 1);
	off = used;
	cr_assert_eq(mvm_frame_feed(&r, in + off, n - off, &used),
	    MVM_FRAME_SYNC);
	off += used;
	cr_assert_eq(off, 4 + 7 + 4);
	cr_assert_eq(mvm_frame_feed(&r, in + off, n - off, &used),
	    MVM_FRAME_DONE);
	cr_assert_str_eq((char *)r.payload, "{}");
}

Test(frame, garbage_text_is_too_long)
{
	const uint8_t in[] = "hello world\n";
	size_t used;

	cr_assert_eq(mvm_frame_feed(&r, in, sizeof(in) - 1, &used),
	    MVM_FRAME_TOO_LONG);
	/* Everything after is discarded, with no event, until a marker. */
	cr_assert_eq(mvm_frame_feed(&r, in, sizeof(in) - 1, &used),
	    MVM_FRAME_MORE);
	cr_assert_eq(used, sizeof(in) - 1);
}

Test(frame, truncated_frame_is_dropped_by_sync)
{
	/* A host that went away after half a frame, then a new host. */
	const uint8_t in[] = "\x00\x00\x00\x10{\"type\":"
	    "\xff\xff\xff\xff\xff\xff" "\x00\x00\x00\x02[]";
	size_t n = sizeof(in) - 1, used, off;

	cr_assert_eq(mvm_frame_feed(&r, in, n, &used), MVM_FRAME_SYNC);
	off = used;
	/* The longer run is swallowed whole. */
	cr_assert_eq(mvm_frame_feed(&r, in + off, n - off, &used),
	    MVM_FRAME_DONE);
	cr_assert_str_eq((char *)r.payload, "[]");
	cr_assert_eq(off + used, n);
}

Test(frame, header_with_two_ff_bytes_is_not_a_marker)
{
	/* Length 0xffff: its header ends with two 0xFF bytes. */
	size_t total = 4 + 0xffff, used;
	uint8_t *buf = malloc(total);

	cr_assert_not_null(buf);
	mvm_frame_header(0xffff, buf);
	cr_assert_arr_eq(buf, "\x00\x00\xff\xff", 4);
	memset(buf + 4, ' ', 0xffff);
	cr_assert_eq(mvm_frame_feed(&r, buf, total, &used), MVM_FRAME_DONE);
	cr_assert_eq(used, total);
	free(buf);
}

Test(frame, reset_forgets_partial_frame)
{
	size_t used;

	cr_assert_eq(mvm_frame_feed(&r, (const uint8_t *)"\0\0\0\x05{}",
	    6, &used), MVM_FRAME_MORE);
	mvm_frame_reader_reset(&r);
	cr_assert_eq(mvm_frame_feed(&r, (const uint8_t *)"\0\0\0\x01x", 5,
	    &used), MVM_FRAME_DONE);
	cr_assert_str_eq((char *)r.payload, "x");
}
