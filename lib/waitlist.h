/* SPDX-License-Identifier: ISC */
/*
 * waitlist — callers waiting for one shared answer (a token, a document).
 * The owner embeds a struct wait_link in its waiter records and keeps the
 * records' memory; the list only orders them. Answers are handed out one
 * waiter at a time off a list that waitlist_remove still reaches, so a
 * callback may cancel any other waiter, or wait again (for a later answer:
 * a waiter added during delivery is not in this delivery). Every waiter
 * is told exactly once.
 */
#ifndef KMSWATCH_WAITLIST_H
#define KMSWATCH_WAITLIST_H

#include <stdbool.h>
#include <stddef.h>

struct wait_link {
	struct wait_link *next;
};

struct waitlist {
	struct wait_link *waiting, **tail; /* in arrival order */
	struct wait_link *delivering;      /* being told the answer now */
};

void waitlist_init(struct waitlist *l);
bool waitlist_empty(const struct waitlist *l);
void waitlist_add(struct waitlist *l, struct wait_link *w);
/* Unlinks w wherever it is; false when it is in neither list. */
bool waitlist_remove(struct waitlist *l, struct wait_link *w);
/* Starts a delivery: everything waiting now is to be told, in arrival
 * order. Then take them with waitlist_next until it returns NULL. */
void waitlist_deliver(struct waitlist *l);
struct wait_link *waitlist_next(struct waitlist *l);
/* Any one waiter, waiting or being told; NULL when none (for teardown). */
struct wait_link *waitlist_pop(struct waitlist *l);

#define waitlist_entry(link, type, member) \
	((type *)((char *)(link) - offsetof(type, member)))

#endif
