/* SPDX-License-Identifier: ISC */
/*
 * azure — Azure without I/O: the cloud endpoint table, the parsers for
 * Entra ID / IMDS tokens, Microsoft Graph applications, Key Vault keys,
 * versions, rotation policies and errors, ARM vaults and role assignments,
 * ISO 8601 durations, and the key identifier grammar. It owns the strings
 * of the structs it fills (the *_free functions). The checks built on these
 * live in azure_checks.c.
 *
 * Parsing policy (see also atlas.c): every field optional, null = absent,
 * unknown fields ignored, duplicates and wrong types rejected with the
 * field named. Timestamps follow each API's own convention (Key Vault:
 * Unix seconds; Graph and ARM: ISO 8601 strings; rotation policy: ISO 8601
 * durations; IMDS: numbers as strings) and are rejected, not guessed, when
 * they do not have that form. Error bodies are read best effort.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "azure.h"
#include "azure_config.h"
#include "cidr.h"
#include "config.h"
#include "json.h"
#include "util.h"

/* A non-negative decimal number, as a JSON integer or a string of digits
 * (IMDS sends expires_in and expires_on as strings). */
static int
get_num_or_digits(json_t *o, const char *k, bool *has, int64_t *out, char *err, size_t errlen)
{
	json_t *v = kj_field(o, k);

	if (v == NULL)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		*has = true;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t n = strlen(s);
		int64_t x = 0;

		if (n > 0 && n <= 18 && strspn(s, "0123456789") == n) {
			for (size_t i = 0; i < n; i++)
				x = x * 10 + (s[i] - '0');
			*out = x;
			*has = true;
			return 0;
		}
	}
	kj_seterr(err, errlen, "%s is not a non-negative number", k);
	return -EBADMSG;
}

/* ---- clouds ---------------------------------------------------------- */

static const struct cloud {
	enum azure_cloud id;
	const char *atlas, *login, *management, *graph, *vault_suffix;
} clouds[] = {
	{AZURE_CLOUD_PUBLIC, "AZURE", "https://login.microsoftonline.com",
	 "https://management.azure.com", "https://graph.microsoft.com", "vault.azure.net"},
	{AZURE_CLOUD_CHINA, "AZURE_CHINA", "https://login.chinacloudapi.cn",
	 "https://management.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn",
	 "vault.azure.cn"},
	/* Graph: GCC High; DoD tenants override graph (the Atlas value cannot
	 * tell the two apart) */
	{AZURE_CLOUD_US_GOV, "AZURE_US_GOVERNMENT", "https://login.microsoftonline.us",
	 "https://management.usgovcloudapi.net", "https://graph.microsoft.us",
	 "vault.usgovcloudapi.net"},
};

#define AZURE_IMDS_DEFAULT "http://169.254.169.254"

static const struct cloud *
cloud_entry(enum azure_cloud c)
{
	for (size_t i = 0; i < ARRAY_SIZE(clouds); i++)
		if (clouds[i].id == c)
			return &clouds[i];
	return NULL;
}

enum azure_cloud
azure_cloud_from_atlas(const char *env)
{
	if (env == NULL || env[0] == '\0')
		return AZURE_CLOUD_PUBLIC;
	for (size_t i = 0; i < ARRAY_SIZE(clouds); i++)
		if (strcasecmp(env, clouds[i].atlas) == 0)
			return clouds[i].id;
	return AZURE_CLOUD_UNKNOWN;
}

const char *
azure_cloud_atlas_name(enum azure_cloud c)
{
	const struct cloud *e = cloud_entry(c);

	return e != NULL ? e->atlas : "";
}

/*
 * Token audiences. An override of management or graph changes where
 * requests go; it changes the audience only when its host is itself a
 * public Azure service host (or a subdomain of one), because Entra issues
 * tokens for those resources only: a private link, a proxy or a test
 * server (https://10.0.0.5, https://127.0.0.1:8443) as the audience is
 * refused with AADSTS500011. The DoD Graph host is the case this exists
 * for: its tokens are for https://dod-graph.microsoft.us.
 */
static const char *const arm_hosts[] = {
	"management.azure.com",
	"management.chinacloudapi.cn",
	"management.usgovcloudapi.net",
};
static const char *const graph_hosts[] = {
	"graph.microsoft.com",
	"microsoftgraph.chinacloudapi.cn",
	"graph.microsoft.us",
	"dod-graph.microsoft.us",
};

/* The known host that host is, or is a subdomain of; NULL when none. */
static const char *
known_host(const char *host, const char *const *hosts, size_t n)
{
	size_t hl = strlen(host);

	for (size_t i = 0; i < n; i++) {
		size_t kl = strlen(hosts[i]);

		if (hl == kl && strcasecmp(host, hosts[i]) == 0)
			return hosts[i];
		if (hl > kl && host[hl - kl - 1] == '.' && strcasecmp(host + hl - kl, hosts[i]) == 0)
			return hosts[i];
	}
	return NULL;
}

/*
 * Checks a URL override and copies it, without trailing slashes, to out;
 * its host name (lower case, no port, no trailing dot; "" for an IP
 * literal) goes to host. http(s) only, a non-empty host, an optional
 * numeric port, no user information, query, fragment, whitespace or
 * control characters.
 */
static int
url_override(const char *url, const char *key, char *out, size_t outlen, char *host,
	     size_t hostlen, char *err, size_t errlen)
{
	const char *a, *p;
	size_t n = strlen(url), alen, hl;

	if (strncasecmp(url, "https://", 8) == 0)
		a = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		a = url + 7;
	else {
		kj_seterr(err, errlen, "azure.endpoints.%s is not an http(s) URL", key);
		return -EINVAL;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '\\') {
			kj_seterr(err, errlen,
				  "azure.endpoints.%s has a character not allowed in a base URL "
				  "(a query, a fragment, a space or a control character)",
				  key);
			return -EINVAL;
		}
	alen = strcspn(a, "/");
	if (memchr(a, '@', alen) != NULL) {
		kj_seterr(err, errlen, "azure.endpoints.%s has user information", key);
		return -EINVAL;
	}
	if (a[0] == '[') {
		/* an IPv6 literal: never an Azure service host */
		const char *close = memchr(a, ']', alen);

		if (close == NULL || close == a + 1) {
			kj_seterr(err, errlen, "azure.endpoints.%s has a malformed IPv6 host", key);
			return -EINVAL;
		}
		p = close + 1;
		hl = 0;
	} else {
		hl = strcspn(a, ":/");
		if (hl > alen)
			hl = alen;
		p = a + hl;
	}
	if (p < a + alen) {
		size_t pl = alen - (size_t)(p - a) - 1;

		if (*p != ':' || pl == 0 || pl > 5 || strspn(p + 1, "0123456789") < pl) {
			kj_seterr(err, errlen, "azure.endpoints.%s has a malformed port", key);
			return -EINVAL;
		}
	}
	if (alen == 0 || (a[0] != '[' && hl == 0)) {
		kj_seterr(err, errlen, "azure.endpoints.%s has no host", key);
		return -EINVAL;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= outlen) {
		kj_seterr(err, errlen, "azure.endpoints.%s is too long", key);
		return -ENAMETOOLONG;
	}
	memcpy(out, url, n);
	out[n] = '\0';
	if (hl > 0 && a[hl - 1] == '.')
		hl--;
	if (hl >= hostlen) {
		kj_seterr(err, errlen, "azure.endpoints.%s is too long", key);
		return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < hl; i++)
		host[i] = (char)(a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i]);
	host[hl] = '\0';
	return 0;
}

static int check_suffix(const char *s, size_t n, char *err, size_t errlen);

static int
set_scope(char *resource, char *scope, const char *origin)
{
	if ((size_t)snprintf(resource, AZURE_URL_MAX, "%s", origin) >= AZURE_URL_MAX ||
	    (size_t)snprintf(scope, AZURE_URL_MAX, "%s/.default", origin) >= AZURE_URL_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* "https://{host}" as the audience of one service. */
static int
set_audience(char *resource, char *scope, const char *host)
{
	char origin[AZURE_URL_MAX];

	if ((size_t)snprintf(origin, sizeof(origin), "https://%s", host) >= sizeof(origin))
		return -ENAMETOOLONG;
	return set_scope(resource, scope, origin);
}

static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* The management or graph override: where requests go, and the audience
 * when its host is a public Azure service host. */
static int
service_override(const char *url, const char *key, const char *const *hosts, size_t n_hosts,
		 char *dst, char *resource, char *scope, char *err, size_t errlen)
{
	char host[AZURE_URL_MAX];
	const char *known;
	int r = url_override(url, key, dst, AZURE_URL_MAX, host, sizeof(host), err, errlen);

	if (r < 0)
		return r;
	known = known_host(host, hosts, n_hosts);
	if (known != NULL && set_audience(resource, scope, known) < 0) {
		kj_seterr(err, errlen, "azure.endpoints.%s is too long", key);
		return -ENAMETOOLONG;
	}
	return 0;
}

int
azure_endpoints_resolve(const char *atlas_env, const struct cfg_azure_endpoints *ovr,
			struct azure_endpoints *out, char *err, size_t errlen)
{
	const struct cloud *e;
	char scratch[AZURE_URL_MAX];
	int r = 0;

	kj_clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->cloud = azure_cloud_from_atlas(atlas_env);
	e = cloud_entry(out->cloud);
	/* an environment kmswatch does not know, with the vault suffix of
	 * one it does: that cloud's hosts and audiences are the defaults */
	for (size_t i = 0; e == NULL && ovr != NULL && set(ovr->vault_suffix) &&
			   i < ARRAY_SIZE(clouds);
	     i++)
		if (strcasecmp(ovr->vault_suffix, clouds[i].vault_suffix) == 0)
			e = &clouds[i];
	if (e != NULL) {
		/* the table's strings all fit AZURE_URL_MAX */
		snprintf(out->login, sizeof(out->login), "%s", e->login);
		snprintf(out->management, sizeof(out->management), "%s", e->management);
		snprintf(out->graph, sizeof(out->graph), "%s", e->graph);
		snprintf(out->vault_suffix, sizeof(out->vault_suffix), "%s", e->vault_suffix);
		r = set_scope(out->arm_resource, out->arm_scope, e->management);
		if (r == 0)
			r = set_scope(out->graph_resource, out->graph_scope, e->graph);
	}
	snprintf(out->imds, sizeof(out->imds), "%s", AZURE_IMDS_DEFAULT);
	if (r == 0 && ovr != NULL) {
		if (set(ovr->login))
			r = url_override(ovr->login, "login", out->login, sizeof(out->login),
					 scratch, sizeof(scratch), err, errlen);
		if (r == 0 && set(ovr->management))
			r = service_override(ovr->management, "management", arm_hosts,
					     ARRAY_SIZE(arm_hosts), out->management,
					     out->arm_resource, out->arm_scope, err, errlen);
		if (r == 0 && set(ovr->graph))
			r = service_override(ovr->graph, "graph", graph_hosts,
					     ARRAY_SIZE(graph_hosts), out->graph,
					     out->graph_resource, out->graph_scope, err, errlen);
		if (r == 0 && set(ovr->key_vault))
			r = url_override(ovr->key_vault, "key_vault", out->key_vault,
					 sizeof(out->key_vault), scratch, sizeof(scratch), err,
					 errlen);
		if (r == 0 && set(ovr->imds))
			r = url_override(ovr->imds, "imds", out->imds, sizeof(out->imds), scratch,
					 sizeof(scratch), err, errlen);
		if (r == 0 && set(ovr->vault_suffix)) {
			size_t n = strlen(ovr->vault_suffix);

			/* "https://" + suffix + "/.default" must fit too */
			if (n + 17 >= sizeof(out->vault_suffix)) {
				kj_seterr(err, errlen, "azure.endpoints.vault_suffix is too long");
				r = -ENAMETOOLONG;
			} else if (check_suffix(ovr->vault_suffix, n, NULL, 0) < 0) {
				kj_seterr(err, errlen,
					  "azure.endpoints.vault_suffix is not a DNS suffix "
					  "such as vault.azure.net");
				r = -EINVAL;
			} else {
				for (size_t i = 0; i <= n; i++)
					out->vault_suffix[i] =
						(char)(ovr->vault_suffix[i] >= 'A' &&
								       ovr->vault_suffix[i] <= 'Z'
							       ? ovr->vault_suffix[i] + 32
							       : ovr->vault_suffix[i]);
			}
		}
	}
	/* Key Vault's audience is the suffix, whatever address (key_vault)
	 * the requests are sent to */
	if (r == 0 && out->vault_suffix[0] != '\0')
		r = set_audience(out->kv_resource, out->kv_scope, out->vault_suffix);
	if (r == -ENAMETOOLONG && (err == NULL || err[0] == '\0'))
		kj_seterr(err, errlen, "an azure.endpoints value is too long");
	if (r == 0 && (out->login[0] == '\0' || out->management[0] == '\0' ||
		       out->graph[0] == '\0' || out->vault_suffix[0] == '\0' ||
		       out->arm_resource[0] == '\0' || out->graph_resource[0] == '\0')) {
		/* only an unknown environment gets here */
		kj_seterr(err, errlen,
			  "azureEnvironment \"%.40s\" is unknown: set azure.endpoints login, "
			  "management, graph and vault_suffix to its hosts (the token audiences "
			  "come from management and graph if Azure service hosts, else from a "
			  "known vault_suffix)",
			  atlas_env != NULL ? atlas_env : "");
		r = -ENOENT;
	}
	if (r < 0) {
		enum azure_cloud c = out->cloud;

		memset(out, 0, sizeof(*out));
		out->cloud = c;
	}
	return r;
}

/* ---- tokens ---------------------------------------------------------- */

static const struct {
	long long code;
	enum azure_token_cause cause;
} known_codes[] = {
	{7000222, AZTOK_SECRET_EXPIRED}, {7000215, AZTOK_SECRET_INVALID},
	{700016, AZTOK_APP_NOT_FOUND},   {90002, AZTOK_TENANT_NOT_FOUND},
	{70011, AZTOK_INVALID_SCOPE},
};

static enum azure_token_cause
cause_of(long long code)
{
	for (size_t i = 0; i < ARRAY_SIZE(known_codes); i++)
		if (known_codes[i].code == code)
			return known_codes[i].cause;
	return AZTOK_OTHER;
}

enum azure_token_cause
azure_token_classify(const long long *codes, size_t n, const char *description)
{
	for (size_t i = 0; codes != NULL && i < n; i++)
		if (cause_of(codes[i]) != AZTOK_OTHER)
			return cause_of(codes[i]);
	/* error_codes is what Microsoft says to branch on; the "AADSTSnnn:"
	 * prefix of the description is the fallback for proxies and older
	 * endpoints that drop the array */
	for (const char *p = description; p != NULL && (p = strstr(p, "AADSTS")) != NULL;) {
		long long code = 0;
		int digits = 0;

		for (p += 6; *p >= '0' && *p <= '9' && digits < 12; p++, digits++)
			code = code * 10 + (*p - '0');
		if (digits > 0 && cause_of(code) != AZTOK_OTHER)
			return cause_of(code);
	}
	return AZTOK_OTHER;
}

const char *
azure_token_advice(enum azure_token_cause c)
{
	switch (c) {
	case AZTOK_SECRET_EXPIRED:
		return "the client secret of kmswatch's own Azure application has expired: create "
		       "a new secret for it in Entra ID (Certificates & secrets) and update "
		       "azure.identity.client_secret";
	case AZTOK_SECRET_INVALID:
		return "Entra ID rejects kmswatch's client secret: azure.identity.client_secret "
		       "must hold the secret's value (not its secret ID) of the application "
		       "named by client_id";
	case AZTOK_APP_NOT_FOUND:
		return "Entra ID knows no application with kmswatch's client_id in that tenant: "
		       "check azure.identity.client_id and tenant_id";
	case AZTOK_TENANT_NOT_FOUND:
		return "Entra ID knows no such tenant: check azure.identity.tenant_id, and "
		       "azure.endpoints.login for a sovereign cloud";
	case AZTOK_INVALID_SCOPE:
		return "Entra ID rejected the token scope: the project's azureEnvironment or "
		       "azure.endpoints name a service of another cloud";
	case AZTOK_OTHER:
		break;
	}
	return "Entra ID refused kmswatch's token request: check azure.identity (tenant_id, "
	       "client_id and the credential)";
}

static void
token_error(json_t *root, json_t *e, struct azure_token_error *t)
{
	json_t *codes = kj_field(root, "error_codes"), *v;
	const char *desc = kj_str(root, "error_description");
	size_t i;

	util_copy_sanitized(t->error, sizeof(t->error), json_string_value(e));
	if (desc != NULL)
		util_copy_sanitized(t->description, sizeof(t->description), desc);
	json_array_foreach(codes, i, v) {
		if (t->n_codes < AZURE_TOKEN_MAX_CODES && json_is_integer(v))
			t->codes[t->n_codes++] = json_integer_value(v);
	}
	t->cause = azure_token_classify(t->codes, t->n_codes, t->description);
}

int
azure_parse_token(const char *body, size_t len, struct azure_token *tok,
		  struct azure_token_error *terr, char *err, size_t errlen)
{
	json_t *root, *at, *e;
	bool has_in = false;
	int64_t on = 0;
	int r = 0;

	if (terr != NULL)
		memset(terr, 0, sizeof(*terr));
	r = kj_begin(body, len, JSON_REJECT_DUPLICATES, tok, sizeof(*tok), &root, err, errlen);
	if (r < 0)
		return r;
	at = kj_field(root, "access_token");
	e = kj_field(root, "error");
	if (json_is_string(e)) {
		struct azure_token_error tmp = {0};

		token_error(root, e, &tmp);
		kj_seterr(err, errlen, "%s%s%s", tmp.error, tmp.description[0] ? ": " : "",
			  tmp.description);
		if (terr != NULL)
			*terr = tmp;
		r = -EACCES;
	} else if (kj_bearer_token(root, err, errlen) == NULL) {
		r = -EBADMSG;
	}
	if (r == 0)
		r = get_num_or_digits(root, "expires_in", &has_in, &tok->expires_in, err, errlen);
	if (r == 0)
		r = get_num_or_digits(root, "expires_on", &tok->has_expires_on, &on, err, errlen);
	if (r == 0 && tok->has_expires_on) {
		if ((int64_t)(time_t)on != on) {
			kj_seterr(err, errlen, "expires_on is out of range");
			r = -EBADMSG;
		}
		tok->expires_on = (time_t)on;
	}
	if (r == 0 && (!has_in || tok->expires_in <= 0)) {
		kj_seterr(err, errlen, "expires_in is missing or not a positive number of seconds");
		r = -EBADMSG;
	}
	if (r == 0) {
		tok->access_token = strdup(json_string_value(at));
		if (tok->access_token == NULL)
			r = kj_enomem(err, errlen);
	}
	kj_wipe(at);
	json_decref(root);
	if (r < 0) {
		util_free_secret(tok->access_token);
		memset(tok, 0, sizeof(*tok));
	}
	return r;
}

void
azure_token_free(struct azure_token *tok)
{
	if (tok == NULL)
		return;
	util_free_secret(tok->access_token);
	memset(tok, 0, sizeof(*tok));
}

/* ---- Graph ----------------------------------------------------------- */

void
azure_graph_app_free(struct azure_graph_app *a)
{
	if (a == NULL)
		return;
	free(a->id);
	free(a->app_id);
	free(a->display_name);
	for (size_t i = 0; i < a->n_creds; i++) {
		free(a->creds[i].key_id);
		free(a->creds[i].display_name);
		free(a->creds[i].hint);
	}
	free(a->creds);
	memset(a, 0, sizeof(*a));
}

/* where: "value[2].passwordCredentials[0]." */
static int
parse_cred(json_t *c, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_password_credential *out = dst;
	int r;

	r = kj_get_str(c, "keyId", where, &out->key_id, err, errlen);
	if (r == 0)
		r = kj_get_str(c, "displayName", where, &out->display_name, err, errlen);
	if (r == 0)
		r = kj_get_str(c, "hint", where, &out->hint, err, errlen);
	if (r == 0)
		r = kj_get_iso(c, "startDateTime", where, &out->has_start, &out->start, err,
			       errlen);
	if (r == 0)
		r = kj_get_iso(c, "endDateTime", where, &out->has_end, &out->end, err, errlen);
	return r;
}

/* where: "" for a single application, "value[3]." for a list item */
static int
parse_app(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_graph_app *a = dst;
	char name[KJ_WHERE_MAX];
	json_t *creds;
	void *v = NULL;
	int r;

	r = kj_get_str(o, "id", where, &a->id, err, errlen);
	if (r == 0)
		r = kj_get_str(o, "appId", where, &a->app_id, err, errlen);
	if (r == 0)
		r = kj_get_str(o, "displayName", where, &a->display_name, err, errlen);
	if (r == 0)
		r = kj_get_array(o, "passwordCredentials", where, &creds, err, errlen);
	if (r < 0 || creds == NULL)
		return r;
	a->has_password_credentials = true;
	snprintf(name, sizeof(name), "%spasswordCredentials", where);
	r = kj_get_objects(creds, name, sizeof(*a->creds), &v, &a->n_creds, parse_cred, err,
			   errlen);
	a->creds = v;
	return r;
}

int
azure_parse_graph_app(const char *body, size_t len, struct azure_graph_app *out, char *err,
		      size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), parse_app, err,
			 errlen);

	if (r < 0)
		azure_graph_app_free(out);
	return r;
}

void
azure_graph_app_list_free(struct azure_graph_app_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		azure_graph_app_free(&l->v[i]);
	free(l->v);
	free(l->next_link);
	memset(l, 0, sizeof(*l));
}

/* A page of a list: value[] read with fn into a new vector of elem_size
 * elements (*v, *n), and the link to the next page (next_key) to *next. */
static int
read_page(json_t *root, const char *next_key, kj_item_fn *fn, size_t elem_size, void **v,
	  size_t *n, char **next, char *err, size_t errlen)
{
	json_t *value = NULL;
	int r;

	r = kj_get_array(root, "value", "", &value, err, errlen);
	if (r == 0)
		r = kj_get_str(root, next_key, "", next, err, errlen);
	if (r == 0)
		r = kj_get_objects(value, "value", elem_size, v, n, fn, err, errlen);
	return r;
}

static int
read_app_list(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_graph_app_list *out = dst;
	void *v = NULL;
	int r = read_page(root, "@odata.nextLink", parse_app, sizeof(*out->v), &v, &out->n,
			  &out->next_link, err, errlen);

	out->v = v;
	return r;
}

int
azure_parse_graph_app_list(const char *body, size_t len, struct azure_graph_app_list *out,
			   char *err, size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_app_list, err,
			 errlen);

	if (r < 0)
		azure_graph_app_list_free(out);
	return r;
}

/* ---- Key Vault keys -------------------------------------------------- */

void
azure_kv_key_free(struct azure_kv_key *k)
{
	if (k == NULL)
		return;
	free(k->kid);
	free(k->kty);
	kj_strv_free(k->key_ops, k->n_key_ops);
	free(k->attr.recovery_level);
	for (size_t i = 0; i < k->n_tags; i++) {
		free(k->tags[i].name);
		free(k->tags[i].value);
	}
	free(k->tags);
	memset(k, 0, sizeof(*k));
}

static int
parse_attrs(json_t *a, const char *where, struct azure_kv_attributes *out, char *err,
	    size_t errlen)
{
	int r = kj_get_tri(a, "enabled", where, &out->enabled, err, errlen);

	if (r == 0)
		r = kj_get_unix(a, "nbf", where, &out->has_nbf, &out->nbf, err, errlen);
	if (r == 0)
		r = kj_get_unix(a, "exp", where, &out->has_exp, &out->exp, err, errlen);
	if (r == 0)
		r = kj_get_unix(a, "created", where, &out->has_created, &out->created, err, errlen);
	if (r == 0)
		r = kj_get_unix(a, "updated", where, &out->has_updated, &out->updated, err, errlen);
	if (r == 0)
		r = kj_get_str(a, "recoveryLevel", where, &out->recovery_level, err, errlen);
	return r;
}

static int
parse_tags(json_t *t, const char *where, struct azure_kv_key *k, char *err, size_t errlen)
{
	const char *name;
	json_t *v;
	size_t i = 0;

	if (json_object_size(t) == 0)
		return 0;
	json_object_foreach(t, name, v) {
		if (!json_is_string(v)) {
			kj_seterr(err, errlen, "%stags.%s is not a string", where, name);
			return -EBADMSG;
		}
	}
	k->tags = calloc(json_object_size(t), sizeof(*k->tags));
	if (k->tags == NULL)
		return kj_enomem(err, errlen);
	json_object_foreach(t, name, v) {
		k->n_tags = ++i;
		k->tags[i - 1].name = strdup(name);
		k->tags[i - 1].value = strdup(json_string_value(v));
		if (k->tags[i - 1].name == NULL || k->tags[i - 1].value == NULL)
			return kj_enomem(err, errlen);
	}
	return 0;
}

/* where: "" for a bundle, "value[3]." for a versions item */
static int
parse_key(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_kv_key *k = dst;
	json_t *key, *attrs, *tags;
	char w[KJ_WHERE_MAX];
	int r;

	r = kj_get_object(o, "key", where, &key, err, errlen);
	if (r == 0 && key != NULL) {
		snprintf(w, sizeof(w), "%skey.", where);
		r = kj_get_str(key, "kid", w, &k->kid, err, errlen);
		if (r == 0)
			r = kj_get_str(key, "kty", w, &k->kty, err, errlen);
		if (r == 0)
			r = kj_get_strv(key, "key_ops", w, &k->key_ops, &k->n_key_ops, err, errlen);
	}
	/* versions items carry kid at the top; a bundle's key.kid wins */
	if (r == 0 && k->kid == NULL)
		r = kj_get_str(o, "kid", where, &k->kid, err, errlen);
	if (r == 0)
		r = kj_get_object(o, "attributes", where, &attrs, err, errlen);
	if (r == 0 && attrs != NULL) {
		snprintf(w, sizeof(w), "%sattributes.", where);
		r = parse_attrs(attrs, w, &k->attr, err, errlen);
	}
	if (r == 0)
		r = kj_get_object(o, "tags", where, &tags, err, errlen);
	if (r == 0 && tags != NULL)
		r = parse_tags(tags, where, k, err, errlen);
	if (r == 0)
		r = kj_get_tri(o, "managed", where, &k->managed, err, errlen);
	return r;
}

int
azure_parse_kv_key(const char *body, size_t len, struct azure_kv_key *out, char *err,
		   size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), parse_key, err,
			 errlen);

	if (r < 0)
		azure_kv_key_free(out);
	return r;
}

void
azure_kv_versions_free(struct azure_kv_versions *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->n; i++)
		azure_kv_key_free(&v->v[i]);
	free(v->v);
	free(v->next_link);
	memset(v, 0, sizeof(*v));
}

static int
read_versions(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_kv_versions *out = dst;
	void *v = NULL;
	int r = read_page(root, "nextLink", parse_key, sizeof(*out->v), &v, &out->n,
			  &out->next_link, err, errlen);

	out->v = v;
	return r;
}

int
azure_parse_kv_versions(const char *body, size_t len, struct azure_kv_versions *out, char *err,
			size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_versions, err,
			 errlen);

	if (r < 0)
		azure_kv_versions_free(out);
	return r;
}

/* ---- durations and rotation policies --------------------------------- */

int
azure_parse_iso_duration(const char *s, int64_t *seconds)
{
	/* designators in the only order ISO 8601 allows */
	static const struct {
		char unit;
		bool time;
		int64_t mult;
	} units[] = {
		{'Y', false, 365 * 86400}, {'M', false, 30 * 86400}, {'W', false, 7 * 86400},
		{'D', false, 86400},       {'H', true, 3600},        {'M', true, 60},
		{'S', true, 1},
	};
	size_t next = 0;
	bool in_time = false, any = false, any_time = false;
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || (*p != 'P' && *p != 'p'))
		return -EINVAL;
	p++;
	while (*p != '\0') {
		int64_t n = 0;
		const char *digits = p;
		size_t u;

		if ((*p == 'T' || *p == 't') && !in_time) {
			in_time = true;
			p++;
			while (next < ARRAY_SIZE(units) && !units[next].time)
				next++;
			continue;
		}
		while (*p >= '0' && *p <= '9') {
			if (n > (INT64_MAX - (*p - '0')) / 10)
				return -ERANGE;
			n = n * 10 + (*p++ - '0');
		}
		if (p == digits)
			return -EINVAL;
		for (u = next; u < ARRAY_SIZE(units) && units[u].time == in_time; u++)
			if ((*p & ~0x20) == units[u].unit)
				break;
		if (u == ARRAY_SIZE(units) || units[u].time != in_time)
			return -EINVAL; /* no, unknown or out-of-order designator */
		if (n > INT64_MAX / units[u].mult || total > INT64_MAX - n * units[u].mult)
			return -ERANGE;
		total += n * units[u].mult;
		any = true;
		any_time |= in_time;
		next = u + 1;
		p++;
	}
	if (!any || (in_time && !any_time))
		return -EINVAL; /* "P", "PT", "P1DT" */
	if (seconds != NULL)
		*seconds = total;
	return 0;
}

static int
get_duration(json_t *o, const char *k, const char *where, bool *has, int64_t *out, char *err,
	     size_t errlen)
{
	const char *s;
	int r = kj_get_cstr(o, k, where, &s, err, errlen);

	if (r < 0 || s == NULL)
		return r;
	if (azure_parse_iso_duration(s, out) < 0) {
		kj_seterr(err, errlen, "%s%s is not an ISO 8601 duration: \"%.32s\"", where, k, s);
		return -EBADMSG;
	}
	*has = true;
	return 0;
}

void
azure_rotation_policy_free(struct azure_rotation_policy *p)
{
	if (p == NULL)
		return;
	free(p->id);
	for (size_t i = 0; i < p->n_actions; i++)
		free(p->actions[i].action_type);
	free(p->actions);
	memset(p, 0, sizeof(*p));
}

/* where: "lifetimeActions[2]." */
static int
parse_lifetime_action(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_lifetime_action *a = dst;
	json_t *trigger, *action;
	char w[KJ_WHERE_MAX];
	int r;

	r = kj_get_object(o, "trigger", where, &trigger, err, errlen);
	if (r == 0 && trigger != NULL) {
		snprintf(w, sizeof(w), "%strigger.", where);
		r = get_duration(trigger, "timeAfterCreate", w, &a->has_after_create,
				 &a->after_create, err, errlen);
		if (r == 0)
			r = get_duration(trigger, "timeBeforeExpiry", w, &a->has_before_expiry,
					 &a->before_expiry, err, errlen);
	}
	if (r == 0)
		r = kj_get_object(o, "action", where, &action, err, errlen);
	if (r == 0 && action != NULL) {
		snprintf(w, sizeof(w), "%saction.", where);
		r = kj_get_str(action, "type", w, &a->action_type, err, errlen);
	}
	if (r == 0 && a->action_type != NULL)
		a->action = strcasecmp(a->action_type, "Rotate") == 0	 ? AZACT_ROTATE
			    : strcasecmp(a->action_type, "Notify") == 0 ? AZACT_NOTIFY
									 : AZACT_UNKNOWN;
	return r;
}

static int
read_rotation_policy(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_rotation_policy *out = dst;
	json_t *actions = NULL, *attrs;
	void *v = NULL;
	int r;

	r = kj_get_str(root, "id", where, &out->id, err, errlen);
	if (r == 0)
		r = kj_get_array(root, "lifetimeActions", where, &actions, err, errlen);
	if (r == 0)
		r = kj_get_objects(actions, "lifetimeActions", sizeof(*out->actions), &v,
				   &out->n_actions, parse_lifetime_action, err, errlen);
	out->actions = v;
	if (r == 0)
		r = kj_get_object(root, "attributes", where, &attrs, err, errlen);
	if (r == 0 && attrs != NULL) {
		r = get_duration(attrs, "expiryTime", "attributes.", &out->has_expiry_time,
				 &out->expiry_time, err, errlen);
		if (r == 0)
			r = kj_get_unix(attrs, "created", "attributes.", &out->has_created,
					&out->created, err, errlen);
		if (r == 0)
			r = kj_get_unix(attrs, "updated", "attributes.", &out->has_updated,
					&out->updated, err, errlen);
	}
	return r;
}

int
azure_parse_rotation_policy(const char *body, size_t len, struct azure_rotation_policy *out,
			    char *err, size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_rotation_policy,
			 err, errlen);

	if (r < 0)
		azure_rotation_policy_free(out);
	return r;
}

const struct azure_lifetime_action *
azure_rotation_policy_rotate(const struct azure_rotation_policy *p)
{
	for (size_t i = 0; p != NULL && i < p->n_actions; i++)
		if (p->actions[i].action == AZACT_ROTATE)
			return &p->actions[i];
	return NULL;
}

/* ---- error bodies ---------------------------------------------------- */

static json_t *
inner_of(json_t *o)
{
	json_t *v = json_object_get(o, "innererror");

	if (!json_is_object(v))
		v = json_object_get(o, "innerError");
	return json_is_object(v) ? v : NULL;
}

/* The address after "Client address:" when it is a plain IP address. */
static void
client_address(const char *msg, char *out, size_t outlen)
{
	const char *p = msg != NULL ? strstr(msg, "Client address:") : NULL;
	char ip[48];
	struct cidr c;
	unsigned flags;
	size_t n;

	out[0] = '\0';
	if (p == NULL)
		return;
	p += strlen("Client address:");
	p += strspn(p, " \t");
	n = strspn(p, "0123456789abcdefABCDEF.:");
	/* the address is a word of its own ("1.2.3.4/8", "1.2.3.4:5" or
	 * "1.2.3.4x" are not an address) ... */
	if (p[n] != '\0' && strchr(" \t\r\n,;)\"'", p[n]) == NULL)
		return;
	/* ... and "Client address: 203.0.113.7." ends a sentence: an
	 * address never ends with a dot */
	while (n > 0 && p[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(ip))
		return;
	memcpy(ip, p, n);
	ip[n] = '\0';
	/* only an address is worth quoting; anything else could be a message
	 * format kmswatch does not know */
	if (cidr_parse(ip, &c, &flags) == 0 && (flags & CIDR_F_BARE))
		snprintf(out, outlen, "%s", ip);
}

int
azure_parse_error(const char *body, size_t len, struct azure_error *out)
{
	json_t *root, *e;
	const char *code = NULL, *msg = NULL;
	int r;

	r = kj_begin(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), &root, NULL, 0);
	if (r < 0)
		return r;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		code = kj_str(e, "code");
		msg = kj_str(e, "message");
		/* innererror nests to any depth; the innermost code is the
		 * specific one (Forbidden -> ForbiddenByFirewall). jansson's
		 * own depth limit bounds the walk. */
		for (json_t *in = inner_of(e); in != NULL; in = inner_of(in))
			if (kj_str(in, "code") != NULL)
				util_copy_sanitized(out->inner_code, sizeof(out->inner_code),
						    kj_str(in, "code"));
	} else if (json_is_string(e)) {
		code = json_string_value(e);
		msg = kj_str(root, "error_description");
	}
	util_copy_sanitized(out->code, sizeof(out->code), code);
	util_copy_sanitized(out->message, sizeof(out->message), msg);
	client_address(msg, out->client_address, sizeof(out->client_address));
	json_decref(root);
	return out->code[0] != '\0' || out->message[0] != '\0' ? 0 : -EBADMSG;
}

/* ---- ARM vault ------------------------------------------------------- */

void
azure_vault_free(struct azure_vault *v)
{
	if (v == NULL)
		return;
	free(v->id);
	free(v->name);
	free(v->location);
	free(v->tenant_id);
	free(v->vault_uri);
	free(v->public_access_raw);
	free(v->default_action_raw);
	free(v->bypass);
	kj_strv_free(v->ip_rules, v->n_ip_rules);
	kj_strv_free(v->vnet_rules, v->n_vnet_rules);
	for (size_t i = 0; i < v->n_policies; i++) {
		free(v->policies[i].tenant_id);
		free(v->policies[i].object_id);
		free(v->policies[i].application_id);
		kj_strv_free(v->policies[i].key_perms, v->policies[i].n_key_perms);
	}
	free(v->policies);
	memset(v, 0, sizeof(*v));
}

/* acls[key][].member (a string) -> a string vector; entries without it are
 * skipped (an ipRule without a value admits nothing). */
static int
member_strv(json_t *acls, const char *key, const char *member, char ***out, size_t *n, char *err,
	    size_t errlen)
{
	static const char w[] = "properties.networkAcls.";
	json_t *arr, *item;
	size_t i;
	int r = kj_get_array(acls, key, w, &arr, err, errlen);

	if (r < 0 || json_array_size(arr) == 0)
		return r;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (*out == NULL)
		return kj_enomem(err, errlen);
	json_array_foreach(arr, i, item) {
		char iw[KJ_WHERE_MAX];
		char *s = NULL;

		if (!json_is_object(item)) {
			kj_seterr(err, errlen, "%s%s[%zu] is not an object", w, key, i);
			return -EBADMSG;
		}
		snprintf(iw, sizeof(iw), "%s%s[%zu].", w, key, i);
		r = kj_get_str(item, member, iw, &s, err, errlen);
		if (r < 0)
			return r;
		if (s != NULL)
			(*out)[(*n)++] = s;
	}
	return 0;
}

/* where: "properties.accessPolicies[2]." */
static int
parse_policy(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_access_policy *p = dst;
	char w[KJ_WHERE_MAX];
	json_t *perms;
	int r;

	r = kj_get_str(o, "tenantId", where, &p->tenant_id, err, errlen);
	if (r == 0)
		r = kj_get_str(o, "objectId", where, &p->object_id, err, errlen);
	if (r == 0)
		r = kj_get_str(o, "applicationId", where, &p->application_id, err, errlen);
	if (r == 0)
		r = kj_get_object(o, "permissions", where, &perms, err, errlen);
	if (r == 0 && perms != NULL) {
		snprintf(w, sizeof(w), "%spermissions.", where);
		r = kj_get_strv(perms, "keys", w, &p->key_perms, &p->n_key_perms, err, errlen);
	}
	return r;
}

static int
parse_network_acls(json_t *acls, struct azure_vault *v, char *err, size_t errlen)
{
	static const char w[] = "properties.networkAcls.";
	int r;

	v->has_network_acls = true;
	r = kj_get_str(acls, "defaultAction", w, &v->default_action_raw, err, errlen);
	if (r == 0 && v->default_action_raw != NULL)
		v->default_action = strcasecmp(v->default_action_raw, "Allow") == 0  ? AZNET_ALLOW
				    : strcasecmp(v->default_action_raw, "Deny") == 0 ? AZNET_DENY
										      : AZNET_OTHER;
	if (r == 0)
		r = kj_get_str(acls, "bypass", w, &v->bypass, err, errlen);
	if (r == 0)
		r = member_strv(acls, "ipRules", "value", &v->ip_rules, &v->n_ip_rules, err,
				errlen);
	if (r == 0)
		r = member_strv(acls, "virtualNetworkRules", "id", &v->vnet_rules, &v->n_vnet_rules,
				err, errlen);
	return r;
}

static int
read_vault(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	static const char w[] = "properties.";
	struct azure_vault *out = dst;
	json_t *props = NULL, *sys, *acls, *pols = NULL;
	void *v = NULL;
	int r;

	r = kj_get_str(root, "id", where, &out->id, err, errlen);
	if (r == 0)
		r = kj_get_str(root, "name", where, &out->name, err, errlen);
	if (r == 0)
		r = kj_get_str(root, "location", where, &out->location, err, errlen);
	if (r == 0)
		r = kj_get_object(root, "systemData", where, &sys, err, errlen);
	if (r == 0 && sys != NULL)
		r = kj_get_iso(sys, "lastModifiedAt", "systemData.", &out->has_last_modified,
			       &out->last_modified, err, errlen);
	if (r == 0)
		r = kj_get_object(root, "properties", where, &props, err, errlen);
	if (r == 0 && props != NULL) {
		r = kj_get_str(props, "tenantId", w, &out->tenant_id, err, errlen);
		if (r == 0)
			r = kj_get_str(props, "vaultUri", w, &out->vault_uri, err, errlen);
		if (r == 0)
			r = kj_get_tri(props, "enableRbacAuthorization", w, &out->rbac, err,
				       errlen);
		if (r == 0)
			r = kj_get_tri(props, "enableSoftDelete", w, &out->soft_delete, err,
				       errlen);
		if (r == 0)
			r = kj_get_tri(props, "enablePurgeProtection", w, &out->purge_protection,
				       err, errlen);
		if (r == 0)
			r = kj_get_str(props, "publicNetworkAccess", w, &out->public_access_raw,
				       err, errlen);
		/* the spec's default is "enabled", examples say "Enabled" */
		if (r == 0 && out->public_access_raw != NULL)
			out->public_access =
				strcasecmp(out->public_access_raw, "Enabled") == 0    ? AZPUB_ENABLED
				: strcasecmp(out->public_access_raw, "Disabled") == 0 ? AZPUB_DISABLED
										       : AZPUB_OTHER;
		if (r == 0)
			r = kj_get_object(props, "networkAcls", w, &acls, err, errlen);
		if (r == 0 && acls != NULL)
			r = parse_network_acls(acls, out, err, errlen);
		if (r == 0)
			r = kj_get_array(props, "accessPolicies", w, &pols, err, errlen);
		if (r == 0)
			r = kj_get_objects(pols, "properties.accessPolicies",
					   sizeof(*out->policies), &v, &out->n_policies,
					   parse_policy, err, errlen);
		out->policies = v;
	}
	return r;
}

int
azure_parse_vault(const char *body, size_t len, struct azure_vault *out, char *err,
		  size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), read_vault, err,
			 errlen);

	if (r < 0)
		azure_vault_free(out);
	return r;
}

/* ---- ARM role assignments -------------------------------------------- */

void
azure_role_assignments_free(struct azure_role_assignments *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].role_definition_id);
		free(r->v[i].principal_id);
		free(r->v[i].principal_type);
		free(r->v[i].scope);
	}
	free(r->v);
	free(r->next_link);
	memset(r, 0, sizeof(*r));
}

/* where: "value[2]." */
static int
parse_assignment(json_t *o, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_role_assignment *a = dst;
	json_t *props = NULL;
	char w[KJ_WHERE_MAX];
	int r;

	r = kj_get_str(o, "id", where, &a->id, err, errlen);
	if (r == 0)
		r = kj_get_object(o, "properties", where, &props, err, errlen);
	if (r < 0 || props == NULL)
		return r;
	snprintf(w, sizeof(w), "%sproperties.", where);
	r = kj_get_str(props, "roleDefinitionId", w, &a->role_definition_id, err, errlen);
	if (r == 0)
		r = kj_get_str(props, "principalId", w, &a->principal_id, err, errlen);
	if (r == 0)
		r = kj_get_str(props, "principalType", w, &a->principal_type, err, errlen);
	if (r == 0)
		r = kj_get_str(props, "scope", w, &a->scope, err, errlen);
	if (r == 0 && a->role_definition_id != NULL) {
		/* ".../providers/Microsoft.Authorization/roleDefinitions/<guid>" */
		const char *slash = strrchr(a->role_definition_id, '/');
		const char *g = slash != NULL ? slash + 1 : a->role_definition_id;
		size_t n = 0;

		for (; g[n] != '\0' && n + 1 < sizeof(a->role_guid); n++)
			a->role_guid[n] = (char)(g[n] >= 'A' && g[n] <= 'Z' ? g[n] + 32 : g[n]);
		a->role_guid[n] = '\0';
	}
	return r;
}

static int
read_role_assignments(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct azure_role_assignments *out = dst;
	void *v = NULL;
	int r = read_page(root, "nextLink", parse_assignment, sizeof(*out->v), &v, &out->n,
			  &out->next_link, err, errlen);

	out->v = v;
	return r;
}

int
azure_parse_role_assignments(const char *body, size_t len, struct azure_role_assignments *out,
			     char *err, size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out),
			 read_role_assignments, err, errlen);

	if (r < 0)
		azure_role_assignments_free(out);
	return r;
}

const char *
azure_crypto_role_name(const char *role_guid)
{
	static const struct {
		const char *guid, *name;
	} roles[] = {
		{AZURE_ROLE_KV_CRYPTO_USER, "Key Vault Crypto User"},
		{AZURE_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
		 "Key Vault Crypto Service Encryption User"},
		{AZURE_ROLE_KV_CRYPTO_OFFICER, "Key Vault Crypto Officer"},
		{AZURE_ROLE_KV_ADMINISTRATOR, "Key Vault Administrator"},
	};

	for (size_t i = 0; role_guid != NULL && i < ARRAY_SIZE(roles); i++)
		if (strcasecmp(role_guid, roles[i].guid) == 0)
			return roles[i].name;
	return NULL;
}

/* ---- key identifiers ------------------------------------------------- */

static bool
is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void
lower_copy(char *dst, const char *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
	dst[n] = '\0';
}

static int
check_vault(const char *v, size_t n, char *err, size_t errlen)
{
	if (n < 3 || n > 24) {
		kj_seterr(err, errlen, "vault name \"%.*s\" is not 3-24 characters long", (int)n,
			  v);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(v[i]) && v[i] != '-') {
			kj_seterr(err, errlen,
				  "vault name \"%.*s\" has a character other than "
				  "letters, digits and '-'",
				  (int)n, v);
			return -EINVAL;
		}
		if (v[i] == '-' && (i == 0 || i == n - 1 || v[i - 1] == '-')) {
			kj_seterr(err, errlen,
				  "vault name \"%.*s\" starts or ends with '-' or has "
				  "\"--\"",
				  (int)n, v);
			return -EINVAL;
		}
	}
	return 0;
}

static int
check_suffix(const char *s, size_t n, char *err, size_t errlen)
{
	if (n == 0 || n > 253) {
		kj_seterr(err, errlen, "the host has no valid DNS suffix after the vault name");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.') {
			kj_seterr(err, errlen,
				  "DNS suffix \"%.*s\" has a character not allowed in a "
				  "host name",
				  (int)n, s);
			return -EINVAL;
		}
		if (s[i] == '.' && (i == 0 || i == n - 1 || s[i - 1] == '.')) {
			kj_seterr(err, errlen, "DNS suffix \"%.*s\" has an empty label", (int)n, s);
			return -EINVAL;
		}
	}
	return 0;
}

const char *
azure_check_guid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	const char *p = s;

	if (s == NULL || *s == '\0')
		return "it is empty";
	for (size_t g = 0; g < ARRAY_SIZE(groups); g++) {
		for (int i = 0; i < groups[g]; i++, p++)
			if (!isxdigit((unsigned char)*p))
				return "it is not a GUID (8-4-4-4-12 hexadecimal digits)";
		if (g + 1 < ARRAY_SIZE(groups) && *p++ != '-')
			return "it is not a GUID (8-4-4-4-12 hexadecimal digits)";
	}
	return *p == '\0' ? NULL : "it is not a GUID (8-4-4-4-12 hexadecimal digits)";
}

const char *
azure_check_vault_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 3 || n > 24)
		return "a Key Vault name has 3 to 24 characters";
	if (!isalpha((unsigned char)s[0]) || s[n - 1] == '-' || strstr(s, "--"))
		return "a Key Vault name starts with a letter, does not end with '-' and has no "
		       "\"--\"";
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return "a Key Vault name has only letters, digits and '-'";
	return NULL;
}

static bool
arm_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == '(' ||
	       c == ')';
}

const char *
azure_check_resource_group(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 90)
		return "a resource group name has 1 to 90 characters";
	for (size_t i = 0; i < n; i++)
		if (!arm_name_char(s[i]))
			return "a resource group name has only letters, digits, '_', '-', '.', "
			       "'(' and ')'";
	return s[n - 1] == '.' ? "a resource group name does not end with '.'" : NULL;
}

const char *
azure_check_arm_id(const char *s)
{
	if (s == NULL || strncasecmp(s, "/subscriptions/", 15) != 0)
		return "an ARM resource id starts with /subscriptions/";
	if (s[strlen(s) - 1] == '/')
		return "an ARM resource id does not end with '/'";
	for (const char *seg = s + 1; *seg;) {
		size_t len = strcspn(seg, "/");

		if (len == 0 || (len == 1 && seg[0] == '.') ||
		    (len == 2 && seg[0] == '.' && seg[1] == '.'))
			return "an ARM resource id has no empty, \".\" or \"..\" segment";
		for (size_t i = 0; i < len; i++)
			if (!arm_name_char(seg[i]))
				return "an ARM resource id has only letters, digits, '/', '_', '-', "
				       "'.', '(' and ')'";
		seg += len;
		if (*seg == '/')
			seg++;
	}
	return NULL;
}

int
azure_parse_key_id(const char *s, struct azure_key_id *out, char *err, size_t errlen)
{
	const char *host, *p, *dot, *name, *ver = NULL;
	size_t hostlen, nlen, vlen = 0;
	int r;

	kj_clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0') {
		kj_seterr(err, errlen, "empty key identifier");
		return -EINVAL;
	}
	if (strncasecmp(s, "https://", 8) != 0) {
		kj_seterr(err, errlen, "does not start with https://");
		return -EINVAL;
	}
	host = s + 8;
	hostlen = strcspn(host, "/:?#@");
	p = host + hostlen;
	if (*p == '@') {
		kj_seterr(err, errlen, "user information is not allowed");
		return -EINVAL;
	}
	if (hostlen == 0) {
		kj_seterr(err, errlen, "no host");
		return -EINVAL;
	}
	if (*p == ':') {
		size_t plen = strcspn(p + 1, "/?#");

		if (plen != 3 || strncmp(p + 1, "443", 3) != 0) {
			kj_seterr(err, errlen, "port \"%.*s\" is not 443",
				  (int)(plen < 16 ? plen : 16), p + 1);
			return -EINVAL;
		}
		p += 4;
	}
	if (strncasecmp(p, "/keys/", 6) != 0) {
		kj_seterr(err, errlen, "the path does not start with /keys/");
		return -EINVAL;
	}
	dot = memchr(host, '.', hostlen);
	if (dot == NULL) {
		kj_seterr(err, errlen, "the host has no DNS suffix after the vault name");
		return -EINVAL;
	}
	r = check_vault(host, (size_t)(dot - host), err, errlen);
	if (r == 0)
		r = check_suffix(dot + 1, hostlen - (size_t)(dot - host) - 1, err, errlen);
	if (r < 0)
		return r;

	/* {name}[/{version}][/] and nothing else */
	name = p + 6;
	nlen = strcspn(name, "/");
	if (name[nlen] == '/') {
		ver = name + nlen + 1;
		vlen = strcspn(ver, "/");
		if (ver[vlen] == '/' && (vlen == 0 || ver[vlen + 1] != '\0')) {
			kj_seterr(err, errlen, "the path has more than /keys/{name}/{version}");
			return -EINVAL;
		}
	}
	if (nlen == 0 || nlen > 127) {
		kj_seterr(err, errlen, "the key name is not 1-127 characters long");
		return -EINVAL;
	}
	for (size_t i = 0; i < nlen; i++)
		if (!is_alnum(name[i]) && name[i] != '-') {
			kj_seterr(err, errlen,
				  "the key name \"%.*s\" has a character other than letters, "
				  "digits and '-'",
				  (int)(nlen < 64 ? nlen : 64), name);
			return -EINVAL;
		}
	if (vlen > 0) {
		if (vlen != 32) {
			kj_seterr(err, errlen, "the key version is %zu characters long, not 32",
				  vlen);
			return -EINVAL;
		}
		for (size_t i = 0; i < vlen; i++) {
			if (!is_alnum(ver[i])) {
				kj_seterr(err, errlen,
					  "the key version has a character other than "
					  "letters and digits");
				return -EINVAL;
			}
			if (!is_hex(ver[i]))
				out->version_not_hex = true;
		}
	}
	lower_copy(out->vault, host, (size_t)(dot - host));
	lower_copy(out->suffix, dot + 1, hostlen - (size_t)(dot - host) - 1);
	memcpy(out->name, name, nlen);
	out->name[nlen] = '\0';
	if (vlen > 0)
		memcpy(out->version, ver, vlen);
	out->version[vlen] = '\0';
	return 0;
}

void
azure_key_id_subject(const struct azure_key_id *id, char *buf, size_t len)
{
	if (buf == NULL || len == 0)
		return;
	if (id == NULL) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf, len, "%s/%s%s%s", id->vault, id->name, id->version[0] ? "/" : "",
		 id->version);
}

bool
azure_key_id_equal(const struct azure_key_id *a, const struct azure_key_id *b)
{
	return a != NULL && b != NULL && strcasecmp(a->vault, b->vault) == 0 &&
	       strcasecmp(a->suffix, b->suffix) == 0 && strcasecmp(a->name, b->name) == 0 &&
	       strcasecmp(a->version, b->version) == 0;
}
