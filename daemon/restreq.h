/* SPDX-License-Identifier: ISC */
/*
 * restreq — one read of a REST API, the way every read of the daemon goes
 * (Atlas, Microsoft Graph, Key Vault, ARM; AWS and Google next): a bearer
 * token from the token cache when the read needs one, the Accept header,
 * the shared retry policy (fetch), and one fresh token when the service
 * answers 401 to a token it may have revoked. What to read and how to
 * judge the answer is the caller's.
 */
#ifndef KMSWATCH_RESTREQ_H
#define KMSWATCH_RESTREQ_H

#include <stdbool.h>
#include <stddef.h>

#include "tokens.h"

struct daemon;
struct http_response;
struct restreq;

struct restreq_result {
	/* The final answer (after retries), or NULL when no request could
	 * be made: then error says why, without any secret. */
	const struct http_response *resp;
	const char *error;
	/* resp is NULL because no token could be had: the token endpoint's
	 * HTTP status (0 when it never answered) and the source's
	 * classified refusal, if any (tokens.h). */
	bool token_failed;
	long token_status;
	const void *token_error;
	unsigned retries; /* transient failures retried before this result */
};
typedef void (*restreq_fn)(void *ctx, const struct restreq_result *res);

/* How a read gets its bearer token: tokens_get through the identity's
 * module (auth_get_token, aztoken_get), bound to arg. */
typedef int (*restreq_token_fn)(void *arg, token_fn fn, void *ctx, struct token_waiter **w);

struct restreq_spec {
	const char *url;
	const char *accept;            /* media type; NULL: application/json */
	const char *ca_file;           /* NULL: the system trust store */
	const char *connect_to;        /* see struct http_request */
	restreq_token_fn get_token;    /* NULL: no bearer token */
	void *token_arg;               /* must outlive the read */
	const char *digest_user, *digest_password; /* instead of a token */
	/* a POST of this body instead of a GET (copied) */
	const char *body;
	size_t body_len;
	const char *const *headers; /* extra "Name: value" lines (at most 4), copied */
	/* AWS Signature V4 scope ("aws:amz:REGION:SERVICE"): the "token" that
	 * get_token hands out is then credentials, "AKID\nSECRET[\nSESSION]",
	 * which libcurl signs with; a session token goes in the signed
	 * X-Amz-Security-Token header */
	const char *aws_sigv4;
	/* Whether an answer says the token was refused, so that one fresh
	 * token is tried; NULL: HTTP 401 does. */
	bool (*token_refused)(const struct http_response *resp);
	/* Answers to retry with backoff beside fetch's own (NULL: none). */
	bool (*also_transient)(const struct http_response *resp);
	/* For the metrics: the service read ("atlas", "azure"), a literal */
	const char *service;
};

/* Everything in spec is copied except token_arg. fn may run before this
 * returns; *out is set first and cleared by nothing but the caller (clear
 * it in fn). */
int restreq_get(struct daemon *d, const struct restreq_spec *spec, restreq_fn fn, void *ctx,
		struct restreq **out);
/* No callback after this. NULL is ignored. */
void restreq_cancel(struct restreq *q);

#endif
