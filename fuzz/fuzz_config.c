/*
 * fuzz_config.c: tenant and pool configuration text on arbitrary bytes.
 *
 * When a text is accepted, its canonical rendering must be accepted by a
 * fresh object and render to the identical text (so the objects agree on
 * every key), and writing the rendering back onto the object itself must
 * change nothing. A refused text must leave the object untouched.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static void
same_text(const char *a, int na, const char *b, int nb)
{
	if (na < 0 || na != nb || memcmp(a, b, (size_t)na) != 0)
		abort();
}

static void
tenant(const char *s, size_t size)
{
	char t0[MVM_CONFIG_TEXT_MAX], t1[MVM_CONFIG_TEXT_MAX];
	char t2[MVM_CONFIG_TEXT_MAX];
	struct mvm_tenant a, b;
	int n0, n1, n2;

	mvm_tenant_init(&a);
	n0 = mvm_config_tenant_render(&a, t0, sizeof(t0));
	if (mvm_config_tenant_apply_text(&a, s, size, NULL) != 0) {
		n1 = mvm_config_tenant_render(&a, t1, sizeof(t1));
		same_text(t0, n0, t1, n1);
		return;
	}
	n1 = mvm_config_tenant_render(&a, t1, sizeof(t1));
	mvm_tenant_init(&b);
	if (mvm_config_tenant_apply_text(&b, t1, (size_t)n1, NULL) != 0)
		abort();
	n2 = mvm_config_tenant_render(&b, t2, sizeof(t2));
	same_text(t1, n1, t2, n2);
	if (mvm_config_tenant_apply_text(&a, t1, (size_t)n1, NULL) != 0)
		abort();
	n2 = mvm_config_tenant_render(&a, t2, sizeof(t2));
	same_text(t1, n1, t2, n2);
}

static void
pool(const char *s, size_t size)
{
	char t0[MVM_CONFIG_TEXT_MAX], t1[MVM_CONFIG_TEXT_MAX];
	char t2[MVM_CONFIG_TEXT_MAX];
	struct mvm_pool a, b;
	int n0, n1, n2;

	mvm_pool_init(&a);
	n0 = mvm_config_pool_render(&a, t0, sizeof(t0));
	if (mvm_config_pool_apply_text(&a, s, size, NULL) != 0) {
		n1 = mvm_config_pool_render(&a, t1, sizeof(t1));
		same_text(t0, n0, t1, n1);
		return;
	}
	n1 = mvm_config_pool_render(&a, t1, sizeof(t1));
	mvm_pool_init(&b);
	if (mvm_config_pool_apply_text(&b, t1, (size_t)n1, NULL) != 0)
		abort();
	n2 = mvm_config_pool_render(&b, t2, sizeof(t2));
	same_text(t1, n1, t2, n2);
	if (mvm_config_pool_apply_text(&a, t1, (size_t)n1, NULL) != 0)
		abort();
	n2 = mvm_config_pool_render(&a, t2, sizeof(t2));
	same_text(t1, n1, t2, n2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tenant((const char *)data, size);
	pool((const char *)data, size);
	return 0;
}
