/* SPDX-License-Identifier: ISC */
/*
 * provsched — the schedule every provider keeps for its per-project rounds
 * (azpoll.c, awspoll.c): a timer per project (the next round one interval
 * after the last, or at once when a change arrived during a round), the
 * counts that make a provider's idle() a comparison instead of a walk
 * (rounds in flight; projects of this provider that have not finished a
 * round yet), and the "no longer this provider" reports that confirm the
 * resolution of its alerts (alerts.confirm_resolved observations).
 *
 * A provider embeds a struct provsched_project in its per-project struct;
 * the timer's data is that struct (provsched_project_init's owner).
 */
#ifndef KMSWATCH_PROVSCHED_H
#define KMSWATCH_PROVSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct provsched {
	size_t n_rounds, n_unready;
};

struct provsched_project {
	struct provsched *set;
	uv_timer_t timer;
	bool busy;      /* a round is in flight */
	bool active;    /* the provider is the project's (Atlas says so) */
	bool done_once; /* a round finished since */
	bool rerun;     /* run again once the round in flight ends */
	int clearing;   /* "no longer this provider" reports still to make */
};

void provsched_project_init(struct provsched *s, struct provsched_project *pp, uv_loop_t *loop,
			    void *owner);
/* Every change of these goes through here (the counts follow). */
void provsched_busy(struct provsched_project *pp, bool busy);
void provsched_active(struct provsched_project *pp, bool active, bool done_once);
bool provsched_idle(const struct provsched *s);
/* A round ended: done_once, and the next round after interval_s (at once
 * for a rerun); nothing is scheduled in once mode. */
void provsched_round_done(struct provsched_project *pp, bool once, int64_t interval_s,
			  uv_timer_cb cb);
/* Atlas names another provider now (was_active: until this read it was
 * this one): stops the timer; returns whether to report the project's
 * checks of this provider as having nothing to say, which this does for
 * confirm reads in a row after the switch. */
bool provsched_leave(struct provsched_project *pp, bool was_active, int confirm);
/* The project left the config: counts dropped, timer closed (cb frees). */
void provsched_project_close(struct provsched_project *pp, uv_close_cb cb);

#endif
