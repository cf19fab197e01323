#!/bin/bash
# SPDX-License-Identifier: ISC
# check-release.sh BUILD_DIR — release hygiene, as one CI gate:
#   * every source file carries an SPDX-License-Identifier (ISC) line, and the
#     files that are not ours (listed below) are named in debian/copyright;
#   * LICENSE and NEWS exist; NEWS, both man pages, debian/changelog and
#     "kmswatchd --version" all name the version configure.ac sets.
# Works in a git checkout (git ls-files) and in a dist tarball (find).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: check-release.sh BUILD_DIR}
cd "$top"
bad=0
fail() { echo "check-release: $*" >&2; bad=1; }

# Not ours, or not source: third-party files keep their own notices.
not_ours='^(build-aux/tap-driver\.sh|tests/unit/data/.*|tests/fuzz/corpus/.*|m4/\.keep|LICENSE|NEWS|debian/(changelog|copyright|source/format|.*\.debhelper.*)|.*\.md)$'
if [ -e .git ]; then  # a worktree's .git is a file
	files=$(git ls-files)
else
	files=$(find . -type f ! -path './autom4te.cache/*' ! -path './build-aux/*' \
		\( -name '*.[ch]' -o -name '*.py' -o -name '*.sh' -o -name '*.am' -o -name '*.ac' \
		-o -name '*.in' -o -name '*.[58]' -o -name '*.yaml' -o -name '*.catalog' \) |
		sed 's|^\./||' | grep -v -e '^Makefile.in$' -e '^aclocal.m4$')
fi
for f in $files; do
	[[ $f =~ $not_ours ]] && continue
	[ -f "$f" ] || continue
	head -n 5 "$f" | grep -q 'SPDX-License-Identifier: ISC' || fail "$f: no SPDX-License-Identifier: ISC in its first 5 lines"
done
[ -s LICENSE ] || fail "LICENSE is missing"
grep -q '^ISC License' LICENSE || fail "LICENSE is not the ISC licence"

version=$(sed -n 's/^AC_INIT(\[kmswatch\], \[\([^]]*\)\].*/\1/p' configure.ac)
[ -n "$version" ] || fail "configure.ac: no version in AC_INIT"
news=$(sed -n 's/^Version \([^ ]*\).*/\1/p' NEWS | head -1)
[ "$news" = "$version" ] || fail "NEWS: newest entry is '$news', configure.ac says '$version'"
for m in man/kmswatchd.8 man/kmswatch.yaml.5; do
	grep -q "^\.TH .* \"kmswatch $version\"" "$m" || fail "$m: .TH does not name kmswatch $version"
done
if [ -f debian/changelog ]; then
	deb=$(sed -n '1s/^kmswatch (\([^)-]*\)-[^)]*).*/\1/p' debian/changelog)
	[ "$deb" = "$version" ] || fail "debian/changelog: upstream version '$deb', configure.ac says '$version'"
fi
out=$("$build"/daemon/kmswatchd --version 2>&1)
[ "$out" = "kmswatchd $version" ] || fail "kmswatchd --version printed '$out', expected 'kmswatchd $version'"
[ $bad = 0 ] && echo "check-release: ok (kmswatch $version)"
exit $bad
