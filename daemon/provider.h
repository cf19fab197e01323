/* SPDX-License-Identifier: ISC */
/*
 * provider — the boundary between the core (poller, loop, once) and each
 * key service kmswatch watches beside Atlas. The core never names one: it
 * walks provider_table[] (providers.c), the way chrony walks its refclock
 * drivers or lldpd its protocols. A provider is one file set (for Azure:
 * daemon/azpoll.c and daemon/aztoken.c over lib/azure.c and
 * lib/azure_checks.c) exporting one struct provider_ops; adding a provider
 * is adding its files and one line to the table.
 *
 * What a provider owns: its per-project rounds and schedule (it learns of
 * a project's EAR state from the poller), its reads and identities, its
 * pure checks and their findings (handed to the same on_result hook as the
 * poller's), and its own state document in the state directory.
 */
#ifndef KMSWATCH_PROVIDER_H
#define KMSWATCH_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

struct daemon;
struct config;
struct cfg_project;
struct atlas_ear;
struct ear_memory;
struct poller_hooks;
struct store;
struct provider_state; /* one provider's running state, its own type */
struct metrics;

struct provider_ops {
	const char *name;   /* "azure": log prefix */
	enum provider id;   /* the EAR provider it watches */
	/* its state document in the state directory ("azure.json"), and
	 * what a damaged one costs, for the log line */
	const char *state_doc;
	const char *state_lost;

	int (*create)(struct daemon *d, const struct poller_hooks *hooks,
		      struct provider_state **out);
	void (*destroy)(struct provider_state *s);
	/* Adopt a (new) config; cfg stays alive until the next call.
	 * reloaded: the configuration itself changed (start, SIGHUP), so
	 * identities may have; false: only the set of watched projects did
	 * (a discovery listing): cached tokens stay good, and rounds in
	 * flight for projects still watched go on (a round reaches its
	 * project's config entry through its projset entry, never keeps
	 * one of its own). */
	int (*configure)(struct provider_state *s, const struct config *cfg, bool reloaded);
	/* The poller read a project's EAR state (whichever provider Atlas
	 * names: when it is no longer this one, its alerts resolve). */
	void (*ear)(struct provider_state *s, const struct cfg_project *p,
		    const struct atlas_ear *ear, const struct ear_memory *mem);
	int (*save)(const struct provider_state *s, char **json, size_t *len);
	/* -EBADMSG: damaged; the memory starts empty. */
	int (*load)(struct provider_state *s, const char *json, size_t len);
	/* Once mode: no round of it is pending or running. */
	bool (*idle)(const struct provider_state *s);
	/* Its samples for a scrape (daemon/exporter.h: mx_*): expiries, key
	 * dates, last complete read, per project. O(its projects). */
	void (*metrics)(const struct provider_state *s, struct metrics *w);
};

/* ---- the running set, for the core ------------------------------------ */

struct providers;

int providers_new(struct daemon *d, const struct poller_hooks *hooks, struct providers **out);
void providers_free(struct providers *ps);
int providers_configure(struct providers *ps, const struct config *cfg, bool reloaded);
void providers_ear(struct providers *ps, const struct cfg_project *p, const struct atlas_ear *ear,
		   const struct ear_memory *mem);
bool providers_idle(const struct providers *ps);
/* How many providers have rounds pending or running; their names
 * ("Azure, AWS") in buf, for the --once timeout message. */
size_t providers_busy(const struct providers *ps, char *buf, size_t len);
void providers_metrics(const struct providers *ps, struct metrics *w);
/* Write each provider's document to the store / read it back (damage and
 * read errors are logged here, once, with the file name). */
void providers_save(const struct providers *ps, struct store *st);
void providers_load(struct providers *ps, struct store *st);

#endif
