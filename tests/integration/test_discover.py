# SPDX-License-Identifier: ISC
"""discover: kmswatchd watches every project its Atlas identity can list
(GET /groups, or /orgs/{id}/groups for discover.org_ids), every page of it,
filtered by include/exclude; new projects are watched without a restart,
vanished ones dropped with an info event and their alerts resolved; a
failed listing keeps the last known set and says so with atlas.access."""

import json
import os
import subprocess
import time

import pytest

from client import azure_ear, wait_for
import kmsw

EAR = "/api/atlas/v2/groups/%s/encryptionAtRest"
GROUPS = "/api/atlas/v2/groups"
ORG_A = "5f1a2b3c4d5e6f7081920a1b"   # the fake's default organization
ORG_B = "6a7b8c9d0e1f2a3b4c5d6e7f"


def with_msgid(name):
    return kmsw.MSGID[name.lower()]


def discover_block(interval="2s", org_ids=None, include=None, exclude=None):
    lines = ["discover:", "  interval: %s" % interval]
    if org_ids:
        lines.append("  org_ids: [%s]" % ", ".join(org_ids))
    if include:
        lines.append("  include: [%s]" % ", ".join(json.dumps(x) for x in include))
    if exclude:
        lines.append("  exclude: [%s]" % ", ".join(json.dumps(x) for x in exclude))
    return "\n".join(lines)


def listed_project(fc, name=None, valid=True, org=None, hidden=None):
    """A project the fake lists (GET /groups) under a unique name."""
    gid = kmsw.new_group_id()
    fc.set_ear(gid, azure_ear(valid=valid))
    name = name or ("d-" + gid[-10:])
    fc.set_project(gid, name=name, org_id=org, hidden=hidden)
    return {"id": gid, "name": name}


def polled(fc, p):
    return [r for r in fc.requests(path=EAR % p["id"]) if r["path"] == EAR % p["id"]]


def listing_requests(fc, path=GROUPS):
    return [r for r in fc.requests(path=path) if r["path"] == path]


def discovery_events(d, **match):
    return d.entries(KMSWATCH_PROJECT_NAME="discovery", KMSWATCH_CHECK="atlas.access", **match)


def test_every_page_is_listed_and_polled(fc, daemons):
    fc.set_listing(7)   # 20 projects: pages of 7, 7 and 6
    ps = [listed_project(fc) for _ in range(20)]
    d = daemons(fc, [], extra=discover_block(interval="1h"), poll_interval="1h")
    for p in ps:
        wait_for(lambda p=p: polled(fc, p), timeout=20)
    reqs = listing_requests(fc)
    pages = sorted(r["query"] for r in reqs)
    assert len(reqs) == 3, pages
    assert all("itemsPerPage=500" in q for q in pages), pages
    e = wait_for(lambda: d.entries(MESSAGE="discovery: watching 20 projects (0 configured, "
                                   "20 discovered, 0 left out by discover.include/exclude)"),
                 timeout=5)
    assert e[0]["PRIORITY"] == "6"
    # the listing's own atlas.access is ok: nothing fires
    assert discovery_events(d, KMSWATCH_EVENT="firing") == []
    assert d.stop() == 0
    # the last known set is kept in the state directory
    with open(os.path.join(d.state_dir, "discover.json")) as f:
        doc = json.load(f)
    assert doc["version"] == 1
    assert {p["id"] for p in doc["sources"][0]["projects"]} == {p["id"] for p in ps}


def test_include_exclude(fc, daemons):
    tag = kmsw.new_group_id()[:6]
    prod = listed_project(fc, name="prod-%s-a" % tag)
    sandbox = listed_project(fc, name="prod-%s-sandbox" % tag)
    dev = listed_project(fc, name="dev-%s-c" % tag)
    d = daemons(fc, [], extra=discover_block(interval="1h", include=["^prod-%s" % tag],
                                             exclude=["-sandbox$"]),
                poll_interval="1h")
    wait_for(lambda: polled(fc, prod), timeout=15)
    wait_for(lambda: d.entries(MESSAGE="discovery: watching 1 project (0 configured, 1 "
                               "discovered, 2 left out by discover.include/exclude)"),
             timeout=5)
    time.sleep(1)
    assert polled(fc, sandbox) == [] and polled(fc, dev) == []
    assert d.stop() == 0


def test_bad_regex_is_a_config_error(fc, daemons):
    d = daemons(fc, [], extra=discover_block(include=["ok", "(unclosed"]), start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", d.config], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    lines = [x for x in r.stdout.splitlines() + r.stderr.splitlines() if "(unclosed" in x]
    assert lines, r.stdout + r.stderr
    with open(d.config) as f:
        lineno = [i + 1 for i, x in enumerate(f.read().splitlines()) if "(unclosed" in x][0]
    assert lines[0].startswith("%s:%d:" % (d.config, lineno)), lines[0]
    assert "discover.include[1]" in lines[0] and "regular expression" in lines[0]


def test_neither_projects_nor_discover_is_refused(fc, daemons):
    d = daemons(fc, [], start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", d.config], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "discover" in r.stdout + r.stderr
    d.extra = discover_block()
    d.write_config()
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", d.config], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "configuration valid: 0 projects and those discover: finds" in r.stdout


def test_appears_and_vanishes_without_restart(fc, daemons):
    a = listed_project(fc)
    d = daemons(fc, [], extra=discover_block(interval="2s"), poll_interval="1h")
    wait_for(lambda: polled(fc, a), timeout=15)
    # a new project with a broken key: watched at the next listing, its
    # alert in the journal
    b = listed_project(fc, valid=False)
    e = wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_DISCOVERED"),
                                   KMSWATCH_PROJECT_ID=b["id"]), timeout=15)[0]
    assert e["PRIORITY"] == "6" and b["name"] in e["MESSAGE"]
    assert e["KMSWATCH_PROJECT_NAME"] == b["name"]
    wait_for(lambda: d.events(b["name"], KMSWATCH_CHECK="ear.valid",
                              KMSWATCH_EVENT="firing"), timeout=15)
    # no longer visible: dropped with the info event, its alert resolved once
    fc.set_project(b["id"], hidden=True)
    e = wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE"),
                                   KMSWATCH_PROJECT_ID=b["id"]), timeout=15)[0]
    assert e["PRIORITY"] == "6" and "no longer" in e["MESSAGE"]
    wait_for(lambda: d.events(b["name"], KMSWATCH_CHECK="ear.valid",
                              KMSWATCH_EVENT="resolved"), timeout=10)
    n = len(polled(fc, b))
    time.sleep(3)
    assert len(polled(fc, b)) == n, "a dropped project is polled no more"
    assert polled(fc, a), "the other one stays"
    assert d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE"), KMSWATCH_PROJECT_ID=a["id"]) == []
    assert d.stop() == 0


FAILURES = {
    "mid-pagination 500": dict(status=500, exact=True, query={"pageNum": "2"},
                               body='{"error":500,"errorCode":"UNEXPECTED_ERROR"}'),
    "403": dict(status=403, exact=True,
                body='{"error":403,"errorCode":"USER_UNAUTHORIZED","detail":"no"}'),
    "malformed": dict(status=200, exact=True, query={"pageNum": "2"},
                      body='{"results": [{"id": "not-a-project"}], "totalCount": 3}'),
}


@pytest.mark.parametrize("kind", sorted(FAILURES))
def test_failed_listing_keeps_the_set(fc, daemons, kind):
    fc.set_listing(2)   # three pages
    ps = [listed_project(fc) for _ in range(5)]
    d = daemons(fc, [], extra=discover_block(interval="2s"), poll_interval="1s")
    for p in ps:
        wait_for(lambda p=p: polled(fc, p), timeout=15)
    # the listing breaks, and meanwhile one project is really gone from it
    gone = ps[0]
    fc.add_fault(GROUPS, count=-1, **FAILURES[kind])
    fc.set_project(gone["id"], hidden=True)
    e = wait_for(lambda: discovery_events(d, KMSWATCH_EVENT="firing"), timeout=40)[0]
    assert e["KMSWATCH_SEVERITY"] == "unknown" and e["KMSWATCH_SUBJECT"] == "groups"
    assert "5 projects it listed last" in e["MESSAGE"], e["MESSAGE"]
    if kind == "403":
        assert "403" in e["MESSAGE"] and "USER_UNAUTHORIZED" in e["MESSAGE"]
    elif kind == "malformed":
        assert "malformed" in e["MESSAGE"] and "not a project id" in e["MESSAGE"]
    else:
        assert "500" in e["MESSAGE"]
    assert d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE")) == []
    # a journal line says it too
    wait_for(lambda: [x for x in d.entries(PRIORITY="4") if "discovery:" in x["MESSAGE"]],
             timeout=5)
    # still watched while the listing fails
    n = len(polled(fc, gone))
    wait_for(lambda: len(polled(fc, gone)) > n + 1, timeout=10)
    assert d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE")) == []
    # recovered: resolved, and only now is the vanished project dropped
    fc.clear_faults()
    wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE"),
                               KMSWATCH_PROJECT_ID=gone["id"]), timeout=40)
    wait_for(lambda: discovery_events(d, KMSWATCH_EVENT="resolved"), timeout=40)
    assert d.stop() == 0


def test_sighup_lists_again(fc, daemons):
    a = listed_project(fc)
    d = daemons(fc, [], extra=discover_block(interval="1h"), poll_interval="1h")
    wait_for(lambda: polled(fc, a), timeout=15)
    assert len(listing_requests(fc)) == 1
    b = listed_project(fc)
    time.sleep(1)
    assert polled(fc, b) == []
    d.reload()
    wait_for(lambda: polled(fc, b), timeout=15)
    assert len(listing_requests(fc)) == 2
    assert d.stop() == 0


def test_listed_project_keeps_its_settings(fc, daemons):
    p = listed_project(fc, name="atlas-name-%s" % kmsw.new_group_id()[:6])
    mine = {"id": p["id"], "name": "my-name-%s" % kmsw.new_group_id()[:6],
            "expect_provider": "aws"}
    other = listed_project(fc)
    d = daemons(fc, [mine], extra=discover_block(interval="1h"), poll_interval="1h")
    # the configured expect_provider applies, under the configured name
    e = wait_for(lambda: d.events(mine["name"], KMSWATCH_CHECK="ear.enabled",
                                  KMSWATCH_EVENT="firing"), timeout=15)[0]
    assert e["KMSWATCH_PROJECT_ID"] == p["id"]
    wait_for(lambda: polled(fc, other), timeout=15)
    wait_for(lambda: d.entries(MESSAGE="discovery: watching 2 projects (1 configured, 1 "
                               "discovered, 0 left out by discover.include/exclude)"),
             timeout=5)
    assert d.events(p["name"]) == []
    # polled once per round, not twice
    time.sleep(1)
    assert len(polled(fc, p)) == 1
    assert d.stop() == 0


def test_org_ids_use_the_org_endpoint(fc, daemons):
    a = listed_project(fc, org=ORG_A)
    b = listed_project(fc, org=ORG_B)
    d = daemons(fc, [], extra=discover_block(interval="1h", org_ids=[ORG_B]),
                poll_interval="1h")
    wait_for(lambda: polled(fc, b), timeout=15)
    time.sleep(1)
    assert polled(fc, a) == []
    assert listing_requests(fc, "/api/atlas/v2/orgs/%s/groups" % ORG_B)
    assert listing_requests(fc) == []
    assert d.stop() == 0


def test_restart_during_outage_watches_the_last_set(fc, daemons):
    ps = [listed_project(fc) for _ in range(3)]
    d = daemons(fc, [], extra=discover_block(interval="1h"), poll_interval="1h")
    for p in ps:
        wait_for(lambda p=p: polled(fc, p), timeout=15)
    assert d.stop() == 0
    fc.clear_requests()
    fc.add_fault(GROUPS, exact=True, status=503, count=-1)
    d2 = daemons(fc, [], extra=discover_block(interval="1h"), poll_interval="1h",
                 state_dir=d.state_dir)
    for p in ps:
        wait_for(lambda p=p: polled(fc, p), timeout=15)
    e = wait_for(lambda: discovery_events(d2, KMSWATCH_EVENT="firing"), timeout=40)[0]
    assert "3 projects it listed last" in e["MESSAGE"]
    assert d2.stop() == 0


def test_once_discovers_first(fc, daemons):
    a = listed_project(fc)
    b = listed_project(fc, valid=False)
    d = daemons(fc, [], extra=discover_block(interval="1h"), start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    rows = json.loads(r.stdout)
    names = {x["project_name"] for x in rows}
    assert {a["name"], b["name"], "discovery"} <= names, names
    assert any(x["project_id"] == b["id"] and x["check"] == "ear.valid" and
               x["severity"] == "critical" for x in rows)
    # --project picks among the discovered ones
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "json",
                        "--project", a["name"]], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {x["project_name"] for x in json.loads(r.stdout)} == {a["name"], "discovery"}
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config,
                        "--project", "no-such-project"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 3 and "no-such-project" in r.stdout


def test_twelve_hundred_projects_in_pages_of_500(fc, daemons):
    """Atlas's own page size: 1,200 projects are three pages of 500."""
    tag = kmsw.new_group_id()[:6]
    keep = []
    for i in range(1200):
        gid = kmsw.new_group_id()
        name = ("keep-%s-%d" % (tag, i)) if i % 400 == 7 else ("other-%s-%d" % (tag, i))
        fc.set_project(gid, name=name)
        if name.startswith("keep-"):
            keep.append({"id": gid, "name": name})
    d = daemons(fc, [], extra=discover_block(interval="1h", include=["^keep-%s-" % tag]),
                poll_interval="1h")
    for p in keep:
        wait_for(lambda p=p: polled(fc, p), timeout=30)
    wait_for(lambda: d.entries(MESSAGE="discovery: watching 3 projects (0 configured, 3 "
                               "discovered, 1197 left out by discover.include/exclude)"),
             timeout=10)
    pages = sorted(r["query"] for r in listing_requests(fc))
    assert pages == ["pageNum=%d&itemsPerPage=500" % i for i in (1, 2, 3)], pages
    assert d.stop() == 0
    with open(os.path.join(d.state_dir, "discover.json")) as f:
        assert len(json.load(f)["sources"][0]["projects"]) == 1200


def test_reload_changes_the_filter_and_a_rejected_one_still_lists(fc, daemons):
    tag = kmsw.new_group_id()[:6]
    a = listed_project(fc, name="app-%s-a" % tag)
    b = listed_project(fc, name="app-%s-b-sandbox" % tag, valid=False)
    d = daemons(fc, [], extra=discover_block(interval="1h"), poll_interval="1h")
    wait_for(lambda: d.events(b["name"], KMSWATCH_CHECK="ear.valid",
                              KMSWATCH_EVENT="firing"), timeout=15)
    # a reload that leaves b out: dropped at once, its alert resolved
    d.extra = discover_block(interval="1h", exclude=["-sandbox$"])
    d.write_config()
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE"),
                               KMSWATCH_PROJECT_ID=b["id"]), timeout=15)
    wait_for(lambda: d.events(b["name"], KMSWATCH_CHECK="ear.valid",
                              KMSWATCH_EVENT="resolved"), timeout=10)
    assert d.entries(MESSAGE_ID=with_msgid("PROJECT_GONE"), KMSWATCH_PROJECT_ID=a["id"]) == []
    # a rejected file keeps the running config, and SIGHUP still lists
    n = len(listing_requests(fc))
    c = listed_project(fc, name="app-%s-c" % tag)
    d.write_config(d.render_config() + "no_such_key: 1\n")
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_rejected"]), timeout=10)
    wait_for(lambda: polled(fc, c), timeout=15)
    assert len(listing_requests(fc)) > n
    assert d.stop() == 0


def test_once_times_out_on_a_hanging_listing(fc, daemons):
    listed_project(fc)
    fc.add_fault(GROUPS, exact=True, hang=20, count=-1)
    d = daemons(fc, [], extra=discover_block(interval="1h"), start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "nagios",
                        "--timeout", "3s"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "waiting for the Atlas project listing" in r.stdout, r.stdout


def test_own_credential_learns_its_organization_from_the_listing(fc, daemons):
    """With discover: alone (no project configured) the listing's orgId
    is the service account's organization: atlas.credential_expiry reads
    the account there, without a GET /groups/{id} of its own, in --once
    (which waits for the listing) and in the daemon."""
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 400 * 86400}])
    a = listed_project(fc)
    sa_url = "/api/atlas/v2/orgs/%s/serviceAccounts/%s" % (ORG_A, kmsw.SA_ID)
    d = daemons(fc, [], extra=discover_block(interval="1h"), start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    own = [x for x in json.loads(r.stdout) if x["check"] == "atlas.credential_expiry"]
    assert len(own) == 1 and own[0]["severity"] == "ok", own
    assert own[0]["org_id"] == ORG_A
    assert [x for x in fc.requests(path=sa_url) if x["path"] == sa_url]
    group = "/api/atlas/v2/groups/%s" % a["id"]
    assert [x for x in fc.requests(path=group) if x["path"] == group] == []

    fc.clear_requests()
    d.start()
    wait_for(lambda: [x for x in fc.requests(path=sa_url) if x["path"] == sa_url], timeout=20)
    assert "of the projects discover: lists" in d.stderr_text()
    assert "set atlas.org_id" not in d.stderr_text()
    assert d.stop() == 0


def test_a_discovered_project_keeps_the_tokens_in_use(fc, daemons):
    """A listing that adds a project changes the set of watched projects,
    not the identities: the Entra tokens already fetched stay in use
    (a reload may change identities, a listing cannot)."""
    token = "/%s/oauth2/v2.0/token" % kmsw.TENANT
    a = listed_project(fc)
    fc.azure_default_world(group=a["id"])
    d = daemons(fc, [], azure=True, extra=discover_block(interval="2s"), poll_interval="1h")
    graph = lambda: len(fc.requests(path="/v1.0/applications"))  # noqa: E731
    wait_for(lambda: graph() >= 2, timeout=20)  # a's Azure rounds ran
    n = len(fc.requests(path=token))
    assert n >= 1
    b = listed_project(fc)
    fc.azure_default_world(group=b["id"])
    wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_DISCOVERED"),
                               KMSWATCH_PROJECT_ID=b["id"]), timeout=15)
    g = graph()
    wait_for(lambda: graph() >= g + 3, timeout=20)  # rounds of a and b since
    assert len(fc.requests(path=token)) == n, "tokens fetched again after a listing"
    assert d.events(b["name"], KMSWATCH_CHECK="azure.access") == []
    # a reload may change an identity: then the tokens are fetched anew
    d.reload()
    wait_for(lambda: len(fc.requests(path=token)) > n, timeout=20)
    assert d.stop() == 0


def test_a_listing_lets_the_rounds_in_flight_finish(fc, daemons):
    """A listing that adds a project leaves the Azure round of a watched
    project alone while it waits on an answer: the round finishes with it
    instead of being dropped and read again."""
    apps = "/v1.0/applications"
    a = listed_project(fc)
    fc.azure_default_world(group=a["id"])
    # a's first Graph read waits 6 s: long enough for a listing to land
    fc.add_fault(apps, hang=6, count=1)
    d = daemons(fc, [], azure=True, azure_interval="1h", poll_interval="1h",
                extra=discover_block(interval="1s"))
    graph = lambda: len(fc.requests(path=apps))  # noqa: E731
    wait_for(lambda: graph() >= 1, timeout=20)
    hung_at = time.monotonic()
    b = listed_project(fc)
    fc.azure_default_world(group=b["id"])
    wait_for(lambda: d.entries(MESSAGE_ID=with_msgid("PROJECT_DISCOVERED"),
                               KMSWATCH_PROJECT_ID=b["id"]), timeout=5)
    wait_for(lambda: graph() >= 2, timeout=10)  # b's round
    # past the hang: a's round got its answer and ended, nothing read again
    time.sleep(max(0, hung_at + 8 - time.monotonic()))
    assert graph() == 2, "Graph read %d times for 2 projects: a round ran again" % graph()
    assert d.events(a["name"], KMSWATCH_CHECK="azure.access") == []
    assert d.stop() == 0
