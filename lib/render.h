/*
 * render — what an event looks like outside the daemon: the generic webhook
 * JSON of INTERFACE.md and its Standard Webhooks signature, plus the
 * one-line text used on stderr and in chat. Pure: no I/O, no clock.
 */
#ifndef KMSWATCH_RENDER_H
#define KMSWATCH_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "alerts.h"

/* The INTERFACE.md webhook document. *out is a new NUL-terminated string. */
int render_webhook(const struct alert_event *ev, const char *host, char **out, size_t *len);

/* Standard Webhooks: "v1," + base64(HMAC-SHA256(key, "id.timestamp.body")).
 * A secret of the form "whsec_<base64>" uses the decoded bytes as the key
 * (as the specification's libraries do); any other string is used as is.
 * out must hold RENDER_SIGNATURE_LEN bytes. Returns 0 or -EINVAL. */
#define RENDER_SIGNATURE_LEN 64
int render_signature(const char *secret, const char *msg_id, int64_t timestamp,
		     const char *body, size_t len, char *out);

/* "FIRING critical ear.valid payments-prod (azure): summary" */
int render_line(const struct alert_event *ev, char **out);

#endif
