#!/usr/bin/python3
# SPDX-License-Identifier: ISC
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
from client import FakeCloud, FakeCloudError, azure_ear, key_version, wait_for  # noqa: E402

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


def t_ear_private_endpoints(fc):
    tok = get_token(fc)["access_token"]
    path = "/api/atlas/v2/groups/%s/encryptionAtRest/AZURE/privateEndpoints" % GID
    st, h, b = bearer_get(fc, tok, path)
    assert st == 200 and h["content-type"] == MT_EAR, (st, h)
    assert json.loads(b)["results"] == [] and json.loads(b)["totalCount"] == 0
    pes = [{"id": "66c0d1e2f3a4b5c6d7e8f9%02d" % i, "cloudProvider": "AZURE",
            "regionName": "US_EAST_2", "status": "ACTIVE", "errorMessage": None,
            "privateEndpointConnectionName": "kv.pe-%d" % i} for i in range(3)]
    fc.set_ear_private_endpoints(GID, "AZURE", pes)
    st, h, b = bearer_get(fc, tok, path + "?itemsPerPage=2&pageNum=1")
    doc = json.loads(b)
    assert len(doc["results"]) == 2 and doc["totalCount"] == 3
    assert "next" in {l["rel"] for l in doc["links"]}
    assert "/encryptionAtRest/AZURE/privateEndpoints?pageNum=2" in \
        [l["href"] for l in doc["links"] if l["rel"] == "next"][0]
    # AWS is separate; GCP has no private endpoints
    aws = path.replace("/AZURE/", "/AWS/")
    assert json.loads(bearer_get(fc, tok, aws)[2])["results"] == []
    expect_api_error(*bearer_get(fc, tok, path.replace("/AZURE/", "/GCP/")),
                     "INVALID_ENUM_VALUE", 400)
    # listing them needs Project Owner
    fc.set_project_owner(GID, False)
    expect_api_error(*bearer_get(fc, tok, path), "USER_UNAUTHORIZED", 403)
    assert bearer_get(fc, tok)[0] == 200   # the EAR itself stays readable
    fc.set_project_owner(GID, True)
    assert bearer_get(fc, tok, path)[0] == 200


def t_atlas_events(fc):
    tok = get_token(fc)["access_token"]
    now = int(time.time())
    fc.set_events(GID, [
        {"eventTypeName": "AZURE_ENCRYPTION_KEY_INVALID", "created": now - 3600},
        {"eventTypeName": "AZURE_ENCRYPTION_KEY_VALID", "created": now - 60},
        {"eventTypeName": "CLUSTER_CREATED", "created": now - 30},
        {"eventTypeName": "AZURE_ENCRYPTION_KEY_INVALID", "created": now - 30 * 86400},
    ])
    path = "/api/atlas/v2/groups/%s/events" % GID
    st, h, b = bearer_get(fc, tok, path)
    doc = json.loads(b)
    assert st == 200 and h["content-type"] == MT_EAR, (st, h)
    assert [e["eventTypeName"] for e in doc["results"]][:2] == [
        "CLUSTER_CREATED", "AZURE_ENCRYPTION_KEY_VALID"], doc   # newest first
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 7 * 86400))
    st, h, b = bearer_get(fc, tok, path + "?eventType=AZURE_ENCRYPTION_KEY_INVALID"
                          "&eventType=AZURE_ENCRYPTION_KEY_VALID&minDate=" + since)
    doc = json.loads(b)
    assert [e["eventTypeName"] for e in doc["results"]] == [
        "AZURE_ENCRYPTION_KEY_VALID", "AZURE_ENCRYPTION_KEY_INVALID"], doc
    assert doc["totalCount"] == 2 and doc["results"][0]["created"].endswith("Z")
    st, h, b = bearer_get(fc, tok, path + "?minDate=yesterday")
    assert st == 400, st


def t_group_listing(fc):
    """GET /groups and /orgs/{id}/groups: the paged envelope with absolute
    links, the page cap of the test control, hidden projects, an unknown
    org; faults that match an exact path and a query parameter."""
    tok = get_token(fc)["access_token"]
    org_b = "6a7b8c9d0e1f2a3b4c5d6e7f"
    ids = ["65a1b2c3d4e5f607182930%02d" % i for i in range(5)]
    for i, gid in enumerate(ids):
        fc.set_ear(gid, azure_ear())
        fc.set_project(gid, name="lst-%d" % i, org_id=org_b if i == 4 else None)
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups?itemsPerPage=500", accept=MT_EAR)
    doc = json.loads(b)
    mine = [g for g in doc["results"] if g["name"].startswith("lst-")]
    assert st == 200 and [g["id"] for g in mine] == ids, doc
    assert mine[0]["orgId"] == "5f1a2b3c4d5e6f7081920a1b" and mine[4]["orgId"] == org_b
    assert doc["totalCount"] == len(doc["results"])
    fc.set_listing(2)
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/orgs/%s/groups?itemsPerPage=500&pageNum=1"
                          % "5f1a2b3c4d5e6f7081920a1b", accept=MT_EAR)
    doc = json.loads(b)
    assert st == 200 and len(doc["results"]) == 2, doc
    nxt = [l["href"] for l in doc["links"] if l["rel"] == "next"][0]
    assert nxt.startswith("https://") and "/orgs/5f1a2b3c4d5e6f7081920a1b/groups?pageNum=2" in nxt
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/orgs/%s/groups" % org_b, accept=MT_EAR)
    assert [g["id"] for g in json.loads(b)["results"]] == [ids[4]]
    expect_api_error(*bearer_get(fc, tok, "/api/atlas/v2/orgs/%s/groups" % ("0" * 24),
                                 accept=MT_EAR), "ORG_NOT_FOUND", 404)
    fc.set_project(ids[0], hidden=True)
    fc.set_listing(500)
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups", accept=MT_EAR)
    assert ids[0] not in [g["id"] for g in json.loads(b)["results"]]
    assert bearer_get(fc, tok, EAR_PATH.replace(GID, ids[0]))[0] == 200  # still readable
    # listing needs a token and the 2023-01-01 version
    assert http(fc, "GET", "/api/atlas/v2/groups", {"Accept": MT_EAR})[0] == 401
    expect_api_error(*bearer_get(fc, tok, "/api/atlas/v2/groups", accept=MT_CLUSTERS),
                     "INVALID_VERSION_DATE", 406)
    # a fault for page 2 of the listing only
    fc.add_fault("/api/atlas/v2/groups", exact=True, query={"pageNum": "2"}, status=500)
    assert bearer_get(fc, tok, "/api/atlas/v2/groups?pageNum=1", accept=MT_EAR)[0] == 200
    assert bearer_get(fc, tok, EAR_PATH.replace(GID, ids[1]) + "?pageNum=2")[0] == 200
    assert bearer_get(fc, tok, "/api/atlas/v2/groups?pageNum=2", accept=MT_EAR)[0] == 500
    assert bearer_get(fc, tok, "/api/atlas/v2/groups?pageNum=2", accept=MT_EAR)[0] == 200


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


# --- Azure checks -------------------------------------------------------------------

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
KV_SCOPE = "https://vault.azure.net/.default"
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
ISO7_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z")
OTHER_TENANT = "12345678-aaaa-4bbb-8ccc-0123456789ab"


def az_token_call(fc, tenant, client_id, scope, secret=None, assertion=None, **extra):
    form = {"client_id": client_id, "scope": scope, "grant_type": "client_credentials"}
    if secret is not None:
        form["client_secret"] = secret
    if assertion is not None:
        form.update(client_assertion_type=JWT_BEARER, client_assertion=assertion)
    form.update(extra)
    st, h, b = http(fc, "POST", "/%s/oauth2/v2.0/token" % tenant, FORM,
                    urllib.parse.urlencode(form))
    return st, h, json.loads(b)


def reader_token(fc, w, scope=KV_SCOPE):
    st, h, doc = az_token_call(fc, w["tenant"], w["reader"]["client_id"], scope,
                               w["reader"]["secret"])
    assert st == 200, (st, doc)
    return doc["access_token"]


def expect_aad(result, status, error, code):
    st, h, doc = result
    assert st == status, (st, doc)
    assert list(doc) == ["error", "error_description", "error_codes", "timestamp", "trace_id",
                         "correlation_id", "error_uri"], doc
    assert doc["error"] == error and doc["error_codes"] == [code], doc
    desc = doc["error_description"]
    assert desc.startswith("AADSTS%d: " % code), desc
    assert "\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: " % (
        doc["trace_id"], doc["correlation_id"]) in desc, desc
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", doc["timestamp"]), doc
    assert doc["error_uri"] == "https://login.microsoftonline.com/error?code=%d" % code
    assert h["content-type"] == "application/json; charset=utf-8", h
    return doc


def az_get(fc, path, token=None, host=None, https=True, headers=None):
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    if host:
        hdrs["Host"] = host
    st, h, b = http(fc, "GET", path, hdrs, https=https)
    return st, h, (json.loads(b) if b else None)


def expect_az_error(result, status, code, inner=None):
    st, h, doc = result
    assert st == status, (st, doc)
    assert set(doc) == {"error"} and doc["error"]["code"] == code, doc
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"], doc
    if inner is not None:
        assert doc["error"]["innererror"] == {"code": inner}, doc
    assert h["content-type"] == "application/json; charset=utf-8", h
    return doc["error"]


def t_azure_entra_tokens(fc):
    w = fc.azure_default_world(azure_ear())
    r = w["reader"]
    for scope, kind, aud in ((KV_SCOPE, "vault", "https://vault.azure.net"),
                             ("https://management.azure.com//.default", "arm",
                              "https://management.azure.com"),
                             (GRAPH_SCOPE, "graph", "https://graph.microsoft.com")):
        st, h, doc = az_token_call(fc, w["tenant"], r["client_id"], scope, r["secret"])
        assert st == 200 and h["content-type"] == "application/json; charset=utf-8", (st, h)
        assert list(doc) == ["token_type", "expires_in", "ext_expires_in", "access_token"], doc
        assert doc["token_type"] == "Bearer" and doc["expires_in"] == 3599 and \
            doc["ext_expires_in"] == 3599, doc
        assert doc["access_token"].count(".") == 2
        assert "no-store" in h["cache-control"]
    toks = fc.azure_tokens()
    assert sorted((t["kind"], t["aud"], t["via"]) for t in toks) == sorted([
        ("vault", "https://vault.azure.net", "secret"),
        ("arm", "https://management.azure.com", "secret"),
        ("graph", "https://graph.microsoft.com", "secret")]), toks
    assert all(t["tenant"] == w["tenant"] and t["object_id"] == r["object_id"] for t in toks)
    tenant, cid = w["tenant"], r["client_id"]
    expect_aad(az_token_call(fc, tenant, cid, KV_SCOPE, "wrong"), 401, "invalid_client", 7000215)
    expect_aad(az_token_call(fc, OTHER_TENANT, cid, KV_SCOPE, r["secret"]), 400,
               "invalid_request", 90002)
    doc = expect_aad(az_token_call(fc, tenant, "00000000-1111-4222-8333-444444444444",
                                   KV_SCOPE, "x"), 400, "unauthorized_client", 700016)
    assert "00000000-1111-4222-8333-444444444444" in doc["error_description"]
    expect_aad(az_token_call(fc, tenant, cid, KV_SCOPE + " " + ARM_SCOPE, r["secret"]), 400,
               "invalid_scope", 70011)
    expect_aad(az_token_call(fc, tenant, cid, "https://vault.azure.net/keys.read",
                             r["secret"]), 400, "invalid_scope", 70011)
    expect_aad(az_token_call(fc, tenant, cid, "", r["secret"]), 400, "invalid_scope", 70011)
    expect_aad(az_token_call(fc, tenant, cid, "https://example.com/.default", r["secret"]),
               400, "invalid_resource", 500011)
    expect_aad(az_token_call(fc, tenant, cid, KV_SCOPE, r["secret"], grant_type="password"),
               400, "unsupported_grant_type", 70003)
    expect_aad(az_token_call(fc, tenant, cid, KV_SCOPE), 401, "invalid_client", 7000218)
    st, h, b = http(fc, "GET", "/%s/oauth2/v2.0/token" % tenant)
    expect_aad((st, h, json.loads(b)), 400, "invalid_request", 900561)
    st, h, b = http(fc, "POST", "/%s/oauth2/v2.0/token" % tenant,
                    {"Content-Type": "application/json"}, "{}")
    expect_aad((st, h, json.loads(b)), 400, "invalid_request", 900144)
    # an expired secret, and forced errors
    fc.add_azure_identity(tenant, "e0000000-0000-4000-8000-000000000001", "old-secret",
                          secret_expires="2020-01-01T00:00:00Z")
    doc = expect_aad(az_token_call(fc, tenant, "e0000000-0000-4000-8000-000000000001", KV_SCOPE,
                                   "old-secret"), 401, "invalid_client", 7000222)
    assert "are expired" in doc["error_description"], doc
    for name, (status, error, code, _) in sorted(AAD_FORCED.items()):
        fc.add_azure_identity(tenant, "f0000000-0000-4000-8000-000000000002", "s", error=name)
        expect_aad(az_token_call(fc, tenant, "f0000000-0000-4000-8000-000000000002", KV_SCOPE,
                                 "s"), status, error, code)
    # workload identity federation
    fc.add_azure_identity(tenant, "f0000000-0000-4000-8000-000000000003",
                          federated="eyJ.fed.assertion")
    st, h, doc = az_token_call(fc, tenant, "f0000000-0000-4000-8000-000000000003", ARM_SCOPE,
                               assertion="eyJ.fed.assertion")
    assert st == 200 and doc["expires_in"] == 3599, (st, doc)
    assert any(t["via"] == "federated" for t in fc.azure_tokens())
    expect_aad(az_token_call(fc, tenant, "f0000000-0000-4000-8000-000000000003", ARM_SCOPE,
                             assertion="eyJ.other"), 401, "invalid_client", 70021)
    expect_aad(az_token_call(fc, tenant, "f0000000-0000-4000-8000-000000000003", ARM_SCOPE,
                             client_assertion_type="urn:x", client_assertion="eyJ.fed.assertion"),
               400, "invalid_request", 9002313)
    # token ttl, expiry and revocation
    fc.set_azure_token_ttl(1)
    st, h, doc = az_token_call(fc, tenant, cid, KV_SCOPE, r["secret"])
    assert doc["expires_in"] == 1 and doc["ext_expires_in"] == 1
    kv_tok, arm_tok = doc["access_token"], reader_token(fc, w, ARM_SCOPE)
    time.sleep(1.1)
    host = "%s.%s" % (w["vault"], w["suffix"])
    err = expect_az_error(az_get(fc, "/keys/%s?api-version=7.5" % w["key"], kv_tok, host), 401,
                          "Unauthorized")
    assert "expired" in err["message"], err
    expect_az_error(az_get(fc, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft."
                           "KeyVault/vaults/%s?api-version=2024-11-01" % (
                               w["subscription"], w["resource_group"], w["vault"]), arm_tok),
                    401, "ExpiredAuthenticationToken")
    assert fc.revoke_azure_tokens()["revoked"] >= 4 and fc.azure_tokens() == []


AAD_FORCED = {"secret_expired": (401, "invalid_client", 7000222),
              "invalid_secret": (401, "invalid_client", 7000215),
              "app_not_found": (400, "unauthorized_client", 700016),
              "tenant_not_found": (400, "invalid_request", 90002),
              "invalid_scope": (400, "invalid_scope", 70011)}
AAD_FORCED = {k: v + (None,) for k, v in AAD_FORCED.items()}


def t_azure_imds(fc):
    w = fc.azure_default_world(azure_ear())
    path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=" + \
        urllib.parse.quote("https://vault.azure.net", safe="")
    st, h, doc = az_get(fc, path, https=False, headers={"Metadata": "true"})
    assert st == 200 and h["content-type"] == "application/json; charset=utf-8", (st, doc)
    assert set(doc) == {"access_token", "client_id", "expires_in", "expires_on",
                        "ext_expires_in", "not_before", "resource", "token_type"}, doc
    assert doc["expires_in"] == "3599" and doc["resource"] == "https://vault.azure.net", doc
    assert doc["expires_on"].isdigit() and abs(int(doc["expires_on"]) - time.time() - 3599) < 5
    assert doc["client_id"] == w["reader"]["client_id"] and doc["token_type"] == "Bearer"
    # the same on the HTTPS port; the token works against the vault
    st, h, doc2 = az_get(fc, path, headers={"Metadata": "true"})
    assert st == 200, doc2
    host = "%s.%s" % (w["vault"], w["suffix"])
    assert az_get(fc, "/keys/%s?api-version=7.5" % w["key"], doc["access_token"], host)[0] == 200
    assert [e["listener"] for e in fc.requests("/metadata/")] == ["http", "https"]
    assert any(t["via"] == "managed" for t in fc.azure_tokens())
    for headers, want in (({}, "Required metadata header not specified"),
                          ({"Metadata": "True"}, "Required metadata header not specified")):
        st, h, doc = az_get(fc, path, https=False, headers=headers)
        assert st == 400 and doc == {"error": "invalid_request", "error_description": want}, doc
    m = {"Metadata": "true"}
    st, h, doc = az_get(fc, "/metadata/identity/oauth2/token?resource=x", https=False, headers=m)
    assert st == 400 and doc["error"] == "invalid_request" and "api-version" in \
        doc["error_description"], doc
    st, h, doc = az_get(fc, path + "%2F.default", https=False, headers=m)
    assert st == 400 and doc["error"] == "invalid_resource", doc
    st, h, doc = az_get(fc, path + "&client_id=11111111-0000-4000-8000-000000000000",
                        https=False, headers=m)
    assert st == 400 and doc["error_description"] == "Identity not found", doc
    st, h, doc = az_get(fc, path + "&client_id=" + w["reader"]["client_id"], https=False,
                        headers=m)
    assert st == 200 and doc["client_id"] == w["reader"]["client_id"], doc
    st, h, doc = az_get(fc, path + "&object_id=" + w["reader"]["object_id"], https=False,
                        headers=m)
    assert st == 200, doc
    # two user-assigned identities and no system-assigned one
    fc.set_azure_identities([{"tenant": w["tenant"], "client_id": "a%07d-0000-4000-8000-"
                              "000000000000" % i, "managed": True} for i in range(2)])
    st, h, doc = az_get(fc, path, https=False, headers=m)
    assert st == 400 and doc["error_description"].startswith("Multiple user assigned"), doc
    st, h, doc = az_get(fc, path.replace("https%3A%2F%2Fvault.azure.net", "https%3A%2F%2F"
                                         "management.azure.com%2F") + "&client_id=a0000001-"
                        "0000-4000-8000-000000000000", https=False, headers=m)
    assert st == 200 and doc["resource"] == "https://management.azure.com/", doc
    # faults work on the control port too, with an OAuth-shaped body
    fc.add_fault("/metadata/identity/oauth2/token", status=429, headers={"Retry-After": "3"})
    st, h, doc = az_get(fc, path, https=False, headers=m)
    assert st == 429 and h["retry-after"] == "3" and doc["error"] == "temporarily_unavailable"


def t_azure_graph(fc):
    w = fc.azure_default_world(azure_ear())
    tok = reader_token(fc, w, GRAPH_SCOPE)
    app_id = w["atlas_app"]["client_id"]
    sel = "$select=id,appId,displayName,passwordCredentials"
    st, h, doc = az_get(fc, "/v1.0/applications(appId='%s')?%s" % (app_id, sel), tok)
    assert st == 200, (st, doc)
    assert h["content-type"].startswith("application/json;odata.metadata=minimal"), h
    assert list(doc) == ["@odata.context", "id", "appId", "displayName", "passwordCredentials"]
    assert doc["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#applications" \
        "(id,appId,displayName,passwordCredentials)/$entity", doc
    assert doc["id"] == w["atlas_app"]["app_object_id"] and doc["appId"] == app_id
    (cred,) = doc["passwordCredentials"]
    assert list(cred) == ["customKeyIdentifier", "displayName", "endDateTime", "hint", "keyId",
                          "secretText", "startDateTime"], cred
    assert cred["secretText"] is None and cred["hint"] == "Xy9" and \
        cred["keyId"] == w["atlas_app"]["key_id"], cred
    assert ISO7_RE.fullmatch(cred["endDateTime"]) and ISO7_RE.fullmatch(cred["startDateTime"])
    # percent-encoded path, service principal, object-id and $filter forms
    st, h, doc = az_get(fc, "/v1.0/servicePrincipals(appId=%%27%s%%27)?$select=id,appId" %
                        app_id, tok)
    assert st == 200 and doc["id"] == w["atlas_app"]["sp_object_id"], doc
    assert doc["@odata.context"].endswith("#servicePrincipals(id,appId)/$entity")
    st, h, doc = az_get(fc, "/v1.0/servicePrincipals/%s" % w["atlas_app"]["sp_object_id"], tok)
    assert st == 200 and doc["appId"] == app_id and doc["servicePrincipalType"] == "Application"
    q = urllib.parse.urlencode({"$filter": "appId eq '%s'" % app_id, "$select": "id,appId"})
    st, h, doc = az_get(fc, "/v1.0/applications?" + q, tok)
    assert st == 200 and [x["appId"] for x in doc["value"]] == [app_id], doc
    assert doc["@odata.context"] == "https://graph.microsoft.com/v1.0/$metadata#applications" \
        "(id,appId)", doc
    q = urllib.parse.urlencode({"$filter": "appId eq 'nope'"})
    assert az_get(fc, "/v1.0/servicePrincipals?" + q, tok)[2]["value"] == []
    # errors
    st, h, doc = az_get(fc, "/v1.0/applications(appId='nope')", tok)
    assert st == 404 and doc["error"]["code"] == "Request_ResourceNotFound", doc
    assert set(doc["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    st, h, doc = az_get(fc, "/v1.0/applications(appId='%s')?$select=bogus" % app_id, tok)
    assert st == 400 and doc["error"]["code"] == "Request_BadRequest", doc
    st, h, doc = az_get(fc, "/v1.0/applications?$filter=startswith(displayName,'a')", tok)
    assert st == 400 and doc["error"]["code"] == "Request_UnsupportedQuery", doc
    st, h, doc = az_get(fc, "/v1.0/applications(appId='%s')" % app_id)
    assert st == 401 and doc["error"]["code"] == "InvalidAuthenticationToken", doc
    assert h["www-authenticate"].startswith("Bearer ")
    st, h, doc = az_get(fc, "/v1.0/applications(appId='%s')" % app_id, reader_token(fc, w))
    assert st == 401 and "Invalid audience" in doc["error"]["message"], doc
    # permissions: Atlas's own app may read itself, nothing else
    st, h, d = az_token_call(fc, w["tenant"], app_id, GRAPH_SCOPE, w["atlas_app"]["secret"])
    own = d["access_token"]
    assert az_get(fc, "/v1.0/applications(appId='%s')" % app_id, own)[0] == 200
    assert az_get(fc, "/v1.0/servicePrincipals(appId='%s')" % app_id, own)[0] == 200
    st, h, doc = az_get(fc, "/v1.0/applications(appId='%s')" % w["reader"]["client_id"], own)
    assert st == 403 and doc["error"]["code"] == "Authorization_RequestDenied" and \
        doc["error"]["message"] == "Insufficient privileges to complete the operation.", doc
    q = urllib.parse.urlencode({"$filter": "appId eq '%s'" % app_id})
    assert az_get(fc, "/v1.0/applications?" + q, own)[0] == 403
    fc.grant_azure(app_id, graph_self=False)
    assert az_get(fc, "/v1.0/applications(appId='%s')" % app_id, own)[0] == 403
    fc.grant_azure(w["reader"]["client_id"], keys=True)        # graph no longer granted
    assert az_get(fc, "/v1.0/applications(appId='%s')" % app_id, tok)[0] == 403
    fc.grant_azure(w["reader"]["client_id"], graph=True)
    # timestamps: 7 fractional digits kept, unix seconds converted
    fc.set_graph_application(app_id, [
        {"keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6", "displayName": "atlas-2024",
         "startDateTime": "2024-09-09T19:50:29.3086381Z",
         "endDateTime": "2026-09-09T19:50:29.3086381Z", "hint": "[6g"},
        {"startDateTime": 1700000000.5, "endDateTime": "2027-03-01", "hint": "Xy9"},
        {"startDateTime": "2025-02-28T10:00:00+02:00", "endDateTime": None}])
    creds = az_get(fc, "/v1.0/applications(appId='%s')" % app_id, tok)[2]["passwordCredentials"]
    assert creds[0] == {"customKeyIdentifier": None, "displayName": "atlas-2024",
                        "endDateTime": "2026-09-09T19:50:29.3086381Z", "hint": "[6g",
                        "keyId": "f0b0b335-1d71-4883-8f98-567911bfdca6", "secretText": None,
                        "startDateTime": "2024-09-09T19:50:29.3086381Z"}, creds[0]
    assert creds[1]["startDateTime"] == "2023-11-14T22:13:20.5000000Z", creds[1]
    assert creds[1]["endDateTime"] == "2027-03-01T00:00:00.0000000Z", creds[1]
    assert creds[2]["startDateTime"] == "2025-02-28T08:00:00.0000000Z" and \
        creds[2]["endDateTime"] is None, creds[2]


def kv_path(w, version=None, sub=None, api="7.5", extra=""):
    p = "/keys/%s" % w["key"]
    if version:
        p += "/" + version
    if sub:
        p += "/" + sub
    return p + ("?api-version=%s" % api if api else "?") + extra


def t_azure_key_vault(fc):
    w = fc.azure_default_world(azure_ear(), key_age_days=40)
    host = "%s.%s" % (w["vault"], w["suffix"])
    tok = reader_token(fc, w)
    st, h, doc = az_get(fc, kv_path(w, w["version"]), tok, host)
    assert st == 200 and h["content-type"] == "application/json; charset=utf-8", (st, doc)
    assert set(doc) == {"key", "attributes"}, doc
    assert doc["key"]["kid"] == azure_ear()["azureKeyVault"]["keyIdentifier"] == w["kid"]
    assert doc["key"]["kty"] == "RSA" and doc["key"]["e"] == "AQAB" and \
        len(base64.urlsafe_b64decode(doc["key"]["n"] + "==")) == 256, doc["key"]
    a = doc["attributes"]
    assert set(a) == {"enabled", "created", "updated", "recoverableDays", "recoveryLevel"}, a
    assert a["enabled"] is True and isinstance(a["created"], int) and \
        abs(time.time() - 40 * 86400 - a["created"]) < 5, a
    assert a["recoveryLevel"] == "Recoverable" and a["recoverableDays"] == 90, a
    assert h["x-ms-keyvault-network-info"].startswith("conn_type=Ipv4;addr=127.0.0.1;")
    # Host matching: case and port do not matter; current version forms
    for path in (kv_path(w, "", api="7.5"), "/keys/%s/?api-version=7.4" % w["key"]):
        st, h, d = az_get(fc, path, tok, host.upper() + ":443")
        assert st == 200 and d["key"]["kid"] == w["kid"], (path, st, d)
    newer = fc.add_key_version(w["vault"], w["key"], age_days=0, exp_in_days=30)
    st, h, d = az_get(fc, kv_path(w), tok, host)
    assert d["key"]["kid"] == newer["kid"] and "exp" in d["attributes"], d
    fc.update_key_version(w["vault"], w["key"], newer["version"], enabled=False)
    st, h, d = az_get(fc, kv_path(w), tok, host)
    assert st == 200 and d["key"]["kid"] == newer["kid"] and \
        d["attributes"]["enabled"] is False, d
    # versions: paging by nextLink (followed with the vault's Host header)
    for i in range(4):
        fc.add_key_version(w["vault"], w["key"], age_days=20 + i)
    seen, url, pages = [], fc.https_url + kv_path(w, sub="versions", extra="&maxresults=2"), 0
    while url:
        assert url.startswith(fc.https_url + "/keys/%s/versions?api-version=7.5" % w["key"]), url
        st, h, d = az_get(fc, url[len(fc.https_url):], tok, host)
        assert st == 200 and set(d) == {"value", "nextLink"} and len(d["value"]) <= 2, d
        for item in d["value"]:
            assert set(item) == {"kid", "attributes"} and "key" not in item, item
        seen += [x["kid"] for x in d["value"]]
        url = d["nextLink"]
        if url:
            assert "$skiptoken=" in url and "maxresults=2" in url, url
        pages += 1
    assert pages == 3 and len(set(seen)) == 6 and w["kid"] in seen, seen
    assert seen == sorted(seen), "fake order is by version string"
    st, h, d = az_get(fc, kv_path(w, sub="versions"), tok, host)
    assert len(d["value"]) == 6 and d["nextLink"] is None, d
    fc.patch_vault(w["vault"], next_link="vault")
    st, h, d = az_get(fc, kv_path(w, sub="versions", extra="&maxresults=5"), tok, host)
    assert d["nextLink"].startswith("https://%s:443/keys/%s/versions?api-version=7.5&"
                                    "$skiptoken=" % (host, w["key"])), d["nextLink"]
    rest = d["nextLink"].split(":443", 1)[1]
    assert len(az_get(fc, rest, tok, host)[2]["value"]) == 1
    expect_az_error(az_get(fc, kv_path(w, sub="versions", extra="&maxresults=26"), tok, host),
                    400, "BadParameter")
    expect_az_error(az_get(fc, kv_path(w, sub="versions", extra="&$skiptoken=bm9wZQ"), tok,
                           host), 400, "BadParameter")
    # rotation policy: the service default, then a set one
    st, h, d = az_get(fc, kv_path(w, sub="rotationpolicy"), tok, host)
    assert st == 200 and d == {"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"},
                                                    "action": {"type": "Notify"}}],
                               "attributes": {}}, d
    fc.set_rotation_policy(w["vault"], w["key"], {
        "lifetimeActions": [{"trigger": {"timeAfterCreate": "P90D"},
                             "action": {"type": "Rotate"}}],
        "attributes": {"expiryTime": "P2Y"}})
    st, h, d = az_get(fc, kv_path(w, sub="rotationpolicy"), tok, host)
    assert d["id"] == "https://%s/keys/%s/rotationpolicy" % (host, w["key"]), d
    assert [x["action"]["type"] for x in d["lifetimeActions"]] == ["Rotate", "Notify"], d
    assert d["attributes"]["expiryTime"] == "P2Y" and isinstance(d["attributes"]["created"], int)
    # errors, in the order the service checks
    expect_az_error(az_get(fc, kv_path(w, api=None), tok, host), 400, "BadParameter")
    expect_az_error(az_get(fc, kv_path(w, api="1.0"), tok, host), 400, "BadParameter")
    st, h, d = az_get(fc, kv_path(w), None, host)
    err = expect_az_error((st, h, d), 401, "Unauthorized")
    assert err["message"] == "AKV10000: Request is missing a Bearer or PoP token.", err
    assert h["www-authenticate"] == 'Bearer authorization="https://login.windows.net/%s", ' \
        'resource="https://vault.azure.net"' % w["tenant"], h
    err = expect_az_error(az_get(fc, kv_path(w), reader_token(fc, w, ARM_SCOPE), host), 401,
                          "Unauthorized")
    assert err["message"].startswith("AKV10022: Invalid audience."), err
    err = expect_az_error(az_get(fc, "/keys/nope?api-version=7.5", tok, host), 404,
                          "KeyNotFound")
    assert err["message"].startswith("A key with (name/id) nope was not found in this key "
                                     "vault."), err
    err = expect_az_error(az_get(fc, kv_path(w, "f" * 32), tok, host), 404, "KeyNotFound")
    assert "(name/id) %s/%s " % (w["key"], "f" * 32) in err["message"], err
    expect_az_error(az_get(fc, kv_path(w), tok, "nope-kv." + w["suffix"]), 404, "VaultNotFound")
    expect_az_error(az_get(fc, kv_path(w), tok, "%s.vault.azure.cn" % w["vault"]), 404,
                    "VaultNotFound")
    expect_az_error(az_get(fc, kv_path(w), tok, "127.0.0.1:%d" % fc.https_port), 400,
                    "BadParameter")
    # firewall, exactly as docs/reference/azure-api.md 2.4 shows it
    fc.set_vault_firewall(w["vault"], deny=True)
    err = expect_az_error(az_get(fc, kv_path(w), tok, host), 403, "Forbidden",
                          "ForbiddenByFirewall")
    assert err["message"].split("\r\n") == [
        "Client address is not authorized and caller is not a trusted service.",
        "Client address: 127.0.0.1",
        "Caller: appid=%s;oid=%s" % (w["reader"]["client_id"], w["reader"]["object_id"]),
        "Vault: %s;location=westeurope" % w["vault"]], err
    fc.set_vault_firewall(w["vault"], deny=True, client_address="203.0.113.77")
    err = expect_az_error(az_get(fc, kv_path(w), tok, host), 403, "Forbidden")
    assert "\r\nClient address: 203.0.113.77\r\n" in err["message"], err
    fc.set_vault_firewall(w["vault"], deny=False)
    # RBAC: the identity lacks key reads on this vault
    for keys in (False, ["other-kv"]):
        fc.grant_azure(w["reader"]["client_id"], keys=keys)
        err = expect_az_error(az_get(fc, kv_path(w), tok, host), 403, "Forbidden",
                              "ForbiddenByRbac")
        assert err["message"].startswith("Caller is not authorized to perform action on "
                                         "resource."), err
    fc.grant_azure(w["reader"]["client_id"], keys=[w["vault"].upper()])
    assert az_get(fc, kv_path(w), tok, host)[0] == 200
    # a token from another tenant
    fc.add_azure_identity(OTHER_TENANT, w["reader"]["client_id"], "s2")
    st, h, d = az_token_call(fc, OTHER_TENANT, w["reader"]["client_id"], KV_SCOPE, "s2")
    err = expect_az_error(az_get(fc, kv_path(w), d["access_token"], host), 401, "Unauthorized")
    assert err["message"].startswith("AKV10032: Invalid issuer."), err
    # curl, with the Host header, the way the daemon will call it
    rc, hdrs, body, wo, errs = curl(fc, "-H", "Host: " + host, "-H", "Authorization: Bearer "
                                    + tok, fc.url(kv_path(w, w["version"])))
    assert rc == 0 and wo.startswith("200 "), (rc, wo, errs, body)
    assert json.loads(body)["key"]["kid"] == w["kid"]
    assert last_header(hdrs, "content-type") == "application/json; charset=utf-8"
    # a China-cloud vault wants the China audience
    fc.set_vault("cn-kv", tenant=w["tenant"], suffix="vault.azure.cn", location="chinanorth3",
                 keys={"k1": [key_version(age_days=1)]})
    st, h, d = az_get(fc, "/keys/k1?api-version=7.5", tok, "cn-kv.vault.azure.cn")
    assert st == 401 and h["www-authenticate"] == 'Bearer authorization="https://login.' \
        'chinacloudapi.cn/%s", resource="https://vault.azure.cn"' % w["tenant"], (st, h)
    fc.grant_azure(w["reader"]["client_id"], keys=True)
    cn_tok = reader_token(fc, w, "https://vault.azure.cn/.default")
    st, h, d = az_get(fc, "/keys/k1?api-version=7.5", cn_tok, "cn-kv.vault.azure.cn")
    assert st == 200 and d["key"]["kid"].startswith("https://cn-kv.vault.azure.cn/keys/k1/"), d
    # a 429 fault on a Key Vault path: Azure-shaped body, Retry-After kept
    fc.add_fault("/keys/", status=429, headers={"Retry-After": "7"})
    st, h, d = az_get(fc, kv_path(w), tok, host)
    assert st == 429 and h["retry-after"] == "7" and d["error"]["code"] == "TooManyRequests", d


def arm_path(w, vault=None, ra=False, api="2024-11-01", extra=""):
    p = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s" % (
        w["subscription"], w["resource_group"], vault or w["vault"])
    if ra:
        p += "/providers/Microsoft.Authorization/roleAssignments"
    return p + ("?api-version=%s" % api if api else "") + extra


def t_azure_arm(fc):
    w = fc.azure_default_world(azure_ear())
    tok = reader_token(fc, w, ARM_SCOPE)
    st, h, d = az_get(fc, arm_path(w), tok)
    assert st == 200 and h["content-type"] == "application/json; charset=utf-8", (st, d)
    assert list(d) == ["id", "name", "type", "location", "tags", "systemData", "properties"], d
    assert d["id"] == arm_path(w, api=None) and d["type"] == "Microsoft.KeyVault/vaults"
    assert set(d["systemData"]) == {"createdBy", "createdByType", "createdAt", "lastModifiedBy",
                                    "lastModifiedByType", "lastModifiedAt"}, d["systemData"]
    assert ISO7_RE.fullmatch(d["systemData"]["lastModifiedAt"])
    p = d["properties"]
    assert {"tenantId", "sku", "accessPolicies", "networkAcls", "enableRbacAuthorization",
            "publicNetworkAccess", "vaultUri", "enableSoftDelete", "softDeleteRetentionInDays",
            "enablePurgeProtection", "provisioningState"} <= set(p), p
    assert p["tenantId"] == w["tenant"] and p["sku"] == {"family": "A", "name": "standard"}
    assert p["vaultUri"] == "https://%s.vault.azure.net" % w["vault"], p
    assert p["publicNetworkAccess"] == "Enabled" and p["enableRbacAuthorization"] is False
    assert p["accessPolicies"][0]["objectId"] == w["atlas_app"]["sp_object_id"], p
    assert set(p["accessPolicies"][0]["permissions"]["keys"]) >= {"get", "wrapKey", "unwrapKey"}
    assert p["networkAcls"] == {"bypass": "AzureServices", "defaultAction": "Allow",
                                "ipRules": [], "virtualNetworkRules": []}, p
    assert h["x-ms-ratelimit-remaining-subscription-reads"].isdigit()
    before = d["systemData"]["lastModifiedAt"]
    st, h, d2 = az_get(fc, arm_path(w).replace("resourceGroups", "resourcegroups")
                       .replace("Microsoft.KeyVault", "microsoft.keyvault"), tok)
    assert st == 200 and d2["id"] == d["id"], d2
    # ipRules are normalised, lastModifiedAt moves
    time.sleep(0.01)
    fc.patch_vault(w["vault"], properties={"networkAcls": {
        "bypass": "None", "defaultAction": "Deny", "virtualNetworkRules": [],
        "ipRules": ["203.0.113.9", {"value": "198.51.100.0/24"}]}})
    d = az_get(fc, arm_path(w), tok)[2]
    assert d["properties"]["networkAcls"]["ipRules"] == [{"value": "203.0.113.9/32"},
                                                         {"value": "198.51.100.0/24"}], d
    assert d["systemData"]["lastModifiedAt"] > before, d["systemData"]
    fc.patch_vault(w["vault"], properties={"publicNetworkAccess": "Disabled",
                                           "enablePurgeProtection": None})
    d = az_get(fc, arm_path(w), tok)[2]["properties"]
    assert d["publicNetworkAccess"] == "Disabled" and "enablePurgeProtection" not in d, d
    # errors
    expect_az_error(az_get(fc, arm_path(w, api=None), tok), 400, "MissingApiVersionParameter")
    expect_az_error(az_get(fc, arm_path(w, api="2099-01-01"), tok), 400,
                    "NoRegisteredProviderFound")
    st, h, d = az_get(fc, arm_path(w))
    expect_az_error((st, h, d), 401, "AuthenticationFailed")
    assert h["www-authenticate"].startswith('Bearer authorization_uri="https://login.windows.'
                                            'net/", error="invalid_token"'), h
    expect_az_error(az_get(fc, arm_path(w), "not-a-token"), 401, "InvalidAuthenticationToken")
    expect_az_error(az_get(fc, arm_path(w), reader_token(fc, w)), 401,
                    "InvalidAuthenticationTokenAudience")
    expect_az_error(az_get(fc, arm_path(w, vault="nope-kv"), tok), 404, "ResourceNotFound")
    expect_az_error(az_get(fc, arm_path(w).replace(w["resource_group"], "rg-nope"), tok), 404,
                    "ResourceGroupNotFound")
    expect_az_error(az_get(fc, arm_path(w).replace(w["subscription"], OTHER_TENANT), tok), 404,
                    "SubscriptionNotFound")
    fc.grant_azure(w["reader"]["client_id"], keys=True)
    err = expect_az_error(az_get(fc, arm_path(w), tok), 403, "AuthorizationFailed")
    assert "'Microsoft.KeyVault/vaults/read' over scope '%s'" % arm_path(w, api=None) in \
        err["message"], err
    fc.grant_azure(w["reader"]["client_id"], arm=[w["vault"]], role_assignments=False)
    assert az_get(fc, arm_path(w), tok)[0] == 200
    err = expect_az_error(az_get(fc, arm_path(w, ra=True, api="2022-04-01"), tok), 403,
                          "AuthorizationFailed")
    assert "Microsoft.Authorization/roleAssignments/read" in err["message"], err
    fc.grant_azure(w["reader"]["client_id"], arm=True)
    # role assignments, with the real built-in role GUIDs
    st, h, d = az_get(fc, arm_path(w, ra=True, api="2022-04-01"), tok)
    assert st == 200 and list(d) == ["value"] and len(d["value"]) == 2, d
    by_principal = {x["properties"]["principalId"]: x for x in d["value"]}
    ra = by_principal[w["atlas_app"]["sp_object_id"]]
    vid = arm_path(w, api=None)
    assert ra["type"] == "Microsoft.Authorization/roleAssignments" and \
        ra["id"] == vid + "/providers/Microsoft.Authorization/roleAssignments/" + ra["name"], ra
    assert ra["properties"]["roleDefinitionId"] == "/subscriptions/%s/providers/Microsoft." \
        "Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6" % w["subscription"]
    assert ra["properties"]["scope"] == vid and \
        ra["properties"]["principalType"] == "ServicePrincipal", ra
    assert by_principal[w["reader"]["object_id"]]["properties"]["roleDefinitionId"].endswith(
        "/acdd72a7-3385-48ef-bd42-f606fba81ae7")
    for role, guid in (("Key Vault Crypto User", "12338af0-0e69-4776-bea7-57ae8d297424"),
                       ("Key Vault Crypto Officer", "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"),
                       ("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483")):
        got = fc.set_role_assignments(w["vault"], [{"principalId": "p1", "role": role}])
        assert got[0]["properties"]["roleDefinitionId"].endswith("/" + guid), got
    sp = w["atlas_app"]["sp_object_id"]
    fc.set_role_assignments(w["vault"], [
        {"principalId": sp, "role": "Key Vault Crypto User"},
        {"principalId": sp, "role": "Key Vault Crypto Officer", "scope": "key:atlas-cmk"},
        {"principalId": w["reader"]["object_id"], "role": "Reader", "scope": "subscription"},
        {"principalId": "p2", "role": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
         "principalType": "User", "scope": "resource_group"}])

    def listed(flt):
        q = "&" + urllib.parse.urlencode({"$filter": flt}) if flt else ""
        st, h, d = az_get(fc, arm_path(w, ra=True, api="2022-04-01", extra=q), tok)
        assert st == 200, (st, d)
        return sorted((x["properties"]["principalId"], x["properties"]["scope"])
                      for x in d["value"])
    assert len(listed(None)) == 4
    assert listed("atScope()") == sorted([
        (sp, vid), (w["reader"]["object_id"], "/subscriptions/" + w["subscription"]),
        ("p2", "/subscriptions/%s/resourceGroups/%s" % (w["subscription"],
                                                       w["resource_group"]))])
    assert listed("principalId eq '%s'" % sp) == sorted([(sp, vid), (sp, vid + "/keys/atlas-cmk")])
    assert listed("atScope() and assignedTo('%s')" % w["reader"]["object_id"]) == [
        (w["reader"]["object_id"], "/subscriptions/" + w["subscription"])]
    expect_az_error(az_get(fc, arm_path(w, ra=True, api="2022-04-01",
                                        extra="&$filter=roleName+eq+'x'"), tok), 400,
                    "BadRequest")
    expect_az_error(az_get(fc, arm_path(w, ra=True, api="2024-11-01"), tok), 400,
                    "NoRegisteredProviderFound")
    # a 429 through the fault mechanism
    fc.add_fault("/subscriptions/", status=429, headers={"Retry-After": "17"})
    st, h, d = az_get(fc, arm_path(w), tok)
    assert st == 429 and h["retry-after"] == "17" and d["error"]["code"] == "TooManyRequests"


def t_azure_default_world(fc):
    ear = azure_ear(key_version="ab" * 16, keyVaultName="kv-two")
    w = fc.azure_default_world(ear, group=GID, secret_end_in_days=5)
    assert fc.group(GID)["ear"] == ear
    assert w["vault"] == "kv-two" and w["version"] == "ab" * 16 and \
        w["kid"] == ear["azureKeyVault"]["keyIdentifier"], w
    assert set(fc.azure_endpoints()) == {"login", "management", "graph", "key_vault", "imds"}
    assert fc.azure_endpoints()["imds"] == fc.control_url
    view = fc.vault("kv-two")
    assert view["arm"]["properties"]["accessPolicies"][0]["objectId"] == \
        w["atlas_app"]["sp_object_id"]
    ids = {i["client_id"]: i for i in fc.azure_identities()}
    assert ids[w["atlas_app"]["client_id"]]["object_id"] == w["atlas_app"]["sp_object_id"]
    end = fc._call("GET", "/azure/graph/applications/" + w["atlas_app"]["client_id"])[
        "passwordCredentials"][0]["endDateTime"]
    assert ISO7_RE.fullmatch(end) and end[:10] == time.strftime(
        "%Y-%m-%d", time.gmtime(time.time() + 5 * 86400)), end
    state = fc.azure_state()
    assert state["vaults"] == ["kv-two"] and len(state["identities"]) == 2, state
    fc.reset()
    assert fc.azure_state()["vaults"] == [] and fc.azure_identities() == []
    # an identifier that cannot be parsed still gives a usable vault
    w = fc.azure_default_world(azure_ear(keyIdentifier="not a url"))
    assert w["key"] == "atlas-cmk" and len(w["version"]) == 32, w


def t_azure_bad_input(fc):
    def control(method, path, body):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        return http(fc, method, path, {"Content-Type": "application/json"}, data, https=False)
    bad = [("PUT", "/azure/identities", {"client_id": "x", "secret": "s"}),
           ("PUT", "/azure/identities", {"tenant": "t", "client_id": "x"}),
           ("PUT", "/azure/identities", {"tenant": "t", "client_id": "x", "secret": "s",
                                         "error": "bogus"}),
           ("PUT", "/azure/identities", {"tenant": "t/x", "client_id": "x", "secret": "s"}),
           ("POST", "/azure/identities", [{"tenant": "t", "client_id": "x", "sekret": "s"}]),
           ("PUT", "/azure/grants", {"x": {"graph": "yes"}}),
           ("PUT", "/azure/grants", ["x"]),
           ("PUT", "/azure/grants/x", {"keys": [1]}),
           ("PUT", "/azure/graph/applications/a1", {"passwordCredentials": [
               {"endDateTime": "2026-13-01"}]}),
           ("PUT", "/azure/graph/applications/a1", {"passwordCredentials": [
               {"secretText": "leak"}]}),
           ("PUT", "/azure/graph/servicePrincipals/a1", {"bogus": 1}),
           ("PUT", "/azure/vaults/a", {}),
           ("PUT", "/azure/vaults/kv-ok", {"keys": {"k": [{"version": "v1"}, {"version": "v1"}]}}),
           ("PUT", "/azure/vaults/kv-ok", {"keys": {"k": [{"kty": "DSA"}]}}),
           ("PUT", "/azure/vaults/kv-ok", {"keys": {"bad name": []}}),
           ("PUT", "/azure/vaults/kv-ok", {"keys": {"k": {"versions": [], "current": "zz"}}}),
           ("PUT", "/azure/vaults/kv-ok", {"properties": {"networkAcls": {"ipRules": 5}}}),
           ("PUT", "/azure/vaults/kv-ok", {"firewall": {"deny": "yes"}}),
           ("PUT", "/azure/vaults/kv-ok", {"role_assignments": [{"principalId": "p",
                                                                 "role": "Janitor"}]}),
           ("PUT", "/azure/vaults/kv-ok", {"next_link": "elsewhere"}),
           ("PUT", "/azure/vaults/kv-ok", "{not json"),
           ("PUT", "/azure/token_ttl", {"seconds": -5})]
    for method, path, body in bad:
        st, h, b = control(method, path, body)
        assert st == 400 and "error" in json.loads(b), (method, path, body, st, b)
    assert control("PATCH", "/azure/vaults/nope-kv", {})[0] == 404
    assert control("PUT", "/azure/vaults/nope-kv/firewall", {"deny": True})[0] == 404
    assert control("PATCH", "/azure/vaults/nope-kv/keys/k/versions/v", {})[0] == 404
    assert control("GET", "/azure/graph/applications/nope", "")[0] == 404
    # odd requests on the Azure paths get answers, never a crash
    w = fc.azure_default_world(azure_ear())
    tok = reader_token(fc, w)
    host = "%s.%s" % (w["vault"], w["suffix"])
    odd = [("GET", "/keys/atlas-cmk?api-version=7.5", {"Host": "[::1]:443"}, None),
           ("GET", "/keys/atlas-cmk?api-version=7.5", {"Host": ".vault.azure.net"}, None),
           ("GET", "/keys/a/b/c/d?api-version=7.5", {"Host": host}, None),
           ("GET", "/keys/%ff%fe?api-version=7.5", {"Host": host}, None),
           ("GET", "/keys?api-version=7.5", {"Host": host}, None),
           ("DELETE", "/keys/atlas-cmk?api-version=7.5", {"Host": host}, None),
           ("GET", "/keys/atlas-cmk/versions?api-version=7.5&api-version=7.4", {"Host": host},
            None),
           ("GET", "/keys/atlas-cmk/versions?api-version=7.5&$skiptoken=%00%01",
            {"Host": host}, None),
           ("GET", "/v1.0/applications(appId='x'", {}, None),
           ("GET", "/v1.0/", {}, None),
           ("GET", "/v1.0/applications(appId='%E2%82%AC')?$select=,,,", {}, None),
           ("POST", "/v1.0/applications", {}, "{}"),
           ("GET", "/subscriptions/x", {}, None),
           ("GET", "/subscriptions/%zz/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v"
                   "?api-version=2024-11-01", {}, None),
           ("POST", "/t/oauth2/v2.0/token", FORM, b"\xff\xfe=\x00&&=="),
           ("POST", "/t/oauth2/v2.0/token", FORM, "grant_type=a&grant_type=b"),
           ("POST", "/%2F/oauth2/v2.0/token", FORM, "grant_type=client_credentials"),
           ("GET", "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%ff",
            {"Metadata": "true"}, None)]
    for method, path, headers, body in odd:
        h = dict(headers)
        if "Host" in h or path.startswith(("/v1.0", "/subscriptions")):
            h["Authorization"] = "Bearer " + tok
        st, rh, b = http(fc, method, path, h, body)
        assert 400 <= st < 500, (method, path, st, b)
        json.loads(b)
    assert fc.health()["ok"] and "Traceback" not in fc.log_tail(20000), fc.log_tail()


def t_azure_concurrency(fc):
    w = fc.azure_default_world(azure_ear())
    host = "%s.%s" % (w["vault"], w["suffix"])
    results = []

    def worker(i):
        try:
            tok = reader_token(fc, w, (KV_SCOPE, ARM_SCOPE, GRAPH_SCOPE)[i % 3])
            if i % 3 == 0:
                fc.add_key_version(w["vault"], w["key"])
                st = az_get(fc, kv_path(w, sub="versions"), tok, host)[0]
            elif i % 3 == 1:
                st = az_get(fc, arm_path(w), tok)[0]
            else:
                st = az_get(fc, "/v1.0/applications(appId='%s')" %
                            w["atlas_app"]["client_id"], tok)[0]
            results.append(st)
        except Exception as e:      # collected, so the check reports it
            results.append(repr(e))
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [200] * 30, results
    assert len(fc.vault(w["vault"])["keys"][w["key"]]["versions"]) == 11

# --- Google Cloud -------------------------------------------------------------------

def gcp_jwt(pem, claims, kid=None, alg="RS256"):
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
    head = {"alg": alg, "typ": "JWT"}
    if kid:
        head["kid"] = kid
    signing = "%s.%s" % (b64(json.dumps(head).encode()), b64(json.dumps(claims).encode()))
    key = serialization.load_pem_private_key(pem.encode(), None)
    sig = key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing + "." + b64(sig)


def gcp_grant(fc, assertion):
    body = urllib.parse.urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                   "assertion": assertion})
    st, h, b = http(fc, "POST", "/token", {"Content-Type": "application/x-www-form-urlencoded"},
                    body)
    return st, json.loads(b)


def t_gcp_token_endpoint(fc):
    from client import gcp_service_account_key
    email = "r@acme-prod.iam.gserviceaccount.com"
    w = fc.gcp_default_world(group=None, email=email)
    now = int(time.time())
    good = {"iss": email, "scope": "https://www.googleapis.com/auth/cloudkms",
            "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + 3600}
    st, doc = gcp_grant(fc, gcp_jwt(w["private_pem"], good, kid="k-" + email[:8]))
    assert st == 200 and doc["token_type"] == "Bearer" and doc["expires_in"] == 3599, doc
    assert doc["access_token"].startswith("ya29.")
    _, other_pem, _ = gcp_service_account_key(email)
    cases = [
        (gcp_jwt(other_pem, good), "invalid_grant", "Signature"),
        (gcp_jwt(w["private_pem"], dict(good, iss="nobody@x")), "invalid_grant", "not found"),
        (gcp_jwt(w["private_pem"], dict(good, aud="https://evil/token")), "invalid_grant",
         "audience"),
        (gcp_jwt(w["private_pem"], dict(good, exp=now + 7200)), "invalid_grant", "timeframe"),
        (gcp_jwt(w["private_pem"], dict(good, iat=now - 7200, exp=now - 3600)),
         "invalid_grant", "timeframe"),
        (gcp_jwt(w["private_pem"], dict(good, scope="https://www.googleapis.com/auth/drive")),
         "invalid_scope", "scope"),
        (gcp_jwt(w["private_pem"], good, kid="wrong-kid"), "invalid_grant", "Signature"),
        (gcp_jwt(w["private_pem"], good, alg="HS256"), "invalid_grant", "algorithm"),
        ("not.a.jwt", "invalid_grant", "malformed"),
    ]
    for assertion, err, says in cases:
        st, doc = gcp_grant(fc, assertion)
        assert st == 400 and doc["error"] == err and says in doc["error_description"], doc
    fc.patch_gcp_service_account(email, disabled=True)
    st, doc = gcp_grant(fc, gcp_jwt(w["private_pem"], good))
    assert st == 400 and "not found" in doc["error_description"]
    st, h, b = http(fc, "POST", "/token", {"Content-Type": "application/x-www-form-urlencoded"},
                    "grant_type=client_credentials")
    assert st == 400 and json.loads(b)["error"] == "unsupported_grant_type"


def gcp_token(fc, email, pem):
    now = int(time.time())
    st, doc = gcp_grant(fc, gcp_jwt(pem, {"iss": email, "aud": "https://oauth2.googleapis.com/"
                                          "token", "scope": "https://www.googleapis.com/auth/"
                                          "cloudkms", "iat": now, "exp": now + 600}))
    assert st == 200, doc
    return doc["access_token"]


def t_gcp_kms(fc):
    email = "r@acme-prod.iam.gserviceaccount.com"
    w = fc.gcp_default_world(group=GID, email=email, key_age_days=3)
    tok = gcp_token(fc, email, w["private_pem"])
    auth = {"Authorization": "Bearer " + tok}
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    v = json.loads(b)
    assert st == 200 and v["state"] == "ENABLED" and v["name"] == w["version_name"], v
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", v["createTime"]), v
    st, h, b = http(fc, "GET", "/v1/" + w["key_name"], auth)
    k = json.loads(b)
    assert st == 200 and k["primary"]["name"] == w["version_name"] and "rotationPeriod" not in k
    fc.patch_gcp(w["key_name"], rotationPeriod=86400 * 30)
    st, h, b = http(fc, "GET", "/v1/" + w["key_name"], auth)
    assert json.loads(b)["rotationPeriod"] == "2592000s" and "nextRotationTime" in json.loads(b)
    fc.patch_gcp(w["version_name"], state="DESTROY_SCHEDULED")
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    assert json.loads(b)["state"] == "DESTROY_SCHEDULED" and "destroyTime" in json.loads(b)
    fc.patch_gcp(w["version_name"], state="ENABLED")
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    assert "destroyTime" not in json.loads(b)
    # 401, 403, 404, each in Google's error shape
    for headers, status, gstatus in [({}, 401, "UNAUTHENTICATED"),
                                     ({"Authorization": "Bearer nope"}, 401, "UNAUTHENTICATED")]:
        st, h, b = http(fc, "GET", "/v1/" + w["version_name"], headers)
        e = json.loads(b)["error"]
        assert st == status and e["code"] == status and e["status"] == gstatus, e
    fc.patch_gcp_service_account(email, permissions=["cloudkms.cryptoKeys.get"])
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    e = json.loads(b)["error"]
    assert st == 403 and e["status"] == "PERMISSION_DENIED"
    assert "cloudkms.cryptoKeyVersions.get" in e["message"]
    st, h, b = http(fc, "GET", "/v1/" + w["key_name"], auth)
    assert st == 200
    fc.patch_gcp_service_account(email, permissions=["cloudkms.cryptoKeyVersions.get",
                                                     "cloudkms.cryptoKeys.get"])
    st, h, b = http(fc, "GET", "/v1/" + w["key_name"] + "/cryptoKeyVersions/9", auth)
    assert st == 404 and json.loads(b)["error"]["status"] == "NOT_FOUND"
    # a fault without a body: Google's shape
    fc.add_fault("/v1/projects/", status=429, headers={"Retry-After": "1"})
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    assert st == 429 and json.loads(b)["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert h["retry-after"] == "1"
    # tokens expire
    fc.set_gcp_token_ttl(0)
    tok0 = gcp_token(fc, email, w["private_pem"])
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], {"Authorization": "Bearer " + tok0})
    assert st == 401
    assert all("access_token" not in t for t in fc.gcp_tokens())
    fc.revoke_gcp_tokens()
    st, h, b = http(fc, "GET", "/v1/" + w["version_name"], auth)
    assert st == 401


def t_gcp_metadata(fc):
    path = "/computeMetadata/v1/instance/service-accounts/default/token"
    st, h, b = http(fc, "GET", path, {}, https=False)
    assert st == 403
    st, h, b = http(fc, "GET", path, {"Metadata-Flavor": "Google"}, https=False)
    assert st == 404
    email = "vm@acme-prod.iam.gserviceaccount.com"
    fc.add_gcp_service_account(email)
    fc.set_gcp_metadata_account(email)
    st, h, b = http(fc, "GET", path, {"Metadata-Flavor": "Google"}, https=False)
    doc = json.loads(b)
    assert st == 200 and doc["token_type"] == "Bearer" and h["metadata-flavor"] == "Google"
    key = fc.set_gcp_key("projects/p/locations/global/keyRings/r/cryptoKeys/k")
    st, h, b = http(fc, "GET", "/v1/" + key["name"] + "/cryptoKeyVersions/1",
                    {"Authorization": "Bearer " + doc["access_token"]})
    assert st == 200, b
    assert [r for r in fc.requests(path="/computeMetadata/")], "metadata reads are logged"


def t_gcp_bad_input(fc):
    for path, body in [("/gcp/kms/projects/p/bad", {}),
                       ("/gcp/kms/projects/p/locations/l/keyRings/r/cryptoKeys/k",
                        {"versions": {"1": {"state": "BROKEN"}}}),
                       ("/gcp/kms/projects/p/locations/l/keyRings/r/cryptoKeys/k",
                        {"versions": {"0": {}}}),
                       ("/gcp/service_accounts", {"client_email": "a@b", "public_key": "x"}),
                       ("/gcp/service_accounts", {"nope": 1})]:
        try:
            fc._call("PUT", path, body)
        except FakeCloudError as e:
            assert "-> 400" in str(e), e
        else:
            raise AssertionError("accepted %s %r" % (path, body))


# --- AWS --------------------------------------------------------------------------

import datetime  # noqa: E402
import hmac  # noqa: E402

from client import AWS_KEY_ID  # noqa: E402


def sigv4_headers(fc, akid, secret, service, region, body, target=None, token=None,
                  ctype="application/x-amz-json-1.1", when=None):
    """An independent Signature V4 signer (stdlib) for the fake's checks."""
    host = "127.0.0.1:%d" % fc.https_port
    when = when or datetime.datetime.now(datetime.timezone.utc)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    h = {"content-type": ctype, "host": host, "x-amz-date": amz_date}
    if target:
        h["x-amz-target"] = target
    if token:
        h["x-amz-security-token"] = token
    signed = sorted(h)
    creq = "\n".join(["POST", "/", "", "".join("%s:%s\n" % (k, h[k]) for k in signed),
                      ";".join(signed), hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/%s/aws4_request" % (date, region, service)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    out = {k2: v for k2, v in h.items() if k2 != "host"}
    out["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, " \
                           "Signature=%s" % (akid, scope, ";".join(signed), sig)
    return out


def kms_call(fc, op, key, akid, secret, token=None, region="us-east-1", **kw):
    body = json.dumps({"KeyId": key}).encode()
    h = sigv4_headers(fc, akid, secret, "kms", region, body, "TrentService." + op, token, **kw)
    st, hd, b = http(fc, "POST", "/", h, body)
    return st, hd, json.loads(b) if b else None


def expect_kms_error(res, status, type_):
    st, hd, doc = res
    assert st == status and doc["__type"] == type_, (st, doc)
    assert hd["content-type"] == "application/x-amz-json-1.1", hd
    return doc["message"]


def sts_call(fc, params, akid=None, secret=None, token=None):
    body = urllib.parse.urlencode(dict({"Version": "2011-06-15"}, **params)).encode()
    ctype = "application/x-www-form-urlencoded"
    h = sigv4_headers(fc, akid, secret, "sts", "us-east-1", body, token=token, ctype=ctype) \
        if akid else {"content-type": ctype}
    return http(fc, "POST", "/", h, body)


def xml_field(body, tag):
    m = re.search(r"<%s>([^<]*)</%s>" % (tag, tag), body.decode())
    return m.group(1) if m else None


def t_aws_kms_sigv4(fc):
    w = fc.aws_default_world(KeyState="Enabled", created_days_ago=30)
    ak, sk = w["access_key_id"], w["secret"]
    st, hd, doc = kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk)
    assert st == 200, (st, doc)
    md = doc["KeyMetadata"]
    assert md["KeyState"] == "Enabled" and md["Enabled"] is True and md["Origin"] == "AWS_KMS"
    assert md["Arn"] == "arn:aws:kms:us-east-1:123456789012:key/" + AWS_KEY_ID
    assert abs(md["CreationDate"] - (time.time() - 30 * 86400)) < 60
    assert isinstance(md["CreationDate"], float)
    st, _, doc = kms_call(fc, "GetKeyRotationStatus", md["Arn"], ak, sk)
    assert st == 200 and doc["KeyRotationEnabled"] is True and doc["RotationPeriodInDays"] == 365
    # the signature is checked: wrong secret, unknown key, skew, other service
    msg = expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk + "x"), 403,
                           "InvalidSignatureException")
    assert "does not match" in msg
    expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, "AKIAUNKNOWN000000000", sk), 400,
                     "UnrecognizedClientException")
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20)
    assert "Signature expired" in expect_kms_error(
        kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk, when=old), 403,
        "InvalidSignatureException")
    body = json.dumps({"KeyId": AWS_KEY_ID}).encode()
    h = sigv4_headers(fc, ak, sk, "s3", "us-east-1", body, "TrentService.DescribeKey")
    st, _, b = http(fc, "POST", "/", h, body)
    assert st == 400 and b"correct service" in b, b
    # a tampered body no longer matches its signature
    h = sigv4_headers(fc, ak, sk, "kms", "us-east-1", body, "TrentService.DescribeKey")
    st, _, b = http(fc, "POST", "/", h, body.replace(b"1234", b"9999"))
    assert st == 403 and b"InvalidSignatureException" in b, b
    st, _, b = http(fc, "POST", "/", {"X-Amz-Target": "TrentService.DescribeKey"}, body)
    assert st == 400 and b"MissingAuthenticationTokenException" in b, b
    # libcurl's own signer (what kmswatchd uses) is accepted too
    rc, _, out, _, err = curl(fc, "--aws-sigv4", "aws:amz:us-east-1:kms", "-u",
                              "%s:%s" % (ak, sk), "-H", "X-Amz-Target: TrentService.DescribeKey",
                              "-H", "Content-Type: application/x-amz-json-1.1", "-d",
                              body.decode(), fc.https_url + "/")
    assert rc == 0 and b'"KeyState": "Enabled"' in out, (rc, out, err)


def t_aws_kms_states_and_errors(fc):
    w = fc.aws_default_world()
    ak, sk = w["access_key_id"], w["secret"]
    fc.patch_aws_key(KeyState="PendingDeletion", DeletionDate=time.time() + 5 * 86400)
    st, _, doc = kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk)
    md = doc["KeyMetadata"]
    assert md["KeyState"] == "PendingDeletion" and md["Enabled"] is False
    assert md["PendingDeletionWindowInDays"] == 7 and md["DeletionDate"] > time.time()
    assert "pending deletion" in expect_kms_error(
        kms_call(fc, "GetKeyRotationStatus", AWS_KEY_ID, ak, sk), 400,
        "KMSInvalidStateException")
    fc.set_aws_key("0987dcba-09fe-87dc-65ba-ab0987654321", Origin="EXTERNAL",
                   ValidTo=time.time() + 86400, aliases=["atlas"])
    st, _, doc = kms_call(fc, "DescribeKey", "alias/atlas", ak, sk)
    assert doc["KeyMetadata"]["ExpirationModel"] == "KEY_MATERIAL_EXPIRES", doc
    expect_kms_error(kms_call(fc, "GetKeyRotationStatus", "alias/atlas", ak, sk), 400,
                     "UnsupportedOperationException")
    assert "does not exist" in expect_kms_error(
        kms_call(fc, "DescribeKey", "ffffffff-09fe-87dc-65ba-ab0987654321", ak, sk), 400,
        "NotFoundException")
    # the key is in us-east-1 only
    expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk, region="eu-west-1"), 400,
                     "NotFoundException")
    fc.set_aws_users({ak: {"secret": sk, "allow": ["kms:DescribeKey"]}})
    msg = expect_kms_error(kms_call(fc, "GetKeyRotationStatus", AWS_KEY_ID, ak, sk), 400,
                           "AccessDeniedException")
    assert "not authorized to perform: kms:GetKeyRotationStatus" in msg, msg
    fc.add_aws_error("DescribeKey", "ThrottlingException", message="Rate exceeded", count=2)
    for _ in range(2):
        expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk), 400,
                         "ThrottlingException")
    assert kms_call(fc, "DescribeKey", AWS_KEY_ID, ak, sk)[0] == 200


def t_aws_sts(fc):
    w = fc.aws_default_world()
    ak, sk = w["access_key_id"], w["secret"]
    fc.set_aws_ttl(sts=1200)
    st, hd, b = sts_call(fc, {"Action": "AssumeRole", "RoleArn": w["role_arn"],
                              "RoleSessionName": "kmswatch"}, ak, sk)
    assert st == 200 and b"<AssumeRoleResponse" in b, b
    tak, tsk, tok = (xml_field(b, t) for t in ("AccessKeyId", "SecretAccessKey", "SessionToken"))
    exp = datetime.datetime.strptime(xml_field(b, "Expiration"), "%Y-%m-%dT%H:%M:%SZ")
    left = exp.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()
    assert 1100 < left <= 1201, left
    assert tak.startswith("ASIA")
    assert kms_call(fc, "DescribeKey", AWS_KEY_ID, tak, tsk, token=tok)[0] == 200
    # temporary credentials need their session token, and expire
    expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, tak, tsk), 400,
                     "UnrecognizedClientException")
    expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, tak, tsk, token=tok + "x"), 400,
                     "UnrecognizedClientException")
    fc.expire_aws_credentials()
    expect_kms_error(kms_call(fc, "DescribeKey", AWS_KEY_ID, tak, tsk, token=tok), 400,
                     "ExpiredTokenException")
    # refusals
    st, _, b = sts_call(fc, {"Action": "AssumeRole", "RoleArn": w["role_arn"],
                             "RoleSessionName": "kmswatch"}, ak, sk + "x")
    assert st == 403 and xml_field(b, "Code") == "SignatureDoesNotMatch", b
    st, _, b = sts_call(fc, {"Action": "AssumeRole", "RoleSessionName": "kmswatch",
                             "RoleArn": "arn:aws:iam::123456789012:role/other"}, ak, sk)
    assert st == 403 and xml_field(b, "Code") == "AccessDenied", b
    assert b"<ErrorResponse" in b and b"<Type>Sender</Type>" in b
    # web identity: unsigned, the token must be trusted
    st, _, b = sts_call(fc, {"Action": "AssumeRoleWithWebIdentity", "RoleArn": w["role_arn"],
                             "RoleSessionName": "kmswatch",
                             "WebIdentityToken": w["web_identity_token"]})
    assert st == 200 and b"<AssumeRoleWithWebIdentityResponse" in b, b
    assert xml_field(b, "SessionToken")
    st, _, b = sts_call(fc, {"Action": "AssumeRoleWithWebIdentity", "RoleArn": w["role_arn"],
                             "RoleSessionName": "kmswatch", "WebIdentityToken": "forged"})
    assert st == 400 and xml_field(b, "Code") == "InvalidIdentityToken", b
    kinds = [c["kind"] for c in fc.aws_credentials()]
    assert kinds == ["AssumeRole", "AssumeRoleWithWebIdentity"], kinds


def t_aws_imds(fc):
    w = fc.aws_default_world()
    base = "/latest/meta-data/iam/security-credentials/"
    st, _, _ = http(fc, "GET", base, https=False)
    assert st == 401, st
    st, _, _ = http(fc, "PUT", "/latest/api/token", body=b"", https=False)
    assert st == 400, st
    st, hd, tok = http(fc, "PUT", "/latest/api/token", body=b"",
                       headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"}, https=False)
    assert st == 200 and tok, st
    h = {"X-aws-ec2-metadata-token": tok.decode()}
    st, _, role = http(fc, "GET", base, headers=h, https=False)
    assert st == 200 and role == b"kmswatch", (st, role)
    st, _, b = http(fc, "GET", base + "kmswatch", headers=h, https=False)
    doc = json.loads(b)
    assert doc["Code"] == "Success" and doc["Type"] == "AWS-HMAC", doc
    assert kms_call(fc, "DescribeKey", AWS_KEY_ID, doc["AccessKeyId"], doc["SecretAccessKey"],
                    token=doc["Token"])[0] == 200
    st, _, _ = http(fc, "GET", base + "other", headers=h, https=False)
    assert st == 404
    st, _, _ = http(fc, "GET", base, headers=dict(h, **{"X-Forwarded-For": "1.2.3.4"}),
                    https=False)
    assert st == 403
    fc.set_aws_imds(None)
    st, _, _ = http(fc, "GET", base, headers=h, https=False)
    assert st == 404



def t_own_service_account(fc):
    """GET /groups/{id} names the org; GET /orgs/{org}/serviceAccounts/{id}
    lists the secrets; org read, listing and the version are enforced."""
    tok = get_token(fc)["access_token"]
    st, h, b = bearer_get(fc, tok, "/api/atlas/v2/groups/%s" % GID)
    doc = json.loads(b)
    assert st == 200 and doc["orgId"] == "5f1a2b3c4d5e6f7081920a1b" and doc["id"] == GID, doc
    sa = "/api/atlas/v2/orgs/5f1a2b3c4d5e6f7081920a1b/serviceAccounts/" + CID
    st, h, b = bearer_get(fc, tok, sa, accept=MT_CLUSTERS)
    doc = json.loads(b)
    assert st == 200 and h["content-type"] == MT_CLUSTERS, (st, h)
    assert doc["clientId"] == CID and len(doc["secrets"]) == 1, doc
    x = doc["secrets"][0]
    assert x["maskedSecretValue"] == "mdb_sa_sk_..." + CSECRET[-4:] and CSECRET.encode() not in b
    assert set(x) == {"id", "createdAt", "expiresAt", "lastUsedAt", "maskedSecretValue"}, x
    st, _, _ = bearer_get(fc, tok, sa, accept=MT_EAR)
    assert st == 406, st
    fc.set_sa_secrets(CID, [{"expiresAt": 1900000000, "secret": "mdb_sa_sk_abcdWXYZ"},
                            {"expiresAt": "2027-01-01T00:00:00Z", "maskedSecretValue": "m"}])
    doc = json.loads(bearer_get(fc, tok, sa, accept=MT_CLUSTERS)[2])
    assert [s["maskedSecretValue"] for s in doc["secrets"]] == ["mdb_sa_sk_...WXYZ", "m"], doc
    assert doc["secrets"][1]["expiresAt"] == "2027-01-01T00:00:00Z"
    fc.set_sa_meta(CID, org_read=False)
    st, _, b = bearer_get(fc, tok, sa, accept=MT_CLUSTERS)
    assert st == 403 and json.loads(b)["errorCode"] == "USER_UNAUTHORIZED", (st, b)
    fc.set_sa_meta(CID, org_read=True, listed=False)
    st, _, b = bearer_get(fc, tok, sa, accept=MT_CLUSTERS)
    assert st == 404, st
    fc.set_sa_meta(CID, listed=True)
    st, _, _ = bearer_get(fc, tok, sa.replace("5f1a2b3c4d5e6f7081920a1b",
                                              "0123456789abcdef01234567"), accept=MT_CLUSTERS)
    assert st == 403, st   # not the caller's organization
    st, _, _ = bearer_get(fc, "not-a-token", sa, accept=MT_CLUSTERS)
    assert st == 401, st
    try:
        fc.set_sa_secrets(CID, [{"id": "x"}])
        raise AssertionError("a secret without expiresAt was accepted")
    except FakeCloudError:
        pass


CHECKS = [t_aws_kms_sigv4, t_aws_kms_states_and_errors, t_aws_sts, t_aws_imds,
          t_health_and_ready, t_client_helpers, t_digest_md5_curl, t_digest_sha256_curl,
          t_digest_wrong_password, t_digest_python_nonce_rules, t_oauth_flow,
          t_bearer_ear_and_revoke, t_token_ttl, t_group_not_found, t_forbidden,
          t_ear_private_endpoints, t_atlas_events, t_group_listing, t_own_service_account,
          t_accept_required, t_other_endpoints, t_fault_retry_after,
          t_fault_garbage_and_huge, t_fault_hang, t_fault_close_and_forever, t_webhook,
          t_keepalive, t_malformed_requests, t_concurrency, t_tls_modes,
          t_azure_entra_tokens, t_azure_imds, t_azure_graph, t_azure_key_vault, t_azure_arm,
          t_azure_default_world, t_azure_bad_input, t_azure_concurrency,
          t_gcp_token_endpoint, t_gcp_kms, t_gcp_metadata, t_gcp_bad_input]


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
