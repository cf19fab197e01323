/* SPDX-License-Identifier: ISC */
/*
 * exporter — see exporter.h.
 *
 * libmicrohttpd runs with MHD_USE_EPOLL and no thread of its own: its
 * epoll fd is one uv_poll_t, its next timeout one uv_timer_t, and MHD_run
 * (which never blocks in this mode) is called when either fires. An idle
 * listener costs the poll on that fd and nothing else. The socket is ours
 * (bound here, so that a bind failure says exactly why, then handed over
 * with MHD_OPTION_LISTEN_SOCKET); connections are bounded in number,
 * memory and idle time.
 *
 * Closing: the uv_poll_t is closed first (libuv takes the fd out of its
 * epoll set at once), then MHD_stop_daemon closes the fds: a polled fd is
 * never closed under libuv.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>
#include <uv.h>

#include "alerts.h"
#include "config.h"
#include "daemon.h"
#include "deliver.h"
#include "exporter.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "selfcred.h"
#include "provider.h"
#include "util.h"

#define MAX_CONNECTIONS 16
#define CONNECTION_MEMORY (32 * 1024)
#define CONNECTION_TIMEOUT_S 10
#define LISTEN_BACKLOG 16
#define MAX_SERVICES 8
#define MAX_CODES 32

/* ---- the families ------------------------------------------------------- */

static const char *const l_version[] = {"version", NULL};
static const char *const l_alert[] = {"project", "project_id", "check", "subject", "severity",
				      NULL};
static const char *const l_provider[] = {"project", "project_id", "provider", NULL};
static const char *const l_credential[] = {"project", "project_id", "provider", "credential",
					   NULL};
static const char *const l_source[] = {"project", "project_id", "source", NULL};
static const char *const l_requests[] = {"service", "code", NULL};
static const char *const l_service[] = {"service", NULL};
static const char *const l_sink[] = {"sink", NULL};
static const char *const l_delivery[] = {"sink", "result", NULL};

/* seconds: loopback answers, cloud APIs, and the 30 s default timeout */
static const double duration_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
					  0.5,   1,    2.5,   5,    10,  30};
#define N_BUCKETS ARRAY_SIZE(duration_buckets)

static const struct metric_family families[MX__COUNT] = {
	[MX_BUILD_INFO] = {"kmswatch_build_info", "The kmswatchd version, as a label; always 1.",
			   METRIC_GAUGE, l_version},
	[MX_ALERT_FIRING] = {"kmswatch_alert_firing",
			     "1 for each announced firing alert (silenced ones too); absent when "
			     "none.",
			     METRIC_GAUGE, l_alert},
	[MX_EAR_VALID] = {"kmswatch_ear_valid",
			  "Atlas's valid flag of the project's enabled Encryption at Rest "
			  "provider: 1 or 0 (absent when Atlas omits it).",
			  METRIC_GAUGE, l_provider},
	[MX_CREDENTIAL_EXPIRY] = {"kmswatch_credential_expiry_timestamp_seconds",
				  "When the secret a credential uses expires (Unix time).",
				  METRIC_GAUGE, l_credential},
	[MX_KEY_CREATED] = {"kmswatch_key_created_timestamp_seconds",
			    "Creation of the key (version) in use (Unix time).", METRIC_GAUGE,
			    l_provider},
	[MX_KEY_DELETION] = {"kmswatch_key_deletion_timestamp_seconds",
			     "Scheduled deletion or destruction of the key (version) in use, "
			     "when there is one (Unix time).",
			     METRIC_GAUGE, l_provider},
	[MX_LAST_SUCCESS] = {"kmswatch_last_success_timestamp_seconds",
			     "Last complete read of a project from a source (Unix time).",
			     METRIC_GAUGE, l_source},
	[MX_REQUESTS] = {"kmswatch_requests_total",
			 "Outgoing HTTP requests by service and HTTP status (\"error\": no "
			 "answer).",
			 METRIC_COUNTER, l_requests},
	[MX_REQUEST_DURATION] = {"kmswatch_request_duration_seconds",
				 "Duration of outgoing HTTP requests.", METRIC_HISTOGRAM,
				 l_service, duration_buckets, N_BUCKETS},
	[MX_OUTBOX_PENDING] = {"kmswatch_outbox_pending",
			       "Events waiting in a sink's outbox or in flight.", METRIC_GAUGE,
			       l_sink},
	[MX_DELIVERIES] = {"kmswatch_deliveries_total",
			   "Deliveries to a sink by result: delivered, retried (an attempt "
			   "failed, another follows), given_up.",
			   METRIC_COUNTER, l_delivery},
};

/* ---- state -------------------------------------------------------------- */

struct svc_stats {
	const char *name;
	struct {
		long code; /* 0: no answer ("error") */
		uint64_t n;
	} codes[MAX_CODES];
	size_t n_codes;
	uint64_t other; /* codes beyond the table */
	uint64_t buckets[N_BUCKETS + 1];
	double sum;
};

struct listener {
	struct exporter *x;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	int open_handles;
	char addr[80]; /* as configured, for messages */
	unsigned port;
};

struct exporter {
	struct daemon *d;
	struct metrics *m;
	struct svc_stats svc[MAX_SERVICES];
	size_t n_svc;
	struct listener *l;
	int textfile_error; /* of the last write, logged once per streak */
	char *textfile;     /* the path that error is about */
};

/* ---- values ------------------------------------------------------------- */

static const char *
pname(const struct cfg_project *p)
{
	return p->name ? p->name : p->id;
}

void
mx_ear_valid(struct metrics *w, const struct cfg_project *p, const char *provider, bool valid)
{
	const char *v[] = {pname(p), p->id, provider};

	metrics_add(w, MX_EAR_VALID, v, valid ? 1 : 0);
}

void
mx_last_success(struct metrics *w, const struct cfg_project *p, const char *source, time_t at)
{
	const char *v[] = {pname(p), p->id, source};

	metrics_add(w, MX_LAST_SUCCESS, v, (double)at);
}

void
mx_credential_expiry(struct metrics *w, const struct cfg_project *p, const char *provider,
		     const char *credential, time_t at)
{
	const char *v[] = {pname(p), p->id, provider, credential};

	metrics_add(w, MX_CREDENTIAL_EXPIRY, v, (double)at);
}

void
mx_key_created(struct metrics *w, const struct cfg_project *p, const char *provider, time_t at)
{
	const char *v[] = {pname(p), p->id, provider};

	metrics_add(w, MX_KEY_CREATED, v, (double)at);
}

void
mx_key_deletion(struct metrics *w, const struct cfg_project *p, const char *provider, time_t at)
{
	const char *v[] = {pname(p), p->id, provider};

	metrics_add(w, MX_KEY_DELETION, v, (double)at);
}

void
mx_outbox_pending(struct metrics *w, const char *sink, uint64_t n)
{
	const char *v[] = {sink};

	metrics_add(w, MX_OUTBOX_PENDING, v, (double)n);
}

void
mx_deliveries(struct metrics *w, const char *sink, const char *result, uint64_t n)
{
	const char *v[] = {sink, result};

	metrics_add(w, MX_DELIVERIES, v, (double)n);
}

void
mx_facts_clear(struct mx_facts *f)
{
	free(f->credential);
	memset(f, 0, sizeof(*f));
}

void
mx_facts_write(const struct mx_facts *f, struct metrics *w, const struct cfg_project *p,
	       const char *provider)
{
	if (f->last_success)
		mx_last_success(w, p, provider, f->last_success);
	if (f->credential_expiry)
		mx_credential_expiry(w, p, provider, f->credential ? f->credential : "",
				     f->credential_expiry);
	if (f->key_created)
		mx_key_created(w, p, provider, f->key_created);
	if (f->key_deletion)
		mx_key_deletion(w, p, provider, f->key_deletion);
}

bool
mx_round_read_ok(const struct findings *f, enum check_id access)
{
	if (!f->evaluated[access])
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == access && f->v[i].severity != SEV_OK)
			return false;
	return true;
}

time_t
mx_finding_at(const struct findings *f, enum check_id c, const char **subject)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].check == c && f->v[i].has_at) {
			if (subject)
				*subject = f->v[i].subject;
			return f->v[i].at;
		}
	return 0;
}

/* ---- outgoing HTTP ------------------------------------------------------ */

static struct svc_stats *
svc_of(struct exporter *x, const char *name)
{
	if (!name)
		name = "other";
	for (size_t i = 0; i < x->n_svc; i++)
		if (strcmp(x->svc[i].name, name) == 0)
			return &x->svc[i];
	if (x->n_svc == MAX_SERVICES)
		return &x->svc[MAX_SERVICES - 1]; /* not reached: the services are ours */
	x->svc[x->n_svc].name = name;
	return &x->svc[x->n_svc++];
}

void
exporter_observe_http(void *arg, const char *service, long status, int curl_code,
		      int64_t total_us)
{
	struct exporter *x = arg;
	struct svc_stats *s = svc_of(x, service);
	long code = curl_code == 0 ? status : 0;
	double secs = (double)total_us / 1e6;
	size_t i, b;

	for (i = 0; i < s->n_codes && s->codes[i].code != code; i++)
		;
	if (i < s->n_codes) {
		s->codes[i].n++;
	} else if (s->n_codes < MAX_CODES) {
		s->codes[s->n_codes].code = code;
		s->codes[s->n_codes++].n = 1;
	} else {
		s->other++;
	}
	for (b = 0; b < N_BUCKETS && secs > duration_buckets[b]; b++)
		;
	s->buckets[b]++;
	s->sum += secs;
}

static void
requests_metrics(const struct exporter *x, struct metrics *w)
{
	for (size_t i = 0; i < x->n_svc; i++) {
		const struct svc_stats *s = &x->svc[i];
		const char *sv[] = {s->name};

		for (size_t j = 0; j < s->n_codes; j++) {
			char code[24];
			const char *v[] = {s->name, code};

			if (s->codes[j].code > 0)
				snprintf(code, sizeof(code), "%ld", s->codes[j].code);
			else
				snprintf(code, sizeof(code), "error");
			metrics_add(w, MX_REQUESTS, v, (double)s->codes[j].n);
		}
		if (s->other) {
			const char *v[] = {s->name, "other"};

			metrics_add(w, MX_REQUESTS, v, (double)s->other);
		}
		metrics_add_histogram(w, MX_REQUEST_DURATION, sv, s->buckets, s->sum);
	}
}

/* ---- one scrape ---------------------------------------------------------- */

/* kmswatch's own Atlas service-account secret belongs to no project: its
 * project labels are empty, provider is "atlas", credential the client
 * id (never the secret). */
static void
selfcred_metrics(const struct daemon *d, struct metrics *w)
{
	time_t at;

	if (d->selfcred && d->cfg && d->cfg->atlas.client_id &&
	    selfcred_expiry(d->selfcred, &at, NULL)) {
		const char *v[] = {"", "", "atlas", d->cfg->atlas.client_id};

		metrics_add(w, MX_CREDENTIAL_EXPIRY, v, (double)at);
	}
}

static int
gather(struct exporter *x, const char **text, size_t *len)
{
	struct daemon *d = x->d;
	struct metrics *w = x->m;
	const char *version[] = {PACKAGE_VERSION};

	metrics_begin(w);
	metrics_add(w, MX_BUILD_INFO, version, 1);
	/* O(alerts): the table once */
	for (const struct alert *a = d->alerts ? alerts_first(d->alerts) : NULL; a;
	     a = alerts_next(a)) {
		const char *v[] = {a->project_name ? a->project_name : a->project_id,
				   a->project_id, check_name(a->check), a->subject,
				   severity_name(a->severity)};

		if (a->announced && a->severity > SEV_INFO)
			metrics_add(w, MX_ALERT_FIRING, v, 1);
	}
	if (d->poller)
		poller_metrics(d->poller, w);
	if (d->providers)
		providers_metrics(d->providers, w);
	selfcred_metrics(d, w);
	requests_metrics(x, w);
	if (d->deliver)
		deliver_metrics(d->deliver, w);
	return metrics_render(w, text, len);
}

/* ---- the textfile -------------------------------------------------------- */

void
exporter_after_cycle(struct exporter *x)
{
	const char *path = x && x->d->cfg ? x->d->cfg->metrics.textfile : NULL;
	const char *text = NULL, *slash;
	char dir[4096];
	size_t len = 0;
	int r;

	if (!path)
		return;
	slash = strrchr(path, '/');
	if ((size_t)(slash - path) >= sizeof(dir))
		r = -ENAMETOOLONG;
	else if ((r = gather(x, &text, &len)) == 0) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash == path ? 1 : slash - path] = '\0';
		if (slash == path)
			dir[0] = '/';
		/* readable by node_exporter's textfile collector, which runs as
		 * another user */
		r = util_write_file_atomic(dir, slash + 1, text, len, 0644);
	}
	if (r < 0 && r != x->textfile_error)
		log_err("metrics: cannot write %s: %s; the previous file stays as it was, "
			"kmswatchd keeps running and tries again after the next poll",
			path, strerror(-r));
	else if (r == 0 && x->textfile_error)
		log_notice("metrics: %s is written again", path);
	x->textfile_error = r;
}

/* ---- the listener ------------------------------------------------------- */

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	util_sanitize(buf);
	log_debug("metrics: libmicrohttpd: %s", buf);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *body, size_t len,
      enum MHD_ResponseMemoryMode mode, const char *ctype)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size,
	   void **con_cls)
{
	static const char not_found[] = "not found: the metrics are at /metrics\n";
	static const char not_allowed[] = "only GET and HEAD\n";
	static const char failed[] = "cannot render the metrics: out of memory\n";
	struct listener *l = cls;
	const char *text;
	size_t len;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed,
			     sizeof(not_allowed) - 1, MHD_RESPMEM_PERSISTENT, "text/plain");
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, not_found, sizeof(not_found) - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	if (gather(l->x, &text, &len) < 0)
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, failed, sizeof(failed) - 1,
			     MHD_RESPMEM_PERSISTENT, "text/plain");
	/* a copy: the builder's buffer is the next scrape's, while this
	 * answer may still be on its way */
	return reply(conn, MHD_HTTP_OK, text, len, MHD_RESPMEM_MUST_COPY, METRICS_CONTENT_TYPE);
}

static void on_timer(uv_timer_t *t);

static unsigned
connections(const struct listener *l)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return i ? i->num_connections : 0;
}

static void
run(struct listener *l)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	/* MHD puts its listening socket back in its epoll set (taken out at
	 * the connection limit) at the start of a run, not when connections
	 * close during one, and nothing else would wake it: run again while
	 * a run closed connections */
	for (int i = 0; i < 4; i++) {
		unsigned before = connections(l);

		MHD_run(l->mhd);
		if (connections(l) >= before)
			break;
	}
	if (MHD_get_timeout(l->mhd, &ms) == MHD_YES)
		uv_timer_start(&l->timer, on_timer, (uint64_t)ms, 0);
	else
		uv_timer_stop(&l->timer);
}

static void
on_timer(uv_timer_t *t)
{
	run(t->data);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	run(p->data);
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct listener *l = h->data;

	if (--l->open_handles == 0)
		free(l);
}

static void
listener_close(struct listener *l)
{
	if (!l)
		return;
	uv_close((uv_handle_t *)&l->poll, on_listener_closed);
	uv_close((uv_handle_t *)&l->timer, on_listener_closed);
	/* the poll handle is out of libuv's epoll set now: the fds may go */
	MHD_stop_daemon(l->mhd);
	l->mhd = NULL;
}

static int
bind_socket(const struct config *cfg, int *out)
{
	struct sockaddr_storage ss = {0};
	socklen_t sl;
	int fd, one = 1, r;

	if (cfg->metrics.listen_v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->metrics.listen_port);
		if (inet_pton(AF_INET6, cfg->metrics.listen_host, &s6->sin6_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->metrics.listen_port);
		if (inet_pton(AF_INET, cfg->metrics.listen_host, &s4->sin_addr) != 1)
			return -EINVAL;
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* a restart must not wait for TIME_WAIT; [::] means IPv6 only */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (cfg->metrics.listen_v6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*out = fd;
	return 0;
}

static int
listener_open(struct exporter *x, const struct config *cfg, struct listener **out)
{
	struct listener *l;
	const union MHD_DaemonInfo *info;
	int fd = -1, r;

	if ((r = bind_socket(cfg, &fd)) < 0)
		return r;
	if (!(l = calloc(1, sizeof(*l)))) {
		close(fd);
		return -ENOMEM;
	}
	l->x = x;
	snprintf(l->addr, sizeof(l->addr), "%s", cfg->metrics.listen);
	l->port = cfg->metrics.listen_port;
	/* MHD_USE_EPOLL without a thread: we poll its epoll fd */
	l->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
					  (cfg->metrics.listen_v6 ? MHD_USE_IPv6 : 0),
				  (uint16_t)cfg->metrics.listen_port, NULL, NULL, on_request, l,
				  MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, MHD_OPTION_END);
	if (!l->mhd) {
		close(fd);
		free(l);
		return -EIO;
	}
	info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0 || uv_poll_init(x->d->loop, &l->poll, info->epoll_fd) < 0) {
		MHD_stop_daemon(l->mhd);
		free(l);
		return -EIO;
	}
	uv_timer_init(x->d->loop, &l->timer);
	l->poll.data = l->timer.data = l;
	l->open_handles = 2;
	uv_poll_start(&l->poll, UV_READABLE, on_poll);
	*out = l;
	return 0;
}

static void
log_bind_error(const struct config *cfg, int r, bool reload)
{
	log_err("metrics: cannot listen on %s (metrics.listen in %s): %s%s", cfg->metrics.listen,
		cfg->path ? cfg->path : "the configuration",
		r == -EIO ? "libmicrohttpd cannot serve it" : strerror(-r),
		reload ? "; the previous listener stays" : "");
}

int
exporter_configure(struct exporter *x, const struct config *cfg)
{
	struct listener *nl = NULL;
	int r;

	if (!util_streq(x->textfile, cfg->metrics.textfile)) {
		/* a new path: its first failure is news */
		free(x->textfile);
		x->textfile = util_strdup(cfg->metrics.textfile);
		x->textfile_error = 0;
	}

	if (x->l && util_streq(x->l->addr, cfg->metrics.listen))
		return 0;
	if (!cfg->metrics.listen) {
		if (x->l)
			log_notice("metrics: no longer listening on %s", x->l->addr);
		listener_close(x->l);
		x->l = NULL;
		return 0;
	}
	r = listener_open(x, cfg, &nl);
	if (r == -EADDRINUSE && x->l && x->l->port == cfg->metrics.listen_port) {
		/* perhaps our own listener holds the port (127.0.0.1:P to
		 * 0.0.0.0:P): let it go, then try again */
		char old[sizeof(x->l->addr)];
		struct config prev = {0};

		snprintf(old, sizeof(old), "%s", x->l->addr);
		listener_close(x->l);
		x->l = NULL;
		r = listener_open(x, cfg, &nl);
		if (r < 0) {
			log_bind_error(cfg, r, false);
			prev.metrics.listen = old;
			if (cfg_parse_listen(old, prev.metrics.listen_host,
					     sizeof(prev.metrics.listen_host),
					     &prev.metrics.listen_port, &prev.metrics.listen_v6, NULL,
					     0) == 0 &&
			    listener_open(x, &prev, &x->l) == 0)
				log_warn("metrics: still listening on %s", old);
			else
				log_err("metrics: cannot listen on %s again either: no metrics "
					"are served until a reload fixes metrics.listen",
					old);
			return r;
		}
	} else if (r < 0) {
		log_bind_error(cfg, r, x->l != NULL);
		return r;
	}
	if (x->l)
		log_notice("metrics: listening on %s instead of %s", nl->addr, x->l->addr);
	else
		log_info("metrics: listening on %s", nl->addr);
	listener_close(x->l);
	x->l = nl;
	return 0;
}

/* ---- life ----------------------------------------------------------------- */

int
exporter_new(struct daemon *d, struct exporter **out)
{
	struct exporter *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return -ENOMEM;
	x->d = d;
	if ((r = metrics_new(families, MX__COUNT, &x->m)) < 0) {
		free(x);
		return r;
	}
	if (!MHD_is_feature_supported(MHD_FEATURE_EPOLL)) {
		log_err("metrics: this libmicrohttpd lacks epoll support");
		metrics_free(x->m);
		free(x);
		return -ENOTSUP;
	}
	*out = x;
	return 0;
}

void
exporter_free(struct exporter *x)
{
	if (!x)
		return;
	listener_close(x->l);
	metrics_free(x->m);
	free(x->textfile);
	free(x);
}
