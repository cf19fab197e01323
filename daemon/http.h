/* SPDX-License-Identifier: ISC */
/*
 * http — libcurl's multi interface driven by the libuv loop. One multi
 * handle serves the whole daemon, so connections (and TLS sessions) are
 * reused across polls and projects and HTTP/2 is used where the server
 * offers it. Transfers beyond max_concurrent wait in a FIFO here, so a poll
 * cycle over many projects runs concurrently but bounded. Every callback
 * runs on the loop thread.
 *
 * Call every function here from the loop thread. curl_global_init() is the
 * caller's job: main calls it once, before any client exists, and
 * curl_global_cleanup() after the loop is closed.
 */
#ifndef KMSWATCH_HTTP_H
#define KMSWATCH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct http_client;
struct http_transfer;

struct http_request {
	const char *method;            /* "GET" (default), "POST" or "PUT" (with body) */
	const char *url;
	const char *const *headers;    /* NULL-terminated "Name: value" list */
	const char *body;              /* POST body, copied */
	size_t body_len;
	/* at most one auth scheme; strings are copied and wiped after use */
	const char *digest_user, *digest_password; /* HTTP Digest (MD5, SHA-256) */
	const char *basic_user, *basic_password;
	const char *bearer;
	/* AWS Signature V4 by libcurl: "aws:amz:REGION:SERVICE" with the
	 * access key id and secret access key (a session token, if any, is
	 * an X-Amz-Security-Token header the caller adds: it is signed) */
	const char *aws_sigv4, *aws_key_id, *aws_secret;
	const char *ca_file;           /* NULL: system trust store */
	int64_t connect_timeout_ms;    /* 0: 10 s */
	int64_t timeout_ms;            /* total, from when the transfer starts; 0: 30 s */
	size_t max_response_bytes;     /* 0: 4 MiB; a larger body fails the transfer */
	bool no_proxy;                 /* never through a proxy (IMDS must not be) */
	/* "HOST:PORT:CONNECT_HOST:CONNECT_PORT": connect elsewhere while the
	 * URL's host stays the TLS name and Host header (private endpoints) */
	const char *connect_to;
	/* Served before every other waiting transfer (notifications: a sink
	 * has at most one request out, so these cannot crowd out polling). */
	bool priority;
	/* For the metrics: which service this is ("atlas", "azure", ...), a
	 * string that outlives the transfer (a literal); NULL: "other". */
	const char *service;
};

struct http_response {
	long status;            /* HTTP status of the final answer, 0 if none */
	int curl_code;          /* CURLcode, 0 on success */
	char error[256];        /* readable transport error, "" when none */
	bool too_large;         /* the body exceeded max_response_bytes */
	char *body;             /* NUL-terminated, possibly empty; owned by http */
	size_t body_len;
	int64_t retry_after_s;  /* Retry-After (seconds or HTTP-date), -1 absent */
	char content_type[128];
	long http_version;      /* 10, 11 or 20 (HTTP/1.0, 1.1, 2) */
	int64_t total_ms;
	int64_t total_us;
	bool reused;            /* the connection was reused (no new connect) */
};

/* Called exactly once per submitted transfer unless it was cancelled.
 * The response and its body are valid only during the call. */
typedef void (*http_done_fn)(void *ctx, const struct http_response *resp);

int http_client_new(uv_loop_t *loop, int max_concurrent, struct http_client **out);
/* Returns 0, -EINVAL, -ENOMEM, or -ENOTSUP when the libcurl found at run
 * time lacks an asynchronous resolver (CURL_VERSION_ASYNCHDNS: every DNS
 * lookup would block the loop) or predates 7.85.0 (CURLOPT_PROTOCOLS_STR). */
/* Cancels every transfer (no callbacks), cleans up the multi handle and
 * closes the libuv handles; `done` runs once they are all closed, after
 * which the client memory is freed. Safe to call with transfers in flight. */
void http_client_close(struct http_client *c, void (*done)(void *), void *arg);
/* `done` may be NULL; c must not be used once `done` returns, and every
 * struct http_transfer of c is invalid from this call on. A second call is
 * ignored. It may be called from inside a done callback. */

/* Queue a transfer; *out (optional) can be used to cancel it. Returns 0 or
 * -ENOMEM/-EINVAL. The callback is never called from inside http_submit. */
int http_submit(struct http_client *c, const struct http_request *req,
		http_done_fn fn, void *ctx, struct http_transfer **out);
/* Also -ESHUTDOWN once http_client_close was called. A request libcurl
 * refuses while it is being set up is not an error here: it completes
 * through the loop with curl_code and error set. */
/* Abort a transfer; its callback is not called. */
void http_cancel(struct http_transfer *t);
/* t is valid only until its callback returns; from inside its own callback
 * http_cancel(t) does nothing. NULL is ignored. */

/* Told of every finished transfer (not of cancelled ones), from the loop:
 * its service, HTTP status (0: none), CURLcode and total time. */
typedef void (*http_observer_fn)(void *arg, const char *service, long status, int curl_code,
				 int64_t total_us);
void http_client_set_observer(struct http_client *c, http_observer_fn fn, void *arg);

/* Counters for STATUS= and the benchmark. */
/* started: transfers handed to libcurl; completed: curl_code 0, whatever
 * the HTTP status; failed: every other completion (including too_large);
 * cancelled transfers count in neither. connections_opened sums
 * CURLINFO_NUM_CONNECTS; reused counts responses with reused set. */
struct http_stats {
	uint64_t started, completed, failed, connections_opened, reused;
	unsigned active, queued;
};
void http_get_stats(const struct http_client *c, struct http_stats *out);

#endif
