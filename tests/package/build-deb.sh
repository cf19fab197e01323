#!/bin/bash
# SPDX-License-Identifier: ISC
# build-deb.sh TARBALL OUTDIR — build the Debian package from a release
# tarball (make dist), as a fresh Debian 12 would, then lintian it.
#   * the tarball is unpacked as kmswatch-VERSION/ beside its .orig.tar.gz;
#   * dpkg-buildpackage -us -uc -b with the Build-Depends of debian/control
#     (checked first: dpkg-checkbuilddeps names any that are missing);
#   * lintian on the .changes must report no error and no warning.
# Prints the path of the .deb on its last line.
set -euo pipefail
tarball=$(readlink -f "${1:?usage: build-deb.sh TARBALL OUTDIR}")
out=${2:?usage: build-deb.sh TARBALL OUTDIR}
rm -rf "$out" && mkdir -p "$out" && out=$(readlink -f "$out")
base=$(basename "$tarball" .tar.gz)          # kmswatch-0.1.0
version=${base#kmswatch-}
cp "$tarball" "$out/kmswatch_$version.orig.tar.gz"
tar -xzf "$tarball" -C "$out"
cd "$out/$base"
dpkg-checkbuilddeps
dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
cd "$out"
changes=$(ls kmswatch_*_"$(dpkg --print-architecture)".changes)
echo "lintian $changes:"
# Errors and warnings fail the build; info and pedantic notes are shown.
lintian --fail-on error,warning --display-info --pedantic "$changes" 2>&1 |
	grep -v '^running with root privileges is not recommended!$' || true
lintian --fail-on error,warning "$changes" >/dev/null 2>&1 ||
	{ echo "lintian: errors or warnings (above)" >&2; exit 1; }
ls "$out"/kmswatch_*_"$(dpkg --print-architecture)".deb
