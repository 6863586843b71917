/*
 * prom.c - the Prometheus text exposition format and fixed-bucket histograms.
 */
#include "prom.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double prom_latency_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				       0.5,   1,      2.5,   5,	   10,	  30,	60 };
const size_t prom_latency_nbounds = sizeof(prom_latency_bounds) / sizeof(prom_latency_bounds[0]);

void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t nbounds)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = nbounds > PROM_MAX_BUCKETS ? PROM_MAX_BUCKETS : nbounds;
}

void prom_histogram_observe(struct prom_histogram *h, double value)
{
	if (isnan(value))
		return;
	size_t i = 0;
	while (i < h->nbounds && value > h->bounds[i])
		i++;
	h->counts[i]++;
	h->sum += value;
	h->count++;
}

void prom_init(struct prom *p)
{
	memset(p, 0, sizeof(*p));
}

void prom_free(struct prom *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static void append(struct prom *p, const char *s, size_t n)
{
	if (p->failed)
		return;
	if (p->len + n + 1 > p->cap) {
		size_t cap = p->cap ? p->cap : 4096;
		while (cap < p->len + n + 1)
			cap *= 2;
		char *buf = realloc(p->buf, cap);
		if (!buf) {
			p->failed = true;
			return;
		}
		p->buf = buf;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void appends(struct prom *p, const char *s)
{
	append(p, s, strlen(s));
}

/* HELP text escapes \ and newline; label values also ". */
static void append_escaped(struct prom *p, const char *s, bool quote)
{
	for (const char *c = s; *c; c++) {
		if (*c == '\\')
			appends(p, "\\\\");
		else if (*c == '\n')
			appends(p, "\\n");
		else if (quote && *c == '"')
			appends(p, "\\\"");
		else
			append(p, c, 1);
	}
}

static void append_value(struct prom *p, double value)
{
	char num[64];
	if (isinf(value))
		snprintf(num, sizeof(num), value > 0 ? "+Inf" : "-Inf");
	else if (isnan(value))
		snprintf(num, sizeof(num), "NaN");
	else if (value == floor(value) && fabs(value) < 1e15)
		snprintf(num, sizeof(num), "%.0f", value);
	else
		snprintf(num, sizeof(num), "%.17g", value);
	appends(p, num);
}

void prom_family(struct prom *p, const char *name, const char *type, const char *help)
{
	appends(p, "# HELP ");
	appends(p, name);
	appends(p, " ");
	append_escaped(p, help, false);
	appends(p, "\n# TYPE ");
	appends(p, name);
	appends(p, " ");
	appends(p, type);
	appends(p, "\n");
}

static void append_labels(struct prom *p, const struct prom_label *labels, size_t nlabels,
			  const char *le)
{
	bool any = false;
	for (size_t i = 0; labels && i < nlabels && labels[i].name; i++) {
		appends(p, any ? "," : "{");
		appends(p, labels[i].name);
		appends(p, "=\"");
		append_escaped(p, labels[i].value ? labels[i].value : "", true);
		appends(p, "\"");
		any = true;
	}
	if (le) {
		appends(p, any ? "," : "{");
		appends(p, "le=\"");
		appends(p, le);
		appends(p, "\"");
		any = true;
	}
	if (any)
		appends(p, "}");
}

void prom_sample(struct prom *p, const char *name, const struct prom_label *labels, size_t nlabels,
		 double value)
{
	appends(p, name);
	append_labels(p, labels, nlabels, NULL);
	appends(p, " ");
	append_value(p, value);
	appends(p, "\n");
}

void prom_histogram_write(struct prom *p, const char *name, const struct prom_label *labels,
			  size_t nlabels, const struct prom_histogram *h)
{
	char metric[160], le[32];
	uint64_t cumulative = 0;
	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (size_t i = 0; i <= h->nbounds; i++) {
		cumulative += h->counts[i];
		if (i < h->nbounds)
			snprintf(le, sizeof(le), "%g", h->bounds[i]);
		else
			snprintf(le, sizeof(le), "+Inf");
		appends(p, metric);
		append_labels(p, labels, nlabels, le);
		appends(p, " ");
		append_value(p, (double)cumulative);
		appends(p, "\n");
	}
	snprintf(metric, sizeof(metric), "%s_sum", name);
	prom_sample(p, metric, labels, nlabels, h->sum);
	snprintf(metric, sizeof(metric), "%s_count", name);
	prom_sample(p, metric, labels, nlabels, (double)h->count);
}
