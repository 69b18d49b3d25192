/*
 * secrets.c: the node key, and XChaCha20-Poly1305 (AEAD, the tenant id as
 * associated data) around the store's meta table.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "secrets.h"
#include "store.h"

#define KEY_FILE	"node.key"
#define META_KEY_MAX	(MVM_ID_MAX + 32)
/* XChaCha20-Poly1305, libsodium's IETF AEAD. */
#define KEY_BYTES	crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES	crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES	crypto_aead_xchacha20poly1305_ietf_ABYTES
/* The longest stored value: base64 of nonce, tag and the largest text. */
#define SEALED_MAX	(NONCE_BYTES + TAG_BYTES + MVM_SECRETS_MAX)
#define B64_MAX		sodium_base64_ENCODED_LEN(SEALED_MAX, \
			    sodium_base64_VARIANT_ORIGINAL)

struct mvm_secrets {
	struct mvm_store *st;
	unsigned char	*key;		/* sodium_malloc'd, read-only */
	pthread_mutex_t	 lock;		/* one new version at a time */
	void		(*on_event)(void *, const struct mvm_event *);
	void		*on_event_arg;
};

/* Read exactly 32 bytes of an existing key file into key. */
static int
read_key(int fd, const char *path, unsigned char *key, struct mvm_error *e)
{
	struct stat sb;
	ssize_t n;

	if (fstat(fd, &sb) == -1)
		return mvm_error_set(e, errno, "cannot stat %s: %s", path,
		    strerror(errno));
	if ((sb.st_mode & 077) != 0)
		return mvm_error_set(e, EACCES, "%s has mode %04o; the node "
		    "key must be readable by its owner only (0600)", path,
		    (unsigned)(sb.st_mode & 07777));
	if (sb.st_size != KEY_BYTES)
		return mvm_error_set(e, EIO, "%s has %jd bytes; a node key "
		    "has %d", path, (intmax_t)sb.st_size,
		    KEY_BYTES);
	if ((n = read(fd, key, KEY_BYTES)) !=
	    KEY_BYTES)
		return mvm_error_set(e, n < 0 ? errno : EIO, "cannot read "
		    "%s", path);
	return 0;
}

/* Create a new key file with a fresh key; -EEXIST when one appeared. */
static int
create_key(const char *path, unsigned char *key, struct mvm_error *e)
{
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1)
		return errno == EEXIST ? -EEXIST : mvm_error_set(e, errno,
		    "cannot create %s: %s", path, strerror(errno));
	crypto_aead_xchacha20poly1305_ietf_keygen(key);
	if (write(fd, key, KEY_BYTES) !=
	    KEY_BYTES || fsync(fd) == -1) {
		rc = mvm_error_set(e, errno ? errno : EIO, "cannot write %s",
		    path);
		unlink(path);
	}
	close(fd);
	return rc;
}

static int
load_key(const char *state_dir, unsigned char *key, struct mvm_error *e)
{
	char path[PATH_MAX];
	int fd, rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", state_dir,
	    KEY_FILE) >= sizeof(path))
		return mvm_error_set(e, ENAMETOOLONG, "state directory path "
		    "\"%s\" is too long", state_dir);
	for (;;) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd != -1)
			break;
		if (errno != ENOENT)
			return mvm_error_set(e, errno, "cannot open %s: %s",
			    path, strerror(errno));
		if ((rc = create_key(path, key, e)) != -EEXIST)
			return rc;
	}
	rc = read_key(fd, path, key, e);
	close(fd);
	return rc;
}

int
mvm_secrets_open(const char *state_dir, struct mvm_store *st,
    struct mvm_secrets **out, struct mvm_error *e)
{
	struct mvm_secrets *s;
	int rc;

	*out = NULL;
	if (sodium_init() < 0)
		return mvm_error_set(e, EIO, "libsodium failed to initialise");
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return mvm_error_set(e, ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->st = st;
	if ((s->key = sodium_malloc(KEY_BYTES)) == NULL) {
		rc = mvm_error_set(e, ENOMEM, "cannot allocate locked memory "
		    "for the node key");
		goto fail;
	}
	if ((rc = load_key(state_dir, s->key, e)) < 0)
		goto fail;
	sodium_mprotect_readonly(s->key);
	*out = s;
	return 0;
fail:
	mvm_secrets_close(s);
	return rc;
}

void
mvm_secrets_close(struct mvm_secrets *s)
{
	if (s == NULL)
		return;
	sodium_free(s->key);	/* zeroes it */
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
mvm_secrets_on_event(struct mvm_secrets *s,
    void (*fn)(void *arg, const struct mvm_event *ev), void *arg)
{
	s->on_event = fn;
	s->on_event_arg = arg;
}

static void
meta_keys(const char *tenant, char value[META_KEY_MAX],
    char version[META_KEY_MAX])
{
	snprintf(value, META_KEY_MAX, "secrets:%s", tenant);
	snprintf(version, META_KEY_MAX, "secrets_version:%s", tenant);
}

/* The stored version, 0 when none. Called with s->lock held. */
static int
get_version(struct mvm_secrets *s, const char *vkey, struct mvm_error *e)
{
	char buf[32], *end;
	long v;
	int rc;

	rc = mvm_store_meta_get(s->st, vkey, buf, sizeof(buf), e);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	v = strtol(buf, &end, 10);
	if (*end != '\0' || v < 0 || v >= INT_MAX)
		return mvm_error_set(e, EIO, "stored %s \"%s\" is not a "
		    "version number", vkey, buf);
	return (int)v;
}

/* Store a sealed text and its new version with the event. Lock held. */
static int
store_version(struct mvm_secrets *s, const char *tenant, const char *b64,
    struct mvm_error *e)
{
	char vkey[META_KEY_MAX], skey[META_KEY_MAX], num[32];
	struct mvm_event ev;
	struct timespec ts;
	int rc, version;

	meta_keys(tenant, skey, vkey);
	if ((rc = mvm_store_begin(s->st, e)) < 0)
		return rc;
	if ((rc = version = get_version(s, vkey, e)) < 0)
		goto fail;
	version++;
	snprintf(num, sizeof(num), "%d", version);
	memset(&ev, 0, sizeof(ev));
	clock_gettime(CLOCK_REALTIME, &ts);
	ev.time_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	snprintf(ev.tenant, sizeof(ev.tenant), "%s", tenant);
	snprintf(ev.action, sizeof(ev.action), "tenant.secrets");
	snprintf(ev.detail, sizeof(ev.detail), "version=%d", version);
	if ((rc = mvm_store_meta_set(s->st, skey, b64, e)) < 0 ||
	    (rc = mvm_store_meta_set(s->st, vkey, num, e)) < 0 ||
	    (rc = mvm_store_event_add(s->st, &ev, &ev.seq, e)) < 0)
		goto fail;
	if ((rc = mvm_store_commit(s->st, e)) < 0)
		return rc;
	if (s->on_event != NULL)
		s->on_event(s->on_event_arg, &ev);
	return version;
fail:
	mvm_store_rollback(s->st);
	return rc;
}

/* Seal `text` under a fresh nonce and store it as the next version. */
static int
seal_locked(struct mvm_secrets *s, const char *tenant, const char *text,
    size_t len, struct mvm_error *e)
{
	size_t slen = NONCE_BYTES + TAG_BYTES + len;
	size_t blen = sodium_base64_ENCODED_LEN(slen,
	    sodium_base64_VARIANT_ORIGINAL);
	unsigned char *sealed;
	char *b64;
	int rc;

	sealed = malloc(slen);
	b64 = malloc(blen);
	if (sealed == NULL || b64 == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	randombytes_buf(sealed, NONCE_BYTES);
	/* The tenant id is the associated data: a row copied onto another
	 * tenant does not open. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    sealed + NONCE_BYTES, NULL,
	    (const unsigned char *)text, len, (const unsigned char *)tenant,
	    strlen(tenant), NULL, sealed, s->key);
	sodium_bin2base64(b64, blen, sealed, slen,
	    sodium_base64_VARIANT_ORIGINAL);
	rc = store_version(s, tenant, b64, e);
out:
	free(sealed);
	free(b64);
	return rc;
}

int
mvm_secrets_set(struct mvm_secrets *s, const char *tenant,
    const char *text, size_t len, struct mvm_error *e)
{
	int rc;

	if (len > MVM_SECRETS_MAX)
		return mvm_error_set(e, EFBIG, "secrets of %zu bytes; at most "
		    "%d are allowed", len, MVM_SECRETS_MAX);
	pthread_mutex_lock(&s->lock);
	rc = seal_locked(s, tenant, text, len, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
mvm_secrets_get(struct mvm_secrets *s, const char *tenant,
    char **text, size_t *len, struct mvm_error *e)
{
	char vkey[META_KEY_MAX], skey[META_KEY_MAX];
	unsigned char *sealed = NULL;
	char *b64 = NULL, *plain = NULL;
	size_t slen, plen;
	int rc, n;

	*text = NULL;
	*len = 0;
	meta_keys(tenant, skey, vkey);
	sealed = malloc(SEALED_MAX);
	b64 = malloc(B64_MAX);
	if (sealed == NULL || b64 == NULL) {
		rc = mvm_error_set(e, ENOMEM, "out of memory");
		goto out;
	}
	n = mvm_store_meta_get(s->st, skey, b64, B64_MAX, e);
	if (n < 0 && n != -ENOENT) {
		rc = n;
		goto out;
	}
	if (n <= 0) {	/* none yet, or deleted */
		plen = 0;
		if ((plain = malloc(1)) == NULL) {
			rc = mvm_error_set(e, ENOMEM, "out of memory");
			goto out;
		}
	} else {
		if (sodium_base642bin(sealed, SEALED_MAX, b64, n, NULL, &slen,
		    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    slen < NONCE_BYTES +
		    TAG_BYTES) {
			rc = mvm_error_set(e, EIO, "stored secrets of tenant "
			    "\"%s\" are not valid base64 of a sealed box",
			    tenant);
			goto out;
		}
		plen = slen - NONCE_BYTES -
		    TAG_BYTES;
		if ((plain = malloc(plen + 1)) == NULL) {
			rc = mvm_error_set(e, ENOMEM, "out of memory");
			goto out;
		}
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		    (unsigned char *)plain, NULL, NULL,
		    sealed + NONCE_BYTES,
		    slen - NONCE_BYTES,
		    (const unsigned char *)tenant, strlen(tenant), sealed,
		    s->key) != 0) {
			free(plain);
			plain = NULL;
			rc = mvm_error_set(e, EIO, "stored secrets of tenant "
			    "\"%s\" do not open with this node's key "
			    "(node.key replaced, or the row was altered or moved)",
			    tenant);
			goto out;
		}
	}
	plain[plen] = '\0';
	*text = plain;
	*len = plen;
	rc = 0;
out:
	free(sealed);
	free(b64);
	return rc;
}

void
mvm_secrets_free_text(char *text, size_t len)
{
	if (text == NULL)
		return;
	sodium_memzero(text, len + 1);
	free(text);
}

int
mvm_secrets_rotate(struct mvm_secrets *s, const char *tenant,
    struct mvm_error *e)
{
	char vkey[META_KEY_MAX], skey[META_KEY_MAX], *text = NULL;
	size_t len = 0;
	int rc;

	meta_keys(tenant, skey, vkey);
	/* Under the lock, so a concurrent set is not undone by the rotation. */
	pthread_mutex_lock(&s->lock);
	if ((rc = get_version(s, vkey, e)) < 0)
		goto out;
	if (rc == 0) {
		rc = mvm_error_set(e, ENOENT, "tenant \"%s\" has no secrets "
		    "to rotate", tenant);
		goto out;
	}
	if ((rc = mvm_secrets_get(s, tenant, &text, &len, e)) < 0)
		goto out;
	rc = seal_locked(s, tenant, text, len, e);
out:
	pthread_mutex_unlock(&s->lock);
	mvm_secrets_free_text(text, len);
	return rc;
}

int
mvm_secrets_version(struct mvm_secrets *s, const char *tenant,
    struct mvm_error *e)
{
	char vkey[META_KEY_MAX], skey[META_KEY_MAX];
	int rc;

	meta_keys(tenant, skey, vkey);
	pthread_mutex_lock(&s->lock);
	rc = get_version(s, vkey, e);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
mvm_secrets_delete(struct mvm_secrets *s, const char *tenant,
    struct mvm_error *e)
{
	char vkey[META_KEY_MAX], skey[META_KEY_MAX];
	int rc;

	meta_keys(tenant, skey, vkey);
	pthread_mutex_lock(&s->lock);
	if ((rc = mvm_store_begin(s->st, e)) < 0)
		goto out;
	if ((rc = mvm_store_meta_set(s->st, skey, "", e)) < 0 ||
	    (rc = mvm_store_meta_set(s->st, vkey, "0", e)) < 0) {
		mvm_store_rollback(s->st);
		goto out;
	}
	rc = mvm_store_commit(s->st, e);
out:
	pthread_mutex_unlock(&s->lock);
	return rc;
}
