#!/bin/bash
# SPDX-License-Identifier: ISC
# The demo: kmswatchd doing its main job against the bundled fake cloud.
#   bash tests/demo.sh
# Installs the Debian packages it needs, builds kmswatchd, starts the fake
# cloud (Atlas with OAuth service-account tokens, Entra ID, Graph, Key Vault
# and ARM: real HTTPS with a test CA) with three projects, each with its own
# vault, and a webhook receiver, and runs kmswatchd on them. It finds the
# slow failures waiting in them (a client secret expiring in 12 days, a key
# 100 days old, a vault firewall missing Atlas's newest control-plane
# address), then one project's key goes invalid (the outage itself) and is
# repaired, and the firewall is fixed, showing what lands in journald and on
# the webhook at each step.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
PY=/usr/bin/python3
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing build dependencies (Debian packages)"
bash tests/deps.sh
say "building"
# An in-tree build (the README's "Build and install") is used as it is:
# automake refuses an out-of-tree build beside it. Otherwise build/ is
# configured once and brought up to date with make every time.
if [ -f config.status ]; then
	bin=$top/daemon/kmswatchd
	make -j"$(nproc)" >/dev/null || { echo "demo: make failed in $top" >&2; exit 1; }
else
	bin=$top/build/daemon/kmswatchd
	if [ ! -f build/config.status ]; then
		autoreconf -fi >/dev/null 2>&1
		mkdir -p build && (cd build && ../configure --prefix=/usr --sysconfdir=/etc \
			--localstatedir=/var >/dev/null) || { echo "demo: configure failed" >&2; exit 1; }
	fi
	(cd build && make -j"$(nproc)" >/dev/null) || { echo "demo: make failed in build/" >&2; exit 1; }
fi
"$bin" --version

say "journald"
$PY tests/journald.py

exec $PY - "$top" "$bin" <<'PYEOF'
import json, os, subprocess, sys, time
top = sys.argv[1]
sys.path[:0] = [os.path.join(top, "tests", "fakecloud"), os.path.join(top, "tests", "integration")]
os.environ["KMSWATCHD"] = sys.argv[2]
from client import FakeCloud, azure_ear, wait_for
import kmsw

def say(s): print("\n\033[1m== %s\033[0m" % s, flush=True)

def events(check=None, event="firing"):
    m = {"_PID": str(d.pid), "KMSWATCH_EVENT": event}
    if check:
        m["KMSWATCH_CHECK"] = check
    return kmsw.journal(**m)

def show(title, **match):
    say(title)
    args = ["journalctl", "--no-pager", "-o", "cat", "_PID=%d" % d.pid]
    subprocess.run(args + ["%s=%s" % kv for kv in match.items()])

# Three projects, each with its own Key Vault and Atlas application, and
# each with one of the slow failures that make Atlas shut a project down.
names = ["payments-prod", "orders-prod", "analytics"]
docs = {}
for i, n in enumerate(names):
    docs[n] = azure_ear(keyVaultName="%s-kv" % n.split("-")[0],
                        clientID="b0c1d2e3-f405-4617-8829-3a4b5c6d7e%02d" % i)
groups = {kmsw.new_group_id(): docs[n] for n in names}
fc = FakeCloud(config={"service_accounts": {kmsw.SA_ID: kmsw.SA_SECRET}, "groups": groups})
projects = [{"id": g, "name": "%s-%s" % (n, g[-4:])} for n, g in zip(names, groups)]
byname = dict(zip(names, projects))
cp_new = "198.51.100.77/32"
fc.set_control_plane_ips({"inbound": {"aws": {}, "azure": {}, "gcp": {}},
                          "outbound": {"aws": {"us-east-1": ["198.51.100.40/32", cp_new]},
                                       "azure": {"eastus2": ["203.0.113.0/28"]}, "gcp": {}}})
for n, p in byname.items():
    fc.azure_default_world(docs[n], group=p["id"],
                           secret_end_in_days=12 if n == "orders-prod" else 600,
                           key_age_days=100 if n == "analytics" else 20)
    fc.set_ip_addresses(p["id"], {"groupId": p["id"], "services": {"clusters": [{
        "clusterName": "Cluster0", "inbound": [], "outbound": ["192.0.2.10"],
        "futureInbound": [], "futureOutbound": []}]}})
# analytics: the vault firewall denies by default and was written before
# Atlas published its newest control-plane address
fc.patch_vault("analytics-kv", properties={"networkAcls": {
    "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
    "ipRules": [{"value": "198.51.100.40"}, {"value": "203.0.113.0/28"},
                {"value": "192.0.2.0/24"}]}})
d = kmsw.Daemon(fc, projects, poll_interval="2s", azure=True, azure_interval="5s",
                sinks=[{"name": "siem", "url": fc.hook_url("demo", https=False), "signed": True}])
try:
    say("fake Atlas, Entra ID, Graph, Key Vault and ARM at %s (CA %s); config %s:"
        % (fc.https_url, fc.ca_file, d.config))
    print(open(d.config).read())
    say("starting kmswatchd (stderr mirrors the journal)")
    d.start()
    wait_for(lambda: len(events("azure.secret_expiry")) and len(events("azure.key_age"))
             and len(events("azure.allowlist")), timeout=30)
    show("the slow failures, as journald has them (journalctl -o cat _PID=%d KMSWATCH_EVENT=firing):"
         % d.pid, KMSWATCH_EVENT="firing")
    say("one entry in full (journalctl -o verbose KMSWATCH_CHECK=azure.allowlist):")
    subprocess.run(["journalctl", "--no-pager", "-o", "verbose", "_PID=%d" % d.pid,
                    "KMSWATCH_CHECK=azure.allowlist"])
    victim = byname["payments-prod"]
    say("Atlas now reports the key of %s as invalid (valid: false): the outage itself"
        % victim["name"])
    fc.set_ear(victim["id"], azure_ear(valid=False, **{k: docs["payments-prod"]["azureKeyVault"][k]
                                                      for k in ("keyVaultName", "clientID")}))
    ear_hooks = lambda: [h for h in fc.hooks("demo")
                         if json.loads(h["body"])["check"] == "ear.valid"]
    wait_for(ear_hooks, timeout=20)
    time.sleep(0.5)
    show("journald (journalctl -o cat KMSWATCH_CHECK=ear.valid):", KMSWATCH_CHECK="ear.valid")
    say("webhook delivery received (headers + signed JSON body):")
    h = ear_hooks()[0]
    for k in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        print("%s: %s" % (k, h["headers"][k]))
    print(json.dumps(json.loads(h["body"]), indent=2))
    say("polls continue; the alert is not repeated. Now the key is fixed, and so is the firewall.")
    time.sleep(3)
    fc.set_ear(victim["id"], docs["payments-prod"])
    fc.patch_vault("analytics-kv", properties={"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
        "ipRules": [{"value": "198.51.100.40"}, {"value": cp_new}, {"value": "203.0.113.0/28"},
                    {"value": "192.0.2.0/24"}]}})
    wait_for(lambda: events("ear.valid", "resolved") and events("azure.allowlist", "resolved"),
             timeout=30)
    show("resolved (journalctl -o cat KMSWATCH_EVENT=resolved):", KMSWATCH_EVENT="resolved")
    say("%d webhook deliveries in all, each signed; kmswatchd --once on the same config:"
        % len(fc.hooks("demo")))
    subprocess.run([os.environ["KMSWATCHD"], "--once", "-c", d.config])
    say("stopping kmswatchd (SIGTERM)")
    print("exit status", d.stop())
finally:
    d.kill()
    fc.stop()
PYEOF
