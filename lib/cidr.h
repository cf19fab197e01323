/* SPDX-License-Identifier: ISC */
/*
 * cidr — IPv4/IPv6 address ranges as the allow-list checks need them:
 * strict parsing, canonical formatting, containment, and "which required
 * ranges does the union of the allowed ranges not cover". Pure functions;
 * the only allocations are the result lists they return.
 *
 * Text policy (the man page repeats it):
 * - "a.b.c.d", "a.b.c.d/n" (n 0..32), IPv6 in any RFC 4291 text form with
 *   an optional "/n" (n 0..128). A bare address is a /32 or a /128.
 * - Strict: no whitespace anywhere (not even around the value), no zone
 *   ("%eth0"), no leading zeros in an IPv4 octet or in a prefix length
 *   ("010.0.0.1" is octal to inet_aton and decimal to others: we refuse to
 *   guess), no empty prefix ("1.2.3.4/"), no shortened IPv4 ("1.2.3").
 * - Host bits are cleared: "10.0.0.1/8" is the network 10.0.0.0/8, as a
 *   firewall rule reads it, and formats that way. CIDR_F_HOST_BITS says
 *   they were set, for callers that want to mention it.
 * - An IPv4-mapped IPv6 range (::ffff:a.b.c.d, prefix >= 96) is read as
 *   the IPv4 range it denotes (prefix - 96): on the wire such a peer is an
 *   IPv4 address, and that is what a firewall rule must name. Every other
 *   IPv6 range (including the deprecated IPv4-compatible ::a.b.c.d) is
 *   IPv6, and IPv4 and IPv6 ranges never contain or cover each other.
 * - Canonical text: IPv4 dotted decimal, IPv6 per RFC 5952 (lower case,
 *   longest zero run compressed), always with the prefix: "10.0.0.0/8",
 *   "198.51.100.7/32", "2001:db8::/32".
 */
#ifndef KMSWATCH_CIDR_H
#define KMSWATCH_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cidr_family { CIDR_V4 = 4, CIDR_V6 = 6 };

struct cidr {
	uint8_t family;   /* enum cidr_family */
	uint8_t prefix;   /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network address, network byte order, host bits
			     zero; IPv4 uses addr[0..3], the rest stays zero */
};

/* Longest canonical text: a full IPv6 address and "/128", plus NUL. */
#define CIDR_STRLEN 48

#define CIDR_F_HOST_BITS 0x1u /* host bits were set and have been cleared */
#define CIDR_F_MAPPED 0x2u    /* an IPv4-mapped IPv6 form, read as IPv4 */
#define CIDR_F_BARE 0x4u      /* no "/n": a single address */

/* Parses s per the policy above. Returns 0, or -EINVAL (NULL, empty or
 * malformed text); *out is untouched on error. flags may be NULL. */
int cidr_parse(const char *s, struct cidr *out, unsigned *flags);
/* Canonical text into buf; -ENOSPC when it does not fit (buf then holds
 * ""), -EINVAL for a NULL or inconsistent struct. */
int cidr_format(const struct cidr *c, char *buf, size_t len);
/* cidr_parse then cidr_format: "10.0.0.1/8" -> "10.0.0.0/8". */
int cidr_canonical(const char *s, char *buf, size_t len);

/* Total order: IPv4 before IPv6, then by address, then shorter prefix
 * first. 0 means the same range. */
int cidr_cmp(const struct cidr *a, const struct cidr *b);
/* Whether every address of inner is in outer (same family only). */
bool cidr_contains(const struct cidr *outer, const struct cidr *inner);
/* Whether the two share at least one address (same family only). */
bool cidr_overlaps(const struct cidr *a, const struct cidr *b);

/*
 * The required ranges that the union of the allowed ranges does not fully
 * cover: a /24 covered by two allowed /25s is covered, one covered by a
 * single /25 is not. *missing (malloc'd, NULL when *nmissing is 0) holds
 * each uncovered required range once, sorted by cidr_cmp. Returns 0,
 * -EINVAL for NULL arguments with a non-zero count, -ENOMEM.
 */
int cidr_uncovered(const struct cidr *required, size_t nreq, const struct cidr *allowed,
		   size_t nallow, struct cidr **missing, size_t *nmissing);

/* Canonical texts joined by sep into a new string (caller frees); "" for
 * n == 0. Returns 0 or -ENOMEM / -EINVAL. */
int cidr_join(const struct cidr *v, size_t n, const char *sep, char **out);

#endif
