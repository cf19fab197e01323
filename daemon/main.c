/* SPDX-License-Identifier: ISC */
/*
 * main — the command line of kmswatchd (docs/INTERFACE.md): run the daemon,
 * validate a config (-t), or run every check once (--once).
 */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "daemon.h"
#include "json.h"
#include "log.h"
#include "once.h"
#include "util.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: kmswatchd [-c FILE] [-d]              run as a daemon (foreground)\n"
		"       kmswatchd -t [-c FILE]               validate the configuration\n"
		"       kmswatchd --once [-c FILE] [--format text|json|nagios]\n"
		"                        [--project NAME|ID]... [--timeout DURATION]\n"
		"                                            run every check once\n"
		"       kmswatchd --version | --help\n"
		"\n"
		"  -c, --config FILE  configuration file (default %s)\n"
		"  -t, --test         check the configuration and exit: 0 valid, 1 not\n"
		"      --once         run every check once; exit 0 ok, 1 warning,\n"
		"                     2 critical, 3 unknown\n"
		"      --format FMT   output of --once: text (default), json, nagios\n"
		"      --project P    --once: only project P (name or id); repeatable\n"
		"      --timeout D    --once: give up after D (default 50s), exit 3\n"
		"  -d, --debug        also log debug messages\n"
		"\n"
		"See kmswatchd(8) and kmswatch.yaml(5).\n",
		CFG_DEFAULT_PATH);
}

static int
test_config(const char *path)
{
	struct config *cfg = NULL;
	struct cfg_diag diag = {0};
	int r = cfg_load_flags(path, CFG_LOAD_CHECK_ONLY, &cfg, &diag);

	for (size_t i = 0; i < diag.n_warnings; i++)
		fprintf(stderr, "%s\n", diag.warnings[i]);
	if (r < 0) {
		if (diag.n == 0)
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
		for (size_t i = 0; i < diag.n; i++)
			fprintf(stderr, "%s\n", diag.lines[i]);
		cfg_diag_free(&diag);
		return 1;
	}
	cfg_diag_free(&diag);
	printf("%s: configuration valid: %zu project%s%s, %zu sink%s, state in %s\n", path,
	       cfg->n_projects, cfg->n_projects == 1 ? "" : "s",
	       cfg->discover.enabled ? " and those discover: finds" : "", cfg->n_sinks,
	       cfg->n_sinks == 1 ? "" : "s", cfg_state_dir(cfg));
	for (size_t i = 0; i < cfg->n_sinks; i++)
		if (cfg->sinks[i].insecure)
			printf("%s: warning: sink %s has insecure: true: its alerts may go over "
			       "plain http://\n",
			       path, cfg->sinks[i].name);
	cfg_free(cfg);
	return 0;
}

/* The process holds secrets (Atlas and Azure credentials, webhook keys):
 * no core file (a crash under systemd-coredump or a core_pattern pipe
 * would keep them), no ptrace or /proc/PID/mem by other processes of the
 * user. Both are checked: a daemon that cannot promise this does not run. */
static int
no_core_dumps(void)
{
	const struct rlimit zero = {0, 0};
	struct rlimit now;

	/* under the unit's seccomp filter (@resources denied) setrlimit is
	 * refused, and LimitCORE=0 has already done it */
	if (setrlimit(RLIMIT_CORE, &zero) < 0 &&
	    (getrlimit(RLIMIT_CORE, &now) < 0 || now.rlim_cur != 0 || now.rlim_max != 0)) {
		fprintf(stderr, "kmswatchd: cannot disable core dumps (setrlimit): %s\n",
			strerror(errno));
		return 1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0 || prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) {
		fprintf(stderr, "kmswatchd: cannot mark the process non-dumpable (prctl): %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	enum { OPT_ONCE = 256, OPT_FORMAT, OPT_VERSION, OPT_PROJECT, OPT_TIMEOUT };
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"test", no_argument, NULL, 't'},
		{"debug", no_argument, NULL, 'd'},
		{"once", no_argument, NULL, OPT_ONCE},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"project", required_argument, NULL, OPT_PROJECT},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		{"version", no_argument, NULL, OPT_VERSION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *path = CFG_DEFAULT_PATH;
	enum once_format fmt = ONCE_TEXT;
	bool test = false, once = false, debug = false, fmt_set = false, once_only = false;
	const char **projects = NULL;
	size_t n_projects = 0;
	int64_t timeout = ONCE_DEFAULT_TIMEOUT;
	int c, rc;

	while ((c = getopt_long(argc, argv, "c:tdh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'd':
			debug = true;
			break;
		case OPT_ONCE:
			once = true;
			break;
		case OPT_FORMAT:
			fmt_set = true;
			if (strcmp(optarg, "text") == 0)
				fmt = ONCE_TEXT;
			else if (strcmp(optarg, "json") == 0)
				fmt = ONCE_JSON;
			else if (strcmp(optarg, "nagios") == 0)
				fmt = ONCE_NAGIOS;
			else {
				fprintf(stderr, "kmswatchd: --format: expected text, json or nagios, "
						"not \"%s\"\n", optarg);
				return 3;
			}
			break;
		case OPT_PROJECT: {
			const char **n = realloc(projects, (n_projects + 1) * sizeof(*n));

			if (!n) {
				fprintf(stderr, "kmswatchd: out of memory\n");
				return 3;
			}
			projects = n;
			projects[n_projects++] = optarg;
			once_only = true;
			break;
		}
		case OPT_TIMEOUT:
			once_only = true;
			if (util_parse_duration(optarg, &timeout) < 0 || timeout < 1) {
				fprintf(stderr, "kmswatchd: --timeout: expected a duration such as 50s "
						"or 2m, not \"%s\"\n", optarg);
				free(projects);
				return 3;
			}
			break;
		case OPT_VERSION:
			free(projects);
			printf("kmswatchd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return once ? 3 : 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kmswatchd: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 1;
	}
	if ((test && once) || ((fmt_set || once_only) && !once)) {
		fprintf(stderr, "kmswatchd: %s\n",
			test && once ? "-t and --once exclude each other"
				     : "--format, --project and --timeout only apply to --once");
		free(projects);
		return 1;
	}
	if ((rc = no_core_dumps()) != 0)
		return rc;
	kj_wipe_on_free();
	if (test) {
		log_init(1, debug);
		log_set_journal(false);
		return test_config(path);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "kmswatchd: cannot initialise libcurl\n");
		return once ? 3 : 1;
	}
	if (once) {
		/* A one-shot check talks to its caller, not to the journal. */
		log_init(1, debug);
		log_set_journal(false);
		log_set_max_priority(LOG_WARNING);
		struct once_opts oo = {.fmt = fmt, .projects = projects, .n_projects = n_projects,
				       .timeout = timeout};

		rc = once_run(path, &oo);
	} else {
		/* Large blocks (the state documents are megabytes at 10,000
		 * projects) go back to the kernel when freed. Left to itself,
		 * glibc raises its mmap threshold to the largest block freed
		 * and serves later ones from the heap, which keeps them for
		 * good. */
		mallopt(M_MMAP_THRESHOLD, 256 * 1024);
		log_init(-1, debug);
		rc = daemon_run(path);
	}
	curl_global_cleanup();
	cfg_env_secrets_free();
	free(projects);
	return rc;
}
