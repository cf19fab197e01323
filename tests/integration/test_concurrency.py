"""One poll cycle over many projects runs concurrently on one curl multi
handle and reuses connections (the numbers are in tests/bench, not here)."""

from client import wait_for
import kmsw
from kmsw import project

EAR = "/api/atlas/v2/groups/%s/encryptionAtRest"


def test_cycle_is_concurrent_and_reuses_connections(fc, daemons):
    ps = [project(fc) for _ in range(20)]
    for p in ps:
        # every answer takes 1 s: sequential polling would need 20 s
        fc.add_fault(EAR % p["id"], hang=1.0, count=-1)
    d = daemons(fc, ps, poll_interval="3s", extra="http:\n  max_concurrent: 8")
    first = []
    for p in ps:
        first.append(wait_for(lambda: d.ear_requests(p["id"]), timeout=30)[0])
    starts = sorted(r["time"] for r in first)
    # 20 requests, 8 at a time, 1 s each: about 3 s, not 20
    assert starts[-1] - starts[0] < 4.5, starts
    in_first_second = [t for t in starts if t - starts[0] < 0.5]
    assert len(in_first_second) == 8, "not 8 concurrent transfers: %r" % starts
    # second cycle: connections are reused, never more than 8 at once
    for p in ps:
        wait_for(lambda: len([r for r in d.ear_requests(p["id"]) if r.get("status")]) >= 2,
                 timeout=30)
    conns = {r["conn_serial"] for p in ps for r in d.ear_requests(p["id"])}
    assert len(conns) <= 8, "connections not reused: %d" % len(conns)
    assert d.stop() == 0
