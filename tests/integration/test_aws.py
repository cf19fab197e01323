# SPDX-License-Identifier: ISC
"""The AWS side against the fake cloud (KMS, STS, IMDSv2 with Signature V4
verified): every key state, rotation, access failures, throttling,
credential refresh, the three identities, a provider switch and --once,
each asserted in the real journald; and no secret anywhere."""

import json
import os
import socket
import subprocess
import time

import pytest

from client import AWS_KEY_ID, AWS_ROLE_ARN, aws_ear, azure_ear, wait_for
import kmsw
from kmsw import project

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/" + AWS_KEY_ID


def world(fc, name=None, doc=None, **key):
    p = project(fc, name=name, doc=doc if doc is not None else aws_ear())
    w = fc.aws_default_world(**key)
    return p, w


def events(d, p, check, event="firing"):
    return d.events(p["name"], KMSWATCH_CHECK=check, KMSWATCH_EVENT=event)


def one(d, p, check, event="firing", timeout=20):
    return wait_for(lambda: events(d, p, check, event), timeout=timeout)[0]


def kms_requests(fc, op=None):
    return [r for r in fc.requests(path="/") if r["path"] == "/" and
            r["headers"].get("x-amz-target", "").startswith("TrentService.") and
            (op is None or r["headers"]["x-amz-target"] == "TrentService." + op)]


def rounds(d, n=2, timeout=20):
    """Let n more AWS rounds pass."""
    start = len(kms_requests(d.fc, "DescribeKey"))
    wait_for(lambda: len(kms_requests(d.fc, "DescribeKey")) >= start + n, timeout=timeout)


def no_secret_in(text):
    for s in kmsw.SECRETS:
        assert s not in text, "secret %r leaked" % s[:6]


def test_healthy_project_is_quiet(fc, daemons):
    p, w = world(fc)
    d = daemons(fc, [p], aws=True)
    rounds(d)
    bad = [e for e in d.events(p["name"]) if e["KMSWATCH_EVENT"] != "info"]
    assert bad == [], [e["MESSAGE"] for e in bad]
    # signed by libcurl, verified by the fake
    r = kms_requests(fc, "DescribeKey")[-1]
    assert r["status"] == 200
    assert r["headers"]["authorization"] == "AWS4-HMAC-SHA256"
    assert r["headers"]["content-type"] == "application/x-amz-json-1.1"
    assert d.stop() == 0


@pytest.mark.parametrize("state,says", [
    ("Disabled", "is disabled"),
    ("PendingImport", "PendingImport"),
    ("Unavailable", "Unavailable"),
    ("PendingReplicaDeletion", "PendingReplicaDeletion"),
])
def test_key_state_critical(fc, daemons, state, says):
    p, w = world(fc)
    d = daemons(fc, [p], aws=True)
    rounds(d, 1)
    fc.patch_aws_key(KeyState=state)
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_PROVIDER"] == "aws"
    assert e["KMSWATCH_SUBJECT"] == AWS_KEY_ID
    assert e["MESSAGE_ID"] == kmsw.MSGID["aws_key_state"]
    assert e["PRIORITY"] == "2"
    assert says in e["MESSAGE"]
    # the key's troubles are not access failures
    assert events(d, p, "aws.access") == []
    fc.patch_aws_key(KeyState="Enabled")
    r = one(d, p, "aws.key_state", event="resolved")
    assert r["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert d.stop() == 0


def test_pending_deletion_with_date(fc, daemons):
    p, w = world(fc, KeyState="PendingDeletion", DeletionDate=time.time() + 5 * 86400 + 3600)
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_DAYS_LEFT"] == "5"
    assert "scheduled for deletion in 5 days" in e["MESSAGE"]
    assert "cancel-key-deletion" in e["MESSAGE"]
    # GetKeyRotationStatus answers KMSInvalidStateException: not aws.access
    rounds(d)
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


@pytest.mark.parametrize("days,severity", [(3, "critical"), (20, "warning")])
def test_imported_material_expiry(fc, daemons, days, severity):
    p, w = world(fc, Origin="EXTERNAL", ValidTo=time.time() + days * 86400 + 3600)
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == severity
    assert e["KMSWATCH_DAYS_LEFT"] == str(days)
    assert "imported key material" in e["MESSAGE"]
    assert d.stop() == 0


def test_not_found_is_key_state_only(fc, daemons):
    p, w = world(fc)
    fc.delete_aws_key()
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "NotFoundException" in e["MESSAGE"]
    rounds(d)
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_rotation_off_and_old_key(fc, daemons):
    p, w = world(fc, created_days_ago=100, rotation={"enabled": False})
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_age")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert e["KMSWATCH_AGE_DAYS"] == "100"
    assert "enable-key-rotation" in e["MESSAGE"]
    assert e["MESSAGE_ID"] == kmsw.MSGID["aws_key_age"]
    fc.patch_aws_key(rotation={"enabled": True, "period": 90})
    r = one(d, p, "aws.key_age", event="resolved")
    assert r["KMSWATCH_PREVIOUS_SEVERITY"] == "critical"
    assert d.stop() == 0


def test_rotation_off_young_key_warns(fc, daemons):
    p, w = world(fc, created_days_ago=10, rotation={"enabled": False})
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_age")
    assert e["KMSWATCH_SEVERITY"] == "warning"
    assert "is off" in e["MESSAGE"]
    assert d.stop() == 0


def test_access_denied_is_access_only(fc, daemons):
    p, w = world(fc)
    fc.set_aws_users({w["access_key_id"]: {"secret": w["secret"],
                                           "allow": ["kms:DescribeKey"]}})
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.access")
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert e["PRIORITY"] == "3"
    assert e["KMSWATCH_MISSING"] == "kms:GetKeyRotationStatus"
    assert "AccessDeniedException" in e["MESSAGE"]
    assert e["MESSAGE_ID"] == kmsw.MSGID["aws_access"]
    rounds(d)
    # the key itself is fine and said so; no key_age verdict without rotation
    assert events(d, p, "aws.key_state") == []
    assert events(d, p, "aws.key_age") == []
    fc.set_aws_users({w["access_key_id"]: {"secret": w["secret"]}})
    one(d, p, "aws.access", event="resolved")
    assert d.stop() == 0


def test_bad_signature_wrong_secret(fc, daemons):
    p, w = world(fc)
    d = daemons(fc, [p], aws=True, aws_secret="not-the-secret-of-this-access-key-0000")
    e = one(d, p, "aws.access")
    assert e["KMSWATCH_SEVERITY"] == "unknown"
    assert "InvalidSignatureException" in e["MESSAGE"]
    assert "the secret access key does not belong to the access key id" in e["MESSAGE"]
    assert events(d, p, "aws.key_state") == []
    assert d.stop() == 0


def test_reload_with_the_right_secret(fc, daemons):
    """A reload that fixes the secret: the credentials are taken afresh
    and aws.access resolves."""
    p, w = world(fc)
    d = daemons(fc, [p], aws=True, aws_secret="not-the-secret-of-this-access-key-0000")
    one(d, p, "aws.access")
    d._write_secret("aws-secret", kmsw.AWS_SECRET)
    d.reload()
    one(d, p, "aws.access", event="resolved")
    assert d.stop() == 0


def test_throttling_backs_off_then_succeeds(fc, daemons):
    p, w = world(fc, KeyState="Disabled")
    fc.add_aws_error("DescribeKey", "ThrottlingException", message="Rate exceeded", count=2)
    t0 = time.monotonic()
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.key_state", timeout=30)
    assert e["KMSWATCH_SEVERITY"] == "critical"
    # two throttled answers, then the read: retried with backoff (>= 1 s)
    reqs = kms_requests(fc, "DescribeKey")
    assert [r["status"] for r in reqs[:3]] == [400, 400, 200], [r["status"] for r in reqs]
    assert reqs[2]["time"] - reqs[0]["time"] >= 1.0
    assert time.monotonic() - t0 < 30
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_persistent_throttling_is_access(fc, daemons):
    p, w = world(fc)
    fc.add_aws_error("DescribeKey", "ThrottlingException", message="Rate exceeded", count=-1)
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.access", timeout=60)
    assert "kept throttling" in e["MESSAGE"] and "after 3 retries" in e["MESSAGE"]
    fc.clear_aws_errors()
    one(d, p, "aws.access", event="resolved", timeout=60)
    assert d.stop() == 0


def test_static_keys_with_assume_role_refresh(fc, daemons):
    """Short-lived STS credentials are refreshed before they expire: every
    KMS read succeeds, with more than one set of credentials."""
    p, w = world(fc, KeyState="Enabled")
    fc.set_aws_ttl(sts=12)
    d = daemons(fc, [p], aws=True, aws_role_arn=AWS_ROLE_ARN, aws_interval="1s")
    wait_for(lambda: len(fc.aws_credentials()) >= 3, timeout=40)
    reqs = kms_requests(fc)
    assert reqs and all(r["status"] == 200 for r in reqs), [r["status"] for r in reqs]
    assert {r["headers"].get("x-amz-security-token") is not None for r in reqs} == {True}
    assert {c["kind"] for c in fc.aws_credentials()} == {"AssumeRole"}
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_sts_throttling_is_retried(fc, daemons):
    """STS answers throttling with HTTP 400 Throttling: retried with
    backoff, then the credentials come and KMS is read."""
    p, w = world(fc, KeyState="Disabled")
    fc.add_aws_error("AssumeRole", "Throttling", message="Rate exceeded", count=2)
    d = daemons(fc, [p], aws=True, aws_role_arn=AWS_ROLE_ARN)
    one(d, p, "aws.key_state", timeout=30)
    sts = [r for r in fc.requests(path="/") if r["path"] == "/" and
           "x-amz-target" not in r["headers"]]
    assert [r["status"] for r in sts[:3]] == [400, 400, 200], [r["status"] for r in sts]
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_expired_credentials_are_fetched_again(fc, daemons):
    """Credentials the service stops accepting (ExpiredTokenException) are
    dropped and fetched again at once: the read succeeds."""
    p, w = world(fc)
    d = daemons(fc, [p], aws=True, aws_role_arn=AWS_ROLE_ARN)
    rounds(d, 1)
    n = len(fc.aws_credentials())
    fc.expire_aws_credentials()
    fc.patch_aws_key(KeyState="Disabled")
    one(d, p, "aws.key_state")
    assert len(fc.aws_credentials()) > n
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_instance_profile_imdsv2(fc, daemons):
    p, w = world(fc, KeyState="Disabled")
    d = daemons(fc, [p], aws=True, aws_identity="instance_profile")
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    imds = fc.requests(path="/latest/")
    assert [r["method"] for r in imds[:3]] == ["PUT", "GET", "GET"], imds
    assert imds[0]["headers"]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600"
    assert all("x-aws-ec2-metadata-token" in r["headers"] for r in imds[1:3])
    assert {c["kind"] for c in fc.aws_credentials()} == {"imds"}
    assert d.stop() == 0


def test_instance_profile_credentials_refresh(fc, daemons):
    """Short-lived IMDS credentials are renewed before they expire: the
    IMDSv2 dance runs again, and no read fails."""
    p, w = world(fc)
    fc.set_aws_ttl(imds=12)
    d = daemons(fc, [p], aws=True, aws_identity="instance_profile", aws_interval="1s")
    wait_for(lambda: len(fc.aws_credentials()) >= 3, timeout=40)
    reqs = kms_requests(fc)
    assert reqs and all(r["status"] == 200 for r in reqs), [r["status"] for r in reqs]
    assert len([r for r in fc.requests(path="/latest/api/token")]) >= 3
    assert events(d, p, "aws.access") == []
    assert d.stop() == 0


def test_network_failure_is_access(fc, daemons):
    p, w = world(fc)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()       # nothing listens there now
    d = daemons(fc, [p], aws=True, aws_kms_url="https://127.0.0.1:%d" % port)
    e = one(d, p, "aws.access", timeout=60)
    assert "could not reach AWS KMS" in e["MESSAGE"]
    assert "after 3 retries" in e["MESSAGE"]
    assert events(d, p, "aws.key_state") == []
    assert d.stop() == 0


def test_instance_profile_without_role(fc, daemons):
    p, w = world(fc)
    fc.set_aws_imds(None)
    d = daemons(fc, [p], aws=True, aws_identity="instance_profile")
    e = one(d, p, "aws.access")
    assert "no AWS credentials" in e["MESSAGE"]
    assert "instance profile role" in e["MESSAGE"]
    assert events(d, p, "aws.key_state") == []
    assert d.stop() == 0


def test_web_identity(fc, daemons):
    p, w = world(fc, KeyState="Disabled")
    d = daemons(fc, [p], aws=True, aws_identity="web_identity", aws_role_arn=AWS_ROLE_ARN)
    one(d, p, "aws.key_state")
    assert {c["kind"] for c in fc.aws_credentials()} == {"AssumeRoleWithWebIdentity"}
    assert d.stop() == 0


def test_web_identity_refused(fc, daemons):
    p, w = world(fc, web_identity_token="another-token")
    d = daemons(fc, [p], aws=True, aws_identity="web_identity", aws_role_arn=AWS_ROLE_ARN)
    e = one(d, p, "aws.access")
    assert "InvalidIdentityToken" in e["MESSAGE"]
    assert "sts:AssumeRoleWithWebIdentity" in e["MESSAGE"]
    assert d.stop() == 0


def test_malformed_region_gets_no_request(fc, daemons):
    p, w = world(fc, doc=aws_ear(region="US_EAST_1.evil.example/x"))
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.access")
    assert "Atlas's region is malformed" in e["MESSAGE"]
    assert "no request was sent" in e["MESSAGE"]
    time.sleep(3)
    assert kms_requests(fc) == []
    assert d.stop() == 0


def test_key_arn_of_another_region_gets_no_request(fc, daemons):
    p, w = world(fc, doc=aws_ear(key_id=KEY_ARN.replace("us-east-1", "eu-west-1")))
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "aws.access")
    assert "another region" in e["MESSAGE"]
    time.sleep(3)
    assert kms_requests(fc) == []
    assert d.stop() == 0


def test_ear_role_aws(fc, daemons):
    """ear.role for AWS: roleId must be an awsIamRoles entry."""
    role = "65a1b2c3d4e5f60718293aff"
    p, w = world(fc, doc=aws_ear(role_id=role))
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [], "azureServicePrincipals": [],
                                           "gcpServiceAccounts": []})
    d = daemons(fc, [p], aws=True)
    e = one(d, p, "ear.role")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    assert "AWS IAM role" in e["MESSAGE"]
    fc.set_cloud_provider_access(p["id"], {"awsIamRoles": [{
        "roleId": role, "providerName": "AWS",
        "iamAssumedRoleArn": "arn:aws:iam::123456789012:role/atlas",
        "atlasAWSAccountArn": "arn:aws:iam::536727724300:root",
        "atlasAssumedRoleExternalId": "x", "featureUsages": []}],
        "azureServicePrincipals": [], "gcpServiceAccounts": []})
    one(d, p, "ear.role", event="resolved")
    assert d.stop() == 0


def test_switch_azure_to_aws(fc, daemons):
    """Atlas's provider changes from Azure to AWS: the Azure alerts
    resolve, the AWS checks start."""
    p = project(fc, doc=azure_ear())
    fc.azure_default_world(azure_ear(), group=p["id"], key_age_days=100)
    fc.aws_default_world(KeyState="Disabled")
    d = daemons(fc, [p], azure=True, aws=True)
    one(d, p, "azure.key_age")
    assert kms_requests(fc) == []
    fc.set_ear(p["id"], aws_ear())
    one(d, p, "azure.key_age", event="resolved")
    e = one(d, p, "aws.key_state")
    assert e["KMSWATCH_SEVERITY"] == "critical"
    # and from AWS to none: the AWS alerts resolve
    fc.set_ear(p["id"], aws_ear(enabled=False))
    one(d, p, "aws.key_state", event="resolved")
    assert d.stop() == 0


def test_alerts_of_an_earlier_run_resolve_without_memory(fc, daemons):
    """A provider keeps a per-project entry only for projects Atlas names
    it for (or its state file remembers): after a restart that lost
    aws.json, a project that Atlas now names Azure for has no AWS entry,
    and its AWS alerts of the earlier run still resolve."""
    p = project(fc, doc=azure_ear())
    fc.azure_default_world(azure_ear(), group=p["id"])
    fc.aws_default_world(KeyState="Disabled")
    fc.set_ear(p["id"], aws_ear())
    d = daemons(fc, [p], azure=True, aws=True)
    one(d, p, "aws.key_state")
    assert d.stop() == 0
    os.unlink(os.path.join(d.state_dir, "aws.json"))
    fc.set_ear(p["id"], azure_ear())
    d.start()
    e = one(d, p, "aws.key_state", event="resolved")
    assert e["KMSWATCH_PROJECT_ID"] == p["id"]
    assert d.stop() == 0


def test_without_aws_section_nothing_is_read(fc, daemons):
    p, w = world(fc, KeyState="Disabled")
    d = daemons(fc, [p])
    wait_for(lambda: len(d.ear_requests(p["id"])) >= 3, timeout=20)
    assert kms_requests(fc) == []
    assert [e for e in d.events(p["name"]) if e["KMSWATCH_CHECK"].startswith("aws.")] == []
    assert d.stop() == 0


def test_once_json_shows_aws(fc, daemons):
    p, w = world(fc, KeyState="PendingDeletion", DeletionDate=time.time() + 3 * 86400 + 60)
    d = daemons(fc, [p], aws=True, start=False)
    out = subprocess.run([kmsw.kmswatchd_path(), "--once", "-c", d.config, "--format", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    doc = json.loads(out.stdout)
    text = json.dumps(doc)
    assert "aws.key_state" in text and "scheduled for deletion" in text
    assert "aws.access" in text
    no_secret_in(out.stdout + out.stderr)


def test_no_secret_anywhere(fc, daemons):
    p, w = world(fc, KeyState="Disabled")
    d = daemons(fc, [p], aws=True, aws_role_arn=AWS_ROLE_ARN,
                sinks=[{"name": "h", "url": fc.hook_url("awshook", https=False)}])
    one(d, p, "aws.key_state")
    wait_for(lambda: fc.hook_bodies("awshook"), timeout=10)
    d.stop()
    no_secret_in(kmsw.journal_all_text(KMSWATCH_PROJECT_NAME=p["name"]))
    no_secret_in(kmsw.journal_all_text(_PID=str(d.pid)))
    no_secret_in(json.dumps(fc.hooks("awshook")))
    no_secret_in(d.stderr_text())
