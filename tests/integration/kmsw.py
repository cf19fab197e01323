# SPDX-License-Identifier: ISC
"""Drive the real kmswatchd binary in integration tests.

A Daemon writes a config (secrets in 0600 files, never in argv), starts
kmswatchd on it with its own state directory, and reads back what it said:
the real journald (journalctl -o json) and its stderr. Each test uses its
own project names, so journal queries never see another test's entries.
"""

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

MSGID = {}
with open(os.path.join(TOP, "lib", "msgid.h")) as f:
    for line in f:
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1].startswith("MSGID_"):
            MSGID[parts[1][6:].lower()] = parts[2].strip('"')

def _check_order():
    """Check ids in catalog order: the enum of lib/types.h, named as in the
    catalogue rows (struct check_row, lib/kms.h) of lib/checks.c and of each
    provider's lib/*_checks.c, so a new check needs no edit here."""
    import glob
    import re
    with open(os.path.join(TOP, "lib", "types.h")) as f:
        enum = re.findall(r"^\s*(CHK_[A-Z0-9_]+),", f.read(), re.M)
    names = {}
    for path in sorted(glob.glob(os.path.join(TOP, "lib", "*.c"))):
        with open(path) as f:
            names.update(re.findall(r'^\s*\{(CHK_[A-Z0-9_]+),\s*"([a-z0-9_.]+)"', f.read(), re.M))
    return [names[c] for c in enum if c in names]


CHECK_ORDER = _check_order()

CHECK_MSGID = {
    "atlas.access": MSGID["atlas_access"],
    "ear.valid": MSGID["ear_valid"],
    "ear.enabled": MSGID["ear_enabled"],
    "ear.config": MSGID["ear_config"],
}

SA_ID = "mdb_sa_id_0123456789abcdef01234567"
SA_SECRET = "mdb_sa_sk_S3cr3t-do-not-leak-7f1e2d"
API_PUB = "abcdefgh"
API_PRIV = "11111111-priv-key-do-not-leak-2222"
HOOK_SECRET = "whsec_" + "c2lnbmluZy1rZXktZG8tbm90LWxlYWstMTIzNDU2Nzg="
READER_SECRET = "kmswatch~reader~secret"  # fakecloud's DEFAULT_READER_SECRET
READER_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
TENANT = "99999999-8888-4777-8666-555555555555"
AWS_ACCESS_KEY_ID = "AKIAKMSWATCHREADER01"        # fakecloud client.AWS_ACCESS_KEY_ID
AWS_SECRET = "kmswatch/aws+reader~Secret0123456789abcd"  # client.AWS_SECRET
AWS_WEB_TOKEN = "eyJ.kmswatch.web-identity"      # client.aws_default_world's token
SECRETS = [SA_SECRET, API_PRIV, HOOK_SECRET, HOOK_SECRET[6:], READER_SECRET, AWS_SECRET,
           AWS_WEB_TOKEN]


def kmswatchd_path():
    path = os.environ.get("KMSWATCHD") or os.path.join(TOP, "daemon", "kmswatchd")
    if not os.access(path, os.X_OK):
        raise RuntimeError("kmswatchd not built at %s (set KMSWATCHD)" % path)
    return path


def free_port():
    """A loopback TCP port nothing listens on (now)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def new_group_id():
    return uuid.uuid4().hex[:24]


def journal(**match):
    """Journal entries matching FIELD=value pairs, oldest first."""
    args = ["journalctl", "-o", "json", "--no-pager", "--all"]
    for k, v in match.items():
        args.append("%s=%s" % (k, v))
    out = subprocess.run(args, capture_output=True, text=True, timeout=30).stdout
    entries = []
    for line in out.splitlines():
        line = line.strip()
        if line:
            entries.append(json.loads(line))
    return entries


def journal_all_text(**match):
    args = ["journalctl", "-o", "json", "--no-pager", "--all"]
    for k, v in match.items():
        args.append("%s=%s" % (k, v))
    return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout


def yaml_quote(s):
    return json.dumps(s)


class Daemon:
    """One kmswatchd process and its files."""

    def __init__(self, fc, projects, auth="service_account", sinks=None,
                 poll_interval="1s", extra="", state_dir=None, env=None,
                 plain_secret=False, azure=False, azure_interval="2s",
                 identity="client_secret", aws=False, aws_interval="2s",
                 aws_identity="access_key", aws_secret=AWS_SECRET, aws_role_arn=None,
                 aws_kms_url=None):
        self.fc = fc
        self.dir = tempfile.mkdtemp(prefix="kmswatchd-test-")
        self.state_dir = state_dir or os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "kmswatch.yaml")
        self.projects = projects
        self.auth = auth
        self.sinks = sinks or []
        self.poll_interval = poll_interval
        self.extra = extra
        self.plain_secret = plain_secret
        self.azure = azure
        self.azure_interval = azure_interval
        self.identity = identity
        self.aws = aws
        self.aws_interval = aws_interval
        self.aws_identity = aws_identity
        self.aws_role_arn = aws_role_arn
        self.aws_kms_url = aws_kms_url
        self.env = dict(os.environ)
        self.env.pop("NOTIFY_SOCKET", None)
        self.env.pop("WATCHDOG_USEC", None)
        self.env.update(env or {})
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self._write_secret("atlas-secret", SA_SECRET if auth == "service_account" else API_PRIV)
        self._write_secret("hook-secret", HOOK_SECRET)
        self._write_secret("reader-secret", READER_SECRET)
        self.federated_token_file = os.path.join(self.dir, "federated-token")
        self._write_secret("federated-token", "federated-assertion-1")
        self._write_secret("aws-secret", aws_secret)
        self.aws_token_file = os.path.join(self.dir, "aws-web-token")
        self._write_secret("aws-web-token", AWS_WEB_TOKEN)
        self.write_config()

    def _write_secret(self, name, value):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")

    def render_config(self, projects=None):
        projects = self.projects if projects is None else projects
        secret_ref = "{file: %s}" % yaml_quote(os.path.join(self.dir, "atlas-secret"))
        lines = [
            "poll_interval: %s" % self.poll_interval,
            "state_dir: %s" % yaml_quote(self.state_dir),
            "atlas:",
            "  base_url: %s" % self.fc.https_url,
            "  ca_file: %s" % yaml_quote(self.fc.ca_file),
        ]
        if self.auth == "service_account":
            lines += ["  service_account:",
                      "    client_id: %s" % SA_ID,
                      "    client_secret: %s" % (yaml_quote(SA_SECRET) if self.plain_secret
                                                 else secret_ref)]
        else:
            lines += ["  api_key:",
                      "    public_key: %s" % API_PUB,
                      "    private_key: %s" % secret_ref]
        if self.azure:
            lines.insert(1, "azure_interval: %s" % self.azure_interval)
            lines += ["azure:", "  identity:"]
            if self.identity == "client_secret":
                lines += ["    type: client_secret",
                          "    tenant_id: %s" % TENANT,
                          "    client_id: %s" % READER_ID,
                          "    client_secret: {file: %s}" % yaml_quote(
                              os.path.join(self.dir, "reader-secret"))]
            elif self.identity == "workload_identity":
                lines += ["    type: workload_identity",
                          "    tenant_id: %s" % TENANT,
                          "    client_id: %s" % READER_ID,
                          "    token_file: %s" % yaml_quote(self.federated_token_file)]
            else:
                lines += ["    type: managed_identity"]
            lines += ["  endpoints:",
                      "    login: %s" % self.fc.https_url,
                      "    management: %s" % self.fc.https_url,
                      "    graph: %s" % self.fc.https_url,
                      "    key_vault: %s" % self.fc.https_url,
                      "    imds: %s" % self.fc.control_url,
                      "  ca_file: %s" % yaml_quote(self.fc.ca_file)]
        if self.aws:
            lines.insert(1, "aws_interval: %s" % self.aws_interval)
            lines += ["aws:", "  identity:", "    type: %s" % self.aws_identity]
            if self.aws_identity == "access_key":
                lines += ["    access_key_id: %s" % AWS_ACCESS_KEY_ID,
                          "    secret_access_key: {file: %s}" % yaml_quote(
                              os.path.join(self.dir, "aws-secret"))]
            elif self.aws_identity == "web_identity":
                lines += ["    token_file: %s" % yaml_quote(self.aws_token_file)]
            if self.aws_role_arn:
                lines += ["    role_arn: %s" % self.aws_role_arn]
            lines += ["  endpoints:",
                      "    kms: %s" % (self.aws_kms_url or self.fc.https_url),
                      "    sts: %s" % self.fc.https_url,
                      "    imds: %s" % self.fc.control_url,
                      "  ca_file: %s" % yaml_quote(self.fc.ca_file)]
        lines.append("projects:")
        for p in projects:
            lines.append("  - id: %s" % p["id"])
            if p.get("name"):
                lines.append("    name: %s" % p["name"])
            if p.get("expect_provider"):
                lines.append("    expect_provider: %s" % p["expect_provider"])
            if p.get("azure"):
                lines.append("    azure:")
                for k, v in p["azure"].items():
                    lines.append("      %s: %s" % (k, v))
        if self.sinks:
            lines.append("notify:")
            for s in self.sinks:
                lines.append("  - name: %s" % s["name"])
                lines.append("    type: %s" % s.get("type", "webhook"))
                lines.append("    url: %s" % s["url"])
                if s.get("signed"):
                    lines.append("    secret: {file: %s}" % yaml_quote(
                        os.path.join(self.dir, "hook-secret")))
                if s.get("min_severity"):
                    lines.append("    min_severity: %s" % s["min_severity"])
        if self.extra:
            lines.append(self.extra)
        return "\n".join(lines) + "\n"

    def write_config(self, text=None, projects=None):
        text = self.render_config(projects) if text is None else text
        tmp = self.config + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.rename(tmp, self.config)

    def start(self, args=()):
        self.stderr = open(self.stderr_path, "ab")
        # PIDs are reused and the journal outlives test runs: entries() also
        # keeps to what was logged since this start
        self.started_usec = int(time.time() * 1e6) - 1000000
        self.proc = subprocess.Popen([kmswatchd_path(), "-c", self.config] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, env=self.env)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, sig):
        self.proc.send_signal(sig)

    def reload(self):
        self.signal(signal.SIGHUP)

    def stop(self, timeout=20):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("kmswatchd did not stop within %ss" % timeout)
        finally:
            self.stderr.close()
        return rc

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if getattr(self, "stderr", None):
            self.stderr.close()

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def entries(self, **match):
        """Journal entries of this process (not of an earlier one that had
        the same PID)."""
        return [e for e in journal(_PID=str(self.pid), **match)
                if int(e.get("__REALTIME_TIMESTAMP", 0)) >= self.started_usec]

    def events(self, project_name, **match):
        """Event entries for a project, across restarts."""
        return journal(KMSWATCH_PROJECT_NAME=project_name, **match)

    def ear_requests(self, group):
        return self.fc.requests(path="/api/atlas/v2/groups/%s/encryptionAtRest" % group)


class NotifySocket:
    """A fake $NOTIFY_SOCKET that records every datagram."""

    def __init__(self):
        self.path = os.path.join(tempfile.mkdtemp(prefix="notify-"), "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def lines(self):
        out = []
        for _, m in list(self.messages):
            out.extend(m.split("\n"))
        return out

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def project(fc, name=None, doc=None, **kw):
    """A fresh Atlas project in the fake cloud, with a unique name."""
    from client import azure_ear
    gid = new_group_id()
    fc.set_ear(gid, doc if doc is not None else azure_ear())
    p = {"id": gid, "name": name or ("p-" + gid[-8:])}
    p.update(kw)
    return p


def fill(path):
    """Fill the filesystem of path; returns the filler file."""
    filler = os.path.join(path, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for size in (4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"x" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler
