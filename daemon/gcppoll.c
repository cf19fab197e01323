/* SPDX-License-Identifier: ISC */
/*
 * gcppoll — the Google Cloud side of each project (docs/INTERFACE.md gcp.*
 * checks). Every gcp_interval, and at once when Atlas's EAR state names a
 * new keyVersionResourceID, one round reads — concurrently, with
 * kmswatch's own read-only identity (gcptoken.c) and the shared retry
 * policy (restreq, fetch) — the CryptoKeyVersion Atlas uses and its
 * CryptoKey from Cloud KMS, then runs the pure checks (lib/gcp_checks.c)
 * and hands the findings to the daemon. Projects whose enabled EAR
 * provider is not Google Cloud KMS have no round; when a project stops
 * being one, its gcp.* alerts resolve.
 *
 * It is the GCP provider (provider.h): the core reaches it only through
 * gcp_provider at the end of this file. Its state document, gcp.json,
 * keeps per project the version Atlas names and when kmswatch first saw
 * it (the age of last resort when Cloud KMS gives no createTime).
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "atlas.h"
#include "checks.h"
#include "daemon.h"
#include "exporter.h"
#include "gcp.h"
#include "gcp_config.h"
#include "gcptoken.h"
#include "http.h"
#include "log.h"
#include "poller.h"
#include "projset.h"
#include "provider.h"
#include "provround.h"
#include "restreq.h"
#include "store.h"
#include "util.h"

#define N_READS 2

struct gcpround;

struct gcpreq {
	struct gcpreq *next;
	struct gcpround *round;
	enum gcp_op op;
	char *url;
	struct restreq *rest;
};

struct read_slot {
	struct gcp_error err, terr;
	char detail[256];
};

struct gcpround {
	struct gcpproject *p;
	struct gcp_version_id pin;
	bool pin_ok;
	char pin_err[200];
	unsigned pending;
	struct gcpreq *reqs;

	struct gcp_key_version ver;
	bool have_ver, ver_not_found;
	struct gcp_crypto_key key;
	bool have_key, key_not_found;

	struct gcp_read reads[N_READS];
	struct read_slot slots[N_READS];
	size_t n_reads;
};

struct gcpproject {
	struct projset_entry e; /* id, cfg, config order */
	struct gcppoll *owner;
	char *version_id;  /* Atlas's keyVersionResourceID while GCP is the provider */
	char *seen_id;     /* memory: the version last named, and since when */
	time_t seen_since;
	struct provround s; /* schedule; s.active: Atlas's enabled provider is GCP */
	struct gcpround *round;
	struct mx_facts mx; /* for the metrics, while GCP is the provider */
};

struct gcppoll {
	struct provbase b; /* first: the projset ctx is the state (provround.h) */
};
static_assert(offsetof(struct gcppoll, b) == 0, "the projset ctx is the state and its provbase");

static void round_start(struct gcpproject *p);
static void req_done(struct gcpreq *q);

static void
set_round(struct gcpproject *p, struct gcpround *r)
{
	p->round = r;
	provround_set_running(&p->s, r != NULL);
}

/* ---- reads ------------------------------------------------------------- */

static struct gcp_read *
add_read(struct gcpround *r, enum gcp_op op, enum gcp_outcome outcome, int status,
	 unsigned retries)
{
	struct gcp_read *rd;

	if (r->n_reads >= N_READS)
		return NULL;
	rd = &r->reads[r->n_reads++];
	*rd = (struct gcp_read){
		.op = op,
		.resource = op == GCPOP_KEY_VERSION ? r->pin.full : r->pin.key_name,
		.outcome = outcome,
		.http_status = status,
		.metadata = cfg_gcp(r->p->owner->b.cfg)->type == GCPID_METADATA,
		.retries = retries,
	};
	return rd;
}

static struct read_slot *
slot_of(struct gcpround *r, const struct gcp_read *rd)
{
	return &r->slots[rd - r->reads];
}

static void
handle_ok(struct gcpreq *q, const struct http_response *resp, unsigned retries)
{
	struct gcpround *r = q->round;
	char err[256] = "";
	int rc;

	if (q->op == GCPOP_KEY_VERSION) {
		rc = gcp_parse_key_version(resp->body, resp->body_len, &r->ver, err, sizeof(err));
		r->have_ver = rc == 0;
	} else {
		rc = gcp_parse_crypto_key(resp->body, resp->body_len, &r->key, err, sizeof(err));
		r->have_key = rc == 0;
	}
	if (rc == 0) {
		add_read(r, q->op, GCP_READ_OK, (int)resp->status, retries);
	} else {
		struct gcp_read *rd = add_read(r, q->op, GCP_READ_BAD_BODY, (int)resp->status,
					       retries);

		if (rd) {
			snprintf(slot_of(r, rd)->detail, sizeof(slot_of(r, rd)->detail), "%s", err);
			rd->detail = slot_of(r, rd)->detail;
		}
	}
}

static void
handle_answer(struct gcpreq *q, const struct http_response *resp, unsigned retries)
{
	struct gcpround *r = q->round;
	struct gcp_error e;
	struct gcp_read *rd;
	bool parsed;

	if (resp->curl_code == 0 && resp->status >= 200 && resp->status < 300) {
		handle_ok(q, resp, retries);
		return;
	}
	parsed = resp->curl_code == 0 && gcp_parse_error(resp->body, resp->body_len, &e) == 0;
	if (resp->curl_code == 0 && resp->status == 404 &&
	    (!parsed || strcmp(e.status, "NOT_FOUND") == 0)) {
		/* gone (or never there): key_state's news, not a failure to read */
		if (q->op == GCPOP_KEY_VERSION)
			r->ver_not_found = true;
		else
			r->key_not_found = true;
		add_read(r, q->op, GCP_READ_OK, 404, retries);
		return;
	}
	rd = add_read(r, q->op, resp->curl_code ? GCP_READ_TRANSPORT : GCP_READ_HTTP,
		      (int)resp->status, retries);
	if (!rd)
		return;
	if (resp->curl_code) {
		snprintf(slot_of(r, rd)->detail, sizeof(slot_of(r, rd)->detail), "%s", resp->error);
		rd->detail = slot_of(r, rd)->detail;
	} else if (parsed) {
		slot_of(r, rd)->err = e;
		rd->error = &slot_of(r, rd)->err;
	}
}

static void
on_read(void *ctx, const struct restreq_result *res)
{
	struct gcpreq *q = ctx;
	struct gcpround *r = q->round;
	struct gcp_read *rd;

	q->rest = NULL;
	if (res->resp) {
		handle_answer(q, res->resp, res->retries);
		req_done(q);
		return;
	}
	rd = add_read(r, q->op, res->token_failed ? GCP_READ_TOKEN : GCP_READ_TRANSPORT,
		      (int)res->token_status, res->token_failed ? 0 : res->retries);
	if (rd) {
		struct read_slot *s = slot_of(r, rd);

		if (res->token_error) {
			s->terr = *(const struct gcp_error *)res->token_error;
			rd->token_error = &s->terr;
		}
		snprintf(s->detail, sizeof(s->detail), "%s", res->error ? res->error : "no token");
		rd->detail = s->detail;
	}
	req_done(q);
}

static int
get_gcp_token(void *arg, token_fn fn, void *ctx, struct token_waiter **w)
{
	struct gcpreq *q = arg;
	struct gcppoll *g = q->round->p->owner;

	return gcptoken_get(g->b.d, g->b.cfg, fn, ctx, w);
}

static void
req_start(struct gcpround *r, enum gcp_op op, char *url)
{
	struct gcppoll *g = r->p->owner;
	struct gcpreq *q = url ? calloc(1, sizeof(*q)) : NULL;
	struct restreq_spec spec;
	int rc;

	if (!q) {
		free(url);
		log_err("project %s: out of memory building a Cloud KMS request", r->p->e.cfg->name);
		return;
	}
	q->round = r;
	q->op = op;
	q->url = url;
	q->next = r->reqs;
	r->reqs = q;
	r->pending++;
	spec = (struct restreq_spec){
		.url = q->url,
		.ca_file = cfg_gcp(g->b.cfg)->ca_file,
		.get_token = get_gcp_token,
		.token_arg = q,
		.service = "gcp",
	};
	/* on_read may run (and free q) before this returns */
	if ((rc = restreq_get(g->b.d, &spec, on_read, q, &q->rest)) < 0) {
		log_err("project %s: cannot start reading %s: %s", r->p->e.cfg->name, url,
			strerror(-rc));
		req_done(q);
	}
}

/* ---- rounds -------------------------------------------------------------- */

static void
req_free(struct gcpreq *q)
{
	restreq_cancel(q->rest);
	free(q->url);
	free(q);
}

static void
round_free(struct gcpround *r)
{
	while (r->reqs) {
		struct gcpreq *q = r->reqs;

		r->reqs = q->next;
		req_free(q);
	}
	gcp_key_version_free(&r->ver);
	gcp_crypto_key_free(&r->key);
	free(r);
}

/* provbase_ops.drop_round: the round in progress goes */
static void
drop_round(void *project)
{
	struct gcpproject *p = project;

	round_free(p->round);
	set_round(p, NULL);
}

/* provbase_ops.schedule_of */
static struct provround *
schedule_of(struct projset_entry *e)
{
	return &((struct gcpproject *)e)->s;
}

static void
round_evaluate(struct gcpround *r, struct findings *f)
{
	struct gcpproject *p = r->p;
	const struct cfg_checks *ck = &p->e.cfg->checks;
	time_t now = util_now();
	int rc = 0;

	if (r->pin_ok) {
		time_t since = util_streq(p->seen_id, r->pin.full) ? p->seen_since : 0;

		rc |= chk_gcp_key_state(&r->pin, r->have_ver ? &r->ver : NULL, r->ver_not_found,
					ck, now, f);
		if (!r->ver_not_found)
			rc |= chk_gcp_key_age(&r->pin, r->have_ver ? &r->ver : NULL, since,
					      r->have_key ? &r->key : NULL, ck, now, f);
	}
	rc |= chk_gcp_access(r->reads, r->n_reads, ck, f);
	if (rc < 0)
		log_err("project %s: some Google Cloud checks could not be evaluated: out of memory",
			p->e.cfg->name);
}

static void on_due(void *project);

static void
round_finish(struct gcpround *r)
{
	struct gcpproject *p = r->p;
	struct gcppoll *g = p->owner;
	struct findings f = {0};

	round_evaluate(r, &f);
	if (mx_round_read_ok(&f, CHK_GCP_ACCESS))
		p->mx.last_success = util_now();
	if (r->have_ver) {
		p->mx.key_created = r->ver.has_create ? r->ver.create_time : 0;
		p->mx.key_deletion = r->ver.has_destroy ? r->ver.destroy_time : 0;
	} else if (r->ver_not_found || !r->pin_ok) {
		p->mx.key_created = p->mx.key_deletion = 0;
	}
	set_round(p, NULL);
	round_free(r);
	provround_ended(&p->s, g->b.hooks.once, cfg_gcp(g->b.cfg)->base.interval);
	g->b.hooks.on_result(g->b.hooks.ctx, p->e.cfg, &f);
	findings_free(&f);
}

static void
req_done(struct gcpreq *q)
{
	struct gcpround *r = q->round;

	for (struct gcpreq **pp = &r->reqs; *pp; pp = &(*pp)->next)
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	q->rest = NULL;
	req_free(q);
	if (--r->pending == 0)
		round_finish(r);
}

static void
round_start(struct gcpproject *p)
{
	struct gcppoll *g = p->owner;
	const struct config *cfg = g->b.cfg;
	const char *kms = cfg_gcp(cfg)->endpoints.kms ? cfg_gcp(cfg)->endpoints.kms : GCP_DEFAULT_KMS;
	struct gcpround *r;

	if (p->round) {
		p->s.rerun = true;
		return;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		log_err("project %s: out of memory starting the Google Cloud checks", p->e.cfg->name);
		return;
	}
	r->p = p;
	set_round(p, r);
	r->pending = 1; /* the launch reference */
	r->pin_ok = gcp_parse_version_id(p->version_id, &r->pin, r->pin_err,
					 sizeof(r->pin_err)) == 0;
	if (!r->pin_ok && (!p->version_id || !p->version_id[0]))
		snprintf(r->pin_err, sizeof(r->pin_err), "Atlas's answer has none");
	if (!r->pin_ok) {
		/* never sent: a malformed name would ask for something else */
		struct gcp_read *rd = add_read(r, GCPOP_KEY_VERSION, GCP_READ_REFUSED, 0, 0);

		if (rd) {
			rd->resource = NULL;
			rd->detail = r->pin_err;
		}
	} else if (cfg_gcp(cfg)->type == GCPID_NONE) {
		log_warn("project %s: Atlas uses Google Cloud KMS, but kmswatch.yaml has no gcp: "
			 "identity; the gcp.* checks do not run",
			 p->e.cfg->name);
	} else {
		/* the grammar allowed only URL-safe characters in every part */
		req_start(r, GCPOP_KEY_VERSION, util_asprintf("%s/v1/%s", kms, r->pin.full));
		req_start(r, GCPOP_CRYPTO_KEY, util_asprintf("%s/v1/%s", kms, r->pin.key_name));
	}
	if (--r->pending == 0)
		round_finish(r);
}

static void
on_due(void *project)
{
	struct gcpproject *p = project;

	if (p->s.active)
		round_start(p);
}

/* ---- projects --------------------------------------------------------- */

static void
project_free(struct gcpproject *p)
{
	free(p->version_id);
	free(p->seen_id);
	mx_facts_clear(&p->mx);
	free(p->e.id);
	free(p);
}

static void
project_destroy(void *ctx, struct projset_entry *e)
{
	struct gcpproject *p = (struct gcpproject *)e;

	(void)ctx;
	if (p->round)
		drop_round(p);
	provround_close(&p->s);
	project_free(p);
}

static struct projset_entry *
project_new(void *ctx, const struct cfg_project *cp)
{
	struct gcppoll *g = ctx;
	struct gcpproject *p = calloc(1, sizeof(*p));
	json_t *o;

	if (!p || !(p->e.id = strdup(cp->id))) {
		free(p);
		return NULL;
	}
	p->owner = g;
	if (provround_init(&p->s, &g->b.rounds, p) < 0) {
		free(p->e.id);
		free(p);
		return NULL;
	}
	o = g->b.loaded ? json_object_get(g->b.loaded, cp->id) : NULL;
	if (json_is_string(json_object_get(o, "version")) &&
	    json_is_integer(json_object_get(o, "first_seen"))) {
		p->seen_id = strdup(json_string_value(json_object_get(o, "version")));
		p->seen_since = (time_t)json_integer_value(json_object_get(o, "first_seen"));
	}
	return &p->e;
}

static int
gcppoll_configure(struct gcppoll *g, const struct config *cfg, bool reloaded)
{
	static const struct projset_ops ops = {
		.create = project_new, .drop = project_destroy, .wanted = provbase_remembered};

	if (reloaded) {
		provbase_drop_rounds(&g->b);
		gcptokens_forget(g->b.d);
	}
	return provbase_configure(&g->b, cfg, &ops);
}

/* GCP is no longer the provider: every gcp.* check has nothing to report,
 * which resolves their alerts. */
static void
report_not_gcp(struct gcppoll *g, const struct cfg_project *cp)
{
	struct findings f = {0};

	f.evaluated[CHK_GCP_KEY_STATE] = true;
	f.evaluated[CHK_GCP_KEY_AGE] = true;
	f.evaluated[CHK_GCP_ACCESS] = true;
	g->b.hooks.on_result(g->b.hooks.ctx, cp, &f);
}

static void
gcppoll_ear(struct gcppoll *g, const struct cfg_project *cp, const struct atlas_ear *ear)
{
	struct gcpproject *p = (struct gcpproject *)projset_find(&g->b.projects, cp->id);
	const char *id;
	bool was;

	if (!p) {
		/* Google Cloud was never named for the project since the start: its
		 * alerts of an earlier run (if any) resolve. */
		if (atlas_ear_enabled_provider(ear) != PROV_GCP) {
			report_not_gcp(g, cp);
			return;
		}
		if (!(p = (struct gcpproject *)project_new(g, cp))) {
			log_err("project %s: out of memory keeping the Google Cloud configuration", cp->name);
			return;
		}
		projset_add(&g->b.projects, &p->e, cp);
	}
	p->e.cfg = cp;
	was = p->s.active;
	if (atlas_ear_enabled_provider(ear) != PROV_GCP) {
		mx_facts_clear(&p->mx);
		free(p->version_id);
		p->version_id = NULL;
		if (p->round)
			drop_round(p);
		if (provround_leave(&p->s, g->b.cfg->alerts.confirm_resolved))
			report_not_gcp(g, cp);
		return;
	}
	id = ear->gcp.key_version_resource_id ? ear->gcp.key_version_resource_id : "";
	if (!util_streq(id, p->seen_id)) {
		free(p->seen_id);
		p->seen_id = util_strdup(id);
		p->seen_since = util_now();
	}
	if (was && util_streq(id, p->version_id))
		return;
	/* a new key version (or GCP just became the provider): read it now */
	free(p->version_id);
	if (!(p->version_id = util_strdup(id))) {
		log_err("project %s: out of memory keeping the Google Cloud configuration", cp->name);
		return;
	}
	provround_set_active(&p->s, true, was && p->s.done_once);
	if (!p->s.done_once || !g->b.hooks.once) {
		provround_unschedule(&p->s);
		round_start(p);
	}
}

/* ---- lifecycle and memory ------------------------------------------------ */

static int
gcppoll_save(const struct gcppoll *g, char **json, size_t *len)
{
	struct store_projects_out out;
	const struct projset_entry *e;

	store_projects_begin(&out);
	projset_foreach(&g->b.projects, e) {
		const struct gcpproject *p = (const struct gcpproject *)e;

		if (p->seen_id && p->seen_id[0])
			store_projects_add(&out, p->e.id,
					   json_pack("{s:s, s:I}", "version", p->seen_id,
						     "first_seen", (json_int_t)p->seen_since));
	}
	return store_projects_end(&out, json, len);
}

/* ---- the provider ------------------------------------------------------ */

static const struct provbase_ops base_ops = {
	.due = on_due, .schedule_of = schedule_of, .drop_round = drop_round};

static int
op_create(struct daemon *d, const struct poller_hooks *hooks, struct provider_state **out)
{
	struct gcppoll *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	if (provbase_init(&g->b, d, hooks, &base_ops) < 0) {
		free(g);
		return -ENOMEM;
	}
	*out = (struct provider_state *)g;
	return 0;
}

static void
op_destroy(struct provider_state *s)
{
	struct gcppoll *g = (struct gcppoll *)s;

	if (!g)
		return;
	provbase_fini(&g->b, project_destroy, g);
	free(g);
}

static int
op_configure(struct provider_state *s, const struct config *cfg, bool reloaded)
{
	return gcppoll_configure((struct gcppoll *)s, cfg, reloaded);
}

static void
op_ear(struct provider_state *s, const struct cfg_project *p, const struct atlas_ear *ear,
       const struct ear_memory *mem)
{
	(void)mem;
	gcppoll_ear((struct gcppoll *)s, p, ear);
}

static int
op_save(const struct provider_state *s, char **json, size_t *len)
{
	return gcppoll_save((const struct gcppoll *)s, json, len);
}

static int
op_load(struct provider_state *s, const char *json, size_t len)
{
	return provbase_load(&((struct gcppoll *)s)->b, json, len);
}

static bool
op_idle(const struct provider_state *s)
{
	return provround_idle(&((const struct gcppoll *)s)->b.rounds);
}

static void
op_metrics(const struct provider_state *s, struct metrics *w)
{
	const struct projset_entry *e;

	projset_foreach(&((const struct gcppoll *)s)->b.projects, e) {
		const struct gcpproject *p = (const struct gcpproject *)e;

		if (p->s.active)
			mx_facts_write(&p->mx, w, p->e.cfg, "gcp");
	}
}

const struct provider_ops gcp_provider = {
	.name = "Google Cloud",
	.id = PROV_GCP,
	.state_doc = "gcp.json",
	.state_lost = "the first-seen times of key versions start afresh",
	.create = op_create,
	.destroy = op_destroy,
	.configure = op_configure,
	.ear = op_ear,
	.save = op_save,
	.load = op_load,
	.idle = op_idle,
	.metrics = op_metrics,
};
