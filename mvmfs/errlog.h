/*
 * errlog.h: the `err` files of the /mvm tree.
 *
 * Every failed operation on an object is appended to that object's log and
 * the file shows the newest MVMFS_ERRLOG_KEEP entries, one per line:
 *
 *   <seq> <time> <op> <ERRNO_NAME> <message>\n
 *
 * seq counts from 1 per object, time is RFC3339 UTC to the second
 * ("2026-11-26T20:32:37Z"), and control bytes of the message (a newline
 * included) are shown as spaces, so every entry is exactly one line.
 *
 * Objects are named by a key: "" for the node, "t/<tenant>",
 * "p/<tenant>/<pool>" and "i/<tenant>/<pool>/<instance>". The log lives in
 * memory only: it tells a person why the last operations failed; the audit
 * trail is the store's event log.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef MVMFS_ERRLOG_H
#define MVMFS_ERRLOG_H

#include <stddef.h>

/* Entries kept per object; older ones are dropped. */
#define MVMFS_ERRLOG_KEEP	64

struct mvmfs_errlog;

/* A new, empty log, or NULL when out of memory. */
struct mvmfs_errlog *mvmfs_errlog_new(void);

/* Free the log and every entry. `log` may be NULL. */
void	mvmfs_errlog_free(struct mvmfs_errlog *log);

/*
 * Append an entry to the log of `object_key`: `op` names the operation
 * ("write", "mkdir", "commit", ...; at most 15 bytes are kept), `err` is a
 * positive errno, `msg` the sentence (at most 511 bytes are kept). Returns
 * the entry's seq, or -ENOMEM (the entry is then lost).
 */
long	mvmfs_errlog_add(struct mvmfs_errlog *log, const char *object_key,
	    const char *op, int err, const char *msg);

/*
 * Forget the log of `object_key` (the object was destroyed, and a new one
 * of the same name starts from seq 1). Unknown keys are ignored.
 */
void	mvmfs_errlog_forget(struct mvmfs_errlog *log,
	    const char *object_key);

/*
 * The text of the `err` file of `object_key`, oldest entry first; an object
 * without errors has the empty text. On success *out is a NUL-terminated
 * buffer of *len bytes that the caller frees with free(3). Returns 0 or
 * -ENOMEM.
 */
int	mvmfs_errlog_render(struct mvmfs_errlog *log, const char *object_key,
	    char **out, size_t *len);

#endif
