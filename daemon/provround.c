/* SPDX-License-Identifier: ISC */
/*
 * provround — see provround.h.
 */
#include "autoconfig.h"

#include <stddef.h>

#include "provround.h"

static void
on_due(struct sched_entry *e)
{
	struct provround *s = (struct provround *)((char *)e - offsetof(struct provround, next));

	s->set->due(s->project);
}

int
provround_set_init(struct provround_set *set, uv_loop_t *loop, void (*due)(void *project))
{
	*set = (struct provround_set){.due = due};
	return sched_init(&set->sched, loop, on_due);
}

void
provround_set_fini(struct provround_set *set)
{
	sched_fini(&set->sched);
}

static bool
unready(const struct provround *s)
{
	return s->active && !s->done_once;
}

int
provround_init(struct provround *s, struct provround_set *set, void *project)
{
	*s = (struct provround){.set = set, .project = project};
	return sched_add(&set->sched, &s->next);
}

void
provround_set_running(struct provround *s, bool running)
{
	if (s->running && !running)
		s->set->n_running--;
	else if (!s->running && running)
		s->set->n_running++;
	s->running = running;
}

void
provround_set_active(struct provround *s, bool active, bool done_once)
{
	s->set->n_unready -= unready(s);
	s->active = active;
	s->done_once = done_once;
	s->set->n_unready += unready(s);
	if (active)
		s->retiring = 0;
}

void
provround_ended(struct provround *s, bool once, int64_t interval_s)
{
	provround_set_active(s, s->active, true);
	if (once)
		return;
	sched_start(&s->set->sched, &s->next, s->rerun ? 0 : (uint64_t)interval_s * 1000);
	s->rerun = false;
}

void
provround_resume(struct provround *s)
{
	if (s->rerun && s->active) {
		s->rerun = false;
		sched_start(&s->set->sched, &s->next, 0);
	}
}

void
provround_unschedule(struct provround *s)
{
	sched_stop(&s->set->sched, &s->next);
}

bool
provround_leave(struct provround *s, int confirm)
{
	if (s->active) {
		sched_stop(&s->set->sched, &s->next);
		s->retiring = confirm;
	}
	provround_set_active(s, false, true);
	if (s->retiring <= 0)
		return false;
	s->retiring--;
	return true;
}

void
provround_close(struct provround *s)
{
	provround_set_running(s, false);
	provround_set_active(s, false, true);
	sched_remove(&s->set->sched, &s->next);
}

bool
provround_idle(const struct provround_set *set)
{
	return set->n_running == 0 && set->n_unready == 0;
}
