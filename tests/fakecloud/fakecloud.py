#!/usr/bin/python3
"""fakecloud: a loopback stand-in for the MongoDB Atlas Admin API v2 and for
webhook receivers, used by kmswatch's integration tests.  Standard library only.

    /usr/bin/python3 tests/fakecloud/fakecloud.py --dir DIR [--port 0]
        [--control-port 0] [--config FILE] [--verbose]

At start it creates (or reuses) in DIR a test CA (ca.pem, ca.key) and a server
certificate for 127.0.0.1, ::1 and localhost (server.pem, server.key), both EC
P-256, made with the openssl CLI.  It then listens on 127.0.0.1 with

  * HTTPS (TLS 1.2+, HTTP/1.1 keep-alive) on --port: the Atlas API and the
    webhook receivers;
  * plain HTTP on --control-port: the control API below, plus the webhook
    receivers again;

and writes DIR/ready.json atomically once both listen:
    {"https_port": N, "control_port": M, "ca_file": "DIR/ca.pem", "pid": P}
SIGTERM or SIGINT stop it cleanly (exit 0, ready.json removed).

Atlas endpoints (HTTPS port), facts from shared/reference/atlas-api.md
------------------------------------------------------------------------
  POST /api/oauth/token       client credentials; Basic base64(id:secret),
                              form body grant_type=client_credentials
  POST /api/oauth/revoke      form body token=...; Basic auth
  GET  /api/atlas/v2/unauth/controlPlaneIPAddresses        no auth, 2023-11-15
  GET  /api/atlas/v2/groups/{id}/encryptionAtRest           2023-01-01
  GET  /api/atlas/v2/groups/{id}/ipAddresses                2023-01-01
  GET  /api/atlas/v2/groups/{id}/clusters                   2024-08-05, paged
  GET  /api/atlas/v2/groups/{id}/cloudProviderAccess        2023-01-01
Group endpoints check, in this order: auth (Bearer token or HTTP Digest,
RFC 7616, qop=auth, MD5 or SHA-256) -> 401; the versioned Accept media type ->
406 INVALID_VERSION_DATE; a forbidden group -> 403; an unknown group -> 404
GROUP_NOT_FOUND.  200s carry the versioned Content-Type and RateLimit-Limit /
RateLimit-Remaining; errors are ApiError bodies with application/json.
Digest: realm "MMS Public API"; the client's algorithm must be the one
challenged (no -sess, no userhash), qop=auth with nc and cnonce, uri equal to
the request target; nonces live 300 s (then 401 stale=TRUE) and an nc may
not be reused for a nonce.  OAuth answers use application/json and RFC 6749
error bodies ({"error": "invalid_client", ...}), not ApiError.

Webhook receiver (both ports): POST /hooks/{name} records the delivery and
answers 200 {"ok":true}, unless a scripted response is queued for that name.

Faults and scripted responses share one shape (all keys optional):
  {"status": int, "body": str, "body_b64": str, "headers": {..},
   "hang": seconds, "close": true | "reset", "content_length": int,
   "count": N (default 1, -1 = forever), "method": "GET"}    (method: faults only)
  - hang: wait that long first (then apply the rest, or handle normally if
    neither status nor close is given);
  - close: drop the connection without answering (true = FIN, "reset" = RST);
  - status without body: a generic ApiError body for that status (>= 400) or
    an empty body; Content-Type defaults to application/json for a non-empty
    body;
  - content_length: send this Content-Length instead of the real one (the
    connection is closed after the body, so lies are detectable).
Faults are matched by path prefix (query ignored) in the order they were
added, before any normal handling, on every HTTPS request and on webhook
deliveries to the control port.

Control API (plain HTTP JSON on the control port)
-------------------------------------------------
  GET    /health
  POST   /reset                          back to the start state (--config)
  PUT    /atlas/groups/{id}/ear          body: EAR doc (any JSON); creates group
  GET    /atlas/groups/{id}              the group's stored state
  DELETE /atlas/groups/{id}              group gone -> 404 GROUP_NOT_FOUND
  POST   /atlas/groups/{id}/forbid       optional body {"errorCode","detail",
                                         "parameters"} -> 403 ApiError
  DELETE /atlas/groups/{id}/forbid       allowed again
  PUT    /atlas/groups/{id}/ipAddresses  | clusters (list or {"results":[..]})
  PUT    /atlas/groups/{id}/cloudProviderAccess    (these create the group too)
  PUT    /atlas/controlPlaneIPAddresses
  PUT    /atlas/apikeys                  {"public_key":P,"private_key":K} or {P:K,..}
  PUT    /atlas/service_accounts         {"client_id":I,"client_secret":S} or {I:S,..}
  PUT    /atlas/token_ttl                {"seconds": N}
  POST   /atlas/revoke_tokens            every issued token stops working
  PUT    /atlas/digest_algorithm         {"algorithm": "MD5" | "SHA-256"}
  POST   /faults                         {"path": prefix, ...fault}
  GET    /faults                         pending faults
  DELETE /faults
  POST   /hooks/{name}/responses         a fault object or a list of them
  GET    /hooks/{name}                   recorded deliveries
  DELETE /hooks/{name}   DELETE /hooks   forget deliveries and scripts
  GET    /requests[?path=prefix&since=seq]   request log
  DELETE /requests
  PUT    /tls                            {"mode": "good"|"untrusted"|"wrong_host"|
                                         "expired"}: certificate for new connections
PUT replaces.  Control errors are {"error": "..."} with 400/404/405.

Request log entries: seq, time, listener ("https"|"http"), conn (remote port),
conn_serial (unique per connection), method, path, query, headers (lower-cased
names; Authorization reduced to its scheme), body_bytes, status (null while in
flight or when no answer was sent), fault (true if a fault/script answered).
The log keeps the newest 20000 entries.

--config FILE: {"apikeys": {pub: priv}, "service_accounts": {id: secret},
"groups": {id: ear (null = the default EAR)}, "token_ttl": N,
"digest_algorithm": "MD5"|"SHA-256", "controlPlaneIPAddresses": {...}};
all keys optional.  Without it: no API keys, no service accounts, no groups.
"""

import argparse
import base64
import collections
import copy
import hashlib
import hmac
import http
import http.server
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

# --- constants ---------------------------------------------------------------

MT_2023_01_01 = "application/vnd.atlas.2023-01-01+json"
MT_2023_11_15 = "application/vnd.atlas.2023-11-15+json"
MT_2024_08_05 = "application/vnd.atlas.2024-08-05+json"
MT_JSON = "application/json"

DIGEST_REALM = "MMS Public API"
DIGEST_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
NONCE_LIFETIME = 300.0          # seconds a digest nonce stays fresh
MAX_NONCES = 10000

MAX_BODY = 64 * 1024 * 1024     # request bodies above this get 413
MAX_LOG = 20000                 # request-log entries kept
MAX_HOOK_RECORDS = 10000        # deliveries kept per hook name
IDLE_TIMEOUT = 120              # keep-alive connections idle longer are closed
HANDSHAKE_TIMEOUT = 10
RATE_LIMIT = 100                # RateLimit-Limit reported on Atlas 200s
RATE_WINDOW = 60.0              # seconds; RateLimit-Remaining counts this window
TOKEN_TTL_DEFAULT = 3600

OPENSSL = "/usr/bin/openssl" if os.path.exists("/usr/bin/openssl") else "openssl"

# Transport-level errors that only mean "the client went away".
CLIENT_GONE = (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, BrokenPipeError)


# --- default documents (synthetic, shaped after atlas-api.md) -----------------

DEFAULT_ROLE_ID = "65a1b2c3d4e5f60718293a4b"


def default_ear():
    """The Azure-enabled sample of atlas-api.md section 1."""
    return {
        "awsKms": {"enabled": False, "valid": False, "requirePrivateNetworking": False},
        "azureKeyVault": {
            "azureEnvironment": "AZURE",
            "clientID": "b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f",
            "enabled": True,
            "keyIdentifier": "https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
                             "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "keyVaultName": "contoso-kv",
            "requirePrivateNetworking": False,
            "resourceGroupName": "rg-atlas-cmk",
            "roleId": DEFAULT_ROLE_ID,
            "subscriptionID": "11111111-2222-4333-8444-555555555555",
            "tenantID": "99999999-8888-4777-8666-555555555555",
            "valid": True,
        },
        "googleCloudKms": {"enabled": False, "valid": False},
        "enabledForSearchNodes": False,
    }


def default_control_plane_ips():
    return {
        "inbound": {"aws": {"us-east-1": ["198.51.100.10/32"]},
                    "azure": {"eastus2": ["203.0.113.20/32"]}, "gcp": {}},
        "outbound": {"aws": {"us-east-1": ["198.51.100.40/32", "198.51.100.41/32"],
                             "eu-west-1": ["198.51.100.50/32"]},
                     "azure": {}, "gcp": {}},
        "gateways": [{"name": "Atlas Gateway",
                      "ips": {"inbound": {"aws": {"us-east-1": ["192.0.2.60/32"]}},
                              "outbound": {"aws": {"us-east-1": ["192.0.2.61/32"]}}}}],
    }


def default_ip_addresses(gid):
    return {"groupId": gid, "services": {"clusters": [{
        "clusterName": "Cluster0",
        "inbound": ["203.0.113.101", "203.0.113.102", "203.0.113.103"],
        "outbound": ["203.0.113.201", "203.0.113.202", "203.0.113.203"],
        "futureInbound": [], "futureOutbound": []}]}}


def default_clusters(gid, ear):
    """One idle cluster whose EAR provider follows the group's EAR document."""
    provider = "NONE"
    if isinstance(ear, dict):
        for key, name in (("azureKeyVault", "AZURE"), ("awsKms", "AWS"), ("googleCloudKms", "GCP")):
            sub = ear.get(key)
            if isinstance(sub, dict) and sub.get("enabled") is True:
                provider = name
                break
    return [{"id": hashlib.sha1(gid.encode()).hexdigest()[:24], "groupId": gid,
             "name": "Cluster0", "clusterType": "REPLICASET",
             "encryptionAtRestProvider": provider, "stateName": "IDLE", "paused": False,
             "mongoDBVersion": "8.0.4", "createDate": "2025-11-03T09:12:44Z"}]


def default_cloud_provider_access():
    return {
        "awsIamRoles": [],
        "azureServicePrincipals": [{
            "_id": DEFAULT_ROLE_ID, "providerName": "AZURE",
            "atlasAzureAppId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
            "servicePrincipalId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "tenantId": "99999999-8888-4777-8666-555555555555",
            "createdDate": "2026-01-15T10:00:00Z", "lastUpdatedDate": "2026-01-15T10:05:00Z",
            "featureUsages": [{"featureType": "ENCRYPTION_AT_REST", "featureId": None}]}],
        "gcpServiceAccounts": [],
    }


def reason_phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def api_error(status, code, detail, parameters=()):
    """An Atlas ApiError body (atlas-api.md section 9)."""
    return {"detail": detail, "error": status, "errorCode": code,
            "parameters": list(parameters), "reason": reason_phrase(status)}


# errorCode used when a fault/script gives a status but no body.
GENERIC_ERROR_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                       404: "RESOURCE_NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITED",
                       500: "UNEXPECTED_ERROR", 502: "BAD_GATEWAY",
                       503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


# --- certificates -------------------------------------------------------------

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = fakecloud
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::FAKECLOUD_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""

GOOD_SAN = "IP:127.0.0.1,IP:::1,DNS:localhost"


def _openssl(args, cwd, san=GOOD_SAN):
    env = dict(os.environ, FAKECLOUD_SAN=san)
    r = subprocess.run([OPENSSL] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.strip()))


def _gen_key(path, cwd):
    _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", path], cwd)


def _gen_ca(tmp, pem, key, cn):
    _gen_key(key, tmp)
    _openssl(["req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "v3_ca",
              "-key", key, "-subj", "/O=kmswatch tests/CN=" + cn, "-days", "3650",
              "-sha256", "-out", pem], tmp)


def _gen_leaf(tmp, ca_pem, ca_key, pem, key, san, days):
    _gen_key(key, tmp)
    _openssl(["req", "-new", "-config", "openssl.cnf", "-key", key,
              "-subj", "/CN=localhost", "-out", "leaf.csr"], tmp)
    # days < 0 yields notAfter < notBefore: an expired certificate.
    _openssl(["x509", "-req", "-in", "leaf.csr", "-CA", ca_pem, "-CAkey", ca_key,
              "-set_serial", "0x" + secrets.token_hex(12), "-days", str(days), "-sha256",
              "-extfile", "openssl.cnf", "-extensions", "v3_srv", "-out", pem], tmp, san)


def _files_ok(paths):
    return all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in paths)


def _generate(directory, produce, names):
    """Run produce(tmpdir) in a scratch dir, then move `names` into directory
    (os.replace, so a reader never sees a half-written file)."""
    with tempfile.TemporaryDirectory(dir=directory, prefix=".certgen-") as tmp:
        with open(os.path.join(tmp, "openssl.cnf"), "w") as f:
            f.write(OPENSSL_CNF)
        produce(tmp)
        for n in names:
            os.replace(os.path.join(tmp, n), os.path.join(directory, n))


class CertStore:
    """Owns the certificates in DIR and one SSLContext per TLS mode:
    good (test CA), untrusted (a second, unknown CA), wrong_host (test CA,
    SAN wrong-host.invalid only), expired (test CA, already expired).
    Non-good material is created on first use only."""

    MODES = ("good", "untrusted", "wrong_host", "expired")

    def __init__(self, directory):
        self.dir = directory
        self.ca_file = os.path.join(directory, "ca.pem")
        self._lock = threading.Lock()
        self._contexts = {}
        self.mode = "good"
        self._ensure_main()
        self.context("good")   # fail at start, not on the first client

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _ensure_main(self):
        names = ["ca.pem", "ca.key", "server.pem", "server.key"]
        if _files_ok([self._p(n) for n in names]):
            try:
                self._new_context(self._p("server.pem"), self._p("server.key"))
                return
            except (ssl.SSLError, OSError):
                pass    # unusable leftovers: make new ones

        def produce(tmp):
            _gen_ca(tmp, "ca.pem", "ca.key", "kmswatch fakecloud test CA")
            _gen_leaf(tmp, "ca.pem", "ca.key", "server.pem", "server.key", GOOD_SAN, 825)
        _generate(self.dir, produce, names)

    def _ensure_alt(self, mode):
        pem, key = "alt-%s.pem" % mode, "alt-%s.key" % mode
        if _files_ok([self._p(pem), self._p(key)]):
            return self._p(pem), self._p(key)
        ca_pem, ca_key = self._p("ca.pem"), self._p("ca.key")

        def produce(tmp):
            if mode == "untrusted":
                _gen_ca(tmp, "rogue-ca.pem", "rogue-ca.key", "kmswatch fakecloud ROGUE CA")
                _gen_leaf(tmp, "rogue-ca.pem", "rogue-ca.key", pem, key, GOOD_SAN, 825)
            elif mode == "wrong_host":
                _gen_leaf(tmp, ca_pem, ca_key, pem, key, "DNS:wrong-host.invalid", 825)
            else:   # expired
                _gen_leaf(tmp, ca_pem, ca_key, pem, key, GOOD_SAN, -1)
        _generate(self.dir, produce, [pem, key])
        return self._p(pem), self._p(key)

    @staticmethod
    def _new_context(pem, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])    # we speak HTTP/1.1 only
        ctx.load_cert_chain(pem, key)
        return ctx

    def context(self, mode=None):
        with self._lock:
            mode = mode or self.mode
            ctx = self._contexts.get(mode)
            if ctx is None:
                if mode == "good":
                    pem, key = self._p("server.pem"), self._p("server.key")
                else:
                    pem, key = self._ensure_alt(mode)
                ctx = self._contexts[mode] = self._new_context(pem, key)
            return ctx

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError("mode must be one of %s" % ", ".join(self.MODES))
        self.context(mode)      # build it now so errors reach the caller
        with self._lock:
            self.mode = mode


# --- validation helpers -------------------------------------------------------

class BadInput(Exception):
    """A control request or config the server refuses (-> 400)."""


def _str_map(obj, what):
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in obj.items()):
        raise BadInput("%s must be an object of string to string" % what)
    return dict(obj)


def parse_apikeys(obj):
    if isinstance(obj, dict) and set(obj) == {"public_key", "private_key"}:
        return _str_map({obj["public_key"]: obj["private_key"]}, "apikeys")
    return _str_map(obj, "apikeys")


def parse_service_accounts(obj):
    if isinstance(obj, dict) and set(obj) == {"client_id", "client_secret"}:
        return _str_map({obj["client_id"]: obj["client_secret"]}, "service_accounts")
    return _str_map(obj, "service_accounts")


def parse_ttl(obj):
    if isinstance(obj, dict):
        obj = obj.get("seconds")
    if isinstance(obj, bool) or not isinstance(obj, int) or obj < 0:
        raise BadInput("token ttl must be a non-negative integer number of seconds")
    return obj


def parse_algorithm(obj):
    if isinstance(obj, dict):
        obj = obj.get("algorithm")
    for name in DIGEST_HASHES:
        if isinstance(obj, str) and obj.upper() == name:
            return name
    raise BadInput("algorithm must be MD5 or SHA-256")


FAULT_KEYS = {"status", "body", "body_b64", "headers", "hang", "close",
              "content_length", "count"}


def parse_fault(obj, allow=()):
    """Validate a fault / scripted response; unknown keys are refused so that
    a typo in a test fails loudly instead of being ignored."""
    if not isinstance(obj, dict):
        raise BadInput("a fault must be a JSON object")
    unknown = set(obj) - FAULT_KEYS - set(allow)
    if unknown:
        raise BadInput("unknown fault keys: %s" % ", ".join(sorted(unknown)))
    f = {"count": 1, "headers": {}}
    status = obj.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise BadInput("status must be an integer 200..599")
        f["status"] = status
    if "body" in obj and "body_b64" in obj:
        raise BadInput("give body or body_b64, not both")
    if "body" in obj:
        if not isinstance(obj["body"], str):
            raise BadInput("body must be a string")
        f["body"] = obj["body"].encode("utf-8")
    if "body_b64" in obj:
        try:
            f["body"] = base64.b64decode(obj["body_b64"], validate=True)
        except (ValueError, TypeError):
            raise BadInput("body_b64 is not base64")
    headers = obj.get("headers", {})
    if not isinstance(headers, dict):
        raise BadInput("headers must be an object")
    for k, v in headers.items():
        v = str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if not isinstance(v, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", k) \
                or any(c in v for c in "\r\n\0"):
            raise BadInput("bad header %r" % k)
        f["headers"][k] = v
    hang = obj.get("hang", 0)
    if isinstance(hang, bool) or not isinstance(hang, (int, float)) or not 0 <= hang <= 3600:
        raise BadInput("hang must be a number of seconds 0..3600")
    f["hang"] = float(hang)
    close = obj.get("close", False)
    if close not in (True, False, "reset"):
        raise BadInput('close must be true, false or "reset"')
    f["close"] = close
    cl = obj.get("content_length")
    if cl is not None:
        if isinstance(cl, bool) or not isinstance(cl, int) or cl < 0:
            raise BadInput("content_length must be a non-negative integer")
        f["content_length"] = cl
    if f["headers"] and not ({"status", "body", "body_b64", "content_length"} & set(obj)):
        raise BadInput("headers need a status (or body) to be sent with")
    count = obj.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or (count < 1 and count != -1):
        raise BadInput("count must be >= 1 or -1 (forever)")
    f["count"] = count
    return f


def fault_view(f):
    """JSON-safe view of a stored fault (bodies may be binary and huge)."""
    v = {k: val for k, val in f.items() if k != "body"}
    if "body" in f:
        v["body_bytes"] = len(f["body"])
    return v


def load_config(path):
    cfg = {}
    if path:
        try:
            with open(path, "rb") as f:
                cfg = json.loads(f.read())
        except (OSError, ValueError) as e:
            raise BadInput("cannot read config %s: %s" % (path, e))
        if not isinstance(cfg, dict):
            raise BadInput("config must be a JSON object")
    known = {"apikeys", "service_accounts", "groups", "token_ttl", "digest_algorithm",
             "controlPlaneIPAddresses"}
    unknown = set(cfg) - known
    if unknown:
        raise BadInput("unknown config keys: %s" % ", ".join(sorted(unknown)))
    groups = cfg.get("groups", {})
    if not isinstance(groups, dict):
        raise BadInput("groups must be an object of group id to EAR document")
    return {
        "apikeys": parse_apikeys(cfg.get("apikeys", {})),
        "service_accounts": parse_service_accounts(cfg.get("service_accounts", {})),
        "groups": groups,
        "token_ttl": parse_ttl(cfg.get("token_ttl", TOKEN_TTL_DEFAULT)),
        "digest_algorithm": parse_algorithm(cfg.get("digest_algorithm", "MD5")),
        "controlPlaneIPAddresses": cfg.get("controlPlaneIPAddresses",
                                           default_control_plane_ips()),
    }


# --- shared state -------------------------------------------------------------

def new_group(ear=None):
    # None for ipAddresses/clusters/cloudProviderAccess means "use the default".
    return {"ear": default_ear() if ear is None else ear,
            "ipAddresses": None, "clusters": None, "cloudProviderAccess": None}


class State:
    """Everything mutable.  One lock guards it all: handlers copy what they
    need under the lock and never hold it while doing I/O."""

    def __init__(self, initial):
        self.lock = threading.RLock()
        self.initial = initial
        self._conn_serial = 0
        self.reset()

    def reset(self):
        with self.lock:
            ini = copy.deepcopy(self.initial)
            self.apikeys = ini["apikeys"]
            self.service_accounts = ini["service_accounts"]
            self.token_ttl = ini["token_ttl"]
            self.digest_algorithm = ini["digest_algorithm"]
            self.control_plane_ips = ini["controlPlaneIPAddresses"]
            self.groups = {gid: new_group(ear) for gid, ear in ini["groups"].items()}
            self.forbidden = {}         # gid -> ApiError body (403)
            self.tokens = {}            # access_token -> {"client_id", "expires"}
            self.token_key = secrets.token_bytes(32)
            self.nonces = collections.OrderedDict()  # nonce -> {"time", "ncs"}
            self.faults = []            # [{"path", "method"?, ...fault}]
            self.hook_scripts = {}      # name -> [fault]
            self.hooks = {}             # name -> deque of deliveries
            self.requests = collections.deque(maxlen=MAX_LOG)
            self.seq = 0
            self.rate_times = collections.deque()

    def next_conn_serial(self):
        with self.lock:
            self._conn_serial += 1
            return self._conn_serial

    # Faults / scripts: pop the first match, honouring count.
    @staticmethod
    def _take(queue, match):
        for i, f in enumerate(queue):
            if match(f):
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        del queue[i]
                return f
        return None

    def take_fault(self, method, path):
        with self.lock:
            return self._take(self.faults, lambda f: path.startswith(f["path"]) and
                              f.get("method", method).upper() == method.upper())

    def take_hook_script(self, name):
        with self.lock:
            return self._take(self.hook_scripts.get(name, []), lambda f: True)

    def rate_remaining(self):
        """Atlas 200s report how many requests remain in a sliding window."""
        with self.lock:
            now = time.monotonic()
            self.rate_times.append(now)
            while self.rate_times and self.rate_times[0] < now - RATE_WINDOW:
                self.rate_times.popleft()
            return max(0, RATE_LIMIT - len(self.rate_times))

    def new_nonce(self):
        with self.lock:
            now = time.monotonic()
            while self.nonces:     # drop expired ones (oldest first) and cap size
                n, rec = next(iter(self.nonces.items()))
                if rec["time"] < now - NONCE_LIFETIME or len(self.nonces) >= MAX_NONCES:
                    del self.nonces[n]
                else:
                    break
            nonce = base64.b64encode(secrets.token_bytes(24)).decode()
            self.nonces[nonce] = {"time": now, "ncs": set()}
            return nonce


# --- HTTP plumbing --------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class ClientGone(Exception):
    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False       # never wait for hung handler threads at exit
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, app, listener):
        self.app = app
        self.listener = listener
        super().__init__(addr, handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE + (ClientGone,)):
            return
        traceback.print_exc(file=sys.stderr)


class TLSServer(Server):
    """Wraps each accepted socket in TLS inside its own thread, so a slow or
    broken handshake never blocks the accept loop; the certificate is chosen
    per connection (PUT /tls)."""

    def process_request_thread(self, request, client_address):
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            conn = self.app.certs.context().wrap_socket(request, server_side=True)
        except Exception as e:        # handshake failure, client gone, ...
            if self.app.verbose:
                sys.stderr.write("fakecloud: TLS handshake from %s failed: %s\n"
                                 % (client_address[1], e))
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.finish_request(conn, client_address)
        except Exception:
            self.handle_error(conn, client_address)
        finally:
            self.shutdown_request(conn)


def parse_auth_params(s):
    """Parse RFC 7235 auth-params: k=token or k="quoted \\" string", comma
    separated.  Raises ValueError on anything malformed or duplicated."""
    params, i, n = {}, 0, len(s)
    while True:
        while i < n and s[i] in " \t,":
            i += 1
        if i >= n:
            return params
        j = i
        while j < n and s[j] not in "= \t,":
            j += 1
        key = s[i:j].lower()
        while j < n and s[j] in " \t":
            j += 1
        if not key or j >= n or s[j] != "=":
            raise ValueError("expected key=value")
        j += 1
        while j < n and s[j] in " \t":
            j += 1
        if j < n and s[j] == '"':
            j += 1
            out = []
            while True:
                if j >= n:
                    raise ValueError("unterminated quoted string")
                c = s[j]
                if c == "\\" and j + 1 < n:
                    out.append(s[j + 1])
                    j += 2
                elif c == '"':
                    j += 1
                    break
                else:
                    out.append(c)
                    j += 1
            value = "".join(out)
        else:
            k = j
            while j < n and s[j] not in " \t,":
                j += 1
            value = s[k:j]
        if key in params:
            raise ValueError("duplicate parameter %s" % key)
        params[key] = value
        i = j
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] != ",":
            raise ValueError("expected a comma")


class Handler(http.server.BaseHTTPRequestHandler):
    """Common request machinery: body reading, logging, faults, replies.
    Subclasses implement route() and served()."""

    protocol_version = "HTTP/1.1"
    server_version = "fakecloud/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT

    def version_string(self):
        return self.server_version

    # -- connection / logging --

    def setup(self):
        super().setup()
        self.app = self.server.app
        self.state = self.app.state
        self.conn_serial = self.state.next_conn_serial()
        self._entry = None

    def handle_one_request(self):
        # Per-request state; a keep-alive connection reuses this object, and a
        # malformed request must not touch the previous request's log entry.
        self._entry = None
        self._started = False
        self.query = {}
        self.headers = None
        self.command = None
        self.path = ""
        self.req_path = ""
        self.query_string = ""
        super().handle_one_request()

    def log_message(self, fmt, *args):
        if self.app.verbose:
            sys.stderr.write("fakecloud[%s] %s:%s %s\n" % (
                self.server.listener, self.client_address[0], self.client_address[1],
                fmt % args))

    def _log_request(self, body_bytes):
        headers = {}
        for k, v in (self.headers.items() if self.headers is not None else ()):
            k = k.lower()
            if k in ("authorization", "proxy-authorization"):
                v = v.strip().split(" ", 1)[0]      # keep only the scheme
            headers[k] = headers[k] + ", " + v if k in headers else v
        with self.state.lock:
            self.state.seq += 1
            entry = {"seq": self.state.seq, "time": time.time(),
                     "listener": self.server.listener, "conn": self.client_address[1],
                     "conn_serial": self.conn_serial, "method": self.command,
                     "path": self.req_path, "query": self.query_string,
                     "headers": headers, "body_bytes": body_bytes,
                     "status": None, "fault": False}
            self.state.requests.append(entry)
        self._entry = entry

    def _set_logged(self, **kw):
        if self._entry is not None:
            with self.state.lock:
                self._entry.update(kw)

    # -- replies --

    def reply(self, status, body=b"", content_type=None, headers=None, close=False,
              content_length=None):
        """Send one complete response; every response carries Content-Length
        (except 204/304) so the connection can be reused."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._set_logged(status=status)
        self._started = True
        try:
            self.send_response(status)
            if content_type and "content-type" not in {k.lower() for k in (headers or {})}:
                self.send_header("Content-Type", content_type)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if status not in (204, 304):
                self.send_header("Content-Length",
                                 str(len(body) if content_length is None else content_length))
            if close or content_length is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if body and self.command != "HEAD" and status not in (204, 304):
                self.wfile.write(body)
            self.wfile.flush()
        except CLIENT_GONE + (OSError,):
            self.close_connection = True
            raise ClientGone()

    def reply_json(self, status, obj, content_type=MT_JSON, headers=None, close=False):
        pretty = self.query.get("pretty", [""])[0].lower() == "true"
        text = json.dumps(obj, indent=2 if pretty else None,
                          separators=None if pretty else (",", ":"))
        self.reply(status, text, content_type, headers, close)

    def send_error(self, code, message=None, explain=None):
        """Used by http.server for malformed requests (and by us): always a
        JSON body with Content-Length, and the connection is closed since the
        stream may be out of sync."""
        code = int(code)
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            # http.server omits the status line and headers for HTTP/0.9
            # (the default for an unparsable request line); always send them.
            self.request_version = "HTTP/1.0"
        if self._entry is None:
            # A request that failed parsing: log what we know of it.
            try:
                if not self.req_path:
                    split = urllib.parse.urlsplit(getattr(self, "path", "") or "")
                    self.req_path, self.query_string = split.path, split.query
                if self.server.listener == "https" or self.served():
                    self._log_request(0)
            except Exception:
                pass
        body = json.dumps(api_error(code, GENERIC_ERROR_CODES.get(code, "INVALID_REQUEST"),
                                    message or reason_phrase(code)))
        try:
            self.query = {}
            self.reply(code, body, MT_JSON, close=True)
        except ClientGone:
            pass

    def abort(self, reset):
        """Drop the connection without an answer; with reset, send a TCP RST
        (SO_LINGER 0) instead of a FIN."""
        self.close_connection = True
        if reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()     # really closes once rfile is closed
            except OSError:
                pass

    # -- request body --

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "unsupported Transfer-Encoding %s" % te)
            return self._read_chunked()
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit():
            raise BodyError(400, "bad Content-Length")
        n = int(lengths[0])
        if n > MAX_BODY:
            raise BodyError(413, "request body larger than %d bytes" % MAX_BODY)
        data = self.rfile.read(n)
        if len(data) != n:
            raise ClientGone()
        return data

    def _read_chunked(self):
        out, total = [], 0
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise ClientGone()
            size_s = line.split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BodyError(400, "bad chunk size")
            if size < 0 or total + size > MAX_BODY:
                raise BodyError(413, "request body too large")
            if size == 0:
                while True:     # trailers up to the blank line
                    t = self.rfile.readline(8194)
                    if not t:
                        raise ClientGone()
                    if t in (b"\r\n", b"\n"):
                        return b"".join(out)
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ClientGone()
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError(400, "chunk not followed by CRLF")
            out.append(chunk)
            total += size

    # -- dispatch --

    def _dispatch(self):
        try:
            if not self.path.startswith("/") and "://" not in self.path:
                raise BodyError(400, "bad request target")
            if self.request_version == "HTTP/0.9":
                raise BodyError(400, "HTTP/0.9 is not supported")
            split = urllib.parse.urlsplit(self.path)
            self.req_path = split.path or "/"
            self.query_string = split.query
            self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            self.body = self._read_body()
        except BodyError as e:
            self.send_error(e.status, str(e))
            return
        except (ClientGone,) + CLIENT_GONE:
            self.close_connection = True
            return
        try:
            if self.served():
                self._log_request(len(self.body))
                fault = self.state.take_fault(self.command, self.req_path)
                if fault is not None:
                    self._set_logged(fault=True)
                    if self.apply_scripted(fault):
                        return
            self.route()
        except (ClientGone,) + CLIENT_GONE:
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if not self._started:
                try:
                    self.reply_json(500, api_error(500, "UNEXPECTED_ERROR",
                                                   "fakecloud internal error"), close=True)
                except ClientGone:
                    pass
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def apply_scripted(self, f):
        """Apply a fault or scripted response.  True if it answered (or
        dropped) the request, False if normal handling should follow."""
        if f["hang"] > 0:
            self.app.stop.wait(f["hang"])
        if f["close"]:
            self._set_logged(status=None)
            self.abort(reset=f["close"] == "reset")
            return True
        if "status" not in f and "body" not in f and "content_length" not in f:
            return False
        status = f.get("status", 200)
        body = f.get("body")
        if body is None:
            body = b"" if status < 400 else json.dumps(api_error(
                status, GENERIC_ERROR_CODES.get(status, "UNEXPECTED_ERROR"),
                "fakecloud scripted %d" % status)).encode()
        self.reply(status, body, MT_JSON if body else None, f["headers"],
                   content_length=f.get("content_length"))
        return True

    # -- webhooks --

    def receive_hook(self, name):
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        try:
            text, valid = self.body.decode("utf-8"), True
        except UnicodeDecodeError:
            text, valid = self.body.decode("utf-8", "replace"), False
        rec = {"name": name, "seq": self._entry["seq"] if self._entry else None,
               "time": time.time(), "listener": self.server.listener,
               "conn": self.client_address[1], "conn_serial": self.conn_serial,
               "method": self.command, "path": self.req_path, "query": self.query_string,
               "headers": headers, "body": text}
        if not valid:
            rec["body_b64"] = base64.b64encode(self.body).decode()
        with self.state.lock:
            self.state.hooks.setdefault(
                name, collections.deque(maxlen=MAX_HOOK_RECORDS)).append(rec)
        script = self.state.take_hook_script(name)
        if script is not None:
            self._set_logged(fault=True)
            if self.apply_scripted(script):
                return
        self.reply_json(200, {"ok": True})

    def served(self):
        raise NotImplementedError

    def route(self):
        raise NotImplementedError


# --- Atlas (HTTPS) ---------------------------------------------------------------

GROUP_RE = re.compile(r"/api/atlas/v2/groups/([^/]+)/"
                      r"(encryptionAtRest|ipAddresses|clusters|cloudProviderAccess)")
HOOK_RE = re.compile(r"/hooks/([^/]+)")

GROUP_MEDIA = {"encryptionAtRest": MT_2023_01_01, "ipAddresses": MT_2023_01_01,
               "clusters": MT_2024_08_05, "cloudProviderAccess": MT_2023_01_01}


class AtlasHandler(Handler):

    def served(self):
        return True     # every HTTPS request is logged and fault-checked

    def route(self):
        p = self.req_path
        m = GROUP_RE.fullmatch(p)
        if m:
            if self._method_ok("GET"):
                self.atlas_group(urllib.parse.unquote(m.group(1)), m.group(2))
        elif p == "/api/atlas/v2/unauth/controlPlaneIPAddresses":
            if self._method_ok("GET") and self.negotiate(MT_2023_11_15):
                with self.state.lock:
                    doc = copy.deepcopy(self.state.control_plane_ips)
                self.atlas_ok(doc, MT_2023_11_15)
        elif p == "/api/oauth/token":
            if self._method_ok("POST"):
                self.oauth_token()
        elif p == "/api/oauth/revoke":
            if self._method_ok("POST"):
                self.oauth_revoke()
        elif HOOK_RE.fullmatch(p):
            if self._method_ok("POST"):
                self.receive_hook(urllib.parse.unquote(HOOK_RE.fullmatch(p).group(1)))
        else:
            self.reply_json(404, api_error(404, "RESOURCE_NOT_FOUND",
                                           "Cannot find resource %s." % p, [p]))

    def _method_ok(self, allowed):
        if self.command == allowed:
            return True
        self.reply_json(405, api_error(405, "METHOD_NOT_ALLOWED",
                                       "Method %s is not allowed on %s." %
                                       (self.command, self.req_path)),
                        headers={"Allow": allowed})
        return False

    def atlas_ok(self, doc, media_type):
        remaining = self.state.rate_remaining()
        self.reply_json(200, doc, media_type, {"RateLimit-Limit": str(RATE_LIMIT),
                                               "RateLimit-Remaining": str(remaining)})

    def negotiate(self, media_type):
        """The resource exists in one version only: Accept must name it."""
        for part in ",".join(self.headers.get_all("Accept") or []).split(","):
            if part.split(";", 1)[0].strip().lower() == media_type:
                return True
        self.reply_json(406, api_error(406, "INVALID_VERSION_DATE",
                                       "Invalid accept header or version date."))
        return False

    # -- authentication --

    def unauthorized(self, detail, stale=False):
        nonce = self.state.new_nonce()
        with self.state.lock:
            alg = self.state.digest_algorithm
        challenge = ('Digest realm="%s", domain="", nonce="%s", algorithm=%s, '
                     'qop="auth", stale=%s' % (DIGEST_REALM, nonce, alg,
                                               "TRUE" if stale else "FALSE"))
        self.reply_json(401, api_error(401, "UNAUTHORIZED", detail),
                        headers={"WWW-Authenticate": challenge})

    def authenticate(self):
        """True if the request carries a valid Bearer token or Digest
        response; otherwise a 401 has been sent."""
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, rest = auth.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            token = rest.strip()
            with self.state.lock:
                rec = self.state.tokens.get(token)
                ok = rec is not None and rec["expires"] > time.time()
            if ok:
                return True
            self.unauthorized("Invalid, expired or revoked access token.")
            return False
        if scheme == "digest":
            ok, stale, why = self.check_digest(rest)
            if ok:
                return True
            self.unauthorized(why, stale)
            return False
        self.unauthorized("You are not authorized for this resource.")
        return False

    def check_digest(self, params_text):
        """Verify an RFC 7616 Digest response with qop=auth.
        Returns (ok, stale, reason)."""
        try:
            p = parse_auth_params(params_text)
        except ValueError as e:
            return False, False, "Malformed Digest credentials: %s." % e
        missing = [k for k in ("username", "realm", "nonce", "uri", "response", "qop",
                               "nc", "cnonce") if not p.get(k)]
        if missing:
            return False, False, "Digest credentials lack %s." % ", ".join(missing)
        with self.state.lock:
            alg = self.state.digest_algorithm
            password = self.state.apikeys.get(p["username"])
        if p.get("algorithm", "MD5").upper() != alg:
            return False, False, "Digest algorithm must be %s." % alg
        if p["realm"] != DIGEST_REALM:
            return False, False, "Wrong Digest realm."
        if p["qop"] != "auth":
            return False, False, "Digest qop must be auth."
        if p["uri"] != self.path:
            return False, False, "Digest uri does not match the request."
        if not re.fullmatch(r"[0-9a-fA-F]{8}", p["nc"]):
            return False, False, "Digest nc must be 8 hex digits."
        if password is None:
            return False, False, "Unknown API key."

        def h(s):
            return DIGEST_HASHES[alg](s.encode("utf-8")).hexdigest()
        ha1 = h("%s:%s:%s" % (p["username"], DIGEST_REALM, password))
        ha2 = h("%s:%s" % (self.command, p["uri"]))
        expected = h("%s:%s:%s:%s:%s:%s" % (ha1, p["nonce"], p["nc"], p["cnonce"],
                                            p["qop"], ha2))
        if not hmac.compare_digest(expected, p["response"].lower()):
            return False, False, "Invalid Digest response."
        # The hash is right; now the nonce must be ours, fresh and the nc new
        # (replay protection).  A stale nonce with a right hash gets stale=TRUE
        # so the client retries with the new nonce without asking the user.
        with self.state.lock:
            rec = self.state.nonces.get(p["nonce"])
            if rec is None or rec["time"] < time.monotonic() - NONCE_LIFETIME:
                return False, True, "Stale Digest nonce."
            nc = int(p["nc"], 16)
            if nc in rec["ncs"]:
                return False, False, "Digest nonce count reused."
            rec["ncs"].add(nc)
        return True, False, ""

    # -- group resources --

    def atlas_group(self, gid, resource):
        if not self.authenticate():
            return
        media_type = GROUP_MEDIA[resource]
        if not self.negotiate(media_type):
            return
        with self.state.lock:
            forbidden = copy.deepcopy(self.state.forbidden.get(gid))
            group = copy.deepcopy(self.state.groups.get(gid))
        if forbidden is not None:
            self.reply_json(403, forbidden)
            return
        if group is None:
            self.reply_json(404, api_error(404, "GROUP_NOT_FOUND",
                                           "No group with ID %s exists." % gid, [gid]))
            return
        if resource == "encryptionAtRest":
            self.atlas_ok(group["ear"], media_type)
        elif resource == "ipAddresses":
            doc = group["ipAddresses"]
            self.atlas_ok(default_ip_addresses(gid) if doc is None else doc, media_type)
        elif resource == "cloudProviderAccess":
            doc = group["cloudProviderAccess"]
            self.atlas_ok(default_cloud_provider_access() if doc is None else doc, media_type)
        else:
            clusters = group["clusters"]
            if clusters is None:
                clusters = default_clusters(gid, group["ear"])
            self.clusters_page(gid, clusters, media_type)

    def _int_param(self, name, default, lo, hi):
        raw = self.query.get(name, [None])[0]
        if raw is None:
            return default
        if raw.strip().isdigit() and lo <= int(raw) <= hi:
            return int(raw)
        raise BadInput("%s must be an integer %d..%d" % (name, lo, hi))

    def clusters_page(self, gid, clusters, media_type):
        """The paginated envelope: results, totalCount, links."""
        try:
            per_page = self._int_param("itemsPerPage", 100, 1, 500)
            page = self._int_param("pageNum", 1, 1, 2 ** 31 - 1)
            inc = self.query.get("includeCount", ["true"])[0].lower()
            if inc not in ("true", "false"):
                raise BadInput("includeCount must be true or false")
        except BadInput as e:
            body = api_error(400, "INVALID_QUERY_PARAMETER", str(e))
            self.reply_json(400, body)
            return
        start = (page - 1) * per_page
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port
        base = "https://%s/api/atlas/v2/groups/%s/clusters" % (host, urllib.parse.quote(gid))

        def link(n, rel):
            return {"href": "%s?pageNum=%d&itemsPerPage=%d" % (base, n, per_page), "rel": rel}
        links = [link(page, "self")]
        if page > 1:
            links.insert(0, link(page - 1, "previous"))
        if start + per_page < len(clusters):
            links.append(link(page + 1, "next"))
        doc = {"links": links, "results": clusters[start:start + per_page]}
        if inc == "true":
            doc["totalCount"] = len(clusters)
        self.atlas_ok(doc, media_type)

    # -- OAuth (errors are RFC 6749 bodies, not ApiError) --

    def _oauth_error(self, status, error, description):
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="MongoDB Atlas"'
        self.reply_json(status, {"error": error, "error_description": description},
                        headers=headers)

    def _basic_client(self):
        """The (client_id, secret) of a valid Basic header, or None."""
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, rest = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            cid, sep, secret = base64.b64decode(rest.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not sep:
            return None
        with self.state.lock:
            known = self.state.service_accounts.get(cid)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            return None
        return cid, secret

    def _form(self):
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        try:
            return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=bool(self.body))
        except (ValueError, UnicodeDecodeError):
            return None

    def oauth_token(self):
        client = self._basic_client()
        if client is None:
            self._oauth_error(401, "invalid_client", "Client authentication failed.")
            return
        form = self._form()
        if form is None:
            self._oauth_error(400, "invalid_request",
                              "Expected an application/x-www-form-urlencoded body.")
            return
        grant = form.get("grant_type", [])
        if len(grant) != 1:
            self._oauth_error(400, "invalid_request", "grant_type is required once.")
            return
        if grant[0] != "client_credentials":
            self._oauth_error(400, "unsupported_grant_type",
                              "Only client_credentials is supported.")
            return
        now = int(time.time())
        with self.state.lock:
            ttl = self.state.token_ttl
            key = self.state.token_key
        token = self._make_jwt(client[0], now, ttl, key)
        with self.state.lock:
            self.state.tokens[token] = {"client_id": client[0], "expires": now + ttl}
        self.reply_json(200, {"access_token": token, "expires_in": ttl,
                              "token_type": "Bearer"},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _make_jwt(client_id, now, ttl, key):
        """A JWT-shaped opaque token (clients must not parse it)."""
        def b64(b):
            return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        body = b64(json.dumps({"sub": client_id, "iat": now, "exp": now + ttl,
                               "jti": secrets.token_hex(16)}).encode())
        sig = b64(hmac.new(key, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
        return "%s.%s.%s" % (head, body, sig)

    def oauth_revoke(self):
        client = self._basic_client()
        if client is None:
            self._oauth_error(401, "invalid_client", "Client authentication failed.")
            return
        form = self._form()
        if form is None or len(form.get("token", [])) != 1:
            self._oauth_error(400, "invalid_request", "token is required.")
            return
        with self.state.lock:
            rec = self.state.tokens.get(form["token"][0])
            if rec is not None and rec["client_id"] == client[0]:
                del self.state.tokens[form["token"][0]]
        self.reply(200)     # RFC 7009: 200 whether or not the token existed


# --- control API (plain HTTP) ------------------------------------------------------

class ControlHandler(Handler):

    ROUTES = []     # (method, compiled regex, function name); filled below

    def served(self):
        # Only webhook deliveries are traffic under test; control calls are not
        # logged or fault-checked.
        return self.command == "POST" and HOOK_RE.fullmatch(self.req_path) is not None

    def route(self):
        matched_path = False
        for method, rx, fname in self.ROUTES:
            m = rx.fullmatch(self.req_path)
            if m:
                matched_path = True
                if method == self.command:
                    args = [urllib.parse.unquote(a) for a in m.groups()]
                    try:
                        getattr(self, fname)(*args)
                    except BadInput as e:
                        self.reply_json(400, {"error": str(e)})
                    return
        if matched_path:
            self.reply_json(405, {"error": "method %s not allowed here" % self.command})
        else:
            self.reply_json(404, {"error": "no control endpoint %s" % self.req_path})

    def json_body(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise BadInput("body is not valid JSON: %s" % e)

    def ok(self, **extra):
        self.reply_json(200, dict({"ok": True}, **extra))

    # -- handlers (registered in ROUTES) --

    def c_health(self):
        self.ok()

    def c_reset(self):
        self.state.reset()
        self.app.certs.set_mode("good")
        self.ok()

    def c_put_ear(self, gid):
        doc = self.json_body()
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())["ear"] = doc
        self.ok()

    def c_get_group(self, gid):
        with self.state.lock:
            g = copy.deepcopy(self.state.groups.get(gid))
            forbidden = gid in self.state.forbidden
        if g is None:
            self.reply_json(404, {"error": "no group %s" % gid, "forbidden": forbidden})
        else:
            self.reply_json(200, dict(g, forbidden=forbidden))

    def c_delete_group(self, gid):
        with self.state.lock:
            existed = self.state.groups.pop(gid, None) is not None
            self.state.forbidden.pop(gid, None)
        self.ok(existed=existed)

    def c_forbid(self, gid):
        body = self.json_body() if self.body.strip() else {}
        if not isinstance(body, dict) or set(body) - {"errorCode", "detail", "parameters"}:
            raise BadInput("body may hold errorCode, detail, parameters")
        params = body.get("parameters", [])
        if not isinstance(params, list):
            raise BadInput("parameters must be a list")
        err = api_error(403, str(body.get("errorCode", "USER_UNAUTHORIZED")),
                        str(body.get("detail",
                                     "Current user is not authorized to perform this action.")),
                        params)
        with self.state.lock:
            self.state.forbidden[gid] = err
        self.ok()

    def c_unforbid(self, gid):
        with self.state.lock:
            self.state.forbidden.pop(gid, None)
        self.ok()

    def c_put_group_part(self, gid, part):
        doc = self.json_body()
        if part == "clusters":
            if isinstance(doc, dict) and isinstance(doc.get("results"), list):
                doc = doc["results"]
            if not isinstance(doc, list):
                raise BadInput('clusters must be a list or {"results": [...]}')
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())[part] = doc
        self.ok()

    def c_put_control_plane(self):
        doc = self.json_body()
        with self.state.lock:
            self.state.control_plane_ips = doc
        self.ok()

    def c_put_apikeys(self):
        keys = parse_apikeys(self.json_body())
        with self.state.lock:
            self.state.apikeys = keys
        self.ok(count=len(keys))

    def c_put_service_accounts(self):
        accounts = parse_service_accounts(self.json_body())
        with self.state.lock:
            self.state.service_accounts = accounts
        self.ok(count=len(accounts))

    def c_put_token_ttl(self):
        ttl = parse_ttl(self.json_body())
        with self.state.lock:
            self.state.token_ttl = ttl
        self.ok()

    def c_revoke_tokens(self):
        with self.state.lock:
            n = len(self.state.tokens)
            self.state.tokens.clear()
        self.ok(revoked=n)

    def c_put_digest_algorithm(self):
        alg = parse_algorithm(self.json_body())
        with self.state.lock:
            self.state.digest_algorithm = alg
            self.state.nonces.clear()   # old challenges named the old algorithm
        self.ok()

    def c_add_fault(self):
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("path"), str) \
                or not body["path"].startswith("/"):
            raise BadInput('a fault needs "path": a prefix starting with /')
        method = body.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise BadInput("method must be an HTTP method name")
        fault = parse_fault(body, allow=("path", "method"))
        fault["path"] = body["path"]
        if method:
            fault["method"] = method.upper()
        with self.state.lock:
            self.state.faults.append(fault)
            n = len(self.state.faults)
        self.ok(pending=n)

    def c_list_faults(self):
        with self.state.lock:
            faults = [fault_view(f) for f in self.state.faults]
        self.reply_json(200, faults)

    def c_clear_faults(self):
        with self.state.lock:
            self.state.faults.clear()
        self.ok()

    def c_hook_responses(self, name):
        body = self.json_body()
        items = body if isinstance(body, list) else [body]
        scripts = [parse_fault(x) for x in items]
        with self.state.lock:
            q = self.state.hook_scripts.setdefault(name, [])
            q.extend(scripts)
            n = len(q)
        self.ok(pending=n)

    def c_get_hook(self, name):
        with self.state.lock:
            recs = list(self.state.hooks.get(name, ()))
        self.reply_json(200, recs)

    def c_delete_hook(self, name):
        with self.state.lock:
            self.state.hooks.pop(name, None)
            self.state.hook_scripts.pop(name, None)
        self.ok()

    def c_clear_hooks(self):
        with self.state.lock:
            self.state.hooks.clear()
            self.state.hook_scripts.clear()
        self.ok()

    def c_get_requests(self):
        prefix = self.query.get("path", [""])[0]
        since = self.query.get("since", ["0"])[0]
        if not since.isdigit():
            raise BadInput("since must be a sequence number")
        since = int(since)
        with self.state.lock:
            out = [copy.deepcopy(e) for e in self.state.requests
                   if e["seq"] > since and e["path"].startswith(prefix)]
        self.reply_json(200, out)

    def c_clear_requests(self):
        with self.state.lock:
            self.state.requests.clear()
        self.ok()

    def c_put_tls(self):
        body = self.json_body()
        mode = body.get("mode") if isinstance(body, dict) else None
        try:
            self.app.certs.set_mode(mode)
        except ValueError as e:
            raise BadInput(str(e))
        self.ok()

    def c_receive_hook(self, name):
        self.receive_hook(name)


_G = r"/atlas/groups/([^/]+)"
for _m, _p, _f in [
        ("GET", r"/health", "c_health"),
        ("POST", r"/reset", "c_reset"),
        ("PUT", _G + r"/ear", "c_put_ear"),
        ("GET", _G, "c_get_group"),
        ("DELETE", _G, "c_delete_group"),
        ("POST", _G + r"/forbid", "c_forbid"),
        ("DELETE", _G + r"/forbid", "c_unforbid"),
        ("PUT", _G + r"/(ipAddresses|clusters|cloudProviderAccess)", "c_put_group_part"),
        ("PUT", r"/atlas/controlPlaneIPAddresses", "c_put_control_plane"),
        ("PUT", r"/atlas/apikeys", "c_put_apikeys"),
        ("PUT", r"/atlas/service_accounts", "c_put_service_accounts"),
        ("PUT", r"/atlas/token_ttl", "c_put_token_ttl"),
        ("POST", r"/atlas/revoke_tokens", "c_revoke_tokens"),
        ("PUT", r"/atlas/digest_algorithm", "c_put_digest_algorithm"),
        ("POST", r"/faults", "c_add_fault"),
        ("GET", r"/faults", "c_list_faults"),
        ("DELETE", r"/faults", "c_clear_faults"),
        ("POST", r"/hooks/([^/]+)/responses", "c_hook_responses"),
        ("POST", r"/hooks/([^/]+)", "c_receive_hook"),
        ("GET", r"/hooks/([^/]+)", "c_get_hook"),
        ("DELETE", r"/hooks/([^/]+)", "c_delete_hook"),
        ("DELETE", r"/hooks", "c_clear_hooks"),
        ("GET", r"/requests", "c_get_requests"),
        ("DELETE", r"/requests", "c_clear_requests"),
        ("PUT", r"/tls", "c_put_tls")]:
    ControlHandler.ROUTES.append((_m, re.compile(_p), _f))


# --- main ----------------------------------------------------------------------------

class App:
    def __init__(self, state, certs, verbose):
        self.state = state
        self.certs = certs
        self.verbose = verbose
        self.stop = threading.Event()   # set on SIGTERM; also ends hangs early


def write_ready(directory, info):
    tmp = os.path.join(directory, ".ready.json.%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(info, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(directory, "ready.json"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Atlas API and webhook receiver")
    ap.add_argument("--dir", required=True, help="state directory (certs, ready.json)")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0: any)")
    ap.add_argument("--control-port", type=int, default=0, help="control port (0: any)")
    ap.add_argument("--config", help="JSON start state")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    directory = os.path.abspath(args.dir)
    try:
        os.makedirs(directory, exist_ok=True)
        initial = load_config(args.config)
        certs = CertStore(directory)
    except (BadInput, RuntimeError, OSError, ssl.SSLError) as e:
        sys.stderr.write("fakecloud: %s\n" % e)
        return 2

    app = App(State(initial), certs, args.verbose)
    try:
        https = TLSServer(("127.0.0.1", args.port), AtlasHandler, app, "https")
        control = Server(("127.0.0.1", args.control_port), ControlHandler, app, "http")
    except OSError as e:
        sys.stderr.write("fakecloud: cannot listen: %s\n" % e)
        return 2

    def on_signal(signum, frame):
        app.stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                name="serve-" + s.listener, daemon=True)
               for s in (https, control)]
    for t in threads:
        t.start()
    ready = os.path.join(directory, "ready.json")
    write_ready(directory, {"https_port": https.server_address[1],
                            "control_port": control.server_address[1],
                            "ca_file": certs.ca_file, "pid": os.getpid()})
    if args.verbose:
        sys.stderr.write("fakecloud: https on %d, control on %d\n"
                         % (https.server_address[1], control.server_address[1]))
    while not app.stop.wait(1.0):
        pass
    for s in (https, control):
        s.shutdown()
        s.server_close()
    try:
        os.unlink(ready)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
