/* SPDX-License-Identifier: ISC */
/*
 * azure — the Azure side of kmswatch without I/O: the cloud endpoint table
 * (Atlas azureEnvironment -> hosts and token scopes), parsers that turn
 * Entra ID, IMDS, Microsoft Graph, Key Vault and ARM answers into plain
 * structs, the Key Vault key identifier grammar, and (azure_checks.c) the
 * pure azure.* checks and atlas.control_plane_ips.
 *
 * Parser conventions (as in atlas.h): every field is optional, JSON null is
 * absent, unknown fields are ignored, duplicate keys and a known field of
 * the wrong JSON type make the body invalid (-EBADMSG, err names the
 * field), so that a broken answer is reported as broken instead of being
 * read as "nothing wrong". Bodies need no NUL terminator. On error the out
 * struct is left empty (nothing to free); on success the caller frees it
 * with the matching _free function. Strings are copied verbatim except the
 * error-body fields, which are sanitised for logs.
 */
#ifndef KMSWATCH_AZURE_H
#define KMSWATCH_AZURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "atlas.h"
#include "atlas_checks.h"
#include "azure_config.h"
#include "checks.h"

struct cfg_azure_endpoints;
struct cfg_checks;

/* ---- clouds ---------------------------------------------------------- */

enum azure_cloud {
	AZURE_CLOUD_UNKNOWN = 0, /* a value kmswatch does not know */
	AZURE_CLOUD_PUBLIC,      /* AZURE */
	AZURE_CLOUD_CHINA,       /* AZURE_CHINA */
	AZURE_CLOUD_US_GOV,      /* AZURE_US_GOVERNMENT */
};

/* Atlas's azureEnvironment, case-insensitive. NULL or "" is AZURE (what
 * Atlas assumes when the field is unset); anything else unknown, including
 * the retired AZURE_GERMANY, is AZURE_CLOUD_UNKNOWN. */
enum azure_cloud azure_cloud_from_atlas(const char *env);
const char *azure_cloud_atlas_name(enum azure_cloud c); /* "AZURE"... "" */

#define AZURE_URL_MAX 256

/* Where requests go and which token audience each service needs. URLs are
 * origins without a trailing '/' ("https://management.azure.com"); a
 * *_resource is the IMDS `resource`, a *_scope the Entra v2 `scope`. */
struct azure_endpoints {
	enum azure_cloud cloud;
	char login[AZURE_URL_MAX];        /* authority host */
	char management[AZURE_URL_MAX];   /* ARM */
	char graph[AZURE_URL_MAX];        /* Microsoft Graph */
	char vault_suffix[AZURE_URL_MAX]; /* "vault.azure.net" */
	char key_vault[AZURE_URL_MAX];    /* "" = each vault's own host */
	char imds[AZURE_URL_MAX];
	char kv_resource[AZURE_URL_MAX], kv_scope[AZURE_URL_MAX];
	char arm_resource[AZURE_URL_MAX], arm_scope[AZURE_URL_MAX];
	char graph_resource[AZURE_URL_MAX], graph_scope[AZURE_URL_MAX];
};

/*
 * The endpoints of the cloud named by atlas_env, with the config's
 * azure.endpoints overrides (ovr may be NULL) applied:
 * - login, key_vault and imds only change where requests go;
 * - management and graph change where requests go; the ARM and Graph
 *   token audiences stay the cloud's own unless the override's host is a
 *   public Azure service host (management.azure.com,
 *   management.chinacloudapi.cn, management.usgovcloudapi.net for
 *   management; graph.microsoft.com, microsoftgraph.chinacloudapi.cn,
 *   graph.microsoft.us, dod-graph.microsoft.us for graph) or a subdomain
 *   of one, when the audience is https://{that host}. So a private link, a
 *   proxy or a test server (https://10.0.0.5, https://127.0.0.1:8443) never
 *   becomes an audience (Entra refuses those: AADSTS500011), while a US
 *   Government DoD tenant's graph: https://dod-graph.microsoft.us gets
 *   tokens for that host;
 * - vault_suffix is the expected DNS suffix of key identifiers, and the
 *   Key Vault audience is https://{vault_suffix}; it is stored lower case;
 * - an unknown environment needs every audience derivable: either
 *   vault_suffix is the suffix of a known cloud (whose hosts and audiences
 *   are then the defaults, e.g. vault.azure.net), or login, management,
 *   graph and vault_suffix are all set and management and graph name
 *   public Azure service hosts as above. out->cloud stays
 *   AZURE_CLOUD_UNKNOWN either way.
 * URL overrides must be http(s) with a host and an optional numeric port,
 * without user information, query, fragment or spaces; trailing slashes
 * are dropped, a path is kept (a prefix for every request).
 * Returns 0; -ENOENT for an unknown environment without enough overrides
 * (err: "azureEnvironment "X" is unknown: set azure.endpoints login,
 * management, graph and vault_suffix to its hosts (...)"); -EINVAL for a
 * malformed override; -ENAMETOOLONG; err says which, and always fits in
 * 256 bytes. out->cloud is set even on error, everything else then is "".
 */
int azure_endpoints_resolve(const char *atlas_env, const struct cfg_azure_endpoints *ovr,
			    struct azure_endpoints *out, char *err, size_t errlen);

/* ---- Entra ID and IMDS tokens ------------------------------------------ */

enum azure_token_cause {
	AZTOK_OTHER = 0,        /* no code kmswatch knows */
	AZTOK_SECRET_EXPIRED,   /* AADSTS7000222 */
	AZTOK_SECRET_INVALID,   /* AADSTS7000215 */
	AZTOK_APP_NOT_FOUND,    /* AADSTS700016 */
	AZTOK_TENANT_NOT_FOUND, /* AADSTS90002 */
	AZTOK_INVALID_SCOPE,    /* AADSTS70011 */
};

#define AZURE_TOKEN_MAX_CODES 8
struct azure_token_error {
	char error[64];        /* "invalid_client" */
	char description[512]; /* error_description, sanitised, truncated */
	long long codes[AZURE_TOKEN_MAX_CODES];
	size_t n_codes;
	enum azure_token_cause cause;
};

struct azure_token {
	char *access_token; /* a bearer credential: util_free_secret */
	int64_t expires_in; /* seconds, > 0 */
	bool has_expires_on;
	time_t expires_on; /* IMDS */
};

/*
 * Entra v2 ({"access_token","expires_in":3599,...}) and IMDS answers
 * ({"expires_in":"3599","expires_on":"1506484173",...}): expires_in and
 * expires_on may each be a JSON integer or a string of decimal digits.
 * Returns 0 with *tok filled; -EACCES for an error body ({"error":...}),
 * with *terr filled and classified (terr may be NULL); -EBADMSG with a
 * reason in err (no token, a token with characters not allowed in a
 * header, token_type not Bearer, expires_in missing or not a positive
 * number). The answer's copy of the token is wiped before returning.
 */
int azure_parse_token(const char *body, size_t len, struct azure_token *tok,
		      struct azure_token_error *terr, char *err, size_t errlen);
void azure_token_free(struct azure_token *tok);
/* From error_codes[] (the first code kmswatch knows wins), else from an
 * "AADSTSnnn" in the description. */
enum azure_token_cause azure_token_classify(const long long *codes, size_t n,
					    const char *description);
/* What kmswatch's operator should fix for a token error of its own
 * identity (azure.identity), one sentence without a trailing period. */
const char *azure_token_advice(enum azure_token_cause c);

/* ---- Microsoft Graph ---------------------------------------------------- */

struct azure_password_credential {
	char *key_id, *display_name, *hint;
	bool has_start, has_end;
	time_t start, end; /* startDateTime, endDateTime */
};

/* An application or a servicePrincipal: the same fields matter. */
struct azure_graph_app {
	char *id, *app_id, *display_name;
	bool has_password_credentials; /* the field was in the answer */
	struct azure_password_credential *creds;
	size_t n_creds;
};

struct azure_graph_app_list {
	struct azure_graph_app *v;
	size_t n;
	char *next_link; /* @odata.nextLink */
};

int azure_parse_graph_app(const char *body, size_t len, struct azure_graph_app *out, char *err,
			  size_t errlen);
void azure_graph_app_free(struct azure_graph_app *a);
/* The {"value":[...]} form of $filter queries. */
int azure_parse_graph_app_list(const char *body, size_t len, struct azure_graph_app_list *out,
			       char *err, size_t errlen);
void azure_graph_app_list_free(struct azure_graph_app_list *l);

/* ---- Key Vault keys ----------------------------------------------------- */

struct azure_kv_attributes {
	enum tri enabled;
	bool has_nbf, has_exp, has_created, has_updated;
	time_t nbf, exp, created, updated; /* Unix seconds on the wire */
	char *recovery_level;
};

struct azure_kv_tag {
	char *name, *value;
};

/* A key bundle (GET .../keys/{name}/{version}: kid, kty and key_ops sit in
 * "key") or an item of a versions page (kid at the top, no key material). */
struct azure_kv_key {
	char *kid, *kty;
	char **key_ops;
	size_t n_key_ops;
	struct azure_kv_attributes attr;
	struct azure_kv_tag *tags;
	size_t n_tags;
	enum tri managed;
};

struct azure_kv_versions {
	struct azure_kv_key *v;
	size_t n;
	char *next_link; /* absolute URL of the next page, or NULL */
};

int azure_parse_kv_key(const char *body, size_t len, struct azure_kv_key *out, char *err,
		       size_t errlen);
void azure_kv_key_free(struct azure_kv_key *k);
int azure_parse_kv_versions(const char *body, size_t len, struct azure_kv_versions *out,
			    char *err, size_t errlen);
void azure_kv_versions_free(struct azure_kv_versions *v);

/* ISO 8601 duration -> seconds: PnYnMnWnDTnHnMnS with whole numbers, in
 * that order, at least one component; a year counts 365 days and a month
 * 30 days (Key Vault's own reading; the numbers only feed messages).
 * -EINVAL for anything else (signs, fractions, "P", "PT"), -ERANGE on
 * overflow. */
int azure_parse_iso_duration(const char *s, int64_t *seconds);

enum azure_action { AZACT_UNKNOWN = 0, AZACT_ROTATE, AZACT_NOTIFY };

struct azure_lifetime_action {
	enum azure_action action; /* action.type, case-insensitive */
	char *action_type;        /* as sent */
	bool has_after_create, has_before_expiry;
	int64_t after_create, before_expiry; /* seconds */
};

struct azure_rotation_policy {
	char *id;
	struct azure_lifetime_action *actions;
	size_t n_actions;
	bool has_expiry_time;
	int64_t expiry_time; /* attributes.expiryTime, seconds */
	bool has_created, has_updated;
	time_t created, updated;
};

int azure_parse_rotation_policy(const char *body, size_t len, struct azure_rotation_policy *out,
				char *err, size_t errlen);
void azure_rotation_policy_free(struct azure_rotation_policy *p);
/* The first Rotate action, or NULL when the policy never rotates. */
const struct azure_lifetime_action *azure_rotation_policy_rotate(
	const struct azure_rotation_policy *p);

/* ---- error bodies (Key Vault, ARM, Graph, OAuth) ------------------------ */

struct azure_error {
	char code[64];       /* error.code ("Forbidden") */
	char inner_code[64]; /* innermost innererror.code ("ForbiddenByFirewall"), or "" */
	char message[512];   /* sanitised, truncated */
	char client_address[48]; /* the "Client address: x" of a firewall 403, or "" */
};

/* Best effort, as atlas_parse_error: {"error":{"code","message",
 * "innererror":{"code",innererror:{...}}}} (Graph spells it innerError),
 * and the OAuth shape {"error":"...","error_description":"..."}. Returns 0
 * when a code or a message was found, -EBADMSG otherwise. */
int azure_parse_error(const char *body, size_t len, struct azure_error *out);

/* ---- ARM: vault and role assignments ------------------------------------ */

enum azure_public_access { AZPUB_ABSENT = 0, AZPUB_ENABLED, AZPUB_DISABLED, AZPUB_OTHER };
enum azure_net_action { AZNET_ABSENT = 0, AZNET_ALLOW, AZNET_DENY, AZNET_OTHER };

struct azure_access_policy {
	char *tenant_id, *object_id, *application_id;
	char **key_perms; /* permissions.keys, as sent */
	size_t n_key_perms;
};

struct azure_vault {
	char *id, *name, *location;
	char *tenant_id, *vault_uri;
	enum tri rbac; /* enableRbacAuthorization */
	enum azure_public_access public_access;
	char *public_access_raw;
	bool has_network_acls;
	enum azure_net_action default_action;
	char *default_action_raw, *bypass;
	char **ip_rules; /* ipRules[].value */
	size_t n_ip_rules;
	char **vnet_rules; /* virtualNetworkRules[].id */
	size_t n_vnet_rules;
	struct azure_access_policy *policies;
	size_t n_policies;
	enum tri soft_delete, purge_protection;
	bool has_last_modified;
	time_t last_modified; /* systemData.lastModifiedAt */
};

int azure_parse_vault(const char *body, size_t len, struct azure_vault *out, char *err,
		      size_t errlen);
void azure_vault_free(struct azure_vault *v);

struct azure_role_assignment {
	char *id, *role_definition_id, *principal_id, *principal_type, *scope;
	char role_guid[40]; /* last segment of roleDefinitionId, lower case */
};

struct azure_role_assignments {
	struct azure_role_assignment *v;
	size_t n;
	char *next_link;
};

int azure_parse_role_assignments(const char *body, size_t len,
				 struct azure_role_assignments *out, char *err, size_t errlen);
void azure_role_assignments_free(struct azure_role_assignments *r);

/* Built-in roles that grant the key operations Atlas needs. */
#define AZURE_ROLE_KV_CRYPTO_USER "12338af0-0e69-4776-bea7-57ae8d297424"
#define AZURE_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER "e147488a-f6f5-4113-8e2d-b22465e65bf6"
#define AZURE_ROLE_KV_CRYPTO_OFFICER "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
#define AZURE_ROLE_KV_ADMINISTRATOR "00482a5a-887f-4fb3-b363-3b7fe8e74483"
/* The role's display name when it is one of the four above, else NULL. */
const char *azure_crypto_role_name(const char *role_guid);

/* ---- key identifiers ---------------------------------------------------- */

struct azure_key_id {
	char vault[25];    /* lower case */
	char suffix[254];  /* lower case, "vault.azure.net" */
	char name[128];    /* as written */
	char version[33];  /* as written; "" when the identifier has none */
	bool version_not_hex; /* 32 characters but not all hex: legal, unusual */
};

/*
 * https://{vault}.{suffix}/keys/{name}[/{version}][/], case-insensitive in
 * scheme, host and "keys"; ":443" allowed, any other port, user info, a
 * query or a fragment not. Vault 3-24 of [0-9a-zA-Z-], no "--", no '-' at
 * either end (a DNS label); name 1-127 of [0-9a-zA-Z-]; version exactly 32
 * of [0-9a-zA-Z]. Returns 0 or -EINVAL with the reason in err.
 */
int azure_parse_key_id(const char *s, struct azure_key_id *out, char *err, size_t errlen);
/* "vault/name/version" (or "vault/name"): the subject of key alerts. */
void azure_key_id_subject(const struct azure_key_id *id, char *buf, size_t len);
/* Same vault, suffix, name and version, case-insensitively. */
bool azure_key_id_equal(const struct azure_key_id *a, const struct azure_key_id *b);

/*
 * Values Atlas hands us that go into an Azure URL path or a Graph key
 * (applications(appId='...')). Azure defines their shapes; anything else
 * is refused, never escaped into a request that would mean something
 * else. Each returns NULL when s is fine, else why not (a static text).
 * - a GUID (client, subscription, tenant ids): 8-4-4-4-12 hex digits;
 * - a vault name: 3-24 of [0-9a-zA-Z-], starting with a letter, no "--",
 *   not ending in '-';
 * - a resource group name: 1-90 of letters, digits, '_', '-', '.', '('
 *   and ')' (ASCII: kmswatch does not send the Unicode letters Azure also
 *   allows), not ending in '.'.
 * - an ARM resource id as ARM returns it ("/subscriptions/..."): '/'
 *   and the characters above, no "." or ".." segment.
 */
const char *azure_check_guid(const char *s);
const char *azure_check_vault_name(const char *s);
const char *azure_check_resource_group(const char *s);
const char *azure_check_arm_id(const char *s);

/* =========================================================================
 * Pure checks (azure_checks.c). Conventions of checks.h: 0, -EINVAL for a
 * missing argument, -ENOMEM (findings added so far stay in *out); a check
 * with a verdict marks out->evaluated[] and adds one finding per subject
 * (SEV_OK when fine); a check without the input it needs adds nothing and
 * is not marked, so its alerts keep their state (the reason shows up in
 * azure.access); a check switched off adds nothing. NULL checks: all on,
 * default thresholds. A threshold is reached when the time left is at most
 * it, or the age at least it. Days are whole days, rounded down.
 * ========================================================================= */

/* ---- azure.secret_expiry (subject: Atlas's clientID, or the roleId) ----
 * Credentials of the application and of its service principal both count.
 * With hint: the credentials whose hint matches; hints can collide, so the
 * first of them to expire, among the currently valid ones while any is
 * valid (an expired or not yet valid one is not what a working Atlas
 * uses), else among all of them; no match at all is at least a warning.
 * Without hint: the soonest-expiring currently valid credential (the
 * summary says a hint would make it exact when several are valid); none
 * valid is critical. Graph not read (app and sp NULL, or answers without
 * passwordCredentials): the configured date, else no verdict. Secretless
 * (role_id without client_id): one ok finding saying there is no secret. */
struct azure_secret_input {
	const char *client_id; /* Atlas clientID */
	const char *role_id;   /* Atlas roleId: secretless when set without clientID */
	const struct azure_graph_app *app; /* Graph application, NULL: not read */
	const struct azure_graph_app *sp;  /* its service principal, NULL: not read */
	/* Graph answered 404 Request_ResourceNotFound for the application /
	 * the service principal; both: Atlas's application does not exist in
	 * the tenant kmswatch reads (critical when that is Atlas's tenantID) */
	bool app_missing, sp_missing;
	const char *identity_tenant; /* kmswatch's azure.identity tenant_id */
	const char *atlas_tenant;    /* Atlas's tenantID */
	const char *hint;                  /* projects[].azure.client_secret_hint */
	bool has_configured_expiry;        /* projects[].azure.client_secret_expires, */
	time_t configured_expiry;          /* used only when Graph was not read */
};
int chk_azure_secret_expiry(const struct azure_secret_input *in, const struct cfg_checks *checks,
			    time_t now, struct findings *out);

/* ---- azure.key_identifier (subject "azure") ----------------------------
 * expected_suffix: the vault suffix of the project's cloud as resolved by
 * azure_endpoints_resolve (so an override counts); NULL: derive it from
 * kv->azure_environment, unknown environments giving an unknown verdict. */
int chk_azure_key_identifier(const struct atlas_azure_kv *kv, const char *expected_suffix,
			     const char *vault_missing, const struct cfg_checks *checks,
			     struct findings *out);

/* ---- azure.key_state (subject: azure_key_id_subject of the pin) --------
 * key: the pinned version as read, NULL when not read; deleted: Key Vault
 * answered 404 KeyNotFound for it. Expiry window: checks->key_expiry. */
int chk_azure_key_state(const struct azure_key_id *pin, const struct azure_kv_key *key,
			bool deleted, const struct cfg_checks *checks, time_t now,
			struct findings *out);

/* ---- azure.key_age ------------------------------------------------------
 * Age from key->attr.created; without it, from mem->key_first_seen when
 * mem->key_id is the same identifier (the summary then says the age is a
 * lower bound). policy: NULL when not read. */
int chk_azure_key_age(const struct azure_key_id *pin, const struct azure_kv_key *key,
		      const struct ear_memory *mem, const struct azure_rotation_policy *policy,
		      const struct cfg_checks *checks, time_t now, struct findings *out);

/* ---- azure.key_version --------------------------------------------------
 * pinned: the pinned version as read (may be NULL if versions lists it);
 * versions: every version (all pages) or just the latest key. A newer
 * version is one of the same key, enabled, valid at `now`, created later
 * than the pinned one. No verdict when the pin's creation time is unknown. */
int chk_azure_key_version(const struct azure_key_id *pin, const struct azure_kv_key *pinned,
			  const struct azure_kv_key *versions, size_t n_versions,
			  const struct cfg_checks *checks, time_t now, struct findings *out);

/* ---- azure.allowlist (subject: the vault name) -------------------------- */
struct azure_allowlist_input {
	const char *vault_name;         /* used when vault->name is absent */
	const struct azure_vault *vault; /* ARM vault; NULL: no verdict */
	const char *const *control_plane; /* Atlas control-plane outbound CIDRs */
	size_t n_control_plane;
	bool have_control_plane;          /* false: that list could not be read */
	const struct atlas_ip_addresses *nodes; /* NULL: could not be read */
	enum tri require_private_networking;
};
int chk_azure_allowlist(const struct azure_allowlist_input *in, const struct cfg_checks *checks,
			struct findings *out);

/* ---- azure.permissions (subject: the vault name) ------------------------
 * Access-policy vaults: the policies of principal_id without an
 * applicationId (compound identities do not apply), added up, must grant
 * get and wrapKey+unwrapKey or encrypt+decrypt ("all" grants everything);
 * the summary names exactly what is missing. RBAC vaults
 * (enableRbacAuthorization true): an assignment to principal_id of one of
 * the four crypto roles at the vault, a parent scope or the key's own
 * scope is ok; only roles known not to grant key operations is critical;
 * a role kmswatch does not know, or a crypto role held by a group (whose
 * members kmswatch cannot see), is unknown; roles NULL is unknown. */
struct azure_permissions_input {
	const char *vault_name;          /* used when vault->name is absent */
	const struct azure_vault *vault; /* NULL: no verdict */
	const char *principal_id; /* object id of Atlas's service principal
				     (of clientID, or the Cloud Provider Access
				     servicePrincipalId); NULL: unknown */
	const char *key_name;     /* for key-scoped role assignments */
	const struct azure_role_assignments *roles; /* RBAC vaults; NULL: could
							not be read */
};
int chk_azure_permissions(const struct azure_permissions_input *in,
			  const struct cfg_checks *checks, struct findings *out);

/* ---- azure.access (subject: "graph", "key-vault" or "arm") ------------- */

enum azure_op {
	AZOP_GRAPH_APP = 0, /* GET applications(appId=...) */
	AZOP_GRAPH_SP,      /* GET servicePrincipals(appId=...) */
	AZOP_KV_KEY,        /* GET keys/{name}/{version} or the latest */
	AZOP_KV_VERSIONS,   /* GET keys/{name}/versions */
	AZOP_KV_ROTATION_POLICY,
	AZOP_ARM_VAULT,
	AZOP_ARM_ROLE_ASSIGNMENTS,
};

enum azure_outcome {
	AZURE_READ_OK = 0,
	AZURE_READ_HTTP,      /* a non-2xx answer after any retries */
	AZURE_READ_TRANSPORT, /* no answer: DNS, connect, TLS, timeout */
	AZURE_READ_BAD_BODY,  /* 2xx with a body that did not parse */
	AZURE_READ_TOKEN,     /* no token for the resource */
	AZURE_READ_REFUSED,   /* not sent: a value from Atlas that would go into
				 the URL is malformed (detail says which) */
};

struct azure_read {
	enum azure_op op;
	const char *resource; /* what was read, e.g. "key atlas-cmk in vault contoso-kv" */
	enum azure_outcome outcome;
	int http_status; /* of the failing request (the token endpoint's for
			    AZURE_READ_TOKEN); 0 without an answer */
	const struct azure_error *error;             /* parsed error body or NULL */
	const struct azure_token_error *token_error; /* AZURE_READ_TOKEN, or NULL */
	unsigned retries;
	const char *detail; /* curl's or the parser's text, or NULL */
};
/* One finding per service that had reads: unknown naming each failed
 * resource, its cause and the missing permission, or ok when every read
 * of that service worked. Services without reads get no finding. */
int chk_azure_access(const struct azure_read *reads, size_t n, const struct cfg_checks *checks,
		     struct findings *out);

#endif
