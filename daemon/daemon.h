/* SPDX-License-Identifier: ISC */
/*
 * daemon — the running process: one libuv loop and the modules hanging off
 * it. Each module has an init/fini pair; loop.c initialises them in
 * dependency order (http, auth, deliver, store, poller, providers) and finalises in
 * reverse. Everything here runs on the loop thread.
 */
#ifndef KMSWATCH_DAEMON_H
#define KMSWATCH_DAEMON_H

#include <stdbool.h>
#include <uv.h>

#include "alerts.h"
#include "config.h"

struct http_client;
struct auth;
struct tokens;
struct deliverer;
struct poller;
struct store;
struct providers;
struct discover;
struct selfcred;
struct exporter;

/* The services every module shares. The process's own handles (signals,
 * watchdog, coalescing timers) are loop.c's alone, in its struct
 * runtime around this one. */
struct daemon {
	uv_loop_t *loop;
	struct config *cfg; /* swapped by a reload */
	struct http_client *http;
	struct tokens *tokens; /* every bearer token, one cache */
	struct auth *auth;
	struct deliverer *deliver;
	struct store *store;
	struct poller *poller;
	struct providers *providers; /* the key services beside Atlas */
	struct discover *discover;   /* discover: and the effective project list */
	struct selfcred *selfcred;   /* atlas.credential_expiry (daemon only) */
	struct alert_engine *alerts;
	struct exporter *exporter; /* metrics: listener and textfile */
	char host[256];
};

/* Hand a batch of events to every output: the journal (always) and the
 * sinks whose routing accepts them. Used by the poller and by reloads. */
void daemon_emit(struct daemon *d, const struct alert_events *evs);

/* A module outside the poller's results (selfcred) changed the alert
 * table or its own state: the state is written this loop turn when events
 * were queued, else soon, and the per-turn work (repeats, STATUS=) runs. */
void daemon_observed(struct daemon *d, bool events);

/* The alert policy of the current config. */
struct alert_policy daemon_alert_policy(const struct daemon *d);

int daemon_run(const char *config_path);

#endif
