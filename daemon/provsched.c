/* SPDX-License-Identifier: ISC */
/*
 * provsched — see provsched.h.
 */
#include "autoconfig.h"

#include "provsched.h"

void
provsched_project_init(struct provsched *s, struct provsched_project *pp, uv_loop_t *loop,
		       void *owner)
{
	*pp = (struct provsched_project){.set = s};
	uv_timer_init(loop, &pp->timer);
	pp->timer.data = owner;
}

static bool
unready(const struct provsched_project *pp)
{
	return pp->active && !pp->done_once;
}

void
provsched_busy(struct provsched_project *pp, bool busy)
{
	if (pp->busy && !busy)
		pp->set->n_rounds--;
	else if (!pp->busy && busy)
		pp->set->n_rounds++;
	pp->busy = busy;
}

void
provsched_active(struct provsched_project *pp, bool active, bool done_once)
{
	pp->set->n_unready -= unready(pp);
	pp->active = active;
	pp->done_once = done_once;
	pp->set->n_unready += unready(pp);
}

bool
provsched_idle(const struct provsched *s)
{
	return s->n_rounds == 0 && s->n_unready == 0;
}

void
provsched_round_done(struct provsched_project *pp, bool once, int64_t interval_s, uv_timer_cb cb)
{
	provsched_busy(pp, false);
	provsched_active(pp, pp->active, true);
	if (once)
		return;
	if (pp->rerun) {
		pp->rerun = false;
		uv_timer_start(&pp->timer, cb, 0, 0);
	} else {
		uv_timer_start(&pp->timer, cb, (uint64_t)interval_s * 1000, 0);
	}
}

bool
provsched_leave(struct provsched_project *pp, bool was_active, int confirm)
{
	bool report;

	if (was_active) {
		uv_timer_stop(&pp->timer);
		pp->clearing = confirm;
	}
	report = pp->clearing > 0;
	if (report)
		pp->clearing--;
	provsched_active(pp, false, true);
	return report;
}

void
provsched_project_close(struct provsched_project *pp, uv_close_cb cb)
{
	provsched_busy(pp, false);
	provsched_active(pp, false, true);
	uv_timer_stop(&pp->timer);
	uv_close((uv_handle_t *)&pp->timer, cb);
}
