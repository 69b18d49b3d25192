/*
 * netplan.h: the address plan of the cluster, as pure functions.
 *
 * The cluster owns 10.240.0.0/12. Each tenant has a net_id from 0 to 4095
 * and the /24 at 10.240.0.0 + (net_id << 8): net_id 3 is 10.240.3.0/24,
 * net_id 4095 is 10.255.255.0/24. Inside a /24, host offset 1 is the
 * gateway (the tenant bridge), 2 is reserved for image builders, 3 to 254
 * are for instances and 255 is the broadcast address.
 *
 * Addresses are uint32_t in host byte order. Functions that take a net_id
 * or an offset expect validated values (mvm_net_check_net_id); out-of-range
 * inputs are reduced to their low 12 (net_id) or 8 (offset) bits, so names
 * and addresses never leave the cluster or overflow their buffers.
 */
#ifndef MVM_NETPLAN_H
#define MVM_NETPLAN_H

#include <stdint.h>
#include <stddef.h>

#include "error.h"

#define MVM_NET_CLUSTER		0x0af00000u	/* 10.240.0.0/12 */
#define MVM_NET_ID_MAX		4095
#define MVM_NET_GATEWAY_OFFSET	1
#define MVM_NET_BUILDER_OFFSET	2
#define MVM_NET_FIRST_OFFSET	3
#define MVM_NET_LAST_OFFSET	254

/* The tenant's /24 network address, its gateway, and host `offset` in it. */
uint32_t mvm_net_subnet(uint16_t net_id);
uint32_t mvm_net_gateway(uint16_t net_id);
uint32_t mvm_net_addr(uint16_t net_id, uint16_t offset);

/* Write `addr` as a dotted quad. Returns its length (7 to 15). */
int mvm_net_format_ip(uint32_t addr, char out[16]);

/*
 * Parse a tenant subnet of `len` bytes: exactly "a.b.c.0/24" inside the
 * cluster CIDR, decimal octets without leading zeros, no blanks.
 * Returns 0 and sets *net_id, or -EINVAL with a sentence quoting the value.
 */
int mvm_net_parse_subnet(const char *s, size_t len, uint16_t *net_id,
    struct mvm_error *e);

/* Returns 0 when 0 <= v <= 4095, else -EINVAL with a sentence naming v. */
int mvm_net_check_net_id(long v, struct mvm_error *e);

/*
 * `used` is a 256-bit map of host offsets in use (bit i%8 of byte i/8).
 * Returns 0 and sets *offset to the lowest free offset in 3..254, or -ENOSPC
 * when all are taken. Bits 0, 1, 2 and 255 are ignored.
 */
int mvm_net_lowest_free(const uint8_t used[32], uint16_t *offset);

/*
 * Interface names, NUL-terminated, at most 15 bytes for every input:
 * the tap is "mvm-t<net_id>i<offset>" ("mvm-t4095i254"), the bridge
 * "mvm-br<net_id>" ("mvm-br4095").
 */
void mvm_net_tap_name(uint16_t net_id, uint16_t offset, char out[16]);
void mvm_net_bridge_name(uint16_t net_id, char out[16]);

/*
 * The instance MAC 02:fc:<net_id high>:<net_id low>:00:<offset>: locally
 * administered, unicast, unique per (net_id, offset).
 */
void mvm_net_mac(uint16_t net_id, uint16_t offset, uint8_t mac[6]);

/* Write `mac` as "02:fc:0f:ff:00:fe". Returns 17. */
int mvm_net_format_mac(const uint8_t mac[6], char out[18]);

#endif
