# SPDX-License-Identifier: ISC
"""ear.private_endpoint against the fake cloud: with requirePrivateNetworking
Atlas reaches the key only through the project's EAR private endpoints;
kmswatchd reads them (all pages) and says which one is missing, failed or
waits for approval, in the real journald; without the Project Owner role it
says it cannot know, and never reads them when private networking is off."""

import json
import subprocess

from client import azure_ear, wait_for
import kmsw
from kmsw import project

PE = "/api/atlas/v2/groups/%s/encryptionAtRest/%s/privateEndpoints"


def pe(n, status, region, error=None, provider="AZURE"):
    return {"id": "66c0d1e2f3a4b5c6d7e8f9%02d" % n, "cloudProvider": provider,
            "regionName": region, "status": status, "errorMessage": error,
            "privateEndpointConnectionName": "contoso-kv.pe-atlas-%d" % n}


def events(d, p, event="firing", **match):
    return d.events(p["name"], KMSWATCH_CHECK="ear.private_endpoint", KMSWATCH_EVENT=event,
                    **match)


def test_states_end_to_end(fc, daemons):
    p = project(fc, doc=azure_ear(requirePrivateNetworking=True))
    fc.set_ear_private_endpoints(p["id"], "AZURE", [
        pe(1, "ACTIVE", "US_EAST_2"),
        pe(2, "PENDING_ACCEPTANCE", "EUROPE_WEST"),
        pe(3, "FAILED", "ASIA_EAST", error="The subnet has no free addresses."),
    ])
    d = daemons(fc, [p])
    failed = wait_for(lambda: events(d, p, KMSWATCH_SUBJECT="ASIA_EAST"), timeout=20)[0]
    assert failed["KMSWATCH_SEVERITY"] == "critical"
    assert "FAILED (The subnet has no free addresses.)" in failed["MESSAGE"]
    assert failed["MESSAGE_ID"] == kmsw.MSGID["ear_private_endpoint"]
    waiting = wait_for(lambda: events(d, p, KMSWATCH_SUBJECT="EUROPE_WEST"), timeout=20)[0]
    assert waiting["KMSWATCH_SEVERITY"] == "warning"
    assert "waits for approval (PENDING_ACCEPTANCE)" in waiting["MESSAGE"]
    assert "contoso-kv.pe-atlas-2" in waiting["MESSAGE"]
    assert events(d, p, KMSWATCH_SUBJECT="US_EAST_2") == []

    # approved and recreated: both resolve
    fc.set_ear_private_endpoints(p["id"], "AZURE", [
        pe(1, "ACTIVE", "US_EAST_2"), pe(2, "ACTIVE", "EUROPE_WEST"),
        pe(3, "ACTIVE", "ASIA_EAST")])
    wait_for(lambda: len(events(d, p, event="resolved")) >= 2, timeout=20)
    assert d.stop() == 0


def test_every_page_is_read_and_none_active_is_critical(fc, daemons):
    """150 endpoints (two pages of 100), none ACTIVE: waiting ones are
    critical, since Atlas reaches the key through none of them."""
    p = project(fc, doc=azure_ear(requirePrivateNetworking=True))
    eps = [pe(i % 100, "INITIATING", "REGION_%03d" % i) for i in range(150)]
    fc.set_ear_private_endpoints(p["id"], "AZURE", eps)
    d = daemons(fc, [p])
    wait_for(lambda: len(events(d, p)) >= 150, timeout=30)
    last = events(d, p, KMSWATCH_SUBJECT="REGION_149")
    assert last and last[0]["KMSWATCH_SEVERITY"] == "critical", last
    assert "no endpoint is ACTIVE" in last[0]["MESSAGE"]
    pages = fc.requests(path=PE % (p["id"], "AZURE"))
    assert any("pageNum=2" in json.dumps(r) for r in pages), pages[:3]
    assert d.stop() == 0


def test_none_listed_is_critical(fc, daemons):
    p = project(fc, doc=azure_ear(requirePrivateNetworking=True))
    d = daemons(fc, [p])
    e = wait_for(lambda: events(d, p), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_SUBJECT"] == "azure"
    assert "lists no private endpoint" in e["MESSAGE"]
    assert d.stop() == 0


def test_without_project_owner_it_says_it_cannot_know(fc, daemons):
    p = project(fc, doc=azure_ear(requirePrivateNetworking=True))
    fc.set_project_owner(p["id"], False)
    d = daemons(fc, [p])
    e = wait_for(lambda: events(d, p), timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert "needs the Project Owner role" in e["MESSAGE"]
    # the EAR itself was read fine: atlas.access is not blind
    assert d.events(p["name"], KMSWATCH_CHECK="atlas.access", KMSWATCH_EVENT="firing") == []
    assert d.stop() == 0


def test_not_read_without_private_networking(fc, daemons):
    p = project(fc)   # requirePrivateNetworking false
    d = daemons(fc, [p])
    wait_for(lambda: fc.requests(path="/api/atlas/v2/groups/%s/clusters" % p["id"]),
             timeout=20)
    wait_for(lambda: len(fc.requests(path="/api/atlas/v2/groups/%s/encryptionAtRest"
                                     % p["id"])) >= 2, timeout=20)
    assert fc.requests(path=PE % (p["id"], "AZURE")) == []
    assert events(d, p) == []
    assert d.stop() == 0


def test_once_json_shows_them(fc, daemons):
    p = project(fc, doc=azure_ear(requirePrivateNetworking=True))
    fc.set_ear_private_endpoints(p["id"], "AZURE", [pe(2, "PENDING_RECREATION", "EUROPE_WEST")])
    d = daemons(fc, [p], start=False)
    r = subprocess.run([kmsw.kmswatchd_path(), "--once", "--format", "json", "-c", d.config],
                       capture_output=True, text=True, timeout=60)
    rows = [x for x in json.loads(r.stdout) if x["check"] == "ear.private_endpoint"]
    assert len(rows) == 1, r.stdout
    assert rows[0]["severity"] == "critical" and rows[0]["subject"] == "EUROPE_WEST"
    assert "PENDING_RECREATION" in rows[0]["summary"]
    assert r.returncode == 2, (r.returncode, r.stdout)   # critical: none is ACTIVE
