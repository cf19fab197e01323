# SPDX-License-Identifier: ISC
r"""fakeaws: the AWS part of fakecloud (AWS KMS, STS, IMDSv2), facts from
docs/reference/providers.md "AWS KMS" and the AWS API references.
Standard library only; fakecloud.py mixes AwsMixin into its handlers and
calls aws_reset() from its State.

Every AWS host is the fakecloud HTTPS server: kmswatch's aws.endpoints
point kms and sts at https://127.0.0.1:PORT and imds at the control port
(plain HTTP).  POST / with an X-Amz-Target header is KMS; POST / with a
form body carrying Action= is STS.

Signature V4 (both KMS and a signed STS call) is verified as AWS does:
Authorization "AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/
aws4_request, SignedHeaders=h1;h2, Signature=HEX"; the canonical request
(method, URI path, sorted query, the signed headers lower-cased with
trimmed values, the signed header list, hex SHA-256 of the body) is
recomputed, then the string to sign (AWS4-HMAC-SHA256, X-Amz-Date, the
scope, hex SHA-256 of the canonical request) and the signing key
(HMAC chain over "AWS4"+secret, date, region, service, "aws4_request").
  no Authorization              400 MissingAuthenticationTokenException
  malformed Authorization       400 IncompleteSignatureException
  unknown access key            400 UnrecognizedClientException (STS: 403
                                InvalidClientTokenId)
  temporary key, missing/wrong X-Amz-Security-Token
                                400 UnrecognizedClientException
  temporary key past expiry     400 ExpiredTokenException
  X-Amz-Date off by > 5 min, or the scope date not its date, or a signed
  header list without host / x-amz-date
                                403 InvalidSignatureException (STS: 403
                                SignatureDoesNotMatch)
  bad signature                 403 InvalidSignatureException (STS: 403
                                SignatureDoesNotMatch)
  scope service not kms (sts)   400 InvalidSignatureException "Credential
                                should be scoped to correct service"

KMS (JSON 1.1: Content-Type application/x-amz-json-1.1, answers the same
type; errors {"__type": T, "message": M} with HTTP 400):
  X-Amz-Target TrentService.DescribeKey | TrentService.GetKeyRotationStatus,
  body {"KeyId": id | ARN | alias/NAME | alias ARN}.  The key store is per
  region (the scope's region).  Checks after the signature: the target
  (400 UnknownOperationException), the body (400 SerializationException /
  ValidationException), the caller's permission kms:DescribeKey /
  kms:GetKeyRotationStatus (400 AccessDeniedException "User: ARN is not
  authorized to perform: ACTION on resource: KEY_ARN because no
  identity-based policy allows the ACTION action"), the key (400
  NotFoundException "Key 'ARN' does not exist" / "Alias ARN is not
  found."), then GetKeyRotationStatus refuses keys in PendingDeletion,
  PendingImport, Unavailable (400 KMSInvalidStateException "KEY_ARN is
  pending deletion.", ...) and imported ones (400
  UnsupportedOperationException).  A scripted error (POST /aws/errors)
  answers first, after the signature check.
  DescribeKey -> {"KeyMetadata": {AWSAccountId, Arn, CreationDate (epoch
  seconds, fractional), CustomerMasterKeySpec, Description, Enabled,
  EncryptionAlgorithms, KeyId, KeyManager, KeySpec, KeyState, KeyUsage,
  MultiRegion, Origin, [DeletionDate, PendingDeletionWindowInDays],
  [ExpirationModel, ValidTo]}}.
  GetKeyRotationStatus -> {KeyId (ARN), KeyRotationEnabled,
  [RotationPeriodInDays, NextRotationDate], [OnDemandRotationStartDate]}.

STS (Query protocol, form body Action=...&Version=2011-06-15; XML answers
xmlns https://sts.amazonaws.com/doc/2011-06-15/; errors <ErrorResponse>
<Error><Type>Sender</Type><Code>C</Code><Message>M</Message></Error>
<RequestId>..</RequestId></ErrorResponse>):
  AssumeRole (signed, service sts): RoleArn, RoleSessionName (2-64 of
      [\w+=,.@-]), [DurationSeconds 900-43200].  The role must exist and
      trust the caller ("trusted": access key ids, or null = anyone with a
      valid signature), else 403 AccessDenied "User: ARN is not authorized
      to perform: sts:AssumeRole on resource: ROLE".
  AssumeRoleWithWebIdentity (unsigned): RoleArn, RoleSessionName,
      WebIdentityToken; the token must be one the role trusts
      ("web_identity_tokens"), else 400 InvalidIdentityToken; unknown role
      403 AccessDenied.
  Both answer <...Response><...Result><Credentials><AccessKeyId>ASIA..
      <SecretAccessKey><SessionToken><Expiration>ISO</Expiration>
      </Credentials><AssumedRoleUser>..</AssumedRoleUser></...Result>
      <ResponseMetadata><RequestId>..</RequestId></ResponseMetadata>; the
      credentials live min(DurationSeconds, sts ttl) seconds (ttl default
      3600; a test may set less than STS's 900 minimum) and act with the
      role's permissions.
  Other Action: 400 InvalidAction.

IMDSv2 (control port, plain HTTP):
  PUT /latest/api/token   header X-aws-ec2-metadata-token-ttl-seconds
                          1..21600 (else 400) -> the session token (text)
  GET /latest/meta-data/iam/security-credentials/[ROLE]
      header X-aws-ec2-metadata-token (missing or unknown: 401); the
      instance's role name (404 without an instance profile), or for ROLE
      the JSON {Code: "Success", LastUpdated, Type: "AWS-HMAC",
      AccessKeyId, SecretAccessKey, Token, Expiration}, credentials that
      live the imds ttl (default 21600 s) with the role's permissions.
  A request with X-Forwarded-For is refused (403), as IMDS does.

Control API (plain HTTP JSON on the control port; PUT replaces):
  GET    /aws                        summary
  PUT    /aws/users                  {AKID: {"secret", "arn"?, "allow"?:
                                      [actions] (default: the two KMS reads,
                                      sts:AssumeRole)}}
  PUT    /aws/roles                  {ROLE_ARN: {"trusted"?: [AKID] | null,
                                      "web_identity_tokens"?: [..],
                                      "allow"?: [actions]}}
  PUT    /aws/keys/{region}/{key_id} {"KeyState"? (Enabled), "Origin"?,
                                      "created_days_ago"? | "CreationDate"?,
                                      "DeletionDate"?, "ValidTo"?,
                                      "ExpirationModel"?, "KeyManager"?,
                                      "account"?, "aliases"?: [names],
                                      "rotation"?: {"enabled", "period",
                                      "next", "on_demand"}}
  PATCH  /aws/keys/{region}/{key_id} the same, merged      DELETE too
  PUT    /aws/imds                   {"role": NAME | null, "role_arn"?}
  PUT    /aws/ttl                    {"sts"?: s, "imds"?: s}
  POST   /aws/errors                 {"operation": DescribeKey |
                                      GetKeyRotationStatus | AssumeRole |
                                      AssumeRoleWithWebIdentity | imds,
                                      "type": T, "status"? (400),
                                      "message"?, "count"? (1, -1 forever)}
  DELETE /aws/errors
  GET    /aws/credentials            issued temporary credentials
                                      (access key id, kind, role, expires;
                                      no secrets)
  POST   /aws/expire_credentials     every temporary credential expires now
"""

import copy
import datetime
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
import uuid

KMS_JSON = "application/x-amz-json-1.1"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_ALLOW = ("kms:DescribeKey", "kms:GetKeyRotationStatus", "sts:AssumeRole")
STS_TTL_DEFAULT = 3600
IMDS_TTL_DEFAULT = 21600
MAX_SKEW = 300
KMS_TARGETS = {"TrentService.DescribeKey": "DescribeKey",
               "TrentService.GetKeyRotationStatus": "GetKeyRotationStatus"}
KEY_STATES = ("Enabled", "Disabled", "PendingDeletion", "PendingImport",
              "PendingReplicaDeletion", "Unavailable", "Updating", "Creating")
SESSION_RE = re.compile(r"[\w+=,.@-]{2,64}")
KEY_FIELDS = {"KeyState", "Origin", "created_days_ago", "CreationDate", "DeletionDate",
              "ValidTo", "ExpirationModel", "KeyManager", "account", "aliases", "rotation",
              "PendingDeletionWindowInDays", "MultiRegion", "Description"}


class AwsBadInput(Exception):
    pass


def aws_reset(state):
    """The AWS part of State.reset() (called under its lock)."""
    state.aws_users = {}        # AKID -> {"secret", "arn", "allow", "token"?, "expires"?, ...}
    state.aws_roles = {}        # role ARN -> {"trusted", "web_identity_tokens", "allow"}
    state.aws_keys = {}         # region -> {key_id -> key}
    state.aws_imds = {"role": None, "role_arn": None}
    state.aws_imds_tokens = {}  # token -> expiry (monotonic)
    state.aws_ttl = {"sts": STS_TTL_DEFAULT, "imds": IMDS_TTL_DEFAULT}
    state.aws_errors = []       # scripted error answers


# --- SigV4 --------------------------------------------------------------------------

def _h(data):
    return hashlib.sha256(data).hexdigest()


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _uri_encode(s, slash=True):
    return urllib.parse.quote(s, safe="-_.~" + ("/" if slash else ""))


def canonical_query(query_string):
    pairs = urllib.parse.parse_qsl(query_string, keep_blank_values=True)
    enc = sorted((_uri_encode(k, False), _uri_encode(v, False)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in enc)


def canonical_request(method, path, query_string, headers, signed, body):
    """headers: lower-cased name -> list of values, as received."""
    lines = []
    for name in signed:
        vals = headers.get(name, [])
        lines.append("%s:%s" % (name, ",".join(" ".join(v.split()) for v in vals)))
    return "\n".join([method, _uri_encode(urllib.parse.unquote(path)) or "/",
                      canonical_query(query_string), "\n".join(lines) + "\n",
                      ";".join(signed), _h(body)])


AUTH_RE = re.compile(r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+)\s*,\s*SignedHeaders=([^,\s]+)"
                     r"\s*,\s*Signature=([0-9a-f]{64})\s*$")


class SigError(Exception):
    def __init__(self, status, type_, message):
        super().__init__(message)
        self.status, self.type, self.message = status, type_, message


def verify_sigv4(state, method, path, query_string, headers, body, service, now=None):
    """Verify a request's Signature V4; returns (principal record, AKID,
    region).  Raises SigError with the KMS-style error otherwise."""
    now = time.time() if now is None else now
    auth = headers.get("authorization", [None])[0]
    if not auth:
        raise SigError(400, "MissingAuthenticationTokenException",
                       "Missing Authentication Token")
    m = AUTH_RE.fullmatch(auth.strip())
    if not m:
        raise SigError(400, "IncompleteSignatureException",
                       "Authorization header requires 'Credential', 'SignedHeaders' and "
                       "'Signature' parameters (AWS4-HMAC-SHA256).")
    cred, signed_s, sig = m.groups()
    parts = cred.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise SigError(400, "IncompleteSignatureException",
                       "Credential should be AKID/DATE/REGION/SERVICE/aws4_request.")
    akid, date, region, svc, _ = parts
    if svc != service:
        raise SigError(400, "InvalidSignatureException",
                       "Credential should be scoped to correct service: '%s'." % service)
    with state.lock:
        user = copy.deepcopy(state.aws_users.get(akid))
    if user is None:
        raise SigError(400, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    token = headers.get("x-amz-security-token", [None])[0]
    if user.get("token") is not None:
        if token is None or not hmac.compare_digest(token, user["token"]):
            raise SigError(400, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")
        if user["expires"] <= now:
            raise SigError(400, "ExpiredTokenException",
                           "The security token included in the request is expired")
    elif token is not None:
        raise SigError(400, "UnrecognizedClientException",
                       "The security token included in the request is invalid.")
    signed = signed_s.split(";")
    if signed != sorted(signed) or "host" not in signed or \
            ("x-amz-date" not in signed and "date" not in signed):
        raise SigError(403, "InvalidSignatureException",
                       "SignedHeaders must be sorted and include host and x-amz-date.")
    if token is not None and "x-amz-security-token" not in signed:
        raise SigError(403, "InvalidSignatureException",
                       "x-amz-security-token must be signed.")
    amz_date = headers.get("x-amz-date", [""])[0]
    try:
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        raise SigError(403, "InvalidSignatureException", "X-Amz-Date is malformed.")
    if abs(t - now) > MAX_SKEW:
        raise SigError(403, "InvalidSignatureException",
                       "Signature expired: %s is now earlier/later than the allowed "
                       "5 minutes." % amz_date)
    if amz_date[:8] != date:
        raise SigError(403, "InvalidSignatureException",
                       "Date in Credential scope does not match YYYYMMDD from X-Amz-Date.")
    creq = canonical_request(method, path, query_string, headers, signed, body)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, "/".join([date, region, svc,
                                                            "aws4_request"]), _h(creq.encode())])
    want = hmac.new(signing_key(user["secret"], date, region, svc), sts.encode(),
                    hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, sig):
        raise SigError(403, "InvalidSignatureException",
                       "The request signature we calculated does not match the signature "
                       "you provided. Check your AWS Secret Access Key and signing method. "
                       "Consult the service documentation for details.")
    return user, akid, region


# --- state helpers ------------------------------------------------------------------

def parse_users(obj):
    if not isinstance(obj, dict):
        raise AwsBadInput("users: an object {access_key_id: {...}}")
    out = {}
    for akid, u in obj.items():
        if not isinstance(u, dict) or not isinstance(u.get("secret"), str):
            raise AwsBadInput("user %s needs a \"secret\"" % akid)
        out[akid] = {"secret": u["secret"],
                     "arn": u.get("arn", "arn:aws:iam::%s:user/%s" % (DEFAULT_ACCOUNT,
                                                                   akid.lower())),
                     "allow": list(u.get("allow", DEFAULT_ALLOW)), "kind": "static"}
    return out


def parse_roles(obj):
    if not isinstance(obj, dict):
        raise AwsBadInput("roles: an object {role_arn: {...}}")
    out = {}
    for arn, r in obj.items():
        if not re.fullmatch(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+", arn) or \
                not isinstance(r, dict):
            raise AwsBadInput("not a role ARN or not an object: %s" % arn)
        out[arn] = {"trusted": r.get("trusted"),
                    "web_identity_tokens": list(r.get("web_identity_tokens", [])),
                    "allow": list(r.get("allow", DEFAULT_ALLOW))}
    return out


def _epoch(v, what):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise AwsBadInput("%s: epoch seconds" % what)


def build_key(region, key_id, obj, old=None):
    if not isinstance(obj, dict):
        raise AwsBadInput("a key is an object")
    unknown = set(obj) - KEY_FIELDS
    if unknown:
        raise AwsBadInput("unknown key fields: %s" % ", ".join(sorted(unknown)))
    k = copy.deepcopy(old) if old else {
        "KeyState": "Enabled", "Origin": "AWS_KMS", "KeyManager": "CUSTOMER",
        "CreationDate": time.time() - 10 * 86400 - 0.25, "account": DEFAULT_ACCOUNT,
        "aliases": [], "rotation": {"enabled": True, "period": 365, "next": None,
                                    "on_demand": None},
        "MultiRegion": key_id.startswith("mrk-"), "Description": ""}
    for f in ("KeyState", "Origin", "ExpirationModel", "KeyManager", "account",
              "PendingDeletionWindowInDays", "MultiRegion", "Description"):
        if f in obj:
            k[f] = obj[f]
    if k["KeyState"] not in KEY_STATES:
        raise AwsBadInput("KeyState must be one of %s" % ", ".join(KEY_STATES))
    if "created_days_ago" in obj:
        k["CreationDate"] = time.time() - float(obj["created_days_ago"]) * 86400 - 0.25
    if "CreationDate" in obj:
        k["CreationDate"] = _epoch(obj["CreationDate"], "CreationDate")
    for f in ("DeletionDate", "ValidTo"):
        if f in obj:
            k[f] = None if obj[f] is None else _epoch(obj[f], f)
    if "aliases" in obj:
        k["aliases"] = [a if a.startswith("alias/") else "alias/" + a for a in obj["aliases"]]
    if "rotation" in obj:
        rot = dict(k["rotation"])
        rot.update(obj["rotation"] or {})
        k["rotation"] = rot
    if k["KeyState"] == "PendingDeletion" and not k.get("DeletionDate"):
        k["DeletionDate"] = time.time() + 7 * 86400
    if k["KeyState"] == "PendingDeletion":
        k.setdefault("PendingDeletionWindowInDays", 7)
    if k.get("ValidTo") and "ExpirationModel" not in k:
        k["ExpirationModel"] = "KEY_MATERIAL_EXPIRES"
    if k["Origin"] == "EXTERNAL":
        k.setdefault("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
    k["KeyId"] = key_id
    k["region"] = region
    return k


def key_arn(k):
    return "arn:aws:kms:%s:%s:key/%s" % (k["region"], k["account"], k["KeyId"])


def key_metadata(k):
    md = {"AWSAccountId": k["account"], "Arn": key_arn(k), "CreationDate": k["CreationDate"],
          "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT", "Description": k["Description"],
          "Enabled": k["KeyState"] == "Enabled",
          "EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"], "KeyId": k["KeyId"],
          "KeyManager": k["KeyManager"], "KeySpec": "SYMMETRIC_DEFAULT",
          "KeyState": k["KeyState"], "KeyUsage": "ENCRYPT_DECRYPT",
          "MultiRegion": bool(k["MultiRegion"]), "Origin": k["Origin"]}
    if k["KeyState"] == "PendingDeletion":
        md["DeletionDate"] = k["DeletionDate"]
        md["PendingDeletionWindowInDays"] = k.get("PendingDeletionWindowInDays", 7)
    if k["Origin"] == "EXTERNAL":
        md["ExpirationModel"] = k.get("ExpirationModel", "KEY_MATERIAL_DOES_NOT_EXPIRE")
        if k.get("ValidTo"):
            md["ValidTo"] = k["ValidTo"]
    return md


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def new_temp_credentials(state, kind, role_arn, allow, ttl, source=None):
    akid = "ASIA" + secrets.token_hex(8).upper()
    secret = secrets.token_urlsafe(30)
    token = "IQoJb3JpZ2luX2Vj" + secrets.token_urlsafe(48)
    expires = time.time() + ttl
    rec = {"secret": secret, "token": token, "expires": expires, "kind": kind,
           "role": role_arn, "allow": list(allow), "issued": time.time(), "source": source,
           "arn": (role_arn or "").replace(":iam::", ":sts::").replace(":role/",
                                                                       ":assumed-role/")}
    with state.lock:
        state.aws_users[akid] = rec
    return akid, rec


# --- HTTP endpoints -----------------------------------------------------------------

class AwsMixin:
    """Mixed into the HTTPS handler (KMS, STS) and the control handler
    (IMDS, the /aws control API)."""

    def _aws_headers(self):
        h = {}
        for k, v in self.headers.items():
            h.setdefault(k.lower(), []).append(v)
        return h

    def _aws_take_error(self, operation):
        with self.state.lock:
            for i, e in enumerate(self.state.aws_errors):
                if e["operation"] == operation:
                    if e["count"] > 0:
                        e["count"] -= 1
                        if e["count"] == 0:
                            del self.state.aws_errors[i]
                    return dict(e)
        return None

    # -- routing (HTTPS) --

    def is_aws_request(self):
        if self.req_path != "/" and not self.req_path.startswith("/sts"):
            return False
        if self.headers.get("X-Amz-Target") is not None:
            return True
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        return self.command == "POST" and ctype == "application/x-www-form-urlencoded" and \
            b"Action=" in self.body

    def aws_route(self):
        if self.headers.get("X-Amz-Target") is not None:
            self.aws_kms()
        else:
            self.aws_sts()

    # -- KMS --

    def _kms_error(self, status, type_, message):
        self.reply(status, json.dumps({"__type": type_, "message": message}), KMS_JSON,
                   {"x-amzn-RequestId": str(uuid.uuid4())})

    def aws_kms(self):
        if self.command != "POST":
            self._kms_error(400, "UnknownOperationException", "Only POST is supported.")
            return
        try:
            user, akid, region = verify_sigv4(self.state, self.command, self.req_path,
                                              self.query_string, self._aws_headers(),
                                              self.body, "kms")
        except SigError as e:
            self._kms_error(e.status, e.type, e.message)
            return
        op = KMS_TARGETS.get(self.headers.get("X-Amz-Target"))
        if op is None:
            self._kms_error(400, "UnknownOperationException", "")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != KMS_JSON:
            self._kms_error(400, "SerializationException",
                            "Content-Type must be application/x-amz-json-1.1")
            return
        err = self._aws_take_error(op)
        if err is not None:
            self._kms_error(err["status"], err["type"], err["message"])
            return
        try:
            req = json.loads(self.body.decode("utf-8"))
            key_ref = req["KeyId"]
            if not isinstance(key_ref, str) or not 1 <= len(key_ref) <= 2048:
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self._kms_error(400, "ValidationException",
                            "1 validation error detected: Value at 'keyId' failed to "
                            "satisfy constraint: Member must not be null")
            return
        action = "kms:" + op
        if action not in user["allow"]:
            self._kms_error(400, "AccessDeniedException",
                            "User: %s is not authorized to perform: %s on resource: "
                            "arn:aws:kms:%s:%s:key/* because no identity-based policy "
                            "allows the %s action" % (user["arn"], action, region,
                                                      DEFAULT_ACCOUNT, action))
            return
        k = self._kms_find(region, key_ref)
        if k is None:
            if key_ref.startswith("alias/") or ":alias/" in key_ref:
                name = key_ref if key_ref.startswith("arn:") else \
                    "arn:aws:kms:%s:%s:%s" % (region, DEFAULT_ACCOUNT, key_ref)
                self._kms_error(400, "NotFoundException", "Alias %s is not found." % name)
            else:
                name = key_ref if key_ref.startswith("arn:") else \
                    "arn:aws:kms:%s:%s:key/%s" % (region, DEFAULT_ACCOUNT, key_ref)
                self._kms_error(400, "NotFoundException", "Key '%s' does not exist" % name)
            return
        ok_headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        if op == "DescribeKey":
            self.reply(200, json.dumps({"KeyMetadata": key_metadata(k)}), KMS_JSON, ok_headers)
            return
        state = k["KeyState"]
        if state in ("PendingDeletion", "PendingImport", "Unavailable",
                     "PendingReplicaDeletion"):
            what = {"PendingDeletion": "pending deletion", "PendingImport": "pending import",
                    "Unavailable": "unavailable",
                    "PendingReplicaDeletion": "pending replica deletion"}[state]
            self._kms_error(400, "KMSInvalidStateException", "%s is %s." % (key_arn(k), what))
            return
        if k["Origin"] != "AWS_KMS":
            self._kms_error(400, "UnsupportedOperationException",
                            "%s origin is invalid for this operation." % k["Origin"])
            return
        rot = k["rotation"]
        doc = {"KeyId": key_arn(k), "KeyRotationEnabled": bool(rot.get("enabled"))}
        if rot.get("enabled"):
            doc["RotationPeriodInDays"] = rot.get("period") or 365
            doc["NextRotationDate"] = rot.get("next") or (time.time() + 200 * 86400 + 0.5)
        if rot.get("on_demand"):
            doc["OnDemandRotationStartDate"] = rot["on_demand"]
        self.reply(200, json.dumps(doc), KMS_JSON, ok_headers)

    def _kms_find(self, region, ref):
        with self.state.lock:
            keys = self.state.aws_keys.get(region, {})
            m = re.fullmatch(r"arn:aws[a-z-]*:kms:([^:]+):(\d{12}):(key/|alias/)(.+)", ref)
            if m:
                if m.group(1) != region:
                    return None
                ref = m.group(4) if m.group(3) == "key/" else "alias/" + m.group(4)
            if ref.startswith("alias/"):
                for k in keys.values():
                    if ref in k["aliases"]:
                        return copy.deepcopy(k)
                return None
            k = keys.get(ref)
            return copy.deepcopy(k) if k else None

    # -- STS --

    def _sts_error(self, status, code, message):
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>Sender</Type>\n    '
                '<Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n  <RequestId>%s'
                '</RequestId>\n</ErrorResponse>\n' % (STS_NS, code, _xml_escape(message),
                                                      uuid.uuid4()))
        self.reply(status, body, "text/xml")

    def aws_sts(self):
        form = self._form() or {}
        p = {k: v[0] for k, v in form.items()}
        action = p.get("Action")
        if action not in ("AssumeRole", "AssumeRoleWithWebIdentity"):
            self._sts_error(400, "InvalidAction", "Could not find operation %s for version "
                            "2011-06-15" % action)
            return
        if p.get("Version") != "2011-06-15":
            self._sts_error(400, "InvalidParameterValue", "Version must be 2011-06-15")
            return
        caller = None
        if action == "AssumeRole":
            try:
                caller, _, _ = verify_sigv4(self.state, self.command, self.req_path,
                                            self.query_string, self._aws_headers(), self.body,
                                            "sts")
            except SigError as e:
                code = {"UnrecognizedClientException": "InvalidClientTokenId",
                        "InvalidSignatureException": "SignatureDoesNotMatch",
                        "MissingAuthenticationTokenException": "MissingAuthenticationToken"
                        }.get(e.type, e.type)
                self._sts_error(403 if code != "ExpiredTokenException" else 400, code,
                                e.message)
                return
        err = self._aws_take_error(action)
        if err is not None:
            self._sts_error(err["status"], err["type"], err["message"])
            return
        role_arn, session = p.get("RoleArn"), p.get("RoleSessionName", "")
        if not role_arn or not SESSION_RE.fullmatch(session):
            self._sts_error(400, "ValidationError", "RoleArn and a RoleSessionName of 2 to "
                            "64 characters [\\w+=,.@-] are required")
            return
        try:
            duration = int(p.get("DurationSeconds", "3600"))
        except ValueError:
            duration = -1
        if not 900 <= duration <= 43200:
            self._sts_error(400, "ValidationError", "DurationSeconds must be 900..43200")
            return
        with self.state.lock:
            role = copy.deepcopy(self.state.aws_roles.get(role_arn))
            ttl = min(duration, self.state.aws_ttl["sts"])
        if action == "AssumeRole":
            if role is None or "sts:AssumeRole" not in caller["allow"] or \
                    (role["trusted"] is not None and
                     p_akid(self) not in role["trusted"]):
                self._sts_error(403, "AccessDenied", "User: %s is not authorized to perform: "
                                "sts:AssumeRole on resource: %s" % (caller["arn"], role_arn))
                return
        else:
            tok = p.get("WebIdentityToken")
            if role is None:
                self._sts_error(403, "AccessDenied", "Not authorized to perform "
                                "sts:AssumeRoleWithWebIdentity")
                return
            if not tok or tok not in role["web_identity_tokens"]:
                self._sts_error(400, "InvalidIdentityToken", "The web identity token is not "
                                "valid for this role (fakecloud: not in "
                                "web_identity_tokens)")
                return
        akid, rec = new_temp_credentials(self.state, action, role_arn, role["allow"], ttl)
        result = action + "Result"
        extra = ("<SubjectFromWebIdentityToken>system:serviceaccount:kmswatch:kmswatch"
                 "</SubjectFromWebIdentityToken>\n    " if action != "AssumeRole" else "")
        body = ('<%sResponse xmlns="%s">\n  <%s>\n    %s<AssumedRoleUser>\n      '
                '<AssumedRoleId>AROA%s:%s</AssumedRoleId>\n      <Arn>%s/%s</Arn>\n    '
                '</AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>%s</AccessKeyId>\n'
                '      <SecretAccessKey>%s</SecretAccessKey>\n      <SessionToken>%s'
                '</SessionToken>\n      <Expiration>%s</Expiration>\n    </Credentials>\n  '
                '</%s>\n  <ResponseMetadata>\n    <RequestId>%s</RequestId>\n  '
                '</ResponseMetadata>\n</%sResponse>\n') % (
            action, STS_NS, result, extra, secrets.token_hex(8).upper(), session,
            rec["arn"], session, akid, rec["secret"], rec["token"], iso(rec["expires"]),
            result, uuid.uuid4(), action)
        self.reply(200, body, "text/xml")

    # -- IMDS (control port) --

    def aws_imds(self):
        if self.headers.get("X-Forwarded-For"):
            self.reply(403, "Forbidden", "text/plain")
            return
        err = self._aws_take_error("imds")
        if err is not None:
            self.reply(err["status"], err["message"] or "", "text/plain")
            return
        p = self.req_path
        if p == "/latest/api/token":
            if self.command != "PUT":
                self.reply(405, "", "text/plain")
                return
            try:
                ttl = int(self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", ""))
            except ValueError:
                ttl = 0
            if not 1 <= ttl <= 21600:
                self.reply(400, "", "text/plain")
                return
            tok = secrets.token_urlsafe(40)
            with self.state.lock:
                self.state.aws_imds_tokens[tok] = time.monotonic() + ttl
            self.reply(200, tok, "text/plain",
                       {"X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
            return
        tok = self.headers.get("X-aws-ec2-metadata-token")
        with self.state.lock:
            exp = self.state.aws_imds_tokens.get(tok) if tok else None
            imds = dict(self.state.aws_imds)
            ttl = self.state.aws_ttl["imds"]
            role = copy.deepcopy(self.state.aws_roles.get(imds.get("role_arn") or "")) \
                if imds.get("role_arn") else None
        if exp is None or exp < time.monotonic():
            self.reply(401, "", "text/plain")
            return
        if self.command != "GET":
            self.reply(405, "", "text/plain")
            return
        base = "/latest/meta-data/iam/security-credentials/"
        if not p.startswith(base) or imds.get("role") is None:
            self.reply(404, "Not Found", "text/plain")
            return
        name = p[len(base):]
        if name == "":
            self.reply(200, imds["role"], "text/plain")
            return
        if name != imds["role"]:
            self.reply(404, "Not Found", "text/plain")
            return
        role_arn = imds.get("role_arn") or "arn:aws:iam::%s:role/%s" % (DEFAULT_ACCOUNT,
                                                                        imds["role"])
        allow = role["allow"] if role else DEFAULT_ALLOW
        akid, rec = new_temp_credentials(self.state, "imds", role_arn, allow, ttl)
        self.reply(200, json.dumps({"Code": "Success", "LastUpdated": iso(time.time()),
                                    "Type": "AWS-HMAC", "AccessKeyId": akid,
                                    "SecretAccessKey": rec["secret"], "Token": rec["token"],
                                    "Expiration": iso(rec["expires"])}, indent=2),
                   "text/plain")

    # -- control API (registered by fakecloud.py) --

    def c_aws_state(self):
        with self.state.lock:
            self.reply_json(200, {
                "users": sorted(a for a, u in self.state.aws_users.items()
                                if u.get("kind") == "static"),
                "roles": sorted(self.state.aws_roles),
                "keys": {r: sorted(ks) for r, ks in self.state.aws_keys.items()},
                "imds": self.state.aws_imds, "ttl": self.state.aws_ttl,
                "errors": list(self.state.aws_errors)})

    def _aws_body(self):
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError) as e:
            raise AwsBadInput("body is not valid JSON: %s" % e)

    def _aws_control(self, fn):
        try:
            fn()
        except (AwsBadInput, ValueError, TypeError) as e:
            self.reply_json(400, {"error": str(e)})

    def c_aws_put_users(self):
        def do():
            users = parse_users(self._aws_body())
            with self.state.lock:
                temp = {a: u for a, u in self.state.aws_users.items() if u.get("token")}
                self.state.aws_users = dict(temp, **users)
            self.reply_json(200, {"ok": True})
        self._aws_control(do)

    def c_aws_put_roles(self):
        def do():
            roles = parse_roles(self._aws_body())
            with self.state.lock:
                self.state.aws_roles = roles
            self.reply_json(200, {"ok": True})
        self._aws_control(do)

    def c_aws_put_key(self, region, key_id, merge=False):
        def do():
            body = self._aws_body()
            with self.state.lock:
                old = self.state.aws_keys.get(region, {}).get(key_id) if merge else None
            if merge and old is None:
                self.reply_json(404, {"error": "no key %s in %s" % (key_id, region)})
                return
            k = build_key(region, key_id, body, old)
            with self.state.lock:
                self.state.aws_keys.setdefault(region, {})[key_id] = k
            self.reply_json(200, {"ok": True, "arn": key_arn(k),
                                  "metadata": key_metadata(k)})
        self._aws_control(do)

    def c_aws_patch_key(self, region, key_id):
        self.c_aws_put_key(region, key_id, merge=True)

    def c_aws_delete_key(self, region, key_id):
        with self.state.lock:
            found = self.state.aws_keys.get(region, {}).pop(key_id, None)
        self.reply_json(200 if found else 404, {"ok": bool(found)})

    def c_aws_put_imds(self):
        def do():
            body = self._aws_body()
            if not isinstance(body, dict) or not (body.get("role") is None or
                                                  re.fullmatch(r"[\w+=,.@-]{1,64}",
                                                               body["role"])):
                raise AwsBadInput('{"role": NAME | null, "role_arn"?: ARN}')
            with self.state.lock:
                self.state.aws_imds = {"role": body.get("role"),
                                       "role_arn": body.get("role_arn")}
            self.reply_json(200, {"ok": True})
        self._aws_control(do)

    def c_aws_put_ttl(self):
        def do():
            body = self._aws_body()
            with self.state.lock:
                for k in ("sts", "imds"):
                    if k in body:
                        self.state.aws_ttl[k] = int(body[k])
            self.reply_json(200, {"ok": True})
        self._aws_control(do)

    def c_aws_add_error(self):
        def do():
            b = self._aws_body()
            ops = ("DescribeKey", "GetKeyRotationStatus", "AssumeRole",
                   "AssumeRoleWithWebIdentity", "imds")
            if not isinstance(b, dict) or b.get("operation") not in ops or \
                    not isinstance(b.get("type", ""), str):
                raise AwsBadInput("an error needs \"operation\" (%s) and \"type\"" %
                                  ", ".join(ops))
            e = {"operation": b["operation"], "type": b.get("type", ""),
                 "status": int(b.get("status", 400)), "message": b.get("message", ""),
                 "count": int(b.get("count", 1))}
            with self.state.lock:
                self.state.aws_errors.append(e)
            self.reply_json(200, {"ok": True})
        self._aws_control(do)

    def c_aws_clear_errors(self):
        with self.state.lock:
            self.state.aws_errors = []
        self.reply_json(200, {"ok": True})

    def c_aws_credentials(self):
        with self.state.lock:
            out = [{"access_key_id": a, "kind": u["kind"], "role": u.get("role"),
                    "issued": u.get("issued"), "expires": u.get("expires")}
                   for a, u in self.state.aws_users.items() if u.get("token")]
        self.reply_json(200, sorted(out, key=lambda r: r["issued"]))

    def c_aws_expire_credentials(self):
        with self.state.lock:
            for u in self.state.aws_users.values():
                if u.get("token"):
                    u["expires"] = time.time() - 1
        self.reply_json(200, {"ok": True})


def p_akid(handler):
    auth = handler.headers.get("Authorization") or ""
    m = AUTH_RE.fullmatch(auth.strip())
    return m.group(1).split("/")[0] if m else None


def _xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


_K = r"/aws/keys/([a-z0-9-]+)/([^/]+)"
CONTROL_ROUTES = [
    ("GET", r"/aws", "c_aws_state"),
    ("PUT", r"/aws/users", "c_aws_put_users"),
    ("PUT", r"/aws/roles", "c_aws_put_roles"),
    ("PUT", _K, "c_aws_put_key"),
    ("PATCH", _K, "c_aws_patch_key"),
    ("DELETE", _K, "c_aws_delete_key"),
    ("PUT", r"/aws/imds", "c_aws_put_imds"),
    ("PUT", r"/aws/ttl", "c_aws_put_ttl"),
    ("POST", r"/aws/errors", "c_aws_add_error"),
    ("DELETE", r"/aws/errors", "c_aws_clear_errors"),
    ("GET", r"/aws/credentials", "c_aws_credentials"),
    ("POST", r"/aws/expire_credentials", "c_aws_expire_credentials"),
]


def is_imds_path(path):
    return path == "/latest/api/token" or path.startswith("/latest/meta-data/")
