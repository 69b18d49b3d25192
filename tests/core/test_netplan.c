/* test_netplan.c: the address plan, names and MACs at their edges. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "netplan.h"

static void
ip_is(uint32_t addr, const char *want)
{
	char buf[16];
	int n = mvm_net_format_ip(addr, buf);

	cr_assert_str_eq(buf, want);
	cr_assert_eq(n, (int)strlen(want));
}

Test(netplan, subnets_at_the_edges)
{
	ip_is(mvm_net_subnet(0), "10.240.0.0");
	ip_is(mvm_net_subnet(3), "10.240.3.0");
	ip_is(mvm_net_subnet(256), "10.241.0.0");
	ip_is(mvm_net_subnet(4095), "10.255.255.0");
	ip_is(mvm_net_gateway(0), "10.240.0.1");
	ip_is(mvm_net_gateway(4095), "10.255.255.1");
	ip_is(mvm_net_addr(3, 3), "10.240.3.3");
	ip_is(mvm_net_addr(4095, 254), "10.255.255.254");
	ip_is(mvm_net_addr(0, 255), "10.240.0.255");
}

Test(netplan, out_of_range_inputs_stay_in_the_cluster)
{
	ip_is(mvm_net_subnet(4096), "10.240.0.0");
	ip_is(mvm_net_addr(65535, 65535), "10.255.255.255");
}

static int
parse(const char *s, uint16_t *id, struct mvm_error *e)
{
	return mvm_net_parse_subnet(s, strlen(s), id, e);
}

Test(netplan, parse_subnet_accepts_every_cluster_24)
{
	uint16_t id = 9999;

	cr_assert_eq(parse("10.240.0.0/24", &id, NULL), 0);
	cr_assert_eq(id, 0);
	cr_assert_eq(parse("10.240.3.0/24", &id, NULL), 0);
	cr_assert_eq(id, 3);
	cr_assert_eq(parse("10.255.255.0/24", &id, NULL), 0);
	cr_assert_eq(id, 4095);
	for (unsigned n = 0; n <= 4095; n++) {
		char buf[32];

		mvm_net_format_ip(mvm_net_subnet((uint16_t)n), buf);
		strcat(buf, "/24");
		cr_assert_eq(parse(buf, &id, NULL), 0, "%s", buf);
		cr_assert_eq(id, n);
	}
}

Test(netplan, parse_subnet_refuses_bad_text)
{
	static const char *const bad[] = {
		"", "10.240.3.0", "10.240.3.0/23", "10.240.3.0/240",
		"10.240.3.1/24", "10.239.3.0/24", "11.240.3.0/24",
		"010.240.3.0/24", "10.240.03.0/24", "10.240.3.00/24",
		" 10.240.3.0/24", "10.240.3.0/24 ", "10.240.3.0 /24",
		"10.240.256.0/24", "10.240.3/24", "10.240.3.0.0/24",
		"10.240.3.0/024", "10.240.1234.0/24", "a.b.c.d/24",
		"10.240.-3.0/24", "10.240.+3.0/24", "10.240.3.0/24\n",
	};
	uint16_t id = 77;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_error e = { 0, "" };

		cr_assert_eq(parse(bad[i], &id, &e), -EINVAL, "\"%s\"", bad[i]);
		cr_assert_eq(e.code, EINVAL);
		cr_assert_eq(id, 77);
	}
}

Test(netplan, parse_subnet_sentences_quote_the_value)
{
	struct mvm_error e = { 0, "" };
	uint16_t id;

	cr_assert_eq(parse("192.168.1.0/24", &id, &e), -EINVAL);
	cr_assert(strstr(e.msg, "\"192.168.1.0/24\"") != NULL, "%s", e.msg);
	cr_assert(strstr(e.msg, "10.240.0.0/12") != NULL, "%s", e.msg);
	cr_assert_eq(mvm_net_parse_subnet("10.240.\0.0/24", 13, &id, &e),
	    -EINVAL);
	cr_assert(strstr(e.msg, "\\x00") != NULL, "%s", e.msg);
}

Test(netplan, check_net_id)
{
	struct mvm_error e = { 0, "" };

	cr_assert_eq(mvm_net_check_net_id(0, NULL), 0);
	cr_assert_eq(mvm_net_check_net_id(4095, NULL), 0);
	cr_assert_eq(mvm_net_check_net_id(4096, &e), -EINVAL);
	cr_assert(strstr(e.msg, "4096") != NULL, "%s", e.msg);
	cr_assert_eq(mvm_net_check_net_id(-1, &e), -EINVAL);
	cr_assert(strstr(e.msg, "-1") != NULL, "%s", e.msg);
}

static void
set_bit(uint8_t used[32], unsigned i)
{
	used[i / 8] |= (uint8_t)(1u << (i % 8));
}

Test(netplan, lowest_free_starts_at_3)
{
	uint8_t used[32] = { 0 };
	uint16_t off = 0;

	cr_assert_eq(mvm_net_lowest_free(used, &off), 0);
	cr_assert_eq(off, 3);
	set_bit(used, 3);
	set_bit(used, 4);
	set_bit(used, 6);
	cr_assert_eq(mvm_net_lowest_free(used, &off), 0);
	cr_assert_eq(off, 5);
}

Test(netplan, lowest_free_ignores_reserved_bits)
{
	uint8_t used[32];
	uint16_t off = 0;

	/* Everything but 0, 1, 2 and 255 taken, then one freed at the top. */
	memset(used, 0, sizeof(used));
	for (unsigned i = 3; i <= 253; i++)
		set_bit(used, i);
	cr_assert_eq(mvm_net_lowest_free(used, &off), 0);
	cr_assert_eq(off, 254);
}

Test(netplan, full_24_is_enospc)
{
	uint8_t used[32];
	uint16_t off = 42;

	memset(used, 0, sizeof(used));
	for (unsigned i = 3; i <= 254; i++)
		set_bit(used, i);
	cr_assert_eq(mvm_net_lowest_free(used, &off), -ENOSPC);
	cr_assert_eq(off, 42);
	memset(used, 0xff, sizeof(used));
	cr_assert_eq(mvm_net_lowest_free(used, &off), -ENOSPC);
}

Test(netplan, interface_names_fit_ifnamsiz)
{
	static const uint16_t nets[] = { 0, 9, 10, 4095, 4096, 65535 };
	static const uint16_t offs[] = { 0, 3, 254, 255, 256, 65535 };
	char tap[16], br[16];

	mvm_net_tap_name(4095, 254, tap);
	cr_assert_str_eq(tap, "mvm-t4095i254");
	mvm_net_tap_name(0, 3, tap);
	cr_assert_str_eq(tap, "mvm-t0i3");
	mvm_net_bridge_name(4095, br);
	cr_assert_str_eq(br, "mvm-br4095");
	mvm_net_bridge_name(0, br);
	cr_assert_str_eq(br, "mvm-br0");
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		mvm_net_bridge_name(nets[i], br);
		cr_assert_leq(strlen(br), 15);
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			mvm_net_tap_name(nets[i], offs[j], tap);
			cr_assert_leq(strlen(tap), 15, "%s", tap);
		}
	}
}

Test(netplan, tap_names_are_unique)
{
	char a[16], b[16];

	/* "mvm-t1i23" and "mvm-t12i3" must not collide. */
	mvm_net_tap_name(1, 23, a);
	mvm_net_tap_name(12, 3, b);
	cr_assert_str_neq(a, b);
}

Test(netplan, mac_bytes)
{
	uint8_t mac[6];
	char buf[18];

	mvm_net_mac(4095, 254, mac);
	cr_assert_eq(mac[0], 0x02);
	cr_assert_eq(mac[0] & 0x01, 0, "unicast");
	cr_assert_eq(mac[0] & 0x02, 0x02, "locally administered");
	cr_assert_eq(mac[1], 0xfc);
	cr_assert_eq(mac[2], 0x0f);
	cr_assert_eq(mac[3], 0xff);
	cr_assert_eq(mac[4], 0x00);
	cr_assert_eq(mac[5], 0xfe);
	cr_assert_eq(mvm_net_format_mac(mac, buf), 17);
	cr_assert_str_eq(buf, "02:fc:0f:ff:00:fe");
	mvm_net_mac(0, 3, mac);
	mvm_net_format_mac(mac, buf);
	cr_assert_str_eq(buf, "02:fc:00:00:00:03");
	mvm_net_mac(258, 17, mac);
	mvm_net_format_mac(mac, buf);
	cr_assert_str_eq(buf, "02:fc:01:02:00:11");
}
