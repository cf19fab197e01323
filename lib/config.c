/* SPDX-License-Identifier: ISC */
/*
 * config — owns the YAML configuration of docs/INTERFACE.md: reading the file,
 * turning libyaml's events into a small node tree, checking every key
 * against the tables below, resolving secret references, and the struct
 * config that results. Every problem becomes one line
 * "FILE:LINE:COLUMN: PATH: message" in struct cfg_diag; all problems are
 * collected (up to CFG_MAX_PROBLEMS), and a config with any problem is
 * never returned. Each provider's sections are its own (lib/<p>_config.c,
 * through config_keys.h): this file reaches them by kms_table and names
 * no provider.
 *
 * Decisions worth knowing:
 * - YAML anchors and aliases are refused. They save little in a file this
 *   size, and refusing them rules out alias bombs and shared nodes that
 *   would make "where is the problem" ambiguous.
 * - A plain null ("", "~", "null") where a mapping or a list is expected
 *   counts as empty, so a block whose entries are all commented out is
 *   still valid.
 * - Secrets: every scalar we take from libyaml is wiped when the tree is
 *   freed, resolved secret values are wiped by cfg_free, and libyaml's
 *   input buffers and queued tokens are wiped before the parser is freed.
 *   libyaml's scanner also builds short-lived copies of each scalar that it
 *   frees itself without wiping; those we cannot reach, which is one more
 *   reason to prefer {credential:} or {file:} over plain-text secrets.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uthash.h>
#include <yaml.h>

#include "config.h"
#include "config_keys.h"
#include "kms.h"
#include "util.h"

/* room for tens of thousands of projects (about 50 bytes each) */
#define CFG_MAX_FILE (16 * 1024 * 1024)
#define CFG_MAX_SECRET (64 * 1024)
#define CFG_MAX_DEPTH 64
#define CFG_MAX_PROBLEMS 100
#define CFG_MAX_DURATION (3650 * 86400LL)    /* ten years: keeps ms math safe */
#define QUOTE_MAX 64			     /* bytes of a value echoed in a message */

/* ---- the node tree ------------------------------------------------------ */

/* A problem waiting to be sorted into file order: projects and silences
 * are read after the rest, wherever they stand. */
struct problem {
	int line, col;
	size_t seq;
	char *text;
};

/* An index entry of the project ids (or names) read so far, for the
 * duplicate checks: a linear search per project would make loading
 * 10,000 projects quadratic. */
struct seen_name {
	const char *key;
	size_t idx;
	UT_hash_handle hh;
};

struct ctx {
	const char *file;
	struct cfg_diag *diag;
	struct problem *pv;
	size_t pn;
	struct config *cfg;
	const char *input; /* for positions of encoding errors */
	size_t input_len;
	char path[256]; /* key path of the node being read, for messages */
	size_t plen;
	unsigned problems;
	bool oom;
	bool refused; /* anchors/aliases: the tree is not worth validating */
	struct seen_name *ids, *names, *seen_slots; /* load_projects only */
	enum { MODE_SKIP, MODE_KNOWN, MODE_ERROR } mode_state;
	mode_t mode;
	int mode_errno;
	unsigned flags;  /* enum cfg_load_flag */
	bool in_sink;    /* load_sink is walking a sink */
	/* the top level's and a project entry's keys: the fixed ones and
	 * every provider's (tables_build) */
	struct keydef top_keys[CFG_MAX_KEYS + 1], project_keys[CFG_MAX_KEYS + 1];
	struct enumdef provider_names[PROV__COUNT + 1]; /* expect_provider */
};

/* ---- diagnostics -------------------------------------------------------- */

static void
problem_add(struct ctx *c, int line, int col, char *text)
{
	struct problem *n;

	if (text == NULL) {
		c->oom = true;
		return;
	}
	n = realloc(c->pv, (c->pn + 1) * sizeof(*c->pv));
	if (n == NULL) {
		free(text);
		c->oom = true;
		return;
	}
	c->pv = n;
	c->pv[c->pn] = (struct problem){line, col, c->pn, text};
	c->pn++;
}

static void vproblem_at(struct ctx *c, int line, int col, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* line 0: a problem with the file as a whole ("FILE: message") */
static void
vproblem_at(struct ctx *c, int line, int col, const char *fmt, va_list ap)
{
	char msg[1024];

	if (c->problems++ > CFG_MAX_PROBLEMS)
		return;
	if (c->problems > CFG_MAX_PROBLEMS) {
		problem_add(c, INT_MAX, 0,
			    util_asprintf("%s: too many problems, stopping here", c->file));
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line <= 0)
		problem_add(c, 0, 0, util_asprintf("%s: %s", c->file, msg));
	else
		problem_add(c, line, col,
			    util_asprintf("%s:%d:%d: %s%s%s", c->file, line, col, c->path,
					  c->plen > 0 ? ": " : "", msg));
}

void
problem_at(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem_at(c, line, col, fmt, ap);
	va_end(ap);
}

unsigned
cfg_problems(const struct ctx *c)
{
	return c->problems;
}

void
cfg_oom(struct ctx *c)
{
	c->oom = true;
}

static void warning(struct ctx *c, const struct node *v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Only with CFG_LOAD_CHECK_ONLY: said, but the load goes on. */
static void
warning(struct ctx *c, const struct node *v, const char *fmt, ...)
{
	char msg[1024], *line, **n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line = util_asprintf("%s:%d:%d: %s%swarning: %s", c->file, v->line, v->col, c->path,
			     c->plen > 0 ? ": " : "", msg);
	n = line ? realloc(c->diag->warnings, (c->diag->n_warnings + 1) * sizeof(*n)) : NULL;
	if (!n) {
		free(line);
		c->oom = true;
		return;
	}
	n[c->diag->n_warnings++] = line;
	c->diag->warnings = n;
}

static size_t push_key(struct ctx *c, const char *key);
static void pop(struct ctx *c, size_t mark);
void
problem_key(struct ctx *c, const char *key, int line, int col, const char *fmt, ...)
{
	size_t mark = push_key(c, key);
	va_list ap;

	va_start(ap, fmt);
	vproblem_at(c, line, col, fmt, ap);
	va_end(ap);
	pop(c, mark);
}

static int
problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the problems over to the caller, in file order. */
static void
problems_flush(struct ctx *c)
{
	struct cfg_diag *d = c->diag;
	char **lines = NULL;

	if (c->pn > 1)
		qsort(c->pv, c->pn, sizeof(*c->pv), problem_cmp);
	if (c->pn > 0)
		lines = realloc(d->lines, (d->n + c->pn) * sizeof(*d->lines));
	for (size_t i = 0; i < c->pn; i++) {
		if (lines != NULL)
			lines[d->n++] = c->pv[i].text;
		else
			free(c->pv[i].text);
	}
	if (lines != NULL)
		d->lines = lines;
	else if (c->pn > 0)
		c->oom = true;
	free(c->pv);
	c->pv = NULL;
	c->pn = 0;
}

/* A user-supplied word or value, quoted, escaped and cut for a message.
 * Never called on a secret. */
struct qbuf {
	char s[4 * (QUOTE_MAX + 4) + 8];
};

static const char *
quote(struct qbuf *q, const char *s)
{
	size_t o = 0, i;

	q->s[o++] = '"';
	/* finish a UTF-8 sequence rather than cut it in half */
	for (i = 0; s[i] != '\0' && (i < QUOTE_MAX || ((unsigned char)s[i] & 0xc0) == 0x80);
	     i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(q->s + o, sizeof(q->s) - o, "\\x%02x", ch);
			continue;
		}
		if (ch == '"' || ch == '\\')
			q->s[o++] = '\\';
		q->s[o++] = (char)ch;
	}
	q->s[o++] = '"';
	if (s[i] != '\0') {
		memcpy(q->s + o, "...", 3);
		o += 3;
	}
	q->s[o] = '\0';
	return q->s;
}

static const char *
kind_name(const struct node *n)
{
	switch (n->kind) {
	case N_NULL:
		return "an empty value";
	case N_SCALAR:
		return "a string";
	case N_SEQ:
		return "a list";
	case N_MAP:
		return "a mapping";
	}
	return "?";
}

static size_t
push(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Extends the key path; returns the mark to pass to pop(). */
static size_t
push(struct ctx *c, const char *fmt, ...)
{
	size_t mark = c->plen;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->plen, sizeof(c->path) - c->plen, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->path))
		c->plen = sizeof(c->path) - 1;
	return mark;
}

static size_t
push_key(struct ctx *c, const char *key)
{
	return push(c, "%s%s", c->plen > 0 ? "." : "", key);
}

static void
pop(struct ctx *c, size_t mark)
{
	c->plen = mark;
	c->path[mark] = '\0';
}

/* ---- "did you mean" ----------------------------------------------------- */

/* Edit distance counting a swap of two neighbours as one edit (the
 * commonest typo, "nmae"), case-insensitive; SIZE_MAX for long words. */
static size_t
edit_distance(const char *a, const char *b)
{
	unsigned char d[QUOTE_MAX + 1][QUOTE_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > QUOTE_MAX || lb > QUOTE_MAX)
		return SIZE_MAX;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			unsigned best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1u < best)
				best = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < best)
				best = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    cb == tolower((unsigned char)a[i - 2]) && d[i - 2][j - 2] + 1u < best)
				best = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)best;
		}
	}
	return d[la][lb];
}

/* The candidate closest to word, if close enough to be a likely typo.
 * Candidates are structs whose first member is the name, `stride` bytes
 * apart, ended by a NULL name. */
static const char *
closest(const char *word, const void *base, size_t stride)
{
	const char *best = NULL;
	size_t bestd = SIZE_MAX;

	for (const char *p = base;; p += stride) {
		const char *name = *(const char *const *)(const void *)p;
		size_t d;

		if (name == NULL)
			break;
		d = edit_distance(word, name);
		if (d <= 2 && 2 * d < strlen(name) && d < bestd) {
			best = name;
			bestd = d;
		}
	}
	return best;
}

static void
problem_unknown(struct ctx *c, const struct node *n, const char *what, const char *word,
		const char *hint)
{
	struct qbuf q;

	if (hint != NULL)
		problem(c, n, "unknown %s %s; did you mean \"%s\"?", what, quote(&q, word), hint);
	else
		problem(c, n, "unknown %s %s", what, quote(&q, word));
}

/* ---- tables ------------------------------------------------------------- */

#define CFG(member) offsetof(struct config, member)

static const struct enumdef sink_types[] = {
	{"webhook", SINK_WEBHOOK},   {"slack", SINK_SLACK},
	{"mattermost", SINK_MATTERMOST}, {"teams", SINK_TEAMS},
	{"pagerduty", SINK_PAGERDUTY}, {"alertmanager", SINK_ALERTMANAGER},
	{NULL, 0}};
static const struct enumdef min_severities[] = {
	{"info", SEV_INFO}, {"warning", SEV_WARNING}, {"critical", SEV_CRITICAL}, {NULL, 0}};
static const struct enumdef secret_kinds[] = {
	{"file", SECRET_FILE}, {"env", SECRET_ENV}, {"credential", SECRET_CREDENTIAL}, {NULL, 0}};

static int
enum_lookup(const struct enumdef *e, const char *s)
{
	for (; e->name != NULL; e++)
		if (strcmp(e->name, s) == 0)
			return e->value;
	return -1;
}

const struct seen *
seen_key(const struct keydef *tab, const struct seen *seen, const char *name)
{
	for (size_t i = 0; tab[i].name != NULL; i++)
		if (strcmp(tab[i].name, name) == 0)
			return seen[i].key != NULL ? &seen[i] : NULL;
	return NULL;
}

int
walk_map(struct ctx *c, const struct node *v, const struct keydef *tab, void *obj,
	 struct seen *seen)
{
	struct seen local[CFG_MAX_KEYS];
	size_t ntab = 0;

	while (tab[ntab].name != NULL)
		ntab++;
	assert(ntab <= CFG_MAX_KEYS);
	if (seen == NULL)
		seen = local;
	memset(seen, 0, ntab * sizeof(*seen));
	if (v->kind != N_MAP && v->kind != N_NULL) {
		problem(c, v, "expected a mapping, got %s", kind_name(v));
		return -EINVAL;
	}
	for (size_t i = 0; v->kind == N_MAP && i + 1 < v->n; i += 2) {
		const struct node *key = v->v[i], *val = v->v[i + 1];
		struct qbuf q;
		size_t j, mark;

		if (key->kind != N_SCALAR) {
			problem(c, key, "expected a key name, got %s", kind_name(key));
			continue;
		}
		/* a quoted "\0" must not cut a key short into a known one */
		for (j = 0; j < ntab; j++)
			if (strlen(tab[j].name) == key->len && strcmp(tab[j].name, key->s) == 0)
				break;
		if (j == ntab) {
			problem_unknown(c, key, "key", key->s,
					closest(key->s, tab, sizeof(*tab)));
			continue;
		}
		if (seen[j].key != NULL) {
			problem(c, key, "duplicate key %s (first at line %d)", quote(&q, key->s),
				seen[j].key->line);
			continue;
		}
		seen[j].key = key;
		seen[j].val = val;
		if (tab[j].fn == NULL)
			continue;
		mark = push_key(c, tab[j].name);
		tab[j].fn(c, val, obj, &tab[j]);
		pop(c, mark);
	}
	for (size_t j = 0; j < ntab; j++)
		if ((tab[j].flags & K_REQUIRED) && seen[j].key == NULL)
			problem(c, v, "missing required key \"%s\"", tab[j].name);
	return 0;
}

/* The items of a list (NULL counts as empty), or -1 after reporting. */
static long
list_len(struct ctx *c, const struct node *v)
{
	if (v->kind == N_NULL)
		return 0;
	if (v->kind != N_SEQ) {
		problem(c, v, "expected a list, got %s", kind_name(v));
		return -1;
	}
	return (long)v->n;
}

static void *
list_alloc(struct ctx *c, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		c->oom = true;
	return p;
}

/* ---- scalar handlers ---------------------------------------------------- */

static bool
has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

const char *
want_str(struct ctx *c, const struct node *v, const char *what)
{
	if (v->kind == N_NULL || (v->kind == N_SCALAR && v->len == 0)) {
		problem(c, v, "empty value (expected %s)", what);
		return NULL;
	}
	if (v->kind != N_SCALAR) {
		problem(c, v, "expected %s, got %s", what, kind_name(v));
		return NULL;
	}
	if (has_control(v->s, v->len)) {
		problem(c, v, "contains a control character");
		return NULL;
	}
	return v->s;
}

int
set_str(struct ctx *c, char **dst, const char *s, size_t len)
{
	char *n = strndup(s, len);

	if (n == NULL) {
		c->oom = true;
		return -ENOMEM;
	}
	free(*dst);
	*dst = n;
	return 0;
}

int
h_string(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a string");

	return s == NULL ? -EINVAL : set_str(c, AT(obj, k, char *), s, v->len);
}

/* Relative paths would depend on the daemon's working directory. */
int
h_path(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "an absolute path");
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	if (s[0] != '/') {
		problem(c, v, "not an absolute path: %s", quote(&q, s));
		return -EINVAL;
	}
	return set_str(c, AT(obj, k, char *), s, v->len);
}

/* A file read at run time (a CA bundle): a missing one is better reported
 * by `kmswatchd -t` than by every TLS handshake. */
int
h_file(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct qbuf q;

	if (h_path(c, v, obj, k) < 0)
		return -EINVAL;
	if (access(v->s, R_OK) < 0) {
		problem(c, v, "cannot read %s: %s", quote(&q, v->s), strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static int
h_duration(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a duration");
	int64_t max = k->aux > 0 ? k->aux : CFG_MAX_DURATION, secs = 0;
	char buf[32];
	struct qbuf q;
	int r;

	if (s == NULL)
		return -EINVAL;
	r = util_parse_duration(s, &secs);
	if (r == -ERANGE || (r == 0 && secs > max)) {
		util_format_duration(max, buf, sizeof(buf));
		problem(c, v, "duration too long: %s (at most %s)", quote(&q, s), buf);
		return -EINVAL;
	}
	if (r < 0) {
		problem(c, v, "not a duration: %s (expected e.g. 30s, 5m, 4h, 30d)",
			quote(&q, s));
		return -EINVAL;
	}
	*AT(obj, k, int64_t) = k->flags & K_MS ? secs * 1000 : secs;
	return 0;
}

/* A duration that may also be zero ("0", "0s"), for settings where zero
 * means "off" rather than "never wait". */
static int
h_duration0(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	size_t zeros;

	if (v->kind == N_SCALAR && (zeros = strspn(v->s, "0")) > 0 &&
	    (v->s[zeros] == '\0' ||
	     (v->s[zeros + 1] == '\0' && strchr("smhdw", v->s[zeros]) != NULL))) {
		*AT(obj, k, int64_t) = 0;
		return 0;
	}
	return h_duration(c, v, obj, k);
}

/* YAML 1.1 spellings, as yamllint and Ansible accept them. */
static int
h_bool(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const char *s = want_str(c, v, "true or false");
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
			*AT(obj, k, bool) = strcasecmp(s, yes[i]) == 0;
			return 0;
		}
	}
	problem(c, v, "not a boolean: %s (expected true or false)", quote(&q, s));
	return -EINVAL;
}

/* A positive integer up to k->aux. */
static int
h_int(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "an integer");
	struct qbuf q;
	char *end;
	long n;

	if (s == NULL)
		return -EINVAL;
	errno = 0;
	n = strtol(s, &end, 10);
	/* strtol would also take blanks and a sign */
	if (!isdigit((unsigned char)s[0]) || *end != '\0') {
		problem(c, v, "not an integer: %s", quote(&q, s));
		return -EINVAL;
	}
	if (errno == ERANGE || n < 1 || n > k->aux) {
		problem(c, v, "out of range: %s (expected 1 to %d)", quote(&q, s), k->aux);
		return -EINVAL;
	}
	*AT(obj, k, int) = (int)n;
	return 0;
}

/* Bytes, or a number with a binary unit: "4MiB", "512KiB", "1048576". */
static int
h_size(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	static const struct {
		const char *unit;
		unsigned shift;
	} units[] = {{"", 0}, {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
	const char *s = want_str(c, v, "a size");
	unsigned long long n;
	struct qbuf q;
	char *end;

	if (s == NULL)
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	for (size_t i = 0; isdigit((unsigned char)s[0]) && i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit) != 0)
			continue;
		if (errno == ERANGE || n > (1ULL << 30) >> units[i].shift ||
		    n << units[i].shift < 1024) {
			problem(c, v, "out of range: %s (expected 1KiB to 1GiB)", quote(&q, s));
			return -EINVAL;
		}
		*AT(obj, k, size_t) = (size_t)(n << units[i].shift);
		return 0;
	}
	problem(c, v, "not a size: %s (expected bytes or e.g. 512KiB, 4MiB, 1GiB)",
		quote(&q, s));
	return -EINVAL;
}

int
h_time(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a date");
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	if (util_parse_time(s, AT(obj, k, time_t)) < 0) {
		problem(c, v, "not a date: %s (expected ISO 8601, e.g. 2027-03-01)", quote(&q, s));
		return -EINVAL;
	}
	return 0;
}

/* "a, b or c" */
static void
enum_list(const struct enumdef *e, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; e[i].name != NULL && o < len; i++) {
		const char *sep = i == 0 ? "" : e[i + 1].name == NULL ? " or " : ", ";
		int n = snprintf(buf + o, len - o, "%s%s", sep, e[i].name);

		if (n > 0)
			o += (size_t)n;
	}
}

int
h_enum(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a name"), *hint;
	char list[128];
	struct qbuf q;
	int e;

	if (s == NULL)
		return -EINVAL;
	e = enum_lookup(k->values, s);
	if (e >= 0) {
		*AT(obj, k, int) = e;
		return 0;
	}
	enum_list(k->values, list, sizeof(list));
	hint = closest(s, k->values, sizeof(*k->values));
	if (hint != NULL)
		problem(c, v, "invalid value %s (expected %s); did you mean \"%s\"?",
			quote(&q, s), list, hint);
	else
		problem(c, v, "invalid value %s (expected %s)", quote(&q, s), list);
	return -EINVAL;
}

bool
cfg_chars_only(const char *s, const char *set)
{
	return *s != '\0' && s[strspn(s, set)] == '\0';
}

static bool
is_project_id(const char *s)
{
	return strlen(s) == 24 && cfg_chars_only(s, "0123456789abcdefABCDEF");
}

static const struct cfg_format project_id = {is_project_id, "a project id",
					     "24 hex digits, as in the Atlas project URL"};
static const struct cfg_format org_id = {is_project_id, "an organization id",
					 "24 hex digits, as in the Atlas organization URL"};

/* A string of the format k->format. */
int
h_format(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, k->format->what);
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	if (!k->format->ok(s)) {
		problem(c, v, "not %s: %s (expected %s)", k->format->what, quote(&q, s),
			k->format->expected);
		return -EINVAL;
	}
	return set_str(c, AT(obj, k, char *), s, v->len);
}

static bool
url_ok(const char *s, enum url_rule rule)
{
	static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};
	const char *host;
	size_t hl;
	bool https = strncasecmp(s, "https://", 8) == 0;

	if (!https && strncasecmp(s, "http://", 7) != 0)
		return false;
	host = s + (https ? 8 : 7);
	hl = strcspn(host, "/?#");
	if (hl == 0 || strchr(s, ' ') != NULL)
		return false;
	if (https || rule == URL_HTTP_ANY)
		return true;
	/* "http://localhost:80@example.com" goes to example.com */
	if (memchr(host, '@', hl) != NULL)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(loopback); i++) {
		size_t n = strlen(loopback[i]);

		if (hl >= n && strncasecmp(host, loopback[i], n) == 0 &&
		    (hl == n || host[n] == ':'))
			return true;
	}
	return false;
}

/* Base URLs are stored without trailing slashes: paths are appended. */
int
h_url(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *s = want_str(c, v, "a URL");
	size_t len;
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	if (!url_ok(s, (enum url_rule)k->aux)) {
		if (k->aux == URL_HTTPS)
			problem(c, v, "must be an https:// URL (http:// only for 127.0.0.1, "
				      "localhost and [::1]): %s",
				quote(&q, s));
		else
			problem(c, v, "not an http:// or https:// URL: %s", quote(&q, s));
		return -EINVAL;
	}
	for (len = v->len; s[len - 1] == '/'; len--)
		;
	if (k->flags & K_ORIGIN) {
		const char *host = strstr(s, "://") + 3;
		size_t hl = strcspn(host, "/?#");

		if ((size_t)(host - s) + hl < len) {
			problem(c, v, "takes only the scheme and host, e.g. https://cloud.mongodb.com "
				      "(kmswatch appends /api/atlas/v2/...): remove the path %s",
				quote(&q, host + hl));
			return -EINVAL;
		}
	}
	return set_str(c, AT(obj, k, char *), s, len);
}

/* ---- secrets ------------------------------------------------------------ */

/* Where systemd's LoadCredential=NAME (no path) looks, in its order: the
 * first directory holding NAME, or NULL. */
static const char *
credstore_dir(const char *name)
{
	static const char *const dirs[] = {"/etc/credstore", "/run/credstore",
					   "/usr/lib/credstore"};
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], name);
		if (access(path, F_OK) == 0)
			return dirs[i];
	}
	return NULL;
}

/*
 * {env: NAME}: the value is taken out of the environment on first use, its
 * bytes wiped where /proc/PID/environ shows them, and kept here (a reload
 * reads it again; children and dumps do not see it). A variable set again
 * later (tests do) replaces the kept value.
 */
struct env_kept {
	struct env_kept *next;
	char *name, *value;
};
static struct env_kept *env_kept;

static int
env_secret(const char *name, const char **out)
{
	char *live = getenv(name);
	struct env_kept *k;

	for (k = env_kept; k && strcmp(k->name, name) != 0; k = k->next)
		;
	*out = k ? k->value : NULL;
	if (live == NULL)
		return 0;
	if (!k) {
		if (!(k = calloc(1, sizeof(*k))) || !(k->name = strdup(name))) {
			free(k);
			return -ENOMEM;
		}
		k->next = env_kept;
		env_kept = k;
	}
	util_free_secret(k->value);
	if (!(k->value = strdup(live)))
		return -ENOMEM;
	explicit_bzero(live, strlen(live));
	unsetenv(name);
	*out = k->value;
	return 0;
}

void
cfg_env_secrets_free(void)
{
	while (env_kept) {
		struct env_kept *k = env_kept;

		env_kept = k->next;
		free(k->name);
		util_free_secret(k->value);
		free(k);
	}
}

static void
wipe_free(char *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

/* Reads a secret file; on error reports it and returns NULL. */
static char *
read_secret(struct ctx *c, const struct node *v, const char *what, const char *name,
	    const char *path, size_t *len)
{
	struct qbuf q;
	char *buf = NULL;
	int r;

	/* util_read_file refuses a FIFO or a terminal, which would block
	 * `kmswatchd -t` and every reload */
	r = util_read_file(path, CFG_MAX_SECRET, 0, &buf, len);
	if (r == -EINVAL || r == -EISDIR)
		problem(c, v, "%s %s is not a regular file", what, quote(&q, name));
	else if (r == -EFBIG)
		problem(c, v, "%s %s is larger than 64 KiB", what, quote(&q, name));
	else if (r < 0)
		problem(c, v, "cannot read %s %s: %s", what, quote(&q, name), strerror(-r));
	return r < 0 ? NULL : buf;
}

/* A plain-text secret is only kept in a file nobody else can read. */
static bool
plain_secret_allowed(struct ctx *c, int line, int col)
{
	if (c->mode_state == MODE_ERROR) {
		problem_at(c, line, col,
			   "cannot check who may read %s (%s), so a plain-text secret is refused; "
			   "use {credential: NAME} or {file: PATH}",
			   c->file, strerror(c->mode_errno));
		return false;
	}
	if (c->mode_state == MODE_KNOWN && (c->mode & 044)) {
		/* chmod 600 alone is wrong advice under the shipped unit: its
		 * DynamicUser= cannot read a root-owned 0600 file at all. */
		problem_at(c, line, col,
			   "plain-text secret in a file readable by group or others (mode %04o): "
			   "use {credential: NAME} (LoadCredential=NAME in the unit) or "
			   "{file: PATH}; chmod 600 %s only if kmswatchd runs as its owner "
			   "(not under the shipped unit's DynamicUser=)",
			   (unsigned)(c->mode & 07777), c->file);
		return false;
	}
	return true;
}

/*
 * A secret is a plain string or exactly one of {file:}, {env:},
 * {credential:}. Messages name the key and the reference, never the value.
 */
int
h_secret(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_secret *sec = AT(obj, k, struct cfg_secret);
	const char *ref = NULL, *what = NULL;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	const struct node *rk, *rv;
	char *buf = NULL, *path;
	size_t len = 0, alloc;
	struct qbuf q;
	int src;

	sec->line = v->line;
	sec->column = v->col;
	if (v->kind == N_SCALAR) {
		if (!(k->flags & K_PUBLIC) && !plain_secret_allowed(c, v->line, v->col))
			return -EINVAL;
		buf = strndup(v->s, v->len);
		if (buf == NULL) {
			c->oom = true;
			return -ENOMEM;
		}
		len = v->len;
		src = SECRET_PLAIN;
		goto check;
	}
	if (v->kind != N_MAP || v->n != 2) {
		problem(c, v, "%s (expected a string or exactly one of {file: PATH}, {env: NAME}, "
			      "{credential: NAME})",
			v->kind == N_NULL ? "empty value" : "not a secret");
		return -EINVAL;
	}
	rk = v->v[0];
	rv = v->v[1];
	src = rk->kind == N_SCALAR && strlen(rk->s) == rk->len ? enum_lookup(secret_kinds, rk->s)
								: -1;
	if (src < 0) {
		/* the "key" may be the secret itself, as in {s3cr3t}: not echoed */
		problem(c, rk, "a secret reference is one of {file: PATH}, {env: NAME}, "
			       "{credential: NAME}");
		return -EINVAL;
	}
	ref = want_str(c, rv, src == SECRET_FILE ? "a path" : "a name");
	if (ref == NULL)
		return -EINVAL;
	if (c->in_sink && (c->flags & CFG_LOAD_NO_SINK_SECRETS)) {
		/* --once never delivers: the reference is enough */
		sec->source = (enum secret_source)src;
		return set_str(c, &sec->ref, ref, strlen(ref)) < 0 ? -ENOMEM : 0;
	}
	switch (src) {
	case SECRET_FILE:
		what = "secret file";
		if (ref[0] != '/') {
			problem(c, rv, "not an absolute path: %s", quote(&q, ref));
			return -EINVAL;
		}
		buf = read_secret(c, rv, what, ref, ref, &len);
		break;
	case SECRET_ENV: {
		const char *val;

		what = "environment variable";
		if (env_secret(ref, &val) < 0) {
			c->oom = true;
			return -ENOMEM;
		}
		if (val == NULL) {
			problem(c, rv, "environment variable %s is not set", quote(&q, ref));
			return -EINVAL;
		}
		buf = strdup(val);
		if (buf == NULL) {
			c->oom = true;
			return -ENOMEM;
		}
		len = strlen(buf);
		break;
	}
	default:
		what = "credential";
		if (strchr(ref, '/') != NULL || strcmp(ref, ".") == 0 || strcmp(ref, "..") == 0) {
			problem(c, rv, "not a credential name: %s (a file name, without '/')",
				quote(&q, ref));
			return -EINVAL;
		}
		if ((dir == NULL || *dir == '\0') && (c->flags & CFG_LOAD_CHECK_ONLY)) {
			dir = credstore_dir(ref);
			if (dir == NULL) {
				warning(c, rv,
					"credential %s is not in $CREDENTIALS_DIRECTORY (not set), "
					"/etc/credstore, /run/credstore or /usr/lib/credstore: the "
					"unit's LoadCredential= must provide it",
					quote(&q, ref));
				return set_str(c, &sec->ref, ref, strlen(ref)) < 0 ? -ENOMEM : 0;
			}
		}
		if (dir == NULL || *dir == '\0') {
			problem(c, rv,
				"credential %s needs $CREDENTIALS_DIRECTORY, which is not set "
				"(systemd sets it for LoadCredential=; elsewhere use {file: PATH})",
				quote(&q, ref));
			return -EINVAL;
		}
		path = util_asprintf("%s/%s", dir, ref);
		if (path == NULL) {
			c->oom = true;
			return -ENOMEM;
		}
		/* systemd 252 runs ExecReload= (where the unit runs -t) without
		 * access to the credentials it gave the main process: -t says so
		 * and checks the rest; the daemon's own reload reads them */
		if ((c->flags & CFG_LOAD_CHECK_ONLY) && access(path, R_OK) < 0 &&
		    (errno == EACCES || errno == EPERM)) {
			warning(c, rv, "cannot read credential %s here (%s); kmswatchd reads it "
				       "when it loads the configuration",
				quote(&q, ref), strerror(errno));
			free(path);
			return set_str(c, &sec->ref, ref, strlen(ref)) < 0 ? -ENOMEM : 0;
		}
		buf = read_secret(c, rv, what, ref, path, &len);
		free(path);
		break;
	}
	if (buf == NULL)
		return -EINVAL;
check:
	alloc = len;
	/* one trailing newline is what `echo` and editors add */
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
	}
	if (len == 0 || memchr(buf, '\0', len) != NULL || memchr(buf, '\n', len) != NULL ||
	    memchr(buf, '\r', len) != NULL) {
		const char *why =
			len == 0 ? "empty secret" : "line break or NUL byte in the secret";

		if (ref != NULL)
			problem(c, v, "%s from %s %s (only one trailing newline is stripped)", why,
				what, quote(&q, ref));
		else
			problem(c, v, "%s", why);
		wipe_free(buf, alloc);
		return -EINVAL;
	}
	if (ref != NULL && set_str(c, &sec->ref, ref, strlen(ref)) < 0) {
		wipe_free(buf, len);
		return -ENOMEM;
	}
	util_free_secret(sec->value);
	sec->value = buf;
	sec->source = (enum secret_source)src;
	return 0;
}

/* ---- blocks ------------------------------------------------------------- */

int
h_block(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	return walk_map(c, v, k->sub, (char *)obj + k->off, NULL);
}

void
check_type_keys(struct ctx *c, const struct node *v, const struct keydef *tab,
		const struct seen *seen, const char *type, const char *const *needs,
		const char *const *refuses)
{
	for (; needs && *needs; needs++)
		if (seen_key(tab, seen, *needs) == NULL)
			problem(c, v, "missing required key \"%s\" (type %s needs it)", *needs,
				type);
	for (; refuses && *refuses; refuses++) {
		const struct seen *s = seen_key(tab, seen, *refuses);

		if (s != NULL)
			problem(c, s->key, "key \"%s\" is not used by type %s", *refuses, type);
	}
}

static const struct keydef service_account_keys[] = {
	KEY("client_id", h_string, CFG(atlas.client_id), .flags = K_REQUIRED),
	KEY("client_secret", h_secret, CFG(atlas.client_secret), .flags = K_REQUIRED),
	{0},
};

static const struct keydef api_key_keys[] = {
	KEY("public_key", h_string, CFG(atlas.public_key), .flags = K_REQUIRED),
	KEY("private_key", h_secret, CFG(atlas.private_key), .flags = K_REQUIRED),
	{0},
};

static const struct keydef atlas_keys[] = {
	KEY("base_url", h_url, CFG(atlas.base_url), .aux = URL_HTTPS, .flags = K_ORIGIN),
	KEY("service_account", h_block, 0, .sub = service_account_keys),
	KEY("api_key", h_block, 0, .sub = api_key_keys),
	KEY("ca_file", h_file, CFG(atlas.ca_file)),
	/* extensions of docs/INTERFACE.md: atlas.credential_expiry */
	KEY("org_id", h_format, CFG(atlas.org_id), .format = &org_id),
	KEY("credential_interval", h_duration, CFG(atlas.credential_interval)),
	{0},
};

static int
h_atlas(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct config *cfg = obj;
	struct seen seen[CFG_MAX_KEYS];
	const struct seen *sa, *ak, *later;

	if (walk_map(c, v, atlas_keys, cfg, seen) < 0)
		return -EINVAL;
	sa = seen_key(atlas_keys, seen, "service_account");
	ak = seen_key(atlas_keys, seen, "api_key");
	if (sa == NULL && ak == NULL) {
		problem(c, v, "missing required key \"service_account\" or \"api_key\" "
			      "(exactly one is needed)");
		return -EINVAL;
	}
	if (sa != NULL && ak != NULL) {
		later = sa->key->line > ak->key->line ||
				(sa->key->line == ak->key->line && sa->key->col > ak->key->col)
			? sa
			: ak;
		problem(c, later->key, "give exactly one of \"service_account\" and \"api_key\"");
		return -EINVAL;
	}
	cfg->atlas.auth = sa != NULL ? ATLAS_AUTH_SERVICE_ACCOUNT : ATLAS_AUTH_API_KEY;
	return 0;
}

static const struct keydef http_keys[] = {
	KEY("connect_timeout", h_duration, CFG(http.connect_timeout_ms), .flags = K_MS,
	    .aux = 3600),
	KEY("timeout", h_duration, CFG(http.timeout_ms), .flags = K_MS, .aux = 3600),
	KEY("max_concurrent", h_int, CFG(http.max_concurrent), .aux = 256),
	KEY("max_response_size", h_size, CFG(http.max_response_bytes)),
	{0},
};

static int
h_http(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct config *cfg = obj;
	char a[32], b[32];

	if (walk_map(c, v, http_keys, cfg, NULL) < 0)
		return -EINVAL;
	if (cfg->http.connect_timeout_ms > cfg->http.timeout_ms) {
		util_format_duration(cfg->http.connect_timeout_ms / 1000, a, sizeof(a));
		util_format_duration(cfg->http.timeout_ms / 1000, b, sizeof(b));
		problem(c, v, "connect_timeout (%s) is longer than timeout (%s)", a, b);
		return -EINVAL;
	}
	return 0;
}

/* ---- metrics ------------------------------------------------------------ */

int
cfg_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port, bool *v6,
		 char *why, size_t whylen)
{
	const char *h = NULL, *p = s, *colon;
	size_t hl = 0;
	unsigned char addr[sizeof(struct in6_addr)];
	char buf[INET6_ADDRSTRLEN + 1];
	unsigned long n;
	char *end;

	*v6 = false;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':') {
			snprintf(why, whylen, "an IPv6 address is written [ADDRESS]:PORT");
			return -EINVAL;
		}
		h = s + 1;
		hl = (size_t)(close - h);
		p = close + 2;
		*v6 = true;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		if (strchr(s, ':') != colon) {
			snprintf(why, whylen, "an IPv6 address is written [ADDRESS]:PORT");
			return -EINVAL;
		}
		h = colon == s ? NULL : s;
		hl = (size_t)(colon - s);
		p = colon + 1;
	}
	errno = 0;
	n = *p >= '0' && *p <= '9' ? strtoul(p, &end, 10) : 0;
	if (*p < '0' || *p > '9' || *end != '\0' || errno || n == 0 || n > 65535) {
		snprintf(why, whylen, "the port must be a number from 1 to 65535");
		return -EINVAL;
	}
	*port = (unsigned)n;
	if (!h) {
		snprintf(host, hostlen, "127.0.0.1");
		return 0;
	}
	if (hl == 0 || hl >= sizeof(buf)) {
		snprintf(why, whylen, "expected a numeric IPv4 address or [IPv6] address before the port");
		return -EINVAL;
	}
	memcpy(buf, h, hl);
	buf[hl] = '\0';
	if (inet_pton(*v6 ? AF_INET6 : AF_INET, buf, addr) != 1) {
		snprintf(why, whylen, "%s is not a numeric %s address (host names are not "
			 "resolved: write 127.0.0.1, 0.0.0.0, [::1] or [::])",
			 *v6 ? "the bracketed part" : "the host", *v6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	if (hl >= hostlen)
		return -EINVAL;
	memcpy(host, buf, hl + 1);
	return 0;
}

static int
h_listen(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct config *cfg = obj;
	const char *s = want_str(c, v, "HOST:PORT");
	char why[200];
	struct qbuf q;

	if (s == NULL)
		return -EINVAL;
	if (cfg_parse_listen(s, cfg->metrics.listen_host, sizeof(cfg->metrics.listen_host),
			     &cfg->metrics.listen_port, &cfg->metrics.listen_v6, why,
			     sizeof(why)) < 0) {
		problem(c, v, "cannot listen on %s: %s", quote(&q, s), why);
		return -EINVAL;
	}
	return set_str(c, &cfg->metrics.listen, s, v->len);
}

static int
h_textfile(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *slash;
	struct qbuf q;

	if (h_path(c, v, obj, k) < 0)
		return -EINVAL;
	slash = strrchr(v->s, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0) {
		problem(c, v, "not a file name: %s", quote(&q, v->s));
		return -EINVAL;
	}
	return 0;
}

static const struct keydef metrics_keys[] = {
	KEY("listen", h_listen, 0),
	KEY("textfile", h_textfile, CFG(metrics.textfile)),
	{0},
};

static const struct keydef alerts_keys[] = {
	KEY("repeat_interval", h_duration, CFG(alerts.repeat_interval)),
	KEY("send_resolved", h_bool, CFG(alerts.send_resolved)),
	KEY("confirm_firing", h_int, CFG(alerts.confirm_firing), .aux = 100),
	KEY("confirm_resolved", h_int, CFG(alerts.confirm_resolved), .aux = 100),
	{0},
};

/* ---- checks ------------------------------------------------------------- */

#define SWITCH(id) (offsetof(struct cfg_checks, enabled) + (size_t)(id) * sizeof(bool))

static const struct keydef threshold_keys[] = {
	KEY("warning", h_duration, offsetof(struct cfg_threshold, warning)),
	KEY("critical", h_duration, offsetof(struct cfg_threshold, critical)),
	KEY("enabled", h_bool, offsetof(struct cfg_threshold, enabled)),
	{0},
};

/*
 * secret_expiry and key_expiry count days left (warning comes first, with
 * more left); key_age counts days since creation (warning comes first,
 * younger). The check runs on merged values, so a project that overrides
 * only one side is still checked against the other.
 */
/* The checks of every provider that the `enabled` of the `checks:` block
 * named `block` switches along with its own (check_row.switched_by). */
static void
switch_rows(struct cfg_checks *ck, const char *block, bool on)
{
	for (size_t i = 0; i < kms_count; i++)
		for (size_t j = 0; j < kms_table[i]->n_checks; j++)
			if (util_streq(kms_table[i]->checks[j].switched_by, block))
				ck->enabled[kms_table[i]->checks[j].id] = on;
}

/* Whether every check the block switches is on (true when it switches
 * none, as key_expiry, whose `enabled` is only its own window). */
static bool
rows_on(const struct cfg_checks *ck, const char *block)
{
	for (size_t i = 0; i < kms_count; i++)
		for (size_t j = 0; j < kms_table[i]->n_checks; j++)
			if (util_streq(kms_table[i]->checks[j].switched_by, block) &&
			    !ck->enabled[kms_table[i]->checks[j].id])
				return false;
	return true;
}

static int
h_threshold(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_checks *ck = obj;
	struct cfg_threshold *t = AT(obj, k, struct cfg_threshold);
	bool age = k->off == offsetof(struct cfg_checks, key_age);
	unsigned before = c->problems;
	struct seen seen[CFG_MAX_KEYS];
	char w[32], cr[32];

	if (walk_map(c, v, threshold_keys, t, seen) < 0 || c->problems > before)
		return -EINVAL;
	/* secret_expiry and key_age are their checks' switches too; the
	 * key_expiry switch is only the expiry window of the key_state checks */
	if (seen_key(threshold_keys, seen, "enabled") != NULL)
		switch_rows(ck, k->name, t->enabled);
	if (age ? t->warning < t->critical : t->warning > t->critical)
		return 0;
	util_format_duration(t->warning, w, sizeof(w));
	util_format_duration(t->critical, cr, sizeof(cr));
	problem(c, v, "warning (%s) must be %s than critical (%s)", w, age ? "shorter" : "longer",
		cr);
	return -EINVAL;
}

struct allowlist_block {
	bool include_future_node_ips, enabled;
};

static const struct keydef allowlist_keys[] = {
	KEY("include_future_node_ips", h_bool,
	    offsetof(struct allowlist_block, include_future_node_ips)),
	KEY("enabled", h_bool, offsetof(struct allowlist_block, enabled)),
	{0},
};

/* `allowlist:` is the switch of the firewall checks (switched_by) */
static int
h_allowlist(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_checks *ck = obj;
	struct allowlist_block b = {ck->include_future_node_ips, true};
	struct seen seen[CFG_MAX_KEYS];
	unsigned before = c->problems;

	if (walk_map(c, v, allowlist_keys, &b, seen) < 0 || c->problems > before)
		return -EINVAL;
	ck->include_future_node_ips = b.include_future_node_ips;
	if (seen_key(allowlist_keys, seen, "enabled") != NULL)
		switch_rows(ck, k->name, b.enabled);
	return 0;
}

/* `checks: {ear.clusters: {enabled: false}}` */
static int
h_check_switch(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const struct keydef keys[] = {KEY("enabled", h_bool, SWITCH(k->aux)), {0}};

	return walk_map(c, v, keys, obj, NULL);
}

/* The table has one entry per check id, so it is built from the catalogue
 * of checks.c rather than repeated here. */
static int
h_checks(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	static const struct keydef fixed[] = {
		KEY("secret_expiry", h_threshold, offsetof(struct cfg_checks, secret_expiry)),
		KEY("key_age", h_threshold, offsetof(struct cfg_checks, key_age)),
		KEY("key_expiry", h_threshold, offsetof(struct cfg_checks, key_expiry)),
		KEY("allowlist", h_allowlist, 0),
	};
	struct keydef keys[ARRAY_SIZE(fixed) + CHK__COUNT + 1];

	memcpy(keys, fixed, sizeof(fixed));
	for (int i = 0; i < CHK__COUNT; i++)
		keys[ARRAY_SIZE(fixed) + (size_t)i] = (struct keydef)KEY(
			check_name((enum check_id)i), h_check_switch, 0, .aux = i);
	keys[ARRAY_SIZE(keys) - 1] = (struct keydef){0};
	return walk_map(c, v, keys, AT(obj, k, struct cfg_checks), NULL);
}

#define DAY 86400

/* The one place the defaults of every check live (docs/INTERFACE.md). */
const struct cfg_checks cfg_default_checks = {
	.secret_expiry = {true, 30 * DAY, 7 * DAY},
	.key_age = {true, 75 * DAY, 90 * DAY},
	.key_expiry = {true, 30 * DAY, 7 * DAY},
	.include_future_node_ips = true,
	.enabled = {[0 ... CHK__COUNT - 1] = true},
};

static void
checks_defaults(struct cfg_checks *ck)
{
	*ck = cfg_default_checks;
}

/* The threshold blocks and their check ids are one switch each; whichever
 * the file set last in a `checks:` block wins. A block's own `enabled`
 * then says whether every check it switches is on. */
static void
checks_sync(struct cfg_checks *ck)
{
	ck->secret_expiry.enabled = rows_on(ck, "secret_expiry");
	ck->key_age.enabled = rows_on(ck, "key_age");
}

static int
h_check_name(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const char *names[CHK__COUNT + 1], *s = want_str(c, v, "a check id");

	if (s == NULL)
		return -EINVAL;
	if (check_from_name(s) >= 0)
		return set_str(c, AT(obj, k, char *), s, v->len);
	for (int i = 0; i < CHK__COUNT; i++)
		names[i] = check_name((enum check_id)i);
	names[CHK__COUNT] = NULL;
	problem_unknown(c, v, "check", s, closest(s, names, sizeof(names[0])));
	return -EINVAL;
}

/* ---- discover ------------------------------------------------------------ */

/* A list of strings (NULL: empty), each checked by ok (NULL: any); the
 * problem names the item. Returns the count or -1. */
static long
load_strv(struct ctx *c, const struct node *v, const char *what, bool (*ok)(const char *s),
	  const char *expected, char ***out)
{
	long n = list_len(c, v);
	char **sv;
	struct qbuf q;

	if (n <= 0)
		return n;
	if ((sv = list_alloc(c, (size_t)n, sizeof(*sv))) == NULL)
		return -1;
	*out = sv;
	for (long i = 0; i < n; i++) {
		const struct node *it = v->v[i];
		size_t mark = push(c, "[%ld]", i);
		const char *s = want_str(c, it, what);

		if (s != NULL && ok != NULL && !ok(s))
			problem(c, it, "not %s: %s (expected %s)", what, quote(&q, s), expected);
		else if (s != NULL)
			set_str(c, &sv[i], s, it->len);
		pop(c, mark);
	}
	return n;
}

static int
h_org_ids(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct cfg_discover *d = obj;
	long n = load_strv(c, v, "an organization id", is_project_id,
			   "24 hex digits, as in the Atlas organization URL", &d->org_ids);
	struct qbuf q;

	if (n < 0)
		return -EINVAL;
	d->n_org_ids = (size_t)n;
	for (size_t i = 0; i < d->n_org_ids; i++) {
		if (d->org_ids[i] == NULL)
			continue;
		for (char *p = d->org_ids[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		/* a handful of orgs: the pairwise look costs nothing */
		for (size_t j = 0; j < i; j++)
			if (util_streq(d->org_ids[j], d->org_ids[i])) {
				problem(c, v->v[i], "duplicate organization id %s (org_ids[%zu])",
					quote(&q, d->org_ids[i]), j);
				break;
			}
	}
	return 0;
}

/* glibc expands a bounded repetition into copies of its operand, so
 * "((a{100}){100}){100}" compiles to a million nodes and takes seconds:
 * the upper bounds of every {m,n} (outside bracket expressions), multiplied
 * together, may be at most this, and a pattern at most REGEX_MAX_LEN long.
 * Names of Atlas projects never need more. */
#define REGEX_MAX_REPEAT 1000
#define REGEX_MAX_LEN 512

static bool
regex_too_costly(const char *re)
{
	uint64_t product = 1;
	bool in_bracket = false;

	if (strlen(re) > REGEX_MAX_LEN)
		return true;
	for (const char *p = re; *p; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			continue;
		}
		if (in_bracket) {
			/* "[]x]" and "[^]x]": a ']' first is a member */
			if (*p == ']' && p[-1] != '[' && !(p[-1] == '^' && p[-2] == '['))
				in_bracket = false;
			continue;
		}
		if (*p == '[') {
			in_bracket = true;
			continue;
		}
		if (*p == '{') {
			unsigned long lo = 0, hi = 0;
			char *end;

			lo = strtoul(p + 1, &end, 10);
			hi = lo;
			if (*end == ',')
				hi = isdigit((unsigned char)end[1]) ? strtoul(end + 1, &end, 10) : lo;
			if (hi > REGEX_MAX_REPEAT || lo > REGEX_MAX_REPEAT)
				return true;
			product *= hi > 1 ? hi : 1;
			if (product > REGEX_MAX_REPEAT)
				return true;
		}
	}
	return false;
}

/* include:/exclude: compiled here, so that a bad pattern is a config
 * error at its own line, never a surprise at the first listing. */
static int
h_regexes(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_discover *d = obj;
	bool inc = k->aux == 0;
	char ***texts = inc ? &d->include : &d->exclude;
	regex_t **res = inc ? &d->include_re : &d->exclude_re;
	size_t *count = inc ? &d->n_include : &d->n_exclude;
	long n = load_strv(c, v, "a regular expression", NULL, NULL, texts);
	struct qbuf q;

	if (n <= 0)
		return n < 0 ? -EINVAL : 0;
	if ((*res = list_alloc(c, (size_t)n, sizeof(**res))) == NULL) {
		for (long i = 0; i < n; i++)
			free((*texts)[i]);
		free(*texts);
		*texts = NULL;
		return -ENOMEM;
	}
	for (long i = 0; i < n; i++) {
		char msg[160];
		int e;

		if ((*texts)[i] == NULL)
			continue; /* reported */
		if (regex_too_costly((*texts)[i])) {
			size_t mark = push(c, "[%ld]", i);

			problem(c, v->v[i], "regular expression too costly to compile: %s (at "
					    "most %d characters, and repetition counts {m,n} "
					    "multiplying to at most %d)",
				quote(&q, (*texts)[i]), REGEX_MAX_LEN, REGEX_MAX_REPEAT);
			pop(c, mark);
			free((*texts)[i]);
			(*texts)[i] = NULL;
			continue;
		}
		e = regcomp(&(*res)[i], (*texts)[i], REG_EXTENDED | REG_NOSUB);
		if (e != 0) {
			size_t mark = push(c, "[%ld]", i);

			regerror(e, NULL, msg, sizeof(msg));
			problem(c, v->v[i], "not a POSIX extended regular expression: %s (%s)",
				quote(&q, (*texts)[i]), msg);
			pop(c, mark);
			/* not compiled: cfg_free must not regfree it */
			free((*texts)[i]);
			(*texts)[i] = NULL;
		}
	}
	/* the arrays run in step: entry i is compiled when its text is set */
	*count = (size_t)n;
	return 0;
}

static const struct keydef discover_keys[] = {
	KEY("org_ids", h_org_ids, 0),
	KEY("interval", h_duration, offsetof(struct cfg_discover, interval)),
	KEY("include", h_regexes, 0, .aux = 0),
	KEY("exclude", h_regexes, 0, .aux = 1),
	{0},
};

static int
h_discover(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct config *cfg = obj;

	cfg->discover.enabled = true;
	cfg->discover.line = v->line;
	cfg->discover.column = v->col;
	return walk_map(c, v, discover_keys, &cfg->discover, NULL);
}

static void
discover_free(struct cfg_discover *d)
{
	for (size_t i = 0; i < d->n_org_ids; i++)
		free(d->org_ids[i]);
	free(d->org_ids);
	for (size_t i = 0; i < d->n_include; i++)
		if (d->include[i] != NULL) {
			regfree(&d->include_re[i]);
			free(d->include[i]);
		}
	for (size_t i = 0; i < d->n_exclude; i++)
		if (d->exclude[i] != NULL) {
			regfree(&d->exclude_re[i]);
			free(d->exclude[i]);
		}
	free(d->include);
	free(d->exclude);
	free(d->include_re);
	free(d->exclude_re);
}

/* ---- projects, sinks, silences ------------------------------------------ */

/* Atlas prints ids in lower case; they are compared that way. */
static int
h_project_id(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	char **dst = AT(obj, k, char *);

	if (h_format(c, v, obj, k) < 0)
		return -EINVAL;
	for (char *p = *dst; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return 0;
}

/* one of the providers' names */
static int
h_expect_provider(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const struct keydef named = KEY(k->name, h_enum, k->off, .values = c->provider_names);

	return h_enum(c, v, obj, &named);
}

/* then each provider's block (tables_build) */
static const struct keydef project_fixed_keys[] = {
	KEY("id", h_project_id, offsetof(struct cfg_project, id), .flags = K_REQUIRED,
	    .format = &project_id),
	KEY("name", h_string, offsetof(struct cfg_project, name)),
	KEY("expect_provider", h_expect_provider, offsetof(struct cfg_project, expect_provider)),
	KEY("checks", h_checks, offsetof(struct cfg_project, checks)),
	{0},
};

static void
load_project(struct ctx *c, const struct node *item, size_t i)
{
	struct cfg_project *all = c->cfg->projects, *p = &all[i];
	struct seen seen[CFG_MAX_KEYS];
	struct seen_name *dup, *slot;
	const struct seen *s;
	struct qbuf q;

	p->line = item->line;
	p->column = item->col;
	p->checks = c->cfg->checks; /* overrides apply field by field */
	if (walk_map(c, item, c->project_keys, p, seen) < 0 || p->id == NULL)
		return;
	s = seen_key(c->project_keys, seen, "id");
	HASH_FIND_STR(c->ids, p->id, dup);
	if (dup) {
		problem_key(c, "id", s->val->line, s->val->col,
			    "duplicate project id %s (already used by projects[%zu] at line %d)",
			    quote(&q, p->id), dup->idx, all[dup->idx].line);
		return;
	}
	slot = &c->seen_slots[2 * i];
	*slot = (struct seen_name){.key = p->id, .idx = i};
	HASH_ADD_KEYPTR(hh, c->ids, slot->key, strlen(slot->key), slot);
	if (p->name == NULL) {
		set_str(c, &p->name, p->id, strlen(p->id));
		return;
	}
	s = seen_key(c->project_keys, seen, "name");
	HASH_FIND_STR(c->names, p->name, dup);
	if (dup) {
		problem_key(c, "name", s->val->line, s->val->col,
			    "duplicate project name %s (already used by projects[%zu] at line %d)",
			    quote(&q, p->name), dup->idx, all[dup->idx].line);
		return;
	}
	slot = &c->seen_slots[2 * i + 1];
	*slot = (struct seen_name){.key = p->name, .idx = i};
	HASH_ADD_KEYPTR(hh, c->names, slot->key, strlen(slot->key), slot);
}

static void
load_projects(struct ctx *c, const struct node *v)
{
	struct config *cfg = c->cfg;
	long n = list_len(c, v);

	if (n == 0 && !cfg->discover.enabled)
		problem(c, v, "at least one project is needed (or \"discover\", to watch every "
			      "project the Atlas identity can read)");
	if (n <= 0)
		return;
	cfg->projects = list_alloc(c, (size_t)n, sizeof(*cfg->projects));
	if (cfg->projects == NULL)
		return;
	c->seen_slots = calloc(2 * (size_t)n, sizeof(*c->seen_slots));
	if (c->seen_slots == NULL) {
		c->oom = true;
		return;
	}
	cfg->n_projects = (size_t)n;
	for (size_t i = 0; i < cfg->n_projects; i++) {
		size_t mark = push(c, "[%zu]", i);

		load_project(c, v->v[i], i);
		pop(c, mark);
	}
	HASH_CLEAR(hh, c->ids);
	HASH_CLEAR(hh, c->names);
	free(c->seen_slots);
	c->seen_slots = NULL;
}

static const struct keydef sink_keys[] = {
	KEY("name", h_string, offsetof(struct cfg_sink, name), .flags = K_REQUIRED),
	KEY("type", h_enum, offsetof(struct cfg_sink, type), .flags = K_REQUIRED,
	    .values = sink_types),
	KEY("url", h_secret, offsetof(struct cfg_sink, url), .flags = K_PUBLIC),
	KEY("secret", h_secret, offsetof(struct cfg_sink, secret)),
	KEY("routing_key", h_secret, offsetof(struct cfg_sink, routing_key)),
	KEY("min_severity", h_enum, offsetof(struct cfg_sink, min_severity),
	    .values = min_severities),
	KEY("ca_file", h_file, offsetof(struct cfg_sink, ca_file)),
	KEY("min_interval", h_duration0, offsetof(struct cfg_sink, min_interval_ms),
	    .flags = K_MS, .aux = 3600),
	KEY("max_age", h_duration, offsetof(struct cfg_sink, max_age), .aux = 30 * 86400),
	KEY("resend_interval", h_duration, offsetof(struct cfg_sink, resend_interval),
	    .aux = 3600),
	KEY("insecure", h_bool, offsetof(struct cfg_sink, insecure)),
	{0},
};

/* A sink's name also names its queue directory (escaped, see outbox.h),
 * which must fit in a file name. */
#define SINK_NAME_MAX 64

/* Which keys each sink type needs or would silently ignore. */
static void
check_sink(struct ctx *c, const struct node *item, struct cfg_sink *s, const struct seen *seen)
{
	const struct seen *type = seen_key(sink_keys, seen, "type");
	const struct seen *url = seen_key(sink_keys, seen, "url");
	const struct seen *secret = seen_key(sink_keys, seen, "secret");
	const struct seen *rkey = seen_key(sink_keys, seen, "routing_key");
	const struct seen *resend = seen_key(sink_keys, seen, "resend_interval");
	int t;

	if (type == NULL || type->val->kind != N_SCALAR ||
	    (t = enum_lookup(sink_types, type->val->s)) < 0)
		return;
	/* chat services take about one message per second per webhook
	 * (Slack documents it); bursts beyond it get 429s */
	if (seen_key(sink_keys, seen, "min_interval") == NULL)
		s->min_interval_ms =
			t == SINK_SLACK || t == SINK_MATTERMOST || t == SINK_TEAMS ? 1000 : 0;
	if (resend != NULL && t != SINK_ALERTMANAGER)
		problem(c, resend->key, "key \"resend_interval\" is only used by type alertmanager");
	/* PagerDuty has one Events API endpoint; url only overrides it */
	if (url == NULL && t != SINK_PAGERDUTY)
		problem(c, item, "missing required key \"url\"");
	if (rkey == NULL && t == SINK_PAGERDUTY)
		problem(c, item, "missing required key \"routing_key\"");
	if (rkey != NULL && t != SINK_PAGERDUTY)
		problem(c, rkey->key, "key \"routing_key\" is only used by type pagerduty");
	if (secret != NULL && t != SINK_WEBHOOK)
		problem(c, secret->key, "key \"secret\" is only used by type webhook");
	/* the URL may carry a token (Slack's does): never echoed */
	if (s->url.value != NULL && !url_ok(s->url.value, URL_HTTP_ANY))
		problem_key(c, "url", s->url.line, s->url.column,
			    "not an http:// or https:// URL (the value is not shown)");
	else if (s->url.value != NULL && !s->insecure && !url_ok(s->url.value, URL_HTTPS))
		problem_key(c, "url", s->url.line, s->url.column,
			    "plain http:// to a host other than 127.0.0.1, localhost or [::1] "
			    "sends alerts (and any token in the URL) unencrypted: use https://, "
			    "or set \"insecure: true\" on this sink (the value is not shown)");
	/* a chat incoming-webhook URL is the credential itself; a webhook or
	 * Alertmanager URL is an address, and may stand in a readable file */
	if (s->url.source == SECRET_PLAIN &&
	    (t == SINK_SLACK || t == SINK_MATTERMOST || t == SINK_TEAMS)) {
		size_t mark = push_key(c, "url");

		plain_secret_allowed(c, s->url.line, s->url.column);
		pop(c, mark);
	}
}

static void
load_sink(struct ctx *c, const struct node *item, size_t i)
{
	struct cfg_sink *all = c->cfg->sinks, *s = &all[i];
	struct seen seen[CFG_MAX_KEYS];
	const struct node *name;
	struct qbuf q;
	int r;

	s->line = item->line;
	s->column = item->col;
	s->min_severity = SEV_INFO;
	s->max_age = 72 * 3600;
	s->resend_interval = 60;
	c->in_sink = true;
	r = walk_map(c, item, sink_keys, s, seen);
	c->in_sink = false;
	if (r < 0)
		return;
	check_sink(c, item, s, seen);
	if (s->name != NULL && strlen(s->name) > SINK_NAME_MAX) {
		name = seen_key(sink_keys, seen, "name")->val;
		problem_key(c, "name", name->line, name->col,
			    "sink name too long (at most %d bytes)", SINK_NAME_MAX);
		return;
	}
	for (size_t j = 0; s->name != NULL && j < i; j++) {
		if (util_streq(all[j].name, s->name)) {
			name = seen_key(sink_keys, seen, "name")->val;
			problem_key(c, "name", name->line, name->col,
				    "duplicate sink name %s (already used by notify[%zu] at "
				    "line %d)",
				    quote(&q, s->name), j, all[j].line);
			return;
		}
	}
}

static int
h_notify(struct ctx *c, const struct node *v, void *obj, const struct keydef *k UNUSED)
{
	struct config *cfg = obj;
	long n = list_len(c, v);

	if (n <= 0)
		return n < 0 ? -EINVAL : 0;
	cfg->sinks = list_alloc(c, (size_t)n, sizeof(*cfg->sinks));
	if (cfg->sinks == NULL)
		return -ENOMEM;
	cfg->n_sinks = (size_t)n;
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		size_t mark = push(c, "[%zu]", i);

		load_sink(c, v->v[i], i);
		pop(c, mark);
	}
	return 0;
}

static const struct keydef silence_keys[] = {
	KEY("project", h_string, offsetof(struct cfg_silence, project)),
	KEY("check", h_check_name, offsetof(struct cfg_silence, check)),
	KEY("until", h_time, offsetof(struct cfg_silence, until), .flags = K_REQUIRED),
	KEY("comment", h_string, offsetof(struct cfg_silence, comment)),
	{0},
};

static void
load_silence(struct ctx *c, const struct node *item, struct cfg_silence *s)
{
	const struct config *cfg = c->cfg;
	struct seen seen[CFG_MAX_KEYS];
	const struct node *v;
	struct qbuf q;

	if (walk_map(c, item, silence_keys, s, seen) < 0 || s->project == NULL)
		return;
	for (size_t j = 0; j < cfg->n_projects; j++) {
		const struct cfg_project *p = &cfg->projects[j];

		if (util_streq(p->name, s->project) ||
		    (p->id != NULL && strcasecmp(p->id, s->project) == 0))
			return;
	}
	/* a discovered project (or discovery's own alert, project "discovery")
	 * is named only at run time */
	if (cfg->discover.enabled)
		return;
	/* a silence that matches nothing is a typo that would let alerts through */
	v = seen_key(silence_keys, seen, "project")->val;
	problem_key(c, "project", v->line, v->col, "no project named %s", quote(&q, s->project));
}

static void
load_silences(struct ctx *c, const struct node *v)
{
	struct config *cfg = c->cfg;
	long n = list_len(c, v);

	if (n <= 0)
		return;
	cfg->silences = list_alloc(c, (size_t)n, sizeof(*cfg->silences));
	if (cfg->silences == NULL)
		return;
	cfg->n_silences = (size_t)n;
	for (size_t i = 0; i < cfg->n_silences; i++) {
		size_t mark = push(c, "[%zu]", i);

		load_silence(c, v->v[i], &cfg->silences[i]);
		pop(c, mark);
	}
}

/* ---- the top level ------------------------------------------------------ */

/* projects and silences have no handler: they are read after the walk,
 * once the global checks (merged into each project) and the projects
 * (named by silences) are known, wherever they stand in the file. */
static const struct keydef top_fixed_keys[] = {
	KEY("poll_interval", h_duration, CFG(poll_interval)),
	KEY("events_interval", h_duration, CFG(events_interval)),
	KEY("state_dir", h_path, CFG(state_dir)),
	KEY("atlas", h_atlas, 0, .flags = K_REQUIRED),
	KEY("http", h_http, 0),
	KEY("projects", NULL, 0),
	KEY("discover", h_discover, 0),
	KEY("checks", h_checks, CFG(checks)),
	KEY("alerts", h_block, 0, .sub = alerts_keys),
	KEY("notify", h_notify, 0),
	KEY("silences", NULL, 0),
	KEY("metrics", h_block, 0, .sub = metrics_keys),
	{0},
};

/* `<name>_interval`: k->aux is the provider */
static int
h_provider_interval(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const struct config *cfg = obj;
	const struct keydef at = KEY(k->name, h_duration, offsetof(struct cfg_provider, interval));

	return h_duration(c, v, cfg->provider[k->aux], &at);
}

/* `<name>:`, read with its section's keys (k->sub) */
static int
h_provider(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	const struct config *cfg = obj;
	struct cfg_provider *p = cfg->provider[k->aux];

	p->configured = true;
	return walk_map(c, v, k->sub, p, NULL);
}

static size_t
table_copy(struct keydef *dst, const struct keydef *src)
{
	size_t n = 0;

	while (src[n].name != NULL) {
		dst[n] = src[n];
		n++;
	}
	return n;
}

/* a project entry's `<name>:`, into the provider's own struct */
static int
h_project_block(struct ctx *c, const struct node *v, void *obj, const struct keydef *k)
{
	struct cfg_project *p = obj;
	void **block = &p->block[k->aux];

	if (*block == NULL && (*block = calloc(1, kms_find(k->aux)->config->project_size)) == NULL) {
		cfg_oom(c);
		return -ENOMEM;
	}
	return walk_map(c, v, k->sub, *block, NULL);
}

/* The fixed keys, then each provider's: the providers are kms_table's,
 * and their sections are theirs (lib/<name>_config.c). */
static void
tables_build(struct ctx *c)
{
	size_t nt = table_copy(c->top_keys, top_fixed_keys);
	size_t np = table_copy(c->project_keys, project_fixed_keys);
	size_t ne = 0;

	for (size_t i = 0; i < kms_count; i++) {
		const struct kms_desc *d = kms_table[i];
		const struct cfg_section *sec = d->config;

		c->provider_names[ne++] = (struct enumdef){d->name, (int)d->id};
		c->top_keys[nt++] = (struct keydef)KEY(sec->interval_key, h_provider_interval, 0,
						       .aux = (int)d->id);
		c->top_keys[nt++] =
			(struct keydef)KEY(d->name, h_provider, 0, .aux = (int)d->id, .sub = sec->keys);
		if (sec->project_keys != NULL)
			c->project_keys[np++] =
				(struct keydef)KEY(d->name, h_project_block, 0, .aux = (int)d->id,
						   .sub = sec->project_keys);
		assert(nt <= CFG_MAX_KEYS && np <= CFG_MAX_KEYS);
	}
	c->top_keys[nt] = (struct keydef){0};
	c->project_keys[np] = (struct keydef){0};
	c->provider_names[ne] = (struct enumdef){0};
}

static void
load_root(struct ctx *c, const struct node *root)
{
	struct seen seen[CFG_MAX_KEYS];
	const struct seen *s;
	size_t mark;

	if (root == NULL || root->kind == N_NULL) {
		problem_at(c, 1, 1, "empty configuration (expected a mapping with at least "
				    "\"atlas\" and \"projects\")");
		return;
	}
	if (root->kind != N_MAP) {
		problem(c, root, "expected a mapping at the top level, got %s", kind_name(root));
		return;
	}
	walk_map(c, root, c->top_keys, c->cfg, seen);
	if ((s = seen_key(c->top_keys, seen, "projects")) != NULL) {
		mark = push_key(c, "projects");
		load_projects(c, s->val);
		pop(c, mark);
	} else if (!c->cfg->discover.enabled) {
		problem(c, root, "missing required key \"projects\" (or \"discover\", to watch "
				 "every project the Atlas identity can read)");
	}
	if ((s = seen_key(c->top_keys, seen, "silences")) != NULL) {
		mark = push_key(c, "silences");
		load_silences(c, s->val);
		pop(c, mark);
	}
}

/* ---- YAML to nodes ------------------------------------------------------ */

static void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->v[i]);
	free(n->v);
	wipe_free(n->s, n->len);
	free(n);
}

static int
node_add(struct ctx *c, struct node *parent, struct node *child)
{
	if (parent->n == parent->cap) {
		size_t cap = parent->cap ? 2 * parent->cap : 8;
		struct node **v = realloc(parent->v, cap * sizeof(*v));

		if (v == NULL) {
			c->oom = true;
			node_free(child);
			return -ENOMEM;
		}
		parent->v = v;
		parent->cap = cap;
	}
	parent->v[parent->n++] = child;
	return 0;
}

static void
yaml_problem(struct ctx *c, const yaml_parser_t *p)
{
	const char *what = p->problem != NULL ? p->problem : "malformed YAML";
	int line = 1, col = 1;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		c->oom = true;
		break;
	case YAML_READER_ERROR:
		/* encoding problems carry a byte offset, not a mark */
		for (size_t i = 0; i < p->problem_offset && i < c->input_len; i++) {
			if (c->input[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)c->input[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		problem_at(c, line, col, "not valid UTF-8 text: %s at byte %zu", what,
			   p->problem_offset);
		break;
	default:
		if (p->context != NULL)
			problem_at(c, (int)p->problem_mark.line + 1,
				   (int)p->problem_mark.column + 1,
				   "YAML syntax error: %s (%s at line %zu, column %zu)", what,
				   p->context, p->context_mark.line + 1,
				   p->context_mark.column + 1);
		else
			problem_at(c, (int)p->problem_mark.line + 1,
				   (int)p->problem_mark.column + 1, "YAML syntax error: %s",
				   what);
		break;
	}
}

static int
next_event(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev)
{
	if (yaml_parser_parse(p, ev))
		return 0;
	yaml_problem(c, p);
	return -EINVAL;
}

static bool
is_null(const char *s)
{
	return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
	       strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static void
refuse_anchor(struct ctx *c, const struct node *n, const yaml_char_t *anchor)
{
	struct qbuf q;

	if (anchor == NULL)
		return;
	problem(c, n, "YAML anchors are not supported (&%s): repeat the value instead",
		quote(&q, (const char *)anchor));
	c->refused = true;
}

/*
 * Builds the node that starts with *ev (consumed) and everything in it.
 * *out receives the node even on error, so the caller can free it.
 */
static int
build(struct ctx *c, yaml_parser_t *p, yaml_event_t *ev, int depth, struct node **out)
{
	yaml_event_type_t end;
	struct node *n;
	struct qbuf q;
	int r;

	*out = n = calloc(1, sizeof(*n));
	if (n == NULL) {
		c->oom = true;
		yaml_event_delete(ev);
		return -ENOMEM;
	}
	n->line = (int)ev->start_mark.line + 1;
	n->col = (int)ev->start_mark.column + 1;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		refuse_anchor(c, n, ev->data.scalar.anchor);
		/* take the bytes instead of copying: one copy fewer to wipe */
		n->s = (char *)ev->data.scalar.value;
		n->len = ev->data.scalar.length;
		ev->data.scalar.value = NULL;
		n->kind = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					  ev->data.scalar.tag == NULL && is_null(n->s)
				  ? N_NULL
				  : N_SCALAR;
		yaml_event_delete(ev);
		return 0;
	case YAML_ALIAS_EVENT:
		problem(c, n, "YAML aliases are not supported (*%s): repeat the value instead",
			quote(&q, (const char *)ev->data.alias.anchor));
		c->refused = true;
		yaml_event_delete(ev);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		refuse_anchor(c, n, ev->data.sequence_start.anchor);
		n->kind = N_SEQ;
		end = YAML_SEQUENCE_END_EVENT;
		break;
	case YAML_MAPPING_START_EVENT:
		refuse_anchor(c, n, ev->data.mapping_start.anchor);
		n->kind = N_MAP;
		end = YAML_MAPPING_END_EVENT;
		break;
	default: /* libyaml only starts nodes with the events above */
		yaml_event_delete(ev);
		problem(c, n, "unexpected YAML event");
		return -EINVAL;
	}
	yaml_event_delete(ev);
	/* the walkers recurse; bound them here, once */
	if (depth >= CFG_MAX_DEPTH) {
		problem(c, n, "nested more than %d levels deep", CFG_MAX_DEPTH);
		return -EINVAL;
	}
	for (;;) {
		yaml_event_t child_ev;
		struct node *child;

		r = next_event(c, p, &child_ev);
		if (r < 0)
			return r;
		if (child_ev.type == end) {
			yaml_event_delete(&child_ev);
			return 0;
		}
		r = build(c, p, &child_ev, depth + 1, &child);
		if (child != NULL && node_add(c, n, child) < 0)
			return -ENOMEM;
		if (r < 0)
			return r;
	}
}

/* What we can reach of libyaml's copies of the input. */
static void
wipe_parser(yaml_parser_t *p)
{
	if (p->raw_buffer.start != NULL)
		explicit_bzero(p->raw_buffer.start,
			       (size_t)(p->raw_buffer.end - p->raw_buffer.start));
	if (p->buffer.start != NULL)
		explicit_bzero(p->buffer.start, (size_t)(p->buffer.end - p->buffer.start));
	for (yaml_token_t *t = p->tokens.head; t != NULL && t != p->tokens.tail; t++)
		if (t->type == YAML_SCALAR_TOKEN && t->data.scalar.value != NULL)
			explicit_bzero(t->data.scalar.value, t->data.scalar.length);
}

/* One document, or none (*root NULL: an empty file or only comments). */
static int
parse_yaml(struct ctx *c, const char *buf, size_t len, struct node **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int r;

	*root = NULL;
	if (!yaml_parser_initialize(&p)) {
		c->oom = true;
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	r = next_event(c, &p, &ev); /* stream start */
	if (r == 0) {
		yaml_event_delete(&ev);
		r = next_event(c, &p, &ev);
	}
	if (r == 0 && ev.type == YAML_DOCUMENT_START_EVENT) {
		yaml_event_delete(&ev);
		r = next_event(c, &p, &ev);
		if (r == 0)
			r = build(c, &p, &ev, 0, root);
		if (r == 0)
			r = next_event(c, &p, &ev); /* document end */
		if (r == 0) {
			yaml_event_delete(&ev);
			r = next_event(c, &p, &ev);
		}
		if (r == 0 && ev.type == YAML_DOCUMENT_START_EVENT) {
			problem_at(c, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
				   "a second YAML document: the file must hold exactly one");
			yaml_event_delete(&ev);
			r = -EINVAL;
		}
	}
	if (r == 0)
		yaml_event_delete(&ev);
	wipe_parser(&p);
	yaml_parser_delete(&p);
	return r;
}

/* ---- the public interface ----------------------------------------------- */

void
cfg_secret_free(struct cfg_secret *s)
{
	free(s->ref);
	util_free_secret(s->value);
}

static void
project_free(struct cfg_project *p)
{
	free(p->id);
	free(p->name);
	for (size_t i = 0; i < kms_count; i++) {
		const struct kms_desc *d = kms_table[i];

		if (p->block[d->id] != NULL && d->config->project_free != NULL)
			d->config->project_free(p->block[d->id]);
		free(p->block[d->id]);
	}
}

int
cfg_keep_projects(struct config *cfg, const char *const *wanted, size_t n, const char **unknown)
{
	size_t kept = 0;

	*unknown = NULL;
	for (size_t w = 0; w < n; w++) {
		bool found = false;

		for (size_t i = 0; i < cfg->n_projects && !found; i++)
			found = util_streq(cfg->projects[i].id, wanted[w]) ||
				util_streq(cfg->projects[i].name, wanted[w]);
		if (!found) {
			*unknown = wanted[w];
			return -ENOENT;
		}
	}
	for (size_t i = 0; i < cfg->n_projects; i++) {
		bool keep = false;

		for (size_t w = 0; w < n && !keep; w++)
			keep = util_streq(cfg->projects[i].id, wanted[w]) ||
			       util_streq(cfg->projects[i].name, wanted[w]);
		if (keep)
			cfg->projects[kept++] = cfg->projects[i];
		else
			project_free(&cfg->projects[i]);
	}
	cfg->n_projects = kept;
	return 0;
}

void
cfg_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->state_dir);
	free(cfg->atlas.base_url);
	free(cfg->atlas.client_id);
	cfg_secret_free(&cfg->atlas.client_secret);
	free(cfg->atlas.public_key);
	cfg_secret_free(&cfg->atlas.private_key);
	free(cfg->atlas.ca_file);
	free(cfg->atlas.org_id);
	for (size_t i = 0; i < cfg->n_projects; i++)
		project_free(&cfg->projects[i]);
	free(cfg->projects);
	for (size_t i = 0; i < cfg->n_sinks; i++) {
		free(cfg->sinks[i].name);
		cfg_secret_free(&cfg->sinks[i].url);
		cfg_secret_free(&cfg->sinks[i].secret);
		cfg_secret_free(&cfg->sinks[i].routing_key);
		free(cfg->sinks[i].ca_file);
	}
	free(cfg->sinks);
	for (size_t i = 0; i < cfg->n_silences; i++) {
		free(cfg->silences[i].project);
		free(cfg->silences[i].check);
		free(cfg->silences[i].comment);
	}
	free(cfg->silences);
	discover_free(&cfg->discover);
	for (size_t i = 0; i < kms_count; i++) {
		struct cfg_provider *p = cfg->provider[kms_table[i]->id];

		if (p != NULL)
			kms_table[i]->config->free(p);
		free(p);
	}
	free(cfg->metrics.listen);
	free(cfg->metrics.textfile);
	free(cfg);
}

void
cfg_diag_free(struct cfg_diag *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = 0;
	for (size_t i = 0; i < d->n_warnings; i++)
		free(d->warnings[i]);
	free(d->warnings);
	d->warnings = NULL;
	d->n_warnings = 0;
}

static struct config *
cfg_new(const char *path)
{
	struct config *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->poll_interval = 300;
	cfg->events_interval = 900; /* Atlas validates the key every 15 minutes */
	cfg->atlas.base_url = strdup("https://cloud.mongodb.com");
	cfg->atlas.credential_interval = 3600;
	cfg->path = util_strdup(path);
	cfg->http.connect_timeout_ms = 10 * 1000;
	cfg->http.timeout_ms = 30 * 1000;
	cfg->http.max_concurrent = 16;
	cfg->http.max_response_bytes = 4 * 1024 * 1024;
	checks_defaults(&cfg->checks);
	cfg->alerts.repeat_interval = 4 * 3600;
	cfg->alerts.send_resolved = true;
	cfg->alerts.confirm_firing = 1;
	cfg->alerts.confirm_resolved = 2;
	cfg->discover.interval = 3600;
	for (size_t i = 0; i < kms_count; i++) {
		struct cfg_provider *p = calloc(1, kms_table[i]->config->size);

		if (p == NULL) {
			cfg_free(cfg);
			return NULL;
		}
		p->interval = kms_table[i]->config->default_interval;
		cfg->provider[kms_table[i]->id] = p;
	}
	if (cfg->atlas.base_url == NULL || (path != NULL && cfg->path == NULL)) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

int
cfg_load_buffer(const char *path, const char *yaml, size_t len, struct config **out,
		struct cfg_diag *diag)
{
	return cfg_load_buffer_flags(path, yaml, len, 0, out, diag);
}

int
cfg_load_buffer_flags(const char *path, const char *yaml, size_t len, unsigned flags,
		      struct config **out, struct cfg_diag *diag)
{
	struct ctx c = {.file = path != NULL ? path : "<config>", .diag = diag, .flags = flags};
	struct node *root = NULL;
	struct stat st;
	int r;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || diag == NULL || (yaml == NULL && len > 0))
		return -EINVAL;
	if (len > CFG_MAX_FILE) {
		problem_at(&c, 0, 0, "larger than 16 MiB");
		problems_flush(&c);
		return -EFBIG;
	}
	if (path != NULL && stat(path, &st) == 0) {
		c.mode_state = MODE_KNOWN;
		c.mode = st.st_mode;
	} else if (path != NULL) {
		c.mode_state = MODE_ERROR;
		c.mode_errno = errno;
	}
	c.cfg = cfg_new(path);
	if (c.cfg == NULL)
		return -ENOMEM;
	c.input = yaml != NULL ? yaml : "";
	c.input_len = len;
	tables_build(&c);
	r = parse_yaml(&c, c.input, len, &root);
	if (r == 0 && !c.refused)
		load_root(&c, root);
	node_free(root);
	problems_flush(&c);
	if (c.oom)
		r = -ENOMEM;
	else if (c.problems > 0)
		r = -EINVAL;
	if (r < 0) {
		cfg_free(c.cfg);
		return r;
	}
	checks_sync(&c.cfg->checks);
	for (size_t i = 0; i < c.cfg->n_projects; i++)
		checks_sync(&c.cfg->projects[i].checks);
	*out = c.cfg;
	return 0;
}

int
cfg_load(const char *path, struct config **out, struct cfg_diag *diag)
{
	return cfg_load_flags(path, 0, out, diag);
}

int
cfg_load_flags(const char *path, unsigned flags, struct config **out, struct cfg_diag *diag)
{
	struct ctx c = {.file = path, .diag = diag, .flags = flags};
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || diag == NULL)
		return -EINVAL;
	r = util_read_file(path, CFG_MAX_FILE, 0, &buf, &len);
	if (r == -EACCES) {
		struct stat st;

		/* Most often a config made 0600 for the shipped unit, whose
		 * DynamicUser= is never its owner: say who is who and the fix. */
		if (stat(path, &st) == 0)
			problem_at(&c, 0, 0,
				   "cannot read: permission denied (kmswatchd runs as uid %u; "
				   "the file is uid %u, mode %04o): the shipped unit's "
				   "DynamicUser= needs it readable by others (chmod 644), with "
				   "every secret in a {credential: NAME}",
				   (unsigned)geteuid(), (unsigned)st.st_uid,
				   (unsigned)(st.st_mode & 07777));
		else
			problem_at(&c, 0, 0, "cannot read: %s", strerror(EACCES));
		problems_flush(&c);
		return r;
	}
	if (r < 0) {
		problem_at(&c, 0, 0, "cannot read: %s",
			   r == -EFBIG ? "larger than 16 MiB" : util_file_error(r));
		problems_flush(&c);
		return r;
	}
	r = cfg_load_buffer_flags(path, buf, len, flags, out, diag);
	wipe_free(buf, len);
	return r;
}

const struct cfg_project *
cfg_find_project(const struct config *cfg, const char *id)
{
	if (cfg == NULL || id == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->n_projects; i++)
		if (strcasecmp(cfg->projects[i].id, id) == 0)
			return &cfg->projects[i];
	return NULL;
}

/*
 * systemd passes one path per StateDirectory= entry, colon-separated; ours
 * is the first. The copy lives in a per-thread buffer, valid until the next
 * call; an entry that does not fit (longer than PATH_MAX) is ignored.
 */
const char *
cfg_state_dir(const struct config *cfg)
{
	static _Thread_local char buf[PATH_MAX];
	const char *env = getenv("STATE_DIRECTORY");
	size_t n;

	if (env != NULL && (n = strcspn(env, ":")) > 0 && n < sizeof(buf)) {
		memcpy(buf, env, n);
		buf[n] = '\0';
		return buf;
	}
	if (cfg != NULL && cfg->state_dir != NULL)
		return cfg->state_dir;
	return CFG_DEFAULT_STATE_DIR;
}

const char *
sink_type_name(enum sink_type t)
{
	for (const struct enumdef *e = sink_types; e->name != NULL; e++)
		if (e->value == (int)t)
			return e->name;
	return "?";
}

int64_t
cfg_longest_round(const struct config *cfg)
{
	int64_t every = cfg->poll_interval;

	for (size_t i = 0; i < PROV__COUNT; i++)
		if (cfg->provider[i] != NULL && cfg->provider[i]->interval > every)
			every = cfg->provider[i]->interval;
	return every;
}
