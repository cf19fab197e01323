# SPDX-License-Identifier: ISC
"""The main job end to end: EAR state in the fake Atlas -> alerts in the real
journald and on a webhook, exactly once per change, surviving restarts."""

import base64
import hashlib
import hmac
import json
import time

from client import azure_ear, wait_for
import kmsw
from kmsw import project


def firing(d, name, check):
    return d.events(name, KMSWATCH_CHECK=check, KMSWATCH_EVENT="firing")


def test_valid_to_invalid_fires_once_and_resolves(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], sinks=[{"name": "hook", "url": fc.hook_url("t1", https=False)}])
    # a few healthy polls: nothing to say
    wait_for(lambda: len(d.ear_requests(p["id"])) >= 2, timeout=15)
    assert d.events(p["name"]) == []
    assert fc.hooks("t1") == []

    fc.set_ear(p["id"], azure_ear(valid=False))
    e = wait_for(lambda: firing(d, p["name"], "ear.valid"), timeout=15)
    assert len(e) == 1
    e = e[0]
    assert e["MESSAGE_ID"] == kmsw.CHECK_MSGID["ear.valid"]
    assert e["PRIORITY"] == "2"
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_PREVIOUS_SEVERITY"] == "ok"
    assert e["KMSWATCH_PROJECT_ID"] == p["id"]
    assert e["KMSWATCH_PROVIDER"] == "azure"
    assert e["SYSLOG_IDENTIFIER"] == "kmswatchd"
    assert len(e["KMSWATCH_ALERT_ID"]) == 32
    assert p["name"] in e["MESSAGE"] and "ear.valid" in e["MESSAGE"]

    hooks = wait_for(lambda: fc.hook_bodies("t1"), timeout=10)
    assert len(hooks) == 1
    h = hooks[0]
    assert h["event"] == "firing" and h["severity"] == "critical"
    assert h["check"] == "ear.valid" and h["alert_id"] == e["KMSWATCH_ALERT_ID"]
    assert h["project"] == {"id": p["id"], "name": p["name"]}
    assert h["provider"] == "azure" and h["version"] == 1

    # more polls of the same state: no repeats
    n = len(d.ear_requests(p["id"]))
    wait_for(lambda: len(d.ear_requests(p["id"])) >= n + 3, timeout=15)
    assert len(firing(d, p["name"], "ear.valid")) == 1
    assert len(fc.hooks("t1")) == 1

    fc.set_ear(p["id"], azure_ear(valid=True))
    r = wait_for(lambda: d.events(p["name"], KMSWATCH_EVENT="resolved"), timeout=15)
    assert len(r) == 1
    assert r[0]["KMSWATCH_CHECK"] == "ear.valid"
    assert r[0]["PRIORITY"] == "5"
    assert r[0]["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert r[0]["KMSWATCH_ALERT_ID"] == e["KMSWATCH_ALERT_ID"]
    hooks = wait_for(lambda: len(fc.hooks("t1")) >= 2 and fc.hook_bodies("t1"), timeout=10)
    assert [h["event"] for h in hooks] == ["firing", "resolved"]
    assert d.stop() == 0


def test_expect_provider_and_config_change(fc, daemons):
    p = project(fc, expect_provider="azure")
    d = daemons(fc, [p])
    wait_for(lambda: len(d.ear_requests(p["id"])) >= 1, timeout=15)
    # the key is rotated in Atlas: one info event naming the change
    fc.set_ear(p["id"], azure_ear(key_version="aa" * 16))
    info = wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.config"), timeout=15)
    assert len(info) == 1
    assert info[0]["KMSWATCH_EVENT"] == "info" and info[0]["PRIORITY"] == "6"
    assert "aa" * 16 in info[0]["MESSAGE"] and "0f1e2d3c4b5a69788796a5b4c3d2e1f0" in info[0]["MESSAGE"]
    # Azure switched off while the project expects it
    fc.set_ear(p["id"], azure_ear(enabled=False, key_version="aa" * 16))
    e = wait_for(lambda: firing(d, p["name"], "ear.enabled"), timeout=15)
    assert e[0]["KMSWATCH_SEVERITY"] == "critical"
    assert d.stop() == 0


def test_restart_does_not_reannounce(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [p])
    wait_for(lambda: firing(d, p["name"], "ear.valid"), timeout=15)
    assert d.stop() == 0

    d2 = daemons(fc, [p], state_dir=d.state_dir)
    n = len(d2.ear_requests(p["id"]))
    wait_for(lambda: len(d2.ear_requests(p["id"])) >= n + 3, timeout=15)
    assert len(firing(d2, p["name"], "ear.valid")) == 1, "restart re-announced the alert"
    # it still knows the alert: the fix resolves it
    fc.set_ear(p["id"], azure_ear(valid=True))
    r = wait_for(lambda: d2.events(p["name"], KMSWATCH_EVENT="resolved"), timeout=15)
    assert r[0]["_PID"] == str(d2.pid)
    assert d2.stop() == 0


def test_signed_webhook_verifies(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [p], sinks=[{"name": "siem", "url": fc.hook_url("signed", https=False),
                                 "signed": True}])
    got = wait_for(lambda: fc.hooks("signed"), timeout=15)[0]
    hdr = got["headers"]
    msg_id, ts, sig = hdr["webhook-id"], hdr["webhook-timestamp"], hdr["webhook-signature"]
    assert abs(int(ts) - time.time()) < 60
    key = base64.b64decode(kmsw.HOOK_SECRET[len("whsec_"):])
    want = base64.b64encode(hmac.new(key, ("%s.%s.%s" % (msg_id, ts, got["body"])).encode(),
                                     hashlib.sha256).digest()).decode()
    assert sig.split(" ")[0] == "v1," + want
    assert hdr["content-type"] == "application/json"
    body = json.loads(got["body"])
    assert body["event"] == "firing" and body["check"] == "ear.valid"
    assert d.stop() == 0


def test_webhook_retries_keep_delivery_id(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    fc.hook_responses("flaky", [{"status": 500}, {"status": 429, "headers": {"Retry-After": "1"}}])
    d = daemons(fc, [p], sinks=[{"name": "flaky", "url": fc.hook_url("flaky", https=False)}])
    got = wait_for(lambda: len(fc.hooks("flaky")) >= 3 and fc.hooks("flaky"), timeout=30)
    ids = {g["headers"]["webhook-id"] for g in got}
    assert len(ids) == 1, "webhook-id changed across retries"
    # Retry-After: 1 was honoured
    assert got[2]["time"] - got[1]["time"] >= 0.9
    time.sleep(2)
    assert len(fc.hooks("flaky")) == 3
    assert d.stop() == 0


def test_permanent_webhook_failure_is_journaled(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    fc.hook_responses("gone", [{"status": 400}])
    d = daemons(fc, [p], sinks=[{"name": "gone", "url": fc.hook_url("gone", https=False)}])
    e = wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["delivery_failed"]), timeout=15)
    assert "gone" in e[0]["MESSAGE"] and "400" in e[0]["MESSAGE"]
    time.sleep(1.5)
    assert len(fc.hooks("gone")) == 1, "a permanent 400 was retried"
    assert d.stop() == 0


def test_silence_holds_back_then_sends(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    silence = ("silences:\n  - project: %s\n    check: ear.valid\n"
               "    until: 2099-01-01T00:00:00Z\n    comment: CHG-1234 key swap" % p["name"])
    d = daemons(fc, [p], extra=silence,
                sinks=[{"name": "h", "url": fc.hook_url("sil", https=False)}])
    e = wait_for(lambda: firing(d, p["name"], "ear.valid"), timeout=15)[0]
    assert "CHG-1234" in e["KMSWATCH_HELD"] and "2099-01-01" in e["KMSWATCH_HELD"]
    assert "silenced" in e["MESSAGE"]
    n = len(d.ear_requests(p["id"]))
    wait_for(lambda: len(d.ear_requests(p["id"])) >= n + 2, timeout=10)
    assert fc.hooks("sil") == [], "a silenced alert was sent"
    # the silence is lifted: the alert, still firing, is sent now
    d.extra = ""
    d.write_config()
    d.reload()
    hook = wait_for(lambda: fc.hook_bodies("sil"), timeout=15)
    assert hook[0]["check"] == "ear.valid" and hook[0]["event"] == "firing"
    assert d.stop() == 0


def test_cluster_not_encrypted_with_the_customer_key(fc, daemons):
    p = project(fc)
    fc.set_clusters(p["id"], [
        {"name": "prod-east", "encryptionAtRestProvider": "AZURE", "stateName": "IDLE",
         "paused": False},
        {"name": "analytics", "encryptionAtRestProvider": "NONE", "stateName": "IDLE",
         "paused": False}])
    d = daemons(fc, [p])
    e = wait_for(lambda: firing(d, p["name"], "ear.clusters"), timeout=15)
    assert len(e) == 1
    assert e[0]["KMSWATCH_SUBJECT"] == "analytics"
    assert e[0]["KMSWATCH_SEVERITY"] == "warning"
    fc.set_clusters(p["id"], [
        {"name": "prod-east", "encryptionAtRestProvider": "AZURE", "stateName": "IDLE"},
        {"name": "analytics", "encryptionAtRestProvider": "AZURE", "stateName": "IDLE"}])
    wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.clusters",
                              KMSWATCH_EVENT="resolved"), timeout=15)
    assert d.stop() == 0


def test_role_missing_from_cloud_provider_access(fc, daemons):
    p = project(fc, doc=azure_ear(clientID=None))
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [], "gcpServiceAccounts": [],
                                           "azureServicePrincipals": []})
    d = daemons(fc, [p])
    e = wait_for(lambda: firing(d, p["name"], "ear.role"), timeout=15)[0]
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_SUBJECT"] == "65a1b2c3d4e5f60718293a4b"
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [], "gcpServiceAccounts": [],
                                           "azureServicePrincipals": [{
        "_id": "65a1b2c3d4e5f60718293a4b", "providerName": "AZURE",
        "atlasAzureAppId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
        "servicePrincipalId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        "tenantId": "99999999-8888-4777-8666-555555555555",
        "featureUsages": [{"featureType": "ENCRYPTION_AT_REST", "featureId": None}]}]})
    wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.role",
                              KMSWATCH_EVENT="resolved"), timeout=15)
    assert d.stop() == 0
