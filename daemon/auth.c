/* SPDX-License-Identifier: ISC */
/*
 * auth — see auth.h. The cache itself is tokens.c's; this file knows how
 * Atlas issues service-account tokens.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atlas.h"
#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "tokens.h"
#include "util.h"

#define AUTH_LABEL "Atlas service-account token"

struct auth {
	struct daemon *d;
	const struct config *cfg;
	char *key; /* the credentials' fingerprint: a secret, wiped */
};

int
auth_new(struct daemon *d, struct auth **out)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	a->d = d;
	*out = a;
	return 0;
}

void
auth_free(struct auth *a)
{
	if (!a)
		return;
	util_free_secret(a->key);
	free(a);
}

/* What identifies the credentials, so that a reload with the same ones
 * keeps the token and new ones get a new token (tokens_key hashes it). */
static char *
cred_key(const struct config *cfg)
{
	if (cfg->atlas.auth != ATLAS_AUTH_SERVICE_ACCOUNT)
		return NULL;
	return tokens_key("atlas\n%s\n%s\n%s", cfg->atlas.base_url, cfg->atlas.client_id,
			  cfg->atlas.client_secret.value ? cfg->atlas.client_secret.value : "");
}

static int
build(void *owner, const void *arg, struct http_request *req, struct token_scratch *sc,
      char *why, size_t whylen)
{
	static const char *const headers[] = {
		"Accept: application/json",
		"Content-Type: application/x-www-form-urlencoded",
		NULL,
	};
	static const char body[] = "grant_type=client_credentials";
	const struct config *cfg = arg;

	(void)owner;
	if (!(sc->url = atlas_token_url(cfg->atlas.base_url))) {
		snprintf(why, whylen, "cannot start the token request (out of memory)");
		return -ENOMEM;
	}
	*req = (struct http_request){
		.method = "POST",
		.url = sc->url,
		.headers = headers,
		.body = body,
		.body_len = sizeof(body) - 1,
		.basic_user = cfg->atlas.client_id,
		.basic_password = cfg->atlas.client_secret.value,
		.ca_file = cfg->atlas.ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
	return 0;
}

static void
parse(void *owner, const char *label, const struct http_response *resp, struct token_answer *ans)
{
	struct auth *a = owner;
	char err[256] = "";
	int r;

	(void)label;
	if (resp->curl_code != 0) {
		snprintf(ans->detail, sizeof(ans->detail), "token request to %s/api/oauth/token failed: %s",
			 a->cfg->atlas.base_url, resp->error);
		return;
	}
	r = atlas_parse_token(resp->body, resp->body_len, &ans->token, &ans->expires_in, err,
			      sizeof(err));
	if (resp->status == 200 && r == 0)
		return;
	if (resp->status == 200)
		snprintf(ans->detail, sizeof(ans->detail),
			 "token endpoint answered 200 with an unusable body: %s", err);
	else
		snprintf(ans->detail, sizeof(ans->detail), "token endpoint answered HTTP %ld%s%s",
			 resp->status, *err ? ": " : "", err);
	util_free_secret(ans->token);
	ans->token = NULL;
	ans->status = resp->status ? resp->status : 502;
}

static const struct token_source atlas_source = {
	.name = "atlas",
	.build = build,
	.parse = parse,
};

void
auth_configure(struct auth *a, const struct config *cfg)
{
	char *key = cred_key(cfg);

	a->cfg = cfg;
	if (!util_streq(key, a->key))
		tokens_rekey(a->d->tokens, a->key, key, cfg);
	util_free_secret(a->key);
	a->key = key;
}

int
auth_get_token(struct auth *a, token_fn fn, void *ctx, struct token_waiter **w)
{
	if (!a->key)
		return -EINVAL; /* not a service account */
	return tokens_get(a->d->tokens, &atlas_source, a, a->key, AUTH_LABEL, a->cfg, fn, ctx, w);
}
