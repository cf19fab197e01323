/* SPDX-License-Identifier: ISC */
/*
 * atlasreq — see atlasreq.h.
 */
#include "autoconfig.h"

#include "atlasreq.h"
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
