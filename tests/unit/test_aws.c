/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/aws.c and lib/aws_checks.c: Atlas's region and key id
 * grammar, every parser on real-shaped answers (KMS DescribeKey and
 * GetKeyRotationStatus, KMS and STS errors, STS and IMDS credentials) and
 * on malformed, truncated and wrong-typed ones, and every check for every
 * key state, every error class and the threshold edges with the time
 * injected (exactly at the boundary and one second either side).
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

#include "aws.h"
#include "aws_config.h"
#include "checks.h"
#include "config.h"
#include "util.h"
#include "unit_helpers.h"

#define DAY 86400
/* 2026-01-01T00:00:00Z */
#define NOW ((time_t)1767225600)
#define KEY "1234abcd-12ab-34cd-56ef-1234567890ab"

/* ---- helpers ----------------------------------------------------------- */

static int
parse_error(const char *text, struct aws_error *e)
{
	size_t len;
	char *b = body_of(text, &len);
	int r = aws_parse_error(b, len, e);

	free(b);
	return r;
}

static void
assert_sev(const struct finding *x, enum severity s)
{
	if (x->severity != s)
		fail_msg("severity %s, expected %s: %s", severity_name(x->severity),
			 severity_name(s), x->summary);
}

static struct aws_key
enabled_key(time_t created)
{
	struct aws_key k = {
		.key_state = (char *)"Enabled",
		.origin = (char *)"AWS_KMS",
		.enabled = TRI_TRUE,
		.has_creation_date = true,
		.creation_date = created,
	};

	return k;
}

/* ---- region and key id ------------------------------------------------- */

static void
test_region(void **state)
{
	char r[AWS_REGION_MAX];

	(void)state;
	assert_null(aws_region_from_atlas("US_EAST_1", r));
	assert_string_equal(r, "us-east-1");
	assert_null(aws_region_from_atlas("US_GOV_WEST_1", r));
	assert_string_equal(r, "us-gov-west-1");
	assert_null(aws_region_from_atlas("ap-southeast-2", r));
	assert_string_equal(r, "ap-southeast-2");
	assert_null(aws_region_from_atlas("EU_CENTRAL_10", r));
	assert_string_equal(r, "eu-central-10");
	static const char *const bad[] = {
		"US_EAST", "USEAST1", "U1_EAST_1", "us-east-1/", "us-east-1.evil.com", "us--1",
		"us-east-1a", "useast-1", "us-east-", "us-east-1 ", "-us-east-1",
		"us-east-1\"}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-1",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (aws_region_from_atlas(bad[i], r) == NULL)
			fail_msg("accepted region %s", bad[i]);
		assert_string_equal(r, "");
	}
	assert_string_equal(aws_region_from_atlas(NULL, r), "missing");
	assert_string_equal(aws_region_from_atlas("", r), "missing");
}

static void
test_key_id(void **state)
{
	(void)state;
	assert_null(aws_check_key_id(KEY, "us-east-1"));
	assert_null(aws_check_key_id("1234ABCD-12AB-34CD-56EF-1234567890AB", NULL));
	assert_null(aws_check_key_id("mrk-1234abcd12ab34cd56ef1234567890ab", "us-east-1"));
	assert_null(aws_check_key_id("alias/atlas-cmk", "us-east-1"));
	assert_null(aws_check_key_id("alias/team/atlas_cmk-1", "us-east-1"));
	assert_null(aws_check_key_id("arn:aws:kms:us-east-1:123456789012:key/" KEY, "us-east-1"));
	assert_null(aws_check_key_id("arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/" KEY,
				     "us-gov-west-1"));
	assert_null(aws_check_key_id("arn:aws:kms:eu-west-1:123456789012:alias/atlas",
				     "eu-west-1"));
	assert_string_equal(aws_check_key_id("arn:aws:kms:eu-west-1:123456789012:key/" KEY,
					     "us-east-1"),
			    "the ARN names another region than Atlas's region");
	assert_string_equal(aws_check_key_id(NULL, "us-east-1"), "missing");
	assert_string_equal(aws_check_key_id("", "us-east-1"), "missing");
	static const char *const bad[] = {
		"1234abcd-12ab-34cd-56ef-1234567890a",
		"1234abcd-12ab-34cd-56ef-1234567890abc",
		"1234abcd_12ab-34cd-56ef-1234567890ab",
		"1234abcg-12ab-34cd-56ef-1234567890ab",
		KEY "\"}",
		"\"," KEY,
		"mrk-1234abcd12ab34cd56ef1234567890a",
		"alias/",
		"alias/a b",
		"alias/x\"y",
		"arn:aws:iam::123456789012:role/x",
		"arn:aws:kms:us-east-1:12345678901:key/" KEY,
		"arn:aws:kms:us-east-1:123456789012:key/nope",
		"arn:aws:kms:US_EAST_1:123456789012:key/" KEY,
		"arn:aws:kms:us-east-1:123456789012:key/" KEY "/x",
		"arn:foo:kms:us-east-1:123456789012:key/" KEY,
		"arn:aws:kms:us-east-1",
		"key/" KEY,
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (aws_check_key_id(bad[i], "us-east-1") == NULL)
			fail_msg("accepted key id %s", bad[i]);
}

/* ---- DescribeKey --------------------------------------------------------- */

static const char describe_full[] =
	"{\"KeyMetadata\":{\"AWSAccountId\":\"123456789012\",\"Arn\":\"arn:aws:kms:us-east-1:"
	"123456789012:key/" KEY "\",\"CreationDate\":1.767225600123E9,\"CustomerMasterKeySpec\":"
	"\"SYMMETRIC_DEFAULT\",\"Description\":\"\",\"Enabled\":false,\"EncryptionAlgorithms\":"
	"[\"SYMMETRIC_DEFAULT\"],\"KeyId\":\"" KEY "\",\"KeyManager\":\"CUSTOMER\",\"KeySpec\":"
	"\"SYMMETRIC_DEFAULT\",\"KeyState\":\"PendingDeletion\",\"KeyUsage\":\"ENCRYPT_DECRYPT\","
	"\"MultiRegion\":false,\"Origin\":\"EXTERNAL\",\"ExpirationModel\":\"KEY_MATERIAL_EXPIRES\","
	"\"ValidTo\":1767830400,\"DeletionDate\":1768435199.999,\"PendingDeletionWindowInDays\":14}}";

static void
test_describe_key(void **state)
{
	struct aws_key k;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(aws_parse_describe_key, describe_full, &k, err), 0);
	assert_string_equal(err, "");
	assert_string_equal(k.key_id, KEY);
	assert_string_equal(k.arn, "arn:aws:kms:us-east-1:123456789012:key/" KEY);
	assert_string_equal(k.key_state, "PendingDeletion");
	assert_string_equal(k.origin, "EXTERNAL");
	assert_string_equal(k.expiration_model, "KEY_MATERIAL_EXPIRES");
	assert_string_equal(k.key_manager, "CUSTOMER");
	assert_string_equal(k.key_spec, "SYMMETRIC_DEFAULT");
	assert_int_equal(k.enabled, TRI_FALSE);
	assert_int_equal(k.multi_region, TRI_FALSE);
	assert_true(k.has_creation_date);
	assert_int_equal(k.creation_date, NOW); /* fractional: rounded down */
	assert_true(k.has_deletion_date);
	assert_int_equal(k.deletion_date, 1768435199);
	assert_true(k.has_valid_to);
	assert_int_equal(k.valid_to, 1767830400);
	assert_true(k.has_pending_window);
	assert_int_equal(k.pending_window_days, 14);
	aws_key_free(&k);

	/* minimal; nulls are absent */
	assert_int_equal(PARSE(aws_parse_describe_key,
			       "{\"KeyMetadata\":{\"KeyState\":\"Enabled\",\"ValidTo\":null}}", &k,
			       err),
			 0);
	assert_false(k.has_valid_to);
	assert_false(k.has_creation_date);
	assert_null(k.arn);
	aws_key_free(&k);

	static const struct {
		const char *body, *err;
	} bad[] = {
		{"{}", "no KeyMetadata in the answer"},
		{"{\"KeyMetadata\":[]}", "KeyMetadata is not an object"},
		{"{\"KeyMetadata\":{\"KeyId\":\"x\"}}", "KeyMetadata has no KeyState"},
		{"{\"KeyMetadata\":{\"KeyState\":1}}", "KeyMetadata.KeyState is not a string"},
		{"{\"KeyMetadata\":{\"KeyState\":\"Enabled\",\"CreationDate\":\"2026-01-01\"}}",
		 "KeyMetadata.CreationDate is not a number (epoch seconds)"},
		{"{\"KeyMetadata\":{\"KeyState\":\"Enabled\",\"DeletionDate\":1e300}}",
		 "KeyMetadata.DeletionDate is out of range"},
		{"{\"KeyMetadata\":{\"KeyState\":\"Enabled\",\"Enabled\":\"true\"}}",
		 "KeyMetadata.Enabled is not a boolean"},
		{"{\"KeyMetadata\":{\"KeyState\":\"Enabled\",\"KeyState\":\"Disabled\"}}", NULL},
		{"{\"KeyMetadata\":{\"KeyState\":\"Enabled\"", NULL},
		{"", "empty body"},
		{"[]", "top level is not an object"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&k, 0x5a, sizeof(k));
		if (PARSE(aws_parse_describe_key, bad[i].body, &k, err) != -EBADMSG)
			fail_msg("accepted %s", bad[i].body);
		if (bad[i].err)
			assert_string_equal(err, bad[i].err);
		else
			assert_string_not_equal(err, "");
		assert_null(k.key_state);
		assert_null(k.key_id);
	}
	assert_int_equal(aws_parse_describe_key("{}", 2, NULL, err, sizeof(err)), -EINVAL);
}

static void
test_rotation_status(void **state)
{
	struct aws_rotation r;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(aws_parse_rotation_status,
			       "{\"KeyId\":\"" KEY "\",\"KeyRotationEnabled\":true,"
			       "\"NextRotationDate\":1775001600.5,\"RotationPeriodInDays\":90,"
			       "\"OnDemandRotationStartDate\":1767225600}",
			       &r, err),
			 0);
	assert_int_equal(r.enabled, TRI_TRUE);
	assert_true(r.has_period);
	assert_int_equal(r.period_days, 90);
	assert_true(r.has_next);
	assert_int_equal(r.next_rotation, 1775001600);
	assert_true(r.has_on_demand);
	assert_int_equal(r.on_demand_start, NOW);
	assert_int_equal(PARSE(aws_parse_rotation_status, "{\"KeyRotationEnabled\":false}", &r,
			       err),
			 0);
	assert_int_equal(r.enabled, TRI_FALSE);
	assert_false(r.has_period);
	assert_int_equal(PARSE(aws_parse_rotation_status, "{\"KeyId\":\"x\"}", &r, err), -EBADMSG);
	assert_string_equal(err, "no KeyRotationEnabled in the answer");
	assert_int_equal(PARSE(aws_parse_rotation_status,
			       "{\"KeyRotationEnabled\":true,\"RotationPeriodInDays\":\"90\"}", &r,
			       err),
			 -EBADMSG);
	assert_string_equal(err, "RotationPeriodInDays is not an integer");
	assert_int_equal(r.enabled, TRI_ABSENT);
	assert_int_equal(PARSE(aws_parse_rotation_status, "{\"KeyRotationEnabled\":tru", &r, err),
			 -EBADMSG);
}

/* ---- errors --------------------------------------------------------------- */

static void
test_errors(void **state)
{
	struct aws_error e;

	(void)state;
	assert_int_equal(parse_error("{\"__type\":\"NotFoundException\",\"message\":\"Key 'arn:"
				     "aws:kms:us-east-1:123456789012:key/x' does not exist\"}",
				     &e),
			 0);
	assert_string_equal(e.type, "NotFoundException");
	assert_contains(e.message, "does not exist");
	assert_true(aws_error_is(&e, "NotFoundException"));
	assert_true(aws_error_about_key(&e));
	assert_int_equal(parse_error("{\"__type\":\"com.amazonaws.kms#AccessDeniedException\","
				     "\"Message\":\"User: arn:aws:iam::1:user/k is not "
				     "authorized\\nto perform: kms:DescribeKey\"}",
				     &e),
			 0);
	assert_string_equal(e.type, "AccessDeniedException");
	assert_contains(e.message, "authorized to perform"); /* newline sanitized */
	assert_false(aws_error_about_key(&e));
	assert_int_equal(parse_error("{\"__type\":\"UnrecognizedClientException:http://"
				     "internal.amazon.com/coral/com.amazon.coral.service/\"}",
				     &e),
			 0);
	assert_string_equal(e.type, "UnrecognizedClientException");
	assert_int_equal(parse_error("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/"
				     "2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    "
				     "<Code>AccessDenied</Code>\n    <Message>User: x is not "
				     "authorized to perform: sts:AssumeRole &amp; more</Message>\n"
				     "  </Error>\n  <RequestId>r</RequestId>\n</ErrorResponse>\n",
				     &e),
			 0);
	assert_string_equal(e.type, "AccessDenied");
	assert_contains(e.message, "sts:AssumeRole & more");
	assert_int_equal(parse_error("{\"__type\":\"KMSInvalidStateException\"}", &e), 0);
	assert_true(aws_error_about_key(&e));
	assert_int_equal(parse_error("{}", &e), -EBADMSG);
	assert_int_equal(parse_error("not json", &e), -EBADMSG);
	assert_int_equal(parse_error("<html>oops</html>", &e), -EBADMSG);
	assert_int_equal(parse_error("", &e), -EBADMSG);
	assert_false(aws_error_is(NULL, "x"));
}

/* ---- credentials ------------------------------------------------------------ */

#define STS_OK(ak, sk, tok, exp)                                                             \
	"<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"         \
	"  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <AssumedRoleId>AROA:kmswatch"    \
	"</AssumedRoleId>\n      <Arn>arn:aws:sts::123456789012:assumed-role/r/kmswatch"     \
	"</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>" ak          \
	"</AccessKeyId>\n      <SecretAccessKey>" sk "</SecretAccessKey>\n      "           \
	"<SessionToken>" tok "</SessionToken>\n      <Expiration>" exp "</Expiration>\n"    \
	"    </Credentials>\n  </AssumeRoleResult>\n  <ResponseMetadata><RequestId>x"      \
	"</RequestId></ResponseMetadata>\n</AssumeRoleResponse>\n"

static void
test_sts_credentials(void **state)
{
	struct aws_credentials c;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(aws_parse_sts_credentials,
			       STS_OK("ASIAEXAMPLE123456789", "wJalr/XUtnFEMI+K7MDENG=",
				      "FwoGZXIvYXdzE&amp;Lz==", "2026-01-01T01:00:00Z"),
			       &c, err),
			 0);
	assert_string_equal(c.access_key_id, "ASIAEXAMPLE123456789");
	assert_string_equal(c.secret_access_key, "wJalr/XUtnFEMI+K7MDENG=");
	assert_string_equal(c.session_token, "FwoGZXIvYXdzE&Lz==");
	assert_true(c.has_expiration);
	assert_int_equal(c.expiration, NOW + 3600);
	aws_credentials_free(&c);
	assert_null(c.access_key_id);

	/* the web identity answer has the same Credentials element */
	assert_int_equal(PARSE(aws_parse_sts_credentials,
			       "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
			       "<SubjectFromWebIdentityToken>system:sa</SubjectFromWebIdentityToken>"
			       "<Credentials><SessionToken>t</SessionToken><SecretAccessKey>s"
			       "</SecretAccessKey><Expiration>2026-01-01T00:15:00.000Z</Expiration>"
			       "<AccessKeyId>ASIAX</AccessKeyId></Credentials>"
			       "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>",
			       &c, err),
			 0);
	assert_int_equal(c.expiration, NOW + 900);
	aws_credentials_free(&c);

	static const struct {
		const char *body, *err;
	} bad[] = {
		{"", "empty body"},
		{"<x/>", "no <Credentials> in the answer"},
		{STS_OK("A", "s", "t", "2026-01-01T01:00:00Z") "<Credentials></Credentials>",
		 "<Credentials> is malformed or repeated"},
		{"<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
		 "<Expiration>2026-01-01T01:00:00Z</Expiration></Credentials>",
		 "<Credentials><SessionToken> is missing"},
		{"<Credentials><AccessKeyId>A</AccessKeyId><AccessKeyId>B</AccessKeyId>"
		 "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
		 "<Expiration>2026-01-01T01:00:00Z</Expiration></Credentials>",
		 "<Credentials><AccessKeyId> is malformed"},
		{STS_OK("A", "s<b>x</b>", "t", "2026-01-01T01:00:00Z"),
		 "<Credentials><SecretAccessKey> is malformed"},
		{STS_OK("A", "s&nbsp;", "t", "2026-01-01T01:00:00Z"),
		 "<Credentials><SecretAccessKey> is malformed"},
		{STS_OK("A", "s", "t", "tomorrow"),
		 "<Credentials><Expiration> is not an ISO 8601 time"},
		{STS_OK("A", "s s", "t", "2026-01-01T01:00:00Z"),
		 "SecretAccessKey is empty or has characters not allowed in an HTTP header"},
		{STS_OK("A:B", "s", "t", "2026-01-01T01:00:00Z"),
		 "AccessKeyId is empty or has characters not allowed in an HTTP header"},
		{STS_OK("", "s", "t", "2026-01-01T01:00:00Z"),
		 "AccessKeyId is empty or has characters not allowed in an HTTP header"},
		{"<Credentials><AccessKeyId>A</AccessKeyId", "<Credentials> is malformed or repeated"},
		{"<Credentials attr=\"1\"><AccessKeyId>A</AccessKeyId></Credentials>",
		 "<Credentials> is malformed or repeated"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (PARSE(aws_parse_sts_credentials, bad[i].body, &c, err) != -EBADMSG)
			fail_msg("accepted %s", bad[i].body);
		assert_string_equal(err, bad[i].err);
		assert_null(c.access_key_id);
		assert_null(c.secret_access_key);
		assert_null(c.session_token);
	}
}

static void
test_imds(void **state)
{
	struct aws_credentials c;
	char err[256], role[80];

	(void)state;
	assert_int_equal(PARSE(aws_parse_imds_credentials,
			       "{\"Code\":\"Success\",\"LastUpdated\":\"2025-12-31T23:00:00Z\","
			       "\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\","
			       "\"SecretAccessKey\":\"sec/ret+\",\"Token\":\"tok==\","
			       "\"Expiration\":\"2026-01-01T06:00:00Z\"}",
			       &c, err),
			 0);
	assert_string_equal(c.access_key_id, "ASIAIMDS");
	assert_string_equal(c.secret_access_key, "sec/ret+");
	assert_string_equal(c.session_token, "tok==");
	assert_int_equal(c.expiration, NOW + 6 * 3600);
	aws_credentials_free(&c);
	assert_int_equal(PARSE(aws_parse_imds_credentials,
			       "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"x\"}", &c,
			       err),
			 -EACCES);
	assert_string_equal(err, "IMDS answered Code \"AssumeRoleUnauthorizedAccess\"");
	assert_int_equal(PARSE(aws_parse_imds_credentials,
			       "{\"Code\":\"Success\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":"
			       "\"s\",\"Expiration\":\"2026-01-01T06:00:00Z\"}",
			       &c, err),
			 -EBADMSG);
	assert_null(c.access_key_id);
	assert_int_equal(PARSE(aws_parse_imds_credentials,
			       "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\","
			       "\"Expiration\":\"soon\"}",
			       &c, err),
			 -EBADMSG);
	assert_contains(err, "Expiration is not an ISO 8601 time");
	assert_int_equal(PARSE(aws_parse_imds_credentials,
			       "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\\r\\nX: y\","
			       "\"Token\":\"t\",\"Expiration\":\"2026-01-01T06:00:00Z\"}",
			       &c, err),
			 -EBADMSG);
	assert_null(c.secret_access_key);

	assert_int_equal(aws_parse_imds_role("kmswatch-role\n", 14, role, sizeof(role)), 0);
	assert_string_equal(role, "kmswatch-role");
	assert_int_equal(aws_parse_imds_role("r1\nr2\n", 6, role, sizeof(role)), 0);
	assert_string_equal(role, "r1");
	assert_int_equal(aws_parse_imds_role("r", 1, role, sizeof(role)), 0);
	assert_int_equal(aws_parse_imds_role("", 0, role, sizeof(role)), -EBADMSG);
	assert_int_equal(aws_parse_imds_role("../x", 4, role, sizeof(role)), -EBADMSG);
	assert_int_equal(aws_parse_imds_role("a b", 3, role, sizeof(role)), -EBADMSG);
	assert_int_equal(aws_parse_imds_role("abc", 3, role, 3), -EBADMSG);
	assert_string_equal(role, "");
}

/* ---- aws.key_state ----------------------------------------------------------- */

static const struct finding *
key_state(struct findings *f, const struct aws_key *k, bool not_found,
	  const struct cfg_checks *ck)
{
	findings_free(f);
	assert_int_equal(chk_aws_key_state(KEY, k, not_found, ck, NOW, f), 0);
	assert_true(f->evaluated[CHK_AWS_KEY_STATE]);
	return only(f, CHK_AWS_KEY_STATE);
}

static void
test_key_state_states(void **state)
{
	struct findings f = {0};
	struct aws_key k = enabled_key(NOW - 10 * DAY);
	const struct finding *x;
	static const struct {
		const char *state, *says;
		enum severity sev;
	} cases[] = {
		{"Enabled", "is enabled", SEV_OK},
		{"Disabled", "aws kms enable-key --key-id " KEY, SEV_CRITICAL},
		{"PendingDeletion", "cancel-key-deletion", SEV_CRITICAL},
		{"PendingImport", "import-key-material", SEV_CRITICAL},
		{"PendingReplicaDeletion", "PendingReplicaDeletion", SEV_CRITICAL},
		{"Unavailable", "connect-custom-key-store", SEV_CRITICAL},
		{"Creating", "in transition (Creating)", SEV_WARNING},
		{"Updating", "in transition (Updating)", SEV_WARNING},
		{"Frozen", "does not know (Frozen)", SEV_WARNING},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		k.key_state = (char *)cases[i].state;
		x = key_state(&f, &k, false, NULL);
		assert_sev(x, cases[i].sev);
		assert_contains(x->summary, cases[i].says);
		assert_string_equal(x->subject, KEY);
		assert_int_equal(x->provider, PROV_AWS);
		assert_false(x->has_days_left);
	}
	/* NotFoundException */
	x = key_state(&f, NULL, true, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "NotFoundException");
	/* nothing read: no verdict */
	findings_free(&f);
	assert_int_equal(chk_aws_key_state(KEY, NULL, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_AWS_KEY_STATE]);
	assert_int_equal(f.n, 0);
	/* switched off */
	{
		struct cfg_checks ck = cfg_default_checks;

		ck.enabled[CHK_AWS_KEY_STATE] = false;
		assert_int_equal(chk_aws_key_state(KEY, &k, false, &ck, NOW, &f), 0);
		assert_false(f.evaluated[CHK_AWS_KEY_STATE]);
	}
	assert_int_equal(chk_aws_key_state(NULL, &k, false, NULL, NOW, &f), -EINVAL);
	assert_int_equal(chk_aws_key_state(KEY, &k, false, NULL, NOW, NULL), -EINVAL);
	findings_free(&f);
}

static void
test_key_state_pending_deletion(void **state)
{
	struct findings f = {0};
	struct aws_key k = enabled_key(NOW - 10 * DAY);
	const struct finding *x;

	(void)state;
	k.key_state = (char *)"PendingDeletion";
	k.has_deletion_date = true;
	k.deletion_date = NOW + 7 * DAY;
	x = key_state(&f, &k, false, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_true(x->has_days_left);
	assert_int_equal(x->days_left, 7);
	assert_contains(x->summary, "in 7 days (2026-01-08T00:00:00Z)");
	k.deletion_date = NOW + 7 * DAY - 1;
	x = key_state(&f, &k, false, NULL);
	assert_int_equal(x->days_left, 6);
	k.deletion_date = NOW + 3600;
	x = key_state(&f, &k, false, NULL);
	assert_int_equal(x->days_left, 0);
	assert_contains(x->summary, "in less than a day");
	/* no date: still critical, no days */
	k.has_deletion_date = false;
	x = key_state(&f, &k, false, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_false(x->has_days_left);
	findings_free(&f);
}

static void
test_key_state_valid_to(void **state)
{
	struct findings f = {0};
	struct aws_key k = enabled_key(NOW - 10 * DAY);
	struct cfg_checks ck = cfg_default_checks;
	const struct finding *x;
	static const struct {
		int64_t left;
		enum severity sev;
		int64_t days;
	} edges[] = {
		{30 * DAY + 1, SEV_OK, 30},      {30 * DAY, SEV_WARNING, 30},
		{30 * DAY - 1, SEV_WARNING, 29}, {7 * DAY + 1, SEV_WARNING, 7},
		{7 * DAY, SEV_CRITICAL, 7},      {1, SEV_CRITICAL, 0},
		{0, SEV_CRITICAL, 0},            {-1, SEV_CRITICAL, -1},
		{-3 * DAY, SEV_CRITICAL, -3},
	};

	(void)state;
	k.origin = (char *)"EXTERNAL";
	k.expiration_model = (char *)"KEY_MATERIAL_EXPIRES";
	k.has_valid_to = true;
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
		k.valid_to = NOW + edges[i].left;
		x = key_state(&f, &k, false, NULL);
		assert_sev(x, edges[i].sev);
		assert_true(x->has_days_left);
		assert_int_equal(x->days_left, edges[i].days);
		if (edges[i].sev > SEV_OK)
			assert_contains(x->summary, edges[i].left > 0 ? "expires" : "expired");
	}
	/* the window switched off: only past is critical */
	ck.key_expiry.enabled = false;
	k.valid_to = NOW + DAY;
	assert_sev(key_state(&f, &k, false, &ck), SEV_OK);
	k.valid_to = NOW;
	assert_sev(key_state(&f, &k, false, &ck), SEV_CRITICAL);
	/* imported material that does not expire */
	k.has_valid_to = false;
	k.expiration_model = (char *)"KEY_MATERIAL_DOES_NOT_EXPIRE";
	x = key_state(&f, &k, false, NULL);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "does not expire");
	findings_free(&f);
}

/* ---- aws.key_age ------------------------------------------------------------- */

static const struct finding *
key_age(struct findings *f, const struct aws_key *k, const struct aws_rotation *rot,
	bool unsupported)
{
	findings_free(f);
	assert_int_equal(chk_aws_key_age(KEY, k, rot, unsupported, NULL, NOW, f), 0);
	assert_true(f->evaluated[CHK_AWS_KEY_AGE]);
	return only(f, CHK_AWS_KEY_AGE);
}

static void
test_key_age(void **state)
{
	struct findings f = {0};
	struct aws_key k = enabled_key(NOW - 400 * DAY);
	struct aws_rotation on = {.enabled = TRI_TRUE, .has_period = true, .period_days = 365,
				  .has_next = true, .next_rotation = NOW + 30 * DAY};
	struct aws_rotation off = {.enabled = TRI_FALSE};
	const struct finding *x;
	static const struct {
		int64_t age;
		enum severity sev;
		int64_t days;
		bool threshold;
	} edges[] = {
		{0, SEV_WARNING, 0, false},
		{75 * DAY - 1, SEV_WARNING, 74, false},
		{75 * DAY, SEV_WARNING, 75, true},
		{90 * DAY - 1, SEV_WARNING, 89, true},
		{90 * DAY, SEV_CRITICAL, 90, true},
		{-DAY, SEV_WARNING, 0, false}, /* from the future: new */
	};

	(void)state;
	/* rotation on: ok whatever the age, and the message says so */
	x = key_age(&f, &k, &on, false);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "automatic rotation of AWS KMS key " KEY " is on every 365 "
				    "days, next on 2026-01-31T00:00:00Z");
	assert_false(x->has_age_days);
	on.has_on_demand = true;
	assert_contains(key_age(&f, &k, &on, false)->summary, "on-demand rotation");
	/* rotation off: warning at least, critical past the critical age */
	for (size_t i = 0; i < ARRAY_SIZE(edges); i++) {
		k.creation_date = NOW - edges[i].age;
		x = key_age(&f, &k, &off, false);
		assert_sev(x, edges[i].sev);
		assert_true(x->has_age_days);
		assert_int_equal(x->age_days, edges[i].days);
		assert_contains(x->summary, "rotation of AWS KMS key " KEY " is off");
		assert_contains(x->summary, "enable-key-rotation --key-id " KEY);
		if (edges[i].threshold)
			assert_contains(x->summary, edges[i].sev == SEV_CRITICAL
							    ? "past the 90d threshold"
							    : "past the 75d threshold");
		else
			assert_lacks(x->summary, "threshold");
	}
	/* imported key material cannot rotate automatically */
	k.origin = (char *)"EXTERNAL";
	k.creation_date = NOW - 100 * DAY;
	x = key_age(&f, &k, NULL, true);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "cannot rotate automatically");
	/* no verdict: rotation unread, key not Enabled, no creation date */
	k.origin = (char *)"AWS_KMS";
	findings_free(&f);
	assert_int_equal(chk_aws_key_age(KEY, &k, NULL, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_AWS_KEY_AGE]);
	k.key_state = (char *)"PendingDeletion";
	assert_int_equal(chk_aws_key_age(KEY, &k, &off, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_AWS_KEY_AGE]);
	k.key_state = (char *)"Enabled";
	k.has_creation_date = false;
	assert_int_equal(chk_aws_key_age(KEY, &k, &off, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_AWS_KEY_AGE]);
	assert_int_equal(chk_aws_key_age(KEY, NULL, &off, false, NULL, NOW, &f), 0);
	assert_false(f.evaluated[CHK_AWS_KEY_AGE]);
	/* switched off (checks.key_age.enabled: false switches both providers) */
	{
		struct cfg_checks ck = cfg_default_checks;

		k.has_creation_date = true;
		ck.enabled[CHK_AWS_KEY_AGE] = false;
		assert_int_equal(chk_aws_key_age(KEY, &k, &off, false, &ck, NOW, &f), 0);
		assert_false(f.evaluated[CHK_AWS_KEY_AGE]);
	}
	findings_free(&f);
}

static void
test_key_age_switch_from_config(void **state)
{
	static const char yaml[] = "atlas:\n  service_account:\n    client_id: x\n"
				   "    client_secret: s\n"
				   "projects:\n  - id: 65a1b2c3d4e5f60718293a00\n"
				   "checks:\n  key_age: {enabled: false}\n";
	struct config *cfg = NULL;
	struct cfg_diag diag = {0};

	(void)state;
	assert_int_equal(cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &diag), 0);
	assert_false(cfg->checks.enabled[CHK_AWS_KEY_AGE]);
	assert_false(cfg->checks.enabled[CHK_AZURE_KEY_AGE]);
	assert_true(cfg->checks.enabled[CHK_AWS_KEY_STATE]);
	cfg_free(cfg);
	cfg_diag_free(&diag);
}

/* ---- aws.access ---------------------------------------------------------------- */

static const struct finding *
access(struct findings *f, const struct aws_read *r, size_t n)
{
	findings_free(f);
	assert_int_equal(chk_aws_access(r, n, NULL, f), 0);
	assert_true(f->evaluated[CHK_AWS_ACCESS]);
	return only(f, CHK_AWS_ACCESS);
}

static void
test_access(void **state)
{
	struct findings f = {0};
	static const struct aws_error denied = {"AccessDeniedException",
				   "User: arn:aws:iam::123456789012:user/kmswatch is not "
				   "authorized to perform: kms:DescribeKey"};
	static const struct aws_error nf = {"NotFoundException", "Key does not exist"};
	static const struct aws_error inv = {"KMSInvalidStateException", "pending deletion"};
	static const struct aws_error thr = {"ThrottlingException", "Rate exceeded"};
	static const struct aws_error sig = {"InvalidSignatureException", "The request signature we "
							     "calculated does not match"};
	static const struct aws_error unk = {"UnrecognizedClientException", "The security token included "
							       "in the request is invalid."};
	static const struct aws_error exp = {"ExpiredTokenException", "The security token is expired"};
	struct aws_read ok[] = {
		{.op = AWSOP_DESCRIBE_KEY, .key = KEY, .outcome = AWS_READ_OK, .http_status = 200},
		{.op = AWSOP_ROTATION_STATUS, .key = KEY, .outcome = AWS_READ_OK, .http_status = 200},
	};
	struct aws_read r[2];
	const struct finding *x;

	(void)state;
	x = access(&f, ok, 2);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "aws-kms");
	assert_null(x->missing);

	/* AccessDenied names the permission, in the text and in missing */
	memcpy(r, ok, sizeof(r));
	r[0].outcome = AWS_READ_HTTP;
	r[0].http_status = 400;
	r[0].error = &denied;
	x = access(&f, r, 2);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "may not call DescribeKey on key " KEY);
	assert_contains(x->summary, "allow kms:DescribeKey");
	assert_contains(x->summary, "HTTP 400 AccessDeniedException: User: arn:aws:iam::");
	assert_string_equal(x->missing, "kms:DescribeKey");
	r[1] = r[0];
	r[1].op = AWSOP_ROTATION_STATUS;
	x = access(&f, r, 2);
	assert_string_equal(x->missing, "kms:DescribeKey,kms:GetKeyRotationStatus");
	assert_contains(x->summary, "; kmswatch's AWS identity may not call GetKeyRotationStatus");

	/* answers about the key are not access failures */
	r[0].error = &nf;
	r[1].error = &inv;
	assert_sev(access(&f, r, 2), SEV_OK);
	r[1].error = &(struct aws_error){"UnsupportedOperationException", ""};
	assert_sev(access(&f, r, 2), SEV_OK);

	static const struct {
		struct aws_read rd;
		const char *says;
	} fails[] = {
		{{.outcome = AWS_READ_HTTP, .http_status = 400, .error = &thr, .retries = 3},
		 "kept throttling kmswatch calling DescribeKey of " KEY " after 3 retries"},
		{{.outcome = AWS_READ_HTTP, .http_status = 429, .retries = 1, .detail = "x"},
		 "after 1 retry"},
		{{.outcome = AWS_READ_HTTP, .http_status = 503, .retries = 3},
		 "server error for DescribeKey"},
		{{.outcome = AWS_READ_HTTP, .http_status = 403, .error = &sig},
		 "the secret access key does not belong to the access key id"},
		{{.outcome = AWS_READ_HTTP, .http_status = 400, .error = &unk},
		 "does not know kmswatch's access key"},
		{{.outcome = AWS_READ_HTTP, .http_status = 400, .error = &exp},
		 "temporary AWS credentials had expired"},
		{{.outcome = AWS_READ_HTTP, .http_status = 418}, "refused DescribeKey of " KEY
								 " (HTTP 418)"},
		{{.outcome = AWS_READ_TRANSPORT, .detail = "SSL certificate problem", .retries = 2},
		 "could not reach AWS KMS for DescribeKey of " KEY " after 2 retries (SSL "
		 "certificate problem)"},
		{{.outcome = AWS_READ_BAD_BODY, .http_status = 200, .detail = "no KeyMetadata"},
		 "malformed document (HTTP 200: no KeyMetadata)"},
		{{.outcome = AWS_READ_CREDENTIALS, .http_status = 403,
		  .detail = "sts:AssumeRole was refused: AccessDenied"},
		 "no AWS credentials to call DescribeKey of " KEY " (sts:AssumeRole was refused: "
		 "AccessDenied)"},
		{{.outcome = AWS_READ_CREDENTIALS, .detail = "IMDS did not answer"},
		 "(IMDS did not answer)"},
		{{.outcome = AWS_READ_REFUSED, .detail = "Atlas's region is malformed (x)"},
		 "did not call KMS DescribeKey: Atlas's region is malformed (x); no request was "
		 "sent"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(fails); i++) {
		struct aws_read rd = fails[i].rd;

		rd.op = AWSOP_DESCRIBE_KEY;
		rd.key = KEY;
		x = access(&f, &rd, 1);
		assert_sev(x, SEV_UNKNOWN);
		assert_contains(x->summary, fails[i].says);
		assert_null(x->missing);
		assert_lacks(x->summary, "\n");
	}
	/* no reads: no verdict; switched off */
	findings_free(&f);
	assert_int_equal(chk_aws_access(NULL, 0, NULL, &f), 0);
	assert_false(f.evaluated[CHK_AWS_ACCESS]);
	{
		struct cfg_checks ck = cfg_default_checks;

		ck.enabled[CHK_AWS_ACCESS] = false;
		assert_int_equal(chk_aws_access(ok, 2, &ck, &f), 0);
		assert_false(f.evaluated[CHK_AWS_ACCESS]);
	}
	assert_int_equal(chk_aws_access(NULL, 1, NULL, &f), -EINVAL);
	findings_free(&f);
}

/* ---- config ------------------------------------------------------------------ */

#define BASE                                                                                  \
	"atlas:\n  service_account:\n    client_id: x\n    client_secret: s\n"                \
	"projects:\n  - id: 65a1b2c3d4e5f60718293a00\n"

static void
load_expect(const char *yaml, const char *problem)
{
	struct config *cfg = NULL;
	struct cfg_diag diag = {0};
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &diag);

	if (problem == NULL) {
		if (r != 0)
			fail_msg("refused: %s", diag.n ? diag.lines[0] : "?");
	} else {
		assert_int_equal(r, -EINVAL);
		if (diag.n != 1)
			fail_msg("%zu problems, first %s, last %s", diag.n, diag.lines[0],
				 diag.lines[diag.n - 1]);
		assert_string_equal(diag.lines[0], problem);
	}
	cfg_free(cfg);
	cfg_diag_free(&diag);
}

static void
test_config(void **state)
{
	struct config *cfg = NULL;
	struct cfg_diag diag = {0};
	static const char ok[] = BASE "aws_interval: 30m\n"
				      "aws:\n  identity:\n    type: access_key\n"
				      "    access_key_id: AKIAIOSFODNN7EXAMPLE\n"
				      "    secret_access_key: wJalrXUtnFEMI/K7MDENG\n"
				      "    role_arn: arn:aws:iam::123456789012:role/kmswatch-reader\n"
				      "  endpoints:\n    kms: https://127.0.0.1:8443/\n"
				      "    sts: https://127.0.0.1:8443\n    imds: http://127.0.0.1:9\n";

	(void)state;
	assert_int_equal(cfg_load_buffer(NULL, ok, strlen(ok), &cfg, &diag), 0);
	assert_true(cfg_aws(cfg)->base.configured);
	assert_int_equal(cfg_aws(cfg)->base.interval, 1800);
	assert_int_equal(cfg_aws(cfg)->identity.type, AWSID_ACCESS_KEY);
	assert_string_equal(cfg_aws(cfg)->identity.access_key_id.value, "AKIAIOSFODNN7EXAMPLE");
	assert_string_equal(cfg_aws(cfg)->identity.secret_access_key.value, "wJalrXUtnFEMI/K7MDENG");
	assert_string_equal(cfg_aws(cfg)->identity.role_arn,
			    "arn:aws:iam::123456789012:role/kmswatch-reader");
	assert_string_equal(cfg_aws(cfg)->endpoints.kms, "https://127.0.0.1:8443");
	assert_string_equal(cfg_aws(cfg)->endpoints.imds, "http://127.0.0.1:9");
	cfg_free(cfg);
	cfg_diag_free(&diag);
	assert_int_equal(cfg_load_buffer(NULL, BASE, strlen(BASE), &cfg, &diag), 0);
	assert_false(cfg_aws(cfg)->base.configured);
	assert_int_equal(cfg_aws(cfg)->base.interval, 3600);
	cfg_free(cfg);

	load_expect(BASE "aws:\n  identity:\n    type: instance_profile\n", NULL);
	load_expect(BASE "aws:\n  identity:\n    type: web_identity\n    token_file: /t\n"
			 "    role_arn: arn:aws:iam::123456789012:role/r\n",
		    NULL);
	load_expect(BASE "aws:\n  identity:\n    type: access_key\n"
			 "    access_key_id: AKIAIOSFODNN7EXAMPLE\n",
		    "<config>:9:5: aws.identity: missing required key \"secret_access_key\" "
		    "(type access_key needs it)");
	load_expect(BASE "aws:\n  identity:\n    type: instance_profile\n"
			 "    secret_access_key: x\n",
		    "<config>:10:5: aws.identity: key \"secret_access_key\" is not used by type "
		    "instance_profile");
	load_expect(BASE "aws:\n  identity:\n    type: access_key\n"
			 "    access_key_id: akia-lower\n    secret_access_key: x\n",
		    "<config>:10:20: aws.identity.access_key_id: not an AWS access key id (16 to "
		    "128 upper-case letters and digits, e.g. AKIAIOSFODNN7EXAMPLE)");
	load_expect(BASE "aws:\n  identity:\n    type: instance_profile\n"
			 "    role_arn: arn:aws:iam::1234:role/x\n",
		    "<config>:10:15: aws.identity.role_arn: not an IAM role ARN: "
		    "\"arn:aws:iam::1234:role/x\" (expected e.g. "
		    "arn:aws:iam::123456789012:role/kmswatch-reader)");
	load_expect(BASE "aws:\n  identity:\n    type: iam\n",
		    "<config>:9:11: aws.identity.type: invalid value \"iam\" (expected "
		    "access_key, instance_profile or web_identity)");
	load_expect(BASE "aws:\n  identity:\n    type: instance_profile\n"
			 "  endpoints:\n    kms: http://kms.example.com\n",
		    "<config>:11:10: aws.endpoints.kms: must be an https:// URL (http:// only "
		    "for 127.0.0.1, localhost and [::1]): \"http://kms.example.com\"");
	load_expect(BASE "aws:\n  identity: {type: instance_profile}\n  ca_file: /nonexistent\n",
		    "<config>:9:12: aws.ca_file: cannot read \"/nonexistent\": No such file or "
		    "directory");
	load_expect(BASE "aws:\n  ca_file: /etc/hostname\n",
		    "<config>:8:3: aws: missing required key \"identity\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_describe_key),
		cmocka_unit_test(test_rotation_status),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sts_credentials),
		cmocka_unit_test(test_imds),
		cmocka_unit_test(test_key_state_states),
		cmocka_unit_test(test_key_state_pending_deletion),
		cmocka_unit_test(test_key_state_valid_to),
		cmocka_unit_test(test_key_age),
		cmocka_unit_test(test_key_age_switch_from_config),
		cmocka_unit_test(test_access),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
