#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""check_dashboard.py DASHBOARD.json — the Grafana dashboard is valid JSON
with a Prometheus datasource variable that every panel and query uses,
unique panel ids, the panels the README promises, and every query a valid
PromQL expression naming only metrics kmswatchd exports (each is run
through `promtool check rules` in a scratch rule file)."""

import json
import os
import re
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WANTED = ["Projects by severity of firing alerts", "Days to credential expiry",
          "Last success per project and source", "Delivery backlog"]


def exported():
    """The family names daemon/exporter.c declares."""
    with open(os.path.join(TOP, "daemon", "exporter.c")) as f:
        return set(re.findall(r'\{"(kmswatch_[a-z_]+)"', f.read()))


def main(path):
    problems = []
    with open(path) as f:
        dash = json.load(f)
    var = [v for v in dash.get("templating", {}).get("list", [])
           if v.get("type") == "datasource" and v.get("query") == "prometheus"]
    if len(var) != 1:
        problems.append("no (or more than one) Prometheus datasource variable")
    uid = "${%s}" % var[0]["name"] if var else None
    titles = [p.get("title") for p in dash.get("panels", [])]
    for t in WANTED:
        if t not in titles:
            problems.append("no panel %r" % t)
    ids = [p.get("id") for p in dash.get("panels", [])]
    if len(ids) != len(set(ids)):
        problems.append("panel ids repeat")
    names = exported()
    exprs = []
    for p in dash.get("panels", []):
        for obj in [p] + p.get("targets", []):
            if obj.get("datasource", {}).get("uid") != uid:
                problems.append("panel %r: not on the datasource variable" % p.get("title"))
        for t in p.get("targets", []):
            e = t.get("expr", "")
            exprs.append((p.get("title"), e))
            for m in re.findall(r'kmswatch_[a-z_]+', e):
                base = re.sub(r'_(bucket|sum|count)$', "", m)
                if m not in names and base not in names:
                    problems.append("panel %r: %s is not a kmswatchd metric" % (p.get("title"), m))
    if not exprs:
        problems.append("no queries")
    # promtool checks PromQL in rule files: one recording rule per query,
    # with the dashboard variables given values
    with tempfile.TemporaryDirectory() as d:
        rules = os.path.join(d, "q.yml")
        with open(rules, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (_, e) in enumerate(exprs):
                e = e.replace("$project", ".*")
                f.write("      - record: dashboard:q%d\n        expr: %s\n" % (i, json.dumps(e)))
        r = subprocess.run(["promtool", "check", "rules", rules], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("promtool refuses a query: %s" % (r.stdout + r.stderr).strip())
    for p in problems:
        print("check_dashboard: %s: %s" % (path, p), file=sys.stderr)
    if not problems:
        print("check_dashboard: %s: ok (%d panels, %d queries)" % (path, len(titles), len(exprs)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
