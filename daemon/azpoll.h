/*
 * azpoll — the Azure side of each project (INTERFACE.md azure.* checks and
 * atlas.control_plane_ips). Every azure_interval, and at once when Atlas's
 * EAR state names a new key identifier, client, role or vault, one round
 * reads — concurrently — Microsoft Graph (the client secrets of Atlas's
 * app), Key Vault (the pinned key version, all versions, the rotation
 * policy), ARM (the vault's firewall and access policies, role
 * assignments) and Atlas (control-plane and node outbound IPs), each with
 * kmswatch's own read-only identity and the shared retry policy, then runs
 * the pure checks and hands the findings to the daemon. Projects whose
 * enabled EAR provider is not Azure have no Azure round.
 */
#ifndef KMSWATCH_AZPOLL_H
#define KMSWATCH_AZPOLL_H

#include <stdbool.h>
#include <stddef.h>

#include "atlas.h"
#include "config.h"
#include "poller.h"

struct daemon;
struct azpoll;

int azpoll_new(struct daemon *d, const struct poller_hooks *hooks, struct azpoll **out);
void azpoll_free(struct azpoll *a);
/* Adopt a (new) config: rounds in flight are restarted with it, removed
 * projects forgotten, schedules of the others kept. */
int azpoll_configure(struct azpoll *a, const struct config *cfg);
/* The poller read a project's EAR state. */
void azpoll_ear(struct azpoll *a, const struct cfg_project *p, const struct atlas_ear *ear,
		const struct ear_memory *mem);

int azpoll_save_memory(const struct azpoll *a, char **json, size_t *len);
int azpoll_load_memory(struct azpoll *a, const char *json, size_t len);

/* Once mode: no round is pending or running. */
bool azpoll_idle(const struct azpoll *a);

#endif
