/* SPDX-License-Identifier: ISC */
/*
 * atlasreq — one GET of the Atlas Admin API: restreq (restreq.h) with
 * Atlas's credentials, the shared service-account token (auth.h) or HTTP
 * Digest with an API key, and the configured trust anchors.
 */
#ifndef KMSWATCH_ATLASREQ_H
#define KMSWATCH_ATLASREQ_H

#include <stdbool.h>

#include "restreq.h"

struct daemon;
struct atlas_fetch;
struct atlas_error;

/* The unauthenticated endpoints (the control-plane address list) take no
 * credentials at all. */
#define ATLASREQ_UNAUTHENTICATED 0x1u

/* As restreq_get; accept is the versioned media type. */
int atlasreq_get(struct daemon *d, const char *url, const char *accept, unsigned flags,
		 restreq_fn fn, void *ctx, struct restreq **out);

/* How a finished Atlas read went, for atlas.access: true for an HTTP 200
 * (fetch->outcome ATLAS_FETCH_OK, the caller parses the body), else false
 * with the outcome (token, transport, HTTP status with the ApiError parsed
 * into *apierr, which fetch->error then points to) filled in. */
bool atlasreq_outcome(const struct restreq_result *res, struct atlas_fetch *fetch,
		      struct atlas_error *apierr);

#endif
