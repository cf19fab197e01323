/* SPDX-License-Identifier: ISC */
/*
 * provround — see provround.h.
 */
#include "autoconfig.h"

#include "provround.h"

static bool
unready(const struct provround *s)
{
	return s->active && !s->done_once;
}

void
provround_init(struct provround *s, struct provround_set *set, void *project)
{
	*s = (struct provround){.set = set};
	uv_timer_init(set->loop, &s->timer);
	s->timer.data = project;
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
provround_ended(struct provround *s, uv_timer_cb cb, bool once, int64_t interval_s)
{
	provround_set_active(s, s->active, true);
	if (once)
		return;
	uv_timer_start(&s->timer, cb, s->rerun ? 0 : (uint64_t)interval_s * 1000, 0);
	s->rerun = false;
}

void
provround_resume(struct provround *s, uv_timer_cb cb)
{
	if (s->rerun && s->active) {
		s->rerun = false;
		uv_timer_start(&s->timer, cb, 0, 0);
	}
}

bool
provround_leave(struct provround *s, int confirm)
{
	if (s->active) {
		uv_timer_stop(&s->timer);
		s->retiring = confirm;
	}
	provround_set_active(s, false, true);
	if (s->retiring <= 0)
		return false;
	s->retiring--;
	return true;
}

void
provround_close(struct provround *s, uv_close_cb cb)
{
	provround_set_running(s, false);
	provround_set_active(s, false, true);
	uv_timer_stop(&s->timer);
	uv_close((uv_handle_t *)&s->timer, cb);
}

bool
provround_idle(const struct provround_set *set)
{
	return set->n_running == 0 && set->n_unready == 0;
}
