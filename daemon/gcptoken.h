/* SPDX-License-Identifier: ISC */
/*
 * gcptoken — access tokens of kmswatch's own Google Cloud identity
 * (gcp.identity): a service-account key signs an RS256 assertion that the
 * token endpoint exchanges (RFC 7523 JWT bearer grant), or the GCE/GKE
 * metadata server hands one out (never via a proxy). The tokens live in
 * the daemon's one token cache (tokens.h), cached until shortly before
 * they expire; concurrent requests wait on one fetch. A refusal is
 * classified (struct gcp_error) so that gcp.access can say what to fix.
 */
#ifndef KMSWATCH_GCPTOKEN_H
#define KMSWATCH_GCPTOKEN_H

#include "config.h"
#include "tokens.h"

struct daemon;

/* tokens_get for cfg's gcp.identity. On failure the result's error is the
 * token endpoint's struct gcp_error when it answered with one. */
int gcptoken_get(struct daemon *d, const struct config *cfg, token_fn fn, void *ctx,
		 struct token_waiter **w);
/* Forget every Google token and fetch (a reload may change the identity). */
void gcptokens_forget(struct daemon *d);

#endif
