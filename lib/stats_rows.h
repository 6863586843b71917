/*
 * stats_rows.h - the rows of the statistics statements read into lib's structs.
 *
 * Owns: reading the results of queries/stats_live.sql, stats_live_intake.sql,
 * stats_report.sql (and stats_report_audit.sql, whose columns are the same) and
 * stats_stock.sql into the live board (lib/stats_live.h), the intake list and a
 * report's groups and reconciliation (lib/stats_doc.h); the rollup's columns are
 * read by name (lib/kpi.h), so a statement whose columns drift fails loudly.
 * hotline-stats and hotlined run the same statements and read them here, so each
 * figure has one definition.
 * Never: connects, sends a statement or waits for one (the tool runs them blocking,
 * the daemon through its pool): it reads a PGresult its caller owns. The one file
 * of lib/ that knows libpq's result type; built apart from libhotline (stats_rows_dep).
 * Callers: tools/stats.c, tools/stats_report.c, daemon/http_stats.c.
 */
#ifndef HOTLINE_STATS_ROWS_H
#define HOTLINE_STATS_ROWS_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "kpi.h"
#include "stats_doc.h"
#include "stats_live.h"

/*
 * Reads the rollup's columns of row (named as kpi_column_name(), starting at
 * column first) into *out. Returns 0, or -1 with the reason in err when a column is
 * missing, misnamed or not a number (a statement out of step with lib/kpi.h).
 */
int stats_rows_totals(const PGresult *res, int row, int first, struct kpi_totals *out, char *err,
		      size_t errlen) __attribute__((warn_unused_result));

/*
 * The rows of stats_report.sql (key, then the rollup's columns) into *out
 * (allocated; the caller frees it with stats_groups_free). Returns 0, or -1 with
 * the reason in err (out is empty then).
 */
int stats_rows_groups(const PGresult *res, struct stats_groups *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The rows of stats_live.sql added to *board (a row that does not read as numbers
 * is skipped). Returns 0, or -1 when out of memory.
 */
int stats_rows_live(const PGresult *res, struct live_board *board)
	__attribute__((warn_unused_result));

/* The rows of stats_live_intake.sql as the "intake" array (live_feed_json); NULL when
 * out of memory. */
json_t *stats_rows_intake(const PGresult *res);

/*
 * The row of stats_stock.sql into rep->carried and rep->open_end. Returns 0, or -1
 * when it is not one row of numbers.
 */
int stats_rows_stock(const PGresult *res, struct stats_report *rep)
	__attribute__((warn_unused_result));

#endif
