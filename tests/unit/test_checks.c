/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/checks.c: the catalogue (names, MESSAGE_IDs,
 * severities, priorities, Nagios codes), the findings list, atlas.access
 * for every failure class, and ear.valid / ear.enabled / ear.config with
 * the key memory they hand on.
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

#include "atlas.h"
#include "atlas_checks.h"
#include "checks.h"
#include "config.h"
#include "kms.h"
#include "msgid.h"
#include "util.h"

/* ---- helpers --------------------------------------------------------- */

static const struct finding *
find(const struct findings *f, enum check_id c, const char *subject)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == c && strcmp(f->v[i].subject, subject) == 0)
			return &f->v[i];
	return NULL;
}

static size_t
count(const struct findings *f, enum check_id c)
{
	size_t n = 0;

	for (size_t i = 0; i < f->n; i++)
		n += f->v[i].check == c;
	return n;
}

static void
assert_one_line(const struct findings *f)
{
	for (size_t i = 0; i < f->n; i++) {
		for (const char *p = f->v[i].summary; *p; p++)
			if ((unsigned char)*p < 0x20)
				fail_msg("control character in \"%s\"", f->v[i].summary);
	}
}

#define assert_contains(hay, needle)                                                              \
	do {                                                                                      \
		if (strstr((hay), (needle)) == NULL)                                              \
			fail_msg("\"%s\" lacks \"%s\"", (hay), (needle));                         \
	} while (0)

static void
all_on(struct cfg_checks *c)
{
	memset(c, 0, sizeof(*c));
	for (int i = 0; i < CHK__COUNT; i++)
		c->enabled[i] = true;
}

static void
ear_from(const char *json, struct atlas_ear *ear)
{
	char err[128];

	if (atlas_parse_ear(json, strlen(json), ear, err, sizeof(err)) != 0)
		fail_msg("bad test body (%s): %s", err, json);
}

/* ---- catalogue ------------------------------------------------------- */

static void
test_catalogue_names(void **state)
{
	static const char *names[CHK__COUNT] = {
		"atlas.access",        "ear.valid",           "ear.enabled",
		"ear.config",          "ear.clusters",        "ear.role",
		"ear.private_endpoint", "atlas.events",
		"azure.secret_expiry", "azure.key_state",     "azure.key_age",
		"azure.key_version",   "azure.key_identifier", "azure.allowlist",
		"azure.permissions",   "azure.access",        "atlas.control_plane_ips",
		"atlas.credential_expiry",
		"aws.key_state",       "aws.key_age",         "aws.access",
		/* Google Cloud KMS */
		"gcp.key_state",       "gcp.key_age",         "gcp.access",
	};

	(void)state;
	for (int i = 0; i < CHK__COUNT; i++) {
		assert_string_equal(check_name((enum check_id)i), names[i]);
		assert_int_equal(check_from_name(names[i]), i);
	}
	assert_int_equal(check_from_name("ear.Valid"), -EINVAL);
	assert_int_equal(check_from_name("ear"), -EINVAL);
	assert_int_equal(check_from_name(""), -EINVAL);
	assert_int_equal(check_from_name(NULL), -EINVAL);
	assert_string_equal(check_name(CHK__COUNT), "");
	assert_string_equal(check_name((enum check_id)-1), "");
}

/* Each provider brings its own rows: every one of them must be named for
 * it, and no check may be claimed twice (the lookup takes the first). */
static void
test_kms_table_owns_its_rows(void **state)
{
	int owners[CHK__COUNT] = {0};

	(void)state;
	assert_true(kms_count >= 3);
	for (size_t k = 0; k < kms_count; k++) {
		const struct kms_desc *d = kms_table[k];
		size_t plen = strlen(d->name);

		assert_ptr_equal(kms_find(d->id), d);
		assert_int_equal(provider_from_name(d->name), (int)d->id);
		assert_int_equal(provider_from_name(d->atlas_name), (int)d->id);
		assert_string_equal(provider_name(d->id), d->name);
		assert_true(d->n_checks > 0);
		for (size_t i = 0; i < d->n_checks; i++) {
			const struct check_row *r = &d->checks[i];

			assert_true((unsigned)r->id < CHK__COUNT);
			owners[r->id]++;
			if (strncmp(r->name, d->name, plen) != 0 || r->name[plen] != '.')
				fail_msg("%s claims %s", d->name, r->name);
			assert_ptr_equal(check_name(r->id), r->name);
		}
		if (k > 0)
			assert_true(kms_table[k - 1]->id < d->id); /* enum order */
	}
	for (int i = 0; i < CHK__COUNT; i++)
		assert_true(owners[i] <= 1);
	assert_null(kms_find(PROV_NONE));
	assert_string_equal(provider_name(PROV_NONE), "");
	assert_string_equal(provider_atlas_name(PROV_NONE), "NONE");
	assert_int_equal(provider_from_name("None"), PROV_NONE);
	assert_int_equal(provider_from_name("oci"), -EINVAL);
	assert_true(check_held_while_ear_invalid(CHK_AZURE_KEY_AGE));
	assert_true(check_held_while_ear_invalid(CHK_AWS_KEY_AGE));
	assert_false(check_held_while_ear_invalid(CHK_EAR_VALID));
	assert_false(check_held_while_ear_invalid(CHK__COUNT));
}

static void
test_catalogue_msgids(void **state)
{
	static const char *ids[CHK__COUNT] = {
		MSGID_ATLAS_ACCESS,       MSGID_EAR_VALID,         MSGID_EAR_ENABLED,
		MSGID_EAR_CONFIG,         MSGID_EAR_CLUSTERS,      MSGID_EAR_ROLE,
		MSGID_EAR_PRIVATE_ENDPOINT, MSGID_ATLAS_EVENTS,
		MSGID_AZURE_SECRET_EXPIRY, MSGID_AZURE_KEY_STATE,  MSGID_AZURE_KEY_AGE,
		MSGID_AZURE_KEY_VERSION,  MSGID_AZURE_KEY_IDENTIFIER, MSGID_AZURE_ALLOWLIST,
		MSGID_AZURE_PERMISSIONS,  MSGID_AZURE_ACCESS,      MSGID_ATLAS_CONTROL_PLANE_IPS,
		MSGID_ATLAS_CREDENTIAL_EXPIRY,
		MSGID_AWS_KEY_STATE,      MSGID_AWS_KEY_AGE,       MSGID_AWS_ACCESS,
		/* Google Cloud KMS */
		MSGID_GCP_KEY_STATE,      MSGID_GCP_KEY_AGE,       MSGID_GCP_ACCESS,
	};

	(void)state;
	for (int i = 0; i < CHK__COUNT; i++) {
		const char *m = check_msgid((enum check_id)i);

		assert_string_equal(m, ids[i]);
		assert_int_equal(strlen(m), 32);
		assert_int_equal(strspn(m, "0123456789abcdef"), 32);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(m, check_msgid((enum check_id)j));
	}
	assert_string_equal(check_msgid(CHK__COUNT), "");
}

static void
test_severities(void **state)
{
	(void)state;
	assert_string_equal(severity_name(SEV_OK), "ok");
	assert_string_equal(severity_name(SEV_INFO), "info");
	assert_string_equal(severity_name(SEV_WARNING), "warning");
	assert_string_equal(severity_name(SEV_UNKNOWN), "unknown");
	assert_string_equal(severity_name(SEV_CRITICAL), "critical");
	assert_string_equal(severity_name((enum severity)99), "");
	for (int s = SEV_OK; s <= SEV_CRITICAL; s++)
		assert_int_equal(severity_from_name(severity_name((enum severity)s)), s);
	assert_int_equal(severity_from_name("CRITICAL"), -EINVAL);
	assert_int_equal(severity_from_name("error"), -EINVAL);
	assert_int_equal(severity_from_name(NULL), -EINVAL);

	/* journald PRIORITY of docs/INTERFACE.md */
	assert_int_equal(severity_priority(SEV_CRITICAL), 2);
	assert_int_equal(severity_priority(SEV_UNKNOWN), 3);
	assert_int_equal(severity_priority(SEV_WARNING), 4);
	assert_int_equal(severity_priority(SEV_OK), 5);
	assert_int_equal(severity_priority(SEV_INFO), 6);
	/* Nagios */
	assert_int_equal(severity_nagios(SEV_OK), 0);
	assert_int_equal(severity_nagios(SEV_INFO), 0);
	assert_int_equal(severity_nagios(SEV_WARNING), 1);
	assert_int_equal(severity_nagios(SEV_CRITICAL), 2);
	assert_int_equal(severity_nagios(SEV_UNKNOWN), 3);
	assert_int_equal(severity_nagios((enum severity)99), 3);
	/* urgency order used to fold results */
	assert_true(SEV_OK < SEV_INFO && SEV_INFO < SEV_WARNING && SEV_WARNING < SEV_UNKNOWN &&
		    SEV_UNKNOWN < SEV_CRITICAL);
}

static void
test_providers(void **state)
{
	(void)state;
	assert_string_equal(provider_name(PROV_NONE), "");
	assert_string_equal(provider_name(PROV_AWS), "aws");
	assert_string_equal(provider_name(PROV_AZURE), "azure");
	assert_string_equal(provider_name(PROV_GCP), "gcp");
	assert_string_equal(provider_atlas_name(PROV_NONE), "NONE");
	assert_string_equal(provider_atlas_name(PROV_AWS), "AWS");
	assert_string_equal(provider_atlas_name(PROV_AZURE), "AZURE");
	assert_string_equal(provider_atlas_name(PROV_GCP), "GCP");
	assert_int_equal(provider_from_name("azure"), PROV_AZURE);
	assert_int_equal(provider_from_name("AZURE"), PROV_AZURE);
	assert_int_equal(provider_from_name("aws"), PROV_AWS);
	assert_int_equal(provider_from_name("GCP"), PROV_GCP);
	assert_int_equal(provider_from_name("NONE"), PROV_NONE);
	assert_int_equal(provider_from_name("oci"), -EINVAL);
	assert_int_equal(provider_from_name(""), -EINVAL);
	assert_int_equal(provider_from_name(NULL), -EINVAL);
}

/* ---- findings -------------------------------------------------------- */

static void
test_findings_list(void **state)
{
	struct findings f = {0};
	struct finding *x;

	(void)state;
	x = findings_add(&f, CHK_EAR_VALID, SEV_CRITICAL, PROV_AZURE, "azure", "%s %d", "n", 1);
	assert_non_null(x);
	assert_int_equal(x->check, CHK_EAR_VALID);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_string_equal(x->subject, "azure");
	assert_string_equal(x->summary, "n 1");
	assert_false(x->has_days_left);
	assert_false(x->has_age_days);
	assert_null(x->missing);
	/* NULL subject, control characters from API text */
	x = findings_add(&f, CHK_ATLAS_ACCESS, SEV_UNKNOWN, PROV_NONE, NULL, "a\nb\r%s",
			 "c\td\x1b");
	assert_string_equal(x->subject, "");
	assert_string_equal(x->summary, "a b c d ");
	x = findings_add(&f, CHK_EAR_CONFIG, SEV_INFO, PROV_NONE, "x\ny", "%s", "");
	assert_string_equal(x->subject, "x y");
	assert_string_equal(x->summary, "");
	/* growth keeps earlier entries */
	for (int i = 0; i < 1000; i++) {
		x = findings_add(&f, CHK_AZURE_ALLOWLIST, SEV_OK, PROV_AZURE, "s", "%d", i);
		assert_non_null(x);
	}
	x->missing = strdup("10.0.0.0/8"); /* owned by the list from now on */
	assert_int_equal(f.n, 1003);
	assert_string_equal(f.v[0].summary, "n 1");
	assert_string_equal(f.v[1002].summary, "999");
	f.evaluated[CHK_EAR_VALID] = true;
	findings_free(&f);
	assert_int_equal(f.n, 0);
	assert_null(f.v);
	assert_false(f.evaluated[CHK_EAR_VALID]);
	findings_free(&f);
	findings_free(NULL);
	assert_null(findings_add(NULL, CHK_EAR_VALID, SEV_OK, PROV_NONE, "", "x"));
}

/* ---- atlas.access ---------------------------------------------------- */

static const struct finding *
access_one(struct findings *out, const struct atlas_fetch *f)
{
	findings_free(out);
	assert_int_equal(chk_atlas_access(f, out), 0);
	assert_true(out->evaluated[CHK_ATLAS_ACCESS]);
	assert_int_equal(out->n, 1);
	assert_int_equal(out->v[0].check, CHK_ATLAS_ACCESS);
	assert_string_equal(out->v[0].subject, "atlas-api");
	assert_int_equal(out->v[0].provider, PROV_NONE);
	assert_one_line(out);
	return &out->v[0];
}

static void
test_access_ok(void **state)
{
	struct findings out = {0};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_OK, .http_status = 200};
	const struct finding *x;

	(void)state;
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_OK);
	/* only atlas.access was judged */
	for (int i = 0; i < CHK__COUNT; i++)
		assert_int_equal(out.evaluated[i], i == CHK_ATLAS_ACCESS);
	findings_free(&out);
	assert_int_equal(chk_atlas_access(NULL, &out), -EINVAL);
	assert_int_equal(chk_atlas_access(&f, NULL), -EINVAL);
}

static void
test_access_401(void **state)
{
	struct findings out = {0};
	struct atlas_error e = {.error = 401};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_HTTP, .http_status = 401, .error = &e};
	const struct finding *x;

	(void)state;
	snprintf(e.error_code, sizeof(e.error_code), "UNAUTHORIZED");
	snprintf(e.detail, sizeof(e.detail), "You are not authorized for this resource.");
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_string_equal(x->summary,
			    "Atlas rejected kmswatch's credentials (401 UNAUTHORIZED: You are not "
			    "authorized for this resource.): check atlas.service_account/api_key "
			    "and the API access list");
	/* some 401s carry no errorCode */
	e.error_code[0] = '\0';
	x = access_one(&out, &f);
	assert_contains(x->summary, "(401: You are not authorized for this resource.)");
	/* and some no body at all */
	f.error = NULL;
	x = access_one(&out, &f);
	assert_contains(x->summary, "credentials (401): check");
	findings_free(&out);
}

static void
test_access_403_404(void **state)
{
	struct findings out = {0};
	struct atlas_error e = {.error = 403};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_HTTP, .http_status = 403, .error = &e};
	const struct finding *x;

	(void)state;
	snprintf(e.error_code, sizeof(e.error_code), "USER_CANNOT_ACCESS_GROUP");
	snprintf(e.detail, sizeof(e.detail), "Insufficient permissions.");
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "403 USER_CANNOT_ACCESS_GROUP: Insufficient permissions.");
	assert_contains(x->summary, "Project Read Only");

	/* the API access list is a different fix */
	snprintf(e.error_code, sizeof(e.error_code), "IP_ADDRESS_NOT_ON_ACCESS_LIST");
	snprintf(e.detail, sizeof(e.detail), "IP address 192.0.2.7 is not allowed.");
	x = access_one(&out, &f);
	assert_contains(x->summary, "IP_ADDRESS_NOT_ON_ACCESS_LIST");
	assert_contains(x->summary, "192.0.2.7");
	assert_contains(x->summary, "API access list");

	e.error = f.http_status = 404;
	snprintf(e.error_code, sizeof(e.error_code), "GROUP_NOT_FOUND");
	snprintf(e.detail, sizeof(e.detail), "No group with ID 65a1b2c3d4e5f60718293a00 exists.");
	x = access_one(&out, &f);
	assert_string_equal(x->summary,
			    "Atlas knows no project with this id (404 GROUP_NOT_FOUND: No group "
			    "with ID 65a1b2c3d4e5f60718293a00 exists.): check projects[].id, and "
			    "that kmswatch's service account or API key belongs to the project's "
			    "organization");

	snprintf(e.error_code, sizeof(e.error_code), "RESOURCE_NOT_FOUND");
	x = access_one(&out, &f);
	assert_contains(x->summary, "404 RESOURCE_NOT_FOUND");
	assert_contains(x->summary, "atlas.base_url");
	findings_free(&out);
}

static void
test_access_429_5xx(void **state)
{
	struct findings out = {0};
	struct atlas_error e = {.error = 429};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_HTTP, .http_status = 429, .error = &e,
				.retries = 3};
	const struct finding *x;

	(void)state;
	snprintf(e.error_code, sizeof(e.error_code), "RATE_LIMITED_TOKEN_BUCKET");
	snprintf(e.detail, sizeof(e.detail), "Rate limit exceeded. Please retry after 55 seconds.");
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "rate-limiting kmswatch after 3 retries (429 "
				    "RATE_LIMITED_TOKEN_BUCKET: Rate limit exceeded.");
	assert_contains(x->summary, "poll_interval");
	f.retries = 1;
	x = access_one(&out, &f);
	assert_contains(x->summary, "after 1 retry (");

	f.http_status = 503;
	f.error = NULL;
	f.retries = 4;
	x = access_one(&out, &f);
	assert_contains(x->summary, "server error after 4 retries (503)");
	f.http_status = 500;
	f.error = &e;
	e.error = 500;
	snprintf(e.error_code, sizeof(e.error_code), "UNEXPECTED_ERROR");
	snprintf(e.detail, sizeof(e.detail), "Unexpected error.");
	x = access_one(&out, &f);
	assert_contains(x->summary, "(500 UNEXPECTED_ERROR: Unexpected error.)");
	assert_contains(x->summary, "status.mongodb.com");

	f.http_status = 406;
	f.error = NULL;
	f.retries = 0;
	x = access_one(&out, &f);
	assert_contains(x->summary, "API version");
	f.http_status = 418;
	x = access_one(&out, &f);
	assert_contains(x->summary, "unexpected HTTP status (418)");
	findings_free(&out);
}

static void
test_access_transport_and_body(void **state)
{
	struct findings out = {0};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_TRANSPORT, .retries = 2};
	const struct finding *x;

	(void)state;
	snprintf(f.detail, sizeof(f.detail),
		 "SSL certificate problem: unable to get local issuer certificate");
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "could not reach Atlas after 2 retries (SSL certificate "
				    "problem: unable to get local issuer certificate)");
	assert_contains(x->summary, "atlas.ca_file");
	f.detail[0] = '\0';
	x = access_one(&out, &f);
	assert_contains(x->summary, "(no detail available)");

	f = (struct atlas_fetch){.outcome = ATLAS_FETCH_BAD_BODY, .http_status = 200};
	snprintf(f.detail, sizeof(f.detail), "azureKeyVault.enabled is not a boolean");
	x = access_one(&out, &f);
	assert_contains(x->summary, "malformed");
	assert_contains(x->summary, "(200: azureKeyVault.enabled is not a boolean)");

	/* text from outside stays on one line */
	snprintf(f.detail, sizeof(f.detail), "line 1\nline 2\r\n");
	x = access_one(&out, &f);
	assert_contains(x->summary, "line 1 line 2");
	findings_free(&out);
}

static void
test_access_auth(void **state)
{
	struct findings out = {0};
	struct atlas_error e = {0};
	struct atlas_fetch f = {.outcome = ATLAS_FETCH_AUTH, .http_status = 401};
	const struct finding *x;

	(void)state;
	/* the token endpoint's OAuth error as atlas_parse_token reports it */
	snprintf(f.detail, sizeof(f.detail), "invalid_client: Invalid client credentials");
	x = access_one(&out, &f);
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "(401: invalid_client: Invalid client credentials)");
	assert_contains(x->summary, "client_secret");
	/* or parsed into an atlas_error */
	snprintf(e.error_code, sizeof(e.error_code), "invalid_client");
	snprintf(e.detail, sizeof(e.detail), "Invalid client credentials");
	f.error = &e;
	f.detail[0] = '\0';
	x = access_one(&out, &f);
	assert_contains(x->summary, "(401 invalid_client: Invalid client credentials)");
	/* Atlas's own detail wins over the caller's restatement */
	snprintf(f.detail, sizeof(f.detail), "HTTP 401 from the token endpoint");
	x = access_one(&out, &f);
	assert_contains(x->summary, "(401 invalid_client: Invalid client credentials)");
	assert_null(strstr(x->summary, "from the token endpoint"));
	/* without it, the caller's detail is used */
	e.detail[0] = '\0';
	x = access_one(&out, &f);
	assert_contains(x->summary, "(401 invalid_client: HTTP 401 from the token endpoint)");

	f = (struct atlas_fetch){.outcome = ATLAS_FETCH_AUTH, .retries = 2};
	snprintf(f.detail, sizeof(f.detail), "Could not resolve host: cloud.mongodb.com");
	x = access_one(&out, &f);
	assert_contains(x->summary, "token endpoint after 2 retries (Could not resolve host");

	f.http_status = 502;
	x = access_one(&out, &f);
	assert_contains(x->summary, "token endpoint failed after 2 retries (502: ");
	findings_free(&out);
}

/* ---- ear.* ----------------------------------------------------------- */

static const char AZ_OK[] =
	"{\"awsKms\":{\"enabled\":false,\"valid\":false},"
	"\"azureKeyVault\":{\"azureEnvironment\":\"AZURE\",\"clientID\":\"c1\",\"enabled\":true,"
	"\"keyIdentifier\":\"https://kv1.vault.azure.net/keys/k/v1\",\"keyVaultName\":\"kv1\","
	"\"requirePrivateNetworking\":false,\"resourceGroupName\":\"rg1\",\"roleId\":\"r1\","
	"\"subscriptionID\":\"s1\",\"tenantID\":\"t1\",\"valid\":true},"
	"\"googleCloudKms\":{\"enabled\":false,\"valid\":false}}";

struct run {
	struct atlas_ear ear;
	struct findings out;
	struct ear_memory mem;
};

static void
run_ear(struct run *r, const char *json, enum provider expect, const struct cfg_checks *cc,
	const struct ear_memory *prev, time_t now)
{
	ear_from(json, &r->ear);
	memset(&r->out, 0, sizeof(r->out));
	memset(&r->mem, 0, sizeof(r->mem));
	assert_int_equal(chk_ear(&r->ear, expect, cc, prev, now, &r->out, &r->mem), 0);
	assert_one_line(&r->out);
}

static void
run_free(struct run *r)
{
	atlas_ear_free(&r->ear);
	findings_free(&r->out);
	ear_memory_free(&r->mem);
}

static void
test_ear_valid_true(void **state)
{
	struct cfg_checks cc;
	struct run r;
	const struct finding *x;

	(void)state;
	all_on(&cc);
	run_ear(&r, AZ_OK, PROV_NONE, &cc, NULL, 1000);
	x = find(&r.out, CHK_EAR_VALID, "azure");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_int_equal(count(&r.out, CHK_EAR_VALID), 1);
	assert_true(r.out.evaluated[CHK_EAR_VALID]);
	/* no expectation: a verdict with nothing to report */
	assert_true(r.out.evaluated[CHK_EAR_ENABLED]);
	assert_int_equal(count(&r.out, CHK_EAR_ENABLED), 0);
	/* first observation: baseline, no change */
	assert_true(r.out.evaluated[CHK_EAR_CONFIG]);
	assert_int_equal(count(&r.out, CHK_EAR_CONFIG), 0);
	assert_false(r.out.evaluated[CHK_ATLAS_ACCESS]);
	assert_false(r.out.evaluated[CHK_AZURE_KEY_AGE]);
	/* memory */
	assert_non_null(r.mem.fingerprint);
	assert_contains(r.mem.fingerprint, "keyIdentifier=https://kv1.vault.azure.net/keys/k/v1\n");
	assert_string_equal(r.mem.key_id, "https://kv1.vault.azure.net/keys/k/v1");
	assert_int_equal(r.mem.key_first_seen, 1000);
	run_free(&r);
}

static void
test_ear_valid_false(void **state)
{
	struct run r;
	const struct finding *x;

	(void)state;
	/* NULL checks: everything on */
	run_ear(&r,
		"{\"azureKeyVault\":{\"enabled\":true,\"valid\":false,\"keyIdentifier\":"
		"\"https://kv1.vault.azure.net/keys/k/v1\",\"keyVaultName\":\"kv1\","
		"\"clientID\":\"c1\"}}",
		PROV_AZURE, NULL, NULL, 1000);
	x = find(&r.out, CHK_EAR_VALID, "azure");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_contains(x->summary, "Atlas will shut down every mongod/mongos of this project at "
				    "its next 15-minute validation");
	assert_contains(x->summary, "https://kv1.vault.azure.net/keys/k/v1");
	assert_contains(x->summary, "enabled");
	assert_contains(x->summary, "client secret");
	assert_contains(x->summary, "firewall of Key Vault kv1");
	/* the provider is enabled as expected: ear.enabled is fine */
	x = find(&r.out, CHK_EAR_ENABLED, "azure");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	run_free(&r);

	run_ear(&r, "{\"awsKms\":{\"enabled\":true,\"valid\":false,\"customerMasterKeyID\":\"K\"}}",
		PROV_NONE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_VALID, "aws");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AWS);
	assert_contains(x->summary, "15-minute");
	assert_contains(x->summary, "KMS key K");
	run_free(&r);

	run_ear(&r, "{\"googleCloudKms\":{\"enabled\":true,\"valid\":false}}", PROV_NONE, NULL,
		NULL, 1);
	x = find(&r.out, CHK_EAR_VALID, "gcp");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "key version (not reported)");
	run_free(&r);
}

static void
test_ear_valid_absent_and_none(void **state)
{
	struct run r;
	const struct finding *x;

	(void)state;
	/* enabled but no "valid": blind, so unknown, never ok */
	run_ear(&r, "{\"azureKeyVault\":{\"enabled\":true}}", PROV_NONE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_VALID, "azure");
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "valid");
	run_free(&r);

	/* nothing enabled: one ok, subject "none"; a disabled provider's
	 * valid:false is not a problem */
	static const char *none[] = {"{}", "{\"azureKeyVault\":{\"enabled\":false,\"valid\":false}}",
				     "{\"awsKms\":{\"valid\":false}}"};
	for (size_t i = 0; i < ARRAY_SIZE(none); i++) {
		run_ear(&r, none[i], PROV_NONE, NULL, NULL, 1);
		assert_int_equal(count(&r.out, CHK_EAR_VALID), 1);
		x = find(&r.out, CHK_EAR_VALID, "none");
		assert_non_null(x);
		assert_int_equal(x->severity, SEV_OK);
		assert_int_equal(x->provider, PROV_NONE);
		assert_null(r.mem.key_id);
		assert_int_equal(r.mem.key_first_seen, 0);
		assert_string_equal(r.mem.fingerprint, "provider=none\n");
		run_free(&r);
	}
}

static void
test_ear_multiple_providers(void **state)
{
	struct run r;

	(void)state;
	run_ear(&r,
		"{\"azureKeyVault\":{\"enabled\":true,\"valid\":false},"
		"\"awsKms\":{\"enabled\":true,\"valid\":true},"
		"\"googleCloudKms\":{\"enabled\":true}}",
		PROV_AZURE, NULL, NULL, 1);
	assert_int_equal(count(&r.out, CHK_EAR_VALID), 3);
	assert_int_equal(find(&r.out, CHK_EAR_VALID, "azure")->severity, SEV_CRITICAL);
	assert_int_equal(find(&r.out, CHK_EAR_VALID, "aws")->severity, SEV_OK);
	assert_int_equal(find(&r.out, CHK_EAR_VALID, "gcp")->severity, SEV_UNKNOWN);
	assert_null(find(&r.out, CHK_EAR_VALID, "none"));
	assert_int_equal(find(&r.out, CHK_EAR_ENABLED, "azure")->severity, SEV_OK);
	run_free(&r);
}

static void
test_ear_enabled_mismatch(void **state)
{
	struct run r;
	const struct finding *x;

	(void)state;
	/* expected Azure, Atlas has AWS */
	run_ear(&r, "{\"awsKms\":{\"enabled\":true,\"valid\":true},"
		    "\"azureKeyVault\":{\"enabled\":false}}",
		PROV_AZURE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_ENABLED, "azure");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_contains(x->summary, "Azure Key Vault is not enabled");
	assert_contains(x->summary, "AWS KMS enabled instead");
	assert_contains(x->summary, "expect_provider");
	assert_int_equal(count(&r.out, CHK_EAR_ENABLED), 1);
	run_free(&r);

	/* expected Azure, nothing enabled (providers omitted entirely) */
	run_ear(&r, "{}", PROV_AZURE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_ENABLED, "azure");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "no other customer key provider");
	run_free(&r);

	/* expected GCP, Azure and AWS both on */
	run_ear(&r, "{\"awsKms\":{\"enabled\":true},\"azureKeyVault\":{\"enabled\":true}}",
		PROV_GCP, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_ENABLED, "gcp");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "AWS KMS and Azure Key Vault enabled instead");
	run_free(&r);

	/* the expected provider's object without "enabled": do not guess */
	run_ear(&r, "{\"azureKeyVault\":{\"valid\":true}}", PROV_AZURE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_ENABLED, "azure");
	assert_int_equal(x->severity, SEV_UNKNOWN);
	run_free(&r);

	/* expected and enabled */
	run_ear(&r, AZ_OK, PROV_AZURE, NULL, NULL, 1);
	x = find(&r.out, CHK_EAR_ENABLED, "azure");
	assert_int_equal(x->severity, SEV_OK);
	run_free(&r);
}

/* Replace the value of "key" in AZ_OK (first occurrence). */
static char *
az_with(const char *key, const char *json_value)
{
	char pat[64], *out, *p, *q;
	struct strbuf b = {0};

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(AZ_OK, pat);
	assert_non_null(p);
	p += strlen(pat);
	q = p + strcspn(p, ",}");
	assert_int_equal(strbuf_append(&b, AZ_OK, (size_t)(p - AZ_OK)), 0);
	assert_int_equal(strbuf_puts(&b, json_value), 0);
	assert_int_equal(strbuf_puts(&b, q), 0);
	out = b.s;
	return out;
}

static void
test_ear_config_each_field(void **state)
{
	static const struct {
		const char *key, *newval, *line;
		bool key_changes;
	} cases[] = {
		{"azureEnvironment", "\"AZURE_US_GOVERNMENT\"",
		 "azureEnvironment: AZURE -> AZURE_US_GOVERNMENT", false},
		{"clientID", "\"c2\"", "clientID: c1 -> c2", false},
		{"tenantID", "\"t2\"", "tenantID: t1 -> t2", false},
		{"subscriptionID", "\"s2\"", "subscriptionID: s1 -> s2", false},
		{"resourceGroupName", "\"rg2\"", "resourceGroupName: rg1 -> rg2", false},
		{"keyVaultName", "\"kv2\"", "keyVaultName: kv1 -> kv2", false},
		{"keyIdentifier", "\"https://kv1.vault.azure.net/keys/k/v2\"",
		 "keyIdentifier: https://kv1.vault.azure.net/keys/k/v1 -> "
		 "https://kv1.vault.azure.net/keys/k/v2",
		 true},
		{"roleId", "\"r2\"", "roleId: r1 -> r2", false},
		{"requirePrivateNetworking", "true", "requirePrivateNetworking: false -> true", false},
		{"roleId", "null", "roleId: r1 -> (none)", false},
	};
	struct run base, r;
	const struct finding *x;

	(void)state;
	run_ear(&base, AZ_OK, PROV_NONE, NULL, NULL, 1000);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *json = az_with(cases[i].key, cases[i].newval);
		char want[256];

		run_ear(&r, json, PROV_NONE, NULL, &base.mem, 5000);
		assert_true(r.out.evaluated[CHK_EAR_CONFIG]);
		assert_int_equal(count(&r.out, CHK_EAR_CONFIG), 1);
		x = find(&r.out, CHK_EAR_CONFIG, "azure");
		assert_non_null(x);
		assert_int_equal(x->severity, SEV_INFO);
		assert_int_equal(x->provider, PROV_AZURE);
		/* exactly the one changed field */
		snprintf(want, sizeof(want),
			 "encryption-at-rest configuration changed in Atlas: %s", cases[i].line);
		assert_string_equal(x->summary, want);
		/* a new key identifier restarts the key age; nothing else does */
		assert_int_equal(r.mem.key_first_seen, cases[i].key_changes ? 5000 : 1000);
		run_free(&r);
		free(json);
	}
	/* unchanged: no finding, first-seen kept */
	run_ear(&r, AZ_OK, PROV_NONE, NULL, &base.mem, 9000);
	assert_true(r.out.evaluated[CHK_EAR_CONFIG]);
	assert_int_equal(count(&r.out, CHK_EAR_CONFIG), 0);
	assert_int_equal(r.mem.key_first_seen, 1000);
	assert_string_equal(r.mem.fingerprint, base.mem.fingerprint);
	run_free(&r);
	run_free(&base);
}

static void
test_ear_config_provider_switch(void **state)
{
	struct run a, b;
	const struct finding *x;

	(void)state;
	run_ear(&a, AZ_OK, PROV_NONE, NULL, NULL, 100);
	run_ear(&b, "{\"awsKms\":{\"enabled\":true,\"valid\":true,\"customerMasterKeyID\":\"K\","
		    "\"region\":\"EU_WEST_1\"}}",
		PROV_NONE, NULL, &a.mem, 200);
	x = find(&b.out, CHK_EAR_CONFIG, "aws");
	assert_non_null(x);
	assert_contains(x->summary, "provider: azure -> aws");
	assert_contains(x->summary, "customerMasterKeyID: (none) -> K");
	assert_contains(x->summary, "region: (none) -> EU_WEST_1");
	assert_contains(x->summary, "keyIdentifier: https://kv1.vault.azure.net/keys/k/v1 -> (none)");
	assert_contains(x->summary, "roleId: r1 -> (none)");
	/* fields empty on both sides are not changes */
	assert_null(strstr(x->summary, "accessKeyID"));
	assert_string_equal(b.mem.key_id, "K");
	assert_int_equal(b.mem.key_first_seen, 200);
	run_free(&b);

	/* EAR switched off */
	run_ear(&b, "{\"azureKeyVault\":{\"enabled\":false}}", PROV_NONE, NULL, &a.mem, 300);
	x = find(&b.out, CHK_EAR_CONFIG, "none");
	assert_non_null(x);
	assert_contains(x->summary, "provider: azure -> none");
	assert_null(b.mem.key_id);
	assert_int_equal(b.mem.key_first_seen, 0);
	run_free(&b);
	run_free(&a);
}

static void
test_ear_first_observation(void **state)
{
	struct ear_memory empty = {0};
	struct run r;

	(void)state;
	/* remembered nothing yet (NULL fingerprint) */
	run_ear(&r, AZ_OK, PROV_NONE, NULL, &empty, 4242);
	assert_int_equal(count(&r.out, CHK_EAR_CONFIG), 0);
	assert_true(r.out.evaluated[CHK_EAR_CONFIG]);
	assert_int_equal(r.mem.key_first_seen, 4242);
	run_free(&r);

	/* a key remembered without a first-seen time gets one now */
	empty.fingerprint = NULL;
	empty.key_id = (char *)"https://kv1.vault.azure.net/keys/k/v1";
	run_ear(&r, AZ_OK, PROV_NONE, NULL, &empty, 77);
	assert_int_equal(r.mem.key_first_seen, 77);
	run_free(&r);
}

static void
test_ear_disabled_checks(void **state)
{
	struct cfg_checks cc;
	struct run base, r;

	(void)state;
	run_ear(&base, AZ_OK, PROV_NONE, NULL, NULL, 10);
	all_on(&cc);
	cc.enabled[CHK_EAR_VALID] = false;
	run_ear(&r, "{\"azureKeyVault\":{\"enabled\":true,\"valid\":false}}", PROV_AWS, &cc,
		&base.mem, 20);
	assert_false(r.out.evaluated[CHK_EAR_VALID]);
	assert_int_equal(count(&r.out, CHK_EAR_VALID), 0);
	assert_true(r.out.evaluated[CHK_EAR_ENABLED]);
	assert_int_equal(find(&r.out, CHK_EAR_ENABLED, "aws")->severity, SEV_CRITICAL);
	assert_true(r.out.evaluated[CHK_EAR_CONFIG]);
	run_free(&r);

	/* everything off: no findings, no verdicts, but memory still moves on
	 * (the key age must not be lost while ear.config is muted) */
	cc.enabled[CHK_EAR_ENABLED] = false;
	cc.enabled[CHK_EAR_CONFIG] = false;
	{
		char *json = az_with("keyIdentifier", "\"https://kv1.vault.azure.net/keys/k/v9\"");
		run_ear(&r, json, PROV_AWS, &cc, &base.mem, 30);
		free(json);
	}
	assert_int_equal(r.out.n, 0);
	for (int i = 0; i < CHK__COUNT; i++)
		assert_false(r.out.evaluated[i]);
	assert_string_equal(r.mem.key_id, "https://kv1.vault.azure.net/keys/k/v9");
	assert_int_equal(r.mem.key_first_seen, 30);
	assert_string_not_equal(r.mem.fingerprint, base.mem.fingerprint);
	run_free(&r);

	/* only ear.config off */
	all_on(&cc);
	cc.enabled[CHK_EAR_CONFIG] = false;
	run_ear(&r, "{}", PROV_NONE, &cc, &base.mem, 40);
	assert_false(r.out.evaluated[CHK_EAR_CONFIG]);
	assert_int_equal(count(&r.out, CHK_EAR_CONFIG), 0);
	assert_true(r.out.evaluated[CHK_EAR_VALID]);
	run_free(&r);
	run_free(&base);
}

static void
test_ear_memory_in_place(void **state)
{
	struct atlas_ear ear;
	struct findings out = {0};
	struct ear_memory mem = {0};
	char *json;

	(void)state;
	ear_from(AZ_OK, &ear);
	assert_int_equal(chk_ear(&ear, PROV_AZURE, NULL, &mem, 100, &out, &mem), 0);
	assert_int_equal(mem.key_first_seen, 100);
	findings_free(&out);
	assert_int_equal(chk_ear(&ear, PROV_AZURE, NULL, &mem, 200, &out, &mem), 0);
	assert_int_equal(mem.key_first_seen, 100);
	assert_int_equal(count(&out, CHK_EAR_CONFIG), 0);
	findings_free(&out);
	atlas_ear_free(&ear);

	json = az_with("keyIdentifier", "\"https://kv1.vault.azure.net/keys/k/v2\"");
	ear_from(json, &ear);
	free(json);
	assert_int_equal(chk_ear(&ear, PROV_AZURE, NULL, &mem, 300, &out, &mem), 0);
	assert_int_equal(mem.key_first_seen, 300);
	assert_string_equal(mem.key_id, "https://kv1.vault.azure.net/keys/k/v2");
	assert_int_equal(count(&out, CHK_EAR_CONFIG), 1);
	findings_free(&out);
	atlas_ear_free(&ear);
	ear_memory_free(&mem);
	ear_memory_free(&mem);
	ear_memory_free(NULL);

	assert_int_equal(chk_ear(NULL, PROV_NONE, NULL, NULL, 0, &out, &mem), -EINVAL);
	ear_from("{}", &ear);
	assert_int_equal(chk_ear(&ear, PROV_NONE, NULL, NULL, 0, NULL, &mem), -EINVAL);
	assert_int_equal(chk_ear(&ear, PROV_NONE, NULL, NULL, 0, &out, NULL), -EINVAL);
	atlas_ear_free(&ear);
}

static void
test_ear_hostile_values(void **state)
{
	struct run a, b;
	const struct finding *x;

	(void)state;
	/* values with line breaks cannot break the one-line summary or forge
	 * a diff line */
	run_ear(&a, "{\"azureKeyVault\":{\"enabled\":true,\"valid\":false,"
		    "\"keyIdentifier\":\"k\\nroleId=x\",\"keyVaultName\":\"kv\\r\\n\"}}",
		PROV_NONE, NULL, NULL, 1);
	x = find(&a.out, CHK_EAR_VALID, "azure");
	assert_contains(x->summary, "key k roleId=x is enabled");
	run_ear(&b, "{\"azureKeyVault\":{\"enabled\":true,\"valid\":false,"
		    "\"keyIdentifier\":\"k\\nroleId=y\",\"keyVaultName\":\"kv\\r\\n\"}}",
		PROV_NONE, NULL, &a.mem, 2);
	x = find(&b.out, CHK_EAR_CONFIG, "azure");
	assert_non_null(x);
	assert_string_equal(x->summary, "encryption-at-rest configuration changed in Atlas: "
					"keyIdentifier: k\\x0aroleId=x -> k\\x0aroleId=y");
	run_free(&b);
	run_free(&a);
}

/* ---- ear.clusters ---------------------------------------------------- */

static void
clusters_from(const char *json, struct atlas_clusters *cl)
{
	char err[128];

	if (atlas_parse_clusters(json, strlen(json), cl, err, sizeof(err)) != 0)
		fail_msg("bad test body (%s): %s", err, json);
}

static void
cpa_from(const char *json, struct atlas_cpa *cpa)
{
	char err[128];

	if (atlas_parse_cloud_provider_access(json, strlen(json), cpa, err, sizeof(err)) != 0)
		fail_msg("bad test body (%s): %s", err, json);
}

static const char CLUSTERS_MIX[] =
	"{\"results\":["
	"{\"name\":\"prod-east\",\"encryptionAtRestProvider\":\"AZURE\",\"stateName\":\"IDLE\","
	"\"paused\":false},"
	"{\"name\":\"analytics\",\"encryptionAtRestProvider\":\"NONE\",\"stateName\":\"UPDATING\","
	"\"paused\":true},"
	"{\"name\":\"legacy\",\"encryptionAtRestProvider\":\"NONE\",\"stateName\":\"IDLE\","
	"\"paused\":false},"
	"{\"name\":\"aws-one\",\"encryptionAtRestProvider\":\"AWS\",\"stateName\":\"REPAIRING\"},"
	"{\"name\":\"going\",\"encryptionAtRestProvider\":\"NONE\",\"stateName\":\"DELETING\"},"
	"{\"name\":\"lower\",\"encryptionAtRestProvider\":\"azure\",\"paused\":true},"
	"{\"name\":\"silent\",\"stateName\":\"IDLE\"},"
	"{\"name\":\"future\",\"encryptionAtRestProvider\":\"KMIP\"},"
	"{\"id\":\"65b0c1d2e3f405162738495a\",\"encryptionAtRestProvider\":\"AZURE\"},"
	"{\"encryptionAtRestProvider\":\"AZURE\"},"
	"{\"name\":\"prod-east\",\"encryptionAtRestProvider\":\"NONE\"}"
	"],\"totalCount\":11}";

static void
test_clusters_project_azure(void **state)
{
	struct atlas_clusters cl;
	struct findings out = {0};
	struct cfg_checks cc;
	const struct finding *x;

	(void)state;
	all_on(&cc);
	clusters_from(CLUSTERS_MIX, &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, &cc, &out), 0);
	assert_one_line(&out);
	assert_true(out.evaluated[CHK_EAR_CLUSTERS]);
	assert_false(out.evaluated[CHK_EAR_ROLE]);
	assert_false(out.evaluated[CHK_EAR_VALID]);
	/* 11 entries - 1 deleting - 1 repeated name */
	assert_int_equal(out.n, 9);
	assert_int_equal(count(&out, CHK_EAR_CLUSTERS), 9);
	for (size_t i = 0; i < out.n; i++)
		assert_int_equal(out.v[i].provider, PROV_AZURE);

	/* the first listing of a name wins; its repeat is not judged */
	x = find(&out, CHK_EAR_CLUSTERS, "prod-east");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	assert_string_equal(x->summary,
			    "cluster prod-east is encrypted with the project's Azure Key Vault key");

	x = find(&out, CHK_EAR_CLUSTERS, "analytics");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "cluster analytics (paused, state UPDATING) is not encrypted "
				    "with the project's customer key (encryptionAtRestProvider NONE)");
	assert_contains(x->summary, "Azure Key Vault key does not cover it");
	assert_contains(x->summary, "set encryptionAtRestProvider to AZURE");
	assert_contains(x->summary, "silence ear.clusters for this cluster");
	assert_contains(x->summary, "resolves when Atlas finishes");

	x = find(&out, CHK_EAR_CLUSTERS, "legacy");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "cluster legacy is not encrypted");
	assert_null(strstr(x->summary, "paused"));
	assert_null(strstr(x->summary, "resolves when"));

	x = find(&out, CHK_EAR_CLUSTERS, "aws-one");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "cluster aws-one (state REPAIRING) is set to encrypt with AWS "
				    "KMS (encryptionAtRestProvider AWS), not with the project's "
				    "enabled provider Azure Key Vault");
	assert_contains(x->summary, "encryptionAtRestProvider to AZURE");
	assert_null(strstr(x->summary, "resolves when"));

	assert_null(find(&out, CHK_EAR_CLUSTERS, "going"));

	x = find(&out, CHK_EAR_CLUSTERS, "lower");
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "cluster lower (paused) is encrypted");

	x = find(&out, CHK_EAR_CLUSTERS, "silent");
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "no encryptionAtRestProvider");

	x = find(&out, CHK_EAR_CLUSTERS, "future");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "\"KMIP\", which kmswatch does not know, instead of the "
				    "project's provider Azure Key Vault (AZURE)");

	x = find(&out, CHK_EAR_CLUSTERS, "65b0c1d2e3f405162738495a");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	x = find(&out, CHK_EAR_CLUSTERS, "(unnamed cluster)");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);

	/* document order is kept */
	assert_string_equal(out.v[0].subject, "prod-east");
	assert_string_equal(out.v[1].subject, "analytics");
	findings_free(&out);

	/* the same listing against an AWS project */
	assert_int_equal(chk_ear_clusters(&cl, PROV_AWS, NULL, &out), 0);
	assert_int_equal(find(&out, CHK_EAR_CLUSTERS, "aws-one")->severity, SEV_OK);
	x = find(&out, CHK_EAR_CLUSTERS, "prod-east");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "set to encrypt with Azure Key Vault (encryptionAtRestProvider "
				    "AZURE), not with the project's enabled provider AWS KMS");
	assert_contains(find(&out, CHK_EAR_CLUSTERS, "legacy")->summary,
			"set encryptionAtRestProvider to AWS");
	findings_free(&out);
	atlas_clusters_free(&cl);
}

static void
test_clusters_project_none(void **state)
{
	struct atlas_clusters cl;
	struct findings out = {0};
	const struct finding *x;

	(void)state;
	clusters_from(CLUSTERS_MIX, &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_NONE, NULL, &out), 0);
	assert_one_line(&out);
	assert_true(out.evaluated[CHK_EAR_CLUSTERS]);
	assert_int_equal(out.n, 9);

	/* NONE is what every cluster must have without a project key */
	x = find(&out, CHK_EAR_CLUSTERS, "legacy");
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->provider, PROV_NONE);
	assert_contains(x->summary, "Atlas-managed encryption keys, as expected");
	x = find(&out, CHK_EAR_CLUSTERS, "analytics");
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "(paused, state UPDATING)");
	x = find(&out, CHK_EAR_CLUSTERS, "silent");
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "Atlas-managed keys are expected");

	/* a cluster naming a provider the project has not enabled */
	x = find(&out, CHK_EAR_CLUSTERS, "prod-east");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "is set to encrypt with Azure Key Vault (encryptionAtRestProvider "
				    "AZURE), but the project has no customer key provider enabled: "
				    "enable Azure Key Vault");
	assert_contains(x->summary, "or set the cluster's encryptionAtRestProvider to NONE");
	x = find(&out, CHK_EAR_CLUSTERS, "aws-one");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "AWS KMS");
	x = find(&out, CHK_EAR_CLUSTERS, "future");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "\"KMIP\", which kmswatch does not know, while the project has "
				    "no customer key provider enabled");
	findings_free(&out);
	atlas_clusters_free(&cl);
}

static void
test_clusters_edges(void **state)
{
	struct atlas_clusters cl;
	struct findings out = {0};
	struct cfg_checks cc;
	const struct finding *x;

	(void)state;
	all_on(&cc);
	/* no clusters: a verdict with nothing to report (old alerts resolve) */
	clusters_from("{\"results\":[]}", &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, &cc, &out), 0);
	assert_true(out.evaluated[CHK_EAR_CLUSTERS]);
	assert_int_equal(out.n, 0);
	findings_free(&out);
	atlas_clusters_free(&cl);

	/* only a deleting cluster: same */
	clusters_from("{\"results\":[{\"name\":\"a\",\"encryptionAtRestProvider\":\"NONE\","
		      "\"stateName\":\"deleting\"}]}",
		      &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, &cc, &out), 0);
	assert_true(out.evaluated[CHK_EAR_CLUSTERS]);
	assert_int_equal(out.n, 0);
	findings_free(&out);
	atlas_clusters_free(&cl);

	/* a deleting entry does not hide a live one of the same name */
	clusters_from("{\"results\":[{\"name\":\"a\",\"encryptionAtRestProvider\":\"AZURE\","
		      "\"stateName\":\"DELETING\"},{\"name\":\"a\",\"encryptionAtRestProvider\":"
		      "\"NONE\",\"stateName\":\"CREATING\"}]}",
		      &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, &cc, &out), 0);
	assert_int_equal(out.n, 1);
	x = find(&out, CHK_EAR_CLUSTERS, "a");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "(state CREATING)");
	assert_contains(x->summary, "resolves when Atlas finishes");

	/* switched off: nothing, not evaluated */
	findings_free(&out);
	cc.enabled[CHK_EAR_CLUSTERS] = false;
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, &cc, &out), 0);
	assert_false(out.evaluated[CHK_EAR_CLUSTERS]);
	assert_int_equal(out.n, 0);

	assert_int_equal(chk_ear_clusters(NULL, PROV_AZURE, NULL, &out), -EINVAL);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, NULL, NULL), -EINVAL);
	atlas_clusters_free(&cl);

	/* hostile names and values stay on one line */
	clusters_from("{\"results\":[{\"name\":\"x\\ny\",\"encryptionAtRestProvider\":"
		      "\"AZ\\r\\nURE\",\"stateName\":\"UP\\tDATING\"}]}",
		      &cl);
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, NULL, &out), 0);
	assert_one_line(&out);
	assert_int_equal(out.n, 1);
	assert_string_equal(out.v[0].subject, "x y");
	assert_int_equal(out.v[0].severity, SEV_WARNING);
	findings_free(&out);
	atlas_clusters_free(&cl);
}

static void
test_clusters_many(void **state)
{
	struct atlas_clusters cl = {0};
	struct findings out = {0};
	const size_t n = 5000;

	(void)state;
	cl.v = calloc(n, sizeof(*cl.v));
	assert_non_null(cl.v);
	cl.n = n;
	for (size_t i = 0; i < n; i++) {
		/* every name twice: 2500 subjects */
		cl.v[i].name = util_asprintf("c%05zu", i % (n / 2));
		cl.v[i].encryption_at_rest_provider = strdup(i % 3 ? "AZURE" : "NONE");
		assert_non_null(cl.v[i].name);
		assert_non_null(cl.v[i].encryption_at_rest_provider);
	}
	assert_int_equal(chk_ear_clusters(&cl, PROV_AZURE, NULL, &out), 0);
	assert_int_equal(out.n, n / 2);
	/* the first occurrence (index i < n/2) is the one judged */
	for (size_t i = 0; i < n / 2; i++) {
		assert_string_equal(out.v[i].subject, cl.v[i].name);
		assert_int_equal(out.v[i].severity, i % 3 ? SEV_OK : SEV_WARNING);
	}
	findings_free(&out);
	atlas_clusters_free(&cl);
}

/* ---- ear.role -------------------------------------------------------- */

#define ROLE_AZ "65a1b2c3d4e5f60718293a4b"
#define ROLE_AWS "65a1b2c3d4e5f60718293a4c"
#define ROLE_GCP "65a1b2c3d4e5f60718293a4d"

static const char EAR_AZ_ROLE[] =
	"{\"azureKeyVault\":{\"enabled\":true,\"valid\":true,\"keyVaultName\":\"contoso-kv\","
	"\"keyIdentifier\":\"https://contoso-kv.vault.azure.net/keys/k/v1\",\"roleId\":\"" ROLE_AZ
	"\",\"tenantID\":\"99999999-8888-4777-8666-555555555555\"}}";

static const char CPA_FULL[] =
	"{\"awsIamRoles\":[{\"roleId\":\"" ROLE_AWS "\",\"iamAssumedRoleArn\":"
	"\"arn:aws:iam::123456789012:role/atlas-kms\"},{\"roleId\":\"65a1b2c3d4e5f60718293a5c\"}],"
	"\"azureServicePrincipals\":[{\"_id\":\"65a1b2c3d4e5f60718293a00\",\"servicePrincipalId\":"
	"\"00000000-e5f6-4a7b-8c9d-0e1f2a3b4c5d\"},{\"_id\":\"" ROLE_AZ "\",\"providerName\":\"AZURE\","
	"\"atlasAzureAppId\":\"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\",\"servicePrincipalId\":"
	"\"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\",\"tenantId\":"
	"\"99999999-8888-4777-8666-555555555555\",\"featureUsages\":[{\"featureType\":"
	"\"ENCRYPTION_AT_REST\",\"featureId\":null}]}],"
	"\"gcpServiceAccounts\":[{\"roleId\":\"" ROLE_GCP "\",\"status\":\"COMPLETE\"},{\"roleId\":"
	"\"65a1b2c3d4e5f60718293a5d\",\"status\":\"FAILED\"}]}";

struct role_run {
	struct atlas_ear ear;
	struct atlas_cpa cpa;
	struct findings out;
};

static const struct finding *
run_role(struct role_run *r, const char *ear_json, const char *cpa_json,
	 const struct cfg_checks *cc)
{
	memset(r, 0, sizeof(*r));
	ear_from(ear_json, &r->ear);
	if (cpa_json != NULL)
		cpa_from(cpa_json, &r->cpa);
	assert_int_equal(chk_ear_role(&r->ear, cpa_json ? &r->cpa : NULL, cc, &r->out), 0);
	assert_one_line(&r->out);
	assert_true(r->out.n <= 1);
	for (size_t i = 0; i < r->out.n; i++)
		assert_int_equal(r->out.v[i].check, CHK_EAR_ROLE);
	return r->out.n ? &r->out.v[0] : NULL;
}

static void
role_free(struct role_run *r)
{
	atlas_ear_free(&r->ear);
	atlas_cpa_free(&r->cpa);
	findings_free(&r->out);
}

static void
test_role_azure(void **state)
{
	struct cfg_checks cc;
	struct role_run r;
	const struct finding *x;

	(void)state;
	all_on(&cc);
	x = run_role(&r, EAR_AZ_ROLE, CPA_FULL, &cc);
	assert_true(r.out.evaluated[CHK_EAR_ROLE]);
	assert_false(r.out.evaluated[CHK_EAR_CLUSTERS]);
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_string_equal(x->subject, ROLE_AZ);
	assert_string_equal(x->summary,
			    "roleId " ROLE_AZ " is Azure service principal "
			    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d (Atlas application "
			    "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a, tenant "
			    "99999999-8888-4777-8666-555555555555) in the project's Cloud "
			    "Provider Access");
	role_free(&r);

	/* the role is gone */
	x = run_role(&r, EAR_AZ_ROLE,
		     "{\"azureServicePrincipals\":[{\"_id\":\"65a1b2c3d4e5f60718293a00\"}],"
		     "\"awsIamRoles\":[],\"gcpServiceAccounts\":[]}",
		     &cc);
	assert_true(r.out.evaluated[CHK_EAR_ROLE]);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AZURE);
	assert_string_equal(x->subject, ROLE_AZ);
	assert_contains(x->summary, "the Azure Key Vault configuration names roleId " ROLE_AZ
				    ", but the project's Cloud Provider Access has no Azure service "
				    "principal with that id (1 listed): Atlas cannot authenticate to "
				    "Key Vault contoso-kv: it will shut down every mongod/mongos of "
				    "this project at its next 15-minute validation. Authorise");
	assert_contains(x->summary, "Project Settings, Integrations, Cloud Provider Access");
	role_free(&r);

	/* nothing at all in Cloud Provider Access */
	x = run_role(&r, EAR_AZ_ROLE, "{}", &cc);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "(0 listed)");
	role_free(&r);

	/* the id names a role of another kind */
	x = run_role(&r, EAR_AZ_ROLE, "{\"awsIamRoles\":[{\"roleId\":\"" ROLE_AZ "\"}]}", &cc);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "with that id (that id is an AWS IAM role) (0 listed)");
	role_free(&r);
	x = run_role(&r, EAR_AZ_ROLE, "{\"gcpServiceAccounts\":[{\"roleId\":\"" ROLE_AZ "\"}]}",
		     &cc);
	assert_contains(x->summary, "(that id is a GCP service account)");
	role_free(&r);

	/* case of the hex digits does not matter */
	x = run_role(&r,
		     "{\"azureKeyVault\":{\"enabled\":true,\"roleId\":\"65A1B2C3D4E5F60718293A4B\"}}",
		     CPA_FULL, &cc);
	assert_int_equal(x->severity, SEV_OK);
	assert_string_equal(x->subject, "65A1B2C3D4E5F60718293A4B");
	role_free(&r);

	/* the role exists but lacks fields: still ok, unknowns named */
	x = run_role(&r, EAR_AZ_ROLE, "{\"azureServicePrincipals\":[{\"_id\":\"" ROLE_AZ "\"}]}",
		     &cc);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "is Azure service principal (not reported) (Atlas application "
				    "(not reported), tenant (not reported))");
	assert_null(strstr(x->summary, "note"));
	role_free(&r);
}

static void
test_role_azure_feature_usages(void **state)
{
	struct role_run r;
	const struct finding *x;

	(void)state;
	x = run_role(&r, EAR_AZ_ROLE,
		     "{\"azureServicePrincipals\":[{\"_id\":\"" ROLE_AZ "\",\"servicePrincipalId\":"
		     "\"sp\",\"featureUsages\":[{\"featureType\":\"EXPORT_SNAPSHOT\",\"featureId\":"
		     "{\"exportBucketId\":\"b\"}},{\"featureType\":\"ATLAS_DATA_LAKE\"}]}]}",
		     NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "; note: Atlas does not list ENCRYPTION_AT_REST among this "
				    "principal's feature usages (EXPORT_SNAPSHOT, ATLAS_DATA_LAKE), "
				    "which is bookkeeping only: ear.valid tells whether the key works");
	role_free(&r);

	x = run_role(&r, EAR_AZ_ROLE,
		     "{\"azureServicePrincipals\":[{\"_id\":\"" ROLE_AZ "\",\"featureUsages\":[]}]}",
		     NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "feature usages (none listed)");
	role_free(&r);

	/* listed among others: no note */
	x = run_role(&r, EAR_AZ_ROLE,
		     "{\"azureServicePrincipals\":[{\"_id\":\"" ROLE_AZ "\",\"featureUsages\":["
		     "{\"featureType\":\"EXPORT_SNAPSHOT\"},{\"featureType\":\"ENCRYPTION_AT_REST\"}]}]}",
		     NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_null(strstr(x->summary, "note"));
	role_free(&r);
}

static void
test_role_aws_gcp(void **state)
{
	struct role_run r;
	const struct finding *x;

	(void)state;
	x = run_role(&r, "{\"awsKms\":{\"enabled\":true,\"roleId\":\"" ROLE_AWS "\"}}", CPA_FULL,
		     NULL);
	assert_true(r.out.evaluated[CHK_EAR_ROLE]);
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->provider, PROV_AWS);
	assert_string_equal(x->subject, ROLE_AWS);
	assert_string_equal(x->summary, "roleId " ROLE_AWS " is AWS IAM role "
					"arn:aws:iam::123456789012:role/atlas-kms in the project's "
					"Cloud Provider Access");
	role_free(&r);

	x = run_role(&r, "{\"awsKms\":{\"enabled\":true,\"roleId\":\"65a1b2c3d4e5f60718293a5c\"}}",
		     CPA_FULL, NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "note: it has no iamAssumedRoleArn");
	role_free(&r);

	x = run_role(&r, "{\"awsKms\":{\"enabled\":true,\"roleId\":\"" ROLE_AZ "\"}}", CPA_FULL,
		     NULL);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_AWS);
	assert_contains(x->summary, "the AWS KMS configuration names roleId " ROLE_AZ ", but the "
				    "project's Cloud Provider Access has no AWS IAM role with that "
				    "id (that id is an Azure service principal) (2 listed)");
	assert_contains(x->summary, "shut down every mongod/mongos");
	role_free(&r);

	x = run_role(&r, "{\"googleCloudKms\":{\"enabled\":true,\"roleId\":\"" ROLE_GCP "\"}}",
		     CPA_FULL, NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->provider, PROV_GCP);
	assert_string_equal(x->summary, "roleId " ROLE_GCP " is a GCP service account in the "
					"project's Cloud Provider Access");
	role_free(&r);

	x = run_role(&r,
		     "{\"googleCloudKms\":{\"enabled\":true,\"roleId\":\"65a1b2c3d4e5f60718293a5d\"}}",
		     CPA_FULL, NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "note: its status is FAILED, not COMPLETE");
	role_free(&r);

	x = run_role(&r, "{\"googleCloudKms\":{\"enabled\":true,\"roleId\":\"" ROLE_AWS "\"}}",
		     CPA_FULL, NULL);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->provider, PROV_GCP);
	assert_contains(x->summary, "no GCP service account with that id (that id is an AWS IAM "
				    "role) (2 listed): Atlas cannot authenticate to Cloud KMS");
	role_free(&r);
}

static void
test_role_not_applicable(void **state)
{
	static const char *no_role[] = {
		"{}",
		/* secret based Azure */
		"{\"azureKeyVault\":{\"enabled\":true,\"valid\":true,\"clientID\":\"c\"}}",
		"{\"azureKeyVault\":{\"enabled\":true,\"roleId\":\"\"}}",
		"{\"azureKeyVault\":{\"enabled\":true,\"roleId\":null}}",
		/* a role on a disabled provider is not in use */
		"{\"azureKeyVault\":{\"enabled\":false,\"roleId\":\"" ROLE_AZ "\"}}",
		"{\"awsKms\":{\"roleId\":\"" ROLE_AWS "\"}}",
	};
	struct cfg_checks cc;
	struct role_run r;

	(void)state;
	all_on(&cc);
	/* evaluated without a finding, with or without a Cloud Provider
	 * Access document: an alert from an earlier role resolves */
	for (size_t i = 0; i < ARRAY_SIZE(no_role); i++) {
		assert_null(run_role(&r, no_role[i], NULL, &cc));
		assert_true(r.out.evaluated[CHK_EAR_ROLE]);
		role_free(&r);
		assert_null(run_role(&r, no_role[i], "{}", &cc));
		assert_true(r.out.evaluated[CHK_EAR_ROLE]);
		role_free(&r);
	}

	/* a role but Cloud Provider Access unread: no verdict either way */
	assert_null(run_role(&r, EAR_AZ_ROLE, NULL, &cc));
	assert_false(r.out.evaluated[CHK_EAR_ROLE]);
	role_free(&r);

	/* switched off */
	cc.enabled[CHK_EAR_ROLE] = false;
	assert_null(run_role(&r, EAR_AZ_ROLE, "{}", &cc));
	assert_false(r.out.evaluated[CHK_EAR_ROLE]);
	role_free(&r);
	assert_null(run_role(&r, "{}", NULL, &cc));
	assert_false(r.out.evaluated[CHK_EAR_ROLE]);
	role_free(&r);

	memset(&r, 0, sizeof(r));
	assert_int_equal(chk_ear_role(NULL, &r.cpa, NULL, &r.out), -EINVAL);
	assert_int_equal(chk_ear_role(&r.ear, &r.cpa, NULL, NULL), -EINVAL);
}

static void
test_role_hostile_values(void **state)
{
	struct role_run r;
	const struct finding *x;

	(void)state;
	x = run_role(&r,
		     "{\"azureKeyVault\":{\"enabled\":true,\"roleId\":\"r\\n1\",\"keyVaultName\":"
		     "\"kv\\r\\nX\"}}",
		     "{\"azureServicePrincipals\":[{\"_id\":\"other\",\"servicePrincipalId\":\"a\\nb\"}]}",
		     NULL);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_string_equal(x->subject, "r 1");
	role_free(&r);
	x = run_role(&r, "{\"azureKeyVault\":{\"enabled\":true,\"roleId\":\"r\\n1\"}}",
		     "{\"azureServicePrincipals\":[{\"_id\":\"r\\n1\",\"servicePrincipalId\":"
		     "\"a\\nb\",\"featureUsages\":[{\"featureType\":\"X\\u0007Y\"}]}]}",
		     NULL);
	assert_int_equal(x->severity, SEV_OK);
	assert_contains(x->summary, "principal a b ");
	assert_contains(x->summary, "(X Y)");
	role_free(&r);
}

/* ---- atlas.credential_expiry ------------------------------------------- */

#define DAY 86400
#define CRED_SECRET "mdb_sa_sk_S3cr3t-do-not-leak-7f1e2d"
#define CRED_CLIENT "mdb_sa_id_0123456789abcdef01234567"
#define CRED_ORG "5f1a2b3c4d5e6f7081920a1b"

static void
sa_secret(struct atlas_sa_secret *x, const char *id, const char *masked, time_t exp)
{
	memset(x, 0, sizeof(*x));
	x->id = (char *)id;
	x->masked = (char *)masked;
	x->expires_at = exp;
}

static void
test_cred_mask_and_pick(void **state)
{
	struct atlas_sa_secret v[3];
	struct atlas_sa sa = {.secrets = v, .n_secrets = 2};
	enum cred_rule rule;

	(void)state;
	assert_string_equal(cred_mask_suffix("mdb_sa_sk_...1e2d"), "1e2d");
	assert_string_equal(cred_mask_suffix("mdb_sa_sk_********abc"), "abc");
	assert_string_equal(cred_mask_suffix("mdb_sa_sk_\xe2\x80\xa6" "7f1e2d"), "7f1e2d");
	assert_string_equal(cred_mask_suffix("\xe2\x80\xa2\xe2\x80\xa2xyz9"), "xyz9");
	assert_null(cred_mask_suffix("mdb_sa_sk_1e2d"));     /* no mask: nothing hidden */
	assert_null(cred_mask_suffix("mdb_sa_sk_...ab"));    /* too short to tell */
	assert_null(cred_mask_suffix("...0123456789abcdefg")); /* too long for a mask */
	assert_null(cred_mask_suffix("mdb_sa_sk_..."));
	assert_null(cred_mask_suffix("...ab cd"));
	assert_null(cred_mask_suffix(NULL));

	/* the configured one is recognised, though the other lasts longer */
	sa_secret(&v[0], "s1", "mdb_sa_sk_...zzzz", 2000);
	sa_secret(&v[1], "s2", "mdb_sa_sk_...1e2d", 1000);
	assert_int_equal(cred_pick(&sa, CRED_SECRET, &rule), 1);
	assert_int_equal(rule, CRED_RULE_MATCHED);
	assert_string_equal(cred_rule_name(rule), "matched");
	/* without the secret (or a mask that fits): the one that expires last */
	assert_int_equal(cred_pick(&sa, NULL, &rule), 0);
	assert_int_equal(rule, CRED_RULE_LATEST);
	assert_int_equal(cred_pick(&sa, "mdb_sa_sk_other-secret-0000", &rule), 0);
	assert_int_equal(rule, CRED_RULE_LATEST);
	/* a "suffix" as long as the secret is no mask of it */
	sa_secret(&v[1], "s2", "...1e2d", 1000);
	assert_int_equal(cred_pick(&sa, "1e2d", &rule), 0);
	assert_int_equal(rule, CRED_RULE_LATEST);
	/* two alike: the later of those two, not of all */
	sa_secret(&v[0], "s1", "mdb_sa_sk_...1e2d", 1500);
	sa_secret(&v[1], "s2", "mdb_sa_sk_...1e2d", 1000);
	sa_secret(&v[2], "s3", "mdb_sa_sk_...zzzz", 9000);
	sa.n_secrets = 3;
	assert_int_equal(cred_pick(&sa, CRED_SECRET, &rule), 0);
	assert_int_equal(rule, CRED_RULE_LATEST);
	sa.n_secrets = 0;
	assert_int_equal(cred_pick(&sa, CRED_SECRET, &rule), -ENOENT);
	assert_int_equal(cred_pick(NULL, CRED_SECRET, &rule), -ENOENT);
}

static void
test_credential_expiry(void **state)
{
	const time_t now = 1795341600; /* 2026-11-22T10:00:00Z */
	struct atlas_sa_secret v[2];
	struct atlas_sa sa = {.secrets = v, .n_secrets = 1};
	struct cred_input in = {.client_id = CRED_CLIENT, .org_id = CRED_ORG, .sa = &sa,
				.secret = CRED_SECRET};
	struct cred_memory mem = {0}, back = {0};
	struct findings f = {0};
	const struct finding *x;
	struct cfg_checks ck;
	json_t *j;

	(void)state;
	/* thresholds: 30 d / 7 d by default */
	sa_secret(&v[0], "5ec000000000000000000001", "mdb_sa_sk_...1e2d", now + 31 * DAY);
	assert_int_equal(chk_atlas_credential_expiry(&in, NULL, NULL, now, &f, &mem), 0);
	assert_true(f.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY]);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	assert_int_equal(x->days_left, 31);
	assert_contains(x->summary, "matches the configured client secret");
	assert_null(strstr(x->summary, CRED_SECRET));
	assert_string_equal(mem.secret_id, "5ec000000000000000000001");
	assert_int_equal(mem.rule, CRED_RULE_MATCHED);
	findings_free(&f);
	v[0].expires_at = now + 30 * DAY;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "then kmswatch goes blind");
	assert_contains(x->summary, "atlas.service_account.client_secret");
	findings_free(&f);
	v[0].expires_at = now + 7 * DAY;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	assert_int_equal(find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d")->severity,
			 SEV_CRITICAL);
	findings_free(&f);
	v[0].expires_at = now - 3600;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_int_equal(x->days_left, -1);
	assert_contains(x->summary, "expired");
	findings_free(&f);
	/* the configured thresholds */
	all_on(&ck);
	ck.secret_expiry.warning = 60 * DAY;
	ck.secret_expiry.critical = 40 * DAY;
	v[0].expires_at = now + 50 * DAY;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, &ck, now, &f, &mem), 0);
	assert_int_equal(find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d")->severity,
			 SEV_WARNING);
	findings_free(&f);

	/* 403: what to grant, and the remembered secret judged as of now */
	in.sa = NULL;
	in.failure = CRED_READ_DENIED;
	in.error = "HTTP 403 USER_UNAUTHORIZED: Current user is not authorized";
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, &ck, now + 20 * DAY, &f, &mem), 0);
	assert_int_equal(f.n, 2);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, CRED_CLIENT);
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "grant it Organization Read Only on organization " CRED_ORG);
	assert_contains(x->summary, "USER_UNAUTHORIZED");
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "mdb_sa_sk_...1e2d");
	assert_int_equal(x->severity, SEV_CRITICAL); /* 30 days left now, critical from 40 */
	assert_contains(x->summary, "as last read at");
	findings_free(&f);
	/* 404 */
	in.failure = CRED_READ_NOT_FOUND;
	in.error = "HTTP 404 RESOURCE_NOT_FOUND";
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, CRED_CLIENT);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "cannot find service account " CRED_CLIENT
				    " in organization " CRED_ORG);
	findings_free(&f);
	/* no organization to ask */
	in.failure = CRED_READ_NO_ORG;
	in.org_id = NULL;
	in.error = "no project is configured to learn it from";
	assert_int_equal(chk_atlas_credential_expiry(&in, NULL, NULL, now, &f, &mem), 0);
	assert_int_equal(f.n, 1);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, CRED_CLIENT);
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "set atlas.org_id");
	findings_free(&f);
	/* a remembered secret of another client id is not this one's */
	in.client_id = "mdb_sa_id_ffffffffffffffffffffffff";
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	assert_int_equal(f.n, 1);
	findings_free(&f);
	in.client_id = CRED_CLIENT;
	in.org_id = CRED_ORG;
	/* transient: no verdict, the memory stays */
	in.failure = CRED_READ_TRANSIENT;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	assert_false(f.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY]);
	assert_int_equal(f.n, 0);
	assert_non_null(mem.secret_id);

	/* the memory survives a restart */
	j = cred_memory_to_json(&mem);
	assert_non_null(j);
	assert_int_equal(cred_memory_from_json(j, &back), 0);
	assert_string_equal(back.secret_id, mem.secret_id);
	assert_string_equal(back.masked, "mdb_sa_sk_...1e2d");
	assert_string_equal(back.org_id, CRED_ORG);
	assert_int_equal(back.expires_at, mem.expires_at);
	assert_int_equal(back.rule, CRED_RULE_MATCHED);
	cred_memory_free(&back);
	json_object_set_new(j, "rule", json_string("guess"));
	assert_int_equal(cred_memory_from_json(j, &back), -EBADMSG);
	json_object_set_new(j, "rule", json_string("latest"));
	json_object_set_new(j, "expires_at", json_string("soon"));
	assert_int_equal(cred_memory_from_json(j, &back), -EBADMSG);
	assert_null(back.secret_id);
	json_decref(j);
	assert_int_equal(cred_memory_from_json(NULL, &back), 0);
	assert_null(back.secret_id);

	/* several secrets, none recognisable: the one that expires last, said so */
	in.failure = CRED_READ_OK;
	in.sa = &sa;
	sa.n_secrets = 2;
	sa_secret(&v[0], "s1", "mdb_sa_sk_...yyyy", now + 5 * DAY);
	sa_secret(&v[1], "s2", NULL, now + 20 * DAY);
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	assert_int_equal(f.n, 1);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, "s2"); /* no mask: its id */
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "expires last of the 2");
	assert_int_equal(mem.rule, CRED_RULE_LATEST);
	findings_free(&f);
	/* an account without secrets */
	sa.n_secrets = 0;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), 0);
	x = find(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, CRED_CLIENT);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "lists no secret");
	assert_null(mem.secret_id);
	assert_null(cred_memory_to_json(&mem));
	findings_free(&f);
	assert_one_line(&f);
	/* switched off: nothing */
	sa.n_secrets = 1;
	all_on(&ck);
	ck.enabled[CHK_ATLAS_CREDENTIAL_EXPIRY] = false;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, &ck, now, &f, &mem), 0);
	assert_false(f.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY]);
	assert_int_equal(f.n, 0);
	/* bad arguments */
	in.sa = NULL;
	assert_int_equal(chk_atlas_credential_expiry(&in, &mem, NULL, now, &f, &mem), -EINVAL);
	assert_int_equal(chk_atlas_credential_expiry(NULL, &mem, NULL, now, &f, &mem), -EINVAL);
	cred_memory_free(&mem);
}

/* ---- ear.private_endpoint ---------------------------------------------- */

static void
test_private_endpoint(void **state)
{
	struct atlas_ear ear = {0};
	struct atlas_ear_pe v[3] = {
		{.id = "66c0d1e2f3a4b5c6d7e8f901", .region_name = "US_EAST_2", .status = "ACTIVE",
		 .connection_name = "kv.pe-1"},
		{.id = "66c0d1e2f3a4b5c6d7e8f902", .region_name = "EUROPE_WEST",
		 .status = "PENDING_ACCEPTANCE", .connection_name = "kv.pe-2"},
		{.id = "66c0d1e2f3a4b5c6d7e8f903", .region_name = "ASIA_EAST", .status = "FAILED",
		 .error_message = "the subnet is full\n(x)"},
	};
	struct atlas_ear_pes pes = {.v = v, .n = 3};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	ear.azure.enabled = TRI_TRUE;
	ear.azure.valid = TRI_TRUE;
	/* not required: evaluated, nothing to say (an old alert resolves) */
	assert_int_equal(chk_ear_private_endpoint(&ear, NULL, 0, NULL, NULL, &f), 0);
	assert_true(f.evaluated[CHK_EAR_PRIVATE_ENDPOINT]);
	assert_int_equal(f.n, 0);
	ear.azure.require_private_networking = TRI_TRUE;

	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	assert_int_equal(count(&f, CHK_EAR_PRIVATE_ENDPOINT), 3);
	assert_one_line(&f);
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "US_EAST_2");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_OK);
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "EUROPE_WEST");
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "(connection kv.pe-2) waits for approval (PENDING_ACCEPTANCE)");
	assert_contains(x->summary, "az network private-endpoint-connection approve");
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "ASIA_EAST");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "FAILED (the subnet is full");
	findings_free(&f);

	/* none ACTIVE: waiting is critical, Atlas reaches the key through none */
	v[0].status = "PENDING_RECREATION";
	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "US_EAST_2");
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "no endpoint is ACTIVE");
	findings_free(&f);
	v[0].status = "SOMETHING_NEW";
	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	assert_int_equal(find(&f, CHK_EAR_PRIVATE_ENDPOINT, "US_EAST_2")->severity, SEV_UNKNOWN);
	findings_free(&f);

	/* required, and Atlas lists none */
	pes.n = 0;
	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "azure");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "lists no private endpoint");
	findings_free(&f);

	/* not readable: 403 names the role; anything else says what */
	assert_int_equal(chk_ear_private_endpoint(&ear, NULL, 403, "HTTP 403 USER_UNAUTHORIZED: no",
						  NULL, &f), 0);
	x = find(&f, CHK_EAR_PRIVATE_ENDPOINT, "azure");
	assert_int_equal(x->severity, SEV_UNKNOWN);
	assert_contains(x->summary, "needs the Project Owner role");
	findings_free(&f);
	assert_int_equal(chk_ear_private_endpoint(&ear, NULL, 0, "Connection refused", NULL, &f), 0);
	assert_contains(find(&f, CHK_EAR_PRIVATE_ENDPOINT, "azure")->summary, "(Connection refused)");
	findings_free(&f);

	/* AWS too; Google Cloud KMS has none, so no verdict */
	ear.azure.enabled = TRI_FALSE;
	ear.aws.enabled = TRI_TRUE;
	ear.aws.require_private_networking = TRI_TRUE;
	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	assert_non_null(find(&f, CHK_EAR_PRIVATE_ENDPOINT, "aws"));
	findings_free(&f);
	ear.aws.enabled = TRI_FALSE;
	ear.gcp.enabled = TRI_TRUE;
	assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, NULL, &f), 0);
	assert_int_equal(f.n, 0);
	findings_free(&f);
	memset(&f, 0, sizeof(f));
	/* off */
	{
		struct cfg_checks off;

		all_on(&off);
		off.enabled[CHK_EAR_PRIVATE_ENDPOINT] = false;
		ear.gcp.enabled = TRI_FALSE;
		ear.azure.enabled = TRI_TRUE;
		assert_int_equal(chk_ear_private_endpoint(&ear, &pes, 0, NULL, &off, &f), 0);
		assert_false(f.evaluated[CHK_EAR_PRIVATE_ENDPOINT]);
	}
	findings_free(&f);
}

/* ---- atlas.events ------------------------------------------------------- */

static void
test_atlas_events(void **state)
{
	const time_t now = 1800000000;
	struct atlas_event v[] = {
		{.event_type_name = "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED",
		 .created_at = now - 7200},
		{.event_type_name = "AZURE_ENCRYPTION_KEY_INVALID", .created_at = now - 600},
		{.event_type_name = "AZURE_ENCRYPTION_KEY_VALID", .created_at = now - 60},
		{.event_type_name = "AWS_ENCRYPTION_KEY_NEEDS_ROTATION", .created_at = now - 86400},
		{.event_type_name = "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION", .created_at = now - 3 * 86400},
		{.event_type_name = "ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID", .created_at = 0},
	};
	struct atlas_events ev = {.v = v, .n = ARRAY_SIZE(v)};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	/* not read: no verdict at all */
	assert_int_equal(chk_atlas_events(NULL, PROV_AZURE, now, NULL, &f), 0);
	assert_false(f.evaluated[CHK_ATLAS_EVENTS]);

	assert_int_equal(chk_atlas_events(&ev, PROV_AZURE, now, NULL, &f), 0);
	assert_true(f.evaluated[CHK_ATLAS_EVENTS]);
	assert_one_line(&f);
	x = find(&f, CHK_ATLAS_EVENTS, "kms-network");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_CRITICAL);
	assert_contains(x->summary, "Atlas raised ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED at "
				    "2027-01-15T06:00:00Z (2 h ago)");
	/* taken back by a later KEY_VALID */
	assert_null(find(&f, CHK_ATLAS_EVENTS, "key"));
	/* only the enabled provider's rotation counts */
	x = find(&f, CHK_ATLAS_EVENTS, "rotation");
	assert_non_null(x);
	assert_int_equal(x->severity, SEV_WARNING);
	assert_contains(x->summary, "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION");
	assert_contains(x->summary, "(3 days ago)");
	/* an undated event is never taken for a recent one */
	assert_null(find(&f, CHK_ATLAS_EVENTS, "config"));
	assert_int_equal(count(&f, CHK_ATLAS_EVENTS), 2);
	findings_free(&f);

	/* a later recovery resolves; nothing standing: one ok */
	v[0].event_type_name = "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_RESTORED";
	v[4].event_type_name = "AZURE_ENCRYPTION_KEY_ROTATED";
	assert_int_equal(chk_atlas_events(&ev, PROV_AZURE, now, NULL, &f), 0);
	assert_int_equal(f.n, 1);
	x = &f.v[0];
	assert_int_equal(x->severity, SEV_OK);
	assert_string_equal(x->subject, "atlas");
	findings_free(&f);
	/* the key verdict of another provider does not count */
	v[2].event_type_name = "CLUSTER_CREATED";
	assert_int_equal(chk_atlas_events(&ev, PROV_AWS, now, NULL, &f), 0);
	assert_null(find(&f, CHK_ATLAS_EVENTS, "key"));
	assert_non_null(find(&f, CHK_ATLAS_EVENTS, "rotation")); /* AWS's own */
	findings_free(&f);
	assert_int_equal(chk_atlas_events(&ev, PROV_AZURE, now, NULL, &f), 0);
	assert_int_equal(find(&f, CHK_ATLAS_EVENTS, "key")->severity, SEV_CRITICAL);
	findings_free(&f);
	ev.n = 0;
	assert_int_equal(chk_atlas_events(&ev, PROV_AZURE, now, NULL, &f), 0);
	assert_int_equal(f.n, 1);
	assert_contains(f.v[0].summary, "no encryption-at-rest verdict");
	findings_free(&f);
}

/* The EAR and control-plane memories as kept in the state files: what is
 * written loads back; a damaged member is -EBADMSG and leaves nothing. */
static void
test_memory_json(void **state)
{
	struct ear_memory m = {.fingerprint = "fp1", .key_id = "https://k/1", .key_first_seen = 1700000000};
	struct ear_memory back = {0};
	char *base[] = {"1.2.3.0/24"}, *last[] = {"1.2.3.0/24", "5.6.7.8/32"};
	struct cp_memory c = {.seen = true, .base = base, .n_base = 1, .last = last, .n_last = 2,
			      .changed_at = 1700000100};
	struct cp_memory cb = {0};
	static const char *const bad_ear[] = {
		"[]", "{\"fingerprint\": 7}", "{\"key_id\": []}", "{\"key_first_seen\": \"x\"}",
		"{\"key_first_seen\": -5}",
	};
	static const char *const bad_cp[] = {
		"[1]", "{\"seen\": 1}", "{\"seen\": true, \"base\": [1]}",
		"{\"seen\": true, \"last\": {}}", "{\"seen\": true, \"changed_at\": -1}",
		"{\"seen\": true, \"changed_at\": \"soon\"}",
	};
	json_t *o;

	(void)state;
	o = ear_memory_to_json(&m);
	assert_non_null(o);
	assert_int_equal(ear_memory_from_json(o, &back), 0);
	assert_string_equal(back.fingerprint, "fp1");
	assert_string_equal(back.key_id, "https://k/1");
	assert_int_equal(back.key_first_seen, 1700000000);
	ear_memory_free(&back);
	json_decref(o);
	assert_int_equal(ear_memory_from_json(NULL, &back), 0);
	assert_null(back.key_id);
	for (size_t i = 0; i < sizeof(bad_ear) / sizeof(bad_ear[0]); i++) {
		o = json_loads(bad_ear[i], JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		assert_int_equal(ear_memory_from_json(o, &back), -EBADMSG);
		assert_null(back.fingerprint);
		assert_null(back.key_id);
		json_decref(o);
	}

	o = cp_memory_to_json(&c);
	assert_non_null(o);
	assert_int_equal(cp_memory_from_json(o, &cb), 0);
	assert_true(cb.seen);
	assert_int_equal(cb.n_base, 1);
	assert_int_equal(cb.n_last, 2);
	assert_string_equal(cb.last[1], "5.6.7.8/32");
	assert_int_equal(cb.changed_at, 1700000100);
	cp_memory_free(&cb);
	json_decref(o);
	c.seen = false;
	assert_null(cp_memory_to_json(&c));
	for (size_t i = 0; i < sizeof(bad_cp) / sizeof(bad_cp[0]); i++) {
		o = json_loads(bad_cp[i], JSON_DECODE_ANY, NULL);
		assert_non_null(o);
		assert_int_equal(cp_memory_from_json(o, &cb), -EBADMSG);
		assert_false(cb.seen);
		assert_null(cb.base);
		json_decref(o);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue_names),
		cmocka_unit_test(test_catalogue_msgids),
		cmocka_unit_test(test_kms_table_owns_its_rows),
		cmocka_unit_test(test_severities),
		cmocka_unit_test(test_providers),
		cmocka_unit_test(test_findings_list),
		cmocka_unit_test(test_access_ok),
		cmocka_unit_test(test_access_401),
		cmocka_unit_test(test_access_403_404),
		cmocka_unit_test(test_access_429_5xx),
		cmocka_unit_test(test_access_transport_and_body),
		cmocka_unit_test(test_access_auth),
		cmocka_unit_test(test_ear_valid_true),
		cmocka_unit_test(test_ear_valid_false),
		cmocka_unit_test(test_ear_valid_absent_and_none),
		cmocka_unit_test(test_ear_multiple_providers),
		cmocka_unit_test(test_ear_enabled_mismatch),
		cmocka_unit_test(test_ear_config_each_field),
		cmocka_unit_test(test_ear_config_provider_switch),
		cmocka_unit_test(test_ear_first_observation),
		cmocka_unit_test(test_ear_disabled_checks),
		cmocka_unit_test(test_ear_memory_in_place),
		cmocka_unit_test(test_ear_hostile_values),
		cmocka_unit_test(test_clusters_project_azure),
		cmocka_unit_test(test_clusters_project_none),
		cmocka_unit_test(test_clusters_edges),
		cmocka_unit_test(test_clusters_many),
		cmocka_unit_test(test_role_azure),
		cmocka_unit_test(test_role_azure_feature_usages),
		cmocka_unit_test(test_role_aws_gcp),
		cmocka_unit_test(test_role_not_applicable),
		cmocka_unit_test(test_role_hostile_values),
		cmocka_unit_test(test_memory_json),
		cmocka_unit_test(test_private_endpoint),
		cmocka_unit_test(test_cred_mask_and_pick),
		cmocka_unit_test(test_credential_expiry),
		cmocka_unit_test(test_atlas_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
