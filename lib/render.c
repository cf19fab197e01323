/* SPDX-License-Identifier: ISC */
/*
 * render — see render.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render.h"
#include "crypto.h"
#include "util.h"

/* "a/32,b/32" -> ["a/32","b/32"] */
static json_t *
missing_array(const char *missing)
{
	json_t *arr = json_array();
	const char *p = missing;

	while (arr && p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n)
			json_array_append_new(arr, json_stringn(p, n));
		p = end ? end + 1 : NULL;
	}
	return arr;
}

int
render_webhook(const struct alert_event *ev, const char *host, char **out, size_t *len)
{
	char started[UTIL_TIME_LEN], observed[UTIL_TIME_LEN];
	json_t *root, *details;

	util_format_time(ev->started_at, started, sizeof(started));
	util_format_time(ev->observed_at, observed, sizeof(observed));
	details = json_object();
	if (!details)
		return -ENOMEM;
	if (ev->has_days_left)
		json_object_set_new(details, "days_left", json_integer(ev->days_left));
	if (ev->has_age_days)
		json_object_set_new(details, "age_days", json_integer(ev->age_days));
	if (ev->missing)
		json_object_set_new(details, "missing", missing_array(ev->missing));
	root = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:s, s:s, "
			 "s:s}",
			 "version", 1, "alert_id", ev->alert_id, "event",
			 event_kind_name(ev->kind), "severity", severity_name(ev->severity),
			 "check", check_name(ev->check), "project", "id", ev->project_id, "name",
			 ev->project_name, "provider", provider_name(ev->provider), "subject",
			 ev->subject, "summary", ev->summary, "details", details, "started_at",
			 started, "observed_at", observed, "host", host ? host : "");
	if (!root)
		return -ENOMEM;
	if (ev->previous_severity != SEV_OK || ev->kind == EV_RESOLVED)
		json_object_set_new(root, "previous_severity",
				    json_string(severity_name(ev->previous_severity)));
	/* kmswatch's own credential: "project" keeps its shape (id "", the
	 * name says what it is about) and "org" names the organization */
	if (alert_event_is_self(ev) &&
	    json_object_set_new(root, "org", json_pack("{s:s}", "id", ev->org_id ? ev->org_id : "")) < 0) {
		json_decref(root);
		return -ENOMEM;
	}
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

int
render_signature(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
		 size_t len, char *out)
{
	unsigned char key[256], mac[CRYPTO_SHA256_LEN];
	struct strbuf msg = {0};
	size_t keylen;
	int r;

	if (strncmp(secret, "whsec_", 6) == 0) {
		r = crypto_base64_decode(secret + 6, key, sizeof(key));
		if (r <= 0)
			return -EINVAL;
		keylen = (size_t)r;
	} else {
		keylen = strlen(secret);
		if (keylen == 0 || keylen > sizeof(key))
			return -EINVAL;
		memcpy(key, secret, keylen);
	}
	if (strbuf_printf(&msg, "%s.%lld.", msg_id, (long long)timestamp) < 0 ||
	    strbuf_append(&msg, body, len) < 0) {
		strbuf_free(&msg);
		explicit_bzero(key, sizeof(key));
		return -ENOMEM;
	}
	r = crypto_hmac_sha256(key, keylen, msg.s, msg.len, mac);
	explicit_bzero(key, sizeof(key));
	strbuf_free(&msg);
	if (r < 0)
		return r;
	memcpy(out, "v1,", 3);
	crypto_base64(mac, sizeof(mac), out + 3);
	return 0;
}

int
render_line(const struct alert_event *ev, char **out)
{
	const char *prov = provider_name(ev->provider);

	if (ev->kind == EV_RESOLVED)
		*out = util_asprintf("RESOLVED %s %s%s%s%s (was %s): %s", check_name(ev->check),
				     ev->project_name, *prov ? " (" : "", prov, *prov ? ")" : "",
				     severity_name(ev->previous_severity), ev->summary);
	else
		*out = util_asprintf("%s %s %s %s%s%s%s: %s",
				     ev->kind == EV_REPEAT ? "REPEAT"
				     : ev->kind == EV_INFO ? "INFO"
							   : "FIRING",
				     severity_name(ev->severity), check_name(ev->check),
				     ev->project_name, *prov ? " (" : "", prov, *prov ? ")" : "",
				     ev->summary);
	return *out ? 0 : -ENOMEM;
}

/* ==== sink payloads ==================================================== */

#define ELLIPSIS "\xe2\x80\xa6" /* "…" */
#define ELLIPSIS_LEN 3

/*
 * Limits, counted in bytes: the services count characters, and a UTF-8
 * string never has more characters than bytes, so a cut by bytes always
 * fits (it only cuts earlier for non-ASCII text).
 */
#define SLACK_HEADER_MAX 150 /* header block: plain_text */
#define SLACK_TEXT_MAX 3000  /* section text; also our cap for `text` */
#define SLACK_FIELD_MAX 2000 /* each text object of a section's fields */
#define PD_SUMMARY_MAX 1024  /* Events API v2 payload.summary */
#define CHAT_TEXT_MAX 3000   /* the summary in Mattermost and Teams */
#define CHAT_VALUE_MAX 2000  /* a field or fact value */
#define DETAIL_MAX 8192      /* any other text taken from an event */

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when there is none.
 * jansson refuses any other byte sequence, so everything we put in a
 * payload goes through this. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		if (s[0] == 0xe0)
			lo = 0xa0;
		else if (s[0] == 0xed)
			hi = 0x9f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		if (s[0] == 0xf0)
			lo = 0x90;
		else if (s[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	/* s[1] was not NUL, so s[2] (and, if it is a continuation, s[3]) can
	 * be read */
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Appends whole units of src (a character, or the entity escaping it) to b
 * while they fit in budget bytes. 1: all of src fit; 0: it stopped early;
 * -ENOMEM. */
static int
clip_pass(struct strbuf *b, const char *src, size_t budget, bool slack)
{
	const unsigned char *p = (const unsigned char *)src;

	while (*p) {
		const char *unit = (const char *)p;
		size_t n = utf8_len(p), adv = n;

		if (n == 0) {
			unit = "?";
			n = adv = 1;
		} else if (slack && *p == '&') {
			unit = "&amp;";
			n = 5;
		} else if (slack && *p == '<') {
			unit = "&lt;";
			n = 4;
		} else if (slack && *p == '>') {
			unit = "&gt;";
			n = 4;
		}
		if (b->len + n > budget)
			return 0;
		if (strbuf_append(b, unit, n) < 0)
			return -ENOMEM;
		p += adv;
	}
	return 1;
}

/*
 * A copy of src in at most max bytes: valid UTF-8, cut on a character
 * boundary with "…" when it does not fit. slack: escape &, < and >, which
 * Slack's mrkdwn reads as control sequences (<!channel> would page a whole
 * channel); escaping first and cutting after keeps an entity whole.
 */
static char *
clip(const char *src, size_t max, bool slack)
{
	struct strbuf b = {0};
	int r;

	if (src == NULL)
		src = "";
	if (strbuf_append(&b, "", 0) < 0)
		return NULL;
	r = clip_pass(&b, src, max, slack);
	if (r == 0 && max >= ELLIPSIS_LEN) {
		/* too long: start again, leaving room for the ellipsis (below
		 * 3 bytes there is none: the cut text is all that fits) */
		b.len = 0;
		b.s[0] = '\0';
		r = clip_pass(&b, src, max - ELLIPSIS_LEN, slack);
		if (r >= 0 && strbuf_append(&b, ELLIPSIS, ELLIPSIS_LEN) < 0)
			r = -ENOMEM;
	}
	if (r < 0) {
		strbuf_free(&b);
		return NULL;
	}
	return b.s;
}

int
render_clip(const char *src, size_t max, char **out)
{
	if (src == NULL || out == NULL)
		return -EINVAL;
	*out = clip(src, max, false);
	return *out ? 0 : -ENOMEM;
}

/* JSON building that remembers the first failure, so that a payload is
 * built straight through and checked once at the end. The setters take
 * ownership of the value (jansson releases it on failure). */
struct jctx {
	int err;
};

static json_t *
jclip(struct jctx *c, const char *s, size_t max, bool slack)
{
	char *t = clip(s, max, slack);
	json_t *j = t ? json_string(t) : NULL;

	free(t);
	if (j == NULL)
		c->err = -ENOMEM;
	return j;
}

static json_t *
jstr(struct jctx *c, const char *s)
{
	return jclip(c, s, DETAIL_MAX, false);
}

static void
jset(struct jctx *c, json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, v) < 0)
		c->err = -ENOMEM;
}

static void
jpush(struct jctx *c, json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) < 0)
		c->err = -ENOMEM;
}

static json_t *
jobj(struct jctx *c)
{
	json_t *o = json_object();

	if (o == NULL)
		c->err = -ENOMEM;
	return o;
}

static json_t *
jarr(struct jctx *c)
{
	json_t *a = json_array();

	if (a == NULL)
		c->err = -ENOMEM;
	return a;
}

static int
jfinish(struct jctx *c, json_t *root, char **out, size_t *len)
{
	if (c->err < 0 || root == NULL) {
		json_decref(root);
		return c->err < 0 ? c->err : -ENOMEM;
	}
	/* compact and in insertion order: the bytes on the wire are fixed by
	 * the event, which the golden tests pin */
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (*out == NULL)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

/* ---- words shared by the chat renderers ---- */

static const char *
nz(const char *s)
{
	return s ? s : "";
}

static void
upper(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 'a' + 'A') : s[i];
	buf[i] = '\0';
}

/* Whether a firing event is a change of severity (not a new alert). */
static bool
is_change(const struct alert_event *ev)
{
	return ev->kind == EV_FIRING && ev->previous_severity != SEV_OK &&
	       ev->previous_severity != ev->severity;
}

/* The state in plain words, no emoji (they read badly in notifications
 * and screen readers): "CRITICAL", "CRITICAL (was warning)", "CRITICAL
 * (still firing)", "RESOLVED (was critical)", "INFO". */
static void
state_words(const struct alert_event *ev, char *buf, size_t len)
{
	char sev[16];

	upper(severity_name(ev->severity), sev, sizeof(sev));
	switch (ev->kind) {
	case EV_RESOLVED:
		if (ev->previous_severity != SEV_OK)
			snprintf(buf, len, "RESOLVED (was %s)",
				 severity_name(ev->previous_severity));
		else
			snprintf(buf, len, "RESOLVED");
		break;
	case EV_REPEAT:
		snprintf(buf, len, "%s (still firing)", sev);
		break;
	case EV_INFO:
		snprintf(buf, len, "INFO");
		break;
	case EV_FIRING:
	default:
		if (is_change(ev))
			snprintf(buf, len, "%s (was %s)", sev,
				 severity_name(ev->previous_severity));
		else
			snprintf(buf, len, "%s", sev);
		break;
	}
}

/* "CRITICAL · payments-prod · ear.valid" */
static char *
headline(const struct alert_event *ev)
{
	char words[64];

	state_words(ev, words, sizeof(words));
	return util_asprintf("%s \xc2\xb7 %s \xc2\xb7 %s", words, nz(ev->project_name),
			     check_name(ev->check));
}

/* The one line for notifications and clients without rich formatting. */
static char *
one_line(const struct alert_event *ev)
{
	char *head = headline(ev), *line;

	if (head == NULL)
		return NULL;
	line = util_asprintf("%s: %s", head, nz(ev->summary));
	free(head);
	return line;
}

/* "kmswatch on monitor-1 · alert 0123… · event firing" */
static char *
context_line(const struct alert_event *ev, const char *host)
{
	return util_asprintf("kmswatch%s%s \xc2\xb7 alert %s \xc2\xb7 event %s",
			     host && *host ? " on " : "", host && *host ? host : "",
			     ev->alert_id, event_kind_name(ev->kind));
}

/* The colour family of an event, mapped per service below. */
enum tone { TONE_CRITICAL, TONE_WARNING, TONE_UNKNOWN, TONE_RESOLVED, TONE_INFO };

static enum tone
tone_of(const struct alert_event *ev)
{
	if (ev->kind == EV_RESOLVED)
		return TONE_RESOLVED;
	if (ev->kind == EV_INFO)
		return TONE_INFO;
	switch (ev->severity) {
	case SEV_CRITICAL:
		return TONE_CRITICAL;
	case SEV_UNKNOWN:
		return TONE_UNKNOWN;
	case SEV_WARNING:
		return TONE_WARNING;
	default:
		return TONE_INFO;
	}
}

/* "a/32,b/32" -> "a/32, b/32" for people to read. */
static char *
missing_text(const char *missing)
{
	struct strbuf b = {0};
	const char *p = missing;
	bool first = true;

	if (strbuf_append(&b, "", 0) < 0)
		return NULL;
	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n && ((!first && strbuf_puts(&b, ", ") < 0) || strbuf_append(&b, p, n) < 0)) {
			strbuf_free(&b);
			return NULL;
		}
		if (n)
			first = false;
		p = end ? end + 1 : NULL;
	}
	return b.s;
}

/* "a/32,b/32" -> ["a/32","b/32"], each entry made valid UTF-8. */
static json_t *
missing_list(struct jctx *c, const char *missing)
{
	json_t *arr = jarr(c);
	const char *p = missing;

	while (arr && p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char *item;

		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n) {
			item = strndup(p, n);
			if (item == NULL)
				c->err = -ENOMEM;
			else
				jpush(c, arr, jstr(c, item));
			free(item);
		}
		p = end ? end + 1 : NULL;
	}
	return arr;
}

/* The facts every chat message shows, in this order. */
#define MAX_FACTS 8
struct fact {
	const char *title;
	char *value;
	bool wide; /* may be long: not laid out side by side */
};
struct facts {
	struct fact v[MAX_FACTS];
	size_t n;
	int err;
};

static void
fact_add(struct facts *f, const char *title, char *value, bool wide)
{
	if (value == NULL) {
		f->err = -ENOMEM;
		return;
	}
	if (f->n == MAX_FACTS) { /* cannot happen: at most 8 are added */
		free(value);
		return;
	}
	f->v[f->n++] = (struct fact){title, value, wide};
}

static void
facts_free(struct facts *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].value);
	f->n = 0;
}

static int
build_facts(const struct alert_event *ev, struct facts *f)
{
	char t[UTIL_TIME_LEN];
	const char *prov = provider_name(ev->provider);

	if (alert_event_is_self(ev))
		fact_add(f, "Organization ID",
			 util_strdup(ev->org_id && *ev->org_id ? ev->org_id : "(unknown)"), false);
	else
		fact_add(f, "Project ID", util_strdup(nz(ev->project_id)), false);
	if (*prov)
		fact_add(f, "Provider", util_strdup(prov), false);
	if (ev->subject && *ev->subject)
		fact_add(f, "Subject", util_strdup(ev->subject), true);
	/* an info event is a single observation: it has no start */
	util_format_time(ev->kind == EV_INFO ? ev->observed_at : ev->started_at, t, sizeof(t));
	fact_add(f, ev->kind == EV_INFO ? "Observed" : "Started", util_strdup(t), false);
	if (ev->kind == EV_RESOLVED) {
		util_format_time(ev->observed_at, t, sizeof(t));
		fact_add(f, "Resolved", util_strdup(t), false);
	}
	if (ev->has_days_left)
		fact_add(f, "Days left", util_asprintf("%lld", (long long)ev->days_left), false);
	if (ev->has_age_days)
		fact_add(f, "Age (days)", util_asprintf("%lld", (long long)ev->age_days), false);
	if (ev->missing && *ev->missing)
		fact_add(f, "Missing CIDRs", missing_text(ev->missing), true);
	return f->err;
}

/* Everything a chat renderer needs, prepared once. */
struct chat {
	char *head, *line, *context;
	struct facts facts;
};

static void
chat_free(struct chat *m)
{
	free(m->head);
	free(m->line);
	free(m->context);
	facts_free(&m->facts);
}

static int
chat_prepare(const struct alert_event *ev, const char *host, struct chat *m)
{
	memset(m, 0, sizeof(*m));
	m->head = headline(ev);
	m->line = one_line(ev);
	m->context = context_line(ev, host);
	if (m->head == NULL || m->line == NULL || m->context == NULL ||
	    build_facts(ev, &m->facts) < 0) {
		chat_free(m);
		return -ENOMEM;
	}
	return 0;
}

/* ---- Slack ---- */

/* A Block Kit text object; mrkdwn is escaped, plain_text shown as is. */
static json_t *
slack_text(struct jctx *c, bool mrkdwn, const char *s, size_t max)
{
	json_t *o = jobj(c);

	jset(c, o, "type", jstr(c, mrkdwn ? "mrkdwn" : "plain_text"));
	jset(c, o, "text", jclip(c, s, max, mrkdwn));
	if (!mrkdwn)
		jset(c, o, "emoji", json_false()); /* ":x:" in a name stays text */
	return o;
}

/* A mrkdwn text object whose text is a fixed prefix plus escaped data,
 * all within max bytes. */
static json_t *
slack_mrkdwn2(struct jctx *c, const char *prefix, const char *data, size_t max)
{
	size_t plen = strlen(prefix);
	char *d = clip(data, max > plen ? max - plen : 0, true);
	char *t = d ? util_asprintf("%s%s", prefix, d) : NULL;
	json_t *o = jobj(c);

	jset(c, o, "type", jstr(c, "mrkdwn"));
	if (t == NULL)
		c->err = -ENOMEM;
	else
		jset(c, o, "text", jclip(c, t, max, false));
	free(d);
	free(t);
	return o;
}

int
render_slack(const struct alert_event *ev, const char *host, char **out, size_t *len)
{
	struct jctx c = {0};
	struct chat m;
	json_t *root, *blocks, *b, *fields, *els;

	if (ev == NULL || out == NULL || len == NULL)
		return -EINVAL;
	if (chat_prepare(ev, host, &m) < 0)
		return -ENOMEM;
	root = jobj(&c);
	/* `text` is what notifications and old clients show */
	jset(&c, root, "text", jclip(&c, m.line, SLACK_TEXT_MAX, true));
	blocks = jarr(&c);

	b = jobj(&c);
	jset(&c, b, "type", jstr(&c, "header"));
	jset(&c, b, "text", slack_text(&c, false, m.head, SLACK_HEADER_MAX));
	jpush(&c, blocks, b);

	b = jobj(&c);
	jset(&c, b, "type", jstr(&c, "section"));
	jset(&c, b, "text",
	     slack_mrkdwn2(&c, ev->kind == EV_RESOLVED ? "*Resolved:* " : "", nz(ev->summary),
			   SLACK_TEXT_MAX));
	jpush(&c, blocks, b);

	b = jobj(&c);
	fields = jarr(&c);
	jset(&c, b, "type", jstr(&c, "section"));
	for (size_t i = 0; i < m.facts.n; i++) {
		char *prefix = util_asprintf("*%s*\n", m.facts.v[i].title);

		if (prefix == NULL)
			c.err = -ENOMEM;
		else
			jpush(&c, fields,
			      slack_mrkdwn2(&c, prefix, m.facts.v[i].value, SLACK_FIELD_MAX));
		free(prefix);
	}
	jset(&c, b, "fields", fields);
	jpush(&c, blocks, b);

	b = jobj(&c);
	els = jarr(&c);
	jset(&c, b, "type", jstr(&c, "context"));
	jpush(&c, els, slack_text(&c, true, m.context, SLACK_TEXT_MAX));
	jset(&c, b, "elements", els);
	jpush(&c, blocks, b);

	jset(&c, root, "blocks", blocks);
	chat_free(&m);
	return jfinish(&c, root, out, len);
}

/* ---- Mattermost ---- */

static const char *
mattermost_color(enum tone t)
{
	switch (t) {
	case TONE_CRITICAL:
		return "#d32f2f"; /* red */
	case TONE_WARNING:
		return "#f5a623"; /* amber */
	case TONE_UNKNOWN:
		return "#9e9e9e"; /* grey: kmswatch is blind */
	case TONE_RESOLVED:
		return "#2e7d32"; /* green */
	case TONE_INFO:
	default:
		return "#1e88e5"; /* blue */
	}
}

int
render_mattermost(const struct alert_event *ev, const char *host, char **out, size_t *len)
{
	struct jctx c = {0};
	struct chat m;
	json_t *root, *atts, *a, *fields;

	if (ev == NULL || out == NULL || len == NULL)
		return -EINVAL;
	if (chat_prepare(ev, host, &m) < 0)
		return -ENOMEM;
	root = jobj(&c);
	/* Mattermost ignores username unless the server lets integrations
	 * override it; then posts show as "kmswatch" whoever made the hook */
	jset(&c, root, "username", jstr(&c, "kmswatch"));
	/* the headline only: the attachment below carries the summary, and
	 * repeating it in `text` would show it twice */
	jset(&c, root, "text", jclip(&c, m.head, CHAT_TEXT_MAX, false));
	atts = jarr(&c);
	a = jobj(&c);
	jset(&c, a, "fallback", jclip(&c, m.line, CHAT_TEXT_MAX, false));
	jset(&c, a, "color", jstr(&c, mattermost_color(tone_of(ev))));
	jset(&c, a, "title", jclip(&c, m.head, CHAT_TEXT_MAX, false));
	jset(&c, a, "text", jclip(&c, ev->summary, CHAT_TEXT_MAX, false));
	fields = jarr(&c);
	for (size_t i = 0; i < m.facts.n; i++) {
		json_t *f = jobj(&c);

		jset(&c, f, "title", jstr(&c, m.facts.v[i].title));
		jset(&c, f, "value", jclip(&c, m.facts.v[i].value, CHAT_VALUE_MAX, false));
		jset(&c, f, "short", json_boolean(!m.facts.v[i].wide));
		jpush(&c, fields, f);
	}
	jset(&c, a, "fields", fields);
	jset(&c, a, "footer", jclip(&c, m.context, CHAT_TEXT_MAX, false));
	jpush(&c, atts, a);
	jset(&c, root, "attachments", atts);
	chat_free(&m);
	return jfinish(&c, root, out, len);
}

/* ---- Microsoft Teams (Workflows) ---- */

/* Adaptive Card enum values are written as the schema's enums spell them;
 * hosts read them case-insensitively. */
static const char *
teams_color(enum tone t)
{
	switch (t) {
	case TONE_CRITICAL:
		return "attention";
	case TONE_WARNING:
	case TONE_UNKNOWN: /* blind ranks above warning: never a calm colour */
		return "warning";
	case TONE_RESOLVED:
		return "good";
	case TONE_INFO:
	default:
		return "accent";
	}
}

static json_t *
teams_text(struct jctx *c, const char *text, size_t max)
{
	json_t *t = jobj(c);

	jset(c, t, "type", jstr(c, "TextBlock"));
	jset(c, t, "text", jclip(c, text, max, false));
	jset(c, t, "wrap", json_true());
	return t;
}

int
render_teams(const struct alert_event *ev, const char *host, char **out, size_t *len)
{
	struct jctx c = {0};
	struct chat m;
	json_t *root, *atts, *a, *card, *body, *t, *fs, *facts;

	if (ev == NULL || out == NULL || len == NULL)
		return -EINVAL;
	if (chat_prepare(ev, host, &m) < 0)
		return -ENOMEM;
	root = jobj(&c);
	jset(&c, root, "type", jstr(&c, "message"));
	atts = jarr(&c);
	a = jobj(&c);
	jset(&c, a, "contentType", jstr(&c, "application/vnd.microsoft.card.adaptive"));
	jset(&c, a, "contentUrl", json_null());
	card = jobj(&c);
	jset(&c, card, "$schema", jstr(&c, "http://adaptivecards.io/schemas/adaptive-card.json"));
	jset(&c, card, "type", jstr(&c, "AdaptiveCard"));
	jset(&c, card, "version", jstr(&c, RENDER_ADAPTIVE_CARD_VERSION));
	/* shown by a client too old for the card's version */
	jset(&c, card, "fallbackText", jclip(&c, m.line, CHAT_TEXT_MAX, false));
	body = jarr(&c);

	t = teams_text(&c, m.head, CHAT_TEXT_MAX);
	jset(&c, t, "size", jstr(&c, "medium"));
	jset(&c, t, "weight", jstr(&c, "bolder"));
	jset(&c, t, "color", jstr(&c, teams_color(tone_of(ev))));
	jpush(&c, body, t);

	jpush(&c, body, teams_text(&c, ev->summary, CHAT_TEXT_MAX));

	fs = jobj(&c);
	facts = jarr(&c);
	jset(&c, fs, "type", jstr(&c, "FactSet"));
	for (size_t i = 0; i < m.facts.n; i++) {
		json_t *f = jobj(&c);

		jset(&c, f, "title", jstr(&c, m.facts.v[i].title));
		jset(&c, f, "value", jclip(&c, m.facts.v[i].value, CHAT_VALUE_MAX, false));
		jpush(&c, facts, f);
	}
	jset(&c, fs, "facts", facts);
	jpush(&c, body, fs);

	t = teams_text(&c, m.context, CHAT_TEXT_MAX);
	jset(&c, t, "size", jstr(&c, "small"));
	jset(&c, t, "isSubtle", json_true());
	jpush(&c, body, t);

	jset(&c, card, "body", body);
	jset(&c, a, "content", card);
	jpush(&c, atts, a);
	jset(&c, root, "attachments", atts);
	chat_free(&m);
	return jfinish(&c, root, out, len);
}

/* ---- PagerDuty Events API v2 ---- */

/* PagerDuty has critical, error, warning, info. unknown (kmswatch cannot
 * see the project, so an expiry or a revoked key would go unnoticed) maps
 * to error: worse than a warning, and high urgency under severity-based
 * urgency, but not the confirmed outage that critical means. */
static const char *
pagerduty_severity(enum severity s)
{
	switch (s) {
	case SEV_CRITICAL:
		return "critical";
	case SEV_UNKNOWN:
		return "error";
	case SEV_WARNING:
		return "warning";
	default:
		return "info";
	}
}

int
render_pagerduty(const struct alert_event *ev, const char *routing_key, const char *host,
		 char **out, size_t *len)
{
	struct jctx c = {0};
	char t[UTIL_TIME_LEN], *line;
	const char *prov = provider_name(ev ? ev->provider : PROV_NONE);
	json_t *root, *p, *d;

	if (ev == NULL || routing_key == NULL || *routing_key == '\0' || out == NULL ||
	    len == NULL)
		return -EINVAL;
	root = jobj(&c);
	jset(&c, root, "routing_key", jstr(&c, routing_key));
	/* repeat and info are triggers too: a trigger with an open alert's
	 * dedup_key is appended to it, and after a resolve (or a manual one
	 * in PagerDuty) a still-firing alert rightly opens a new one */
	jset(&c, root, "event_action", jstr(&c, ev->kind == EV_RESOLVED ? "resolve" : "trigger"));
	jset(&c, root, "dedup_key", jstr(&c, ev->alert_id));
	if (ev->kind == EV_RESOLVED) /* a resolve needs nothing more */
		return jfinish(&c, root, out, len);

	line = one_line(ev);
	if (line == NULL)
		c.err = -ENOMEM;
	p = jobj(&c);
	jset(&c, p, "summary", jclip(&c, line, PD_SUMMARY_MAX, false));
	free(line);
	jset(&c, p, "source", jstr(&c, host && *host ? host : "kmswatch"));
	jset(&c, p, "severity", jstr(&c, pagerduty_severity(ev->severity)));
	util_format_time(ev->observed_at, t, sizeof(t));
	jset(&c, p, "timestamp", jstr(&c, t));
	jset(&c, p, "component", jstr(&c, check_name(ev->check)));
	jset(&c, p, "group", jstr(&c, nz(ev->project_name)));
	jset(&c, p, "class", jstr(&c, check_name(ev->check)));
	d = jobj(&c);
	jset(&c, d, "event", jstr(&c, event_kind_name(ev->kind)));
	jset(&c, d, "severity", jstr(&c, severity_name(ev->severity)));
	if (is_change(ev))
		jset(&c, d, "previous_severity", jstr(&c, severity_name(ev->previous_severity)));
	if (alert_event_is_self(ev))
		jset(&c, d, "org_id", jstr(&c, nz(ev->org_id)));
	else
		jset(&c, d, "project_id", jstr(&c, nz(ev->project_id)));
	jset(&c, d, "project_name", jstr(&c, nz(ev->project_name)));
	if (*prov)
		jset(&c, d, "provider", jstr(&c, prov));
	jset(&c, d, "subject", jstr(&c, nz(ev->subject)));
	util_format_time(ev->started_at, t, sizeof(t));
	jset(&c, d, "started_at", jstr(&c, t));
	if (ev->has_days_left)
		jset(&c, d, "days_left", json_integer(ev->days_left));
	if (ev->has_age_days)
		jset(&c, d, "age_days", json_integer(ev->age_days));
	if (ev->missing && *ev->missing)
		jset(&c, d, "missing", missing_list(&c, ev->missing));
	/* whole, where payload.summary may have been cut at 1024 */
	jset(&c, d, "summary", jstr(&c, nz(ev->summary)));
	jset(&c, p, "custom_details", d);
	jset(&c, root, "payload", p);
	jset(&c, root, "client", jstr(&c, "kmswatch"));
	return jfinish(&c, root, out, len);
}

/* ---- Prometheus Alertmanager ---- */

/* "azure.secret_expiry" -> "KmswatchAzureSecretExpiry": the CamelCase
 * alert names Prometheus users route and inhibit on. */
static void
am_alertname(enum check_id check, char *buf, size_t len)
{
	const char *s = check_name(check);
	size_t o = (size_t)snprintf(buf, len, "Kmswatch");
	bool up = true;

	for (; *s && o + 1 < len; s++) {
		if (*s == '.' || *s == '_') {
			up = true;
			continue;
		}
		buf[o++] = (up && *s >= 'a' && *s <= 'z') ? (char)(*s - 'a' + 'A') : *s;
		up = false;
	}
	buf[o] = '\0';
}

/* One postable alert. The labels say what the alert is and nothing about
 * who saw it, so that every kmswatchd watching the same project posts the
 * same label set (same fingerprint) and Alertmanager deduplicates them;
 * which host spoke last goes in the annotations. Empty values are left
 * out: Alertmanager treats an empty label as an absent one. */
static json_t *
am_alert(struct jctx *c, const struct alert_event *ev, enum severity label_sev,
	 const char *host, bool has_end, time_t end)
{
	char t[UTIL_TIME_LEN], t2[UTIL_TIME_LEN], name[64], *desc, *state;
	const char *prov = provider_name(ev->provider);
	json_t *a = jobj(c), *l = jobj(c), *n = jobj(c);

	am_alertname(ev->check, name, sizeof(name));
	jset(c, l, "alertname", jstr(c, name));
	jset(c, l, "severity", jstr(c, severity_name(label_sev)));
	jset(c, l, "project", jstr(c, nz(ev->project_name)));
	if (alert_event_is_self(ev)) {
		if (ev->org_id && *ev->org_id)
			jset(c, l, "org_id", jstr(c, ev->org_id));
	} else {
		jset(c, l, "project_id", jstr(c, nz(ev->project_id)));
	}
	jset(c, l, "check", jstr(c, check_name(ev->check)));
	if (ev->subject && *ev->subject)
		jset(c, l, "subject", jstr(c, ev->subject));
	if (*prov)
		jset(c, l, "provider", jstr(c, prov));
	jset(c, a, "labels", l);

	jset(c, n, "summary", jstr(c, nz(ev->summary)));
	util_format_time(ev->started_at, t, sizeof(t));
	util_format_time(ev->observed_at, t2, sizeof(t2));
	if (ev->kind == EV_RESOLVED)
		state = util_asprintf("resolved at %s, was %s since %s", t2,
				      severity_name(label_sev), t);
	else if (ev->kind == EV_INFO)
		state = util_asprintf("observed at %s", t2);
	else if (label_sev != ev->severity) /* the alert of the old severity */
		state = util_asprintf("%s since %s, now %s (at %s)", severity_name(label_sev), t,
				      severity_name(ev->severity), t2);
	else
		state = util_asprintf("%s since %s", severity_name(label_sev), t);
	desc = !state ? NULL
	       : alert_event_is_self(ev)
		       ? util_asprintf("%s on %s (organization %s)%s%s: %s.", check_name(ev->check),
				       nz(ev->project_name),
				       ev->org_id && *ev->org_id ? ev->org_id : "unknown",
				       ev->subject && *ev->subject ? ", subject " : "",
				       nz(ev->subject), state)
		       : util_asprintf("%s on project %s (%s)%s%s%s%s: %s.", check_name(ev->check),
				     nz(ev->project_name), nz(ev->project_id),
				     ev->subject && *ev->subject ? ", subject " : "",
				     nz(ev->subject), *prov ? ", provider " : "", prov, state);
	free(state);
	if (desc == NULL)
		c->err = -ENOMEM;
	jset(c, n, "description", jstr(c, desc));
	free(desc);
	jset(c, n, "alert_id", jstr(c, ev->alert_id));
	jset(c, n, "event", jstr(c, event_kind_name(ev->kind)));
	if (is_change(ev))
		jset(c, n, "previous_severity", jstr(c, severity_name(ev->previous_severity)));
	if (ev->has_days_left) {
		snprintf(t, sizeof(t), "%lld", (long long)ev->days_left);
		jset(c, n, "days_left", jstr(c, t));
	}
	if (ev->has_age_days) {
		snprintf(t, sizeof(t), "%lld", (long long)ev->age_days);
		jset(c, n, "age_days", jstr(c, t));
	}
	if (ev->missing && *ev->missing) {
		char *m = missing_text(ev->missing);

		if (m == NULL)
			c->err = -ENOMEM;
		jset(c, n, "missing", jstr(c, m));
		free(m);
	}
	if (host && *host)
		jset(c, n, "host", jstr(c, host));
	jset(c, a, "annotations", n);

	util_format_time(ev->started_at, t, sizeof(t));
	jset(c, a, "startsAt", jstr(c, t));
	if (has_end) {
		util_format_time(end, t, sizeof(t));
		jset(c, a, "endsAt", jstr(c, t));
	}
	/* no generatorURL: Alertmanager wants a URL there, and kmswatch has
	 * no page to link to */
	return a;
}

int
render_alertmanager(const struct alert_event *ev, const char *host, int64_t resolve_timeout_s,
		    char **out, size_t *len)
{
	struct jctx c = {0};
	json_t *root;
	bool has_end;
	time_t end;

	if (ev == NULL || out == NULL || len == NULL)
		return -EINVAL;
	root = jarr(&c);
	if (ev->kind == EV_RESOLVED) {
		/* the labels must be those it fired with, severity included */
		jpush(&c, root, am_alert(&c, ev, ev->previous_severity, host, true, ev->observed_at));
		return jfinish(&c, root, out, len);
	}
	/* While firing, endsAt lies ahead by the resolve timeout: each re-post
	 * pushes it on, and if every kmswatchd dies the alert resolves by
	 * itself instead of firing forever on stale news. Without a timeout
	 * Alertmanager applies its own resolve_timeout. */
	has_end = resolve_timeout_s > 0 && (int64_t)ev->observed_at <= INT64_MAX - resolve_timeout_s;
	end = has_end ? (time_t)((int64_t)ev->observed_at + resolve_timeout_s) : 0;
	jpush(&c, root, am_alert(&c, ev, ev->severity, host, has_end, end));
	/* the severity is a label, so a change makes a new alert: end the one
	 * of the old severity now rather than let it linger until its endsAt */
	if (is_change(ev))
		jpush(&c, root, am_alert(&c, ev, ev->previous_severity, host, true, ev->observed_at));
	return jfinish(&c, root, out, len);
}

/* ---- dispatch ---- */

int
render_for_sink(enum sink_type t, const struct alert_event *ev, const struct render_ctx *ctx,
		char **out, size_t *len, const char **content_type)
{
	const char *host;

	if (ev == NULL || ctx == NULL || out == NULL || len == NULL || content_type == NULL)
		return -EINVAL;
	host = ctx->host ? ctx->host : "";
	/* JSON is UTF-8 by definition (RFC 8259): no charset parameter */
	*content_type = "application/json";
	switch (t) {
	case SINK_WEBHOOK:
		return render_webhook(ev, host, out, len);
	case SINK_SLACK:
		return render_slack(ev, host, out, len);
	case SINK_MATTERMOST:
		return render_mattermost(ev, host, out, len);
	case SINK_TEAMS:
		return render_teams(ev, host, out, len);
	case SINK_PAGERDUTY:
		return render_pagerduty(ev, ctx->routing_key, host, out, len);
	case SINK_ALERTMANAGER:
		return render_alertmanager(ev, host, ctx->am_resolve_timeout_s, out, len);
	}
	return -EINVAL;
}
