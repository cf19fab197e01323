#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Checks the Teams payloads kmswatch renders, speaking TAP.

usage: adaptivecard_check.py [FILE...]
       (default: every data/render/teams_*.json beside this script)

The C unit test (test_render) pins each rendered Teams body byte for byte to
a golden file; this script validates those files:

1. the Workflows envelope: {"type": "message", "attachments": [one
   attachment of contentType application/vnd.microsoft.card.adaptive,
   contentUrl null, content: the card]};
2. the card against the official Adaptive Card JSON schema of the version
   the card declares (data/render/adaptive-card-<version>.0.schema.json,
   copied verbatim from microsoft/AdaptiveCards, MIT: see the NOTICE file
   beside it); a version without a schema here fails, and so does one above
   1.5, the highest Teams renders;
3. what that schema lets through: it accepts each enum either exactly or
   through a case-insensitive pattern whose alternatives are not anchored
   (so "darkred" passes as a colour). Here every enum value must be one the
   schema lists, spelled as it lists it; every element and property must
   exist in the declared version (the schema's "version" annotations); and
   text that a person reads (TextBlock text, fact titles and values) must
   not be empty.

It also feeds itself broken cards, each of which must be rejected, so that
a check that has quietly stopped checking shows up as a failure.

python3-jsonschema (Debian) is needed. Without it the script skips, unless
CI or KMSWATCH_REQUIRE_JSONSCHEMA=1 is set in the environment: then it
fails.
"""

import copy
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data", "render")
TEAMS_MAX_VERSION = (1, 5)
CARD_TYPE = "application/vnd.microsoft.card.adaptive"


def version_tuple(v):
    try:
        major, minor = v.split(".")
        return (int(major), int(minor))
    except (AttributeError, ValueError):
        return None


def load_schema(version):
    path = os.path.join(DATA, "adaptive-card-%s.0.schema.json" % version)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Strict:
    """The checks the official schema is too lenient for."""

    def __init__(self, schema, version):
        self.defs = schema["definitions"]
        self.version = version
        self.errors = []

    def deref(self, s):
        while isinstance(s, dict) and "$ref" in s:
            s = self.defs[s["$ref"].rsplit("/", 1)[1]]
        return s

    def prop_schema(self, d, name):
        """The schema of a property, looked up through the allOf bases
        (elements list inherited properties as {})."""
        p = d.get("properties", {}).get(name)
        if p:
            return p
        for base in d.get("allOf", []):
            found = self.prop_schema(self.deref(base), name)
            if found:
                return found
        return p

    def check_version(self, where, s):
        v = s.get("version") if isinstance(s, dict) else None
        if v and version_tuple(v) > self.version:
            self.errors.append("%s needs Adaptive Cards %s" % (where, v))

    def check_enum(self, where, value, s):
        t = self.deref(s)
        enum = None
        for branch in t.get("anyOf", []) if isinstance(t, dict) else []:
            if "enum" in branch:
                enum = branch["enum"]
        if enum is None and isinstance(t, dict) and "enum" in t:
            enum = t["enum"]
        if enum is not None and value not in enum:
            self.errors.append("%s: %r is not one of %s" % (where, value, enum))

    def element(self, where, el):
        if not isinstance(el, dict) or el.get("type") not in self.defs:
            self.errors.append("%s: unknown element %r" % (where, el))
            return
        kind = el["type"]
        d = self.defs[kind]
        self.check_version(where + " (%s)" % kind, d)
        for name, value in el.items():
            s = self.prop_schema(d, name)
            if s is None:
                continue  # the schema itself reports unknown properties
            here = "%s.%s" % (where, name)
            self.check_version(here, s)
            if isinstance(value, str):
                self.check_enum(here, value, s)
        if kind == "TextBlock" and not el.get("text", "").strip():
            self.errors.append("%s: empty TextBlock" % where)
        if kind == "FactSet":
            if not el.get("facts"):
                self.errors.append("%s: FactSet without facts" % where)
            for i, fact in enumerate(el.get("facts", [])):
                for k in ("title", "value"):
                    if not isinstance(fact, dict) or not str(fact.get(k, "")).strip():
                        self.errors.append("%s.facts[%d]: empty %s" % (where, i, k))
        for child_key in ("items", "columns"):
            for i, child in enumerate(el.get(child_key, []) or []):
                self.element("%s.%s[%d]" % (where, child_key, i), child)

    def card(self, card):
        d = self.defs["AdaptiveCard"]
        for name, value in card.items():
            s = d.get("properties", {}).get(name)
            if s:
                self.check_version("card." + name, s)
                if isinstance(value, str):
                    self.check_enum("card." + name, value, s)
        body = card.get("body")
        if not body:
            self.errors.append("card: empty body")
        for i, el in enumerate(body or []):
            self.element("body[%d]" % i, el)


def problems(doc, jsonschema):
    """Every problem with one Teams payload, [] when it is fine."""
    out = []
    if not isinstance(doc, dict) or set(doc) != {"type", "attachments"}:
        return ["envelope: want exactly the keys type and attachments"]
    if doc["type"] != "message":
        out.append("envelope: type is %r, not 'message'" % doc["type"])
    atts = doc["attachments"]
    if not isinstance(atts, list) or len(atts) != 1:
        return out + ["envelope: want exactly one attachment"]
    att = atts[0]
    if not isinstance(att, dict) or set(att) != {"contentType", "contentUrl", "content"}:
        return out + ["attachment: want exactly contentType, contentUrl, content"]
    if att["contentType"] != CARD_TYPE:
        out.append("attachment: contentType %r" % att["contentType"])
    if att["contentUrl"] is not None:
        out.append("attachment: contentUrl must be null")
    card = att["content"]
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return out + ["card: type is not AdaptiveCard"]
    version = version_tuple(card.get("version"))
    if version is None:
        return out + ["card: version %r is not MAJOR.MINOR" % card.get("version")]
    if version > TEAMS_MAX_VERSION:
        out.append("card: version %s is above what Teams renders (1.5)" % card["version"])
    schema = load_schema(card["version"])
    if schema is None:
        return out + ["card: no schema here for version %s" % card["version"]]
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    for e in sorted(cls(schema).iter_errors(card), key=lambda e: list(e.absolute_path)):
        # the schema is anyOf all the way down: name the deepest cause
        while e.context:
            e = jsonschema.exceptions.best_match(e.context)
        path = "/".join(str(p) for p in e.absolute_path) or "(card)"
        out.append("schema: %s: %s" % (path, e.message[:300]))
    strict = Strict(schema, version)
    strict.card(card)
    return out + ["strict: " + m for m in strict.errors]


def broken_cards(good):
    """(description, payload) pairs that must each be rejected."""
    def mutate(fn):
        doc = copy.deepcopy(good)
        fn(doc["attachments"][0]["content"])
        return doc

    def first(card, kind):
        return next(el for el in card["body"] if el["type"] == kind)

    cases = [
        ("a colour the schema's pattern lets through",
         mutate(lambda c: first(c, "TextBlock").__setitem__("color", "darkred"))),
        ("a colour nobody knows",
         mutate(lambda c: first(c, "TextBlock").__setitem__("color", "Red"))),
        ("an enum value in other case than the schema spells it",
         mutate(lambda c: first(c, "TextBlock").__setitem__("weight", "BOLDER"))),
        ("a Teams-only key on the card (msteams)",
         mutate(lambda c: c.__setitem__("msteams", {"width": "Full"}))),
        ("a property from Adaptive Cards 1.5 (TextBlock style)",
         mutate(lambda c: first(c, "TextBlock").__setitem__("style", "heading"))),
        ("a fact without a value",
         mutate(lambda c: first(c, "FactSet")["facts"][0].pop("value"))),
        ("a fact with an empty title",
         mutate(lambda c: first(c, "FactSet")["facts"][0].__setitem__("title", ""))),
        ("an element type that does not exist",
         mutate(lambda c: c["body"].append({"type": "Headline", "text": "x"}))),
        ("a version Teams does not render",
         mutate(lambda c: c.__setitem__("version", "1.6"))),
        ("a version without a schema here",
         mutate(lambda c: c.__setitem__("version", "1.3"))),
    ]
    env = copy.deepcopy(good)
    env["attachments"][0]["contentUrl"] = "https://example.com/card"
    cases.append(("a contentUrl", env))
    env = copy.deepcopy(good)
    env["type"] = "AdaptiveCard"
    cases.append(("an envelope that is not a message", env))
    return cases


def main(argv):
    try:
        import jsonschema
        import jsonschema.exceptions
        import jsonschema.validators
    except ImportError:
        if os.environ.get("CI") or os.environ.get("KMSWATCH_REQUIRE_JSONSCHEMA") == "1":
            print("Bail out! python3-jsonschema is not installed")
            return 1
        print("1..0 # SKIP python3-jsonschema is not installed")
        return 0

    files = argv[1:] or sorted(glob.glob(os.path.join(DATA, "teams_*.json")))
    results = []
    if not files:
        results.append((False, "no Teams payload found in " + DATA, []))
    docs = []
    for path in files:
        name = os.path.basename(path)
        try:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            results.append((False, "%s: cannot read: %s" % (name, e), []))
            continue
        docs.append(doc)
        p = problems(doc, jsonschema)
        results.append((not p, "%s is a valid Workflows message with an Adaptive Card" % name, p))
    good = next((d for d in docs if not problems(d, jsonschema)), None)
    if good is not None:
        for what, doc in broken_cards(good):
            p = problems(doc, jsonschema)
            results.append((bool(p), "rejects " + what, [] if p else ["was accepted"]))

    print("1..%d" % len(results))
    failed = 0
    for i, (ok, what, details) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, what))
        for d in details if not ok else []:
            print("#   " + d)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
