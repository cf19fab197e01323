/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/azure.c, lib/azure_checks.c and the control-plane /
 * ipAddresses parsers of lib/atlas.c: the cloud endpoint table and its
 * overrides (token audiences included), every parser on real-shaped answers
 * (shapes from docs/reference/azure-api.md and docs/reference/atlas-api.md) and on
 * malformed, truncated and wrong-typed ones, the Key Vault key identifier
 * grammar, and every check at each threshold edge with the time injected
 * (exactly at the boundary and one second either side).
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

#include "atlas.h"
#include "azure.h"
#include "azure_config.h"
#include "checks.h"
#include "cidr.h"
#include "config.h"
#include "util.h"
#include "unit_helpers.h"

#define DAY 86400
/* 2026-01-01T00:00:00Z */
#define NOW ((time_t)1767225600)

/* ---- helpers ----------------------------------------------------------- */

#define PARSE_TOK(text, tok, terr, err)                                                  \
	({                                                                               \
		size_t len_;                                                             \
		char *b_ = body_of((text), &len_);                                       \
		int r_ = azure_parse_token(b_, len_, (tok), (terr), (err), sizeof(err)); \
		free(b_);                                                                \
		r_;                                                                      \
	})

static int
parse_error(const char *text, struct azure_error *e)
{
	size_t len;
	char *b = body_of(text, &len);
	int r = azure_parse_error(b, len, e);

	free(b);
	return r;
}

static struct cfg_checks
defaults(void)
{
	struct cfg_checks c = {
		.secret_expiry = {true, 30 * DAY, 7 * DAY},
		.key_age = {true, 75 * DAY, 90 * DAY},
		.key_expiry = {true, 30 * DAY, 7 * DAY},
		.include_future_node_ips = true,
	};

	for (size_t i = 0; i < CHK__COUNT; i++)
		c.enabled[i] = true;
	return c;
}

static const struct finding *
by_subject(const struct findings *f, enum check_id c, const char *subject)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == c && strcmp(f->v[i].subject, subject) == 0)
			return &f->v[i];
	fail_msg("no %s finding for subject %s", check_name(c), subject);
	return NULL;
}

static void
assert_sev(const struct finding *x, enum severity s)
{
	if (x->severity != s)
		fail_msg("severity %s, want %s: %s", severity_name(x->severity), severity_name(s),
			 x->summary);
}

/* ======================================================================
 * Clouds and endpoints
 * ====================================================================== */

static void
test_cloud_names(void **state)
{
	(void)state;
	assert_int_equal(azure_cloud_from_atlas(NULL), AZURE_CLOUD_PUBLIC);
	assert_int_equal(azure_cloud_from_atlas(""), AZURE_CLOUD_PUBLIC);
	assert_int_equal(azure_cloud_from_atlas("AZURE"), AZURE_CLOUD_PUBLIC);
	assert_int_equal(azure_cloud_from_atlas("azure"), AZURE_CLOUD_PUBLIC);
	assert_int_equal(azure_cloud_from_atlas("AZURE_CHINA"), AZURE_CLOUD_CHINA);
	assert_int_equal(azure_cloud_from_atlas("Azure_China"), AZURE_CLOUD_CHINA);
	assert_int_equal(azure_cloud_from_atlas("AZURE_US_GOVERNMENT"), AZURE_CLOUD_US_GOV);
	assert_int_equal(azure_cloud_from_atlas("AZURE_GERMANY"), AZURE_CLOUD_UNKNOWN);
	assert_int_equal(azure_cloud_from_atlas("AZURE "), AZURE_CLOUD_UNKNOWN);
	assert_int_equal(azure_cloud_from_atlas("AZURE_MARS"), AZURE_CLOUD_UNKNOWN);
	assert_string_equal(azure_cloud_atlas_name(AZURE_CLOUD_PUBLIC), "AZURE");
	assert_string_equal(azure_cloud_atlas_name(AZURE_CLOUD_CHINA), "AZURE_CHINA");
	assert_string_equal(azure_cloud_atlas_name(AZURE_CLOUD_US_GOV), "AZURE_US_GOVERNMENT");
	assert_string_equal(azure_cloud_atlas_name(AZURE_CLOUD_UNKNOWN), "");
}

static void
assert_cloud(const struct azure_endpoints *e, enum azure_cloud c, const char *login,
	     const char *arm, const char *graph, const char *suffix)
{
	char buf[AZURE_URL_MAX];

	assert_int_equal(e->cloud, c);
	assert_string_equal(e->login, login);
	assert_string_equal(e->management, arm);
	assert_string_equal(e->graph, graph);
	assert_string_equal(e->vault_suffix, suffix);
	assert_string_equal(e->key_vault, "");
	assert_string_equal(e->imds, "http://169.254.169.254");
	assert_string_equal(e->arm_resource, arm);
	snprintf(buf, sizeof(buf), "%s/.default", arm);
	assert_string_equal(e->arm_scope, buf);
	assert_string_equal(e->graph_resource, graph);
	snprintf(buf, sizeof(buf), "%s/.default", graph);
	assert_string_equal(e->graph_scope, buf);
	snprintf(buf, sizeof(buf), "https://%s", suffix);
	assert_string_equal(e->kv_resource, buf);
	snprintf(buf, sizeof(buf), "https://%s/.default", suffix);
	assert_string_equal(e->kv_scope, buf);
}

static void
test_endpoints_table(void **state)
{
	struct azure_endpoints e;
	char err[256];

	(void)state;
	assert_int_equal(azure_endpoints_resolve("AZURE", NULL, &e, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_cloud(&e, AZURE_CLOUD_PUBLIC, "https://login.microsoftonline.com",
		     "https://management.azure.com", "https://graph.microsoft.com",
		     "vault.azure.net");
	assert_int_equal(azure_endpoints_resolve(NULL, NULL, &e, err, sizeof(err)), 0);
	assert_int_equal(e.cloud, AZURE_CLOUD_PUBLIC);
	assert_int_equal(azure_endpoints_resolve("AZURE_CHINA", NULL, &e, err, sizeof(err)), 0);
	assert_cloud(&e, AZURE_CLOUD_CHINA, "https://login.chinacloudapi.cn",
		     "https://management.chinacloudapi.cn",
		     "https://microsoftgraph.chinacloudapi.cn", "vault.azure.cn");
	assert_int_equal(
		azure_endpoints_resolve("azure_us_government", NULL, &e, err, sizeof(err)), 0);
	assert_cloud(&e, AZURE_CLOUD_US_GOV, "https://login.microsoftonline.us",
		     "https://management.usgovcloudapi.net", "https://graph.microsoft.us",
		     "vault.usgovcloudapi.net");
	/* empty overrides are no overrides */
	{
		struct cfg_azure_endpoints o = {.login = (char *)"", .graph = (char *)""};

		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
		assert_cloud(&e, AZURE_CLOUD_PUBLIC, "https://login.microsoftonline.com",
			     "https://management.azure.com", "https://graph.microsoft.com",
			     "vault.azure.net");
	}
	assert_int_equal(azure_endpoints_resolve("AZURE", NULL, NULL, err, sizeof(err)), -EINVAL);
	/* err may be NULL */
	assert_int_equal(azure_endpoints_resolve("AZURE", NULL, &e, NULL, 0), 0);
}

static void
assert_empty_but_cloud(const struct azure_endpoints *e, enum azure_cloud c)
{
	assert_int_equal(e->cloud, c);
	assert_string_equal(e->login, "");
	assert_string_equal(e->management, "");
	assert_string_equal(e->graph, "");
	assert_string_equal(e->vault_suffix, "");
	assert_string_equal(e->arm_scope, "");
	assert_string_equal(e->graph_scope, "");
	assert_string_equal(e->kv_scope, "");
}

static void
test_endpoints_unknown(void **state)
{
	struct azure_endpoints e;
	char err[256];

	(void)state;
	assert_int_equal(azure_endpoints_resolve("AZURE_GERMANY", NULL, &e, err, sizeof(err)),
			 -ENOENT);
	assert_empty_but_cloud(&e, AZURE_CLOUD_UNKNOWN);
	assert_contains(err, "\"AZURE_GERMANY\" is unknown");
	assert_contains(err, "set azure.endpoints login, management, graph and vault_suffix");
	assert_true(strlen(err) < sizeof(err) - 1); /* not cut short */
	/* even for a long environment name, in the daemon's 256 bytes */
	assert_int_equal(azure_endpoints_resolve("AZURE_SOME_FUTURE_SOVEREIGN_CLOUD_WITH_A_LONG_NAME",
						 NULL, &e, err, sizeof(err)),
			 -ENOENT);
	assert_true(strlen(err) < sizeof(err) - 1);
	assert_contains(err, "else from a known vault_suffix)");

	/* private-link / test overrides give no audience */
	{
		struct cfg_azure_endpoints o = {
			.login = (char *)"https://127.0.0.1:8443",
			.management = (char *)"https://127.0.0.1:8443",
			.graph = (char *)"https://127.0.0.1:8443",
			.vault_suffix = (char *)"vault.example.test",
		};

		assert_int_equal(azure_endpoints_resolve("AZURE_MARS", &o, &e, err, sizeof(err)),
				 -ENOENT);
		assert_empty_but_cloud(&e, AZURE_CLOUD_UNKNOWN);
		assert_contains(err, "\"AZURE_MARS\" is unknown");
		/* a known management host is not enough without graph */
		o.management = (char *)"https://management.usgovcloudapi.net";
		assert_int_equal(azure_endpoints_resolve("AZURE_MARS", &o, &e, err, sizeof(err)),
				 -ENOENT);
		/* both public hosts: every audience is derivable */
		o.graph = (char *)"https://dod-graph.microsoft.us/";
		assert_int_equal(azure_endpoints_resolve("AZURE_MARS", &o, &e, err, sizeof(err)),
				 0);
		assert_int_equal(e.cloud, AZURE_CLOUD_UNKNOWN);
		assert_string_equal(e.login, "https://127.0.0.1:8443");
		assert_string_equal(e.arm_scope, "https://management.usgovcloudapi.net/.default");
		assert_string_equal(e.graph_resource, "https://dod-graph.microsoft.us");
		assert_string_equal(e.kv_scope, "https://vault.example.test/.default");
		/* no login: nothing to ask for tokens */
		o.login = NULL;
		assert_int_equal(azure_endpoints_resolve("AZURE_MARS", &o, &e, err, sizeof(err)),
				 -ENOENT);
	}
	/* a known cloud's vault suffix supplies that cloud's defaults */
	{
		struct cfg_azure_endpoints o = {
			.management = (char *)"https://10.0.0.5",
			.vault_suffix = (char *)"VAULT.AZURE.CN",
		};

		assert_int_equal(azure_endpoints_resolve("AZURE_NEXT", &o, &e, err, sizeof(err)),
				 0);
		assert_int_equal(e.cloud, AZURE_CLOUD_UNKNOWN);
		assert_string_equal(e.login, "https://login.chinacloudapi.cn");
		assert_string_equal(e.management, "https://10.0.0.5");
		assert_string_equal(e.arm_resource, "https://management.chinacloudapi.cn");
		assert_string_equal(e.graph_scope,
				    "https://microsoftgraph.chinacloudapi.cn/.default");
		assert_string_equal(e.vault_suffix, "vault.azure.cn");
		assert_string_equal(e.kv_resource, "https://vault.azure.cn");
	}
	/* an unknown suffix alone is not enough */
	{
		struct cfg_azure_endpoints o = {.vault_suffix = (char *)"vault.example.test"};

		assert_int_equal(azure_endpoints_resolve("X", &o, &e, err, sizeof(err)), -ENOENT);
	}
}

static void
test_endpoints_overrides_keep_audience(void **state)
{
	struct cfg_azure_endpoints o = {
		.login = (char *)"https://127.0.0.1:8443/",
		.management = (char *)"https://127.0.0.1:8443//",
		.graph = (char *)"https://10.0.0.5/graph",
		.key_vault = (char *)"https://10.0.0.6:8444",
		.imds = (char *)"http://127.0.0.1:8445/",
	};
	struct azure_endpoints e;
	char err[256];

	(void)state;
	/* requests go to the overrides; audiences stay the cloud's */
	assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
	assert_string_equal(e.login, "https://127.0.0.1:8443");
	assert_string_equal(e.management, "https://127.0.0.1:8443");
	assert_string_equal(e.graph, "https://10.0.0.5/graph");
	assert_string_equal(e.key_vault, "https://10.0.0.6:8444");
	assert_string_equal(e.imds, "http://127.0.0.1:8445");
	assert_string_equal(e.vault_suffix, "vault.azure.net");
	assert_string_equal(e.arm_resource, "https://management.azure.com");
	assert_string_equal(e.arm_scope, "https://management.azure.com/.default");
	assert_string_equal(e.graph_resource, "https://graph.microsoft.com");
	assert_string_equal(e.graph_scope, "https://graph.microsoft.com/.default");
	assert_string_equal(e.kv_scope, "https://vault.azure.net/.default");

	assert_int_equal(azure_endpoints_resolve("AZURE_CHINA", &o, &e, err, sizeof(err)), 0);
	assert_string_equal(e.management, "https://127.0.0.1:8443");
	assert_string_equal(e.arm_scope, "https://management.chinacloudapi.cn/.default");
	assert_string_equal(e.graph_scope, "https://microsoftgraph.chinacloudapi.cn/.default");
	assert_string_equal(e.kv_scope, "https://vault.azure.cn/.default");

	/* look-alikes are not Azure hosts */
	o.management = (char *)"https://management.azure.com.evil.example";
	o.graph = (char *)"https://xgraph.microsoft.com";
	assert_int_equal(azure_endpoints_resolve("AZURE_US_GOVERNMENT", &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.management, "https://management.azure.com.evil.example");
	assert_string_equal(e.arm_resource, "https://management.usgovcloudapi.net");
	assert_string_equal(e.graph_resource, "https://graph.microsoft.us");
}

static void
test_endpoints_overrides_public_hosts(void **state)
{
	struct cfg_azure_endpoints o = {.graph = (char *)"https://dod-graph.microsoft.us"};
	struct azure_endpoints e;
	char err[256];

	(void)state;
	/* the DoD case: Graph tokens are for the DoD host */
	assert_int_equal(azure_endpoints_resolve("AZURE_US_GOVERNMENT", &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.graph, "https://dod-graph.microsoft.us");
	assert_string_equal(e.graph_resource, "https://dod-graph.microsoft.us");
	assert_string_equal(e.graph_scope, "https://dod-graph.microsoft.us/.default");
	assert_string_equal(e.arm_scope, "https://management.usgovcloudapi.net/.default");

	/* case, port, trailing dot and slash: the audience is the bare host */
	o.graph = (char *)"https://DoD-Graph.Microsoft.US.:443/";
	assert_int_equal(azure_endpoints_resolve("AZURE_US_GOVERNMENT", &o, &e, err, sizeof(err)),
			 0);
	assert_string_equal(e.graph, "https://DoD-Graph.Microsoft.US.:443");
	assert_string_equal(e.graph_resource, "https://dod-graph.microsoft.us");

	/* a regional subdomain of a service host: that service's audience */
	o.graph = NULL;
	o.management = (char *)"https://eastus.management.azure.com";
	assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
	assert_string_equal(e.management, "https://eastus.management.azure.com");
	assert_string_equal(e.arm_resource, "https://management.azure.com");

	/* another cloud's public host: the audience follows it */
	o.management = (char *)"https://management.usgovcloudapi.net";
	o.graph = (char *)"https://microsoftgraph.chinacloudapi.cn";
	assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
	assert_string_equal(e.arm_scope, "https://management.usgovcloudapi.net/.default");
	assert_string_equal(e.graph_scope, "https://microsoftgraph.chinacloudapi.cn/.default");
	/* a graph host given as management is not an ARM audience */
	o.management = (char *)"https://graph.microsoft.com";
	assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
	assert_string_equal(e.arm_resource, "https://management.azure.com");

	/* vault_suffix moves the Key Vault audience, stored lower case */
	{
		struct cfg_azure_endpoints v = {.vault_suffix = (char *)"Vault.Contoso.Example"};

		assert_int_equal(azure_endpoints_resolve("AZURE", &v, &e, err, sizeof(err)), 0);
		assert_string_equal(e.vault_suffix, "vault.contoso.example");
		assert_string_equal(e.kv_resource, "https://vault.contoso.example");
		assert_string_equal(e.kv_scope, "https://vault.contoso.example/.default");
		assert_string_equal(e.arm_scope, "https://management.azure.com/.default");
	}
}

static void
test_endpoints_bad_overrides(void **state)
{
	static const struct {
		const char *url;
		int want;
	} bad[] = {
		{"ftp://example.com", -EINVAL},
		{"management.azure.com", -EINVAL},
		{"https://", -EINVAL},
		{"https:///path", -EINVAL},
		{"https://:443", -EINVAL},
		{"https://host:", -EINVAL},
		{"https://host:abc", -EINVAL},
		{"https://host:123456", -EINVAL},
		{"https://host?x=1", -EINVAL},
		{"https://host/#frag", -EINVAL},
		{"https://user@host", -EINVAL},
		{"https://ho st", -EINVAL},
		{"https://host\n", -EINVAL},
		{"https://[::1", -EINVAL},
		{"https://[]", -EINVAL},
	};
	struct azure_endpoints e;
	char err[256], longurl[AZURE_URL_MAX + 16];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct cfg_azure_endpoints o = {.management = (char *)bad[i].url};
		int r = azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err));

		if (r != bad[i].want)
			fail_msg("management %s: %d, want %d", bad[i].url, r, bad[i].want);
		assert_contains(err, "azure.endpoints.management");
		assert_empty_but_cloud(&e, AZURE_CLOUD_PUBLIC);
	}
	/* an IPv6 literal is fine, and never an audience */
	{
		struct cfg_azure_endpoints o = {.key_vault = (char *)"https://[::1]:8443",
						.graph = (char *)"https://[2001:db8::5]"};

		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)), 0);
		assert_string_equal(e.key_vault, "https://[::1]:8443");
		assert_string_equal(e.graph_resource, "https://graph.microsoft.com");
	}
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "https://", 8);
	longurl[sizeof(longurl) - 1] = '\0';
	{
		struct cfg_azure_endpoints o = {.login = longurl};

		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)),
				 -ENAMETOOLONG);
		assert_contains(err, "azure.endpoints.login is too long");
	}
	{
		struct cfg_azure_endpoints o = {.vault_suffix = longurl + 8};

		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)),
				 -ENAMETOOLONG);
		o.vault_suffix = (char *)"vault .azure.net";
		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)),
				 -EINVAL);
		assert_contains(err, "vault_suffix");
		o.vault_suffix = (char *)".vault.azure.net";
		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)),
				 -EINVAL);
	}
	{
		struct cfg_azure_endpoints o = {.imds = (char *)"file:///etc/passwd"};

		assert_int_equal(azure_endpoints_resolve("AZURE", &o, &e, err, sizeof(err)),
				 -EINVAL);
		assert_contains(err, "azure.endpoints.imds");
	}
}

/* ======================================================================
 * Tokens
 * ====================================================================== */

static const char ENTRA_OK[] =
	"{\"token_type\":\"Bearer\",\"expires_in\":3599,\"ext_expires_in\":3599,"
	"\"access_token\":\"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln\"}";

static const char IMDS_OK[] =
	"{\"access_token\":\"eyJ0eXAi.eyJhdWQi.c2ln\",\"client_id\":\"5fb6d1b6-0000\","
	"\"expires_in\":\"3599\",\"expires_on\":\"1506484173\",\"ext_expires_in\":\"3599\","
	"\"not_before\":\"1506480273\",\"resource\":\"https://vault.azure.net\","
	"\"token_type\":\"Bearer\"}";

static const char ERR_7000222[] =
	"{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000222: The provided "
	"client secret keys for app '631a96bc-a705-4eda-9f99-fdaf9f54f6a2' are expired. Visit "
	"the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or "
	"consider using certificate credentials for added security: "
	"https://aka.ms/certCreds.\\r\\nTrace ID: 3d0a2f07-3a4f-4b5f-8d3e-5b1a8c7f0000\\r\\n"
	"Correlation ID: 9f3d8a4e-0000\\r\\nTimestamp: 2026-01-01 00:00:00Z\","
	"\"error_codes\":[7000222],\"timestamp\":\"2026-01-01 00:00:00Z\","
	"\"trace_id\":\"3d0a2f07-3a4f-4b5f-8d3e-5b1a8c7f0000\",\"correlation_id\":\"9f3d8a4e\","
	"\"error_uri\":\"https://login.microsoftonline.com/error?code=7000222\"}";

static void
test_token_ok(void **state)
{
	struct azure_token t;
	struct azure_token_error te;
	char err[256];

	(void)state;
	assert_int_equal(PARSE_TOK(ENTRA_OK, &t, &te, err), 0);
	assert_string_equal(t.access_token,
			    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln");
	assert_int_equal(t.expires_in, 3599);
	assert_false(t.has_expires_on);
	assert_string_equal(err, "");
	azure_token_free(&t);
	assert_null(t.access_token);

	assert_int_equal(PARSE_TOK(IMDS_OK, &t, &te, err), 0);
	assert_string_equal(t.access_token, "eyJ0eXAi.eyJhdWQi.c2ln");
	assert_int_equal(t.expires_in, 3599);
	assert_true(t.has_expires_on);
	assert_int_equal(t.expires_on, 1506484173);
	azure_token_free(&t);

	/* token_type is case-insensitive and optional; terr may be NULL */
	assert_int_equal(PARSE_TOK("{\"access_token\":\"abc\",\"expires_in\":\"60\","
				   "\"token_type\":\"bearer\"}",
				   &t, NULL, err),
			 0);
	azure_token_free(&t);
	assert_int_equal(PARSE_TOK("{\"access_token\":\"abc\",\"expires_in\":1}", &t, NULL, err),
			 0);
	azure_token_free(&t);
	azure_token_free(NULL);
}

static void
assert_token_error(const char *body, enum azure_token_cause cause, long long code,
		   const char *advice_word)
{
	struct azure_token t;
	struct azure_token_error te;
	char err[256];

	assert_int_equal(PARSE_TOK(body, &t, &te, err), -EACCES);
	assert_null(t.access_token);
	assert_int_equal(te.cause, cause);
	if (code != 0) {
		assert_true(te.n_codes >= 1);
		assert_int_equal(te.codes[0], code);
	}
	assert_contains(err, te.error);
	assert_contains(azure_token_advice(te.cause), advice_word);
	/* one line: the \r\n of the description are gone */
	assert_null(strchr(te.description, '\r'));
	assert_null(strchr(te.description, '\n'));
	assert_null(strchr(err, '\n'));
}

static void
test_token_errors(void **state)
{
	(void)state;
	assert_token_error(ERR_7000222, AZTOK_SECRET_EXPIRED, 7000222, "expired");
	{
		struct azure_token t;
		struct azure_token_error te;
		char err[256];

		assert_int_equal(PARSE_TOK(ERR_7000222, &t, &te, err), -EACCES);
		assert_string_equal(te.error, "invalid_client");
		assert_contains(te.description, "AADSTS7000222: The provided client secret keys");
		assert_contains(te.description, "are expired.");
		assert_contains(err, "invalid_client: AADSTS7000222");
		assert_int_equal(te.n_codes, 1);
	}
	assert_token_error("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: "
			   "Invalid client secret provided. Ensure the secret being sent in the "
			   "request is the client secret value, not the client secret ID\","
			   "\"error_codes\":[7000215]}",
			   AZTOK_SECRET_INVALID, 7000215, "secret's value");
	assert_token_error("{\"error\":\"unauthorized_client\",\"error_description\":"
			   "\"AADSTS700016: Application with identifier 'x' was not found in the "
			   "directory 'contoso'.\",\"error_codes\":[700016]}",
			   AZTOK_APP_NOT_FOUND, 700016, "client_id");
	assert_token_error("{\"error\":\"invalid_request\",\"error_description\":\"AADSTS90002: "
			   "Tenant 'x' not found.\",\"error_codes\":[90002]}",
			   AZTOK_TENANT_NOT_FOUND, 90002, "tenant_id");
	assert_token_error("{\"error\":\"invalid_scope\",\"error_description\":\"AADSTS70011: The "
			   "provided value for the input parameter 'scope' is not valid.\","
			   "\"error_codes\":[70011]}",
			   AZTOK_INVALID_SCOPE, 70011, "scope");
	/* unknown code: other, with generic advice */
	assert_token_error("{\"error\":\"invalid_request\",\"error_description\":\"AADSTS900144: "
			   "The request body must contain the following parameter: "
			   "'grant_type'.\",\"error_codes\":[900144]}",
			   AZTOK_OTHER, 900144, "azure.identity");
	/* the first code kmswatch knows wins; unknown ones before it are skipped */
	assert_token_error("{\"error\":\"invalid_client\",\"error_codes\":[50000,7000215,"
			   "7000222]}",
			   AZTOK_SECRET_INVALID, 50000, "secret");
	/* no error_codes (a proxy, an old endpoint): the description's AADSTS */
	assert_token_error("{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000222: "
			   "expired\"}",
			   AZTOK_SECRET_EXPIRED, 0, "expired");
	/* IMDS errors have no codes at all */
	assert_token_error("{\"error\":\"invalid_resource\",\"error_description\":\"AADSTS500011: "
			   "The resource principal named https://127.0.0.1:8443 was not found\"}",
			   AZTOK_OTHER, 0, "Entra ID");
	/* wrong-typed extras do not hide the error */
	assert_token_error("{\"error\":\"invalid_client\",\"error_codes\":\"7000222\","
			   "\"error_description\":7}",
			   AZTOK_OTHER, 0, "Entra ID");
	assert_token_error("{\"error\":\"invalid_client\",\"error_codes\":[\"x\",1,2,3,4,5,6,7,8,9,"
			   "10,7000222]}",
			   AZTOK_OTHER, 1, "Entra ID");
}

static void
test_token_classify_direct(void **state)
{
	long long codes[] = {1, 90002};

	(void)state;
	assert_int_equal(azure_token_classify(NULL, 0, NULL), AZTOK_OTHER);
	assert_int_equal(azure_token_classify(codes, 2, NULL), AZTOK_TENANT_NOT_FOUND);
	assert_int_equal(azure_token_classify(codes, 1, "AADSTS700016: x"), AZTOK_APP_NOT_FOUND);
	assert_int_equal(azure_token_classify(NULL, 0, "see AADSTS1 then AADSTS70011"),
			 AZTOK_INVALID_SCOPE);
	assert_int_equal(azure_token_classify(NULL, 0, "AADSTS"), AZTOK_OTHER);
	assert_int_equal(azure_token_classify(NULL, 0, "AADSTS70001122"), AZTOK_OTHER);
	assert_int_equal(azure_token_classify(NULL, 0, "AADSTS999999999999999999999"),
			 AZTOK_OTHER);
	for (int c = AZTOK_OTHER; c <= AZTOK_INVALID_SCOPE; c++) {
		const char *a = azure_token_advice((enum azure_token_cause)c);

		assert_non_null(a);
		assert_true(strlen(a) > 20);
		assert_true(a[strlen(a) - 1] != '.');
	}
}

static void
test_token_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"{\"access_token\":\"abc\",\"expires_in\":3599",
		"[]",
		"\"abc\"",
		"null",
		"{}",
		"{\"expires_in\":3599}",
		"{\"access_token\":null,\"expires_in\":3599}",
		"{\"access_token\":42,\"expires_in\":3599}",
		"{\"access_token\":\"\",\"expires_in\":3599}",
		"{\"access_token\":\"a b\",\"expires_in\":3599}",
		"{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":3599}",
		"{\"access_token\":\"caf\\u00e9\",\"expires_in\":3599}",
		"{\"access_token\":\"abc\"}",
		"{\"access_token\":\"abc\",\"expires_in\":0}",
		"{\"access_token\":\"abc\",\"expires_in\":-5}",
		"{\"access_token\":\"abc\",\"expires_in\":\"-5\"}",
		"{\"access_token\":\"abc\",\"expires_in\":\"\"}",
		"{\"access_token\":\"abc\",\"expires_in\":\"12a\"}",
		"{\"access_token\":\"abc\",\"expires_in\":\" 12\"}",
		"{\"access_token\":\"abc\",\"expires_in\":3599.5}",
		"{\"access_token\":\"abc\",\"expires_in\":true}",
		"{\"access_token\":\"abc\",\"expires_in\":\"1234567890123456789\"}",
		"{\"access_token\":\"abc\",\"expires_in\":3599,\"expires_on\":\"soon\"}",
		"{\"access_token\":\"abc\",\"expires_in\":3599,\"token_type\":\"mac\"}",
		"{\"access_token\":\"abc\",\"expires_in\":3599,\"token_type\":1}",
		"{\"access_token\":\"abc\",\"access_token\":\"def\",\"expires_in\":3599}",
		"{\"error\":{\"code\":\"x\"}}",
	};
	struct azure_token t;
	struct azure_token_error te;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = PARSE_TOK(bad[i], &t, &te, err);

		if (r != -EBADMSG)
			fail_msg("%s: %d, want -EBADMSG", bad[i], r);
		assert_null(t.access_token);
		assert_true(err[0] != '\0');
		assert_null(strstr(err, "X-Evil: 1\n"));
	}
	assert_int_equal(azure_parse_token(ENTRA_OK, strlen(ENTRA_OK), NULL, NULL, err,
					   sizeof(err)),
			 -EINVAL);
	assert_int_equal(azure_parse_token(NULL, 0, &t, NULL, err, sizeof(err)), -EBADMSG);
	/* truncated at every length: never a token, never a crash */
	for (size_t n = 0; n < strlen(IMDS_OK); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, IMDS_OK, n);
		assert_int_equal(azure_parse_token(b, n, &t, &te, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

/* ======================================================================
 * Microsoft Graph
 * ====================================================================== */

static const char GRAPH_APP[] =
	"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#applications(id,appId,"
	"displayName,passwordCredentials)/$entity\",\n"
	" \"id\":\"03ef14b0-ca33-4840-8f4f-d6e91916010e\","
	"\"appId\":\"631a96bc-a705-4eda-9f99-fdaf9f54f6a2\",\"displayName\":\"atlas-cmk\",\n"
	" \"passwordCredentials\":[{\"customKeyIdentifier\":null,\"displayName\":\"atlas-2024\","
	"\"endDateTime\":\"2026-09-09T19:50:29.3086381Z\",\"hint\":\"[6g\","
	"\"keyId\":\"f0b0b335-1d71-4883-8f98-567911bfdca6\",\"secretText\":null,"
	"\"startDateTime\":\"2024-09-09T19:50:29.3086381Z\"},\n"
	"  {\"customKeyIdentifier\":null,\"displayName\":null,\"endDateTime\":null,"
	"\"hint\":\"Xy9\",\"keyId\":\"a1b2c3d4-0000-4000-8000-000000000001\",\"secretText\":null,"
	"\"startDateTime\":\"2025-01-02T03:04:05Z\"}]}";

static const char GRAPH_SP[] =
	"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals/"
	"$entity\",\"id\":\"9b0a0f3e-1111-4222-8333-444455556666\","
	"\"appId\":\"631a96bc-a705-4eda-9f99-fdaf9f54f6a2\",\"displayName\":\"atlas-cmk\","
	"\"passwordCredentials\":[]}";

static void
test_graph_app(void **state)
{
	struct azure_graph_app a;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_graph_app, GRAPH_APP, &a, err), 0);
	assert_string_equal(a.id, "03ef14b0-ca33-4840-8f4f-d6e91916010e");
	assert_string_equal(a.app_id, "631a96bc-a705-4eda-9f99-fdaf9f54f6a2");
	assert_string_equal(a.display_name, "atlas-cmk");
	assert_true(a.has_password_credentials);
	assert_int_equal(a.n_creds, 2);
	assert_string_equal(a.creds[0].display_name, "atlas-2024");
	assert_string_equal(a.creds[0].hint, "[6g");
	assert_string_equal(a.creds[0].key_id, "f0b0b335-1d71-4883-8f98-567911bfdca6");
	assert_true(a.creds[0].has_start);
	assert_true(a.creds[0].has_end);
	/* 2026-09-09T19:50:29Z; the 7 fractional digits are dropped */
	assert_int_equal(a.creds[0].end, 1788983429);
	assert_int_equal(a.creds[0].start, 1725911429);
	assert_null(a.creds[1].display_name);
	assert_false(a.creds[1].has_end);
	assert_true(a.creds[1].has_start);
	azure_graph_app_free(&a);
	assert_null(a.creds);

	assert_int_equal(PARSE(azure_parse_graph_app, GRAPH_SP, &a, err), 0);
	assert_string_equal(a.id, "9b0a0f3e-1111-4222-8333-444455556666");
	assert_true(a.has_password_credentials);
	assert_int_equal(a.n_creds, 0);
	azure_graph_app_free(&a);

	/* $select without passwordCredentials: the field is absent, not empty */
	assert_int_equal(PARSE(azure_parse_graph_app, "{\"id\":\"x\",\"passwordCredentials\":null}",
			       &a, err),
			 0);
	assert_false(a.has_password_credentials);
	azure_graph_app_free(&a);
	azure_graph_app_free(NULL);
}

static void
test_graph_app_list(void **state)
{
	static const char list[] =
		"{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#applications\","
		"\"@odata.nextLink\":\"https://graph.microsoft.com/v1.0/applications?$skiptoken=X\","
		"\"value\":[{\"id\":\"a\",\"appId\":\"b\",\"passwordCredentials\":[{\"hint\":\"abc\","
		"\"endDateTime\":\"2027-01-01T00:00:00.0000000Z\"}]},{\"id\":\"c\"}]}";
	struct azure_graph_app_list l;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_graph_app_list, list, &l, err), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.next_link, "https://graph.microsoft.com/v1.0/applications?$skiptoken=X");
	assert_string_equal(l.v[0].app_id, "b");
	assert_int_equal(l.v[0].n_creds, 1);
	assert_int_equal(l.v[0].creds[0].end, 1798761600);
	assert_false(l.v[1].has_password_credentials);
	azure_graph_app_list_free(&l);

	assert_int_equal(PARSE(azure_parse_graph_app_list, "{\"value\":[]}", &l, err), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.next_link);
	azure_graph_app_list_free(&l);
	assert_int_equal(PARSE(azure_parse_graph_app_list, "{}", &l, err), 0);
	azure_graph_app_list_free(&l);

	assert_int_equal(PARSE(azure_parse_graph_app_list, "{\"value\":{}}", &l, err), -EBADMSG);
	assert_contains(err, "value is not an array");
	assert_int_equal(PARSE(azure_parse_graph_app_list, "{\"value\":[{\"id\":\"a\"},7]}", &l,
			       err),
			 -EBADMSG);
	assert_contains(err, "value[1] is not an object");
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	assert_int_equal(PARSE(azure_parse_graph_app_list,
			       "{\"value\":[{\"passwordCredentials\":[{\"hint\":1}]}]}", &l, err),
			 -EBADMSG);
	assert_contains(err, "value[0].passwordCredentials[0].hint is not a string");
	assert_int_equal(PARSE(azure_parse_graph_app_list, "{\"@odata.nextLink\":5}", &l, err),
			 -EBADMSG);
}

static void
test_graph_app_malformed(void **state)
{
	static const struct {
		const char *body, *err;
	} bad[] = {
		{"", "empty body"},
		{"[]", "not an object"},
		{"{\"id\":1}", "id is not a string"},
		{"{\"appId\":true}", "appId is not a string"},
		{"{\"passwordCredentials\":{}}", "passwordCredentials is not an array"},
		{"{\"passwordCredentials\":[\"x\"]}", "passwordCredentials[0] is not an object"},
		{"{\"passwordCredentials\":[{\"keyId\":[]}]}", "passwordCredentials[0].keyId"},
		{"{\"passwordCredentials\":[{\"endDateTime\":1789069829}]}",
		 "passwordCredentials[0].endDateTime is not a string"},
		{"{\"passwordCredentials\":[{\"endDateTime\":\"2026-09-09T19:50:29\"}]}",
		 "not an ISO 8601 time"},
		{"{\"passwordCredentials\":[{\"endDateTime\":\"2026-02-30T00:00:00Z\"}]}",
		 "not an ISO 8601 time"},
		{"{\"passwordCredentials\":[{},{\"startDateTime\":\"yesterday\"}]}",
		 "passwordCredentials[1].startDateTime"},
		{"{\"id\":\"a\",\"id\":\"b\"}", "duplicate"},
	};
	struct azure_graph_app a;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = PARSE(azure_parse_graph_app, bad[i].body, &a, err);

		if (r != -EBADMSG)
			fail_msg("%s: %d", bad[i].body, r);
		assert_contains(err, bad[i].err);
		assert_null(a.id);
		assert_null(a.creds);
		assert_int_equal(a.n_creds, 0);
	}
	for (size_t n = 0; n < strlen(GRAPH_APP); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, GRAPH_APP, n);
		assert_int_equal(azure_parse_graph_app(b, n, &a, err, sizeof(err)), -EBADMSG);
		free(b);
	}
	assert_int_equal(azure_parse_graph_app("{}", 2, NULL, err, sizeof(err)), -EINVAL);
}

/* ======================================================================
 * Key Vault
 * ====================================================================== */

static const char KV_KEY[] =
	"{\"key\":{\"kid\":\"https://myvault.vault.azure.net/keys/CreateSoftKeyTest/"
	"78deebed173b48e48f55abf87ed4cf71\",\"kty\":\"RSA\",\"key_ops\":[\"encrypt\",\"decrypt\","
	"\"sign\",\"verify\",\"wrapKey\",\"unwrapKey\"],\"n\":\"2HJAE5fU\",\"e\":\"AQAB\"},"
	"\"attributes\":{\"enabled\":true,\"created\":1493942451,\"updated\":1493942451,"
	"\"recoveryLevel\":\"Recoverable+Purgeable\"},\"tags\":{\"purpose\":\"unit test\"}}";

static const char KV_VERSIONS[] =
	"{\"value\":[{\"kid\":\"https://myvault.vault.azure.net/keys/listkeyversionstest/"
	"7c9dc6775d0e4177827c4f98f482fc12\",\"attributes\":{\"enabled\":true,\"created\":"
	"1493937851,\"updated\":1493937851,\"recoveryLevel\":\"Recoverable+Purgeable\"}},"
	"{\"kid\":\"https://myvault.vault.azure.net/keys/listkeyversionstest/"
	"8c9dc6775d0e4177827c4f98f482fc13\",\"attributes\":{\"enabled\":false,\"nbf\":1493937000,"
	"\"exp\":1593937851,\"created\":1493937999},\"tags\":{},\"managed\":true}],"
	"\"nextLink\":\"https://myvault.vault.azure.net:443/keys/listkeyversionstest/versions?"
	"api-version=7.2&$skiptoken=eyJO&maxresults=1\"}";

static void
test_kv_key(void **state)
{
	struct azure_kv_key k;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_kv_key, KV_KEY, &k, err), 0);
	assert_string_equal(k.kid, "https://myvault.vault.azure.net/keys/CreateSoftKeyTest/"
				   "78deebed173b48e48f55abf87ed4cf71");
	assert_string_equal(k.kty, "RSA");
	assert_int_equal(k.n_key_ops, 6);
	assert_string_equal(k.key_ops[4], "wrapKey");
	assert_int_equal(k.attr.enabled, TRI_TRUE);
	assert_true(k.attr.has_created);
	assert_int_equal(k.attr.created, 1493942451);
	assert_true(k.attr.has_updated);
	assert_false(k.attr.has_exp);
	assert_false(k.attr.has_nbf);
	assert_string_equal(k.attr.recovery_level, "Recoverable+Purgeable");
	assert_int_equal(k.n_tags, 1);
	assert_string_equal(k.tags[0].name, "purpose");
	assert_string_equal(k.tags[0].value, "unit test");
	assert_int_equal(k.managed, TRI_ABSENT);
	azure_kv_key_free(&k);
	azure_kv_key_free(NULL);

	/* a bundle's key.kid wins over a top-level kid */
	assert_int_equal(PARSE(azure_parse_kv_key,
			       "{\"kid\":\"top\",\"key\":{\"kid\":\"inner\"},\"attributes\":"
			       "{\"enabled\":false,\"exp\":1,\"nbf\":2}}",
			       &k, err),
			 0);
	assert_string_equal(k.kid, "inner");
	assert_int_equal(k.attr.enabled, TRI_FALSE);
	assert_int_equal(k.attr.exp, 1);
	assert_int_equal(k.attr.nbf, 2);
	azure_kv_key_free(&k);
}

static void
test_kv_versions(void **state)
{
	struct azure_kv_versions v;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_kv_versions, KV_VERSIONS, &v, err), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[0].kid, "https://myvault.vault.azure.net/keys/listkeyversionstest/"
					"7c9dc6775d0e4177827c4f98f482fc12");
	assert_int_equal(v.v[0].attr.created, 1493937851);
	assert_int_equal(v.v[1].attr.enabled, TRI_FALSE);
	assert_int_equal(v.v[1].attr.exp, 1593937851);
	assert_int_equal(v.v[1].managed, TRI_TRUE);
	assert_int_equal(v.v[1].n_tags, 0);
	assert_null(v.v[0].kty);
	assert_contains(v.next_link, ":443/keys/listkeyversionstest/versions?");
	assert_contains(v.next_link, "$skiptoken=eyJO");
	azure_kv_versions_free(&v);

	/* the last page */
	assert_int_equal(PARSE(azure_parse_kv_versions, "{\"value\":[],\"nextLink\":null}", &v,
			       err),
			 0);
	assert_int_equal(v.n, 0);
	assert_null(v.next_link);
	azure_kv_versions_free(&v);
	azure_kv_versions_free(NULL);
}

static void
test_kv_malformed(void **state)
{
	static const struct {
		const char *body, *err;
	} bad_key[] = {
		{"{\"key\":[]}", "key is not an object"},
		{"{\"key\":{\"kid\":5}}", "key.kid is not a string"},
		{"{\"key\":{\"key_ops\":\"wrapKey\"}}", "key.key_ops is not an array"},
		{"{\"key\":{\"key_ops\":[\"a\",1]}}", "key.key_ops[1] is not a string"},
		{"{\"attributes\":{\"enabled\":\"true\"}}", "attributes.enabled is not a boolean"},
		{"{\"attributes\":{\"created\":\"1493942451\"}}",
		 "attributes.created is not an integer"},
		{"{\"attributes\":{\"exp\":1.5}}", "attributes.exp is not an integer"},
		{"{\"attributes\":{\"nbf\":true}}", "attributes.nbf"},
		{"{\"attributes\":{\"recoveryLevel\":1}}", "attributes.recoveryLevel"},
		{"{\"attributes\":[]}", "attributes is not an object"},
		{"{\"tags\":{\"a\":1}}", "tags.a is not a string"},
		{"{\"tags\":[]}", "tags is not an object"},
		{"{\"managed\":\"yes\"}", "managed is not a boolean"},
		{"{\"kid\":\"a\",\"kid\":\"b\"}", "duplicate"},
	};
	static const struct {
		const char *body, *err;
	} bad_versions[] = {
		{"{\"value\":{}}", "value is not an array"},
		{"{\"value\":[1]}", "is not an object"},
		{"{\"value\":[{\"kid\":\"a\"},{\"attributes\":{\"created\":\"x\"}}]}",
		 "value[1].attributes.created"},
		{"{\"value\":[],\"nextLink\":[]}", "nextLink is not a string"},
	};
	struct azure_kv_key k;
	struct azure_kv_versions v;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_key); i++) {
		int r = PARSE(azure_parse_kv_key, bad_key[i].body, &k, err);

		if (r != -EBADMSG)
			fail_msg("%s: %d", bad_key[i].body, r);
		assert_contains(err, bad_key[i].err);
		assert_null(k.kid);
		assert_null(k.tags);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad_versions); i++) {
		int r = PARSE(azure_parse_kv_versions, bad_versions[i].body, &v, err);

		if (r != -EBADMSG)
			fail_msg("%s: %d", bad_versions[i].body, r);
		assert_contains(err, bad_versions[i].err);
		assert_null(v.v);
		assert_int_equal(v.n, 0);
	}
	for (size_t n = 0; n < strlen(KV_KEY); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, KV_KEY, n);
		assert_int_equal(azure_parse_kv_key(b, n, &k, err, sizeof(err)), -EBADMSG);
		free(b);
	}
	for (size_t n = 0; n < strlen(KV_VERSIONS); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, KV_VERSIONS, n);
		assert_int_equal(azure_parse_kv_versions(b, n, &v, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

static void
test_iso_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t secs;
	} ok[] = {
		{"P90D", 90 * DAY},
		{"P30D", 30 * DAY},
		{"P2Y", 730 * DAY},
		{"P1M", 30 * DAY},
		{"PT1M", 60},
		{"P1W", 7 * DAY},
		{"P1Y2M3DT4H5M6S", 365 * DAY + 60 * DAY + 3 * DAY + 4 * 3600 + 5 * 60 + 6},
		{"PT36H", 36 * 3600},
		{"p28d", 28 * DAY},
		{"P0D", 0},
		{"PT0S", 0},
	};
	static const char *const bad[] = {
		"", "P", "PT", "P1DT", "90D", "P-1D", "P+1D", "P1.5D", "P1,5D", "PD",
		"P1H", "PT1D", "P1D1Y", "P1Y1Y", "PT1S1M", "P1DT1H1D", "P 1D", "P1D ",
		"P1X", "PT1H1M1S1", "P1", "P9223372036854775808D", "P999999999999999D",
		"P1DTT1H",
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = -1;
		if (azure_parse_iso_duration(ok[i].s, &v) != 0)
			fail_msg("%s refused", ok[i].s);
		if (v != ok[i].secs)
			fail_msg("%s = %lld, want %lld", ok[i].s, (long long)v,
				 (long long)ok[i].secs);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		v = 12345;
		if (azure_parse_iso_duration(bad[i], &v) >= 0)
			fail_msg("\"%s\" accepted", bad[i]);
		assert_int_equal(v, 12345);
	}
	assert_int_equal(azure_parse_iso_duration("P999999999999999D", &v), -ERANGE);
	assert_int_equal(azure_parse_iso_duration("P99999999999999D", &v), 0);
	assert_int_equal(v, 99999999999999LL * DAY);
	assert_int_equal(azure_parse_iso_duration("P106751991167300DT15H30M6S", &v), 0);
	assert_int_equal(v, INT64_MAX - 1);
	assert_int_equal(azure_parse_iso_duration("P106751991167300DT15H30M7S", &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(azure_parse_iso_duration("P106751991167300DT15H30M8S", &v), -ERANGE);
	assert_int_equal(azure_parse_iso_duration(NULL, &v), -EINVAL);
	assert_int_equal(azure_parse_iso_duration("P1D", NULL), 0);
}

static const char ROTATION_POLICY[] =
	"{\"id\":\"https://myvault.vault.azure.net/keys/key01/rotationpolicy\","
	"\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"P90D\"},\"action\":{\"type\":"
	"\"Rotate\"}},{\"trigger\":{\"timeBeforeExpiry\":\"P30D\"},\"action\":{\"type\":"
	"\"Notify\"}}],\"attributes\":{\"expiryTime\":\"P2Y\",\"created\":1482188947,"
	"\"updated\":1482188948}}";

static void
test_rotation_policy(void **state)
{
	struct azure_rotation_policy p;
	const struct azure_lifetime_action *rot;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_rotation_policy, ROTATION_POLICY, &p, err), 0);
	assert_string_equal(p.id, "https://myvault.vault.azure.net/keys/key01/rotationpolicy");
	assert_int_equal(p.n_actions, 2);
	assert_int_equal(p.actions[0].action, AZACT_ROTATE);
	assert_true(p.actions[0].has_after_create);
	assert_int_equal(p.actions[0].after_create, 90 * DAY);
	assert_false(p.actions[0].has_before_expiry);
	assert_int_equal(p.actions[1].action, AZACT_NOTIFY);
	assert_string_equal(p.actions[1].action_type, "Notify");
	assert_int_equal(p.actions[1].before_expiry, 30 * DAY);
	assert_true(p.has_expiry_time);
	assert_int_equal(p.expiry_time, 730 * DAY);
	assert_int_equal(p.created, 1482188947);
	assert_int_equal(p.updated, 1482188948);
	rot = azure_rotation_policy_rotate(&p);
	assert_ptr_equal(rot, &p.actions[0]);
	azure_rotation_policy_free(&p);
	azure_rotation_policy_free(NULL);

	/* the default policy (no policy set): Notify only, never rotates */
	assert_int_equal(PARSE(azure_parse_rotation_policy,
			       "{\"id\":\"x\",\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":"
			       "\"P30D\"},\"action\":{\"type\":\"notify\"}}],\"attributes\":{}}",
			       &p, err),
			 0);
	assert_int_equal(p.actions[0].action, AZACT_NOTIFY);
	assert_null(azure_rotation_policy_rotate(&p));
	azure_rotation_policy_free(&p);
	assert_null(azure_rotation_policy_rotate(NULL));
	/* an action kmswatch does not know, case-insensitive Rotate */
	assert_int_equal(PARSE(azure_parse_rotation_policy,
			       "{\"lifetimeActions\":[{\"action\":{\"type\":\"Explode\"}},"
			       "{\"action\":{\"type\":\"ROTATE\"}}]}",
			       &p, err),
			 0);
	assert_int_equal(p.actions[0].action, AZACT_UNKNOWN);
	assert_ptr_equal(azure_rotation_policy_rotate(&p), &p.actions[1]);
	assert_false(p.actions[1].has_after_create);
	azure_rotation_policy_free(&p);

	{
		static const struct {
			const char *body, *err;
		} bad[] = {
			{"{\"lifetimeActions\":{}}", "lifetimeActions is not an array"},
			{"{\"lifetimeActions\":[1]}", "lifetimeActions[0] is not an object"},
			{"{\"lifetimeActions\":[{\"trigger\":{\"timeAfterCreate\":\"90 days\"}}]}",
			 "lifetimeActions[0].trigger.timeAfterCreate is not an ISO 8601 duration"},
			{"{\"lifetimeActions\":[{\"trigger\":{\"timeBeforeExpiry\":30}}]}",
			 "timeBeforeExpiry is not a string"},
			{"{\"lifetimeActions\":[{\"trigger\":[]}]}", "trigger is not an object"},
			{"{\"lifetimeActions\":[{\"action\":{\"type\":1}}]}",
			 "lifetimeActions[0].action.type is not a string"},
			{"{\"attributes\":{\"expiryTime\":\"P\"}}", "attributes.expiryTime"},
			{"{\"attributes\":{\"created\":\"1482188947\"}}", "attributes.created"},
			{"{\"id\":7}", "id is not a string"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			int r = PARSE(azure_parse_rotation_policy, bad[i].body, &p, err);

			if (r != -EBADMSG)
				fail_msg("%s: %d", bad[i].body, r);
			assert_contains(err, bad[i].err);
			assert_null(p.actions);
		}
	}
	for (size_t n = 0; n < strlen(ROTATION_POLICY); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, ROTATION_POLICY, n);
		assert_int_equal(azure_parse_rotation_policy(b, n, &p, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

/* ======================================================================
 * Error bodies
 * ====================================================================== */

static void
test_errors(void **state)
{
	struct azure_error e;

	(void)state;
	assert_int_equal(parse_error("{\"error\":{\"code\":\"KeyNotFound\",\"message\":\"A key "
				     "with (name/id) cosign was not found in this key vault. If "
				     "you recently deleted this key you may be able to recover "
				     "it using the correct recovery command.\"}}",
				     &e),
			 0);
	assert_string_equal(e.code, "KeyNotFound");
	assert_string_equal(e.inner_code, "");
	assert_contains(e.message, "cosign was not found");
	assert_string_equal(e.client_address, "");

	assert_int_equal(
		parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Client address is not "
			    "authorized and caller is not a trusted service.\\r\\nClient address: "
			    "203.0.113.77\\r\\nCaller: appid=1;oid=2\\r\\nVault: myvault;location="
			    "westeurope\",\"innererror\":{\"code\":\"ForbiddenByFirewall\"}}}",
			    &e),
		0);
	assert_string_equal(e.code, "Forbidden");
	assert_string_equal(e.inner_code, "ForbiddenByFirewall");
	assert_string_equal(e.client_address, "203.0.113.77");
	assert_null(strchr(e.message, '\r'));
	assert_contains(e.message, "Client address: 203.0.113.77");

	/* an IPv6 client; a sentence-ending period is no part of it */
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Client "
				     "address: 2001:db8::7.\",\"innererror\":{\"code\":"
				     "\"ForbiddenByFirewall\"}}}",
				     &e),
			 0);
	assert_string_equal(e.client_address, "2001:db8::7");
	/* not an address: nothing quoted */
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Client "
				     "address: unknown\"}}",
				     &e),
			 0);
	assert_string_equal(e.client_address, "");
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Client "
				     "address: 1.2.3.4/8\"}}",
				     &e),
			 0);
	assert_string_equal(e.client_address, "");

	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Caller is "
				     "not authorized to perform action on resource.\\r\\nIf role "
				     "assignments were recently changed...\",\"innererror\":{"
				     "\"code\":\"ForbiddenByRbac\"}}}",
				     &e),
			 0);
	assert_string_equal(e.inner_code, "ForbiddenByRbac");

	/* nested innererror: the innermost code; Graph's innerError */
	assert_int_equal(parse_error("{\"error\":{\"code\":\"A\",\"innererror\":{\"code\":\"B\","
				     "\"innererror\":{\"innererror\":{\"code\":\"D\"}}}}}",
				     &e),
			 0);
	assert_string_equal(e.inner_code, "D");
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Authorization_RequestDenied\","
				     "\"message\":\"Insufficient privileges to complete the "
				     "operation.\",\"innerError\":{\"date\":\"2026-01-01T00:00:00\","
				     "\"request-id\":\"x\",\"code\":\"Inner\"}}}",
				     &e),
			 0);
	assert_string_equal(e.code, "Authorization_RequestDenied");
	assert_string_equal(e.inner_code, "Inner");
	/* OAuth shape */
	assert_int_equal(parse_error(ERR_7000222, &e), 0);
	assert_string_equal(e.code, "invalid_client");
	assert_contains(e.message, "AADSTS7000222");
	/* ARM CloudError */
	assert_int_equal(parse_error("{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"The "
				     "Resource 'Microsoft.KeyVault/vaults/x' under resource group "
				     "'rg' was not found.\"}}",
				     &e),
			 0);
	assert_string_equal(e.code, "ResourceNotFound");
	/* best effort: wrong types skipped, nothing usable -> -EBADMSG */
	assert_int_equal(parse_error("{\"error\":{\"code\":5,\"message\":\"m\"}}", &e), 0);
	assert_string_equal(e.code, "");
	assert_string_equal(e.message, "m");
	assert_int_equal(parse_error("{\"error\":{}}", &e), -EBADMSG);
	assert_int_equal(parse_error("{\"error\":7}", &e), -EBADMSG);
	assert_int_equal(parse_error("<html>502 Bad Gateway</html>", &e), -EBADMSG);
	assert_int_equal(parse_error("", &e), -EBADMSG);
	assert_int_equal(parse_error("[]", &e), -EBADMSG);
	assert_int_equal(azure_parse_error("{}", 2, NULL), -EINVAL);
	/* long fields are truncated, not overflowed */
	{
		char big[2048];

		snprintf(big, sizeof(big), "{\"error\":{\"code\":\"%0200d\",\"message\":\"%01500d\"}}",
			 1, 2);
		assert_int_equal(parse_error(big, &e), 0);
		assert_int_equal(strlen(e.code), sizeof(e.code) - 1);
		assert_true(strlen(e.message) < sizeof(e.message));
	}
}

/* ======================================================================
 * ARM: vault and role assignments
 * ====================================================================== */

#define VAULT_ID                                                                          \
	"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"  \
	"Microsoft.KeyVault/vaults/sample-vault"
#define SP_OID "9b0a0f3e-1111-4222-8333-444455556666"

static const char ARM_VAULT[] =
	"{\"id\":\"" VAULT_ID "\",\"name\":\"sample-vault\",\"type\":\"Microsoft.KeyVault/vaults\","
	"\"location\":\"westus\",\"systemData\":{\"lastModifiedAt\":\"2020-01-01T12:00:00.0000000Z\"},"
	"\"properties\":{\"tenantId\":\"00000000-0000-0000-0000-000000000000\",\"sku\":{\"family\":"
	"\"A\",\"name\":\"standard\"},\"accessPolicies\":[{\"tenantId\":\"00000000-0000-0000-0000-"
	"000000000000\",\"objectId\":\"" SP_OID "\",\"permissions\":{\"keys\":[\"get\",\"wrapKey\","
	"\"unwrapKey\",\"encrypt\",\"decrypt\"],\"secrets\":[\"get\"]}}],\"networkAcls\":{"
	"\"defaultAction\":\"Deny\",\"bypass\":\"AzureServices\",\"ipRules\":[{\"value\":"
	"\"124.56.78.91/32\"},{\"value\":\"198.51.100.0/24\"}],\"virtualNetworkRules\":[{\"id\":"
	"\"/subscriptions/subid/resourcegroups/rg1/providers/microsoft.network/virtualnetworks/"
	"test-vnet/subnets/subnet1\",\"ignoreMissingVnetServiceEndpoint\":false}]},"
	"\"enableSoftDelete\":true,\"softDeleteRetentionInDays\":90,\"enablePurgeProtection\":true,"
	"\"enableRbacAuthorization\":false,\"publicNetworkAccess\":\"Enabled\",\"vaultUri\":"
	"\"https://sample-vault.vault.azure.net\",\"provisioningState\":\"Succeeded\"}}";

static void
test_vault(void **state)
{
	struct azure_vault v;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_vault, ARM_VAULT, &v, err), 0);
	assert_string_equal(v.id, VAULT_ID);
	assert_string_equal(v.name, "sample-vault");
	assert_string_equal(v.location, "westus");
	assert_string_equal(v.vault_uri, "https://sample-vault.vault.azure.net");
	assert_string_equal(v.tenant_id, "00000000-0000-0000-0000-000000000000");
	assert_int_equal(v.rbac, TRI_FALSE);
	assert_int_equal(v.public_access, AZPUB_ENABLED);
	assert_true(v.has_network_acls);
	assert_int_equal(v.default_action, AZNET_DENY);
	assert_string_equal(v.bypass, "AzureServices");
	assert_int_equal(v.n_ip_rules, 2);
	assert_string_equal(v.ip_rules[0], "124.56.78.91/32");
	assert_int_equal(v.n_vnet_rules, 1);
	assert_contains(v.vnet_rules[0], "/subnets/subnet1");
	assert_int_equal(v.n_policies, 1);
	assert_string_equal(v.policies[0].object_id, SP_OID);
	assert_null(v.policies[0].application_id);
	assert_int_equal(v.policies[0].n_key_perms, 5);
	assert_string_equal(v.policies[0].key_perms[2], "unwrapKey");
	assert_int_equal(v.soft_delete, TRI_TRUE);
	assert_int_equal(v.purge_protection, TRI_TRUE);
	assert_true(v.has_last_modified);
	assert_int_equal(v.last_modified, 1577880000);
	azure_vault_free(&v);
	azure_vault_free(NULL);

	/* case-insensitive enums, unknown values kept raw */
	assert_int_equal(PARSE(azure_parse_vault,
			       "{\"properties\":{\"publicNetworkAccess\":\"enabled\",\"networkAcls\":"
			       "{\"defaultAction\":\"deny\"}}}",
			       &v, err),
			 0);
	assert_int_equal(v.public_access, AZPUB_ENABLED);
	assert_int_equal(v.default_action, AZNET_DENY);
	assert_int_equal(v.n_ip_rules, 0);
	azure_vault_free(&v);
	assert_int_equal(PARSE(azure_parse_vault,
			       "{\"properties\":{\"publicNetworkAccess\":\"DISABLED\",\"networkAcls\":"
			       "{\"defaultAction\":\"ALLOW\"},\"enableRbacAuthorization\":true}}",
			       &v, err),
			 0);
	assert_int_equal(v.public_access, AZPUB_DISABLED);
	assert_int_equal(v.default_action, AZNET_ALLOW);
	assert_int_equal(v.rbac, TRI_TRUE);
	azure_vault_free(&v);
	assert_int_equal(PARSE(azure_parse_vault,
			       "{\"properties\":{\"publicNetworkAccess\":\"SecuredByPerimeter\","
			       "\"networkAcls\":{\"defaultAction\":\"Maybe\",\"ipRules\":[{},"
			       "{\"value\":null},{\"value\":\"1.2.3.4\"}]}}}",
			       &v, err),
			 0);
	assert_int_equal(v.public_access, AZPUB_OTHER);
	assert_string_equal(v.public_access_raw, "SecuredByPerimeter");
	assert_int_equal(v.default_action, AZNET_OTHER);
	assert_string_equal(v.default_action_raw, "Maybe");
	/* rules without a value admit nothing and are skipped */
	assert_int_equal(v.n_ip_rules, 1);
	assert_string_equal(v.ip_rules[0], "1.2.3.4");
	azure_vault_free(&v);
	/* nothing at all */
	assert_int_equal(PARSE(azure_parse_vault, "{}", &v, err), 0);
	assert_int_equal(v.public_access, AZPUB_ABSENT);
	assert_false(v.has_network_acls);
	assert_int_equal(v.default_action, AZNET_ABSENT);
	azure_vault_free(&v);
}

static void
test_vault_malformed(void **state)
{
	static const struct {
		const char *body, *err;
	} bad[] = {
		{"{\"id\":1}", "id is not a string"},
		{"{\"properties\":[]}", "properties is not an object"},
		{"{\"systemData\":{\"lastModifiedAt\":\"yesterday\"}}", "systemData.lastModifiedAt"},
		{"{\"properties\":{\"enableRbacAuthorization\":\"true\"}}",
		 "properties.enableRbacAuthorization is not a boolean"},
		{"{\"properties\":{\"publicNetworkAccess\":true}}",
		 "properties.publicNetworkAccess is not a string"},
		{"{\"properties\":{\"networkAcls\":[]}}", "properties.networkAcls is not an object"},
		{"{\"properties\":{\"networkAcls\":{\"ipRules\":{}}}}",
		 "properties.networkAcls.ipRules is not an array"},
		{"{\"properties\":{\"networkAcls\":{\"ipRules\":[\"1.2.3.4\"]}}}",
		 "properties.networkAcls.ipRules[0] is not an object"},
		{"{\"properties\":{\"networkAcls\":{\"ipRules\":[{\"value\":\"1.2.3.4\"},{\"value\":"
		 "16909060}]}}}",
		 "properties.networkAcls.ipRules[1].value is not a string"},
		{"{\"properties\":{\"networkAcls\":{\"defaultAction\":0}}}", "defaultAction"},
		{"{\"properties\":{\"networkAcls\":{\"virtualNetworkRules\":[{\"id\":[]}]}}}",
		 "virtualNetworkRules[0].id"},
		{"{\"properties\":{\"accessPolicies\":{}}}", "properties.accessPolicies is not an array"},
		{"{\"properties\":{\"accessPolicies\":[{\"objectId\":\"a\"},null]}}",
		 "properties.accessPolicies[1] is not an object"},
		{"{\"properties\":{\"accessPolicies\":[{\"permissions\":{\"keys\":\"all\"}}]}}",
		 "properties.accessPolicies[0].permissions.keys is not an array"},
		{"{\"properties\":{\"accessPolicies\":[{\"permissions\":{\"keys\":[\"get\",7]}}]}}",
		 "properties.accessPolicies[0].permissions.keys[1] is not a string"},
		{"{\"properties\":{\"accessPolicies\":[{\"objectId\":5}]}}", "objectId"},
		{"{\"properties\":{\"accessPolicies\":[{\"permissions\":[]}]}}", "permissions"},
		{"{\"name\":\"a\",\"name\":\"b\"}", "duplicate"},
	};
	struct azure_vault v;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int r = PARSE(azure_parse_vault, bad[i].body, &v, err);

		if (r != -EBADMSG)
			fail_msg("%s: %d", bad[i].body, r);
		assert_contains(err, bad[i].err);
		assert_null(v.ip_rules);
		assert_null(v.policies);
		assert_int_equal(v.n_policies, 0);
	}
	for (size_t n = 0; n < strlen(ARM_VAULT); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, ARM_VAULT, n);
		assert_int_equal(azure_parse_vault(b, n, &v, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

static const char ROLES[] =
	"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"/subscriptions/s/providers/"
	"Microsoft.Authorization/roleDefinitions/12338AF0-0E69-4776-BEA7-57AE8D297424\","
	"\"principalId\":\"" SP_OID "\",\"principalType\":\"ServicePrincipal\",\"scope\":\"" VAULT_ID
	"\",\"condition\":null,\"createdOn\":\"2026-01-01T00:00:00.0000000Z\"},\"id\":\"" VAULT_ID
	"/providers/Microsoft.Authorization/roleAssignments/r1\",\"type\":\"Microsoft.Authorization/"
	"roleAssignments\",\"name\":\"r1\"},{\"properties\":{\"roleDefinitionId\":\"acdd72a7-3385-"
	"48ef-bd42-f606fba81ae7\",\"principalId\":\"other\"}},{\"id\":\"no-props\"}],"
	"\"nextLink\":\"https://management.azure.com" VAULT_ID "/providers/Microsoft.Authorization/"
	"roleAssignments?api-version=2022-04-01&$skiptoken=abc\"}";

static void
test_role_assignments(void **state)
{
	struct azure_role_assignments r;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_role_assignments, ROLES, &r, err), 0);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].role_guid, AZURE_ROLE_KV_CRYPTO_USER);
	assert_string_equal(r.v[0].principal_id, SP_OID);
	assert_string_equal(r.v[0].principal_type, "ServicePrincipal");
	assert_string_equal(r.v[0].scope, VAULT_ID);
	assert_contains(r.v[0].id, "/roleAssignments/r1");
	assert_string_equal(r.v[1].role_guid, "acdd72a7-3385-48ef-bd42-f606fba81ae7");
	assert_null(r.v[1].scope);
	assert_string_equal(r.v[2].id, "no-props");
	assert_string_equal(r.v[2].role_guid, "");
	assert_contains(r.next_link, "$skiptoken=abc");
	azure_role_assignments_free(&r);
	azure_role_assignments_free(NULL);

	assert_string_equal(azure_crypto_role_name(AZURE_ROLE_KV_CRYPTO_USER),
			    "Key Vault Crypto User");
	assert_string_equal(azure_crypto_role_name("E147488A-F6F5-4113-8E2D-B22465E65BF6"),
			    "Key Vault Crypto Service Encryption User");
	assert_string_equal(azure_crypto_role_name(AZURE_ROLE_KV_CRYPTO_OFFICER),
			    "Key Vault Crypto Officer");
	assert_string_equal(azure_crypto_role_name(AZURE_ROLE_KV_ADMINISTRATOR),
			    "Key Vault Administrator");
	assert_null(azure_crypto_role_name("acdd72a7-3385-48ef-bd42-f606fba81ae7"));
	assert_null(azure_crypto_role_name(NULL));

	{
		static const struct {
			const char *body, *err;
		} bad[] = {
			{"{\"value\":{}}", "value is not an array"},
			{"{\"value\":[\"x\"]}", "value[0] is not an object"},
			{"{\"value\":[{\"properties\":[]}]}", "value[0].properties is not an object"},
			{"{\"value\":[{\"properties\":{\"principalId\":1}}]}",
			 "value[0].properties.principalId is not a string"},
			{"{\"value\":[{},{\"properties\":{\"scope\":{}}}]}",
			 "value[1].properties.scope"},
			{"{\"value\":[{\"id\":7}]}", "value[0].id"},
			{"{\"nextLink\":1}", "nextLink is not a string"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			int rc = PARSE(azure_parse_role_assignments, bad[i].body, &r, err);

			if (rc != -EBADMSG)
				fail_msg("%s: %d", bad[i].body, rc);
			assert_contains(err, bad[i].err);
			assert_null(r.v);
		}
	}
	for (size_t n = 0; n < strlen(ROLES); n++) {
		char *b = malloc(n ? n : 1);

		memcpy(b, ROLES, n);
		assert_int_equal(azure_parse_role_assignments(b, n, &r, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

/* ======================================================================
 * Atlas: control-plane and project IP addresses
 * ====================================================================== */

static const char CP_IPS[] =
	"{\n"
	"  \"inbound\":  { \"aws\": { \"us-east-1\": [\"198.51.100.10/32\"] }, \"azure\": { "
	"\"eastus2\": [\"203.0.113.20/32\"] }, \"gcp\": {} },\n"
	"  \"outbound\": { \"aws\": { \"us-east-1\": [\"198.51.100.40/32\", \"198.51.100.41/32\"], "
	"\"eu-west-1\": [\"198.51.100.50/32\"] }, \"azure\": { \"eastus\": [\"203.0.113.0/28\"] }, "
	"\"gcp\": { \"us-east1\": [\"2001:db8:1::/48\"] } },\n"
	"  \"gateways\": [ { \"name\": \"Atlas Gateway\",\n"
	"                  \"ips\": { \"inbound\": { \"aws\": { \"us-east-1\": [\"192.0.2.60/32\"] } },\n"
	"                           \"outbound\": { \"aws\": { \"us-east-1\": [\"192.0.2.61/32\"] } } } } ]\n"
	"}\n";

static const char NODE_IPS[] =
	"{\n"
	"  \"groupId\": \"65a1b2c3d4e5f60718293a00\",\n"
	"  \"services\": { \"clusters\": [ {\n"
	"      \"clusterName\": \"prod-east\",\n"
	"      \"inbound\":  [\"203.0.113.101\", \"203.0.113.102\", \"203.0.113.103\"],\n"
	"      \"outbound\": [\"203.0.113.201\", \"203.0.113.202\", \"203.0.113.203\"],\n"
	"      \"futureInbound\": [], \"futureOutbound\": [\"203.0.113.204\"] },\n"
	"    { \"clusterName\": \"analytics\", \"outbound\": null } ] }\n"
	"}\n";

static void
test_control_plane(void **state)
{
	struct atlas_control_plane cp;
	const char **v;
	size_t n;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(atlas_parse_control_plane, CP_IPS, &cp, err), 0);
	/* outbound only, every cloud and region, document order */
	assert_int_equal(cp.n_outbound, 5);
	assert_string_equal(cp.outbound[0].cloud, "aws");
	assert_string_equal(cp.outbound[0].region, "us-east-1");
	assert_string_equal(cp.outbound[0].cidr, "198.51.100.40/32");
	assert_string_equal(cp.outbound[2].region, "eu-west-1");
	assert_string_equal(cp.outbound[3].cloud, "azure");
	assert_string_equal(cp.outbound[3].cidr, "203.0.113.0/28");
	assert_string_equal(cp.outbound[4].cloud, "gcp");
	assert_string_equal(cp.outbound[4].cidr, "2001:db8:1::/48");
	assert_int_equal(cp.n_gateways, 1);
	assert_string_equal(cp.gateways[0].name, "Atlas Gateway");
	assert_int_equal(cp.gateways[0].n_outbound, 1);
	assert_string_equal(cp.gateways[0].outbound[0].cidr, "192.0.2.61/32");

	assert_int_equal(atlas_control_plane_outbound(&cp, false, &v, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(v[4], "2001:db8:1::/48");
	free(v);
	assert_int_equal(atlas_control_plane_outbound(&cp, true, &v, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(v[5], "192.0.2.61/32");
	free(v);
	assert_int_equal(atlas_control_plane_outbound(NULL, true, &v, &n), -EINVAL);
	atlas_control_plane_free(&cp);
	atlas_control_plane_free(NULL);

	/* empty and null parts */
	assert_int_equal(PARSE(atlas_parse_control_plane,
			       "{\"outbound\":{\"aws\":null,\"azure\":{\"x\":null,\"y\":[]}},"
			       "\"gateways\":null}",
			       &cp, err),
			 0);
	assert_int_equal(cp.n_outbound, 0);
	assert_int_equal(atlas_control_plane_outbound(&cp, true, &v, &n), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	atlas_control_plane_free(&cp);

	{
		static const struct {
			const char *body, *err;
		} bad[] = {
			{"{\"outbound\":[]}", "outbound is not an object"},
			{"{\"outbound\":{\"aws\":[]}}", "outbound.aws is not an object"},
			{"{\"outbound\":{\"aws\":{\"us-east-1\":\"1.2.3.4/32\"}}}",
			 "outbound.aws.us-east-1 is not an array"},
			{"{\"outbound\":{\"aws\":{\"us-east-1\":[\"1.2.3.4/32\",5]}}}",
			 "outbound.aws.us-east-1[1] is not a string"},
			{"{\"gateways\":{}}", "gateways is not an array"},
			{"{\"gateways\":[1]}", "gateways[0] is not an object"},
			{"{\"gateways\":[{\"name\":5}]}", "gateways[0].name is not a string"},
			{"{\"gateways\":[{\"ips\":[]}]}", "gateways[0].ips is not an object"},
			{"{\"gateways\":[{\"ips\":{\"outbound\":{\"aws\":{\"r\":[null]}}}}]}",
			 "gateways[0].ips.outbound.aws.r[0] is not a string"},
			{"{\"outbound\":{},\"outbound\":{}}", "duplicate"},
			{"[]", ""},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			int r = PARSE(atlas_parse_control_plane, bad[i].body, &cp, err);

			if (r != -EBADMSG)
				fail_msg("%s: %d", bad[i].body, r);
			assert_contains(err, bad[i].err);
			assert_null(cp.outbound);
			assert_null(cp.gateways);
		}
	}
	/* every proper prefix of the document (it ends with "}\n") */
	for (size_t k = 0; k < strlen(CP_IPS) - 2; k++) {
		char *b = malloc(k ? k : 1);

		memcpy(b, CP_IPS, k);
		assert_int_equal(atlas_parse_control_plane(b, k, &cp, err, sizeof(err)), -EBADMSG);
		free(b);
	}
}

static void
test_node_ips(void **state)
{
	struct atlas_ip_addresses ips;
	char err[256], *u;

	(void)state;
	assert_int_equal(PARSE(atlas_parse_ip_addresses, NODE_IPS, &ips, err), 0);
	assert_string_equal(ips.group_id, "65a1b2c3d4e5f60718293a00");
	assert_int_equal(ips.n_clusters, 2);
	assert_string_equal(ips.clusters[0].cluster_name, "prod-east");
	assert_int_equal(ips.clusters[0].n_outbound, 3);
	assert_string_equal(ips.clusters[0].outbound[2], "203.0.113.203");
	assert_int_equal(ips.clusters[0].n_future_outbound, 1);
	assert_string_equal(ips.clusters[0].future_outbound[0], "203.0.113.204");
	assert_int_equal(ips.clusters[1].n_outbound, 0);
	atlas_ip_addresses_free(&ips);
	atlas_ip_addresses_free(NULL);

	assert_int_equal(PARSE(atlas_parse_ip_addresses, "{\"services\":{}}", &ips, err), 0);
	assert_int_equal(ips.n_clusters, 0);
	atlas_ip_addresses_free(&ips);
	{
		static const struct {
			const char *body, *err;
		} bad[] = {
			{"{\"groupId\":1}", "groupId is not a string"},
			{"{\"services\":[]}", "services is not an object"},
			{"{\"services\":{\"clusters\":{}}}", "services.clusters is not an array"},
			{"{\"services\":{\"clusters\":[7]}}", "services.clusters[0] is not an object"},
			{"{\"services\":{\"clusters\":[{\"clusterName\":[]}]}}", "clusterName"},
			{"{\"services\":{\"clusters\":[{\"outbound\":\"1.2.3.4\"}]}}",
			 "services.clusters[0].outbound is not an array"},
			{"{\"services\":{\"clusters\":[{},{\"futureOutbound\":[1]}]}}",
			 "services.clusters[1].futureOutbound[0] is not a string"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
			int r = PARSE(atlas_parse_ip_addresses, bad[i].body, &ips, err);

			if (r != -EBADMSG)
				fail_msg("%s: %d", bad[i].body, r);
			assert_contains(err, bad[i].err);
			assert_null(ips.clusters);
			assert_null(ips.group_id);
		}
	}
	for (size_t k = 0; k < strlen(NODE_IPS) - 2; k++) {
		char *b = malloc(k ? k : 1);

		memcpy(b, NODE_IPS, k);
		assert_int_equal(atlas_parse_ip_addresses(b, k, &ips, err, sizeof(err)), -EBADMSG);
		free(b);
	}
	u = atlas_control_plane_url("https://cloud.mongodb.com");
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/unauth/controlPlaneIPAddresses");
	free(u);
	u = atlas_ip_addresses_url("https://cloud.mongodb.com", "65a1b2c3d4e5f60718293a00");
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/groups/"
			       "65a1b2c3d4e5f60718293a00/ipAddresses");
	free(u);
	assert_null(atlas_ip_addresses_url("https://cloud.mongodb.com", "../x"));
}

/* ======================================================================
 * Key identifiers
 * ====================================================================== */

#define KID "https://contoso-kv.vault.azure.net/keys/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0"

static void
test_key_id_ok(void **state)
{
	struct azure_key_id id, id2;
	char err[160], subj[200];

	(void)state;
	assert_int_equal(azure_parse_key_id(KID, &id, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(id.vault, "contoso-kv");
	assert_string_equal(id.suffix, "vault.azure.net");
	assert_string_equal(id.name, "atlas-cmk");
	assert_string_equal(id.version, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	assert_false(id.version_not_hex);
	azure_key_id_subject(&id, subj, sizeof(subj));
	assert_string_equal(subj, "contoso-kv/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0");

	/* case-insensitive scheme, host and "keys"; :443; a trailing '/' */
	assert_int_equal(azure_parse_key_id("HTTPS://Contoso-KV.Vault.Azure.NET:443/KEYS/atlas-cmk/"
					    "0F1E2D3C4B5A69788796A5B4C3D2E1F0/",
					    &id2, err, sizeof(err)),
			 0);
	assert_string_equal(id2.vault, "contoso-kv");
	assert_string_equal(id2.suffix, "vault.azure.net");
	assert_string_equal(id2.version, "0F1E2D3C4B5A69788796A5B4C3D2E1F0");
	assert_true(azure_key_id_equal(&id, &id2));
	assert_false(azure_key_id_equal(&id, NULL));

	/* no version, with and without the trailing slash */
	assert_int_equal(azure_parse_key_id("https://contoso-kv.vault.azure.net/keys/atlas-cmk", &id2,
					    err, sizeof(err)),
			 0);
	assert_string_equal(id2.version, "");
	azure_key_id_subject(&id2, subj, sizeof(subj));
	assert_string_equal(subj, "contoso-kv/atlas-cmk");
	assert_false(azure_key_id_equal(&id, &id2));
	assert_int_equal(azure_parse_key_id("https://contoso-kv.vault.azure.net/keys/atlas-cmk/",
					    &id2, err, sizeof(err)),
			 0);
	assert_string_equal(id2.version, "");

	/* 32 characters, not all hex: legal, flagged */
	assert_int_equal(azure_parse_key_id("https://abc.vault.azure.cn/keys/k/"
					    "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
					    &id2, err, sizeof(err)),
			 0);
	assert_true(id2.version_not_hex);
	assert_string_equal(id2.suffix, "vault.azure.cn");
	/* the limits: 3 and 24 character vaults, a 127 character name */
	{
		char buf[300];

		snprintf(buf, sizeof(buf), "https://a-1.vault.usgovcloudapi.net/keys/%0127d", 0);
		assert_int_equal(azure_parse_key_id(buf, &id2, err, sizeof(err)), 0);
		assert_int_equal(strlen(id2.name), 127);
		assert_int_equal(azure_parse_key_id("https://abcdefghijklmnopqrstuvwx.vault.azure.net/"
						    "keys/k",
						    &id2, err, sizeof(err)),
				 0);
		assert_string_equal(id2.vault, "abcdefghijklmnopqrstuvwx");
	}
	/* managed HSM hosts parse too (the suffix check decides) */
	assert_int_equal(azure_parse_key_id("https://myhsm.managedhsm.azure.net/keys/k", &id2, err,
					    sizeof(err)),
			 0);
	assert_string_equal(id2.suffix, "managedhsm.azure.net");
	azure_key_id_subject(NULL, subj, sizeof(subj));
	assert_string_equal(subj, "");
}

static void
test_key_id_bad(void **state)
{
	static const struct {
		const char *s, *err;
	} bad[] = {
		{"", "empty"},
		{"http://contoso-kv.vault.azure.net/keys/k", "https://"},
		{"contoso-kv.vault.azure.net/keys/k", "https://"},
		{"https:///keys/k", "no host"},
		{"https://contoso-kv/keys/k", "no DNS suffix"},
		{"https://contoso-kv./keys/k", "DNS suffix"},
		{"https://contoso-kv.vault..net/keys/k", "empty label"},
		{"https://contoso-kv.vault.azure.net./keys/k", "empty label"},
		{"https://contoso-kv.vault_azure.net/keys/k", "not allowed in a host"},
		{"https://user@contoso-kv.vault.azure.net/keys/k", "user information"},
		{"https://contoso-kv.vault.azure.net:8443/keys/k", "not 443"},
		{"https://contoso-kv.vault.azure.net:/keys/k", "not 443"},
		{"https://contoso-kv.vault.azure.net:4430/keys/k", "not 443"},
		{"https://contoso-kv.vault.azure.net/secrets/k", "/keys/"},
		{"https://contoso-kv.vault.azure.net", "/keys/"},
		{"https://contoso-kv.vault.azure.net/keys/", "1-127"},
		{"https://contoso-kv.vault.azure.net/keys//v", "1-127"},
		{"https://ab.vault.azure.net/keys/k", "3-24"},
		{"https://abcdefghijklmnopqrstuvwxy.vault.azure.net/keys/k", "3-24"},
		{"https://-abc.vault.azure.net/keys/k", "'-'"},
		{"https://abc-.vault.azure.net/keys/k", "'-'"},
		{"https://ab--c.vault.azure.net/keys/k", "\"--\""},
		{"https://ab_c.vault.azure.net/keys/k", "other than letters"},
		{"https://contoso-kv.vault.azure.net/keys/k_1", "key name"},
		{"https://contoso-kv.vault.azure.net/keys/k%20", "key name"},
		{"https://contoso-kv.vault.azure.net/keys/k?api-version=7.5", "key name"},
		{"https://contoso-kv.vault.azure.net/keys/k#frag", "key name"},
		{KID "?x=1", "key version"},
		{KID "/extra", "more than"},
		{KID "//", "more than"},
		{"https://contoso-kv.vault.azure.net/keys/k//", "more than"},
		{"https://contoso-kv.vault.azure.net/keys/k/0f1e2d3c4b5a69788796a5b4c3d2e1f",
		 "31 characters"},
		{"https://contoso-kv.vault.azure.net/keys/k/0f1e2d3c4b5a69788796a5b4c3d2e1f00",
		 "33 characters"},
		{"https://contoso-kv.vault.azure.net/keys/k/0f1e2d3c4b5a69788796a5b4c3d2e1-0",
		 "other than letters and digits"},
		{"https://contoso-kv.vault.azure.net/keys/k/versions", "not 32"},
		{" " KID, "https://"},
		{KID " ", "key version"},
	};
	struct azure_key_id id;
	char err[160], name[300];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(&id, 'x', sizeof(id));
		if (azure_parse_key_id(bad[i].s, &id, err, sizeof(err)) != -EINVAL)
			fail_msg("\"%s\" accepted", bad[i].s);
		assert_contains(err, bad[i].err);
		assert_string_equal(id.vault, ""); /* left empty */
	}
	snprintf(name, sizeof(name), "https://abc.vault.azure.net/keys/%0128d", 0);
	assert_int_equal(azure_parse_key_id(name, &id, err, sizeof(err)), -EINVAL);
	assert_contains(err, "1-127");
	assert_int_equal(azure_parse_key_id(NULL, &id, err, sizeof(err)), -EINVAL);
	assert_int_equal(azure_parse_key_id(KID, NULL, err, sizeof(err)), -EINVAL);
	/* err may be NULL, and small */
	assert_int_equal(azure_parse_key_id("nope", &id, NULL, 0), -EINVAL);
	assert_int_equal(azure_parse_key_id("nope", &id, err, 4), -EINVAL);
	assert_int_equal(strlen(err), 3);
}

/* ======================================================================
 * Checks: shared edge tables
 * ====================================================================== */

struct edge {
	int64_t at; /* seconds left (expiry) or of age */
	enum severity sev;
	int64_t days;
};

/* thresholds 30d / 7d (secret_expiry and key_expiry defaults) */
static const struct edge expiry_edges[] = {
	{365 * DAY, SEV_OK, 365},
	{30 * DAY + 1, SEV_OK, 30},
	{30 * DAY, SEV_WARNING, 30},
	{30 * DAY - 1, SEV_WARNING, 29},
	{7 * DAY + 1, SEV_WARNING, 7},
	{7 * DAY, SEV_CRITICAL, 7},
	{7 * DAY - 1, SEV_CRITICAL, 6},
	{1, SEV_CRITICAL, 0},
	{0, SEV_CRITICAL, 0},
	{-1, SEV_CRITICAL, -1},
	{-DAY, SEV_CRITICAL, -1},
	{-DAY - 1, SEV_CRITICAL, -2},
};

/* thresholds 75d / 90d (key_age defaults) */
static const struct edge age_edges[] = {
	{-3600, SEV_OK, 0}, /* created in the future: clock skew */
	{0, SEV_OK, 0},
	{75 * DAY - 1, SEV_OK, 74},
	{75 * DAY, SEV_WARNING, 75},
	{75 * DAY + 1, SEV_WARNING, 75},
	{90 * DAY - 1, SEV_WARNING, 89},
	{90 * DAY, SEV_CRITICAL, 90},
	{90 * DAY + 1, SEV_CRITICAL, 90},
	{1000 * DAY, SEV_CRITICAL, 1000},
};

/* ======================================================================
 * azure.secret_expiry
 * ====================================================================== */

#define CLIENT_ID "631a96bc-a705-4eda-9f99-fdaf9f54f6a2"
#define NO_TIME ((time_t)-1)

static struct azure_password_credential
cred(const char *name, const char *hint, time_t start, time_t end)
{
	struct azure_password_credential c = {
		.key_id = (char *)"f0b0b335-1d71-4883-8f98-567911bfdca6",
		.display_name = (char *)name,
		.hint = (char *)hint,
		.has_start = start != NO_TIME,
		.start = start != NO_TIME ? start : 0,
		.has_end = end != NO_TIME,
		.end = end != NO_TIME ? end : 0,
	};
	return c;
}

static struct azure_graph_app
app_of(struct azure_password_credential *c, size_t n)
{
	struct azure_graph_app a = {
		.id = (char *)"03ef14b0-ca33-4840-8f4f-d6e91916010e",
		.app_id = (char *)CLIENT_ID,
		.has_password_credentials = true,
		.creds = c,
		.n_creds = n,
	};
	return a;
}

static const struct finding *
run_secret(struct findings *f, const struct azure_secret_input *in, const struct cfg_checks *ck,
	   time_t now)
{
	findings_free(f);
	assert_int_equal(chk_azure_secret_expiry(in, ck, now, f), 0);
	assert_true(f->evaluated[CHK_AZURE_SECRET_EXPIRY]);
	return only(f, CHK_AZURE_SECRET_EXPIRY);
}

static void
test_secret_hint_edges(void **state)
{
	struct findings f = {0};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expiry_edges); i++) {
		const struct edge *e = &expiry_edges[i];
		struct azure_password_credential c[] = {
			cred("other", "Qq1", NOW - DAY, NOW + DAY), /* would be critical */
			cred("atlas-2024", "Xy9", NOW - 400 * DAY, NOW + e->at),
			cred("later", "Zz0", NOW - DAY, NOW + 3 * DAY),
		};
		struct azure_graph_app app = app_of(c, ARRAY_SIZE(c));
		struct azure_secret_input in = {.client_id = CLIENT_ID, .app = &app, .hint = "Xy9"};
		const struct finding *x = run_secret(&f, &in, NULL, NOW);

		if (x->severity != e->sev || x->days_left != e->days)
			fail_msg("left %lld: %s, %lld days, want %s, %lld: %s", (long long)e->at,
				 severity_name(x->severity), (long long)x->days_left,
				 severity_name(e->sev), (long long)e->days, x->summary);
		assert_true(x->has_days_left);
		assert_false(x->has_age_days);
		assert_string_equal(x->subject, CLIENT_ID);
		assert_int_equal(x->provider, PROV_AZURE);
		assert_contains(x->summary, "the client secret Atlas uses");
		assert_contains(x->summary, "\"atlas-2024\"");
		assert_contains(x->summary, "hint \"Xy9\"");
		assert_contains(x->summary, "on the application");
		assert_lacks(x->summary, "Qq1");
		if (e->at <= 0)
			assert_contains(x->summary, "expired");
		else
			assert_contains(x->summary, "expires in");
		if (e->sev >= SEV_WARNING)
			assert_contains(x->summary, "create a new client secret");
	}
	/* the same edges with thresholds from the config */
	{
		struct cfg_checks ck = defaults();
		struct azure_password_credential c[] = {cred("a", "Xy9", NO_TIME, NOW + 10 * DAY)};
		struct azure_graph_app app = app_of(c, 1);
		struct azure_secret_input in = {.client_id = CLIENT_ID, .app = &app, .hint = "Xy9"};

		ck.secret_expiry.warning = 10 * DAY;
		ck.secret_expiry.critical = 2 * DAY;
		assert_sev(run_secret(&f, &in, &ck, NOW), SEV_WARNING);
		assert_sev(run_secret(&f, &in, &ck, NOW - 1), SEV_OK);
		assert_sev(run_secret(&f, &in, &ck, NOW + 8 * DAY), SEV_CRITICAL);
		assert_sev(run_secret(&f, &in, &ck, NOW + 8 * DAY - 1), SEV_WARNING);
		/* switched off: nothing, not evaluated */
		ck.enabled[CHK_AZURE_SECRET_EXPIRY] = false;
		findings_free(&f);
		assert_int_equal(chk_azure_secret_expiry(&in, &ck, NOW, &f), 0);
		assert_int_equal(f.n, 0);
		assert_false(f.evaluated[CHK_AZURE_SECRET_EXPIRY]);
	}
	findings_free(&f);
}

static void
test_secret_hint_collision(void **state)
{
	struct findings f = {0};
	struct azure_password_credential c[] = {
		cred("new", "Xy9", NOW - DAY, NOW + 700 * DAY),
		cred("old", "Xy9", NOW - 700 * DAY, NOW + 20 * DAY),
		cred("unrelated", "abc", NOW - DAY, NOW + 2 * DAY),
	};
	struct azure_graph_app app = app_of(c, ARRAY_SIZE(c));
	struct azure_secret_input in = {.client_id = CLIENT_ID, .app = &app, .hint = "Xy9"};
	const struct finding *x;

	(void)state;
	/* two secrets share the hint: the first to expire is the safe reading */
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_WARNING);
	assert_int_equal(x->days_left, 20);
	assert_contains(x->summary, "\"old\"");
	assert_contains(x->summary, "2 secrets have the hint");
	/* an expired secret with the same hint is not the one Atlas uses while
	 * a valid one has it (an expired secret would fail Atlas's own
	 * validation, ear.valid) */
	c[1].end = NOW - 3 * DAY;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_OK);
	assert_int_equal(x->days_left, 700);
	assert_contains(x->summary, "\"new\"");
	/* all matching secrets expired: critical */
	c[0].end = NOW - 1;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "expired");
	/* the hint matches nothing: at least a warning, and judge the
	 * soonest valid one */
	in.hint = "nop";
	c[0].end = NOW + 100 * DAY;
	c[2].end = NOW + 200 * DAY;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_WARNING);
	assert_int_equal(x->days_left, 100);
	assert_contains(x->summary, "\"new\"");
	assert_contains(x->summary, "no secret of the application has the hint \"nop\"");
	/* ... critical when that one is critical */
	c[2].end = NOW + 2 * DAY;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_int_equal(x->days_left, 2);
	findings_free(&f);
}

static void
test_secret_no_hint(void **state)
{
	struct findings f = {0};
	struct azure_password_credential c[] = {
		cred("long", "aaa", NOW - DAY, NOW + 300 * DAY),
		cred("soon", "bbb", NOW - DAY, NOW + 10 * DAY),
		cred("expired", "ccc", NOW - 900 * DAY, NOW - 5 * DAY),
		cred("future", "ddd", NOW + DAY, NOW + 2 * DAY),
	};
	struct azure_graph_app app = app_of(c, ARRAY_SIZE(c));
	struct azure_secret_input in = {.client_id = CLIENT_ID, .app = &app};
	const struct finding *x;

	(void)state;
	/* the soonest-expiring currently valid one, and the hint advice */
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_WARNING);
	assert_int_equal(x->days_left, 10);
	assert_contains(x->summary, "\"soon\"");
	assert_contains(x->summary, "soonest-expiring of 2 valid secrets");
	assert_contains(x->summary, "client_secret_hint");
	assert_contains(x->summary, "make this exact");
	/* start edge: valid from its startDateTime second on */
	c[1].end = NOW + 400 * DAY;
	x = run_secret(&f, &in, NULL, NOW + DAY);
	assert_contains(x->summary, "\"future\"");
	assert_sev(x, SEV_CRITICAL);
	x = run_secret(&f, &in, NULL, NOW + DAY - 1);
	assert_contains(x->summary, "\"long\"");
	/* a single valid secret is exact: no advice */
	c[0].end = NOW - 1;
	x = run_secret(&f, &in, NULL, NOW);
	assert_contains(x->summary, "\"soon\"");
	assert_sev(x, SEV_OK);
	assert_lacks(x->summary, "make this exact");

	/* edges on a single secret without a hint */
	for (size_t i = 0; i < ARRAY_SIZE(expiry_edges); i++) {
		const struct edge *e = &expiry_edges[i];
		struct azure_password_credential one[] = {cred("only", NULL, NOW - 10, NOW + e->at)};
		struct azure_graph_app a1 = app_of(one, 1);
		struct azure_secret_input in1 = {.client_id = CLIENT_ID, .app = &a1};

		x = run_secret(&f, &in1, NULL, NOW);
		if (x->severity != e->sev || x->days_left != e->days)
			fail_msg("left %lld: %s, %lld days: %s", (long long)e->at,
				 severity_name(x->severity), (long long)x->days_left, x->summary);
	}

	/* every secret expired: the last one is reported, critical */
	{
		struct azure_password_credential ex[] = {
			cred("a", NULL, NO_TIME, NOW - 30 * DAY),
			cred("b", NULL, NO_TIME, NOW - 2 * DAY),
		};
		struct azure_graph_app a2 = app_of(ex, 2);
		struct azure_secret_input in2 = {.client_id = CLIENT_ID, .app = &a2};

		x = run_secret(&f, &in2, NULL, NOW);
		assert_sev(x, SEV_CRITICAL);
		assert_int_equal(x->days_left, -2);
		assert_contains(x->summary, "the last valid client secret");
		assert_contains(x->summary, "\"b\"");
		assert_contains(x->summary, "expired 2 days ago");
	}
	/* none valid yet */
	{
		struct azure_password_credential fu[] = {cred("f", NULL, NOW + 1, NOW + 9 * DAY)};
		struct azure_graph_app a3 = app_of(fu, 1);
		struct azure_secret_input in3 = {.client_id = CLIENT_ID, .app = &a3};

		x = run_secret(&f, &in3, NULL, NOW);
		assert_sev(x, SEV_CRITICAL);
		assert_contains(x->summary, "no client secret of application");
		assert_contains(x->summary, "is valid now");
	}
	/* never expires */
	{
		struct azure_password_credential ne[] = {cred("forever", NULL, NO_TIME, NO_TIME)};
		struct azure_graph_app a4 = app_of(ne, 1);
		struct azure_secret_input in4 = {.client_id = CLIENT_ID, .app = &a4};

		x = run_secret(&f, &in4, NULL, NOW);
		assert_sev(x, SEV_OK);
		assert_false(x->has_days_left);
		assert_contains(x->summary, "never expires");
	}
	findings_free(&f);
}

static void
test_secret_service_principal(void **state)
{
	struct findings f = {0};
	struct azure_password_credential ac[] = {cred("app", "aaa", NOW - DAY, NOW + 200 * DAY)};
	struct azure_password_credential sc[] = {cred("sp-secret", "Xy9", NOW - DAY, NOW + 5 * DAY)};
	struct azure_graph_app app = app_of(ac, 1), sp = app_of(sc, 1);
	struct azure_graph_app empty = app_of(NULL, 0);
	struct azure_secret_input in = {.client_id = CLIENT_ID, .app = &app, .sp = &sp};
	const struct finding *x;

	(void)state;
	/* the SP's secret counts too: it is the soonest */
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_int_equal(x->days_left, 5);
	assert_contains(x->summary, "on the service principal");
	/* by hint */
	in.hint = "Xy9";
	x = run_secret(&f, &in, NULL, NOW);
	assert_contains(x->summary, "\"sp-secret\"");
	in.hint = "aaa";
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_OK);
	/* only the SP read (the application lookup failed) */
	in.hint = NULL;
	in.app = NULL;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	/* read, but no secret anywhere */
	in.app = &empty;
	in.sp = &empty;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "has no client secret");
	findings_free(&f);
}

/* Graph 404 for both the application and its service principal: Atlas's
 * application is gone (critical), unless kmswatch reads another tenant than
 * Atlas's (then it cannot know: unknown). One 404 alone is a multi-tenant
 * application seen from the other side: the other object decides. */
static void
test_secret_application_missing(void **state)
{
	struct findings f = {0};
	struct azure_password_credential sc[] = {cred("sp-secret", "Xy9", NOW - DAY, NOW + 200 * DAY)};
	struct azure_graph_app sp = app_of(sc, 1);
	struct azure_secret_input in = {
		.client_id = CLIENT_ID,
		.app_missing = true,
		.sp_missing = true,
		.identity_tenant = "99999999-8888-4777-8666-555555555555",
		.atlas_tenant = "99999999-8888-4777-8666-555555555555",
		.has_configured_expiry = true,
		.configured_expiry = NOW + 300 * DAY,
	};
	const struct finding *x;

	(void)state;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "does not exist in tenant 99999999-8888-4777-8666-555555555555");
	assert_contains(x->summary, "404 Request_ResourceNotFound");
	assert_contains(x->summary, "restore it in Entra ID");
	/* kmswatch's identity lives in another tenant: it cannot know */
	in.identity_tenant = "11111111-2222-4333-8444-555555555555";
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "but Atlas's tenantID is 99999999-8888-4777-8666-555555555555");
	/* only the application registration is elsewhere: the SP decides */
	in.sp_missing = false;
	in.sp = &sp;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "on the service principal");
	findings_free(&f);
}

static void
test_secret_graph_unread(void **state)
{
	struct findings f = {0};
	struct azure_graph_app no_field = {.id = (char *)"x"}; /* $select ignored */
	const struct finding *x;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(expiry_edges); i++) {
		const struct edge *e = &expiry_edges[i];
		struct azure_secret_input in = {
			.client_id = CLIENT_ID,
			.has_configured_expiry = true,
			.configured_expiry = NOW + e->at,
		};

		x = run_secret(&f, &in, NULL, NOW);
		if (x->severity != e->sev || x->days_left != e->days)
			fail_msg("left %lld: %s, %lld days: %s", (long long)e->at,
				 severity_name(x->severity), (long long)x->days_left, x->summary);
		assert_contains(x->summary, "projects[].azure.client_secret_expires");
		assert_contains(x->summary, "Microsoft Graph could not be read");
		assert_contains(x->summary, e->at > 0 ? "expires" : "expired");
	}
	/* no configured date: no verdict (azure.access tells why) */
	{
		struct azure_secret_input in = {.client_id = CLIENT_ID};

		findings_free(&f);
		assert_int_equal(chk_azure_secret_expiry(&in, NULL, NOW, &f), 0);
		assert_int_equal(f.n, 0);
		assert_false(f.evaluated[CHK_AZURE_SECRET_EXPIRY]);
		in.app = &no_field;
		assert_int_equal(chk_azure_secret_expiry(&in, NULL, NOW, &f), 0);
		assert_int_equal(f.n, 0);
		/* the configured date wins over a Graph answer without secrets */
		in.has_configured_expiry = true;
		in.configured_expiry = NOW + 3 * DAY;
		x = run_secret(&f, &in, NULL, NOW);
		assert_sev(x, SEV_CRITICAL);
	}
	/* a configured date is ignored once Graph was read */
	{
		struct azure_password_credential c[] = {cred("a", NULL, NO_TIME, NOW + 300 * DAY)};
		struct azure_graph_app app = app_of(c, 1);
		struct azure_secret_input in = {.client_id = CLIENT_ID,
						.app = &app,
						.has_configured_expiry = true,
						.configured_expiry = NOW};

		x = run_secret(&f, &in, NULL, NOW);
		assert_sev(x, SEV_OK);
		assert_int_equal(x->days_left, 300);
	}
	findings_free(&f);
}

static void
test_secret_secretless(void **state)
{
	struct findings f = {0};
	struct azure_password_credential c[] = {cred("x", NULL, NO_TIME, NOW - DAY)};
	struct azure_graph_app app = app_of(c, 1);
	struct azure_secret_input in = {.role_id = "65a1b2c3d4e5f60718293a4b", .app = &app,
					.has_configured_expiry = true, .configured_expiry = NOW};
	const struct finding *x;

	(void)state;
	/* roleId without clientID: nothing to expire, never firing */
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "65a1b2c3d4e5f60718293a4b");
	assert_contains(x->summary, "secretless");
	assert_contains(x->summary, "no secret to expire");
	assert_false(x->has_days_left);
	in.client_id = "";
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_OK);
	/* neither: kmswatch cannot tell */
	in.role_id = NULL;
	x = run_secret(&f, &in, NULL, NOW);
	assert_sev(x, SEV_UNKNOWN);
	assert_string_equal(x->subject, "azure");
	findings_free(&f);
	assert_int_equal(chk_azure_secret_expiry(NULL, NULL, NOW, &f), -EINVAL);
	assert_int_equal(chk_azure_secret_expiry(&in, NULL, NOW, NULL), -EINVAL);
}

/* ======================================================================
 * azure.key_identifier
 * ====================================================================== */

static const struct finding *
run_kid(struct findings *f, const char *env, const char *kid, const char *vault,
	const char *suffix)
{
	struct atlas_azure_kv kv = {
		.present = true,
		.azure_environment = (char *)env,
		.key_identifier = (char *)kid,
		.key_vault_name = (char *)vault,
	};

	findings_free(f);
	assert_int_equal(chk_azure_key_identifier(&kv, suffix, NULL, NULL, f), 0);
	assert_true(f->evaluated[CHK_AZURE_KEY_IDENTIFIER]);
	return only(f, CHK_AZURE_KEY_IDENTIFIER);
}

/* ARM 404 for the vault Atlas names: key_identifier says which part of
 * Atlas's settings points at nothing. */
static void
test_key_identifier_vault_missing(void **state)
{
	static const struct {
		const char *code, *want;
	} cases[] = {
		{"ResourceNotFound", "has no Key Vault contoso-kv in resource group rg-keys of "
				     "subscription 0b1f6471-1bf0-4dda-aec3-111122223333 (404 "
				     "ResourceNotFound): the vault was deleted (recover it while it is "
				     "soft-deleted: az keyvault recover --name contoso-kv)"},
		{"ResourceGroupNotFound", "has no resource group rg-keys in subscription "
					  "0b1f6471-1bf0-4dda-aec3-111122223333 (404 "
					  "ResourceGroupNotFound)"},
		{"SubscriptionNotFound", "has no subscription 0b1f6471-1bf0-4dda-aec3-111122223333 "
					 "(404 SubscriptionNotFound)"},
	};
	struct atlas_azure_kv kv = {
		.present = true,
		.azure_environment = "AZURE",
		.key_identifier = KID,
		.key_vault_name = "contoso-kv",
		.resource_group_name = "rg-keys",
		.subscription_id = "0b1f6471-1bf0-4dda-aec3-111122223333",
	};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		findings_free(&f);
		assert_int_equal(chk_azure_key_identifier(&kv, NULL, cases[i].code, NULL, &f), 0);
		x = only(&f, CHK_AZURE_KEY_IDENTIFIER);
		assert_sev(x, SEV_CRITICAL);
		assert_contains(x->summary, cases[i].want);
	}
	findings_free(&f);
}

static void
test_key_identifier(void **state)
{
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	x = run_kid(&f, "AZURE", KID, "contoso-kv", NULL);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "azure");
	assert_contains(x->summary, "well-formed");
	/* case, :443 and a trailing slash are the same identifier */
	x = run_kid(&f, NULL,
		    "https://CONTOSO-KV.vault.azure.net:443/keys/atlas-cmk/"
		    "0f1e2d3c4b5a69788796a5b4c3d2e1f0/",
		    "Contoso-KV", NULL);
	assert_sev(x, SEV_OK);
	/* vault mismatch */
	x = run_kid(&f, "AZURE", KID, "other-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "it names vault contoso-kv, but keyVaultName is other-kv");
	/* suffix per environment */
	x = run_kid(&f, "AZURE_CHINA", KID, "contoso-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "DNS suffix vault.azure.net does not match azureEnvironment "
				    "AZURE_CHINA (expected vault.azure.cn)");
	x = run_kid(&f, "AZURE_CHINA", "https://contoso-kv.vault.azure.cn/keys/k/"
				       "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		    "contoso-kv", NULL);
	assert_sev(x, SEV_OK);
	x = run_kid(&f, "AZURE_US_GOVERNMENT", KID, "contoso-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "expected vault.usgovcloudapi.net");
	x = run_kid(&f, "AZURE_US_GOVERNMENT",
		    "https://contoso-kv.vault.usgovcloudapi.net/keys/k/"
		    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		    "contoso-kv", NULL);
	assert_sev(x, SEV_OK);
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.azure.cn/keys/k/"
				 "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		    "contoso-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	/* both wrong: both named */
	x = run_kid(&f, "AZURE_CHINA", KID, "other-kv", NULL);
	assert_contains(x->summary, "keyVaultName is other-kv");
	assert_contains(x->summary, "expected vault.azure.cn");
	/* the resolved suffix (an override) wins */
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.contoso.example/keys/k/"
				 "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		    "contoso-kv", "vault.contoso.example");
	assert_sev(x, SEV_OK);
	x = run_kid(&f, "AZURE", KID, "contoso-kv", "vault.contoso.example");
	assert_sev(x, SEV_CRITICAL);
	/* unknown environment: the suffix cannot be judged */
	x = run_kid(&f, "AZURE_MARS", KID, "contoso-kv", NULL);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "does not know azureEnvironment AZURE_MARS");
	x = run_kid(&f, "AZURE_MARS", KID, "other-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	x = run_kid(&f, "AZURE_MARS", KID, "contoso-kv", "vault.azure.net");
	assert_sev(x, SEV_OK);
	/* malformed, missing version, missing identifier */
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.azure.net/secrets/x", "contoso-kv",
		    NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "malformed");
	assert_contains(x->summary, "/keys/");
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.azure.net/keys/atlas-cmk", "contoso-kv",
		    NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "names no key version");
	x = run_kid(&f, "AZURE", NULL, "contoso-kv", NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "no keyIdentifier");
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.azure.net/keys/k/\x1b[31mred", NULL,
		    NULL);
	assert_null(strchr(x->summary, '\x1b'));
	/* a non-hex version is legal: ok, with a note */
	x = run_kid(&f, "AZURE", "https://contoso-kv.vault.azure.net/keys/k/"
				 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
		    "contoso-kv", NULL);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "not hexadecimal");
	/* without keyVaultName the vault is not compared */
	x = run_kid(&f, "AZURE", KID, NULL, NULL);
	assert_sev(x, SEV_OK);
	findings_free(&f);
}

/* ======================================================================
 * azure.key_state
 * ====================================================================== */

static struct azure_key_id
pin_of(const char *kid)
{
	struct azure_key_id id;
	char err[160];

	if (azure_parse_key_id(kid, &id, err, sizeof(err)) != 0)
		fail_msg("%s: %s", kid, err);
	return id;
}

static struct azure_kv_key
key_of(const char *kid, enum tri enabled, time_t created)
{
	struct azure_kv_key k = {
		.kid = (char *)kid,
		.attr = {.enabled = enabled, .has_created = created != NO_TIME,
			 .created = created != NO_TIME ? created : 0},
	};
	return k;
}

static const struct finding *
run_state(struct findings *f, const struct azure_key_id *pin, const struct azure_kv_key *key,
	  bool deleted, const struct cfg_checks *ck, time_t now)
{
	findings_free(f);
	assert_int_equal(chk_azure_key_state(pin, key, deleted, ck, now, f), 0);
	assert_true(f->evaluated[CHK_AZURE_KEY_STATE]);
	return only(f, CHK_AZURE_KEY_STATE);
}

static void
test_key_state(void **state)
{
	struct azure_key_id pin = pin_of(KID);
	struct azure_kv_key k = key_of(KID, TRI_TRUE, NOW - 10 * DAY);
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	x = run_state(&f, &pin, &k, false, NULL, NOW);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "contoso-kv/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
	assert_contains(x->summary, "has no expiry date");
	assert_false(x->has_days_left);

	/* exp against key_expiry, at every edge */
	for (size_t i = 0; i < ARRAY_SIZE(expiry_edges); i++) {
		const struct edge *e = &expiry_edges[i];

		k.attr.has_exp = true;
		k.attr.exp = NOW + e->at;
		x = run_state(&f, &pin, &k, false, NULL, NOW);
		if (x->severity != e->sev || x->days_left != e->days)
			fail_msg("exp in %lld: %s, %lld days: %s", (long long)e->at,
				 severity_name(x->severity), (long long)x->days_left, x->summary);
		assert_true(x->has_days_left);
		if (e->sev > SEV_OK)
			assert_contains(x->summary, e->at > 0 ? "it expires in" : "it expired");
	}
	/* key_expiry thresholds from the config; its window switched off */
	{
		struct cfg_checks ck = defaults();

		ck.key_expiry.warning = 60 * DAY;
		ck.key_expiry.critical = 14 * DAY;
		k.attr.exp = NOW + 60 * DAY;
		assert_sev(run_state(&f, &pin, &k, false, &ck, NOW), SEV_WARNING);
		assert_sev(run_state(&f, &pin, &k, false, &ck, NOW - 1), SEV_OK);
		assert_sev(run_state(&f, &pin, &k, false, &ck, NOW + 46 * DAY), SEV_CRITICAL);
		ck.key_expiry.enabled = false;
		assert_sev(run_state(&f, &pin, &k, false, &ck, NOW + 59 * DAY), SEV_OK);
		/* ... but an expired key is critical regardless */
		assert_sev(run_state(&f, &pin, &k, false, &ck, NOW + 60 * DAY), SEV_CRITICAL);
		ck.enabled[CHK_AZURE_KEY_STATE] = false;
		findings_free(&f);
		assert_int_equal(chk_azure_key_state(&pin, &k, false, &ck, NOW, &f), 0);
		assert_int_equal(f.n, 0);
		assert_false(f.evaluated[CHK_AZURE_KEY_STATE]);
	}
	k.attr.has_exp = false;

	/* disabled */
	k.attr.enabled = TRI_FALSE;
	x = run_state(&f, &pin, &k, false, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "it is disabled");
	assert_contains(x->summary, "--enabled true");
	k.attr.enabled = TRI_TRUE;

	/* nbf: valid from that second on */
	k.attr.has_nbf = true;
	k.attr.nbf = NOW + 1;
	x = run_state(&f, &pin, &k, false, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "not valid before 2026-01-01T00:00:01Z");
	k.attr.nbf = NOW;
	assert_sev(run_state(&f, &pin, &k, false, NULL, NOW), SEV_OK);
	k.attr.nbf = NOW - 1;
	assert_sev(run_state(&f, &pin, &k, false, NULL, NOW), SEV_OK);

	/* disabled, not yet valid and expiring: all said */
	k.attr.enabled = TRI_FALSE;
	k.attr.nbf = NOW + DAY;
	k.attr.has_exp = true;
	k.attr.exp = NOW + 20 * DAY;
	x = run_state(&f, &pin, &k, false, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "disabled");
	assert_contains(x->summary, "not valid before");
	assert_contains(x->summary, "expires in 20 days");

	/* deleted (404 KeyNotFound) */
	x = run_state(&f, &pin, NULL, true, NULL, NOW);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "404 KeyNotFound");
	assert_contains(x->summary, "az keyvault key recover --vault-name contoso-kv --name "
				    "atlas-cmk");

	/* not read: no verdict */
	findings_free(&f);
	assert_int_equal(chk_azure_key_state(&pin, NULL, false, NULL, NOW, &f), 0);
	assert_int_equal(f.n, 0);
	assert_false(f.evaluated[CHK_AZURE_KEY_STATE]);
	assert_int_equal(chk_azure_key_state(NULL, &k, false, NULL, NOW, &f), -EINVAL);
	findings_free(&f);
}

/* ======================================================================
 * azure.key_age
 * ====================================================================== */

static const struct finding *
run_age(struct findings *f, const struct azure_key_id *pin, const struct azure_kv_key *key,
	const struct ear_memory *mem, const struct azure_rotation_policy *pol,
	const struct cfg_checks *ck, time_t now)
{
	findings_free(f);
	assert_int_equal(chk_azure_key_age(pin, key, mem, pol, ck, now, f), 0);
	assert_true(f->evaluated[CHK_AZURE_KEY_AGE]);
	return only(f, CHK_AZURE_KEY_AGE);
}

static void
test_key_age(void **state)
{
	struct azure_key_id pin = pin_of(KID);
	struct azure_kv_key k = key_of(KID, TRI_TRUE, NOW);
	struct azure_rotation_policy pol;
	struct findings f = {0};
	const struct finding *x;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(age_edges); i++) {
		const struct edge *e = &age_edges[i];

		k.attr.created = NOW - e->at;
		x = run_age(&f, &pin, &k, NULL, NULL, NULL, NOW);
		if (x->severity != e->sev || x->age_days != e->days)
			fail_msg("age %lld: %s, %lld days: %s", (long long)e->at,
				 severity_name(x->severity), (long long)x->age_days, x->summary);
		assert_true(x->has_age_days);
		assert_false(x->has_days_left);
		assert_string_equal(x->subject,
				    "contoso-kv/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
		assert_contains(x->summary, "could not read the key's rotation policy");
		if (e->sev == SEV_WARNING)
			assert_contains(x->summary, "past the 75d threshold");
		if (e->sev == SEV_CRITICAL) {
			assert_contains(x->summary, "past the 90d threshold");
			assert_contains(x->summary, "az keyvault key rotate --vault-name contoso-kv "
						    "--name atlas-cmk");
		}
	}
	/* thresholds from the config */
	{
		struct cfg_checks ck = defaults();

		ck.key_age.warning = 30 * DAY;
		ck.key_age.critical = 60 * DAY;
		k.attr.created = NOW - 30 * DAY;
		assert_sev(run_age(&f, &pin, &k, NULL, NULL, &ck, NOW), SEV_WARNING);
		assert_sev(run_age(&f, &pin, &k, NULL, NULL, &ck, NOW - 1), SEV_OK);
		assert_sev(run_age(&f, &pin, &k, NULL, NULL, &ck, NOW + 30 * DAY), SEV_CRITICAL);
		ck.enabled[CHK_AZURE_KEY_AGE] = false;
		findings_free(&f);
		assert_int_equal(chk_azure_key_age(&pin, &k, NULL, NULL, &ck, NOW, &f), 0);
		assert_int_equal(f.n, 0);
	}

	/* the rotation policy is mentioned */
	assert_int_equal(PARSE(azure_parse_rotation_policy, ROTATION_POLICY, &pol, err), 0);
	k.attr.created = NOW - 100 * DAY;
	x = run_age(&f, &pin, &k, NULL, &pol, NULL, NOW);
	assert_contains(x->summary, "rotation policy rotates this key 90d after a version is "
				    "created, but Atlas pins one version");
	pol.actions[0].action = AZACT_NOTIFY;
	x = run_age(&f, &pin, &k, NULL, &pol, NULL, NOW);
	assert_contains(x->summary, "no rotation policy rotates this key");
	pol.actions[0].action = AZACT_ROTATE;
	pol.actions[0].has_after_create = false;
	pol.actions[0].has_before_expiry = true;
	pol.actions[0].before_expiry = 30 * DAY;
	x = run_age(&f, &pin, &k, NULL, &pol, NULL, NOW);
	assert_contains(x->summary, "rotates this key 30d before it expires");
	azure_rotation_policy_free(&pol);

	/* Key Vault unreadable: from when kmswatch first saw the identifier,
	 * a lower bound */
	{
		struct ear_memory mem = {
			.key_id = (char *)"https://Contoso-KV.vault.azure.net:443/keys/atlas-cmk/"
					  "0f1e2d3c4b5a69788796a5b4c3d2e1f0/",
			.key_first_seen = NOW - 80 * DAY,
		};
		struct azure_kv_key no_created = key_of(KID, TRI_TRUE, NO_TIME);

		x = run_age(&f, &pin, NULL, &mem, NULL, NULL, NOW);
		assert_sev(x, SEV_WARNING);
		assert_int_equal(x->age_days, 80);
		assert_contains(x->summary, "at least 80 days old");
		assert_contains(x->summary, "first saw this key identifier");
		x = run_age(&f, &pin, &no_created, &mem, NULL, NULL, NOW);
		assert_contains(x->summary, "at least");
		for (size_t i = 0; i < ARRAY_SIZE(age_edges); i++) {
			const struct edge *e = &age_edges[i];

			mem.key_first_seen = NOW - e->at;
			if (mem.key_first_seen == 0)
				continue;
			x = run_age(&f, &pin, NULL, &mem, NULL, NULL, NOW);
			if (x->severity != e->sev || x->age_days != e->days)
				fail_msg("first seen %lld ago: %s: %s", (long long)e->at,
					 severity_name(x->severity), x->summary);
		}
		/* another identifier, or nothing remembered: no verdict */
		mem.key_id = (char *)"https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
				     "1f1e2d3c4b5a69788796a5b4c3d2e1f0";
		findings_free(&f);
		assert_int_equal(chk_azure_key_age(&pin, NULL, &mem, NULL, NULL, NOW, &f), 0);
		assert_int_equal(f.n, 0);
		assert_false(f.evaluated[CHK_AZURE_KEY_AGE]);
		mem.key_id = (char *)KID;
		mem.key_first_seen = 0;
		assert_int_equal(chk_azure_key_age(&pin, NULL, &mem, NULL, NULL, NOW, &f), 0);
		assert_int_equal(chk_azure_key_age(&pin, NULL, NULL, NULL, NULL, NOW, &f), 0);
		assert_int_equal(f.n, 0);
	}
	findings_free(&f);
}

/* ======================================================================
 * azure.key_version
 * ====================================================================== */

#define KV_BASE "https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
#define V_PIN "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
#define V_NEW "aaaabbbbccccddddeeeeffff00001111"
#define V_NEWER "bbbbccccddddeeeeffff000011112222"

static const struct finding *
run_version(struct findings *f, const struct azure_key_id *pin, const struct azure_kv_key *pinned,
	    const struct azure_kv_key *v, size_t n, time_t now)
{
	findings_free(f);
	assert_int_equal(chk_azure_key_version(pin, pinned, v, n, NULL, now, f), 0);
	assert_true(f->evaluated[CHK_AZURE_KEY_VERSION]);
	return only(f, CHK_AZURE_KEY_VERSION);
}

static void
test_key_version(void **state)
{
	struct azure_key_id pin = pin_of(KV_BASE V_PIN);
	struct azure_kv_key pinned = key_of(KV_BASE V_PIN, TRI_TRUE, NOW - 100 * DAY);
	struct azure_kv_key v[] = {
		key_of(KV_BASE V_PIN, TRI_TRUE, NOW - 100 * DAY),
		key_of(KV_BASE V_NEW, TRI_TRUE, NOW - 10 * DAY),
		key_of("https://contoso-kv.vault.azure.net:443/keys/ATLAS-CMK/" V_NEWER, TRI_FALSE,
		       NOW - DAY),
		key_of("https://contoso-kv.vault.azure.net/keys/other-key/"
		       "ccccddddeeeeffff0000111122223333",
		       TRI_TRUE, NOW),
		key_of("https://contoso-kv.vault.azure.net/keys/atlas-cmk/old00000000000000000000000000000",
		       TRI_TRUE, NOW - 900 * DAY),
	};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	/* a newer enabled version Atlas does not use */
	x = run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW);
	assert_sev(x, SEV_WARNING);
	assert_string_equal(x->subject, "contoso-kv/atlas-cmk/" V_PIN);
	assert_contains(x->summary, "newer enabled version " V_NEW);
	assert_contains(x->summary, "set the project's key identifier to "
				    "https://contoso-kv.vault.azure.net/keys/atlas-cmk/" V_NEW);
	/* the newer one disabled too: ok (disabled ones are ignored) */
	v[1].attr.enabled = TRI_FALSE;
	x = run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "newest enabled version");
	v[1].attr.enabled = TRI_ABSENT;
	assert_sev(run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW), SEV_OK);
	v[1].attr.enabled = TRI_TRUE;
	/* not yet valid: ignored until its nbf second */
	v[1].attr.has_nbf = true;
	v[1].attr.nbf = NOW + 1;
	assert_sev(run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW), SEV_OK);
	assert_sev(run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW + 1), SEV_WARNING);
	/* expired: ignored from its exp second on */
	v[1].attr.has_exp = true;
	v[1].attr.exp = NOW + 5;
	assert_sev(run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW + 4), SEV_WARNING);
	assert_sev(run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW + 5), SEV_OK);
	v[1].attr.has_nbf = v[1].attr.has_exp = false;
	/* the newest of several newer ones is named */
	v[2].attr.enabled = TRI_TRUE;
	x = run_version(&f, &pin, &pinned, v, ARRAY_SIZE(v), NOW);
	assert_contains(x->summary, "newer enabled version " V_NEWER);
	v[2].attr.enabled = TRI_FALSE;
	/* the pin is the newest: ok */
	{
		struct azure_key_id newest = pin_of(KV_BASE V_NEW);
		struct azure_kv_key np = key_of(KV_BASE V_NEW, TRI_TRUE, NOW - 10 * DAY);

		x = run_version(&f, &newest, &np, v, ARRAY_SIZE(v), NOW);
		assert_sev(x, SEV_OK);
		/* created at the same second is not newer */
		v[0].attr.created = NOW - 10 * DAY;
		assert_sev(run_version(&f, &newest, &np, v, ARRAY_SIZE(v), NOW), SEV_OK);
		v[0].attr.created = NOW - 100 * DAY;
	}
	/* the pin's creation time from the versions list */
	x = run_version(&f, &pin, NULL, v, ARRAY_SIZE(v), NOW);
	assert_sev(x, SEV_WARNING);
	/* only the latest key (GET keys/{name}/) */
	x = run_version(&f, &pin, &pinned, &v[1], 1, NOW);
	assert_sev(x, SEV_WARNING);
	/* no creation time for the pin: no verdict */
	findings_free(&f);
	assert_int_equal(chk_azure_key_version(&pin, NULL, &v[1], 1, NULL, NOW, &f), 0);
	assert_int_equal(f.n, 0);
	assert_false(f.evaluated[CHK_AZURE_KEY_VERSION]);
	/* a pin without version: nothing to compare */
	{
		struct azure_key_id nover = pin_of(KV_BASE);

		assert_int_equal(chk_azure_key_version(&nover, &pinned, v, ARRAY_SIZE(v), NULL, NOW,
						       &f),
				 0);
		assert_int_equal(f.n, 0);
	}
	assert_int_equal(chk_azure_key_version(&pin, &pinned, NULL, 2, NULL, NOW, &f), -EINVAL);
	findings_free(&f);
}

static void
test_key_version_pages(void **state)
{
	static const char page1[] =
		"{\"value\":[{\"kid\":\"" KV_BASE V_PIN "\",\"attributes\":{\"enabled\":true,"
		"\"created\":1760000000}},{\"kid\":\"" KV_BASE "11112222333344445555666677778888\","
		"\"attributes\":{\"enabled\":true,\"created\":1750000000}}],\"nextLink\":"
		"\"https://contoso-kv.vault.azure.net:443/keys/atlas-cmk/versions?api-version=7.5&"
		"$skiptoken=x&maxresults=2\"}";
	static const char page2[] =
		"{\"value\":[{\"kid\":\"" KV_BASE V_NEW "\",\"attributes\":{\"enabled\":true,"
		"\"created\":1765000000}}],\"nextLink\":null}";
	struct azure_kv_versions p1, p2;
	struct azure_kv_key all[3];
	struct azure_key_id pin = pin_of(KV_BASE V_PIN);
	struct findings f = {0};
	const struct finding *x;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(azure_parse_kv_versions, page1, &p1, err), 0);
	assert_non_null(p1.next_link);
	assert_int_equal(PARSE(azure_parse_kv_versions, page2, &p2, err), 0);
	assert_null(p2.next_link);
	/* the first page alone: nothing newer */
	x = run_version(&f, &pin, NULL, p1.v, p1.n, NOW);
	assert_sev(x, SEV_OK);
	/* every page: the newer version is on the second */
	memcpy(all, p1.v, 2 * sizeof(all[0]));
	all[2] = p2.v[0];
	x = run_version(&f, &pin, NULL, all, 3, NOW);
	assert_sev(x, SEV_WARNING);
	assert_contains(x->summary, V_NEW);
	assert_contains(x->summary, "created 2025-12-06T05:46:40Z");
	azure_kv_versions_free(&p1);
	azure_kv_versions_free(&p2);
	findings_free(&f);
}

/* ======================================================================
 * azure.allowlist
 * ====================================================================== */

static const char *const CP_LIST[] = {"198.51.100.40/32", "198.51.100.41/32", "198.51.100.50",
				      "203.0.113.0/28"};

static struct azure_vault
vault_with(enum azure_public_access pub, enum azure_net_action act, char **rules, size_t n)
{
	struct azure_vault v = {
		.id = (char *)VAULT_ID,
		.name = (char *)"sample-vault",
		.public_access = pub,
		.public_access_raw = (char *)(pub == AZPUB_OTHER ? "SecuredByPerimeter" : "Enabled"),
		.has_network_acls = act != AZNET_ABSENT,
		.default_action = act,
		.default_action_raw = (char *)(act == AZNET_OTHER ? "Maybe" : "Deny"),
		.ip_rules = rules,
		.n_ip_rules = n,
	};
	return v;
}

static const struct finding *
run_allow(struct findings *f, const struct azure_allowlist_input *in, const struct cfg_checks *ck)
{
	findings_free(f);
	assert_int_equal(chk_azure_allowlist(in, ck, f), 0);
	assert_true(f->evaluated[CHK_AZURE_ALLOWLIST]);
	return only(f, CHK_AZURE_ALLOWLIST);
}

static void
test_allowlist_deny(void **state)
{
	/* Azure returns bare IPs as /32; one control-plane /32 missing */
	char *rules[] = {(char *)"198.51.100.40/32", (char *)"198.51.100.50/32",
			 (char *)"203.0.113.0/24", (char *)"203.0.113.201",
			 (char *)"203.0.113.202/32", (char *)"203.0.113.203/32"};
	struct azure_vault v = vault_with(AZPUB_ENABLED, AZNET_DENY, rules, ARRAY_SIZE(rules));
	struct atlas_ip_addresses nodes;
	struct azure_allowlist_input in = {
		.vault = &v,
		.control_plane = CP_LIST,
		.n_control_plane = ARRAY_SIZE(CP_LIST),
		.have_control_plane = true,
		.nodes = &nodes,
	};
	struct cfg_checks ck = defaults();
	struct findings f = {0};
	const struct finding *x;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(atlas_parse_ip_addresses, NODE_IPS, &nodes, err), 0);
	/* future node IP 203.0.113.204 is covered by 203.0.113.0/24 */
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_string_equal(x->subject, "sample-vault");
	assert_string_equal(x->missing, "198.51.100.41/32");
	assert_contains(x->summary, "does not admit 1 Atlas address: 198.51.100.41/32");
	assert_contains(x->summary, "az keyvault network-rule add --name sample-vault");

	/* add it (as a bare IP, the way a user types it): ok */
	{
		char *more[ARRAY_SIZE(rules) + 1];
		struct azure_vault v2;

		memcpy(more, rules, sizeof(rules));
		more[ARRAY_SIZE(rules)] = (char *)"198.51.100.41";
		v2 = vault_with(AZPUB_ENABLED, AZNET_DENY, more, ARRAY_SIZE(more));
		in.vault = &v2;
		x = run_allow(&f, &in, NULL);
		assert_sev(x, SEV_OK);
		assert_null(x->missing);
		assert_contains(x->summary, "admits all");
		in.vault = &v;
	}

	/* futureOutbound counts only with include_future_node_ips */
	rules[2] = (char *)"203.0.113.0/28"; /* no longer covers .204 */
	x = run_allow(&f, &in, NULL);
	assert_string_equal(x->missing, "198.51.100.41/32,203.0.113.204/32");
	assert_contains(x->summary, "2 Atlas addresses: 198.51.100.41/32, 203.0.113.204/32");
	ck.include_future_node_ips = false;
	x = run_allow(&f, &in, &ck);
	assert_string_equal(x->missing, "198.51.100.41/32");
	/* a current node IP missing */
	rules[3] = (char *)"203.0.113.209";
	x = run_allow(&f, &in, &ck);
	assert_string_equal(x->missing, "198.51.100.41/32,203.0.113.201/32");

	/* covered by a wider rule */
	{
		char *wide[] = {(char *)"198.51.100.0/24", (char *)"203.0.113.0/24"};
		struct azure_vault vw = vault_with(AZPUB_ENABLED, AZNET_DENY, wide, 2);

		in.vault = &vw;
		x = run_allow(&f, &in, NULL);
		assert_sev(x, SEV_OK);
		/* a union of two halves covers a /28 too */
		wide[1] = (char *)"203.0.113.0/29";
		x = run_allow(&f, &in, NULL);
		assert_sev(x, SEV_CRITICAL);
		assert_contains(x->missing, "203.0.113.0/28");
		in.vault = &v;
	}
	/* unparsable firewall rules are ignored and said */
	{
		char *odd[] = {(char *)"not-an-ip", (char *)"198.51.100.0/24", (char *)"203.0.113.0/24"};
		struct azure_vault vo = vault_with(AZPUB_ENABLED, AZNET_DENY, odd, 3);

		in.vault = &vo;
		x = run_allow(&f, &in, NULL);
		assert_sev(x, SEV_OK);
		assert_contains(x->summary, "1 firewall rule could not be parsed");
		in.vault = &v;
	}
	atlas_ip_addresses_free(&nodes);
	findings_free(&f);
}

static void
test_allowlist_ipv6_and_incomplete(void **state)
{
	static const char *const cp6[] = {"198.51.100.40/32", "2001:db8:1::/48",
					  "2001:DB8:2:0:0:0:0:1"};
	char *rules[] = {(char *)"198.51.100.40", (char *)"2001:db8:1::/47"};
	struct azure_vault v = vault_with(AZPUB_ENABLED, AZNET_DENY, rules, 2);
	struct atlas_ip_addresses none = {0};
	struct azure_allowlist_input in = {
		.vault_name = "from-atlas",
		.vault = &v,
		.control_plane = cp6,
		.n_control_plane = ARRAY_SIZE(cp6),
		.have_control_plane = true,
		.nodes = &none,
	};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	/* IPv6: true containment; the missing one canonical */
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_string_equal(x->missing, "2001:db8:2::1/128");
	assert_contains(x->summary, "IPv4 only");
	/* an IPv4 rule never covers an IPv6 address */
	rules[1] = (char *)"0.0.0.0/0";
	x = run_allow(&f, &in, NULL);
	assert_string_equal(x->missing, "2001:db8:1::/48,2001:db8:2::1/128");
	rules[1] = (char *)"::/0";
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_OK);

	/* node addresses unreadable: unknown, not ok */
	in.nodes = NULL;
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "node addresses could not be read");
	/* ... but a gap already seen is critical */
	rules[1] = (char *)"2001:db8:1::/48";
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "node addresses could not be read");
	/* control plane unreadable */
	rules[1] = (char *)"::/0";
	in.nodes = &none;
	in.have_control_plane = false;
	in.control_plane = NULL;
	in.n_control_plane = 0;
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "control-plane address list could not be read");
	/* an Atlas address kmswatch cannot parse */
	{
		static const char *const odd[] = {"198.51.100.40/32", "garbage"};

		in.have_control_plane = true;
		in.control_plane = odd;
		in.n_control_plane = 2;
		x = run_allow(&f, &in, NULL);
		assert_sev(x, SEV_UNKNOWN);
		assert_contains(x->summary, "could not parse 1 Atlas address (\"garbage\")");
	}
	/* the vault name from Atlas when ARM does not say */
	v.name = NULL;
	x = run_allow(&f, &in, NULL);
	assert_string_equal(x->subject, "from-atlas");
	findings_free(&f);
}

static void
test_allowlist_modes(void **state)
{
	char *rules[] = {(char *)"10.0.0.0/8"};
	struct azure_vault v = vault_with(AZPUB_ENABLED, AZNET_ALLOW, rules, 1);
	struct azure_allowlist_input in = {
		.vault = &v,
		.control_plane = CP_LIST,
		.n_control_plane = ARRAY_SIZE(CP_LIST),
		.have_control_plane = true,
	};
	struct cfg_checks ck = defaults();
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	/* defaultAction Allow: everything passes, even without node IPs */
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "defaultAction Allow");
	/* no networkAcls: no firewall */
	v.default_action = AZNET_ABSENT;
	assert_sev(run_allow(&f, &in, NULL), SEV_OK);
	v.default_action = AZNET_OTHER;
	v.default_action_raw = (char *)"Maybe";
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "\"Maybe\"");
	/* public access absent reads as the ARM default, Enabled */
	v.public_access = AZPUB_ABSENT;
	v.default_action = AZNET_DENY;
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_CRITICAL);
	/* public access disabled, no private networking: critical */
	v.public_access = AZPUB_DISABLED;
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "public network access to Key Vault sample-vault is disabled");
	assert_null(x->missing);
	in.require_private_networking = TRI_FALSE;
	assert_sev(run_allow(&f, &in, NULL), SEV_CRITICAL);
	/* with requirePrivateNetworking: the public firewall does not apply */
	in.require_private_networking = TRI_TRUE;
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "Private Link");
	v.public_access = AZPUB_ENABLED;
	assert_sev(run_allow(&f, &in, NULL), SEV_OK);
	in.require_private_networking = TRI_ABSENT;
	/* a value kmswatch does not know */
	v.public_access = AZPUB_OTHER;
	v.public_access_raw = (char *)"SecuredByPerimeter";
	x = run_allow(&f, &in, NULL);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "SecuredByPerimeter");
	/* no vault: no verdict; switched off: nothing */
	in.vault = NULL;
	findings_free(&f);
	assert_int_equal(chk_azure_allowlist(&in, NULL, &f), 0);
	assert_int_equal(f.n, 0);
	assert_false(f.evaluated[CHK_AZURE_ALLOWLIST]);
	in.vault = &v;
	ck.enabled[CHK_AZURE_ALLOWLIST] = false;
	assert_int_equal(chk_azure_allowlist(&in, &ck, &f), 0);
	assert_int_equal(f.n, 0);
	in.control_plane = NULL;
	assert_int_equal(chk_azure_allowlist(&in, NULL, &f), -EINVAL);
	findings_free(&f);
}

/* ======================================================================
 * atlas.control_plane_ips
 * ====================================================================== */

static const struct finding *
run_cp(struct findings *f, const char *const *v, size_t n, struct cp_memory *mem, time_t now)
{
	findings_free(f);
	assert_int_equal(chk_atlas_control_plane_ips(v, n, mem, 0, NULL, now, f, mem), 0);
	assert_true(f->evaluated[CHK_ATLAS_CONTROL_PLANE_IPS]);
	assert_true(mem->seen);
	return only(f, CHK_ATLAS_CONTROL_PLANE_IPS);
}

/* What the daemon does with the memory: JSON string lists, read back. */
static void
cp_roundtrip(struct cp_memory *m, bool shuffle)
{
	struct cp_memory r = {.seen = m->seen, .changed_at = m->changed_at};

	r.n_base = m->n_base;
	r.n_last = m->n_last;
	r.base = calloc(m->n_base + 1, sizeof(char *));
	r.last = calloc(m->n_last + 1, sizeof(char *));
	assert_non_null(r.base);
	assert_non_null(r.last);
	for (size_t i = 0; i < m->n_base; i++)
		r.base[i] = strdup(m->base[shuffle ? m->n_base - 1 - i : i]);
	for (size_t i = 0; i < m->n_last; i++)
		r.last[i] = strdup(m->last[shuffle ? m->n_last - 1 - i : i]);
	cp_memory_free(m);
	*m = r;
}

static void
test_control_plane_ips(void **state)
{
	static const char *const first[] = {"198.51.100.41/32", "198.51.100.40/32",
					    "2001:db8:1::/48"};
	/* the same set, reordered and re-spelt */
	static const char *const same[] = {"2001:DB8:1:0::/48", "198.51.100.40", "198.51.100.41/32",
					   "198.51.100.40/32"};
	static const char *const grown[] = {"198.51.100.40/32", "198.51.100.42/32",
					    "2001:db8:1::/48"};
	static const char *const again[] = {"198.51.100.40/32", "198.51.100.42/32",
					    "198.51.100.43/32", "2001:db8:1::/48"};
	struct cp_memory mem = {0};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	/* the first observation is the baseline */
	x = run_cp(&f, first, ARRAY_SIZE(first), &mem, NOW);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "outbound");
	assert_int_equal(x->provider, PROV_NONE);
	assert_contains(x->summary, "3 control-plane outbound CIDRs");
	assert_int_equal(mem.n_last, 3);
	assert_string_equal(mem.last[0], "198.51.100.40/32");
	assert_int_equal(mem.changed_at, 0);
	x = run_cp(&f, same, ARRAY_SIZE(same), &mem, NOW + 60);
	assert_sev(x, SEV_OK);

	/* one added, one removed */
	x = run_cp(&f, grown, ARRAY_SIZE(grown), &mem, NOW + 100);
	assert_sev(x, SEV_WARNING);
	assert_contains(x->summary, "added 198.51.100.42/32; removed 198.51.100.41/32");
	assert_string_equal(x->missing, "198.51.100.42/32");
	assert_int_equal(mem.changed_at, NOW + 100);
	/* still firing within the hold window; persisted and restored */
	cp_roundtrip(&mem, false);
	x = run_cp(&f, grown, ARRAY_SIZE(grown), &mem, NOW + 100 + ATLAS_CP_CHANGE_HOLD - 1);
	assert_sev(x, SEV_WARNING);
	assert_contains(x->summary, "added 198.51.100.42/32; removed 198.51.100.41/32");
	/* a further change restarts the window and the diff accumulates */
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 200);
	assert_sev(x, SEV_WARNING);
	assert_contains(x->summary, "added 198.51.100.42/32, 198.51.100.43/32; removed "
				    "198.51.100.41/32");
	assert_string_equal(x->missing, "198.51.100.42/32,198.51.100.43/32");
	assert_int_equal(mem.changed_at, NOW + 200);
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 200 + ATLAS_CP_CHANGE_HOLD - 1);
	assert_sev(x, SEV_WARNING);
	/* the window ends: the new list is the baseline */
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 200 + ATLAS_CP_CHANGE_HOLD);
	assert_sev(x, SEV_OK);
	assert_null(x->missing);
	assert_int_equal(mem.changed_at, 0);
	assert_int_equal(mem.n_base, 4);
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 300 + ATLAS_CP_CHANGE_HOLD);
	assert_sev(x, SEV_OK);

	/* a change that is undone is no change */
	x = run_cp(&f, grown, ARRAY_SIZE(grown), &mem, NOW + 400 + ATLAS_CP_CHANGE_HOLD);
	assert_sev(x, SEV_WARNING);
	assert_contains(x->summary, "added none; removed 198.51.100.43/32");
	assert_null(x->missing);
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 500 + ATLAS_CP_CHANGE_HOLD);
	assert_sev(x, SEV_OK);
	assert_int_equal(mem.changed_at, 0);

	/* restored in another order (an older kmswatch, a hand edit): no
	 * change is invented */
	cp_roundtrip(&mem, true);
	x = run_cp(&f, again, ARRAY_SIZE(again), &mem, NOW + 600 + ATLAS_CP_CHANGE_HOLD);
	assert_sev(x, SEV_OK);
	cp_roundtrip(&mem, true);
	x = run_cp(&f, grown, ARRAY_SIZE(grown), &mem, NOW + 700 + ATLAS_CP_CHANGE_HOLD);
	assert_contains(x->summary, "added none; removed 198.51.100.43/32");

	/* a custom hold, and the check switched off still keeps memory */
	{
		struct cfg_checks ck = defaults();
		struct cp_memory m2 = {0};

		ck.enabled[CHK_ATLAS_CONTROL_PLANE_IPS] = false;
		findings_free(&f);
		assert_int_equal(chk_atlas_control_plane_ips(first, 3, NULL, 10, &ck, NOW, &f, &m2),
				 0);
		assert_int_equal(f.n, 0);
		assert_false(f.evaluated[CHK_ATLAS_CONTROL_PLANE_IPS]);
		assert_true(m2.seen);
		assert_int_equal(chk_atlas_control_plane_ips(grown, 3, &m2, 10, &ck, NOW + 1, &f,
							     &m2),
				 0);
		assert_int_equal(m2.changed_at, NOW + 1);
		assert_int_equal(chk_atlas_control_plane_ips(grown, 3, &m2, 10, NULL, NOW + 10, &f,
							     &m2),
				 0);
		assert_sev(only(&f, CHK_ATLAS_CONTROL_PLANE_IPS), SEV_WARNING);
		findings_free(&f);
		assert_int_equal(chk_atlas_control_plane_ips(grown, 3, &m2, 10, NULL, NOW + 11, &f,
							     &m2),
				 0);
		assert_sev(only(&f, CHK_ATLAS_CONTROL_PLANE_IPS), SEV_OK);
		/* an empty list, and unparsable entries kept verbatim */
		{
			static const char *const odd[] = {"zz-not-a-cidr", "198.51.100.40"};

			findings_free(&f);
			assert_int_equal(chk_atlas_control_plane_ips(odd, 2, &m2, 10, NULL, NOW + 20,
								     &f, &m2),
					 0);
			assert_contains(only(&f, CHK_ATLAS_CONTROL_PLANE_IPS)->summary,
					"added zz-not-a-cidr");
			assert_string_equal(m2.last[1], "zz-not-a-cidr");
			findings_free(&f);
			assert_int_equal(chk_atlas_control_plane_ips(NULL, 0, &m2, 10, NULL, NOW + 30,
								     &f, &m2),
					 0);
			assert_int_equal(m2.n_last, 0);
		}
		cp_memory_free(&m2);
		assert_int_equal(chk_atlas_control_plane_ips(NULL, 2, NULL, 0, NULL, NOW, &f, &m2),
				 -EINVAL);
	}
	cp_memory_free(&mem);
	cp_memory_free(NULL);
	findings_free(&f);
}

/* ======================================================================
 * azure.permissions
 * ====================================================================== */

static const struct finding *
run_perm(struct findings *f, const struct azure_permissions_input *in)
{
	findings_free(f);
	assert_int_equal(chk_azure_permissions(in, NULL, f), 0);
	assert_true(f->evaluated[CHK_AZURE_PERMISSIONS]);
	return only(f, CHK_AZURE_PERMISSIONS);
}

static void
test_permissions_policies(void **state)
{
	char *perms[8];
	struct azure_access_policy pol[] = {
		{.object_id = (char *)"someone-else", .key_perms = (char *[]){(char *)"all"},
		 .n_key_perms = 1},
		{.object_id = (char *)"9B0A0F3E-1111-4222-8333-444455556666", .key_perms = perms},
	};
	struct azure_vault v = {.name = (char *)"sample-vault", .rbac = TRI_FALSE,
				.policies = pol, .n_policies = 2};
	struct azure_permissions_input in = {.vault = &v, .principal_id = SP_OID,
					     .key_name = "atlas-cmk"};
	struct findings f = {0};
	const struct finding *x;

	(void)state;
#define PERMS(...)                                                                        \
	do {                                                                               \
		const char *p_[] = {__VA_ARGS__};                                          \
		for (size_t i_ = 0; i_ < ARRAY_SIZE(p_); i_++)                             \
			perms[i_] = (char *)p_[i_];                                        \
		pol[1].n_key_perms = ARRAY_SIZE(p_);                                       \
	} while (0)

	PERMS("get", "wrapKey", "unwrapKey");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_OK);
	assert_string_equal(x->subject, "sample-vault");
	assert_contains(x->summary, "grants get and wrapKey/unwrapKey");
	PERMS("Get", "Encrypt", "Decrypt", "List");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "encrypt/decrypt");
	PERMS("all");
	assert_sev(run_perm(&f, &in), SEV_OK);
	PERMS("get", "wrapKey", "unwrapKey", "encrypt", "decrypt");
	assert_sev(run_perm(&f, &in), SEV_OK);

	/* missing unwrapKey: named */
	PERMS("get", "wrapKey", "list");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "lacks unwrapKey");
	assert_lacks(x->summary, "lacks wrapKey");
	assert_contains(x->summary, "--key-permissions get wrapKey unwrapKey");
	PERMS("wrapKey", "unwrapKey");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "lacks get");
	PERMS("get", "encrypt", "wrapKey");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "lacks unwrapKey");
	PERMS("get");
	x = run_perm(&f, &in);
	assert_contains(x->summary, "lacks wrapKey and unwrapKey");
	/* policies of one principal add up */
	{
		struct azure_access_policy two[] = {
			{.object_id = (char *)SP_OID, .key_perms = (char *[]){(char *)"get"},
			 .n_key_perms = 1},
			{.object_id = (char *)SP_OID,
			 .key_perms = (char *[]){(char *)"wrapKey", (char *)"unwrapKey"},
			 .n_key_perms = 2},
		};

		v.policies = two;
		assert_sev(run_perm(&f, &in), SEV_OK);
		/* a compound identity (applicationId set) is not Atlas's */
		two[1].application_id = (char *)"11111111-2222-4333-8444-555555555555";
		assert_sev(run_perm(&f, &in), SEV_CRITICAL);
		two[0].application_id = (char *)"11111111-2222-4333-8444-555555555555";
		x = run_perm(&f, &in);
		assert_contains(x->summary, "compound-identity");
		v.policies = pol;
	}
	/* the principal has no policy at all */
	in.principal_id = "00000000-dead-beef-0000-000000000000";
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "has no access policy for Atlas's principal "
				    "00000000-dead-beef-0000-000000000000");
	v.n_policies = 0;
	assert_sev(run_perm(&f, &in), SEV_CRITICAL);
	/* nothing to judge */
	findings_free(&f);
	in.principal_id = NULL;
	assert_int_equal(chk_azure_permissions(&in, NULL, &f), 0);
	in.principal_id = SP_OID;
	in.vault = NULL;
	assert_int_equal(chk_azure_permissions(&in, NULL, &f), 0);
	assert_int_equal(f.n, 0);
	assert_false(f.evaluated[CHK_AZURE_PERMISSIONS]);
	assert_int_equal(chk_azure_permissions(NULL, NULL, &f), -EINVAL);
#undef PERMS
	findings_free(&f);
}

static struct azure_role_assignment
ra(const char *principal, const char *type, const char *guid, const char *scope)
{
	struct azure_role_assignment a = {.principal_id = (char *)principal,
					  .principal_type = (char *)type,
					  .scope = (char *)scope};

	snprintf(a.role_guid, sizeof(a.role_guid), "%s", guid);
	return a;
}

static void
test_permissions_rbac(void **state)
{
	struct azure_role_assignment v[4];
	struct azure_role_assignments roles = {.v = v};
	struct azure_vault vault = {.id = (char *)VAULT_ID, .name = (char *)"sample-vault",
				    .rbac = TRI_TRUE};
	struct azure_permissions_input in = {.vault = &vault, .principal_id = SP_OID,
					     .key_name = "atlas-cmk", .roles = &roles};
	struct findings f = {0};
	const struct finding *x;
	static const char reader[] = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
	static const char kv_reader[] = "21090545-7ca7-4776-b22c-e363652d74d2";

	(void)state;
	/* Crypto User at vault scope */
	v[0] = ra(SP_OID, "ServicePrincipal", AZURE_ROLE_KV_CRYPTO_USER, VAULT_ID);
	roles.n = 1;
	x = run_perm(&f, &in);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "holds Key Vault Crypto User on " VAULT_ID);
	/* at a parent scope (resource group, subscription) */
	v[0].scope = (char *)"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/RG";
	assert_sev(run_perm(&f, &in), SEV_OK);
	v[0].scope = (char *)"/subscriptions/00000000-0000-0000-0000-000000000000/";
	assert_sev(run_perm(&f, &in), SEV_OK);
	/* at the key's scope */
	v[0] = ra(SP_OID, "ServicePrincipal", AZURE_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
		  VAULT_ID "/keys/ATLAS-CMK");
	x = run_perm(&f, &in);
	assert_sev(x, SEV_OK);
	assert_contains(x->summary, "Key Vault Crypto Service Encryption User");
	/* at another key's scope: not enough */
	v[0].scope = (char *)VAULT_ID "/keys/other-key";
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "holds no role that lets it wrap and unwrap");
	/* at another vault, or a vault whose name extends ours: not enough */
	v[0].scope = (char *)VAULT_ID "2";
	assert_sev(run_perm(&f, &in), SEV_CRITICAL);
	v[0].scope = (char *)"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/"
			     "rg/providers/Microsoft.KeyVault/vaults/other/keys/atlas-cmk";
	assert_sev(run_perm(&f, &in), SEV_CRITICAL);
	/* someone else's assignment does not count */
	v[0] = ra("someone-else", "ServicePrincipal", AZURE_ROLE_KV_ADMINISTRATOR, VAULT_ID);
	assert_sev(run_perm(&f, &in), SEV_CRITICAL);
	/* Reader only: a clear no */
	v[0] = ra(SP_OID, "ServicePrincipal", reader, VAULT_ID);
	v[1] = ra(SP_OID, "ServicePrincipal", kv_reader, VAULT_ID);
	roles.n = 2;
	x = run_perm(&f, &in);
	assert_sev(x, SEV_CRITICAL);
	assert_contains(x->summary, "uses Azure RBAC");
	assert_contains(x->summary, "az role assignment create --role "
				    AZURE_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER);
	/* a custom role kmswatch cannot judge: unknown */
	v[2] = ra(SP_OID, "ServicePrincipal", "99999999-9999-4999-8999-999999999999", VAULT_ID);
	roles.n = 3;
	x = run_perm(&f, &in);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "99999999-9999-4999-8999-999999999999");
	/* ... a crypto role wins over it */
	v[3] = ra(SP_OID, "ServicePrincipal", AZURE_ROLE_KV_CRYPTO_OFFICER, "/");
	roles.n = 4;
	assert_sev(run_perm(&f, &in), SEV_OK);
	/* a crypto role held by a group may include Atlas's principal:
	 * kmswatch cannot see group membership, so it does not guess */
	v[0] = ra(SP_OID, "ServicePrincipal", reader, VAULT_ID);
	v[1] = ra("7777aaaa-0000-4000-8000-000000000000", "Group", AZURE_ROLE_KV_CRYPTO_USER,
		  VAULT_ID);
	roles.n = 2;
	x = run_perm(&f, &in);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "group 7777aaaa-0000-4000-8000-000000000000");
	/* roles unreadable: unknown, never a guess */
	in.roles = NULL;
	x = run_perm(&f, &in);
	assert_sev(x, SEV_UNKNOWN);
	assert_contains(x->summary, "could not read its role assignments");
	assert_contains(x->summary, "roleAssignments/read");
	/* no assignments at all */
	roles.n = 0;
	in.roles = &roles;
	assert_sev(run_perm(&f, &in), SEV_CRITICAL);
	/* RBAC ignores access policies */
	{
		struct azure_access_policy pol = {.object_id = (char *)SP_OID,
						  .key_perms = (char *[]){(char *)"all"},
						  .n_key_perms = 1};

		vault.policies = &pol;
		vault.n_policies = 1;
		assert_sev(run_perm(&f, &in), SEV_CRITICAL);
		vault.rbac = TRI_ABSENT; /* the ARM default: access policies */
		assert_sev(run_perm(&f, &in), SEV_OK);
	}
	findings_free(&f);
}

/* ======================================================================
 * azure.access
 * ====================================================================== */

static void
test_access(void **state)
{
	struct azure_error fw, rbac, thr;
	struct azure_token_error te;
	struct azure_token tok;
	char err[256];
	struct findings f = {0};
	const struct finding *x;

	(void)state;
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Client address "
				     "is not authorized and caller is not a trusted service.\\r\\n"
				     "Client address: 203.0.113.77\\r\\nCaller: appid=1;oid=2\","
				     "\"innererror\":{\"code\":\"ForbiddenByFirewall\"}}}",
				     &fw),
			 0);
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Forbidden\",\"message\":\"Caller is not "
				     "authorized to perform action on resource.\",\"innererror\":"
				     "{\"code\":\"ForbiddenByRbac\"}}}",
				     &rbac),
			 0);
	assert_int_equal(parse_error("{\"error\":{\"code\":\"Throttled\",\"message\":\"Request was "
				     "not processed because too many requests were received.\"}}",
				     &thr),
			 0);
	assert_int_equal(PARSE_TOK(ERR_7000222, &tok, &te, err), -EACCES);

	/* all ok: one ok finding per service that had reads */
	{
		struct azure_read r[] = {
			{.op = AZOP_GRAPH_APP, .outcome = AZURE_READ_OK, .http_status = 200},
			{.op = AZOP_KV_KEY, .outcome = AZURE_READ_OK, .http_status = 200},
			{.op = AZOP_KV_VERSIONS, .outcome = AZURE_READ_OK, .http_status = 200},
			{.op = AZOP_ARM_VAULT, .outcome = AZURE_READ_OK, .http_status = 200},
		};

		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		assert_true(f.evaluated[CHK_AZURE_ACCESS]);
		assert_int_equal(f.n, 3);
		assert_sev(by_subject(&f, CHK_AZURE_ACCESS, "graph"), SEV_OK);
		assert_contains(by_subject(&f, CHK_AZURE_ACCESS, "key-vault")->summary,
				"kmswatch reads Key Vault");
		assert_sev(by_subject(&f, CHK_AZURE_ACCESS, "arm"), SEV_OK);
		findings_free(&f);
		/* services without reads get no finding */
		assert_int_equal(chk_azure_access(r, 1, NULL, &f), 0);
		assert_int_equal(f.n, 1);
		findings_free(&f);
		/* a deleted key (404 KeyNotFound) is read fine: key_state's news */
		r[1].http_status = 404;
		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		assert_sev(by_subject(&f, CHK_AZURE_ACCESS, "key-vault"), SEV_OK);
		findings_free(&f);
	}
	/* a read refused before sending: unknown, naming the field and the fix */
	{
		struct azure_read r[] = {
			{.op = AZOP_GRAPH_APP, .resource = "the application x') or 1",
			 .outcome = AZURE_READ_REFUSED,
			 .detail = "Atlas's clientID is malformed (it is not a GUID)"},
		};

		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		x = only(&f, CHK_AZURE_ACCESS);
		assert_sev(x, SEV_UNKNOWN);
		assert_contains(x->summary, "kmswatch did not ask Microsoft Graph");
		assert_contains(x->summary, "clientID is malformed (it is not a GUID)");
		assert_contains(x->summary, "Encryption at Rest settings in Atlas");
		findings_free(&f);
	}
	/* firewall 403: the client address Key Vault saw is quoted */
	{
		struct azure_read r[] = {
			{.op = AZOP_KV_KEY, .resource = "key atlas-cmk in vault contoso-kv",
			 .outcome = AZURE_READ_HTTP, .http_status = 403, .error = &fw},
			{.op = AZOP_KV_ROTATION_POLICY, .outcome = AZURE_READ_OK, .http_status = 200},
		};

		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		x = only(&f, CHK_AZURE_ACCESS);
		assert_sev(x, SEV_UNKNOWN);
		assert_string_equal(x->subject, "key-vault");
		assert_contains(x->summary, "firewall refused kmswatch reading key atlas-cmk in "
					    "vault contoso-kv");
		assert_contains(x->summary, "client address 203.0.113.77");
		assert_contains(x->summary, "add 203.0.113.77 to the vault's firewall");
		assert_contains(x->summary, "HTTP 403 Forbidden/ForbiddenByFirewall");
		assert_null(strchr(x->summary, '\r'));
		findings_free(&f);
		/* the address, even without the inner code */
		fw.inner_code[0] = '\0';
		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		assert_contains(only(&f, CHK_AZURE_ACCESS)->summary, "client address 203.0.113.77");
		findings_free(&f);
	}
	/* RBAC 403: the missing permission named, per operation */
	{
		static const struct {
			enum azure_op op;
			const char *perm, *subject;
		} cases[] = {
			{AZOP_KV_KEY, "key permission get", "key-vault"},
			{AZOP_KV_VERSIONS, "key permission list", "key-vault"},
			{AZOP_KV_ROTATION_POLICY, "getrotationpolicy", "key-vault"},
			{AZOP_ARM_VAULT, "Microsoft.KeyVault/vaults/read", "arm"},
			{AZOP_ARM_ROLE_ASSIGNMENTS, "Microsoft.Authorization/roleAssignments/read",
			 "arm"},
			{AZOP_GRAPH_APP, "Application.Read.All", "graph"},
			{AZOP_GRAPH_SP, "Application.Read.All", "graph"},
		};

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct azure_read r = {.op = cases[i].op, .outcome = AZURE_READ_HTTP,
					       .http_status = 403, .error = &rbac};

			assert_int_equal(chk_azure_access(&r, 1, NULL, &f), 0);
			x = only(&f, CHK_AZURE_ACCESS);
			assert_sev(x, SEV_UNKNOWN);
			assert_string_equal(x->subject, cases[i].subject);
			assert_contains(x->summary, "may not read");
			assert_contains(x->summary, cases[i].perm);
			findings_free(&f);
		}
	}
	/* token error: AADSTS code and advice */
	{
		struct azure_read r[] = {
			{.op = AZOP_GRAPH_APP, .outcome = AZURE_READ_TOKEN, .http_status = 401,
			 .token_error = &te},
			{.op = AZOP_GRAPH_SP, .outcome = AZURE_READ_TOKEN, .http_status = 401,
			 .token_error = &te},
		};

		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		x = only(&f, CHK_AZURE_ACCESS);
		assert_sev(x, SEV_UNKNOWN);
		assert_contains(x->summary, "got no Microsoft Graph token to read the Atlas "
					    "application (invalid_client AADSTS7000222)");
		assert_contains(x->summary, azure_token_advice(AZTOK_SECRET_EXPIRED));
		/* both failed reads are listed */
		assert_contains(x->summary, "the Atlas service principal");
		findings_free(&f);
	}
	/* token endpoint unreachable, or refused without a body */
	{
		struct azure_read r = {.op = AZOP_ARM_VAULT, .outcome = AZURE_READ_TOKEN,
				       .detail = "Could not resolve host: login.microsoftonline.com"};

		assert_int_equal(chk_azure_access(&r, 1, NULL, &f), 0);
		x = only(&f, CHK_AZURE_ACCESS);
		assert_contains(x->summary, "could not reach the token endpoint");
		assert_contains(x->summary, "Could not resolve host");
		findings_free(&f);
		r.http_status = 500;
		assert_int_equal(chk_azure_access(&r, 1, NULL, &f), 0);
		assert_contains(only(&f, CHK_AZURE_ACCESS)->summary, "token request");
		findings_free(&f);
	}
	/* ARM found no vault (an answer): Key Vault failing to connect, or
	 * finding no vault, is explained; a 403 from Key Vault is not */
	{
		struct azure_read r[] = {
			{.op = AZOP_ARM_VAULT, .outcome = AZURE_READ_OK, .http_status = 404},
			{.op = AZOP_KV_KEY, .outcome = AZURE_READ_TRANSPORT,
			 .detail = "Could not resolve host: contoso-kv.vault.azure.net"},
			{.op = AZOP_KV_VERSIONS, .outcome = AZURE_READ_HTTP, .http_status = 404},
			{.op = AZOP_KV_ROTATION_POLICY, .outcome = AZURE_READ_HTTP,
			 .http_status = 403, .error = &rbac},
		};

		assert_int_equal(chk_azure_access(r, 3, NULL, &f), 0);
		assert_int_equal(f.n, 2);
		for (size_t i = 0; i < f.n; i++)
			assert_sev(&f.v[i], SEV_OK);
		assert_true(strstr(f.v[0].summary, "does not exist (azure.key_identifier)") ||
			    strstr(f.v[1].summary, "does not exist (azure.key_identifier)"));
		findings_free(&f);
		assert_int_equal(chk_azure_access(r, 4, NULL, &f), 0);
		for (size_t i = 0; i < f.n; i++)
			if (strcmp(f.v[i].subject, "key-vault") == 0)
				assert_sev(&f.v[i], SEV_UNKNOWN);
		findings_free(&f);
		/* without the ARM answer the same failures are kmswatch's */
		assert_int_equal(chk_azure_access(r + 1, 2, NULL, &f), 0);
		assert_sev(only(&f, CHK_AZURE_ACCESS), SEV_UNKNOWN);
		findings_free(&f);
	}
	/* throttled after retries */
	{
		struct azure_read r = {.op = AZOP_ARM_VAULT, .resource = "vault contoso-kv",
				       .outcome = AZURE_READ_HTTP, .http_status = 429,
				       .error = &thr, .retries = 3};

		assert_int_equal(chk_azure_access(&r, 1, NULL, &f), 0);
		x = only(&f, CHK_AZURE_ACCESS);
		assert_sev(x, SEV_UNKNOWN);
		assert_string_equal(x->subject, "arm");
		assert_contains(x->summary, "kept throttling kmswatch reading vault contoso-kv "
					    "after 3 retries");
		findings_free(&f);
		r.retries = 1;
		assert_int_equal(chk_azure_access(&r, 1, NULL, &f), 0);
		assert_contains(only(&f, CHK_AZURE_ACCESS)->summary, "after 1 retry ");
		findings_free(&f);
	}
	/* the other outcomes */
	{
		struct azure_read r[] = {
			{.op = AZOP_KV_KEY, .outcome = AZURE_READ_TRANSPORT,
			 .detail = "SSL certificate problem: unable to get local issuer"},
			{.op = AZOP_KV_VERSIONS, .outcome = AZURE_READ_BAD_BODY, .http_status = 200,
			 .detail = "line 1 column 1: '[' or '{' expected"},
			{.op = AZOP_KV_ROTATION_POLICY, .outcome = AZURE_READ_HTTP,
			 .http_status = 401},
			{.op = AZOP_ARM_VAULT, .outcome = AZURE_READ_HTTP, .http_status = 404},
			{.op = AZOP_ARM_ROLE_ASSIGNMENTS, .outcome = AZURE_READ_HTTP,
			 .http_status = 503, .retries = 2},
			{.op = AZOP_GRAPH_APP, .outcome = AZURE_READ_HTTP, .http_status = 418},
			{.op = (enum azure_op)99, .outcome = AZURE_READ_HTTP, .http_status = 400},
		};

		assert_int_equal(chk_azure_access(r, ARRAY_SIZE(r), NULL, &f), 0);
		x = by_subject(&f, CHK_AZURE_ACCESS, "key-vault");
		assert_contains(x->summary, "could not reach Key Vault");
		assert_contains(x->summary, "azure.ca_file");
		assert_contains(x->summary, "malformed document");
		assert_contains(x->summary, "rejected kmswatch's token");
		x = by_subject(&f, CHK_AZURE_ACCESS, "arm");
		assert_contains(x->summary, "does not know the vault's settings");
		assert_contains(x->summary, "server error reading the vault's role assignments "
					    "after 2 retries");
		x = by_subject(&f, CHK_AZURE_ACCESS, "graph");
		assert_contains(x->summary, "unexpected status");
		assert_contains(x->summary, "HTTP 418");
		findings_free(&f);
	}
	/* no reads, switched off, bad arguments */
	assert_int_equal(chk_azure_access(NULL, 0, NULL, &f), 0);
	assert_int_equal(f.n, 0);
	assert_false(f.evaluated[CHK_AZURE_ACCESS]);
	{
		struct cfg_checks ck = defaults();
		struct azure_read r = {.op = AZOP_KV_KEY, .outcome = AZURE_READ_OK};

		ck.enabled[CHK_AZURE_ACCESS] = false;
		assert_int_equal(chk_azure_access(&r, 1, &ck, &f), 0);
		assert_int_equal(f.n, 0);
	}
	assert_int_equal(chk_azure_access(NULL, 1, NULL, &f), -EINVAL);
	findings_free(&f);
}

static void
test_atlas_values(void **state)
{
	static const char *good_guid[] = {"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f",
					  "B0C1D2E3-F405-4617-8829-3A4B5C6D7E8F"};
	static const char *bad_guid[] = {
		"",
		"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8",   /* short */
		"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8ff", /* long */
		"b0c1d2e3f405-4617-8829-3a4b5c6d7e8f0",  /* dash misplaced */
		"b0c1d2e3-f405-4617-8829-3a4b5c6d7e8g",  /* not hex */
		"x') or appId ne ('",                    /* a Graph key breakout */
		"b0c1d2e3-f405-4617-8829-3a4b5c6d/../",
	};
	static const char *good_vault[] = {"contoso-kv", "abc", "A1-b2-C3", "a23456789012345678901234"};
	static const char *bad_vault[] = {"ab", "a234567890123456789012345", "1abc", "ab-", "a--b",
					  "a.b", "evil/../x", "a b", ""};
	static const char *good_rg[] = {"rg-atlas-cmk", "RG_1.(prod)", "a"};
	static const char *bad_rg[] = {"", "rg.", "rg/../other", "rg?x=1", "rg%2f", "r g", "rg#",
				       "\xc3\xa9t\xc3\xa9"};
	static const char *good_id[] = {
		"/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg/providers/"
		"Microsoft.KeyVault/vaults/contoso-kv"};
	static const char *bad_id[] = {
		"", "subscriptions/x", "/subscriptions/x/../y", "/subscriptions/x//y",
		"/subscriptions/x/", "/subscriptions/x?api-version=1", "/subscriptions/./x",
		"https://evil.example/subscriptions/x", "/SUBSCRIPTIONS/x y"};
	char rg91[92];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good_guid); i++)
		assert_null(azure_check_guid(good_guid[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_guid); i++)
		if (azure_check_guid(bad_guid[i]) == NULL)
			fail_msg("GUID \"%s\" accepted", bad_guid[i]);
	assert_non_null(azure_check_guid(NULL));
	for (size_t i = 0; i < ARRAY_SIZE(good_vault); i++)
		assert_null(azure_check_vault_name(good_vault[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_vault); i++)
		if (azure_check_vault_name(bad_vault[i]) == NULL)
			fail_msg("vault \"%s\" accepted", bad_vault[i]);
	for (size_t i = 0; i < ARRAY_SIZE(good_rg); i++)
		assert_null(azure_check_resource_group(good_rg[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_rg); i++)
		if (azure_check_resource_group(bad_rg[i]) == NULL)
			fail_msg("resource group \"%s\" accepted", bad_rg[i]);
	memset(rg91, 'r', 91);
	rg91[91] = '\0';
	assert_non_null(azure_check_resource_group(rg91));
	rg91[90] = '\0';
	assert_null(azure_check_resource_group(rg91));
	for (size_t i = 0; i < ARRAY_SIZE(good_id); i++)
		assert_null(azure_check_arm_id(good_id[i]));
	for (size_t i = 0; i < ARRAY_SIZE(bad_id); i++)
		if (azure_check_arm_id(bad_id[i]) == NULL)
			fail_msg("ARM id \"%s\" accepted", bad_id[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cloud_names),
		cmocka_unit_test(test_endpoints_table),
		cmocka_unit_test(test_endpoints_unknown),
		cmocka_unit_test(test_endpoints_overrides_keep_audience),
		cmocka_unit_test(test_endpoints_overrides_public_hosts),
		cmocka_unit_test(test_endpoints_bad_overrides),
		cmocka_unit_test(test_token_ok),
		cmocka_unit_test(test_token_errors),
		cmocka_unit_test(test_token_classify_direct),
		cmocka_unit_test(test_token_malformed),
		cmocka_unit_test(test_graph_app),
		cmocka_unit_test(test_graph_app_list),
		cmocka_unit_test(test_graph_app_malformed),
		cmocka_unit_test(test_kv_key),
		cmocka_unit_test(test_kv_versions),
		cmocka_unit_test(test_kv_malformed),
		cmocka_unit_test(test_iso_duration),
		cmocka_unit_test(test_rotation_policy),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_vault),
		cmocka_unit_test(test_vault_malformed),
		cmocka_unit_test(test_role_assignments),
		cmocka_unit_test(test_control_plane),
		cmocka_unit_test(test_node_ips),
		cmocka_unit_test(test_key_id_ok),
		cmocka_unit_test(test_key_id_bad),
		cmocka_unit_test(test_atlas_values),
		cmocka_unit_test(test_secret_hint_edges),
		cmocka_unit_test(test_secret_hint_collision),
		cmocka_unit_test(test_secret_no_hint),
		cmocka_unit_test(test_secret_service_principal),
		cmocka_unit_test(test_secret_graph_unread),
		cmocka_unit_test(test_secret_application_missing),
		cmocka_unit_test(test_secret_secretless),
		cmocka_unit_test(test_key_identifier),
		cmocka_unit_test(test_key_identifier_vault_missing),
		cmocka_unit_test(test_key_state),
		cmocka_unit_test(test_key_age),
		cmocka_unit_test(test_key_version),
		cmocka_unit_test(test_key_version_pages),
		cmocka_unit_test(test_allowlist_deny),
		cmocka_unit_test(test_allowlist_ipv6_and_incomplete),
		cmocka_unit_test(test_allowlist_modes),
		cmocka_unit_test(test_control_plane_ips),
		cmocka_unit_test(test_permissions_policies),
		cmocka_unit_test(test_permissions_rbac),
		cmocka_unit_test(test_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
