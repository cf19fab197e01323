/* SPDX-License-Identifier: ISC */
/*
 * http — libcurl's multi interface driven by the libuv loop
 * (curl_multi_socket_action, as in curl's docs/examples/multi-uv.c).
 *
 * This module owns:
 * - the one CURLM of the client, and with it libcurl's connection and DNS
 *   caches, plus a CURLSH that shares TLS session IDs between transfers, so
 *   a new connection to a known host can resume instead of a full handshake;
 * - the one uv_timer_t that CURLMOPT_TIMERFUNCTION drives;
 * - one uv_poll_t per socket libcurl asks us to watch (struct http_sock),
 *   bound to the socket with curl_multi_assign and found again through the
 *   socketp pointer libcurl hands back, never by fd number: fds are reused;
 * - a uv_idle_t that delivers completions which must not run inside
 *   http_submit or inside a libcurl callback;
 * - every struct http_transfer: its easy handle, header list, POST body and
 *   response buffer.
 *
 * Transfers beyond max_concurrent wait in a FIFO here, not inside libcurl,
 * so CURLOPT_TIMEOUT_MS (which starts when the handle enters the multi)
 * measures the transfer and not the wait for a slot. Priority transfers
 * (notifications) have a FIFO of their own that is served first: an alert
 * does not wait behind the reads of a poll cycle over many projects.
 *
 * Re-entrancy. libcurl callbacks (socket, timer, write, header) only touch
 * our own state and libuv; they never call the multi API (libcurl would
 * answer CURLM_RECURSIVE_API_CALL) and never run user code. User callbacks
 * run only from our own libuv callbacks, after the transfer left every list,
 * and may submit, cancel or close the client; every loop that calls user code
 * re-reads list heads after each call and stops once the client is closing.
 *
 * Secrets. libcurl copies USERNAME, PASSWORD and XOAUTH2_BEARER at setopt
 * time and frees its copies unwiped in curl_easy_cleanup; there is no hook
 * to wipe them. http.c keeps no copy of those. What it does own and may carry
 * a secret (a POST body with a client_secret, header strings, a response
 * holding an access token) is wiped with explicit_bzero before it is freed.
 * CURLOPT_VERBOSE is never set and nothing here logs.
 */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h" /* autoconf's; "config.h" is lib/config.h */
#endif

#include <sys/queue.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

#include "http.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION undefined: build with autoconfig.h (HAVE_CONFIG_H) or -DPACKAGE_VERSION"
#endif

#define HTTP_USER_AGENT "kmswatchd/" PACKAGE_VERSION
#define HTTP_CONNECT_TIMEOUT_MS 10000
#define HTTP_TIMEOUT_MS 30000
#define HTTP_MAX_RESPONSE ((size_t)4 << 20)
#define HTTP_BODY_MIN_CAP 4096

enum xfer_state {
	XFER_QUEUED,   /* in c->queue or c->queue_first, easy handle configured,
			* not in the multi */
	XFER_ACTIVE,   /* in c->active and in the multi */
	XFER_DEFERRED, /* in c->deferred, fails from the idle callback */
	XFER_CALLING,  /* on no list: its callback runs, freed right after */
};

struct http_transfer {
	TAILQ_ENTRY(http_transfer) entry;
	struct http_client *c;
	enum xfer_state state;
	CURL *easy;
	http_done_fn fn;
	void *ctx;
	struct curl_slist *headers;
	struct curl_slist *connect_to; /* CURLOPT_CONNECT_TO does not copy either */
	char *post; /* our copy: CURLOPT_POSTFIELDS does not copy */
	size_t post_len;
	char *body;
	size_t body_len, body_cap, max_body;
	bool too_large;  /* the write callback refused to go past max_body */
	bool body_nomem; /* the write callback could not grow the buffer */
	bool priority;   /* waits in c->queue_first */
	const char *service; /* the caller's literal, for the observer */
	/* A failure we detected ourselves (set-up, add, socket watch). */
	CURLcode fail;
	char failmsg[128];
	uint64_t seq;         /* deferral order: bounds one pass of the idle callback */
	char retry_after[64]; /* raw Retry-After of the latest response */
	char errbuf[CURL_ERROR_SIZE];
	char empty[1]; /* the body when nothing arrived */
};

TAILQ_HEAD(xfer_list, http_transfer);

struct http_sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct http_client *c;
	LIST_ENTRY(http_sock) entry;
};

struct http_client {
	uv_loop_t *loop;
	CURLM *multi;
	CURLSH *share;
	uv_timer_t timer;
	uv_idle_t defer;
	struct xfer_list queue_first, queue, active, deferred;
	LIST_HEAD(, http_sock) socks; /* open contexts, not yet uv_close()d */
	unsigned max_active, nactive, nqueued;
	unsigned nhandles; /* uv handles whose close callback has not run */
	uint64_t defer_seq;
	bool closing;
	void (*close_done)(void *);
	void *close_arg;
	struct http_stats stats;
	http_observer_fn observer;
	void *observer_arg;
};

static void xfer_free(struct http_transfer *);
static void pump(struct http_client *);

static void wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* ---- libuv handle lifetime ------------------------------------------ */

static void client_free(struct http_client *c)
{
	void (*done)(void *) = c->close_done;
	void *arg = c->close_arg;

	/* Every easy handle is gone by now (the last ones went before the
	 * close callbacks could run), so the share is no longer in use. */
	curl_share_cleanup(c->share);
	/* The header promises `done` runs before the memory goes: a caller
	 * may read http_get_stats() one last time from it. */
	if (done != NULL)
		done(arg);
	free(c);
}

static void handle_closed(struct http_client *c)
{
	if (--c->nhandles == 0 && c->closing)
		client_free(c);
}

static void on_handle_close(uv_handle_t *h)
{
	handle_closed(h->data);
}

static void on_sock_close(uv_handle_t *h)
{
	struct http_sock *hs = h->data;
	struct http_client *c = hs->c;

	/* Only here: libuv may still reference the handle until now. */
	free(hs);
	handle_closed(c);
}

static void sock_close(struct http_sock *hs)
{
	LIST_REMOVE(hs, entry);
	uv_poll_stop(&hs->poll);
	uv_close((uv_handle_t *)&hs->poll, on_sock_close);
}

/* ---- completion ----------------------------------------------------- */

static int64_t parse_retry_after(const char *v)
{
	const char *p;
	int64_t n = 0;
	time_t when, now;

	if (*v == '\0')
		return -1;
	for (p = v; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - 9) / 10)
			return -1; /* absurd: treat as absent */
		n = n * 10 + (*p - '0');
	}
	if (*p == '\0')
		return n;
	/* Otherwise an HTTP-date. curl_getdate is a plain parser, safe here. */
	if ((when = curl_getdate(v, NULL)) == -1)
		return -1;
	now = time(NULL);
	return when > now ? (int64_t)(when - now) : 0;
}

static long map_http_version(long v)
{
	switch (v) {
	case CURL_HTTP_VERSION_1_0:
		return 10;
	case CURL_HTTP_VERSION_1_1:
		return 11;
	case CURL_HTTP_VERSION_2_0:
		return 20;
	case CURL_HTTP_VERSION_3:
		return 30;
	default:
		return 0;
	}
}

/* Fill the response and return the number of connections the transfer
 * opened. */
static long xfer_response(struct http_transfer *t, CURLcode rc, struct http_response *r)
{
	long status = 0, ver = 0, nconn = 0;
	char *ct = NULL;
	curl_off_t us = 0;

	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	r->body = t->body != NULL ? t->body : t->empty;
	r->body_len = t->body != NULL ? t->body_len : 0;
	if (t->fail != CURLE_OK) {
		/* Never reached libcurl's transfer machinery (or lost its
		 * socket): nothing to ask libcurl about. */
		r->curl_code = t->fail;
		snprintf(r->error, sizeof(r->error), "%s", t->failmsg);
		return 0;
	}
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
	curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &us);
	curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &nconn);
	r->status = status;
	r->curl_code = rc;
	if (ct != NULL)
		snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
	r->http_version = map_http_version(ver);
	r->total_ms = us / 1000;
	r->total_us = us;
	/* No new connection and an answer came back: it went over one the
	 * cache already had. A transfer that failed before any answer used
	 * no connection worth calling reused. */
	r->reused = nconn == 0 && status > 0;
	r->retry_after_s = parse_retry_after(t->retry_after);
	if (t->too_large) {
		r->too_large = true;
		snprintf(r->error, sizeof(r->error), "response larger than %zu bytes", t->max_body);
	} else if (t->body_nomem) {
		r->curl_code = CURLE_OUT_OF_MEMORY;
		snprintf(r->error, sizeof(r->error), "out of memory buffering the response");
	} else if (rc != CURLE_OK) {
		snprintf(r->error, sizeof(r->error), "%s",
			 t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc));
	}
	return nconn;
}

/* The transfer is on no list and out of the multi: tell the owner, then
 * free it. The callback may do anything to the client, even close it; the
 * client memory outlives this call because it is freed only from a uv_close
 * callback, which never runs synchronously. */
static void xfer_complete(struct http_transfer *t, CURLcode rc)
{
	struct http_client *c = t->c;
	struct http_response r;
	long nconn;

	nconn = xfer_response(t, rc, &r);
	if (r.curl_code == CURLE_OK)
		c->stats.completed++;
	else
		c->stats.failed++;
	if (nconn > 0)
		c->stats.connections_opened += (uint64_t)nconn;
	if (r.reused)
		c->stats.reused++;
	if (c->observer != NULL)
		c->observer(c->observer_arg, t->service, r.status, r.curl_code, r.total_us);
	t->state = XFER_CALLING;
	t->fn(t->ctx, &r);
	xfer_free(t);
}

static void on_defer(uv_idle_t *h)
{
	struct http_client *c = h->data;
	struct http_transfer *t, *next;
	uint64_t limit;

	/* Transfers whose socket we could not watch: detach them now that we
	 * are outside libcurl. No user code runs in this sweep. */
	for (t = TAILQ_FIRST(&c->active); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->fail == CURLE_OK)
			continue;
		TAILQ_REMOVE(&c->active, t, entry);
		c->nactive--;
		curl_multi_remove_handle(c->multi, t->easy);
		t->state = XFER_DEFERRED;
		t->seq = c->defer_seq++;
		TAILQ_INSERT_TAIL(&c->deferred, t, entry);
	}
	/* Only what was deferred before this pass: a callback that resubmits
	 * a failing transfer must not keep us here forever. */
	limit = c->defer_seq;
	while (!c->closing && (t = TAILQ_FIRST(&c->deferred)) != NULL && t->seq < limit) {
		TAILQ_REMOVE(&c->deferred, t, entry);
		xfer_complete(t, t->fail);
	}
	if (c->closing)
		return;
	if (TAILQ_EMPTY(&c->deferred))
		uv_idle_stop(&c->defer);
	pump(c);
}

/* Fail t from the loop, never from the caller's stack. */
static void xfer_defer_fail(struct http_transfer *t, CURLcode code, const char *what,
			    const char *why)
{
	struct http_client *c = t->c;

	t->fail = code;
	snprintf(t->failmsg, sizeof(t->failmsg), "%s: %s", what, why);
	t->state = XFER_DEFERRED;
	t->seq = c->defer_seq++;
	TAILQ_INSERT_TAIL(&c->deferred, t, entry);
	uv_idle_start(&c->defer, on_defer);
}

/* Read every finished transfer. Called after each socket_action. */
static void drain(struct http_client *c)
{
	struct http_transfer *t;
	CURLMsg *m;
	CURLcode rc;
	CURL *e;
	char *priv;
	int left;

	while (!c->closing && (m = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* m is invalid once the handle is removed: copy first. */
		e = m->easy_handle;
		rc = m->data.result;
		priv = NULL;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		t = (struct http_transfer *)priv;
		TAILQ_REMOVE(&c->active, t, entry);
		c->nactive--;
		curl_multi_remove_handle(c->multi, e);
		xfer_complete(t, rc);
	}
	if (!c->closing)
		pump(c);
}

/* Start queued transfers while slots are free. Never called from inside a
 * libcurl callback: curl_multi_add_handle would refuse. */
static void pump(struct http_client *c)
{
	struct http_transfer *t;
	CURLMcode mc;

	while (!c->closing && c->nactive < c->max_active) {
		struct xfer_list *q = TAILQ_EMPTY(&c->queue_first) ? &c->queue : &c->queue_first;

		if ((t = TAILQ_FIRST(q)) == NULL)
			break;
		TAILQ_REMOVE(q, t, entry);
		c->nqueued--;
		/* Arms the timer through on_curl_timer; no kick-start needed. */
		if ((mc = curl_multi_add_handle(c->multi, t->easy)) != CURLM_OK) {
			xfer_defer_fail(t, CURLE_FAILED_INIT, "cannot start transfer",
					curl_multi_strerror(mc));
			continue;
		}
		t->state = XFER_ACTIVE;
		TAILQ_INSERT_TAIL(&c->active, t, entry);
		c->nactive++;
		c->stats.started++;
	}
}

/* ---- libuv → libcurl -------------------------------------------------- */

static void on_timeout(uv_timer_t *h)
{
	struct http_client *c = h->data;
	int running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(c);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	struct http_sock *hs = p->data;
	struct http_client *c = hs->c;
	int flags = 0, running;

	/* libuv reports POLLERR as a negative status (and stops the handle):
	 * let libcurl find out what happened to its socket. */
	if (status < 0) {
		flags = CURL_CSELECT_ERR;
	} else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(c->multi, hs->fd, flags, &running);
	drain(c);
}

/* ---- libcurl callbacks: no libcurl multi calls, no user code ---------- */

static int on_curl_timer(CURLM *multi, long ms, void *userp)
{
	struct http_client *c = userp;

	(void)multi;
	if (ms < 0)
		uv_timer_stop(&c->timer);
	else /* 0 means now, but calling libcurl from here would recurse */
		uv_timer_start(&c->timer, on_timeout, ms > 0 ? (uint64_t)ms : 1, 0);
	return 0;
}

/* We cannot watch a socket of this transfer: fail it from the idle
 * callback rather than leave it to hang until its timeout. */
static void xfer_sock_failed(struct http_client *c, CURL *easy, int uverr)
{
	struct http_transfer *t;
	char *priv = NULL;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
	if ((t = (struct http_transfer *)priv) == NULL || t->fail != CURLE_OK)
		return;
	t->fail = uverr == UV_ENOMEM ? CURLE_OUT_OF_MEMORY : CURLE_COULDNT_CONNECT;
	snprintf(t->failmsg, sizeof(t->failmsg), "cannot watch socket: %s", uv_strerror(uverr));
	uv_idle_start(&c->defer, on_defer);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_sock *hs = socketp, *old;
	int events = 0, rc;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			sock_close(hs);
			/* c->multi is NULL while curl_multi_cleanup runs:
			 * the socket hash is being torn down anyway. */
			if (c->multi != NULL)
				curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	/* Closing: every poll is stopped and about to be closed; libcurl may
	 * still announce sockets while it tears down. Nothing to watch. */
	if (c->closing)
		return 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	if (hs == NULL) {
		if ((hs = calloc(1, sizeof(*hs))) == NULL) {
			xfer_sock_failed(c, easy, UV_ENOMEM);
			return 0;
		}
		rc = uv_poll_init_socket(c->loop, &hs->poll, s);
		if (rc == UV_EEXIST) {
			/* libcurl reports a socket we do not know, yet libuv
			 * still watches its fd: the old socket was closed
			 * without a REMOVE (curl#16026) and the fd reused. The
			 * only fd comparison here, to retire that context. */
			for (old = LIST_FIRST(&c->socks); old != NULL; old = LIST_NEXT(old, entry))
				if (old->fd == s)
					break;
			if (old != NULL) {
				sock_close(old);
				rc = uv_poll_init_socket(c->loop, &hs->poll, s);
			}
		}
		if (rc < 0) {
			free(hs);
			xfer_sock_failed(c, easy, rc);
			return 0;
		}
		hs->poll.data = hs;
		hs->fd = s;
		hs->c = c;
		c->nhandles++;
		LIST_INSERT_HEAD(&c->socks, hs, entry);
		curl_multi_assign(c->multi, s, hs);
	}
	if ((rc = uv_poll_start(&hs->poll, events, on_poll)) < 0)
		xfer_sock_failed(c, easy, rc);
	return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
	struct http_transfer *t = userp;
	size_t len = size * nmemb, need, cap;
	char *nb;

	if (len > t->max_body - t->body_len) {
		t->too_large = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	need = t->body_len + len + 1;
	if (need > t->body_cap) {
		/* Doubling, but never past what the cap can use; need is at
		 * most max_body + 1 here, and max_body <= SIZE_MAX / 2. */
		cap = t->body_cap < HTTP_BODY_MIN_CAP ? HTTP_BODY_MIN_CAP : t->body_cap;
		while (cap < need)
			cap *= 2;
		if (cap > t->max_body + 1)
			cap = t->max_body + 1;
		/* Not realloc: the old block may hold a token and must be
		 * wiped before it goes back to the allocator. */
		if ((nb = malloc(cap)) == NULL) {
			t->body_nomem = true;
			return 0;
		}
		if (t->body != NULL)
			memcpy(nb, t->body, t->body_len);
		wipe_free(t->body, t->body_cap);
		t->body = nb;
		t->body_cap = cap;
	}
	memcpy(t->body + t->body_len, data, len);
	t->body_len += len;
	t->body[t->body_len] = '\0';
	return len;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	static const char name[] = "retry-after:";
	struct http_transfer *t = userp;
	size_t len = size * nmemb, n;
	const char *p, *end;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		/* A new response begins (after a 1xx, or the 401 of the
		 * digest round trip): only the final one counts. */
		t->retry_after[0] = '\0';
		t->body_len = 0;
		if (t->body != NULL)
			t->body[0] = '\0';
		return len;
	}
	if (len < sizeof(name) - 1 || strncasecmp(data, name, sizeof(name) - 1) != 0)
		return len;
	p = data + sizeof(name) - 1;
	end = data + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	n = (size_t)(end - p);
	if (n >= sizeof(t->retry_after))
		n = 0; /* no valid value is that long */
	memcpy(t->retry_after, p, n);
	t->retry_after[n] = '\0';
	return len;
}

/* ---- transfers -------------------------------------------------------- */

static void xfer_free(struct http_transfer *t)
{
	struct curl_slist *l;

	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	for (l = t->headers; l != NULL; l = l->next)
		explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(t->headers);
	curl_slist_free_all(t->connect_to);
	wipe_free(t->post, t->post_len + 1);
	wipe_free(t->body, t->body_cap);
	free(t);
}

#define SETOPT(e, opt, val)                                                                        \
	do {                                                                                       \
		if ((rc = curl_easy_setopt((e), (opt), (val))) != CURLE_OK)                        \
			return rc;                                                                 \
	} while (0)

static CURLcode xfer_setopt(struct http_transfer *t, const struct http_request *req, bool post)
{
	CURL *e = t->easy;
	CURLcode rc;
	int64_t cto =
	    req->connect_timeout_ms > 0 ? req->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_MS;
	int64_t to = req->timeout_ms > 0 ? req->timeout_ms : HTTP_TIMEOUT_MS;

	SETOPT(e, CURLOPT_PRIVATE, t);
	SETOPT(e, CURLOPT_ERRORBUFFER, t->errbuf);
	SETOPT(e, CURLOPT_URL, req->url);
	/* Signals belong to the daemon's loop, not to libcurl's resolver. */
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* The APIs we talk to do not redirect; a 3xx is reported as is. Were
	 * redirects ever enabled, never to anything but https. */
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Wait for a connection being set up to say whether it multiplexes
	 * rather than open a parallel one to the same host: over https ALPN
	 * answers at the end of the handshake. Never over cleartext, where
	 * 2TLS cannot multiplex: libcurl would park the transfer until some
	 * other transfer's response arrived, its timeout running (the
	 * harness's cancel scenario caught a 500 ms stall). */
	if (strncasecmp(req->url, "https://", 8) == 0)
		SETOPT(e, CURLOPT_PIPEWAIT, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (req->ca_file != NULL)
		SETOPT(e, CURLOPT_CAINFO, req->ca_file);
	if (req->no_proxy)
		SETOPT(e, CURLOPT_NOPROXY, "*");
	if (t->connect_to != NULL)
		SETOPT(e, CURLOPT_CONNECT_TO, t->connect_to);
	SETOPT(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	SETOPT(e, CURLOPT_ACCEPT_ENCODING, ""); /* whatever libcurl decodes */
	/* Idle pooled connections: notice a dead peer before we reuse it. */
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cto);
	SETOPT(e, CURLOPT_TIMEOUT_MS, (long)to);
	SETOPT(e, CURLOPT_WRITEFUNCTION, on_write);
	SETOPT(e, CURLOPT_WRITEDATA, t);
	SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, CURLOPT_HEADERDATA, t);
	SETOPT(e, CURLOPT_SHARE, t->c->share);
	if (t->headers != NULL)
		SETOPT(e, CURLOPT_HTTPHEADER, t->headers);
	if (post) {
		SETOPT(e, CURLOPT_POST, 1L);
		if (req->method != NULL && strcmp(req->method, "PUT") == 0)
			SETOPT(e, CURLOPT_CUSTOMREQUEST, "PUT");
		SETOPT(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->post_len);
		SETOPT(e, CURLOPT_POSTFIELDS, t->post);
	}
	if (req->digest_user != NULL) {
		SETOPT(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_DIGEST);
		SETOPT(e, CURLOPT_USERNAME, req->digest_user);
		SETOPT(e, CURLOPT_PASSWORD,
		       req->digest_password != NULL ? req->digest_password : "");
	} else if (req->basic_user != NULL) {
		SETOPT(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(e, CURLOPT_USERNAME, req->basic_user);
		SETOPT(e, CURLOPT_PASSWORD, req->basic_password != NULL ? req->basic_password : "");
	} else if (req->bearer != NULL) {
		SETOPT(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		SETOPT(e, CURLOPT_XOAUTH2_BEARER, req->bearer);
	} else if (req->aws_sigv4 != NULL) {
		SETOPT(e, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		SETOPT(e, CURLOPT_USERNAME, req->aws_key_id);
		SETOPT(e, CURLOPT_PASSWORD, req->aws_secret);
	}
	return CURLE_OK;
}

#undef SETOPT

static bool has_header(const char *const *h, const char *name)
{
	size_t n = strlen(name);

	for (; h != NULL && *h != NULL; h++)
		if (strncasecmp(*h, name, n) == 0 && (*h)[n] == ':')
			return true;
	return false;
}

static int check_request(const struct http_request *req, bool *post)
{
	const char *const *h;
	int nauth;

	if (req->url == NULL)
		return -EINVAL;
	if (req->method == NULL || strcmp(req->method, "GET") == 0)
		*post = false;
	else if (strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0)
		*post = true;
	else
		return -EINVAL;
	if (req->body == NULL && req->body_len > 0)
		return -EINVAL;
	nauth = (req->digest_user != NULL || req->digest_password != NULL) +
		(req->basic_user != NULL || req->basic_password != NULL) + (req->bearer != NULL) +
		(req->aws_sigv4 != NULL || req->aws_key_id != NULL || req->aws_secret != NULL);
	if (nauth > 1 ||
	    (req->aws_sigv4 != NULL && (req->aws_key_id == NULL || req->aws_secret == NULL)) || (req->digest_password != NULL && req->digest_user == NULL) ||
	    (req->basic_password != NULL && req->basic_user == NULL))
		return -EINVAL;
	if (req->connect_timeout_ms < 0 || req->timeout_ms < 0)
		return -EINVAL;
	/* libcurl sends header strings verbatim: no smuggled lines. */
	for (h = req->headers; h != NULL && *h != NULL; h++)
		if (strpbrk(*h, "\r\n") != NULL)
			return -EINVAL;
	return 0;
}

int http_submit(struct http_client *c, const struct http_request *req, http_done_fn fn, void *ctx,
		struct http_transfer **out)
{
	struct http_transfer *t;
	struct curl_slist *l;
	const char *const *h;
	CURLcode rc;
	bool post;
	int err;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || req == NULL || fn == NULL)
		return -EINVAL;
	if (c->closing)
		return -ESHUTDOWN;
	if ((err = check_request(req, &post)) < 0)
		return err;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	t->c = c;
	t->fn = fn;
	t->ctx = ctx;
	t->service = req->service;
	t->max_body = req->max_response_bytes > 0 ? req->max_response_bytes : HTTP_MAX_RESPONSE;
	if (t->max_body > SIZE_MAX / 2)
		t->max_body = SIZE_MAX / 2; /* keeps max_body + 1 from wrapping */
	for (h = req->headers; h != NULL && *h != NULL; h++) {
		if ((l = curl_slist_append(t->headers, *h)) == NULL)
			goto nomem;
		t->headers = l;
	}
	if (req->connect_to != NULL &&
	    (t->connect_to = curl_slist_append(NULL, req->connect_to)) == NULL)
		goto nomem;
	if (post) {
		/* libcurl would add "Expect: 100-continue" to larger bodies
		 * and stall a second on servers that ignore it. */
		if (!has_header(req->headers, "Expect")) {
			if ((l = curl_slist_append(t->headers, "Expect:")) == NULL)
				goto nomem;
			t->headers = l;
		}
		if ((t->post = malloc(req->body_len + 1)) == NULL)
			goto nomem;
		if (req->body_len > 0)
			memcpy(t->post, req->body, req->body_len);
		t->post[req->body_len] = '\0';
		t->post_len = req->body_len;
	}
	if ((t->easy = curl_easy_init()) == NULL)
		goto nomem;
	if ((rc = xfer_setopt(t, req, post)) != CURLE_OK) {
		xfer_defer_fail(t, rc, "cannot set up transfer", curl_easy_strerror(rc));
	} else {
		t->state = XFER_QUEUED;
		t->priority = req->priority;
		TAILQ_INSERT_TAIL(t->priority ? &c->queue_first : &c->queue, t, entry);
		c->nqueued++;
		pump(c);
	}
	if (out != NULL)
		*out = t;
	return 0;
nomem:
	xfer_free(t);
	return -ENOMEM;
}

void http_cancel(struct http_transfer *t)
{
	struct http_client *c;

	if (t == NULL)
		return;
	c = t->c;
	switch (t->state) {
	case XFER_QUEUED:
		TAILQ_REMOVE(t->priority ? &c->queue_first : &c->queue, t, entry);
		c->nqueued--;
		break;
	case XFER_ACTIVE:
		TAILQ_REMOVE(&c->active, t, entry);
		c->nactive--;
		/* Also drops a CURLMSG_DONE still queued for it. */
		curl_multi_remove_handle(c->multi, t->easy);
		break;
	case XFER_DEFERRED:
		TAILQ_REMOVE(&c->deferred, t, entry);
		break;
	case XFER_CALLING:
		/* Its own callback is running; it is freed when that returns. */
		return;
	}
	xfer_free(t);
	if (!c->closing)
		pump(c);
}

/* ---- the client ------------------------------------------------------- */

int http_client_new(uv_loop_t *loop, int max_concurrent, struct http_client **out)
{
	const curl_version_info_data *vi;
	struct http_client *c;
	long max;

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || out == NULL || max_concurrent < 1)
		return -EINVAL;
	vi = curl_version_info(CURLVERSION_NOW);
	/* A blocking resolver would stall every timer and socket of the
	 * daemon for as long as DNS takes. */
	if ((vi->features & CURL_VERSION_ASYNCHDNS) == 0)
		return -ENOTSUP;
	/* CURLOPT_PROTOCOLS_STR, which keeps us to http(s), is 7.85.0. */
	if (vi->version_num < 0x075500)
		return -ENOTSUP;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->loop = loop;
	c->max_active = (unsigned)max_concurrent;
	TAILQ_INIT(&c->queue_first);
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->active);
	TAILQ_INIT(&c->deferred);
	LIST_INIT(&c->socks);
	if ((c->multi = curl_multi_init()) == NULL || (c->share = curl_share_init()) == NULL)
		goto fail;
	if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)
		goto fail;
	max = max_concurrent;
	if (curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX) != CURLM_OK ||
	    /* At most max transfers are in the multi, each needs at most one
	     * connection: with these limits libcurl never parks a transfer
	     * (its timeout running) waiting for a connection slot, and keeps
	     * up to max idle connections for the next poll cycle. */
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max) != CURLM_OK ||
	    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, max) != CURLM_OK ||
	    /* libcurl's own cap is 100 streams a connection: past it, every
	     * transfer that found the connection full opened one of its own
	     * (151 TLS handshakes for 1,000 projects at max 256, measured
	     * with tests/bench/poll_cycle.sh). Let one connection carry all
	     * of them; the server's SETTINGS still bound it. */
	    curl_multi_setopt(c->multi, CURLMOPT_MAX_CONCURRENT_STREAMS, max) != CURLM_OK)
		goto fail;
	/* Cannot fail; done last so that nothing above needs a uv_close. */
	uv_timer_init(loop, &c->timer);
	c->timer.data = c; /* multi-uv.c forgot this (curl#19462) */
	uv_idle_init(loop, &c->defer);
	c->defer.data = c;
	c->nhandles = 2;
	*out = c;
	return 0;
fail:
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	free(c);
	return -ENOMEM;
}

static void drop_all(struct http_client *c, struct xfer_list *list)
{
	struct http_transfer *t;

	while ((t = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, t, entry);
		if (t->state == XFER_ACTIVE)
			curl_multi_remove_handle(c->multi, t->easy);
		xfer_free(t);
	}
}

void http_client_close(struct http_client *c, void (*done)(void *), void *arg)
{
	struct http_sock *hs;
	CURLM *multi;

	if (c == NULL || c->closing)
		return;
	c->closing = true;
	c->close_done = done;
	c->close_arg = arg;
	/* Stop watching first: libcurl closes sockets below, and libuv must
	 * not hold a closed fd in epoll (libuv#1495) even if a REMOVE is
	 * missing. */
	for (hs = LIST_FIRST(&c->socks); hs != NULL; hs = LIST_NEXT(hs, entry))
		uv_poll_stop(&hs->poll);
	/* 1. easy handles out of the multi and gone; no callbacks. A
	 *    transfer whose callback is running (XFER_CALLING) is on no list
	 *    and is freed when that callback returns. */
	drop_all(c, &c->active);
	drop_all(c, &c->queue_first);
	drop_all(c, &c->queue);
	drop_all(c, &c->deferred);
	c->nactive = c->nqueued = 0;
	/* 2. the multi, while the loop lives: it may still call the socket
	 *    callback with REMOVE for cached connections. */
	multi = c->multi;
	c->multi = NULL;
	curl_multi_cleanup(multi);
	/* 3. whatever libcurl did not REMOVE, then our own handles. The
	 *    client is freed once every close callback has run. */
	while ((hs = LIST_FIRST(&c->socks)) != NULL)
		sock_close(hs);
	uv_close((uv_handle_t *)&c->timer, on_handle_close);
	uv_close((uv_handle_t *)&c->defer, on_handle_close);
}

void http_client_set_observer(struct http_client *c, http_observer_fn fn, void *arg)
{
	c->observer = fn;
	c->observer_arg = arg;
}

void http_get_stats(const struct http_client *c, struct http_stats *out)
{
	*out = c->stats;
	out->active = c->nactive;
	out->queued = c->nqueued;
}
