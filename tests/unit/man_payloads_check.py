#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Every webhook payload field kmswatch sends is documented, speaking TAP.

The C unit test (test_render) pins each rendered body to a golden file in
data/render/; this script reads those files and requires, per sink type,
that the WEBHOOK PAYLOADS section of man/kmswatchd.8 names the type and
every key of its bodies (top level, and one level down for project,
details, payload, labels and annotations). A field added to a renderer and
its golden file but not to the man page fails here.
It also runs itself against a section with one field removed, which must
fail, so that a check that has quietly stopped checking shows up.
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "render")
MAN = os.path.join(HERE, "..", "..", "man", "kmswatchd.8")
TYPES = ("webhook", "slack", "mattermost", "teams", "pagerduty", "alertmanager")
NESTED = ("project", "org", "details", "payload", "labels", "annotations")


def section(text):
    m = re.search(r"^\.SH WEBHOOK PAYLOADS\n(.*?)^\.SH ", text, re.S | re.M)
    return m.group(1) if m else ""


def words(roff):
    """The words of a roff section, escapes and requests undone."""
    t = re.sub(r"\\f[BIRP]|\\c|\\\(\w\w|\\&", " ", roff)
    t = t.replace("\\-", "-")
    t = re.sub(r"^\.\w+", " ", t, flags=re.M)
    return set(re.findall(r"[A-Za-z0-9_]+", t))


def fields(kind):
    keys = set()
    for path in sorted(glob.glob(os.path.join(DATA, kind + "_*.json"))):
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        for item in doc if isinstance(doc, list) else [doc]:
            for k, v in item.items():
                keys.add(k)
                if k in NESTED and isinstance(v, dict):
                    keys.update(v)
    return keys


def missing(sec):
    have = words(sec)
    out = {}
    for kind in TYPES:
        want = fields(kind)
        gap = sorted(k for k in want | {kind} if k not in have)
        if not want:
            gap = ["(no golden files for %s)" % kind]
        if gap:
            out[kind] = gap
    return out


def main():
    with open(MAN, encoding="utf-8") as f:
        sec = section(f.read())
    results = []
    results.append(("the man page has a WEBHOOK PAYLOADS section", bool(sec), ""))
    gaps = missing(sec) if sec else {}
    for kind in TYPES:
        results.append(("every %s field is documented" % kind, kind not in gaps,
                        ", ".join(gaps.get(kind, []))))
    # the check must be able to fail: drop one documented field
    broken = re.sub(r"\bdedup_key\b", "dedupe", sec)
    results.append(("a section without dedup_key is caught",
                    "dedup_key" in missing(broken).get("pagerduty", []), ""))
    print("1..%d" % len(results))
    bad = 0
    for i, (name, ok, why) in enumerate(results, 1):
        print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name,
                                "" if ok or not why else " (undocumented: %s)" % why))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
