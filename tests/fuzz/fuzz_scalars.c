/* SPDX-License-Identifier: ISC */
/*
 * fuzz_scalars — libFuzzer harness for the small text parsers: durations
 * (config), ISO 8601 dates and times (config, Graph, Key Vault, Atlas),
 * Retry-After (HTTP answers), CIDRs and addresses (firewall rules, Atlas
 * IP lists) with the range arithmetic on what parses, and base64 (webhook
 * secrets), metrics.listen addresses. The input is NUL-terminated as the callers' strings are.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "cidr.h"
#include "config.h"
#include "crypto.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), fmt[64];
	unsigned char dec[256];
	int64_t secs;
	time_t t;
	struct cidr c;
	unsigned flags;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	if (util_parse_duration(text, &secs) == 0)
		util_format_duration(secs, fmt, sizeof(fmt));
	if (util_parse_time(text, &t) == 0) {
		char back[UTIL_TIME_LEN];

		/* a parsed time prints in RFC 3339 and parses back to itself */
		util_format_time(t, back, sizeof(back));
		if (util_parse_time(back, &t) != 0)
			abort();
	}
	(void)backoff_parse_retry_after(text, (time_t)1767225600, &secs);
	if (cidr_parse(text, &c, &flags) == 0) {
		char back[64];

		cidr_format(&c, back, sizeof(back));
		if (cidr_parse(back, &c, &flags) != 0)
			abort();
	}
	(void)crypto_base64_decode(text, dec, sizeof(dec));
	{
		char host[48], why[200];
		unsigned port;
		bool v6;

		if (cfg_parse_listen(text, host, sizeof(host), &port, &v6, why, sizeof(why)) == 0 &&
		    (port == 0 || port > 65535))
			abort();
	}
	free(text);
	return 0;
}
