/* SPDX-License-Identifier: ISC */
/*
 * store — see store.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "msgid.h"
#include "store.h"
#include "util.h"

#define STORE_MAX_DOC (16 * 1024 * 1024)

struct doc {
	struct doc *next;
	char *name;
	char *last; /* last content written successfully */
	bool failing;
};

struct store {
	char *dir;
	struct doc *docs;
};

int
store_new(const char *dir, char *why, size_t whylen, struct store **out)
{
	struct store *s;
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((r = util_check_private_dir(dir, why, whylen)) < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void
store_free(struct store *s)
{
	if (!s)
		return;
	while (s->docs) {
		struct doc *d = s->docs;

		s->docs = d->next;
		free(d->name);
		free(d->last);
		free(d);
	}
	free(s->dir);
	free(s);
}

const char *
store_dir(const struct store *s)
{
	return s->dir;
}

static struct doc *
doc_get(struct store *s, const char *name)
{
	struct doc *d;

	for (d = s->docs; d; d = d->next)
		if (strcmp(d->name, name) == 0)
			return d;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(name))) {
		free(d);
		return NULL;
	}
	d->next = s->docs;
	s->docs = d;
	return d;
}

int
store_read(struct store *s, const char *name, char **data, size_t *len)
{
	char *path = util_asprintf("%s/%s", s->dir, name);
	struct doc *d = doc_get(s, name);
	int r;

	if (!path || !d) {
		free(path);
		return -ENOMEM;
	}
	r = util_read_file(path, STORE_MAX_DOC, UTIL_READ_NOFOLLOW, data, len);
	free(path);
	if (r == 0) {
		free(d->last);
		d->last = strdup(*data);
	}
	return r;
}

int
store_write(struct store *s, const char *name, const char *data, size_t len)
{
	struct doc *d = doc_get(s, name);
	int r;

	if (!d)
		return -ENOMEM;
	if (d->last && strlen(d->last) == len && memcmp(d->last, data, len) == 0)
		return 0;
	r = util_write_file_atomic(s->dir, name, data, len, 0600);
	if (r < 0) {
		if (!d->failing)
			log_msg(LOG_ERR, MSGID_STATE_WRITE_FAILED,
				"cannot write state file %s/%s: %s; alert state is kept in memory "
				"and the write is retried after the next poll",
				s->dir, name, strerror(-r));
		d->failing = true;
		return r;
	}
	if (d->failing)
		log_notice("state file %s/%s written again after earlier failures", s->dir, name);
	d->failing = false;
	free(d->last);
	d->last = strndup(data, len);
	return 0;
}

json_t *
store_projects_parse(const char *json, size_t len)
{
	json_error_t err;
	json_t *root = json_loadb(json, len, 0, &err), *projects = NULL;
	json_int_t version = 0;

	if (root &&
	    json_unpack(root, "{s:I, s:o}", "version", &version, "projects", &projects) == 0 &&
	    version == 1 && json_is_object(projects))
		json_incref(projects);
	else
		projects = NULL;
	json_decref(root);
	return projects;
}

int
store_projects_dump(json_t *projects, char **json, size_t *len)
{
	json_t *root = projects ? json_pack("{s:i, s:o}", "version", 1, "projects", projects)
				: NULL;

	*json = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
	json_decref(root);
	if (!*json)
		return -ENOMEM;
	*len = strlen(*json);
	return 0;
}
