/* SPDX-License-Identifier: ISC */
/*
 * fuzz_azure — libFuzzer harness for the Azure side: every parser of
 * lib/azure.h (Entra/IMDS tokens, Graph applications and lists, Key Vault
 * keys, versions pages and rotation policies, error bodies, ARM vaults and
 * role assignments, ISO 8601 durations, key identifiers), the Atlas
 * control-plane and ipAddresses parsers, CIDR parsing, endpoint overrides,
 * and the pure checks fed with whatever parsed. Every input is untrusted
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

#include "atlas.h"
#include "azure.h"
#include "azure_config.h"
#include "checks.h"
#include "cidr.h"
#include "config.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((time_t)1767225600)

static const char *const cp_fixed[] = {"198.51.100.40/32", "2001:db8::/32", "10.0.0.0/8"};

static void
empty_or_die(const void *p, size_t n)
{
	static const unsigned char zero[4096];

	/* a parse error leaves its struct empty (nothing to free) */
	if (n > sizeof(zero) || memcmp(p, zero, n) != 0)
		abort();
}

static void
fuzz_tokens(const char *body, size_t size)
{
	struct azure_token tok;
	struct azure_token_error te;
	char err[256];
	int r = azure_parse_token(body, size, &tok, &te, err, sizeof(err));

	if (r == 0) {
		if (tok.access_token == NULL || tok.expires_in <= 0)
			abort();
		azure_token_free(&tok);
	} else {
		empty_or_die(&tok, sizeof(tok));
		if (r == -EACCES) {
			(void)azure_token_advice(te.cause);
			if (te.n_codes > AZURE_TOKEN_MAX_CODES)
				abort();
		}
	}
}

static void
fuzz_graph(const char *body, size_t size, struct findings *f)
{
	struct azure_graph_app app;
	struct azure_graph_app_list list;
	char err[256];

	if (azure_parse_graph_app(body, size, &app, err, sizeof(err)) == 0) {
		struct azure_secret_input in = {
			.client_id = "631a96bc-a705-4eda-9f99-fdaf9f54f6a2",
			.app = &app,
			.sp = &app,
			.hint = (app.n_creds > 0 && app.creds[0].hint) ? app.creds[0].hint : NULL,
		};

		(void)chk_azure_secret_expiry(&in, NULL, NOW, f);
		in.hint = "abc";
		(void)chk_azure_secret_expiry(&in, NULL, NOW, f);
		in.hint = NULL;
		(void)chk_azure_secret_expiry(&in, NULL, NOW, f);
		azure_graph_app_free(&app);
	} else {
		empty_or_die(&app, sizeof(app));
	}
	if (azure_parse_graph_app_list(body, size, &list, err, sizeof(err)) == 0)
		azure_graph_app_list_free(&list);
	else
		empty_or_die(&list, sizeof(list));
}

static void
fuzz_key_vault(const char *body, size_t size, struct findings *f)
{
	static const char kid[] =
		"https://contoso-kv.vault.azure.net/keys/atlas-cmk/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
	struct azure_key_id pin;
	struct azure_kv_key key;
	struct azure_kv_versions vers;
	struct azure_rotation_policy pol;
	struct ear_memory mem = {.key_id = (char *)kid, .key_first_seen = NOW - 100 * 86400};
	bool have_key, have_pol;
	char err[256];

	if (azure_parse_key_id(kid, &pin, NULL, 0) != 0)
		abort();
	have_key = azure_parse_kv_key(body, size, &key, err, sizeof(err)) == 0;
	if (!have_key)
		empty_or_die(&key, sizeof(key));
	have_pol = azure_parse_rotation_policy(body, size, &pol, err, sizeof(err)) == 0;
	if (!have_pol)
		empty_or_die(&pol, sizeof(pol));
	if (azure_parse_kv_versions(body, size, &vers, err, sizeof(err)) == 0) {
		(void)chk_azure_key_version(&pin, have_key ? &key : NULL, vers.v, vers.n, NULL,
					    NOW, f);
		azure_kv_versions_free(&vers);
	} else {
		empty_or_die(&vers, sizeof(vers));
	}
	(void)chk_azure_key_state(&pin, have_key ? &key : NULL, !have_key, NULL, NOW, f);
	(void)chk_azure_key_age(&pin, have_key ? &key : NULL, &mem, have_pol ? &pol : NULL, NULL,
				NOW, f);
	if (have_key) {
		(void)chk_azure_key_version(&pin, &key, &key, 1, NULL, NOW, f);
		azure_kv_key_free(&key);
	}
	if (have_pol)
		azure_rotation_policy_free(&pol);
}

static void
fuzz_arm(const char *body, size_t size, struct findings *f)
{
	struct azure_vault vault;
	struct azure_role_assignments roles;
	struct azure_error e;
	bool have_vault, have_roles;
	char err[256];

	have_roles = azure_parse_role_assignments(body, size, &roles, err, sizeof(err)) == 0;
	if (!have_roles)
		empty_or_die(&roles, sizeof(roles));
	have_vault = azure_parse_vault(body, size, &vault, err, sizeof(err)) == 0;
	if (have_vault) {
		struct atlas_ip_addresses none = {0};
		struct azure_allowlist_input al = {
			.vault_name = "v",
			.vault = &vault,
			.control_plane = cp_fixed,
			.n_control_plane = 3,
			.have_control_plane = true,
			.nodes = &none,
		};
		struct azure_permissions_input perm = {
			.vault_name = "v",
			.vault = &vault,
			.principal_id = vault.n_policies > 0 && vault.policies[0].object_id
						? vault.policies[0].object_id
						: "9b0a0f3e-1111-4222-8333-444455556666",
			.key_name = "atlas-cmk",
			.roles = have_roles ? &roles : NULL,
		};

		(void)chk_azure_allowlist(&al, NULL, f);
		(void)chk_azure_permissions(&perm, NULL, f);
		vault.rbac = TRI_TRUE;
		(void)chk_azure_permissions(&perm, NULL, f);
		azure_vault_free(&vault);
	} else {
		empty_or_die(&vault, sizeof(vault));
	}
	if (have_roles)
		azure_role_assignments_free(&roles);
	if (azure_parse_error(body, size, &e) == 0) {
		struct azure_read rd[] = {
			{.op = AZOP_KV_KEY, .outcome = AZURE_READ_HTTP, .http_status = 403,
			 .error = &e},
			{.op = AZOP_ARM_VAULT, .outcome = AZURE_READ_HTTP, .http_status = 429,
			 .error = &e, .retries = 3},
			{.op = AZOP_GRAPH_APP, .outcome = AZURE_READ_HTTP, .http_status = 404,
			 .error = &e},
		};

		(void)chk_azure_access(rd, 3, NULL, f);
	}
}

static void
fuzz_atlas_ips(const char *body, size_t size, struct findings *f)
{
	struct atlas_control_plane cp;
	struct atlas_ip_addresses ips;
	const char **v = NULL;
	size_t n = 0;
	bool have_cp, have_ips;
	char err[256];

	have_ips = atlas_parse_ip_addresses(body, size, &ips, err, sizeof(err)) == 0;
	if (!have_ips)
		empty_or_die(&ips, sizeof(ips));
	have_cp = atlas_parse_control_plane(body, size, &cp, err, sizeof(err)) == 0;
	if (!have_cp)
		empty_or_die(&cp, sizeof(cp));
	if (have_cp && atlas_control_plane_outbound(&cp, true, &v, &n) == 0) {
		static char *rules[] = {(char *)"198.51.100.0/24", (char *)"::/1",
					(char *)"203.0.113.7"};
		struct azure_vault vault = {.public_access = AZPUB_ENABLED,
					    .default_action = AZNET_DENY,
					    .ip_rules = rules,
					    .n_ip_rules = 3};
		struct azure_allowlist_input al = {
			.vault_name = "v",
			.vault = &vault,
			.control_plane = v,
			.n_control_plane = n,
			.have_control_plane = true,
			.nodes = have_ips ? &ips : NULL,
		};
		struct cp_memory mem = {0};

		(void)chk_azure_allowlist(&al, NULL, f);
		if (chk_atlas_control_plane_ips(cp_fixed, 3, NULL, 0, NULL, NOW, f, &mem) == 0 &&
		    chk_atlas_control_plane_ips(v, n, &mem, 0, NULL, NOW + 1, f, &mem) == 0)
			(void)chk_atlas_control_plane_ips(cp_fixed, 2, &mem, 0, NULL, NOW + 2, f,
							  &mem);
		cp_memory_free(&mem);
		free(v);
	}
	if (have_cp)
		atlas_control_plane_free(&cp);
	if (have_ips)
		atlas_ip_addresses_free(&ips);
}

/* The input as text: key identifiers, CIDRs, durations, endpoints. */
static void
fuzz_strings(const char *s, struct findings *f)
{
	struct azure_key_id id;
	struct cidr c;
	struct azure_endpoints ep;
	unsigned flags;
	int64_t secs;
	char err[256], buf[CIDR_STRLEN], subj[200];

	if (azure_parse_key_id(s, &id, err, sizeof(err)) == 0) {
		azure_key_id_subject(&id, subj, sizeof(subj));
		if (!azure_key_id_equal(&id, &id))
			abort();
	}
	{
		struct atlas_azure_kv kv = {.key_identifier = (char *)s,
					    .key_vault_name = (char *)"contoso-kv",
					    .azure_environment = (char *)s};

		(void)chk_azure_key_identifier(&kv, NULL, NULL, NULL, f);
		(void)chk_azure_key_identifier(&kv, "vault.azure.net", NULL, NULL, f);
	}
	if (cidr_parse(s, &c, &flags) == 0) {
		struct cidr back;

		if (cidr_format(&c, buf, sizeof(buf)) != 0 || cidr_parse(buf, &back, NULL) != 0 ||
		    cidr_cmp(&c, &back) != 0 || !cidr_contains(&c, &back))
			abort();
	}
	(void)cidr_canonical(s, buf, sizeof(buf));
	(void)azure_parse_iso_duration(s, &secs);
	{
		struct cfg_azure_endpoints o = {.management = (char *)s, .graph = (char *)s,
						.vault_suffix = (char *)s};

		(void)azure_endpoints_resolve(s, &o, &ep, err, sizeof(err));
		o.vault_suffix = NULL;
		(void)azure_endpoints_resolve("AZURE", &o, &ep, err, sizeof(err));
	}
	{
		long long codes[1] = {7000222};

		(void)azure_token_classify(codes, 1, s);
		(void)azure_token_classify(NULL, 0, s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copies: any read past `size` is caught by ASan */
	char *body = malloc(size ? size : 1);
	char *text = malloc(size + 1);
	struct findings f = {0};

	if (body == NULL || text == NULL) {
		free(body);
		free(text);
		return 0;
	}
	memcpy(body, data, size);
	memcpy(text, data, size);
	text[size] = '\0';

	fuzz_tokens(body, size);
	fuzz_graph(body, size, &f);
	fuzz_key_vault(body, size, &f);
	fuzz_arm(body, size, &f);
	fuzz_atlas_ips(body, size, &f);
	fuzz_strings(text, &f);

	findings_free(&f);
	free(body);
	free(text);
	return 0;
}
