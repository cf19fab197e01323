# SPDX-License-Identifier: ISC
"""The Prometheus exposition against the fake cloud: GET /metrics on
metrics.listen (values that match the fakes, the real `promtool check
metrics` with no complaint, 404 and 405, a bounded number of connections
that cannot stall the daemon, reloads that move, close and fail to move
the listener, a port taken at start) and metrics.textfile (atomic, the
same text, a failure logged once while the daemon runs on and the old
file stays)."""

import http.client
import os
import re
import socket
import subprocess
import tempfile
import time

import pytest

from client import aws_ear, azure_ear, password_credential, wait_for
import kmsw
from kmsw import project

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse(text):
    """{(name, ((label, value), ...)): float} of an exposition; checks each
    HELP/TYPE line precedes its samples."""
    out, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        m = LINE.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.groups()
        base = re.sub(r'_(bucket|sum|count)$', "", name)
        assert name in typed or base in typed, "no TYPE before %s" % name
        pairs = tuple((k, unescape(v)) for k, v in LABEL.findall(labels or ""))
        out[(name, pairs)] = float(value)
    return out


def samples(parsed, name, **labels):
    """The values of name whose labels include these."""
    return [v for (n, ls), v in parsed.items()
            if n == name and all((k, str(val)) in ls for k, val in labels.items())]


def get(port, path="/metrics", method="GET", timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request(method, path)
    r = c.getresponse()
    body = r.read().decode()
    headers = dict(r.getheaders())
    c.close()
    return r.status, headers, body


def scrape(port):
    status, headers, body = get(port)
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body


def try_parse(port):
    """The parsed scrape, or None while nothing answers yet."""
    try:
        return parse(scrape(port))
    except OSError:
        return None


def scrape_until(port, name, timeout=30, **labels):
    """The parsed scrape once it holds a sample of name with these labels."""
    def ready():
        m = try_parse(port) or {}
        return m if samples(m, name, **labels) else None
    return wait_for(ready, timeout=timeout)


def promtool_ok(text):
    """The real promtool: exit 0 and not a word of lint."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", \
        (r.returncode, r.stdout, r.stderr)


def metrics_block(port=None, textfile=None):
    lines = ["metrics:"]
    if port is not None:
        lines.append("  listen: 127.0.0.1:%d" % port)
    if textfile is not None:
        lines.append("  textfile: %s" % kmsw.yaml_quote(textfile))
    return "\n".join(lines)


def azure_world(fc, end, name=None):
    p = project(fc, name=name)
    w = fc.azure_default_world(azure_ear(), group=p["id"])
    cred = password_credential(hint="Xy9")
    cred["endDateTime"] = end
    fc.set_graph_application(w["atlas_app"]["client_id"], [cred], displayName="atlas-cmk")
    return p, w


def test_scrape_values_and_promtool(fc, daemons):
    end = int(time.time()) + 40 * 86400
    # a name that needs escaping in a label value
    weird = 'pay"ments\\prod'
    # both use the default application: the second world must not reset
    # the first one's secret
    bad = project(fc, doc=azure_ear(valid=False))
    fc.azure_default_world(azure_ear(valid=False), group=bad["id"])
    p, w = azure_world(fc, end)
    p["name"] = kmsw.yaml_quote(weird)
    port = kmsw.free_port()
    tdir = tempfile.mkdtemp(prefix="kmswatchd-prom-")
    textfile = os.path.join(tdir, "kmswatch.prom")
    d = daemons(fc, [p, bad], azure=True, extra=metrics_block(port, textfile))

    def ready():
        m = try_parse(port) or {}
        return m if (samples(m, "kmswatch_credential_expiry_timestamp_seconds",
                             project_id=p["id"]) and
                     samples(m, "kmswatch_alert_firing", project_id=bad["id"],
                             check="ear.valid") and
                     samples(m, "kmswatch_last_success_timestamp_seconds",
                             project_id=p["id"], source="azure")) else None
    m = wait_for(ready, timeout=30)
    body = scrape(port)
    promtool_ok(body)
    assert samples(m, "kmswatch_build_info") == [1]
    assert [ls for (n, ls) in m if n == "kmswatch_build_info"][0][0][0] == "version"
    # Atlas's valid flag, per project and provider
    assert samples(m, "kmswatch_ear_valid", project_id=p["id"], provider="azure",
                   project=weird) == [1]
    assert samples(m, "kmswatch_ear_valid", project_id=bad["id"], provider="azure") == [0]
    # the secret's endDateTime, to the second, labelled with the application
    assert samples(m, "kmswatch_credential_expiry_timestamp_seconds", project_id=p["id"],
                   provider="azure", credential=w["atlas_app"]["client_id"]) == [end]
    created = samples(m, "kmswatch_key_created_timestamp_seconds", project_id=p["id"],
                      provider="azure")
    assert len(created) == 1 and abs(created[0] - (time.time() - 10 * 86400)) < 3600
    assert samples(m, "kmswatch_key_deletion_timestamp_seconds", project_id=p["id"]) == []
    # the alert that fires, with its labels
    assert samples(m, "kmswatch_alert_firing", project_id=bad["id"], check="ear.valid",
                   subject="azure", severity="critical") == [1]
    assert samples(m, "kmswatch_alert_firing", project_id=p["id"]) == []
    for pid in (p["id"], bad["id"]):
        t = samples(m, "kmswatch_last_success_timestamp_seconds", project_id=pid,
                    source="atlas")
        assert len(t) == 1 and time.time() - 60 < t[0] <= time.time() + 1
    # outgoing requests counted per service, with a histogram
    assert samples(m, "kmswatch_requests_total", service="atlas", code="200")[0] >= 2
    assert samples(m, "kmswatch_requests_total", service="azure", code="200")[0] >= 1
    count = samples(m, "kmswatch_request_duration_seconds_count", service="atlas")[0]
    inf = samples(m, "kmswatch_request_duration_seconds_bucket", service="atlas", le="+Inf")[0]
    assert count == inf and count >= 2
    # the textfile holds the same families and passes promtool too
    text = wait_for(lambda: os.path.exists(textfile) and open(textfile).read(), timeout=15)
    promtool_ok(text)
    tm = parse(text)
    assert samples(tm, "kmswatch_ear_valid", project_id=bad["id"]) == [0]
    assert os.stat(textfile).st_mode & 0o777 == 0o644
    assert [f for f in os.listdir(tdir) if f != "kmswatch.prom"] == [], "no temp file left"
    # HEAD: the headers, no body
    status, headers, body = get(port, method="HEAD")
    assert status == 200 and body == ""
    assert d.stop() == 0


def test_atlas_service_account_expiry(fc, daemons):
    """kmswatch's own Atlas secret (atlas.credential_expiry) is a credential
    of no project: provider "atlas", the client id, empty project labels,
    its expiresAt to the second; promtool accepts the scrape."""
    end = int(time.time()) + 40 * 86400
    fc.set_sa_secrets(kmsw.SA_ID, [{"secret": kmsw.SA_SECRET, "expiresAt": end}])
    port = kmsw.free_port()
    d = daemons(fc, [project(fc)], extra=metrics_block(port))
    m = scrape_until(port, "kmswatch_credential_expiry_timestamp_seconds", provider="atlas")
    assert samples(m, "kmswatch_credential_expiry_timestamp_seconds", provider="atlas",
                   credential=kmsw.SA_ID, project="", project_id="") == [float(end)]
    text = scrape(port)
    assert kmsw.SA_SECRET not in text
    promtool_ok(text)
    assert d.stop() == 0


def test_aws_key_dates(fc, daemons):
    deletion = int(time.time()) + 7 * 86400
    p = project(fc, doc=aws_ear())
    fc.aws_default_world(KeyState="PendingDeletion", DeletionDate=deletion)
    port = kmsw.free_port()
    d = daemons(fc, [p], aws=True, extra=metrics_block(port))

    m = scrape_until(port, "kmswatch_key_deletion_timestamp_seconds", project_id=p["id"])
    assert samples(m, "kmswatch_key_deletion_timestamp_seconds", project_id=p["id"],
                   provider="aws") == [deletion]
    assert samples(m, "kmswatch_key_created_timestamp_seconds", project_id=p["id"],
                   provider="aws")
    assert samples(m, "kmswatch_alert_firing", project_id=p["id"], check="aws.key_state")
    assert samples(m, "kmswatch_last_success_timestamp_seconds", project_id=p["id"],
                   source="aws")
    promtool_ok(scrape(port))
    assert d.stop() == 0


def test_gcp_key_dates(fc, daemons):
    from test_gcp import gcp_daemon, world as gcp_world
    destroy = int(time.time()) + 5 * 86400
    p, w = gcp_world(fc, state="DESTROY_SCHEDULED", destroyTime=destroy)
    port = kmsw.free_port()
    d = gcp_daemon(fc, daemons, [p], w, start=False)
    d.extra += "\n" + metrics_block(port)
    d.write_config()
    d.start()

    m = scrape_until(port, "kmswatch_key_deletion_timestamp_seconds", project_id=p["id"])
    assert samples(m, "kmswatch_key_deletion_timestamp_seconds", project_id=p["id"],
                   provider="gcp") == [destroy]
    created = samples(m, "kmswatch_key_created_timestamp_seconds", project_id=p["id"],
                      provider="gcp")
    assert len(created) == 1 and abs(created[0] - (time.time() - 10 * 86400)) < 60
    t = samples(m, "kmswatch_last_success_timestamp_seconds", project_id=p["id"], source="gcp")
    assert len(t) == 1 and time.time() - 60 < t[0] <= time.time() + 1
    assert samples(m, "kmswatch_requests_total", service="gcp", code="200")
    promtool_ok(scrape(port))
    assert d.stop() == 0


def test_not_found_and_not_allowed(fc, daemons):
    port = kmsw.free_port()
    d = daemons(fc, [project(fc)], extra=metrics_block(port))
    wait_for(lambda: try_parse(port), timeout=10)
    status, _, body = get(port, "/")
    assert status == 404 and "/metrics" in body
    status, _, _ = get(port, "/metrics/x")
    assert status == 404
    for method in ("POST", "PUT", "DELETE"):
        status, headers, _ = get(port, method=method)
        assert status == 405
        assert headers["Allow"] == "GET, HEAD"
    assert scrape(port)
    assert d.stop() == 0


def test_connections_are_bounded(fc, daemons):
    """More idle connections than the limit: the loop goes on (polls,
    alerts reach the journal), and once they close a scrape works."""
    p = project(fc)
    port = kmsw.free_port()
    d = daemons(fc, [p], extra=metrics_block(port))
    wait_for(lambda: try_parse(port), timeout=10)
    idle = []
    for _ in range(24):  # the limit is 16; the rest wait in the backlog
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # never finished
        idle.append(s)
    fc.set_ear(p["id"], azure_ear(valid=False))
    e = wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.valid",
                                  KMSWATCH_EVENT="firing"), timeout=20)
    assert e[0]["KMSWATCH_SEVERITY"] == "critical"
    for s in idle:
        s.close()
    m = wait_for(lambda: try_parse(port), timeout=15)
    assert samples(m, "kmswatch_alert_firing", project_id=p["id"], check="ear.valid") == [1]
    assert d.proc.poll() is None
    assert d.stop() == 0


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def test_reload_moves_and_closes_the_listener(fc, daemons):
    p = project(fc)
    a, b = kmsw.free_port(), kmsw.free_port()
    d = daemons(fc, [p], extra=metrics_block(a))
    wait_for(lambda: try_parse(a), timeout=10)
    # a port someone else holds: the old listener stays
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    busy = taken.getsockname()[1]
    d.extra = metrics_block(busy)
    d.write_config()
    d.reload()
    err = wait_for(lambda: [e for e in d.entries() if "cannot listen on 127.0.0.1:%d" % busy
                            in e.get("MESSAGE", "")], timeout=10)
    assert "Address already in use" in err[0]["MESSAGE"]
    assert "the previous listener stays" in err[0]["MESSAGE"]
    assert scrape(a)
    taken.close()
    # another port: the new one answers, the old one is closed
    d.extra = metrics_block(b)
    d.write_config()
    d.reload()
    wait_for(lambda: refused(a), timeout=10)
    assert samples(wait_for(lambda: try_parse(b), timeout=10), "kmswatch_build_info") == [1]
    # no metrics: section any more: nothing listens
    d.extra = ""
    d.write_config()
    d.reload()
    wait_for(lambda: refused(b), timeout=10)
    assert d.proc.poll() is None
    assert d.stop() == 0


def test_port_taken_at_start(fc, daemons):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    d = daemons(fc, [project(fc)], extra=metrics_block(port))
    assert d.proc.wait(20) == 1
    assert "cannot listen on 127.0.0.1:%d" % port in d.stderr_text()
    assert "Address already in use" in d.stderr_text()
    taken.close()


def test_bad_listen_address_refused(fc, daemons):
    d = daemons(fc, [project(fc)], start=False, extra="metrics:\n  listen: localhost:9464")
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", d.config], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 1
    assert re.search(r"kmswatch\.yaml:\d+:\d+: metrics\.listen: cannot listen on "
                     r"\"localhost:9464\"", r.stdout + r.stderr), r.stdout + r.stderr


def test_textfile_dir_missing(fc, daemons):
    p = project(fc)
    tdir = tempfile.mkdtemp(prefix="kmswatchd-prom-")
    textfile = os.path.join(tdir, "gone", "kmswatch.prom")
    d = daemons(fc, [p], poll_interval="1s", extra=metrics_block(None, textfile))
    err = wait_for(lambda: [e for e in d.entries() if "cannot write %s" % textfile
                            in e.get("MESSAGE", "")], timeout=15)
    assert "No such file or directory" in err[0]["MESSAGE"]
    # polling goes on; said once per failing streak
    n = len(d.ear_requests(p["id"]))
    wait_for(lambda: len(d.ear_requests(p["id"])) >= n + 3, timeout=15)
    assert len([e for e in d.entries() if "cannot write %s" % textfile
                in e.get("MESSAGE", "")]) == 1
    assert d.proc.poll() is None
    # the directory appears: written again
    os.mkdir(os.path.join(tdir, "gone"))
    wait_for(lambda: os.path.exists(textfile), timeout=15)
    promtool_ok(open(textfile).read())
    assert d.stop() == 0


def test_textfile_disk_full_keeps_the_old_file(fc, daemons, small_tmpfs):
    p = project(fc)
    textfile = os.path.join(small_tmpfs, "kmswatch.prom")
    d = daemons(fc, [p], extra=metrics_block(None, textfile))
    before = wait_for(lambda: os.path.exists(textfile) and
                      'kmswatch_ear_valid{' in open(textfile).read() and
                      open(textfile).read(), timeout=15)
    filler = kmsw.fill(small_tmpfs)
    fc.set_ear(p["id"], azure_ear(valid=False))
    err = wait_for(lambda: [e for e in d.entries() if "cannot write %s" % textfile
                            in e.get("MESSAGE", "")], timeout=15)
    assert "No space left on device" in err[0]["MESSAGE"]
    assert d.proc.poll() is None
    # the previous file, whole
    assert open(textfile).read() == before
    promtool_ok(before)
    os.unlink(filler)
    after = wait_for(lambda: 'check="ear.valid"' in open(textfile).read() and
                     open(textfile).read(), timeout=15)
    promtool_ok(after)
    wait_for(lambda: [e for e in d.entries() if "%s is written again" % textfile
                      in e.get("MESSAGE", "")], timeout=10)
    assert d.stop() == 0
