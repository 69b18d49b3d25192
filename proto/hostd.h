/*
 * hostd.h: the mvm-hostd wire protocol, shared by mvm-hostd (hostd/) and
 * its client (runtime/host/hostc.c). docs/man/mvm-hostd.8 documents it.
 *
 * Transport: a unix SOCK_SEQPACKET socket, so each send is one message and
 * a short or long message is seen as such. The peer's identity comes from
 * SO_PEERCRED, never from a message.
 *
 * Every message is a header followed by exactly `len` payload bytes, its
 * integers in the host's byte order (both ends are on one host). Every request type has one fixed payload size;
 * a request whose `len` differs from it, whose magic or version is wrong,
 * or whose type is unknown is refused (mvm_hostd_check).
 *
 * Names in payloads are fixed char arrays that must hold a NUL within them;
 * bytes after the NUL must be zero, so two requests that mean the same are
 * the same bytes. Nothing in a request is free-form: interface names are
 * never sent at all (hostd derives them from net_id and offset), paths must
 * lie inside hostd's run directory, and ids follow the name rules.
 *
 * A reply is a header whose type is the request's type | MVM_HOSTD_REPLY,
 * whose seq is the request's, and whose payload is struct mvm_hostd_status
 * followed by the type's reply body (none for most). Replies to VERIFY come
 * as several messages, each with MVM_HOSTD_F_MORE but the last.
 *
 * This module does no I/O and depends on nothing but libc.
 */
#ifndef MVM_PROTO_HOSTD_H
#define MVM_PROTO_HOSTD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MVM_HOSTD_MAGIC		0x686d766du	/* "mvmh" read as LE bytes */
#define MVM_HOSTD_VERSION	1
#define MVM_HOSTD_MSG_MAX	8192		/* largest message, either way */
#define MVM_HOSTD_REPLY		0x8000u
#define MVM_HOSTD_F_MORE	0x0001u		/* reply: another one follows */

#define MVM_HOSTD_PATH_MAX	256	/* with its NUL */
#define MVM_HOSTD_ID_MAX	64	/* with its NUL */
#define MVM_HOSTD_IFNAME_MAX	16	/* IFNAMSIZ */
#define MVM_HOSTD_TEXT_MAX	200	/* a reply's sentence, with its NUL */

enum mvm_hostd_type {
	MVM_HOSTD_PING = 1,		/* no payload; status only */
	MVM_HOSTD_BRIDGE_ENSURE = 2,	/* struct mvm_hostd_bridge */
	MVM_HOSTD_BRIDGE_DELETE = 3,	/* struct mvm_hostd_bridge */
	MVM_HOSTD_TAP_ENSURE = 4,	/* struct mvm_hostd_tap */
	MVM_HOSTD_TAP_DELETE = 5,	/* struct mvm_hostd_tap */
	MVM_HOSTD_TAP_STATS = 6,	/* struct mvm_hostd_tap -> _stats */
	MVM_HOSTD_VMM_LAUNCH = 7,	/* struct mvm_hostd_launch -> _proc */
	MVM_HOSTD_RECLAIM = 8,		/* no payload -> struct _reclaimed */
	MVM_HOSTD_VERIFY = 9,		/* no payload -> _diff[] in pages */
	MVM_HOSTD_TYPE_MAX = 9,
};

struct mvm_hostd_hdr {
	uint32_t	magic;		/* MVM_HOSTD_MAGIC */
	uint16_t	version;	/* MVM_HOSTD_VERSION */
	uint16_t	type;		/* enum mvm_hostd_type, | REPLY in replies */
	uint32_t	len;		/* payload bytes after this header */
	uint16_t	flags;		/* MVM_HOSTD_F_*; 0 in requests */
	uint16_t	reserved;	/* 0 */
	uint32_t	seq;		/* chosen by the client, echoed */
	uint32_t	reserved2;	/* 0 */
};

enum mvm_hostd_egress {
	MVM_HOSTD_EGRESS_NONE = 0,	/* no route out of the node */
	MVM_HOSTD_EGRESS_NAT = 1,	/* masqueraded out of the uplink */
};

/* A tenant's bridge: mvm-br<net_id>, gateway 10.240.<net_id>.1/24. */
struct mvm_hostd_bridge {
	uint16_t	net_id;		/* 0..4095 */
	uint8_t		egress;		/* enum mvm_hostd_egress; DELETE: 0 */
	uint8_t		reserved;	/* 0 */
};

/* An instance's tap: mvm-t<net_id>i<offset>, on mvm-br<net_id>. */
struct mvm_hostd_tap {
	uint16_t	net_id;		/* 0..4095 */
	uint16_t	offset;		/* 3..254 */
};

/*
 * Launch a VMM: hostd runs `vmm` (which must be one of the programs it was
 * told to allow) detached, in the node's network namespace, as the peer's
 * uid and gid, with
 *	--api-sock <api_sock> --id <id> --log-path <log_path>
 * stdin /dev/null, stdout and stderr appended to console_path, TMPDIR
 * tmp_dir. Every path must be absolute, normalised (no "." or ".."
 * component, no "//") and inside hostd's run directory; id follows the
 * instance name rules.
 */
struct mvm_hostd_launch {
	char	vmm[MVM_HOSTD_PATH_MAX];
	char	api_sock[108];		/* sun_path's size, with its NUL */
	char	id[MVM_HOSTD_ID_MAX];
	char	log_path[MVM_HOSTD_PATH_MAX];
	char	console_path[MVM_HOSTD_PATH_MAX];
	char	tmp_dir[MVM_HOSTD_PATH_MAX];
};

/* Every reply starts with this. */
struct mvm_hostd_status {
	int32_t	err;			/* 0, or a positive errno */
	char	text[MVM_HOSTD_TEXT_MAX];	/* the error's sentence, or "" */
};

struct mvm_hostd_stats {
	uint64_t	rx_bytes, tx_bytes, rx_packets, tx_packets;
};

struct mvm_hostd_proc {
	int32_t		pid;
	uint32_t	reserved;
	uint64_t	start_time;	/* /proc/<pid>/stat field 22 */
};

struct mvm_hostd_reclaimed {
	uint32_t	links_removed, links_made;
	uint32_t	elements_removed, elements_added;
	uint32_t	table_rebuilt;	/* 1 when the nft table was rewritten */
	uint32_t	reserved;
};

/* One difference between the kernel and the store, for VERIFY. */
enum mvm_hostd_diff_kind {
	MVM_HOSTD_DIFF_MISSING = 1,	/* the store needs it; the kernel lacks it */
	MVM_HOSTD_DIFF_EXTRA = 2,	/* ours in the kernel; the store has no use */
	MVM_HOSTD_DIFF_WRONG = 3,	/* both have it; an attribute differs */
};

struct mvm_hostd_diff {
	uint16_t	kind;		/* enum mvm_hostd_diff_kind */
	uint16_t	reserved;
	char	object[32];	/* "link mvm-t3i4", "set bridges", "chain forward" */
	char	attribute[16];	/* "", "master", "mac", "address", "up", ... */
	char	want[48];	/* what the store implies, or "" */
	char	have[48];	/* what the kernel has, or "" */
};

#define MVM_HOSTD_DIFFS_PER_MSG \
	((MVM_HOSTD_MSG_MAX - sizeof(struct mvm_hostd_hdr) - \
	    sizeof(struct mvm_hostd_status)) / sizeof(struct mvm_hostd_diff))

/* The fixed payload size of a request of `type`, or -1 for an unknown type. */
long mvm_hostd_request_size(uint16_t type);

/* The name of a request type ("TAP_ENSURE"), or "unknown". */
const char *mvm_hostd_type_name(uint16_t type);

/*
 * Check the framing of a received request of `len` bytes in `buf`: at
 * least a header, the magic, the version, no flags, zero reserved fields, a
 * known type and exactly that type's payload size. The fields inside the
 * payload are hostd's to check (hostd/check.c). Returns 0, or -EPROTO
 * (magic, version, length, flags, reserved) or -EBADMSG (unknown type) with
 * a sentence naming what is wrong in `why` (`why_len` bytes).
 */
int mvm_hostd_frame_check(const void *buf, size_t len, char *why,
    size_t why_len);

/*
 * Build a request of `type` with payload `body` (its fixed size) and
 * sequence `seq` into `out` (at least MVM_HOSTD_MSG_MAX bytes). Returns the
 * message length, or -EINVAL for an unknown type.
 */
long mvm_hostd_build(uint16_t type, uint32_t seq, const void *body,
    void *out);

/*
 * Copy `s` into the fixed field `dst` of `size` bytes, zero-padding it.
 * Returns 0, or -ENAMETOOLONG when `s` and its NUL do not fit.
 */
int mvm_hostd_setstr(char *dst, size_t size, const char *s);

#endif
