/* SPDX-License-Identifier: ISC */
/*
 * alerts — the alert engine: turns each round of findings into events.
 * One alert exists per (project, check, subject) with a stable id. Events
 * are emitted on change only: `firing` when an alert appears or changes
 * severity, `repeat` every repeat_interval while it keeps firing,
 * `resolved` when it clears, and a single `info` event for info checks.
 *
 * Flapping guard: a new state (firing, another severity, or clear) must be
 * observed confirm_firing / confirm_resolved times in a row before it is
 * announced; until then the alert is tracked but says nothing.
 * Silences and inhibition hold an alert back: its events are still
 * produced (the daemon journals them with a note) but marked `held`, so
 * they are not sent to sinks; when the hold ends while the alert still
 * fires, a `firing` event that is not held is produced, so it is sent.
 *
 * The engine owns the alert table and its JSON form, which the daemon
 * persists so that a restart neither re-announces nor forgets. Pure logic:
 * time is an argument.
 */
#ifndef KMSWATCH_ALERTS_H
#define KMSWATCH_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "checks.h"

enum event_kind { EV_FIRING, EV_REPEAT, EV_RESOLVED, EV_INFO };
const char *event_kind_name(enum event_kind k);

#define ALERT_ID_LEN 32 /* hex characters */

struct alert {
	char id[ALERT_ID_LEN + 1];
	char *project_id, *project_name, *subject, *summary, *missing;
	char *org_id;           /* alerts about kmswatch itself (see alerts_observe_self) */
	enum check_id check;
	enum provider provider;
	enum severity severity; /* announced severity; never SEV_OK */
	bool announced;         /* false: seen, not yet confirmed (flapping guard) */
	bool held;              /* its last announcement was held back */
	enum severity pending;  /* a different state being confirmed, SEV_OK: clear */
	int pending_count;      /* consecutive observations of `pending` */
	time_t started_at, last_notified, last_observed;
	bool has_days_left, has_age_days;
	int64_t days_left, age_days;
	char **sinks;           /* sinks its firing was queued to */
	size_t n_sinks;
};

/* A self-contained event: every string is owned by the event. */
struct alert_event {
	enum event_kind kind;
	char alert_id[ALERT_ID_LEN + 1];
	char *project_id, *project_name, *subject, *summary, *missing;
	/* NULL for a project's event; an event about kmswatch's own Atlas
	 * credential (alert_event_is_self) has project_id "", project_name
	 * ALERTS_SELF_NAME and the organization here when it is known */
	char *org_id;
	enum check_id check;
	enum provider provider;
	enum severity severity;          /* SEV_OK for resolved */
	enum severity previous_severity; /* SEV_OK when there was none */
	time_t started_at, observed_at;
	bool has_days_left, has_age_days;
	int64_t days_left, age_days;
	/* silenced or inhibited: journaled (with the note) but not sent */
	bool held;
	char *note;
	/* resolved: the sinks that were sent this alert's firing, which get
	 * the resolution whatever their routing says now */
	char **sinks;
	size_t n_sinks;
};

struct alert_events {
	struct alert_event *v;
	size_t n, cap;
};
void alert_events_free(struct alert_events *e);
/* Whether the event is about kmswatch's own credential, not a project. */
static inline bool
alert_event_is_self(const struct alert_event *ev)
{
	return ev->project_id != NULL && ev->project_id[0] == '\0';
}

struct alert_engine;

struct cfg_silence;

struct alert_policy {
	int64_t repeat_interval; /* seconds; 0 disables repeats */
	bool send_resolved;      /* false: resolved events are journaled only */
	int confirm_firing;      /* observations to announce firing/severity change; <1 = 1 */
	int confirm_resolved;    /* observations to announce a resolution; <1 = 1 */
	const struct cfg_silence *silences;
	size_t n_silences;
};

int alerts_new(struct alert_engine **out);
void alerts_free(struct alert_engine *e);

/* The stable id of (project, check, subject): hex of a SHA-256 prefix. */
void alerts_make_id(const char *project_id, enum check_id check, const char *subject,
		    char out[ALERT_ID_LEN + 1]);

/* Fold one round of a project's findings into the table and append the
 * resulting events to out. Alerts of checks not marked evaluated are left
 * untouched; alerts of evaluated checks that have no non-OK finding this
 * round resolve. */
int alerts_observe(struct alert_engine *e, const char *project_id, const char *project_name,
		   const struct findings *f, const struct alert_policy *pol, time_t now,
		   struct alert_events *out);

/* Emit `repeat` events for alerts due at `now` (also done by observe), and
 * the `firing` of held alerts whose silence has expired. */
int alerts_tick(struct alert_engine *e, const struct alert_policy *pol, time_t now,
		struct alert_events *out);

/* The deliverer queued this alert's firing/repeat for `sink`; remembered
 * (and persisted) so that the resolution reaches the same sinks. */
int alerts_note_sink(struct alert_engine *e, const char *alert_id, const char *sink);

/*
 * Alerts about no project: kmswatch's own Atlas credential
 * (atlas.credential_expiry). They form one scope of their own, beside the
 * projects': project_id "" (no project id is empty), project_name
 * ALERTS_SELF_NAME, and org_id, the organization of the service account
 * (NULL: not known). The alert id is that of (project "org:ORG_ID" or
 * "org:" when unknown, check, subject), so it never equals a project's.
 * Observing the scope resolves what an evaluated check no longer reports
 * in it, whatever organization it was about (an organization changed in
 * the config resolves the old one's alerts). Silences without a project
 * match them (by check); one naming a project id does not.
 */
#define ALERTS_SELF_NAME "kmswatch's Atlas credential"
int alerts_observe_self(struct alert_engine *e, const char *org_id, const struct findings *f,
			const struct alert_policy *pol, time_t now, struct alert_events *out);
/* Resolve every alert of that scope once, saying why (the check no longer
 * applies: API-key auth, or switched off). */
int alerts_drop_self(struct alert_engine *e, const char *why, time_t now,
		     struct alert_events *out);

/* A project left the config: resolve its alerts once. */
int alerts_drop_project(struct alert_engine *e, const char *project_id, time_t now,
			struct alert_events *out);

/* The active alerts, in creation order:
 *   for (a = alerts_first(e); a; a = alerts_next(a)) */
size_t alerts_count(const struct alert_engine *e);
const struct alert *alerts_first(const struct alert_engine *e);
const struct alert *alerts_next(const struct alert *a);
const struct alert *alerts_find(const struct alert_engine *e, const char *id);
/* Announced alerts by severity (for STATUS=), counted as they change. */
void alerts_announced(const struct alert_engine *e, size_t n[SEV_CRITICAL + 1]);

/* Persistence: a JSON document {"version":1,"alerts":[...]}. load
 * replaces the table; a damaged document returns -EBADMSG and leaves the
 * table empty (the caller logs and starts afresh). */
int alerts_save(const struct alert_engine *e, char **json, size_t *len);
int alerts_load(struct alert_engine *e, const char *json, size_t len);

#endif
