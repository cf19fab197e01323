/* SPDX-License-Identifier: ISC */
/*
 * azure_config — reads `azure:` (identity, endpoints, ca_file) and each
 * project's `azure:` block (the Atlas app secret's expiry and hint, an own
 * identity) with config.c's key machinery (config_keys.h).
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "azure_config.h"
#include "config_keys.h"
#include "util.h"

#define HEX "0123456789abcdefABCDEF"
#define DNS_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"

static bool
is_guid(const char *s)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};

	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		if (strspn(s, HEX) != groups[i])
			return false;
		s += groups[i];
		if (*s != (i + 1 < ARRAY_SIZE(groups) ? '-' : '\0'))
			return false;
		s++;
	}
	return true;
}

/* Entra ID accepts the tenant as a GUID or as one of its domain names. */
static bool
is_tenant(const char *s)
{
	return cfg_chars_only(s, DNS_CHARS);
}

static bool
is_dns_suffix(const char *s)
{
	return cfg_chars_only(s, DNS_CHARS) && s[0] != '.' && s[strlen(s) - 1] != '.';
}

static const struct cfg_format guid = {is_guid, "a GUID",
				       "e.g. 11111111-2222-4333-8444-555555555555"};
static const struct cfg_format tenant = {is_tenant, "a tenant id",
					 "a GUID or a domain such as contoso.onmicrosoft.com"};
static const struct cfg_format dns_suffix = {is_dns_suffix, "a DNS suffix",
					     "e.g. vault.azure.net"};

static const struct enumdef identity_types[] = {
	{"client_secret", AZID_CLIENT_SECRET},
	{"managed_identity", AZID_MANAGED_IDENTITY},
	{"workload_identity", AZID_WORKLOAD_IDENTITY},
	{NULL, 0}};

static const struct keydef identity_keys[] = {
	KEY("type", h_enum, offsetof(struct cfg_azure_identity, type), .flags = K_REQUIRED,
	    .values = identity_types),
	KEY("tenant_id", h_format, offsetof(struct cfg_azure_identity, tenant_id),
	    .format = &tenant),
	KEY("client_id", h_format, offsetof(struct cfg_azure_identity, client_id),
	    .format = &guid),
	KEY("client_secret", h_secret, offsetof(struct cfg_azure_identity, client_secret)),
	KEY("token_file", h_path, offsetof(struct cfg_azure_identity, token_file)),
	{0},
};

/* Which keys each identity type needs and which it would silently ignore. */
static void
check_identity(struct ctx *c, const struct node *v, struct cfg_azure_identity *id,
	       const struct seen *seen)
{
	static const struct {
		enum azure_identity_type type;
		const char *name, *needs[4], *refuses[3];
	} rules[] = {
		{AZID_CLIENT_SECRET,
		 "client_secret",
		 {"tenant_id", "client_id", "client_secret"},
		 {"token_file"}},
		{AZID_WORKLOAD_IDENTITY,
		 "workload_identity",
		 {"tenant_id", "client_id"},
		 {"client_secret"}},
		{AZID_MANAGED_IDENTITY,
		 "managed_identity",
		 {NULL},
		 {"client_secret", "token_file"}},
	};
	const char *env;

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].type == id->type)
			check_type_keys(c, v, identity_keys, seen, rules[i].name, rules[i].needs,
					rules[i].refuses);
	/* the variable the Azure workload identity webhook sets in the pod */
	if (id->type == AZID_WORKLOAD_IDENTITY && id->token_file == NULL &&
	    seen_key(identity_keys, seen, "token_file") == NULL) {
		env = getenv("AZURE_FEDERATED_TOKEN_FILE");
		if (env == NULL || env[0] != '/')
			problem(c, v, "missing required key \"token_file\" (type "
				      "workload_identity needs it, or AZURE_FEDERATED_TOKEN_FILE)");
		else
			set_str(c, &id->token_file, env, strlen(env));
	}
}

static int
h_identity(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_azure_identity *id = AT(obj, k, struct cfg_azure_identity);
	struct seen seen[CFG_MAX_KEYS];
	unsigned before = cfg_problems(c);

	if (walk_map(c, v, identity_keys, id, seen) < 0)
		return -EINVAL;
	/* a bad type was reported already; its rules would only add noise */
	if (id->type != AZID_NONE)
		check_identity(c, v, id, seen);
	return cfg_problems(c) > before ? -EINVAL : 0;
}

static const struct keydef endpoint_keys[] = {
	KEY("login", h_url, offsetof(struct cfg_azure_endpoints, login), .aux = URL_HTTPS),
	KEY("management", h_url, offsetof(struct cfg_azure_endpoints, management),
	    .aux = URL_HTTPS),
	KEY("graph", h_url, offsetof(struct cfg_azure_endpoints, graph), .aux = URL_HTTPS),
	KEY("vault_suffix", h_format, offsetof(struct cfg_azure_endpoints, vault_suffix),
	    .format = &dns_suffix),
	KEY("key_vault", h_url, offsetof(struct cfg_azure_endpoints, key_vault),
	    .aux = URL_HTTPS),
	/* IMDS is plain http on a link-local address by design */
	KEY("imds", h_url, offsetof(struct cfg_azure_endpoints, imds), .aux = URL_HTTP_ANY),
	{0},
};

static const struct keydef azure_keys[] = {
	KEY("identity", h_identity, offsetof(struct cfg_azure, identity)),
	KEY("endpoints", h_block, offsetof(struct cfg_azure, endpoints), .sub = endpoint_keys),
	KEY("ca_file", h_file, offsetof(struct cfg_azure, ca_file)),
	{0},
};

/* ---- a project's azure: block ------------------------------------------- */

static int
h_project_identity(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct cfg_azure_project *p = obj;
	static const struct keydef self = KEY("identity", h_identity, 0);

	p->identity = calloc(1, sizeof(*p->identity));
	if (p->identity == NULL) {
		cfg_oom(c);
		return -ENOMEM;
	}
	return h_identity(c, v, p->identity, &self);
}

static int
h_secret_expires(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_azure_project *p = obj;

	if (h_time(c, v, obj, k) < 0)
		return -EINVAL;
	p->has_client_secret_expires = true;
	return 0;
}

/* Graph's passwordCredentials hint is the first three characters. */
static int
h_hint(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a string");

	if (s == NULL)
		return -EINVAL;
	if (v->len != 3) {
		problem(c, v, "expected the first 3 characters of the client secret, as Entra "
			      "ID shows them");
		return -EINVAL;
	}
	return set_str(c, AT(obj, k, char *), s, v->len);
}

static const struct keydef project_keys[] = {
	KEY("client_secret_expires", h_secret_expires,
	    offsetof(struct cfg_azure_project, client_secret_expires)),
	KEY("client_secret_hint", h_hint, offsetof(struct cfg_azure_project, client_secret_hint)),
	KEY("identity", h_project_identity, 0),
	{0},
};

/* ---- memory -------------------------------------------------------------- */

static void
identity_free(struct cfg_azure_identity *id)
{
	free(id->tenant_id);
	free(id->client_id);
	cfg_secret_free(&id->client_secret);
	free(id->token_file);
}

static void
azure_free(struct cfg_provider *base)
{
	struct cfg_azure *az = (struct cfg_azure *)base;

	identity_free(&az->identity);
	free(az->endpoints.login);
	free(az->endpoints.management);
	free(az->endpoints.graph);
	free(az->endpoints.vault_suffix);
	free(az->endpoints.key_vault);
	free(az->endpoints.imds);
	free(az->ca_file);
}

static void
azure_project_free(void *block)
{
	struct cfg_azure_project *p = block;

	free(p->client_secret_hint);
	if (p->identity != NULL)
		identity_free(p->identity);
	free(p->identity);
}

const struct cfg_section azure_config = {
	.interval_key = "azure_interval",
	.default_interval = 3600, /* docs/INTERFACE.md */
	.size = sizeof(struct cfg_azure),
	.keys = azure_keys,
	.free = azure_free,
	.project_keys = project_keys,
	.project_size = sizeof(struct cfg_azure_project),
	.project_free = azure_project_free,
};

const struct cfg_azure_identity *
cfg_project_identity(const struct config *cfg, const struct cfg_project *p)
{
	const struct cfg_azure_project *own = p != NULL ? cfg_azure_project(p) : NULL;

	if (own != NULL && own->identity != NULL)
		return own->identity;
	if (cfg != NULL && cfg_azure(cfg)->identity.type != AZID_NONE)
		return &cfg_azure(cfg)->identity;
	return NULL;
}
