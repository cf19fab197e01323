/* SPDX-License-Identifier: ISC */
/*
 * gcptoken — see gcptoken.h. The cache is tokens.c's; this file knows how
 * Google issues tokens. The service-account key is parsed and the
 * assertion signed for each fetch (about once an hour), so that the key
 * material is held only by the config and wiped right after use here.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "gcp.h"
#include "gcp_config.h"
#include "gcptoken.h"
#include "http.h"
#include "tokens.h"
#include "util.h"

#define TOKEN_PATH "/computeMetadata/v1/instance/service-accounts/default/token"

static const char *
metadata_base(const struct config *cfg)
{
	return cfg_gcp(cfg)->endpoints.metadata ? cfg_gcp(cfg)->endpoints.metadata : GCP_DEFAULT_METADATA;
}

static int
build(void *owner, const void *arg, struct http_request *out, struct token_scratch *sc,
      char *why, size_t whylen)
{
	const struct config *cfg = arg;
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL};
	static const char *const md[] = {"Metadata-Flavor: Google", "Accept: application/json",
					 NULL};
	struct http_request req = {
		.ca_file = cfg_gcp(cfg)->ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
	struct gcp_sa_key sa;
	char err[256], *jwt = NULL;
	const char *v = cfg_gcp(cfg)->key.value;
	int r;

	(void)owner;
	if (cfg_gcp(cfg)->type == GCPID_METADATA) {
		sc->url = util_asprintf("%s" TOKEN_PATH, metadata_base(cfg));
		req.headers = md;
		req.no_proxy = true;
		req.ca_file = NULL;
	} else {
		r = v ? gcp_parse_sa_key(v, strlen(v), &sa, err, sizeof(err)) : -ENOENT;
		if (r < 0) {
			snprintf(why, whylen, "gcp.identity.key is not a usable service-account key: %s",
				 r == -ENOENT ? "it is not set" : err);
			return r == -ENOMEM ? r : -EINVAL;
		}
		r = gcp_jwt_build(&sa, GCP_KMS_SCOPE, sa.token_uri, util_now(), GCP_JWT_LIFETIME,
				  &jwt, err, sizeof(err));
		if (r < 0) {
			snprintf(why, whylen, "cannot sign the token request with gcp.identity.key: %s",
				 err);
			gcp_sa_key_free(&sa);
			return r;
		}
		/* a JWT is base64url and dots: nothing to escape */
		sc->body = util_asprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type"
					 "%%3Ajwt-bearer&assertion=%s",
					 jwt);
		sc->url = util_strdup(cfg_gcp(cfg)->endpoints.token ? cfg_gcp(cfg)->endpoints.token
							       : sa.token_uri);
		util_free_secret(jwt);
		gcp_sa_key_free(&sa);
		req.method = "POST";
		req.headers = form;
		req.body = sc->body;
		req.body_len = sc->body ? strlen(sc->body) : 0;
	}
	req.url = sc->url;
	if (!sc->url || (req.method && !sc->body)) {
		snprintf(why, whylen, "cannot start the token request: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*out = req;
	return 0;
}

static void
parse(void *owner, const char *label, const struct http_response *resp, struct token_answer *ans)
{
	struct gcp_token tok = {0};
	struct gcp_error terr;
	char err[256] = "";
	int r;

	(void)owner;
	if (tokens_no_answer(resp, label, ans))
		return;
	r = gcp_parse_token(resp->body, resp->body_len, &tok, &terr, err, sizeof(err));
	ans->status = resp->status;
	if (r == -EACCES) {
		snprintf(ans->detail, sizeof(ans->detail), "the %s was refused: %s", label,
			 gcp_token_advice(gcp_token_classify(&terr)));
		if ((ans->error = malloc(sizeof(terr))))
			memcpy(ans->error, &terr, sizeof(terr));
		return;
	}
	if (r < 0 || resp->status != 200) {
		tokens_bad_answer(resp, label, err, ans);
		gcp_token_free(&tok);
		return;
	}
	ans->token = tok.access_token;
	ans->expires_in = tok.expires_in;
	tok.access_token = NULL;
}

static const struct token_source gcp_source = {
	.name = "gcp",
	.build = build,
	.parse = parse,
};

void
gcptokens_forget(struct daemon *d)
{
	tokens_drop_source(d->tokens, &gcp_source);
}

int
gcptoken_get(struct daemon *d, const struct config *cfg, token_fn fn, void *ctx,
	     struct token_waiter **w)
{
	const char *v = cfg_gcp(cfg)->key.value;
	char *key = tokens_key("gcp\n%d\n%s\n%s\n%s", (int)cfg_gcp(cfg)->type, v ? v : "",
			       cfg_gcp(cfg)->endpoints.token ? cfg_gcp(cfg)->endpoints.token : "",
			       metadata_base(cfg));
	int r = key ? tokens_get(d->tokens, &gcp_source, NULL, key,
				 cfg_gcp(cfg)->type == GCPID_METADATA
					 ? "Google token of the metadata server's service account"
					 : "Google token of gcp.identity.key",
				 cfg, fn, ctx, w)
		    : -ENOMEM;

	util_free_secret(key);
	return r;
}
