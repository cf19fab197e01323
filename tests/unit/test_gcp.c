/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/gcp.c and lib/gcp_checks.c: the Cloud KMS, token and
 * error parsers on real-shaped and malformed answers, service-account key
 * files, the keyVersionResourceID grammar, the RS256 assertion (signed with
 * a key made here, verified with libcrypto), every key state, the key-age
 * thresholds at their edges, every gcp.access cause, and the gcp: config.
 *
 * Bodies are copied into exactly-sized heap buffers without a NUL so that
 * AddressSanitizer catches any read past `len`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "checks.h"
#include "config.h"
#include "crypto.h"
#include "gcp.h"
#include "gcp_config.h"
#include "util.h"
#include "unit_helpers.h"

#define DAY 86400
/* 2026-01-01T00:00:00Z */
#define NOW ((time_t)1767225600)
#define PIN "projects/acme-prod/locations/us-east1/keyRings/atlas/cryptoKeys/cmk/cryptoKeyVersions/3"

static const struct finding *
find(const struct findings *f, enum check_id c)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == c)
			return &f->v[i];
	return NULL;
}

static struct gcp_version_id
pin(void)
{
	struct gcp_version_id id;
	char err[128];

	assert_int_equal(gcp_parse_version_id(PIN, &id, err, sizeof(err)), 0);
	return id;
}

/* ---- parsers ------------------------------------------------------------- */

static void
test_key_version(void **state)
{
	struct gcp_key_version v;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(gcp_parse_key_version,
			       "{\"name\":\"" PIN "\",\"state\":\"DESTROY_SCHEDULED\","
			       "\"createTime\":\"2025-10-01T12:00:00.123456789Z\","
			       "\"destroyTime\":\"2026-01-05T00:00:00.5Z\","
			       "\"algorithm\":\"GOOGLE_SYMMETRIC_ENCRYPTION\","
			       "\"protectionLevel\":\"SOFTWARE\",\"extra\":[1,2]}",
			       &v, err),
			 0);
	assert_string_equal(v.name, PIN);
	assert_int_equal(v.state, GCP_STATE_DESTROY_SCHEDULED);
	assert_true(v.has_create && v.has_destroy && !v.has_destroy_event);
	assert_int_equal(v.create_time, 1759320000);
	assert_int_equal(v.destroy_time, NOW + 4 * DAY);
	assert_string_equal(v.algorithm, "GOOGLE_SYMMETRIC_ENCRYPTION");
	assert_string_equal(v.protection_level, "SOFTWARE");
	gcp_key_version_free(&v);

	assert_int_equal(PARSE(gcp_parse_key_version, "{\"state\":\"WEIRD\"}", &v, err), 0);
	assert_int_equal(v.state, GCP_STATE_OTHER);
	assert_string_equal(v.state_raw, "WEIRD");
	gcp_key_version_free(&v);
	assert_int_equal(PARSE(gcp_parse_key_version, "{}", &v, err), 0);
	assert_int_equal(v.state, GCP_STATE_UNSPECIFIED);
	gcp_key_version_free(&v);

	assert_int_equal(PARSE(gcp_parse_key_version, "{\"state\":3}", &v, err), -EBADMSG);
	assert_non_null(strstr(err, "state"));
	assert_int_equal(PARSE(gcp_parse_key_version, "{\"createTime\":\"yesterday\"}", &v, err),
			 -EBADMSG);
	assert_int_equal(PARSE(gcp_parse_key_version, "{\"state\":\"A\",\"state\":\"B\"}", &v,
			       err),
			 -EBADMSG);
	assert_int_equal(PARSE(gcp_parse_key_version, "[1]", &v, err), -EBADMSG);
	assert_int_equal(PARSE(gcp_parse_key_version, "{\"name\":", &v, err), -EBADMSG);
	assert_int_equal(PARSE(gcp_parse_key_version, "", &v, err), -EBADMSG);

	assert_int_equal(gcp_state_from_name("ENABLED"), GCP_STATE_ENABLED);
	assert_int_equal(gcp_state_from_name("enabled"), GCP_STATE_OTHER);
	assert_int_equal(gcp_state_from_name("IMPORT_FAILED"), GCP_STATE_IMPORT_FAILED);
	assert_int_equal(gcp_state_from_name("PENDING_IMPORT"), GCP_STATE_PENDING_IMPORT);
}

static void
test_crypto_key(void **state)
{
	struct gcp_crypto_key k;
	char err[256];
	int64_t s;

	(void)state;
	assert_int_equal(PARSE(gcp_parse_crypto_key,
			       "{\"name\":\"projects/p/locations/l/keyRings/r/cryptoKeys/k\","
			       "\"primary\":{\"name\":\"projects/p/locations/l/keyRings/r/"
			       "cryptoKeys/k/cryptoKeyVersions/7\",\"state\":\"ENABLED\"},"
			       "\"purpose\":\"ENCRYPT_DECRYPT\",\"rotationPeriod\":\"7776000s\","
			       "\"nextRotationTime\":\"2026-02-01T00:00:00Z\","
			       "\"createTime\":\"2024-01-01T00:00:00.000001Z\"}",
			       &k, err),
			 0);
	assert_true(k.has_primary && k.has_rotation_period && k.has_next_rotation);
	assert_int_equal(k.rotation_period, 90 * DAY);
	assert_int_equal(k.primary.state, GCP_STATE_ENABLED);
	assert_string_equal(k.purpose, "ENCRYPT_DECRYPT");
	assert_int_equal(k.next_rotation_time, NOW + 31 * DAY);
	gcp_crypto_key_free(&k);

	assert_int_equal(PARSE(gcp_parse_crypto_key, "{\"rotationPeriod\":\"90d\"}", &k, err),
			 -EBADMSG);
	assert_non_null(strstr(err, "rotationPeriod"));
	assert_int_equal(PARSE(gcp_parse_crypto_key, "{\"primary\":{\"state\":1}}", &k, err),
			 -EBADMSG);
	assert_non_null(strstr(err, "primary.state"));
	assert_int_equal(PARSE(gcp_parse_crypto_key, "{\"primary\":\"x\"}", &k, err), -EBADMSG);

	assert_int_equal(gcp_parse_duration("7776000s", &s), 0);
	assert_int_equal(s, 7776000);
	assert_int_equal(gcp_parse_duration("3.5s", &s), 0);
	assert_int_equal(s, 3);
	assert_int_equal(gcp_parse_duration("0.000000001s", &s), 0);
	assert_int_equal(gcp_parse_duration("1.0000000001s", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("-5s", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("5", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("5.s", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("s", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("5ss", &s), -EINVAL);
	assert_int_equal(gcp_parse_duration("99999999999999999999s", &s), -ERANGE);
}

static void
test_errors(void **state)
{
	struct gcp_error e;
	size_t len;
	char *b;

	(void)state;
	b = body_of("{\"error\":{\"code\":403,\"message\":\"Permission "
		    "'cloudkms.cryptoKeyVersions.get' denied on resource 'projects/p/...' (or it "
		    "may not exist).\",\"status\":\"PERMISSION_DENIED\",\"details\":[]}}",
		    &len);
	assert_int_equal(gcp_parse_error(b, len, &e), 0);
	free(b);
	assert_int_equal(e.code, 403);
	assert_string_equal(e.status, "PERMISSION_DENIED");
	assert_string_equal(e.permission, "cloudkms.cryptoKeyVersions.get");
	assert_false(e.oauth);

	b = body_of("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
		    "Signature.\"}",
		    &len);
	assert_int_equal(gcp_parse_error(b, len, &e), 0);
	free(b);
	assert_true(e.oauth);
	assert_string_equal(e.status, "invalid_grant");
	assert_int_equal(gcp_token_classify(&e), GCPTOK_BAD_SIGNATURE);

	b = body_of("{\"error\":{\"message\":\"a\\nb\"}}", &len);
	assert_int_equal(gcp_parse_error(b, len, &e), 0);
	free(b);
	assert_string_equal(e.message, "a b");
	b = body_of("<html>502</html>", &len);
	assert_int_equal(gcp_parse_error(b, len, &e), -EBADMSG);
	free(b);
	b = body_of("{\"error\":{}}", &len);
	assert_int_equal(gcp_parse_error(b, len, &e), -EBADMSG);
	free(b);
	assert_int_equal(e.status[0], '\0');
}

static void
test_token(void **state)
{
	struct gcp_token t;
	struct gcp_error te;
	char err[256];
	size_t len;
	char *b;

	(void)state;
	b = body_of("{\"access_token\":\"ya29.c.abc\",\"expires_in\":3599,\"token_type\":"
		    "\"Bearer\"}",
		    &len);
	assert_int_equal(gcp_parse_token(b, len, &t, &te, err, sizeof(err)), 0);
	free(b);
	assert_string_equal(t.access_token, "ya29.c.abc");
	assert_int_equal(t.expires_in, 3599);
	gcp_token_free(&t);

	b = body_of("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT: Token "
		    "must be a short-lived token (60 minutes) and in a reasonable timeframe. "
		    "Check your iat and exp values in the JWT claim.\"}",
		    &len);
	assert_int_equal(gcp_parse_token(b, len, &t, &te, err, sizeof(err)), -EACCES);
	free(b);
	assert_null(t.access_token);
	assert_string_equal(te.status, "invalid_grant");
	assert_int_equal(gcp_token_classify(&te), GCPTOK_CLOCK);
	assert_non_null(strstr(err, "invalid_grant"));

	b = body_of("{\"error\":\"invalid_grant\",\"error_description\":\"Invalid grant: "
		    "account not found\"}",
		    &len);
	assert_int_equal(gcp_parse_token(b, len, &t, &te, err, sizeof(err)), -EACCES);
	free(b);
	assert_int_equal(gcp_token_classify(&te), GCPTOK_ACCOUNT);

	static const char *const bad[] = {
		"{\"expires_in\":3599}",
		"{\"access_token\":5,\"expires_in\":3599}",
		"{\"access_token\":\"a b\",\"expires_in\":3599}",
		"{\"access_token\":\"\",\"expires_in\":3599}",
		"{\"access_token\":\"x\"}",
		"{\"access_token\":\"x\",\"expires_in\":0}",
		"{\"access_token\":\"x\",\"expires_in\":\"3599\"}",
		"{\"access_token\":\"x\",\"expires_in\":3599,\"token_type\":\"MAC\"}",
		"not json",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = body_of(bad[i], &len);
		assert_int_equal(gcp_parse_token(b, len, &t, &te, err, sizeof(err)), -EBADMSG);
		free(b);
		assert_null(t.access_token);
	}
	for (int c = GCPTOK_OTHER; c <= GCPTOK_METADATA; c++)
		assert_true(strlen(gcp_token_advice((enum gcp_token_cause)c)) > 10);
}

static void
test_version_id(void **state)
{
	struct gcp_version_id id;
	char err[256];

	(void)state;
	id = pin();
	assert_string_equal(id.project, "acme-prod");
	assert_string_equal(id.location, "us-east1");
	assert_string_equal(id.key_ring, "atlas");
	assert_string_equal(id.crypto_key, "cmk");
	assert_string_equal(id.version, "3");
	assert_string_equal(id.key_name,
			    "projects/acme-prod/locations/us-east1/keyRings/atlas/cryptoKeys/cmk");
	assert_string_equal(id.full, PIN);
	assert_int_equal(gcp_parse_version_id("projects/example.com:proj/locations/global/keyRings/"
					      "My_Ring-1/cryptoKeys/K_2/cryptoKeyVersions/"
					      "12345678901234567890",
					      &id, err, sizeof(err)),
			 0);

	static const char *const bad[] = {
		"",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/0",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1/",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1a",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1?x=y",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1/../2",
		"projects/P/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/-p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/p/locations/L/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/p/locations/l/keyRings/r.x/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k%2F/cryptoKeyVersions/1",
		"projects/p/locations/l/keyRings//cryptoKeys/k/cryptoKeyVersions/1",
		"/projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/p/locations/l/keyrings/r/cryptoKeys/k/cryptoKeyVersions/1",
		"projects/p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/123456789012345678901",
		"projects/p/locations/l/keyRings/"
		"rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr/cryptoKeys/k/"
		"cryptoKeyVersions/1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(gcp_parse_version_id(bad[i], &id, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != '\0');
		assert_int_equal(id.full[0], '\0');
	}
	assert_int_equal(gcp_parse_version_id(NULL, &id, err, sizeof(err)), -EINVAL);
}

/* ---- service-account keys and the JWT ----------------------------------- */

static EVP_PKEY *test_key;
static char *test_pem;

static int
setup_key(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	(void)state;
	test_key = EVP_RSA_gen(2048);
	if (!test_key || !bio || PEM_write_bio_PrivateKey(bio, test_key, NULL, NULL, 0, NULL, NULL) != 1)
		return -1;
	n = BIO_get_mem_data(bio, &data);
	test_pem = strndup(data, (size_t)n);
	BIO_free(bio);
	return test_pem ? 0 : -1;
}

static int
teardown_key(void **state)
{
	(void)state;
	EVP_PKEY_free(test_key);
	util_free_secret(test_pem);
	return 0;
}

/* The key file as gcloud writes it, with test_pem inside. */
static char *
key_json(const char *type, const char *email, const char *pem)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "project_id",
			      "acme-prod", "private_key_id", "0123456789abcdef", "private_key", pem,
			      "client_email", email, "token_uri", GCP_DEFAULT_TOKEN_URI);
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

static void
test_sa_key(void **state)
{
	struct gcp_sa_key k;
	char err[256], *j;

	(void)state;
	j = key_json("service_account", "reader@acme-prod.iam.gserviceaccount.com", test_pem);
	assert_int_equal(gcp_parse_sa_key(j, strlen(j), &k, err, sizeof(err)), 0);
	assert_string_equal(k.client_email, "reader@acme-prod.iam.gserviceaccount.com");
	assert_string_equal(k.private_key, test_pem);
	assert_string_equal(k.private_key_id, "0123456789abcdef");
	assert_string_equal(k.token_uri, GCP_DEFAULT_TOKEN_URI);
	gcp_sa_key_free(&k);
	free(j);

	j = key_json("authorized_user", "a@b", test_pem);
	assert_int_equal(gcp_parse_sa_key(j, strlen(j), &k, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "authorized_user"));
	free(j);
	j = key_json("service_account", "no-at-sign", test_pem);
	assert_int_equal(gcp_parse_sa_key(j, strlen(j), &k, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "client_email"));
	free(j);
	j = key_json("service_account", "a@b", "not a pem");
	assert_int_equal(gcp_parse_sa_key(j, strlen(j), &k, err, sizeof(err)), -EBADMSG);
	assert_null(strstr(err, "not a pem"));
	free(j);
	/* a broken file never quotes what it holds */
	assert_int_equal(gcp_parse_sa_key("{\"private_key\":\"SECRET", 22, &k, err, sizeof(err)),
			 -EBADMSG);
	assert_null(strstr(err, "SECRET"));
	assert_null(k.private_key);
	assert_int_equal(gcp_parse_sa_key("{\"type\":\"service_account\",\"client_email\":\"a@b\","
					  "\"private_key\":\"-----BEGIN x\",\"token_uri\":"
					  "\"http://evil\"}",
					  96, &k, err, sizeof(err)),
			 -EBADMSG);
}

/* base64url (no padding) -> bytes, through the strict standard decoder */
static int
b64url_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	char *s = calloc(1, n + 4);
	int r;

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
	while (strlen(s) % 4)
		strcat(s, "=");
	r = crypto_base64_decode(s, out, cap);
	free(s);
	return r;
}

static void
test_jwt(void **state)
{
	struct gcp_sa_key k;
	char err[256], *j, *jwt = NULL, *d1, *d2;
	unsigned char buf[1024], sig[512];
	json_t *hdr, *claims;
	int n, sl;
	EVP_MD_CTX *md;

	(void)state;
	j = key_json("service_account", "reader@acme-prod.iam.gserviceaccount.com", test_pem);
	assert_int_equal(gcp_parse_sa_key(j, strlen(j), &k, err, sizeof(err)), 0);
	free(j);
	assert_int_equal(gcp_jwt_build(&k, GCP_KMS_SCOPE, k.token_uri, NOW, 7200, &jwt, err,
				       sizeof(err)),
			 0);
	d1 = strchr(jwt, '.');
	assert_non_null(d1);
	d2 = strchr(d1 + 1, '.');
	assert_non_null(d2);
	assert_null(strchr(jwt, '=') ? strchr(jwt, '=') : strchr(jwt, '+'));

	n = b64url_decode(jwt, (size_t)(d1 - jwt), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	hdr = json_loads((char *)buf, 0, NULL);
	assert_non_null(hdr);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "JWT");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "0123456789abcdef");
	json_decref(hdr);

	n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	claims = json_loads((char *)buf, 0, NULL);
	assert_non_null(claims);
	assert_string_equal(json_string_value(json_object_get(claims, "iss")),
			    "reader@acme-prod.iam.gserviceaccount.com");
	assert_string_equal(json_string_value(json_object_get(claims, "scope")), GCP_KMS_SCOPE);
	assert_string_equal(json_string_value(json_object_get(claims, "aud")),
			    GCP_DEFAULT_TOKEN_URI);
	assert_int_equal(json_integer_value(json_object_get(claims, "iat")), NOW);
	/* capped at an hour, whatever was asked */
	assert_int_equal(json_integer_value(json_object_get(claims, "exp")), NOW + 3600);
	json_decref(claims);

	sl = b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig));
	assert_int_equal(sl, 256);
	md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, test_key), 1);
	assert_int_equal(EVP_DigestVerify(md, sig, (size_t)sl, (unsigned char *)jwt,
					  (size_t)(d2 - jwt)),
			 1);
	/* and a changed claim does not verify */
	jwt[d1 - jwt + 3] ^= 1;
	assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, test_key), 1);
	assert_int_not_equal(EVP_DigestVerify(md, sig, (size_t)sl, (unsigned char *)jwt,
					      (size_t)(d2 - jwt)),
			     1);
	EVP_MD_CTX_free(md);
	free(jwt);

	/* an unusable key: an error without key material */
	util_free_secret(k.private_key);
	k.private_key = strdup("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n");
	assert_int_equal(gcp_jwt_build(&k, GCP_KMS_SCOPE, k.token_uri, NOW, 3600, &jwt, err,
				       sizeof(err)),
			 -EINVAL);
	assert_null(jwt);
	assert_non_null(strstr(err, "PEM"));
	assert_null(strstr(err, "QUJD"));
	gcp_sa_key_free(&k);
}

static void
test_rs256_refuses_small_and_ec_keys(void **state)
{
	EVP_PKEY *small = EVP_RSA_gen(1024), *ec = EVP_EC_gen("P-256");
	BIO *bio;
	char *data, *pem;
	unsigned char *sig;
	size_t sl;
	const char *why;
	long n;
	EVP_PKEY *keys[] = {small, ec};
	const char *want[] = {"2048", "RSA"};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		assert_non_null(keys[i]);
		bio = BIO_new(BIO_s_mem());
		assert_int_equal(PEM_write_bio_PrivateKey(bio, keys[i], NULL, NULL, 0, NULL, NULL), 1);
		n = BIO_get_mem_data(bio, &data);
		pem = strndup(data, (size_t)n);
		BIO_free(bio);
		assert_int_equal(crypto_rs256_sign(pem, "x", 1, &sig, &sl, &why), -EINVAL);
		assert_null(sig);
		assert_non_null(strstr(why, want[i]));
		free(pem);
		EVP_PKEY_free(keys[i]);
	}
	char out[CRYPTO_BASE64_LEN(3)];
	crypto_base64url((const unsigned char *)"\xfb\xff", 2, out);
	assert_string_equal(out, "-_8");
}

/* ---- gcp.key_state ------------------------------------------------------- */

static struct gcp_key_version
version(enum gcp_state st, const char *raw)
{
	struct gcp_key_version v = {.state = st, .state_raw = (char *)raw};

	return v;
}

static void
test_key_state(void **state)
{
	struct gcp_version_id id = pin();
	struct findings f = {0};
	const struct finding *x;
	static const struct {
		enum gcp_state st;
		const char *raw;
		enum severity sev;
		const char *says;
	} cases[] = {
		{GCP_STATE_ENABLED, "ENABLED", SEV_OK, "enabled"},
		{GCP_STATE_DISABLED, "DISABLED", SEV_CRITICAL, "versions enable 3 --key cmk"},
		{GCP_STATE_DESTROYED, "DESTROYED", SEV_CRITICAL, "destroyed"},
		{GCP_STATE_PENDING_EXTERNAL_DESTRUCTION, "PENDING_EXTERNAL_DESTRUCTION",
		 SEV_CRITICAL, "destroyed"},
		{GCP_STATE_EXTERNAL_DESTRUCTION_FAILED, "EXTERNAL_DESTRUCTION_FAILED", SEV_CRITICAL,
		 "destroyed"},
		{GCP_STATE_PENDING_GENERATION, "PENDING_GENERATION", SEV_WARNING, "generating"},
		{GCP_STATE_PENDING_IMPORT, "PENDING_IMPORT", SEV_WARNING, "import job"},
		{GCP_STATE_IMPORT_FAILED, "IMPORT_FAILED", SEV_CRITICAL, "never become enabled"},
		{GCP_STATE_GENERATION_FAILED, "GENERATION_FAILED", SEV_CRITICAL, "no usable"},
		{GCP_STATE_OTHER, "NEW_STATE", SEV_UNKNOWN, "NEW_STATE"},
		{GCP_STATE_UNSPECIFIED, NULL, SEV_UNKNOWN, "none"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gcp_key_version v = version(cases[i].st, cases[i].raw);

		assert_int_equal(chk_gcp_key_state(&id, &v, false, NULL, NOW, &f), 0);
		assert_true(f.evaluated[CHK_GCP_KEY_STATE]);
		assert_int_equal(f.n, 1);
		x = &f.v[0];
		assert_int_equal(x->severity, cases[i].sev);
		assert_string_equal(x->subject, PIN);
		assert_int_equal(x->provider, PROV_GCP);
		if (strstr(x->summary, cases[i].says) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, x->summary, cases[i].says);
		findings_free(&f);
	}
	/* the import failure's reason is quoted */
	struct gcp_key_version v = version(GCP_STATE_IMPORT_FAILED, "IMPORT_FAILED");
	v.import_failure_reason = (char *)"wrapped key too short";
	assert_int_equal(chk_gcp_key_state(&id, &v, false, NULL, NOW, &f), 0);
	assert_non_null(strstr(f.v[0].summary, "wrapped key too short"));
	findings_free(&f);

	/* not found: critical, key_state only */
	assert_int_equal(chk_gcp_key_state(&id, NULL, true, NULL, NOW, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_CRITICAL);
	assert_non_null(strstr(f.v[0].summary, "NOT_FOUND"));
	assert_false(f.evaluated[CHK_GCP_ACCESS]);
	findings_free(&f);

	/* not read: no verdict */
	assert_int_equal(chk_gcp_key_state(&id, NULL, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_GCP_KEY_STATE]);
	assert_int_equal(f.n, 0);

	/* switched off */
	struct cfg_checks ck = cfg_default_checks;
	ck.enabled[CHK_GCP_KEY_STATE] = false;
	v = version(GCP_STATE_DISABLED, "DISABLED");
	assert_int_equal(chk_gcp_key_state(&id, &v, false, &ck, NOW, &f), 0);
	assert_int_equal(f.n, 0);
	assert_int_equal(chk_gcp_key_state(NULL, &v, false, NULL, NOW, &f), -EINVAL);
	(void)x;
}

static void
test_key_state_destroy_scheduled(void **state)
{
	struct gcp_version_id id = pin();
	struct findings f = {0};
	struct gcp_key_version v = version(GCP_STATE_DESTROY_SCHEDULED, "DESTROY_SCHEDULED");
	static const struct {
		int64_t left;
		int64_t days;
		const char *says;
	} cases[] = {
		{5 * DAY, 5, "in 5 days, at 2026-01-06T00:00:00Z"},
		{DAY, 1, "in 1 day,"},
		{DAY - 1, 0, "in less than a day"},
		{1, 0, "in less than a day"},
		{0, 0, "it was due"},
		{-1, -1, "it was due"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v.has_destroy = true;
		v.destroy_time = NOW + cases[i].left;
		assert_int_equal(chk_gcp_key_state(&id, &v, false, NULL, NOW, &f), 0);
		assert_int_equal(f.v[0].severity, SEV_CRITICAL);
		assert_true(f.v[0].has_days_left);
		assert_int_equal(f.v[0].days_left, cases[i].days);
		if (strstr(f.v[0].summary, cases[i].says) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, f.v[0].summary, cases[i].says);
		assert_non_null(strstr(f.v[0].summary, "versions restore 3"));
		findings_free(&f);
	}
	v.has_destroy = false;
	assert_int_equal(chk_gcp_key_state(&id, &v, false, NULL, NOW, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_CRITICAL);
	assert_false(f.v[0].has_days_left);
	findings_free(&f);
}

/* ---- gcp.key_age ---------------------------------------------------------- */

static void
test_key_age(void **state)
{
	struct gcp_version_id id = pin();
	struct findings f = {0};
	struct gcp_key_version v = version(GCP_STATE_ENABLED, "ENABLED");
	struct gcp_crypto_key k = {0};
	static const struct {
		int64_t age;
		enum severity sev;
	} cases[] = {
		{75 * DAY - 1, SEV_OK},      {75 * DAY, SEV_WARNING},  {90 * DAY - 1, SEV_WARNING},
		{90 * DAY, SEV_CRITICAL},    {400 * DAY, SEV_CRITICAL}, {-DAY, SEV_OK},
	};

	(void)state;
	v.has_create = true;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v.create_time = NOW - cases[i].age;
		assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, NULL, NOW, &f), 0);
		assert_true(f.evaluated[CHK_GCP_KEY_AGE]);
		assert_int_equal(f.v[0].severity, cases[i].sev);
		assert_true(f.v[0].has_age_days);
		assert_int_equal(f.v[0].age_days, cases[i].age > 0 ? cases[i].age / DAY : 0);
		assert_non_null(strstr(f.v[0].summary, "no rotation period"));
		if (cases[i].sev != SEV_OK)
			assert_non_null(strstr(f.v[0].summary, "versions create"));
		findings_free(&f);
	}
	/* with a rotation period: ok, saying when, and that Atlas pins */
	v.create_time = NOW - 200 * DAY;
	k.has_rotation_period = true;
	k.rotation_period = 90 * DAY;
	k.has_next_rotation = true;
	k.next_rotation_time = NOW + 10 * DAY;
	k.has_primary = true;
	k.primary.name = (char *)"projects/acme-prod/locations/us-east1/keyRings/atlas/cryptoKeys/"
				 "cmk/cryptoKeyVersions/5";
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, NULL, NOW, &f), 0);
	{
		const struct finding *x = find(&f, CHK_GCP_KEY_AGE);

		assert_int_equal(x->severity, SEV_OK);
		assert_non_null(strstr(x->summary, "rotates the key every 90d"));
		assert_non_null(strstr(x->summary, "next at 2026-01-11T00:00:00Z"));
		assert_non_null(strstr(x->summary, "primary is version 5"));
		assert_non_null(strstr(x->summary, "keeps using version 3"));
	}
	findings_free(&f);
	/* the primary named in a warning too */
	k.has_rotation_period = false;
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, NULL, NOW, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_CRITICAL);
	assert_non_null(strstr(f.v[0].summary, "primary is version 5"));
	findings_free(&f);
	/* the pin is the primary: nothing said about it */
	k.primary.name = (char *)PIN;
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, NULL, NOW, &f), 0);
	assert_null(strstr(f.v[0].summary, "primary"));
	findings_free(&f);

	/* no createTime: first seen, a lower bound */
	assert_int_equal(chk_gcp_key_age(&id, NULL, NOW - 80 * DAY, &k, NULL, NOW, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_WARNING);
	assert_non_null(strstr(f.v[0].summary, "at least 80 days"));
	findings_free(&f);
	/* neither, or the key not read: no verdict */
	assert_int_equal(chk_gcp_key_age(&id, NULL, 0, &k, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_GCP_KEY_AGE]);
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, NULL, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_GCP_KEY_AGE]);
	/* thresholds from the config, and the key_age switch */
	struct cfg_checks ck = cfg_default_checks;
	ck.key_age.warning = 10 * DAY;
	ck.key_age.critical = 300 * DAY;
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, &ck, NOW, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_WARNING);
	assert_non_null(strstr(f.v[0].summary, "past the 10d limit"));
	findings_free(&f);
	ck.enabled[CHK_GCP_KEY_AGE] = false;
	assert_int_equal(chk_gcp_key_age(&id, &v, 0, &k, &ck, NOW, &f), 0);
	assert_int_equal(f.n, 0);
}

/* ---- gcp.access ------------------------------------------------------------- */

static const char *
access_summary(const struct gcp_read *rd, struct findings *f)
{
	findings_free(f);
	assert_int_equal(chk_gcp_access(rd, 1, NULL, f), 0);
	assert_int_equal(f->n, 1);
	assert_string_equal(f->v[0].subject, "cloudkms");
	return f->v[0].summary;
}

static void
test_access(void **state)
{
	struct findings f = {0};
	struct gcp_error denied = {.code = 403, .status = "PERMISSION_DENIED",
				   .message = "Permission 'cloudkms.cryptoKeyVersions.get' denied",
				   .permission = "cloudkms.cryptoKeyVersions.get"};
	struct gcp_error denied_key = {.code = 403, .status = "PERMISSION_DENIED",
				       .message = "denied"};
	struct gcp_error unauth = {.code = 401, .status = "UNAUTHENTICATED",
				   .message = "Request had invalid authentication credentials."};
	struct gcp_error busy = {.code = 429, .status = "RESOURCE_EXHAUSTED", .message = "Quota"};
	struct gcp_error grant = {.status = "invalid_grant", .message = "Invalid JWT Signature.",
				  .oauth = true};
	struct gcp_read ok[2] = {{.op = GCPOP_KEY_VERSION, .resource = PIN},
				 {.op = GCPOP_CRYPTO_KEY, .resource = "k"}};
	struct gcp_read rd;
	const char *s;

	(void)state;
	assert_int_equal(chk_gcp_access(ok, 2, NULL, &f), 0);
	assert_int_equal(f.v[0].severity, SEV_OK);
	assert_int_equal(f.v[0].provider, PROV_GCP);
	findings_free(&f);
	assert_int_equal(chk_gcp_access(NULL, 0, NULL, &f), 0);
	assert_false(f.evaluated[CHK_GCP_ACCESS]);

	rd = (struct gcp_read){.op = GCPOP_KEY_VERSION, .resource = PIN, .outcome = GCP_READ_HTTP,
			       .http_status = 403, .error = &denied};
	s = access_summary(&rd, &f);
	assert_int_equal(f.v[0].severity, SEV_UNKNOWN);
	assert_non_null(strstr(s, "grant it cloudkms.cryptoKeyVersions.get"));
	rd = (struct gcp_read){.op = GCPOP_CRYPTO_KEY, .resource = "k", .outcome = GCP_READ_HTTP,
			       .http_status = 403, .error = &denied_key};
	assert_non_null(strstr(access_summary(&rd, &f), "grant it cloudkms.cryptoKeys.get"));
	rd.error = &unauth;
	rd.http_status = 401;
	assert_non_null(strstr(access_summary(&rd, &f), "rejected kmswatch's access token"));
	rd.error = &busy;
	rd.http_status = 429;
	rd.retries = 4;
	s = access_summary(&rd, &f);
	assert_non_null(strstr(s, "throttling"));
	assert_non_null(strstr(s, "after 4 retries"));
	rd.error = NULL;
	rd.http_status = 503;
	assert_non_null(strstr(access_summary(&rd, &f), "service-side"));
	rd.http_status = 400;
	assert_non_null(strstr(access_summary(&rd, &f), "refused"));

	rd = (struct gcp_read){.op = GCPOP_KEY_VERSION, .resource = PIN,
			       .outcome = GCP_READ_TRANSPORT, .detail = "SSL certificate problem"};
	s = access_summary(&rd, &f);
	assert_non_null(strstr(s, "not a key problem"));
	assert_non_null(strstr(s, "SSL certificate problem"));
	rd.outcome = GCP_READ_BAD_BODY;
	rd.detail = "state is not a string";
	assert_non_null(strstr(access_summary(&rd, &f), "malformed document"));
	rd.outcome = GCP_READ_REFUSED;
	rd.detail = "the version is not a positive number";
	s = access_summary(&rd, &f);
	assert_non_null(strstr(s, "keyVersionResourceID is malformed"));
	assert_non_null(strstr(s, "positive number"));

	rd = (struct gcp_read){.op = GCPOP_KEY_VERSION, .resource = PIN, .outcome = GCP_READ_TOKEN,
			       .http_status = 400, .token_error = &grant};
	s = access_summary(&rd, &f);
	assert_non_null(strstr(s, "invalid_grant"));
	assert_non_null(strstr(s, "create a new key"));
	rd.token_error = NULL;
	rd.http_status = 0;
	rd.detail = "Connection refused";
	assert_non_null(strstr(access_summary(&rd, &f), "gcp.endpoints.token"));
	rd.metadata = true;
	assert_non_null(strstr(access_summary(&rd, &f), "gcp.endpoints.metadata"));
	rd.http_status = 404;
	assert_non_null(strstr(access_summary(&rd, &f), "attach a service account"));

	/* two failures, one finding */
	struct gcp_read two[2] = {
		{.op = GCPOP_KEY_VERSION, .resource = PIN, .outcome = GCP_READ_HTTP,
		 .http_status = 403, .error = &denied},
		{.op = GCPOP_CRYPTO_KEY, .resource = "k", .outcome = GCP_READ_HTTP,
		 .http_status = 403, .error = &denied_key}};
	findings_free(&f);
	assert_int_equal(chk_gcp_access(two, 2, NULL, &f), 0);
	assert_int_equal(f.n, 1);
	assert_non_null(strstr(f.v[0].summary, "; "));
	findings_free(&f);
	struct cfg_checks ck = cfg_default_checks;
	ck.enabled[CHK_GCP_ACCESS] = false;
	assert_int_equal(chk_gcp_access(two, 2, &ck, &f), 0);
	assert_int_equal(f.n, 0);
}

/* ---- catalogue and config -------------------------------------------------- */

static void
test_catalogue(void **state)
{
	(void)state;
	assert_string_equal(check_name(CHK_GCP_KEY_STATE), "gcp.key_state");
	assert_string_equal(check_name(CHK_GCP_KEY_AGE), "gcp.key_age");
	assert_string_equal(check_name(CHK_GCP_ACCESS), "gcp.access");
	assert_int_equal(check_from_name("gcp.access"), CHK_GCP_ACCESS);
	assert_int_equal(strlen(check_msgid(CHK_GCP_KEY_STATE)), 32);
	assert_true(check_held_while_ear_invalid(CHK_GCP_KEY_AGE));
	assert_false(check_held_while_ear_invalid(CHK_GCP_KEY_STATE));
}

#define BASE                                                                                    \
	"atlas:\n  service_account:\n    client_id: mdb_sa_id_x\n    client_secret: {env: "   \
	"KMSW_T_SECRET}\nprojects:\n  - id: 65a1b2c3d4e5f60718293a00\n"

static int
load(const char *extra, struct config **cfg, struct cfg_diag *d)
{
	char *y = util_asprintf("%s%s", BASE, extra);
	int r;

	memset(d, 0, sizeof(*d));
	r = cfg_load_buffer(NULL, y, strlen(y), cfg, d);
	free(y);
	return r;
}

static bool
diag_has(const struct cfg_diag *d, const char *s)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->lines[i], s))
			return true;
	return false;
}

static void
test_config(void **state)
{
	struct config *cfg = NULL;
	struct cfg_diag d;
	char *j = key_json("service_account", "reader@acme-prod.iam.gserviceaccount.com", test_pem);

	(void)state;
	setenv("KMSW_T_SECRET", "s", 1);
	setenv("KMSW_T_GCP_KEY", j, 1);
	assert_int_equal(load("gcp_interval: 30m\ngcp:\n  identity:\n    type: service_account_key\n"
			      "    key: {env: KMSW_T_GCP_KEY}\n  endpoints:\n    kms: "
			      "https://127.0.0.1:8443/\n    token: https://127.0.0.1:8443/token\n"
			      "    metadata: http://169.254.169.254\n",
			      &cfg, &d),
			 0);
	assert_true(cfg_gcp(cfg)->base.configured);
	assert_int_equal(cfg_gcp(cfg)->type, GCPID_SERVICE_ACCOUNT_KEY);
	assert_string_equal(cfg_gcp(cfg)->key.value, j);
	assert_int_equal(cfg_gcp(cfg)->base.interval, 1800);
	assert_string_equal(cfg_gcp(cfg)->endpoints.kms, "https://127.0.0.1:8443");
	assert_string_equal(cfg_gcp(cfg)->endpoints.token, "https://127.0.0.1:8443/token");
	cfg_free(cfg);
	cfg_diag_free(&d);

	assert_int_equal(load("gcp:\n  identity: {type: metadata}\n", &cfg, &d), 0);
	assert_int_equal(cfg_gcp(cfg)->type, GCPID_METADATA);
	assert_int_equal(cfg_gcp(cfg)->base.interval, 3600);
	cfg_free(cfg);
	cfg_diag_free(&d);

	assert_int_equal(load("", &cfg, &d), 0);
	assert_false(cfg_gcp(cfg)->base.configured);
	cfg_free(cfg);
	cfg_diag_free(&d);

	assert_int_equal(load("gcp:\n  identity: {type: service_account_key}\n", &cfg, &d), -EINVAL);
	assert_true(diag_has(&d, "missing required key \"key\""));
	cfg_diag_free(&d);
	assert_int_equal(load("gcp:\n  identity: {type: metadata, key: {env: KMSW_T_GCP_KEY}}\n",
			      &cfg, &d),
			 -EINVAL);
	assert_true(diag_has(&d, "not used by type metadata"));
	cfg_diag_free(&d);
	assert_int_equal(load("gcp:\n  identity: {type: workload}\n", &cfg, &d), -EINVAL);
	cfg_diag_free(&d);
	assert_int_equal(load("gcp:\n  identity: {type: metadata}\n  endpoint: {}\n", &cfg, &d),
			 -EINVAL);
	assert_true(diag_has(&d, "endpoint"));
	cfg_diag_free(&d);
	assert_int_equal(load("gcp:\n  identity: {type: metadata}\n  endpoints: {kms: "
			      "http://example.com}\n",
			      &cfg, &d),
			 -EINVAL);
	cfg_diag_free(&d);

	/* a broken key file is a config problem that does not quote it */
	setenv("KMSW_T_GCP_KEY", "{\"type\":\"service_account\",\"private_key\":\"TOPSECRET\"}", 1);
	assert_int_equal(load("gcp:\n  identity: {type: service_account_key, key: {env: "
			      "KMSW_T_GCP_KEY}}\n",
			      &cfg, &d),
			 -EINVAL);
	assert_true(diag_has(&d, "not a Google service-account key"));
	for (size_t i = 0; i < d.n; i++)
		assert_null(strstr(d.lines[i], "TOPSECRET"));
	cfg_diag_free(&d);
	/* checks: gcp.* switch */
	assert_int_equal(load("checks:\n  gcp.access: {enabled: false}\n", &cfg, &d), 0);
	assert_false(cfg->checks.enabled[CHK_GCP_ACCESS]);
	assert_true(cfg->projects[0].checks.enabled[CHK_GCP_KEY_STATE]);
	cfg_free(cfg);
	cfg_diag_free(&d);
	unsetenv("KMSW_T_GCP_KEY");
	free(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_version),
		cmocka_unit_test(test_crypto_key),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_version_id),
		cmocka_unit_test(test_sa_key),
		cmocka_unit_test(test_jwt),
		cmocka_unit_test(test_rs256_refuses_small_and_ec_keys),
		cmocka_unit_test(test_key_state),
		cmocka_unit_test(test_key_state_destroy_scheduled),
		cmocka_unit_test(test_key_age),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_catalogue),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, setup_key, teardown_key);
}
