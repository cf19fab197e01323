/* SPDX-License-Identifier: ISC */
/*
 * once — `kmswatchd --once`: every check once, the results printed as a
 * table, JSON or a Nagios status line, and the Nagios exit code (0 ok,
 * 1 warning, 2 critical, 3 unknown). It reads no state and sends nothing.
 */
#ifndef KMSWATCH_ONCE_H
#define KMSWATCH_ONCE_H

#include <stddef.h>
#include <stdint.h>

enum once_format { ONCE_TEXT, ONCE_JSON, ONCE_NAGIOS };

#define ONCE_DEFAULT_TIMEOUT 50 /* seconds: under Nagios's usual 60 */

struct once_opts {
	enum once_format fmt;
	const char *const *projects; /* --project NAME|ID..., or none: all */
	size_t n_projects;
	int64_t timeout; /* seconds */
};

int once_run(const char *config_path, const struct once_opts *opts);

#endif
