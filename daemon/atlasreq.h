/* SPDX-License-Identifier: ISC */
/*
 * atlasreq — one GET of the Atlas Admin API: restreq (restreq.h) with
 * Atlas's credentials, the shared service-account token (auth.h) or HTTP
 * Digest with an API key, and the configured trust anchors.
 */
#ifndef KMSWATCH_ATLASREQ_H
#define KMSWATCH_ATLASREQ_H

#include "restreq.h"

struct daemon;

/* The unauthenticated endpoints (the control-plane address list) take no
 * credentials at all. */
#define ATLASREQ_UNAUTHENTICATED 0x1u

/* As restreq_get; accept is the versioned media type. */
int atlasreq_get(struct daemon *d, const char *url, const char *accept, unsigned flags,
		 restreq_fn fn, void *ctx, struct restreq **out);

#endif
