/*
 * atlasreq — an authenticated GET of the Atlas Admin API: the shared
 * service-account token (or HTTP Digest with an API key), the versioned
 * Accept header, the shared retry policy (fetch), and one fresh token when
 * Atlas answers 401 to a token it may have revoked.
 */
#ifndef KMSWATCH_ATLASREQ_H
#define KMSWATCH_ATLASREQ_H

#include "http.h"

struct daemon;
struct atlasreq;

/* resp is NULL when no token could be had; then error says why. */
typedef void (*atlasreq_fn)(void *ctx, const struct http_response *resp, const char *error);

int atlasreq_get(struct daemon *d, const char *url, const char *accept, atlasreq_fn fn,
		 void *ctx, struct atlasreq **out);
/* No callback after this. */
void atlasreq_cancel(struct atlasreq *q);

#endif
