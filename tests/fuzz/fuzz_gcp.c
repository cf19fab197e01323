/* SPDX-License-Identifier: ISC */
/*
 * fuzz_gcp — libFuzzer harness for the Google Cloud side: every parser of
 * lib/gcp.h (CryptoKeyVersion, CryptoKey, error bodies, token answers,
 * service-account key files, protobuf durations, keyVersionResourceID) and
 * the pure gcp.* checks fed with whatever parsed. Every input is untrusted
 * network (or config) data; the only acceptable outcomes are a result or an
 * error code, and every parse error must leave its out struct empty.
 *
 * Built by `make fuzzers` (./configure CC=clang --enable-fuzzers); see
 * tests/fuzz/README for running it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "gcp.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1767225600)

static void
empty_or_die(const void *p, size_t n)
{
	static const unsigned char zero[4096];

	if (n > sizeof(zero) || memcmp(p, zero, n) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct gcp_key_version v;
	struct gcp_crypto_key k;
	struct gcp_error e;
	struct gcp_token t;
	struct gcp_sa_key sa;
	struct gcp_version_id id;
	struct findings f = {0};
	char err[256], *s;
	int64_t secs;
	int rv, rk;

	rv = gcp_parse_key_version(body, size, &v, err, sizeof(err));
	if (rv < 0)
		empty_or_die(&v, sizeof(v));
	rk = gcp_parse_crypto_key(body, size, &k, err, sizeof(err));
	if (rk < 0)
		empty_or_die(&k, sizeof(k));
	if (gcp_parse_error(body, size, &e) < 0)
		empty_or_die(&e, sizeof(e));
	if (gcp_parse_token(body, size, &t, &e, err, sizeof(err)) == 0) {
		if (t.access_token == NULL || t.expires_in <= 0)
			abort();
		gcp_token_free(&t);
	} else {
		empty_or_die(&t, sizeof(t));
		(void)gcp_token_advice(gcp_token_classify(&e));
	}
	if (gcp_parse_sa_key(body, size, &sa, err, sizeof(err)) == 0)
		gcp_sa_key_free(&sa);
	else
		empty_or_die(&sa, sizeof(sa));

	/* the scalar grammars, on the input as a string */
	s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	(void)gcp_parse_duration(s, &secs);
	if (gcp_parse_version_id(s, &id, err, sizeof(err)) < 0) {
		empty_or_die(&id, sizeof(id));
		/* a pin that parsed from a fixed text, for the checks */
		if (gcp_parse_version_id("projects/p/locations/l/keyRings/r/cryptoKeys/k/"
					 "cryptoKeyVersions/1",
					 &id, err, sizeof(err)) < 0)
			abort();
	}
	free(s);

	(void)chk_gcp_key_state(&id, rv == 0 ? &v : NULL, rv < 0, NULL, NOW, &f);
	(void)chk_gcp_key_age(&id, rv == 0 ? &v : NULL, NOW - 86400, rk == 0 ? &k : NULL, NULL,
			      NOW, &f);
	{
		struct gcp_read rd[2] = {
			{.op = GCPOP_KEY_VERSION, .resource = id.full, .outcome = GCP_READ_HTTP,
			 .http_status = 403, .error = &e},
			{.op = GCPOP_CRYPTO_KEY, .resource = id.key_name, .outcome = GCP_READ_TOKEN,
			 .http_status = 400, .token_error = &e},
		};
		(void)chk_gcp_access(rd, 2, NULL, &f);
	}
	findings_free(&f);
	if (rv == 0)
		gcp_key_version_free(&v);
	if (rk == 0)
		gcp_crypto_key_free(&k);
	return 0;
}
