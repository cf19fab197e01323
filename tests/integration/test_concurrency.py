# SPDX-License-Identifier: ISC
"""One poll cycle over many projects runs concurrently on one curl multi
handle and reuses connections (the numbers are in tests/bench, not here)."""

import os
import socket
import subprocess

import pytest

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


@pytest.fixture
def h2_front(fc, tmp_path):
    """nghttpx (Debian's nghttp2-proxy) in front of the fake cloud: it offers
    h2 by ALPN, as Atlas's front ends do, and logs each request's protocol
    and client port (one port = one connection)."""
    port = kmsw.free_port()
    log = tmp_path / "access.log"
    proc = subprocess.Popen(
        ["nghttpx", "--conf=/dev/null", "--workers=1", "--no-ocsp",
         "--frontend=127.0.0.1,%d" % port,
         # the backend hop is loopback to the fake cloud's own test cert
         "--backend=127.0.0.1,%d;;tls" % fc.https_port, "--insecure",
         "--accesslog-file=%s" % log,
         "--accesslog-format=$alpn $remote_port $method $path $status",
         "--errorlog-file=%s" % (tmp_path / "error.log"),
         os.path.join(fc.dir, "server.key"), os.path.join(fc.dir, "server.pem")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def accepting():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return proc.poll() is not None
    wait_for(accepting, timeout=10)
    assert proc.poll() is None, (tmp_path / "error.log").read_text()

    def lines():
        return [l.split() for l in log.read_text().splitlines()] if log.exists() else []
    yield "https://127.0.0.1:%d" % port, lines
    proc.terminate()
    proc.wait(10)


def test_http2_when_offered_multiplexes_one_connection(fc, daemons, h2_front):
    url, access = h2_front
    ps = [project(fc) for _ in range(20)]
    d = daemons(fc, ps, poll_interval="2s", start=False)
    d.write_config(d.render_config().replace("base_url: %s" % fc.https_url,
                                             "base_url: %s" % url))
    d.start()

    def ear_lines():
        return [l for l in access() if "/encryptionAtRest" in l[3]]
    # two full cycles through the front end
    wait_for(lambda: len(ear_lines()) >= 2 * len(ps), timeout=30)
    assert d.stop() == 0
    lines = access()
    assert all(l[0] == "h2" for l in lines), lines
    assert all(l[4] == "200" for l in lines), lines
    # the token request and every project's poll, cycle after cycle, went
    # as streams of one connection
    assert len({l[1] for l in lines}) == 1, sorted({l[1] for l in lines})
    assert any("/api/oauth/token" in l[3] for l in lines)
