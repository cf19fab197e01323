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
#include "sharedget.h"
#include "util.h"

struct sharedget_waiter {
	struct sharedget_waiter *next;
	atlasreq_fn fn;
	void *ctx;
};

struct sharedget {
	struct daemon *d;
	char *url;
	char *accept;
	unsigned flags;
	struct atlasreq *inflight;
	struct sharedget_waiter *waiters;    /* wait for the read in flight */
	struct sharedget_waiter *delivering; /* being told its answer now */
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
	*out = s;
	return 0;
}

static void
free_list(struct sharedget_waiter *w)
{
	while (w) {
		struct sharedget_waiter *next = w->next;

		free(w);
		w = next;
	}
}

void
sharedget_free(struct sharedget *s)
{
	if (!s)
		return;
	atlasreq_cancel(s->inflight);
	free_list(s->waiters);
	free_list(s->delivering);
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
on_read(void *ctx, const struct atlasreq_result *res)
{
	struct sharedget *s = ctx;
	const struct http_response *resp = res->resp;

	s->inflight = NULL;
	s->reads++;
	if (resp && resp->curl_code == 0 && resp->status >= 200 && resp->status < 300)
		remember(s, resp);
	/* One at a time off a list that sharedget_cancel can still reach: a
	 * callback may cancel another waiter, or ask again (then it waits for
	 * a read of its own). */
	s->delivering = s->waiters;
	s->waiters = NULL;
	while (s->delivering) {
		struct sharedget_waiter *w = s->delivering;

		s->delivering = w->next;
		w->fn(w->ctx, res);
		free(w);
	}
}

int
sharedget_get(struct sharedget *s, int64_t fresh_ms, atlasreq_fn fn, void *ctx,
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
		struct atlasreq_result res = {.resp = &resp};

		snprintf(resp.content_type, sizeof(resp.content_type), "%s", s->content_type);
		fn(ctx, &res);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	w->next = s->waiters;
	s->waiters = w;
	if (!s->inflight) {
		unsigned reads = s->reads;
		int r = atlasreq_get(s->d, s->url, s->accept, s->flags, on_read, s, &s->inflight);

		if (r < 0) {
			s->waiters = w->next;
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
	struct sharedget_waiter **lists[] = {&s->waiters, &s->delivering};

	if (!w)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (struct sharedget_waiter **p = lists[i]; *p; p = &(*p)->next)
			if (*p == w) {
				*p = w->next;
				free(w);
				return;
			}
}
