/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/cidr.c: the strict text policy (every accepted and
 * refused form of cidr.h), canonical RFC 5952 formatting, containment,
 * overlap, and union coverage, the latter also against a brute-force
 * bitmap oracle over random small address spaces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

static struct cidr
P(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, &c, NULL) != 0)
		fail_msg("test CIDR does not parse: %s", s);
	return c;
}

static void
assert_canon(const char *in, const char *want)
{
	char buf[CIDR_STRLEN];
	int r = cidr_canonical(in, buf, sizeof(buf));

	if (r != 0)
		fail_msg("\"%s\" should parse (got %d)", in, r);
	if (strcmp(buf, want) != 0)
		fail_msg("\"%s\" -> \"%s\", want \"%s\"", in, buf, want);
}

static void
assert_bad(const char *in)
{
	struct cidr c = {.family = 99};

	if (cidr_parse(in, &c, NULL) != -EINVAL)
		fail_msg("\"%s\" should be refused", in ? in : "(null)");
	assert_int_equal(c.family, 99); /* untouched on error */
}

/* ---- parsing --------------------------------------------------------- */

static void
test_v4_valid(void **state)
{
	struct cidr c;
	unsigned f;

	(void)state;
	assert_int_equal(cidr_parse("1.2.3.4", &c, &f), 0);
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(f, CIDR_F_BARE);
	assert_canon("1.2.3.4", "1.2.3.4/32");
	assert_canon("0.0.0.0/0", "0.0.0.0/0");
	assert_canon("0.0.0.0", "0.0.0.0/32");
	assert_canon("255.255.255.255/32", "255.255.255.255/32");
	assert_canon("192.168.1.0/24", "192.168.1.0/24");
	assert_canon("124.56.78.91/32", "124.56.78.91/32");
	assert_canon("10.0.0.0/8", "10.0.0.0/8");
	assert_canon("0.0.0.0/1", "0.0.0.0/1");
	assert_canon("200.0.0.0/1", "128.0.0.0/1");
	/* flags may be NULL */
	assert_int_equal(cidr_parse("1.2.3.4/24", &c, NULL), 0);
}

static void
test_v4_host_bits(void **state)
{
	struct cidr c;
	unsigned f;

	(void)state;
	/* kept as the network a firewall rule means, and said so */
	assert_int_equal(cidr_parse("10.0.0.1/8", &c, &f), 0);
	assert_int_equal(f, CIDR_F_HOST_BITS);
	assert_canon("10.0.0.1/8", "10.0.0.0/8");
	assert_canon("10.1.2.3/16", "10.1.0.0/16");
	assert_canon("10.1.2.3/0", "0.0.0.0/0");
	assert_canon("192.168.1.255/31", "192.168.1.254/31");
	assert_canon("192.168.1.255/25", "192.168.1.128/25");
	assert_int_equal(cidr_parse("10.0.0.0/8", &c, &f), 0);
	assert_int_equal(f, 0);
	/* and containment works on the masked value */
	assert_false(cidr_contains(&(struct cidr){0}, &(struct cidr){0}));
	assert_false(cidr_overlaps(&(struct cidr){0}, &(struct cidr){0}));
	{
		struct cidr outer = P("10.0.0.1/8"), inner = P("10.200.1.1");

		assert_true(cidr_contains(&outer, &inner));
	}
}

static void
test_v4_malformed(void **state)
{
	(void)state;
	assert_bad(NULL);
	assert_bad("");
	assert_bad("1.2.3.4/33");
	assert_bad("1.2.3.4/100");
	assert_bad("1.2.3.4/1000000000000000000000");
	assert_bad("1.2.3");
	assert_bad("1.2");
	assert_bad("1");
	assert_bad("1.2.3.4.5");
	assert_bad("256.1.1.1");
	assert_bad("1.2.3.256");
	assert_bad("1234.1.1.1");
	assert_bad("1..2.3");
	assert_bad(".1.2.3");
	assert_bad("1.2.3.");
	assert_bad("1.2.3.4.");
	assert_bad("a.b.c.d");
	assert_bad("0x1.2.3.4");
	assert_bad("1.2.3.4/");
	assert_bad("/24");
	assert_bad("1.2.3.4/-1");
	assert_bad("1.2.3.4/+8");
	assert_bad("1.2.3.4/8/8");
	assert_bad("1.2.3.4/8a");
	assert_bad("1.2.3.4%eth0");
	/* leading zeros: octal to inet_aton, decimal to others */
	assert_bad("01.2.3.4");
	assert_bad("1.2.3.04");
	assert_bad("1.2.3.00");
	assert_bad("010.0.0.1");
	assert_bad("1.2.3.4/08");
	assert_bad("1.2.3.4/00");
	/* whitespace anywhere */
	assert_bad(" 1.2.3.4");
	assert_bad("1.2.3.4 ");
	assert_bad("1.2.3.4\n");
	assert_bad("1.2.3.4/ 8");
	assert_bad("1.2.3.4 /8");
	assert_bad("1.2. 3.4");
	assert_bad("\t1.2.3.4");
	assert_bad("1.2.3.4/8 ");
}

static void
test_v6_valid(void **state)
{
	struct cidr c;
	unsigned f;

	(void)state;
	assert_int_equal(cidr_parse("::1", &c, &f), 0);
	assert_int_equal(c.family, CIDR_V6);
	assert_int_equal(c.prefix, 128);
	assert_int_equal(f, CIDR_F_BARE);
	assert_canon("::1", "::1/128");
	assert_canon("::", "::/128");
	assert_canon("::/0", "::/0");
	assert_canon("2001:db8::/32", "2001:db8::/32");
	assert_canon("2001:DB8::1", "2001:db8::1/128");
	assert_canon("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128");
	assert_canon("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1/128");
	assert_canon("fe80::1:2:3:4:5:6", "fe80:0:1:2:3:4:5:6/128");
	assert_canon("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0/128");
	assert_canon("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8/128");
	assert_canon("1::", "1::/128");
	assert_canon("1:0:0:2:0:0:0:3", "1:0:0:2::3/128");
	/* RFC 5952 4.2.3: the first of equally long runs */
	assert_canon("1:0:0:2:0:0:3:4", "1::2:0:0:3:4/128");
	/* RFC 5952 4.2.2: a single zero group is not compressed */
	assert_canon("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7/128");
	assert_canon("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_canon("2001:db8::1/64", "2001:db8::/64");
	assert_canon("2001:db8::ff/127", "2001:db8::fe/127");
	/* IPv4-compatible (deprecated) stays IPv6 */
	assert_canon("::1.2.3.4", "::102:304/128");
	assert_canon("64:ff9b::1.2.3.4", "64:ff9b::102:304/128");
	assert_canon("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304/128");
	assert_int_equal(cidr_parse("2001:db8::1/64", &c, &f), 0);
	assert_int_equal(f, CIDR_F_HOST_BITS);
}

static void
test_v6_mapped(void **state)
{
	struct cidr c;
	unsigned f;

	(void)state;
	/* an IPv4-mapped address is the IPv4 address it denotes */
	assert_int_equal(cidr_parse("::ffff:1.2.3.4", &c, &f), 0);
	assert_int_equal(c.family, CIDR_V4);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(f, CIDR_F_MAPPED | CIDR_F_BARE);
	assert_canon("::ffff:1.2.3.4", "1.2.3.4/32");
	assert_canon("::FFFF:1.2.3.4", "1.2.3.4/32");
	assert_canon("::ffff:102:304", "1.2.3.4/32");
	assert_canon("0:0:0:0:0:ffff:1.2.3.4", "1.2.3.4/32");
	assert_canon("::ffff:1.2.3.4/120", "1.2.3.0/24");
	assert_canon("::ffff:0:0/96", "0.0.0.0/0");
	assert_int_equal(cidr_parse("::ffff:1.2.3.5/127", &c, &f), 0);
	assert_int_equal(f, CIDR_F_MAPPED | CIDR_F_HOST_BITS);
	/* below /96 the range holds non-mapped addresses: it stays IPv6 */
	assert_canon("::ffff:0:0/95", "::fffe:0:0/95");
	assert_int_equal(cidr_parse("::ffff:0:0/95", &c, NULL), 0);
	assert_int_equal(c.family, CIDR_V6);
	/* and the mapped form therefore matches IPv4 rules */
	{
		struct cidr net = P("1.2.3.0/24"), m = P("::ffff:1.2.3.99");

		assert_true(cidr_contains(&net, &m));
	}
}

static void
test_v6_malformed(void **state)
{
	(void)state;
	assert_bad("::1/129");
	assert_bad("::/200");
	assert_bad("::1/");
	assert_bad("::1/01");
	assert_bad(":::1");
	assert_bad(":::");
	assert_bad("1:::2");
	assert_bad("1::2::3");
	assert_bad("::1::");
	assert_bad("1:2:3:4:5:6:7:8:9");
	assert_bad("1:2:3:4:5:6:7");
	assert_bad("1:2:3:4:5:6:7:8::");
	assert_bad("::1:2:3:4:5:6:7:8");
	assert_bad(":1:2:3:4:5:6:7");
	assert_bad("1:2:3:4:5:6:7:");
	assert_bad("1:");
	assert_bad(":1");
	assert_bad(":");
	assert_bad("12345::");
	assert_bad("g::");
	assert_bad("fe80::1%eth0");
	assert_bad("fe80::1%1");
	assert_bad("[::1]");
	assert_bad(" ::1");
	assert_bad("::1 ");
	assert_bad(":: 1");
	assert_bad("::ffff:1.2.3");
	assert_bad("::ffff:01.2.3.4");
	assert_bad("::ffff:1.2.3.256");
	assert_bad("1.2.3.4::");
	assert_bad("::1.2.3.4:5");
	assert_bad("1:2:3:4:5:6:7:1.2.3.4");
	assert_bad("1:2:3:4:5:6:7:8/1.2");
	assert_bad("1.2.3.4:80");
	assert_bad("0000000000000000000000000000000000000000000000::1");
	assert_bad("2001:db8::/-1");
}

/* ---- formatting ------------------------------------------------------ */

static void
test_format(void **state)
{
	struct cidr c = P("2001:db8::/32");
	char small[8], buf[CIDR_STRLEN];

	(void)state;
	assert_int_equal(cidr_format(&c, small, sizeof(small)), -ENOSPC);
	assert_string_equal(small, "");
	assert_int_equal(cidr_format(&c, buf, 14), 0); /* "2001:db8::/32" + NUL */
	assert_string_equal(buf, "2001:db8::/32");
	assert_int_equal(cidr_format(&c, buf, 13), -ENOSPC);
	assert_int_equal(cidr_format(NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cidr_format(&c, NULL, 10), -EINVAL);
	assert_int_equal(cidr_format(&c, buf, 0), -EINVAL);
	c.family = 5;
	assert_int_equal(cidr_format(&c, buf, sizeof(buf)), -EINVAL);
	c = P("1.2.3.4");
	c.prefix = 33;
	assert_int_equal(cidr_format(&c, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(cidr_canonical("junk", buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "");
	/* every canonical text parses back to itself */
	{
		static const char *texts[] = {"0.0.0.0/0", "1.2.3.4/32", "::/0", "::1/128",
					      "1::/16", "1:0:0:2::3/128", "fe80::/10",
					      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"};

		for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
			assert_canon(texts[i], texts[i]);
	}
}

/* ---- comparisons ----------------------------------------------------- */

static void
test_cmp(void **state)
{
	struct cidr a = P("10.0.0.0/8"), b = P("10.0.0.0/16"), c = P("9.0.0.0/8"),
		    d = P("::/0"), e = P("10.0.0.1/8");

	(void)state;
	assert_true(cidr_cmp(&a, &b) < 0); /* shorter prefix first */
	assert_true(cidr_cmp(&b, &a) > 0);
	assert_true(cidr_cmp(&c, &a) < 0);
	assert_true(cidr_cmp(&a, &d) < 0); /* IPv4 before IPv6 */
	assert_true(cidr_cmp(&d, &a) > 0);
	assert_int_equal(cidr_cmp(&a, &e), 0); /* host bits do not matter */
}

static void
test_contains(void **state)
{
	struct cidr v4all = P("0.0.0.0/0"), v6all = P("::/0"), ten = P("10.0.0.0/8"),
		    host = P("10.1.2.3"), other = P("11.0.0.0"), s16 = P("10.1.0.0/16"),
		    v6net = P("2001:db8::/32"), v6host = P("2001:db8:1::5"),
		    v6other = P("2001:db9::1"), max4 = P("255.255.255.255"),
		    max6 = P("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	(void)state;
	assert_true(cidr_contains(&ten, &host));
	assert_true(cidr_contains(&ten, &s16));
	assert_false(cidr_contains(&s16, &ten));
	assert_false(cidr_contains(&ten, &other));
	assert_true(cidr_contains(&ten, &ten));
	assert_true(cidr_contains(&host, &host)); /* a /32 contains itself */
	assert_true(cidr_contains(&v4all, &ten));
	assert_true(cidr_contains(&v4all, &max4));
	assert_true(cidr_contains(&v6all, &v6host));
	assert_true(cidr_contains(&v6all, &max6));
	assert_true(cidr_contains(&v6net, &v6host));
	assert_false(cidr_contains(&v6net, &v6other));
	/* families never mix, not even /0 */
	assert_false(cidr_contains(&v4all, &v6host));
	assert_false(cidr_contains(&v6all, &host));
	assert_false(cidr_contains(&v6all, &v4all));
	assert_false(cidr_contains(NULL, &host));
	assert_false(cidr_contains(&host, NULL));
	/* prefix boundaries inside a byte */
	{
		struct cidr n = P("192.168.1.128/25"), in = P("192.168.1.200"),
			    out = P("192.168.1.127"), n6 = P("2001:db8::80/121"),
			    in6 = P("2001:db8::ff"), out6 = P("2001:db8::7f");

		assert_true(cidr_contains(&n, &in));
		assert_false(cidr_contains(&n, &out));
		assert_true(cidr_contains(&n6, &in6));
		assert_false(cidr_contains(&n6, &out6));
	}
}

static void
test_overlaps(void **state)
{
	struct cidr a = P("10.0.0.0/8"), b = P("10.5.0.0/16"), c = P("11.0.0.0/8"),
		    d = P("::/0"), e = P("0.0.0.0/0");

	(void)state;
	assert_true(cidr_overlaps(&a, &b));
	assert_true(cidr_overlaps(&b, &a));
	assert_false(cidr_overlaps(&a, &c));
	assert_true(cidr_overlaps(&e, &c));
	assert_false(cidr_overlaps(&d, &e));
	assert_false(cidr_overlaps(NULL, &a));
}

/* ---- union coverage -------------------------------------------------- */

/* Missing texts for required minus allowed, joined by ",". */
static char *
missing(const char *const *req, size_t nr, const char *const *allow, size_t na)
{
	struct cidr r[64], a[300], *m = NULL;
	size_t nm = 0;
	char *s = NULL;

	assert_true(nr <= 64 && na <= 300);
	for (size_t i = 0; i < nr; i++)
		r[i] = P(req[i]);
	for (size_t i = 0; i < na; i++)
		a[i] = P(allow[i]);
	assert_int_equal(cidr_uncovered(r, nr, a, na, &m, &nm), 0);
	assert_true(nm == 0 ? m == NULL : m != NULL);
	assert_int_equal(cidr_join(m, nm, ",", &s), 0);
	free(m);
	return s;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
assert_missing(const char *const *req, size_t nr, const char *const *allow, size_t na,
	       const char *want)
{
	char *got = missing(req, nr, allow, na);

	if (strcmp(got, want) != 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "missing \"%s\", want \"%s\"", got, want);
		free(got);
		fail_msg("%s", msg);
	}
	free(got);
}

static void
test_uncovered_basic(void **state)
{
	static const char *req[] = {"198.51.100.40/32", "198.51.100.41", "203.0.113.0/24"};
	static const char *allow1[] = {"198.51.100.0/24", "203.0.113.0/24"};
	static const char *allow2[] = {"198.51.100.40/32"};
	static const char *allow3[] = {"0.0.0.0/0"};
	static const char *allow4[] = {"::/0"};

	(void)state;
	assert_missing(req, N(req), allow1, N(allow1), "");
	assert_missing(req, N(req), allow2, N(allow2), "198.51.100.41/32,203.0.113.0/24");
	assert_missing(req, N(req), allow3, N(allow3), "");
	/* IPv6 /0 covers no IPv4 address */
	assert_missing(req, N(req), allow4, N(allow4),
		       "198.51.100.40/32,198.51.100.41/32,203.0.113.0/24");
	/* nothing allowed: everything missing, sorted */
	assert_missing(req, N(req), NULL, 0, "198.51.100.40/32,198.51.100.41/32,203.0.113.0/24");
	/* nothing required: nothing missing */
	assert_missing(NULL, 0, allow1, N(allow1), "");
}

static void
test_uncovered_union(void **state)
{
	static const char *req24[] = {"10.0.0.0/24"};
	static const char *two25[] = {"10.0.0.128/25", "10.0.0.0/25"};
	static const char *one25[] = {"10.0.0.0/25"};
	static const char *three[] = {"10.0.0.0/25", "10.0.0.192/26", "10.0.0.128/26"};
	static const char *gap[] = {"10.0.0.0/25", "10.0.0.192/26"};
	static const char *overlap[] = {"10.0.0.0/25", "10.0.0.64/26", "10.0.0.0/24"};
	static const char *req23[] = {"10.0.0.0/23"};
	static const char *two24[] = {"10.0.1.0/24", "10.0.0.0/24"};
	static const char *req22[] = {"10.0.0.0/22"};
	static const char *hole[] = {"10.0.0.0/24", "10.0.2.0/23"};
	static const char *wider[] = {"9.0.0.0/8", "10.0.0.0/25", "10.0.0.128/25", "11.0.0.0/8"};

	(void)state;
	/* a /24 covered by two /25s is covered, by one it is not */
	assert_missing(req24, 1, two25, N(two25), "");
	assert_missing(req24, 1, one25, 1, "10.0.0.0/24");
	assert_missing(req24, 1, three, N(three), "");
	assert_missing(req24, 1, gap, N(gap), "10.0.0.0/24");
	assert_missing(req24, 1, overlap, N(overlap), "");
	assert_missing(req23, 1, two24, N(two24), "");
	assert_missing(req22, 1, hole, N(hole), "10.0.0.0/22");
	assert_missing(req24, 1, wider, N(wider), "");
}

static void
test_uncovered_edges(void **state)
{
	static const char *all4[] = {"0.0.0.0/0"};
	static const char *halves4[] = {"128.0.0.0/1", "0.0.0.0/1"};
	static const char *top[] = {"255.255.255.254/31"};
	static const char *top_pieces[] = {"255.255.255.255", "255.255.255.254"};
	static const char *top_one[] = {"255.255.255.255"};
	static const char *all6[] = {"::/0"};
	static const char *halves6[] = {"8000::/1", "::/1"};
	static const char *low6[] = {"::/127"};
	static const char *low6_pieces[] = {"::1", "::"};
	static const char *max6[] = {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"};
	static const char *max6_pieces[] = {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
					    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"};
	static const char *zero32[] = {"0.0.0.0"};
	static const char *zero_pieces[] = {"0.0.0.0/32"};

	(void)state;
	/* /0 required and covered by two halves (the sweep's last address) */
	assert_missing(all4, 1, halves4, 2, "");
	assert_missing(all4, 1, halves4, 1, "0.0.0.0/0");
	assert_missing(all4, 1, all4, 1, "");
	assert_missing(top, 1, top_pieces, 2, "");
	assert_missing(top, 1, top_one, 1, "255.255.255.254/31");
	assert_missing(all6, 1, halves6, 2, "");
	assert_missing(all6, 1, halves6 + 1, 1, "::/0");
	assert_missing(low6, 1, low6_pieces, 2, "");
	assert_missing(low6, 1, low6_pieces, 1, "::/127");
	assert_missing(max6, 1, max6_pieces, 2, "");
	assert_missing(max6, 1, max6_pieces + 1, 1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	assert_missing(zero32, 1, zero_pieces, 1, "");
	/* /32 and /128 need an exact or wider rule */
	{
		static const char *r[] = {"203.0.113.5", "2001:db8::5"};
		static const char *a[] = {"203.0.113.5/32", "2001:db8::5/128"};
		static const char *b[] = {"203.0.113.4/32", "2001:db8::4/128"};

		assert_missing(r, 2, a, 2, "");
		assert_missing(r, 2, b, 2, "203.0.113.5/32,2001:db8::5/128");
	}
}

static void
test_uncovered_families(void **state)
{
	static const char *req[] = {"2001:db8::1", "1.2.3.4", "::ffff:5.6.7.8"};
	static const char *allow_v4[] = {"0.0.0.0/0"};
	static const char *allow_v6[] = {"2001:db8::/32"};
	static const char *allow_mapped[] = {"::ffff:1.2.3.0/120"};

	(void)state;
	/* the mapped required address is IPv4, so the v4 /0 covers it */
	assert_missing(req, N(req), allow_v4, 1, "2001:db8::1/128");
	assert_missing(req, N(req), allow_v6, 1, "1.2.3.4/32,5.6.7.8/32");
	assert_missing(req, N(req), allow_mapped, 1, "5.6.7.8/32,2001:db8::1/128");
}

static void
test_uncovered_duplicates_order(void **state)
{
	static const char *req[] = {"10.0.0.9", "10.0.0.1/32", "10.0.0.9/32",
				    "::1",      "10.0.0.1",    "9.9.9.9",
				    "10.0.0.0/24", "10.0.0.7/24"};

	(void)state;
	/* duplicates once (also when spelled differently), IPv4 first,
	 * ascending; a range and an address inside it are both reported */
	assert_missing(req, N(req), NULL, 0,
		       "9.9.9.9/32,10.0.0.0/24,10.0.0.1/32,10.0.0.9/32,::1/128");
}

static void
test_uncovered_many(void **state)
{
	static char texts[256][20];
	const char *allow[256], *req[] = {"10.9.8.0/24"};
	unsigned perm[256];

	(void)state;
	/* 256 /32s in scrambled order cover the /24; any one gone opens it */
	for (unsigned i = 0; i < 256; i++)
		perm[i] = (i * 97u + 13u) % 256u;
	for (unsigned i = 0; i < 256; i++) {
		snprintf(texts[i], sizeof(texts[i]), "10.9.8.%u", perm[i]);
		allow[i] = texts[i];
	}
	assert_missing(req, 1, allow, 256, "");
	assert_missing(req, 1, allow + 1, 255, "10.9.8.0/24");
	assert_missing(req, 1, allow, 255, "10.9.8.0/24");
}

static void
test_uncovered_args(void **state)
{
	struct cidr c = P("1.2.3.4"), *m = (struct cidr *)1;
	size_t n = 7;

	(void)state;
	assert_int_equal(cidr_uncovered(NULL, 1, &c, 1, &m, &n), -EINVAL);
	assert_int_equal(cidr_uncovered(&c, 1, NULL, 1, &m, &n), -EINVAL);
	assert_int_equal(cidr_uncovered(&c, 1, &c, 1, NULL, &n), -EINVAL);
	assert_int_equal(cidr_uncovered(&c, 1, &c, 1, &m, NULL), -EINVAL);
	assert_int_equal(cidr_uncovered(NULL, 0, NULL, 0, &m, &n), 0);
	assert_null(m);
	assert_int_equal(n, 0);
}

/* Brute force: a bitmap over the 256 addresses of 10.0.0.0/24 (and of
 * 2001:db8::/120) against cidr_uncovered for random rule sets. */
static uint32_t rng = 12345;

static uint32_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void
random_range(bool v6, char *buf, size_t len, unsigned *lo, unsigned *hi)
{
	unsigned plen = next_rand() % 9; /* host bits: /32../24 or /128../120 */
	unsigned base = next_rand() % 256 & ~((1u << plen) - 1);

	*lo = base;
	*hi = base + (1u << plen) - 1;
	if (v6)
		snprintf(buf, len, "2001:db8::%x/%u", base, 128 - plen);
	else
		snprintf(buf, len, "10.0.0.%u/%u", base, 32 - plen);
}

static void
test_uncovered_oracle(void **state)
{
	(void)state;
	for (int round = 0; round < 3000; round++) {
		bool v6 = round % 2 == 1;
		struct cidr req[6], allow[12], *m = NULL;
		unsigned rlo[6], rhi[6], lo, hi;
		bool bit[256] = {false};
		size_t nr = 1 + next_rand() % 6, na = next_rand() % 13, nm = 0, want = 0;
		char buf[48];

		if (na > 12)
			na = 12;
		for (size_t i = 0; i < na; i++) {
			random_range(v6, buf, sizeof(buf), &lo, &hi);
			allow[i] = P(buf);
			for (unsigned a = lo; a <= hi; a++)
				bit[a] = true;
		}
		for (size_t i = 0; i < nr; i++) {
			random_range(v6, buf, sizeof(buf), &rlo[i], &rhi[i]);
			req[i] = P(buf);
		}
		assert_int_equal(cidr_uncovered(req, nr, allow, na, &m, &nm), 0);
		for (size_t i = 0; i < nr; i++) {
			bool cov = true, dup = false, listed = false;

			for (unsigned a = rlo[i]; a <= rhi[i]; a++)
				cov = cov && bit[a];
			for (size_t j = 0; j < i; j++)
				dup = dup || cidr_cmp(&req[j], &req[i]) == 0;
			for (size_t j = 0; j < nm; j++)
				listed = listed || cidr_cmp(&m[j], &req[i]) == 0;
			if (listed == cov)
				fail_msg("round %d: required %zu covered=%d listed=%d", round, i,
					 cov, listed);
			want += !cov && !dup;
		}
		assert_int_equal(nm, want);
		for (size_t j = 1; j < nm; j++)
			assert_true(cidr_cmp(&m[j - 1], &m[j]) < 0);
		free(m);
	}
}

static void
test_join(void **state)
{
	struct cidr v[3] = {P("1.2.3.4"), P("::1"), P("10.0.0.0/8")};
	char *s = NULL;

	(void)state;
	assert_int_equal(cidr_join(v, 3, ", ", &s), 0);
	assert_string_equal(s, "1.2.3.4/32, ::1/128, 10.0.0.0/8");
	free(s);
	assert_int_equal(cidr_join(NULL, 0, ",", &s), 0);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(cidr_join(NULL, 1, ",", &s), -EINVAL);
	assert_int_equal(cidr_join(v, 1, NULL, &s), -EINVAL);
	assert_int_equal(cidr_join(v, 1, ",", NULL), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_valid),
		cmocka_unit_test(test_v4_host_bits),
		cmocka_unit_test(test_v4_malformed),
		cmocka_unit_test(test_v6_valid),
		cmocka_unit_test(test_v6_mapped),
		cmocka_unit_test(test_v6_malformed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_overlaps),
		cmocka_unit_test(test_uncovered_basic),
		cmocka_unit_test(test_uncovered_union),
		cmocka_unit_test(test_uncovered_edges),
		cmocka_unit_test(test_uncovered_families),
		cmocka_unit_test(test_uncovered_duplicates_order),
		cmocka_unit_test(test_uncovered_many),
		cmocka_unit_test(test_uncovered_args),
		cmocka_unit_test(test_uncovered_oracle),
		cmocka_unit_test(test_join),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
