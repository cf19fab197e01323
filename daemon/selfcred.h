/* SPDX-License-Identifier: ISC */
/*
 * selfcred — atlas.credential_expiry: kmswatch watches the Atlas
 * service-account secret it uses itself, so that it says so before it
 * goes blind. Reads its service account (GET /orgs/{orgId}/serviceAccounts/
 * {clientId}) at start, after a reload that changed the credential or the
 * organization, and every atlas.credential_interval (default 1h); the
 * organization is atlas.org_id, else the orgId of the first configured
 * project that answers GET /groups/{id}. One timer, one request at a time;
 * idle it costs that timer. The findings concern no project: they go to
 * the alert engine's self scope (alerts_observe_self). Only with
 * atlas.auth service_account: API keys do not expire.
 */
#ifndef KMSWATCH_SELFCRED_H
#define KMSWATCH_SELFCRED_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct daemon;
struct config;
struct selfcred;

struct findings;
/* --once: each verdict goes here instead of the alert engine, and the
 * account is read once (no timer again, no state, no events). org_id is
 * NULL when unknown. */
typedef void (*selfcred_once_fn)(void *ctx, const char *org_id, const struct findings *f);

/* once_fn NULL: the daemon's module (alerts, state, a timer). */
int selfcred_new(struct daemon *d, selfcred_once_fn once_fn, void *ctx, struct selfcred **out);
/* Cancels the read in flight and closes the timer (the loop runs the
 * close callback, which frees it). NULL is ignored. */
void selfcred_free(struct selfcred *s);
/* Adopt a (new) config; the config must outlive the next configure/free. */
void selfcred_configure(struct selfcred *s, const struct config *cfg);
/* A discover: listing ended (discover_on_listed's fn; ctx the selfcred):
 * a round that had no project to learn the organization from goes on. */
void selfcred_listed(void *ctx);

/* --once: whether the read is over (or the check does not apply). */
bool selfcred_idle(const struct selfcred *s);

/* The memory document (selfcred.json): the last good read, so that a read
 * failing after a restart does not resolve an expiring secret's alert. */
int selfcred_save(const struct selfcred *s, char **json, size_t *len);
/* -EBADMSG when damaged (then nothing is remembered). */
int selfcred_load(struct selfcred *s, const char *json, size_t len);

/* When the secret judged last expires (expiresAt), for a metric such as
 * kmswatch_credential_expiry_timestamp_seconds{provider="atlas"}; false
 * when nothing was read yet or the check does not apply. secret_id (may
 * be NULL) gets the secret's id, not a copy. */
bool selfcred_expiry(const struct selfcred *s, time_t *expires_at, const char **secret_id);

#endif
