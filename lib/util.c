/* SPDX-License-Identifier: ISC */
/*
 * util — small helpers shared by every module: durations and ISO 8601
 * times, growable strings, secret wiping, hex, whole-file reads and
 * crash-safe file replacement. It owns no global state; the two clock reads
 * of lib/ live here so that everything else can take time as an argument.
 */
#include <errno.h>
#include <sys/random.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* ---- durations ------------------------------------------------------- */

/*
 * Units must appear largest first and at most once ("1h30m", not "30m1h"
 * nor "1m1m"), the rule Prometheus and Alertmanager use, so that a value an
 * operator copies between those tools means the same thing here. No sign,
 * no spaces, no bare number: "5" could be seconds or minutes, so we refuse
 * to guess.
 */
int
util_parse_duration(const char *s, int64_t *seconds)
{
	static const struct {
		char unit;
		int64_t mult;
	} units[] = {
		{'w', 7 * 86400}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1},
	};
	size_t next_unit = 0; /* index of the smallest unit still allowed */
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return -EINVAL;
	while (*p != '\0') {
		int64_t n = 0;
		const char *digits = p;
		size_t u;

		while (*p >= '0' && *p <= '9') {
			int d = *p - '0';
			if (n > (INT64_MAX - d) / 10)
				return -ERANGE;
			n = n * 10 + d;
			p++;
		}
		if (p == digits)
			return -EINVAL;
		for (u = next_unit; u < ARRAY_SIZE(units); u++)
			if (*p == units[u].unit)
				break;
		if (u == ARRAY_SIZE(units))
			return -EINVAL; /* no unit, unknown unit or wrong order */
		if (n > INT64_MAX / units[u].mult)
			return -ERANGE;
		n *= units[u].mult;
		if (total > INT64_MAX - n)
			return -ERANGE;
		total += n;
		next_unit = u + 1;
		p++;
	}
	if (total == 0)
		return -EINVAL;
	if (seconds != NULL)
		*seconds = total;
	return 0;
}

void
util_format_duration(int64_t seconds, char *buf, size_t len)
{
	static const struct {
		char unit;
		uint64_t mult;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	char tmp[64];
	size_t off = 0;
	uint64_t v;

	if (buf == NULL || len == 0)
		return;
	/* magnitude as unsigned so that INT64_MIN does not overflow */
	v = seconds < 0 ? (uint64_t)0 - (uint64_t)seconds : (uint64_t)seconds;
	if (seconds < 0)
		tmp[off++] = '-';
	if (v == 0) {
		snprintf(buf, len, "0s");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		uint64_t q = v / units[i].mult;
		if (q == 0)
			continue;
		v -= q * units[i].mult;
		off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%llu%c",
					(unsigned long long)q, units[i].unit);
	}
	snprintf(buf, len, "%s", tmp);
}

/* ---- times ----------------------------------------------------------- */

static int
parse_digits(const char **pp, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*pp)[i];
		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*pp += n;
	*out = v;
	return 0;
}

static int
days_in_month(int year, int month)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : days[month - 1];
}

/*
 * A time without a zone ("2026-12-31T10:00:00") is refused rather than
 * read as UTC or local time: the two differ by hours, and a silence or an
 * expiry date that is off by hours is a monitoring bug nobody notices.
 * A date alone is a whole-day value and means midnight UTC.
 * Fractional seconds of any length are accepted (Graph sends 7 digits) and
 * truncated: every consumer works in whole seconds.
 */
int
util_parse_time(const char *s, time_t *out)
{
	struct tm tm;
	int year, mon, day, hour = 0, min = 0, sec = 0, off = 0;
	const char *p = s;
	time_t t;

	if (s == NULL)
		return -EINVAL;
	if (parse_digits(&p, 4, &year) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &mon) < 0 || *p++ != '-' ||
	    parse_digits(&p, 2, &day) < 0)
		return -EINVAL;
	if (year < 1 || mon < 1 || mon > 12 || day < 1 ||
	    day > days_in_month(year, mon))
		return -EINVAL;
	if (*p != '\0') {
		int sign, oh, om;

		/* RFC 3339 and YAML timestamps also allow a space */
		if (*p != 'T' && *p != 't' && *p != ' ')
			return -EINVAL;
		p++;
		if (parse_digits(&p, 2, &hour) < 0 || *p++ != ':' ||
		    parse_digits(&p, 2, &min) < 0 || *p++ != ':' ||
		    parse_digits(&p, 2, &sec) < 0)
			return -EINVAL;
		if (hour > 23 || min > 59 || sec > 59)
			return -EINVAL;
		if (*p == '.' || *p == ',') {
			p++;
			if (*p < '0' || *p > '9')
				return -EINVAL;
			while (*p >= '0' && *p <= '9')
				p++;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			sign = *p++ == '+' ? 1 : -1;
			if (parse_digits(&p, 2, &oh) < 0)
				return -EINVAL;
			if (*p == ':')
				p++;
			if (parse_digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
				return -EINVAL;
			off = sign * (oh * 3600 + om * 60);
		} else {
			return -EINVAL;
		}
		if (*p != '\0')
			return -EINVAL;
	}
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && mon == 12 && day == 31 &&
				 hour == 23 && min == 59 && sec == 59))
		return -ERANGE;
	if (out != NULL)
		*out = t - off;
	return 0;
}

void
util_format_time(time_t t, char *buf, size_t len)
{
	char tmp[UTIL_TIME_LEN];
	struct tm tm;

	if (buf == NULL || len == 0)
		return;
	/* the year in four digits: %Y writes "227" for 0227, which RFC 3339
	 * (and util_parse_time) refuse (found by tests/fuzz/fuzz_scalars) */
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		snprintf(tmp, sizeof(tmp), "invalid-time");
	else
		snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(buf, len, "%s", tmp);
}

/* ---- strings --------------------------------------------------------- */

/*
 * Growth allocates a new block and wipes the old one instead of calling
 * realloc, which would free the old copy of a secret without wiping it.
 */
static int
strbuf_reserve(struct strbuf *b, size_t extra)
{
	size_t need, cap;
	char *n;

	if (b->len > SIZE_MAX - 1 - extra)
		return -ENOMEM;
	need = b->len + extra + 1;
	if (b->s != NULL && need <= b->cap)
		return 0;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	n = malloc(cap);
	if (n == NULL)
		return -ENOMEM;
	if (b->s != NULL) {
		memcpy(n, b->s, b->len);
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	n[b->len] = '\0';
	b->s = n;
	b->cap = cap;
	return 0;
}

int
strbuf_append(struct strbuf *b, const void *data, size_t len)
{
	int r;

	if (b == NULL || (data == NULL && len > 0))
		return -EINVAL;
	r = strbuf_reserve(b, len);
	if (r < 0)
		return r;
	if (len > 0)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int
strbuf_puts(struct strbuf *b, const char *s)
{
	if (s == NULL)
		return -EINVAL;
	return strbuf_append(b, s, strlen(s));
}

int
strbuf_printf(struct strbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	if (b == NULL || fmt == NULL)
		return -EINVAL;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = strbuf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *
strbuf_detach(struct strbuf *b)
{
	char *s = b->s, *fit;

	if (s && b->len + 1 < b->cap && (fit = realloc(s, b->len + 1)))
		s = fit;
	*b = (struct strbuf){0};
	return s;
}

void
strbuf_reset(struct strbuf *b)
{
	if (b == NULL || b->s == NULL)
		return;
	explicit_bzero(b->s, b->len);
	b->len = 0;
	b->s[0] = '\0';
}

void
strbuf_free(struct strbuf *b)
{
	if (b == NULL)
		return;
	if (b->s != NULL) {
		explicit_bzero(b->s, b->cap);
		free(b->s);
	}
	b->s = NULL;
	b->len = b->cap = 0;
}

char *
util_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	if (fmt == NULL)
		return NULL;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

char *
util_strdup(const char *s)
{
	return s == NULL ? NULL : strdup(s);
}

void
util_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

bool
util_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

size_t
util_utf8_len(const unsigned char *s, size_t max)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > max)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values beyond U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t
util_copy_sanitized(char *dst, size_t dstlen, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t slen, i = 0, o = 0;

	if (dst == NULL || dstlen == 0)
		return 0;
	if (src == NULL) {
		dst[0] = '\0';
		return 0;
	}
	slen = strlen(src);
	while (i < slen) {
		size_t n = util_utf8_len(s + i, slen - i);

		if (n == 0) {
			/* invalid byte: one replacement char, keeps output valid */
			if (o + 1 >= dstlen)
				break;
			dst[o++] = '?';
			i++;
			continue;
		}
		if (o + n >= dstlen)
			break; /* never cut a multi-byte character in half */
		if (n == 1 && (s[i] < 0x20 || s[i] == 0x7f))
			dst[o] = ' ';
		else
			memcpy(dst + o, s + i, n);
		o += n;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

void
util_sanitize(char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* ---- files ----------------------------------------------------------- */

int
util_read_file(const char *path, size_t max, unsigned flags, char **out, size_t *len)
{
	struct strbuf b = {0};
	struct stat st;
	char chunk[4096];
	int fd, r = 0;

	if (path == NULL || out == NULL)
		return -EINVAL;
	*out = NULL;
	if (len != NULL)
		*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
				(flags & UTIL_READ_NOFOLLOW ? O_NOFOLLOW : 0));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	if (r < 0) {
		close(fd);
		return r;
	}
	/* refuse early what is certainly too big; /proc files report size
	 * 0 and are bounded by the read loop instead */
	if ((uintmax_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		if ((size_t)n > max - b.len) {
			r = -EFBIG;
			break;
		}
		r = strbuf_append(&b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	if (r == 0 && b.s == NULL)
		r = strbuf_append(&b, "", 0); /* empty file: still a string */
	if (r < 0) {
		strbuf_free(&b);
		return r;
	}
	*out = b.s;
	if (len != NULL)
		*len = b.len;
	return 0;
}

const char *
util_file_error(int r)
{
	switch (r) {
	case -EINVAL:
		return "not a regular file";
	case -ELOOP:
		return "a symbolic link, which kmswatch does not follow here";
	case -EFBIG:
		return "too large";
	default:
		return strerror(-r);
	}
}

int
util_check_private_dir(const char *path, char *why, size_t whylen)
{
	struct stat lst, st;
	int fd, r = 0;

	if (lstat(path, &lst) < 0)
		return -errno;
	if (S_ISLNK(lst.st_mode) && lst.st_uid != 0) {
		snprintf(why, whylen, "%s is a symbolic link owned by uid %u: use the directory "
			 "itself", path, (unsigned)lst.st_uid);
		return -EPERM;
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	close(fd);
	if (r < 0)
		return r;
	if (st.st_uid != geteuid()) {
		snprintf(why, whylen, "%s is owned by uid %u, not by kmswatchd's uid %u: chown it",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 022) {
		snprintf(why, whylen, "%s is writable by %s (mode %04o): chmod 0700 it", path,
			 st.st_mode & 002 ? "everyone" : "its group", (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int
write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* no progress and no reason: do not spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Works relative to a directory descriptor so the temporary file, the
 * rename and the directory fsync all act on the same directory even if the
 * path is renamed meanwhile. A stale temporary file left by a crash is
 * removed first; O_EXCL then guarantees we never write through a symlink
 * or a file someone else holds open.
 */
int
util_write_file_atomic(const char *dir, const char *name, const void *data,
		       size_t len, unsigned mode)
{
	char tmp[NAME_MAX + 1];
	int dfd, fd, r;

	if (dir == NULL || name == NULL || (data == NULL && len > 0) ||
	    *name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
		r = -errno;
		close(dfd);
		return r;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	/* the umask must not change the mode the caller asked for */
	if (fchmod(fd, (mode_t)mode) < 0)
		r = -errno;
	else
		r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	/* close reports deferred write errors on NFS and similar */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dfd, tmp, 0);
		close(dfd);
		return r;
	}
	/* the rename is durable only once the directory is; filesystems that
	 * cannot sync a directory say EINVAL, and there is nothing to do then */
	if (fsync(dfd) < 0 && errno != EINVAL)
		r = -errno;
	close(dfd);
	return r;
}

/* ---- encodings ------------------------------------------------------- */

void
util_hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* ---- clocks ---------------------------------------------------------- */

int64_t
util_now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

time_t
util_now(void)
{
	return time(NULL);
}

char *
util_urlencode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			*o++ = (char)*p;
		} else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		}
	}
	*o = '\0';
	return out;
}

uint32_t
util_random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)util_now_mono_ms();
	return r;
}
