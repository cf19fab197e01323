#!/bin/sh
# SPDX-License-Identifier: ISC
# check-unit.sh UNITFILE SBIN_PATH — the CI gate for kmswatch.service.
#
# UNITFILE may be the template (kmswatch.service.in) or the generated unit.
# A staged copy is made with ExecStart= pointing at SBIN_PATH (e.g. the
# kmswatchd of a `make install DESTDIR=` tree), because `systemd-analyze
# verify` insists that ExecStart exists and is executable, even with --root=.
# Then:
#   systemd-analyze verify --man=no   must exit 0 and print nothing
#   systemd-analyze security --offline=true --threshold=20
#                                     must pass (252: threshold in tenths, so
#                                     exposure <= 2.0)
# Prints the exposure. Exit 0 on pass, 1 on failure, 2 on bad usage.
set -eu

THRESHOLD=${KMSWATCH_EXPOSURE_THRESHOLD:-20}

if [ $# -ne 2 ]; then
	echo "usage: $0 UNITFILE SBIN_PATH" >&2
	exit 2
fi
unit=$1 sbin=$2
[ -r "$unit" ] || { echo "$0: cannot read $unit" >&2; exit 2; }
[ -x "$sbin" ] && [ -f "$sbin" ] || { echo "$0: $sbin is not an executable file" >&2; exit 2; }
case $sbin in /*) ;; *) sbin=$(cd "$(dirname "$sbin")" && pwd)/$(basename "$sbin") ;; esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
staged=$tmp/kmswatch.service

# Fill the placeholders as make does, then point ExecStart= (and the
# ExecReload= that runs kmswatchd -t) at SBIN_PATH, keeping arguments.
bin=$(sed -n 's|^ExecStart=\([^ ]*\).*|\1|p' "$unit" | sed 's|@sbindir@|/usr/sbin|')
sed -e 's|@sbindir@|/usr/sbin|g' -e 's|@sysconfdir@|/etc|g' \
    -e 's|@localstatedir@|/var|g' \
    -e "s#^\(Exec[A-Za-z]*=\)$bin\( \|\$\)#\1$sbin\2#" "$unit" > "$staged"

if grep -q '@[a-z_]*@' "$staged"; then
	echo "FAIL: unsubstituted placeholder(s):" >&2
	grep -n '@[a-z_]*@' "$staged" >&2
	exit 1
fi

fail=0

# verify: any output at all is a finding (252 exits 0 on unknown settings
# and on an unparsable Type=; it only warns).
if out=$(systemd-analyze verify --man=no "$staged" 2>&1); then rc=0; else rc=$?; fi
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	echo "FAIL: systemd-analyze verify (exit $rc):" >&2
	printf '%s\n' "$out" >&2
	fail=1
else
	echo "ok: systemd-analyze verify --man=no"
fi

# security: the last line reads "→ Overall exposure level for X: 1.1 OK :-)"
if out=$(systemd-analyze security --offline=true --threshold="$THRESHOLD" "$staged" 2>&1); then rc=0; else rc=$?; fi
exposure=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) \(.*\)$/\1 \2/p' | tail -n 1)
if [ $rc -ne 0 ]; then
	printf '%s\n' "$out" >&2
	echo "FAIL: systemd-analyze security: exposure ${exposure:-?} above $THRESHOLD tenths (exit $rc)" >&2
	fail=1
elif [ -z "$exposure" ]; then
	printf '%s\n' "$out" >&2
	echo "FAIL: systemd-analyze security printed no exposure" >&2
	fail=1
else
	echo "ok: systemd-analyze security --offline=true --threshold=$THRESHOLD"
fi
echo "exposure: ${exposure:-?}"
exit $fail
