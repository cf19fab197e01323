/* SPDX-License-Identifier: ISC */
/*
 * types — the small shared vocabulary every layer speaks: check ids,
 * severities, key providers, tri-state booleans. It includes nothing of
 * ours, so no domain header has to reach sideways or up for an enum.
 * The catalogue behind the check ids (names, MESSAGE_IDs, which alerts
 * are held during an outage) is in checks.c and, for each provider, in
 * its kms descriptor (kms.h).
 */
#ifndef KMSWATCH_TYPES_H
#define KMSWATCH_TYPES_H

enum check_id {
	CHK_ATLAS_ACCESS,
	CHK_EAR_VALID,
	CHK_EAR_ENABLED,
	CHK_EAR_CONFIG,
	CHK_EAR_CLUSTERS,
	CHK_EAR_ROLE,
	CHK_EAR_PRIVATE_ENDPOINT,
	CHK_ATLAS_EVENTS,
	CHK_AZURE_SECRET_EXPIRY,
	CHK_AZURE_KEY_STATE,
	CHK_AZURE_KEY_AGE,
	CHK_AZURE_KEY_VERSION,
	CHK_AZURE_KEY_IDENTIFIER,
	CHK_AZURE_ALLOWLIST,
	CHK_AZURE_PERMISSIONS,
	CHK_AZURE_ACCESS,
	CHK_ATLAS_CONTROL_PLANE_IPS,
	/* kmswatch's own Atlas credential: an alert about no project */
	CHK_ATLAS_CREDENTIAL_EXPIRY,
	CHK_AWS_KEY_STATE,
	CHK_AWS_KEY_AGE,
	CHK_AWS_ACCESS,
	/* Google Cloud KMS */
	CHK_GCP_KEY_STATE,
	CHK_GCP_KEY_AGE,
	CHK_GCP_ACCESS,
	CHK__COUNT
};

/* Ordered by urgency: unknown (blind) ranks above warning, below critical,
 * which is also how --once folds results and how min_severity routes. */
enum severity {
	SEV_OK = 0,
	SEV_INFO,
	SEV_WARNING,
	SEV_UNKNOWN,
	SEV_CRITICAL,
};

enum provider {
	PROV_NONE = 0,
	PROV_AWS,
	PROV_AZURE,
	PROV_GCP,
};
#define PROV__COUNT (PROV_GCP + 1) /* slots indexed by enum provider */

/* tri-state for optional booleans of API answers */
enum tri { TRI_ABSENT = 0, TRI_FALSE, TRI_TRUE };

#endif
