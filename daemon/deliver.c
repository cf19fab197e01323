/*
 * deliver — see deliver.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "backoff.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "render.h"
#include "util.h"

/* Give up on an event after this long: the journal still has it. */
#define DELIVERY_MAX_AGE_S (72 * 3600)
#define RETRY_BASE_MS 1000
#define RETRY_MAX_MS (15 * 60 * 1000)

struct item {
	struct item *next;
	char msg_id[40];     /* webhook-id, fixed for every retry */
	char *body;
	size_t body_len;
	char *what;          /* "firing critical ear.valid payments-prod" */
	unsigned attempts;
	time_t queued_at;
};

struct sink {
	struct sink *next;
	struct deliverer *dl;
	char *name;
	enum sink_type type;
	char *url;           /* may itself be a secret (Slack): never logged */
	char *secret;
	enum severity min_severity;
	struct item *head, *tail;
	size_t queued;
	struct http_transfer *inflight;
	uv_timer_t retry;    /* closed with the sink */
	bool retry_pending;
	bool unsupported_logged;
};

struct deliverer {
	struct daemon *d;
	struct sink *sinks;
};

static void sink_kick(struct sink *s);

int
deliver_new(struct daemon *d, struct deliverer **out)
{
	struct deliverer *dl = calloc(1, sizeof(*dl));

	if (!dl)
		return -ENOMEM;
	dl->d = d;
	*out = dl;
	return 0;
}

static void
item_free(struct item *it)
{
	free(it->body);
	free(it->what);
	free(it);
}

static void
on_sink_closed(uv_handle_t *h)
{
	struct sink *s = h->data;

	free(s->name);
	util_free_secret(s->url);
	util_free_secret(s->secret);
	free(s);
}

/* Unlinked sinks are freed once their timer handle is closed. */
static void
sink_destroy(struct sink *s, const char *why)
{
	if (s->queued)
		log_msg(LOG_WARNING, MSGID_DELIVERY_FAILED,
			"sink %s: %zu event(s) not delivered (%s); they remain in the journal",
			s->name, s->queued, why);
	if (s->inflight)
		http_cancel(s->inflight);
	while (s->head) {
		struct item *it = s->head;

		s->head = it->next;
		item_free(it);
	}
	uv_timer_stop(&s->retry);
	uv_close((uv_handle_t *)&s->retry, on_sink_closed);
}

void
deliver_free(struct deliverer *dl)
{
	if (!dl)
		return;
	while (dl->sinks) {
		struct sink *s = dl->sinks;

		dl->sinks = s->next;
		sink_destroy(s, "kmswatchd is stopping");
	}
	free(dl);
}

static struct sink *
find_sink(struct deliverer *dl, const char *name)
{
	for (struct sink *s = dl->sinks; s; s = s->next)
		if (strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

int
deliver_configure(struct deliverer *dl, const struct config *cfg)
{
	struct sink *kept = NULL, **tail = &kept;

	/* Build the new list from the config, moving kept sinks over. */
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		const struct cfg_sink *cs = &cfg->sinks[i];
		struct sink *s = find_sink(dl, cs->name);
		char *url = util_strdup(cs->url.value);
		char *secret = util_strdup(cs->secret.value);

		if ((cs->url.value && !url) || (cs->secret.value && !secret)) {
			util_free_secret(url);
			util_free_secret(secret);
			return -ENOMEM;
		}
		if (s) {
			/* unlink from the old list */
			for (struct sink **p = &dl->sinks; *p; p = &(*p)->next)
				if (*p == s) {
					*p = s->next;
					break;
				}
			util_free_secret(s->url);
			util_free_secret(s->secret);
		} else {
			s = calloc(1, sizeof(*s));
			if (!s || !(s->name = strdup(cs->name))) {
				free(s);
				util_free_secret(url);
				util_free_secret(secret);
				return -ENOMEM;
			}
			s->dl = dl;
			uv_timer_init(dl->d->loop, &s->retry);
			s->retry.data = s;
		}
		s->url = url;
		s->secret = secret;
		s->type = cs->type;
		s->min_severity = cs->min_severity;
		s->next = NULL;
		*tail = s;
		tail = &s->next;
	}
	while (dl->sinks) {
		struct sink *s = dl->sinks;

		dl->sinks = s->next;
		sink_destroy(s, "the sink was removed from the configuration");
	}
	dl->sinks = kept;
	return 0;
}

size_t
deliver_pending(const struct deliverer *dl)
{
	size_t n = 0;

	for (const struct sink *s = dl->sinks; s; s = s->next)
		n += s->queued;
	return n;
}

/* Routing: an event goes to a sink when its severity reaches the sink's
 * min_severity; a resolution goes where the alert's firing went. */
static bool
routes(const struct sink *s, const struct alert_event *ev)
{
	enum severity sev = ev->kind == EV_RESOLVED ? ev->previous_severity : ev->severity;

	return sev >= s->min_severity;
}

static void
new_msg_id(char out[40])
{
	unsigned char rnd[16];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		/* getrandom on Linux ≥ 3.17 does not fail for 16 bytes; keep a
		 * unique fallback anyway. */
		static unsigned long long seq;
		int64_t now = util_now_mono_ms();

		memcpy(rnd, &now, sizeof(now));
		seq++;
		memcpy(rnd + 8, &seq, sizeof(seq));
	}
	memcpy(out, "msg_", 4);
	util_hex(rnd, sizeof(rnd), out + 4);
}

void
deliver_event(struct deliverer *dl, const struct alert_event *ev)
{
	for (struct sink *s = dl->sinks; s; s = s->next) {
		struct item *it;
		int r;

		if (!routes(s, ev))
			continue;
		if (s->type != SINK_WEBHOOK) {
			if (!s->unsupported_logged)
				log_warn("sink %s: type %s is not implemented by this version; "
					 "its events stay in the journal only",
					 s->name, sink_type_name(s->type));
			s->unsupported_logged = true;
			continue;
		}
		it = calloc(1, sizeof(*it));
		if (!it) {
			log_err("sink %s: out of memory queueing an event", s->name);
			continue;
		}
		r = render_webhook(ev, dl->d->host, &it->body, &it->body_len);
		it->what = util_asprintf("%s %s %s %s", event_kind_name(ev->kind),
					 severity_name(ev->severity), check_name(ev->check),
					 ev->project_name);
		if (r < 0 || !it->what) {
			item_free(it);
			log_err("sink %s: out of memory rendering an event", s->name);
			continue;
		}
		new_msg_id(it->msg_id);
		it->queued_at = util_now();
		if (s->tail)
			s->tail->next = it;
		else
			s->head = it;
		s->tail = it;
		s->queued++;
		sink_kick(s);
	}
}

static void
pop_head(struct sink *s)
{
	struct item *it = s->head;

	s->head = it->next;
	if (!s->head)
		s->tail = NULL;
	s->queued--;
	item_free(it);
}

static void
on_retry_timer(uv_timer_t *t)
{
	struct sink *s = t->data;

	s->retry_pending = false;
	sink_kick(s);
}

static uint32_t
random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint32_t)util_now_mono_ms();
	return r;
}

static void
on_delivered(void *ctx, const struct http_response *resp)
{
	struct sink *s = ctx;
	struct item *it = s->head;
	bool transient;
	int64_t delay;

	s->inflight = NULL;
	if (resp->curl_code == 0 && resp->status >= 200 && resp->status < 300) {
		log_debug("sink %s: delivered %s (%s) after %u attempt(s)", s->name, it->what,
			  it->msg_id, it->attempts);
		pop_head(s);
		sink_kick(s);
		return;
	}
	transient = resp->curl_code != 0 || resp->status == 408 || resp->status == 429 ||
		    resp->status >= 500 || resp->status < 200;
	if (!transient || util_now() - it->queued_at > DELIVERY_MAX_AGE_S) {
		log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
			"sink %s: giving up on %s (%s) after %u attempt(s): %s%s%ld", s->name,
			it->what, it->msg_id, it->attempts,
			transient ? "still failing after 72h, last " : "permanent failure, ",
			"HTTP ", resp->status);
		pop_head(s);
		sink_kick(s);
		return;
	}
	delay = backoff_next_ms(it->attempts - 1, resp->retry_after_s, RETRY_BASE_MS, RETRY_MAX_MS,
				random_u32());
	if (resp->curl_code)
		log_warn("sink %s: delivering %s failed (%s); retry %u in %lldms", s->name, it->what,
			 resp->error, it->attempts, (long long)delay);
	else
		log_warn("sink %s: delivering %s got HTTP %ld; retry %u in %lldms", s->name,
			 it->what, resp->status, it->attempts, (long long)delay);
	s->retry_pending = true;
	uv_timer_start(&s->retry, on_retry_timer, (uint64_t)delay, 0);
}

static void
sink_kick(struct sink *s)
{
	struct deliverer *dl = s->dl;
	const struct config *cfg = dl->d->cfg;
	struct item *it = s->head;
	char ts[32], hid[64], hts[64], hsig[96], sig[RENDER_SIGNATURE_LEN];
	const char *headers[6];
	size_t nh = 0;
	int64_t now;
	int r;

	if (!it || s->inflight || s->retry_pending)
		return;
	now = util_now();
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	headers[nh++] = "Content-Type: application/json";
	snprintf(hid, sizeof(hid), "webhook-id: %s", it->msg_id);
	headers[nh++] = hid;
	snprintf(hts, sizeof(hts), "webhook-timestamp: %s", ts);
	headers[nh++] = hts;
	if (s->secret) {
		/* The signature covers this attempt's timestamp: re-signed on
		 * every retry, as Standard Webhooks requires. */
		if (render_signature(s->secret, it->msg_id, now, it->body, it->body_len, sig) < 0) {
			log_msg(LOG_ERR, MSGID_DELIVERY_FAILED,
				"sink %s: the signing secret is unusable; dropping %s", s->name,
				it->what);
			pop_head(s);
			sink_kick(s);
			return;
		}
		snprintf(hsig, sizeof(hsig), "webhook-signature: %s", sig);
		headers[nh++] = hsig;
	}
	headers[nh] = NULL;
	it->attempts++;
	struct http_request req = {
		.method = "POST",
		.url = s->url,
		.headers = headers,
		.body = it->body,
		.body_len = it->body_len,
		.connect_timeout_ms = cfg->http.connect_timeout_ms,
		.timeout_ms = cfg->http.timeout_ms,
		.max_response_bytes = 64 * 1024,
	};
	r = http_submit(dl->d->http, &req, on_delivered, s, &s->inflight);
	if (r < 0) {
		log_err("sink %s: cannot start a delivery: %s", s->name, strerror(-r));
		s->retry_pending = true;
		uv_timer_start(&s->retry, on_retry_timer, RETRY_BASE_MS, 0);
	}
}
