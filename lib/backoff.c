/* SPDX-License-Identifier: ISC */
/*
 * backoff — pure retry scheduling: when to try an HTTP request or a webhook
 * delivery again. Owns no state; time and randomness are arguments.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "backoff.h"

/*
 * Equal jitter rather than full jitter. Full jitter (uniform in [0, window])
 * spreads load best but may retry after a few milliseconds, which for a
 * monitor means hammering a server that just said it is overloaded, and
 * makes "retried 3 times over 2 s" meaningless in an alert. Equal jitter
 * keeps a floor of half the window, so each retry really waits, while the
 * random upper half still de-synchronises the projects that a single timer
 * polled at the same instant.
 */
int64_t
backoff_delay_ms(unsigned attempt, int64_t base_ms, int64_t max_ms, uint32_t random)
{
	uint64_t window, half, span, offset;

	if (max_ms < 1)
		max_ms = 1;
	if (base_ms < 1)
		base_ms = 1;
	if (base_ms > max_ms)
		base_ms = max_ms;
	window = (uint64_t)base_ms;
	for (unsigned i = 0; i < attempt && window < (uint64_t)max_ms; i++)
		window = window > (uint64_t)max_ms / 2 ? (uint64_t)max_ms : window * 2;
	half = window / 2;
	/* offset = floor((half + 1) * random / 2^32), split so that no
	 * intermediate exceeds 64 bits: a scaled draw, not a biased modulo */
	span = half + 1;
	offset = (span >> 32) * random + (((span & 0xffffffffu) * random) >> 32);
	return (int64_t)(window - half + offset);
}

int64_t
backoff_next_ms(unsigned attempt, int64_t retry_after_s, int64_t base_ms, int64_t max_ms,
		uint32_t random)
{
	int64_t ms, cap;

	if (retry_after_s < 0)
		return backoff_delay_ms(attempt, base_ms, max_ms, random);
	cap = max_ms > 1000 ? max_ms : 1000;
	ms = retry_after_s > INT64_MAX / 1000 ? INT64_MAX : retry_after_s * 1000;
	if (ms < 1000)
		ms = 1000;
	return ms > cap ? cap : ms;
}

/* ---- Retry-After ----------------------------------------------------- */

static const char *const wkday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const weekday[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
				      "Thursday", "Friday", "Saturday"};
static const char *const month[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static bool
lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool
num(const char **p, int digits, int *out)
{
	int v = 0;

	for (int i = 0; i < digits; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += digits;
	*out = v;
	return true;
}

static bool
name(const char **p, const char *const *names, int n, int *out)
{
	for (int i = 0; i < n; i++) {
		if (lit(p, names[i])) {
			if (out != NULL)
				*out = i;
			return true;
		}
	}
	return false;
}

static bool
hms(const char **p, struct tm *tm)
{
	return num(p, 2, &tm->tm_hour) && lit(p, ":") && num(p, 2, &tm->tm_min) &&
	       lit(p, ":") && num(p, 2, &tm->tm_sec);
}

/* The three HTTP-date forms; the weekday name is checked for spelling only,
 * as RFC 9110 lets recipients ignore it. */
static bool
http_date(const char *p, time_t now, time_t *out)
{
	struct tm tm, back;
	const char *start = p;
	int year;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (name(&p, weekday, 7, NULL) && lit(&p, ", ")) {
		/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
		struct tm nowtm;

		if (!num(&p, 2, &tm.tm_mday) || !lit(&p, "-") ||
		    !name(&p, month, 12, &tm.tm_mon) || !lit(&p, "-") || !num(&p, 2, &year) ||
		    !lit(&p, " ") || !hms(&p, &tm) || !lit(&p, " GMT") || *p != '\0')
			return false;
		/* a two-digit year more than 50 years ahead is in the past */
		if (gmtime_r(&now, &nowtm) == NULL)
			return false;
		year += (nowtm.tm_year + 1900) / 100 * 100;
		if (year > nowtm.tm_year + 1900 + 50)
			year -= 100;
	} else {
		p = start;
		if (!name(&p, wkday, 7, NULL))
			return false;
		if (lit(&p, ", ")) {
			/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
			if (!num(&p, 2, &tm.tm_mday) || !lit(&p, " ") ||
			    !name(&p, month, 12, &tm.tm_mon) || !lit(&p, " ") ||
			    !num(&p, 4, &year) || !lit(&p, " ") || !hms(&p, &tm) ||
			    !lit(&p, " GMT") || *p != '\0')
				return false;
		} else {
			/* asctime: Sun Nov  6 08:49:37 1994 */
			if (!lit(&p, " ") || !name(&p, month, 12, &tm.tm_mon) ||
			    !lit(&p, " "))
				return false;
			if (*p == ' ') {
				p++;
				if (!num(&p, 1, &tm.tm_mday))
					return false;
			} else if (!num(&p, 2, &tm.tm_mday)) {
				return false;
			}
			if (!lit(&p, " ") || !hms(&p, &tm) || !lit(&p, " ") ||
			    !num(&p, 4, &year) || *p != '\0')
				return false;
		}
	}
	tm.tm_year = year - 1900;
	back = tm;
	t = timegm(&tm);
	/* timegm normalises 31 Feb to 3 Mar: compare to catch impossible dates */
	if (t == (time_t)-1 || tm.tm_mday != back.tm_mday || tm.tm_mon != back.tm_mon ||
	    tm.tm_year != back.tm_year || tm.tm_hour != back.tm_hour ||
	    tm.tm_min != back.tm_min || tm.tm_sec != back.tm_sec)
		return false;
	*out = t;
	return true;
}

int
backoff_parse_retry_after(const char *value, time_t now, int64_t *seconds)
{
	char buf[64];
	const char *p;
	size_t n;
	time_t t;

	if (value == NULL || seconds == NULL)
		return -EINVAL;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, value, n);
	buf[n] = '\0';

	if (buf[0] >= '0' && buf[0] <= '9') {
		int64_t v = 0;

		for (p = buf; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				return -EINVAL;
			/* absurd values saturate; backoff_next_ms caps them */
			if (v <= (INT64_MAX - 9) / 10)
				v = v * 10 + (*p - '0');
			else
				v = INT64_MAX;
		}
		*seconds = v;
		return 0;
	}
	if (!http_date(buf, now, &t))
		return -EINVAL;
	*seconds = t > now ? (int64_t)(t - now) : 0;
	return 0;
}
