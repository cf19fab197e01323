/* SPDX-License-Identifier: ISC */
/*
 * aws — the AWS side of kmswatch without I/O: Atlas's region and key id
 * grammar, parsers for the KMS answers (DescribeKey, GetKeyRotationStatus,
 * the JSON 1.1 error shape), the credentials of STS (AssumeRole,
 * AssumeRoleWithWebIdentity: XML) and IMDSv2 (JSON), and (aws_checks.c)
 * the pure aws.* checks.
 *
 * Parser conventions, those of atlas.h and azure.h: every field is
 * optional, JSON null is absent, unknown fields are ignored, duplicate keys
 * and a known field of the wrong JSON type make the body invalid
 * (-EBADMSG, err names the field). Bodies need no NUL terminator. On error
 * the out struct is left empty (nothing to free); on success the caller
 * frees it with the matching _free function. KMS dates are epoch seconds,
 * possibly fractional (rounded down here).
 */
#ifndef KMSWATCH_AWS_H
#define KMSWATCH_AWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "checks.h"

struct cfg_checks;

/* ---- what Atlas names ------------------------------------------------- */

#define AWS_REGION_MAX 32

/* Atlas's region ("US_EAST_1", or already "us-east-1") as AWS spells it,
 * checked against ^[a-z]{2}(-[a-z]+)+-[0-9]+$. NULL when valid, else a
 * static text saying why (out is then ""). */
const char *aws_region_from_atlas(const char *atlas, char out[AWS_REGION_MAX]);

/* Atlas's customerMasterKeyID: a key id (UUID, or an mrk- multi-Region
 * key id), alias/NAME, or an arn:aws...:kms:REGION:ACCOUNT:key/ID or
 * :alias/NAME ARN whose region must be `region`. NULL when valid, else a
 * static text saying why. Nothing else may go into a request body. */
const char *aws_check_key_id(const char *key_id, const char *region);

/* ---- KMS answers ------------------------------------------------------- */

struct aws_key {
	char *key_id, *arn, *key_state, *origin, *expiration_model, *key_manager, *key_spec;
	enum tri enabled, multi_region;
	bool has_creation_date, has_deletion_date, has_valid_to, has_pending_window;
	time_t creation_date, deletion_date, valid_to;
	int64_t pending_window_days;
};
/* DescribeKey: {"KeyMetadata": {...}}; no KeyMetadata is -EBADMSG. */
int aws_parse_describe_key(const char *body, size_t len, struct aws_key *out, char *err,
			   size_t errlen);
void aws_key_free(struct aws_key *k);

struct aws_rotation {
	enum tri enabled; /* KeyRotationEnabled (required) */
	bool has_period, has_next, has_on_demand;
	int64_t period_days;
	time_t next_rotation, on_demand_start;
};
/* GetKeyRotationStatus; nothing to free. */
int aws_parse_rotation_status(const char *body, size_t len, struct aws_rotation *out, char *err,
			      size_t errlen);

/* A KMS (JSON: "__type", "message" or "Message") or STS (XML ErrorResponse:
 * Error/Code, Error/Message) error answer. type is the bare name, without
 * a "com.amazonaws.kms#" style prefix; both are sanitized. */
struct aws_error {
	char type[96];
	char message[256];
};
int aws_parse_error(const char *body, size_t len, struct aws_error *out);
bool aws_error_is(const struct aws_error *e, const char *type); /* NULL-safe */

/* ---- credentials --------------------------------------------------------- */

struct aws_credentials {
	char *access_key_id, *secret_access_key, *session_token; /* util_free_secret */
	bool has_expiration;
	time_t expiration;
};
/* STS AssumeRole / AssumeRoleWithWebIdentity XML: the one <Credentials>
 * element of the answer, its AccessKeyId, SecretAccessKey, SessionToken
 * and Expiration (required). A bounded extractor over that known shape,
 * not an XML parser: each element once, no attributes, no nested markup;
 * the five predefined entities are decoded. Values must be header-safe. */
int aws_parse_sts_credentials(const char *body, size_t len, struct aws_credentials *out,
			      char *err, size_t errlen);
/* IMDS security-credentials/ROLE JSON: Code "Success", AccessKeyId,
 * SecretAccessKey, Token, Expiration (ISO 8601). */
int aws_parse_imds_credentials(const char *body, size_t len, struct aws_credentials *out,
			       char *err, size_t errlen);
void aws_credentials_free(struct aws_credentials *c);
/* The role name IMDS lists (first line of security-credentials/): letters,
 * digits and +=,.@_- only, at most 64. -EBADMSG otherwise. */
int aws_parse_imds_role(const char *body, size_t len, char *out, size_t outlen);

/* ---- aws.* checks (aws_checks.c) ----------------------------------------- */

enum aws_op {
	AWSOP_DESCRIBE_KEY = 0,
	AWSOP_ROTATION_STATUS,
};

enum aws_outcome {
	AWS_READ_OK = 0,
	AWS_READ_HTTP,        /* a non-2xx answer after any retries */
	AWS_READ_TRANSPORT,   /* no answer: DNS, connect, TLS, timeout */
	AWS_READ_BAD_BODY,    /* 2xx with a body that did not parse */
	AWS_READ_CREDENTIALS, /* no credentials: STS, IMDS, the token file */
	AWS_READ_REFUSED,     /* not sent: a value from Atlas is malformed */
};

struct aws_read {
	enum aws_op op;
	const char *key;     /* the key as Atlas names it, for messages */
	enum aws_outcome outcome;
	int http_status;     /* of the answer (the credential source's for
				AWS_READ_CREDENTIALS); 0 without one */
	unsigned retries;
	const struct aws_error *error; /* the parsed error answer, or NULL */
	const char *detail;  /* curl's text, the parser's, why refused, ... */
};

/*
 * aws.key_state, subject = the key as Atlas names it: critical when
 * not_found (NotFoundException: kmswatch is not blind, the key is gone),
 * or KeyState is Disabled, PendingDeletion (with the deletion date and
 * days left), PendingImport, PendingReplicaDeletion or Unavailable;
 * warning for Creating and Updating and states kmswatch does not know;
 * for Enabled keys with imported material that expires (ValidTo), the
 * key_expiry thresholds apply (past: critical). No verdict without key
 * and not_found.
 */
int chk_aws_key_state(const char *subject, const struct aws_key *key, bool not_found,
		      const struct cfg_checks *checks, time_t now, struct findings *out);

/*
 * aws.key_age, subject as above: ok when automatic rotation is on (the
 * message says so, with the period and the next date); with rotation off
 * (or impossible: imported key material, rotation_unsupported) the key
 * material's age since CreationDate against key_age: critical past the
 * critical threshold, else warning (past the warning threshold, or only
 * because nothing rotates it). No verdict without both answers (unless
 * rotation_unsupported), nor for keys not Enabled (key_state speaks).
 */
int chk_aws_key_age(const char *subject, const struct aws_key *key, const struct aws_rotation *rot,
		    bool rotation_unsupported, const struct cfg_checks *checks, time_t now,
		    struct findings *out);

/*
 * aws.access, subject "aws-kms": one finding, unknown listing every failed
 * read (what, the answer, what to do: AccessDenied names the missing
 * permission, also in `missing`), ok when all worked. Answers about the
 * key itself (NotFoundException, KMSInvalidStateException,
 * UnsupportedOperationException) are not access failures: key_state and
 * key_age report them. n == 0: no verdict.
 */
int chk_aws_access(const struct aws_read *reads, size_t n, const struct cfg_checks *checks,
		   struct findings *out);
/* Whether the answer is one of those about the key, not about access. */
bool aws_error_about_key(const struct aws_error *e);

#endif
