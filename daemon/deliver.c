/* SPDX-License-Identifier: ISC */
/*
 * deliver — see deliver.h.
 *
 * Crash safety, in short: a record is durable (file fsync, rename,
 * directory fsync) before the first byte of its request leaves, and is
 * removed only once the answer says it is done, so every event a receiver
 * might have seen is on disk until it is known to be delivered. A crash
 * after a 2xx and before the unlink resends it under the same webhook-id,
 * which receivers drop. A crash in the middle of a write leaves the
 * previous version of the record (rename is atomic) and a stray temporary
 * file, removed at the next start. What recovery adds for the engine state
 * is explained at outbox_engine_has.
 */
#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "outbox.h"
#include "render.h"
#include "store.h"
#include "util.h"

#define OUTBOX_SUBDIR "outbox"
#define PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"
#define AM_PATH "/api/v2/alerts"
/* A firing Alertmanager alert ends this many re-post intervals ahead:
 * a few lost re-posts do not resolve it, a dead kmswatchd does. */
#define AM_ENDS_AFTER 4
#define MAX_SINK_RESPONSE (64 * 1024)
/* While the disk refuses records, try again this often, so that the queue
 * is durable again soon after space is freed. */
#define DISK_RETRY_MS 5000

struct item {
	struct item *next;
	/* a re-post of every firing alert to an Alertmanager: rendered from
	 * the engine when its turn comes, never persisted, never retried */
	bool snapshot;
	bool on_disk; /* a file holds this record (perhaps an older version) */
	struct outbox_record rec;
	char what[192]; /* "firing critical ear.valid payments-prod", for logs */
};

/* An event recovered from disk that the restored engine has not taken
 * in: the engine will announce it again, and that is swallowed. */
struct expect {
	struct expect *next;
	struct alert_event ev;
	char id[OUTBOX_ID_LEN + 1];
	int64_t until_ms; /* monotonic */
};

struct sink {
	struct sink *next;
	struct deliverer *dl;
	char *name;
	char *dir;      /* STATE_DIR/outbox/<escaped name>, NULL if unusable */
	enum sink_type type;
	char *post_url; /* where to POST; may carry a token (Slack): never logged */
	char *secret, *routing_key, *ca_file;
	enum severity min_severity;
	int64_t min_interval_ms, max_age, resend_interval;

	struct item *head, *tail;
	size_t queued; /* records, snapshots aside */
	uint64_t next_seq;
	struct http_transfer *inflight;
	uv_timer_t wait;   /* retry, rate limit, record not yet due */
	uv_timer_t resend; /* Alertmanager re-posts */
	bool waiting;
	int64_t last_post_ms; /* monotonic, last request's answer; 0: never */
	bool dir_ok;
	bool write_failing; /* journaled once per streak */
	struct expect *expects;
	int open_handles;
	/* for the metrics, since the sink was configured */
	uint64_t n_delivered, n_retried, n_given_up;
};

struct deliverer {
	struct daemon *d;
	struct sink *sinks;
	char *outbox; /* STATE_DIR/outbox */
	bool loaded;
	uv_timer_t disk_retry; /* runs while some record is in memory only */
};

static void sink_kick(struct sink *s);
static bool flush_unwritten(struct sink *s);

/* ---- helpers --------------------------------------------------------- */

static void
new_msg_id(char out[OUTBOX_ID_LEN + 1])
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		/* getrandom on Linux >= 3.17 does not fail for 16 bytes; keep
		 * a unique fallback anyway */
		static unsigned long long seq;
		int64_t now = util_now_mono_ms();

		memcpy(rnd, &now, sizeof(now));
		seq++;
		memcpy(rnd + 8, &seq, sizeof(seq));
	}
	outbox_make_id(rnd, out);
}

static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
describe(const struct alert_event *ev, char *buf, size_t len)
{
	if (ev->kind == EV_RESOLVED)
		snprintf(buf, len, "resolved %s %s (was %s)", check_name(ev->check),
			 ev->project_name ? ev->project_name : "",
			 severity_name(ev->previous_severity));
	else
		snprintf(buf, len, "%s %s %s %s", event_kind_name(ev->kind),
			 severity_name(ev->severity), check_name(ev->check),
			 ev->project_name ? ev->project_name : "");
}

static int
ensure_dir(const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void
item_free(struct item *it)
{
	outbox_record_clear(&it->rec);
	free(it);
}

/* ---- records on disk ------------------------------------------------- */

static void on_disk_retry(uv_timer_t *t);

static void
note_write_failure(struct sink *s, const char *what, int r)
{
	if (!uv_is_active((uv_handle_t *)&s->dl->disk_retry))
		uv_timer_start(&s->dl->disk_retry, on_disk_retry, DISK_RETRY_MS, DISK_RETRY_MS);
	if (s->write_failing)
		return;
	s->write_failing = true;
	log_msg(LOG_ERR, MSGID_STATE_WRITE_FAILED,
		"sink %s: cannot write the queued %s to %s: %s; it is kept in memory and "
		"still delivered, but would not survive a restart until the disk takes it",
		s->name, what, s->dir ? s->dir : "the state directory", strerror(-r));
}

/* Writes (or replaces) the record's file. */
static int
item_write(struct sink *s, struct item *it)
{
	char name[OUTBOX_NAME_LEN + 1], *json = NULL;
	size_t len = 0;
	int r;

	if (s->dir == NULL)
		return -ENAMETOOLONG;
	if (!s->dir_ok) {
		/* the outbox itself may be what the full disk refused */
		if ((r = ensure_dir(s->dl->outbox)) < 0 || (r = ensure_dir(s->dir)) < 0) {
			note_write_failure(s, it->what, r);
			return r;
		}
		s->dir_ok = true;
	}
	if ((r = outbox_encode(&it->rec, &json, &len)) == 0) {
		outbox_file_name(it->rec.seq, name);
		r = util_write_file_atomic(s->dir, name, json, len, 0600);
	}
	free(json);
	if (r < 0) {
		note_write_failure(s, it->what, r);
		return r;
	}
	it->on_disk = true;
	if (s->write_failing) {
		s->write_failing = false;
		log_notice("sink %s: queued events are written to %s again", s->name, s->dir);
		flush_unwritten(s);
	}
	return 0;
}

/* Writes the records that only live in memory, oldest first; false if
 * the disk still refuses. */
static bool
flush_unwritten(struct sink *s)
{
	for (struct item *it = s->head; it; it = it->next)
		if (!it->snapshot && !it->on_disk && item_write(s, it) < 0)
			return false;
	return true;
}

static void
on_disk_retry(uv_timer_t *t)
{
	struct deliverer *dl = t->data;
	bool done = true;

	for (struct sink *s = dl->sinks; s; s = s->next)
		done = flush_unwritten(s) && done;
	if (done)
		uv_timer_stop(t);
}

/* A lost unlink (crash before the directory reaches the disk) only means
 * one resend under the same webhook-id: no directory fsync here. */
static void
item_unlink(struct sink *s, struct item *it)
{
	char name[OUTBOX_NAME_LEN + 1], *path;

	if (!it->on_disk || s->dir == NULL)
		return;
	outbox_file_name(it->rec.seq, name);
	path = util_asprintf("%s/%s", s->dir, name);
	if (path && unlink(path) < 0 && errno != ENOENT)
		log_err("sink %s: cannot remove %s: %s; it may be sent again after a restart",
			s->name, path, strerror(errno));
	free(path);
	it->on_disk = false;
}

/* ---- the queue ------------------------------------------------------- */

static void
append(struct sink *s, struct item *it)
{
	it->next = NULL;
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	if (!it->snapshot)
		s->queued++;
}

/* Drops the head; its file goes too (delivered or given up). */
static void
pop_head(struct sink *s)
{
	struct item *it = s->head;

	s->head = it->next;
	if (!s->head)
		s->tail = NULL;
	if (!it->snapshot) {
		s->queued--;
		item_unlink(s, it);
	}
	item_free(it);
}

static void
on_wait_timer(uv_timer_t *t)
{
	struct sink *s = t->data;

	s->waiting = false;
	sink_kick(s);
}

static void
wait_for(struct sink *s, int64_t ms)
{
	s->waiting = true;
	uv_timer_start(&s->wait, on_wait_timer, (uint64_t)(ms > 0 ? ms : 0), 0);
}

/* ---- recovery -------------------------------------------------------- */

static void
expect_free(struct expect *e)
{
	outbox_event_clear(&e->ev);
	free(e);
}

/* The latest recovered record of each alert is what its receivers last
 * got (or will get); only that one can be announced again. */
static void
expect_record(struct sink *s, const struct outbox_record *rec, int64_t until_ms)
{
	struct expect *e;

	for (e = s->expects; e; e = e->next)
		if (strcmp(e->ev.alert_id, rec->ev.alert_id) == 0)
			break;
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return; /* at worst one duplicate under a new id */
		e->next = s->expects;
		s->expects = e;
	} else {
		outbox_event_clear(&e->ev);
	}
	if (outbox_event_copy(&e->ev, &rec->ev) < 0)
		memcpy(e->ev.alert_id, rec->ev.alert_id, sizeof(e->ev.alert_id));
	memcpy(e->id, rec->id, sizeof(e->id));
	e->until_ms = until_ms;
}

/* Keep only the expectations the restored engine state does not meet. */
static void
expect_prune(struct sink *s)
{
	const struct alert_engine *eng = s->dl->d->alerts;

	for (struct expect **p = &s->expects; *p;) {
		struct expect *e = *p;

		if (e->ev.project_id == NULL ||
		    outbox_engine_has(alerts_find(eng, e->ev.alert_id), &e->ev)) {
			*p = e->next;
			expect_free(e);
		} else {
			p = &e->next;
		}
	}
}

/* Whether ev repeats a recovered record to s; any event of the same
 * alert ends the expectation, matching or not. */
static const char *
expect_take(struct sink *s, const struct alert_event *ev, char id[OUTBOX_ID_LEN + 1])
{
	int64_t now = util_now_mono_ms();

	for (struct expect **p = &s->expects; *p;) {
		struct expect *e = *p;
		bool same;

		if (now > e->until_ms) {
			*p = e->next;
			expect_free(e);
			continue;
		}
		if (strcmp(e->ev.alert_id, ev->alert_id) != 0) {
			p = &e->next;
			continue;
		}
		same = outbox_same_news(&e->ev, ev);
		memcpy(id, e->id, OUTBOX_ID_LEN + 1);
		*p = e->next;
		expect_free(e);
		return same ? id : NULL;
	}
	return NULL;
}

/* How long after a start the engine may take to announce again what it
 * announced just before a crash: its first observations of every
 * project, confirmed. */
static int64_t
expect_window_ms(const struct config *cfg)
{
	int64_t every = cfg_longest_round(cfg);

	return (int64_t)(cfg->alerts.confirm_firing + cfg->alerts.confirm_resolved + 2) * every *
		       1000 +
	       60000;
}

static void
move_aside(struct sink *s, const char *name, const char *why)
{
	char *from = util_asprintf("%s/%s", s->dir, name);
	char *to = util_asprintf("%s/%s.bad", s->dir, name);

	if (from && to && rename(from, to) < 0)
		/* still refused at every start, which journals it again */
		log_err("sink %s: cannot move %s aside: %s", s->name, from, strerror(errno));
	log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
		"sink %s: queued record %s/%s is damaged (%s) and was moved aside as %s.bad; "
		"its event cannot be delivered (the journal has it)",
		s->name, s->dir, name, why, name);
	free(from);
	free(to);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Record sequence numbers in s->dir, sorted; leftover temporary files of
 * an interrupted write are removed on the way. */
static int
list_records(struct sink *s, uint64_t **out, size_t *n)
{
	DIR *dir = opendir(s->dir);
	uint64_t *v = NULL, seq;
	size_t cap = 0;
	struct dirent *de;

	*out = NULL;
	*n = 0;
	if (!dir)
		return -errno;
	while ((de = readdir(dir)) != NULL) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' && l > 4 && strcmp(de->d_name + l - 4, ".tmp") == 0) {
			unlinkat(dirfd(dir), de->d_name, 0);
			continue;
		}
		if (outbox_parse_file_name(de->d_name, &seq) < 0)
			continue; /* *.bad and anything else stay for a human */
		if (*n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(dir);
				return -ENOMEM;
			}
			v = nv;
		}
		v[(*n)++] = seq;
	}
	closedir(dir);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
}

static void
sink_load(struct sink *s, bool recovering)
{
	const struct config *cfg = s->dl->d->cfg;
	int64_t until = util_now_mono_ms() + expect_window_ms(cfg);
	size_t n = 0, loaded = 0;
	uint64_t *seqs;
	int r;

	if ((r = list_records(s, &seqs, &n)) < 0) {
		if (r != -ENOENT)
			log_err("sink %s: cannot read its queue in %s: %s", s->name, s->dir,
				strerror(-r));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char name[OUTBOX_NAME_LEN + 1], why[128], *path, *json = NULL;
		struct item *it = calloc(1, sizeof(*it));
		size_t len = 0;

		outbox_file_name(seqs[i], name);
		path = util_asprintf("%s/%s", s->dir, name);
		if (!it || !path) {
			free(it);
			free(path);
			log_err("sink %s: out of memory loading its queue", s->name);
			break;
		}
		r = util_read_file(path, OUTBOX_MAX_RECORD, UTIL_READ_NOFOLLOW, &json, &len);
		free(path);
		if (r == -ENOENT) {
			free(it);
			continue;
		}
		if (r < 0)
			snprintf(why, sizeof(why), "%s", util_file_error(r));
		else if ((r = outbox_decode(json, len, &it->rec, why, sizeof(why))) == -ENOMEM)
			snprintf(why, sizeof(why), "out of memory");
		else if (r == 0 && (strcmp(it->rec.sink, s->name) != 0 || it->rec.seq != seqs[i])) {
			snprintf(why, sizeof(why), "it belongs to another queue or position");
			r = -EBADMSG;
		}
		free(json);
		if (r < 0) {
			outbox_record_clear(&it->rec);
			free(it);
			if (r == -ENOMEM)
				continue; /* the file is fine: read again at the next start */
			move_aside(s, name, why);
			continue;
		}
		it->on_disk = true;
		describe(&it->rec.ev, it->what, sizeof(it->what));
		append(s, it);
		loaded++;
		if (recovering)
			expect_record(s, &it->rec, until);
	}
	if (n > 0)
		s->next_seq = seqs[n - 1] + 1;
	free(seqs);
	expect_prune(s);
	if (loaded)
		log_notice("sink %s: %zu undelivered event%s recovered from %s", s->name, loaded,
			   loaded == 1 ? "" : "s", s->dir);
}

/* Removes a queue directory and everything in it. */
static size_t
remove_queue(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *de;
	size_t records = 0;
	uint64_t seq;

	if (!dir)
		return 0;
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (outbox_parse_file_name(de->d_name, &seq) == 0)
			records++;
		unlinkat(dirfd(dir), de->d_name, 0);
	}
	closedir(dir);
	if (rmdir(path) < 0 && errno != ENOENT)
		log_err("cannot remove %s: %s", path, strerror(errno));
	return records;
}

/* At start: queues of sinks that are no longer configured. */
static void
remove_stale_queues(struct deliverer *dl)
{
	DIR *dir = opendir(dl->outbox);
	struct dirent *de;

	if (!dir)
		return;
	while ((de = readdir(dir)) != NULL) {
		char *sink = NULL, *path;
		bool known = false;
		struct stat st;
		size_t n;

		/* queues are directories; anything else is not ours to judge */
		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		if (outbox_sink_from_dir(de->d_name, &sink) == 0)
			for (struct sink *s = dl->sinks; s; s = s->next)
				known = known || strcmp(s->name, sink) == 0;
		if (known) {
			free(sink);
			continue;
		}
		path = util_asprintf("%s/%s", dl->outbox, de->d_name);
		n = path ? remove_queue(path) : 0;
		if (n > 0)
			log_msg(LOG_WARNING, MSGID_DELIVERY_FAILED,
				"sink %s is no longer configured: %zu undelivered event%s in its "
				"queue dropped (the journal has them)",
				sink ? sink : de->d_name, n, n == 1 ? "" : "s");
		free(path);
		free(sink);
	}
	closedir(dir);
}

/* ---- sinks ----------------------------------------------------------- */

int
deliver_new(struct daemon *d, struct deliverer **out)
{
	struct deliverer *dl = calloc(1, sizeof(*dl));

	if (!dl)
		return -ENOMEM;
	dl->d = d;
	dl->outbox = util_asprintf("%s/%s", store_dir(d->store), OUTBOX_SUBDIR);
	if (!dl->outbox) {
		free(dl);
		return -ENOMEM;
	}
	uv_timer_init(d->loop, &dl->disk_retry);
	dl->disk_retry.data = dl;
	*out = dl;
	return 0;
}

static void
sink_free_settings(struct sink *s)
{
	util_free_secret(s->post_url);
	util_free_secret(s->secret);
	util_free_secret(s->routing_key);
	free(s->ca_file);
	s->post_url = s->secret = s->routing_key = s->ca_file = NULL;
}

static void
on_sink_handle_closed(uv_handle_t *h)
{
	struct sink *s = h->data;

	if (--s->open_handles > 0)
		return;
	sink_free_settings(s);
	free(s->name);
	free(s->dir);
	free(s);
}

/* Unlinked sinks are freed once their timers are closed. drop: the sink
 * left the configuration, so its queue goes too. */
static void
sink_destroy(struct sink *s, bool drop)
{
	size_t lost = 0;

	if (s->inflight)
		http_cancel(s->inflight);
	s->inflight = NULL;
	for (struct item *it = s->head; it; it = it->next)
		lost += !it->snapshot && !it->on_disk;
	if (drop && s->queued)
		log_msg(LOG_WARNING, MSGID_DELIVERY_FAILED,
			"sink %s was removed from the configuration: %zu undelivered event%s "
			"dropped (the journal has them)",
			s->name, s->queued, s->queued == 1 ? "" : "s");
	else if (lost)
		log_msg(LOG_WARNING, MSGID_DELIVERY_FAILED,
			"sink %s: %zu undelivered event%s could not be written to disk and %s "
			"lost at this stop (the journal has them)",
			s->name, lost, lost == 1 ? "" : "s", lost == 1 ? "is" : "are");
	else if (s->queued)
		log_notice("sink %s: %zu undelivered event%s stay%s queued in %s for the next "
			   "start",
			   s->name, s->queued, s->queued == 1 ? "" : "s", s->queued == 1 ? "s" : "",
			   s->dir);
	while (s->head) {
		struct item *it = s->head;

		s->head = it->next;
		item_free(it);
	}
	while (s->expects) {
		struct expect *e = s->expects;

		s->expects = e->next;
		expect_free(e);
	}
	if (drop && s->dir)
		remove_queue(s->dir);
	uv_timer_stop(&s->wait);
	uv_timer_stop(&s->resend);
	uv_close((uv_handle_t *)&s->wait, on_sink_handle_closed);
	uv_close((uv_handle_t *)&s->resend, on_sink_handle_closed);
}

static void
on_deliverer_closed(uv_handle_t *h)
{
	struct deliverer *dl = h->data;

	free(dl->outbox);
	free(dl);
}

void
deliver_free(struct deliverer *dl)
{
	if (!dl)
		return;
	/* a last chance for records the disk refused until now */
	if (uv_is_active((uv_handle_t *)&dl->disk_retry))
		for (struct sink *s = dl->sinks; s; s = s->next)
			flush_unwritten(s);
	while (dl->sinks) {
		struct sink *s = dl->sinks;

		dl->sinks = s->next;
		sink_destroy(s, false);
	}
	uv_timer_stop(&dl->disk_retry);
	uv_close((uv_handle_t *)&dl->disk_retry, on_deliverer_closed);
}

static struct sink *
find_sink(struct deliverer *dl, const char *name)
{
	for (struct sink *s = dl->sinks; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* The URL each type posts to: PagerDuty has one Events API endpoint unless
 * the config overrides it; Alertmanager's url is the server's base. */
static char *
post_url(const struct cfg_sink *cs)
{
	const char *u = cs->url.value;
	size_t n;

	if (cs->type == SINK_PAGERDUTY && u == NULL)
		return strdup(PAGERDUTY_URL);
	if (u == NULL)
		return NULL;
	if (cs->type != SINK_ALERTMANAGER)
		return strdup(u);
	for (n = strlen(u); n > 0 && u[n - 1] == '/'; n--)
		;
	return util_asprintf("%.*s%s", (int)n, u, AM_PATH);
}

static void on_resend_timer(uv_timer_t *t);

static int
sink_apply(struct sink *s, const struct cfg_sink *cs)
{
	char *url = post_url(cs), *secret = util_strdup(cs->secret.value);
	char *rkey = util_strdup(cs->routing_key.value), *ca = util_strdup(cs->ca_file);

	if (!url || (cs->secret.value && !secret) || (cs->routing_key.value && !rkey) ||
	    (cs->ca_file && !ca)) {
		util_free_secret(url);
		util_free_secret(secret);
		util_free_secret(rkey);
		free(ca);
		return -ENOMEM;
	}
	sink_free_settings(s);
	s->post_url = url;
	s->secret = secret;
	s->routing_key = rkey;
	s->ca_file = ca;
	s->type = cs->type;
	s->min_severity = cs->min_severity;
	s->min_interval_ms = cs->min_interval_ms;
	s->max_age = cs->max_age;
	s->resend_interval = cs->resend_interval > 0 ? cs->resend_interval : 60;
	uv_timer_stop(&s->resend);
	if (s->type == SINK_ALERTMANAGER) {
		uint64_t ms = (uint64_t)s->resend_interval * 1000;

		uv_timer_start(&s->resend, on_resend_timer, ms, ms);
	}
	return 0;
}

static struct sink *
sink_create(struct deliverer *dl, const char *name)
{
	char enc[OUTBOX_DIR_MAX + 1];
	struct sink *s = calloc(1, sizeof(*s));

	if (!s || !(s->name = strdup(name))) {
		free(s);
		return NULL;
	}
	s->dl = dl;
	s->next_seq = 1;
	/* config limits names so that this always fits; without a directory
	 * the sink still delivers, from memory */
	if (outbox_dir_name(name, enc, sizeof(enc)) == 0)
		s->dir = util_asprintf("%s/%s", dl->outbox, enc);
	uv_timer_init(dl->d->loop, &s->wait);
	uv_timer_init(dl->d->loop, &s->resend);
	s->wait.data = s->resend.data = s;
	s->open_handles = 2;
	return s;
}

static int
check_dir(const char *path, char *why, size_t whylen)
{
	int r = util_check_private_dir(path, why, whylen);

	return r == -ENOENT ? 0 : r; /* created 0700 when first needed */
}

int
deliver_check_dirs(const struct deliverer *dl, char *why, size_t whylen)
{
	int r = check_dir(dl->outbox, why, whylen);

	for (const struct sink *s = dl->sinks; r == 0 && s; s = s->next)
		if (s->dir)
			r = check_dir(s->dir, why, whylen);
	return r;
}

int
deliver_configure(struct deliverer *dl, const struct config *cfg)
{
	struct sink *kept = NULL, **tail = &kept;
	bool first = !dl->loaded;
	int r, rc = 0;

	if ((r = ensure_dir(dl->outbox)) < 0)
		log_msg(LOG_ERR, MSGID_STATE_WRITE_FAILED,
			"cannot create the delivery queue directory %s: %s; events are delivered "
			"from memory until it can be created",
			dl->outbox, strerror(-r));
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct cfg_sink *cs = &cfg->sinks[i];
		struct sink *s = find_sink(dl, cs->name);
		bool created = s == NULL;

		if (s) {
			for (struct sink **p = &dl->sinks; *p; p = &(*p)->next)
				if (*p == s) {
					*p = s->next;
					break;
				}
		} else if (!(s = sink_create(dl, cs->name))) {
			rc = -ENOMEM;
			continue;
		}
		if ((r = sink_apply(s, cs)) < 0) {
			rc = r;
			if (created) {
				sink_destroy(s, false);
				continue;
			}
		}
		s->next = NULL;
		*tail = s;
		tail = &s->next;
		if (created && s->dir) {
			s->dir_ok = ensure_dir(s->dir) == 0;
			sink_load(s, first);
		}
	}
	while (dl->sinks) {
		struct sink *s = dl->sinks;

		dl->sinks = s->next;
		sink_destroy(s, true);
	}
	dl->sinks = kept;
	if (first)
		remove_stale_queues(dl);
	dl->loaded = true;
	for (struct sink *s = dl->sinks; s; s = s->next)
		sink_kick(s);
	return rc;
}

size_t
deliver_pending(const struct deliverer *dl)
{
	size_t n = 0;

	for (const struct sink *s = dl->sinks; s; s = s->next)
		n += s->queued;
	return n;
}

void
deliver_metrics(const struct deliverer *dl, struct metrics *w)
{
	for (const struct sink *s = dl->sinks; s; s = s->next) {
		mx_outbox_pending(w, s->name, s->queued);
		mx_deliveries(w, s->name, "delivered", s->n_delivered);
		mx_deliveries(w, s->name, "retried", s->n_retried);
		mx_deliveries(w, s->name, "given_up", s->n_given_up);
	}
}

bool
deliver_disk_refused(const struct deliverer *dl)
{
	for (const struct sink *s = dl->sinks; s; s = s->next)
		if (s->write_failing)
			return true;
	return false;
}

/* ---- routing and queueing -------------------------------------------- */

static bool
routes(const struct sink *s, const struct alert_event *ev)
{
	if (ev->kind == EV_RESOLVED) {
		/* where the firing went, whatever the routing says now */
		for (size_t i = 0; i < ev->n_sinks; i++)
			if (strcmp(ev->sinks[i], s->name) == 0)
				return true;
		return false;
	}
	return ev->severity >= s->min_severity;
}

static void
enqueue(struct sink *s, const struct alert_event *ev)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it || !(it->rec.sink = strdup(s->name)) ||
	    !(it->rec.host = strdup(s->dl->d->host)) || outbox_event_copy(&it->rec.ev, ev) < 0) {
		if (it)
			item_free(it);
		log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
			"sink %s: out of memory queueing an event; the journal has it", s->name);
		return;
	}
	it->rec.seq = s->next_seq++;
	new_msg_id(it->rec.id);
	it->rec.enqueued_at = util_now();
	it->rec.next_attempt_ms = wall_ms();
	describe(ev, it->what, sizeof(it->what));
	/* before the first attempt: from here on a crash cannot lose it */
	item_write(s, it);
	append(s, it);
	sink_kick(s);
}

void
deliver_event(struct deliverer *dl, const struct alert_event *ev)
{
	if (ev->held)
		return;
	for (struct sink *s = dl->sinks; s; s = s->next) {
		char id[OUTBOX_ID_LEN + 1];
		int r;

		if (!routes(s, ev))
			continue;
		if (ev->kind == EV_FIRING || ev->kind == EV_REPEAT) {
			r = alerts_note_sink(dl->d->alerts, ev->alert_id, s->name);
			if (r < 0 && r != -ENOENT)
				log_err("sink %s: cannot remember that it got alert %s: %s; its "
					"resolution may not reach it",
					s->name, ev->alert_id, strerror(-r));
		}
		if (s->expects && expect_take(s, ev, id)) {
			char what[192];

			describe(ev, what, sizeof(what));
			log_info("sink %s: %s was already queued before the restart as %s; not "
				 "sent again",
				 s->name, what, id);
			continue;
		}
		enqueue(s, ev);
	}
}

/* ---- Alertmanager re-posts ------------------------------------------- */

static void
on_resend_timer(uv_timer_t *t)
{
	struct sink *s = t->data;
	struct item *it;

	for (it = s->head; it; it = it->next)
		if (it->snapshot)
			return; /* one is still waiting: it renders the latest state */
	if (!(it = calloc(1, sizeof(*it))))
		return;
	it->snapshot = true;
	snprintf(it->what, sizeof(it->what), "re-post of the firing alerts");
	append(s, it);
	sink_kick(s);
}

static void
event_from_alert(const struct alert *a, time_t now, struct alert_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = EV_FIRING;
	memcpy(ev->alert_id, a->id, sizeof(ev->alert_id));
	ev->project_id = a->project_id;
	ev->project_name = a->project_name;
	ev->subject = a->subject;
	ev->summary = a->summary;
	ev->missing = a->missing;
	ev->org_id = a->org_id;
	ev->check = a->check;
	ev->provider = a->provider;
	ev->severity = a->severity;
	/* not a change: only the current severity's alert is posted */
	ev->previous_severity = a->severity;
	ev->started_at = a->started_at;
	ev->observed_at = now;
	ev->has_days_left = a->has_days_left;
	ev->days_left = a->days_left;
	ev->has_age_days = a->has_age_days;
	ev->age_days = a->age_days;
}

/* One JSON array of every announced, unheld alert this sink takes, each
 * ending AM_ENDS_AFTER intervals from now. *n: how many. */
static int
render_snapshot(struct sink *s, char **out, size_t *len, size_t *n)
{
	struct daemon *d = s->dl->d;
	struct strbuf b = {0};
	time_t now = util_now();
	int r = 0;

	*n = 0;
	for (const struct alert *a = alerts_first(d->alerts); a && r == 0; a = alerts_next(a)) {
		struct alert_event ev;
		char *one = NULL;
		size_t l = 0;

		if (!a->announced || a->held || a->severity < s->min_severity)
			continue;
		event_from_alert(a, now, &ev);
		r = render_alertmanager(&ev, d->host, AM_ENDS_AFTER * s->resend_interval, &one, &l);
		/* each rendering is a "[...]" array: splice the elements */
		if (r == 0 && l >= 2 && (strbuf_puts(&b, *n ? "," : "[") < 0 ||
					 strbuf_append(&b, one + 1, l - 2) < 0))
			r = -ENOMEM;
		free(one);
		if (r == 0) {
			(*n)++;
			/* the resolution must come here too, even if the firing
			 * went out before this sink existed */
			alerts_note_sink(d->alerts, a->id, s->name);
		}
	}
	if (r == 0 && *n)
		r = strbuf_puts(&b, "]");
	if (r < 0 || *n == 0) {
		strbuf_free(&b);
		return r;
	}
	*out = b.s;
	*len = b.len;
	return 0;
}

/* ---- sending --------------------------------------------------------- */

static void
on_delivered(void *ctx, const struct http_response *resp)
{
	struct sink *s = ctx;
	struct item *it = s->head;
	struct outbox_attempt a = {
		.transport_error = resp->curl_code != 0,
		.status = resp->status,
		.retry_after_s = resp->retry_after_s,
	};
	char last[300], age[32];
	enum outbox_verdict v;
	int64_t delay = 0;

	s->inflight = NULL;
	/* min_interval counts from the answer: then two requests reach the
	 * receiver at least that far apart, whatever the latency */
	s->last_post_ms = util_now_mono_ms();
	if (a.transport_error)
		snprintf(last, sizeof(last), "%s", resp->error[0] ? resp->error : "network error");
	else
		snprintf(last, sizeof(last), "HTTP %ld", resp->status);
	if (it->snapshot) {
		bool ok = !a.transport_error && resp->status >= 200 && resp->status < 300;

		/* a failed re-post is not retried: the next one supersedes it */
		if (ok)
			s->n_delivered++;
		else
			s->n_given_up++;
		if (!ok)
			log_warn("sink %s: re-posting the firing alerts failed (%s); the next "
				 "re-post is due in %llds",
				 s->name, last, (long long)s->resend_interval);
		pop_head(s);
		sink_kick(s);
		return;
	}
	v = outbox_decide(&it->rec, &a, wall_ms(), s->max_age, util_random_u32(), &delay);
	switch (v) {
	case OUTBOX_DONE:
		s->n_delivered++;
		log_debug("sink %s: delivered %s (%s) after %u attempt%s", s->name, it->what,
			  it->rec.id, it->rec.attempts, it->rec.attempts == 1 ? "" : "s");
		break;
	case OUTBOX_PERMANENT:
		s->n_given_up++;
		log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
			"sink %s: giving up on %s (%s) after %u attempt%s: permanent failure, %s%s",
			s->name, it->what, it->rec.id, it->rec.attempts,
			it->rec.attempts == 1 ? "" : "s", last,
			resp->status == 410 ? " (Gone: the receiver says this endpoint no longer "
					      "exists; fix or remove the sink)"
					    : "");
		break;
	case OUTBOX_EXPIRED:
		s->n_given_up++;
		util_format_duration(s->max_age, age, sizeof(age));
		log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
			"sink %s: giving up on %s (%s) after %u attempt%s: still failing %s after "
			"it was queued (max_age), last %s",
			s->name, it->what, it->rec.id, it->rec.attempts,
			it->rec.attempts == 1 ? "" : "s", age, last);
		break;
	case OUTBOX_RETRY:
		s->n_retried++;
		it->rec.next_attempt_ms = wall_ms() + delay;
		log_warn("sink %s: delivering %s (%s) failed (%s); attempt %u in %lldms", s->name,
			 it->what, it->rec.id, last, it->rec.attempts + 1, (long long)delay);
		/* attempts and the next time survive a restart; a failed
		 * rewrite keeps the older version, which is still correct */
		item_write(s, it);
		wait_for(s, delay);
		return;
	}
	pop_head(s);
	sink_kick(s);
}

static void
sink_kick(struct sink *s)
{
	struct deliverer *dl = s->dl;
	const struct config *cfg = dl->d->cfg;
	struct item *it;
	char ts[32], hid[64], hts[64], hsig[96], hct[96], sig[RENDER_SIGNATURE_LEN];
	const char *headers[6], *ctype = NULL;
	struct render_ctx rctx = {0};
	char *body = NULL;
	size_t nh = 0, len = 0, n = 0;
	int64_t now_mono, now_wall;
	int r;

	for (;;) {
		it = s->head;
		if (!it || s->inflight || s->waiting)
			return;
		if (it->snapshot && s->type != SINK_ALERTMANAGER) {
			pop_head(s); /* the sink changed type on a reload */
			continue;
		}
		break;
	}
	now_mono = util_now_mono_ms();
	if (s->min_interval_ms > 0 && s->last_post_ms > 0 &&
	    now_mono - s->last_post_ms < s->min_interval_ms) {
		wait_for(s, s->min_interval_ms - (now_mono - s->last_post_ms));
		return;
	}
	now_wall = wall_ms();
	if (!it->snapshot && it->rec.next_attempt_ms > now_wall) {
		/* a record recovered with its retry time ahead; a clock set
		 * back cannot park it beyond one backoff step */
		int64_t ms = it->rec.next_attempt_ms - now_wall;

		wait_for(s, ms < OUTBOX_RETRY_MAX_MS ? ms : OUTBOX_RETRY_MAX_MS);
		return;
	}
	if (it->snapshot) {
		ctype = "application/json";
		r = render_snapshot(s, &body, &len, &n);
		if (r == 0 && n == 0) {
			pop_head(s);
			sink_kick(s);
			return;
		}
	} else {
		rctx.host = it->rec.host;
		rctx.routing_key = s->routing_key;
		rctx.am_resolve_timeout_s = AM_ENDS_AFTER * s->resend_interval;
		/* an Alertmanager firing that waited in the queue must not
		 * arrive already ended: endsAt counts from now. Alertmanager
		 * deduplicates by labels, so such a retry need not be
		 * byte-identical. */
		if (s->type == SINK_ALERTMANAGER && it->rec.ev.kind != EV_RESOLVED &&
		    now_wall / 1000 > (int64_t)it->rec.ev.observed_at)
			rctx.am_resolve_timeout_s += now_wall / 1000 - it->rec.ev.observed_at;
		r = render_for_sink(s->type, &it->rec.ev, &rctx, &body, &len, &ctype);
	}
	if (r < 0) {
		free(body);
		if (r == -ENOMEM) {
			log_err("sink %s: out of memory rendering %s; trying again", s->name,
				it->what);
			wait_for(s, OUTBOX_RETRY_BASE_MS);
			return;
		}
		log_msg(LOG_ERR, MSGID_DELIVERY_FAILED, "sink %s: cannot render %s: %s; dropped",
			s->name, it->what, strerror(-r));
		s->n_given_up++;
		pop_head(s);
		sink_kick(s);
		return;
	}
	snprintf(hct, sizeof(hct), "Content-Type: %s", ctype);
	headers[nh++] = hct;
	if (!it->snapshot) {
		/* every sink type gets the delivery id: harmless to chat
		 * services, and it ties a receiver's log to the journal */
		snprintf(hid, sizeof(hid), "webhook-id: %s", it->rec.id);
		headers[nh++] = hid;
	}
	if (s->type == SINK_WEBHOOK && !it->snapshot) {
		snprintf(ts, sizeof(ts), "%lld", (long long)(now_wall / 1000));
		snprintf(hts, sizeof(hts), "webhook-timestamp: %s", ts);
		headers[nh++] = hts;
		if (s->secret) {
			/* the signature covers this attempt's timestamp: signed
			 * again on every retry, as Standard Webhooks requires */
			if (render_signature(s->secret, it->rec.id, now_wall / 1000, body, len,
					     sig) < 0) {
				free(body);
				log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
					"sink %s: the signing secret is unusable; dropping %s",
					s->name, it->what);
				s->n_given_up++;
				pop_head(s);
				sink_kick(s);
				return;
			}
			snprintf(hsig, sizeof(hsig), "webhook-signature: %s", sig);
			headers[nh++] = hsig;
		}
	}
	headers[nh] = NULL;
	if (!it->snapshot)
		it->rec.attempts++;
	struct http_request req = {
		.method = "POST",
		.url = s->post_url,
		.headers = headers,
		.body = body,
		.body_len = len,
		.ca_file = s->ca_file,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = MAX_SINK_RESPONSE,
		.priority = true, /* not behind a poll cycle's reads */
		.service = "notify",
	};
	s->last_post_ms = now_mono;
	r = http_submit(dl->d->http, &req, on_delivered, s, &s->inflight);
	free(body);
	if (r < 0) {
		log_err("sink %s: cannot start a delivery: %s", s->name, strerror(-r));
		s->inflight = NULL;
		wait_for(s, OUTBOX_RETRY_BASE_MS);
	}
}
