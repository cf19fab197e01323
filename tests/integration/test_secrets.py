# SPDX-License-Identifier: ISC
"""No secret from the config ever appears in the journal, stderr, a
payload, the process's argv or environment dump, or the state files."""

import os

from client import azure_ear, wait_for
import kmsw
from kmsw import project


def test_no_secret_anywhere(fc, daemons):
    p = project(fc, doc=azure_ear(valid=False))
    fc.set_service_accounts({kmsw.SA_ID: kmsw.SA_SECRET})
    d = daemons(fc, [p], sinks=[{"name": "s", "url": fc.hook_url("sec", https=False),
                                 "signed": True}])
    wait_for(lambda: fc.hooks("sec"), timeout=15)
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_reloaded"]), timeout=10)
    with open("/proc/%d/cmdline" % d.pid, "rb") as f:
        cmdline = f.read().decode()
    assert d.stop() == 0
    texts = {
        "journal": kmsw.journal_all_text(_PID=str(d.pid)),
        "stderr": d.stderr_text(),
        "webhook": "".join(h["body"] + repr(h["headers"]) for h in fc.hooks("sec")),
        "argv": cmdline,
    }
    # every state file, the delivery outbox included
    for root, _, files in os.walk(d.state_dir):
        for name in files:
            path = os.path.join(root, name)
            with open(path, errors="replace") as f:
                texts[os.path.relpath(path, d.state_dir)] = f.read()
    for where, text in texts.items():
        for s in kmsw.SECRETS:
            assert s not in text, "secret found in %s" % where


def test_plain_secret_in_readable_file_refused(fc, daemons):
    p = project(fc)
    d = daemons(fc, [p], start=False, plain_secret=True)
    os.chmod(d.config, 0o644)
    d.start()
    assert d.proc.wait(10) == 1
    err = d.stderr_text()
    assert "client_secret" in err
    assert kmsw.SA_SECRET not in err
    os.chmod(d.config, 0o600)


def test_env_secret_leaves_the_environment(fc, daemons):
    """{env: NAME}: read once, wiped from the environment (so from
    /proc/PID/environ and any child), kept for reloads; and no core dumps."""
    p = project(fc)
    fc.set_service_accounts({kmsw.SA_ID: kmsw.SA_SECRET})
    d = daemons(fc, [p], start=False, env={"KMSW_SA_SECRET": kmsw.SA_SECRET})
    ref = "{file: %s}" % kmsw.yaml_quote(os.path.join(d.dir, "atlas-secret"))
    text = d.render_config()
    assert ref in text
    d.write_config(text.replace(ref, "{env: KMSW_SA_SECRET}"))
    d.start()
    ear = "/api/atlas/v2/groups/%s/encryptionAtRest" % p["id"]
    wait_for(lambda: [r for r in fc.requests(path=ear) if r["status"] == 200], timeout=15)
    with open("/proc/%d/environ" % d.pid, "rb") as f:
        environ = f.read().decode(errors="replace")
    # the initial environment block keeps the name, its value is wiped
    assert kmsw.SA_SECRET not in environ
    assert "KMSW_SA_SECRET=\0" in environ
    with open("/proc/%d/limits" % d.pid) as f:
        core = [l.split() for l in f if l.startswith("Max core file size")][0]
    assert core[4:6] == ["0", "0"], core
    # a reload reads the config again: the secret is still there
    fc.set_service_accounts({kmsw.SA_ID: kmsw.SA_SECRET})  # a fresh token is needed
    fc.clear_requests()
    d.reload()
    wait_for(lambda: d.entries(MESSAGE_ID=kmsw.MSGID["config_reloaded"]), timeout=10)
    assert d.entries(MESSAGE_ID=kmsw.MSGID["config_rejected"]) == []
    wait_for(lambda: [r for r in fc.requests(path=ear) if r["status"] == 200], timeout=15)
    assert d.stop() == 0
