/* SPDX-License-Identifier: ISC */
/*
 * crypto — see crypto.h. Thin on purpose: the algorithms are OpenSSL's,
 * checked and constant-time; what is ours is the policy (strict base64,
 * NUL-separated hashing) and the errno convention.
 */
#include "autoconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "util.h"

int
crypto_sha256(const void *data, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	return EVP_Digest(len ? data : "", len, out, NULL, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;
}

int
crypto_sha256_strings(const char *const *parts, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;

	for (size_t i = 0; ok && i < n; i++) {
		const char *s = parts[i] ? parts[i] : "";

		ok = EVP_DigestUpdate(c, s, strlen(s) + 1) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(c, out, NULL) == 1;
	EVP_MD_CTX_free(c);
	return ok ? 0 : -ENOMEM;
}

int
crypto_sha256_hex(const char *s, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char d[CRYPTO_SHA256_LEN];

	if (crypto_sha256(s, strlen(s), d) < 0)
		return -ENOMEM;
	util_hex(d, sizeof(d), out);
	OPENSSL_cleanse(d, sizeof(d));
	return 0;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data, size_t len,
		   unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX)
		return -EINVAL;
	/* HMAC() takes a NULL key as "reuse the last one": never hand it one */
	if (!HMAC(EVP_sha256(), keylen ? key : "", (int)keylen, len ? data : (const void *)"", len,
		  out, &outlen) ||
	    outlen != CRYPTO_SHA256_LEN)
		return -ENOMEM;
	return 0;
}

void
crypto_base64(const unsigned char *in, size_t n, char *out)
{
	/* EVP_EncodeBlock takes an int; callers encode digests and keys */
	if (n > (size_t)INT_MAX / 4 * 3) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
crypto_base64_decode(const char *in, unsigned char *out, size_t outcap)
{
	size_t n, pad = 0, need, padded;
	unsigned char *tmp, *dec;
	int r;

	if (in == NULL)
		return -EINVAL;
	n = strlen(in);
	if (n > 0 && in[n - 1] == '=') {
		pad = n >= 2 && in[n - 2] == '=' ? 2 : 1;
		if (n % 4 != 0)
			return -EINVAL;
		n -= pad;
	}
	/* EVP_DecodeBlock skips blanks and stops at '=': the policy is ours */
	if (strspn(in, alphabet) != n || n % 4 == 1)
		return -EINVAL;
	if (pad > 0 && (n % 4) + pad != 4)
		return -EINVAL;
	need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
	if (need > INT_MAX / 2)
		return -EOVERFLOW;
	if (need > outcap)
		return -ENOBUFS;
	if (n == 0)
		return 0;
	/* EVP_DecodeBlock wants whole quanta: pad a copy, and decode into
	 * scratch, as it writes the pad bytes too */
	padded = (n + 3) / 4 * 4;
	tmp = malloc(padded + 1 + padded / 4 * 3);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, in, n);
	memset(tmp + n, '=', padded - n);
	tmp[padded] = '\0';
	dec = tmp + padded + 1;
	r = EVP_DecodeBlock(dec, tmp, (int)padded);
	if (r < 0 || (size_t)r != padded / 4 * 3) {
		r = -EINVAL;
	} else {
		memcpy(out, dec, need);
		r = (int)need;
	}
	OPENSSL_cleanse(tmp, padded + 1 + padded / 4 * 3);
	free(tmp);
	return r;
}

bool
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* ---- JWTs signed with a service-account key ------------------------------ */

void
crypto_base64url(const unsigned char *in, size_t n, char *out)
{
	char *p;

	crypto_base64(in, n, out);
	for (p = out; *p; p++)
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	while (p > out && p[-1] == '=')
		*--p = '\0';
}

int
crypto_rs256_sign(const char *pem, const void *data, size_t len, unsigned char **sig,
		  size_t *siglen, const char **why)
{
	const char *dummy;
	BIO *bio = NULL;
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *out = NULL;
	size_t outlen = 0;
	int r = -ENOMEM;

	if (why == NULL)
		why = &dummy;
	*why = "";
	*sig = NULL;
	*siglen = 0;
	if (pem == NULL || strlen(pem) > INT_MAX) {
		*why = "no private key";
		return -EINVAL;
	}
	if (!(bio = BIO_new_mem_buf(pem, (int)strlen(pem))))
		goto out;
	/* no passphrase callback: an encrypted key fails instead of asking */
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	if (key == NULL) {
		*why = "the private key is not a PEM private key";
		r = -EINVAL;
		goto out;
	}
	if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
		*why = "the private key is not an RSA key";
		r = -EINVAL;
		goto out;
	}
	if (EVP_PKEY_get_bits(key) < 2048) {
		*why = "the RSA private key is shorter than 2048 bits";
		r = -EINVAL;
		goto out;
	}
	if (!(md = EVP_MD_CTX_new()) ||
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &outlen, data, len) != 1 || !(out = malloc(outlen)) ||
	    EVP_DigestSign(md, out, &outlen, data, len) != 1) {
		free(out);
		out = NULL;
		*why = "signing failed";
		goto out;
	}
	*sig = out;
	*siglen = outlen;
	r = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	BIO_free(bio);
	return r;
}
