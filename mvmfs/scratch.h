/*
 * scratch.h: scratch files, the inert files tools create next to the file
 * they mean to replace (sed -i, Ansible, Puppet, Salt, Chef) and then
 * rename onto it.
 *
 * A scratch file lives in memory, in one object directory (named by its
 * errlog object key: "" for the root, "t/acme", ...). It is owned by its
 * creator, holds at most MVMFS_SCRATCH_MAX_BYTES, a directory holds at most
 * MVMFS_SCRATCH_MAX_FILES, and files untouched for MVMFS_SCRATCH_TTL
 * seconds are collected when another one is created.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef MVMFS_SCRATCH_H
#define MVMFS_SCRATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MVMFS_SCRATCH_MAX_BYTES	(4 * 1024 * 1024)
#define MVMFS_SCRATCH_MAX_FILES	64
#define MVMFS_SCRATCH_TTL	3600

struct mvmfs_scratches;

/* An empty table, or NULL when out of memory. */
struct mvmfs_scratches *mvmfs_scratch_new(void);

/* Free the table and every file (their bytes zeroed). `sc` may be NULL. */
void mvmfs_scratch_free(struct mvmfs_scratches *sc);

/*
 * Create `name` in directory `dir`, owned by uid:gid with permission bits
 * `mode`; store its id in *id. Returns 0, -EEXIST, -EDQUOT (too many files
 * in `dir`), -ENAMETOOLONG or -ENOMEM.
 */
int mvmfs_scratch_create(struct mvmfs_scratches *sc, const char *dir,
    const char *name, uid_t uid, gid_t gid, mode_t mode, uint64_t *id);

/* The id of `name` in `dir`. Returns 0 or -ENOENT. */
int mvmfs_scratch_find(struct mvmfs_scratches *sc, const char *dir,
    const char *name, uint64_t *id);

/*
 * Fill st_mode, st_uid, st_gid, st_size and the times of *st for file
 * `id` (other fields are left alone). Returns 0 or -ENOENT.
 */
int mvmfs_scratch_stat(struct mvmfs_scratches *sc, uint64_t id,
    struct stat *st);

/*
 * Write `size` bytes at `off` (a gap reads as zeros). Returns `size`,
 * -EFBIG past MVMFS_SCRATCH_MAX_BYTES, -ENOENT or -ENOMEM.
 */
ssize_t mvmfs_scratch_write(struct mvmfs_scratches *sc, uint64_t id,
    const char *buf, size_t size, off_t off);

/*
 * Copy at most `size` bytes from `off` into *out (malloc'd, the caller
 * frees it; NULL when nothing is there). Returns the count or -ENOENT,
 * -ENOMEM.
 */
ssize_t mvmfs_scratch_read(struct mvmfs_scratches *sc, uint64_t id,
    size_t size, off_t off, char **out);

/* Set the size (-EFBIG beyond the cap). Returns 0, -ENOENT or -ENOMEM. */
int mvmfs_scratch_truncate(struct mvmfs_scratches *sc, uint64_t id,
    off_t size);

/*
 * Change mode bits, owner and times; a NULL pointer leaves that field
 * alone. Returns 0 or -ENOENT.
 */
int mvmfs_scratch_setattr(struct mvmfs_scratches *sc, uint64_t id,
    const mode_t *mode, const uid_t *uid, const gid_t *gid,
    const struct timespec *atime, const struct timespec *mtime);

/*
 * Remove `name` from `dir`. Returns 0 or -ENOENT. Open files of it keep
 * answering -ENOENT afterwards.
 */
int mvmfs_scratch_unlink(struct mvmfs_scratches *sc, const char *dir,
    const char *name);

/*
 * Rename `name` to `newname` within `dir`, replacing a scratch file of
 * that name. Returns 0, -ENOENT or -ENAMETOOLONG.
 */
int mvmfs_scratch_rename(struct mvmfs_scratches *sc, const char *dir,
    const char *name, const char *newname);

/*
 * Call fn(name, id, arg) for every file of `dir`; a non-zero return stops
 * and is returned. `fn` must not call into the table.
 */
int mvmfs_scratch_list(struct mvmfs_scratches *sc, const char *dir,
    int (*fn)(const char *name, uint64_t id, void *arg), void *arg);

#endif
