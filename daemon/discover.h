/* SPDX-License-Identifier: ISC */
/*
 * discover — `discover:` in the daemon: lists the Atlas projects the
 * identity can read (GET /groups, or each org's /orgs/{id}/groups; every
 * page, through atlasreq) every discover.interval and on each configure
 * (a SIGHUP), and hands the effective project list (the configured
 * projects, then the discovered ones with the defaults: lib/discover.h) to
 * the poller and the providers, which reconcile it by id. It sits between
 * the loop and them: the loop (and --once) call discover_configure, never
 * poller_configure or providers_configure directly.
 *
 * A listing that fails in any way keeps that source's last known set and
 * reports atlas.access (unknown) for the pseudo-project "discovery"
 * (DISCOVER_PROJECT_ID), subject "groups" or "org:ID", through the
 * poller's on_result hook; a complete one replaces the set, and only then
 * can a project be dropped. With discovery off the config goes through
 * unchanged.
 */
#ifndef KMSWATCH_DAEMON_DISCOVER_H
#define KMSWATCH_DAEMON_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct daemon;
struct discover;
struct poller_hooks;

/* The project id and name discovery's own alerts are filed under. */
#define DISCOVER_PROJECT_ID "discovery"
#define DISCOVER_PROJECT_NAME "discovery"
/* The state document of the last known sets. */
#define DISCOVER_DOC "discover.json"

int discover_new(struct daemon *d, const struct poller_hooks *hooks, struct discover **out);
/* Cancels the listing; the timer closes asynchronously (run the loop). */
void discover_free(struct discover *ds);
/* Adopt cfg (it must stay alive until the next call): the effective list
 * of cfg and the sets known so far goes to the poller and the providers,
 * and, with discover: set, a listing starts from the loop at once. In once
 * mode with discover: set, nothing is polled before that listing is done.
 * 0 or the first error of the poller or providers (logged by them). */
int discover_configure(struct discover *ds, const struct config *cfg);
/* A listing now (SIGHUP with a rejected config); nothing without
 * discover:. */
void discover_refresh(struct discover *ds);
/* Once mode: true when no listing is pending or running. */
bool discover_idle(const struct discover *ds);
/* Once mode (--project): poll only these (ids or names), of the listed
 * and the discovered projects; call before discover_configure. After the
 * run, the first one that matched nothing, or NULL. */
void discover_keep(struct discover *ds, const char *const *wanted, size_t n);
const char *discover_missing(const struct discover *ds);
/* The organization of the discovered projects: the orgId of the first
 * one listed that has one, else the org id of a listed source; NULL when
 * nothing is known (discover: off, or never listed). A service account
 * belongs to one organization, so this is kmswatch's own. */
const char *discover_org_id(const struct discover *ds);
/* discover: is on, nothing is known yet and a listing is under way or
 * due: discover_org_id() may soon know. */
bool discover_pending(const struct discover *ds);
/* fn(ctx) after every listing, succeeded or not (one listener). */
void discover_on_listed(struct discover *ds, void (*fn)(void *ctx), void *ctx);

/* The last known sets (DISCOVER_DOC): save gives 1 (nothing to write)
 * when they have not changed since the last save; load them before the
 * first discover_configure (-EBADMSG: damaged, nothing kept). */
int discover_save(struct discover *ds, char **json, size_t *len);
int discover_load(struct discover *ds, const char *json, size_t len);

#endif
