/* SPDX-License-Identifier: ISC */
/*
 * poller — see poller.h.
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <jansson.h>

#include "atlas.h"
#include "atlas_checks.h"
#include "atlasreq.h"
#include "checks.h"
#include "config.h"
#include "daemon.h"
#include "exporter.h"
#include "http.h"
#include "kms.h"
#include "log.h"
#include "poller.h"
#include "projset.h"
#include "schedule.h"
#include "provider.h"
#include "store.h"
#include "util.h"

/* What a round holds while it runs: allocated when it starts, freed when
 * it reports, so that a project between polls is small (10,000 of them
 * wait for their next poll; a few hundred rounds run). */
struct round {
	struct restreq *ear_req; /* the EAR read */
	/* once the EAR state is read: the clusters (all pages) and, for
	 * role-based credentials, Cloud Provider Access */
	struct atlas_ear ear;
	bool have_ear;
	struct atlas_clusters clusters;
	bool clusters_ok;
	unsigned clusters_page;
	struct restreq *clusters_req;
	struct atlas_cpa cpa;
	bool cpa_ok;
	struct restreq *cpa_req;
	/* with requirePrivateNetworking: the provider's EAR private endpoints
	 * (all pages), or why they could not be read */
	struct atlas_ear_pes pes;
	bool pes_ok;
	unsigned pes_page;
	struct restreq *pes_req;
	int pes_status;
	char pes_error[600];
	/* Atlas's own EAR events (all pages), when they are due this round */
	struct atlas_events events;
	bool events_ok;
	unsigned events_page;
	struct restreq *events_req;
	time_t events_since;
	bool extra_failed_now;
	bool launching; /* start_extras is running: no report yet */
};

struct project {
	struct projset_entry e; /* id, cfg, config order */
	struct poller *poller;
	struct sched_entry sched; /* the next round */
	struct round *round;     /* the round in progress, or NULL */
	bool busy;               /* a round is in progress (or admitted) */
	bool waiting;            /* due, waiting for a free round slot */
	TAILQ_ENTRY(project) wait_entry;
	bool done;               /* once mode: reported */
	bool extra_failed_logged; /* said once until the extra reads work */
	int64_t round_started_ms;
	int64_t events_due_ms;   /* monotonic: when atlas.events reads again */
	struct ear_memory mem;
	/* for the metrics: the last EAR read that worked */
	time_t ear_read_at;
	enum provider ear_provider;
	enum tri ear_valid;
};

struct poller {
	struct daemon *d;
	struct poller_hooks hooks;
	const struct config *cfg;
	struct projset projects;
	struct sched sched; /* every project's next round: one timer */
	size_t n_busy, n_done; /* counted, never scanned */
	/* Due projects beyond the round limit, in the order they fell due:
	 * a cycle over 10,000 projects keeps only a few hundred rounds (their
	 * requests, buffers and curl handles) in memory at once. */
	TAILQ_HEAD(, project) wait;
	json_t *loaded; /* memory read from the state dir, by project id */
};

static void round_start(struct sched_entry *e);
static void admit_waiting(struct poller *pl);

/* Every change of busy/done goes through here, so the counts behind
 * poller_stats and poller_all_done stay exact without a scan. */
static void
set_busy(struct project *p, bool busy)
{
	if (p->busy != busy)
		p->poller->n_busy += busy ? 1 : (size_t)-1;
	p->busy = busy;
}

static void
set_done(struct project *p)
{
	if (!p->done)
		p->poller->n_done++;
	p->done = true;
}

int
poller_new(struct daemon *d, const struct poller_hooks *hooks, struct poller **out)
{
	struct poller *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return -ENOMEM;
	pl->d = d;
	pl->hooks = *hooks;
	TAILQ_INIT(&pl->wait);
	if (sched_init(&pl->sched, d->loop, round_start) < 0) {
		free(pl);
		return -ENOMEM;
	}
	*out = pl;
	return 0;
}

static void
project_free(struct project *p)
{
	ear_memory_free(&p->mem);
	free(p->e.id);
	free(p);
}

/* The round is over (reported or cancelled): its reads and data go. */
static void
round_end(struct project *p)
{
	struct round *r = p->round;

	if (!r)
		return;
	restreq_cancel(r->ear_req);
	restreq_cancel(r->clusters_req);
	restreq_cancel(r->cpa_req);
	restreq_cancel(r->pes_req);
	atlas_ear_pes_free(&r->pes);
	restreq_cancel(r->events_req);
	atlas_events_free(&r->events);
	if (r->have_ear)
		atlas_ear_free(&r->ear);
	atlas_clusters_free(&r->clusters);
	atlas_cpa_free(&r->cpa);
	free(r);
	p->round = NULL;
}

static void
project_cancel(struct project *p)
{
	if (p->waiting) {
		TAILQ_REMOVE(&p->poller->wait, p, wait_entry);
		p->waiting = false;
	}
	round_end(p);
	set_busy(p, false);
}

/* projset drop: the project left the config (or the poller stops). */
static void
project_destroy(void *ctx, struct projset_entry *e)
{
	struct poller *pl = ctx;
	struct project *p = (struct project *)e;

	project_cancel(p);
	if (p->done)
		pl->n_done--;
	sched_remove(&pl->sched, &p->sched);
	project_free(p);
}

void
poller_free(struct poller *pl)
{
	if (!pl)
		return;
	projset_clear(&pl->projects, project_destroy, pl);
	sched_fini(&pl->sched);
	json_decref(pl->loaded);
	free(pl);
}

/* projset create: a project new to the config is polled at once; all of
 * them start together, so their requests run concurrently. */
static struct projset_entry *
project_new(void *ctx, const struct cfg_project *cp)
{
	struct poller *pl = ctx;
	struct project *p = calloc(1, sizeof(*p));

	if (!p || !(p->e.id = strdup(cp->id)) || sched_add(&pl->sched, &p->sched) < 0) {
		if (p)
			free(p->e.id);
		free(p);
		return NULL;
	}
	p->poller = pl;
	/* damaged: forgotten (ear.config re-learns; the file said so once) */
	if (pl->loaded && ear_memory_from_json(json_object_get(pl->loaded, cp->id), &p->mem) < 0)
		log_warn("project %s: its remembered EAR state in the state file is damaged; "
			 "starting afresh", cp->name);
	sched_start(&pl->sched, &p->sched, 0);
	return &p->e;
}

/* projset drop during a reload: tell the owner (its alerts resolve). */
static void
project_removed(void *ctx, struct projset_entry *e)
{
	struct poller *pl = ctx;
	char *id = strdup(e->id);

	project_destroy(pl, e);
	if (id && pl->hooks.on_removed)
		pl->hooks.on_removed(pl->hooks.ctx, id);
	free(id);
}

int
poller_configure(struct poller *pl, const struct config *cfg)
{
	static const struct projset_ops ops = {.create = project_new, .drop = project_removed};
	size_t added = 0, removed = 0;
	int r;

	pl->cfg = cfg;
	r = projset_reconcile(&pl->projects, cfg, &ops, pl, &added, &removed);
	admit_waiting(pl); /* removed projects may have freed slots */
	if (r < 0)
		return r;
	/* The loaded memory has served its purpose once projects exist. */
	json_decref(pl->loaded);
	pl->loaded = NULL;
	if (added || removed)
		log_info("polling %zu project%s (%zu added, %zu removed)", cfg->n_projects,
			 cfg->n_projects == 1 ? "" : "s", added, removed);
	return 0;
}

/* ---- one round ------------------------------------------------------- */

/* Rounds in progress at once: enough to keep every HTTP slot busy (a
 * round's reads follow each other), few enough to bound memory. */
static size_t
max_rounds(const struct poller *pl)
{
	return 2 * (size_t)(pl->cfg->http.max_concurrent > 0 ? pl->cfg->http.max_concurrent : 1);
}

/* Hand free round slots to waiting projects. Their rounds start from the
 * loop (a zero timer), never from inside another round's callback. */
static void
admit_waiting(struct poller *pl)
{
	struct project *p;

	while (pl->n_busy < max_rounds(pl) && (p = TAILQ_FIRST(&pl->wait))) {
		TAILQ_REMOVE(&pl->wait, p, wait_entry);
		p->waiting = false;
		set_busy(p, true); /* the slot is its own from now on */
		sched_start(&pl->sched, &p->sched, 0);
	}
}

static void
schedule_next(struct project *p)
{
	struct poller *pl = p->poller;
	int64_t interval = pl->cfg->poll_interval * 1000;
	int64_t elapsed = util_now_mono_ms() - p->round_started_ms;
	int64_t delay = interval - elapsed;

	if (pl->hooks.once)
		return;
	sched_start(&pl->sched, &p->sched, (uint64_t)(delay > 0 ? delay : 0));
}

/* ear is the round's (NULL when the EAR read failed; then there may be no
 * round at all, if it could not be allocated). */
static void
report(struct project *p, const struct atlas_fetch *fetch, const struct atlas_ear *ear)
{
	struct poller *pl = p->poller;
	const struct round *rd = p->round;
	struct findings f = {0};
	struct ear_memory next = {0};
	int r = 0;

	set_busy(p, false);
	admit_waiting(pl);
	chk_atlas_access(fetch, &f);
	if (ear) {
		p->ear_read_at = util_now();
		p->ear_provider = atlas_ear_enabled_provider(ear);
		p->ear_valid = atlas_ear_provider_valid(ear, p->ear_provider);
		r = chk_ear(ear, p->e.cfg->expect_provider, &p->e.cfg->checks, &p->mem, util_now(), &f,
			    &next);
		if (r == 0) {
			ear_memory_free(&p->mem);
			p->mem = next;
			if (pl->d->providers)
				providers_ear(pl->d->providers, p->e.cfg, ear, &p->mem);
		} else {
			ear_memory_free(&next);
			log_err("project %s: cannot evaluate the EAR checks: %s", p->e.cfg->name,
				strerror(-r));
		}
		if (rd->clusters_ok)
			r = chk_ear_clusters(&rd->clusters, atlas_ear_enabled_provider(ear),
					     &p->e.cfg->checks, &f);
		if (r == 0)
			r = chk_ear_role(ear, rd->cpa_ok ? &rd->cpa : NULL, &p->e.cfg->checks, &f);
		if (r == 0)
			r = chk_ear_private_endpoint(ear, rd->pes_ok ? &rd->pes : NULL,
						     rd->pes_status, rd->pes_error,
						     &p->e.cfg->checks, &f);
		if (r == 0)
			r = chk_atlas_events(rd->events_ok ? &rd->events : NULL,
					     atlas_ear_enabled_provider(ear), util_now(),
					     &p->e.cfg->checks, &f);
		if (r < 0)
			log_err("project %s: cannot evaluate the cluster and role checks: %s",
				p->e.cfg->name, strerror(-r));
	}
	set_done(p);
	schedule_next(p);
	/* Once mode has no next round and saves no state: the memory is for
	 * a next round only (10,000 projects keep some 4 MB of it). */
	if (pl->hooks.once)
		ear_memory_free(&p->mem);
	pl->hooks.on_result(pl->hooks.ctx, p->e.cfg, &f);
	findings_free(&f);
	round_end(p);
}

static const struct atlas_fetch fetch_ok = {.outcome = ATLAS_FETCH_OK, .http_status = 200};

/* Both extra reads are done (or were not needed): judge the round. */
static void
extras_done(struct project *p)
{
	struct round *r = p->round;

	if (r->launching || r->clusters_req || r->cpa_req || r->pes_req || r->events_req)
		return;
	if (!r->extra_failed_now && p->extra_failed_logged) {
		log_notice("project %s: what Atlas tells beside the EAR state is readable again",
			   p->e.cfg->name);
		p->extra_failed_logged = false;
	}
	report(p, &fetch_ok, &r->ear);
}

static void
extra_failed(struct project *p, const char *what, const struct restreq_result *res,
	     const char *error)
{
	const struct http_response *resp = res ? res->resp : NULL;

	if (res && !resp)
		error = res->error;
	/* atlas.access speaks for the EAR read; these reads only feed
	 * ear.clusters and ear.role, which keep their state meanwhile. Say it
	 * once until it works again, not every poll. */
	p->round->extra_failed_now = true;
	if (!p->extra_failed_logged)
		log_warn("project %s: cannot read %s from Atlas (%s%s%ld); the checks that need "
			 "it keep their last state",
			 p->e.cfg->name, what, error ? error : resp && resp->curl_code ? resp->error : "",
			 error || (resp && resp->curl_code) ? "" : "HTTP ",
			 error || (resp && resp->curl_code) ? 0L : resp->status);
	p->extra_failed_logged = true;
}

static void start_clusters(struct project *p);

static void
on_clusters(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct project *p = ctx;
	struct round *r = p->round;
	struct atlas_clusters page = {0};
	char err[200];
	bool more;

	r->clusters_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200) {
		extra_failed(p, "the clusters", res, NULL);
		atlas_clusters_free(&r->clusters);
		memset(&r->clusters, 0, sizeof(r->clusters));
		extras_done(p);
		return;
	}
	if (atlas_parse_clusters(resp->body, resp->body_len, &page, err, sizeof(err)) < 0) {
		extra_failed(p, "the clusters", NULL, err);
		extras_done(p);
		return;
	}
	more = atlas_clusters_more(&page, r->clusters_page, ATLAS_CLUSTERS_MAX_PER_PAGE);
	if (atlas_clusters_merge(&r->clusters, &page) < 0) {
		atlas_clusters_free(&page);
		extra_failed(p, "the clusters", NULL, "out of memory");
		extras_done(p);
		return;
	}
	if (more && r->clusters_page < ATLAS_CLUSTERS_MAX_PAGES) {
		r->clusters_page++;
		start_clusters(p);
		return;
	}
	r->clusters_ok = true;
	extras_done(p);
}

static void
on_cpa(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct project *p = ctx;
	struct round *r = p->round;
	char err[200];

	r->cpa_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200)
		extra_failed(p, "Cloud Provider Access", res, NULL);
	else if (atlas_parse_cloud_provider_access(resp->body, resp->body_len, &r->cpa, err,
						   sizeof(err)) < 0)
		extra_failed(p, "Cloud Provider Access", NULL, err);
	else
		r->cpa_ok = true;
	extras_done(p);
}

static void start_pes(struct project *p);

/* A failed read of the private endpoints is ear.private_endpoint's own
 * news (unknown, saying why), not a log line. */
static void
on_pes(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct project *p = ctx;
	struct round *r = p->round;
	struct atlas_ear_pes page = {0};
	char err[200] = "out of memory"; /* what a failed merge leaves */
	size_t page_n;

	r->pes_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200) {
		struct atlas_error ae;

		r->pes_status = resp && !resp->curl_code ? (int)resp->status : 0;
		if (!resp)
			snprintf(r->pes_error, sizeof(r->pes_error), "%s", res->error);
		else if (resp->curl_code)
			snprintf(r->pes_error, sizeof(r->pes_error), "%s", resp->error);
		else if (atlas_parse_error(resp->body, resp->body_len, &ae) == 0)
			snprintf(r->pes_error, sizeof(r->pes_error), "HTTP %ld %s: %s", resp->status,
				 ae.error_code, ae.detail);
		else
			snprintf(r->pes_error, sizeof(r->pes_error), "HTTP %ld", resp->status);
		atlas_ear_pes_free(&r->pes);
		extras_done(p);
		return;
	}
	page_n = 0;
	if (atlas_parse_ear_private_endpoints(resp->body, resp->body_len, &page, err,
					      sizeof(err)) < 0 ||
	    (page_n = page.n, atlas_ear_pes_merge(&r->pes, &page)) < 0) {
		atlas_ear_pes_free(&page);
		atlas_ear_pes_free(&r->pes);
		snprintf(r->pes_error, sizeof(r->pes_error), "a malformed answer: %s", err);
		extras_done(p);
		return;
	}
	if (atlas_page_more(page_n, r->pes.has_next_link, r->pes.has_total_count,
			    r->pes.total_count, r->pes_page, ATLAS_PE_PER_PAGE) &&
	    r->pes_page < ATLAS_PE_MAX_PAGES) {
		r->pes_page++;
		start_pes(p);
		return;
	}
	r->pes_ok = true;
	extras_done(p);
}

static void
start_pes(struct project *p)
{
	struct round *r = p->round;
	char *url = atlas_ear_private_endpoints_url(p->poller->cfg->atlas.base_url, p->e.id,
						    atlas_ear_enabled_provider(&r->ear), r->pes_page);

	if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2023_01_01, 0, on_pes, p,
				 &r->pes_req) < 0)
		snprintf(r->pes_error, sizeof(r->pes_error), "out of memory");
	free(url);
}

static void start_events(struct project *p);

static void
on_events(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct project *p = ctx;
	struct round *r = p->round;
	struct atlas_events page = {0};
	char err[200] = "out of memory"; /* what a failed merge leaves */
	size_t page_n = 0;

	r->events_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200) {
		extra_failed(p, "the project's events", res, NULL);
		atlas_events_free(&r->events);
		extras_done(p);
		return;
	}
	if (atlas_parse_events(resp->body, resp->body_len, &page, err, sizeof(err)) < 0 ||
	    (page_n = page.n, atlas_events_merge(&r->events, &page)) < 0) {
		atlas_events_free(&page);
		atlas_events_free(&r->events);
		extra_failed(p, "the project's events", NULL, err);
		extras_done(p);
		return;
	}
	if (atlas_page_more(page_n, r->events.has_next_link, r->events.has_total_count,
			    r->events.total_count, r->events_page, ATLAS_EVENTS_PER_PAGE) &&
	    r->events_page < ATLAS_EVENTS_MAX_PAGES) {
		r->events_page++;
		start_events(p);
		return;
	}
	r->events_ok = true;
	extras_done(p);
}

static void
start_events(struct project *p)
{
	struct round *r = p->round;
	char *url = atlas_events_url(p->poller->cfg->atlas.base_url, p->e.id, r->events_since,
				     r->events_page);

	if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2023_01_01, 0, on_events, p,
				 &r->events_req) < 0)
		extra_failed(p, "the project's events", NULL, "out of memory");
	free(url);
}

/* atlas.events reads every events_interval (each poll in once mode): a
 * week back, enough to see a verdict and whether Atlas took it back. */
#define EVENTS_WINDOW (7 * 86400)

static bool
wants_events(struct project *p)
{
	const struct poller *pl = p->poller;
	int64_t now = util_now_mono_ms();

	if (!p->e.cfg->checks.enabled[CHK_ATLAS_EVENTS])
		return false;
	if (!pl->hooks.once && p->events_due_ms != 0 && now < p->events_due_ms)
		return false;
	p->events_due_ms = now + pl->cfg->events_interval * 1000;
	return true;
}

/* Whether ear.private_endpoint needs the endpoints read this round. */
static bool
wants_pes(const struct atlas_ear *ear, const struct cfg_checks *ck)
{
	return ck->enabled[CHK_EAR_PRIVATE_ENDPOINT] && kms_ear_private_networking(ear);
}

static void
start_clusters(struct project *p)
{
	struct round *r = p->round;
	char *url = atlas_clusters_url(p->poller->cfg->atlas.base_url, p->e.id, r->clusters_page,
				       ATLAS_CLUSTERS_MAX_PER_PAGE);

	if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2024_08_05, 0, on_clusters, p,
				 &r->clusters_req) < 0)
		extra_failed(p, "the clusters", NULL, "out of memory");
	free(url);
}

/* The EAR state is in: read what ear.clusters and ear.role need, then
 * report. */
static void
start_extras(struct project *p)
{
	const struct cfg_checks *ck = &p->e.cfg->checks;
	struct round *r = p->round;

	r->extra_failed_now = false;
	r->launching = true;
	if (ck->enabled[CHK_EAR_CLUSTERS]) {
		r->clusters_page = 1;
		start_clusters(p);
	}
	if (ck->enabled[CHK_EAR_ROLE] && atlas_ear_role_id(&r->ear)) {
		char *url = atlas_cpa_url(p->poller->cfg->atlas.base_url, p->e.id);

		if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2023_01_01, 0, on_cpa, p,
					 &r->cpa_req) < 0)
			extra_failed(p, "Cloud Provider Access", NULL, "out of memory");
		free(url);
	}
	if (wants_pes(&r->ear, ck)) {
		r->pes_page = 1;
		start_pes(p);
	}
	if (wants_events(p)) {
		r->events_page = 1;
		r->events_since = util_now() - EVENTS_WINDOW;
		start_events(p);
	}
	r->launching = false;
	extras_done(p);
}

static void
on_ear(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct project *p = ctx;
	struct atlas_fetch fetch;
	struct atlas_error apierr;
	struct atlas_ear ear = {0};
	char err[200] = "";

	p->round->ear_req = NULL;
	if (!atlasreq_outcome(res, &fetch, &apierr)) {
		report(p, &fetch, NULL);
		return;
	}
	if (atlas_parse_ear(resp->body, resp->body_len, &ear, err, sizeof(err)) < 0) {
		fetch.outcome = ATLAS_FETCH_BAD_BODY;
		snprintf(fetch.detail, sizeof(fetch.detail), "%s", err);
		report(p, &fetch, NULL);
		return;
	}
	p->round->ear = ear;
	p->round->have_ear = true;
	start_extras(p);
}

static void
round_start(struct sched_entry *e)
{
	struct project *p = (struct project *)((char *)e - offsetof(struct project, sched));
	struct poller *pl = p->poller;
	char *url;

	if (!p->busy && pl->n_busy >= max_rounds(pl)) {
		if (!p->waiting)
			TAILQ_INSERT_TAIL(&pl->wait, p, wait_entry);
		p->waiting = true;
		return;
	}
	assert(!p->round);
	url = atlas_ear_url(pl->cfg->atlas.base_url, p->e.id);
	p->round = calloc(1, sizeof(*p->round));
	set_busy(p, true);
	p->round_started_ms = util_now_mono_ms();
	/* on_ear may run before this returns */
	if (!url || !p->round ||
	    atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2023_01_01, 0, on_ear, p,
			 &p->round->ear_req) < 0) {
		struct atlas_fetch fetch = {.outcome = ATLAS_FETCH_TRANSPORT};

		snprintf(fetch.detail, sizeof(fetch.detail), "cannot start the request: out of memory");
		report(p, &fetch, NULL);
	}
	free(url);
}

/* ---- memory and stats -------------------------------------------------- */

int
poller_save_memory(const struct poller *pl, char **json, size_t *len)
{
	struct store_projects_out out;
	const struct projset_entry *e;

	store_projects_begin(&out);
	projset_foreach(&pl->projects, e) {
		const struct project *p = (const struct project *)e;
		json_t *o = ear_memory_to_json(&p->mem);

		if (o)
			store_projects_add(&out, p->e.id, o);
	}
	return store_projects_end(&out, json, len);
}

int
poller_load_memory(struct poller *pl, const char *json, size_t len)
{
	json_t *projects = store_projects_parse(json, len);

	if (!projects)
		return -EBADMSG;
	json_decref(pl->loaded);
	pl->loaded = projects;
	return 0;
}

void
poller_stats(const struct poller *pl, size_t *projects, size_t *busy, int64_t *next_ms)
{
	*projects = pl->projects.n;
	*busy = pl->n_busy;
	/* when none is running, the next round is the schedule's earliest */
	*next_ms = pl->n_busy ? -1 : sched_next_in(&pl->sched);
}

size_t
poller_unfinished(const struct poller *pl, const struct cfg_project **out, size_t max)
{
	const struct projset_entry *e;
	size_t n = 0;

	projset_foreach(&pl->projects, e) {
		const struct project *p = (const struct project *)e;

		if (p->done)
			continue;
		if (n < max)
			out[n] = p->e.cfg;
		n++;
	}
	return n;
}

void
poller_metrics(const struct poller *pl, struct metrics *w)
{
	const struct projset_entry *e;

	projset_foreach(&pl->projects, e) {
		const struct project *p = (const struct project *)e;

		if (!p->ear_read_at)
			continue;
		mx_last_success(w, p->e.cfg, "atlas", p->ear_read_at);
		if (p->ear_provider != PROV_NONE && p->ear_valid != TRI_ABSENT)
			mx_ear_valid(w, p->e.cfg, provider_name(p->ear_provider),
				     p->ear_valid == TRI_TRUE);
	}
}

bool
poller_all_done(const struct poller *pl)
{
	return pl->n_done == pl->projects.n;
}
