/* SPDX-License-Identifier: ISC */
/*
 * fuzz_state — libFuzzer harness for what kmswatchd reads back from its
 * state directory: alerts.json (alerts_load, then a save/load round trip
 * that must succeed), outbox records (outbox_decode, then encode/decode
 * again), outbox file names and sink directory names, and the per-project
 * documents projects.json / azure.json (store_projects_parse, then each
 * project's EAR and control-plane memory, round-tripped, and the whole
 * document through the streamed writer and back), and discover.json
 * (disc_load, then a save/load round trip that must succeed). A state
 * file may be damaged by a crash, a full disk or a person: the only
 * acceptable outcomes are a result or an error code.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alerts.h"
#include "atlas_checks.h"
#include "checks.h"
#include "discovery.h"
#include "outbox.h"
#include "store.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the streamed writer makes of a parsed document parses back to
 * the same projects. */
static void
fuzz_projects_round_trip(json_t *projects)
{
	struct store_projects_out out;
	const char *id;
	json_t *v, *back;
	char *json = NULL;
	size_t len = 0;

	store_projects_begin(&out);
	json_object_foreach(projects, id, v)
		store_projects_add(&out, id, json_incref(v));
	if (store_projects_end(&out, &json, &len) < 0)
		return;
	back = store_projects_parse(json, len);
	if (!back || !json_equal(back, projects))
		abort();
	json_decref(back);
	free(json);
}

static void
fuzz_alerts(const char *body, size_t size)
{
	struct alert_engine *e = NULL, *again = NULL;
	char *json = NULL;
	size_t len = 0;

	if (alerts_new(&e) < 0)
		return;
	if (alerts_load(e, body, size) == 0 && alerts_save(e, &json, &len) == 0) {
		/* what we wrote ourselves always loads */
		if (alerts_new(&again) == 0 && alerts_load(again, json, len) != 0)
			abort();
		alerts_free(again);
		free(json);
	}
	alerts_free(e);
}

static void
fuzz_outbox(const char *body, size_t size)
{
	struct outbox_record r = {0}, back = {0};
	char err[128], *json = NULL;
	size_t len = 0;

	if (outbox_decode(body, size, &r, err, sizeof(err)) == 0) {
		if (outbox_encode(&r, &json, &len) == 0) {
			if (outbox_decode(json, len, &back, err, sizeof(err)) != 0)
				abort();
			outbox_record_clear(&back);
			free(json);
		}
		outbox_record_clear(&r);
	}
}

static void
fuzz_names(const char *text)
{
	char dir[512], *sink = NULL;
	uint64_t seq;

	(void)outbox_parse_file_name(text, &seq);
	if (outbox_sink_from_dir(text, &sink) == 0) {
		/* a directory name maps back to the same directory name */
		if (outbox_dir_name(sink, dir, sizeof(dir)) == 0 && strcmp(dir, text) != 0)
			abort();
		free(sink);
	}
	if (outbox_dir_name(text, dir, sizeof(dir)) == 0) {
		if (outbox_sink_from_dir(dir, &sink) != 0 || strcmp(sink, text) != 0)
			abort();
		free(sink);
	}
}

/* Each project's remembered EAR state (projects.json) and control-plane
 * list (azure.json's "cp"): whatever loads is written back and loads again
 * to the same memory. */
static void
fuzz_memories(json_t *projects)
{
	const char *id;
	json_t *o;

	json_object_foreach(projects, id, o) {
		struct ear_memory m = {0}, m2 = {0};
		struct cp_memory c = {0}, c2 = {0};
		json_t *back;

		if (ear_memory_from_json(o, &m) == 0 && (back = ear_memory_to_json(&m)) != NULL) {
			if (ear_memory_from_json(back, &m2) != 0 ||
			    m.key_first_seen != m2.key_first_seen ||
			    (m.key_id == NULL) != (m2.key_id == NULL) ||
			    (m.key_id && strcmp(m.key_id, m2.key_id) != 0))
				abort();
			json_decref(back);
		}
		ear_memory_free(&m);
		ear_memory_free(&m2);
		if (cp_memory_from_json(json_object_get(o, "cp"), &c) == 0 &&
		    (back = cp_memory_to_json(&c)) != NULL) {
			if (cp_memory_from_json(back, &c2) != 0 || c2.n_base != c.n_base ||
			    c2.n_last != c.n_last || c2.changed_at != c.changed_at)
				abort();
			json_decref(back);
		}
		cp_memory_free(&c);
		cp_memory_free(&c2);
	}
}

static void
fuzz_discover_doc(const char *body, size_t size)
{
	struct disc_source *v = NULL, *again = NULL;
	size_t n = 0, m = 0, len = 0;
	char *json = NULL, err[160];

	if (disc_load(body, size, &v, &n, err, sizeof(err)) != 0)
		return;
	if (disc_save(v, n, &json, &len) == 0) {
		if (disc_load(json, len, &again, &m, err, sizeof(err)) != 0 || m != n)
			abort();
		for (size_t i = 0; i < m; i++)
			disc_source_free(&again[i]);
		free(again);
		free(json);
	}
	for (size_t i = 0; i < n; i++)
		disc_source_free(&v[i]);
	free(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size copies: any read past `size` is caught by ASan */
	char *body = malloc(size ? size : 1), *text = malloc(size + 1);
	json_t *projects;

	if (body == NULL || text == NULL) {
		free(body);
		free(text);
		return 0;
	}
	memcpy(body, data, size);
	memcpy(text, data, size);
	text[size] = '\0';

	fuzz_alerts(body, size);
	fuzz_outbox(body, size);
	fuzz_names(text);
	fuzz_discover_doc(body, size);
	if ((projects = store_projects_parse(body, size)) != NULL) {
		fuzz_memories(projects);
		fuzz_projects_round_trip(projects);
		json_decref(projects);
	}

	free(body);
	free(text);
	return 0;
}
