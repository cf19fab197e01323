/*
 * deliver — sends events to the configured sinks. Each sink has its own
 * FIFO and at most one request in flight, so events arrive in order and a
 * slow or dead sink never delays another sink or the polling. Retries back
 * off with jitter and honour Retry-After; 2xx is success, 408/429/5xx and
 * network errors are retried, other 4xx are permanent and journaled. The
 * delivery id (webhook-id) is fixed when the event is queued and reused on
 * every retry so receivers can drop duplicates.
 *
 * The queue lives in memory: events still queued when the daemon stops are
 * journaled as undelivered (the journal always has every event).
 */
#ifndef KMSWATCH_DELIVER_H
#define KMSWATCH_DELIVER_H

#include "alerts.h"

struct daemon;
struct config;
struct deliverer;

int deliver_new(struct daemon *d, struct deliverer **out);
void deliver_free(struct deliverer *dl);
/* Adopt the sinks of a (new) config. Sinks kept by name keep their queue;
 * a removed sink's queue is dropped and journaled. */
int deliver_configure(struct deliverer *dl, const struct config *cfg);
/* Queue an event for every sink whose routing accepts it. */
void deliver_event(struct deliverer *dl, const struct alert_event *ev);
/* Events waiting or in flight, all sinks. */
size_t deliver_pending(const struct deliverer *dl);

#endif
