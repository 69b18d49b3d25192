/*
 * node.c: the inode table (see node.h). Two chained hash tables index the
 * same nodes, one by inode number and one by key, behind one mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "node.h"

#define NBUCKETS	1024
#define ROOT_INO	1

struct node {
	struct mvmfs_key key;
	uint64_t	 ino;
	uint64_t	 nlookup;
	struct node	*next_ino;
	struct node	*next_key;
};

struct mvmfs_nodes {
	pthread_mutex_t	 lock;
	struct node	*by_ino[NBUCKETS];
	struct node	*by_key[NBUCKETS];
	size_t		 count;
};

/* FNV-1a over the key's meaningful bytes. */
static uint64_t
key_hash(const struct mvmfs_key *k)
{
	const char *parts[3] = { k->tenant, k->pool, k->instance };
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;
	const char *s;

	h = (h ^ (uint64_t)k->kind) * 0x100000001b3ULL;
	h = (h ^ (uint64_t)k->json) * 0x100000001b3ULL;
	h = (h ^ k->scratch) * 0x100000001b3ULL;
	for (i = 0; i < 3; i++) {
		for (s = parts[i]; *s != '\0'; s++)
			h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL;
	}
	return h;
}

static bool
key_equal(const struct mvmfs_key *a, const struct mvmfs_key *b)
{
	return a->kind == b->kind && a->json == b->json &&
	    a->scratch == b->scratch &&
	    strcmp(a->tenant, b->tenant) == 0 &&
	    strcmp(a->pool, b->pool) == 0 &&
	    strcmp(a->instance, b->instance) == 0;
}

static struct node *
find_ino(struct mvmfs_nodes *nt, uint64_t ino)
{
	struct node *n;

	for (n = nt->by_ino[ino % NBUCKETS]; n != NULL; n = n->next_ino)
		if (n->ino == ino)
			return n;
	return NULL;
}

static struct node *
find_key(struct mvmfs_nodes *nt, const struct mvmfs_key *k, uint64_t h)
{
	struct node *n;

	for (n = nt->by_key[h % NBUCKETS]; n != NULL; n = n->next_key)
		if (key_equal(&n->key, k))
			return n;
	return NULL;
}

/* The number a new node of hash `h` gets: h, or the next free one. */
static uint64_t
free_ino(struct mvmfs_nodes *nt, const struct mvmfs_key *k, uint64_t h)
{
	uint64_t ino = k->kind == MVMFS_ROOT ? ROOT_INO : h;

	if (k->kind == MVMFS_ROOT)
		return ino;
	while (ino <= ROOT_INO || find_ino(nt, ino) != NULL)
		ino++;
	return ino;
}

static void
insert(struct mvmfs_nodes *nt, struct node *n, uint64_t h)
{
	n->next_ino = nt->by_ino[n->ino % NBUCKETS];
	nt->by_ino[n->ino % NBUCKETS] = n;
	n->next_key = nt->by_key[h % NBUCKETS];
	nt->by_key[h % NBUCKETS] = n;
	nt->count++;
}

static void
unlink_node(struct mvmfs_nodes *nt, struct node *n)
{
	struct node **pp;

	for (pp = &nt->by_ino[n->ino % NBUCKETS]; *pp != n;
	    pp = &(*pp)->next_ino)
		;
	*pp = n->next_ino;
	for (pp = &nt->by_key[key_hash(&n->key) % NBUCKETS]; *pp != n;
	    pp = &(*pp)->next_key)
		;
	*pp = n->next_key;
	nt->count--;
}

struct mvmfs_nodes *
mvmfs_nodes_new(void)
{
	struct mvmfs_nodes *nt;
	struct node *root;

	if ((nt = calloc(1, sizeof(*nt))) == NULL)
		return NULL;
	if ((root = calloc(1, sizeof(*root))) == NULL) {
		free(nt);
		return NULL;
	}
	pthread_mutex_init(&nt->lock, NULL);
	root->key.kind = MVMFS_ROOT;
	root->ino = ROOT_INO;
	root->nlookup = 1;
	insert(nt, root, key_hash(&root->key));
	return nt;
}

void
mvmfs_nodes_free(struct mvmfs_nodes *nt)
{
	struct node *n, *next;
	size_t i;

	if (nt == NULL)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		for (n = nt->by_ino[i]; n != NULL; n = next) {
			next = n->next_ino;
			free(n);
		}
	}
	pthread_mutex_destroy(&nt->lock);
	free(nt);
}

int
mvmfs_nodes_ref(struct mvmfs_nodes *nt, const struct mvmfs_key *key,
    uint64_t *ino)
{
	uint64_t h = key_hash(key);
	struct node *n;
	int rc = 0;

	pthread_mutex_lock(&nt->lock);
	if ((n = find_key(nt, key, h)) == NULL) {
		if ((n = calloc(1, sizeof(*n))) == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		n->key = *key;
		n->ino = free_ino(nt, key, h);
		insert(nt, n, h);
	}
	n->nlookup++;
	*ino = n->ino;
out:
	pthread_mutex_unlock(&nt->lock);
	return rc;
}

void
mvmfs_nodes_forget(struct mvmfs_nodes *nt, uint64_t ino, uint64_t count)
{
	struct node *n;

	pthread_mutex_lock(&nt->lock);
	if ((n = find_ino(nt, ino)) != NULL && ino != ROOT_INO) {
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (n->nlookup == 0) {
			unlink_node(nt, n);
			free(n);
		}
	}
	pthread_mutex_unlock(&nt->lock);
}

int
mvmfs_nodes_get(struct mvmfs_nodes *nt, uint64_t ino, struct mvmfs_key *key)
{
	struct node *n;
	int rc = -ENOENT;

	pthread_mutex_lock(&nt->lock);
	if ((n = find_ino(nt, ino)) != NULL) {
		*key = n->key;
		rc = 0;
	}
	pthread_mutex_unlock(&nt->lock);
	return rc;
}

void
mvmfs_nodes_each_of_tenant(struct mvmfs_nodes *nt, const char *tenant,
    void (*fn)(uint64_t ino, void *arg), void *arg)
{
	struct node *n;

	pthread_mutex_lock(&nt->lock);
	for (size_t i = 0; i < NBUCKETS; i++)
		for (n = nt->by_ino[i]; n != NULL; n = n->next_ino)
			if (strcmp(n->key.tenant, tenant) == 0)
				fn(n->ino, arg);
	pthread_mutex_unlock(&nt->lock);
}

uint64_t
mvmfs_nodes_peek(struct mvmfs_nodes *nt, const struct mvmfs_key *key)
{
	uint64_t h = key_hash(key), ino;
	struct node *n;

	pthread_mutex_lock(&nt->lock);
	n = find_key(nt, key, h);
	ino = n != NULL ? n->ino : free_ino(nt, key, h);
	pthread_mutex_unlock(&nt->lock);
	return ino;
}

size_t
mvmfs_nodes_count(struct mvmfs_nodes *nt)
{
	size_t c;

	pthread_mutex_lock(&nt->lock);
	c = nt->count;
	pthread_mutex_unlock(&nt->lock);
	return c;
}
