/* SPDX-License-Identifier: ISC */
/*
 * aws_config — reads `aws:` (identity, endpoints, ca_file) with config.c's
 * key machinery (config_keys.h). The variables the EKS pod identity
 * webhook sets fill in what a web identity leaves out.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws_config.h"
#include "config_keys.h"
#include "util.h"

/* arn:PARTITION:iam::ACCOUNT:role/PATH/NAME */
static bool
is_role_arn(const char *s)
{
	static const char role_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789+=,.@_-/";
	const char *p;
	size_t n;

	if (strncmp(s, "arn:aws", 7) != 0)
		return false;
	p = s + 7;
	p += strspn(p, "abcdefghijklmnopqrstuvwxyz-");
	if (strncmp(p, ":iam::", 6) != 0)
		return false;
	p += 6;
	if (strspn(p, "0123456789") != 12 || strncmp(p + 12, ":role/", 6) != 0)
		return false;
	p += 18;
	n = strlen(p);
	return n > 0 && n <= 512 && p[strspn(p, role_chars)] == '\0' && p[n - 1] != '/';
}

static const struct cfg_format role_arn = {
	is_role_arn, "an IAM role ARN", "e.g. arn:aws:iam::123456789012:role/kmswatch-reader"};

/* An AWS access key id: AKIA/ASIA and upper-case letters and digits. */
static bool
is_access_key_id(const char *s)
{
	size_t n = strlen(s);

	return n >= 16 && n <= 128 && cfg_chars_only(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
}

static const struct enumdef identity_types[] = {
	{"access_key", AWSID_ACCESS_KEY},
	{"instance_profile", AWSID_INSTANCE_PROFILE},
	{"web_identity", AWSID_WEB_IDENTITY},
	{NULL, 0}};

static const struct keydef identity_keys[] = {
	KEY("type", h_enum, offsetof(struct cfg_aws_identity, type), .flags = K_REQUIRED,
	    .values = identity_types),
	/* an access key id is not a secret, but may come from the same place */
	KEY("access_key_id", h_secret, offsetof(struct cfg_aws_identity, access_key_id),
	    .flags = K_PUBLIC),
	KEY("secret_access_key", h_secret, offsetof(struct cfg_aws_identity, secret_access_key)),
	KEY("role_arn", h_format, offsetof(struct cfg_aws_identity, role_arn),
	    .format = &role_arn),
	KEY("token_file", h_path, offsetof(struct cfg_aws_identity, token_file)),
	{0},
};

/* Which keys each identity type needs and which it would silently ignore;
 * the environment variables the EKS pod identity webhook sets fill in a
 * web identity's role and token file. */
static void
check_identity(struct ctx *c, const struct node *v, struct cfg_aws_identity *id,
	       const struct seen *seen)
{
	static const struct {
		enum aws_identity_type type;
		const char *name, *needs[3], *refuses[4];
	} rules[] = {
		{AWSID_ACCESS_KEY, "access_key", {"access_key_id", "secret_access_key"},
		 {"token_file"}},
		{AWSID_INSTANCE_PROFILE, "instance_profile", {NULL},
		 {"access_key_id", "secret_access_key", "token_file"}},
		{AWSID_WEB_IDENTITY, "web_identity", {NULL}, {"access_key_id", "secret_access_key"}},
	};
	const struct seen *ak = seen_key(identity_keys, seen, "access_key_id");
	const char *env;

	for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
		if (rules[i].type == id->type)
			check_type_keys(c, v, identity_keys, seen, rules[i].name, rules[i].needs,
					rules[i].refuses);
	if (ak != NULL && id->access_key_id.value != NULL &&
	    !is_access_key_id(id->access_key_id.value))
		problem_key(c, "access_key_id", ak->val->line, ak->val->col,
			    "not an AWS access key id (16 to 128 upper-case letters and digits, "
			    "e.g. AKIAIOSFODNN7EXAMPLE)");
	if (id->type != AWSID_WEB_IDENTITY)
		return;
	if (id->token_file == NULL) {
		env = getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
		if (env == NULL || env[0] != '/')
			problem(c, v, "missing required key \"token_file\" (type web_identity needs "
				      "it, or AWS_WEB_IDENTITY_TOKEN_FILE)");
		else
			set_str(c, &id->token_file, env, strlen(env));
	}
	if (id->role_arn == NULL && seen_key(identity_keys, seen, "role_arn") == NULL) {
		env = getenv("AWS_ROLE_ARN");
		if (env == NULL || !is_role_arn(env))
			problem(c, v, "missing required key \"role_arn\" (type web_identity needs "
				      "it, or AWS_ROLE_ARN)");
		else
			set_str(c, &id->role_arn, env, strlen(env));
	}
}

static int
h_identity(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_aws_identity *id = AT(obj, k, struct cfg_aws_identity);
	struct seen seen[CFG_MAX_KEYS];
	unsigned before = cfg_problems(c);

	if (walk_map(c, v, identity_keys, id, seen) < 0)
		return -EINVAL;
	if (id->type != AWSID_NONE)
		check_identity(c, v, id, seen);
	return cfg_problems(c) > before ? -EINVAL : 0;
}

static const struct keydef endpoint_keys[] = {
	KEY("kms", h_url, offsetof(struct cfg_aws_endpoints, kms), .aux = URL_HTTPS),
	KEY("sts", h_url, offsetof(struct cfg_aws_endpoints, sts), .aux = URL_HTTPS),
	/* IMDS is plain http on a link-local address by design */
	KEY("imds", h_url, offsetof(struct cfg_aws_endpoints, imds), .aux = URL_HTTP_ANY),
	{0},
};

static const struct keydef aws_keys[] = {
	KEY("identity", h_identity, offsetof(struct cfg_aws, identity), .flags = K_REQUIRED),
	KEY("endpoints", h_block, offsetof(struct cfg_aws, endpoints), .sub = endpoint_keys),
	KEY("ca_file", h_file, offsetof(struct cfg_aws, ca_file)),
	{0},
};

static void
aws_free(struct cfg_provider *base)
{
	struct cfg_aws *aws = (struct cfg_aws *)base;

	cfg_secret_free(&aws->identity.access_key_id);
	cfg_secret_free(&aws->identity.secret_access_key);
	free(aws->identity.role_arn);
	free(aws->identity.token_file);
	free(aws->endpoints.kms);
	free(aws->endpoints.sts);
	free(aws->endpoints.imds);
	free(aws->ca_file);
}

const struct cfg_section aws_config = {
	.interval_key = "aws_interval",
	.default_interval = 3600, /* docs/INTERFACE.md */
	.size = sizeof(struct cfg_aws),
	.keys = aws_keys,
	.free = aws_free,
};
