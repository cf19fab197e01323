/* SPDX-License-Identifier: ISC */
/*
 * tokens — see tokens.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uthash.h>

#include "crypto.h"
#include "daemon.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "tokens.h"
#include "util.h"
#include "waitlist.h"

struct token_entry {
	UT_hash_handle hh;
	struct tokens *owner;
	const struct token_source *src;
	void *src_owner;
	char *key;   /* a secret: wiped */
	char *label; /* for messages */
	char *token; /* a secret: wiped */
	int64_t refresh_at_ms;
	struct fetch *fetch;
	unsigned step;  /* of a multi-request source's fetch */
	char *carry;    /* what it carries to the next request: a secret */
	struct waitlist waiters;
};

struct token_waiter {
	struct wait_link link;
	struct token_entry *entry;
	token_fn fn;
	void *ctx;
};

struct tokens {
	struct daemon *d;
	struct token_entry *by_key;
};

char *
tokens_key(const char *fmt, ...)
{
	char *desc = NULL, *key = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&desc, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	key = malloc(2 * CRYPTO_SHA256_LEN + 1);
	if (key && crypto_sha256_hex(desc, key) < 0) {
		free(key);
		key = NULL;
	}
	util_free_secret(desc);
	return key;
}

int
tokens_new(struct daemon *d, struct tokens **out)
{
	struct tokens *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->d = d;
	*out = t;
	return 0;
}

static void
drop_token(struct token_entry *e)
{
	util_free_secret(e->token);
	e->token = NULL;
	e->refresh_at_ms = 0;
}

static void
entry_free(struct token_entry *e)
{
	HASH_DEL(e->owner->by_key, e);
	fetch_cancel(e->fetch);
	for (struct wait_link *l; (l = waitlist_pop(&e->waiters));)
		free(waitlist_entry(l, struct token_waiter, link));
	drop_token(e);
	util_free_secret(e->carry);
	util_free_secret(e->key);
	free(e->label);
	free(e);
}

void
tokens_free(struct tokens *t)
{
	struct token_entry *e, *tmp;

	if (!t)
		return;
	HASH_ITER(hh, t->by_key, e, tmp)
		entry_free(e);
	free(t);
}

static void
deliver(struct token_entry *e, const struct token_result *res)
{
	waitlist_deliver(&e->waiters);
	for (struct wait_link *l; (l = waitlist_next(&e->waiters));) {
		struct token_waiter *w = waitlist_entry(l, struct token_waiter, link);

		w->fn(w->ctx, res);
		free(w);
	}
}

static int fetch_request(struct token_entry *e, const struct http_request *req,
			 struct token_scratch *sc, int r, char *why, size_t whylen);

static void
on_fetched(void *ctx, const struct http_response *resp, unsigned retries)
{
	struct token_entry *e = ctx;
	struct token_answer ans = {.step = e->step, .carry = e->carry};
	struct token_result res = {.retries = retries};
	int64_t margin;

	e->fetch = NULL;
	e->src->parse(e->src_owner, e->label, resp, &ans);
	if (ans.again && !ans.token) {
		/* the next request of a multi-request source */
		struct http_request req = {0};
		struct token_scratch sc = {0};
		char why[512];
		int r;

		util_free_secret(e->carry);
		e->carry = ans.next_carry;
		e->step++;
		r = e->src->build_next ? e->src->build_next(e->src_owner, e->step, e->carry, &req,
							    &sc, why, sizeof(why))
				       : -EINVAL;
		if (r < 0 && !e->src->build_next)
			snprintf(why, sizeof(why), "the %s source has no next request", e->label);
		if (fetch_request(e, &req, &sc, r, why, sizeof(why)) == 0)
			return;
		res.detail = why;
		deliver(e, &res);
		return;
	}
	util_free_secret(ans.next_carry);
	util_free_secret(e->carry);
	e->carry = NULL;
	e->step = 0;
	if (!ans.token) {
		res.status = ans.status;
		res.detail = ans.detail;
		res.error = ans.error;
		deliver(e, &res);
		free(ans.error);
		return;
	}
	/* Refresh shortly before expiry: what the source asks, else a minute
	 * for normal lifetimes, a tenth of it for short ones. */
	margin = ans.refresh_margin > 0 && ans.refresh_margin < ans.expires_in ? ans.refresh_margin
		 : ans.expires_in >= 600					 ? 60
										 : ans.expires_in / 10;
	drop_token(e);
	e->token = ans.token;
	e->refresh_at_ms = util_now_mono_ms() + (ans.expires_in - margin) * 1000;
	log_debug("%s: new %s, valid %llds (retries %u)", e->src->name, e->label,
		  (long long)ans.expires_in, retries);
	res.token = e->token;
	res.status = 200;
	deliver(e, &res);
}

/* Start the built request (r: what build returned); the scratch strings
 * are wiped either way. */
static int
fetch_request(struct token_entry *e, const struct http_request *req, struct token_scratch *sc,
	      int r, char *why, size_t whylen)
{
	if (r == 0) {
		struct http_request named = *req;

		/* token requests count for the service they are for */
		if (!named.service)
			named.service = e->src->name;
		r = fetch_start_ex(e->owner->d, &named, FETCH_RETRIES, e->src->also_transient,
				   on_fetched, e, &e->fetch);
		if (r < 0)
			snprintf(why, whylen, "cannot start the request for the %s: %s", e->label,
				 strerror(-r));
	}
	/* fetch copied what it needs */
	util_free_secret(sc->url);
	util_free_secret(sc->body);
	util_free_secret(sc->extra);
	util_free_secret(sc->keys);
	return r;
}

static int
start_fetch(struct token_entry *e, const void *arg, char *why, size_t whylen)
{
	struct http_request req = {0};
	struct token_scratch sc = {0};

	util_free_secret(e->carry);
	e->carry = NULL;
	e->step = 0;
	return fetch_request(e, &req, &sc, e->src->build(e->src_owner, arg, &req, &sc, why, whylen),
			     why, whylen);
}

int
tokens_get(struct tokens *t, const struct token_source *src, void *owner, const char *key,
	   const char *label, const void *arg, token_fn fn, void *ctx, struct token_waiter **out)
{
	struct token_entry *e;
	struct token_waiter *w;
	char why[512];

	if (out)
		*out = NULL;
	HASH_FIND_STR(t->by_key, key, e);
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return -ENOMEM;
		e->owner = t;
		e->src = src;
		e->src_owner = owner;
		waitlist_init(&e->waiters);
		if (!(e->key = strdup(key)) || !(e->label = strdup(label))) {
			util_free_secret(e->key);
			free(e);
			return -ENOMEM;
		}
		HASH_ADD_KEYPTR(hh, t->by_key, e->key, strlen(e->key), e);
	}
	if (e->token && util_now_mono_ms() < e->refresh_at_ms) {
		struct token_result res = {.token = e->token, .status = 200};

		fn(ctx, &res);
		return 0;
	}
	if (!(w = calloc(1, sizeof(*w))))
		return -ENOMEM;
	w->entry = e;
	w->fn = fn;
	w->ctx = ctx;
	waitlist_add(&e->waiters, &w->link);
	if (!e->fetch && start_fetch(e, arg, why, sizeof(why)) < 0) {
		struct token_result res = {.detail = why};

		waitlist_remove(&e->waiters, &w->link);
		free(w);
		fn(ctx, &res);
		return 0;
	}
	if (out)
		*out = w;
	return 0;
}

void
tokens_cancel(struct token_waiter *w)
{
	if (w && waitlist_remove(&w->entry->waiters, &w->link))
		free(w);
}

void
tokens_invalidate(struct tokens *t, const char *token)
{
	struct token_entry *e, *tmp;

	if (!token)
		return;
	/* a handful of entries: identities times audiences */
	HASH_ITER(hh, t->by_key, e, tmp)
		if (e->token && strcmp(e->token, token) == 0)
			drop_token(e);
}

void
tokens_drop_source(struct tokens *t, const struct token_source *src)
{
	struct token_entry *e, *tmp;

	HASH_ITER(hh, t->by_key, e, tmp)
		if (e->src == src)
			entry_free(e);
}

void
tokens_rekey(struct tokens *t, const char *old_key, const char *new_key, const void *arg)
{
	struct token_entry *e, *dup;
	char *key, why[512];

	if (!old_key)
		return;
	HASH_FIND_STR(t->by_key, old_key, e);
	if (!e)
		return;
	if (!new_key || !(key = strdup(new_key))) {
		/* no credentials any more (or no memory): nothing to wait for */
		struct token_result res = {.detail = "the credentials changed"};

		fetch_cancel(e->fetch);
		e->fetch = NULL;
		deliver(e, &res);
		entry_free(e);
		return;
	}
	/* A fetch in flight used the old credentials: its answer would be
	 * for them. Restart it for the waiters. */
	fetch_cancel(e->fetch);
	e->fetch = NULL;
	drop_token(e);
	HASH_FIND_STR(t->by_key, new_key, dup);
	if (dup) {
		/* back to credentials cached before: wait on that entry */
		for (struct wait_link *l; (l = waitlist_pop(&e->waiters));) {
			struct token_waiter *w = waitlist_entry(l, struct token_waiter, link);

			w->entry = dup;
			waitlist_add(&dup->waiters, &w->link);
		}
		util_free_secret(key);
		entry_free(e);
		e = dup;
		if (e->fetch || waitlist_empty(&e->waiters))
			return;
		if (e->token && util_now_mono_ms() < e->refresh_at_ms) {
			struct token_result res = {.token = e->token, .status = 200};

			deliver(e, &res);
			return;
		}
	} else {
		HASH_DEL(t->by_key, e);
		util_free_secret(e->key);
		e->key = key;
		HASH_ADD_KEYPTR(hh, t->by_key, e->key, strlen(e->key), e);
	}
	if (!waitlist_empty(&e->waiters) && start_fetch(e, arg, why, sizeof(why)) < 0) {
		struct token_result res = {.detail = why};

		deliver(e, &res);
	}
}

bool
tokens_no_answer(const struct http_response *resp, const char *label, struct token_answer *ans)
{
	if (resp->curl_code == 0)
		return false;
	snprintf(ans->detail, sizeof(ans->detail), "cannot get the %s: %s", label, resp->error);
	return true;
}

void
tokens_bad_answer(const struct http_response *resp, const char *label, const char *err,
		  struct token_answer *ans)
{
	snprintf(ans->detail, sizeof(ans->detail), "cannot get the %s: HTTP %ld%s%s", label,
		 resp->status, err && *err ? ", " : "", err ? err : "");
}
