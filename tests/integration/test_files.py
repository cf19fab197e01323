# SPDX-License-Identifier: ISC
"""The state and queue directories and the files in them, as an attacker
with a foothold (or a careless operator) would leave them: kmswatchd
refuses directories others could tamper with before it says READY, and a
FIFO or a symbolic link in place of a state or queue file neither hangs it
nor is followed."""

import os

from client import azure_ear, wait_for
import kmsw
from kmsw import project


def started(d):
    return d.entries(MESSAGE_ID=kmsw.MSGID["started"])


def test_world_writable_state_dir_is_refused(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], start=False)
    os.makedirs(d.state_dir, mode=0o700)
    os.chmod(d.state_dir, 0o777)
    d.start()
    assert d.proc.wait(10) == 1
    err = d.stderr_text()
    assert "cannot use state directory: %s is writable by everyone (mode 0777): chmod 0700 it" \
        % d.state_dir in err
    assert started(d) == []


def test_state_dir_symlink_not_roots_is_refused(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], start=False)
    real = os.path.join(d.dir, "real-state")
    os.mkdir(real, 0o700)
    os.symlink(real, d.state_dir)
    os.lchown(d.state_dir, 4242, 4242)
    d.start()
    assert d.proc.wait(10) == 1
    assert "is a symbolic link owned by uid 4242" in d.stderr_text()


def test_group_writable_queue_dir_is_refused(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], start=False,
                sinks=[{"name": "h", "url": fc.hook_url("q", https=False)}])
    os.makedirs(os.path.join(d.state_dir, "outbox"), mode=0o700)
    os.chmod(os.path.join(d.state_dir, "outbox"), 0o770)
    d.start()
    assert d.proc.wait(10) == 1
    assert "cannot use the delivery queue: %s/outbox is writable by its group" % d.state_dir \
        in d.stderr_text()
    assert started(d) == []


def test_fifo_and_symlink_state_files_do_not_hang(fc, daemons):
    """alerts.json as a FIFO nobody writes to, projects.json as a symbolic
    link to a file elsewhere: the daemon starts, says why it ignores each,
    and replaces them with real files on its next save."""
    p = project(fc, doc=azure_ear(valid=False))
    fc.set_service_accounts({kmsw.SA_ID: kmsw.SA_SECRET})
    d = daemons(fc, [p], start=False)
    os.makedirs(d.state_dir, mode=0o700)
    alerts = os.path.join(d.state_dir, "alerts.json")
    projects = os.path.join(d.state_dir, "projects.json")
    os.mkfifo(alerts, 0o600)
    elsewhere = os.path.join(d.dir, "planted.json")
    with open(elsewhere, "w") as f:
        f.write('{"version":1,"projects":{}}')
    os.symlink(elsewhere, projects)
    d.start()
    wait_for(lambda: started(d), timeout=10)
    text = d.stderr_text()
    assert "cannot read %s: not a regular file; starting with no open alerts" % alerts in text
    assert "cannot read %s: a symbolic link" % projects in text
    # the checks run and the state is saved over both
    wait_for(lambda: d.events(p["name"], KMSWATCH_CHECK="ear.valid"), timeout=15)
    assert d.stop() == 0
    assert os.path.isfile(alerts) and not os.path.islink(alerts)
    assert not os.path.islink(projects)
    with open(elsewhere) as f:
        assert f.read() == '{"version":1,"projects":{}}'   # never written through
