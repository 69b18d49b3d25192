/* names.c: validation and generation of tenant, pool and instance ids. */
#include "names.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "kv.h"
#include "model.h"

static const char *const reserved[] = {
	"config", "ctl", "desired", "err", "events", "info", "instances",
	"log", "metrics", "node", "pools", "readme", "secrets", "state",
	"stats", "status", "tenants",
};

const char *
mvm_names_kind(enum mvm_name_kind kind)
{
	switch (kind) {
	case MVM_NAME_TENANT:
		return "tenant id";
	case MVM_NAME_POOL:
		return "pool id";
	case MVM_NAME_INSTANCE:
		return "instance id";
	}
	return "id";
}

static bool
id_byte(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Describe the disallowed byte c for a sentence. */
static const char *
byte_kind(char c)
{
	unsigned char u = (unsigned char)c;

	if (c >= 'A' && c <= 'Z')
		return "an upper-case letter";
	if (c == '\0')
		return "a NUL byte";
	if (c == '/')
		return "a path separator";
	if (u >= 0x80)
		return "a non-ASCII byte";
	if (u < 0x20 || u == 0x7f)
		return "a control byte";
	return "the character";
}

int
mvm_names_check(enum mvm_name_kind kind, const char *s, size_t len,
    struct mvm_error *e)
{
	static const char rule[] = "ids use a-z, 0-9 and '-'";
	const char *what = mvm_names_kind(kind);
	char q[MVM_KV_ESCAPE_SIZE], qc[MVM_KV_ESCAPE_SIZE];

	if (len == 0)
		return mvm_error_set(e, EINVAL, "%s is empty; %s", what, rule);
	if (len > MVM_ID_MAX)
		return mvm_error_set(e, ENAMETOOLONG,
		    "%s \"%s\" is %zu bytes; the limit is %d", what,
		    mvm_kv_escape(s, len, q), len, MVM_ID_MAX);
	for (size_t i = 0; i < len; i++) {
		if (id_byte(s[i]))
			continue;
		return mvm_error_set(e, EINVAL,
		    "%s \"%s\" has %s '%s' at byte %zu; %s", what,
		    mvm_kv_escape(s, len, q), byte_kind(s[i]),
		    mvm_kv_escape(&s[i], 1, qc), i, rule);
	}
	if (s[0] == '-' || s[len - 1] == '-')
		return mvm_error_set(e, EINVAL,
		    "%s \"%s\" %s with '-'; ids start and end with a-z or 0-9",
		    what, mvm_kv_escape(s, len, q),
		    s[0] == '-' ? "starts" : "ends");
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (strlen(reserved[i]) == len &&
		    memcmp(reserved[i], s, len) == 0)
			return mvm_error_set(e, EINVAL,
			    "%s \"%s\" is reserved: it names a file or "
			    "directory of the /mvm tree", what, reserved[i]);
	return 0;
}

int
mvm_names_instance_generate(char out[12])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[4];
	ssize_t n;

	do {
		n = getrandom(r, sizeof(r), 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n != (ssize_t)sizeof(r))
		return -EIO;
	out[0] = 'i';
	out[1] = '-';
	for (int i = 0; i < 4; i++) {
		out[2 + 2 * i] = hex[r[i] >> 4];
		out[3 + 2 * i] = hex[r[i] & 0xf];
	}
	out[MVM_NAMES_GENERATED_LEN] = '\0';
	return 0;
}

bool
mvm_names_is_generated_instance(const char *s, size_t len)
{
	if (len != MVM_NAMES_GENERATED_LEN || s[0] != 'i' || s[1] != '-')
		return false;
	for (size_t i = 2; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Fold the bytes of `s` and its NUL into the FNV-1a hash `h`. */
static uint64_t
fnv1a(uint64_t h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	} while (*s++ != '\0');
	return h;
}

void
mvm_names_run_name(const char *tenant, const char *pool, const char *id,
    char out[MVM_NAMES_RUN_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t h = 0xcbf29ce484222325ull;

	h = fnv1a(fnv1a(fnv1a(h, tenant), pool), id);
	out[0] = 'i';
	out[1] = '-';
	for (int i = 0; i < 16; i++)
		out[2 + i] = hex[(h >> (60 - 4 * i)) & 0xf];
	out[MVM_NAMES_RUN_LEN] = '\0';
}
