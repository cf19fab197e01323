/* SPDX-License-Identifier: ISC */
/*
 * selfcred — see selfcred.h. A round is: learn the organization when it is
 * not known (the orgId of the projects discover: lists, else GET
 * /groups/{id} of up to SELFCRED_GROUP_TRIES configured projects, each
 * round going on where the last stopped, until one answers), then read
 * the service account, then judge (chk_atlas_credential_expiry) and hand
 * the findings to the alert engine.
 * A transient failure (network, 5xx, 429, no token, a malformed answer)
 * keeps the last verdict and is logged once until a read works again.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "alerts.h"
#include "atlas.h"
#include "atlas_checks.h"
#include "atlasreq.h"
#include "config.h"
#include "crypto.h"
#include "daemon.h"
#include "discover.h"
#include "http.h"
#include "log.h"
#include "selfcred.h"
#include "util.h"

struct selfcred {
	struct daemon *d;
	const struct config *cfg;
	uv_timer_t *timer; /* allocated: its close callback frees it */
	struct restreq *req;
	bool applies;
	bool said_not_applicable;
	bool failing;       /* a transient failure was logged; say when it ends */
	char fp[2 * CRYPTO_SHA256_LEN + 1]; /* of what the check depends on */
	char *org_id;       /* configured or learnt; NULL: not known yet */
	bool org_learnt;
	size_t next_group;  /* the next project to ask for the organization */
	size_t groups_asked; /* this round */
	selfcred_once_fn once_fn; /* --once: where verdicts go */
	void *once_ctx;
	bool once_done;
	char group_error[512];
	bool awaiting_listing; /* nothing to ask yet: discover: lists first */
	bool no_org;           /* the last round knew of no project to ask */
	struct cred_memory mem;
};

/* Projects asked for the organization in one round. Projects the
 * account cannot read answer one after another, so asking all of them
 * would put thousands of requests in series (and hold --once) to learn
 * one id; atlas.org_id saves even these. */
enum { SELFCRED_GROUP_TRIES = 3 };

static void start_round(struct selfcred *s);

/* The findings of one round, to the alert engine's self scope. */
static void
observe(struct selfcred *s, const struct findings *f)
{
	struct daemon *d = s->d;
	struct alert_policy pol = daemon_alert_policy(d);
	struct alert_events evs = {0};
	int r;

	r = alerts_observe_self(d->alerts, s->org_id, f, &pol, util_now(), &evs);
	if (r < 0)
		log_err("atlas.credential_expiry: cannot update alerts: %s", strerror(-r));
	daemon_emit(d, &evs);
	daemon_observed(d, evs.n > 0);
	alert_events_free(&evs);
}

static void
drop_alerts(struct selfcred *s, const char *why)
{
	struct daemon *d = s->d;
	struct alert_events evs = {0};

	if (s->once_fn)
		return; /* --once keeps no alerts */
	if (alerts_drop_self(d->alerts, why, util_now(), &evs) < 0)
		log_err("atlas.credential_expiry: cannot resolve its alerts: out of memory");
	daemon_emit(d, &evs);
	if (evs.n > 0)
		daemon_observed(d, true);
	alert_events_free(&evs);
}

static void on_timer(uv_timer_t *t);

static void
schedule(struct selfcred *s, int64_t seconds)
{
	uv_timer_start(s->timer, on_timer, (uint64_t)seconds * 1000u, 0);
}

/* "HTTP 403 USER_UNAUTHORIZED: detail", the transport error, or why no
 * request could be made; never a secret. */
static void
describe(const struct restreq_result *res, char *buf, size_t len)
{
	const struct http_response *resp = res->resp;
	struct atlas_error ae;

	if (!resp)
		snprintf(buf, len, "%s", res->error ? res->error : "no request could be made");
	else if (resp->curl_code)
		snprintf(buf, len, "%s", resp->error);
	else if (atlas_parse_error(resp->body, resp->body_len, &ae) == 0)
		snprintf(buf, len, "HTTP %ld %s%s%s", resp->status, ae.error_code,
			 *ae.detail ? ": " : "", ae.detail);
	else
		snprintf(buf, len, "HTTP %ld", resp->status);
}

/* Network, throttling, server errors, no token: worth another try, and
 * no reason to change the verdict. */
static bool
transient(const struct restreq_result *res)
{
	const struct http_response *resp = res->resp;

	return !resp || resp->curl_code || resp->status == 408 || resp->status == 429 ||
	       resp->status >= 500;
}

static void
finish(struct selfcred *s, enum cred_failure failure, const struct atlas_sa *sa,
       const char *error)
{
	const struct config *cfg = s->cfg;
	struct cred_input in = {
		.client_id = cfg->atlas.client_id,
		.org_id = s->org_id,
		.sa = sa,
		.secret = cfg->atlas.client_secret.value,
		.failure = failure,
		.error = error,
	};
	struct findings f = {0};
	char dur[24];
	int r;

	util_format_duration(cfg->atlas.credential_interval, dur, sizeof(dur));
	s->no_org = failure == CRED_READ_NO_ORG;
	if (failure == CRED_READ_TRANSIENT) {
		if (!s->failing)
			log_warn("atlas.credential_expiry: cannot read service account %s%s%s: %s; "
				 "%s%s",
				 cfg->atlas.client_id, s->org_id ? " in organization " : "",
				 s->org_id ? s->org_id : "", error,
				 s->once_fn ? "no verdict" : "the last verdict stands, next try in ",
				 s->once_fn ? "" : dur);
		s->failing = true;
	} else if (s->failing) {
		log_notice("atlas.credential_expiry: service account %s read again",
			   cfg->atlas.client_id);
		s->failing = false;
	}
	r = chk_atlas_credential_expiry(&in, &s->mem, &cfg->checks, util_now(), &f, &s->mem);
	if (r < 0)
		log_err("atlas.credential_expiry: cannot judge the answer: %s", strerror(-r));
	if (s->once_fn) {
		/* --once: one read, and its verdict (or none) is final */
		s->once_done = true;
		s->once_fn(s->once_ctx, s->org_id, &f);
		findings_free(&f);
		return;
	}
	if (f.evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY])
		observe(s, &f);
	else
		daemon_observed(s->d, false); /* the memory may have changed */
	findings_free(&f);
	schedule(s, cfg->atlas.credential_interval);
}

static void
on_sa(void *ctx, const struct restreq_result *res)
{
	struct selfcred *s = ctx;
	const struct http_response *resp = res->resp;
	struct atlas_sa sa = {0};
	char err[400];

	s->req = NULL;
	if (resp && !resp->curl_code && resp->status == 200) {
		if (atlas_parse_service_account(resp->body, resp->body_len, &sa, err,
						sizeof(err)) < 0) {
			char why[440];

			snprintf(why, sizeof(why), "a malformed answer: %s", err);
			finish(s, CRED_READ_TRANSIENT, NULL, why);
			return;
		}
		finish(s, CRED_READ_OK, &sa, NULL);
		atlas_sa_free(&sa);
		return;
	}
	describe(res, err, sizeof(err));
	if (transient(res)) {
		finish(s, CRED_READ_TRANSIENT, NULL, err);
		return;
	}
	finish(s, resp->status == 404 ? CRED_READ_NOT_FOUND : CRED_READ_DENIED, NULL, err);
	/* a learnt organization may be the wrong one now: learn it again
	 * next round (after the verdict, which names the one asked) */
	if (s->org_learnt) {
		free(s->org_id);
		s->org_id = NULL;
		s->org_learnt = false;
	}
}

static void
start_sa(struct selfcred *s)
{
	const struct config *cfg = s->cfg;
	char *url = atlas_service_account_url(cfg->atlas.base_url, s->org_id, cfg->atlas.client_id);

	if (!url) {
		finish(s, errno == EINVAL ? CRED_READ_NOT_FOUND : CRED_READ_TRANSIENT, NULL,
		       errno == EINVAL ? "the client id is not one Atlas issues" : "out of memory");
		return;
	}
	if (atlasreq_get(s->d, url, ATLAS_MEDIA_2024_08_05, 0, on_sa, s, &s->req) < 0)
		finish(s, CRED_READ_TRANSIENT, NULL, "out of memory");
	free(url);
}

static void start_group(struct selfcred *s);

static void
on_group(void *ctx, const struct restreq_result *res)
{
	struct selfcred *s = ctx;
	const struct http_response *resp = res->resp;
	const char *gid = s->cfg->projects[s->next_group].id;
	char err[400], *org = NULL;

	s->req = NULL;
	if (resp && !resp->curl_code && resp->status == 200) {
		if (atlas_parse_group_org(resp->body, resp->body_len, &org, err, sizeof(err)) == 0) {
			s->org_id = org;
			s->org_learnt = true;
			log_info("atlas.credential_expiry: service account %s is in organization %s "
				 "(of project %s)",
				 s->cfg->atlas.client_id, org, gid);
			start_sa(s);
			return;
		}
		snprintf(s->group_error, sizeof(s->group_error), "project %s: a malformed answer: %s",
			 gid, err);
	} else {
		describe(res, err, sizeof(err));
		snprintf(s->group_error, sizeof(s->group_error), "project %s: %s", gid, err);
	}
	s->next_group++;
	s->groups_asked++;
	start_group(s);
}

static void
start_group(struct selfcred *s)
{
	const struct config *cfg = s->cfg;
	char *url;

	if (s->next_group >= cfg->n_projects)
		s->next_group = 0; /* the round began past the first project */
	if (cfg->n_projects == 0 || s->groups_asked >= SELFCRED_GROUP_TRIES ||
	    s->groups_asked >= cfg->n_projects) {
		char why[600];

		/* No project answered: each of them has its atlas.access alert
		 * already, which says kmswatch is blind; this is only logged. */
		if (cfg->n_projects == 0) {
			finish(s, CRED_READ_NO_ORG, NULL,
			       "no project is configured or discovered to learn it from");
			return;
		}
		snprintf(why, sizeof(why),
			 "no project told its organization (the last: %s); set atlas.org_id if "
			 "this lasts", s->group_error);
		finish(s, CRED_READ_TRANSIENT, NULL, why);
		return;
	}
	url = atlas_group_url(cfg->atlas.base_url, cfg->projects[s->next_group].id);
	if (!url || atlasreq_get(s->d, url, ATLAS_MEDIA_2023_01_01, 0, on_group, s, &s->req) < 0)
		finish(s, CRED_READ_TRANSIENT, NULL, "out of memory");
	free(url);
}

static void
start_round(struct selfcred *s)
{
	const char *listed;

	if (s->req || !s->applies || (s->once_fn && s->once_done))
		return;
	s->awaiting_listing = false;
	/* the projects discover: lists carry their orgId: no request */
	if (!s->org_id && (listed = discover_org_id(s->d->discover))) {
		if (!(s->org_id = strdup(listed))) {
			finish(s, CRED_READ_TRANSIENT, NULL, "out of memory");
			return;
		}
		s->org_learnt = true;
		log_info("atlas.credential_expiry: service account %s is in organization %s (of "
			 "the projects discover: lists)",
			 s->cfg->atlas.client_id, s->org_id);
	}
	if (s->org_id) {
		start_sa(s);
		return;
	}
	if (s->cfg->n_projects == 0 && discover_pending(s->d->discover)) {
		s->awaiting_listing = true; /* selfcred_listed() goes on */
		return;
	}
	/* next_group stays where the last round stopped: a round asks a
	 * few projects, the next round the following few */
	s->groups_asked = 0;
	s->group_error[0] = '\0';
	start_group(s);
}

static void
on_timer(uv_timer_t *t)
{
	start_round(t->data);
}

int
selfcred_new(struct daemon *d, selfcred_once_fn once_fn, void *ctx, struct selfcred **out)
{
	struct selfcred *s = calloc(1, sizeof(*s));

	if (!s || !(s->timer = calloc(1, sizeof(*s->timer)))) {
		free(s);
		return -ENOMEM;
	}
	s->d = d;
	s->once_fn = once_fn;
	s->once_ctx = ctx;
	uv_timer_init(d->loop, s->timer);
	s->timer->data = s;
	*out = s;
	return 0;
}

static void
on_timer_closed(uv_handle_t *h)
{
	free(h);
}

void
selfcred_free(struct selfcred *s)
{
	if (!s)
		return;
	restreq_cancel(s->req);
	uv_close((uv_handle_t *)s->timer, on_timer_closed);
	free(s->org_id);
	cred_memory_free(&s->mem);
	free(s);
}

/* What a read depends on: another credential, organization or endpoint
 * is read again at once (a reload that changed none of them keeps the
 * schedule). The secret enters only through SHA-256. */
static void
fingerprint(const struct config *cfg, bool applies, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	char secret[2 * CRYPTO_SHA256_LEN + 1] = "";
	const char *parts[6];
	unsigned char d[CRYPTO_SHA256_LEN];

	if (cfg->atlas.client_secret.value &&
	    crypto_sha256_hex(cfg->atlas.client_secret.value, secret) < 0)
		secret[0] = '\0';
	parts[0] = applies ? "on" : "off";
	parts[1] = cfg->atlas.base_url ? cfg->atlas.base_url : "";
	parts[2] = cfg->atlas.client_id ? cfg->atlas.client_id : "";
	parts[3] = secret;
	parts[4] = cfg->atlas.org_id ? cfg->atlas.org_id : "";
	parts[5] = cfg->atlas.ca_file ? cfg->atlas.ca_file : "";
	if (crypto_sha256_strings(parts, 6, d) < 0)
		memset(d, 0, sizeof(d)); /* ENOMEM: read again, to be safe */
	util_hex(d, sizeof(d), out);
	explicit_bzero(secret, sizeof(secret));
}

void
selfcred_configure(struct selfcred *s, const struct config *cfg)
{
	bool sa = cfg->atlas.auth == ATLAS_AUTH_SERVICE_ACCOUNT;
	bool on = check_on(&cfg->checks, CHK_ATLAS_CREDENTIAL_EXPIRY);
	char fp[sizeof(s->fp)];

	s->cfg = cfg;
	s->applies = sa && on;
	fingerprint(cfg, s->applies, fp);
	if (strcmp(fp, s->fp) == 0)
		return; /* nothing the check depends on changed: keep the schedule */
	memcpy(s->fp, fp, sizeof(fp));
	restreq_cancel(s->req);
	s->req = NULL;
	uv_timer_stop(s->timer);
	free(s->org_id);
	s->org_id = NULL;
	s->org_learnt = false;
	s->failing = false;
	if (!s->applies) {
		if (!sa && !s->said_not_applicable)
			log_info("atlas.credential_expiry does not apply: kmswatch uses an Atlas API "
				 "key, and API keys do not expire (service-account secrets do)");
		s->said_not_applicable = !sa;
		cred_memory_free(&s->mem);
		drop_alerts(s, sa ? "atlas.credential_expiry is switched off"
				  : "kmswatch no longer uses an Atlas service account");
		return;
	}
	s->said_not_applicable = false;
	if (cfg->atlas.org_id && !(s->org_id = util_strdup(cfg->atlas.org_id)))
		log_err("atlas.credential_expiry: out of memory");
	schedule(s, 0);
}

int
selfcred_save(const struct selfcred *s, char **json, size_t *len)
{
	json_t *mem = cred_memory_to_json(&s->mem);
	json_t *root = json_pack("{s:i, s:o*}", "version", 1, "memory", mem);

	if (!root)
		return -ENOMEM;
	*json = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	json_decref(root);
	if (!*json)
		return -ENOMEM;
	*len = strlen(*json);
	return 0;
}

int
selfcred_load(struct selfcred *s, const char *json, size_t len)
{
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL), *mem = NULL;
	json_int_t version = 0;
	int r = -EBADMSG;

	cred_memory_free(&s->mem);
	if (root && json_unpack(root, "{s:I, s?o}", "version", &version, "memory", &mem) == 0 &&
	    version == 1)
		r = cred_memory_from_json(json_is_null(mem) ? NULL : mem, &s->mem);
	json_decref(root);
	return r;
}

void
selfcred_listed(void *ctx)
{
	struct selfcred *s = ctx;

	/* a round waiting for the listing, or one that found no project to
	 * ask: the listing may have named the organization now */
	if (s && !s->org_id && (s->awaiting_listing || s->no_org))
		start_round(s);
}

bool
selfcred_idle(const struct selfcred *s)
{
	return !s || !s->applies || s->once_done;
}

bool
selfcred_expiry(const struct selfcred *s, time_t *expires_at, const char **secret_id)
{
	if (!s || !s->applies || !s->mem.secret_id ||
	    !util_streq(s->mem.client_id, s->cfg ? s->cfg->atlas.client_id : NULL))
		return false;
	*expires_at = s->mem.expires_at;
	if (secret_id)
		*secret_id = s->mem.secret_id;
	return true;
}
