/*
 * fuzz_names.c: every id and reference validator on arbitrary bytes.
 *
 * Beyond "no crash", each accepted input must satisfy the rule it was
 * accepted under, and each refusal must carry a printable sentence.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "names.h"
#include "netplan.h"

/* A refusal has the errno it returned and a printable, non-empty sentence. */
static void
refusal_ok(int r, const struct mvm_error *e)
{
	if (r >= 0 || e->code != -r || e->msg[0] == '\0')
		abort();
	for (const char *p = e->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct mvm_error e;
	uint16_t net_id;
	int r;

	for (int k = MVM_NAME_TENANT; k <= MVM_NAME_INSTANCE; k++) {
		mvm_error_clear(&e);
		r = mvm_names_check(k, s, size, &e);
		if (r < 0) {
			refusal_ok(r, &e);
			continue;
		}
		if (size == 0 || size > 63 || s[0] == '-' || s[size - 1] == '-')
			abort();
		for (size_t i = 0; i < size; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
				abort();
	}
	if (mvm_names_is_generated_instance(s, size) &&
	    mvm_names_check(MVM_NAME_INSTANCE, s, size, NULL) != 0)
		abort();

	mvm_error_clear(&e);
	r = mvm_net_parse_subnet(s, size, &net_id, &e);
	if (r < 0)
		refusal_ok(r, &e);
	else {
		/* An accepted subnet is the canonical text of its net_id. */
		char buf[32];
		int n;

		if (net_id > MVM_NET_ID_MAX)
			abort();
		n = mvm_net_format_ip(mvm_net_subnet(net_id), buf);
		memcpy(buf + n, "/24", 4);
		if ((size_t)n + 3 != size || memcmp(buf, s, size) != 0)
			abort();
	}

	mvm_error_clear(&e);
	r = mvm_config_image_check(s, size, &e);
	if (r < 0)
		refusal_ok(r, &e);
	else if (size == 0 || size > MVM_IMAGE_MAX || memchr(s, '\0', size))
		abort();
	return 0;
}
