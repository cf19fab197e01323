/* SPDX-License-Identifier: ISC */
/*
 * tokens — the one cache of bearer tokens for every identity kmswatch
 * uses: Atlas's service account (auth.c), its Entra identity per Azure
 * resource (aztoken.c), and whatever a new provider brings. An entry per
 * key (identity and audience, hashed: see tokens_key): fetched on
 * first use, cached until shortly before it expires, dropped when a
 * service answers 401 to it; concurrent requests for it wait on one fetch,
 * which retries transient failures (fetch's policy) once for all of them.
 *
 * How to ask for a token and how to read the answer is the identity's
 * business, a struct token_source; the cache never looks inside either.
 */
#ifndef KMSWATCH_TOKENS_H
#define KMSWATCH_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct http_request;
struct http_response;
struct tokens;
struct token_waiter;

/* What a waiter gets; every pointer is valid only during the call. */
struct token_result {
	const char *token;  /* NULL on failure */
	long status;        /* failure: the token endpoint's HTTP status, 0 without one */
	const char *detail; /* failure: what went wrong, without any secret */
	const void *error;  /* failure: the source's classified error, or NULL */
	unsigned retries;   /* transient failures retried (0 for a cached token) */
};
typedef void (*token_fn)(void *ctx, const struct token_result *res);

/* A source's reading of one answer of its token endpoint. */
struct token_answer {
	char *token;          /* success: the token (util_free_secret), else NULL */
	int64_t expires_in;   /* success: seconds */
	/* success: refresh this many seconds before expiry (0: the cache's
	 * default, a minute, or a tenth of a short lifetime) */
	int64_t refresh_margin;
	long status;          /* failure: as in token_result */
	char detail[768];     /* failure: as in token_result */
	void *error;          /* failure: malloc'ed classified error, or NULL */
	/* Sources that need several requests (IMDSv2: a session token, the
	 * role name, the credentials): in, which request this answers (0 the
	 * first) and what the source carried over from the previous one;
	 * out, instead of a token, again = true and what to carry to the next
	 * request (a secret: wiped), which build_next builds. */
	unsigned step;
	const char *carry;
	bool again;
	char *next_carry;
};

/* The owned strings of a built request, wiped and freed by the cache. */
struct token_scratch {
	char *url, *body, *extra;
	char *keys; /* what a signed request signs with */
};

struct token_source {
	const char *name; /* "atlas", "azure": for debug lines and the metrics'
			     service label of its token requests */
	/* Build the request for arg (the caller's identity, used only during
	 * the call); strings it allocates go in sc. 0, or a negative errno
	 * with why set. */
	int (*build)(void *owner, const void *arg, struct http_request *req,
		     struct token_scratch *sc, char *why, size_t whylen);
	/* Read an answer (curl_code already 0) for the entry labelled so. */
	void (*parse)(void *owner, const char *label, const struct http_response *resp,
		      struct token_answer *ans);
	/* Multi-request sources only (NULL otherwise): the request of step
	 * (1, 2, ...) from what parse carried over. */
	int (*build_next)(void *owner, unsigned step, const char *carry, struct http_request *req,
			  struct token_scratch *sc, char *why, size_t whylen);
	/* Answers to retry with backoff beside fetch's own (NULL: none). */
	bool (*also_transient)(const struct http_response *resp);
};

/* For a source's parse(): the answer's failures every source words the
 * same. tokens_no_answer: true (detail set) when there was no answer at
 * all; tokens_bad_answer: detail for an answer that gave no token (HTTP
 * status and the parser's err, which may be ""). */
bool tokens_no_answer(const struct http_response *resp, const char *label,
		      struct token_answer *ans);
void tokens_bad_answer(const struct http_response *resp, const char *label, const char *err,
		       struct token_answer *ans);

/* The cache key for an identity: SHA-256 (hex) of the printf-formatted
 * description of it, secret included, so that new credentials get a new
 * token while the cache compares and keeps no copy of the secret. The
 * description is wiped. NULL on ENOMEM. */
char *tokens_key(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int tokens_new(struct daemon *d, struct tokens **out);
/* Pending waiters are dropped without callbacks. */
void tokens_free(struct tokens *t);

/* fn gets a token for key: at once (before this returns) when one is
 * cached or the request cannot even be built, else when the fetch ends.
 * label names the token in messages ("Key Vault token of Azure client
 * ..."); owner is handed back to the source. *w (optional) cancels the
 * wait; it is NULL when fn already ran. Returns 0 or -ENOMEM (then fn
 * does not run). */
int tokens_get(struct tokens *t, const struct token_source *src, void *owner, const char *key,
	       const char *label, const void *arg, token_fn fn, void *ctx, struct token_waiter **w);
/* No callback after this. NULL is ignored. */
void tokens_cancel(struct token_waiter *w);
/* A service refused this token (401): fetch a new one next time. */
void tokens_invalidate(struct tokens *t, const char *token);
/* Forget every entry of this source (a reload may change identities);
 * their waiters are dropped without callbacks. */
void tokens_drop_source(struct tokens *t, const struct token_source *src);
/* The identity behind old_key changed to new_key (NULL: gone): its token
 * is dropped, a fetch in flight (for the old credentials) is abandoned,
 * and its waiters get a fetch with arg's credentials instead. */
void tokens_rekey(struct tokens *t, const char *old_key, const char *new_key, const void *arg);

#endif
