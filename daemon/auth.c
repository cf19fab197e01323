/*
 * auth — see auth.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "atlas.h"
#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "util.h"
#include "waitlist.h"

struct auth_waiter {
	struct wait_link link;
	auth_token_fn fn;
	void *ctx;
};

struct auth {
	struct daemon *d;
	const struct config *cfg;
	char *token;           /* wiped on drop */
	int64_t refresh_at_ms; /* monotonic: fetch anew from here on */
	struct fetch *fetch;
	struct waitlist waiters;
	char *fingerprint;     /* base URL + client id + hash of secret */
};

static int start_fetch(struct auth *a);
static void finish(struct auth *a, const char *token, long status, const char *detail,
		   unsigned retries);

int
auth_new(struct daemon *d, struct auth **out)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->d = d;
	waitlist_init(&a->waiters);
	*out = a;
	return 0;
}

static void
drop_token(struct auth *a)
{
	util_free_secret(a->token);
	a->token = NULL;
	a->refresh_at_ms = 0;
}

static void
drop_waiters(struct auth *a)
{
	for (struct wait_link *l; (l = waitlist_pop(&a->waiters));)
		free(waitlist_entry(l, struct auth_waiter, link));
}

void
auth_free(struct auth *a)
{
	if (!a)
		return;
	fetch_cancel(a->fetch);
	drop_waiters(a);
	drop_token(a);
	util_free_secret(a->fingerprint);
	free(a);
}

/* What identifies the credentials, so that a reload with the same ones
 * keeps the token. The secret goes in as is: the fingerprint is itself
 * treated as a secret (never logged, wiped). */
static char *
cred_fingerprint(const struct config *cfg)
{
	if (cfg->atlas.auth != ATLAS_AUTH_SERVICE_ACCOUNT)
		return NULL;
	return util_asprintf("%s\n%s\n%s", cfg->atlas.base_url, cfg->atlas.client_id,
			     cfg->atlas.client_secret.value ? cfg->atlas.client_secret.value : "");
}

void
auth_configure(struct auth *a, const struct config *cfg)
{
	char *fp = cred_fingerprint(cfg);

	a->cfg = cfg;
	if (!util_streq(fp, a->fingerprint)) {
		/* A fetch in flight used the old credentials: its answer would
		 * be for them. Restart it for the waiters. */
		drop_token(a);
		fetch_cancel(a->fetch);
		a->fetch = NULL;
		if (!waitlist_empty(&a->waiters) && cfg->atlas.auth == ATLAS_AUTH_SERVICE_ACCOUNT &&
		    start_fetch(a) < 0)
			finish(a, NULL, 0, "cannot start the token request (out of memory)", 0);
	}
	util_free_secret(a->fingerprint);
	a->fingerprint = fp;
}

static void
finish(struct auth *a, const char *token, long status, const char *detail, unsigned retries)
{
	waitlist_deliver(&a->waiters);
	for (struct wait_link *l; (l = waitlist_next(&a->waiters));) {
		struct auth_waiter *w = waitlist_entry(l, struct auth_waiter, link);

		w->fn(w->ctx, token, status, detail, retries);
		free(w);
	}
}

static void
on_token(void *ctx, const struct http_response *resp, unsigned retries)
{
	struct auth *a = ctx;
	char err[256] = "", detail[384];
	int64_t expires_in = 0, margin;
	char *token = NULL;
	int r;

	a->fetch = NULL;
	if (resp->curl_code != 0) {
		snprintf(detail, sizeof(detail), "token request to %s/api/oauth/token failed: %s",
			 a->cfg->atlas.base_url, resp->error);
		finish(a, NULL, 0, detail, retries);
		return;
	}
	r = atlas_parse_token(resp->body, resp->body_len, &token, &expires_in, err, sizeof(err));
	if (resp->status != 200 || r < 0) {
		if (resp->status == 200)
			snprintf(detail, sizeof(detail), "token endpoint answered 200 with an unusable body: %s",
				 err);
		else
			snprintf(detail, sizeof(detail), "token endpoint answered HTTP %ld%s%s", resp->status,
				 *err ? ": " : "", err);
		util_free_secret(token);
		finish(a, NULL, resp->status ? resp->status : 502, detail, retries);
		return;
	}
	/* Refresh shortly before expiry: a minute for normal lifetimes, a
	 * tenth of it for short ones. */
	margin = expires_in >= 600 ? 60 : expires_in / 10;
	drop_token(a);
	a->token = token;
	a->refresh_at_ms = util_now_mono_ms() + (expires_in - margin) * 1000;
	log_debug("atlas: new service-account token, valid %llds", (long long)expires_in);
	finish(a, a->token, 200, NULL, retries);
}

static int
start_fetch(struct auth *a)
{
	static const char *const headers[] = {
		"Accept: application/json",
		"Content-Type: application/x-www-form-urlencoded",
		NULL,
	};
	static const char body[] = "grant_type=client_credentials";
	char *url = atlas_token_url(a->cfg->atlas.base_url);
	struct http_request req = {
		.method = "POST",
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = sizeof(body) - 1,
		.basic_user = a->cfg->atlas.client_id,
		.basic_password = a->cfg->atlas.client_secret.value,
		.ca_file = a->cfg->atlas.ca_file,
		.connect_timeout_ms = a->cfg->http.connect_timeout_ms,
		.timeout_ms = a->cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
	int r = url ? fetch_start(a->d, &req, FETCH_RETRIES, on_token, a, &a->fetch) : -ENOMEM;

	free(url);
	return r;
}

int
auth_get_token(struct auth *a, auth_token_fn fn, void *ctx, struct auth_waiter **out)
{
	struct auth_waiter *w;

	if (out)
		*out = NULL;
	if (a->token && util_now_mono_ms() < a->refresh_at_ms) {
		fn(ctx, a->token, 200, NULL, 0);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	waitlist_add(&a->waiters, &w->link);
	if (!a->fetch) {
		int r = start_fetch(a);

		if (r < 0) {
			waitlist_remove(&a->waiters, &w->link);
			free(w);
			return r;
		}
	}
	if (out)
		*out = w;
	return 0;
}

void
auth_cancel(struct auth *a, struct auth_waiter *w)
{
	if (w && waitlist_remove(&a->waiters, &w->link))
		free(w);
}

void
auth_invalidate(struct auth *a, const char *token)
{
	if (a->token && token && strcmp(a->token, token) == 0)
		drop_token(a);
}
