/* SPDX-License-Identifier: ISC */
/*
 * fetch — see fetch.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "daemon.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS 60000
#define MAX_HEADERS 16

struct fetch {
	struct daemon *d;
	fetch_fn fn;
	void *ctx;
	unsigned max_retries, retries;
	fetch_transient_fn also_transient;
	struct http_request req;  /* strings below are owned copies */
	char *headers[MAX_HEADERS + 1];
	struct http_transfer *xfer;
	uv_timer_t timer;
};

static void
wipe(char **s)
{
	util_free_secret(*s);
	*s = NULL;
}

static void
on_closed(uv_handle_t *h)
{
	struct fetch *f = h->data;
	char **strs[] = {
		(char **)&f->req.method, (char **)&f->req.url, (char **)&f->req.body,
		(char **)&f->req.digest_user, (char **)&f->req.digest_password,
		(char **)&f->req.basic_user, (char **)&f->req.basic_password,
		(char **)&f->req.bearer, (char **)&f->req.ca_file, (char **)&f->req.connect_to,
		(char **)&f->req.aws_sigv4, (char **)&f->req.aws_key_id, (char **)&f->req.aws_secret,
	};

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		wipe(strs[i]);
	for (size_t i = 0; f->headers[i]; i++)
		wipe(&f->headers[i]);
	free(f);
}

static void
destroy(struct fetch *f)
{
	if (f->xfer)
		http_cancel(f->xfer);
	f->xfer = NULL;
	uv_timer_stop(&f->timer);
	uv_close((uv_handle_t *)&f->timer, on_closed);
}

void
fetch_cancel(struct fetch *f)
{
	if (f)
		destroy(f);
}

bool
fetch_transient(const struct http_response *resp)
{
	return resp->curl_code != 0 ? !resp->too_large
				    : resp->status == 408 || resp->status == 429 ||
					      resp->status >= 500;
}

static void send_now(struct fetch *f);

static void
on_timer(uv_timer_t *t)
{
	send_now(t->data);
}

static void
on_done(void *ctx, const struct http_response *resp)
{
	struct fetch *f = ctx;

	f->xfer = NULL;
	if ((fetch_transient(resp) ||
	     (f->also_transient && resp->curl_code == 0 && f->also_transient(resp))) &&
	    f->retries < f->max_retries) {
		int64_t delay = backoff_next_ms(f->retries, resp->retry_after_s, RETRY_BASE_MS,
						RETRY_MAX_MS, util_random_u32());

		f->retries++;
		/* URLs carry no secrets (credentials go in headers) */
		if (resp->curl_code != 0)
			log_info("%s %s: %s; retry %u/%u in %lldms",
				 f->req.method ? f->req.method : "GET", f->req.url, resp->error,
				 f->retries, f->max_retries, (long long)delay);
		else
			log_info("%s %s: HTTP %ld; retry %u/%u in %lldms",
				 f->req.method ? f->req.method : "GET", f->req.url, resp->status,
				 f->retries, f->max_retries, (long long)delay);
		uv_timer_start(&f->timer, on_timer, (uint64_t)delay, 0);
		return;
	}
	/* The callback may start other fetches; this one is finished. */
	f->fn(f->ctx, resp, f->retries);
	destroy(f);
}

static void
send_now(struct fetch *f)
{
	int r = http_submit(f->d->http, &f->req, on_done, f, &f->xfer);

	if (r < 0) {
		struct http_response resp = {.curl_code = -1, .retry_after_s = -1};

		snprintf(resp.error, sizeof(resp.error), "cannot start the request: %s",
			 strerror(-r));
		resp.body = "";
		f->fn(f->ctx, &resp, f->retries);
		destroy(f);
	}
}

static int
dup_field(const char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int
fetch_start(struct daemon *d, const struct http_request *req, unsigned max_retries,
	    fetch_fn fn, void *ctx, struct fetch **out)
{
	return fetch_start_ex(d, req, max_retries, NULL, fn, ctx, out);
}

int
fetch_start_ex(struct daemon *d, const struct http_request *req, unsigned max_retries,
	       fetch_transient_fn also_transient, fetch_fn fn, void *ctx, struct fetch **out)
{
	struct fetch *f = calloc(1, sizeof(*f));
	size_t n = 0;
	int r = 0;

	if (out)
		*out = NULL;
	if (!f)
		return -ENOMEM;
	f->d = d;
	f->fn = fn;
	f->ctx = ctx;
	f->max_retries = max_retries;
	f->also_transient = also_transient;
	f->req = *req;
	f->req.method = f->req.url = f->req.body = NULL;
	f->req.digest_user = f->req.digest_password = f->req.basic_user = NULL;
	f->req.basic_password = f->req.bearer = f->req.ca_file = f->req.connect_to = NULL;
	f->req.aws_sigv4 = f->req.aws_key_id = f->req.aws_secret = NULL;
	uv_timer_init(d->loop, &f->timer);
	f->timer.data = f;
	if (dup_field(&f->req.method, req->method) < 0 || dup_field(&f->req.url, req->url) < 0 ||
	    dup_field(&f->req.digest_user, req->digest_user) < 0 ||
	    dup_field(&f->req.digest_password, req->digest_password) < 0 ||
	    dup_field(&f->req.basic_user, req->basic_user) < 0 ||
	    dup_field(&f->req.basic_password, req->basic_password) < 0 ||
	    dup_field(&f->req.bearer, req->bearer) < 0 || dup_field(&f->req.ca_file, req->ca_file) < 0 ||
	    dup_field(&f->req.connect_to, req->connect_to) < 0 ||
	    dup_field(&f->req.aws_sigv4, req->aws_sigv4) < 0 ||
	    dup_field(&f->req.aws_key_id, req->aws_key_id) < 0 ||
	    dup_field(&f->req.aws_secret, req->aws_secret) < 0)
		r = -ENOMEM;
	if (r == 0 && req->body) {
		char *b = malloc(req->body_len + 1);

		if (b) {
			memcpy(b, req->body, req->body_len);
			b[req->body_len] = '\0';
		}
		f->req.body = b;
		if (!b)
			r = -ENOMEM;
	}
	for (const char *const *h = req->headers; h && *h && r == 0; h++) {
		if (n == MAX_HEADERS) {
			r = -E2BIG;
			break;
		}
		if (!(f->headers[n++] = strdup(*h)))
			r = -ENOMEM;
	}
	f->req.headers = (const char *const *)f->headers;
	if (r == 0)
		r = http_submit(d->http, &f->req, on_done, f, &f->xfer);
	if (r < 0) {
		/* no callback for a fetch that never started */
		destroy(f);
		return r;
	}
	if (out)
		*out = f;
	return 0;
}
