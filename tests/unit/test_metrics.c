/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of the exposition builder (lib/metrics.c): HELP and TYPE
 * lines, grouping of a family's samples whatever the order they come in,
 * label escaping (backslash, quote, newline) and UTF-8 repair, value
 * formatting, histogram buckets/sum/count, refused declarations, and that
 * a second scrape starts empty.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static const char *const l_pp[] = {"project", "provider", NULL};
static const char *const l_svc[] = {"service", NULL};
static const double buckets[] = {0.1, 1, 10};

static const struct metric_family fams[] = {
	{"t_info", "Build \\ info\nsecond line.", METRIC_GAUGE, NULL, NULL, 0},
	{"t_valid", "Valid.", METRIC_GAUGE, l_pp, NULL, 0},
	{"t_requests_total", "Requests.", METRIC_COUNTER, l_svc, NULL, 0},
	{"t_duration_seconds", "Durations.", METRIC_HISTOGRAM, l_svc, buckets, 3},
};

static struct metrics *
builder(void)
{
	struct metrics *m = NULL;

	assert_int_equal(metrics_new(fams, 4, &m), 0);
	metrics_begin(m);
	return m;
}

static const char *
render(struct metrics *m)
{
	const char *text = NULL;
	size_t len = 0;

	assert_int_equal(metrics_render(m, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void
test_help_type_and_grouping(void **state)
{
	struct metrics *m = builder();
	const char *a[] = {"a", "azure"}, *b[] = {"b", "aws"}, *s[] = {"atlas"};

	(void)state;
	/* out of family order: render groups them */
	metrics_add(m, 1, a, 1);
	metrics_add(m, 2, s, 7);
	metrics_add(m, 0, NULL, 1);
	metrics_add(m, 1, b, 0);
	assert_string_equal(render(m),
			    "# HELP t_info Build \\\\ info\\nsecond line.\n"
			    "# TYPE t_info gauge\n"
			    "t_info 1\n"
			    "# HELP t_valid Valid.\n"
			    "# TYPE t_valid gauge\n"
			    "t_valid{project=\"a\",provider=\"azure\"} 1\n"
			    "t_valid{project=\"b\",provider=\"aws\"} 0\n"
			    "# HELP t_requests_total Requests.\n"
			    "# TYPE t_requests_total counter\n"
			    "t_requests_total{service=\"atlas\"} 7\n"
			    "# HELP t_duration_seconds Durations.\n"
			    "# TYPE t_duration_seconds histogram\n");
	metrics_free(m);
}

static void
test_label_escaping(void **state)
{
	struct metrics *m = builder();
	const char *v[] = {"pay\"ments\\prod\nx", NULL};

	(void)state;
	metrics_add(m, 1, v, 1);
	assert_non_null(strstr(render(m),
			       "t_valid{project=\"pay\\\"ments\\\\prod\\nx\",provider=\"\"} 1\n"));
	metrics_free(m);
}

static void
test_invalid_utf8_is_replaced(void **state)
{
	struct metrics *m = builder();
	/* a lone continuation byte, an overlong '/', a surrogate, a cut
	 * sequence at the end; valid é and € are kept */
	const char *v[] = {"\x80-\xc0\xaf-\xed\xa0\x80-\xc3\xa9\xe2\x82\xac-\xe2\x82", "x"};

	(void)state;
	metrics_add(m, 1, v, 1);
	assert_non_null(strstr(render(m), "project=\"\xef\xbf\xbd-\xef\xbf\xbd\xef\xbf\xbd-"
					  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd-\xc3\xa9\xe2\x82\xac-"
					  "\xef\xbf\xbd\xef\xbf\xbd\""));
	metrics_free(m);
}

static void
test_values(void **state)
{
	char buf[40];

	(void)state;
	metrics_format_value(1798761600, buf, sizeof(buf));
	assert_string_equal(buf, "1798761600");
	metrics_format_value(0.1, buf, sizeof(buf));
	assert_string_equal(buf, "0.1");
	metrics_format_value(1.0 / 3, buf, sizeof(buf));
	assert_true(strtod(buf, NULL) == 1.0 / 3);
	metrics_format_value(-2.5, buf, sizeof(buf));
	assert_string_equal(buf, "-2.5");
	metrics_format_value(1.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "+Inf");
	metrics_format_value(-1.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "-Inf");
	metrics_format_value(0.0 / 0.0, buf, sizeof(buf));
	assert_string_equal(buf, "NaN");
}

static void
test_histogram(void **state)
{
	struct metrics *m = builder();
	const char *s[] = {"azure"};
	const uint64_t counts[] = {2, 0, 3, 1}; /* <=0.1, <=1, <=10, above */

	(void)state;
	metrics_add_histogram(m, 3, s, counts, 42.5);
	assert_non_null(strstr(render(m),
			       "# TYPE t_duration_seconds histogram\n"
			       "t_duration_seconds_bucket{service=\"azure\",le=\"0.1\"} 2\n"
			       "t_duration_seconds_bucket{service=\"azure\",le=\"1\"} 2\n"
			       "t_duration_seconds_bucket{service=\"azure\",le=\"10\"} 5\n"
			       "t_duration_seconds_bucket{service=\"azure\",le=\"+Inf\"} 6\n"
			       "t_duration_seconds_sum{service=\"azure\"} 42.5\n"
			       "t_duration_seconds_count{service=\"azure\"} 6\n"));
	metrics_free(m);
}

static void
test_wrong_kind_is_an_error(void **state)
{
	struct metrics *m = builder();
	const char *s[] = {"x"};
	const uint64_t counts[4] = {0};
	const char *text;
	size_t len;

	(void)state;
	metrics_add(m, 3, s, 1); /* a plain sample of a histogram */
	assert_int_equal(metrics_render(m, &text, &len), -EINVAL);
	metrics_begin(m);
	metrics_add_histogram(m, 2, s, counts, 0); /* a histogram of a counter */
	assert_int_equal(metrics_render(m, &text, &len), -EINVAL);
	metrics_begin(m);
	metrics_add(m, 9, s, 1);
	assert_int_equal(metrics_render(m, &text, &len), -EINVAL);
	metrics_begin(m); /* a new scrape forgets the error */
	assert_int_equal(metrics_render(m, &text, &len), 0);
	metrics_free(m);
}

static void
test_begin_forgets_samples(void **state)
{
	struct metrics *m = builder();
	const char *a[] = {"a", "azure"};

	(void)state;
	metrics_add(m, 1, a, 1);
	assert_non_null(strstr(render(m), "t_valid{"));
	metrics_begin(m);
	assert_null(strstr(render(m), "t_valid{"));
	metrics_free(m);
}

static void
test_bad_declarations(void **state)
{
	static const char *const le[] = {"le", NULL}, *const reserved[] = {"__x", NULL},
				 *const twice[] = {"a", "a", NULL}, *const digit[] = {"1a", NULL};
	static const double down[] = {1, 0.5};
	const struct metric_family bad[] = {
		{"1metric", "x", METRIC_GAUGE, NULL, NULL, 0},
		{"has-dash", "x", METRIC_GAUGE, NULL, NULL, 0},
		{"requests", "a counter without _total", METRIC_COUNTER, NULL, NULL, 0},
		{"h_seconds", "le is the histogram's", METRIC_HISTOGRAM, le, buckets, 3},
		{"g", "reserved label", METRIC_GAUGE, reserved, NULL, 0},
		{"g", "a label twice", METRIC_GAUGE, twice, NULL, 0},
		{"g", "label starts with a digit", METRIC_GAUGE, digit, NULL, 0},
		{"h_seconds", "descending buckets", METRIC_HISTOGRAM, NULL, down, 2},
		{"h_seconds", "no buckets", METRIC_HISTOGRAM, NULL, NULL, 0},
		{"g", NULL, METRIC_GAUGE, NULL, NULL, 0},
	};
	const struct metric_family dup[] = {{"g", "x", METRIC_GAUGE, NULL, NULL, 0},
					    {"g", "y", METRIC_GAUGE, NULL, NULL, 0}};
	struct metrics *m;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = (struct metrics *)1;
		assert_int_equal(metrics_new(&bad[i], 1, &m), -EINVAL);
		assert_null(m);
	}
	assert_int_equal(metrics_new(dup, 2, &m), -EINVAL);
	assert_int_equal(metrics_new(fams, 4, &m), 0);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_type_and_grouping),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_invalid_utf8_is_replaced),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_wrong_kind_is_an_error),
		cmocka_unit_test(test_begin_forgets_samples),
		cmocka_unit_test(test_bad_declarations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
