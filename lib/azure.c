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
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "azure.h"
#include "cidr.h"
#include "config.h"
#include "util.h"

/* Room for a member prefix such as "value[18446744073709551615]." */
#define AZ_WHERE_MAX 40

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	/* field names and jansson's "near '...'" quote input bytes */
	util_copy_sanitized(err, errlen, tmp);
}

static void
clear_err(char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
}

static json_t *
load(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	if (body == NULL || len == 0) {
		seterr(err, errlen, "empty body");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (root == NULL) {
		seterr(err, errlen, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		seterr(err, errlen, "top level is not an object");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* obj[key], with JSON null (and a non-object obj) reading as absent */
static json_t *
field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int
enomem(char *err, size_t errlen)
{
	seterr(err, errlen, "out of memory");
	return -ENOMEM;
}

static int
get_str(json_t *o, const char *k, const char *where, char **out, char *err, size_t errlen)
{
	json_t *v = field(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s%s is not a string", where, k);
		return -EBADMSG;
	}
	free(*out);
	*out = strdup(json_string_value(v));
	return *out != NULL ? 0 : enomem(err, errlen);
}

static int
get_bool(json_t *o, const char *k, const char *where, enum tri *out, char *err, size_t errlen)
{
	json_t *v = field(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		seterr(err, errlen, "%s%s is not a boolean", where, k);
		return -EBADMSG;
	}
	*out = json_is_true(v) ? TRI_TRUE : TRI_FALSE;
	return 0;
}

/* Key Vault times: an integer of Unix seconds. */
static int
get_unix(json_t *o, const char *k, const char *where, bool *has, time_t *out, char *err,
	 size_t errlen)
{
	json_t *v = field(o, k);
	json_int_t i;

	if (v == NULL)
		return 0;
	if (!json_is_integer(v)) {
		seterr(err, errlen, "%s%s is not an integer (Unix seconds)", where, k);
		return -EBADMSG;
	}
	i = json_integer_value(v);
	if ((json_int_t)(time_t)i != i) {
		seterr(err, errlen, "%s%s is out of range", where, k);
		return -EBADMSG;
	}
	*has = true;
	*out = (time_t)i;
	return 0;
}

/* Graph and ARM times: an ISO 8601 string. */
static int
get_iso(json_t *o, const char *k, const char *where, bool *has, time_t *out, char *err,
	size_t errlen)
{
	json_t *v = field(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s%s is not a string", where, k);
		return -EBADMSG;
	}
	if (util_parse_time(json_string_value(v), out) < 0) {
		seterr(err, errlen, "%s%s is not an ISO 8601 time: \"%.40s\"", where, k,
		       json_string_value(v));
		return -EBADMSG;
	}
	*has = true;
	return 0;
}

/* An object or array member: absent -> *out NULL, wrong type -> error. */
static int
get_typed(json_t *o, const char *k, const char *where, bool array, json_t **out, char *err,
	  size_t errlen)
{
	json_t *v = field(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		seterr(err, errlen, "%s%s is not an %s", where, k, array ? "array" : "object");
		return -EBADMSG;
	}
	*out = v;
	return 0;
}

static void
strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int
get_strv(json_t *o, const char *k, const char *where, char ***out, size_t *n, char *err,
	 size_t errlen)
{
	json_t *a, *v;
	size_t i;
	int r = get_typed(o, k, where, true, &a, err, errlen);

	if (r < 0 || a == NULL || json_array_size(a) == 0)
		return r;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			seterr(err, errlen, "%s%s[%zu] is not a string", where, k, i);
			return -EBADMSG;
		}
	}
	*out = calloc(json_array_size(a), sizeof(**out));
	if (*out == NULL)
		return enomem(err, errlen);
	json_array_foreach(a, i, v) {
		(*out)[i] = strdup(json_string_value(v));
		if ((*out)[i] == NULL) {
			strv_free(*out, i);
			*out = NULL;
			return enomem(err, errlen);
		}
	}
	*n = json_array_size(a);
	return 0;
}

/* A non-negative decimal number, as a JSON integer or a string of digits
 * (IMDS sends expires_in and expires_on as strings). */
static int
get_num_or_digits(json_t *o, const char *k, bool *has, int64_t *out, char *err, size_t errlen)
{
	json_t *v = field(o, k);

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
	seterr(err, errlen, "%s is not a non-negative number", k);
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
		seterr(err, errlen, "azure.endpoints.%s is not an http(s) URL", key);
		return -EINVAL;
	}
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f || *p == '?' ||
		    *p == '#' || *p == '\\') {
			seterr(err, errlen,
			       "azure.endpoints.%s has a character not allowed in a base URL "
			       "(a query, a fragment, a space or a control character)",
			       key);
			return -EINVAL;
		}
	alen = strcspn(a, "/");
	if (memchr(a, '@', alen) != NULL) {
		seterr(err, errlen, "azure.endpoints.%s has user information", key);
		return -EINVAL;
	}
	if (a[0] == '[') {
		/* an IPv6 literal: never an Azure service host */
		const char *close = memchr(a, ']', alen);

		if (close == NULL || close == a + 1) {
			seterr(err, errlen, "azure.endpoints.%s has a malformed IPv6 host", key);
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
			seterr(err, errlen, "azure.endpoints.%s has a malformed port", key);
			return -EINVAL;
		}
	}
	if (alen == 0 || (a[0] != '[' && hl == 0)) {
		seterr(err, errlen, "azure.endpoints.%s has no host", key);
		return -EINVAL;
	}
	while (n > 0 && url[n - 1] == '/')
		n--;
	if (n >= outlen) {
		seterr(err, errlen, "azure.endpoints.%s is too long", key);
		return -ENAMETOOLONG;
	}
	memcpy(out, url, n);
	out[n] = '\0';
	if (hl > 0 && a[hl - 1] == '.')
		hl--;
	if (hl >= hostlen) {
		seterr(err, errlen, "azure.endpoints.%s is too long", key);
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
		seterr(err, errlen, "azure.endpoints.%s is too long", key);
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

	clear_err(err, errlen);
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
				seterr(err, errlen, "azure.endpoints.vault_suffix is too long");
				r = -ENAMETOOLONG;
			} else if (check_suffix(ovr->vault_suffix, n, NULL, 0) < 0) {
				seterr(err, errlen,
				       "azure.endpoints.vault_suffix is not a DNS suffix such as "
				       "vault.azure.net");
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
		seterr(err, errlen, "an azure.endpoints value is too long");
	if (r == 0 && (out->login[0] == '\0' || out->management[0] == '\0' ||
		       out->graph[0] == '\0' || out->vault_suffix[0] == '\0' ||
		       out->arm_resource[0] == '\0' || out->graph_resource[0] == '\0')) {
		/* only an unknown environment gets here */
		seterr(err, errlen,
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

/* The token goes into an Authorization header verbatim. */
static bool
header_safe(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static void
wipe(json_t *v)
{
	if (json_is_string(v))
		explicit_bzero((char *)json_string_value(v), json_string_length(v));
}

static void
token_error(json_t *root, json_t *e, struct azure_token_error *t)
{
	json_t *codes = field(root, "error_codes"), *v;
	size_t i;

	util_copy_sanitized(t->error, sizeof(t->error), json_string_value(e));
	if (json_is_string(field(root, "error_description")))
		util_copy_sanitized(t->description, sizeof(t->description),
				    json_string_value(field(root, "error_description")));
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
	json_t *root, *at, *type, *e;
	bool has_in = false;
	int64_t on = 0;
	int r = 0;

	clear_err(err, errlen);
	if (terr != NULL)
		memset(terr, 0, sizeof(*terr));
	if (tok == NULL)
		return -EINVAL;
	memset(tok, 0, sizeof(*tok));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	at = field(root, "access_token");
	type = field(root, "token_type");
	e = field(root, "error");
	if (json_is_string(e)) {
		struct azure_token_error tmp = {0};

		token_error(root, e, &tmp);
		seterr(err, errlen, "%s%s%s", tmp.error, tmp.description[0] ? ": " : "",
		       tmp.description);
		if (terr != NULL)
			*terr = tmp;
		r = -EACCES;
	} else if (at == NULL) {
		seterr(err, errlen, "no access_token in the answer");
		r = -EBADMSG;
	} else if (!json_is_string(at)) {
		seterr(err, errlen, "access_token is not a string");
		r = -EBADMSG;
	} else if (!header_safe(json_string_value(at))) {
		seterr(err, errlen,
		       "access_token is empty or has characters not allowed in an HTTP header");
		r = -EBADMSG;
	} else if (type != NULL && !json_is_string(type)) {
		seterr(err, errlen, "token_type is not a string");
		r = -EBADMSG;
	} else if (type != NULL && strcasecmp(json_string_value(type), "Bearer") != 0) {
		seterr(err, errlen, "token_type is \"%.32s\", not Bearer", json_string_value(type));
		r = -EBADMSG;
	}
	if (r == 0)
		r = get_num_or_digits(root, "expires_in", &has_in, &tok->expires_in, err, errlen);
	if (r == 0)
		r = get_num_or_digits(root, "expires_on", &tok->has_expires_on, &on, err, errlen);
	if (r == 0 && tok->has_expires_on) {
		if ((int64_t)(time_t)on != on) {
			seterr(err, errlen, "expires_on is out of range");
			r = -EBADMSG;
		}
		tok->expires_on = (time_t)on;
	}
	if (r == 0 && (!has_in || tok->expires_in <= 0)) {
		seterr(err, errlen, "expires_in is missing or not a positive number of seconds");
		r = -EBADMSG;
	}
	if (r == 0) {
		tok->access_token = strdup(json_string_value(at));
		if (tok->access_token == NULL)
			r = enomem(err, errlen);
	}
	wipe(at);
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

/* w: the member prefix, "value[2].passwordCredentials[0]." */
static int
parse_cred(json_t *c, const char *w, struct azure_password_credential *out, char *err,
	   size_t errlen)
{
	int r;

	if (!json_is_object(c)) {
		seterr(err, errlen, "%.*s is not an object", (int)strlen(w) - 1, w);
		return -EBADMSG;
	}
	r = get_str(c, "keyId", w, &out->key_id, err, errlen);
	if (r == 0)
		r = get_str(c, "displayName", w, &out->display_name, err, errlen);
	if (r == 0)
		r = get_str(c, "hint", w, &out->hint, err, errlen);
	if (r == 0)
		r = get_iso(c, "startDateTime", w, &out->has_start, &out->start, err, errlen);
	if (r == 0)
		r = get_iso(c, "endDateTime", w, &out->has_end, &out->end, err, errlen);
	return r;
}

static int
parse_app(json_t *o, const char *where, struct azure_graph_app *a, char *err, size_t errlen)
{
	json_t *creds;
	/* where is "" or "value[N]": at most 27 characters */
	char w[AZ_WHERE_MAX];
	int r;

	if (!json_is_object(o)) {
		seterr(err, errlen, "%s is not an object", where);
		return -EBADMSG;
	}
	snprintf(w, sizeof(w), "%s%s", where, where[0] ? "." : "");
	r = get_str(o, "id", w, &a->id, err, errlen);
	if (r == 0)
		r = get_str(o, "appId", w, &a->app_id, err, errlen);
	if (r == 0)
		r = get_str(o, "displayName", w, &a->display_name, err, errlen);
	if (r == 0)
		r = get_typed(o, "passwordCredentials", w, true, &creds, err, errlen);
	if (r < 0 || creds == NULL)
		return r;
	a->has_password_credentials = true;
	if (json_array_size(creds) == 0)
		return 0;
	a->creds = calloc(json_array_size(creds), sizeof(*a->creds));
	if (a->creds == NULL)
		return enomem(err, errlen);
	for (size_t i = 0; r == 0 && i < json_array_size(creds); i++) {
		/* w, then "passwordCredentials[" 20 digits "]." */
		char cw[AZ_WHERE_MAX + 48];

		a->n_creds = i + 1;
		snprintf(cw, sizeof(cw), "%spasswordCredentials[%zu].", w, i);
		r = parse_cred(json_array_get(creds, i), cw, &a->creds[i], err, errlen);
	}
	return r;
}

int
azure_parse_graph_app(const char *body, size_t len, struct azure_graph_app *out, char *err,
		      size_t errlen)
{
	json_t *root;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = parse_app(root, "", out, err, errlen);
	json_decref(root);
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

int
azure_parse_graph_app_list(const char *body, size_t len, struct azure_graph_app_list *out,
			   char *err, size_t errlen)
{
	json_t *root, *value;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_typed(root, "value", "", true, &value, err, errlen);
	if (r == 0)
		r = get_str(root, "@odata.nextLink", "", &out->next_link, err, errlen);
	if (r == 0 && value != NULL && json_array_size(value) > 0) {
		out->v = calloc(json_array_size(value), sizeof(*out->v));
		if (out->v == NULL)
			r = enomem(err, errlen);
		for (size_t i = 0; r == 0 && i < json_array_size(value); i++) {
			char w[32];

			out->n = i + 1;
			snprintf(w, sizeof(w), "value[%zu]", i);
			r = parse_app(json_array_get(value, i), w, &out->v[i], err, errlen);
		}
	}
	json_decref(root);
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
	strv_free(k->key_ops, k->n_key_ops);
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
	int r = get_bool(a, "enabled", where, &out->enabled, err, errlen);

	if (r == 0)
		r = get_unix(a, "nbf", where, &out->has_nbf, &out->nbf, err, errlen);
	if (r == 0)
		r = get_unix(a, "exp", where, &out->has_exp, &out->exp, err, errlen);
	if (r == 0)
		r = get_unix(a, "created", where, &out->has_created, &out->created, err, errlen);
	if (r == 0)
		r = get_unix(a, "updated", where, &out->has_updated, &out->updated, err, errlen);
	if (r == 0)
		r = get_str(a, "recoveryLevel", where, &out->recovery_level, err, errlen);
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
			seterr(err, errlen, "%stags.%s is not a string", where, name);
			return -EBADMSG;
		}
	}
	k->tags = calloc(json_object_size(t), sizeof(*k->tags));
	if (k->tags == NULL)
		return enomem(err, errlen);
	json_object_foreach(t, name, v) {
		k->n_tags = ++i;
		k->tags[i - 1].name = strdup(name);
		k->tags[i - 1].value = strdup(json_string_value(v));
		if (k->tags[i - 1].name == NULL || k->tags[i - 1].value == NULL)
			return enomem(err, errlen);
	}
	return 0;
}

/* where: "" for a bundle, "value[3]." for a versions item */
static int
parse_key(json_t *o, const char *where, struct azure_kv_key *k, char *err, size_t errlen)
{
	json_t *key, *attrs, *tags;
	char w[64];
	int r;

	if (!json_is_object(o)) {
		seterr(err, errlen, "%.*s is not an object", (int)strcspn(where, "."), where);
		return -EBADMSG;
	}
	r = get_typed(o, "key", where, false, &key, err, errlen);
	if (r == 0 && key != NULL) {
		snprintf(w, sizeof(w), "%skey.", where);
		r = get_str(key, "kid", w, &k->kid, err, errlen);
		if (r == 0)
			r = get_str(key, "kty", w, &k->kty, err, errlen);
		if (r == 0)
			r = get_strv(key, "key_ops", w, &k->key_ops, &k->n_key_ops, err, errlen);
	}
	/* versions items carry kid at the top; a bundle's key.kid wins */
	if (r == 0 && k->kid == NULL)
		r = get_str(o, "kid", where, &k->kid, err, errlen);
	if (r == 0)
		r = get_typed(o, "attributes", where, false, &attrs, err, errlen);
	if (r == 0 && attrs != NULL) {
		snprintf(w, sizeof(w), "%sattributes.", where);
		r = parse_attrs(attrs, w, &k->attr, err, errlen);
	}
	if (r == 0)
		r = get_typed(o, "tags", where, false, &tags, err, errlen);
	if (r == 0 && tags != NULL)
		r = parse_tags(tags, where, k, err, errlen);
	if (r == 0)
		r = get_bool(o, "managed", where, &k->managed, err, errlen);
	return r;
}

int
azure_parse_kv_key(const char *body, size_t len, struct azure_kv_key *out, char *err,
		   size_t errlen)
{
	json_t *root;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = parse_key(root, "", out, err, errlen);
	json_decref(root);
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

int
azure_parse_kv_versions(const char *body, size_t len, struct azure_kv_versions *out, char *err,
			size_t errlen)
{
	json_t *root, *value;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_typed(root, "value", "", true, &value, err, errlen);
	if (r == 0)
		r = get_str(root, "nextLink", "", &out->next_link, err, errlen);
	if (r == 0 && value != NULL && json_array_size(value) > 0) {
		out->v = calloc(json_array_size(value), sizeof(*out->v));
		if (out->v == NULL)
			r = enomem(err, errlen);
		for (size_t i = 0; r == 0 && i < json_array_size(value); i++) {
			char w[32];

			out->n = i + 1;
			snprintf(w, sizeof(w), "value[%zu].", i);
			r = parse_key(json_array_get(value, i), w, &out->v[i], err, errlen);
		}
	}
	json_decref(root);
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
	json_t *v = field(o, k);

	if (v == NULL)
		return 0;
	if (!json_is_string(v)) {
		seterr(err, errlen, "%s%s is not a string", where, k);
		return -EBADMSG;
	}
	if (azure_parse_iso_duration(json_string_value(v), out) < 0) {
		seterr(err, errlen, "%s%s is not an ISO 8601 duration: \"%.32s\"", where, k,
		       json_string_value(v));
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

static int
parse_lifetime_action(json_t *o, size_t i, struct azure_lifetime_action *a, char *err,
		      size_t errlen)
{
	json_t *trigger, *action;
	char w[64];
	int r;

	snprintf(w, sizeof(w), "lifetimeActions[%zu].", i);
	if (!json_is_object(o)) {
		seterr(err, errlen, "lifetimeActions[%zu] is not an object", i);
		return -EBADMSG;
	}
	r = get_typed(o, "trigger", w, false, &trigger, err, errlen);
	if (r == 0 && trigger != NULL) {
		snprintf(w, sizeof(w), "lifetimeActions[%zu].trigger.", i);
		r = get_duration(trigger, "timeAfterCreate", w, &a->has_after_create,
				 &a->after_create, err, errlen);
		if (r == 0)
			r = get_duration(trigger, "timeBeforeExpiry", w, &a->has_before_expiry,
					 &a->before_expiry, err, errlen);
		snprintf(w, sizeof(w), "lifetimeActions[%zu].", i);
	}
	if (r == 0)
		r = get_typed(o, "action", w, false, &action, err, errlen);
	if (r == 0 && action != NULL) {
		snprintf(w, sizeof(w), "lifetimeActions[%zu].action.", i);
		r = get_str(action, "type", w, &a->action_type, err, errlen);
	}
	if (r == 0 && a->action_type != NULL)
		a->action = strcasecmp(a->action_type, "Rotate") == 0	 ? AZACT_ROTATE
			    : strcasecmp(a->action_type, "Notify") == 0 ? AZACT_NOTIFY
									 : AZACT_UNKNOWN;
	return r;
}

int
azure_parse_rotation_policy(const char *body, size_t len, struct azure_rotation_policy *out,
			    char *err, size_t errlen)
{
	json_t *root, *actions, *attrs;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_str(root, "id", "", &out->id, err, errlen);
	if (r == 0)
		r = get_typed(root, "lifetimeActions", "", true, &actions, err, errlen);
	if (r == 0 && actions != NULL && json_array_size(actions) > 0) {
		out->actions = calloc(json_array_size(actions), sizeof(*out->actions));
		if (out->actions == NULL)
			r = enomem(err, errlen);
		for (size_t i = 0; r == 0 && i < json_array_size(actions); i++) {
			out->n_actions = i + 1;
			r = parse_lifetime_action(json_array_get(actions, i), i, &out->actions[i],
						  err, errlen);
		}
	}
	if (r == 0)
		r = get_typed(root, "attributes", "", false, &attrs, err, errlen);
	if (r == 0 && attrs != NULL) {
		r = get_duration(attrs, "expiryTime", "attributes.", &out->has_expiry_time,
				 &out->expiry_time, err, errlen);
		if (r == 0)
			r = get_unix(attrs, "created", "attributes.", &out->has_created,
				     &out->created, err, errlen);
		if (r == 0)
			r = get_unix(attrs, "updated", "attributes.", &out->has_updated,
				     &out->updated, err, errlen);
	}
	json_decref(root);
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

static const char *
str_of(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

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

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, NULL, 0);
	if (root == NULL)
		return -EBADMSG;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		code = str_of(e, "code");
		msg = str_of(e, "message");
		/* innererror nests to any depth; the innermost code is the
		 * specific one (Forbidden -> ForbiddenByFirewall). jansson's
		 * own depth limit bounds the walk. */
		for (json_t *in = inner_of(e); in != NULL; in = inner_of(in))
			if (str_of(in, "code") != NULL)
				util_copy_sanitized(out->inner_code, sizeof(out->inner_code),
						    str_of(in, "code"));
	} else if (json_is_string(e)) {
		code = json_string_value(e);
		msg = str_of(root, "error_description");
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
	strv_free(v->ip_rules, v->n_ip_rules);
	strv_free(v->vnet_rules, v->n_vnet_rules);
	for (size_t i = 0; i < v->n_policies; i++) {
		free(v->policies[i].tenant_id);
		free(v->policies[i].object_id);
		free(v->policies[i].application_id);
		strv_free(v->policies[i].key_perms, v->policies[i].n_key_perms);
	}
	free(v->policies);
	memset(v, 0, sizeof(*v));
}

/* arr[].member (a string) -> a string vector; entries without it are
 * skipped (an ipRule without a value admits nothing). */
static int
member_strv(json_t *arr, const char *arrname, const char *member, char ***out, size_t *n,
	    char *err, size_t errlen)
{
	json_t *item;
	size_t i;

	if (arr == NULL || json_array_size(arr) == 0)
		return 0;
	*out = calloc(json_array_size(arr), sizeof(**out));
	if (*out == NULL)
		return enomem(err, errlen);
	json_array_foreach(arr, i, item) {
		char w[80];
		char *s = NULL;
		int r;

		if (!json_is_object(item)) {
			seterr(err, errlen, "properties.networkAcls.%s[%zu] is not an object",
			       arrname, i);
			return -EBADMSG;
		}
		snprintf(w, sizeof(w), "properties.networkAcls.%s[%zu].", arrname, i);
		r = get_str(item, member, w, &s, err, errlen);
		if (r < 0)
			return r;
		if (s != NULL)
			(*out)[(*n)++] = s;
	}
	return 0;
}

static int
parse_policy(json_t *o, size_t i, struct azure_access_policy *p, char *err, size_t errlen)
{
	json_t *perms;
	char w[64];
	int r;

	snprintf(w, sizeof(w), "properties.accessPolicies[%zu].", i);
	if (!json_is_object(o)) {
		seterr(err, errlen, "properties.accessPolicies[%zu] is not an object", i);
		return -EBADMSG;
	}
	r = get_str(o, "tenantId", w, &p->tenant_id, err, errlen);
	if (r == 0)
		r = get_str(o, "objectId", w, &p->object_id, err, errlen);
	if (r == 0)
		r = get_str(o, "applicationId", w, &p->application_id, err, errlen);
	if (r == 0)
		r = get_typed(o, "permissions", w, false, &perms, err, errlen);
	if (r == 0 && perms != NULL) {
		snprintf(w, sizeof(w), "properties.accessPolicies[%zu].permissions.", i);
		r = get_strv(perms, "keys", w, &p->key_perms, &p->n_key_perms, err, errlen);
	}
	return r;
}

static int
parse_network_acls(json_t *acls, struct azure_vault *v, char *err, size_t errlen)
{
	static const char w[] = "properties.networkAcls.";
	json_t *ips, *vnets;
	int r;

	v->has_network_acls = true;
	r = get_str(acls, "defaultAction", w, &v->default_action_raw, err, errlen);
	if (r == 0 && v->default_action_raw != NULL)
		v->default_action = strcasecmp(v->default_action_raw, "Allow") == 0  ? AZNET_ALLOW
				    : strcasecmp(v->default_action_raw, "Deny") == 0 ? AZNET_DENY
										      : AZNET_OTHER;
	if (r == 0)
		r = get_str(acls, "bypass", w, &v->bypass, err, errlen);
	if (r == 0)
		r = get_typed(acls, "ipRules", w, true, &ips, err, errlen);
	if (r == 0)
		r = member_strv(ips, "ipRules", "value", &v->ip_rules, &v->n_ip_rules, err,
				errlen);
	if (r == 0)
		r = get_typed(acls, "virtualNetworkRules", w, true, &vnets, err, errlen);
	if (r == 0)
		r = member_strv(vnets, "virtualNetworkRules", "id", &v->vnet_rules,
				&v->n_vnet_rules, err, errlen);
	return r;
}

int
azure_parse_vault(const char *body, size_t len, struct azure_vault *out, char *err,
		  size_t errlen)
{
	static const char w[] = "properties.";
	json_t *root, *props = NULL, *sys, *acls, *pols;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_str(root, "id", "", &out->id, err, errlen);
	if (r == 0)
		r = get_str(root, "name", "", &out->name, err, errlen);
	if (r == 0)
		r = get_str(root, "location", "", &out->location, err, errlen);
	if (r == 0)
		r = get_typed(root, "systemData", "", false, &sys, err, errlen);
	if (r == 0 && sys != NULL)
		r = get_iso(sys, "lastModifiedAt", "systemData.", &out->has_last_modified,
			    &out->last_modified, err, errlen);
	if (r == 0)
		r = get_typed(root, "properties", "", false, &props, err, errlen);
	if (r == 0 && props != NULL) {
		r = get_str(props, "tenantId", w, &out->tenant_id, err, errlen);
		if (r == 0)
			r = get_str(props, "vaultUri", w, &out->vault_uri, err, errlen);
		if (r == 0)
			r = get_bool(props, "enableRbacAuthorization", w, &out->rbac, err, errlen);
		if (r == 0)
			r = get_bool(props, "enableSoftDelete", w, &out->soft_delete, err, errlen);
		if (r == 0)
			r = get_bool(props, "enablePurgeProtection", w, &out->purge_protection,
				     err, errlen);
		if (r == 0)
			r = get_str(props, "publicNetworkAccess", w, &out->public_access_raw, err,
				    errlen);
		/* the spec's default is "enabled", examples say "Enabled" */
		if (r == 0 && out->public_access_raw != NULL)
			out->public_access =
				strcasecmp(out->public_access_raw, "Enabled") == 0    ? AZPUB_ENABLED
				: strcasecmp(out->public_access_raw, "Disabled") == 0 ? AZPUB_DISABLED
										       : AZPUB_OTHER;
		if (r == 0)
			r = get_typed(props, "networkAcls", w, false, &acls, err, errlen);
		if (r == 0 && acls != NULL)
			r = parse_network_acls(acls, out, err, errlen);
		if (r == 0)
			r = get_typed(props, "accessPolicies", w, true, &pols, err, errlen);
		if (r == 0 && pols != NULL && json_array_size(pols) > 0) {
			out->policies = calloc(json_array_size(pols), sizeof(*out->policies));
			if (out->policies == NULL)
				r = enomem(err, errlen);
			for (size_t i = 0; r == 0 && i < json_array_size(pols); i++) {
				out->n_policies = i + 1;
				r = parse_policy(json_array_get(pols, i), i, &out->policies[i], err,
						 errlen);
			}
		}
	}
	json_decref(root);
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

static int
parse_assignment(json_t *o, size_t i, struct azure_role_assignment *a, char *err, size_t errlen)
{
	json_t *props = NULL;
	char w[64];
	int r;

	snprintf(w, sizeof(w), "value[%zu].", i);
	if (!json_is_object(o)) {
		seterr(err, errlen, "value[%zu] is not an object", i);
		return -EBADMSG;
	}
	r = get_str(o, "id", w, &a->id, err, errlen);
	if (r == 0)
		r = get_typed(o, "properties", w, false, &props, err, errlen);
	if (r < 0 || props == NULL)
		return r;
	snprintf(w, sizeof(w), "value[%zu].properties.", i);
	r = get_str(props, "roleDefinitionId", w, &a->role_definition_id, err, errlen);
	if (r == 0)
		r = get_str(props, "principalId", w, &a->principal_id, err, errlen);
	if (r == 0)
		r = get_str(props, "principalType", w, &a->principal_type, err, errlen);
	if (r == 0)
		r = get_str(props, "scope", w, &a->scope, err, errlen);
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

int
azure_parse_role_assignments(const char *body, size_t len, struct azure_role_assignments *out,
			     char *err, size_t errlen)
{
	json_t *root, *value;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	root = load(body, len, err, errlen);
	if (root == NULL)
		return -EBADMSG;
	r = get_typed(root, "value", "", true, &value, err, errlen);
	if (r == 0)
		r = get_str(root, "nextLink", "", &out->next_link, err, errlen);
	if (r == 0 && value != NULL && json_array_size(value) > 0) {
		out->v = calloc(json_array_size(value), sizeof(*out->v));
		if (out->v == NULL)
			r = enomem(err, errlen);
		for (size_t i = 0; r == 0 && i < json_array_size(value); i++) {
			out->n = i + 1;
			r = parse_assignment(json_array_get(value, i), i, &out->v[i], err, errlen);
		}
	}
	json_decref(root);
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
		seterr(err, errlen, "vault name \"%.*s\" is not 3-24 characters long", (int)n, v);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(v[i]) && v[i] != '-') {
			seterr(err, errlen, "vault name \"%.*s\" has a character other than "
					    "letters, digits and '-'",
			       (int)n, v);
			return -EINVAL;
		}
		if (v[i] == '-' && (i == 0 || i == n - 1 || v[i - 1] == '-')) {
			seterr(err, errlen, "vault name \"%.*s\" starts or ends with '-' or has "
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
		seterr(err, errlen, "the host has no valid DNS suffix after the vault name");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.') {
			seterr(err, errlen, "DNS suffix \"%.*s\" has a character not allowed in a "
					    "host name",
			       (int)n, s);
			return -EINVAL;
		}
		if (s[i] == '.' && (i == 0 || i == n - 1 || s[i - 1] == '.')) {
			seterr(err, errlen, "DNS suffix \"%.*s\" has an empty label", (int)n, s);
			return -EINVAL;
		}
	}
	return 0;
}

int
azure_parse_key_id(const char *s, struct azure_key_id *out, char *err, size_t errlen)
{
	const char *host, *p, *dot, *name, *ver = NULL;
	size_t hostlen, nlen, vlen = 0;
	int r;

	clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (s == NULL || *s == '\0') {
		seterr(err, errlen, "empty key identifier");
		return -EINVAL;
	}
	if (strncasecmp(s, "https://", 8) != 0) {
		seterr(err, errlen, "does not start with https://");
		return -EINVAL;
	}
	host = s + 8;
	hostlen = strcspn(host, "/:?#@");
	p = host + hostlen;
	if (*p == '@') {
		seterr(err, errlen, "user information is not allowed");
		return -EINVAL;
	}
	if (hostlen == 0) {
		seterr(err, errlen, "no host");
		return -EINVAL;
	}
	if (*p == ':') {
		size_t plen = strcspn(p + 1, "/?#");

		if (plen != 3 || strncmp(p + 1, "443", 3) != 0) {
			seterr(err, errlen, "port \"%.*s\" is not 443", (int)(plen < 16 ? plen : 16),
			       p + 1);
			return -EINVAL;
		}
		p += 4;
	}
	if (strncasecmp(p, "/keys/", 6) != 0) {
		seterr(err, errlen, "the path does not start with /keys/");
		return -EINVAL;
	}
	dot = memchr(host, '.', hostlen);
	if (dot == NULL) {
		seterr(err, errlen, "the host has no DNS suffix after the vault name");
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
			seterr(err, errlen, "the path has more than /keys/{name}/{version}");
			return -EINVAL;
		}
	}
	if (nlen == 0 || nlen > 127) {
		seterr(err, errlen, "the key name is not 1-127 characters long");
		return -EINVAL;
	}
	for (size_t i = 0; i < nlen; i++)
		if (!is_alnum(name[i]) && name[i] != '-') {
			seterr(err, errlen, "the key name \"%.*s\" has a character other than letters, "
					    "digits and '-'",
			       (int)(nlen < 64 ? nlen : 64), name);
			return -EINVAL;
		}
	if (vlen > 0) {
		if (vlen != 32) {
			seterr(err, errlen, "the key version is %zu characters long, not 32", vlen);
			return -EINVAL;
		}
		for (size_t i = 0; i < vlen; i++) {
			if (!is_alnum(ver[i])) {
				seterr(err, errlen, "the key version has a character other than "
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
