/*
 * golden.h: golden files, for the text that is mvm's API (the README of
 * the tree, the canonical config forms, the keys of the views, the
 * sentences of the `err` files). A test renders the text with the real
 * code and compares it with tests/golden/<name>.txt, so that a change of
 * wording shows as a diff in review.
 *
 * To accept a change, run the test with MVM_GOLDEN_UPDATE=1 in the
 * environment: it then writes the text it got into the golden file and
 * passes, and the new file goes into the commit with the change.
 *
 * Every function here is for Criterion tests: where something fails, it
 * fails the test with a Criterion assertion.
 */
#ifndef MVM_TESTS_GOLDEN_H
#define MVM_TESTS_GOLDEN_H

#include <stddef.h>

/*
 * Compare the `len` bytes of `text` with the golden file <name>.txt of
 * tests/golden. When they differ (or the file is missing), print a unified
 * diff from the golden file to `text` on stderr and fail the test; with
 * MVM_GOLDEN_UPDATE=1, write `text` to the golden file instead, log that it
 * did, and go on.
 */
void	golden_check(const char *name, const char *text, size_t len);

/*
 * A copy of `text` with every occurrence of `from` (not empty) replaced by
 * `to`, for the parts of a text that change from run to run (a temporary
 * directory). The caller frees it with free(3).
 */
char	*golden_replace(const char *text, const char *from, const char *to);

#endif
