/* SPDX-License-Identifier: ISC */
/*
 * gcp_checks — the pure checks of the Google Cloud side: gcp.key_state,
 * gcp.key_age and gcp.access (gcp.h). Each takes parsed inputs,
 * thresholds and `now` and returns findings; none reads a clock or does
 * I/O. Summaries are one line: what is wrong, then what to do.
 *
 * Edges, as on the Azure side: a threshold is reached when the age is at
 * least it; a version scheduled for destruction is destroyed at its
 * destroyTime second. Days are whole days, rounded down.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atlas.h"
#include "gcp_config.h"
#include "gcp.h"
#include "kms.h"
#include "msgid.h"
#include "util.h"

#define DAY 86400

static int64_t
days_down(int64_t secs)
{
	return secs >= 0 ? secs / DAY : -((-secs + DAY - 1) / DAY);
}

static const char *
days_word(int64_t n)
{
	return n == 1 ? "day" : "days";
}

/* ---- gcp.key_state ---------------------------------------------------- */

/* The gcloud words for a version, for the fix in a summary. */
static void
gcloud_args(const struct gcp_version_id *pin, char *buf, size_t len)
{
	snprintf(buf, len, "%s --key %s --keyring %s --location %s --project %s", pin->version,
		 pin->crypto_key, pin->key_ring, pin->location, pin->project);
}

static struct finding *
destroy_scheduled(const struct gcp_version_id *pin, const struct gcp_key_version *v, time_t now,
		  struct findings *out, const char *args)
{
	char t[UTIL_TIME_LEN], left_text[64];
	int64_t left;
	struct finding *x;

	if (!v->has_destroy)
		return findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
				    "key version %s is scheduled for destruction (DESTROY_SCHEDULED, "
				    "Cloud KMS gave no destroyTime): Atlas can no longer use it "
				    "and the data it protects becomes unreadable once it is "
				    "destroyed; restore it now (gcloud kms keys versions restore "
				    "%s) and enable it",
				    pin->full, args);
	left = (int64_t)v->destroy_time - (int64_t)now;
	util_format_time(v->destroy_time, t, sizeof(t));
	if (left <= 0)
		snprintf(left_text, sizeof(left_text), "it was due %s", t);
	else if (left < DAY)
		snprintf(left_text, sizeof(left_text), "in less than a day, at %s", t);
	else
		snprintf(left_text, sizeof(left_text), "in %lld %s, at %s",
			 (long long)days_down(left), days_word(days_down(left)), t);
	x = findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
			 "key version %s is scheduled for destruction (DESTROY_SCHEDULED) %s: "
			 "Atlas can no longer use it, and the data it protects becomes "
			 "unreadable for good once it is destroyed; restore it before then "
			 "(gcloud kms keys versions restore %s) and enable it",
			 pin->full, left_text, args);
	if (x) {
		x->has_days_left = true;
		x->days_left = days_down(left);
	}
	return x;
}

int
chk_gcp_key_state(const struct gcp_version_id *pin, const struct gcp_key_version *v,
		  bool not_found, const struct cfg_checks *checks, time_t now,
		  struct findings *out)
{
	char args[400], raw[64] = "";
	struct finding *x = NULL;

	if (pin == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_GCP_KEY_STATE) || (v == NULL && !not_found))
		return 0;
	out->evaluated[CHK_GCP_KEY_STATE] = true;
	gcloud_args(pin, args, sizeof(args));
	if (not_found)
		x = findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
				 "Cloud KMS has no key version %s (404 NOT_FOUND): the key, its key "
				 "ring or the version does not exist (or the name in Atlas is "
				 "wrong), and Atlas cannot unwrap the project's data keys; correct "
				 "keyVersionResourceID in Atlas to an enabled version",
				 pin->full);
	else
		switch (v->state) {
		case GCP_STATE_ENABLED:
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_OK, PROV_GCP, pin->full,
					 "key version %s is enabled", pin->full);
			break;
		case GCP_STATE_DISABLED:
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
					 "key version %s is disabled (DISABLED): Atlas cannot "
					 "encrypt or decrypt with it and will shut the clusters "
					 "down at its next validation; enable it (gcloud kms keys "
					 "versions enable %s)",
					 pin->full, args);
			break;
		case GCP_STATE_DESTROY_SCHEDULED:
			x = destroy_scheduled(pin, v, now, out, args);
			break;
		case GCP_STATE_DESTROYED:
		case GCP_STATE_PENDING_EXTERNAL_DESTRUCTION:
		case GCP_STATE_EXTERNAL_DESTRUCTION_FAILED: {
			char t[UTIL_TIME_LEN] = "";

			if (v->has_destroy_event)
				util_format_time(v->destroy_event_time, t, sizeof(t));
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
					 "key version %s is destroyed (%s%s%s): its key material "
					 "is gone and data encrypted with it cannot be decrypted; "
					 "point Atlas at an enabled version and restore the "
					 "affected clusters from a backup taken with another key",
					 pin->full, v->state_raw, t[0] ? " at " : "", t);
			break;
		}
		case GCP_STATE_IMPORT_FAILED:
		case GCP_STATE_GENERATION_FAILED:
			util_copy_sanitized(raw, sizeof(raw), v->state_raw);
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_CRITICAL, PROV_GCP, pin->full,
					 "key version %s has no usable key material (%s%s%.200s): "
					 "it will never become enabled; create or import a new "
					 "version and point Atlas at it",
					 pin->full, raw,
					 v->import_failure_reason ? ": " : "",
					 v->import_failure_reason ? v->import_failure_reason : "");
			break;
		case GCP_STATE_PENDING_GENERATION:
		case GCP_STATE_PENDING_IMPORT:
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_WARNING, PROV_GCP, pin->full,
					 "key version %s is not usable yet (%s): Cloud KMS is still "
					 "%s its key material, and Atlas cannot use it until it is "
					 "ENABLED; if it stays so, check the %s",
					 pin->full, v->state_raw,
					 v->state == GCP_STATE_PENDING_IMPORT ? "importing"
									      : "generating",
					 v->state == GCP_STATE_PENDING_IMPORT ? "import job"
									      : "key's protection level "
										"(HSM, EXTERNAL)");
			break;
		case GCP_STATE_UNSPECIFIED:
		case GCP_STATE_OTHER:
			util_copy_sanitized(raw, sizeof(raw), v->state_raw ? v->state_raw : "none");
			x = findings_add(out, CHK_GCP_KEY_STATE, SEV_UNKNOWN, PROV_GCP, pin->full,
					 "key version %s is in a state kmswatch does not know "
					 "(%s): check it in the Cloud console (gcloud kms keys "
					 "versions describe %s)",
					 pin->full, raw, args);
			break;
		}
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- gcp.key_age ------------------------------------------------------- */

/* The primary's version number when it is another version than the pin's. */
static const char *
other_primary(const struct gcp_version_id *pin, const struct gcp_crypto_key *key)
{
	const char *name = key->has_primary ? key->primary.name : NULL;
	const char *slash = name ? strrchr(name, '/') : NULL;

	if (slash == NULL || strcmp(slash + 1, pin->version) == 0)
		return NULL;
	return slash + 1;
}

int
chk_gcp_key_age(const struct gcp_version_id *pin, const struct gcp_key_version *v,
		time_t first_seen, const struct gcp_crypto_key *key,
		const struct cfg_checks *checks, time_t now, struct findings *out)
{
	const struct cfg_threshold *t = checks ? &checks->key_age : &cfg_default_checks.key_age;
	bool exact = v != NULL && v->has_create;
	time_t since = exact ? v->create_time : first_seen;
	char primary[160] = "", per[32], at[UTIL_TIME_LEN], limit[32];
	const char *np;
	enum severity sev = SEV_OK;
	int64_t age;
	struct finding *x;

	if (pin == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_GCP_KEY_AGE) || key == NULL ||
	    (!exact && first_seen == 0))
		return 0;
	out->evaluated[CHK_GCP_KEY_AGE] = true;
	age = (int64_t)now - (int64_t)since;
	if (age < 0)
		age = 0;
	if ((np = other_primary(pin, key)) != NULL)
		snprintf(primary, sizeof(primary),
			 "; the key's primary is version %.20s, but Atlas keeps using version %s "
			 "until its keyVersionResourceID names the new one",
			 np, pin->version);
	if (key->has_rotation_period) {
		util_format_duration(key->rotation_period > 0 ? key->rotation_period : 1, per,
				     sizeof(per));
		if (key->has_next_rotation)
			util_format_time(key->next_rotation_time, at, sizeof(at));
		x = findings_add(out, CHK_GCP_KEY_AGE, SEV_OK, PROV_GCP, pin->full,
				 "key version %s is %s%lld %s old; Cloud KMS rotates the key every "
				 "%s%s%s%s",
				 pin->full, exact ? "" : "at least ", (long long)days_down(age),
				 days_word(days_down(age)), per,
				 key->has_next_rotation ? ", next at " : "",
				 key->has_next_rotation ? at : "", primary);
	} else {
		if (age >= t->critical)
			sev = SEV_CRITICAL;
		else if (age >= t->warning)
			sev = SEV_WARNING;
		util_format_duration(sev == SEV_CRITICAL ? t->critical : t->warning, limit,
				     sizeof(limit));
		if (sev == SEV_OK)
			x = findings_add(out, CHK_GCP_KEY_AGE, SEV_OK, PROV_GCP, pin->full,
					 "key version %s is %s%lld %s old (the key has no rotation "
					 "period)%s",
					 pin->full, exact ? "" : "at least ", (long long)days_down(age),
					 days_word(days_down(age)), primary);
		else
			x = findings_add(out, CHK_GCP_KEY_AGE, sev, PROV_GCP, pin->full,
					 "key version %s is %s%lld %s old, past the %s limit "
					 "(checks.key_age), and the key has no rotation period%s; "
					 "create a new version (gcloud kms keys versions create "
					 "--key %s --keyring %s --location %s --project %s, or set "
					 "--rotation-period on the key) and point Atlas's "
					 "keyVersionResourceID at it",
					 pin->full, exact ? "" : "at least ", (long long)days_down(age),
					 days_word(days_down(age)), limit, primary, pin->crypto_key,
					 pin->key_ring, pin->location, pin->project);
	}
	if (x == NULL)
		return -ENOMEM;
	x->has_age_days = true;
	x->age_days = days_down(age);
	return 0;
}

/* ---- gcp.access ----------------------------------------------------------- */

static const struct {
	const char *what, *permission;
} gcp_ops[] = {
	[GCPOP_KEY_VERSION] = {"key version", "cloudkms.cryptoKeyVersions.get"},
	[GCPOP_CRYPTO_KEY] = {"key", "cloudkms.cryptoKeys.get"},
};

static bool
status_is(const struct gcp_read *rd, const char *s)
{
	return rd->error != NULL && strcmp(rd->error->status, s) == 0;
}

static int
describe(const struct gcp_read *rd, struct strbuf *b)
{
	unsigned opi = (unsigned)rd->op < ARRAY_SIZE(gcp_ops) ? (unsigned)rd->op : 0;
	char what[460], ans[600] = "", after[48] = "";
	const int st = rd->http_status;

	snprintf(what, sizeof(what), "%s %s", gcp_ops[opi].what,
		 rd->resource && rd->resource[0] ? rd->resource : "(unnamed)");
	util_sanitize(what);
	if (rd->retries > 0)
		snprintf(after, sizeof(after), " after %u %s", rd->retries,
			 rd->retries == 1 ? "retry" : "retries");
	if (rd->error)
		snprintf(ans, sizeof(ans), "HTTP %d %s%s%.300s", st,
			 rd->error->status[0] ? rd->error->status : "error",
			 rd->error->message[0] ? ": " : "", rd->error->message);
	else if (rd->detail && rd->detail[0])
		util_copy_sanitized(ans, sizeof(ans), rd->detail);
	else
		snprintf(ans, sizeof(ans), "HTTP %d", st);

	switch (rd->outcome) {
	case GCP_READ_OK:
		return 0;
	case GCP_READ_TRANSPORT:
		return strbuf_printf(b, "kmswatch could not reach Cloud KMS for %s%s (%s): a "
					"network or TLS problem on kmswatch's side, not a key "
					"problem; check DNS, the firewall or proxy towards "
					"gcp.endpoints.kms, and TLS trust (gcp.ca_file)",
				     what, after, ans);
	case GCP_READ_REFUSED:
		return strbuf_printf(b, "kmswatch did not ask Cloud KMS for %s: Atlas's "
					"keyVersionResourceID is malformed (%s); correct it in the "
					"project's Encryption at Rest settings in Atlas",
				     gcp_ops[opi].what, rd->detail ? rd->detail : "?");
	case GCP_READ_BAD_BODY:
		return strbuf_printf(b, "Cloud KMS answered with a malformed document for %s "
					"(%s): check that gcp.endpoints.kms is Cloud KMS itself, not "
					"a proxy",
				     what, ans);
	case GCP_READ_TOKEN: {
		const struct gcp_error *te = rd->token_error;
		enum gcp_token_cause c = rd->metadata ? GCPTOK_METADATA : gcp_token_classify(te);

		if (te != NULL)
			return strbuf_printf(b, "kmswatch got no Google access token to read %s "
						"(HTTP %d %s%s%.200s): %s",
					     what, st, te->status[0] ? te->status : "error",
					     te->message[0] ? ": " : "", te->message,
					     gcp_token_advice(c));
		if (st == 0)
			return strbuf_printf(b, "kmswatch could not reach the %s for %s%s (%s): "
						"check DNS, the firewall or proxy towards %s",
					     rd->metadata ? "metadata server" : "token endpoint",
					     what, after, ans,
					     rd->metadata ? "gcp.endpoints.metadata"
							  : "gcp.endpoints.token (or the key's "
							    "token_uri)");
		return strbuf_printf(b, "the token request for %s failed%s (%s): %s", what, after,
				     ans, gcp_token_advice(c));
	}
	case GCP_READ_HTTP:
		break;
	}
	if (st == 403 || status_is(rd, "PERMISSION_DENIED"))
		return strbuf_printf(b, "kmswatch's identity may not read %s (%s): grant it %s "
					"(roles/cloudkms.viewer on the key or its key ring)",
				     what, ans,
				     rd->error && rd->error->permission[0] ? rd->error->permission
									   : gcp_ops[opi].permission);
	if (st == 401 || status_is(rd, "UNAUTHENTICATED"))
		return strbuf_printf(b, "Cloud KMS rejected kmswatch's access token for %s (%s): "
					"check gcp.identity (a revoked key, or a token for another "
					"scope)",
				     what, ans);
	if (st == 429 || status_is(rd, "RESOURCE_EXHAUSTED"))
		return strbuf_printf(b, "Cloud KMS kept throttling kmswatch reading %s%s (%s): "
					"raise the project's Cloud KMS read quota or lengthen "
					"gcp_interval",
				     what, after, ans);
	if (st >= 500)
		return strbuf_printf(b, "Cloud KMS failed reading %s%s (%s): a service-side "
					"problem; kmswatch keeps trying",
				     what, after, ans);
	return strbuf_printf(b, "Cloud KMS refused reading %s%s (%s)", what, after, ans);
}

int
chk_gcp_access(const struct gcp_read *reads, size_t n, const struct cfg_checks *checks,
	       struct findings *out)
{
	struct strbuf b = {0};
	size_t n_failed = 0;
	struct finding *x;
	int r = 0;

	if (out == NULL || (reads == NULL && n > 0))
		return -EINVAL;
	if (!check_on(checks, CHK_GCP_ACCESS) || n == 0)
		return 0;
	out->evaluated[CHK_GCP_ACCESS] = true;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (reads[i].outcome == GCP_READ_OK)
			continue;
		if (n_failed++ > 0)
			r = strbuf_puts(&b, "; ");
		if (r == 0)
			r = describe(&reads[i], &b);
	}
	if (r < 0) {
		strbuf_free(&b);
		return r;
	}
	if (n_failed == 0)
		x = findings_add(out, CHK_GCP_ACCESS, SEV_OK, PROV_GCP, "cloudkms",
				 "kmswatch reads Cloud KMS");
	else
		x = findings_add(out, CHK_GCP_ACCESS, SEV_UNKNOWN, PROV_GCP, "cloudkms", "%s", b.s);
	strbuf_free(&b);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- the Google Cloud descriptor (kms.h) --------------------------------- */

static const struct check_row gcp_rows[] = {
	{CHK_GCP_KEY_STATE, "gcp.key_state", MSGID_GCP_KEY_STATE, false, NULL},
	{CHK_GCP_KEY_AGE, "gcp.key_age", MSGID_GCP_KEY_AGE, true, "key_age"},
	{CHK_GCP_ACCESS, "gcp.access", MSGID_GCP_ACCESS, false, NULL},
};

static void
gcp_ear_view(const struct atlas_ear *ear, struct kms_ear_view *v)
{
	v->present = ear->gcp.present;
	v->enabled = ear->gcp.enabled;
	v->role_id = ear->gcp.role_id;
}

static struct finding *
gcp_ear_invalid(struct findings *out, const struct atlas_ear *ear, const char *consequence)
{
	return findings_add(out, CHK_EAR_VALID, SEV_CRITICAL, PROV_GCP, "gcp",
			    "Atlas reports the Google Cloud KMS key as not valid (valid: false): "
			    "%s. Check that key version %s is enabled, that the service account or "
			    "role Atlas uses still holds the Encrypter/Decrypter role, and any VPC "
			    "Service Controls perimeter",
			    consequence, kms_or_unknown(ear->gcp.key_version_resource_id));
}

static bool
gcp_role_listed(const struct atlas_cpa *cpa, const char *role)
{
	return atlas_cpa_gcp_find(cpa, role) != NULL;
}

static struct finding *
gcp_judge_role(struct findings *out, const struct atlas_ear *ear,
	       const struct atlas_cpa *cpa, const char *role, const char *elsewhere,
	       const char *consequence)
{
	const struct atlas_cpa_gcp *g = atlas_cpa_gcp_find(cpa, role);

	(void)ear; /* the message needs nothing of it */
	if (g == NULL)
		return findings_add(
			out, CHK_EAR_ROLE, SEV_CRITICAL, PROV_GCP, role,
			"the Google Cloud KMS configuration names roleId %s, but the project's "
			"Cloud Provider Access has no GCP service account with that id%s (%zu "
			"listed): Atlas cannot authenticate to Cloud KMS: %s. Set up the "
			"service account again in Atlas (Project Settings, Integrations, Cloud "
			"Provider Access) and set the Encryption at Rest roleId to its id, or "
			"switch to a role that exists",
			role, elsewhere, cpa->n_gcp, consequence);
	if (g->status != NULL && strcasecmp(g->status, "COMPLETE") != 0)
		return findings_add(out, CHK_EAR_ROLE, SEV_OK, PROV_GCP, role,
				    "roleId %s is listed in the project's Cloud Provider Access; "
				    "note: its status is %s, not COMPLETE; ear.valid tells whether "
				    "the key works",
				    role, g->status);
	return findings_add(out, CHK_EAR_ROLE, SEV_OK, PROV_GCP, role,
			    "roleId %s is a GCP service account in the project's Cloud Provider "
			    "Access",
			    role);
}

const struct kms_desc gcp_kms = {
	.id = PROV_GCP,
	.name = "gcp",
	.atlas_name = "GCP",
	.title = "Google Cloud KMS",
	.role_kind = "a GCP service account",
	.checks = gcp_rows,
	.n_checks = ARRAY_SIZE(gcp_rows),
	.config = &gcp_config,
	.ear_view = gcp_ear_view,
	.ear_invalid = gcp_ear_invalid,
	.role_listed = gcp_role_listed,
	.judge_role = gcp_judge_role,
};
