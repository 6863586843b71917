/*
 * test_kpi.c - unit tests of lib/kpi.c: every formula on one hand-computed fixture.
 *
 * Owns: the fixture below (a month of one department, numbers chosen so that every
 * rate comes out exact), each rate, the handling-time mean and percentiles from
 * the histogram, the timeliness verdicts (hours and working days), the
 * reconciliation and the change against a previous period; "no data" (a zero
 * denominator) never reads as 0 %.
 * Never: depends on anything but lib/. Run by `meson test --suite unit`.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "deadline.h"
#include "kpi.h"

#define HOUR 3600
#define DAY (24 * HOUR)

/*
 * The fixture, by hand:
 *   received 200 of which direct_closed 20 and linked 10; dispatched 160,
 *   returned 8; accepted 150 of which 120 within the sign-for limit, 30 late;
 *   replied 100 (80 by the deadline, 20 after it); callbacks reached 90:
 *   satisfied 60, basically 12, unsatisfied 18 (so reopened 18), unrated 4;
 *   handled (closed other than on the call) 80: 40 in [1d, 2d), 30 in [2d, 3d),
 *   10 in [5d, 7d); handled_seconds = 40*36h + 30*60h + 10*6d = 16,848,000 s.
 */
static struct kpi_totals fixture(void)
{
	struct kpi_totals t;
	memset(&t, 0, sizeof(t));
	t.v[TICKET_COUNT_RECEIVED] = 200;
	t.v[TICKET_COUNT_DIRECT_CLOSED] = 20;
	t.v[TICKET_COUNT_LINKED] = 10;
	t.v[TICKET_COUNT_DISPATCHED] = 160;
	t.v[TICKET_COUNT_RETURNED] = 8;
	t.v[TICKET_COUNT_ACCEPTED] = 150;
	t.v[KPI_COL_ACCEPTED_ON_TIME] = 120;
	t.v[KPI_COL_ACCEPTED_LATE] = 30;
	t.v[TICKET_COUNT_REPLIED] = 100;
	t.v[KPI_COL_REPLIED_ON_TIME] = 80;
	t.v[KPI_COL_REPLIED_LATE] = 20;
	t.v[TICKET_COUNT_SATISFIED] = 60;
	t.v[TICKET_COUNT_BASICALLY] = 12;
	t.v[TICKET_COUNT_UNSATISFIED] = 18;
	t.v[TICKET_COUNT_REOPENED] = 18;
	t.v[TICKET_COUNT_UNRATED] = 4;
	t.v[KPI_COL_HANDLED] = 80;
	t.v[KPI_COL_HANDLED_SECONDS] = 40LL * 36 * HOUR + 30LL * 60 * HOUR + 10LL * 6 * DAY;
	t.v[KPI_COL_HIST_FIRST + 6] = 40;  /* [1d, 2d) */
	t.v[KPI_COL_HIST_FIRST + 7] = 30;  /* [2d, 3d) */
	t.v[KPI_COL_HIST_FIRST + 10] = 10; /* [5d, 7d) */
	return t;
}

static void assert_rate(const struct kpi_totals *t, enum kpi_rate_kind kind, int64_t num,
			int64_t den)
{
	struct kpi_rate r = kpi_rate_of(t, kind);
	assert_int_equal(r.num, num);
	assert_int_equal(r.den, den);
}

static void test_rates_of_the_fixture(void **state)
{
	(void)state;
	struct kpi_totals t = fixture();
	assert_rate(&t, KPI_DIRECT_RESOLUTION, 20, 200); /* 10 % */
	assert_rate(&t, KPI_SIGN_FOR_TIMELY, 120, 150);	 /* 80 % */
	assert_rate(&t, KPI_ON_TIME, 80, 100);		 /* 80 % */
	assert_rate(&t, KPI_RETURN, 8, 160);		 /* 5 % */
	assert_rate(&t, KPI_REOPEN, 18, 100);		 /* 18 % */
	assert_rate(&t, KPI_CALLBACK, 90, 100);		 /* 90 % */
	assert_rate(&t, KPI_SATISFACTION, 72, 90);	 /* 80 %: unrated 4 left out */
	assert_rate(&t, KPI_REPEAT, 10, 200);		 /* 5 % */
	assert_true(fabs(kpi_rate_value(kpi_rate_of(&t, KPI_SATISFACTION)) - 0.8) < 1e-12);
	assert_true(fabs(kpi_returns_per_ticket(&t) - 0.04) < 1e-12);
}

static void test_names_are_defined_once(void **state)
{
	(void)state;
	assert_string_equal(kpi_rate_name_zh(KPI_DIRECT_RESOLUTION), "直接办结率");
	assert_string_equal(kpi_rate_name_zh(KPI_SIGN_FOR_TIMELY), "签收及时率");
	assert_string_equal(kpi_rate_name_zh(KPI_ON_TIME), "按时办结率");
	assert_string_equal(kpi_rate_name_zh(KPI_RETURN), "退单率");
	assert_string_equal(kpi_rate_name_zh(KPI_REOPEN), "重办率");
	assert_string_equal(kpi_rate_name_zh(KPI_CALLBACK), "回访率");
	assert_string_equal(kpi_rate_name_zh(KPI_SATISFACTION), "有效参评满意率");
	assert_string_equal(kpi_rate_name_zh(KPI_REPEAT), "重复诉求率");
	assert_string_equal(kpi_rate_name(KPI_RATE_COUNT), "INVALID");
	/* the rollup's columns: the counters first, named as ticket_counter_name() */
	for (int c = 0; c < TICKET_COUNTER_COUNT; c++)
		assert_string_equal(kpi_column_name((enum kpi_column)c),
				    ticket_counter_name((enum ticket_counter)c));
	assert_string_equal(kpi_column_name(KPI_COL_HIST_FIRST), "hist_1h");
	assert_string_equal(kpi_column_name(KPI_COL_COUNT - 1), "hist_more");
	assert_string_equal(kpi_column_name(KPI_COL_COUNT), "INVALID");
	assert_string_equal(kpi_hist_bounds_literal(),
			    "{3600,7200,14400,28800,43200,86400,172800,259200,345600,432000,"
			    "604800,864000,1296000,2592000,5184000}");
}

static void test_no_data_is_not_zero(void **state)
{
	(void)state;
	struct kpi_totals t;
	memset(&t, 0, sizeof(t));
	for (int k = 0; k < KPI_RATE_COUNT; k++)
		assert_true(isnan(kpi_rate_value(kpi_rate_of(&t, (enum kpi_rate_kind)k))));
	assert_true(isnan(kpi_handling_mean_s(&t)));
	assert_true(isnan(kpi_handling_quantile_s(&t, 0.5)));
	assert_true(isnan(kpi_returns_per_ticket(&t)));
	assert_true(isnan(kpi_change(5, 0)));
}

static void test_handling_time(void **state)
{
	(void)state;
	struct kpi_totals t = fixture();
	/* mean: 16,848,000 / 80 = 210,600 s (58.5 h) */
	assert_true(fabs(kpi_handling_mean_s(&t) - 210600.0) < 1e-6);
	/* p50: rank ceil(0.5 * 80) = 40, the 40th of 40 in [1d, 2d): 1d + 1d * 39.5/40 */
	assert_true(fabs(kpi_handling_quantile_s(&t, 0.5) - (DAY + DAY * 39.5 / 40)) < 1e-6);
	/* p90: rank 72, the 2nd of 10 in [5d, 7d): 5d + 2d * 1.5/10 */
	assert_true(fabs(kpi_handling_quantile_s(&t, 0.9) - (5.0 * DAY + 2.0 * DAY * 1.5 / 10)) <
		    1e-6);
	/* one time alone: the middle of its bucket; in the open last bucket: its floor */
	struct kpi_totals one;
	memset(&one, 0, sizeof(one));
	one.v[KPI_COL_HIST_FIRST + 0] = 1;
	assert_true(fabs(kpi_handling_quantile_s(&one, 0.5) - 1800.0) < 1e-9);
	one.v[KPI_COL_HIST_FIRST + 0] = 0;
	one.v[KPI_COL_HIST_FIRST + KPI_HIST_BUCKETS - 1] = 3;
	assert_true(fabs(kpi_handling_quantile_s(&one, 0.9) - 60.0 * DAY) < 1e-9);
	assert_true(isnan(kpi_handling_quantile_s(&t, 1.0)));
}

static void test_reconciliation_and_change(void **state)
{
	(void)state;
	/* carried 30 + received 200 = closed 190 + open 40 */
	assert_int_equal(kpi_reconcile(30, 200, 190, 40), 0);
	/* one close missing from the rollup: the open side is one too many */
	assert_int_equal(kpi_reconcile(30, 200, 189, 40), 1);
	assert_int_equal(kpi_reconcile(30, 200, 190, 43), -3);
	/* 1300 -> 4000: +206 % (rounded) */
	assert_true(fabs(kpi_change(4000, 1300) - 2.0769230769) < 1e-9);
	assert_true(fabs(kpi_change(0.8, 1.0) + 0.2) < 1e-12);

	struct kpi_totals a = fixture(), b = fixture();
	kpi_totals_add(&a, &b);
	assert_int_equal(kpi_count(&a, TICKET_COUNT_RECEIVED), 400);
	assert_rate(&a, KPI_SATISFACTION, 144, 180);
}

static void test_timeliness_verdicts(void **state)
{
	(void)state;
	/* hours on the clock: 2026-12-07T09:00+08:00 dispatched, 24 h to sign for */
	const int64_t dispatched = 1796605200000LL;
	struct deadline_limit day_of_hours = { DEADLINE_HOURS, 24 };
	assert_int_equal(kpi_sign_for_on_time(&day_of_hours, NULL, 480, dispatched,
					      dispatched + 24LL * HOUR * 1000),
			 1);
	assert_int_equal(kpi_sign_for_on_time(&day_of_hours, NULL, 480, dispatched,
					      dispatched + 24LL * HOUR * 1000 + 1),
			 0);
	assert_int_equal(kpi_sign_for_on_time(&day_of_hours, NULL, 480, 0, dispatched), -1);

	/* one working day, Friday 2026-12-11T17:00+08:00: the limit is Monday 17:00,
	 * so an accept on Monday morning is timely, Tuesday's is not (no calendar file:
	 * Monday to Friday count) */
	const struct calendar *cal = NULL;
	struct deadline_limit one_wd = { DEADLINE_WORKDAYS, 1 };
	const int64_t friday = 1796979600000LL;
	assert_int_equal(kpi_sign_for_on_time(&one_wd, cal, 480, friday,
					      friday + (2LL * DAY + 16 * HOUR) * 1000),
			 1);
	assert_int_equal(
		kpi_sign_for_on_time(&one_wd, cal, 480, friday, friday + (4LL * DAY) * 1000), 0);

	assert_int_equal(kpi_reply_on_time(1000, 1000), 1);
	assert_int_equal(kpi_reply_on_time(1000, 1001), 0);
	assert_int_equal(kpi_reply_on_time(0, 5000), 1); /* no deadline: cannot be late */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rates_of_the_fixture),
		cmocka_unit_test(test_names_are_defined_once),
		cmocka_unit_test(test_no_data_is_not_zero),
		cmocka_unit_test(test_handling_time),
		cmocka_unit_test(test_reconciliation_and_change),
		cmocka_unit_test(test_timeliness_verdicts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
