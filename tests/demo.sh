#!/bin/bash
# The demo: kmswatchd doing its main job against the bundled fake cloud.
#   bash tests/demo.sh
# Installs the Debian packages it needs, builds kmswatchd, starts the fake
# Atlas (real HTTPS with a test CA, OAuth service-account tokens) with three
# projects and a webhook receiver, runs kmswatchd on them, then breaks one
# project's key (valid: false, as Atlas reports when the key is disabled or
# the client secret expired) and repairs it, showing what lands in journald
# and on the webhook at each step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing build dependencies (Debian packages)"
bash tests/deps.sh
say "building"
if [ ! -x build/daemon/kmswatchd ]; then
	autoreconf -fi >/dev/null 2>&1
	mkdir -p build && (cd build && ../configure --prefix=/usr --sysconfdir=/etc \
		--localstatedir=/var >/dev/null && make -j"$(nproc)" >/dev/null)
fi
build/daemon/kmswatchd --version

say "journald"
$PY tests/journald.py

exec $PY - "$top" <<'PYEOF'
import json, os, subprocess, sys, time
top = sys.argv[1]
sys.path[:0] = [os.path.join(top, "tests", "fakecloud"), os.path.join(top, "tests", "integration")]
os.environ["KMSWATCHD"] = os.path.join(top, "build", "daemon", "kmswatchd")
from client import FakeCloud, azure_ear, wait_for
import kmsw

def say(s): print("\n\033[1m== %s\033[0m" % s, flush=True)

names = ["payments-prod", "orders-prod", "analytics"]
groups = {kmsw.new_group_id(): azure_ear() for _ in names}
fc = FakeCloud(config={"service_accounts": {kmsw.SA_ID: kmsw.SA_SECRET}, "groups": groups})
projects = [{"id": g, "name": "%s-%s" % (n, g[-4:])} for n, g in zip(names, groups)]
d = kmsw.Daemon(fc, projects, poll_interval="2s",
                sinks=[{"name": "siem", "url": fc.hook_url("demo", https=False), "signed": True}])
try:
    say("fake Atlas at %s (CA %s); config %s:" % (fc.https_url, fc.ca_file, d.config))
    print(open(d.config).read())
    say("starting kmswatchd (stderr mirrors the journal)")
    d.start()
    wait_for(lambda: all(d.ear_requests(p["id"]) for p in projects), timeout=20)
    time.sleep(2.5)
    victim = projects[0]
    say("Atlas now reports the key of %s as invalid (valid: false)" % victim["name"])
    fc.set_ear(victim["id"], azure_ear(valid=False))
    wait_for(lambda: fc.hooks("demo"), timeout=20)
    time.sleep(0.5)
    say("journald entry (journalctl -o verbose KMSWATCH_PROJECT_NAME=%s):" % victim["name"])
    subprocess.run(["journalctl", "--no-pager", "-o", "verbose",
                    "KMSWATCH_PROJECT_NAME=" + victim["name"]])
    say("webhook delivery received (headers + signed JSON body):")
    h = fc.hooks("demo")[0]
    for k in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        print("%s: %s" % (k, h["headers"][k]))
    print(json.dumps(json.loads(h["body"]), indent=2))
    say("polls continue; the alert is not repeated. Now the key is fixed.")
    time.sleep(3)
    fc.set_ear(victim["id"], azure_ear(valid=True))
    wait_for(lambda: len(fc.hooks("demo")) >= 2, timeout=20)
    say("resolved (journalctl -o short KMSWATCH_PROJECT_NAME=%s):" % victim["name"])
    subprocess.run(["journalctl", "--no-pager", "-o", "short",
                    "KMSWATCH_PROJECT_NAME=" + victim["name"]])
    say("kmswatchd --once on the same config:")
    subprocess.run([os.environ["KMSWATCHD"], "--once", "-c", d.config])
    say("stopping kmswatchd (SIGTERM)")
    print("exit status", d.stop())
    print("\n--- kmswatchd stderr ---")
    print(d.stderr_text())
finally:
    d.kill()
    fc.stop()
PYEOF
