/* SPDX-License-Identifier: ISC */
/*
 * strpool — see strpool.h.
 */
#include "autoconfig.h"

#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "strpool.h"

struct strpool_str {
	UT_hash_handle hh;
	char s[]; /* the key */
};

const char *
strpool_intern(struct strpool *p, const char *s)
{
	struct strpool_str *e;
	size_t len = strlen(s);

	HASH_FIND(hh, p->by_value, s, len, e);
	if (e)
		return e->s;
	if (!(e = malloc(sizeof(*e) + len + 1)))
		return NULL;
	memcpy(e->s, s, len + 1);
	HASH_ADD_KEYPTR(hh, p->by_value, e->s, len, e);
	p->count++;
	return e->s;
}

void
strpool_free(struct strpool *p)
{
	struct strpool_str *e, *tmp;

	HASH_ITER(hh, p->by_value, e, tmp) {
		HASH_DEL(p->by_value, e);
		free(e);
	}
	p->count = 0;
}
