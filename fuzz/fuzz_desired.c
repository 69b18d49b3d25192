/*
 * fuzz_desired.c: the fleet desired-state document on arbitrary bytes.
 *
 * A refused document must leave no document behind. An accepted one must
 * render, the rendering must be accepted in turn and parse to an equal
 * document, and rendering that again must give the identical text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desired.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mvm_desired *a = NULL, *b = NULL;
	char *t1 = NULL, *t2 = NULL;
	size_t n1, n2;

	if (mvm_desired_parse((const char *)data, size, &a, NULL) != 0) {
		if (a != NULL)
			abort();
		return 0;
	}
	if (mvm_desired_render(a, &t1, &n1) != 0 ||
	    mvm_desired_parse(t1, n1, &b, NULL) != 0 ||
	    !mvm_desired_equal(a, b) ||
	    mvm_desired_render(b, &t2, &n2) != 0 ||
	    n1 != n2 || memcmp(t1, t2, n1) != 0)
		abort();
	free(t1);
	free(t2);
	mvm_desired_free(a);
	mvm_desired_free(b);
	return 0;
}
