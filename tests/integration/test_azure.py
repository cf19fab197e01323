# SPDX-License-Identifier: ISC
"""The Azure side against the fake cloud: client secret expiry, key state,
age and version, allow-list drift, permissions, control-plane changes and
kmswatch's own access, each asserted in the real journald (and, for one,
on a webhook)."""

import time

import pytest

from client import azure_ear, key_version, password_credential, wait_for
import kmsw
from kmsw import project


def world(fc, name=None, doc=None, **kw):
    """A project whose Azure side is healthy, plus what it is made of."""
    p = project(fc, name=name, doc=doc)
    w = fc.azure_default_world(doc if doc is not None else azure_ear(), group=p["id"], **kw)
    return p, w


def events(d, p, check, event="firing"):
    return d.events(p["name"], KMSWATCH_CHECK=check, KMSWATCH_EVENT=event)


def one(d, p, check, event="firing", timeout=20):
    return wait_for(lambda: events(d, p, check, event), timeout=timeout)[0]


def quiet_round(d, p, seconds=5):
    """Let a few Azure rounds pass."""
    n = len(d.fc.requests(path="/v1.0/applications"))
    wait_for(lambda: len(d.fc.requests(path="/v1.0/applications")) >= n + 2,
             timeout=seconds * 4)


AZURE_PATHS = ("/v1.0/", "/subscriptions/", "/keys/")


def between_rounds(d, p, quiet=0.4):
    """Return just after an Azure round has ended: every Azure read answered
    and none for `quiet` seconds. A change made now reaches the next round
    whole (azure_interval is 2 s), not half of the one in progress: a vault
    deleted between that round's ARM read and its Key Vault reads is a
    different, honest finding (azure.access unknown for one round)."""
    quiet_round(d, p)

    def settled():
        rs = [r for r in d.fc.requests()
              if r["path"].startswith(AZURE_PATHS) or "/oauth2/" in r["path"]]
        return (rs and all(r["status"] is not None for r in rs)
                and time.time() - rs[-1]["time"] >= quiet)
    wait_for(settled, timeout=20)


def test_healthy_project_is_quiet(fc, daemons):
    p, w = world(fc)
    d = daemons(fc, [p], azure=True)
    quiet_round(d, p)
    bad = [e for e in d.events(p["name"]) if e["KMSWATCH_EVENT"] != "info"]
    assert bad == [], [e["MESSAGE"] for e in bad]
    assert d.stop() == 0


@pytest.mark.parametrize("days,severity", [(5, "critical"), (20, "warning")])
def test_secret_expiry(fc, daemons, days, severity):
    p, w = world(fc, secret_end_in_days=days)
    d = daemons(fc, [p], azure=True,
                sinks=[{"name": "h", "url": fc.hook_url("az", https=False)}])
    e = one(d, p, "azure.secret_expiry")
    assert e["KMSWATCH_SEVERITY"] == severity
    assert e["KMSWATCH_DAYS_LEFT"] in (str(days - 1), str(days))
    assert e["MESSAGE_ID"] == kmsw.MSGID["azure_secret_expiry"]
    hook = wait_for(lambda: fc.hook_bodies("az"), timeout=10)
    assert any(h["check"] == "azure.secret_expiry" and h["details"]["days_left"] >= days - 1
               for h in hook)
    if severity == "critical":
        # the secret is rotated: a new credential lasting two years
        fc.set_graph_application(w["atlas_app"]["client_id"],
                                 [password_credential(end_in_days=730, hint="Xy9")])
        r = one(d, p, "azure.secret_expiry", event="resolved")
        assert r["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert d.stop() == 0


def test_key_age(fc, daemons):
    p, w = world(fc, key_age_days=100)
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.key_age")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_AGE_DAYS"] == "100"
    assert d.stop() == 0


def test_key_disabled(fc, daemons):
    p, w = world(fc)
    d = daemons(fc, [p], azure=True)
    quiet_round(d, p)
    fc.update_key_version(w["vault"], w["key"], w["version"], enabled=False)
    e = one(d, p, "azure.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "disabled" in e["MESSAGE"]
    fc.update_key_version(w["vault"], w["key"], w["version"], enabled=True)
    one(d, p, "azure.key_state", event="resolved")
    assert d.stop() == 0


def test_key_deleted(fc, daemons):
    p, w = world(fc)
    d = daemons(fc, [p], azure=True)
    quiet_round(d, p)
    fc.delete_vault_key(w["vault"], w["key"])
    e = one(d, p, "azure.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "delet" in e["MESSAGE"] or "not found" in e["MESSAGE"]
    # the key, its versions and its rotation policy all answer 404
    # KeyNotFound: kmswatch is not blind, the key is gone; key_state alone
    # says so
    quiet_round(d, p)
    gone = [r for r in fc.requests() if r["path"].startswith("/keys/") and r["status"] == 404]
    assert {r["path"].rsplit("/", 1)[-1] for r in gone} >= {"versions", "rotationpolicy"}
    assert events(d, p, "azure.access") == []
    assert d.stop() == 0


def test_application_deleted(fc, daemons):
    """Atlas's application and its service principal are gone from Graph
    (404 Request_ResourceNotFound for both): azure.secret_expiry is critical
    (Atlas cannot sign in any more) and azure.access stays quiet, because
    Graph answered; kmswatch is not blind."""
    p, w = world(fc)
    d = daemons(fc, [p], azure=True)
    quiet_round(d, p)
    app = w["atlas_app"]["client_id"]
    fc.delete_graph_application(app)
    fc.delete_graph_service_principal(app)
    e = one(d, p, "azure.secret_expiry")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "does not exist in tenant" in e["MESSAGE"], e["MESSAGE"]
    assert "404 Request_ResourceNotFound" in e["MESSAGE"]
    quiet_round(d, p)
    assert [r for r in fc.requests(path="/v1.0/applications") if r["status"] == 404]
    assert events(d, p, "azure.access") == []
    assert d.stop() == 0


def test_vault_deleted(fc, daemons):
    """The vault Atlas names is gone: ARM answers 404 ResourceNotFound and
    the vault's own host no longer answers. azure.key_identifier is critical
    and says so (with the recover command); azure.access stays quiet."""
    p, w = world(fc)
    d = daemons(fc, [p], azure=True)
    between_rounds(d, p)
    fc.delete_vault(w["vault"])
    e = one(d, p, "azure.key_identifier")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "has no Key Vault %s" % w["vault"] in e["MESSAGE"], e["MESSAGE"]
    assert "az keyvault recover --name %s" % w["vault"] in e["MESSAGE"]
    quiet_round(d, p)
    assert [r for r in fc.requests() if "/providers/Microsoft.KeyVault/vaults/" in r["path"]
            and r["status"] == 404]
    assert events(d, p, "azure.access") == []
    assert d.stop() == 0


def test_key_identifier_on_another_host_gets_no_token(fc, daemons):
    """A key identifier naming a host outside the configured Key Vault
    suffix (here Azure China's, while azureEnvironment is AZURE: the fake's
    certificate covers both, so only kmswatch can refuse): azure.key_identifier
    critical, and not one request (so no bearer token) to it."""
    doc = azure_ear(keyIdentifier="https://contoso-kv.vault.azure.cn/keys/atlas-cmk/"
                                  "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
    p, w = world(fc, doc=doc)
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.key_identifier")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "vault.azure.cn" in e["MESSAGE"]
    assert "no request (and no token)" in e["MESSAGE"]
    quiet_round(d, p)
    assert [r for r in fc.requests() if r["path"].startswith("/keys/")] == []
    assert [r for r in fc.requests()
            if r["headers"].get("host", "").endswith("vault.azure.cn")] == []
    assert d.stop() == 0


def test_malformed_client_id_from_atlas_is_not_sent(fc, daemons):
    """Atlas's clientID goes into a Graph key, applications(appId='...'):
    one that is not a GUID is refused, and azure.access says so."""
    p, w = world(fc)
    fc.set_ear(p["id"], azure_ear(clientID="b0c1d2e3') or appId ne ('x"))
    d = daemons(fc, [p], azure=True)
    e = wait_for(lambda: [x for x in events(d, p, "azure.access")
                          if "clientID is malformed" in x["MESSAGE"]], timeout=20)[0]
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert "not a GUID" in e["MESSAGE"]
    assert [r for r in fc.requests() if r["path"].startswith("/v1.0/")] == []
    # the key is still read: the rest of the project is watched
    assert [r for r in fc.requests() if r["path"].startswith("/keys/")] != []
    assert d.stop() == 0


def test_newer_key_version_not_pinned(fc, daemons):
    p, w = world(fc, key_age_days=40)
    fc.add_key_version(w["vault"], w["key"], age_days=2)
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.key_version")
    assert e["KMSWATCH_SEVERITY"] == "warning"
    assert d.stop() == 0


def cp_doc(extra_v4=(), extra_v6=()):
    return {"inbound": {"aws": {}, "azure": {}, "gcp": {}},
            "outbound": {"aws": {"us-east-1": ["198.51.100.40/32", "198.51.100.41/32"] +
                                 list(extra_v4)},
                         "azure": {"eastus2": ["203.0.113.0/28"] + list(extra_v6)},
                         "gcp": {}}}


def test_firewall_missing_outbound_cidr(fc, daemons):
    p, w = world(fc)
    fc.set_control_plane_ips(cp_doc(extra_v6=["2001:db8:40::/48"]))
    fc.set_ip_addresses(p["id"], {"groupId": p["id"], "services": {"clusters": [{
        "clusterName": "prod", "inbound": [], "outbound": ["192.0.2.10", "192.0.2.11"],
        "futureInbound": [], "futureOutbound": []}]}})
    fc.patch_vault(w["vault"], properties={"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
        "ipRules": [{"value": "198.51.100.40"}, {"value": "203.0.113.0/27"},
                    {"value": "192.0.2.0/24"}, {"value": "2001:db8:40::/47"}]}})
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.allowlist")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_MISSING"] == "198.51.100.41/32"
    assert "198.51.100.41/32" in e["MESSAGE"]
    # a node moves outside the firewall's ranges while the alert fires: the
    # new list is announced at once (a repeat), not hours later
    fc.set_ip_addresses(p["id"], {"groupId": p["id"], "services": {"clusters": [{
        "clusterName": "prod", "inbound": [], "outbound": ["192.0.2.10", "198.18.0.7"],
        "futureInbound": [], "futureOutbound": []}]}})
    r = one(d, p, "azure.allowlist", event="repeat")
    assert r["KMSWATCH_ALERT_ID"] == e["KMSWATCH_ALERT_ID"]
    assert sorted(r["KMSWATCH_MISSING"].split(",")) == ["198.18.0.7/32", "198.51.100.41/32"]
    assert "198.18.0.7/32" in r["MESSAGE"]
    assert len(events(d, p, "azure.allowlist")) == 1
    assert d.stop() == 0


def test_firewall_missing_ipv6_range(fc, daemons):
    p, w = world(fc)
    fc.set_control_plane_ips(cp_doc(extra_v6=["2001:db8:40::/48", "2001:db8:99::/64"]))
    fc.set_ip_addresses(p["id"], {"groupId": p["id"], "services": {"clusters": []}})
    fc.patch_vault(w["vault"], properties={"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
        "ipRules": [{"value": "198.51.100.0/24"}, {"value": "203.0.113.0/28"},
                    {"value": "2001:db8:40::/47"}]}})
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.allowlist")
    assert e["KMSWATCH_MISSING"] == "2001:db8:99::/64"
    # the firewall is fixed: resolved
    fc.patch_vault(w["vault"], properties={"networkAcls": {
        "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
        "ipRules": [{"value": "198.51.100.0/24"}, {"value": "203.0.113.0/28"},
                    {"value": "2001:db8::/32"}]}})
    one(d, p, "azure.allowlist", event="resolved")
    assert d.stop() == 0


def test_control_plane_list_grows(fc, daemons):
    p, w = world(fc)
    fc.set_control_plane_ips(cp_doc())
    d = daemons(fc, [p], azure=True)
    quiet_round(d, p)
    fc.set_control_plane_ips(cp_doc(extra_v4=["198.51.100.77/32"]))
    e = one(d, p, "atlas.control_plane_ips")
    assert e["KMSWATCH_SEVERITY"] == "warning"
    assert "198.51.100.77/32" in e["MESSAGE"]
    assert d.stop() == 0


def test_secretless_project(fc, daemons):
    doc = azure_ear(clientID=None)
    p, w = world(fc, doc=doc)
    d = daemons(fc, [p], azure=True)
    quiet_round_done = wait_for(lambda: fc.requests(path="/keys/"), timeout=20)
    assert quiet_round_done
    time.sleep(3)
    assert events(d, p, "azure.secret_expiry") == []
    assert d.stop() == 0


def test_own_identity_forbidden_is_unknown(fc, daemons):
    p, w = world(fc)
    fc.grant_azure(w["reader"]["client_id"], graph=False, graph_self=False, keys=False,
                   arm=False, role_assignments=False)
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.access")
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert e["PRIORITY"] == "3"
    # never a silent ok for what could not be read
    assert events(d, p, "azure.key_state", "resolved") == []
    assert d.stop() == 0


def test_vault_firewall_blocks_kmswatch(fc, daemons):
    p, w = world(fc)
    fc.set_vault_firewall(w["vault"], deny=True, client_address="203.0.113.99")
    d = daemons(fc, [p], azure=True)
    e = wait_for(lambda: [x for x in events(d, p, "azure.access")
                          if "203.0.113.99" in x["MESSAGE"]], timeout=20)
    assert e
    assert d.stop() == 0


def test_reader_secret_expired_says_what_to_fix(fc, daemons):
    p, w = world(fc)
    fc.add_azure_identity(kmsw.TENANT, w["reader"]["client_id"], w["reader"]["secret"],
                          error="secret_expired")
    d = daemons(fc, [p], azure=True)
    e = one(d, p, "azure.access")
    assert "7000222" in e["MESSAGE"]
    assert d.stop() == 0


def test_managed_identity(fc, daemons):
    p, w = world(fc, key_age_days=100)
    d = daemons(fc, [p], azure=True, identity="managed_identity")
    e = one(d, p, "azure.key_age")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    imds = fc.requests(path="/metadata/identity/oauth2/token")
    assert imds and all(r["headers"].get("metadata") == "true" for r in imds)
    assert d.stop() == 0


def test_key_versions_are_read_across_pages(fc, daemons):
    """Key Vault returns at most 25 versions a page: the newer version is only
    found if every nextLink is followed."""
    p, w = world(fc, key_age_days=40)
    for age in range(50, 80):
        fc.add_key_version(w["vault"], w["key"], age_days=age)
    fc.add_key_version(w["vault"], w["key"], age_days=1)
    d = daemons(fc, [p], azure=True, azure_interval="1h")
    e = one(d, p, "azure.key_version")
    assert e["KMSWATCH_SEVERITY"] == "warning"
    pages = fc.requests(path="/keys/%s/versions" % w["key"])
    assert len(pages) >= 2, "nextLink not followed"
    assert d.stop() == 0


def test_workload_identity_rereads_the_token_file(fc, daemons):
    p, w = world(fc, key_age_days=100)
    fc.add_azure_identity(kmsw.TENANT, w["reader"]["client_id"],
                          federated="federated-assertion-1")
    d = daemons(fc, [p], azure=True, identity="workload_identity")
    one(d, p, "azure.key_age")
    # Kubernetes rotates the projected token: the next token request must
    # carry the new file content
    fc.add_azure_identity(kmsw.TENANT, w["reader"]["client_id"],
                          federated="federated-assertion-2")
    with open(d.federated_token_file, "w") as f:
        f.write("federated-assertion-2\n")
    fc.revoke_azure_tokens()
    n = len(fc.requests(path="/%s/oauth2/v2.0/token" % kmsw.TENANT))
    wait_for(lambda: [r for r in fc.requests(path="/%s/oauth2/v2.0/token" % kmsw.TENANT)[n:]
                      if r.get("status") == 200], timeout=20)
    assert events(d, p, "azure.access") == []
    assert d.stop() == 0


def test_control_plane_list_is_read_once_for_all_projects(fc, daemons):
    """The control-plane list is one document for every project: a round
    over many projects reads it once, and every project is checked
    against it."""
    fc.set_control_plane_ips(cp_doc(extra_v4=["198.51.100.99/32"]))
    ps = []
    for i in range(6):
        p, w = world(fc)
        fc.set_ip_addresses(p["id"], {"groupId": p["id"], "services": {"clusters": []}})
        fc.patch_vault(w["vault"], properties={"networkAcls": {
            "defaultAction": "Deny", "bypass": "AzureServices", "virtualNetworkRules": [],
            "ipRules": [{"value": "198.51.100.40/31"}, {"value": "203.0.113.0/28"}]}})
        ps.append(p)
    d = daemons(fc, ps, azure=True, azure_interval="1h")
    for p in ps:
        e = one(d, p, "azure.allowlist")
        assert e["KMSWATCH_MISSING"] == "198.51.100.99/32"
    cp = fc.requests(path="/api/atlas/v2/unauth/controlPlaneIPAddresses")
    assert len(cp) == 1, len(cp)
    assert d.stop() == 0


def test_reload_storm_while_reads_wait(fc, daemons):
    """SIGHUPs arriving while Azure rounds wait on tokens and on the shared
    control-plane read (both slowed down): every wait is cancelled cleanly,
    the daemon keeps running, and afterwards the checks still work and
    announce once."""
    ps = [world(fc, doc=azure_ear(keyVaultName="storm%d-kv" % i),
                key_age_days=100 if i == 0 else 10)[0] for i in range(4)]
    fc.add_fault("/api/atlas/v2/unauth/controlPlaneIPAddresses", hang=0.7, count=-1)
    fc.add_fault("/%s/oauth2/v2.0/token" % kmsw.TENANT, hang=0.3, count=-1)
    d = daemons(fc, ps, azure=True, azure_interval="1h")
    wait_for(lambda: fc.requests(path="/api/atlas/v2/unauth/controlPlaneIPAddresses"),
             timeout=20)
    for i in range(24):
        if i % 3 == 1:
            d.write_config(projects=ps[:2])   # two projects leave...
        elif i % 3 == 2:
            d.write_config(projects=ps)       # ...and come back
        d.reload()
        time.sleep(0.07 + (i % 4) * 0.05)
    assert d.proc.poll() is None, d.stderr_text()
    fc.clear_faults()
    e = one(d, ps[0], "azure.key_age", timeout=30)
    assert e["KMSWATCH_SEVERITY"] == "critical"
    time.sleep(2)
    assert len(events(d, ps[0], "azure.key_age")) == 1
    for p in ps[1:]:
        assert events(d, p, "azure.key_age") == []
    rc = d.stop()
    err = d.stderr_text()
    assert "Sanitizer" not in err and "runtime error" not in err, err
    assert rc == 0
