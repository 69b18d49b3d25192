/* hostd.c: framing of mvm-hostd messages: sizes, names, building, checks. */
#include "hostd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct type_info {
	const char	*name;
	size_t		size;
};

/* Indexed by type; entry 0 is unused. */
static const struct type_info types[MVM_HOSTD_TYPE_MAX + 1] = {
	[MVM_HOSTD_PING] = { "PING", 0 },
	[MVM_HOSTD_BRIDGE_ENSURE] = { "BRIDGE_ENSURE",
	    sizeof(struct mvm_hostd_bridge) },
	[MVM_HOSTD_BRIDGE_DELETE] = { "BRIDGE_DELETE",
	    sizeof(struct mvm_hostd_bridge) },
	[MVM_HOSTD_TAP_ENSURE] = { "TAP_ENSURE", sizeof(struct mvm_hostd_tap) },
	[MVM_HOSTD_TAP_DELETE] = { "TAP_DELETE", sizeof(struct mvm_hostd_tap) },
	[MVM_HOSTD_TAP_STATS] = { "TAP_STATS", sizeof(struct mvm_hostd_tap) },
	[MVM_HOSTD_VMM_LAUNCH] = { "VMM_LAUNCH",
	    sizeof(struct mvm_hostd_launch) },
	[MVM_HOSTD_RECLAIM] = { "RECLAIM", 0 },
	[MVM_HOSTD_VERIFY] = { "VERIFY", 0 },
};

long
mvm_hostd_request_size(uint16_t type)
{
	if (type == 0 || type > MVM_HOSTD_TYPE_MAX)
		return -1;
	return (long)types[type].size;
}

const char *
mvm_hostd_type_name(uint16_t type)
{
	if (type == 0 || type > MVM_HOSTD_TYPE_MAX)
		return "unknown";
	return types[type].name;
}

int
mvm_hostd_frame_check(const void *buf, size_t len, char *why, size_t why_len)
{
	struct mvm_hostd_hdr h;
	long want;

	if (len < sizeof(h)) {
		snprintf(why, why_len, "message of %zu bytes is shorter than "
		    "the %zu-byte header", len, sizeof(h));
		return -EPROTO;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != MVM_HOSTD_MAGIC) {
		snprintf(why, why_len, "magic 0x%08x is not 0x%08x", h.magic,
		    MVM_HOSTD_MAGIC);
		return -EPROTO;
	}
	if (h.version != MVM_HOSTD_VERSION) {
		snprintf(why, why_len, "protocol version %u is not %u",
		    h.version, MVM_HOSTD_VERSION);
		return -EPROTO;
	}
	if (h.flags != 0 || h.reserved != 0 || h.reserved2 != 0) {
		snprintf(why, why_len, "a request's flags and reserved header "
		    "fields must be 0");
		return -EPROTO;
	}
	want = mvm_hostd_request_size(h.type);
	if (want < 0) {
		snprintf(why, why_len, "request type %u is unknown", h.type);
		return -EBADMSG;
	}
	if (h.len != (uint32_t)want || len != sizeof(h) + (size_t)want) {
		snprintf(why, why_len, "%s carries %u payload bytes in a "
		    "%zu-byte message; it must carry exactly %ld",
		    mvm_hostd_type_name(h.type), h.len, len, want);
		return -EPROTO;
	}
	return 0;
}

long
mvm_hostd_build(uint16_t type, uint32_t seq, const void *body, void *out)
{
	struct mvm_hostd_hdr h = { .magic = MVM_HOSTD_MAGIC,
	    .version = MVM_HOSTD_VERSION, .type = type, .seq = seq };
	long size = mvm_hostd_request_size(type);

	if (size < 0)
		return -EINVAL;
	h.len = (uint32_t)size;
	memcpy(out, &h, sizeof(h));
	if (size > 0)
		memcpy((char *)out + sizeof(h), body, (size_t)size);
	return (long)sizeof(h) + size;
}

int
mvm_hostd_setstr(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return -ENAMETOOLONG;
	memset(dst, 0, size);
	memcpy(dst, s, n);
	return 0;
}
