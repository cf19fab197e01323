#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The unit's LoadCredential= lines match the example config, speaking TAP.

Every {credential: NAME} that conf/kmswatch.yaml names (in use or commented
out) needs a LoadCredential=NAME line in systemd/kmswatch.service.in (in use
or commented out: the operator uncomments both together), and the unit
names no credential the example does not use. A third check feeds itself a
config with one more credential, which must be caught.
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..")


def config_names(text):
    # NAME is the placeholder of the file's own rules, not a credential
    return set(re.findall(r"\{credential:\s*([A-Za-z0-9_.@-]+)\s*\}", text)) - {"NAME"}


def unit_names(text):
    return set(re.findall(r"(?m)^#?LoadCredential=([A-Za-z0-9_.@-]+)", text))


def main():
    with open(os.path.join(TOP, "conf", "kmswatch.yaml"), encoding="utf-8") as f:
        conf = f.read()
    with open(os.path.join(TOP, "systemd", "kmswatch.service.in"), encoding="utf-8") as f:
        unit = f.read()
    c, u = config_names(conf), unit_names(unit)
    res = [
        ("every credential of the example has a LoadCredential= line", not (c - u),
         ", ".join(sorted(c - u))),
        ("the unit loads no credential the example does not name", not (u - c),
         ", ".join(sorted(u - c))),
        ("a credential the unit lacks is caught",
         bool(config_names(conf + "\n# x: {credential: extra-one}\n") - u), ""),
    ]
    print("1..%d" % len(res))
    bad = 0
    for i, (name, ok, why) in enumerate(res, 1):
        print("%s %d - %s%s" % ("ok" if ok else "not ok", i, name, "" if ok else " (%s)" % why))
        bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
