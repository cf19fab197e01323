/*
 * atlasreq — one GET of the Atlas Admin API, the only way the daemon reads
 * Atlas: the shared service-account token (or HTTP Digest with an API key),
 * the versioned Accept header, the shared retry policy (fetch), and one
 * fresh token when Atlas answers 401 to a token it may have revoked.
 */
#ifndef KMSWATCH_ATLASREQ_H
#define KMSWATCH_ATLASREQ_H

#include <stdbool.h>

#include "http.h"

struct daemon;
struct atlasreq;

struct atlasreq_result {
	/* The final answer (after retries), or NULL when no request could
	 * be made: then error says why, without any secret. */
	const struct http_response *resp;
	const char *error;
	/* resp is NULL because the token endpoint refused or failed: its
	 * HTTP status, 0 when it never answered. */
	bool token_failed;
	long token_status;
	unsigned retries; /* transient failures retried before this result */
};

typedef void (*atlasreq_fn)(void *ctx, const struct atlasreq_result *res);

/* The unauthenticated endpoints (the control-plane address list) take no
 * credentials at all. */
#define ATLASREQ_UNAUTHENTICATED 0x1u

/* fn may run before this returns; *out is set first and cleared by nothing
 * but the caller (clear it in fn). */
int atlasreq_get(struct daemon *d, const char *url, const char *accept, unsigned flags,
		 atlasreq_fn fn, void *ctx, struct atlasreq **out);
/* No callback after this. */
void atlasreq_cancel(struct atlasreq *q);

#endif
