/*
 * once — `kmswatchd --once`: every check once, the results printed as a
 * table, JSON or a Nagios status line, and the Nagios exit code (0 ok,
 * 1 warning, 2 critical, 3 unknown). It reads no state and sends nothing.
 */
#ifndef KMSWATCH_ONCE_H
#define KMSWATCH_ONCE_H

enum once_format { ONCE_TEXT, ONCE_JSON, ONCE_NAGIOS };

int once_run(const char *config_path, enum once_format fmt);

#endif
