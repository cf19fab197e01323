/* SPDX-License-Identifier: ISC */
/*
 * fuzz_metrics — libFuzzer harness for the exposition builder
 * (lib/metrics.c). The input, split at NUL bytes, gives two label values
 * and a sample value; the oracle reads the rendered text back: it is valid
 * UTF-8, has exactly the lines expected (no newline escaped its label),
 * and the label value unescapes to the input whenever the input was valid
 * UTF-8 already.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const labels[] = {"project", "subject", NULL};
static const double buckets[] = {0.5, 1, 5};
static const struct metric_family fams[] = {
	{"f_gauge", "A gauge.", METRIC_GAUGE, labels, NULL, 0},
	{"f_seconds", "A histogram.", METRIC_HISTOGRAM, labels, buckets, 3},
};

/* An independent UTF-8 check: shortest forms, no surrogates, <= U+10FFFF. */
static bool
valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i], cp, k;

		if (c < 0x80) {
			i++;
			continue;
		}
		k = c >= 0xf8 ? 0 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		if (k == 0 || i + k > n)
			return false;
		cp = c & (0x7f >> k);
		for (unsigned j = 1; j < k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k;
	}
	return true;
}

/* The first label value of the first sample line of name, unescaped. */
static char *
first_label(const char *text, const char *name)
{
	char key[64], *out, *o;
	const char *p;

	snprintf(key, sizeof(key), "\n%s{project=\"", name);
	if (!(p = strstr(text, key)))
		return NULL;
	p += strlen(key);
	if (!(out = o = malloc(strlen(p) + 1)))
		abort();
	for (; *p && *p != '"'; p++) {
		if (*p == '\n')
			abort(); /* a raw newline inside a label value */
		if (*p == '\\') {
			p++;
			if (*p == 'n')
				*o++ = '\n';
			else if (*p == '\\' || *p == '"')
				*o++ = *p;
			else
				abort(); /* no other escape exists */
		} else {
			*o++ = *p;
		}
	}
	if (*p != '"')
		abort();
	*o = '\0';
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2), *a, *b, *got;
	const char *v[2], *text;
	uint64_t counts[4] = {1, 2, 3, 4};
	struct metrics *m;
	size_t len, lines = 0;
	double x = 0;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	a = buf;
	b = a + strlen(a) + 1;
	if (b > buf + size)
		b = buf + size + 1;
	if (strlen(a) >= 8)
		memcpy(&x, a, sizeof(x)); /* any double, NaN and infinities too */
	v[0] = a;
	v[1] = b;
	if (metrics_new(fams, 2, &m) < 0)
		abort();
	metrics_begin(m);
	metrics_add(m, 0, v, x);
	metrics_add_histogram(m, 1, v, counts, x);
	if (metrics_render(m, &text, &len) == 0) {
		if (!valid_utf8((const unsigned char *)text, len) || strlen(text) != len)
			abort();
		for (size_t i = 0; i < len; i++)
			lines += text[i] == '\n';
		/* HELP and TYPE of two families, one gauge, 4 buckets + sum + count */
		if (lines != 4 + 1 + 6 || text[len - 1] != '\n')
			abort();
		got = first_label(text, "f_gauge");
		if (!got)
			abort();
		if (valid_utf8((const unsigned char *)a, strlen(a)) && strcmp(got, a) != 0)
			abort();
		free(got);
	}
	metrics_free(m);
	free(buf);
	return 0;
}
