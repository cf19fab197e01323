# SPDX-License-Identifier: ISC
"""kmswatch.service under a real systemd 252 booted as PID 1 in a namespace.

Three layers, fastest first:
  * test_harness_*: the harness itself, with a shell stand-in (Type=notify
    via systemd-notify) — proves start-after-READY, STATUS=, reload, stop
    and that a failing test leaves nothing behind.
  * test_hardened_unit_*: systemd/kmswatch.service.in exactly as shipped
    (all its hardening), with a Python stand-in as ExecStart that does what
    kmswatchd must do: sd_notify as the main PID, native journald protocol,
    $STATE_DIRECTORY, $CREDENTIALS_DIRECTORY, TCP to loopback, watchdog.
    Proves the hardening does not break the daemon's needs.
  * test_kmswatchd_*: the real daemon (env KMSWATCHD, e.g. the kmswatchd of a
    `make install DESTDIR=` tree) under the shipped unit (env KMSWATCH_UNIT,
    else the template). Config: env KMSWATCH_TEST_CONFIG (a YAML file in
    which @FAKECLOUD_URL@ becomes env KMSWATCH_FAKECLOUD_URL; extra files
    from env KMSWATCH_TEST_FILES, colon-separated, are copied next to it into
    /etc/kmswatch/), else one generated against the `fc` fakecloud fixture.
    Env KMSWATCH_TEST_DROPIN: a drop-in file added to the unit (e.g. to relax
    the sandbox for sanitizer builds).

Needs root; run with /usr/bin/python3 -m pytest tests/integration/test_systemd.py.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest

import systemd_pid1
from systemd_pid1 import SystemdPID1

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
UNIT_TEMPLATE = os.path.join(TOP, "systemd", "kmswatch.service.in")
CATALOG = os.path.join(TOP, "systemd", "kmswatch.catalog")
SBIN = "/usr/local/sbin"
DAEMON = SBIN + "/kmswatchd"

_why = systemd_pid1.missing_requirement()
pytestmark = pytest.mark.skipif(_why is not None, reason="systemd-as-PID1 harness: %s" % _why)


def msgids():
    ids = {}
    with open(os.path.join(TOP, "lib", "msgid.h")) as f:
        for m in re.finditer(r'#define\s+MSGID_(\w+)\s+"([0-9a-f]{32})"', f.read()):
            ids[m.group(1)] = m.group(2)
    return ids


MSGID = msgids()


def render_unit(text, exec_start):
    """The unit as make would install it, with ExecStart= replaced."""
    text = (text.replace("@sbindir@", "/usr/local/sbin").replace("@sysconfdir@", "/etc")
            .replace("@localstatedir@", "/var"))
    out, n = re.subn(r"(?m)^ExecStart=.*$", "ExecStart=" + exec_start, text)
    assert n == 1, "expected exactly one ExecStart= in the unit"
    return out


def compiled_catalog():
    """A catalog database holding kmswatch.catalog, built like check-catalog.sh."""
    root = tempfile.mkdtemp(prefix="kmswatch-catalog-")
    try:
        d = os.path.join(root, "usr/lib/systemd/catalog")
        os.makedirs(d)
        shutil.copy(CATALOG, d)
        subprocess.run(["journalctl", "--root=" + root, "--update-catalog"], check=True,
                       capture_output=True, timeout=30)
        with open(os.path.join(root, "var/lib/systemd/catalog/database"), "rb") as f:
            return f.read()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def assert_clean(sd_pid, cgroup, hdir):
    assert sd_pid is not None and not alive(sd_pid), "systemd (pid %s) still alive" % sd_pid
    assert cgroup is not None and not os.path.exists(cgroup), "cgroup %s left" % cgroup
    assert hdir is not None and not os.path.exists(hdir), "harness dir %s left" % hdir
    with open("/proc/self/mountinfo") as f:
        mi = f.read()
    assert "kmswatch-pid1" not in mi and "overlay-etc" not in mi


# ---------------------------------------------------------------------------
# 1. The harness, with a shell stand-in

STANDIN_SH = r"""#!/bin/sh
# Stand-in for kmswatchd: Type=notify through systemd-notify. --pid=$$ makes
# the message come from the main PID, so NotifyAccess=main accepts it (root
# may set the pid in SCM_CREDENTIALS) and no race with systemd-notify's exit.
say() { echo "standin: $*"; }
n=0
trap 'say "reloading"; systemd-notify --pid=$$ RELOADING=1 "STATUS=reloading";
      n=$((n+1)); say "configuration reloaded";
      systemd-notify --pid=$$ --ready "STATUS=stand-in: reloaded $n time(s)"' HUP
trap 'say "stopping"; systemd-notify --pid=$$ STOPPING=1; exit 0' TERM
sleep "${STANDIN_READY_DELAY:-1}"
: > /run/kmswatch-test/ready-sent
systemd-notify --pid=$$ --ready --status="stand-in: 0 projects, all ok"
say "started"
while :; do sleep 1 & wait $!; done
"""

STANDIN_UNIT = """\
[Unit]
Description=shell stand-in for kmswatchd

[Service]
Type=notify
NotifyAccess=main
Environment=STANDIN_READY_DELAY=%s
ExecStart=/usr/local/sbin/standin
ExecReload=/bin/kill -HUP $MAINPID
"""


def shell_standin(delay=1.0, **kw):
    return SystemdPID1({"standin.service": STANDIN_UNIT % delay},
                       files={SBIN + "/standin": (STANDIN_SH, 0o755)},
                       tmpfs=[SBIN], **kw)


def test_harness_standin_lifecycle():
    delay = 1.0
    with shell_standin(delay) as sd:
        u = "standin.service"
        ready = "/run/kmswatch-test/ready-sent"
        assert sd.state(u) == ("inactive", "dead")

        # start: activating until READY=1, active (running) only after it
        sd.systemctl("start", "--no-block", u)
        seen = []
        def observe():
            a, s = sd.state(u)
            seen.append((a, s, os.path.exists(sd.path(ready))))
            return a == "active"
        sd.wait_until(observe, timeout=10, interval=0.05, what="%s active" % u)
        assert ("activating", "start", False) in seen, seen
        assert all(r for a, _, r in seen if a == "active"), seen
        assert seen[-1][:2] == ("active", "running")

        # a blocking start returns only once READY=1 was sent
        sd.systemctl("stop", u)
        os.unlink(sd.path(ready))
        t0 = time.monotonic()
        sd.systemctl("start", u)
        took = time.monotonic() - t0
        assert os.path.exists(sd.path(ready))
        assert took >= delay * 0.9, took
        assert sd.state(u) == ("active", "running")

        # systemctl status shows STATUS=
        st = sd.systemctl("status", u).stdout
        assert 'Status: "stand-in: 0 projects, all ok"' in st, st
        assert "active (running)" in st

        # reload: SIGHUP, RELOADING=1 ... READY=1
        sd.systemctl("reload", u)
        sd.wait_until(lambda: "configuration reloaded" in sd.service_log(u), 5,
                      what="reload logged")
        sd.wait_until(lambda: sd.show(u, "StatusText")["StatusText"]
                      == "stand-in: reloaded 1 time(s)", 5, what="STATUS after reload")
        assert sd.state(u) == ("active", "running")

        # stop: inactive, main process exited 0
        sd.systemctl("stop", u)
        assert sd.state(u) == ("inactive", "dead")
        assert sd.exits(u)[-1] == ("success", "exited", "0"), sd.exits(u)
        assert "standin: stopping" in sd.service_log(u)
        pid, cg, hdir = sd.pid, sd.cgroup, sd.dir
    assert_clean(pid, cg, hdir)


def test_harness_cleans_up_after_failure():
    box = {}
    with pytest.raises(ZeroDivisionError):
        with shell_standin(0) as sd:
            sd.systemctl("start", "standin.service")
            box.update(pid=sd.pid, cg=sd.cgroup, dir=sd.dir)
            1 / 0
    assert_clean(box["pid"], box["cg"], box["dir"])


def test_harness_touches_nothing_on_the_host():
    """Writes inside the namespace stay there; the host's / is read-only."""
    marker = "kmswatch-pid1-probe-%d" % os.getpid()
    dev_before = set(os.listdir("/dev"))
    with shell_standin(0) as sd:
        r = sd.run(["sh", "-c", "touch /etc/%s /var/%s /tmp/%s && "
                    "! touch /usr/%s 2>/dev/null && ! touch /%s 2>/dev/null"
                    % ((marker,) * 5)], check=False)
        assert r.returncode == 0, r.stderr
        assert sd.run(["cat", "/proc/1/comm"]).stdout.strip() == "systemd"
        assert sd.systemctl("show", "-P", "Virtualization").stdout.strip() == "container-other"
    for d in ("/etc", "/var", "/tmp", "/usr", "/"):
        assert not os.path.exists(os.path.join(d, marker)), d
    assert set(os.listdir("/dev")) - dev_before == set()


# ---------------------------------------------------------------------------
# 2. The shipped, hardened unit with a Python stand-in

STANDIN_PY = r'''#!/usr/bin/python3
"""Does what kmswatchd needs to do under kmswatch.service, then reports."""
import hashlib, json, os, signal, socket, sys, time

STARTED, RELOADED, STOPPING = "@STARTED@", "@RELOADED@", "@STOPPING@"

if "-t" in sys.argv[1:]:  # the unit's ExecReload= checks the config first
    print("stand-in: configuration valid")
    sys.exit(0)

def notify(*lines):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.connect(addr)
        s.sendall("\n".join(lines).encode())

def journal(msgid, message, priority=5, **fields):
    f = {"MESSAGE": message, "PRIORITY": str(priority), "MESSAGE_ID": msgid,
         "SYSLOG_IDENTIFIER": "kmswatchd"}
    f.update(fields)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.sendto("".join("%s=%s\n" % kv for kv in f.items()).encode(),
                 "/run/systemd/journal/socket")

def attempt(fn):
    try:
        r = fn()
        return "ok" if r is None else r
    except OSError as e:
        return "errno:%d" % e.errno

def status_field(name):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()

def write_state():
    d = os.environ["STATE_DIRECTORY"]
    tmp = os.path.join(d, "state.json.tmp")
    with open(tmp, "w") as f:
        f.write('{"version": 1}')
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(d, "state.json"))
    return "ok"

def credential():
    with open(os.path.join(os.environ["CREDENTIALS_DIRECTORY"], "test-secret"), "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()

def probe():
    host, port = os.environ["KMSWATCH_STANDIN_PROBE"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"hello from the hardened stand-in\n")
    return "ok"

def touch(path):
    with open(path, "w"):
        pass
    return "ok"

facts = {
    "uid": os.getuid(),
    "cap_eff": status_field("CapEff"),
    "no_new_privs": status_field("NoNewPrivs"),
    "seccomp": status_field("Seccomp"),
    "state": attempt(write_state),
    "credential_sha256": attempt(credential),
    "tcp": attempt(probe),
    "config": attempt(lambda: open("/etc/kmswatch/kmswatch.yaml").read() and "ok"),
    "write_etc": attempt(lambda: touch("/etc/kmswatch/probe")),
    "write_usr": attempt(lambda: touch("/usr/local/sbin/probe")),
    "host_tmp_marker_visible": os.path.exists("/tmp/kmswatch-host-marker"),
    "root_home": attempt(lambda: os.listdir("/root") and "listed"),
}
print("facts " + json.dumps(facts, sort_keys=True), flush=True)

flags = {"hup": 0, "term": 0, "hang": 0}
signal.signal(signal.SIGHUP, lambda *a: flags.__setitem__("hup", 1))
signal.signal(signal.SIGTERM, lambda *a: flags.__setitem__("term", 1))
signal.signal(signal.SIGUSR1, lambda *a: flags.__setitem__("hang", 1))

wd = int(os.environ.get("WATCHDOG_USEC", "0")) / 2e6
journal(STARTED, "kmswatchd stand-in started", KMSWATCH_STANDIN_FACTS=json.dumps(facts))
notify("READY=1", "STATUS=stand-in: 0 projects, all ok")
reloads, last_ping = 0, time.monotonic()
while True:
    if flags["term"]:
        notify("STOPPING=1", "STATUS=stopping")
        journal(STOPPING, "kmswatchd stand-in stopping")
        sys.exit(0)
    if flags["hup"]:
        flags["hup"] = 0
        notify("RELOADING=1", "MONOTONIC_USEC=%d" % (time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000),
               "STATUS=reloading")
        reloads += 1
        journal(RELOADED, "configuration reloaded")
        notify("READY=1", "STATUS=stand-in: reloaded %d time(s)" % reloads)
    if wd and not flags["hang"] and time.monotonic() - last_ping >= wd:
        notify("WATCHDOG=1")
        last_ping = time.monotonic()
    time.sleep(0.02)
'''

SECRET = b"not-a-real-secret-but-treat-it-as-one\n"


class TcpProbe:
    """A loopback TCP listener in the host's (shared) network namespace."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self._stop = False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            with c:
                c.settimeout(2)
                try:
                    self.lines.append(c.recv(4096).decode(errors="replace"))
                except OSError:
                    pass

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


@pytest.fixture
def tcp_probe():
    p = TcpProbe()
    yield p
    p.close()


def hardened(probe, dropin="", **kw):
    with open(UNIT_TEMPLATE) as f:
        unit = render_unit(f.read(), DAEMON)
    script = (STANDIN_PY.replace("@STARTED@", MSGID["STARTED"])
              .replace("@RELOADED@", MSGID["CONFIG_RELOADED"])
              .replace("@STOPPING@", MSGID["STOPPING"]))
    units = {
        "kmswatch.service": unit,
        "kmswatch.service.d/50-test.conf": (
            "[Service]\nEnvironment=KMSWATCH_STANDIN_PROBE=127.0.0.1:%d\n"
            "LoadCredential=test-secret:/etc/kmswatch/test-secret\n%s" % (probe.port, dropin)),
    }
    files = {
        DAEMON: (script, 0o755),
        "/etc/kmswatch/kmswatch.yaml": ("# stand-in config\n", 0o644),
        "/etc/kmswatch/test-secret": (SECRET, 0o600),
        "/tmp/kmswatch-host-marker": ("", 0o644),
        "/var/lib/systemd/catalog/database": (compiled_catalog(), 0o644),
    }
    return SystemdPID1(units, files=files, tmpfs=[SBIN], journald=True, **kw)


def test_hardened_unit_lifecycle(tcp_probe):
    u = "kmswatch.service"
    with hardened(tcp_probe) as sd:
        t0 = time.monotonic()
        sd.systemctl("start", u)
        assert sd.state(u) == ("active", "running"), sd.diagnostics(u)
        props = sd.show(u, "Type", "NotifyAccess", "WatchdogUSec", "DynamicUser", "NRestarts")
        assert props == {"Type": "notify", "NotifyAccess": "main", "WatchdogUSec": "30s",
                         "DynamicUser": "yes", "NRestarts": "0"}, props

        # journald reachable from inside the sandbox, with our MESSAGE_ID
        started = sd.wait_until(lambda: sd.journal_json("MESSAGE_ID=" + MSGID["STARTED"]),
                                5, what="STARTED in the journal")
        e = started[-1]
        assert e["_SYSTEMD_UNIT"] == u and e["SYSLOG_IDENTIFIER"] == "kmswatchd"
        facts = json.loads(e["KMSWATCH_STANDIN_FACTS"])
        # what the daemon needs works ...
        assert facts["state"] == "ok", facts
        assert facts["credential_sha256"] == hashlib.sha256(SECRET).hexdigest(), facts
        assert facts["tcp"] == "ok", facts
        assert facts["config"] == "ok", facts
        sd.wait_until(lambda: tcp_probe.lines, 5, what="TCP probe")
        # ... and the sandbox is really there
        assert facts["uid"] != 0
        assert int(facts["cap_eff"], 16) == 0, facts
        assert facts["no_new_privs"] == "1" and facts["seccomp"] == "2", facts
        assert facts["write_etc"].startswith("errno:"), facts
        assert facts["write_usr"].startswith("errno:"), facts
        assert facts["host_tmp_marker_visible"] is False, facts
        assert facts["root_home"] != "listed", facts
        assert os.path.exists(sd.path("/var/lib/private/kmswatch/state.json"))

        # the catalog explains the entry (journalctl -x)
        x = sd.journal("-x", "MESSAGE_ID=" + MSGID["STARTED"])
        assert "kmswatchd has loaded its configuration" in x, x

        st = sd.systemctl("status", u).stdout
        assert 'Status: "stand-in: 0 projects, all ok"' in st, st

        sd.systemctl("reload", u)
        sd.wait_until(lambda: sd.journal_json("MESSAGE_ID=" + MSGID["CONFIG_RELOADED"]),
                      5, what="CONFIG_RELOADED in the journal")
        sd.wait_until(lambda: sd.show(u, "StatusText")["StatusText"]
                      == "stand-in: reloaded 1 time(s)", 5, what="STATUS after reload")
        assert sd.state(u) == ("active", "running")

        sd.systemctl("stop", u)
        assert sd.state(u) == ("inactive", "dead")
        assert sd.exits(u)[-1] == ("success", "exited", "0"), sd.exits(u)
        assert sd.journal_json("MESSAGE_ID=" + MSGID["STOPPING"])
        assert time.monotonic() - t0 < 20


def test_hardened_unit_watchdog_restarts(tcp_probe):
    """A loop that stops pinging is killed (SIGABRT) and restarted."""
    u = "kmswatch.service"
    dropin = "WatchdogSec=1s\nRestartSec=100ms\nLimitCORE=0\n"
    with hardened(tcp_probe, dropin=dropin) as sd:
        sd.systemctl("start", u)
        time.sleep(1.5)  # pings keep it alive past WatchdogSec
        assert sd.state(u) == ("active", "running")
        sd.systemctl("kill", "--kill-who=main", "-s", "USR1", u)
        sd.wait_until(lambda: sd.exits(u), 5, what="watchdog kill")
        assert sd.exits(u)[0] == ("watchdog", "killed", "ABRT"), sd.exits(u)
        sd.wait_until(lambda: sd.show(u, "NRestarts")["NRestarts"] == "1", 5,
                      what="restart after watchdog")
        sd.wait_state(u, "active", "running", timeout=5)


# ---------------------------------------------------------------------------
# 3. The real kmswatchd under the shipped unit

def _kmswatchd():
    p = os.environ.get("KMSWATCHD") or os.path.join(TOP, "daemon", "kmswatchd")
    return p if os.access(p, os.X_OK) else None


def _config_and_files(request):
    """(config text, {ns path: (content, mode)}, credentials, fakecloud or None)."""
    files, creds = {}, {}
    path = os.environ.get("KMSWATCH_TEST_CONFIG")
    if path:
        with open(path) as f:
            text = f.read()
        if "@FAKECLOUD_URL@" in text:
            url = os.environ.get("KMSWATCH_FAKECLOUD_URL")
            if not url:
                pytest.skip("KMSWATCH_TEST_CONFIG uses @FAKECLOUD_URL@ but "
                            "KMSWATCH_FAKECLOUD_URL is not set")
            text = text.replace("@FAKECLOUD_URL@", url)
        for extra in filter(None, os.environ.get("KMSWATCH_TEST_FILES", "").split(":")):
            with open(extra, "rb") as f:
                files["/etc/kmswatch/" + os.path.basename(extra)] = (f.read(), 0o644)
        return text, files, creds, None
    # generated against the fakecloud fixture of conftest.py
    import kmsw
    from client import azure_ear
    fc = request.getfixturevalue("fc")
    gid = kmsw.new_group_id()
    fc.set_ear(gid, azure_ear())
    with open(fc.ca_file, "rb") as f:
        files["/etc/kmswatch/fakecloud-ca.pem"] = (f.read(), 0o644)
    creds["atlas-client-secret"] = kmsw.SA_SECRET + "\n"
    text = "\n".join([
        "poll_interval: 2s",
        "atlas:",
        "  base_url: %s" % fc.https_url,
        "  ca_file: /etc/kmswatch/fakecloud-ca.pem",
        "  service_account:",
        "    client_id: %s" % kmsw.SA_ID,
        "    client_secret: {credential: atlas-client-secret}",
        "projects:",
        "  - id: %s" % gid,
        "    name: systemd-%s" % gid[-6:],
        "",
    ])
    return text, files, creds, (fc, gid)


@pytest.fixture
def kmswatch_ns(request):
    binary = _kmswatchd()
    if binary is None:
        pytest.skip("kmswatchd not built (set KMSWATCHD to the installed binary)")
    text, files, creds, cloud = _config_and_files(request)
    unit_path = os.environ.get("KMSWATCH_UNIT") or UNIT_TEMPLATE
    with open(unit_path) as f:
        shipped = f.read()
    # keep the shipped command line (it finds the config through
    # ${CONFIGURATION_DIRECTORY}); only the binary's path changes
    exec_start = re.search(r"(?m)^ExecStart=(\S+)(.*)$", shipped)
    unit = render_unit(shipped, DAEMON + exec_start.group(2))
    # ExecReload= runs the same binary (kmswatchd -t) wherever it was installed
    installed = exec_start.group(1).replace("@sbindir@", "/usr/local/sbin")
    unit = re.sub(r"(?m)^ExecReload=" + re.escape(installed) + r"(?=\s)",
                  "ExecReload=" + DAEMON, unit)
    dropin = "[Service]\n"
    for name, value in creds.items():
        files["/etc/kmswatch/credentials/" + name] = (value, 0o600)
        dropin += "LoadCredential=%s:/etc/kmswatch/credentials/%s\n" % (name, name)
    if os.environ.get("KMSWATCH_TEST_DROPIN"):
        with open(os.environ["KMSWATCH_TEST_DROPIN"]) as f:
            dropin += f.read().replace("[Service]", "")
    with open(binary, "rb") as f:
        files[DAEMON] = (f.read(), 0o755)
    files["/etc/kmswatch/kmswatch.yaml"] = (text, 0o644)  # DynamicUser= must read it
    files["/var/lib/systemd/catalog/database"] = (compiled_catalog(), 0o644)
    units = {"kmswatch.service": unit, "kmswatch.service.d/50-test.conf": dropin}
    with SystemdPID1(units, files=files, tmpfs=[SBIN], journald=True) as sd:
        yield sd, cloud


def test_kmswatchd_lifecycle(kmswatch_ns):
    sd, cloud = kmswatch_ns
    u = "kmswatch.service"
    try:
        sd.systemctl("start", u, timeout=40)
        assert sd.state(u) == ("active", "running")
        assert sd.show(u, "Type")["Type"] == "notify"
        sd.wait_until(lambda: sd.journal_json("MESSAGE_ID=" + MSGID["STARTED"]), 10,
                      what="MSGID_STARTED in the journal")
        x = sd.journal("-x", "MESSAGE_ID=" + MSGID["STARTED"])
        assert "kmswatchd has loaded its configuration" in x, x

        status = sd.wait_until(lambda: sd.show(u, "StatusText")["StatusText"], 10,
                               what="STATUS=")
        st = sd.systemctl("status", u).stdout
        assert 'Status: "%s"' % status in st or "Status: " in st, st

        if cloud:
            fc, gid = cloud
            sd.wait_until(lambda: fc.requests(
                path="/api/atlas/v2/groups/%s/encryptionAtRest" % gid), 15,
                what="the daemon polling fakecloud from inside the sandbox")

        sd.systemctl("reload", u)
        sd.wait_until(lambda: sd.journal_json("MESSAGE_ID=" + MSGID["CONFIG_RELOADED"]), 10,
                      what="MSGID_CONFIG_RELOADED after systemctl reload")
        sd.wait_state(u, "active", "running", timeout=10)
        assert sd.show(u, "NRestarts")["NRestarts"] == "0"

        # a broken config: `systemctl reload` fails (ExecReload= runs -t
        # first), the daemon keeps running on the old one
        conf = sd.path("/etc/kmswatch/kmswatch.yaml")
        with open(conf) as f:
            good = f.read()
        with open(conf, "w") as f:
            f.write(good + "poll_intervall: 5m\n")
        r = sd.systemctl("reload", u, check=False)
        assert r.returncode != 0, r
        assert 'unknown key "poll_intervall"' in sd.journal("-u", u), sd.journal("-u", u)
        sd.wait_state(u, "active", "running", timeout=10)
        assert sd.show(u, "MainPID")["MainPID"] != "0"
        with open(conf, "w") as f:
            f.write(good)

        # the unit's own settings
        props = sd.show(u, "RestartPreventExitStatus", "LimitCORE")
        assert props["RestartPreventExitStatus"].startswith("1"), props
        assert props["LimitCORE"] == "0", props

        sd.systemctl("stop", u, timeout=40)
        assert sd.state(u) == ("inactive", "dead")
        assert sd.exits(u)[-1] == ("success", "exited", "0"), sd.exits(u)
        assert sd.journal_json("MESSAGE_ID=" + MSGID["STOPPING"])
    except BaseException:
        print(sd.diagnostics(u))
        raise


def test_kmswatchd_config_mode_advice(kmswatch_ns):
    """What the docs and messages say about the config's mode works under
    the shipped unit's DynamicUser=: a root-owned 0600 config cannot be read
    at all (the message says why and what to do), a 0644 one may hold no
    plain-text secret (the message points to credentials, not to chmod 600),
    and neither loops on restarts."""
    sd, cloud = kmswatch_ns
    u = "kmswatch.service"
    conf = sd.path("/etc/kmswatch/kmswatch.yaml")
    with open(conf) as f:
        good = f.read()
    try:
        # 1. chmod 600, as a naive reading of "unreadable by others" suggests
        os.chmod(conf, 0o600)
        r = sd.systemctl("start", u, check=False, timeout=40)
        assert r.returncode != 0
        sd.wait_until(lambda: sd.exits(u), 10, what="the failed start recorded")
        assert sd.exits(u)[-1] == ("exit-code", "exited", "1"), sd.exits(u)
        log = sd.journal("-u", u, "-o", "cat")
        assert "/etc/kmswatch/kmswatch.yaml: cannot read: permission denied " \
            "(kmswatchd runs as uid " in log, log
        assert "the file is uid 0, mode 0600): the shipped unit's DynamicUser= needs it " \
            "readable by others (chmod 644), with every secret in a {credential: NAME}" \
            in log, log
        time.sleep(1.5)
        assert sd.show(u, "NRestarts")["NRestarts"] == "0"

        # 2. readable, with a plain-text secret: refused, pointing at credentials
        os.chmod(conf, 0o644)
        with open(conf, "w") as f:
            text, n = re.subn(r"client_secret: \{credential: [\w-]+\}",
                              "client_secret: plain-text-not-allowed", good)
            assert n == 1, "the config under test has no client_secret credential"
            f.write(text)
        sd.systemctl("reset-failed", u, check=False)
        r = sd.systemctl("start", u, check=False, timeout=40)
        assert r.returncode != 0
        log = sd.journal("-u", u, "-o", "cat")
        assert "plain-text secret in a file readable by group or others (mode 0644): use " \
            "{credential: NAME} (LoadCredential=NAME in the unit)" in log, log
        assert "plain-text-not-allowed" not in log
        assert sd.show(u, "NRestarts")["NRestarts"] == "0"

        # 3. the advice followed: 0644, the secret in a credential
        with open(conf, "w") as f:
            f.write(good)
        sd.systemctl("reset-failed", u, check=False)
        sd.systemctl("start", u, timeout=40)
        assert sd.state(u) == ("active", "running")
    except BaseException:
        print(sd.diagnostics(u))
        raise
