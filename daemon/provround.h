/* SPDX-License-Identifier: ISC */
/*
 * provround — the schedule of a provider's per-project rounds, the same
 * for every provider (azpoll.c, awspoll.c, gcppoll.c): when each project's
 * next round is due (one timer for all, schedule.c), whether a
 * round runs and whether another is wanted after it, whether Atlas names
 * the provider for the project ("active") and a round has ended since,
 * and the counters that make the provider's idle() a comparison instead
 * of a walk over every project. What a round reads is the provider's.
 */
#ifndef KMSWATCH_PROVROUND_H
#define KMSWATCH_PROVROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <jansson.h>

#include "poller.h"
#include "projset.h"
#include "schedule.h"

struct daemon;

/* One per provider. */
struct provround_set {
	struct sched sched;         /* every project's next round: one timer */
	void (*due)(void *project); /* a project's round is due */
	size_t n_running;  /* projects with a round in progress */
	size_t n_unready;  /* active projects that have not ended a round yet */
};

/* One per project; every change goes through the functions below. */
struct provround {
	struct provround_set *set;
	struct sched_entry next; /* the next round */
	void *project;           /* the provider's, for set->due */
	bool running;
	bool rerun;       /* another round at once when this one ends */
	bool active;
	bool done_once;
	int retiring;     /* EAR reads left that report "not this provider" */
};

/* 0 or -ENOMEM. */
int provround_set_init(struct provround_set *set, uv_loop_t *loop, void (*due)(void *project));
void provround_set_fini(struct provround_set *set);
/* 0 or -ENOMEM (then s is not part of the set). */
int provround_init(struct provround *s, struct provround_set *set, void *project);
void provround_set_running(struct provround *s, bool running);
/* Becoming active also ends any retiring. */
void provround_set_active(struct provround *s, bool active, bool done_once);
/* A round ended: the next one is due at once (rerun) or after
 * interval_s; none in once mode. */
void provround_ended(struct provround *s, bool once, int64_t interval_s);
/* After a reload dropped the round in flight (rerun set): start again. */
void provround_resume(struct provround *s);
/* A round starts now: the one scheduled goes. */
void provround_unschedule(struct provround *s);
/* Atlas does not name the provider (now): the project is no longer
 * active. True when the caller must report its checks as evaluated with
 * nothing to say, which it must do on confirm EAR reads in a row (the
 * config's alerts.confirm_resolved) before the alerts resolve. */
bool provround_leave(struct provround *s, int confirm);
/* The project left the config (or the provider stops): inactive and
 * out of the schedule; the provider may free it at once. */
void provround_close(struct provround *s);
/* No round pending or running (once mode). */
bool provround_idle(const struct provround_set *set);

/* ---- what every provider's state starts with --------------------------- */

/* What the shared part asks of a provider's projects. */
struct provbase_ops {
	void (*due)(void *project);  /* a project's round is due */
	/* the schedule of one of the provider's projects */
	struct provround *(*schedule_of)(struct projset_entry *e);
	/* free the project's round in progress (it has one) */
	void (*drop_round)(void *project);
};

/* The core's services and hooks, the config in force, the provider's
 * projects and their schedule, and its state document as read at start
 * (until a configuration has made the entries it remembers). A provider's
 * state embeds this as its first member, so the provider's state is the
 * ctx its projset callbacks get and provbase_remembered can read. */
struct provbase {
	struct daemon *d;
	struct poller_hooks hooks;
	const struct provbase_ops *ops;
	const struct config *cfg;
	struct projset projects;
	struct provround_set rounds;
	json_t *loaded;
};

/* 0 or -ENOMEM. */
int provbase_init(struct provbase *b, struct daemon *d, const struct poller_hooks *hooks,
		  const struct provbase_ops *ops);
/* Before a reload: rounds in progress hold pointers into the old config
 * (an identity, endpoints), so each is dropped, and run again by
 * provbase_configure. A discovery listing keeps the config, and a round
 * reaches its project through the entry, which reconcile moves: those
 * rounds go on, and only a project gone drops its own. */
void provbase_drop_rounds(struct provbase *b);
/* cfg is in force: the provider's projects follow it (ops: the
 * provider's, whose ctx is b), and rounds provbase_drop_rounds dropped
 * start again. 0 or a negative errno from projset_reconcile. */
int provbase_configure(struct provbase *b, const struct config *cfg,
		       const struct projset_ops *ops);
/* Drops every project (drop gets ctx, the provider's state). */
void provbase_fini(struct provbase *b, void (*drop)(void *ctx, struct projset_entry *e),
		   void *ctx);
/* The state document ({"projects": {id: ...}}) for the next
 * configuration; -EBADMSG when damaged. */
int provbase_load(struct provbase *b, const char *json, size_t len);
/* projset wanted: a project gets an entry at a (re)configuration only
 * when the state document remembers it; the others get one when Atlas
 * names the provider for them. ctx is the provider's state. */
bool provbase_remembered(void *ctx, const struct cfg_project *cp);
/* After a configuration: the document has served its purpose. */
void provbase_forget_loaded(struct provbase *b);

#endif
