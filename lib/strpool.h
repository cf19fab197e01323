/* SPDX-License-Identifier: ISC */
/*
 * strpool — interned strings: each distinct string is kept once and every
 * caller that puts it in gets the same pointer. --once holds the subject
 * and summary of every finding until it prints, and over many projects
 * most of them are the same few sentences ("Atlas reports the Azure Key
 * Vault key as valid"): interning keeps the run's memory proportional to
 * what differs, not to projects × checks.
 */
#ifndef KMSWATCH_STRPOOL_H
#define KMSWATCH_STRPOOL_H

#include <stddef.h>

struct strpool_str;

struct strpool {
	struct strpool_str *by_value; /* uthash, keyed by the text */
	size_t count;                 /* distinct strings */
};

/* The pool's copy of s, valid until strpool_free; NULL on ENOMEM. */
const char *strpool_intern(struct strpool *p, const char *s);
void strpool_free(struct strpool *p);

#endif
