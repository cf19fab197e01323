/* SPDX-License-Identifier: ISC */
/*
 * azure_checks — the pure checks of the Azure side: azure.secret_expiry,
 * azure.key_identifier, azure.key_state, azure.key_age, azure.key_version,
 * azure.allowlist, azure.permissions, azure.access and
 * atlas.control_plane_ips (with the small memory it keeps). Each takes
 * parsed inputs, thresholds and `now` and returns findings; none reads a
 * clock or does I/O. Summaries are one line: what is wrong, then what to
 * do, because that line is the journal MESSAGE and the chat text.
 *
 * Edges, the same everywhere: a threshold is reached when the time left is
 * at most it, or the age at least it; something expires at its expiry
 * second (exp <= now is expired) and is valid from its nbf second on.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "atlas.h"
#include "azure.h"
#include "cidr.h"
#include "azure_config.h"
#include "json.h"
#include "kms.h"
#include "msgid.h"
#include "util.h"

#define DAY 86400


static bool
set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* ---- azure.secret_expiry --------------------------------------------- */

struct cred_ref {
	const struct azure_password_credential *c;
	const char *owner; /* "application" or "service principal" */
};

/* '"atlas-2024" (keyId f0b0b335-..., hint "[6g", on the application)' */
static void
cred_text(const struct cred_ref *r, char *buf, size_t len)
{
	char name[80] = "", key[64] = "", hint[24] = "";

	if (set(r->c->display_name))
		util_copy_sanitized(name, sizeof(name), r->c->display_name);
	if (set(r->c->key_id))
		util_copy_sanitized(key, sizeof(key), r->c->key_id);
	if (set(r->c->hint))
		util_copy_sanitized(hint, sizeof(hint), r->c->hint);
	snprintf(buf, len, "%s%s%s(%s%s%s%s%s%son the %s)", name[0] ? "\"" : "", name,
		 name[0] ? "\" " : "", key[0] ? "keyId " : "", key, key[0] ? ", " : "",
		 hint[0] ? "hint \"" : "", hint, hint[0] ? "\", " : "", r->owner);
}

static int
collect_creds(const struct azure_secret_input *in, struct cred_ref **out, size_t *n)
{
	const struct azure_graph_app *src[2] = {in->app, in->sp};
	static const char *const owner[2] = {"application", "service principal"};
	size_t total = 0;

	*out = NULL;
	*n = 0;
	for (int i = 0; i < 2; i++)
		if (src[i] != NULL)
			total += src[i]->n_creds;
	if (total == 0)
		return 0;
	*out = calloc(total, sizeof(**out));
	if (*out == NULL)
		return -ENOMEM;
	for (int i = 0; i < 2; i++)
		for (size_t j = 0; src[i] != NULL && j < src[i]->n_creds; j++)
			(*out)[(*n)++] = (struct cred_ref){&src[i]->creds[j], owner[i]};
	return 0;
}

/* The credential that expires first (one without endDateTime never does);
 * NULL when none of v qualifies. only_valid: skip those not valid now. */
static const struct cred_ref *
soonest(const struct cred_ref *v, size_t n, time_t now, bool only_valid, const char *hint)
{
	const struct cred_ref *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const struct azure_password_credential *c = v[i].c;

		if (hint != NULL && !util_streq(c->hint, hint))
			continue;
		if (only_valid && ((c->has_start && c->start > now) || (c->has_end && c->end <= now)))
			continue;
		if (best == NULL || (c->has_end && (!best->c->has_end || c->end < best->c->end)))
			best = &v[i];
	}
	return best;
}

static const char secret_todo[] =
	"create a new client secret for the application, enter it in the project's Encryption "
	"at Rest settings in Atlas, then delete the old one";

/* One verdict on credential r: the worse of `floor` and its expiry. */
static struct finding *
secret_verdict(struct findings *out, const char *subject, const char *app,
	       const struct cred_ref *r, const char *label, const struct cfg_threshold *t,
	       time_t now, enum severity floor, const char *extra)
{
	char what[256], w[96];
	struct finding *x;
	enum severity e;
	int64_t left;

	cred_text(r, what, sizeof(what));
	if (!r->c->has_end)
		return findings_add(out, CHK_AZURE_SECRET_EXPIRY, floor, PROV_AZURE, subject,
				    "%s of application %s %s never expires%s", label, app, what,
				    extra);
	left = (int64_t)r->c->end - (int64_t)now;
	e = chk_expiry_severity(left, t, true);
	chk_when(left, r->c->end, w, sizeof(w));
	if (left <= 0)
		x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, chk_max_sev(floor, e), PROV_AZURE,
				 subject,
				 "%s of application %s %s expired %s: Atlas can no longer "
				 "authenticate to Key Vault with it; %s%s",
				 label, app, what, w, secret_todo, extra);
	else if (e >= SEV_WARNING)
		x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, chk_max_sev(floor, e), PROV_AZURE,
				 subject, "%s of application %s %s expires %s: %s before then%s",
				 label, app, what, w, secret_todo, extra);
	else
		x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, chk_max_sev(floor, e), PROV_AZURE,
				 subject, "%s of application %s %s expires %s%s", label, app, what,
				 w, extra);
	if (x != NULL) {
		chk_set_days_left(x, left);
		x->has_at = true;
		x->at = r->c->end;
	}
	return x;
}

int
chk_azure_secret_expiry(const struct azure_secret_input *in, const struct cfg_checks *checks,
			time_t now, struct findings *out)
{
	const struct cfg_threshold *t = checks != NULL ? &checks->secret_expiry
						       : &cfg_default_checks.secret_expiry;
	struct cred_ref *creds = NULL;
	const struct cred_ref *pick;
	struct finding *x = NULL;
	char app[80], extra[400] = "";
	size_t n = 0, n_valid = 0;
	bool graph;

	if (in == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_SECRET_EXPIRY))
		return 0;
	if (!set(in->client_id)) {
		out->evaluated[CHK_AZURE_SECRET_EXPIRY] = true;
		if (set(in->role_id))
			x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_OK, PROV_AZURE,
					 in->role_id,
					 "no client secret: Atlas uses secretless (roleId %s) "
					 "authentication through Cloud Provider Access, so there is "
					 "no secret to expire",
					 in->role_id);
		else
			x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_UNKNOWN, PROV_AZURE,
					 "azure",
					 "Atlas reports neither a clientID nor a roleId for Azure Key "
					 "Vault, so kmswatch cannot tell which credential Atlas uses: "
					 "check the project's Encryption at Rest settings in Atlas");
		return x != NULL ? 0 : -ENOMEM;
	}
	util_copy_sanitized(app, sizeof(app), in->client_id);
	if (in->app_missing && in->sp_missing) {
		char mine[64], atlas[64];

		/* Graph only shows the tenant kmswatch signed in to */
		util_copy_sanitized(mine, sizeof(mine), set(in->identity_tenant) ? in->identity_tenant
										 : "");
		util_copy_sanitized(atlas, sizeof(atlas), set(in->atlas_tenant) ? in->atlas_tenant
										: "");
		out->evaluated[CHK_AZURE_SECRET_EXPIRY] = true;
		if (mine[0] && atlas[0] && strcasecmp(mine, atlas) != 0)
			x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_UNKNOWN, PROV_AZURE,
					 in->client_id,
					 "Microsoft Graph of tenant %s (kmswatch's azure.identity) has "
					 "no application %s, but Atlas's tenantID is %s: kmswatch sees "
					 "the secret only with an identity in that tenant",
					 mine, app, atlas);
		else
			x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, PROV_AZURE,
					 in->client_id,
					 "Atlas's application %s (clientID) does not exist%s%s: "
					 "Microsoft Graph has neither the application nor its service "
					 "principal (404 Request_ResourceNotFound), so Atlas can no "
					 "longer sign in to Key Vault with it; restore it in Entra ID "
					 "(Deleted applications, within 30 days of the deletion) or "
					 "register a new one, grant it the key, and enter its client ID "
					 "and secret in Atlas",
					 app, atlas[0] || mine[0] ? " in tenant " : "",
					 atlas[0] ? atlas : mine);
		return x != NULL ? 0 : -ENOMEM;
	}
	graph = (in->app != NULL && in->app->has_password_credentials) ||
		(in->sp != NULL && in->sp->has_password_credentials);

	if (!graph) {
		enum severity e;
		int64_t left;
		char w[96];

		/* Graph unreadable (azure.access says why): only the operator's
		 * own date is left; without it there is no verdict */
		if (!in->has_configured_expiry)
			return 0;
		out->evaluated[CHK_AZURE_SECRET_EXPIRY] = true;
		left = (int64_t)in->configured_expiry - (int64_t)now;
		e = chk_expiry_severity(left, t, true);
		chk_when(left, in->configured_expiry, w, sizeof(w));
		x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, e, PROV_AZURE, in->client_id,
				 "the client secret of application %s %s %s, according to "
				 "projects[].azure.client_secret_expires (Microsoft Graph could not "
				 "be read)%s%s",
				 app, left > 0 ? "expires" : "expired", w, e >= SEV_WARNING ? ": " : "",
				 e >= SEV_WARNING ? secret_todo : "");
		if (x == NULL)
			return -ENOMEM;
		chk_set_days_left(x, left);
		x->has_at = true;
		x->at = in->configured_expiry;
		return 0;
	}

	out->evaluated[CHK_AZURE_SECRET_EXPIRY] = true;
	if (collect_creds(in, &creds, &n) < 0)
		return -ENOMEM;
	if (n == 0) {
		x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, PROV_AZURE,
				 in->client_id,
				 "application %s has no client secret in Entra ID (neither on the "
				 "application nor on its service principal), so Atlas cannot "
				 "authenticate to Key Vault with one: %s",
				 app, secret_todo);
		return x != NULL ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct azure_password_credential *c = creds[i].c;

		n_valid += !((c->has_start && c->start > now) || (c->has_end && c->end <= now));
	}

	if (set(in->hint) && (pick = soonest(creds, n, now, false, in->hint)) != NULL) {
		size_t n_match = 0, n_match_valid = 0;
		const struct cred_ref *valid;

		for (size_t i = 0; i < n; i++) {
			const struct azure_password_credential *c = creds[i].c;

			if (!util_streq(c->hint, in->hint))
				continue;
			n_match++;
			n_match_valid += !((c->has_start && c->start > now) ||
					   (c->has_end && c->end <= now));
		}
		/* hints are 3 characters and can collide: the first to expire
		 * among the matching ones is the safe reading. An expired or
		 * not yet valid one is not what Atlas uses while a valid one
		 * has the hint (Atlas would already fail with it: ear.valid),
		 * so only when none is valid does it stand for the secret. */
		valid = soonest(creds, n, now, true, in->hint);
		if (valid != NULL)
			pick = valid;
		if (n_match > 1) {
			char hint[24];

			util_copy_sanitized(hint, sizeof(hint), in->hint);
			snprintf(extra, sizeof(extra),
				 " (%zu secrets have the hint \"%s\"; kmswatch judged the first "
				 "%sone of them to expire)",
				 n_match, hint, valid != NULL && n_match_valid < n_match ? "valid " : "");
		}
		x = secret_verdict(out, in->client_id, app, pick, "the client secret Atlas uses",
				   t, now, SEV_OK, extra);
	} else if (set(in->hint)) {
		char hint[24];

		util_copy_sanitized(hint, sizeof(hint), in->hint);
		snprintf(extra, sizeof(extra),
			 "; no secret of the application has the hint \"%s\" from "
			 "projects[].azure.client_secret_hint: Atlas may use a deleted secret, or "
			 "the hint is out of date",
			 hint);
		pick = soonest(creds, n, now, true, NULL);
		if (pick == NULL)
			pick = soonest(creds, n, now, false, NULL);
		x = secret_verdict(out, in->client_id, app, pick,
				   n_valid > 0 ? "the soonest-expiring valid client secret"
					       : "the soonest-expiring client secret",
				   t, now, SEV_WARNING, extra);
	} else if (n_valid == 0) {
		const struct cred_ref *last = NULL;

		for (size_t i = 0; i < n; i++)
			if (creds[i].c->has_end &&
			    (last == NULL || creds[i].c->end > last->c->end))
				last = &creds[i];
		if (last != NULL && last->c->end <= now) {
			x = secret_verdict(out, in->client_id, app, last,
					   n == 1 ? "the only client secret"
						  : "the last valid client secret",
					   t, now, SEV_CRITICAL, "");
		} else {
			x = findings_add(out, CHK_AZURE_SECRET_EXPIRY, SEV_CRITICAL, PROV_AZURE,
					 in->client_id,
					 "no client secret of application %s is valid now (%zu not "
					 "yet valid or expired), so Atlas cannot authenticate to Key "
					 "Vault: %s",
					 app, n, secret_todo);
		}
	} else {
		pick = soonest(creds, n, now, true, NULL);
		if (n_valid > 1)
			snprintf(extra, sizeof(extra),
				 " (the soonest-expiring of %zu valid secrets: kmswatch does not "
				 "know which one Atlas uses; set projects[].azure.client_secret_hint "
				 "to the first 3 characters of Atlas's secret to make this exact)",
				 n_valid);
		x = secret_verdict(out, in->client_id, app, pick,
				   n_valid > 1 ? "the soonest-expiring client secret"
					       : "the client secret",
				   t, now, SEV_OK, extra);
	}
	free(creds);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- azure.key_identifier -------------------------------------------- */

int
chk_azure_key_identifier(const struct atlas_azure_kv *kv, const char *expected_suffix,
			 const char *vault_missing, const struct cfg_checks *checks,
			 struct findings *out)
{
	struct azure_endpoints ep;
	struct azure_key_id id;
	struct strbuf b = {0}, gone = {0};
	enum severity sev = SEV_OK;
	struct finding *x;
	char err[160], shown[300], env[64];
	int r = 0;

	if (kv == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_KEY_IDENTIFIER))
		return 0;
	out->evaluated[CHK_AZURE_KEY_IDENTIFIER] = true;
	if (!set(kv->key_identifier)) {
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, SEV_CRITICAL, PROV_AZURE, "azure",
				 "Atlas reports no keyIdentifier for Azure Key Vault: set it to the "
				 "key's full identifier, https://{vault}.vault.azure.net/keys/"
				 "{name}/{version}, in the project's Encryption at Rest settings");
		return x != NULL ? 0 : -ENOMEM;
	}
	util_copy_sanitized(shown, sizeof(shown), kv->key_identifier);
	if (azure_parse_key_id(kv->key_identifier, &id, err, sizeof(err)) < 0) {
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, SEV_CRITICAL, PROV_AZURE, "azure",
				 "the key identifier %s is malformed (%s): set it to the key's full "
				 "identifier with its version, https://{vault}.{suffix}/keys/{name}/"
				 "{version}, as Key Vault shows it",
				 shown, err);
		return x != NULL ? 0 : -ENOMEM;
	}
	util_copy_sanitized(env, sizeof(env),
			    set(kv->azure_environment) ? kv->azure_environment : "AZURE");
	if (expected_suffix == NULL &&
	    azure_endpoints_resolve(kv->azure_environment, NULL, &ep, NULL, 0) == 0)
		expected_suffix = ep.vault_suffix;

	if (id.version[0] == '\0') {
		sev = SEV_CRITICAL;
		r = strbuf_printf(&b, "it names no key version (Atlas needs the full identifier "
				      "of one version)");
	}
	if (r == 0 && set(kv->key_vault_name) && strcasecmp(id.vault, kv->key_vault_name) != 0) {
		char vn[64];

		util_copy_sanitized(vn, sizeof(vn), kv->key_vault_name);
		sev = SEV_CRITICAL;
		r = strbuf_printf(&b, "%sit names vault %s, but keyVaultName is %s",
				  b.len ? "; " : "", id.vault, vn);
	}
	if (r == 0 && expected_suffix != NULL && strcasecmp(id.suffix, expected_suffix) != 0) {
		sev = SEV_CRITICAL;
		r = strbuf_printf(&b, "%sits DNS suffix %s does not match azureEnvironment %s "
				      "(expected %s), so kmswatch sends no request (and no token) "
				      "there and the key checks wait",
				  b.len ? "; " : "", id.suffix, env, expected_suffix);
	}
	if (r == 0 && expected_suffix == NULL) {
		sev = chk_max_sev(sev, SEV_UNKNOWN);
		r = strbuf_printf(&b, "%skmswatch does not know azureEnvironment %s, so it cannot "
				      "check the DNS suffix %s (set azure.endpoints.vault_suffix)",
				  b.len ? "; " : "", env, id.suffix);
	}
	if (r == 0 && vault_missing != NULL) {
		char vn[64], rg[100], sub[64];

		util_copy_sanitized(vn, sizeof(vn), set(kv->key_vault_name) ? kv->key_vault_name : "");
		util_copy_sanitized(rg, sizeof(rg),
				    set(kv->resource_group_name) ? kv->resource_group_name : "");
		util_copy_sanitized(sub, sizeof(sub),
				    set(kv->subscription_id) ? kv->subscription_id : "");
		if (strcmp(vault_missing, "SubscriptionNotFound") == 0)
			r = strbuf_printf(&gone, "Azure Resource Manager has no subscription %s (404 "
					      "SubscriptionNotFound): subscriptionID is wrong, or the "
					      "subscription was cancelled",
					  sub);
		else if (strcmp(vault_missing, "ResourceGroupNotFound") == 0)
			r = strbuf_printf(&gone, "Azure Resource Manager has no resource group %s in "
					      "subscription %s (404 ResourceGroupNotFound): "
					      "resourceGroupName is wrong, or the group was deleted "
					      "with the vault in it",
					  rg, sub);
		else
			r = strbuf_printf(&gone, "Azure Resource Manager has no Key Vault %s in "
					      "resource group %s of subscription %s (404 "
					      "ResourceNotFound): the vault was deleted (recover it "
					      "while it is soft-deleted: az keyvault recover --name %s), "
					      "or keyVaultName or resourceGroupName is wrong",
					  vn, rg, sub, vn);
	}
	if (r < 0) {
		strbuf_free(&b);
		strbuf_free(&gone);
		return r;
	}
	if (gone.len && b.len == 0)
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, SEV_CRITICAL, PROV_AZURE, "azure",
				 "the vault of key identifier %s does not exist: %s; Atlas cannot "
				 "reach the key: recover the vault or correct the vault, resource "
				 "group and subscription in the project's Encryption at Rest "
				 "settings",
				 shown, gone.s);
	else if (gone.len)
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, SEV_CRITICAL, PROV_AZURE, "azure",
				 "the key identifier %s is wrong: %s; and %s; Atlas cannot reach "
				 "the key it names: correct the key identifier, vault and "
				 "environment in the project's Encryption at Rest settings",
				 shown, b.s, gone.s);
	else if (sev == SEV_OK)
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, SEV_OK, PROV_AZURE, "azure",
				 "the key identifier %s is well-formed and matches keyVaultName "
				 "and azureEnvironment%s",
				 shown,
				 id.version_not_hex ? " (its version is not hexadecimal, unlike "
						      "the versions Key Vault is known to generate)"
						    : "");
	else
		x = findings_add(out, CHK_AZURE_KEY_IDENTIFIER, sev, PROV_AZURE, "azure",
				 "the key identifier %s is wrong: %s%s", shown, b.s,
				 sev == SEV_CRITICAL
					 ? "; Atlas cannot reach the key it names: correct the key "
					   "identifier, vault and environment in the project's "
					   "Encryption at Rest settings"
					 : "");
	strbuf_free(&b);
	strbuf_free(&gone);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- azure.key_state ------------------------------------------------- */

int
chk_azure_key_state(const struct azure_key_id *pin, const struct azure_kv_key *key,
		    bool deleted, const struct cfg_checks *checks, time_t now,
		    struct findings *out)
{
	const struct cfg_threshold *t = checks != NULL ? &checks->key_expiry : &cfg_default_checks.key_expiry;
	struct strbuf b = {0};
	enum severity sev = SEV_OK;
	struct finding *x;
	char subj[200], w[96], tbuf[UTIL_TIME_LEN];
	int64_t left = 0;
	int r = 0;

	if (pin == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_KEY_STATE) || (key == NULL && !deleted))
		return 0;
	out->evaluated[CHK_AZURE_KEY_STATE] = true;
	azure_key_id_subject(pin, subj, sizeof(subj));
	if (deleted) {
		x = findings_add(out, CHK_AZURE_KEY_STATE, SEV_CRITICAL, PROV_AZURE, subj,
				 "Key Vault has no key %s (404 KeyNotFound): it was deleted or the "
				 "identifier is wrong, and Atlas cannot unwrap the project's data "
				 "keys; recover a soft-deleted key (az keyvault key recover "
				 "--vault-name %s --name %s) before its retention ends, or correct "
				 "the key identifier in Atlas",
				 subj, pin->vault, pin->name);
		return x != NULL ? 0 : -ENOMEM;
	}
	if (key->attr.enabled == TRI_FALSE) {
		sev = SEV_CRITICAL;
		r = strbuf_printf(&b, "it is disabled (enable it: az keyvault key set-attributes "
				      "--vault-name %s --name %s --version %s --enabled true)",
				  pin->vault, pin->name, pin->version);
	}
	if (r == 0 && key->attr.has_nbf && key->attr.nbf > now) {
		util_format_time(key->attr.nbf, tbuf, sizeof(tbuf));
		sev = SEV_CRITICAL;
		r = strbuf_printf(&b, "%sit is not valid before %s (its activation date)",
				  b.len ? "; " : "", tbuf);
	}
	if (key->attr.has_exp) {
		bool window = checks == NULL || checks->key_expiry.enabled;
		enum severity e;

		left = (int64_t)key->attr.exp - (int64_t)now;
		e = chk_expiry_severity(left, t, window);
		chk_when(left, key->attr.exp, w, sizeof(w));
		if (r == 0 && e > SEV_OK)
			r = strbuf_printf(&b, "%sit %s %s (extend its expiry date, or rotate to a "
					      "new version and point Atlas at it)",
					  b.len ? "; " : "", left > 0 ? "expires" : "expired", w);
		sev = chk_max_sev(sev, e);
	}
	if (r < 0) {
		strbuf_free(&b);
		return r;
	}
	if (sev == SEV_OK)
		x = findings_add(out, CHK_AZURE_KEY_STATE, SEV_OK, PROV_AZURE, subj,
				 "key %s is enabled and %s%s", subj,
				 key->attr.has_exp ? "expires " : "has no expiry date",
				 key->attr.has_exp ? w : "");
	else
		x = findings_add(out, CHK_AZURE_KEY_STATE, sev, PROV_AZURE, subj,
				 "key %s is not usable by Atlas%s: %s", subj,
				 sev == SEV_CRITICAL ? "" : " for much longer", b.s);
	strbuf_free(&b);
	if (x == NULL)
		return -ENOMEM;
	if (key->attr.has_exp)
		chk_set_days_left(x, left);
	return 0;
}

/* ---- azure.key_age --------------------------------------------------- */

static void
rotation_text(const struct azure_rotation_policy *policy, char *buf, size_t len)
{
	const struct azure_lifetime_action *rot = azure_rotation_policy_rotate(policy);
	char d[32];

	if (policy == NULL) {
		snprintf(buf, len, "kmswatch could not read the key's rotation policy");
	} else if (rot == NULL) {
		snprintf(buf, len, "no rotation policy rotates this key");
	} else if (rot->has_after_create) {
		util_format_duration(rot->after_create, d, sizeof(d));
		snprintf(buf, len,
			 "Key Vault's rotation policy rotates this key %s after a version is "
			 "created, but Atlas pins one version: point Atlas at each new version",
			 d);
	} else if (rot->has_before_expiry) {
		util_format_duration(rot->before_expiry, d, sizeof(d));
		snprintf(buf, len,
			 "Key Vault's rotation policy rotates this key %s before it expires, but "
			 "Atlas pins one version: point Atlas at each new version",
			 d);
	} else {
		snprintf(buf, len, "the key's rotation policy has a Rotate action without a "
				   "trigger");
	}
}

int
chk_azure_key_age(const struct azure_key_id *pin, const struct azure_kv_key *key,
		  const struct ear_memory *mem, const struct azure_rotation_policy *policy,
		  const struct cfg_checks *checks, time_t now, struct findings *out)
{
	const struct cfg_threshold *t = checks != NULL ? &checks->key_age : &cfg_default_checks.key_age;
	char subj[200], since_s[UTIL_TIME_LEN], rot[256], thr[32];
	struct azure_key_id seen;
	struct finding *x;
	enum severity sev;
	bool from_kv;
	time_t since;
	int64_t age, days;

	if (pin == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_KEY_AGE))
		return 0;
	from_kv = key != NULL && key->attr.has_created;
	if (from_kv)
		since = key->attr.created;
	else if (mem != NULL && mem->key_first_seen != 0 &&
		 azure_parse_key_id(mem->key_id, &seen, NULL, 0) == 0 &&
		 azure_key_id_equal(&seen, pin))
		since = mem->key_first_seen;
	else
		return 0;
	out->evaluated[CHK_AZURE_KEY_AGE] = true;
	azure_key_id_subject(pin, subj, sizeof(subj));
	util_format_time(since, since_s, sizeof(since_s));
	rotation_text(policy, rot, sizeof(rot));
	age = (int64_t)now - (int64_t)since;
	if (age < 0)
		age = 0; /* clock skew: a key from the future is new */
	days = chk_floor_days(age);
	sev = age >= t->critical ? SEV_CRITICAL : age >= t->warning ? SEV_WARNING : SEV_OK;
	util_format_duration(sev == SEV_CRITICAL ? t->critical : t->warning, thr, sizeof(thr));

	if (!from_kv)
		x = findings_add(
			out, CHK_AZURE_KEY_AGE, sev, PROV_AZURE, subj,
			"key %s is at least %lld day%s old: Key Vault could not be read, so the age "
			"counts from when kmswatch first saw this key identifier (%s)%s%s%s; %s",
			subj, (long long)days, chk_plural(days), since_s,
			sev > SEV_OK ? ", past the " : "", sev > SEV_OK ? thr : "",
			sev > SEV_OK ? " threshold: rotate the key and point Atlas at the new "
				       "version"
				     : "",
			rot);
	else if (sev == SEV_OK)
		x = findings_add(out, CHK_AZURE_KEY_AGE, SEV_OK, PROV_AZURE, subj,
				 "key %s was created %lld day%s ago (%s); %s", subj,
				 (long long)days, chk_plural(days), since_s, rot);
	else
		x = findings_add(out, CHK_AZURE_KEY_AGE, sev, PROV_AZURE, subj,
				 "key %s is %lld day%s old (created %s), past the %s threshold: "
				 "rotate it (az keyvault key rotate --vault-name %s --name %s) and "
				 "point Atlas's keyIdentifier at the new version; %s",
				 subj, (long long)days, chk_plural(days), since_s, thr, pin->vault,
				 pin->name, rot);
	if (x == NULL)
		return -ENOMEM;
	x->has_age_days = true;
	x->age_days = days;
	return 0;
}

/* ---- azure.key_version ----------------------------------------------- */

static bool
same_key(const struct azure_key_id *a, const struct azure_key_id *b)
{
	return strcasecmp(a->vault, b->vault) == 0 && strcasecmp(a->name, b->name) == 0;
}

int
chk_azure_key_version(const struct azure_key_id *pin, const struct azure_kv_key *pinned,
		      const struct azure_kv_key *versions, size_t n_versions,
		      const struct cfg_checks *checks, time_t now, struct findings *out)
{
	const struct azure_kv_key *newest = NULL;
	struct azure_key_id newest_id, id;
	char subj[200], a[UTIL_TIME_LEN], b[UTIL_TIME_LEN];
	struct finding *x;
	bool have_pin = false;
	time_t pin_created = 0;

	if (pin == NULL || out == NULL || (versions == NULL && n_versions > 0))
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_KEY_VERSION) || pin->version[0] == '\0')
		return 0;
	if (pinned != NULL && pinned->attr.has_created) {
		have_pin = true;
		pin_created = pinned->attr.created;
	}
	for (size_t i = 0; !have_pin && i < n_versions; i++)
		if (versions[i].attr.has_created &&
		    azure_parse_key_id(versions[i].kid, &id, NULL, 0) == 0 && same_key(&id, pin) &&
		    strcasecmp(id.version, pin->version) == 0) {
			have_pin = true;
			pin_created = versions[i].attr.created;
		}
	if (!have_pin)
		return 0; /* nothing to compare against: no verdict */
	for (size_t i = 0; i < n_versions; i++) {
		const struct azure_kv_key *v = &versions[i];

		if (azure_parse_key_id(v->kid, &id, NULL, 0) < 0 || !same_key(&id, pin) ||
		    strcasecmp(id.version, pin->version) == 0)
			continue;
		/* only a version Atlas could switch to right now counts */
		if (v->attr.enabled != TRI_TRUE || !v->attr.has_created ||
		    (v->attr.has_nbf && v->attr.nbf > now) ||
		    (v->attr.has_exp && v->attr.exp <= now))
			continue;
		if (v->attr.created > pin_created &&
		    (newest == NULL || v->attr.created > newest->attr.created)) {
			newest = v;
			newest_id = id;
		}
	}
	out->evaluated[CHK_AZURE_KEY_VERSION] = true;
	azure_key_id_subject(pin, subj, sizeof(subj));
	if (newest == NULL) {
		x = findings_add(out, CHK_AZURE_KEY_VERSION, SEV_OK, PROV_AZURE, subj,
				 "Atlas uses the newest enabled version of key %s/%s (%s)",
				 pin->vault, pin->name, pin->version);
		return x != NULL ? 0 : -ENOMEM;
	}
	util_format_time(newest->attr.created, a, sizeof(a));
	util_format_time(pin_created, b, sizeof(b));
	x = findings_add(out, CHK_AZURE_KEY_VERSION, SEV_WARNING, PROV_AZURE, subj,
			 "vault %s has a newer enabled version %s of key %s (created %s), but "
			 "Atlas still uses version %s (created %s): the key was rotated in Key "
			 "Vault and Atlas was never pointed at it; set the project's key "
			 "identifier to https://%s.%s/keys/%s/%s",
			 pin->vault, newest_id.version, pin->name, a, pin->version, b, pin->vault,
			 pin->suffix, pin->name, newest_id.version);
	return x != NULL ? 0 : -ENOMEM;
}

/* ---- azure.allowlist ------------------------------------------------- */

enum origin { ORIG_CONTROL_PLANE, ORIG_NODE, ORIG_FUTURE_NODE };

struct reqset {
	struct cidr *v;
	size_t n, cap;
	struct strbuf bad; /* unparsable entries, ", "-separated */
	size_t n_bad;
};

static int
req_add(struct reqset *s, const char *text)
{
	struct cidr c;

	if (text == NULL)
		return 0;
	if (cidr_parse(text, &c, NULL) < 0) {
		char q[64];

		util_copy_sanitized(q, sizeof(q), text);
		s->n_bad++;
		return strbuf_printf(&s->bad, "%s\"%s\"", s->bad.len ? ", " : "", q);
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		struct cidr *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = c;
	return 0;
}

static void
req_free(struct reqset *s)
{
	free(s->v);
	strbuf_free(&s->bad);
}

/* The first `max` CIDRs of v, ", "-separated, with "and N more". */
static int
list_some(struct strbuf *b, const struct cidr *v, size_t n, size_t max)
{
	char one[CIDR_STRLEN];
	int r = 0;

	for (size_t i = 0; r == 0 && i < n && i < max; i++) {
		cidr_format(&v[i], one, sizeof(one));
		r = strbuf_printf(b, "%s%s", i ? ", " : "", one);
	}
	if (r == 0 && n > max)
		r = strbuf_printf(b, " and %zu more", n - max);
	return r;
}

static int
allowlist_deny(const struct azure_allowlist_input *in, const struct cfg_checks *checks,
	       const char *vault, struct findings *out)
{
	const struct azure_vault *v = in->vault;
	bool future = checks == NULL || checks->include_future_node_ips;
	struct reqset req = {0}, allow = {0};
	struct cidr *miss = NULL;
	struct strbuf b = {0}, notes = {0};
	struct finding *x = NULL;
	size_t n_miss = 0, n_v6 = 0;
	int r = 0;

	for (size_t i = 0; r == 0 && i < in->n_control_plane; i++)
		r = req_add(&req, in->control_plane[i]);
	for (size_t i = 0; r == 0 && in->nodes != NULL && i < in->nodes->n_clusters; i++) {
		const struct atlas_cluster_ips *c = &in->nodes->clusters[i];

		for (size_t j = 0; r == 0 && j < c->n_outbound; j++)
			r = req_add(&req, c->outbound[j]);
		for (size_t j = 0; r == 0 && future && j < c->n_future_outbound; j++)
			r = req_add(&req, c->future_outbound[j]);
	}
	for (size_t i = 0; r == 0 && i < v->n_ip_rules; i++)
		r = req_add(&allow, v->ip_rules[i]);
	if (r == 0)
		r = cidr_uncovered(req.v, req.n, allow.v, allow.n, &miss, &n_miss);

	/* what the verdict could not see, said in every summary it affects */
	if (r == 0 && !in->have_control_plane)
		r = strbuf_printf(&notes, "; Atlas's control-plane address list could not be "
					  "read, so more addresses may be missing");
	if (r == 0 && in->nodes == NULL)
		r = strbuf_printf(&notes, "; the project's cluster node addresses could not be "
					  "read, so more addresses may be missing");
	if (r == 0 && req.n_bad > 0)
		r = strbuf_printf(&notes, "; kmswatch could not parse %zu Atlas address%s (%s)",
				  req.n_bad, req.n_bad == 1 ? "" : "es", req.bad.s);
	if (r == 0 && allow.n_bad > 0)
		r = strbuf_printf(&notes, "; %zu firewall rule%s could not be parsed and %s "
					  "ignored (%s)",
				  allow.n_bad, allow.n_bad == 1 ? "" : "s",
				  allow.n_bad == 1 ? "was" : "were", allow.bad.s);
	for (size_t i = 0; i < n_miss; i++)
		n_v6 += miss[i].family == CIDR_V6;
	if (r == 0 && n_v6 > 0)
		r = strbuf_printf(&notes, "; Key Vault documents its firewall rules as IPv4 "
					  "only, so the IPv6 address%s may need another path "
					  "(private networking)",
				  n_v6 == 1 ? "" : "es");
	if (r < 0)
		goto done;

	if (n_miss > 0) {
		char *joined = NULL;

		r = list_some(&b, miss, n_miss, 10);
		if (r == 0)
			r = cidr_join(miss, n_miss, ",", &joined);
		if (r < 0)
			goto done;
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_CRITICAL, PROV_AZURE, vault,
				 "the firewall of Key Vault %s denies by default and does not admit "
				 "%zu Atlas address%s: %s; Atlas will be refused when it uses %s: add "
				 "%s to the vault's firewall (az keyvault network-rule add --name %s "
				 "--ip-address CIDR)%s",
				 vault, n_miss, n_miss == 1 ? "" : "es", b.s,
				 n_miss == 1 ? "it" : "them", n_miss == 1 ? "it" : "them", vault,
				 notes.len ? notes.s : "");
		if (x == NULL)
			free(joined);
		else
			x->missing = joined;
	} else if (!in->have_control_plane || in->nodes == NULL || req.n_bad > 0) {
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_UNKNOWN, PROV_AZURE, vault,
				 "the firewall of Key Vault %s admits the %zu Atlas address%s "
				 "kmswatch knows of, but the list is incomplete%s",
				 vault, req.n, req.n == 1 ? "" : "es", notes.len ? notes.s : "");
	} else {
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_OK, PROV_AZURE, vault,
				 "the firewall of Key Vault %s admits all %zu Atlas control-plane "
				 "and cluster node address%s%s",
				 vault, req.n, req.n == 1 ? "" : "es", notes.len ? notes.s : "");
	}
	if (x == NULL)
		r = -ENOMEM;
done:
	free(miss);
	req_free(&req);
	req_free(&allow);
	strbuf_free(&b);
	strbuf_free(&notes);
	return r;
}

int
chk_azure_allowlist(const struct azure_allowlist_input *in, const struct cfg_checks *checks,
		    struct findings *out)
{
	const struct azure_vault *v;
	struct finding *x;
	char vault[64], raw[64];

	if (in == NULL || out == NULL || (in->control_plane == NULL && in->n_control_plane > 0))
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_ALLOWLIST) || in->vault == NULL)
		return 0;
	v = in->vault;
	util_copy_sanitized(vault, sizeof(vault),
			    set(v->name) ? v->name : set(in->vault_name) ? in->vault_name : "?");
	out->evaluated[CHK_AZURE_ALLOWLIST] = true;

	if (in->require_private_networking == TRI_TRUE) {
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_OK, PROV_AZURE, vault,
				 "Atlas reaches Key Vault %s over Private Link "
				 "(requirePrivateNetworking), so the vault's public firewall does "
				 "not apply to it",
				 vault);
		return x != NULL ? 0 : -ENOMEM;
	}
	switch (v->public_access) {
	case AZPUB_DISABLED:
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_CRITICAL, PROV_AZURE, vault,
				 "public network access to Key Vault %s is disabled, but Atlas is "
				 "not set up for private networking (requirePrivateNetworking is "
				 "off), so Atlas cannot reach the key: enable public access limited "
				 "by the firewall to Atlas's addresses, or set up private networking "
				 "for encryption at rest in Atlas",
				 vault);
		return x != NULL ? 0 : -ENOMEM;
	case AZPUB_OTHER:
		util_copy_sanitized(raw, sizeof(raw), v->public_access_raw);
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_UNKNOWN, PROV_AZURE, vault,
				 "Key Vault %s has publicNetworkAccess \"%s\", which kmswatch cannot "
				 "evaluate: check that Atlas's addresses can reach the vault",
				 vault, raw);
		return x != NULL ? 0 : -ENOMEM;
	case AZPUB_ABSENT: /* ARM's default is Enabled */
	case AZPUB_ENABLED:
		break;
	}
	switch (v->default_action) {
	case AZNET_ABSENT: /* no networkAcls, or no defaultAction: no firewall */
	case AZNET_ALLOW:
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_OK, PROV_AZURE, vault,
				 "the firewall of Key Vault %s admits all networks (%s), Atlas "
				 "included",
				 vault,
				 v->default_action == AZNET_ALLOW ? "defaultAction Allow"
								  : "no default-deny rule");
		return x != NULL ? 0 : -ENOMEM;
	case AZNET_OTHER:
		util_copy_sanitized(raw, sizeof(raw), v->default_action_raw);
		x = findings_add(out, CHK_AZURE_ALLOWLIST, SEV_UNKNOWN, PROV_AZURE, vault,
				 "the firewall of Key Vault %s has defaultAction \"%s\", which "
				 "kmswatch cannot evaluate: check that Atlas's addresses can reach "
				 "the vault",
				 vault, raw);
		return x != NULL ? 0 : -ENOMEM;
	case AZNET_DENY:
		break;
	}
	return allowlist_deny(in, checks, vault, out);
}

/* ---- azure.permissions ----------------------------------------------- */

/* Built-in roles known not to grant key wrap/unwrap (no such data action),
 * so that holding only these is a clear "no", not an "unknown". */
static bool
role_known_not_crypto(const char *guid)
{
	static const char *const roles[] = {
		"21090545-7ca7-4776-b22c-e363652d74d2", /* Key Vault Reader */
		"f25e0fa2-a7c8-4377-a976-54943a77a395", /* Key Vault Contributor */
		"4633458b-17de-408a-b874-0445c86b69e6", /* Key Vault Secrets User */
		"b86a8fe4-44ce-4948-aee5-eccb2c155cd7", /* Key Vault Secrets Officer */
		"a4417e6f-fecd-4de8-b567-7b0420556985", /* Key Vault Certificates Officer */
		"db79e9a7-68ee-4b58-9aeb-b90e7c24fcba", /* Key Vault Certificate User */
		"08bbd89e-9f13-488c-ac41-acfcb10c90ab", /* Key Vault Crypto Service Release User */
		"acdd72a7-3385-48ef-bd42-f606fba81ae7", /* Reader */
		"b24988ac-6180-42a0-ab88-20f7382dd24c", /* Contributor */
		"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", /* Owner */
	};

	for (size_t i = 0; guid != NULL && i < ARRAY_SIZE(roles); i++)
		if (strcasecmp(guid, roles[i]) == 0)
			return true;
	return false;
}

/* Position of the last case-insensitive occurrence of needle in s[0..n). */
static const char *
last_ci(const char *s, size_t n, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = n >= nl ? n - nl + 1 : 0; i-- > 0;)
		if (strncasecmp(s + i, needle, nl) == 0)
			return s + i;
	return NULL;
}

/*
 * Whether an assignment at `scope` reaches key `key` of the vault: the
 * vault itself, any parent scope (resource group, subscription, management
 * group, "/"), or the key's own scope ".../vaults/{vault}/keys/{key}".
 * Without the vault's id (ARM did not say) every non-key scope counts: the
 * caller listed the assignments that apply at the vault.
 */
static bool
scope_applies(const char *scope, const char *vault_id, const char *key)
{
	const char *k;
	size_t sl, vl;

	if (!set(scope))
		return true; /* ARM listed it for the vault; nothing says otherwise */
	sl = strlen(scope);
	while (sl > 1 && scope[sl - 1] == '/')
		sl--;
	k = last_ci(scope, sl, "/keys/");
	if (k != NULL && memchr(k + 6, '/', sl - (size_t)(k + 6 - scope)) == NULL &&
	    last_ci(scope, (size_t)(k - scope), "/providers/Microsoft.KeyVault/vaults/") != NULL) {
		size_t prefix = (size_t)(k - scope), nl = sl - prefix - 6;

		if (!set(key) || nl != strlen(key) || strncasecmp(k + 6, key, nl) != 0)
			return false;
		return !set(vault_id) ||
		       (prefix == strlen(vault_id) && strncasecmp(scope, vault_id, prefix) == 0);
	}
	if (!set(vault_id) || (sl == 1 && scope[0] == '/'))
		return true;
	vl = strlen(vault_id);
	return sl <= vl && strncasecmp(vault_id, scope, sl) == 0 &&
	       (vault_id[sl] == '\0' || vault_id[sl] == '/');
}

static int
permissions_rbac(const struct azure_permissions_input *in, const char *vault, const char *who,
		 struct findings *out)
{
	const struct azure_vault *v = in->vault;
	struct strbuf unknown = {0};
	struct finding *x;
	const char *granted = NULL, *granted_scope = NULL, *group = NULL, *group_role = NULL;
	size_t n_unknown = 0;
	int r = 0;

	if (in->roles == NULL) {
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_UNKNOWN, PROV_AZURE, vault,
				 "Key Vault %s uses Azure RBAC and kmswatch could not read its "
				 "role assignments, so it cannot tell whether Atlas's principal %s "
				 "may use the key: grant kmswatch's identity "
				 "Microsoft.Authorization/roleAssignments/read on the vault (the "
				 "Reader role includes it)",
				 vault, who);
		return x != NULL ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < in->roles->n && granted == NULL; i++) {
		const struct azure_role_assignment *a = &in->roles->v[i];

		if (a->principal_id == NULL || !scope_applies(a->scope, v->id, in->key_name))
			continue;
		if (strcasecmp(a->principal_id, in->principal_id) != 0) {
			/* a group may have Atlas's principal as a member, which
			 * kmswatch cannot see: remember one that could grant it */
			if (group == NULL && a->principal_type != NULL &&
			    strcasecmp(a->principal_type, "Group") == 0 &&
			    azure_crypto_role_name(a->role_guid) != NULL) {
				group = a->principal_id;
				group_role = azure_crypto_role_name(a->role_guid);
			}
			continue;
		}
		if (azure_crypto_role_name(a->role_guid) != NULL) {
			granted = azure_crypto_role_name(a->role_guid);
			granted_scope = a->scope;
		} else if (!role_known_not_crypto(a->role_guid)) {
			char g[40];

			util_copy_sanitized(g, sizeof(g), a->role_guid);
			n_unknown++;
			r = strbuf_printf(&unknown, "%s%s", unknown.len ? ", " : "", g);
			if (r < 0)
				break;
		}
	}
	if (r < 0) {
		strbuf_free(&unknown);
		return r;
	}
	if (granted != NULL) {
		char sc[300];

		util_copy_sanitized(sc, sizeof(sc), set(granted_scope) ? granted_scope : "the vault");
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_OK, PROV_AZURE, vault,
				 "Atlas's principal %s holds %s on %s, which grants the key "
				 "operations Atlas needs",
				 who, granted, sc);
	} else if (n_unknown > 0) {
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_UNKNOWN, PROV_AZURE, vault,
				 "Atlas's principal %s holds no built-in Key Vault crypto role on "
				 "Key Vault %s, but holds role%s kmswatch does not know (%s): check "
				 "that %s grant%s the key data actions read, wrap and unwrap, or "
				 "assign Key Vault Crypto Service Encryption User on the vault",
				 who, vault, n_unknown == 1 ? "" : "s", unknown.s,
				 n_unknown == 1 ? "it" : "they", n_unknown == 1 ? "s" : "");
	} else if (group != NULL) {
		char g[64];

		util_copy_sanitized(g, sizeof(g), group);
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_UNKNOWN, PROV_AZURE, vault,
				 "Atlas's principal %s holds no Key Vault crypto role on Key Vault "
				 "%s itself, but group %s holds %s there, and kmswatch cannot see "
				 "group membership: check that %s is a member, or assign Key Vault "
				 "Crypto Service Encryption User to it directly",
				 who, vault, g, group_role, who);
	} else {
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_CRITICAL, PROV_AZURE, vault,
				 "Key Vault %s uses Azure RBAC and Atlas's principal %s holds no "
				 "role that lets it wrap and unwrap with the key, so Atlas cannot "
				 "use it: assign Key Vault Crypto Service Encryption User (or Crypto "
				 "User) to %s at the vault or key scope (az role assignment create "
				 "--role " AZURE_ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER
				 " --assignee-object-id %s --scope VAULT_ID)",
				 vault, who, who, who);
	}
	strbuf_free(&unknown);
	return x != NULL ? 0 : -ENOMEM;
}

static bool
perm_has(const struct azure_access_policy *const *p, size_t n, const char *perm)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < p[i]->n_key_perms; j++)
			if (strcasecmp(p[i]->key_perms[j], perm) == 0 ||
			    strcasecmp(p[i]->key_perms[j], "all") == 0)
				return true;
	return false;
}

static int
permissions_policies(const struct azure_permissions_input *in, const char *vault,
		     const char *who, struct findings *out)
{
	const struct azure_vault *v = in->vault;
	const struct azure_access_policy **mine = NULL;
	size_t n = 0, n_compound = 0;
	struct strbuf lack = {0};
	struct finding *x;
	bool get, wrap, unwrap, enc, dec, use_enc;
	int r = 0;

	if (v->n_policies > 0 && (mine = calloc(v->n_policies, sizeof(*mine))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < v->n_policies; i++) {
		const struct azure_access_policy *p = &v->policies[i];

		if (p->object_id == NULL || strcasecmp(p->object_id, in->principal_id) != 0)
			continue;
		/* objectId + applicationId is a compound identity: the app acting
		 * for that principal, which is not how Atlas signs in */
		if (set(p->application_id)) {
			n_compound++;
			continue;
		}
		mine[n++] = p;
	}
	if (n == 0) {
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_CRITICAL, PROV_AZURE, vault,
				 "Key Vault %s has no access policy for Atlas's principal %s%s, so "
				 "Atlas cannot use the key: add one with key permissions get, "
				 "wrapKey and unwrapKey (az keyvault set-policy --name %s "
				 "--object-id %s --key-permissions get wrapKey unwrapKey)",
				 vault, who,
				 n_compound ? " (only a compound-identity policy with an "
					      "applicationId, which does not apply)"
					    : "",
				 vault, who);
		free(mine);
		return x != NULL ? 0 : -ENOMEM;
	}
	get = perm_has(mine, n, "get");
	wrap = perm_has(mine, n, "wrapKey");
	unwrap = perm_has(mine, n, "unwrapKey");
	enc = perm_has(mine, n, "encrypt");
	dec = perm_has(mine, n, "decrypt");
	free(mine);
	if (get && ((wrap && unwrap) || (enc && dec))) {
		x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_OK, PROV_AZURE, vault,
				 "the access policy of Atlas's principal %s on Key Vault %s grants "
				 "get and %s",
				 who, vault, wrap && unwrap ? "wrapKey/unwrapKey" : "encrypt/decrypt");
		return x != NULL ? 0 : -ENOMEM;
	}
	/* name exactly what is missing: of the wrap pair, unless only the
	 * encrypt pair was begun */
	use_enc = !wrap && !unwrap && (enc || dec);
	if (!get)
		r = strbuf_puts(&lack, "get");
	if (r == 0 && !((wrap && unwrap) || (enc && dec)))
		r = strbuf_printf(&lack, "%s%s", lack.len ? " and " : "",
				  use_enc  ? (enc ? "decrypt" : "encrypt")
				  : wrap   ? "unwrapKey"
				  : unwrap ? "wrapKey"
					   : "wrapKey and unwrapKey");
	if (r < 0) {
		strbuf_free(&lack);
		return r;
	}
	x = findings_add(out, CHK_AZURE_PERMISSIONS, SEV_CRITICAL, PROV_AZURE, vault,
			 "the access policy of Atlas's principal %s on Key Vault %s lacks %s (Atlas "
			 "needs get, and wrapKey and unwrapKey or encrypt and decrypt), so Atlas "
			 "cannot use the key: add %s (az keyvault set-policy --name %s --object-id "
			 "%s --key-permissions %s)",
			 who, vault, lack.s, strchr(lack.s, ' ') != NULL ? "them" : "it", vault, who,
			 use_enc ? "get encrypt decrypt" : "get wrapKey unwrapKey");
	strbuf_free(&lack);
	return x != NULL ? 0 : -ENOMEM;
}

int
chk_azure_permissions(const struct azure_permissions_input *in, const struct cfg_checks *checks,
		      struct findings *out)
{
	char vault[64], who[64];

	if (in == NULL || out == NULL)
		return -EINVAL;
	if (!check_on(checks, CHK_AZURE_PERMISSIONS) || in->vault == NULL ||
	    !set(in->principal_id))
		return 0;
	util_copy_sanitized(vault, sizeof(vault),
			    set(in->vault->name) ? in->vault->name
			    : set(in->vault_name) ? in->vault_name
						  : "?");
	util_copy_sanitized(who, sizeof(who), in->principal_id);
	out->evaluated[CHK_AZURE_PERMISSIONS] = true;
	/* with RBAC on, access policies are ignored by Key Vault */
	if (in->vault->rbac == TRI_TRUE)
		return permissions_rbac(in, vault, who, out);
	return permissions_policies(in, vault, who, out);
}

/* ---- azure.access ---------------------------------------------------- */

enum service { SVC_GRAPH, SVC_KEY_VAULT, SVC_ARM, SVC__COUNT };

static const struct {
	const char *subject, *title, *host_hint;
} services[SVC__COUNT] = {
	[SVC_GRAPH] = {"graph", "Microsoft Graph", "azure.endpoints.graph"},
	[SVC_KEY_VAULT] = {"key-vault", "Key Vault", "the vault (or azure.endpoints.key_vault)"},
	[SVC_ARM] = {"arm", "Azure Resource Manager", "azure.endpoints.management"},
};

static const struct {
	enum service svc;
	const char *what, *permission;
} ops[] = {
	[AZOP_GRAPH_APP] = {SVC_GRAPH, "the Atlas application",
			    "the Microsoft Graph application permission Application.Read.All "
			    "(with admin consent)"},
	[AZOP_GRAPH_SP] = {SVC_GRAPH, "the Atlas service principal",
			   "the Microsoft Graph application permission Application.Read.All "
			   "(with admin consent)"},
	[AZOP_KV_KEY] = {SVC_KEY_VAULT, "the key",
			 "key permission get (access policy), or the Key Vault Reader role on "
			 "RBAC vaults"},
	[AZOP_KV_VERSIONS] = {SVC_KEY_VAULT, "the key's versions",
			      "key permission list (access policy), or the Key Vault Reader role "
			      "on RBAC vaults"},
	[AZOP_KV_ROTATION_POLICY] = {SVC_KEY_VAULT, "the key's rotation policy",
				     "key permission getrotationpolicy (access policy), or the Key "
				     "Vault Reader role on RBAC vaults"},
	[AZOP_ARM_VAULT] = {SVC_ARM, "the vault's settings",
			    "Microsoft.KeyVault/vaults/read on the vault (the Reader role)"},
	[AZOP_ARM_ROLE_ASSIGNMENTS] = {SVC_ARM, "the vault's role assignments",
				       "Microsoft.Authorization/roleAssignments/read on the vault "
				       "(the Reader role)"},
};

/* "403 Forbidden/ForbiddenByRbac: message" from what the service said */
static void
answer_text(const struct azure_read *rd, char *buf, size_t len)
{
	const struct azure_error *e = rd->error;
	size_t off = 0;

	buf[0] = '\0';
	if (rd->http_status > 0)
		off += (size_t)snprintf(buf, len, "HTTP %d", rd->http_status);
	if (e != NULL && e->code[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, " %s%s%s", e->code,
					e->inner_code[0] ? "/" : "", e->inner_code);
	if (e != NULL && e->message[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%.200s", off ? ": " : "",
					e->message);
	else if (set(rd->detail) && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%.200s", off ? ": " : "",
					rd->detail);
	if (buf[0] == '\0')
		snprintf(buf, len, "no detail available");
	util_sanitize(buf);
}

static bool
err_code_is(const struct azure_read *rd, const char *code)
{
	return rd->error != NULL && (strcasecmp(rd->error->inner_code, code) == 0 ||
				     strcasecmp(rd->error->code, code) == 0);
}

static int
describe_failure(const struct azure_read *rd, struct strbuf *b)
{
	unsigned opi = (unsigned)rd->op < ARRAY_SIZE(ops) ? (unsigned)rd->op : AZOP_KV_KEY;
	enum service svc = ops[opi].svc;
	const char *title = services[svc].title;
	char what[160], ans[400], after[48] = "";
	const int st = rd->http_status;

	util_copy_sanitized(what, sizeof(what), set(rd->resource) ? rd->resource : ops[opi].what);
	answer_text(rd, ans, sizeof(ans));
	if (rd->retries > 0)
		snprintf(after, sizeof(after), " after %u %s", rd->retries,
			 rd->retries == 1 ? "retry" : "retries");

	switch (rd->outcome) {
	case AZURE_READ_OK:
		return 0;
	case AZURE_READ_TRANSPORT:
		return strbuf_printf(b, "kmswatch could not reach %s for %s%s (%s): check DNS, "
					"the firewall or proxy towards %s, and TLS trust "
					"(azure.ca_file)",
				     title, what, after, ans, services[svc].host_hint);
	case AZURE_READ_REFUSED:
		return strbuf_printf(b, "kmswatch did not ask %s for %s: %s; correct it in the "
					"project's Encryption at Rest settings in Atlas",
				     title, what, set(rd->detail) ? rd->detail : "a malformed value");
	case AZURE_READ_BAD_BODY:
		return strbuf_printf(b, "%s answered with a malformed document for %s (%s): "
					"check that the endpoint is %s itself, not a proxy",
				     title, what, ans, title);
	case AZURE_READ_TOKEN:
		if (rd->token_error != NULL) {
			const struct azure_token_error *te = rd->token_error;
			char codes[96] = "";

			for (size_t i = 0, off = 0; i < te->n_codes && off < sizeof(codes); i++)
				off += (size_t)snprintf(codes + off, sizeof(codes) - off, "%sAADSTS%lld",
							i ? "," : "", te->codes[i]);
			return strbuf_printf(b, "kmswatch got no %s token to read %s (%s%s%s%s%.200s): %s",
					     title, what, te->error[0] ? te->error : "error",
					     codes[0] ? " " : "", codes,
					     te->cause == AZTOK_OTHER && te->description[0] ? ": " : "",
					     te->cause == AZTOK_OTHER ? te->description : "",
					     azure_token_advice(te->cause));
		}
		if (st == 0)
			return strbuf_printf(b, "kmswatch could not reach the token endpoint for "
						"%s%s (%s): check DNS, the firewall or proxy towards "
						"azure.endpoints.login (or IMDS for a managed "
						"identity)",
					     title, after, ans);
		return strbuf_printf(b, "the token request for %s failed%s (%s): %s", title,
				     after, ans, azure_token_advice(AZTOK_OTHER));
	case AZURE_READ_HTTP:
		break;
	}
	/* the inner code is what Key Vault documents; the client address in
	 * the message is the firewall's own words, also without it */
	if (st == 403 && (err_code_is(rd, "ForbiddenByFirewall") ||
			  (rd->error != NULL && rd->error->client_address[0] != '\0'))) {
		if (rd->error->client_address[0])
			return strbuf_printf(b, "the Key Vault firewall refused kmswatch reading "
						"%s (%s; Key Vault saw kmswatch's client address %s): "
						"add %s to the vault's firewall, or run kmswatch from "
						"an allowed network",
					     what, ans, rd->error->client_address,
					     rd->error->client_address);
		return strbuf_printf(b, "the Key Vault firewall refused kmswatch reading %s (%s): "
					"add kmswatch's outbound address to the vault's firewall",
				     what, ans);
	}
	if (st == 401)
		return strbuf_printf(b, "%s rejected kmswatch's token for %s (%s): check that "
					"azure.identity.tenant_id is the resource's tenant and that "
					"the project's azureEnvironment or azure.endpoints name the "
					"right cloud",
				     title, what, ans);
	if (st == 403)
		return strbuf_printf(b, "kmswatch's identity may not read %s (%s): grant it %s",
				     what, ans, ops[opi].permission);
	if (st == 404)
		return strbuf_printf(b, "%s does not know %s (%s): check the project's Atlas "
					"settings (client ID, subscription, resource group, vault "
					"and key names)",
				     title, what, ans);
	if (st == 429)
		return strbuf_printf(b, "%s kept throttling kmswatch reading %s%s (%s): raise "
					"azure_interval, or find the other clients sharing the "
					"limit",
				     title, what, after, ans);
	if (st >= 500 && st <= 599)
		return strbuf_printf(b, "%s had a server error reading %s%s (%s): usually "
					"transient; if it persists check the Azure status page",
				     title, what, after, ans);
	return strbuf_printf(b, "%s answered an unexpected status reading %s%s (%s)", title,
			     what, after, ans);
}

int
chk_azure_access(const struct azure_read *reads, size_t n, const struct cfg_checks *checks,
		 struct findings *out)
{
	if (out == NULL || (reads == NULL && n > 0))
		return -EINVAL;
	bool vault_gone = false;

	if (!check_on(checks, CHK_AZURE_ACCESS) || n == 0)
		return 0;
	out->evaluated[CHK_AZURE_ACCESS] = true;
	/* ARM says the vault does not exist (a 404 read as an answer): Key
	 * Vault reads that then fail to connect or find no vault are that
	 * news, which azure.key_identifier carries, not kmswatch being blind */
	for (size_t i = 0; i < n; i++)
		if (reads[i].op == AZOP_ARM_VAULT && reads[i].outcome == AZURE_READ_OK &&
		    reads[i].http_status == 404)
			vault_gone = true;
	for (int s = 0; s < SVC__COUNT; s++) {
		struct strbuf b = {0};
		size_t n_reads = 0, n_failed = 0, n_explained = 0;
		struct finding *x;
		int r = 0;

		for (size_t i = 0; r == 0 && i < n; i++) {
			unsigned opi = (unsigned)reads[i].op < ARRAY_SIZE(ops) ? (unsigned)reads[i].op
									     : AZOP_KV_KEY;

			if (ops[opi].svc != (enum service)s)
				continue;
			n_reads++;
			if (reads[i].outcome == AZURE_READ_OK)
				continue;
			if (vault_gone && s == SVC_KEY_VAULT &&
			    (reads[i].outcome == AZURE_READ_TRANSPORT ||
			     (reads[i].outcome == AZURE_READ_HTTP && reads[i].http_status == 404))) {
				n_explained++;
				continue;
			}
			if (n_failed++ > 0)
				r = strbuf_puts(&b, "; ");
			if (r == 0)
				r = describe_failure(&reads[i], &b);
		}
		if (r < 0) {
			strbuf_free(&b);
			return r;
		}
		if (n_reads == 0)
			continue;
		if (n_failed == 0 && n_explained > 0)
			x = findings_add(out, CHK_AZURE_ACCESS, SEV_OK, PROV_AZURE,
					 services[s].subject,
					 "kmswatch cannot reach the vault in %s because Azure Resource "
					 "Manager says it does not exist (azure.key_identifier)",
					 services[s].title);
		else if (n_failed == 0)
			x = findings_add(out, CHK_AZURE_ACCESS, SEV_OK, PROV_AZURE,
					 services[s].subject, "kmswatch reads %s",
					 services[s].title);
		else
			x = findings_add(out, CHK_AZURE_ACCESS, SEV_UNKNOWN, PROV_AZURE,
					 services[s].subject, "%s", b.s);
		strbuf_free(&b);
		if (x == NULL)
			return -ENOMEM;
	}
	return 0;
}

/* ---- the Azure descriptor (kms.h) ---------------------------------------- */

static const struct check_row azure_rows[] = {
	{CHK_AZURE_SECRET_EXPIRY, "azure.secret_expiry", MSGID_AZURE_SECRET_EXPIRY, false, "secret_expiry"},
	{CHK_AZURE_KEY_STATE, "azure.key_state", MSGID_AZURE_KEY_STATE, false, NULL},
	{CHK_AZURE_KEY_AGE, "azure.key_age", MSGID_AZURE_KEY_AGE, true, "key_age"},
	{CHK_AZURE_KEY_VERSION, "azure.key_version", MSGID_AZURE_KEY_VERSION, true, NULL},
	{CHK_AZURE_KEY_IDENTIFIER, "azure.key_identifier", MSGID_AZURE_KEY_IDENTIFIER, false, NULL},
	{CHK_AZURE_ALLOWLIST, "azure.allowlist", MSGID_AZURE_ALLOWLIST, false, "allowlist"},
	{CHK_AZURE_PERMISSIONS, "azure.permissions", MSGID_AZURE_PERMISSIONS, false, NULL},
	{CHK_AZURE_ACCESS, "azure.access", MSGID_AZURE_ACCESS, false, NULL},
};

static void
azure_ear_view(const struct atlas_ear *ear, struct kms_ear_view *v)
{
	v->present = ear->azure.present;
	v->enabled = ear->azure.enabled;
	v->require_private_networking = ear->azure.require_private_networking;
	v->role_id = ear->azure.role_id;
}

static struct finding *
azure_ear_invalid(struct findings *out, const struct atlas_ear *ear, const char *consequence)
{
	return findings_add(out, CHK_EAR_VALID, SEV_CRITICAL, PROV_AZURE, "azure",
			    "Atlas reports the Azure Key Vault key as not valid (valid: false): %s. "
			    "Check that key %s is enabled and not expired, that the credentials "
			    "Atlas uses (client secret of application %s, or role %s) are still "
			    "valid, and that the firewall of Key Vault %s admits Atlas",
			    consequence, kms_or_unknown(ear->azure.key_identifier),
			    kms_or_unknown(ear->azure.client_id), kms_or_unknown(ear->azure.role_id),
			    kms_or_unknown(ear->azure.key_vault_name));
}

static bool
azure_role_listed(const struct atlas_cpa *cpa, const char *role)
{
	return atlas_cpa_azure_find(cpa, role) != NULL;
}

/* "; note: Atlas does not list ENCRYPTION_AT_REST among ..." or "" */
static int
azure_usage_note(const struct atlas_cpa_azure *a, struct strbuf *note)
{
	int r;

	if (!a->has_feature_usages)
		return 0;
	for (size_t i = 0; i < a->n_feature_types; i++)
		if (util_streq(a->feature_types[i], "ENCRYPTION_AT_REST"))
			return 0;
	r = strbuf_puts(note, "; note: Atlas does not list ENCRYPTION_AT_REST among this "
			      "principal's feature usages (");
	for (size_t i = 0; r == 0 && i < a->n_feature_types; i++)
		r = strbuf_printf(note, "%s%s", i ? ", " : "", a->feature_types[i]);
	if (r == 0)
		r = strbuf_puts(note, a->n_feature_types ? ")" : "none listed)");
	if (r == 0)
		r = strbuf_puts(note, ", which is bookkeeping only: ear.valid tells whether "
				      "the key works");
	return r;
}

static struct finding *
azure_judge_role(struct findings *out, const struct atlas_ear *ear, const struct atlas_cpa *cpa,
		 const char *role, const char *elsewhere, const char *consequence)
{
	const struct atlas_cpa_azure *a = atlas_cpa_azure_find(cpa, role);
	struct strbuf note = {0};
	struct finding *x;

	if (a == NULL)
		return findings_add(
			out, CHK_EAR_ROLE, SEV_CRITICAL, PROV_AZURE, role,
			"the Azure Key Vault configuration names roleId %s, but the project's "
			"Cloud Provider Access has no Azure service principal with that id%s (%zu "
			"listed): Atlas cannot authenticate to Key Vault %s: %s. Authorise the "
			"service principal again in Atlas (Project Settings, Integrations, Cloud "
			"Provider Access) and set the Encryption at Rest roleId to its id, or "
			"switch to a role that exists; then grant that principal access to the key",
			role, elsewhere, cpa->n_azure, kms_or_unknown(ear->azure.key_vault_name),
			consequence);
	if (azure_usage_note(a, &note) < 0) {
		strbuf_free(&note);
		return NULL;
	}
	x = findings_add(out, CHK_EAR_ROLE, SEV_OK, PROV_AZURE, role,
			 "roleId %s is Azure service principal %s (Atlas application %s, tenant "
			 "%s) in the project's Cloud Provider Access%s",
			 role, kms_or_unknown(a->service_principal_id),
			 kms_or_unknown(a->atlas_azure_app_id), kms_or_unknown(a->tenant_id),
			 note.len ? note.s : "");
	strbuf_free(&note);
	return x;
}

const struct kms_desc azure_kms = {
	.id = PROV_AZURE,
	.name = "azure",
	.atlas_name = "AZURE",
	.title = "Azure Key Vault",
	.role_kind = "an Azure service principal",
	.pe_approve_hint = "approve the private endpoint connection on the Key Vault "
			   "(Networking, Private endpoint connections) or with az network "
			   "private-endpoint-connection approve",
	.checks = azure_rows,
	.n_checks = ARRAY_SIZE(azure_rows),
	.config = &azure_config,
	.ear_view = azure_ear_view,
	.ear_invalid = azure_ear_invalid,
	.role_listed = azure_role_listed,
	.judge_role = azure_judge_role,
};
