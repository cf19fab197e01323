/* SPDX-License-Identifier: ISC */
/*
 * metrics — the Prometheus text exposition format 0.0.4, built in memory.
 * Pure: no socket, no clock. The caller declares its families once (name,
 * HELP, TYPE, label names, histogram buckets), then for each scrape calls
 * metrics_begin, adds samples in any order and metrics_render: samples are
 * grouped under their family's HELP and TYPE lines in declaration order
 * (the format wants every line of a family in one group), label values
 * are escaped (backslash, double quote, newline) and made valid UTF-8.
 *
 * Every buffer is kept across scrapes: after the first ones, a scrape
 * allocates only when the exposition grows.
 */
#ifndef KMSWATCH_METRICS_H
#define KMSWATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric_type { METRIC_GAUGE, METRIC_COUNTER, METRIC_HISTOGRAM };

struct metric_family {
	const char *name; /* [a-zA-Z_:][a-zA-Z0-9_:]*; counters end in _total */
	const char *help;
	enum metric_type type;
	const char *const *labels; /* NULL-terminated names, NULL: none */
	/* histograms: upper bounds, strictly ascending, +Inf implied */
	const double *buckets;
	size_t n_buckets;
};

#define METRICS_MAX_LABELS 8
#define METRICS_MAX_BUCKETS 32

struct metrics;

/* -EINVAL when a name is not a valid metric or label name (label names
 * starting with "__" and a histogram's "le" are reserved), a counter's name
 * lacks _total, or buckets are not ascending; -ENOMEM. fams must outlive
 * the builder. */
int metrics_new(const struct metric_family *fams, size_t n, struct metrics **out);
void metrics_free(struct metrics *m);

/* Forget the samples of the last scrape (the memory stays). */
void metrics_begin(struct metrics *m);
/* One sample of family fam (a gauge or counter): values[] holds one value
 * per label name, in order (NULL is ""). Errors (ENOMEM, a histogram
 * family, fam out of range: -EINVAL) are sticky: metrics_render returns
 * the first one. */
void metrics_add(struct metrics *m, size_t fam, const char *const *values, double v);
/* One histogram series: counts[i] observations fell in bucket i (not
 * cumulative), counts[n_buckets] above the last bound; sum of all. */
void metrics_add_histogram(struct metrics *m, size_t fam, const char *const *values,
			   const uint64_t *counts, double sum);
/* The exposition: valid until the next metrics_begin. 0 or the first
 * error of the scrape. */
int metrics_render(struct metrics *m, const char **text, size_t *len);

/* A sample value as the format writes it: shortest text that reads back
 * the same double; "+Inf", "-Inf", "NaN". buf holds 32 bytes. */
void metrics_format_value(double v, char *buf, size_t len);

/* The content type of the exposition. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
