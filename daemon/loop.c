/* SPDX-License-Identifier: ISC */
/*
 * loop — the daemon's life: start-up in dependency order, the libuv loop
 * with its signals and watchdog, systemd notifications, SIGHUP reloads
 * that swap the config only when the new one is valid, and a clean stop in
 * reverse order that leaves uv_loop_close() nothing to complain about.
 */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>

#include "alerts.h"
#include "auth.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "discover.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "msgid.h"
#include "poller.h"
#include "provider.h"
#include "selfcred.h"
#include "store.h"
#include "tokens.h"
#include "util.h"

#define ALERTS_DOC "alerts.json"
#define PROJECTS_DOC "projects.json"
#define SELFCRED_DOC "selfcred.json"
/* A poll cycle's results arrive within milliseconds of each other: write
 * the state once for the burst rather than once per project. */
#define PERSIST_DELAY_MS 200

/* The running process: the shared services and what only loop.c touches. */
struct runtime {
	struct daemon d; /* first: a struct daemon * of ours is its runtime */
	const char *config_path;
	uv_signal_t sighup, sigterm, sigint;
	uv_timer_t watchdog;
	uv_timer_t persist_timer; /* coalesces state writes of one poll burst */
	uv_timer_t turn_timer;    /* alert repeats and STATUS= once per loop turn */
	bool watchdog_on;
	bool stopping;
	/* the first problem of the last rejected reload, shown in STATUS=
	 * until a reload succeeds */
	char rejected[160];
};

static struct runtime *
rt_of(struct daemon *d)
{
	return (struct runtime *)d;
}

struct alert_policy
daemon_alert_policy(const struct daemon *d)
{
	struct alert_policy pol = {
		.repeat_interval = d->cfg->alerts.repeat_interval,
		.send_resolved = d->cfg->alerts.send_resolved,
		.confirm_firing = d->cfg->alerts.confirm_firing,
		.confirm_resolved = d->cfg->alerts.confirm_resolved,
		.silences = d->cfg->silences,
		.n_silences = d->cfg->n_silences,
	};
	return pol;
}

void
daemon_emit(struct daemon *d, const struct alert_events *evs)
{
	for (size_t i = 0; i < evs->n; i++) {
		const struct alert_event *ev = &evs->v[i];
		int r;

		/* The outbox record first: an event the journal shows has been
		 * queued for its sinks, so a crash in between cannot leave a
		 * journaled event that is never delivered. */
		if (!ev->held && !(ev->kind == EV_RESOLVED && !d->cfg->alerts.send_resolved))
			deliver_event(d->deliver, ev);
		if ((r = log_event(ev, ev->note)) < 0)
			log_debug("journal unreachable for an event: %s", strerror(-r));
	}
}

static void
persist(struct daemon *d)
{
	char *json = NULL;
	size_t len = 0;

	if (alerts_save(d->alerts, &json, &len) == 0)
		store_write(d->store, ALERTS_DOC, json, len);
	free(json);
	json = NULL;
	if (poller_save_memory(d->poller, &json, &len) == 0)
		store_write(d->store, PROJECTS_DOC, json, len);
	free(json);
	json = NULL;
	if (d->selfcred && selfcred_save(d->selfcred, &json, &len) == 0)
		store_write(d->store, SELFCRED_DOC, json, len);
	free(json);
	providers_save(d->providers, d->store);
	json = NULL;
	if (discover_save(d->discover, &json, &len) == 0)
		store_write(d->store, DISCOVER_DOC, json, len);
	free(json);
	/* after the results of a poll burst, like the state */
	exporter_after_cycle(d->exporter);
}

static void
on_persist_timer(uv_timer_t *t)
{
	persist(t->data);
}

static void
persist_soon(struct daemon *d)
{
	if (!uv_is_active((uv_handle_t *)&rt_of(d)->persist_timer))
		uv_timer_start(&rt_of(d)->persist_timer, on_persist_timer, PERSIST_DELAY_MS, 0);
}

/* The one-line STATUS= for systemd (cheap: counters, no walk over projects). */
static void
update_status(struct daemon *d)
{
	size_t projects = 0, busy = 0, n[SEV_CRITICAL + 1] = {0};
	int64_t next_ms = -1;
	char next[48] = "", pending[128] = "";
	size_t queued;

	if (!d->poller)
		return;
	poller_stats(d->poller, &projects, &busy, &next_ms);
	alerts_announced(d->alerts, n);
	if (busy)
		snprintf(next, sizeof(next), "%zu polling", busy);
	else if (next_ms >= 0) {
		char dur[24];

		util_format_duration(next_ms / 1000 + 1, dur, sizeof(dur));
		snprintf(next, sizeof(next), "next poll in %s", dur);
	}
	queued = d->deliver ? deliver_pending(d->deliver) : 0;
	if (queued)
		snprintf(pending, sizeof(pending), "; %zu notification%s waiting%s", queued,
			 queued == 1 ? "" : "s",
			 deliver_disk_refused(d->deliver)
				 ? " (the disk refuses the queue: kept in memory)"
				 : "");
	sd_notifyf(0, "STATUS=%zu project%s: %zu critical, %zu warning, %zu unknown; %s%s%s%s",
		   projects, projects == 1 ? "" : "s", n[SEV_CRITICAL], n[SEV_WARNING],
		   n[SEV_UNKNOWN], *next ? next : "idle", pending,
		   rt_of(d)->rejected[0] ? "; last reload rejected: " : "", rt_of(d)->rejected);
}

/* Once per loop turn that delivered results, not once per result: the
 * repeats of the whole table, the release of expired silences and the
 * STATUS= line each cost the whole table or every project. */
static void
on_turn_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;
	struct alert_policy pol = daemon_alert_policy(d);
	struct alert_events evs = {0};
	int r;

	r = alerts_tick(d->alerts, &pol, util_now(), &evs);
	if (r < 0)
		log_err("cannot update alerts: %s", strerror(-r));
	daemon_emit(d, &evs);
	if (evs.n > 0)
		uv_timer_start(&rt_of(d)->persist_timer, on_persist_timer, 0, 0);
	alert_events_free(&evs);
	update_status(d);
}

static void
on_result(void *ctx, const struct cfg_project *p, const struct findings *f)
{
	struct daemon *d = ctx;
	struct alert_policy pol = daemon_alert_policy(d);
	struct alert_events evs = {0};
	time_t now = util_now();
	int r;

	r = alerts_observe(d->alerts, p->id, p->name, f, &pol, now, &evs);
	if (r < 0)
		log_err("project %s: cannot update alerts: %s", p->name, strerror(-r));
	daemon_emit(d, &evs);
	daemon_observed(d, evs.n > 0);
	alert_events_free(&evs);
}

void
daemon_observed(struct daemon *d, bool events)
{
	/* Events were just queued (their outbox records are on disk): the
	 * alert state that produced them follows in this turn of the loop,
	 * not after the burst delay, so that a crash between the two writes
	 * is a matter of milliseconds; deliver.c's recovery covers that
	 * window. Once per turn, not once per result: the state holds every
	 * alert, and saving it for each of N projects that fire together
	 * would cost N^2. */
	if (rt_of(d)->stopping)
		return;
	if (events) {
		uv_timer_start(&rt_of(d)->persist_timer, on_persist_timer, 0, 0);
	} else {
		persist_soon(d);
	}
	if (!uv_is_active((uv_handle_t *)&rt_of(d)->turn_timer))
		uv_timer_start(&rt_of(d)->turn_timer, on_turn_timer, 0, 0);
}

static void
on_removed(void *ctx, const char *project_id)
{
	struct daemon *d = ctx;
	struct alert_events evs = {0};

	if (alerts_drop_project(d->alerts, project_id, util_now(), &evs) < 0)
		log_err("project %s: cannot resolve its alerts: out of memory", project_id);
	daemon_emit(d, &evs);
	alert_events_free(&evs);
}

static uint64_t
monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
report_diag(int msgpri, const char *msgid, const char *what, const char *path, int r,
	    const struct cfg_diag *diag)
{
	/* every diag line starts with the path already */
	if (diag->n == 0)
		log_msg(msgpri, msgid, "%s %s: %s", what, path, strerror(-r));
	else
		log_msg(msgpri, msgid, "%s %s%s", what, diag->lines[0],
			diag->n > 1 ? " (and more, below)" : "");
	for (size_t i = 1; i < diag->n; i++)
		log_msg(msgpri, NULL, "%s", diag->lines[i]);
}

static void
reload(struct daemon *d)
{
	struct config *ncfg = NULL, *old = d->cfg;
	struct cfg_diag diag = {0};
	int r;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
		   (unsigned long long)monotonic_usec(), rt_of(d)->config_path);
	r = cfg_load(rt_of(d)->config_path, &ncfg, &diag);
	if (r < 0) {
		report_diag(LOG_ERR, MSGID_CONFIG_REJECTED,
			    "configuration rejected, the running one stays in force:",
			    rt_of(d)->config_path, r, &diag);
		snprintf(rt_of(d)->rejected, sizeof(rt_of(d)->rejected), "%s",
			 diag.n ? diag.lines[0] : strerror(-r));
		cfg_diag_free(&diag);
		discover_refresh(d->discover); /* SIGHUP also asks for a listing */
		sd_notify(0, "READY=1");
		update_status(d);
		return;
	}
	if (!util_streq(cfg_state_dir(ncfg), store_dir(d->store)))
		log_warn("state_dir changed to %s: it takes effect at the next restart",
			 cfg_state_dir(ncfg));
	d->cfg = ncfg;
	rt_of(d)->rejected[0] = '\0';
	auth_configure(d->auth, ncfg);
	if ((r = deliver_configure(d->deliver, ncfg)) < 0)
		log_err("reload: cannot set up the notification sinks: %s", strerror(-r));
	/* the poller and the providers get ncfg's projects and the
	 * discovered ones; the providers log what failed */
	if ((r = discover_configure(d->discover, ncfg)) < 0)
		log_err("reload: cannot set up polling: %s", strerror(-r));
	selfcred_configure(d->selfcred, ncfg);
	exporter_configure(d->exporter, ncfg);   /* logs; keeps a listener it cannot replace */
	cfg_free(old);
	log_msg(LOG_NOTICE, MSGID_CONFIG_RELOADED, "configuration reloaded from %s: %zu project%s, %zu sink%s",
		rt_of(d)->config_path, ncfg->n_projects, ncfg->n_projects == 1 ? "" : "s", ncfg->n_sinks,
		ncfg->n_sinks == 1 ? "" : "s");
	persist(d);
	sd_notify(0, "READY=1");
	update_status(d);
}

static void
on_http_closed(void *arg)
{
	struct daemon *d = arg;

	d->http = NULL;
}

/* Close everything in reverse order of start-up; uv_run returns once the
 * last close callback has run. */
static void
stop(struct daemon *d)
{
	if (rt_of(d)->stopping)
		return;
	rt_of(d)->stopping = true;
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
	log_msg(LOG_NOTICE, MSGID_STOPPING, "kmswatchd stopping");
	uv_timer_stop(&rt_of(d)->persist_timer);
	uv_timer_stop(&rt_of(d)->turn_timer);
	persist(d);
	http_client_set_observer(d->http, NULL, NULL);
	exporter_free(d->exporter);
	d->exporter = NULL;
	providers_free(d->providers);
	d->providers = NULL;
	selfcred_free(d->selfcred);
	d->selfcred = NULL;
	poller_free(d->poller);
	d->poller = NULL;
	/* after them: they point into its list of projects */
	discover_free(d->discover);
	d->discover = NULL;
	deliver_free(d->deliver);
	d->deliver = NULL;
	auth_free(d->auth);
	d->auth = NULL;
	tokens_free(d->tokens);
	d->tokens = NULL;
	http_client_close(d->http, on_http_closed, d);
	if (rt_of(d)->watchdog_on)
		uv_close((uv_handle_t *)&rt_of(d)->watchdog, NULL);
	uv_close((uv_handle_t *)&rt_of(d)->persist_timer, NULL);
	uv_close((uv_handle_t *)&rt_of(d)->turn_timer, NULL);
	uv_close((uv_handle_t *)&rt_of(d)->sighup, NULL);
	uv_close((uv_handle_t *)&rt_of(d)->sigterm, NULL);
	uv_close((uv_handle_t *)&rt_of(d)->sigint, NULL);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (rt_of(d)->stopping)
		return;
	if (signum == SIGHUP)
		reload(d);
	else
		stop(d);
}

static void
on_watchdog(uv_timer_t *t)
{
	sd_notify(0, "WATCHDOG=1");
}

static void
log_leftover(uv_handle_t *h, void *arg)
{
	log_err("internal error: handle of type %s still open at exit",
		uv_handle_type_name(uv_handle_get_type(h)));
}

static int
load_state(struct daemon *d)
{
	char *json = NULL;
	size_t len = 0;
	int r;

	r = store_read(d->store, ALERTS_DOC, &json, &len);
	if (r == 0 && alerts_load(d->alerts, json, len) < 0)
		log_err("state file %s/%s is damaged; starting with no open alerts",
			store_dir(d->store), ALERTS_DOC);
	else if (r < 0 && r != -ENOENT)
		log_err("cannot read %s/%s: %s; starting with no open alerts", store_dir(d->store),
			ALERTS_DOC, util_file_error(r));
	free(json);
	json = NULL;
	r = store_read(d->store, PROJECTS_DOC, &json, &len);
	if (r == 0 && poller_load_memory(d->poller, json, len) < 0)
		log_err("state file %s/%s is damaged; key first-seen times start afresh",
			store_dir(d->store), PROJECTS_DOC);
	else if (r < 0 && r != -ENOENT)
		log_err("cannot read %s/%s: %s", store_dir(d->store), PROJECTS_DOC, util_file_error(r));
	free(json);
	json = NULL;
	r = store_read(d->store, SELFCRED_DOC, &json, &len);
	if (r == 0 && selfcred_load(d->selfcred, json, len) < 0)
		log_err("state file %s/%s is damaged; kmswatch's own secret is read afresh",
			store_dir(d->store), SELFCRED_DOC);
	else if (r < 0 && r != -ENOENT)
		log_err("cannot read %s/%s: %s", store_dir(d->store), SELFCRED_DOC,
			util_file_error(r));
	free(json);
	providers_load(d->providers, d->store);
	json = NULL;
	r = store_read(d->store, DISCOVER_DOC, &json, &len);
	if (r == 0 && discover_load(d->discover, json, len) < 0)
		log_err("state file %s/%s is damaged; the discovered projects are listed afresh",
			store_dir(d->store), DISCOVER_DOC);
	else if (r < 0 && r != -ENOENT)
		log_err("cannot read %s/%s: %s", store_dir(d->store), DISCOVER_DOC,
			util_file_error(r));
	free(json);
	return 0;
}

int
daemon_run(const char *config_path)
{
	struct runtime rt = {0};
	struct daemon *d = &rt.d;
	struct poller_hooks hooks = {.on_result = on_result, .on_removed = on_removed, .ctx = d};
	struct cfg_diag diag = {0};
	uv_loop_t loop;
	uint64_t wd_usec = 0;
	char why[512];
	int r, rc = 1;

	rt.config_path = config_path;
	if (gethostname(d->host, sizeof(d->host) - 1) < 0)
		strcpy(d->host, "localhost");
	r = cfg_load(config_path, &d->cfg, &diag);
	if (r < 0) {
		report_diag(LOG_ERR, MSGID_CONFIG_REJECTED, "cannot start: configuration rejected:",
			    config_path, r, &diag);
		cfg_diag_free(&diag);
		sd_notifyf(0, "ERRNO=%d", -r);
		return 1;
	}
	if ((r = uv_loop_init(&loop)) < 0) {
		log_err("cannot start the event loop: %s", uv_strerror(r));
		cfg_free(d->cfg);
		return 1;
	}
	d->loop = &loop;
	if ((r = store_new(cfg_state_dir(d->cfg), why, sizeof(why), &d->store)) < 0) {
		if (r == -EPERM)
			log_err("cannot use state directory: %s", why);
		else
			log_err("cannot use state directory %s: %s", cfg_state_dir(d->cfg),
				strerror(-r));
		goto out_loop;
	}
	if ((r = alerts_new(&d->alerts)) < 0 || (r = http_client_new(&loop, d->cfg->http.max_concurrent, &d->http)) < 0 ||
	    (r = tokens_new(d, &d->tokens)) < 0 || (r = auth_new(d, &d->auth)) < 0 ||
	    (r = deliver_new(d, &d->deliver)) < 0 ||
	    (r = poller_new(d, &hooks, &d->poller)) < 0 ||
	    (r = providers_new(d, &hooks, &d->providers)) < 0 ||
	    (r = discover_new(d, &hooks, &d->discover)) < 0 ||
	    (r = selfcred_new(d, NULL, NULL, &d->selfcred)) < 0 ||
	    (r = exporter_new(d, &d->exporter)) < 0) {
		log_err("cannot start: %s", strerror(-r));
		goto out_modules;
	}
	discover_on_listed(d->discover, selfcred_listed, d->selfcred);
	load_state(d);
	auth_configure(d->auth, d->cfg);
	if ((r = deliver_configure(d->deliver, d->cfg)) < 0 ||
	    (r = discover_configure(d->discover, d->cfg)) < 0) {
		log_err("cannot start: %s", strerror(-r));
		goto out_modules;
	}
	http_client_set_observer(d->http, exporter_observe_http, d->exporter);
	if ((r = exporter_configure(d->exporter, d->cfg)) < 0) {
		log_err("cannot start: metrics.listen cannot be served (see above)");
		goto out_modules;
	}
	if ((r = deliver_check_dirs(d->deliver, why, sizeof(why))) < 0) {
		log_err("cannot use the delivery queue: %s",
			r == -EPERM ? why : strerror(-r));
		goto out_modules;
	}
	uv_timer_init(&loop, &rt.persist_timer);
	rt.persist_timer.data = d;
	uv_timer_init(&loop, &rt.turn_timer);
	rt.turn_timer.data = d;
	/* after the timers it may start through daemon_observed */
	selfcred_configure(d->selfcred, d->cfg);
	uv_signal_init(&loop, &rt.sighup);
	uv_signal_init(&loop, &rt.sigterm);
	uv_signal_init(&loop, &rt.sigint);
	rt.sighup.data = rt.sigterm.data = rt.sigint.data = d;
	uv_signal_start(&rt.sighup, on_signal, SIGHUP);
	uv_signal_start(&rt.sigterm, on_signal, SIGTERM);
	uv_signal_start(&rt.sigint, on_signal, SIGINT);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		/* Pinged from the loop: a hung loop stops pinging and systemd
		 * restarts us, which is the point. */
		uv_timer_init(&loop, &rt.watchdog);
		uv_timer_start(&rt.watchdog, on_watchdog, wd_usec / 2000, wd_usec / 2000);
		rt.watchdog_on = true;
	}
	log_msg(LOG_NOTICE, MSGID_STARTED,
		"kmswatchd %s started: %zu project%s, %zu sink%s, state in %s", PACKAGE_VERSION,
		d->cfg->n_projects, d->cfg->n_projects == 1 ? "" : "s", d->cfg->n_sinks,
		d->cfg->n_sinks == 1 ? "" : "s", store_dir(d->store));
	sd_notify(0, "READY=1");
	update_status(d);
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = 0;
	goto out_loop;

out_modules:
	selfcred_free(d->selfcred);
	exporter_free(d->exporter);
	d->exporter = NULL;
	providers_free(d->providers);
	poller_free(d->poller);
	discover_free(d->discover);
	deliver_free(d->deliver);
	auth_free(d->auth);
	tokens_free(d->tokens);
	if (d->http)
		http_client_close(d->http, on_http_closed, d);
	uv_run(&loop, UV_RUN_DEFAULT);
out_loop:
	r = uv_loop_close(&loop);
	if (r != 0) {
		uv_walk(&loop, log_leftover, NULL);
		rc = 1;
	}
	alerts_free(d->alerts);
	store_free(d->store);
	cfg_free(d->cfg);
	return rc;
}
