/* SPDX-License-Identifier: ISC */
/*
 * schedule — see schedule.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "schedule.h"

static struct sched_entry *
entry_of(struct timerheap_node *n)
{
	return (struct sched_entry *)((char *)n - offsetof(struct sched_entry, node));
}

static void on_timer(uv_timer_t *t);

/* Point the one timer at the earliest entry (not while firing: the pass
 * does it once at its end). */
static void
rearm(struct sched *s)
{
	const struct timerheap_node *top = timerheap_min(&s->heap);
	uint64_t now;

	if (s->firing)
		return;
	if (!top) {
		uv_timer_stop(s->timer);
		return;
	}
	now = uv_now(s->loop);
	uv_timer_start(s->timer, on_timer, top->due > now ? top->due - now : 0, 0);
}

static void
on_timer(uv_timer_t *t)
{
	struct sched *s = t->data;
	/* entries (re)started during this pass have seq >= limit: next turn */
	uint64_t limit = s->heap.seq, now = uv_now(s->loop);
	struct timerheap_node *top;

	s->firing = true;
	while ((top = timerheap_min(&s->heap)) && top->due <= now && top->seq < limit) {
		timerheap_remove(&s->heap, top);
		s->due(entry_of(top));
	}
	s->firing = false;
	rearm(s);
}

int
sched_init(struct sched *s, uv_loop_t *loop, void (*due)(struct sched_entry *e))
{
	*s = (struct sched){.loop = loop, .due = due};
	if (!(s->timer = malloc(sizeof(*s->timer))))
		return -ENOMEM;
	uv_timer_init(loop, s->timer);
	s->timer->data = s;
	return 0;
}

static void
on_closed(uv_handle_t *h)
{
	free(h);
}

void
sched_fini(struct sched *s)
{
	if (s->timer) {
		uv_timer_stop(s->timer);
		uv_close((uv_handle_t *)s->timer, on_closed);
	}
	timerheap_free(&s->heap);
	s->timer = NULL;
}

int
sched_add(struct sched *s, struct sched_entry *e)
{
	timerheap_node_init(&e->node);
	return timerheap_reserve(&s->heap, 1);
}

void
sched_remove(struct sched *s, struct sched_entry *e)
{
	sched_stop(s, e);
	timerheap_release(&s->heap, 1);
}

void
sched_start(struct sched *s, struct sched_entry *e, uint64_t delay_ms)
{
	bool was_top = timerheap_min(&s->heap) == &e->node;

	timerheap_push(&s->heap, &e->node, uv_now(s->loop) + delay_ms);
	/* the timer follows the top: a new top, or the old one moved later
	 * (no early wakeup for nothing) */
	if (was_top || timerheap_min(&s->heap) == &e->node)
		rearm(s);
}

void
sched_stop(struct sched *s, struct sched_entry *e)
{
	bool was_top = timerheap_min(&s->heap) == &e->node;

	timerheap_remove(&s->heap, &e->node);
	if (was_top)
		rearm(s);
}

bool
sched_active(const struct sched_entry *e)
{
	return timerheap_queued(&e->node);
}

int64_t
sched_next_in(const struct sched *s)
{
	const struct timerheap_node *top = timerheap_min(&s->heap);
	uint64_t now = uv_now(s->loop);

	if (!top)
		return -1;
	return top->due > now ? (int64_t)(top->due - now) : 0;
}
