/* SPDX-License-Identifier: ISC */
/*
 * once — see once.h. It runs the same poller as the daemon, in its "once"
 * mode, on a loop of its own, and prints what the checks found.
 */
#include "autoconfig.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auth.h"
#include "checks.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "discover.h"
#include "http.h"
#include "log.h"
#include "once.h"
#include "poller.h"
#include "tokens.h"
#include "provider.h"
#include "selfcred.h"
#include "strpool.h"
#include "util.h"

/* One finding, compact: --once over 10,000 projects holds some 50,000 of
 * these until it prints. Their strings are interned (strpool.h): most
 * subjects and summaries are the same few sentences in every project. */
struct row {
	const struct cfg_project *p; /* NULL: kmswatch's own credential */
	const char *subject, *summary, *missing; /* in once.strings */
	uint32_t seq;   /* arrival order, for a stable sort */
	int32_t days_left, age_days; /* days: 32 bits hold 5 million years */
	uint8_t check;  /* enum check_id */
	uint8_t severity, provider;
	bool has_days_left, has_age_days;
};

struct once {
	struct daemon *d;
	struct row *rows;
	size_t n, cap;
	struct strpool strings;
	bool failed;
	bool timed_out;
	int64_t timeout;
	char waiting[512]; /* what was still open when the timeout struck */
	struct selfcred *selfcred; /* NULL with --project */
	char self_org[32];         /* the organization of its rows, "" unknown */
};

static_assert(CHK__COUNT <= UINT8_MAX, "struct row keeps a check id in 8 bits");
static_assert(sizeof(struct row) <= 56, "a row stays compact");

/* Every reader is done: the poller, the providers, the own credential. */
static void
maybe_stop(struct once *o)
{
	if (poller_all_done(o->d->poller) && providers_idle(o->d->providers) &&
	    selfcred_idle(o->selfcred) && discover_idle(o->d->discover))
		uv_stop(o->d->loop);
}

static int32_t
clamp_days(int64_t d)
{
	return d > INT32_MAX ? INT32_MAX : d < INT32_MIN ? INT32_MIN : (int32_t)d;
}

static void
add_rows(struct once *o, const struct cfg_project *p, const struct findings *f)
{
	for (size_t i = 0; i < f->n && !o->failed; i++) {
		const struct finding *fi = &f->v[i];
		const char *subject, *summary, *missing = NULL;
		struct row *r;

		if (o->n == o->cap) {
			size_t cap = o->cap ? o->cap * 2 : 32;
			struct row *v = cap <= UINT32_MAX ? realloc(o->rows, cap * sizeof(*v)) : NULL;

			if (!v) {
				o->failed = true;
				break;
			}
			o->rows = v;
			o->cap = cap;
		}
		if (!(subject = strpool_intern(&o->strings, fi->subject ? fi->subject : "")) ||
		    !(summary = strpool_intern(&o->strings, fi->summary ? fi->summary : "")) ||
		    (fi->missing && !(missing = strpool_intern(&o->strings, fi->missing)))) {
			o->failed = true;
			break;
		}
		r = &o->rows[o->n];
		*r = (struct row){
			.p = p,
			.subject = subject,
			.summary = summary,
			.missing = missing,
			.seq = (uint32_t)o->n,
			.check = (uint8_t)fi->check,
			.severity = (uint8_t)fi->severity,
			.provider = (uint8_t)fi->provider,
			.has_days_left = fi->has_days_left,
			.has_age_days = fi->has_age_days,
			.days_left = clamp_days(fi->days_left),
			.age_days = clamp_days(fi->age_days),
		};
		o->n++;
	}
}

static void
on_result(void *ctx, const struct cfg_project *p, const struct findings *f)
{
	struct once *o = ctx;

	add_rows(o, p, f);
	maybe_stop(o);
}

static void
on_self(void *ctx, const char *org_id, const struct findings *f)
{
	struct once *o = ctx;

	snprintf(o->self_org, sizeof(o->self_org), "%s", org_id ? org_id : "");
	add_rows(o, NULL, f);
	maybe_stop(o);
}

static const char *
row_name(const struct row *r)
{
	return r->p ? r->p->name : ALERTS_SELF_NAME;
}

static enum severity
worst(const struct once *o)
{
	enum severity w = SEV_OK;

	for (size_t i = 0; i < o->n; i++)
		if (o->rows[i].severity > w)
			w = o->rows[i].severity;
	return w;
}

/* Results arrive as reads complete; print them in a fixed order (projects
 * as configured, then checks in catalog order) so that two runs compare. */
static int
row_cmp(const void *x, const void *y)
{
	const struct row *a = x, *b = y;

	if (a->p != b->p) {
		if (!a->p || !b->p) /* kmswatch's own credential last */
			return !a->p ? 1 : -1;
		return a->p < b->p ? -1 : 1;
	}
	if (a->check != b->check)
		return a->check < b->check ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void
print_text(const struct once *o)
{
	printf("%-24s %-24s %-9s %s\n", "PROJECT", "CHECK", "SEVERITY", "SUMMARY");
	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];

		printf("%-24s %-24s %-9s %s\n", row_name(r), check_name(r->check),
		       severity_name(r->severity), r->summary);
	}
}

/* Prints the same bytes as json_dumps(array of rows, JSON_INDENT(2)) would,
 * one row at a time: the whole array as jansson values would cost more
 * than every other part of a --once run over many projects. */
static void
print_json(const struct once *o)
{
	fputs(o->n ? "[\n" : "[]\n", stdout);
	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "project_id",
				      r->p ? r->p->id : "", "project_name", row_name(r), "check",
				      check_name((enum check_id)r->check), "severity",
				      severity_name((enum severity)r->severity), "provider",
				      provider_name((enum provider)r->provider), "subject",
				      r->subject, "summary", r->summary);
		char *s;

		if (!j)
			continue;
		if (r->has_days_left)
			json_object_set_new(j, "days_left", json_integer(r->days_left));
		if (r->has_age_days)
			json_object_set_new(j, "age_days", json_integer(r->age_days));
		if (r->missing)
			json_object_set_new(j, "missing", json_string(r->missing));
		if (!r->p && o->self_org[0])
			json_object_set_new(j, "org_id", json_string(o->self_org));
		s = json_dumps(j, JSON_INDENT(2));
		json_decref(j);
		if (!s)
			continue;
		/* the object's lines, one level deeper inside the array */
		fputs("  ", stdout);
		for (const char *c = s; *c; c++) {
			putchar(*c);
			if (*c == '\n')
				fputs("  ", stdout);
		}
		fputs(i + 1 < o->n ? ",\n" : "\n]\n", stdout);
		free(s);
	}
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
		n[o->rows[i].severity]++;
		if (o->rows[i].severity == w && w > SEV_INFO && !first)
			first = &o->rows[i];
	}
	printf("KMSWATCH %s - ", o->timed_out ? "UNKNOWN" : status[severity_nagios(w)]);
	if (o->timed_out)
		printf("%s", o->waiting);
	else if (first)
		printf("%s %s: %s", row_name(first), check_name(first->check),
		       first->summary);
	else
		printf("%zu check results, no problems", o->n);
	/* perfdata with Nagios thresholds: any critical result is critical,
	 * any warning a warning */
	printf(" | critical=%zu;;0;0; warning=%zu;0;;0; unknown=%zu;;;0; ok=%zu;;;0;\n",
	       n[SEV_CRITICAL], n[SEV_WARNING], n[SEV_UNKNOWN], n[SEV_OK] + n[SEV_INFO]);
	for (size_t i = 0; i < o->n; i++) {
		const struct row *r = &o->rows[i];

		if (r->severity > SEV_INFO)
			printf("%s: %s %s: %s\n", severity_name(r->severity), row_name(r),
			       check_name(r->check), r->summary);
	}
}

static void
on_http_closed(void *arg)
{
}

static void
on_timeout(uv_timer_t *t)
{
	struct once *o = t->data;
	const struct cfg_project *open[5];
	size_t n = poller_unfinished(o->d->poller, open, 5), off;

	o->timed_out = true;
	off = (size_t)snprintf(o->waiting, sizeof(o->waiting), "timed out after %llds",
			       (long long)o->timeout);
	if (n > 0) {
		off += (size_t)snprintf(o->waiting + off, sizeof(o->waiting) - off,
					" waiting for Atlas on");
		for (size_t i = 0; i < n && i < 5 && off < sizeof(o->waiting); i++)
			off += (size_t)snprintf(o->waiting + off, sizeof(o->waiting) - off,
						"%s %s", i ? "," : "", open[i]->name);
		if (n > 5 && off < sizeof(o->waiting))
			off += (size_t)snprintf(o->waiting + off, sizeof(o->waiting) - off,
						" and %zu more project%s", n - 5,
						n - 5 == 1 ? "" : "s");
	}
	if (!discover_idle(o->d->discover) && off < sizeof(o->waiting))
		off += (size_t)snprintf(o->waiting + off, sizeof(o->waiting) - off, "%s",
					" waiting for the Atlas project listing (discover:)");
	{
		char busy[64];
		size_t nb = providers_busy(o->d->providers, busy, sizeof(busy));

		if (nb > 0 && off < sizeof(o->waiting))
			off += (size_t)snprintf(o->waiting + off, sizeof(o->waiting) - off,
						"%s the %s reads", n ? ", and for" : " waiting for",
						busy);
	}
	if (!selfcred_idle(o->selfcred) && off < sizeof(o->waiting))
		snprintf(o->waiting + off, sizeof(o->waiting) - off, "%s",
			 off > 0 && strstr(o->waiting, "waiting") ? ", and for kmswatch's own service account"
							     : " waiting for kmswatch's own service account");
	uv_stop(o->d->loop);
}

static int unknown(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Why --once could not judge, on stdout where Nagios shows it. */
static int
unknown(const char *fmt, ...)
{
	va_list ap;

	printf("KMSWATCH UNKNOWN - ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 3;
}

int
once_run(const char *config_path, const struct once_opts *opts)
{
	struct daemon dd = {0}, *d = &dd;
	struct once o = {.d = d, .timeout = opts->timeout};
	struct poller_hooks hooks = {.on_result = on_result, .ctx = &o, .once = true};
	struct cfg_diag diag = {0};
	const char *missing;
	enum severity w;
	uv_loop_t loop;
	uv_timer_t timer;
	int r, rc = 3;

	/* --once never delivers: sink secrets stay unread (the Nagios user
	 * need not be able to read them) */
	r = cfg_load_flags(config_path, CFG_LOAD_NO_SINK_SECRETS, &d->cfg, &diag);
	if (r < 0) {
		if (diag.n == 0)
			fprintf(stderr, "%s: %s\n", config_path, strerror(-r));
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		if (diag.n)
			rc = unknown("configuration rejected: %s", diag.lines[0]);
		else
			rc = unknown("configuration rejected: %s: %s", config_path, strerror(-r));
		cfg_diag_free(&diag);
		return rc;
	}
	/* with discover: a --project may name a project not listed yet: the
	 * listing decides (discover_keep) */
	if (opts->n_projects > 0 && !d->cfg->discover.enabled &&
	    cfg_keep_projects(d->cfg, opts->projects, opts->n_projects, &missing) < 0) {
		rc = unknown("no project %s in %s (--project takes a name or an id)", missing,
			     config_path);
		cfg_free(d->cfg);
		return rc;
	}
	if (uv_loop_init(&loop) < 0) {
		cfg_free(d->cfg);
		return unknown("cannot start the event loop");
	}
	d->loop = &loop;
	uv_timer_init(&loop, &timer);
	timer.data = &o;
	if ((r = http_client_new(&loop, d->cfg->http.max_concurrent, &d->http)) < 0 ||
	    (r = tokens_new(d, &d->tokens)) < 0 || (r = auth_new(d, &d->auth)) < 0 ||
	    (r = poller_new(d, &hooks, &d->poller)) < 0 ||
	    (r = providers_new(d, &hooks, &d->providers)) < 0 ||
	    (r = discover_new(d, &hooks, &d->discover)) < 0 ||
	    /* the own credential is no project: --project leaves it out */
	    (opts->n_projects == 0 && (r = selfcred_new(d, on_self, &o, &o.selfcred)) < 0)) {
		rc = unknown("cannot start: %s", strerror(-r));
		goto out;
	}
	auth_configure(d->auth, d->cfg);
	if (o.selfcred)
		discover_on_listed(d->discover, selfcred_listed, o.selfcred);
	if (d->cfg->discover.enabled)
		discover_keep(d->discover, opts->projects, opts->n_projects);
	/* discover: first, then every project once */
	if ((r = discover_configure(d->discover, d->cfg)) < 0) {
		rc = unknown("cannot start: %s", strerror(-r));
		goto out;
	}
	if (o.selfcred)
		selfcred_configure(o.selfcred, d->cfg);
	uv_timer_start(&timer, on_timeout, (uint64_t)opts->timeout * 1000, 0);
	if (!poller_all_done(d->poller) || !providers_idle(d->providers) ||
	    !selfcred_idle(o.selfcred) || !discover_idle(d->discover))
		uv_run(&loop, UV_RUN_DEFAULT);
	if (o.failed) {
		rc = unknown("out of memory collecting results");
		goto out;
	}
	if ((missing = discover_missing(d->discover)) != NULL) {
		rc = unknown("no project %s in %s or among the discovered projects (--project "
			     "takes a name or an id)",
			     missing, config_path);
		goto out;
	}
	w = worst(&o);
	if (o.n > 1)
		qsort(o.rows, o.n, sizeof(*o.rows), row_cmp);
	if (opts->fmt == ONCE_JSON)
		print_json(&o);
	else if (opts->fmt == ONCE_NAGIOS)
		print_nagios(&o, w);
	else
		print_text(&o);
	/* the nagios status line already says it; JSON stays JSON on stdout */
	if (o.timed_out && opts->fmt != ONCE_NAGIOS)
		fprintf(opts->fmt == ONCE_JSON ? stderr : stdout, "KMSWATCH UNKNOWN - %s\n",
			o.waiting);
	rc = o.timed_out ? 3 : severity_nagios(w);
out:
	uv_close((uv_handle_t *)&timer, NULL);
	selfcred_free(o.selfcred);
	providers_free(d->providers);
	poller_free(d->poller);
	discover_free(d->discover);
	auth_free(d->auth);
	tokens_free(d->tokens);
	if (d->http)
		http_client_close(d->http, on_http_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		fprintf(stderr, "kmswatchd: internal error: handles left open\n");
	free(o.rows);
	strpool_free(&o.strings);
	cfg_free(d->cfg);
	return rc;
}
