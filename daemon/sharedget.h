/* SPDX-License-Identifier: ISC */
/*
 * sharedget — one Atlas document read on behalf of many readers.
 * Readers that ask while a read is in flight wait on it, and a successful
 * answer is handed to later readers for as long as it is fresh. The Atlas
 * control-plane address list is the same for every project: a round over
 * 100 projects reads it once, not 100 times.
 */
#ifndef KMSWATCH_SHAREDGET_H
#define KMSWATCH_SHAREDGET_H

#include <stdint.h>

#include "atlasreq.h"

struct daemon;
struct sharedget;
struct sharedget_waiter;

/* url and accept are copied; flags as for atlasreq_get. */
int sharedget_new(struct daemon *d, const char *url, const char *accept, unsigned flags,
		  struct sharedget **out);
/* Cancels the read in flight; waiters are dropped without callbacks (their
 * owners are being torn down too). NULL is fine. */
void sharedget_free(struct sharedget *s);
const char *sharedget_url(const struct sharedget *s);
/* fn gets the answer: a remembered one at most fresh_ms old (then fn runs
 * before this returns and *out is NULL), or that of a read in flight or
 * started now. Failures are not remembered: the next reader tries again. */
int sharedget_get(struct sharedget *s, int64_t fresh_ms, restreq_fn fn, void *ctx,
		  struct sharedget_waiter **out);
/* No callback after this. */
void sharedget_cancel(struct sharedget *s, struct sharedget_waiter *w);

#endif
