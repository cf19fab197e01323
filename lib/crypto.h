/* SPDX-License-Identifier: ISC */
/*
 * crypto — the few primitives kmswatch needs, over OpenSSL's libcrypto
 * (already in the process through libcurl): SHA-256 for stable alert ids
 * and cache keys, HMAC-SHA256 for webhook signatures (Standard Webhooks),
 * base64, and a constant-time comparison.
 */
#ifndef KMSWATCH_CRYPTO_H
#define KMSWATCH_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32
/* base64 of n bytes, with padding, and its NUL */
#define CRYPTO_BASE64_LEN(n) (4 * (((n) + 2) / 3) + 1)

/* SHA-256 of len bytes. 0 or -ENOMEM. */
int crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
/* SHA-256 of parts[0..n-1], each with its terminating NUL, so that
 * ("a","bc") and ("ab","c") differ. 0 or -ENOMEM. */
int crypto_sha256_strings(const char *const *parts, size_t n,
			  unsigned char out[CRYPTO_SHA256_LEN]);
/* SHA-256 of s, as 64 lowercase hex digits: a key that stands for s
 * (credentials, say) without holding it. 0 or -ENOMEM. */
int crypto_sha256_hex(const char *s, char out[2 * CRYPTO_SHA256_LEN + 1]);

/* 0, -EINVAL (key longer than INT_MAX) or -ENOMEM. */
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		       unsigned char out[CRYPTO_SHA256_LEN]);

/* Standard base64 with padding; out holds CRYPTO_BASE64_LEN(n) bytes. */
void crypto_base64(const unsigned char *in, size_t n, char *out);
/* Decodes standard base64 and returns the decoded length. Padding is
 * optional (secrets are published without it) but, when present, must be
 * exactly what the length implies; anything outside the alphabet,
 * whitespace included, is -EINVAL: these are secrets and signatures,
 * never wrapped text. -ENOBUFS when out is too small, -EOVERFLOW past
 * INT_MAX. */
int crypto_base64_decode(const char *in, unsigned char *out, size_t outcap);

/* ---- JWTs signed with a service-account key (Google Cloud) ------------ */

/* base64url without padding (RFC 7515 section 2); out holds
 * CRYPTO_BASE64_LEN(n) bytes. */
void crypto_base64url(const unsigned char *in, size_t n, char *out);
/* RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256") of len bytes, with the
 * PEM private key pem (PKCS#8 or PKCS#1, RSA of at least 2048 bits).
 * *sig is malloc'ed (*siglen bytes). 0; -EINVAL when pem is no RSA
 * private key kmswatch accepts (why, if not NULL, says which, without any
 * key material); -ENOMEM. The decoded key is freed (and so wiped) by
 * libcrypto before returning. */
int crypto_rs256_sign(const char *pem, const void *data, size_t len, unsigned char **sig,
		      size_t *siglen, const char **why);

/* a and b equal, in time that depends on n only */
bool crypto_equal(const void *a, const void *b, size_t n);

#endif
