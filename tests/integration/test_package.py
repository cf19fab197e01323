# SPDX-License-Identifier: ISC
"""The Debian package under a real systemd 252 booted as PID 1 in a namespace.

dpkg runs inside the namespace of systemd_pid1 with private overlays on
/etc, /var and /usr (nothing reaches the host's package database or files)
and a private, empty /lib/systemd/system, so the only units systemd can load
are the harness's stubs and what the package installs.

    KMSWATCH_DEB=path/to/kmswatch_VERSION_ARCH.deb \\
        /usr/bin/python3 -m pytest tests/integration/test_package.py

tests/package/build-deb.sh builds that .deb (tests/run-suite.sh does both).
The upgrade is to the same package repacked with a higher version and a
changed conffile, as a real upgrade would ship.
"""

import os
import re
import shutil
import subprocess
import tempfile

import pytest

import kmsw
import systemd_pid1
from systemd_pid1 import SystemdPID1

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
DEB = os.environ.get("KMSWATCH_DEB")
UNIT = "kmswatch.service"
CONF = "/etc/kmswatch/kmswatch.yaml"
CA = "/etc/ssl/kmswatch-test-ca.pem"     # the operator's file, not the package's

_why = systemd_pid1.missing_requirement()
pytestmark = [
    pytest.mark.skipif(_why is not None, reason="systemd-as-PID1 harness: %s" % _why),
    pytest.mark.skipif(not DEB, reason="KMSWATCH_DEB (the .deb to test) is not set"),
]


def msgid(name):
    with open(os.path.join(TOP, "lib", "msgid.h")) as f:
        return re.search(r'#define\s+MSGID_%s\s+"([0-9a-f]{32})"' % name, f.read()).group(1)


def deb_field(deb, field):
    return subprocess.run(["dpkg-deb", "-f", deb, field], check=True, capture_output=True,
                          text=True).stdout.strip()


def deb_files(deb):
    """Paths of the regular files and symlinks the package ships."""
    out = subprocess.run(["dpkg-deb", "-c", deb], check=True, capture_output=True,
                         text=True).stdout
    files = []
    for line in out.splitlines():
        if line.startswith("d"):
            continue
        path = line.split(None, 5)[5].split(" -> ")[0]
        files.append(path[1:])          # "./usr/sbin/kmswatchd" -> "/usr/sbin/..."
    return files


@pytest.fixture(scope="module")
def debs():
    """(v1, v2): the package under test, and it repacked as a later version
    whose conffile changed (one more comment line)."""
    assert os.path.isfile(DEB), "KMSWATCH_DEB=%s does not exist" % DEB
    work = tempfile.mkdtemp(prefix="kmswatch-deb-")
    try:
        root = os.path.join(work, "root")
        subprocess.run(["dpkg-deb", "-R", DEB, root], check=True)
        v1 = deb_field(DEB, "Version")
        v2 = v1 + "+test2"
        ctl = os.path.join(root, "DEBIAN", "control")
        with open(ctl) as f:
            text = f.read()
        with open(ctl, "w") as f:
            f.write(re.sub(r"(?m)^Version: .*$", "Version: " + v2, text))
        conf = os.path.join(root, CONF.lstrip("/"))
        with open(conf, "a") as f:
            f.write("# (the example of %s)\n" % v2)
        md5 = subprocess.run(["md5sum", CONF.lstrip("/")], cwd=root, check=True,
                             capture_output=True, text=True).stdout
        sums = os.path.join(root, "DEBIAN", "md5sums")
        with open(sums) as f:
            lines = [ln for ln in f if not ln.rstrip().endswith(CONF.lstrip("/"))]
        with open(sums, "w") as f:
            f.writelines(lines + [md5])
        deb2 = os.path.join(work, "kmswatch_%s.deb" % v2)
        subprocess.run(["dpkg-deb", "--root-owner-group", "-b", root, deb2], check=True,
                       capture_output=True)
        os.chmod(work, 0o755)
        yield DEB, deb2, v1, v2
    finally:
        shutil.rmtree(work, ignore_errors=True)


def boot():
    # the namespace sees the host's files read-only: the .debs need no copy
    return SystemdPID1({}, journald=True, overlays=["usr"], writable_units=True,
                       unit_path=["/lib/systemd/system"], tmpfs=["/usr/lib/systemd/system"],
                       name="kmswatch-pkg")


def dpkg(sd, *args, timeout=120):
    # confold/confdef: what an unattended upgrade does; an edited conffile
    # must survive it
    return sd.run(["dpkg", "--force-confdef", "--force-confold"] + list(args),
                  timeout=timeout, env={"DEBIAN_FRONTEND": "noninteractive"})


def status(sd):
    p = sd.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}|${Version}", "kmswatch"],
               check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def exists(sd, path):
    return os.path.lexists(sd.path(path))


def catalog_has_kmswatch(sd):
    p = sd.run(["journalctl", "--list-catalog", msgid("STARTED")], check=False)
    return msgid("STARTED") in p.stdout


def prepare(sd):
    # man-db's trigger would rebuild every index: not what is tested here
    sd.run(["rm", "-f", "/var/lib/man-db/auto-update"])
    # a container image's "exit 101" (no service may start) is not what a
    # Debian host has; the namespace's /usr is private, the host keeps it
    sd.run(["rm", "-f", "/usr/sbin/policy-rc.d"])


def test_install_is_disabled_and_purge_leaves_nothing(debs):
    deb1, _, v1, _ = debs
    shipped = deb_files(deb1)
    with boot() as sd:
        try:
            prepare(sd)
            out = dpkg(sd, "-i", deb1)
            assert status(sd) == "ii |" + v1, (status(sd), out.stdout, out.stderr)

            # installed, documented, checked: but neither enabled nor started
            # (it needs the operator's Atlas identity first)
            assert sd.run(["/usr/sbin/kmswatchd", "--version"]).stdout.startswith("kmswatchd ")
            assert sd.systemctl("is-enabled", UNIT, check=False).stdout.strip() == "disabled"
            assert sd.state(UNIT) == ("inactive", "dead")
            assert sd.show(UNIT, "FragmentPath")["FragmentPath"] == "/lib/systemd/system/" + UNIT
            conffiles = sd.run(["dpkg-query", "-W", "-f", "${Conffiles}", "kmswatch"]).stdout
            assert CONF in conffiles, conffiles
            assert oct(os.stat(sd.path(CONF)).st_mode & 0o777) == "0o644"
            assert not exists(sd, CONF + ".example"), "the example belongs in /usr/share/doc"
            assert exists(sd, "/usr/share/doc/kmswatch/examples/kmswatch.yaml")
            assert exists(sd, "/usr/share/man/man8/kmswatchd.8.gz")
            assert exists(sd, "/usr/share/man/man5/kmswatch.yaml.5.gz")
            # systemd's file trigger compiled the catalog
            assert catalog_has_kmswatch(sd), "journalctl --update-catalog did not run"
            # the shipped config passes -t before the unit ever ran
            t = sd.run(["/usr/sbin/kmswatchd", "-t", "-c", CONF], check=False)
            assert t.returncode == 0, t.stdout + t.stderr

            dpkg(sd, "--purge", "kmswatch")
            assert status(sd) == ""
            left = [f for f in shipped if exists(sd, f)]
            assert left == [], left
            assert not exists(sd, "/etc/kmswatch")
            assert not catalog_has_kmswatch(sd), "the catalog still lists kmswatch"
        except BaseException:
            print(sd.diagnostics(UNIT))
            raise


def operator_config(fc, gid):
    return "\n".join([
        "poll_interval: 2s",
        "atlas:",
        "  base_url: %s" % fc.https_url,
        "  ca_file: %s" % CA,
        "  service_account:",
        "    client_id: %s" % kmsw.SA_ID,
        "    client_secret: {credential: atlas-client-secret}",
        "projects:",
        "  - id: %s" % gid,
        "    name: package-%s" % gid[-6:],
        "",
    ])


def test_enable_upgrade_remove_purge(debs, fc):
    from client import azure_ear
    deb1, deb2, v1, v2 = debs
    gid = kmsw.new_group_id()
    fc.set_ear(gid, azure_ear())
    ear_path = "/api/atlas/v2/groups/%s/encryptionAtRest" % gid
    with boot() as sd:
        try:
            prepare(sd)
            dpkg(sd, "-i", deb1)

            # what the unit's header tells the operator to do
            with open(fc.ca_file, "rb") as f:
                ca = f.read()
            with open(sd.path(CA), "wb") as f:
                f.write(ca)
            os.makedirs(sd.path("/etc/credstore"), mode=0o700, exist_ok=True)
            cred = sd.path("/etc/credstore/atlas-client-secret")
            with open(cred, "w") as f:
                f.write(kmsw.SA_SECRET + "\n")
            os.chmod(cred, 0o600)
            mine = operator_config(fc, gid)
            with open(sd.path(CONF), "w") as f:
                f.write(mine)
            os.makedirs(sd.path("/etc/systemd/system/%s.d" % UNIT), exist_ok=True)
            with open(sd.path("/etc/systemd/system/%s.d/override.conf" % UNIT), "w") as f:
                f.write("[Service]\nLoadCredential=atlas-client-secret\n")
            sd.systemctl("daemon-reload")
            sd.systemctl("enable", "--now", UNIT, timeout=40)
            sd.wait_state(UNIT, "active", "running", timeout=20)
            sd.wait_until(lambda: fc.requests(path=ear_path), 20,
                          what="the packaged daemon polling the fake cloud")
            pid1 = sd.show(UNIT, "MainPID")["MainPID"]
            state = "/var/lib/private/kmswatch"
            sd.wait_until(lambda: os.listdir(sd.path(state)), 20, what="state written")

            # upgrade: the running service restarts on the new version; the
            # edited conffile stays, the new one lands beside it
            out = dpkg(sd, "-i", deb2)
            assert status(sd) == "ii |" + v2, (status(sd), out.stdout, out.stderr)
            sd.wait_state(UNIT, "active", "running", timeout=20)
            pid2 = sd.show(UNIT, "MainPID")["MainPID"]
            assert pid2 not in ("0", pid1), (pid1, pid2)
            assert sd.systemctl("is-enabled", UNIT).stdout.strip() == "enabled"
            with open(sd.path(CONF)) as f:
                assert f.read() == mine, "an upgrade overwrote the edited config"
            with open(sd.path(CONF + ".dpkg-dist")) as f:
                assert f.read().endswith("# (the example of %s)\n" % v2)
            n = len(fc.requests(path=ear_path))
            sd.wait_until(lambda: len(fc.requests(path=ear_path)) > n, 20,
                          what="polling after the upgrade")

            # remove: stopped, program gone; config and state kept
            dpkg(sd, "-r", "kmswatch")
            assert status(sd).startswith("rc"), status(sd)
            assert sd.state(UNIT)[0] in ("inactive", "failed") or \
                sd.show(UNIT, "LoadState")["LoadState"] == "not-found"
            assert not exists(sd, "/usr/sbin/kmswatchd")
            assert exists(sd, CONF) and exists(sd, state)
            stopped = sd.journal_json("MESSAGE_ID=" + msgid("STOPPING"))
            assert stopped, "no STOPPING entry: the service was not stopped cleanly"

            # purge: config, state, enablement links and catalog go; the
            # operator's own files (credstore, drop-in, CA) stay
            dpkg(sd, "--purge", "kmswatch")
            assert status(sd) == ""
            for gone in (CONF, CONF + ".dpkg-dist", "/etc/kmswatch", state,
                         "/var/lib/kmswatch",
                         "/etc/systemd/system/multi-user.target.wants/" + UNIT):
                assert not exists(sd, gone), gone + " is left after purge"
            assert not catalog_has_kmswatch(sd)
            for kept in ("/etc/credstore/atlas-client-secret", CA,
                         "/etc/systemd/system/%s.d/override.conf" % UNIT):
                assert exists(sd, kept), kept + " (the operator's) was removed"
        except BaseException:
            print(sd.diagnostics(UNIT))
            raise
