#!/bin/bash
# SPDX-License-Identifier: ISC
# make install / make uninstall and the operator's config:
#   bash tests/install/check-config-install.sh BUILD_DIR
# An edited /etc/kmswatch/kmswatch.yaml survives `make install` (the new
# example lands beside it as kmswatch.yaml.example) and `make uninstall`;
# an unedited one is the example's and goes with it.
set -euo pipefail
build=$(cd "$1" && pwd)
dest=$(mktemp -d /tmp/kmswatch-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT
fail() { echo "check-config-install: $*" >&2; exit 1; }

make -s -C "$build" install DESTDIR="$dest" >/dev/null
ex=$(find "$dest" -name kmswatch.yaml.example)
[ -n "$ex" ] || fail "first install: no kmswatch.yaml.example"
conf=${ex%/kmswatch.yaml.example}
conf=${conf#"$dest"}
c="$dest$conf/kmswatch.yaml"
[ -f "$c" ] || fail "first install: no kmswatch.yaml in $conf"
cmp -s "$c" "$c.example" || fail "first install: kmswatch.yaml is not the example"

echo "# edited by the operator" >>"$c"
out=$(make -C "$build" install DESTDIR="$dest" 2>&1)
tail -1 "$c" | grep -q "edited by the operator" || fail "make install overwrote an edited config"
grep -q "keeping .*kmswatch.yaml" <<<"$out" || fail "make install did not say it kept the config"

out=$(make -C "$build" uninstall DESTDIR="$dest" 2>&1)
[ -f "$c" ] || fail "make uninstall deleted an edited config"
[ ! -e "$c.example" ] || fail "make uninstall left the example"
grep -q "keeping .*it was edited" <<<"$out" || fail "make uninstall did not say it kept the config"

rm -f "$c"
make -s -C "$build" install DESTDIR="$dest" >/dev/null
make -s -C "$build" uninstall DESTDIR="$dest" >/dev/null
[ ! -e "$c" ] && [ ! -e "$c.example" ] || fail "an unedited config outlived make uninstall"
echo "check-config-install: ok ($conf)"
