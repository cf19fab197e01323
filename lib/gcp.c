/* SPDX-License-Identifier: ISC */
/*
 * gcp — see gcp.h. Cloud KMS REST v1 answers (CryptoKeyVersion,
 * CryptoKey), Google's error bodies, OAuth 2.0 token answers,
 * service-account key files, the keyVersionResourceID grammar and the
 * RS256 assertion. Facts in docs/reference/providers.md.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "gcp.h"
#include "json.h"
#include "util.h"

/* ---- states ----------------------------------------------------------- */

static const struct {
	const char *name;
	enum gcp_state state;
} states[] = {
	{"CRYPTO_KEY_VERSION_STATE_UNSPECIFIED", GCP_STATE_UNSPECIFIED},
	{"PENDING_GENERATION", GCP_STATE_PENDING_GENERATION},
	{"ENABLED", GCP_STATE_ENABLED},
	{"DISABLED", GCP_STATE_DISABLED},
	{"DESTROYED", GCP_STATE_DESTROYED},
	{"DESTROY_SCHEDULED", GCP_STATE_DESTROY_SCHEDULED},
	{"PENDING_IMPORT", GCP_STATE_PENDING_IMPORT},
	{"IMPORT_FAILED", GCP_STATE_IMPORT_FAILED},
	{"GENERATION_FAILED", GCP_STATE_GENERATION_FAILED},
	{"PENDING_EXTERNAL_DESTRUCTION", GCP_STATE_PENDING_EXTERNAL_DESTRUCTION},
	{"EXTERNAL_DESTRUCTION_FAILED", GCP_STATE_EXTERNAL_DESTRUCTION_FAILED},
};

enum gcp_state
gcp_state_from_name(const char *s)
{
	if (s == NULL)
		return GCP_STATE_UNSPECIFIED;
	for (size_t i = 0; i < ARRAY_SIZE(states); i++)
		if (strcmp(s, states[i].name) == 0)
			return states[i].state;
	return GCP_STATE_OTHER;
}

/* ---- CryptoKeyVersion ------------------------------------------------- */

void
gcp_key_version_free(struct gcp_key_version *v)
{
	if (v == NULL)
		return;
	free(v->name);
	free(v->state_raw);
	free(v->algorithm);
	free(v->protection_level);
	free(v->import_failure_reason);
	memset(v, 0, sizeof(*v));
}

static int
version_fields(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct gcp_key_version *v = dst;
	int r;

	if ((r = kj_get_str(o, "name", where, &v->name, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "state", where, &v->state_raw, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "algorithm", where, &v->algorithm, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "protectionLevel", where, &v->protection_level, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "importFailureReason", where, &v->import_failure_reason, err,
			    errlen)) < 0 ||
	    (r = kj_get_iso(o, "createTime", where, &v->has_create, &v->create_time, err,
			    errlen)) < 0 ||
	    (r = kj_get_iso(o, "destroyTime", where, &v->has_destroy, &v->destroy_time, err,
			    errlen)) < 0 ||
	    (r = kj_get_iso(o, "destroyEventTime", where, &v->has_destroy_event,
			    &v->destroy_event_time, err, errlen)) < 0 ||
	    (r = kj_get_iso(o, "generateTime", where, &v->has_generate, &v->generate_time, err,
			    errlen)) < 0)
		return r;
	if (v->import_failure_reason)
		util_sanitize(v->import_failure_reason);
	v->state = gcp_state_from_name(v->state_raw);
	return 0;
}

int
gcp_parse_key_version(const char *body, size_t len, struct gcp_key_version *out, char *err,
		      size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), version_fields,
			 err, errlen);

	if (r < 0 && r != -EINVAL)
		gcp_key_version_free(out);
	return r;
}

/* ---- CryptoKey ---------------------------------------------------------- */

void
gcp_crypto_key_free(struct gcp_crypto_key *k)
{
	if (k == NULL)
		return;
	free(k->name);
	free(k->purpose);
	gcp_key_version_free(&k->primary);
	memset(k, 0, sizeof(*k));
}

int
gcp_parse_duration(const char *s, int64_t *seconds)
{
	int64_t v = 0;
	const char *p = s;
	size_t frac = 0;

	if (s == NULL || seconds == NULL || *p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (INT64_MAX - (*p - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			frac++;
		if (frac == 0 || frac > 9)
			return -EINVAL;
	}
	if (p[0] != 's' || p[1] != '\0')
		return -EINVAL;
	*seconds = v;
	return 0;
}

static int
key_fields(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct gcp_crypto_key *k = dst;
	const char *rot = NULL;
	json_t *primary = NULL;
	int r;

	if ((r = kj_get_str(o, "name", where, &k->name, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "purpose", where, &k->purpose, err, errlen)) < 0 ||
	    (r = kj_get_cstr(o, "rotationPeriod", where, &rot, err, errlen)) < 0 ||
	    (r = kj_get_iso(o, "nextRotationTime", where, &k->has_next_rotation,
			    &k->next_rotation_time, err, errlen)) < 0 ||
	    (r = kj_get_iso(o, "createTime", where, &k->has_create, &k->create_time, err,
			    errlen)) < 0 ||
	    (r = kj_get_object(o, "primary", where, &primary, err, errlen)) < 0)
		return r;
	if (rot != NULL) {
		if (gcp_parse_duration(rot, &k->rotation_period) < 0) {
			kj_seterr(err, errlen, "%srotationPeriod is not a duration: \"%.40s\"", where,
				  rot);
			return -EBADMSG;
		}
		k->has_rotation_period = true;
	}
	if (primary != NULL) {
		k->has_primary = true;
		return version_fields(primary, "primary.", &k->primary, err, errlen);
	}
	return 0;
}

int
gcp_parse_crypto_key(const char *body, size_t len, struct gcp_crypto_key *out, char *err,
		     size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), key_fields, err,
			 errlen);

	if (r < 0 && r != -EINVAL)
		gcp_crypto_key_free(out);
	return r;
}

/* ---- errors --------------------------------------------------------------- */

/* "Permission 'cloudkms.cryptoKeyVersions.get' denied on resource ..." */
static void
find_permission(const char *msg, char *out, size_t outlen)
{
	const char *p = msg ? strstr(msg, "cloudkms.") : NULL;
	size_t n = 0;

	if (p == NULL)
		return;
	while (p[n] && (p[n] == '.' || (p[n] >= 'a' && p[n] <= 'z') ||
			(p[n] >= 'A' && p[n] <= 'Z')))
		n++;
	while (n > 0 && p[n - 1] == '.')
		n--;
	if (n < outlen)
		snprintf(out, outlen, "%.*s", (int)n, p);
}

int
gcp_parse_error(const char *body, size_t len, struct gcp_error *out)
{
	json_t *root, *e;
	const char *status = NULL, *msg = NULL;
	int r;

	r = kj_begin(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), &root, NULL, 0);
	if (r < 0)
		return r;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		json_t *code = json_object_get(e, "code");

		status = kj_str(e, "status");
		msg = kj_str(e, "message");
		if (json_is_integer(code) && json_integer_value(code) > 0 &&
		    json_integer_value(code) < 1000)
			out->code = (int)json_integer_value(code);
	} else if (json_is_string(e)) {
		status = json_string_value(e);
		msg = kj_str(root, "error_description");
		out->oauth = true;
	}
	util_copy_sanitized(out->status, sizeof(out->status), status);
	util_copy_sanitized(out->message, sizeof(out->message), msg);
	find_permission(out->message, out->permission, sizeof(out->permission));
	json_decref(root);
	if (out->status[0] == '\0' && out->message[0] == '\0') {
		memset(out, 0, sizeof(*out));
		return -EBADMSG;
	}
	return 0;
}

/* ---- tokens ----------------------------------------------------------------- */

void
gcp_token_free(struct gcp_token *tok)
{
	if (tok == NULL)
		return;
	util_free_secret(tok->access_token);
	memset(tok, 0, sizeof(*tok));
}

int
gcp_parse_token(const char *body, size_t len, struct gcp_token *tok, struct gcp_error *terr,
		char *err, size_t errlen)
{
	json_t *root, *at, *e;
	bool has_in = false;
	int r;

	if (terr != NULL)
		memset(terr, 0, sizeof(*terr));
	r = kj_begin(body, len, JSON_REJECT_DUPLICATES, tok, sizeof(*tok), &root, err, errlen);
	if (r < 0)
		return r;
	at = kj_field(root, "access_token");
	e = kj_field(root, "error");
	if (e != NULL) {
		struct gcp_error tmp = {0};

		/* both shapes: OAuth's string and the API's object */
		if (json_is_string(e)) {
			tmp.oauth = true;
			util_copy_sanitized(tmp.status, sizeof(tmp.status), json_string_value(e));
			util_copy_sanitized(tmp.message, sizeof(tmp.message),
					    kj_str(root, "error_description"));
		} else if (json_is_object(e)) {
			util_copy_sanitized(tmp.status, sizeof(tmp.status), kj_str(e, "status"));
			util_copy_sanitized(tmp.message, sizeof(tmp.message), kj_str(e, "message"));
		}
		kj_seterr(err, errlen, "%s%s%s", tmp.status[0] ? tmp.status : "error",
			  tmp.message[0] ? ": " : "", tmp.message);
		if (terr != NULL)
			*terr = tmp;
		r = -EACCES;
	} else if (kj_bearer_token(root, err, errlen) == NULL) {
		r = -EBADMSG;
	}
	if (r == 0)
		r = kj_get_int(root, "expires_in", "", &has_in, &tok->expires_in, err, errlen);
	if (r == 0 && (!has_in || tok->expires_in <= 0)) {
		kj_seterr(err, errlen, "expires_in is missing or not a positive number of seconds");
		r = -EBADMSG;
	}
	if (r == 0 && !(tok->access_token = strdup(json_string_value(at))))
		r = kj_enomem(err, errlen);
	kj_wipe(at);
	json_decref(root);
	if (r < 0)
		gcp_token_free(tok);
	return r;
}

enum gcp_token_cause
gcp_token_classify(const struct gcp_error *e)
{
	if (e == NULL)
		return GCPTOK_OTHER;
	if (strcmp(e->status, "invalid_scope") == 0)
		return GCPTOK_SCOPE;
	if (strcmp(e->status, "invalid_grant") != 0)
		return GCPTOK_OTHER;
	if (strcasestr(e->message, "signature"))
		return GCPTOK_BAD_SIGNATURE;
	if (strcasestr(e->message, "timeframe") || strcasestr(e->message, "iat") ||
	    strcasestr(e->message, "exp"))
		return GCPTOK_CLOCK;
	if (strcasestr(e->message, "account") || strcasestr(e->message, "iss") ||
	    strcasestr(e->message, "disabled"))
		return GCPTOK_ACCOUNT;
	return GCPTOK_OTHER;
}

const char *
gcp_token_advice(enum gcp_token_cause c)
{
	switch (c) {
	case GCPTOK_BAD_SIGNATURE:
		return "Google does not accept the service-account key's signature: the key was "
		       "deleted or disabled, or client_email names another account; create a new "
		       "key (gcloud iam service-accounts keys create) and put its JSON in "
		       "gcp.identity.key";
	case GCPTOK_CLOCK:
		return "Google refused the assertion's iat/exp: this host's clock is off; "
		       "synchronise it (NTP)";
	case GCPTOK_ACCOUNT:
		return "Google does not know or has disabled the service account of "
		       "gcp.identity.key (client_email); re-enable it or use a key of an "
		       "existing account";
	case GCPTOK_SCOPE:
		return "Google refused the cloudkms scope for this identity";
	case GCPTOK_METADATA:
		return "the metadata server gave no token: attach a service account to the "
		       "instance (or the GKE workload) with the cloudkms or cloud-platform scope";
	case GCPTOK_OTHER:
		break;
	}
	return "check gcp.identity in kmswatch.yaml";
}

/* ---- service-account keys ------------------------------------------------- */

void
gcp_sa_key_free(struct gcp_sa_key *k)
{
	if (k == NULL)
		return;
	free(k->client_email);
	util_free_secret(k->private_key);
	free(k->private_key_id);
	free(k->token_uri);
	free(k->project_id);
	memset(k, 0, sizeof(*k));
}

static int
sa_fields(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct gcp_sa_key *k = dst;
	const char *type = NULL;
	json_t *pk = kj_field(o, "private_key");
	int r;

	if ((r = kj_get_cstr(o, "type", where, &type, err, errlen)) < 0)
		return r;
	if (type == NULL || strcmp(type, "service_account") != 0) {
		kj_seterr(err, errlen, "type is %s%.40s%s, not \"service_account\"",
			  type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
		return -EBADMSG;
	}
	if (pk != NULL && !json_is_string(pk)) {
		kj_seterr(err, errlen, "private_key is not a string");
		return -EBADMSG;
	}
	if ((r = kj_get_str(o, "client_email", where, &k->client_email, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "private_key_id", where, &k->private_key_id, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "token_uri", where, &k->token_uri, err, errlen)) < 0 ||
	    (r = kj_get_str(o, "project_id", where, &k->project_id, err, errlen)) < 0)
		return r;
	if (k->client_email == NULL || strchr(k->client_email, '@') == NULL ||
	    !kj_header_safe(k->client_email)) {
		kj_seterr(err, errlen, "client_email is missing or not an e-mail address");
		return -EBADMSG;
	}
	if (k->private_key_id && !kj_header_safe(k->private_key_id)) {
		kj_seterr(err, errlen, "private_key_id has characters outside visible ASCII");
		return -EBADMSG;
	}
	if (pk == NULL || strstr(json_string_value(pk), "-----BEGIN ") == NULL) {
		kj_seterr(err, errlen, "private_key is missing or not PEM");
		return -EBADMSG;
	}
	if (k->token_uri && (strncmp(k->token_uri, "https://", 8) != 0 ||
			     !kj_header_safe(k->token_uri))) {
		kj_seterr(err, errlen, "token_uri is not an https:// URL");
		return -EBADMSG;
	}
	if (!k->token_uri && !(k->token_uri = strdup(GCP_DEFAULT_TOKEN_URI)))
		return kj_enomem(err, errlen);
	if (!(k->private_key = strdup(json_string_value(pk))))
		return kj_enomem(err, errlen);
	return 0;
}

int
gcp_parse_sa_key(const char *json, size_t len, struct gcp_sa_key *out, char *err, size_t errlen)
{
	json_t *root;
	int r;

	r = kj_begin(json, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), &root, err, errlen);
	if (r < 0) {
		/* jansson's "near '...'" could quote key bytes */
		if (r == -EBADMSG)
			kj_seterr(err, errlen, "not a JSON object");
		return r;
	}
	r = sa_fields(root, "", out, err, errlen);
	kj_wipe(kj_field(root, "private_key"));
	json_decref(root);
	if (r < 0)
		gcp_sa_key_free(out);
	return r;
}

/* ---- the assertion ---------------------------------------------------------- */

static char *
b64url_dup(const void *in, size_t n)
{
	char *s = malloc(CRYPTO_BASE64_LEN(n));

	if (s)
		crypto_base64url(in, n, s);
	return s;
}

int
gcp_jwt_build(const struct gcp_sa_key *k, const char *scope, const char *aud, time_t now,
	      int64_t lifetime, char **out, char *err, size_t errlen)
{
	json_t *hdr = NULL, *claims = NULL;
	char *h = NULL, *c = NULL, *hb = NULL, *cb = NULL, *input = NULL, *sb = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	const char *why = "";
	int r = -ENOMEM;

	kj_clear_err(err, errlen);
	*out = NULL;
	if (k == NULL || k->client_email == NULL || k->private_key == NULL || scope == NULL ||
	    aud == NULL) {
		kj_seterr(err, errlen, "incomplete service-account key");
		return -EINVAL;
	}
	if (lifetime <= 0 || lifetime > GCP_JWT_LIFETIME)
		lifetime = GCP_JWT_LIFETIME;
	hdr = k->private_key_id ? json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT", "kid",
					    k->private_key_id)
				: json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
	claims = json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", k->client_email, "scope", scope,
			   "aud", aud, "iat", (json_int_t)now, "exp", (json_int_t)(now + lifetime));
	if (!hdr || !claims || !(h = json_dumps(hdr, JSON_COMPACT)) ||
	    !(c = json_dumps(claims, JSON_COMPACT)) || !(hb = b64url_dup(h, strlen(h))) ||
	    !(cb = b64url_dup(c, strlen(c))) || !(input = util_asprintf("%s.%s", hb, cb)))
		goto out;
	r = crypto_rs256_sign(k->private_key, input, strlen(input), &sig, &siglen, &why);
	if (r < 0) {
		kj_seterr(err, errlen, "%s", r == -EINVAL ? why : "out of memory");
		goto out;
	}
	r = -ENOMEM;
	if (!(sb = b64url_dup(sig, siglen)) || !(*out = util_asprintf("%s.%s", input, sb)))
		goto out;
	r = 0;
out:
	if (r == -ENOMEM)
		kj_enomem(err, errlen);
	json_decref(hdr);
	json_decref(claims);
	free(h);
	free(c);
	free(hb);
	free(cb);
	free(input);
	free(sig);
	free(sb);
	return r;
}

/* ---- keyVersionResourceID ---------------------------------------------------- */

static bool
in_set(char ch, const char *set)
{
	return ch != '\0' && strchr(set, ch) != NULL;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGIT "0123456789"

/* One segment "lit/VALUE" at *s; VALUE copied into buf. */
static int
segment(const char **s, const char *lit, const char *set, size_t max, char *buf, size_t buflen,
	const char *what, char *err, size_t errlen)
{
	size_t ll = strlen(lit), n = 0;
	const char *p = *s;

	if (strncmp(p, lit, ll) != 0 || p[ll] != '/') {
		kj_seterr(err, errlen, "expected \"%s/\" where it has \"%.24s\"", lit, p);
		return -EINVAL;
	}
	p += ll + 1;
	while (in_set(p[n], set))
		n++;
	if (n == 0 || n > max || (p[n] != '/' && p[n] != '\0')) {
		if (n > max)
			kj_seterr(err, errlen, "the %s is longer than %zu characters", what, max);
		else if (n == 0)
			kj_seterr(err, errlen, "the %s is empty or starts with a character it may "
					       "not hold", what);
		else
			kj_seterr(err, errlen, "the %s has a character it may not hold (0x%02x)",
				  what, (unsigned)(unsigned char)p[n]);
		return -EINVAL;
	}
	snprintf(buf, buflen, "%.*s", (int)n, p);
	*s = p + n + (p[n] == '/');
	return 0;
}

int
gcp_parse_version_id(const char *s, struct gcp_version_id *out, char *err, size_t errlen)
{
	const char *p = s;
	struct gcp_version_id v;

	kj_clear_err(err, errlen);
	memset(&v, 0, sizeof(v));
	if (out)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL) {
		kj_seterr(err, errlen, "no keyVersionResourceID");
		return -EINVAL;
	}
	if (segment(&p, "projects", LOWER DIGIT ".:-", 100, v.project, sizeof(v.project),
		    "project", err, errlen) < 0 ||
	    segment(&p, "locations", LOWER DIGIT "-", 63, v.location, sizeof(v.location),
		    "location", err, errlen) < 0 ||
	    segment(&p, "keyRings", LOWER UPPER DIGIT "_-", 63, v.key_ring, sizeof(v.key_ring),
		    "key ring", err, errlen) < 0 ||
	    segment(&p, "cryptoKeys", LOWER UPPER DIGIT "_-", 63, v.crypto_key,
		    sizeof(v.crypto_key), "key name", err, errlen) < 0 ||
	    segment(&p, "cryptoKeyVersions", DIGIT, 20, v.version, sizeof(v.version), "version",
		    err, errlen) < 0)
		return -EINVAL;
	if (*p != '\0' || p[-1] == '/') {
		kj_seterr(err, errlen, "it goes on after the version");
		return -EINVAL;
	}
	if (!in_set(v.project[0], LOWER DIGIT)) {
		kj_seterr(err, errlen, "the project must start with a letter or a digit");
		return -EINVAL;
	}
	if (v.version[0] == '0') {
		kj_seterr(err, errlen, "the version is not a positive number");
		return -EINVAL;
	}
	snprintf(v.key_name, sizeof(v.key_name), "projects/%s/locations/%s/keyRings/%s/cryptoKeys/%s",
		 v.project, v.location, v.key_ring, v.crypto_key);
	snprintf(v.full, sizeof(v.full), "%s/cryptoKeyVersions/%s", v.key_name, v.version);
	*out = v;
	return 0;
}
