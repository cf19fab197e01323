/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/util.c: durations, ISO 8601 times, strbuf, sanitising,
 * whole-file reads, atomic writes (with injected write/fsync faults) and
 * hex.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "strpool.h"
#include "timerheap.h"
#include "util.h"

/*
 * Fault injection: this executable's write() and fsync() take precedence
 * over libc's for calls from lib/util.c, so a full disk, short writes and
 * EINTR can be produced without root or a special filesystem.
 */
static struct {
	bool armed;
	int write_errno;   /* every write fails with this */
	int eintr_left;    /* this many writes fail with EINTR first */
	size_t short_max;  /* each write moves at most this many bytes */
	int write_calls;
	int fsync_errno;   /* the first fsync fails with this */
} inj;

ssize_t
write(int fd, const void *buf, size_t n)
{
	if (inj.armed) {
		inj.write_calls++;
		if (inj.write_errno != 0) {
			errno = inj.write_errno;
			return -1;
		}
		if (inj.eintr_left > 0) {
			inj.eintr_left--;
			errno = EINTR;
			return -1;
		}
		if (inj.short_max > 0 && n > inj.short_max)
			n = inj.short_max;
	}
	return syscall(SYS_write, fd, buf, n);
}

int
fsync(int fd)
{
	if (inj.armed && inj.fsync_errno != 0) {
		errno = inj.fsync_errno;
		inj.fsync_errno = 0;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

static char tmpdir[PATH_MAX];

static int
setup_dir(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/kmswatch-test-util.XXXXXX", base);
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	memset(&inj, 0, sizeof(inj));
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	memset(&inj, 0, sizeof(inj));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *
path_in(const char *name)
{
	return util_asprintf("%s/%s", tmpdir, name);
}

static void
put_file(const char *name, const char *content)
{
	char *p = path_in(name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	free(p);
}

static char *
get_file(const char *name)
{
	char *p = path_in(name), *data = NULL;
	size_t len;

	assert_int_equal(util_read_file(p, 1 << 20, 0, &data, &len), 0);
	free(p);
	return data;
}

static bool
exists(const char *name)
{
	char *p = path_in(name);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* ---- durations ------------------------------------------------------- */

static void
test_duration_valid(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} ok[] = {
		{"30s", 30},       {"5m", 300},          {"4h", 14400},
		{"30d", 2592000},  {"2w", 1209600},      {"1h30m", 5400},
		{"1s", 1},         {"1w2d3h4m5s", 788645}, {"05m", 300},
		{"0h1s", 1},       {"90s", 90},
	};
	int64_t v;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		v = -1;
		assert_int_equal(util_parse_duration(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	/* the output pointer is optional: a validator may only want yes/no */
	assert_int_equal(util_parse_duration("5m", NULL), 0);
}

static void
test_duration_invalid(void **state)
{
	static const char *bad[] = {
		"",   "0s",  "0m0s", "5",   "-5m", "+5m", "5x",   "m",    "5 m", " 5m",
		"5m ", "5M", "1.5h", "30m1h", "1m1m", "5ms", "h5",  "5m5",  "1d1w", "s",
	};
	int64_t v = 42;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (util_parse_duration(bad[i], &v) != -EINVAL)
			fail_msg("\"%s\" was not rejected", bad[i]);
	}
	assert_int_equal(v, 42); /* untouched on error */
	assert_int_equal(util_parse_duration(NULL, &v), -EINVAL);
}

static void
test_duration_overflow(void **state)
{
	int64_t v;

	(void)state;
	assert_int_equal(util_parse_duration("9223372036854775807s", &v), 0);
	assert_int_equal(v, INT64_MAX);
	assert_int_equal(util_parse_duration("9223372036854775808s", &v), -ERANGE);
	assert_int_equal(util_parse_duration("99999999999999999999999s", &v), -ERANGE);
	assert_int_equal(util_parse_duration("15250284452472w", &v), -ERANGE);
	assert_int_equal(util_parse_duration("15250284452471w", &v), 0);
	assert_int_equal(util_parse_duration("106751991167300d", &v), 0);
	assert_int_equal(util_parse_duration("106751991167301d", &v), -ERANGE);
	/* each part fits, the sum does not */
	assert_int_equal(util_parse_duration("106751991167300d86400s", &v), -ERANGE);
}

static void
test_duration_format(void **state)
{
	char buf[64];

	(void)state;
	util_format_duration(90, buf, sizeof(buf));
	assert_string_equal(buf, "1m30s");
	util_format_duration(86400, buf, sizeof(buf));
	assert_string_equal(buf, "1d");
	util_format_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	util_format_duration(5400, buf, sizeof(buf));
	assert_string_equal(buf, "1h30m");
	util_format_duration(90061, buf, sizeof(buf));
	assert_string_equal(buf, "1d1h1m1s");
	util_format_duration(-300, buf, sizeof(buf));
	assert_string_equal(buf, "-5m");
	util_format_duration(INT64_MIN, buf, sizeof(buf));
	assert_string_equal(buf, "-106751991167300d15h30m8s");
	util_format_duration(INT64_MAX, buf, sizeof(buf));
	assert_string_equal(buf, "106751991167300d15h30m7s");
	/* truncation is safe and terminated */
	util_format_duration(90061, buf, 4);
	assert_string_equal(buf, "1d1");
	util_format_duration(90061, NULL, 0);

	/* round trip */
	for (int64_t s = 1; s < 200000; s += 997) {
		int64_t back;
		util_format_duration(s, buf, sizeof(buf));
		assert_int_equal(util_parse_duration(buf, &back), 0);
		assert_int_equal(back, s);
	}
}

/* ---- times ----------------------------------------------------------- */

static void
test_time_valid(void **state)
{
	static const struct {
		const char *s;
		time_t t;
	} ok[] = {
		{"2027-03-01", 1803859200},
		{"2026-12-31T00:00:00Z", 1798675200},
		{"2026-12-31T01:00:00+01:00", 1798675200},
		{"2026-12-30T19:00:00-05:00", 1798675200},
		{"2026-12-31T05:30:00+0530", 1798675200},
		{"2026-09-09T19:50:29.3086381Z", 1788983429},
		{"2026-09-09T19:50:29.3Z", 1788983429},
		{"2026-09-09T19:50:29,999999999999Z", 1788983429},
		{"2026-09-09t19:50:29z", 1788983429},
		{"2026-01-01 10:00:00Z", 1767261600},
		{"1970-01-01T00:00:00Z", 0},
		{"1969-12-31T23:59:59Z", -1},
		{"2024-02-29", 1709164800},
		{"2000-02-29T12:00:00Z", 951825600},
		{"2026-12-31T23:59:59Z", 1798761599},
		{"9999-12-31T23:59:59Z", 253402300799},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		time_t t = 12345;
		if (util_parse_time(ok[i].s, &t) != 0)
			fail_msg("\"%s\" was rejected", ok[i].s);
		if (t != ok[i].t)
			fail_msg("\"%s\" -> %lld, want %lld", ok[i].s, (long long)t,
				 (long long)ok[i].t);
	}
}

static void
test_time_invalid(void **state)
{
	static const char *bad[] = {
		"",
		"garbage",
		"2027-02-30",
		"2027-02-29",
		"1900-02-29",
		"2026-13-01",
		"2026-00-10",
		"2026-04-31",
		"2026-04-00",
		"2026-1-01",
		"26-01-01",
		"2026-01-01T",
		"2026-01-01T25:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T23:60:00Z",
		"2026-01-01T23:59:60Z",
		"2026-01-01T10:00:00",
		"2026-01-01T10:00Z",
		"2026-01-01T10:00:00.Z",
		"2026-01-01T10:00:00Zjunk",
		"2026-01-01T10:00:00+1:00",
		"2026-01-01T10:00:00+24:00",
		"2026-01-01T10:00:00+01:60",
		"2026-01-01T10:00:00+01:",
		"2026-01-01x",
		" 2026-01-01",
		"2026-01-01 ",
		"0000-01-01",
		"2026/01/01",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		time_t t = 777;
		if (util_parse_time(bad[i], &t) != -EINVAL)
			fail_msg("\"%s\" was not rejected", bad[i]);
		assert_int_equal(t, 777);
	}
	assert_int_equal(util_parse_time(NULL, NULL), -EINVAL);
}

static void
test_time_format(void **state)
{
	char buf[UTIL_TIME_LEN], small[8];
	time_t t;

	(void)state;
	util_format_time(1798675200, buf, sizeof(buf));
	assert_string_equal(buf, "2026-12-31T00:00:00Z");
	util_format_time(0, buf, 21); /* the documented minimum */
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(util_parse_time(buf, &t), 0);
	assert_int_equal(t, 0);
	util_format_time(1798675200, small, sizeof(small));
	assert_string_equal(small, "2026-12");
	/* a year below 1000 keeps its four digits, so it parses back (fuzz) */
	assert_int_equal(util_parse_time("0227-03-01", &t), 0);
	util_format_time(t, buf, sizeof(buf));
	assert_string_equal(buf, "0227-03-01T00:00:00Z");
	assert_int_equal(util_parse_time(buf, &t), 0);
	util_format_time(1798675200, NULL, 0);
	for (time_t x = -86400 * 400; x < 86400 * 365 * 60; x += 86400 * 7 + 3601) {
		util_format_time(x, buf, sizeof(buf));
		assert_int_equal(util_parse_time(buf, &t), 0);
		assert_int_equal(t, x);
	}
}

/* ---- strings --------------------------------------------------------- */

static void
test_strbuf_basic(void **state)
{
	struct strbuf b = {0};

	(void)state;
	assert_int_equal(strbuf_append(NULL, "x", 1), -EINVAL);
	assert_int_equal(strbuf_append(&b, NULL, 1), -EINVAL);
	assert_int_equal(strbuf_puts(&b, NULL), -EINVAL);
	assert_int_equal(strbuf_puts(NULL, "x"), -EINVAL);
	assert_null(b.s);
	/* appending nothing still yields a valid empty string */
	assert_int_equal(strbuf_append(&b, NULL, 0), 0);
	assert_non_null(b.s);
	assert_string_equal(b.s, "");
	assert_int_equal(strbuf_puts(&b, ""), 0);
	assert_int_equal(b.len, 0);
	assert_int_equal(strbuf_puts(&b, "hello"), 0);
	assert_int_equal(strbuf_append(&b, ", world", 7), 0);
	assert_int_equal(strbuf_printf(&b, " %d%s", 42, "!"), 0);
	assert_string_equal(b.s, "hello, world 42!");
	assert_int_equal(b.len, strlen(b.s));
	assert_int_equal(strbuf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 16);
	strbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.s, "");
	assert_int_equal(strbuf_puts(&b, "again"), 0);
	assert_string_equal(b.s, "again");
	strbuf_free(&b);
	assert_null(b.s);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	strbuf_free(&b); /* twice is fine */
	strbuf_free(NULL);
	strbuf_reset(NULL);
	strbuf_reset(&b);
	assert_int_equal(strbuf_printf(NULL, "x"), -EINVAL);
}

static void
test_strbuf_growth(void **state)
{
	struct strbuf b = {0};
	size_t reallocs = 0, last_cap = 0;
	char big[5000];

	(void)state;
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(strbuf_append(&b, "abc", 3), 0);
		if (b.cap != last_cap) {
			reallocs++;
			last_cap = b.cap;
		}
		assert_true(b.cap > b.len);
		assert_true(b.cap <= 2 * (b.len + 1) || b.cap == 64);
	}
	assert_int_equal(b.len, 300000);
	/* geometric: 64 -> 512 KiB is 13 doublings */
	assert_true(reallocs <= 14);
	for (size_t i = 0; i < b.len; i += 3)
		assert_memory_equal(b.s + i, "abc", 3);
	strbuf_free(&b);

	/* one printf larger than several doublings */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(strbuf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, sizeof(big) + 1);
	assert_int_equal(b.s[0], '[');
	assert_int_equal(b.s[b.len - 1], ']');
	assert_int_equal(b.s[b.len], '\0');
	strbuf_free(&b);

	/* binary data with NUL bytes is kept */
	assert_int_equal(strbuf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.s, "a\0b", 4);
	strbuf_free(&b);
}

static void
test_string_helpers(void **state)
{
	char *s;

	(void)state;
	s = util_asprintf("%s-%03d", "id", 7);
	assert_string_equal(s, "id-007");
	free(s);
	s = util_asprintf("%s", "");
	assert_string_equal(s, "");
	free(s);
	assert_null(util_strdup(NULL));
	s = util_strdup("copy");
	assert_string_equal(s, "copy");
	util_free_secret(s);
	util_free_secret(NULL);
	assert_true(util_streq(NULL, NULL));
	assert_false(util_streq("a", NULL));
	assert_false(util_streq(NULL, "a"));
	assert_true(util_streq("a", "a"));
	assert_false(util_streq("a", "ab"));
}

static void
test_sanitize(void **state)
{
	char buf[16], s[] = "a\nb\tc\x7f" "d\x1b[31m";
	size_t n;

	(void)state;
	n = util_copy_sanitized(buf, sizeof(buf), "line1\r\nline2");
	assert_string_equal(buf, "line1  line2");
	assert_int_equal(n, 12);
	/* truncation keeps the terminator */
	util_copy_sanitized(buf, 6, "abcdefgh");
	assert_string_equal(buf, "abcde");
	/* never split a UTF-8 character: "é" is 2 bytes, "€" 3 */
	util_copy_sanitized(buf, 5, "abc\xc3\xa9");
	assert_string_equal(buf, "abc");
	util_copy_sanitized(buf, 6, "abc\xc3\xa9");
	assert_string_equal(buf, "abc\xc3\xa9");
	util_copy_sanitized(buf, 6, "ab\xe2\x82\xac" "d");
	assert_string_equal(buf, "ab\xe2\x82\xac");
	util_copy_sanitized(buf, 5, "ab\xe2\x82\xac");
	assert_string_equal(buf, "ab");
	/* invalid UTF-8 (stray continuation, overlong, truncated) -> '?' */
	util_copy_sanitized(buf, sizeof(buf), "a\x80" "b\xc0\xaf" "c\xe2\x82");
	assert_string_equal(buf, "a?b??c??");
	util_copy_sanitized(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "");
	assert_int_equal(util_copy_sanitized(NULL, 0, "x"), 0);
	util_copy_sanitized(buf, 1, "xyz");
	assert_string_equal(buf, "");

	util_sanitize(s);
	assert_string_equal(s, "a b c d [31m");
	util_sanitize(NULL);
}

/* ---- files ----------------------------------------------------------- */

static void
test_read_file(void **state)
{
	char *data = (char *)1, *p;
	size_t len = 99;

	(void)state;
	put_file("f", "hello\n");
	p = path_in("f");
	assert_int_equal(util_read_file(p, 6, 0, &data, &len), 0);
	assert_string_equal(data, "hello\n");
	assert_int_equal(len, 6);
	util_free_secret(data);
	/* one byte over the cap */
	assert_int_equal(util_read_file(p, 5, 0, &data, &len), -EFBIG);
	assert_null(data);
	/* len is optional */
	assert_int_equal(util_read_file(p, 100, 0, &data, NULL), 0);
	free(data);
	free(p);

	put_file("empty", "");
	p = path_in("empty");
	assert_int_equal(util_read_file(p, 0, 0, &data, &len), 0);
	assert_non_null(data);
	assert_string_equal(data, "");
	assert_int_equal(len, 0);
	free(data);
	free(p);

	p = path_in("missing");
	assert_int_equal(util_read_file(p, 10, 0, &data, &len), -ENOENT);
	assert_null(data);
	free(p);

	assert_int_equal(util_read_file(tmpdir, 10, 0, &data, &len), -EISDIR);
	assert_int_equal(util_read_file(NULL, 10, 0, &data, &len), -EINVAL);
	assert_int_equal(util_read_file("/etc/hostname", 10, 0, NULL, &len), -EINVAL);

	/* a FIFO nobody writes to, a device: refused at once, never a hang */
	p = path_in("fifo");
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(util_read_file(p, 10, 0, &data, &len), -EINVAL);
	assert_string_equal(util_file_error(-EINVAL), "not a regular file");
	free(p);
	assert_int_equal(util_read_file("/dev/null", 10, 0, &data, &len), -EINVAL);
	/* a symbolic link: followed, unless NOFOLLOW (our own directories) */
	put_file("target", "x");
	p = path_in("link");
	assert_int_equal(symlink("target", p), 0);
	assert_int_equal(util_read_file(p, 10, 0, &data, &len), 0);
	free(data);
	assert_int_equal(util_read_file(p, 10, UTIL_READ_NOFOLLOW, &data, &len), -ELOOP);
	assert_null(data);
	free(p);

	/* a file without a size (procfs) is bounded by the read loop */
	assert_int_equal(util_read_file("/proc/self/status", 10, 0, &data, &len), -EFBIG);
	assert_int_equal(util_read_file("/proc/self/status", 1 << 20, 0, &data, &len), 0);
	assert_true(len > 10);
	assert_int_equal(strlen(data), len);
	free(data);
}

static void
test_read_file_large(void **state)
{
	size_t n = 3 * 4096 + 17, len;
	char *big = malloc(n), *data, *p;
	int fd;

	(void)state;
	for (size_t i = 0; i < n; i++)
		big[i] = (char)('a' + i % 26);
	p = path_in("big");
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, big, n), (ssize_t)n);
	close(fd);
	assert_int_equal(util_read_file(p, n, 0, &data, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(data, big, n);
	free(data);
	assert_int_equal(util_read_file(p, n - 1, 0, &data, &len), -EFBIG);
	free(p);
	free(big);
}

static void
test_write_atomic(void **state)
{
	struct stat st;
	char *data, *p;
	mode_t old_umask;

	(void)state;
	/* the mode asked for wins over a restrictive umask */
	old_umask = umask(077);
	assert_int_equal(util_write_file_atomic(tmpdir, "state.json", "v1", 2, 0640), 0);
	umask(old_umask);
	data = get_file("state.json");
	assert_string_equal(data, "v1");
	free(data);
	p = path_in("state.json");
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(p);
	assert_false(exists(".state.json.tmp"));

	/* replace */
	assert_int_equal(util_write_file_atomic(tmpdir, "state.json", "version 2", 9, 0600), 0);
	data = get_file("state.json");
	assert_string_equal(data, "version 2");
	free(data);

	/* empty content */
	assert_int_equal(util_write_file_atomic(tmpdir, "e", NULL, 0, 0600), 0);
	data = get_file("e");
	assert_string_equal(data, "");
	free(data);

	/* a stale temporary file from a crash does not block the next write */
	put_file(".state.json.tmp", "half-written");
	assert_int_equal(util_write_file_atomic(tmpdir, "state.json", "v3", 2, 0600), 0);
	data = get_file("state.json");
	assert_string_equal(data, "v3");
	free(data);
	assert_false(exists(".state.json.tmp"));

	/* a symlink planted at the temporary path is removed, not followed */
	put_file("victim", "precious");
	p = path_in(".state.json.tmp");
	{
		char *victim = path_in("victim");
		assert_int_equal(symlink(victim, p), 0);
		free(victim);
	}
	free(p);
	assert_int_equal(util_write_file_atomic(tmpdir, "state.json", "v4", 2, 0600), 0);
	data = get_file("victim");
	assert_string_equal(data, "precious");
	free(data);
}

static void
test_write_atomic_bad_args(void **state)
{
	char *p;

	(void)state;
	assert_int_equal(util_write_file_atomic(NULL, "x", "a", 1, 0600), -EINVAL);
	assert_int_equal(util_write_file_atomic(tmpdir, NULL, "a", 1, 0600), -EINVAL);
	assert_int_equal(util_write_file_atomic(tmpdir, "", "a", 1, 0600), -EINVAL);
	assert_int_equal(util_write_file_atomic(tmpdir, "a/b", "a", 1, 0600), -EINVAL);
	assert_int_equal(util_write_file_atomic(tmpdir, "..", "a", 1, 0600), -EINVAL);
	assert_int_equal(util_write_file_atomic(tmpdir, "x", NULL, 1, 0600), -EINVAL);
	p = path_in("nodir");
	assert_int_equal(util_write_file_atomic(p, "x", "a", 1, 0600), -ENOENT);
	free(p);
	put_file("plain", "x");
	p = path_in("plain");
	assert_int_equal(util_write_file_atomic(p, "x", "a", 1, 0600), -ENOTDIR);
	free(p);
	{
		char name[300];
		memset(name, 'n', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		assert_int_equal(util_write_file_atomic(tmpdir, name, "a", 1, 0600),
				 -ENAMETOOLONG);
	}
}

static void
test_write_atomic_enospc(void **state)
{
	char *data;

	(void)state;
	assert_int_equal(util_write_file_atomic(tmpdir, "s", "old", 3, 0600), 0);
	inj.armed = true;
	inj.write_errno = ENOSPC;
	assert_int_equal(util_write_file_atomic(tmpdir, "s", "new content", 11, 0600),
			 -ENOSPC);
	memset(&inj, 0, sizeof(inj));
	data = get_file("s");
	assert_string_equal(data, "old");
	free(data);
	assert_false(exists(".s.tmp"));

	/* fsync failure (EIO) surfaces and leaves the old file */
	inj.armed = true;
	inj.fsync_errno = EIO;
	assert_int_equal(util_write_file_atomic(tmpdir, "s", "new content", 11, 0600), -EIO);
	memset(&inj, 0, sizeof(inj));
	data = get_file("s");
	assert_string_equal(data, "old");
	free(data);
	assert_false(exists(".s.tmp"));
}

static void
test_write_atomic_short_eintr(void **state)
{
	char payload[10000], *data, *p;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (char)(i * 7);
	inj.armed = true;
	inj.short_max = 333;
	inj.eintr_left = 3;
	assert_int_equal(util_write_file_atomic(tmpdir, "s", payload, sizeof(payload), 0600),
			 0);
	/* 3 EINTR + ceil(10000/333) partial writes */
	assert_int_equal(inj.write_calls, 3 + 31);
	memset(&inj, 0, sizeof(inj));
	p = path_in("s");
	assert_int_equal(util_read_file(p, sizeof(payload), 0, &data, &len), 0);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(data, payload, sizeof(payload));
	free(data);
	free(p);
}

/*
 * The temporary file cannot be created. Root ignores directory modes, so
 * the case every uid can run uses the fd limit instead: with the limit set
 * just above the lowest free descriptor, the directory still opens but the
 * temporary file does not. (No skip(): cmocka 1.1.5 reports skips as
 * "not ok", which automake's TAP driver counts as failures.)
 */
static void
test_write_atomic_cannot_create(void **state)
{
	struct rlimit old, lim;
	char *p, *data;
	int lowest, r;

	(void)state;
	assert_int_equal(util_write_file_atomic(tmpdir, "s", "old", 3, 0600), 0);
	lowest = dup(0);
	assert_true(lowest >= 0);
	close(lowest);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	lim = old;
	lim.rlim_cur = (rlim_t)lowest + 1;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	r = util_write_file_atomic(tmpdir, "s", "new", 3, 0600);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(r, -EMFILE);
	data = get_file("s");
	assert_string_equal(data, "old");
	free(data);
	assert_false(exists(".s.tmp"));

	/* a stale "temporary file" that cannot be removed (a directory) */
	p = path_in(".s.tmp");
	assert_int_equal(mkdir(p, 0700), 0);
	free(p);
	put_file(".s.tmp/inside", "x");
	r = util_write_file_atomic(tmpdir, "s", "new", 3, 0600);
	assert_true(r == -EISDIR || r == -EPERM);
	data = get_file("s");
	assert_string_equal(data, "old");
	free(data);

	if (geteuid() != 0) {
		p = path_in("ro");
		assert_int_equal(mkdir(p, 0500), 0);
		assert_int_equal(util_write_file_atomic(p, "x", "a", 1, 0600), -EACCES);
		free(p);
	}
}

/* ---- encodings ------------------------------------------------------- */

static void
test_hex(void **state)
{
	unsigned char in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
	char out[11];

	(void)state;
	util_hex(in, sizeof(in), out);
	assert_string_equal(out, "0001abff7f");
	util_hex(in, 0, out);
	assert_string_equal(out, "");
}

static void
test_clocks(void **state)
{
	int64_t a, b;
	time_t now;

	(void)state;
	a = util_now_mono_ms();
	b = util_now_mono_ms();
	assert_true(b >= a);
	now = util_now();
	assert_true(now > 1700000000);
}

static void
test_urlencode(void **state)
{
	char *s = util_urlencode("https://vault.azure.net/.default a+b=c&d~_-.");

	(void)state;
	assert_string_equal(s, "https%3A%2F%2Fvault.azure.net%2F.default%20a%2Bb%3Dc%26d~_-.");
	free(s);
	s = util_urlencode("");
	assert_string_equal(s, "");
	free(s);
	s = util_urlencode("\xc3\xa9");
	assert_string_equal(s, "%C3%A9");
	free(s);
}

static void
test_private_dir(void **state)
{
	char why[512], *d = path_in("state"), *l = path_in("state-link"), *m = path_in("nope");

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(util_check_private_dir(d, why, sizeof(why)), 0);
	/* writable by others */
	assert_int_equal(chmod(d, 0777), 0);
	assert_int_equal(util_check_private_dir(d, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "writable by everyone (mode 0777): chmod 0700 it"));
	assert_int_equal(chmod(d, 0770), 0);
	assert_int_equal(util_check_private_dir(d, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "writable by its group"));
	assert_int_equal(chmod(d, 0755), 0); /* readable is fine */
	assert_int_equal(util_check_private_dir(d, why, sizeof(why)), 0);
	/* someone else's */
	if (geteuid() == 0) {
		assert_int_equal(chown(d, 4242, 4242), 0);
		assert_int_equal(util_check_private_dir(d, why, sizeof(why)), -EPERM);
		assert_non_null(strstr(why, "owned by uid 4242, not by kmswatchd's uid 0"));
		assert_int_equal(chown(d, 0, 0), 0);
	}
	/* a symbolic link: only root's (systemd's StateDirectory= makes one) */
	assert_int_equal(symlink(d, l), 0);
	if (geteuid() == 0) {
		assert_int_equal(util_check_private_dir(l, why, sizeof(why)), 0);
		assert_int_equal(lchown(l, 4242, 4242), 0);
	}
	assert_int_equal(util_check_private_dir(l, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "is a symbolic link owned by uid"));
	assert_int_equal(util_check_private_dir(m, why, sizeof(why)), -ENOENT);
	free(d);
	free(l);
	free(m);
}

/* Equal strings share one copy; distinct ones (a prefix, the empty
 * string) stay distinct; the copy does not alias the caller's buffer. */
static void
test_strpool(void **state)
{
	struct strpool p = {0};
	char buf[32];
	const char *a, *b, *c, *e;

	(void)state;
	strcpy(buf, "key is valid");
	a = strpool_intern(&p, buf);
	assert_non_null(a);
	assert_ptr_not_equal(a, buf);
	strcpy(buf, "overwritten");
	assert_string_equal(a, "key is valid");
	b = strpool_intern(&p, "key is valid");
	assert_ptr_equal(a, b);
	c = strpool_intern(&p, "key is");
	assert_ptr_not_equal(c, a);
	assert_string_equal(c, "key is");
	e = strpool_intern(&p, "");
	assert_string_equal(e, "");
	assert_ptr_equal(e, strpool_intern(&p, ""));
	assert_int_equal(p.count, 3);
	strpool_free(&p);
	assert_int_equal(p.count, 0);
	assert_null(p.by_value);
}

/* Deadlines leave in order; equal ones in the order they were pushed;
 * removing from the middle and re-pushing keep the heap a heap (checked
 * against a sort of the same deadlines, over many pseudo-random steps). */
static void
test_timerheap(void **state)
{
	enum { N = 257 };
	static struct timerheap_node nodes[N];
	struct timerheap h = {0};
	uint64_t last_due = 0, last_seq = 0;
	unsigned x = 12345;
	size_t queued = 0;

	(void)state;
	assert_int_equal(timerheap_reserve(&h, N), 0);
	assert_null(timerheap_min(&h));
	for (size_t i = 0; i < N; i++)
		timerheap_node_init(&nodes[i]);
	/* equal deadlines: first in, first out */
	for (size_t i = 0; i < 5; i++)
		timerheap_push(&h, &nodes[i], 100);
	for (size_t i = 0; i < 5; i++) {
		assert_ptr_equal(timerheap_min(&h), &nodes[i]);
		timerheap_remove(&h, &nodes[i]);
		assert_false(timerheap_queued(&nodes[i]));
	}
	/* random pushes, re-pushes and removals */
	for (int step = 0; step < 20000; step++) {
		struct timerheap_node *n;

		x = x * 1103515245u + 12345u;
		n = &nodes[(x >> 8) % N];
		if ((x >> 20) % 3 == 0) {
			queued -= timerheap_queued(n);
			timerheap_remove(&h, n);
		} else {
			queued += !timerheap_queued(n);
			timerheap_push(&h, n, (x >> 4) % 64);
		}
		assert_int_equal(h.n, queued);
	}
	/* drain: non-decreasing (due, seq) */
	for (struct timerheap_node *n; (n = timerheap_min(&h));) {
		assert_true(n->due > last_due || (n->due == last_due && n->seq >= last_seq));
		last_due = n->due;
		last_seq = n->seq;
		timerheap_remove(&h, n);
		queued--;
	}
	assert_int_equal(queued, 0);
	timerheap_release(&h, N);
	assert_int_equal(h.reserved, 0);
	timerheap_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urlencode),
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_time_valid),
		cmocka_unit_test(test_time_invalid),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_strbuf_basic),
		cmocka_unit_test(test_strbuf_growth),
		cmocka_unit_test(test_string_helpers),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test_setup_teardown(test_read_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_private_dir, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_read_file_large, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic_bad_args, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic_enospc, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic_short_eintr, setup_dir,
						teardown_dir),
		cmocka_unit_test_setup_teardown(test_write_atomic_cannot_create, setup_dir,
						teardown_dir),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_strpool),
		cmocka_unit_test(test_timerheap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
