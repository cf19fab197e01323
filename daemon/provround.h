/* SPDX-License-Identifier: ISC */
/*
 * provround — the schedule of a provider's per-project rounds, the same
 * for every provider (azpoll.c, gcppoll.c): a timer per project, whether a
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

/* One per provider. */
struct provround_set {
	uv_loop_t *loop;
	size_t n_running;  /* projects with a round in progress */
	size_t n_unready;  /* active projects that have not ended a round yet */
};

/* One per project; every change goes through the functions below. */
struct provround {
	struct provround_set *set;
	uv_timer_t timer; /* timer.data: the provider's project */
	bool running;
	bool rerun;       /* another round at once when this one ends */
	bool active;
	bool done_once;
	int retiring;     /* EAR reads left that report "not this provider" */
};

void provround_init(struct provround *s, struct provround_set *set, void *project);
void provround_set_running(struct provround *s, bool running);
/* Becoming active also ends any retiring. */
void provround_set_active(struct provround *s, bool active, bool done_once);
/* A round ended: the next one is due at once (rerun) or after
 * interval_s; none in once mode. */
void provround_ended(struct provround *s, uv_timer_cb cb, bool once, int64_t interval_s);
/* After a reload dropped the round in flight (rerun set): start again. */
void provround_resume(struct provround *s, uv_timer_cb cb);
/* Atlas does not name the provider (now): the project is no longer
 * active. True when the caller must report its checks as evaluated with
 * nothing to say, which it must do on confirm EAR reads in a row (the
 * config's alerts.confirm_resolved) before the alerts resolve. */
bool provround_leave(struct provround *s, int confirm);
/* The project left the config (or the provider stops): inactive, the
 * timer closed; cb (with the timer's handle) frees the project. */
void provround_close(struct provround *s, uv_close_cb cb);
/* No round pending or running (once mode). */
bool provround_idle(const struct provround_set *set);

#endif
