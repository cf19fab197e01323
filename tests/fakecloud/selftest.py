#!/usr/bin/python3
"""Self-test for fakecloud: starts it through client.FakeCloud and checks it
with the curl CLI and with urllib + ssl.  Exit 0 if every check passes.

    /usr/bin/python3 tests/fakecloud/selftest.py [-v] [-k substring]
"""

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from client import FakeCloud, FakeCloudError, azure_ear, wait_for  # noqa: E402

GID = "65a1b2c3d4e5f60718293a00"
PUB, PRIV = "abcdefgh", "0b1c2d3e-aaaa-4bbb-8ccc-ddddeeeeffff"
CID, CSECRET = "mdb_sa_id_0123456789abcdef01234567", "mdb_sa_sk_secret"
MT_EAR = "application/vnd.atlas.2023-01-01+json"
MT_CP = "application/vnd.atlas.2023-11-15+json"
MT_CLUSTERS = "application/vnd.atlas.2024-08-05+json"
EAR_PATH = "/api/atlas/v2/groups/%s/encryptionAtRest" % GID
CONFIG = {"apikeys": {PUB: PRIV}, "service_accounts": {CID: CSECRET},
          "groups": {GID: azure_ear()}}


# --- helpers ----------------------------------------------------------------------

def http(fc, method, path, headers=None, body=None, timeout=10.0, https=True):
    """One request with urllib; returns (status, {lower-name: value}, body)."""
    base = fc.https_url if https else fc.control_url
    if isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(base + path, data=body, method=method,
                                 headers=headers or {})
    handlers = [urllib.request.HTTPSHandler(context=fc.ssl_context())]
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def curl(fc, *args, timeout=30):
    """Run curl; returns (rc, [header blocks], body bytes, write-out, stderr)."""
    with tempfile.TemporaryDirectory() as td:
        hdr, out = os.path.join(td, "h"), os.path.join(td, "b")
        cmd = ["curl", "-sS", "--cacert", fc.ca_file, "-D", hdr, "-o", out,
               "-w", "%{http_code} %{num_connects} %{size_download}"] + list(args)
        p = subprocess.run(cmd, capture_output=True, timeout=timeout)
        headers = open(hdr, "rb").read().decode("latin-1") if os.path.exists(hdr) else ""
        body = open(out, "rb").read() if os.path.exists(out) else b""
    return p.returncode, headers, body, p.stdout.decode(), p.stderr.decode()


def last_header(block_text, name):
    """Value of header `name` in the last response of a curl -D dump."""
    blocks = [b for b in re.split(r"\r?\n\r?\n", block_text) if b.strip()]
    for line in blocks[-1].splitlines()[1:] if blocks else []:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def get_token(fc):
    basic = base64.b64encode(("%s:%s" % (CID, CSECRET)).encode()).decode()
    st, h, b = http(fc, "POST", "/api/oauth/token",
                    {"Authorization": "Basic " + basic, "Accept": "application/json",
                     "Content-Type": "application/x-www-form-urlencoded"},
                    "grant_type=client_credentials")
    assert st == 200, (st, b)
    return json.loads(b)


def bearer_get(fc, token, path=EAR_PATH, accept=MT_EAR, timeout=10.0):
    headers = {"Authorization": "Bearer " + token}
    if accept:
        headers["Accept"] = accept
    return http(fc, "GET", path, headers, timeout=timeout)


def expect_api_error(status, headers, body, code, http_status):
    assert status == http_status, (status, body)
    assert headers.get("content-type") == "application/json", headers
    doc = json.loads(body)
    assert set(doc) == {"detail", "error", "errorCode", "parameters", "reason"}, doc
    assert doc["error"] == http_status and doc["errorCode"] == code, doc
    assert isinstance(doc["parameters"], list), doc
    return doc


def raw_tls(fc, data, timeout=5.0):
    """Send raw bytes over one TLS connection; return everything read back."""
    ctx = fc.ssl_context()
    with socket.create_connection(("127.0.0.1", fc.https_port), timeout=timeout) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            t.sendall(data)
            out = b""
            try:
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    out += chunk
            except (socket.timeout, ssl.SSLError, ConnectionError):
                pass
            return out


class DigestClient:
    """An independent RFC 7616 client, to check the server's arithmetic
    (and nonce bookkeeping) beyond what curl exercises."""

    def __init__(self, fc, user, password):
        self.fc, self.user, self.password = fc, user, password

    def challenge(self, path):
        st, h, _ = http(self.fc, "GET", path, {"Accept": MT_EAR})
        assert st == 401, st
        ch = h["www-authenticate"]
        assert ch.startswith("Digest "), ch
        return {k: a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', ch)}

    def header(self, ch, path, nc, nonce=None, alg=None):
        alg = alg or ch["algorithm"]
        h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg]
        H = lambda s: h(s.encode()).hexdigest()  # noqa: E731
        nonce = nonce or ch["nonce"]
        cnonce = secrets.token_hex(8)
        ncs = "%08x" % nc
        ha1 = H("%s:%s:%s" % (self.user, ch["realm"], self.password))
        ha2 = H("GET:%s" % path)
        resp = H("%s:%s:%s:%s:auth:%s" % (ha1, nonce, ncs, cnonce, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=%s, '
                'response="%s", qop=auth, nc=%s, cnonce="%s"'
                % (self.user, ch["realm"], nonce, path, alg, resp, ncs, cnonce))

    def get(self, path, auth):
        return http(self.fc, "GET", path, {"Accept": MT_EAR, "Authorization": auth})


# --- checks -------------------------------------------------------------------------

def t_health_and_ready(fc):
    assert fc.health()["ok"] is True
    info = json.load(open(os.path.join(fc.dir, "ready.json")))
    assert set(info) == {"https_port", "control_port", "ca_file", "pid"}, info
    assert info["ca_file"] == os.path.join(fc.dir, "ca.pem")


def t_digest_md5_curl(fc):
    rc, hdrs, body, wo, err = curl(fc, "--digest", "-u", "%s:%s" % (PUB, PRIV),
                                   "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert rc == 0 and wo.startswith("200 "), (rc, wo, err)
    assert json.loads(body) == azure_ear()
    assert 'algorithm=MD5' in hdrs and 'realm="MMS Public API"' in hdrs, hdrs
    assert last_header(hdrs, "content-type") == MT_EAR, hdrs
    assert last_header(hdrs, "ratelimit-limit") and last_header(hdrs, "ratelimit-remaining")
    log = fc.requests(EAR_PATH)
    assert [e["status"] for e in log] == [401, 200], log
    assert log[1]["headers"]["authorization"] == "Digest", log[1]["headers"]
    assert log[0]["conn"] == log[1]["conn"], "the 401 must not close the connection"


def t_digest_sha256_curl(fc):
    fc.set_digest_algorithm("SHA-256")
    rc, hdrs, body, wo, err = curl(fc, "--digest", "-u", "%s:%s" % (PUB, PRIV),
                                   "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert rc == 0 and wo.startswith("200 "), (rc, wo, err, hdrs)
    assert "algorithm=SHA-256" in hdrs, hdrs
    assert json.loads(body)["azureKeyVault"]["enabled"] is True


def t_digest_wrong_password(fc):
    rc, hdrs, body, wo, err = curl(fc, "--digest", "-u", "%s:nope" % PUB,
                                   "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert wo.startswith("401 "), (wo, err)
    assert last_header(hdrs, "content-type") == "application/json"
    assert last_header(hdrs, "www-authenticate").startswith("Digest ")
    doc = json.loads(body)
    assert doc["error"] == 401 and doc["errorCode"] == "UNAUTHORIZED", doc
    assert doc["reason"] == "Unauthorized" and doc["parameters"] == [], doc
    # unknown user, and no credentials at all
    st, h, b = http(fc, "GET", EAR_PATH, {"Accept": MT_EAR})
    expect_api_error(st, h, b, "UNAUTHORIZED", 401)


def t_digest_python_nonce_rules(fc):
    for alg in ("MD5", "SHA-256"):
        fc.set_digest_algorithm(alg)
        dc = DigestClient(fc, PUB, PRIV)
        ch = dc.challenge(EAR_PATH)
        assert ch["algorithm"] == alg and ch["qop"] == "auth" and ch["stale"] == "FALSE", ch
        auth1 = dc.header(ch, EAR_PATH, 1)
        assert dc.get(EAR_PATH, auth1)[0] == 200
        assert dc.get(EAR_PATH, auth1)[0] == 401, "replayed nc must fail"
        assert dc.get(EAR_PATH, dc.header(ch, EAR_PATH, 2))[0] == 200
        # right hash, nonce we never issued -> 401 stale=TRUE
        st, h, _ = dc.get(EAR_PATH, dc.header(ch, EAR_PATH, 1, nonce="bm9wZQ=="))
        assert st == 401 and "stale=TRUE" in h["www-authenticate"], h
        # wrong algorithm for the configured one
        other = "MD5" if alg == "SHA-256" else "SHA-256"
        assert dc.get(EAR_PATH, dc.header(ch, EAR_PATH, 3, alg=other))[0] == 401
        # uri not matching the request
        assert dc.get(EAR_PATH, dc.header(ch, "/other", 4))[0] == 401
    # garbage Digest header: an error, not a crash
    st, h, b = http(fc, "GET", EAR_PATH, {"Accept": MT_EAR, "Authorization": 'Digest a="b'})
    expect_api_error(st, h, b, "UNAUTHORIZED", 401)


def t_oauth_flow(fc):
    basic = base64.b64encode(("%s:%s" % (CID, CSECRET)).encode()).decode()
    st, h, b = http(fc, "POST", "/api/oauth/token",
                    {"Authorization": "Basic " + basic,
                     "Content-Type": "application/x-www-form-urlencoded"},
                    "grant_type=client_credentials")
    assert st == 200 and h["content-type"] == "application/json", (st, h)
    tok = json.loads(b)
    assert set(tok) == {"access_token", "expires_in", "token_type"}, tok
    assert tok["token_type"] == "Bearer" and tok["expires_in"] == 3600, tok
    assert h.get("cache-control") == "no-store"
    bad = base64.b64encode(("%s:wrong" % CID).encode()).decode()
    st, h, b = http(fc, "POST", "/api/oauth/token",
                    {"Authorization": "Basic " + bad,
                     "Content-Type": "application/x-www-form-urlencoded"},
                    "grant_type=client_credentials")
    doc = json.loads(b)
    assert st == 401 and doc["error"] == "invalid_client" and doc["error_description"], (st, doc)
    st, h, b = http(fc, "POST", "/api/oauth/token",
                    {"Authorization": "Basic " + basic,
                     "Content-Type": "application/x-www-form-urlencoded"},
                    "grant_type=password")
    assert st == 400 and json.loads(b)["error"] == "unsupported_grant_type", (st, b)


def t_bearer_ear_and_revoke(fc):
    tok = get_token(fc)["access_token"]
    st, h, b = bearer_get(fc, tok)
    assert st == 200 and h["content-type"] == MT_EAR, (st, h)
    assert json.loads(b) == azure_ear()
    assert int(h["ratelimit-remaining"]) <= int(h["ratelimit-limit"])
    assert fc.revoke_tokens()["revoked"] == 1
    st, h, b = bearer_get(fc, tok)
    expect_api_error(st, h, b, "UNAUTHORIZED", 401)


def t_token_ttl(fc):
    fc.set_token_ttl(1)
    tok = get_token(fc)
    assert tok["expires_in"] == 1
    assert bearer_get(fc, tok["access_token"])[0] == 200
    time.sleep(2.1)
    assert bearer_get(fc, tok["access_token"])[0] == 401


def t_group_not_found(fc):
    tok = get_token(fc)["access_token"]
    other = "65a1b2c3d4e5f60718293aff"
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups/%s/encryptionAtRest" % other)
    assert st == 404 and h["content-type"] == "application/json"
    assert json.loads(b) == {"detail": "No group with ID %s exists." % other, "error": 404,
                             "errorCode": "GROUP_NOT_FOUND", "parameters": [other],
                             "reason": "Not Found"}, b
    fc.delete_group(GID)
    st, h, b = bearer_get(fc, tok)
    expect_api_error(st, h, b, "GROUP_NOT_FOUND", 404)
    fc.set_ear(GID, azure_ear(valid=False, key_version="ab" * 16))
    st, h, b = bearer_get(fc, tok)
    assert st == 200 and json.loads(b)["azureKeyVault"]["valid"] is False


def t_forbidden(fc):
    tok = get_token(fc)["access_token"]
    fc.forbid(GID)
    expect_api_error(*bearer_get(fc, tok), "USER_UNAUTHORIZED", 403)
    fc.unforbid(GID)
    assert bearer_get(fc, tok)[0] == 200


def t_accept_required(fc):
    tok = get_token(fc)["access_token"]
    doc = expect_api_error(*bearer_get(fc, tok, accept=None), "INVALID_VERSION_DATE", 406)
    assert doc["reason"] == "Not Acceptable"
    expect_api_error(*bearer_get(fc, tok, accept="application/json"), "INVALID_VERSION_DATE", 406)
    expect_api_error(*bearer_get(fc, tok, accept=MT_CLUSTERS), "INVALID_VERSION_DATE", 406)


def t_other_endpoints(fc):
    tok = get_token(fc)["access_token"]
    st, h, b = http(fc, "GET", "/api/atlas/v2/unauth/controlPlaneIPAddresses", {"Accept": MT_CP})
    assert st == 200 and h["content-type"] == MT_CP and "outbound" in json.loads(b)
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups/%s/ipAddresses" % GID)
    assert st == 200 and json.loads(b)["groupId"] == GID
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups/%s/cloudProviderAccess" % GID)
    assert st == 200 and json.loads(b)["azureServicePrincipals"][0]["_id"] == \
        azure_ear()["azureKeyVault"]["roleId"]
    fc.set_clusters(GID, [{"name": "c%d" % i, "encryptionAtRestProvider": "AZURE",
                           "stateName": "IDLE", "paused": False} for i in range(3)])
    path = "/api/atlas/v2/groups/%s/clusters" % GID
    st, h, b = bearer_get(fc, tok, path, accept=MT_CLUSTERS)
    doc = json.loads(b)
    assert st == 200 and h["content-type"] == MT_CLUSTERS and doc["totalCount"] == 3
    st, h, b = bearer_get(fc, tok, path + "?itemsPerPage=2&pageNum=2", accept=MT_CLUSTERS)
    doc = json.loads(b)
    assert [c["name"] for c in doc["results"]] == ["c2"], doc
    assert {l["rel"] for l in doc["links"]} == {"self", "previous"}, doc["links"]
    st, h, b = bearer_get(fc, tok, path + "?itemsPerPage=0", accept=MT_CLUSTERS)
    assert st == 400, st
    fc.set_ip_addresses(GID, {"groupId": GID, "services": {"clusters": []}})
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups/%s/ipAddresses" % GID)
    assert json.loads(b)["services"]["clusters"] == []


def t_fault_retry_after(fc):
    tok = get_token(fc)["access_token"]
    fc.add_fault(EAR_PATH, status=429, headers={"Retry-After": "2"})
    st, h, b = bearer_get(fc, tok)
    assert st == 429 and h.get("retry-after") == "2", (st, h)
    assert json.loads(b)["errorCode"] == "RATE_LIMITED"
    assert bearer_get(fc, tok)[0] == 200, "count defaults to 1"
    log = fc.requests(EAR_PATH)
    assert [(e["status"], e["fault"]) for e in log] == [(429, True), (200, False)], log


def t_fault_garbage_and_huge(fc):
    tok = get_token(fc)["access_token"]
    fc.add_fault(EAR_PATH, status=200, body='{"awsKms": [}}garbage\x00')
    st, h, b = bearer_get(fc, tok)
    assert st == 200 and b == b'{"awsKms": [}}garbage\x00', b
    big = "x" * (5 * 1024 * 1024)
    fc.add_fault(EAR_PATH, status=200, body=big, headers={"Content-Type": MT_EAR})
    rc, hdrs, body, wo, err = curl(fc, "-H", "Authorization: Bearer " + tok,
                                   "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert rc == 0 and wo.split()[0] == "200" and len(body) == len(big), (rc, wo, err)
    assert last_header(hdrs, "content-type") == MT_EAR
    # a lying Content-Length: the client must notice the short body
    fc.add_fault(EAR_PATH, status=200, body="{}", content_length=1000)
    rc, hdrs, body, wo, err = curl(fc, "-H", "Authorization: Bearer " + tok,
                                   "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert rc == 18, (rc, err)    # CURLE_PARTIAL_FILE


def t_fault_hang(fc):
    tok = get_token(fc)["access_token"]
    fc.add_fault(EAR_PATH, hang=1.0)
    t0 = time.monotonic()
    st, h, b = bearer_get(fc, tok, timeout=5.0)
    took = time.monotonic() - t0
    assert st == 200 and 1.0 <= took < 4.0, (st, took)
    fc.add_fault(EAR_PATH, hang=3.0, status=503)
    t0 = time.monotonic()
    rc, _, _, wo, err = curl(fc, "--max-time", "1", "-H", "Authorization: Bearer " + tok,
                             "-H", "Accept: " + MT_EAR, fc.ear_url(GID))
    assert rc == 28 and time.monotonic() - t0 < 2.5, (rc, err)   # client timeout


def t_fault_close_and_forever(fc):
    tok = get_token(fc)["access_token"]
    args = ["-H", "Authorization: Bearer " + tok, "-H", "Accept: " + MT_EAR, fc.ear_url(GID)]
    fc.add_fault(EAR_PATH, close=True)
    rc, _, _, wo, err = curl(fc, *args)
    assert rc == 52, (rc, err)       # empty reply
    fc.add_fault(EAR_PATH, close="reset")
    rc, _, _, wo, err = curl(fc, *args)
    assert rc in (35, 56), (rc, err)  # reset while receiving
    fc.add_fault(EAR_PATH, status=500, count=-1, method="GET")
    assert [bearer_get(fc, tok)[0] for _ in range(3)] == [500, 500, 500]
    assert len(fc.faults()) == 1
    fc.clear_faults()
    assert bearer_get(fc, tok)[0] == 200
    try:
        fc.add_fault(EAR_PATH, stauts=500)
        raise AssertionError("a misspelt fault key must be refused")
    except FakeCloudError as e:
        assert "-> 400" in str(e), e


def t_webhook(fc):
    fc.hook_responses("alerts", [{"status": 500},
                                 {"status": 429, "headers": {"Retry-After": "2"}}])
    payload = json.dumps({"check": "atlas.ear.valid", "status": "critical"})
    hdrs = {"Content-Type": "application/json", "X-Kmswatch-Signature": "sha256=abc"}
    assert http(fc, "POST", "/hooks/alerts", hdrs, payload)[0] == 500
    st, h, _ = http(fc, "POST", "/hooks/alerts", hdrs, payload)
    assert st == 429 and h["retry-after"] == "2"
    assert http(fc, "POST", "/hooks/alerts", hdrs, payload)[0] == 200
    assert http(fc, "POST", "/hooks/alerts", hdrs, payload, https=False)[0] == 200
    recs = fc.hooks("alerts")
    assert len(recs) == 4, recs
    assert all(r["body"] == payload for r in recs)
    assert recs[0]["headers"]["x-kmswatch-signature"] == "sha256=abc"
    assert recs[0]["headers"]["content-type"] == "application/json"
    assert [r["listener"] for r in recs] == ["https"] * 3 + ["http"]
    assert all(isinstance(r["conn"], int) and r["time"] > 0 for r in recs)
    # scripted hang shorter than the client's timeout
    fc.hook_responses("slow", [{"hang": 1}])
    t0 = time.monotonic()
    assert http(fc, "POST", "/hooks/slow", hdrs, "{}", timeout=5)[0] == 200
    assert time.monotonic() - t0 >= 1.0
    # chunked upload (curl) is decoded
    p = subprocess.run(["curl", "-sS", "--cacert", fc.ca_file, "-o", "/dev/null",
                        "-w", "%{http_code}", "-H", "Transfer-Encoding: chunked",
                        "--data-binary", "@-", fc.hook_url("chunked")],
                       input=b"A" * 100000, capture_output=True, timeout=20)
    assert p.stdout == b"200", p
    assert fc.hooks("chunked")[0]["body"] == "A" * 100000
    fc.clear_hooks()
    assert fc.hooks("alerts") == []


def t_keepalive(fc):
    tok = get_token(fc)["access_token"]
    fc.clear_requests()
    p = subprocess.run(["curl", "-sS", "--cacert", fc.ca_file,
                        "-H", "Authorization: Bearer " + tok, "-H", "Accept: " + MT_EAR,
                        "-w", "%{http_code} %{num_connects}\n",
                        "-o", "/dev/null", fc.ear_url(GID), "-o", "/dev/null",
                        fc.ear_url(GID)], capture_output=True, timeout=20)
    assert p.returncode == 0 and p.stdout.decode().split("\n")[:2] == ["200 1", "200 0"], p
    log = fc.requests(EAR_PATH)
    assert len(log) == 2 and log[0]["conn"] == log[1]["conn"], log
    assert log[0]["conn_serial"] == log[1]["conn_serial"]
    assert log[0]["headers"]["authorization"] == "Bearer", "only the scheme is logged"


def t_malformed_requests(fc):
    out = raw_tls(fc, b"BLAH\r\n\r\n")
    assert out.startswith(b"HTTP/1.") and b" 400 " in out.split(b"\r\n")[0], out[:200]
    out = raw_tls(fc, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
    assert b" 400 " in out.split(b"\r\n")[0], out[:200]
    out = raw_tls(fc, b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 150 + b"\r\n")
    assert b" 431 " in out.split(b"\r\n")[0], out[:200]
    out = raw_tls(fc, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
    assert b" 414 " in out.split(b"\r\n")[0], out[:200]
    out = raw_tls(fc, b"BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n")
    assert b" 501 " in out.split(b"\r\n")[0], out[:200]
    out = raw_tls(fc, b"POST /hooks/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked"
                      b"\r\n\r\nzz\r\n")
    assert b" 400 " in out.split(b"\r\n")[0], out[:200]
    # a plain-HTTP client on the TLS port, and a client that never handshakes
    with socket.create_connection(("127.0.0.1", fc.https_port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        try:
            s.recv(100)
        except OSError:
            pass
    idle = socket.create_connection(("127.0.0.1", fc.https_port), timeout=5)
    # control API: bad JSON, unknown path, wrong method, huge header
    assert http(fc, "PUT", "/atlas/groups/x/ear", {}, "{nope", https=False)[0] == 400
    assert http(fc, "GET", "/nope", https=False)[0] == 404
    assert http(fc, "PATCH", "/faults", https=False)[0] == 405
    assert http(fc, "PUT", "/atlas/apikeys", {}, "[1,2]", https=False)[0] == 400
    assert http(fc, "PUT", "/atlas/token_ttl", {}, '{"seconds": -1}', https=False)[0] == 400
    with socket.create_connection(("127.0.0.1", fc.control_port), timeout=5) as s:
        s.sendall(b"\x16\x03\x01garbage\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.")
    # still serving, while the idle connection sits there
    tok = get_token(fc)["access_token"]
    assert bearer_get(fc, tok)[0] == 200
    assert fc.health()["ok"]
    idle.close()


def t_concurrency(fc):
    tok = get_token(fc)["access_token"]
    fc.add_fault(EAR_PATH, hang=0.5, count=5)
    results = []

    def worker():
        results.append(bearer_get(fc, tok, timeout=10)[0])
    threads = [threading.Thread(target=worker) for _ in range(30)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 30 and time.monotonic() - t0 < 5, results
    assert sum(e["fault"] for e in fc.requests(EAR_PATH)) == 5


def t_tls_modes(fc):
    args = ["-H", "Accept: " + MT_CP, fc.url("/api/atlas/v2/unauth/controlPlaneIPAddresses")]
    for mode in ("untrusted", "wrong_host", "expired"):
        fc.set_tls(mode)
        rc, _, _, _, err = curl(fc, *args)
        assert rc == 60, (mode, rc, err)
    fc.set_tls("good")
    rc, _, _, wo, err = curl(fc, *args)
    assert rc == 0 and wo.startswith("200"), (rc, err)
    rc, _, _, _, err = curl(fc, "--tls-max", "1.1", *args)
    assert rc != 0, "TLS < 1.2 must be refused"


def t_client_helpers(fc):
    doc = azure_ear(valid=False, key_version="ab" * 16, keyVaultName="kv2",
                    roleId=None, awsKms=None)
    akv = doc["azureKeyVault"]
    assert akv["keyIdentifier"] == "https://kv2.vault.azure.net/keys/atlas-cmk/" + "ab" * 16
    assert akv["valid"] is False and "roleId" not in akv and "awsKms" not in doc
    assert wait_for(lambda: fc.health()["ok"], timeout=1) is True
    try:
        wait_for(lambda: False, timeout=0.2)
        raise AssertionError("wait_for must time out")
    except TimeoutError:
        pass


CHECKS = [t_health_and_ready, t_client_helpers, t_digest_md5_curl, t_digest_sha256_curl,
          t_digest_wrong_password, t_digest_python_nonce_rules, t_oauth_flow,
          t_bearer_ear_and_revoke, t_token_ttl, t_group_not_found, t_forbidden,
          t_accept_required, t_other_endpoints, t_fault_retry_after,
          t_fault_garbage_and_huge, t_fault_hang, t_fault_close_and_forever, t_webhook,
          t_keepalive, t_malformed_requests, t_concurrency, t_tls_modes]


def main():
    verbose = "-v" in sys.argv
    only = sys.argv[sys.argv.index("-k") + 1] if "-k" in sys.argv else ""
    passed = failed = 0

    def report(name, fn):
        nonlocal passed, failed
        try:
            fn()
            passed += 1
            print("PASS %s" % name)
        except Exception as e:
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            if verbose:
                traceback.print_exc()

    work = tempfile.mkdtemp(prefix="fakecloud-selftest-")
    try:
        t0 = time.monotonic()
        fc = FakeCloud(config=CONFIG, directory=os.path.join(work, "a"), verbose=verbose)
        print("fakecloud up in %.2fs: %s (control %s)" % (time.monotonic() - t0,
                                                         fc.https_url, fc.control_url))
        try:
            for check in CHECKS:
                if only in check.__name__:
                    fc.reset()      # every check starts from the --config state
                    report(check.__name__, lambda: check(fc))
        finally:
            rc = fc.stop()

        def stopped_cleanly():
            assert rc == 0, "exit status %r after SIGTERM" % rc
            assert not os.path.exists(os.path.join(fc.dir, "ready.json"))
        report("t_sigterm_clean_exit", stopped_cleanly)

        def restart_reuses_certs():
            ca = open(os.path.join(fc.dir, "ca.pem")).read()
            t1 = time.monotonic()
            fc2 = FakeCloud(config=CONFIG, directory=fc.dir)
            try:
                assert open(fc2.ca_file).read() == ca, "CA was regenerated"
                assert time.monotonic() - t1 < 5
                assert fc2.health()["ok"]
            finally:
                assert fc2.stop() == 0
        report("t_restart_reuses_certs", restart_reuses_certs)
    except FakeCloudError as e:
        failed += 1
        print("FAIL startup: %s" % e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
