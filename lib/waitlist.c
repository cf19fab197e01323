/* SPDX-License-Identifier: ISC */
/*
 * waitlist — see waitlist.h.
 */
#include "autoconfig.h"

#include "waitlist.h"

void
waitlist_init(struct waitlist *l)
{
	l->waiting = NULL;
	l->tail = &l->waiting;
	l->delivering = NULL;
}

bool
waitlist_empty(const struct waitlist *l)
{
	return l->waiting == NULL && l->delivering == NULL;
}

void
waitlist_add(struct waitlist *l, struct wait_link *w)
{
	w->next = NULL;
	*l->tail = w;
	l->tail = &w->next;
}

bool
waitlist_remove(struct waitlist *l, struct wait_link *w)
{
	for (struct wait_link **p = &l->waiting; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			if (l->tail == &w->next)
				l->tail = p;
			return true;
		}
	for (struct wait_link **p = &l->delivering; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			return true;
		}
	return false;
}

void
waitlist_deliver(struct waitlist *l)
{
	/* A delivery started from a callback of another takes over that
	 * one's remaining waiters (they go first): each waiter is still told
	 * exactly once, with an answer no older than the one it waited for. */
	if (l->delivering) {
		struct wait_link **end = &l->delivering;

		while (*end)
			end = &(*end)->next;
		*end = l->waiting;
	} else {
		l->delivering = l->waiting;
	}
	l->waiting = NULL;
	l->tail = &l->waiting;
}

struct wait_link *
waitlist_next(struct waitlist *l)
{
	struct wait_link *w = l->delivering;

	if (w)
		l->delivering = w->next;
	return w;
}

struct wait_link *
waitlist_pop(struct waitlist *l)
{
	struct wait_link *w = waitlist_next(l);

	if (w == NULL && (w = l->waiting) != NULL) {
		l->waiting = w->next;
		if (l->waiting == NULL)
			l->tail = &l->waiting;
	}
	return w;
}
