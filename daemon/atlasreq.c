/* SPDX-License-Identifier: ISC */
/*
 * atlasreq — see atlasreq.h.
 */
#include "autoconfig.h"

#include <stdio.h>

#include "atlas.h"
#include "atlasreq.h"
#include "checks.h"
#include "http.h"
#include "auth.h"
#include "config.h"
#include "daemon.h"

static int
get_token(void *arg, token_fn fn, void *ctx, struct token_waiter **w)
{
	struct daemon *d = arg;

	return auth_get_token(d->auth, fn, ctx, w);
}

int
atlasreq_get(struct daemon *d, const char *url, const char *accept, unsigned flags,
	     restreq_fn fn, void *ctx, struct restreq **out)
{
	const struct config *cfg = d->cfg;
	bool authed = !(flags & ATLASREQ_UNAUTHENTICATED);
	struct restreq_spec spec = {
		.url = url,
		.accept = accept,
		.ca_file = cfg->atlas.ca_file,
		.service = "atlas",
	};

	if (authed && cfg->atlas.auth == ATLAS_AUTH_API_KEY) {
		spec.digest_user = cfg->atlas.public_key;
		spec.digest_password = cfg->atlas.private_key.value;
	} else if (authed) {
		spec.get_token = get_token;
		spec.token_arg = d;
	}
	return restreq_get(d, &spec, fn, ctx, out);
}

bool
atlasreq_outcome(const struct restreq_result *res, struct atlas_fetch *fetch,
		 struct atlas_error *apierr)
{
	const struct http_response *resp = res->resp;

	*fetch = (struct atlas_fetch){.retries = res->retries};
	if (!resp) {
		fetch->outcome = res->token_failed ? ATLAS_FETCH_AUTH : ATLAS_FETCH_TRANSPORT;
		fetch->http_status = (int)res->token_status;
		snprintf(fetch->detail, sizeof(fetch->detail), "%s", res->error);
		return false;
	}
	fetch->http_status = (int)resp->status;
	if (resp->curl_code != 0) {
		fetch->outcome = ATLAS_FETCH_TRANSPORT;
		snprintf(fetch->detail, sizeof(fetch->detail), "%s", resp->error);
		return false;
	}
	if (resp->status != 200) {
		fetch->outcome = ATLAS_FETCH_HTTP;
		if (atlas_parse_error(resp->body, resp->body_len, apierr) == 0)
			fetch->error = apierr;
		return false;
	}
	fetch->outcome = ATLAS_FETCH_OK;
	return true;
}
