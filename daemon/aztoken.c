/* SPDX-License-Identifier: ISC */
/*
 * aztoken — see aztoken.h. The cache itself is tokens.c's; this file knows
 * how Entra ID and IMDS issue tokens and what their refusals mean.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aztoken.h"
#include "azure_config.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

/* What one token is for, handed to build() during tokens_get. */
struct aztoken_for {
	const struct cfg_azure_identity *id;
	const struct azure_endpoints *ep;
	enum az_resource res;
	const char *ca_file;
	const struct config *cfg;
};

const char *
az_resource_name(enum az_resource r)
{
	switch (r) {
	case AZRES_KEY_VAULT:
		return "Key Vault";
	case AZRES_ARM:
		return "Azure Resource Manager";
	case AZRES_GRAPH:
		return "Microsoft Graph";
	}
	return "?";
}

static const char *
resource_of(const struct azure_endpoints *ep, enum az_resource r, bool scope)
{
	switch (r) {
	case AZRES_KEY_VAULT:
		return scope ? ep->kv_scope : ep->kv_resource;
	case AZRES_ARM:
		return scope ? ep->arm_scope : ep->arm_resource;
	case AZRES_GRAPH:
		return scope ? ep->graph_scope : ep->graph_resource;
	}
	return "";
}

static char *
entry_key(const struct cfg_azure_identity *id, const struct azure_endpoints *ep,
	  enum az_resource r)
{
	return tokens_key("azure\n%d\n%s\n%s\n%s\n%s\n%s\n%s", (int)id->type,
			  id->tenant_id ? id->tenant_id : "", id->client_id ? id->client_id : "",
			  id->client_secret.value ? id->client_secret.value : "",
			  id->token_file ? id->token_file : "",
			  id->type == AZID_MANAGED_IDENTITY ? ep->imds : ep->login,
			  resource_of(ep, r, false));
}

static int
build(void *owner, const void *arg, struct http_request *out, struct token_scratch *sc,
      char *why, size_t whylen)
{
	const struct aztoken_for *f = arg;
	const struct cfg_azure_identity *id = f->id;
	const struct azure_endpoints *ep = f->ep;
	enum az_resource res = f->res;
	const struct config *cfg = f->cfg;

	(void)owner;
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL};
	static const char *const imds[] = {"Metadata: true", "Accept: application/json", NULL};
	struct http_request req = {
		.ca_file = f->ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
	char *url = NULL, *body = NULL, *scope = NULL, *secret = NULL, *assertion = NULL;
	size_t alen = 0;
	int r;

	if (id->type == AZID_MANAGED_IDENTITY) {
		char *resource = util_urlencode(resource_of(ep, res, false));
		char *cid = id->client_id ? util_urlencode(id->client_id) : NULL;

		url = resource ? util_asprintf("%s/metadata/identity/oauth2/token?api-version=2018-02-01"
					       "&resource=%s%s%s",
					       ep->imds, resource, cid ? "&client_id=" : "",
					       cid ? cid : "")
			       : NULL;
		free(resource);
		free(cid);
		req.headers = imds;
		req.no_proxy = true;
		req.ca_file = NULL;
	} else {
		scope = util_urlencode(resource_of(ep, res, true));
		url = util_asprintf("%s/%s/oauth2/v2.0/token", ep->login, id->tenant_id);
		if (id->type == AZID_CLIENT_SECRET) {
			secret = util_urlencode(id->client_secret.value ? id->client_secret.value : "");
			body = scope && secret
				       ? util_asprintf("client_id=%s&scope=%s&client_secret=%s"
						       "&grant_type=client_credentials",
						       id->client_id, scope, secret)
				       : NULL;
		} else {
			/* Workload identity: the federated token is re-read for
			 * every request, since Kubernetes rotates the file. */
			char *raw = NULL;

			r = id->token_file ? util_read_file(id->token_file, 64 * 1024, 0, &raw, &alen)
					   : -ENOENT;
			if (r < 0) {
				snprintf(why, whylen, "cannot read the federated token file %s: %s",
					 id->token_file ? id->token_file : "(none configured)",
					 strerror(-r));
				free(scope);
				free(url);
				return r;
			}
			while (alen && (raw[alen - 1] == '\n' || raw[alen - 1] == '\r' ||
					raw[alen - 1] == ' '))
				raw[--alen] = '\0';
			assertion = util_urlencode(raw);
			util_free_secret(raw);
			body = scope && assertion
				       ? util_asprintf(
						 "client_id=%s&scope=%s&client_assertion_type="
						 "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type"
						 "%%3Ajwt-bearer&client_assertion=%s"
						 "&grant_type=client_credentials",
						 id->client_id, scope, assertion)
				       : NULL;
		}
		req.method = "POST";
		req.headers = form;
		req.body = body;
		req.body_len = body ? strlen(body) : 0;
	}
	req.url = url;
	/* the cache wipes and frees these once the fetch has its copy */
	sc->url = url;
	sc->body = body;
	util_free_secret(secret);
	util_free_secret(assertion);
	free(scope);
	if (!url || (req.method != NULL && !body)) {
		snprintf(why, whylen, "cannot start the token request: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	*out = req;
	return 0;
}


static void
parse(void *owner, const char *label, const struct http_response *resp, struct token_answer *ans)
{
	struct azure_token tok = {0};
	struct azure_token_error terr = {0};
	char err[256] = "";
	int r;

	(void)owner;
	if (tokens_no_answer(resp, label, ans))
		return;
	r = azure_parse_token(resp->body, resp->body_len, &tok, &terr, err, sizeof(err));
	ans->status = resp->status;
	if (r == -EACCES) {
		snprintf(ans->detail, sizeof(ans->detail), "the %s was refused: %s", label,
			 azure_token_advice(terr.cause));
		if ((ans->error = malloc(sizeof(terr))))
			memcpy(ans->error, &terr, sizeof(terr));
		return;
	}
	if (r < 0 || resp->status != 200) {
		tokens_bad_answer(resp, label, err, ans);
		azure_token_free(&tok);
		return;
	}
	ans->token = tok.access_token;
	ans->expires_in = tok.expires_in;
	tok.access_token = NULL;
	azure_token_free(&tok);
}

static const struct token_source azure_source = {
	.name = "azure",
	.build = build,
	.parse = parse,
};

void
aztokens_forget(struct daemon *d)
{
	tokens_drop_source(d->tokens, &azure_source);
}

int
aztoken_get(struct daemon *d, const struct cfg_azure_identity *id,
	    const struct azure_endpoints *ep, enum az_resource res, const char *ca_file,
	    token_fn fn, void *ctx, struct token_waiter **w)
{
	struct aztoken_for f = {.id = id, .ep = ep, .res = res, .ca_file = ca_file, .cfg = d->cfg};
	char *key = entry_key(id, ep, res), *label;
	int r;

	label = util_asprintf("%s token of Azure client %s", az_resource_name(res),
			      id->client_id ? id->client_id
			      : id->type == AZID_MANAGED_IDENTITY ? "(system-assigned managed identity)"
								  : "?");
	r = key && label ? tokens_get(d->tokens, &azure_source, NULL, key, label, &f, fn, ctx, w)
			 : -ENOMEM;
	util_free_secret(key);
	free(label);
	return r;
}
