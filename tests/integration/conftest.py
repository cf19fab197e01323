# SPDX-License-Identifier: ISC
"""Fixtures shared by the integration tests: a real journald, the fake
cloud, and a factory for kmswatchd processes that are always cleaned up."""

import os
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fakecloud"))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from client import FakeCloud, azure_ear, wait_for  # noqa: E402
import kmsw  # noqa: E402
import journald as journal  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def journald():
    """journald must be real and working: start it by hand when none
    listens (CI), and prove entries come back before any test relies on it."""
    try:
        started = journal.ensure()
    except journal.JournalError as e:
        pytest.exit("journald: %s" % e, 2)
    yield
    journal.stop(started)


@pytest.fixture
def fc():
    cloud = FakeCloud(config={
        "service_accounts": {kmsw.SA_ID: kmsw.SA_SECRET},
        "apikeys": {kmsw.API_PUB: kmsw.API_PRIV},
    })
    yield cloud
    cloud.stop()


@pytest.fixture
def daemons():
    """Factory: daemons(fc, projects, ...) -> started Daemon; all are
    stopped (and their leaks checked) at the end of the test."""
    made = []

    def make(fc, projects, start=True, **kw):
        d = kmsw.Daemon(fc, projects, **kw)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in made:
        d.kill()


@pytest.fixture
def small_tmpfs():
    """A 64 KiB tmpfs, to fill up (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tempfile.mkdtemp(prefix="kmswatchd-full-")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        os.rmdir(mnt)
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.strip())
    yield mnt
    subprocess.run(["umount", "-l", mnt], capture_output=True)
    os.rmdir(mnt)
