"""Test-side helper for fakecloud.py (standard library only, urllib).

    from fakecloud.client import FakeCloud, azure_ear, wait_for

    with FakeCloud(config={"apikeys": {"pub": "priv"},
                           "groups": {GID: azure_ear()}}) as fc:
        fc.add_fault("/api/atlas/v2/groups/%s/encryptionAtRest" % GID,
                     status=429, headers={"Retry-After": "2"})
        ...  # run kmswatchd against fc.https_url with fc.ca_file
        wait_for(lambda: fc.hooks("alerts"), timeout=10)

See fakecloud.py's docstring for the control API this wraps.
"""

import copy
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fakecloud.py")
PYTHON = "/usr/bin/python3"

MT_EAR = "application/vnd.atlas.2023-01-01+json"


class FakeCloudError(Exception):
    """A control call failed, or the server did not start."""


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Call predicate until it returns something truthy; return that value.
    Raises TimeoutError (with the last value seen) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("condition not met within %.1fs (last value %r)"
                               % (timeout, value))
        time.sleep(interval)


def azure_ear(valid=True, enabled=True,
              key_version="0f1e2d3c4b5a69788796a5b4c3d2e1f0", **overrides):
    """An EAR document shaped like atlas-api.md section 1 (Azure on, AWS and
    GCP off).  Keyword overrides: the top-level keys awsKms, azureKeyVault,
    googleCloudKms, enabledForSearchNodes replace those members; any other
    key sets that azureKeyVault field (None removes it).  keyIdentifier is
    built from keyVaultName, the key name "atlas-cmk" and key_version unless
    overridden."""
    top = ("awsKms", "azureKeyVault", "googleCloudKms", "enabledForSearchNodes")
    akv = {
        "azureEnvironment": "AZURE",
        "clientID": "b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f",
        "enabled": enabled,
        "keyVaultName": "contoso-kv",
        "requirePrivateNetworking": False,
        "resourceGroupName": "rg-atlas-cmk",
        "roleId": "65a1b2c3d4e5f60718293a4b",
        "subscriptionID": "11111111-2222-4333-8444-555555555555",
        "tenantID": "99999999-8888-4777-8666-555555555555",
        "valid": valid,
    }
    for k, v in overrides.items():
        if k not in top:
            akv[k] = v
    if "keyIdentifier" not in overrides:
        akv["keyIdentifier"] = "https://%s.vault.azure.net/keys/atlas-cmk/%s" % (
            akv.get("keyVaultName") or "contoso-kv", key_version)
    akv = {k: v for k, v in sorted(akv.items()) if v is not None}
    doc = {
        "awsKms": {"enabled": False, "valid": False, "requirePrivateNetworking": False},
        "azureKeyVault": akv,
        "googleCloudKms": {"enabled": False, "valid": False},
        "enabledForSearchNodes": False,
    }
    for k in top:
        if k in overrides:
            if overrides[k] is None:
                doc.pop(k)
            else:
                doc[k] = copy.deepcopy(overrides[k])
    return doc


class FakeCloud:
    """Runs fakecloud.py as a subprocess in a (temporary) directory.

    Attributes once started: https_url, control_url, ca_file, https_port,
    control_port, dir, pid."""

    def __init__(self, config=None, directory=None, port=0, control_port=0,
                 startup_timeout=20.0, verbose=False, keep_dir=False):
        self._own_dir = directory is None
        self.dir = os.path.abspath(directory or tempfile.mkdtemp(prefix="fakecloud-"))
        self.keep_dir = keep_dir
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        cmd = [PYTHON, SERVER, "--dir", self.dir, "--port", str(port),
               "--control-port", str(control_port)]
        if config is not None:
            cfg = os.path.join(self.dir, "config.json")
            with open(cfg, "w") as f:
                json.dump(config, f)
            cmd += ["--config", cfg]
        if verbose:
            cmd.append("--verbose")
        self.log_file = os.path.join(self.dir, "fakecloud.log")
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        try:
            info = self._wait_ready(ready, startup_timeout)
        except Exception:
            self.stop()
            raise
        self.pid = info["pid"]
        self.https_port = info["https_port"]
        self.control_port = info["control_port"]
        self.ca_file = info["ca_file"]
        self.https_url = "https://127.0.0.1:%d" % self.https_port
        self.control_url = "http://127.0.0.1:%d" % self.control_port

    def _wait_ready(self, ready, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise FakeCloudError("fakecloud exited with %d: %s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                with open(ready) as f:
                    info = json.load(f)
                if info.get("pid") == self.proc.pid:
                    return info
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        raise FakeCloudError("fakecloud not ready after %.0fs: %s" % (timeout, self.log_tail()))

    def log_tail(self, n=4000):
        try:
            with open(self.log_file, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # -- lifetime --

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL if needed.  Returns the exit status."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            rc = self.proc.returncode
        if self._own_dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- URLs and TLS --

    def url(self, path):
        return self.https_url + path

    def ear_url(self, group):
        return self.url("/api/atlas/v2/groups/%s/encryptionAtRest" % group)

    def hook_url(self, name, https=True):
        return (self.https_url if https else self.control_url) + "/hooks/" + name

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    # -- control API --

    def _call(self, method, path, body=None, timeout=30.0):
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise FakeCloudError("%s %s -> %d: %s" % (method, path, e.code,
                                                      e.read().decode("utf-8", "replace")))
        return json.loads(raw) if raw else None

    @staticmethod
    def _q(s):
        return urllib.parse.quote(s, safe="")

    def health(self):
        return self._call("GET", "/health")

    def reset(self):
        return self._call("POST", "/reset")

    # Atlas groups
    def set_ear(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/ear" % self._q(group), doc)

    def group(self, group):
        return self._call("GET", "/atlas/groups/%s" % self._q(group))

    def delete_group(self, group):
        return self._call("DELETE", "/atlas/groups/%s" % self._q(group))

    def forbid(self, group, errorCode=None, detail=None, parameters=None):
        body = {k: v for k, v in (("errorCode", errorCode), ("detail", detail),
                                  ("parameters", parameters)) if v is not None}
        return self._call("POST", "/atlas/groups/%s/forbid" % self._q(group), body)

    def unforbid(self, group):
        return self._call("DELETE", "/atlas/groups/%s/forbid" % self._q(group))

    def set_ip_addresses(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/ipAddresses" % self._q(group), doc)

    def set_clusters(self, group, clusters):
        return self._call("PUT", "/atlas/groups/%s/clusters" % self._q(group), clusters)

    def set_cloud_provider_access(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/cloudProviderAccess" % self._q(group), doc)

    def set_control_plane_ips(self, doc):
        return self._call("PUT", "/atlas/controlPlaneIPAddresses", doc)

    # Atlas credentials
    def set_apikeys(self, keys=None, private_key=None):
        """set_apikeys({"pub": "priv", ...}) or set_apikeys("pub", "priv")."""
        if isinstance(keys, str):
            keys = {keys: private_key}
        return self._call("PUT", "/atlas/apikeys", keys or {})

    def set_service_accounts(self, accounts=None, client_secret=None):
        """set_service_accounts({"id": "secret", ...}) or (id, secret)."""
        if isinstance(accounts, str):
            accounts = {accounts: client_secret}
        return self._call("PUT", "/atlas/service_accounts", accounts or {})

    def set_token_ttl(self, seconds):
        return self._call("PUT", "/atlas/token_ttl", {"seconds": seconds})

    def revoke_tokens(self):
        return self._call("POST", "/atlas/revoke_tokens")

    def set_digest_algorithm(self, algorithm):
        return self._call("PUT", "/atlas/digest_algorithm", {"algorithm": algorithm})

    def set_tls(self, mode):
        """good | untrusted | wrong_host | expired (for new connections)."""
        return self._call("PUT", "/tls", {"mode": mode})

    # Faults
    def add_fault(self, path, **fault):
        """add_fault(prefix, status=, body=, body_b64=, headers=, hang=,
        close=True|"reset", content_length=, count=, method=)."""
        return self._call("POST", "/faults", dict(fault, path=path))

    def faults(self):
        return self._call("GET", "/faults")

    def clear_faults(self):
        return self._call("DELETE", "/faults")

    # Webhooks
    def hook_responses(self, name, responses):
        """Queue scripted answers for POST /hooks/name: a list of fault
        objects, e.g. [{"status": 500}, {"status": 429, "headers":
        {"Retry-After": "2"}}, {"hang": 5}]."""
        if isinstance(responses, dict):
            responses = [responses]
        return self._call("POST", "/hooks/%s/responses" % self._q(name), list(responses))

    def hooks(self, name):
        """Deliveries received for name: dicts with headers (lower-cased
        names), body (text), time, conn, method, path, query..."""
        return self._call("GET", "/hooks/%s" % self._q(name))

    def hook_bodies(self, name):
        """The deliveries' bodies parsed as JSON."""
        return [json.loads(d["body"]) for d in self.hooks(name)]

    def delete_hook(self, name):
        return self._call("DELETE", "/hooks/%s" % self._q(name))

    def clear_hooks(self):
        return self._call("DELETE", "/hooks")

    # Request log
    def requests(self, path=None, since=None):
        q = {}
        if path:
            q["path"] = path
        if since:
            q["since"] = str(since)
        return self._call("GET", "/requests" + ("?" + urllib.parse.urlencode(q) if q else ""))

    def clear_requests(self):
        return self._call("DELETE", "/requests")
