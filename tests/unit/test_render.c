/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the payload renderers: the docs/INTERFACE.md webhook document
 * and the Standard Webhooks signature (checked against the specification's
 * published example), and each sink's payload against golden files in
 * tests/unit/data/render/ (UPDATE_GOLDEN=1 rewrites them; the Teams cards
 * among them are validated against the official Adaptive Card schema by
 * tests/unit/adaptivecard_check.py).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "render.h"
#include "util.h"

static struct alert_event
sample_event(void)
{
	struct alert_event ev = {
		.kind = EV_FIRING,
		.alert_id = "0123456789abcdef0123456789abcdef",
		.project_id = "65a1b2c3d4e5f60718293a00",
		.project_name = "payments-prod",
		.subject = "hint:Xy9",
		.summary = "client secret expires in 5 days",
		.check = CHK_AZURE_SECRET_EXPIRY,
		.provider = PROV_AZURE,
		.severity = SEV_CRITICAL,
		.previous_severity = SEV_WARNING,
		.started_at = 1795168800, /* 2026-11-20T10:00:00Z */
		.observed_at = 1795341600, /* 2026-11-22T10:00:00Z */
		.has_days_left = true,
		.days_left = 5,
	};
	return ev;
}

static void
test_webhook_document(void **state)
{
	struct alert_event ev = sample_event();
	json_error_t err;
	char *out;
	size_t len;
	json_t *j;

	(void)state;
	assert_int_equal(render_webhook(&ev, "monitor-1", &out, &len), 0);
	assert_int_equal(strlen(out), len);
	j = json_loads(out, 0, &err);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "alert_id")), ev.alert_id);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(j, "previous_severity")), "warning");
	assert_string_equal(json_string_value(json_object_get(j, "check")), "azure.secret_expiry");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "project"), "id")),
			    "65a1b2c3d4e5f60718293a00");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "project"), "name")),
		"payments-prod");
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "azure");
	assert_string_equal(json_string_value(json_object_get(j, "subject")), "hint:Xy9");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "details"), "days_left")), 5);
	assert_string_equal(json_string_value(json_object_get(j, "started_at")),
			    "2026-11-20T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "observed_at")),
			    "2026-11-22T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "host")), "monitor-1");
	json_decref(j);
	free(out);
}

static void
test_webhook_missing_list_and_no_previous(void **state)
{
	struct alert_event ev = sample_event();
	json_t *j, *m;
	char *out;
	size_t len;

	(void)state;
	ev.previous_severity = SEV_OK;
	ev.has_days_left = false;
	ev.missing = "198.51.100.40/32, 2001:db8::/64";
	assert_int_equal(render_webhook(&ev, "h", &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_null(json_object_get(j, "previous_severity"));
	m = json_object_get(json_object_get(j, "details"), "missing");
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_array_get(m, 1)), "2001:db8::/64");
	json_decref(j);
	free(out);
}

static void
test_signature_spec_example(void **state)
{
	/* From the Standard Webhooks specification. */
	static const char body[] = "{\"test\": 2432232314}";
	char sig[RENDER_SIGNATURE_LEN];

	(void)state;
	assert_int_equal(render_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
					  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
					  strlen(body), sig),
			 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void
test_signature_bad_secret(void **state)
{
	char sig[RENDER_SIGNATURE_LEN];

	(void)state;
	assert_int_equal(render_signature("whsec_!!!", "m", 1, "x", 1, sig), -EINVAL);
	assert_int_equal(render_signature("", "m", 1, "x", 1, sig), -EINVAL);
	/* a raw (non-whsec) secret is used as is */
	assert_int_equal(render_signature("plain-secret", "m", 1, "x", 1, sig), 0);
	assert_memory_equal(sig, "v1,", 3);
}

static void
test_line(void **state)
{
	struct alert_event ev = sample_event();
	char *line;

	(void)state;
	assert_int_equal(render_line(&ev, &line), 0);
	assert_string_equal(line, "FIRING critical azure.secret_expiry payments-prod (azure): "
				  "client secret expires in 5 days");
	free(line);
	ev.kind = EV_RESOLVED;
	ev.previous_severity = SEV_CRITICAL;
	assert_int_equal(render_line(&ev, &line), 0);
	assert_non_null(strstr(line, "RESOLVED azure.secret_expiry payments-prod (azure) (was critical)"));
	free(line);
}

/* ==== sink payloads ====================================================== */

#define HOST "monitor-1"
#define ROUTING_KEY "R0UTING-KEY-0123456789abcdef0123" /* made up */
#define AM_TIMEOUT 3600

static const enum sink_type all_sinks[] = {
	SINK_WEBHOOK, SINK_SLACK, SINK_MATTERMOST, SINK_TEAMS, SINK_PAGERDUTY, SINK_ALERTMANAGER,
};

/* The events of the golden files: one per kind of payload difference. */
static const char *const cases[] = {
	"firing_critical", "warning_missing", "repeat", "resolved", "info", "unknown",
	"credential",
};

static struct alert_event
fixture(const char *name)
{
	struct alert_event ev = {
		.kind = EV_FIRING,
		.project_id = "65a1b2c3d4e5f60718293a00",
		.project_name = "payments-prod",
		.provider = PROV_AZURE,
		.started_at = 1795168800,  /* 2026-11-20T10:00:00Z */
		.observed_at = 1795341600, /* 2026-11-22T10:00:00Z */
	};

	if (strcmp(name, "firing_critical") == 0) {
		/* a severity change: warning before, with the days left */
		strcpy(ev.alert_id, "0123456789abcdef0123456789abcdef");
		ev.check = CHK_AZURE_SECRET_EXPIRY;
		ev.severity = SEV_CRITICAL;
		ev.previous_severity = SEV_WARNING;
		ev.subject = "hint:Xy9";
		ev.summary = "client secret Xy9… of app kmswatch-atlas expires in 5 days "
			     "(2026-11-27): add a new secret and update it in Atlas";
		ev.has_days_left = true;
		ev.days_left = 5;
	} else if (strcmp(name, "warning_missing") == 0) {
		strcpy(ev.alert_id, "1f2e3d4c5b6a79881f2e3d4c5b6a7988");
		ev.check = CHK_AZURE_ALLOWLIST;
		ev.severity = SEV_WARNING;
		ev.subject = "kv-payments";
		ev.summary = "the firewall of Key Vault kv-payments does not allow 2 future "
			     "cluster node addresses: add them before the next scale-out";
		ev.missing = "198.51.100.40/32,203.0.113.0/24";
	} else if (strcmp(name, "repeat") == 0) {
		strcpy(ev.alert_id, "a0b1c2d3e4f5061728394a5b6c7d8e9f");
		ev.kind = EV_REPEAT;
		ev.check = CHK_AZURE_KEY_AGE;
		ev.severity = SEV_CRITICAL;
		ev.previous_severity = SEV_CRITICAL;
		ev.subject = "https://kv-payments.vault.azure.net/keys/atlas-ear/"
			     "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
		ev.summary = "key version atlas-ear/0f1e2d3c is 97 days old (critical from 90): "
			     "rotate the key and update the key identifier in Atlas";
		ev.has_age_days = true;
		ev.age_days = 97;
		ev.started_at = 1794564000; /* 2026-11-13T10:00:00Z */
	} else if (strcmp(name, "resolved") == 0) {
		strcpy(ev.alert_id, "0123456789abcdef0123456789abcdef");
		ev.kind = EV_RESOLVED;
		ev.check = CHK_AZURE_SECRET_EXPIRY;
		ev.severity = SEV_OK;
		ev.previous_severity = SEV_CRITICAL;
		ev.subject = "hint:Xy9";
		ev.summary = "client secret Q7w… of app kmswatch-atlas expires in 364 days";
		ev.observed_at = 1795428000; /* 2026-11-23T10:00:00Z */
	} else if (strcmp(name, "info") == 0) {
		strcpy(ev.alert_id, "5e6f708192a3b4c5d6e7f8091a2b3c4d");
		ev.kind = EV_INFO;
		ev.check = CHK_EAR_CONFIG;
		ev.severity = SEV_INFO;
		ev.subject = "azure";
		ev.summary = "Encryption at Rest configuration changed: keyIdentifier: "
			     "https://kv-payments.vault.azure.net/keys/atlas-ear/aaaa -> "
			     "https://kv-payments.vault.azure.net/keys/atlas-ear/bbbb";
		ev.started_at = ev.observed_at;
	} else if (strcmp(name, "credential") == 0) {
		/* kmswatch's own Atlas credential: about no project */
		strcpy(ev.alert_id, "77917529aa83ea7931148b3be39bb2b1");
		ev.check = CHK_ATLAS_CREDENTIAL_EXPIRY;
		ev.severity = SEV_WARNING;
		ev.provider = PROV_NONE;
		ev.project_id = "";
		ev.project_name = ALERTS_SELF_NAME;
		ev.org_id = "5f1a2b3c4d5e6f7081920a1b";
		ev.subject = "mdb_sa_sk_...1e2d";
		ev.summary = "secret mdb_sa_sk_...1e2d (id 5ec000000000000000000001) of service "
			     "account mdb_sa_id_0123456789abcdef01234567 expires in 20 days "
			     "(2026-12-12T10:00:00Z), then kmswatch goes blind: create a new secret "
			     "and reload kmswatch before then";
		ev.has_days_left = true;
		ev.days_left = 20;
	} else { /* unknown: kmswatch is blind; no provider; Slack's & < > */
		strcpy(ev.alert_id, "ffeeddccbbaa99887766554433221100");
		ev.check = CHK_ATLAS_ACCESS;
		ev.severity = SEV_UNKNOWN;
		ev.provider = PROV_NONE;
		ev.subject = "atlas-api";
		ev.summary = "Atlas answered 401 <UNAUTHORIZED> & no detail: check the service "
			     "account's client secret and its Project Read Only role";
	}
	return ev;
}

static bool
update_golden(void)
{
	const char *u = getenv("UPDATE_GOLDEN");

	return u && strcmp(u, "1") == 0;
}

/*
 * A golden file holds the body indented (JSON_INDENT(2), key order kept)
 * so that it can be read and reviewed; the wire body must be exactly its
 * compact form, so the comparison is byte for byte both ways.
 * UPDATE_GOLDEN=1 rewrites the files instead (review the diff!).
 */
static void
check_golden(const char *file, const char *body)
{
	char path[512], *pretty, *want = NULL, *compact;
	json_error_t err;
	size_t wlen;
	json_t *j;

	snprintf(path, sizeof(path), "%s/render/%s", TEST_DATA_DIR, file);
	j = json_loads(body, 0, &err);
	if (j == NULL)
		fail_msg("%s: rendered body is not JSON: %s", file, err.text);
	pretty = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	assert_non_null(pretty);
	json_decref(j);
	if (update_golden()) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		assert_true(fputs(pretty, f) >= 0 && fputc('\n', f) != EOF);
		assert_int_equal(fclose(f), 0);
		free(pretty);
		return;
	}
	if (util_read_file(path, 1 << 20, 0, &want, &wlen) < 0)
		fail_msg("%s: cannot read (UPDATE_GOLDEN=1 writes it)", path);
	/* the file ends with a newline */
	assert_true(wlen > 0 && want[wlen - 1] == '\n');
	want[wlen - 1] = '\0';
	if (strcmp(pretty, want) != 0)
		print_error("%s differs from the rendered body; after checking the change, "
			    "regenerate with UPDATE_GOLDEN=1\n",
			    path);
	assert_string_equal(pretty, want);
	j = json_loads(want, 0, &err);
	assert_non_null(j);
	compact = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_string_equal(compact, body);
	free(compact);
	free(want);
	free(pretty);
}

static void
test_golden(void **state)
{
	struct render_ctx ctx = {HOST, ROUTING_KEY, AM_TIMEOUT};

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(all_sinks); s++) {
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct alert_event ev = fixture(cases[i]);
			const char *ct;
			char file[128], *out, *again;
			size_t len, len2;

			assert_int_equal(render_for_sink(all_sinks[s], &ev, &ctx, &out, &len, &ct), 0);
			assert_int_equal(strlen(out), len);
			assert_string_equal(ct, "application/json");
			/* pure: the same event renders to the same bytes */
			assert_int_equal(render_for_sink(all_sinks[s], &ev, &ctx, &again, &len2, &ct),
					 0);
			assert_string_equal(out, again);
			snprintf(file, sizeof(file), "%s_%s.json", sink_type_name(all_sinks[s]),
				 cases[i]);
			check_golden(file, out);
			free(again);
			free(out);
		}
	}
}

/* ---- UTF-8-safe cutting ---- */

static void
assert_clip(const char *src, size_t max, const char *want)
{
	char *out;

	assert_int_equal(render_clip(src, max, &out), 0);
	assert_string_equal(out, want);
	assert_true(strlen(out) <= max);
	free(out);
}

static void
test_clip(void **state)
{
	char *out;

	(void)state;
	assert_clip("hello", 10, "hello");
	assert_clip("abc", 3, "abc"); /* an exact fit is not cut */
	assert_clip("hello world", 8, "hello\xe2\x80\xa6");
	/* "é" is 2 bytes: with 5 bytes, 2 remain before "…" and é does not fit */
	assert_clip("h\xc3\xa9llo", 5, "h\xe2\x80\xa6");
	assert_clip("h\xc3\xa9llo", 6, "h\xc3\xa9llo");
	/* "€" is 3 bytes */
	assert_clip("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 9,
		    "\xe2\x82\xac\xe2\x82\xac\xe2\x80\xa6");
	assert_clip("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", 8,
		    "\xe2\x82\xac\xe2\x80\xa6");
	/* a 4-byte character survives whole or not at all */
	assert_clip("\xf0\x9f\x94\x91 key", 8, "\xf0\x9f\x94\x91 key");
	assert_clip("\xf0\x9f\x94\x91 key", 6, "\xe2\x80\xa6");
	/* below the ellipsis' 3 bytes, only what fits */
	assert_clip("abc", 2, "ab");
	assert_clip("\xc3\xa9\xc3\xa9", 1, "");
	/* invalid UTF-8 becomes '?', byte by byte: stray continuation, cut
	 * sequence, overlong form, surrogate, above U+10FFFF */
	assert_clip("a\xff" "b", 10, "a?b");
	assert_clip("a\xe2\x82", 10, "a??");
	assert_clip("\xc0\xaf", 10, "??");
	assert_clip("\xed\xa0\x80", 10, "???");
	assert_clip("\xf4\x90\x80\x80", 10, "????");
	assert_int_equal(render_clip(NULL, 3, &out), -EINVAL);
}

/* The string at a JSON path of a parsed body, e.g. "blocks/0/text/text". */
static const char *
jpath(json_t *j, const char *path)
{
	char buf[256], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && j; tok = strtok_r(NULL, "/", &save))
		j = json_is_array(j) ? json_array_get(j, strtoul(tok, NULL, 10))
				     : json_object_get(j, tok);
	return json_string_value(j);
}

static bool
valid_utf8_json_string(const char *s)
{
	json_t *j = json_string(s); /* jansson refuses invalid UTF-8 */
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static bool
ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && memcmp(s + a - b, tail, b) == 0;
}

static void
test_slack_limits_and_escaping(void **state)
{
	struct alert_event ev = fixture("warning_missing");
	struct strbuf name = {0}, sum = {0}, miss = {0};
	const char *s = NULL;
	char *out;
	size_t len;
	json_t *j, *fields;

	(void)state;
	for (int i = 0; i < 100; i++) /* 200 bytes, 100 characters */
		assert_int_equal(strbuf_puts(&name, "\xc3\xa9"), 0);
	for (int i = 0; i < 1000; i++) /* 5000 bytes once escaped */
		assert_int_equal(strbuf_puts(&sum, "&"), 0);
	for (int i = 0; i < 200; i++)
		assert_int_equal(strbuf_printf(&miss, "%s198.51.100.%d/32", i ? "," : "", i), 0);
	ev.project_name = name.s;
	ev.summary = sum.s;
	ev.missing = miss.s;
	assert_int_equal(render_slack(&ev, HOST, &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);

	s = jpath(j, "blocks/0/text/text"); /* header */
	assert_non_null(s);
	assert_true(strlen(s) <= 150);
	assert_true(ends_with(s, "\xe2\x80\xa6"));
	assert_true(valid_utf8_json_string(s));

	s = jpath(j, "blocks/1/text/text"); /* summary section */
	assert_non_null(s);
	assert_true(strlen(s) <= 3000);
	/* cut after escaping, never inside an entity */
	assert_true(ends_with(s, "&amp;\xe2\x80\xa6"));

	s = jpath(j, "text");
	assert_non_null(s);
	assert_true(strlen(s) <= 3000);

	fields = json_object_get(json_array_get(json_object_get(j, "blocks"), 2), "fields");
	assert_true(json_array_size(fields) >= 1 && json_array_size(fields) <= 10);
	for (size_t i = 0; i < json_array_size(fields); i++) {
		s = jpath(json_array_get(fields, i), "text");
		assert_non_null(s);
		assert_true(strlen(s) <= 2000);
	}
	/* the long CIDR list is the last field, and was cut */
	assert_true(ends_with(s, "\xe2\x80\xa6"));
	json_decref(j);
	free(out);

	/* control sequences are escaped everywhere mrkdwn is read */
	ev.summary = "<!channel> & <https://evil.example|click>";
	ev.project_name = "a<b>&c";
	assert_int_equal(render_slack(&ev, HOST, &out, &len), 0);
	assert_null(strstr(out, "<!channel>"));
	assert_null(strstr(out, "<https://"));
	j = json_loads(out, 0, NULL);
	assert_string_equal(jpath(j, "blocks/1/text/text"),
			    "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;");
	/* the header is plain_text: shown as is, not parsed */
	assert_string_equal(jpath(j, "blocks/0/text/text"),
			    "WARNING \xc2\xb7 a<b>&c \xc2\xb7 azure.allowlist");
	assert_non_null(strstr(jpath(j, "text"), "a&lt;b&gt;&amp;c"));
	json_decref(j);
	free(out);
	strbuf_free(&name);
	strbuf_free(&sum);
	strbuf_free(&miss);
}

static void
test_long_text_all_sinks(void **state)
{
	struct render_ctx ctx = {HOST, ROUTING_KEY, AM_TIMEOUT};
	struct alert_event ev = fixture("firing_critical");
	struct strbuf sum = {0};

	(void)state;
	/* 20 000 bytes of 3-byte characters, then an invalid byte */
	for (int i = 0; i < 6666; i++)
		assert_int_equal(strbuf_puts(&sum, "\xe2\x82\xac"), 0);
	assert_int_equal(strbuf_puts(&sum, "\xff"), 0);
	ev.summary = sum.s;
	for (size_t s = 0; s < ARRAY_SIZE(all_sinks); s++) {
		const char *ct;
		char *out;
		size_t len;
		json_t *j;

		if (all_sinks[s] == SINK_WEBHOOK)
			continue; /* carries the summary whole, and needs valid UTF-8 */
		assert_int_equal(render_for_sink(all_sinks[s], &ev, &ctx, &out, &len, &ct), 0);
		j = json_loads(out, 0, NULL);
		assert_non_null(j);
		if (all_sinks[s] == SINK_PAGERDUTY) {
			const char *p = jpath(j, "payload/summary");

			assert_true(strlen(p) <= 1024);
			assert_true(ends_with(p, "\xe2\x80\xa6"));
		}
		if (all_sinks[s] == SINK_TEAMS)
			assert_true(strlen(jpath(j, "attachments/0/content/body/1/text")) <= 3000);
		json_decref(j);
		free(out);
	}
	strbuf_free(&sum);
}

/* ---- what goes where ---- */

static void
test_routing_key_only_in_pagerduty(void **state)
{
	struct render_ctx ctx = {HOST, ROUTING_KEY, AM_TIMEOUT};

	(void)state;
	for (size_t s = 0; s < ARRAY_SIZE(all_sinks); s++) {
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct alert_event ev = fixture(cases[i]);
			const char *ct;
			char *out;
			size_t len;

			assert_int_equal(render_for_sink(all_sinks[s], &ev, &ctx, &out, &len, &ct), 0);
			if (all_sinks[s] == SINK_PAGERDUTY)
				assert_non_null(strstr(out, ROUTING_KEY));
			else
				assert_null(strstr(out, ROUTING_KEY));
			free(out);
		}
	}
}

static void
test_null_strings(void **state)
{
	struct render_ctx ctx = {NULL, ROUTING_KEY, 0};
	struct alert_event ev = {.kind = EV_FIRING, .severity = SEV_WARNING};

	(void)state;
	/* the engine never sends NULL strings, but a renderer must not crash
	 * on them (the webhook document needs them and says -ENOMEM) */
	for (size_t s = 1; s < ARRAY_SIZE(all_sinks); s++) {
		const char *ct;
		char *out;
		size_t len;

		assert_int_equal(render_for_sink(all_sinks[s], &ev, &ctx, &out, &len, &ct), 0);
		free(out);
	}
}

static void
test_pagerduty(void **state)
{
	static const struct {
		enum severity sev;
		const char *pd;
	} map[] = {
		{SEV_CRITICAL, "critical"},
		{SEV_UNKNOWN, "error"},
		{SEV_WARNING, "warning"},
		{SEV_INFO, "info"},
	};
	struct alert_event ev = fixture("resolved");
	char *out;
	size_t len;
	json_t *j;

	(void)state;
	/* a resolve is routing_key, event_action, dedup_key and nothing else */
	assert_int_equal(render_pagerduty(&ev, ROUTING_KEY, HOST, &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_int_equal(json_object_size(j), 3);
	assert_string_equal(jpath(j, "event_action"), "resolve");
	assert_string_equal(jpath(j, "dedup_key"), ev.alert_id);
	assert_string_equal(jpath(j, "routing_key"), ROUTING_KEY);
	json_decref(j);
	free(out);

	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		ev = fixture("warning_missing");
		ev.severity = map[i].sev;
		assert_int_equal(render_pagerduty(&ev, ROUTING_KEY, "", &out, &len), 0);
		j = json_loads(out, 0, NULL);
		assert_string_equal(jpath(j, "event_action"), "trigger");
		assert_string_equal(jpath(j, "payload/severity"), map[i].pd);
		/* source is required: without a host name, the program's */
		assert_string_equal(jpath(j, "payload/source"), "kmswatch");
		assert_string_equal(jpath(j, "payload/custom_details/missing/1"), "203.0.113.0/24");
		json_decref(j);
		free(out);
	}
	/* repeat: trigger again with the same dedup_key (appends) */
	ev = fixture("repeat");
	assert_int_equal(render_pagerduty(&ev, ROUTING_KEY, HOST, &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_string_equal(jpath(j, "event_action"), "trigger");
	assert_string_equal(jpath(j, "dedup_key"), ev.alert_id);
	json_decref(j);
	free(out);

	assert_int_equal(render_pagerduty(&ev, NULL, HOST, &out, &len), -EINVAL);
	assert_int_equal(render_pagerduty(&ev, "", HOST, &out, &len), -EINVAL);
}

static bool
label_name_ok(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static json_t *
am_render(const struct alert_event *ev, const char *host, int64_t timeout)
{
	char *out;
	size_t len;
	json_t *j;

	assert_int_equal(render_alertmanager(ev, host, timeout, &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_array(j));
	free(out);
	return j;
}

static void
test_alertmanager_dedup_across_hosts(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct alert_event ev = fixture(cases[i]);
		json_t *a = am_render(&ev, "monitor-1", AM_TIMEOUT);
		json_t *b = am_render(&ev, "monitor-2", AM_TIMEOUT);
		const char *k;
		json_t *v;

		assert_int_equal(json_array_size(a), json_array_size(b));
		for (size_t n = 0; n < json_array_size(a); n++) {
			json_t *la = json_object_get(json_array_get(a, n), "labels");
			json_t *lb = json_object_get(json_array_get(b, n), "labels");

			/* same labels, so the same fingerprint in Alertmanager */
			assert_true(json_equal(la, lb));
			assert_null(json_object_get(la, "host"));
			json_object_foreach(la, k, v) {
				assert_true(label_name_ok(k));
				assert_true(json_is_string(v) && *json_string_value(v));
			}
			for (const char *const *want = (const char *const[]){
				     "alertname", "project", "check", "severity", NULL};
			     *want; want++)
				assert_non_null(json_object_get(la, *want));
		}
		assert_string_equal(jpath(a, "0/annotations/host"), "monitor-1");
		assert_string_equal(jpath(b, "0/annotations/host"), "monitor-2");
		json_decref(a);
		json_decref(b);
	}
}

static void
test_alertmanager_times(void **state)
{
	struct alert_event ev = fixture("warning_missing");
	json_t *j;

	(void)state;
	j = am_render(&ev, HOST, AM_TIMEOUT);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(jpath(j, "0/startsAt"), "2026-11-20T10:00:00Z");
	assert_string_equal(jpath(j, "0/endsAt"), "2026-11-22T11:00:00Z"); /* observed + 1h */
	assert_null(json_object_get(json_array_get(j, 0), "generatorURL"));
	json_decref(j);

	/* no timeout: no endsAt, Alertmanager's resolve_timeout applies */
	j = am_render(&ev, HOST, 0);
	assert_null(json_object_get(json_array_get(j, 0), "endsAt"));
	json_decref(j);

	/* resolved: endsAt = observed_at, labels as it fired */
	ev = fixture("resolved");
	j = am_render(&ev, HOST, AM_TIMEOUT);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(jpath(j, "0/endsAt"), "2026-11-23T10:00:00Z");
	assert_string_equal(jpath(j, "0/labels/severity"), "critical");
	json_decref(j);

	/* warning -> critical: the warning alert (other labels) ends now */
	ev = fixture("firing_critical");
	j = am_render(&ev, HOST, AM_TIMEOUT);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(jpath(j, "0/labels/severity"), "critical");
	assert_string_equal(jpath(j, "0/endsAt"), "2026-11-22T11:00:00Z");
	assert_string_equal(jpath(j, "1/labels/severity"), "warning");
	assert_string_equal(jpath(j, "1/endsAt"), "2026-11-22T10:00:00Z");
	assert_string_equal(jpath(j, "0/labels/alertname"), "KmswatchAzureSecretExpiry");
	json_decref(j);

	/* a repeat is not a change: one alert */
	ev = fixture("repeat");
	j = am_render(&ev, HOST, AM_TIMEOUT);
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
}

static void
test_alertmanager_alertnames(void **state)
{
	char seen[CHK__COUNT][64];

	(void)state;
	for (int c = 0; c < CHK__COUNT; c++) {
		struct alert_event ev = fixture("warning_missing");
		const char *name;
		json_t *j;

		ev.check = (enum check_id)c;
		j = am_render(&ev, HOST, AM_TIMEOUT);
		name = jpath(j, "0/labels/alertname");
		assert_non_null(name);
		assert_true(label_name_ok(name)); /* a valid metric-like name too */
		assert_memory_equal(name, "Kmswatch", 8);
		for (int d = 0; d < c; d++)
			assert_string_not_equal(seen[d], name);
		snprintf(seen[c], sizeof(seen[c]), "%s", name);
		json_decref(j);
	}
	assert_string_equal(seen[CHK_ATLAS_CONTROL_PLANE_IPS], "KmswatchAtlasControlPlaneIps");
	assert_string_equal(seen[CHK_EAR_VALID], "KmswatchEarValid");
}

static void
test_dispatch(void **state)
{
	struct render_ctx ctx = {HOST, NULL, AM_TIMEOUT};
	struct alert_event ev = fixture("firing_critical");
	const char *ct;
	char *a, *b;
	size_t la, lb;

	(void)state;
	assert_int_equal(render_for_sink(SINK_WEBHOOK, &ev, &ctx, &a, &la, &ct), 0);
	assert_int_equal(render_webhook(&ev, HOST, &b, &lb), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* PagerDuty cannot do without its routing key */
	assert_int_equal(render_for_sink(SINK_PAGERDUTY, &ev, &ctx, &a, &la, &ct), -EINVAL);
	assert_int_equal(render_for_sink((enum sink_type)99, &ev, &ctx, &a, &la, &ct), -EINVAL);
	assert_int_equal(render_for_sink(SINK_SLACK, &ev, NULL, &a, &la, &ct), -EINVAL);
	assert_int_equal(render_for_sink(SINK_SLACK, NULL, &ctx, &a, &la, &ct), -EINVAL);
}

static void
test_teams_card(void **state)
{
	struct alert_event ev = fixture("resolved");
	char *out;
	size_t len;
	json_t *j, *card;

	(void)state;
	assert_int_equal(render_teams(&ev, HOST, &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_string_equal(jpath(j, "type"), "message");
	assert_int_equal(json_array_size(json_object_get(j, "attachments")), 1);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(j, "attachments"), 0),
						 "contentUrl")));
	assert_string_equal(jpath(j, "attachments/0/contentType"),
			    "application/vnd.microsoft.card.adaptive");
	card = json_object_get(json_array_get(json_object_get(j, "attachments"), 0), "content");
	assert_string_equal(jpath(card, "version"), RENDER_ADAPTIVE_CARD_VERSION);
	assert_string_equal(jpath(card, "body/0/color"), "good");
	/* no Teams-only "msteams" key: the official schema forbids it */
	assert_null(json_object_get(card, "msteams"));
	json_decref(j);
	free(out);
}

/* jansson's allocations fail after the first fail_after ones. */
static long fail_after = -1;

static void *
failing_malloc(size_t n)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	return malloc(n);
}

static void
test_out_of_memory(void **state)
{
	struct render_ctx ctx = {HOST, ROUTING_KEY, AM_TIMEOUT};

	(void)state;
	/* every failure point reports -ENOMEM and leaks nothing (ASan) */
	for (size_t s = 1; s < ARRAY_SIZE(all_sinks); s++) {
		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct alert_event ev = fixture(cases[i]);
			int r = -ENOMEM;

			for (long n = 0; r == -ENOMEM && n < 10000; n++) {
				const char *ct;
				char *out = NULL;
				size_t len;

				fail_after = n;
				json_set_alloc_funcs(failing_malloc, free);
				r = render_for_sink(all_sinks[s], &ev, &ctx, &out, &len, &ct);
				json_set_alloc_funcs(malloc, free);
				assert_true(r == 0 || r == -ENOMEM);
				if (r == 0)
					free(out);
			}
			assert_int_equal(r, 0);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_document),
		cmocka_unit_test(test_webhook_missing_list_and_no_previous),
		cmocka_unit_test(test_signature_spec_example),
		cmocka_unit_test(test_signature_bad_secret),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_slack_limits_and_escaping),
		cmocka_unit_test(test_long_text_all_sinks),
		cmocka_unit_test(test_routing_key_only_in_pagerduty),
		cmocka_unit_test(test_null_strings),
		cmocka_unit_test(test_pagerduty),
		cmocka_unit_test(test_alertmanager_dedup_across_hosts),
		cmocka_unit_test(test_alertmanager_times),
		cmocka_unit_test(test_alertmanager_alertnames),
		cmocka_unit_test(test_dispatch),
		cmocka_unit_test(test_teams_card),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
