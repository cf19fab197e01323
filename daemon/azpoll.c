/* SPDX-License-Identifier: ISC */
/*
 * azpoll — the Azure side of each project (docs/INTERFACE.md azure.* checks and
 * atlas.control_plane_ips). Every azure_interval, and at once when Atlas's
 * EAR state names a new key identifier, client, role or vault, one round
 * reads — concurrently — Microsoft Graph (the client secrets of Atlas's
 * app), Key Vault (the pinned key version, all versions, the rotation
 * policy), ARM (the vault's firewall and access policies, role
 * assignments) and Atlas (control-plane and node outbound IPs), each with
 * kmswatch's own read-only identity and the shared retry policy, then runs
 * the pure checks and hands the findings to the daemon. Projects whose
 * enabled EAR provider is not Azure have no Azure round.
 *
 * It is the Azure provider (provider.h): the core reaches it only
 * through azure_provider at the end of this file.
 *
 * A round is a set of requests (struct azreq) that run concurrently; each
 * gets its token (Azure resource or Atlas), goes through fetch (retries,
 * Retry-After), and stores its parsed answer in the round. The round keeps
 * one reference of its own while it launches requests, so a request that
 * fails synchronously cannot finish the round early. When the last
 * request is done the checks run on whatever was read; a read that failed
 * leaves its checks without a verdict and shows up in azure.access.
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "atlasreq.h"
#include "azure_config.h"
#include "poller.h"
#include "provider.h"
#include "azure.h"
#include "aztoken.h"
#include "checks.h"
#include "crypto.h"
#include "daemon.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "projset.h"
#include "provround.h"
#include "sharedget.h"
#include "store.h"
#include "util.h"

#define KV_API "api-version=7.5"
#define ARM_VAULT_API "api-version=2024-11-01"
#define ARM_ROLES_API "api-version=2022-04-01"
#define MAX_READS 24
#define MAX_PAGES 40 /* Key Vault pages hold 25 versions: 1000 versions */

enum req_kind {
	REQ_GRAPH_APP,
	REQ_GRAPH_SP,
	REQ_KV_KEY,
	REQ_KV_VERSIONS,
	REQ_KV_POLICY,
	REQ_ARM_VAULT,
	REQ_ARM_ROLES,
	REQ_ATLAS_IPS,
	REQ_ATLAS_CP,
};

struct azround;

struct azreq {
	struct azreq *next;
	struct azround *round;
	enum req_kind kind;
	char *url;
	char *connect_to;
	const char *accept;
	struct restreq *rest; /* every read but the shared control-plane one */
	struct sharedget_waiter *shared; /* that one, through sharedget */
	unsigned page;
};

struct read_slot {
	struct azure_error err;
	struct azure_token_error terr;
	char resource[400];
	char detail[256];
};

struct azround {
	struct azproject *p;
	const struct cfg_azure_identity *id;
	struct azure_endpoints ep;
	bool ep_ok;
	struct azure_key_id pin;
	bool pin_ok;
	/* the key identifier's host is a Key Vault of the configured cloud:
	 * only then does a Key Vault token go there */
	bool kv_host_ok;
	char kv_base[300]; /* https://{vault}.{suffix} */
	unsigned pending;
	struct azreq *reqs;

	struct azure_graph_app app, sp;
	bool have_app, have_sp;
	bool app_missing, sp_missing; /* Graph 404 Request_ResourceNotFound */
	/* ARM 404 for the vault Atlas names: ResourceNotFound,
	 * ResourceGroupNotFound or SubscriptionNotFound */
	char vault_missing[40];
	struct azure_kv_key key;
	bool have_key, key_deleted;
	struct azure_kv_key *versions;
	size_t n_versions;
	bool have_versions, versions_failed;
	struct azure_rotation_policy policy;
	bool have_policy;
	struct azure_vault vault;
	bool have_vault;
	struct azure_role_assignments roles;
	bool have_roles, roles_failed;
	struct atlas_control_plane cp;
	bool have_cp;
	struct atlas_ip_addresses ips;
	bool have_ips;

	struct azure_read reads[MAX_READS];
	struct read_slot slots[MAX_READS];
	size_t n_reads;
};

struct azproject {
	struct projset_entry e; /* id, cfg, config order */
	struct azpoll *owner;
	struct atlas_azure_kv kv; /* own copy of Atlas's azureKeyVault */
	struct provround s;       /* schedule; s.active: kv holds Atlas's Azure side */
	/* what starts a round at once when it changes: a digest of the
	 * fields, not a second copy of them in every project */
	unsigned char trigger[CRYPTO_SHA256_LEN];
	bool have_trigger;
	char *key_id;             /* ear memory: key identifier and first seen */
	time_t key_first_seen;
	struct azround *round;
	struct cp_memory cp;
	struct mx_facts mx; /* for the metrics, while Azure is the provider */
};

struct azpoll {
	struct provbase b; /* first: the projset ctx is the state (provround.h) */
	/* Atlas's control-plane address list, read once for all projects */
	struct sharedget *cp_read;
};
static_assert(offsetof(struct azpoll, b) == 0, "the projset ctx is the state and its provbase");

static void round_start(struct azproject *p);
static void req_done(struct azreq *q);

static void
set_round(struct azproject *p, struct azround *r)
{
	p->round = r;
	provround_set_running(&p->s, r != NULL);
}

/* ---- helpers ------------------------------------------------------------ */

static void
kv_clear(struct atlas_azure_kv *kv)
{
	char **s[] = {&kv->azure_environment, &kv->client_id, &kv->key_identifier,
		      &kv->key_vault_name, &kv->resource_group_name, &kv->role_id,
		      &kv->subscription_id, &kv->tenant_id};

	for (size_t i = 0; i < ARRAY_SIZE(s); i++) {
		free(*s[i]);
		*s[i] = NULL;
	}
	memset(kv, 0, sizeof(*kv));
}

static int
kv_copy(struct atlas_azure_kv *dst, const struct atlas_azure_kv *src)
{
	*dst = *src;
	dst->azure_environment = util_strdup(src->azure_environment);
	dst->client_id = util_strdup(src->client_id);
	dst->key_identifier = util_strdup(src->key_identifier);
	dst->key_vault_name = util_strdup(src->key_vault_name);
	dst->resource_group_name = util_strdup(src->resource_group_name);
	dst->role_id = util_strdup(src->role_id);
	dst->subscription_id = util_strdup(src->subscription_id);
	dst->tenant_id = util_strdup(src->tenant_id);
	if ((src->azure_environment && !dst->azure_environment) ||
	    (src->client_id && !dst->client_id) || (src->key_identifier && !dst->key_identifier) ||
	    (src->key_vault_name && !dst->key_vault_name) ||
	    (src->resource_group_name && !dst->resource_group_name) ||
	    (src->role_id && !dst->role_id) || (src->subscription_id && !dst->subscription_id) ||
	    (src->tenant_id && !dst->tenant_id)) {
		kv_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

static int
kv_trigger(const struct atlas_azure_kv *kv, unsigned char out[CRYPTO_SHA256_LEN])
{
	const char *parts[] = {
		kv->azure_environment, kv->client_id,	     kv->key_identifier, kv->key_vault_name,
		kv->resource_group_name, kv->role_id, kv->subscription_id,   kv->tenant_id,
	};

	return crypto_sha256_strings(parts, ARRAY_SIZE(parts), out);
}

/* "host:port" of an override URL for CURLOPT_CONNECT_TO. */
static int
connect_target(const char *url, char *host, size_t hlen, unsigned *port)
{
	const char *p = strstr(url, "://"), *end, *colon;
	size_t n;

	if (!p)
		return -EINVAL;
	p += 3;
	*port = strncasecmp(url, "http://", 7) == 0 ? 80 : 443;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end)
			return -EINVAL;
		end++;
	} else {
		end = p + strcspn(p, ":/");
	}
	n = (size_t)(end - p);
	if (n == 0 || n >= hlen)
		return -EINVAL;
	memcpy(host, p, n);
	host[n] = '\0';
	colon = end;
	if (*colon == ':')
		*port = (unsigned)strtoul(colon + 1, NULL, 10);
	return 0;
}

/* A nextLink, re-based onto our own view of the service (its path and
 * query kept), so that overrides (private endpoints, tests) apply. */
static char *
rebase(const char *base, const char *link)
{
	const char *p = strstr(link, "://");

	p = p ? strchr(p + 3, '/') : NULL;
	return p ? util_asprintf("%s%s", base, p) : NULL;
}

/* ---- reads (for azure.access) ------------------------------------------ */

static enum azure_op
op_of(enum req_kind k)
{
	switch (k) {
	case REQ_GRAPH_APP:
		return AZOP_GRAPH_APP;
	case REQ_GRAPH_SP:
		return AZOP_GRAPH_SP;
	case REQ_KV_KEY:
		return AZOP_KV_KEY;
	case REQ_KV_VERSIONS:
		return AZOP_KV_VERSIONS;
	case REQ_KV_POLICY:
		return AZOP_KV_ROTATION_POLICY;
	case REQ_ARM_VAULT:
		return AZOP_ARM_VAULT;
	case REQ_ARM_ROLES:
	default:
		return AZOP_ARM_ROLE_ASSIGNMENTS;
	}
}

static bool
is_atlas(enum req_kind k)
{
	return k == REQ_ATLAS_IPS || k == REQ_ATLAS_CP;
}

static enum az_resource
resource_of(enum req_kind k)
{
	switch (k) {
	case REQ_GRAPH_APP:
	case REQ_GRAPH_SP:
		return AZRES_GRAPH;
	case REQ_KV_KEY:
	case REQ_KV_VERSIONS:
	case REQ_KV_POLICY:
		return AZRES_KEY_VAULT;
	default:
		return AZRES_ARM;
	}
}

static void
describe(const struct azreq *q, char *buf, size_t len)
{
	const struct azround *r = q->round;
	const struct atlas_azure_kv *kv = &r->p->kv;

	switch (q->kind) {
	case REQ_GRAPH_APP:
		snprintf(buf, len, "the application %s", kv->client_id);
		break;
	case REQ_GRAPH_SP:
		snprintf(buf, len, "the service principal of %s", kv->client_id);
		break;
	case REQ_KV_KEY:
		snprintf(buf, len, "key %s version %s in vault %s", r->pin.name, r->pin.version,
			 r->pin.vault);
		break;
	case REQ_KV_VERSIONS:
		snprintf(buf, len, "the versions of key %s in vault %s", r->pin.name, r->pin.vault);
		break;
	case REQ_KV_POLICY:
		snprintf(buf, len, "the rotation policy of key %s in vault %s", r->pin.name,
			 r->pin.vault);
		break;
	case REQ_ARM_VAULT:
		snprintf(buf, len, "vault %s", kv->key_vault_name);
		break;
	case REQ_ARM_ROLES:
		snprintf(buf, len, "the role assignments of vault %s", kv->key_vault_name);
		break;
	default:
		snprintf(buf, len, "Atlas");
	}
}

static struct azure_read *
add_read(struct azreq *q, enum azure_outcome outcome, int status, unsigned retries)
{
	struct azround *r = q->round;
	struct azure_read *rd;
	struct read_slot *s;

	if (is_atlas(q->kind) || r->n_reads == MAX_READS)
		return NULL;
	/* one record per operation: a later page replaces nothing if fine */
	rd = &r->reads[r->n_reads];
	s = &r->slots[r->n_reads];
	r->n_reads++;
	memset(rd, 0, sizeof(*rd));
	memset(s, 0, sizeof(*s));
	describe(q, s->resource, sizeof(s->resource));
	rd->op = op_of(q->kind);
	rd->resource = s->resource;
	rd->outcome = outcome;
	rd->http_status = status;
	rd->retries = retries;
	return rd;
}

/* ---- requests ------------------------------------------------------------ */

static void
req_free(struct azreq *q)
{
	free(q->url);
	free(q->connect_to);
	free(q);
}

static void
req_cancel(struct azpoll *a, struct azreq *q)
{
	restreq_cancel(q->rest);
	if (q->shared)
		sharedget_cancel(a->cp_read, q->shared);
	req_free(q);
}

static void send_with_token(struct azreq *q);
static void handle_answer(struct azreq *q, const struct http_response *resp, unsigned retries);

static void
handle_ok(struct azreq *q, const struct http_response *resp, unsigned retries)
{
	struct azround *r = q->round;
	char err[256] = "";
	struct azure_read *rd;
	int rc = 0;

	switch (q->kind) {
	case REQ_GRAPH_APP:
		rc = azure_parse_graph_app(resp->body, resp->body_len, &r->app, err, sizeof(err));
		r->have_app = rc == 0;
		break;
	case REQ_GRAPH_SP:
		rc = azure_parse_graph_app(resp->body, resp->body_len, &r->sp, err, sizeof(err));
		r->have_sp = rc == 0;
		break;
	case REQ_KV_KEY:
		rc = azure_parse_kv_key(resp->body, resp->body_len, &r->key, err, sizeof(err));
		r->have_key = rc == 0;
		break;
	case REQ_KV_POLICY:
		rc = azure_parse_rotation_policy(resp->body, resp->body_len, &r->policy, err,
						 sizeof(err));
		r->have_policy = rc == 0;
		break;
	case REQ_KV_VERSIONS: {
		struct azure_kv_versions page = {0};
		struct azure_kv_key *v;

		rc = azure_parse_kv_versions(resp->body, resp->body_len, &page, err, sizeof(err));
		if (rc < 0)
			break;
		v = realloc(r->versions, (r->n_versions + page.n + 1) * sizeof(*v));
		if (!v) {
			azure_kv_versions_free(&page);
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		r->versions = v;
		memcpy(v + r->n_versions, page.v, page.n * sizeof(*v));
		r->n_versions += page.n;
		free(page.v);
		page.v = NULL;
		page.n = 0;
		if (page.next_link && q->page + 1 < MAX_PAGES) {
			char *next = rebase(r->kv_base, page.next_link);

			if (next) {
				free(q->url);
				q->url = next;
				q->page++;
				azure_kv_versions_free(&page);
				/* same token, next page: the request lives on */
				send_with_token(q);
				return;
			}
		}
		azure_kv_versions_free(&page);
		r->have_versions = true;
		break;
	}
	case REQ_ARM_VAULT:
		rc = azure_parse_vault(resp->body, resp->body_len, &r->vault, err, sizeof(err));
		r->have_vault = rc == 0;
		break;
	case REQ_ARM_ROLES: {
		struct azure_role_assignments page = {0};
		struct azure_role_assignment *v;

		rc = azure_parse_role_assignments(resp->body, resp->body_len, &page, err,
						  sizeof(err));
		if (rc < 0)
			break;
		v = realloc(r->roles.v, (r->roles.n + page.n + 1) * sizeof(*v));
		if (!v) {
			azure_role_assignments_free(&page);
			rc = -ENOMEM;
			snprintf(err, sizeof(err), "out of memory");
			break;
		}
		r->roles.v = v;
		memcpy(v + r->roles.n, page.v, page.n * sizeof(*v));
		r->roles.n += page.n;
		free(page.v);
		page.v = NULL;
		page.n = 0;
		if (page.next_link && q->page + 1 < MAX_PAGES) {
			char *next = rebase(r->ep.management, page.next_link);

			if (next) {
				free(q->url);
				q->url = next;
				q->page++;
				azure_role_assignments_free(&page);
				send_with_token(q);
				return;
			}
		}
		azure_role_assignments_free(&page);
		r->have_roles = true;
		break;
	}
	case REQ_ATLAS_IPS:
		rc = atlas_parse_ip_addresses(resp->body, resp->body_len, &r->ips, err, sizeof(err));
		r->have_ips = rc == 0;
		break;
	case REQ_ATLAS_CP:
		rc = atlas_parse_control_plane(resp->body, resp->body_len, &r->cp, err, sizeof(err));
		r->have_cp = rc == 0;
		break;
	}
	if (rc < 0) {
		if (is_atlas(q->kind))
			log_warn("project %s: Atlas answered %s with a malformed document: %s",
				 r->p->e.cfg->name, q->url, err);
		if (q->kind == REQ_KV_VERSIONS)
			r->versions_failed = true;
		if (q->kind == REQ_ARM_ROLES)
			r->roles_failed = true;
		if ((rd = add_read(q, AZURE_READ_BAD_BODY, (int)resp->status, retries))) {
			snprintf(r->slots[r->n_reads - 1].detail, sizeof(r->slots[0].detail), "%s",
				 err);
			rd->detail = r->slots[r->n_reads - 1].detail;
		}
	} else {
		add_read(q, AZURE_READ_OK, (int)resp->status, retries);
	}
	/* RBAC vaults: who may use the key is in role assignments. */
	if (q->kind == REQ_ARM_VAULT && r->have_vault && r->vault.rbac == TRI_TRUE && r->vault.id &&
	    azure_check_arm_id(r->vault.id)) {
		/* the id goes into the next URL's path: ARM's own shape only */
		log_warn("project %s: ARM answered vault %s with a malformed id; the role "
			 "assignments are not read", r->p->e.cfg->name, r->p->kv.key_vault_name);
		r->roles_failed = true;
	} else if (q->kind == REQ_ARM_VAULT && r->have_vault && r->vault.rbac == TRI_TRUE &&
		   r->vault.id) {
		char *url = util_asprintf("%s%s/providers/Microsoft.Authorization/roleAssignments?"
					  ARM_ROLES_API,
					  r->ep.management, r->vault.id);

		if (url) {
			free(q->url);
			q->url = url;
			q->kind = REQ_ARM_ROLES;
			q->page = 0;
			send_with_token(q);
			return;
		}
	}
	req_done(q);
}

/* A 404 that is an answer, not a failure to read: Atlas's application, or
 * the vault (its resource group, its subscription) Atlas names, does not
 * exist. The checks that own those facts report them (secret_expiry,
 * key_identifier); azure.access must not also call kmswatch blind. */
static bool
not_found(struct azreq *q, const struct http_response *resp)
{
	static const char *const arm_codes[] = {"ResourceNotFound", "ResourceGroupNotFound",
						"SubscriptionNotFound"};
	struct azround *r = q->round;
	struct azure_error e;

	if (azure_parse_error(resp->body, resp->body_len, &e) < 0)
		return false;
	switch (q->kind) {
	case REQ_GRAPH_APP:
	case REQ_GRAPH_SP:
		if (strcasecmp(e.code, "Request_ResourceNotFound") != 0)
			return false;
		if (q->kind == REQ_GRAPH_APP)
			r->app_missing = true;
		else
			r->sp_missing = true;
		return true;
	case REQ_ARM_VAULT:
	case REQ_ARM_ROLES: /* the role assignments of a vault that is not there */
		for (size_t i = 0; i < ARRAY_SIZE(arm_codes); i++)
			if (strcasecmp(e.code, arm_codes[i]) == 0) {
				snprintf(r->vault_missing, sizeof(r->vault_missing), "%s",
					 arm_codes[i]);
				return true;
			}
		return false;
	default:
		return false;
	}
}

static void
handle_answer(struct azreq *q, const struct http_response *resp, unsigned retries)
{
	struct azround *r = q->round;
	struct azure_read *rd;

	if (resp->curl_code == 0 && resp->status >= 200 && resp->status < 300) {
		handle_ok(q, resp, retries);
		return;
	}
	if (q->kind == REQ_KV_VERSIONS)
		r->versions_failed = true;
	if (q->kind == REQ_ARM_ROLES)
		r->roles_failed = true;
	if (resp->curl_code == 0 && resp->status == 404 &&
	    (q->kind == REQ_KV_KEY || q->kind == REQ_KV_VERSIONS || q->kind == REQ_KV_POLICY)) {
		struct azure_error e;

		/* the key (or its version) is gone: that is key_state's news,
		 * not a failure to read; its versions and rotation policy are
		 * gone with it */
		if (azure_parse_error(resp->body, resp->body_len, &e) == 0 &&
		    strcasecmp(e.code, "KeyNotFound") == 0) {
			r->key_deleted = true;
			add_read(q, AZURE_READ_OK, 404, retries);
			req_done(q);
			return;
		}
	}
	if (resp->curl_code == 0 && resp->status == 404 && not_found(q, resp)) {
		add_read(q, AZURE_READ_OK, 404, retries);
		req_done(q);
		return;
	}
	if (is_atlas(q->kind)) {
		log_warn("project %s: cannot read %s: %s%s%ld", r->p->e.cfg->name, q->url,
			 resp->curl_code ? resp->error : "", resp->curl_code ? "" : "HTTP ",
			 resp->curl_code ? 0L : resp->status);
		req_done(q);
		return;
	}
	rd = add_read(q, resp->curl_code ? AZURE_READ_TRANSPORT : AZURE_READ_HTTP,
		      (int)resp->status, retries);
	if (rd) {
		struct read_slot *s = &r->slots[r->n_reads - 1];

		if (resp->curl_code) {
			snprintf(s->detail, sizeof(s->detail), "%s", resp->error);
			rd->detail = s->detail;
		} else if (azure_parse_error(resp->body, resp->body_len, &s->err) == 0) {
			rd->error = &s->err;
		}
	}
	req_done(q);
}

/* Reads other than the shared control-plane list end here. */
static void
on_read(void *ctx, const struct restreq_result *res)
{
	struct azreq *q = ctx;
	struct azround *r = q->round;
	struct azure_read *rd;

	q->rest = NULL;
	q->shared = NULL;
	if (res->resp) {
		handle_answer(q, res->resp, res->retries);
		return;
	}
	if (is_atlas(q->kind)) {
		log_warn("project %s: cannot read %s: %s", r->p->e.cfg->name, q->url, res->error);
		req_done(q);
		return;
	}
	if (q->kind == REQ_KV_VERSIONS)
		r->versions_failed = true;
	if (q->kind == REQ_ARM_ROLES)
		r->roles_failed = true;
	rd = add_read(q, res->token_failed ? AZURE_READ_TOKEN : AZURE_READ_TRANSPORT,
		      (int)res->token_status, res->token_failed ? 0 : res->retries);
	if (rd) {
		struct read_slot *sl = &r->slots[r->n_reads - 1];

		if (res->token_error) {
			sl->terr = *(const struct azure_token_error *)res->token_error;
			rd->token_error = &sl->terr;
		}
		snprintf(sl->detail, sizeof(sl->detail), "%s", res->error ? res->error : "no token");
		rd->detail = sl->detail;
	}
	req_done(q);
}

/* restreq's token source for an Azure read: the round's identity, for
 * the resource the read is of. */
static int
get_az_token(void *arg, token_fn fn, void *ctx, struct token_waiter **w)
{
	struct azreq *q = arg;
	struct azround *r = q->round;
	struct azpoll *a = r->p->owner;

	return aztoken_get(a->b.d, r->id, &r->ep, resource_of(q->kind), cfg_azure(a->b.cfg)->ca_file, fn,
			   ctx, w);
}

static void
send_with_token(struct azreq *q)
{
	struct azround *r = q->round;
	struct azpoll *a = r->p->owner;
	int rc;

	/* on_read may run (and free q) before these return */
	if (q->kind == REQ_ATLAS_CP) {
		/* the same document for every project: fresh for half an
		 * Azure interval, so each round still sees a recent one */
		rc = a->cp_read ? sharedget_get(a->cp_read, cfg_azure(a->b.cfg)->base.interval * 1000 / 2,
						on_read, q, &q->shared)
				: -ENOMEM;
	} else if (is_atlas(q->kind)) {
		rc = atlasreq_get(a->b.d, q->url, q->accept, 0, on_read, q, &q->rest);
	} else {
		struct restreq_spec spec = {
			.url = q->url,
			.accept = q->accept,
			.ca_file = cfg_azure(a->b.cfg)->ca_file,
			.connect_to = q->connect_to,
			.get_token = get_az_token,
			.token_arg = q,
			.service = "azure",
		};

		rc = restreq_get(a->b.d, &spec, on_read, q, &q->rest);
	}
	if (rc < 0) {
		log_err("project %s: cannot start reading %s: %s", r->p->e.cfg->name, q->url,
			strerror(-rc));
		req_done(q);
	}
}

static void
req_start(struct azround *r, enum req_kind kind, char *url, const char *accept, bool kv)
{
	struct azreq *q;

	if (!url) {
		log_err("project %s: out of memory building a request", r->p->e.cfg->name);
		return;
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		free(url);
		log_err("project %s: out of memory building a request", r->p->e.cfg->name);
		return;
	}
	q->round = r;
	q->kind = kind;
	q->url = url;
	q->accept = accept;
	if (kv && r->ep.key_vault[0]) {
		char host[256];
		unsigned port;

		/* Private endpoint (or test): connect there, keep the vault's
		 * name for TLS and Host. */
		if (connect_target(r->ep.key_vault, host, sizeof(host), &port) == 0)
			q->connect_to = util_asprintf("%s:443:%s:%u", r->kv_base + 8, host, port);
	}
	q->next = r->reqs;
	r->reqs = q;
	r->pending++;
	send_with_token(q);
}

/* A read not sent because a value from Atlas that would go into its URL
 * is malformed: azure.access says which and why. why is a static text. */
static void
req_refuse(struct azround *r, enum req_kind kind, const char *field, const char *why)
{
	struct azreq q = {.round = r, .kind = kind};
	struct azure_read *rd = add_read(&q, AZURE_READ_REFUSED, 0, 0);

	if (rd) {
		struct read_slot *s = &r->slots[r->n_reads - 1];

		snprintf(s->detail, sizeof(s->detail), "Atlas's %s is malformed (%s)", field, why);
		rd->detail = s->detail;
	}
}

/* ---- rounds ---------------------------------------------------------------- */

static void
round_free(struct azround *r)
{
	struct azpoll *a = r->p->owner;

	while (r->reqs) {
		struct azreq *q = r->reqs;

		r->reqs = q->next;
		req_cancel(a, q);
	}
	azure_graph_app_free(&r->app);
	azure_graph_app_free(&r->sp);
	azure_kv_key_free(&r->key);
	for (size_t i = 0; i < r->n_versions; i++)
		azure_kv_key_free(&r->versions[i]);
	free(r->versions);
	azure_rotation_policy_free(&r->policy);
	azure_vault_free(&r->vault);
	azure_role_assignments_free(&r->roles);
	atlas_control_plane_free(&r->cp);
	atlas_ip_addresses_free(&r->ips);
	free(r);
}

/* provbase_ops.drop_round: the round in progress goes */
static void
drop_round(void *project)
{
	struct azproject *p = project;

	round_free(p->round);
	set_round(p, NULL);
}

/* provbase_ops.schedule_of */
static struct provround *
schedule_of(struct projset_entry *e)
{
	return &((struct azproject *)e)->s;
}

static void
round_evaluate(struct azround *r, struct findings *f)
{
	struct azproject *p = r->p;
	const struct cfg_checks *ck = &p->e.cfg->checks;
	const struct cfg_azure_project *own = cfg_azure_project(p->e.cfg);
	time_t now = util_now();
	struct azure_secret_input sin = {
		.client_id = p->kv.client_id,
		.role_id = p->kv.role_id,
		.app = r->have_app ? &r->app : NULL,
		.sp = r->have_sp ? &r->sp : NULL,
		.app_missing = r->app_missing,
		.sp_missing = r->sp_missing,
		.identity_tenant = r->id ? r->id->tenant_id : NULL,
		.atlas_tenant = p->kv.tenant_id,
		.hint = own ? own->client_secret_hint : NULL,
		.has_configured_expiry = own && own->has_client_secret_expires,
		.configured_expiry = own ? own->client_secret_expires : 0,
	};
	struct ear_memory mem = {.key_id = p->key_id, .key_first_seen = p->key_first_seen};
	const char **cidrs = NULL;
	size_t n_cidrs = 0;
	int rc = 0;

	rc |= chk_azure_key_identifier(&p->kv, r->ep_ok ? r->ep.vault_suffix : NULL,
				       r->vault_missing[0] ? r->vault_missing : NULL, ck, f);
	rc |= chk_azure_secret_expiry(&sin, ck, now, f);
	if (r->kv_host_ok && r->id) {
		rc |= chk_azure_key_state(&r->pin, r->have_key ? &r->key : NULL, r->key_deleted, ck,
					  now, f);
		if (r->have_key || r->key_deleted || p->key_id)
			rc |= chk_azure_key_age(&r->pin, r->have_key ? &r->key : NULL, &mem,
						r->have_policy ? &r->policy : NULL, ck, now, f);
		if (r->have_versions && !r->versions_failed)
			rc |= chk_azure_key_version(&r->pin, r->have_key ? &r->key : NULL,
						    r->versions, r->n_versions, ck, now, f);
	}
	if (r->have_cp &&
	    atlas_control_plane_outbound(&r->cp, false, &cidrs, &n_cidrs) == 0) {
		rc |= chk_atlas_control_plane_ips(cidrs, n_cidrs, &p->cp, 0, ck, now, f, &p->cp);
	}
	if (r->id) {
		struct azure_allowlist_input al = {
			.vault_name = p->kv.key_vault_name,
			.vault = r->have_vault ? &r->vault : NULL,
			.control_plane = cidrs,
			.n_control_plane = n_cidrs,
			.have_control_plane = r->have_cp,
			.nodes = r->have_ips ? &r->ips : NULL,
			.require_private_networking = p->kv.require_private_networking,
		};
		struct azure_permissions_input perm = {
			.vault_name = p->kv.key_vault_name,
			.vault = r->have_vault ? &r->vault : NULL,
			.principal_id = r->have_sp ? r->sp.id : NULL,
			.key_name = r->pin_ok ? r->pin.name : NULL,
			.roles = r->have_roles && !r->roles_failed ? &r->roles : NULL,
		};

		rc |= chk_azure_allowlist(&al, ck, f);
		if (perm.principal_id)
			rc |= chk_azure_permissions(&perm, ck, f);
		rc |= chk_azure_access(r->reads, r->n_reads, ck, f);
	}
	free(cidrs);
	if (rc < 0)
		log_err("project %s: some Azure checks could not be evaluated: out of memory",
			p->e.cfg->name);
}

static void on_due(void *project);

/* What the metrics show of the round: a fact a read did not reach this
 * time keeps its last value. */
static void
note_facts(struct azproject *p, const struct azround *r, const struct findings *f)
{
	const char *subject = NULL;
	time_t at = mx_finding_at(f, CHK_AZURE_SECRET_EXPIRY, &subject);

	if (mx_round_read_ok(f, CHK_AZURE_ACCESS))
		p->mx.last_success = util_now();
	if (f->evaluated[CHK_AZURE_SECRET_EXPIRY] && !util_streq(subject, p->mx.credential)) {
		free(p->mx.credential);
		p->mx.credential = util_strdup(subject);
	}
	if (f->evaluated[CHK_AZURE_SECRET_EXPIRY])
		p->mx.credential_expiry = at && p->mx.credential ? at : 0;
	if (r->have_key)
		p->mx.key_created = r->key.attr.has_created ? r->key.attr.created : 0;
	else if (r->key_deleted)
		p->mx.key_created = 0;
}

static void
round_finish(struct azround *r)
{
	struct azproject *p = r->p;
	struct azpoll *a = p->owner;
	struct findings f = {0};

	round_evaluate(r, &f);
	note_facts(p, r, &f);
	set_round(p, NULL);
	round_free(r);
	provround_ended(&p->s, a->b.hooks.once, cfg_azure(a->b.cfg)->base.interval);
	/* once mode: no next round, no saved state, nothing to keep */
	if (a->b.hooks.once) {
		kv_clear(&p->kv);
		free(p->key_id);
		p->key_id = NULL;
		cp_memory_free(&p->cp);
		mx_facts_clear(&p->mx);
	}
	a->b.hooks.on_result(a->b.hooks.ctx, p->e.cfg, &f);
	findings_free(&f);
}

static void
req_done(struct azreq *q)
{
	struct azround *r = q->round;

	for (struct azreq **pp = &r->reqs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	req_free(q);
	if (--r->pending == 0)
		round_finish(r);
}

static void
round_start(struct azproject *p)
{
	struct azpoll *a = p->owner;
	const struct config *cfg = a->b.cfg;
	const struct atlas_azure_kv *kv = &p->kv;
	struct azround *r;
	char err[256];

	if (p->round) {
		p->s.rerun = true;
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		log_err("project %s: out of memory starting the Azure checks", p->e.cfg->name);
		return;
	}
	r->p = p;
	set_round(p, r);
	r->pending = 1; /* the launch reference */
	r->id = cfg_project_identity(cfg, p->e.cfg);
	r->ep_ok = azure_endpoints_resolve(kv->azure_environment, &cfg_azure(cfg)->endpoints, &r->ep,
					   err, sizeof(err)) == 0;
	if (!r->ep_ok)
		log_warn("project %s: %s", p->e.cfg->name, err);
	r->pin_ok = kv->key_identifier &&
		    azure_parse_key_id(kv->key_identifier, &r->pin, err, sizeof(err)) == 0;
	/* A key identifier naming any other host gets no request, and so no
	 * token: azure.key_identifier says why (its suffix check). */
	r->kv_host_ok = r->pin_ok && r->ep_ok && strcasecmp(r->pin.suffix, r->ep.vault_suffix) == 0;
	if (r->kv_host_ok)
		snprintf(r->kv_base, sizeof(r->kv_base), "https://%s.%s", r->pin.vault,
			 r->pin.suffix);
	if (r->id && r->ep_ok) {
		const char *bad;

		if (kv->client_id && (bad = azure_check_guid(kv->client_id))) {
			req_refuse(r, REQ_GRAPH_APP, "clientID", bad);
		} else if (kv->client_id) {
			req_start(r, REQ_GRAPH_APP,
				  util_asprintf("%s/v1.0/applications(appId='%s')?$select=id,appId,"
						"displayName,passwordCredentials",
						r->ep.graph, kv->client_id),
				  NULL, false);
			req_start(r, REQ_GRAPH_SP,
				  util_asprintf("%s/v1.0/servicePrincipals(appId='%s')?$select=id,"
						"appId,displayName,passwordCredentials",
						r->ep.graph, kv->client_id),
				  NULL, false);
		}
		/* the parser allowed only [0-9a-zA-Z-] in vault, name and version */
		if (r->kv_host_ok) {
			req_start(r, REQ_KV_KEY,
				  util_asprintf("%s/keys/%s/%s?" KV_API, r->kv_base, r->pin.name,
						r->pin.version),
				  NULL, true);
			req_start(r, REQ_KV_VERSIONS,
				  util_asprintf("%s/keys/%s/versions?" KV_API "&maxresults=25",
						r->kv_base, r->pin.name),
				  NULL, true);
			req_start(r, REQ_KV_POLICY,
				  util_asprintf("%s/keys/%s/rotationpolicy?" KV_API, r->kv_base,
						r->pin.name),
				  NULL, true);
		}
		if (kv->subscription_id && kv->resource_group_name && kv->key_vault_name) {
			if ((bad = azure_check_guid(kv->subscription_id)))
				req_refuse(r, REQ_ARM_VAULT, "subscriptionID", bad);
			else if ((bad = azure_check_resource_group(kv->resource_group_name)))
				req_refuse(r, REQ_ARM_VAULT, "resourceGroupName", bad);
			else if ((bad = azure_check_vault_name(kv->key_vault_name)))
				req_refuse(r, REQ_ARM_VAULT, "keyVaultName", bad);
			else
				req_start(r, REQ_ARM_VAULT,
					  util_asprintf("%s/subscriptions/%s/resourceGroups/%s/"
							"providers/Microsoft.KeyVault/vaults/%s?"
							ARM_VAULT_API,
							r->ep.management, kv->subscription_id,
							kv->resource_group_name, kv->key_vault_name),
					  NULL, false);
		}
		req_start(r, REQ_ATLAS_CP, atlas_control_plane_url(cfg->atlas.base_url),
			  ATLAS_MEDIA_2023_11_15, false);
		req_start(r, REQ_ATLAS_IPS, atlas_ip_addresses_url(cfg->atlas.base_url, p->e.id),
			  ATLAS_MEDIA_2023_01_01, false);
	}
	if (--r->pending == 0)
		round_finish(r);
}

static void
on_due(void *project)
{
	struct azproject *p = project;

	if (p->s.active)
		round_start(p);
}

/* ---- projects ---------------------------------------------------------- */

static void
project_free(struct azproject *p)
{
	kv_clear(&p->kv);
	free(p->key_id);
	cp_memory_free(&p->cp);
	mx_facts_clear(&p->mx);
	free(p->e.id);
	free(p);
}

/* projset drop: the project left the config (or azpoll stops). */
static void
project_destroy(void *ctx, struct projset_entry *e)
{
	struct azproject *p = (struct azproject *)e;

	(void)ctx;
	if (p->round)
		drop_round(p);
	provround_close(&p->s);
	project_free(p);
}

static void memory_from_json(struct azproject *p, const struct cfg_project *cp, json_t *o);

/* projset create: an Azure side for a project new to the config; its
 * first round waits for the poller's first EAR read. */
static struct projset_entry *
project_new(void *ctx, const struct cfg_project *cp)
{
	struct azpoll *a = ctx;
	struct azproject *p = calloc(1, sizeof(*p));

	if (!p || !(p->e.id = strdup(cp->id))) {
		free(p);
		return NULL;
	}
	p->owner = a;
	if (provround_init(&p->s, &a->b.rounds, p) < 0) {
		free(p->e.id);
		free(p);
		return NULL;
	}
	if (a->b.loaded)
		memory_from_json(p, cp, json_object_get(a->b.loaded, cp->id));
	return &p->e;
}

static struct azproject *
find_project(struct azpoll *a, const char *id)
{
	return (struct azproject *)projset_find(&a->b.projects, id);
}

static void
memory_from_json(struct azproject *p, const struct cfg_project *cp, json_t *o)
{
	if (cp_memory_from_json(json_object_get(o, "cp"), &p->cp) < 0)
		log_warn("project %s: its remembered control-plane list in the state file is "
			 "damaged; starting afresh", cp->name);
}

static int
azpoll_configure(struct azpoll *a, const struct config *cfg, bool reloaded)
{
	static const struct projset_ops ops = {
		.create = project_new, .drop = project_destroy, .wanted = provbase_remembered};

	if (reloaded) {
		provbase_drop_rounds(&a->b);
		aztokens_forget(a->b.d);
	}
	/* After a reload no round waits on it, and the Atlas base URL may
	 * have changed; a listing changes neither. */
	if (reloaded || !a->cp_read) {
		char *url = atlas_control_plane_url(cfg->atlas.base_url);

		sharedget_free(a->cp_read);
		a->cp_read = NULL;
		if (!url || sharedget_new(a->b.d, url, ATLAS_MEDIA_2023_11_15,
					  ATLASREQ_UNAUTHENTICATED, &a->cp_read) < 0)
			log_err("out of memory: the Atlas control-plane list will not be read");
		free(url);
	}
	return provbase_configure(&a->b, cfg, &ops);
}

/* Azure is no longer the provider: every Azure check has nothing to
 * report, which resolves their alerts. */
static void
report_not_azure(struct azpoll *a, const struct cfg_project *cp)
{
	static const enum check_id az[] = {
		CHK_AZURE_SECRET_EXPIRY, CHK_AZURE_KEY_STATE,   CHK_AZURE_KEY_AGE,
		CHK_AZURE_KEY_VERSION,   CHK_AZURE_KEY_IDENTIFIER, CHK_AZURE_ALLOWLIST,
		CHK_AZURE_PERMISSIONS,   CHK_AZURE_ACCESS,
	};
	struct findings f = {0};

	for (size_t i = 0; i < ARRAY_SIZE(az); i++)
		f.evaluated[az[i]] = true;
	a->b.hooks.on_result(a->b.hooks.ctx, cp, &f);
}

static void
azpoll_ear(struct azpoll *a, const struct cfg_project *cp, const struct atlas_ear *ear,
	   const struct ear_memory *mem)
{
	struct azproject *p = find_project(a, cp->id);
	bool was = p && p->s.active;
	unsigned char trigger[CRYPTO_SHA256_LEN];

	if (!p) {
		/* No Azure side: Azure was never named for the project since
		 * the start. Its alerts of an earlier run (if any) resolve. */
		if (atlas_ear_enabled_provider(ear) != PROV_AZURE) {
			report_not_azure(a, cp);
			return;
		}
		if (!(p = (struct azproject *)project_new(a, cp))) {
			log_err("project %s: out of memory keeping the Azure configuration",
				cp->name);
			return;
		}
		projset_add(&a->b.projects, &p->e, cp);
	}
	p->e.cfg = cp;
	if (mem && !util_streq(mem->key_id, p->key_id)) {
		free(p->key_id);
		p->key_id = util_strdup(mem->key_id);
	}
	p->key_first_seen = mem ? mem->key_first_seen : 0;
	if (atlas_ear_enabled_provider(ear) != PROV_AZURE) {
		if (was) {
			kv_clear(&p->kv);
			mx_facts_clear(&p->mx);
			p->have_trigger = false;
			if (p->round)
				drop_round(p);
		}
		/* the alerts' clear state must hold confirm_resolved
		 * observations: it is reported on that many EAR reads */
		if (provround_leave(&p->s, a->b.cfg->alerts.confirm_resolved))
			report_not_azure(a, cp);
		return;
	}
	kv_clear(&p->kv);
	provround_set_active(&p->s, kv_copy(&p->kv, &ear->azure) == 0, p->s.done_once);
	if (!p->s.active) {
		log_err("project %s: out of memory keeping the Azure configuration", cp->name);
		return;
	}
	if (kv_trigger(&p->kv, trigger) < 0) {
		log_err("project %s: out of memory comparing the Azure configuration", cp->name);
		return;
	}
	if (!was || !p->have_trigger || memcmp(trigger, p->trigger, sizeof(trigger)) != 0) {
		/* a new key, client, role or vault: read Azure now */
		memcpy(p->trigger, trigger, sizeof(trigger));
		p->have_trigger = true;
		if (!p->s.done_once || !a->b.hooks.once) {
			provround_unschedule(&p->s);
			round_start(p);
		}
	}
}

/* ---- lifecycle and memory ------------------------------------------------ */

static const struct provbase_ops base_ops = {
	.due = on_due, .schedule_of = schedule_of, .drop_round = drop_round};

static int
azpoll_new(struct daemon *d, const struct poller_hooks *hooks, struct azpoll **out)
{
	struct azpoll *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (provbase_init(&a->b, d, hooks, &base_ops) < 0) {
		free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

static void
azpoll_free(struct azpoll *a)
{
	if (!a)
		return;
	provbase_fini(&a->b, project_destroy, a);
	sharedget_free(a->cp_read);
	json_decref(a->b.loaded);
	free(a);
}

static int
azpoll_save_memory(const struct azpoll *a, char **json, size_t *len)
{
	struct store_projects_out out;
	const struct projset_entry *e;

	store_projects_begin(&out);
	projset_foreach(&a->b.projects, e) {
		const struct azproject *p = (const struct azproject *)e;
		json_t *cp = cp_memory_to_json(&p->cp);

		if (cp)
			store_projects_add(&out, p->e.id, json_pack("{s:o}", "cp", cp));
	}
	return store_projects_end(&out, json, len);
}

/* ---- the provider ------------------------------------------------------ */

static int
op_create(struct daemon *d, const struct poller_hooks *hooks, struct provider_state **out)
{
	return azpoll_new(d, hooks, (struct azpoll **)out);
}

static void
op_destroy(struct provider_state *s)
{
	azpoll_free((struct azpoll *)s);
}

static int
op_configure(struct provider_state *s, const struct config *cfg, bool reloaded)
{
	return azpoll_configure((struct azpoll *)s, cfg, reloaded);
}

static void
op_ear(struct provider_state *s, const struct cfg_project *p, const struct atlas_ear *ear,
       const struct ear_memory *mem)
{
	azpoll_ear((struct azpoll *)s, p, ear, mem);
}

static int
op_save(const struct provider_state *s, char **json, size_t *len)
{
	return azpoll_save_memory((const struct azpoll *)s, json, len);
}

static int
op_load(struct provider_state *s, const char *json, size_t len)
{
	return provbase_load(&((struct azpoll *)s)->b, json, len);
}

static bool
op_idle(const struct provider_state *s)
{
	return provround_idle(&((const struct azpoll *)s)->b.rounds);
}

static void
op_metrics(const struct provider_state *s, struct metrics *w)
{
	const struct projset_entry *e;

	projset_foreach(&((const struct azpoll *)s)->b.projects, e) {
		const struct azproject *p = (const struct azproject *)e;

		if (p->s.active)
			mx_facts_write(&p->mx, w, p->e.cfg, "azure");
	}
}

const struct provider_ops azure_provider = {
	.name = "Azure",
	.id = PROV_AZURE,
	.state_doc = "azure.json",
	.state_lost = "control-plane IP history starts afresh",
	.create = op_create,
	.destroy = op_destroy,
	.configure = op_configure,
	.ear = op_ear,
	.save = op_save,
	.load = op_load,
	.idle = op_idle,
	.metrics = op_metrics,
};
