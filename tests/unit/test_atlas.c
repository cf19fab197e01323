/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/atlas.c: the encryptionAtRest parser on real-shaped
 * answers (shapes from docs/reference/atlas-api.md) and on every kind of
 * broken input, the fingerprint, ApiError and OAuth parsing, URL building.
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

#include "atlas.h"
#include "util.h"

/* ---- samples --------------------------------------------------------- */

static const char AZURE_SAMPLE[] =
	"{\n"
	"  \"awsKms\": { \"enabled\": false, \"valid\": false, \"requirePrivateNetworking\": false },\n"
	"  \"azureKeyVault\": {\n"
	"    \"azureEnvironment\": \"AZURE\",\n"
	"    \"clientID\": \"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f\",\n"
	"    \"enabled\": true,\n"
	"    \"keyIdentifier\": \"https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
	"0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\n"
	"    \"keyVaultName\": \"contoso-kv\",\n"
	"    \"requirePrivateNetworking\": false,\n"
	"    \"resourceGroupName\": \"rg-atlas-cmk\",\n"
	"    \"roleId\": \"65a1b2c3d4e5f60718293a4b\",\n"
	"    \"subscriptionID\": \"11111111-2222-4333-8444-555555555555\",\n"
	"    \"tenantID\": \"99999999-8888-4777-8666-555555555555\",\n"
	"    \"valid\": true\n"
	"  },\n"
	"  \"googleCloudKms\": { \"enabled\": false, \"valid\": false },\n"
	"  \"enabledForSearchNodes\": false\n"
	"}\n";

static const char AZURE_FP[] =
	"provider=azure\n"
	"azureEnvironment=AZURE\n"
	"clientID=b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f\n"
	"tenantID=99999999-8888-4777-8666-555555555555\n"
	"subscriptionID=11111111-2222-4333-8444-555555555555\n"
	"resourceGroupName=rg-atlas-cmk\n"
	"keyVaultName=contoso-kv\n"
	"keyIdentifier=https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
	"0f1e2d3c4b5a69788796a5b4c3d2e1f0\n"
	"roleId=65a1b2c3d4e5f60718293a4b\n"
	"requirePrivateNetworking=false\n";

static const char AWS_SAMPLE[] =
	"{\"awsKms\":{\"accessKeyID\":null,\"customerMasterKeyID\":"
	"\"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\","
	"\"enabled\":true,\"region\":\"US_EAST_1\",\"requirePrivateNetworking\":false,"
	"\"roleId\":\"65a1b2c3d4e5f60718293a4c\",\"valid\":true},"
	"\"azureKeyVault\":{\"enabled\":false,\"requirePrivateNetworking\":false,\"valid\":false},"
	"\"googleCloudKms\":{\"enabled\":false,\"valid\":false},"
	"\"enabledForSearchNodes\":true}";

static const char GCP_SAMPLE[] =
	"{\"awsKms\":{\"enabled\":false,\"valid\":false},"
	"\"azureKeyVault\":{\"enabled\":false,\"valid\":false},"
	"\"googleCloudKms\":{\"enabled\":true,\"valid\":false,"
	"\"keyVersionResourceID\":\"projects/p1/locations/global/keyRings/r1/cryptoKeys/k1/"
	"cryptoKeyVersions/3\",\"roleId\":\"65a1b2c3d4e5f60718293a4d\"}}";

static const char ALL_DISABLED[] =
	"{\"awsKms\":{\"enabled\":false,\"valid\":false,\"requirePrivateNetworking\":false},"
	"\"azureKeyVault\":{\"enabled\":false,\"valid\":false,\"requirePrivateNetworking\":false},"
	"\"googleCloudKms\":{\"enabled\":false,\"valid\":false},\"enabledForSearchNodes\":false}";

static const char API_ERROR_404[] =
	"{\"detail\":\"No group with ID 65a1b2c3d4e5f60718293a00 exists.\",\"error\":404,"
	"\"errorCode\":\"GROUP_NOT_FOUND\",\"parameters\":[\"65a1b2c3d4e5f60718293a00\"],"
	"\"reason\":\"Not Found\"}";

static const char API_ERROR_401[] =
	"{\"detail\":\"You are not authorized for this resource.\",\"error\":401,"
	"\"reason\":\"Unauthorized\"}";

static const char API_ERROR_429[] =
	"{\"detail\":\"Rate limit exceeded for api/atlas/v2/orgs. Please retry after 55 seconds. "
	"Request capacity: 10. Refill rate: 5 per 60 seconds.\",\"error\":429,"
	"\"errorCode\":\"RATE_LIMITED_TOKEN_BUCKET\",\"parameters\":[\"api/atlas/v2/orgs\",55,10,5,"
	"60],\"reason\":\"Too Many Requests\"}";

static const char TOKEN_SAMPLE[] =
	"{\"access_token\":\"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZGJfc2FfaWQifQ.c2ln\","
	"\"expires_in\":3600,\"token_type\":\"Bearer\"}";

static const char OAUTH_ERROR[] =
	"{\"error\":\"invalid_client\",\"error_description\":\"Invalid client credentials\"}";

/* ---- helpers --------------------------------------------------------- */

/* an exact-size copy without terminator: reads past len trip ASan */
static char *
exact(const char *s, size_t len)
{
	char *b = malloc(len ? len : 1);

	assert_non_null(b);
	memcpy(b, s, len);
	return b;
}

static int
parse_ear(const char *s, size_t len, struct atlas_ear *ear, char *err, size_t errlen)
{
	char *b = exact(s, len);
	int r = atlas_parse_ear(b, len, ear, err, errlen);

	free(b);
	return r;
}

static int
parse_ear_str(const char *s, struct atlas_ear *ear, char *err, size_t errlen)
{
	return parse_ear(s, strlen(s), ear, err, errlen);
}

static void
expect_bad_ear(const char *s, const char *err_has)
{
	struct atlas_ear ear;
	char err[256];

	memset(&ear, 0x5a, sizeof(ear));
	if (parse_ear_str(s, &ear, err, sizeof(err)) != -EBADMSG)
		fail_msg("accepted: %s", s);
	/* nothing to free, nothing half-filled */
	assert_false(ear.azure.present);
	assert_null(ear.azure.key_identifier);
	assert_int_equal(ear.azure.enabled, TRI_ABSENT);
	if (err_has != NULL && strstr(err, err_has) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" for %s", err, err_has, s);
	assert_true(strlen(err) > 0);
	atlas_ear_free(&ear);
}

/* ---- encryptionAtRest: real shapes ----------------------------------- */

static void
test_ear_azure_sample(void **state)
{
	struct atlas_ear ear;
	char err[128] = "junk";
	char *fp;

	(void)state;
	assert_int_equal(parse_ear_str(AZURE_SAMPLE, &ear, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(ear.azure.present);
	assert_int_equal(ear.azure.enabled, TRI_TRUE);
	assert_int_equal(ear.azure.valid, TRI_TRUE);
	assert_int_equal(ear.azure.require_private_networking, TRI_FALSE);
	assert_string_equal(ear.azure.azure_environment, "AZURE");
	assert_string_equal(ear.azure.client_id, "b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f");
	assert_string_equal(ear.azure.key_identifier,
			    "https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
			    "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	assert_string_equal(ear.azure.key_vault_name, "contoso-kv");
	assert_string_equal(ear.azure.resource_group_name, "rg-atlas-cmk");
	assert_string_equal(ear.azure.role_id, "65a1b2c3d4e5f60718293a4b");
	assert_string_equal(ear.azure.subscription_id, "11111111-2222-4333-8444-555555555555");
	assert_string_equal(ear.azure.tenant_id, "99999999-8888-4777-8666-555555555555");
	assert_true(ear.aws.present);
	assert_int_equal(ear.aws.enabled, TRI_FALSE);
	assert_int_equal(ear.aws.valid, TRI_FALSE);
	assert_null(ear.aws.customer_master_key_id);
	assert_true(ear.gcp.present);
	assert_int_equal(ear.gcp.enabled, TRI_FALSE);
	assert_int_equal(ear.enabled_for_search_nodes, TRI_FALSE);

	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AZURE);
	assert_true(atlas_ear_provider_enabled(&ear, PROV_AZURE));
	assert_false(atlas_ear_provider_enabled(&ear, PROV_AWS));
	assert_false(atlas_ear_provider_enabled(&ear, PROV_NONE));
	assert_int_equal(atlas_ear_provider_valid(&ear, PROV_AZURE), TRI_TRUE);
	assert_int_equal(atlas_ear_provider_valid(&ear, PROV_GCP), TRI_FALSE);
	assert_ptr_equal(atlas_ear_key_id(&ear), ear.azure.key_identifier);

	fp = atlas_ear_fingerprint(&ear);
	assert_string_equal(fp, AZURE_FP);
	free(fp);
	atlas_ear_free(&ear);
	assert_null(ear.azure.key_identifier);
	atlas_ear_free(&ear); /* twice is harmless */
	atlas_ear_free(NULL);
}

static void
test_ear_aws_sample(void **state)
{
	struct atlas_ear ear;
	char *fp;

	(void)state;
	assert_int_equal(parse_ear_str(AWS_SAMPLE, &ear, NULL, 0), 0);
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AWS);
	assert_int_equal(ear.aws.valid, TRI_TRUE);
	assert_null(ear.aws.access_key_id); /* null is absent */
	assert_string_equal(ear.aws.region, "US_EAST_1");
	assert_string_equal(ear.aws.role_id, "65a1b2c3d4e5f60718293a4c");
	assert_int_equal(ear.enabled_for_search_nodes, TRI_TRUE);
	assert_string_equal(atlas_ear_key_id(&ear),
			    "arn:aws:kms:us-east-1:123456789012:key/"
			    "1234abcd-12ab-34cd-56ef-1234567890ab");
	fp = atlas_ear_fingerprint(&ear);
	assert_string_equal(fp, "provider=aws\n"
				"customerMasterKeyID=arn:aws:kms:us-east-1:123456789012:key/"
				"1234abcd-12ab-34cd-56ef-1234567890ab\n"
				"region=US_EAST_1\n"
				"roleId=65a1b2c3d4e5f60718293a4c\n"
				"accessKeyID=\n");
	free(fp);
	atlas_ear_free(&ear);
}

static void
test_ear_gcp_sample(void **state)
{
	struct atlas_ear ear;
	char *fp;

	(void)state;
	assert_int_equal(parse_ear_str(GCP_SAMPLE, &ear, NULL, 0), 0);
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_GCP);
	assert_int_equal(ear.gcp.valid, TRI_FALSE);
	assert_int_equal(ear.enabled_for_search_nodes, TRI_ABSENT);
	assert_string_equal(atlas_ear_key_id(&ear),
			    "projects/p1/locations/global/keyRings/r1/cryptoKeys/k1/"
			    "cryptoKeyVersions/3");
	fp = atlas_ear_fingerprint(&ear);
	assert_string_equal(fp, "provider=gcp\n"
				"keyVersionResourceID=projects/p1/locations/global/keyRings/r1/"
				"cryptoKeys/k1/cryptoKeyVersions/3\n"
				"roleId=65a1b2c3d4e5f60718293a4d\n");
	free(fp);
	atlas_ear_free(&ear);
}

static void
test_ear_disabled_and_omitted(void **state)
{
	static const char *bodies[] = {ALL_DISABLED, "{}", "{\"enabledForSearchNodes\":false}",
				       "{\"awsKms\":null,\"azureKeyVault\":null}"};
	struct atlas_ear ear;
	char *fp;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bodies); i++) {
		assert_int_equal(parse_ear_str(bodies[i], &ear, NULL, 0), 0);
		assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_NONE);
		assert_null(atlas_ear_key_id(&ear));
		fp = atlas_ear_fingerprint(&ear);
		assert_string_equal(fp, "provider=none\n");
		free(fp);
		atlas_ear_free(&ear);
	}
	/* omitted providers are not "present" */
	assert_int_equal(parse_ear_str("{}", &ear, NULL, 0), 0);
	assert_false(ear.aws.present);
	assert_false(ear.azure.present);
	assert_false(ear.gcp.present);
	atlas_ear_free(&ear);
	/* present but without "enabled": not enabled, and visibly so */
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"valid\":true}}", &ear, NULL, 0), 0);
	assert_true(ear.azure.present);
	assert_int_equal(ear.azure.enabled, TRI_ABSENT);
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_NONE);
	atlas_ear_free(&ear);
}

static void
test_ear_unknown_fields_and_values(void **state)
{
	struct atlas_ear ear;

	(void)state;
	assert_int_equal(
		parse_ear_str("{\"azureKeyVault\":{\"enabled\":true,\"valid\":true,"
			      "\"azureEnvironment\":\"AZURE_SOVEREIGN_2031\","
			      "\"newField\":{\"nested\":[1,2,{\"x\":null}]},\"secret\":null},"
			      "\"ociVault\":{\"enabled\":true},\"links\":[]}",
			      &ear, NULL, 0),
		0);
	assert_string_equal(ear.azure.azure_environment, "AZURE_SOVEREIGN_2031");
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AZURE);
	atlas_ear_free(&ear);

	/* unicode in values is kept as UTF-8 */
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"keyVaultName\":\"kv-\\u00e9t\\u00e9\"}}",
				       &ear, NULL, 0),
			 0);
	assert_string_equal(ear.azure.key_vault_name, "kv-\xc3\xa9t\xc3\xa9");
	atlas_ear_free(&ear);
}

static void
test_ear_multiple_enabled(void **state)
{
	struct atlas_ear ear;
	char *fp;

	(void)state;
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"enabled\":true,\"keyIdentifier\":\"K\","
				       "\"roleId\":\"R1\"},\"awsKms\":{\"enabled\":true,"
				       "\"customerMasterKeyID\":\"C\",\"roleId\":\"R2\"}}",
				       &ear, NULL, 0),
			 0);
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AWS);
	assert_string_equal(atlas_ear_key_id(&ear), "C");
	fp = atlas_ear_fingerprint(&ear);
	assert_string_equal(fp, "provider=aws,azure\n"
				"aws.customerMasterKeyID=C\n"
				"aws.region=\n"
				"aws.roleId=R2\n"
				"aws.accessKeyID=\n"
				"azure.azureEnvironment=\n"
				"azure.clientID=\n"
				"azure.tenantID=\n"
				"azure.subscriptionID=\n"
				"azure.resourceGroupName=\n"
				"azure.keyVaultName=\n"
				"azure.keyIdentifier=K\n"
				"azure.roleId=R1\n"
				"azure.requirePrivateNetworking=\n");
	free(fp);
	atlas_ear_free(&ear);
}

/* ---- encryptionAtRest: broken input ---------------------------------- */

static void
test_ear_wrong_types(void **state)
{
	static const char *const bools[] = {"enabled", "valid", "requirePrivateNetworking"};
	static const char *const strs[] = {"azureEnvironment", "clientID",      "keyIdentifier",
					   "keyVaultName",     "resourceGroupName", "roleId",
					   "subscriptionID",   "tenantID"};
	static const char *const wrong_for_bool[] = {"\"yes\"", "1", "0", "[]", "{}", "\"true\""};
	static const char *const wrong_for_str[] = {"1", "true", "[]", "{}", "1.5"};
	char body[256], want[96];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		for (size_t j = 0; j < ARRAY_SIZE(wrong_for_bool); j++) {
			snprintf(body, sizeof(body),
				 "{\"azureKeyVault\":{\"keyVaultName\":\"kv\",\"%s\":%s}}", bools[i],
				 wrong_for_bool[j]);
			snprintf(want, sizeof(want), "azureKeyVault.%s is not a boolean", bools[i]);
			expect_bad_ear(body, want);
		}
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		for (size_t j = 0; j < ARRAY_SIZE(wrong_for_str); j++) {
			snprintf(body, sizeof(body),
				 "{\"azureKeyVault\":{\"enabled\":true,\"%s\":%s}}", strs[i],
				 wrong_for_str[j]);
			snprintf(want, sizeof(want), "azureKeyVault.%s is not a string", strs[i]);
			expect_bad_ear(body, want);
		}
	expect_bad_ear("{\"awsKms\":{\"enabled\":\"yes\"}}", "awsKms.enabled is not a boolean");
	expect_bad_ear("{\"awsKms\":{\"customerMasterKeyID\":7}}",
		       "awsKms.customerMasterKeyID is not a string");
	expect_bad_ear("{\"awsKms\":{\"region\":[\"US_EAST_1\"]}}", "awsKms.region");
	expect_bad_ear("{\"awsKms\":{\"accessKeyID\":false}}", "awsKms.accessKeyID");
	expect_bad_ear("{\"googleCloudKms\":{\"valid\":\"false\"}}", "googleCloudKms.valid");
	expect_bad_ear("{\"googleCloudKms\":{\"keyVersionResourceID\":{}}}",
		       "googleCloudKms.keyVersionResourceID");
	expect_bad_ear("{\"googleCloudKms\":{\"roleId\":0}}", "googleCloudKms.roleId");
	expect_bad_ear("{\"enabledForSearchNodes\":\"no\"}", "enabledForSearchNodes is not a "
							   "boolean");
	/* a bad field after good ones: everything allocated is released */
	expect_bad_ear("{\"azureKeyVault\":{\"enabled\":true,\"keyIdentifier\":\"x\","
		       "\"clientID\":\"c\"},\"googleCloudKms\":{\"enabled\":1}}",
		       "googleCloudKms.enabled");
}

static void
test_ear_bad_structure(void **state)
{
	(void)state;
	expect_bad_ear("{\"azureKeyVault\":true}", "azureKeyVault is not an object");
	expect_bad_ear("{\"azureKeyVault\":[]}", "azureKeyVault is not an object");
	expect_bad_ear("{\"awsKms\":\"on\"}", "awsKms is not an object");
	expect_bad_ear("{\"googleCloudKms\":5}", "googleCloudKms is not an object");
	expect_bad_ear("[]", "top level is not an object");
	expect_bad_ear("[{\"azureKeyVault\":{}}]", "top level is not an object");
	expect_bad_ear("\"string\"", "top level is not an object");
	expect_bad_ear("42", "top level is not an object");
	expect_bad_ear("null", "top level is not an object");
	expect_bad_ear("true", "top level is not an object");
	/* duplicates: which "valid" would be true? */
	expect_bad_ear("{\"azureKeyVault\":{\"valid\":false,\"valid\":true}}", "duplicate");
	expect_bad_ear("{\"awsKms\":{},\"awsKms\":{}}", "duplicate");
}

static void
test_ear_garbage(void **state)
{
	static const char *bad[] = {
		"",
		" ",
		"{",
		"}",
		"{\"azureKeyVault\":",
		"{\"azureKeyVault\":{\"enabled\":tru}}",
		"<html><body>502 Bad Gateway</body></html>",
		"{'azureKeyVault':{}}",
		"{\"a\":1,}",
		"{} {}",
		"{\"a\":\"\\u0000\"}",
		"{\"a\":\"\\ud800\"}",
		"{\"a\":1e999}",
		"{\"a\":99999999999999999999999}",
		"\xef\xbb\xbf{}",
		"{\"a\":\"\xff\xfe\"}",
		"{\"a\":\"\xc0\xaf\"}",
		"{\"a\":\"line\nbreak\"}",
	};
	struct atlas_ear ear;
	char err[64];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_bad_ear(bad[i], NULL);
	assert_int_equal(atlas_parse_ear(NULL, 0, &ear, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "empty body");
	assert_int_equal(atlas_parse_ear(NULL, 10, &ear, err, sizeof(err)), -EBADMSG);
	assert_int_equal(atlas_parse_ear("{}", 2, NULL, err, sizeof(err)), -EINVAL);
	/* a tiny err buffer is still terminated */
	assert_int_equal(parse_ear_str("[1]", &ear, err, 4), -EBADMSG);
	assert_int_equal(strlen(err), 3);
	/* the error names where the parse stopped */
	assert_int_equal(parse_ear_str("{\n\"a\": x}", &ear, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "line 2"));
}

static void
test_ear_nul_bytes(void **state)
{
	static const char with_nul[] = "{\"azureKeyVault\":{\"enabled\":true}}\0garbage";
	static const char nul_inside[] = "{\"azureKeyVault\":{\"key\0Vault\":true}}";
	struct atlas_ear ear;
	char err[128];

	(void)state;
	/* len covers the NUL and what follows: not silently ignored */
	assert_int_equal(parse_ear(with_nul, sizeof(with_nul) - 1, &ear, err, sizeof(err)),
			 -EBADMSG);
	assert_int_equal(parse_ear(nul_inside, sizeof(nul_inside) - 1, &ear, err, sizeof(err)),
			 -EBADMSG);
	/* but a len that stops before the NUL is a normal body */
	assert_int_equal(parse_ear(with_nul, strlen(with_nul), &ear, err, sizeof(err)), 0);
	assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AZURE);
	atlas_ear_free(&ear);
	/* an err buffer never receives raw control bytes */
	assert_int_equal(parse_ear_str("{\"\x01\x02\":", &ear, err, sizeof(err)), -EBADMSG);
	for (const char *p = err; *p; p++)
		assert_true((unsigned char)*p >= 0x20);
}

static void
test_ear_truncated(void **state)
{
	struct atlas_ear ear;
	size_t n = strlen(AZURE_SAMPLE);

	(void)state;
	/* every strict prefix of a valid body is invalid (and never crashes) */
	for (size_t len = 0; len + 2 < n; len++) {
		char err[128];
		if (parse_ear(AZURE_SAMPLE, len, &ear, err, sizeof(err)) != -EBADMSG)
			fail_msg("prefix of %zu bytes accepted", len);
	}
	assert_int_equal(parse_ear(AZURE_SAMPLE, n, &ear, NULL, 0), 0);
	atlas_ear_free(&ear);
}

static void
test_ear_huge(void **state)
{
	size_t n = 10 * 1024 * 1024;
	char *b = malloc(n), err[128];
	struct atlas_ear ear;

	(void)state;
	/* 10 MB of '[': jansson's depth limit stops it, no stack overflow */
	memset(b, '[', n);
	assert_int_equal(atlas_parse_ear(b, n, &ear, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "depth"));
	/* the same nested inside a known field */
	memcpy(b, "{\"azureKeyVault\":", 17);
	assert_int_equal(atlas_parse_ear(b, n, &ear, err, sizeof(err)), -EBADMSG);
	/* deep but legal nesting in an unknown field, closed properly */
	{
		size_t depth = 1000, off = 0;
		char *d = malloc(2 * depth + 64);

		off += (size_t)sprintf(d, "{\"x\":");
		memset(d + off, '[', depth);
		off += depth;
		memset(d + off, ']', depth);
		off += depth;
		off += (size_t)sprintf(d + off, ",\"awsKms\":{\"enabled\":true}}");
		assert_int_equal(atlas_parse_ear(d, off, &ear, err, sizeof(err)), 0);
		assert_int_equal(atlas_ear_enabled_provider(&ear), PROV_AWS);
		atlas_ear_free(&ear);
		free(d);
	}
	/* a flat 10 MB string value is just a long value */
	memcpy(b, "{\"unknown\":\"", 12);
	memset(b + 12, 'x', n - 14);
	memcpy(b + n - 2, "\"}", 2);
	assert_int_equal(atlas_parse_ear(b, n, &ear, err, sizeof(err)), 0);
	atlas_ear_free(&ear);
	free(b);
}

/* ---- fingerprint ----------------------------------------------------- */

static void
test_fingerprint_stable_and_sensitive(void **state)
{
	static const char *fields[] = {"azureEnvironment", "clientID",      "tenantID",
				       "subscriptionID",   "resourceGroupName", "keyVaultName",
				       "keyIdentifier",    "roleId"};
	struct atlas_ear a, b;
	char *fa, *fb, body[1024], line[96];

	(void)state;
	/* same content, different key order and spacing: same fingerprint */
	assert_int_equal(parse_ear_str(AZURE_SAMPLE, &a, NULL, 0), 0);
	assert_int_equal(
		parse_ear_str("{\"azureKeyVault\":{\"valid\":false,\"tenantID\":"
			      "\"99999999-8888-4777-8666-555555555555\",\"subscriptionID\":"
			      "\"11111111-2222-4333-8444-555555555555\",\"roleId\":"
			      "\"65a1b2c3d4e5f60718293a4b\",\"resourceGroupName\":\"rg-atlas-cmk\","
			      "\"requirePrivateNetworking\":false,\"keyVaultName\":\"contoso-kv\","
			      "\"keyIdentifier\":\"https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
			      "0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"enabled\":true,\"clientID\":"
			      "\"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f\",\"azureEnvironment\":\"AZURE\"}}",
			      &b, NULL, 0),
		0);
	fa = atlas_ear_fingerprint(&a);
	fb = atlas_ear_fingerprint(&b);
	/* valid and enabledForSearchNodes are state, not configuration */
	assert_string_equal(fa, fb);
	free(fb);
	atlas_ear_free(&b);

	/* each identity field changes the fingerprint in its own line */
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		snprintf(body, sizeof(body),
			 "{\"azureKeyVault\":{\"enabled\":true,\"azureEnvironment\":\"AZURE\","
			 "\"clientID\":\"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f\",\"tenantID\":"
			 "\"99999999-8888-4777-8666-555555555555\",\"subscriptionID\":"
			 "\"11111111-2222-4333-8444-555555555555\",\"resourceGroupName\":"
			 "\"rg-atlas-cmk\",\"keyVaultName\":\"contoso-kv\",\"keyIdentifier\":"
			 "\"https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
			 "0f1e2d3c4b5a69788796a5b4c3d2e1f0\",\"roleId\":\"65a1b2c3d4e5f60718293a4b\","
			 "\"requirePrivateNetworking\":false,\"%s\":\"CHANGED\"}}",
			 fields[i]);
		/* the later duplicate would be rejected: drop the original key */
		{
			char key[64], *p, *q;
			snprintf(key, sizeof(key), "\"%s\":\"", fields[i]);
			p = strstr(body, key);
			q = strchr(p + strlen(key), '"');
			memmove(p, q + 2, strlen(q + 2) + 1);
		}
		assert_int_equal(parse_ear_str(body, &b, NULL, 0), 0);
		fb = atlas_ear_fingerprint(&b);
		assert_string_not_equal(fa, fb);
		snprintf(line, sizeof(line), "\n%s=CHANGED\n", fields[i]);
		assert_non_null(strstr(fb, line));
		free(fb);
		atlas_ear_free(&b);
	}
	/* requirePrivateNetworking too */
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"enabled\":true,"
				       "\"requirePrivateNetworking\":true}}",
				       &b, NULL, 0),
			 0);
	fb = atlas_ear_fingerprint(&b);
	assert_non_null(strstr(fb, "\nrequirePrivateNetworking=true\n"));
	free(fb);
	atlas_ear_free(&b);
	free(fa);
	atlas_ear_free(&a);
	assert_null(atlas_ear_fingerprint(NULL));
}

static void
test_fingerprint_escaping(void **state)
{
	struct atlas_ear ear;
	char *fp;

	(void)state;
	/* a value with a newline cannot forge another line */
	assert_int_equal(parse_ear_str("{\"gcp\":1,\"googleCloudKms\":{\"enabled\":true,"
				       "\"keyVersionResourceID\":\"a\\nroleId=evil\\\\x\\t\","
				       "\"roleId\":\"r\"}}",
				       &ear, NULL, 0),
			 0);
	fp = atlas_ear_fingerprint(&ear);
	assert_string_equal(fp, "provider=gcp\n"
				"keyVersionResourceID=a\\x0aroleId=evil\\\\x\\x09\n"
				"roleId=r\n");
	free(fp);
	atlas_ear_free(&ear);
}

/* ---- ApiError -------------------------------------------------------- */

static int
parse_error(const char *s, struct atlas_error *e)
{
	size_t len = strlen(s);
	char *b = exact(s, len);
	int r = atlas_parse_error(b, len, e);

	free(b);
	return r;
}

static void
test_error_samples(void **state)
{
	struct atlas_error e;

	(void)state;
	assert_int_equal(parse_error(API_ERROR_404, &e), 0);
	assert_int_equal(e.error, 404);
	assert_string_equal(e.error_code, "GROUP_NOT_FOUND");
	assert_string_equal(e.detail, "No group with ID 65a1b2c3d4e5f60718293a00 exists.");

	assert_int_equal(parse_error(API_ERROR_401, &e), 0);
	assert_int_equal(e.error, 401);
	assert_string_equal(e.error_code, "");
	assert_string_equal(e.detail, "You are not authorized for this resource.");

	assert_int_equal(parse_error(API_ERROR_429, &e), 0);
	assert_int_equal(e.error, 429);
	assert_string_equal(e.error_code, "RATE_LIMITED_TOKEN_BUCKET");
	assert_non_null(strstr(e.detail, "Please retry after 55 seconds"));

	/* the OAuth shape */
	assert_int_equal(parse_error(OAUTH_ERROR, &e), 0);
	assert_int_equal(e.error, 0);
	assert_string_equal(e.error_code, "invalid_client");
	assert_string_equal(e.detail, "Invalid client credentials");

	/* reason stands in for a missing detail */
	assert_int_equal(parse_error("{\"error\":401,\"reason\":\"Unauthorized\"}", &e), 0);
	assert_string_equal(e.detail, "Unauthorized");
	assert_string_equal(e.error_code, "");

	/* nothing but a status: not enough, but the status is kept */
	assert_int_equal(parse_error("{\"error\":401}", &e), -EBADMSG);
	assert_int_equal(e.error, 401);
}

static void
test_error_sanitise_and_truncate(void **state)
{
	struct atlas_error e;
	char body[8192];
	size_t off;

	(void)state;
	assert_int_equal(parse_error("{\"errorCode\":\"X\\nY\",\"detail\":\"line1\\nline2\\r\\t"
				     "\\u001b[31mred\\u007f\"}",
				     &e),
			 0);
	assert_string_equal(e.error_code, "X Y");
	assert_string_equal(e.detail, "line1 line2   [31mred ");

	off = (size_t)snprintf(body, sizeof(body), "{\"errorCode\":\"");
	memset(body + off, 'C', 200);
	off += 200;
	off += (size_t)snprintf(body + off, sizeof(body) - off, "\",\"detail\":\"");
	for (int i = 0; i < 1000; i++)
		off += (size_t)snprintf(body + off, sizeof(body) - off, "\\u00e9");
	snprintf(body + off, sizeof(body) - off, "\"}");
	assert_int_equal(parse_error(body, &e), 0);
	assert_int_equal(strlen(e.error_code), sizeof(e.error_code) - 1);
	/* 2-byte characters: truncated on a character boundary */
	assert_int_equal(strlen(e.detail), sizeof(e.detail) - 2);
	assert_memory_equal(e.detail, "\xc3\xa9\xc3\xa9", 4);
}

static void
test_error_bad_input(void **state)
{
	static const char *bad[] = {
		"",      "<html>502 Bad Gateway</html>", "[]", "null", "{}",
		"{\"errorCode\":5,\"detail\":[]}", "{\"error\":\"\"}", "{\"detail\":",
	};
	struct atlas_error e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&e, 0x41, sizeof(e));
		if (parse_error(bad[i], &e) != -EBADMSG)
			fail_msg("accepted: %s", bad[i]);
		assert_string_equal(e.error_code, "");
		assert_string_equal(e.detail, "");
	}
	/* wrong types are skipped, the rest is used */
	assert_int_equal(parse_error("{\"error\":\"x\",\"errorCode\":\"GROUP_NOT_FOUND\","
				     "\"detail\":7,\"reason\":\"Not Found\"}",
				     &e),
			 0);
	assert_int_equal(e.error, 0);
	assert_string_equal(e.error_code, "GROUP_NOT_FOUND");
	assert_string_equal(e.detail, "Not Found");
	/* absurd status numbers are ignored */
	assert_int_equal(parse_error("{\"error\":99999,\"detail\":\"d\"}", &e), 0);
	assert_int_equal(e.error, 0);
	assert_int_equal(atlas_parse_error(NULL, 0, &e), -EBADMSG);
	assert_int_equal(atlas_parse_error("{}", 2, NULL), -EINVAL);
}

/* ---- OAuth token ----------------------------------------------------- */

static int
parse_token(const char *s, char **tok, int64_t *exp, char *err, size_t errlen)
{
	size_t len = strlen(s);
	char *b = exact(s, len);
	int r = atlas_parse_token(b, len, tok, exp, err, errlen);

	free(b);
	return r;
}

static void
test_token_sample(void **state)
{
	char *tok = NULL, err[128];
	int64_t exp = 0;

	(void)state;
	assert_int_equal(parse_token(TOKEN_SAMPLE, &tok, &exp, err, sizeof(err)), 0);
	assert_string_equal(tok, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZGJfc2FfaWQifQ.c2ln");
	assert_int_equal(exp, 3600);
	util_free_secret(tok);

	/* token_type is case-insensitive (RFC 6749 5.1); expires_in optional */
	assert_int_equal(parse_token("{\"access_token\":\"abc\",\"token_type\":\"bearer\"}", &tok,
				     &exp, err, sizeof(err)),
			 0);
	assert_string_equal(tok, "abc");
	assert_int_equal(exp, ATLAS_TOKEN_DEFAULT_LIFETIME);
	util_free_secret(tok);
	assert_int_equal(parse_token("{\"access_token\":\"abc\",\"expires_in\":60,\"scope\":\"x\"}",
				     &tok, NULL, err, sizeof(err)),
			 0);
	util_free_secret(tok);
}

static void
test_token_oauth_error(void **state)
{
	char *tok = (char *)1, err[128];
	int64_t exp = 77;

	(void)state;
	assert_int_equal(parse_token(OAUTH_ERROR, &tok, &exp, err, sizeof(err)), -EACCES);
	assert_null(tok);
	assert_int_equal(exp, 0);
	assert_string_equal(err, "invalid_client: Invalid client credentials");
	assert_int_equal(parse_token("{\"error\":\"unauthorized_client\"}", &tok, &exp, err,
				     sizeof(err)),
			 -EACCES);
	assert_string_equal(err, "unauthorized_client");
	/* control characters sanitised; a small buffer truncates safely */
	assert_int_equal(parse_token("{\"error\":\"bad\\nthing\",\"error_description\":"
				     "\"multi\\r\\nline\"}",
				     &tok, &exp, err, 12),
			 -EACCES);
	assert_string_equal(err, "bad thing: ");
	/* an error wins over a token in the same body, and the token never
	 * reaches err */
	assert_int_equal(parse_token("{\"error\":\"invalid_grant\",\"access_token\":\"SECRET\"}",
				     &tok, &exp, err, sizeof(err)),
			 -EACCES);
	assert_null(tok);
	assert_null(strstr(err, "SECRET"));
}

static void
test_token_invalid(void **state)
{
	static const struct {
		const char *body, *err_has;
	} bad[] = {
		{"", "empty"},
		{"garbage", "line 1"},
		{"[]", "not an object"},
		{"{}", "no access_token"},
		{"{\"access_token\":null}", "no access_token"},
		{"{\"access_token\":42}", "not a string"},
		{"{\"access_token\":\"\"}", "empty"},
		{"{\"access_token\":\"a b\"}", "HTTP header"},
		{"{\"access_token\":\"a\\r\\nX-Evil: 1\"}", "HTTP header"},
		{"{\"access_token\":\"caf\\u00e9\"}", "HTTP header"},
		{"{\"access_token\":\"abc\",\"token_type\":\"mac\"}", "not Bearer"},
		{"{\"access_token\":\"abc\",\"token_type\":1}", "token_type is not a string"},
		{"{\"access_token\":\"abc\",\"expires_in\":\"3600\"}", "not an integer"},
		{"{\"access_token\":\"abc\",\"expires_in\":3600.5}", "not an integer"},
		{"{\"access_token\":\"abc\",\"expires_in\":0}", "positive"},
		{"{\"access_token\":\"abc\",\"expires_in\":-5}", "positive"},
		{"{\"access_token\":\"a\",\"access_token\":\"b\"}", "duplicate"},
	};
	char *tok = (char *)1, err[128];
	int64_t exp = 5;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse_token(bad[i].body, &tok, &exp, err, sizeof(err)) != -EBADMSG)
			fail_msg("accepted: %s", bad[i].body);
		assert_null(tok);
		if (strstr(err, bad[i].err_has) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", err, bad[i].err_has);
	}
	assert_int_equal(atlas_parse_token("{}", 2, NULL, &exp, err, sizeof(err)), -EINVAL);
	assert_int_equal(atlas_parse_token(NULL, 0, &tok, &exp, NULL, 0), -EBADMSG);
}

/* ---- URLs ------------------------------------------------------------ */

static void
test_urls(void **state)
{
	char *u;

	(void)state;
	u = atlas_ear_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a00");
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/encryptionAtRest");
	free(u);
	u = atlas_ear_url("https://cloud.mongodbgov.com/", "65a1b2c3d4e5f60718293a00");
	assert_string_equal(u, "https://cloud.mongodbgov.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/encryptionAtRest");
	free(u);
	u = atlas_ear_url("http://127.0.0.1:8443/prefix///", "65A1B2C3D4E5F60718293A00");
	assert_string_equal(u, "http://127.0.0.1:8443/prefix/api/atlas/v2/groups/"
			       "65A1B2C3D4E5F60718293A00/encryptionAtRest");
	free(u);
	u = atlas_token_url("https://cloud.mongodb.com/");
	assert_string_equal(u, "https://cloud.mongodb.com/api/oauth/token");
	free(u);
	u = atlas_token_url("https://cloud.mongodb.com");
	assert_string_equal(u, "https://cloud.mongodb.com/api/oauth/token");
	free(u);

	errno = 0;
	assert_null(atlas_ear_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a0"));
	assert_int_equal(errno, EINVAL);
	assert_null(atlas_ear_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a000"));
	assert_null(atlas_ear_url("https://cloud.mongodb.com", "../../../orgs/x/apiKeys?a=b"));
	assert_null(atlas_ear_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a0g"));
	assert_null(atlas_ear_url("https://cloud.mongodb.com", ""));
	assert_null(atlas_ear_url("https://cloud.mongodb.com", NULL));
	assert_null(atlas_ear_url(NULL, "65a1b2c3d4e5f60718293a00"));
	assert_null(atlas_ear_url("", "65a1b2c3d4e5f60718293a00"));
	assert_null(atlas_token_url("/"));
	assert_null(atlas_token_url(NULL));

	assert_true(atlas_group_id_valid("65a1b2c3d4e5f60718293a00"));
	assert_false(atlas_group_id_valid("65a1b2c3d4e5f60718293a0"));
	assert_false(atlas_group_id_valid(NULL));
	assert_false(atlas_group_id_valid("65a1b2c3d4e5f60718293a0 "));
}

/* ---- clusters ---------------------------------------------------------- */

/* docs/reference/atlas-api.md §6 */
static const char CLUSTERS_SAMPLE[] =
	"{\n"
	"  \"links\": [ { \"href\": \"https://cloud.mongodb.com/api/atlas/v2/groups/"
	"65a1b2c3d4e5f60718293a00/clusters?pageNum=1&itemsPerPage=100\", \"rel\": \"self\" } ],\n"
	"  \"results\": [\n"
	"    { \"id\": \"65b0c1d2e3f405162738495a\", \"groupId\": \"65a1b2c3d4e5f60718293a00\",\n"
	"      \"name\": \"prod-east\", \"clusterType\": \"REPLICASET\",\n"
	"      \"encryptionAtRestProvider\": \"AZURE\", \"stateName\": \"IDLE\", \"paused\": false,\n"
	"      \"mongoDBVersion\": \"8.0.4\", \"createDate\": \"2025-11-03T09:12:44Z\",\n"
	"      \"replicationSpecs\": [ { \"zoneName\": \"Zone 1\", \"regionConfigs\": [ {\n"
	"        \"providerName\": \"AZURE\", \"regionName\": \"US_EAST_2\", \"priority\": 7 } ] } ] },\n"
	"    { \"name\": \"analytics\", \"encryptionAtRestProvider\": \"NONE\", \"stateName\": "
	"\"UPDATING\", \"paused\": true }\n"
	"  ],\n"
	"  \"totalCount\": 2\n"
	"}\n";

/* page 2 of 3 as fakecloud (and, presumably, Atlas) links them */
static const char CLUSTERS_PAGE2[] =
	"{\"links\":[{\"href\":\"https://127.0.0.1:8443/api/atlas/v2/groups/65a1b2c3d4e5f60718293a00/"
	"clusters?pageNum=1&itemsPerPage=2\",\"rel\":\"previous\"},{\"href\":\"https://127.0.0.1:8443/"
	"api/atlas/v2/groups/65a1b2c3d4e5f60718293a00/clusters?pageNum=2&itemsPerPage=2\",\"rel\":"
	"\"self\"},{\"href\":\"https://127.0.0.1:8443/api/atlas/v2/groups/65a1b2c3d4e5f60718293a00/"
	"clusters?pageNum=3&itemsPerPage=2\",\"rel\":\"next\"}],\"results\":[{\"name\":\"c3\","
	"\"encryptionAtRestProvider\":\"AWS\",\"stateName\":\"CREATING\",\"paused\":false},{\"name\":"
	"\"c4\",\"encryptionAtRestProvider\":\"GCP\",\"stateName\":\"DELETING\"}],\"totalCount\":5}";

static int
parse_clusters_str(const char *s, struct atlas_clusters *cl, char *err, size_t errlen)
{
	size_t len = strlen(s);
	char *b = exact(s, len);
	int r = atlas_parse_clusters(b, len, cl, err, errlen);

	free(b);
	return r;
}

static void
expect_bad_clusters(const char *s, const char *err_has)
{
	struct atlas_clusters cl;
	char err[256];

	memset(&cl, 0x5a, sizeof(cl));
	if (parse_clusters_str(s, &cl, err, sizeof(err)) != -EBADMSG)
		fail_msg("accepted: %s", s);
	assert_null(cl.v);
	assert_int_equal(cl.n, 0);
	assert_false(cl.has_next_link);
	assert_false(cl.has_total_count);
	if (err_has != NULL && strstr(err, err_has) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" for %s", err, err_has, s);
	assert_true(strlen(err) > 0);
	atlas_clusters_free(&cl);
}

static void
test_clusters_sample(void **state)
{
	struct atlas_clusters cl;
	char err[128] = "junk";

	(void)state;
	assert_int_equal(parse_clusters_str(CLUSTERS_SAMPLE, &cl, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cl.n, 2);
	assert_true(cl.has_total_count);
	assert_int_equal(cl.total_count, 2);
	assert_false(cl.has_next_link);
	assert_string_equal(cl.v[0].id, "65b0c1d2e3f405162738495a");
	assert_string_equal(cl.v[0].name, "prod-east");
	assert_string_equal(cl.v[0].encryption_at_rest_provider, "AZURE");
	assert_string_equal(cl.v[0].state_name, "IDLE");
	assert_int_equal(cl.v[0].paused, TRI_FALSE);
	assert_null(cl.v[1].id);
	assert_string_equal(cl.v[1].name, "analytics");
	assert_string_equal(cl.v[1].encryption_at_rest_provider, "NONE");
	assert_string_equal(cl.v[1].state_name, "UPDATING");
	assert_int_equal(cl.v[1].paused, TRI_TRUE);
	assert_false(atlas_clusters_more(&cl, 1, 100));
	atlas_clusters_free(&cl);
	assert_null(cl.v);
	assert_int_equal(cl.n, 0);
	atlas_clusters_free(&cl);
	atlas_clusters_free(NULL);
}

static void
test_clusters_optional_and_unknown(void **state)
{
	struct atlas_clusters cl;

	(void)state;
	/* an empty project; totalCount omitted (includeCount=false) */
	assert_int_equal(parse_clusters_str("{\"results\":[]}", &cl, NULL, 0), 0);
	assert_int_equal(cl.n, 0);
	assert_null(cl.v);
	assert_false(cl.has_total_count);
	assert_false(cl.has_next_link);
	assert_false(atlas_clusters_more(&cl, 1, 500));
	atlas_clusters_free(&cl);

	/* nulls are absent, unknown fields ignored, unknown values kept */
	assert_int_equal(parse_clusters_str("{\"results\":[{},{\"name\":null,\"paused\":null,"
					    "\"encryptionAtRestProvider\":\"KMIP\",\"stateName\":"
					    "\"HIBERNATING\",\"newField\":{\"x\":[1,2]}}],"
					    "\"links\":null,\"totalCount\":null,\"extra\":true}",
					    &cl, NULL, 0),
			 0);
	assert_int_equal(cl.n, 2);
	assert_null(cl.v[0].name);
	assert_null(cl.v[0].encryption_at_rest_provider);
	assert_null(cl.v[0].state_name);
	assert_int_equal(cl.v[0].paused, TRI_ABSENT);
	assert_null(cl.v[1].name);
	assert_int_equal(cl.v[1].paused, TRI_ABSENT);
	assert_string_equal(cl.v[1].encryption_at_rest_provider, "KMIP");
	assert_string_equal(cl.v[1].state_name, "HIBERNATING");
	assert_false(cl.has_total_count);
	atlas_clusters_free(&cl);

	/* links without rel/href, other rels, "NEXT" in any case */
	assert_int_equal(parse_clusters_str("{\"results\":[],\"links\":[{},{\"rel\":null},"
					    "{\"rel\":\"last\",\"href\":\"x\"}],\"totalCount\":0}",
					    &cl, NULL, 0),
			 0);
	assert_false(cl.has_next_link);
	assert_true(cl.has_total_count);
	assert_int_equal(cl.total_count, 0);
	atlas_clusters_free(&cl);
	assert_int_equal(parse_clusters_str("{\"results\":[],\"links\":[{\"rel\":\"Next\"}]}", &cl,
					    NULL, 0),
			 0);
	assert_true(cl.has_next_link);
	atlas_clusters_free(&cl);
}

static void
test_clusters_paging(void **state)
{
	struct atlas_clusters cl, all = {0};
	char *names[] = {"c1", "c2", "c3", "c4", "c5"};

	(void)state;
	assert_int_equal(parse_clusters_str(CLUSTERS_PAGE2, &cl, NULL, 0), 0);
	assert_true(cl.has_next_link);
	assert_int_equal(cl.total_count, 5);
	assert_int_equal(cl.n, 2);
	assert_true(atlas_clusters_more(&cl, 2, 2));

	/* the rule of atlas_clusters_more, case by case */
	cl.has_next_link = false;
	assert_false(atlas_clusters_more(&cl, 2, 3));   /* short page: last */
	assert_true(atlas_clusters_more(&cl, 2, 2));    /* full, 4 < 5 */
	cl.total_count = 4;
	assert_false(atlas_clusters_more(&cl, 2, 2));   /* full, 4 >= 4 */
	cl.has_total_count = false;
	assert_true(atlas_clusters_more(&cl, 2, 2));    /* full, no count */
	assert_true(atlas_clusters_more(&cl, 2, 1));    /* more than asked */
	assert_false(atlas_clusters_more(&cl, 2, 0));
	cl.has_next_link = true;
	assert_true(atlas_clusters_more(&cl, 9, 500));  /* next link wins */
	assert_false(atlas_clusters_more(NULL, 1, 1));
	atlas_clusters_free(&cl);
	/* an empty page ends the loop whatever it claims */
	assert_int_equal(parse_clusters_str("{\"results\":[],\"totalCount\":900,\"links\":"
					    "[{\"rel\":\"next\",\"href\":\"https://x/\"}]}",
					    &cl, NULL, 0),
			 0);
	assert_false(atlas_clusters_more(&cl, 1, 500));
	atlas_clusters_free(&cl);

	/* merging pages into one listing */
	for (unsigned page = 1; page <= 3; page++) {
		char body[512];
		size_t first = (page - 1) * 2;

		snprintf(body, sizeof(body), "{\"results\":[{\"name\":\"%s\"}%s%s%s]%s,"
					     "\"totalCount\":5}",
			 names[first], first + 1 < 5 ? ",{\"name\":\"" : "",
			 first + 1 < 5 ? names[first + 1] : "", first + 1 < 5 ? "\"}" : "",
			 page < 3 ? ",\"links\":[{\"rel\":\"next\",\"href\":\"h\"}]" : "");
		assert_int_equal(parse_clusters_str(body, &cl, NULL, 0), 0);
		assert_int_equal(atlas_clusters_more(&cl, page, 2), page < 3);
		assert_int_equal(atlas_clusters_merge(&all, &cl), 0);
		assert_null(cl.v);
		assert_int_equal(cl.n, 0);
		atlas_clusters_free(&cl); /* harmless */
	}
	assert_int_equal(all.n, 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(all.v[i].name, names[i]);
	assert_false(all.has_next_link);
	assert_int_equal(all.total_count, 5);
	/* an empty page merges too */
	assert_int_equal(parse_clusters_str("{\"results\":[]}", &cl, NULL, 0), 0);
	assert_int_equal(atlas_clusters_merge(&all, &cl), 0);
	assert_int_equal(all.n, 5);
	assert_false(all.has_total_count);
	assert_int_equal(atlas_clusters_merge(&all, &all), -EINVAL);
	assert_int_equal(atlas_clusters_merge(NULL, &all), -EINVAL);
	assert_int_equal(atlas_clusters_merge(&all, NULL), -EINVAL);
	assert_int_equal(all.n, 5);
	atlas_clusters_free(&all);
}

static void
test_clusters_malformed(void **state)
{
	struct atlas_clusters cl;

	(void)state;
	expect_bad_clusters("{}", "results");
	expect_bad_clusters("{\"results\":null}", "results");
	expect_bad_clusters("{\"totalCount\":3,\"links\":[]}", "results");
	expect_bad_clusters("{\"results\":{}}", "results is not an array");
	expect_bad_clusters("{\"results\":\"[]\"}", "results is not an array");
	expect_bad_clusters("{\"results\":[1]}", "results[0] is not an object");
	expect_bad_clusters("{\"results\":[{},null]}", "results[1] is not an object");
	expect_bad_clusters("{\"results\":[{\"name\":\"a\"},{\"name\":7}]}",
			    "results[1].name is not a string");
	expect_bad_clusters("{\"results\":[{\"paused\":\"false\"}]}",
			    "results[0].paused is not a boolean");
	expect_bad_clusters("{\"results\":[{\"paused\":0}]}", "results[0].paused is not a boolean");
	expect_bad_clusters("{\"results\":[{\"encryptionAtRestProvider\":1}]}",
			    "results[0].encryptionAtRestProvider is not a string");
	expect_bad_clusters("{\"results\":[{\"encryptionAtRestProvider\":{\"p\":\"AZURE\"}}]}",
			    "encryptionAtRestProvider is not a string");
	expect_bad_clusters("{\"results\":[{\"stateName\":[]}]}",
			    "results[0].stateName is not a string");
	expect_bad_clusters("{\"results\":[{\"id\":false}]}", "results[0].id is not a string");
	expect_bad_clusters("{\"results\":[],\"totalCount\":\"2\"}", "totalCount is not an integer");
	expect_bad_clusters("{\"results\":[],\"totalCount\":2.0}", "totalCount is not an integer");
	expect_bad_clusters("{\"results\":[],\"totalCount\":-1}", "totalCount is negative");
	expect_bad_clusters("{\"results\":[],\"links\":{}}", "links is not an array");
	expect_bad_clusters("{\"results\":[],\"links\":[\"next\"]}", "links[0] is not an object");
	expect_bad_clusters("{\"results\":[],\"links\":[{\"rel\":5}]}",
			    "links[0].rel is not a string");
	expect_bad_clusters("{\"results\":[],\"links\":[{\"rel\":\"self\"},{\"href\":{}}]}",
			    "links[1].href is not a string");
	/* duplicates, at any depth */
	expect_bad_clusters("{\"results\":[],\"results\":[]}", "duplicate");
	expect_bad_clusters("{\"results\":[{\"encryptionAtRestProvider\":\"AZURE\","
			    "\"encryptionAtRestProvider\":\"NONE\"}]}",
			    "duplicate");
	/* not JSON, not an object */
	expect_bad_clusters("[]", "top level is not an object");
	expect_bad_clusters("null", "top level is not an object");
	expect_bad_clusters("", "empty");
	expect_bad_clusters("<html>502 Bad Gateway</html>", NULL);
	expect_bad_clusters("{\"results\":[]}x", NULL);
	assert_int_equal(atlas_parse_clusters("{\"results\":[]}", 14, NULL, NULL, 0), -EINVAL);
	assert_int_equal(atlas_parse_clusters(NULL, 0, &cl, NULL, 0), -EBADMSG);

	/* every truncation of a real page fails cleanly, nothing read past len */
	for (size_t len = 0; len < strlen(CLUSTERS_SAMPLE) - 2; len++) {
		char *b = exact(CLUSTERS_SAMPLE, len);
		char err[64];

		if (atlas_parse_clusters(b, len, &cl, err, sizeof(err)) != -EBADMSG)
			fail_msg("truncation at %zu accepted", len);
		assert_null(cl.v);
		free(b);
	}
}

static void
test_clusters_url(void **state)
{
	char *u;

	(void)state;
	u = atlas_clusters_url("https://cloud.mongodb.com/", "65a1b2c3d4e5f60718293a00", 1, 500);
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/clusters?pageNum=1&itemsPerPage=500");
	free(u);
	u = atlas_clusters_url("https://cloud.mongodbgov.com", "65a1b2c3d4e5f60718293a00", 7, 1);
	assert_string_equal(u, "https://cloud.mongodbgov.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/clusters?pageNum=7&itemsPerPage=1");
	free(u);
	errno = 0;
	assert_null(atlas_clusters_url("https://x", "65a1b2c3d4e5f60718293a00", 0, 100));
	assert_int_equal(errno, EINVAL);
	assert_null(atlas_clusters_url("https://x", "65a1b2c3d4e5f60718293a00", 1, 0));
	assert_null(atlas_clusters_url("https://x", "65a1b2c3d4e5f60718293a00", 1, 501));
	assert_null(atlas_clusters_url("https://x", "65a1b2c3d4e5f60718293a00", 2147483648u, 1));
	assert_null(atlas_clusters_url("https://x", "65a1b2c3d4e5f60718293a0/", 1, 1));
	assert_null(atlas_clusters_url("https://x", NULL, 1, 1));
	assert_null(atlas_clusters_url("", "65a1b2c3d4e5f60718293a00", 1, 1));
	assert_null(atlas_clusters_url(NULL, "65a1b2c3d4e5f60718293a00", 1, 1));
}

/* ---- Cloud Provider Access -------------------------------------------- */

/* docs/reference/atlas-api.md §7 */
static const char CPA_SAMPLE[] =
	"{\n"
	"  \"awsIamRoles\": [],\n"
	"  \"azureServicePrincipals\": [ {\n"
	"      \"_id\": \"65a1b2c3d4e5f60718293a4b\", \"providerName\": \"AZURE\",\n"
	"      \"atlasAzureAppId\": \"9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a\",\n"
	"      \"servicePrincipalId\": \"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\",\n"
	"      \"tenantId\": \"99999999-8888-4777-8666-555555555555\",\n"
	"      \"createdDate\": \"2026-01-15T10:00:00Z\", \"lastUpdatedDate\": "
	"\"2026-01-15T10:05:00Z\",\n"
	"      \"featureUsages\": [ { \"featureType\": \"ENCRYPTION_AT_REST\", \"featureId\": null } "
	"] } ],\n"
	"  \"gcpServiceAccounts\": []\n"
	"}\n";

/* every list filled, AWS and GCP shaped after the spec's field lists */
static const char CPA_ALL[] =
	"{\"awsIamRoles\":[{\"providerName\":\"AWS\",\"roleId\":\"65a1b2c3d4e5f60718293a4c\","
	"\"atlasAWSAccountArn\":\"arn:aws:iam::012345678901:root\",\"atlasAssumedRoleExternalId\":"
	"\"3192be49-6e76-4b7d-a7b8-b486a8fc4483\",\"iamAssumedRoleArn\":"
	"\"arn:aws:iam::123456789012:role/atlas-kms\",\"authorizedDate\":\"2026-01-15T10:00:00Z\","
	"\"createdDate\":\"2026-01-15T09:00:00Z\",\"featureUsages\":[{\"featureType\":"
	"\"ENCRYPTION_AT_REST\",\"featureId\":null}]},{\"providerName\":\"AWS\",\"roleId\":"
	"\"65a1b2c3d4e5f60718293a5c\",\"atlasAWSAccountArn\":\"arn:aws:iam::012345678901:root\","
	"\"createdDate\":\"2026-02-01T09:00:00Z\",\"featureUsages\":[]}],"
	"\"azureServicePrincipals\":[{\"_id\":\"65a1b2c3d4e5f60718293a4b\",\"providerName\":"
	"\"AZURE\",\"servicePrincipalId\":\"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d\",\"tenantId\":"
	"\"99999999-8888-4777-8666-555555555555\",\"featureUsages\":[{\"featureType\":"
	"\"EXPORT_SNAPSHOT\",\"featureId\":{\"exportBucketId\":\"65a1b2c3d4e5f60718293aff\"}},"
	"{\"featureType\":\"ATLAS_DATA_LAKE\",\"featureId\":{\"groupId\":\"g\",\"name\":\"dl\"}},"
	"{\"featureId\":\"x\"},{\"featureType\":null}]},{\"_id\":\"65A1B2C3D4E5F60718293A6B\","
	"\"providerName\":\"AZURE\"}],"
	"\"gcpServiceAccounts\":[{\"providerName\":\"GCP\",\"roleId\":\"65a1b2c3d4e5f60718293a4d\","
	"\"gcpServiceAccountForAtlas\":\"mongodb-atlas-abc@p-123.iam.gserviceaccount.com\","
	"\"status\":\"COMPLETE\",\"createdDate\":\"2026-01-15T10:00:00Z\"},{\"roleId\":"
	"\"65a1b2c3d4e5f60718293a5d\",\"status\":\"IN_PROGRESS\"}]}";

static int
parse_cpa_str(const char *s, struct atlas_cpa *cpa, char *err, size_t errlen)
{
	size_t len = strlen(s);
	char *b = exact(s, len);
	int r = atlas_parse_cloud_provider_access(b, len, cpa, err, errlen);

	free(b);
	return r;
}

static void
expect_bad_cpa(const char *s, const char *err_has)
{
	struct atlas_cpa cpa;
	char err[256];

	memset(&cpa, 0x5a, sizeof(cpa));
	if (parse_cpa_str(s, &cpa, err, sizeof(err)) != -EBADMSG)
		fail_msg("accepted: %s", s);
	assert_null(cpa.azure);
	assert_null(cpa.aws);
	assert_null(cpa.gcp);
	assert_int_equal(cpa.n_azure + cpa.n_aws + cpa.n_gcp, 0);
	if (err_has != NULL && strstr(err, err_has) == NULL)
		fail_msg("error \"%s\" lacks \"%s\" for %s", err, err_has, s);
	assert_true(strlen(err) > 0);
	atlas_cpa_free(&cpa);
}

static void
test_cpa_sample(void **state)
{
	struct atlas_cpa cpa;
	char err[128] = "junk";

	(void)state;
	assert_int_equal(parse_cpa_str(CPA_SAMPLE, &cpa, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cpa.n_azure, 1);
	assert_int_equal(cpa.n_aws, 0);
	assert_int_equal(cpa.n_gcp, 0);
	assert_null(cpa.aws);
	assert_string_equal(cpa.azure[0].id, "65a1b2c3d4e5f60718293a4b");
	assert_string_equal(cpa.azure[0].service_principal_id,
			    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
	assert_string_equal(cpa.azure[0].atlas_azure_app_id,
			    "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a");
	assert_string_equal(cpa.azure[0].tenant_id, "99999999-8888-4777-8666-555555555555");
	assert_true(cpa.azure[0].has_feature_usages);
	assert_int_equal(cpa.azure[0].n_feature_types, 1);
	assert_string_equal(cpa.azure[0].feature_types[0], "ENCRYPTION_AT_REST");

	assert_ptr_equal(atlas_cpa_azure_find(&cpa, "65a1b2c3d4e5f60718293a4b"), &cpa.azure[0]);
	assert_string_equal(atlas_cpa_azure_principal(&cpa, "65a1b2c3d4e5f60718293a4b"),
			    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
	assert_string_equal(atlas_cpa_azure_principal(&cpa, "65A1B2C3D4E5F60718293A4B"),
			    "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d");
	assert_null(atlas_cpa_azure_principal(&cpa, "65a1b2c3d4e5f60718293a4c"));
	assert_null(atlas_cpa_azure_principal(&cpa, ""));
	assert_null(atlas_cpa_azure_principal(&cpa, NULL));
	assert_null(atlas_cpa_azure_principal(NULL, "65a1b2c3d4e5f60718293a4b"));
	assert_null(atlas_cpa_aws_find(&cpa, "65a1b2c3d4e5f60718293a4b"));
	assert_null(atlas_cpa_gcp_find(&cpa, "65a1b2c3d4e5f60718293a4b"));
	atlas_cpa_free(&cpa);
	assert_null(cpa.azure);
	assert_int_equal(cpa.n_azure, 0);
	atlas_cpa_free(&cpa);
	atlas_cpa_free(NULL);
}

static void
test_cpa_all_lists(void **state)
{
	const struct atlas_cpa_azure *a;
	struct atlas_cpa cpa;

	(void)state;
	assert_int_equal(parse_cpa_str(CPA_ALL, &cpa, NULL, 0), 0);
	assert_int_equal(cpa.n_aws, 2);
	assert_string_equal(cpa.aws[0].role_id, "65a1b2c3d4e5f60718293a4c");
	assert_string_equal(cpa.aws[0].iam_assumed_role_arn,
			    "arn:aws:iam::123456789012:role/atlas-kms");
	assert_null(cpa.aws[1].iam_assumed_role_arn); /* not authorized */
	assert_ptr_equal(atlas_cpa_aws_find(&cpa, "65a1b2c3d4e5f60718293a5c"), &cpa.aws[1]);
	assert_int_equal(cpa.n_gcp, 2);
	assert_string_equal(cpa.gcp[0].status, "COMPLETE");
	assert_string_equal(cpa.gcp[1].status, "IN_PROGRESS");
	assert_ptr_equal(atlas_cpa_gcp_find(&cpa, "65a1b2c3d4e5f60718293a5d"), &cpa.gcp[1]);
	assert_null(atlas_cpa_gcp_find(&cpa, "65a1b2c3d4e5f60718293a4c"));

	assert_int_equal(cpa.n_azure, 2);
	a = &cpa.azure[0];
	assert_null(a->atlas_azure_app_id);
	assert_true(a->has_feature_usages);
	/* entries without a featureType are skipped, featureId of any shape */
	assert_int_equal(a->n_feature_types, 2);
	assert_string_equal(a->feature_types[0], "EXPORT_SNAPSHOT");
	assert_string_equal(a->feature_types[1], "ATLAS_DATA_LAKE");
	/* no featureUsages, no service principal id; upper-case id still found */
	a = atlas_cpa_azure_find(&cpa, "65a1b2c3d4e5f60718293a6b");
	assert_ptr_equal(a, &cpa.azure[1]);
	assert_false(a->has_feature_usages);
	assert_int_equal(a->n_feature_types, 0);
	assert_null(atlas_cpa_azure_principal(&cpa, "65a1b2c3d4e5f60718293a6b"));
	atlas_cpa_free(&cpa);

	/* everything optional */
	assert_int_equal(parse_cpa_str("{}", &cpa, NULL, 0), 0);
	assert_int_equal(cpa.n_azure + cpa.n_aws + cpa.n_gcp, 0);
	atlas_cpa_free(&cpa);
	assert_int_equal(parse_cpa_str("{\"awsIamRoles\":null,\"azureServicePrincipals\":[{}],"
				       "\"gcpServiceAccounts\":[{\"roleId\":null}],\"new\":[1]}",
				       &cpa, NULL, 0),
			 0);
	assert_int_equal(cpa.n_azure, 1);
	assert_null(cpa.azure[0].id);
	assert_int_equal(cpa.n_gcp, 1);
	assert_null(cpa.gcp[0].role_id);
	/* an entry without an id never matches */
	assert_null(atlas_cpa_azure_find(&cpa, "65a1b2c3d4e5f60718293a4b"));
	atlas_cpa_free(&cpa);
	assert_int_equal(parse_cpa_str("{\"azureServicePrincipals\":[{\"featureUsages\":[]}]}",
				       &cpa, NULL, 0),
			 0);
	assert_true(cpa.azure[0].has_feature_usages);
	assert_null(cpa.azure[0].feature_types);
	atlas_cpa_free(&cpa);
}

static void
test_cpa_malformed(void **state)
{
	struct atlas_cpa cpa;

	(void)state;
	expect_bad_cpa("{\"azureServicePrincipals\":{}}", "azureServicePrincipals is not an array");
	expect_bad_cpa("{\"awsIamRoles\":\"\"}", "awsIamRoles is not an array");
	expect_bad_cpa("{\"gcpServiceAccounts\":1}", "gcpServiceAccounts is not an array");
	expect_bad_cpa("{\"azureServicePrincipals\":[null]}",
		       "azureServicePrincipals[0] is not an object");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"_id\":\"65a1b2c3d4e5f60718293a4b\"},"
		       "{\"_id\":65}]}",
		       "azureServicePrincipals[1]._id is not a string");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"_id\":{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}}]}",
		       "azureServicePrincipals[0]._id is not a string");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"servicePrincipalId\":true}]}",
		       "servicePrincipalId is not a string");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"tenantId\":[]}]}", "tenantId is not a string");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"atlasAzureAppId\":1}]}",
		       "atlasAzureAppId is not a string");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"featureUsages\":{}}]}",
		       "azureServicePrincipals[0].featureUsages is not an array");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"featureUsages\":[\"ENCRYPTION_AT_REST\"]}]}",
		       "azureServicePrincipals[0].featureUsages[0] is not an object");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"featureUsages\":[{\"featureType\":"
		       "\"EXPORT_SNAPSHOT\"},{\"featureType\":3}]}]}",
		       "azureServicePrincipals[0].featureUsages[1].featureType is not a string");
	expect_bad_cpa("{\"awsIamRoles\":[{\"roleId\":true}]}", "awsIamRoles[0].roleId is not a string");
	expect_bad_cpa("{\"awsIamRoles\":[{\"iamAssumedRoleArn\":{}}]}",
		       "awsIamRoles[0].iamAssumedRoleArn is not a string");
	expect_bad_cpa("{\"gcpServiceAccounts\":[{\"status\":1}]}",
		       "gcpServiceAccounts[0].status is not a string");
	expect_bad_cpa("{\"gcpServiceAccounts\":[[]]}", "gcpServiceAccounts[0] is not an object");
	/* a failure in a later list frees the earlier ones (ASan) */
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"_id\":\"a\",\"featureUsages\":[{"
		       "\"featureType\":\"ENCRYPTION_AT_REST\"}]}],\"awsIamRoles\":[{\"roleId\":\"b\"}],"
		       "\"gcpServiceAccounts\":[{\"roleId\":\"c\"},{\"roleId\":0}]}",
		       "gcpServiceAccounts[1].roleId");
	expect_bad_cpa("{\"azureServicePrincipals\":[{\"_id\":\"a\",\"_id\":\"b\"}]}", "duplicate");
	expect_bad_cpa("{\"awsIamRoles\":[],\"awsIamRoles\":[]}", "duplicate");
	expect_bad_cpa("[]", "top level is not an object");
	expect_bad_cpa("", "empty");
	expect_bad_cpa("{\"awsIamRoles\":[]", NULL);
	assert_int_equal(atlas_parse_cloud_provider_access("{}", 2, NULL, NULL, 0), -EINVAL);

	for (size_t len = 0; len < strlen(CPA_ALL) - 1; len++) {
		char *b = exact(CPA_ALL, len);

		if (atlas_parse_cloud_provider_access(b, len, &cpa, NULL, 0) != -EBADMSG)
			fail_msg("truncation at %zu accepted", len);
		assert_null(cpa.azure);
		free(b);
	}
}

static void
test_cpa_url_and_role_id(void **state)
{
	struct atlas_ear ear;
	char *u;

	(void)state;
	u = atlas_cpa_url("https://cloud.mongodb.com//", "65a1b2c3d4e5f60718293a00");
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/cloudProviderAccess");
	free(u);
	errno = 0;
	assert_null(atlas_cpa_url("https://x", "../../../etc/passwd0000000"));
	assert_int_equal(errno, EINVAL);
	assert_null(atlas_cpa_url("https://x", NULL));
	assert_null(atlas_cpa_url("/", "65a1b2c3d4e5f60718293a00"));

	assert_int_equal(parse_ear_str(AZURE_SAMPLE, &ear, NULL, 0), 0);
	assert_ptr_equal(atlas_ear_role_id(&ear), ear.azure.role_id);
	atlas_ear_free(&ear);
	assert_int_equal(parse_ear_str(AWS_SAMPLE, &ear, NULL, 0), 0);
	assert_string_equal(atlas_ear_role_id(&ear), "65a1b2c3d4e5f60718293a4c");
	atlas_ear_free(&ear);
	assert_int_equal(parse_ear_str(GCP_SAMPLE, &ear, NULL, 0), 0);
	assert_string_equal(atlas_ear_role_id(&ear), "65a1b2c3d4e5f60718293a4d");
	atlas_ear_free(&ear);
	assert_int_equal(parse_ear_str(ALL_DISABLED, &ear, NULL, 0), 0);
	assert_null(atlas_ear_role_id(&ear));
	atlas_ear_free(&ear);
	/* a disabled provider's role does not count; empty means none */
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"enabled\":false,\"roleId\":\"r\"}}",
				       &ear, NULL, 0),
			 0);
	assert_null(atlas_ear_role_id(&ear));
	atlas_ear_free(&ear);
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"enabled\":true,\"roleId\":\"\"}}",
				       &ear, NULL, 0),
			 0);
	assert_null(atlas_ear_role_id(&ear));
	atlas_ear_free(&ear);
	assert_int_equal(parse_ear_str("{\"azureKeyVault\":{\"enabled\":true,\"clientID\":\"c\"}}",
				       &ear, NULL, 0),
			 0);
	assert_null(atlas_ear_role_id(&ear));
	atlas_ear_free(&ear);
	assert_null(atlas_ear_role_id(NULL));
}

/* kmswatch's own service account: the group's orgId, the account's
 * secrets (id and expiresAt required, the rest optional), and the URLs
 * (ids validated: they land in a URL path). */
static void
test_service_account(void **state)
{
	static const char group[] =
		"{\"id\":\"65a1b2c3d4e5f60718293a00\",\"name\":\"payments-prod\","
		"\"orgId\":\"5f1a2b3c4d5e6f7081920a1b\",\"clusterCount\":2,"
		"\"created\":\"2025-11-03T09:12:44Z\",\"links\":[]}";
	static const char *const bad_groups[] = {
		"{}", "[]", "{\"orgId\":5}", "{\"orgId\":\"5f1a\"}", "{\"orgId\":\"../../x/y/z/aaaaaaaaaaaa\"}",
		"{\"orgId\":\"5f1a2b3c4d5e6f7081920a1b\",\"orgId\":\"5f1a2b3c4d5e6f7081920a1c\"}", "",
		"{\"orgId\":null}",
	};
	static const char sa[] =
		"{\"clientId\":\"mdb_sa_id_0123456789abcdef01234567\",\"name\":\"kmswatch\","
		"\"description\":\"monitor\",\"createdAt\":\"2026-01-01T00:00:00Z\","
		"\"roles\":[\"ORG_READ_ONLY\"],\"secrets\":["
		"{\"id\":\"5ec000000000000000000001\",\"createdAt\":\"2026-01-01T00:00:00Z\","
		"\"expiresAt\":\"2026-12-01T00:00:00Z\",\"lastUsedAt\":\"2026-11-20T10:00:00Z\","
		"\"maskedSecretValue\":\"mdb_sa_sk_...abcd\"},"
		"{\"id\":\"5ec000000000000000000002\",\"expiresAt\":\"2027-06-01T00:00:00Z\"}]}";
	static const char *const bad_sas[] = {
		"[]", "{\"secrets\":{}}", "{\"secrets\":[1]}",
		"{\"secrets\":[{\"expiresAt\":\"2026-12-01T00:00:00Z\"}]}",
		"{\"secrets\":[{\"id\":\"x\"}]}",
		"{\"secrets\":[{\"id\":\"x\",\"expiresAt\":\"tomorrow\"}]}",
		"{\"secrets\":[{\"id\":\"x\",\"expiresAt\":\"2026-12-01T00:00:00Z\",\"maskedSecretValue\":7}]}",
		"{\"secrets\":[{\"id\":\"\",\"expiresAt\":\"2026-12-01T00:00:00Z\"}]}",
		"{\"clientId\":[],\"secrets\":[]}",
		"{\"secrets\":[],\"secrets\":[]}",
	};
	struct atlas_sa out = {0};
	char err[200], *org = NULL, *url;
	time_t t;

	(void)state;
	assert_int_equal(atlas_parse_group_org(group, sizeof(group) - 1, &org, err, sizeof(err)), 0);
	assert_string_equal(org, "5f1a2b3c4d5e6f7081920a1b");
	free(org);
	for (size_t i = 0; i < sizeof(bad_groups) / sizeof(bad_groups[0]); i++) {
		org = NULL;
		assert_int_equal(atlas_parse_group_org(bad_groups[i], strlen(bad_groups[i]), &org, err,
						       sizeof(err)),
				 -EBADMSG);
		assert_null(org);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(atlas_parse_group_org("{}", 2, NULL, err, sizeof(err)), -EINVAL);

	assert_int_equal(atlas_parse_service_account(sa, sizeof(sa) - 1, &out, err, sizeof(err)), 0);
	assert_string_equal(out.client_id, "mdb_sa_id_0123456789abcdef01234567");
	assert_int_equal(out.n_secrets, 2);
	assert_string_equal(out.secrets[0].id, "5ec000000000000000000001");
	assert_string_equal(out.secrets[0].masked, "mdb_sa_sk_...abcd");
	assert_int_equal(util_parse_time("2026-12-01T00:00:00Z", &t), 0);
	assert_int_equal(out.secrets[0].expires_at, t);
	assert_true(out.secrets[0].has_created && out.secrets[0].has_last_used);
	assert_null(out.secrets[1].masked);
	assert_false(out.secrets[1].has_created || out.secrets[1].has_last_used);
	atlas_sa_free(&out);
	assert_int_equal(atlas_parse_service_account("{}", 2, &out, err, sizeof(err)), 0);
	assert_int_equal(out.n_secrets, 0);
	atlas_sa_free(&out);
	assert_int_equal(atlas_parse_service_account("{\"secrets\":null}", 16, &out, err, sizeof(err)),
			 0);
	assert_int_equal(out.n_secrets, 0);
	atlas_sa_free(&out);
	for (size_t i = 0; i < sizeof(bad_sas) / sizeof(bad_sas[0]); i++) {
		assert_int_equal(atlas_parse_service_account(bad_sas[i], strlen(bad_sas[i]), &out,
							     err, sizeof(err)),
				 -EBADMSG);
		assert_int_equal(out.n_secrets, 0);
		assert_null(out.secrets);
		assert_null(out.client_id);
	}
	assert_int_equal(atlas_parse_service_account(bad_sas[4], strlen(bad_sas[4]), &out, err,
						     sizeof(err)),
			 -EBADMSG);
	assert_string_equal(err, "secrets[0].expiresAt is missing");

	url = atlas_group_url("https://cloud.mongodb.com/", "65a1b2c3d4e5f60718293a00");
	assert_string_equal(url, "https://cloud.mongodb.com/api/atlas/v2/groups/65a1b2c3d4e5f60718293a00");
	free(url);
	assert_null(atlas_group_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a0"));
	url = atlas_service_account_url("https://cloud.mongodbgov.com", "5f1a2b3c4d5e6f7081920a1b",
					"mdb_sa_id_0123456789abcdef01234567");
	assert_string_equal(url, "https://cloud.mongodbgov.com/api/atlas/v2/orgs/"
				 "5f1a2b3c4d5e6f7081920a1b/serviceAccounts/"
				 "mdb_sa_id_0123456789abcdef01234567");
	free(url);
	assert_null(atlas_service_account_url("https://x", "5f1a2b3c4d5e6f7081920a1b", "a/../b"));
	assert_null(atlas_service_account_url("https://x", "5f1a2b3c4d5e6f7081920a1b", ""));
	assert_null(atlas_service_account_url("https://x", "5f1a2b3c4d5e6f7081920a1", "mdb_sa_id_x"));
	assert_null(atlas_service_account_url("https://x", NULL, "mdb_sa_id_x"));
	assert_false(atlas_client_id_valid("a?b"));
	assert_true(atlas_client_id_valid("mdb_sa_id_0123456789abcdef01234567"));
}

/* EAR private endpoints: the reference's sample, the envelope rules of the
 * clusters, and the URL (AZURE and AWS only). */
static void
test_ear_private_endpoints(void **state)
{
	static const char sample[] =
		"{\"links\":[{\"href\":\"https://cloud.mongodb.com/api/atlas/v2/groups/"
		"65a1b2c3d4e5f60718293a00/encryptionAtRest/AZURE/privateEndpoints?pageNum=1&"
		"itemsPerPage=100\",\"rel\":\"self\"}],\"results\":[{\"id\":\"66c0d1e2f3a4b5c6d7e8f901\","
		"\"cloudProvider\":\"AZURE\",\"regionName\":\"US_EAST_2\",\"privateEndpointConnectionName\":"
		"\"contoso-kv.pe-atlas-7f3a\",\"status\":\"PENDING_ACCEPTANCE\",\"errorMessage\":null}],"
		"\"totalCount\":1}";
	static const char *const bad[] = {
		"{}", "[]", "{\"results\":{}}", "{\"results\":[{\"status\":3}]}",
		"{\"results\":[],\"totalCount\":-1}", "{\"results\":[1]}",
		"{\"results\":[],\"results\":[]}",
	};
	struct atlas_ear_pes pes = {0}, all = {0};
	char err[200], *url;

	(void)state;
	assert_int_equal(atlas_parse_ear_private_endpoints(sample, sizeof(sample) - 1, &pes, err,
							   sizeof(err)),
			 0);
	assert_int_equal(pes.n, 1);
	assert_string_equal(pes.v[0].region_name, "US_EAST_2");
	assert_string_equal(pes.v[0].status, "PENDING_ACCEPTANCE");
	assert_string_equal(pes.v[0].connection_name, "contoso-kv.pe-atlas-7f3a");
	assert_null(pes.v[0].error_message);
	assert_true(pes.has_total_count);
	assert_false(pes.has_next_link);
	assert_false(atlas_page_more(pes.n, pes.has_next_link, pes.has_total_count,
				     pes.total_count, 1, ATLAS_PE_PER_PAGE));
	assert_int_equal(atlas_ear_pes_merge(&all, &pes), 0);
	assert_int_equal(all.n, 1);
	assert_int_equal(pes.n, 0);
	atlas_ear_pes_free(&all);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(atlas_parse_ear_private_endpoints(bad[i], strlen(bad[i]), &pes, err,
								   sizeof(err)),
				 -EBADMSG);
		assert_int_equal(pes.n, 0);
		assert_null(pes.v);
	}
	url = atlas_ear_private_endpoints_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a00",
					      PROV_AWS, 2);
	assert_string_equal(url, "https://cloud.mongodb.com/api/atlas/v2/groups/"
				 "65a1b2c3d4e5f60718293a00/encryptionAtRest/AWS/privateEndpoints?"
				 "pageNum=2&itemsPerPage=100");
	free(url);
	assert_null(atlas_ear_private_endpoints_url("https://cloud.mongodb.com",
						    "65a1b2c3d4e5f60718293a00", PROV_GCP, 1));
	assert_null(atlas_ear_private_endpoints_url("https://cloud.mongodb.com", "../x", PROV_AZURE,
						    1));
}

/* Atlas's events: the envelope, created parsed (an unparsable one kept,
 * undated), and the URL asking for the EAR verdicts since a date. */
static void
test_events(void **state)
{
	static const char page[] =
		"{\"links\":[],\"results\":[{\"id\":\"65ee00000000000000000001\",\"eventTypeName\":"
		"\"AZURE_ENCRYPTION_KEY_INVALID\",\"created\":\"2026-12-05T10:00:00Z\",\"groupId\":"
		"\"65a1b2c3d4e5f60718293a00\",\"isGlobalAdmin\":false},{\"eventTypeName\":"
		"\"AZURE_ENCRYPTION_KEY_VALID\",\"created\":\"soon\"}],\"totalCount\":2}";
	struct atlas_events ev = {0};
	char err[200], *url;

	(void)state;
	assert_int_equal(atlas_parse_events(page, sizeof(page) - 1, &ev, err, sizeof(err)), 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(ev.v[0].event_type_name, "AZURE_ENCRYPTION_KEY_INVALID");
	assert_int_equal(ev.v[0].created_at, 1796464800);
	assert_int_equal(ev.v[1].created_at, 0);
	atlas_events_free(&ev);
	assert_int_equal(atlas_parse_events("{\"results\":[{\"created\":5}]}", 27, &ev, err,
					    sizeof(err)),
			 -EBADMSG);
	assert_null(ev.v);
	url = atlas_events_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a00", 1796464800, 1);
	assert_non_null(strstr(url, "/api/atlas/v2/groups/65a1b2c3d4e5f60718293a00/events?pageNum=1&"
				    "itemsPerPage=100&minDate=2026-12-05T10:00:00Z&eventType="
				    "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED&"));
	assert_non_null(strstr(url, "&eventType=GCP_ENCRYPTION_KEY_ROTATED"));
	free(url);
	assert_null(atlas_events_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a00", 0, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ear_azure_sample),
		cmocka_unit_test(test_ear_aws_sample),
		cmocka_unit_test(test_ear_gcp_sample),
		cmocka_unit_test(test_ear_disabled_and_omitted),
		cmocka_unit_test(test_ear_unknown_fields_and_values),
		cmocka_unit_test(test_ear_multiple_enabled),
		cmocka_unit_test(test_ear_wrong_types),
		cmocka_unit_test(test_ear_bad_structure),
		cmocka_unit_test(test_ear_garbage),
		cmocka_unit_test(test_ear_nul_bytes),
		cmocka_unit_test(test_ear_truncated),
		cmocka_unit_test(test_ear_huge),
		cmocka_unit_test(test_fingerprint_stable_and_sensitive),
		cmocka_unit_test(test_fingerprint_escaping),
		cmocka_unit_test(test_error_samples),
		cmocka_unit_test(test_error_sanitise_and_truncate),
		cmocka_unit_test(test_error_bad_input),
		cmocka_unit_test(test_token_sample),
		cmocka_unit_test(test_token_oauth_error),
		cmocka_unit_test(test_token_invalid),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_clusters_sample),
		cmocka_unit_test(test_clusters_optional_and_unknown),
		cmocka_unit_test(test_clusters_paging),
		cmocka_unit_test(test_clusters_malformed),
		cmocka_unit_test(test_clusters_url),
		cmocka_unit_test(test_cpa_sample),
		cmocka_unit_test(test_cpa_all_lists),
		cmocka_unit_test(test_cpa_malformed),
		cmocka_unit_test(test_cpa_url_and_role_id),
		cmocka_unit_test(test_ear_private_endpoints),
		cmocka_unit_test(test_service_account),
		cmocka_unit_test(test_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
