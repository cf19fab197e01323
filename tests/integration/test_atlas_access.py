# SPDX-License-Identifier: ISC
"""What kmswatchd does when it cannot read Atlas: atlas.access says so
(unknown, never a silent ok) with Atlas's own error code, and recovers."""

import time

import pytest

from client import azure_ear, wait_for
import kmsw
from kmsw import project

EAR = "/api/atlas/v2/groups/%s/encryptionAtRest"


def access_alert(d, p):
    return d.events(p["name"], KMSWATCH_CHECK="atlas.access", KMSWATCH_EVENT="firing")


def test_unknown_project_reports_group_not_found(fc, daemons):
    p = {"id": kmsw.new_group_id(), "name": "p-missing-" + kmsw.new_group_id()[:6]}
    d = daemons(fc, [p])
    e = wait_for(lambda: access_alert(d, p), timeout=15)[0]
    assert e["KMSWATCH_SEVERITY"] == "unknown" and e["PRIORITY"] == "3"
    assert "GROUP_NOT_FOUND" in e["MESSAGE"]
    assert e["MESSAGE_ID"] == kmsw.CHECK_MSGID["atlas.access"]
    # the project appears: resolved
    fc.set_ear(p["id"], azure_ear())
    wait_for(lambda: d.events(p["name"], KMSWATCH_EVENT="resolved"), timeout=15)
    assert d.stop() == 0


def test_forbidden_and_bad_credentials(fc, daemons):
    p = project(fc)
    fc.forbid(p["id"])
    d = daemons(fc, [p])
    e = wait_for(lambda: access_alert(d, p), timeout=15)[0]
    assert "403" in e["MESSAGE"]
    assert d.stop() == 0

    q = project(fc)
    fc.set_service_accounts({kmsw.SA_ID: "some-other-secret"})
    d2 = daemons(fc, [q])
    e = wait_for(lambda: access_alert(d2, q), timeout=15)[0]
    assert "401" in e["MESSAGE"] or "invalid_client" in e["MESSAGE"]
    assert d2.stop() == 0


def test_malformed_answer(fc, daemons):
    p = project(fc)
    fc.add_fault(EAR % p["id"], status=200, body='{"azureKeyVault": {"valid": tru', count=-1)
    d = daemons(fc, [p])
    e = wait_for(lambda: access_alert(d, p), timeout=15)[0]
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert "JSON" in e["MESSAGE"] or "parse" in e["MESSAGE"] or "malformed" in e["MESSAGE"]
    fc.clear_faults()
    wait_for(lambda: d.events(p["name"], KMSWATCH_EVENT="resolved"), timeout=15)
    assert d.stop() == 0


def test_huge_answer_is_capped(fc, daemons):
    p = project(fc)
    fc.add_fault(EAR % p["id"], status=200, body="[" * 10 + " " * (6 * 1024 * 1024), count=-1)
    d = daemons(fc, [p])
    e = wait_for(lambda: access_alert(d, p), timeout=20)[0]
    assert "larger than" in e["MESSAGE"] or "too large" in e["MESSAGE"]
    assert d.stop() == 0


def test_rate_limit_honours_retry_after(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    fc.add_fault(EAR % p["id"], status=429, headers={"Retry-After": "2"},
                 body='{"error":429,"errorCode":"RATE_LIMITED","detail":"slow down"}', count=1)
    d = daemons(fc, [p], poll_interval="1h")
    wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.valid"), timeout=20)
    reqs = d.ear_requests(p["id"])
    assert len(reqs) == 2
    assert reqs[1]["time"] - reqs[0]["time"] >= 1.9, "Retry-After: 2 not honoured"
    # a retried 429 is not an alert
    assert access_alert(d, p) == []
    assert d.stop() == 0


def test_persistent_server_errors_become_unknown(fc, daemons):
    p = project(fc)
    fc.add_fault(EAR % p["id"], status=503, headers={"Retry-After": "1"}, count=-1,
                 body='{"error":503,"errorCode":"SERVICE_UNAVAILABLE","detail":"maintenance"}')
    d = daemons(fc, [p], poll_interval="1h")
    e = wait_for(lambda: access_alert(d, p), timeout=30)[0]
    assert "503" in e["MESSAGE"] and "SERVICE_UNAVAILABLE" in e["MESSAGE"]
    assert len(d.ear_requests(p["id"])) == 4  # first try + 3 retries
    assert d.stop() == 0


def test_untrusted_certificate_is_refused(fc, daemons):
    p = project(fc)
    fc.set_tls("untrusted")
    d = daemons(fc, [p])
    e = wait_for(lambda: access_alert(d, p), timeout=30)[0]
    assert "certificate" in e["MESSAGE"].lower() or "SSL" in e["MESSAGE"]
    assert d.ear_requests(p["id"]) == [], "a request went out over untrusted TLS"
    assert d.stop() == 0


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_api_key(fc, daemons, algorithm):
    fc.set_digest_algorithm(algorithm)
    p = project(fc, doc=azure_ear(valid=False))
    d = daemons(fc, [p], auth="api_key")
    wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.valid"), timeout=15)
    reqs = d.ear_requests(p["id"])
    assert any(r.get("status") == 200 for r in reqs)
    assert d.stop() == 0


def test_service_account_token_cached_and_renewed(fc, daemons):
    ps = [project(fc) for _ in range(3)]
    d = daemons(fc, ps)
    for p in ps:
        wait_for(lambda: len(d.ear_requests(p["id"])) >= 3, timeout=15)
    tokens = fc.requests(path="/api/oauth/token")
    assert len(tokens) == 1, "token not shared/cached: %d token requests" % len(tokens)
    fc.revoke_tokens()
    n = len(d.ear_requests(ps[0]["id"]))
    wait_for(lambda: len(d.ear_requests(ps[0]["id"])) >= n + 3, timeout=15)
    assert len(fc.requests(path="/api/oauth/token")) == 2
    for p in ps:
        assert access_alert(d, p) == [], "a revoked token caused an alert"
    assert d.stop() == 0
