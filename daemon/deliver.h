/* SPDX-License-Identifier: ISC */
/*
 * deliver — sends events to the configured sinks through a durable outbox.
 *
 * Each sink has its own FIFO, persisted under STATE_DIR/outbox/<sink>/ (the
 * name escaped by outbox_dir_name) as one record per event (lib/outbox.h).
 * A record is written crash-safely (fsync, rename, directory fsync) before
 * the first attempt, rewritten after each failed one, and removed only
 * after a 2xx, a permanent failure or max_age, both journaled. At start
 * every sink's records are loaded in order; the queues of sinks that are no
 * longer configured are journaled and removed.
 *
 * At most one request per sink is in flight, so a sink sees events in
 * order, and a slow or dead sink never delays another or the polling.
 * min_interval spaces a sink's requests (queued, never dropped). The
 * delivery id (webhook-id) is fixed in the record and reused on every
 * retry. A disk that cannot take a record (full, read-only) is journaled
 * and the event is still delivered from memory.
 *
 * Alertmanager sinks also re-post every firing alert each resend_interval
 * (not persisted: the next re-post supersedes a lost one), with endsAt
 * 4 x resend_interval ahead, so the alert stays active while kmswatchd runs
 * and expires by itself if it stops.
 */
#ifndef KMSWATCH_DELIVER_H
#define KMSWATCH_DELIVER_H

#include <stddef.h>

#include "alerts.h"

struct daemon;
struct config;
struct deliverer;

int deliver_new(struct daemon *d, struct deliverer **out);
/* Stops sending; queued records stay on disk for the next start. */
void deliver_free(struct deliverer *dl);
/* Adopt the sinks of a (new) config. The first call loads the outbox
 * (after the alert state, which recovery compares against). Sinks kept by
 * name keep their queue; a removed sink's queue is journaled and deleted. */
int deliver_configure(struct deliverer *dl, const struct config *cfg);
/* The queue directories that exist (the outbox and each sink's) are ours
 * alone (util_check_private_dir); at start, before READY. 0, or -EPERM
 * with the reason in why, or -errno. */
int deliver_check_dirs(const struct deliverer *dl, char *why, size_t whylen);
/* Queue an event for every sink its routing selects: firing, repeat and
 * info by min_severity (noting the sink with alerts_note_sink), resolved
 * to the sinks recorded in ev->sinks. Held events are not sent. */
void deliver_event(struct deliverer *dl, const struct alert_event *ev);
/* Events waiting or in flight, all sinks (Alertmanager re-posts aside). */
size_t deliver_pending(const struct deliverer *dl);
/* Its samples for a scrape: each sink's outbox and deliveries. */
struct metrics;
void deliver_metrics(const struct deliverer *dl, struct metrics *w);
/* Some queued event is in memory only: the disk refused its record. */
bool deliver_disk_refused(const struct deliverer *dl);

#endif
