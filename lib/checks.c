/* SPDX-License-Identifier: ISC */
/*
 * checks — the check catalogue of docs/INTERFACE.md (ids, severities, journald
 * priorities, Nagios codes, MESSAGE_IDs), the findings list, and the pure
 * checks: atlas.access, ear.valid, ear.enabled, ear.config. A check takes
 * parsed inputs, thresholds and `now`, and returns findings; it reads no
 * clock and does no I/O. Summaries are one line each: what is wrong, then
 * what to do, because that line is the journal MESSAGE and the chat text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atlas.h"
#include "checks.h"
#include "config.h"
#include "kms.h"
#include "msgid.h"
#include "util.h"

#define DAY 86400

/* ---- helpers the provider checks share (checks.h) -------------------- */

/* Whole days, rounded towards minus infinity: 23 hours left is 0 days,
 * expired an hour ago is -1. */
int64_t
chk_floor_days(int64_t secs)
{
	return secs >= 0 ? secs / DAY : -((-(secs + 1)) / DAY) - 1;
}

const char *
chk_plural(int64_t n)
{
	return n == 1 || n == -1 ? "" : "s";
}

/* "in 5 days (2026-11-25T10:00:00Z)", "in less than a day (...)",
 * "3 days ago (...)" */
void
chk_when(int64_t left, time_t at, char *buf, size_t len)
{
	char t[UTIL_TIME_LEN];
	int64_t d;

	util_format_time(at, t, sizeof(t));
	if (left > 0) {
		d = left / DAY;
		if (d == 0)
			snprintf(buf, len, "in less than a day (%s)", t);
		else
			snprintf(buf, len, "in %lld day%s (%s)", (long long)d, chk_plural(d), t);
	} else {
		d = -left / DAY;
		if (d == 0)
			snprintf(buf, len, "less than a day ago (%s)", t);
		else
			snprintf(buf, len, "%lld day%s ago (%s)", (long long)d, chk_plural(d), t);
	}
}

/* Severity of something that stops working `left` seconds from now. */
enum severity
chk_expiry_severity(int64_t left, const struct cfg_threshold *t, bool window)
{
	if (left <= 0)
		return SEV_CRITICAL;
	if (!window)
		return SEV_OK;
	if (left <= t->critical)
		return SEV_CRITICAL;
	if (left <= t->warning)
		return SEV_WARNING;
	return SEV_OK;
}

enum severity
chk_max_sev(enum severity a, enum severity b)
{
	return a > b ? a : b;
}

void
chk_set_days_left(struct finding *x, int64_t left)
{
	x->has_days_left = true;
	x->days_left = chk_floor_days(left);
}

/* ---- catalogue ------------------------------------------------------- */

/* The checks of Atlas and of kmswatch itself; each provider brings its
 * own rows (kms.h: struct kms_desc.checks). */
static const struct check_row core_rows[] = {
	{CHK_ATLAS_ACCESS, "atlas.access", MSGID_ATLAS_ACCESS, false, NULL},
	{CHK_EAR_VALID, "ear.valid", MSGID_EAR_VALID, false, NULL},
	{CHK_EAR_ENABLED, "ear.enabled", MSGID_EAR_ENABLED, false, NULL},
	{CHK_EAR_CONFIG, "ear.config", MSGID_EAR_CONFIG, false, NULL},
	{CHK_EAR_CLUSTERS, "ear.clusters", MSGID_EAR_CLUSTERS, false, NULL},
	{CHK_EAR_ROLE, "ear.role", MSGID_EAR_ROLE, false, NULL},
	{CHK_EAR_PRIVATE_ENDPOINT, "ear.private_endpoint", MSGID_EAR_PRIVATE_ENDPOINT, false, NULL},
	{CHK_ATLAS_EVENTS, "atlas.events", MSGID_ATLAS_EVENTS, false, NULL},
	{CHK_ATLAS_CONTROL_PLANE_IPS, "atlas.control_plane_ips", MSGID_ATLAS_CONTROL_PLANE_IPS,
	 false, NULL},
	{CHK_ATLAS_CREDENTIAL_EXPIRY, "atlas.credential_expiry", MSGID_ATLAS_CREDENTIAL_EXPIRY,
	 false, NULL},
};

/* A few dozen rows in all: looking one up costs the same at 10 or 10,000
 * projects, and a table built at start-up would need an init call every
 * user of this pure layer (fuzzers, tests) must remember. */
static const struct check_row *
catalogue_row(enum check_id c)
{
	for (size_t i = 0; i < ARRAY_SIZE(core_rows); i++)
		if (core_rows[i].id == c)
			return &core_rows[i];
	for (size_t k = 0; k < kms_count; k++)
		for (size_t i = 0; i < kms_table[k]->n_checks; i++)
			if (kms_table[k]->checks[i].id == c)
				return &kms_table[k]->checks[i];
	return NULL;
}

/* Out-of-range values come only from our own bugs; an empty string keeps
 * them from crashing a log call. */
const char *
check_name(enum check_id c)
{
	const struct check_row *r = catalogue_row(c);

	return r != NULL ? r->name : "";
}

/* Straight over the rows: loading state looks up every alert's check. */
int
check_from_name(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(core_rows); i++)
		if (strcmp(name, core_rows[i].name) == 0)
			return (int)core_rows[i].id;
	for (size_t k = 0; k < kms_count; k++)
		for (size_t i = 0; i < kms_table[k]->n_checks; i++)
			if (strcmp(name, kms_table[k]->checks[i].name) == 0)
				return (int)kms_table[k]->checks[i].id;
	return -EINVAL;
}

const char *
check_msgid(enum check_id c)
{
	const struct check_row *r = catalogue_row(c);

	return r != NULL ? r->msgid : "";
}

bool
check_held_while_ear_invalid(enum check_id c)
{
	const struct check_row *r = catalogue_row(c);

	return r != NULL && r->held_while_ear_invalid;
}

static const char *const sev_names[] = {
	[SEV_OK] = "ok",
	[SEV_INFO] = "info",
	[SEV_WARNING] = "warning",
	[SEV_UNKNOWN] = "unknown",
	[SEV_CRITICAL] = "critical",
};

const char *
severity_name(enum severity s)
{
	return (unsigned)s < ARRAY_SIZE(sev_names) ? sev_names[s] : "";
}

int
severity_from_name(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(sev_names); i++)
		if (strcmp(name, sev_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* journald PRIORITY of docs/INTERFACE.md: an ok finding is only ever logged as
 * a resolution, hence notice (5). */
int
severity_priority(enum severity s)
{
	switch (s) {
	case SEV_CRITICAL:
		return 2;
	case SEV_UNKNOWN:
		return 3;
	case SEV_WARNING:
		return 4;
	case SEV_OK:
		return 5;
	case SEV_INFO:
		return 6;
	}
	return 3;
}

/* Nagios plugin convention; info is not a problem, so it is OK (0). */
int
severity_nagios(enum severity s)
{
	switch (s) {
	case SEV_OK:
	case SEV_INFO:
		return 0;
	case SEV_WARNING:
		return 1;
	case SEV_CRITICAL:
		return 2;
	case SEV_UNKNOWN:
		return 3;
	}
	return 3;
}

const char *
provider_name(enum provider p)
{
	const struct kms_desc *k = kms_find(p);

	return k != NULL ? k->name : "";
}

const char *
provider_atlas_name(enum provider p)
{
	const struct kms_desc *k = kms_find(p);

	return k != NULL ? k->atlas_name : "NONE";
}

int
provider_from_name(const char *name)
{
	if (name == NULL)
		return -EINVAL;
	if (strcasecmp(name, "none") == 0)
		return PROV_NONE;
	for (size_t i = 0; i < kms_count; i++)
		if (strcasecmp(name, kms_table[i]->name) == 0)
			return (int)kms_table[i]->id;
	return -EINVAL;
}

/* The product names operators know from the Atlas UI. */
static const char *
provider_title(enum provider p)
{
	const struct kms_desc *k = kms_find(p);

	return k != NULL ? k->title : "no provider";
}

/* ---- findings -------------------------------------------------------- */

struct finding *
findings_add(struct findings *f, enum check_id check, enum severity sev, enum provider prov,
	     const char *subject, const char *fmt, ...)
{
	struct finding *x;
	char *subj, *summary;
	va_list ap;
	int n;

	if (f == NULL || fmt == NULL)
		return NULL;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct finding *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return NULL;
		v = realloc(f->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		f->v = v;
		f->cap = cap;
	}
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (summary = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(summary, (size_t)n + 1, fmt, ap);
	va_end(ap);
	subj = strdup(subject ? subject : "");
	if (subj == NULL) {
		free(summary);
		return NULL;
	}
	util_sanitize(subj);
	util_sanitize(summary);
	x = &f->v[f->n++];
	memset(x, 0, sizeof(*x));
	x->check = check;
	x->severity = sev;
	x->provider = prov;
	x->subject = subj;
	x->summary = summary;
	return x;
}

void
findings_free(struct findings *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i].subject);
		free(f->v[i].summary);
		free(f->v[i].missing);
	}
	free(f->v);
	memset(f, 0, sizeof(*f));
}

bool
check_on(const struct cfg_checks *c, enum check_id id)
{
	return c == NULL || c->enabled[id];
}

/* ---- atlas.access ---------------------------------------------------- */

/* "401 UNAUTHORIZED: You are not authorized", "429 RATE_LIMITED", or curl's
 * text for a transport failure: everything Atlas or curl told us. Atlas's
 * own detail wins over ours, which then mostly restates the status. */
static void
describe_answer(const struct atlas_fetch *f, char *buf, size_t len)
{
	const char *code = f->error != NULL ? f->error->error_code : "";
	const char *detail = f->error != NULL && f->error->detail[0] != '\0' ? f->error->detail
									     : f->detail;
	size_t off = 0;

	buf[0] = '\0';
	if (f->http_status > 0)
		off += (size_t)snprintf(buf + off, len - off, "%d", f->http_status);
	if (off < len && code[0] != '\0')
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "", code);
	if (off < len && detail[0] != '\0')
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ": " : "", detail);
	if (buf[0] == '\0')
		snprintf(buf, len, "no detail available");
}

static bool
code_has(const struct atlas_fetch *f, const char *needle)
{
	return f->error != NULL && strstr(f->error->error_code, needle) != NULL;
}

int
chk_atlas_access(const struct atlas_fetch *f, struct findings *out)
{
	char what[768], after[48] = "";
	struct finding *x = NULL;
	const int st = f != NULL ? f->http_status : 0;

	if (f == NULL || out == NULL)
		return -EINVAL;
	out->evaluated[CHK_ATLAS_ACCESS] = true;
	describe_answer(f, what, sizeof(what));
	if (f->retries > 0)
		snprintf(after, sizeof(after), " after %u %s", f->retries,
			 f->retries == 1 ? "retry" : "retries");

#define ADD(...) findings_add(out, CHK_ATLAS_ACCESS, SEV_UNKNOWN, PROV_NONE, "atlas-api", __VA_ARGS__)
	switch (f->outcome) {
	case ATLAS_FETCH_OK:
		x = findings_add(out, CHK_ATLAS_ACCESS, SEV_OK, PROV_NONE, "atlas-api",
				 "kmswatch reads the project's encryption-at-rest settings from "
				 "Atlas");
		break;
	case ATLAS_FETCH_TRANSPORT:
		x = ADD("kmswatch could not reach Atlas%s (%s): check DNS, the firewall or proxy "
			"towards atlas.base_url, and TLS trust (atlas.ca_file)",
			after, what);
		break;
	case ATLAS_FETCH_BAD_BODY:
		x = ADD("Atlas answered with a malformed encryption-at-rest document (%s), so "
			"kmswatch cannot judge the project's EAR state: check that "
			"atlas.base_url reaches Atlas itself, not a proxy or captive portal",
			what);
		break;
	case ATLAS_FETCH_AUTH:
		if (st == 0)
			x = ADD("kmswatch could not reach the Atlas token endpoint%s (%s): check "
				"DNS, the firewall or proxy towards atlas.base_url, and TLS trust "
				"(atlas.ca_file)",
				after, what);
		else if (st == 400 || st == 401 || st == 403)
			x = ADD("Atlas refused kmswatch's service account token request (%s): "
				"check atlas.service_account client_id and client_secret, and that "
				"the service account and its secret still exist in Atlas",
				what);
		else
			x = ADD("the Atlas token endpoint failed%s (%s): usually transient; if it "
				"persists check https://status.mongodb.com and atlas.base_url",
				after, what);
		break;
	case ATLAS_FETCH_HTTP:
		if (code_has(f, "ACCESS_LIST"))
			x = ADD("Atlas refused the request from this host's address (%s): add "
				"kmswatch's outbound IP address to the organization's API access "
				"list",
				what);
		else if (st == 401)
			x = ADD("Atlas rejected kmswatch's credentials (%s): check "
				"atlas.service_account/api_key and the API access list",
				what);
		else if (st == 403)
			x = ADD("Atlas denied access to the project's encryption-at-rest settings "
				"(%s): grant kmswatch's service account or API key the Project "
				"Read Only role on this project",
				what);
		else if (st == 404 && code_has(f, "GROUP_NOT_FOUND"))
			x = ADD("Atlas knows no project with this id (%s): check projects[].id, "
				"and that kmswatch's service account or API key belongs to the "
				"project's organization",
				what);
		else if (st == 404)
			x = ADD("Atlas answered not found for the encryption-at-rest endpoint "
				"(%s): check projects[].id and atlas.base_url",
				what);
		else if (st == 429)
			x = ADD("Atlas kept rate-limiting kmswatch%s (%s): raise poll_interval, "
				"or find the other clients spending the same organization or "
				"project rate limit",
				after, what);
		else if (st >= 500 && st <= 599)
			x = ADD("Atlas had a server error%s (%s): usually transient; if it "
				"persists check https://status.mongodb.com",
				after, what);
		else if (st == 406)
			x = ADD("Atlas refused the API version kmswatch asked for (%s): the "
				"version may have been retired; upgrade kmswatch",
				what);
		else
			x = ADD("Atlas answered an unexpected HTTP status%s (%s): check "
				"atlas.base_url and any proxy between kmswatch and Atlas",
				after, what);
		break;
	default:
		x = ADD("kmswatch could not read the project's encryption-at-rest settings "
			"(%s)",
			what);
		break;
	}
#undef ADD
	return x != NULL ? 0 : -ENOMEM;
}

int
chk_discovery_access(const struct atlas_fetch *f, const char *org_id, size_t kept,
		     struct findings *out)
{
	char what[768], after[48] = "", subject[48], scope[64], keep[96];
	struct finding *x = NULL;
	const int st = f != NULL ? f->http_status : 0;

	if (f == NULL || out == NULL)
		return -EINVAL;
	out->evaluated[CHK_ATLAS_ACCESS] = true;
	snprintf(subject, sizeof(subject), org_id ? "org:%s" : "groups", org_id);
	if (org_id)
		snprintf(scope, sizeof(scope), "the projects of organization %s", org_id);
	else
		snprintf(scope, sizeof(scope), "the projects it can read");
	snprintf(keep, sizeof(keep), "it keeps watching the %zu project%s it listed last", kept,
		 kept == 1 ? "" : "s");
	describe_answer(f, what, sizeof(what));
	if (f->retries > 0)
		snprintf(after, sizeof(after), " after %u %s", f->retries,
			 f->retries == 1 ? "retry" : "retries");
#define ADD(...) findings_add(out, CHK_ATLAS_ACCESS, SEV_UNKNOWN, PROV_NONE, subject, __VA_ARGS__)
	switch (f->outcome) {
	case ATLAS_FETCH_OK:
		x = findings_add(out, CHK_ATLAS_ACCESS, SEV_OK, PROV_NONE, subject,
				 "kmswatch lists %s from Atlas", scope);
		break;
	case ATLAS_FETCH_TRANSPORT:
		x = ADD("kmswatch could not reach Atlas to list %s%s (%s); %s: check DNS, the "
			"firewall or proxy towards atlas.base_url, and TLS trust (atlas.ca_file)",
			scope, after, what, keep);
		break;
	case ATLAS_FETCH_BAD_BODY:
		x = ADD("Atlas answered the listing of %s with a malformed page (%s); %s: check "
			"that atlas.base_url reaches Atlas itself, not a proxy",
			scope, what, keep);
		break;
	case ATLAS_FETCH_AUTH:
		x = ADD("kmswatch could not get an Atlas token to list %s%s (%s); %s: check "
			"atlas.service_account and the token endpoint",
			scope, after, what, keep);
		break;
	case ATLAS_FETCH_HTTP:
		if (st == 401 || code_has(f, "ACCESS_LIST"))
			x = ADD("Atlas rejected kmswatch's credentials listing %s (%s); %s: check "
				"atlas.service_account/api_key and the API access list",
				scope, what, keep);
		else if (st == 403)
			x = ADD("Atlas denied kmswatch the list of %s (%s); %s: grant the service "
				"account Organization Read Only, or list the projects in "
				"projects: instead",
				scope, what, keep);
		else if (st == 404)
			x = ADD("Atlas answered not found listing %s (%s); %s: check "
				"discover.org_ids and atlas.base_url",
				scope, what, keep);
		else if (st == 429)
			x = ADD("Atlas kept rate-limiting the listing of %s%s (%s); %s: raise "
				"discover.interval",
				scope, after, what, keep);
		else
			x = ADD("Atlas failed the listing of %s%s (%s); %s: usually transient; if "
				"it persists check https://status.mongodb.com",
				scope, after, what, keep);
		break;
	default:
		x = ADD("kmswatch could not list %s (%s); %s", scope, what, keep);
		break;
	}
#undef ADD
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- ear.valid ------------------------------------------------------- */

static struct finding *
ear_invalid(struct findings *out, const struct atlas_ear *ear, const struct kms_desc *k)
{
	static const char consequence[] =
		"Atlas will shut down every mongod/mongos of this project at its next "
		"15-minute validation";

	return k->ear_invalid(out, ear, consequence);
}

static int
chk_ear_valid(const struct atlas_ear *ear, struct findings *out)
{
	bool any = false;

	out->evaluated[CHK_EAR_VALID] = true;
	for (size_t i = 0; i < kms_count; i++) {
		enum provider p = kms_table[i]->id;
		struct finding *x;

		if (!atlas_ear_provider_enabled(ear, p))
			continue;
		any = true;
		switch (atlas_ear_provider_valid(ear, p)) {
		case TRI_FALSE:
			x = ear_invalid(out, ear, kms_table[i]);
			break;
		case TRI_TRUE:
			x = findings_add(out, CHK_EAR_VALID, SEV_OK, p, provider_name(p),
					 "Atlas reports the %s key as valid", provider_title(p));
			break;
		default:
			/* never report ok for what we were not told */
			x = findings_add(out, CHK_EAR_VALID, SEV_UNKNOWN, p, provider_name(p),
					 "Atlas reports %s encryption enabled but does not say "
					 "whether the key is valid (no \"valid\" field): check the "
					 "project's Encryption at Rest page in Atlas",
					 provider_title(p));
			break;
		}
		if (x == NULL)
			return -ENOMEM;
	}
	if (!any && findings_add(out, CHK_EAR_VALID, SEV_OK, PROV_NONE, "none",
				 "encryption at rest with a customer key is not enabled; there "
				 "is no key for Atlas to validate") == NULL)
		return -ENOMEM;
	return 0;
}

/* ---- ear.enabled ----------------------------------------------------- */

static int
chk_ear_enabled(const struct atlas_ear *ear, enum provider expect, struct findings *out)
{
	char instead[96] = "";
	struct kms_ear_view view;
	struct finding *x;

	out->evaluated[CHK_EAR_ENABLED] = true;
	if (expect == PROV_NONE)
		return 0; /* nothing expected, nothing to fire; stale alerts resolve */
	if (atlas_ear_provider_enabled(ear, expect)) {
		x = findings_add(out, CHK_EAR_ENABLED, SEV_OK, expect, provider_name(expect),
				 "encryption at rest uses %s, as expected",
				 provider_title(expect));
		return x != NULL ? 0 : -ENOMEM;
	}
	/* the object is there but without "enabled": do not guess either way */
	view = kms_ear_view_of(ear, expect);
	if (view.present && view.enabled == TRI_ABSENT) {
		x = findings_add(out, CHK_EAR_ENABLED, SEV_UNKNOWN, expect, provider_name(expect),
				 "Atlas sends the %s settings without saying whether they are "
				 "enabled: check the project's Encryption at Rest page in Atlas",
				 provider_title(expect));
		return x != NULL ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < kms_count; i++) {
		enum provider p = kms_table[i]->id;
		size_t off = strlen(instead);

		if (p == expect || !atlas_ear_provider_enabled(ear, p))
			continue;
		snprintf(instead + off, sizeof(instead) - off, "%s%s", off ? " and " : "",
			 provider_title(p));
	}
	if (instead[0] != '\0')
		x = findings_add(out, CHK_EAR_ENABLED, SEV_CRITICAL, expect, provider_name(expect),
				 "encryption at rest with %s is not enabled: Atlas reports %s "
				 "enabled instead; switch the project to %s or correct "
				 "projects[].expect_provider",
				 provider_title(expect), instead, provider_title(expect));
	else
		x = findings_add(out, CHK_EAR_ENABLED, SEV_CRITICAL, expect, provider_name(expect),
				 "encryption at rest with %s is not enabled, and no other "
				 "customer key provider is (Atlas manages the keys): enable it "
				 "in the project's Encryption at Rest settings or correct "
				 "projects[].expect_provider",
				 provider_title(expect));
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- ear.config ------------------------------------------------------ */

/* The value of `key` in a fingerprint ("k=v\n" lines), or NULL. */
static const char *
fp_get(const char *fp, const char *key, size_t keylen, size_t *vlen)
{
	for (const char *line = fp; line != NULL && *line != '\0';) {
		const char *eol = strchr(line, '\n');
		const char *eq = memchr(line, '=', eol ? (size_t)(eol - line) : strlen(line));
		const char *end = eol ? eol : line + strlen(line);

		if (eq != NULL && (size_t)(eq - line) == keylen && memcmp(line, key, keylen) == 0) {
			*vlen = (size_t)(end - eq - 1);
			return eq + 1;
		}
		line = eol ? eol + 1 : NULL;
	}
	return NULL;
}

/* Splits the next "key=value" line off *cursor; false at the end. Lines
 * without '=' are skipped (they cannot come from atlas_ear_fingerprint). */
static bool
fp_next(const char **cursor, const char **key, size_t *klen, const char **val, size_t *vlen)
{
	while (*cursor != NULL && **cursor != '\0') {
		const char *line = *cursor, *eol = strchr(line, '\n');
		const char *end = eol != NULL ? eol : line + strlen(line);
		const char *eq = memchr(line, '=', (size_t)(end - line));

		*cursor = eol != NULL ? eol + 1 : NULL;
		if (eq == NULL)
			continue;
		*key = line;
		*klen = (size_t)(eq - line);
		*val = eq + 1;
		*vlen = (size_t)(end - eq - 1);
		return true;
	}
	return false;
}

/* Appends "key: OLD -> NEW" ("(none)" for an empty or missing value) for
 * every key of new_fp whose value differs in old_fp, then for the keys
 * only old_fp has. */
static int
fp_diff(struct strbuf *sb, const char *old_fp, const char *new_fp)
{
	const char *cur, *key, *val, *other;
	size_t klen, vlen, olen;
	int r;

	for (cur = new_fp; fp_next(&cur, &key, &klen, &val, &vlen);) {
		other = fp_get(old_fp, key, klen, &olen);
		if (other == NULL)
			olen = 0;
		if (olen == vlen && (vlen == 0 || memcmp(other, val, vlen) == 0))
			continue;
		r = strbuf_printf(sb, "%s%.*s: %.*s -> %.*s", sb->len ? "; " : "", (int)klen, key,
				  olen ? (int)olen : 6, olen ? other : "(none)",
				  vlen ? (int)vlen : 6, vlen ? val : "(none)");
		if (r < 0)
			return r;
	}
	for (cur = old_fp; fp_next(&cur, &key, &klen, &val, &vlen);) {
		if (vlen == 0 || fp_get(new_fp, key, klen, &olen) != NULL)
			continue;
		r = strbuf_printf(sb, "%s%.*s: %.*s -> (none)", sb->len ? "; " : "", (int)klen,
				  key, (int)vlen, val);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
chk_ear_config(const struct atlas_ear *ear, const char *old_fp, const char *new_fp,
	       struct findings *out)
{
	struct strbuf diff = {0};
	enum provider p = atlas_ear_enabled_provider(ear);
	struct finding *x;
	int r;

	out->evaluated[CHK_EAR_CONFIG] = true;
	/* first observation is a baseline, not a change */
	if (old_fp == NULL || strcmp(old_fp, new_fp) == 0)
		return 0;
	r = fp_diff(&diff, old_fp, new_fp);
	if (r < 0) {
		strbuf_free(&diff);
		return r;
	}
	x = findings_add(out, CHK_EAR_CONFIG, SEV_INFO, p, p != PROV_NONE ? provider_name(p) : "none",
			 "encryption-at-rest configuration changed in Atlas: %s",
			 diff.len ? diff.s : "(the fingerprint format changed)");
	strbuf_free(&diff);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- chk_ear --------------------------------------------------------- */

void
ear_memory_free(struct ear_memory *m)
{
	if (m == NULL)
		return;
	free(m->fingerprint);
	free(m->key_id);
	memset(m, 0, sizeof(*m));
}

json_t *
ear_memory_to_json(const struct ear_memory *m)
{
	json_t *o = json_object();

	if (o == NULL || m == NULL)
		return o;
	if ((m->fingerprint && json_object_set_new(o, "fingerprint", json_string(m->fingerprint))) ||
	    (m->key_id && json_object_set_new(o, "key_id", json_string(m->key_id))) ||
	    (m->key_first_seen &&
	     json_object_set_new(o, "key_first_seen", json_integer(m->key_first_seen)))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ear_memory_from_json(json_t *o, struct ear_memory *m)
{
	const char *fp = NULL, *key = NULL;
	json_int_t first = 0;

	memset(m, 0, sizeof(*m));
	if (o == NULL)
		return 0;
	if (!json_is_object(o) ||
	    json_unpack(o, "{s?s, s?s, s?I}", "fingerprint", &fp, "key_id", &key,
			"key_first_seen", &first) < 0 ||
	    first < 0)
		return -EBADMSG;
	if ((fp && !(m->fingerprint = strdup(fp))) || (key && !(m->key_id = strdup(key)))) {
		ear_memory_free(m);
		return -ENOMEM;
	}
	m->key_first_seen = (time_t)first;
	return 0;
}

int
chk_ear(const struct atlas_ear *ear, enum provider expect, const struct cfg_checks *checks,
	const struct ear_memory *prev, time_t now, struct findings *out, struct ear_memory *next)
{
	struct ear_memory n = {0};
	const char *key;
	int r = 0;

	if (ear == NULL || out == NULL || next == NULL)
		return -EINVAL;
	n.fingerprint = atlas_ear_fingerprint(ear);
	if (n.fingerprint == NULL)
		return -ENOMEM;
	key = atlas_ear_key_id(ear);
	if (key != NULL && key[0] != '\0') {
		n.key_id = strdup(key);
		if (n.key_id == NULL) {
			ear_memory_free(&n);
			return -ENOMEM;
		}
		/* a new key identifier restarts the tracked key age */
		if (prev != NULL && util_streq(prev->key_id, key) && prev->key_first_seen != 0)
			n.key_first_seen = prev->key_first_seen;
		else
			n.key_first_seen = now;
	}

	if (check_on(checks, CHK_EAR_VALID))
		r = chk_ear_valid(ear, out);
	if (r == 0 && check_on(checks, CHK_EAR_ENABLED))
		r = chk_ear_enabled(ear, expect, out);
	if (r == 0 && check_on(checks, CHK_EAR_CONFIG))
		r = chk_ear_config(ear, prev != NULL ? prev->fingerprint : NULL, n.fingerprint,
				   out);
	if (r < 0) {
		ear_memory_free(&n);
		return r;
	}
	if (next == prev)
		ear_memory_free(next);
	*next = n;
	return 0;
}

/* ---- ear.clusters ---------------------------------------------------- */

static const char *
cluster_subject(const struct atlas_cluster *c)
{
	if (c->name != NULL && c->name[0] != '\0')
		return c->name;
	if (c->id != NULL && c->id[0] != '\0')
		return c->id;
	return "(unnamed cluster)";
}

static bool
cluster_deleting(const struct atlas_cluster *c)
{
	return c->state_name != NULL && strcasecmp(c->state_name, "DELETING") == 0;
}

/* " (paused)", " (paused, state UPDATING)", " (state CREATING)" or "" */
static void
cluster_note(const struct atlas_cluster *c, char *buf, size_t len)
{
	bool paused = c->paused == TRI_TRUE;
	bool busy = c->state_name != NULL && c->state_name[0] != '\0' &&
		    strcasecmp(c->state_name, "IDLE") != 0;

	if (paused && busy)
		snprintf(buf, len, " (paused, state %s)", c->state_name);
	else if (paused)
		snprintf(buf, len, " (paused)");
	else if (busy)
		snprintf(buf, len, " (state %s)", c->state_name);
	else
		buf[0] = '\0';
}

/* While Atlas creates or updates a cluster its provider may be changing
 * right now; say so, so that nobody rushes to fix a transition. */
static const char *
cluster_transition_hint(const struct atlas_cluster *c)
{
	if (c->state_name != NULL && (strcasecmp(c->state_name, "CREATING") == 0 ||
				      strcasecmp(c->state_name, "UPDATING") == 0))
		return " If the cluster's encryption setting is being changed right now, this "
		       "resolves when Atlas finishes.";
	return "";
}

static struct finding *
judge_cluster(struct findings *out, const struct atlas_cluster *c, const char *subj,
	      enum provider project)
{
	const char *v = c->encryption_at_rest_provider;
	const char *hint = cluster_transition_hint(c);
	char note[96];
	int cp;

	cluster_note(c, note, sizeof(note));
	if (v == NULL || v[0] == '\0') {
		if (project == PROV_NONE)
			return findings_add(out, CHK_EAR_CLUSTERS, SEV_OK, project, subj,
					    "cluster %s%s does not report an encryption-at-rest "
					    "provider; the project has no customer key provider "
					    "enabled, so Atlas-managed keys are expected",
					    subj, note);
		return findings_add(out, CHK_EAR_CLUSTERS, SEV_UNKNOWN, project, subj,
				    "Atlas does not say which encryption-at-rest provider cluster "
				    "%s%s uses (no encryptionAtRestProvider), so kmswatch cannot "
				    "tell whether the project's %s key protects it: check \"Manage "
				    "your own encryption keys\" in the cluster's configuration in Atlas",
				    subj, note, provider_title(project));
	}
	cp = provider_from_name(v);
	if (cp == (int)PROV_NONE && project == PROV_NONE)
		return findings_add(out, CHK_EAR_CLUSTERS, SEV_OK, project, subj,
				    "cluster %s%s uses Atlas-managed encryption keys, as expected "
				    "while the project has no customer key provider enabled",
				    subj, note);
	if (cp == (int)PROV_NONE)
		return findings_add(
			out, CHK_EAR_CLUSTERS, SEV_WARNING, project, subj,
			"cluster %s%s is not encrypted with the project's customer key "
			"(encryptionAtRestProvider NONE): its data is protected by Atlas-managed "
			"keys only, so revoking or rotating the %s key does not cover it. Enable "
			"\"Manage your own encryption keys\" on the cluster (Atlas UI: Edit "
			"Configuration, Additional Settings; Admin API: set "
			"encryptionAtRestProvider to %s), or silence ear.clusters for this cluster "
			"if Atlas-managed keys are intended.%s",
			subj, note, provider_title(project), provider_atlas_name(project), hint);
	if (cp >= 0 && (enum provider)cp == project)
		return findings_add(out, CHK_EAR_CLUSTERS, SEV_OK, project, subj,
				    "cluster %s%s is encrypted with the project's %s key", subj,
				    note, provider_title(project));
	if (cp < 0 && project == PROV_NONE)
		return findings_add(
			out, CHK_EAR_CLUSTERS, SEV_WARNING, project, subj,
			"cluster %s%s reports encryptionAtRestProvider \"%s\", which kmswatch does "
			"not know, while the project has no customer key provider enabled: check "
			"the cluster's encryption settings in Atlas (and upgrade kmswatch if Atlas "
			"added a provider).%s",
			subj, note, v, hint);
	if (cp < 0)
		return findings_add(
			out, CHK_EAR_CLUSTERS, SEV_WARNING, project, subj,
			"cluster %s%s reports encryptionAtRestProvider \"%s\", which kmswatch does "
			"not know, instead of the project's provider %s (%s): check the cluster's "
			"encryption settings in Atlas (and upgrade kmswatch if Atlas added a "
			"provider).%s",
			subj, note, v, provider_title(project), provider_atlas_name(project), hint);
	if (project == PROV_NONE)
		return findings_add(
			out, CHK_EAR_CLUSTERS, SEV_WARNING, project, subj,
			"cluster %s%s is set to encrypt with %s (encryptionAtRestProvider %s), but "
			"the project has no customer key provider enabled: enable %s in the "
			"project's Encryption at Rest settings, or set the cluster's "
			"encryptionAtRestProvider to NONE.%s",
			subj, note, provider_title((enum provider)cp), v,
			provider_title((enum provider)cp), hint);
	return findings_add(
		out, CHK_EAR_CLUSTERS, SEV_WARNING, project, subj,
		"cluster %s%s is set to encrypt with %s (encryptionAtRestProvider %s), not with "
		"the project's enabled provider %s: set the cluster's encryptionAtRestProvider "
		"to %s (Atlas UI: Edit Configuration, Additional Settings, \"Manage your own "
		"encryption keys\"), or correct the project's Encryption at Rest settings.%s",
		subj, note, provider_title((enum provider)cp), v, provider_title(project),
		provider_atlas_name(project), hint);
}

struct cluster_ref {
	const char *subject;
	size_t index;
};

static int
cluster_ref_cmp(const void *a, const void *b)
{
	const struct cluster_ref *x = a, *y = b;
	int c = strcmp(x->subject, y->subject);

	if (c != 0)
		return c;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* skip[i] for DELETING clusters and for every repeat of a subject after
 * its first live occurrence: pages can shift between two requests, and
 * one alert exists per subject. n log n, listings can be long. */
static bool *
clusters_skip(const struct atlas_clusters *cl)
{
	struct cluster_ref *refs;
	size_t k = 0;
	bool *skip;

	skip = calloc(cl->n, sizeof(*skip));
	refs = calloc(cl->n, sizeof(*refs));
	if (skip == NULL || refs == NULL) {
		free(skip);
		free(refs);
		return NULL;
	}
	for (size_t i = 0; i < cl->n; i++) {
		if (cluster_deleting(&cl->v[i])) {
			skip[i] = true;
			continue;
		}
		refs[k].subject = cluster_subject(&cl->v[i]);
		refs[k].index = i;
		k++;
	}
	if (k > 1)
		qsort(refs, k, sizeof(*refs), cluster_ref_cmp);
	for (size_t j = 1; j < k; j++)
		if (strcmp(refs[j].subject, refs[j - 1].subject) == 0)
			skip[refs[j].index] = true;
	free(refs);
	return skip;
}

int
chk_ear_clusters(const struct atlas_clusters *cl, enum provider project_provider,
		 const struct cfg_checks *checks, struct findings *out)
{
	bool *skip = NULL;
	int r = 0;

	if (cl == NULL || out == NULL || (cl->n > 0 && cl->v == NULL))
		return -EINVAL;
	if (!check_on(checks, CHK_EAR_CLUSTERS))
		return 0;
	out->evaluated[CHK_EAR_CLUSTERS] = true;
	if (cl->n == 0)
		return 0;
	skip = clusters_skip(cl);
	if (skip == NULL)
		return -ENOMEM;
	for (size_t i = 0; r == 0 && i < cl->n; i++) {
		const struct atlas_cluster *c = &cl->v[i];

		if (skip[i])
			continue;
		if (judge_cluster(out, c, cluster_subject(c), project_provider) == NULL)
			r = -ENOMEM;
	}
	free(skip);
	return r;
}

/* ---- ear.role -------------------------------------------------------- */

static const char *
ear_role_of(const struct atlas_ear *ear, enum provider p)
{
	const char *r = kms_ear_view_of(ear, p).role_id;

	return r != NULL && r[0] != '\0' ? r : NULL;
}

/* When the id is missing from the list it belongs in, it may still be in
 * another one: a configuration pointing at the wrong kind of role. */
static const char *
role_elsewhere(const struct atlas_cpa *cpa, const char *role, enum provider p, char *buf,
	       size_t len)
{
	for (size_t i = 0; i < kms_count; i++)
		if (kms_table[i]->id != p && kms_table[i]->role_listed(cpa, role)) {
			snprintf(buf, len, " (that id is %s)", kms_table[i]->role_kind);
			return buf;
		}
	return "";
}

static const char role_consequence[] =
	"it will shut down every mongod/mongos of this project at its next 15-minute "
	"validation";

int
chk_ear_role(const struct atlas_ear *ear, const struct atlas_cpa *cpa,
	     const struct cfg_checks *checks, struct findings *out)
{
	bool any = false;

	if (ear == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_EAR_ROLE))
		return 0;
	for (size_t i = 0; i < kms_count; i++)
		any |= atlas_ear_provider_enabled(ear, kms_table[i]->id) &&
		       ear_role_of(ear, kms_table[i]->id) != NULL;
	if (!any) {
		/* nothing role-based to judge: a verdict with no subject */
		out->evaluated[CHK_EAR_ROLE] = true;
		return 0;
	}
	if (cpa == NULL)
		return 0; /* Cloud Provider Access unread: no verdict */
	out->evaluated[CHK_EAR_ROLE] = true;
	for (size_t i = 0; i < kms_count; i++) {
		const struct kms_desc *k = kms_table[i];
		const char *role = ear_role_of(ear, k->id);
		char elsewhere[80];
		struct finding *x;

		if (!atlas_ear_provider_enabled(ear, k->id) || role == NULL)
			continue;
		x = k->judge_role(out, ear, cpa, role,
				  role_elsewhere(cpa, role, k->id, elsewhere, sizeof(elsewhere)),
				  role_consequence);
		if (x == NULL)
			return -ENOMEM;
	}
	return 0;
}
