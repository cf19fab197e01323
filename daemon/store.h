/* SPDX-License-Identifier: ISC */
/*
 * store — the state directory: named JSON documents written crash-safely
 * (tmp + fsync + rename + fsync dir). A write that fails (disk full,
 * read-only) is journaled once, retried on the next save, and its recovery
 * journaled too; the daemon keeps running on its in-memory state.
 */
#ifndef KMSWATCH_STORE_H
#define KMSWATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "util.h"

struct store;

/* Creates the directory (0700) when missing; refuses one others could
 * tamper with (util_check_private_dir: -EPERM, the reason in why). */
int store_new(const char *dir, char *why, size_t whylen, struct store **out);
void store_free(struct store *s);
const char *store_dir(const struct store *s);

/* -ENOENT when the document does not exist yet. *data is freed by caller. */
int store_read(struct store *s, const char *name, char **data, size_t *len);
/* Skips the write when the content equals the last one written. */
int store_write(struct store *s, const char *name, const char *data, size_t len);

/* Per-project memory documents, {"version":1,"projects":{ID:{...}}}:
 * parse returns the "projects" object (a new reference) or NULL when the
 * document is damaged. */
json_t *store_projects_parse(const char *json, size_t len);

/* Such a document written one project at a time: all of them as one
 * jansson tree would cost some 2 KB a project at the moment of saving
 * (20 MB at 10,000), four times the text. add steals obj (NULL: out of
 * memory, remembered); end returns 0 or -ENOMEM and the text. */
struct store_projects_out {
	struct strbuf b;
	size_t n;
	bool failed;
};
void store_projects_begin(struct store_projects_out *o);
void store_projects_add(struct store_projects_out *o, const char *id, json_t *obj);
int store_projects_end(struct store_projects_out *o, char **json, size_t *len);

#endif
