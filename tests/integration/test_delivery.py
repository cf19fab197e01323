# SPDX-License-Identifier: ISC
"""Durable delivery end to end: the real kmswatchd, its on-disk outbox and
the fake cloud's webhook receivers (and a real Prometheus Alertmanager).

A sink that is down for a while gets every event once it is back, in order,
once per webhook-id; kill -9 at random points loses nothing and duplicates
only under the same webhook-id; Retry-After is honoured; a permanent 4xx is
journaled and dropped; a full state directory is journaled while polling
and delivery go on; routing follows min_severity and resolutions follow
their firing; a hanging sink delays no other; two kmswatchd feeding one
Alertmanager are deduplicated by it."""

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

from client import azure_ear, wait_for
import kmsw
from kmsw import project

RECORD_RE = re.compile(r"^\d{16}\.json$")


# ---- helpers -----------------------------------------------------------------

def sinks_yaml(sinks):
    """The notify: block (kmsw.Daemon's own knows only a few keys)."""
    lines = ["notify:"]
    for s in sinks:
        lines.append("  - name: %s" % s["name"])
        lines.append("    type: %s" % s.get("type", "webhook"))
        for k in ("url", "min_severity", "min_interval", "max_age", "resend_interval",
                  "routing_key"):
            if k in s:
                lines.append("    %s: %s" % (k, s[k]))
    return "\n".join(lines)


def start(daemons, fc, projects, sinks, alerts="  confirm_resolved: 1", **kw):
    extra = "alerts:\n" + alerts + "\n" + sinks_yaml(sinks)
    return daemons(fc, projects, extra=extra, **kw)


def uniq(prefix):
    return "%s-%s" % (prefix, os.urandom(4).hex())


def journal_events(names):
    """Event entries of these projects (all processes), oldest first."""
    args = ["journalctl", "-o", "json", "--no-pager", "--all"]
    args += ["KMSWATCH_PROJECT_NAME=%s" % n for n in names]
    out = subprocess.run(args, capture_output=True, text=True, timeout=30).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def delivered(fc, hook):
    """Bodies received on a hook, one per webhook-id (first arrival), in
    arrival order; asserts that a repeated id carried the same body."""
    seen, out = {}, []
    for h in fc.hooks(hook):
        hid = h["headers"]["webhook-id"]
        if hid in seen:
            assert seen[hid] == h["body"], "webhook-id %s reused for another body" % hid
            continue
        seen[hid] = h["body"]
        out.append(json.loads(h["body"]))
    return out


def news(evs):
    """(alert_id, event, severity) of journal entries or webhook bodies."""
    out = []
    for e in evs:
        if "KMSWATCH_EVENT" in e:
            out.append((e["KMSWATCH_ALERT_ID"], e["KMSWATCH_EVENT"], e["KMSWATCH_SEVERITY"]))
        else:
            out.append((e["alert_id"], e["event"], e["severity"]))
    return out


def records(state_dir, sink):
    d = os.path.join(state_dir, "outbox", sink)
    try:
        return sorted(f for f in os.listdir(d) if RECORD_RE.match(f))
    except FileNotFoundError:
        return []


def wait_polled(d, projects, n=1, timeout=20):
    """Every project's EAR was read (and answered) n more times from now."""
    base = {p["id"]: len(d.ear_requests(p["id"])) for p in projects}

    def ok():
        for p in projects:
            reqs = d.ear_requests(p["id"])
            done = [r for r in reqs[base[p["id"]]:] if r.get("status") is not None]
            if len(done) < n:
                return False
        return True
    wait_for(ok, timeout=timeout, interval=0.1)


# ---- (a) a sink down for a while ------------------------------------------------

def test_sink_down_then_back_in_order_once(fc, daemons):
    ps = [project(fc) for _ in range(3)]
    hook = uniq("down")
    # down: first 503s, then connections closed without an answer
    fc.add_fault("/hooks/" + hook, status=503, count=-1)
    d = start(daemons, fc, ps, [{"name": "main", "url": fc.hook_url(hook, https=False)}])
    wait_polled(d, ps)
    for p in ps:
        fc.set_ear(p["id"], azure_ear(valid=False))
        time.sleep(1.2)  # one event per poll: a known order
    fc.set_ear(ps[0]["id"], azure_ear(valid=True))
    want = wait_for(lambda: len(journal_events([p["name"] for p in ps])) >= 4 and
                    journal_events([p["name"] for p in ps]), timeout=20)
    assert len(records(d.state_dir, "main")) == 4, "the queue is not on disk"
    fc.clear_faults()
    fc.add_fault("/hooks/" + hook, close=True, count=-1)
    time.sleep(3)
    assert fc.hooks(hook) == []
    fc.clear_faults()
    # back: everything arrives, in event order, once per webhook-id
    got = wait_for(lambda: len(fc.hooks(hook)) >= 4 and fc.hooks(hook), timeout=40)
    time.sleep(2)
    got = fc.hooks(hook)
    ids = [g["headers"]["webhook-id"] for g in got]
    assert len(ids) == len(set(ids)) == 4, ids
    assert news(json.loads(g["body"]) for g in got) == news(want)
    assert [json.loads(g["body"])["event"] for g in got] == ["firing"] * 3 + ["resolved"]
    wait_for(lambda: records(d.state_dir, "main") == [], timeout=5)
    # the failed attempts were retried under the same ids
    attempts = [r for r in fc.requests(path="/hooks/" + hook) if r.get("fault")]
    assert attempts, "the sink was never tried while down"
    assert d.stop() == 0


# ---- (b) kill -9 at random points -------------------------------------------------

def test_kill9_loses_nothing(fc, daemons):
    ps = [project(fc) for _ in range(4)]
    names = [p["name"] for p in ps]
    hook = uniq("kill")
    # a slow receiver with a few failures: kills land mid-request
    script = []
    for i in range(600):
        script.append({"status": 500} if i % 7 == 3 else {"hang": 0.15})
    fc.hook_responses(hook, script)
    sinks = [{"name": "k", "url": fc.hook_url(hook, https=False)}]
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    state = {p["id"]: True for p in ps}
    state_dir = None
    kills = 0
    deadline = time.monotonic() + 150
    for i in range(20):
        if time.monotonic() > deadline:
            break
        d = start(daemons, fc, ps, sinks, state_dir=state_dir)
        state_dir = d.state_dir
        # change the world only once the restarted daemon has seen it:
        # what it announced before the kill is then what it sees again
        wait_polled(d, ps)
        for p in rng.sample(ps, rng.randint(1, len(ps))):
            state[p["id"]] = not state[p["id"]]
            fc.set_ear(p["id"], azure_ear(valid=state[p["id"]]))
        time.sleep(rng.uniform(0.0, 2.0))
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait()
        kills += 1
    assert kills >= 10
    d = start(daemons, fc, ps, sinks, state_dir=state_dir)
    wait_polled(d, ps, n=2)
    wait_for(lambda: records(state_dir, "k") == [], timeout=60)
    time.sleep(1)
    assert d.stop() == 0
    assert records(state_dir, "k") == []
    assert not [f for f in os.listdir(os.path.join(state_dir, "outbox", "k"))
                if f.endswith(".bad")], "a record was damaged"

    got = delivered(fc, hook)
    journaled = journal_events(names)
    for p in ps:
        aid = kmsw_alert_id(journaled, p["name"])
        if aid is None:
            assert state[p["id"]], "an invalid EAR was never announced"
            continue
        # what the daemons announced, consecutive re-announcements of the
        # same news (after a restart) collapsed ...
        said = []
        for n in news(e for e in journaled if e.get("KMSWATCH_ALERT_ID") == aid):
            if not said or said[-1] != n:
                said.append(n)
        # ... is exactly what the receiver got, one per webhook-id
        heard = [n for n in news(got) if n[0] == aid]
        assert heard == said, "project %s: heard %s, said %s" % (p["name"], heard, said)
        assert [n[1] for n in heard] == ["firing", "resolved"] * (len(heard) // 2) + \
            (["firing"] if len(heard) % 2 else [])
        assert heard[-1][1] == ("resolved" if state[p["id"]] else "firing")


def kmsw_alert_id(entries, name):
    for e in entries:
        if e.get("KMSWATCH_PROJECT_NAME") == name and e.get("KMSWATCH_CHECK") == "ear.valid":
            return e["KMSWATCH_ALERT_ID"]
    return None


# ---- (c) Retry-After ---------------------------------------------------------------

def test_retry_after_is_honoured(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    hook = uniq("ra")
    fc.hook_responses(hook, [{"status": 429, "headers": {"Retry-After": "3"}},
                             {"status": 503, "headers": {"Retry-After": "2"}}])
    d = start(daemons, fc, [p], [{"name": "ra", "url": fc.hook_url(hook, https=False)}])
    got = wait_for(lambda: len(fc.hooks(hook)) >= 3 and fc.hooks(hook), timeout=30)
    gap1 = got[1]["time"] - got[0]["time"]
    gap2 = got[2]["time"] - got[1]["time"]
    assert 2.9 <= gap1 < 4.5, gap1
    assert 1.9 <= gap2 < 3.5, gap2
    assert len({g["headers"]["webhook-id"] for g in got}) == 1
    warn = wait_for(lambda: [e for e in d.entries() if "HTTP 429" in e["MESSAGE"]], timeout=5)
    assert "attempt 2 in 3000ms" in warn[0]["MESSAGE"]
    time.sleep(1.5)
    assert len(fc.hooks(hook)) == 3
    assert d.stop() == 0


# ---- (d) permanent failures ----------------------------------------------------------

def test_permanent_400_and_410_are_journaled_and_dropped(fc, daemons):
    ps = [project(fc), project(fc)]
    hook = uniq("perm")
    fc.hook_responses(hook, [{"status": 400}, {"status": 410}])
    d = start(daemons, fc, ps, [{"name": "perm", "url": fc.hook_url(hook, https=False)}])
    wait_polled(d, ps)
    for p in ps:
        fc.set_ear(p["id"], azure_ear(valid=False))
        time.sleep(1.2)
    fails = wait_for(lambda: len(d.entries(MESSAGE_ID=kmsw.MSGID["delivery_failed"])) >= 2 and
                     d.entries(MESSAGE_ID=kmsw.MSGID["delivery_failed"]), timeout=15)
    assert "permanent failure, HTTP 400" in fails[0]["MESSAGE"]
    assert "sink perm" in fails[0]["MESSAGE"] and ps[0]["name"] in fails[0]["MESSAGE"]
    assert "permanent failure, HTTP 410" in fails[1]["MESSAGE"]
    assert "Gone" in fails[1]["MESSAGE"]
    assert fails[0]["PRIORITY"] == "3"
    # dropped, not retried, and the queue goes on
    fc.set_ear(ps[0]["id"], azure_ear(valid=True))
    wait_for(lambda: [b for b in fc.hook_bodies(hook) if b["event"] == "resolved"], timeout=15)
    time.sleep(1.5)
    assert [b["event"] for b in fc.hook_bodies(hook)] == ["firing", "firing", "resolved"]
    assert records(d.state_dir, "perm") == []
    assert d.stop() == 0


# ---- (e) state directory full ----------------------------------------------------------

def test_state_dir_full(fc, daemons, small_tmpfs):
    ps = [project(fc), project(fc)]
    hook = uniq("full")
    state_dir = os.path.join(small_tmpfs, "state")
    fc.add_fault("/hooks/" + hook, status=503, count=-1)
    notify = kmsw.NotifySocket()
    d = start(daemons, fc, ps, [{"name": "full", "url": fc.hook_url(hook, https=False)}],
              state_dir=state_dir, env={"NOTIFY_SOCKET": notify.path})
    wait_polled(d, ps)
    filler = kmsw.fill(small_tmpfs)
    for p in ps:
        fc.set_ear(p["id"], azure_ear(valid=False))
    # a clear error, naming the disk's answer
    err = wait_for(lambda: [e for e in d.entries(MESSAGE_ID=kmsw.MSGID["state_write_failed"])
                            if "sink full" in e["MESSAGE"]], timeout=15)
    assert "No space left on device" in err[0]["MESSAGE"]
    assert "still delivered" in err[0]["MESSAGE"]
    assert len(err) == 1, "journaled once per failing streak"
    # and STATUS= says it while it lasts
    wait_for(lambda: [l for l in notify.lines()
                      if l.startswith("STATUS=") and "the disk refuses the queue" in l],
             timeout=15)
    # polling goes on, and the events are still attempted from memory
    wait_polled(d, ps, n=3)
    wait_for(lambda: len([r for r in fc.requests(path="/hooks/" + hook) if r.get("fault")]) >= 2,
             timeout=15)
    assert d.proc.poll() is None
    # space again: the queue reaches the disk, then the sink is back
    os.unlink(filler)
    wait_for(lambda: len(records(state_dir, "full")) == 2, timeout=30)
    fc.clear_faults()
    got = wait_for(lambda: len(fc.hooks(hook)) >= 2 and fc.hook_bodies(hook), timeout=40)
    assert sorted(b["project"]["name"] for b in got) == sorted(p["name"] for p in ps)
    wait_for(lambda: records(state_dir, "full") == [], timeout=10)
    # STATUS= stops saying it (at its next update, which may follow the
    # delivery by a moment)
    def latest_status():
        status = [l for l in notify.lines() if l.startswith("STATUS=")]
        return status[-1] if status else ""
    wait_for(lambda: "the disk refuses the queue" not in latest_status(), timeout=15)
    assert d.stop() == 0
    notify.close()
    # nothing half-written: every state file parses, no temporary left
    for root, _, files in os.walk(state_dir):
        for f in files:
            assert not f.endswith(".tmp"), f
            with open(os.path.join(root, f)) as fh:
                json.load(fh)
    with open(os.path.join(state_dir, "alerts.json")) as fh:
        assert len(json.load(fh)["alerts"]) == 2


# ---- (f) routing -------------------------------------------------------------------------

def test_routing_and_resolved_follows_firing(fc, daemons):
    p = project(fc)
    hooks = {k: uniq(k) for k in ("crit", "warn", "all")}
    sinks = [{"name": "crit", "url": fc.hook_url(hooks["crit"], https=False),
              "min_severity": "critical"},
             {"name": "warn", "url": fc.hook_url(hooks["warn"], https=False),
              "min_severity": "warning"},
             {"name": "all", "url": fc.hook_url(hooks["all"], https=False)}]
    d = start(daemons, fc, [p], sinks)
    wait_polled(d, [p])

    def events(k):
        return [(b["check"], b["event"], b["severity"]) for b in fc.hook_bodies(hooks[k])]

    # info: only where info is wanted
    fc.set_ear(p["id"], azure_ear(key_version="ab" * 16))
    wait_for(lambda: events("all"), timeout=15)
    # critical: everywhere
    fc.set_ear(p["id"], azure_ear(valid=False, key_version="ab" * 16))
    wait_for(lambda: events("crit"), timeout=15)
    # unknown (Atlas unreadable) ranks above warning, below critical
    fc.forbid(p["id"])
    wait_for(lambda: ("atlas.access", "firing", "unknown") in events("warn"), timeout=15)
    # a reload narrows "all" to critical: resolutions still go where the
    # firing went, new warnings no longer do
    sinks[2]["min_severity"] = "critical"
    d.extra = "alerts:\n  confirm_resolved: 1\n" + sinks_yaml(sinks)
    d.write_config()
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_reloaded"]), timeout=10)
    fc.unforbid(p["id"])
    fc.set_ear(p["id"], azure_ear(valid=True, key_version="ab" * 16))
    wait_for(lambda: len([e for e in events("all") if e[1] == "resolved"]) == 2, timeout=20)
    time.sleep(1.5)
    assert events("crit") == [("ear.valid", "firing", "critical"),
                              ("ear.valid", "resolved", "ok")]
    assert events("warn") == [("ear.valid", "firing", "critical"),
                              ("atlas.access", "firing", "unknown"),
                              ("atlas.access", "resolved", "ok"),
                              ("ear.valid", "resolved", "ok")] or \
        events("warn") == [("ear.valid", "firing", "critical"),
                           ("atlas.access", "firing", "unknown"),
                           ("ear.valid", "resolved", "ok"),
                           ("atlas.access", "resolved", "ok")]
    got = events("all")
    assert got[:3] == [("ear.config", "info", "info"), ("ear.valid", "firing", "critical"),
                       ("atlas.access", "firing", "unknown")]
    assert sorted(got[3:]) == [("atlas.access", "resolved", "ok"),
                               ("ear.valid", "resolved", "ok")]
    assert d.stop() == 0


# ---- (g) a hanging sink delays no other; rate limit queues -------------------------------

def test_hanging_sink_does_not_delay_others(fc, daemons):
    ps = [project(fc), project(fc)]
    slow, fast = uniq("slow"), uniq("fast")
    fc.add_fault("/hooks/" + slow, hang=60, count=-1)
    d = start(daemons, fc, ps, [{"name": "slow", "url": fc.hook_url(slow, https=False)},
                                {"name": "fast", "url": fc.hook_url(fast, https=False)}])
    wait_polled(d, ps)
    t0 = time.monotonic()
    fc.set_ear(ps[0]["id"], azure_ear(valid=False))
    wait_for(lambda: fc.hooks(fast), timeout=10)
    first = time.monotonic() - t0
    fc.set_ear(ps[1]["id"], azure_ear(valid=False))
    wait_for(lambda: len(fc.hooks(fast)) >= 2, timeout=10)
    assert first < 4, "the fast sink waited %.1fs" % first
    # polling goes on meanwhile, and the slow sink's events wait on disk
    wait_polled(d, ps, n=2)
    assert len(records(d.state_dir, "slow")) == 2
    assert records(d.state_dir, "fast") == []
    assert d.stop() == 0


def test_rate_limit_queues_never_drops(fc, daemons):
    ps = [project(fc) for _ in range(4)]
    hook = uniq("rate")
    d = start(daemons, fc, ps, [{"name": "chat", "type": "slack",
                                 "url": fc.hook_url(hook, https=False)}])
    wait_polled(d, ps)
    for p in ps:
        fc.set_ear(p["id"], azure_ear(valid=False))
    got = wait_for(lambda: len(fc.hooks(hook)) >= 4 and fc.hooks(hook), timeout=20)
    times = [g["time"] for g in got]
    # slack's default min_interval: one post per second
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:])), times
    bodies = [json.loads(g["body"]) for g in got]
    assert all("text" in b and "blocks" in b for b in bodies)
    assert sorted(b["text"] for b in bodies) == sorted(set(b["text"] for b in bodies))
    assert all(g["headers"]["webhook-id"].startswith("msg_") for g in got)
    assert "webhook-signature" not in got[0]["headers"]
    time.sleep(1.5)
    assert len(fc.hooks(hook)) == 4
    assert d.stop() == 0


# ---- recovery and removed sinks -----------------------------------------------------------

def test_queue_survives_restart_and_removed_sink_is_dropped(fc, daemons):
    p = project(fc)
    hook, gone = uniq("keep"), uniq("gone")
    fc.add_fault("/hooks/" + hook, status=500, count=-1)
    fc.add_fault("/hooks/" + gone, status=500, count=-1)
    sinks = [{"name": "keep", "url": fc.hook_url(hook, https=False)},
             {"name": "old sink/2", "url": fc.hook_url(gone, https=False)}]
    d = start(daemons, fc, [p], sinks)
    wait_polled(d, [p])
    fc.set_ear(p["id"], azure_ear(valid=False))
    wait_for(lambda: records(d.state_dir, "keep") and records(d.state_dir, "old%20sink%2F2"),
             timeout=15)
    [rec] = records(d.state_dir, "keep")
    with open(os.path.join(d.state_dir, "outbox", "keep", rec)) as f:
        doc = json.load(f)
    assert doc["version"] == 1 and doc["sink"] == "keep" and doc["id"].startswith("msg_")
    assert doc["event"]["kind"] == "firing" and doc["event"]["check"] == "ear.valid"
    text = json.dumps(doc)
    assert "hooks/" not in text and "127.0.0.1" not in text
    assert d.stop() == 0
    # a damaged record is moved aside and journaled, never a crash
    bad_dir = os.path.join(d.state_dir, "outbox", "keep")
    with open(os.path.join(bad_dir, "0000000000000099.json"), "w") as f:
        f.write('{"version":1,"sink":"keep","seq":99,')

    fc.clear_faults()
    d2 = start(daemons, fc, [p], sinks[:1], state_dir=d.state_dir)
    got = wait_for(lambda: fc.hooks(hook), timeout=15)
    assert got[0]["headers"]["webhook-id"] == doc["id"]
    assert json.loads(got[0]["body"])["observed_at"]
    wait_for(lambda: records(d.state_dir, "keep") == [], timeout=10)
    assert os.path.exists(os.path.join(bad_dir, "0000000000000099.json.bad"))
    msgs = [e["MESSAGE"] for e in d2.entries(MESSAGE_ID=kmsw.MSGID["delivery_failed"])]
    assert any("damaged" in m and "0000000000000099.json" in m for m in msgs), msgs
    assert any("old sink/2 is no longer configured" in m and "1 undelivered event" in m
               for m in msgs), msgs
    assert not os.path.exists(os.path.join(d.state_dir, "outbox", "old%20sink%2F2"))
    # the restarted engine did not announce the alert again
    time.sleep(2)
    assert len(fc.hooks(hook)) == 1
    assert fc.hooks(gone) == []
    assert d2.stop() == 0


# ---- (h) a real Alertmanager and two kmswatchd -------------------------------------------

@pytest.fixture
def alertmanager():
    exe = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if exe is None:
        pytest.skip("prometheus-alertmanager is not installed (tests/deps.sh installs it)")
    work = tempfile.mkdtemp(prefix="kmswatch-am-")
    cfg = os.path.join(work, "alertmanager.yml")
    with open(cfg, "w") as f:
        f.write('route:\n  receiver: "null"\n  group_wait: 1s\nreceivers:\n  - name: "null"\n')
    port = kmsw.free_port()
    log = open(os.path.join(work, "am.log"), "wb")
    proc = subprocess.Popen([exe, "--config.file=" + cfg, "--storage.path=" + work + "/data",
                             "--web.listen-address=127.0.0.1:%d" % port,
                             "--cluster.listen-address="],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    url = "http://127.0.0.1:%d" % port

    def ready():
        try:
            with urllib.request.urlopen(url + "/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return proc.poll() is not None and pytest.fail("alertmanager exited")
    wait_for(ready, timeout=20, interval=0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()
    shutil.rmtree(work, ignore_errors=True)


def am_alerts(url, project_name):
    with urllib.request.urlopen(url + "/api/v2/alerts", timeout=5) as r:
        return [a for a in json.load(r) if a["labels"].get("project") == project_name]


def test_alertmanager_dedups_two_instances(fc, daemons, alertmanager):
    p = project(fc, name=uniq("am"), doc=azure_ear(valid=False))
    sinks = [{"name": "am", "type": "alertmanager", "url": alertmanager,
              "resend_interval": "2s"}]
    d1 = start(daemons, fc, [p], sinks)
    d2 = start(daemons, fc, [p], sinks)
    got = wait_for(lambda: am_alerts(alertmanager, p["name"]), timeout=20)
    # both instances post, and keep re-posting while it fires
    wait_for(lambda: len([e for e in d2.events(p["name"], KMSWATCH_EVENT="firing")]) >= 2,
             timeout=15)
    time.sleep(5)
    got = am_alerts(alertmanager, p["name"])
    assert len(got) == 1, got
    a = got[0]
    assert a["labels"]["alertname"] == "KmswatchEarValid"
    assert a["labels"]["check"] == "ear.valid" and a["labels"]["severity"] == "critical"
    assert a["labels"]["project_id"] == p["id"]
    assert a["status"]["state"] == "active"
    # endsAt is pushed ahead by the re-posts (4 x resend_interval)
    ends = a["endsAt"]
    time.sleep(3)
    assert am_alerts(alertmanager, p["name"])[0]["endsAt"] > ends
    # fixed: both resolve it, and it stays resolved
    fc.set_ear(p["id"], azure_ear(valid=True))
    wait_for(lambda: am_alerts(alertmanager, p["name"]) == [], timeout=20)
    wait_for(lambda: len(d1.events(p["name"], KMSWATCH_EVENT="resolved")) >= 2, timeout=15)
    time.sleep(5)
    assert am_alerts(alertmanager, p["name"]) == []
    assert d1.stop() == 0
    assert d2.stop() == 0


# ---- recovery when the alert state lags behind the queue ----------------------------------

def test_reannouncement_after_crash_is_not_sent_twice(fc, daemons):
    """A crash between writing an event's record and writing the alert state
    that produced it: the restarted engine announces the event again, and
    the sink must not get it a second time under a new webhook-id (nor lose
    the resolution). alerts.json being a directory makes its writes fail,
    which holds that window open."""
    p = project(fc)
    hook = uniq("lag")
    fc.add_fault("/hooks/" + hook, status=500, count=-1)
    sinks = [{"name": "lag", "url": fc.hook_url(hook, https=False)}]
    d = start(daemons, fc, [p], sinks, start=False)
    os.makedirs(os.path.join(d.state_dir, "alerts.json"))
    d.start()
    wait_polled(d, [p])
    fc.set_ear(p["id"], azure_ear(valid=False))
    wait_for(lambda: records(d.state_dir, "lag"), timeout=15)
    [rec] = records(d.state_dir, "lag")
    with open(os.path.join(d.state_dir, "outbox", "lag", rec)) as f:
        queued_id = json.load(f)["id"]
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    os.rmdir(os.path.join(d.state_dir, "alerts.json"))

    fc.clear_faults()
    d2 = start(daemons, fc, [p], sinks, state_dir=d.state_dir)
    # announced again (journaled) but not sent again
    wait_for(lambda: len(d.events(p["name"], KMSWATCH_EVENT="firing")) >= 2, timeout=15)
    wait_for(lambda: [e for e in d2.entries() if "already queued before the restart as " +
                      queued_id in e["MESSAGE"]], timeout=10)
    time.sleep(1.5)
    got = fc.hooks(hook)
    assert [g["headers"]["webhook-id"] for g in got] == [queued_id]
    # and the resolution still reaches the sink
    fc.set_ear(p["id"], azure_ear(valid=True))
    wait_for(lambda: len(fc.hooks(hook)) == 2, timeout=15)
    assert [b["event"] for b in fc.hook_bodies(hook)] == ["firing", "resolved"]
    assert d2.stop() == 0


# ---- PagerDuty: the routing key is sent, never stored ----------------------------------------

def test_pagerduty_routing_key_never_on_disk(fc, daemons):
    p = project(fc)
    hook = uniq("pd")
    key = "R0UT1NG-" + os.urandom(8).hex()
    fc.add_fault("/hooks/" + hook, status=502, count=-1)
    d = start(daemons, fc, [p], [], start=False)
    keyfile = os.path.join(d.dir, "pd-key")
    fd = os.open(keyfile, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, (key + "\n").encode())
    os.close(fd)
    d.extra = "alerts:\n  confirm_resolved: 1\n" + sinks_yaml(
        [{"name": "oncall", "type": "pagerduty", "url": fc.hook_url(hook, https=False),
          "routing_key": "{file: %s}" % json.dumps(keyfile)}])
    d.write_config()
    d.start()
    wait_polled(d, [p])
    fc.set_ear(p["id"], azure_ear(valid=False))
    wait_for(lambda: records(d.state_dir, "oncall"), timeout=15)
    wait_for(lambda: [r for r in fc.requests(path="/hooks/" + hook) if r.get("fault")],
             timeout=10)
    for root, _, files in os.walk(d.state_dir):
        for name in files:
            with open(os.path.join(root, name), errors="replace") as f:
                assert key not in f.read(), "routing key on disk in " + name
    fc.clear_faults()
    got = wait_for(lambda: fc.hooks(hook), timeout=30)[0]
    body = json.loads(got["body"])
    assert body["routing_key"] == key
    assert body["event_action"] == "trigger"
    alert_id = d.events(p["name"], KMSWATCH_EVENT="firing")[0]["KMSWATCH_ALERT_ID"]
    assert body["dedup_key"] == alert_id
    assert got["headers"]["content-type"] == "application/json"
    assert got["headers"]["webhook-id"].startswith("msg_")
    assert d.stop() == 0
    assert key not in kmsw.journal_all_text(_PID=str(d.pid))
    assert key not in d.stderr_text()
