/* SPDX-License-Identifier: ISC */
/*
 * json (kj_) — the JSON plumbing the response parsers (atlas.c, azure.c)
 * share on top of jansson, so that each of them keeps only its schema:
 * loading a body as an object, error text, and typed getters for optional
 * members. No I/O.
 *
 * Conventions, those of atlas.h and azure.h:
 * - err/errlen is a caller buffer for one line of text; it may be NULL or
 *   0 long (nothing is written). Text is sanitized (control characters and
 *   broken UTF-8 never reach a log line: field names and jansson's
 *   "near '...'" quote input bytes) and truncated to fit.
 * - Every member is optional: absent or JSON null reads as absent and
 *   leaves *out untouched (the getters return 0). A member of the wrong JSON
 *   type is -EBADMSG with the member named in err, "<where><key> is not a
 *   string". `where` is the prefix that locates the object in the body: ""
 *   at the top level, else it ends with a dot ("value[3].",
 *   "properties.networkAcls."). A failed allocation is -ENOMEM with
 *   "out of memory".
 */
#ifndef KMSWATCH_JSON_H
#define KMSWATCH_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "types.h"

/* Room for a member prefix such as
 * "value[18446744073709551615].passwordCredentials[18446744073709551615]." */
#define KJ_WHERE_MAX 160

/* From now on every block jansson frees is zeroed first: parsed token
 * answers (access_token, SessionToken...) and the strings copied out of
 * them never linger in freed heap. Call once, before any JSON is parsed. */
void kj_wipe_on_free(void);

/* printf into err, sanitized (at most 511 bytes are formatted). */
void kj_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* err = "" (a parser's first step, so that success leaves no old text). */
void kj_clear_err(char *err, size_t errlen);
/* "out of memory"; returns -ENOMEM. */
int kj_enomem(char *err, size_t errlen);

/* A whole body (len bytes, no NUL needed) as a JSON object, loaded with
 * jansson's `flags` (JSON_REJECT_DUPLICATES, or 0 for best-effort error
 * bodies). NULL with err "empty body", "line L column C: <jansson's
 * text>" or "top level is not an object" otherwise. Caller json_decref()s. */
json_t *kj_load(const char *body, size_t len, size_t flags, char *err, size_t errlen);
/* The common start of a parser: clears err, -EINVAL when out is NULL,
 * zeroes outsize bytes of out, then *root = kj_load(...) or -EBADMSG. */
int kj_begin(const char *body, size_t len, size_t flags, void *out, size_t outsize,
	     json_t **root, char *err, size_t errlen);

/* obj[key], with JSON null (and a NULL or non-object obj) reading as NULL. */
json_t *kj_field(json_t *obj, const char *key);
/* obj[key] if it is a string, else NULL: for best-effort error bodies. */
const char *kj_str(json_t *obj, const char *key);

/* ---- typed getters for optional members (see the conventions above) --- */

/* A string, not copied: *out points into obj, or is NULL when absent. */
int kj_get_cstr(json_t *obj, const char *key, const char *where, const char **out, char *err,
		size_t errlen);
/* A string, copied to *out (whatever *out held is freed first). */
int kj_get_str(json_t *obj, const char *key, const char *where, char **out, char *err,
	       size_t errlen);
/* A boolean as TRI_TRUE/TRI_FALSE; absent leaves *out (TRI_ABSENT). */
int kj_get_tri(json_t *obj, const char *key, const char *where, enum tri *out, char *err,
	       size_t errlen);
/* An integer; *has is set when one was read. */
int kj_get_int(json_t *obj, const char *key, const char *where, bool *has, int64_t *out,
	       char *err, size_t errlen);
/* An integer of Unix seconds ("is not an integer (Unix seconds)", "is out
 * of range" when time_t cannot hold it). */
int kj_get_unix(json_t *obj, const char *key, const char *where, bool *has, time_t *out,
		char *err, size_t errlen);
/* An ISO 8601 time string as util_parse_time reads it ("is not an ISO 8601
 * time: \"...\"", quoting at most 40 bytes). */
int kj_get_iso(json_t *obj, const char *key, const char *where, bool *has, time_t *out,
	       char *err, size_t errlen);
/* An object or an array member, not copied: *out is it, or NULL when absent. */
int kj_get_object(json_t *obj, const char *key, const char *where, json_t **out, char *err,
		  size_t errlen);
int kj_get_array(json_t *obj, const char *key, const char *where, json_t **out, char *err,
		 size_t errlen);
/* An array of strings, copied: *out (NULL when absent or empty) has *n
 * strings; an element of another type is "<where><key>[i] is not a
 * string". Free with kj_strv_free. */
int kj_get_strv(json_t *obj, const char *key, const char *where, char ***out, size_t *n,
		char *err, size_t errlen);
/* Frees n strings and the vector; NULL is fine. */
void kj_strv_free(char **v, size_t n);

/*
 * An array of objects, each read into one element of a new zeroed vector:
 * fn gets the object, its member prefix ("<name>[i].") and its element of
 * elem_size bytes. *out is the vector as soon as it exists and *n counts
 * the elements handed out so far, so that the caller's free function
 * releases the right ones whatever fails. An element that is not an
 * object is "<name>[i] is not an object" (-EBADMSG). arr NULL or empty: 0,
 * nothing allocated. The first error of fn stops the walk and is returned.
 */
typedef int kj_item_fn(json_t *item, const char *where, void *dst, char *err, size_t errlen);
int kj_get_objects(json_t *arr, const char *name, size_t elem_size, void **out, size_t *n,
		   kj_item_fn *fn, char *err, size_t errlen);

/* A whole parser: kj_begin, then fn on the top-level object (where "")
 * filling out; returns what fn returns. On error the caller frees out with
 * its _free function (out is zeroed when fn never ran, NULL on -EINVAL). */
int kj_parse(const char *body, size_t len, size_t flags, void *out, size_t outsize,
	     kj_item_fn *fn, char *err, size_t errlen);

/* ---- secrets read from a body ------------------------------------------ */

/* Whether s is non-empty visible ASCII: fit to go into an HTTP header
 * verbatim (a bearer token), unable to split or smuggle one. */
bool kj_header_safe(const char *s);
/* The checks every OAuth 2.0 bearer-token answer gets (Entra, IMDS,
 * Google): access_token present, a string and kj_header_safe; token_type,
 * when present, "Bearer" in any case. Returns access_token's value (not
 * copied: kj_wipe it) or NULL with the reason in err. */
json_t *kj_bearer_token(json_t *root, char *err, size_t errlen);
/* Wipes the bytes of a string value (jansson frees without wiping); any
 * other value, or NULL, is left alone. */
void kj_wipe(json_t *v);

#endif
