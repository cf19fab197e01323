/*
 * render — see render.h.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "render.h"
#include "sha256.h"
#include "util.h"

/* "a/32,b/32" -> ["a/32","b/32"] */
static json_t *
missing_array(const char *missing)
{
	json_t *arr = json_array();
	const char *p = missing;

	while (arr && p && *p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		while (n && *p == ' ') {
			p++;
			n--;
		}
		if (n)
			json_array_append_new(arr, json_stringn(p, n));
		p = end ? end + 1 : NULL;
	}
	return arr;
}

int
render_webhook(const struct alert_event *ev, const char *host, char **out, size_t *len)
{
	char started[UTIL_TIME_LEN], observed[UTIL_TIME_LEN];
	json_t *root, *details;

	util_format_time(ev->started_at, started, sizeof(started));
	util_format_time(ev->observed_at, observed, sizeof(observed));
	details = json_object();
	if (!details)
		return -ENOMEM;
	if (ev->has_days_left)
		json_object_set_new(details, "days_left", json_integer(ev->days_left));
	if (ev->has_age_days)
		json_object_set_new(details, "age_days", json_integer(ev->age_days));
	if (ev->missing)
		json_object_set_new(details, "missing", missing_array(ev->missing));
	root = json_pack("{s:i, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:s, s:s, "
			 "s:s}",
			 "version", 1, "alert_id", ev->alert_id, "event",
			 event_kind_name(ev->kind), "severity", severity_name(ev->severity),
			 "check", check_name(ev->check), "project", "id", ev->project_id, "name",
			 ev->project_name, "provider", provider_name(ev->provider), "subject",
			 ev->subject, "summary", ev->summary, "details", details, "started_at",
			 started, "observed_at", observed, "host", host ? host : "");
	if (!root)
		return -ENOMEM;
	if (ev->previous_severity != SEV_OK || ev->kind == EV_RESOLVED)
		json_object_set_new(root, "previous_severity",
				    json_string(severity_name(ev->previous_severity)));
	*out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!*out)
		return -ENOMEM;
	*len = strlen(*out);
	return 0;
}

int
render_signature(const char *secret, const char *msg_id, int64_t timestamp, const char *body,
		 size_t len, char *out)
{
	unsigned char key[256], mac[SHA256_DIGEST_LEN];
	struct strbuf msg = {0};
	size_t keylen;
	int r;

	if (strncmp(secret, "whsec_", 6) == 0) {
		r = util_base64_decode(secret + 6, key, sizeof(key));
		if (r <= 0)
			return -EINVAL;
		keylen = (size_t)r;
	} else {
		keylen = strlen(secret);
		if (keylen == 0 || keylen > sizeof(key))
			return -EINVAL;
		memcpy(key, secret, keylen);
	}
	if (strbuf_printf(&msg, "%s.%lld.", msg_id, (long long)timestamp) < 0 ||
	    strbuf_append(&msg, body, len) < 0) {
		strbuf_free(&msg);
		explicit_bzero(key, sizeof(key));
		return -ENOMEM;
	}
	hmac_sha256(key, keylen, msg.s, msg.len, mac);
	explicit_bzero(key, sizeof(key));
	strbuf_free(&msg);
	memcpy(out, "v1,", 3);
	util_base64(mac, sizeof(mac), out + 3);
	return 0;
}

int
render_line(const struct alert_event *ev, char **out)
{
	const char *prov = provider_name(ev->provider);

	if (ev->kind == EV_RESOLVED)
		*out = util_asprintf("RESOLVED %s %s%s%s%s (was %s): %s", check_name(ev->check),
				     ev->project_name, *prov ? " (" : "", prov, *prov ? ")" : "",
				     severity_name(ev->previous_severity), ev->summary);
	else
		*out = util_asprintf("%s %s %s %s%s%s%s: %s",
				     ev->kind == EV_REPEAT ? "REPEAT"
				     : ev->kind == EV_INFO ? "INFO"
							   : "FIRING",
				     severity_name(ev->severity), check_name(ev->check),
				     ev->project_name, *prov ? " (" : "", prov, *prov ? ")" : "",
				     ev->summary);
	return *out ? 0 : -ENOMEM;
}
