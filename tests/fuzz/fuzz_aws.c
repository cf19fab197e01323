/* SPDX-License-Identifier: ISC */
/*
 * fuzz_aws — libFuzzer harness for the AWS side: every parser of
 * lib/aws.h (KMS DescribeKey and GetKeyRotationStatus, KMS and STS error
 * bodies, STS XML and IMDS JSON credentials, the IMDS role list, Atlas's
 * region and key id grammar) and the pure aws.* checks fed with whatever
 * parsed. Every input is untrusted network data; the only acceptable
 * outcomes are a result or an error code, and every parse error must leave
 * its out struct empty.
 *
 * Built by `make fuzzers` (./configure CC=clang --enable-fuzzers); see
 * tests/fuzz/README for running it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "checks.h"
#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1767225600)

static void
empty_or_die(const void *p, size_t n)
{
	static const unsigned char zero[1024];

	if (n > sizeof(zero) || memcmp(p, zero, n) != 0)
		abort();
}

static void
fuzz_kms(const char *body, size_t size, struct findings *f)
{
	struct aws_key k;
	struct aws_rotation rot;
	struct aws_error e;
	char err[256];
	int rk = aws_parse_describe_key(body, size, &k, err, sizeof(err));
	int rr = aws_parse_rotation_status(body, size, &rot, err, sizeof(err));

	if (rk == 0) {
		if (k.key_state == NULL)
			abort();
		(void)chk_aws_key_state("k", &k, false, NULL, NOW, f);
		(void)chk_aws_key_age("k", &k, rr == 0 ? &rot : NULL, rr != 0, NULL, NOW, f);
		aws_key_free(&k);
	} else {
		empty_or_die(&k, sizeof(k));
	}
	if (rr != 0)
		empty_or_die(&rot, sizeof(rot));
	if (aws_parse_error(body, size, &e) == 0) {
		struct aws_read rd = {.op = AWSOP_DESCRIBE_KEY, .key = "k",
				      .outcome = AWS_READ_HTTP, .http_status = 400, .error = &e};

		if (memchr(e.type, '\0', sizeof(e.type)) == NULL ||
		    memchr(e.message, '\0', sizeof(e.message)) == NULL)
			abort();
		(void)chk_aws_access(&rd, 1, NULL, f);
	}
}

static void
fuzz_creds(const char *body, size_t size)
{
	struct aws_credentials c;
	char err[256], role[80];

	if (aws_parse_sts_credentials(body, size, &c, err, sizeof(err)) == 0) {
		if (!c.access_key_id || !c.secret_access_key || !c.session_token)
			abort();
		aws_credentials_free(&c);
	} else {
		empty_or_die(&c, sizeof(c));
	}
	if (aws_parse_imds_credentials(body, size, &c, err, sizeof(err)) == 0)
		aws_credentials_free(&c);
	else
		empty_or_die(&c, sizeof(c));
	if (aws_parse_imds_role(body, size, role, sizeof(role)) == 0 && strlen(role) > 64)
		abort();
}

static void
fuzz_names(const char *data, size_t size)
{
	char *s = malloc(size + 1), region[AWS_REGION_MAX];

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (aws_region_from_atlas(s, region) == NULL && region[0] == '\0')
		abort();
	(void)aws_check_key_id(s, "us-east-1");
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct findings f = {0};
	const char *body = (const char *)data;

	fuzz_kms(body, size, &f);
	fuzz_creds(body, size);
	fuzz_names(body, size);
	findings_free(&f);
	return 0;
}
