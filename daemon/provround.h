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

#include "schedule.h"

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

#endif
