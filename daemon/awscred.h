/* SPDX-License-Identifier: ISC */
/*
 * awscred — the credentials of kmswatch's own AWS identity (aws.identity):
 * static access keys as configured; the instance profile through IMDSv2
 * (session token, role name, credentials: one multi-request fetch, never
 * via a proxy); a web identity through sts:AssumeRoleWithWebIdentity (the
 * token file is re-read for every fetch: Kubernetes rotates it); and,
 * with role_arn, sts:AssumeRole on top of static keys or the instance
 * profile, signed with them. Temporary credentials live in the daemon's
 * one token cache (tokens.h), refreshed 5 minutes before they expire (a
 * tenth of their life when that is shorter); STS and KMS throttling (HTTP
 * 400 Throttling / ThrottlingException) is retried with backoff.
 *
 * What it hands out (as the token of a token_fn) is "AKID\nSECRET" or
 * "AKID\nSECRET\nSESSION_TOKEN": restreq's aws_sigv4 mode signs with it.
 */
#ifndef KMSWATCH_AWSCRED_H
#define KMSWATCH_AWSCRED_H

#include <stdbool.h>
#include <stddef.h>

#include "tokens.h"

struct daemon;
struct config;
struct http_response;

/* The credentials for d->cfg's aws.identity: fn runs at once for static
 * keys or cached credentials. On failure the result's error is a struct
 * aws_error (STS's or IMDS's refusal) when there was one. */
int awscred_get(struct daemon *d, token_fn fn, void *ctx, struct token_waiter **w);
/* Forget every AWS credential and fetch (a reload may change identities). */
void awscred_forget(struct daemon *d);
/* Whether an AWS answer says the (temporary) credentials were refused:
 * ExpiredTokenException, UnrecognizedClientException, InvalidClientTokenId.
 * For restreq's token_refused: one fresh fetch is tried. */
bool awscred_refused(const struct http_response *resp);
/* Whether an AWS answer is throttling (HTTP 400 ThrottlingException,
 * Throttling, RequestLimitExceeded): retried with backoff like a 429. */
bool awscred_throttled(const struct http_response *resp);
/* "access key AKIA...", "the instance profile (IMDSv2)", "web identity
 * role ARN", plus " as role ARN" for role_arn: for messages. */
void awscred_describe(const struct config *cfg, char *buf, size_t len);

#endif
