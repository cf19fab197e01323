/* SPDX-License-Identifier: ISC */
/*
 * discovery — the pure side of `discover:`: the projects a listing of Atlas
 * returned (one set per source: GET /groups, or one org's
 * /orgs/{id}/groups), the include/exclude filter, and the effective
 * project list the daemon watches: the configured projects (with their own
 * settings) followed by the discovered ones that pass the filter (with the
 * defaults), each id once. Also the sets' JSON form, so that a restart
 * during an Atlas outage still watches the last known set.
 *
 * Everything is O(projects) with hash look-ups: a listing of 10,000
 * projects is merged, compared and saved without any scan per project.
 * No I/O, no clock (times are arguments).
 */
#ifndef KMSWATCH_DISCOVERY_H
#define KMSWATCH_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <uthash.h>

#include "atlas.h"
#include "config.h"

struct disc_project {
	char *id;     /* 24 hex, lower case */
	char *name;   /* Atlas's name; NULL when it sent none */
	char *org_id; /* NULL when absent */
	UT_hash_handle hh;
};

/* The projects of one source, in listing order (uthash keeps it). */
struct disc_set {
	struct disc_project *by_id;
};

size_t disc_set_count(const struct disc_set *s);
/* Moves the page's groups into s (the page is left empty); an id already
 * in s is kept once, as first listed. 0 or -ENOMEM (then s holds what was
 * added so far; the caller drops the listing). */
int disc_set_add_page(struct disc_set *s, struct atlas_groups *page);
void disc_set_free(struct disc_set *s);

/* One place kmswatch lists projects from. */
struct disc_source {
	char *org_id;      /* NULL: GET /groups */
	bool known;        /* set has been listed completely at least once */
	time_t listed_at;  /* when (0: unknown) */
	struct disc_set set;
};
void disc_source_free(struct disc_source *s);

/* Whether a project name passes discover.include/exclude: no include
 * pattern, or one that matches; and no exclude pattern that matches. */
bool disc_wanted(const struct cfg_discover *d, const char *name);

/* The effective project list: cfg is a copy of the base config (the one
 * loaded from the file, which must outlive the view) whose projects[] is
 * the view's own array: the base's projects first, in config order, as
 * shallow copies, then the discovered ones. Never cfg_free it. */
struct disc_idx;
struct disc_view {
	struct config cfg;
	size_t n_listed;       /* cfg.projects[0 .. n_listed) are the base's */
	size_t n_filtered;     /* discovered projects left out by the filter */
	struct disc_idx *idx;  /* every project of cfg.projects, by id */
	struct disc_idx *slots;
};

/* Builds the view of base and the known sources. Discovered projects get
 * base->checks, no expect_provider, no Azure settings, and their Atlas
 * name (the id when Atlas sent none). 0 or -ENOMEM (*out empty). */
int disc_view_build(struct disc_view *out, const struct config *base,
		    const struct disc_source *sources, size_t n_sources);
void disc_view_free(struct disc_view *v);
/* The project of that id in the view, NULL if none; *listed tells whether
 * it is a configured one (may be NULL). */
const struct cfg_project *disc_view_find(const struct disc_view *v, const char *id,
					 bool *listed);

/* --once --project: keeps only the projects whose id or name is one of
 * wanted[0..n), in view order. -ENOENT with *unknown set to the first one
 * that matches nothing (the view is then unchanged); -ENOMEM. */
int disc_view_keep(struct disc_view *v, const char *const *wanted, size_t n,
		   const char **unknown);

enum disc_change_kind {
	DISC_ADDED,   /* discovered, not watched before */
	DISC_REMOVED, /* was discovered, no longer watched at all */
	DISC_RENAMED, /* discovered both times, another name */
};
struct disc_change {
	enum disc_change_kind kind;
	const struct cfg_project *p; /* in next (DISC_REMOVED: in prev) */
	const char *old_name;        /* DISC_RENAMED: in prev */
};
/* What changed among the discovered projects from prev (NULL: nothing was
 * watched) to next. A project that moves between listed and discovered
 * is no change: it is watched either way. *out is a new array (NULL when
 * *n is 0) pointing into both views. 0 or -ENOMEM. */
int disc_view_diff(const struct disc_view *prev, const struct disc_view *next,
		   struct disc_change **out, size_t *n);

/* The sources' sets as a JSON document (discover.json):
 * {"version":1,"sources":[{"org_id":null|"…","listed_at":N,
 *   "projects":[{"id","name","orgId"},…]},…]}; only known sources. */
int disc_save(const struct disc_source *sources, size_t n, char **json, size_t *len);
/* Reads a document of disc_save into a new array of known sources.
 * -EBADMSG (err says what) for anything else: wrong types, bad ids,
 * duplicate keys, another version; -ENOMEM. */
int disc_load(const char *json, size_t len, struct disc_source **out, size_t *n, char *err,
	      size_t errlen);

#endif
