/*
 * once — see once.h. It runs the same poller as the daemon, in its "once"
 * mode, on a loop of its own, and prints what the checks found.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "checks.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "http.h"
#include "log.h"
#include "once.h"
#include "poller.h"
#include "tokens.h"
#include "provider.h"
#include "util.h"

struct row {
	const struct cfg_project *p;
	struct finding f; /* strings owned */
	size_t seq;       /* arrival order, for a stable sort */
};

struct once {
	struct daemon *d;
	struct row *rows;
	size_t n, cap;
	bool failed;
};

static void
on_result(void *ctx, const struct cfg_project *p, const struct findings *f)
{
	struct once *o = ctx;

	for (size_t i = 0; i < f->n; i++) {
		const struct finding *fi = &f->v[i];
		struct row *r;

		if (o->n == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 32;
			struct row *v = realloc(o->rows, cap * sizeof(*v));

			if (!v) {
				o->failed = true;
				return;
			}
			o->rows = v;
			o->cap = cap;
		}
		r = &o->rows[o->n];
		r->p = p;
		r->seq = o->n;
		r->f = *fi;
		r->f.subject = util_strdup(fi->subject ? fi->subject : "");
		r->f.summary = util_strdup(fi->summary ? fi->summary : "");
		r->f.missing = util_strdup(fi->missing);
		if (!r->f.subject || !r->f.summary) {
			free(r->f.subject);
			free(r->f.summary);
			free(r->f.missing);
			o->failed = true;
			return;
		}
		o->n++;
	}
	if (poller_all_done(o->d->poller) && providers_idle(o->d->providers))
		uv_stop(o->d->loop);
}

static enum severity
worst(const struct once *o)
{
	enum severity w = SEV_OK;

	for (size_t i = 0; i < o->n; i++)
		if (o->rows[i].f.severity > w)
			w = o->rows[i].f.severity;
	return w;
}

/* Results arrive as reads complete; print them in a fixed order (projects
 * as configured, then checks in catalog order) so that two runs compare. */
static int
row_cmp(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->p != b->p)
		return a->p < b->p ? -1 : 1;
	if (a->f.check != b->f.check)
		return a->f.check < b->f.check ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
print_text(const struct once *o)
{
	printf("%-24s %-24s %-9s %s\n", "PROJECT", "CHECK", "SEVERITY", "SUMMARY");
	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];

		printf("%-24s %-24s %-9s %s\n", r->p->name, check_name(r->f.check),
		       severity_name(r->f.severity), r->f.summary);
	}
}

static void
print_json(const struct once *o)
{
	json_t *arr = json_array();
	char *s;

	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "project_id", r->p->id,
				      "project_name", r->p->name, "check", check_name(r->f.check),
				      "severity", severity_name(r->f.severity), "provider",
				      provider_name(r->f.provider), "subject", r->f.subject,
				      "summary", r->f.summary);

		if (!j)
			continue;
		if (r->f.has_days_left)
			json_object_set_new(j, "days_left", json_integer(r->f.days_left));
		if (r->f.has_age_days)
			json_object_set_new(j, "age_days", json_integer(r->f.age_days));
		if (r->f.missing)
			json_object_set_new(j, "missing", json_string(r->f.missing));
		json_array_append_new(arr, j);
	}
	s = json_dumps(arr, JSON_INDENT(2));
	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(arr);
}

/* Nagios plugin output: one status line with perfdata, then the problems
 * one per line (long output). */
static void
print_nagios(const struct once *o, enum severity w)
{
	static const char *status[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};
	size_t n[SEV_CRITICAL + 1] = {0};
	const struct row *first = NULL;

	for (size_t i = 0; i < o->n; i++) {
		n[o->rows[i].f.severity]++;
		if (o->rows[i].f.severity == w && w > SEV_INFO && !first)
			first = &o->rows[i];
	}
	printf("KMSWATCH %s - ", status[severity_nagios(w)]);
	if (first)
		printf("%s %s: %s", first->p->name, check_name(first->f.check), first->f.summary);
	else
		printf("%zu check results, no problems", o->n);
	printf(" | critical=%zu warning=%zu unknown=%zu ok=%zu\n", n[SEV_CRITICAL], n[SEV_WARNING],
	       n[SEV_UNKNOWN], n[SEV_OK] + n[SEV_INFO]);
	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];

		if (r->f.severity > SEV_INFO)
			printf("%s: %s %s: %s\n", severity_name(r->f.severity), r->p->name,
			       check_name(r->f.check), r->f.summary);
	}
}

static void
on_http_closed(void *arg)
{
}

int
once_run(const char *config_path, enum once_format fmt)
{
	struct daemon dd = {0}, *d = &dd;
	struct once o = {.d = d};
	struct poller_hooks hooks = {.on_result = on_result, .ctx = &o, .once = true};
	struct cfg_diag diag = {0};
	enum severity w;
	uv_loop_t loop;
	int r, rc = 3;

	r = cfg_load(config_path, &d->cfg, &diag);
	if (r < 0) {
		if (diag.n == 0)
			fprintf(stderr, "%s: %s\n", config_path, strerror(-r));
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		cfg_diag_free(&diag);
		printf("KMSWATCH UNKNOWN - configuration %s rejected\n", config_path);
		return 3;
	}
	if (uv_loop_init(&loop) < 0) {
		cfg_free(d->cfg);
		return 3;
	}
	d->loop = &loop;
	if ((r = http_client_new(&loop, d->cfg->http.max_concurrent, &d->http)) < 0 ||
	    (r = tokens_new(d, &d->tokens)) < 0 || (r = auth_new(d, &d->auth)) < 0 ||
	    (r = poller_new(d, &hooks, &d->poller)) < 0 ||
	    (r = providers_new(d, &hooks, &d->providers)) < 0) {
		fprintf(stderr, "kmswatchd: cannot start: %s\n", strerror(-r));
		goto out;
	}
	auth_configure(d->auth, d->cfg);
	if ((r = providers_configure(d->providers, d->cfg)) < 0 ||
	    (r = poller_configure(d->poller, d->cfg)) < 0) {
		fprintf(stderr, "kmswatchd: cannot start: %s\n", strerror(-r));
		goto out;
	}
	if (!poller_all_done(d->poller) || !providers_idle(d->providers))
		uv_run(&loop, UV_RUN_DEFAULT);
	if (o.failed) {
		fprintf(stderr, "kmswatchd: out of memory collecting results\n");
		goto out;
	}
	w = worst(&o);
	if (o.n > 1)
		qsort(o.rows, o.n, sizeof(*o.rows), row_cmp);
	if (fmt == ONCE_JSON)
		print_json(&o);
	else if (fmt == ONCE_NAGIOS)
		print_nagios(&o, w);
	else
		print_text(&o);
	rc = severity_nagios(w);
out:
	providers_free(d->providers);
	poller_free(d->poller);
	auth_free(d->auth);
	tokens_free(d->tokens);
	if (d->http)
		http_client_close(d->http, on_http_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "kmswatchd: internal error: handles left open\n");
	for (size_t i = 0; i < o.n; i++) {
		free(o.rows[i].f.subject);
		free(o.rows[i].f.summary);
		free(o.rows[i].f.missing);
	}
	free(o.rows);
	cfg_free(d->cfg);
	return rc;
}
