/* SPDX-License-Identifier: ISC */
/*
 * aws — see aws.h. Parsers of AWS KMS, STS and IMDS answers and the
 * grammar of what Atlas names; no I/O.
 */
#define _GNU_SOURCE /* memmem */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "aws.h"
#include "json.h"
#include "util.h"

#define HEX "0123456789abcdefABCDEF"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* ---- what Atlas names ------------------------------------------------- */

static const char *
check_region(const char *s)
{
	const char *p = s;
	size_t n;

	if (strspn(p, LOWER) != 2 || p[2] != '-')
		return "not an AWS region such as us-east-1";
	p += 2;
	/* (-[a-z]+)+ then -[0-9]+ */
	n = 0;
	while (*p == '-' && strspn(p + 1, LOWER) > 0) {
		p += 1 + strspn(p + 1, LOWER);
		n++;
	}
	if (n == 0 || *p != '-' || strspn(p + 1, DIGITS) == 0 ||
	    p[1 + strspn(p + 1, DIGITS)] != '\0')
		return "not an AWS region such as us-east-1";
	return NULL;
}

const char *
aws_region_from_atlas(const char *atlas, char out[AWS_REGION_MAX])
{
	size_t n;
	const char *why;

	out[0] = '\0';
	if (atlas == NULL || atlas[0] == '\0')
		return "missing";
	n = strlen(atlas);
	if (n >= AWS_REGION_MAX)
		return "too long for an AWS region";
	for (size_t i = 0; i <= n; i++)
		out[i] = atlas[i] == '_' ? '-' : (char)tolower((unsigned char)atlas[i]);
	if ((why = check_region(out)) != NULL)
		out[0] = '\0';
	return why;
}

static bool
is_uuid(const char *s, size_t len)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	size_t off = 0;

	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		if (off + groups[i] > len)
			return false;
		for (size_t j = 0; j < groups[i]; j++)
			if (!strchr(HEX, s[off + j]) || s[off + j] == '\0')
				return false;
		off += groups[i];
		if (i + 1 < ARRAY_SIZE(groups)) {
			if (off >= len || s[off] != '-')
				return false;
			off++;
		}
	}
	return off == len;
}

/* a key id: UUID, or mrk- and 32 hex digits (a multi-Region key) */
static bool
is_key_uuid(const char *s, size_t len)
{
	if (len == 4 + 32 && strncmp(s, "mrk-", 4) == 0) {
		for (size_t i = 4; i < len; i++)
			if (!strchr(HEX, s[i]) || s[i] == '\0')
				return false;
		return true;
	}
	return is_uuid(s, len);
}

/* alias/NAME: letters, digits, / _ - ; 1..250 after the prefix */
static bool
is_alias(const char *s, size_t len)
{
	static const char chars[] = LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "/_-";

	if (len <= 6 || len > 256 || strncmp(s, "alias/", 6) != 0)
		return false;
	for (size_t i = 6; i < len; i++)
		if (!strchr(chars, s[i]) || s[i] == '\0')
			return false;
	return true;
}

const char *
aws_check_key_id(const char *id, const char *region)
{
	const char *p, *colon;
	char r[AWS_REGION_MAX];
	size_t n;

	if (id == NULL || id[0] == '\0')
		return "missing";
	n = strlen(id);
	if (n > 2048)
		return "too long";
	if (strncmp(id, "arn:", 4) != 0) {
		if (is_key_uuid(id, n) || is_alias(id, n))
			return NULL;
		return "not a key id (UUID), alias/NAME or key ARN";
	}
	/* arn:PARTITION:kms:REGION:ACCOUNT:key/ID | alias/NAME */
	p = id + 4;
	if (strncmp(p, "aws", 3) != 0)
		return "not an AWS ARN (arn:aws...:kms:REGION:ACCOUNT:key/ID)";
	p += 3 + strspn(p + 3, LOWER "-");
	if (strncmp(p, ":kms:", 5) != 0)
		return "not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)";
	p += 5;
	colon = strchr(p, ':');
	if (colon == NULL || (size_t)(colon - p) >= sizeof(r))
		return "not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)";
	memcpy(r, p, (size_t)(colon - p));
	r[colon - p] = '\0';
	if (check_region(r) != NULL)
		return "the ARN's region is not an AWS region";
	if (region != NULL && strcmp(r, region) != 0)
		return "the ARN names another region than Atlas's region";
	p = colon + 1;
	if (strspn(p, DIGITS) != 12 || p[12] != ':')
		return "the ARN's account is not 12 digits";
	p += 13;
	n = strlen(p);
	if (strncmp(p, "key/", 4) == 0 && is_key_uuid(p + 4, n - 4))
		return NULL;
	if (is_alias(p, n))
		return NULL;
	return "the ARN names no key/ID or alias/NAME";
}

/* ---- KMS answers ------------------------------------------------------- */

/* Epoch seconds, an integer or a real (rounded down). */
static int
get_epoch(json_t *obj, const char *key, const char *where, bool *has, time_t *out, char *err,
	  size_t errlen)
{
	json_t *v = kj_field(obj, key);
	double d;
	int64_t s;

	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		s = json_integer_value(v);
	} else if (json_is_real(v)) {
		d = json_real_value(v);
		if (!(d > -1e15 && d < 1e15)) {
			kj_seterr(err, errlen, "%s%s is out of range", where, key);
			return -EBADMSG;
		}
		s = (int64_t)d;
		if ((double)s > d)
			s--;
	} else {
		kj_seterr(err, errlen, "%s%s is not a number (epoch seconds)", where, key);
		return -EBADMSG;
	}
	if ((int64_t)(time_t)s != s || s < -1000000000000LL || s > 1000000000000LL) {
		kj_seterr(err, errlen, "%s%s is out of range", where, key);
		return -EBADMSG;
	}
	*has = true;
	*out = (time_t)s;
	return 0;
}

void
aws_key_free(struct aws_key *k)
{
	if (k == NULL)
		return;
	free(k->key_id);
	free(k->arn);
	free(k->key_state);
	free(k->origin);
	free(k->expiration_model);
	free(k->key_manager);
	free(k->key_spec);
	memset(k, 0, sizeof(*k));
}

static int
key_metadata(json_t *root, const char *where0, void *dst, char *err, size_t errlen)
{
	static const char where[] = "KeyMetadata.";
	struct aws_key *k = dst;
	json_t *md = NULL;
	int r;

	(void)where0;
	if ((r = kj_get_object(root, "KeyMetadata", "", &md, err, errlen)) < 0)
		return r;
	if (md == NULL) {
		kj_seterr(err, errlen, "no KeyMetadata in the answer");
		return -EBADMSG;
	}
	if ((r = kj_get_str(md, "KeyId", where, &k->key_id, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "Arn", where, &k->arn, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "KeyState", where, &k->key_state, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "Origin", where, &k->origin, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "ExpirationModel", where, &k->expiration_model, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "KeyManager", where, &k->key_manager, err, errlen)) < 0 ||
	    (r = kj_get_str(md, "KeySpec", where, &k->key_spec, err, errlen)) < 0 ||
	    (r = kj_get_tri(md, "Enabled", where, &k->enabled, err, errlen)) < 0 ||
	    (r = kj_get_tri(md, "MultiRegion", where, &k->multi_region, err, errlen)) < 0 ||
	    (r = get_epoch(md, "CreationDate", where, &k->has_creation_date, &k->creation_date,
			   err, errlen)) < 0 ||
	    (r = get_epoch(md, "DeletionDate", where, &k->has_deletion_date, &k->deletion_date,
			   err, errlen)) < 0 ||
	    (r = get_epoch(md, "ValidTo", where, &k->has_valid_to, &k->valid_to, err, errlen)) < 0 ||
	    (r = kj_get_int(md, "PendingDeletionWindowInDays", where, &k->has_pending_window,
			    &k->pending_window_days, err, errlen)) < 0)
		return r;
	if (k->key_state == NULL) {
		kj_seterr(err, errlen, "KeyMetadata has no KeyState");
		return -EBADMSG;
	}
	return 0;
}

int
aws_parse_describe_key(const char *body, size_t len, struct aws_key *out, char *err,
		       size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), key_metadata, err,
			 errlen);

	if (r < 0 && r != -EINVAL)
		aws_key_free(out);
	return r;
}

static int
rotation(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct aws_rotation *o = dst;
	int r;

	if ((r = kj_get_tri(root, "KeyRotationEnabled", where, &o->enabled, err, errlen)) < 0 ||
	    (r = kj_get_int(root, "RotationPeriodInDays", where, &o->has_period, &o->period_days,
			    err, errlen)) < 0 ||
	    (r = get_epoch(root, "NextRotationDate", where, &o->has_next, &o->next_rotation, err,
			   errlen)) < 0 ||
	    (r = get_epoch(root, "OnDemandRotationStartDate", where, &o->has_on_demand,
			   &o->on_demand_start, err, errlen)) < 0)
		return r;
	if (o->enabled == TRI_ABSENT) {
		kj_seterr(err, errlen, "no KeyRotationEnabled in the answer");
		return -EBADMSG;
	}
	return 0;
}

int
aws_parse_rotation_status(const char *body, size_t len, struct aws_rotation *out, char *err,
			  size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), rotation, err,
			 errlen);

	if (r < 0 && r != -EINVAL)
		memset(out, 0, sizeof(*out));
	return r;
}

/* ---- the tiny XML extractor ------------------------------------------- */

/* The text of the one <tag>...</tag> inside [s, s + len): -ENOENT when
 * absent, -EBADMSG when repeated, with attributes, or holding markup. */
static int
xml_element(const char *s, size_t len, const char *tag, const char **val, size_t *vlen)
{
	char open[64], close[64];
	size_t on, cn;
	const char *b = NULL, *e;

	on = (size_t)snprintf(open, sizeof(open), "<%s", tag);
	cn = (size_t)snprintf(close, sizeof(close), "</%s>", tag);
	for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), open, on)) != NULL;
	     p += on) {
		const char c = (size_t)(p - s) + on < len ? p[on] : '\0';

		if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\n' && c != '\r')
			continue; /* <AccessKeyIdX>: another element */
		if (b != NULL || c != '>')
			return -EBADMSG;
		b = p + on + 1;
	}
	if (b == NULL)
		return -ENOENT;
	e = memmem(b, len - (size_t)(b - s), close, cn);
	if (e == NULL)
		return -EBADMSG;
	*val = b;
	*vlen = (size_t)(e - b);
	return 0;
}

/* A leaf's text, entities decoded, surrounding white space trimmed. */
static char *
xml_text(const char *v, size_t n)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	char *out, *o;

	while (n > 0 && isspace((unsigned char)v[0]))
		v++, n--;
	while (n > 0 && isspace((unsigned char)v[n - 1]))
		n--;
	if (memchr(v, '<', n) != NULL || !(out = malloc(n + 1)))
		return NULL;
	o = out;
	for (size_t i = 0; i < n;) {
		size_t k;

		if (v[i] != '&') {
			*o++ = v[i++];
			continue;
		}
		for (k = 0; k < ARRAY_SIZE(ents); k++) {
			size_t el = strlen(ents[k].ent);

			if (n - i >= el && memcmp(v + i, ents[k].ent, el) == 0) {
				*o++ = ents[k].c;
				i += el;
				break;
			}
		}
		if (k == ARRAY_SIZE(ents)) {
			/* not NUL-terminated yet: wipe all of it */
			explicit_bzero(out, n + 1);
			free(out);
			return NULL;
		}
	}
	*o = '\0';
	return out;
}

void
aws_credentials_free(struct aws_credentials *c)
{
	if (c == NULL)
		return;
	util_free_secret(c->access_key_id);
	util_free_secret(c->secret_access_key);
	util_free_secret(c->session_token);
	memset(c, 0, sizeof(*c));
}

static int
cred_check(struct aws_credentials *c, char *err, size_t errlen)
{
	const char *bad = !kj_header_safe(c->access_key_id)       ? "AccessKeyId"
			  : !kj_header_safe(c->secret_access_key) ? "SecretAccessKey"
			  : !kj_header_safe(c->session_token)     ? "SessionToken"
								  : NULL;

	if (bad == NULL && strchr(c->access_key_id, ':') != NULL)
		bad = "AccessKeyId";
	if (bad == NULL)
		return 0;
	kj_seterr(err, errlen, "%s is empty or has characters not allowed in an HTTP header", bad);
	aws_credentials_free(c);
	return -EBADMSG;
}

int
aws_parse_sts_credentials(const char *body, size_t len, struct aws_credentials *out, char *err,
			  size_t errlen)
{
	static const char *const tags[] = {"AccessKeyId", "SecretAccessKey", "SessionToken",
					   "Expiration"};
	char *vals[ARRAY_SIZE(tags)] = {0};
	const char *sec, *v;
	size_t slen, vlen;
	int r;

	kj_clear_err(err, errlen);
	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (body == NULL || len == 0) {
		kj_seterr(err, errlen, "empty body");
		return -EBADMSG;
	}
	r = xml_element(body, len, "Credentials", &sec, &slen);
	if (r < 0) {
		kj_seterr(err, errlen, r == -ENOENT ? "no <Credentials> in the answer"
						    : "<Credentials> is malformed or repeated");
		return -EBADMSG;
	}
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		r = xml_element(sec, slen, tags[i], &v, &vlen);
		if (r == 0 && !(vals[i] = xml_text(v, vlen)))
			r = -EBADMSG;
		if (r < 0) {
			kj_seterr(err, errlen, "<Credentials><%s> is %s", tags[i],
				  r == -ENOENT ? "missing" : "malformed");
			for (size_t j = 0; j < ARRAY_SIZE(tags); j++)
				util_free_secret(vals[j]);
			return -EBADMSG;
		}
	}
	out->access_key_id = vals[0];
	out->secret_access_key = vals[1];
	out->session_token = vals[2];
	r = util_parse_time(vals[3], &out->expiration);
	util_free_secret(vals[3]);
	if (r < 0) {
		kj_seterr(err, errlen, "<Credentials><Expiration> is not an ISO 8601 time");
		aws_credentials_free(out);
		return -EBADMSG;
	}
	out->has_expiration = true;
	return cred_check(out, err, errlen);
}

static int
imds_creds(json_t *root, const char *where, void *dst, char *err, size_t errlen)
{
	struct aws_credentials *c = dst;
	const char *code = NULL;
	int r;

	if ((r = kj_get_cstr(root, "Code", where, &code, err, errlen)) < 0)
		return r;
	if (code != NULL && strcmp(code, "Success") != 0) {
		kj_seterr(err, errlen, "IMDS answered Code \"%.64s\"", code);
		return -EACCES;
	}
	if ((r = kj_get_str(root, "AccessKeyId", where, &c->access_key_id, err, errlen)) < 0 ||
	    (r = kj_get_str(root, "SecretAccessKey", where, &c->secret_access_key, err, errlen)) <
		    0 ||
	    (r = kj_get_str(root, "Token", where, &c->session_token, err, errlen)) < 0 ||
	    (r = kj_get_iso(root, "Expiration", where, &c->has_expiration, &c->expiration, err,
			    errlen)) < 0)
		return r;
	if (!c->access_key_id || !c->secret_access_key || !c->session_token ||
	    !c->has_expiration) {
		kj_seterr(err, errlen, "the answer lacks AccessKeyId, SecretAccessKey, Token or "
				       "Expiration");
		return -EBADMSG;
	}
	return 0;
}

int
aws_parse_imds_credentials(const char *body, size_t len, struct aws_credentials *out, char *err,
			   size_t errlen)
{
	int r = kj_parse(body, len, JSON_REJECT_DUPLICATES, out, sizeof(*out), imds_creds, err,
			 errlen);

	if (r == -EINVAL)
		return r;
	if (r < 0) {
		aws_credentials_free(out);
		return r;
	}
	return cred_check(out, err, errlen);
}

int
aws_parse_imds_role(const char *body, size_t len, char *out, size_t outlen)
{
	static const char chars[] = LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ" DIGITS "+=,.@_-";
	size_t n = 0;

	if (outlen > 0)
		out[0] = '\0';
	if (body == NULL)
		return -EBADMSG;
	while (n < len && body[n] != '\n' && body[n] != '\r')
		n++;
	if (n == 0 || n > 64 || n >= outlen)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++)
		if (body[i] == '\0' || !strchr(chars, body[i]))
			return -EBADMSG;
	memcpy(out, body, n);
	out[n] = '\0';
	return 0;
}

/* ---- errors ---------------------------------------------------------------- */

static void
set_type(struct aws_error *out, const char *t)
{
	const char *hash = strrchr(t, '#');
	char *colon;

	util_copy_sanitized(out->type, sizeof(out->type), hash ? hash + 1 : t);
	/* "UnrecognizedClientException:http://internal.amazon.com/..." */
	if ((colon = strchr(out->type, ':')) != NULL)
		*colon = '\0';
}

int
aws_parse_error(const char *body, size_t len, struct aws_error *out)
{
	size_t i = 0;

	if (out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (body == NULL)
		return -EBADMSG;
	while (i < len && isspace((unsigned char)body[i]))
		i++;
	if (i < len && body[i] == '<') {
		const char *e, *v;
		size_t elen, vlen;
		char *t;

		if (xml_element(body, len, "Error", &e, &elen) < 0)
			return -EBADMSG;
		if (xml_element(e, elen, "Code", &v, &vlen) == 0 && (t = xml_text(v, vlen))) {
			set_type(out, t);
			free(t);
		}
		if (xml_element(e, elen, "Message", &v, &vlen) == 0 && (t = xml_text(v, vlen))) {
			util_copy_sanitized(out->message, sizeof(out->message), t);
			free(t);
		}
	} else {
		json_t *root = kj_load(body, len, 0, NULL, 0);
		const char *t, *m;

		if (root == NULL)
			return -EBADMSG;
		t = kj_str(root, "__type");
		if (t == NULL)
			t = kj_str(root, "code");
		m = kj_str(root, "message");
		if (m == NULL)
			m = kj_str(root, "Message");
		if (t != NULL)
			set_type(out, t);
		if (m != NULL)
			util_copy_sanitized(out->message, sizeof(out->message), m);
		json_decref(root);
	}
	return out->type[0] != '\0' || out->message[0] != '\0' ? 0 : -EBADMSG;
}

bool
aws_error_is(const struct aws_error *e, const char *type)
{
	return e != NULL && type != NULL && strcmp(e->type, type) == 0;
}
