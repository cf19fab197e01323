/*
 * sha256 — SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 2104), used for webhook
 * signatures (Standard Webhooks) and for stable alert ids. Self-contained so
 * that kmswatch needs no crypto library of its own.
 */
#ifndef KMSWATCH_SHA256_H
#define KMSWATCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_BLOCK_LEN 64

struct sha256_ctx {
	uint32_t h[8];
	uint64_t total;
	unsigned char buf[SHA256_BLOCK_LEN];
	size_t buflen;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, unsigned char out[SHA256_DIGEST_LEN]);
void sha256(const void *data, size_t len, unsigned char out[SHA256_DIGEST_LEN]);

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		 unsigned char out[SHA256_DIGEST_LEN]);

#endif
