/* SPDX-License-Identifier: ISC */
/*
 * atlas_checks — see atlas_checks.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atlas.h"
#include "atlas_checks.h"
#include "cidr.h"
#include "crypto.h"
#include "config.h"
#include "json.h"
#include "kms.h"
#include "util.h"

/* ---- atlas.control_plane_ips ----------------------------------------- */

static int
cp_text_cmp(const void *pa, const void *pb)
{
	const char *a = *(const char *const *)pa, *b = *(const char *const *)pb;
	struct cidr ca, cb;
	bool ok_a = cidr_parse(a, &ca, NULL) == 0, ok_b = cidr_parse(b, &cb, NULL) == 0;

	if (ok_a && ok_b)
		return cidr_cmp(&ca, &cb);
	if (ok_a != ok_b)
		return ok_a ? -1 : 1; /* unparsable entries last */
	return strcmp(a, b);
}

/* Canonical texts (verbatim when unparsable), sorted, without duplicates,
 * so that a mere reordering or re-spelling by Atlas is no change. */
static int
cp_canonical(const char *const *in, size_t n, char ***out, size_t *nout)
{
	char **v;
	size_t w = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	v = calloc(n, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char c[CIDR_STRLEN];

		v[i] = strdup(in[i] == NULL ? "" : cidr_canonical(in[i], c, sizeof(c)) == 0 ? c
											 : in[i]);
		if (v[i] == NULL) {
			kj_strv_free(v, i);
			return -ENOMEM;
		}
	}
	qsort(v, n, sizeof(*v), cp_text_cmp);
	for (size_t i = 0; i < n; i++) {
		if (w > 0 && strcmp(v[i], v[w - 1]) == 0) {
			free(v[i]);
			continue;
		}
		v[w++] = v[i];
	}
	*out = v;
	*nout = w;
	return 0;
}

static int
textv_dup(char *const *in, size_t n, char ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		(*out)[i] = strdup(in[i]);
		if ((*out)[i] == NULL) {
			kj_strv_free(*out, i);
			*out = NULL;
			return -ENOMEM;
		}
	}
	*nout = n;
	return 0;
}

static bool
textv_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

/* The entries of a that b lacks (both sorted the same way), joined by sep. */
static int
textv_minus(char *const *a, size_t na, char *const *b, size_t nb, const char *sep,
	    struct strbuf *outb, size_t *count)
{
	size_t j = 0;
	int r = strbuf_puts(outb, "");

	*count = 0;
	for (size_t i = 0; r == 0 && i < na; i++) {
		int c = 1;

		while (j < nb && (c = cp_text_cmp(&b[j], &a[i])) < 0)
			j++;
		if (j < nb && c == 0)
			continue;
		r = strbuf_printf(outb, "%s%s", *count ? sep : "", a[i]);
		(*count)++;
	}
	return r;
}

void
cp_memory_free(struct cp_memory *m)
{
	if (m == NULL)
		return;
	kj_strv_free(m->base, m->n_base);
	kj_strv_free(m->last, m->n_last);
	memset(m, 0, sizeof(*m));
}

json_t *
cp_memory_to_json(const struct cp_memory *m)
{
	json_t *base, *last;

	if (m == NULL || !m->seen)
		return NULL;
	base = json_array();
	last = json_array();
	for (size_t i = 0; base && i < m->n_base; i++)
		json_array_append_new(base, json_string(m->base[i]));
	for (size_t i = 0; last && i < m->n_last; i++)
		json_array_append_new(last, json_string(m->last[i]));
	if (base == NULL || last == NULL) {
		json_decref(base);
		json_decref(last);
		return NULL;
	}
	return json_pack("{s:b, s:o, s:o, s:I}", "seen", 1, "base", base, "last", last,
			 "changed_at", (json_int_t)m->changed_at);
}

int
cp_memory_from_json(json_t *o, struct cp_memory *m)
{
	json_int_t changed = 0;
	json_t *seen;
	int r;

	memset(m, 0, sizeof(*m));
	if (o == NULL)
		return 0;
	seen = json_object_get(o, "seen");
	if (!json_is_object(o) || (seen != NULL && !json_is_boolean(seen)))
		return -EBADMSG;
	if (!json_is_true(seen))
		return 0;
	if ((r = kj_get_strv(o, "base", "", &m->base, &m->n_base, NULL, 0)) < 0 ||
	    (r = kj_get_strv(o, "last", "", &m->last, &m->n_last, NULL, 0)) < 0 ||
	    (r = json_unpack(o, "{s?I}", "changed_at", &changed) < 0 ? -EBADMSG : 0) < 0 ||
	    (r = changed < 0 ? -EBADMSG : 0) < 0) {
		cp_memory_free(m);
		return r;
	}
	m->changed_at = (time_t)changed;
	m->seen = true;
	return 0;
}

int
chk_atlas_control_plane_ips(const char *const *cidrs, size_t n, const struct cp_memory *prev,
			    int64_t hold, const struct cfg_checks *checks, time_t now,
			    struct findings *out, struct cp_memory *next)
{
	struct cp_memory nm = {.seen = true};
	char *const *base;
	char **p_last = NULL, **p_base = NULL;
	size_t n_base, n_p_last = 0, n_p_base = 0;
	struct strbuf add = {0}, rem = {0}, addc = {0};
	size_t n_add = 0, n_rem = 0;
	struct finding *x;
	int r;

	if (out == NULL || next == NULL || (cidrs == NULL && n > 0) ||
	    (prev != NULL && ((prev->last == NULL && prev->n_last > 0) ||
			      (prev->base == NULL && prev->n_base > 0))))
		return -EINVAL;
	if (hold <= 0)
		hold = ATLAS_CP_CHANGE_HOLD;
	r = cp_canonical(cidrs, n, &nm.last, &nm.n_last);
	/* the remembered lists come from the state file: put them in the
	 * same canonical order, so that a file written by another version
	 * (or edited by hand) does not read as a change */
	if (r == 0 && prev != NULL && prev->seen)
		r = cp_canonical((const char *const *)prev->last, prev->n_last, &p_last, &n_p_last);
	if (r == 0 && prev != NULL && prev->seen)
		r = cp_canonical((const char *const *)prev->base, prev->n_base, &p_base, &n_p_base);
	if (r < 0) {
		kj_strv_free(p_last, n_p_last);
		cp_memory_free(&nm);
		return r;
	}
	if (prev == NULL || !prev->seen) {
		/* the first observation is the baseline, not a change */
		base = nm.last;
		n_base = nm.n_last;
	} else {
		bool changed = !textv_equal(nm.last, nm.n_last, p_last, n_p_last);

		base = prev->changed_at != 0 ? p_base : p_last;
		n_base = prev->changed_at != 0 ? n_p_base : n_p_last;
		nm.changed_at = changed ? now : prev->changed_at;
		/* a change is reported for `hold`, then becomes the baseline;
		 * a change that was undone is no change */
		if ((nm.changed_at != 0 && now - nm.changed_at >= hold) ||
		    textv_equal(base, n_base, nm.last, nm.n_last)) {
			nm.changed_at = 0;
			base = nm.last;
			n_base = nm.n_last;
		}
	}
	r = textv_dup(base, n_base, &nm.base, &nm.n_base);
	if (r == 0 && nm.changed_at != 0) {
		r = textv_minus(nm.last, nm.n_last, nm.base, nm.n_base, ", ", &add, &n_add);
		if (r == 0)
			r = textv_minus(nm.last, nm.n_last, nm.base, nm.n_base, ",", &addc, &n_add);
		if (r == 0)
			r = textv_minus(nm.base, nm.n_base, nm.last, nm.n_last, ", ", &rem, &n_rem);
	}
	if (r == 0 && check_on(checks, CHK_ATLAS_CONTROL_PLANE_IPS)) {
		out->evaluated[CHK_ATLAS_CONTROL_PLANE_IPS] = true;
		if (nm.changed_at != 0) {
			char t[UTIL_TIME_LEN];

			util_format_time(nm.changed_at, t, sizeof(t));
			x = findings_add(
				out, CHK_ATLAS_CONTROL_PLANE_IPS, SEV_WARNING, PROV_NONE, "outbound",
				"Atlas's published control-plane outbound addresses changed (last "
				"change seen %s): added %s; removed %s: make every KMS firewall (the "
				"Key Vault firewall) admit the added ones before Atlas starts using "
				"them; the removed ones can go once Atlas no longer uses them",
				t, n_add ? add.s : "none", n_rem ? rem.s : "none");
			if (x != NULL && n_add > 0) {
				x->missing = addc.s;
				addc = (struct strbuf){0};
			}
		} else {
			x = findings_add(out, CHK_ATLAS_CONTROL_PLANE_IPS, SEV_OK, PROV_NONE,
					 "outbound",
					 "Atlas publishes %zu control-plane outbound CIDR%s; no "
					 "recent change",
					 nm.n_last, nm.n_last == 1 ? "" : "s");
		}
		if (x == NULL)
			r = -ENOMEM;
	}
	strbuf_free(&add);
	strbuf_free(&addc);
	strbuf_free(&rem);
	kj_strv_free(p_last, n_p_last);
	kj_strv_free(p_base, n_p_base);
	if (r < 0) {
		cp_memory_free(&nm);
		return r;
	}
	if (next == prev)
		cp_memory_free(next);
	*next = nm;
	return 0;
}

/* ---- ear.private_endpoint --------------------------------------------- */

/* What to do about an endpoint that waits on the customer's side. */
static const char *
approve_hint(enum provider p)
{
	const struct kms_desc *k = kms_find(p);

	return k != NULL && k->pe_approve_hint != NULL
		       ? k->pe_approve_hint
		       : "accept the endpoint connection on the key service's side";
}

int
chk_ear_private_endpoint(const struct atlas_ear *ear, const struct atlas_ear_pes *pes,
			 int read_status, const char *read_error,
			 const struct cfg_checks *checks, struct findings *out)
{
	enum provider prov;
	const char *pname;
	size_t active = 0;
	char why[200];

	if (ear == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_EAR_PRIVATE_ENDPOINT))
		return 0;
	out->evaluated[CHK_EAR_PRIVATE_ENDPOINT] = true;
	prov = atlas_ear_enabled_provider(ear);
	if (!kms_ear_private_networking(ear))
		return 0;
	pname = provider_name(prov);
	if (pes == NULL) {
		util_copy_sanitized(why, sizeof(why), read_error ? read_error : "");
		if (read_status == 403)
			return findings_add(out, CHK_EAR_PRIVATE_ENDPOINT, SEV_UNKNOWN, prov, pname,
					    "the project requires private networking to its key, but "
					    "kmswatch may not list its encryption-at-rest private "
					    "endpoints (HTTP 403): that needs the Project Owner role; "
					    "grant it to kmswatch's Atlas identity, or turn the check "
					    "off (checks: {ear.private_endpoint: {enabled: false}})")
				       ? 0
				       : -ENOMEM;
		return findings_add(out, CHK_EAR_PRIVATE_ENDPOINT, SEV_UNKNOWN, prov, pname,
				    "the project requires private networking to its key, but "
				    "kmswatch cannot read its encryption-at-rest private endpoints "
				    "from Atlas (%s)",
				    why[0] ? why : "no answer")
			       ? 0
			       : -ENOMEM;
	}
	for (size_t i = 0; i < pes->n; i++)
		if (pes->v[i].status && strcmp(pes->v[i].status, "ACTIVE") == 0)
			active++;
	if (pes->n == 0)
		return findings_add(out, CHK_EAR_PRIVATE_ENDPOINT, SEV_CRITICAL, prov, pname,
				    "the project requires private networking to its key "
				    "(requirePrivateNetworking), but Atlas lists no private endpoint "
				    "for it: Atlas cannot reach the key; create one per region of "
				    "the project's clusters (Project Settings, Encryption at Rest, "
				    "Private Endpoints) and %s",
				    approve_hint(prov))
			       ? 0
			       : -ENOMEM;
	for (size_t i = 0; i < pes->n; i++) {
		const struct atlas_ear_pe *e = &pes->v[i];
		char region[64], conn[160], status[40], msg[300], where[300], text[1024];
		/* with no ACTIVE endpoint, Atlas reaches the key through none */
		enum severity waiting = active ? SEV_WARNING : SEV_CRITICAL;
		const char *none = active ? "" : "; no endpoint is ACTIVE, so Atlas cannot reach "
						 "the key at all";
		enum severity sev;

		util_copy_sanitized(region, sizeof(region),
				    e->region_name ? e->region_name : e->id ? e->id : "?");
		util_copy_sanitized(conn, sizeof(conn), e->connection_name ? e->connection_name : "");
		util_copy_sanitized(status, sizeof(status), e->status ? e->status : "");
		util_copy_sanitized(msg, sizeof(msg), e->error_message ? e->error_message : "");
		snprintf(where, sizeof(where), "the private endpoint in %s%s%s%s", region,
			 conn[0] ? " (connection " : "", conn, conn[0] ? ")" : "");
		if (strcmp(status, "ACTIVE") == 0) {
			sev = SEV_OK;
			snprintf(text, sizeof(text), "%s is ACTIVE", where);
		} else if (strcmp(status, "FAILED") == 0) {
			sev = SEV_CRITICAL;
			snprintf(text, sizeof(text),
				 "%s FAILED (%s): Atlas cannot reach the key through it; delete it "
				 "and create it again in Atlas%s",
				 where, msg[0] ? msg : "Atlas gives no reason", none);
		} else if (strcmp(status, "PENDING_ACCEPTANCE") == 0 ||
			   strcmp(status, "PENDING_RECREATION") == 0) {
			sev = waiting;
			snprintf(text, sizeof(text), "%s waits for approval (%s)%s: %s", where, status,
				 none, approve_hint(prov));
		} else if (strcmp(status, "INITIATING") == 0 || strcmp(status, "DELETING") == 0) {
			sev = waiting;
			snprintf(text, sizeof(text), "%s is %s (%s)%s", where,
				 status[0] == 'I' ? "still being created" : "being deleted", status,
				 none);
		} else {
			sev = SEV_UNKNOWN;
			snprintf(text, sizeof(text), "%s has a status kmswatch does not know (%s)%s",
				 where, status[0] ? status : "none", none);
		}
		if (!findings_add(out, CHK_EAR_PRIVATE_ENDPOINT, sev, prov, region, "%s", text))
			return -ENOMEM;
	}
	return 0;
}

/* ---- atlas.events ----------------------------------------------------- */

static const struct {
	const char *subject;
	const char *bad, *good; /* the type, or its suffix after PROVIDER_ */
	bool per_provider;
	enum severity sev;
	const char *meaning;
} event_families[] = {
	{"kms-network", "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED",
	 "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_RESTORED", false, SEV_CRITICAL,
	 "Atlas could not reach the key service over the network (a firewall, a private "
	 "endpoint or DNS in the way)"},
	{"config", "ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID", "ENCRYPTION_AT_REST_CONFIG_IS_VALID",
	 false, SEV_CRITICAL,
	 "Atlas found the project's encryption-at-rest configuration no longer valid"},
	{"key", "ENCRYPTION_KEY_INVALID", "ENCRYPTION_KEY_VALID", true, SEV_CRITICAL,
	 "Atlas found the customer key invalid (disabled, deleted, or its credentials refused)"},
	{"rotation", "ENCRYPTION_KEY_NEEDS_ROTATION", "ENCRYPTION_KEY_ROTATED", true, SEV_WARNING,
	 "Atlas says the customer key is due for rotation (the project's key-rotation alert)"},
};

static bool
event_is(const char *type, const char *name, bool per_provider, enum provider enabled)
{
	/* per-provider types are "AZURE_ENCRYPTION_KEY_INVALID" and the like:
	 * Atlas's provider name, an underscore, the name */
	const struct kms_desc *k = kms_find(enabled);
	size_t n;

	if (type == NULL)
		return false;
	if (!per_provider)
		return strcmp(type, name) == 0;
	if (k == NULL)
		return false;
	n = strlen(k->atlas_name);
	return strncmp(type, k->atlas_name, n) == 0 && type[n] == '_' &&
	       strcmp(type + n + 1, name) == 0;
}

int
chk_atlas_events(const struct atlas_events *events, enum provider enabled, time_t now,
		 const struct cfg_checks *checks, struct findings *out)
{
	size_t fired = 0;

	if (out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_ATLAS_EVENTS) || events == NULL)
		return 0;
	out->evaluated[CHK_ATLAS_EVENTS] = true;
	for (size_t f = 0; f < ARRAY_SIZE(event_families); f++) {
		const struct atlas_event *bad = NULL, *good = NULL;
		char type[96], when[UTIL_TIME_LEN], ago[64];
		int64_t age;

		for (size_t i = 0; i < events->n; i++) {
			const struct atlas_event *e = &events->v[i];

			if (e->created_at == 0)
				continue;
			if (event_is(e->event_type_name, event_families[f].bad,
				     event_families[f].per_provider, enabled) &&
			    (bad == NULL || e->created_at > bad->created_at))
				bad = e;
			if (event_is(e->event_type_name, event_families[f].good,
				     event_families[f].per_provider, enabled) &&
			    (good == NULL || e->created_at > good->created_at))
				good = e;
		}
		if (bad == NULL || (good != NULL && good->created_at >= bad->created_at))
			continue;
		util_copy_sanitized(type, sizeof(type), bad->event_type_name);
		util_format_time(bad->created_at, when, sizeof(when));
		age = (int64_t)now - (int64_t)bad->created_at;
		if (age < 3600)
			snprintf(ago, sizeof(ago), "%lld min ago", (long long)(age > 0 ? age / 60 : 0));
		else if (age < 2 * 86400)
			snprintf(ago, sizeof(ago), "%lld h ago", (long long)(age / 3600));
		else
			snprintf(ago, sizeof(ago), "%lld days ago", (long long)(age / 86400));
		if (!findings_add(out, CHK_ATLAS_EVENTS, event_families[f].sev, enabled,
				  event_families[f].subject,
				  "Atlas raised %s at %s (%s): %s, and has recorded nothing since "
				  "that takes it back; the other checks say what kmswatch sees now",
				  type, when, ago, event_families[f].meaning))
			return -ENOMEM;
		fired++;
	}
	if (fired == 0 &&
	    !(events->n == 0
		      ? findings_add(out, CHK_ATLAS_EVENTS, SEV_OK, enabled, "atlas",
				     "Atlas has recorded no encryption-at-rest verdict on the "
				     "project recently")
		      : findings_add(out, CHK_ATLAS_EVENTS, SEV_OK, enabled, "atlas",
				     "Atlas has no standing encryption-at-rest verdict on the "
				     "project (each of its %zu recent events is taken back)",
				     events->n)))
		return -ENOMEM;
	return 0;
}

/* ---- atlas.credential_expiry ------------------------------------------ */

const char *
cred_rule_name(enum cred_rule r)
{
	return r == CRED_RULE_MATCHED ? "matched" : r == CRED_RULE_LATEST ? "latest" : "";
}

static bool
mask_char_at(const char *s, size_t i, size_t *width)
{
	const unsigned char *u = (const unsigned char *)s + i;

	if (u[0] == '*' || u[0] == '.') {
		*width = 1;
		return true;
	}
	/* U+2026 HORIZONTAL ELLIPSIS, U+2022 BULLET */
	if (u[0] == 0xe2 && u[1] == 0x80 && (u[2] == 0xa6 || u[2] == 0xa2)) {
		*width = 3;
		return true;
	}
	return false;
}

const char *
cred_mask_suffix(const char *masked)
{
	const char *after = NULL;
	size_t n, w;

	if (masked == NULL)
		return NULL;
	for (size_t i = 0; masked[i] != '\0'; i++)
		if (mask_char_at(masked, i, &w)) {
			after = masked + i + w;
			i += w - 1;
		}
	if (after == NULL)
		return NULL;
	n = strlen(after);
	if (n < 3 || n > 16 ||
	    strspn(after, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != n)
		return NULL;
	return after;
}

static bool
secret_ends_with(const char *secret, size_t slen, const char *suffix)
{
	size_t n = strlen(suffix);

	return n < slen && crypto_equal(secret + slen - n, suffix, n);
}

int
cred_pick(const struct atlas_sa *sa, const char *secret, enum cred_rule *rule)
{
	size_t slen = secret ? strlen(secret) : 0, n_match = 0;
	int match = -1, best = -1, best_match = -1;

	*rule = CRED_RULE_NONE;
	if (sa == NULL || sa->n_secrets == 0)
		return -ENOENT;
	for (size_t i = 0; i < sa->n_secrets; i++) {
		const struct atlas_sa_secret *x = &sa->secrets[i];
		const char *suffix = cred_mask_suffix(x->masked);
		bool m = slen > 0 && suffix != NULL && secret_ends_with(secret, slen, suffix);

		if (best < 0 || x->expires_at > sa->secrets[best].expires_at)
			best = (int)i;
		if (m) {
			n_match++;
			match = (int)i;
			if (best_match < 0 || x->expires_at > sa->secrets[best_match].expires_at)
				best_match = (int)i;
		}
	}
	if (n_match == 1) {
		*rule = CRED_RULE_MATCHED;
		return match;
	}
	*rule = CRED_RULE_LATEST;
	/* several secrets end alike: the one in use is among them */
	return n_match > 1 ? best_match : best;
}

void
cred_memory_free(struct cred_memory *m)
{
	if (m == NULL)
		return;
	free(m->client_id);
	free(m->org_id);
	free(m->secret_id);
	free(m->masked);
	memset(m, 0, sizeof(*m));
}

json_t *
cred_memory_to_json(const struct cred_memory *m)
{
	json_t *o;

	if (m == NULL || m->secret_id == NULL)
		return NULL;
	o = json_pack("{s:s?, s:s?, s:s, s:s?, s:I, s:I, s:s, s:I}", "client_id", m->client_id,
		      "org_id", m->org_id, "secret_id", m->secret_id, "masked", m->masked,
		      "expires_at", (json_int_t)m->expires_at, "read_at", (json_int_t)m->read_at,
		      "rule", cred_rule_name(m->rule), "n_secrets", (json_int_t)m->n_secrets);
	return o;
}

int
cred_memory_from_json(json_t *o, struct cred_memory *m)
{
	const char *cid = NULL, *org = NULL, *sid = NULL, *masked = NULL, *rule = NULL;
	json_int_t exp = 0, read = 0, n = 0;

	memset(m, 0, sizeof(*m));
	if (o == NULL)
		return 0;
	if (json_unpack(o, "{s?s, s?s, s:s, s?s, s:I, s:I, s:s, s:I}", "client_id", &cid,
			"org_id", &org, "secret_id", &sid, "masked", &masked, "expires_at", &exp,
			"read_at", &read, "rule", &rule, "n_secrets", &n) < 0 ||
	    read < 0 || n < 1 || n > 1000000 ||
	    (strcmp(rule, "matched") != 0 && strcmp(rule, "latest") != 0))
		return -EBADMSG;
	m->client_id = util_strdup(cid);
	m->org_id = util_strdup(org);
	m->secret_id = util_strdup(sid);
	m->masked = util_strdup(masked);
	if ((cid && !m->client_id) || (org && !m->org_id) || !m->secret_id ||
	    (masked && !m->masked)) {
		cred_memory_free(m);
		return -ENOMEM;
	}
	m->expires_at = (time_t)exp;
	m->read_at = (time_t)read;
	m->rule = strcmp(rule, "matched") == 0 ? CRED_RULE_MATCHED : CRED_RULE_LATEST;
	m->n_secrets = (size_t)n;
	return 0;
}

static const char cred_todo[] =
	"create a new secret for the service account in Atlas (Organization Access Manager, "
	"Service Accounts), put it in atlas.service_account.client_secret and reload kmswatch";

static void
rule_text(enum cred_rule rule, size_t n, char *buf, size_t len)
{
	if (rule == CRED_RULE_MATCHED)
		snprintf(buf, len, "the secret whose visible end matches the configured client "
				   "secret");
	else if (n <= 1)
		snprintf(buf, len, "the account's only secret");
	else
		snprintf(buf, len, "the secret that expires last of the %zu the account has: no "
				   "maskedSecretValue identifies the configured one", n);
}

/* The verdict on one secret, `when` "" for a fresh read, else how old the
 * knowledge is. */
static struct finding *
cred_verdict(struct findings *out, const char *client_id, const char *id, const char *masked,
	     time_t expires_at, enum cred_rule rule, size_t n, const struct cfg_threshold *t,
	     time_t now, const char *when)
{
	char w[96], why[200], what[200];
	const char *subject = masked && *masked ? masked : id;
	int64_t left = (int64_t)expires_at - (int64_t)now;
	enum severity sev = chk_expiry_severity(left, t, true);
	struct finding *x;

	chk_when(left, expires_at, w, sizeof(w));
	rule_text(rule, n, why, sizeof(why));
	if (masked && *masked)
		snprintf(what, sizeof(what), "secret %s (id %s) of service account %s", masked, id,
			 client_id);
	else
		snprintf(what, sizeof(what), "secret %s of service account %s", id, client_id);
	if (left <= 0)
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, sev, PROV_NONE, subject,
				 "%s expired %s: kmswatch cannot get "
				 "Atlas tokens with it and goes blind; %s (judged: %s%s)",
				 what, w, cred_todo, why, when);
	else if (sev >= SEV_WARNING)
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, sev, PROV_NONE, subject,
				 "%s expires %s, then kmswatch goes "
				 "blind: %s before then (judged: %s%s)",
				 what, w, cred_todo, why, when);
	else
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, sev, PROV_NONE, subject,
				 "%s expires %s (judged: %s%s)", what,
				 w, why, when);
	if (x != NULL)
		chk_set_days_left(x, left);
	return x;
}

static int
memory_set(struct cred_memory *next, const struct cred_input *in, const struct atlas_sa_secret *x,
	   enum cred_rule rule, size_t n, time_t now)
{
	struct cred_memory m = {
		.client_id = util_strdup(in->client_id),
		.org_id = util_strdup(in->org_id),
		.secret_id = x ? util_strdup(x->id) : NULL,
		.masked = x ? util_strdup(x->masked) : NULL,
		.expires_at = x ? x->expires_at : 0,
		.read_at = now,
		.rule = rule,
		.n_secrets = n,
	};

	if (!m.client_id || (in->org_id && !m.org_id) || (x && !m.secret_id) ||
	    (x && x->masked && !m.masked)) {
		cred_memory_free(&m);
		return -ENOMEM;
	}
	cred_memory_free(next);
	*next = m;
	return 0;
}

int
chk_atlas_credential_expiry(const struct cred_input *in, const struct cred_memory *prev,
			    const struct cfg_checks *checks, time_t now, struct findings *out,
			    struct cred_memory *next)
{
	const struct cfg_threshold *t = checks != NULL ? &checks->secret_expiry
						       : &cfg_default_checks.secret_expiry;
	const char *org;
	struct finding *x = NULL;
	enum cred_rule rule;
	int i;

	if (in == NULL || in->client_id == NULL || out == NULL ||
	    (in->failure == CRED_READ_OK && (in->sa == NULL || next == NULL)))
		return -EINVAL;
	if (!check_on(checks, CHK_ATLAS_CREDENTIAL_EXPIRY) || in->failure == CRED_READ_TRANSIENT)
		return 0;
	out->evaluated[CHK_ATLAS_CREDENTIAL_EXPIRY] = true;
	org = in->org_id ? in->org_id : "(unknown)";
	if (in->failure == CRED_READ_OK) {
		i = cred_pick(in->sa, in->secret, &rule);
		if (i < 0) {
			if (!findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, SEV_CRITICAL, PROV_NONE,
					  in->client_id,
					  "service account %s in "
					  "organization %s lists no secret: the one kmswatch uses was "
					  "deleted and kmswatch goes blind when its current token "
					  "expires; %s",
					  in->client_id, org, cred_todo))
				return -ENOMEM;
			return memory_set(next, in, NULL, CRED_RULE_NONE, 0, now);
		}
		x = cred_verdict(out, in->client_id, in->sa->secrets[i].id,
				 in->sa->secrets[i].masked, in->sa->secrets[i].expires_at, rule,
				 in->sa->n_secrets, t, now, "");
		if (x == NULL)
			return -ENOMEM;
		return memory_set(next, in, &in->sa->secrets[i], rule, in->sa->n_secrets, now);
	}
	switch (in->failure) {
	case CRED_READ_DENIED:
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, SEV_WARNING, PROV_NONE,
				 in->client_id,
				 "kmswatch cannot read its own service account %s in organization "
				 "%s (%s): grant it Organization Read Only on organization %s, so "
				 "that kmswatch sees its secret expire before it goes blind",
				 in->client_id, org, in->error ? in->error : "access denied", org);
		break;
	case CRED_READ_NOT_FOUND:
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, SEV_CRITICAL, PROV_NONE,
				 in->client_id,
				 "kmswatch cannot find service account %s in organization %s (%s): "
				 "check atlas.org_id and that the service account still exists",
				 in->client_id, org, in->error ? in->error : "not found");
		break;
	default: /* CRED_READ_NO_ORG */
		x = findings_add(out, CHK_ATLAS_CREDENTIAL_EXPIRY, SEV_WARNING, PROV_NONE,
				 in->client_id,
				 "kmswatch cannot learn the organization of its service account %s "
				 "(%s): set atlas.org_id to the organization's id so that kmswatch "
				 "sees its secret expire before it goes blind",
				 in->client_id, in->error ? in->error : "no project answered");
		break;
	}
	if (x == NULL)
		return -ENOMEM;
	if (prev != NULL && prev->secret_id != NULL && util_streq(prev->client_id, in->client_id)) {
		char when[UTIL_TIME_LEN], note[80];

		util_format_time(prev->read_at, when, sizeof(when));
		snprintf(note, sizeof(note), "; as last read at %s", when);
		if (!cred_verdict(out, in->client_id, prev->secret_id, prev->masked,
				  prev->expires_at, prev->rule, prev->n_secrets, t, now, note))
			return -ENOMEM;
	}
	return 0;
}
