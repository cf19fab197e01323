/*
 * poller — see poller.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atlas.h"
#include "atlasreq.h"
#include "auth.h"
#include "azpoll.h"
#include "backoff.h"
#include "checks.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "poller.h"
#include "store.h"
#include "util.h"

/* Transient failures are retried this many times within one round before
 * the round reports atlas.access unknown. */
#define POLL_RETRIES 3
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 60000

struct project {
	struct project *next;
	struct poller *poller;
	char *id;
	const struct cfg_project *cfg;
	uv_timer_t timer;
	struct http_transfer *xfer;
	struct auth_waiter *waiter;
	char *bearer;            /* token of the request in flight */
	unsigned attempt;        /* retries used in this round */
	bool auth_retried;       /* a 401 already made us fetch a new token */
	bool busy;               /* a round is in progress */
	bool done;               /* once mode: reported */
	int64_t round_started_ms;
	struct ear_memory mem;
	/* the rest of a round once the EAR state is read: the clusters (all
	 * pages) and, for role-based credentials, Cloud Provider Access */
	struct atlas_ear ear;
	bool have_ear;
	struct atlas_clusters clusters;
	bool clusters_ok;
	unsigned clusters_page;
	struct atlasreq *clusters_req;
	struct atlas_cpa cpa;
	bool cpa_ok;
	struct atlasreq *cpa_req;
	bool extra_failed_logged, extra_failed_now;
	bool launching; /* start_extras is running: no report yet */
};

struct poller {
	struct daemon *d;
	struct poller_hooks hooks;
	const struct config *cfg;
	struct project *projects;
	json_t *loaded; /* memory read from the state dir, by project id */
};

static void round_start(uv_timer_t *t);
static void send_request(struct project *p);

int
poller_new(struct daemon *d, const struct poller_hooks *hooks, struct poller **out)
{
	struct poller *pl = calloc(1, sizeof(*pl));

	if (!pl)
		return -ENOMEM;
	pl->d = d;
	pl->hooks = *hooks;
	*out = pl;
	return 0;
}

static void
on_project_closed(uv_handle_t *h)
{
	struct project *p = h->data;

	ear_memory_free(&p->mem);
	free(p->id);
	free(p);
}

static void
extras_clear(struct project *p)
{
	atlasreq_cancel(p->clusters_req);
	atlasreq_cancel(p->cpa_req);
	p->clusters_req = p->cpa_req = NULL;
	if (p->have_ear)
		atlas_ear_free(&p->ear);
	atlas_clusters_free(&p->clusters);
	atlas_cpa_free(&p->cpa);
	memset(&p->ear, 0, sizeof(p->ear));
	memset(&p->clusters, 0, sizeof(p->clusters));
	memset(&p->cpa, 0, sizeof(p->cpa));
	p->have_ear = p->clusters_ok = p->cpa_ok = false;
}

static void
project_cancel(struct project *p)
{
	extras_clear(p);
	if (p->xfer) {
		http_cancel(p->xfer);
		p->xfer = NULL;
	}
	if (p->waiter) {
		auth_cancel(p->poller->d->auth, p->waiter);
		p->waiter = NULL;
	}
	util_free_secret(p->bearer);
	p->bearer = NULL;
	p->busy = false;
}

static void
project_destroy(struct project *p)
{
	project_cancel(p);
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, on_project_closed);
}

void
poller_free(struct poller *pl)
{
	if (!pl)
		return;
	while (pl->projects) {
		struct project *p = pl->projects;

		pl->projects = p->next;
		project_destroy(p);
	}
	json_decref(pl->loaded);
	free(pl);
}

static struct project *
find_project(struct poller *pl, const char *id)
{
	for (struct project *p = pl->projects; p; p = p->next)
		if (strcmp(p->id, id) == 0)
			return p;
	return NULL;
}

static void
memory_from_json(struct ear_memory *m, json_t *o)
{
	const char *fp = NULL, *key = NULL;
	json_int_t first = 0;

	if (!json_is_object(o) ||
	    json_unpack(o, "{s?s, s?s, s?I}", "fingerprint", &fp, "key_id", &key,
			"key_first_seen", &first) < 0)
		return;
	m->fingerprint = util_strdup(fp);
	m->key_id = util_strdup(key);
	m->key_first_seen = (time_t)first;
}

static struct project *
project_new(struct poller *pl, const struct cfg_project *cp)
{
	struct project *p = calloc(1, sizeof(*p));

	if (!p || !(p->id = strdup(cp->id))) {
		free(p);
		return NULL;
	}
	p->poller = pl;
	p->cfg = cp;
	if (pl->loaded)
		memory_from_json(&p->mem, json_object_get(pl->loaded, cp->id));
	uv_timer_init(pl->d->loop, &p->timer);
	p->timer.data = p;
	return p;
}

int
poller_configure(struct poller *pl, const struct config *cfg)
{
	struct project *list = NULL, **tail = &list;
	size_t added = 0, removed = 0;

	pl->cfg = cfg;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		const struct cfg_project *cp = &cfg->projects[i];
		struct project *p = find_project(pl, cp->id);

		if (p) {
			for (struct project **pp = &pl->projects; *pp; pp = &(*pp)->next)
				if (*pp == p) {
					*pp = p->next;
					break;
				}
			p->cfg = cp;
		} else {
			p = project_new(pl, cp);
			if (!p) {
				/* keep what we have consistent: append the rest later */
				*tail = pl->projects;
				pl->projects = list;
				return -ENOMEM;
			}
			/* New projects are polled at once; all of them start
			 * together, so their requests run concurrently. */
			uv_timer_start(&p->timer, round_start, 0, 0);
			added++;
		}
		p->next = NULL;
		*tail = p;
		tail = &p->next;
	}
	while (pl->projects) {
		struct project *p = pl->projects;
		char *id = strdup(p->id);

		pl->projects = p->next;
		project_destroy(p);
		removed++;
		if (id && pl->hooks.on_removed)
			pl->hooks.on_removed(pl->hooks.ctx, id);
		free(id);
	}
	pl->projects = list;
	/* The loaded memory has served its purpose once projects exist. */
	json_decref(pl->loaded);
	pl->loaded = NULL;
	if (added || removed)
		log_info("polling %zu project%s (%zu added, %zu removed)", cfg->n_projects,
			 cfg->n_projects == 1 ? "" : "s", added, removed);
	return 0;
}

/* ---- one round ------------------------------------------------------- */

static void
schedule_next(struct project *p)
{
	struct poller *pl = p->poller;
	int64_t interval = pl->cfg->poll_interval * 1000;
	int64_t elapsed = util_now_mono_ms() - p->round_started_ms;
	int64_t delay = interval - elapsed;

	if (pl->hooks.once)
		return;
	uv_timer_start(&p->timer, round_start, (uint64_t)(delay > 0 ? delay : 0), 0);
}

static void
report(struct project *p, const struct atlas_fetch *fetch, const struct atlas_ear *ear)
{
	struct poller *pl = p->poller;
	struct findings f = {0};
	struct ear_memory next = {0};
	int r = 0;

	p->busy = false;
	util_free_secret(p->bearer);
	p->bearer = NULL;
	chk_atlas_access(fetch, &f);
	if (ear) {
		r = chk_ear(ear, p->cfg->expect_provider, &p->cfg->checks, &p->mem, util_now(), &f,
			    &next);
		if (r == 0) {
			ear_memory_free(&p->mem);
			p->mem = next;
			if (pl->d->azpoll)
				azpoll_ear(pl->d->azpoll, p->cfg, ear, &p->mem);
		} else {
			ear_memory_free(&next);
			log_err("project %s: cannot evaluate the EAR checks: %s", p->cfg->name,
				strerror(-r));
		}
		if (p->clusters_ok)
			r = chk_ear_clusters(&p->clusters, atlas_ear_enabled_provider(ear),
					     &p->cfg->checks, &f);
		if (r == 0)
			r = chk_ear_role(ear, p->cpa_ok ? &p->cpa : NULL, &p->cfg->checks, &f);
		if (r < 0)
			log_err("project %s: cannot evaluate the cluster and role checks: %s",
				p->cfg->name, strerror(-r));
	}
	p->done = true;
	schedule_next(p);
	pl->hooks.on_result(pl->hooks.ctx, p->cfg, &f);
	findings_free(&f);
	extras_clear(p);
}

static const struct atlas_fetch fetch_ok = {.outcome = ATLAS_FETCH_OK, .http_status = 200};

/* Both extra reads are done (or were not needed): judge the round. */
static void
extras_done(struct project *p)
{
	if (p->launching || p->clusters_req || p->cpa_req)
		return;
	if (!p->extra_failed_now && p->extra_failed_logged) {
		log_notice("project %s: clusters and Cloud Provider Access are readable again",
			   p->cfg->name);
		p->extra_failed_logged = false;
	}
	report(p, &fetch_ok, &p->ear);
}

static void
extra_failed(struct project *p, const char *what, const struct http_response *resp,
	     const char *error)
{
	/* atlas.access speaks for the EAR read; these reads only feed
	 * ear.clusters and ear.role, which keep their state meanwhile. Say it
	 * once until it works again, not every poll. */
	p->extra_failed_now = true;
	if (!p->extra_failed_logged)
		log_warn("project %s: cannot read %s from Atlas (%s%s%ld); ear.clusters/ear.role "
			 "keep their last state",
			 p->cfg->name, what, error ? error : resp && resp->curl_code ? resp->error : "",
			 error || (resp && resp->curl_code) ? "" : "HTTP ",
			 error || (resp && resp->curl_code) ? 0L : resp->status);
	p->extra_failed_logged = true;
}

static void start_clusters(struct project *p);

static void
on_clusters(void *ctx, const struct http_response *resp, const char *error)
{
	struct project *p = ctx;
	struct atlas_clusters page = {0};
	char err[200];
	bool more;

	p->clusters_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200) {
		extra_failed(p, "the clusters", resp, error);
		atlas_clusters_free(&p->clusters);
		memset(&p->clusters, 0, sizeof(p->clusters));
		extras_done(p);
		return;
	}
	if (atlas_parse_clusters(resp->body, resp->body_len, &page, err, sizeof(err)) < 0) {
		extra_failed(p, "the clusters", NULL, err);
		extras_done(p);
		return;
	}
	more = atlas_clusters_more(&page, p->clusters_page, ATLAS_CLUSTERS_MAX_PER_PAGE);
	if (atlas_clusters_merge(&p->clusters, &page) < 0) {
		atlas_clusters_free(&page);
		extra_failed(p, "the clusters", NULL, "out of memory");
		extras_done(p);
		return;
	}
	if (more && p->clusters_page < ATLAS_CLUSTERS_MAX_PAGES) {
		p->clusters_page++;
		start_clusters(p);
		return;
	}
	p->clusters_ok = true;
	extras_done(p);
}

static void
on_cpa(void *ctx, const struct http_response *resp, const char *error)
{
	struct project *p = ctx;
	char err[200];

	p->cpa_req = NULL;
	if (!resp || resp->curl_code || resp->status != 200)
		extra_failed(p, "Cloud Provider Access", resp, error);
	else if (atlas_parse_cloud_provider_access(resp->body, resp->body_len, &p->cpa, err,
						   sizeof(err)) < 0)
		extra_failed(p, "Cloud Provider Access", NULL, err);
	else
		p->cpa_ok = true;
	extras_done(p);
}

static void
start_clusters(struct project *p)
{
	char *url = atlas_clusters_url(p->poller->cfg->atlas.base_url, p->id, p->clusters_page,
				       ATLAS_CLUSTERS_MAX_PER_PAGE);

	if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2024_08_05, on_clusters, p,
				 &p->clusters_req) < 0)
		extra_failed(p, "the clusters", NULL, "out of memory");
	free(url);
}

/* The EAR state is in: read what ear.clusters and ear.role need, then
 * report. */
static void
start_extras(struct project *p)
{
	const struct cfg_checks *ck = &p->cfg->checks;

	p->extra_failed_now = false;
	p->launching = true;
	if (ck->enabled[CHK_EAR_CLUSTERS]) {
		p->clusters_page = 1;
		start_clusters(p);
	}
	if (ck->enabled[CHK_EAR_ROLE] && atlas_ear_role_id(&p->ear)) {
		char *url = atlas_cpa_url(p->poller->cfg->atlas.base_url, p->id);

		if (!url || atlasreq_get(p->poller->d, url, ATLAS_MEDIA_2023_01_01, on_cpa, p,
					 &p->cpa_req) < 0)
			extra_failed(p, "Cloud Provider Access", NULL, "out of memory");
		free(url);
	}
	p->launching = false;
	extras_done(p);
}

static bool
transient_status(long status)
{
	return status == 429 || status == 408 || status >= 500;
}

static void
on_retry(uv_timer_t *t)
{
	send_request(t->data);
}

/* Retry within the round, or give up and report. */
static void
retry_or_report(struct project *p, const struct atlas_fetch *fetch, int64_t retry_after_s)
{
	int64_t delay;

	if (p->attempt >= POLL_RETRIES) {
		struct atlas_fetch f = *fetch;

		f.retries = p->attempt;
		report(p, &f, NULL);
		return;
	}
	delay = backoff_next_ms(p->attempt, retry_after_s, RETRY_BASE_MS, RETRY_MAX_MS,
				util_random_u32());
	p->attempt++;
	if (fetch->outcome == ATLAS_FETCH_HTTP)
		log_info("project %s: Atlas answered HTTP %d; retry %u/%u in %lldms", p->cfg->name,
			 fetch->http_status, p->attempt, POLL_RETRIES, (long long)delay);
	else
		log_info("project %s: %s; retry %u/%u in %lldms", p->cfg->name, fetch->detail,
			 p->attempt, POLL_RETRIES, (long long)delay);
	util_free_secret(p->bearer);
	p->bearer = NULL;
	uv_timer_start(&p->timer, on_retry, (uint64_t)delay, 0);
}

static void
on_ear(void *ctx, const struct http_response *resp)
{
	struct project *p = ctx;
	struct atlas_fetch fetch = {0};
	struct atlas_error apierr;
	struct atlas_ear ear = {0};
	char err[200] = "";

	p->xfer = NULL;
	fetch.http_status = (int)resp->status;
	if (resp->curl_code != 0) {
		fetch.outcome = ATLAS_FETCH_TRANSPORT;
		snprintf(fetch.detail, sizeof(fetch.detail), "%s", resp->error);
		retry_or_report(p, &fetch, -1);
		return;
	}
	if (resp->status == 401 && p->bearer && !p->auth_retried) {
		/* Tokens can be revoked before they expire: fetch a new one
		 * once, then believe the 401. */
		auth_invalidate(p->poller->d->auth, p->bearer);
		p->auth_retried = true;
		util_free_secret(p->bearer);
		p->bearer = NULL;
		send_request(p);
		return;
	}
	if (resp->status != 200) {
		fetch.outcome = ATLAS_FETCH_HTTP;
		if (atlas_parse_error(resp->body, resp->body_len, &apierr) == 0)
			fetch.error = &apierr;
		if (transient_status(resp->status))
			retry_or_report(p, &fetch, resp->retry_after_s);
		else
			report(p, &fetch, NULL);
		return;
	}
	if (atlas_parse_ear(resp->body, resp->body_len, &ear, err, sizeof(err)) < 0) {
		fetch.outcome = ATLAS_FETCH_BAD_BODY;
		snprintf(fetch.detail, sizeof(fetch.detail), "%s", err);
		report(p, &fetch, NULL);
		return;
	}
	p->ear = ear;
	p->have_ear = true;
	start_extras(p);
}

static void
submit_ear(struct project *p)
{
	const struct config *cfg = p->poller->cfg;
	static const char *const headers[] = {"Accept: " ATLAS_MEDIA_2023_01_01, NULL};
	char *url = atlas_ear_url(cfg->atlas.base_url, p->id);
	struct http_request req = {
		.url = url,
		.headers = headers,
		.ca_file = cfg->atlas.ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = cfg->http.max_response_bytes,
	};
	int r;

	if (cfg->atlas.auth == ATLAS_AUTH_API_KEY) {
		req.digest_user = cfg->atlas.public_key;
		req.digest_password = cfg->atlas.private_key.value;
	} else {
		req.bearer = p->bearer;
	}
	r = url ? http_submit(p->poller->d->http, &req, on_ear, p, &p->xfer) : -ENOMEM;
	free(url);
	if (r < 0) {
		struct atlas_fetch fetch = {.outcome = ATLAS_FETCH_TRANSPORT};

		snprintf(fetch.detail, sizeof(fetch.detail), "cannot start the request: %s",
			 strerror(-r));
		retry_or_report(p, &fetch, -1);
	}
}

static void
on_token(void *ctx, const char *token, long status, const char *detail, int64_t retry_after_s)
{
	struct project *p = ctx;
	struct atlas_fetch fetch = {0};

	p->waiter = NULL;
	if (token) {
		p->bearer = strdup(token);
		if (p->bearer) {
			submit_ear(p);
			return;
		}
		detail = "out of memory";
	}
	fetch.outcome = ATLAS_FETCH_AUTH;
	fetch.http_status = (int)status;
	snprintf(fetch.detail, sizeof(fetch.detail), "%s", detail ? detail : "token request failed");
	if (status == 0 || transient_status(status))
		retry_or_report(p, &fetch, retry_after_s);
	else
		report(p, &fetch, NULL);
}

static void
send_request(struct project *p)
{
	struct poller *pl = p->poller;
	int r;

	if (pl->cfg->atlas.auth == ATLAS_AUTH_API_KEY) {
		submit_ear(p);
		return;
	}
	/* on_token may run synchronously (cached token) */
	r = auth_get_token(pl->d->auth, on_token, p, &p->waiter);
	if (r < 0) {
		struct atlas_fetch fetch = {.outcome = ATLAS_FETCH_AUTH};

		snprintf(fetch.detail, sizeof(fetch.detail), "cannot request a token: %s",
			 strerror(-r));
		retry_or_report(p, &fetch, -1);
	}
}

static void
round_start(uv_timer_t *t)
{
	struct project *p = t->data;

	p->busy = true;
	p->attempt = 0;
	p->auth_retried = false;
	p->round_started_ms = util_now_mono_ms();
	send_request(p);
}

/* ---- memory and stats -------------------------------------------------- */

int
poller_save_memory(const struct poller *pl, char **json, size_t *len)
{
	json_t *projects = json_object();

	if (!projects)
		return -ENOMEM;
	for (const struct project *p = pl->projects; p; p = p->next) {
		json_t *o = json_object();

		if (!o)
			continue;
		if (p->mem.fingerprint)
			json_object_set_new(o, "fingerprint", json_string(p->mem.fingerprint));
		if (p->mem.key_id)
			json_object_set_new(o, "key_id", json_string(p->mem.key_id));
		if (p->mem.key_first_seen)
			json_object_set_new(o, "key_first_seen",
					    json_integer(p->mem.key_first_seen));
		json_object_set_new(projects, p->id, o);
	}
	return store_projects_dump(projects, json, len);
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
	*projects = *busy = 0;
	*next_ms = -1;
	for (const struct project *p = pl->projects; p; p = p->next) {
		(*projects)++;
		if (p->busy)
			(*busy)++;
		else if (uv_is_active((uv_handle_t *)&p->timer)) {
			int64_t due = (int64_t)uv_timer_get_due_in(&p->timer);

			if (*next_ms < 0 || due < *next_ms)
				*next_ms = due;
		}
	}
}

bool
poller_all_done(const struct poller *pl)
{
	for (const struct project *p = pl->projects; p; p = p->next)
		if (!p->done)
			return false;
	return true;
}
