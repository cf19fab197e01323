/* SPDX-License-Identifier: ISC */
/*
 * sharedget — see sharedget.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "http.h"
#include "sharedget.h"
#include "util.h"
#include "waitlist.h"

struct sharedget_waiter {
	struct wait_link link;
	restreq_fn fn;
	void *ctx;
};

struct sharedget {
	struct daemon *d;
	char *url;
	char *accept;
	unsigned flags;
	struct restreq *inflight;
	struct waitlist waiters; /* for the read in flight */
	/* the last successful answer */
	char *body;
	size_t body_len;
	char content_type[128];
	long http_version;
	int64_t fetched_ms; /* monotonic */
	bool have;
	unsigned reads; /* answers delivered so far */
};

int
sharedget_new(struct daemon *d, const char *url, const char *accept, unsigned flags,
	      struct sharedget **out)
{
	struct sharedget *s = calloc(1, sizeof(*s));

	if (!s || !(s->url = strdup(url)) || !(s->accept = strdup(accept))) {
		if (s)
			free(s->url);
		free(s);
		return -ENOMEM;
	}
	s->d = d;
	s->flags = flags;
	waitlist_init(&s->waiters);
	*out = s;
	return 0;
}

void
sharedget_free(struct sharedget *s)
{
	if (!s)
		return;
	restreq_cancel(s->inflight);
	for (struct wait_link *l; (l = waitlist_pop(&s->waiters));)
		free(waitlist_entry(l, struct sharedget_waiter, link));
	free(s->body);
	free(s->url);
	free(s->accept);
	free(s);
}

const char *
sharedget_url(const struct sharedget *s)
{
	return s->url;
}

static void
remember(struct sharedget *s, const struct http_response *resp)
{
	char *body = malloc(resp->body_len + 1);

	/* without memory the answer is still delivered, just not kept */
	if (!body)
		return;
	memcpy(body, resp->body, resp->body_len);
	body[resp->body_len] = '\0';
	free(s->body);
	s->body = body;
	s->body_len = resp->body_len;
	snprintf(s->content_type, sizeof(s->content_type), "%s", resp->content_type);
	s->http_version = resp->http_version;
	s->fetched_ms = util_now_mono_ms();
	s->have = true;
}

static void
on_read(void *ctx, const struct restreq_result *res)
{
	struct sharedget *s = ctx;
	const struct http_response *resp = res->resp;

	s->inflight = NULL;
	s->reads++;
	if (resp && resp->curl_code == 0 && resp->status >= 200 && resp->status < 300)
		remember(s, resp);
	waitlist_deliver(&s->waiters);
	for (struct wait_link *l; (l = waitlist_next(&s->waiters));) {
		struct sharedget_waiter *w = waitlist_entry(l, struct sharedget_waiter, link);

		w->fn(w->ctx, res);
		free(w);
	}
}

int
sharedget_get(struct sharedget *s, int64_t fresh_ms, restreq_fn fn, void *ctx,
	      struct sharedget_waiter **out)
{
	struct sharedget_waiter *w;

	*out = NULL;
	if (s->have && util_now_mono_ms() - s->fetched_ms <= fresh_ms) {
		struct http_response resp = {
			.status = 200,
			.body = s->body,
			.body_len = s->body_len,
			.retry_after_s = -1,
			.http_version = s->http_version,
			.reused = true,
		};
		struct restreq_result res = {.resp = &resp};

		snprintf(resp.content_type, sizeof(resp.content_type), "%s", s->content_type);
		fn(ctx, &res);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	waitlist_add(&s->waiters, &w->link);
	if (!s->inflight) {
		unsigned reads = s->reads;
		int r = atlasreq_get(s->d, s->url, s->accept, s->flags, on_read, s, &s->inflight);

		if (r < 0) {
			waitlist_remove(&s->waiters, &w->link);
			free(w);
			return r;
		}
		/* the read could not start and said so at once: w is told
		 * and gone */
		if (s->reads != reads)
			return 0;
	}
	*out = w;
	return 0;
}

void
sharedget_cancel(struct sharedget *s, struct sharedget_waiter *w)
{
	if (w && waitlist_remove(&s->waiters, &w->link))
		free(w);
}
