/* SPDX-License-Identifier: ISC */
/*
 * outbox — see outbox.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "backoff.h"
#include "kms.h"
#include "outbox.h"
#include "util.h"

/* Bounds that no real record comes near; beyond them it is damaged. */
#define MAX_ATTEMPTS 10000000u
#define MAX_TIME_S ((int64_t)1 << 40)

void
outbox_event_clear(struct alert_event *ev)
{
	free(ev->project_id);
	free(ev->project_name);
	free(ev->subject);
	free(ev->summary);
	free(ev->missing);
	free(ev->org_id);
	memset(ev, 0, sizeof(*ev));
}

void
outbox_record_clear(struct outbox_record *r)
{
	free(r->sink);
	free(r->host);
	outbox_event_clear(&r->ev);
	memset(r, 0, sizeof(*r));
}

static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

int
outbox_event_copy(struct alert_event *dst, const struct alert_event *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->kind = src->kind;
	memcpy(dst->alert_id, src->alert_id, sizeof(dst->alert_id));
	dst->check = src->check;
	dst->provider = src->provider;
	dst->severity = src->severity;
	dst->previous_severity = src->previous_severity;
	dst->started_at = src->started_at;
	dst->observed_at = src->observed_at;
	dst->has_days_left = src->has_days_left;
	dst->has_age_days = src->has_age_days;
	dst->days_left = src->days_left;
	dst->age_days = src->age_days;
	/* strings the renderers read as "" when NULL are stored as "" */
	if (dup_opt(&dst->project_id, src->project_id ? src->project_id : "") < 0 ||
	    dup_opt(&dst->project_name, src->project_name ? src->project_name : "") < 0 ||
	    dup_opt(&dst->subject, src->subject ? src->subject : "") < 0 ||
	    dup_opt(&dst->summary, src->summary ? src->summary : "") < 0 ||
	    dup_opt(&dst->missing, src->missing) < 0 || dup_opt(&dst->org_id, src->org_id) < 0) {
		outbox_event_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

void
outbox_make_id(const unsigned char rnd[16], char out[OUTBOX_ID_LEN + 1])
{
	memcpy(out, "msg_", 4);
	util_hex(rnd, 16, out + 4);
}

static bool
lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

bool
outbox_id_valid(const char *s)
{
	return s != NULL && strncmp(s, "msg_", 4) == 0 && lower_hex(s + 4, 32);
}

/* ---- encoding -------------------------------------------------------- */

static const char *const kind_names[] = {
	[EV_FIRING] = "firing",
	[EV_REPEAT] = "repeat",
	[EV_RESOLVED] = "resolved",
	[EV_INFO] = "info",
};

static int
kind_from_name(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

/* Sets key to a new value; a NULL value (allocation failed) poisons the
 * object, which the caller checks once at the end. */
static void
put(json_t *o, const char *key, json_t *v, bool *oom)
{
	if (v == NULL || json_object_set_new(o, key, v) < 0)
		*oom = true;
}

static json_t *
event_to_json(const struct alert_event *ev, bool *oom)
{
	json_t *o = json_object();
	const char *prov = provider_name(ev->provider);

	if (o == NULL) {
		*oom = true;
		return NULL;
	}
	put(o, "kind", json_string(kind_names[ev->kind]), oom);
	put(o, "alert_id", json_string(ev->alert_id), oom);
	put(o, "check", json_string(check_name(ev->check)), oom);
	put(o, "severity", json_string(severity_name(ev->severity)), oom);
	put(o, "previous_severity", json_string(severity_name(ev->previous_severity)), oom);
	put(o, "provider", json_string(*prov ? prov : "none"), oom);
	put(o, "project_id", json_string(ev->project_id ? ev->project_id : ""), oom);
	put(o, "project_name", json_string(ev->project_name ? ev->project_name : ""), oom);
	put(o, "subject", json_string(ev->subject ? ev->subject : ""), oom);
	put(o, "summary", json_string(ev->summary ? ev->summary : ""), oom);
	put(o, "started_at", json_integer((json_int_t)ev->started_at), oom);
	put(o, "observed_at", json_integer((json_int_t)ev->observed_at), oom);
	if (ev->has_days_left)
		put(o, "days_left", json_integer((json_int_t)ev->days_left), oom);
	if (ev->has_age_days)
		put(o, "age_days", json_integer((json_int_t)ev->age_days), oom);
	if (ev->missing)
		put(o, "missing", json_string(ev->missing), oom);
	if (ev->org_id) /* kmswatch's own credential (alert_event_is_self) */
		put(o, "org_id", json_string(ev->org_id), oom);
	return o;
}

/* What decode insists on, checked before writing so that the daemon never
 * writes a record it would later call damaged. */
static bool
event_encodable(const struct alert_event *ev)
{
	return (unsigned)ev->kind < ARRAY_SIZE(kind_names) &&
	       lower_hex(ev->alert_id, ALERT_ID_LEN) && (unsigned)ev->check < CHK__COUNT &&
	       (unsigned)ev->severity <= SEV_CRITICAL &&
	       (unsigned)ev->previous_severity <= SEV_CRITICAL &&
	       (ev->provider == PROV_NONE || kms_find(ev->provider) != NULL) && ev->started_at >= 0 &&
	       ev->started_at < MAX_TIME_S && ev->observed_at >= 0 && ev->observed_at < MAX_TIME_S;
}

int
outbox_encode(const struct outbox_record *r, char **json, size_t *len)
{
	json_t *o, *ev;
	bool oom = false;
	char *s;

	if (r == NULL || json == NULL || len == NULL || r->sink == NULL || *r->sink == '\0' ||
	    r->host == NULL || r->seq == 0 || r->seq > (uint64_t)INT64_MAX ||
	    !outbox_id_valid(r->id) || r->attempts > MAX_ATTEMPTS || r->enqueued_at < 0 ||
	    r->enqueued_at >= MAX_TIME_S || r->next_attempt_ms < 0 ||
	    r->next_attempt_ms >= MAX_TIME_S * 1000 || !event_encodable(&r->ev))
		return -EINVAL;
	if ((o = json_object()) == NULL)
		return -ENOMEM;
	put(o, "version", json_integer(OUTBOX_VERSION), &oom);
	put(o, "sink", json_string(r->sink), &oom);
	put(o, "seq", json_integer((json_int_t)r->seq), &oom);
	put(o, "id", json_string(r->id), &oom);
	put(o, "host", json_string(r->host), &oom);
	put(o, "enqueued_at", json_integer((json_int_t)r->enqueued_at), &oom);
	put(o, "attempts", json_integer((json_int_t)r->attempts), &oom);
	put(o, "next_attempt_ms", json_integer((json_int_t)r->next_attempt_ms), &oom);
	ev = event_to_json(&r->ev, &oom);
	put(o, "event", ev, &oom);
	/* json_string() refuses invalid UTF-8 by returning NULL: the strings
	 * come from API answers through sanitizing copies, but a NULL here
	 * must not be mistaken for success */
	if (oom) {
		json_decref(o);
		return -ENOMEM;
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	*json = s;
	*len = strlen(s);
	return 0;
}

/* ---- decoding -------------------------------------------------------- */

static int
bad(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool
no_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int
get_time(json_t *o, const char *key, int64_t max, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	json_int_t n;

	if (!json_is_integer(v))
		return bad(err, errlen, "\"%s\" is missing or not an integer", key);
	n = json_integer_value(v);
	if (n < 0 || n >= max)
		return bad(err, errlen, "\"%s\" is out of range", key);
	*out = (int64_t)n;
	return 0;
}

static int
get_string(json_t *o, const char *key, bool required, char **out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v))
		return bad(err, errlen, "\"%s\" is missing or not a string", key);
	/* embedded NULs would cut the string where the renderers read it */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return bad(err, errlen, "\"%s\" contains a NUL character", key);
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static int
check_keys(json_t *o, const char *const *keys, size_t n, const char *what, char *err,
	   size_t errlen)
{
	const char *k;
	json_t *v;

	json_object_foreach(o, k, v)
	{
		size_t i;

		(void)v;
		for (i = 0; i < n; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (i == n)
			return bad(err, errlen, "unexpected key in %s", what);
	}
	return 0;
}

static int
event_from_json(json_t *o, struct alert_event *ev, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"kind",	   "alert_id",	   "check",	 "severity",	"previous_severity",
		"provider", "project_id", "project_name", "subject",	"summary",
		"started_at", "observed_at", "days_left", "age_days",	"missing",
		"org_id",
	};
	json_t *v;
	const char *s;
	int64_t t;
	int r, n;

	if (!json_is_object(o))
		return bad(err, errlen, "\"event\" is missing or not an object");
	if ((r = check_keys(o, keys, ARRAY_SIZE(keys), "the event", err, errlen)) < 0)
		return r;
	v = json_object_get(o, "kind");
	if (!json_is_string(v) || (n = kind_from_name(json_string_value(v))) < 0)
		return bad(err, errlen, "event kind is missing or unknown");
	ev->kind = (enum event_kind)n;
	v = json_object_get(o, "alert_id");
	s = json_string_value(v);
	if (s == NULL || !lower_hex(s, ALERT_ID_LEN))
		return bad(err, errlen, "event alert_id is missing or malformed");
	memcpy(ev->alert_id, s, ALERT_ID_LEN + 1);
	v = json_object_get(o, "check");
	if (!json_is_string(v) || (n = check_from_name(json_string_value(v))) < 0)
		return bad(err, errlen, "event check is missing or unknown");
	ev->check = (enum check_id)n;
	v = json_object_get(o, "severity");
	if (!json_is_string(v) || (n = severity_from_name(json_string_value(v))) < 0)
		return bad(err, errlen, "event severity is missing or unknown");
	ev->severity = (enum severity)n;
	v = json_object_get(o, "previous_severity");
	if (!json_is_string(v) || (n = severity_from_name(json_string_value(v))) < 0)
		return bad(err, errlen, "event previous_severity is missing or unknown");
	ev->previous_severity = (enum severity)n;
	v = json_object_get(o, "provider");
	/* provider_from_name ignores case; the writer does not */
	if (!json_is_string(v) || (n = provider_from_name(json_string_value(v))) < 0 ||
	    strcmp(json_string_value(v), n == PROV_NONE ? "none" : provider_name(n)) != 0)
		return bad(err, errlen, "event provider is missing or unknown");
	ev->provider = (enum provider)n;
	if ((r = get_string(o, "project_id", true, &ev->project_id, err, errlen)) < 0 ||
	    (r = get_string(o, "project_name", true, &ev->project_name, err, errlen)) < 0 ||
	    (r = get_string(o, "subject", true, &ev->subject, err, errlen)) < 0 ||
	    (r = get_string(o, "summary", true, &ev->summary, err, errlen)) < 0 ||
	    (r = get_string(o, "missing", false, &ev->missing, err, errlen)) < 0 ||
	    (r = get_string(o, "org_id", false, &ev->org_id, err, errlen)) < 0)
		return r;
	if ((r = get_time(o, "started_at", MAX_TIME_S, &t, err, errlen)) < 0)
		return r;
	ev->started_at = (time_t)t;
	if ((r = get_time(o, "observed_at", MAX_TIME_S, &t, err, errlen)) < 0)
		return r;
	ev->observed_at = (time_t)t;
	if ((v = json_object_get(o, "days_left")) != NULL) {
		if (!json_is_integer(v))
			return bad(err, errlen, "event days_left is not an integer");
		ev->has_days_left = true;
		ev->days_left = (int64_t)json_integer_value(v);
	}
	if ((v = json_object_get(o, "age_days")) != NULL) {
		if (!json_is_integer(v))
			return bad(err, errlen, "event age_days is not an integer");
		ev->has_age_days = true;
		ev->age_days = (int64_t)json_integer_value(v);
	}
	return 0;
}

int
outbox_decode(const char *json, size_t len, struct outbox_record *out, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"version",  "sink",	"seq",		   "id",    "host",
		"enqueued_at", "attempts", "next_attempt_ms", "event",
	};
	json_error_t jerr;
	json_t *o, *v;
	int64_t n;
	int r;

	if (err != NULL && errlen > 0)
		*err = '\0';
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (json == NULL)
		return -EINVAL;
	if (len > OUTBOX_MAX_RECORD)
		return bad(err, errlen, "larger than %d bytes", OUTBOX_MAX_RECORD);
	/* the whole buffer is one document: trailing bytes mean a damaged
	 * file, not something to ignore */
	o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return bad(err, errlen, "not JSON (line %d, column %d)", jerr.line, jerr.column);
	r = -EBADMSG;
	if (!json_is_object(o)) {
		bad(err, errlen, "not a JSON object");
		goto fail;
	}
	if ((r = check_keys(o, keys, ARRAY_SIZE(keys), "the record", err, errlen)) < 0)
		goto fail;
	v = json_object_get(o, "version");
	if (!json_is_integer(v) || json_integer_value(v) != OUTBOX_VERSION) {
		r = bad(err, errlen, "not a version %d record", OUTBOX_VERSION);
		goto fail;
	}
	if ((r = get_string(o, "sink", true, &out->sink, err, errlen)) < 0)
		goto fail;
	if (*out->sink == '\0' || !no_control(out->sink)) {
		r = bad(err, errlen, "\"sink\" is empty or has control characters");
		goto fail;
	}
	if ((r = get_time(o, "seq", INT64_MAX, &n, err, errlen)) < 0)
		goto fail;
	if (n == 0) {
		r = bad(err, errlen, "\"seq\" is out of range");
		goto fail;
	}
	out->seq = (uint64_t)n;
	v = json_object_get(o, "id");
	if (!outbox_id_valid(json_string_value(v))) {
		r = bad(err, errlen, "\"id\" is missing or malformed");
		goto fail;
	}
	memcpy(out->id, json_string_value(v), OUTBOX_ID_LEN + 1);
	if ((r = get_string(o, "host", true, &out->host, err, errlen)) < 0)
		goto fail;
	if ((r = get_time(o, "enqueued_at", MAX_TIME_S, &out->enqueued_at, err, errlen)) < 0 ||
	    (r = get_time(o, "attempts", (int64_t)MAX_ATTEMPTS + 1, &n, err, errlen)) < 0)
		goto fail;
	out->attempts = (unsigned)n;
	if ((r = get_time(o, "next_attempt_ms", MAX_TIME_S * 1000, &out->next_attempt_ms, err,
			  errlen)) < 0)
		goto fail;
	if ((r = event_from_json(json_object_get(o, "event"), &out->ev, err, errlen)) < 0)
		goto fail;
	json_decref(o);
	return 0;
fail:
	json_decref(o);
	outbox_record_clear(out);
	return r;
}

/* ---- names ----------------------------------------------------------- */

void
outbox_file_name(uint64_t seq, char out[OUTBOX_NAME_LEN + 1])
{
	snprintf(out, OUTBOX_NAME_LEN + 1, "%016" PRIu64 ".json", seq % 10000000000000000u);
}

int
outbox_parse_file_name(const char *name, uint64_t *seq)
{
	uint64_t n = 0;

	if (name == NULL || strlen(name) != OUTBOX_NAME_LEN || strcmp(name + 16, ".json") != 0)
		return -EINVAL;
	for (int i = 0; i < 16; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
		n = n * 10 + (uint64_t)(name[i] - '0');
	}
	if (n == 0)
		return -EINVAL;
	*seq = n;
	return 0;
}

static bool
dir_safe(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

int
outbox_dir_name(const char *sink, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (sink == NULL || *sink == '\0' || out == NULL)
		return -EINVAL;
	for (const unsigned char *p = (const unsigned char *)sink; *p; p++) {
		size_t need = dir_safe(*p) ? 1 : 3;

		if (o + need > OUTBOX_DIR_MAX || o + need >= outlen)
			return -ENAMETOOLONG;
		if (need == 1) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		}
	}
	out[o] = '\0';
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
outbox_sink_from_dir(const char *dir, char **sink)
{
	size_t n, o = 0;
	char *s;

	if (dir == NULL || sink == NULL || *dir == '\0' || (n = strlen(dir)) > OUTBOX_DIR_MAX)
		return -EINVAL;
	if ((s = malloc(n + 1)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (dir_safe((unsigned char)dir[i])) {
			s[o++] = dir[i];
			continue;
		}
		/* only the canonical escape of a byte that needs one: every
		 * name has exactly one directory */
		if (dir[i] != '%' || i + 2 >= n || (hi = hexval(dir[i + 1])) < 0 ||
		    (lo = hexval(dir[i + 2])) < 0 || (hi == 0 && lo == 0) ||
		    dir_safe((unsigned char)(hi << 4 | lo))) {
			free(s);
			return -EINVAL;
		}
		s[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	s[o] = '\0';
	*sink = s;
	return 0;
}

/* ---- retry decision -------------------------------------------------- */

const char *
outbox_verdict_name(enum outbox_verdict v)
{
	switch (v) {
	case OUTBOX_DONE:
		return "delivered";
	case OUTBOX_RETRY:
		return "retry";
	case OUTBOX_PERMANENT:
		return "permanent failure";
	case OUTBOX_EXPIRED:
		return "expired";
	}
	return "?";
}

enum outbox_verdict
outbox_decide(const struct outbox_record *r, const struct outbox_attempt *a, int64_t now_ms,
	      int64_t max_age_s, uint32_t random, int64_t *delay_ms)
{
	int64_t deadline_ms, delay;
	bool transient;

	*delay_ms = 0;
	if (!a->transport_error && a->status >= 200 && a->status < 300)
		return OUTBOX_DONE;
	/* 3xx: webhooks are not followed across redirects (a redirect could
	 * carry the payload somewhere unexpected), and a moved endpoint may
	 * well be fixed by its owner, so it is retried like a 5xx; so is an
	 * answer without a usable status */
	transient = a->transport_error || a->status == 408 || a->status == 429 ||
		    a->status < 200 || (a->status >= 300 && a->status < 400) || a->status >= 500;
	if (!transient)
		return OUTBOX_PERMANENT;
	deadline_ms = r->enqueued_at > INT64_MAX / 1000 - max_age_s
			      ? INT64_MAX
			      : (r->enqueued_at + max_age_s) * 1000;
	if (now_ms >= deadline_ms)
		return OUTBOX_EXPIRED;
	delay = backoff_next_ms(r->attempts ? r->attempts - 1 : 0, a->retry_after_s,
				OUTBOX_RETRY_BASE_MS, OUTBOX_RETRY_MAX_MS, random);
	if (delay > deadline_ms - now_ms) {
		/* a server's Retry-After is a promise to refuse until then:
		 * trying earlier only to meet our own deadline is pointless */
		if (a->retry_after_s >= 0)
			return OUTBOX_EXPIRED;
		delay = deadline_ms - now_ms;
	}
	*delay_ms = delay;
	return OUTBOX_RETRY;
}

/* ---- recovery -------------------------------------------------------- */

bool
outbox_engine_has(const struct alert *a, const struct alert_event *ev)
{
	switch (ev->kind) {
	case EV_FIRING:
	case EV_REPEAT:
		/* the announcement set last_notified to the event's time */
		return a != NULL && a->announced && a->severity == ev->severity &&
		       a->last_notified >= ev->observed_at;
	case EV_RESOLVED:
		/* a resolved alert leaves the table; one that started again
		 * since is another alert instance */
		return a == NULL || !a->announced || a->started_at != ev->started_at;
	case EV_INFO:
		/* info events leave no alert behind, and what produced them
		 * (the poller's memory) is saved with the same delay:
		 * assume the engine is behind, same_news tells the rest */
		return false;
	}
	return true;
}

bool
outbox_same_news(const struct alert_event *a, const struct alert_event *b)
{
	if (strcmp(a->alert_id, b->alert_id) != 0 || a->kind != b->kind ||
	    a->severity != b->severity)
		return false;
	return a->kind != EV_INFO || util_streq(a->summary, b->summary);
}
