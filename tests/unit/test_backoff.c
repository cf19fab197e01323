/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/backoff.c: the jitter window at every attempt, bounds,
 * overflow at absurd inputs, Retry-After handling and parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "backoff.h"

static void
test_delay_window(void **state)
{
	(void)state;
	/* attempt 0: [base/2, base] */
	assert_int_equal(backoff_delay_ms(0, 1000, 60000, 0), 500);
	assert_int_equal(backoff_delay_ms(0, 1000, 60000, UINT32_MAX), 1000);
	assert_int_equal(backoff_delay_ms(0, 1000, 60000, 0x80000000u), 750);
	/* doubling */
	assert_int_equal(backoff_delay_ms(1, 1000, 60000, 0), 1000);
	assert_int_equal(backoff_delay_ms(1, 1000, 60000, UINT32_MAX), 2000);
	assert_int_equal(backoff_delay_ms(2, 1000, 60000, 0), 2000);
	assert_int_equal(backoff_delay_ms(5, 1000, 60000, UINT32_MAX), 32000);
	/* capped at max: window 60000 from attempt 6 on */
	assert_int_equal(backoff_delay_ms(6, 1000, 60000, UINT32_MAX), 60000);
	assert_int_equal(backoff_delay_ms(6, 1000, 60000, 0), 30000);
	assert_int_equal(backoff_delay_ms(1000, 1000, 60000, UINT32_MAX), 60000);
	assert_int_equal(backoff_delay_ms(UINT32_MAX, 1000, 60000, 0), 30000);
	/* odd window: ceil(window/2) is the floor */
	assert_int_equal(backoff_delay_ms(0, 3, 100, 0), 2);
	assert_int_equal(backoff_delay_ms(0, 3, 100, UINT32_MAX), 3);
}

static void
test_delay_bounds(void **state)
{
	static const uint32_t rnd[] = {0, 1, 12345, 0x7fffffff, 0x80000000u, 0xfffffffeu,
				       UINT32_MAX};
	static const int64_t bases[] = {1, 2, 7, 500, 1000, 30000};
	static const int64_t maxes[] = {1, 10, 999, 60000, 3600000, INT64_MAX};

	(void)state;
	for (size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++)
		for (size_t m = 0; m < sizeof(maxes) / sizeof(maxes[0]); m++)
			for (unsigned a = 0; a < 80; a++)
				for (size_t r = 0; r < sizeof(rnd) / sizeof(rnd[0]); r++) {
					int64_t base = bases[b] < maxes[m] ? bases[b] : maxes[m];
					int64_t d = backoff_delay_ms(a, bases[b], maxes[m], rnd[r]);

					assert_true(d >= 1);
					assert_true(d <= maxes[m]);
					assert_true(d >= base / 2);
				}
}

static void
test_delay_monotonic_in_random(void **state)
{
	int64_t prev = 0;

	(void)state;
	for (uint64_t r = 0; r <= UINT32_MAX; r += 0x01000193u) {
		int64_t d = backoff_delay_ms(3, 1000, 600000, (uint32_t)r);
		assert_true(d >= prev);
		assert_true(d >= 4000 && d <= 8000);
		prev = d;
	}
}

static void
test_delay_extremes(void **state)
{
	(void)state;
	/* no overflow with the largest values */
	/* (a 32-bit draw cannot hit every millisecond of a 2^63 window, so the
	 * top is approached within 2^31 ms rather than reached) */
	assert_true(backoff_delay_ms(100, INT64_MAX, INT64_MAX, UINT32_MAX) >=
		    INT64_MAX - (INT64_C(1) << 31));
	assert_int_equal(backoff_delay_ms(100, INT64_MAX, INT64_MAX, 0), (INT64_C(1) << 62));
	assert_true(backoff_delay_ms(62, 2, INT64_MAX, UINT32_MAX) >=
		    INT64_MAX - (INT64_C(1) << 31));
	assert_true(backoff_delay_ms(61, 2, INT64_MAX, UINT32_MAX) <= INT64_C(1) << 62);
	assert_true(backoff_delay_ms(61, 2, INT64_MAX, UINT32_MAX) >=
		    (INT64_C(1) << 62) - (INT64_C(1) << 31));
	assert_int_equal(backoff_delay_ms(61, 2, INT64_MAX, 0), INT64_C(1) << 61);
	/* nonsense bounds are clamped, never negative */
	assert_int_equal(backoff_delay_ms(0, 0, 0, UINT32_MAX), 1);
	assert_int_equal(backoff_delay_ms(0, -5, -5, 0), 1);
	assert_int_equal(backoff_delay_ms(3, 5000, 1000, UINT32_MAX), 1000);
	assert_int_equal(backoff_delay_ms(0, 5000, 1000, 0), 500);
}

static void
test_next_retry_after(void **state)
{
	(void)state;
	/* absent: same as backoff_delay_ms */
	assert_int_equal(backoff_next_ms(2, -1, 1000, 60000, 77),
			 backoff_delay_ms(2, 1000, 60000, 77));
	/* honoured exactly, whatever the attempt and random draw */
	assert_int_equal(backoff_next_ms(0, 55, 1000, 300000, 0), 55000);
	assert_int_equal(backoff_next_ms(9, 55, 1000, 300000, UINT32_MAX), 55000);
	/* capped at max */
	assert_int_equal(backoff_next_ms(0, 86400, 1000, 300000, 0), 300000);
	assert_int_equal(backoff_next_ms(0, INT64_MAX, 1000, 300000, 0), 300000);
	/* floored at 1 s: "Retry-After: 0" must not cause a hot loop */
	assert_int_equal(backoff_next_ms(0, 0, 1000, 300000, 0), 1000);
	/* the floor wins over a max below one second */
	assert_int_equal(backoff_next_ms(0, 0, 100, 500, 0), 1000);
	assert_int_equal(backoff_next_ms(0, 10, 100, 500, 0), 1000);
}

static void
test_parse_retry_after(void **state)
{
	/* 1994-11-06T08:49:37Z */
	const time_t t94 = 784111777;
	int64_t s = -1;

	(void)state;
	assert_int_equal(backoff_parse_retry_after("120", 0, &s), 0);
	assert_int_equal(s, 120);
	assert_int_equal(backoff_parse_retry_after(" 0 ", 0, &s), 0);
	assert_int_equal(s, 0);
	assert_int_equal(backoff_parse_retry_after("99999999999999999999999", 0, &s), 0);
	assert_int_equal(s, INT64_MAX);
	assert_int_equal(backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t94 - 30, &s),
			 0);
	assert_int_equal(s, 30);
	assert_int_equal(backoff_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t94 - 30, &s),
			 0);
	assert_int_equal(s, 30);
	assert_int_equal(backoff_parse_retry_after("Sun Nov  6 08:49:37 1994", t94 - 30, &s), 0);
	assert_int_equal(s, 30);
	assert_int_equal(backoff_parse_retry_after("Sun Nov 16 08:49:37 1994", t94, &s), 0);
	assert_int_equal(s, 10 * 86400);
	/* a date in the past means "now" */
	assert_int_equal(backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t94 + 500, &s),
			 0);
	assert_int_equal(s, 0);
	/* RFC 850 two-digit years: more than 50 years ahead means last century */
	{
		/* now = 2026-01-01; "70" is 2070 (44 years ahead), "99" is 1999 */
		const time_t now = 1767225600;

		assert_int_equal(backoff_parse_retry_after("Wednesday, 01-Jan-70 00:00:00 GMT",
							   now, &s),
				 0);
		assert_int_equal(s, 3155760000 - now);
		assert_int_equal(backoff_parse_retry_after("Friday, 01-Jan-99 00:00:00 GMT", now,
							   &s),
				 0);
		assert_int_equal(s, 0);
	}
}

static void
test_parse_retry_after_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"   ",
		"-5",
		"1.5",
		"5s",
		"12 34",
		"soon",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 31 Feb 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 25:49:37 GMT",
		"Sun, 06 Foo 1994 08:49:37 GMT",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT",
		"Sun Nov 6 08:49:37 1994",
		"Sun Nov  6 08:49:37 1994 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMTx",
		"Sun, 06 Nov 1994 08:49:37 GMT and a very long tail that goes past the buffer",
	};
	int64_t s = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (backoff_parse_retry_after(bad[i], 0, &s) != -EINVAL)
			fail_msg("\"%s\" was not rejected", bad[i]);
	}
	assert_int_equal(s, 42);
	assert_int_equal(backoff_parse_retry_after(NULL, 0, &s), -EINVAL);
	assert_int_equal(backoff_parse_retry_after("5", 0, NULL), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delay_window),
		cmocka_unit_test(test_delay_bounds),
		cmocka_unit_test(test_delay_monotonic_in_random),
		cmocka_unit_test(test_delay_extremes),
		cmocka_unit_test(test_next_retry_after),
		cmocka_unit_test(test_parse_retry_after),
		cmocka_unit_test(test_parse_retry_after_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
