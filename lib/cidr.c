/* SPDX-License-Identifier: ISC */
/*
 * cidr — IPv4/IPv6 ranges: the strict text parser, RFC 5952 formatting,
 * containment and the union-coverage difference used by azure.allowlist.
 * The parser is written out rather than delegated to inet_pton because
 * libcs disagree on the edge cases (leading zeros, shortened IPv4) and the
 * policy in cidr.h must hold the same everywhere. Arithmetic is done on
 * byte arrays so that no 128-bit integer type is needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "util.h"

static size_t
alen(uint8_t family)
{
	return family == CIDR_V4 ? 4 : 16;
}

static unsigned
maxprefix(uint8_t family)
{
	return family == CIDR_V4 ? 32 : 128;
}

/* ---- parsing --------------------------------------------------------- */

/* Dotted-quad IPv4 in exactly [s, s + n). */
static int
parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t start = i;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return -EINVAL;
			start = ++i;
		}
		while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255)
			return -EINVAL;
		if (s[start] == '0' && i - start > 1)
			return -EINVAL; /* leading zero: octal or decimal? */
		out[part] = (uint8_t)v;
	}
	return i == n ? 0 : -EINVAL;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4291 section 2.2 text forms in exactly [s, s + n). */
static int
parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t groups[8];
	size_t ng = 0, i = 0;
	long dc = -1; /* group index where "::" stands */

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		dc = 0;
		i = 2;
	} else if (n >= 1 && s[0] == ':') {
		return -EINVAL;
	}
	while (i < n) {
		size_t j = i;
		bool dotted = false;

		while (j < n && s[j] != ':') {
			if (s[j] == '.')
				dotted = true;
			j++;
		}
		if (dotted) {
			uint8_t v4[4];

			/* an embedded IPv4 address ends the text and fills
			 * the last two groups */
			if (j != n || ng > 6 || parse_v4(s + i, j - i, v4) < 0)
				return -EINVAL;
			groups[ng++] = (uint16_t)(v4[0] << 8 | v4[1]);
			groups[ng++] = (uint16_t)(v4[2] << 8 | v4[3]);
			i = j;
			break;
		}
		if (j == i || j - i > 4 || ng == 8)
			return -EINVAL;
		groups[ng] = 0;
		for (size_t k = i; k < j; k++) {
			int h = hexval(s[k]);

			if (h < 0)
				return -EINVAL;
			groups[ng] = (uint16_t)(groups[ng] << 4 | (unsigned)h);
		}
		ng++;
		i = j;
		if (i == n)
			break;
		/* s[i] == ':' */
		if (i + 1 < n && s[i + 1] == ':') {
			if (dc >= 0)
				return -EINVAL; /* a second "::" */
			dc = (long)ng;
			i += 2;
		} else if (++i == n) {
			return -EINVAL; /* a trailing single ':' */
		}
	}
	if (dc < 0 ? ng != 8 : ng > 7)
		return -EINVAL; /* "::" stands for at least one group */
	memset(out, 0, 16);
	for (size_t g = 0, pos = 0; g < ng; g++, pos++) {
		if (dc >= 0 && g == (size_t)dc)
			pos += 8 - ng;
		out[2 * pos] = (uint8_t)(groups[g] >> 8);
		out[2 * pos + 1] = (uint8_t)groups[g];
	}
	return 0;
}

/* Clears the host bits of c; true when some were set. */
static bool
mask_host_bits(struct cidr *c)
{
	bool had = false;

	for (size_t i = 0; i < alen(c->family); i++) {
		unsigned keep = c->prefix >= 8 * (i + 1) ? 8
				: c->prefix > 8 * i   ? c->prefix - 8 * (unsigned)i
						      : 0;
		uint8_t mask = keep == 0 ? 0 : (uint8_t)(0xff << (8 - keep));

		if (c->addr[i] & (uint8_t)~mask)
			had = true;
		c->addr[i] &= mask;
	}
	return had;
}

int
cidr_parse(const char *s, struct cidr *out, unsigned *flags)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	struct cidr c;
	const char *slash;
	size_t n;
	unsigned f = 0, prefix;

	if (s == NULL || out == NULL || *s == '\0')
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	/* the longest IPv6 text is 45 characters; anything longer is junk,
	 * and the bound keeps the work per call small */
	if (n == 0 || n > 45)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	if (memchr(s, ':', n) != NULL) {
		c.family = CIDR_V6;
		if (parse_v6(s, n, c.addr) < 0)
			return -EINVAL;
	} else {
		c.family = CIDR_V4;
		if (parse_v4(s, n, c.addr) < 0)
			return -EINVAL;
	}
	if (slash == NULL) {
		prefix = maxprefix(c.family);
		f |= CIDR_F_BARE;
	} else {
		const char *p = slash + 1;

		prefix = 0;
		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0'))
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++) {
			prefix = prefix * 10 + (unsigned)(*p - '0');
			if (prefix > 128)
				return -EINVAL;
		}
		if (*p != '\0' || prefix > maxprefix(c.family))
			return -EINVAL;
	}
	c.prefix = (uint8_t)prefix;
	if (c.family == CIDR_V6 && prefix >= 96 && memcmp(c.addr, mapped, 12) == 0) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = CIDR_V4;
		c.prefix = (uint8_t)(prefix - 96);
		f |= CIDR_F_MAPPED;
	}
	if (mask_host_bits(&c))
		f |= CIDR_F_HOST_BITS;
	*out = c;
	if (flags != NULL)
		*flags = f;
	return 0;
}

/* ---- formatting ------------------------------------------------------ */

int
cidr_format(const struct cidr *c, char *buf, size_t len)
{
	char tmp[CIDR_STRLEN];
	size_t off = 0;

	if (buf == NULL || len == 0)
		return -EINVAL;
	buf[0] = '\0';
	if (c == NULL || (c->family != CIDR_V4 && c->family != CIDR_V6) ||
	    c->prefix > maxprefix(c->family))
		return -EINVAL;
	if (c->family == CIDR_V4) {
		off = (size_t)snprintf(tmp, sizeof(tmp), "%u.%u.%u.%u", c->addr[0], c->addr[1],
				       c->addr[2], c->addr[3]);
	} else {
		unsigned g[8];
		int best = -1, bestlen = 0;

		for (int i = 0; i < 8; i++)
			g[i] = (unsigned)c->addr[2 * i] << 8 | c->addr[2 * i + 1];
		/* RFC 5952 4.2: the longest run of two or more zero groups,
		 * the first one on a tie */
		for (int i = 0; i < 8;) {
			int j = i;

			while (j < 8 && g[j] == 0)
				j++;
			if (j - i > bestlen && j - i >= 2) {
				best = i;
				bestlen = j - i;
			}
			i = j > i ? j : i + 1;
		}
		for (int i = 0; i < 8; i++) {
			if (i == best) {
				off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "::");
				i += bestlen - 1;
				continue;
			}
			off += (size_t)snprintf(tmp + off, sizeof(tmp) - off, "%s%x",
						off > 0 && tmp[off - 1] != ':' ? ":" : "", g[i]);
		}
	}
	snprintf(tmp + off, sizeof(tmp) - off, "/%u", c->prefix);
	if (strlen(tmp) >= len)
		return -ENOSPC;
	memcpy(buf, tmp, strlen(tmp) + 1);
	return 0;
}

int
cidr_canonical(const char *s, char *buf, size_t len)
{
	struct cidr c;
	int r;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	r = cidr_parse(s, &c, NULL);
	return r < 0 ? r : cidr_format(&c, buf, len);
}

/* ---- comparisons ----------------------------------------------------- */

int
cidr_cmp(const struct cidr *a, const struct cidr *b)
{
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->addr, b->addr, alen(a->family));
	if (r != 0)
		return r < 0 ? -1 : 1;
	return a->prefix < b->prefix ? -1 : a->prefix > b->prefix ? 1 : 0;
}

/* Whether a and b agree on their first `bits` bits. */
static bool
same_prefix(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	size_t whole = bits / 8;
	unsigned rest = bits % 8;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* A struct that did not come from cidr_parse (zeroed, corrupted) must not
 * contain or overlap anything. */
static bool
valid(const struct cidr *c)
{
	return c != NULL && (c->family == CIDR_V4 || c->family == CIDR_V6) &&
	       c->prefix <= maxprefix(c->family);
}

bool
cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
	if (!valid(outer) || !valid(inner) || outer->family != inner->family ||
	    outer->prefix > inner->prefix)
		return false;
	return same_prefix(outer->addr, inner->addr, outer->prefix);
}

bool
cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	if (!valid(a) || !valid(b) || a->family != b->family)
		return false;
	/* two prefixes either nest or are disjoint */
	return same_prefix(a->addr, b->addr, a->prefix < b->prefix ? a->prefix : b->prefix);
}

/* ---- union coverage -------------------------------------------------- */

/* An inclusive address interval [lo, hi] of one family. */
struct ival {
	uint8_t family;
	uint8_t lo[16], hi[16];
};

static void
to_ival(const struct cidr *c, struct ival *v)
{
	memset(v, 0, sizeof(*v));
	v->family = c->family;
	memcpy(v->lo, c->addr, 16);
	memcpy(v->hi, c->addr, 16);
	for (size_t i = 0; i < alen(c->family); i++) {
		unsigned keep = c->prefix >= 8 * (i + 1) ? 8
				: c->prefix > 8 * i   ? c->prefix - 8 * (unsigned)i
						      : 0;

		v->hi[i] |= keep == 0 ? 0xff : (uint8_t)(0xff >> keep);
	}
}

static int
ival_cmp(const void *pa, const void *pb)
{
	const struct ival *a = pa, *b = pb;
	int r;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	r = memcmp(a->lo, b->lo, alen(a->family));
	return r < 0 ? -1 : r > 0;
}

/* x + 1 into out; false when x is the last address (no successor). */
static bool
successor(const uint8_t *x, uint8_t family, uint8_t *out)
{
	size_t n = alen(family);

	memcpy(out, x, 16);
	for (size_t i = n; i-- > 0;) {
		if (++out[i] != 0)
			return true;
	}
	return false;
}

/* Sorts v and merges overlapping and adjacent intervals in place, so that
 * afterwards a range is covered by the union iff one interval covers it. */
static size_t
merge_ivals(struct ival *v, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), ival_cmp);
	for (size_t i = 1; i < n; i++) {
		struct ival *cur = &v[out];
		uint8_t next[16];
		size_t len = alen(cur->family);

		if (v[i].family == cur->family &&
		    (!successor(cur->hi, cur->family, next) || memcmp(v[i].lo, next, len) <= 0)) {
			if (memcmp(v[i].hi, cur->hi, len) > 0)
				memcpy(cur->hi, v[i].hi, 16);
			continue;
		}
		v[++out] = v[i];
	}
	return out + 1;
}

static bool
covered(const struct ival *merged, size_t n, const struct cidr *c)
{
	struct ival r;
	size_t len = alen(c->family);

	to_ival(c, &r);
	for (size_t i = 0; i < n; i++)
		if (merged[i].family == r.family && memcmp(merged[i].lo, r.lo, len) <= 0 &&
		    memcmp(merged[i].hi, r.hi, len) >= 0)
			return true;
	return false;
}

static int
cidr_qcmp(const void *a, const void *b)
{
	return cidr_cmp(a, b);
}

int
cidr_uncovered(const struct cidr *required, size_t nreq, const struct cidr *allowed,
	       size_t nallow, struct cidr **missing, size_t *nmissing)
{
	struct ival *iv = NULL;
	struct cidr *m = NULL;
	size_t nm = 0, nmerged = 0;

	if (missing == NULL || nmissing == NULL || (required == NULL && nreq > 0) ||
	    (allowed == NULL && nallow > 0))
		return -EINVAL;
	*missing = NULL;
	*nmissing = 0;
	if (nreq == 0)
		return 0;
	if (nallow > 0) {
		iv = calloc(nallow, sizeof(*iv));
		if (iv == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < nallow; i++)
			to_ival(&allowed[i], &iv[i]);
		nmerged = merge_ivals(iv, nallow);
	}
	m = calloc(nreq, sizeof(*m));
	if (m == NULL) {
		free(iv);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nreq; i++)
		if (!covered(iv, nmerged, &required[i]))
			m[nm++] = required[i];
	free(iv);
	if (nm == 0) {
		free(m);
		return 0;
	}
	qsort(m, nm, sizeof(*m), cidr_qcmp);
	{
		size_t w = 1;

		for (size_t i = 1; i < nm; i++)
			if (cidr_cmp(&m[i], &m[w - 1]) != 0)
				m[w++] = m[i];
		nm = w;
	}
	*missing = m;
	*nmissing = nm;
	return 0;
}

int
cidr_join(const struct cidr *v, size_t n, const char *sep, char **out)
{
	struct strbuf b = {0};
	char one[CIDR_STRLEN];
	int r = 0;

	if (out == NULL || sep == NULL || (v == NULL && n > 0))
		return -EINVAL;
	*out = NULL;
	r = strbuf_puts(&b, "");
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = cidr_format(&v[i], one, sizeof(one));
		if (r == 0)
			r = strbuf_printf(&b, "%s%s", i ? sep : "", one);
	}
	if (r < 0) {
		strbuf_free(&b);
		return r;
	}
	*out = b.s;
	return 0;
}
