/* SPDX-License-Identifier: ISC */
/*
 * store — see store.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "log.h"
#include "msgid.h"
#include "store.h"
#include "util.h"

/* projects.json takes some 470 bytes a project (the ear.config
 * fingerprint, memory of the providers): 64 MiB holds 100,000 of them. */
#define STORE_MAX_DOC (64 * 1024 * 1024)

struct doc {
	struct doc *next;
	char *name;
	/* SHA-256 of the last content written or read, to skip writing the
	 * same again: a copy would double the largest document in memory */
	unsigned char last[CRYPTO_SHA256_LEN];
	bool have_last;
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
	if (r == 0)
		d->have_last = crypto_sha256(*data, *len, d->last) == 0;
	return r;
}

int
store_write(struct store *s, const char *name, const char *data, size_t len)
{
	struct doc *d = doc_get(s, name);
	unsigned char digest[CRYPTO_SHA256_LEN];
	bool hashed;
	int r;

	if (!d)
		return -ENOMEM;
	hashed = crypto_sha256(data, len, digest) == 0;
	if (hashed && d->have_last && memcmp(d->last, digest, sizeof(digest)) == 0)
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
	memcpy(d->last, digest, sizeof(digest));
	d->have_last = hashed;
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

void
store_projects_begin(struct store_projects_out *o)
{
	memset(o, 0, sizeof(*o));
	o->failed = strbuf_puts(&o->b, "{\"version\": 1, \"projects\": {") < 0;
}

void
store_projects_add(struct store_projects_out *o, const char *id, json_t *obj)
{
	json_t *key = json_string(id);
	char *k = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
	char *v = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

	if (!k || !v ||
	    strbuf_printf(&o->b, "%s\n %s: %s", o->n ? "," : "", k, v) < 0)
		o->failed = true;
	else
		o->n++;
	free(k);
	free(v);
	json_decref(key);
	json_decref(obj);
}

int
store_projects_end(struct store_projects_out *o, char **json, size_t *len)
{
	if (!o->failed && strbuf_puts(&o->b, o->n ? "\n}}\n" : "}}\n") < 0)
		o->failed = true;
	if (o->failed) {
		strbuf_free(&o->b);
		return -ENOMEM;
	}
	*len = o->b.len;
	*json = strbuf_detach(&o->b);
	return *json ? 0 : -ENOMEM;
}
