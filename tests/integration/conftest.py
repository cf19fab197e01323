"""Fixtures shared by the integration tests: a real journald, the fake
cloud, and a factory for kmswatchd processes that are always cleaned up."""

import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "fakecloud"))
sys.path.insert(0, HERE)

from client import FakeCloud, azure_ear, wait_for  # noqa: E402
import kmsw  # noqa: E402

JOURNAL_SOCKET = "/run/systemd/journal/socket"


@pytest.fixture(scope="session", autouse=True)
def journald():
    """journald must be real: start it by hand when none runs (CI)."""
    started = None
    if not os.path.exists(JOURNAL_SOCKET):
        if os.geteuid() != 0:
            pytest.exit("no journald running and not root to start one", 2)
        started = subprocess.Popen(["/lib/systemd/systemd-journald"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(JOURNAL_SOCKET), timeout=10)
    yield
    if started:
        started.terminate()
        started.wait(10)


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
