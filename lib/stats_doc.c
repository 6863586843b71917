/*
 * stats_doc.c - a period's report: sums, reconciliation, JSON (see stats_doc.h).
 *
 * Pure: the rollup's sums in, the document out. A figure without data (a rate of
 * denominator 0, the handling time of nothing handled) is null, never 0.
 */
#include "stats_doc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool stats_doc_dimension(const char *by)
{
	static const char *const dimensions[] = { "feed",     "channel", "category", "dept",
						  "district", "day",	 "month" };
	for (size_t i = 0; by && i < sizeof(dimensions) / sizeof(dimensions[0]); i++)
		if (strcmp(by, dimensions[i]) == 0)
			return true;
	return false;
}

void stats_groups_free(struct stats_groups *g)
{
	free(g->rows);
	g->rows = NULL;
	g->count = 0;
}

void stats_groups_sum(const struct stats_groups *g, struct kpi_totals *total)
{
	memset(total, 0, sizeof(*total));
	for (size_t i = 0; i < g->count; i++)
		kpi_totals_add(total, &g->rows[i].t);
}

void stats_report_reconcile(struct stats_report *rep, const struct kpi_totals *all)
{
	if (!all)
		all = &rep->total;
	rep->received = all->v[TICKET_COUNT_RECEIVED];
	rep->closed = all->v[TICKET_COUNT_CLOSED];
	rep->imbalance = kpi_reconcile(rep->carried, rep->received, rep->closed, rep->open_end);
}

static json_t *number_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

json_t *stats_doc_rate(const struct kpi_totals *t, enum kpi_rate_kind kind)
{
	struct kpi_rate r = kpi_rate_of(t, kind);
	return json_pack("{s:s, s:I, s:I, s:o}", "name_zh", kpi_rate_name_zh(kind), "num",
			 (json_int_t)r.num, "den", (json_int_t)r.den, "value",
			 number_or_null(kpi_rate_value(r)));
}

json_t *stats_doc_totals(const struct kpi_totals *t)
{
	json_t *counts = json_object();
	for (int c = 0; counts && c < KPI_COL_COUNT; c++)
		json_object_set_new(counts, kpi_column_name((enum kpi_column)c),
				    json_integer(t->v[c]));
	json_t *rates = json_object();
	for (int k = 0; rates && k < KPI_RATE_COUNT; k++)
		json_object_set_new(rates, kpi_rate_name((enum kpi_rate_kind)k),
				    stats_doc_rate(t, (enum kpi_rate_kind)k));
	return json_pack("{s:o*, s:o*, s:o, s:{s:o, s:o, s:o}}", "counts", counts, "rates", rates,
			 "returns_per_ticket", number_or_null(kpi_returns_per_ticket(t)),
			 "handling", "mean_s", number_or_null(kpi_handling_mean_s(t)), "p50_s",
			 number_or_null(kpi_handling_quantile_s(t, 0.5)), "p90_s",
			 number_or_null(kpi_handling_quantile_s(t, 0.9)));
}

/* The previous period's total and the change of each figure against it. */
static json_t *previous_json(const struct stats_report *rep)
{
	json_t *change = json_object();
	if (!change)
		return NULL;
	json_object_set_new(
		change, "received",
		number_or_null(kpi_change((double)rep->total.v[TICKET_COUNT_RECEIVED],
					  (double)rep->previous.v[TICKET_COUNT_RECEIVED])));
	json_object_set_new(
		change, "closed",
		number_or_null(kpi_change((double)rep->total.v[TICKET_COUNT_CLOSED],
					  (double)rep->previous.v[TICKET_COUNT_CLOSED])));
	for (int k = 0; k < KPI_RATE_COUNT; k++) {
		enum kpi_rate_kind kind = (enum kpi_rate_kind)k;
		json_object_set_new(change, kpi_rate_name(kind),
				    number_or_null(kpi_change(
					    kpi_rate_value(kpi_rate_of(&rep->total, kind)),
					    kpi_rate_value(kpi_rate_of(&rep->previous, kind)))));
	}
	return json_pack("{s:s, s:s, s:o*, s:o}", "from", rep->prev_from, "to", rep->prev_to,
			 "total", stats_doc_totals(&rep->previous), "change", change);
}

json_t *stats_doc_report(const struct stats_report *rep)
{
	json_t *groups = json_array();
	for (size_t i = 0; groups && i < rep->groups.count; i++) {
		json_t *g = stats_doc_totals(&rep->groups.rows[i].t);
		json_object_set_new(g, "key", json_string(rep->groups.rows[i].key));
		json_array_append_new(groups, g);
	}
	json_t *o = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s, s:f, s:o*, s:o*, s:{s:I, s:I, s:I, s:I, s:I, s:b}}",
		"from", rep->from, "to", rep->to, "days", rep->days, "by", rep->by, "dept",
		rep->dept, "source", rep->source, "query_ms", rep->query_ms, "groups", groups,
		"total", stats_doc_totals(&rep->total), "reconciliation", "carried",
		(json_int_t)rep->carried, "received", (json_int_t)rep->received, "closed",
		(json_int_t)rep->closed, "open_end", (json_int_t)rep->open_end, "imbalance",
		(json_int_t)rep->imbalance, "balanced", rep->imbalance == 0);
	if (o && rep->has_previous && json_object_set_new(o, "previous", previous_json(rep)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
