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

#endif
