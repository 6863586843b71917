/*
 * http_stats.c - the statistics, read-only, for the wallboard and reports
 * (GET /api/v1/stats/live, GET /api/v1/stats/report; docs/http-api.md "Statistics").
 *
 * Owns: checking the parameters (a report's days: at most STATS_RANGE_MAX_DAYS),
 * running the statements `hotline-stats` runs (queries/stats_live.sql,
 * stats_live_intake.sql, stats_report.sql, stats_stock.sql) one after the other
 * through the pool, and answering with the document `hotline-stats live --json` /
 * `report --json` prints: the rows are read, the board folded and the documents
 * written by lib/stats_rows.c, lib/stats_live.c and lib/stats_doc.c, shared with
 * the tool, so each figure has one definition. The live board adds 有效参评满意率
 * today and this month (lib/kpi.c) and the calendar's horizon warning
 * (daemon/horizon.c).
 * Never: writes anything, blocks, or reads any clock but the daemon's (clock.h:
 * "now" and "today" are its, so HOTLINED_CLOCK_START moves them in tests).
 * Callers: daemon/http.c, by the route table (http_routes.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "code.h"
#include "dates.h"
#include "horizon.h"
#include "http_routes.h"
#include "queries.h"
#include "stats_rows.h"

/* A report covers at most this many days (a year, leap or not): each is a range
 * scan of the rollup's primary key, and the answer grows with the dimension's values. */
#define STATS_RANGE_MAX_DAYS 366

#define DAY_TEXT 16 /* "YYYY-MM-DD" and its NUL, with room */

/* One request's progress through its statements (call->state). */
struct stats_call {
	int64_t started_us; /* clock_mono_us() at the request: "query_ms" */
	/* live */
	json_t *doc;
	char today[DAY_TEXT], month_first[DAY_TEXT];
	/* report */
	struct stats_report rep;
	char by[16], dept[CODE_MAX + 1];
	struct kpi_totals all; /* a department's report: the whole hotline's total */
};

static void stats_call_free(void *state)
{
	struct stats_call *sc = state;
	json_decref(sc->doc);
	stats_groups_free(&sc->rep.groups);
	free(sc);
}

/* The call's state, new; NULL after answering 500. */
static struct stats_call *stats_call_new(struct http_call *call)
{
	struct stats_call *sc = calloc(1, sizeof(*sc));
	if (!sc) {
		http_error(call, 500, "internal", "out of memory");
		return NULL;
	}
	sc->started_us = clock_mono_us();
	call->state = sc;
	call->free_state = stats_call_free;
	return sc;
}

/* The call's state after a statement; NULL after answering 503 (error: it failed,
 * what could not be read). */
static struct stats_call *step(struct http_call *call, const char *error, const char *what)
{
	if (!error)
		return call->state;
	http_unavailable(call, what);
	return NULL;
}

static double query_ms(const struct stats_call *sc)
{
	return (double)(clock_mono_us() - sc->started_us) / 1000.0;
}

static void format_day(int64_t days, char *buf, size_t len)
{
	int y, m, d;
	dates_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

/*
 * The sums of stats_report.sql's rows into *total. Returns 0; -1 after answering
 * (503 when the statement failed, 500 when its rows do not read).
 */
static int read_total(struct http_call *call, const PGresult *res, const char *error,
		      struct kpi_totals *total)
{
	if (error) {
		http_unavailable(call, "the statistics could not be read");
		return -1;
	}
	struct stats_groups groups = { 0 };
	char err[160];
	if (stats_rows_groups(res, &groups, err, sizeof(err)) != 0) {
		http_error(call, 500, "internal", "the rollup's rows do not read: %s", err);
		return -1;
	}
	stats_groups_sum(&groups, total);
	stats_groups_free(&groups);
	return 0;
}

/* Runs stats_report.sql for the days from..to, every department, one row. */
static void run_total(struct http_call *call, const char *from, const char *to, http_pg_fn cb)
{
	const char *values[STATS_REPORT_NPARAMS] = {
		[STATS_REPORT_P_FROM_DAY] = from,
		[STATS_REPORT_P_TO_DAY] = to,
		[STATS_REPORT_P_BY] = "",
		[STATS_REPORT_P_DEPT_CODE] = "",
	};
	http_call_pg(call, QUERY_STATS_REPORT, values, cb);
}

/* ---- GET /stats/live --------------------------------------------------------- */

/* Sets doc's member key to value (taken; NULL: out of memory); false after answering 500. */
static bool doc_set(struct http_call *call, json_t *doc, const char *key, json_t *value)
{
	if (json_object_set_new(doc, key, value) == 0)
		return true;
	http_error(call, 500, "internal", "out of memory");
	return false;
}

/* The satisfaction of the days from..to, {name_zh, num, den, value, from, to}. */
static json_t *satisfaction(const struct kpi_totals *t, const char *from, const char *to)
{
	json_t *rate = stats_doc_rate(t, KPI_SATISFACTION);
	if (rate && (json_object_set_new(rate, "from", json_string(from)) != 0 ||
		     json_object_set_new(rate, "to", json_string(to)) != 0)) {
		json_decref(rate);
		return NULL;
	}
	return rate;
}

static void on_live_period(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = call->state;
	struct kpi_totals total;
	if (read_total(call, res, error, &total) != 0)
		return;
	json_t *sat = json_object_get(sc->doc, "satisfaction");
	const char *warning = horizon_warning(call->deps->horizon);
	if (!doc_set(call, sat, "period", satisfaction(&total, sc->month_first, sc->today)) ||
	    !doc_set(call, sc->doc, "calendar", json_pack("{s:s?}", "warning", warning)) ||
	    !doc_set(call, json_object_get(sc->doc, "postgres"), "query_ms",
		     json_real(query_ms(sc))))
		return;
	http_reply(call, 200, json_incref(sc->doc));
}

static void on_live_today(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = call->state;
	struct kpi_totals total;
	if (read_total(call, res, error, &total) != 0)
		return;
	json_t *today = satisfaction(&total, sc->today, sc->today);
	if (doc_set(call, sc->doc, "satisfaction", json_pack("{s:o*}", "today", today)))
		run_total(call, sc->month_first, sc->today, on_live_period);
}

static void on_live_intake(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = step(call, error, "the intake per feed could not be read");
	if (!sc)
		return;
	if (doc_set(call, sc->doc, "intake", stats_rows_intake(res)))
		run_total(call, sc->today, sc->today, on_live_today);
}

static void on_live_board(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = step(call, error, "the open tickets could not be counted");
	if (!sc)
		return;
	struct live_board board = { 0 };
	int rc = stats_rows_live(res, &board);
	if (rc == 0)
		rc = live_board_json(&board, sc->doc);
	live_board_free(&board);
	if (rc != 0) {
		http_error(call, 500, "internal", "out of memory");
		return;
	}
	char now_s[24];
	snprintf(now_s, sizeof(now_s), "%lld",
		 (long long)json_integer_value(json_object_get(sc->doc, "now_ms")));
	const char *values[STATS_LIVE_INTAKE_NPARAMS] = { [STATS_LIVE_INTAKE_P_NOW_MS] = now_s };
	http_call_pg(call, QUERY_STATS_LIVE_INTAKE, values, on_live_intake);
}

void http_stats_live(struct http_call *call)
{
	struct stats_call *sc = stats_call_new(call);
	if (!sc)
		return;
	int64_t now = clock_now_ms();
	int64_t today = dates_local_day(now, (int)call->cfg->utc_offset_minutes, NULL);
	int y, m, d;
	dates_civil_from_days(today, &y, &m, &d);
	format_day(today, sc->today, sizeof(sc->today));
	format_day(dates_days_from_civil(y, m, 1), sc->month_first, sizeof(sc->month_first));
	sc->doc = json_pack("{s:I, s:{s:b}}", "now_ms", (json_int_t)now, "postgres", "up", 1);
	if (!sc->doc) {
		http_error(call, 500, "internal", "out of memory");
		return;
	}
	char now_s[24], soon_s[24];
	snprintf(now_s, sizeof(now_s), "%lld", (long long)now);
	snprintf(soon_s, sizeof(soon_s), "%ld", call->cfg->due_soon_ms);
	const char *values[STATS_LIVE_NPARAMS] = {
		[STATS_LIVE_P_NOW_MS] = now_s, [STATS_LIVE_P_DUE_SOON_MS] = soon_s
	};
	http_call_pg(call, QUERY_STATS_LIVE, values, on_live_board);
}

/* ---- GET /stats/report ------------------------------------------------------- */

static void on_report_stock(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = step(call, error, "the open tickets could not be counted");
	if (!sc)
		return;
	if (stats_rows_stock(res, &sc->rep) != 0) {
		http_error(call, 500, "internal", "the reconciliation's counts do not read");
		return;
	}
	/* A department's report reconciles the whole hotline's (as the tool's does). */
	stats_report_reconcile(&sc->rep, sc->dept[0] ? &sc->all : NULL);
	sc->rep.query_ms = query_ms(sc);
	json_t *doc = stats_doc_report(&sc->rep);
	if (!doc) {
		http_error(call, 500, "internal", "out of memory");
		return;
	}
	http_reply(call, 200, doc);
}

static void run_stock(struct http_call *call)
{
	struct stats_call *sc = call->state;
	const char *values[STATS_STOCK_NPARAMS] = {
		[STATS_STOCK_P_FROM_DAY] = sc->rep.from,
		[STATS_STOCK_P_TO_DAY] = sc->rep.to,
		[STATS_STOCK_P_TIMEZONE] = call->cfg->pg_timezone,
	};
	http_call_pg(call, QUERY_STATS_STOCK, values, on_report_stock);
}

/* Only for a department's report: the whole hotline's total, for the reconciliation. */
static void on_report_all(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = call->state;
	if (read_total(call, res, error, &sc->all) == 0)
		run_stock(call);
}

static void on_report_groups(struct http_call *call, const PGresult *res, const char *error)
{
	struct stats_call *sc = step(call, error, "the statistics could not be read");
	if (!sc)
		return;
	char err[160];
	if (stats_rows_groups(res, &sc->rep.groups, err, sizeof(err)) != 0) {
		http_error(call, 500, "internal", "the rollup's rows do not read: %s", err);
		return;
	}
	stats_groups_sum(&sc->rep.groups, &sc->rep.total);
	if (sc->dept[0])
		run_total(call, sc->rep.from, sc->rep.to, on_report_all);
	else
		run_stock(call);
}

/* The query parameter name as a local day (days since 1970); false after answering 400. */
static bool day_param(struct http_call *call, const char *name, int64_t *days)
{
	const char *text = http_query(call, name);
	int y, m, d;
	if (dates_parse_ymd(text, strlen(text), &y, &m, &d) != 0) {
		http_error(call, 400, "invalid", "%s must be a date, YYYY-MM-DD", name);
		return false;
	}
	*days = dates_days_from_civil(y, m, d);
	return true;
}

void http_stats_report(struct http_call *call)
{
	int64_t from, to;
	if (!day_param(call, "from", &from) || !day_param(call, "to", &to))
		return;
	if (to < from) {
		http_error(call, 400, "invalid", "to is before from");
		return;
	}
	if (to - from + 1 > STATS_RANGE_MAX_DAYS) {
		http_error(call, 400, "invalid", "a report covers at most %d days",
			   STATS_RANGE_MAX_DAYS);
		return;
	}
	const char *by = http_query(call, "by");
	if (by[0] && !stats_doc_dimension(by)) {
		http_error(call, 400, "invalid",
			   "by is feed, channel, category, dept, district, day or month");
		return;
	}
	const char *dept = http_query(call, "dept");
	if (dept[0] && !code_valid(dept)) {
		http_error(call, 400, "invalid", "dept must be a department code");
		return;
	}
	struct stats_call *sc = stats_call_new(call);
	if (!sc)
		return;
	snprintf(sc->by, sizeof(sc->by), "%s", by);
	snprintf(sc->dept, sizeof(sc->dept), "%s", dept);
	struct stats_report *rep = &sc->rep;
	format_day(from, rep->from, sizeof(rep->from));
	format_day(to, rep->to, sizeof(rep->to));
	rep->days = (int)(to - from + 1);
	rep->by = sc->by;
	rep->dept = sc->dept;
	rep->source = "rollup";
	const char *values[STATS_REPORT_NPARAMS] = {
		[STATS_REPORT_P_FROM_DAY] = rep->from,
		[STATS_REPORT_P_TO_DAY] = rep->to,
		[STATS_REPORT_P_BY] = sc->by,
		[STATS_REPORT_P_DEPT_CODE] = sc->dept,
	};
	http_call_pg(call, QUERY_STATS_REPORT, values, on_report_groups);
}
