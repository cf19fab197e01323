/* SPDX-License-Identifier: ISC */
/*
 * log — see log.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "msgid.h"
#include "render.h"
#include "util.h"

static bool log_to_stderr = true;
static bool log_to_journal = true;
static bool log_debug_on;
static int log_max_priority = LOG_DEBUG;

/* stderr is the journal when $JOURNAL_STREAM names its device:inode
 * (systemd.exec(5)); then printing there too would log everything twice. */
static bool
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(int to_stderr, bool debug)
{
	log_to_stderr = to_stderr < 0 ? !stderr_is_journal() : to_stderr;
	log_debug_on = debug;
}

void
log_set_max_priority(int priority)
{
	log_max_priority = priority;
}

void
log_set_journal(bool on)
{
	log_to_journal = on;
}

static const char *
prio_name(int p)
{
	static const char *names[] = {"emerg", "alert", "crit", "error",
				      "warning", "notice", "info", "debug"};
	return p >= 0 && p < 8 ? names[p] : "?";
}

void
log_msg(int priority, const char *msgid, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int saved = errno;

	if ((priority == LOG_DEBUG && !log_debug_on) ||
	    (priority > log_max_priority && !log_debug_on))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_to_journal) {
		if (msgid)
			sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", priority,
					"MESSAGE_ID=%s", msgid, "SYSLOG_IDENTIFIER=" LOG_IDENT,
					NULL);
		else
			sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%d", priority,
					"SYSLOG_IDENTIFIER=" LOG_IDENT, NULL);
	}
	if (log_to_stderr)
		fprintf(stderr, LOG_IDENT ": %s: %s\n", prio_name(priority), buf);
	errno = saved;
}

static char *field(const char *name, const char *value);

void
log_project(int priority, const char *msgid, const char *project_id, const char *project_name,
	    const char *fmt, ...)
{
	char buf[2048], *f[6] = {0};
	struct iovec iov[6];
	size_t n = 0;
	va_list ap;
	int saved = errno;
	bool ok = true;

	if (priority > log_max_priority && !log_debug_on)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_to_journal) {
		f[n++] = field("MESSAGE", buf);
		f[n++] = util_asprintf("PRIORITY=%d", priority);
		f[n++] = util_asprintf("MESSAGE_ID=%s", msgid);
		f[n++] = util_strdup("SYSLOG_IDENTIFIER=" LOG_IDENT);
		f[n++] = field("KMSWATCH_PROJECT_ID", project_id);
		f[n++] = field("KMSWATCH_PROJECT_NAME", project_name);
		for (size_t i = 0; i < n; i++) {
			ok = ok && f[i] != NULL;
			if (f[i]) {
				iov[i].iov_base = f[i];
				iov[i].iov_len = strlen(f[i]);
			}
		}
		if (ok)
			sd_journal_sendv(iov, (int)n);
		for (size_t i = 0; i < n; i++)
			free(f[i]);
	}
	if (log_to_stderr)
		fprintf(stderr, LOG_IDENT ": %s: %s\n", prio_name(priority), buf);
	errno = saved;
}

static int
event_priority(const struct alert_event *ev)
{
	return ev->kind == EV_RESOLVED ? 5 : severity_priority(ev->severity);
}

/* Journal field values may not contain newlines unless sent as binary;
 * everything we send is one line, so flatten defensively. */
static char *
field(const char *name, const char *value)
{
	char *s = util_asprintf("%s=%s", name, value ? value : "");

	for (char *p = s ? strchr(s, '=') : NULL; p && *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

int
log_event(const struct alert_event *ev, const char *note)
{
	char *line = NULL, *msg = NULL, *f[24] = {0};
	struct iovec iov[24];
	size_t n = 0;
	int r = 0;

	if (render_line(ev, &line) < 0)
		return -ENOMEM;
	msg = note ? util_asprintf("%s [%s]", line, note) : util_strdup(line);
	if (!msg) {
		free(line);
		return -ENOMEM;
	}
	if (log_to_stderr)
		fprintf(stderr, LOG_IDENT ": %s: %s\n", prio_name(event_priority(ev)), msg);
	if (!log_to_journal)
		goto out;
	f[n++] = field("MESSAGE", msg);
	f[n++] = util_asprintf("MESSAGE_ID=%s", check_msgid(ev->check));
	f[n++] = util_asprintf("PRIORITY=%d", event_priority(ev));
	f[n++] = util_strdup("SYSLOG_IDENTIFIER=" LOG_IDENT);
	f[n++] = util_asprintf("KMSWATCH_EVENT=%s", event_kind_name(ev->kind));
	f[n++] = util_asprintf("KMSWATCH_CHECK=%s", check_name(ev->check));
	f[n++] = util_asprintf("KMSWATCH_SEVERITY=%s", severity_name(ev->severity));
	f[n++] = util_asprintf("KMSWATCH_PREVIOUS_SEVERITY=%s",
			       severity_name(ev->previous_severity));
	if (alert_event_is_self(ev)) {
		/* about no project: kmswatch's own Atlas credential */
		if (ev->org_id && *ev->org_id)
			f[n++] = field("KMSWATCH_ORG_ID", ev->org_id);
	} else {
		f[n++] = field("KMSWATCH_PROJECT_ID", ev->project_id);
		f[n++] = field("KMSWATCH_PROJECT_NAME", ev->project_name);
	}
	f[n++] = util_asprintf("KMSWATCH_PROVIDER=%s", provider_name(ev->provider));
	f[n++] = field("KMSWATCH_SUBJECT", ev->subject);
	f[n++] = util_asprintf("KMSWATCH_ALERT_ID=%s", ev->alert_id);
	if (ev->has_days_left)
		f[n++] = util_asprintf("KMSWATCH_DAYS_LEFT=%lld", (long long)ev->days_left);
	if (ev->has_age_days)
		f[n++] = util_asprintf("KMSWATCH_AGE_DAYS=%lld", (long long)ev->age_days);
	if (ev->missing)
		f[n++] = field("KMSWATCH_MISSING", ev->missing);
	if (note)
		f[n++] = field("KMSWATCH_HELD", note);
	for (size_t i = 0; i < n; i++) {
		if (!f[i]) {
			r = -ENOMEM;
			goto out;
		}
		iov[i].iov_base = f[i];
		iov[i].iov_len = strlen(f[i]);
	}
	r = sd_journal_sendv(iov, (int)n);
out:
	for (size_t i = 0; i < n; i++)
		free(f[i]);
	free(msg);
	free(line);
	return r;
}
