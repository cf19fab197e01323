/* SPDX-License-Identifier: ISC */
/*
 * projset — see projset.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "projset.h"

struct projset_entry *
projset_find(const struct projset *s, const char *id)
{
	struct projset_entry *e;

	HASH_FIND_STR(s->by_id, id, e);
	return e;
}

void
projset_add(struct projset *s, struct projset_entry *e, const struct cfg_project *cp)
{
	/* the front: an owner that adds entries one by one has no config
	 * order to keep, and the next reconcile restores it */
	e->cfg = cp;
	e->stale = false;
	e->next = s->head;
	s->head = e;
	HASH_ADD_KEYPTR(hh, s->by_id, e->id, strlen(e->id), e);
	s->n++;
}

static void
drop_one(struct projset *s, struct projset_entry *e,
	 void (*drop)(void *ctx, struct projset_entry *e), void *ctx)
{
	HASH_DEL(s->by_id, e);
	s->n--;
	e->next = NULL;
	drop(ctx, e);
}

int
projset_reconcile(struct projset *s, const struct config *cfg, const struct projset_ops *ops,
		  void *ctx, size_t *added, size_t *removed)
{
	struct projset_entry **order, *e, *next, **tail;
	size_t n = 0, nadd = 0, nrem = 0;
	int r = 0;

	/* room for the new order and, on ENOMEM, every old entry after it */
	order = calloc(cfg->n_projects + s->n + 1, sizeof(*order));
	if (!order)
		return -ENOMEM;
	projset_foreach(s, e)
		e->stale = true;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct cfg_project *cp = &cfg->projects[i];

		e = projset_find(s, cp->id);
		if (!e) {
			if (ops->wanted && !ops->wanted(ctx, cp))
				continue;
			if (!(e = ops->create(ctx, cp))) {
				r = -ENOMEM;
				break;
			}
			HASH_ADD_KEYPTR(hh, s->by_id, e->id, strlen(e->id), e);
			s->n++;
			nadd++;
		} else if (!e->stale) {
			continue; /* a duplicate id: config.c refuses those */
		}
		e->stale = false;
		e->cfg = cp;
		order[n++] = e;
	}
	if (r < 0) {
		/* Keep every old entry, in its old place after the new order. */
		for (e = s->head; e; e = e->next)
			if (e->stale) {
				e->stale = false;
				order[n++] = e;
			}
	} else {
		for (e = s->head; e; e = next) {
			next = e->next;
			if (e->stale) {
				drop_one(s, e, ops->drop, ctx);
				nrem++;
			}
		}
	}
	tail = &s->head;
	for (size_t i = 0; i < n; i++) {
		*tail = order[i];
		tail = &order[i]->next;
	}
	*tail = NULL;
	free(order);
	if (added)
		*added = nadd;
	if (removed)
		*removed = nrem;
	return r;
}

void
projset_clear(struct projset *s, void (*drop)(void *ctx, struct projset_entry *e), void *ctx)
{
	while (s->head) {
		struct projset_entry *e = s->head;

		s->head = e->next;
		drop_one(s, e, drop, ctx);
	}
}
