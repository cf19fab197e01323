/*
 * aztoken — see aztoken.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aztoken.h"
#include "daemon.h"
#include "fetch.h"
#include "log.h"
#include "util.h"
#include "waitlist.h"

struct aztoken_waiter {
	struct wait_link link;
	struct aztoken_entry *entry;
	aztoken_fn fn;
	void *ctx;
};

struct aztoken_entry {
	struct aztoken_entry *next;
	struct aztokens *owner;
	char *key;             /* identity + resource: treated as a secret */
	char *label;           /* "Key Vault token of client 1111..." for messages */
	char *token;
	int64_t refresh_at_ms;
	struct fetch *fetch;
	struct waitlist waiters;
};

struct aztokens {
	struct daemon *d;
	struct aztoken_entry *entries;
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

int
aztokens_new(struct daemon *d, struct aztokens **out)
{
	struct aztokens *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	t->d = d;
	*out = t;
	return 0;
}

static void
entry_free(struct aztoken_entry *e)
{
	if (e->fetch)
		fetch_cancel(e->fetch);
	for (struct wait_link *l; (l = waitlist_pop(&e->waiters));)
		free(waitlist_entry(l, struct aztoken_waiter, link));
	util_free_secret(e->key);
	util_free_secret(e->token);
	free(e->label);
	free(e);
}

void
aztokens_reset(struct aztokens *t)
{
	while (t->entries) {
		struct aztoken_entry *e = t->entries;

		t->entries = e->next;
		entry_free(e);
	}
}

void
aztokens_free(struct aztokens *t)
{
	if (!t)
		return;
	aztokens_reset(t);
	free(t);
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
	return util_asprintf("%d\n%s\n%s\n%s\n%s\n%s\n%s", (int)id->type,
			     id->tenant_id ? id->tenant_id : "", id->client_id ? id->client_id : "",
			     id->client_secret.value ? id->client_secret.value : "",
			     id->token_file ? id->token_file : "",
			     id->type == AZID_MANAGED_IDENTITY ? ep->imds : ep->login,
			     resource_of(ep, r, false));
}

static void
finish(struct aztoken_entry *e, const char *token, int status,
       const struct azure_token_error *terr, const char *detail)
{
	waitlist_deliver(&e->waiters);
	for (struct wait_link *l; (l = waitlist_next(&e->waiters));) {
		struct aztoken_waiter *w = waitlist_entry(l, struct aztoken_waiter, link);

		w->fn(w->ctx, token, status, terr, detail);
		free(w);
	}
}

static void
on_token(void *ctx, const struct http_response *resp, unsigned retries)
{
	struct aztoken_entry *e = ctx;
	struct azure_token tok = {0};
	struct azure_token_error terr = {0};
	char err[256] = "", msg[768];
	int64_t margin;
	int r;

	e->fetch = NULL;
	if (resp->curl_code != 0) {
		snprintf(msg, sizeof(msg), "cannot get the %s: %s", e->label, resp->error);
		finish(e, NULL, 0, NULL, msg);
		return;
	}
	r = azure_parse_token(resp->body, resp->body_len, &tok, &terr, err, sizeof(err));
	if (r == -EACCES) {
		snprintf(msg, sizeof(msg), "the %s was refused: %s", e->label,
			 azure_token_advice(terr.cause));
		finish(e, NULL, (int)resp->status, &terr, msg);
		return;
	}
	if (r < 0 || resp->status != 200) {
		snprintf(msg, sizeof(msg), "cannot get the %s: HTTP %ld%s%s", e->label,
			 resp->status, *err ? ", " : "", err);
		azure_token_free(&tok);
		finish(e, NULL, (int)resp->status, NULL, msg);
		return;
	}
	margin = tok.expires_in >= 600 ? 60 : tok.expires_in / 10;
	util_free_secret(e->token);
	e->token = tok.access_token;
	tok.access_token = NULL;
	e->refresh_at_ms = util_now_mono_ms() + (tok.expires_in - margin) * 1000;
	azure_token_free(&tok);
	log_debug("azure: new %s (retries %u)", e->label, retries);
	finish(e, e->token, 200, NULL, NULL);
}

static int
start_fetch(struct aztokens *t, struct aztoken_entry *e, const struct cfg_azure_identity *id,
	    const struct azure_endpoints *ep, enum az_resource res, const char *ca_file,
	    char *why, size_t whylen)
{
	const struct config *cfg = t->d->cfg;
	static const char *const form[] = {"Content-Type: application/x-www-form-urlencoded",
					   "Accept: application/json", NULL};
	static const char *const imds[] = {"Metadata: true", "Accept: application/json", NULL};
	struct http_request req = {
		.ca_file = ca_file,
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

			r = id->token_file ? util_read_file(id->token_file, 64 * 1024, &raw, &alen)
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
	r = url && (req.method == NULL || body) ? fetch_start(t->d, &req, FETCH_RETRIES, on_token, e,
							     &e->fetch)
					       : -ENOMEM;
	if (r < 0)
		snprintf(why, whylen, "cannot start the token request: %s", strerror(-r));
	free(url);
	util_free_secret(body);
	util_free_secret(secret);
	util_free_secret(assertion);
	free(scope);
	return r;
}

static struct aztoken_entry *
find_entry(struct aztokens *t, const char *key)
{
	for (struct aztoken_entry *e = t->entries; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

int
aztoken_get(struct aztokens *t, const struct cfg_azure_identity *id,
	    const struct azure_endpoints *ep, enum az_resource res, const char *ca_file,
	    aztoken_fn fn, void *ctx, struct aztoken_waiter **out)
{
	char *key = entry_key(id, ep, res), why[512];
	struct aztoken_entry *e;
	struct aztoken_waiter *w;
	int r;

	if (out)
		*out = NULL;
	if (!key)
		return -ENOMEM;
	e = find_entry(t, key);
	if (e) {
		util_free_secret(key);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e) {
			util_free_secret(key);
			return -ENOMEM;
		}
		e->owner = t;
		e->key = key;
		waitlist_init(&e->waiters);
		e->label = util_asprintf("%s token of Azure client %s", az_resource_name(res),
					 id->client_id ? id->client_id
					 : id->type == AZID_MANAGED_IDENTITY ? "(system-assigned managed identity)"
									     : "?");
		if (!e->label) {
			entry_free(e);
			return -ENOMEM;
		}
		e->next = t->entries;
		t->entries = e;
	}
	if (e->token && util_now_mono_ms() < e->refresh_at_ms) {
		fn(ctx, e->token, 200, NULL, NULL);
		return 0;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->entry = e;
	w->fn = fn;
	w->ctx = ctx;
	waitlist_add(&e->waiters, &w->link);
	if (!e->fetch) {
		r = start_fetch(t, e, id, ep, res, ca_file, why, sizeof(why));
		if (r < 0) {
			waitlist_remove(&e->waiters, &w->link);
			free(w);
			fn(ctx, NULL, 0, NULL, why);
			return 0;
		}
	}
	if (out)
		*out = w;
	return 0;
}

void
aztoken_cancel(struct aztokens *t, struct aztoken_waiter *w)
{
	struct aztoken_entry *e = w->entry;

	if (waitlist_remove(&e->waiters, &w->link))
		free(w);
}

void
aztoken_invalidate(struct aztokens *t, const char *token)
{
	for (struct aztoken_entry *e = t->entries; e; e = e->next)
		if (e->token && token && strcmp(e->token, token) == 0) {
			util_free_secret(e->token);
			e->token = NULL;
			e->refresh_at_ms = 0;
		}
}
