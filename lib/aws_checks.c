/* SPDX-License-Identifier: ISC */
/*
 * aws_checks — the pure checks of the AWS side: aws.key_state,
 * aws.key_age and aws.access (see aws.h). Each takes parsed answers,
 * thresholds and `now` and returns findings; none reads a clock or does
 * I/O. Summaries are one line: what is wrong, then what to do.
 *
 * Edges, those of azure_checks.c: a threshold is reached when the time
 * left is at most it, or the age at least it; something expires at its
 * expiry second.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atlas.h"
#include "aws.h"
#include "aws_config.h"
#include "kms.h"
#include "msgid.h"
#include "util.h"

static bool
is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

/* ---- aws.key_state ----------------------------------------------------- */

static struct finding *
state_finding(struct findings *out, const char *subj, const struct aws_key *k, time_t now)
{
	const char *st = k->key_state;
	char w[96];

	if (is(st, "Disabled"))
		return findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
				    "AWS KMS key %s is disabled: Atlas cannot use it to unwrap "
				    "the project's data keys and will stop the clusters at its "
				    "next validation; enable it (aws kms enable-key --key-id %s)",
				    subj, subj);
	if (is(st, "PendingDeletion")) {
		struct finding *x;

		if (!k->has_deletion_date)
			return findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
					    "AWS KMS key %s is scheduled for deletion "
					    "(PendingDeletion): Atlas cannot use it now and loses "
					    "the data for good once it is deleted; cancel it "
					    "(aws kms cancel-key-deletion --key-id %s, then aws "
					    "kms enable-key)",
					    subj, subj);
		chk_when((int64_t)k->deletion_date - (int64_t)now, k->deletion_date, w, sizeof(w));
		x = findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
				 "AWS KMS key %s is scheduled for deletion %s (PendingDeletion): "
				 "Atlas cannot use it now and loses the data for good once it is "
				 "deleted; cancel it before then (aws kms cancel-key-deletion "
				 "--key-id %s, then aws kms enable-key)",
				 subj, w, subj);
		if (x != NULL)
			chk_set_days_left(x, (int64_t)k->deletion_date - (int64_t)now);
		return x;
	}
	if (is(st, "PendingImport"))
		return findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
				    "AWS KMS key %s has no key material (PendingImport: imported "
				    "material expired or was deleted): Atlas cannot use it; "
				    "re-import the same key material (aws kms "
				    "import-key-material)",
				    subj);
	if (is(st, "PendingReplicaDeletion"))
		return findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
				    "AWS KMS key %s is a multi-Region replica scheduled for "
				    "deletion (PendingReplicaDeletion): Atlas cannot use it; "
				    "cancel the deletion or point Atlas at a usable key",
				    subj);
	if (is(st, "Unavailable"))
		return findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subj,
				    "AWS KMS key %s is Unavailable (its custom key store is "
				    "disconnected): Atlas cannot use it; reconnect the key store "
				    "(aws kms connect-custom-key-store)",
				    subj);
	if (is(st, "Creating") || is(st, "Updating"))
		return findings_add(out, CHK_AWS_KEY_STATE, SEV_WARNING, PROV_AWS, subj,
				    "AWS KMS key %s is in transition (%s): check again shortly; "
				    "if it stays so, look at the key in the KMS console",
				    subj, st);
	return findings_add(out, CHK_AWS_KEY_STATE, SEV_WARNING, PROV_AWS, subj,
			    "AWS KMS key %s is in a state kmswatch does not know (%.40s): check "
			    "the key in the KMS console",
			    subj, st);
}

int
chk_aws_key_state(const char *subject, const struct aws_key *key, bool not_found,
		  const struct cfg_checks *checks, time_t now, struct findings *out)
{
	const struct cfg_threshold *t =
		checks != NULL ? &checks->key_expiry : &cfg_default_checks.key_expiry;
	bool window = checks == NULL || checks->key_expiry.enabled;
	struct finding *x;
	enum severity sev;
	int64_t left;
	char w[96];

	if (subject == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AWS_KEY_STATE) || (key == NULL && !not_found))
		return 0;
	out->evaluated[CHK_AWS_KEY_STATE] = true;
	if (not_found) {
		x = findings_add(out, CHK_AWS_KEY_STATE, SEV_CRITICAL, PROV_AWS, subject,
				 "AWS KMS has no key %s (NotFoundException): it was deleted, or "
				 "Atlas's customerMasterKeyID or region is wrong, and Atlas cannot "
				 "unwrap the project's data keys; correct the key and region in the "
				 "project's Encryption at Rest settings",
				 subject);
		return x != NULL ? 0 : -ENOMEM;
	}
	if (!is(key->key_state, "Enabled"))
		return state_finding(out, subject, key, now) != NULL ? 0 : -ENOMEM;
	if (!key->has_valid_to) {
		x = findings_add(out, CHK_AWS_KEY_STATE, SEV_OK, PROV_AWS, subject,
				 "AWS KMS key %s is enabled%s", subject,
				 is(key->origin, "EXTERNAL") ? " (imported key material that does "
							       "not expire)"
							     : "");
		return x != NULL ? 0 : -ENOMEM;
	}
	/* imported key material with an expiry (ExpirationModel
	 * KEY_MATERIAL_EXPIRES): KMS deletes it at ValidTo */
	left = (int64_t)key->valid_to - (int64_t)now;
	sev = chk_expiry_severity(left, t, window);
	chk_when(left, key->valid_to, w, sizeof(w));
	if (sev == SEV_OK)
		x = findings_add(out, CHK_AWS_KEY_STATE, SEV_OK, PROV_AWS, subject,
				 "AWS KMS key %s is enabled; its imported key material expires %s",
				 subject, w);
	else
		x = findings_add(out, CHK_AWS_KEY_STATE, sev, PROV_AWS, subject,
				 "the imported key material of AWS KMS key %s %s %s (ValidTo): "
				 "KMS then deletes it and Atlas cannot use the key; re-import it "
				 "with a later expiry (aws kms import-key-material --valid-to ...) "
				 "or with KEY_MATERIAL_DOES_NOT_EXPIRE",
				 subject, left > 0 ? "expires" : "expired", w);
	if (x == NULL)
		return -ENOMEM;
	chk_set_days_left(x, left);
	return 0;
}

/* ---- aws.key_age ------------------------------------------------------ */

int
chk_aws_key_age(const char *subject, const struct aws_key *key, const struct aws_rotation *rot,
		bool rotation_unsupported, const struct cfg_checks *checks, time_t now,
		struct findings *out)
{
	const struct cfg_threshold *t = checks != NULL ? &checks->key_age : &cfg_default_checks.key_age;
	char since[UTIL_TIME_LEN], thr[32], next[UTIL_TIME_LEN + 16] = "", period[48] = "";
	struct finding *x;
	enum severity sev;
	int64_t age, days;

	if (subject == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AWS_KEY_AGE) || key == NULL || !is(key->key_state, "Enabled"))
		return 0;
	if (rot == NULL && !rotation_unsupported)
		return 0;
	if (rot != NULL && rot->enabled == TRI_TRUE) {
		out->evaluated[CHK_AWS_KEY_AGE] = true;
		if (rot->has_period)
			snprintf(period, sizeof(period), " every %lld day%s",
				 (long long)rot->period_days, chk_plural(rot->period_days));
		if (rot->has_next) {
			char tb[UTIL_TIME_LEN];

			util_format_time(rot->next_rotation, tb, sizeof(tb));
			snprintf(next, sizeof(next), ", next on %s", tb);
		}
		x = findings_add(out, CHK_AWS_KEY_AGE, SEV_OK, PROV_AWS, subject,
				 "automatic rotation of AWS KMS key %s is on%s%s%s (KMS keeps the "
				 "old key material, so Atlas needs no change)",
				 subject, period, next,
				 rot->has_on_demand ? "; an on-demand rotation is in progress" : "");
		return x != NULL ? 0 : -ENOMEM;
	}
	if (!key->has_creation_date)
		return 0;
	out->evaluated[CHK_AWS_KEY_AGE] = true;
	age = (int64_t)now - (int64_t)key->creation_date;
	if (age < 0)
		age = 0; /* clock skew: a key from the future is new */
	days = chk_floor_days(age);
	util_format_time(key->creation_date, since, sizeof(since));
	sev = age >= t->critical ? SEV_CRITICAL : SEV_WARNING;
	util_format_duration(age >= t->critical ? t->critical : t->warning, thr, sizeof(thr));
	if (rotation_unsupported || is(key->origin, "EXTERNAL"))
		x = findings_add(out, CHK_AWS_KEY_AGE, sev, PROV_AWS, subject,
				 "AWS KMS key %s cannot rotate automatically (imported key "
				 "material or a custom key store) and its material is %lld day%s "
				 "old (created %s)%s%s%s: rotate it by hand (aws kms rotate-key-on-"
				 "demand for imported material, or a new key for Atlas)",
				 subject, (long long)days, chk_plural(days), since,
				 age >= t->warning ? ", past the " : "", age >= t->warning ? thr : "",
				 age >= t->warning ? " threshold" : "");
	else
		x = findings_add(out, CHK_AWS_KEY_AGE, sev, PROV_AWS, subject,
				 "automatic rotation of AWS KMS key %s is off and its key material "
				 "is %lld day%s old (created %s)%s%s%s: turn rotation on (aws kms "
				 "enable-key-rotation --key-id %s), or rotate now (aws kms "
				 "rotate-key-on-demand --key-id %s)",
				 subject, (long long)days, chk_plural(days), since,
				 age >= t->warning ? ", past the " : "", age >= t->warning ? thr : "",
				 age >= t->warning ? " threshold" : "", subject, subject);
	if (x == NULL)
		return -ENOMEM;
	x->has_age_days = true;
	x->age_days = days;
	return 0;
}

/* ---- aws.access -------------------------------------------------------- */

static const struct {
	const char *what, *permission;
} ops[] = {
	[AWSOP_DESCRIBE_KEY] = {"DescribeKey", "kms:DescribeKey"},
	[AWSOP_ROTATION_STATUS] = {"GetKeyRotationStatus", "kms:GetKeyRotationStatus"},
};

bool
aws_error_about_key(const struct aws_error *e)
{
	return aws_error_is(e, "NotFoundException") || aws_error_is(e, "KMSInvalidStateException") ||
	       aws_error_is(e, "UnsupportedOperationException");
}

/* "HTTP 400 AccessDeniedException: message" */
static void
answer_text(const struct aws_read *rd, char *buf, size_t len)
{
	const struct aws_error *e = rd->error;
	size_t off = 0;

	buf[0] = '\0';
	if (rd->http_status > 0)
		off += (size_t)snprintf(buf, len, "HTTP %d", rd->http_status);
	if (e != NULL && e->type[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "", e->type);
	if (e != NULL && e->message[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%.200s", off ? ": " : "",
					e->message);
	else if (rd->detail != NULL && rd->detail[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%.300s", off ? ": " : "",
					rd->detail);
	if (buf[0] == '\0')
		snprintf(buf, len, "no detail available");
	util_sanitize(buf);
}

static bool
type_has(const struct aws_read *rd, const char *needle)
{
	return rd->error != NULL && strstr(rd->error->type, needle) != NULL;
}

static int
describe_failure(const struct aws_read *rd, struct strbuf *b, struct strbuf *missing)
{
	unsigned opi = (unsigned)rd->op < ARRAY_SIZE(ops) ? (unsigned)rd->op : 0;
	const char *op = ops[opi].what, *perm = ops[opi].permission;
	char key[160], ans[480], after[48] = "";
	const int st = rd->http_status;

	util_copy_sanitized(key, sizeof(key), rd->key != NULL ? rd->key : "(no key)");
	answer_text(rd, ans, sizeof(ans));
	if (rd->retries > 0)
		snprintf(after, sizeof(after), " after %u %s", rd->retries,
			 rd->retries == 1 ? "retry" : "retries");
	switch (rd->outcome) {
	case AWS_READ_OK:
		return 0;
	case AWS_READ_REFUSED:
		return strbuf_printf(b, "kmswatch did not call KMS %s: %s; no request was sent: "
					"correct it in the project's Encryption at Rest settings "
					"in Atlas",
				     op, rd->detail ? rd->detail : "a malformed value from Atlas");
	case AWS_READ_TRANSPORT:
		return strbuf_printf(b, "kmswatch could not reach AWS KMS for %s of %s%s (%s): "
					"check DNS, the firewall or proxy towards "
					"kms.REGION.amazonaws.com, and TLS trust (aws.ca_file)",
				     op, key, after, ans);
	case AWS_READ_BAD_BODY:
		return strbuf_printf(b, "AWS KMS answered %s of %s with a malformed document "
					"(%s): check that aws.endpoints.kms is KMS itself, not a "
					"proxy",
				     op, key, ans);
	case AWS_READ_CREDENTIALS:
		/* the credential source's own words, with what refused them */
		if (rd->detail != NULL && rd->detail[0])
			util_copy_sanitized(ans, sizeof(ans), rd->detail);
		return strbuf_printf(b, "kmswatch has no AWS credentials to call %s of %s (%s): "
					"check the aws.identity settings (access key, instance "
					"profile, web identity token file, role_arn and its trust "
					"policy)",
				     op, key, ans);
	case AWS_READ_HTTP:
		break;
	}
	if (type_has(rd, "AccessDenied")) {
		int r = strbuf_printf(missing, "%s%s", missing->len ? "," : "", perm);

		return r < 0 ? r
			     : strbuf_printf(b, "kmswatch's AWS identity may not call %s on key %s "
						"(%s): allow %s (and %s) for it in the key policy or "
						"its IAM policy",
					     op, key, ans, perm,
					     opi == AWSOP_DESCRIBE_KEY ? "kms:GetKeyRotationStatus"
								       : "kms:DescribeKey");
	}
	if (type_has(rd, "InvalidSignature") || type_has(rd, "SignatureDoesNotMatch"))
		return strbuf_printf(b, "AWS refused kmswatch's request signature for %s of %s "
					"(%s): the secret access key does not belong to the access "
					"key id (aws.identity.secret_access_key), or the host clock "
					"is off",
				     op, key, ans);
	if (type_has(rd, "UnrecognizedClient") || type_has(rd, "InvalidClientTokenId"))
		return strbuf_printf(b, "AWS does not know kmswatch's access key for %s of %s "
					"(%s): the access key id is wrong, deactivated or deleted, "
					"or temporary credentials are used without their session "
					"token",
				     op, key, ans);
	if (type_has(rd, "ExpiredToken"))
		return strbuf_printf(b, "kmswatch's temporary AWS credentials had expired for %s "
					"of %s (%s): they are refreshed before expiry; check the "
					"host clock",
				     op, key, ans);
	if (type_has(rd, "Throttling") || st == 429)
		return strbuf_printf(b, "AWS KMS kept throttling kmswatch calling %s of %s%s "
					"(%s): raise aws_interval, or find the other clients "
					"sharing the account's KMS request quota",
				     op, key, after, ans);
	if (st >= 500 && st <= 599)
		return strbuf_printf(b, "AWS KMS had a server error for %s of %s%s (%s): usually "
					"transient; if it persists check the AWS Health Dashboard",
				     op, key, after, ans);
	return strbuf_printf(b, "AWS KMS refused %s of %s%s (%s)", op, key, after, ans);
}

int
chk_aws_access(const struct aws_read *reads, size_t n, const struct cfg_checks *checks,
	       struct findings *out)
{
	struct strbuf b = {0}, missing = {0};
	size_t n_failed = 0;
	struct finding *x;
	int r = 0;

	if (out == NULL || (reads == NULL && n > 0))
		return -EINVAL;
	if (!check_on(checks, CHK_AWS_ACCESS) || n == 0)
		return 0;
	out->evaluated[CHK_AWS_ACCESS] = true;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (reads[i].outcome == AWS_READ_OK ||
		    (reads[i].outcome == AWS_READ_HTTP && aws_error_about_key(reads[i].error)))
			continue;
		if (n_failed++ > 0)
			r = strbuf_puts(&b, "; ");
		if (r == 0)
			r = describe_failure(&reads[i], &b, &missing);
	}
	if (r < 0) {
		strbuf_free(&b);
		strbuf_free(&missing);
		return r;
	}
	if (n_failed == 0)
		x = findings_add(out, CHK_AWS_ACCESS, SEV_OK, PROV_AWS, "aws-kms",
				 "kmswatch reads AWS KMS");
	else
		x = findings_add(out, CHK_AWS_ACCESS, SEV_UNKNOWN, PROV_AWS, "aws-kms", "%s", b.s);
	strbuf_free(&b);
	if (x != NULL && missing.len > 0 && !(x->missing = strbuf_detach(&missing)))
		x = NULL;
	strbuf_free(&missing);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- the AWS descriptor (kms.h) ------------------------------------------ */

static const struct check_row aws_rows[] = {
	{CHK_AWS_KEY_STATE, "aws.key_state", MSGID_AWS_KEY_STATE, false, NULL},
	{CHK_AWS_KEY_AGE, "aws.key_age", MSGID_AWS_KEY_AGE, true, "key_age"},
	{CHK_AWS_ACCESS, "aws.access", MSGID_AWS_ACCESS, false, NULL},
};

static void
aws_ear_view(const struct atlas_ear *ear, struct kms_ear_view *v)
{
	v->present = ear->aws.present;
	v->enabled = ear->aws.enabled;
	v->require_private_networking = ear->aws.require_private_networking;
	v->role_id = ear->aws.role_id;
}

static struct finding *
aws_ear_invalid(struct findings *out, const struct atlas_ear *ear, const char *consequence)
{
	return findings_add(out, CHK_EAR_VALID, SEV_CRITICAL, PROV_AWS, "aws",
			    "Atlas reports the AWS KMS key as not valid (valid: false): %s. Check "
			    "that KMS key %s is enabled and not pending deletion, that the IAM role "
			    "or access key Atlas uses may still use it (key policy, role trust), and "
			    "any network restriction on KMS",
			    consequence, kms_or_unknown(ear->aws.customer_master_key_id));
}

static bool
aws_role_listed(const struct atlas_cpa *cpa, const char *role)
{
	return atlas_cpa_aws_find(cpa, role) != NULL;
}

static struct finding *
aws_judge_role(struct findings *out, const struct atlas_ear *ear,
	       const struct atlas_cpa *cpa, const char *role, const char *elsewhere,
	       const char *consequence)
{
	const struct atlas_cpa_aws *a = atlas_cpa_aws_find(cpa, role);

	(void)ear; /* the message needs nothing of it */
	if (a == NULL)
		return findings_add(
			out, CHK_EAR_ROLE, SEV_CRITICAL, PROV_AWS, role,
			"the AWS KMS configuration names roleId %s, but the project's Cloud "
			"Provider Access has no AWS IAM role with that id%s (%zu listed): Atlas "
			"cannot assume a role to reach KMS: %s. Authorise the IAM role again in "
			"Atlas (Project Settings, Integrations, Cloud Provider Access) and set the "
			"Encryption at Rest roleId to its id, or switch to a role that exists",
			role, elsewhere, cpa->n_aws, consequence);
	if (a->iam_assumed_role_arn == NULL || a->iam_assumed_role_arn[0] == '\0')
		return findings_add(out, CHK_EAR_ROLE, SEV_OK, PROV_AWS, role,
				    "roleId %s is listed in the project's Cloud Provider Access; "
				    "note: it has no iamAssumedRoleArn (not authorised in AWS "
				    "yet?), ear.valid tells whether the key works",
				    role);
	return findings_add(out, CHK_EAR_ROLE, SEV_OK, PROV_AWS, role,
			    "roleId %s is AWS IAM role %s in the project's Cloud Provider Access",
			    role, a->iam_assumed_role_arn);
}

const struct kms_desc aws_kms = {
	.id = PROV_AWS,
	.name = "aws",
	.atlas_name = "AWS",
	.title = "AWS KMS",
	.role_kind = "an AWS IAM role",
	.pe_approve_hint = "accept the endpoint connection on the AWS side",
	.checks = aws_rows,
	.n_checks = ARRAY_SIZE(aws_rows),
	.config = &aws_config,
	.ear_view = aws_ear_view,
	.ear_invalid = aws_ear_invalid,
	.role_listed = aws_role_listed,
	.judge_role = aws_judge_role,
};
