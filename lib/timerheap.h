/* SPDX-License-Identifier: ISC */
/*
 * timerheap — a binary min-heap of deadlines, ordered by (due, arrival):
 * what one libuv timer needs to stand in for thousands (daemon/schedule.c).
 * Equal deadlines leave in the order they were pushed, as libuv's own
 * timers do, so projects that fall due together start in config order.
 *
 * A node lives in its owner's struct; the heap only points at it. Room
 * is reserved per node up front (timerheap_reserve), so pushing never
 * allocates and never fails: a schedule cannot be lost to ENOMEM in the
 * middle of a round.
 */
#ifndef KMSWATCH_TIMERHEAP_H
#define KMSWATCH_TIMERHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMERHEAP_NONE SIZE_MAX

struct timerheap_node {
	uint64_t due; /* the owner's clock, e.g. uv_now() in ms */
	uint64_t seq; /* arrival order among equal deadlines */
	size_t pos;   /* index in the heap, TIMERHEAP_NONE: not queued */
};

struct timerheap {
	struct timerheap_node **v;
	size_t n;        /* queued */
	size_t reserved; /* nodes that may be queued at once */
	size_t cap;
	uint64_t seq;
};

static inline void
timerheap_node_init(struct timerheap_node *x)
{
	x->pos = TIMERHEAP_NONE;
}

static inline bool
timerheap_queued(const struct timerheap_node *x)
{
	return x->pos != TIMERHEAP_NONE;
}

/* Room for n more nodes; 0 or -ENOMEM (nothing reserved then). */
int timerheap_reserve(struct timerheap *h, size_t n);
/* Give back the room of n nodes that will not be queued again. */
void timerheap_release(struct timerheap *h, size_t n);
/* Queue x (re-queue it, if it is queued) for due. */
void timerheap_push(struct timerheap *h, struct timerheap_node *x, uint64_t due);
/* Take x out; nothing when it is not queued. */
void timerheap_remove(struct timerheap *h, struct timerheap_node *x);
/* The earliest node, or NULL. */
static inline struct timerheap_node *
timerheap_min(const struct timerheap *h)
{
	return h->n ? h->v[0] : NULL;
}
void timerheap_free(struct timerheap *h);

#endif
