/*
 * atlas — the Atlas Admin API v2 as kmswatch uses it: request paths and
 * media types, and parsers that turn response bodies into plain structs.
 * No I/O. Every field of a response is optional and unknown enum values are
 * kept as strings, because Atlas adds fields and values over time.
 */
#ifndef KMSWATCH_ATLAS_H
#define KMSWATCH_ATLAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checks.h"

#define ATLAS_MEDIA_2023_01_01 "application/vnd.atlas.2023-01-01+json"
#define ATLAS_MEDIA_2023_11_15 "application/vnd.atlas.2023-11-15+json"
#define ATLAS_MEDIA_2024_08_05 "application/vnd.atlas.2024-08-05+json"

/* tri-state for optional booleans */
enum tri { TRI_ABSENT = 0, TRI_FALSE, TRI_TRUE };

struct atlas_azure_kv {
	bool present;
	enum tri enabled, valid, require_private_networking;
	char *azure_environment, *client_id, *key_identifier, *key_vault_name,
		*resource_group_name, *role_id, *subscription_id, *tenant_id;
};

struct atlas_aws_kms {
	bool present;
	enum tri enabled, valid, require_private_networking;
	char *access_key_id, *customer_master_key_id, *region, *role_id;
};

struct atlas_gcp_kms {
	bool present;
	enum tri enabled, valid;
	char *key_version_resource_id, *role_id;
};

struct atlas_ear {
	struct atlas_aws_kms aws;
	struct atlas_azure_kv azure;
	struct atlas_gcp_kms gcp;
	enum tri enabled_for_search_nodes;
};

/* Parse a GET .../encryptionAtRest body. Returns 0, or -EBADMSG with a
 * short reason (e.g. "line 1 column 7: unexpected token", "azureKeyVault is
 * not an object") in err. Never reads beyond len; len may lack a NUL.
 * JSON null counts as absent; a known field of the wrong JSON type
 * ("enabled":"yes"), a non-object top level and duplicate keys make the
 * whole body invalid (err names the field). -ENOMEM is possible. On error
 * *out is left empty (nothing to free). */
int atlas_parse_ear(const char *body, size_t len, struct atlas_ear *out,
		    char *err, size_t errlen);
void atlas_ear_free(struct atlas_ear *ear);

/* The provider whose config is enabled (Atlas allows one at a time; should
 * it report several, the first in enum order); PROV_NONE when none is. */
enum provider atlas_ear_enabled_provider(const struct atlas_ear *ear);
/* Per provider: enabled is true only for "enabled": true; valid as sent. */
bool atlas_ear_provider_enabled(const struct atlas_ear *ear, enum provider p);
enum tri atlas_ear_provider_valid(const struct atlas_ear *ear, enum provider p);

/* Atlas ApiError: {"error":404,"errorCode":"GROUP_NOT_FOUND","detail":...}.
 * Returns 0 when at least errorCode or detail was found; fields absent are
 * empty strings. detail is truncated, control characters replaced.
 * Best effort: wrong-typed fields are skipped; "reason" stands in for a
 * missing detail; the OAuth2 shape {"error":"invalid_client",
 * "error_description":...} fills error_code and detail. -EBADMSG when
 * nothing usable was found (error may still be set). */
struct atlas_error {
	int error;
	char error_code[64];
	char detail[256];
};
int atlas_parse_error(const char *body, size_t len, struct atlas_error *out);

/* OAuth2 token answer {"access_token","expires_in","token_type"}. *token is
 * a new allocation the caller wipes with util_free_secret. OAuth error
 * bodies ({"error":"invalid_client",...}) return -EACCES with the error code
 * and description (never a secret) copied to err. Anything else unusable
 * is -EBADMSG: no token, a token that is not visible ASCII (it goes into a
 * header), token_type other than Bearer, expires_in not a positive
 * integer. A missing expires_in means ATLAS_TOKEN_DEFAULT_LIFETIME (what
 * Atlas documents). expires_in may be NULL. */
#define ATLAS_TOKEN_DEFAULT_LIFETIME 3600
int atlas_parse_token(const char *body, size_t len, char **token,
		      int64_t *expires_in, char *err, size_t errlen);

/* A project (group) id as Atlas spells it: 24 hex digits. */
bool atlas_group_id_valid(const char *id);
/* Paths, built from a validated 24-hex project id. Caller frees. A trailing
 * '/' on base_url is ignored. NULL with errno EINVAL for a bad id or an
 * empty base_url, ENOMEM otherwise. */
char *atlas_ear_url(const char *base_url, const char *group_id);
char *atlas_token_url(const char *base_url);

/* A fingerprint of the EAR configuration that matters for ear.config: the
 * enabled provider and its key identifier, credentials, role, environment,
 * vault and region. Two configs with equal fingerprints are "unchanged".
 * Caller frees. Secrets never appear (Atlas never returns them anyway).
 * Format: "key=value\n" lines in a fixed order, "provider=azure" first
 * ("provider=none" when none is enabled), then every identity field of the
 * enabled provider, empty when absent. Values escape '\\' and control
 * characters (\xNN), so each field is exactly one line. */
char *atlas_ear_fingerprint(const struct atlas_ear *ear);
/* The key identifier of the enabled provider (Azure keyIdentifier, AWS
 * customerMasterKeyID, GCP keyVersionResourceID) or NULL. Not a copy. */
const char *atlas_ear_key_id(const struct atlas_ear *ear);

#endif
