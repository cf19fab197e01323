#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Make sure a real journald is listening and that what is logged to it can
be read back, starting one by hand when none runs (CI, fresh machines).

A socket file alone proves nothing: when the journald that created
/run/systemd/journal/socket is killed (a session ending, a previous test run
terminating the journald it started), the file stays behind, sd_journal_send()
fails with ECONNREFUSED, and every entry is silently lost. So liveness is
tested by connecting to the socket, and the whole path by a round trip: a
probe entry with a unique field must come back from journalctl.

  /usr/bin/python3 tests/journald.py      # ensure; prints what it did
As a module: ensure() returns the Popen of a journald it started, or None.
"""

import errno
import json
import os
import socket
import subprocess
import sys
import time
import uuid

SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"


class JournalError(RuntimeError):
    pass


def listening(path=SOCKET):
    """True when a process is bound to the journal's datagram socket."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(path)
        return True
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ECONNREFUSED):
            return False
        raise
    finally:
        s.close()


def _send(fields):
    # The native protocol: one datagram of FIELD=value lines.
    payload = "".join("%s=%s\n" % kv for kv in fields.items()).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(payload, SOCKET)
    finally:
        s.close()


def round_trip(timeout=10.0):
    """Log a probe entry and wait until journalctl returns it."""
    token = uuid.uuid4().hex
    _send({"MESSAGE": "kmswatch test journal probe",
           "SYSLOG_IDENTIFIER": "kmswatch-probe", "KMSWATCH_PROBE": token})
    deadline = time.monotonic() + timeout
    while True:
        r = subprocess.run(["journalctl", "-o", "json", "--no-pager",
                            "KMSWATCH_PROBE=" + token],
                           capture_output=True, text=True, timeout=30)
        for line in r.stdout.splitlines():
            try:
                if json.loads(line).get("KMSWATCH_PROBE") == token:
                    return
            except ValueError:
                pass
        if time.monotonic() >= deadline:
            raise JournalError(
                "a probe entry sent to %s did not come back from journalctl "
                "within %.0fs (journalctl exit %d: %s); /etc/machine-id: %r"
                % (SOCKET, timeout, r.returncode, r.stderr.strip()[:300],
                   _machine_id()))
        time.sleep(0.1)


def _machine_id():
    try:
        with open("/etc/machine-id") as f:
            return f.read().strip()
    except OSError as e:
        return "unreadable (%s)" % e.strerror


def ensure():
    """Returns the journald process started here, or None if one already
    ran. Raises JournalError when no working journal can be had."""
    started = None
    if not listening():
        if os.geteuid() != 0:
            raise JournalError("no journald listens on %s and only root can "
                               "start one" % SOCKET)
        # journald unlinks a stale socket file itself before binding.
        started = subprocess.Popen([JOURNALD], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not listening():
            if started.poll() is not None:
                raise JournalError("%s exited with %d: %s" % (
                    JOURNALD, started.returncode,
                    started.stderr.read().decode(errors="replace")[:500]))
            if time.monotonic() >= deadline:
                started.kill()
                raise JournalError("%s did not bind %s within 10s"
                                   % (JOURNALD, SOCKET))
            time.sleep(0.05)
    round_trip()
    return started


def stop(proc):
    """Stop a journald started by ensure(). Its socket file stays behind;
    listening() tells that apart from a live one."""
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


if __name__ == "__main__":
    try:
        p = ensure()
    except JournalError as e:
        sys.exit("journald: %s" % e)
    print("journald: %s; a probe entry came back from journalctl"
          % ("started pid %d" % p.pid if p else "already running"))
