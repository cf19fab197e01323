/* SPDX-License-Identifier: ISC */
/*
 * provround — see provround.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stddef.h>

#include "provround.h"
#include "store.h"
#include "daemon.h"

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

int
provbase_init(struct provbase *b, struct daemon *d, const struct poller_hooks *hooks,
	      const struct provbase_ops *ops)
{
	b->d = d;
	b->hooks = *hooks;
	b->ops = ops;
	return provround_set_init(&b->rounds, d->loop, ops->due);
}

void
provbase_drop_rounds(struct provbase *b)
{
	struct projset_entry *e;

	projset_foreach(&b->projects, e) {
		struct provround *s = b->ops->schedule_of(e);

		if (s->running) {
			b->ops->drop_round(s->project);
			s->rerun = true;
		}
	}
}

int
provbase_configure(struct provbase *b, const struct config *cfg, const struct projset_ops *ops)
{
	struct projset_entry *e;
	int r;

	b->cfg = cfg;
	if ((r = projset_reconcile(&b->projects, cfg, ops, b, NULL, NULL)) < 0)
		return r;
	provbase_forget_loaded(b);
	projset_foreach(&b->projects, e)
		provround_resume(b->ops->schedule_of(e));
	return 0;
}

void
provbase_fini(struct provbase *b, void (*drop)(void *ctx, struct projset_entry *e), void *ctx)
{
	projset_clear(&b->projects, drop, ctx);
	provround_set_fini(&b->rounds);
	provbase_forget_loaded(b);
}

int
provbase_load(struct provbase *b, const char *json, size_t len)
{
	json_t *projects = store_projects_parse(json, len);

	if (!projects)
		return -EBADMSG;
	json_decref(b->loaded);
	b->loaded = projects;
	return 0;
}

bool
provbase_remembered(void *ctx, const struct cfg_project *cp)
{
	const struct provbase *b = ctx;

	return b->loaded && json_object_get(b->loaded, cp->id);
}

void
provbase_forget_loaded(struct provbase *b)
{
	json_decref(b->loaded);
	b->loaded = NULL;
}
