/*
 * errlog.c: per-object rings of error entries in a chained hash table.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "errlog.h"

#define BUCKETS		256
#define OP_MAX		15

struct entry {
	long		seq;
	time_t		time;
	int		err;
	char		op[OP_MAX + 1];
	char		msg[MVM_ERROR_MSG_MAX];
};

struct object {
	struct object	*next;
	char		*key;
	long		 seq;		/* of the newest entry */
	struct entry	 ring[MVMFS_ERRLOG_KEEP];	/* by seq % KEEP */
};

struct mvmfs_errlog {
	pthread_mutex_t	 lock;
	struct object	*buckets[BUCKETS];
};

static unsigned
hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % BUCKETS;
}

/* The object of `key`, or NULL. Called with the lock held. */
static struct object **
find(struct mvmfs_errlog *log, const char *key)
{
	struct object **o;

	for (o = &log->buckets[hash(key)]; *o != NULL; o = &(*o)->next)
		if (strcmp((*o)->key, key) == 0)
			break;
	return o;
}

struct mvmfs_errlog *
mvmfs_errlog_new(void)
{
	struct mvmfs_errlog *log;

	if ((log = calloc(1, sizeof(*log))) == NULL)
		return NULL;
	pthread_mutex_init(&log->lock, NULL);
	return log;
}

void
mvmfs_errlog_free(struct mvmfs_errlog *log)
{
	struct object *o, *next;
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < BUCKETS; i++) {
		for (o = log->buckets[i]; o != NULL; o = next) {
			next = o->next;
			free(o->key);
			free(o);
		}
	}
	pthread_mutex_destroy(&log->lock);
	free(log);
}

/* Copy at most size - 1 bytes of src, control bytes turned into spaces. */
static void
copy_line(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++) {
		unsigned char c = src[i];

		dst[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
	}
	dst[i] = '\0';
}

long
mvmfs_errlog_add(struct mvmfs_errlog *log, const char *object_key,
    const char *op, int err, const char *msg)
{
	struct object **slot, *o;
	struct entry *en;
	long seq = -ENOMEM;

	pthread_mutex_lock(&log->lock);
	slot = find(log, object_key);
	if ((o = *slot) == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			goto out;
		if ((o->key = strdup(object_key)) == NULL) {
			free(o);
			goto out;
		}
		*slot = o;
	}
	seq = ++o->seq;
	en = &o->ring[seq % MVMFS_ERRLOG_KEEP];
	en->seq = seq;
	en->time = time(NULL);
	en->err = err;
	copy_line(en->op, sizeof(en->op), op);
	copy_line(en->msg, sizeof(en->msg), msg);
out:
	pthread_mutex_unlock(&log->lock);
	return seq;
}

void
mvmfs_errlog_forget(struct mvmfs_errlog *log, const char *object_key)
{
	struct object **slot, *o;

	pthread_mutex_lock(&log->lock);
	slot = find(log, object_key);
	if ((o = *slot) != NULL) {
		*slot = o->next;
		free(o->key);
		free(o);
	}
	pthread_mutex_unlock(&log->lock);
}

int
mvmfs_errlog_render(struct mvmfs_errlog *log, const char *object_key,
    char **out, size_t *len)
{
	struct object *o;
	struct entry *en;
	struct tm tm;
	char when[32];
	FILE *f;
	long first, s;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if ((f = open_memstream(out, len)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&log->lock);
	if ((o = *find(log, object_key)) != NULL) {
		first = o->seq > MVMFS_ERRLOG_KEEP ?
		    o->seq - MVMFS_ERRLOG_KEEP + 1 : 1;
		for (s = first; s <= o->seq; s++) {
			en = &o->ring[s % MVMFS_ERRLOG_KEEP];
			gmtime_r(&en->time, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			fprintf(f, "%ld %s %s %s %s\n", en->seq, when, en->op,
			    mvm_errno_name(en->err), en->msg);
		}
	}
	pthread_mutex_unlock(&log->lock);
	if (ferror(f))
		rc = -ENOMEM;
	if (fclose(f) != 0)
		rc = -ENOMEM;
	if (rc < 0) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}
