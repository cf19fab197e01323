/* SPDX-License-Identifier: ISC */
/*
 * poller — the per-project pipeline: on each project's timer, get an Atlas
 * credential, fetch the EAR state, parse it, run the checks and hand the
 * findings to the owner. Transient failures (network, 429, 5xx) are retried
 * with backoff (honouring Retry-After) a few times before the round is
 * reported as atlas.access unknown; the next round follows poll_interval
 * after the start of the previous one, so cadence does not drift. A reload
 * starts new projects at once, stops removed ones and leaves the schedule
 * and memory of unchanged ones alone.
 */
#ifndef KMSWATCH_POLLER_H
#define KMSWATCH_POLLER_H

#include <stdbool.h>
#include <stddef.h>

#include "checks.h"
#include "config.h"

struct daemon;
struct poller;

struct poller_hooks {
	/* a project's round is complete; f is valid during the call */
	void (*on_result)(void *ctx, const struct cfg_project *p, const struct findings *f);
	/* a project left the configuration (not called at shutdown) */
	void (*on_removed)(void *ctx, const char *project_id);
	void *ctx;
	bool once; /* poll each project once, no rescheduling */
};

int poller_new(struct daemon *d, const struct poller_hooks *hooks, struct poller **out);
/* Cancels everything; handles close asynchronously (run the loop). */
void poller_free(struct poller *p);
/* Adopt a (new) config; cfg must stay alive until the next call. */
int poller_configure(struct poller *p, const struct config *cfg);

/* Per-project memory across polls (ear.config fingerprint, key first
 * seen), persisted by the daemon as one JSON document. */
int poller_save_memory(const struct poller *p, char **json, size_t *len);
/* Load before the first poller_configure; a damaged document returns
 * -EBADMSG and the memory starts empty. */
int poller_load_memory(struct poller *p, const char *json, size_t len);

/* For STATUS=: projects, rounds in progress, ms until the next round. */
void poller_stats(const struct poller *p, size_t *projects, size_t *busy, int64_t *next_ms);
/* Its samples for a scrape: ear_valid and the Atlas last_success of each
 * project read at least once (daemon/exporter.h). */
struct metrics;
void poller_metrics(const struct poller *p, struct metrics *w);
/* In once mode: true when every project has reported. */
bool poller_all_done(const struct poller *p);
/* Once mode: the projects that have not reported yet, in config order, at
 * most max of them; returns how many there are in all. */
size_t poller_unfinished(const struct poller *p, const struct cfg_project **out, size_t max);

#endif
