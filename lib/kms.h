/* SPDX-License-Identifier: ISC */
/*
 * kms — the key services of the pure layer, one descriptor each, in one
 * table (kms.c). Each provider's descriptor lives in its own checks file
 * (lib/azure_checks.c, lib/aws_checks.c, lib/gcp_checks.c): its names, its
 * rows of the check catalogue, and what the Atlas-side checks (ear.valid,
 * ear.enabled, ear.role, ear.clusters) must say about it. lib/checks.c
 * walks the table and names no provider, and so does lib/config.c, which
 * reads each provider's configuration sections through the descriptor.
 * Adding one is adding its files and one line to kms.c (and to
 * daemon/providers.c for its rounds).
 */
#ifndef KMSWATCH_KMS_H
#define KMSWATCH_KMS_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

struct atlas_ear;
struct atlas_cpa;
struct findings;
struct finding;
struct cfg_section;

/* One row of the check catalogue (see checks.h: check_name()). */
struct check_row {
	enum check_id id;
	const char *name;  /* "azure.key_age": config, journald, payloads */
	const char *msgid; /* its MESSAGE_ID (msgid.h) */
	/* its alerts are held back while the project's ear.valid is
	 * critical: a stale key is beside the point during an outage */
	bool held_while_ear_invalid;
	/* the `checks:` block ("key_age", "secret_expiry", "allowlist")
	 * whose `enabled` switches it too; NULL: only its own id does */
	const char *switched_by;
};

/* What the provider's section of a GET .../encryptionAtRest answer says,
 * in the terms every provider shares. */
struct kms_ear_view {
	bool present;     /* the section was in the answer */
	enum tri enabled; /* as sent */
	enum tri require_private_networking; /* absent where Atlas has none */
	const char *role_id; /* NULL or "": no Cloud Provider Access role */
};

struct kms_desc {
	enum provider id;
	const char *name;       /* "azure": config section, check prefix, payloads */
	const char *atlas_name; /* "AZURE": Atlas's encryptionAtRestProvider */
	const char *title;      /* "Azure Key Vault": as the Atlas UI names it */
	/* what a role id of it is, for "(that id is an Azure service
	 * principal)" when another provider's configuration names it */
	const char *role_kind;
	/* ear.private_endpoint: what to do about an endpoint that waits on
	 * the customer's side (NULL: Atlas offers no EAR private endpoints) */
	const char *pe_approve_hint;
	const struct check_row *checks; /* its own rows of the catalogue */
	size_t n_checks;
	/* its `<name>:` and `<name>_interval` keys, and its block in a
	 * project entry (config_keys.h; lib/<name>_config.c) */
	const struct cfg_section *config;

	void (*ear_view)(const struct atlas_ear *ear, struct kms_ear_view *v);
	/* ear.valid when Atlas says valid: false; `consequence` ends the
	 * first sentence. */
	struct finding *(*ear_invalid)(struct findings *out, const struct atlas_ear *ear,
				       const char *consequence);
	/* Whether the project's Cloud Provider Access lists `role` among
	 * this provider's roles. */
	bool (*role_listed)(const struct atlas_cpa *cpa, const char *role);
	/* ear.role for the role its configuration names. `elsewhere` is ""
	 * or " (that id is ...)", `consequence` what Atlas then does. */
	struct finding *(*judge_role)(struct findings *out, const struct atlas_ear *ear,
				      const struct atlas_cpa *cpa, const char *role,
				      const char *elsewhere, const char *consequence);
};

/* Every provider, in enum order (the order findings and lists use). */
extern const struct kms_desc *const kms_table[];
extern const size_t kms_count;

/* The descriptor of p; NULL for PROV_NONE and values out of range. */
const struct kms_desc *kms_find(enum provider p);

/* What the section of provider p says; all absent for PROV_NONE. */
struct kms_ear_view kms_ear_view_of(const struct atlas_ear *ear, enum provider p);
/* Whether the enabled provider's section says requirePrivateNetworking:
 * true, so that its EAR private endpoints are worth reading. */
bool kms_ear_private_networking(const struct atlas_ear *ear);

/* "(not reported)" for a NULL or empty API value, else s. */
const char *kms_or_unknown(const char *s);

#endif
