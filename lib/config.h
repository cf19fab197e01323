/* SPDX-License-Identifier: ISC */
/*
 * config — the YAML configuration of docs/INTERFACE.md: parsed with libyaml into
 * plain structs, validated, secret references resolved. Every problem is
 * reported as "FILE:LINE:COLUMN: message" (1-based); a config with any
 * problem is never returned. Owns all memory it returns (cfg_free).
 */
#ifndef KMSWATCH_CONFIG_H
#define KMSWATCH_CONFIG_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "checks.h"

#define CFG_DEFAULT_PATH SYSCONFDIR "/kmswatch/kmswatch.yaml"
#define CFG_DEFAULT_STATE_DIR LOCALSTATEDIR "/lib/kmswatch"

enum secret_source {
	SECRET_UNSET = 0,
	SECRET_PLAIN,      /* a string in the YAML itself */
	SECRET_FILE,       /* {file: PATH} */
	SECRET_ENV,        /* {env: NAME} */
	SECRET_CREDENTIAL, /* {credential: NAME} -> $CREDENTIALS_DIRECTORY/NAME */
};

/* A secret value. `value` holds the resolved secret (trailing newline
 * stripped); it is wiped on cfg_free and must never be logged. `ref` is the
 * non-secret reference (path, variable or credential name) for messages. */
struct cfg_secret {
	enum secret_source source;
	char *ref;
	char *value;
	int line, column;
};

struct cfg_threshold {
	bool enabled;
	int64_t warning;  /* seconds */
	int64_t critical; /* seconds */
};

struct cfg_checks {
	struct cfg_threshold secret_expiry; /* default 30d / 7d */
	struct cfg_threshold key_age;       /* default 75d / 90d */
	struct cfg_threshold key_expiry;    /* default 30d / 7d */
	bool include_future_node_ips;       /* allowlist, default true */
	/* any check can be turned off: checks: {ear.clusters: {enabled: false}}
	 * (the threshold blocks above also switch their check) */
	bool enabled[CHK__COUNT];
};

/* Every check on, with docs/INTERFACE.md's default thresholds: what a config
 * without `checks:` gets, and what a pure check given no cfg_checks uses. */
extern const struct cfg_checks cfg_default_checks;

/*
 * Each provider's part of the configuration (its `<name>:` section and
 * `<name>_interval`) is its own struct, declared in lib/<name>_config.h and
 * read by lib/<name>_config.c; it starts with this.
 */
struct cfg_provider {
	bool configured;  /* the `<name>:` section is in the file */
	int64_t interval; /* `<name>_interval`, seconds (its section's default: 1h) */
};

struct cfg_azure_identity; /* lib/azure_config.h */

struct cfg_project {
	char *id;   /* 24 hex */
	char *name; /* defaults to id */
	enum provider expect_provider; /* PROV_NONE: not set */
	/* each provider's block of the entry (`<name>:`), a struct of the
	 * provider's own (lib/<name>_config.h); NULL when the entry has none */
	void *block[PROV__COUNT];
	struct cfg_checks checks; /* global merged with overrides */
	int line, column;
};

enum sink_type {
	SINK_WEBHOOK = 0,
	SINK_SLACK,
	SINK_MATTERMOST,
	SINK_TEAMS,
	SINK_PAGERDUTY,
	SINK_ALERTMANAGER,
};
const char *sink_type_name(enum sink_type t);

struct cfg_sink {
	char *name;
	enum sink_type type;
	struct cfg_secret url;         /* required except for pagerduty */
	struct cfg_secret secret;      /* webhook signing secret, optional */
	struct cfg_secret routing_key; /* pagerduty */
	enum severity min_severity;    /* default SEV_INFO */
	char *ca_file;                 /* extra trust anchors for this sink, optional */
	int64_t min_interval_ms;       /* rate limit between posts; default 1s for
					  slack, mattermost and teams, 0 otherwise */
	int64_t max_age;               /* seconds an event may wait before it is
					  given up (journaled); default 72h */
	int64_t resend_interval;       /* alertmanager: re-post firing alerts this
					  often (seconds), default 60 */
	bool insecure;                 /* plain http:// to a host other than loopback
					  allowed (the operator said so) */
	int line, column;
};

struct cfg_silence {
	char *project; /* name or id; NULL = all */
	char *check;   /* check id; NULL = all */
	time_t until;
	char *comment;
};

/* discover: watch every project the Atlas identity can read (docs/INTERFACE.md) */
struct cfg_discover {
	bool enabled;          /* the key is present */
	char **org_ids;        /* 24 hex, lower case; none: GET /groups */
	size_t n_org_ids;
	int64_t interval;      /* seconds, default 3600 */
	/* POSIX extended regexes on the project name, compiled with
	 * REG_EXTENDED|REG_NOSUB; no include: every name */
	char **include, **exclude;
	regex_t *include_re, *exclude_re;
	size_t n_include, n_exclude;
	int line, column;
};

enum atlas_auth { ATLAS_AUTH_SERVICE_ACCOUNT = 1, ATLAS_AUTH_API_KEY };

struct config {
	char *path;
	int64_t poll_interval;  /* seconds, default 300 */
	int64_t events_interval; /* atlas.events reads, seconds, default 900 */
	char *state_dir;        /* NULL: not set in the file */

	struct {
		char *base_url; /* default https://cloud.mongodb.com, no trailing / */
		enum atlas_auth auth;
		char *client_id;              /* service account */
		struct cfg_secret client_secret;
		char *public_key;             /* API key */
		struct cfg_secret private_key;
		char *ca_file;
		/* extensions of docs/INTERFACE.md for atlas.credential_expiry:
		 * the service account's organization (NULL: learnt from the
		 * projects) and how often its secrets are read (default 1h) */
		char *org_id;
		int64_t credential_interval;
	} atlas;

	/* every provider of kms_table, indexed by enum provider (PROV_NONE:
	 * NULL); reach one through its accessor, e.g. cfg_azure(cfg) */
	struct cfg_provider *provider[PROV__COUNT];

	/* extension of docs/INTERFACE.md: HTTP client tuning */
	struct {
		int64_t connect_timeout_ms; /* default 10s */
		int64_t timeout_ms;         /* total per transfer, default 30s */
		int max_concurrent;         /* transfers in flight, default 16 */
		size_t max_response_bytes;  /* default 4 MiB */
	} http;

	struct cfg_project *projects; /* may be empty when discover is set */
	size_t n_projects;
	struct cfg_checks checks;
	struct cfg_discover discover;

	struct {
		int64_t repeat_interval; /* default 4h */
		bool send_resolved;      /* default true */
		/* flapping guard: consecutive observations a new state must
		 * hold before it is announced */
		int confirm_firing;      /* default 1 */
		int confirm_resolved;    /* default 2 */
	} alerts;

	struct cfg_sink *sinks;
	size_t n_sinks;
	struct cfg_silence *silences;
	size_t n_silences;

	/* metrics: the Prometheus exposition (both optional) */
	struct {
		char *listen;       /* as written; NULL: no listener */
		char listen_host[48]; /* numeric IPv4 or IPv6 address */
		unsigned listen_port;
		bool listen_v6;
		char *textfile;     /* absolute path; NULL: none */
	} metrics;
};

/* Problems found while loading: each line is "FILE:LINE:COLUMN: message".
 * Warnings (CFG_LOAD_CHECK_ONLY only) do not fail the load. */
struct cfg_diag {
	char **lines;
	size_t n;
	char **warnings;
	size_t n_warnings;
};
void cfg_diag_free(struct cfg_diag *d);

/* Parse, validate and resolve secrets. Returns 0 and a new config in *out,
 * or a negative errno with every problem listed in diag (-EINVAL for
 * content problems, other errnos when the file itself cannot be read). */
int cfg_load(const char *path, struct config **out, struct cfg_diag *diag);
enum cfg_load_flag {
	/* kmswatchd -t outside the unit: {credential: NAME} without
	 * $CREDENTIALS_DIRECTORY is looked up where LoadCredential=NAME would
	 * find it (/etc/credstore, /run/credstore, /usr/lib/credstore); not
	 * found is a warning, and the secret stays unset */
	CFG_LOAD_CHECK_ONLY = 1u << 0,
	/* --once: the sinks' secrets are not read (refs are kept) */
	CFG_LOAD_NO_SINK_SECRETS = 1u << 1,
};
int cfg_load_flags(const char *path, unsigned flags, struct config **out,
		   struct cfg_diag *diag);
/* The same from memory; `path` only names the source in messages and is
 * the file whose permissions decide whether plain secrets are allowed
 * (pass NULL to skip that check, tests only). */
int cfg_load_buffer(const char *path, const char *yaml, size_t len,
		    struct config **out, struct cfg_diag *diag);
int cfg_load_buffer_flags(const char *path, const char *yaml, size_t len, unsigned flags,
			  struct config **out, struct cfg_diag *diag);
void cfg_free(struct config *cfg);
/* Keeps only the projects named (by id or name) in wanted[0..n-1], in
 * config order (--once --project). -ENOENT with *unknown set when one of
 * them is not in the config; then nothing is dropped. */
int cfg_keep_projects(struct config *cfg, const char *const *wanted, size_t n,
		      const char **unknown);

const struct cfg_project *cfg_find_project(const struct config *cfg, const char *id);
/* The longest of the poll interval and every provider's round interval,
 * in seconds: how long one pass over everything takes at most. */
int64_t cfg_longest_round(const struct config *cfg);
/* State directory: $STATE_DIRECTORY (first entry), else state_dir:, else
 * the built-in default. */
const char *cfg_state_dir(const struct config *cfg);

/* metrics.listen: "HOST:PORT" with a numeric IPv4 HOST, "[IPv6]:PORT",
 * or a bare "PORT" / ":PORT" (loopback, 127.0.0.1). 0, or -EINVAL with
 * why set. host holds at least 48 bytes. */
int cfg_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, bool *v6,
		     char *why, size_t whylen);

/* Wipes the {env:} secrets taken out of the environment (config.c keeps
 * them for reloads); at exit. */
void cfg_env_secrets_free(void);

#endif
