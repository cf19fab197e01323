/*
 * Unit tests for lib/sha256.c: FIPS 180-4 examples, streaming at every
 * block boundary, RFC 4231 HMAC-SHA256 test cases 1-7 and the Standard
 * Webhooks signature example.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "util.h"

static void
hex_of(const unsigned char d[SHA256_DIGEST_LEN], char out[2 * SHA256_DIGEST_LEN + 1])
{
	util_hex(d, SHA256_DIGEST_LEN, out);
}

static void
check_sha(const void *data, size_t len, const char *want)
{
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];

	sha256(data, len, d);
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
	struct sha256_ctx c;
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];

	(void)state;
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	/* no update at all, and a NULL zero-length update */
	sha256_init(&c);
	sha256_update(&c, NULL, 0);
	sha256_final(&c, d);
	hex_of(d, hex);
	assert_string_equal(hex,
			    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
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
	/* odd chunk sizes cross every buffer boundary case */
	static const size_t chunks[] = {1, 3, 7, 63, 64, 65, 127, 1000, 4097};
	const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];
	char *a = malloc(1000000);

	(void)state;
	memset(a, 'a', 1000000);
	check_sha(a, 1000000, want);
	for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
		struct sha256_ctx c;
		size_t done = 0;

		sha256_init(&c);
		while (done < 1000000) {
			size_t n = chunks[k];
			if (n > 1000000 - done)
				n = 1000000 - done;
			sha256_update(&c, a + done, n);
			done += n;
		}
		sha256_final(&c, d);
		hex_of(d, hex);
		assert_string_equal(hex, want);
	}
	free(a);
}

static void
test_padding_edges(void **state)
{
	/* lengths around 55/56/64 bytes exercise the one- and two-block tails;
	 * streamed byte by byte they must equal the one-shot digest */
	unsigned char buf[130], d1[SHA256_DIGEST_LEN], d2[SHA256_DIGEST_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 31 + 7);
	for (size_t len = 0; len <= sizeof(buf); len++) {
		struct sha256_ctx c;

		sha256(buf, len, d1);
		sha256_init(&c);
		for (size_t i = 0; i < len; i++)
			sha256_update(&c, buf + i, 1);
		sha256_final(&c, d2);
		assert_memory_equal(d1, d2, SHA256_DIGEST_LEN);
	}
	/* 55 'a's: known value (fits one block with padding) */
	memset(buf, 'a', 64);
	check_sha(buf, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	check_sha(buf, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	check_sha(buf, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
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
	unsigned char d[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];

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
		hmac_sha256(cases[i].key, cases[i].keylen, cases[i].data, cases[i].datalen, d);
		hex_of(d, hex);
		hex[strlen(cases[i].want)] = '\0';
		if (strcmp(hex, cases[i].want) != 0)
			fail_msg("RFC 4231 case %zu: got %s", i + 1, hex);
	}
}

static void
test_hmac_key_edges(void **state)
{
	unsigned char key[65], d1[SHA256_DIGEST_LEN], d2[SHA256_DIGEST_LEN];

	(void)state;
	/* a 65-byte key is hashed first, so it equals HMAC with its digest */
	memset(key, 'k', sizeof(key));
	hmac_sha256(key, 65, "m", 1, d1);
	sha256(key, 65, d2);
	hmac_sha256(d2, SHA256_DIGEST_LEN, "m", 1, d2);
	assert_memory_equal(d1, d2, SHA256_DIGEST_LEN);
	/* a 64-byte key is used as is: different from its hash */
	hmac_sha256(key, 64, "m", 1, d1);
	sha256(key, 64, d2);
	hmac_sha256(d2, SHA256_DIGEST_LEN, "m", 1, d2);
	assert_memory_not_equal(d1, d2, SHA256_DIGEST_LEN);
	/* empty key and empty message are valid */
	hmac_sha256(NULL, 0, NULL, 0, d1);
	{
		char hex[2 * SHA256_DIGEST_LEN + 1];
		hex_of(d1, hex);
		assert_string_equal(
			hex, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
	}
	/* the output may alias the message buffer */
	memcpy(d2, "abcdefghijklmnopqrstuvwxyz012345", 32);
	hmac_sha256("key", 3, d2, 32, d1);
	hmac_sha256("key", 3, d2, 32, d2);
	assert_memory_equal(d1, d2, SHA256_DIGEST_LEN);
}

static void
test_standard_webhooks(void **state)
{
	/* https://github.com/standard-webhooks/standard-webhooks spec example:
	 * secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw */
	static const char msg[] =
		"msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.{\"test\": 2432232314}";
	unsigned char key[64], d[SHA256_DIGEST_LEN];
	char b64[4 * ((SHA256_DIGEST_LEN + 2) / 3) + 1];
	int klen;

	(void)state;
	klen = util_base64_decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", key, sizeof(key));
	assert_int_equal(klen, 24);
	hmac_sha256(key, (size_t)klen, msg, strlen(msg), d);
	util_base64(d, sizeof(d), b64);
	assert_string_equal(b64, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
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
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_hmac_key_edges),
		cmocka_unit_test(test_standard_webhooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
