/*
 * prom.h - the Prometheus text exposition format (version 0.0.4), and the
 * histograms the daemon keeps for it.
 *
 * Owns: writing metric families (# HELP, # TYPE, samples) into a growing
 * buffer, escaping label values and HELP text as the format requires, and a
 * fixed-bucket histogram (cumulative buckets, _sum, _count) with its exposition.
 * Never: allocates without bound (the buffer grows only with what is written),
 * reads the clock, or does I/O.
 * Callers: daemon/metrics.c (the /metrics page), daemon modules that keep a
 * histogram (store_pg.c, relay.c, conn_dept.c), tests/unit/test_prom.c.
 */
#ifndef HOTLINE_PROM_H
#define HOTLINE_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_BUCKETS 16

/* A histogram over fixed upper bounds (ascending, +Inf implied). */
struct prom_histogram {
	const double *bounds;
	size_t nbounds;			       /* <= PROM_MAX_BUCKETS */
	uint64_t counts[PROM_MAX_BUCKETS + 1]; /* per bucket, not cumulative; last: +Inf */
	double sum;
	uint64_t count;
};

/* bounds (borrowed, static) ascending, nbounds <= PROM_MAX_BUCKETS. */
void prom_histogram_init(struct prom_histogram *h, const double *bounds, size_t nbounds);
void prom_histogram_observe(struct prom_histogram *h, double value);

/* Bounds in seconds for latencies: 1 ms .. 60 s. */
extern const double prom_latency_bounds[];
extern const size_t prom_latency_nbounds;

/* The page being written. */
struct prom {
	char *buf;
	size_t len, cap;
	bool failed; /* out of memory: the page is incomplete, send 503 */
};

void prom_init(struct prom *p);
void prom_free(struct prom *p);

/* "# HELP name help\n# TYPE name type\n" (type: counter, gauge, histogram). */
void prom_family(struct prom *p, const char *name, const char *type, const char *help);

/*
 * One label pair for prom_sample: up to two pairs per sample; a NULL name ends
 * the list early. Values are escaped (\\, \", \n).
 */
struct prom_label {
	const char *name;
	const char *value;
};

/* "name{labels} value\n"; labels may be NULL (none) or end at nlabels. */
void prom_sample(struct prom *p, const char *name, const struct prom_label *labels, size_t nlabels,
		 double value);

/* A histogram's _bucket (cumulative, le="..."), _sum and _count samples. */
void prom_histogram_write(struct prom *p, const char *name, const struct prom_label *labels,
			  size_t nlabels, const struct prom_histogram *h);

#endif
