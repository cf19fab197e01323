/* SPDX-License-Identifier: ISC */
/*
 * aws_config — the `aws:` section of the configuration (docs/INTERFACE.md)
 * and `aws_interval`, read by lib/aws_config.c through config.c's key
 * tables (config_keys.h).
 */
#ifndef KMSWATCH_AWS_CONFIG_H
#define KMSWATCH_AWS_CONFIG_H

#include "config.h"

struct cfg_section;
/* what config.c reads it with (its kms_desc points here) */
extern const struct cfg_section aws_config;

enum aws_identity_type {
	AWSID_NONE = 0,
	AWSID_ACCESS_KEY,       /* access_key_id + secret_access_key */
	AWSID_INSTANCE_PROFILE, /* IMDSv2 on EC2 */
	AWSID_WEB_IDENTITY,     /* OIDC token file + sts:AssumeRoleWithWebIdentity */
};

struct cfg_aws_identity {
	enum aws_identity_type type;
	struct cfg_secret access_key_id;     /* access_key: may be a plain string */
	struct cfg_secret secret_access_key; /* access_key */
	char *role_arn;   /* optional sts:AssumeRole on top; web_identity: the role
			     (default $AWS_ROLE_ARN) */
	char *token_file; /* web_identity; default $AWS_WEB_IDENTITY_TOKEN_FILE */
};

struct cfg_aws_endpoints {
	/* kms: a URL template, "REGION" replaced by the key's region */
	char *kms, *sts, *imds;
};

struct cfg_aws {
	struct cfg_provider base; /* configured, aws_interval */
	struct cfg_aws_identity identity;
	struct cfg_aws_endpoints endpoints;
	char *ca_file;
};

/* The `aws:` part of cfg (never NULL for a loaded config). */
static inline struct cfg_aws *
cfg_aws(const struct config *cfg)
{
	return (struct cfg_aws *)cfg->provider[PROV_AWS];
}

#endif
