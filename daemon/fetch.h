/* SPDX-License-Identifier: ISC */
/*
 * fetch — one logical request with the retry policy every reader shares:
 * network errors, 408, 429 and 5xx are retried with exponential backoff and
 * jitter, honouring Retry-After, up to max_retries times; the callback sees
 * the final answer and how many retries it took. The request is copied
 * (secrets wiped when the fetch ends).
 */
#ifndef KMSWATCH_FETCH_H
#define KMSWATCH_FETCH_H

#include "http.h"

struct daemon;
struct fetch;

#define FETCH_RETRIES 3

typedef void (*fetch_fn)(void *ctx, const struct http_response *resp, unsigned retries);

int fetch_start(struct daemon *d, const struct http_request *req, unsigned max_retries,
		fetch_fn fn, void *ctx, struct fetch **out);
/* The same, with the caller's own transient answers on top of the shared
 * ones (AWS answers throttling with HTTP 400 ThrottlingException); NULL is
 * fetch_start. */
typedef bool (*fetch_transient_fn)(const struct http_response *resp);
int fetch_start_ex(struct daemon *d, const struct http_request *req, unsigned max_retries,
		   fetch_transient_fn also_transient, fetch_fn fn, void *ctx, struct fetch **out);
/* No callback after this. */
void fetch_cancel(struct fetch *f);

/* Whether an answer is worth retrying. */
bool fetch_transient(const struct http_response *resp);

#endif
