/* SPDX-License-Identifier: ISC */
/*
 * backoff — pure retry scheduling for Atlas/Azure requests and webhook
 * deliveries: exponential backoff with jitter, and the server's
 * Retry-After. No clock and no random source of its own: the caller passes
 * the time and a random number, so every schedule is reproducible in tests.
 */
#ifndef KMSWATCH_BACKOFF_H
#define KMSWATCH_BACKOFF_H

#include <stdint.h>
#include <time.h>

/* Delay before retry number `attempt` (0 = the first retry): a window of
 * base_ms * 2^attempt capped at max_ms, of which a random upper half is
 * chosen ("equal jitter"), so the result lies in [ceil(window/2), window]:
 * never below base_ms/2, never above max_ms. `random` is any uniformly
 * distributed 32-bit value (0 picks the lowest delay, UINT32_MAX the
 * highest). Nonsense bounds are clamped: base_ms < 1 -> 1, max_ms < base_ms
 * -> base_ms is lowered to max_ms. Always >= 1. */
int64_t backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint32_t random);

/* The delay to use when the server may have sent Retry-After:
 * retry_after_s < 0 means it did not (then backoff_delay_ms); otherwise the
 * server's value, at least 1 s (never hammer, even on "Retry-After: 0") and
 * at most max(max_ms, 1 s) (a hostile or broken server cannot park a
 * delivery for days). */
int64_t backoff_next_ms(unsigned attempt, int64_t retry_after_s, int64_t base_ms,
			int64_t max_ms, uint32_t random);

/* Parse a Retry-After header value (RFC 9110 10.2.3): delta-seconds, or an
 * HTTP-date in any of the three formats (IMF-fixdate, RFC 850, asctime),
 * converted to seconds from `now` (0 if already past). Surrounding spaces
 * are ignored. Returns 0, or -EINVAL for anything else. */
int backoff_parse_retry_after(const char *value, time_t now, int64_t *seconds);

#endif
