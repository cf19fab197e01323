/* SPDX-License-Identifier: ISC */
/*
 * timerheap — see timerheap.h.
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "timerheap.h"

static bool
before(const struct timerheap_node *a, const struct timerheap_node *b)
{
	return a->due != b->due ? a->due < b->due : a->seq < b->seq;
}

static void
place(struct timerheap *h, size_t i, struct timerheap_node *x)
{
	h->v[i] = x;
	x->pos = i;
}

static void
sift_up(struct timerheap *h, size_t i)
{
	struct timerheap_node *x = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(x, h->v[parent]))
			break;
		place(h, i, h->v[parent]);
		i = parent;
	}
	place(h, i, x);
}

static void
sift_down(struct timerheap *h, size_t i)
{
	struct timerheap_node *x = h->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
			c++;
		if (!before(h->v[c], x))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, x);
}

int
timerheap_reserve(struct timerheap *h, size_t n)
{
	size_t want = h->reserved + n;

	if (want < h->reserved)
		return -ENOMEM;
	if (want > h->cap) {
		size_t cap = h->cap ? h->cap : 16;
		struct timerheap_node **v;

		while (cap < want)
			cap = cap > SIZE_MAX / 4 ? want : cap * 2;
		if (cap > SIZE_MAX / sizeof(*v) || !(v = realloc(h->v, cap * sizeof(*v))))
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->reserved = want;
	return 0;
}

void
timerheap_release(struct timerheap *h, size_t n)
{
	assert(n <= h->reserved);
	h->reserved -= n;
	assert(h->n <= h->reserved);
}

void
timerheap_remove(struct timerheap *h, struct timerheap_node *x)
{
	size_t i = x->pos;
	struct timerheap_node *last;

	if (i == TIMERHEAP_NONE)
		return;
	assert(i < h->n && h->v[i] == x);
	x->pos = TIMERHEAP_NONE;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	/* the moved node may belong above or below its new place */
	if (i > 0 && before(last, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

void
timerheap_push(struct timerheap *h, struct timerheap_node *x, uint64_t due)
{
	timerheap_remove(h, x);
	/* the caller reserved room for every node it queues */
	assert(h->n < h->reserved && h->n < h->cap);
	x->due = due;
	x->seq = h->seq++;
	place(h, h->n++, x);
	sift_up(h, x->pos);
}

void
timerheap_free(struct timerheap *h)
{
	for (size_t i = 0; i < h->n; i++)
		h->v[i]->pos = TIMERHEAP_NONE;
	free(h->v);
	*h = (struct timerheap){0};
}
