# SPDX-License-Identifier: ISC
"""The daemon's life: reloads (good and bad), systemd notifications,
clean stops, -t and --once."""

import json
import os
import signal
import subprocess
import time

from client import azure_ear, wait_for
import kmsw
from kmsw import NotifySocket, project


def test_reload_with_broken_config_keeps_running(fc, daemons):
    p = project(fc)
    notify = NotifySocket()
    d = daemons(fc, [p], env={"NOTIFY_SOCKET": notify.path})
    wait_for(lambda: d.ear_requests(p["id"]), timeout=15)
    good = d.render_config()
    d.write_config(good + "pol_interval: 5m\n")
    d.reload()
    e = wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_rejected"]), timeout=10)
    lines = good.count("\n")
    assert "%s:%d:1:" % (d.config, lines + 1) in e[0]["MESSAGE"]
    assert e[0]["MESSAGE"].count(d.config) == 1, "the path is said once"
    assert "pol_interval" in e[0]["MESSAGE"]
    assert e[0]["PRIORITY"] == "3"
    # STATUS= keeps the rejection in view until a reload works
    wait_for(lambda: [l for l in notify.lines() if l.startswith("STATUS=")
                      and "last reload rejected: %s:%d:1:" % (d.config, lines + 1) in l],
             timeout=10)
    # still polling with the old config
    n = len(d.ear_requests(p["id"]))
    wait_for(lambda: len(d.ear_requests(p["id"])) >= n + 2, timeout=10)
    assert d.proc.poll() is None
    d.write_config(good)
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_reloaded"]), timeout=10)
    seen = len(notify.lines())
    wait_for(lambda: [l for l in notify.lines()[seen:] if l.startswith("STATUS=")], timeout=10)
    assert "rejected" not in [l for l in notify.lines() if l.startswith("STATUS=")][-1]
    assert d.stop() == 0
    notify.close()


def test_reload_adds_and_removes_projects(fc, daemons):
    p1 = project(fc, doc=azure_ear(valid=False))
    p2 = project(fc)
    d = daemons(fc, [p1])
    wait_for(lambda: d.events(p1["name"], KMSWATCH_EVENT="firing"), timeout=15)
    assert d.ear_requests(p2["id"]) == []
    before = len(d.ear_requests(p1["id"]))
    d.write_config(projects=[p2])
    d.reload()
    wait_for(lambda: d.ear_requests(p2["id"]), timeout=10)
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_reloaded"]), timeout=10)
    # the removed project's alert is resolved once, and it is polled no more
    r = wait_for(lambda: d.events(p1["name"], KMSWATCH_EVENT="resolved"), timeout=10)
    assert len(r) == 1 and "removed" in r[0]["MESSAGE"]
    time.sleep(0.5)
    n1 = len(d.ear_requests(p1["id"]))
    time.sleep(2.5)
    assert len(d.ear_requests(p1["id"])) == n1
    assert n1 >= before
    assert d.stop() == 0


def test_reload_storm_while_polls_wait_for_a_token(fc, daemons):
    """SIGHUPs arriving while every project's poll waits on a slow
    service-account token (short-lived, so it is fetched again and again):
    waiters are cancelled mid-wait, nothing crashes or leaks, and polling
    then works and announces once."""
    ps = [project(fc) for _ in range(4)]
    fc.set_token_ttl(2)
    fc.add_fault("/api/oauth/token", hang=0.4, count=-1)
    d = daemons(fc, ps, poll_interval="1s")
    wait_for(lambda: fc.requests(path="/api/oauth/token"), timeout=10)
    for i in range(24):
        if i % 3 == 1:
            d.write_config(projects=ps[:2])
        elif i % 3 == 2:
            d.write_config(projects=ps)
        d.reload()
        time.sleep(0.05 + (i % 4) * 0.06)
    assert d.proc.poll() is None, d.stderr_text()
    assert len(fc.requests(path="/api/oauth/token")) >= 2
    fc.clear_faults()
    fc.set_ear(ps[0]["id"], azure_ear(valid=False))
    e = wait_for(lambda: d.events(ps[0]["name"], KMSWATCH_EVENT="firing"), timeout=20)
    assert [x["KMSWATCH_CHECK"] for x in e] == ["ear.valid"]
    time.sleep(2)
    assert len(d.events(ps[0]["name"], KMSWATCH_EVENT="firing")) == 1
    for p in ps[1:]:
        assert d.events(p["name"], KMSWATCH_EVENT="firing") == []
    rc = d.stop()
    err = d.stderr_text()
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert rc == 0


def test_reload_keeps_unchanged_project_state(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [p])
    wait_for(lambda: d.events(p["name"], KMSWATCH_EVENT="firing"), timeout=15)
    for _ in range(3):
        d.reload()
        time.sleep(0.3)
    n = len(d.ear_requests(p["id"]))
    wait_for(lambda: len(d.ear_requests(p["id"])) >= n + 2, timeout=10)
    assert len(d.events(p["name"], KMSWATCH_EVENT="firing")) == 1
    assert d.events(p["name"], KMSWATCH_EVENT="resolved") == []
    assert d.stop() == 0


def test_notify_protocol(fc, daemons):
    ns = NotifySocket()
    try:
        p = project(fc)
        d = daemons(fc, [p], env={"NOTIFY_SOCKET": ns.path, "WATCHDOG_USEC": "400000"})
        wait_for(lambda: "READY=1" in ns.lines(), timeout=10)
        wait_for(lambda: any(l.startswith("STATUS=1 project") for l in ns.lines()), timeout=10)
        wait_for(lambda: ns.lines().count("WATCHDOG=1") >= 3, timeout=5)
        d.reload()
        wait_for(lambda: "RELOADING=1" in ns.lines(), timeout=10)
        wait_for(lambda: ns.lines().count("READY=1") >= 2, timeout=10)
        msgs = [m for _, m in ns.messages]
        rel = [m for m in msgs if "RELOADING=1" in m][0]
        usec = [l for l in rel.split("\n") if l.startswith("MONOTONIC_USEC=")]
        assert usec and int(usec[0].split("=")[1]) > 0
        assert d.stop() == 0
        # sent before exit, but the reader thread may not have taken it off
        # the socket yet when stop() returns
        wait_for(lambda: "STOPPING=1" in ns.lines(), timeout=2)
        status = [l for l in ns.lines() if l.startswith("STATUS=")]
        assert all("\n" not in s for s in status)
    finally:
        ns.close()


def test_sigterm_and_sigint_exit_cleanly_mid_transfer(fc, daemons):
    for sig in (signal.SIGTERM, signal.SIGINT):
        p = project(fc)
        # requests hang: stopping must cancel them, not wait
        fc.add_fault("/api/atlas/v2/groups/%s/encryptionAtRest" % p["id"], hang=30, count=-1)
        d = daemons(fc, [p])
        wait_for(lambda: d.ear_requests(p["id"]), timeout=10)
        time.sleep(0.3)
        t = time.monotonic()
        d.signal(sig)
        assert d.proc.wait(10) == 0
        assert time.monotonic() - t < 5
        err = d.stderr_text()
        assert "LeakSanitizer" not in err and "runtime error" not in err, err
        assert "still open at exit" not in err
        stopping = d.entries(MESSAGE_ID=kmsw.MSGID["stopping"])
        assert len(stopping) == 1


def test_stderr_mirrors_journal_when_not_journal(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [p])
    wait_for(lambda: d.events(p["name"]), timeout=15)
    assert d.stop() == 0
    err = d.stderr_text()
    assert "FIRING critical ear.valid %s" % p["name"] in err
    assert "started" in err


def run(args, **kw):
    return subprocess.run([kmsw.kmswatchd_path()] + args, capture_output=True, text=True,
                          timeout=60, **kw)


def test_config_check_flag(fc, daemons, tmp_path):
    p = project(fc)
    d = daemons(fc, [p], start=False)
    r = run(["-t", "-c", d.config])
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout
    bad = d.render_config().replace("poll_interval: 1s", "poll_interval: 1 fortnight")
    d.write_config(bad)
    r = run(["-t", "-c", d.config])
    assert r.returncode == 1
    assert r.stderr.startswith(d.config + ":1:16: ")
    missing = str(tmp_path / "nope.yaml")
    r = run(["-t", "-c", missing])
    assert r.returncode == 1 and missing in r.stderr


def test_once_modes(fc, daemons):
    ok = project(fc)
    d = daemons(fc, [ok], start=False)
    r = run(["--once", "-c", d.config])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ear.valid" in r.stdout and ok["name"] in r.stdout

    bad = project(fc, doc=azure_ear(valid=False))
    d.write_config(projects=[ok, bad])
    r = run(["--once", "-c", d.config, "--format", "json"])
    assert r.returncode == 2
    rows = json.loads(r.stdout)
    crit = [x for x in rows if x["severity"] == "critical"]
    assert crit and crit[0]["check"] == "ear.valid" and crit[0]["project_id"] == bad["id"]

    # rows come in a fixed order whatever order the reads finish in:
    # projects as configured, then checks in catalog order
    more = [project(fc) for _ in range(3)]
    order = [bad] + more + [ok]
    d.write_config(projects=order)
    r = run(["--once", "-c", d.config, "--format", "json"])
    rows = json.loads(r.stdout)
    # kmswatch's own credential (no project) comes last
    assert rows[-1]["check"] == "atlas.credential_expiry" and rows[-1]["project_id"] == ""
    ids = [x["project_id"] for x in rows if x["project_id"]]
    assert [k for i, k in enumerate(ids) if i == 0 or ids[i - 1] != k] == \
        [p["id"] for p in order], ids
    catalog = kmsw.CHECK_ORDER
    assert catalog[:2] == ["atlas.access", "ear.valid"] and len(catalog) >= 17, catalog
    for p in order:
        checks = [catalog.index(x["check"]) for x in rows if x["project_id"] == p["id"]]
        assert checks == sorted(checks), checks
    d.write_config(projects=[ok, bad])

    r = run(["--once", "-c", d.config, "--format", "nagios"])
    assert r.returncode == 2
    assert r.stdout.startswith("KMSWATCH CRITICAL - ")
    assert "| critical=1" in r.stdout.splitlines()[0]

    gone = {"id": kmsw.new_group_id(), "name": "gone"}
    d.write_config(projects=[ok, gone])
    r = run(["--once", "-c", d.config, "--format", "nagios"])
    assert r.returncode == 3, r.stdout
    assert "GROUP_NOT_FOUND" in r.stdout
    # nothing was written to the journal or state by --once
    assert not os.path.exists(d.state_dir)


def test_once_project_and_timeout(fc, daemons):
    ok, bad = project(fc), project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [ok, bad], start=False,
                sinks=[{"name": "s", "url": fc.hook_url("once-never", https=False),
                        "signed": True}])
    # --project: by name or id; only those are read
    fc.clear_requests()
    r = run(["--once", "-c", d.config, "--project", ok["name"], "--format", "nagios"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert fc.requests(path="/api/atlas/v2/groups/%s/encryptionAtRest" % bad["id"]) == []
    r = run(["--once", "-c", d.config, "--project", bad["id"]])
    assert r.returncode == 2 and bad["name"] in r.stdout and ok["name"] not in r.stdout
    r = run(["--once", "-c", d.config, "--project", "no-such-project"])
    assert r.returncode == 3
    assert r.stdout.startswith("KMSWATCH UNKNOWN - no project no-such-project in "), r.stdout
    # the sink's signing secret is never read by --once: unreadable is fine
    os.chmod(os.path.join(d.dir, "hook-secret"), 0)
    os.rename(os.path.join(d.dir, "hook-secret"), os.path.join(d.dir, "hook-secret.gone"))
    r = run(["--once", "-c", d.config, "--project", ok["name"]])
    assert r.returncode == 0, r.stdout + r.stderr
    # --timeout: a hanging Atlas is UNKNOWN, naming what was still open
    fc.add_fault("/api/atlas/v2/groups/%s/encryptionAtRest" % bad["id"], hang=30, count=-1)
    t0 = time.monotonic()
    r = run(["--once", "-c", d.config, "--timeout", "2s", "--format", "nagios"])
    took = time.monotonic() - t0
    fc.clear_faults()
    assert r.returncode == 3, r.stdout
    first = r.stdout.splitlines()[0]
    assert first.startswith("KMSWATCH UNKNOWN - timed out after 2s waiting for Atlas on %s"
                            % bad["name"]), first
    assert "critical=0;;0;0; warning=0;0;;0;" in first
    assert took < 10, took
    r = run(["--timeout", "5s"])
    assert r.returncode == 1 and "only apply to --once" in r.stderr
