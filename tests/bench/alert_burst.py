#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Benchmark: an alert storm. N projects go critical in the same poll
cycle (as when a shared Key Vault or Atlas credential breaks) and every
event goes to S webhook sinks through the durable outbox.

    /usr/bin/python3 tests/bench/alert_burst.py [--projects 100] [--sinks 2]
        [--binary PATH] [--strace]

Reports:
  journal   first to last FIRING journal entry (the polls of one cycle)
  sink i    first and last delivery received, seconds after the first
            FIRING entry, and the connections the deliveries used
  cpu       CPU time of kmswatchd from the flip to the last delivery
  fsync     with --strace: fsync/fdatasync calls and their total time
            (strace slows the daemon down; the other numbers are then
            not representative)
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "fakecloud"))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, HERE)

from client import FakeCloud, azure_ear, wait_for  # noqa: E402
import kmsw  # noqa: E402
from poll_cycle import cpu_seconds  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--projects", type=int, default=100)
    ap.add_argument("--sinks", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(TOP, "build", "daemon", "kmswatchd"))
    ap.add_argument("--strace", action="store_true")
    a = ap.parse_args()
    os.environ["KMSWATCHD"] = os.path.abspath(a.binary)

    groups = {kmsw.new_group_id(): azure_ear() for _ in range(a.projects)}
    fc = FakeCloud(config={"service_accounts": {kmsw.SA_ID: kmsw.SA_SECRET}, "groups": groups})
    projects = [{"id": g, "name": "burst-%s-%03d" % (g[-4:], i)}
                for i, g in enumerate(groups)]
    sinks = [{"name": "s%d" % i, "url": fc.hook_url("b%d" % i, https=False)}
             for i in range(a.sinks)]
    d = kmsw.Daemon(fc, projects, poll_interval="3s", sinks=sinks)
    st = None
    trace = os.path.join(d.dir, "strace.out")
    try:
        d.start()
        wait_for(lambda: all(d.ear_requests(p["id"]) for p in projects), timeout=60)
        time.sleep(1)
        if a.strace:
            st = subprocess.Popen(["strace", "-f", "-T", "-e", "trace=fsync,fdatasync",
                                   "-p", str(d.pid), "-o", trace])
            time.sleep(1)
        c0 = cpu_seconds(d.pid)
        for g in groups:
            fc.set_ear(g, azure_ear(valid=False))
        wait_for(lambda: all(len(fc.hooks("b%d" % i)) >= a.projects for i in range(a.sinks)),
                 timeout=300)
        cpu = cpu_seconds(d.pid) - c0
        if st:
            st.terminate()
            st.wait()
        fired = sorted(int(e["__REALTIME_TIMESTAMP"]) / 1e6
                       for e in kmsw.journal(_PID=str(d.pid), KMSWATCH_EVENT="firing"))
        print("kmswatchd %s, %d projects, %d webhook sinks" % (a.binary, a.projects, a.sinks))
        print("journal: %d FIRING entries within %.2f s" % (len(fired), fired[-1] - fired[0]))
        for i in range(a.sinks):
            hs = fc.hooks("b%d" % i)
            t = sorted(h["time"] for h in hs)
            print("sink %d: %d deliveries, first %.2f s, last %.2f s after the first entry, "
                  "%d connection(s)" % (i, len(hs), t[0] - fired[0], t[-1] - fired[0],
                                        len({h["conn"] for h in hs})))
        print("cpu: %.0f ms from the flip to the last delivery" % (cpu * 1000))
        if st:
            n, total = 0, 0.0
            with open(trace) as f:
                for line in f:
                    synced = "fsync(" in line or "fdatasync(" in line
                    if synced and line.rstrip().endswith(">"):
                        n += 1
                        total += float(line.rsplit("<", 1)[1].rstrip(">\n"))
            print("fsync: %d calls, %.1f ms in all (under strace)" % (n, total * 1000))
        print("exit status: %s" % d.stop())
    finally:
        if st and st.poll() is None:
            st.kill()
        d.kill()
        fc.stop()


if __name__ == "__main__":
    main()
