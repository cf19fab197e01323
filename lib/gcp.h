/* SPDX-License-Identifier: ISC */
/*
 * gcp — the Google Cloud side of kmswatch without I/O: parsers that turn
 * Cloud KMS, OAuth 2.0 token endpoint and metadata-server answers and
 * service-account key files into plain structs, the grammar of Atlas's
 * keyVersionResourceID, the RS256 JWT a service-account key signs, and
 * (gcp_checks.c) the pure gcp.* checks.
 *
 * Parser conventions (those of atlas.h and azure.h): every field is
 * optional, JSON null is absent, unknown fields are ignored, duplicate keys
 * and a known field of the wrong JSON type make the body invalid (-EBADMSG,
 * err names the field). Bodies need no NUL terminator. On error the out
 * struct is left empty (nothing to free); on success the caller frees it
 * with the matching _free function. Error-body text is sanitised for logs.
 */
#ifndef KMSWATCH_GCP_H
#define KMSWATCH_GCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "checks.h"

#define GCP_KMS_SCOPE "https://www.googleapis.com/auth/cloudkms"
#define GCP_DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"
#define GCP_DEFAULT_KMS "https://cloudkms.googleapis.com"
#define GCP_DEFAULT_METADATA "http://169.254.169.254"
/* Google refuses assertions that live longer than an hour */
#define GCP_JWT_LIFETIME 3600

/* ---- CryptoKeyVersion ------------------------------------------------- */

enum gcp_state {
	GCP_STATE_OTHER = 0, /* a value kmswatch does not know (kept in state_raw) */
	GCP_STATE_UNSPECIFIED,
	GCP_STATE_PENDING_GENERATION,
	GCP_STATE_ENABLED,
	GCP_STATE_DISABLED,
	GCP_STATE_DESTROYED,
	GCP_STATE_DESTROY_SCHEDULED,
	GCP_STATE_PENDING_IMPORT,
	GCP_STATE_IMPORT_FAILED,
	GCP_STATE_GENERATION_FAILED,
	GCP_STATE_PENDING_EXTERNAL_DESTRUCTION,
	GCP_STATE_EXTERNAL_DESTRUCTION_FAILED,
};
/* "ENABLED" -> GCP_STATE_ENABLED (exact, as the API spells them); NULL is
 * UNSPECIFIED; anything else OTHER. */
enum gcp_state gcp_state_from_name(const char *s);

struct gcp_key_version {
	char *name;              /* projects/.../cryptoKeyVersions/N */
	char *state_raw;         /* as sent, or NULL */
	enum gcp_state state;    /* absent: UNSPECIFIED */
	char *algorithm, *protection_level;
	bool has_create, has_destroy, has_destroy_event, has_generate;
	time_t create_time, destroy_time, destroy_event_time, generate_time;
	char *import_failure_reason; /* importFailureReason, sanitised */
};

int gcp_parse_key_version(const char *body, size_t len, struct gcp_key_version *out,
			  char *err, size_t errlen);
void gcp_key_version_free(struct gcp_key_version *v);

/* ---- CryptoKey ---------------------------------------------------------- */

struct gcp_crypto_key {
	char *name, *purpose;
	struct gcp_key_version primary; /* primary (ENCRYPT_DECRYPT keys), may be empty */
	bool has_primary;
	bool has_rotation_period, has_next_rotation, has_create;
	int64_t rotation_period; /* seconds */
	time_t next_rotation_time, create_time;
};

int gcp_parse_crypto_key(const char *body, size_t len, struct gcp_crypto_key *out, char *err,
			 size_t errlen);
void gcp_crypto_key_free(struct gcp_crypto_key *k);

/* A google.protobuf.Duration in JSON: decimal seconds with an "s" suffix,
 * up to 9 fractional digits ("7776000s", "3.5s"); fractions are dropped.
 * -EINVAL for anything else (signs included), -ERANGE on overflow. */
int gcp_parse_duration(const char *s, int64_t *seconds);

/* ---- errors --------------------------------------------------------------- */

/* Either Google's API shape {"error":{"code":403,"status":
 * "PERMISSION_DENIED","message":...,"details":[...]}} or OAuth's
 * {"error":"invalid_grant","error_description":...} (oauth set; the
 * error string then goes in status). */
struct gcp_error {
	int code;             /* error.code, 0 when absent */
	char status[64];      /* "PERMISSION_DENIED", "invalid_grant" */
	char message[512];    /* sanitised, truncated */
	char permission[96];  /* a cloudkms.* permission the message names, or "" */
	bool oauth;
};

/* Best effort, as azure_parse_error: 0 when a status or a message was
 * found, -EBADMSG otherwise (out then empty). */
int gcp_parse_error(const char *body, size_t len, struct gcp_error *out);

/* ---- tokens ----------------------------------------------------------------- */

struct gcp_token {
	char *access_token; /* a bearer credential: util_free_secret */
	int64_t expires_in; /* seconds, > 0 */
};

/* The token endpoint's and the metadata server's answer {"access_token",
 * "expires_in", "token_type":"Bearer"}. -EACCES for an OAuth error body,
 * with *terr filled (may be NULL); -EBADMSG with a reason in err. The
 * answer's copy of the token is wiped before returning. */
int gcp_parse_token(const char *body, size_t len, struct gcp_token *tok,
		    struct gcp_error *terr, char *err, size_t errlen);
void gcp_token_free(struct gcp_token *tok);

enum gcp_token_cause {
	GCPTOK_OTHER = 0,
	GCPTOK_BAD_SIGNATURE,  /* invalid_grant "Invalid JWT Signature." */
	GCPTOK_CLOCK,          /* invalid_grant about iat/exp: the clock */
	GCPTOK_ACCOUNT,        /* invalid_grant: no such account / disabled */
	GCPTOK_SCOPE,          /* invalid_scope */
	GCPTOK_METADATA,       /* the metadata server refused or has no account */
};
enum gcp_token_cause gcp_token_classify(const struct gcp_error *e);
/* What kmswatch's operator should fix, one sentence without a period. */
const char *gcp_token_advice(enum gcp_token_cause c);

/* ---- service-account key files ------------------------------------------ */

struct gcp_sa_key {
	char *client_email;
	char *private_key;    /* PEM, a secret: wiped by gcp_sa_key_free */
	char *private_key_id;
	char *token_uri;      /* GCP_DEFAULT_TOKEN_URI when absent */
	char *project_id;
};

/* The JSON key file of `gcloud iam service-accounts keys create`: type
 * must be "service_account", client_email and private_key present,
 * token_uri https. Errors never quote the private key (-EBADMSG, -ENOMEM).
 * The JSON's copies of the secret are wiped. */
int gcp_parse_sa_key(const char *json, size_t len, struct gcp_sa_key *out, char *err,
		     size_t errlen);
void gcp_sa_key_free(struct gcp_sa_key *k);

/* The signed assertion: header {"alg":"RS256","typ":"JWT","kid":
 * private_key_id}, claims {"iss": client_email, "scope", "aud": aud,
 * "iat": now, "exp": now + lifetime} (lifetime capped at
 * GCP_JWT_LIFETIME). *out is malloc'ed. 0, -EINVAL (key unusable; err
 * says why, without key material), -ENOMEM. */
int gcp_jwt_build(const struct gcp_sa_key *k, const char *scope, const char *aud, time_t now,
		  int64_t lifetime, char **out, char *err, size_t errlen);

/* ---- Atlas's keyVersionResourceID ----------------------------------------- */

struct gcp_version_id {
	char project[101];  /* project id (or number, or domain:project) */
	char location[64];
	char key_ring[64];
	char crypto_key[64];
	char version[21];   /* decimal */
	char key_name[400]; /* projects/P/locations/L/keyRings/R/cryptoKeys/K */
	char full[460];     /* key_name + /cryptoKeyVersions/V */
};

/*
 * projects/P/locations/L/keyRings/R/cryptoKeys/K/cryptoKeyVersions/V, with
 * P 1-100 of [a-z0-9.:-] starting with a letter or digit (ids, numbers and
 * domain-scoped "example.com:proj"), L 1-63 of [a-z0-9-] ("global",
 * "us-east1"), R and K 1-63 of [a-zA-Z0-9_-], V a positive decimal of at
 * most 20 digits. Nothing else: every part goes into a URL path, so the
 * grammar is the escaping. 0 or -EINVAL with the reason in err.
 */
int gcp_parse_version_id(const char *s, struct gcp_version_id *out, char *err, size_t errlen);

/* =========================================================================
 * Pure checks (gcp_checks.c), with the conventions of checks.h and
 * azure.h: a check with a verdict marks out->evaluated[] and adds one
 * finding per subject (SEV_OK when fine); without its input it adds
 * nothing and is not marked; switched off it adds nothing.
 * ========================================================================= */

/* ---- gcp.key_state (subject: the keyVersionResourceID) ------------------
 * v: the version as read, NULL when not read; not_found: Cloud KMS
 * answered 404 NOT_FOUND for it. DISABLED, DESTROY_SCHEDULED (with
 * destroyTime and the days left), DESTROYED, PENDING_EXTERNAL_DESTRUCTION,
 * EXTERNAL_DESTRUCTION_FAILED, IMPORT_FAILED, GENERATION_FAILED and
 * NOT_FOUND are critical; PENDING_GENERATION and PENDING_IMPORT a warning
 * (the version is not usable yet, but may be soon); a state kmswatch does
 * not know is unknown. */
int chk_gcp_key_state(const struct gcp_version_id *pin, const struct gcp_key_version *v,
		      bool not_found, const struct cfg_checks *checks, time_t now,
		      struct findings *out);

/* ---- gcp.key_age (subject: the keyVersionResourceID) --------------------
 * Age from v->createTime; without it (v NULL or no createTime), from
 * first_seen when it is not 0 (the summary then says the age is a lower
 * bound). key: the CryptoKey, NULL when not read: then no verdict, since
 * the rotation period is unknown. Without a rotationPeriod the thresholds
 * of checks->key_age apply; with one the finding is ok and says when the
 * next rotation is, and that Atlas keeps using its pinned version when
 * the primary is another one. */
int chk_gcp_key_age(const struct gcp_version_id *pin, const struct gcp_key_version *v,
		    time_t first_seen, const struct gcp_crypto_key *key,
		    const struct cfg_checks *checks, time_t now, struct findings *out);

/* ---- gcp.access (subject "cloudkms") ------------------------------------ */

enum gcp_op { GCPOP_KEY_VERSION = 0, GCPOP_CRYPTO_KEY };

enum gcp_outcome {
	GCP_READ_OK = 0,
	GCP_READ_HTTP,      /* a non-2xx answer after any retries */
	GCP_READ_TRANSPORT, /* no answer: DNS, connect, TLS, timeout */
	GCP_READ_BAD_BODY,  /* 2xx with a body that did not parse */
	GCP_READ_TOKEN,     /* no access token */
	GCP_READ_REFUSED,   /* not sent: Atlas's keyVersionResourceID is malformed */
};

struct gcp_read {
	enum gcp_op op;
	const char *resource; /* the resource name, or NULL */
	enum gcp_outcome outcome;
	int http_status;                    /* of the failing request (the token
					       endpoint's for GCP_READ_TOKEN) */
	const struct gcp_error *error;      /* parsed error body, or NULL */
	const struct gcp_error *token_error; /* GCP_READ_TOKEN, or NULL */
	bool metadata;                      /* the identity is the metadata server */
	unsigned retries;
	const char *detail;                 /* curl's or the parser's text, or NULL */
};

/* One finding when there were reads: unknown naming each failed read, its
 * cause and the fix (the missing permission, the identity's problem),
 * or ok when every read worked. */
int chk_gcp_access(const struct gcp_read *reads, size_t n, const struct cfg_checks *checks,
		   struct findings *out);

#endif
