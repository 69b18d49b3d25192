/*
 * net.h: mvm-hostd's network data plane: tenant bridges, instance taps and
 * the nftables table "mvm", all in the node's network namespace (the one
 * hostd entered at start, see netns.h).
 *
 * Names, addresses and MACs come from runtime/core/netplan.h only; callers
 * pass validated net_ids and offsets (hostd/check.c). Every operation is
 * idempotent: deleting what is absent succeeds, ensuring what is present
 * and identical succeeds, and ensuring what is present but different fixes
 * it. Kernel objects are changed through rtnetlink (libmnl) and nftables
 * (libnftnl), never by running ip or nft; a netlink socket that saw an
 * error is replaced before the next request.
 *
 * One thread: hostd serves one request at a time.
 */
#ifndef MVM_HOSTD_NET_H
#define MVM_HOSTD_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "hostd.h"

struct hostd_net;

struct hostd_net_config {
	const char	*uplink;	/* the node's uplink interface, or NULL */
	const char	*store_path;	/* the store, read for reclaim and verify */
};

/*
 * Open the data plane in the current network namespace: netlink sockets,
 * probe br_netfilter, enable IPv4 forwarding, and make sure the nft table
 * exists (without touching its elements). Returns 0 and sets *out, or a
 * negative errno with a sentence.
 */
int hostd_net_open(const struct hostd_net_config *cfg, struct hostd_net **out,
    struct mvm_error *e);
void hostd_net_close(struct hostd_net *n);

/* The tenant's bridge with its pinned MAC, gateway address, up; its egress. */
int hostd_net_bridge_ensure(struct hostd_net *n, uint16_t net_id,
    enum mvm_hostd_egress egress, struct mvm_error *e);
int hostd_net_bridge_delete(struct hostd_net *n, uint16_t net_id,
    struct mvm_error *e);

/*
 * The instance's persistent tap, owned by uid:gid, with its pinned MAC, on
 * its tenant's bridge (ensured first), up.
 */
int hostd_net_tap_ensure(struct hostd_net *n, uint16_t net_id,
    uint16_t offset, uid_t uid, gid_t gid, struct mvm_error *e);
int hostd_net_tap_delete(struct hostd_net *n, uint16_t net_id,
    uint16_t offset, struct mvm_error *e);

/* The tap's counters. -ENOENT when it does not exist. */
int hostd_net_tap_stats(struct hostd_net *n, uint16_t net_id, uint16_t offset,
    struct mvm_hostd_stats *out, struct mvm_error *e);

/*
 * Make the kernel match the store: remove our links and set elements the
 * store does not need, create what it needs, rebuild the table if its
 * chains or rules differ (one atomic batch). Counts what was done in *out.
 */
int hostd_net_reclaim(struct hostd_net *n, struct mvm_hostd_reclaimed *out,
    struct mvm_error *e);

/*
 * List every difference between the kernel and the store. On success sets
 * *out (malloc'd, the caller frees; NULL when *count is 0) and *count.
 */
int hostd_net_verify(struct hostd_net *n, struct mvm_hostd_diff **out,
    size_t *count, struct mvm_error *e);

/* Whether bridged frames cross the IP hooks here (br_netfilter), for logs. */
bool hostd_net_br_netfilter(const struct hostd_net *n);

#endif
