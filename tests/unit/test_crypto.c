/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/crypto.c: FIPS 180-4 examples, NUL-separated string
 * hashing, RFC 4231 HMAC-SHA256 test cases 1-7, the Standard Webhooks
 * signature example, RFC 4648 base64 and the strict decoding policy.
 * The algorithms are OpenSSL's; these pin down that we call them right.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "crypto.h"
#include "util.h"

static void
hex_of(const unsigned char d[CRYPTO_SHA256_LEN], char out[2 * CRYPTO_SHA256_LEN + 1])
{
	util_hex(d, CRYPTO_SHA256_LEN, out);
}

static void
check_sha(const void *data, size_t len, const char *want)
{
	unsigned char d[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	assert_int_equal(crypto_sha256(data, len, d), 0);
	hex_of(d, hex);
	assert_string_equal(hex, want);
}

static void
test_fips_abc(void **state)
{
	(void)state;
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_empty(void **state)
{
	(void)state;
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_fips_two_block(void **state)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char m896[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	(void)state;
	assert_int_equal(strlen(m448), 56);
	check_sha(m448, 56, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_sha(m896, strlen(m896),
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
	char *a = malloc(1000000);

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	check_sha(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

static void
test_padding_edges(void **state)
{
	unsigned char buf[64];

	(void)state;
	/* 55 'a's fit one block with padding, 56 need two */
	memset(buf, 'a', 64);
	check_sha(buf, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check_sha(buf, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check_sha(buf, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void
test_strings(void **state)
{
	const char *ab_c[] = {"ab", "c"}, *a_bc[] = {"a", "bc"}, *withnull[] = {"a", NULL};
	unsigned char d1[CRYPTO_SHA256_LEN], d2[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	(void)state;
	/* each part is hashed with its NUL: the same as the flat bytes */
	assert_int_equal(crypto_sha256_strings(ab_c, 2, d1), 0);
	assert_int_equal(crypto_sha256("ab\0c\0", 5, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(crypto_sha256_strings(a_bc, 2, d2), 0);
	assert_memory_not_equal(d1, d2, sizeof(d1));
	/* NULL is hashed as "" */
	assert_int_equal(crypto_sha256_strings(withnull, 2, d1), 0);
	assert_int_equal(crypto_sha256("a\0\0", 3, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	assert_int_equal(crypto_sha256_hex("abc", hex), 0);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

struct hmac_case {
	const unsigned char *key;
	size_t keylen;
	const unsigned char *data;
	size_t datalen;
	const char *want; /* hex; case 5 is truncated to 128 bits */
};

static void
test_rfc4231(void **state)
{
	unsigned char k1[20], k3[20], d3[50], k4[25], d4[50], k5[20], k6[131];
	static const char d6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	static const char d7[] =
		"This is a test using a larger than block-size key and a larger than "
		"block-size data. The key needs to be hashed before being used by the "
		"HMAC algorithm.";
	unsigned char d[CRYPTO_SHA256_LEN];
	char hex[2 * CRYPTO_SHA256_LEN + 1];

	(void)state;
	memset(k1, 0x0b, sizeof(k1));
	memset(k3, 0xaa, sizeof(k3));
	memset(d3, 0xdd, sizeof(d3));
	for (int i = 0; i < 25; i++)
		k4[i] = (unsigned char)(i + 1);
	memset(d4, 0xcd, sizeof(d4));
	memset(k5, 0x0c, sizeof(k5));
	memset(k6, 0xaa, sizeof(k6));

	const struct hmac_case cases[] = {
		{k1, 20, (const unsigned char *)"Hi There", 8,
		 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
		{(const unsigned char *)"Jefe", 4,
		 (const unsigned char *)"what do ya want for nothing?", 28,
		 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
		{k3, 20, d3, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
		{k4, 25, d4, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
		{k5, 20, (const unsigned char *)"Test With Truncation", 20,
		 "a3b6167473100ee06e0c796c2955552b"},
		{k6, 131, (const unsigned char *)d6, strlen(d6),
		 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
		{k6, 131, (const unsigned char *)d7, strlen(d7),
		 "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(crypto_hmac_sha256(cases[i].key, cases[i].keylen, cases[i].data,
						    cases[i].datalen, d),
				 0);
		hex_of(d, hex);
		hex[strlen(cases[i].want)] = '\0';
		if (strcmp(hex, cases[i].want) != 0)
			fail_msg("RFC 4231 case %zu: got %s", i + 1, hex);
	}
}

static void
test_hmac_key_edges(void **state)
{
	unsigned char key[65], d1[CRYPTO_SHA256_LEN], d2[CRYPTO_SHA256_LEN];

	(void)state;
	/* a 65-byte key is hashed first, so it equals HMAC with its digest */
	memset(key, 'k', sizeof(key));
	crypto_hmac_sha256(key, 65, "m", 1, d1);
	crypto_sha256(key, 65, d2);
	crypto_hmac_sha256(d2, CRYPTO_SHA256_LEN, "m", 1, d2);
	assert_memory_equal(d1, d2, CRYPTO_SHA256_LEN);
	/* a 64-byte key is used as is: different from its hash */
	crypto_hmac_sha256(key, 64, "m", 1, d1);
	crypto_sha256(key, 64, d2);
	crypto_hmac_sha256(d2, CRYPTO_SHA256_LEN, "m", 1, d2);
	assert_memory_not_equal(d1, d2, CRYPTO_SHA256_LEN);
	/* empty key and empty message are valid */
	crypto_hmac_sha256(NULL, 0, NULL, 0, d1);
	{
		char hex[2 * CRYPTO_SHA256_LEN + 1];
		hex_of(d1, hex);
		assert_string_equal(
			hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	}
	/* the output may alias the message buffer */
	memcpy(d2, "abcdefghijklmnopqrstuvwxyz012345", 32);
	crypto_hmac_sha256("key", 3, d2, 32, d1);
	crypto_hmac_sha256("key", 3, d2, 32, d2);
	assert_memory_equal(d1, d2, CRYPTO_SHA256_LEN);
}

static void
test_standard_webhooks(void **state)
{
	/* https://github.com/standard-webhooks/standard-webhooks spec example:
	 * secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw */
	static const char msg[] =
		"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}";
	unsigned char key[64], d[CRYPTO_SHA256_LEN];
	char b64[CRYPTO_BASE64_LEN(CRYPTO_SHA256_LEN)];
	int klen;

	(void)state;
	klen = crypto_base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof(key));
	assert_int_equal(klen, 24);
	crypto_hmac_sha256(key, (size_t)klen, msg, strlen(msg), d);
	crypto_base64(d, sizeof(d), b64);
	assert_string_equal(b64, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void
test_base64(void **state)
{
	/* RFC 4648 section 10 */
	static const char *vec[][2] = {
		{"", ""},         {"f", "Zg=="},       {"fo", "Zm8="},
		{"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	unsigned char bin[256], dec[300];
	char enc[400];

	(void)state;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		size_t n = strlen(vec[i][0]);
		crypto_base64((const unsigned char *)vec[i][0], n, enc);
		assert_string_equal(enc, vec[i][1]);
		assert_int_equal(crypto_base64_decode(vec[i][1], dec, sizeof(dec)), (int)n);
		assert_memory_equal(dec, vec[i][0], n);
	}
	/* every byte value, every length, round trip */
	for (size_t i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(255 - i);
	for (size_t n = 0; n <= sizeof(bin); n++) {
		crypto_base64(bin, n, enc);
		assert_int_equal(strlen(enc), 4 * ((n + 2) / 3));
		assert_int_equal(crypto_base64_decode(enc, dec, n), (int)n);
		assert_memory_equal(dec, bin, n);
	}
	/* padding optional */
	assert_int_equal(crypto_base64_decode("Zg", dec, sizeof(dec)), 1);
	assert_int_equal(crypto_base64_decode("Zm8", dec, sizeof(dec)), 2);
	/* the standard webhooks example secret decodes to 24 bytes */
	assert_int_equal(crypto_base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", dec, sizeof(dec)),
			 24);
}

static void
test_base64_invalid(void **state)
{
	static const char *bad[] = {
		"Z",     "Zg=",   "Zg===", "Z===", "====", "Zm9v=",  "Zm9vY",
		"Zm 9v", "Zm9v\n", "Zm-_", "Zm9v====", "=Zm9", "Zg==Zg==", "Zm8==",
	};
	unsigned char dec[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (crypto_base64_decode(bad[i], dec, sizeof(dec)) != -EINVAL)
			fail_msg("\"%s\" was not rejected", bad[i]);
	}
	assert_int_equal(crypto_base64_decode(NULL, dec, sizeof(dec)), -EINVAL);
	assert_int_equal(crypto_base64_decode("Zm9vYmFy", dec, 5), -ENOBUFS);
	assert_int_equal(crypto_base64_decode("Zm9vYmFy", dec, 6), 6);
}

static void
test_equal(void **state)
{
	(void)state;
	assert_true(crypto_equal("abcd", "abcd", 4));
	assert_false(crypto_equal("abcd", "abce", 4));
	assert_false(crypto_equal("xbcd", "abcd", 4));
	assert_true(crypto_equal("a", "b", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fips_abc),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_fips_two_block),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_padding_edges),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_hmac_key_edges),
		cmocka_unit_test(test_standard_webhooks),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
