/*
 * test_secrets.c: the node key and sealed tenant secrets, against a real
 * store in a temporary state directory.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secrets.h"
#include "store.h"
#include "storefix.h"

static struct storefix fx;
static char keypath[128];
static struct mvm_secrets *sec;
static struct mvm_error err;

static void
setup(void)
{
	struct mvm_tenant t;

	storefix_setup(&fx, "sec");
	snprintf(keypath, sizeof(keypath), "%s/node.key", fx.dir);
	mvm_tenant_init(&t);
	strcpy(t.id, "acme");
	cr_assert_eq(mvm_store_tenant_create(fx.st, &t, &err), 0);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), 0, "%s",
	    err.msg);
}

static void
teardown(void)
{
	mvm_secrets_close(sec);
	sec = NULL;
	storefix_teardown(&fx);
}

TestSuite(secrets, .init = setup, .fini = teardown);

/* Does the file at `path` contain `needle`? */
static bool
file_has(const char *path, const void *needle, size_t nlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t len;
	bool found;

	if (f == NULL)
		return false;
	buf = malloc(64 << 20);
	len = fread(buf, 1, 64 << 20, f);
	fclose(f);
	found = memmem(buf, len, needle, nlen) != NULL;
	free(buf);
	return found;
}

Test(secrets, key_file_is_private_and_reused)
{
	unsigned char k1[32], k2[32];
	struct stat sb;
	int fd;

	cr_assert_eq(stat(keypath, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0600);
	cr_assert_eq(sb.st_size, 32);
	fd = open(keypath, O_RDONLY);
	cr_assert_eq(read(fd, k1, 32), 32);
	close(fd);
	mvm_secrets_close(sec);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), 0);
	fd = open(keypath, O_RDONLY);
	cr_assert_eq(read(fd, k2, 32), 32);
	close(fd);
	cr_assert(memcmp(k1, k2, 32) == 0);
}

Test(secrets, round_trip_exact_bytes_and_versions)
{
	static const char text[] = "DB=p\xe4ss word\nTOKEN=\xff\x01=x\n";
	char *out;
	size_t len;

	cr_assert_eq(mvm_secrets_version(sec, "acme", &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(out, "");
	mvm_secrets_free_text(out, len);
	cr_assert_eq(mvm_secrets_set(sec, "acme", text, sizeof(text) - 1,
	    &err), 1, "%s", err.msg);
	cr_assert_eq(mvm_secrets_set(sec, "acme", text, sizeof(text) - 1,
	    &err), 2);
	cr_assert_eq(mvm_secrets_version(sec, "acme", &err), 2);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert_eq(len, sizeof(text) - 1);
	cr_assert(memcmp(out, text, len) == 0);
	mvm_secrets_free_text(out, len);
	/* Another tenant's are separate. */
	cr_assert_eq(mvm_secrets_version(sec, "other", &err), 0);
}

Test(secrets, database_never_holds_the_plaintext)
{
	static const char text[] = "API_KEY=correct-horse-battery-staple\n";
	char path[160], *out;
	size_t len;

	cr_assert_eq(mvm_secrets_set(sec, "acme", text, sizeof(text) - 1,
	    &err), 1);
	cr_assert_eq(mvm_secrets_rotate(sec, "acme", &err), 2, "%s",
	    err.msg);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert_eq(len, sizeof(text) - 1);
	mvm_secrets_free_text(out, len);
	mvm_store_close(fx.st);	/* checkpoint the WAL into the file */
	fx.st = NULL;
	cr_assert(!file_has(fx.db, "correct-horse", 13));
	cr_assert(!file_has(fx.db, "API_KEY", 7));
	snprintf(path, sizeof(path), "%s-wal", fx.db);
	cr_assert(!file_has(path, "correct-horse", 13));
	/* But the sealed value is there. */
	cr_assert(file_has(fx.db, "secrets:acme", 12));
	cr_assert_eq(mvm_store_open(fx.db, &fx.st, &err), 0);
	mvm_secrets_close(sec);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert(memcmp(out, text, len) == 0);
	mvm_secrets_free_text(out, len);
}

static int
grab(const struct mvm_event *ev, void *arg)
{
	*(struct mvm_event *)arg = *ev;
	return 0;
}

static int published;

static void
on_event(void *arg, const struct mvm_event *ev)
{
	cr_assert_eq(arg, &published);
	cr_assert_str_eq(ev->action, "tenant.secrets");
	published++;
}

Test(secrets, event_carries_only_the_version)
{
	struct mvm_event ev;
	char b64a[4096], b64b[4096];

	mvm_secrets_on_event(sec, on_event, &published);
	cr_assert_eq(mvm_secrets_set(sec, "acme", "PW=hunter2\n", 11,
	    &err), 1);
	cr_assert_eq(mvm_store_meta_get(fx.st, "secrets:acme", b64a,
	    sizeof(b64a), &err), (int)strlen(b64a));
	cr_assert_eq(mvm_secrets_rotate(sec, "acme", &err), 2);
	cr_assert_eq(mvm_store_meta_get(fx.st, "secrets:acme", b64b,
	    sizeof(b64b), &err), (int)strlen(b64b));
	cr_assert_str_neq(b64a, b64b, "a fresh nonce per version");
	cr_assert_eq(published, 2);
	memset(&ev, 0, sizeof(ev));
	cr_assert_eq(mvm_store_event_list(fx.st, NULL, grab, &ev, &err), 0);
	cr_assert_str_eq(ev.tenant, "acme");
	cr_assert_str_eq(ev.action, "tenant.secrets");
	cr_assert_str_eq(ev.detail, "version=2");
}

Test(secrets, rotate_without_secrets)
{
	cr_assert_eq(mvm_secrets_rotate(sec, "acme", &err), -ENOENT);
	cr_assert(strstr(err.msg, "acme") != NULL);
}

Test(secrets, delete_forgets)
{
	char *out;
	size_t len;

	cr_assert_eq(mvm_secrets_set(sec, "acme", "A=1\n", 4, &err), 1);
	cr_assert_eq(mvm_secrets_delete(sec, "acme", &err), 0);
	cr_assert_eq(mvm_secrets_version(sec, "acme", &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert_eq(len, 0);
	mvm_secrets_free_text(out, len);
	cr_assert_eq(mvm_secrets_set(sec, "acme", "A=2\n", 4, &err), 1);
}

Test(secrets, wrong_key_or_altered_row_is_eio)
{
	char *out, b64[4096];
	size_t len;

	cr_assert_eq(mvm_secrets_set(sec, "acme", "A=1\n", 4, &err), 1);
	mvm_store_meta_get(fx.st, "secrets:acme", b64, sizeof(b64), &err);
	b64[30] = b64[30] == 'A' ? 'B' : 'A';
	cr_assert_eq(mvm_store_meta_set(fx.st, "secrets:acme", b64, &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), -EIO);
	cr_assert_null(out);
	cr_assert_eq(mvm_store_meta_set(fx.st, "secrets:acme", "!!!", &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), -EIO);
	/* A new node key cannot open the old value. */
	cr_assert_eq(mvm_secrets_set(sec, "acme", "A=1\n", 4, &err), 2);
	mvm_secrets_close(sec);
	sec = NULL;
	cr_assert_eq(unlink(keypath), 0);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), 0);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), -EIO);
	cr_assert(strstr(err.msg, "node's key") != NULL, "%s", err.msg);
}

Test(secrets, a_row_moved_to_another_tenant_does_not_open)
{
	struct mvm_tenant t;
	char *out = NULL, b64[4096];
	size_t len;

	mvm_tenant_init(&t);
	strcpy(t.id, "evil");
	t.net_id = 9;
	cr_assert_eq(mvm_store_tenant_create(fx.st, &t, &err), 0, "%s", err.msg);
	cr_assert_eq(mvm_secrets_set(sec, "acme", "TOKEN=acme-only\n", 16,
	    &err), 1);
	cr_assert_gt(mvm_store_meta_get(fx.st, "secrets:acme", b64, sizeof(b64),
	    &err), 0);
	cr_assert_eq(mvm_store_meta_set(fx.st, "secrets:evil", b64, &err), 0);
	cr_assert_eq(mvm_store_meta_set(fx.st, "secrets_version:evil", "1", &err),
	    0);
	cr_assert_eq(mvm_secrets_get(sec, "evil", &out, &len, &err), -EIO);
	cr_assert_null(out);
}

Test(secrets, refuses_a_readable_or_bad_key_file)
{
	mvm_secrets_close(sec);
	sec = NULL;
	cr_assert_eq(chmod(keypath, 0644), 0);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), -EACCES);
	cr_assert_null(sec);
	cr_assert_eq(chmod(keypath, 0600), 0);
	cr_assert_eq(truncate(keypath, 31), 0);
	cr_assert_eq(mvm_secrets_open(fx.dir, fx.st, &sec, &err), -EIO);
	cr_assert_eq(mvm_secrets_open("/nonexistent/dir", fx.st, &sec, &err),
	    -ENOENT);
}

Test(secrets, too_big)
{
	char *big = calloc(1, (1 << 20) + 1);

	cr_assert_eq(mvm_secrets_set(sec, "acme", big, (1 << 20) + 1, &err),
	    -EFBIG);
	cr_assert_eq(mvm_secrets_set(sec, "acme", big, 1 << 20, &err), 1,
	    "%s", err.msg);
	free(big);
}

static void *
setter(void *arg)
{
	struct mvm_error e;
	int i;

	for (i = 0; i < 10; i++) {
		if (mvm_secrets_set(sec, "acme", arg, strlen(arg), &e) < 1)
			return arg;
		if (mvm_secrets_rotate(sec, "acme", &e) < 1)
			return arg;
	}
	return NULL;
}

Test(secrets, concurrent_versions_are_distinct)
{
	static char texts[4][8] = { "A=1\n", "A=2\n", "A=3\n", "A=4\n" };
	pthread_t th[4];
	void *res;
	char *out;
	size_t len;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, setter, texts[i]);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &res);
		cr_assert_null(res);
	}
	cr_assert_eq(mvm_secrets_version(sec, "acme", &err), 80);
	cr_assert_eq(mvm_secrets_get(sec, "acme", &out, &len, &err), 0);
	cr_assert(len == 4 && strncmp(out, "A=", 2) == 0);
	mvm_secrets_free_text(out, len);
}
