/* SPDX-License-Identifier: ISC */
/*
 * awspoll — the AWS side of each project (docs/INTERFACE.md aws.* checks).
 * Every aws_interval, and at once when Atlas's EAR state names a new
 * customerMasterKeyID or region, one round calls AWS KMS DescribeKey and
 * GetKeyRotationStatus for the key — concurrently, signed with Signature
 * V4 (libcurl) with kmswatch's own AWS credentials (awscred.c), through
 * restreq and the shared retry policy — then runs the pure checks of
 * lib/aws_checks.c and hands the findings to the daemon. Projects whose
 * enabled EAR provider is not AWS have no AWS round; when a project stops
 * being one, its aws.* alerts resolve.
 *
 * Atlas's region and key id go into the URL and the body only after
 * lib/aws.c accepted them; a malformed one is an aws.access finding and
 * no request.
 *
 * It is the AWS provider (provider.h): the core reaches it only through
 * aws_provider at the end of this file. Its state document aws.json keeps,
 * per project, the key id and when kmswatch first saw it.
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
#include "aws.h"
#include "aws_config.h"
#include "awscred.h"
#include "checks.h"
#include "daemon.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "poller.h"
#include "projset.h"
#include "provround.h"
#include "provider.h"
#include "restreq.h"
#include "store.h"
#include "util.h"

#define KMS_DEFAULT "https://kms.REGION.amazonaws.com"
#define N_OPS 2

struct awsround;

struct awsreq {
	struct awsround *round;
	enum aws_op op;
	struct restreq *rest;
};

struct awsround {
	struct awsproject *p;
	char region[AWS_REGION_MAX];
	unsigned pending;
	struct awsreq *reqs[N_OPS];

	struct aws_key key;
	bool have_key, not_found;
	struct aws_rotation rot;
	bool have_rot, rotation_unsupported;

	struct aws_read reads[N_OPS];
	struct aws_error errs[N_OPS];
	char details[N_OPS][400];
	size_t n_reads;
};

struct awsproject {
	struct projset_entry e;
	struct awspoll *owner;
	char *key_id, *region; /* Atlas's customerMasterKeyID and region */
	time_t key_first_seen; /* persisted: when key_id was first seen */
	struct provround s; /* active: Atlas names AWS KMS */
	struct awsround *round;
	struct mx_facts mx; /* for the metrics, while AWS is the provider */
};

struct awspoll {
	struct provbase b; /* first: the projset ctx is the state (provround.h) */
};
static_assert(offsetof(struct awspoll, b) == 0, "the projset ctx is the state and its provbase");

static void round_start(struct awsproject *p);

static void
set_round(struct awsproject *p, struct awsround *r)
{
	p->round = r;
	provround_set_running(&p->s, r != NULL);
}

/* ---- reads ------------------------------------------------------------ */

static struct aws_read *
add_read(struct awsround *r, enum aws_op op, enum aws_outcome outcome, int status,
	 unsigned retries)
{
	struct aws_read *rd;

	if (r->n_reads == N_OPS)
		return NULL;
	rd = &r->reads[r->n_reads];
	*rd = (struct aws_read){.op = op, .key = r->p->key_id, .outcome = outcome,
				.http_status = status, .retries = retries};
	r->details[r->n_reads][0] = '\0';
	r->n_reads++;
	return rd;
}

static void
read_detail(struct awsround *r, struct aws_read *rd, const char *text)
{
	char *buf = r->details[rd - r->reads];

	util_copy_sanitized(buf, sizeof(r->details[0]), text);
	rd->detail = buf;
}

static void round_finish(struct awsround *r);

static void
req_done(struct awsreq *q)
{
	struct awsround *r = q->round;

	r->reqs[q->op] = NULL;
	free(q);
	if (--r->pending == 0)
		round_finish(r);
}

static void
handle_answer(struct awsreq *q, const struct http_response *resp, unsigned retries)
{
	struct awsround *r = q->round;
	char err[256] = "";
	struct aws_read *rd;
	int rc;

	if (resp->curl_code != 0) {
		if ((rd = add_read(r, q->op, AWS_READ_TRANSPORT, 0, retries)))
			read_detail(r, rd, resp->error);
		return;
	}
	if (resp->status >= 200 && resp->status < 300) {
		if (q->op == AWSOP_DESCRIBE_KEY) {
			rc = aws_parse_describe_key(resp->body, resp->body_len, &r->key, err,
						    sizeof(err));
			r->have_key = rc == 0;
		} else {
			rc = aws_parse_rotation_status(resp->body, resp->body_len, &r->rot, err,
						       sizeof(err));
			r->have_rot = rc == 0;
		}
		rd = add_read(r, q->op, rc == 0 ? AWS_READ_OK : AWS_READ_BAD_BODY,
			      (int)resp->status, retries);
		if (rd && rc < 0)
			read_detail(r, rd, err);
		return;
	}
	rd = add_read(r, q->op, AWS_READ_HTTP, (int)resp->status, retries);
	if (!rd)
		return;
	if (aws_parse_error(resp->body, resp->body_len, &r->errs[rd - r->reads]) == 0) {
		const struct aws_error *e = &r->errs[rd - r->reads];

		rd->error = e;
		/* the key is gone: key_state's news, not a failure to read */
		if (aws_error_is(e, "NotFoundException") && q->op == AWSOP_DESCRIBE_KEY)
			r->not_found = true;
		if (aws_error_is(e, "UnsupportedOperationException") &&
		    q->op == AWSOP_ROTATION_STATUS)
			r->rotation_unsupported = true;
	}
}

static void
on_read(void *ctx, const struct restreq_result *res)
{
	struct awsreq *q = ctx;
	struct awsround *r = q->round;
	struct aws_read *rd;

	q->rest = NULL;
	if (res->resp) {
		handle_answer(q, res->resp, res->retries);
	} else if ((rd = add_read(r, q->op,
				  res->token_failed ? AWS_READ_CREDENTIALS : AWS_READ_TRANSPORT,
				  (int)res->token_status, res->retries))) {
		if (res->token_error) {
			r->errs[rd - r->reads] = *(const struct aws_error *)res->token_error;
			rd->error = &r->errs[rd - r->reads];
		}
		read_detail(r, rd, res->error ? res->error : "no credentials");
	}
	req_done(q);
}

static int
get_creds(void *arg, token_fn fn, void *ctx, struct token_waiter **w)
{
	struct awsreq *q = arg;

	return awscred_get(q->round->p->owner->b.d, fn, ctx, w);
}

/* The KMS endpoint of a region: the template with REGION replaced. */
static char *
kms_url(const struct config *cfg, const char *region)
{
	const char *t = cfg_aws(cfg)->endpoints.kms ? cfg_aws(cfg)->endpoints.kms : KMS_DEFAULT;
	const char *at = strstr(t, "REGION");

	if (!at)
		return util_asprintf("%s/", t);
	return util_asprintf("%.*s%s%s/", (int)(at - t), t, region, at + 6);
}

static void
req_start(struct awsround *r, enum aws_op op)
{
	struct awspoll *a = r->p->owner;
	const char *target = op == AWSOP_DESCRIBE_KEY ? "X-Amz-Target: TrentService.DescribeKey"
						      : "X-Amz-Target: TrentService.GetKeyRotationStatus";
	const char *headers[] = {"Content-Type: application/x-amz-json-1.1", target, NULL};
	char scope[64], *url = kms_url(a->b.cfg, r->region), *body;
	struct awsreq *q = calloc(1, sizeof(*q));
	int rc;

	/* the key id passed aws_check_key_id: no character that needs
	 * escaping in a JSON string */
	body = util_asprintf("{\"KeyId\":\"%s\"}", r->p->key_id);
	snprintf(scope, sizeof(scope), "aws:amz:%s:kms", r->region);
	if (!q || !url || !body) {
		log_err("project %s: out of memory building an AWS request", r->p->e.cfg->name);
		free(q);
		free(url);
		free(body);
		return;
	}
	q->round = r;
	q->op = op;
	r->reqs[op] = q;
	r->pending++;
	{
		struct restreq_spec spec = {
			.url = url,
			.accept = "application/x-amz-json-1.1",
			.ca_file = cfg_aws(a->b.cfg)->ca_file,
			.get_token = get_creds,
			.token_arg = q,
			.body = body,
			.body_len = strlen(body),
			.headers = headers,
			.aws_sigv4 = scope,
			.token_refused = awscred_refused,
			.also_transient = awscred_throttled,
			.service = "aws",
		};

		/* on_read may run (and free q) before this returns */
		rc = restreq_get(a->b.d, &spec, on_read, q, &q->rest);
	}
	if (rc < 0) {
		log_err("project %s: cannot start reading %s: %s", r->p->e.cfg->name, url,
			strerror(-rc));
		req_done(q);
	}
	free(url);
	free(body);
}

/* ---- rounds ---------------------------------------------------------------- */

static void
round_free(struct awsround *r)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (r->reqs[i]) {
			restreq_cancel(r->reqs[i]->rest);
			free(r->reqs[i]);
		}
	aws_key_free(&r->key);
	free(r);
}

/* provbase_ops.drop_round: the round in progress goes */
static void
drop_round(void *project)
{
	struct awsproject *p = project;

	round_free(p->round);
	set_round(p, NULL);
}

/* provbase_ops.schedule_of */
static struct provround *
schedule_of(struct projset_entry *e)
{
	return &((struct awsproject *)e)->s;
}

static void
round_evaluate(struct awsround *r, struct findings *f)
{
	struct awsproject *p = r->p;
	const struct cfg_checks *ck = &p->e.cfg->checks;
	struct aws_key *key = r->have_key ? &r->key : NULL;
	time_t now = util_now();
	int rc = 0;

	/* without CreationDate the age counts from when kmswatch first saw
	 * the key id (a lower bound) */
	if (key && !key->has_creation_date && p->key_first_seen) {
		key->has_creation_date = true;
		key->creation_date = p->key_first_seen;
	}
	rc |= chk_aws_key_state(p->key_id, key, r->not_found, ck, now, f);
	rc |= chk_aws_key_age(p->key_id, key, r->have_rot ? &r->rot : NULL,
			      r->rotation_unsupported, ck, now, f);
	rc |= chk_aws_access(r->reads, r->n_reads, ck, f);
	if (rc < 0)
		log_err("project %s: some AWS checks could not be evaluated: out of memory",
			p->e.cfg->name);
}

static void on_due(void *project);

static void
round_finish(struct awsround *r)
{
	struct awsproject *p = r->p;
	struct awspoll *a = p->owner;
	struct findings f = {0};
	/* KMS's own CreationDate: the evaluation may stand in a lower bound */
	time_t created = r->have_key && r->key.has_creation_date ? r->key.creation_date : 0;

	round_evaluate(r, &f);
	if (mx_round_read_ok(&f, CHK_AWS_ACCESS))
		p->mx.last_success = util_now();
	if (r->have_key) {
		p->mx.key_created = created;
		p->mx.key_deletion = r->key.has_deletion_date ? r->key.deletion_date : 0;
	} else if (r->not_found) {
		p->mx.key_created = p->mx.key_deletion = 0;
	}
	set_round(p, NULL);
	round_free(r);
	provround_ended(&p->s, a->b.hooks.once, cfg_aws(a->b.cfg)->base.interval);
	a->b.hooks.on_result(a->b.hooks.ctx, p->e.cfg, &f);
	findings_free(&f);
}

static void
refuse(struct awsround *r, const char *field, const char *why)
{
	char text[200];

	snprintf(text, sizeof(text), "Atlas's %s is malformed (%s)", field, why);
	for (int op = 0; op < N_OPS; op++) {
		struct aws_read *rd = add_read(r, (enum aws_op)op, AWS_READ_REFUSED, 0, 0);

		if (rd)
			read_detail(r, rd, text);
	}
}

static void
round_start(struct awsproject *p)
{
	struct awsround *r;
	const char *bad;

	if (p->round) {
		p->s.rerun = true;
		return;
	}
	if (!(r = calloc(1, sizeof(*r)))) {
		log_err("project %s: out of memory starting the AWS checks", p->e.cfg->name);
		return;
	}
	r->p = p;
	set_round(p, r);
	r->pending = 1; /* the launch reference */
	if (!cfg_aws(p->owner->b.cfg)->base.configured)
		; /* no aws: identity, no AWS side (as for Azure without azure:) */
	else if ((bad = aws_region_from_atlas(p->region, r->region)))
		refuse(r, "region", bad);
	else if ((bad = aws_check_key_id(p->key_id, r->region)))
		refuse(r, "customerMasterKeyID", bad);
	else {
		req_start(r, AWSOP_DESCRIBE_KEY);
		req_start(r, AWSOP_ROTATION_STATUS);
	}
	if (--r->pending == 0)
		round_finish(r);
}

static void
on_due(void *project)
{
	struct awsproject *p = project;

	if (p->s.active)
		round_start(p);
}

/* ---- projects ---------------------------------------------------------- */

static void
project_free(struct awsproject *p)
{
	free(p->key_id);
	free(p->region);
	mx_facts_clear(&p->mx);
	free(p->e.id);
	free(p);
}

static void
project_destroy(void *ctx, struct projset_entry *e)
{
	struct awsproject *p = (struct awsproject *)e;

	(void)ctx;
	if (p->round)
		drop_round(p);
	provround_close(&p->s);
	project_free(p);
}

static struct projset_entry *
project_new(void *ctx, const struct cfg_project *cp)
{
	struct awspoll *a = ctx;
	struct awsproject *p = calloc(1, sizeof(*p));
	json_t *o;

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
	o = a->b.loaded ? json_object_get(a->b.loaded, cp->id) : NULL;
	if (json_is_object(o) && json_is_string(json_object_get(o, "key")) &&
	    json_is_integer(json_object_get(o, "first_seen"))) {
		p->key_id = strdup(json_string_value(json_object_get(o, "key")));
		p->key_first_seen = (time_t)json_integer_value(json_object_get(o, "first_seen"));
	}
	return &p->e;
}

static int
awspoll_configure(struct awspoll *a, const struct config *cfg, bool reloaded)
{
	static const struct projset_ops ops = {
		.create = project_new, .drop = project_destroy, .wanted = provbase_remembered};

	if (reloaded) {
		provbase_drop_rounds(&a->b);
		awscred_forget(a->b.d);
	}
	return provbase_configure(&a->b, cfg, &ops);
}

/* AWS is no longer the provider: every AWS check has nothing to report,
 * which resolves their alerts. */
static void
report_not_aws(struct awspoll *a, const struct cfg_project *cp)
{
	struct findings f = {0};

	f.evaluated[CHK_AWS_KEY_STATE] = f.evaluated[CHK_AWS_KEY_AGE] =
		f.evaluated[CHK_AWS_ACCESS] = true;
	a->b.hooks.on_result(a->b.hooks.ctx, cp, &f);
}

static void
awspoll_ear(struct awspoll *a, const struct cfg_project *cp, const struct atlas_ear *ear)
{
	struct awsproject *p = (struct awsproject *)projset_find(&a->b.projects, cp->id);
	const struct atlas_aws_kms *kms = &ear->aws;
	bool was, changed;

	if (!p) {
		/* AWS was never named for the project since the start: its
		 * alerts of an earlier run (if any) resolve. */
		if (atlas_ear_enabled_provider(ear) != PROV_AWS) {
			report_not_aws(a, cp);
			return;
		}
		if (!(p = (struct awsproject *)project_new(a, cp))) {
			log_err("project %s: out of memory keeping the AWS configuration", cp->name);
			return;
		}
		projset_add(&a->b.projects, &p->e, cp);
	}
	p->e.cfg = cp;
	was = p->s.active;
	if (atlas_ear_enabled_provider(ear) != PROV_AWS) {
		mx_facts_clear(&p->mx);
		if (p->round)
			drop_round(p);
		if (provround_leave(&p->s, a->b.cfg->alerts.confirm_resolved))
			report_not_aws(a, cp);
		return;
	}
	changed = !util_streq(p->key_id, kms->customer_master_key_id) ||
		  !util_streq(p->region, kms->region);
	if (!util_streq(p->key_id, kms->customer_master_key_id)) {
		/* another key: its dates are not the old one's */
		p->mx.key_created = p->mx.key_deletion = 0;
		free(p->key_id);
		p->key_id = util_strdup(kms->customer_master_key_id);
		p->key_first_seen = util_now();
	}
	if (!util_streq(p->region, kms->region)) {
		free(p->region);
		p->region = util_strdup(kms->region);
	}
	if ((kms->customer_master_key_id && !p->key_id) || (kms->region && !p->region)) {
		log_err("project %s: out of memory keeping the AWS configuration", cp->name);
		provround_set_active(&p->s, false, true);
		return;
	}
	provround_set_active(&p->s, true, was ? p->s.done_once : false);
	if (!was || changed) {
		/* a new key or region: read AWS now */
		if (!p->s.done_once || !a->b.hooks.once) {
			provround_unschedule(&p->s);
			round_start(p);
		}
	}
}

/* ---- lifecycle and memory ------------------------------------------------ */

static int
awspoll_save(const struct awspoll *a, char **json, size_t *len)
{
	struct store_projects_out out;
	const struct projset_entry *e;

	store_projects_begin(&out);
	projset_foreach(&a->b.projects, e) {
		const struct awsproject *p = (const struct awsproject *)e;

		if (p->key_id && p->key_first_seen)
			store_projects_add(&out, p->e.id,
					   json_pack("{s:s, s:I}", "key", p->key_id, "first_seen",
						     (json_int_t)p->key_first_seen));
	}
	return store_projects_end(&out, json, len);
}

/* ---- the provider ------------------------------------------------------ */

static const struct provbase_ops base_ops = {
	.due = on_due, .schedule_of = schedule_of, .drop_round = drop_round};

static int
op_create(struct daemon *d, const struct poller_hooks *hooks, struct provider_state **out)
{
	struct awspoll *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (provbase_init(&a->b, d, hooks, &base_ops) < 0) {
		free(a);
		return -ENOMEM;
	}
	*out = (struct provider_state *)a;
	return 0;
}

static void
op_destroy(struct provider_state *s)
{
	struct awspoll *a = (struct awspoll *)s;

	if (!a)
		return;
	provbase_fini(&a->b, project_destroy, a);
	free(a);
}

static int
op_configure(struct provider_state *s, const struct config *cfg, bool reloaded)
{
	return awspoll_configure((struct awspoll *)s, cfg, reloaded);
}

static void
op_ear(struct provider_state *s, const struct cfg_project *p, const struct atlas_ear *ear,
       const struct ear_memory *mem)
{
	(void)mem;
	awspoll_ear((struct awspoll *)s, p, ear);
}

static int
op_save(const struct provider_state *s, char **json, size_t *len)
{
	return awspoll_save((const struct awspoll *)s, json, len);
}

static int
op_load(struct provider_state *s, const char *json, size_t len)
{
	return provbase_load(&((struct awspoll *)s)->b, json, len);
}

static bool
op_idle(const struct provider_state *s)
{
	return provround_idle(&((const struct awspoll *)s)->b.rounds);
}

static void
op_metrics(const struct provider_state *s, struct metrics *w)
{
	const struct projset_entry *e;

	projset_foreach(&((const struct awspoll *)s)->b.projects, e) {
		const struct awsproject *p = (const struct awsproject *)e;

		if (p->s.active)
			mx_facts_write(&p->mx, w, p->e.cfg, "aws");
	}
}

const struct provider_ops aws_provider = {
	.name = "AWS",
	.id = PROV_AWS,
	.state_doc = "aws.json",
	.state_lost = "key first-seen times start afresh",
	.create = op_create,
	.destroy = op_destroy,
	.configure = op_configure,
	.ear = op_ear,
	.save = op_save,
	.load = op_load,
	.idle = op_idle,
	.metrics = op_metrics,
};
