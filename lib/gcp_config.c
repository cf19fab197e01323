/* SPDX-License-Identifier: ISC */
/*
 * gcp_config — reads `gcp:` (identity, endpoints, ca_file) with config.c's
 * key machinery (config_keys.h). A service-account key is parsed and
 * tried here, so that kmswatchd -t finds a broken one without the network.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config_keys.h"
#include "crypto.h"
#include "gcp.h"
#include "gcp_config.h"
#include "util.h"

static const struct enumdef identity_types[] = {
	{"service_account_key", GCPID_SERVICE_ACCOUNT_KEY},
	{"metadata", GCPID_METADATA},
	{NULL, 0}};

static const struct keydef identity_keys[] = {
	KEY("type", h_enum, offsetof(struct cfg_gcp, type), .flags = K_REQUIRED,
	    .values = identity_types),
	KEY("key", h_secret, offsetof(struct cfg_gcp, key)),
	{0},
};

static const struct keydef endpoint_keys[] = {
	KEY("kms", h_url, offsetof(struct cfg_gcp_endpoints, kms), .aux = URL_HTTPS,
	    .flags = K_ORIGIN),
	KEY("token", h_url, offsetof(struct cfg_gcp_endpoints, token), .aux = URL_HTTPS),
	/* the metadata server is plain http on a link-local address */
	KEY("metadata", h_url, offsetof(struct cfg_gcp_endpoints, metadata), .aux = URL_HTTP_ANY,
	    .flags = K_ORIGIN),
	{0},
};

static int
h_identity(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct cfg_gcp *gcp = obj;
	struct seen seen[CFG_MAX_KEYS];
	const struct seen *key;
	unsigned before = cfg_problems(c);

	if (walk_map(c, v, identity_keys, gcp, seen) < 0 || cfg_problems(c) > before)
		return -EINVAL;
	key = seen_key(identity_keys, seen, "key");
	if (gcp->type == GCPID_SERVICE_ACCOUNT_KEY && key == NULL)
		problem(c, v, "missing required key \"key\" (type service_account_key needs it)");
	if (gcp->type == GCPID_METADATA && key != NULL)
		problem(c, key->key, "key \"key\" is not used by type metadata");
	/* what -t can check without the network: the key file itself */
	if (key != NULL && gcp->key.value != NULL) {
		struct gcp_sa_key sa;
		unsigned char *sig = NULL;
		size_t siglen = 0;
		const char *why = "";
		char err[256];

		if (gcp_parse_sa_key(gcp->key.value, strlen(gcp->key.value), &sa, err,
				     sizeof(err)) < 0)
			problem(c, key->val, "not a Google service-account key (JSON): %s", err);
		else if (crypto_rs256_sign(sa.private_key, "", 0, &sig, &siglen, &why) == -EINVAL)
			problem(c, key->val, "unusable service-account key: %s", why);
		free(sig);
		gcp_sa_key_free(&sa);
	}
	return cfg_problems(c) > before ? -EINVAL : 0;
}

static const struct keydef gcp_keys[] = {
	KEY("identity", h_identity, 0),
	KEY("endpoints", h_block, offsetof(struct cfg_gcp, endpoints), .sub = endpoint_keys),
	KEY("ca_file", h_file, offsetof(struct cfg_gcp, ca_file)),
	{0},
};

static void
gcp_free(struct cfg_provider *base)
{
	struct cfg_gcp *gcp = (struct cfg_gcp *)base;

	cfg_secret_free(&gcp->key);
	free(gcp->endpoints.kms);
	free(gcp->endpoints.token);
	free(gcp->endpoints.metadata);
	free(gcp->ca_file);
}

const struct cfg_section gcp_config = {
	.interval_key = "gcp_interval",
	.default_interval = 3600, /* docs/INTERFACE.md */
	.size = sizeof(struct cfg_gcp),
	.keys = gcp_keys,
	.free = gcp_free,
};
