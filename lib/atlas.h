/* SPDX-License-Identifier: ISC */
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

/* ---- control-plane and project IP addresses (for azure.allowlist) ------ */

/* GET /api/atlas/v2/unauth/controlPlaneIPAddresses (ATLAS_MEDIA_2023_11_15,
 * no authentication). Only the outbound side is kept: those are the
 * addresses Atlas calls KMS from. `inbound` is not read at all. */
struct atlas_cp_cidr {
	char *cloud, *region, *cidr; /* "aws", "us-east-1", "198.51.100.40/32" */
};
struct atlas_cp_gateway {
	char *name;
	struct atlas_cp_cidr *outbound; /* ips.outbound */
	size_t n_outbound;
};
struct atlas_control_plane {
	struct atlas_cp_cidr *outbound; /* outbound.{cloud}.{region}[]: every
					   cloud and region, document order */
	size_t n_outbound;
	struct atlas_cp_gateway *gateways; /* gateways[] */
	size_t n_gateways;
};
int atlas_parse_control_plane(const char *body, size_t len, struct atlas_control_plane *out,
			      char *err, size_t errlen);
void atlas_control_plane_free(struct atlas_control_plane *cp);
/*
 * The CIDR texts a KMS firewall must admit: the top-level outbound list of
 * every cloud and region (MongoDB support: all clouds, not only Azure).
 * Gateway outbound lists are service-specific groups (e.g. the data-plane
 * Atlas Gateway) that Atlas does not document as KMS callers, so they are
 * added only with include_gateways. *out is a new array of pointers into
 * cp (free the array only; NULL when *n is 0). 0 or -ENOMEM/-EINVAL.
 */
int atlas_control_plane_outbound(const struct atlas_control_plane *cp, bool include_gateways,
				 const char ***out, size_t *n);

/* GET /api/atlas/v2/groups/{groupId}/ipAddresses (ATLAS_MEDIA_2023_01_01).
 * Only the outbound sides are kept (what cluster nodes call KMS from). */
struct atlas_cluster_ips {
	char *cluster_name;
	char **outbound; /* outbound[] */
	size_t n_outbound;
	char **future_outbound; /* futureOutbound[] */
	size_t n_future_outbound;
};
struct atlas_ip_addresses {
	char *group_id;
	struct atlas_cluster_ips *clusters; /* services.clusters[] */
	size_t n_clusters;
};
int atlas_parse_ip_addresses(const char *body, size_t len, struct atlas_ip_addresses *out,
			     char *err, size_t errlen);
void atlas_ip_addresses_free(struct atlas_ip_addresses *ips);

/* URLs, as atlas_ear_url: NULL with errno EINVAL or ENOMEM. */
char *atlas_control_plane_url(const char *base_url);
char *atlas_ip_addresses_url(const char *base_url, const char *group_id);

/* ---- clusters (for ear.clusters) --------------------------------------- */

/* GET /api/atlas/v2/groups/{groupId}/clusters?pageNum=N&itemsPerPage=M
 * (ATLAS_MEDIA_2024_08_05, PaginatedClusterDescription20240805). */
#define ATLAS_CLUSTERS_MAX_PER_PAGE 500 /* Atlas's itemsPerPage limit */
/* A sane bound for the caller's page loop (500 * 100 clusters): a server
 * that keeps announcing more pages must not keep kmswatch busy forever. */
#define ATLAS_CLUSTERS_MAX_PAGES 100

struct atlas_cluster {
	char *id;                         /* "id", kept for messages */
	char *name;                       /* "name" */
	char *encryption_at_rest_provider; /* "NONE"|"AWS"|"AZURE"|"GCP", verbatim;
					      unknown values kept; NULL if absent */
	char *state_name;                 /* "IDLE"|"CREATING"|"UPDATING"|"DELETING"|
					      "REPAIRING", verbatim; NULL if absent */
	enum tri paused;
};

struct atlas_clusters {
	struct atlas_cluster *v; /* results[], document order */
	size_t n;
	bool has_total_count;    /* totalCount was sent (an estimate, per Atlas) */
	int64_t total_count;
	bool has_next_link;      /* links[] has an entry with rel "next" */
};

/*
 * Parse one page. `results` is required (the one field the envelope always
 * has): an answer without it is -EBADMSG, not "no clusters", which would
 * resolve every ear.clusters alert. Otherwise the policy of
 * atlas_parse_ear: fields optional, null = absent, wrong types and
 * duplicate keys -EBADMSG with the field named in err ("results[2].paused
 * is not a boolean"), a negative totalCount too. links[].href is checked
 * to be a string but not kept: kmswatch never follows it (it could name
 * another host), it only learns that a next page exists.
 */
int atlas_parse_clusters(const char *body, size_t len, struct atlas_clusters *out, char *err,
			 size_t errlen);
void atlas_clusters_free(struct atlas_clusters *cl);

/*
 * Whether another page should be fetched after `page`, which was requested
 * with page_num and items_per_page. The rule, because Atlas documents only
 * rel "self" and calls totalCount an estimate:
 * - an empty page is always the last (no loop on a server that keeps
 *   sending "next" with nothing in it);
 * - a "next" link means more;
 * - without one, a full page (n == items_per_page) means more unless
 *   totalCount is present and says page_num * items_per_page clusters
 *   already cover it; a short page is the last.
 * A wrong guess costs one request that returns an empty page. The caller
 * also stops after ATLAS_CLUSTERS_MAX_PAGES.
 */
bool atlas_clusters_more(const struct atlas_clusters *page, unsigned page_num,
			 unsigned items_per_page);

/* Moves page's clusters to the end of *all (page is left empty, as after
 * atlas_clusters_free); all->has_next_link, has_total_count and
 * total_count take page's values. 0, -EINVAL, or -ENOMEM (then both are
 * unchanged). */
int atlas_clusters_merge(struct atlas_clusters *all, struct atlas_clusters *page);

/* page_num >= 1, items_per_page 1..ATLAS_CLUSTERS_MAX_PER_PAGE; anything
 * else, a bad id or an empty base_url: NULL with errno EINVAL. */
char *atlas_clusters_url(const char *base_url, const char *group_id, unsigned page_num,
			 unsigned items_per_page);

/* ---- EAR private endpoints (for ear.private_endpoint) ------------------
 * GET /groups/{id}/encryptionAtRest/{AZURE|AWS}/privateEndpoints, paged like
 * the clusters (the same envelope, the same atlas_page_more rule). Listing
 * them needs the Project Owner role: a read-only key gets 403. */
#define ATLAS_PE_PER_PAGE 100
#define ATLAS_PE_MAX_PAGES 10

struct atlas_ear_pe {
	char *id;
	char *cloud_provider;
	char *region_name;     /* Atlas's region, e.g. US_EAST_2 */
	char *status;          /* INITIATING, PENDING_ACCEPTANCE, ACTIVE, FAILED,
				  PENDING_RECREATION, DELETING; verbatim */
	char *error_message;
	char *connection_name; /* privateEndpointConnectionName */
};

struct atlas_ear_pes {
	struct atlas_ear_pe *v;
	size_t n;
	bool has_total_count;
	int64_t total_count;
	bool has_next_link;
};

/* One page; the policy of atlas_parse_clusters (results required). */
int atlas_parse_ear_private_endpoints(const char *body, size_t len, struct atlas_ear_pes *out,
				      char *err, size_t errlen);
void atlas_ear_pes_free(struct atlas_ear_pes *pes);
/* Moves page's endpoints to the end of *all, as atlas_clusters_merge. */
int atlas_ear_pes_merge(struct atlas_ear_pes *all, struct atlas_ear_pes *page);
/* provider: PROV_AZURE or PROV_AWS (Atlas has no private endpoints for
 * Google Cloud KMS); else NULL with errno EINVAL. */
char *atlas_ear_private_endpoints_url(const char *base_url, const char *group_id,
				      enum provider provider, unsigned page_num);
/* Whether a page of n results (requested as page_num of items_per_page)
 * calls for another: atlas_clusters_more's rule for any paged answer. */
bool atlas_page_more(size_t n, bool has_next_link, bool has_total_count, int64_t total_count,
		     unsigned page_num, unsigned items_per_page);

/* ---- Atlas's own EAR events (for atlas.events) --------------------------
 * GET /groups/{id}/events?eventType=...&minDate=..., paged like the
 * clusters. Only the types below are asked for: Atlas's verdicts on the
 * project's encryption at rest, and the events that take them back. */
#define ATLAS_EVENTS_PER_PAGE 100
#define ATLAS_EVENTS_MAX_PAGES 5

struct atlas_event {
	char *id;
	char *event_type_name;
	char *created; /* ISO 8601, as sent */
	time_t created_at; /* parsed; 0 when created is absent or unparsable */
};

struct atlas_events {
	struct atlas_event *v;
	size_t n;
	bool has_total_count;
	int64_t total_count;
	bool has_next_link;
};

int atlas_parse_events(const char *body, size_t len, struct atlas_events *out, char *err,
		       size_t errlen);
void atlas_events_free(struct atlas_events *ev);
int atlas_events_merge(struct atlas_events *all, struct atlas_events *page);
/* The EAR event types (and their recoveries) since min_date. */
char *atlas_events_url(const char *base_url, const char *group_id, time_t min_date,
		       unsigned page_num);

/* ---- projects (for discover:) ------------------------------------------
 * GET /api/atlas/v2/groups (every project the identity can read) or
 * GET /api/atlas/v2/orgs/{orgId}/groups, ?pageNum=N&itemsPerPage=M
 * (ATLAS_MEDIA_2023_01_01), the paged envelope of the clusters and the same
 * atlas_page_more rule. */
#define ATLAS_GROUPS_PER_PAGE 500  /* Atlas's itemsPerPage limit */
/* 100,000 projects: a server that keeps announcing pages stops there */
#define ATLAS_GROUPS_MAX_PAGES 200

struct atlas_group {
	char *id;     /* "id": 24 hex digits, lower-cased */
	char *name;   /* "name"; NULL when Atlas sent none */
	char *org_id; /* "orgId"; NULL when absent */
};

struct atlas_groups {
	struct atlas_group *v; /* results[], document order */
	size_t n;
	bool has_total_count;
	int64_t total_count;
	bool has_next_link;
};

/* One page; the policy of atlas_parse_clusters (results required, wrong
 * types and duplicate keys -EBADMSG). Every result needs an id that is a
 * project id (24 hex digits): a page with one that is missing or is not is
 * malformed as a whole ("results[3].id is not a project id"), since
 * skipping it would stop watching a project that is still there. Control
 * characters in a name become spaces (names go into log lines); an empty
 * name is kept as NULL. */
int atlas_parse_groups(const char *body, size_t len, struct atlas_groups *out, char *err,
		       size_t errlen);
void atlas_groups_free(struct atlas_groups *g);
/* org_id NULL: GET /groups; else GET /orgs/{org_id}/groups (24 hex).
 * page_num >= 1, items_per_page 1..ATLAS_GROUPS_PER_PAGE; else NULL with
 * errno EINVAL (ENOMEM otherwise). */
char *atlas_groups_url(const char *base_url, const char *org_id, unsigned page_num,
		       unsigned items_per_page);

/* ---- Cloud Provider Access (for ear.role) ------------------------------ */

/* GET /api/atlas/v2/groups/{groupId}/cloudProviderAccess
 * (ATLAS_MEDIA_2023_01_01, CloudProviderAccessRoles). */
struct atlas_cpa_azure {
	char *id;                   /* "_id": the role id azureKeyVault.roleId names */
	char *service_principal_id; /* "servicePrincipalId" */
	char *atlas_azure_app_id;   /* "atlasAzureAppId" */
	char *tenant_id;            /* "tenantId" */
	bool has_feature_usages;    /* "featureUsages" was sent (possibly empty) */
	char **feature_types;       /* featureUsages[].featureType, verbatim
				       ("ENCRYPTION_AT_REST", ...); entries
				       without one are skipped */
	size_t n_feature_types;
};
struct atlas_cpa_aws {
	char *role_id;              /* "roleId" */
	char *iam_assumed_role_arn; /* "iamAssumedRoleArn"; absent until authorized */
};
struct atlas_cpa_gcp {
	char *role_id; /* "roleId" */
	char *status;  /* "IN_PROGRESS"|"COMPLETE"|"FAILED"|"NOT_INITIATED", verbatim */
};
struct atlas_cpa {
	struct atlas_cpa_azure *azure; /* azureServicePrincipals[] */
	size_t n_azure;
	struct atlas_cpa_aws *aws;     /* awsIamRoles[] */
	size_t n_aws;
	struct atlas_cpa_gcp *gcp;     /* gcpServiceAccounts[] */
	size_t n_gcp;
};

/* The policy of atlas_parse_ear: every field and list optional (absent or
 * null = empty), wrong types and duplicate keys -EBADMSG with the field
 * named ("azureServicePrincipals[0]._id is not a string"). featureId is
 * not read (its type varies by feature). */
int atlas_parse_cloud_provider_access(const char *body, size_t len, struct atlas_cpa *out,
				      char *err, size_t errlen);
void atlas_cpa_free(struct atlas_cpa *cpa);
char *atlas_cpa_url(const char *base_url, const char *group_id);

/* Look-ups by role id (24 hex digits, compared case-insensitively); NULL
 * when cpa or role_id is NULL or nothing matches. Not copies. */
const struct atlas_cpa_azure *atlas_cpa_azure_find(const struct atlas_cpa *cpa,
						   const char *role_id);
const struct atlas_cpa_aws *atlas_cpa_aws_find(const struct atlas_cpa *cpa, const char *role_id);
const struct atlas_cpa_gcp *atlas_cpa_gcp_find(const struct atlas_cpa *cpa, const char *role_id);
/* servicePrincipalId of the Azure service principal whose _id is role_id;
 * NULL when there is none, or it carries no servicePrincipalId. */
const char *atlas_cpa_azure_principal(const struct atlas_cpa *cpa, const char *role_id);

/* roleId of the enabled provider's configuration (the first enabled one,
 * as atlas_ear_enabled_provider), or NULL when none is enabled or it has
 * no (or an empty) roleId: secret/key based credentials. When this is not
 * NULL the daemon reads cloudProviderAccess for ear.role. Not a copy. */
const char *atlas_ear_role_id(const struct atlas_ear *ear);

/* ---- kmswatch's own service account (for atlas.credential_expiry) ------
 * The organization comes from GET /api/atlas/v2/groups/{groupId}
 * (ATLAS_MEDIA_2023_01_01, Project Read Only): the project's "orgId". The
 * secrets from GET /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}
 * (ATLAS_MEDIA_2024_08_05, Organization Read Only or more). */

/* An organization id: 24 hex digits, as a project id. */
bool atlas_org_id_valid(const char *id);
/* A service-account client id fit for a URL path: 1..128 characters of
 * [A-Za-z0-9_-] (Atlas's are mdb_sa_id_ and 24 hex digits). */
bool atlas_client_id_valid(const char *id);
char *atlas_group_url(const char *base_url, const char *group_id);
/* NULL with errno EINVAL for an invalid org or client id. */
char *atlas_service_account_url(const char *base_url, const char *org_id,
				const char *client_id);

/* The group's orgId (a new string, validated as atlas_org_id_valid), or
 * -EBADMSG with the reason in err: not an object, orgId missing, not a
 * string or not 24 hex digits. */
int atlas_parse_group_org(const char *body, size_t len, char **org_id, char *err,
			  size_t errlen);

struct atlas_sa_secret {
	char *id;      /* required */
	char *masked;  /* maskedSecretValue, e.g. "mdb_sa_sk_...abcd"; NULL if absent */
	time_t expires_at;              /* expiresAt: required */
	bool has_created, has_last_used;
	time_t created_at, last_used_at; /* createdAt, lastUsedAt: optional */
};

struct atlas_sa {
	char *client_id, *name;         /* as sent; NULL when absent */
	struct atlas_sa_secret *secrets; /* secrets[] (absent or null: none) */
	size_t n_secrets;
};

/* The policy of atlas_parse_ear, plus: a secret without its id or a
 * readable expiresAt (both required by the API) makes the whole answer
 * -EBADMSG ("secrets[1].expiresAt is missing"): kmswatch must not judge
 * a list it could only half read. Nothing of the answer is secret (Atlas
 * returns the secret value only once, when it is created). */
int atlas_parse_service_account(const char *body, size_t len, struct atlas_sa *out, char *err,
				size_t errlen);
void atlas_sa_free(struct atlas_sa *sa);

#endif
