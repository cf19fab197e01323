/* SPDX-License-Identifier: ISC */
/*
 * config_keys — the key-table machinery of config.c, for the files that
 * read one provider's sections of the configuration (lib/<p>_config.c).
 * Internal to lib/: nothing outside the config loader includes it.
 *
 * A provider describes its sections with a struct cfg_section, reached
 * from its struct kms_desc (kms.h): config.c adds `<name>:` and
 * `<name>_interval` to the top level, and `<name>:` to each project entry,
 * for every provider of kms_table, and never names one itself. A section's
 * keys are tables of struct keydef, read with walk_map() and the handlers
 * below; every problem goes through problem() and so names the file, the
 * line, the column and the key path, as everywhere else in the file.
 */
#ifndef KMSWATCH_CONFIG_KEYS_H
#define KMSWATCH_CONFIG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* ---- the node tree a file becomes ---------------------------------------- */

enum node_kind { N_NULL, N_SCALAR, N_SEQ, N_MAP };

struct node {
	enum node_kind kind;
	int line, col;	 /* 1-based */
	char *s;	 /* scalar bytes (NUL-terminated, may hold a secret) */
	size_t len;
	struct node **v; /* N_SEQ: items; N_MAP: key, value, key, value, ... */
	size_t n, cap;
};

/* The loader's state: problems so far, the key path, the flags. */
struct ctx;

/* ---- tables --------------------------------------------------------------- */

struct keydef;
typedef int handler_fn(struct ctx *c, const struct node *v, void *obj, const struct keydef *k);

struct enumdef {
	const char *name;
	int value;
};

/* What h_format accepts: a test, and the words of its message
 * ("not a GUID: "x" (expected e.g. 1111...)"). */
struct cfg_format {
	bool (*ok)(const char *s);
	const char *what, *expected;
};

struct keydef {
	const char *name;
	handler_fn *fn; /* NULL: the caller reads the value after the walk */
	size_t off;	/* where the handler writes, relative to obj */
	unsigned flags;
	int aux; /* handler-specific: a check id, a maximum, a URL rule */
	const struct enumdef *values;
	const struct keydef *sub;
	const struct cfg_format *format;
};

#define K_REQUIRED 0x1
#define K_MS 0x2	/* durations stored in milliseconds */
#define K_PUBLIC 0x4	/* a secret value that may also be public: the caller decides */
#define K_ORIGIN 0x8	/* a URL that paths are appended to: scheme, host, port only */

#define CFG_MAX_KEYS 32 /* entries of the largest key table */

#define UNUSED __attribute__((unused))
#define KEY(n, f, o, ...) {.name = (n), .fn = (f), .off = (o), __VA_ARGS__}
#define AT(obj, k, type) ((type *)(void *)((char *)(obj) + (k)->off))

/* Which keys of a table a mapping held (walk_map's `seen`). */
struct seen {
	const struct node *key, *val;
};

enum url_rule {
	URL_HTTPS,    /* https://, or http:// to the loopback host (tests) */
	URL_HTTP_ANY, /* http:// or https:// */
};

/*
 * One provider's part of the configuration. Its struct (`size` bytes)
 * starts with struct cfg_provider; config.c allocates one per provider
 * for every config, sets its interval to default_interval, reads
 * `<name>:` into it with `keys`, and hands it to `free` before freeing it.
 */
struct cfg_section {
	const char *interval_key; /* "azure_interval" */
	int64_t default_interval; /* its seconds when the file does not say */
	size_t size;
	const struct keydef *keys; /* of `<name>:` */
	void (*free)(struct cfg_provider *p); /* what it holds, not itself */
	/* its block in a project entry (NULL: it has none): the keys, with
	 * offsets into a struct of project_size bytes that config.c allocates
	 * as cfg_project.block[], and what that struct holds, to free */
	const struct keydef *project_keys;
	size_t project_size;
	void (*project_free)(void *block);
};

/* ---- what a section's reader may use --------------------------------------- */

void problem_at(struct ctx *c, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define problem(c, node, ...) problem_at((c), (node)->line, (node)->col, __VA_ARGS__)
/* A problem found after the walk, about one key of the current mapping. */
void problem_key(struct ctx *c, const char *key, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* How many problems so far: a reader compares before and after. */
unsigned cfg_problems(const struct ctx *c);
/* Out of memory: the load fails with -ENOMEM. */
void cfg_oom(struct ctx *c);

/*
 * Reads a mapping against a table: unknown and duplicate keys are
 * reported, known ones dispatched in file order, missing required ones
 * reported at the mapping. `seen` (table-sized, may be NULL) tells the
 * caller which keys were present. Returns -EINVAL if v is not a mapping.
 */
int walk_map(struct ctx *c, const struct node *v, const struct keydef *tab, void *obj,
	     struct seen *seen);
const struct seen *seen_key(const struct keydef *tab, const struct seen *seen,
			    const char *name);
/* What an identity of one type needs from tab, and what it would
 * silently ignore: a problem for each. */
void check_type_keys(struct ctx *c, const struct node *v, const struct keydef *tab,
		     const struct seen *seen, const char *type, const char *const *needs,
		     const char *const *refuses);
/* The scalar's text, or NULL after reporting why it is not a usable one. */
const char *want_str(struct ctx *c, const struct node *v, const char *what);
int set_str(struct ctx *c, char **dst, const char *s, size_t len);
bool cfg_chars_only(const char *s, const char *set); /* non-empty, from set */
void cfg_secret_free(struct cfg_secret *s);

/* The handlers (k->off into obj): a string; an absolute path; a readable
 * file; a date; one of k->values; a string of k->format; a URL of rule
 * k->aux (K_ORIGIN: no path); a secret; a nested block of k->sub. */
handler_fn h_string, h_path, h_file, h_time, h_enum, h_format, h_url, h_secret, h_block;

#endif
