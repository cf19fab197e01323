/* SPDX-License-Identifier: ISC */
/*
 * projset — the per-project entries of one daemon module (the poller, a
 * provider), kept in config order and hashed by project id, and the one
 * way they follow a new configuration: a reload keeps the entries of
 * unchanged ids (their schedules and memory), creates the new ones and
 * drops the removed ones, in O(projects).
 *
 * An owner embeds a struct projset_entry in its own per-project struct and
 * owns that memory (and e->id); the set only links and indexes entries.
 */
#ifndef KMSWATCH_PROJSET_H
#define KMSWATCH_PROJSET_H

#include <stdbool.h>
#include <stddef.h>

#include <uthash.h>

struct config;
struct cfg_project;

struct projset_entry {
	char *id;                      /* set by the owner's create */
	const struct cfg_project *cfg; /* the entry in the current config */
	struct projset_entry *next;    /* config order */
	UT_hash_handle hh;
	bool stale;                    /* reconcile's mark */
};

struct projset {
	struct projset_entry *head; /* config order */
	struct projset_entry *by_id;
	size_t n;
};

struct projset_ops {
	/* A project new to the set: the owner's struct with e->id set, or
	 * NULL (out of memory). */
	struct projset_entry *(*create)(void *ctx, const struct cfg_project *cp);
	/* A project that left the config, already unlinked: tear it down. */
	void (*drop)(void *ctx, struct projset_entry *e);
	/* NULL: every project of the config gets an entry. Otherwise a
	 * project new to the set gets one only when wanted() says so; the
	 * owner adds the others later, when it learns it needs them
	 * (projset_add), so that a provider keeps entries only for the
	 * projects Atlas names it for. */
	bool (*wanted)(void *ctx, const struct cfg_project *cp);
};

/* Follow cfg. added/removed (may be NULL) count what changed. On -ENOMEM
 * nothing is dropped and every entry stays reachable. */
int projset_reconcile(struct projset *s, const struct config *cfg, const struct projset_ops *ops,
		      void *ctx, size_t *added, size_t *removed);
struct projset_entry *projset_find(const struct projset *s, const char *id);
/* Link an entry the owner made (e->id set) for cp, a project of the
 * current config that has none yet (projset_find said so). */
void projset_add(struct projset *s, struct projset_entry *e, const struct cfg_project *cp);
/* Drop every entry (shutdown). */
void projset_clear(struct projset *s, void (*drop)(void *ctx, struct projset_entry *e), void *ctx);

#define projset_foreach(s, e) for ((e) = (s)->head; (e); (e) = (e)->next)

#endif
