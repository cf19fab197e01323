/* SPDX-License-Identifier: ISC */
/*
 * atlas — the Atlas Admin API v2 as kmswatch uses it: request URLs, and
 * parsers that turn response bodies (encryptionAtRest, ApiError, OAuth
 * token) into plain structs; plus the EAR fingerprint ear.config compares.
 * No I/O. Owns the strings of the structs it fills (atlas_ear_free).
 *
 * Parsing policy, because a monitor must never guess:
 * - every field is optional and unknown fields are ignored (Atlas adds
 *   fields over time), unknown enum values are kept verbatim;
 * - JSON null means absent (the usual Jackson rendering of "not set");
 * - a known field with the wrong JSON type ("enabled": "yes") makes the
 *   whole body invalid: reading it as absent could turn a broken answer
 *   into "no provider enabled" and silence ear.valid;
 * - duplicate keys are rejected (JSON_REJECT_DUPLICATES). Atlas is not
 *   documented to avoid them, but its serializer never emits them, and with
 *   {"valid":false,"valid":true} any parser's choice would be a guess about
 *   the one field that matters most. A body like that is reported through
 *   atlas.access as malformed, which is what it is.
 * Error bodies are the exception: they are read best effort (wrong-typed
 * fields skipped), since we are already reporting a failure and any detail
 * helps the operator.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atlas.h"
#include "json.h"
#include "util.h"

/* ---- encryptionAtRest -------------------------------------------------- */

enum ftype { F_BOOL, F_STR };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
};

/* Frees the strings a field table names in obj (and forgets them). */
static void
fields_free(const struct field *f, size_t n, void *obj)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].type == F_STR) {
			char **p = (char **)((char *)obj + f[i].off);

			free(*p);
			*p = NULL;
		}
}

#define AZ(n, t, m) {n, t, offsetof(struct atlas_azure_kv, m)}
static const struct field azure_fields[] = {
	AZ("enabled", F_BOOL, enabled),
	AZ("valid", F_BOOL, valid),
	AZ("requirePrivateNetworking", F_BOOL, require_private_networking),
	AZ("azureEnvironment", F_STR, azure_environment),
	AZ("clientID", F_STR, client_id),
	AZ("keyIdentifier", F_STR, key_identifier),
	AZ("keyVaultName", F_STR, key_vault_name),
	AZ("resourceGroupName", F_STR, resource_group_name),
	AZ("roleId", F_STR, role_id),
	AZ("subscriptionID", F_STR, subscription_id),
	AZ("tenantID", F_STR, tenant_id),
};
#undef AZ

#define AW(n, t, m) {n, t, offsetof(struct atlas_aws_kms, m)}
static const struct field aws_fields[] = {
	AW("enabled", F_BOOL, enabled),
	AW("valid", F_BOOL, valid),
	AW("requirePrivateNetworking", F_BOOL, require_private_networking),
	AW("accessKeyID", F_STR, access_key_id),
	AW("customerMasterKeyID", F_STR, customer_master_key_id),
	AW("region", F_STR, region),
	AW("roleId", F_STR, role_id),
};
#undef AW

#define GC(n, t, m) {n, t, offsetof(struct atlas_gcp_kms, m)}
static const struct field gcp_fields[] = {
	GC("enabled", F_BOOL, enabled),
	GC("valid", F_BOOL, valid),
	GC("keyVersionResourceID", F_STR, key_version_resource_id),
	GC("roleId", F_STR, role_id),
};
#undef GC

/* The members of obj that fields name, into the struct at dst; where as
 * for the kj_get_* getters ("awsKms.", "results[2]."). */
static int
get_fields(json_t *obj, const char *where, const struct field *fields, size_t n, void *dst,
	   char *err, size_t errlen)
{
	char *base = dst;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		void *slot = base + fields[i].off;

		if (fields[i].type == F_BOOL)
			r = kj_get_tri(obj, fields[i].name, where, slot, err, errlen);
		else
			r = kj_get_str(obj, fields[i].name, where, slot, err, errlen);
	}
	return r;
}

static int
get_provider(json_t *root, const char *key, const struct field *fields, size_t n, void *dst,
	     bool *present, char *err, size_t errlen)
{
	char where[KJ_WHERE_MAX];
	json_t *obj;
	int r = kj_get_object(root, key, "", &obj, err, errlen);

	if (r < 0 || obj == NULL)
		return r;
	*present = true;
	snprintf(where, sizeof(where), "%s.", key);
	return get_fields(obj, where, fields, n, dst, err, errlen);
}

static int
read_ear(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_ear *out = dst;
	int r;

	r = get_provider(root, "awsKms", aws_fields, ARRAY_SIZE(aws_fields), &out->aws,
			 &out->aws.present, err, errlen);
	if (r == 0)
		r = get_provider(root, "azureKeyVault", azure_fields, ARRAY_SIZE(azure_fields),
				 &out->azure, &out->azure.present, err, errlen);
	if (r == 0)
		r = get_provider(root, "googleCloudKms", gcp_fields, ARRAY_SIZE(gcp_fields),
				 &out->gcp, &out->gcp.present, err, errlen);
	if (r == 0)
		r = kj_get_tri(root, "enabledForSearchNodes", where, &out->enabled_for_search_nodes,
			       err, errlen);
	return r;
}

int
atlas_parse_ear(const char *body, size_t len, struct atlas_ear *out, char *err, size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_ear, err,
			 errlen);

	if (r < 0)
		atlas_ear_free(out);
	return r;
}

void
atlas_ear_free(struct atlas_ear *ear)
{
	if (ear == NULL)
		return;
	free(ear->azure.azure_environment);
	free(ear->azure.client_id);
	free(ear->azure.key_identifier);
	free(ear->azure.key_vault_name);
	free(ear->azure.resource_group_name);
	free(ear->azure.role_id);
	free(ear->azure.subscription_id);
	free(ear->azure.tenant_id);
	free(ear->aws.access_key_id);
	free(ear->aws.customer_master_key_id);
	free(ear->aws.region);
	free(ear->aws.role_id);
	free(ear->gcp.key_version_resource_id);
	free(ear->gcp.role_id);
	memset(ear, 0, sizeof(*ear));
}

bool
atlas_ear_provider_enabled(const struct atlas_ear *ear, enum provider p)
{
	if (ear == NULL)
		return false;
	switch (p) {
	case PROV_AWS:
		return ear->aws.enabled == TRI_TRUE;
	case PROV_AZURE:
		return ear->azure.enabled == TRI_TRUE;
	case PROV_GCP:
		return ear->gcp.enabled == TRI_TRUE;
	case PROV_NONE:
		break;
	}
	return false;
}

enum tri
atlas_ear_provider_valid(const struct atlas_ear *ear, enum provider p)
{
	if (ear == NULL)
		return TRI_ABSENT;
	switch (p) {
	case PROV_AWS:
		return ear->aws.valid;
	case PROV_AZURE:
		return ear->azure.valid;
	case PROV_GCP:
		return ear->gcp.valid;
	case PROV_NONE:
		break;
	}
	return TRI_ABSENT;
}

/* Atlas allows one provider at a time; should it ever report several,
 * the first in enum order is "the" provider and every consumer that cares
 * (ear.valid, the fingerprint) looks at all of them anyway. */
enum provider
atlas_ear_enabled_provider(const struct atlas_ear *ear)
{
	static const enum provider order[] = {PROV_AWS, PROV_AZURE, PROV_GCP};

	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (atlas_ear_provider_enabled(ear, order[i]))
			return order[i];
	return PROV_NONE;
}

const char *
atlas_ear_key_id(const struct atlas_ear *ear)
{
	switch (atlas_ear_enabled_provider(ear)) {
	case PROV_AWS:
		return ear->aws.customer_master_key_id;
	case PROV_AZURE:
		return ear->azure.key_identifier;
	case PROV_GCP:
		return ear->gcp.key_version_resource_id;
	case PROV_NONE:
		break;
	}
	return NULL;
}

/* ---- fingerprint ----------------------------------------------------- */

/* the same spelling as provider_name(), kept here so that this module does
 * not depend on the check catalogue */
static const char *
prov_text(enum provider p)
{
	return p == PROV_AWS ? "aws" : p == PROV_AZURE ? "azure" : p == PROV_GCP ? "gcp" : "";
}

/* Values are escaped (backslash, control characters as \xNN) so that one
 * field is always exactly one line, whatever Atlas sends. */
static int
fp_line(struct strbuf *b, const char *prefix, const char *key, const char *value)
{
	int r = strbuf_printf(b, "%s%s=", prefix, key);

	for (const char *p = value ? value : ""; r == 0 && *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\')
			r = strbuf_puts(b, "\\\\");
		else if (c < 0x20 || c == 0x7f)
			r = strbuf_printf(b, "\\x%02x", c);
		else
			r = strbuf_append(b, p, 1);
	}
	return r == 0 ? strbuf_puts(b, "\n") : r;
}

static const char *
tri_text(enum tri t)
{
	return t == TRI_TRUE ? "true" : t == TRI_FALSE ? "false" : "";
}

static int
fp_provider(struct strbuf *b, const struct atlas_ear *ear, enum provider p, const char *prefix)
{
	int r = 0;

#define L(k, v)                                                                                    \
	do {                                                                                       \
		if (r == 0)                                                                        \
			r = fp_line(b, prefix, k, v);                                              \
	} while (0)
	switch (p) {
	case PROV_AZURE:
		L("azureEnvironment", ear->azure.azure_environment);
		L("clientID", ear->azure.client_id);
		L("tenantID", ear->azure.tenant_id);
		L("subscriptionID", ear->azure.subscription_id);
		L("resourceGroupName", ear->azure.resource_group_name);
		L("keyVaultName", ear->azure.key_vault_name);
		L("keyIdentifier", ear->azure.key_identifier);
		L("roleId", ear->azure.role_id);
		L("requirePrivateNetworking", tri_text(ear->azure.require_private_networking));
		break;
	case PROV_AWS:
		L("customerMasterKeyID", ear->aws.customer_master_key_id);
		L("region", ear->aws.region);
		L("roleId", ear->aws.role_id);
		L("accessKeyID", ear->aws.access_key_id);
		break;
	case PROV_GCP:
		L("keyVersionResourceID", ear->gcp.key_version_resource_id);
		L("roleId", ear->gcp.role_id);
		break;
	case PROV_NONE:
		break;
	}
#undef L
	return r;
}

/*
 * "provider=azure\nazureEnvironment=AZURE\nclientID=...\n": fixed order,
 * every field of the enabled provider always present (empty when Atlas
 * omits it), so that a line-by-line comparison names exactly the field
 * that changed. Were Atlas ever to report several enabled providers, the
 * provider line lists them all and the keys get a "<provider>." prefix to
 * stay unique.
 */
char *
atlas_ear_fingerprint(const struct atlas_ear *ear)
{
	static const enum provider order[] = {PROV_AWS, PROV_AZURE, PROV_GCP};
	struct strbuf b = {0};
	size_t n_enabled = 0;
	int r;

	if (ear == NULL)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		n_enabled += atlas_ear_provider_enabled(ear, order[i]);
	r = strbuf_puts(&b, "provider=");
	for (size_t i = 0, k = 0; r == 0 && i < ARRAY_SIZE(order); i++) {
		if (!atlas_ear_provider_enabled(ear, order[i]))
			continue;
		r = strbuf_printf(&b, "%s%s", k++ ? "," : "", prov_text(order[i]));
	}
	if (r == 0)
		r = strbuf_puts(&b, n_enabled == 0 ? "none\n" : "\n");
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(order); i++) {
		char prefix[16] = "";

		if (!atlas_ear_provider_enabled(ear, order[i]))
			continue;
		if (n_enabled > 1)
			snprintf(prefix, sizeof(prefix), "%s.", prov_text(order[i]));
		r = fp_provider(&b, ear, order[i], prefix);
	}
	if (r < 0) {
		strbuf_free(&b);
		return NULL;
	}
	/* every project keeps one between polls: no slack */
	return strbuf_detach(&b);
}

/* ---- ApiError -------------------------------------------------------- */

/*
 * Also understands the OAuth2 error shape {"error":"invalid_client",
 * "error_description":"..."}, which the token endpoint (and some gateways
 * in front of the API) send, so every caller gets a code and a detail.
 */
int
atlas_parse_error(const char *body, size_t len, struct atlas_error *out)
{
	const char *code, *detail;
	json_t *root, *e;
	int r;

	r = kj_begin(body, len, 0, out, sizeof(*out), &root, NULL, 0);
	if (r < 0)
		return r;
	e = json_object_get(root, "error");
	if (json_is_integer(e) && json_integer_value(e) > 0 && json_integer_value(e) < 1000)
		out->error = (int)json_integer_value(e);
	code = kj_str(root, "errorCode");
	if (code == NULL)
		code = kj_str(root, "error");
	detail = kj_str(root, "detail");
	if (detail == NULL)
		detail = kj_str(root, "error_description");
	if (detail == NULL)
		detail = kj_str(root, "reason");
	util_copy_sanitized(out->error_code, sizeof(out->error_code), code);
	util_copy_sanitized(out->detail, sizeof(out->detail), detail);
	json_decref(root);
	return out->error_code[0] != '\0' || out->detail[0] != '\0' ? 0 : -EBADMSG;
}

/* ---- OAuth token ----------------------------------------------------- */

int
atlas_parse_token(const char *body, size_t len, char **token, int64_t *expires_in, char *err,
		  size_t errlen)
{
	json_t *root, *tok, *type, *exp;
	const char *oerr;
	int r = -EBADMSG;

	kj_clear_err(err, errlen);
	if (token == NULL)
		return -EINVAL;
	*token = NULL;
	if (expires_in != NULL)
		*expires_in = 0;
	root = kj_load(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	tok = kj_field(root, "access_token");
	type = kj_field(root, "token_type");
	exp = kj_field(root, "expires_in");
	oerr = kj_str(root, "error");

	if (oerr != NULL) {
		const char *desc = kj_str(root, "error_description");

		kj_seterr(err, errlen, "%s%s%s", oerr, desc ? ": " : "", desc ? desc : "");
		r = -EACCES;
	} else if (tok == NULL) {
		kj_seterr(err, errlen, "no access_token in the answer");
	} else if (!json_is_string(tok)) {
		kj_seterr(err, errlen, "access_token is not a string");
	} else if (!kj_header_safe(json_string_value(tok))) {
		/* it goes into an Authorization header verbatim */
		kj_seterr(err, errlen,
			  "access_token is empty or has characters not allowed in "
			  "an HTTP header");
	} else if (type != NULL && !json_is_string(type)) {
		kj_seterr(err, errlen, "token_type is not a string");
	} else if (type != NULL && strcasecmp(json_string_value(type), "Bearer") != 0) {
		kj_seterr(err, errlen, "token_type is \"%s\", not Bearer", json_string_value(type));
	} else if (exp != NULL && !json_is_integer(exp)) {
		kj_seterr(err, errlen, "expires_in is not an integer");
	} else if (exp != NULL && json_integer_value(exp) <= 0) {
		kj_seterr(err, errlen, "expires_in is %lld, not a positive number of seconds",
			  (long long)json_integer_value(exp));
	} else {
		*token = strdup(json_string_value(tok));
		if (*token == NULL) {
			r = kj_enomem(err, errlen);
		} else {
			if (expires_in != NULL)
				*expires_in = exp != NULL ? json_integer_value(exp)
							  : ATLAS_TOKEN_DEFAULT_LIFETIME;
			r = 0;
		}
	}
	/* jansson frees without wiping; the access token is a bearer credential */
	kj_wipe(tok);
	json_decref(root);
	return r;
}

/* ---- URLs ------------------------------------------------------------ */

bool
atlas_group_id_valid(const char *id)
{
	size_t i;

	if (id == NULL)
		return false;
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return i == 24;
}

/* base_url without its trailing slashes, followed by path */
static char *
join_url(const char *base_url, const char *path)
{
	size_t n;

	if (base_url == NULL) {
		errno = EINVAL;
		return NULL;
	}
	n = strlen(base_url);
	while (n > 0 && base_url[n - 1] == '/')
		n--;
	if (n == 0 || n > INT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	return util_asprintf("%.*s%s", (int)n, base_url, path);
}

/* Every per-project URL: the id lands in a URL path, so it is validated
 * here whatever the caller did. `rest` follows "/groups/{id}/". */
static char *
group_url(const char *base_url, const char *group_id, const char *rest)
{
	char *path, *url;

	if (!atlas_group_id_valid(group_id)) {
		errno = EINVAL;
		return NULL;
	}
	/* sized to fit: a query such as the events' is longer than a path */
	if ((path = util_asprintf("/api/atlas/v2/groups/%s/%s", group_id, rest)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	url = join_url(base_url, path);
	free(path);
	return url;
}

char *
atlas_ear_url(const char *base_url, const char *group_id)
{
	return group_url(base_url, group_id, "encryptionAtRest");
}

char *
atlas_token_url(const char *base_url)
{
	return join_url(base_url, "/api/oauth/token");
}

/* ---- control-plane and project IP addresses ---------------------------- */

/*
 * The same policy as the EAR body: wrong types invalidate the whole
 * document. Reading a malformed region list as empty would shrink the set
 * of addresses azure.allowlist demands and could turn a gap in the vault
 * firewall into an "ok".
 */

static void
cp_cidrs_free(struct atlas_cp_cidr *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].cloud);
		free(v[i].region);
		free(v[i].cidr);
	}
	free(v);
}

/* obj.outbound, {cloud: {region: [cidr, ...]}} -> a flat list, in document
 * order (jansson keeps object keys in insertion order); where locates obj. */
static int
cp_outbound(json_t *obj, const char *where, struct atlas_cp_cidr **out, size_t *n, char *err,
	    size_t errlen)
{
	const char *cloud, *region;
	json_t *clouds, *regions, *list, *v;
	size_t total = 0, idx, k = 0;
	int r;

	*out = NULL;
	*n = 0;
	r = kj_get_object(obj, "outbound", where, &clouds, err, errlen);
	if (r < 0 || clouds == NULL)
		return r;
	json_object_foreach(clouds, cloud, regions) {
		if (json_is_null(regions))
			continue;
		if (!json_is_object(regions)) {
			kj_seterr(err, errlen, "%soutbound.%s is not an object", where, cloud);
			return -EBADMSG;
		}
		json_object_foreach(regions, region, list) {
			if (json_is_null(list))
				continue;
			if (!json_is_array(list)) {
				kj_seterr(err, errlen, "%soutbound.%s.%s is not an array", where,
					  cloud, region);
				return -EBADMSG;
			}
			json_array_foreach(list, idx, v) {
				if (!json_is_string(v)) {
					kj_seterr(err, errlen,
						  "%soutbound.%s.%s[%zu] is not a string", where,
						  cloud, region, idx);
					return -EBADMSG;
				}
				total++;
			}
		}
	}
	if (total == 0)
		return 0;
	*out = calloc(total, sizeof(**out));
	if (*out == NULL)
		return kj_enomem(err, errlen);
	json_object_foreach(clouds, cloud, regions) {
		if (!json_is_object(regions))
			continue;
		json_object_foreach(regions, region, list) {
			if (!json_is_array(list))
				continue;
			json_array_foreach(list, idx, v) {
				struct atlas_cp_cidr *c = &(*out)[k++];

				c->cloud = strdup(cloud);
				c->region = strdup(region);
				c->cidr = strdup(json_string_value(v));
				if (c->cloud == NULL || c->region == NULL || c->cidr == NULL) {
					cp_cidrs_free(*out, k);
					*out = NULL;
					return kj_enomem(err, errlen);
				}
			}
		}
	}
	*n = total;
	return 0;
}

void
atlas_control_plane_free(struct atlas_control_plane *cp)
{
	if (cp == NULL)
		return;
	cp_cidrs_free(cp->outbound, cp->n_outbound);
	for (size_t i = 0; i < cp->n_gateways; i++) {
		free(cp->gateways[i].name);
		cp_cidrs_free(cp->gateways[i].outbound, cp->gateways[i].n_outbound);
	}
	free(cp->gateways);
	memset(cp, 0, sizeof(*cp));
}

/* gateways[i]: where is "gateways[i]." */
static int
cp_gateway(json_t *g, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_cp_gateway *out = dst;
	char w[KJ_WHERE_MAX];
	json_t *ips;
	int r;

	r = kj_get_str(g, "name", where, &out->name, err, errlen);
	if (r == 0)
		r = kj_get_object(g, "ips", where, &ips, err, errlen);
	if (r < 0 || ips == NULL)
		return r;
	snprintf(w, sizeof(w), "%sips.", where);
	return cp_outbound(ips, w, &out->outbound, &out->n_outbound, err, errlen);
}

static int
read_control_plane(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_control_plane *out = dst;
	void *gateways = NULL;
	json_t *gw = NULL;
	int r;

	r = cp_outbound(root, where, &out->outbound, &out->n_outbound, err, errlen);
	if (r == 0)
		r = kj_get_array(root, "gateways", where, &gw, err, errlen);
	if (r == 0)
		r = kj_get_objects(gw, "gateways", sizeof(*out->gateways), &gateways,
				   &out->n_gateways, cp_gateway, err, errlen);
	out->gateways = gateways;
	return r;
}

int
atlas_parse_control_plane(const char *body, size_t len, struct atlas_control_plane *out, char *err,
			  size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_control_plane,
			 err, errlen);

	if (r < 0)
		atlas_control_plane_free(out);
	return r;
}

int
atlas_control_plane_outbound(const struct atlas_control_plane *cp, bool include_gateways,
			     const char ***out, size_t *n)
{
	size_t total, k = 0;
	const char **v;

	if (cp == NULL || out == NULL || n == NULL)
		return -EINVAL;
	*out = NULL;
	*n = 0;
	total = cp->n_outbound;
	for (size_t i = 0; include_gateways && i < cp->n_gateways; i++)
		total += cp->gateways[i].n_outbound;
	if (total == 0)
		return 0;
	v = calloc(total, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cp->n_outbound; i++)
		v[k++] = cp->outbound[i].cidr;
	for (size_t i = 0; include_gateways && i < cp->n_gateways; i++)
		for (size_t j = 0; j < cp->gateways[i].n_outbound; j++)
			v[k++] = cp->gateways[i].outbound[j].cidr;
	*out = v;
	*n = total;
	return 0;
}

void
atlas_ip_addresses_free(struct atlas_ip_addresses *ips)
{
	if (ips == NULL)
		return;
	free(ips->group_id);
	for (size_t i = 0; i < ips->n_clusters; i++) {
		free(ips->clusters[i].cluster_name);
		kj_strv_free(ips->clusters[i].outbound, ips->clusters[i].n_outbound);
		kj_strv_free(ips->clusters[i].future_outbound, ips->clusters[i].n_future_outbound);
	}
	free(ips->clusters);
	memset(ips, 0, sizeof(*ips));
}

/* services.clusters[i]: where is "services.clusters[i]." */
static int
cluster_ips(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_cluster_ips *out = dst;
	int r;

	r = kj_get_str(c, "clusterName", where, &out->cluster_name, err, errlen);
	if (r == 0)
		r = kj_get_strv(c, "outbound", where, &out->outbound, &out->n_outbound, err,
				errlen);
	if (r == 0)
		r = kj_get_strv(c, "futureOutbound", where, &out->future_outbound,
				&out->n_future_outbound, err, errlen);
	return r;
}

static int
read_ip_addresses(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_ip_addresses *out = dst;
	json_t *services = NULL, *clusters = NULL;
	void *v = NULL;
	int r;

	r = kj_get_str(root, "groupId", where, &out->group_id, err, errlen);
	if (r == 0)
		r = kj_get_object(root, "services", where, &services, err, errlen);
	if (r == 0 && services != NULL)
		r = kj_get_array(services, "clusters", "services.", &clusters, err, errlen);
	if (r == 0)
		r = kj_get_objects(clusters, "services.clusters", sizeof(*out->clusters), &v,
				   &out->n_clusters, cluster_ips, err, errlen);
	out->clusters = v;
	return r;
}

int
atlas_parse_ip_addresses(const char *body, size_t len, struct atlas_ip_addresses *out, char *err,
			 size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_ip_addresses,
			 err, errlen);

	if (r < 0)
		atlas_ip_addresses_free(out);
	return r;
}

char *
atlas_control_plane_url(const char *base_url)
{
	return join_url(base_url, "/api/atlas/v2/unauth/controlPlaneIPAddresses");
}

char *
atlas_ip_addresses_url(const char *base_url, const char *group_id)
{
	return group_url(base_url, group_id, "ipAddresses");
}

/* ---- clusters ---------------------------------------------------------- */

/*
 * One page of GET .../clusters. The policy of the EAR body applies: a
 * malformed cluster entry invalidates the page, because skipping it would
 * resolve the ear.clusters alert of a cluster that may still be
 * unencrypted. `results` is required for the same reason.
 */

#define CL(n, t, m) {n, t, offsetof(struct atlas_cluster, m)}
static const struct field cluster_fields[] = {
	CL("id", F_STR, id),
	CL("name", F_STR, name),
	CL("encryptionAtRestProvider", F_STR, encryption_at_rest_provider),
	CL("stateName", F_STR, state_name),
	CL("paused", F_BOOL, paused),
};
#undef CL

static void
cluster_free(struct atlas_cluster *c)
{
	fields_free(cluster_fields, ARRAY_SIZE(cluster_fields), c);
	memset(c, 0, sizeof(*c));
}

void
atlas_clusters_free(struct atlas_clusters *cl)
{
	if (cl == NULL)
		return;
	for (size_t i = 0; i < cl->n; i++)
		cluster_free(&cl->v[i]);
	free(cl->v);
	memset(cl, 0, sizeof(*cl));
}

/* links[] of {href, rel}: only whether rel "next" occurs is kept (link
 * relation names are case-insensitive, RFC 8288). */
static int
page_links(json_t *root, bool *has_next, char *err, size_t errlen)
{
	json_t *links, *l;
	size_t i;
	int r;

	*has_next = false;
	r = kj_get_array(root, "links", "", &links, err, errlen);
	if (r < 0 || links == NULL)
		return r;
	json_array_foreach(links, i, l) {
		char where[KJ_WHERE_MAX];
		const char *rel, *href;

		if (!json_is_object(l)) {
			kj_seterr(err, errlen, "links[%zu] is not an object", i);
			return -EBADMSG;
		}
		snprintf(where, sizeof(where), "links[%zu].", i);
		r = kj_get_cstr(l, "rel", where, &rel, err, errlen);
		if (r == 0)
			r = kj_get_cstr(l, "href", where, &href, err, errlen);
		if (r < 0)
			return r;
		if (rel != NULL && strcasecmp(rel, "next") == 0)
			*has_next = true;
	}
	return 0;
}

/* results[i]: where is "results[i]." */
static int
cluster_entry(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	return get_fields(c, where, cluster_fields, ARRAY_SIZE(cluster_fields), dst, err, errlen);
}

/* The envelope of a paged answer: results (required), totalCount, links. */
static int
read_page(json_t *root, const char *where, size_t elem_size, kj_item_fn *entry, void **v,
	  size_t *n, bool *has_total_count, int64_t *total_count, bool *has_next_link, char *err,
	  size_t errlen)
{
	json_t *results = NULL;
	int r;

	r = kj_get_array(root, "results", where, &results, err, errlen);
	if (r == 0 && results == NULL) {
		kj_seterr(err, errlen, "no results array in the answer");
		r = -EBADMSG;
	}
	if (r == 0)
		r = kj_get_int(root, "totalCount", where, has_total_count, total_count, err, errlen);
	if (r == 0 && *has_total_count && *total_count < 0) {
		kj_seterr(err, errlen, "totalCount is negative");
		r = -EBADMSG;
	}
	if (r == 0)
		r = page_links(root, has_next_link, err, errlen);
	if (r == 0)
		r = kj_get_objects(results, "results", elem_size, v, n, entry, err, errlen);
	return r;
}

static int
read_clusters(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_clusters *out = dst;
	void *v = NULL;
	int r = read_page(root, where, sizeof(*out->v), cluster_entry, &v, &out->n,
			  &out->has_total_count, &out->total_count, &out->has_next_link, err,
			  errlen);

	out->v = v;
	return r;
}

int
atlas_parse_clusters(const char *body, size_t len, struct atlas_clusters *out, char *err,
		     size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_clusters, err,
			 errlen);

	if (r < 0)
		atlas_clusters_free(out);
	return r;
}

bool
atlas_page_more(size_t n, bool has_next_link, bool has_total_count, int64_t total_count,
		unsigned page_num, unsigned items_per_page)
{
	if (n == 0)
		return false;
	if (has_next_link)
		return true;
	if (items_per_page == 0 || n < items_per_page)
		return false;
	if (has_total_count && (uint64_t)page_num * items_per_page >= (uint64_t)total_count)
		return false;
	return true;
}

bool
atlas_clusters_more(const struct atlas_clusters *page, unsigned page_num, unsigned items_per_page)
{
	return page != NULL && atlas_page_more(page->n, page->has_next_link, page->has_total_count,
					       page->total_count, page_num, items_per_page);
}

/* Appends page's n elements of elem bytes to all's; page's vector is
 * freed (its elements now belong to all). */
static int
append_page(void **all_v, size_t *all_n, void **page_v, size_t *page_n, size_t elem)
{
	char *v;

	if (*page_n > 0) {
		if (*all_n > SIZE_MAX / elem - *page_n)
			return -ENOMEM;
		v = realloc(*all_v, (*all_n + *page_n) * elem);
		if (v == NULL)
			return -ENOMEM;
		memcpy(v + *all_n * elem, *page_v, *page_n * elem);
		*all_v = v;
		*all_n += *page_n;
	}
	free(*page_v);
	*page_v = NULL;
	*page_n = 0;
	return 0;
}

int
atlas_clusters_merge(struct atlas_clusters *all, struct atlas_clusters *page)
{
	void *av, *pv;
	int r;

	if (all == NULL || page == NULL || all == page)
		return -EINVAL;
	av = all->v;
	pv = page->v;
	if ((r = append_page(&av, &all->n, &pv, &page->n, sizeof(*all->v))) < 0)
		return r;
	all->v = av;
	all->has_next_link = page->has_next_link;
	all->has_total_count = page->has_total_count;
	all->total_count = page->total_count;
	memset(page, 0, sizeof(*page));
	return 0;
}

char *
atlas_clusters_url(const char *base_url, const char *group_id, unsigned page_num,
		   unsigned items_per_page)
{
	char rest[64];

	if (page_num < 1 || page_num > INT32_MAX || items_per_page < 1 ||
	    items_per_page > ATLAS_CLUSTERS_MAX_PER_PAGE) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(rest, sizeof(rest), "clusters?pageNum=%u&itemsPerPage=%u", page_num,
		 items_per_page);
	return group_url(base_url, group_id, rest);
}

/* ---- EAR private endpoints ------------------------------------------- */

#define PE(n, t, m) {n, t, offsetof(struct atlas_ear_pe, m)}
static const struct field pe_fields[] = {
	PE("id", F_STR, id),
	PE("cloudProvider", F_STR, cloud_provider),
	PE("regionName", F_STR, region_name),
	PE("status", F_STR, status),
	PE("errorMessage", F_STR, error_message),
	PE("privateEndpointConnectionName", F_STR, connection_name),
};
#undef PE

static void
pe_free(struct atlas_ear_pe *e)
{
	fields_free(pe_fields, ARRAY_SIZE(pe_fields), e);
	memset(e, 0, sizeof(*e));
}

void
atlas_ear_pes_free(struct atlas_ear_pes *pes)
{
	if (pes == NULL)
		return;
	for (size_t i = 0; i < pes->n; i++)
		pe_free(&pes->v[i]);
	free(pes->v);
	memset(pes, 0, sizeof(*pes));
}

static int
pe_entry(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	return get_fields(c, where, pe_fields, ARRAY_SIZE(pe_fields), dst, err, errlen);
}

static int
read_pes(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_ear_pes *out = dst;
	void *v = NULL;
	int r = read_page(root, where, sizeof(*out->v), pe_entry, &v, &out->n,
			  &out->has_total_count, &out->total_count, &out->has_next_link, err,
			  errlen);

	out->v = v;
	return r;
}

int
atlas_parse_ear_private_endpoints(const char *body, size_t len, struct atlas_ear_pes *out,
				  char *err, size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_pes, err,
			 errlen);

	if (r < 0)
		atlas_ear_pes_free(out);
	return r;
}

int
atlas_ear_pes_merge(struct atlas_ear_pes *all, struct atlas_ear_pes *page)
{
	void *av, *pv;
	int r;

	if (all == NULL || page == NULL || all == page)
		return -EINVAL;
	av = all->v;
	pv = page->v;
	if ((r = append_page(&av, &all->n, &pv, &page->n, sizeof(*all->v))) < 0)
		return r;
	all->v = av;
	all->has_next_link = page->has_next_link;
	all->has_total_count = page->has_total_count;
	all->total_count = page->total_count;
	memset(page, 0, sizeof(*page));
	return 0;
}

char *
atlas_ear_private_endpoints_url(const char *base_url, const char *group_id,
				enum provider provider, unsigned page_num)
{
	char rest[96];

	if ((provider != PROV_AZURE && provider != PROV_AWS) || page_num < 1 ||
	    page_num > INT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(rest, sizeof(rest), "encryptionAtRest/%s/privateEndpoints?pageNum=%u&itemsPerPage=%u",
		 provider == PROV_AZURE ? "AZURE" : "AWS", page_num, ATLAS_PE_PER_PAGE);
	return group_url(base_url, group_id, rest);
}

/* ---- Atlas's EAR events ---------------------------------------------- */

#define EV(n, t, m) {n, t, offsetof(struct atlas_event, m)}
static const struct field event_fields[] = {
	EV("id", F_STR, id),
	EV("eventTypeName", F_STR, event_type_name),
	EV("created", F_STR, created),
};
#undef EV

/* What atlas.events asks Atlas for: verdicts, then what takes them back. */
static const char *const ear_event_types[] = {
	"ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED", "ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID",
	"AWS_ENCRYPTION_KEY_INVALID", "AZURE_ENCRYPTION_KEY_INVALID", "GCP_ENCRYPTION_KEY_INVALID",
	"AWS_ENCRYPTION_KEY_NEEDS_ROTATION", "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION",
	"GCP_ENCRYPTION_KEY_NEEDS_ROTATION",
	"ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_RESTORED", "ENCRYPTION_AT_REST_CONFIG_IS_VALID",
	"AWS_ENCRYPTION_KEY_VALID", "AZURE_ENCRYPTION_KEY_VALID", "GCP_ENCRYPTION_KEY_VALID",
	"AWS_ENCRYPTION_KEY_ROTATED", "AZURE_ENCRYPTION_KEY_ROTATED", "GCP_ENCRYPTION_KEY_ROTATED",
};

static void
event_free(struct atlas_event *e)
{
	fields_free(event_fields, ARRAY_SIZE(event_fields), e);
	memset(e, 0, sizeof(*e));
}

void
atlas_events_free(struct atlas_events *ev)
{
	if (ev == NULL)
		return;
	for (size_t i = 0; i < ev->n; i++)
		event_free(&ev->v[i]);
	free(ev->v);
	memset(ev, 0, sizeof(*ev));
}

static int
event_entry(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_event *e = dst;
	int r = get_fields(c, where, event_fields, ARRAY_SIZE(event_fields), dst, err, errlen);

	/* an event whose time cannot be read is kept, undated: it is never
	 * taken for a recent one */
	if (r == 0 && e->created && util_parse_time(e->created, &e->created_at) < 0)
		e->created_at = 0;
	return r;
}

static int
read_events(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_events *out = dst;
	void *v = NULL;
	int r = read_page(root, where, sizeof(*out->v), event_entry, &v, &out->n,
			  &out->has_total_count, &out->total_count, &out->has_next_link, err,
			  errlen);

	out->v = v;
	return r;
}

int
atlas_parse_events(const char *body, size_t len, struct atlas_events *out, char *err,
		   size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_events, err,
			 errlen);

	if (r < 0)
		atlas_events_free(out);
	return r;
}

int
atlas_events_merge(struct atlas_events *all, struct atlas_events *page)
{
	void *av, *pv;
	int r;

	if (all == NULL || page == NULL || all == page)
		return -EINVAL;
	av = all->v;
	pv = page->v;
	if ((r = append_page(&av, &all->n, &pv, &page->n, sizeof(*all->v))) < 0)
		return r;
	all->v = av;
	all->has_next_link = page->has_next_link;
	all->has_total_count = page->has_total_count;
	all->total_count = page->total_count;
	memset(page, 0, sizeof(*page));
	return 0;
}

char *
atlas_events_url(const char *base_url, const char *group_id, time_t min_date, unsigned page_num)
{
	char when[UTIL_TIME_LEN], *url;
	struct strbuf b = {0};
	int r;

	if (page_num < 1 || page_num > INT32_MAX || min_date < 0) {
		errno = EINVAL;
		return NULL;
	}
	util_format_time(min_date, when, sizeof(when));
	r = strbuf_printf(&b, "events?pageNum=%u&itemsPerPage=%u&minDate=%s", page_num,
			  ATLAS_EVENTS_PER_PAGE, when);
	for (size_t i = 0; r == 0 && i < ARRAY_SIZE(ear_event_types); i++)
		r = strbuf_printf(&b, "&eventType=%s", ear_event_types[i]);
	if (r < 0) {
		strbuf_free(&b);
		errno = ENOMEM;
		return NULL;
	}
	url = group_url(base_url, group_id, b.s);
	strbuf_free(&b);
	return url;
}

/* ---- projects (discover:) ---------------------------------------------- */

#define GR(n, t, m) {n, t, offsetof(struct atlas_group, m)}
static const struct field group_fields[] = {
	GR("id", F_STR, id),
	GR("name", F_STR, name),
	GR("orgId", F_STR, org_id),
};
#undef GR

static void
group_free(struct atlas_group *g)
{
	fields_free(group_fields, ARRAY_SIZE(group_fields), g);
	memset(g, 0, sizeof(*g));
}

void
atlas_groups_free(struct atlas_groups *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->n; i++)
		group_free(&g->v[i]);
	free(g->v);
	memset(g, 0, sizeof(*g));
}

static int
group_entry(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_group *g = dst;
	int r = get_fields(c, where, group_fields, ARRAY_SIZE(group_fields), dst, err, errlen);

	if (r < 0)
		return r;
	if (!atlas_group_id_valid(g->id)) {
		kj_seterr(err, errlen, "%sid is %s", where,
			  g->id ? "not a project id (24 hex digits)" : "missing");
		return -EBADMSG;
	}
	for (char *p = g->id; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	/* names go into log lines and alerts: one line each; an empty one
	 * is as good as none (the id stands in) */
	if (g->name)
		util_sanitize(g->name);
	if (g->name && g->name[0] == '\0') {
		free(g->name);
		g->name = NULL;
	}
	return 0;
}

static int
read_groups(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_groups *out = dst;
	void *v = NULL;
	int r = read_page(root, where, sizeof(*out->v), group_entry, &v, &out->n,
			  &out->has_total_count, &out->total_count, &out->has_next_link, err,
			  errlen);

	out->v = v;
	return r;
}

int
atlas_parse_groups(const char *body, size_t len, struct atlas_groups *out, char *err,
		   size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_groups, err,
			 errlen);

	if (r < 0)
		atlas_groups_free(out);
	return r;
}

char *
atlas_groups_url(const char *base_url, const char *org_id, unsigned page_num,
		 unsigned items_per_page)
{
	char path[128];

	if (page_num < 1 || page_num > INT32_MAX || items_per_page < 1 ||
	    items_per_page > ATLAS_GROUPS_PER_PAGE || (org_id && !atlas_group_id_valid(org_id))) {
		errno = EINVAL;
		return NULL;
	}
	if (org_id)
		snprintf(path, sizeof(path), "/api/atlas/v2/orgs/%s/groups?pageNum=%u&itemsPerPage=%u",
			 org_id, page_num, items_per_page);
	else
		snprintf(path, sizeof(path), "/api/atlas/v2/groups?pageNum=%u&itemsPerPage=%u",
			 page_num, items_per_page);
	return join_url(base_url, path);
}

/* ---- Cloud Provider Access ------------------------------------------- */

#define CA(n, t, m) {n, t, offsetof(struct atlas_cpa_azure, m)}
static const struct field cpa_azure_fields[] = {
	CA("_id", F_STR, id),
	CA("servicePrincipalId", F_STR, service_principal_id),
	CA("atlasAzureAppId", F_STR, atlas_azure_app_id),
	CA("tenantId", F_STR, tenant_id),
};
#undef CA

#define CW(n, t, m) {n, t, offsetof(struct atlas_cpa_aws, m)}
static const struct field cpa_aws_fields[] = {
	CW("roleId", F_STR, role_id),
	CW("iamAssumedRoleArn", F_STR, iam_assumed_role_arn),
};
#undef CW

#define CG(n, t, m) {n, t, offsetof(struct atlas_cpa_gcp, m)}
static const struct field cpa_gcp_fields[] = {
	CG("roleId", F_STR, role_id),
	CG("status", F_STR, status),
};
#undef CG

void
atlas_cpa_free(struct atlas_cpa *cpa)
{
	if (cpa == NULL)
		return;
	for (size_t i = 0; i < cpa->n_azure; i++) {
		struct atlas_cpa_azure *a = &cpa->azure[i];

		free(a->id);
		free(a->service_principal_id);
		free(a->atlas_azure_app_id);
		free(a->tenant_id);
		kj_strv_free(a->feature_types, a->n_feature_types);
	}
	free(cpa->azure);
	for (size_t i = 0; i < cpa->n_aws; i++) {
		free(cpa->aws[i].role_id);
		free(cpa->aws[i].iam_assumed_role_arn);
	}
	free(cpa->aws);
	for (size_t i = 0; i < cpa->n_gcp; i++) {
		free(cpa->gcp[i].role_id);
		free(cpa->gcp[i].status);
	}
	free(cpa->gcp);
	memset(cpa, 0, sizeof(*cpa));
}

/* featureUsages[].featureType of one service principal. Entries without a
 * featureType are skipped; featureId is not read. */
static int
cpa_feature_usages(json_t *sp, const char *where, struct atlas_cpa_azure *out, char *err,
		   size_t errlen)
{
	const char *t;
	json_t *fu, *u;
	size_t i;
	int r;

	r = kj_get_array(sp, "featureUsages", where, &fu, err, errlen);
	if (r < 0 || fu == NULL)
		return r;
	out->has_feature_usages = true;
	json_array_foreach(fu, i, u) {
		char w[KJ_WHERE_MAX];

		if (!json_is_object(u)) {
			kj_seterr(err, errlen, "%sfeatureUsages[%zu] is not an object", where, i);
			return -EBADMSG;
		}
		snprintf(w, sizeof(w), "%sfeatureUsages[%zu].", where, i);
		r = kj_get_cstr(u, "featureType", w, &t, err, errlen);
		if (r < 0)
			return r;
	}
	if (json_array_size(fu) == 0)
		return 0;
	out->feature_types = calloc(json_array_size(fu), sizeof(*out->feature_types));
	if (out->feature_types == NULL)
		return kj_enomem(err, errlen);
	json_array_foreach(fu, i, u) {
		t = kj_str(u, "featureType");
		if (t == NULL)
			continue;
		out->feature_types[out->n_feature_types] = strdup(t);
		if (out->feature_types[out->n_feature_types] == NULL)
			return kj_enomem(err, errlen);
		out->n_feature_types++;
	}
	return 0;
}

/* One element of each list: where is "azureServicePrincipals[i]." etc. */
static int
cpa_azure_item(json_t *item, const char *where, void *dst, char *err, size_t errlen)
{
	int r = get_fields(item, where, cpa_azure_fields, ARRAY_SIZE(cpa_azure_fields), dst, err,
			   errlen);

	return r < 0 ? r : cpa_feature_usages(item, where, dst, err, errlen);
}

static int
cpa_aws_item(json_t *item, const char *where, void *dst, char *err, size_t errlen)
{
	return get_fields(item, where, cpa_aws_fields, ARRAY_SIZE(cpa_aws_fields), dst, err,
			  errlen);
}

static int
cpa_gcp_item(json_t *item, const char *where, void *dst, char *err, size_t errlen)
{
	return get_fields(item, where, cpa_gcp_fields, ARRAY_SIZE(cpa_gcp_fields), dst, err,
			  errlen);
}

/* root[key]: an array of objects, each read by fn into an element of
 * elem_size bytes; *n counts the elements to free even on error. */
static int
cpa_list(json_t *root, const char *key, kj_item_fn *fn, size_t elem_size, void **out, size_t *n,
	 char *err, size_t errlen)
{
	json_t *a;
	int r = kj_get_array(root, key, "", &a, err, errlen);

	return r < 0 ? r : kj_get_objects(a, key, elem_size, out, n, fn, err, errlen);
}

static int
read_cpa(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_cpa *out = dst;
	void *azure = NULL, *aws = NULL, *gcp = NULL;
	int r;

	r = cpa_list(root, "azureServicePrincipals", cpa_azure_item, sizeof(struct atlas_cpa_azure),
		     &azure, &out->n_azure, err, errlen);
	out->azure = azure;
	if (r == 0) {
		r = cpa_list(root, "awsIamRoles", cpa_aws_item, sizeof(struct atlas_cpa_aws), &aws,
			     &out->n_aws, err, errlen);
		out->aws = aws;
	}
	if (r == 0) {
		r = cpa_list(root, "gcpServiceAccounts", cpa_gcp_item, sizeof(struct atlas_cpa_gcp),
			     &gcp, &out->n_gcp, err, errlen);
		out->gcp = gcp;
	}
	return r;
}

int
atlas_parse_cloud_provider_access(const char *body, size_t len, struct atlas_cpa *out, char *err,
				  size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_cpa, err,
			 errlen);

	if (r < 0)
		atlas_cpa_free(out);
	return r;
}

char *
atlas_cpa_url(const char *base_url, const char *group_id)
{
	return group_url(base_url, group_id, "cloudProviderAccess");
}

/* Role ids are 24-hex ObjectIds; Atlas writes them in lower case, but a
 * hand-edited configuration might not. */
static bool
role_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

const struct atlas_cpa_azure *
atlas_cpa_azure_find(const struct atlas_cpa *cpa, const char *role_id)
{
	for (size_t i = 0; cpa != NULL && i < cpa->n_azure; i++)
		if (role_eq(cpa->azure[i].id, role_id))
			return &cpa->azure[i];
	return NULL;
}

const struct atlas_cpa_aws *
atlas_cpa_aws_find(const struct atlas_cpa *cpa, const char *role_id)
{
	for (size_t i = 0; cpa != NULL && i < cpa->n_aws; i++)
		if (role_eq(cpa->aws[i].role_id, role_id))
			return &cpa->aws[i];
	return NULL;
}

const struct atlas_cpa_gcp *
atlas_cpa_gcp_find(const struct atlas_cpa *cpa, const char *role_id)
{
	for (size_t i = 0; cpa != NULL && i < cpa->n_gcp; i++)
		if (role_eq(cpa->gcp[i].role_id, role_id))
			return &cpa->gcp[i];
	return NULL;
}

const char *
atlas_cpa_azure_principal(const struct atlas_cpa *cpa, const char *role_id)
{
	const struct atlas_cpa_azure *a = atlas_cpa_azure_find(cpa, role_id);

	return a != NULL ? a->service_principal_id : NULL;
}

const char *
atlas_ear_role_id(const struct atlas_ear *ear)
{
	const char *r = NULL;

	switch (atlas_ear_enabled_provider(ear)) {
	case PROV_AWS:
		r = ear->aws.role_id;
		break;
	case PROV_AZURE:
		r = ear->azure.role_id;
		break;
	case PROV_GCP:
		r = ear->gcp.role_id;
		break;
	case PROV_NONE:
		break;
	}
	return r != NULL && r[0] != '\0' ? r : NULL;
}

/* ---- kmswatch's own service account ---------------------------------- */

bool
atlas_org_id_valid(const char *id)
{
	return atlas_group_id_valid(id);
}

bool
atlas_client_id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strlen(id);
	return n > 0 && n <= 128 &&
	       strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

char *
atlas_group_url(const char *base_url, const char *group_id)
{
	char path[64];

	if (!atlas_group_id_valid(group_id)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/atlas/v2/groups/%s", group_id);
	return join_url(base_url, path);
}

char *
atlas_service_account_url(const char *base_url, const char *org_id, const char *client_id)
{
	char *path, *url;

	if (!atlas_org_id_valid(org_id) || !atlas_client_id_valid(client_id)) {
		errno = EINVAL;
		return NULL;
	}
	path = util_asprintf("/api/atlas/v2/orgs/%s/serviceAccounts/%s", org_id, client_id);
	if (path == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	url = join_url(base_url, path);
	free(path);
	return url;
}

static int
read_group_org(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	char **org = dst;
	int r = kj_get_str(root, "orgId", where, org, err, errlen);

	if (r < 0)
		return r;
	if (*org == NULL) {
		kj_seterr(err, errlen, "orgId is missing");
		return -EBADMSG;
	}
	if (!atlas_org_id_valid(*org)) {
		kj_seterr(err, errlen, "orgId is not 24 hex digits");
		return -EBADMSG;
	}
	return 0;
}

int
atlas_parse_group_org(const char *body, size_t len, char **org_id, char *err, size_t errlen)
{
	int r;

	if (org_id == NULL)
		return -EINVAL;
	r = kj_parse(body, len, JSON_REJECT_DUPLICATES, org_id, sizeof(*org_id), read_group_org,
		     err, errlen);
	if (r < 0) {
		free(*org_id);
		*org_id = NULL;
	}
	return r;
}

static void
sa_secret_free(struct atlas_sa_secret *x)
{
	free(x->id);
	free(x->masked);
	memset(x, 0, sizeof(*x));
}

void
atlas_sa_free(struct atlas_sa *sa)
{
	if (sa == NULL)
		return;
	for (size_t i = 0; i < sa->n_secrets; i++)
		sa_secret_free(&sa->secrets[i]);
	free(sa->secrets);
	free(sa->client_id);
	free(sa->name);
	memset(sa, 0, sizeof(*sa));
}

static int
sa_secret_entry(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_sa_secret *x = dst;
	bool has_expiry = false;
	int r;

	if ((r = kj_get_str(c, "id", where, &x->id, err, errlen)) < 0 ||
	    (r = kj_get_str(c, "maskedSecretValue", where, &x->masked, err, errlen)) < 0 ||
	    (r = kj_get_iso(c, "expiresAt", where, &has_expiry, &x->expires_at, err, errlen)) < 0 ||
	    (r = kj_get_iso(c, "createdAt", where, &x->has_created, &x->created_at, err,
			    errlen)) < 0 ||
	    (r = kj_get_iso(c, "lastUsedAt", where, &x->has_last_used, &x->last_used_at, err,
			    errlen)) < 0)
		return r;
	if (x->id == NULL || *x->id == '\0') {
		kj_seterr(err, errlen, "%sid is missing", where);
		return -EBADMSG;
	}
	if (!has_expiry) {
		kj_seterr(err, errlen, "%sexpiresAt is missing", where);
		return -EBADMSG;
	}
	return 0;
}

static int
read_sa(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct atlas_sa *out = dst;
	json_t *arr;
	void *v = NULL;
	int r;

	if ((r = kj_get_str(root, "clientId", where, &out->client_id, err, errlen)) < 0 ||
	    (r = kj_get_str(root, "name", where, &out->name, err, errlen)) < 0 ||
	    (r = kj_get_array(root, "secrets", where, &arr, err, errlen)) < 0)
		return r;
	r = kj_get_objects(arr, "secrets", sizeof(*out->secrets), &v, &out->n_secrets,
			   sa_secret_entry, err, errlen);
	out->secrets = v;
	return r;
}

int
atlas_parse_service_account(const char *body, size_t len, struct atlas_sa *out, char *err,
			    size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_sa, err,
			 errlen);

	if (r < 0 && out != NULL)
		atlas_sa_free(out);
	return r;
}
