/*
 * tmpdir.h: temporary directories for the tests that need a real file
 * system (a store file, sockets, an image copy, a fake /proc).
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
 * Best effort: what cannot be removed is left. Returns 0 when `dir` is gone
 * afterwards (an empty `dir` is ignored and counts as gone), or -ENOTEMPTY
 * when something was left, or the errno of lstat(2) on `dir`.
 */
int tmpdir_remove(const char *dir);

/*
 * Write `text` to the file `root`/`rel`, making the directories on the way
 * (mode 0755). The calling test fails when it cannot.
 */
void tmpdir_put(const char *root, const char *rel, const char *text);

#endif
