/*
 * stats_doc.h - a period's report, as `hotline-stats report` and
 * GET /api/v1/stats/report give it.
 *
 * Owns: what a report holds (the rollup's sums per value of one dimension, their
 * total, the reconciliation, the previous period), summing and reconciling it, and
 * its JSON document (every count, every rate of lib/kpi.c with its Chinese name,
 * the handling times), so the tool and the daemon print one document.
 * Never: runs a statement, computes a rate itself (lib/kpi.c does), or prints.
 * Callers: lib/stats_rows.c (the rows), tools/stats_report.c, tools/stats_html.c,
 * daemon/http_stats.c.
 */
#ifndef HOTLINE_STATS_DOC_H
#define HOTLINE_STATS_DOC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kpi.h"

/* One row of a report: a dimension's value and its sums. */
struct stats_group {
	char key[136];
	struct kpi_totals t;
};

struct stats_groups {
	struct stats_group *rows;
	size_t count;
};

/* Everything a report shows (the JSON document, the table, the HTML page). */
struct stats_report {
	char from[16], to[16]; /* local days, inclusive */
	int days;
	const char *by;	    /* the dimension, "" none */
	const char *dept;   /* only this department, "" all */
	const char *source; /* "rollup" or "audit trail" */
	struct stats_groups groups;
	struct kpi_totals total;
	/* the reconciliation, for the whole hotline */
	int64_t carried, received, closed, open_end, imbalance;
	/* --compare-previous */
	bool has_previous;
	char prev_from[16], prev_to[16];
	struct kpi_totals previous;
	/* --html: volume per day and the departments */
	struct stats_groups per_day, per_dept;
	double query_ms; /* the time its statements took (JSON "query_ms") */
};

/* True when a report may be grouped by by: feed, channel, category, dept, district,
 * day or month (queries/stats_report.sql's $3; "" is one row, not a dimension). */
bool stats_doc_dimension(const char *by);

/* Frees g's rows and empties it. */
void stats_groups_free(struct stats_groups *g);

/* The sum of every row of g into *total (overwritten). */
void stats_groups_sum(const struct stats_groups *g, struct kpi_totals *total);

/*
 * The reconciliation of rep, whose carried and open_end are set: received and
 * closed from all (the whole hotline's totals of the period; NULL: rep->total),
 * and the imbalance (lib/kpi.c kpi_reconcile).
 */
void stats_report_reconcile(struct stats_report *rep, const struct kpi_totals *all);

/*
 * The rate kind of t as {"name_zh", "num", "den", "value"} (value null when den
 * is 0); NULL when out of memory.
 */
json_t *stats_doc_rate(const struct kpi_totals *t, enum kpi_rate_kind kind);

/* The totals t as {"counts", "rates", "returns_per_ticket", "handling"}; NULL when out
 * of memory. */
json_t *stats_doc_totals(const struct kpi_totals *t);

/*
 * The report's document: from, to, days, by, dept, source, query_ms, groups[]
 * (each the totals' object and "key"), total, reconciliation, and previous (with
 * --compare-previous). NULL when out of memory.
 */
json_t *stats_doc_report(const struct stats_report *rep);

#endif
