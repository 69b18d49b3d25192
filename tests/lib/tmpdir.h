/*
 * tmpdir.h: temporary directories for the tests that need a real file
 * system (a store file, sockets, an image copy).
 */
#ifndef MVM_TESTS_TMPDIR_H
#define MVM_TESTS_TMPDIR_H

#include <stddef.h>

/*
 * Make a new directory /tmp/mvm-<name>-XXXXXX (mode 0700) and write its
 * path into `dir` of `len` bytes. The calling test fails when it cannot.
 */
void tmpdir_make(char *dir, size_t len, const char *name);

/*
 * Remove `dir` and everything below it, without following symbolic links.
 * Best effort: what cannot be removed is left. An empty `dir` is ignored.
 */
void tmpdir_remove(const char *dir);

#endif
