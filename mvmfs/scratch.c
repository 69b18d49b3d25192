/*
 * scratch.c: scratch files in memory (see scratch.h). One list behind one
 * mutex: a node holds a few files at a time, briefly.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scratch.h"

#define DIR_MAX		160
#define NAME_MAX_	255

struct file {
	struct file	*next;
	uint64_t	 id;
	char		 dir[DIR_MAX];
	char		 name[NAME_MAX_ + 1];
	uid_t		 uid;
	gid_t		 gid;
	mode_t		 mode;
	struct timespec	 atime, mtime, ctime;
	char		*data;
	size_t		 len, cap;
};

struct mvmfs_scratches {
	pthread_mutex_t	 lock;
	struct file	*files;
	uint64_t	 next_id;
};

static void
file_free(struct file *f)
{
	if (f->data != NULL)
		explicit_bzero(f->data, f->cap);
	free(f->data);
	free(f);
}

static struct file *
by_id(struct mvmfs_scratches *sc, uint64_t id)
{
	struct file *f;

	for (f = sc->files; f != NULL; f = f->next)
		if (f->id == id)
			return f;
	return NULL;
}

static struct file **
by_name(struct mvmfs_scratches *sc, const char *dir, const char *name)
{
	struct file **pp;

	for (pp = &sc->files; *pp != NULL; pp = &(*pp)->next)
		if (strcmp((*pp)->dir, dir) == 0 &&
		    strcmp((*pp)->name, name) == 0)
			return pp;
	return NULL;
}

/* Drop files untouched for longer than the TTL. */
static void
collect(struct mvmfs_scratches *sc, time_t now)
{
	struct file **pp = &sc->files, *f;

	while ((f = *pp) != NULL) {
		if (now - f->mtime.tv_sec > MVMFS_SCRATCH_TTL &&
		    now - f->atime.tv_sec > MVMFS_SCRATCH_TTL) {
			*pp = f->next;
			file_free(f);
		} else {
			pp = &f->next;
		}
	}
}

static int
reserve(struct file *f, size_t need)
{
	size_t cap;
	char *np;

	if (need > MVMFS_SCRATCH_MAX_BYTES)
		return -EFBIG;
	if (need <= f->cap)
		return 0;
	for (cap = f->cap ? f->cap : 4096; cap < need; cap *= 2)
		;
	if (cap > MVMFS_SCRATCH_MAX_BYTES)
		cap = MVMFS_SCRATCH_MAX_BYTES;
	/* Copy rather than realloc, so old bytes can be zeroed. */
	if ((np = calloc(1, cap)) == NULL)
		return -ENOMEM;
	if (f->data != NULL) {
		memcpy(np, f->data, f->len);
		explicit_bzero(f->data, f->cap);
		free(f->data);
	}
	f->data = np;
	f->cap = cap;
	return 0;
}

struct mvmfs_scratches *
mvmfs_scratch_new(void)
{
	struct mvmfs_scratches *sc;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return NULL;
	pthread_mutex_init(&sc->lock, NULL);
	sc->next_id = 1;
	return sc;
}

void
mvmfs_scratch_free(struct mvmfs_scratches *sc)
{
	struct file *f;

	if (sc == NULL)
		return;
	while ((f = sc->files) != NULL) {
		sc->files = f->next;
		file_free(f);
	}
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

int
mvmfs_scratch_create(struct mvmfs_scratches *sc, const char *dir,
    const char *name, uid_t uid, gid_t gid, mode_t mode, uint64_t *id)
{
	struct file *f;
	struct timespec now;
	int rc = 0, count = 0;

	if (strlen(dir) >= DIR_MAX || strlen(name) > NAME_MAX_)
		return -ENAMETOOLONG;
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&sc->lock);
	collect(sc, now.tv_sec);
	if (by_name(sc, dir, name) != NULL) {
		rc = -EEXIST;
		goto out;
	}
	for (f = sc->files; f != NULL; f = f->next)
		count += strcmp(f->dir, dir) == 0;
	if (count >= MVMFS_SCRATCH_MAX_FILES) {
		rc = -EDQUOT;
		goto out;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	strcpy(f->dir, dir);
	strcpy(f->name, name);
	f->uid = uid;
	f->gid = gid;
	f->mode = mode & 07777;
	f->atime = f->mtime = f->ctime = now;
	f->id = *id = sc->next_id++;
	f->next = sc->files;
	sc->files = f;
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_find(struct mvmfs_scratches *sc, const char *dir,
    const char *name, uint64_t *id)
{
	struct file **pp;
	int rc = -ENOENT;

	pthread_mutex_lock(&sc->lock);
	if ((pp = by_name(sc, dir, name)) != NULL) {
		*id = (*pp)->id;
		rc = 0;
	}
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_stat(struct mvmfs_scratches *sc, uint64_t id, struct stat *st)
{
	struct file *f;
	int rc = -ENOENT;

	pthread_mutex_lock(&sc->lock);
	if ((f = by_id(sc, id)) != NULL) {
		st->st_mode = S_IFREG | f->mode;
		st->st_uid = f->uid;
		st->st_gid = f->gid;
		st->st_size = f->len;
		st->st_atim = f->atime;
		st->st_mtim = f->mtime;
		st->st_ctim = f->ctime;
		rc = 0;
	}
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

ssize_t
mvmfs_scratch_write(struct mvmfs_scratches *sc, uint64_t id, const char *buf,
    size_t size, off_t off)
{
	struct file *f;
	ssize_t rc;

	if (off < 0)
		return -EINVAL;
	pthread_mutex_lock(&sc->lock);
	if ((f = by_id(sc, id)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if ((size_t)off > MVMFS_SCRATCH_MAX_BYTES) {
		rc = -EFBIG;
		goto out;
	}
	if ((rc = reserve(f, (size_t)off + size)) < 0)
		goto out;
	memcpy(f->data + off, buf, size);
	if ((size_t)off + size > f->len)
		f->len = (size_t)off + size;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->ctime = f->mtime;
	rc = (ssize_t)size;
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

ssize_t
mvmfs_scratch_read(struct mvmfs_scratches *sc, uint64_t id, size_t size,
    off_t off, char **out)
{
	struct file *f;
	ssize_t rc = 0;

	*out = NULL;
	pthread_mutex_lock(&sc->lock);
	if ((f = by_id(sc, id)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (off < 0 || (size_t)off >= f->len)
		goto out;
	if (size > f->len - off)
		size = f->len - off;
	if ((*out = malloc(size)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(*out, f->data + off, size);
	clock_gettime(CLOCK_REALTIME, &f->atime);
	rc = (ssize_t)size;
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_truncate(struct mvmfs_scratches *sc, uint64_t id, off_t size)
{
	struct file *f;
	int rc = 0;

	if (size < 0)
		return -EINVAL;
	pthread_mutex_lock(&sc->lock);
	if ((f = by_id(sc, id)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if ((size_t)size > f->len) {
		if ((rc = reserve(f, size)) < 0)
			goto out;
		memset(f->data + f->len, 0, size - f->len);
	} else if (f->data != NULL) {
		explicit_bzero(f->data + size, f->len - size);
	}
	f->len = size;
	clock_gettime(CLOCK_REALTIME, &f->mtime);
	f->ctime = f->mtime;
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_setattr(struct mvmfs_scratches *sc, uint64_t id,
    const mode_t *mode, const uid_t *uid, const gid_t *gid,
    const struct timespec *atime, const struct timespec *mtime)
{
	struct file *f;
	int rc = 0;

	pthread_mutex_lock(&sc->lock);
	if ((f = by_id(sc, id)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	if (mode != NULL)
		f->mode = *mode & 07777;
	if (uid != NULL)
		f->uid = *uid;
	if (gid != NULL)
		f->gid = *gid;
	if (atime != NULL)
		f->atime = *atime;
	if (mtime != NULL)
		f->mtime = *mtime;
	clock_gettime(CLOCK_REALTIME, &f->ctime);
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_unlink(struct mvmfs_scratches *sc, const char *dir,
    const char *name)
{
	struct file **pp, *f;
	int rc = -ENOENT;

	pthread_mutex_lock(&sc->lock);
	if ((pp = by_name(sc, dir, name)) != NULL) {
		f = *pp;
		*pp = f->next;
		file_free(f);
		rc = 0;
	}
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_rename(struct mvmfs_scratches *sc, const char *dir,
    const char *name, const char *newname)
{
	struct file **pp, *f, *old;
	int rc = 0;

	if (strlen(newname) > NAME_MAX_)
		return -ENAMETOOLONG;
	pthread_mutex_lock(&sc->lock);
	if ((pp = by_name(sc, dir, name)) == NULL) {
		rc = -ENOENT;
		goto out;
	}
	f = *pp;
	if (strcmp(name, newname) == 0)
		goto out;
	if ((pp = by_name(sc, dir, newname)) != NULL) {
		old = *pp;
		*pp = old->next;
		file_free(old);
	}
	strcpy(f->name, newname);
	clock_gettime(CLOCK_REALTIME, &f->ctime);
out:
	pthread_mutex_unlock(&sc->lock);
	return rc;
}

int
mvmfs_scratch_list(struct mvmfs_scratches *sc, const char *dir,
    int (*fn)(const char *name, uint64_t id, void *arg), void *arg)
{
	struct file *f;
	int rc = 0;

	pthread_mutex_lock(&sc->lock);
	for (f = sc->files; f != NULL && rc == 0; f = f->next)
		if (strcmp(f->dir, dir) == 0)
			rc = fn(f->name, f->id, arg);
	pthread_mutex_unlock(&sc->lock);
	return rc;
}
