/* SPDX-License-Identifier: ISC */
/*
 * checks — the check catalogue of docs/INTERFACE.md (ids, default severities,
 * MESSAGE_IDs) and the pure check functions. A check turns parsed inputs,
 * the current time and thresholds into findings; it never reads a clock and
 * never does I/O, so every threshold edge is unit-testable.
 */
#ifndef KMSWATCH_CHECKS_H
#define KMSWATCH_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "types.h"

const char *check_name(enum check_id c);          /* "ear.valid" */
int check_from_name(const char *name);            /* enum or -EINVAL */
const char *check_msgid(enum check_id c);
struct cfg_checks;
/* Whether the check runs: on unless the config switched it off (a NULL
 * cfg_checks means every check is on). */
bool check_on(const struct cfg_checks *checks, enum check_id id);
/* Whether its alerts are held back while the project's ear.valid is
 * critical (the catalogue says which). */
bool check_held_while_ear_invalid(enum check_id c);
const char *severity_name(enum severity s);       /* "critical" */
int severity_from_name(const char *name);         /* enum or -EINVAL */
int severity_priority(enum severity s);           /* journald PRIORITY */
int severity_nagios(enum severity s);             /* 0..3 */
const char *provider_name(enum provider p);       /* "azure", "" for none */
const char *provider_atlas_name(enum provider p); /* "AZURE", "NONE" for none */
/* "aws", "azure", "gcp", "none" in any case (so Atlas's "AZURE" and a
 * cluster's "NONE" work too) -> enum; -EINVAL otherwise. */
int provider_from_name(const char *name);

/* One observation of one check about one subject. */
struct finding {
	enum check_id check;
	enum severity severity;    /* SEV_OK: the subject is fine */
	enum provider provider;
	char *subject;             /* "azure", a key version, a cluster... */
	char *summary;             /* one line: what is wrong, what to do */
	bool has_days_left, has_age_days;
	int64_t days_left, age_days;
	char *missing;             /* comma-separated CIDRs, or NULL */
	/* the instant the verdict is about (a secret's end date), for the
	 * metrics; set by the checks that know one */
	bool has_at;
	time_t at;
};

struct findings {
	struct finding *v;
	size_t n, cap;
	/* checks that produced a verdict this round; alerts of checks that did
	 * not run (e.g. EAR checks while Atlas is unreachable) are left alone */
	bool evaluated[CHK__COUNT];
};

/* Appends a finding; subject and summary are copied, control characters
 * in them become spaces (a summary is one line, and parts of it come from
 * API answers). Returns the new finding (valid until the next add) or NULL
 * on ENOMEM. A NULL subject is stored as "". */
struct finding *findings_add(struct findings *f, enum check_id check,
			     enum severity sev, enum provider prov,
			     const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Frees every finding and clears evaluated[]: the struct is ready for reuse. */
void findings_free(struct findings *f);

/* ---- helpers the provider checks share --------------------------------- */

struct cfg_threshold;
/* Whole days, rounded towards minus infinity: 23 hours left is 0 days,
 * expired an hour ago is -1. */
int64_t chk_floor_days(int64_t secs);
const char *chk_plural(int64_t n); /* "" for 1 and -1, else "s" */
/* "in 5 days (2026-11-25T10:00:00Z)", "in less than a day (...)",
 * "3 days ago (...)" for something at `at`, `left` seconds from now. */
void chk_when(int64_t left, time_t at, char *buf, size_t len);
/* Severity of something that stops working `left` seconds from now:
 * critical when past (left <= 0), else per the thresholds when window. */
enum severity chk_expiry_severity(int64_t left, const struct cfg_threshold *t, bool window);
enum severity chk_max_sev(enum severity a, enum severity b);
/* has_days_left, days_left = chk_floor_days(left) */
void chk_set_days_left(struct finding *x, int64_t left);

/*
 * Conventions of the check functions below: they return 0, -EINVAL for a
 * missing argument or -ENOMEM (findings added so far stay in *out). A check
 * that reaches a verdict sets out->evaluated[its id] and adds one finding
 * per subject it judged (SEV_OK when fine); an evaluated check without a
 * finding for some subject means that subject is no longer a concern.
 * A check switched off in cfg_checks.enabled[] adds nothing and is not
 * marked evaluated. A NULL struct cfg_checks means every check is on.
 */
struct cfg_checks;
struct atlas_ear;
struct atlas_error;

/* ---- atlas.access: could kmswatch read the project's EAR state? ---- */

enum atlas_outcome {
	ATLAS_FETCH_OK = 0,    /* 2xx and a body that parsed */
	ATLAS_FETCH_HTTP,      /* a non-2xx answer (after any retries) */
	ATLAS_FETCH_TRANSPORT, /* no answer: DNS, connect, TLS, timeout, reset */
	ATLAS_FETCH_BAD_BODY,  /* 2xx, but the body did not parse */
	ATLAS_FETCH_AUTH,      /* no access token: the OAuth token request failed */
};

struct atlas_fetch {
	enum atlas_outcome outcome;
	int http_status; /* of the failing request (the token endpoint's for
			    ATLAS_FETCH_AUTH); 0 when there was no answer */
	const struct atlas_error *error; /* parsed ApiError / OAuth error, or NULL */
	unsigned retries;                /* retries made before this outcome */
	char detail[256]; /* curl's error text, the parser's error, or the OAuth
			     error from atlas_parse_token; "" if none. Shown
			     only when error carries no detail of its own. */
};

/* One atlas.access finding, subject "atlas-api": SEV_OK when the read
 * worked, else SEV_UNKNOWN with what went wrong (Atlas's errorCode and
 * detail included) and what to do. Always marks atlas.access evaluated
 * (the caller skips the call when the check is switched off). */
int chk_atlas_access(const struct atlas_fetch *f, struct findings *out);
/* The atlas.access finding of one project listing of discover: (subject
 * "groups" for GET /groups, "org:ID" for an organization's): SEV_OK when
 * the listing was read to the end, else SEV_UNKNOWN saying what failed and
 * that the `kept` projects listed last time are still watched. Marks
 * atlas.access evaluated. org_id NULL: GET /groups. */
int chk_discovery_access(const struct atlas_fetch *f, const char *org_id, size_t kept,
			 struct findings *out);

/* ---- ear.valid, ear.enabled, ear.config ---- */

/* What ear.config and the key-age checks remember between polls; persisted
 * in the state file so that a restart neither re-reports nor forgets. */
struct ear_memory {
	char *fingerprint;     /* atlas_ear_fingerprint() of the last good read;
				  NULL: never read */
	char *key_id;          /* key identifier of the enabled provider, or NULL */
	time_t key_first_seen; /* when key_id was first seen; 0 without key_id */
};
void ear_memory_free(struct ear_memory *m);
/* The memory as kept in projects.json: {"fingerprint", "key_id",
 * "key_first_seen"}, members absent when unset; NULL on ENOMEM. */
json_t *ear_memory_to_json(const struct ear_memory *m);
/* Restores *m (o may be NULL: nothing kept). -EBADMSG when o is damaged
 * (a member of the wrong type, a negative time), -ENOMEM; *m is then empty. */
int ear_memory_from_json(json_t *o, struct ear_memory *m);

/*
 * Judges one parsed EAR state:
 * - ear.valid, per enabled provider (subject "aws"/"azure"/"gcp"): critical
 *   on valid:false, unknown when Atlas omits valid, ok on valid:true; with
 *   no provider enabled one ok finding, subject "none".
 * - ear.enabled, only when expect is not PROV_NONE (subject: the expected
 *   provider): critical when it is not enabled, unknown when Atlas sends its
 *   object without "enabled"; evaluated without a finding when nothing is
 *   expected.
 * - ear.config: one info finding when the fingerprint differs from prev's
 *   (not on the first observation), listing "field: OLD -> NEW" for each
 *   changed field; no finding otherwise.
 * *next receives the memory to keep (always, even for checks switched
 * off): the new fingerprint and key id, whose first-seen time is carried
 * over from prev while the key id is unchanged and is `now` otherwise.
 * *next is overwritten, not freed; it may be prev itself, whose old
 * contents are then freed. prev may be NULL (nothing remembered).
 */
int chk_ear(const struct atlas_ear *ear, enum provider expect, const struct cfg_checks *checks,
	    const struct ear_memory *prev, time_t now, struct findings *out,
	    struct ear_memory *next);

/* ---- ear.clusters, ear.role ---- */

struct atlas_clusters;
struct atlas_cpa;

/*
 * ear.clusters: one finding per cluster, subject = its name (its id when
 * Atlas sends no name; "(unnamed cluster)" without either; a name listed
 * twice, as can happen when pages shift between requests, is judged once).
 * project_provider is the project's enabled provider
 * (atlas_ear_enabled_provider of the same poll).
 * - with a provider enabled: warning when the cluster's
 *   encryptionAtRestProvider is NONE (Atlas-managed keys only) or another
 *   value (a different provider, or one kmswatch does not know), ok when it
 *   names the project's provider (case-insensitively); unknown when Atlas
 *   omits the field (kmswatch cannot tell);
 * - with no provider enabled, NONE (or an omitted field) is what every
 *   cluster must have: ok; a cluster naming a provider anyway is a warning
 *   (the project has no key configured for it).
 * Clusters in stateName DELETING are skipped (their alerts resolve).
 * Paused clusters are judged like the others; the summary says "paused",
 * and a state other than IDLE is mentioned too. Pass the complete listing
 * of every page (atlas_clusters_merge): a cluster missing from it is taken
 * as gone and its alert resolves, so do not call this after a failed page.
 */
int chk_ear_clusters(const struct atlas_clusters *cl, enum provider project_provider,
		     const struct cfg_checks *checks, struct findings *out);

/*
 * ear.role: the Cloud Provider Access role the enabled provider's
 * configuration names (atlas_ear_role_id), subject = the role id:
 * - Azure: critical when no azureServicePrincipals entry has that _id
 *   (Atlas cannot authenticate to Key Vault and will shut the clusters down
 *   at its next validation); ok when one does. An entry whose featureUsages
 *   does not list ENCRYPTION_AT_REST is still ok, with a note in the
 *   summary: Atlas authenticates as the principal whatever that
 *   bookkeeping says, and Atlas is not documented to keep it complete.
 * - AWS / GCP: the same with awsIamRoles[] / gcpServiceAccounts[] roleId;
 *   an AWS role without iamAssumedRoleArn, or a GCP account whose status
 *   is not COMPLETE, is ok with a note (ear.valid reports whether the key
 *   actually works).
 * Evaluated without a finding when no provider is enabled or the enabled
 * one has no roleId (secret or key based credentials): there is no role
 * to lose, and an alert left from an earlier role-based setup resolves.
 * cpa may be NULL when cloudProviderAccess could not be read (or was not
 * read because atlas_ear_role_id was NULL): with a roleId the check then
 * returns 0 without a verdict and the alerts stay as they are.
 */
int chk_ear_role(const struct atlas_ear *ear, const struct atlas_cpa *cpa,
		 const struct cfg_checks *checks, struct findings *out);

#endif
