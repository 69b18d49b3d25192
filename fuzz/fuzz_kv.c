/*
 * fuzz_kv.c: the key=value line parser, its number helpers and the desired
 * counts parser on arbitrary bytes.
 *
 * Checked properties: a parsed pair lies inside the line and obeys the
 * grammar; an accepted number or boolean is the canonical text of its
 * value; accepted counts render and parse back to the same counts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kv.h"

static void
check_pair(const char *line, size_t len, const struct mvm_kv *kv)
{
	char buf[16];
	uint32_t u;
	bool b;

	if (kv->key < line || kv->key + kv->key_len > line + len ||
	    kv->value < line || kv->value + kv->value_len > line + len)
		abort();
	if (kv->key_len == 0 || kv->key_len > MVM_KV_KEY_MAX ||
	    kv->value_len > MVM_KV_VALUE_MAX)
		abort();
	if (kv->key[0] < 'a' || kv->key[0] > 'z')
		abort();
	for (size_t i = 0; i < kv->value_len; i++) {
		unsigned char c = (unsigned char)kv->value[i];

		if (c < 0x20 || c == 0x7f)
			abort();
	}
	if (kv->value_len > 0 && (kv->value[0] == ' ' ||
	    kv->value[kv->value_len - 1] == ' '))
		abort();

	if (mvm_kv_u32(kv, 0, UINT32_MAX, &u, NULL) == 0) {
		int n = snprintf(buf, sizeof(buf), "%u", u);

		if ((size_t)n != kv->value_len ||
		    memcmp(buf, kv->value, kv->value_len) != 0)
			abort();
		if (mvm_kv_u32(kv, u, u, &u, NULL) != 0)
			abort();
		if (u > 0 && mvm_kv_u32(kv, 0, u - 1, &u, NULL) != -EINVAL)
			abort();
	}
	if (mvm_kv_bool(kv, &b, NULL) == 0 && kv->value_len > 5)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *line;
	struct mvm_counts c = { 0, 0, 0 }, again = { 7, 7, 7 };
	size_t pos = 0, llen;
	struct mvm_kv kv;
	char buf[64];
	int n;

	while (mvm_kv_next_line(s, size, &pos, &line, &llen)) {
		if (line + llen > s + size || memchr(line, '\n', llen))
			abort();
		if (mvm_kv_parse_line(line, llen, &kv, NULL) == 0)
			check_pair(line, llen, &kv);
	}

	if (mvm_config_counts_parse(s, size, &c, NULL) == 0) {
		if (c.running > 100 || c.warm > 100 || c.sleeping > 100)
			abort();
		n = mvm_config_counts_render(&c, buf, sizeof(buf));
		if (n < 0 || mvm_config_counts_parse(buf, (size_t)n, &again,
		    NULL) != 0)
			abort();
		if (again.running != c.running || again.warm != c.warm ||
		    again.sleeping != c.sleeping)
			abort();
	}
	return 0;
}
