/* SPDX-License-Identifier: ISC */
/*
 * json — the JSON plumbing of the response parsers: loading a body as an
 * object, sanitized error text and typed getters for optional members (see
 * json.h for the conventions). Everything schema-specific stays in the
 * parsers.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"

static void *
wiping_malloc(size_t n)
{
	return malloc(n);
}

/* jansson's free hook gets no size; glibc knows the block's usable size. */
static void
wiping_free(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

void
kj_wipe_on_free(void)
{
	json_set_alloc_funcs(wiping_malloc, wiping_free);
}
#include "util.h"

void
kj_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* field names and jansson's "near '...'" quote input bytes: never let
	 * them carry control characters or broken UTF-8 into a log line */
	util_copy_sanitized(err, errlen, tmp);
}

void
kj_clear_err(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

int
kj_enomem(char *err, size_t errlen)
{
	kj_seterr(err, errlen, "out of memory");
	return -ENOMEM;
}

json_t *
kj_load(const char *body, size_t len, size_t flags, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (body == NULL || len == 0) {
		kj_seterr(err, errlen, "empty body");
		return NULL;
	}
	/* JSON_DECODE_ANY: a scalar answer then gets the clear "top level is
	 * not an object" below instead of a parser message */
	root = json_loadb(body, len, flags | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		kj_seterr(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		kj_seterr(err, errlen, "top level is not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

int
kj_begin(const char *body, size_t len, size_t flags, void *out, size_t outsize, json_t **root,
	 char *err, size_t errlen)
{
	kj_clear_err(err, errlen);
	*root = NULL;
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, outsize);
	*root = kj_load(body, len, flags, err, errlen);
	return *root != NULL ? 0 : -EBADMSG;
}

json_t *
kj_field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

const char *
kj_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- typed getters ----------------------------------------------------- */

int
kj_get_cstr(json_t *obj, const char *key, const char *where, const char **out, char *err,
	    size_t errlen)
{
	json_t *v = kj_field(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		kj_seterr(err, errlen, "%s%s is not a string", where, key);
		return -EBADMSG;
	}
	*out = json_string_value(v);
	return 0;
}

int
kj_get_str(json_t *obj, const char *key, const char *where, char **out, char *err, size_t errlen)
{
	const char *s;
	int r = kj_get_cstr(obj, key, where, &s, err, errlen);

	if (r < 0 || s == NULL)
		return r;
	free(*out);
	*out = strdup(s);
	return *out != NULL ? 0 : kj_enomem(err, errlen);
}

int
kj_get_tri(json_t *obj, const char *key, const char *where, enum tri *out, char *err,
	   size_t errlen)
{
	json_t *v = kj_field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		kj_seterr(err, errlen, "%s%s is not a boolean", where, key);
		return -EBADMSG;
	}
	*out = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
	return 0;
}

int
kj_get_int(json_t *obj, const char *key, const char *where, bool *has, int64_t *out, char *err,
	   size_t errlen)
{
	json_t *v = kj_field(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v)) {
		kj_seterr(err, errlen, "%s%s is not an integer", where, key);
		return -EBADMSG;
	}
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

int
kj_get_unix(json_t *obj, const char *key, const char *where, bool *has, time_t *out, char *err,
	    size_t errlen)
{
	json_t *v = kj_field(obj, key);
	json_int_t i;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v)) {
		kj_seterr(err, errlen, "%s%s is not an integer (Unix seconds)", where, key);
		return -EBADMSG;
	}
	i = json_integer_value(v);
	if ((json_int_t)(time_t)i != i) {
		kj_seterr(err, errlen, "%s%s is out of range", where, key);
		return -EBADMSG;
	}
	*has = true;
	*out = (time_t)i;
	return 0;
}

int
kj_get_iso(json_t *obj, const char *key, const char *where, bool *has, time_t *out, char *err,
	   size_t errlen)
{
	const char *s;
	int r = kj_get_cstr(obj, key, where, &s, err, errlen);

	if (r < 0 || s == NULL)
		return r;
	if (util_parse_time(s, out) < 0) {
		kj_seterr(err, errlen, "%s%s is not an ISO 8601 time: \"%.40s\"", where, key, s);
		return -EBADMSG;
	}
	*has = true;
	return 0;
}

static int
get_typed(json_t *obj, const char *key, const char *where, bool array, json_t **out, char *err,
	  size_t errlen)
{
	json_t *v = kj_field(obj, key);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		kj_seterr(err, errlen, "%s%s is not an %s", where, key, array ? "array" : "object");
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

int
kj_get_object(json_t *obj, const char *key, const char *where, json_t **out, char *err,
	      size_t errlen)
{
	return get_typed(obj, key, where, false, out, err, errlen);
}

int
kj_get_array(json_t *obj, const char *key, const char *where, json_t **out, char *err,
	     size_t errlen)
{
	return get_typed(obj, key, where, true, out, err, errlen);
}

void
kj_strv_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

int
kj_get_strv(json_t *obj, const char *key, const char *where, char ***out, size_t *n, char *err,
	    size_t errlen)
{
	json_t *a, *v;
	size_t i;
	int r;

	*out = NULL;
	*n = 0;
	r = kj_get_array(obj, key, where, &a, err, errlen);
	if (r < 0 || a == NULL || json_array_size(a) == 0)
		return r;
	/* all or nothing: check every element before copying any */
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			kj_seterr(err, errlen, "%s%s[%zu] is not a string", where, key, i);
			return -EBADMSG;
		}
	}
	*out = calloc(json_array_size(a), sizeof(**out));
	if (*out == NULL)
		return kj_enomem(err, errlen);
	json_array_foreach(a, i, v) {
		(*out)[i] = strdup(json_string_value(v));
		if ((*out)[i] == NULL) {
			kj_strv_free(*out, i);
			*out = NULL;
			return kj_enomem(err, errlen);
		}
	}
	*n = json_array_size(a);
	return 0;
}

int
kj_get_objects(json_t *arr, const char *name, size_t elem_size, void **out, size_t *n,
	       kj_item_fn *fn, char *err, size_t errlen)
{
	char where[KJ_WHERE_MAX];
	char *v;
	int r = 0;

	if (json_array_size(arr) == 0)
		return 0;
	v = calloc(json_array_size(arr), elem_size);
	if (v == NULL)
		return kj_enomem(err, errlen);
	*out = v;
	for (size_t i = 0; r == 0 && i < json_array_size(arr); i++) {
		json_t *item = json_array_get(arr, i);

		*n = i + 1;
		if (!json_is_object(item)) {
			kj_seterr(err, errlen, "%s[%zu] is not an object", name, i);
			return -EBADMSG;
		}
		snprintf(where, sizeof(where), "%s[%zu].", name, i);
		r = fn(item, where, v + i * elem_size, err, errlen);
	}
	return r;
}

int
kj_parse(const char *body, size_t len, size_t flags, void *out, size_t outsize, kj_item_fn *fn,
	 char *err, size_t errlen)
{
	json_t *root;
	int r = kj_begin(body, len, flags, out, outsize, &root, err, errlen);

	if (r < 0)
		return r;
	r = fn(root, "", out, err, errlen);
	json_decref(root);
	return r;
}

/* ---- secrets ------------------------------------------------------------ */

bool
kj_header_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

void
kj_wipe(json_t *v)
{
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

json_t *
kj_bearer_token(json_t *root, char *err, size_t errlen)
{
	json_t *at = kj_field(root, "access_token"), *type = kj_field(root, "token_type");

	if (at == NULL)
		kj_seterr(err, errlen, "no access_token in the answer");
	else if (!json_is_string(at))
		kj_seterr(err, errlen, "access_token is not a string");
	else if (!kj_header_safe(json_string_value(at)))
		kj_seterr(err, errlen,
			  "access_token is empty or has characters not allowed in an HTTP header");
	else if (type != NULL && !json_is_string(type))
		kj_seterr(err, errlen, "token_type is not a string");
	else if (type != NULL && strcasecmp(json_string_value(type), "Bearer") != 0)
		kj_seterr(err, errlen, "token_type is \"%.32s\", not Bearer",
			  json_string_value(type));
	else
		return at;
	return NULL;
}
