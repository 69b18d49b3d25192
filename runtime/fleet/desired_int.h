/*
 * desired_int.h: private to the desired-state document, shared by its
 * three pieces and included by nothing else:
 *   desired.c         parsing: the schema, object by object;
 *   desired_check.c   validating: JSON paths and sentences, the raw bytes,
 *                     objects and typed values, duplicate ids;
 *   desired_render.c  rendering to JSON, the node as a document, and
 *                     equality.
 *
 * Every check takes the JSON path of the value it looks at (path "" is the
 * document itself), so its sentence can name it. Each returns 0, or
 * -EINVAL with the sentence in e unless it says otherwise.
 */
#ifndef MVM_DESIRED_INT_H
#define MVM_DESIRED_INT_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "model.h"
#include "names.h"

/* Room for the longest JSON path ("tenants[N].pools[N].runtime_policy..."). */
#define PATH_LEN	128
/* Room for a quoted, escaped excerpt of a bad string in a sentence. */
#define QUOTE_LEN	80

/*
 * Paths and sentences.
 */

/*
 * The path of field `name` or element `i` under `path`. The schema's paths
 * are far shorter than PATH_LEN; should one ever be cut, it ends in '~' so
 * the reader sees that it was.
 */
void mvm_desired_child(char out[PATH_LEN], const char *path,
    const char *name);
void mvm_desired_element(char out[PATH_LEN], const char *path, size_t i);

/*
 * Write `s` in double quotes into out, unprintable bytes as \xNN, cut
 * with "..." when long. Returns out.
 */
const char *mvm_desired_quote(char out[QUOTE_LEN], const char *s);

/* "<path>: expected <want>, got <what v is>"; returns -EINVAL. */
int mvm_desired_type_error(const char *path, const char *want,
    const cJSON *v, struct mvm_error *e);

/* Show a JSON number into out: integers exactly, anything else as %g. */
const char *mvm_desired_number(char out[32], double d);

/*
 * The raw bytes, before cJSON sees them: no NUL bytes (escaped ones
 * included), only valid UTF-8, and no deeper nesting than
 * MVM_DESIRED_DEPTH_MAX.
 */
int mvm_desired_prescan(const unsigned char *s, size_t len,
    struct mvm_error *e);

/*
 * Objects and typed values.
 */

struct field {
	const char	*name;
	bool		 required;
};

/*
 * Check that `obj` is an object whose keys are among f[0..n), each at most
 * once, with every required one present. found[i] gets the value of f[i]
 * or NULL.
 */
int mvm_desired_fields(const cJSON *obj, const char *path,
    const struct field *f, size_t n, const cJSON **found,
    struct mvm_error *e);

/* An integral number in lo..hi. */
int mvm_desired_get_u32(const cJSON *v, const char *path, uint32_t lo,
    uint32_t hi, uint32_t *out, struct mvm_error *e);
int mvm_desired_get_bool(const cJSON *v, const char *path, bool *out,
    struct mvm_error *e);
/* *out points into v. */
int mvm_desired_get_string(const cJSON *v, const char *path,
    const char **out, struct mvm_error *e);
/* A string that must be one of names[0..n); *out gets its index. */
int mvm_desired_get_enum(const cJSON *v, const char *path,
    const char *const *names, size_t n, unsigned *out, struct mvm_error *e);
/* A tenant or pool id by names.h rules, copied into out. */
int mvm_desired_get_id(const cJSON *v, const char *path,
    enum mvm_name_kind kind, char out[MVM_ID_MAX + 1], struct mvm_error *e);

/*
 * A node id or profile: 1..max bytes of a-z, A-Z, 0-9 and, after the
 * first byte, '.', '_' and '-'. check_token checks the string s;
 * get_token checks the string v and copies it into out (max + 1 bytes).
 */
int mvm_desired_check_token(const char *s, const char *path, size_t max,
    struct mvm_error *e);
int mvm_desired_get_token(const cJSON *v, const char *path, size_t max,
    char *out, struct mvm_error *e);

/*
 * Duplicate ids. The ids are at offset `off` in each of the n elements of
 * `array`, `stride` bytes apart (array may be NULL when n is 0). Returns 0
 * when all are distinct, 1 with *first and *second set to a repeated pair
 * (the one whose second index is the smallest: the first repetition a
 * reader meets), or -ENOMEM; says nothing in a sentence.
 */
int mvm_desired_find_duplicate(const void *array, size_t off, size_t stride,
    size_t n, size_t *first, size_t *second);

#endif
