/*
 * stats_rows.c - the statistics statements' rows into lib's structs (see stats_rows.h).
 */
#include "stats_rows.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtext.h"
#include "queries.h"

int stats_rows_totals(const PGresult *res, int row, int first, struct kpi_totals *out, char *err,
		      size_t errlen)
{
	if (PQnfields(res) < first + KPI_COL_COUNT) {
		snprintf(err, errlen, "%d columns, expected %d", PQnfields(res),
			 first + KPI_COL_COUNT);
		return -1;
	}
	for (int c = 0; c < KPI_COL_COUNT; c++) {
		const char *want = kpi_column_name((enum kpi_column)c);
		if (strcmp(PQfname(res, first + c), want) != 0) {
			snprintf(err, errlen, "column %d is %s, expected %s", first + c,
				 PQfname(res, first + c), want);
			return -1;
		}
		if (PQgetisnull(res, row, first + c))
			out->v[c] = 0;
		else if (pgtext_int64(PQgetvalue(res, row, first + c), &out->v[c]) != 0) {
			snprintf(err, errlen, "column %s is not a number", want);
			return -1;
		}
	}
	return 0;
}

int stats_rows_groups(const PGresult *res, struct stats_groups *out, char *err, size_t errlen)
{
	int rows = PQntuples(res);
	out->rows = calloc(rows ? (size_t)rows : 1, sizeof(*out->rows));
	out->count = 0;
	if (!out->rows) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int r = 0; r < rows; r++) {
		struct stats_group *g = &out->rows[out->count++];
		snprintf(g->key, sizeof(g->key), "%s", PQgetvalue(res, r, STATS_REPORT_C_KEY));
		if (stats_rows_totals(res, r, STATS_REPORT_C_KEY + 1, &g->t, err, errlen) != 0) {
			stats_groups_free(out);
			return -1;
		}
	}
	return 0;
}

int stats_rows_live(const PGresult *res, struct live_board *board)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct live_row row = {
			.dept_code = PQgetvalue(res, r, STATS_LIVE_C_DEPT_CODE),
			.state = PQgetvalue(res, r, STATS_LIVE_C_STATE),
		};
		if (pgtext_int64(PQgetvalue(res, r, STATS_LIVE_C_TICKETS), &row.tickets) != 0 ||
		    pgtext_int64(PQgetvalue(res, r, STATS_LIVE_C_OVERDUE), &row.overdue) != 0 ||
		    pgtext_int64(PQgetvalue(res, r, STATS_LIVE_C_DUE_SOON), &row.due_soon) != 0 ||
		    pgtext_int64(PQgetvalue(res, r, STATS_LIVE_C_OLDEST_MS), &row.oldest_ms) != 0)
			continue;
		if (live_board_add(board, &row) != 0)
			return -1;
	}
	return 0;
}

json_t *stats_rows_intake(const PGresult *res)
{
	json_t *feeds = json_array();
	for (int r = 0; feeds && r < PQntuples(res); r++) {
		int64_t minute = 0, hour = 0;
		if (pgtext_int64(PQgetvalue(res, r, STATS_LIVE_INTAKE_C_LAST_MINUTE), &minute) !=
			    0 ||
		    pgtext_int64(PQgetvalue(res, r, STATS_LIVE_INTAKE_C_LAST_HOUR), &hour) != 0)
			minute = hour = 0;
		json_t *feed = live_feed_json(PQgetvalue(res, r, STATS_LIVE_INTAKE_C_FEED_CODE),
					      minute, hour);
		if (json_array_append_new(feeds, feed) != 0) {
			json_decref(feeds);
			return NULL;
		}
	}
	return feeds;
}

int stats_rows_stock(const PGresult *res, struct stats_report *rep)
{
	if (PQntuples(res) != 1 ||
	    pgtext_int64(PQgetvalue(res, 0, STATS_STOCK_C_CARRIED), &rep->carried) != 0 ||
	    pgtext_int64(PQgetvalue(res, 0, STATS_STOCK_C_OPEN_END), &rep->open_end) != 0)
		return -1;
	return 0;
}
