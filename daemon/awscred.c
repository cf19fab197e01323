/* SPDX-License-Identifier: ISC */
/*
 * awscred — see awscred.h. The cache is tokens.c's; this file knows how
 * STS and IMDSv2 issue credentials and what their refusals mean.
 *
 * The steps of one fetch (token_answer.step):
 *   access_key + role_arn   0 sts:AssumeRole, signed with the keys
 *   web_identity            0 sts:AssumeRoleWithWebIdentity (unsigned)
 *   instance_profile        0 PUT /latest/api/token, 1 GET the role name,
 *                           2 GET its credentials, [3 sts:AssumeRole with
 *                           them, for role_arn]
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws.h"
#include "aws_config.h"
#include "awscred.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "tokens.h"
#include "util.h"

#define STS_DEFAULT "https://sts.amazonaws.com"
#define IMDS_DEFAULT "http://169.254.169.254"
#define IMDS_TOKEN_TTL "21600"
#define SESSION_NAME "kmswatch"
#define REFRESH_EARLY 300 /* seconds before expiry */

static const struct cfg_aws_identity *
identity(const struct daemon *d)
{
	return &cfg_aws(d->cfg)->identity;
}

static const char *
sts_url(const struct config *cfg)
{
	return cfg_aws(cfg)->endpoints.sts ? cfg_aws(cfg)->endpoints.sts : STS_DEFAULT;
}

static const char *
imds_url(const struct config *cfg)
{
	return cfg_aws(cfg)->endpoints.imds ? cfg_aws(cfg)->endpoints.imds : IMDS_DEFAULT;
}

/* The signing region of an STS endpoint: sts.REGION.amazonaws.com names
 * its own, the global endpoint (and any other host) signs for us-east-1. */
static void
sts_scope(const char *url, char *buf, size_t len)
{
	const char *h = strstr(url, "://"), *dot;
	char region[AWS_REGION_MAX] = "us-east-1";

	h = h ? h + 3 : url;
	if (strncmp(h, "sts.", 4) == 0 && (dot = strchr(h + 4, '.')) &&
	    (size_t)(dot - (h + 4)) < sizeof(region) && strncmp(dot, ".amazonaws.com", 14) == 0) {
		char cand[AWS_REGION_MAX], out[AWS_REGION_MAX];

		memcpy(cand, h + 4, (size_t)(dot - (h + 4)));
		cand[dot - (h + 4)] = '\0';
		if (aws_region_from_atlas(cand, out) == NULL)
			snprintf(region, sizeof(region), "%s", out);
	}
	snprintf(buf, len, "aws:amz:%s:sts", region);
}

static void
base_request(const struct config *cfg, struct http_request *req)
{
	*req = (struct http_request){
		.ca_file = cfg_aws(cfg)->ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
}

/* A POST of body (taken: it goes in sc) to STS, with session (if any) as
 * X-Amz-Security-Token. The header list is static: fetch copies the
 * request before the loop runs anything else. */
static int
sts_request(const struct config *cfg, char *body, const char *session, struct http_request *out,
	    struct token_scratch *sc, char *why, size_t whylen)
{
	static const char *hdrs[4];

	base_request(cfg, out);
	sc->body = body;
	sc->url = util_asprintf("%s/", sts_url(cfg));
	sc->extra = session ? util_asprintf("X-Amz-Security-Token: %s", session) : NULL;
	hdrs[0] = "Content-Type: application/x-www-form-urlencoded";
	hdrs[1] = "Accept: text/xml";
	hdrs[2] = sc->extra;
	hdrs[3] = NULL;
	if (!sc->url || !sc->body || (session && !sc->extra)) {
		snprintf(why, whylen, "cannot start the STS request: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	out->method = "POST";
	out->url = sc->url;
	out->body = sc->body;
	out->body_len = strlen(sc->body);
	out->headers = hdrs;
	return 0;
}

/* sts:AssumeRole of role_arn, signed with akid/secret (and session). */
static int
assume_role(const struct config *cfg, const char *akid, const char *secret, const char *session,
	    struct http_request *out, struct token_scratch *sc, char *why, size_t whylen)
{
	static char scope[64];
	char *role = util_urlencode(cfg_aws(cfg)->identity.role_arn);
	char *body = role ? util_asprintf("Action=AssumeRole&Version=2011-06-15&RoleArn=%s"
					  "&RoleSessionName=" SESSION_NAME "&DurationSeconds=3600",
					  role)
			  : NULL;
	int r;

	free(role);
	if ((r = sts_request(cfg, body, session, out, sc, why, whylen)) < 0)
		return r;
	sts_scope(sts_url(cfg), scope, sizeof(scope));
	out->aws_sigv4 = scope;
	out->aws_key_id = akid;
	out->aws_secret = secret;
	return 0;
}

static int
imds_get(const struct config *cfg, const char *path, const char *token, const char *role,
	 struct http_request *out, struct token_scratch *sc, char *why, size_t whylen)
{
	static const char *hdrs[2];

	base_request(cfg, out);
	out->ca_file = NULL;
	out->no_proxy = true;
	sc->url = util_asprintf("%s%s%s", imds_url(cfg), path, role ? role : "");
	sc->extra = util_asprintf("X-aws-ec2-metadata-token: %s", token);
	hdrs[0] = sc->extra;
	hdrs[1] = NULL;
	if (!sc->url || !sc->extra) {
		snprintf(why, whylen, "cannot start the IMDS request: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	out->url = sc->url;
	out->headers = hdrs;
	return 0;
}

static int
build(void *owner, const void *arg, struct http_request *out, struct token_scratch *sc,
      char *why, size_t whylen)
{
	const struct daemon *d = owner;
	const struct config *cfg = d->cfg;
	const struct cfg_aws_identity *id = identity(d);

	(void)arg;
	switch (id->type) {
	case AWSID_ACCESS_KEY:
		return assume_role(cfg, id->access_key_id.value, id->secret_access_key.value, NULL,
				   out, sc, why, whylen);
	case AWSID_INSTANCE_PROFILE: {
		static const char *const hdrs[] = {
			"X-aws-ec2-metadata-token-ttl-seconds: " IMDS_TOKEN_TTL, NULL};

		base_request(cfg, out);
		out->ca_file = NULL;
		out->no_proxy = true;
		out->method = "PUT";
		out->body = "";
		out->headers = hdrs;
		if (!(sc->url = util_asprintf("%s/latest/api/token", imds_url(cfg)))) {
			snprintf(why, whylen, "cannot start the IMDS request: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		out->url = sc->url;
		return 0;
	}
	case AWSID_WEB_IDENTITY: {
		char *raw = NULL, *tok, *role, *body;
		size_t n = 0;
		int r = id->token_file ? util_read_file(id->token_file, 64 * 1024, 0, &raw, &n)
				       : -ENOENT;

		if (r < 0) {
			snprintf(why, whylen, "cannot read the web identity token file %s: %s",
				 id->token_file ? id->token_file : "(none configured)",
				 util_file_error(r));
			return r;
		}
		while (n && (raw[n - 1] == '\n' || raw[n - 1] == '\r' || raw[n - 1] == ' '))
			raw[--n] = '\0';
		tok = util_urlencode(raw);
		util_free_secret(raw);
		role = util_urlencode(id->role_arn ? id->role_arn : "");
		body = tok && role ? util_asprintf("Action=AssumeRoleWithWebIdentity"
						   "&Version=2011-06-15&RoleArn=%s"
						   "&RoleSessionName=" SESSION_NAME
						   "&DurationSeconds=3600&WebIdentityToken=%s",
						   role, tok)
				   : NULL;
		util_free_secret(tok);
		free(role);
		return sts_request(cfg, body, NULL, out, sc, why, whylen);
	}
	case AWSID_NONE:
		break;
	}
	snprintf(why, whylen, "no aws.identity is configured");
	return -EINVAL;
}

/* carry: "IMDS_TOKEN" (step 1), "IMDS_TOKEN\nROLE" (step 2),
 * "AKID\nSECRET\nSESSION" (step 3) */
static int
build_next(void *owner, unsigned step, const char *carry, struct http_request *out,
	   struct token_scratch *sc, char *why, size_t whylen)
{
	const struct daemon *d = owner;
	char *c = strdup(carry ? carry : ""), *p1, *p2 = NULL;
	int r = -EINVAL;

	if (!c) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	/* the request points into c: the cache wipes it after the fetch
	 * copied the request */
	sc->keys = c;
	if ((p1 = strchr(c, '\n'))) {
		*p1++ = '\0';
		if ((p2 = strchr(p1, '\n')))
			*p2++ = '\0';
	}
	if (step == 1)
		r = imds_get(d->cfg, "/latest/meta-data/iam/security-credentials/", c, NULL, out, sc,
			     why, whylen);
	else if (step == 2 && p1)
		r = imds_get(d->cfg, "/latest/meta-data/iam/security-credentials/", c, p1, out, sc,
			     why, whylen);
	else if (step == 3 && p1 && p2)
		r = assume_role(d->cfg, c, p1, p2, out, sc, why, whylen);
	else
		snprintf(why, whylen, "internal error: no AWS credentials step %u", step);
	return r;
}

static void
set_refusal(struct token_answer *ans, const char *label, const struct http_response *resp,
	    const char *what)
{
	struct aws_error e;

	ans->status = resp->status;
	if (aws_parse_error(resp->body, resp->body_len, &e) == 0) {
		snprintf(ans->detail, sizeof(ans->detail), "%s for the %s was refused: HTTP %ld %s%s%s",
			 what, label, resp->status, e.type, e.message[0] ? ": " : "", e.message);
		if ((ans->error = malloc(sizeof(e))))
			memcpy(ans->error, &e, sizeof(e));
	} else {
		snprintf(ans->detail, sizeof(ans->detail), "%s for the %s failed: HTTP %ld", what,
			 label, resp->status);
	}
}

/* A credentials answer: the token is "AKID\nSECRET\nSESSION". */
static void
take_credentials(struct aws_credentials *c, struct token_answer *ans)
{
	int64_t left = (int64_t)c->expiration - (int64_t)util_now();

	ans->token = util_asprintf("%s\n%s\n%s", c->access_key_id, c->secret_access_key,
				   c->session_token);
	ans->expires_in = left > 1 ? left : 1;
	ans->refresh_margin = left > 2 * REFRESH_EARLY ? REFRESH_EARLY : 0;
	if (!ans->token)
		snprintf(ans->detail, sizeof(ans->detail), "out of memory");
	aws_credentials_free(c);
}

static void
parse(void *owner, const char *label, const struct http_response *resp, struct token_answer *ans)
{
	const struct daemon *d = owner;
	const struct cfg_aws_identity *id = identity(d);
	bool imds = id->type == AWSID_INSTANCE_PROFILE && ans->step < 3;
	struct aws_credentials c;
	char err[256] = "";
	int r;

	if (resp->curl_code != 0) {
		snprintf(ans->detail, sizeof(ans->detail), "cannot get the %s: %s%s", label,
			 imds ? "IMDS did not answer: " : "", resp->error);
		return;
	}
	if (imds && ans->step == 0) {
		if (resp->status != 200 || !kj_header_safe(resp->body)) {
			ans->status = resp->status;
			snprintf(ans->detail, sizeof(ans->detail),
				 "IMDSv2 refused a session token for the %s: HTTP %ld", label,
				 resp->status);
			return;
		}
		ans->again = true;
		ans->next_carry = strdup(resp->body);
		return;
	}
	if (imds && ans->step == 1) {
		char role[80];

		ans->status = resp->status;
		if (resp->status == 404) {
			snprintf(ans->detail, sizeof(ans->detail),
				 "IMDS lists no instance profile role for the %s (HTTP 404): attach "
				 "an IAM role to the instance",
				 label);
			return;
		}
		if (resp->status != 200 ||
		    aws_parse_imds_role(resp->body, resp->body_len, role, sizeof(role)) < 0) {
			snprintf(ans->detail, sizeof(ans->detail),
				 "IMDS answered the role list for the %s with HTTP %ld and no valid "
				 "role name",
				 label, resp->status);
			return;
		}
		ans->again = true;
		ans->next_carry = util_asprintf("%s\n%s", ans->carry, role);
		return;
	}
	if (imds) {
		ans->status = resp->status;
		if (resp->status != 200) {
			snprintf(ans->detail, sizeof(ans->detail),
				 "IMDS refused the role credentials for the %s: HTTP %ld", label,
				 resp->status);
			return;
		}
		r = aws_parse_imds_credentials(resp->body, resp->body_len, &c, err, sizeof(err));
		if (r < 0) {
			snprintf(ans->detail, sizeof(ans->detail),
				 "IMDS answered the role credentials for the %s with %s", label,
				 err);
			return;
		}
		if (id->role_arn) {
			ans->again = true;
			ans->next_carry = util_asprintf("%s\n%s\n%s", c.access_key_id,
							c.secret_access_key, c.session_token);
			aws_credentials_free(&c);
			return;
		}
		take_credentials(&c, ans);
		return;
	}
	/* STS */
	if (resp->status != 200) {
		set_refusal(ans, label, resp,
			    id->type == AWSID_WEB_IDENTITY ? "sts:AssumeRoleWithWebIdentity"
							   : "sts:AssumeRole");
		return;
	}
	ans->status = resp->status;
	if (aws_parse_sts_credentials(resp->body, resp->body_len, &c, err, sizeof(err)) < 0) {
		snprintf(ans->detail, sizeof(ans->detail), "STS answered the %s with %s", label,
			 err);
		return;
	}
	take_credentials(&c, ans);
}

static const struct token_source aws_source = {
	.name = "aws",
	.build = build,
	.parse = parse,
	.build_next = build_next,
	.also_transient = awscred_throttled, /* STS throttles with HTTP 400 too */
};

void
awscred_forget(struct daemon *d)
{
	tokens_drop_source(d->tokens, &aws_source);
}

bool
awscred_refused(const struct http_response *resp)
{
	struct aws_error e;

	if (resp->status != 400 && resp->status != 403)
		return false;
	if (aws_parse_error(resp->body, resp->body_len, &e) < 0)
		return false;
	return aws_error_is(&e, "ExpiredTokenException") ||
	       aws_error_is(&e, "UnrecognizedClientException") ||
	       aws_error_is(&e, "InvalidClientTokenId");
}

bool
awscred_throttled(const struct http_response *resp)
{
	struct aws_error e;

	return resp->status == 400 && aws_parse_error(resp->body, resp->body_len, &e) == 0 &&
	       (aws_error_is(&e, "ThrottlingException") || aws_error_is(&e, "Throttling") ||
		aws_error_is(&e, "RequestLimitExceeded"));
}

void
awscred_describe(const struct config *cfg, char *buf, size_t len)
{
	const struct cfg_aws_identity *id = &cfg_aws(cfg)->identity;
	const char *as = id->role_arn && id->type != AWSID_WEB_IDENTITY ? " as role " : "";
	const char *role = *as ? id->role_arn : "";

	switch (id->type) {
	case AWSID_ACCESS_KEY:
		snprintf(buf, len, "access key %s%s%s",
			 id->access_key_id.value ? id->access_key_id.value : "?", as, role);
		return;
	case AWSID_INSTANCE_PROFILE:
		snprintf(buf, len, "the instance profile (IMDSv2)%s%s", as, role);
		return;
	case AWSID_WEB_IDENTITY:
		snprintf(buf, len, "web identity role %s", id->role_arn ? id->role_arn : "?");
		return;
	case AWSID_NONE:
		break;
	}
	snprintf(buf, len, "no AWS identity");
}

int
awscred_get(struct daemon *d, token_fn fn, void *ctx, struct token_waiter **w)
{
	const struct cfg_aws_identity *id = identity(d);
	char desc[400], *key, *label;
	int r;

	if (w)
		*w = NULL;
	if (id->type == AWSID_ACCESS_KEY && !id->role_arn) {
		/* static keys: nothing to fetch or cache */
		char *creds = id->access_key_id.value && id->secret_access_key.value
				      ? util_asprintf("%s\n%s", id->access_key_id.value,
						      id->secret_access_key.value)
				      : NULL;
		struct token_result res = {
			.token = creds,
			.status = creds ? 200 : 0,
			.detail = id->access_key_id.value && id->secret_access_key.value
					  ? "out of memory"
					  : "aws.identity has no access key (a {credential:} that "
					    "was not readable?)",
		};

		fn(ctx, &res);
		util_free_secret(creds);
		return 0;
	}
	if (id->type == AWSID_NONE) {
		struct token_result res = {.detail = "no aws: identity is configured in "
						     "kmswatch.yaml"};

		fn(ctx, &res);
		return 0;
	}
	awscred_describe(d->cfg, desc, sizeof(desc));
	key = tokens_key("aws\n%d\n%s\n%s\n%s\n%s\n%s\n%s", (int)id->type,
			 id->access_key_id.value ? id->access_key_id.value : "",
			 id->secret_access_key.value ? id->secret_access_key.value : "",
			 id->role_arn ? id->role_arn : "", id->token_file ? id->token_file : "",
			 sts_url(d->cfg), imds_url(d->cfg));
	label = util_asprintf("AWS credentials of %s", desc);
	r = key && label ? tokens_get(d->tokens, &aws_source, d, key, label, NULL, fn, ctx, w)
			 : -ENOMEM;
	util_free_secret(key);
	free(label);
	return r;
}
