/* SPDX-License-Identifier: ISC */
/*
 * unit_helpers — what the parser and check unit tests share: exact-size
 * NUL-less body copies (so AddressSanitizer catches any read past `len`),
 * substring assertions and "the one finding of a check". Include after
 * <cmocka.h> and checks.h.
 */
#ifndef KMSWATCH_UNIT_HELPERS_H
#define KMSWATCH_UNIT_HELPERS_H

#include <stdlib.h>
#include <string.h>

/* An exact-size, NUL-less heap copy of s. */
static inline char *
body_of(const char *s, size_t *len)
{
	size_t n = strlen(s);
	char *b = malloc(n ? n : 1);

	assert_non_null(b);
	memcpy(b, s, n);
	*len = n;
	return b;
}

#define PARSE(fn, text, out, err)                                                        \
	({                                                                               \
		size_t len_;                                                             \
		char *b_ = body_of((text), &len_);                                       \
		int r_ = fn(b_, len_, (out), (err), sizeof(err));                        \
		free(b_);                                                                \
		r_;                                                                      \
	})

static inline void
assert_contains(const char *hay, const char *needle)
{
	if (hay == NULL || strstr(hay, needle) == NULL)
		fail_msg("\"%s\"\n  does not contain \"%s\"", hay ? hay : "(null)", needle);
}

static inline void
assert_lacks(const char *hay, const char *needle)
{
	if (hay != NULL && strstr(hay, needle) != NULL)
		fail_msg("\"%s\"\n  contains \"%s\"", hay, needle);
}

/* The only finding of check c (fails if there is not exactly one). */
static inline const struct finding *
only(const struct findings *f, enum check_id c)
{
	const struct finding *x = NULL;
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == c) {
			x = &f->v[i];
			n++;
		}
	if (n != 1)
		fail_msg("%zu findings of %s, want 1", n, check_name(c));
	return x;
}

#endif
