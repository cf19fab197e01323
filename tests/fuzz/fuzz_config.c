/*
 * fuzz_config — libFuzzer harness for the config loader: any bytes must
 * give either a config or diagnostics, never a crash, a leak or a hang.
 * Built separately, e.g.:
 *   clang -g -fsanitize=fuzzer,address,undefined -Ilib -DSYSCONFDIR='"/etc"' \
 *     -DLOCALSTATEDIR='"/var"' tests/fuzz/fuzz_config.c lib/config.c lib/util.c \
 *     lib/checks.c lib/json.c lib/atlas.c -lyaml -ljansson -o fuzz_config
 * No path is passed, so plain-text secrets are accepted and the harness
 * reaches every key; {file:} references may read files the fuzzer names.
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

	if (cfg_load_buffer(NULL, (const char *)data, size, &cfg, &diag) == 0)
		cfg_free(cfg);
	cfg_diag_free(&diag);
	return 0;
}
