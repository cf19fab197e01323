# SPDX-License-Identifier: ISC
"""atlas.events against the fake cloud: Atlas's own verdicts on the project's
encryption at rest (network access denied, configuration or key invalid, key
due for rotation) are quoted with their time in the real journald, resolve
when Atlas records the recovery, and are read every events_interval, not at
every poll."""

import time

from client import azure_ear, wait_for
import kmsw
from kmsw import project

EVENTS = "/api/atlas/v2/groups/%s/events"


def firing(d, p, **match):
    return d.events(p["name"], KMSWATCH_CHECK="atlas.events", KMSWATCH_EVENT="firing", **match)


def test_verdicts_quoted_and_taken_back(fc, daemons):
    p = project(fc)
    now = int(time.time())
    fc.set_events(p["id"], [
        {"eventTypeName": "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED", "created": now - 1800},
        {"eventTypeName": "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION", "created": now - 86400},
        {"eventTypeName": "AWS_ENCRYPTION_KEY_INVALID", "created": now - 600},  # not Azure's
        {"eventTypeName": "CLUSTER_CREATED", "created": now - 60},
    ])
    d = daemons(fc, [p], extra="events_interval: 1s\n")
    net = wait_for(lambda: firing(d, p, KMSWATCH_SUBJECT="kms-network"), timeout=20)[0]
    assert net["KMSWATCH_SEVERITY"] == "critical"
    assert "Atlas raised ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED at " in net["MESSAGE"]
    assert "(30 min ago)" in net["MESSAGE"] or "(29 min ago)" in net["MESSAGE"], net["MESSAGE"]
    assert net["MESSAGE_ID"] == kmsw.MSGID["atlas_events"]
    rot = wait_for(lambda: firing(d, p, KMSWATCH_SUBJECT="rotation"), timeout=20)[0]
    assert rot["KMSWATCH_SEVERITY"] == "warning"
    assert firing(d, p, KMSWATCH_SUBJECT="key") == []
    # what kmswatch asked for: the EAR verdicts since a week ago
    req = fc.requests(path=EVENTS % p["id"])[0]
    assert "eventType=ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED" in req["path"] + \
        str(req.get("query", "")), req

    # Atlas reaches the vault again
    fc.set_events(p["id"], [
        {"eventTypeName": "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED", "created": now - 1800},
        {"eventTypeName": "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_RESTORED", "created": now - 5},
        {"eventTypeName": "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION", "created": now - 86400},
    ])
    r = wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="atlas.events",
                                  KMSWATCH_EVENT="resolved", KMSWATCH_SUBJECT="kms-network"),
                 timeout=20)[0]
    assert r["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert d.stop() == 0


def test_read_every_events_interval_not_every_poll(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], extra="events_interval: 1h\n")
    ear = "/api/atlas/v2/groups/%s/encryptionAtRest" % p["id"]
    wait_for(lambda: len(fc.requests(path=ear)) >= 3, timeout=30)
    assert len(fc.requests(path=EVENTS % p["id"])) == 1
    assert d.stop() == 0


def test_unreadable_events_keep_the_alert(fc, daemons):
    """A failed events read is no verdict: the firing alert stays, nothing
    resolves, and atlas.access (the EAR read) stays quiet."""
    p = project(fc)
    now = int(time.time())
    fc.set_events(p["id"], [
        {"eventTypeName": "ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID", "created": now - 120}])
    d = daemons(fc, [p], extra="events_interval: 1s\n")
    wait_for(lambda: firing(d, p, KMSWATCH_SUBJECT="config"), timeout=20)
    fc.add_fault(EVENTS % p["id"], status=500, count=1000)
    n = len(fc.requests(path=EVENTS % p["id"]))
    wait_for(lambda: len(fc.requests(path=EVENTS % p["id"])) >= n + 3, timeout=30)
    assert d.events(p["name"], KMSWATCH_CHECK="atlas.events", KMSWATCH_EVENT="resolved") == []
    assert d.events(p["name"], KMSWATCH_CHECK="atlas.access", KMSWATCH_EVENT="firing") == []
    assert d.stop() == 0
