/* SPDX-License-Identifier: ISC */
/*
 * discover — see discover.h.
 *
 * One listing at a time: the sources (GET /groups, or each of
 * discover.org_ids) one after the other, each page after the previous one
 * (pageNum with itemsPerPage=500, atlas_page_more's rule; at 10,000
 * projects that is 20 requests per refresh, far inside Atlas's 1,200 per
 * minute for /groups and 500 for /orgs/{id}/groups; 429 and Retry-After are
 * fetch.c's). A page is parsed into the pending set as it arrives; the
 * source's known set is replaced only when its last page is in.
 *
 * After a listing the effective view is rebuilt (O(projects), hash
 * look-ups) and handed to the poller and the providers only when the
 * discovered projects changed (added, gone, renamed); their reconcile
 * keeps the state of every unchanged project.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "atlas.h"
#include "atlasreq.h"
#include "checks.h"
#include "config.h"
#include "daemon.h"
#include "discover.h"
#include "discovery.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "poller.h"
#include "provider.h"
#include "util.h"

/* per-project journal entries of one change; beyond, a count */
#define ANNOUNCE_MAX 100

struct discover {
	struct daemon *d;
	struct poller_hooks hooks;
	const struct config *cfg;   /* the loaded one (d->cfg) */
	struct disc_source *src;    /* one per source of cfg */
	bool *failing;              /* per source: the last listing failed */
	size_t n_src;
	struct disc_source *loaded; /* from the state file, until configure */
	size_t n_loaded;
	struct disc_view *view;     /* what the poller and providers have */
	bool dirty;                 /* sets changed since the last save */
	bool enabled_before;        /* discovery alerts may exist */

	uv_timer_t timer;
	bool due;                   /* a listing is scheduled from the loop */
	bool listing;
	size_t cur;                 /* source being listed */
	unsigned page;
	struct disc_set pending;
	struct restreq *req;
	struct findings f;          /* atlas.access of each source */
	bool changed;               /* a source's set was replaced */
	bool learned;               /* ... and had never been listed before */
	bool relisted;              /* this source was listed again at once */
	int64_t started_ms;

	struct cfg_project pseudo;  /* DISCOVER_PROJECT_ID, for on_result */
	const char *const *keep;    /* once mode --project */
	size_t n_keep;
	const char *missing;
	void (*on_listed)(void *ctx);
	void *on_listed_ctx;
};

static void start_page(struct discover *ds);
static void on_timer(uv_timer_t *t);

int
discover_new(struct daemon *d, const struct poller_hooks *hooks, struct discover **out)
{
	struct discover *ds = calloc(1, sizeof(*ds));

	if (!ds)
		return -ENOMEM;
	ds->d = d;
	ds->hooks = *hooks;
	ds->pseudo.id = (char *)DISCOVER_PROJECT_ID;
	ds->pseudo.name = (char *)DISCOVER_PROJECT_NAME;
	ds->pseudo.checks = cfg_default_checks;
	uv_timer_init(d->loop, &ds->timer);
	ds->timer.data = ds;
	*out = ds;
	return 0;
}

static void
sources_free(struct disc_source *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		disc_source_free(&v[i]);
	free(v);
}

static void
listing_cancel(struct discover *ds)
{
	restreq_cancel(ds->req);
	ds->req = NULL;
	disc_set_free(&ds->pending);
	findings_free(&ds->f);
	ds->listing = false;
}

static void
on_closed(uv_handle_t *h)
{
	struct discover *ds = h->data;

	free(ds);
}

void
discover_free(struct discover *ds)
{
	if (!ds)
		return;
	listing_cancel(ds);
	sources_free(ds->src, ds->n_src);
	free(ds->failing);
	sources_free(ds->loaded, ds->n_loaded);
	disc_view_free(ds->view);
	free(ds->view);
	uv_timer_stop(&ds->timer);
	uv_close((uv_handle_t *)&ds->timer, on_closed);
}

/* ---- the effective list -------------------------------------------------- */

static void
announce(const struct disc_change *c, size_t n)
{
	size_t shown = n < ANNOUNCE_MAX ? n : ANNOUNCE_MAX;

	for (size_t i = 0; i < shown; i++) {
		const struct cfg_project *p = c[i].p;

		switch (c[i].kind) {
		case DISC_ADDED:
			log_project(LOG_INFO, MSGID_PROJECT_DISCOVERED, p->id, p->name,
				    "project %s (%s) discovered: watching it with the default "
				    "settings",
				    p->name, p->id);
			break;
		case DISC_REMOVED:
			log_project(LOG_INFO, MSGID_PROJECT_GONE, p->id, p->name,
				    "project %s (%s) is no longer visible to kmswatch's Atlas "
				    "identity, or no longer passes discover.include/exclude: no "
				    "longer watched, its alerts resolve",
				    p->name, p->id);
			break;
		case DISC_RENAMED:
			log_info("project %s (%s) is now named %s in Atlas", c[i].old_name, p->id,
				 p->name);
			break;
		}
	}
	if (n > shown)
		log_info("discovery: %zu more changes to the watched projects not shown one by one",
			 n - shown);
}

/* Whether some source has been listed (or was loaded from the state). */
static bool
any_known(const struct discover *ds)
{
	for (size_t i = 0; i < ds->n_src; i++)
		if (ds->src[i].known)
			return true;
	return false;
}

/* apply() without discover: the poller and the providers get the loaded
 * config itself. */
static int
apply_config_only(struct discover *ds, bool announce_each, bool reloaded)
{
	struct disc_view nv;
	struct disc_change *ch = NULL;
	size_t n_ch = 0;
	int r;

	/* Discovery was on: say which of its projects stop being watched. */
	if (ds->view && announce_each) {
		if (disc_view_build(&nv, ds->cfg, NULL, 0) == 0 &&
		    disc_view_diff(ds->view, &nv, &ch, &n_ch) == 0)
			announce(ch, n_ch);
		else
			log_err("discovery: out of memory comparing the lists of projects; the "
				"discovered ones stop being watched unannounced");
		free(ch);
		disc_view_free(&nv);
	}
	r = providers_configure(ds->d->providers, ds->cfg, reloaded);
	if (r == 0)
		r = poller_configure(ds->d->poller, ds->cfg);
	disc_view_free(ds->view);
	free(ds->view);
	ds->view = NULL;
	return r;
}

/*
 * Rebuild the view from the config and the known sets and hand it over.
 * force: the config itself changed (configure), so the poller and the
 * providers must adopt it even when no discovered project did. announce:
 * journal each change (not for the very first listing, which would name
 * every project). reloaded: the config changed, not only a listing, so
 * the providers' identities may have (see provider.h).
 */
static int
apply(struct discover *ds, bool force, bool announce_each, bool reloaded)
{
	struct disc_view *nv;
	struct disc_change *ch = NULL;
	size_t n_ch = 0;
	int r;

	/* Nothing to discover: the configured list is the view, as it is;
	 * a copy with its index would cost some 230 bytes a project. */
	if (!ds->cfg->discover.enabled && !ds->keep)
		return apply_config_only(ds, announce_each, reloaded);
	nv = calloc(1, sizeof(*nv));
	if (!nv || disc_view_build(nv, ds->cfg, ds->src, ds->n_src) < 0) {
		free(nv);
		log_err("discovery: out of memory building the list of projects; the last one "
			"stays in force");
		return -ENOMEM;
	}
	if (ds->keep && disc_view_keep(nv, ds->keep, ds->n_keep, &ds->missing) < 0) {
		disc_view_free(nv);
		free(nv);
		return 0; /* once mode reports the missing name */
	}
	if (ds->view && disc_view_diff(ds->view, nv, &ch, &n_ch) < 0) {
		disc_view_free(nv);
		free(nv);
		log_err("discovery: out of memory comparing the lists of projects");
		return -ENOMEM;
	}
	if (!force && ds->view && n_ch == 0) {
		disc_view_free(nv);
		free(nv);
		return 0;
	}
	if (announce_each)
		announce(ch, n_ch);
	/* The providers first: a project the poller starts may reach them. */
	r = providers_configure(ds->d->providers, &nv->cfg, reloaded);
	if (r == 0)
		r = poller_configure(ds->d->poller, &nv->cfg);
	if (ds->cfg->discover.enabled && (n_ch > 0 || !ds->view) && any_known(ds))
		log_info("discovery: watching %zu project%s (%zu configured, %zu discovered, %zu "
			 "left out by discover.include/exclude)",
			 nv->cfg.n_projects, nv->cfg.n_projects == 1 ? "" : "s", nv->n_listed,
			 nv->cfg.n_projects - nv->n_listed, nv->n_filtered);
	free(ch);
	disc_view_free(ds->view);
	free(ds->view);
	ds->view = nv;
	return r;
}

/* ---- a listing ----------------------------------------------------------- */

static void
finish(struct discover *ds)
{
	int64_t delay;

	ds->listing = false;
	if (ds->changed || ds->hooks.once) {
		/* a source listed for the first time would announce every one
		 * of its projects: the summary line says it instead */
		apply(ds, ds->hooks.once, !ds->learned && !ds->hooks.once, false);
		ds->changed = ds->learned = false;
	}
	/* atlas.access switched off: nothing is evaluated, the hook still
	 * learns that the listing is over (--once waits for it) */
	if (!ds->cfg->checks.enabled[CHK_ATLAS_ACCESS])
		findings_free(&ds->f);
	ds->hooks.on_result(ds->hooks.ctx, &ds->pseudo, &ds->f);
	findings_free(&ds->f);
	if (ds->on_listed)
		ds->on_listed(ds->on_listed_ctx);
	if (ds->hooks.once)
		return;
	/* the cadence follows the start of each listing, as the poller's */
	delay = ds->cfg->discover.interval * 1000 - (util_now_mono_ms() - ds->started_ms);
	uv_timer_start(&ds->timer, on_timer, (uint64_t)(delay > 0 ? delay : 0), 0);
}

static void
next_source(struct discover *ds)
{
	disc_set_free(&ds->pending);
	ds->relisted = false;
	if (++ds->cur < ds->n_src) {
		ds->page = 1;
		start_page(ds);
		return;
	}
	finish(ds);
}

static void
source_failed(struct discover *ds, const struct atlas_fetch *fetch)
{
	struct disc_source *s = &ds->src[ds->cur];
	size_t kept = disc_set_count(&s->set);
	size_t before = ds->f.n;

	if (chk_discovery_access(fetch, s->org_id, kept, &ds->f) < 0)
		log_err("discovery: out of memory reporting a failed listing");
	/* the journal line once per failure streak; the alert says it too */
	if (!ds->failing[ds->cur] && ds->f.n > before)
		log_warn("discovery: page %u: %s", ds->page, ds->f.v[ds->f.n - 1].summary);
	ds->failing[ds->cur] = true;
	next_source(ds);
}

static void
source_done(struct discover *ds)
{
	static const struct atlas_fetch ok = {.outcome = ATLAS_FETCH_OK, .http_status = 200};
	struct disc_source *s = &ds->src[ds->cur];
	char name[64];

	if (!s->known)
		ds->learned = true;
	disc_set_free(&s->set);
	s->set = ds->pending;
	memset(&ds->pending, 0, sizeof(ds->pending));
	s->known = true;
	s->listed_at = util_now();
	ds->changed = ds->dirty = true;
	if (ds->failing[ds->cur])
		log_notice("discovery: the project listing of %s works again (%zu projects)",
			   s->org_id ? (snprintf(name, sizeof(name), "organization %s", s->org_id),
					name)
				     : "GET /groups",
			   disc_set_count(&s->set));
	ds->failing[ds->cur] = false;
	if (chk_discovery_access(&ok, s->org_id, disc_set_count(&s->set), &ds->f) < 0)
		log_err("discovery: out of memory reporting a listing");
	next_source(ds);
}

static void
on_page(void *ctx, const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;
	struct discover *ds = ctx;
	struct atlas_fetch fetch;
	struct atlas_error apierr;
	struct atlas_groups page = {0};
	char err[200] = "";
	bool more, has_total;
	int64_t total;
	size_t n;

	ds->req = NULL;
	if (!atlasreq_outcome(res, &fetch, &apierr)) {
		source_failed(ds, &fetch);
		return;
	}
	if (atlas_parse_groups(resp->body, resp->body_len, &page, err, sizeof(err)) < 0) {
		fetch.outcome = ATLAS_FETCH_BAD_BODY;
		snprintf(fetch.detail, sizeof(fetch.detail), "page %u: %s", ds->page, err);
		source_failed(ds, &fetch);
		return;
	}
	n = page.n;
	has_total = page.has_total_count;
	total = page.total_count;
	more = atlas_page_more(n, page.has_next_link, page.has_total_count, page.total_count,
			       ds->page, ATLAS_GROUPS_PER_PAGE);
	if (disc_set_add_page(&ds->pending, &page) < 0) {
		fetch.outcome = ATLAS_FETCH_TRANSPORT;
		fetch.http_status = 0;
		snprintf(fetch.detail, sizeof(fetch.detail), "out of memory");
		source_failed(ds, &fetch);
		return;
	}
	if (more && ds->page >= ATLAS_GROUPS_MAX_PAGES) {
		fetch.outcome = ATLAS_FETCH_BAD_BODY;
		snprintf(fetch.detail, sizeof(fetch.detail),
			 "still more pages after %u pages of %u projects", ds->page,
			 ATLAS_GROUPS_PER_PAGE);
		source_failed(ds, &fetch);
		return;
	}
	if (more) {
		ds->page++;
		start_page(ds);
		return;
	}
	/* Pages are counted, not anchored: a project deleted on an earlier
	 * page while later ones are read shifts another one out of sight,
	 * which would drop it. Fewer projects than totalCount says: list the
	 * source again, once, and take the second listing as it is. */
	if (has_total && (int64_t)disc_set_count(&ds->pending) < total && !ds->relisted) {
		log_debug("discovery: %zu projects listed but totalCount is %lld; listing again",
			  disc_set_count(&ds->pending), (long long)total);
		ds->relisted = true;
		disc_set_free(&ds->pending);
		ds->page = 1;
		start_page(ds);
		return;
	}
	source_done(ds);
}

static void
start_page(struct discover *ds)
{
	const struct disc_source *s = &ds->src[ds->cur];
	char *url = atlas_groups_url(ds->cfg->atlas.base_url, s->org_id, ds->page,
				     ATLAS_GROUPS_PER_PAGE);

	/* on_page may run before this returns */
	if (!url || atlasreq_get(ds->d, url, ATLAS_MEDIA_2023_01_01, 0, on_page, ds,
				 &ds->req) < 0) {
		struct atlas_fetch fetch = {.outcome = ATLAS_FETCH_TRANSPORT};

		snprintf(fetch.detail, sizeof(fetch.detail),
			 "cannot start the request: out of memory");
		source_failed(ds, &fetch);
	}
	free(url);
}

static void
on_timer(uv_timer_t *t)
{
	struct discover *ds = t->data;

	ds->due = false;
	if (!ds->cfg || !ds->cfg->discover.enabled || ds->n_src == 0)
		return;
	listing_cancel(ds);
	ds->listing = true;
	ds->started_ms = util_now_mono_ms();
	ds->cur = 0;
	ds->page = 1;
	ds->relisted = false;
	memset(&ds->f, 0, sizeof(ds->f));
	start_page(ds);
}

void
discover_refresh(struct discover *ds)
{
	if (!ds || !ds->cfg || !ds->cfg->discover.enabled)
		return;
	/* from the loop, never inside a signal's or a reload's call chain */
	ds->due = true;
	uv_timer_start(&ds->timer, on_timer, 0, 0);
}

/* ---- configure ----------------------------------------------------------- */

/* The source for org_id (NULL: /groups) from v[0..n), moved out, or NULL. */
static bool
take_source(struct disc_source *v, size_t n, const char *org_id, struct disc_source *out)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].known && util_streq(v[i].org_id, org_id)) {
			*out = v[i];
			memset(&v[i], 0, sizeof(v[i]));
			return true;
		}
	return false;
}

int
discover_configure(struct discover *ds, const struct config *cfg)
{
	const struct cfg_discover *dc = &cfg->discover;
	size_t n = dc->enabled ? (dc->n_org_ids ? dc->n_org_ids : 1) : 0;
	struct disc_source *src = n ? calloc(n, sizeof(*src)) : NULL;
	bool *failing = n ? calloc(n, sizeof(*failing)) : NULL;
	int r;

	if (n && (!src || !failing)) {
		free(src);
		free(failing);
		return -ENOMEM;
	}
	/* a listing in flight reads with the old config: start afresh */
	listing_cancel(ds);
	for (size_t i = 0; i < n; i++) {
		const char *org = dc->n_org_ids ? dc->org_ids[i] : NULL;
		bool kept = false;

		for (size_t j = 0; j < ds->n_src && !kept; j++)
			if (util_streq(ds->src[j].org_id, org)) {
				src[i] = ds->src[j];
				failing[i] = ds->failing[j];
				memset(&ds->src[j], 0, sizeof(ds->src[j]));
				kept = true;
			}
		if (!kept)
			kept = take_source(ds->loaded, ds->n_loaded, org, &src[i]);
		if (!kept && org && !(src[i].org_id = strdup(org))) {
			sources_free(src, n);
			free(failing);
			return -ENOMEM;
		}
	}
	sources_free(ds->src, ds->n_src);
	free(ds->failing);
	sources_free(ds->loaded, ds->n_loaded);
	ds->loaded = NULL;
	ds->n_loaded = 0;
	ds->src = src;
	ds->failing = failing;
	ds->n_src = n;
	ds->cfg = cfg;
	ds->dirty = true;
	ds->pseudo.checks = cfg->checks;
	/* discovery's own alerts go with it */
	if (!dc->enabled && ds->hooks.on_removed)
		ds->hooks.on_removed(ds->hooks.ctx, DISCOVER_PROJECT_ID);
	if (ds->hooks.once && dc->enabled) {
		r = 0; /* nothing is polled before the listing */
	} else {
		r = apply(ds, true, true, true);
	}
	if (dc->enabled)
		discover_refresh(ds);
	else
		uv_timer_stop(&ds->timer);
	return r;
}

bool
discover_idle(const struct discover *ds)
{
	return !ds || (!ds->listing && !ds->due);
}

const char *
discover_org_id(const struct discover *ds)
{
	if (!ds || !ds->cfg || !ds->cfg->discover.enabled)
		return NULL;
	for (size_t i = 0; i < ds->n_src; i++) {
		const struct disc_project *dp, *tmp;

		if (!ds->src[i].known)
			continue;
		HASH_ITER(hh, ds->src[i].set.by_id, dp, tmp) {
			if (dp->org_id && dp->org_id[0])
				return dp->org_id;
		}
	}
	for (size_t i = 0; i < ds->n_src; i++)
		if (ds->src[i].known && ds->src[i].org_id)
			return ds->src[i].org_id;
	return NULL;
}

bool
discover_pending(const struct discover *ds)
{
	return ds && ds->cfg && ds->cfg->discover.enabled && !any_known(ds) &&
	       !discover_idle(ds);
}

void
discover_on_listed(struct discover *ds, void (*fn)(void *ctx), void *ctx)
{
	ds->on_listed = fn;
	ds->on_listed_ctx = ctx;
}

void
discover_keep(struct discover *ds, const char *const *wanted, size_t n)
{
	ds->keep = n ? wanted : NULL;
	ds->n_keep = n;
}

const char *
discover_missing(const struct discover *ds)
{
	return ds ? ds->missing : NULL;
}

/* ---- state --------------------------------------------------------------- */

int
discover_save(struct discover *ds, char **json, size_t *len)
{
	int r;

	if (!ds || !ds->dirty || !ds->cfg || !ds->cfg->discover.enabled)
		return 1;
	if ((r = disc_save(ds->src, ds->n_src, json, len)) == 0)
		ds->dirty = false;
	return r;
}

int
discover_load(struct discover *ds, const char *json, size_t len)
{
	char err[160];
	int r;

	sources_free(ds->loaded, ds->n_loaded);
	ds->loaded = NULL;
	ds->n_loaded = 0;
	r = disc_load(json, len, &ds->loaded, &ds->n_loaded, err, sizeof(err));
	if (r == -EBADMSG)
		log_debug("discovery: state document: %s", err);
	return r;
}
