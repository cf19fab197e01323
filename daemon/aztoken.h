/*
 * aztoken — access tokens of kmswatch's own Azure identity (azure.identity
 * or a project's override): client secret and workload identity through
 * the Entra ID v2 token endpoint, managed identity through IMDS (never via
 * a proxy). One token per (identity, resource), shared by every project,
 * cached until shortly before it expires; concurrent requests wait on one
 * fetch. Token errors are classified (expired secret, invalid secret, app
 * or tenant not found, ...) into one sentence saying what to fix.
 */
#ifndef KMSWATCH_AZTOKEN_H
#define KMSWATCH_AZTOKEN_H

#include "azure.h"
#include "config.h"

struct daemon;
struct aztokens;
struct aztoken_waiter;

enum az_resource { AZRES_KEY_VAULT, AZRES_ARM, AZRES_GRAPH };
const char *az_resource_name(enum az_resource r); /* "Key Vault", ... */

/* token is NULL on failure; then status is the token endpoint's HTTP
 * status (0 without an answer), terr the classified Entra/IMDS error when
 * there was one (else NULL) and detail a readable reason (no secret). All
 * are valid only during the call. */
typedef void (*aztoken_fn)(void *ctx, const char *token, int status,
			   const struct azure_token_error *terr, const char *detail);

int aztokens_new(struct daemon *d, struct aztokens **out);
/* Pending waiters are dropped without callbacks. */
void aztokens_free(struct aztokens *t);
/* Forget every token and fetch (a reload may change identities); pending
 * waiters are dropped without callbacks. */
void aztokens_reset(struct aztokens *t);

/* fn may run synchronously (cached token). *w (optional) cancels a wait. */
int aztoken_get(struct aztokens *t, const struct cfg_azure_identity *id,
		const struct azure_endpoints *ep, enum az_resource res, const char *ca_file,
		aztoken_fn fn, void *ctx, struct aztoken_waiter **w);
void aztoken_cancel(struct aztokens *t, struct aztoken_waiter *w);
/* The service refused this token (401): fetch a new one next time. */
void aztoken_invalidate(struct aztokens *t, const char *token);

#endif
