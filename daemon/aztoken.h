/* SPDX-License-Identifier: ISC */
/*
 * aztoken — access tokens of kmswatch's own Azure identity (azure.identity
 * or a project's override): client secret and workload identity through
 * the Entra ID v2 token endpoint, managed identity through IMDS (never via
 * a proxy). The tokens live in the daemon's one token cache (tokens.h):
 * one per (identity, resource), shared by every project, cached until
 * shortly before they expire; concurrent requests wait on one fetch.
 * Token errors are classified (expired secret, invalid secret, app or
 * tenant not found, ...) into one sentence saying what to fix.
 */
#ifndef KMSWATCH_AZTOKEN_H
#define KMSWATCH_AZTOKEN_H

#include "azure.h"
#include "azure_config.h"
#include "config.h"
#include "tokens.h"

struct daemon;

enum az_resource { AZRES_KEY_VAULT, AZRES_ARM, AZRES_GRAPH };
const char *az_resource_name(enum az_resource r); /* "Key Vault", ... */

/* tokens_get for this identity and resource. On failure the result's
 * error is the classified Entra/IMDS refusal (struct azure_token_error)
 * when there was one. */
int aztoken_get(struct daemon *d, const struct cfg_azure_identity *id,
		const struct azure_endpoints *ep, enum az_resource res, const char *ca_file,
		token_fn fn, void *ctx, struct token_waiter **w);
/* Forget every Azure token and fetch (a reload may change identities);
 * pending waiters are dropped without callbacks. */
void aztokens_forget(struct daemon *d);

#endif
