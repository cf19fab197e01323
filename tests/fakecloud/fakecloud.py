#!/usr/bin/python3
# SPDX-License-Identifier: ISC
r"""fakecloud: a loopback stand-in for the MongoDB Atlas Admin API v2, the Azure
APIs kmswatch reads (Entra ID tokens, managed-identity IMDS, Microsoft Graph,
Key Vault, ARM), AWS KMS, STS and IMDSv2 (with Signature V4 verification:
fakeaws.py documents that part and its /aws control API) and webhook
receivers, used by kmswatch's integration tests. Standard library only.

    /usr/bin/python3 tests/fakecloud/fakecloud.py --dir DIR [--port 0]
        [--control-port 0] [--config FILE] [--verbose]

At start it creates (or reuses) in DIR a test CA (ca.pem, ca.key) and a server
certificate for 127.0.0.1, ::1 and localhost (server.pem, server.key), both EC
P-256, made with the openssl CLI.  It then listens on 127.0.0.1 with

  * HTTPS (TLS 1.2+, HTTP/1.1 keep-alive) on --port: the Atlas API, the Azure
    APIs and the webhook receivers;
  * plain HTTP on --control-port: the control API below, plus the webhook
    receivers and Azure IMDS again;

and writes DIR/ready.json atomically once both listen:
    {"https_port": N, "control_port": M, "ca_file": "DIR/ca.pem", "pid": P}
SIGTERM or SIGINT stop it cleanly (exit 0, ready.json removed).

Atlas endpoints (HTTPS port), facts from docs/reference/atlas-api.md
------------------------------------------------------------------------
  POST /api/oauth/token       client credentials; Basic base64(id:secret),
                              form body grant_type=client_credentials
  POST /api/oauth/revoke      form body token=...; Basic auth
  GET  /api/atlas/v2/unauth/controlPlaneIPAddresses        no auth, 2023-11-15
  GET  /api/atlas/v2/groups                                 2023-01-01, paged
  GET  /api/atlas/v2/orgs/{orgId}/groups                   (itemsPerPage 1..500,
                              capped lower by PUT /atlas/listing); every
                              group not hidden, by name then id: results[]
                              {id, name, orgId, clusterCount, created},
                              totalCount, links self/previous/next
                              (absolute hrefs); an org no group belongs to:
                              404 ORG_NOT_FOUND (UNVERIFIED code)
  GET  /api/atlas/v2/groups/{id}/encryptionAtRest           2023-01-01
  GET  /api/atlas/v2/groups/{id}/ipAddresses                2023-01-01
  GET  /api/atlas/v2/groups/{id}/clusters                   2024-08-05, paged
  GET  /api/atlas/v2/groups/{id}/cloudProviderAccess        2023-01-01
  GET  /api/atlas/v2/groups/{id}/events   2023-01-01, paged like clusters,
                              newest first; eventType (repeatable: any of),
                              minDate / maxDate (ISO 8601) filter on created
  GET  /api/atlas/v2/groups/{id}/encryptionAtRest/{AZURE|AWS}/privateEndpoints
                              2023-01-01, paged like clusters; needs Project
                              Owner: a group marked read-only answers 403
                              (errorCode USER_UNAUTHORIZED: UNVERIFIED, the
                              reference gives the status only); another
                              cloudProvider: 400 INVALID_ENUM_VALUE
  GET  /api/atlas/v2/groups/{id}                            2023-01-01: the group
                              {id, name, orgId, clusterCount, created, links}
  GET  /api/atlas/v2/orgs/{orgId}/serviceAccounts/{clientId}  2024-08-05:
                              {clientId, name, description, createdAt, roles,
                              secrets: [{id, createdAt, expiresAt, lastUsedAt,
                              maskedSecretValue}]} (docs/reference/providers.md).
                              401 without a token; 406 version; 403
                              USER_UNAUTHORIZED when the caller's service
                              account is in another organization or lacks
                              Organization Read Only ("org_read": false); 404
                              RESOURCE_NOT_FOUND when clientId is not a listed
                              account of that organization.  Every service
                              account is in DEFAULT_ORG_ID (as every group)
                              with one secret expiring 365 days after the
                              fake started, masked as "mdb_sa_sk_...LAST4"
                              from its real secret, until told otherwise.
Group endpoints check, in this order: auth (Bearer token or HTTP Digest,
RFC 7616, qop=auth, MD5 or SHA-256) -> 401; the versioned Accept media type ->
406 INVALID_VERSION_DATE; a forbidden group -> 403; an unknown group -> 404
GROUP_NOT_FOUND.  200s carry the versioned Content-Type and RateLimit-Limit /
RateLimit-Remaining; errors are ApiError bodies with application/json.
Digest: realm "MMS Public API"; the client's algorithm must be the one
challenged (no -sess, no userhash), qop=auth with nc and cnonce, uri equal to
the request target; nonces live 300 s (then 401 stale=TRUE) and an nc may
not be reused for a nonce.  OAuth answers use application/json and RFC 6749
error bodies ({"error": "invalid_client", ...}), not ApiError.

Azure endpoints (HTTPS port; IMDS also on the control port), facts from
docs/reference/azure-api.md
------------------------------------------------------------------------
Every Azure host is this one server: kmswatch's azure.endpoints overrides
login, management, graph and key_vault to https://127.0.0.1:PORT and imds to
http://127.0.0.1:CONTROL_PORT (client.FakeCloud.azure_endpoints()).  Paths
tell the APIs apart: /{tenant}/oauth2/v2.0/token, /metadata/identity/...,
/v1.0/..., /subscriptions/..., /keys/....  Azure state starts empty (no
--config part); POST /reset empties it.

  POST /{tenant}/oauth2/v2.0/token      Entra ID v2, client credentials
      form: client_id, scope (ONE resource, "{resource}/.default"),
      grant_type=client_credentials, and client_secret, or
      client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
      jwt-bearer + client_assertion (accepted when equal to the identity's
      "federated" string).  200 {"token_type":"Bearer","expires_in":3599,
      "ext_expires_in":3599,"access_token":...}.  Errors: {"error",
      "error_description": "AADSTSn: ...\r\nTrace ID: ..\r\nCorrelation ID: ..
      \r\nTimestamp: ..", "error_codes": [n], "timestamp": "YYYY-MM-DD
      HH:MM:SSZ", "trace_id", "correlation_id", "error_uri"}:
        unknown tenant                400 invalid_request      90002
        unknown client_id in tenant   400 unauthorized_client  700016
        wrong secret                  401 invalid_client       7000215
        secret past secret_expires    401 invalid_client       7000222
        bad scope (several, no /.default)  400 invalid_scope   70011
        unknown resource              400 invalid_resource     500011
        no credential 401 invalid_client 7000218; assertion mismatch
        401 invalid_client 70021; missing parameter 400 900144; secret and
        assertion together / other assertion type 400 9002313; grant type
        400 unsupported_grant_type 70003; not POST 400 900561 (codes outside
        docs/reference/azure-api.md 1.2 are the usual service ones, approximate).
      An identity's "error" forces one of secret_expired, invalid_secret,
      app_not_found, tenant_not_found, invalid_scope on every request.
      Known resources: the vault, ARM (management.azure.com and
      management.core.windows.net) and Graph hosts of the four clouds of
      docs/reference/azure-api.md 1.1.  A token is JWT-shaped (aud, tid, appid, oid, exp;
      HS256, clients must not parse it) and remembered server-side with its
      identity, tenant and audience; it lives az token_ttl (3599) seconds.
  GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=R
      [&client_id=|object_id=|msi_res_id=|mi_res_id=]     header Metadata: true
      Managed identities are identities with "managed": true; without a
      selector the "system_assigned" one (else the only one).  200 {
      "access_token","client_id","expires_in":"3599","expires_on":"<unix>",
      "ext_expires_in","not_before","resource": R,"token_type":"Bearer"}
      (numbers as strings).  400 {"error":"invalid_request",
      "error_description":...} without Metadata: true, api-version, resource
      or for an unknown identity; 400 invalid_resource for an unknown
      resource (also "/.default" ones: IMDS takes a resource, not a scope).
  GET /v1.0/applications(appId='{appId}')[?$select=...]
  GET /v1.0/servicePrincipals(appId='{appId}')[?$select=...]
  GET /v1.0/{applications|servicePrincipals}/{objectId}
  GET /v1.0/{applications|servicePrincipals}?$filter=appId eq '{appId}'
      Bearer token with a Graph audience, else 401 InvalidAuthenticationToken.
      Reads need the grant "graph"; an identity may read its own application
      and service principal without it (grant "graph_self", default true;
      not for the $filter list).  403 Authorization_RequestDenied; 404
      Request_ResourceNotFound; unknown $select property 400
      Request_BadRequest; other $filter 400 Request_UnsupportedQuery.  Errors
      {"error":{"code","message","innerError":{"date","request-id",
      "client-request-id"}}}.  200s: "@odata.context" + the object (only the
      $select'ed properties, null when unset) or {"value":[...]};
      passwordCredentials [{customKeyIdentifier, displayName, endDateTime,
      hint, keyId, secretText: null, startDateTime}], times ISO-8601 UTC with
      7 fractional digits.
  GET /keys/{name}[/]?api-version=7.5                 the current version
  GET /keys/{name}/{version}?api-version=7.5
  GET /keys/{name}/versions?api-version=7.5[&maxresults=1..25][&$skiptoken=..]
  GET /keys/{name}/rotationpolicy?api-version=7.5
      ROUTING CONTRACT: the daemon sends Key Vault requests to its key_vault
      override (https://127.0.0.1:PORT) with the real path and sets
      "Host: {vault}.{suffix}" (e.g. contoso-kv.vault.azure.net); the fake
      picks the vault from the Host header (port stripped, case-insensitive)
      and requires the suffix to be the vault's.  A Host naming no vault:
      400 BadParameter; an unknown vault: 404 VaultNotFound (fakecloud's own:
      real Azure would fail in DNS).
      Checks in order: api-version (7.0..7.6, missing or other 400
      BadParameter); vault; Bearer token (401 {"error":{"code":"Unauthorized",
      "message":"AKV10000: ..."}} with WWW-Authenticate: Bearer authorization=
      "https://login.windows.net/{vault tenant}", resource="https://vault.
      azure.net" (per cloud); the token's audience must be that resource
      (AKV10022) and its tenant the vault's (AKV10032)); firewall (403
      Forbidden, innererror ForbiddenByFirewall, message "Client address is
      not authorized and caller is not a trusted service.\r\nClient address:
      127.0.0.1\r\nCaller: appid=..;oid=..\r\nVault: NAME;location=LOC");
      grant "keys" (403 Forbidden, innererror ForbiddenByRbac); key and
      version (404 KeyNotFound "A key with (name/id) NAME[/VERSION] was not
      found in this key vault. ...").
      Bundles: {"key":{kid,kty,key_ops,n,e | crv,x,y},"attributes":{enabled,
      [nbf],[exp],created,updated,recoverableDays,recoveryLevel},["tags"]},
      times in unix seconds, exp/nbf absent when unset; recoveryLevel follows
      the vault's soft-delete settings.  The current version is the newest
      by created, enabled or not, as in the service (a key's "current"
      overrides); a disabled version is served with enabled: false.
      Versions pages: {"value":[{kid,attributes,[tags]}],"nextLink"}, in
      version-string order (unrelated to creation: clients sort by created),
      25 per page by default; nextLink is absolute, keeps api-version (and
      maxresults when given) and an opaque $skiptoken, and is null on the
      last page.  Its base is https://127.0.0.1:PORT by default; a vault with
      "next_link": "vault" gives the real form https://{vault}.{suffix}:443/
      keys/.. instead.  Either way a client sends the path and query to its
      key_vault endpoint with the vault's Host header.
      Without a policy set, rotationpolicy answers the service's default
      {"lifetimeActions":[{"trigger":{"timeBeforeExpiry":"P30D"},"action":
      {"type":"Notify"}}],"attributes":{}} (not 404); a set policy gets its
      id, created/updated, and the 30-day Notify added when it has no Notify
      (as the service does).
  GET /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/
      vaults/{name}?api-version=2024-11-01          (path case-insensitive)
      The vault resource {id,name,type,location,tags,systemData{createdBy,
      createdByType,createdAt,lastModifiedBy,lastModifiedByType,
      lastModifiedAt},properties{tenantId,sku,accessPolicies,networkAcls{
      bypass,defaultAction,ipRules[{value}],virtualNetworkRules},
      enabledFor*,enableSoftDelete,softDeleteRetentionInDays,
      enableRbacAuthorization,enablePurgeProtection,vaultUri,
      provisioningState,publicNetworkAccess}}.  Bare IPv4 ipRules are stored
      (on PUT) as /32.  lastModifiedAt moves on every control write of
      properties, tags or location.
  GET {vault id}/providers/Microsoft.Authorization/roleAssignments
      ?api-version=2022-04-01[&$filter=atScope() | principalId eq '{id}' |
      assignedTo('{id}') (joined with "and")]
      {"value":[{"id","name","type","properties":{"roleDefinitionId":
      "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/
      {guid}","principalId","principalType","scope","condition",
      "conditionVersion","createdOn","updatedOn","createdBy","updatedBy",
      "delegatedManagedIdentityResourceId","description"}}]}; without
      atScope() assignments below the vault (scope key:NAME) are listed too.
      ARM checks: api-version (400 MissingApiVersionParameter /
      NoRegisteredProviderFound); Bearer token with an ARM audience (401
      AuthenticationFailed, InvalidAuthenticationToken,
      ExpiredAuthenticationToken, InvalidAuthenticationTokenAudience, and
      InvalidAuthenticationTokenTenant for another tenant than the vault's);
      grant "arm" (vault) or "role_assignments" (defaults to "arm") else 403
      AuthorizationFailed; then 404 SubscriptionNotFound /
      ResourceGroupNotFound / ResourceNotFound.  Errors {"error":{"code",
      "message"}}.  200s carry x-ms-ratelimit-remaining-subscription-reads.
Azure answers use application/json; charset=utf-8 (Graph 200s its OData
variant).  Faults apply to these paths as to Atlas ones; a fault with a
status but no body gets an error body shaped for that API (429 + Retry-After
via "headers").

Google Cloud endpoints (Cloud KMS and the token endpoint on the HTTPS port,
the metadata server on the control port), facts from docs/reference/providers.md
------------------------------------------------------------------------
GCP state starts empty; POST /reset empties it.  kmswatch's gcp.endpoints
point kms at https://127.0.0.1:PORT, token at https://127.0.0.1:PORT/token and
metadata at http://127.0.0.1:CONTROL_PORT (client.FakeCloud.gcp_endpoints()).
  POST /token      grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer,
      assertion=JWT.  The JWT is verified as Google does: alg RS256, iss a
      registered (not disabled) service account (else 400 invalid_grant
      "Invalid grant: account not found"), the RS256 signature against its
      public key and kid its key id ("Invalid JWT Signature."), aud its
      token_uri (default https://oauth2.googleapis.com/token), iat/exp
      within 300 s of now and exp - iat <= 3600 ("... reasonable
      timeframe. Check your iat and exp values ..."), scope cloudkms or
      cloud-platform (400 invalid_scope).  200 {"access_token": "ya29.fake-..",
      "expires_in": gcp token_ttl (3599), "token_type": "Bearer"}.
  GET /computeMetadata/v1/instance/service-accounts/default/token  (control
      port) needs Metadata-Flavor: Google (else 403 text); 404 without an
      attached account (PUT /gcp/metadata); else the token answer above.
  GET /v1/{CryptoKeyVersion name} | /v1/{CryptoKey name}   Bearer token the
      fake issued and not expired (else 401 UNAUTHENTICATED); the account's
      permission cloudkms.cryptoKeyVersions.get / cloudkms.cryptoKeys.get
      (else 403 PERMISSION_DENIED "Permission '..' denied on resource '..'
      (or it may not exist)."); 404 NOT_FOUND for an unknown key or version.
      Versions: {name, state, createTime, [destroyTime], [destroyEventTime],
      algorithm, protectionLevel, [importFailureReason]}; keys: {name,
      purpose, createTime, primary (the version), [rotationPeriod "Ns",
      nextRotationTime], versionTemplate}; times RFC 3339 with nanoseconds.
      Errors {"error": {"code", "status", "message"}}; a fault on these paths
      without a body gets that shape (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE).
  Control:
  GET    /gcp                                summary
  PUT    /gcp/service_accounts               account or list (replaces all):
         {"client_email", "public_key" (PEM), "key_id"?, "token_uri"?,
         "permissions"? (both cloudkms gets), "disabled"?}
  POST   /gcp/service_accounts               add or replace (same body)
  PATCH  /gcp/service_accounts/{email}       merge (permissions, disabled, ..)
  PUT    /gcp/metadata                       {"client_email": E | null}
  PUT    /gcp/kms/{key name}                 {"versions": {"N": {"state"?
         (ENABLED), "createTime"? (now), "destroyTime"?, ...}}, "primary"?
         (highest N), "rotationPeriod"?, "nextRotationTime"?, "createTime"?}
  PATCH  /gcp/kms/{key or version name}      merge fields   GET, DELETE too
  PUT    /gcp/token_ttl {"seconds": N}   POST /gcp/revoke_tokens
  GET    /gcp/tokens                         issued tokens (without the token)

Webhook receiver (both ports): POST /hooks/{name} records the delivery and
answers 200 {"ok":true}, unless a scripted response is queued for that name.

Faults and scripted responses share one shape (all keys optional):
  {"status": int, "body": str, "body_b64": str, "headers": {..},
   "hang": seconds, "close": true | "reset", "content_length": int,
   "count": N (default 1, -1 = forever), "method": "GET"}    (method: faults only)
  - hang: wait that long first (then apply the rest, or handle normally if
    neither status nor close is given);
  - close: drop the connection without answering (true = FIN, "reset" = RST);
  - status without body: a generic ApiError body for that status (>= 400) or
    an empty body; Content-Type defaults to application/json for a non-empty
    body;
  - content_length: send this Content-Length instead of the real one (the
    connection is closed after the body, so lies are detectable).
Faults are matched by path prefix (query ignored) in the order they were
added, before any normal handling, on every HTTPS request and on webhook
deliveries to the control port.

Control API (plain HTTP JSON on the control port)
-------------------------------------------------
  GET    /health
  POST   /reset                          back to the start state (--config)
  PUT    /atlas/groups/{id}/ear          body: EAR doc (any JSON); creates group
  GET    /atlas/groups/{id}              the group's stored state
  DELETE /atlas/groups/{id}              group gone -> 404 GROUP_NOT_FOUND
  PUT    /atlas/groups/{id}/project      {"name"?, "orgId"?, "hidden"?}: what the
                                         project listing shows (creates the
                                         group; defaults: name group-<id>, the
                                         org 5f1a2b3c4d5e6f7081920a1b, listed)
  PUT    /atlas/listing                  {"max_items_per_page": N}: a page of
                                         GET /groups holds at most N results
  POST   /atlas/groups/{id}/forbid       optional body {"errorCode","detail",
                                         "parameters"} -> 403 ApiError
  DELETE /atlas/groups/{id}/forbid       allowed again
  PUT    /atlas/groups/{id}/ipAddresses  | clusters (list or {"results":[..]})
  PUT    /atlas/groups/{id}/cloudProviderAccess    (these create the group too)
  PUT    /atlas/groups/{id}/privateEndpoints/{AZURE|AWS}  list of EARPrivateEndpoint
  PUT    /atlas/groups/{id}/events       list of {"eventTypeName", "created", "id"?}
  PUT    /atlas/groups/{id}/role         {"project_owner": bool}: false makes the
                                         private endpoints answer 403
  PUT    /atlas/controlPlaneIPAddresses
  PUT    /atlas/apikeys                  {"public_key":P,"private_key":K} or {P:K,..}
  PUT    /atlas/service_accounts         {"client_id":I,"client_secret":S} or {I:S,..}
  PUT    /atlas/service_accounts/{id}/secrets   list of {"expiresAt" (required),
                                         "id"?, "createdAt"?, "lastUsedAt"?,
                                         "maskedSecretValue"? | "secret"? (masked
                                         as Atlas does)}: what the org API lists
  PUT    /atlas/service_accounts/{id}/meta  {"orgId"?, "org_read"? (true),
                                         "listed"? (true; false: 404)}
  GET    /atlas/service_accounts/{id}/meta  the account's org view
  PUT    /atlas/token_ttl                {"seconds": N}
  POST   /atlas/revoke_tokens            every issued token stops working
  PUT    /atlas/digest_algorithm         {"algorithm": "MD5" | "SHA-256"}
  POST   /faults                         {"path": prefix, ...fault, "exact"?: true
                                         (path must equal), "query"?: {name:
                                         value} (each must be in the query)}
  GET    /faults                         pending faults
  DELETE /faults
  POST   /hooks/{name}/responses         a fault object or a list of them
  GET    /hooks/{name}                   recorded deliveries
  DELETE /hooks/{name}   DELETE /hooks   forget deliveries and scripts
  GET    /requests[?path=prefix&since=seq]   request log
  DELETE /requests
  PUT    /tls                            {"mode": "good"|"untrusted"|"wrong_host"|
                                         "expired"}: certificate for new connections
  Azure (times: unix seconds or ISO-8601 strings; PUT replaces):
  GET    /azure                          summary of the Azure state
  PUT    /azure/identities               identity or list (replaces all);
         identity: {"tenant", "client_id", "secret"?, "federated"?,
         "managed"?, "system_assigned"?, "resource_id"?, "object_id"?,
         "secret_expires"?, "error"?: secret_expired|invalid_secret|
         app_not_found|tenant_not_found|invalid_scope}.  A tenant exists while
         it has an identity.  Tokens carry object_id, else the Graph service
         principal's id for client_id, else one derived from client_id.
  POST   /azure/identities               add or replace (same body)
  GET    /azure/identities   DELETE /azure/identities/{tenant}/{client_id}
  PUT    /azure/grants                   {client_id: grant, ..} or
         {"client_id": C, ..grant} (replaces all); grant: {"graph": bool,
         "graph_self": bool (default true), "keys", "arm",
         "role_assignments" (default: as "arm"): true | false | [vault names]}.
         No grant: nothing readable (but the Graph self-read).
  PUT    /azure/grants/{client_id}       one grant    GET /azure/grants
  PUT    /azure/graph/applications/{appId}      {"id"?, "displayName"?,
  PUT    /azure/graph/servicePrincipals/{appId}  "passwordCredentials"?: [{
         "keyId"?, "displayName"?, "hint"?, "startDateTime"? (now),
         "endDateTime"? (start + 2 years; null: none)}], "keyCredentials"?,
         other Graph properties}; ids default to stable derived GUIDs.
         Answers {"ok", "object": the stored object}.   GET, DELETE too.
  PUT    /azure/vaults/{name}            {"subscription", "resource_group",
         "tenant" (defaults: those of the default EAR), "location"
         (westeurope), "suffix" (vault.azure.net), "properties" (merged onto
         defaults: open network, access policies [], soft delete 90 days,
         purge protection, RBAC off; null removes one), "tags", "systemData",
         "keys": {name: versions | {"versions", "current"?,
         "rotation_policy"?}}, "firewall", "role_assignments",
         "next_link": "override"|"vault"}; answers {"ok", "vault": view}.
         key version: {"version"? (random 32 hex), "created"? (now),
         "updated"? (created), "enabled"? (true), "nbf"?, "exp"?, "kty"?
         (RSA), "key_ops"?, "key_size"?, "crv"?, "tags"?, "recoveryLevel"?,
         "recoverableDays"?, "managed"?, "exportable"?}.
  PATCH  /azure/vaults/{name}            same body merged in (properties
         shallowly, keys per key, null deletes a key)
  GET    /azure/vaults/{name}            {"arm", "keys", "firewall",
         "next_link", "role_assignments"} as served      DELETE too
  PUT    /azure/vaults/{name}/keys/{key}          versions | {"versions", ..}
  DELETE /azure/vaults/{name}/keys/{key}
  POST   /azure/vaults/{name}/keys/{key}/versions  add one ({} = new, now);
         answers {"ok", "version", "kid"}
  PATCH  /azure/vaults/{name}/keys/{key}/versions/{version}   attributes
         (enabled, exp, nbf, tags, created, updated; updated defaults to now)
  PUT    /azure/vaults/{name}/keys/{key}/rotationpolicy   {"lifetimeActions",
         "attributes": {"expiryTime"?}} or null (service default again)
  PUT    /azure/vaults/{name}/firewall   {"deny": bool, "client_address"?}
  PUT    /azure/roleAssignments/{vault}  [{"principalId", "role": built-in
         name (ROLE_DEFINITIONS) or GUID, "principalType"? (ServicePrincipal),
         "scope"?: vault|resource_group|subscription|key:NAME|/path,
         "name"?}]
  PUT    /azure/token_ttl                {"seconds": N}
  POST   /azure/revoke_tokens            every Azure token stops working
  GET    /azure/tokens                   issued tokens (without the token)
PUT replaces.  Control errors are {"error": "..."} with 400/404/405.

Request log entries: seq, time, listener ("https"|"http"), conn (remote port),
conn_serial (unique per connection), method, path, query, headers (lower-cased
names; Authorization reduced to its scheme), body_bytes, status (null while in
flight or when no answer was sent), fault (true if a fault/script answered).
The log keeps the newest 20000 entries.

--config FILE: {"apikeys": {pub: priv}, "service_accounts": {id: secret},
"groups": {id: ear (null = the default EAR)}, "token_ttl": N,
"digest_algorithm": "MD5"|"SHA-256", "controlPlaneIPAddresses": {...}};
all keys optional.  Without it: no API keys, no service accounts, no groups.
"""

import argparse
import base64
import calendar
import collections
import copy
import datetime
import hashlib
import hmac
import http
import http.server
import json
import os
import re
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import uuid

import fakeaws

# --- constants ---------------------------------------------------------------

MT_2023_01_01 = "application/vnd.atlas.2023-01-01+json"
MT_2023_11_15 = "application/vnd.atlas.2023-11-15+json"
MT_2024_08_05 = "application/vnd.atlas.2024-08-05+json"
MT_JSON = "application/json"

DIGEST_REALM = "MMS Public API"
DIGEST_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
NONCE_LIFETIME = 300.0          # seconds a digest nonce stays fresh
MAX_NONCES = 10000

MAX_BODY = 64 * 1024 * 1024     # request bodies above this get 413
MAX_LOG = 20000                 # request-log entries kept
MAX_HOOK_RECORDS = 10000        # deliveries kept per hook name
IDLE_TIMEOUT = 120              # keep-alive connections idle longer are closed
HANDSHAKE_TIMEOUT = 10
RATE_LIMIT = 100                # RateLimit-Limit reported on Atlas 200s
RATE_WINDOW = 60.0              # seconds; RateLimit-Remaining counts this window
TOKEN_TTL_DEFAULT = 3600
MAX_AZ_TOKENS = 20000         # Azure tokens remembered (oldest dropped)

OPENSSL = "/usr/bin/openssl" if os.path.exists("/usr/bin/openssl") else "openssl"

# Transport-level errors that only mean "the client went away".
CLIENT_GONE = (ConnectionError, TimeoutError, socket.timeout, ssl.SSLError, BrokenPipeError)


# --- default documents (synthetic, shaped after docs/reference/atlas-api.md) -----------------

DEFAULT_ROLE_ID = "65a1b2c3d4e5f60718293a4b"
DEFAULT_ORG_ID = "5f1a2b3c4d5e6f7081920a1b"
FAKE_STARTED = time.time()


def default_ear():
    """The Azure-enabled sample of docs/reference/atlas-api.md section 1."""
    return {
        "awsKms": {"enabled": False, "valid": False, "requirePrivateNetworking": False},
        "azureKeyVault": {
            "azureEnvironment": "AZURE",
            "clientID": "b0c1d2e3-f405-4617-8829-3a4b5c6d7e8f",
            "enabled": True,
            "keyIdentifier": "https://contoso-kv.vault.azure.net/keys/atlas-cmk/"
                             "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "keyVaultName": "contoso-kv",
            "requirePrivateNetworking": False,
            "resourceGroupName": "rg-atlas-cmk",
            "roleId": DEFAULT_ROLE_ID,
            "subscriptionID": "11111111-2222-4333-8444-555555555555",
            "tenantID": "99999999-8888-4777-8666-555555555555",
            "valid": True,
        },
        "googleCloudKms": {"enabled": False, "valid": False},
        "enabledForSearchNodes": False,
    }


def default_control_plane_ips():
    return {
        "inbound": {"aws": {"us-east-1": ["198.51.100.10/32"]},
                    "azure": {"eastus2": ["203.0.113.20/32"]}, "gcp": {}},
        "outbound": {"aws": {"us-east-1": ["198.51.100.40/32", "198.51.100.41/32"],
                             "eu-west-1": ["198.51.100.50/32"]},
                     "azure": {}, "gcp": {}},
        "gateways": [{"name": "Atlas Gateway",
                      "ips": {"inbound": {"aws": {"us-east-1": ["192.0.2.60/32"]}},
                              "outbound": {"aws": {"us-east-1": ["192.0.2.61/32"]}}}}],
    }


def default_ip_addresses(gid):
    return {"groupId": gid, "services": {"clusters": [{
        "clusterName": "Cluster0",
        "inbound": ["203.0.113.101", "203.0.113.102", "203.0.113.103"],
        "outbound": ["203.0.113.201", "203.0.113.202", "203.0.113.203"],
        "futureInbound": [], "futureOutbound": []}]}}


def default_clusters(gid, ear):
    """One idle cluster whose EAR provider follows the group's EAR document."""
    provider = "NONE"
    if isinstance(ear, dict):
        for key, name in (("azureKeyVault", "AZURE"), ("awsKms", "AWS"), ("googleCloudKms", "GCP")):
            sub = ear.get(key)
            if isinstance(sub, dict) and sub.get("enabled") is True:
                provider = name
                break
    return [{"id": hashlib.sha1(gid.encode()).hexdigest()[:24], "groupId": gid,
             "name": "Cluster0", "clusterType": "REPLICASET",
             "encryptionAtRestProvider": provider, "stateName": "IDLE", "paused": False,
             "mongoDBVersion": "8.0.4", "createDate": "2025-11-03T09:12:44Z"}]


def default_cloud_provider_access():
    return {
        "awsIamRoles": [],
        "azureServicePrincipals": [{
            "_id": DEFAULT_ROLE_ID, "providerName": "AZURE",
            "atlasAzureAppId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
            "servicePrincipalId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
            "tenantId": "99999999-8888-4777-8666-555555555555",
            "createdDate": "2026-01-15T10:00:00Z", "lastUpdatedDate": "2026-01-15T10:05:00Z",
            "featureUsages": [{"featureType": "ENCRYPTION_AT_REST", "featureId": None}]}],
        "gcpServiceAccounts": [],
    }


def reason_phrase(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def api_error(status, code, detail, parameters=()):
    """An Atlas ApiError body (docs/reference/atlas-api.md section 9)."""
    return {"detail": detail, "error": status, "errorCode": code,
            "parameters": list(parameters), "reason": reason_phrase(status)}


# errorCode used when a fault/script gives a status but no body.
GENERIC_ERROR_CODES = {400: "VALIDATION_ERROR", 401: "UNAUTHORIZED", 403: "FORBIDDEN",
                       404: "RESOURCE_NOT_FOUND", 409: "CONFLICT", 429: "RATE_LIMITED",
                       500: "UNEXPECTED_ERROR", 502: "BAD_GATEWAY",
                       503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT"}


# --- certificates -------------------------------------------------------------

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = fakecloud
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[v3_srv]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = ${ENV::FAKECLOUD_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
"""

# Key Vault hosts too: kmswatchd reaches {vault}.{suffix} through its
# key_vault override with curl's CONNECT_TO, keeping the vault's name for
# TLS and the Host header, as it would over a private endpoint.
GOOD_SAN = ("IP:127.0.0.1,IP:::1,DNS:localhost,DNS:*.vault.azure.net,DNS:*.vault.azure.cn,"
            "DNS:*.vault.usgovcloudapi.net")


def _openssl(args, cwd, san=GOOD_SAN):
    env = dict(os.environ, FAKECLOUD_SAN=san)
    r = subprocess.run([OPENSSL] + args, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.strip()))


def _gen_key(path, cwd):
    _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
              "-out", path], cwd)


def _gen_ca(tmp, pem, key, cn):
    _gen_key(key, tmp)
    _openssl(["req", "-x509", "-new", "-config", "openssl.cnf", "-extensions", "v3_ca",
              "-key", key, "-subj", "/O=kmswatch tests/CN=" + cn, "-days", "3650",
              "-sha256", "-out", pem], tmp)


def _gen_leaf(tmp, ca_pem, ca_key, pem, key, san, days):
    _gen_key(key, tmp)
    _openssl(["req", "-new", "-config", "openssl.cnf", "-key", key,
              "-subj", "/CN=localhost", "-out", "leaf.csr"], tmp)
    # days < 0 yields notAfter < notBefore: an expired certificate.
    _openssl(["x509", "-req", "-in", "leaf.csr", "-CA", ca_pem, "-CAkey", ca_key,
              "-set_serial", "0x" + secrets.token_hex(12), "-days", str(days), "-sha256",
              "-extfile", "openssl.cnf", "-extensions", "v3_srv", "-out", pem], tmp, san)


def _files_ok(paths):
    return all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in paths)


def _generate(directory, produce, names):
    """Run produce(tmpdir) in a scratch dir, then move `names` into directory
    (os.replace, so a reader never sees a half-written file)."""
    with tempfile.TemporaryDirectory(dir=directory, prefix=".certgen-") as tmp:
        with open(os.path.join(tmp, "openssl.cnf"), "w") as f:
            f.write(OPENSSL_CNF)
        produce(tmp)
        for n in names:
            os.replace(os.path.join(tmp, n), os.path.join(directory, n))


class CertStore:
    """Owns the certificates in DIR and one SSLContext per TLS mode:
    good (test CA), untrusted (a second, unknown CA), wrong_host (test CA,
    SAN wrong-host.invalid only), expired (test CA, already expired).
    Non-good material is created on first use only."""

    MODES = ("good", "untrusted", "wrong_host", "expired")

    def __init__(self, directory):
        self.dir = directory
        self.ca_file = os.path.join(directory, "ca.pem")
        self._lock = threading.Lock()
        self._contexts = {}
        self.mode = "good"
        self._ensure_main()
        self.context("good")   # fail at start, not on the first client

    def _p(self, name):
        return os.path.join(self.dir, name)

    def _ensure_main(self):
        names = ["ca.pem", "ca.key", "server.pem", "server.key"]
        if _files_ok([self._p(n) for n in names]):
            try:
                self._new_context(self._p("server.pem"), self._p("server.key"))
                return
            except (ssl.SSLError, OSError):
                pass    # unusable leftovers: make new ones

        def produce(tmp):
            _gen_ca(tmp, "ca.pem", "ca.key", "kmswatch fakecloud test CA")
            _gen_leaf(tmp, "ca.pem", "ca.key", "server.pem", "server.key", GOOD_SAN, 825)
        _generate(self.dir, produce, names)

    def _ensure_alt(self, mode):
        pem, key = "alt-%s.pem" % mode, "alt-%s.key" % mode
        if _files_ok([self._p(pem), self._p(key)]):
            return self._p(pem), self._p(key)
        ca_pem, ca_key = self._p("ca.pem"), self._p("ca.key")

        def produce(tmp):
            if mode == "untrusted":
                _gen_ca(tmp, "rogue-ca.pem", "rogue-ca.key", "kmswatch fakecloud ROGUE CA")
                _gen_leaf(tmp, "rogue-ca.pem", "rogue-ca.key", pem, key, GOOD_SAN, 825)
            elif mode == "wrong_host":
                _gen_leaf(tmp, ca_pem, ca_key, pem, key, "DNS:wrong-host.invalid", 825)
            else:   # expired
                _gen_leaf(tmp, ca_pem, ca_key, pem, key, GOOD_SAN, -1)
        _generate(self.dir, produce, [pem, key])
        return self._p(pem), self._p(key)

    @staticmethod
    def _new_context(pem, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_alpn_protocols(["http/1.1"])    # we speak HTTP/1.1 only
        ctx.load_cert_chain(pem, key)
        return ctx

    def context(self, mode=None):
        with self._lock:
            mode = mode or self.mode
            ctx = self._contexts.get(mode)
            if ctx is None:
                if mode == "good":
                    pem, key = self._p("server.pem"), self._p("server.key")
                else:
                    pem, key = self._ensure_alt(mode)
                ctx = self._contexts[mode] = self._new_context(pem, key)
            return ctx

    def set_mode(self, mode):
        if mode not in self.MODES:
            raise ValueError("mode must be one of %s" % ", ".join(self.MODES))
        self.context(mode)      # build it now so errors reach the caller
        with self._lock:
            self.mode = mode


# --- validation helpers -------------------------------------------------------

class BadInput(Exception):
    """A control request or config the server refuses (-> 400)."""


class ControlNotFound(Exception):
    """A control request names something that does not exist (-> 404)."""


def _str_map(obj, what):
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                            for k, v in obj.items()):
        raise BadInput("%s must be an object of string to string" % what)
    return dict(obj)


def parse_apikeys(obj):
    if isinstance(obj, dict) and set(obj) == {"public_key", "private_key"}:
        return _str_map({obj["public_key"]: obj["private_key"]}, "apikeys")
    return _str_map(obj, "apikeys")


def parse_service_accounts(obj):
    if isinstance(obj, dict) and set(obj) == {"client_id", "client_secret"}:
        return _str_map({obj["client_id"]: obj["client_secret"]}, "service_accounts")
    return _str_map(obj, "service_accounts")


def parse_ttl(obj):
    if isinstance(obj, dict):
        obj = obj.get("seconds")
    if isinstance(obj, bool) or not isinstance(obj, int) or obj < 0:
        raise BadInput("token ttl must be a non-negative integer number of seconds")
    return obj


def parse_algorithm(obj):
    if isinstance(obj, dict):
        obj = obj.get("algorithm")
    for name in DIGEST_HASHES:
        if isinstance(obj, str) and obj.upper() == name:
            return name
    raise BadInput("algorithm must be MD5 or SHA-256")


FAULT_KEYS = {"status", "body", "body_b64", "headers", "hang", "close",
              "content_length", "count"}


def parse_fault(obj, allow=()):
    """Validate a fault / scripted response; unknown keys are refused so that
    a typo in a test fails loudly instead of being ignored."""
    if not isinstance(obj, dict):
        raise BadInput("a fault must be a JSON object")
    unknown = set(obj) - FAULT_KEYS - set(allow)
    if unknown:
        raise BadInput("unknown fault keys: %s" % ", ".join(sorted(unknown)))
    f = {"count": 1, "headers": {}}
    status = obj.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise BadInput("status must be an integer 200..599")
        f["status"] = status
    if "body" in obj and "body_b64" in obj:
        raise BadInput("give body or body_b64, not both")
    if "body" in obj:
        if not isinstance(obj["body"], str):
            raise BadInput("body must be a string")
        f["body"] = obj["body"].encode("utf-8")
    if "body_b64" in obj:
        try:
            f["body"] = base64.b64decode(obj["body_b64"], validate=True)
        except (ValueError, TypeError):
            raise BadInput("body_b64 is not base64")
    headers = obj.get("headers", {})
    if not isinstance(headers, dict):
        raise BadInput("headers must be an object")
    for k, v in headers.items():
        v = str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if not isinstance(v, str) or not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", k) \
                or any(c in v for c in "\r\n\0"):
            raise BadInput("bad header %r" % k)
        f["headers"][k] = v
    hang = obj.get("hang", 0)
    if isinstance(hang, bool) or not isinstance(hang, (int, float)) or not 0 <= hang <= 3600:
        raise BadInput("hang must be a number of seconds 0..3600")
    f["hang"] = float(hang)
    close = obj.get("close", False)
    if close not in (True, False, "reset"):
        raise BadInput('close must be true, false or "reset"')
    f["close"] = close
    cl = obj.get("content_length")
    if cl is not None:
        if isinstance(cl, bool) or not isinstance(cl, int) or cl < 0:
            raise BadInput("content_length must be a non-negative integer")
        f["content_length"] = cl
    if f["headers"] and not ({"status", "body", "body_b64", "content_length"} & set(obj)):
        raise BadInput("headers need a status (or body) to be sent with")
    count = obj.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or (count < 1 and count != -1):
        raise BadInput("count must be >= 1 or -1 (forever)")
    f["count"] = count
    return f


def fault_view(f):
    """JSON-safe view of a stored fault (bodies may be binary and huge)."""
    v = {k: val for k, val in f.items() if k != "body"}
    if "body" in f:
        v["body_bytes"] = len(f["body"])
    return v


def load_config(path):
    cfg = {}
    if path:
        try:
            with open(path, "rb") as f:
                cfg = json.loads(f.read())
        except (OSError, ValueError) as e:
            raise BadInput("cannot read config %s: %s" % (path, e))
        if not isinstance(cfg, dict):
            raise BadInput("config must be a JSON object")
    known = {"apikeys", "service_accounts", "groups", "token_ttl", "digest_algorithm",
             "controlPlaneIPAddresses"}
    unknown = set(cfg) - known
    if unknown:
        raise BadInput("unknown config keys: %s" % ", ".join(sorted(unknown)))
    groups = cfg.get("groups", {})
    if not isinstance(groups, dict):
        raise BadInput("groups must be an object of group id to EAR document")
    return {
        "apikeys": parse_apikeys(cfg.get("apikeys", {})),
        "service_accounts": parse_service_accounts(cfg.get("service_accounts", {})),
        "groups": groups,
        "token_ttl": parse_ttl(cfg.get("token_ttl", TOKEN_TTL_DEFAULT)),
        "digest_algorithm": parse_algorithm(cfg.get("digest_algorithm", "MD5")),
        "controlPlaneIPAddresses": cfg.get("controlPlaneIPAddresses",
                                           default_control_plane_ips()),
    }


# --- Azure: constants and helpers (facts from docs/reference/azure-api.md) -----

AZ_TOKEN_TTL_DEFAULT = 3599
TICKS = 10 ** 7                     # Graph timestamps keep 7 fractional digits
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MT_AZ_JSON = "application/json; charset=utf-8"
MT_GRAPH = ("application/json;odata.metadata=minimal;odata.streaming=true;"
            "IEEE754Compatible=false;charset=utf-8")
AZ_NAMESPACE = uuid.UUID("6f0d9a52-5c1e-4b7a-9a43-2c1f3e0b8d11")   # for derived ids
AZ_ADMIN_OID = "0a1b2c3d-4e5f-4061-8273-948596a7b8c9"   # "who" in systemData, createdBy

# Token resources (scope minus "/.default", no trailing slash, lower case) -> kind.
AZ_RESOURCES = {}
for _kind, _hosts in (
        ("vault", ("vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net",
                   "vault.microsoftazure.de")),
        ("arm", ("management.azure.com", "management.core.windows.net",
                 "management.chinacloudapi.cn", "management.core.chinacloudapi.cn",
                 "management.usgovcloudapi.net", "management.core.usgovcloudapi.net",
                 "management.microsoftazure.de")),
        ("graph", ("graph.microsoft.com", "microsoftgraph.chinacloudapi.cn",
                   "graph.microsoft.us", "dod-graph.microsoft.us", "graph.microsoft.de"))):
    for _h in _hosts:
        AZ_RESOURCES["https://" + _h] = _kind

# Key Vault DNS suffix -> (token resource the vault expects, authority host of
# its 401 challenge).  Public-cloud vaults answer with login.windows.net.
KV_SUFFIXES = {"vault.azure.net": ("https://vault.azure.net", "login.windows.net"),
               "vault.azure.cn": ("https://vault.azure.cn", "login.chinacloudapi.cn"),
               "vault.usgovcloudapi.net": ("https://vault.usgovcloudapi.net",
                                           "login.microsoftonline.us"),
               "vault.microsoftazure.de": ("https://vault.microsoftazure.de",
                                           "login.microsoftonline.de")}
KV_API_VERSIONS = ("7.0", "7.1", "7.2", "7.3", "7.4", "7.5", "7.6")
KV_MAX_RESULTS = 25
KV_KTY = ("EC", "EC-HSM", "RSA", "RSA-HSM", "oct", "oct-HSM")
KV_DEFAULT_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
KV_NOTIFY_DEFAULT = {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}
ARM_VAULT_API_VERSIONS = ("2016-10-01", "2018-02-14", "2019-09-01", "2021-10-01",
                          "2022-07-01", "2023-02-01", "2023-07-01", "2024-11-01")
ARM_RA_API_VERSIONS = ("2015-07-01", "2018-01-01-preview", "2020-04-01-preview",
                       "2020-10-01-preview", "2022-04-01")
IMDS_API_VERSIONS = ("2018-02-01", "2019-08-01", "2019-11-01", "2020-06-01",
                     "2021-02-01", "2021-05-01", "2021-12-13")
ARM_READS_LIMIT = 250               # x-ms-ratelimit-remaining-subscription-reads
ARM_READS_WINDOW = 10.0

# Built-in role definition GUIDs.  VERIFIED: every GUID below was checked
# against the role table of MicrosoftDocs azure-docs built-in-roles.md
# (role-based-access-control; stored localized copies, looked up with the
# `search` tool), and the Key Vault ones also against public Bicep modules.
ROLE_DEFINITIONS = {
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "Key Vault Contributor": "f25e0fa2-a7c8-4377-a976-54943a77a395",
    "Key Vault Crypto Officer": "14b46e9e-c2b7-41b4-b07b-48a6ebf60603",
    "Key Vault Crypto Service Encryption User": "e147488a-f6f5-4113-8e2d-b22465e65bf6",
    "Key Vault Crypto User": "12338af0-0e69-4776-bea7-57ae8d297424",
    "Key Vault Reader": "21090545-7ca7-4776-b22c-e363652d74d2",
}

# Entra ID errors a test can force on an identity ("error": name).  The codes
# and texts of docs/reference/azure-api.md 1.2; the 700016 / 90002 / 70011 texts are the
# usual service wording (UNVERIFIED there).
AAD_ERRORS = {
    "secret_expired": (401, "invalid_client", 7000222,
                       "The provided client secret keys for app '{app}' are expired. Visit "
                       "the Azure portal to create new keys for your app: "
                       "https://aka.ms/NewClientSecret, or consider using certificate "
                       "credentials for added security: https://aka.ms/certCreds."),
    "invalid_secret": (401, "invalid_client", 7000215,
                       "Invalid client secret provided. Ensure the secret being sent in the "
                       "request is the client secret value, not the client secret ID, for a "
                       "secret added to app '{app}'."),
    "app_not_found": (400, "unauthorized_client", 700016,
                      "Application with identifier '{app}' was not found in the directory "
                      "'{tenant}'. This can happen if the application has not been installed "
                      "by the administrator of the tenant or consented to by any user in the "
                      "tenant. You may have sent your authentication request to the wrong "
                      "tenant."),
    "tenant_not_found": (400, "invalid_request", 90002,
                         "Tenant '{tenant}' not found. Check to make sure you have the "
                         "correct tenant ID and are signing into the correct cloud. Check "
                         "with your subscription administrator, this may happen if there "
                         "are no active subscriptions for the tenant."),
    "invalid_scope": (400, "invalid_scope", 70011,
                      "The provided value for the input parameter 'scope' is not valid. "
                      "The scope {scope} is not valid."),
}

GRAPH_PROPS = {
    "application": ("id", "appId", "displayName", "createdDateTime", "description", "notes",
                    "signInAudience", "publisherDomain", "identifierUris", "tags",
                    "keyCredentials", "passwordCredentials", "deletedDateTime"),
    "servicePrincipal": ("id", "appId", "displayName", "appDisplayName", "accountEnabled",
                         "appOwnerOrganizationId", "servicePrincipalType",
                         "servicePrincipalNames", "tags", "description", "notes",
                         "keyCredentials", "passwordCredentials", "deletedDateTime"),
}
GRAPH_SETS = {"applications": "application", "serviceprincipals": "servicePrincipal"}
GRAPH_SET_NAMES = {"application": "applications", "servicePrincipal": "servicePrincipals"}


def az_uuid(*parts):
    """A stable GUID derived from parts (default object ids and the like)."""
    return str(uuid.uuid5(AZ_NAMESPACE, "\0".join(p.lower() for p in parts)))


def iso7(ticks):
    """Graph/ARM style UTC timestamp with 7 fractional digits."""
    secs, frac = divmod(int(ticks), TICKS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%07dZ" % frac


def iso_seconds(secs):
    """Atlas style UTC timestamp, whole seconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(secs))


def now_ticks():
    return int(time.time() * TICKS)


_ISO_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})"
                     r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
                     r"(Z|z|[+-]\d{2}:?\d{2})?")


def parse_when(value, what):
    """Unix seconds (int/float) or an ISO-8601 date/time string -> ticks
    (100 ns units since the epoch)."""
    if isinstance(value, bool) or value is None:
        raise BadInput("%s must be unix seconds or an ISO-8601 time" % what)
    if isinstance(value, (int, float)):
        if not 0 <= value < 253402300800:
            raise BadInput("%s is out of range" % what)
        return int(round(value * TICKS))
    m = _ISO_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if m is None:
        raise BadInput("%s must be unix seconds or an ISO-8601 time, not %r" % (what, value))
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    try:
        dt = datetime.datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0),
                               int(ss or 0), tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise BadInput("%s: %s" % (what, e))
    secs = calendar.timegm(dt.utctimetuple())
    if tz and tz not in "Zz":
        sign = -1 if tz[0] == "-" else 1
        digits = tz[1:].replace(":", "")
        secs -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    if secs < 0:
        raise BadInput("%s is before 1970" % what)
    return secs * TICKS + int(((frac or "") + "0000000")[:7])


def parse_unix(value, what):
    return parse_when(value, what) // TICKS


def add_years(ticks, years):
    secs, frac = divmod(ticks, TICKS)
    dt = datetime.datetime.fromtimestamp(secs, datetime.timezone.utc)
    try:
        dt = dt.replace(year=dt.year + years)
    except ValueError:          # 29 February
        dt = dt.replace(year=dt.year + years, day=28)
    return calendar.timegm(dt.utctimetuple()) * TICKS + frac


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_jwt(claims, key):
    """A JWT-shaped token signed with HMAC-SHA256 (clients must not parse it)."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(key, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest())
    return "%s.%s.%s" % (head, body, sig)


def az_resource_kind(resource):
    """(normalised resource, kind) for a token resource, or (resource, None)."""
    r = resource.strip().rstrip("/").lower()
    return r, AZ_RESOURCES.get(r)


def azure_family(path):
    """Which Azure API a path belongs to (None: Atlas, hooks or unknown)."""
    if path == "/metadata/identity/oauth2/token":
        return "imds"
    if ENTRA_TOKEN_RE.fullmatch(path):
        return "entra"
    if path == "/v1.0" or path.startswith("/v1.0/"):
        return "graph"
    if path.startswith("/subscriptions/"):
        return "arm"
    if path == "/keys" or path.startswith("/keys/"):
        return "kv"
    return None


AZ_ERROR_CODES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                  409: "Conflict", 429: "TooManyRequests", 500: "InternalServerError",
                  502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


def azure_generic_error(family, status):
    """Body of a scripted Azure error without a body, shaped per API."""
    text = "fakecloud scripted %d" % status
    if family in ("entra", "imds"):
        err = "temporarily_unavailable" if status == 429 or status >= 500 else "invalid_request"
        return {"error": err, "error_description": text}
    return {"error": {"code": AZ_ERROR_CODES.get(status, reason_phrase(status).replace(" ", "")),
                      "message": text}}


ENTRA_TOKEN_RE = re.compile(r"/([^/]+)/oauth2/v2\.0/token")
KV_PATH_RE = re.compile(r"/keys/([^/]+)(?:/([^/]+))?/?")
ARM_VAULT_RE = re.compile(r"/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/"
                          r"Microsoft\.KeyVault/vaults/([^/]+)"
                          r"(/providers/Microsoft\.Authorization/roleAssignments)?/?", re.I)
GRAPH_BY_APPID_RE = re.compile(r"/v1\.0/(applications|servicePrincipals)\(appId='([^']*)'\)/?",
                               re.I)
GRAPH_BY_ID_RE = re.compile(r"/v1\.0/(applications|servicePrincipals)/([^/()]+)/?", re.I)
GRAPH_LIST_RE = re.compile(r"/v1\.0/(applications|servicePrincipals)/?", re.I)
GRAPH_FILTER_RE = re.compile(r"\s*appId\s+eq\s+'([^']*)'\s*", re.I)
VAULT_NAME_RE = re.compile(r"[a-zA-Z0-9-]{3,24}")
KEY_NAME_RE = re.compile(r"[0-9a-zA-Z-]{1,127}")
KEY_VERSION_RE = re.compile(r"[0-9a-zA-Z]{1,64}")
GUIDISH_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{12}")


# --- Azure: control-body validation ------------------------------------------------

def _obj(value, what, allowed):
    if not isinstance(value, dict):
        raise BadInput("%s must be a JSON object" % what)
    unknown = set(value) - set(allowed)
    if unknown:
        raise BadInput("unknown %s keys: %s" % (what, ", ".join(sorted(unknown))))
    return value


def _str(value, what, pattern=None, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or any(c in value for c in "\r\n\0") or \
            (pattern is not None and not pattern.fullmatch(value)):
        raise BadInput("%s must be a%s string" % (what, " valid" if pattern else " non-empty"))
    return value


def _bool(value, what):
    if not isinstance(value, bool):
        raise BadInput("%s must be true or false" % what)
    return value


def _plain_id(value, what):
    """Ids that end up in URL paths: no slashes, quotes or control characters."""
    v = _str(value, what)
    if any(c in v for c in "/'?#% ") or len(v) > 256:
        raise BadInput("%s contains characters not allowed in an id" % what)
    return v


IDENTITY_KEYS = ("tenant", "client_id", "secret", "federated", "managed", "system_assigned",
                 "resource_id", "object_id", "error", "secret_expires")


def parse_identity(obj):
    _obj(obj, "identity", IDENTITY_KEYS)
    ident = {"tenant": _plain_id(obj.get("tenant"), "tenant"),
             "client_id": _plain_id(obj.get("client_id"), "client_id"),
             "secret": _str(obj.get("secret"), "secret", optional=True),
             "federated": _str(obj.get("federated"), "federated", optional=True),
             "system_assigned": _bool(obj.get("system_assigned", False), "system_assigned"),
             "resource_id": _str(obj.get("resource_id"), "resource_id", optional=True),
             "object_id": _str(obj.get("object_id"), "object_id", optional=True),
             "error": obj.get("error"), "secret_expires": None}
    ident["managed"] = _bool(obj.get("managed", ident["system_assigned"]), "managed")
    if ident["system_assigned"] and not ident["managed"]:
        raise BadInput("a system_assigned identity is managed")
    if ident["error"] is not None and ident["error"] not in AAD_ERRORS:
        raise BadInput("error must be one of %s" % ", ".join(sorted(AAD_ERRORS)))
    if obj.get("secret_expires") is not None:
        ident["secret_expires"] = parse_when(obj["secret_expires"], "secret_expires") / TICKS
    if not (ident["secret"] or ident["federated"] or ident["managed"]):
        raise BadInput("an identity needs a secret, a federated assertion or managed: true")
    return ident


def parse_identities(obj):
    items = obj if isinstance(obj, list) else [obj]
    out = {}
    for item in items:
        ident = parse_identity(item)
        out[(ident["tenant"].lower(), ident["client_id"].lower())] = ident
    return out


GRANT_KEYS = ("graph", "graph_self", "keys", "arm", "role_assignments")


def parse_grant(obj, what="grant"):
    _obj(obj, what, GRANT_KEYS + ("client_id",))
    g = {}
    for k in GRANT_KEYS:
        if k not in obj:
            continue
        v = obj[k]
        if k in ("graph", "graph_self"):
            g[k] = _bool(v, "%s.%s" % (what, k))
        elif isinstance(v, bool):
            g[k] = v
        elif isinstance(v, list) and all(isinstance(x, str) and x for x in v):
            g[k] = sorted({x.lower() for x in v})
        else:
            raise BadInput("%s.%s must be true, false or a list of vault names" % (what, k))
    return g


def parse_grants(obj):
    """{"client_id": C, ...grant} or {C: grant, ...} -> {c: grant}."""
    if isinstance(obj, dict) and "client_id" in obj:
        return {_plain_id(obj["client_id"], "client_id").lower(): parse_grant(obj)}
    if not isinstance(obj, dict):
        raise BadInput('grants must be {"client_id": ..., ...} or {client_id: grant, ...}')
    return {_plain_id(k, "client_id").lower(): parse_grant(v, "grant for %s" % k)
            for k, v in obj.items()}


PASSWORD_KEYS = ("keyId", "displayName", "startDateTime", "endDateTime", "hint",
                 "customKeyIdentifier", "secretText")


def parse_password_credential(obj):
    _obj(obj, "passwordCredential", PASSWORD_KEYS)
    if obj.get("secretText") is not None:
        raise BadInput("secretText is null on reads; leave it out")
    start = parse_when(obj["startDateTime"], "startDateTime") \
        if obj.get("startDateTime") is not None else now_ticks()
    if "endDateTime" not in obj:
        end = add_years(start, 2)   # addPassword's default: startDateTime + 2 years
    elif obj["endDateTime"] is None:
        end = None
    else:
        end = parse_when(obj["endDateTime"], "endDateTime")
    for k in ("displayName", "hint", "customKeyIdentifier"):
        if obj.get(k) is not None and not isinstance(obj[k], str):
            raise BadInput("passwordCredential %s must be a string or null" % k)
    # Key order as in the application-get example of docs/reference/azure-api.md section 4.
    return {"customKeyIdentifier": obj.get("customKeyIdentifier"),
            "displayName": obj.get("displayName"),
            "endDateTime": None if end is None else iso7(end),
            "hint": obj.get("hint"),
            "keyId": _str(obj.get("keyId", str(uuid.uuid4())), "keyId"),
            "secretText": None,
            "startDateTime": iso7(start)}


def parse_graph_object(obj, kind, app_id):
    """Control body of PUT /azure/graph/{applications|servicePrincipals}/{appId}."""
    props = GRAPH_PROPS[kind]
    _obj(obj, kind, props)
    if "appId" in obj and str(obj["appId"]).lower() != app_id.lower():
        raise BadInput("appId in the body differs from the one in the path")
    out = {"id": _str(obj.get("id") or az_uuid(kind, app_id), "id"), "appId": app_id,
           "displayName": _str(obj.get("displayName", "app-" + app_id[:8]), "displayName")}
    if kind == "application":
        out["createdDateTime"] = iso7(now_ticks() // TICKS * TICKS)
        out["signInAudience"] = "AzureADMyOrg"
    else:
        out.update(accountEnabled=True, appDisplayName=out["displayName"],
                   servicePrincipalType="Application", servicePrincipalNames=[app_id])
    for k in props:
        if k in obj and k not in ("id", "appId", "displayName"):
            out[k] = copy.deepcopy(obj[k])
    if not isinstance(out.setdefault("keyCredentials", []), list):
        raise BadInput("keyCredentials must be a list")
    creds = obj.get("passwordCredentials", [])
    if not isinstance(creds, list):
        raise BadInput("passwordCredentials must be a list")
    out["passwordCredentials"] = [parse_password_credential(c) for c in creds]
    return out


VAULT_KEYS = ("subscription", "resource_group", "location", "tenant", "suffix", "properties",
              "tags", "systemData", "keys", "firewall", "role_assignments", "next_link")
VERSION_KEYS = ("version", "created", "updated", "enabled", "nbf", "exp", "kty", "key_ops",
                "key_size", "crv", "tags", "recoveryLevel", "recoverableDays", "managed",
                "exportable")


def parse_key_version(obj, now=None):
    _obj(obj, "key version", VERSION_KEYS)
    now = int(time.time()) if now is None else now
    v = {"version": _str(obj.get("version", secrets.token_hex(16)), "version",
                         KEY_VERSION_RE).lower(),
         "enabled": _bool(obj.get("enabled", True), "enabled"),
         "kty": obj.get("kty", "RSA"),
         "key_ops": obj.get("key_ops", list(KV_DEFAULT_OPS))}
    v["created"] = parse_unix(obj["created"], "created") if obj.get("created") is not None \
        else now
    v["updated"] = parse_unix(obj["updated"], "updated") if obj.get("updated") is not None \
        else v["created"]
    for k in ("nbf", "exp"):
        v[k] = parse_unix(obj[k], k) if obj.get(k) is not None else None
    if v["kty"] not in KV_KTY:
        raise BadInput("kty must be one of %s" % ", ".join(KV_KTY))
    if not isinstance(v["key_ops"], list) or not all(isinstance(x, str) for x in v["key_ops"]):
        raise BadInput("key_ops must be a list of strings")
    size = obj.get("key_size", 2048)
    if isinstance(size, bool) or not isinstance(size, int) or size not in (2048, 3072, 4096):
        raise BadInput("key_size must be 2048, 3072 or 4096")
    v["key_size"] = size
    v["crv"] = obj.get("crv", "P-256")
    if v["crv"] not in ("P-256", "P-256K", "P-384", "P-521"):
        raise BadInput("crv must be P-256, P-256K, P-384 or P-521")
    if obj.get("tags") is not None and not (isinstance(obj["tags"], dict) and all(
            isinstance(x, str) for x in obj["tags"].values())):
        raise BadInput("tags must be an object of strings")
    v["tags"] = obj.get("tags")
    for k in ("recoveryLevel",):
        v[k] = _str(obj.get(k), k, optional=True)
    rd = obj.get("recoverableDays")
    if rd is not None and (isinstance(rd, bool) or not isinstance(rd, int)):
        raise BadInput("recoverableDays must be an integer")
    v["recoverableDays"] = rd
    for k in ("managed", "exportable"):
        v[k] = None if obj.get(k) is None else _bool(obj[k], k)
    return v


def parse_rotation_policy(obj):
    if obj is None:
        return None
    _obj(obj, "rotation policy", ("lifetimeActions", "attributes", "id"))
    actions = obj.get("lifetimeActions", [])
    if not isinstance(actions, list) or not all(
            isinstance(a, dict) and isinstance(a.get("action"), dict) and
            isinstance(a.get("trigger"), dict) for a in actions):
        raise BadInput("lifetimeActions must be a list of {trigger, action} objects")
    attrs = obj.get("attributes") or {}
    if not isinstance(attrs, dict):
        raise BadInput("attributes must be an object")
    now = int(time.time())
    return {"lifetimeActions": copy.deepcopy(actions),
            "expiryTime": _str(attrs.get("expiryTime"), "expiryTime", optional=True),
            "created": parse_unix(attrs["created"], "created") if "created" in attrs else now,
            "updated": parse_unix(attrs["updated"], "updated") if "updated" in attrs else now}


def parse_key(name, obj):
    """A key: a list of versions or {"versions": [..], "current", "rotation_policy"}."""
    _str(name, "key name", KEY_NAME_RE)
    if isinstance(obj, list):
        obj = {"versions": obj}
    _obj(obj, "key", ("versions", "current", "rotation_policy"))
    versions = obj.get("versions", [])
    if not isinstance(versions, list):
        raise BadInput("versions must be a list")
    now = int(time.time())
    parsed = [parse_key_version(v, now) for v in versions]
    seen = set()
    for v in parsed:
        if v["version"] in seen:
            raise BadInput("duplicate key version %s" % v["version"])
        seen.add(v["version"])
    current = obj.get("current")
    if current is not None:
        current = _str(current, "current", KEY_VERSION_RE).lower()
        if current not in seen:
            raise BadInput("current names no version of the key")
    return {"name": name, "versions": parsed, "current": current,
            "rotation_policy": parse_rotation_policy(obj.get("rotation_policy"))}


def parse_firewall(obj):
    _obj(obj, "firewall", ("deny", "client_address"))
    return {"deny": _bool(obj.get("deny", False), "deny"),
            "client_address": _str(obj.get("client_address"), "client_address",
                                   optional=True)}


def normalise_ip_rules(rules):
    """ipRules as ARM returns them: [{"value": cidr}], bare IPv4 -> /32."""
    if not isinstance(rules, list):
        raise BadInput("networkAcls.ipRules must be a list")
    out = []
    for r in rules:
        value = r.get("value") if isinstance(r, dict) else r
        if not isinstance(value, str) or not value:
            raise BadInput("an ipRule must be a string or {\"value\": string}")
        if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value):
            value += "/32"
        out.append(dict(r, value=value) if isinstance(r, dict) else {"value": value})
    return out


def default_vault_properties(name, tenant, suffix):
    return {"tenantId": tenant, "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow",
                            "ipRules": [], "virtualNetworkRules": []},
            "enabledForDeployment": False, "enabledForDiskEncryption": False,
            "enabledForTemplateDeployment": False, "enableSoftDelete": True,
            "softDeleteRetentionInDays": 90, "enableRbacAuthorization": False,
            "enablePurgeProtection": True, "vaultUri": "https://%s.%s" % (name, suffix),
            "provisioningState": "Succeeded", "publicNetworkAccess": "Enabled"}


def merge_properties(base, given):
    """Shallow merge of ARM properties; a null value removes the property."""
    if not isinstance(given, dict):
        raise BadInput("properties must be an object")
    out = copy.deepcopy(base)
    for k, v in given.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = copy.deepcopy(v)
    acls = out.get("networkAcls")
    if acls is not None:
        if not isinstance(acls, dict):
            raise BadInput("networkAcls must be an object")
        if "ipRules" in acls:
            acls["ipRules"] = normalise_ip_rules(acls["ipRules"])
    if not isinstance(out.get("accessPolicies", []), list):
        raise BadInput("accessPolicies must be a list")
    return out


RA_KEYS = ("principalId", "role", "principalType", "scope", "name")


def parse_role_assignments(items):
    if not isinstance(items, list):
        raise BadInput("role assignments must be a list")
    out = []
    stamp = iso7(now_ticks())
    for obj in items:
        _obj(obj, "role assignment", RA_KEYS)
        role = _str(obj.get("role"), "role")
        guid = ROLE_DEFINITIONS.get(role)
        if guid is None:
            m = GUIDISH_RE.search(role.rsplit("/", 1)[-1])
            if not m:
                raise BadInput("role must be a built-in role name (%s) or a GUID"
                               % ", ".join(sorted(ROLE_DEFINITIONS)))
            guid = m.group(0).lower()
        scope = obj.get("scope", "vault")
        if scope not in ("vault", "resource_group", "subscription") and not (
                isinstance(scope, str) and (scope.startswith("/") or scope.startswith("key:"))):
            raise BadInput('scope must be "vault", "resource_group", "subscription", '
                           '"key:NAME" or a full scope path')
        out.append({"name": _str(obj.get("name") or str(uuid.uuid4()), "name"),
                    "role": guid, "principalId": _plain_id(obj.get("principalId"), "principalId"),
                    "principalType": _str(obj.get("principalType", "ServicePrincipal"),
                                          "principalType"),
                    "scope": scope, "createdOn": stamp, "updatedOn": stamp})
    return out


def build_vault(name, obj, old=None):
    """A stored vault from a control body; with old, the body is merged onto
    it (PATCH): top-level values replace, properties merge shallowly, keys
    merge per key (null deletes one)."""
    _str(name, "vault name", VAULT_NAME_RE)
    _obj(obj, "vault", VAULT_KEYS)
    akv = default_ear()["azureKeyVault"]
    if old is None:
        v = {"name": name, "subscription": akv["subscriptionID"],
             "resource_group": akv["resourceGroupName"], "location": "westeurope",
             "tenant": akv["tenantID"], "suffix": "vault.azure.net", "tags": {},
             "keys": {}, "firewall": {"deny": False, "client_address": None},
             "role_assignments": [], "next_link": "override"}
        created = iso7(now_ticks())
        v["systemData"] = {"createdBy": AZ_ADMIN_OID, "createdByType": "User",
                           "createdAt": created, "lastModifiedBy": AZ_ADMIN_OID,
                           "lastModifiedByType": "User", "lastModifiedAt": created}
    else:
        v = copy.deepcopy(old)
    for k, what in (("subscription", "subscription"), ("resource_group", "resource_group")):
        if k in obj:
            v[k] = _plain_id(obj[k], what)
    for k in ("location", "tenant", "suffix"):
        if k in obj:
            v[k] = _str(obj[k], k)
    v["suffix"] = v["suffix"].lower().strip(".")
    if obj.get("next_link", v["next_link"]) not in ("override", "vault"):
        raise BadInput('next_link must be "override" or "vault"')
    v["next_link"] = obj.get("next_link", v["next_link"])
    if "tags" in obj:
        if not isinstance(obj["tags"], dict):
            raise BadInput("tags must be an object")
        v["tags"] = copy.deepcopy(obj["tags"])
    base = default_vault_properties(name, v["tenant"], v["suffix"]) if old is None \
        else v["properties"]
    v["properties"] = merge_properties(base, obj.get("properties", {}))
    if old is not None and (set(obj) & {"properties", "tags", "location"}):
        v["systemData"]["lastModifiedAt"] = iso7(now_ticks())
    if "systemData" in obj:
        sd = obj["systemData"]
        if not isinstance(sd, dict):
            raise BadInput("systemData must be an object")
        for k, val in sd.items():
            v["systemData"][k] = iso7(parse_when(val, k)) if k.endswith("At") else val
    keys = obj.get("keys", {})
    if not isinstance(keys, dict):
        raise BadInput("keys must be an object of key name to versions")
    for kname, spec in keys.items():
        if spec is None:
            v["keys"].pop(kname.lower(), None)
        else:
            v["keys"][kname.lower()] = parse_key(kname, spec)
    if "firewall" in obj:
        v["firewall"] = parse_firewall(obj["firewall"])
    if "role_assignments" in obj:
        v["role_assignments"] = parse_role_assignments(obj["role_assignments"])
    return v


# --- Azure: rendering ---------------------------------------------------------------

def arm_vault_id(v):
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s" % (
        v["subscription"], v["resource_group"], v["name"])


def arm_vault_doc(v):
    """The ARM vault resource (docs/reference/azure-api.md section 3; getVault.json order)."""
    return {"id": arm_vault_id(v), "name": v["name"], "type": "Microsoft.KeyVault/vaults",
            "location": v["location"], "tags": copy.deepcopy(v["tags"]),
            "systemData": copy.deepcopy(v["systemData"]),
            "properties": copy.deepcopy(v["properties"])}


def ra_scope(v, scope):
    if scope == "vault":
        return arm_vault_id(v)
    if scope == "resource_group":
        return "/subscriptions/%s/resourceGroups/%s" % (v["subscription"], v["resource_group"])
    if scope == "subscription":
        return "/subscriptions/%s" % v["subscription"]
    if scope.startswith("key:"):
        return arm_vault_id(v) + "/keys/" + scope[4:]
    return scope


def arm_role_assignment(v, ra):
    scope = ra_scope(v, ra["scope"])
    return {"id": scope.rstrip("/") + "/providers/Microsoft.Authorization/roleAssignments/"
            + ra["name"],
            "name": ra["name"], "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "roleDefinitionId": "/subscriptions/%s/providers/Microsoft.Authorization/"
                                    "roleDefinitions/%s" % (v["subscription"], ra["role"]),
                "principalId": ra["principalId"], "principalType": ra["principalType"],
                "scope": scope, "condition": None, "conditionVersion": None,
                "createdOn": ra["createdOn"], "updatedOn": ra["updatedOn"],
                "createdBy": AZ_ADMIN_OID, "updatedBy": AZ_ADMIN_OID,
                "delegatedManagedIdentityResourceId": None, "description": None}}


def kv_recovery(props):
    """(recoveryLevel, recoverableDays) implied by the vault's soft-delete
    settings."""
    if props.get("enableSoftDelete") is False:
        return "Purgeable", None
    days = props.get("softDeleteRetentionInDays", 90)
    if isinstance(days, bool) or not isinstance(days, int):
        days = 90
    level = "Recoverable" if days == 90 else "CustomizedRecoverable"
    if props.get("enablePurgeProtection") is not True:
        level += "+Purgeable"
    return level, days


def kv_kid(v, key, version=None):
    kid = "https://%s.%s/keys/%s" % (v["name"], v["suffix"], key["name"])
    return kid + "/" + version if version else kid


def kv_attributes(v, ver):
    level, days = kv_recovery(v["properties"])
    a = {"enabled": ver["enabled"]}
    for k in ("nbf", "exp"):
        if ver[k] is not None:          # exp/nbf are absent when unset
            a[k] = ver[k]
    a["created"] = ver["created"]
    a["updated"] = ver["updated"]
    if ver["recoverableDays"] is not None:
        a["recoverableDays"] = ver["recoverableDays"]
    elif ver["recoveryLevel"] is None and days is not None:
        a["recoverableDays"] = days
    a["recoveryLevel"] = ver["recoveryLevel"] or level
    if ver["exportable"] is not None:
        a["exportable"] = ver["exportable"]
    return a


def kv_key_bundle(v, key, ver):
    kid = kv_kid(v, key, ver["version"])
    jwk = {"kid": kid, "kty": ver["kty"], "key_ops": list(ver["key_ops"])}
    seed = hashlib.sha256(kid.lower().encode()).digest()
    if ver["kty"].startswith("RSA"):
        n = bytearray(hashlib.shake_256(seed).digest(ver["key_size"] // 8))
        n[0] |= 0x80
        n[-1] |= 1
        jwk["n"], jwk["e"] = b64url(bytes(n)), "AQAB"
    elif ver["kty"].startswith("EC"):
        size = {"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66}[ver["crv"]]
        raw = hashlib.shake_256(seed).digest(2 * size)
        jwk["crv"], jwk["x"], jwk["y"] = ver["crv"], b64url(raw[:size]), b64url(raw[size:])
    doc = {"key": jwk, "attributes": kv_attributes(v, ver)}
    if ver["tags"]:
        doc["tags"] = dict(ver["tags"])
    if ver["managed"]:
        doc["managed"] = True
    return doc


def kv_version_item(v, key, ver):
    item = {"kid": kv_kid(v, key, ver["version"]), "attributes": kv_attributes(v, ver)}
    if ver["tags"]:
        item["tags"] = dict(ver["tags"])
    if ver["managed"]:
        item["managed"] = True
    return item


def kv_current(key):
    """The key's current version: an explicit "current", else the newest
    created (disabled or not, as the service does)."""
    if key["current"]:
        for ver in key["versions"]:
            if ver["version"] == key["current"]:
                return ver
    best = None
    for ver in key["versions"]:
        if best is None or ver["created"] >= best["created"]:
            best = ver
    return best


def kv_rotation_policy(v, key):
    pol = key["rotation_policy"]
    if pol is None:
        # The service's default policy (azure-sdk-for-js#17746): no id, no
        # timestamps, only the 30-day Notify (shape UNVERIFIED beyond that).
        return {"lifetimeActions": [copy.deepcopy(KV_NOTIFY_DEFAULT)], "attributes": {}}
    actions = copy.deepcopy(pol["lifetimeActions"])
    if not any(str(a["action"].get("type", "")).lower() == "notify" for a in actions):
        actions.append(copy.deepcopy(KV_NOTIFY_DEFAULT))   # the service adds it too
    attrs = {}
    if pol["expiryTime"]:
        attrs["expiryTime"] = pol["expiryTime"]
    attrs["created"], attrs["updated"] = pol["created"], pol["updated"]
    return {"id": kv_kid(v, key) + "/rotationpolicy", "lifetimeActions": actions,
            "attributes": attrs}


def vault_view(v):
    """GET /azure/vaults/{name}: what the fake serves for this vault."""
    return {"arm": arm_vault_doc(v),
            "keys": {k["name"]: {"current": (kv_current(k) or {}).get("version"),
                                 "versions": [kv_version_item(v, k, ver)
                                              for ver in k["versions"]],
                                 "rotation_policy": kv_rotation_policy(v, k)}
                     for k in v["keys"].values()},
            "firewall": dict(v["firewall"]), "next_link": v["next_link"],
            "role_assignments": [arm_role_assignment(v, ra) for ra in v["role_assignments"]]}


# --- shared state -------------------------------------------------------------

def new_group(ear=None):
    # None for ipAddresses/clusters/cloudProviderAccess means "use the default".
    return {"ear": default_ear() if ear is None else ear,
            "ipAddresses": None, "clusters": None, "cloudProviderAccess": None,
            "privateEndpoints": {"AZURE": [], "AWS": []}, "project_owner": True,
            "events": [], "name": None, "orgId": DEFAULT_ORG_ID, "hidden": False}


def group_listing_entry(gid, group):
    return {"id": gid, "name": group.get("name") or ("project-" + gid[-6:]),
            "orgId": group.get("orgId") or DEFAULT_ORG_ID, "clusterCount": 0,
            "created": "2026-01-15T10:00:00Z"}


def mask_secret(secret):
    """How Atlas shows a secret after its creation: a prefix and the last 4."""
    return "mdb_sa_sk_..." + secret[-4:]


def default_sa_meta(client_id, secret):
    start = int(FAKE_STARTED)
    return {"orgId": DEFAULT_ORG_ID, "org_read": True, "listed": True,
            "createdAt": iso_seconds(start - 30 * 86400),
            "secrets": [{"id": hashlib.sha256(client_id.encode()).hexdigest()[:24],
                         "createdAt": iso_seconds(start - 30 * 86400),
                         "expiresAt": iso_seconds(start + 365 * 86400),
                         "lastUsedAt": iso_seconds(start),
                         "maskedSecretValue": mask_secret(secret or "????")}]}


def parse_sa_secrets(obj):
    if not isinstance(obj, list):
        raise BadInput("secrets must be a list")
    out = []
    for i, x in enumerate(obj):
        if not isinstance(x, dict) or set(x) - {"id", "createdAt", "expiresAt", "lastUsedAt",
                                                 "maskedSecretValue", "secret"}:
            raise BadInput("secrets[%d]: id, createdAt, expiresAt, lastUsedAt, "
                           "maskedSecretValue or secret" % i)
        if "expiresAt" not in x:
            raise BadInput("secrets[%d] needs expiresAt" % i)
        y = {"id": str(x.get("id", "%024x" % (0x5ec000000000000000000000 + i)))}
        for k in ("createdAt", "expiresAt", "lastUsedAt"):
            if x.get(k) is not None:
                y[k] = iso_seconds(parse_when(x[k], "secrets[%d].%s" % (i, k)) // TICKS)
        y.setdefault("createdAt", iso_seconds(int(time.time())))
        if "maskedSecretValue" in x:
            y["maskedSecretValue"] = x["maskedSecretValue"]
        elif "secret" in x:
            y["maskedSecretValue"] = mask_secret(str(x["secret"]))
        out.append(y)
    return out


class State:
    """Everything mutable.  One lock guards it all: handlers copy what they
    need under the lock and never hold it while doing I/O."""

    def __init__(self, initial):
        self.lock = threading.RLock()
        self.initial = initial
        self._conn_serial = 0
        self.reset()

    def reset(self):
        with self.lock:
            ini = copy.deepcopy(self.initial)
            self.apikeys = ini["apikeys"]
            self.service_accounts = ini["service_accounts"]
            self.token_ttl = ini["token_ttl"]
            self.digest_algorithm = ini["digest_algorithm"]
            self.control_plane_ips = ini["controlPlaneIPAddresses"]
            self.groups = {gid: new_group(ear) for gid, ear in ini["groups"].items()}
            self.forbidden = {}         # gid -> ApiError body (403)
            self.listing_max = 500      # GET /groups: results per page at most
            self.sa_meta = {}           # client_id -> org view (default_sa_meta)
            self.tokens = {}            # access_token -> {"client_id", "expires"}
            self.token_key = secrets.token_bytes(32)
            self.nonces = collections.OrderedDict()  # nonce -> {"time", "ncs"}
            self.faults = []            # [{"path", "method"?, ...fault}]
            self.hook_scripts = {}      # name -> [fault]
            self.hooks = {}             # name -> deque of deliveries
            self.requests = collections.deque(maxlen=MAX_LOG)
            self.seq = 0
            self.rate_times = collections.deque()
            self.arm_read_times = collections.deque()
            # Azure (starts empty; see the docstring)
            self.az_identities = {}     # (tenant, client_id) lower-cased -> identity
            self.az_grants = {}         # client_id lower-cased -> grant
            self.az_graph = {"application": {}, "servicePrincipal": {}}   # appId lc -> obj
            self.az_vaults = {}         # vault name lower-cased -> vault
            # (subscription, resource group), lower-cased, of every vault ever
            # created: deleting a vault leaves its group (and subscription)
            self.az_resource_groups = set()
            self.az_tokens = {}         # access token -> {tenant, client_id, aud, ...}
            self.az_token_ttl = AZ_TOKEN_TTL_DEFAULT
            gcp_state_reset(self)
            fakeaws.aws_reset(self)     # AWS (starts empty; see fakeaws.py)

    def next_conn_serial(self):
        with self.lock:
            self._conn_serial += 1
            return self._conn_serial

    # Faults / scripts: pop the first match, honouring count.
    @staticmethod
    def _take(queue, match):
        for i, f in enumerate(queue):
            if match(f):
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        del queue[i]
                return f
        return None

    def take_fault(self, method, path, query=None):
        query = query or {}

        def match(f):
            if f.get("exact") and path != f["path"]:
                return False
            for k, v in f.get("query", {}).items():
                if v not in query.get(k, []):
                    return False
            return path.startswith(f["path"]) and \
                f.get("method", method).upper() == method.upper()
        with self.lock:
            return self._take(self.faults, match)

    def take_hook_script(self, name):
        with self.lock:
            return self._take(self.hook_scripts.get(name, []), lambda f: True)

    def _window_remaining(self, times, limit, window):
        with self.lock:
            now = time.monotonic()
            times.append(now)
            while times and times[0] < now - window:
                times.popleft()
            return max(0, limit - len(times))

    def rate_remaining(self):
        """Atlas 200s report how many requests remain in a sliding window."""
        return self._window_remaining(self.rate_times, RATE_LIMIT, RATE_WINDOW)

    def arm_reads_remaining(self):
        """x-ms-ratelimit-remaining-subscription-reads on ARM 200s."""
        return self._window_remaining(self.arm_read_times, ARM_READS_LIMIT, ARM_READS_WINDOW)

    def new_nonce(self):
        with self.lock:
            now = time.monotonic()
            while self.nonces:     # drop expired ones (oldest first) and cap size
                n, rec = next(iter(self.nonces.items()))
                if rec["time"] < now - NONCE_LIFETIME or len(self.nonces) >= MAX_NONCES:
                    del self.nonces[n]
                else:
                    break
            nonce = base64.b64encode(secrets.token_bytes(24)).decode()
            self.nonces[nonce] = {"time": now, "ncs": set()}
            return nonce


# --- HTTP plumbing --------------------------------------------------------------

class BodyError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class ClientGone(Exception):
    pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False       # never wait for hung handler threads at exit
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, app, listener):
        self.app = app
        self.listener = listener
        super().__init__(addr, handler)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup we do not need.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE + (ClientGone,)):
            return
        traceback.print_exc(file=sys.stderr)


class TLSServer(Server):
    """Wraps each accepted socket in TLS inside its own thread, so a slow or
    broken handshake never blocks the accept loop; the certificate is chosen
    per connection (PUT /tls)."""

    def process_request_thread(self, request, client_address):
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            conn = self.app.certs.context().wrap_socket(request, server_side=True)
        except Exception as e:        # handshake failure, client gone, ...
            if self.app.verbose:
                sys.stderr.write("fakecloud: TLS handshake from %s failed: %s\n"
                                 % (client_address[1], e))
            try:
                request.close()
            except OSError:
                pass
            return
        try:
            self.finish_request(conn, client_address)
        except Exception:
            self.handle_error(conn, client_address)
        finally:
            self.shutdown_request(conn)


def parse_auth_params(s):
    """Parse RFC 7235 auth-params: k=token or k="quoted \\" string", comma
    separated.  Raises ValueError on anything malformed or duplicated."""
    params, i, n = {}, 0, len(s)
    while True:
        while i < n and s[i] in " \t,":
            i += 1
        if i >= n:
            return params
        j = i
        while j < n and s[j] not in "= \t,":
            j += 1
        key = s[i:j].lower()
        while j < n and s[j] in " \t":
            j += 1
        if not key or j >= n or s[j] != "=":
            raise ValueError("expected key=value")
        j += 1
        while j < n and s[j] in " \t":
            j += 1
        if j < n and s[j] == '"':
            j += 1
            out = []
            while True:
                if j >= n:
                    raise ValueError("unterminated quoted string")
                c = s[j]
                if c == "\\" and j + 1 < n:
                    out.append(s[j + 1])
                    j += 2
                elif c == '"':
                    j += 1
                    break
                else:
                    out.append(c)
                    j += 1
            value = "".join(out)
        else:
            k = j
            while j < n and s[j] not in " \t,":
                j += 1
            value = s[k:j]
        if key in params:
            raise ValueError("duplicate parameter %s" % key)
        params[key] = value
        i = j
        while i < n and s[i] in " \t":
            i += 1
        if i < n and s[i] != ",":
            raise ValueError("expected a comma")


class Handler(http.server.BaseHTTPRequestHandler):
    """Common request machinery: body reading, logging, faults, replies.
    Subclasses implement route() and served()."""

    protocol_version = "HTTP/1.1"
    server_version = "fakecloud/1.0"
    sys_version = ""
    timeout = IDLE_TIMEOUT
    # Headers and body leave in separate writes: with Nagle on, the body
    # waits for the client's delayed ACK (40 ms on Linux) and every answer
    # would look 40 ms slower than it is. Real services set TCP_NODELAY.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    # -- connection / logging --

    def setup(self):
        super().setup()
        self.app = self.server.app
        self.state = self.app.state
        self.conn_serial = self.state.next_conn_serial()
        self._entry = None

    def handle_one_request(self):
        # Per-request state; a keep-alive connection reuses this object, and a
        # malformed request must not touch the previous request's log entry.
        self._entry = None
        self._started = False
        self.query = {}
        self.headers = None
        self.command = None
        self.path = ""
        self.req_path = ""
        self.query_string = ""
        super().handle_one_request()

    def log_message(self, fmt, *args):
        if self.app.verbose:
            sys.stderr.write("fakecloud[%s] %s:%s %s\n" % (
                self.server.listener, self.client_address[0], self.client_address[1],
                fmt % args))

    def _log_request(self, body_bytes):
        headers = {}
        for k, v in (self.headers.items() if self.headers is not None else ()):
            k = k.lower()
            if k in ("authorization", "proxy-authorization"):
                v = v.strip().split(" ", 1)[0]      # keep only the scheme
            headers[k] = headers[k] + ", " + v if k in headers else v
        with self.state.lock:
            self.state.seq += 1
            entry = {"seq": self.state.seq, "time": time.time(),
                     "listener": self.server.listener, "conn": self.client_address[1],
                     "conn_serial": self.conn_serial, "method": self.command,
                     "path": self.req_path, "query": self.query_string,
                     "headers": headers, "body_bytes": body_bytes,
                     "status": None, "fault": False}
            self.state.requests.append(entry)
        self._entry = entry

    def _set_logged(self, **kw):
        if self._entry is not None:
            with self.state.lock:
                self._entry.update(kw)

    # -- replies --

    def reply(self, status, body=b"", content_type=None, headers=None, close=False,
              content_length=None):
        """Send one complete response; every response carries Content-Length
        (except 204/304) so the connection can be reused."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._set_logged(status=status)
        self._started = True
        try:
            self.send_response(status)
            if content_type and "content-type" not in {k.lower() for k in (headers or {})}:
                self.send_header("Content-Type", content_type)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if status not in (204, 304):
                self.send_header("Content-Length",
                                 str(len(body) if content_length is None else content_length))
            if close or content_length is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if body and self.command != "HEAD" and status not in (204, 304):
                self.wfile.write(body)
            self.wfile.flush()
        except CLIENT_GONE + (OSError,):
            self.close_connection = True
            raise ClientGone()

    def reply_json(self, status, obj, content_type=MT_JSON, headers=None, close=False):
        pretty = self.query.get("pretty", [""])[0].lower() == "true"
        text = json.dumps(obj, indent=2 if pretty else None,
                          separators=None if pretty else (",", ":"))
        self.reply(status, text, content_type, headers, close)

    def send_error(self, code, message=None, explain=None):
        """Used by http.server for malformed requests (and by us): always a
        JSON body with Content-Length, and the connection is closed since the
        stream may be out of sync."""
        code = int(code)
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            # http.server omits the status line and headers for HTTP/0.9
            # (the default for an unparsable request line); always send them.
            self.request_version = "HTTP/1.0"
        if self._entry is None:
            # A request that failed parsing: log what we know of it.
            try:
                if not self.req_path:
                    split = urllib.parse.urlsplit(getattr(self, "path", "") or "")
                    self.req_path, self.query_string = split.path, split.query
                if self.server.listener == "https" or self.served():
                    self._log_request(0)
            except Exception:
                pass
        body = json.dumps(api_error(code, GENERIC_ERROR_CODES.get(code, "INVALID_REQUEST"),
                                    message or reason_phrase(code)))
        try:
            self.query = {}
            self.reply(code, body, MT_JSON, close=True)
        except ClientGone:
            pass

    def abort(self, reset):
        """Drop the connection without an answer; with reset, send a TCP RST
        (SO_LINGER 0) instead of a FIN."""
        self.close_connection = True
        if reset:
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()     # really closes once rfile is closed
            except OSError:
                pass

    # -- request body --

    def _read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            if te.strip().lower() != "chunked":
                raise BodyError(501, "unsupported Transfer-Encoding %s" % te)
            return self._read_chunked()
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        if len(set(v.strip() for v in lengths)) != 1 or not lengths[0].strip().isdigit():
            raise BodyError(400, "bad Content-Length")
        n = int(lengths[0])
        if n > MAX_BODY:
            raise BodyError(413, "request body larger than %d bytes" % MAX_BODY)
        data = self.rfile.read(n)
        if len(data) != n:
            raise ClientGone()
        return data

    def _read_chunked(self):
        out, total = [], 0
        while True:
            line = self.rfile.readline(1026)
            if not line:
                raise ClientGone()
            size_s = line.split(b";", 1)[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BodyError(400, "bad chunk size")
            if size < 0 or total + size > MAX_BODY:
                raise BodyError(413, "request body too large")
            if size == 0:
                while True:     # trailers up to the blank line
                    t = self.rfile.readline(8194)
                    if not t:
                        raise ClientGone()
                    if t in (b"\r\n", b"\n"):
                        return b"".join(out)
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                raise ClientGone()
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BodyError(400, "chunk not followed by CRLF")
            out.append(chunk)
            total += size

    # -- dispatch --

    def _dispatch(self):
        try:
            if not self.path.startswith("/") and "://" not in self.path:
                raise BodyError(400, "bad request target")
            if self.request_version == "HTTP/0.9":
                raise BodyError(400, "HTTP/0.9 is not supported")
            split = urllib.parse.urlsplit(self.path)
            self.req_path = split.path or "/"
            self.query_string = split.query
            self.query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
            self.body = self._read_body()
        except BodyError as e:
            self.send_error(e.status, str(e))
            return
        except (ClientGone,) + CLIENT_GONE:
            self.close_connection = True
            return
        try:
            if self.served():
                self._log_request(len(self.body))
                fault = self.state.take_fault(self.command, self.req_path, self.query)
                if fault is not None:
                    self._set_logged(fault=True)
                    if self.apply_scripted(fault):
                        return
            self.route()
        except (ClientGone,) + CLIENT_GONE:
            self.close_connection = True
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if not self._started:
                try:
                    self.reply_json(500, api_error(500, "UNEXPECTED_ERROR",
                                                   "fakecloud internal error"), close=True)
                except ClientGone:
                    pass
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _dispatch

    def apply_scripted(self, f):
        """Apply a fault or scripted response.  True if it answered (or
        dropped) the request, False if normal handling should follow."""
        if f["hang"] > 0:
            self.app.stop.wait(f["hang"])
        if f["close"]:
            self._set_logged(status=None)
            self.abort(reset=f["close"] == "reset")
            return True
        if "status" not in f and "body" not in f and "content_length" not in f:
            return False
        status = f.get("status", 200)
        body = f.get("body")
        if body is None:
            body = b"" if status < 400 else json.dumps(self.scripted_error_body(status)).encode()
        self.reply(status, body, MT_JSON if body else None, f["headers"],
                   content_length=f.get("content_length"))
        return True

    def scripted_error_body(self, status):
        """A fault's default error body: shaped like the API the path belongs to."""
        family = azure_family(self.req_path)
        if family is not None:
            return azure_generic_error(family, status)
        if gcp_family(self.req_path) is not None:
            return gcp_error_body(status)
        return api_error(status, GENERIC_ERROR_CODES.get(status, "UNEXPECTED_ERROR"),
                         "fakecloud scripted %d" % status)

    def _form(self):
        """The body as an application/x-www-form-urlencoded form, or None."""
        ctype = (self.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return None
        try:
            return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True,
                                         strict_parsing=bool(self.body))
        except (ValueError, UnicodeDecodeError):
            return None

    # -- webhooks --

    def receive_hook(self, name):
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        try:
            text, valid = self.body.decode("utf-8"), True
        except UnicodeDecodeError:
            text, valid = self.body.decode("utf-8", "replace"), False
        rec = {"name": name, "seq": self._entry["seq"] if self._entry else None,
               "time": time.time(), "listener": self.server.listener,
               "conn": self.client_address[1], "conn_serial": self.conn_serial,
               "method": self.command, "path": self.req_path, "query": self.query_string,
               "headers": headers, "body": text}
        if not valid:
            rec["body_b64"] = base64.b64encode(self.body).decode()
        with self.state.lock:
            self.state.hooks.setdefault(
                name, collections.deque(maxlen=MAX_HOOK_RECORDS)).append(rec)
        script = self.state.take_hook_script(name)
        if script is not None:
            self._set_logged(fault=True)
            if self.apply_scripted(script):
                return
        self.reply_json(200, {"ok": True})

    def served(self):
        raise NotImplementedError

    def route(self):
        raise NotImplementedError


# --- Azure: HTTP endpoints ----------------------------------------------------------

def parse_ra_filter(text):
    """$filter of a role-assignment list -> (at_scope, principal or None).
    Raises ValueError on anything else."""
    at_scope, principal = False, None
    for term in re.split(r"\s+and\s+", text.strip(), flags=re.I):
        term = term.strip()
        m = re.fullmatch(r"principalId\s+eq\s+'([^']*)'", term, re.I) or \
            re.fullmatch(r"assignedTo\('([^']*)'\)", term, re.I)
        if re.fullmatch(r"atScope\(\)", term, re.I):
            at_scope = True
        elif m and principal is None:
            principal = m.group(1)
        else:
            raise ValueError(term)
    return at_scope, principal


class AzureMixin:
    """The Azure endpoints, mixed into the HTTPS handler (and into the control
    handler for IMDS).  Each az_* method answers the request itself."""

    def _one(self, name, source=None):
        """A parameter given exactly once and non-empty, else None."""
        vals = (self.query if source is None else source).get(name, [])
        return vals[0] if len(vals) == 1 and vals[0] else None

    # -- tokens and grants --

    def _az_oid(self, ident):
        """The object id a token for ident carries (caller holds the lock):
        the identity's own, else its Graph service principal's, else derived."""
        if ident["object_id"]:
            return ident["object_id"]
        sp = self.state.az_graph["servicePrincipal"].get(ident["client_id"].lower())
        return sp["id"] if sp else az_uuid("servicePrincipal", ident["client_id"])

    def _az_issue(self, ident, resource, kind, via):
        now = int(time.time())
        with self.state.lock:
            ttl = self.state.az_token_ttl
            oid = self._az_oid(ident)
            claims = {"aud": resource, "iss": "https://sts.windows.net/%s/" % ident["tenant"],
                      "iat": now, "nbf": now, "exp": now + ttl, "appid": ident["client_id"],
                      "oid": oid, "sub": oid, "tid": ident["tenant"], "idtyp": "app",
                      "ver": "1.0", "uti": secrets.token_urlsafe(12)}
            token = hs256_jwt(claims, self.state.token_key)
            tokens = self.state.az_tokens
            if len(tokens) >= MAX_AZ_TOKENS:
                for t in [t for t, r in tokens.items() if r["expires"] <= now]:
                    del tokens[t]
                while len(tokens) >= MAX_AZ_TOKENS:
                    del tokens[next(iter(tokens))]
            tokens[token] = {"tenant": ident["tenant"], "client_id": ident["client_id"],
                             "object_id": oid, "aud": resource, "kind": kind, "via": via,
                             "issued": now, "expires": now + ttl}
        return token, ttl, now

    def _az_bearer(self):
        """(token record, problem); problem is None, "missing", "invalid" or
        "expired" (the record is still returned for an expired token)."""
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, rest = auth.partition(" ")
        token = rest.strip()
        if scheme.lower() != "bearer" or not token:
            return None, "missing"
        with self.state.lock:
            rec = self.state.az_tokens.get(token)
            rec = dict(rec) if rec is not None else None
        if rec is None:
            return None, "invalid"
        if rec["expires"] <= time.time():
            return rec, "expired"
        return rec, None

    def _az_granted(self, client_id, what, vault=None):
        with self.state.lock:
            grant = dict(self.state.az_grants.get(client_id.lower(), {}))
        value = grant.get(what)
        if value is None and what == "role_assignments":
            value = grant.get("arm")        # Reader (*/read) covers role assignments
        if value is None and what == "graph_self":
            value = True                    # self-read needs no Graph permission
        if isinstance(value, list):
            return vault is not None and vault.lower() in value
        return value is True

    # -- Entra ID v2 token endpoint --

    def _aad_error(self, status, error, code, message):
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
        desc = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
            code, message, trace, corr, stamp)
        self.reply_json(status, {"error": error, "error_description": desc,
                                 "error_codes": [code], "timestamp": stamp,
                                 "trace_id": trace, "correlation_id": corr,
                                 "error_uri": "https://login.microsoftonline.com/error?code=%d"
                                              % code},
                        MT_AZ_JSON, {"Cache-Control": "no-store, no-cache",
                                     "Pragma": "no-cache", "x-ms-request-id": trace})

    def az_entra(self):
        tenant = urllib.parse.unquote(ENTRA_TOKEN_RE.fullmatch(self.req_path).group(1))
        if self.command != "POST":
            return self._aad_error(400, "invalid_request", 900561,
                                   "The endpoint only accepts POST requests. Received a %s "
                                   "request." % self.command)
        form = self._form() or {}

        def one(name):
            return self._one(name, form)

        def missing(name):
            return self._aad_error(400, "invalid_request", 900144,
                                   "The request body must contain the following parameter: "
                                   "'%s'." % name)
        grant = one("grant_type")
        if grant is None:
            return missing("grant_type")
        if grant != "client_credentials":
            return self._aad_error(400, "unsupported_grant_type", 70003,
                                   "The app requested an unsupported grant type '%s'." % grant)
        client_id = one("client_id")
        if client_id is None:
            return missing("client_id")
        scope = one("scope") or ""
        with self.state.lock:
            known = any(t == tenant.lower() for t, _ in self.state.az_identities)
            ident = copy.deepcopy(self.state.az_identities.get((tenant.lower(),
                                                                client_id.lower())))
        names = {"app": client_id, "tenant": tenant, "scope": scope}

        def fail(name):
            status, error, code, text = AAD_ERRORS[name]
            return self._aad_error(status, error, code, text.format(**names))
        if not known:
            return fail("tenant_not_found")
        if ident is None:
            return fail("app_not_found")
        if ident["error"]:
            return fail(ident["error"])
        secret, atype, assertion = (one("client_secret"), one("client_assertion_type"),
                                    one("client_assertion"))
        if secret is not None:
            if atype is not None or assertion is not None:
                return self._aad_error(400, "invalid_request", 9002313,
                                       "Invalid request. Request is malformed or invalid.")
            if not ident["secret"] or not hmac.compare_digest(ident["secret"].encode(),
                                                              secret.encode()):
                return fail("invalid_secret")
            if ident["secret_expires"] is not None and ident["secret_expires"] <= time.time():
                return fail("secret_expired")
            via = "secret"
        elif atype is not None or assertion is not None:
            if atype != JWT_BEARER:
                return self._aad_error(400, "invalid_request", 9002313,
                                       "Invalid request. Request is malformed or invalid.")
            if assertion is None:
                return missing("client_assertion")
            if not ident["federated"] or not hmac.compare_digest(ident["federated"].encode(),
                                                                 assertion.encode()):
                return self._aad_error(401, "invalid_client", 70021,
                                       "No matching federated identity record found for "
                                       "presented assertion.")
            via = "federated"
        else:
            return self._aad_error(401, "invalid_client", 7000218,
                                   "The request body must contain the following parameter: "
                                   "'client_assertion' or 'client_secret'.")
        if not scope:
            return self._aad_error(400, "invalid_scope", 70011,
                                   "The provided request must include a 'scope' input "
                                   "parameter.")
        parts = scope.split()
        if len(parts) != 1 or not parts[0].endswith("/.default"):
            return fail("invalid_scope")
        resource, kind = az_resource_kind(parts[0][:-len("/.default")])
        if kind is None:
            return self._aad_error(400, "invalid_resource", 500011,
                                   "The resource principal named %s was not found in the "
                                   "tenant named %s. This can happen if the application has "
                                   "not been installed by the administrator of the tenant or "
                                   "consented to by any user in the tenant. You might have "
                                   "sent your authentication request to the wrong tenant."
                                   % (parts[0][:-len("/.default")], tenant))
        token, ttl, _ = self._az_issue(ident, resource, kind, via)
        self.reply_json(200, {"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl,
                              "access_token": token}, MT_AZ_JSON,
                        {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})

    # -- IMDS (managed identity) --

    def az_imds(self):
        def fail(status, error, desc):
            self.reply_json(status, {"error": error, "error_description": desc}, MT_AZ_JSON)
        if self.command != "GET":
            return fail(405, "invalid_request", "The request method %s is not supported."
                        % self.command)
        if self.headers.get("Metadata") != "true":
            return fail(400, "invalid_request", "Required metadata header not specified")
        api = self._one("api-version")
        if api is None:
            return fail(400, "invalid_request", "Required query variable 'api-version' is "
                                                "missing")
        if api not in IMDS_API_VERSIONS:
            return fail(400, "invalid_request", "Invalid api-version '%s'" % api)
        res = self._one("resource")
        if res is None:
            return fail(400, "invalid_request", "Required query variable 'resource' is missing")
        selectors = [(k, self._one(k)) for k in ("client_id", "object_id", "msi_res_id",
                                                 "mi_res_id") if self._one(k)]
        if len(selectors) > 1:
            return fail(400, "invalid_request", "Only one of client_id, object_id or "
                                                "msi_res_id may be given")
        with self.state.lock:
            managed = [dict(copy.deepcopy(i), oid=self._az_oid(i))
                       for i in self.state.az_identities.values() if i["managed"]]
        ident = None
        if selectors:
            field, value = selectors[0]
            for i in managed:
                have = {"client_id": i["client_id"], "object_id": i["oid"]}.get(
                    field, i["resource_id"]) or ""
                if have.lower() == value.lower():
                    ident = i
                    break
        else:
            system = [i for i in managed if i["system_assigned"]]
            if system:
                ident = system[0]
            elif len(managed) > 1:
                return fail(400, "invalid_request",
                            "Multiple user assigned identities exist, please specify the "
                            "clientId / resourceId of the identity in the token request")
            elif managed:
                ident = managed[0]
        if ident is None:
            return fail(400, "invalid_request", "Identity not found")
        resource, kind = az_resource_kind(res)
        if kind is None:
            return fail(400, "invalid_resource",
                        "AADSTS500011: The resource principal named %s was not found in the "
                        "tenant named %s." % (res, ident["tenant"]))
        token, ttl, now = self._az_issue(ident, resource, kind, "managed")
        self.reply_json(200, {"access_token": token, "client_id": ident["client_id"],
                              "expires_in": str(ttl), "expires_on": str(now + ttl),
                              "ext_expires_in": str(ttl), "not_before": str(now),
                              "resource": res, "token_type": "Bearer"}, MT_AZ_JSON)

    # -- Microsoft Graph --

    def _graph_error(self, status, code, message, headers=None):
        rid = str(uuid.uuid4())
        crid = self.headers.get("client-request-id") or rid
        inner = {"date": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()),
                 "request-id": rid, "client-request-id": crid}
        h = {"request-id": rid, "client-request-id": crid}
        h.update(headers or {})
        self.reply_json(status, {"error": {"code": code, "message": message,
                                           "innerError": inner}}, MT_AZ_JSON, h)

    def az_graph(self):
        path = urllib.parse.unquote(self.req_path)
        m_app = GRAPH_BY_APPID_RE.fullmatch(path)
        m_list = GRAPH_LIST_RE.fullmatch(path)
        m_id = None if m_app or m_list else GRAPH_BY_ID_RE.fullmatch(path)
        m = m_app or m_list or m_id
        if m is None:
            segment = path[len("/v1.0/"):].split("/")[0] or "v1.0"
            return self._graph_error(400, "BadRequest",
                                     "Resource not found for the segment '%s'." % segment)
        if self.command != "GET":
            return self._graph_error(405, "Request_BadRequest", "Specified HTTP method is not "
                                     "allowed for the request target.", {"Allow": "GET"})
        rec, problem = self._az_bearer()
        if problem is not None or rec["kind"] != "graph":
            message = {"missing": "Access token is empty.",
                       "expired": "Access token has expired or is not yet valid.",
                       "invalid": "Access token validation failure."}.get(
                problem, "Access token validation failure. Invalid audience.")
            return self._graph_error(401, "InvalidAuthenticationToken", message, {
                "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
                                    'microsoftonline.com/common/oauth2/authorize", '
                                    'client_id="00000003-0000-0000-c000-000000000000"'})
        kind = GRAPH_SETS[m.group(1).lower()]
        set_name = GRAPH_SET_NAMES[kind]
        select = None
        if self.query.get("$select"):
            canonical = {p.lower(): p for p in GRAPH_PROPS[kind]}
            select = []
            for s in ",".join(self.query["$select"]).split(","):
                s = s.strip()
                if s and s.lower() not in canonical:
                    return self._graph_error(400, "Request_BadRequest",
                                             "Could not find a property named '%s' on type "
                                             "'microsoft.graph.%s'." % (s, kind))
                if s and canonical[s.lower()] not in select:
                    select.append(canonical[s.lower()])
        ctx = "https://graph.microsoft.com/v1.0/$metadata#%s%s" % (
            set_name, "(%s)" % ",".join(select) if select else "")

        def project(obj):
            if not select:
                return obj
            return {p: obj.get(p) for p in select}
        denied = ("Authorization_RequestDenied",
                  "Insufficient privileges to complete the operation.")
        if m_list:
            target = None
            if "$filter" in self.query:
                fm = GRAPH_FILTER_RE.fullmatch(self._one("$filter") or "")
                if not fm:
                    return self._graph_error(400, "Request_UnsupportedQuery", "Unsupported "
                                             "query.")
                target = fm.group(1).lower()
            if not self._az_granted(rec["client_id"], "graph"):
                return self._graph_error(403, *denied)
            with self.state.lock:
                objs = [copy.deepcopy(o) for o in self.state.az_graph[kind].values()
                        if target is None or o["appId"].lower() == target]
            body = {"@odata.context": ctx, "value": [project(o) for o in objs]}
        else:
            wanted = m.group(2)
            with self.state.lock:
                if m_app:
                    obj = self.state.az_graph[kind].get(wanted.lower())
                else:
                    obj = next((o for o in self.state.az_graph[kind].values()
                                if o["id"].lower() == wanted.lower()), None)
                obj = copy.deepcopy(obj)
            app_id = wanted if m_app else (obj or {}).get("appId", "")
            if not (self._az_granted(rec["client_id"], "graph") or (
                    app_id.lower() == rec["client_id"].lower() and
                    self._az_granted(rec["client_id"], "graph_self"))):
                return self._graph_error(403, *denied)
            if obj is None:
                return self._graph_error(404, "Request_ResourceNotFound",
                                         "Resource '%s' does not exist or one of its queried "
                                         "reference-property objects are not present." % wanted)
            body = dict({"@odata.context": ctx + "/$entity"}, **project(obj))
        rid = str(uuid.uuid4())
        self.reply_json(200, body, MT_GRAPH, {
            "request-id": rid, "client-request-id": self.headers.get("client-request-id") or rid,
            "OData-Version": "4.0"})

    # -- Key Vault data plane (vault chosen by the Host header) --

    def _kv_headers(self, v=None):
        h = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1",
             "x-ms-request-id": str(uuid.uuid4()),
             "x-ms-keyvault-service-version": "1.9.2164.1",
             "x-ms-keyvault-network-info": "conn_type=Ipv4;addr=%s;act_addr_fam=InterNetwork;"
                                           % self.client_address[0]}
        if v is not None:
            h["x-ms-keyvault-region"] = v["location"]
        crid = self.headers.get("x-ms-client-request-id")
        if crid:
            h["x-ms-client-request-id"] = crid
        return h

    def _kv_error(self, status, code, message, v=None, inner=None, headers=None):
        err = {"code": code, "message": message}
        if inner:
            err["innererror"] = {"code": inner}
        h = self._kv_headers(v)
        h.update(headers or {})
        self.reply_json(status, {"error": err}, MT_AZ_JSON, h)

    @staticmethod
    def kv_host(host):
        """Host header -> (vault label, DNS suffix), or None if it names no vault."""
        host = host.strip().lower()
        if host.startswith("["):
            return None
        name = re.sub(r":\d*$", "", host)
        label, dot, suffix = name.partition(".")
        if not dot or not label or not suffix or re.fullmatch(r"[\d.]+", name):
            return None
        return label, suffix.rstrip(".")

    def az_kv(self):
        if self.command != "GET":
            return self._kv_error(405, "MethodNotAllowed", "The %s method is not supported "
                                  "here." % self.command, headers={"Allow": "GET"})
        api = self._one("api-version")
        if api is None:
            return self._kv_error(400, "BadParameter", "The api-version query parameter is "
                                  "missing; it is required for every request.")
        if api not in KV_API_VERSIONS:
            return self._kv_error(400, "BadParameter", "The specified version (%s) is not "
                                  "recognized. Consider using the latest supported version "
                                  "(7.5)." % api)
        where = self.kv_host(self.headers.get("Host") or "")
        if where is None:
            return self._kv_error(400, "BadParameter", "fakecloud: a Key Vault request must "
                                  "carry Host: {vault}.{suffix}, e.g. contoso-kv.vault.azure."
                                  "net (got %r)." % (self.headers.get("Host") or ""))
        label, suffix = where
        with self.state.lock:
            v = copy.deepcopy(self.state.az_vaults.get(label))
        if v is None or v["suffix"] != suffix:
            return self._kv_error(404, "VaultNotFound", "fakecloud: no vault %s.%s (in Azure "
                                  "its DNS name would not resolve)." % (label, suffix))
        expected, authority = KV_SUFFIXES.get(suffix, ("https://" + suffix,
                                                       "login.microsoftonline.com"))
        challenge = {"WWW-Authenticate": 'Bearer authorization="https://%s/%s", resource="%s"'
                                         % (authority, v["tenant"], expected)}
        rec, problem = self._az_bearer()
        if problem is not None:
            message = {"missing": "AKV10000: Request is missing a Bearer or PoP token.",
                       "expired": "Token validation failed: the access token has expired.",
                       "invalid": "Token validation failed: the access token is not "
                                  "recognised."}[problem]
            return self._kv_error(401, "Unauthorized", message, v, headers=challenge)
        if rec["aud"] != expected:
            return self._kv_error(401, "Unauthorized", "AKV10022: Invalid audience. Expected "
                                  "%s, found: %s." % (expected, rec["aud"]), v, headers=challenge)
        if rec["tenant"].lower() != v["tenant"].lower():
            return self._kv_error(401, "Unauthorized", "AKV10032: Invalid issuer. Expected one "
                                  "of https://sts.windows.net/%s/, found https://sts.windows."
                                  "net/%s/." % (v["tenant"], rec["tenant"]), v,
                                  headers=challenge)
        caller = "Caller: appid=%s;oid=%s" % (rec["client_id"], rec["object_id"])
        vault_line = "Vault: %s;location=%s" % (v["name"], v["location"])
        if v["firewall"]["deny"]:
            addr = v["firewall"]["client_address"] or self.client_address[0]
            return self._kv_error(403, "Forbidden", "Client address is not authorized and "
                                  "caller is not a trusted service.\r\nClient address: %s\r\n"
                                  "%s\r\n%s" % (addr, caller, vault_line), v,
                                  inner="ForbiddenByFirewall")
        m = KV_PATH_RE.fullmatch(self.req_path)
        if m is None:
            return self._kv_error(404, "NotFound", "fakecloud serves only /keys/{name}[/"
                                  "{version}|/versions|/rotationpolicy].", v)
        name = urllib.parse.unquote(m.group(1))
        sub = urllib.parse.unquote(m.group(2)) if m.group(2) else None
        if not self._az_granted(rec["client_id"], "keys", v["name"]):
            return self._kv_error(
                403, "Forbidden", "Caller is not authorized to perform action on resource.\r\n"
                "If role assignments, deny assignments or role definitions were changed "
                "recently, please observe propagation time.\r\n%s\r\nAction: "
                "'Microsoft.KeyVault/vaults/keys/read'\r\nResource: '%s/keys/%s'\r\n"
                "Assignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: null \r\n"
                "%s\r\n" % (caller, arm_vault_id(v).lower(), name.lower(), vault_line), v,
                inner="ForbiddenByRbac")

        def not_found(what):
            return self._kv_error(404, "KeyNotFound", "A key with (name/id) %s was not found "
                                  "in this key vault. If you recently deleted this key you may "
                                  "be able to recover it using the correct recovery command. "
                                  "For help resolving this issue, please see https://go."
                                  "microsoft.com/fwlink/?linkid=2125182" % what, v)
        key = v["keys"].get(name.lower())
        if key is None:
            return not_found(name)
        if sub is None:
            ver = kv_current(key)
            if ver is None:
                return not_found(name)
            body = kv_key_bundle(v, key, ver)
        elif sub.lower() == "versions":
            body = self._kv_versions_page(v, key, api)
            if body is None:
                return
        elif sub.lower() == "rotationpolicy":
            body = kv_rotation_policy(v, key)
        else:
            ver = next((x for x in key["versions"] if x["version"] == sub.lower()), None)
            if ver is None:
                return not_found("%s/%s" % (name, sub))
            body = kv_key_bundle(v, key, ver)
        self.reply_json(200, body, MT_AZ_JSON, self._kv_headers(v))

    def _kv_versions_page(self, v, key, api):
        """One page of GET /keys/{name}/versions, or None if an error was sent."""
        raw = self._one("maxresults")
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= KV_MAX_RESULTS):
            self._kv_error(400, "BadParameter", "maxresults must be an integer between 1 and "
                           "%d." % KV_MAX_RESULTS, v)
            return None
        per = int(raw) if raw else KV_MAX_RESULTS
        offset = 0
        token = self._one("$skiptoken")
        if token is not None:
            try:
                t = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
                if t["v"] != v["name"].lower() or t["k"] != key["name"].lower() or \
                        isinstance(t["o"], bool) or not isinstance(t["o"], int) or t["o"] < 0:
                    raise ValueError
                offset = t["o"]
            except (ValueError, TypeError, KeyError, UnicodeDecodeError):
                self._kv_error(400, "BadParameter", "The $skiptoken is invalid.", v)
                return None
        # The service's order is undocumented; the fake sorts by version string,
        # which is unrelated to creation time (clients must sort by created).
        items = sorted(key["versions"], key=lambda x: x["version"])
        next_link = None
        if offset + per < len(items):
            base = ("https://127.0.0.1:%d" % self.server.server_address[1]
                    if v["next_link"] == "override"
                    else "https://%s.%s:443" % (v["name"], v["suffix"]))
            tok = b64url(json.dumps({"v": v["name"].lower(), "k": key["name"].lower(),
                                     "o": offset + per}).encode())
            next_link = "%s/keys/%s/versions?api-version=%s&$skiptoken=%s" % (
                base, key["name"], api, tok)
            if raw:
                next_link += "&maxresults=%d" % per
        return {"value": [kv_version_item(v, key, x) for x in items[offset:offset + per]],
                "nextLink": next_link}

    # -- ARM: vault resource and its role assignments --

    def _arm_error(self, status, code, message, headers=None):
        rid = str(uuid.uuid4())
        h = {"Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1",
             "x-ms-request-id": rid, "x-ms-correlation-request-id": rid}
        h.update(headers or {})
        self.reply_json(status, {"error": {"code": code, "message": message}}, MT_AZ_JSON, h)

    def az_arm(self):
        m = ARM_VAULT_RE.fullmatch(self.req_path)
        if m is None:
            return self._arm_error(404, "NotFound", "fakecloud serves only Microsoft.KeyVault/"
                                   "vaults/{name} and its providers/Microsoft.Authorization/"
                                   "roleAssignments under /subscriptions.")
        sub, rg, name = (urllib.parse.unquote(g) for g in m.group(1, 2, 3))
        ra = m.group(4) is not None
        if self.command != "GET":
            return self._arm_error(405, "MethodNotAllowed", "The %s method is not supported "
                                   "here." % self.command, {"Allow": "GET"})
        api = self._one("api-version")
        if api is None:
            return self._arm_error(400, "MissingApiVersionParameter", "The api-version query "
                                   "parameter (?api-version=) is required for all requests.")
        allowed = ARM_RA_API_VERSIONS if ra else ARM_VAULT_API_VERSIONS
        if api not in allowed:
            return self._arm_error(400, "NoRegisteredProviderFound", "No registered resource "
                                   "provider found for location 'westeurope' and API version "
                                   "'%s' for type '%s'. The supported api-versions are '%s'."
                                   % (api, "roleAssignments" if ra else "vaults",
                                      ", ".join(allowed)))
        rec, problem = self._az_bearer()
        if problem is not None or rec["kind"] != "arm":
            code, message = {
                "missing": ("AuthenticationFailed",
                            "Authentication failed. The 'Authorization' header is missing."),
                "expired": ("ExpiredAuthenticationToken", "The access token expiry UTC time "
                            "'%s' is earlier than current UTC time '%s'." % (
                                time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime(
                                    rec["expires"] if rec else 0)),
                                time.strftime("%m/%d/%Y %H:%M:%S", time.gmtime()))),
                "invalid": ("InvalidAuthenticationToken", "The access token is invalid."),
            }.get(problem, ("InvalidAuthenticationTokenAudience",
                            "The access token has been obtained for wrong audience or "
                            "resource '%s'. It should exactly match with one of the allowed "
                            "audiences 'https://management.core.windows.net/','https://"
                            "management.core.windows.net','https://management.azure.com/',"
                            "'https://management.azure.com'." % (rec or {}).get("aud")))
            return self._arm_error(401, code, message, {
                "WWW-Authenticate": 'Bearer authorization_uri="https://login.windows.net/", '
                                    'error="invalid_token", error_description="%s"'
                                    % message.replace('"', "'")})
        with self.state.lock:
            v = copy.deepcopy(self.state.az_vaults.get(name.lower()))
            rgs = set(self.state.az_resource_groups)
            subs = {sub_rg[0] for sub_rg in rgs}
        if v is not None and (v["subscription"].lower(), v["resource_group"].lower()) != \
                (sub.lower(), rg.lower()):
            v = None
        if v is not None and rec["tenant"].lower() != v["tenant"].lower():
            return self._arm_error(401, "InvalidAuthenticationTokenTenant",
                                   "The access token is from the wrong issuer 'https://sts."
                                   "windows.net/%s/'. It must match the tenant 'https://sts."
                                   "windows.net/%s/' associated with this subscription. Please "
                                   "use the authority (URL) 'https://login.windows.net/%s' to "
                                   "get the token." % (rec["tenant"], v["tenant"], v["tenant"]))
        scope = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s" % (
            sub, rg, name)
        if not self._az_granted(rec["client_id"], "role_assignments" if ra else "arm", name):
            return self._arm_error(403, "AuthorizationFailed",
                                   "The client '%s' with object id '%s' does not have "
                                   "authorization to perform action '%s' over scope '%s' or "
                                   "the scope is invalid. If access was recently granted, "
                                   "please refresh your credentials." % (
                                       rec["client_id"], rec["object_id"],
                                       "Microsoft.Authorization/roleAssignments/read" if ra
                                       else "Microsoft.KeyVault/vaults/read", scope))
        if v is None:
            if sub.lower() not in subs:
                return self._arm_error(404, "SubscriptionNotFound",
                                       "The subscription '%s' could not be found." % sub)
            if (sub.lower(), rg.lower()) not in rgs:
                return self._arm_error(404, "ResourceGroupNotFound",
                                       "Resource group '%s' could not be found." % rg)
            return self._arm_error(404, "ResourceNotFound",
                                   "The Resource 'Microsoft.KeyVault/vaults/%s' under resource "
                                   "group '%s' was not found. For more details please go to "
                                   "https://aka.ms/ARMResourceNotFoundFix" % (name, rg))
        if ra:
            at_scope, principal = False, None
            if "$filter" in self.query:
                try:
                    at_scope, principal = parse_ra_filter(self._one("$filter") or "")
                except ValueError:
                    return self._arm_error(400, "BadRequest",
                                           "The filter '%s' is not supported. Supported filters "
                                           "are either 'atScope()' or 'principalId eq "
                                           "'{value}'' or 'assignedTo('{value}')'."
                                           % ",".join(self.query["$filter"]))
            vid = arm_vault_id(v).lower()
            items = []
            for r in (arm_role_assignment(v, x) for x in v["role_assignments"]):
                s = r["properties"]["scope"].lower().rstrip("/")
                if at_scope and not (s == vid or vid.startswith(s + "/")):
                    continue
                if principal is not None and \
                        r["properties"]["principalId"].lower() != principal.lower():
                    continue
                items.append(r)
            body = {"value": items}
        else:
            body = arm_vault_doc(v)
        rid = str(uuid.uuid4())
        self.reply_json(200, body, MT_AZ_JSON, {
            "Cache-Control": "no-cache", "Pragma": "no-cache", "Expires": "-1",
            "x-ms-ratelimit-remaining-subscription-reads": str(self.state.arm_reads_remaining()),
            "x-ms-request-id": rid, "x-ms-correlation-request-id": rid})


# --- Google Cloud: Cloud KMS, OAuth token endpoint, metadata server -----------------
# Facts from docs/reference/providers.md "Google Cloud KMS".  Everything GCP
# lives in this section; the shared code only calls gcp_state_reset(),
# gcp_family(), gcp_error_body() and the two mixins below.

GCP_TOKEN_TTL_DEFAULT = 3599
GCP_KMS_SCOPE = "https://www.googleapis.com/auth/cloudkms"
GCP_SCOPES_OK = (GCP_KMS_SCOPE, "https://www.googleapis.com/auth/cloud-platform")
GCP_DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"
GCP_JWT_MAX_LIFETIME = 3600
GCP_CLOCK_SKEW = 300
MAX_GCP_TOKENS = 20000
GCP_STATES = ("ENABLED", "DISABLED", "DESTROYED", "DESTROY_SCHEDULED", "PENDING_GENERATION",
              "PENDING_IMPORT", "IMPORT_FAILED", "GENERATION_FAILED",
              "PENDING_EXTERNAL_DESTRUCTION", "EXTERNAL_DESTRUCTION_FAILED")
GCP_PERMISSIONS = ("cloudkms.cryptoKeyVersions.get", "cloudkms.cryptoKeys.get")
GCP_KEY_RE = re.compile(r"projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+")
GCP_VERSION_RE = re.compile(GCP_KEY_RE.pattern + r"/cryptoKeyVersions/[0-9]+")
GCP_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
              404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL",
              503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
GCP_METADATA_TOKEN_PATH = "/computeMetadata/v1/instance/service-accounts/default/token"


def gcp_state_reset(state):
    """The GCP part of State.reset() (caller holds the lock)."""
    state.gcp_accounts = {}     # client_email -> {"public_key", "key_id", "token_uri",
    #                              "permissions", "disabled"}
    state.gcp_keys = {}         # key name -> {"createTime", "rotationPeriod",
    #                              "nextRotationTime", "primary", "purpose", "versions"}
    state.gcp_tokens = {}       # access token -> {"client_email", "via", "issued", "expires"}
    state.gcp_token_ttl = GCP_TOKEN_TTL_DEFAULT
    state.gcp_metadata_account = None   # client_email the metadata server hands out


def gcp_family(path):
    """"kms", "token", "metadata" or None."""
    if path.startswith("/v1/projects/"):
        return "kms"
    if path == "/token":
        return "token"
    if path.startswith("/computeMetadata/"):
        return "metadata"
    return None


def gcp_error_body(status, message=None):
    return {"error": {"code": status, "status": GCP_STATUS.get(status, "UNKNOWN"),
                      "message": message or "fakecloud scripted %d" % status}}


def gcp_time(value, what):
    """Unix seconds or an ISO-8601 string -> RFC 3339 with nanoseconds, as
    Cloud KMS writes them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    elif isinstance(value, str):
        try:
            d = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadInput("%s: not a time: %r" % (what, value))
        if d.tzinfo is None:
            raise BadInput("%s: time without a zone: %r" % (what, value))
        secs = d.timestamp()
    else:
        raise BadInput("%s: expected unix seconds or an ISO-8601 string" % what)
    whole = int(secs // 1)
    nanos = int(round((secs - whole) * 1e9)) or 123456789
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%09dZ" % nanos


def gcp_parse_version(name, obj):
    obj = _obj(obj, "version", {"state", "createTime", "destroyTime", "destroyEventTime",
                                "algorithm", "protectionLevel", "importFailureReason"})
    state = obj.get("state", "ENABLED")
    if state not in GCP_STATES:
        raise BadInput("version state must be one of %s" % ", ".join(GCP_STATES))
    v = {"name": name, "state": state,
         "createTime": gcp_time(obj.get("createTime", time.time()), "createTime"),
         "algorithm": obj.get("algorithm", "GOOGLE_SYMMETRIC_ENCRYPTION"),
         "protectionLevel": obj.get("protectionLevel", "SOFTWARE")}
    for k in ("destroyTime", "destroyEventTime"):
        if obj.get(k) is not None:
            v[k] = gcp_time(obj[k], k)
    if state == "DESTROY_SCHEDULED" and "destroyTime" not in v:
        v["destroyTime"] = gcp_time(time.time() + 30 * 86400, "destroyTime")
    if obj.get("importFailureReason"):
        v["importFailureReason"] = str(obj["importFailureReason"])
    return v


def gcp_parse_key(name, obj):
    if not GCP_KEY_RE.fullmatch(name):
        raise BadInput("not a CryptoKey name: %r" % name)
    obj = _obj(obj, "key", {"createTime", "rotationPeriod", "nextRotationTime", "primary",
                            "purpose", "versions"})
    versions = {}
    for num, vobj in (obj.get("versions") or {"1": {}}).items():
        if not str(num).isdigit() or str(num).startswith("0"):
            raise BadInput("version numbers are positive integers: %r" % num)
        versions[str(num)] = gcp_parse_version("%s/cryptoKeyVersions/%s" % (name, num),
                                               vobj or {})
    k = {"name": name, "purpose": obj.get("purpose", "ENCRYPT_DECRYPT"),
         "createTime": gcp_time(obj.get("createTime", time.time() - 400 * 86400),
                                "createTime"),
         "versions": versions,
         "primary": str(obj.get("primary", max(versions, key=int) if versions else ""))}
    if obj.get("rotationPeriod") is not None:
        rp = obj["rotationPeriod"]
        k["rotationPeriod"] = "%ds" % rp if isinstance(rp, int) else str(rp)
        k["nextRotationTime"] = gcp_time(obj.get("nextRotationTime", time.time() + 30 * 86400),
                                         "nextRotationTime")
    return k


def gcp_parse_account(obj):
    obj = _obj(obj, "service account", {"client_email", "public_key", "key_id", "token_uri",
                                        "permissions", "disabled"})
    email = _str(obj.get("client_email"), "client_email")
    perms = obj.get("permissions", list(GCP_PERMISSIONS))
    if not isinstance(perms, list) or not all(isinstance(p, str) for p in perms):
        raise BadInput("permissions: a list of strings")
    pub = obj.get("public_key")
    if pub is not None:
        try:
            from cryptography.hazmat.primitives import serialization
            serialization.load_pem_public_key(pub.encode())
        except Exception as e:        # noqa: BLE001 - any parse failure is bad input
            raise BadInput("public_key: not a PEM public key (%s)" % e)
    return {"client_email": email, "public_key": pub, "key_id": obj.get("key_id"),
            "token_uri": obj.get("token_uri", GCP_DEFAULT_TOKEN_URI), "permissions": perms,
            "disabled": bool(obj.get("disabled", False))}


def gcp_b64url_decode(s):
    if not isinstance(s, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def gcp_verify_rs256(public_pem, signing_input, signature):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
    key = serialization.load_pem_public_key(public_pem.encode())
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


class GcpMixin:
    """Cloud KMS and Google's token endpoint (HTTPS), the metadata server
    (control port).  Each gcp_* method answers the request itself."""

    def gcp_route(self):
        getattr(self, "gcp_" + gcp_family(self.req_path))()

    def _gcp_issue(self, email, via):
        now = int(time.time())
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        with self.state.lock:
            ttl = self.state.gcp_token_ttl
            tokens = self.state.gcp_tokens
            if len(tokens) >= MAX_GCP_TOKENS:
                for t in [t for t, r in tokens.items() if r["expires"] <= now]:
                    del tokens[t]
                while len(tokens) >= MAX_GCP_TOKENS:
                    del tokens[next(iter(tokens))]
            tokens[token] = {"client_email": email, "via": via, "issued": now,
                             "expires": now + ttl}
        return {"access_token": token, "expires_in": ttl, "token_type": "Bearer"}

    def _gcp_grant_error(self, status, error, description):
        self.reply_json(status, {"error": error, "error_description": description})

    def gcp_token(self):
        """POST /token: the JWT bearer grant (RFC 7523) with a service-account
        assertion, verified as Google does."""
        if self.command != "POST":
            self.reply_json(405, gcp_error_body(405, "Method not allowed"))
            return
        form = self._form()
        if form is None:
            self._gcp_grant_error(400, "invalid_request", "Expected a form body")
            return
        if self._one("grant_type", form) != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            self._gcp_grant_error(400, "unsupported_grant_type", "Invalid grant_type: %s" %
                                  (self._one("grant_type", form) or ""))
            return
        assertion = self._one("assertion", form)
        try:
            head_b, claims_b, sig_b = (assertion or "").split(".")
            head = json.loads(gcp_b64url_decode(head_b))
            claims = json.loads(gcp_b64url_decode(claims_b))
            sig = gcp_b64url_decode(sig_b)
            if not isinstance(head, dict) or not isinstance(claims, dict):
                raise ValueError("not objects")
        except (ValueError, UnicodeDecodeError):
            self._gcp_grant_error(400, "invalid_grant", "Invalid JWT: malformed assertion")
            return
        if head.get("alg") != "RS256":
            self._gcp_grant_error(400, "invalid_grant", "Invalid JWT: unsupported algorithm")
            return
        with self.state.lock:
            acct = copy.deepcopy(self.state.gcp_accounts.get(claims.get("iss")))
        if acct is None or acct["disabled"]:
            self._gcp_grant_error(400, "invalid_grant", "Invalid grant: account not found")
            return
        if acct["public_key"] is None or not gcp_verify_rs256(
                acct["public_key"], ("%s.%s" % (head_b, claims_b)).encode(), sig):
            self._gcp_grant_error(400, "invalid_grant", "Invalid JWT Signature.")
            return
        if acct["key_id"] is not None and head.get("kid") not in (None, acct["key_id"]):
            self._gcp_grant_error(400, "invalid_grant", "Invalid JWT Signature.")
            return
        if claims.get("aud") != acct["token_uri"]:
            self._gcp_grant_error(400, "invalid_grant",
                                  "Invalid JWT: Failed audience check. The right audience is "
                                  + acct["token_uri"])
            return
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (not isinstance(iat, int) or not isinstance(exp, int) or exp <= iat or
                exp - iat > GCP_JWT_MAX_LIFETIME or iat > now + GCP_CLOCK_SKEW or
                exp < now - GCP_CLOCK_SKEW):
            self._gcp_grant_error(400, "invalid_grant",
                                  "Invalid JWT: Token must be a short-lived token (60 minutes) "
                                  "and in a reasonable timeframe. Check your iat and exp "
                                  "values in the JWT claim.")
            return
        scopes = str(claims.get("scope", "")).split()
        if not scopes or not any(s in GCP_SCOPES_OK for s in scopes):
            self._gcp_grant_error(400, "invalid_scope",
                                  "Invalid OAuth scope or ID token audience provided.")
            return
        self.reply_json(200, self._gcp_issue(acct["client_email"], "jwt"))

    def gcp_metadata(self):
        """GET /computeMetadata/v1/instance/service-accounts/default/token
        (control port): needs Metadata-Flavor: Google."""
        if self.headers.get("Metadata-Flavor") != "Google":
            self.reply(403, "Missing required header: Metadata-Flavor\n", "text/html")
            return
        if self.req_path != GCP_METADATA_TOKEN_PATH or self.command != "GET":
            self.reply(404, "Not Found\n", "text/html")
            return
        with self.state.lock:
            email = self.state.gcp_metadata_account
        if email is None:
            self.reply(404, "No service account attached\n", "text/html")
            return
        self.reply_json(200, self._gcp_issue(email, "metadata"),
                        headers={"Metadata-Flavor": "Google"})

    def _gcp_error(self, status, message, headers=None):
        self.reply_json(status, gcp_error_body(status, message), headers=headers)

    def gcp_kms(self):
        """GET /v1/{CryptoKeyVersion or CryptoKey name}: Bearer token first
        (401), then the permission (403, as Google: also for what does not
        exist), then 404."""
        if self.command != "GET":
            self._gcp_error(405, "Method not allowed")
            return
        name = self.req_path[len("/v1/"):]
        is_version = GCP_VERSION_RE.fullmatch(name) is not None
        if not is_version and GCP_KEY_RE.fullmatch(name) is None:
            self._gcp_error(400, "Invalid resource name %s" % name)
            return
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, token = auth.partition(" ")
        with self.state.lock:
            rec = self.state.gcp_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            rec = dict(rec) if rec else None
            acct = copy.deepcopy(self.state.gcp_accounts.get(rec["client_email"])) \
                if rec else None
        if rec is None or rec["expires"] <= time.time():
            self._gcp_error(401, "Request had invalid authentication credentials. Expected "
                                 "OAuth 2 access token, login cookie or other valid "
                                 "authentication credential.",
                            headers={"WWW-Authenticate": 'Bearer realm="https://accounts.'
                                                         'google.com/"'})
            return
        perm = GCP_PERMISSIONS[0] if is_version else GCP_PERMISSIONS[1]
        if acct is None or perm not in acct["permissions"]:
            self._gcp_error(403, "Permission '%s' denied on resource '%s' (or it may not "
                                 "exist)." % (perm, name))
            return
        key_name = name.split("/cryptoKeyVersions/")[0]
        with self.state.lock:
            key = copy.deepcopy(self.state.gcp_keys.get(key_name))
        if key is None:
            self._gcp_error(404, "%s not found." % key_name)
            return
        if is_version:
            v = key["versions"].get(name.rsplit("/", 1)[1])
            if v is None:
                self._gcp_error(404, "%s not found." % name)
                return
            self.reply_json(200, v)
            return
        doc = {k: key[k] for k in ("name", "purpose", "createTime", "rotationPeriod",
                                   "nextRotationTime") if k in key}
        if key["primary"] in key["versions"]:
            doc["primary"] = key["versions"][key["primary"]]
        doc["versionTemplate"] = {"protectionLevel": "SOFTWARE",
                                  "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION"}
        self.reply_json(200, doc)


class GcpControlMixin:
    """The /gcp/... control endpoints (registered by gcp_register_routes)."""

    def c_gcp_state(self):
        with self.state.lock:
            s = self.state
            doc = {"service_accounts": sorted(s.gcp_accounts), "keys": sorted(s.gcp_keys),
                   "metadata_account": s.gcp_metadata_account,
                   "token_ttl": s.gcp_token_ttl, "tokens": len(s.gcp_tokens)}
        self.reply_json(200, doc)

    def c_gcp_put_accounts(self, replace=True):
        body = self.json_body()
        accts = [gcp_parse_account(a) for a in (body if isinstance(body, list) else [body])]
        with self.state.lock:
            if replace:
                self.state.gcp_accounts = {}
            for a in accts:
                self.state.gcp_accounts[a["client_email"]] = a
        self.ok(service_accounts=[a["client_email"] for a in accts])

    def c_gcp_add_accounts(self):
        self.c_gcp_put_accounts(replace=False)

    def c_gcp_patch_account(self, email):
        body = _obj(self.json_body(), "service account", {"permissions", "disabled",
                                                          "public_key", "key_id"})
        with self.state.lock:
            a = self.state.gcp_accounts.get(email)
            if a is None:
                raise ControlNotFound("no service account %s" % email)
            merged = gcp_parse_account(dict(a, **body))
            self.state.gcp_accounts[email] = merged
        self.ok()

    def c_gcp_put_metadata(self):
        body = _obj(self.json_body(), "metadata", {"client_email"})
        with self.state.lock:
            self.state.gcp_metadata_account = body.get("client_email")
        self.ok()

    def c_gcp_put_kms(self, name):
        key = gcp_parse_key(name, self.json_body())
        with self.state.lock:
            self.state.gcp_keys[name] = key
        self.ok(key=key)

    def c_gcp_patch_kms(self, name):
        """A version's fields (state, destroyTime...), or a key's
        (rotationPeriod, nextRotationTime, primary; "versions" merged)."""
        body = self.json_body()
        with self.state.lock:
            if GCP_VERSION_RE.fullmatch(name):
                key_name, num = name.split("/cryptoKeyVersions/")
                key = self.state.gcp_keys.get(key_name)
                if key is None:
                    raise ControlNotFound("no key %s" % key_name)
                old = dict(key["versions"].get(num) or {})
                old.pop("name", None)
                if body.get("state") is not None and body.get("state") != "DESTROY_SCHEDULED":
                    old.pop("destroyTime", None)
                key["versions"][num] = gcp_parse_version(name, dict(old, **body))
                self.ok(version=key["versions"][num])
                return
            key = self.state.gcp_keys.get(name)
            if key is None:
                raise ControlNotFound("no key %s" % name)
            view = {k: v for k, v in key.items() if k not in ("name", "versions")}
            view["versions"] = {n: {k: x for k, x in v.items() if k != "name"}
                                for n, v in key["versions"].items()}
            for n, v in (body.pop("versions", None) or {}).items():
                view["versions"][n] = v
            view.update(body)
            if view.get("rotationPeriod") is None:
                view.pop("nextRotationTime", None)
            self.state.gcp_keys[name] = gcp_parse_key(name, view)
            self.ok(key=self.state.gcp_keys[name])

    def c_gcp_get_kms(self, name):
        with self.state.lock:
            key = copy.deepcopy(self.state.gcp_keys.get(name.split("/cryptoKeyVersions/")[0]))
        if key is None:
            raise ControlNotFound("no key %s" % name)
        self.reply_json(200, key)

    def c_gcp_delete_kms(self, name):
        with self.state.lock:
            if GCP_VERSION_RE.fullmatch(name):
                key_name, num = name.split("/cryptoKeyVersions/")
                key = self.state.gcp_keys.get(key_name)
                if key is None or key["versions"].pop(num, None) is None:
                    raise ControlNotFound("no version %s" % name)
            elif self.state.gcp_keys.pop(name, None) is None:
                raise ControlNotFound("no key %s" % name)
        self.ok()

    def c_gcp_put_token_ttl(self):
        self.state.gcp_token_ttl = parse_ttl(self.json_body())
        self.ok()

    def c_gcp_revoke_tokens(self):
        with self.state.lock:
            self.state.gcp_tokens = {}
        self.ok()

    def c_gcp_get_tokens(self):
        with self.state.lock:
            recs = [dict(r) for r in self.state.gcp_tokens.values()]
        self.reply_json(200, recs)


def gcp_register_routes(handler):
    for m, p, f in [
            ("GET", r"/gcp", "c_gcp_state"),
            ("PUT", r"/gcp/service_accounts", "c_gcp_put_accounts"),
            ("POST", r"/gcp/service_accounts", "c_gcp_add_accounts"),
            ("PATCH", r"/gcp/service_accounts/([^/]+)", "c_gcp_patch_account"),
            ("PUT", r"/gcp/metadata", "c_gcp_put_metadata"),
            ("PUT", r"/gcp/kms/(projects/.+)", "c_gcp_put_kms"),
            ("PATCH", r"/gcp/kms/(projects/.+)", "c_gcp_patch_kms"),
            ("GET", r"/gcp/kms/(projects/.+)", "c_gcp_get_kms"),
            ("DELETE", r"/gcp/kms/(projects/.+)", "c_gcp_delete_kms"),
            ("PUT", r"/gcp/token_ttl", "c_gcp_put_token_ttl"),
            ("POST", r"/gcp/revoke_tokens", "c_gcp_revoke_tokens"),
            ("GET", r"/gcp/tokens", "c_gcp_get_tokens")]:
        handler.ROUTES.append((m, re.compile(p), f))
# --- end of Google Cloud -----------------------------------------------------------


# --- Atlas (HTTPS) ---------------------------------------------------------------

ORG_GROUPS_RE = re.compile(r"/api/atlas/v2/orgs/([^/]+)/groups")
GROUP_RE = re.compile(r"/api/atlas/v2/groups/([^/]+)/"
                      r"(encryptionAtRest|ipAddresses|clusters|cloudProviderAccess|events)")
PE_RE = re.compile(r"/api/atlas/v2/groups/([^/]+)/encryptionAtRest/([^/]+)/privateEndpoints")
HOOK_RE = re.compile(r"/hooks/([^/]+)")
GROUP_ONE_RE = re.compile(r"/api/atlas/v2/groups/([^/]+)")
ORG_SA_RE = re.compile(r"/api/atlas/v2/orgs/([^/]+)/serviceAccounts/([^/]+)")

GROUP_MEDIA = {"encryptionAtRest": MT_2023_01_01, "ipAddresses": MT_2023_01_01,
               "clusters": MT_2024_08_05, "cloudProviderAccess": MT_2023_01_01,
               "events": MT_2023_01_01}


class AtlasHandler(fakeaws.AwsMixin, AzureMixin, GcpMixin, Handler):

    def served(self):
        return True     # every HTTPS request is logged and fault-checked

    def route(self):
        p = self.req_path
        if self.is_aws_request():
            self.aws_route()
            return
        family = azure_family(p)
        if family is not None:
            getattr(self, "az_" + family)()
            return
        if gcp_family(p) in ("kms", "token"):
            self.gcp_route()
            return
        m = GROUP_RE.fullmatch(p)
        pe = PE_RE.fullmatch(p)
        og = ORG_GROUPS_RE.fullmatch(p)
        one = GROUP_ONE_RE.fullmatch(p)
        sa = ORG_SA_RE.fullmatch(p)
        if p == "/api/atlas/v2/groups":
            if self._method_ok("GET"):
                self.atlas_list_groups(None)
        elif og:
            if self._method_ok("GET"):
                self.atlas_list_groups(urllib.parse.unquote(og.group(1)))
        elif one:
            if self._method_ok("GET"):
                self.atlas_group_doc(urllib.parse.unquote(one.group(1)))
        elif sa:
            if self._method_ok("GET"):
                self.atlas_service_account(urllib.parse.unquote(sa.group(1)),
                                           urllib.parse.unquote(sa.group(2)))
        elif m:
            if self._method_ok("GET"):
                self.atlas_group(urllib.parse.unquote(m.group(1)), m.group(2))
        elif pe:
            if self._method_ok("GET"):
                self.atlas_private_endpoints(urllib.parse.unquote(pe.group(1)), pe.group(2))
        elif p == "/api/atlas/v2/unauth/controlPlaneIPAddresses":
            if self._method_ok("GET") and self.negotiate(MT_2023_11_15):
                with self.state.lock:
                    doc = copy.deepcopy(self.state.control_plane_ips)
                self.atlas_ok(doc, MT_2023_11_15)
        elif p == "/api/oauth/token":
            if self._method_ok("POST"):
                self.oauth_token()
        elif p == "/api/oauth/revoke":
            if self._method_ok("POST"):
                self.oauth_revoke()
        elif HOOK_RE.fullmatch(p):
            if self._method_ok("POST"):
                self.receive_hook(urllib.parse.unquote(HOOK_RE.fullmatch(p).group(1)))
        else:
            self.reply_json(404, api_error(404, "RESOURCE_NOT_FOUND",
                                           "Cannot find resource %s." % p, [p]))

    def _method_ok(self, allowed):
        if self.command == allowed:
            return True
        self.reply_json(405, api_error(405, "METHOD_NOT_ALLOWED",
                                       "Method %s is not allowed on %s." %
                                       (self.command, self.req_path)),
                        headers={"Allow": allowed})
        return False

    def atlas_ok(self, doc, media_type):
        remaining = self.state.rate_remaining()
        self.reply_json(200, doc, media_type, {"RateLimit-Limit": str(RATE_LIMIT),
                                               "RateLimit-Remaining": str(remaining)})

    def negotiate(self, media_type):
        """The resource exists in one version only: Accept must name it."""
        for part in ",".join(self.headers.get_all("Accept") or []).split(","):
            if part.split(";", 1)[0].strip().lower() == media_type:
                return True
        self.reply_json(406, api_error(406, "INVALID_VERSION_DATE",
                                       "Invalid accept header or version date."))
        return False

    # -- authentication --

    def unauthorized(self, detail, stale=False):
        nonce = self.state.new_nonce()
        with self.state.lock:
            alg = self.state.digest_algorithm
        challenge = ('Digest realm="%s", domain="", nonce="%s", algorithm=%s, '
                     'qop="auth", stale=%s' % (DIGEST_REALM, nonce, alg,
                                               "TRUE" if stale else "FALSE"))
        self.reply_json(401, api_error(401, "UNAUTHORIZED", detail),
                        headers={"WWW-Authenticate": challenge})

    def authenticate(self):
        """True if the request carries a valid Bearer token or Digest
        response; otherwise a 401 has been sent."""
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, rest = auth.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            token = rest.strip()
            with self.state.lock:
                rec = self.state.tokens.get(token)
                ok = rec is not None and rec["expires"] > time.time()
            if ok:
                return True
            self.unauthorized("Invalid, expired or revoked access token.")
            return False
        if scheme == "digest":
            ok, stale, why = self.check_digest(rest)
            if ok:
                return True
            self.unauthorized(why, stale)
            return False
        self.unauthorized("You are not authorized for this resource.")
        return False

    def check_digest(self, params_text):
        """Verify an RFC 7616 Digest response with qop=auth.
        Returns (ok, stale, reason)."""
        try:
            p = parse_auth_params(params_text)
        except ValueError as e:
            return False, False, "Malformed Digest credentials: %s." % e
        missing = [k for k in ("username", "realm", "nonce", "uri", "response", "qop",
                               "nc", "cnonce") if not p.get(k)]
        if missing:
            return False, False, "Digest credentials lack %s." % ", ".join(missing)
        with self.state.lock:
            alg = self.state.digest_algorithm
            password = self.state.apikeys.get(p["username"])
        if p.get("algorithm", "MD5").upper() != alg:
            return False, False, "Digest algorithm must be %s." % alg
        if p["realm"] != DIGEST_REALM:
            return False, False, "Wrong Digest realm."
        if p["qop"] != "auth":
            return False, False, "Digest qop must be auth."
        if p["uri"] != self.path:
            return False, False, "Digest uri does not match the request."
        if not re.fullmatch(r"[0-9a-fA-F]{8}", p["nc"]):
            return False, False, "Digest nc must be 8 hex digits."
        if password is None:
            return False, False, "Unknown API key."

        def h(s):
            return DIGEST_HASHES[alg](s.encode("utf-8")).hexdigest()
        ha1 = h("%s:%s:%s" % (p["username"], DIGEST_REALM, password))
        ha2 = h("%s:%s" % (self.command, p["uri"]))
        expected = h("%s:%s:%s:%s:%s:%s" % (ha1, p["nonce"], p["nc"], p["cnonce"],
                                            p["qop"], ha2))
        if not hmac.compare_digest(expected, p["response"].lower()):
            return False, False, "Invalid Digest response."
        # The hash is right; now the nonce must be ours, fresh and the nc new
        # (replay protection).  A stale nonce with a right hash gets stale=TRUE
        # so the client retries with the new nonce without asking the user.
        with self.state.lock:
            rec = self.state.nonces.get(p["nonce"])
            if rec is None or rec["time"] < time.monotonic() - NONCE_LIFETIME:
                return False, True, "Stale Digest nonce."
            nc = int(p["nc"], 16)
            if nc in rec["ncs"]:
                return False, False, "Digest nonce count reused."
            rec["ncs"].add(nc)
        return True, False, ""

    # -- group resources --

    def _group_for(self, gid, media_type):
        """A copy of the group a group endpoint serves, or None once the
        error (401, 406, 403, 404 GROUP_NOT_FOUND, in that order) is sent."""
        if not self.authenticate() or not self.negotiate(media_type):
            return None
        with self.state.lock:
            forbidden = copy.deepcopy(self.state.forbidden.get(gid))
            group = copy.deepcopy(self.state.groups.get(gid))
        if forbidden is not None:
            self.reply_json(403, forbidden)
            return None
        if group is None:
            self.reply_json(404, api_error(404, "GROUP_NOT_FOUND",
                                           "No group with ID %s exists." % gid, [gid]))
        return group

    def atlas_group(self, gid, resource):
        media_type = GROUP_MEDIA[resource]
        group = self._group_for(gid, media_type)
        if group is None:
            return
        if resource == "encryptionAtRest":
            self.atlas_ok(group["ear"], media_type)
        elif resource == "ipAddresses":
            doc = group["ipAddresses"]
            self.atlas_ok(default_ip_addresses(gid) if doc is None else doc, media_type)
        elif resource == "cloudProviderAccess":
            doc = group["cloudProviderAccess"]
            self.atlas_ok(default_cloud_provider_access() if doc is None else doc, media_type)
        elif resource == "events":
            self.atlas_events(gid, group.get("events", []), media_type)
        else:
            clusters = group["clusters"]
            if clusters is None:
                clusters = default_clusters(gid, group["ear"])
            self.clusters_page(gid, clusters, media_type)

    def atlas_list_groups(self, org):
        """GET /groups (org None) or /orgs/{org}/groups."""
        if not self.authenticate() or not self.negotiate(MT_2023_01_01):
            return
        with self.state.lock:
            items = [group_listing_entry(gid, g) for gid, g in self.state.groups.items()
                     if not g.get("hidden")]
            cap = self.state.listing_max
        if org is not None:
            orgs = {i["orgId"] for i in items} | {DEFAULT_ORG_ID}
            if org not in orgs:
                self.reply_json(404, api_error(404, "ORG_NOT_FOUND",
                                               "No organization with ID %s exists." % org,
                                               [org]))
                return
            items = [i for i in items if i["orgId"] == org]
        items.sort(key=lambda i: (i["name"], i["id"]))
        path = "/api/atlas/v2/groups" if org is None else \
            "/api/atlas/v2/orgs/%s/groups" % urllib.parse.quote(org)
        self.atlas_page(None, None, items, MT_2023_01_01, path=path, cap=cap)

    def atlas_group_doc(self, gid):
        group = self._group_for(gid, MT_2023_01_01)
        if group is None:
            return
        self.atlas_ok({"id": gid, "name": group.get("name") or ("project-" + gid[-6:]),
                       "orgId": group.get("orgId", DEFAULT_ORG_ID),
                       "clusterCount": len(group.get("clusters") or []),
                       "created": iso_seconds(int(FAKE_STARTED)),
                       "links": [{"href": "https://%s/api/atlas/v2/groups/%s" % (
                           self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port,
                           urllib.parse.quote(gid)), "rel": "self"}]}, MT_2023_01_01)

    def sa_meta(self, client_id):
        """The org view of a service account (created on first use); call
        with the lock held."""
        st = self.state
        if client_id not in st.sa_meta:
            st.sa_meta[client_id] = default_sa_meta(client_id,
                                                    st.service_accounts.get(client_id))
        return st.sa_meta[client_id]

    def atlas_service_account(self, org_id, client_id):
        if not self.authenticate() or not self.negotiate(MT_2024_08_05):
            return
        token = (self.headers.get("Authorization") or "").partition(" ")[2].strip()
        with self.state.lock:
            rec = self.state.tokens.get(token)
            caller = copy.deepcopy(self.sa_meta(rec["client_id"])) if rec else None
            known = client_id in self.state.service_accounts
            meta = copy.deepcopy(self.sa_meta(client_id)) if known else None
        if caller is None or caller["orgId"] != org_id or not caller["org_read"]:
            self.reply_json(403, api_error(403, "USER_UNAUTHORIZED",
                                           "Current user is not authorized to perform this "
                                           "action."))
            return
        if meta is None or not meta["listed"] or meta["orgId"] != org_id:
            self.reply_json(404, api_error(404, "RESOURCE_NOT_FOUND",
                                           "Cannot find resource /api/atlas/v2/orgs/%s/"
                                           "serviceAccounts/%s." % (org_id, client_id),
                                           [org_id, client_id]))
            return
        self.atlas_ok({"clientId": client_id, "name": "kmswatch",
                       "description": "kmswatch monitor", "createdAt": meta["createdAt"],
                       "roles": ["ORG_READ_ONLY"] if meta["org_read"] else ["ORG_MEMBER"],
                       "secrets": meta["secrets"]}, MT_2024_08_05)

    def atlas_events(self, gid, events, media_type):
        """Newest first, filtered by eventType (any of) and minDate/maxDate."""
        try:
            types = set(self.query.get("eventType", []))
            lo = self.query.get("minDate", [None])[0]
            hi = self.query.get("maxDate", [None])[0]
            lo = parse_when(lo, "minDate") if lo is not None else None
            hi = parse_when(hi, "maxDate") if hi is not None else None
        except BadInput as e:
            self.reply_json(400, api_error(400, "INVALID_QUERY_PARAMETER", str(e)))
            return
        keep = []
        for ev in events:
            when = parse_when(ev["created"], "created")
            if types and ev.get("eventTypeName") not in types:
                continue
            if (lo is not None and when < lo) or (hi is not None and when > hi):
                continue
            keep.append((when, ev))
        keep.sort(key=lambda x: x[0], reverse=True)
        self.atlas_page("events", gid, [ev for _, ev in keep], media_type)

    def atlas_private_endpoints(self, gid, provider):
        group = self._group_for(gid, MT_2023_01_01)
        if group is None:
            return
        if provider not in ("AZURE", "AWS"):
            self.reply_json(400, api_error(400, "INVALID_ENUM_VALUE",
                                           "An invalid enumeration value %s was specified."
                                           % provider, [provider]))
            return
        if not group.get("project_owner", True):
            self.reply_json(403, api_error(403, "USER_UNAUTHORIZED",
                                           "Current user is not authorized to perform this "
                                           "action."))
            return
        self.atlas_page("encryptionAtRest/%s/privateEndpoints" % provider,
                        gid, group["privateEndpoints"].get(provider, []), MT_2023_01_01)

    def _int_param(self, name, default, lo, hi):
        raw = self.query.get(name, [None])[0]
        if raw is None:
            return default
        if raw.strip().isdigit() and lo <= int(raw) <= hi:
            return int(raw)
        raise BadInput("%s must be an integer %d..%d" % (name, lo, hi))

    def clusters_page(self, gid, clusters, media_type):
        self.atlas_page("clusters", gid, clusters, media_type)

    def atlas_page(self, resource, gid, items, media_type, path=None, cap=500):
        """The paginated envelope: results, totalCount, links. path: the
        resource's path when it is not /groups/{gid}/{resource}; cap: fewer
        results per page than asked for (the listing's test control)."""
        try:
            per_page = self._int_param("itemsPerPage", 100, 1, 500)
            page = self._int_param("pageNum", 1, 1, 2 ** 31 - 1)
            inc = self.query.get("includeCount", ["true"])[0].lower()
            if inc not in ("true", "false"):
                raise BadInput("includeCount must be true or false")
        except BadInput as e:
            body = api_error(400, "INVALID_QUERY_PARAMETER", str(e))
            self.reply_json(400, body)
            return
        per_page = min(per_page, cap)
        start = (page - 1) * per_page
        host = self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_port
        if path is None:
            path = "/api/atlas/v2/groups/%s/%s" % (urllib.parse.quote(gid), resource)
        base = "https://%s%s" % (host, path)

        def link(n, rel):
            return {"href": "%s?pageNum=%d&itemsPerPage=%d" % (base, n, per_page), "rel": rel}
        links = [link(page, "self")]
        if page > 1:
            links.insert(0, link(page - 1, "previous"))
        if start + per_page < len(items):
            links.append(link(page + 1, "next"))
        doc = {"links": links, "results": items[start:start + per_page]}
        if inc == "true":
            doc["totalCount"] = len(items)
        self.atlas_ok(doc, media_type)

    # -- OAuth (errors are RFC 6749 bodies, not ApiError) --

    def _oauth_error(self, status, error, description):
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="MongoDB Atlas"'
        self.reply_json(status, {"error": error, "error_description": description},
                        headers=headers)

    def _basic_client(self):
        """The (client_id, secret) of a valid Basic header, or None."""
        auth = (self.headers.get("Authorization") or "").strip()
        scheme, _, rest = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            cid, sep, secret = base64.b64decode(rest.strip(), validate=True) \
                .decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if not sep:
            return None
        with self.state.lock:
            known = self.state.service_accounts.get(cid)
        if known is None or not hmac.compare_digest(known.encode(), secret.encode()):
            return None
        return cid, secret

    def oauth_token(self):
        client = self._basic_client()
        if client is None:
            self._oauth_error(401, "invalid_client", "Client authentication failed.")
            return
        form = self._form()
        if form is None:
            self._oauth_error(400, "invalid_request",
                              "Expected an application/x-www-form-urlencoded body.")
            return
        grant = form.get("grant_type", [])
        if len(grant) != 1:
            self._oauth_error(400, "invalid_request", "grant_type is required once.")
            return
        if grant[0] != "client_credentials":
            self._oauth_error(400, "unsupported_grant_type",
                              "Only client_credentials is supported.")
            return
        now = int(time.time())
        with self.state.lock:
            ttl = self.state.token_ttl
            key = self.state.token_key
        token = self._make_jwt(client[0], now, ttl, key)
        with self.state.lock:
            self.state.tokens[token] = {"client_id": client[0], "expires": now + ttl}
        self.reply_json(200, {"access_token": token, "expires_in": ttl,
                              "token_type": "Bearer"},
                        headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _make_jwt(client_id, now, ttl, key):
        return hs256_jwt({"sub": client_id, "iat": now, "exp": now + ttl,
                          "jti": secrets.token_hex(16)}, key)

    def oauth_revoke(self):
        client = self._basic_client()
        if client is None:
            self._oauth_error(401, "invalid_client", "Client authentication failed.")
            return
        form = self._form()
        if form is None or len(form.get("token", [])) != 1:
            self._oauth_error(400, "invalid_request", "token is required.")
            return
        with self.state.lock:
            rec = self.state.tokens.get(form["token"][0])
            if rec is not None and rec["client_id"] == client[0]:
                del self.state.tokens[form["token"][0]]
        self.reply(200)     # RFC 7009: 200 whether or not the token existed


# --- control API (plain HTTP) ------------------------------------------------------

class ControlHandler(fakeaws.AwsMixin, AzureMixin, GcpMixin, GcpControlMixin, Handler):

    ROUTES = []     # (method, compiled regex, function name); filled below

    def served(self):
        # Only webhook deliveries and IMDS are traffic under test; control
        # calls are not logged or fault-checked.
        return (self.command == "POST" and HOOK_RE.fullmatch(self.req_path) is not None) or \
            azure_family(self.req_path) == "imds" or gcp_family(self.req_path) == "metadata" or \
            fakeaws.is_imds_path(self.req_path)

    def route(self):
        if azure_family(self.req_path) == "imds":
            self.az_imds()
            return
        if gcp_family(self.req_path) == "metadata":
            self.gcp_metadata()
            return
        if fakeaws.is_imds_path(self.req_path):
            self.aws_imds()
            return
        matched_path = False
        for method, rx, fname in self.ROUTES:
            m = rx.fullmatch(self.req_path)
            if m:
                matched_path = True
                if method == self.command:
                    args = [urllib.parse.unquote(a) for a in m.groups()]
                    try:
                        getattr(self, fname)(*args)
                    except BadInput as e:
                        self.reply_json(400, {"error": str(e)})
                    except ControlNotFound as e:
                        self.reply_json(404, {"error": str(e)})
                    return
        if matched_path:
            self.reply_json(405, {"error": "method %s not allowed here" % self.command})
        else:
            self.reply_json(404, {"error": "no control endpoint %s" % self.req_path})

    def json_body(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise BadInput("body is not valid JSON: %s" % e)

    def ok(self, **extra):
        self.reply_json(200, dict({"ok": True}, **extra))

    # -- handlers (registered in ROUTES) --

    def c_health(self):
        self.ok()

    def c_reset(self):
        self.state.reset()
        self.app.certs.set_mode("good")
        self.ok()

    def c_put_ear(self, gid):
        doc = self.json_body()
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())["ear"] = doc
        self.ok()

    def c_get_group(self, gid):
        with self.state.lock:
            g = copy.deepcopy(self.state.groups.get(gid))
            forbidden = gid in self.state.forbidden
        if g is None:
            self.reply_json(404, {"error": "no group %s" % gid, "forbidden": forbidden})
        else:
            self.reply_json(200, dict(g, forbidden=forbidden))

    def c_delete_group(self, gid):
        with self.state.lock:
            existed = self.state.groups.pop(gid, None) is not None
            self.state.forbidden.pop(gid, None)
        self.ok(existed=existed)

    def c_put_project(self, gid):
        body = self.json_body()
        if not isinstance(body, dict) or set(body) - {"name", "orgId", "hidden"}:
            raise BadInput("body may hold name, orgId, hidden")
        for k in ("name", "orgId"):
            if k in body and body[k] is not None and not isinstance(body[k], str):
                raise BadInput("%s must be a string" % k)
        if "hidden" in body and not isinstance(body["hidden"], bool):
            raise BadInput("hidden must be true or false")
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group()).update(body)
        self.ok()

    def c_put_listing(self):
        body = self.json_body()
        n = body.get("max_items_per_page") if isinstance(body, dict) else None
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 500:
            raise BadInput("max_items_per_page must be an integer 1..500")
        with self.state.lock:
            self.state.listing_max = n
        self.ok()

    def c_forbid(self, gid):
        body = self.json_body() if self.body.strip() else {}
        if not isinstance(body, dict) or set(body) - {"errorCode", "detail", "parameters"}:
            raise BadInput("body may hold errorCode, detail, parameters")
        params = body.get("parameters", [])
        if not isinstance(params, list):
            raise BadInput("parameters must be a list")
        err = api_error(403, str(body.get("errorCode", "USER_UNAUTHORIZED")),
                        str(body.get("detail",
                                     "Current user is not authorized to perform this action.")),
                        params)
        with self.state.lock:
            self.state.forbidden[gid] = err
        self.ok()

    def c_unforbid(self, gid):
        with self.state.lock:
            self.state.forbidden.pop(gid, None)
        self.ok()

    def c_put_group_part(self, gid, part):
        doc = self.json_body()
        if part == "clusters":
            if isinstance(doc, dict) and isinstance(doc.get("results"), list):
                doc = doc["results"]
            if not isinstance(doc, list):
                raise BadInput('clusters must be a list or {"results": [...]}')
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())[part] = doc
        self.ok()

    def c_put_private_endpoints(self, gid, provider):
        doc = self.json_body()
        if provider not in ("AZURE", "AWS"):
            raise BadInput("cloudProvider must be AZURE or AWS")
        if not isinstance(doc, list) or not all(isinstance(e, dict) for e in doc):
            raise BadInput("private endpoints must be a list of objects")
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())["privateEndpoints"][provider] = doc
        self.ok()

    def c_put_events(self, gid):
        doc = self.json_body()
        if not isinstance(doc, list):
            raise BadInput("events must be a list")
        out = []
        for i, ev in enumerate(doc):
            if not isinstance(ev, dict) or not isinstance(ev.get("eventTypeName"), str):
                raise BadInput("events[%d] needs an eventTypeName" % i)
            ticks = parse_when(ev.get("created"), "events[%d].created" % i)
            ev = dict(ev)
            ev["created"] = iso_seconds(ticks // TICKS)
            ev.setdefault("id", "%024x" % (0x65ee00000000000000000000 + i))
            ev.setdefault("groupId", gid)
            out.append(ev)
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())["events"] = out
        self.ok()

    def c_put_role(self, gid):
        doc = self.json_body()
        if not isinstance(doc, dict) or not isinstance(doc.get("project_owner"), bool):
            raise BadInput('role must be {"project_owner": true|false}')
        with self.state.lock:
            self.state.groups.setdefault(gid, new_group())["project_owner"] = doc["project_owner"]
        self.ok()

    def c_put_control_plane(self):
        doc = self.json_body()
        with self.state.lock:
            self.state.control_plane_ips = doc
        self.ok()

    def c_put_apikeys(self):
        keys = parse_apikeys(self.json_body())
        with self.state.lock:
            self.state.apikeys = keys
        self.ok(count=len(keys))

    def c_put_service_accounts(self):
        accounts = parse_service_accounts(self.json_body())
        with self.state.lock:
            self.state.service_accounts = accounts
        self.ok(count=len(accounts))

    def c_put_sa_secrets(self, client_id):
        secrets_ = parse_sa_secrets(self.json_body())
        with self.state.lock:
            AtlasHandler.sa_meta(self, client_id)["secrets"] = secrets_
        self.ok(secrets=secrets_)

    def c_put_sa_meta(self, client_id):
        doc = self.json_body()
        if not isinstance(doc, dict) or set(doc) - {"orgId", "org_read", "listed"}:
            raise BadInput("meta may hold orgId, org_read, listed")
        for k in ("org_read", "listed"):
            if k in doc and not isinstance(doc[k], bool):
                raise BadInput("%s must be a boolean" % k)
        if "orgId" in doc and not re.fullmatch(r"[0-9a-f]{24}", str(doc["orgId"])):
            raise BadInput("orgId must be 24 hex digits")
        with self.state.lock:
            AtlasHandler.sa_meta(self, client_id).update(doc)
        self.ok()

    def c_get_sa_meta(self, client_id):
        with self.state.lock:
            meta = copy.deepcopy(AtlasHandler.sa_meta(self, client_id))
        self.reply_json(200, meta)

    def c_put_token_ttl(self):
        ttl = parse_ttl(self.json_body())
        with self.state.lock:
            self.state.token_ttl = ttl
        self.ok()

    def c_revoke_tokens(self):
        with self.state.lock:
            n = len(self.state.tokens)
            self.state.tokens.clear()
        self.ok(revoked=n)

    def c_put_digest_algorithm(self):
        alg = parse_algorithm(self.json_body())
        with self.state.lock:
            self.state.digest_algorithm = alg
            self.state.nonces.clear()   # old challenges named the old algorithm
        self.ok()

    def c_add_fault(self):
        body = self.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("path"), str) \
                or not body["path"].startswith("/"):
            raise BadInput('a fault needs "path": a prefix starting with /')
        method = body.get("method")
        if method is not None and (not isinstance(method, str) or not method.isalpha()):
            raise BadInput("method must be an HTTP method name")
        fault = parse_fault(body, allow=("path", "method", "exact", "query"))
        fault["path"] = body["path"]
        if body.get("exact") not in (None, True, False):
            raise BadInput("exact must be true or false")
        fault["exact"] = bool(body.get("exact"))
        q = body.get("query", {})
        if not isinstance(q, dict) or not all(isinstance(v, str) for v in q.values()):
            raise BadInput("query must be an object of parameter name to string value")
        fault["query"] = dict(q)
        if method:
            fault["method"] = method.upper()
        with self.state.lock:
            self.state.faults.append(fault)
            n = len(self.state.faults)
        self.ok(pending=n)

    def c_list_faults(self):
        with self.state.lock:
            faults = [fault_view(f) for f in self.state.faults]
        self.reply_json(200, faults)

    def c_clear_faults(self):
        with self.state.lock:
            self.state.faults.clear()
        self.ok()

    def c_hook_responses(self, name):
        body = self.json_body()
        items = body if isinstance(body, list) else [body]
        scripts = [parse_fault(x) for x in items]
        with self.state.lock:
            q = self.state.hook_scripts.setdefault(name, [])
            q.extend(scripts)
            n = len(q)
        self.ok(pending=n)

    def c_get_hook(self, name):
        with self.state.lock:
            recs = list(self.state.hooks.get(name, ()))
        self.reply_json(200, recs)

    def c_delete_hook(self, name):
        with self.state.lock:
            self.state.hooks.pop(name, None)
            self.state.hook_scripts.pop(name, None)
        self.ok()

    def c_clear_hooks(self):
        with self.state.lock:
            self.state.hooks.clear()
            self.state.hook_scripts.clear()
        self.ok()

    def c_get_requests(self):
        prefix = self.query.get("path", [""])[0]
        since = self.query.get("since", ["0"])[0]
        if not since.isdigit():
            raise BadInput("since must be a sequence number")
        since = int(since)
        with self.state.lock:
            out = [copy.deepcopy(e) for e in self.state.requests
                   if e["seq"] > since and e["path"].startswith(prefix)]
        self.reply_json(200, out)

    def c_clear_requests(self):
        with self.state.lock:
            self.state.requests.clear()
        self.ok()

    def c_put_tls(self):
        body = self.json_body()
        mode = body.get("mode") if isinstance(body, dict) else None
        try:
            self.app.certs.set_mode(mode)
        except ValueError as e:
            raise BadInput(str(e))
        self.ok()

    def c_receive_hook(self, name):
        self.receive_hook(name)

    # -- Azure control (see the module docstring) --

    def _az_vault(self, name):
        """The stored vault (caller holds the lock); ControlNotFound if none."""
        v = self.state.az_vaults.get(name.lower())
        if v is None:
            raise ControlNotFound("no vault %s" % name)
        return v

    def _az_key(self, v, key):
        k = v["keys"].get(key.lower())
        if k is None:
            raise ControlNotFound("no key %s in vault %s" % (key, v["name"]))
        return k

    def c_az_state(self):
        with self.state.lock:
            s = self.state
            doc = {"identities": [self._az_identity_view(i) for i in s.az_identities.values()],
                   "grants": copy.deepcopy(s.az_grants),
                   "applications": sorted(o["appId"] for o in
                                          s.az_graph["application"].values()),
                   "servicePrincipals": sorted(o["appId"] for o in
                                               s.az_graph["servicePrincipal"].values()),
                   "vaults": sorted(v["name"] for v in s.az_vaults.values()),
                   "token_ttl": s.az_token_ttl, "tokens": len(s.az_tokens)}
        self.reply_json(200, doc)

    def _az_identity_view(self, ident):
        """Caller holds the lock."""
        return dict(ident, object_id=self._az_oid(ident))

    def c_az_put_identities(self, replace=True):
        idents = parse_identities(self.json_body())
        with self.state.lock:
            if replace:
                self.state.az_identities = idents
            else:
                self.state.az_identities.update(idents)
            view = [self._az_identity_view(i) for i in idents.values()]
        self.ok(identities=view)

    def c_az_add_identities(self):
        self.c_az_put_identities(replace=False)

    def c_az_get_identities(self):
        with self.state.lock:
            view = [self._az_identity_view(i) for i in self.state.az_identities.values()]
        self.reply_json(200, view)

    def c_az_delete_identity(self, tenant, client_id):
        with self.state.lock:
            existed = self.state.az_identities.pop((tenant.lower(), client_id.lower()),
                                                   None) is not None
        self.ok(existed=existed)

    def c_az_put_grants(self):
        grants = parse_grants(self.json_body())
        with self.state.lock:
            self.state.az_grants = grants
        self.ok(count=len(grants))

    def c_az_put_grant(self, client_id):
        grant = parse_grant(self.json_body())
        with self.state.lock:
            self.state.az_grants[_plain_id(client_id, "client_id").lower()] = grant
        self.ok()

    def c_az_get_grants(self):
        with self.state.lock:
            grants = copy.deepcopy(self.state.az_grants)
        self.reply_json(200, grants)

    def c_az_put_graph(self, set_name, app_id):
        kind = GRAPH_SETS[set_name.lower()]
        obj = parse_graph_object(self.json_body(), kind, _plain_id(app_id, "appId"))
        with self.state.lock:
            self.state.az_graph[kind][app_id.lower()] = obj
        self.ok(object=obj)

    def c_az_get_graph(self, set_name, app_id):
        with self.state.lock:
            obj = copy.deepcopy(self.state.az_graph[GRAPH_SETS[set_name.lower()]].get(
                app_id.lower()))
        if obj is None:
            raise ControlNotFound("no %s with appId %s" % (set_name, app_id))
        self.reply_json(200, obj)

    def c_az_delete_graph(self, set_name, app_id):
        with self.state.lock:
            existed = self.state.az_graph[GRAPH_SETS[set_name.lower()]].pop(
                app_id.lower(), None) is not None
        self.ok(existed=existed)

    def c_az_put_vault(self, name):
        v = build_vault(name, self.json_body())
        with self.state.lock:
            self.state.az_vaults[name.lower()] = v
            self.state.az_resource_groups.add((v["subscription"].lower(),
                                               v["resource_group"].lower()))
            view = vault_view(v)
        self.ok(vault=view)

    def c_az_patch_vault(self, name):
        body = self.json_body()
        with self.state.lock:
            old = self._az_vault(name)
            v = build_vault(old["name"], body, old)
            self.state.az_vaults[name.lower()] = v
            self.state.az_resource_groups.add((v["subscription"].lower(),
                                               v["resource_group"].lower()))
            view = vault_view(v)
        self.ok(vault=view)

    def c_az_get_vault(self, name):
        with self.state.lock:
            v = self._az_vault(name)
            view = vault_view(v)
        self.reply_json(200, view)

    def c_az_delete_vault(self, name):
        with self.state.lock:
            existed = self.state.az_vaults.pop(name.lower(), None) is not None
        self.ok(existed=existed)

    def c_az_put_key(self, name, key):
        spec = parse_key(key, self.json_body())
        with self.state.lock:
            v = self._az_vault(name)
            v["keys"][key.lower()] = spec
            view = vault_view(v)["keys"][spec["name"]]
        self.ok(key=view)

    def c_az_delete_key(self, name, key):
        with self.state.lock:
            v = self._az_vault(name)
            existed = v["keys"].pop(key.lower(), None) is not None
        self.ok(existed=existed)

    def c_az_add_version(self, name, key):
        body = self.json_body() if self.body.strip() else {}
        ver = parse_key_version(body)
        _str(key, "key name", KEY_NAME_RE)
        with self.state.lock:
            v = self._az_vault(name)
            k = v["keys"].setdefault(key.lower(), {"name": key, "versions": [], "current": None,
                                                   "rotation_policy": None})
            if any(x["version"] == ver["version"] for x in k["versions"]):
                raise BadInput("version %s exists already" % ver["version"])
            k["versions"].append(ver)
            kid = kv_kid(v, k, ver["version"])
        self.ok(version=ver["version"], kid=kid)

    def c_az_patch_version(self, name, key, version):
        body = self.json_body()
        if not isinstance(body, dict) or "version" in body:
            raise BadInput("body must be an object of attributes (not version)")
        with self.state.lock:
            v = self._az_vault(name)
            k = self._az_key(v, key)
            idx = next((i for i, x in enumerate(k["versions"]) if x["version"] ==
                        version.lower()), None)
            if idx is None:
                raise ControlNotFound("no version %s of key %s" % (version, key))
            spec = dict(k["versions"][idx])
            spec["updated"] = int(time.time())
            spec.update(body)
            k["versions"][idx] = parse_key_version(spec)
            item = kv_version_item(v, k, k["versions"][idx])
        self.ok(version=item)

    def c_az_put_rotation_policy(self, name, key):
        policy = parse_rotation_policy(self.json_body())
        with self.state.lock:
            v = self._az_vault(name)
            k = self._az_key(v, key)
            k["rotation_policy"] = policy
            view = kv_rotation_policy(v, k)
        self.ok(rotation_policy=view)

    def c_az_put_firewall(self, name):
        fw = parse_firewall(self.json_body())
        with self.state.lock:
            v = self._az_vault(name)
            v["firewall"] = fw
        self.ok()

    def c_az_put_role_assignments(self, name):
        items = parse_role_assignments(self.json_body())
        with self.state.lock:
            v = self._az_vault(name)
            v["role_assignments"] = items
            view = [arm_role_assignment(v, ra) for ra in items]
        self.ok(role_assignments=view)

    def c_az_put_token_ttl(self):
        ttl = parse_ttl(self.json_body())
        with self.state.lock:
            self.state.az_token_ttl = ttl
        self.ok()

    def c_az_revoke_tokens(self):
        with self.state.lock:
            n = len(self.state.az_tokens)
            self.state.az_tokens.clear()
        self.ok(revoked=n)

    def c_az_get_tokens(self):
        with self.state.lock:
            recs = [dict(r) for r in self.state.az_tokens.values()]
        self.reply_json(200, recs)


_G = r"/atlas/groups/([^/]+)"
_AG = r"/azure/graph/(applications|servicePrincipals)/([^/]+)"
_AV = r"/azure/vaults/([^/]+)"
for _m, _p, _f in [
        ("GET", r"/health", "c_health"),
        ("POST", r"/reset", "c_reset"),
        ("PUT", _G + r"/ear", "c_put_ear"),
        ("GET", _G, "c_get_group"),
        ("DELETE", _G, "c_delete_group"),
        ("PUT", _G + r"/project", "c_put_project"),
        ("PUT", r"/atlas/listing", "c_put_listing"),
        ("POST", _G + r"/forbid", "c_forbid"),
        ("DELETE", _G + r"/forbid", "c_unforbid"),
        ("PUT", _G + r"/(ipAddresses|clusters|cloudProviderAccess)", "c_put_group_part"),
        ("PUT", _G + r"/privateEndpoints/([^/]+)", "c_put_private_endpoints"),
        ("PUT", _G + r"/role", "c_put_role"),
        ("PUT", _G + r"/events", "c_put_events"),
        ("PUT", r"/atlas/controlPlaneIPAddresses", "c_put_control_plane"),
        ("PUT", r"/atlas/apikeys", "c_put_apikeys"),
        ("PUT", r"/atlas/service_accounts", "c_put_service_accounts"),
        ("PUT", r"/atlas/service_accounts/([^/]+)/secrets", "c_put_sa_secrets"),
        ("PUT", r"/atlas/service_accounts/([^/]+)/meta", "c_put_sa_meta"),
        ("GET", r"/atlas/service_accounts/([^/]+)/meta", "c_get_sa_meta"),
        ("PUT", r"/atlas/token_ttl", "c_put_token_ttl"),
        ("POST", r"/atlas/revoke_tokens", "c_revoke_tokens"),
        ("PUT", r"/atlas/digest_algorithm", "c_put_digest_algorithm"),
        ("POST", r"/faults", "c_add_fault"),
        ("GET", r"/faults", "c_list_faults"),
        ("DELETE", r"/faults", "c_clear_faults"),
        ("POST", r"/hooks/([^/]+)/responses", "c_hook_responses"),
        ("POST", r"/hooks/([^/]+)", "c_receive_hook"),
        ("GET", r"/hooks/([^/]+)", "c_get_hook"),
        ("DELETE", r"/hooks/([^/]+)", "c_delete_hook"),
        ("DELETE", r"/hooks", "c_clear_hooks"),
        ("GET", r"/requests", "c_get_requests"),
        ("DELETE", r"/requests", "c_clear_requests"),
        ("PUT", r"/tls", "c_put_tls"),
        ("GET", r"/azure", "c_az_state"),
        ("PUT", r"/azure/identities", "c_az_put_identities"),
        ("POST", r"/azure/identities", "c_az_add_identities"),
        ("GET", r"/azure/identities", "c_az_get_identities"),
        ("DELETE", r"/azure/identities/([^/]+)/([^/]+)", "c_az_delete_identity"),
        ("PUT", r"/azure/grants", "c_az_put_grants"),
        ("GET", r"/azure/grants", "c_az_get_grants"),
        ("PUT", r"/azure/grants/([^/]+)", "c_az_put_grant"),
        ("PUT", _AG, "c_az_put_graph"),
        ("GET", _AG, "c_az_get_graph"),
        ("DELETE", _AG, "c_az_delete_graph"),
        ("PUT", _AV, "c_az_put_vault"),
        ("PATCH", _AV, "c_az_patch_vault"),
        ("GET", _AV, "c_az_get_vault"),
        ("DELETE", _AV, "c_az_delete_vault"),
        ("PUT", _AV + r"/keys/([^/]+)", "c_az_put_key"),
        ("DELETE", _AV + r"/keys/([^/]+)", "c_az_delete_key"),
        ("POST", _AV + r"/keys/([^/]+)/versions", "c_az_add_version"),
        ("PATCH", _AV + r"/keys/([^/]+)/versions/([^/]+)", "c_az_patch_version"),
        ("PUT", _AV + r"/keys/([^/]+)/rotationpolicy", "c_az_put_rotation_policy"),
        ("PUT", _AV + r"/firewall", "c_az_put_firewall"),
        ("PUT", r"/azure/roleAssignments/([^/]+)", "c_az_put_role_assignments"),
        ("PUT", r"/azure/token_ttl", "c_az_put_token_ttl"),
        ("POST", r"/azure/revoke_tokens", "c_az_revoke_tokens"),
        ("GET", r"/azure/tokens", "c_az_get_tokens")] + fakeaws.CONTROL_ROUTES:
    ControlHandler.ROUTES.append((_m, re.compile(_p), _f))
gcp_register_routes(ControlHandler)


# --- main ----------------------------------------------------------------------------

class App:
    def __init__(self, state, certs, verbose):
        self.state = state
        self.certs = certs
        self.verbose = verbose
        self.stop = threading.Event()   # set on SIGTERM; also ends hangs early


def write_ready(directory, info):
    tmp = os.path.join(directory, ".ready.json.%d" % os.getpid())
    with open(tmp, "w") as f:
        json.dump(info, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(directory, "ready.json"))


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake Atlas API and webhook receiver")
    ap.add_argument("--dir", required=True, help="state directory (certs, ready.json)")
    ap.add_argument("--port", type=int, default=0, help="HTTPS port (0: any)")
    ap.add_argument("--control-port", type=int, default=0, help="control port (0: any)")
    ap.add_argument("--config", help="JSON start state")
    ap.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = ap.parse_args(argv)

    directory = os.path.abspath(args.dir)
    try:
        os.makedirs(directory, exist_ok=True)
        initial = load_config(args.config)
        certs = CertStore(directory)
    except (BadInput, RuntimeError, OSError, ssl.SSLError) as e:
        sys.stderr.write("fakecloud: %s\n" % e)
        return 2

    app = App(State(initial), certs, args.verbose)
    try:
        https = TLSServer(("127.0.0.1", args.port), AtlasHandler, app, "https")
        control = Server(("127.0.0.1", args.control_port), ControlHandler, app, "http")
    except OSError as e:
        sys.stderr.write("fakecloud: cannot listen: %s\n" % e)
        return 2

    def on_signal(signum, frame):
        app.stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                name="serve-" + s.listener, daemon=True)
               for s in (https, control)]
    for t in threads:
        t.start()
    ready = os.path.join(directory, "ready.json")
    write_ready(directory, {"https_port": https.server_address[1],
                            "control_port": control.server_address[1],
                            "ca_file": certs.ca_file, "pid": os.getpid()})
    if args.verbose:
        sys.stderr.write("fakecloud: https on %d, control on %d\n"
                         % (https.server_address[1], control.server_address[1]))
    while not app.stop.wait(1.0):
        pass
    for s in (https, control):
        s.shutdown()
        s.server_close()
    try:
        os.unlink(ready)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
