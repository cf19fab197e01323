/* SPDX-License-Identifier: ISC */
/*
 * auth — Atlas service-account tokens (OAuth2 client credentials): how to
 * ask Atlas for one and read its answer. The token lives in the daemon's
 * one token cache (tokens.h), shared by every project: fetched on first
 * use, cached until shortly before it expires, dropped when Atlas answers
 * 401 to it (tokens_invalidate), one fetch for all concurrent waiters
 * (tokens_cancel cancels a wait). API-key (Digest) auth needs no token.
 */
#ifndef KMSWATCH_AUTH_H
#define KMSWATCH_AUTH_H

#include "tokens.h"

struct daemon;
struct config;
struct auth;

int auth_new(struct daemon *d, struct auth **out);
void auth_free(struct auth *a);
/* Adopt a (new) config: changed credentials (base URL, client id or
 * secret) drop the cached token, and waiters get a fetch with the new
 * ones. The config must outlive the next auth_configure/free. */
void auth_configure(struct auth *a, const struct config *cfg);
/* tokens_get for the configured service account; -EINVAL when Atlas
 * auth is not a service account. */
int auth_get_token(struct auth *a, token_fn fn, void *ctx, struct token_waiter **w);

#endif
