/*
 * kpi.h - the supervisors' numbers: every formula of hotline-stats, defined once.
 *
 * Owns: the rollup's columns (struct kpi_totals, in the order of 010_stats's
 * stats_daily), the timeliness verdicts the daemon records with an ACCEPT (签收及时)
 * and a REPLY (按时办结), the handling-time histogram's bounds, each rate with its
 * Chinese name (README "hotline-stats" lists the same), percentiles from the
 * histogram, the reconciliation, and the change against a previous period.
 * Never: reads the clock (instants are passed in), does I/O, or knows SQL.
 * Callers: daemon/transition.c (verdicts, bounds), daemon/store_pg.c (bounds),
 * tools/stats*.c (everything), tests/unit/test_kpi.c (a hand-computed fixture).
 */
#ifndef HOTLINE_KPI_H
#define HOTLINE_KPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "deadline.h"
#include "ticket_state.h"

/*
 * The handling-time histogram (intake to close, closes other than on the call):
 * bucket i < KPI_HIST_BOUNDS counts times below kpi_hist_bounds_s[i] and at or
 * above the bound before it; the last bucket counts KPI_HIST_LAST_BOUND and more.
 * The columns hist_1h .. hist_60d, hist_more of stats_daily, in order.
 */
#define KPI_HIST_BOUNDS 15
#define KPI_HIST_BUCKETS (KPI_HIST_BOUNDS + 1)
extern const int64_t kpi_hist_bounds_s[KPI_HIST_BOUNDS];

/* The bounds as a PostgreSQL array literal ("{3600,7200,...}"), for statements. */
const char *kpi_hist_bounds_literal(void);

/*
 * One sum of rollup rows. Columns KPI_COL_RECEIVED .. KPI_COL_CLOSED equal enum
 * ticket_counter (checked in kpi.c); the rest follow stats_daily's order.
 */
enum kpi_column {
	KPI_COL_RECEIVED = TICKET_COUNT_RECEIVED,
	KPI_COL_CLOSED = TICKET_COUNT_CLOSED,
	KPI_COL_ACCEPTED_ON_TIME = TICKET_COUNTER_COUNT,
	KPI_COL_ACCEPTED_LATE,
	KPI_COL_REPLIED_ON_TIME,
	KPI_COL_REPLIED_LATE,
	KPI_COL_DUE_SOON,
	KPI_COL_OVERDUE,
	KPI_COL_HANDLED,
	KPI_COL_HANDLED_SECONDS,
	KPI_COL_HIST_FIRST,
	KPI_COL_COUNT = KPI_COL_HIST_FIRST + KPI_HIST_BUCKETS
};

struct kpi_totals {
	int64_t v[KPI_COL_COUNT];
};

/* "received", ..., "closed", "accepted_on_time", ..., "hist_1h", ..., "hist_more":
 * stats_daily's column names; "INVALID" outside the enum. */
const char *kpi_column_name(enum kpi_column col);

/* Adds every column of b to a. */
void kpi_totals_add(struct kpi_totals *a, const struct kpi_totals *b);

/* The count a counter moved (a column of enum ticket_counter). */
int64_t kpi_count(const struct kpi_totals *t, enum ticket_counter counter);

/*
 * Timeliness verdicts, recorded with the move (ticket_events.on_time) and summed
 * into accepted_on_time / accepted_late, replied_on_time / replied_late:
 *  kpi_sign_for_on_time  签收及时: an ACCEPT at accepted_ms is on time when it is at
 *                        or before dispatched_ms + limit (hours on the clock or
 *                        working days of cal: deadline_apply()). Returns 1 on time,
 *                        0 late, -1 no verdict (never dispatched, or the limit
 *                        cannot be applied).
 *  kpi_reply_on_time     按时办结: a REPLY at replied_ms is on time when at or before
 *                        the deadline in force (deadline_ms; 0 = none: on time).
 *                        Returns 1 or 0.
 */
int kpi_sign_for_on_time(const struct deadline_limit *limit, const struct calendar *cal,
			 int utc_offset_min, int64_t dispatched_ms, int64_t accepted_ms);
int kpi_reply_on_time(int64_t deadline_ms, int64_t replied_ms);

/* A rate num / den; den 0 means "no data" (printed as "-"), never 0 %. */
struct kpi_rate {
	int64_t num, den;
};

/* The rate as a fraction (0..1), or NaN when den is 0. */
double kpi_rate_value(struct kpi_rate r);

/* The rates, one function each; the README gives the same definitions. */
enum kpi_rate_kind {
	KPI_DIRECT_RESOLUTION, /* 直接办结率 direct_closed / received */
	KPI_SIGN_FOR_TIMELY, /* 签收及时率 accepted_on_time / (accepted_on_time + accepted_late) */
	KPI_ON_TIME,	  /* 按时办结率 replied_on_time / (replied_on_time + replied_late) */
	KPI_RETURN,	  /* 退单率 returned / dispatched */
	KPI_REOPEN,	  /* 重办率 reopened / replied */
	KPI_CALLBACK,	  /* 回访率 (satisfied + basically + unsatisfied) / replied */
	KPI_SATISFACTION, /* 有效参评满意率 (satisfied + basically) /
			     (satisfied + basically + unsatisfied) */
	KPI_REPEAT,	  /* 重复诉求率 linked / received */
	KPI_RATE_COUNT
};

struct kpi_rate kpi_rate_of(const struct kpi_totals *t, enum kpi_rate_kind kind);
/* "direct_resolution", ...: the JSON and CSV names. */
const char *kpi_rate_name(enum kpi_rate_kind kind);
/* "直接办结率", ...: the Chinese names (UTF-8). */
const char *kpi_rate_name_zh(enum kpi_rate_kind kind);

/* 退单次数/件: returns per ticket received, returned / received (NaN without intake). */
double kpi_returns_per_ticket(const struct kpi_totals *t);

/* 平均办理时长: handled_seconds / handled, seconds (NaN when nothing was handled). */
double kpi_handling_mean_s(const struct kpi_totals *t);

/*
 * The q-quantile (0 < q < 1; 0.5 = p50, 0.9 = p90) of the handling time from the
 * histogram, in seconds: the bucket holding the ceil(q * handled)-th time,
 * interpolated linearly inside it (the first bucket starts at 0). Its error is at
 * most that bucket's width. In the open last bucket the answer is its lower bound
 * (60 days: "60 days or more"). NaN when nothing was handled.
 */
double kpi_handling_quantile_s(const struct kpi_totals *t, double q);

/*
 * The reconciliation of a period: carried over (open at its start) + received in
 * it = closed in it + open at its end. Returns the imbalance, (carried + received)
 * - (closed + open_end): 0 when it balances.
 */
int64_t kpi_reconcile(int64_t carried, int64_t received, int64_t closed, int64_t open_end);

/*
 * The change from prev to cur as a fraction (+2.06 = "+206%"); NaN when prev is 0
 * (no base to compare with).
 */
double kpi_change(double cur, double prev);

#endif
