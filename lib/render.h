/* SPDX-License-Identifier: ISC */
/*
 * render — what an event looks like outside the daemon: the generic webhook
 * JSON of docs/INTERFACE.md and its Standard Webhooks signature, the payload of
 * each sink type (Slack, Mattermost, Teams, PagerDuty, Alertmanager), plus
 * the one-line text used on stderr. Pure: no I/O, no clock.
 */
#ifndef KMSWATCH_RENDER_H
#define KMSWATCH_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "alerts.h"
#include "config.h"

/* The docs/INTERFACE.md webhook document. *out is a new NUL-terminated string. */
int render_webhook(const struct alert_event *ev, const char *host, char **out, size_t *len);

/* Standard Webhooks: "v1," + base64(HMAC-SHA256(key, "id.timestamp.body")).
 * A secret of the form "whsec_<base64>" uses the decoded bytes as the key
 * (as the specification's libraries do); any other string is used as is.
 * out must hold RENDER_SIGNATURE_LEN bytes. Returns 0 or -EINVAL. */
#define RENDER_SIGNATURE_LEN 64
int render_signature(const char *secret, const char *msg_id, int64_t timestamp,
		     const char *body, size_t len, char *out);

/* "FIRING critical ear.valid payments-prod (azure): summary" */
int render_line(const struct alert_event *ev, char **out);

/*
 * Sink payloads. Each renderer builds one NUL-terminated JSON body from the
 * event alone (every time in it is the event's, never the clock's), so the
 * same event renders to the same bytes on every host and every retry. The
 * body is compact JSON with a fixed key order. *out must be freed. Returns
 * 0, -EINVAL (missing argument) or -ENOMEM. Text taken from the event is
 * cut to each service's documented limits on a UTF-8 character boundary,
 * ending with "…" when something was cut, and invalid UTF-8 becomes '?'.
 */

/* Slack incoming webhook: `text` (notification fallback) plus Block Kit
 * header, summary section, fields section and context. */
int render_slack(const struct alert_event *ev, const char *host, char **out, size_t *len);

/* Mattermost incoming webhook: Slack-compatible `text` and one attachment
 * (fallback, color by state, title, text, fields, footer), username
 * "kmswatch". */
int render_mattermost(const struct alert_event *ev, const char *host, char **out,
		      size_t *len);

/* Teams Workflows webhook: a "message" carrying one Adaptive Card of the
 * version below, valid against that version's official schema. */
#define RENDER_ADAPTIVE_CARD_VERSION "1.4"
int render_teams(const struct alert_event *ev, const char *host, char **out, size_t *len);

/* PagerDuty Events API v2: `trigger` (firing, repeat, info) or `resolve`,
 * dedup_key = alert id. routing_key is required and appears in this body
 * only. */
int render_pagerduty(const struct alert_event *ev, const char *routing_key, const char *host,
		     char **out, size_t *len);

/* Alertmanager POST /api/v2/alerts: a JSON array. Labels carry only what
 * identifies the alert (never the host), so every kmswatchd feeding one
 * Alertmanager produces the same label set and it deduplicates them.
 * While firing, endsAt = observed_at + resolve_timeout_s (omitted when
 * resolve_timeout_s <= 0); on resolve, endsAt = observed_at. A severity
 * change also resolves the alert of the old severity (its labels differ). */
int render_alertmanager(const struct alert_event *ev, const char *host,
			int64_t resolve_timeout_s, char **out, size_t *len);

/* What a sink needs beyond the event. routing_key: PagerDuty only (a
 * secret); am_resolve_timeout_s: Alertmanager only, and it must exceed the
 * interval at which the daemon re-posts firing alerts. */
struct render_ctx {
	const char *host;
	const char *routing_key;
	int64_t am_resolve_timeout_s;
};

/* Renders ev for a sink of type t (SINK_WEBHOOK: render_webhook).
 * *content_type is a static string. */
int render_for_sink(enum sink_type t, const struct alert_event *ev, const struct render_ctx *ctx,
		    char **out, size_t *len, const char **content_type);

/* Copies src into a new string of at most max bytes (plus the NUL), never
 * splitting a UTF-8 character, ending with "…" when it had to cut, with
 * each invalid UTF-8 byte replaced by '?'. Returns 0, -EINVAL or -ENOMEM. */
int render_clip(const char *src, size_t max, char **out);

#endif
