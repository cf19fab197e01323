/* SPDX-License-Identifier: ISC */
/*
 * gcp_config — the `gcp:` section of the configuration (docs/INTERFACE.md)
 * and `gcp_interval`, read by lib/gcp_config.c through config.c's key
 * tables (config_keys.h).
 */
#ifndef KMSWATCH_GCP_CONFIG_H
#define KMSWATCH_GCP_CONFIG_H

#include "config.h"

struct cfg_section;
/* what config.c reads it with (its kms_desc points here) */
extern const struct cfg_section gcp_config;

enum gcp_identity_type {
	GCPID_NONE = 0,
	GCPID_SERVICE_ACCOUNT_KEY, /* a JSON key file's content, as a secret */
	GCPID_METADATA,            /* the GCE/GKE metadata server */
};

struct cfg_gcp_endpoints {
	char *kms;      /* NULL: https://cloudkms.googleapis.com */
	char *token;    /* NULL: the key's token_uri */
	char *metadata; /* NULL: http://169.254.169.254 */
};

struct cfg_gcp {
	struct cfg_provider base; /* configured, gcp_interval */
	enum gcp_identity_type type;
	struct cfg_secret key; /* service_account_key: the key JSON */
	struct cfg_gcp_endpoints endpoints;
	char *ca_file;
};

/* The `gcp:` part of cfg (never NULL for a loaded config). */
static inline struct cfg_gcp *
cfg_gcp(const struct config *cfg)
{
	return (struct cfg_gcp *)cfg->provider[PROV_GCP];
}

#endif
