/* SPDX-License-Identifier: ISC */
/*
 * providers — the provider table and the running set (see provider.h).
 * This is the one place in the core that lists the providers.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "provider.h"
#include "store.h"
#include "util.h"

extern const struct provider_ops azure_provider; /* daemon/azpoll.c */
extern const struct provider_ops aws_provider;   /* daemon/awspoll.c */
extern const struct provider_ops gcp_provider;   /* daemon/gcppoll.c */

static const struct provider_ops *const provider_table[] = {
	&azure_provider,
	&aws_provider,
	&gcp_provider,
};

#define N_PROVIDERS ARRAY_SIZE(provider_table)

struct providers {
	struct provider_state *s[N_PROVIDERS];
};

int
providers_new(struct daemon *d, const struct poller_hooks *hooks, struct providers **out)
{
	struct providers *ps = calloc(1, sizeof(*ps));
	int r;

	if (!ps)
		return -ENOMEM;
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if ((r = provider_table[i]->create(d, hooks, &ps->s[i])) < 0) {
			providers_free(ps);
			return r;
		}
	*out = ps;
	return 0;
}

void
providers_free(struct providers *ps)
{
	if (!ps)
		return;
	for (size_t i = N_PROVIDERS; i-- > 0;)
		if (ps->s[i])
			provider_table[i]->destroy(ps->s[i]);
	free(ps);
}

int
providers_configure(struct providers *ps, const struct config *cfg, bool reloaded)
{
	int r;

	for (size_t i = 0; i < N_PROVIDERS; i++)
		if ((r = provider_table[i]->configure(ps->s[i], cfg, reloaded)) < 0) {
			log_err("cannot set up the %s checks: %s", provider_table[i]->name,
				strerror(-r));
			return r;
		}
	return 0;
}

void
providers_ear(struct providers *ps, const struct cfg_project *p, const struct atlas_ear *ear,
	      const struct ear_memory *mem)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		provider_table[i]->ear(ps->s[i], p, ear, mem);
}

bool
providers_idle(const struct providers *ps)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (!provider_table[i]->idle(ps->s[i]))
			return false;
	return true;
}

size_t
providers_busy(const struct providers *ps, char *buf, size_t len)
{
	size_t n = 0, off = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		if (provider_table[i]->idle(ps->s[i]))
			continue;
		if (len > off) {
			int w = snprintf(buf + off, len - off, "%s%s", n ? ", " : "",
					 provider_table[i]->name);

			off = w < 0 ? off : off + (size_t)w;
		}
		n++;
	}
	return n;
}

void
providers_metrics(const struct providers *ps, struct metrics *w)
{
	for (size_t i = 0; i < N_PROVIDERS; i++)
		if (provider_table[i]->metrics)
			provider_table[i]->metrics(ps->s[i], w);
}

void
providers_save(const struct providers *ps, struct store *st)
{
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		char *json = NULL;
		size_t len = 0;

		if (provider_table[i]->save(ps->s[i], &json, &len) == 0)
			store_write(st, provider_table[i]->state_doc, json, len);
		free(json);
	}
}

void
providers_load(struct providers *ps, struct store *st)
{
	for (size_t i = 0; i < N_PROVIDERS; i++) {
		const struct provider_ops *op = provider_table[i];
		char *json = NULL;
		size_t len = 0;
		int r = store_read(st, op->state_doc, &json, &len);

		if (r == 0 && op->load(ps->s[i], json, len) < 0)
			log_err("state file %s/%s is damaged; %s", store_dir(st), op->state_doc,
				op->state_lost);
		else if (r < 0 && r != -ENOENT)
			log_err("cannot read %s/%s: %s", store_dir(st), op->state_doc,
				util_file_error(r));
		free(json);
	}
}
