#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Benchmark: what one poll cycle over N projects costs kmswatchd.

    /usr/bin/python3 tests/bench/poll_cycle.py [--projects 100] [--binary PATH]
        [--interval 20] [--cycles 3] [--latency 0.05]

Starts the fake cloud (HTTPS on loopback, each EAR answer delayed by
--latency seconds to stand in for a real network round trip) with N
projects, runs kmswatchd (service-account auth) on them, and reports for the
first cycle (cold: TLS handshakes, token) and each later cycle (warm:
connection reuse):
  wall   from the cycle's first request to its last answer (each project's
         round reads its EAR state, then its clusters)
  cpu    CPU time of kmswatchd from the end of the previous cycle to the
         end of this one (/proc/PID/task/*/schedstat)
  conns  distinct TCP connections the cycle's requests used
  reqs   Atlas requests in the cycle
and at the end the peak RSS (VmHWM) and the CPU spent while idle between
cycles (which should be ~0: only timers are armed).
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fakecloud"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))

from client import FakeCloud, azure_ear, wait_for  # noqa: E402
import kmsw  # noqa: E402

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU time of every thread of the process, in ns resolution
    (/proc/PID/task/*/schedstat; /proc/PID/stat counts 10 ms ticks)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
            total += int(f.read().split()[0])
    return total / 1e9


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=100)
    ap.add_argument("--binary", default=os.path.join(TOP, "build", "daemon", "kmswatchd"))
    ap.add_argument("--interval", type=int, default=20)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--max-concurrent", type=int, default=16)
    a = ap.parse_args()
    os.environ["KMSWATCHD"] = os.path.abspath(a.binary)

    groups = {kmsw.new_group_id(): azure_ear() for _ in range(a.projects)}
    fc = FakeCloud(config={"service_accounts": {kmsw.SA_ID: kmsw.SA_SECRET}, "groups": groups})
    d = None
    try:
        if a.latency > 0:
            fc.add_fault("/api/atlas/v2/groups/", hang=a.latency, count=-1)
        projects = [{"id": g, "name": "bench-%03d" % i} for i, g in enumerate(groups)]
        d = kmsw.Daemon(fc, projects, poll_interval="%ds" % a.interval,
                        extra="http:\n  max_concurrent: %d" % a.max_concurrent)
        fc.clear_requests()
        d.start()
        prev_cpu = 0.0
        print("kmswatchd %s, %d projects, max_concurrent %d, answer latency %.0f ms"
              % (a.binary, a.projects, a.max_concurrent, a.latency * 1000))
        print("%-6s %8s %8s %6s %5s" % ("cycle", "wall_ms", "cpu_ms", "conns", "reqs"))
        idle_cpu = []
        last_seq = 0
        for cycle in range(a.cycles):
            # a round is the EAR read, then the clusters read: the cycle is
            # complete when every project's clusters read was answered
            def done():
                reqs = [r for r in fc.requests(path="/api/atlas/v2/groups/")
                        if r["seq"] > last_seq]
                cl = [r for r in reqs if r["path"].endswith("/clusters")
                      and r.get("status") is not None]
                return len(cl) >= a.projects and reqs
            reqs = wait_for(done, timeout=a.interval * 3)
            last_seq = max(r["seq"] for r in reqs)
            wall = (max(r["time"] for r in reqs) - min(r["time"] for r in reqs)) + a.latency
            time.sleep(0.5)  # let the daemon finish processing the last answers
            cpu = cpu_seconds(d.pid)
            conns = len({r["conn_serial"] for r in reqs})
            print("%-6d %8.0f %8.0f %6d %5d" % (cycle + 1, wall * 1000, (cpu - prev_cpu) * 1000,
                                              conns, len(reqs)))
            # idle: from now until just before the next cycle
            if cycle + 1 < a.cycles:
                t0, c0 = time.monotonic(), cpu_seconds(d.pid)
                time.sleep(max(0.0, a.interval - wall - 2.0))
                idle_cpu.append((cpu_seconds(d.pid) - c0, time.monotonic() - t0))
            prev_cpu = cpu_seconds(d.pid)
        print("peak RSS (VmHWM): %d KiB" % status_kb(d.pid, "VmHWM"))
        for i, (c, t) in enumerate(idle_cpu):
            print("idle after cycle %d: %.2f ms CPU over %.1f s" % (i + 1, c * 1000, t))
        print("token requests: %d" % len(fc.requests(path="/api/oauth/token")))
        rc = d.stop()
        print("exit status: %d" % rc)
    finally:
        if d:
            d.kill()
        fc.stop()


if __name__ == "__main__":
    main()
