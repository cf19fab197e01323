#!/bin/sh
# SPDX-License-Identifier: ISC
# check-catalog.sh CATALOG [MSGID_H] — the CI gate for kmswatch.catalog.
#
# Compiles CATALOG with journalctl into a throw-away root (as
# `journalctl --update-catalog` does on install) and checks that every
# MESSAGE_ID of lib/msgid.h is in the compiled database with a Subject, and
# that the catalog holds no id that msgid.h does not define. MSGID_H defaults
# to lib/msgid.h next to this script's tree. Needs no root and no journald.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 CATALOG [MSGID_H]" >&2
	exit 2
fi
catalog=$1
msgid_h=${2:-$(dirname "$0")/../../lib/msgid.h}
[ -r "$catalog" ] || { echo "$0: cannot read $catalog" >&2; exit 2; }
[ -r "$msgid_h" ] || { echo "$0: cannot read $msgid_h" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/usr/lib/systemd/catalog" "$tmp/var/lib/systemd/catalog"
cp "$catalog" "$tmp/usr/lib/systemd/catalog/kmswatch.catalog"

fail=0

# Parse errors are warnings that journalctl prints but does not fail on.
if ! out=$(journalctl --root="$tmp" --update-catalog 2>&1); then
	printf '%s\n' "$out" >&2
	echo "FAIL: journalctl --update-catalog" >&2
	exit 1
fi
if [ -n "$out" ]; then
	printf '%s\n' "$out" >&2
	echo "FAIL: journalctl --update-catalog complained" >&2
	fail=1
fi
[ -s "$tmp/var/lib/systemd/catalog/database" ] || {
	echo "FAIL: no catalog database was written" >&2
	exit 1
}

journalctl --root="$tmp" --list-catalog > "$tmp/list"
journalctl --root="$tmp" --dump-catalog > "$tmp/dump"

ids=$(sed -n 's/^#define[ \t]\{1,\}MSGID_[A-Z0-9_]\{1,\}[ \t]\{1,\}"\([0-9a-f]\{32\}\)".*/\1/p' "$msgid_h")
n=$(printf '%s\n' "$ids" | grep -c . || true)
if [ "$n" -eq 0 ]; then
	echo "FAIL: no MSGID_ in $msgid_h" >&2
	exit 1
fi
dups=$(printf '%s\n' "$ids" | sort | uniq -d)
if [ -n "$dups" ]; then
	echo "FAIL: ids used twice in $msgid_h: $dups" >&2
	fail=1
fi

for id in $ids; do
	name=$(sed -n "s/^#define[ \t]*\(MSGID_[A-Z0-9_]*\)[ \t]*\"$id\".*/\1/p" "$msgid_h")
	# --list-catalog prints "ID SUBJECT" per entry
	if ! grep -q "^$id " "$tmp/list"; then
		echo "FAIL: $name ($id) is missing from the catalog" >&2
		fail=1
		continue
	fi
	entry=$(awk -v id="-- $id" '$0 == id {p = 1; print; next} /^-- [0-9a-f]{32}$/ {p = 0} p' "$tmp/dump")
	for h in Subject Defined-By Support Documentation; do
		if ! printf '%s\n' "$entry" | grep -q "^$h: ."; then
			echo "FAIL: $name ($id) has no $h: line" >&2
			fail=1
		fi
	done
	body=$(printf '%s\n' "$entry" | awk 'NR > 1 && /^$/ {b = 1; next} b')
	if [ "$(printf '%s\n' "$body" | grep -c .)" -lt 3 ]; then
		echo "FAIL: $name ($id) has (almost) no body" >&2
		fail=1
	fi
done

# journalctl takes a mistyped "-- id" line for body text of the entry above.
badhdr=$(grep -n '^--' "$catalog" | grep -Ev '^[0-9]+:-- [0-9a-f]{32}( [A-Za-z_@]+)?$' || true)
if [ -n "$badhdr" ]; then
	echo "FAIL: malformed entry header(s): $badhdr" >&2
	fail=1
fi

# The catalog must not define ids that msgid.h does not (stale or mistyped).
for id in $(sed -n 's/^-- \([0-9a-f]\{32\}\)$/\1/p' "$catalog"); do
	if ! printf '%s\n' "$ids" | grep -qx "$id"; then
		echo "FAIL: catalog entry $id is not defined in $msgid_h" >&2
		fail=1
	fi
done

# @FIELD@ references should be fields kmswatch sends (docs/INTERFACE.md).
bad=$(grep -v '^#' "$catalog" | grep -o '@[A-Z0-9_]*@' | sort -u | grep -v '^@KMSWATCH_[A-Z0-9_]*@$' || true)
if [ -n "$bad" ]; then
	echo "FAIL: unexpected field references: $bad" >&2
	fail=1
fi

entries=$(grep -c '^-- [0-9a-f]\{32\}$' "$catalog" || true)
[ $fail -eq 0 ] && echo "ok: $n MESSAGE_IDs of $(basename "$msgid_h") in the compiled catalog ($entries entries)"
exit $fail
