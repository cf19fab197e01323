/* SPDX-License-Identifier: ISC */
/*
 * util — small helpers shared by every module: durations and ISO 8601
 * times, dynamic strings, secret wiping and crash-safe file writes.
 * Functions return 0 or a negative errno unless stated otherwise.
 */
#ifndef KMSWATCH_UTIL_H
#define KMSWATCH_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* "30s", "5m", "4h", "30d" (also "1h30m", "2w") -> seconds; -EINVAL on
 * anything else, -ERANGE on overflow. Zero is rejected: no interval may be 0. */
int util_parse_duration(const char *s, int64_t *seconds);
/* Inverse for messages: 90 -> "1m30s", 86400 -> "1d". */
void util_format_duration(int64_t seconds, char *buf, size_t len);

/* ISO 8601: "2027-03-01" (midnight UTC), "2026-12-31T00:00:00Z",
 * "2026-09-09T19:50:29.3086381Z", "2026-12-31T01:00:00+01:00". A date-time
 * without Z or an offset is -EINVAL (never guessed as local or UTC);
 * impossible dates (2027-02-30, 25:00) are -EINVAL. */
int util_parse_time(const char *s, time_t *out);
/* RFC 3339 UTC, "2026-11-20T10:00:00Z"; buf must hold 21 bytes. */
void util_format_time(time_t t, char *buf, size_t len);
#define UTIL_TIME_LEN 32

/* Growable NUL-terminated byte buffer. */
struct strbuf {
	char *s;
	size_t len, cap;
};
int strbuf_append(struct strbuf *b, const void *data, size_t len);
int strbuf_puts(struct strbuf *b, const char *s);
int strbuf_printf(struct strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_reset(struct strbuf *b);
/* The string, trimmed to its length, now the caller's to free; b is
 * empty again. NULL if b never held anything. */
char *strbuf_detach(struct strbuf *b);
/* Wipes the bytes before freeing: buffers may have held secrets. */
void strbuf_free(struct strbuf *b);

/* printf into a fresh allocation; NULL on ENOMEM. */
char *util_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* strdup that accepts NULL. */
char *util_strdup(const char *s);
/* Overwrite then free: for anything that held a secret. */
void util_free_secret(char *s);
bool util_streq(const char *a, const char *b); /* NULL-safe */
/* Copy text from outside (API answers) into a fixed buffer for logs and
 * alerts: control characters become spaces, invalid UTF-8 bytes '?', and
 * truncation never splits a character. Returns the length written. */
size_t util_copy_sanitized(char *dst, size_t dstlen, const char *src);
/* Length of the valid UTF-8 sequence starting at s (at most max bytes, max
 * >= 1), or 0 when the bytes there are not one: shortest forms only, no
 * surrogates, nothing beyond U+10FFFF. */
size_t util_utf8_len(const unsigned char *s, size_t max);
/* In place: control characters become spaces (one-line messages). */
void util_sanitize(char *s);

/* Read a whole regular file (at most max bytes, -EFBIG beyond). *out is
 * NUL-terminated and must be freed (util_free_secret if it is a secret).
 * Opened non-blocking, so a FIFO or a device cannot hang the caller: a
 * directory is -EISDIR, any other file that is not regular -EINVAL. With
 * UTIL_READ_NOFOLLOW (files in our own directories) a symbolic link as
 * the last component is -ELOOP. util_file_error() words these. */
#define UTIL_READ_NOFOLLOW 1u
int util_read_file(const char *path, size_t max, unsigned flags, char **out, size_t *len);
/* strerror() for util_read_file's codes, saying "not a regular file" and
 * "a symbolic link" where strerror would say something vaguer. */
const char *util_file_error(int r);
/* A directory that holds our state or queue: not a symbolic link (unless
 * root's, as systemd's StateDirectory= with DynamicUser= makes), owned by
 * us, not writable by group or others. 0, or -EPERM (-errno when it
 * cannot be examined) with the reason and the fix in why. */
int util_check_private_dir(const char *path, char *why, size_t whylen);
/* Crash-safe replace of dir/name: write dir/.name.tmp, fsync, rename,
 * fsync the directory. On error the old file is untouched. */
int util_write_file_atomic(const char *dir, const char *name, const void *data,
			   size_t len, unsigned mode);

/* Percent-encode everything but RFC 3986 unreserved characters (for form
 * bodies and query strings). NULL on ENOMEM; wipe it if s was a secret. */
char *util_urlencode(const char *s);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void util_hex(const unsigned char *in, size_t n, char *out);

/* Jitter for backoff: a uniformly random 32-bit value (getrandom; the
 * monotonic clock in the never-seen case that it fails). */
uint32_t util_random_u32(void);

/* Monotonic and wall-clock time, the only clock reads in lib/ (the daemon
 * passes the result into pure functions). */
int64_t util_now_mono_ms(void);
time_t util_now(void);

#endif
