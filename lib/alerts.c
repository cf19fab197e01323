/* SPDX-License-Identifier: ISC */
/*
 * alerts — see alerts.h. Each alert is a node on three indexes: a hash by
 * alert id (the deliverer's lookups), its project's list (one round of
 * findings touches only its own project's alerts) and the table's list in
 * creation order (save, tick, iteration). A round of a project costs its
 * own alerts, never the table: a host may watch 10,000 projects.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <uthash.h>

#include "alerts.h"
#include "config.h"
#include "crypto.h"
#include "util.h"

struct project_alerts;

struct alert_node {
	struct alert a; /* first: a struct alert * is its node */
	UT_hash_handle hh; /* engine.by_id */
	struct alert_node *prev, *next;   /* the table, in creation order */
	struct alert_node *pprev, *pnext; /* its project's alerts */
	struct project_alerts *project;
	unsigned seen_round; /* engine.round when a finding last named it */
};

struct project_alerts {
	char *project_id; /* the hash key */
	struct alert_node *head;
	UT_hash_handle hh;
};

struct alert_engine {
	struct alert_node *by_id;
	struct project_alerts *projects;
	struct alert_node *head, *tail;
	size_t n;
	size_t announced[SEV_CRITICAL + 1]; /* announced alerts by severity */
	unsigned round;
};

static struct alert_node *
node_of(const struct alert *a)
{
	return (struct alert_node *)a;
}

const char *
event_kind_name(enum event_kind k)
{
	switch (k) {
	case EV_FIRING:
		return "firing";
	case EV_REPEAT:
		return "repeat";
	case EV_RESOLVED:
		return "resolved";
	case EV_INFO:
		return "info";
	}
	return "?";
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
event_clear(struct alert_event *ev)
{
	free(ev->project_id);
	free(ev->project_name);
	free(ev->subject);
	free(ev->summary);
	free(ev->missing);
	free(ev->org_id);
	free(ev->note);
	strv_free(ev->sinks, ev->n_sinks);
	memset(ev, 0, sizeof(*ev));
}

void
alert_events_free(struct alert_events *e)
{
	for (size_t i = 0; i < e->n; i++)
		event_clear(&e->v[i]);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static void
alert_clear(struct alert *a)
{
	free(a->project_id);
	free(a->project_name);
	free(a->subject);
	free(a->summary);
	free(a->missing);
	free(a->org_id);
	strv_free(a->sinks, a->n_sinks);
	memset(a, 0, sizeof(*a));
}

int
alerts_new(struct alert_engine **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void table_remove(struct alert_engine *e, struct alert *a);

static void
table_clear(struct alert_engine *e)
{
	while (e->head)
		table_remove(e, &e->head->a);
}

void
alerts_free(struct alert_engine *e)
{
	if (!e)
		return;
	table_clear(e);
	free(e);
}

void
alerts_make_id(const char *project_id, enum check_id check, const char *subject,
	       char out[ALERT_ID_LEN + 1])
{
	/* NUL separators keep ("a","bc") and ("ab","c") apart. */
	const char *parts[] = {project_id, check_name(check), subject};
	unsigned char d[CRYPTO_SHA256_LEN];

	/* only on ENOMEM inside libcrypto, which has nothing to fall back on */
	if (crypto_sha256_strings(parts, 3, d) < 0)
		abort();
	util_hex(d, ALERT_ID_LEN / 2, out);
}

size_t
alerts_count(const struct alert_engine *e)
{
	return e->n;
}

const struct alert *
alerts_first(const struct alert_engine *e)
{
	return e->head ? &e->head->a : NULL;
}

const struct alert *
alerts_next(const struct alert *a)
{
	struct alert_node *n = node_of(a)->next;

	return n ? &n->a : NULL;
}

void
alerts_announced(const struct alert_engine *e, size_t n[SEV_CRITICAL + 1])
{
	memcpy(n, e->announced, sizeof(e->announced));
}

static struct alert *
find_mut(const struct alert_engine *e, const char *id)
{
	struct alert_node *n;

	HASH_FIND(hh, e->by_id, id, strlen(id), n);
	return n ? &n->a : NULL;
}

static struct project_alerts *
project_find(const struct alert_engine *e, const char *project_id)
{
	struct project_alerts *pa;

	HASH_FIND_STR(e->projects, project_id, pa);
	return pa;
}

/* The announced-severity counts follow every change of announced or
 * severity: take the alert out before the change, put it back after. */
static void
count_out(struct alert_engine *e, const struct alert *a)
{
	if (a->announced)
		e->announced[a->severity]--;
}

static void
count_in(struct alert_engine *e, const struct alert *a)
{
	if (a->announced)
		e->announced[a->severity]++;
}

const struct alert *
alerts_find(const struct alert_engine *e, const char *id)
{
	return find_mut(e, id);
}

int
alerts_note_sink(struct alert_engine *e, const char *alert_id, const char *sink)
{
	struct alert *a = find_mut(e, alert_id);
	char **v, *copy;

	if (!a)
		return -ENOENT;
	for (size_t i = 0; i < a->n_sinks; i++)
		if (strcmp(a->sinks[i], sink) == 0)
			return 0;
	copy = strdup(sink);
	v = copy ? realloc(a->sinks, (a->n_sinks + 1) * sizeof(*v)) : NULL;
	if (!v) {
		free(copy);
		return -ENOMEM;
	}
	v[a->n_sinks++] = copy;
	a->sinks = v;
	return 0;
}

static void
table_remove(struct alert_engine *e, struct alert *a)
{
	struct alert_node *n = node_of(a);
	struct project_alerts *pa = n->project;

	count_out(e, a);
	HASH_DEL(e->by_id, n);
	if (n->prev)
		n->prev->next = n->next;
	else
		e->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		e->tail = n->prev;
	if (n->pprev)
		n->pprev->pnext = n->pnext;
	else
		pa->head = n->pnext;
	if (n->pnext)
		n->pnext->pprev = n->pprev;
	if (!pa->head) {
		HASH_DEL(e->projects, pa);
		free(pa->project_id);
		free(pa);
	}
	alert_clear(a);
	free(n);
	e->n--;
}

static struct alert_event *
event_push(struct alert_events *out)
{
	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		struct alert_event *v = realloc(out->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		out->v = v;
		out->cap = cap;
	}
	memset(&out->v[out->n], 0, sizeof(out->v[0]));
	return &out->v[out->n++];
}

/* Copies an alert into an event (strings owned by the event). */
static int
event_from_alert(struct alert_events *out, enum event_kind kind, const struct alert *a,
		 enum severity sev, enum severity prev, time_t now, const char *note)
{
	struct alert_event *ev = event_push(out);
	bool nomem;

	if (!ev)
		return -ENOMEM;
	ev->kind = kind;
	memcpy(ev->alert_id, a->id, sizeof(ev->alert_id));
	ev->project_id = util_strdup(a->project_id);
	ev->project_name = util_strdup(a->project_name);
	ev->subject = util_strdup(a->subject);
	ev->summary = util_strdup(a->summary);
	ev->missing = util_strdup(a->missing);
	ev->org_id = util_strdup(a->org_id);
	ev->note = util_strdup(note);
	ev->held = note != NULL;
	ev->check = a->check;
	ev->provider = a->provider;
	ev->severity = sev;
	ev->previous_severity = prev;
	ev->started_at = a->started_at;
	ev->observed_at = now;
	ev->has_days_left = a->has_days_left;
	ev->days_left = a->days_left;
	ev->has_age_days = a->has_age_days;
	ev->age_days = a->age_days;
	nomem = !ev->project_id || !ev->project_name || !ev->subject || !ev->summary ||
		(a->missing && !ev->missing) || (a->org_id && !ev->org_id) ||
		(note && !ev->note);
	if (!nomem && kind == EV_RESOLVED && a->n_sinks) {
		ev->sinks = calloc(a->n_sinks, sizeof(*ev->sinks));
		nomem = !ev->sinks;
		for (size_t i = 0; !nomem && i < a->n_sinks; i++) {
			ev->sinks[i] = strdup(a->sinks[i]);
			nomem = !ev->sinks[i];
			ev->n_sinks = i + 1;
		}
	}
	if (nomem) {
		event_clear(ev);
		out->n--;
		return -ENOMEM;
	}
	return 0;
}

/* Refresh an alert's description from the latest finding. */
static int
alert_update(struct alert *a, const struct finding *f, const char *project_name)
{
	char *summary = util_strdup(f->summary ? f->summary : "");
	char *missing = util_strdup(f->missing);
	char *name = util_strdup(project_name);

	if (!summary || (f->missing && !missing) || !name) {
		free(summary);
		free(missing);
		free(name);
		return -ENOMEM;
	}
	free(a->summary);
	free(a->missing);
	free(a->project_name);
	a->summary = summary;
	a->missing = missing;
	a->project_name = name;
	a->provider = f->provider;
	a->has_days_left = f->has_days_left;
	a->days_left = f->days_left;
	a->has_age_days = f->has_age_days;
	a->age_days = f->age_days;
	return 0;
}

static struct alert *
alert_create(struct alert_engine *e, const char *id, const char *project_id,
	     const char *org_id, const struct finding *f, time_t now)
{
	struct alert_node *n = calloc(1, sizeof(*n));
	struct project_alerts *pa = project_find(e, project_id);
	struct alert *a;

	if (!n)
		return NULL;
	a = &n->a;
	memcpy(a->id, id, sizeof(a->id));
	a->project_id = util_strdup(project_id);
	a->subject = util_strdup(f->subject ? f->subject : "");
	a->org_id = util_strdup(org_id);
	if (!a->project_id || !a->subject || (org_id && !a->org_id))
		goto nomem;
	if (!pa) {
		/* a project's list exists while it has alerts */
		if (!(pa = calloc(1, sizeof(*pa))) || !(pa->project_id = util_strdup(project_id))) {
			free(pa);
			goto nomem;
		}
		HASH_ADD_KEYPTR(hh, e->projects, pa->project_id, strlen(pa->project_id), pa);
	}
	a->check = f->check;
	a->severity = f->severity;
	a->started_at = now;
	/* announced is false: the counts do not change yet */
	HASH_ADD(hh, e->by_id, a.id, strlen(a->id), n);
	n->project = pa;
	n->pnext = pa->head;
	if (pa->head)
		pa->head->pprev = n;
	pa->head = n;
	n->prev = e->tail;
	if (e->tail)
		e->tail->next = n;
	else
		e->head = n;
	e->tail = n;
	e->n++;
	return a;
nomem:
	alert_clear(a);
	free(n);
	return NULL;
}

/* An info finding is news once: an event, no alert. Silences apply. */
static int
emit_info(struct alert_events *out, const char *project_id, const char *project_name,
	  const struct finding *f, time_t now, const char *note)
{
	struct alert a = {
		.project_id = (char *)project_id,
		.project_name = (char *)project_name,
		.subject = f->subject ? f->subject : "",
		.summary = f->summary ? f->summary : "",
		.missing = f->missing,
		.check = f->check,
		.provider = f->provider,
		.started_at = now,
	};

	alerts_make_id(project_id, f->check, a.subject, a.id);
	return event_from_alert(out, EV_INFO, &a, SEV_INFO, SEV_OK, now, note);
}

/* ---- holds: silences and inhibition ------------------------------------ */

static bool
inhibitable(enum check_id c)
{
	return check_held_while_ear_invalid(c);
}

/* While a project's ear.valid is critical, the checks that say so
 * (key age, key version: see the check catalogue) are beside the point:
 * the outage is the news. Only the project's own alerts are looked at. */
static bool
inhibited(const struct alert_engine *e, const char *project_id, enum check_id c)
{
	const struct project_alerts *pa;

	if (!inhibitable(c) || !(pa = project_find(e, project_id)))
		return false;
	for (const struct alert_node *n = pa->head; n; n = n->pnext)
		if (n->a.check == CHK_EAR_VALID && n->a.announced &&
		    n->a.severity == SEV_CRITICAL)
			return true;
	return false;
}

/* Why events of this alert are held back now, or false. */
static bool
hold_reason(const struct alert_engine *e, const struct alert_policy *pol, const char *project_id,
	    const char *project_name, enum check_id c, time_t now, char *buf, size_t len)
{
	for (size_t i = 0; i < pol->n_silences; i++) {
		const struct cfg_silence *s = &pol->silences[i];
		char until[UTIL_TIME_LEN];

		if (now >= s->until)
			continue;
		if (s->project && strcasecmp(s->project, project_id) != 0 &&
		    !util_streq(s->project, project_name))
			continue;
		if (s->check && strcmp(s->check, check_name(c)) != 0)
			continue;
		util_format_time(s->until, until, sizeof(until));
		snprintf(buf, len, "silenced until %s%s%s", until, s->comment ? ": " : "",
			 s->comment ? s->comment : "");
		return true;
	}
	if (inhibited(e, project_id, c)) {
		snprintf(buf, len, "held back while ear.valid is critical for this project");
		return true;
	}
	return false;
}

static int
announce(struct alert_engine *e, struct alert_events *out, enum event_kind kind, struct alert *a,
	 enum severity sev, enum severity prev, const struct alert_policy *pol, time_t now)
{
	char note[256];
	bool held = hold_reason(e, pol, a->project_id, a->project_name, a->check, now, note,
				sizeof(note));

	if (kind != EV_RESOLVED)
		a->held = held;
	a->last_notified = now;
	return event_from_alert(out, kind, a, sev, prev, now, held ? note : NULL);
}

static bool
repeat_due(const struct alert *a, const struct alert_policy *pol, time_t now)
{
	return a->announced && pol->repeat_interval > 0 &&
	       now - a->last_notified >= pol->repeat_interval;
}

/* The OK finding that explains a resolution, when the check gave one. */
static const struct finding *
ok_finding_for(const struct findings *f, const struct alert *a)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == a->check && f->v[i].severity == SEV_OK &&
		    util_streq(f->v[i].subject ? f->v[i].subject : "", a->subject))
			return &f->v[i];
	return NULL;
}

static int
resolve(struct alert_engine *e, struct alert *a, const char *why, const struct alert_policy *pol,
	time_t now, struct alert_events *out)
{
	char *summary;
	int r = 0;

	if (a->announced) {
		summary = why ? util_strdup(why)
			      : util_asprintf("no longer detected: %s", a->summary);
		if (!summary)
			return -ENOMEM;
		free(a->summary);
		a->summary = summary;
		r = announce(e, out, EV_RESOLVED, a, SEV_OK, a->severity, pol, now);
	}
	table_remove(e, a);
	return r;
}

static int
confirm_n(int n)
{
	return n < 1 ? 1 : n;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Sorted copies of the items of a comma-separated list; *n = 0 for NULL. */
static int
split_sorted(const char *list, char **buf, char ***items, size_t *n)
{
	size_t cap = 1;

	*buf = NULL;
	*items = NULL;
	*n = 0;
	if (list == NULL || *list == '\0')
		return 0;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	if (!(*buf = util_strdup(list)) || !(*items = calloc(cap, sizeof(**items)))) {
		free(*buf);
		return -ENOMEM;
	}
	for (char *save = NULL, *t = strtok_r(*buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		(*items)[(*n)++] = t;
	qsort(*items, *n, sizeof(**items), cmp_str);
	return 0;
}

/* Whether two KMSWATCH_MISSING lists name the same set, in any order. */
static int
same_missing(const char *a, const char *b, bool *same)
{
	char *ba, *bb, **va, **vb;
	size_t na, nb;
	int r;

	if (util_streq(a ? a : "", b ? b : "")) {
		*same = true;
		return 0;
	}
	if ((r = split_sorted(a, &ba, &va, &na)) < 0)
		return r;
	if ((r = split_sorted(b, &bb, &vb, &nb)) < 0) {
		free(ba);
		free(va);
		return r;
	}
	*same = na == nb;
	for (size_t i = 0; *same && i < na; i++)
		*same = strcmp(va[i], vb[i]) == 0;
	free(ba);
	free(va);
	free(bb);
	free(vb);
	return 0;
}

/* One non-OK finding for an alert. */
static int
observe_one(struct alert_engine *e, const char *project_id, const char *project_name,
	    const char *org_id, const struct finding *fi, const struct alert_policy *pol,
	    time_t now, struct alert_events *out)
{
	char id[ALERT_ID_LEN + 1], key[64];
	struct alert *a;
	bool same_set = true;
	int r;

	if (*project_id == '\0') { /* the self scope: keyed by the organization */
		snprintf(key, sizeof(key), "org:%s", org_id ? org_id : "");
		alerts_make_id(key, fi->check, fi->subject, id);
	} else {
		alerts_make_id(project_id, fi->check, fi->subject, id);
	}
	a = find_mut(e, id);
	if (!a) {
		a = alert_create(e, id, project_id, org_id, fi, now);
		if (!a)
			return -ENOMEM;
		a->pending = fi->severity;
		a->pending_count = 0;
	}
	if ((r = same_missing(a->missing, fi->missing, &same_set)) < 0)
		return r;
	if ((r = alert_update(a, fi, project_name)) < 0)
		return r;
	a->last_observed = now;
	node_of(a)->seen_round = e->round;
	if (a->announced && a->severity == fi->severity) {
		/* steady: any pending change did not hold */
		a->pending = a->severity;
		a->pending_count = 0;
		/* What to fix changed (another address went missing, or some
		 * were added): say so now, not at the next repeat. */
		if (!same_set || repeat_due(a, pol, now))
			return announce(e, out, EV_REPEAT, a, a->severity, a->severity, pol, now);
		return 0;
	}
	if (a->pending != fi->severity) {
		a->pending = fi->severity;
		a->pending_count = 0;
	}
	if (++a->pending_count < confirm_n(pol->confirm_firing))
		return 0;
	/* confirmed: a new alert or a severity change */
	{
		enum severity prev = a->announced ? a->severity : SEV_OK;

		if (!a->announced)
			a->started_at = now;
		count_out(e, a);
		a->announced = true;
		a->severity = fi->severity;
		count_in(e, a);
		a->pending_count = 0;
		return announce(e, out, EV_FIRING, a, a->severity, prev, pol, now);
	}
}

/* A held alert whose hold has ended is sent now, if it still fires. */
static int
release_hold(struct alert_engine *e, struct alert *a, const struct alert_policy *pol, time_t now,
	     struct alert_events *out)
{
	char note[256];

	if (!a->announced || !a->held ||
	    hold_reason(e, pol, a->project_id, a->project_name, a->check, now, note, sizeof(note)))
		return 0;
	return announce(e, out, EV_FIRING, a, a->severity, SEV_OK, pol, now);
}

static int
observe_scope(struct alert_engine *e, const char *project_id, const char *project_name,
	      const char *org_id, const struct findings *f, const struct alert_policy *pol,
	      time_t now, struct alert_events *out)
{
	struct project_alerts *pa;
	struct alert_node *n, *next;
	int r = 0;

	e->round++;
	/* Two passes: inhibitable checks last, so that an ear.valid that
	 * turns critical in the same round already holds them back. */
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		for (size_t i = 0; i < f->n && r == 0; i++) {
			const struct finding *fi = &f->v[i];
			char note[256];

			if (fi->severity == SEV_OK || !f->evaluated[fi->check] ||
			    inhibitable(fi->check) != (pass == 1))
				continue;
			if (fi->severity == SEV_INFO) {
				bool held = hold_reason(e, pol, project_id, project_name,
							fi->check, now, note, sizeof(note));

				r = emit_info(out, project_id, project_name, fi, now,
					      held ? note : NULL);
				continue;
			}
			r = observe_one(e, project_id, project_name, org_id, fi, pol, now, out);
		}
	}
	/* Resolve what an evaluated check no longer reports, once the clear
	 * state has held; resolve() may free n (and, with the project's last
	 * alert, pa). */
	pa = project_find(e, project_id);
	for (n = pa ? pa->head : NULL; n && r == 0; n = next) {
		struct alert *a = &n->a;
		const struct finding *ok;

		next = n->pnext;
		if (n->seen_round == e->round || !f->evaluated[a->check])
			continue;
		if (a->announced) {
			if (a->pending != SEV_OK) {
				a->pending = SEV_OK;
				a->pending_count = 0;
			}
			if (++a->pending_count < confirm_n(pol->confirm_resolved))
				continue;
		}
		ok = ok_finding_for(f, a);
		r = resolve(e, a, ok ? ok->summary : NULL, pol, now, out);
	}
	/* This round may have ended an inhibition of the project's own
	 * alerts; silences that expire are alerts_tick's business. */
	pa = project_find(e, project_id);
	for (n = pa ? pa->head : NULL; n && r == 0; n = n->pnext)
		r = release_hold(e, &n->a, pol, now, out);
	return r;
}

int
alerts_observe(struct alert_engine *e, const char *project_id, const char *project_name,
	       const struct findings *f, const struct alert_policy *pol, time_t now,
	       struct alert_events *out)
{
	/* "" is the self scope's; a project id is never empty (config.c) */
	if (project_id == NULL || *project_id == '\0')
		return -EINVAL;
	return observe_scope(e, project_id, project_name, NULL, f, pol, now, out);
}

int
alerts_observe_self(struct alert_engine *e, const char *org_id, const struct findings *f,
		    const struct alert_policy *pol, time_t now, struct alert_events *out)
{
	return observe_scope(e, "", ALERTS_SELF_NAME, org_id, f, pol, now, out);
}

int
alerts_tick(struct alert_engine *e, const struct alert_policy *pol, time_t now,
	    struct alert_events *out)
{
	for (struct alert_node *n = e->head; n; n = n->next) {
		struct alert *a = &n->a;
		int r;

		if (repeat_due(a, pol, now))
			r = announce(e, out, EV_REPEAT, a, a->severity, a->severity, pol, now);
		else
			r = release_hold(e, a, pol, now, out);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
drop_scope(struct alert_engine *e, const char *project_id, const char *reason, time_t now,
	   struct alert_events *out)
{
	/* Holds do not apply: the project is gone, so are its silences. */
	static const struct alert_policy nopol = {0};
	struct project_alerts *pa = project_find(e, project_id);
	struct alert_node *n, *next;

	for (n = pa ? pa->head : NULL; n; n = next) {
		struct alert *a = &n->a;
		char *why;
		int r;

		next = n->pnext;
		why = util_asprintf("%s; was: %s", reason, a->summary);
		if (!why)
			return -ENOMEM;
		r = resolve(e, a, why, &nopol, now, out);
		free(why);
		if (r < 0)
			return r;
	}
	return 0;
}

int
alerts_drop_project(struct alert_engine *e, const char *project_id, time_t now,
		    struct alert_events *out)
{
	if (project_id == NULL || *project_id == '\0')
		return -EINVAL;
	return drop_scope(e, project_id, "project removed from the configuration", now, out);
}

int
alerts_drop_self(struct alert_engine *e, const char *why, time_t now, struct alert_events *out)
{
	return drop_scope(e, "", why ? why : "no longer checked", now, out);
}

/* ---- persistence ------------------------------------------------------- */

int
alerts_save(const struct alert_engine *e, char **json, size_t *len)
{
	json_t *root = json_object(), *arr = json_array();
	int r = -ENOMEM;

	if (!root || !arr)
		goto out;
	json_object_set_new(root, "version", json_integer(1));
	for (const struct alert_node *n = e->head; n; n = n->next) {
		const struct alert *a = &n->a;
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
				      "id", a->id, "project_id", a->project_id, "project_name",
				      a->project_name, "check", check_name(a->check), "provider",
				      a->provider == PROV_NONE ? "none" : provider_name(a->provider),
				      "subject", a->subject,
				      "severity", severity_name(a->severity), "summary",
				      a->summary, "started_at", (json_int_t)a->started_at,
				      "last_notified", (json_int_t)a->last_notified,
				      "last_observed", (json_int_t)a->last_observed);
		if (!o)
			goto out;
		if (a->missing)
			json_object_set_new(o, "missing", json_string(a->missing));
		if (a->org_id)
			json_object_set_new(o, "org_id", json_string(a->org_id));
		if (a->has_days_left)
			json_object_set_new(o, "days_left", json_integer(a->days_left));
		if (a->has_age_days)
			json_object_set_new(o, "age_days", json_integer(a->age_days));
		json_object_set_new(o, "announced", json_boolean(a->announced));
		json_object_set_new(o, "held", json_boolean(a->held));
		json_object_set_new(o, "pending", json_string(severity_name(a->pending)));
		json_object_set_new(o, "pending_count", json_integer(a->pending_count));
		if (a->n_sinks) {
			json_t *sinks = json_array();

			for (size_t k = 0; sinks && k < a->n_sinks; k++)
				json_array_append_new(sinks, json_string(a->sinks[k]));
			json_object_set_new(o, "sinks", sinks);
		}
		json_array_append_new(arr, o);
	}
	json_object_set(root, "alerts", arr);
	*json = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	if (*json) {
		*len = strlen(*json);
		r = 0;
	}
out:
	json_decref(arr);
	json_decref(root);
	return r;
}

/* Fields added after the first format: absent means an announced alert
 * with nothing pending, as every alert of the first format was. */
static int
load_extra(struct alert_engine *e, struct alert *a, json_t *o)
{
	json_t *announced = json_object_get(o, "announced"), *held = json_object_get(o, "held");
	json_t *pending = json_object_get(o, "pending"), *count = json_object_get(o, "pending_count");
	json_t *sinks = json_object_get(o, "sinks"), *v;
	size_t i;
	int sev;

	count_out(e, a);
	a->announced = announced ? json_is_true(announced) : true;
	count_in(e, a);
	a->held = held && json_is_true(held);
	a->pending = a->severity;
	if (pending) {
		sev = json_is_string(pending) ? severity_from_name(json_string_value(pending)) : -1;
		if (sev < 0)
			goto bad;
		a->pending = sev;
	}
	if (count) {
		if (!json_is_integer(count) || json_integer_value(count) < 0 ||
		    json_integer_value(count) > 1000000)
			goto bad;
		a->pending_count = (int)json_integer_value(count);
	}
	if (sinks) {
		if (!json_is_array(sinks))
			goto bad;
		json_array_foreach(sinks, i, v) {
			if (!json_is_string(v))
				goto bad;
			if (alerts_note_sink(e, a->id, json_string_value(v)) < 0)
				goto bad;
		}
	}
	return 0;
bad:
	table_remove(e, a);
	return -EBADMSG;
}

static int
load_one(struct alert_engine *e, json_t *o)
{
	const char *id, *pid, *pname, *check, *prov, *subject, *sev, *summary, *missing = NULL;
	const char *org = NULL;
	json_int_t started, notified, observed, days = 0, age = 0;
	int has_days = 0, has_age = 0, c, s, p;
	struct finding f = {0};
	struct alert *a;
	json_error_t err;

	if (json_unpack_ex(o, &err, 0, "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
			   "id", &id, "project_id", &pid, "project_name", &pname, "check",
			   &check, "provider", &prov, "subject", &subject, "severity", &sev,
			   "summary", &summary, "started_at", &started, "last_notified",
			   &notified, "last_observed", &observed) < 0)
		return -EBADMSG;
	json_unpack(o, "{s?s}", "missing", &missing);
	json_unpack(o, "{s?s}", "org_id", &org);
	if (json_object_get(o, "days_left"))
		has_days = json_unpack(o, "{s:I}", "days_left", &days) == 0;
	if (json_object_get(o, "age_days"))
		has_age = json_unpack(o, "{s:I}", "age_days", &age) == 0;
	c = check_from_name(check);
	s = severity_from_name(sev);
	/* "" is how PROV_NONE was once written: such alerts are not damaged */
	p = *prov == '\0' ? PROV_NONE : provider_from_name(prov);
	if (c < 0 || s <= SEV_INFO || p < 0 || strlen(id) != ALERT_ID_LEN || find_mut(e, id))
		return -EBADMSG;
	f.check = c;
	f.severity = s;
	f.provider = p;
	f.subject = (char *)subject;
	f.summary = (char *)summary;
	f.missing = (char *)missing;
	f.has_days_left = has_days;
	f.days_left = days;
	f.has_age_days = has_age;
	f.age_days = age;
	a = alert_create(e, id, pid, org, &f, started);
	if (!a)
		return -ENOMEM;
	if (alert_update(a, &f, pname) < 0) {
		table_remove(e, a);
		return -ENOMEM;
	}
	a->last_notified = notified;
	a->last_observed = observed;
	return load_extra(e, a, o);
}

int
alerts_load(struct alert_engine *e, const char *json, size_t len)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err), *arr;
	json_int_t version = 0;
	size_t i;
	int r = 0;

	table_clear(e);
	if (!root)
		return -EBADMSG;
	if (json_unpack_ex(root, &err, 0, "{s:I, s:o}", "version", &version, "alerts", &arr) < 0 ||
	    version != 1 || !json_is_array(arr)) {
		r = -EBADMSG;
		goto out;
	}
	for (i = 0; i < json_array_size(arr) && r == 0; i++)
		r = load_one(e, json_array_get(arr, i));
	if (r < 0)
		table_clear(e);
out:
	json_decref(root);
	return r;
}
