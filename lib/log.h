/* SPDX-License-Identifier: ISC */
/*
 * log — the daemon's voice: journald when it is reachable (structured
 * fields, MESSAGE_IDs), and stderr as well whenever stderr is not itself
 * the journal (a terminal, a pipe), one line per message, so nothing is only
 * in one place by accident. Secrets must never be passed in.
 */
#ifndef KMSWATCH_LOG_H
#define KMSWATCH_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "alerts.h"

#define LOG_IDENT "kmswatchd"

/* Decides the outputs: to_stderr is forced on/off with 1/0, or decided
 * from $JOURNAL_STREAM with -1. debug enables LOG_DEBUG messages. */
void log_init(int to_stderr, bool debug);
/* Messages less urgent than this are dropped (default LOG_INFO; LOG_DEBUG
 * with debug). --once keeps stderr to warnings so its output is the report. */
void log_set_max_priority(int priority);
/* When false, messages go to stderr only (e.g. `-t` and `--once`). */
void log_set_journal(bool on);

void log_msg(int priority, const char *msgid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A message about one project, with its MESSAGE_ID and the
 * KMSWATCH_PROJECT_ID and KMSWATCH_PROJECT_NAME fields (discover's
 * "project discovered" and "no longer visible"). */
void log_project(int priority, const char *msgid, const char *project_id,
		 const char *project_name, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
#define log_err(...) log_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, NULL, __VA_ARGS__)

/* One journal entry per event with the docs/INTERFACE.md fields; `note` (may be
 * NULL) is appended to MESSAGE, e.g. a silence. Returns the journald
 * result (0 or negative errno; stderr output does not fail). */
int log_event(const struct alert_event *ev, const char *note);

#endif
