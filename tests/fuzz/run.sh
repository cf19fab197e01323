#!/bin/bash
# SPDX-License-Identifier: ISC
# Runs every libFuzzer harness on its seed corpus and fails on a crash:
#   bash tests/fuzz/run.sh BUILD_DIR [SECONDS_EACH]
# BUILD_DIR is configured with CC=clang --enable-fuzzers; the harnesses are
# built there (make fuzzers). New inputs go to a scratch copy of each
# corpus, so the tree's seeds stay as committed. Prints one line per
# harness: name, executions, new corpus entries, result.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
secs=${2:-30}
make -s -C "$build" fuzzers >"$build/fuzzers.make.out" 2>&1 || { tail -30 "$build/fuzzers.make.out"; exit 1; }
status=0
for h in atlas azure aws gcp config state scalars metrics; do
	bin=$build/tests/fuzz/fuzz_$h
	work=$(mktemp -d /tmp/kmswatch-fuzz-$h.XXXXXX)
	cp -r "$top/tests/fuzz/corpus/$h/." "$work/"
	log=$build/fuzz_$h.log
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$build/fuzz_$h-" "$work" >"$log" 2>&1
	rc=$?
	execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	[ -n "$execs" ] || execs=$(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#')
	found=$(($(ls "$work" | wc -l) - $(ls "$top/tests/fuzz/corpus/$h" | wc -l)))
	if [ $rc = 0 ]; then
		printf 'fuzz_%-8s %12s execs in %ss, %5s new inputs, no crash\n' "$h" "${execs:-?}" "$secs" "$found"
	else
		printf 'fuzz_%-8s CRASH (exit %s) after %s execs; see %s and %s\n' "$h" "$rc" "${execs:-?}" "$log" "$build/fuzz_$h-*"
		grep -A25 -m1 'ERROR:\|runtime error\|deadly signal' "$log" | head -40
		status=1
	fi
	rm -rf "$work"
done
exit $status
