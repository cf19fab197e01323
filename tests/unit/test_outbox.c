/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/outbox.c: the record format (round trip, a golden
 * document, strict refusal of every kind of damage, truncation and byte
 * flips that must never crash), file and directory names, the retry
 * decision and the crash-recovery comparisons.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "outbox.h"
#include "util.h"

#define UNUSED __attribute__((unused))
#define AID "0123456789abcdef0123456789abcdef"
#define MID "msg_00112233445566778899aabbccddeeff"

static void
fill(struct outbox_record *r, bool full)
{
	memset(r, 0, sizeof(*r));
	r->sink = strdup("ops-slack");
	r->seq = 42;
	memcpy(r->id, MID, sizeof(MID));
	r->host = strdup("monitor-1");
	r->enqueued_at = 1795000000;
	r->attempts = 2;
	r->next_attempt_ms = 1795000012345;
	r->ev.kind = EV_FIRING;
	memcpy(r->ev.alert_id, AID, sizeof(AID));
	r->ev.check = CHK_EAR_VALID;
	r->ev.severity = SEV_CRITICAL;
	r->ev.previous_severity = SEV_WARNING;
	r->ev.provider = PROV_AZURE;
	r->ev.project_id = strdup("65a1b2c3d4e5f60718293a00");
	r->ev.project_name = strdup("payments-prod");
	r->ev.subject = strdup("azure");
	r->ev.summary = strdup("Atlas reports the key invalid: \"quote\" \\ é ✓");
	r->ev.started_at = 1794990000;
	r->ev.observed_at = 1795000000;
	if (full) {
		r->ev.has_days_left = true;
		r->ev.days_left = -3;
		r->ev.has_age_days = true;
		r->ev.age_days = 91;
		r->ev.missing = strdup("192.0.2.0/24,198.51.100.7/32");
	}
}

static void
assert_same(const struct outbox_record *a, const struct outbox_record *b)
{
	assert_string_equal(a->sink, b->sink);
	assert_int_equal(a->seq, b->seq);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->host, b->host);
	assert_int_equal(a->enqueued_at, b->enqueued_at);
	assert_int_equal(a->attempts, b->attempts);
	assert_int_equal(a->next_attempt_ms, b->next_attempt_ms);
	assert_int_equal(a->ev.kind, b->ev.kind);
	assert_string_equal(a->ev.alert_id, b->ev.alert_id);
	assert_int_equal(a->ev.check, b->ev.check);
	assert_int_equal(a->ev.severity, b->ev.severity);
	assert_int_equal(a->ev.previous_severity, b->ev.previous_severity);
	assert_int_equal(a->ev.provider, b->ev.provider);
	assert_string_equal(a->ev.project_id, b->ev.project_id);
	assert_string_equal(a->ev.project_name, b->ev.project_name);
	assert_string_equal(a->ev.subject, b->ev.subject);
	assert_string_equal(a->ev.summary, b->ev.summary);
	assert_int_equal(a->ev.started_at, b->ev.started_at);
	assert_int_equal(a->ev.observed_at, b->ev.observed_at);
	assert_int_equal(a->ev.has_days_left, b->ev.has_days_left);
	assert_int_equal(a->ev.days_left, b->ev.days_left);
	assert_int_equal(a->ev.has_age_days, b->ev.has_age_days);
	assert_int_equal(a->ev.age_days, b->ev.age_days);
	if (a->ev.missing || b->ev.missing)
		assert_string_equal(a->ev.missing, b->ev.missing);
	assert_false(b->ev.held);
	assert_null(b->ev.note);
	assert_null(b->ev.sinks);
}

static char *
encode(const struct outbox_record *r)
{
	char *json = NULL;
	size_t len = 0;

	assert_int_equal(outbox_encode(r, &json, &len), 0);
	assert_int_equal(strlen(json), len);
	return json;
}

static void
test_round_trip(void **state UNUSED)
{
	for (int full = 0; full < 2; full++) {
		for (int kind = EV_FIRING; kind <= EV_INFO; kind++) {
			struct outbox_record r, back;
			char err[128];
			char *json;

			fill(&r, full);
			r.ev.kind = (enum event_kind)kind;
			r.ev.provider = kind == EV_INFO ? PROV_NONE : PROV_AZURE;
			json = encode(&r);
			assert_int_equal(outbox_decode(json, strlen(json), &back, err, sizeof(err)),
					 0);
			assert_string_equal(err, "");
			assert_same(&r, &back);
			/* encoding is deterministic */
			{
				char *again = encode(&back);

				assert_string_equal(json, again);
				free(again);
			}
			free(json);
			outbox_record_clear(&r);
			outbox_record_clear(&back);
			assert_null(back.sink);
		}
	}
}

/* The format is an on-disk contract: a change must bump the version. */
static void
test_golden(void **state UNUSED)
{
	struct outbox_record r;
	char *json;

	fill(&r, true);
	json = encode(&r);
	assert_string_equal(
		json,
		"{\"version\":1,\"sink\":\"ops-slack\",\"seq\":42,\"id\":\"" MID "\","
		"\"host\":\"monitor-1\",\"enqueued_at\":1795000000,\"attempts\":2,"
		"\"next_attempt_ms\":1795000012345,\"event\":{\"kind\":\"firing\","
		"\"alert_id\":\"" AID "\",\"check\":\"ear.valid\",\"severity\":\"critical\","
		"\"previous_severity\":\"warning\",\"provider\":\"azure\","
		"\"project_id\":\"65a1b2c3d4e5f60718293a00\",\"project_name\":\"payments-prod\","
		"\"subject\":\"azure\",\"summary\":\"Atlas reports the key invalid: \\\"quote\\\" "
		"\\\\ \xc3\xa9 \xe2\x9c\x93\",\"started_at\":1794990000,\"observed_at\":1795000000,"
		"\"days_left\":-3,\"age_days\":91,\"missing\":\"192.0.2.0/24,198.51.100.7/32\"}}");
	free(json);
	outbox_record_clear(&r);
}

static void
test_encode_refuses(void **state UNUSED)
{
	struct outbox_record r;
	char *json = (char *)1;
	size_t len;

	fill(&r, false);
	assert_int_equal(outbox_encode(NULL, &json, &len), -EINVAL);
	assert_int_equal(outbox_encode(&r, NULL, &len), -EINVAL);
	r.seq = 0;
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	r.seq = 1;
	r.id[5] = 'X';
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	memcpy(r.id, MID, sizeof(MID));
	r.ev.alert_id[0] = 'G';
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	memcpy(r.ev.alert_id, AID, sizeof(AID));
	r.ev.check = CHK__COUNT;
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	r.ev.check = CHK_EAR_VALID;
	r.ev.kind = (enum event_kind)9;
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	r.ev.kind = EV_REPEAT;
	r.enqueued_at = -1;
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	r.enqueued_at = 1;
	free(r.host);
	r.host = NULL;
	assert_int_equal(outbox_encode(&r, &json, &len), -EINVAL);
	assert_ptr_equal(json, (char *)1);
	outbox_record_clear(&r);
}

/* Replace the first `from` in a valid document by `to`: it must be refused
 * as damaged, with a reason that does not quote the record. */
static void
expect_bad(const char *from, const char *to)
{
	struct outbox_record r, out;
	char err[160], *json, *p, *bad;

	fill(&r, true);
	json = encode(&r);
	p = strstr(json, from);
	if (p == NULL)
		fail_msg("pattern %s not in %s", from, json);
	bad = util_asprintf("%.*s%s%s", (int)(p - json), json, to, p + strlen(from));
	err[0] = 'x';
	if (outbox_decode(bad, strlen(bad), &out, err, sizeof(err)) != -EBADMSG)
		fail_msg("accepted: %s", bad);
	assert_true(err[0] != '\0');
	assert_null(strstr(err, "payments-prod"));
	assert_null(strstr(err, "Atlas reports"));
	assert_null(out.sink);
	assert_null(out.ev.project_id);
	free(bad);
	free(json);
	outbox_record_clear(&r);
}

static void
test_decode_strict(void **state UNUSED)
{
	expect_bad("\"version\":1", "\"version\":2");
	expect_bad("\"version\":1", "\"version\":\"1\"");
	expect_bad("\"version\":1,", "");
	expect_bad("\"sink\":\"ops-slack\"", "\"sink\":\"\"");
	expect_bad("\"sink\":\"ops-slack\"", "\"sink\":\"a\\nb\"");
	expect_bad("\"sink\":\"ops-slack\"", "\"sink\":\"a\\u0000b\"");
	expect_bad("\"seq\":42", "\"seq\":0");
	expect_bad("\"seq\":42", "\"seq\":-1");
	expect_bad("\"seq\":42", "\"seq\":4.2");
	expect_bad("\"id\":\"msg_", "\"id\":\"MSG_");
	expect_bad("\"id\":\"msg_00", "\"id\":\"msg_0");
	expect_bad("\"host\":\"monitor-1\"", "\"host\":null");
	expect_bad("\"enqueued_at\":1795000000", "\"enqueued_at\":-5");
	expect_bad("\"attempts\":2", "\"attempts\":-1");
	expect_bad("\"attempts\":2", "\"attempts\":99999999999");
	expect_bad("\"next_attempt_ms\":1795000012345,", "");
	expect_bad("\"kind\":\"firing\"", "\"kind\":\"fired\"");
	expect_bad("\"alert_id\":\"0123", "\"alert_id\":\"X123");
	expect_bad("\"alert_id\":\"" AID "\"", "\"alert_id\":\"" AID "0\"");
	expect_bad("\"check\":\"ear.valid\"", "\"check\":\"ear.nope\"");
	expect_bad("\"severity\":\"critical\"", "\"severity\":\"CRITICAL\"");
	expect_bad("\"previous_severity\":\"warning\"", "\"previous_severity\":7");
	expect_bad("\"provider\":\"azure\"", "\"provider\":\"AZURE\"");
	expect_bad("\"provider\":\"azure\"", "\"provider\":\"\"");
	expect_bad("\"project_id\":\"65a1b2c3d4e5f60718293a00\",", "");
	expect_bad("\"summary\":\"Atlas", "\"summary\":[\"Atlas\"],\"x\":\"");
	expect_bad("\"summary\":\"Atlas", "\"summary\":\"\\u0000Atlas");
	expect_bad("\"days_left\":-3", "\"days_left\":\"-3\"");
	expect_bad("\"missing\":\"192", "\"missing\":null,\"m\":\"192");
	expect_bad("\"observed_at\":1795000000", "\"observed_at\":1e3");
	/* unknown keys, at both levels, and duplicates */
	expect_bad("\"host\":", "\"url\":\"https://x\",\"host\":");
	expect_bad("\"age_days\":", "\"routing_key\":\"k\",\"age_days\":");
	expect_bad("\"seq\":42", "\"seq\":42,\"seq\":43");
	/* not the document at all */
	expect_bad("{\"version\"", "[{\"version\"");
	expect_bad("\"event\":{", "\"event\":[{");
	expect_bad("}}", "}} x");
	expect_bad("}}", "}}{}");
}

static void
test_decode_arguments(void **state UNUSED)
{
	struct outbox_record out;
	char err[64], *big;

	assert_int_equal(outbox_decode(NULL, 0, &out, err, sizeof(err)), -EINVAL);
	assert_int_equal(outbox_decode("{}", 2, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(outbox_decode("", 0, &out, err, sizeof(err)), -EBADMSG);
	assert_int_equal(outbox_decode("{}", 2, &out, NULL, 0), -EBADMSG);
	assert_int_equal(outbox_decode("null", 4, &out, err, sizeof(err)), -EBADMSG);
	big = calloc(1, OUTBOX_MAX_RECORD + 2);
	memset(big, ' ', OUTBOX_MAX_RECORD + 1);
	assert_int_equal(outbox_decode(big, OUTBOX_MAX_RECORD + 1, &out, err, sizeof(err)),
			 -EBADMSG);
	assert_non_null(strstr(err, "larger"));
	free(big);
}

/* A torn or flipped file is refused or, when the damage happens to leave
 * a valid record, accepted: never a crash, never a half-filled record. */
static void
test_truncation_and_flips(void **state UNUSED)
{
	struct outbox_record r, out;
	char err[128], *json;
	size_t len;
	unsigned seed = 12345;

	fill(&r, true);
	json = encode(&r);
	len = strlen(json);
	for (size_t cut = 0; cut < len; cut++) {
		char *part = strndup(json, cut);

		assert_int_equal(outbox_decode(part, cut, &out, err, sizeof(err)), -EBADMSG);
		assert_null(out.sink);
		free(part);
	}
	for (int i = 0; i < 20000; i++) {
		char *copy = strdup(json);
		int rc;

		for (int k = 0; k < 1 + i % 3; k++) {
			seed = seed * 1103515245u + 12345u;
			copy[(seed >> 8) % len] ^= (char)(1u << ((seed >> 4) % 8));
		}
		rc = outbox_decode(copy, len, &out, err, sizeof(err));
		assert_true(rc == 0 || rc == -EBADMSG);
		if (rc == 0) {
			assert_non_null(out.sink);
			assert_true(outbox_id_valid(out.id));
			assert_true(out.seq > 0);
		} else {
			assert_null(out.sink);
		}
		outbox_record_clear(&out);
		free(copy);
	}
	free(json);
	outbox_record_clear(&r);
}

static void
test_ids(void **state UNUSED)
{
	unsigned char rnd[16];
	char id[OUTBOX_ID_LEN + 1];

	for (int i = 0; i < 16; i++)
		rnd[i] = (unsigned char)(i * 17);
	outbox_make_id(rnd, id);
	assert_string_equal(id, "msg_00112233445566778899aabbccddeeff");
	assert_true(outbox_id_valid(id));
	assert_false(outbox_id_valid(NULL));
	assert_false(outbox_id_valid("msg_00112233445566778899aabbccddeef"));
	assert_false(outbox_id_valid("msg_00112233445566778899aabbccddeeff0"));
	assert_false(outbox_id_valid("msg_00112233445566778899AABBCCDDEEFF"));
	assert_false(outbox_id_valid("evt_00112233445566778899aabbccddeeff"));
}

static void
test_file_names(void **state UNUSED)
{
	char a[OUTBOX_NAME_LEN + 1], b[OUTBOX_NAME_LEN + 1];
	uint64_t seq = 0;

	outbox_file_name(42, a);
	assert_string_equal(a, "0000000000000042.json");
	assert_int_equal(outbox_parse_file_name(a, &seq), 0);
	assert_int_equal(seq, 42);
	/* name order is sequence order, across digit counts */
	for (uint64_t x = 1; x < 100000000000ull; x = x * 7 + 3) {
		outbox_file_name(x, a);
		outbox_file_name(x + 1, b);
		assert_true(strcmp(a, b) < 0);
		outbox_file_name(x * 10, b);
		assert_true(strcmp(a, b) < 0);
		assert_int_equal(outbox_parse_file_name(b, &seq), 0);
		assert_int_equal(seq, x * 10);
	}
	/* everything else in a queue directory is not a record */
	assert_int_equal(outbox_parse_file_name(".0000000000000042.json.tmp", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("0000000000000042.json.bad", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("000000000000042.json", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("0000000000000000.json", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("00000000000000-1.json", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("0000000000000042.JSON", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name("", &seq), -EINVAL);
	assert_int_equal(outbox_parse_file_name(NULL, &seq), -EINVAL);
}

static void
dir_round_trip(const char *name, const char *want)
{
	char dir[OUTBOX_DIR_MAX + 1], *back = NULL;

	assert_int_equal(outbox_dir_name(name, dir, sizeof(dir)), 0);
	if (want)
		assert_string_equal(dir, want);
	assert_null(strchr(dir, '/'));
	assert_true(dir[0] != '.');
	assert_int_equal(outbox_sink_from_dir(dir, &back), 0);
	assert_string_equal(back, name);
	free(back);
}

static void
test_dir_names(void **state UNUSED)
{
	char dir[OUTBOX_DIR_MAX + 1], name[80], *s = NULL;

	dir_round_trip("ops-slack", "ops-slack");
	dir_round_trip("On_Call_2", "On_Call_2");
	dir_round_trip(".", "%2E");
	dir_round_trip("..", "%2E%2E");
	dir_round_trip("a/b", "a%2Fb");
	dir_round_trip("ops slack", "ops%20slack");
	dir_round_trip("100%", "100%25");
	dir_round_trip("%41", "%2541");
	dir_round_trip("caf\xc3\xa9", "caf%C3%A9");
	dir_round_trip("x.tmp", "x%2Etmp");
	/* the longest name the config allows, every byte escaped, fits */
	memset(name, '.', 64);
	name[64] = '\0';
	dir_round_trip(name, NULL);
	/* distinct names, distinct directories */
	{
		const char *names[] = {"a.b", "a%2Eb", "a_b", "a-b", "A.b", "a b"};
		char dirs[6][OUTBOX_DIR_MAX + 1];

		for (int i = 0; i < 6; i++)
			assert_int_equal(outbox_dir_name(names[i], dirs[i], sizeof(dirs[i])), 0);
		for (int i = 0; i < 6; i++)
			for (int j = i + 1; j < 6; j++)
				assert_string_not_equal(dirs[i], dirs[j]);
	}
	memset(name, '.', 70);
	name[70] = '\0';
	assert_int_equal(outbox_dir_name(name, dir, sizeof(dir)), -ENAMETOOLONG);
	assert_int_equal(outbox_dir_name("abc", dir, 3), -ENAMETOOLONG);
	assert_int_equal(outbox_dir_name("", dir, sizeof(dir)), -EINVAL);
	assert_int_equal(outbox_dir_name(NULL, dir, sizeof(dir)), -EINVAL);
	/* only the canonical form decodes */
	assert_int_equal(outbox_sink_from_dir("%41", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("%2e", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("a.b", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("%", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("%2", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("%00", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir("", &s), -EINVAL);
	assert_int_equal(outbox_sink_from_dir(".", &s), -EINVAL);
	assert_null(s);
}

static enum outbox_verdict
decide(unsigned attempts, bool transport, long status, int64_t ra, int64_t now_ms,
       int64_t *delay)
{
	struct outbox_record r = {.enqueued_at = 1000, .attempts = attempts};
	struct outbox_attempt a = {.transport_error = transport, .status = status,
				   .retry_after_s = ra};

	return outbox_decide(&r, &a, now_ms, 72 * 3600, 0x80000000u, delay);
}

static void
test_decide(void **state UNUSED)
{
	static const long done[] = {200, 201, 202, 204, 299};
	static const long permanent[] = {400, 401, 403, 404, 405, 409, 410, 413, 422, 451, 499};
	static const long retry[] = {408, 429, 500, 502, 503, 504, 599, 301, 302, 307, 100, 0};
	int64_t now = 1000 * 1000 + 5000, delay;

	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++) {
		assert_int_equal(decide(1, false, done[i], -1, now, &delay), OUTBOX_DONE);
		assert_int_equal(delay, 0);
	}
	for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
		assert_int_equal(decide(1, false, permanent[i], -1, now, &delay),
				 OUTBOX_PERMANENT);
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		assert_int_equal(decide(1, false, retry[i], -1, now, &delay), OUTBOX_RETRY);
		assert_int_equal(delay, backoff_delay_ms(0, OUTBOX_RETRY_BASE_MS,
							 OUTBOX_RETRY_MAX_MS, 0x80000000u));
	}
	/* a transport error whatever the status says; 2xx with a broken
	 * transfer is not done */
	assert_int_equal(decide(1, true, 200, -1, now, &delay), OUTBOX_RETRY);
	assert_int_equal(decide(1, true, 400, -1, now, &delay), OUTBOX_RETRY);
	/* backoff grows with attempts, capped */
	for (unsigned n = 1; n < 40; n++) {
		assert_int_equal(decide(n, true, 0, -1, now, &delay), OUTBOX_RETRY);
		assert_int_equal(delay, backoff_delay_ms(n - 1, OUTBOX_RETRY_BASE_MS,
							 OUTBOX_RETRY_MAX_MS, 0x80000000u));
		assert_true(delay <= OUTBOX_RETRY_MAX_MS);
	}
	/* Retry-After wins over backoff, both ways */
	assert_int_equal(decide(1, false, 429, 7, now, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, 7000);
	assert_int_equal(decide(9, false, 503, 2, now, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, 2000);
	assert_int_equal(decide(1, false, 429, 0, now, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, 1000);
	assert_int_equal(decide(1, false, 429, 86400, now, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, OUTBOX_RETRY_MAX_MS);
}

static void
test_decide_max_age(void **state UNUSED)
{
	int64_t deadline = (1000 + 72 * 3600) * 1000LL, delay;

	/* at or past the age: given up, whatever the failure */
	assert_int_equal(decide(5, true, 0, -1, deadline, &delay), OUTBOX_EXPIRED);
	assert_int_equal(decide(5, false, 503, -1, deadline + 1, &delay), OUTBOX_EXPIRED);
	/* success and permanent failures are what they are */
	assert_int_equal(decide(5, false, 200, -1, deadline + 1, &delay), OUTBOX_DONE);
	assert_int_equal(decide(5, false, 400, -1, deadline + 1, &delay), OUTBOX_PERMANENT);
	/* the last retry is moved to the deadline, not past it */
	assert_int_equal(decide(30, true, 0, -1, deadline - 2000, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, 2000);
	/* a Retry-After that ends after the deadline cannot be honoured */
	assert_int_equal(decide(1, false, 429, 60, deadline - 2000, &delay), OUTBOX_EXPIRED);
	assert_int_equal(decide(1, false, 429, 1, deadline - 2000, &delay), OUTBOX_RETRY);
	assert_int_equal(delay, 1000);
	/* an absurd enqueue time does not overflow */
	{
		struct outbox_record r = {.enqueued_at = INT64_MAX / 2, .attempts = 1};
		struct outbox_attempt a = {.transport_error = true, .retry_after_s = -1};

		assert_int_equal(outbox_decide(&r, &a, 0, 72 * 3600, 0, &delay), OUTBOX_RETRY);
	}
	assert_string_equal(outbox_verdict_name(OUTBOX_EXPIRED), "expired");
	assert_string_equal(outbox_verdict_name(OUTBOX_DONE), "delivered");
}

static void
test_recovery(void **state UNUSED)
{
	struct alert a = {.announced = true, .severity = SEV_CRITICAL, .started_at = 100,
			  .last_notified = 200};
	struct alert_event ev = {.kind = EV_FIRING, .severity = SEV_CRITICAL,
				 .previous_severity = SEV_OK, .started_at = 100,
				 .observed_at = 200};
	struct alert_event ev2;

	memcpy(a.id, AID, sizeof(AID));
	memcpy(ev.alert_id, AID, sizeof(AID));
	/* firing: saved state announced it at that time */
	assert_true(outbox_engine_has(&a, &ev));
	ev.observed_at = 201; /* announced after the last save */
	assert_false(outbox_engine_has(&a, &ev));
	assert_false(outbox_engine_has(NULL, &ev));
	ev.observed_at = 200;
	a.severity = SEV_WARNING; /* saved before the change to critical */
	assert_false(outbox_engine_has(&a, &ev));
	a.severity = SEV_CRITICAL;
	a.announced = false; /* saved while still confirming */
	assert_false(outbox_engine_has(&a, &ev));
	a.announced = true;
	/* repeat: the same rule */
	ev.kind = EV_REPEAT;
	assert_true(outbox_engine_has(&a, &ev));
	a.last_notified = 150;
	assert_false(outbox_engine_has(&a, &ev));
	/* resolved: the alert must be gone (or be a new instance) */
	ev.kind = EV_RESOLVED;
	ev.severity = SEV_OK;
	ev.previous_severity = SEV_CRITICAL;
	assert_true(outbox_engine_has(NULL, &ev));
	assert_false(outbox_engine_has(&a, &ev));
	a.started_at = 300;
	assert_true(outbox_engine_has(&a, &ev));
	/* info: never known */
	ev.kind = EV_INFO;
	assert_false(outbox_engine_has(NULL, &ev));

	/* the same news */
	ev = (struct alert_event){.kind = EV_FIRING, .severity = SEV_CRITICAL,
				  .previous_severity = SEV_OK, .observed_at = 1,
				  .summary = "one"};
	memcpy(ev.alert_id, AID, sizeof(AID));
	ev2 = ev;
	ev2.observed_at = 99;
	ev2.started_at = 98;
	ev2.summary = "other wording";
	assert_true(outbox_same_news(&ev, &ev2));
	ev2.severity = SEV_WARNING;
	assert_false(outbox_same_news(&ev, &ev2));
	ev2.severity = SEV_CRITICAL;
	ev2.kind = EV_REPEAT;
	assert_false(outbox_same_news(&ev, &ev2));
	ev2.kind = EV_FIRING;
	ev2.alert_id[0] = 'f';
	assert_false(outbox_same_news(&ev, &ev2));
	/* info: each change is news of its own */
	ev.kind = ev2.kind = EV_INFO;
	memcpy(ev2.alert_id, AID, sizeof(AID));
	ev.severity = ev2.severity = SEV_INFO;
	assert_false(outbox_same_news(&ev, &ev2));
	ev2.summary = "one";
	assert_true(outbox_same_news(&ev, &ev2));
}

static void
test_event_copy(void **state UNUSED)
{
	char *sinks[] = {"a"};
	struct alert_event src = {.kind = EV_RESOLVED, .held = true, .note = "n",
				  .sinks = sinks, .n_sinks = 1, .severity = SEV_OK,
				  .previous_severity = SEV_WARNING, .project_id = "p"};
	struct alert_event dst;

	memcpy(src.alert_id, AID, sizeof(AID));
	assert_int_equal(outbox_event_copy(&dst, &src), 0);
	assert_string_equal(dst.alert_id, AID);
	assert_string_equal(dst.project_id, "p");
	assert_ptr_not_equal(dst.project_id, src.project_id);
	/* NULL strings become "", as the renderers read them */
	assert_string_equal(dst.project_name, "");
	assert_string_equal(dst.subject, "");
	assert_string_equal(dst.summary, "");
	assert_null(dst.missing);
	assert_false(dst.held);
	assert_null(dst.note);
	assert_null(dst.sinks);
	assert_int_equal(dst.n_sinks, 0);
	outbox_event_clear(&dst);
	assert_null(dst.project_id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_decode_arguments),
		cmocka_unit_test(test_truncation_and_flips),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_file_names),
		cmocka_unit_test(test_dir_names),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_max_age),
		cmocka_unit_test(test_recovery),
		cmocka_unit_test(test_event_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
