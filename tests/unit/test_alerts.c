/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the alert engine: every transition, repeat timing, project
 * removal, checks that did not run, and the persisted form.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alerts.h"
#include "checks.h"
#include "config.h"
#include "util.h"

#define P1 "65a1b2c3d4e5f60718293a00"
#define P2 "65a1b2c3d4e5f60718293a01"

static const struct alert_policy pol = {.repeat_interval = 3600, .send_resolved = true};

static void
round_of(struct findings *f, enum check_id c, enum severity s, const char *subject)
{
	f->evaluated[c] = true;
	findings_add(f, c, s, PROV_AZURE, subject, "%s is %s", check_name(c), severity_name(s));
}

static void
observe(struct alert_engine *e, const char *pid, enum check_id c, enum severity s,
	const char *subject, time_t now, struct alert_events *out)
{
	struct findings f = {0};

	round_of(&f, c, s, subject);
	assert_int_equal(alerts_observe(e, pid, "proj", &f, &pol, now, out), 0);
	findings_free(&f);
}

static void
test_fire_once_then_quiet(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	assert_int_equal(alerts_new(&e), 0);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 1000, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	assert_int_equal(ev.v[0].severity, SEV_CRITICAL);
	assert_int_equal(ev.v[0].previous_severity, SEV_OK);
	assert_int_equal(ev.v[0].started_at, 1000);
	assert_string_equal(ev.v[0].project_id, P1);
	assert_int_equal(strlen(ev.v[0].alert_id), ALERT_ID_LEN);
	alert_events_free(&ev);
	/* the same state again and again: nothing */
	for (time_t t = 1300; t < 1000 + 3600; t += 300) {
		observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", t, &ev);
		assert_int_equal(ev.n, 0);
	}
	assert_int_equal(alerts_count(e), 1);
	alerts_free(e);
}

static void
test_repeat_interval(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 0, &ev);
	alert_events_free(&ev);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 3599, &ev);
	assert_int_equal(ev.n, 0);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 3600, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_REPEAT);
	assert_int_equal(ev.v[0].started_at, 0);
	alert_events_free(&ev);
	/* tick does not double a repeat that observe just sent */
	assert_int_equal(alerts_tick(e, &pol, 3600, &ev), 0);
	assert_int_equal(ev.n, 0);
	assert_int_equal(alerts_tick(e, &pol, 7200, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_REPEAT);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
observe_missing(struct alert_engine *e, const char *missing, time_t now, struct alert_events *out)
{
	struct findings f = {0};
	struct finding *x;

	f.evaluated[CHK_AZURE_ALLOWLIST] = true;
	x = findings_add(&f, CHK_AZURE_ALLOWLIST, SEV_CRITICAL, PROV_AZURE, "vault1",
			 "does not admit %s", missing);
	assert_non_null(x);
	x->missing = strdup(missing);
	assert_int_equal(alerts_observe(e, P1, "proj", &f, &pol, now, out), 0);
	findings_free(&f);
}

/* A firing alert whose set of missing addresses changes is announced again
 * at once (what to fix changed); the same set in another order is not. */
static void
test_missing_set_change_repeats_at_once(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe_missing(e, "10.0.0.0/24,192.0.2.1/32", 0, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	alert_events_free(&ev);
	observe_missing(e, "192.0.2.1/32,10.0.0.0/24", 300, &ev);
	assert_int_equal(ev.n, 0);
	observe_missing(e, "10.0.0.0/24,192.0.2.1/32,2001:db8::/48", 600, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_REPEAT);
	assert_int_equal(ev.v[0].severity, SEV_CRITICAL);
	assert_int_equal(ev.v[0].started_at, 0);
	assert_string_equal(ev.v[0].missing, "10.0.0.0/24,192.0.2.1/32,2001:db8::/48");
	alert_events_free(&ev);
	/* a partial fix is news too */
	observe_missing(e, "2001:db8::/48", 900, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_REPEAT);
	assert_string_equal(ev.v[0].missing, "2001:db8::/48");
	alert_events_free(&ev);
	/* the repeat clock restarted at the last announcement */
	observe_missing(e, "2001:db8::/48", 900 + 3599, &ev);
	assert_int_equal(ev.n, 0);
	observe_missing(e, "2001:db8::/48", 900 + 3600, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_REPEAT);
	alert_events_free(&ev);
	assert_int_equal(alerts_count(e), 1);
	alerts_free(e);
}

static void
test_severity_change_both_ways(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, "secret", 10, &ev);
	alert_events_free(&ev);
	observe(e, P1, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, "secret", 20, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	assert_int_equal(ev.v[0].severity, SEV_CRITICAL);
	assert_int_equal(ev.v[0].previous_severity, SEV_WARNING);
	assert_int_equal(ev.v[0].started_at, 10);
	alert_events_free(&ev);
	observe(e, P1, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, "secret", 30, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].previous_severity, SEV_CRITICAL);
	assert_int_equal(ev.v[0].severity, SEV_WARNING);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
test_resolve(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	alert_events_free(&ev);
	observe(e, P1, CHK_EAR_VALID, SEV_OK, "azure", 20, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_RESOLVED);
	assert_int_equal(ev.v[0].severity, SEV_OK);
	assert_int_equal(ev.v[0].previous_severity, SEV_CRITICAL);
	assert_int_equal(ev.v[0].started_at, 10);
	assert_int_equal(ev.v[0].observed_at, 20);
	/* the OK finding explains the resolution */
	assert_string_equal(ev.v[0].summary, "ear.valid is ok");
	alert_events_free(&ev);
	assert_int_equal(alerts_count(e), 0);
	observe(e, P1, CHK_EAR_VALID, SEV_OK, "azure", 30, &ev);
	assert_int_equal(ev.n, 0);
	alerts_free(e);
}

static void
test_unevaluated_check_keeps_alert(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};
	struct findings f = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	alert_events_free(&ev);
	/* Atlas unreachable: only atlas.access ran */
	round_of(&f, CHK_ATLAS_ACCESS, SEV_UNKNOWN, "atlas-api");
	assert_int_equal(alerts_observe(e, P1, "proj", &f, &pol, 20, &ev), 0);
	findings_free(&f);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].check, CHK_ATLAS_ACCESS);
	assert_int_equal(ev.v[0].severity, SEV_UNKNOWN);
	alert_events_free(&ev);
	assert_int_equal(alerts_count(e), 2);
	alerts_free(e);
}

static void
test_projects_are_separate(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	observe(e, P2, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	assert_int_equal(ev.n, 2);
	assert_string_not_equal(ev.v[0].alert_id, ev.v[1].alert_id);
	alert_events_free(&ev);
	observe(e, P2, CHK_EAR_VALID, SEV_OK, "azure", 20, &ev);
	assert_int_equal(ev.n, 1);
	assert_string_equal(ev.v[0].project_id, P2);
	alert_events_free(&ev);
	assert_int_equal(alerts_count(e), 1);
	alerts_free(e);
}

static void
test_info_is_an_event_not_an_alert(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_CONFIG, SEV_INFO, "azure", 10, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_INFO);
	assert_int_equal(alerts_count(e), 0);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
test_drop_project(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	observe(e, P2, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	alert_events_free(&ev);
	assert_int_equal(alerts_drop_project(e, P1, 50, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_RESOLVED);
	assert_non_null(strstr(ev.v[0].summary, "removed from the configuration"));
	alert_events_free(&ev);
	assert_int_equal(alerts_drop_project(e, P1, 60, &ev), 0);
	assert_int_equal(ev.n, 0);
	assert_int_equal(alerts_count(e), 1);
	alerts_free(e);
}

static void
test_stable_ids(void **state)
{
	char a[ALERT_ID_LEN + 1], b[ALERT_ID_LEN + 1], c[ALERT_ID_LEN + 1];

	alerts_make_id(P1, CHK_EAR_VALID, "azure", a);
	alerts_make_id(P1, CHK_EAR_VALID, "azure", b);
	assert_string_equal(a, b);
	/* ids are kept in state files and sent to sinks: pinned, so that a
	 * change of hash code cannot renumber every open alert (the value is
	 * sha256(project id NUL check NUL subject NUL), first 16 bytes) */
	assert_string_equal(a, "124915903cd690d24898f2190db6dcee");
	alerts_make_id(P1, CHK_EAR_VALID, "azur", c);
	assert_string_not_equal(a, c);
	alerts_make_id(P1, CHK_EAR_ENABLED, "azure", c);
	assert_string_not_equal(a, c);
}

/* kmswatch's own credential: a scope of no project, keyed by the
 * organization, separate from every project's, persisted with its org_id;
 * alerts of no provider survive a save and load too. */
static void
test_self_scope(void **state)
{
	struct alert_engine *e, *e2;
	struct alert_events ev = {0};
	struct findings f = {0};
	const struct alert *a;
	char id[ALERT_ID_LEN + 1], *json = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(alerts_new(&e), 0);
	f.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY] = true;
	findings_add(&f, CHK_ATLAS_CREDENTIAL_EXPIRY, SEV_WARNING, PROV_NONE, "mdb_sa_sk_...1e2d",
		     "expires in 20 days");
	assert_int_equal(alerts_observe_self(e, "5f1a2b3c4d5e6f7081920a1b", &f, &pol, 100, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_true(alert_event_is_self(&ev.v[0]));
	assert_string_equal(ev.v[0].project_id, "");
	assert_string_equal(ev.v[0].project_name, ALERTS_SELF_NAME);
	assert_string_equal(ev.v[0].org_id, "5f1a2b3c4d5e6f7081920a1b");
	alerts_make_id("org:5f1a2b3c4d5e6f7081920a1b", CHK_ATLAS_CREDENTIAL_EXPIRY,
		       "mdb_sa_sk_...1e2d", id);
	assert_string_equal(ev.v[0].alert_id, id);
	alert_events_free(&ev);
	/* a project's round leaves the self scope alone, and the reverse */
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 110, &ev);
	assert_int_equal(ev.n, 1);
	assert_false(alert_event_is_self(&ev.v[0]));
	assert_null(ev.v[0].org_id);
	alert_events_free(&ev);
	{
		struct findings g = {0};

		g.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY] = true;
		g.evaluated[CHK_EAR_VALID] = true;
		assert_int_equal(alerts_observe(e, P1, "proj", &g, &pol, 120, &ev), 0);
		assert_int_equal(ev.n, 1); /* ear.valid resolves, the credential stays */
		assert_int_equal(ev.v[0].check, CHK_EAR_VALID);
		alert_events_free(&ev);
		observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 125, &ev);
		alert_events_free(&ev);
	}
	/* an empty project id is refused: it is the self scope's */
	assert_int_equal(alerts_observe(e, "", "x", &f, &pol, 120, &ev), -EINVAL);
	assert_int_equal(alerts_drop_project(e, "", 120, &ev), -EINVAL);
	assert_int_equal(alerts_count(e), 2);

	/* persisted: org_id, and provider "none" (which loads back) */
	assert_int_equal(alerts_save(e, &json, &len), 0);
	assert_non_null(strstr(json, "\"org_id\": \"5f1a2b3c4d5e6f7081920a1b\""));
	assert_non_null(strstr(json, "\"provider\": \"none\""));
	assert_int_equal(alerts_new(&e2), 0);
	assert_int_equal(alerts_load(e2, json, len), 0);
	free(json);
	assert_int_equal(alerts_count(e2), 2);
	a = alerts_find(e2, id);
	assert_non_null(a);
	assert_string_equal(a->org_id, "5f1a2b3c4d5e6f7081920a1b");
	assert_int_equal(a->provider, PROV_NONE);
	/* the same finding after the restart: no news */
	assert_int_equal(alerts_observe_self(e2, "5f1a2b3c4d5e6f7081920a1b", &f, &pol, 200, &ev), 0);
	assert_int_equal(ev.n, 0);
	/* another organization: the old one's alert resolves (twice seen
	 * clear, the default flapping guard being 1 here) */
	assert_int_equal(alerts_observe_self(e2, "0123456789abcdef01234567", &f, &pol, 300, &ev), 0);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	assert_string_equal(ev.v[0].org_id, "0123456789abcdef01234567");
	assert_int_equal(ev.v[1].kind, EV_RESOLVED);
	assert_string_equal(ev.v[1].alert_id, id);
	alert_events_free(&ev);
	/* no longer applies: resolved once, saying why; projects untouched */
	assert_int_equal(alerts_drop_self(e2, "kmswatch no longer uses an Atlas service account", 400,
					  &ev),
			 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_RESOLVED);
	assert_non_null(strstr(ev.v[0].summary, "no longer uses an Atlas service account; was: "));
	alert_events_free(&ev);
	assert_int_equal(alerts_count(e2), 1);
	assert_int_equal(alerts_drop_self(e2, NULL, 500, &ev), 0);
	assert_int_equal(ev.n, 0);
	findings_free(&f);
	alerts_free(e2);
	alerts_free(e);
}

/* State written before PROV_NONE was saved as "none" still loads. */
static void
test_load_empty_provider(void **state)
{
	static const char old[] =
		"{\"version\":1,\"alerts\":[{\"id\":\"0123456789abcdef0123456789abcdef\","
		"\"project_id\":\"65a1b2c3d4e5f60718293a00\",\"project_name\":\"p\","
		"\"check\":\"atlas.access\",\"provider\":\"\",\"subject\":\"atlas-api\","
		"\"severity\":\"unknown\",\"summary\":\"s\",\"started_at\":1,\"last_notified\":1,"
		"\"last_observed\":1}]}";
	struct alert_engine *e;

	(void)state;
	assert_int_equal(alerts_new(&e), 0);
	assert_int_equal(alerts_load(e, old, sizeof(old) - 1), 0);
	assert_int_equal(alerts_count(e), 1);
	assert_int_equal(alerts_first(e)->provider, PROV_NONE);
	alerts_free(e);
}

static void
test_save_load_roundtrip(void **state)
{
	struct alert_engine *e, *e2;
	struct alert_events ev = {0};
	struct findings f = {0};
	struct finding *fi;
	char *json, *json2;
	size_t len, len2;

	alerts_new(&e);
	f.evaluated[CHK_AZURE_SECRET_EXPIRY] = true;
	fi = findings_add(&f, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, PROV_AZURE, "hint:Xy9",
			  "expires \"soon\"\n");
	fi->has_days_left = true;
	fi->days_left = 12;
	alerts_observe(e, P1, "payments", &f, &pol, 100, &ev);
	findings_free(&f);
	alert_events_free(&ev);
	assert_int_equal(alerts_save(e, &json, &len), 0);
	alerts_new(&e2);
	assert_int_equal(alerts_load(e2, json, len), 0);
	assert_int_equal(alerts_count(e2), 1);
	assert_int_equal(alerts_first(e2)->days_left, 12);
	assert_int_equal(alerts_first(e2)->started_at, 100);
	assert_int_equal(alerts_save(e2, &json2, &len2), 0);
	assert_string_equal(json, json2);
	/* after a restart the same state announces nothing */
	observe(e2, P1, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, "hint:Xy9", 200, &ev);
	assert_int_equal(ev.n, 0);
	free(json);
	free(json2);
	alerts_free(e);
	alerts_free(e2);
}

static void
test_load_damaged(void **state)
{
	static const char *bad[] = {
		"", "{", "[]", "{\"version\":2,\"alerts\":[]}", "{\"version\":1}",
		"{\"version\":1,\"alerts\":[{\"id\":\"x\"}]}",
		"{\"version\":1,\"alerts\":[{\"id\":\"0123456789abcdef0123456789abcdef\","
		"\"project_id\":\"p\",\"project_name\":\"n\",\"check\":\"no.such\",\"provider\":\"azure\","
		"\"subject\":\"s\",\"severity\":\"critical\",\"summary\":\"x\",\"started_at\":1,"
		"\"last_notified\":1,\"last_observed\":1}]}",
	};
	struct alert_engine *e;

	alerts_new(&e);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(alerts_load(e, bad[i], strlen(bad[i])), -EBADMSG);
		assert_int_equal(alerts_count(e), 0);
	}
	alerts_free(e);
}

static void
observe_pol(struct alert_engine *e, const struct alert_policy *p, const char *pid,
	    enum check_id c, enum severity s, const char *subject, time_t now,
	    struct alert_events *out)
{
	struct findings f = {0};

	round_of(&f, c, s, subject);
	assert_int_equal(alerts_observe(e, pid, "proj", &f, p, now, out), 0);
	findings_free(&f);
}

static void
test_flapping_guard(void **state)
{
	struct alert_policy p = pol;
	struct alert_engine *e;
	struct alert_events ev = {0};

	p.confirm_firing = 2;
	p.confirm_resolved = 2;
	alerts_new(&e);
	/* one bad observation: tracked, not announced */
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	assert_int_equal(ev.n, 0);
	assert_int_equal(alerts_count(e), 1);
	assert_false(alerts_first(e)->announced);
	/* it flapped back: forgotten without a word */
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_OK, "azure", 20, &ev);
	assert_int_equal(ev.n, 0);
	assert_int_equal(alerts_count(e), 0);
	/* two in a row: announced, started at the confirming observation */
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 30, &ev);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 40, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	assert_int_equal(ev.v[0].started_at, 40);
	alert_events_free(&ev);
	/* one good observation does not resolve; a bad one resets the count */
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_OK, "azure", 50, &ev);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 60, &ev);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_OK, "azure", 70, &ev);
	assert_int_equal(ev.n, 0);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_OK, "azure", 80, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_RESOLVED);
	alert_events_free(&ev);
	/* severity changes need confirming too */
	observe_pol(e, &p, P2, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, "s", 10, &ev);
	observe_pol(e, &p, P2, CHK_AZURE_SECRET_EXPIRY, SEV_WARNING, "s", 20, &ev);
	alert_events_free(&ev);
	observe_pol(e, &p, P2, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, "s", 30, &ev);
	assert_int_equal(ev.n, 0);
	observe_pol(e, &p, P2, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, "s", 40, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].previous_severity, SEV_WARNING);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
test_silence_holds_then_releases(void **state)
{
	struct cfg_silence sil = {.project = "proj", .check = "ear.valid", .until = 100,
				  .comment = "CHG-1"};
	struct alert_policy p = pol;
	struct alert_engine *e;
	struct alert_events ev = {0};

	p.silences = &sil;
	p.n_silences = 1;
	alerts_new(&e);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	assert_int_equal(ev.n, 1);
	assert_true(ev.v[0].held);
	assert_non_null(strstr(ev.v[0].note, "silenced until 1970-01-01T00:01:40Z: CHG-1"));
	alert_events_free(&ev);
	/* another check is not silenced */
	observe_pol(e, &p, P1, CHK_EAR_ENABLED, SEV_CRITICAL, "azure", 10, &ev);
	assert_false(ev.v[0].held);
	assert_null(ev.v[0].note);
	alert_events_free(&ev);
	/* the silence expires while it still fires: sent now */
	assert_int_equal(alerts_tick(e, &p, 99, &ev), 0);
	assert_int_equal(ev.n, 0);
	assert_int_equal(alerts_tick(e, &p, 100, &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	assert_false(ev.v[0].held);
	assert_int_equal(ev.v[0].check, CHK_EAR_VALID);
	assert_int_equal(ev.v[0].started_at, 10);
	alert_events_free(&ev);
	assert_int_equal(alerts_tick(e, &p, 200, &ev), 0);
	assert_int_equal(ev.n, 0);
	alerts_free(e);
}

static void
test_silence_by_project_id_and_all_checks(void **state)
{
	struct cfg_silence sil = {.project = P1, .until = 1000};
	struct alert_policy p = pol;
	struct alert_engine *e;
	struct alert_events ev = {0};

	p.silences = &sil;
	p.n_silences = 1;
	alerts_new(&e);
	observe_pol(e, &p, P1, CHK_ATLAS_ACCESS, SEV_UNKNOWN, "atlas-api", 10, &ev);
	observe_pol(e, &p, P2, CHK_ATLAS_ACCESS, SEV_UNKNOWN, "atlas-api", 10, &ev);
	assert_int_equal(ev.n, 2);
	assert_true(ev.v[0].held);
	assert_false(ev.v[1].held);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
test_inhibition(void **state)
{
	struct alert_engine *e;
	struct alert_events ev = {0};
	struct findings f = {0};

	alerts_new(&e);
	/* same round: ear.valid critical holds key_age back */
	round_of(&f, CHK_AZURE_KEY_AGE, SEV_WARNING, "key");
	round_of(&f, CHK_EAR_VALID, SEV_CRITICAL, "azure");
	assert_int_equal(alerts_observe(e, P1, "proj", &f, &pol, 10, &ev), 0);
	findings_free(&f);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].check, CHK_EAR_VALID);
	assert_false(ev.v[0].held);
	assert_int_equal(ev.v[1].check, CHK_AZURE_KEY_AGE);
	assert_true(ev.v[1].held);
	alert_events_free(&ev);
	/* another project's key_age is not affected */
	observe(e, P2, CHK_AZURE_KEY_VERSION, SEV_WARNING, "key", 10, &ev);
	assert_false(ev.v[0].held);
	alert_events_free(&ev);
	/* ear.valid resolves: key_age, still firing, is sent */
	memset(&f, 0, sizeof(f));
	round_of(&f, CHK_AZURE_KEY_AGE, SEV_WARNING, "key");
	round_of(&f, CHK_EAR_VALID, SEV_OK, "azure");
	assert_int_equal(alerts_observe(e, P1, "proj", &f, &pol, 20, &ev), 0);
	findings_free(&f);
	assert_int_equal(ev.n, 2);
	assert_int_equal(ev.v[0].kind, EV_RESOLVED);
	assert_int_equal(ev.v[1].kind, EV_FIRING);
	assert_int_equal(ev.v[1].check, CHK_AZURE_KEY_AGE);
	assert_false(ev.v[1].held);
	alert_events_free(&ev);
	alerts_free(e);
}

static void
test_resolution_goes_to_sinks_that_got_the_firing(void **state)
{
	struct alert_engine *e, *e2;
	struct alert_events ev = {0};
	char id[ALERT_ID_LEN + 1], *json;
	size_t len;

	alerts_new(&e);
	observe(e, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	memcpy(id, ev.v[0].alert_id, sizeof(id));
	alert_events_free(&ev);
	assert_int_equal(alerts_note_sink(e, id, "slack"), 0);
	assert_int_equal(alerts_note_sink(e, id, "pd"), 0);
	assert_int_equal(alerts_note_sink(e, id, "slack"), 0);
	assert_int_equal(alerts_note_sink(e, "nope", "slack"), -ENOENT);
	/* survives a restart */
	assert_int_equal(alerts_save(e, &json, &len), 0);
	alerts_new(&e2);
	assert_int_equal(alerts_load(e2, json, len), 0);
	free(json);
	observe(e2, P1, CHK_EAR_VALID, SEV_OK, "azure", 20, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].n_sinks, 2);
	assert_string_equal(ev.v[0].sinks[0], "slack");
	assert_string_equal(ev.v[0].sinks[1], "pd");
	alert_events_free(&ev);
	alerts_free(e);
	alerts_free(e2);
}

static void
test_pending_state_persists(void **state)
{
	struct alert_policy p = pol;
	struct alert_engine *e, *e2;
	struct alert_events ev = {0};
	char *json;
	size_t len;

	p.confirm_firing = 2;
	alerts_new(&e);
	observe_pol(e, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 10, &ev);
	assert_int_equal(alerts_save(e, &json, &len), 0);
	alerts_new(&e2);
	assert_int_equal(alerts_load(e2, json, len), 0);
	free(json);
	observe_pol(e2, &p, P1, CHK_EAR_VALID, SEV_CRITICAL, "azure", 20, &ev);
	assert_int_equal(ev.n, 1);
	assert_int_equal(ev.v[0].kind, EV_FIRING);
	alert_events_free(&ev);
	alerts_free(e);
	alerts_free(e2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fire_once_then_quiet),
		cmocka_unit_test(test_repeat_interval),
		cmocka_unit_test(test_missing_set_change_repeats_at_once),
		cmocka_unit_test(test_severity_change_both_ways),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_unevaluated_check_keeps_alert),
		cmocka_unit_test(test_projects_are_separate),
		cmocka_unit_test(test_info_is_an_event_not_an_alert),
		cmocka_unit_test(test_drop_project),
		cmocka_unit_test(test_stable_ids),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_self_scope),
		cmocka_unit_test(test_load_empty_provider),
		cmocka_unit_test(test_load_damaged),
		cmocka_unit_test(test_flapping_guard),
		cmocka_unit_test(test_silence_holds_then_releases),
		cmocka_unit_test(test_silence_by_project_id_and_all_checks),
		cmocka_unit_test(test_inhibition),
		cmocka_unit_test(test_resolution_goes_to_sinks_that_got_the_firing),
		cmocka_unit_test(test_pending_state_persists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
