# SPDX-License-Identifier: ISC
"""Test-side helper for fakecloud.py (standard library only, urllib).

    from fakecloud.client import FakeCloud, azure_ear, wait_for

    with FakeCloud(config={"apikeys": {"pub": "priv"},
                           "groups": {GID: azure_ear()}}) as fc:
        fc.add_fault("/api/atlas/v2/groups/%s/encryptionAtRest" % GID,
                     status=429, headers={"Retry-After": "2"})
        ...  # run kmswatchd against fc.https_url with fc.ca_file
        wait_for(lambda: fc.hooks("alerts"), timeout=10)

Azure: one call builds a consistent world for an EAR document (tenant,
identities, Graph app + service principal, vault, key, ARM document):

    ear = azure_ear()
    with FakeCloud() as fc:
        world = fc.azure_default_world(ear, group=GID)
        # kmswatch config: azure.endpoints = fc.azure_endpoints(),
        #   azure.identity = client_secret, world["tenant"],
        #   world["reader"]["client_id"], world["reader"]["secret"]
        fc.add_key_version(world["vault"], world["key"], age_days=0)   # a rotation
        fc.set_vault_firewall(world["vault"], deny=True)

See fakecloud.py's docstring for the control API this wraps.
"""

import copy
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "fakecloud.py")
PYTHON = "/usr/bin/python3"

MT_EAR = "application/vnd.atlas.2023-01-01+json"

# kmswatch's own read-only Azure identity in azure_default_world().
DEFAULT_READER_ID = "5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b"
DEFAULT_READER_SECRET = "kmswatch~reader~secret"
# The secret "Atlas uses" (its first 3 characters are the Graph hint).
DEFAULT_ATLAS_SECRET = "Xy9~atlas~application~secret"
AWS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
AWS_ACCESS_KEY_ID = "AKIAKMSWATCHREADER01"
AWS_SECRET = "kmswatch/aws+reader~Secret0123456789abcd"
AWS_ROLE_ARN = "arn:aws:iam::123456789012:role/kmswatch-reader"
KEY_ID_RE = re.compile(r"https://([^./:]+)\.([^/:]+)(?::443)?/keys/([^/]+)/([^/]+)/?", re.I)


class FakeCloudError(Exception):
    """A control call failed, or the server did not start."""


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Call predicate until it returns something truthy; return that value.
    Raises TimeoutError (with the last value seen) after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError("condition not met within %.1fs (last value %r)"
                               % (timeout, value))
        time.sleep(interval)


def azure_ear(valid=True, enabled=True,
              key_version="0f1e2d3c4b5a69788796a5b4c3d2e1f0", **overrides):
    """An EAR document shaped like docs/reference/atlas-api.md section 1 (Azure on, AWS and
    GCP off).  Keyword overrides: the top-level keys awsKms, azureKeyVault,
    googleCloudKms, enabledForSearchNodes replace those members; any other
    key sets that azureKeyVault field (None removes it).  keyIdentifier is
    built from keyVaultName, the key name "atlas-cmk" and key_version unless
    overridden."""
    top = ("awsKms", "azureKeyVault", "googleCloudKms", "enabledForSearchNodes")
    akv = {
        "azureEnvironment": "AZURE",
        "clientID": "b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f",
        "enabled": enabled,
        "keyVaultName": "contoso-kv",
        "requirePrivateNetworking": False,
        "resourceGroupName": "rg-atlas-cmk",
        "roleId": "65a1b2c3d4e5f60718293a4b",
        "subscriptionID": "11111111-2222-4333-8444-555555555555",
        "tenantID": "99999999-8888-4777-8666-555555555555",
        "valid": valid,
    }
    for k, v in overrides.items():
        if k not in top:
            akv[k] = v
    if "keyIdentifier" not in overrides:
        akv["keyIdentifier"] = "https://%s.vault.azure.net/keys/atlas-cmk/%s" % (
            akv.get("keyVaultName") or "contoso-kv", key_version)
    akv = {k: v for k, v in sorted(akv.items()) if v is not None}
    doc = {
        "awsKms": {"enabled": False, "valid": False, "requirePrivateNetworking": False},
        "azureKeyVault": akv,
        "googleCloudKms": {"enabled": False, "valid": False},
        "enabledForSearchNodes": False,
    }
    for k in top:
        if k in overrides:
            if overrides[k] is None:
                doc.pop(k)
            else:
                doc[k] = copy.deepcopy(overrides[k])
    return doc


def aws_ear(key_id=AWS_KEY_ID, region="US_EAST_1", valid=True, enabled=True,
            role_id=None, **extra):
    """An encryptionAtRest document whose enabled provider is AWS KMS."""
    kms = {"enabled": enabled, "customerMasterKeyID": key_id, "region": region,
           "valid": valid, "requirePrivateNetworking": False}
    if role_id is not None:
        kms["roleId"] = role_id
    kms.update(extra)
    return {"awsKms": kms, "azureKeyVault": {"enabled": False},
            "googleCloudKms": {"enabled": False}}


def days_from_now(days):
    """Unix seconds `days` from now (negative: in the past)."""
    return time.time() + days * 86400


def password_credential(end_in_days=365, start_days_ago=30, hint="Xy9",
                        display_name="atlas-cmk", key_id=None):
    """A Graph passwordCredential for set_graph_application(); end_in_days=None
    gives one without endDateTime."""
    cred = {"displayName": display_name, "hint": hint,
            "startDateTime": days_from_now(-start_days_ago),
            "endDateTime": None if end_in_days is None else days_from_now(end_in_days)}
    if key_id:
        cred["keyId"] = key_id
    return cred


def key_version(age_days=10, version=None, enabled=True, exp_in_days=None,
                nbf_days_ago=None, **extra):
    """A Key Vault key version created age_days ago (for set_vault_key and
    friends); extra keys (kty, key_ops, tags, updated, ...) pass through."""
    v = dict(extra, created=int(days_from_now(-age_days)), enabled=enabled)
    if version:
        v["version"] = version
    if exp_in_days is not None:
        v["exp"] = int(days_from_now(exp_in_days))
    if nbf_days_ago is not None:
        v["nbf"] = int(days_from_now(-nbf_days_ago))
    return v


def parse_key_identifier(kid):
    """(vault, dns suffix, key name, version) of a versioned key identifier,
    or None."""
    m = KEY_ID_RE.fullmatch(kid or "")
    return (m.group(1).lower(), m.group(2).lower(), m.group(3), m.group(4).lower()) \
        if m else None


class FakeCloud:
    """Runs fakecloud.py as a subprocess in a (temporary) directory.

    Attributes once started: https_url, control_url, ca_file, https_port,
    control_port, dir, pid."""

    def __init__(self, config=None, directory=None, port=0, control_port=0,
                 startup_timeout=20.0, verbose=False, keep_dir=False):
        self._own_dir = directory is None
        self.dir = os.path.abspath(directory or tempfile.mkdtemp(prefix="fakecloud-"))
        self.keep_dir = keep_dir
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)
        ready = os.path.join(self.dir, "ready.json")
        if os.path.exists(ready):
            os.unlink(ready)
        cmd = [PYTHON, SERVER, "--dir", self.dir, "--port", str(port),
               "--control-port", str(control_port)]
        if config is not None:
            cfg = os.path.join(self.dir, "config.json")
            with open(cfg, "w") as f:
                json.dump(config, f)
            cmd += ["--config", cfg]
        if verbose:
            cmd.append("--verbose")
        self.log_file = os.path.join(self.dir, "fakecloud.log")
        with open(self.log_file, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        try:
            info = self._wait_ready(ready, startup_timeout)
        except Exception:
            self.stop()
            raise
        self.pid = info["pid"]
        self.https_port = info["https_port"]
        self.control_port = info["control_port"]
        self.ca_file = info["ca_file"]
        self.https_url = "https://127.0.0.1:%d" % self.https_port
        self.control_url = "http://127.0.0.1:%d" % self.control_port

    def _wait_ready(self, ready, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise FakeCloudError("fakecloud exited with %d: %s"
                                     % (self.proc.returncode, self.log_tail()))
            try:
                with open(ready) as f:
                    info = json.load(f)
                if info.get("pid") == self.proc.pid:
                    return info
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        raise FakeCloudError("fakecloud not ready after %.0fs: %s" % (timeout, self.log_tail()))

    def log_tail(self, n=4000):
        try:
            with open(self.log_file, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # -- lifetime --

    def stop(self, timeout=10.0):
        """SIGTERM, then SIGKILL if needed.  Returns the exit status."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            rc = self.proc.returncode
        if self._own_dir and not self.keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- URLs and TLS --

    def url(self, path):
        return self.https_url + path

    def ear_url(self, group):
        return self.url("/api/atlas/v2/groups/%s/encryptionAtRest" % group)

    def hook_url(self, name, https=True):
        return (self.https_url if https else self.control_url) + "/hooks/" + name

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    # -- control API --

    def _call(self, method, path, body=None, timeout=30.0):
        data = None
        headers = {}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.control_url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise FakeCloudError("%s %s -> %d: %s" % (method, path, e.code,
                                                      e.read().decode("utf-8", "replace")))
        return json.loads(raw) if raw else None

    @staticmethod
    def _q(s):
        return urllib.parse.quote(s, safe="")

    def health(self):
        return self._call("GET", "/health")

    def reset(self):
        return self._call("POST", "/reset")

    # Atlas groups
    def set_ear(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/ear" % self._q(group), doc)

    def group(self, group):
        return self._call("GET", "/atlas/groups/%s" % self._q(group))

    def delete_group(self, group):
        return self._call("DELETE", "/atlas/groups/%s" % self._q(group))

    def set_project(self, group, name=None, org_id=None, hidden=None):
        """What GET /groups lists for the group (creates it)."""
        body = {k: v for k, v in (("name", name), ("orgId", org_id), ("hidden", hidden))
                if v is not None}
        return self._call("PUT", "/atlas/groups/%s/project" % self._q(group), body)

    def set_listing(self, max_items_per_page):
        return self._call("PUT", "/atlas/listing",
                          {"max_items_per_page": max_items_per_page})

    def forbid(self, group, errorCode=None, detail=None, parameters=None):
        body = {k: v for k, v in (("errorCode", errorCode), ("detail", detail),
                                  ("parameters", parameters)) if v is not None}
        return self._call("POST", "/atlas/groups/%s/forbid" % self._q(group), body)

    def unforbid(self, group):
        return self._call("DELETE", "/atlas/groups/%s/forbid" % self._q(group))

    def set_ip_addresses(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/ipAddresses" % self._q(group), doc)

    def set_clusters(self, group, clusters):
        return self._call("PUT", "/atlas/groups/%s/clusters" % self._q(group), clusters)

    def set_cloud_provider_access(self, group, doc):
        return self._call("PUT", "/atlas/groups/%s/cloudProviderAccess" % self._q(group), doc)

    def set_ear_private_endpoints(self, group, provider, endpoints):
        """EARPrivateEndpoint objects for AZURE or AWS (id, cloudProvider,
        regionName, status, errorMessage, privateEndpointConnectionName)."""
        return self._call("PUT", "/atlas/groups/%s/privateEndpoints/%s" % (self._q(group), provider),
                          list(endpoints))

    def set_events(self, group, events):
        """Atlas events of a group: {"eventTypeName", "created" (unix seconds
        or ISO 8601)}; served newest first, filtered as Atlas does."""
        return self._call("PUT", "/atlas/groups/%s/events" % self._q(group), list(events))

    def set_project_owner(self, group, owner):
        """False: kmswatch's identity lacks Project Owner (private endpoints 403)."""
        return self._call("PUT", "/atlas/groups/%s/role" % self._q(group),
                          {"project_owner": bool(owner)})

    def set_control_plane_ips(self, doc):
        return self._call("PUT", "/atlas/controlPlaneIPAddresses", doc)

    # Atlas credentials
    def set_apikeys(self, keys=None, private_key=None):
        """set_apikeys({"pub": "priv", ...}) or set_apikeys("pub", "priv")."""
        if isinstance(keys, str):
            keys = {keys: private_key}
        return self._call("PUT", "/atlas/apikeys", keys or {})

    def set_service_accounts(self, accounts=None, client_secret=None):
        """set_service_accounts({"id": "secret", ...}) or (id, secret)."""
        if isinstance(accounts, str):
            accounts = {accounts: client_secret}
        return self._call("PUT", "/atlas/service_accounts", accounts or {})

    def set_sa_secrets(self, client_id, secrets):
        """What GET /orgs/{org}/serviceAccounts/{client_id} lists: a list of
        {"expiresAt", "id"?, "createdAt"?, "lastUsedAt"?, "maskedSecretValue"?
        | "secret"?} (times: unix seconds or ISO 8601)."""
        return self._call("PUT", "/atlas/service_accounts/%s/secrets" % self._q(client_id),
                          secrets)

    def set_sa_meta(self, client_id, **meta):
        """orgId, org_read (false: 403), listed (false: 404)."""
        return self._call("PUT", "/atlas/service_accounts/%s/meta" % self._q(client_id), meta)

    def sa_meta(self, client_id):
        return self._call("GET", "/atlas/service_accounts/%s/meta" % self._q(client_id))

    def set_token_ttl(self, seconds):
        return self._call("PUT", "/atlas/token_ttl", {"seconds": seconds})

    def revoke_tokens(self):
        return self._call("POST", "/atlas/revoke_tokens")

    def set_digest_algorithm(self, algorithm):
        return self._call("PUT", "/atlas/digest_algorithm", {"algorithm": algorithm})

    def set_tls(self, mode):
        """good | untrusted | wrong_host | expired (for new connections)."""
        return self._call("PUT", "/tls", {"mode": mode})

    # Faults
    def add_fault(self, path, **fault):
        """add_fault(prefix, status=, body=, body_b64=, headers=, hang=,
        close=True|"reset", content_length=, count=, method=, exact=True,
        query={"pageNum": "2"})."""
        return self._call("POST", "/faults", dict(fault, path=path))

    def faults(self):
        return self._call("GET", "/faults")

    def clear_faults(self):
        return self._call("DELETE", "/faults")

    # Webhooks
    def hook_responses(self, name, responses):
        """Queue scripted answers for POST /hooks/name: a list of fault
        objects, e.g. [{"status": 500}, {"status": 429, "headers":
        {"Retry-After": "2"}}, {"hang": 5}]."""
        if isinstance(responses, dict):
            responses = [responses]
        return self._call("POST", "/hooks/%s/responses" % self._q(name), list(responses))

    def hooks(self, name):
        """Deliveries received for name: dicts with headers (lower-cased
        names), body (text), time, conn, method, path, query..."""
        return self._call("GET", "/hooks/%s" % self._q(name))

    def hook_bodies(self, name):
        """The deliveries' bodies parsed as JSON."""
        return [json.loads(d["body"]) for d in self.hooks(name)]

    def delete_hook(self, name):
        return self._call("DELETE", "/hooks/%s" % self._q(name))

    def clear_hooks(self):
        return self._call("DELETE", "/hooks")

    # Request log
    def requests(self, path=None, since=None):
        q = {}
        if path:
            q["path"] = path
        if since:
            q["since"] = str(since)
        return self._call("GET", "/requests" + ("?" + urllib.parse.urlencode(q) if q else ""))

    def clear_requests(self):
        return self._call("DELETE", "/requests")

    # Azure (see fakecloud.py's docstring)
    def azure_endpoints(self):
        """kmswatch's azure.endpoints overrides pointing at this fake (IMDS
        is plain HTTP, on the control port)."""
        return {"login": self.https_url, "management": self.https_url,
                "graph": self.https_url, "key_vault": self.https_url,
                "imds": self.control_url}

    def azure_state(self):
        return self._call("GET", "/azure")

    # AWS (see fakeaws.py's docstring)
    def aws_endpoints(self):
        """kmswatch's aws.endpoints overrides pointing at this fake."""
        return {"kms": self.https_url, "sts": self.https_url, "imds": self.control_url}

    def aws_state(self):
        return self._call("GET", "/aws")

    def set_aws_users(self, users):
        return self._call("PUT", "/aws/users", users)

    def set_aws_roles(self, roles):
        return self._call("PUT", "/aws/roles", roles)

    def set_aws_key(self, key_id=AWS_KEY_ID, region="us-east-1", **doc):
        return self._call("PUT", "/aws/keys/%s/%s" % (region, self._q(key_id)), doc)

    def patch_aws_key(self, key_id=AWS_KEY_ID, region="us-east-1", **doc):
        return self._call("PATCH", "/aws/keys/%s/%s" % (region, self._q(key_id)), doc)

    def delete_aws_key(self, key_id=AWS_KEY_ID, region="us-east-1"):
        return self._call("DELETE", "/aws/keys/%s/%s" % (region, self._q(key_id)))

    def set_aws_imds(self, role, role_arn=None):
        return self._call("PUT", "/aws/imds", {"role": role, "role_arn": role_arn})

    def set_aws_ttl(self, sts=None, imds=None):
        body = {}
        if sts is not None:
            body["sts"] = sts
        if imds is not None:
            body["imds"] = imds
        return self._call("PUT", "/aws/ttl", body)

    def add_aws_error(self, operation, type_, status=400, message="", count=1):
        return self._call("POST", "/aws/errors", {"operation": operation, "type": type_,
                                                  "status": status, "message": message,
                                                  "count": count})

    def clear_aws_errors(self):
        return self._call("DELETE", "/aws/errors")

    def aws_credentials(self):
        return self._call("GET", "/aws/credentials")

    def expire_aws_credentials(self):
        return self._call("POST", "/aws/expire_credentials")

    def aws_default_world(self, access_key_id=AWS_ACCESS_KEY_ID, secret=AWS_SECRET,
                          key_id=AWS_KEY_ID, region="us-east-1", role_arn=AWS_ROLE_ARN,
                          web_identity_token="eyJ.kmswatch.web-identity", imds_role="kmswatch",
                          **key):
        """kmswatch's reader (static keys; also trusted by role_arn, which
        takes web_identity_token and is the instance profile's role) and
        one healthy key (rotation on) in region."""
        self.set_aws_users({access_key_id: {"secret": secret}})
        self.set_aws_roles({role_arn: {"trusted": [access_key_id],
                                       "web_identity_tokens": [web_identity_token]}})
        self.set_aws_imds(imds_role, role_arn)
        doc = {"rotation": {"enabled": True, "period": 365}}
        doc.update(key)
        self.set_aws_key(key_id, region, **doc)
        return {"access_key_id": access_key_id, "secret": secret, "key_id": key_id,
                "region": region, "role_arn": role_arn,
                "web_identity_token": web_identity_token}

    def set_azure_identities(self, identities):
        """Replace all identities: a list of {tenant, client_id, secret |
        federated | managed, ...}."""
        return self._call("PUT", "/azure/identities", list(identities))

    def add_azure_identity(self, tenant, client_id, secret=None, federated=None, **extra):
        """Add (or replace) one identity; returns its view (with object_id)."""
        body = dict(extra, tenant=tenant, client_id=client_id)
        if secret is not None:
            body["secret"] = secret
        if federated is not None:
            body["federated"] = federated
        return self._call("POST", "/azure/identities", body)["identities"][0]

    def azure_identities(self):
        return self._call("GET", "/azure/identities")

    def delete_azure_identity(self, tenant, client_id):
        return self._call("DELETE", "/azure/identities/%s/%s" % (self._q(tenant),
                                                                  self._q(client_id)))

    def set_azure_grants(self, grants):
        """Replace all grants: {client_id: {graph, graph_self, keys, arm,
        role_assignments}}."""
        return self._call("PUT", "/azure/grants", grants)

    def grant_azure(self, client_id, **grant):
        """grant_azure(id, graph=True, keys=True | ["vault"], arm=..., ...);
        replaces that identity's grant."""
        return self._call("PUT", "/azure/grants/%s" % self._q(client_id), grant)

    def set_graph_application(self, app_id, password_credentials=(), **props):
        body = dict(props, passwordCredentials=list(password_credentials))
        return self._call("PUT", "/azure/graph/applications/%s" % self._q(app_id),
                          body)["object"]

    def set_graph_service_principal(self, app_id, password_credentials=(), **props):
        body = dict(props, passwordCredentials=list(password_credentials))
        return self._call("PUT", "/azure/graph/servicePrincipals/%s" % self._q(app_id),
                          body)["object"]

    def delete_graph_application(self, app_id):
        return self._call("DELETE", "/azure/graph/applications/%s" % self._q(app_id))

    def delete_graph_service_principal(self, app_id):
        return self._call("DELETE", "/azure/graph/servicePrincipals/%s" % self._q(app_id))

    def set_vault(self, name, **doc):
        """Create or replace a vault: subscription, resource_group, location,
        tenant, suffix, properties (merged onto defaults), tags, systemData,
        keys, firewall, role_assignments, next_link.  Returns its view."""
        return self._call("PUT", "/azure/vaults/%s" % self._q(name), doc)["vault"]

    def patch_vault(self, name, **doc):
        """Merge into a vault (properties shallowly; keys per key)."""
        return self._call("PATCH", "/azure/vaults/%s" % self._q(name), doc)["vault"]

    def vault(self, name):
        return self._call("GET", "/azure/vaults/%s" % self._q(name))

    def delete_vault(self, name):
        return self._call("DELETE", "/azure/vaults/%s" % self._q(name))

    def set_vault_key(self, vault, key, versions, current=None, rotation_policy=None):
        body = {"versions": list(versions)}
        if current:
            body["current"] = current
        if rotation_policy is not None:
            body["rotation_policy"] = rotation_policy
        return self._call("PUT", "/azure/vaults/%s/keys/%s" % (self._q(vault), self._q(key)),
                          body)["key"]

    def delete_vault_key(self, vault, key):
        return self._call("DELETE", "/azure/vaults/%s/keys/%s" % (self._q(vault),
                                                                   self._q(key)))

    def add_key_version(self, vault, key, **version):
        """Add a version (key_version() keywords: age_days, enabled, ... or
        raw ones: created, exp, ...); returns {"version", "kid"}."""
        if set(version) & {"age_days", "exp_in_days", "nbf_days_ago"}:
            version = key_version(**version)
        r = self._call("POST", "/azure/vaults/%s/keys/%s/versions" % (self._q(vault),
                                                                      self._q(key)), version)
        return {"version": r["version"], "kid": r["kid"]}

    def update_key_version(self, vault, key, version, **attrs):
        """Change attributes (enabled, exp, nbf, created, updated, tags...)."""
        return self._call("PATCH", "/azure/vaults/%s/keys/%s/versions/%s" % (
            self._q(vault), self._q(key), self._q(version)), attrs)["version"]

    def set_rotation_policy(self, vault, key, policy):
        """policy: {"lifetimeActions": [...], "attributes": {...}} or None
        (back to the service default)."""
        return self._call("PUT", "/azure/vaults/%s/keys/%s/rotationpolicy" % (
            self._q(vault), self._q(key)), policy)["rotation_policy"]

    def set_vault_firewall(self, vault, deny=True, client_address=None):
        body = {"deny": deny}
        if client_address:
            body["client_address"] = client_address
        return self._call("PUT", "/azure/vaults/%s/firewall" % self._q(vault), body)

    def set_role_assignments(self, vault, assignments):
        """[{"principalId", "role" (built-in name or GUID), "principalType",
        "scope" ("vault" | "resource_group" | "subscription" | "key:NAME" |
        a path)}]."""
        return self._call("PUT", "/azure/roleAssignments/%s" % self._q(vault),
                          list(assignments))["role_assignments"]

    def set_azure_token_ttl(self, seconds):
        return self._call("PUT", "/azure/token_ttl", {"seconds": seconds})

    def revoke_azure_tokens(self):
        return self._call("POST", "/azure/revoke_tokens")

    def azure_tokens(self):
        """Issued Azure tokens: tenant, client_id, object_id, aud, kind
        (vault | arm | graph), via (secret | federated | managed), issued,
        expires."""
        return self._call("GET", "/azure/tokens")

    def azure_default_world(self, ear=None, group=None, reader_client_id=DEFAULT_READER_ID,
                            reader_secret=DEFAULT_READER_SECRET,
                            atlas_secret=DEFAULT_ATLAS_SECRET, secret_end_in_days=365,
                            key_age_days=10, location="westeurope"):
        """Set up everything an EAR document (default azure_ear()) points at,
        all healthy and readable:
          - tenant tenantID with two identities: kmswatch's reader
            (reader_client_id / reader_secret, also the VM's system-assigned
            managed identity, granted Graph, key and ARM reads) and Atlas's
            application clientID (atlas_secret);
          - Graph application + service principal for clientID, the
            application with one passwordCredential (hint atlas_secret[:3],
            ending in secret_end_in_days);
          - vault keyVaultName in subscriptionID / resourceGroupName, access
            policies giving Atlas's service principal get, wrapKey,
            unwrapKey, encrypt, decrypt; network open; role assignments
            (Atlas SP: Key Vault Crypto Service Encryption User, reader:
            Reader);
          - the key and pinned version of keyIdentifier, created
            key_age_days ago (key "atlas-cmk" with a fresh version if the
            identifier cannot be parsed).
        With group, the EAR document is also stored for that Atlas group.
        Returns the names and ids involved."""
        ear = ear if ear is not None else azure_ear()
        akv = ear["azureKeyVault"]
        tenant, app_id = akv["tenantID"], akv.get("clientID")
        vault = akv["keyVaultName"]
        parsed = parse_key_identifier(akv.get("keyIdentifier"))
        suffix, key, version = (parsed[1:] if parsed else
                                ("vault.azure.net", "atlas-cmk", None))
        if group is not None:
            self.set_ear(group, ear)
        reader = self.add_azure_identity(tenant, reader_client_id, reader_secret,
                                         managed=True, system_assigned=True)
        self.grant_azure(reader_client_id, graph=True, keys=True, arm=True,
                         role_assignments=True)
        if app_id is None:
            # secretless (roleId): Atlas's own multi-tenant service
            # principal, as Cloud Provider Access names it (docs/reference/atlas-api.md 7)
            app = {"id": None, "passwordCredentials": [{"keyId": None}]}
            sp = {"id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"}
        else:
            self.add_azure_identity(tenant, app_id, atlas_secret)
            app = self.set_graph_application(app_id, [password_credential(
                end_in_days=secret_end_in_days, hint=atlas_secret[:3])],
                displayName="atlas-cmk")
            sp = self.set_graph_service_principal(app_id, displayName="atlas-cmk")
        view = self.set_vault(
            vault, subscription=akv["subscriptionID"], resource_group=akv["resourceGroupName"],
            tenant=tenant, suffix=suffix, location=location,
            properties={
                "accessPolicies": [{"tenantId": tenant, "objectId": sp["id"], "permissions": {
                    "keys": ["get", "wrapKey", "unwrapKey", "encrypt", "decrypt"],
                    "secrets": [], "certificates": []}}],
                "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow",
                                "ipRules": [], "virtualNetworkRules": []},
                "publicNetworkAccess": "Enabled", "enableRbacAuthorization": False},
            keys={key: [key_version(age_days=key_age_days, version=version)]},
            role_assignments=[
                {"principalId": sp["id"], "role": "Key Vault Crypto Service Encryption User"},
                {"principalId": reader["object_id"], "role": "Reader"}])
        versions = view["keys"][key]["versions"]
        return {"tenant": tenant, "subscription": akv["subscriptionID"],
                "resource_group": akv["resourceGroupName"], "vault": vault, "suffix": suffix,
                "key": key, "version": versions[0]["kid"].rsplit("/", 1)[1],
                "kid": versions[0]["kid"],
                "reader": {"client_id": reader_client_id, "secret": reader_secret,
                           "object_id": reader["object_id"]},
                "atlas_app": {"client_id": app_id, "secret": atlas_secret,
                              "app_object_id": app["id"], "sp_object_id": sp["id"],
                              "key_id": app["passwordCredentials"][0]["keyId"]}}

    # ---- Google Cloud ----------------------------------------------------------

    def gcp_endpoints(self):
        """kmswatch's gcp.endpoints overrides pointing at this fake (the
        metadata server is plain HTTP, on the control port)."""
        return {"kms": self.https_url, "token": self.https_url + "/token",
                "metadata": self.control_url}

    def gcp_state(self):
        return self._call("GET", "/gcp")

    def add_gcp_service_account(self, client_email, public_key=None, key_id=None, **extra):
        body = dict(extra, client_email=client_email, public_key=public_key, key_id=key_id)
        return self._call("POST", "/gcp/service_accounts", body)

    def patch_gcp_service_account(self, client_email, **fields):
        return self._call("PATCH", "/gcp/service_accounts/%s" % self._q(client_email), fields)

    def set_gcp_metadata_account(self, client_email):
        return self._call("PUT", "/gcp/metadata", {"client_email": client_email})

    def set_gcp_key(self, name, **doc):
        """A CryptoKey (name projects/P/locations/L/keyRings/R/cryptoKeys/K) and
        its versions: versions={"1": {"state", "createTime", ...}}, primary,
        rotationPeriod (seconds or "7776000s"), nextRotationTime."""
        return self._call("PUT", "/gcp/kms/" + name, doc)["key"]

    def patch_gcp(self, name, **fields):
        """Merge fields into a version (name ends in /cryptoKeyVersions/N) or a key."""
        return self._call("PATCH", "/gcp/kms/" + name, fields)

    def delete_gcp(self, name):
        return self._call("DELETE", "/gcp/kms/" + name)

    def set_gcp_token_ttl(self, seconds):
        return self._call("PUT", "/gcp/token_ttl", {"seconds": seconds})

    def revoke_gcp_tokens(self):
        return self._call("POST", "/gcp/revoke_tokens")

    def gcp_tokens(self):
        return self._call("GET", "/gcp/tokens")

    def gcp_default_world(self, group=None, email="kmswatch-reader@acme-prod.iam."
                          "gserviceaccount.com", key_age_days=10, state="ENABLED",
                          rotation=False, register=True, **version):
        """A healthy GCP side: a service account (its key JSON and PEM are
        returned; the public key registered unless register is False), a key
        with version 1 in `state`, and (with group) the project's EAR naming
        it. Returns {"key_json", "private_pem", "email", "key_name",
        "version_name", "ear"}."""
        key_json, pem, pub = gcp_service_account_key(email)
        if register:
            self.add_gcp_service_account(email, public_key=pub, key_id="k-" + email[:8])
        key_name = "projects/acme-prod/locations/us-east1/keyRings/atlas/cryptoKeys/cmk-%s" % (
            (group or "x")[-8:])
        doc = {"versions": {"1": dict(version, state=state,
                                      createTime=time.time() - key_age_days * 86400)}}
        if rotation:
            doc["rotationPeriod"] = 90 * 86400
        self.set_gcp_key(key_name, **doc)
        ear = gcp_ear(key_name + "/cryptoKeyVersions/1")
        if group:
            self.set_ear(group, ear)
        return {"key_json": key_json, "private_pem": pem, "email": email,
                "key_name": key_name, "version_name": key_name + "/cryptoKeyVersions/1",
                "ear": ear}


def gcp_ear(version_id, valid=True, enabled=True, role_id=None):
    """An EAR document with Google Cloud KMS on (AWS and Azure off)."""
    g = {"enabled": enabled, "keyVersionResourceID": version_id, "valid": valid}
    if role_id:
        g["roleId"] = role_id
    return {"awsKms": {"enabled": False, "valid": False, "requirePrivateNetworking": False},
            "azureKeyVault": {"enabled": False, "valid": False},
            "googleCloudKms": g, "enabledForSearchNodes": False}


def gcp_service_account_key(email, key_id=None, token_uri="https://oauth2.googleapis.com/token"):
    """A new RSA key as a service-account key file: (key file JSON text,
    private PEM, public PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()
    pub = k.public_key().public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    doc = {"type": "service_account", "project_id": "acme-prod",
           "private_key_id": key_id or "k-" + email[:8], "private_key": pem,
           "client_email": email, "client_id": "100000000000000000001",
           "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": token_uri}
    return json.dumps(doc), pem, pub
