/* SPDX-License-Identifier: ISC */
/*
 * exporter — the Prometheus exposition of docs/INTERFACE.md ("Metrics"):
 * GET /metrics on metrics.listen, served by libmicrohttpd from the libuv
 * loop (its epoll fd watched by a uv_poll_t, its timeout by a uv_timer_t,
 * no thread), and the metrics.textfile rewritten after each poll burst.
 *
 * The text itself is built by lib/metrics.c; this module declares the
 * families, counts the outgoing HTTP requests (an http.c observer) and
 * gathers the values once per scrape from their owners: the alert table
 * (alert_firing), the poller (ear_valid, last_success of Atlas), each
 * provider through provider_ops.metrics (its expiries, key dates and
 * last_success), the deliverer (outbox, deliveries). A scrape costs
 * O(projects + alerts). Everything runs on the loop thread.
 */
#ifndef KMSWATCH_EXPORTER_H
#define KMSWATCH_EXPORTER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "checks.h"

struct daemon;
struct config;
struct cfg_project;
struct metrics;
struct exporter;

/* The families, in exposition order (exporter.c declares them). */
enum mx_family {
	MX_BUILD_INFO,
	MX_ALERT_FIRING,
	MX_EAR_VALID,
	MX_CREDENTIAL_EXPIRY,
	MX_KEY_CREATED,
	MX_KEY_DELETION,
	MX_LAST_SUCCESS,
	MX_REQUESTS,
	MX_REQUEST_DURATION,
	MX_OUTBOX_PENDING,
	MX_DELIVERIES,
	MX__COUNT
};

int exporter_new(struct daemon *d, struct exporter **out);
/* Closes the listener (its handles close with the loop) and frees. */
void exporter_free(struct exporter *x);
/* Adopt metrics: of a (new) config: bind a new listen address, close a
 * removed one, keep an unchanged one. -errno (logged, with the address)
 * when the new address cannot be bound: then the old listener, if any,
 * stays. */
int exporter_configure(struct exporter *x, const struct config *cfg);
/* Results came in: rewrite metrics.textfile (if set). A failure is
 * logged once with the path and the reason until a write works again;
 * the previous file stays as it was. */
void exporter_after_cycle(struct exporter *x);
/* http.c's observer (http_client_set_observer): one finished transfer. */
void exporter_observe_http(void *x, const char *service, long status, int curl_code,
			   int64_t total_us);

/* ---- for the modules that contribute samples --------------------------- */

void mx_ear_valid(struct metrics *w, const struct cfg_project *p, const char *provider,
		  bool valid);
/* source: "atlas", or the provider's name */
void mx_last_success(struct metrics *w, const struct cfg_project *p, const char *source,
		     time_t at);
/* credential: a non-secret name of the credential (an application or
 * client id) */
void mx_credential_expiry(struct metrics *w, const struct cfg_project *p, const char *provider,
			  const char *credential, time_t at);
void mx_key_created(struct metrics *w, const struct cfg_project *p, const char *provider,
		    time_t at);
void mx_key_deletion(struct metrics *w, const struct cfg_project *p, const char *provider,
		     time_t at);
void mx_outbox_pending(struct metrics *w, const char *sink, uint64_t n);
void mx_deliveries(struct metrics *w, const char *sink, const char *result, uint64_t n);

/* What a provider remembers of one project for the exposition: each time
 * 0 when unknown or there is none. */
struct mx_facts {
	time_t last_success, key_created, key_deletion, credential_expiry;
	char *credential; /* the credential_expiry label */
};
void mx_facts_clear(struct mx_facts *f);
/* Every sample the facts hold, for project p of provider. */
void mx_facts_write(const struct mx_facts *f, struct metrics *w, const struct cfg_project *p,
		    const char *provider);
/* A finished round's verdict on its reads: the access check was evaluated
 * and all its findings are ok (with that check switched off, never). */
bool mx_round_read_ok(const struct findings *f, enum check_id access);
/* The instant of the first finding of check c that carries one
 * (finding.has_at), 0 when none does; its subject in *subject. */
time_t mx_finding_at(const struct findings *f, enum check_id c, const char **subject);

#endif
