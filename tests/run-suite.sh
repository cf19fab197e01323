#!/bin/bash
# SPDX-License-Identifier: ISC
# The whole test suite, as CI runs it (.ci/run) and as the README says:
#   bash tests/run-suite.sh
# 1. installs the Debian packages it needs (tests/deps.sh);
# 2. builds with -Werror and runs the cmocka unit tests (make check);
# 3. gates: systemd-analyze verify / security, the journald catalog,
#    man pages, release hygiene, the Prometheus rules (promtool check and
#    test rules) and the Grafana dashboard, make distcheck, and the Debian package built
#    from the release tarball (lintian clean);
# 4. runs the integration tests (pytest, real journald, real systemd as PID 1,
#    the fake cloud over HTTPS) against that build, and the package's
#    install/upgrade/remove/purge under that systemd;
# 5. rebuilds with ASan+UBSan and runs the unit and integration tests again;
# 6. builds the libFuzzer harnesses (clang) and runs each for 20 s on its
#    seed corpus (tests/fuzz/run.sh; KMSWATCH_FUZZ_SECONDS overrides).
# It ends with one line "N passed, N failed" and exits non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3
jobs=$(nproc 2>/dev/null || echo 2)
pass=0
fail=0
failed_names=()

note() { printf '\n=== %s\n' "$*"; }
count() { # count NAME STATUS
	if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); failed_names+=("$1"); fi
}
# Unit results: one per TAP line in automake's .trs files.
count_trs() {
	local dir=$1 p f
	p=$(cat "$dir"/tests/unit/*.trs 2>/dev/null | grep -c '^:test-result: PASS' || true)
	f=$(cat "$dir"/tests/unit/*.trs 2>/dev/null | grep -Ec '^:test-result: (FAIL|XPASS|ERROR)' || true)
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" = 0 ] || failed_names+=("unit tests in $dir ($f)")
}
# pytest results from its JUnit XML.
# A non-zero pytest exit with no failed test in the XML (pytest.exit from a
# fixture, a collection error) is one failure of its own, never a pass.
count_junit() {
	local xml=$1 label=$2 rc=$3 out p f
	if [ ! -s "$xml" ]; then count "$label: no results" 1; return; fi
	out=$($PY - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else r.findall("testsuite")
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f)
PYEOF
)
	p=${out% *}; f=${out#* }
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" = 0 ] || failed_names+=("$label ($f)")
	if [ "$f" = 0 ] && [ "$rc" != 0 ]; then count "$label: pytest exit $rc" 1; fi
}

note "dependencies"
bash tests/deps.sh || { echo "0 passed, 1 failed"; exit 1; }

if [ -f config.status ]; then
	echo "run-suite: $top is configured in-tree (an earlier ./configure there);" \
		"the suite builds out of tree: run 'make distclean' in $top first"
	echo "0 passed, 1 failed"
	exit 1
fi

note "autoreconf"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi || { echo "0 passed, 1 failed"; exit 1; }

build() { # build DIR CONFIGURE-ARGS...
	local dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" &&
		"$top"/configure --enable-werror --prefix=/usr --sysconfdir=/etc --localstatedir=/var "$@" >configure.out 2>&1 &&
		make -j"$jobs" >make.out 2>&1
	local rc=$?
	cd "$top"
	[ $rc = 0 ] || { tail -40 "$dir"/configure.out "$dir"/make.out 2>/dev/null; }
	return $rc
}

# ---- -Werror build, unit tests, gates ----------------------------------
note "build (-Werror)"
build build; count "build -Werror" $?
note "unit tests"
(cd build && make -j"$jobs" check >check.out 2>&1); rc=$?
count_trs build
[ $rc = 0 ] || { grep -h -B2 -A20 'not ok' build/tests/unit/*.log | head -80; count "make check" 1; }

note "systemd unit gates"
rm -rf build/stage && (cd build && make install DESTDIR="$top/build/stage" >install.out 2>&1)
count "make install DESTDIR" $?
bash tests/install/check-config-install.sh build
count "make install/uninstall keep an edited config" $?
bash tests/systemd/check-unit.sh build/systemd/kmswatch.service "$top/build/stage/usr/sbin/kmswatchd"
count "systemd-analyze verify+security" $?
bash tests/systemd/check-catalog.sh systemd/kmswatch.catalog
count "journald catalog" $?
mandoc -T lint -W warning man/kmswatchd.8 man/kmswatch.yaml.5
count "mandoc -T lint (man pages)" $?
bash tests/release/check-release.sh build
count "release hygiene (SPDX, LICENSE, NEWS, versions)" $?
(cd contrib/prometheus && promtool check rules kmswatch.rules.yml)
count "promtool check rules (contrib/prometheus)" $?
(cd contrib/prometheus && promtool test rules kmswatch.rules.test.yml)
count "promtool test rules (contrib/prometheus)" $?
$PY tests/contrib/check_dashboard.py contrib/grafana/kmswatch.json
count "Grafana dashboard (JSON, datasource variable, PromQL)" $?

note "make distcheck"
(cd build && make -j"$jobs" distcheck >distcheck.out 2>&1); rc=$?
[ $rc = 0 ] || tail -30 build/distcheck.out
count "make distcheck" $rc

# ---- the Debian package, from the distcheck'd tarball ------------------
note "Debian package (dpkg-buildpackage -b, lintian)"
deb=
tarball=$(ls build/kmswatch-*.tar.gz 2>/dev/null | head -1)
if [ -n "$tarball" ]; then
	bash tests/package/build-deb.sh "$tarball" build/deb >build/deb.out 2>&1
	rc=$?
	cat build/deb.out
	[ $rc = 0 ] && deb=$(tail -1 build/deb.out)
else
	echo "no release tarball in build/ (make distcheck failed?)"
	rc=1
fi
count "dpkg-buildpackage + lintian (no error, no warning)" $rc

# ---- integration tests (real journald, systemd, fake cloud) -----------
# Two pytest processes at once, each on half of the files: the tests wait
# on timers and the fake cloud far more than they compute, and every test
# has its own fake cloud, daemon and state directory. One journald serves
# both (each session would otherwise start its own).
journald_pid=
if ! $PY -c 'import sys; sys.path.insert(0, "tests"); import journald; sys.exit(0 if journald.listening() else 1)'; then
	/lib/systemd/systemd-journald >/dev/null 2>&1 &
	journald_pid=$!
fi
$PY tests/journald.py || count "journald for the integration tests" 1
shard_a=(tests/integration/test_aws.py tests/integration/test_gcp.py
	tests/integration/test_atlas_events.py tests/integration/test_private_endpoints.py
	tests/integration/test_concurrency.py tests/integration/test_files.py
	tests/integration/test_secrets.py)
shard_b=()
for f in tests/integration/test_*.py; do
	[[ " ${shard_a[*]} " == *" $f "* ]] || shard_b+=("$f")
done
integration() { # integration LABEL XML-PREFIX [pytest args...] (env: the build under test)
	local label=$1 xml=$2 pa pb ra rb
	shift 2
	$PY -m pytest -q -p no:cacheprovider "${shard_a[@]}" --junitxml="$xml-1.xml" "$@" >"$xml-1.out" 2>&1 &
	pa=$!
	$PY -m pytest -q -p no:cacheprovider "${shard_b[@]}" --junitxml="$xml-2.xml" "$@" >"$xml-2.out" 2>&1 &
	pb=$!
	wait $pa; ra=$?
	wait $pb; rb=$?
	cat "$xml-1.out" "$xml-2.out"
	count_junit "$xml-1.xml" "$label (1/2)" $ra
	count_junit "$xml-2.xml" "$label (2/2)" $rb
}

# test_package.py installs, upgrades, removes and purges that .deb under
# the namespaced systemd.
note "integration tests"
KMSWATCHD="$top/build/stage/usr/sbin/kmswatchd" \
	KMSWATCH_UNIT="$top/build/stage/lib/systemd/system/kmswatch.service" \
	KMSWATCH_DEB="$deb" \
	integration "integration" build/integration

# ---- the same under ASan + UBSan ----------------------------------------
note "build (ASan+UBSan)"
build build-asan --enable-sanitizers; count "build ASan+UBSan" $?
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
note "unit tests (ASan+UBSan)"
(cd build-asan && make -j"$jobs" check >check.out 2>&1); rc=$?
count_trs build-asan
[ $rc = 0 ] || { grep -h -B2 -A20 'not ok\|ERROR: ' build-asan/tests/unit/*.log | head -80; count "make check asan" 1; }
note "integration tests (ASan+UBSan)"
KMSWATCHD="$top/build-asan/daemon/kmswatchd" KMSWATCH_SANITIZED=1 \
	integration "integration (asan)" build-asan/integration \
	--deselect tests/integration/test_systemd.py --deselect tests/integration/test_package.py
[ -n "$journald_pid" ] && kill "$journald_pid" 2>/dev/null

# ---- libFuzzer harnesses ------------------------------------------------
note "fuzz harnesses (clang, libFuzzer + ASan/UBSan)"
rm -rf build-fuzz && mkdir -p build-fuzz &&
	(cd build-fuzz && "$top"/configure CC=clang --enable-fuzzers >configure.out 2>&1)
rc=$?
[ $rc = 0 ] || tail -20 build-fuzz/configure.out
count "configure --enable-fuzzers" $rc
if [ $rc = 0 ]; then
	bash tests/fuzz/run.sh build-fuzz "${KMSWATCH_FUZZ_SECONDS:-20}"
	count "fuzz harnesses" $?
fi

echo
if [ $fail -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$pass passed, $fail failed"
[ $fail = 0 ]
