/* netplan.c: subnets, addresses, interface names and MACs of tenants. */
#include "netplan.h"

#include <errno.h>
#include <stdio.h>

#include "kv.h"

#define NET_ID_MASK	0x0fffu
#define OFFSET_MASK	0x00ffu

uint32_t
mvm_net_subnet(uint16_t net_id)
{
	return MVM_NET_CLUSTER + ((uint32_t)(net_id & NET_ID_MASK) << 8);
}

uint32_t
mvm_net_gateway(uint16_t net_id)
{
	return mvm_net_addr(net_id, MVM_NET_GATEWAY_OFFSET);
}

uint32_t
mvm_net_addr(uint16_t net_id, uint16_t offset)
{
	return mvm_net_subnet(net_id) | (offset & OFFSET_MASK);
}

int
mvm_net_format_ip(uint32_t addr, char out[16])
{
	return snprintf(out, 16, "%u.%u.%u.%u", addr >> 24,
	    (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

/*
 * Read one octet at s[*i..len): 1 to 3 digits, no leading zero, at most
 * 255. Returns 0 and advances *i, or -1.
 */
static int
parse_octet(const char *s, size_t len, size_t *i, uint32_t *out)
{
	size_t start = *i;
	uint32_t v = 0;

	while (*i < len && s[*i] >= '0' && s[*i] <= '9' && *i - start < 3)
		v = v * 10 + (uint32_t)(s[(*i)++] - '0');
	if (*i == start || v > 255 || (s[start] == '0' && *i - start > 1))
		return -1;
	*out = v;
	return 0;
}

int
mvm_net_parse_subnet(const char *s, size_t len, uint16_t *net_id,
    struct mvm_error *e)
{
	char q[MVM_KV_ESCAPE_SIZE];
	uint32_t o[4];
	size_t i = 0;

	for (int k = 0; k < 4; k++) {
		if (parse_octet(s, len, &i, &o[k]) < 0 ||
		    i == len || s[i] != (k < 3 ? '.' : '/'))
			goto syntax;
		i++;
	}
	if (len - i != 2 || s[i] != '2' || s[i + 1] != '4')
		goto syntax;
	if (o[0] != 10 || o[1] < 240 || o[3] != 0)
		return mvm_error_set(e, EINVAL,
		    "subnet \"%s\" is not a /24 inside the cluster range "
		    "10.240.0.0/12; tenant subnets are 10.X.Y.0/24 with X "
		    "from 240 to 255", mvm_kv_escape(s, len, q));
	*net_id = (uint16_t)(((o[1] - 240) << 8) | o[2]);
	return 0;
syntax:
	return mvm_error_set(e, EINVAL,
	    "subnet \"%s\" is not written as a.b.c.0/24 (decimal octets, no "
	    "leading zeros, no blanks)", mvm_kv_escape(s, len, q));
}

int
mvm_net_check_net_id(long v, struct mvm_error *e)
{
	if (v < 0 || v > MVM_NET_ID_MAX)
		return mvm_error_set(e, EINVAL,
		    "net_id %ld is out of range; it must be from 0 to %d",
		    v, MVM_NET_ID_MAX);
	return 0;
}

int
mvm_net_lowest_free(const uint8_t used[32], uint16_t *offset)
{
	for (unsigned i = MVM_NET_FIRST_OFFSET; i <= MVM_NET_LAST_OFFSET; i++) {
		if ((used[i / 8] & (1u << (i % 8))) == 0) {
			*offset = (uint16_t)i;
			return 0;
		}
	}
	return -ENOSPC;
}

void
mvm_net_tap_name(uint16_t net_id, uint16_t offset, char out[16])
{
	snprintf(out, 16, "mvm-t%ui%u", net_id & NET_ID_MASK,
	    offset & OFFSET_MASK);
}

void
mvm_net_bridge_name(uint16_t net_id, char out[16])
{
	snprintf(out, 16, "mvm-br%u", net_id & NET_ID_MASK);
}

void
mvm_net_mac(uint16_t net_id, uint16_t offset, uint8_t mac[6])
{
	net_id &= NET_ID_MASK;
	mac[0] = 0x02;
	mac[1] = 0xfc;
	mac[2] = (uint8_t)(net_id >> 8);
	mac[3] = (uint8_t)(net_id & 0xff);
	mac[4] = 0x00;
	mac[5] = (uint8_t)(offset & OFFSET_MASK);
}

int
mvm_net_format_mac(const uint8_t mac[6], char out[18])
{
	return snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x",
	    mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}
