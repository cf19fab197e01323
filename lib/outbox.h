/* SPDX-License-Identifier: ISC */
/*
 * outbox — the durable delivery queue's pure parts: the on-disk record of
 * one queued delivery, its file and directory names, and the retry
 * decision after an attempt. No I/O and no clock: daemon/deliver.c does
 * the writing, reading and timing.
 *
 * A record is one JSON document per (sink, event), written before the first
 * attempt and replaced after each failed one:
 *
 *   {"version":1,"sink":"ops-slack","seq":42,"id":"msg_<32 hex>",
 *    "host":"monitor-1","enqueued_at":1795000000,"attempts":2,
 *    "next_attempt_ms":1795000012345,
 *    "event":{"kind":"firing","alert_id":"<32 hex>","check":"ear.valid",
 *             "severity":"critical","previous_severity":"ok",
 *             "provider":"azure","project_id":"…","project_name":"…",
 *             "subject":"azure","summary":"…","started_at":1795000000,
 *             "observed_at":1795000000,"days_left":5,"age_days":80,
 *             "missing":"…","org_id":"…"}}   (org_id: kmswatch's own
 *             credential only, alert_event_is_self)
 *
 * It holds the event, never the payload: every sink renders at send time
 * from the event alone (render_for_sink is deterministic), so a retry is
 * byte-identical and the secrets some payloads carry (PagerDuty's routing
 * key) never reach the disk. Nor does any sink URL. Times are Unix seconds
 * except next_attempt_ms (Unix milliseconds).
 *
 * Files are named by a per-sink sequence number, zero-padded so that name
 * order is enqueue order: 0000000000000042.json.
 */
#ifndef KMSWATCH_OUTBOX_H
#define KMSWATCH_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "alerts.h"

#define OUTBOX_VERSION 1
#define OUTBOX_ID_LEN 36               /* "msg_" + 32 lower-case hex */
#define OUTBOX_NAME_LEN 21             /* 16 digits + ".json" */
#define OUTBOX_MAX_RECORD (256 * 1024) /* a larger file is damaged by definition */
#define OUTBOX_DIR_MAX 200             /* longest directory name outbox_dir_name makes */

/* Retry schedule: 1 s doubling to 15 min, with jitter (backoff.h). */
#define OUTBOX_RETRY_BASE_MS 1000
#define OUTBOX_RETRY_MAX_MS (15 * 60 * 1000)

struct outbox_record {
	char *sink;
	uint64_t seq;               /* >= 1, also the file name */
	char id[OUTBOX_ID_LEN + 1]; /* webhook-id, fixed at enqueue */
	char *host;                 /* the host that queued it (rendered in payloads) */
	int64_t enqueued_at;        /* Unix seconds */
	unsigned attempts;          /* attempts made so far */
	int64_t next_attempt_ms;    /* Unix ms; due when <= now */
	/* the event; held, note and sinks are never stored (held events are
	 * not queued, and routing happened before) */
	struct alert_event ev;
};

/* Frees what the record owns (its strings and the event's) and zeroes it. */
void outbox_record_clear(struct outbox_record *r);

/* Deep copy of the fields of src that rendering needs into dst (zeroed
 * first): not held, note or sinks. Returns 0 or -ENOMEM (dst left empty). */
int outbox_event_copy(struct alert_event *dst, const struct alert_event *src);
/* Frees the strings outbox_event_copy made and zeroes ev. */
void outbox_event_clear(struct alert_event *ev);

/* "msg_" + the 16 random bytes in hex. */
void outbox_make_id(const unsigned char rnd[16], char out[OUTBOX_ID_LEN + 1]);
bool outbox_id_valid(const char *s);

/* Compact JSON with a fixed key order. Returns 0, -EINVAL (a record that
 * decode would refuse: no sink, seq 0, bad id, no host) or -ENOMEM. */
int outbox_encode(const struct outbox_record *r, char **json, size_t *len);
/* Strict: any missing, extra, mistyped or out-of-range field, another
 * version, or bytes after the document make it -EBADMSG with a short
 * reason in err (which never quotes the record's text). -ENOMEM otherwise
 * possible. *out is zeroed first and left empty on error. */
int outbox_decode(const char *json, size_t len, struct outbox_record *out, char *err,
		  size_t errlen);

/* The file of record `seq`: 16 decimal digits + ".json". */
void outbox_file_name(uint64_t seq, char out[OUTBOX_NAME_LEN + 1]);
/* seq of a record file name, or -EINVAL for any other name (temporary
 * files, *.bad, anything else). */
int outbox_parse_file_name(const char *name, uint64_t *seq);

/* The directory of a sink's queue: the name with every byte outside
 * [A-Za-z0-9_-] written as %XX (upper-case hex), so any sink name maps to
 * one safe, distinct file name ("." and ".." included). Returns 0,
 * -EINVAL (empty name) or -ENAMETOOLONG (more than OUTBOX_DIR_MAX). */
int outbox_dir_name(const char *sink, char *out, size_t outlen);
/* The inverse; only the exact form outbox_dir_name makes is accepted
 * (anything else: -EINVAL). *sink must be freed. -ENOMEM possible. */
int outbox_sink_from_dir(const char *dir, char **sink);

/* What the answer to one attempt means for the record. */
enum outbox_verdict {
	OUTBOX_DONE,      /* 2xx: delivered, remove the record */
	OUTBOX_RETRY,     /* 408, 429, 5xx, 3xx, network: again after *delay_ms */
	OUTBOX_PERMANENT, /* any other 4xx (410 included): remove, journal */
	OUTBOX_EXPIRED,   /* still failing at max_age: remove, journal */
};
const char *outbox_verdict_name(enum outbox_verdict v);

struct outbox_attempt {
	bool transport_error;  /* no HTTP answer (connect, TLS, timeout, reset) */
	long status;           /* HTTP status when there was an answer */
	int64_t retry_after_s; /* Retry-After in seconds, -1 when absent */
};

/* r->attempts counts the attempt just made (>= 1). The retry delay is
 * backoff_next_ms(attempts - 1, Retry-After, OUTBOX_RETRY_*, random),
 * shortened so that the last attempt falls at enqueued_at + max_age_s;
 * when a Retry-After cannot be honoured before then, or the record is
 * already that old, the verdict is OUTBOX_EXPIRED. */
enum outbox_verdict outbox_decide(const struct outbox_record *r, const struct outbox_attempt *a,
				  int64_t now_ms, int64_t max_age_s, uint32_t random,
				  int64_t *delay_ms);

/*
 * Recovery after a crash. A record is written before the engine state
 * (alerts.json) that produced its event; a crash between the two leaves a
 * record whose news the engine has not taken in, and the engine announces
 * it again after the restart, under a new delivery id. The daemon compares
 * each recovered record with the restored alert (NULL: none) and, when the
 * engine is behind, swallows that second announcement for the sink
 * (outbox_same_news), so receivers see a duplicate only with the same id.
 */
bool outbox_engine_has(const struct alert *a, const struct alert_event *ev);
/* Whether b is the same news as a for a receiver that already got a: the
 * same alert, kind and severity (and for info events, the same summary:
 * each change is its own news). */
bool outbox_same_news(const struct alert_event *a, const struct alert_event *b);

#endif
