/* SPDX-License-Identifier: ISC */
/*
 * restreq — see restreq.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "fetch.h"
#include "http.h"
#include "restreq.h"
#include "tokens.h"
#include "util.h"

struct restreq {
	struct daemon *d;
	restreq_fn fn;
	void *ctx;
	char *url, *accept, *ca_file, *connect_to;
	char *digest_user, *digest_password; /* the password is a secret */
	restreq_token_fn get_token;
	void *token_arg;
	char *token;
	bool retried_401;
	struct token_waiter *waiter;
	struct fetch *fetch;
};

static void
req_free(struct restreq *q)
{
	util_free_secret(q->token);
	util_free_secret(q->digest_password);
	free(q->digest_user);
	free(q->url);
	free(q->accept);
	free(q->ca_file);
	free(q->connect_to);
	free(q);
}

void
restreq_cancel(struct restreq *q)
{
	if (!q)
		return;
	fetch_cancel(q->fetch);
	tokens_cancel(q->waiter);
	req_free(q);
}

static void send_req(struct restreq *q);

static void
finish(struct restreq *q, const struct restreq_result *res)
{
	q->fn(q->ctx, res);
	req_free(q);
}

static void
on_done(void *ctx, const struct http_response *resp, unsigned retries)
{
	struct restreq *q = ctx;
	struct restreq_result res = {.resp = resp, .retries = retries};

	q->fetch = NULL;
	if (resp->curl_code == 0 && resp->status == 401 && q->token && !q->retried_401) {
		/* a token can be revoked before it expires: one fresh try */
		tokens_invalidate(q->d->tokens, q->token);
		util_free_secret(q->token);
		q->token = NULL;
		q->retried_401 = true;
		send_req(q);
		return;
	}
	finish(q, &res);
}

static void
submit(struct restreq *q)
{
	const struct config *cfg = q->d->cfg;
	const char *headers[] = {q->accept, NULL};
	struct http_request req = {
		.url = q->url,
		.headers = headers,
		.ca_file = q->ca_file,
		.connect_to = q->connect_to,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = cfg->http.max_response_bytes,
		.bearer = q->token,
		.digest_user = q->digest_user,
		.digest_password = q->digest_user ? q->digest_password : NULL,
	};
	char why[128];
	int r;

	r = fetch_start(q->d, &req, FETCH_RETRIES, on_done, q, &q->fetch);
	if (r < 0) {
		struct restreq_result res = {.error = why};

		snprintf(why, sizeof(why), "cannot start the request: %s", strerror(-r));
		finish(q, &res);
	}
}

static void
on_token(void *ctx, const struct token_result *tr)
{
	struct restreq *q = ctx;
	struct restreq_result res = {
		.error = tr->detail ? tr->detail : "out of memory",
		.token_failed = true,
		.token_status = tr->status,
		.token_error = tr->error,
		.retries = tr->retries,
	};

	q->waiter = NULL;
	if (tr->token && (q->token = strdup(tr->token))) {
		submit(q);
		return;
	}
	finish(q, &res);
}

static void
send_req(struct restreq *q)
{
	struct restreq_result res = {.error = "cannot request a token: out of memory"};

	if (!q->get_token) {
		submit(q);
		return;
	}
	/* on_token may run (and free q) before this returns */
	if (q->get_token(q->token_arg, on_token, q, &q->waiter) < 0)
		finish(q, &res);
}

static int
dup_opt(const char *s, char **out)
{
	*out = NULL;
	return s && !(*out = strdup(s)) ? -ENOMEM : 0;
}

int
restreq_get(struct daemon *d, const struct restreq_spec *spec, restreq_fn fn, void *ctx,
	    struct restreq **out)
{
	struct restreq *q = calloc(1, sizeof(*q));

	if (out)
		*out = NULL;
	if (!q)
		return -ENOMEM;
	q->d = d;
	q->fn = fn;
	q->ctx = ctx;
	q->get_token = spec->get_token;
	q->token_arg = spec->token_arg;
	q->accept = util_asprintf("Accept: %s", spec->accept ? spec->accept : "application/json");
	if (!q->accept || dup_opt(spec->url, &q->url) < 0 || !q->url ||
	    dup_opt(spec->ca_file, &q->ca_file) < 0 ||
	    dup_opt(spec->connect_to, &q->connect_to) < 0 ||
	    dup_opt(spec->digest_user, &q->digest_user) < 0 ||
	    dup_opt(spec->digest_password, &q->digest_password) < 0) {
		req_free(q);
		return -ENOMEM;
	}
	/* The callback may run before this returns (a cached token and a
	 * request that cannot start): hand out the handle first. */
	if (out)
		*out = q;
	send_req(q);
	return 0;
}
