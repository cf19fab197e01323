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
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "atlas.h"
#include "util.h"

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* jansson quotes input bytes ("near '...'"): never let them carry
	 * control characters or broken UTF-8 into a log line */
	util_copy_sanitized(err, errlen, tmp);
}

/* Parse a whole body as a JSON object; NULL with err set otherwise. */
static json_t *
load_object(const char *body, size_t len, size_t flags, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (body == NULL || len == 0) {
		set_err(err, errlen, "empty body");
		return NULL;
	}
	/* JSON_DECODE_ANY: a scalar answer then gets the clear "top level is
	 * not an object" below instead of a parser message */
	root = json_loadb(body, len, flags | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		set_err(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		set_err(err, errlen, "top level is not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---- encryptionAtRest -------------------------------------------------- */

enum ftype { F_BOOL, F_STR };

struct field {
	const char *name;
	enum ftype type;
	size_t off;
};

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

static int
get_field(json_t *obj, const char *objname, const struct field *f, void *dst, char *err,
	  size_t errlen)
{
	json_t *v = json_object_get(obj, f->name);
	char *base = dst;

	if (v == NULL || json_is_null(v))
		return 0;
	switch (f->type) {
	case F_BOOL:
		if (!json_is_boolean(v)) {
			set_err(err, errlen, "%s%s%s is not a boolean", objname,
				*objname ? "." : "", f->name);
			return -EBADMSG;
		}
		*(enum tri *)(void *)(base + f->off) = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
		return 0;
	case F_STR: {
		char **slot = (char **)(void *)(base + f->off);

		if (!json_is_string(v)) {
			set_err(err, errlen, "%s%s%s is not a string", objname,
				*objname ? "." : "", f->name);
			return -EBADMSG;
		}
		*slot = strdup(json_string_value(v));
		if (*slot == NULL) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
		return 0;
	}
	}
	return -EINVAL;
}

static int
get_provider(json_t *root, const char *key, const struct field *fields, size_t n, void *dst,
	     bool *present, char *err, size_t errlen)
{
	json_t *obj = json_object_get(root, key);
	int r;

	if (obj == NULL || json_is_null(obj))
		return 0;
	if (!json_is_object(obj)) {
		set_err(err, errlen, "%s is not an object", key);
		return -EBADMSG;
	}
	*present = true;
	for (size_t i = 0; i < n; i++) {
		r = get_field(obj, key, &fields[i], dst, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int
atlas_parse_ear(const char *body, size_t len, struct atlas_ear *out, char *err, size_t errlen)
{
	static const struct field search = {"enabledForSearchNodes", F_BOOL,
					    offsetof(struct atlas_ear, enabled_for_search_nodes)};
	json_t *root;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_provider(root, "awsKms", aws_fields, ARRAY_SIZE(aws_fields), &out->aws,
			 &out->aws.present, err, errlen);
	if (r == 0)
		r = get_provider(root, "azureKeyVault", azure_fields, ARRAY_SIZE(azure_fields),
				 &out->azure, &out->azure.present, err, errlen);
	if (r == 0)
		r = get_provider(root, "googleCloudKms", gcp_fields, ARRAY_SIZE(gcp_fields),
				 &out->gcp, &out->gcp.present, err, errlen);
	if (r == 0)
		r = get_field(root, "", &search, out, err, errlen);
	json_decref(root);
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
	return b.s;
}

/* ---- ApiError -------------------------------------------------------- */

static const char *
obj_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

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

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, 0, NULL, 0);
	if (root == NULL)
		return -EBADMSG;
	e = json_object_get(root, "error");
	if (json_is_integer(e) && json_integer_value(e) > 0 && json_integer_value(e) < 1000)
		out->error = (int)json_integer_value(e);
	code = obj_str(root, "errorCode");
	if (code == NULL)
		code = obj_str(root, "error");
	detail = obj_str(root, "detail");
	if (detail == NULL)
		detail = obj_str(root, "error_description");
	if (detail == NULL)
		detail = obj_str(root, "reason");
	util_copy_sanitized(out->error_code, sizeof(out->error_code), code);
	util_copy_sanitized(out->detail, sizeof(out->detail), detail);
	json_decref(root);
	return out->error_code[0] != '\0' || out->detail[0] != '\0' ? 0 : -EBADMSG;
}

/* ---- OAuth token ----------------------------------------------------- */

/* The token goes into an Authorization header verbatim: anything but
 * visible ASCII could split or smuggle a header. */
static bool
header_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* Jansson frees without wiping; the access token is a bearer credential. */
static void
wipe_string(json_t *v)
{
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

int
atlas_parse_token(const char *body, size_t len, char **token, int64_t *expires_in, char *err,
		  size_t errlen)
{
	json_t *root, *tok, *type, *exp, *oerr;
	int r = -EBADMSG;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (token == NULL)
		return -EINVAL;
	*token = NULL;
	if (expires_in != NULL)
		*expires_in = 0;
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	tok = json_object_get(root, "access_token");
	type = json_object_get(root, "token_type");
	exp = json_object_get(root, "expires_in");
	oerr = json_object_get(root, "error");

	if (json_is_string(oerr)) {
		const char *desc = obj_str(root, "error_description");

		set_err(err, errlen, "%s%s%s", json_string_value(oerr), desc ? ": " : "",
			desc ? desc : "");
		r = -EACCES;
	} else if (tok == NULL || json_is_null(tok)) {
		set_err(err, errlen, "no access_token in the answer");
	} else if (!json_is_string(tok)) {
		set_err(err, errlen, "access_token is not a string");
	} else if (!header_safe(json_string_value(tok))) {
		set_err(err, errlen, "access_token is empty or has characters not allowed in "
				     "an HTTP header");
	} else if (type != NULL && !json_is_null(type) && !json_is_string(type)) {
		set_err(err, errlen, "token_type is not a string");
	} else if (json_is_string(type) && strcasecmp(json_string_value(type), "Bearer") != 0) {
		set_err(err, errlen, "token_type is \"%s\", not Bearer", json_string_value(type));
	} else if (exp != NULL && !json_is_null(exp) && !json_is_integer(exp)) {
		set_err(err, errlen, "expires_in is not an integer");
	} else if (json_is_integer(exp) && json_integer_value(exp) <= 0) {
		set_err(err, errlen, "expires_in is %lld, not a positive number of seconds",
			(long long)json_integer_value(exp));
	} else {
		*token = strdup(json_string_value(tok));
		if (*token == NULL) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
		} else {
			if (expires_in != NULL)
				*expires_in = json_is_integer(exp) ? json_integer_value(exp)
								   : ATLAS_TOKEN_DEFAULT_LIFETIME;
			r = 0;
		}
	}
	wipe_string(tok);
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

char *
atlas_ear_url(const char *base_url, const char *group_id)
{
	char path[96];

	/* the id lands in a URL path: validate it here, whatever the caller did */
	if (!atlas_group_id_valid(group_id)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/atlas/v2/groups/%s/encryptionAtRest", group_id);
	return join_url(base_url, path);
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

/* {cloud: {region: [cidr, ...]}} -> a flat list, in document order (jansson
 * keeps object keys in insertion order). */
static int
cp_cloud_map(json_t *clouds, const char *where, struct atlas_cp_cidr **out, size_t *n,
	     char *err, size_t errlen)
{
	const char *cloud, *region;
	json_t *regions, *list, *v;
	size_t total = 0, idx, k = 0;

	*out = NULL;
	*n = 0;
	if (clouds == NULL || json_is_null(clouds))
		return 0;
	if (!json_is_object(clouds)) {
		set_err(err, errlen, "%s is not an object", where);
		return -EBADMSG;
	}
	json_object_foreach(clouds, cloud, regions) {
		if (json_is_null(regions))
			continue;
		if (!json_is_object(regions)) {
			set_err(err, errlen, "%s.%s is not an object", where, cloud);
			return -EBADMSG;
		}
		json_object_foreach(regions, region, list) {
			if (json_is_null(list))
				continue;
			if (!json_is_array(list)) {
				set_err(err, errlen, "%s.%s.%s is not an array", where, cloud, region);
				return -EBADMSG;
			}
			json_array_foreach(list, idx, v) {
				if (!json_is_string(v)) {
					set_err(err, errlen, "%s.%s.%s[%zu] is not a string", where,
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
		goto enomem;
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
					goto enomem;
				}
			}
		}
	}
	*n = total;
	return 0;
enomem:
	*out = NULL;
	set_err(err, errlen, "out of memory");
	return -ENOMEM;
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

static int
cp_gateway(json_t *g, size_t i, struct atlas_cp_gateway *out, char *err, size_t errlen)
{
	json_t *name, *ips;
	char where[64];

	if (!json_is_object(g)) {
		set_err(err, errlen, "gateways[%zu] is not an object", i);
		return -EBADMSG;
	}
	name = json_object_get(g, "name");
	if (name != NULL && !json_is_null(name)) {
		if (!json_is_string(name)) {
			set_err(err, errlen, "gateways[%zu].name is not a string", i);
			return -EBADMSG;
		}
		out->name = strdup(json_string_value(name));
		if (out->name == NULL) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	ips = json_object_get(g, "ips");
	if (ips == NULL || json_is_null(ips))
		return 0;
	if (!json_is_object(ips)) {
		set_err(err, errlen, "gateways[%zu].ips is not an object", i);
		return -EBADMSG;
	}
	snprintf(where, sizeof(where), "gateways[%zu].ips.outbound", i);
	return cp_cloud_map(json_object_get(ips, "outbound"), where, &out->outbound,
			    &out->n_outbound, err, errlen);
}

int
atlas_parse_control_plane(const char *body, size_t len, struct atlas_control_plane *out, char *err,
			  size_t errlen)
{
	json_t *root, *gw;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = cp_cloud_map(json_object_get(root, "outbound"), "outbound", &out->outbound,
			 &out->n_outbound, err, errlen);
	gw = json_object_get(root, "gateways");
	if (r == 0 && gw != NULL && !json_is_null(gw)) {
		if (!json_is_array(gw)) {
			set_err(err, errlen, "gateways is not an array");
			r = -EBADMSG;
		} else if (json_array_size(gw) > 0) {
			out->gateways = calloc(json_array_size(gw), sizeof(*out->gateways));
			if (out->gateways == NULL) {
				set_err(err, errlen, "out of memory");
				r = -ENOMEM;
			}
			for (size_t i = 0; r == 0 && i < json_array_size(gw); i++) {
				out->n_gateways = i + 1;
				r = cp_gateway(json_array_get(gw, i), i, &out->gateways[i], err,
					       errlen);
			}
		}
	}
	json_decref(root);
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

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* obj[key] as an array of strings; absent or null -> empty. */
static int
strv_get(json_t *obj, const char *key, const char *where, char ***out, size_t *n, char *err,
	 size_t errlen)
{
	json_t *a = json_object_get(obj, key), *v;
	size_t i;

	*out = NULL;
	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		set_err(err, errlen, "%s%s is not an array", where, key);
		return -EBADMSG;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			set_err(err, errlen, "%s%s[%zu] is not a string", where, key, i);
			return -EBADMSG;
		}
	}
	if (json_array_size(a) == 0)
		return 0;
	*out = calloc(json_array_size(a), sizeof(**out));
	if (*out == NULL)
		goto enomem;
	json_array_foreach(a, i, v) {
		(*out)[i] = strdup(json_string_value(v));
		if ((*out)[i] == NULL) {
			strv_free(*out, i);
			*out = NULL;
			goto enomem;
		}
	}
	*n = json_array_size(a);
	return 0;
enomem:
	set_err(err, errlen, "out of memory");
	return -ENOMEM;
}

void
atlas_ip_addresses_free(struct atlas_ip_addresses *ips)
{
	if (ips == NULL)
		return;
	free(ips->group_id);
	for (size_t i = 0; i < ips->n_clusters; i++) {
		free(ips->clusters[i].cluster_name);
		strv_free(ips->clusters[i].outbound, ips->clusters[i].n_outbound);
		strv_free(ips->clusters[i].future_outbound, ips->clusters[i].n_future_outbound);
	}
	free(ips->clusters);
	memset(ips, 0, sizeof(*ips));
}

static int
cluster_ips(json_t *c, size_t i, struct atlas_cluster_ips *out, char *err, size_t errlen)
{
	json_t *name;
	char where[48];
	int r;

	snprintf(where, sizeof(where), "services.clusters[%zu].", i);
	if (!json_is_object(c)) {
		set_err(err, errlen, "services.clusters[%zu] is not an object", i);
		return -EBADMSG;
	}
	name = json_object_get(c, "clusterName");
	if (name != NULL && !json_is_null(name)) {
		if (!json_is_string(name)) {
			set_err(err, errlen, "%sclusterName is not a string", where);
			return -EBADMSG;
		}
		out->cluster_name = strdup(json_string_value(name));
		if (out->cluster_name == NULL) {
			set_err(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	r = strv_get(c, "outbound", where, &out->outbound, &out->n_outbound, err, errlen);
	if (r == 0)
		r = strv_get(c, "futureOutbound", where, &out->future_outbound,
			     &out->n_future_outbound, err, errlen);
	return r;
}

int
atlas_parse_ip_addresses(const char *body, size_t len, struct atlas_ip_addresses *out, char *err,
			 size_t errlen)
{
	json_t *root, *gid, *services, *clusters = NULL;
	int r = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	gid = json_object_get(root, "groupId");
	services = json_object_get(root, "services");
	if (gid != NULL && !json_is_null(gid)) {
		if (!json_is_string(gid)) {
			set_err(err, errlen, "groupId is not a string");
			r = -EBADMSG;
		} else if ((out->group_id = strdup(json_string_value(gid))) == NULL) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
		}
	}
	if (r == 0 && services != NULL && !json_is_null(services)) {
		if (!json_is_object(services)) {
			set_err(err, errlen, "services is not an object");
			r = -EBADMSG;
		} else {
			clusters = json_object_get(services, "clusters");
			if (json_is_null(clusters))
				clusters = NULL;
		}
	}
	if (r == 0 && clusters != NULL && !json_is_array(clusters)) {
		set_err(err, errlen, "services.clusters is not an array");
		r = -EBADMSG;
	}
	if (r == 0 && clusters != NULL && json_array_size(clusters) > 0) {
		out->clusters = calloc(json_array_size(clusters), sizeof(*out->clusters));
		if (out->clusters == NULL) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && i < json_array_size(clusters); i++) {
			out->n_clusters = i + 1;
			r = cluster_ips(json_array_get(clusters, i), i, &out->clusters[i], err,
					errlen);
		}
	}
	json_decref(root);
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
	char path[96];

	if (!atlas_group_id_valid(group_id)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/atlas/v2/groups/%s/ipAddresses", group_id);
	return join_url(base_url, path);
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
	free(c->id);
	free(c->name);
	free(c->encryption_at_rest_provider);
	free(c->state_name);
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
page_links(json_t *links, bool *has_next, char *err, size_t errlen)
{
	json_t *l, *rel, *href;
	size_t i;

	*has_next = false;
	if (links == NULL || json_is_null(links))
		return 0;
	if (!json_is_array(links)) {
		set_err(err, errlen, "links is not an array");
		return -EBADMSG;
	}
	json_array_foreach(links, i, l) {
		if (!json_is_object(l)) {
			set_err(err, errlen, "links[%zu] is not an object", i);
			return -EBADMSG;
		}
		rel = json_object_get(l, "rel");
		href = json_object_get(l, "href");
		if (rel != NULL && !json_is_null(rel) && !json_is_string(rel)) {
			set_err(err, errlen, "links[%zu].rel is not a string", i);
			return -EBADMSG;
		}
		if (href != NULL && !json_is_null(href) && !json_is_string(href)) {
			set_err(err, errlen, "links[%zu].href is not a string", i);
			return -EBADMSG;
		}
		if (json_is_string(rel) && strcasecmp(json_string_value(rel), "next") == 0)
			*has_next = true;
	}
	return 0;
}

static int
cluster_entry(json_t *c, size_t i, struct atlas_cluster *out, char *err, size_t errlen)
{
	char where[48];
	int r;

	snprintf(where, sizeof(where), "results[%zu]", i);
	if (!json_is_object(c)) {
		set_err(err, errlen, "%s is not an object", where);
		return -EBADMSG;
	}
	for (size_t k = 0; k < ARRAY_SIZE(cluster_fields); k++) {
		r = get_field(c, where, &cluster_fields[k], out, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int
atlas_parse_clusters(const char *body, size_t len, struct atlas_clusters *out, char *err,
		     size_t errlen)
{
	json_t *root, *results, *total;
	int r = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	results = json_object_get(root, "results");
	total = json_object_get(root, "totalCount");
	if (results == NULL || json_is_null(results)) {
		set_err(err, errlen, "no results array in the answer");
		r = -EBADMSG;
	} else if (!json_is_array(results)) {
		set_err(err, errlen, "results is not an array");
		r = -EBADMSG;
	}
	if (r == 0 && total != NULL && !json_is_null(total)) {
		if (!json_is_integer(total)) {
			set_err(err, errlen, "totalCount is not an integer");
			r = -EBADMSG;
		} else if (json_integer_value(total) < 0) {
			set_err(err, errlen, "totalCount is negative");
			r = -EBADMSG;
		} else {
			out->has_total_count = true;
			out->total_count = json_integer_value(total);
		}
	}
	if (r == 0)
		r = page_links(json_object_get(root, "links"), &out->has_next_link, err, errlen);
	if (r == 0 && json_array_size(results) > 0) {
		out->v = calloc(json_array_size(results), sizeof(*out->v));
		if (out->v == NULL) {
			set_err(err, errlen, "out of memory");
			r = -ENOMEM;
		}
		for (size_t i = 0; r == 0 && i < json_array_size(results); i++) {
			out->n = i + 1;
			r = cluster_entry(json_array_get(results, i), i, &out->v[i], err, errlen);
		}
	}
	json_decref(root);
	if (r < 0)
		atlas_clusters_free(out);
	return r;
}

bool
atlas_clusters_more(const struct atlas_clusters *page, unsigned page_num, unsigned items_per_page)
{
	if (page == NULL || page->n == 0)
		return false;
	if (page->has_next_link)
		return true;
	if (items_per_page == 0 || page->n < items_per_page)
		return false;
	if (page->has_total_count &&
	    (uint64_t)page_num * items_per_page >= (uint64_t)page->total_count)
		return false;
	return true;
}

int
atlas_clusters_merge(struct atlas_clusters *all, struct atlas_clusters *page)
{
	struct atlas_cluster *v;

	if (all == NULL || page == NULL || all == page)
		return -EINVAL;
	if (page->n > 0) {
		if (all->n > SIZE_MAX / sizeof(*v) - page->n)
			return -ENOMEM;
		v = realloc(all->v, (all->n + page->n) * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		memcpy(v + all->n, page->v, page->n * sizeof(*v));
		all->v = v;
		all->n += page->n;
	}
	all->has_next_link = page->has_next_link;
	all->has_total_count = page->has_total_count;
	all->total_count = page->total_count;
	free(page->v);
	memset(page, 0, sizeof(*page));
	return 0;
}

char *
atlas_clusters_url(const char *base_url, const char *group_id, unsigned page_num,
		   unsigned items_per_page)
{
	char path[160];

	if (!atlas_group_id_valid(group_id) || page_num < 1 || page_num > INT32_MAX ||
	    items_per_page < 1 || items_per_page > ATLAS_CLUSTERS_MAX_PER_PAGE) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/atlas/v2/groups/%s/clusters?pageNum=%u&itemsPerPage=%u",
		 group_id, page_num, items_per_page);
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
		strv_free(a->feature_types, a->n_feature_types);
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
cpa_feature_usages(json_t *fu, const char *where, struct atlas_cpa_azure *out, char *err,
		   size_t errlen)
{
	json_t *u, *t;
	size_t i;

	if (fu == NULL || json_is_null(fu))
		return 0;
	if (!json_is_array(fu)) {
		set_err(err, errlen, "%s.featureUsages is not an array", where);
		return -EBADMSG;
	}
	out->has_feature_usages = true;
	json_array_foreach(fu, i, u) {
		if (!json_is_object(u)) {
			set_err(err, errlen, "%s.featureUsages[%zu] is not an object", where, i);
			return -EBADMSG;
		}
		t = json_object_get(u, "featureType");
		if (t != NULL && !json_is_null(t) && !json_is_string(t)) {
			set_err(err, errlen, "%s.featureUsages[%zu].featureType is not a string",
				where, i);
			return -EBADMSG;
		}
	}
	if (json_array_size(fu) == 0)
		return 0;
	out->feature_types = calloc(json_array_size(fu), sizeof(*out->feature_types));
	if (out->feature_types == NULL)
		goto enomem;
	json_array_foreach(fu, i, u) {
		t = json_object_get(u, "featureType");
		if (!json_is_string(t))
			continue;
		out->feature_types[out->n_feature_types] = strdup(json_string_value(t));
		if (out->feature_types[out->n_feature_types] == NULL)
			goto enomem;
		out->n_feature_types++;
	}
	return 0;
enomem:
	set_err(err, errlen, "out of memory");
	return -ENOMEM;
}

/* root[key]: an array of objects, each read with `fields` into an element
 * of elem_size bytes; *n counts the elements to free even on error. */
static int
cpa_list(json_t *root, const char *key, const struct field *fields, size_t n_fields,
	 size_t elem_size, void **out, size_t *n, char *err, size_t errlen)
{
	json_t *a = json_object_get(root, key), *item;
	char where[64];
	char *v;
	size_t i;
	int r;

	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a)) {
		set_err(err, errlen, "%s is not an array", key);
		return -EBADMSG;
	}
	if (json_array_size(a) == 0)
		return 0;
	v = calloc(json_array_size(a), elem_size);
	if (v == NULL) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	*out = v;
	json_array_foreach(a, i, item) {
		void *dst = v + i * elem_size;

		*n = i + 1;
		snprintf(where, sizeof(where), "%s[%zu]", key, i);
		if (!json_is_object(item)) {
			set_err(err, errlen, "%s is not an object", where);
			return -EBADMSG;
		}
		for (size_t k = 0; k < n_fields; k++) {
			r = get_field(item, where, &fields[k], dst, err, errlen);
			if (r < 0)
				return r;
		}
		if (fields == cpa_azure_fields) {
			r = cpa_feature_usages(json_object_get(item, "featureUsages"), where, dst,
					       err, errlen);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int
atlas_parse_cloud_provider_access(const char *body, size_t len, struct atlas_cpa *out, char *err,
				  size_t errlen)
{
	void *azure = NULL, *aws = NULL, *gcp = NULL;
	json_t *root;
	int r;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load_object(body, len, JSON_REJECT_DUPLICATES, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = cpa_list(root, "azureServicePrincipals", cpa_azure_fields,
		     ARRAY_SIZE(cpa_azure_fields), sizeof(struct atlas_cpa_azure), &azure,
		     &out->n_azure, err, errlen);
	out->azure = azure;
	if (r == 0) {
		r = cpa_list(root, "awsIamRoles", cpa_aws_fields, ARRAY_SIZE(cpa_aws_fields),
			     sizeof(struct atlas_cpa_aws), &aws, &out->n_aws, err, errlen);
		out->aws = aws;
	}
	if (r == 0) {
		r = cpa_list(root, "gcpServiceAccounts", cpa_gcp_fields,
			     ARRAY_SIZE(cpa_gcp_fields), sizeof(struct atlas_cpa_gcp), &gcp,
			     &out->n_gcp, err, errlen);
		out->gcp = gcp;
	}
	json_decref(root);
	if (r < 0)
		atlas_cpa_free(out);
	return r;
}

char *
atlas_cpa_url(const char *base_url, const char *group_id)
{
	char path[96];

	if (!atlas_group_id_valid(group_id)) {
		errno = EINVAL;
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/atlas/v2/groups/%s/cloudProviderAccess", group_id);
	return join_url(base_url, path);
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
