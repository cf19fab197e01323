/*
 * atlasreq — see atlasreq.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atlasreq.h"
#include "auth.h"
#include "daemon.h"
#include "fetch.h"
#include "util.h"

struct atlasreq {
	struct daemon *d;
	atlasreq_fn fn;
	void *ctx;
	char *url;
	char accept[96];
	unsigned flags;
	char *token;
	bool retried_401;
	struct auth_waiter *waiter;
	struct fetch *fetch;
};

static void
req_free(struct atlasreq *q)
{
	util_free_secret(q->token);
	free(q->url);
	free(q);
}

void
atlasreq_cancel(struct atlasreq *q)
{
	if (!q)
		return;
	if (q->fetch)
		fetch_cancel(q->fetch);
	if (q->waiter)
		auth_cancel(q->d->auth, q->waiter);
	req_free(q);
}

static void send_req(struct atlasreq *q);

static void
finish(struct atlasreq *q, const struct atlasreq_result *res)
{
	q->fn(q->ctx, res);
	req_free(q);
}

static void
fail(struct atlasreq *q, const char *error)
{
	struct atlasreq_result res = {.error = error};

	finish(q, &res);
}

static void
on_done(void *ctx, const struct http_response *resp, unsigned retries)
{
	struct atlasreq *q = ctx;
	struct atlasreq_result res = {.resp = resp, .retries = retries};

	q->fetch = NULL;
	if (resp->curl_code == 0 && resp->status == 401 && q->token && !q->retried_401) {
		auth_invalidate(q->d->auth, q->token);
		util_free_secret(q->token);
		q->token = NULL;
		q->retried_401 = true;
		send_req(q);
		return;
	}
	finish(q, &res);
}

static void
submit(struct atlasreq *q)
{
	const struct config *cfg = q->d->cfg;
	const char *headers[] = {q->accept, NULL};
	struct http_request req = {
		.url = q->url,
		.headers = headers,
		.ca_file = cfg->atlas.ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = cfg->http.max_response_bytes,
		.bearer = q->token,
	};
	char why[128];
	int r;

	if (cfg->atlas.auth == ATLAS_AUTH_API_KEY && !(q->flags & ATLASREQ_UNAUTHENTICATED)) {
		req.digest_user = cfg->atlas.public_key;
		req.digest_password = cfg->atlas.private_key.value;
	}
	r = fetch_start(q->d, &req, FETCH_RETRIES, on_done, q, &q->fetch);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot start the request: %s", strerror(-r));
		fail(q, why);
	}
}

static void
on_token(void *ctx, const char *token, long status, const char *detail, unsigned retries)
{
	struct atlasreq *q = ctx;
	struct atlasreq_result res = {
		.error = detail ? detail : "out of memory",
		.token_failed = token == NULL,
		.token_status = status,
		.retries = retries,
	};

	q->waiter = NULL;
	if (token && (q->token = strdup(token))) {
		submit(q);
		return;
	}
	finish(q, &res);
}

static void
send_req(struct atlasreq *q)
{
	if (q->d->cfg->atlas.auth == ATLAS_AUTH_API_KEY || (q->flags & ATLASREQ_UNAUTHENTICATED)) {
		submit(q);
		return;
	}
	if (auth_get_token(q->d->auth, on_token, q, &q->waiter) < 0)
		fail(q, "cannot request an Atlas token: out of memory");
}

int
atlasreq_get(struct daemon *d, const char *url, const char *accept, unsigned flags,
	     atlasreq_fn fn, void *ctx, struct atlasreq **out)
{
	struct atlasreq *q = calloc(1, sizeof(*q));

	if (out)
		*out = NULL;
	if (!q || !(q->url = strdup(url))) {
		free(q);
		return -ENOMEM;
	}
	q->d = d;
	q->fn = fn;
	q->ctx = ctx;
	q->flags = flags;
	snprintf(q->accept, sizeof(q->accept), "Accept: %s", accept);
	/* The callback may run before this returns (a cached token and a
	 * request that cannot start): hand out the handle first. */
	if (out)
		*out = q;
	send_req(q);
	return 0;
}
