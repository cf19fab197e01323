# SPDX-License-Identifier: ISC
"""The Google Cloud side against the fake cloud: every key state, key age,
kmswatch's own access (permissions, a bad key, a wrong account, throttling),
token refresh, the metadata-server identity, a project switching from Azure
to Google Cloud and back to none, ear.role for GCP, --once, and that neither
the private key nor a token ever leaves the daemon. Asserted in the real
journald."""

import json
import os
import subprocess
import time

import pytest

from client import gcp_ear, gcp_service_account_key, wait_for
import kmsw
from kmsw import project

KEY_PEM_LINE = "-----BEGIN PRIVATE KEY-----"
TOKEN_PREFIX = "ya29.fake-"


def gcp_daemon(fc, daemons, projects, world=None, identity="service_account_key",
               interval="1s", start=True, key_json=None, **kw):
    """A daemon whose gcp: section points at the fake; the key file (0600)
    holds world's key unless key_json says otherwise."""
    d = daemons(fc, projects, start=False, **kw)
    lines = ["gcp_interval: %s" % interval, "gcp:", "  identity:", "    type: %s" % identity]
    if identity == "service_account_key":
        path = os.path.join(d.dir, "gcp-key.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key_json if key_json is not None else world["key_json"])
        lines.append("    key: {file: %s}" % kmsw.yaml_quote(path))
    ep = fc.gcp_endpoints()
    lines += ["  endpoints:", "    kms: %s" % ep["kms"], "    token: %s" % ep["token"],
              "    metadata: %s" % ep["metadata"], "  ca_file: %s" % kmsw.yaml_quote(fc.ca_file)]
    d.extra = "\n".join(lines)
    d.write_config()
    if start:
        d.start()
    return d


def world(fc, **kw):
    p = project(fc, doc=gcp_ear("projects/x/locations/global/keyRings/r/cryptoKeys/k/"
                                "cryptoKeyVersions/1"))
    w = fc.gcp_default_world(group=p["id"], **kw)
    return p, w


def events(d, p, check, event="firing"):
    return d.events(p["name"], KMSWATCH_CHECK=check, KMSWATCH_EVENT=event)


def one(d, p, check, event="firing", timeout=25):
    return wait_for(lambda: events(d, p, check, event), timeout=timeout)[0]


def kms_reads(fc, w):
    return [r for r in fc.requests(path="/v1/" + w["key_name"])]


def rounds(fc, w, n, timeout=30):
    start = len(kms_reads(fc, w))
    wait_for(lambda: len([r for r in kms_reads(fc, w) if r["status"] is not None]) >=
             start + 2 * n, timeout=timeout)


def no_secrets(text, w):
    pem_body = w["private_pem"].splitlines()[1]
    assert KEY_PEM_LINE not in text
    assert pem_body not in text
    assert TOKEN_PREFIX not in text


def test_healthy_project_is_quiet(fc, daemons):
    p, w = world(fc)
    d = gcp_daemon(fc, daemons, [p], w)
    rounds(fc, w, 3)
    bad = [e for e in d.events(p["name"]) if e["KMSWATCH_EVENT"] != "info"]
    assert bad == [], [e["MESSAGE"] for e in bad]
    # one token serves every read; it went out as a Bearer header
    assert len(fc.requests(path="/token")) == 1
    assert all(r["headers"].get("authorization") == "Bearer" for r in kms_reads(fc, w))
    assert all(r["status"] == 200 for r in kms_reads(fc, w) if r["status"] is not None)
    assert d.stop() == 0
    state = json.load(open(os.path.join(d.state_dir, "gcp.json")))
    assert state["projects"][p["id"]]["version"] == w["version_name"]


@pytest.mark.parametrize("state,severity,says", [
    ("DISABLED", "critical", "disabled"),
    ("DESTROY_SCHEDULED", "critical", "scheduled for destruction"),
    ("DESTROYED", "critical", "destroyed"),
    ("PENDING_GENERATION", "warning", "not usable yet"),
    ("IMPORT_FAILED", "critical", "no usable key material"),
])
def test_key_states(fc, daemons, state, severity, says):
    extra = {"destroyTime": time.time() + 5 * 86400 + 3600} if state == "DESTROY_SCHEDULED" \
        else {}
    p, w = world(fc, state=state, **extra)
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.key_state")
    assert e["KMSWATCH_SEVERITY"] == severity
    assert e["MESSAGE_ID"] == kmsw.MSGID["gcp_key_state"]
    assert e["KMSWATCH_PROVIDER"] == "gcp"
    assert e["KMSWATCH_SUBJECT"] == w["version_name"]
    assert says in e["MESSAGE"], e["MESSAGE"]
    assert e["PRIORITY"] == ("2" if severity == "critical" else "4")
    if state == "DESTROY_SCHEDULED":
        assert e["KMSWATCH_DAYS_LEFT"] == "5"
        assert "versions restore" in e["MESSAGE"]
    # kmswatch read the key fine: no access alert
    assert events(d, p, "gcp.access") == []
    fc.patch_gcp(w["version_name"], state="ENABLED")
    r = one(d, p, "gcp.key_state", event="resolved")
    assert r["KMSWATCH_PREVIOUS_SEVERITY"] == severity
    assert d.stop() == 0


def test_key_age_without_rotation(fc, daemons):
    p, w = world(fc, key_age_days=100)
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.key_age")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_AGE_DAYS"] == "100"
    assert e["MESSAGE_ID"] == kmsw.MSGID["gcp_key_age"]
    assert "no rotation period" in e["MESSAGE"]
    # rotation on: the age alone is no longer an alert
    fc.patch_gcp(w["key_name"], rotationPeriod=90 * 86400)
    one(d, p, "gcp.key_age", event="resolved")
    assert d.stop() == 0


def test_permission_denied_is_access_only(fc, daemons):
    p, w = world(fc)
    fc.patch_gcp_service_account(w["email"], permissions=["cloudkms.cryptoKeys.get"])
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.access")
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert e["MESSAGE_ID"] == kmsw.MSGID["gcp_access"]
    assert "cloudkms.cryptoKeyVersions.get" in e["MESSAGE"]
    assert "PERMISSION_DENIED" in e["MESSAGE"]
    rounds(fc, w, 2)
    assert events(d, p, "gcp.key_state") == []
    fc.patch_gcp_service_account(w["email"], permissions=["cloudkms.cryptoKeyVersions.get",
                                                          "cloudkms.cryptoKeys.get"])
    one(d, p, "gcp.access", event="resolved")
    assert d.stop() == 0


def test_not_found_is_key_state_only(fc, daemons):
    p, w = world(fc)
    fc.set_ear(p["id"], gcp_ear(w["key_name"] + "/cryptoKeyVersions/9"))
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "NOT_FOUND" in e["MESSAGE"]
    rounds(fc, w, 2)
    assert events(d, p, "gcp.access") == []
    assert d.stop() == 0


@pytest.mark.parametrize("suffix,says", [("/cryptoKeyVersions/1/../../../../x", "goes on"),
                                         ("/cryptoKeyVersions/1%2F..", "character"),
                                         (None, "has none")])
def test_malformed_version_id_is_not_sent(fc, daemons, suffix, says):
    p, w = world(fc)
    fc.set_ear(p["id"], gcp_ear(w["key_name"] + suffix if suffix else None))
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.access")
    assert "keyVersionResourceID is malformed" in e["MESSAGE"]
    assert says in e["MESSAGE"], e["MESSAGE"]
    time.sleep(2)
    assert fc.requests(path="/v1/") == []
    assert d.stop() == 0


@pytest.mark.parametrize("case", ["other_key", "wrong_email"])
def test_bad_service_account_key(fc, daemons, case):
    p, w = world(fc)
    if case == "other_key":
        # the key file's private key is not the one Google knows
        key_json, _, _ = gcp_service_account_key(w["email"], key_id="k-" + w["email"][:8])
        says = "create a new key"
    else:
        key_json, _, _ = gcp_service_account_key("nobody@acme-prod.iam.gserviceaccount.com")
        says = "does not know"
    d = gcp_daemon(fc, daemons, [p], w, key_json=key_json)
    e = one(d, p, "gcp.access")
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert "invalid_grant" in e["MESSAGE"]
    assert says in e["MESSAGE"], e["MESSAGE"]
    assert events(d, p, "gcp.key_state") == []
    assert fc.requests(path="/v1/") == []
    assert d.stop() == 0


def test_token_refresh(fc, daemons):
    """Short-lived tokens are replaced before they expire: reads keep
    working and no gcp.access alert fires."""
    p, w = world(fc)
    fc.set_gcp_token_ttl(8)
    d = gcp_daemon(fc, daemons, [p], w)
    wait_for(lambda: len(fc.requests(path="/token")) >= 3, timeout=40)
    rounds(fc, w, 2)
    assert events(d, p, "gcp.access") == []
    assert events(d, p, "gcp.key_state") == []
    assert d.stop() == 0


def test_metadata_identity(fc, daemons):
    p, w = world(fc, register=False)
    vm = "vm-sa@acme-prod.iam.gserviceaccount.com"
    fc.add_gcp_service_account(vm)
    fc.set_gcp_metadata_account(vm)
    fc.patch_gcp(w["version_name"], state="DISABLED")
    d = gcp_daemon(fc, daemons, [p], w, identity="metadata")
    e = one(d, p, "gcp.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    md = fc.requests(path="/computeMetadata/")
    assert md and all(r["headers"].get("metadata-flavor") == "Google" for r in md)
    assert fc.requests(path="/token") == []
    # the account is detached: kmswatch says how to fix the identity
    fc.set_gcp_metadata_account(None)
    fc.revoke_gcp_tokens()
    a = one(d, p, "gcp.access")
    assert "metadata server" in a["MESSAGE"] or "attach a service account" in a["MESSAGE"]
    assert d.stop() == 0


def test_throttling_then_success(fc, daemons):
    p, w = world(fc, key_age_days=100)
    fc.add_fault("/v1/projects/", status=429, count=3, headers={"Retry-After": "1"})
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.key_age")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    statuses = [r["status"] for r in fc.requests(path="/v1/projects/")]
    assert statuses.count(429) == 3 and 200 in statuses, statuses
    assert events(d, p, "gcp.access") == []
    assert d.stop() == 0


def test_persistent_throttling_is_access(fc, daemons):
    p, w = world(fc)
    fc.add_fault("/v1/projects/", status=429, count=-1)
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "gcp.access", timeout=60)
    assert "throttling" in e["MESSAGE"] and "RESOURCE_EXHAUSTED" in e["MESSAGE"]
    assert events(d, p, "gcp.key_state") == []
    assert d.stop() == 0


def test_switch_azure_to_gcp_to_none(fc, daemons):
    p = project(fc)
    fc.azure_default_world(group=p["id"], key_age_days=100)
    w = fc.gcp_default_world(group=None, state="DISABLED")
    d = gcp_daemon(fc, daemons, [p], w, azure=True)
    one(d, p, "azure.key_age")
    fc.set_ear(p["id"], w["ear"])
    r = one(d, p, "azure.key_age", event="resolved")
    assert r["KMSWATCH_PROVIDER"] == "azure"
    g = one(d, p, "gcp.key_state")
    assert g["KMSWATCH_SEVERITY"] == "critical"
    # Google Cloud KMS switched off: its alerts resolve too
    fc.set_ear(p["id"], gcp_ear(w["version_name"], enabled=False, valid=False))
    one(d, p, "gcp.key_state", event="resolved")
    assert d.stop() == 0


def test_ear_role_gcp(fc, daemons):
    role = "65a1b2c3d4e5f60718293a99"
    p, w = world(fc)
    fc.set_ear(p["id"], gcp_ear(w["version_name"], role_id=role))
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [], "azureServicePrincipals": [],
                                           "gcpServiceAccounts": []})
    d = gcp_daemon(fc, daemons, [p], w)
    e = one(d, p, "ear.role")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert role in e["MESSAGE"] and "GCP service account" in e["MESSAGE"]
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [], "azureServicePrincipals": [],
                                           "gcpServiceAccounts": [{
                                               "roleId": role, "status": "COMPLETE",
                                               "gcpServiceAccountForAtlas":
                                               "atlas@p.iam.gserviceaccount.com"}]})
    one(d, p, "ear.role", event="resolved")
    assert d.stop() == 0


def test_once_json_and_no_secrets(fc, daemons):
    p, w = world(fc, state="DESTROY_SCHEDULED", destroyTime=time.time() + 3 * 86400 + 600)
    d = gcp_daemon(fc, daemons, [p], w, start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2, r.stdout + r.stderr
    rows = json.loads(r.stdout)
    ks = [x for x in rows if x["check"] == "gcp.key_state"]
    assert ks and ks[0]["severity"] == "critical", rows
    assert ks[0]["subject"] == w["version_name"]
    assert "scheduled for destruction" in json.dumps(ks[0])
    assert any(x["check"] == "gcp.access" and x["severity"] == "ok" for x in rows), rows
    assert any(x["check"] == "gcp.key_age" for x in rows), rows
    no_secrets(r.stdout + r.stderr, w)

    # the daemon: journal, stderr and webhook payloads hold neither
    d.sinks = [{"name": "h", "url": fc.hook_url("gcp", https=False)}]
    d.write_config()
    d.start()
    one(d, p, "gcp.key_state")
    wait_for(lambda: fc.hook_bodies("gcp"), timeout=15)
    fc.set_gcp_token_ttl(2)
    fc.revoke_gcp_tokens()
    wait_for(lambda: len(fc.requests(path="/token")) >= 3, timeout=30)
    assert d.stop() == 0
    no_secrets(kmsw.journal_all_text(_PID=str(d.pid)), w)
    no_secrets(kmsw.journal_all_text(KMSWATCH_PROJECT_NAME=p["name"]), w)
    no_secrets(d.stderr_text(), w)
    no_secrets(json.dumps(fc.hooks("gcp")), w)
    no_secrets(open(d.config).read(), w)
    for name in os.listdir(d.state_dir):
        path = os.path.join(d.state_dir, name)
        if os.path.isfile(path):
            no_secrets(open(path, errors="replace").read(), w)


def test_config_check_accepts_and_refuses_keys(fc, daemons):
    p, w = world(fc)
    d = gcp_daemon(fc, daemons, [p], w, start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", d.config], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    bad = gcp_daemon(fc, daemons, [p], w, start=False,
                     key_json=w["key_json"].replace("service_account", "authorized_user"))
    r = subprocess.run([kmsw.kmswatchd_path(), "-t", "-c", bad.config], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "not a Google service-account key" in r.stderr
    no_secrets(r.stderr, w)


def test_reload_with_a_new_key(fc, daemons):
    """A rotated service-account key reaches kmswatch by SIGHUP: the old
    token source is forgotten and the new key's assertion works."""
    p, w = world(fc)
    stale, _, _ = gcp_service_account_key(w["email"], key_id="k-" + w["email"][:8])
    d = gcp_daemon(fc, daemons, [p], w, key_json=stale)
    one(d, p, "gcp.access")
    path = os.path.join(d.dir, "gcp-key.json")
    with open(path, "w") as f:
        f.write(w["key_json"])
    d.reload()
    one(d, p, "gcp.access", event="resolved")
    assert d.stop() == 0


def test_first_seen_survives_a_restart(fc, daemons):
    p, w = world(fc)
    d = gcp_daemon(fc, daemons, [p], w)
    rounds(fc, w, 1)
    assert d.stop() == 0
    doc = os.path.join(d.state_dir, "gcp.json")
    first = json.load(open(doc))["projects"][p["id"]]
    time.sleep(1.1)
    d.start()
    rounds(fc, w, 2)
    assert d.stop() == 0
    again = json.load(open(doc))["projects"][p["id"]]
    assert again == first, (first, again)
    # another version: a new first-seen time
    fc.patch_gcp(w["key_name"], versions={"2": {"state": "ENABLED"}})
    fc.set_ear(p["id"], gcp_ear(w["key_name"] + "/cryptoKeyVersions/2"))
    d.start()
    wait_for(lambda: [r for r in fc.requests(path="/v1/" + w["key_name"] +
                                             "/cryptoKeyVersions/2")
                      if r["status"] == 200], timeout=20)
    assert d.stop() == 0
    last = json.load(open(doc))["projects"][p["id"]]
    assert last["version"].endswith("/cryptoKeyVersions/2")
    assert last["first_seen"] > first["first_seen"]
