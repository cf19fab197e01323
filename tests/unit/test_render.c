/*
 * Unit tests of the payload renderers: the INTERFACE.md webhook document
 * and the Standard Webhooks signature (checked against the specification's
 * published example).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "render.h"
#include "util.h"

static struct alert_event
sample_event(void)
{
	struct alert_event ev = {
		.kind = EV_FIRING,
		.alert_id = "0123456789abcdef0123456789abcdef",
		.project_id = "65a1b2c3d4e5f60718293a00",
		.project_name = "payments-prod",
		.subject = "hint:Xy9",
		.summary = "client secret expires in 5 days",
		.check = CHK_AZURE_SECRET_EXPIRY,
		.provider = PROV_AZURE,
		.severity = SEV_CRITICAL,
		.previous_severity = SEV_WARNING,
		.started_at = 1795168800, /* 2026-11-20T10:00:00Z */
		.observed_at = 1795341600, /* 2026-11-22T10:00:00Z */
		.has_days_left = true,
		.days_left = 5,
	};
	return ev;
}

static void
test_webhook_document(void **state)
{
	struct alert_event ev = sample_event();
	json_error_t err;
	char *out;
	size_t len;
	json_t *j;

	assert_int_equal(render_webhook(&ev, "monitor-1", &out, &len), 0);
	assert_int_equal(strlen(out), len);
	j = json_loads(out, 0, &err);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "alert_id")), ev.alert_id);
	assert_string_equal(json_string_value(json_object_get(j, "event")), "firing");
	assert_string_equal(json_string_value(json_object_get(j, "severity")), "critical");
	assert_string_equal(json_string_value(json_object_get(j, "previous_severity")), "warning");
	assert_string_equal(json_string_value(json_object_get(j, "check")), "azure.secret_expiry");
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "project"), "id")),
			    "65a1b2c3d4e5f60718293a00");
	assert_string_equal(
		json_string_value(json_object_get(json_object_get(j, "project"), "name")),
		"payments-prod");
	assert_string_equal(json_string_value(json_object_get(j, "provider")), "azure");
	assert_string_equal(json_string_value(json_object_get(j, "subject")), "hint:Xy9");
	assert_int_equal(
		json_integer_value(json_object_get(json_object_get(j, "details"), "days_left")), 5);
	assert_string_equal(json_string_value(json_object_get(j, "started_at")),
			    "2026-11-20T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "observed_at")),
			    "2026-11-22T10:00:00Z");
	assert_string_equal(json_string_value(json_object_get(j, "host")), "monitor-1");
	json_decref(j);
	free(out);
}

static void
test_webhook_missing_list_and_no_previous(void **state)
{
	struct alert_event ev = sample_event();
	json_t *j, *m;
	char *out;
	size_t len;

	ev.previous_severity = SEV_OK;
	ev.has_days_left = false;
	ev.missing = "198.51.100.40/32, 2001:db8::/64";
	assert_int_equal(render_webhook(&ev, "h", &out, &len), 0);
	j = json_loads(out, 0, NULL);
	assert_null(json_object_get(j, "previous_severity"));
	m = json_object_get(json_object_get(j, "details"), "missing");
	assert_int_equal(json_array_size(m), 2);
	assert_string_equal(json_string_value(json_array_get(m, 1)), "2001:db8::/64");
	json_decref(j);
	free(out);
}

static void
test_signature_spec_example(void **state)
{
	/* From the Standard Webhooks specification. */
	static const char body[] = "{\"test\": 2432232314}";
	char sig[RENDER_SIGNATURE_LEN];

	assert_int_equal(render_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
					  "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
					  strlen(body), sig),
			 0);
	assert_string_equal(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

static void
test_signature_bad_secret(void **state)
{
	char sig[RENDER_SIGNATURE_LEN];

	assert_int_equal(render_signature("whsec_!!!", "m", 1, "x", 1, sig), -EINVAL);
	assert_int_equal(render_signature("", "m", 1, "x", 1, sig), -EINVAL);
	/* a raw (non-whsec) secret is used as is */
	assert_int_equal(render_signature("plain-secret", "m", 1, "x", 1, sig), 0);
	assert_memory_equal(sig, "v1,", 3);
}

static void
test_line(void **state)
{
	struct alert_event ev = sample_event();
	char *line;

	assert_int_equal(render_line(&ev, &line), 0);
	assert_string_equal(line, "FIRING critical azure.secret_expiry payments-prod (azure): "
				  "client secret expires in 5 days");
	free(line);
	ev.kind = EV_RESOLVED;
	ev.previous_severity = SEV_CRITICAL;
	assert_int_equal(render_line(&ev, &line), 0);
	assert_non_null(strstr(line, "RESOLVED azure.secret_expiry payments-prod (azure) (was critical)"));
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_document),
		cmocka_unit_test(test_webhook_missing_list_and_no_previous),
		cmocka_unit_test(test_signature_spec_example),
		cmocka_unit_test(test_signature_bad_secret),
		cmocka_unit_test(test_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
