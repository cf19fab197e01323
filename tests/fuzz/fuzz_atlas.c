/* SPDX-License-Identifier: ISC */
/*
 * fuzz_atlas — libFuzzer harness for the Atlas response parsers: the
 * encryptionAtRest body (and, when it parses, the fingerprint, the key id
 * and the ear.* checks with their fingerprint diff), clusters pages (merged
 * and judged by ear.clusters), Cloud Provider Access (with ear.role against
 * the parsed EAR), the control-plane address list (its outbound CIDRs and
 * atlas.control_plane_ips), project listing pages of discover: (into a
 * set, the effective project list against a fixed config, the diff of two
 * lists, the saved document read back), ApiError bodies and OAuth token
 * answers. Every input is untrusted network data; the only
 * atlas.control_plane_ips), kmswatch's own service account (the group's orgId,
 * the secrets, atlas.credential_expiry), ApiError bodies and OAuth token answers. Every input is untrusted network data; the only
 * acceptable outcomes are a result or an error code.
 *
 * Built by `make fuzzers` (./configure CC=clang --enable-fuzzers); see
 * tests/fuzz/README for running it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atlas.h"
#include "atlas_checks.h"
#include "checks.h"
#include "config.h"
#include "discovery.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A previous state to diff against, so ear.config's comparison of two
 * fingerprints is exercised on every parsed input. */
static const char prev_fp[] = "provider=azure\n"
			      "azureEnvironment=AZURE\n"
			      "clientID=b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f\n"
			      "keyIdentifier=https://contoso-kv.vault.azure.net/keys/k/v1\n"
			      "roleId=65a1b2c3d4e5f60718293a4b\n"
			      "junk line without equals\n"
			      "=\n";

/* The effective list of a listed set against a config with one listed
 * project and filters, its diff with the empty list, and the saved
 * document, which must load again. */
static void
fuzz_discovery(const struct disc_source *src)
{
	static const char yaml[] = "atlas:\n  service_account:\n    client_id: x\n"
				   "    client_secret: s\n"
				   "discover:\n  include: [\"^[a-m]\", \"^p\"]\n"
				   "  exclude: [\"-sandbox$\"]\n"
				   "projects:\n  - id: 65a1b2c3d4e5f60718293a00\n";
	static struct config *cfg;
	struct disc_view v = {0}, none = {0};
	struct disc_change *ch = NULL;
	struct disc_source *back = NULL;
	char *json = NULL, err[160];
	size_t n = 0, len = 0;

	if (!cfg) {
		struct cfg_diag d = {0};

		if (cfg_load_buffer(NULL, yaml, sizeof(yaml) - 1, &cfg, &d) < 0)
			abort();
		cfg_diag_free(&d);
	}
	if (disc_view_build(&none, cfg, NULL, 0) == 0 && disc_view_build(&v, cfg, src, 1) == 0 &&
	    disc_view_diff(&none, &v, &ch, &n) == 0)
		free(ch);
	disc_view_free(&v);
	disc_view_free(&none);
	if (disc_save(src, 1, &json, &len) == 0) {
		/* what we wrote ourselves always loads */
		if (disc_load(json, len, &back, &n, err, sizeof(err)) != 0)
			abort();
		for (size_t i = 0; i < n; i++)
			disc_source_free(&back[i]);
		free(back);
		free(json);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: any read past `size` is caught by ASan */
	char *body = malloc(size ? size : 1);
	struct atlas_ear ear;
	struct atlas_error e;
	char err[128], *token = NULL;
	int64_t expires;

	if (body == NULL)
		return 0;
	memcpy(body, data, size);

	if (atlas_parse_ear(body, size, &ear, err, sizeof(err)) == 0) {
		struct ear_memory prev = {.fingerprint = (char *)prev_fp,
					  .key_id = (char *)"https://contoso-kv.vault.azure.net/"
							    "keys/k/v1",
					  .key_first_seen = 1};
		struct ear_memory next = {0};
		struct findings out = {0};
		char *fp = atlas_ear_fingerprint(&ear);
		const char *key = atlas_ear_key_id(&ear);

		if (key != NULL)
			(void)strlen(key);
		free(fp);
		(void)atlas_ear_enabled_provider(&ear);
		if (chk_ear(&ear, PROV_AZURE, NULL, &prev, 1000, &out, &next) == 0) {
			/* and once more against what was just remembered */
			struct ear_memory again = {0};

			findings_free(&out);
			chk_ear(&ear, PROV_NONE, NULL, &next, 2000, &out, &again);
			ear_memory_free(&again);
		}
		findings_free(&out);
		ear_memory_free(&next);
		atlas_ear_free(&ear);
	}

	{
		struct atlas_clusters page = {0}, all = {0};
		struct findings out = {0};

		if (atlas_parse_clusters(body, size, &page, err, sizeof(err)) == 0) {
			(void)atlas_clusters_more(&page, 1, 500);
			if (atlas_clusters_merge(&all, &page) == 0)
				chk_ear_clusters(&all, PROV_AZURE, NULL, &out);
			else
				atlas_clusters_free(&page);
			atlas_clusters_free(&all);
			findings_free(&out);
		} else {
			atlas_clusters_free(&page); /* a failed parse leaves nothing, or this leaks */
		}
	}
	{
		/* EAR private endpoints, judged for a project that needs them */
		struct atlas_ear_pes page = {0}, all = {0};
		struct atlas_ear pe_ear = {0};
		struct findings out = {0};

		pe_ear.azure.enabled = TRI_TRUE;
		pe_ear.azure.require_private_networking = TRI_TRUE;
		if (atlas_parse_ear_private_endpoints(body, size, &page, err, sizeof(err)) == 0) {
			(void)atlas_page_more(page.n, page.has_next_link, page.has_total_count,
					      page.total_count, 1, ATLAS_PE_PER_PAGE);
			if (atlas_ear_pes_merge(&all, &page) == 0)
				chk_ear_private_endpoint(&pe_ear, &all, 0, NULL, NULL, &out);
			else
				atlas_ear_pes_free(&page);
			atlas_ear_pes_free(&all);
			findings_free(&out);
		} else {
			atlas_ear_pes_free(&page);
		}
	}
	{
		/* Atlas's events, judged for each provider */
		struct atlas_events page = {0}, all = {0};
		struct findings out = {0};

		if (atlas_parse_events(body, size, &page, err, sizeof(err)) == 0) {
			if (atlas_events_merge(&all, &page) == 0) {
				chk_atlas_events(&all, PROV_AZURE, 1800000000, NULL, &out);
				chk_atlas_events(&all, PROV_AWS, 1800000000, NULL, &out);
			} else {
				atlas_events_free(&page);
			}
			atlas_events_free(&all);
			findings_free(&out);
		} else {
			atlas_events_free(&page);
		}
	}
	{
		/* a page of GET /groups, as discover: merges it */
		struct atlas_groups page = {0};
		struct disc_source src = {.known = true};

		if (atlas_parse_groups(body, size, &page, err, sizeof(err)) == 0) {
			(void)atlas_page_more(page.n, page.has_next_link, page.has_total_count,
					      page.total_count, 1, ATLAS_GROUPS_PER_PAGE);
			if (disc_set_add_page(&src.set, &page) == 0)
				fuzz_discovery(&src);
		}
		atlas_groups_free(&page);
		disc_source_free(&src);
		/* kmswatch's own service account: the group's orgId, the
		 * secrets, the pick (with a configured secret) and the check */
		struct atlas_sa sa = {0};
		struct cred_memory mem = {0};
		struct findings out = {0};
		char *org = NULL;

		if (atlas_parse_group_org(body, size, &org, err, sizeof(err)) == 0)
			free(org);
		if (atlas_parse_service_account(body, size, &sa, err, sizeof(err)) == 0) {
			struct cred_input in = {.client_id = "mdb_sa_id_0123456789abcdef01234567",
						.org_id = "5f1a2b3c4d5e6f7081920a1b",
						.sa = &sa,
						.secret = "mdb_sa_sk_S3cr3t-7f1e2d"};
			enum cred_rule rule;

			(void)cred_pick(&sa, NULL, &rule);
			if (chk_atlas_credential_expiry(&in, NULL, NULL, 1800000000, &out, &mem) == 0) {
				in.sa = NULL;
				in.failure = CRED_READ_DENIED;
				in.error = "HTTP 403";
				chk_atlas_credential_expiry(&in, &mem, NULL, 1800000000, &out, &mem);
			}
			cred_memory_free(&mem);
			findings_free(&out);
		}
		atlas_sa_free(&sa);
	}
	{
		struct atlas_cpa cpa = {0};
		struct atlas_ear role_ear = {0};
		struct findings out = {0};
		static const char ear_doc[] =
			"{\"azureKeyVault\":{\"enabled\":true,\"roleId\":"
			"\"65a1b2c3d4e5f60718293a4b\"},\"awsKms\":{\"enabled\":false},"
			"\"googleCloudKms\":{\"enabled\":false}}";

		if (atlas_parse_cloud_provider_access(body, size, &cpa, err, sizeof(err)) == 0) {
			if (atlas_parse_ear(ear_doc, sizeof(ear_doc) - 1, &role_ear, err,
					    sizeof(err)) == 0) {
				chk_ear_role(&role_ear, &cpa, NULL, &out);
				atlas_ear_free(&role_ear);
			}
			findings_free(&out);
		}
		atlas_cpa_free(&cpa);
	}
	{
		struct atlas_control_plane cp = {0};
		const char **cidrs = NULL;
		size_t n = 0;

		if (atlas_parse_control_plane(body, size, &cp, err, sizeof(err)) == 0) {
			if (atlas_control_plane_outbound(&cp, true, &cidrs, &n) == 0) {
				struct cp_memory next = {0};
				struct findings out = {0};

				chk_atlas_control_plane_ips(cidrs, n, NULL, 0, NULL, 1000, &out,
							    &next);
				cp_memory_free(&next);
				findings_free(&out);
				free(cidrs);
			}
		}
		atlas_control_plane_free(&cp);
	}

	if (atlas_parse_error(body, size, &e) == 0 || e.error != 0) {
		struct atlas_fetch f = {.outcome = ATLAS_FETCH_HTTP, .http_status = e.error,
					.error = &e};
		struct findings out = {0};

		chk_atlas_access(&f, &out);
		findings_free(&out);
	}

	if (atlas_parse_token(body, size, &token, &expires, err, sizeof(err)) == 0)
		util_free_secret(token);

	free(body);
	return 0;
}
