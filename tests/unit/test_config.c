/* SPDX-License-Identifier: ISC */
/*
 * test_config — lib/config.c: every class of problem with its exact
 * LINE:COLUMN, defaults, per-project merging, secret references and the
 * rule that no diagnostic ever carries a secret.
 */
#include <errno.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "azure_config.h"
#include "config.h"
#include "kms.h"
#include "util.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/data"
#endif

/* Six lines every test can start from; added lines start at line 7. */
#define ATLAS                                                                                      \
	"atlas:\n"                                                                                 \
	"  service_account:\n"                                                                     \
	"    client_id: mdb_sa_id_x\n"                                                             \
	"    client_secret: plain-s3cr3t-value\n"
#define PROJECT                                                                                    \
	"projects:\n"                                                                              \
	"  - id: 65a1b2c3d4e5f60718293a00\n"
#define BASE ATLAS PROJECT
#define PID2 "65a1b2c3d4e5f60718293a01"
#define UNUSED __attribute__((unused))

static char tmpdir[64];

/* ---- helpers ------------------------------------------------------------ */

static void
dump(const struct cfg_diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag: %s\n", d->lines[i]);
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool
has_line(const struct cfg_diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->lines[i], want) == 0)
			return true;
	return false;
}

/* The config must be refused with `want` among its diagnostics. */
static void
expect_line(const char *yaml, const char *want)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d);

	if (!has_line(&d, want)) {
		print_message("expected: %s\n", want);
		dump(&d);
	}
	assert_int_equal(r, -EINVAL);
	assert_null(cfg);
	assert_true(has_line(&d, want));
	cfg_diag_free(&d);
}

/* The config must be refused with a diagnostic that contains `want`. */
static void
expect_sub(const char *yaml, const char *want)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	bool found = false;
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d);

	for (size_t i = 0; i < d.n; i++)
		found = found || strstr(d.lines[i], want) != NULL;
	if (!found) {
		print_message("expected a line with: %s\n", want);
		dump(&d);
	}
	assert_int_equal(r, -EINVAL);
	assert_true(found);
	cfg_diag_free(&d);
}

/* The config must be refused with exactly one diagnostic, `want`. */
static void
expect_only(const char *yaml, const char *want)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d);

	if (d.n != 1 || strcmp(d.lines[0], want) != 0) {
		print_message("expected only: %s\n", want);
		dump(&d);
	}
	assert_int_equal(r, -EINVAL);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.lines[0], want);
	cfg_diag_free(&d);
}

static struct config *
load_ok(const char *yaml)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	int r = cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d);

	if (r != 0)
		dump(&d);
	assert_int_equal(r, 0);
	assert_int_equal(d.n, 0);
	assert_non_null(cfg);
	cfg_diag_free(&d);
	return cfg;
}

/* A file of the source tree: TEST_DATA_DIR is $(abs_top_srcdir)/tests/unit/data. */
static char *
srcdir_path(const char *rel)
{
	static const char data[] = "tests/unit/data";
	size_t n = strlen(TEST_DATA_DIR);
	char *p;

	if (n >= sizeof(data) - 1 && strcmp(TEST_DATA_DIR + n - (sizeof(data) - 1), data) == 0)
		n -= sizeof(data) - 1;
	else
		n = 0; /* not the layout we know: relative to the working directory */
	p = util_asprintf("%.*s%s", (int)n, TEST_DATA_DIR, rel);
	assert_non_null(p);
	return p;
}

static char *
tmp_path(const char *name)
{
	char *p = util_asprintf("%s/%s", tmpdir, name);

	assert_non_null(p);
	return p;
}

static char *
write_file(const char *name, const char *content, mode_t mode)
{
	char *p = tmp_path(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	return p;
}

static int
group_setup(void **state UNUSED)
{
	char *creds;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_config.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	creds = util_asprintf("%s/creds", tmpdir);
	if (creds == NULL || mkdir(creds, 0700) < 0)
		return -1;
	free(creds);
	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("STATE_DIRECTORY");
	unsetenv("AZURE_FEDERATED_TOKEN_FILE");
	return 0;
}

static void
rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char *p;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = util_asprintf("%s/%s", dir, e->d_name);
		if (p != NULL && unlink(p) < 0)
			rm_tree(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
}

static int
group_teardown(void **state UNUSED)
{
	rm_tree(tmpdir);
	return 0;
}

/* ---- problem classes ---------------------------------------------------- */

static void
test_syntax_error(void **state UNUSED)
{
	expect_only(BASE "poll_interval: [5m\n",
		    "<config>:8:1: YAML syntax error: did not find expected ',' or ']' "
		    "(while parsing a flow sequence at line 7, column 16)");
	expect_only("atlas:\n  base_url: x\n bad: 1\n",
		    "<config>:3:2: YAML syntax error: did not find expected key "
		    "(while parsing a block mapping at line 1, column 1)");
	expect_only("atlas: \"unterminated\n",
		    "<config>:2:1: YAML syntax error: found unexpected end of stream "
		    "(while scanning a quoted scalar at line 1, column 8)");
	expect_only("atlas:\n\tbase_url: x\n",
		    "<config>:2:1: YAML syntax error: found character that cannot start any "
		    "token (while scanning for the next token at line 2, column 1)");
}

static void
test_unknown_key(void **state UNUSED)
{
	expect_only(BASE "pol_interval: 5m\n",
		    "<config>:7:1: unknown key \"pol_interval\"; did you mean \"poll_interval\"?");
	expect_only(BASE "    nmae: x\n",
		    "<config>:7:5: projects[0]: unknown key \"nmae\"; did you mean \"name\"?");
	expect_only(BASE "frobnicate: 1\n", "<config>:7:1: unknown key \"frobnicate\"");
	expect_only(BASE "checks:\n  key_age: {warnig: 80d}\n",
		    "<config>:8:13: checks.key_age: unknown key \"warnig\"; did you mean "
		    "\"warning\"?");
	/* case differences count as typos, not as the key */
	expect_only(BASE "Poll_Interval: 5m\n",
		    "<config>:7:1: unknown key \"Poll_Interval\"; did you mean \"poll_interval\"?");
	/* keys are names, not structures */
	expect_only(BASE "? [a, b]\n: 1\n", "<config>:7:3: expected a key name, got a list");
}

static void
test_wrong_type(void **state UNUSED)
{
	expect_only(BASE "poll_interval: {a: 1}\n",
		    "<config>:7:16: poll_interval: expected a duration, got a mapping");
	expect_only("atlas: [a]\n" PROJECT, "<config>:1:8: atlas: expected a mapping, got a list");
	expect_only(ATLAS "projects: {id: x}\n",
		    "<config>:5:11: projects: expected a list, got a mapping");
	expect_only(BASE "alerts:\n  send_resolved: maybe\n",
		    "<config>:8:18: alerts.send_resolved: not a boolean: \"maybe\" (expected true "
		    "or false)");
	expect_only(BASE "alerts:\n  send_resolved: [true]\n",
		    "<config>:8:18: alerts.send_resolved: expected true or false, got a list");
	expect_only(BASE "http:\n  max_concurrent: lots\n",
		    "<config>:8:19: http.max_concurrent: not an integer: \"lots\"");
	expect_only(BASE "http:\n  max_concurrent: 1.5\n",
		    "<config>:8:19: http.max_concurrent: not an integer: \"1.5\"");
	expect_only(BASE "http:\n  max_concurrent: \" 8\"\n",
		    "<config>:8:19: http.max_concurrent: not an integer: \" 8\"");
	expect_only(BASE "http:\n  max_concurrent: 99999999999999999999999\n",
		    "<config>:8:19: http.max_concurrent: out of range: \"99999999999999999999999\" "
		    "(expected 1 to 256)");
	expect_only(BASE "http:\n  max_concurrent: 0\n",
		    "<config>:8:19: http.max_concurrent: out of range: \"0\" (expected 1 to 256)");
	expect_only(BASE "http:\n  max_concurrent: 257\n",
		    "<config>:8:19: http.max_concurrent: out of range: \"257\" (expected 1 to "
		    "256)");
	expect_only(BASE "    name:\n",
		    "<config>:7:10: projects[0].name: empty value (expected a string)");
	expect_only(BASE "    name: {a: b}\n",
		    "<config>:7:11: projects[0].name: expected a string, got a mapping");
	expect_only(BASE "  - 42\n", "<config>:7:5: projects[1]: expected a mapping, got a string");
}

static void
test_bad_duration(void **state UNUSED)
{
	expect_only(BASE "poll_interval: 5x\n",
		    "<config>:7:16: poll_interval: not a duration: \"5x\" (expected e.g. 30s, 5m, "
		    "4h, 30d)");
	expect_only(BASE "azure_interval: 0s\n",
		    "<config>:7:17: azure_interval: not a duration: \"0s\" (expected e.g. 30s, "
		    "5m, 4h, 30d)");
	expect_only(BASE "checks:\n  key_age: {warning: 75 days}\n",
		    "<config>:8:22: checks.key_age.warning: not a duration: \"75 days\" "
		    "(expected e.g. 30s, 5m, 4h, 30d)");
	expect_only(BASE "alerts:\n  repeat_interval: 99999999999d\n",
		    "<config>:8:20: alerts.repeat_interval: duration too long: \"99999999999d\" "
		    "(at most 3650d)");
	expect_only(BASE "http:\n  timeout: 2h\n",
		    "<config>:8:12: http.timeout: duration too long: \"2h\" (at most 1h)");
}

static void
test_bad_date(void **state UNUSED)
{
	expect_only(ATLAS "projects:\n"
			  "  - id: 65a1b2c3d4e5f60718293a00\n"
			  "  - id: " PID2 "\n"
			  "    azure:\n"
			  "      client_secret_expires: 2027-13-01\n",
		    "<config>:9:30: projects[1].azure.client_secret_expires: not a date: "
		    "\"2027-13-01\" (expected ISO 8601, e.g. 2027-03-01)");
	expect_only(BASE "silences:\n  - until: 2026-12-31T00:00:00\n",
		    "<config>:8:12: silences[0].until: not a date: \"2026-12-31T00:00:00\" "
		    "(expected ISO 8601, e.g. 2027-03-01)");
}

static void
test_missing_required(void **state UNUSED)
{
	expect_only(ATLAS, "<config>:1:1: missing required key \"projects\" (or \"discover\", "
			   "to watch every project the Atlas identity can read)");
	expect_only(PROJECT, "<config>:1:1: missing required key \"atlas\"");
	expect_only(ATLAS "projects: []\n",
		    "<config>:5:11: projects: at least one project is needed (or \"discover\", "
		    "to watch every project the Atlas identity can read)");
	expect_only(ATLAS "projects:\n  - name: x\n",
		    "<config>:6:5: projects[0]: missing required key \"id\"");
	expect_only("atlas:\n  base_url: https://cloud.mongodb.com\n" PROJECT,
		    "<config>:2:3: atlas: missing required key \"service_account\" or "
		    "\"api_key\" (exactly one is needed)");
	expect_only(ATLAS "  api_key: {public_key: a, private_key: b}\n" PROJECT,
		    "<config>:5:3: atlas: give exactly one of \"service_account\" and "
		    "\"api_key\"");
	expect_only("atlas:\n  service_account:\n    client_id: x\n" PROJECT,
		    "<config>:3:5: atlas.service_account: missing required key "
		    "\"client_secret\"");
	expect_line(BASE "notify:\n  - type: slack\n",
		    "<config>:8:5: notify[0]: missing required key \"name\"");
	expect_line(BASE "notify:\n  - type: slack\n",
		    "<config>:8:5: notify[0]: missing required key \"url\"");
	expect_only(BASE "notify:\n  - name: n\n    url: https://x\n",
		    "<config>:8:5: notify[0]: missing required key \"type\"");
	expect_only(BASE "notify:\n  - name: pd\n    type: pagerduty\n",
		    "<config>:8:5: notify[0]: missing required key \"routing_key\"");
	expect_only(BASE "silences:\n  - check: ear.valid\n",
		    "<config>:8:5: silences[0]: missing required key \"until\"");
}

static void
test_duplicate_project_ids(void **state UNUSED)
{
	expect_only(ATLAS "projects:\n"
			  "  - id: 65a1b2c3d4e5f60718293a00\n"
			  "    name: a\n"
			  "  - name: b\n"
			  "    id: 65A1B2C3D4E5F60718293A00\n",
		    "<config>:9:9: projects[1].id: duplicate project id "
		    "\"65a1b2c3d4e5f60718293a00\" (already used by projects[0] at line 6)");
	expect_only(ATLAS "projects:\n"
			  "  - {id: 65a1b2c3d4e5f60718293a00, name: a}\n"
			  "  - {id: " PID2 ", name: a}\n",
		    "<config>:7:42: projects[1].name: duplicate project name \"a\" (already used "
		    "by projects[0] at line 6)");
}

static void
test_duplicate_sink_names(void **state UNUSED)
{
	expect_only(BASE "notify:\n"
			 "  - {name: ops, type: alertmanager, url: http://127.0.0.1:9093}\n"
			 "  - name: ops\n"
			 "    type: webhook\n"
			 "    url: https://example.com/hook\n",
		    "<config>:9:11: notify[1].name: duplicate sink name \"ops\" (already used by "
		    "notify[0] at line 8)");
}

static void
test_duplicate_keys(void **state UNUSED)
{
	expect_only(BASE "poll_interval: 5m\npoll_interval: 6m\n",
		    "<config>:8:1: duplicate key \"poll_interval\" (first at line 7)");
	expect_only(BASE "    name: a\n    name: b\n",
		    "<config>:8:5: projects[0]: duplicate key \"name\" (first at line 7)");
	expect_only(BASE "checks:\n  key_age: {warning: 70d, warning: 71d}\n",
		    "<config>:8:27: checks.key_age: duplicate key \"warning\" (first at line 8)");
}

static void
test_invalid_project_id(void **state UNUSED)
{
	expect_only(ATLAS "projects:\n  - id: 65a1b2c3\n",
		    "<config>:6:9: projects[0].id: not a project id: \"65a1b2c3\" (expected 24 "
		    "hex digits, as in the Atlas project URL)");
	expect_only(ATLAS "projects:\n  - id: 65a1b2c3d4e5f60718293a0g\n",
		    "<config>:6:9: projects[0].id: not a project id: "
		    "\"65a1b2c3d4e5f60718293a0g\" (expected 24 hex digits, as in the Atlas "
		    "project URL)");
}

/* atlas.org_id and atlas.credential_interval (extensions for
 * atlas.credential_expiry): defaults, values, and what is refused. */
static void
test_atlas_credential_keys(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE);

	assert_null(cfg->atlas.org_id);
	assert_int_equal(cfg->atlas.credential_interval, 3600);
	cfg_free(cfg);
	cfg = load_ok("atlas:\n  org_id: 5f1a2b3c4d5e6f7081920a1b\n  credential_interval: 30m\n"
		      "  service_account:\n    client_id: mdb_sa_id_x\n"
		      "    client_secret: plain-s3cr3t-value\n" PROJECT);
	assert_string_equal(cfg->atlas.org_id, "5f1a2b3c4d5e6f7081920a1b");
	assert_int_equal(cfg->atlas.credential_interval, 1800);
	cfg_free(cfg);
	expect_only("atlas:\n  org_id: 5f1a2b3c\n  service_account:\n    client_id: x\n"
		    "    client_secret: y\n" PROJECT,
		    "<config>:2:11: atlas.org_id: not an organization id: \"5f1a2b3c\" (expected "
		    "24 hex digits, as in the Atlas organization URL)");
	expect_only("atlas:\n  org_id: [1]\n  service_account:\n    client_id: x\n"
		    "    client_secret: y\n" PROJECT,
		    "<config>:2:11: atlas.org_id: expected an organization id, got a list");
	expect_only("atlas:\n  credential_interval: soon\n  service_account:\n    client_id: x\n"
		    "    client_secret: y\n" PROJECT,
		    "<config>:2:24: atlas.credential_interval: not a duration: \"soon\" (expected "
		    "e.g. 30s, 5m, 4h, 30d)");
}

static void
test_unknown_check(void **state UNUSED)
{
	expect_only(BASE "checks:\n  azure.key_ag: {enabled: false}\n",
		    "<config>:8:3: checks: unknown key \"azure.key_ag\"; did you mean "
		    "\"azure.key_age\"?");
	expect_only(BASE "checks:\n  ear.clusters: {enabled: false, warning: 1d}\n",
		    "<config>:8:34: checks.ear.clusters: unknown key \"warning\"");
	expect_only(BASE "silences:\n  - check: ear.vaild\n    until: 2026-12-31\n",
		    "<config>:8:12: silences[0].check: unknown check \"ear.vaild\"; did you mean "
		    "\"ear.valid\"?");
	expect_only(BASE "silences:\n  - check: everything\n    until: 2026-12-31\n",
		    "<config>:8:12: silences[0].check: unknown check \"everything\"");
}

static void
test_invalid_enums(void **state UNUSED)
{
	expect_only(BASE "    expect_provider: azur\n",
		    "<config>:7:22: projects[0].expect_provider: invalid value \"azur\" (expected "
		    "aws, azure or gcp); did you mean \"azure\"?");
	expect_only(BASE "    expect_provider: AZURE\n",
		    "<config>:7:22: projects[0].expect_provider: invalid value \"AZURE\" "
		    "(expected aws, azure or gcp); did you mean \"azure\"?");
	expect_line(BASE "notify:\n  - {name: x, type: slak, url: https://h}\n",
		    "<config>:8:21: notify[0].type: invalid value \"slak\" (expected webhook, "
		    "slack, mattermost, teams, pagerduty or alertmanager); did you mean "
		    "\"slack\"?");
	expect_only(BASE "notify:\n  - {name: x, type: slack, url: https://h, min_severity: "
			 "unknown}\n",
		    "<config>:8:58: notify[0].min_severity: invalid value \"unknown\" (expected "
		    "info, warning or critical)");
	expect_only(BASE "azure:\n  identity:\n    type: secret\n",
		    "<config>:9:11: azure.identity.type: invalid value \"secret\" (expected "
		    "client_secret, managed_identity or workload_identity)");
}

static void
test_threshold_order(void **state UNUSED)
{
	expect_only(BASE "checks:\n  secret_expiry: {warning: 7d, critical: 30d}\n",
		    "<config>:8:18: checks.secret_expiry: warning (7d) must be longer than "
		    "critical (30d)");
	expect_only(BASE "checks:\n  key_expiry: {warning: 7d}\n",
		    "<config>:8:15: checks.key_expiry: warning (7d) must be longer than critical "
		    "(7d)");
	expect_only(BASE "checks:\n  key_age: {warning: 90d, critical: 75d}\n",
		    "<config>:8:12: checks.key_age: warning (90d) must be shorter than critical "
		    "(75d)");
	/* checked on the merged values: the project only moved one side */
	expect_only(BASE "    checks:\n      key_age: {warning: 100d}\n",
		    "<config>:8:16: projects[0].checks.key_age: warning (100d) must be shorter "
		    "than critical (90d)");
}

static void
test_urls(void **state UNUSED)
{
	struct config *cfg;

	expect_only("atlas:\n  base_url: https://cloud.mongodb.com/api/atlas/v2\n"
		    "  service_account: {client_id: a, client_secret: b}\n" PROJECT,
		    "<config>:2:13: atlas.base_url: takes only the scheme and host, e.g. "
		    "https://cloud.mongodb.com (kmswatch appends /api/atlas/v2/...): remove the path "
		    "\"/api/atlas/v2\"");
	/* a trailing slash is only trimmed */
	cfg = load_ok("atlas:\n  base_url: https://cloud.mongodb.com/\n"
		      "  service_account: {client_id: a, client_secret: b}\n" PROJECT);
	assert_string_equal(cfg->atlas.base_url, "https://cloud.mongodb.com");
	cfg_free(cfg);
	expect_only("atlas:\n  base_url: http://cloud.mongodb.com\n"
		    "  service_account: {client_id: a, client_secret: b}\n" PROJECT,
		    "<config>:2:13: atlas.base_url: must be an https:// URL (http:// only for "
		    "127.0.0.1, localhost and [::1]): \"http://cloud.mongodb.com\"");
	expect_only("atlas:\n  base_url: http://127.0.0.1.example.com\n"
		    "  service_account: {client_id: a, client_secret: b}\n" PROJECT,
		    "<config>:2:13: atlas.base_url: must be an https:// URL (http:// only for "
		    "127.0.0.1, localhost and [::1]): \"http://127.0.0.1.example.com\"");
	expect_only("atlas:\n  base_url: http://localhost:80@example.com\n"
		    "  service_account: {client_id: a, client_secret: b}\n" PROJECT,
		    "<config>:2:13: atlas.base_url: must be an https:// URL (http:// only for "
		    "127.0.0.1, localhost and [::1]): \"http://localhost:80@example.com\"");
	expect_only(BASE "azure:\n  endpoints:\n    graph: ftp://graph\n",
		    "<config>:9:12: azure.endpoints.graph: must be an https:// URL (http:// "
		    "only for 127.0.0.1, localhost and [::1]): \"ftp://graph\"");
	expect_only(BASE "azure:\n  endpoints:\n    vault_suffix: https://vault.azure.net\n",
		    "<config>:9:19: azure.endpoints.vault_suffix: not a DNS suffix: "
		    "\"https://vault.azure.net\" (expected e.g. vault.azure.net)");

	cfg = load_ok("atlas:\n  base_url: http://127.0.0.1:8443//\n"
		      "  service_account: {client_id: a, client_secret: b}\n" PROJECT
		      "azure:\n  endpoints:\n    imds: http://169.254.169.254/\n"
		      "    key_vault: http://[::1]:9\n    login: HTTP://LOCALHOST\n");
	assert_string_equal(cfg->atlas.base_url, "http://127.0.0.1:8443");
	assert_string_equal(cfg_azure(cfg)->endpoints.imds, "http://169.254.169.254");
	assert_string_equal(cfg_azure(cfg)->endpoints.key_vault, "http://[::1]:9");
	assert_string_equal(cfg_azure(cfg)->endpoints.login, "HTTP://LOCALHOST");
	assert_null(cfg_azure(cfg)->endpoints.graph);
	cfg_free(cfg);
}

/* A sink URL is a secret (Slack's carries a token): refused, not shown. */
static void
test_sink_url(void **state UNUSED)
{
	const char *yaml = BASE "notify:\n"
				"  - name: chat\n"
				"    type: slack\n"
				"    url: ftp://hooks.example.com/T000/B000/tokenXYZ\n";
	struct config *cfg = NULL;
	struct cfg_diag d = {0};

	expect_only(yaml, "<config>:10:10: notify[0].url: not an http:// or https:// URL (the "
			  "value is not shown)");
	assert_int_equal(cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d), -EINVAL);
	assert_null(strstr(d.lines[0], "tokenXYZ"));
	cfg_diag_free(&d);
	/* plain http:// only to loopback, unless the sink says insecure */
	expect_only(BASE "notify:\n  - {name: a, type: webhook, url: http://hooks.example/tokenXYZ}\n",
		    "<config>:8:35: notify[0].url: plain http:// to a host other than 127.0.0.1, "
		    "localhost or [::1] sends alerts (and any token in the URL) unencrypted: use "
		    "https://, or set \"insecure: true\" on this sink (the value is not shown)");
	expect_only(BASE "notify:\n  - {name: a, type: webhook, url: \"http://127.0.0.1:80@evil/\"}\n",
		    "<config>:8:35: notify[0].url: plain http:// to a host other than 127.0.0.1, "
		    "localhost or [::1] sends alerts (and any token in the URL) unencrypted: use "
		    "https://, or set \"insecure: true\" on this sink (the value is not shown)");
	cfg = load_ok(BASE "notify:\n  - {name: a, type: webhook, url: http://hooks.example/x, "
			   "insecure: true}\n  - {name: b, type: webhook, url: \"http://[::1]:8080/x\"}\n");
	assert_true(cfg->sinks[0].insecure);
	assert_false(cfg->sinks[1].insecure);
	cfg_free(cfg);
	cfg = NULL;
	expect_only(BASE "notify:\n  - {name: a, type: slack, url: https://h, secret: s}\n",
		    "<config>:8:44: notify[0]: key \"secret\" is only used by type webhook");
	expect_only(BASE "notify:\n  - {name: a, type: teams, url: https://h, routing_key: k}\n",
		    "<config>:8:44: notify[0]: key \"routing_key\" is only used by type "
		    "pagerduty");
}

static void
test_anchors_refused(void **state UNUSED)
{
	expect_line(BASE "poll_interval: &every 5m\nazure_interval: *every\n",
		    "<config>:7:16: YAML anchors are not supported (&\"every\"): repeat the value "
		    "instead");
	expect_line(BASE "poll_interval: &every 5m\nazure_interval: *every\n",
		    "<config>:8:17: YAML aliases are not supported (*\"every\"): repeat the value "
		    "instead");
	expect_only(ATLAS "projects:\n  - &p {id: 65a1b2c3d4e5f60718293a00}\n",
		    "<config>:6:5: YAML anchors are not supported (&\"p\"): repeat the value "
		    "instead");
	expect_only(BASE "<<: {poll_interval: 5m}\n", "<config>:7:1: unknown key \"<<\"");
}

static void
test_empty_and_not_mapping(void **state UNUSED)
{
	const char *empty = "<config>:1:1: empty configuration (expected a mapping with at "
			    "least \"atlas\" and \"projects\")";

	expect_only("", empty);
	expect_only("# only a comment\n\n", empty);
	expect_only("---\n", empty);
	expect_only("~\n", empty);
	expect_only("- a\n- b\n", "<config>:1:1: expected a mapping at the top level, got a list");
	expect_only("\n\nhello\n",
		    "<config>:3:1: expected a mapping at the top level, got a string");
	expect_only(BASE "---\n" BASE,
		    "<config>:7:1: a second YAML document: the file must hold exactly one");
}

static void
test_nesting_and_bytes(void **state UNUSED)
{
	char deep[512];
	size_t i;

	for (i = 0; i < 100; i++)
		deep[i] = '[';
	deep[i] = '\0';
	expect_only(deep, "<config>:1:65: nested more than 64 levels deep");
	expect_only(BASE "    name: \"pay\\0ments\"\n",
		    "<config>:7:11: projects[0].name: contains a control character");
	expect_only(BASE "    name: \"a\\nb\"\n",
		    "<config>:7:11: projects[0].name: contains a control character");
	expect_only("atlas: \xff\n", "<config>:1:8: not valid UTF-8 text: invalid leading UTF-8 "
				     "octet at byte 7");
}

static void
test_too_many_problems(void **state UNUSED)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	struct strbuf b = {0};

	assert_int_equal(strbuf_puts(&b, BASE), 0);
	for (int i = 0; i < 300; i++)
		assert_int_equal(strbuf_printf(&b, "bogus%d: 1\n", i), 0);
	assert_int_equal(cfg_load_buffer(NULL, b.s, b.len, &cfg, &d), -EINVAL);
	assert_int_equal(d.n, 101);
	assert_string_equal(d.lines[0], "<config>:7:1: unknown key \"bogus0\"");
	assert_string_equal(d.lines[100], "<config>: too many problems, stopping here");
	cfg_diag_free(&d);
	strbuf_free(&b);
}

/* Every problem of a file, not just the first. */
static void
test_collects_all(void **state UNUSED)
{
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	const char *yaml = "poll_interval: 5x\n"
			   "atlas:\n"
			   "  base_url: http://example.com\n"
			   "  api_key: {public_key: a, private_key: b}\n"
			   "projects:\n"
			   "  - id: nope\n"
			   "    expect_provider: oracle\n"
			   "alerts: {send_resolved: sometimes}\n";

	assert_int_equal(cfg_load_buffer("x.yaml", yaml, strlen(yaml), &cfg, &d), -EINVAL);
	/* in file order, although projects are read last */
	assert_int_equal(d.n, 6);
	assert_true(starts_with(d.lines[0], "x.yaml:1:16: poll_interval: "));
	assert_true(starts_with(d.lines[1], "x.yaml:3:13: atlas.base_url: "));
	/* x.yaml does not exist: its permissions are unknown, plain secrets refused */
	assert_true(starts_with(d.lines[2], "x.yaml:4:41: atlas.api_key.private_key: cannot "
					    "check who may read x.yaml"));
	assert_true(starts_with(d.lines[3], "x.yaml:6:9: projects[0].id: "));
	assert_true(starts_with(d.lines[4], "x.yaml:7:22: projects[0].expect_provider: "));
	assert_true(starts_with(d.lines[5], "x.yaml:8:25: alerts.send_resolved: "));
	cfg_diag_free(&d);
}

/* ---- valid configs ------------------------------------------------------ */

static void
test_defaults(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE);
	const struct cfg_project *p = &cfg->projects[0];

	assert_null(cfg->path);
	assert_int_equal(cfg->poll_interval, 300);
	assert_int_equal(cfg_azure(cfg)->base.interval, 3600);
	assert_null(cfg->state_dir);
	assert_string_equal(cfg->atlas.base_url, "https://cloud.mongodb.com");
	assert_int_equal(cfg->atlas.auth, ATLAS_AUTH_SERVICE_ACCOUNT);
	assert_string_equal(cfg->atlas.client_id, "mdb_sa_id_x");
	assert_int_equal(cfg->atlas.client_secret.source, SECRET_PLAIN);
	assert_string_equal(cfg->atlas.client_secret.value, "plain-s3cr3t-value");
	assert_null(cfg->atlas.client_secret.ref);
	assert_int_equal(cfg->atlas.client_secret.line, 4);
	assert_int_equal(cfg->atlas.client_secret.column, 20);
	assert_null(cfg->atlas.ca_file);
	assert_false(cfg_azure(cfg)->base.configured);
	assert_int_equal(cfg_azure(cfg)->identity.type, AZID_NONE);
	assert_int_equal(cfg->http.connect_timeout_ms, 10000);
	assert_int_equal(cfg->http.timeout_ms, 30000);
	assert_int_equal(cfg->http.max_concurrent, 16);
	assert_int_equal(cfg->http.max_response_bytes, 4 * 1024 * 1024);
	assert_int_equal(cfg->alerts.repeat_interval, 4 * 3600);
	assert_true(cfg->alerts.send_resolved);
	assert_int_equal(cfg->n_sinks, 0);
	assert_int_equal(cfg->n_silences, 0);

	assert_int_equal(cfg->n_projects, 1);
	assert_string_equal(p->id, "65a1b2c3d4e5f60718293a00");
	assert_string_equal(p->name, p->id);
	assert_int_equal(p->expect_provider, PROV_NONE);
	/* no azure: block, so none is allocated */
	assert_null(cfg_azure_project(p));
	for (size_t i = 0; i < PROV__COUNT; i++)
		assert_null(p->block[i]);
	assert_int_equal(p->line, 6);
	assert_int_equal(p->column, 5);
	for (const struct cfg_checks *ck = &cfg->checks;; ck = &p->checks) {
		assert_true(ck->secret_expiry.enabled);
		assert_int_equal(ck->secret_expiry.warning, 30 * 86400);
		assert_int_equal(ck->secret_expiry.critical, 7 * 86400);
		assert_int_equal(ck->key_age.warning, 75 * 86400);
		assert_int_equal(ck->key_age.critical, 90 * 86400);
		assert_int_equal(ck->key_expiry.warning, 30 * 86400);
		assert_int_equal(ck->key_expiry.critical, 7 * 86400);
		assert_true(ck->key_expiry.enabled);
		assert_true(ck->include_future_node_ips);
		for (int i = 0; i < CHK__COUNT; i++)
			assert_true(ck->enabled[i]);
		if (ck == &p->checks)
			break;
	}
	assert_null(cfg_project_identity(cfg, p));
	assert_ptr_equal(cfg_find_project(cfg, "65A1B2C3D4E5F60718293A00"), p);
	assert_null(cfg_find_project(cfg, PID2));
	cfg_free(cfg);

	/* blocks whose entries are all commented out are empty, not errors */
	cfg = load_ok(BASE "checks:\nalerts:\nnotify:\nsilences:\nhttp:\n");
	assert_int_equal(cfg->n_sinks, 0);
	cfg_free(cfg);
}

static void
test_override_merge(void **state UNUSED)
{
	struct config *cfg = load_ok(
		ATLAS "azure:\n"
		      "  identity:\n"
		      "    type: managed_identity\n"
		      "projects:\n"
		      "  - id: 65a1b2c3d4e5f60718293a00\n"
		      "    checks:\n"
		      "      key_age: {warning: 100d}\n"
		      "      secret_expiry: {enabled: false}\n"
		      "      ear.clusters: {enabled: false}\n"
		      "      allowlist: {include_future_node_ips: no}\n"
		      "  - id: " PID2 "\n"
		      "    azure:\n"
		      "      identity: {type: workload_identity, "
		      "tenant_id: contoso.onmicrosoft.com,\n"
		      "                 client_id: 11111111-2222-4333-8444-555555555555,\n"
		      "                 token_file: /run/token}\n"
		      "      client_secret_expires: 2027-03-01T12:00:00+01:00\n"
		      "      client_secret_hint: Xy9\n"
		      "checks:\n"
		      "  key_age: {warning: 60d, critical: 120d}\n"
		      "  azure.key_version: {enabled: false}\n"
		      "  azure.key_age: {enabled: false}\n"
		      "  key_expiry: {enabled: false}\n");
	const struct cfg_project *a = &cfg->projects[0], *b = &cfg->projects[1];
	const struct cfg_azure_project *bz;

	/* global */
	assert_int_equal(cfg->checks.key_age.warning, 60 * 86400);
	assert_int_equal(cfg->checks.key_age.critical, 120 * 86400);
	assert_false(cfg->checks.enabled[CHK_AZURE_KEY_VERSION]);
	assert_false(cfg->checks.enabled[CHK_AZURE_KEY_AGE]);
	assert_false(cfg->checks.key_age.enabled); /* one switch, two spellings */
	assert_false(cfg->checks.key_expiry.enabled);
	assert_true(cfg->checks.enabled[CHK_AZURE_KEY_STATE]);
	/* project a: global merged with its own, key by key */
	assert_int_equal(a->checks.key_age.warning, 100 * 86400);
	assert_int_equal(a->checks.key_age.critical, 120 * 86400);
	assert_false(a->checks.enabled[CHK_AZURE_KEY_VERSION]);
	assert_false(a->checks.secret_expiry.enabled);
	assert_false(a->checks.enabled[CHK_AZURE_SECRET_EXPIRY]);
	assert_false(a->checks.enabled[CHK_EAR_CLUSTERS]);
	assert_false(a->checks.include_future_node_ips);
	assert_true(a->checks.enabled[CHK_AZURE_ALLOWLIST]);
	assert_true(cfg->checks.enabled[CHK_EAR_CLUSTERS]);
	assert_true(cfg->checks.secret_expiry.enabled);
	/* project b: the global checks as they are */
	assert_memory_equal(&b->checks, &cfg->checks, sizeof(cfg->checks));
	/* identities */
	assert_true(cfg_azure(cfg)->base.configured);
	assert_ptr_equal(cfg_project_identity(cfg, a), &cfg_azure(cfg)->identity);
	assert_int_equal(cfg_azure(cfg)->identity.type, AZID_MANAGED_IDENTITY);
	bz = cfg_azure_project(b);
	assert_non_null(bz);
	assert_non_null(bz->identity);
	assert_ptr_equal(cfg_project_identity(cfg, b), bz->identity);
	assert_int_equal(bz->identity->type, AZID_WORKLOAD_IDENTITY);
	assert_string_equal(bz->identity->tenant_id, "contoso.onmicrosoft.com");
	assert_string_equal(bz->identity->token_file, "/run/token");
	assert_true(bz->has_client_secret_expires);
	assert_int_equal(bz->client_secret_expires, 1803898800); /* 2027-03-01T11:00:00Z */
	assert_string_equal(bz->client_secret_hint, "Xy9");
	cfg_free(cfg);

	/* the later spelling of one switch wins */
	cfg = load_ok(BASE "checks:\n  azure.key_age: {enabled: false}\n  key_age: {enabled: "
			   "true}\n");
	assert_true(cfg->checks.enabled[CHK_AZURE_KEY_AGE]);
	assert_true(cfg->checks.key_age.enabled);
	cfg_free(cfg);
}

/* The `checks:` blocks switch the checks whose rows name them, of every
 * provider, and nothing else; a check's own id switches only itself. */
static void
test_switch_blocks(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE "checks:\n  key_age: {enabled: false}\n");

	assert_false(cfg->checks.enabled[CHK_AZURE_KEY_AGE]);
	assert_false(cfg->checks.enabled[CHK_AWS_KEY_AGE]);
	assert_false(cfg->checks.enabled[CHK_GCP_KEY_AGE]);
	assert_true(cfg->checks.enabled[CHK_AZURE_KEY_VERSION]);
	assert_true(cfg->checks.enabled[CHK_AZURE_SECRET_EXPIRY]);
	assert_false(cfg->checks.key_age.enabled);
	cfg_free(cfg);

	/* one provider's id: the others keep their key_age */
	cfg = load_ok(BASE "checks:\n  azure.key_age: {enabled: false}\n");
	assert_false(cfg->checks.enabled[CHK_AZURE_KEY_AGE]);
	assert_true(cfg->checks.enabled[CHK_AWS_KEY_AGE]);
	assert_true(cfg->checks.enabled[CHK_GCP_KEY_AGE]);
	assert_false(cfg->checks.key_age.enabled); /* not every check it switches is on */
	cfg_free(cfg);

	/* and back on for one of them, after the block */
	cfg = load_ok(BASE "checks:\n  key_age: {enabled: false}\n  gcp.key_age: {enabled: true}\n");
	assert_true(cfg->checks.enabled[CHK_GCP_KEY_AGE]);
	assert_false(cfg->checks.enabled[CHK_AWS_KEY_AGE]);
	cfg_free(cfg);

	cfg = load_ok(BASE "checks:\n  allowlist: {enabled: false}\n"
			   "  secret_expiry: {enabled: false}\n");
	assert_false(cfg->checks.enabled[CHK_AZURE_ALLOWLIST]);
	assert_true(cfg->checks.include_future_node_ips);
	assert_false(cfg->checks.enabled[CHK_AZURE_SECRET_EXPIRY]);
	assert_false(cfg->checks.secret_expiry.enabled);
	assert_true(cfg->checks.enabled[CHK_ATLAS_CREDENTIAL_EXPIRY]); /* its own id */
	assert_true(cfg->checks.key_age.enabled);
	cfg_free(cfg);

	/* key_expiry's switch is only its window: it turns no check off */
	cfg = load_ok(BASE "checks:\n  key_expiry: {enabled: false}\n");
	for (int i = 0; i < CHK__COUNT; i++)
		assert_true(cfg->checks.enabled[i]);
	cfg_free(cfg);
}

/* Every provider of kms_table has its `<name>:` and `<name>_interval`
 * keys at the top level, read into its own part of the config: the loader
 * takes them from the table, not from a list of its own. */
static void
test_provider_sections_from_table(void **state UNUSED)
{
	struct config *cfg;

	for (size_t i = 0; i < kms_count; i++) {
		const struct kms_desc *k = kms_table[i];
		char yaml[1024], want[256];

		snprintf(yaml, sizeof(yaml), BASE "%s_interval: 2h\n", k->name);
		cfg = load_ok(yaml);
		assert_non_null(cfg->provider[k->id]);
		assert_int_equal(cfg->provider[k->id]->interval, 7200);
		assert_false(cfg->provider[k->id]->configured);
		for (size_t j = 0; j < kms_count; j++)
			if (j != i)
				assert_int_equal(cfg->provider[kms_table[j]->id]->interval, 3600);
		assert_int_equal(cfg_longest_round(cfg), 7200);
		cfg_free(cfg);
		/* a known key, read with its section's table */
		snprintf(yaml, sizeof(yaml), BASE "%s: {nonsense: 1}\n", k->name);
		snprintf(want, sizeof(want), "<config>:7:%d: %s: unknown key \"nonsense\"",
			 (int)strlen(k->name) + 4, k->name);
		expect_line(yaml, want);
	}
	cfg = load_ok(BASE "gcp:\n");
	assert_true(cfg_longest_round(cfg) == 3600 && cfg->provider[PROV_GCP]->configured);
	assert_null(cfg->provider[PROV_NONE]);
	cfg_free(cfg);
}

static void
test_identity_rules(void **state UNUSED)
{
	struct config *cfg;

	expect_only(BASE "azure:\n  identity:\n    type: client_secret\n    tenant_id: t\n"
			 "    client_id: 11111111-2222-4333-8444-555555555555\n",
		    "<config>:9:5: azure.identity: missing required key \"client_secret\" (type "
		    "client_secret needs it)");
	expect_only(BASE "azure:\n  identity: {type: managed_identity, client_secret: s}\n",
		    "<config>:8:38: azure.identity: key \"client_secret\" is not used by type "
		    "managed_identity");
	expect_only(BASE "azure:\n  identity: {type: client_secret, tenant_id: t, client_id: "
			 "11111111-2222-4333-8444-555555555555, client_secret: s, "
			 "token_file: /t}\n",
		    "<config>:8:116: azure.identity: key \"token_file\" is not used by type "
		    "client_secret");
	expect_only(BASE "azure:\n  identity: {type: managed_identity, client_id: 1234}\n",
		    "<config>:8:49: azure.identity.client_id: not a GUID: \"1234\" (expected "
		    "e.g. 11111111-2222-4333-8444-555555555555)");
	expect_only(BASE "azure:\n  identity:\n    type: workload_identity\n    tenant_id: "
			 "t\n    client_id: 11111111-2222-4333-8444-555555555555\n",
		    "<config>:9:5: azure.identity: missing required key \"token_file\" (type "
		    "workload_identity needs it, or AZURE_FEDERATED_TOKEN_FILE)");
	expect_only(BASE "azure:\n  identity: {type: managed_identity, tenant_id: \"a b\"}\n",
		    "<config>:8:49: azure.identity.tenant_id: not a tenant id: \"a b\" (expected "
		    "a GUID or a domain such as contoso.onmicrosoft.com)");
	expect_only(BASE "    azure:\n      identity: {tenant_id: t}\n",
		    "<config>:8:17: projects[0].azure.identity: missing required key \"type\"");

	setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/token", 1);
	cfg = load_ok(BASE "azure:\n  identity: {type: workload_identity, tenant_id: t, client_id: "
			   "11111111-2222-4333-8444-555555555555}\n");
	assert_string_equal(cfg_azure(cfg)->identity.token_file, "/var/run/secrets/azure/token");
	cfg_free(cfg);
	unsetenv("AZURE_FEDERATED_TOKEN_FILE");
}

static void
test_http_block(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE "http:\n  connect_timeout: 2s\n  timeout: 1m\n"
					  "  max_concurrent: 256\n  max_response_size: 512KiB\n");

	assert_int_equal(cfg->http.connect_timeout_ms, 2000);
	assert_int_equal(cfg->http.timeout_ms, 60000);
	assert_int_equal(cfg->http.max_concurrent, 256);
	assert_int_equal(cfg->http.max_response_bytes, 512 * 1024);
	cfg_free(cfg);
	cfg = load_ok(BASE "http: {max_response_size: 1048576}\n");
	assert_int_equal(cfg->http.max_response_bytes, 1048576);
	cfg_free(cfg);
	cfg = load_ok(BASE "http: {max_response_size: 1GiB}\n");
	assert_int_equal(cfg->http.max_response_bytes, 1 << 30);
	cfg_free(cfg);
	expect_only(BASE "http: {max_response_size: 4MB}\n",
		    "<config>:7:27: http.max_response_size: not a size: \"4MB\" (expected bytes "
		    "or e.g. 512KiB, 4MiB, 1GiB)");
	expect_only(BASE "http: {max_response_size: 2GiB}\n",
		    "<config>:7:27: http.max_response_size: out of range: \"2GiB\" (expected "
		    "1KiB to 1GiB)");
	expect_only(BASE "http: {max_response_size: 99999999999999999999999KiB}\n",
		    "<config>:7:27: http.max_response_size: out of range: "
		    "\"99999999999999999999999KiB\" (expected 1KiB to 1GiB)");
	expect_only(BASE "http: {max_response_size: -4MiB}\n",
		    "<config>:7:27: http.max_response_size: not a size: \"-4MiB\" (expected "
		    "bytes or e.g. 512KiB, 4MiB, 1GiB)");
	expect_only(BASE "http: {max_response_size: 100}\n",
		    "<config>:7:27: http.max_response_size: out of range: \"100\" (expected 1KiB "
		    "to 1GiB)");
	expect_only(BASE "http:\n  connect_timeout: 1m\n",
		    "<config>:8:3: http: connect_timeout (1m) is longer than timeout (30s)");
}

/* The outbox settings of each sink and their defaults per type. */
static void
test_sink_delivery_settings(void **state UNUSED)
{
	char *ca = write_file("sink-ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644), *yaml;
	struct config *cfg;

	cfg = load_ok(BASE "notify:\n"
			   "  - {name: s, type: slack, url: https://h}\n"
			   "  - {name: m, type: mattermost, url: https://h}\n"
			   "  - {name: t, type: teams, url: https://h}\n"
			   "  - {name: w, type: webhook, url: https://h}\n"
			   "  - {name: p, type: pagerduty, routing_key: k}\n"
			   "  - {name: a, type: alertmanager, url: http://127.0.0.1:9093}\n");
	assert_int_equal(cfg->n_sinks, 6);
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct cfg_sink *k = &cfg->sinks[i];

		/* Slack-style services take about one message per second */
		assert_int_equal(k->min_interval_ms, i < 3 ? 1000 : 0);
		assert_int_equal(k->max_age, 72 * 3600);
		assert_int_equal(k->resend_interval, 60);
		assert_null(k->ca_file);
	}
	cfg_free(cfg);

	yaml = util_asprintf(BASE "notify:\n"
				  "  - name: s\n"
				  "    type: slack\n"
				  "    url: https://h\n"
				  "    min_interval: 0s\n"
				  "    max_age: 1h\n"
				  "    ca_file: %s\n"
				  "  - {name: w, type: webhook, url: https://h, min_interval: 2s}\n"
				  "  - {name: a, type: alertmanager, url: http://127.0.0.1:9093,\n"
				  "     resend_interval: 30s, max_age: 30d, min_interval: 0}\n",
			     ca);
	cfg = load_ok(yaml);
	assert_int_equal(cfg->sinks[0].min_interval_ms, 0);
	assert_int_equal(cfg->sinks[0].max_age, 3600);
	assert_string_equal(cfg->sinks[0].ca_file, ca);
	assert_int_equal(cfg->sinks[1].min_interval_ms, 2000);
	assert_int_equal(cfg->sinks[2].resend_interval, 30);
	assert_int_equal(cfg->sinks[2].max_age, 30 * 86400);
	assert_int_equal(cfg->sinks[2].min_interval_ms, 0);
	cfg_free(cfg);
	free(yaml);

	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, resend_interval: 1m}\n",
		    "<config>:8:46: notify[0]: key \"resend_interval\" is only used by type "
		    "alertmanager");
	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, min_interval: 2h}\n",
		    "<config>:8:60: notify[0].min_interval: duration too long: \"2h\" (at most 1h)");
	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, min_interval: 0x}\n",
		    "<config>:8:60: notify[0].min_interval: not a duration: \"0x\" (expected e.g. "
		    "30s, 5m, 4h, 30d)");
	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, max_age: 0s}\n",
		    "<config>:8:55: notify[0].max_age: not a duration: \"0s\" (expected e.g. 30s, "
		    "5m, 4h, 30d)");
	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, max_age: 31d}\n",
		    "<config>:8:55: notify[0].max_age: duration too long: \"31d\" (at most 30d)");
	expect_only(BASE "notify:\n  - {name: a, type: alertmanager, url: https://h, "
			 "resend_interval: 2h}\n",
		    "<config>:8:68: notify[0].resend_interval: duration too long: \"2h\" (at most "
		    "1h)");
	expect_sub(BASE "notify:\n  - {name: w, type: webhook, url: https://h, "
			"ca_file: /nonexistent/ca.pem}\n",
		   "<config>:8:55: notify[0].ca_file: cannot read \"/nonexistent/ca.pem\"");
	expect_only(BASE "notify:\n  - {name: w, type: webhook, url: https://h, ca_file: rel.pem}\n",
		    "<config>:8:55: notify[0].ca_file: not an absolute path: \"rel.pem\"");
	/* the name also names the queue directory */
	expect_only(BASE "notify:\n  - {name: "
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, "
			 "type: webhook, url: https://h}\n",
		    "<config>:8:12: notify[0].name: sink name too long (at most 64 bytes)");
	cfg = load_ok(BASE "notify:\n  - {name: \"ops / slack #1\", type: webhook, url: https://h}\n");
	assert_string_equal(cfg->sinks[0].name, "ops / slack #1");
	cfg_free(cfg);
	free(ca);
}

/* The flapping guard's thresholds. */
static void
test_alerts_confirm(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE);

	assert_int_equal(cfg->alerts.confirm_firing, 1);
	assert_int_equal(cfg->alerts.confirm_resolved, 2);
	cfg_free(cfg);
	cfg = load_ok(BASE "alerts:\n  confirm_firing: 3\n  confirm_resolved: 1\n");
	assert_int_equal(cfg->alerts.confirm_firing, 3);
	assert_int_equal(cfg->alerts.confirm_resolved, 1);
	cfg_free(cfg);
	expect_only(BASE "alerts:\n  confirm_firing: 0\n",
		    "<config>:8:19: alerts.confirm_firing: out of range: \"0\" (expected 1 to 100)");
	expect_only(BASE "alerts:\n  confirm_resolved: 101\n",
		    "<config>:8:21: alerts.confirm_resolved: out of range: \"101\" (expected 1 to "
		    "100)");
	expect_only(BASE "alerts:\n  confirm_resolved: two\n",
		    "<config>:8:21: alerts.confirm_resolved: not an integer: \"two\"");
}

static void
test_silences(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE "    name: payments-prod\n"
					  "silences:\n"
					  "  - project: payments-prod\n"
					  "    check: azure.key_age\n"
					  "    until: 2026-12-31T00:00:00Z\n"
					  "    comment: rotation scheduled\n"
					  "  - until: 2027-01-01\n"
					  "  - project: 65A1B2C3D4E5F60718293A00\n"
					  "    until: 2027-01-01\n");

	assert_int_equal(cfg->n_silences, 3);
	assert_string_equal(cfg->silences[0].project, "payments-prod");
	assert_string_equal(cfg->silences[0].check, "azure.key_age");
	assert_int_equal(cfg->silences[0].until, 1798675200);
	assert_string_equal(cfg->silences[0].comment, "rotation scheduled");
	assert_null(cfg->silences[1].project);
	assert_null(cfg->silences[1].check);
	assert_int_equal(cfg->silences[1].until, 1798761600);
	cfg_free(cfg);
	expect_only(BASE "silences:\n  - project: payments-prd\n    until: 2027-01-01\n",
		    "<config>:8:14: silences[0].project: no project named \"payments-prd\"");
}

static void
test_state_dir(void **state UNUSED)
{
	struct config *cfg = load_ok(BASE "state_dir: /srv/kmswatch\n");

	assert_string_equal(cfg->state_dir, "/srv/kmswatch");
	assert_string_equal(cfg_state_dir(cfg), "/srv/kmswatch");
	setenv("STATE_DIRECTORY", "/var/lib/kmswatch:/var/lib/other", 1);
	assert_string_equal(cfg_state_dir(cfg), "/var/lib/kmswatch");
	setenv("STATE_DIRECTORY", "/var/lib/private/kmswatch", 1);
	assert_string_equal(cfg_state_dir(cfg), "/var/lib/private/kmswatch");
	assert_string_equal(cfg_state_dir(NULL), "/var/lib/private/kmswatch");
	unsetenv("STATE_DIRECTORY");
	assert_string_equal(cfg_state_dir(NULL), CFG_DEFAULT_STATE_DIR);
	cfg_free(cfg);
	expect_only(BASE "state_dir: var/lib\n",
		    "<config>:7:12: state_dir: not an absolute path: \"var/lib\"");
}

/* ---- secrets ------------------------------------------------------------ */

static const char *
secret_yaml(const char *ref)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
		 "atlas:\n  service_account:\n    client_id: x\n    client_secret: %s\n" PROJECT,
		 ref);
	return buf;
}

static void
expect_secret(const char *ref, const char *value)
{
	struct config *cfg = load_ok(secret_yaml(ref));

	assert_string_equal(cfg->atlas.client_secret.value, value);
	cfg_free(cfg);
}

static void
test_secret_references(void **state UNUSED)
{
	char *f = write_file("secret-ok", "from-a-file\r\n", 0600);
	char *two = write_file("secret-two-lines", "line1\nline2\n", 0600);
	char *nl = write_file("secret-newline", "\n", 0600);
	char *cr = write_file("secret-cr", "abc\r", 0600);
	char *cred = tmp_path("creds");
	char *credfile = tmp_path("creds/atlas");
	char *big = tmp_path("secret-big");
	char yaml[256];
	struct config *cfg;
	FILE *fp;

	fp = fopen(big, "w");
	assert_non_null(fp);
	for (int i = 0; i < 64 * 1024 + 1; i++)
		fputc('x', fp);
	fclose(fp);
	fp = fopen(credfile, "w");
	assert_non_null(fp);
	fputs("from-a-credential\n", fp);
	fclose(fp);

	/* file */
	snprintf(yaml, sizeof(yaml), "{file: %s}", f);
	cfg = load_ok(secret_yaml(yaml));
	assert_int_equal(cfg->atlas.client_secret.source, SECRET_FILE);
	assert_string_equal(cfg->atlas.client_secret.ref, f);
	assert_string_equal(cfg->atlas.client_secret.value, "from-a-file");
	cfg_free(cfg);
	expect_only(secret_yaml("{file: relative/path}"),
		    "<config>:4:27: atlas.service_account.client_secret: not an absolute path: "
		    "\"relative/path\"");
	expect_only(secret_yaml("{file: /dev/null}"),
		    "<config>:4:27: atlas.service_account.client_secret: secret file "
		    "\"/dev/null\" is not a regular file");
	expect_only(secret_yaml("{file: /nonexistent/kmswatch-secret}"),
		    "<config>:4:27: atlas.service_account.client_secret: cannot read secret "
		    "file \"/nonexistent/kmswatch-secret\": No such file or directory");
	snprintf(yaml, sizeof(yaml), "{file: %s}", big);
	expect_sub(secret_yaml(yaml), "<config>:4:27: atlas.service_account.client_secret: "
				      "secret file \"/tmp/test_config.");
	expect_sub(secret_yaml(yaml), "/secret-big\" is larger than 64 KiB");
	snprintf(yaml, sizeof(yaml), "{file: %s}", two);
	cfg = NULL;
	{
		struct cfg_diag d = {0};
		const char *y = secret_yaml(yaml);

		assert_int_equal(cfg_load_buffer(NULL, y, strlen(y), &cfg, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.lines[0], "<config>:4:20: atlas.service_account."
						   "client_secret: line break or NUL byte in the "
						   "secret from secret file"));
		assert_null(strstr(d.lines[0], "line1"));
		cfg_diag_free(&d);
	}
	snprintf(yaml, sizeof(yaml), "{file: %s}", cr);
	expect_sub(secret_yaml(yaml), "line break or NUL byte in the secret from secret file");
	snprintf(yaml, sizeof(yaml), "{file: %s}", nl);
	{
		struct cfg_diag d = {0};
		const char *y = secret_yaml(yaml);

		assert_int_equal(cfg_load_buffer(NULL, y, strlen(y), &cfg, &d), -EINVAL);
		assert_int_equal(d.n, 1);
		assert_non_null(strstr(d.lines[0], "<config>:4:20: atlas.service_account."
						   "client_secret: empty secret from secret file"));
		cfg_diag_free(&d);
	}

	/* env */
	{
		char *before = strdup("KMSW_TEST_SECRET=from-the-env"), *bytes;

		/* putenv: the variable's bytes are ours to look at afterwards,
		 * as the initial environment's are in /proc/PID/environ */
		putenv(before);
		bytes = before + strlen("KMSW_TEST_SECRET=");
		expect_secret("{env: KMSW_TEST_SECRET}", "from-the-env");
		/* taken out of the environment and wiped there... */
		assert_null(getenv("KMSW_TEST_SECRET"));
		for (size_t i = 0; i < strlen("from-the-env"); i++)
			assert_int_equal(bytes[i], '\0');
		/* ...and kept for the next load (a reload) */
		expect_secret("{env: KMSW_TEST_SECRET}", "from-the-env");
		free(before);
	}
	expect_only(secret_yaml("{env: KMSW_NEVER_SET}"),
		    "<config>:4:26: atlas.service_account.client_secret: environment variable "
		    "\"KMSW_NEVER_SET\" is not set");
	setenv("KMSW_TEST_SECRET", "", 1);
	expect_only(secret_yaml("{env: KMSW_TEST_SECRET}"),
		    "<config>:4:20: atlas.service_account.client_secret: empty secret from "
		    "environment variable \"KMSW_TEST_SECRET\" (only one trailing newline is "
		    "stripped)");
	unsetenv("KMSW_TEST_SECRET");

	/* credential */
	expect_only(secret_yaml("{credential: atlas}"),
		    "<config>:4:33: atlas.service_account.client_secret: credential \"atlas\" "
		    "needs $CREDENTIALS_DIRECTORY, which is not set (systemd sets it for "
		    "LoadCredential=; elsewhere use {file: PATH})");
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	cfg = load_ok(secret_yaml("{credential: atlas}"));
	assert_int_equal(cfg->atlas.client_secret.source, SECRET_CREDENTIAL);
	assert_string_equal(cfg->atlas.client_secret.ref, "atlas");
	assert_string_equal(cfg->atlas.client_secret.value, "from-a-credential");
	assert_int_equal(cfg->atlas.client_secret.line, 4);
	assert_int_equal(cfg->atlas.client_secret.column, 20);
	cfg_free(cfg);
	expect_only(secret_yaml("{credential: ../secret-ok}"),
		    "<config>:4:33: atlas.service_account.client_secret: not a credential "
		    "name: \"../secret-ok\" (a file name, without '/')");
	expect_only(secret_yaml("{credential: missing}"),
		    "<config>:4:33: atlas.service_account.client_secret: cannot read credential "
		    "\"missing\": No such file or directory");
	unsetenv("CREDENTIALS_DIRECTORY");

	/* shapes */
	expect_only(secret_yaml("{file: /a, env: B}"),
		    "<config>:4:20: atlas.service_account.client_secret: not a secret (expected "
		    "a string or exactly one of {file: PATH}, {env: NAME}, {credential: NAME})");
	expect_only(secret_yaml("[a]"),
		    "<config>:4:20: atlas.service_account.client_secret: not a secret (expected "
		    "a string or exactly one of {file: PATH}, {env: NAME}, {credential: NAME})");
	expect_only(secret_yaml(""),
		    "<config>:4:19: atlas.service_account.client_secret: empty value (expected a "
		    "string or exactly one of {file: PATH}, {env: NAME}, {credential: NAME})");
	expect_only(secret_yaml("\"\""),
		    "<config>:4:20: atlas.service_account.client_secret: empty secret");
	expect_only(secret_yaml("{file: }"),
		    "<config>:4:27: atlas.service_account.client_secret: empty value (expected a "
		    "path)");
	/* a secret pasted between braces must not be echoed as a key */
	expect_only(secret_yaml("{hunter2-secret}"),
		    "<config>:4:21: atlas.service_account.client_secret: a secret reference is "
		    "one of {file: PATH}, {env: NAME}, {credential: NAME}");
	expect_secret("\"with\\ttab\"", "with\ttab");
	expect_only(secret_yaml("\"two\\nlines\""),
		    "<config>:4:20: atlas.service_account.client_secret: line break or NUL byte "
		    "in the secret");
	expect_secret("|\n      block-scalar\n", "block-scalar");

	free(f);
	free(two);
	free(nl);
	free(cr);
	free(cred);
	free(credfile);
	free(big);
}

/* A config the daemon's user cannot open (the shipped unit's DynamicUser=
 * and a root-owned 0600 file) names both uids, the mode and the fix. Only
 * root can set this up: another uid is needed to be refused. */
static void
test_unreadable_config(void **state UNUSED)
{
	char *closed = write_file("closed.yaml", BASE, 0600);
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		/* only root can be another uid that is refused (no skip():
		 * cmocka reports it as "not ok" to automake's TAP driver) */
		print_message("unreadable_config: needs root\n");
		free(closed);
		return;
	}
	assert_int_equal(chmod(tmpdir, 0711), 0); /* the file itself refuses */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct config *cfg = NULL;
		struct cfg_diag d = {0};
		char *want;
		int ok;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		want = util_asprintf("%s: cannot read: permission denied (kmswatchd runs as "
				     "uid 65534; the file is uid 0, mode 0600): the shipped "
				     "unit's DynamicUser= needs it readable by others (chmod "
				     "644), with every secret in a {credential: NAME}",
				     closed);
		ok = cfg_load(closed, &cfg, &d) == -EACCES && cfg == NULL && d.n == 1 &&
		     strcmp(d.lines[0], want) == 0;
		if (!ok && d.n > 0)
			fprintf(stderr, "got: %s\nwant: %s\n", d.lines[0], want);
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	free(closed);
}

/* Plain-text secrets only in a file nobody else can read. */
static void
test_permissions(void **state UNUSED)
{
	const char *plain =
		BASE "notify:\n  - {name: pd, type: pagerduty, routing_key: rk-plain}\n";
	char *ref = write_file("secret-ref", "s\n", 0600);
	char *open_file = write_file("open.yaml", plain, 0644);
	char *group_file = write_file("group.yaml", plain, 0640);
	char *closed_file = write_file("closed.yaml", plain, 0600);
	char *refs_file, *yaml, *want;
	struct config *cfg = NULL;
	struct cfg_diag d = {0};

	assert_int_equal(cfg_load(open_file, &cfg, &d), -EINVAL);
	assert_null(cfg);
	if (d.n != 2)
		dump(&d);
	assert_int_equal(d.n, 2);
	want = util_asprintf("%s:4:20: atlas.service_account.client_secret: plain-text secret "
			     "in a file readable by group or others (mode 0644): use {credential: "
			     "NAME} (LoadCredential=NAME in the unit) or {file: PATH}; chmod 600 %s "
			     "only if kmswatchd runs as its owner (not under the shipped unit's "
			     "DynamicUser=)",
			     open_file, open_file);
	assert_string_equal(d.lines[0], want);
	free(want);
	assert_non_null(strstr(d.lines[1], ":8:46: notify[0].routing_key: plain-text secret"));
	cfg_diag_free(&d);

	assert_int_equal(cfg_load(group_file, &cfg, &d), -EINVAL);
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.lines[0], "(mode 0640)"));
	cfg_diag_free(&d);

	assert_int_equal(cfg_load(closed_file, &cfg, &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(cfg->path, closed_file);
	assert_string_equal(cfg->sinks[0].routing_key.value, "rk-plain");
	cfg_free(cfg);

	/* references are fine in a readable file */
	yaml = util_asprintf("atlas:\n  api_key:\n    public_key: pk\n    private_key: {file: %s}\n"
			     PROJECT,
			     ref);
	refs_file = write_file("refs.yaml", yaml, 0644);
	assert_int_equal(cfg_load(refs_file, &cfg, &d), 0);
	assert_int_equal(cfg->atlas.auth, ATLAS_AUTH_API_KEY);
	assert_string_equal(cfg->atlas.public_key, "pk");
	assert_string_equal(cfg->atlas.private_key.value, "s");
	cfg_free(cfg);

	free(ref);
	free(open_file);
	free(group_file);
	free(closed_file);
	free(refs_file);
	free(yaml);
}

static void
test_load_file_errors(void **state UNUSED)
{
	char *missing = tmp_path("does-not-exist.yaml");
	char *big = tmp_path("big.yaml");
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	char *want;
	FILE *f;

	assert_int_equal(cfg_load(missing, &cfg, &d), -ENOENT);
	assert_null(cfg);
	assert_int_equal(d.n, 1);
	want = util_asprintf("%s: cannot read: No such file or directory", missing);
	assert_string_equal(d.lines[0], want);
	free(want);
	cfg_diag_free(&d);

	f = fopen(big, "w");
	assert_non_null(f);
	for (int i = 0; i < 16 * 1024 * 1024 / 16 + 1; i++)
		fputs("# padding......\n", f);
	fclose(f);
	assert_int_equal(cfg_load(big, &cfg, &d), -EFBIG);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.lines[0], ": cannot read: larger than 16 MiB"));
	cfg_diag_free(&d);

	assert_int_equal(cfg_load(tmpdir, &cfg, &d), -EISDIR);
	cfg_diag_free(&d);
	free(missing);
	free(big);
}

/* No diagnostic ever carries a secret value, whatever goes wrong. */
static void
test_no_secret_in_diag(void **state UNUSED)
{
	static const char *const secrets[] = {
		"SECRET-ALPHA", "SECRET-BRAVO", "SECRET-CHARLIE", "SECRET-DELTA", "SECRET-ECHO",
		"SECRET-FOXTROT", "SECRET-GOLF",
	};
	char *file = write_file("leaky.yaml",
				"atlas:\n"
				"  service_account:\n"
				"    client_id: mdb_sa\n"
				"    client_secret: SECRET-ALPHA\n"
				"  api_key: {public_key: k, private_key: SECRET-BRAVO}\n"
				"azure:\n"
				"  identity:\n"
				"    type: managed_identity\n"
				"    client_secret: SECRET-CHARLIE\n"
				"projects:\n"
				"  - id: nope\n"
				"notify:\n"
				"  - name: a\n"
				"    type: slack\n"
				"    url: SECRET-DELTA\n"
				"    secret: SECRET-ECHO\n"
				"    routing_key: {SECRET-FOXTROT}\n"
				"  - name: b\n"
				"    type: webhook\n"
				"    url: \"SECRET-GOLF\\nmore\"\n",
				0644);
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	char *src = write_file("secret-src", "SECRET-DELTA\n", 0600);
	char *yaml;

	assert_int_equal(cfg_load(file, &cfg, &d), -EINVAL);
	assert_int_equal(d.n, 13);
	for (size_t i = 0; i < d.n; i++)
		for (size_t j = 0; j < ARRAY_SIZE(secrets); j++)
			assert_null(strstr(d.lines[i], secrets[j]));
	cfg_diag_free(&d);
	/* the same from memory, where plain-text secrets are allowed */
	yaml = util_asprintf(BASE "notify:\n  - {name: a, type: slack, url: {file: %s}}\n"
				  "  - {name: b, type: teams, url: SECRET-GOLF}\n"
				  "  - {name: c, type: pagerduty, routing_key: SECRET-FOXTROT, "
				  "secret: SECRET-ECHO}\n",
			     src);
	assert_int_equal(cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d), -EINVAL);
	assert_int_equal(d.n, 3);
	for (size_t i = 0; i < d.n; i++)
		for (size_t j = 0; j < ARRAY_SIZE(secrets); j++)
			assert_null(strstr(d.lines[i], secrets[j]));
	cfg_diag_free(&d);
	free(yaml);
	free(file);
	free(src);
}

/* ---- the documented examples -------------------------------------------- */

static void
put_credential(const char *name, const char *value)
{
	char *n = util_asprintf("creds/%s", name);

	free(write_file(n, value, 0600));
	free(n);
}

/* docs/INTERFACE.md's example, with secrets from all three kinds of reference. */
static void
test_full_example(void **state UNUSED)
{
	char *ca = write_file("ca.pem", "not really a CA\n", 0644);
	char *whsec = write_file("webhook-secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
				 0600);
	char *cred = tmp_path("creds");
	char *yaml;
	struct config *cfg;
	const struct cfg_project *p;
	char t[UTIL_TIME_LEN];

	put_credential("atlas-client-secret", "atlas-sa-secret\n");
	put_credential("slack-webhook-url", "https://hooks.slack.com/services/T0/B0/x\n");
	put_credential("pagerduty-routing-key", "R0UT1NGKEY\n");
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	setenv("KMSW_AZURE_SECRET", "azure-reader-secret", 1);
	yaml = util_asprintf(
		"poll_interval: 5m            # how often each project's Atlas EAR state is read\n"
		"azure_interval: 1h\n"
		"state_dir: /var/lib/kmswatch # optional, see above\n"
		"\n"
		"atlas:\n"
		"  base_url: https://cloud.mongodb.com       # Atlas for Government\n"
		"  service_account:                          # recommended\n"
		"    client_id: mdb_sa_id_0123456789abcdef01234567\n"
		"    client_secret: {credential: atlas-client-secret}\n"
		"  # api_key:\n"
		"  #   public_key: abcdefgh\n"
		"  ca_file: %s   # optional; TLS is always verified\n"
		"\n"
		"azure:\n"
		"  identity:\n"
		"    type: client_secret      # client_secret | managed_identity | ...\n"
		"    tenant_id: 99999999-8888-4777-8666-555555555555\n"
		"    client_id: 11111111-2222-4333-8444-555555555555\n"
		"    client_secret: {env: KMSW_AZURE_SECRET}\n"
		"  endpoints:\n"
		"    login: https://login.microsoftonline.com\n"
		"    management: https://management.azure.com\n"
		"    graph: https://graph.microsoft.com\n"
		"    vault_suffix: vault.azure.net\n"
		"    key_vault: https://10.0.0.5\n"
		"    imds: http://169.254.169.254\n"
		"  ca_file: %s\n"
		"\n"
		"projects:\n"
		"  - id: 65a1b2c3d4e5f60718293a00\n"
		"    name: payments-prod\n"
		"    expect_provider: azure\n"
		"    azure:\n"
		"      client_secret_expires: 2027-03-01\n"
		"      client_secret_hint: \"Xy9\"\n"
		"      identity: {type: managed_identity}\n"
		"    checks: {key_age: {warning: 80d}}\n"
		"\n"
		"checks:\n"
		"  secret_expiry: {warning: 30d, critical: 7d}\n"
		"  key_age:       {warning: 75d, critical: 90d}\n"
		"  key_expiry:    {warning: 30d, critical: 7d}\n"
		"  allowlist:     {include_future_node_ips: true}\n"
		"\n"
		"alerts:\n"
		"  repeat_interval: 4h\n"
		"  send_resolved: true\n"
		"\n"
		"notify:\n"
		"  - name: ops-slack\n"
		"    type: slack\n"
		"    url: {credential: slack-webhook-url}\n"
		"    min_severity: warning\n"
		"  - name: siem\n"
		"    type: webhook\n"
		"    url: https://siem.example.com/hooks/kmswatch\n"
		"    secret: {file: %s}\n"
		"  - name: oncall\n"
		"    type: pagerduty\n"
		"    routing_key: {credential: pagerduty-routing-key}\n"
		"    min_severity: critical\n"
		"  - name: am\n"
		"    type: alertmanager\n"
		"    url: http://127.0.0.1:9093\n"
		"\n"
		"silences:\n"
		"  - project: payments-prod\n"
		"    check: azure.key_age\n"
		"    until: 2026-12-31T00:00:00Z\n"
		"    comment: rotation scheduled in change CHG-1234\n",
		ca, ca, whsec);
	cfg = load_ok(yaml);

	assert_int_equal(cfg->poll_interval, 300);
	assert_int_equal(cfg_azure(cfg)->base.interval, 3600);
	assert_string_equal(cfg->state_dir, "/var/lib/kmswatch");
	assert_string_equal(cfg->atlas.base_url, "https://cloud.mongodb.com");
	assert_int_equal(cfg->atlas.auth, ATLAS_AUTH_SERVICE_ACCOUNT);
	assert_string_equal(cfg->atlas.client_id, "mdb_sa_id_0123456789abcdef01234567");
	assert_string_equal(cfg->atlas.client_secret.value, "atlas-sa-secret");
	assert_string_equal(cfg->atlas.ca_file, ca);

	assert_true(cfg_azure(cfg)->base.configured);
	assert_int_equal(cfg_azure(cfg)->identity.type, AZID_CLIENT_SECRET);
	assert_string_equal(cfg_azure(cfg)->identity.tenant_id, "99999999-8888-4777-8666-555555555555");
	assert_string_equal(cfg_azure(cfg)->identity.client_id, "11111111-2222-4333-8444-555555555555");
	assert_int_equal(cfg_azure(cfg)->identity.client_secret.source, SECRET_ENV);
	assert_string_equal(cfg_azure(cfg)->identity.client_secret.ref, "KMSW_AZURE_SECRET");
	assert_string_equal(cfg_azure(cfg)->identity.client_secret.value, "azure-reader-secret");
	assert_string_equal(cfg_azure(cfg)->endpoints.vault_suffix, "vault.azure.net");
	assert_string_equal(cfg_azure(cfg)->endpoints.key_vault, "https://10.0.0.5");
	assert_string_equal(cfg_azure(cfg)->ca_file, ca);

	assert_int_equal(cfg->n_projects, 1);
	p = &cfg->projects[0];
	assert_string_equal(p->name, "payments-prod");
	assert_int_equal(p->expect_provider, PROV_AZURE);
	assert_non_null(cfg_azure_project(p));
	assert_true(cfg_azure_project(p)->has_client_secret_expires);
	util_format_time(cfg_azure_project(p)->client_secret_expires, t, sizeof(t));
	assert_string_equal(t, "2027-03-01T00:00:00Z");
	assert_string_equal(cfg_azure_project(p)->client_secret_hint, "Xy9");
	assert_int_equal(cfg_project_identity(cfg, p)->type, AZID_MANAGED_IDENTITY);
	assert_int_equal(p->checks.key_age.warning, 80 * 86400);
	assert_int_equal(cfg->checks.key_age.warning, 75 * 86400);

	assert_int_equal(cfg->n_sinks, 4);
	assert_string_equal(cfg->sinks[0].name, "ops-slack");
	assert_int_equal(cfg->sinks[0].type, SINK_SLACK);
	assert_string_equal(sink_type_name(cfg->sinks[0].type), "slack");
	assert_string_equal(cfg->sinks[0].url.value, "https://hooks.slack.com/services/T0/B0/x");
	assert_int_equal(cfg->sinks[0].min_severity, SEV_WARNING);
	assert_int_equal(cfg->sinks[1].type, SINK_WEBHOOK);
	assert_int_equal(cfg->sinks[1].min_severity, SEV_INFO);
	assert_int_equal(cfg->sinks[1].secret.source, SECRET_FILE);
	assert_string_equal(cfg->sinks[1].secret.value, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	assert_int_equal(cfg->sinks[2].type, SINK_PAGERDUTY);
	assert_null(cfg->sinks[2].url.value);
	assert_string_equal(cfg->sinks[2].routing_key.value, "R0UT1NGKEY");
	assert_int_equal(cfg->sinks[2].min_severity, SEV_CRITICAL);
	assert_string_equal(sink_type_name(cfg->sinks[3].type), "alertmanager");
	assert_int_equal(cfg->sinks[3].line, 62);
	assert_int_equal(cfg->sinks[3].column, 5);

	assert_int_equal(cfg->n_silences, 1);
	util_format_time(cfg->silences[0].until, t, sizeof(t));
	assert_string_equal(t, "2026-12-31T00:00:00Z");
	cfg_free(cfg);

	unsetenv("CREDENTIALS_DIRECTORY");
	unsetenv("KMSW_AZURE_SECRET");
	free(yaml);
	free(ca);
	free(whsec);
	free(cred);
}

/* The example's commented-out blocks ("# notify:", "# silences:",
 * "# discover:" and the
 * lines under them that start with '#'), uncommented. */
static char *
uncomment_examples(const char *text)
{
	struct strbuf b = {0};
	bool in_block = false;

	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) + 1 : strlen(l);

		if (strncmp(l, "# notify:", 9) == 0 || strncmp(l, "# silences:", 11) == 0 ||
		    strncmp(l, "# discover:", 11) == 0)
			in_block = true;
		else if (l[0] != '#')
			in_block = false;
		if (in_block && l[0] == '#') {
			size_t skip = len > 1 && l[1] == ' ' ? 2 : 1;

			strbuf_append(&b, l + skip, len - skip);
		} else {
			strbuf_append(&b, l, len);
		}
		l += len;
	}
	return b.s;
}

/* The example installed as /etc/kmswatch/kmswatch.yaml must stay valid,
 * with no live sinks, and its commented-out sinks and silences too. */
static void
test_shipped_example(void **state UNUSED)
{
	char *cred = tmp_path("creds"), *example = srcdir_path("conf/kmswatch.yaml"), *text, *all;
	struct config *cfg = NULL;
	struct cfg_diag d = {0};
	size_t len;

	put_credential("atlas-client-secret", "a\n");
	put_credential("azure-reader-secret", "b\n");
	put_credential("slack-webhook-url", "https://hooks.slack.com/services/T/B/x\n");
	put_credential("webhook-signing-secret", "whsec_c2VjcmV0\n");
	put_credential("pagerduty-routing-key", "e\n");
	setenv("CREDENTIALS_DIRECTORY", cred, 1);
	if (cfg_load(example, &cfg, &d) != 0)
		dump(&d);
	assert_int_equal(d.n, 0);
	assert_non_null(cfg);
	assert_int_equal(cfg->n_projects, 1);
	assert_int_equal(cfg->n_sinks, 0);
	assert_int_equal(cfg->n_silences, 0);
	assert_false(cfg->discover.enabled);
	cfg_free(cfg);
	cfg = NULL;

	assert_int_equal(util_read_file(example, 1 << 20, 0, &text, &len), 0);
	all = uncomment_examples(text);
	assert_non_null(all);
	if (cfg_load_buffer(NULL, all, strlen(all), &cfg, &d) != 0)
		dump(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(cfg->n_sinks, 4);
	assert_int_equal(cfg->n_silences, 1);
	assert_true(cfg->discover.enabled);
	assert_int_equal(cfg->discover.n_org_ids, 1);
	assert_int_equal(cfg->discover.n_include, 1);
	assert_int_equal(cfg->discover.n_exclude, 1);
	cfg_free(cfg);
	free(all);
	free(text);
	unsetenv("CREDENTIALS_DIRECTORY");
	free(cred);
	free(example);
}

/* kmswatchd -t on a host where the unit has not run: credentials are
 * looked up where LoadCredential= would find them, missing ones warn. */
static void
test_check_only_credentials(void **state UNUSED)
{
	const char *yaml = "atlas:\n  service_account:\n    client_id: mdb_sa_id_x\n"
			   "    client_secret: {credential: kmsw-test-nowhere}\n" PROJECT;
	struct config *cfg = NULL;
	struct cfg_diag d = {0};

	unsetenv("CREDENTIALS_DIRECTORY");
	/* the daemon itself refuses */
	assert_int_equal(cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d), -EINVAL);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.lines[0], "needs $CREDENTIALS_DIRECTORY"));
	cfg_diag_free(&d);
	/* -t warns and passes */
	assert_int_equal(cfg_load_buffer_flags(NULL, yaml, strlen(yaml), CFG_LOAD_CHECK_ONLY, &cfg,
					       &d),
			 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(d.n_warnings, 1);
	assert_non_null(strstr(d.warnings[0], "warning: credential \"kmsw-test-nowhere\" is not "
					      "in $CREDENTIALS_DIRECTORY (not set), /etc/credstore, "
					      "/run/credstore or /usr/lib/credstore"));
	assert_null(cfg->atlas.client_secret.value);
	cfg_free(cfg);
	cfg = NULL;
	cfg_diag_free(&d);
	/* found in /etc/credstore: read from there */
	if (mkdir("/etc/credstore", 0700) == 0 || errno == EEXIST) {
		FILE *f = fopen("/etc/credstore/kmsw-test-nowhere", "w");

		if (f) {
			fputs("from-credstore\n", f);
			fclose(f);
			assert_int_equal(cfg_load_buffer_flags(NULL, yaml, strlen(yaml),
							       CFG_LOAD_CHECK_ONLY, &cfg, &d),
					 0);
			assert_int_equal(d.n_warnings, 0);
			assert_string_equal(cfg->atlas.client_secret.value, "from-credstore");
			cfg_free(cfg);
			cfg = NULL;
			unlink("/etc/credstore/kmsw-test-nowhere");
			rmdir("/etc/credstore"); /* only if we made it empty */
		}
	}
}

/* --once never reads a sink's secret */
static void
test_no_sink_secrets(void **state UNUSED)
{
	const char *yaml = BASE "notify:\n  - name: s\n    type: slack\n"
				"    url: {file: /nonexistent/kmsw-slack-url}\n";
	struct config *cfg = NULL;
	struct cfg_diag d = {0};

	assert_int_equal(cfg_load_buffer(NULL, yaml, strlen(yaml), &cfg, &d), -EINVAL);
	cfg_diag_free(&d);
	assert_int_equal(cfg_load_buffer_flags(NULL, yaml, strlen(yaml), CFG_LOAD_NO_SINK_SECRETS,
					       &cfg, &d),
			 0);
	assert_int_equal(cfg->n_sinks, 1);
	assert_null(cfg->sinks[0].url.value);
	assert_string_equal(cfg->sinks[0].url.ref, "/nonexistent/kmsw-slack-url");
	cfg_free(cfg);
}

static void
test_bad_arguments(void **state UNUSED)
{
	struct config *cfg = (struct config *)1;
	struct cfg_diag d = {0};

	assert_int_equal(cfg_load_buffer(NULL, NULL, 5, &cfg, &d), -EINVAL);
	assert_int_equal(cfg_load_buffer(NULL, "a", 1, NULL, &d), -EINVAL);
	assert_int_equal(cfg_load(NULL, &cfg, &d), -EINVAL);
	assert_int_equal(cfg_load_buffer(NULL, NULL, 0, &cfg, &d), -EINVAL);
	assert_null(cfg);
	assert_int_equal(d.n, 1);
	cfg_diag_free(&d);
	cfg_free(NULL);
	cfg_diag_free(NULL);
	assert_null(cfg_find_project(NULL, "x"));
	assert_null(cfg_project_identity(NULL, NULL));
}

/* discover: its keys, the regexes compiled at load, and projects: becoming
 * optional with it (but not without it). */
static void
test_discover(void **state UNUSED)
{
	struct config *cfg;

	cfg = load_ok(ATLAS "discover:\n"
			    "  org_ids: [5F1A2B3C4D5E6F7081920A1B, 6a7b8c9d0e1f2a3b4c5d6e7f]\n"
			    "  interval: 30m\n"
			    "  include: [\"^prod-\", \"^stage-\"]\n"
			    "  exclude: [\"-sandbox$\"]\n");
	assert_true(cfg->discover.enabled);
	assert_int_equal(cfg->discover.n_org_ids, 2);
	assert_string_equal(cfg->discover.org_ids[0], "5f1a2b3c4d5e6f7081920a1b");
	assert_int_equal(cfg->discover.interval, 1800);
	assert_int_equal(cfg->discover.n_include, 2);
	assert_int_equal(cfg->discover.n_exclude, 1);
	assert_int_equal(cfg->n_projects, 0);
	assert_int_equal(cfg->discover.line, 6);
	cfg_free(cfg);

	/* defaults; an empty projects: list is fine with discover */
	cfg = load_ok(ATLAS "projects: []\ndiscover: {}\n");
	assert_true(cfg->discover.enabled);
	assert_int_equal(cfg->discover.interval, 3600);
	assert_int_equal(cfg->discover.n_org_ids, 0);
	cfg_free(cfg);
	cfg = load_ok(BASE);
	assert_false(cfg->discover.enabled);
	cfg_free(cfg);

	/* a silence may name a project only discovery will know */
	cfg = load_ok(ATLAS "discover:\n  interval: 1h\nsilences:\n"
			    "  - project: not-listed-anywhere\n    until: 2030-01-01T00:00:00Z\n");
	cfg_free(cfg);
	expect_sub(BASE "silences:\n  - project: not-listed-anywhere\n"
			"    until: 2030-01-01T00:00:00Z\n",
		   "no project named \"not-listed-anywhere\"");

	/* neither projects nor discover (a missing projects: is in
	 * test_missing_required) */
	expect_only(ATLAS "projects: []\n",
		    "<config>:5:11: projects: at least one project is needed (or \"discover\", "
		    "to watch every project the Atlas identity can read)");

	/* a bad regex names file:line:column, the key and the pattern */
	expect_sub(ATLAS "discover:\n  include:\n    - ok\n    - \"(unclosed\"\n",
		   "<config>:8:7: discover.include[1]: not a POSIX extended regular "
		   "expression: \"(unclosed\" (");
	expect_sub(ATLAS "discover:\n  exclude: [\"a{1\"]\n",
		   "<config>:6:13: discover.exclude[0]: not a POSIX extended regular expression");
	expect_sub(ATLAS "discover:\n  exclude: \"-sandbox$\"\n",
		   "<config>:6:12: discover.exclude: expected a list, got a string");
	expect_sub(ATLAS "discover:\n  include: [[\"x\"]]\n", "discover.include[0]: expected a "
							      "regular expression");
	expect_sub(ATLAS "discover:\n  org_ids: [not-an-org]\n",
		   "<config>:6:13: discover.org_ids[0]: not an organization id: \"not-an-org\"");
	expect_sub(ATLAS "discover:\n  org_ids: [5f1a2b3c4d5e6f7081920a1b, "
			 "5F1A2B3C4D5E6F7081920A1B]\n",
		   "duplicate organization id \"5f1a2b3c4d5e6f7081920a1b\" (org_ids[0])");
	expect_sub(ATLAS "discover:\n  interval: soon\n", "discover.interval: not a duration");
	/* glibc would expand these into millions of nodes */
	expect_sub(ATLAS "discover:\n  include: [\"((a{100}){100}){100}\"]\n",
		   "<config>:6:13: discover.include[0]: regular expression too costly to compile");
	expect_sub(ATLAS "discover:\n  exclude: [\"a{1001}\"]\n", "too costly");
	expect_sub(ATLAS "discover:\n  exclude: [\"a{2,5000}\"]\n", "too costly");
	cfg = load_ok(ATLAS "discover:\n  include: [\"^p-[0-9]{2,4}-[a-z]{1,20}$\", "
			    "\"x\\\\{9999\", \"[{]9999\"]\n");
	assert_int_equal(cfg->discover.n_include, 3);
	cfg_free(cfg);
	expect_sub(ATLAS "discover:\n  orgs: []\n", "unknown key \"orgs\"");
	expect_sub(ATLAS "discover: [1]\n", "discover: expected a mapping");
}

/* metrics: listen address forms, loopback by default, refusals naming
 * file:line:column and the key; textfile must be an absolute file path. */
static void
test_metrics(void **state UNUSED)
{
	static const struct {
		const char *in, *host;
		unsigned port;
		bool v6;
	} ok[] = {
		{"9464", "127.0.0.1", 9464, false},
		{":9100", "127.0.0.1", 9100, false},
		{"0.0.0.0:1", "0.0.0.0", 1, false},
		{"192.0.2.7:65535", "192.0.2.7", 65535, false},
		{"[::1]:9464", "::1", 9464, true},
		{"[::]:9464", "::", 9464, true},
	};
	static const char *const bad[] = {
		"", "0", "65536", "127.0.0.1", "127.0.0.1:", "127.0.0.1:x", "localhost:9464",
		"::1:9464", "[::1]9464", "[::1", "[127.0.0.1]:9", "1.2.3:9", ":-1", "9464 ",
		"[]:9",
	};
	struct config *cfg;
	char host[48], why[200];
	unsigned port;
	bool v6;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cfg_parse_listen(ok[i].in, host, sizeof(host), &port, &v6, why,
						  sizeof(why)),
				 0);
		assert_string_equal(host, ok[i].host);
		assert_int_equal(port, ok[i].port);
		assert_int_equal(v6, ok[i].v6);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (cfg_parse_listen(bad[i], host, sizeof(host), &port, &v6, why, sizeof(why)) !=
		    -EINVAL)
			print_message("accepted: %s\n", bad[i]);
		assert_int_equal(cfg_parse_listen(bad[i], host, sizeof(host), &port, &v6, why,
						  sizeof(why)),
				 -EINVAL);
		assert_true(why[0] != '\0');
	}

	cfg = load_ok(BASE "metrics:\n  listen: 9464\n  textfile: /var/lib/node/kmswatch.prom\n");
	assert_string_equal(cfg->metrics.listen, "9464");
	assert_string_equal(cfg->metrics.listen_host, "127.0.0.1");
	assert_int_equal(cfg->metrics.listen_port, 9464);
	assert_string_equal(cfg->metrics.textfile, "/var/lib/node/kmswatch.prom");
	cfg_free(cfg);
	cfg = load_ok(BASE);
	assert_null(cfg->metrics.listen);
	assert_null(cfg->metrics.textfile);
	cfg_free(cfg);

	expect_only(BASE "metrics:\n  listen: localhost:9464\n",
		    "<config>:8:11: metrics.listen: cannot listen on \"localhost:9464\": the host "
		    "is not a numeric IPv4 address (host names are not resolved: write "
		    "127.0.0.1, 0.0.0.0, [::1] or [::])");
	expect_sub(BASE "metrics:\n  listen: 127.0.0.1:99999\n",
		   "<config>:8:11: metrics.listen: cannot listen on \"127.0.0.1:99999\": the port "
		   "must be a number from 1 to 65535");
	expect_sub(BASE "metrics:\n  textfile: kmswatch.prom\n",
		   "<config>:8:13: metrics.textfile: not an absolute path");
	expect_sub(BASE "metrics:\n  textfile: /var/lib/\n",
		   "<config>:8:13: metrics.textfile: not a file name");
	expect_sub(BASE "metrics:\n  port: 9464\n", "<config>:8:3: metrics");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_wrong_type),
		cmocka_unit_test(test_bad_duration),
		cmocka_unit_test(test_bad_date),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_duplicate_project_ids),
		cmocka_unit_test(test_duplicate_sink_names),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_invalid_project_id),
		cmocka_unit_test(test_atlas_credential_keys),
		cmocka_unit_test(test_unknown_check),
		cmocka_unit_test(test_invalid_enums),
		cmocka_unit_test(test_threshold_order),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_sink_url),
		cmocka_unit_test(test_anchors_refused),
		cmocka_unit_test(test_empty_and_not_mapping),
		cmocka_unit_test(test_nesting_and_bytes),
		cmocka_unit_test(test_too_many_problems),
		cmocka_unit_test(test_collects_all),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_override_merge),
		cmocka_unit_test(test_switch_blocks),
		cmocka_unit_test(test_provider_sections_from_table),
		cmocka_unit_test(test_identity_rules),
		cmocka_unit_test(test_http_block),
		cmocka_unit_test(test_silences),
		cmocka_unit_test(test_sink_delivery_settings),
		cmocka_unit_test(test_alerts_confirm),
		cmocka_unit_test(test_state_dir),
		cmocka_unit_test(test_secret_references),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_unreadable_config),
		cmocka_unit_test(test_load_file_errors),
		cmocka_unit_test(test_no_secret_in_diag),
		cmocka_unit_test(test_full_example),
		cmocka_unit_test(test_shipped_example),
		cmocka_unit_test(test_check_only_credentials),
		cmocka_unit_test(test_no_sink_secrets),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_discover),
		cmocka_unit_test(test_metrics),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
