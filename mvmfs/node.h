/*
 * node.h: the inode table of mvmfs.
 *
 * Every name the kernel has looked up is a node: a kind (which file or
 * directory of the tree it is) and the ids of the objects it belongs to.
 * A node carries no state of its own; operations read the store each time,
 * so a node whose object was removed simply answers ENOENT.
 *
 * Inode numbers are a hash of the node's key, so an object's files keep
 * their numbers as long as the object exists, across forget and across a
 * restart of the daemon. On the rare collision the next free number is
 * taken. The root is always FUSE_ROOT_ID (1).
 *
 * Lookup counts follow the FUSE protocol: every reply that hands the
 * kernel an entry (lookup, mkdir, create) takes one reference with
 * mvmfs_nodes_ref(); forget drops them; a node whose count reaches zero
 * is freed. The root is never freed.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef MVMFS_NODE_H
#define MVMFS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* Every file and directory of the tree. */
enum mvmfs_kind {
	MVMFS_ROOT,		/* / */
	MVMFS_README,
	MVMFS_NODE_DIR,		/* /node */
	MVMFS_NODE_INFO,
	MVMFS_NODE_STATS,
	MVMFS_NODE_METRICS,
	MVMFS_NODE_CTL,
	MVMFS_NODE_ERR,
	MVMFS_NODE_EVENTS,
	MVMFS_NODE_EXPORT,	/* /node/desired: the node as a document */
	MVMFS_NODE_DESIRED,
	MVMFS_NODE_STATUS,
	MVMFS_TENANTS,		/* /tenants */
	MVMFS_TENANT,		/* /tenants/<t> */
	MVMFS_TENANT_CONFIG,
	MVMFS_TENANT_SECRETS,
	MVMFS_TENANT_STATUS,
	MVMFS_TENANT_CTL,
	MVMFS_TENANT_ERR,
	MVMFS_TENANT_EVENTS,
	MVMFS_POOLS,		/* /tenants/<t>/pools */
	MVMFS_POOL,
	MVMFS_POOL_CONFIG,
	MVMFS_POOL_DESIRED,
	MVMFS_POOL_STATUS,
	MVMFS_POOL_CTL,
	MVMFS_POOL_ERR,
	MVMFS_POOL_EVENTS,
	MVMFS_INSTANCES,	/* .../pools/<p>/instances */
	MVMFS_INSTANCE,
	MVMFS_INSTANCE_STATE,
	MVMFS_INSTANCE_INFO,
	MVMFS_INSTANCE_STATS,
	MVMFS_INSTANCE_LOG,
	MVMFS_INSTANCE_ERR,
	MVMFS_INSTANCE_EVENTS,
	MVMFS_SCRATCH,		/* a scratch file (scratch.h) */
	MVMFS_KIND_COUNT
};

/* What a node is: its kind, the ids above it, and the JSON form flag. */
struct mvmfs_key {
	enum mvmfs_kind	kind;
	bool		json;		/* the `<name>.json` form of a view */
	char		tenant[MVM_ID_MAX + 1];
	char		pool[MVM_ID_MAX + 1];
	char		instance[MVM_ID_MAX + 1];
	uint64_t	scratch;	/* MVMFS_SCRATCH: the file's id */
};

struct mvmfs_nodes;

/* A new table holding only the root. Returns NULL when out of memory. */
struct mvmfs_nodes *mvmfs_nodes_new(void);

/* Free the table and every node. `nt` may be NULL. */
void mvmfs_nodes_free(struct mvmfs_nodes *nt);

/*
 * Find the node of `key`, creating it when absent, add one lookup
 * reference and store its inode number in *ino. Returns 0 or -ENOMEM.
 */
int mvmfs_nodes_ref(struct mvmfs_nodes *nt, const struct mvmfs_key *key,
    uint64_t *ino);

/* Drop `n` lookup references of `ino`; unknown numbers are ignored. */
void mvmfs_nodes_forget(struct mvmfs_nodes *nt, uint64_t ino, uint64_t n);

/* Copy the key of `ino` into *key. Returns 0 or -ENOENT. */
int mvmfs_nodes_get(struct mvmfs_nodes *nt, uint64_t ino,
    struct mvmfs_key *key);

/*
 * The inode number `key` has or would get now, without taking a
 * reference (readdir uses it). Never fails.
 */
uint64_t mvmfs_nodes_peek(struct mvmfs_nodes *nt, const struct mvmfs_key *key);

/*
 * Call fn(ino, arg) for every node of tenant `tenant` the kernel holds.
 * fn runs under the table's lock and must not call back into the table.
 */
void mvmfs_nodes_each_of_tenant(struct mvmfs_nodes *nt, const char *tenant,
    void (*fn)(uint64_t ino, void *arg), void *arg);

/* How many nodes the table holds, the root included (for tests). */
size_t mvmfs_nodes_count(struct mvmfs_nodes *nt);

#endif
