# SPDX-License-Identifier: ISC
"""atlas.credential_expiry against the fake cloud: kmswatch reads the
service account it uses itself (GET /orgs/{org}/serviceAccounts/{client})
and says so in the real journald and on a webhook before its secret
expires: warning and critical thresholds, an expired secret, the rule that
picks one of several secrets, missing org read (403), an unknown account
(404), a transient 500 that keeps the verdict, a rotation that resolves it,
nothing at all with an API key, and never the secret itself."""

import time

from client import wait_for
import kmsw
from kmsw import project

CHECK = "atlas.credential_expiry"
ORG = "5f1a2b3c4d5e6f7081920a1b"  # fakecloud's DEFAULT_ORG_ID
SA_URL = "/api/atlas/v2/orgs/%s/serviceAccounts/%s"
MASK = "mdb_sa_sk_..." + kmsw.SA_SECRET[-4:]
NEW_SECRET = "mdb_sa_sk_N3w-rotated-secret-9a8b"
DAY = 86400


def start(fc, daemons, projects=None, atlas_extra="", **kw):
    """A daemon reading its credential every second (atlas_extra goes into
    the atlas: block, where atlas.org_id lives)."""
    projects = [project(fc)] if projects is None else projects
    d = daemons(fc, projects, start=False, **kw)
    text = d.render_config().replace(
        "atlas:\n", "atlas:\n  credential_interval: 1s\n" + atlas_extra, 1)
    d.write_config(text)
    d.start()
    return d


def events(d, **match):
    return d.entries(KMSWATCH_CHECK=CHECK, **match)


def sa_reads(fc, org=ORG):
    return fc.requests(path=SA_URL % (org, kmsw.SA_ID))


def no_secret(d):
    text = kmsw.journal_all_text(_PID=str(d.pid)) + d.stderr_text()
    for s in (kmsw.SA_SECRET, NEW_SECRET):
        assert s not in text


def test_thresholds_restart_and_rotation(fc, daemons):
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 20 * DAY}])
    hook = "cred-hook"
    d = start(fc, daemons, sinks=[{"name": "hook", "url": fc.hook_url(hook, https=False)}])
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "warning" and e["PRIORITY"] == "4"
    assert e["MESSAGE_ID"] == kmsw.MSGID["atlas_credential_expiry"]
    assert e["KMSWATCH_SUBJECT"] == MASK
    assert e["KMSWATCH_ORG_ID"] == ORG
    assert e["KMSWATCH_DAYS_LEFT"] in ("19", "20")
    assert "KMSWATCH_PROJECT_ID" not in e and "KMSWATCH_PROJECT_NAME" not in e
    assert "kmswatch's Atlas credential" in e["MESSAGE"]
    assert "matches the configured client secret" in e["MESSAGE"], e["MESSAGE"]
    # the organization came from the project
    group = "/api/atlas/v2/groups/%s" % d.projects[0]["id"]
    assert [r for r in fc.requests(path=group) if r["path"] == group and r["status"] == 200]
    h = wait_for(lambda: fc.hook_bodies(hook), timeout=10)[0]
    assert h["check"] == CHECK and h["event"] == "firing" and h["severity"] == "warning"
    assert h["project"] == {"id": "", "name": "kmswatch's Atlas credential"}
    assert h["org"] == {"id": ORG}
    assert h["subject"] == MASK and h["details"]["days_left"] in (19, 20)
    assert h["alert_id"] == e["KMSWATCH_ALERT_ID"]

    # closer: critical
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 3 * DAY}])
    c = wait_for(lambda: events(d, KMSWATCH_EVENT="firing", KMSWATCH_SEVERITY="critical"),
                 timeout=20)[0]
    assert c["KMSWATCH_PREVIOUS_SEVERITY"] == "warning" and c["KMSWATCH_DAYS_LEFT"] in ("2", "3")

    # a restart neither re-announces nor forgets
    assert d.stop() == 0
    d.start()
    n = len(sa_reads(fc))
    wait_for(lambda: len(sa_reads(fc)) >= n + 3, timeout=20)
    assert events(d) == []

    # rotation: a new secret beside the old one, then the config follows
    fc.set_service_accounts({kmsw.SA_ID: NEW_SECRET})
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 3 * DAY},
                                   {"secret": NEW_SECRET, "expiresAt": now + 300 * DAY}])
    n = len(sa_reads(fc))
    wait_for(lambda: len(sa_reads(fc)) >= n + 2, timeout=20)
    assert events(d) == []  # still the old one in use: still critical, no news
    d._write_secret("atlas-secret", NEW_SECRET)
    d.reload()
    r = wait_for(lambda: events(d, KMSWATCH_EVENT="resolved"), timeout=20)[0]
    assert r["KMSWATCH_SUBJECT"] == MASK and r["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert "no longer detected" in r["MESSAGE"], r["MESSAGE"]
    bodies = wait_for(lambda: [b for b in fc.hook_bodies(hook) if b["event"] == "resolved"],
                      timeout=10)
    assert bodies[0]["alert_id"] == e["KMSWATCH_ALERT_ID"]
    no_secret(d)
    assert d.stop() == 0


def test_expired_is_critical(fc, daemons):
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now - 2 * DAY}])
    d = start(fc, daemons)
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "critical" and e["KMSWATCH_DAYS_LEFT"] == "-2"
    assert "expired 2 days ago" in e["MESSAGE"] and "goes blind" in e["MESSAGE"]
    no_secret(d)
    assert d.stop() == 0


def test_several_secrets(fc, daemons):
    now = int(time.time())
    # the configured one is recognisable by its visible end: it counts,
    # even though another lasts longer
    fc.set_sa_secrets(kmsw.SA_ID, [
        {"secret": kmsw.SA_SECRET, "expiresAt": now + 5 * DAY},
        {"maskedSecretValue": "mdb_sa_sk_...zzzz", "expiresAt": now + 200 * DAY}])
    d = start(fc, daemons)
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "critical" and e["KMSWATCH_SUBJECT"] == MASK
    assert "matches the configured client secret" in e["MESSAGE"]
    # no mask identifies it: the one that expires last is judged
    fc.set_sa_secrets(kmsw.SA_ID, [
        {"maskedSecretValue": "mdb_sa_sk_...yyyy", "expiresAt": now + 5 * DAY},
        {"maskedSecretValue": "mdb_sa_sk_...zzzz", "expiresAt": now + 20 * DAY}])
    w = wait_for(lambda: events(d, KMSWATCH_EVENT="firing", KMSWATCH_SUBJECT="mdb_sa_sk_...zzzz"),
                 timeout=20)[0]
    assert w["KMSWATCH_SEVERITY"] == "warning"
    assert "expires last of the 2" in w["MESSAGE"], w["MESSAGE"]
    wait_for(lambda: events(d, KMSWATCH_EVENT="resolved", KMSWATCH_SUBJECT=MASK), timeout=20)
    assert events(d, KMSWATCH_SUBJECT="mdb_sa_sk_...yyyy") == []
    assert d.stop() == 0


def test_forbidden_asks_for_org_read_and_keeps_the_verdict(fc, daemons):
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 20 * DAY}])
    d = start(fc, daemons)
    wait_for(lambda: events(d, KMSWATCH_EVENT="firing", KMSWATCH_SUBJECT=MASK), timeout=20)
    fc.set_sa_meta(kmsw.SA_ID, org_read=False)
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing", KMSWATCH_SUBJECT=kmsw.SA_ID),
                 timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "warning"
    assert "grant it Organization Read Only on organization %s" % ORG in e["MESSAGE"]
    assert "USER_UNAUTHORIZED" in e["MESSAGE"]
    # the secret still expires: its alert stays
    n = len(sa_reads(fc))
    wait_for(lambda: len(sa_reads(fc)) >= n + 3, timeout=20)
    assert events(d, KMSWATCH_EVENT="resolved") == []
    fc.set_sa_meta(kmsw.SA_ID, org_read=True)
    r = wait_for(lambda: events(d, KMSWATCH_EVENT="resolved"), timeout=20)
    assert [x["KMSWATCH_SUBJECT"] for x in r] == [kmsw.SA_ID]
    assert d.stop() == 0


def test_unknown_account_is_critical(fc, daemons):
    fc.set_sa_meta(kmsw.SA_ID, listed=False)
    d = start(fc, daemons)
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "critical" and e["KMSWATCH_SUBJECT"] == kmsw.SA_ID
    assert "cannot find service account %s in organization %s" % (kmsw.SA_ID, ORG) \
        in e["MESSAGE"]
    assert d.stop() == 0


def test_transient_failure_keeps_the_verdict(fc, daemons):
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 20 * DAY}])
    d = start(fc, daemons)
    wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)
    fc.add_fault("/api/atlas/v2/orgs/", status=500, count=-1)
    # fetch retries three times with backoff (1 s, 2 s, 4 s) before giving up
    wait_for(lambda: "cannot read service account" in d.stderr_text(), timeout=40)
    assert "the last verdict stands" in d.stderr_text()
    assert events(d, KMSWATCH_EVENT="resolved") == []
    fc.clear_faults()
    wait_for(lambda: "read again" in d.stderr_text(), timeout=40)
    assert events(d, KMSWATCH_EVENT="resolved") == []
    assert len(events(d, KMSWATCH_EVENT="firing")) == 1
    assert d.stop() == 0


def test_configured_org_needs_no_project(fc, daemons):
    other = "0123456789abcdef01234567"
    fc.set_sa_meta(kmsw.SA_ID, orgId=other)
    p = project(fc)
    d = start(fc, daemons, projects=[p], atlas_extra="  org_id: %s\n" % other)
    wait_for(lambda: [r for r in sa_reads(fc, other) if r["status"] == 200], timeout=20)
    group = "/api/atlas/v2/groups/%s" % p["id"]
    assert fc.requests(path=group + "/encryptionAtRest")  # polled, but never asked for the org
    assert [r for r in fc.requests(path=group) if r["path"] == group] == []
    assert events(d) == []  # 365 days left: ok, nothing to say
    assert d.stop() == 0


def test_api_key_does_not_apply(fc, daemons):
    d = start(fc, daemons, auth="api_key")
    wait_for(lambda: "atlas.credential_expiry does not apply" in d.stderr_text(), timeout=20)
    p = d.projects[0]
    wait_for(lambda: len(d.ear_requests(p["id"])) >= 3, timeout=20)
    assert fc.requests(path="/api/atlas/v2/orgs/") == []
    assert events(d) == []
    assert d.stderr_text().count("does not apply") == 1
    assert d.stop() == 0


def test_switch_to_api_key_resolves(fc, daemons):
    """The check stops applying (API key, or switched off): its alert
    resolves once, saying why, and the service account is no longer read."""
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 3 * DAY}])
    d = start(fc, daemons)
    wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)
    d.write_config(d.render_config().replace(
        "atlas:\n", "atlas:\n  credential_interval: 1s\n", 1) +
        "checks:\n  atlas.credential_expiry: {enabled: false}\n")
    d.reload()
    r = wait_for(lambda: events(d, KMSWATCH_EVENT="resolved"), timeout=20)[0]
    assert "atlas.credential_expiry is switched off" in r["MESSAGE"], r["MESSAGE"]
    time.sleep(1.5)
    n = len(sa_reads(fc))
    time.sleep(2.5)
    assert len(sa_reads(fc)) == n
    # on again, then an API key
    d.write_config(d.render_config().replace("atlas:\n", "atlas:\n  credential_interval: 1s\n", 1))
    d.reload()
    wait_for(lambda: len(events(d, KMSWATCH_EVENT="firing")) == 2, timeout=20)
    d.auth = "api_key"
    d._write_secret("atlas-secret", kmsw.API_PRIV)
    d.write_config()
    d.reload()
    r = wait_for(lambda: len(events(d, KMSWATCH_EVENT="resolved")) == 2 and
                 events(d, KMSWATCH_EVENT="resolved"), timeout=20)[-1]
    assert "no longer uses an Atlas service account" in r["MESSAGE"], r["MESSAGE"]
    wait_for(lambda: "atlas.credential_expiry does not apply" in d.stderr_text(), timeout=10)
    assert d.stop() == 0


def test_org_from_the_first_project_that_answers(fc, daemons):
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 20 * DAY}])
    p1, p2 = project(fc), project(fc)
    fc.forbid(p1["id"])
    d = start(fc, daemons, projects=[p1, p2])
    e = wait_for(lambda: events(d, KMSWATCH_EVENT="firing"), timeout=20)[0]
    assert e["KMSWATCH_ORG_ID"] == ORG
    assert "(of project %s)" % p2["id"] in d.stderr_text()
    assert d.stop() == 0


def test_no_project_answers_is_only_logged(fc, daemons):
    """Every project unreadable: each has its atlas.access alert already;
    the organization stays unknown, which is logged, not alerted."""
    p = project(fc)
    fc.forbid(p["id"])
    d = start(fc, daemons, projects=[p])
    wait_for(lambda: "no project told its organization" in d.stderr_text(), timeout=20)
    assert "set atlas.org_id" in d.stderr_text()
    assert events(d) == []
    assert sa_reads(fc) == []
    assert d.stop() == 0



def test_unreadable_projects_are_asked_a_few_at_a_time(fc, daemons):
    """The organization is learnt from at most three projects a round (six
    unreadable ones: three, then the next three, never all in series), so
    thousands of projects the account cannot read do not put thousands of
    requests in a row before every check."""
    ps = [project(fc) for _ in range(6)]
    for p in ps:
        fc.forbid(p["id"])
    d = start(fc, daemons, projects=ps)

    def asked():
        paths = ["/api/atlas/v2/groups/%s" % p["id"] for p in ps]
        return [r["path"] for r in fc.requests(path="/api/atlas/v2/groups/")
                if r["path"] in paths]
    wait_for(lambda: len(asked()) >= 6, timeout=20)
    first = asked()[:6]
    ids = ["/api/atlas/v2/groups/%s" % p["id"] for p in ps]
    assert first == ids, first  # config order, going on where the last round stopped
    # the first round gave up after the third project
    assert "no project told its organization (the last: project %s:" % ps[2]["id"] \
        in d.stderr_text(), d.stderr_text()
    assert d.stop() == 0

def test_once_includes_the_own_credential(fc, daemons):
    import json
    import subprocess
    now = int(time.time())
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": now + 20 * DAY}])
    p = project(fc)
    d = daemons(fc, [p], start=False)

    def once(*args):
        return subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config] + list(args),
                              capture_output=True, text=True, timeout=60)
    r = once("--format", "json")
    assert r.returncode == 1, r.stdout + r.stderr
    rows = [x for x in json.loads(r.stdout) if x["check"] == CHECK]
    assert len(rows) == 1 and rows[0]["severity"] == "warning", rows
    assert rows[0]["project_id"] == "" and rows[0]["project_name"] == "kmswatch's Atlas credential"
    assert rows[0]["org_id"] == ORG and rows[0]["subject"] == MASK
    assert rows[0]["days_left"] in (19, 20)
    r = once("--format", "nagios")
    assert r.returncode == 1
    assert r.stdout.startswith("KMSWATCH WARNING - kmswatch's Atlas credential "
                               "atlas.credential_expiry: "), r.stdout
    # --project names projects: the own credential is none of them
    n = len(sa_reads(fc))
    r = once("--project", p["name"])
    assert r.returncode == 0 and CHECK not in r.stdout, r.stdout
    assert len(sa_reads(fc)) == n
    # a transient failure is no verdict: no row
    fc.add_fault("/api/atlas/v2/orgs/", status=500, count=-1)
    r = once("--format", "json", "--timeout", "30s")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [x for x in json.loads(r.stdout) if x["check"] == CHECK] == []
    assert "no verdict" in r.stderr
    for s in (r.stdout, r.stderr):
        assert kmsw.SA_SECRET not in s
