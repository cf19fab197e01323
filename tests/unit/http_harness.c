/* SPDX-License-Identifier: ISC */
/*
 * http_harness — drives daemon/http.c against a small HTTP/1.1 server that
 * runs in a second thread of this process on 127.0.0.1, so the whole test is
 * self-contained and never leaves the machine. Each scenario gets a fresh
 * uv_loop_t and client and ends with uv_loop_close() == 0, which proves that
 * http_client_close leaves no handle behind.
 *
 * Output is TAP ("ok N - name") with a final "N passed, N failed" line; the
 * exit status is non-zero when anything failed. No cmocka needed.
 */
#ifdef HAVE_CONFIG_H
#include "autoconfig.h" /* autoconf's; "config.h" is lib/config.h */
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, pipe2 */
#endif

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <uv.h>

#include "http.h"

#ifndef PACKAGE_VERSION
#error "PACKAGE_VERSION undefined: build with autoconfig.h (HAVE_CONFIG_H) or -DPACKAGE_VERSION"
#endif

/* ---- checks ------------------------------------------------------------ */

static int g_checks_failed; /* in the current scenario */
static const char *g_scenario;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			g_checks_failed++;                                                         \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
		}                                                                                  \
	} while (0)

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("#   ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* ---- the loopback server ----------------------------------------------- */

struct srv {
	int lfd, port;
	int stop[2]; /* a byte here ends every server thread */
	pthread_t accept_thr;
	pthread_mutex_t mu;
	pthread_t *thr;
	size_t nthr, capthr;
	/* under mu */
	unsigned accepted, inflight, max_inflight;
	char last_auth[1024];
};

static struct srv g_srv;

struct conn {
	struct srv *s;
	int fd;
	size_t len;
	char buf[65536];
};

struct req {
	char method[16];
	char path[256];
	char head[16384];
	char *body;
	size_t body_len;
};

static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 1: more data, 0: EOF, -1: error or server stopping. */
static int conn_fill(struct conn *k)
{
	struct pollfd p[2] = {{k->fd, POLLIN, 0}, {k->s->stop[0], POLLIN, 0}};
	ssize_t n;

	if (k->len == sizeof(k->buf))
		return -1;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents != 0)
			return -1;
		n = recv(k->fd, k->buf + k->len, sizeof(k->buf) - k->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? 0 : -1;
		k->len += (size_t)n;
		return 1;
	}
}

/* Sleep that ends early when the server stops. */
static void srv_sleep(struct srv *s, int ms)
{
	struct pollfd p = {s->stop[0], POLLIN, 0};

	poll(&p, 1, ms);
}

static bool hdr_get(const char *head, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), l;
	const char *p = strstr(head, "\r\n"), *e;

	while (p != NULL && p[2] != '\0') {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			e = strstr(p, "\r\n");
			l = e != NULL ? (size_t)(e - p) : strlen(p);
			if (l >= outlen)
				l = outlen - 1;
			memcpy(out, p, l);
			out[l] = '\0';
			return true;
		}
		p = strstr(p, "\r\n");
	}
	return false;
}

static int read_request(struct conn *k, struct req *rq)
{
	char *end, cl[32];
	size_t hlen, clen = 0, total;

	while ((end = memmem(k->buf, k->len, "\r\n\r\n", 4)) == NULL)
		if (conn_fill(k) <= 0)
			return -1;
	hlen = (size_t)(end - k->buf) + 4;
	if (hlen >= sizeof(rq->head))
		return -1;
	memcpy(rq->head, k->buf, hlen);
	rq->head[hlen] = '\0';
	if (sscanf(rq->head, "%15s %255s", rq->method, rq->path) != 2)
		return -1;
	if (hdr_get(rq->head, "Content-Length", cl, sizeof(cl)))
		clen = strtoul(cl, NULL, 10);
	total = hlen + clen;
	if (total > sizeof(k->buf))
		return -1;
	while (k->len < total)
		if (conn_fill(k) <= 0)
			return -1;
	rq->body = malloc(clen + 1);
	if (rq->body == NULL)
		return -1;
	memcpy(rq->body, k->buf + hlen, clen);
	rq->body[clen] = '\0';
	rq->body_len = clen;
	memmove(k->buf, k->buf + total, k->len - total);
	k->len -= total;
	return 0;
}

static int respond(int fd, int code, const char *reason, const char *extra, const char *body,
		   size_t len)
{
	char h[1024];
	int n;

	n = snprintf(h, sizeof(h),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
		     code, reason, len, extra != NULL ? extra : "");
	if (send_all(fd, h, (size_t)n) < 0)
		return -1;
	return len > 0 ? send_all(fd, body, len) : 0;
}

static int send_x(int fd, size_t n)
{
	char chunk[16384];
	size_t k;

	memset(chunk, 'x', sizeof(chunk));
	while (n > 0) {
		k = n < sizeof(chunk) ? n : sizeof(chunk);
		if (send_all(fd, chunk, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static void http_date(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Returns -1 to drop the connection. */
static int handle(struct conn *k, struct req *rq)
{
	struct srv *s = k->s;
	char v[1024], extra[512], buf[2048], date[64];
	size_t n;
	int fd = k->fd, rc;

	if (strcmp(rq->path, "/ok") == 0)
		return respond(fd, 200, "OK", NULL, "hello", 5);
	if (strncmp(rq->path, "/slow/", 6) == 0) {
		srv_sleep(s, atoi(rq->path + 6));
		return respond(fd, 200, "OK", NULL, "slow", 4);
	}
	if (strncmp(rq->path, "/big/", 5) == 0) {
		n = strtoul(rq->path + 5, NULL, 10);
		snprintf(
		    buf, sizeof(buf),
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
		    n);
		if (send_all(fd, buf, strlen(buf)) < 0)
			return -1;
		return send_x(fd, n);
	}
	if (strncmp(rq->path, "/bigclose/", 10) == 0) {
		/* No length: the body ends when the connection does. */
		n = strtoul(rq->path + 10, NULL, 10);
		snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
		if (send_all(fd, buf, strlen(buf)) == 0)
			send_x(fd, n);
		return -1;
	}
	if (strcmp(rq->path, "/hang") == 0) {
		/* Never answer; wait for the client to give up. */
		while (conn_fill(k) > 0)
			;
		return -1;
	}
	if (strcmp(rq->path, "/retry/secs") == 0)
		return respond(fd, 503, "Service Unavailable", "Retry-After: 7\r\n", "busy", 4);
	if (strcmp(rq->path, "/retry/date") == 0 || strcmp(rq->path, "/retry/past") == 0) {
		http_date(time(NULL) + (strcmp(rq->path, "/retry/date") == 0 ? 120 : -600), date,
			  sizeof(date));
		snprintf(extra, sizeof(extra), "Retry-After: %s\r\n", date);
		return respond(fd, 429, "Too Many Requests", extra, "slow down", 9);
	}
	if (strcmp(rq->path, "/retry/interim") == 0) {
		/* An interim answer carries a Retry-After the final one lacks. */
		snprintf(buf, sizeof(buf),
			 "HTTP/1.1 103 Early Hints\r\nRetry-After: 99\r\nLink: </x>\r\n\r\n");
		if (send_all(fd, buf, strlen(buf)) < 0)
			return -1;
		return respond(fd, 200, "OK", NULL, "final", 5);
	}
	if (strcmp(rq->path, "/digest") == 0) {
		if (!hdr_get(rq->head, "Authorization", v, sizeof(v)) ||
		    strncmp(v, "Digest ", 7) != 0)
			return respond(
			    fd, 401, "Unauthorized",
			    "WWW-Authenticate: Digest realm=\"kmswatch\", qop=\"auth\", "
			    "algorithm=SHA-256, nonce=\"0a4f113b9c\", opaque=\"5ccc069c\"\r\n"
			    "Retry-After: 55\r\n",
			    "denied", 6);
		pthread_mutex_lock(&s->mu);
		snprintf(s->last_auth, sizeof(s->last_auth), "%s", v);
		pthread_mutex_unlock(&s->mu);
		if (strstr(v, "username=\"u\"") == NULL || strstr(v, "algorithm=SHA-256") == NULL ||
		    strstr(v, "response=\"") == NULL || strstr(v, "nonce=\"0a4f113b9c\"") == NULL)
			return respond(fd, 403, "Forbidden", NULL, "bad digest", 10);
		return respond(fd, 200, "OK", NULL, "digest ok", 9);
	}
	if (strcmp(rq->path, "/basic") == 0 || strcmp(rq->path, "/bearer") == 0) {
		const char *want = rq->path[1] == 'b' && rq->path[2] == 'a'
				       ? "Basic dTpwYXNz" /* u:pass */
				       : "Bearer tok123";

		if (hdr_get(rq->head, "Authorization", v, sizeof(v)) && strcmp(v, want) == 0)
			return respond(fd, 200, "OK", NULL, "authed", 6);
		return respond(fd, 401, "Unauthorized", NULL, "no", 2);
	}
	if (strcmp(rq->path, "/echo") == 0) {
		bool expect = hdr_get(rq->head, "Expect", v, sizeof(v));
		bool xt = hdr_get(rq->head, "X-Test", v, sizeof(v)) && strcmp(v, "1") == 0;

		snprintf(buf, sizeof(buf), "%s %s expect=%s xtest=%s\n", rq->method,
			 rq->body_len > 0 ? "body" : "nobody", expect ? "yes" : "no",
			 xt ? "yes" : "no");
		snprintf(extra, sizeof(extra), "Content-Length: %zu\r\n",
			 strlen(buf) + rq->body_len);
		n = (size_t)snprintf(v, sizeof(v), "HTTP/1.1 200 OK\r\n%s\r\n", extra);
		if (send_all(fd, v, n) < 0 || send_all(fd, buf, strlen(buf)) < 0)
			return -1;
		return send_all(fd, rq->body, rq->body_len);
	}
	if (strcmp(rq->path, "/redirect") == 0) {
		snprintf(extra, sizeof(extra), "Location: http://127.0.0.1:%d/ok\r\n", s->port);
		return respond(fd, 302, "Found", extra, "moved", 5);
	}
	if (strcmp(rq->path, "/hdr") == 0) {
		char ua[256] = "", ae[256] = "";

		hdr_get(rq->head, "User-Agent", ua, sizeof(ua));
		hdr_get(rq->head, "Accept-Encoding", ae, sizeof(ae));
		rc = snprintf(buf, sizeof(buf), "%s|%s", ua, ae);
		return respond(fd, 200, "OK", NULL, buf, (size_t)rc);
	}
	return respond(fd, 404, "Not Found", NULL, "no such path", 12);
}

static void *conn_main(void *arg)
{
	struct conn *k = arg;
	struct srv *s = k->s;
	struct req *rq;
	int rc;

	if ((rq = malloc(sizeof(*rq))) == NULL)
		goto out;
	while (read_request(k, rq) == 0) {
		pthread_mutex_lock(&s->mu);
		if (++s->inflight > s->max_inflight)
			s->max_inflight = s->inflight;
		pthread_mutex_unlock(&s->mu);
		rc = handle(k, rq);
		pthread_mutex_lock(&s->mu);
		s->inflight--;
		pthread_mutex_unlock(&s->mu);
		free(rq->body);
		if (rc < 0)
			break;
	}
	free(rq);
out:
	close(k->fd);
	free(k);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct srv *s = arg;
	struct pollfd p[2] = {{s->lfd, POLLIN, 0}, {s->stop[0], POLLIN, 0}};
	struct conn *k;
	pthread_t *nt;
	int fd;

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		if ((fd = accept(s->lfd, NULL, NULL)) < 0)
			continue;
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			close(fd);
			continue;
		}
		k->s = s;
		k->fd = fd;
		pthread_mutex_lock(&s->mu);
		s->accepted++;
		if (s->nthr == s->capthr) {
			s->capthr = s->capthr ? s->capthr * 2 : 64;
			nt = realloc(s->thr, s->capthr * sizeof(*nt));
			if (nt == NULL)
				abort();
			s->thr = nt;
		}
		if (pthread_create(&s->thr[s->nthr], NULL, conn_main, k) != 0)
			abort();
		s->nthr++;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static int loopback_listener(int backlog, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t al = sizeof(a);
	int fd, one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static int srv_start(struct srv *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	if (pipe2(s->stop, O_CLOEXEC) < 0)
		return -1;
	if ((s->lfd = loopback_listener(128, &s->port)) < 0)
		return -1;
	return pthread_create(&s->accept_thr, NULL, accept_main, s) == 0 ? 0 : -1;
}

static void srv_stop(struct srv *s)
{
	size_t i;

	if (write(s->stop[1], "x", 1) != 1)
		abort();
	pthread_join(s->accept_thr, NULL);
	for (i = 0; i < s->nthr; i++)
		pthread_join(s->thr[i], NULL);
	free(s->thr);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	pthread_mutex_destroy(&s->mu);
}

static void srv_reset_counts(struct srv *s, unsigned *accepted)
{
	pthread_mutex_lock(&s->mu);
	s->max_inflight = 0;
	s->last_auth[0] = '\0';
	*accepted = s->accepted;
	pthread_mutex_unlock(&s->mu);
}

static unsigned srv_accepted_since(struct srv *s, unsigned base)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->accepted - base;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static unsigned srv_max_inflight(struct srv *s)
{
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = s->max_inflight;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---- client side helpers ----------------------------------------------- */

struct rec {
	int calls;
	long status;
	int curl_code;
	char error[256];
	bool too_large;
	char *body;
	size_t body_len;
	int64_t retry_after_s;
	char content_type[128];
	long http_version;
	int64_t total_ms;
	bool reused;
	uint64_t at_ms; /* when the callback ran */
};

static bool g_in_submit;
static int g_sync_calls; /* callbacks run from inside http_submit: a bug */
static struct http_client *g_client;
static unsigned g_max_active;

static void rec_store(struct rec *r, const struct http_response *resp)
{
	if (g_in_submit)
		g_sync_calls++;
	r->calls++;
	r->status = resp->status;
	r->curl_code = resp->curl_code;
	snprintf(r->error, sizeof(r->error), "%s", resp->error);
	r->too_large = resp->too_large;
	free(r->body);
	r->body = malloc(resp->body_len + 1);
	if (r->body == NULL)
		abort();
	memcpy(r->body, resp->body, resp->body_len + 1); /* includes the NUL */
	r->body_len = resp->body_len;
	r->retry_after_s = resp->retry_after_s;
	snprintf(r->content_type, sizeof(r->content_type), "%s", resp->content_type);
	r->http_version = resp->http_version;
	r->total_ms = resp->total_ms;
	r->reused = resp->reused;
	r->at_ms = now_ms();
}

static void rec_free(struct rec *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(r[i].body);
		r[i].body = NULL;
	}
}

static void sample_active(void)
{
	struct http_stats st;

	if (g_client == NULL)
		return;
	http_get_stats(g_client, &st);
	if (st.active > g_max_active)
		g_max_active = st.active;
}

static void on_done(void *ctx, const struct http_response *resp)
{
	rec_store(ctx, resp);
	sample_active();
}

static char g_url[512];

static const char *url(const char *path)
{
	snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d%s", g_srv.port, path);
	return g_url;
}

static int submit(struct http_client *c, const struct http_request *rq, http_done_fn fn, void *ctx,
		  struct http_transfer **out)
{
	int rc;

	g_in_submit = true;
	rc = http_submit(c, rq, fn, ctx, out);
	g_in_submit = false;
	sample_active();
	return rc;
}

static int get(struct http_client *c, const char *path, struct rec *r)
{
	struct http_request rq = {.url = url(path)};

	return submit(c, &rq, on_done, r, NULL);
}

static void on_check(uv_check_t *h)
{
	(void)h;
	sample_active();
}

/* Per scenario: loop + client + an unref'd check handle sampling
 * http_stats.active on every loop iteration. */
struct env {
	uv_loop_t loop;
	struct http_client *c;
	uv_check_t check;
	int closed;
};

static void env_init(struct env *e, int max_concurrent)
{
	memset(e, 0, sizeof(*e));
	if (uv_loop_init(&e->loop) != 0)
		abort();
	if (http_client_new(&e->loop, max_concurrent, &e->c) != 0) {
		printf("Bail out! http_client_new failed\n");
		exit(1);
	}
	g_client = e->c;
	g_max_active = 0;
	uv_check_init(&e->loop, &e->check);
	uv_check_start(&e->check, on_check);
	uv_unref((uv_handle_t *)&e->check);
}

static void on_client_closed(void *arg)
{
	int *n = arg;

	(*n)++;
}

static void run(struct env *e)
{
	uv_run(&e->loop, UV_RUN_DEFAULT);
}

/* Close the client (unless the scenario did), drain, and require that the
 * loop closes cleanly. */
static void env_fini(struct env *e, bool client_already_closing)
{
	int rc;

	if (!client_already_closing)
		http_client_close(e->c, on_client_closed, &e->closed);
	g_client = NULL;
	uv_close((uv_handle_t *)&e->check, NULL);
	uv_run(&e->loop, UV_RUN_DEFAULT);
	CHECK(e->closed == 1);
	rc = uv_loop_close(&e->loop);
	if (rc != 0)
		diag("uv_loop_close: %s", uv_strerror(rc));
	CHECK(rc == 0);
	CHECK(g_sync_calls == 0);
	g_sync_calls = 0;
}

/* ---- scenarios ------------------------------------------------------------ */

static void t_basic_get(void)
{
	struct env e;
	struct rec r = {0};
	struct http_stats st;

	env_init(&e, 4);
	CHECK(get(e.c, "/ok", &r) == 0);
	CHECK(r.calls == 0); /* never from inside http_submit */
	run(&e);
	CHECK(r.calls == 1);
	CHECK(r.status == 200);
	CHECK(r.curl_code == 0);
	CHECK(r.error[0] == '\0');
	CHECK(r.body_len == 5 && strcmp(r.body, "hello") == 0);
	CHECK(strcmp(r.content_type, "text/plain") == 0);
	CHECK(r.http_version == 11);
	CHECK(r.retry_after_s == -1);
	CHECK(!r.too_large && !r.reused);
	CHECK(r.total_ms >= 0 && r.total_ms < 2000);
	http_get_stats(e.c, &st);
	CHECK(st.started == 1 && st.completed == 1 && st.failed == 0);
	CHECK(st.connections_opened == 1 && st.active == 0 && st.queued == 0);
	env_fini(&e, false);
	rec_free(&r, 1);
}

static void t_concurrency_50_of_8(void)
{
	struct env e;
	struct rec r[50];
	struct http_stats st;
	unsigned base, i, ok = 0;
	uint64_t t0;

	memset(r, 0, sizeof(r));
	srv_reset_counts(&g_srv, &base);
	env_init(&e, 8);
	t0 = now_ms();
	for (i = 0; i < 50; i++)
		CHECK(get(e.c, "/slow/100", &r[i]) == 0);
	http_get_stats(e.c, &st);
	CHECK(st.active == 8 && st.queued == 42);
	run(&e);
	for (i = 0; i < 50; i++)
		ok += r[i].calls == 1 && r[i].status == 200 && r[i].curl_code == 0;
	http_get_stats(e.c, &st);
	diag("50 GETs in %llu ms: max active %u (client), max in flight %u (server), "
	     "%u connections accepted, connections_opened %llu, reused %llu",
	     (unsigned long long)(now_ms() - t0), g_max_active, srv_max_inflight(&g_srv),
	     srv_accepted_since(&g_srv, base), (unsigned long long)st.connections_opened,
	     (unsigned long long)st.reused);
	CHECK(ok == 50);
	CHECK(g_max_active == 8);
	CHECK(srv_max_inflight(&g_srv) <= 8);
	CHECK(srv_max_inflight(&g_srv) >= 2); /* really concurrent */
	CHECK(st.started == 50 && st.completed == 50 && st.failed == 0);
	CHECK(st.active == 0 && st.queued == 0);
	CHECK(st.connections_opened <= 8);
	CHECK(srv_accepted_since(&g_srv, base) <= 8);
	CHECK(st.reused >= 42);
	env_fini(&e, false);
	rec_free(r, 50);
}

/* 12 transfers of 200 ms through 2 slots take ~1.2 s, yet each has a 500 ms
 * total timeout: the clock must start when a transfer leaves the queue. */
static void t_queue_time_not_counted(void)
{
	struct env e;
	struct rec r[12];
	struct http_request rq = {.timeout_ms = 500};
	unsigned i, ok = 0;
	uint64_t t0;

	memset(r, 0, sizeof(r));
	env_init(&e, 2);
	t0 = now_ms();
	for (i = 0; i < 12; i++) {
		rq.url = url("/slow/200");
		CHECK(submit(e.c, &rq, on_done, &r[i], NULL) == 0);
	}
	run(&e);
	for (i = 0; i < 12; i++)
		ok += r[i].calls == 1 && r[i].status == 200 && r[i].curl_code == 0;
	diag("12 x 200 ms through 2 slots, 500 ms timeout each: %u ok in %llu ms", ok,
	     (unsigned long long)(now_ms() - t0));
	CHECK(ok == 12);
	CHECK(now_ms() - t0 >= 1100);
	CHECK(g_max_active == 2);
	env_fini(&e, false);
	rec_free(r, 12);
}

/* Priority transfers wait in a queue of their own that is served first,
 * in submission order; a queued priority transfer can be cancelled. */
static void t_priority_first(void)
{
	struct env e;
	struct rec n[4], pr[3];
	struct http_request rq = {.url = NULL};
	struct http_transfer *victim = NULL;
	struct http_stats st;
	unsigned i;

	memset(n, 0, sizeof(n));
	memset(pr, 0, sizeof(pr));
	env_init(&e, 1);
	for (i = 0; i < 4; i++)
		CHECK(get(e.c, "/slow/50", &n[i]) == 0);
	rq.priority = true;
	for (i = 0; i < 3; i++) {
		rq.url = url("/slow/50");
		CHECK(submit(e.c, &rq, on_done, &pr[i], i == 2 ? &victim : NULL) == 0);
	}
	http_get_stats(e.c, &st);
	CHECK(st.active == 1 && st.queued == 6);
	http_cancel(victim);
	http_get_stats(e.c, &st);
	CHECK(st.queued == 5);
	run(&e);
	for (i = 0; i < 4; i++)
		CHECK(n[i].calls == 1 && n[i].status == 200);
	for (i = 0; i < 2; i++)
		CHECK(pr[i].calls == 1 && pr[i].status == 200);
	CHECK(pr[2].calls == 0);
	/* the one already running finishes first; then the priority ones,
	 * in order; then the rest */
	CHECK(n[0].at_ms <= pr[0].at_ms);
	CHECK(pr[0].at_ms <= pr[1].at_ms);
	CHECK(pr[1].at_ms <= n[1].at_ms);
	CHECK(n[1].at_ms <= n[2].at_ms && n[2].at_ms <= n[3].at_ms);
	env_fini(&e, false);
	rec_free(n, 4);
	rec_free(pr, 3);
}

struct chain {
	struct rec r[3];
	int n;
	struct http_client *c;
};

static void on_chain(void *ctx, const struct http_response *resp)
{
	struct chain *ch = ctx;

	rec_store(&ch->r[ch->n], resp);
	if (++ch->n < 3)
		CHECK(submit(ch->c, &(struct http_request){.url = url("/ok")}, on_chain, ch,
			     NULL) == 0);
}

/* Each callback submits the next request; the second and third go over the
 * connection the first one opened. */
static void t_reuse_and_submit_from_callback(void)
{
	struct env e;
	struct chain ch = {0};
	struct http_stats st;
	unsigned base;

	srv_reset_counts(&g_srv, &base);
	env_init(&e, 4);
	ch.c = e.c;
	CHECK(submit(e.c, &(struct http_request){.url = url("/ok")}, on_chain, &ch, NULL) == 0);
	run(&e);
	CHECK(ch.n == 3);
	CHECK(ch.r[0].calls == 1 && ch.r[1].calls == 1 && ch.r[2].calls == 1);
	CHECK(ch.r[0].status == 200 && ch.r[1].status == 200 && ch.r[2].status == 200);
	CHECK(!ch.r[0].reused);
	CHECK(ch.r[1].reused && ch.r[2].reused);
	http_get_stats(e.c, &st);
	diag("3 chained GETs: connections_opened %llu, reused %llu, server accepted %u",
	     (unsigned long long)st.connections_opened, (unsigned long long)st.reused,
	     srv_accepted_since(&g_srv, base));
	CHECK(st.connections_opened == 1 && st.reused == 2);
	CHECK(srv_accepted_since(&g_srv, base) == 1);
	env_fini(&e, false);
	rec_free(ch.r, 3);
}

static void t_body_cap(void)
{
	struct env e;
	struct rec r[4];
	struct http_request rq = {.max_response_bytes = 1000};
	const char *paths[] = {"/big/100000", "/bigclose/100000", "/big/1000", "/big/1001"};
	unsigned i;

	memset(r, 0, sizeof(r));
	env_init(&e, 4);
	for (i = 0; i < 4; i++) {
		rq.url = url(paths[i]);
		CHECK(submit(e.c, &rq, on_done, &r[i], NULL) == 0);
	}
	run(&e);
	for (i = 0; i < 4; i++)
		CHECK(r[i].calls == 1);
	diag("cap 1000: /big/100000 -> code %d too_large %d \"%s\"", r[0].curl_code, r[0].too_large,
	     r[0].error);
	for (i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		CHECK(r[i].too_large);
		CHECK(r[i].curl_code == CURLE_WRITE_ERROR);
		CHECK(strcmp(r[i].error, "response larger than 1000 bytes") == 0);
		CHECK(r[i].body_len <= 1000);
	}
	/* exactly at the cap is fine */
	CHECK(!r[2].too_large && r[2].curl_code == 0 && r[2].status == 200);
	CHECK(r[2].body_len == 1000 && strspn(r[2].body, "x") == 1000);
	env_fini(&e, false);
	rec_free(r, 4);
}

/* A listener whose accept queue is full and that never accepts: SYNs are
 * dropped, so the only way out is CURLOPT_CONNECTTIMEOUT_MS through the
 * libuv timer. All on 127.0.0.1. */
static void t_connect_timeout(void)
{
	struct env e;
	struct rec r = {0};
	struct http_request rq = {.connect_timeout_ms = 300, .timeout_ms = 20000};
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct pollfd p;
	int lfd, port, fill[16], nfill = 0, err;
	socklen_t el;
	bool blocked = false;
	char u[128];
	uint64_t t0, took;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	CHECK((lfd = loopback_listener(0, &port)) >= 0);
	a.sin_port = htons((uint16_t)port);
	/* Fill the accept queue until a connect no longer completes. */
	while (nfill < 16 && !blocked) {
		fill[nfill] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		connect(fill[nfill], (struct sockaddr *)&a, sizeof(a));
		p = (struct pollfd){fill[nfill], POLLOUT, 0};
		err = 0;
		el = sizeof(err);
		if (poll(&p, 1, 200) == 0)
			blocked = true;
		else
			getsockopt(fill[nfill], SOL_SOCKET, SO_ERROR, &err, &el);
		nfill++;
	}
	CHECK(blocked);
	env_init(&e, 4);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/never", port);
	rq.url = u;
	t0 = now_ms();
	CHECK(submit(e.c, &rq, on_done, &r, NULL) == 0);
	run(&e);
	took = now_ms() - t0;
	diag("connect timeout 300 ms: done in %llu ms, code %d \"%s\"", (unsigned long long)took,
	     r.curl_code, r.error);
	CHECK(r.calls == 1);
	CHECK(r.curl_code == CURLE_OPERATION_TIMEDOUT);
	CHECK(r.status == 0 && !r.reused);
	CHECK(took >= 280 && took < 2000);
	env_fini(&e, false);
	while (nfill > 0)
		close(fill[--nfill]);
	close(lfd);
	rec_free(&r, 1);
}

static void t_total_timeout(void)
{
	struct env e;
	struct rec r = {0};
	struct http_request rq = {.timeout_ms = 400};
	uint64_t t0, took;

	env_init(&e, 4);
	rq.url = url("/hang");
	t0 = now_ms();
	CHECK(submit(e.c, &rq, on_done, &r, NULL) == 0);
	run(&e);
	took = now_ms() - t0;
	diag("total timeout 400 ms on a hanging server: done in %llu ms, code %d \"%s\"",
	     (unsigned long long)took, r.curl_code, r.error);
	CHECK(r.calls == 1);
	CHECK(r.curl_code == CURLE_OPERATION_TIMEDOUT);
	CHECK(took >= 380 && took < 2000);
	env_fini(&e, false);
	rec_free(&r, 1);
}

static void t_retry_after(void)
{
	struct env e;
	struct rec r[5];
	const char *paths[] = {"/retry/secs", "/retry/date", "/retry/interim", "/retry/past",
			       "/ok"};
	unsigned i;

	memset(r, 0, sizeof(r));
	env_init(&e, 8);
	for (i = 0; i < 5; i++)
		CHECK(get(e.c, paths[i], &r[i]) == 0);
	run(&e);
	diag("Retry-After: seconds %lld, date(+120 s) %lld, after interim %lld, past %lld, "
	     "none %lld",
	     (long long)r[0].retry_after_s, (long long)r[1].retry_after_s,
	     (long long)r[2].retry_after_s, (long long)r[3].retry_after_s,
	     (long long)r[4].retry_after_s);
	CHECK(r[0].status == 503 && r[0].retry_after_s == 7);
	CHECK(r[1].status == 429 && r[1].retry_after_s >= 117 && r[1].retry_after_s <= 121);
	CHECK(r[2].status == 200 && r[2].retry_after_s == -1);
	CHECK(strcmp(r[2].body, "final") == 0);
	CHECK(r[3].status == 429 && r[3].retry_after_s == 0);
	CHECK(r[4].status == 200 && r[4].retry_after_s == -1);
	env_fini(&e, false);
	rec_free(r, 5);
}

static void t_auth(void)
{
	struct env e;
	struct rec r[5];
	struct http_request d = {.digest_user = "u", .digest_password = "secret"};
	struct http_request b = {.basic_user = "u", .basic_password = "pass"};
	struct http_request t = {.bearer = "tok123"};
	struct http_request wrong = {.basic_user = "u", .basic_password = "nope"};
	char auth[1024];
	unsigned i;

	memset(r, 0, sizeof(r));
	env_init(&e, 4);
	d.url = url("/digest");
	CHECK(submit(e.c, &d, on_done, &r[0], NULL) == 0);
	b.url = url("/basic");
	CHECK(submit(e.c, &b, on_done, &r[1], NULL) == 0);
	t.url = url("/bearer");
	CHECK(submit(e.c, &t, on_done, &r[2], NULL) == 0);
	wrong.url = url("/basic");
	CHECK(submit(e.c, &wrong, on_done, &r[3], NULL) == 0);
	CHECK(get(e.c, "/digest", &r[4]) == 0); /* no credentials */
	run(&e);
	for (i = 0; i < 5; i++)
		CHECK(r[i].calls == 1);
	pthread_mutex_lock(&g_srv.mu);
	snprintf(auth, sizeof(auth), "%s", g_srv.last_auth);
	pthread_mutex_unlock(&g_srv.mu);
	diag("digest: status %ld body \"%s\" retry_after %lld; server saw \"%.60s...\"",
	     r[0].status, r[0].body, (long long)r[0].retry_after_s, auth);
	CHECK(r[0].status == 200 && strcmp(r[0].body, "digest ok") == 0);
	/* the 401 of the round trip had Retry-After: 55 and a body: both
	 * belong to that response, not to the final one */
	CHECK(r[0].retry_after_s == -1);
	CHECK(r[1].status == 200 && strcmp(r[1].body, "authed") == 0);
	CHECK(r[2].status == 200 && strcmp(r[2].body, "authed") == 0);
	CHECK(r[3].status == 401);
	CHECK(r[4].status == 401 && r[4].retry_after_s == 55);
	CHECK(strcmp(r[4].body, "denied") == 0);
	env_fini(&e, false);
	rec_free(r, 5);
}

static void t_post_headers_redirect(void)
{
	struct env e;
	struct rec r[4];
	static char big[3000];
	const char *hdrs[] = {"X-Test: 1", NULL};
	struct http_request p = {.method = "POST", .headers = hdrs};
	struct http_request empty = {.method = "POST"};
	char want[64];
	uint64_t t0;

	memset(r, 0, sizeof(r));
	memset(big, 'b', sizeof(big));
	env_init(&e, 4);
	p.url = url("/echo");
	p.body = big;
	p.body_len = sizeof(big);
	t0 = now_ms();
	CHECK(submit(e.c, &p, on_done, &r[0], NULL) == 0);
	empty.url = url("/echo");
	CHECK(submit(e.c, &empty, on_done, &r[1], NULL) == 0);
	CHECK(get(e.c, "/redirect", &r[2]) == 0);
	CHECK(get(e.c, "/hdr", &r[3]) == 0);
	run(&e);
	/* Without "Expect:" suppressed, libcurl would wait 1 s for a 100. */
	CHECK(now_ms() - t0 < 900);
	CHECK(r[0].status == 200);
	CHECK(strncmp(r[0].body, "POST body expect=no xtest=yes\n", 30) == 0);
	CHECK(r[0].body_len == 30 + sizeof(big));
	CHECK(r[0].body_len >= 30 + sizeof(big) && memcmp(r[0].body + 30, big, sizeof(big)) == 0);
	CHECK(r[1].status == 200 && strcmp(r[1].body, "POST nobody expect=no xtest=no\n") == 0);
	CHECK(r[2].status == 302 && r[2].curl_code == 0 && strcmp(r[2].body, "moved") == 0);
	snprintf(want, sizeof(want), "kmswatchd/%s|", PACKAGE_VERSION);
	diag("server saw \"%s\" (User-Agent|Accept-Encoding)", r[3].body);
	CHECK(strncmp(r[3].body, want, strlen(want)) == 0);
	CHECK(strstr(r[3].body, "gzip") != NULL);
	env_fini(&e, false);
	rec_free(r, 4);
}

static void t_failures_via_loop(void)
{
	struct env e;
	struct rec r[3];
	struct http_request rq = {0};
	const char *bad_hdr[] = {"X-A: 1\r\nX-B: 2", NULL};
	char closed_url[128], *huge;
	int fd, port, nsync;
	size_t hl = 9u << 20;
	uint64_t t0;

	memset(r, 0, sizeof(r));
	env_init(&e, 4);
	/* a loopback port nobody listens on: refused at once */
	fd = loopback_listener(1, &port);
	close(fd);
	snprintf(closed_url, sizeof(closed_url), "http://127.0.0.1:%d/", port);
	rq.url = closed_url;
	t0 = now_ms();
	CHECK(submit(e.c, &rq, on_done, &r[0], NULL) == 0);
	/* a protocol outside http,https */
	rq.url = "ftp://127.0.0.1:1/x";
	CHECK(submit(e.c, &rq, on_done, &r[1], NULL) == 0);
	/* a set-up failure: libcurl refuses URLs over 8 MB at setopt time */
	if ((huge = malloc(hl + 1)) == NULL)
		abort();
	memset(huge, 'a', hl);
	memcpy(huge, "http://127.0.0.1/", 17);
	huge[hl] = '\0';
	rq.url = huge;
	CHECK(submit(e.c, &rq, on_done, &r[2], NULL) == 0);
	free(huge);
	nsync = r[0].calls + r[1].calls + r[2].calls;
	CHECK(nsync == 0);
	/* refused synchronously: bad arguments, no callback ever */
	CHECK(submit(e.c, &(struct http_request){.url = "http://127.0.0.1/", .method = "DELETE"},
		     on_done, &r[0], NULL) == -EINVAL);
	/* SigV4 needs its keys, and is one auth scheme among the others */
	CHECK(submit(e.c,
		     &(struct http_request){.url = "http://127.0.0.1/",
					    .aws_sigv4 = "aws:amz:us-east-1:kms"},
		     on_done, &r[0], NULL) == -EINVAL);
	CHECK(submit(e.c,
		     &(struct http_request){.url = "http://127.0.0.1/",
					    .aws_sigv4 = "aws:amz:us-east-1:kms",
					    .aws_key_id = "AKIA", .aws_secret = "s", .bearer = "t"},
		     on_done, &r[0], NULL) == -EINVAL);
	CHECK(submit(e.c,
		     &(struct http_request){
			 .url = "http://127.0.0.1/", .basic_user = "u", .bearer = "t"},
		     on_done, &r[0], NULL) == -EINVAL);
	CHECK(submit(e.c, &(struct http_request){.url = "http://127.0.0.1/", .headers = bad_hdr},
		     on_done, &r[0], NULL) == -EINVAL);
	CHECK(submit(e.c, &(struct http_request){.url = NULL}, on_done, &r[0], NULL) == -EINVAL);
	run(&e);
	diag("refused: code %d \"%s\" in %llu ms; ftp: code %d \"%s\"; set-up: code %d \"%s\"",
	     r[0].curl_code, r[0].error, (unsigned long long)(r[0].at_ms - t0), r[1].curl_code,
	     r[1].error, r[2].curl_code, r[2].error);
	CHECK(r[0].calls == 1 && r[0].curl_code == CURLE_COULDNT_CONNECT);
	CHECK(r[0].at_ms - t0 < 1000);
	CHECK(r[0].error[0] != '\0');
	CHECK(r[1].calls == 1 && r[1].curl_code == CURLE_UNSUPPORTED_PROTOCOL);
	CHECK(r[2].calls == 1 && r[2].curl_code == CURLE_BAD_FUNCTION_ARGUMENT);
	CHECK(strncmp(r[2].error, "cannot set up transfer", 22) == 0);
	CHECK(r[2].body != NULL && r[2].body_len == 0 && r[2].body[0] == '\0');
	env_fini(&e, false);
	rec_free(r, 3);
}

struct cancel_ctx {
	struct http_transfer *victim, *self;
	struct rec r;
};

static void on_cancel_other_and_self(void *ctx, const struct http_response *resp)
{
	struct cancel_ctx *cc = ctx;

	rec_store(&cc->r, resp);
	http_cancel(cc->victim);
	http_cancel(cc->self); /* its own transfer: documented no-op */
}

static void on_cancel_other(void *ctx, const struct http_response *resp)
{
	struct cancel_ctx *cc = ctx;

	rec_store(&cc->r, resp);
	http_cancel(cc->victim);
}

static void on_cancel_timer(uv_timer_t *h)
{
	http_cancel(h->data);
	uv_close((uv_handle_t *)h, NULL);
}

static void t_cancel(void)
{
	struct env e, e1;
	struct rec mid = {0}, q[2], deferred = {0}, victim = {0};
	struct cancel_ctx cc = {0}, cc2;
	struct rec victim2;
	struct http_transfer *tmid, *tq, *tdef;
	struct http_stats st;
	struct http_request rq = {0};
	uv_timer_t tm;
	char *huge;
	size_t hl = 9u << 20;
	uint64_t t0;

	memset(q, 0, sizeof(q));
	/* mid-flight: the server holds the answer 300 ms, we cancel at 50 */
	env_init(&e, 4);
	rq.url = url("/slow/300");
	CHECK(submit(e.c, &rq, on_done, &mid, &tmid) == 0);
	uv_timer_init(&e.loop, &tm);
	tm.data = tmid;
	uv_timer_start(&tm, on_cancel_timer, 50, 0);
	/* a deferred set-up failure, cancelled before the loop delivers it */
	if ((huge = malloc(hl + 1)) == NULL)
		abort();
	memset(huge, 'a', hl);
	memcpy(huge, "http://127.0.0.1/", 17);
	huge[hl] = '\0';
	rq.url = huge;
	CHECK(submit(e.c, &rq, on_done, &deferred, &tdef) == 0);
	free(huge);
	http_cancel(tdef);
	/* a callback that cancels another transfer in flight */
	rq.url = url("/slow/500");
	CHECK(submit(e.c, &rq, on_done, &victim, &cc.victim) == 0);
	rq.url = url("/ok");
	CHECK(submit(e.c, &rq, on_cancel_other, &cc, NULL) == 0);
	t0 = now_ms();
	run(&e);
	CHECK(now_ms() - t0 < 290); /* the loop ended: nothing left in flight */
	CHECK(mid.calls == 0 && deferred.calls == 0 && victim.calls == 0);
	CHECK(cc.r.calls == 1 && cc.r.status == 200);
	http_get_stats(e.c, &st);
	CHECK(st.active == 0 && st.queued == 0);
	CHECK(st.completed == 1 && st.failed == 0);
	env_fini(&e, false);

	/* Two transfers time out in the same timer tick, so both completions
	 * wait in libcurl's message queue: the first callback cancels the
	 * second (and itself, a no-op), which must then never be reported. */
	env_init(&e, 4);
	rq.url = url("/hang");
	rq.timeout_ms = 300;
	memset(&cc2, 0, sizeof(cc2));
	memset(&victim2, 0, sizeof(victim2));
	CHECK(submit(e.c, &rq, on_cancel_other_and_self, &cc2, &cc2.self) == 0);
	CHECK(submit(e.c, &rq, on_done, &victim2, &cc2.victim) == 0);
	run(&e);
	CHECK(cc2.r.calls == 1 && cc2.r.curl_code == CURLE_OPERATION_TIMEDOUT);
	CHECK(victim2.calls == 0);
	http_get_stats(e.c, &st);
	CHECK(st.active == 0 && st.failed == 1 && st.completed == 0);
	env_fini(&e, false);
	rq.timeout_ms = 0;

	/* queued: one slot, the second waits and is cancelled there */
	env_init(&e1, 1);
	rq.url = url("/slow/50");
	CHECK(submit(e1.c, &rq, on_done, &q[0], NULL) == 0);
	rq.url = url("/ok");
	CHECK(submit(e1.c, &rq, on_done, &q[1], &tq) == 0);
	http_get_stats(e1.c, &st);
	CHECK(st.active == 1 && st.queued == 1);
	http_cancel(tq);
	http_get_stats(e1.c, &st);
	CHECK(st.queued == 0);
	run(&e1);
	CHECK(q[0].calls == 1 && q[1].calls == 0);
	env_fini(&e1, false);
	rec_free(&mid, 1);
	rec_free(q, 2);
	rec_free(&deferred, 1);
	rec_free(&victim, 1);
	rec_free(&cc.r, 1);
	rec_free(&cc2.r, 1);
	rec_free(&victim2, 1);
}

struct close_ctx {
	struct env *e;
	struct rec r[8];
	int calls;
};

static void on_close_timer(uv_timer_t *h)
{
	struct env *e = h->data;

	http_client_close(e->c, on_client_closed, &e->closed);
	uv_close((uv_handle_t *)h, NULL);
}

/* Close with 4 transfers in curl and 3 queued: no callbacks, every handle
 * closed, loop closes with 0, well before the server would have answered. */
static void t_close_in_flight(void)
{
	struct env e;
	struct rec r[7];
	uv_timer_t tm;
	unsigned i, calls = 0;
	uint64_t t0;

	memset(r, 0, sizeof(r));
	env_init(&e, 4);
	for (i = 0; i < 7; i++)
		CHECK(get(e.c, "/slow/2000", &r[i]) == 0);
	uv_timer_init(&e.loop, &tm);
	tm.data = &e;
	uv_timer_start(&tm, on_close_timer, 100, 0);
	t0 = now_ms();
	run(&e);
	diag("closed with 4 in flight + 3 queued: loop ended after %llu ms",
	     (unsigned long long)(now_ms() - t0));
	CHECK(now_ms() - t0 < 1500);
	for (i = 0; i < 7; i++)
		calls += (unsigned)r[i].calls;
	CHECK(calls == 0);
	CHECK(e.closed == 1);
	env_fini(&e, true);
	rec_free(r, 7);
}

static void on_close_from_cb(void *ctx, const struct http_response *resp)
{
	struct close_ctx *cx = ctx;

	rec_store(&cx->r[cx->calls++], resp);
	http_client_close(cx->e->c, on_client_closed, &cx->e->closed);
	/* after close: refused, and closing again is harmless */
	CHECK(submit(cx->e->c, &(struct http_request){.url = url("/ok")}, on_done, &cx->r[7],
		     NULL) == -ESHUTDOWN);
	http_client_close(cx->e->c, on_client_closed, &cx->e->closed);
}

/* The first callback closes the client while six more transfers are in
 * flight (some finished in the same batch): exactly one callback. */
static void t_close_from_callback(void)
{
	struct env e;
	struct close_ctx cx = {.e = &e};
	unsigned i;

	env_init(&e, 8);
	for (i = 0; i < 7; i++)
		CHECK(submit(e.c, &(struct http_request){.url = url("/ok")}, on_close_from_cb, &cx,
			     NULL) == 0);
	run(&e);
	CHECK(cx.calls == 1);
	CHECK(cx.r[7].calls == 0);
	CHECK(e.closed == 1);
	env_fini(&e, true);
	rec_free(cx.r, 8);

	/* again with three completions in one batch (same-tick timeouts) */
	memset(&cx, 0, sizeof(cx));
	cx.e = &e;
	env_init(&e, 8);
	for (i = 0; i < 3; i++)
		CHECK(submit(e.c, &(struct http_request){.url = url("/hang"), .timeout_ms = 300},
			     on_close_from_cb, &cx, NULL) == 0);
	run(&e);
	CHECK(cx.calls == 1 && cx.r[0].curl_code == CURLE_OPERATION_TIMEDOUT);
	CHECK(e.closed == 1);
	env_fini(&e, true);
	rec_free(cx.r, 8);
}

static void t_close_idle(void)
{
	struct env e;

	env_init(&e, 1);
	env_fini(&e, false);
	/* invalid arguments */
	CHECK(http_client_new(NULL, 4, &e.c) == -EINVAL);
	CHECK(http_client_new(&e.loop, 0, &e.c) == -EINVAL); /* loop not touched */
}

/* ---- main ------------------------------------------------------------------ */

static void on_alarm(int sig)
{
	static const char msg[] = "not ok - scenario hung (alarm)\n";

	(void)sig;
	if (write(STDOUT_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(2);
}

int main(void)
{
	static const struct {
		const char *name;
		void (*fn)(void);
	} tests[] = {
	    {"GET: status, body, content type, version, stats", t_basic_get},
	    {"50 GETs with max_concurrent 8: never more than 8 active", t_concurrency_50_of_8},
	    {"total timeout measures the transfer, not the queue", t_queue_time_not_counted},
	    {"priority transfers are served first, in order; cancel while queued",
	     t_priority_first},
	    {"connection reuse; callbacks that submit", t_reuse_and_submit_from_callback},
	    {"body cap: too_large, write callback aborts", t_body_cap},
	    {"connect timeout only through the libuv timer", t_connect_timeout},
	    {"total timeout on a hanging server", t_total_timeout},
	    {"Retry-After: seconds, HTTP-date, final response only", t_retry_after},
	    {"auth: digest (401 round trip), basic, bearer", t_auth},
	    {"POST body, headers, no Expect, 3xx not followed, User-Agent",
	     t_post_headers_redirect},
	    {"failures reported through the loop; bad requests refused", t_failures_via_loop},
	    {"cancel: mid-flight, queued, deferred, from a callback", t_cancel},
	    {"close with transfers in flight; uv_loop_close == 0", t_close_in_flight},
	    {"close from inside a done callback", t_close_from_callback},
	    {"close an idle client; argument checks", t_close_idle},
	};
	unsigned i, passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		printf("Bail out! curl_global_init failed\n");
		return 1;
	}
	if (srv_start(&g_srv) < 0) {
		printf("Bail out! cannot start the loopback server: %s\n", strerror(errno));
		return 1;
	}
	printf("1..%zu\n", sizeof(tests) / sizeof(tests[0]));
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		g_scenario = tests[i].name;
		g_checks_failed = 0;
		alarm(120); /* generous: valgrind is slow */
		tests[i].fn();
		alarm(0);
		if (g_checks_failed == 0) {
			passed++;
			printf("ok %u - %s\n", i + 1, g_scenario);
		} else {
			failed++;
			printf("not ok %u - %s\n", i + 1, g_scenario);
		}
	}
	srv_stop(&g_srv);
	curl_global_cleanup();
	printf("%u passed, %u failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
