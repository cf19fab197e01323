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

#define RESTREQ_MAX_HEADERS 4

struct restreq {
	struct daemon *d;
	restreq_fn fn;
	void *ctx;
	char *url, *accept, *ca_file, *connect_to;
	char *digest_user, *digest_password; /* the password is a secret */
	char *body, *aws_sigv4;
	size_t body_len;
	char *headers[RESTREQ_MAX_HEADERS];
	bool (*token_refused)(const struct http_response *resp);
	bool (*also_transient)(const struct http_response *resp);
	restreq_token_fn get_token;
	void *token_arg;
	const char *service;
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
	util_free_secret(q->body);
	free(q->aws_sigv4);
	for (size_t i = 0; i < RESTREQ_MAX_HEADERS; i++)
		free(q->headers[i]);
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
	if (resp->curl_code == 0 &&
	    (q->token_refused ? q->token_refused(resp) : resp->status == 401) && q->token &&
	    !q->retried_401) {
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

/* "AKID\nSECRET[\nSESSION]" -> its parts, pointing into a copy (freed by
 * the caller, a secret); the session token as a header line. */
static char *
split_credentials(const char *token, const char **akid, const char **secret, char **session_hdr)
{
	char *c = strdup(token), *nl, *nl2;

	*session_hdr = NULL;
	if (!c || !(nl = strchr(c, '\n'))) {
		util_free_secret(c);
		return NULL;
	}
	*nl = '\0';
	*akid = c;
	*secret = nl + 1;
	if ((nl2 = strchr(nl + 1, '\n'))) {
		*nl2 = '\0';
		if (!(*session_hdr = util_asprintf("X-Amz-Security-Token: %s", nl2 + 1))) {
			util_free_secret(c);
			return NULL;
		}
	}
	return c;
}

static void
submit(struct restreq *q)
{
	const struct config *cfg = q->d->cfg;
	const char *headers[RESTREQ_MAX_HEADERS + 3] = {q->accept};
	struct http_request req = {
		.url = q->url,
		.headers = headers,
		.ca_file = q->ca_file,
		.connect_to = q->connect_to,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = cfg->http.max_response_bytes,
		.digest_user = q->digest_user,
		.digest_password = q->digest_user ? q->digest_password : NULL,
		.service = q->service,
	};
	char why[128], *creds = NULL, *session = NULL;
	size_t n = 1;
	int r = 0;

	for (size_t i = 0; i < RESTREQ_MAX_HEADERS && q->headers[i]; i++)
		headers[n++] = q->headers[i];
	if (q->body) {
		req.method = "POST";
		req.body = q->body;
		req.body_len = q->body_len;
	}
	if (q->aws_sigv4 && q->token) {
		creds = split_credentials(q->token, &req.aws_key_id, &req.aws_secret, &session);
		req.aws_sigv4 = q->aws_sigv4;
		if (session)
			headers[n++] = session;
		if (!creds)
			r = -ENOMEM;
	} else {
		req.bearer = q->token;
	}
	if (r == 0)
		r = fetch_start_ex(q->d, &req, FETCH_RETRIES, q->also_transient, on_done, q,
				   &q->fetch);
	util_free_secret(creds);
	util_free_secret(session);
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
	q->token_refused = spec->token_refused;
	q->also_transient = spec->also_transient;
	q->service = spec->service;
	for (size_t i = 0; spec->headers && spec->headers[i]; i++)
		if (i == RESTREQ_MAX_HEADERS || !(q->headers[i] = strdup(spec->headers[i]))) {
			req_free(q);
			return i == RESTREQ_MAX_HEADERS ? -E2BIG : -ENOMEM;
		}
	if (spec->body) {
		if (!(q->body = malloc(spec->body_len + 1))) {
			req_free(q);
			return -ENOMEM;
		}
		memcpy(q->body, spec->body, spec->body_len);
		q->body[spec->body_len] = '\0';
		q->body_len = spec->body_len;
	}
	q->accept = util_asprintf("Accept: %s", spec->accept ? spec->accept : "application/json");
	if (!q->accept || dup_opt(spec->url, &q->url) < 0 || !q->url ||
	    dup_opt(spec->ca_file, &q->ca_file) < 0 ||
	    dup_opt(spec->connect_to, &q->connect_to) < 0 ||
	    dup_opt(spec->digest_user, &q->digest_user) < 0 ||
	    dup_opt(spec->digest_password, &q->digest_password) < 0 ||
	    dup_opt(spec->aws_sigv4, &q->aws_sigv4) < 0) {
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
