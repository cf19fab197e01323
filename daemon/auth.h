/*
 * auth — Atlas service-account tokens (OAuth2 client credentials). One
 * token is shared by every project; it is fetched on first use, cached
 * until shortly before it expires, dropped when Atlas answers 401 to it,
 * and concurrent requests for it wait on one fetch, which retries transient
 * failures of the token endpoint (fetch's policy) once for all of them.
 * API-key (Digest) auth needs no state and does not pass through here.
 */
#ifndef KMSWATCH_AUTH_H
#define KMSWATCH_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;
struct config;
struct auth;
struct auth_waiter;

/* token is NULL on failure; then status is the HTTP status of the token
 * endpoint (0 for a transport error) and detail says what went wrong,
 * without any secret. token is valid only during the call. retries: how
 * many transient failures the fetch retried (0 for a cached token). */
typedef void (*auth_token_fn)(void *ctx, const char *token, long status, const char *detail,
			      unsigned retries);

int auth_new(struct daemon *d, struct auth **out);
/* Pending waiters are dropped without callbacks: their owners are being
 * torn down too. */
void auth_free(struct auth *a);
/* Adopt a (new) config: a changed base URL or client id/secret drops the
 * cached token. The config must outlive the next auth_configure/free. */
void auth_configure(struct auth *a, const struct config *cfg);

/* Calls fn with a valid token, at once (synchronously) when one is cached,
 * otherwise when the fetch completes; *w (may be NULL) can cancel a wait. */
int auth_get_token(struct auth *a, auth_token_fn fn, void *ctx, struct auth_waiter **w);
void auth_cancel(struct auth *a, struct auth_waiter *w);
/* Atlas refused this token (401): forget it so the next call fetches anew. */
void auth_invalidate(struct auth *a, const char *token);

#endif
