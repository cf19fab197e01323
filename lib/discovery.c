/* SPDX-License-Identifier: ISC */
/*
 * discovery — see discovery.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "discovery.h"
#include "json.h"
#include "util.h"

#define DISC_DOC_VERSION 1

/* ---- sets ---------------------------------------------------------------- */

size_t
disc_set_count(const struct disc_set *s)
{
	return s ? HASH_COUNT(s->by_id) : 0;
}

static void
project_free(struct disc_project *p)
{
	free(p->id);
	free(p->name);
	free(p->org_id);
	free(p);
}

/* Takes the strings (and clears the caller's pointers) when the id is
 * new; an id already in s is kept once, as first listed. */
static int
set_take(struct disc_set *s, struct atlas_group *g)
{
	struct disc_project *p;

	if (g->id == NULL)
		return 0;
	HASH_FIND_STR(s->by_id, g->id, p);
	if (p != NULL)
		return 0; /* listed twice (pages shifted under us): once */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->id = g->id;
	p->name = g->name;
	p->org_id = g->org_id;
	g->id = g->name = g->org_id = NULL;
	HASH_ADD_KEYPTR(hh, s->by_id, p->id, strlen(p->id), p);
	return 0;
}

int
disc_set_add_page(struct disc_set *s, struct atlas_groups *page)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < page->n; i++)
		r = set_take(s, &page->v[i]);
	atlas_groups_free(page);
	return r;
}

void
disc_set_free(struct disc_set *s)
{
	struct disc_project *p, *tmp;

	if (s == NULL)
		return;
	HASH_ITER(hh, s->by_id, p, tmp) {
		HASH_DEL(s->by_id, p);
		project_free(p);
	}
}

void
disc_source_free(struct disc_source *s)
{
	if (s == NULL)
		return;
	free(s->org_id);
	disc_set_free(&s->set);
	memset(s, 0, sizeof(*s));
}

/* ---- the filter ---------------------------------------------------------- */

bool
disc_wanted(const struct cfg_discover *d, const char *name)
{
	bool in = d->n_include == 0;

	if (name == NULL)
		return false;
	for (size_t i = 0; !in && i < d->n_include; i++)
		in = d->include[i] != NULL && regexec(&d->include_re[i], name, 0, NULL, 0) == 0;
	for (size_t i = 0; in && i < d->n_exclude; i++)
		if (d->exclude[i] != NULL && regexec(&d->exclude_re[i], name, 0, NULL, 0) == 0)
			in = false;
	return in;
}

/* ---- the view ------------------------------------------------------------ */

struct disc_idx {
	const struct cfg_project *p;
	bool listed;
	UT_hash_handle hh;
};

void
disc_view_free(struct disc_view *v)
{
	if (v == NULL)
		return;
	HASH_CLEAR(hh, v->idx);
	for (size_t i = v->n_listed; i < v->cfg.n_projects; i++) {
		free(v->cfg.projects[i].id);
		free(v->cfg.projects[i].name);
	}
	free(v->cfg.projects);
	free(v->slots);
	memset(v, 0, sizeof(*v));
}

const struct cfg_project *
disc_view_find(const struct disc_view *v, const char *id, bool *listed)
{
	struct disc_idx *x;

	if (v == NULL || id == NULL)
		return NULL;
	HASH_FIND_STR(v->idx, id, x);
	if (x && listed)
		*listed = x->listed;
	return x ? x->p : NULL;
}

int
disc_view_build(struct disc_view *out, const struct config *base,
		const struct disc_source *sources, size_t n_sources)
{
	struct disc_view v = {.cfg = *base};
	size_t cap = base->n_projects, n = 0;

	memset(out, 0, sizeof(*out));
	for (size_t s = 0; s < n_sources; s++)
		cap += disc_set_count(&sources[s].set);
	v.cfg.projects = calloc(cap + 1, sizeof(*v.cfg.projects));
	v.slots = calloc(cap + 1, sizeof(*v.slots));
	v.cfg.n_projects = 0;
	if (!v.cfg.projects || !v.slots)
		goto nomem;
	for (size_t i = 0; i < base->n_projects; i++) {
		struct disc_idx *x, *dup;

		v.cfg.projects[n] = base->projects[i];
		x = &v.slots[n];
		x->p = &v.cfg.projects[n];
		x->listed = true;
		HASH_FIND_STR(v.idx, x->p->id, dup);
		if (dup)
			continue; /* config.c refuses duplicates; never twice here */
		HASH_ADD_KEYPTR(hh, v.idx, x->p->id, strlen(x->p->id), x);
		n++;
	}
	v.n_listed = v.cfg.n_projects = n;
	for (size_t s = 0; s < n_sources; s++) {
		const struct disc_project *dp, *tmp;

		HASH_ITER(hh, sources[s].set.by_id, dp, tmp) {
			struct cfg_project *p = &v.cfg.projects[n];
			const char *name = dp->name ? dp->name : dp->id;
			struct disc_idx *x;

			HASH_FIND_STR(v.idx, dp->id, x);
			if (x)
				continue; /* listed (its own settings win), or seen */
			if (!disc_wanted(&base->discover, name)) {
				v.n_filtered++;
				continue;
			}
			*p = (struct cfg_project){
				.id = strdup(dp->id),
				.name = strdup(name),
				.expect_provider = PROV_NONE,
				.checks = base->checks,
			};
			/* counted before a failure, so that free frees it */
			v.cfg.n_projects = ++n;
			if (!p->id || !p->name)
				goto nomem;
			x = &v.slots[n - 1];
			x->p = p;
			HASH_ADD_KEYPTR(hh, v.idx, p->id, strlen(p->id), x);
		}
	}
	*out = v;
	return 0;
nomem:
	disc_view_free(&v);
	return -ENOMEM;
}

static bool
is_wanted(const struct cfg_project *p, const char *const *wanted, size_t n)
{
	for (size_t w = 0; w < n; w++)
		if (util_streq(p->id, wanted[w]) || util_streq(p->name, wanted[w]))
			return true;
	return false;
}

int
disc_view_keep(struct disc_view *v, const char *const *wanted, size_t n, const char **unknown)
{
	size_t kept = 0, listed = 0;

	*unknown = NULL;
	for (size_t w = 0; w < n; w++) {
		bool found = false;

		for (size_t i = 0; i < v->cfg.n_projects && !found; i++)
			found = util_streq(v->cfg.projects[i].id, wanted[w]) ||
				util_streq(v->cfg.projects[i].name, wanted[w]);
		if (!found) {
			*unknown = wanted[w];
			return -ENOENT;
		}
	}
	HASH_CLEAR(hh, v->idx);
	for (size_t i = 0; i < v->cfg.n_projects; i++) {
		struct cfg_project *p = &v->cfg.projects[i];

		if (is_wanted(p, wanted, n)) {
			v->cfg.projects[kept++] = *p;
			if (i < v->n_listed)
				listed++;
		} else if (i >= v->n_listed) {
			free(p->id);
			free(p->name);
		}
	}
	v->cfg.n_projects = kept;
	v->n_listed = listed;
	for (size_t i = 0; i < kept; i++) {
		struct disc_idx *x = &v->slots[i];

		x->p = &v->cfg.projects[i];
		x->listed = i < listed;
		HASH_ADD_KEYPTR(hh, v->idx, x->p->id, strlen(x->p->id), x);
	}
	return 0;
}

static int
change_push(struct disc_change **v, size_t *n, size_t *cap, struct disc_change c)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct disc_change *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = c;
	return 0;
}

int
disc_view_diff(const struct disc_view *prev, const struct disc_view *next,
	       struct disc_change **out, size_t *n)
{
	struct disc_change *v = NULL;
	size_t cnt = 0, cap = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = next->n_listed; r == 0 && i < next->cfg.n_projects; i++) {
		const struct cfg_project *p = &next->cfg.projects[i], *was;
		bool listed = false;

		was = disc_view_find(prev, p->id, &listed);
		if (!was)
			r = change_push(&v, &cnt, &cap, (struct disc_change){DISC_ADDED, p, NULL});
		else if (!listed && strcmp(was->name, p->name) != 0)
			r = change_push(&v, &cnt, &cap,
					(struct disc_change){DISC_RENAMED, p, was->name});
	}
	for (size_t i = prev ? prev->n_listed : 0; prev && r == 0 && i < prev->cfg.n_projects;
	     i++) {
		const struct cfg_project *p = &prev->cfg.projects[i];

		if (!disc_view_find(next, p->id, NULL))
			r = change_push(&v, &cnt, &cap, (struct disc_change){DISC_REMOVED, p, NULL});
	}
	if (r < 0) {
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* ---- the state document -------------------------------------------------- */

int
disc_save(const struct disc_source *sources, size_t n, char **json, size_t *len)
{
	json_t *doc = json_pack("{s:i, s:[]}", "version", DISC_DOC_VERSION, "sources");
	json_t *arr = doc ? json_object_get(doc, "sources") : NULL;
	int r = 0;

	if (!arr) {
		json_decref(doc);
		return -ENOMEM;
	}
	for (size_t s = 0; r == 0 && s < n; s++) {
		const struct disc_project *p, *tmp;
		json_t *src, *ps;

		if (!sources[s].known)
			continue;
		src = json_pack("{s:s?, s:I, s:[]}", "org_id", sources[s].org_id, "listed_at",
				(json_int_t)sources[s].listed_at, "projects");
		ps = src ? json_object_get(src, "projects") : NULL;
		if (!ps || json_array_append_new(arr, src) < 0) {
			json_decref(src);
			r = -ENOMEM;
			break;
		}
		HASH_ITER(hh, sources[s].set.by_id, p, tmp) {
			json_t *o = json_pack("{s:s, s:s?, s:s?}", "id", p->id, "name", p->name,
					      "orgId", p->org_id);

			if (!o || json_array_append_new(ps, o) < 0) {
				r = -ENOMEM;
				break;
			}
		}
	}
	if (r == 0) {
		*json = json_dumps(doc, JSON_COMPACT);
		if (!*json)
			r = -ENOMEM;
		else
			*len = strlen(*json);
	}
	json_decref(doc);
	return r;
}

static int
load_project(json_t *item, const char *where, struct disc_set *set, char *err, size_t errlen)
{
	struct atlas_group g = {0};
	int r;

	if (!json_is_object(item)) {
		kj_seterr(err, errlen, "%s is not an object", where);
		return -EBADMSG;
	}
	r = kj_get_str(item, "id", where, &g.id, err, errlen);
	if (r == 0)
		r = kj_get_str(item, "name", where, &g.name, err, errlen);
	if (r == 0)
		r = kj_get_str(item, "orgId", where, &g.org_id, err, errlen);
	if (r == 0 && !atlas_group_id_valid(g.id)) {
		kj_seterr(err, errlen, "%sid is not a project id", where);
		r = -EBADMSG;
	}
	if (r == 0 && g.name)
		util_sanitize(g.name);
	if (r == 0) {
		for (char *c = g.id; *c; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c - 'A' + 'a');
		r = set_take(set, &g);
	}
	/* what set_take did not take: a repeated id, or a failure */
	free(g.id);
	free(g.name);
	free(g.org_id);
	return r;
}

static int
load_source(json_t *src, size_t i, struct disc_source *out, char *err, size_t errlen)
{
	char where[KJ_WHERE_MAX];
	json_t *ps, *item;
	bool has_at = false;
	int64_t at = 0;
	size_t j;
	int r;

	snprintf(where, sizeof(where), "sources[%zu].", i);
	if (!json_is_object(src)) {
		kj_seterr(err, errlen, "sources[%zu] is not an object", i);
		return -EBADMSG;
	}
	r = kj_get_str(src, "org_id", where, &out->org_id, err, errlen);
	if (r == 0 && out->org_id && !atlas_group_id_valid(out->org_id)) {
		kj_seterr(err, errlen, "%sorg_id is not an organization id", where);
		r = -EBADMSG;
	}
	if (r == 0)
		r = kj_get_int(src, "listed_at", where, &has_at, &at, err, errlen);
	if (r == 0)
		r = kj_get_array(src, "projects", where, &ps, err, errlen);
	if (r == 0 && ps == NULL) {
		kj_seterr(err, errlen, "%sprojects is missing", where);
		r = -EBADMSG;
	}
	if (r < 0)
		return r;
	out->known = true;
	out->listed_at = has_at && at > 0 ? (time_t)at : 0;
	json_array_foreach(ps, j, item) {
		char w[KJ_WHERE_MAX];

		snprintf(w, sizeof(w), "sources[%zu].projects[%zu].", i, j);
		if ((r = load_project(item, w, &out->set, err, errlen)) < 0)
			return r;
	}
	return 0;
}

int
disc_load(const char *json, size_t len, struct disc_source **out, size_t *n, char *err,
	  size_t errlen)
{
	struct disc_source *v = NULL;
	json_error_t je;
	json_t *doc, *arr, *src;
	size_t i, cnt = 0;
	int r = 0;

	*out = NULL;
	*n = 0;
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		kj_seterr(err, errlen, "line %d column %d: %s", je.line, je.column, je.text);
		return -EBADMSG;
	}
	if (!json_is_object(doc) || !json_is_integer(json_object_get(doc, "version")) ||
	    json_integer_value(json_object_get(doc, "version")) != DISC_DOC_VERSION ||
	    !json_is_array(arr = json_object_get(doc, "sources"))) {
		kj_seterr(err, errlen, "not a version %d discovery document", DISC_DOC_VERSION);
		json_decref(doc);
		return -EBADMSG;
	}
	if (json_array_size(arr) > 0 && !(v = calloc(json_array_size(arr), sizeof(*v)))) {
		json_decref(doc);
		return -ENOMEM;
	}
	json_array_foreach(arr, i, src) {
		cnt = i + 1;
		if ((r = load_source(src, i, &v[i], err, errlen)) < 0)
			break;
		for (size_t k = 0; k < i; k++)
			if (util_streq(v[k].org_id, v[i].org_id)) {
				kj_seterr(err, errlen, "sources[%zu] repeats sources[%zu]", i, k);
				r = -EBADMSG;
				break;
			}
		if (r < 0)
			break;
	}
	json_decref(doc);
	if (r < 0) {
		for (size_t k = 0; k < cnt; k++)
			disc_source_free(&v[k]);
		free(v);
		return r;
	}
	*out = v;
	*n = cnt;
	return 0;
}
