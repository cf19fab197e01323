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
