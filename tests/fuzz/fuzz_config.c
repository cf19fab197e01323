/* SPDX-License-Identifier: ISC */
/*
 * fuzz_config — libFuzzer harness for the config loader: any bytes must
 * give either a config or diagnostics, never a crash, a leak or a hang;
 * loaded both as the daemon does and as -t and --once do (their flags).
 *
 * Built by `make fuzzers` (./configure CC=clang --enable-fuzzers); see
 * tests/fuzz/README for running it.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct cfg_diag diag = {0};

	static const unsigned flags[] = {0, CFG_LOAD_CHECK_ONLY | CFG_LOAD_NO_SINK_SECRETS};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (cfg_load_buffer_flags(NULL, (const char *)data, size, flags[i], &cfg, &diag) == 0)
			cfg_free(cfg);
		cfg_diag_free(&diag);
	}
	return 0;
}
