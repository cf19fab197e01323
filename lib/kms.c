/* SPDX-License-Identifier: ISC */
/*
 * kms — the table of key services (see kms.h). This is the one place in
 * the pure layer that lists the providers.
 */
#include "autoconfig.h"

#include "atlas.h"
#include "kms.h"
#include "util.h"

extern const struct kms_desc aws_kms;   /* lib/aws_checks.c */
extern const struct kms_desc azure_kms; /* lib/azure_checks.c */
extern const struct kms_desc gcp_kms;   /* lib/gcp_checks.c */

const struct kms_desc *const kms_table[] = {
	&aws_kms,
	&azure_kms,
	&gcp_kms,
};

const size_t kms_count = ARRAY_SIZE(kms_table);

const struct kms_desc *
kms_find(enum provider p)
{
	for (size_t i = 0; i < ARRAY_SIZE(kms_table); i++)
		if (kms_table[i]->id == p)
			return kms_table[i];
	return NULL;
}

struct kms_ear_view
kms_ear_view_of(const struct atlas_ear *ear, enum provider p)
{
	const struct kms_desc *k = kms_find(p);
	struct kms_ear_view v = {0};

	if (k != NULL && ear != NULL)
		k->ear_view(ear, &v);
	return v;
}

bool
kms_ear_private_networking(const struct atlas_ear *ear)
{
	return kms_ear_view_of(ear, atlas_ear_enabled_provider(ear)).require_private_networking ==
	       TRI_TRUE;
}

const char *
kms_or_unknown(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "(not reported)";
}
