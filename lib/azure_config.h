/* SPDX-License-Identifier: ISC */
/*
 * azure_config — the `azure:` section of the configuration (docs/INTERFACE.md),
 * `azure_interval`, and each project's `azure:` block. Read by
 * lib/azure_config.c through config.c's key tables (config_keys.h).
 */
#ifndef KMSWATCH_AZURE_CONFIG_H
#define KMSWATCH_AZURE_CONFIG_H

#include "config.h"

struct cfg_section;
/* what config.c reads it with (its kms_desc points here) */
extern const struct cfg_section azure_config;

enum azure_identity_type {
	AZID_NONE = 0,
	AZID_CLIENT_SECRET,
	AZID_MANAGED_IDENTITY,
	AZID_WORKLOAD_IDENTITY,
};

struct cfg_azure_identity {
	enum azure_identity_type type;
	char *tenant_id;
	char *client_id;                /* optional for managed identity */
	struct cfg_secret client_secret; /* client_secret type only */
	char *token_file;               /* workload identity; default
					   $AZURE_FEDERATED_TOKEN_FILE */
};

struct cfg_azure_endpoints {
	char *login, *management, *graph, *vault_suffix, *key_vault, *imds;
};

struct cfg_azure {
	struct cfg_provider base; /* configured, azure_interval */
	struct cfg_azure_identity identity;
	struct cfg_azure_endpoints endpoints;
	char *ca_file;
};

/* A project entry's `azure:` block. */
struct cfg_azure_project {
	/* what Atlas's Azure app secret is known to be */
	bool has_client_secret_expires;
	time_t client_secret_expires;
	char *client_secret_hint;
	struct cfg_azure_identity *identity; /* NULL: use the global one */
};

/* The `azure:` part of cfg (never NULL for a loaded config). */
static inline struct cfg_azure *
cfg_azure(const struct config *cfg)
{
	return (struct cfg_azure *)cfg->provider[PROV_AZURE];
}

/* The project's `azure:` block, or NULL when its entry has none. */
static inline const struct cfg_azure_project *
cfg_azure_project(const struct cfg_project *p)
{
	return p->block[PROV_AZURE];
}

/* The identity that applies to a project (its own or the global one), or
 * NULL when none is configured. */
const struct cfg_azure_identity *cfg_project_identity(const struct config *cfg,
						      const struct cfg_project *p);

#endif
