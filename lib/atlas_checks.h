/* SPDX-License-Identifier: ISC */
/*
 * atlas_checks — checks about Atlas itself that no key provider owns:
 * atlas.control_plane_ips, the drift of Atlas's control-plane outbound
 * address list (every firewall in front of a key service must follow it),
 * and ear.private_endpoint, the private endpoints Atlas reaches the key
 * through when the project requires private networking.
 * Pure logic, like every check: time is an argument.
 */
#ifndef KMSWATCH_ATLAS_CHECKS_H
#define KMSWATCH_ATLAS_CHECKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "checks.h"

struct cfg_checks;

/* ---- atlas.control_plane_ips (subject "outbound") ----------------------- */

/* How long a change keeps the warning firing (then it resolves on its own;
 * a further change restarts the window and the diff accumulates). */
#define ATLAS_CP_CHANGE_HOLD (7 * 86400)

/* What the check remembers; persist it with the rest of the state. Lists
 * hold canonical CIDR texts (unparsable entries verbatim), sorted. */
struct cp_memory {
	bool seen;           /* false: nothing observed yet */
	char **base;         /* the list before the change being reported */
	size_t n_base;
	char **last;         /* the list seen last */
	size_t n_last;
	time_t changed_at;   /* last change from base; 0: no change pending */
};
void cp_memory_free(struct cp_memory *m);
/* The memory as kept in the state file:
 * {"seen": true, "base": [...], "last": [...], "changed_at": N}; NULL when
 * nothing was seen yet, or without memory. */
json_t *cp_memory_to_json(const struct cp_memory *m);
/* Restores *m from what cp_memory_to_json wrote (o may be NULL: nothing
 * kept). -EBADMSG when o is damaged, -ENOMEM; *m is then empty. */
int cp_memory_from_json(json_t *o, struct cp_memory *m);
/* cidrs: the current outbound list (atlas_control_plane_outbound). *next
 * receives the memory to keep, also when the check is off; it may be prev
 * itself. prev may be NULL; its lists (as restored from the state file) need
 * not be sorted or canonical, they are normalised before comparing.
 * hold <= 0 means ATLAS_CP_CHANGE_HOLD; the warning fires from the change
 * until hold seconds later (at changed_at + hold it is ok again). The
 * finding's missing lists the added CIDRs. */
int chk_atlas_control_plane_ips(const char *const *cidrs, size_t n, const struct cp_memory *prev,
				int64_t hold, const struct cfg_checks *checks, time_t now,
				struct findings *out, struct cp_memory *next);

/* ---- ear.private_endpoint (subject: the endpoint's region; "azure" or
 * "aws" for the project as a whole) ----------------------------------------
 * Applies when the enabled provider (Azure or AWS) has
 * requirePrivateNetworking true; otherwise evaluated with no finding.
 * pes: the provider's endpoints as read, NULL when the read failed; then
 * read_status is its HTTP status (403: the Project Owner role is missing)
 * or 0, and read_error says what went wrong. FAILED is critical with
 * Atlas's errorMessage; PENDING_ACCEPTANCE / PENDING_RECREATION (approve
 * the connection), INITIATING and DELETING are warnings, critical when no
 * endpoint is ACTIVE (Atlas then cannot reach the key at all); no endpoint
 * is critical. */
/* ---- atlas.events (subject: "kms-network", "config", "key" or
 * "rotation") -------------------------------------------------------------
 * events: what Atlas recorded for the project since now - window (the read
 * asked for EAR verdicts and their recoveries only); NULL: not read, so no
 * verdict (alerts keep their state; atlas.access or a log line says why).
 * A verdict fires while no later event of its family takes it back
 * (ACCESS_RESTORED, CONFIG_IS_VALID, KEY_VALID, KEY_ROTATED); key and
 * rotation events count only for the provider Atlas has enabled. Network,
 * configuration and key verdicts are critical, rotation a warning; the
 * message quotes the event type and its time. */
struct atlas_events;
int chk_atlas_events(const struct atlas_events *events, enum provider enabled, time_t now,
		     const struct cfg_checks *checks, struct findings *out);

struct atlas_ear;
struct atlas_ear_pes;
int chk_ear_private_endpoint(const struct atlas_ear *ear, const struct atlas_ear_pes *pes,
			     int read_status, const char *read_error,
			     const struct cfg_checks *checks, struct findings *out);

/* ---- atlas.credential_expiry: kmswatch's own service-account secret ----
 * Subject: the judged secret's maskedSecretValue (its id when Atlas sends
 * no mask); the client id for a finding about the read itself. These
 * findings concern no project: the daemon observes them with
 * alerts_observe_self(). */

/* Which of the service account's secrets is judged. */
enum cred_rule {
	CRED_RULE_NONE = 0,
	/* exactly one maskedSecretValue's visible end matches the end of the
	 * configured client secret: that is the one kmswatch uses */
	CRED_RULE_MATCHED,
	/* no mask identifies it (none matches, several do, or the configured
	 * secret is unknown): the secret that expires last, since kmswatch
	 * goes blind only when the last valid one expires */
	CRED_RULE_LATEST,
};
const char *cred_rule_name(enum cred_rule r); /* "matched", "latest", "" */

/* The visible end of a maskedSecretValue: what follows its last mask
 * character ('*', '.', U+2026 or U+2022), when that is 3 to 16 characters
 * of [A-Za-z0-9_-]; NULL (no usable suffix) otherwise. Not a copy. */
const char *cred_mask_suffix(const char *masked);

struct atlas_sa;
/* The index of the secret to judge and the rule that chose it; -ENOENT
 * when the account lists none. secret is the configured client secret (or
 * NULL): it is compared in constant time with each suffix, never copied,
 * never written anywhere. A suffix as long as the secret (or longer) is
 * not taken as a match: a mask shows less than the secret. */
int cred_pick(const struct atlas_sa *sa, const char *secret, enum cred_rule *rule);

/* What the last good read found, kept (and persisted) so that a read that
 * fails later neither forgets nor resolves the verdict: the remembered
 * expiry keeps being judged, and only gets closer. */
struct cred_memory {
	char *client_id, *org_id;
	char *secret_id, *masked; /* NULL secret_id: nothing remembered */
	time_t expires_at, read_at;
	enum cred_rule rule;
	size_t n_secrets;
};
void cred_memory_free(struct cred_memory *m);
/* {"client_id","org_id","secret_id","masked","expires_at","read_at","rule",
 * "n_secrets"}; NULL when nothing is remembered (or ENOMEM). */
json_t *cred_memory_to_json(const struct cred_memory *m);
/* o may be NULL (nothing kept). -EBADMSG when damaged, -ENOMEM; *m is then
 * empty. */
int cred_memory_from_json(json_t *o, struct cred_memory *m);

/* How the read went when it brought no answer to judge. */
enum cred_failure {
	CRED_READ_OK = 0,
	CRED_READ_DENIED,     /* 401/403: the account lacks Organization Read Only */
	CRED_READ_NOT_FOUND,  /* 404: no such service account in that organization */
	CRED_READ_NO_ORG,     /* the organization could not be learnt */
	CRED_READ_TRANSIENT,  /* network, 5xx, 429, token, malformed: no verdict */
};

struct cred_input {
	const char *client_id;     /* required */
	const char *org_id;        /* NULL when unknown */
	const struct atlas_sa *sa; /* the answer; NULL when failure != CRED_READ_OK */
	const char *secret;        /* the configured client secret, or NULL */
	enum cred_failure failure;
	const char *error;         /* what went wrong ("HTTP 403 USER_UNAUTHORIZED: ...") */
};

/*
 * With an answer: one finding for the secret cred_pick chooses (expired:
 * critical; within checks->secret_expiry critical / warning; else ok),
 * with its days left and the rule that chose it in the summary; an account
 * without secrets is critical (subject: the client id). *next then gets
 * the memory of this read (it may be prev itself).
 * DENIED is a warning, NOT_FOUND critical, NO_ORG a warning (subject: the
 * client id, saying what to do), and the remembered secret, when prev
 * holds one for the same client id, is judged again as of now: the alert
 * of an expiring secret does not resolve because the read failed.
 * TRANSIENT: no verdict at all (nothing added, not evaluated).
 * Switched off: nothing. *next is written only with an answer.
 */
int chk_atlas_credential_expiry(const struct cred_input *in, const struct cred_memory *prev,
				const struct cfg_checks *checks, time_t now,
				struct findings *out, struct cred_memory *next);

#endif
