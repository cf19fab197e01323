/* SPDX-License-Identifier: ISC */
/*
 * test_discovery — discover:'s pure parts: a GET /groups page
 * (atlas_parse_groups, atlas_groups_url), the sets and the include/exclude
 * filter, the effective project list (listed first with their settings,
 * discovered with the defaults, each id once), what changed between two
 * lists, the discover.json document, and the atlas.access finding of a
 * failed listing. Also the scale: 10,000 projects merged and compared.
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
#include <time.h>

#include "atlas.h"
#include "checks.h"
#include "config.h"
#include "discovery.h"
#include "util.h"

#define UNUSED __attribute__((unused))
#define ATLAS                                                                                      \
	"atlas:\n"                                                                                 \
	"  service_account:\n"                                                                     \
	"    client_id: mdb_sa_id_x\n"                                                             \
	"    client_secret: plain-s3cr3t-value\n"

#define G1 "65a1b2c3d4e5f60718293a01"
#define G2 "65a1b2c3d4e5f60718293a02"
#define G3 "65a1b2c3d4e5f60718293a03"
#define ORG "5f1a2b3c4d5e6f7081920a1b"

static struct config *
load(const char *yaml)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d);

	for (size_t i = 0; i < d.n; i++)
		print_message("diag: %s\n", d.lines[i]);
	assert_int_equal(r, 0);
	cfg_diag_free(&d);
	return cfg;
}

static int
parse(const char *body, struct atlas_groups *g, char *err, size_t errlen)
{
	memset(g, 0, sizeof(*g));
	return atlas_parse_groups(body, strlen(body), g, err, errlen);
}

/* ---- a page ---------------------------------------------------------- */

static void
test_parse_page(void **state UNUSED)
{
	struct atlas_groups g;
	char err[200];

	assert_int_equal(parse("{\"links\":[{\"href\":\"https://cloud.mongodb.com/api/atlas/v2/"
			       "groups?pageNum=2&itemsPerPage=2\",\"rel\":\"next\"}],"
			       "\"results\":[{\"id\":\"65A1B2C3D4E5F60718293A01\",\"name\":\"prod-a\","
			       "\"orgId\":\"" ORG "\",\"clusterCount\":3},"
			       "{\"id\":\"" G2 "\",\"name\":\"line\\nbreak\"},"
			       "{\"id\":\"" G3 "\",\"name\":\"\"}],\"totalCount\":5}",
			       &g, err, sizeof(err)),
			 0);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.v[0].id, G1); /* lower-cased */
	assert_string_equal(g.v[0].name, "prod-a");
	assert_string_equal(g.v[0].org_id, ORG);
	assert_string_equal(g.v[1].name, "line break"); /* one line in logs */
	assert_null(g.v[2].name);                       /* empty: the id stands in */
	assert_true(g.has_next_link);
	assert_true(g.has_total_count);
	assert_int_equal(g.total_count, 5);
	assert_true(atlas_page_more(g.n, g.has_next_link, g.has_total_count, g.total_count, 1,
				    ATLAS_GROUPS_PER_PAGE));
	atlas_groups_free(&g);

	/* the last page: no next link, short */
	assert_int_equal(parse("{\"results\":[{\"id\":\"" G1 "\"}],\"totalCount\":1}", &g, err,
			       sizeof(err)),
			 0);
	assert_false(atlas_page_more(g.n, g.has_next_link, g.has_total_count, g.total_count, 1,
				     ATLAS_GROUPS_PER_PAGE));
	atlas_groups_free(&g);
	assert_int_equal(parse("{\"results\":[]}", &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 0);
	atlas_groups_free(&g);
}

static void
test_parse_page_refuses(void **state UNUSED)
{
	static const struct {
		const char *body, *err;
	} bad[] = {
		{"{\"totalCount\":0}", "no results array in the answer"},
		{"{\"results\":[{\"name\":\"x\"}]}", "results[0].id is missing"},
		{"{\"results\":[{\"id\":\"" G1 "\"},{\"id\":\"65a1\"}]}",
		 "results[1].id is not a project id (24 hex digits)"},
		{"{\"results\":[{\"id\":\"" G1 "\",\"name\":7}]}", "results[0].name"},
		{"{\"results\":[{\"id\":\"" G1 "\",\"id\":\"" G2 "\"}]}", "duplicate"},
		{"{\"results\":{}}", "results"},
		{"{\"results\":[],\"totalCount\":-1}", "totalCount is negative"},
		{"{\"results\":[],\"links\":[{\"rel\":1}]}", "links[0].rel"},
		{"[]", ""},
		{"{\"results\":[", ""},
	};
	struct atlas_groups g;
	char err[200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].body, &g, err, sizeof(err)) != -EBADMSG ||
		    strstr(err, bad[i].err) == NULL)
			fail_msg("%s: got \"%s\"", bad[i].body, err);
		assert_int_equal(g.n, 0);
		assert_null(g.v);
	}
}

static void
test_groups_url(void **state UNUSED)
{
	char *u;

	u = atlas_groups_url("https://cloud.mongodb.com/", NULL, 3, 500);
	assert_string_equal(u, "https://cloud.mongodb.com/api/atlas/v2/groups?pageNum=3&itemsPerPage=500");
	free(u);
	u = atlas_groups_url("https://cloud.mongodbgov.com", ORG, 1, 500);
	assert_string_equal(u, "https://cloud.mongodbgov.com/api/atlas/v2/orgs/" ORG
			       "/groups?pageNum=1&itemsPerPage=500");
	free(u);
	assert_null(atlas_groups_url("https://x", "../../etc", 1, 500));
	assert_null(atlas_groups_url("https://x", NULL, 0, 500));
	assert_null(atlas_groups_url("https://x", NULL, 1, 501));
	assert_null(atlas_groups_url("", NULL, 1, 1));
}

/* ---- sets and the filter ---------------------------------------------- */

static void
add_page(struct disc_set *s, const char *body)
{
	struct atlas_groups g;
	char err[200];

	assert_int_equal(parse(body, &g, err, sizeof(err)), 0);
	assert_int_equal(disc_set_add_page(s, &g), 0);
	assert_int_equal(g.n, 0);
}

static void
test_set_dedupes(void **state UNUSED)
{
	struct disc_set s = {0};

	add_page(&s, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"a\"},{\"id\":\"" G2
		     "\",\"name\":\"b\"}]}");
	/* pages that shifted under us list G2 again: kept once, as first seen */
	add_page(&s, "{\"results\":[{\"id\":\"" G2 "\",\"name\":\"b2\"},{\"id\":\"" G3 "\"}]}");
	assert_int_equal(disc_set_count(&s), 3);
	{
		struct disc_project *p;

		HASH_FIND_STR(s.by_id, G2, p);
		assert_non_null(p);
		assert_string_equal(p->name, "b");
		/* listing order is kept */
		assert_string_equal(s.by_id->id, G1);
	}
	disc_set_free(&s);
	assert_int_equal(disc_set_count(&s), 0);
}

static void
test_filter(void **state UNUSED)
{
	struct config *cfg = load(ATLAS "discover:\n  include: [\"^prod-\", \"^stage-\"]\n"
					"  exclude: [\"-sandbox$\", \"^prod-legacy\"]\n");
	const struct cfg_discover *d = &cfg->discover;

	assert_true(disc_wanted(d, "prod-payments"));
	assert_true(disc_wanted(d, "stage-x"));
	assert_false(disc_wanted(d, "dev-x"));
	assert_false(disc_wanted(d, "prod-x-sandbox"));
	assert_false(disc_wanted(d, "prod-legacy-1"));
	assert_false(disc_wanted(d, NULL));
	cfg_free(cfg);
	cfg = load(ATLAS "discover:\n  exclude: [\"sandbox\"]\n");
	assert_true(disc_wanted(&cfg->discover, "anything"));
	assert_false(disc_wanted(&cfg->discover, "my-sandbox-2"));
	cfg_free(cfg);
	cfg = load(ATLAS "discover: {}\n");
	assert_true(disc_wanted(&cfg->discover, "x"));
	cfg_free(cfg);
}

/* ---- the view ----------------------------------------------------------- */

static struct disc_source
source(const char *org, const char *body)
{
	struct disc_source s = {.known = true, .listed_at = 1000};

	s.org_id = util_strdup(org);
	add_page(&s.set, body);
	return s;
}

static void
test_view(void **state UNUSED)
{
	struct config *cfg = load(ATLAS "discover:\n  exclude: [\"-sandbox$\"]\n"
					"checks:\n  key_age: {warning: 10d, critical: 20d}\n"
					"projects:\n  - id: " G2 "\n    name: mine\n"
					"    expect_provider: aws\n");
	struct disc_source src[2] = {
		source(NULL, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"a\"},{\"id\":\"" G2
			     "\",\"name\":\"atlas-name\"},{\"id\":\"" G3 "\",\"name\":\"c-sandbox\"}]}"),
		source(ORG, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"a-again\"},"
			    "{\"id\":\"65a1b2c3d4e5f60718293a04\"}]}"),
	};
	struct disc_view v;
	const struct cfg_project *p;
	bool listed = false;

	assert_int_equal(disc_view_build(&v, cfg, src, 2), 0);
	assert_int_equal(v.cfg.n_projects, 3);
	assert_int_equal(v.n_listed, 1);
	assert_int_equal(v.n_filtered, 1);
	/* the listed one first, with its own settings, once */
	assert_string_equal(v.cfg.projects[0].id, G2);
	assert_string_equal(v.cfg.projects[0].name, "mine");
	assert_int_equal(v.cfg.projects[0].expect_provider, PROV_AWS);
	/* then the discovered ones, listing order, the defaults */
	assert_string_equal(v.cfg.projects[1].id, G1);
	assert_string_equal(v.cfg.projects[1].name, "a");
	assert_int_equal(v.cfg.projects[1].expect_provider, PROV_NONE);
	for (size_t i = 0; i < PROV__COUNT; i++)
		assert_null(v.cfg.projects[1].block[i]);
	assert_int_equal(v.cfg.projects[1].checks.key_age.warning, 10 * 86400);
	/* no name: the id */
	assert_string_equal(v.cfg.projects[2].name, "65a1b2c3d4e5f60718293a04");
	/* everything else is the base's */
	assert_ptr_equal(v.cfg.atlas.base_url, cfg->atlas.base_url);
	assert_int_equal(v.cfg.poll_interval, cfg->poll_interval);
	p = disc_view_find(&v, G2, &listed);
	assert_ptr_equal(p, &v.cfg.projects[0]);
	assert_true(listed);
	p = disc_view_find(&v, G1, &listed);
	assert_false(listed);
	assert_null(disc_view_find(&v, G3, NULL));
	disc_view_free(&v);
	disc_source_free(&src[0]);
	disc_source_free(&src[1]);
	cfg_free(cfg);
}

static void
test_diff(void **state UNUSED)
{
	struct config *cfg = load(ATLAS "discover: {}\nprojects:\n  - id: " G3 "\n");
	struct disc_source a =
		source(NULL, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"one\"},{\"id\":\"" G2
			     "\",\"name\":\"two\"}]}");
	struct disc_source b =
		source(NULL, "{\"results\":[{\"id\":\"" G2 "\",\"name\":\"two-renamed\"},{\"id\":\"" G3
			     "\"},{\"id\":\"65a1b2c3d4e5f60718293a04\",\"name\":\"four\"}]}");
	struct disc_view v1, v2, v0;
	struct disc_change *ch;
	size_t n;

	assert_int_equal(disc_view_build(&v0, cfg, NULL, 0), 0);
	assert_int_equal(disc_view_build(&v1, cfg, &a, 1), 0);
	assert_int_equal(disc_view_build(&v2, cfg, &b, 1), 0);
	/* nothing watched before: everything discovered is new */
	assert_int_equal(disc_view_diff(NULL, &v1, &ch, &n), 0);
	assert_int_equal(n, 2);
	free(ch);
	assert_int_equal(disc_view_diff(&v0, &v1, &ch, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(ch[0].kind, DISC_ADDED);
	free(ch);
	assert_int_equal(disc_view_diff(&v1, &v1, &ch, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ch);
	/* G1 gone, G2 renamed, G4 new; G3 is listed in both: no change */
	assert_int_equal(disc_view_diff(&v1, &v2, &ch, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(ch[0].kind, DISC_RENAMED);
	assert_string_equal(ch[0].p->name, "two-renamed");
	assert_string_equal(ch[0].old_name, "two");
	assert_int_equal(ch[1].kind, DISC_ADDED);
	assert_string_equal(ch[1].p->name, "four");
	assert_int_equal(ch[2].kind, DISC_REMOVED);
	assert_string_equal(ch[2].p->id, G1);
	free(ch);
	disc_view_free(&v0);
	disc_view_free(&v1);
	disc_view_free(&v2);
	disc_source_free(&a);
	disc_source_free(&b);
	cfg_free(cfg);
}

static void
test_keep(void **state UNUSED)
{
	struct config *cfg = load(ATLAS "discover: {}\nprojects:\n  - id: " G3 "\n    name: l\n");
	struct disc_source a =
		source(NULL, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"one\"},{\"id\":\"" G2
			     "\",\"name\":\"two\"}]}");
	const char *want[] = {"two", G3}, *bad[] = {"two", "zzz"}, *unknown;
	struct disc_view v;

	assert_int_equal(disc_view_build(&v, cfg, &a, 1), 0);
	assert_int_equal(disc_view_keep(&v, bad, 2, &unknown), -ENOENT);
	assert_string_equal(unknown, "zzz");
	assert_int_equal(v.cfg.n_projects, 3);
	assert_int_equal(disc_view_keep(&v, want, 2, &unknown), 0);
	assert_int_equal(v.cfg.n_projects, 2);
	assert_int_equal(v.n_listed, 1);
	assert_string_equal(v.cfg.projects[1].name, "two");
	assert_non_null(disc_view_find(&v, G2, NULL));
	assert_null(disc_view_find(&v, G1, NULL));
	disc_view_free(&v);
	disc_source_free(&a);
	cfg_free(cfg);
}

/* ---- the state document ------------------------------------------------- */

static void
test_save_load(void **state UNUSED)
{
	struct disc_source src[3] = {
		source(NULL, "{\"results\":[{\"id\":\"" G1 "\",\"name\":\"one\",\"orgId\":\"" ORG
			     "\"},{\"id\":\"" G2 "\"}]}"),
		source(ORG, "{\"results\":[]}"),
		{.org_id = util_strdup("6a7b8c9d0e1f2a3b4c5d6e7f")}, /* never listed */
	};
	struct disc_source *back = NULL;
	size_t n = 0, len = 0;
	char *json = NULL, err[160];
	struct disc_project *p;

	assert_int_equal(disc_save(src, 3, &json, &len), 0);
	assert_int_equal(disc_load(json, len, &back, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2); /* the unknown source is not saved */
	assert_null(back[0].org_id);
	assert_true(back[0].known);
	assert_int_equal(back[0].listed_at, 1000);
	assert_int_equal(disc_set_count(&back[0].set), 2);
	HASH_FIND_STR(back[0].set.by_id, G1, p);
	assert_non_null(p);
	assert_string_equal(p->name, "one");
	assert_string_equal(p->org_id, ORG);
	assert_string_equal(back[1].org_id, ORG);
	assert_int_equal(disc_set_count(&back[1].set), 0);
	for (size_t i = 0; i < n; i++)
		disc_source_free(&back[i]);
	free(back);
	free(json);
	for (size_t i = 0; i < 3; i++)
		disc_source_free(&src[i]);
}

static void
test_load_refuses(void **state UNUSED)
{
	static const struct {
		const char *doc, *err;
	} bad[] = {
		{"", "line"},
		{"{\"version\":2,\"sources\":[]}", "not a version 1"},
		{"{\"version\":1}", "not a version 1"},
		{"{\"version\":1,\"sources\":[1]}", "sources[0] is not an object"},
		{"{\"version\":1,\"sources\":[{\"org_id\":\"x\",\"projects\":[]}]}",
		 "sources[0].org_id is not an organization id"},
		{"{\"version\":1,\"sources\":[{\"org_id\":null}]}", "sources[0].projects is missing"},
		{"{\"version\":1,\"sources\":[{\"projects\":[{\"id\":\"bad\"}]}]}",
		 "sources[0].projects[0].id is not a project id"},
		{"{\"version\":1,\"sources\":[{\"projects\":[{\"id\":\"" G1 "\",\"name\":1}]}]}",
		 "name"},
		{"{\"version\":1,\"sources\":[{\"projects\":[]},{\"projects\":[]}]}",
		 "sources[1] repeats sources[0]"},
		{"{\"version\":1,\"version\":1,\"sources\":[]}", "duplicate"},
	};
	struct disc_source *v;
	size_t n;
	char err[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (disc_load(bad[i].doc, strlen(bad[i].doc), &v, &n, err, sizeof(err)) !=
			    -EBADMSG ||
		    strstr(err, bad[i].err) == NULL)
			fail_msg("%s: got \"%s\"", bad[i].doc, err);
		assert_null(v);
		assert_int_equal(n, 0);
	}
}

/* ---- atlas.access of a listing ------------------------------------------ */

static void
test_access_finding(void **state UNUSED)
{
	struct atlas_error e = {.error = 403, .error_code = "USER_UNAUTHORIZED",
				.detail = "not allowed"};
	struct atlas_fetch f403 = {.outcome = ATLAS_FETCH_HTTP, .http_status = 403, .error = &e};
	struct atlas_fetch bad = {.outcome = ATLAS_FETCH_BAD_BODY, .http_status = 200,
				  .detail = "page 2: results[0].id is missing"};
	struct atlas_fetch ok = {.outcome = ATLAS_FETCH_OK, .http_status = 200};
	struct findings f = {0};

	assert_int_equal(chk_discovery_access(&f403, ORG, 12, &f), 0);
	assert_int_equal(chk_discovery_access(&bad, NULL, 1, &f), 0);
	assert_int_equal(chk_discovery_access(&ok, NULL, 1, &f), 0);
	assert_true(f.evaluated[CHK_ATLAS_ACCESS]);
	assert_int_equal(f.n, 3);
	assert_int_equal(f.v[0].severity, SEV_UNKNOWN);
	assert_string_equal(f.v[0].subject, "org:" ORG);
	assert_non_null(strstr(f.v[0].summary, "403 USER_UNAUTHORIZED: not allowed"));
	assert_non_null(strstr(f.v[0].summary, "the projects of organization " ORG));
	assert_non_null(strstr(f.v[0].summary, "keeps watching the 12 projects it listed last"));
	assert_non_null(strstr(f.v[0].summary, "Organization Read Only"));
	assert_string_equal(f.v[1].subject, "groups");
	assert_non_null(strstr(f.v[1].summary, "malformed page"));
	assert_non_null(strstr(f.v[1].summary, "the 1 project it listed last"));
	assert_int_equal(f.v[2].severity, SEV_OK);
	findings_free(&f);
	assert_int_equal(chk_discovery_access(NULL, NULL, 0, &f), -EINVAL);
}

/* ---- scale -------------------------------------------------------------- */

/* 10,000 projects in 20 pages of 500: merged, viewed and compared in O(n);
 * a quadratic merge would take seconds here, this takes milliseconds. */
static void
test_ten_thousand(void **state UNUSED)
{
	struct config *cfg = load(ATLAS "discover:\n  exclude: [\"9$\"]\n");
	struct disc_source a = {.known = true}, b = {.known = true};
	struct disc_view v1, v2;
	struct disc_change *ch;
	struct timespec t0, t1;
	size_t n;
	double ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int pg = 0; pg < 20; pg++) {
		struct strbuf body = {0};

		assert_int_equal(strbuf_printf(&body, "{\"results\":["), 0);
		for (int i = 0; i < 500; i++) {
			int k = pg * 500 + i;

			assert_int_equal(strbuf_printf(&body, "%s{\"id\":\"%024x\",\"name\":\"p-%d\"}",
						       i ? "," : "", k, k),
					 0);
		}
		assert_int_equal(strbuf_printf(&body, "]}"), 0);
		add_page(&a.set, body.s);
		/* the second listing lacks project 0 and has one more */
		if (pg == 0)
			add_page(&b.set, "{\"results\":[{\"id\":\"0000000000000000ffffffff\"}]}");
		add_page(&b.set, body.s);
		strbuf_free(&body);
	}
	{
		struct disc_project *p;

		HASH_FIND_STR(b.set.by_id, "000000000000000000000000", p);
		HASH_DEL(b.set.by_id, p);
		free(p->id);
		free(p->name);
		free(p);
	}
	assert_int_equal(disc_set_count(&a.set), 10000);
	assert_int_equal(disc_view_build(&v1, cfg, &a, 1), 0);
	assert_int_equal(disc_view_build(&v2, cfg, &b, 1), 0);
	assert_int_equal(v1.cfg.n_projects, 9000);
	assert_int_equal(v1.n_filtered, 1000);
	assert_int_equal(disc_view_diff(&v1, &v2, &ch, &n), 0);
	assert_int_equal(n, 2);
	free(ch);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("10,000 projects: parsed, merged, viewed twice and compared in %.1f ms\n",
		      ms);
	assert_true(ms < 2000);
	disc_view_free(&v1);
	disc_view_free(&v2);
	disc_source_free(&a);
	disc_source_free(&b);
	cfg_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_page),
		cmocka_unit_test(test_parse_page_refuses),
		cmocka_unit_test(test_groups_url),
		cmocka_unit_test(test_set_dedupes),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_view),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_keep),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_refuses),
		cmocka_unit_test(test_access_finding),
		cmocka_unit_test(test_ten_thousand),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
