/* SPDX-License-Identifier: ISC */
/*
 * schedule — one libuv timer for all the per-project schedules of a module
 * (the poller, each provider's rounds). A uv_timer_t per project cost
 * 152 bytes and a handle to close for each of 10,000 projects; an entry
 * here is 24 bytes in a heap (lib/timerheap.c), freed with its owner at
 * once, and the next deadline of the whole module is the heap's top.
 *
 * Entries that fall due are handed to the module's callback from the
 * loop, never from inside sched_start. An entry started again (even with
 * delay 0) from a callback waits for the next turn of the loop, so a
 * callback cannot keep one pass running forever.
 */
#ifndef KMSWATCH_SCHEDULE_H
#define KMSWATCH_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "timerheap.h"

struct sched_entry {
	struct timerheap_node node;
};

struct sched {
	uv_loop_t *loop;
	uv_timer_t *timer; /* its own allocation: closing it outlives the owner */
	struct timerheap heap;
	void (*due)(struct sched_entry *e);
	bool firing;       /* in the callback pass */
};

/* 0 or -ENOMEM. */
int sched_init(struct sched *s, uv_loop_t *loop, void (*due)(struct sched_entry *e));
/* Stops everything; the entries are forgotten (their owners free them). */
void sched_fini(struct sched *s);

/* An entry of the module: reserves its place (0 or -ENOMEM). */
int sched_add(struct sched *s, struct sched_entry *e);
/* The entry goes (stopped first); its owner may free it at once. */
void sched_remove(struct sched *s, struct sched_entry *e);

/* Due in delay_ms from the loop's now (again, if it was due already). */
void sched_start(struct sched *s, struct sched_entry *e, uint64_t delay_ms);
void sched_stop(struct sched *s, struct sched_entry *e);
bool sched_active(const struct sched_entry *e);
/* Milliseconds until the module's earliest entry is due, -1 for none. */
int64_t sched_next_in(const struct sched *s);

#endif
