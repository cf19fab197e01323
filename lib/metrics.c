/* SPDX-License-Identifier: ISC */
/*
 * metrics — see metrics.h. Each family collects its sample lines in a
 * buffer of its own, so callers may add samples in any order (several
 * modules feed one family); render joins them behind the HELP and TYPE
 * lines.
 */
#include "autoconfig.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "util.h"

struct metrics {
	const struct metric_family *fams;
	size_t n;
	size_t *n_labels;
	struct strbuf *lines; /* one per family */
	struct strbuf out;
	int error;
};

static bool
name_ok(const char *s, bool colon)
{
	if (s == NULL || *s == '\0')
		return false;
	for (const char *p = s; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (colon && c == ':');

		if (!alpha && !(p != s && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int
family_check(const struct metric_family *f, size_t *n_labels)
{
	size_t n = 0;

	if (!name_ok(f->name, true) || f->help == NULL)
		return -EINVAL;
	if (f->type == METRIC_COUNTER && !ends_with(f->name, "_total"))
		return -EINVAL;
	for (; f->labels && f->labels[n]; n++) {
		const char *l = f->labels[n];

		if (!name_ok(l, false) || strncmp(l, "__", 2) == 0 ||
		    (f->type == METRIC_HISTOGRAM && strcmp(l, "le") == 0))
			return -EINVAL;
		for (size_t j = 0; j < n; j++)
			if (strcmp(f->labels[j], l) == 0)
				return -EINVAL;
	}
	if (n > METRICS_MAX_LABELS)
		return -EINVAL;
	if (f->type == METRIC_HISTOGRAM) {
		if (f->n_buckets == 0 || f->n_buckets > METRICS_MAX_BUCKETS || f->buckets == NULL)
			return -EINVAL;
		for (size_t i = 0; i < f->n_buckets; i++)
			if (!isfinite(f->buckets[i]) || (i > 0 && f->buckets[i] <= f->buckets[i - 1]))
				return -EINVAL;
	} else if (f->type != METRIC_GAUGE && f->type != METRIC_COUNTER) {
		return -EINVAL;
	}
	*n_labels = n;
	return 0;
}

int
metrics_new(const struct metric_family *fams, size_t n, struct metrics **out)
{
	struct metrics *m;
	int r;

	*out = NULL;
	if (fams == NULL && n > 0)
		return -EINVAL;
	if (!(m = calloc(1, sizeof(*m))))
		return -ENOMEM;
	m->fams = fams;
	m->n = n;
	m->n_labels = calloc(n ? n : 1, sizeof(*m->n_labels));
	m->lines = calloc(n ? n : 1, sizeof(*m->lines));
	if (!m->n_labels || !m->lines) {
		metrics_free(m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = family_check(&fams[i], &m->n_labels[i])) < 0) {
			metrics_free(m);
			return r;
		}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(fams[i].name, fams[j].name) == 0) {
				metrics_free(m);
				return -EINVAL;
			}
	*out = m;
	return 0;
}

void
metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; m->lines && i < m->n; i++)
		strbuf_free(&m->lines[i]);
	free(m->lines);
	free(m->n_labels);
	strbuf_free(&m->out);
	free(m);
}

static void
clear(struct strbuf *b)
{
	/* nothing secret here: no wipe, the memory stays for the next scrape */
	b->len = 0;
	if (b->s)
		b->s[0] = '\0';
}

void
metrics_begin(struct metrics *m)
{
	for (size_t i = 0; i < m->n; i++)
		clear(&m->lines[i]);
	clear(&m->out);
	m->error = 0;
}

/* s, escaped as the format wants (quote: inside a label value), invalid
 * UTF-8 bytes as U+FFFD. */
static int
put_escaped(struct strbuf *b, const char *s, bool quote)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	int r = 0;

	while (r == 0 && n > 0) {
		size_t run = 0, k;

		/* copy plain runs whole */
		while (run < n && (k = util_utf8_len(p + run, n - run)) > 0 && p[run] != '\\' &&
		       p[run] != '\n' && !(quote && p[run] == '"'))
			run += k;
		if (run > 0) {
			r = strbuf_append(b, p, run);
			p += run;
			n -= run;
			continue;
		}
		if (*p == '\\')
			r = strbuf_append(b, "\\\\", 2);
		else if (*p == '\n')
			r = strbuf_append(b, "\\n", 2);
		else if (*p == '"')
			r = strbuf_append(b, "\\\"", 2);
		else
			r = strbuf_append(b, "\xef\xbf\xbd", 3);
		p++;
		n--;
	}
	return r;
}

void
metrics_format_value(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* name{l1="v1",...[,le="x"]} */
static int
put_series(struct strbuf *b, const struct metrics *m, size_t fam, const char *suffix,
	   const char *const *values, const char *le)
{
	const struct metric_family *f = &m->fams[fam];
	size_t nl = m->n_labels[fam];
	int r = strbuf_puts(b, f->name);

	if (r == 0 && suffix)
		r = strbuf_puts(b, suffix);
	if (r == 0 && (nl > 0 || le))
		r = strbuf_puts(b, "{");
	for (size_t i = 0; r == 0 && i < nl; i++) {
		if (i > 0)
			r = strbuf_puts(b, ",");
		if (r == 0)
			r = strbuf_printf(b, "%s=\"", f->labels[i]);
		if (r == 0)
			r = put_escaped(b, values ? values[i] : NULL, true);
		if (r == 0)
			r = strbuf_puts(b, "\"");
	}
	if (r == 0 && le)
		r = strbuf_printf(b, "%sle=\"%s\"", nl > 0 ? "," : "", le);
	if (r == 0 && (nl > 0 || le))
		r = strbuf_puts(b, "}");
	return r;
}

static int
put_value(struct strbuf *b, double v)
{
	char num[40];

	metrics_format_value(v, num, sizeof(num));
	return strbuf_printf(b, " %s\n", num);
}

static void
fail(struct metrics *m, int r)
{
	if (r < 0 && m->error == 0)
		m->error = r;
}

void
metrics_add(struct metrics *m, size_t fam, const char *const *values, double v)
{
	struct strbuf *b;
	size_t mark;
	int r;

	if (fam >= m->n || m->fams[fam].type == METRIC_HISTOGRAM) {
		fail(m, -EINVAL);
		return;
	}
	b = &m->lines[fam];
	mark = b->len;
	r = put_series(b, m, fam, NULL, values, NULL);
	if (r == 0)
		r = put_value(b, v);
	if (r < 0 && b->s) {
		/* no half line */
		b->len = mark;
		b->s[mark] = '\0';
	}
	fail(m, r);
}

void
metrics_add_histogram(struct metrics *m, size_t fam, const char *const *values,
		      const uint64_t *counts, double sum)
{
	const struct metric_family *f;
	struct strbuf *b;
	uint64_t cum = 0;
	char le[40];
	size_t mark;
	int r = 0;

	if (fam >= m->n || m->fams[fam].type != METRIC_HISTOGRAM || counts == NULL) {
		fail(m, -EINVAL);
		return;
	}
	f = &m->fams[fam];
	b = &m->lines[fam];
	mark = b->len;
	for (size_t i = 0; r == 0 && i <= f->n_buckets; i++) {
		cum += counts[i];
		if (i < f->n_buckets)
			metrics_format_value(f->buckets[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		r = put_series(b, m, fam, "_bucket", values, le);
		if (r == 0)
			r = put_value(b, (double)cum);
	}
	if (r == 0)
		r = put_series(b, m, fam, "_sum", values, NULL);
	if (r == 0)
		r = put_value(b, sum);
	if (r == 0)
		r = put_series(b, m, fam, "_count", values, NULL);
	if (r == 0)
		r = put_value(b, (double)cum);
	if (r < 0 && b->s) {
		b->len = mark;
		b->s[mark] = '\0';
	}
	fail(m, r);
}

static const char *
type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_HISTOGRAM:
		return "histogram";
	case METRIC_GAUGE:
	default:
		return "gauge";
	}
}

int
metrics_render(struct metrics *m, const char **text, size_t *len)
{
	struct strbuf *o = &m->out;
	int r = 0;

	clear(o);
	for (size_t i = 0; r == 0 && i < m->n; i++) {
		const struct metric_family *f = &m->fams[i];

		r = strbuf_printf(o, "# HELP %s ", f->name);
		if (r == 0)
			r = put_escaped(o, f->help, false);
		if (r == 0)
			r = strbuf_printf(o, "\n# TYPE %s %s\n", f->name, type_name(f->type));
		if (r == 0 && m->lines[i].len > 0)
			r = strbuf_append(o, m->lines[i].s, m->lines[i].len);
	}
	fail(m, r);
	if (m->error < 0)
		return m->error;
	*text = o->s ? o->s : "";
	*len = o->len;
	return 0;
}
