/*
 * test_calendar_horizon.c - unit tests of calendar_horizon_at() and
 * calendar_horizon_format() (lib/calendar.c).
 *
 * Owns: the horizon at fixed instants against calendars of bare "year YYYY"
 * files (which days are holidays does not matter here): well before the end,
 * the first day of the 60-day warning (2 November, local midnight), 7 December,
 * the last day, the first uncovered day, a NULL and an empty calendar, gaps
 * before and after today, today before the first year and years past the last,
 * the UTC offset near midnight, warn_days 0 and argument errors; and the exact
 * one-line messages. Never: reads the clock or files. Run by
 * `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "dates.h"

#define CST DATES_OFFSET_CHINA_MIN
#define WARN CALENDAR_HORIZON_WARN_DAYS

/* "YYYY-MM-DD HH:MM" at offset minutes east of UTC -> unix ms. */
static int64_t at_offset(const char *text, int offset)
{
	struct dates_local t = { 0 };
	if (sscanf(text, "%d-%d-%d %d:%d", &t.year, &t.month, &t.day, &t.hour, &t.minute) != 5)
		fail_msg("bad test time '%s'", text);
	return dates_to_ms(&t, offset);
}

static int64_t cst(const char *text)
{
	return at_offset(text, CST);
}

static int64_t day_of(int year, int month, int day)
{
	return dates_days_from_civil(year, month, day);
}

/* A calendar covering the listed years (0 ends the list), each a bare year file. */
static struct calendar *years_cal(int first, ...)
{
	struct calendar *cal = calendar_new();
	assert_non_null(cal);
	va_list ap;
	va_start(ap, first);
	for (int year = first; year != 0; year = va_arg(ap, int)) {
		char text[32], name[32], err[256] = "";
		snprintf(text, sizeof(text), "year %d\n", year);
		snprintf(name, sizeof(name), "%d.cal", year);
		if (calendar_add_text(cal, text, strlen(text), name, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	va_end(ap);
	return cal;
}

/* The shipped range, 2021..2026. */
static struct calendar *shipped_years(void)
{
	return years_cal(2021, 2022, 2023, 2024, 2025, 2026, 0);
}

static struct calendar_horizon horizon(const struct calendar *cal, int64_t now_ms, int offset,
				       int warn_days)
{
	struct calendar_horizon h;
	if (calendar_horizon_at(cal, now_ms, offset, warn_days, &h) != 0)
		fail_msg("calendar_horizon_at refused its arguments");
	return h;
}

static const char *message(const struct calendar_horizon *h)
{
	static char buf[CALENDAR_HORIZON_TEXT];
	size_t n = calendar_horizon_format(h, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_well_before_the_end(void **state)
{
	struct calendar *cal = shipped_years();
	struct calendar_horizon h = horizon(cal, cst("2026-06-01 10:00"), CST, WARN);
	assert_int_equal(h.first_year, 2021);
	assert_int_equal(h.last_year, 2026);
	assert_int_equal(h.years, 6);
	assert_int_equal(h.gap_year, 0);
	assert_int_equal(h.today_year, 2026);
	assert_int_equal(h.today_days, day_of(2026, 6, 1));
	assert_int_equal(h.missing_year, 2027);
	assert_int_equal(h.last_day_days, day_of(2026, 12, 31));
	assert_int_equal(h.days_left, 213);
	assert_int_equal(h.warn_from_days, day_of(2026, 11, 2));
	assert_false(h.warn);
	assert_false(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, in 213 "
			    "days");
	calendar_free(cal);
}

static void test_warning_starts_on_2_november(void **state)
{
	struct calendar *cal = shipped_years();

	/* 1 November: 61 covered days remain with today, 60 after it */
	struct calendar_horizon h = horizon(cal, cst("2026-11-01 12:00"), CST, WARN);
	assert_int_equal(h.days_left, 60);
	assert_false(h.warn);
	h = horizon(cal, cst("2026-11-01 23:59") + 59999, CST, WARN);
	assert_int_equal(h.days_left, 60);
	assert_false(h.warn);

	/* 2 November 00:00: 60 days remain with today (2..30 Nov, 1..31 Dec) */
	h = horizon(cal, cst("2026-11-02 00:00"), CST, WARN);
	assert_int_equal(h.days_left, 59);
	assert_int_equal(h.today_days, h.warn_from_days);
	assert_true(h.warn);
	assert_false(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, in 59 "
			    "days: add 2027.cal once the State Council publishes its notice "
			    "(deadlines past 2026-12-31 count Monday-Friday only)");
	calendar_free(cal);
}

static void test_7_december(void **state)
{
	struct calendar *cal = shipped_years();
	struct calendar_horizon h = horizon(cal, cst("2026-12-07 09:30"), CST, WARN);
	assert_int_equal(h.days_left, 24);
	assert_true(h.warn);
	assert_false(h.expired);
	assert_int_equal(h.missing_year, 2027);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, in 24 "
			    "days: add 2027.cal once the State Council publishes its notice "
			    "(deadlines past 2026-12-31 count Monday-Friday only)");
	calendar_free(cal);
}

static void test_last_day_and_first_uncovered_day(void **state)
{
	struct calendar *cal = shipped_years();

	struct calendar_horizon h = horizon(cal, cst("2026-12-30 12:00"), CST, WARN);
	assert_int_equal(h.days_left, 1);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, in 1 "
			    "day: add 2027.cal once the State Council publishes its notice "
			    "(deadlines past 2026-12-31 count Monday-Friday only)");

	h = horizon(cal, cst("2026-12-31 23:59") + 59999, CST, WARN);
	assert_int_equal(h.days_left, 0);
	assert_true(h.warn);
	assert_false(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, today: "
			    "add 2027.cal once the State Council publishes its notice (deadlines "
			    "past 2026-12-31 count Monday-Friday only)");

	h = horizon(cal, cst("2027-01-01 00:00"), CST, WARN);
	assert_int_equal(h.today_year, 2027);
	assert_int_equal(h.missing_year, 2027);
	assert_int_equal(h.last_day_days, day_of(2026, 12, 31));
	assert_int_equal(h.days_left, -1);
	assert_true(h.warn);
	assert_true(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026 but not 2027, today's year: "
			    "deadlines count Monday-Friday only, without holidays or 调休, until "
			    "2027.cal is added from the State Council's notice (it ended on "
			    "2026-12-31, 1 day ago)");

	h = horizon(cal, cst("2027-03-01 08:00"), CST, WARN);
	assert_int_equal(h.days_left, -60);
	assert_true(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026 but not 2027, today's year: "
			    "deadlines count Monday-Friday only, without holidays or 调休, until "
			    "2027.cal is added from the State Council's notice (it ended on "
			    "2026-12-31, 60 days ago)");

	/* years later: the file needed for new deadlines is today's year's */
	h = horizon(cal, cst("2030-01-02 08:00"), CST, WARN);
	assert_int_equal(h.missing_year, 2030);
	assert_int_equal(h.last_day_days, day_of(2026, 12, 31));
	assert_int_equal(h.days_left, -(365 + 366 + 365 + 2));
	assert_true(h.expired);
	calendar_free(cal);
}

static void test_no_calendar(void **state)
{
	struct calendar *empty = calendar_new();
	assert_non_null(empty);
	const struct calendar *cals[] = { NULL, empty };
	for (size_t i = 0; i < 2; i++) {
		struct calendar_horizon h = horizon(cals[i], cst("2026-12-07 09:30"), CST, WARN);
		assert_int_equal(h.years, 0);
		assert_int_equal(h.first_year, 0);
		assert_int_equal(h.last_year, 0);
		assert_int_equal(h.gap_year, 0);
		assert_int_equal(h.missing_year, 2026);
		assert_int_equal(h.last_day_days, day_of(2025, 12, 31));
		assert_int_equal(h.days_left,
				 -(31 + 28 + 31 + 30 + 31 + 30 + 31 + 31 + 30 + 31 + 30 + 7));
		assert_true(h.warn);
		assert_true(h.expired);
		assert_string_equal(
			message(&h),
			"working-day calendar has no files: deadlines count "
			"Monday-Friday only, without holidays or 调休, until 2026.cal is "
			"added from the State Council's notice");
	}
	calendar_free(empty);
}

static void test_gap_before_today(void **state)
{
	struct calendar *cal = years_cal(2021, 2022, 2024, 2025, 2026, 0);
	struct calendar_horizon h = horizon(cal, cst("2026-06-01 10:00"), CST, WARN);
	assert_int_equal(h.years, 5);
	assert_int_equal(h.gap_year, 2023);
	assert_int_equal(h.missing_year, 2027);
	assert_int_equal(h.last_day_days, day_of(2026, 12, 31));
	assert_false(h.warn);
	assert_false(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026 (no file for 2023); it ends on "
			    "2026-12-31, in 213 days");

	/* inside the gap: today's year has no file, whatever comes after */
	h = horizon(cal, cst("2023-06-01 10:00"), CST, WARN);
	assert_int_equal(h.missing_year, 2023);
	assert_int_equal(h.last_day_days, day_of(2022, 12, 31));
	assert_int_equal(h.days_left, -(31 + 28 + 31 + 30 + 31 + 1));
	assert_true(h.expired);
	assert_string_equal(
		message(&h),
		"working-day calendar covers 2021..2026 (no file for 2023) but not 2023, "
		"today's year: deadlines count Monday-Friday only, without holidays or "
		"调休, until 2023.cal is added from the State Council's notice (it ended "
		"on 2022-12-31, 152 days ago)");

	/* before the gap: the horizon is the end of the year before it */
	h = horizon(cal, cst("2022-12-07 10:00"), CST, WARN);
	assert_int_equal(h.missing_year, 2023);
	assert_int_equal(h.last_day_days, day_of(2022, 12, 31));
	assert_int_equal(h.days_left, 24);
	assert_true(h.warn);
	assert_false(h.expired);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026 (no file for 2023); it ends on "
			    "2022-12-31, in 24 days: add 2023.cal once the State Council publishes "
			    "its notice (deadlines past 2022-12-31 count Monday-Friday only)");
	calendar_free(cal);
}

static void test_several_gaps_and_one_year(void **state)
{
	struct calendar *cal = years_cal(2021, 2023, 2026, 0);
	struct calendar_horizon h = horizon(cal, cst("2026-06-01 10:00"), CST, WARN);
	assert_int_equal(h.gap_year, 2022);
	assert_string_equal(message(&h), "working-day calendar covers 2021..2026 (no file for 2022 "
					 "and 2 other years); it ends on 2026-12-31, in 213 days");
	calendar_free(cal);

	cal = years_cal(2021, 2023, 0);
	h = horizon(cal, cst("2021-06-01 10:00"), CST, WARN);
	assert_int_equal(h.gap_year, 2022);
	assert_int_equal(h.missing_year, 2022);
	assert_string_equal(message(&h), "working-day calendar covers 2021..2023 (no file for "
					 "2022); it ends on 2021-12-31, in 213 days");
	calendar_free(cal);

	cal = years_cal(2026, 0);
	h = horizon(cal, cst("2026-06-01 10:00"), CST, WARN);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2026; it ends on 2026-12-31, in 213 days");
	calendar_free(cal);
}

static void test_today_before_the_first_year(void **state)
{
	struct calendar *cal = shipped_years();
	struct calendar_horizon h = horizon(cal, cst("2020-06-01 10:00"), CST, WARN);
	assert_int_equal(h.missing_year, 2020);
	assert_int_equal(h.last_day_days, day_of(2019, 12, 31));
	assert_true(h.days_left < 0);
	assert_true(h.expired);
	/* nothing covered lies before today: no "it ended on" */
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026 but not 2020, today's year: "
			    "deadlines count Monday-Friday only, without holidays or 调休, until "
			    "2020.cal is added from the State Council's notice");
	calendar_free(cal);
}

static void test_utc_offset_near_midnight(void **state)
{
	struct calendar *cal = shipped_years();
	int64_t now = at_offset("2026-12-31 23:30", 0); /* UTC */

	/* 07:30 on 1 January 2027 in China */
	struct calendar_horizon h = horizon(cal, now, CST, WARN);
	assert_int_equal(h.today_days, day_of(2027, 1, 1));
	assert_true(h.expired);
	/* still 31 December in London and New York */
	h = horizon(cal, now, 0, WARN);
	assert_int_equal(h.days_left, 0);
	assert_false(h.expired);
	h = horizon(cal, now, -300, WARN);
	assert_int_equal(h.days_left, 0);
	assert_false(h.expired);

	/* 16:00 UTC on 1 November is 00:00 on 2 November in China */
	now = at_offset("2026-11-01 16:00", 0);
	assert_true(horizon(cal, now, CST, WARN).warn);
	assert_false(horizon(cal, now, 0, WARN).warn);
	assert_false(horizon(cal, now - 1, CST, WARN).warn);
	calendar_free(cal);
}

static void test_warn_days(void **state)
{
	struct calendar *cal = shipped_years();

	/* 0: only once expired */
	struct calendar_horizon h = horizon(cal, cst("2026-12-31 12:00"), CST, 0);
	assert_int_equal(h.warn_from_days, day_of(2027, 1, 1));
	assert_false(h.warn);
	assert_string_equal(message(&h),
			    "working-day calendar covers 2021..2026; it ends on 2026-12-31, today");
	assert_true(horizon(cal, cst("2027-01-01 00:00"), CST, 0).warn);

	/* 365: all of the last year */
	assert_false(horizon(cal, cst("2025-12-31 12:00"), CST, 365).warn);
	h = horizon(cal, cst("2026-01-01 00:00"), CST, 365);
	assert_int_equal(h.warn_from_days, day_of(2026, 1, 1));
	assert_true(h.warn);

	/* more than a year: the warning starts in the year before the last */
	h = horizon(cal, cst("2025-12-31 12:00"), CST, 400);
	assert_int_equal(h.warn_from_days, day_of(2025, 11, 27));
	assert_true(h.warn);
	calendar_free(cal);
}

static void test_bad_arguments(void **state)
{
	struct calendar *cal = shipped_years();
	struct calendar_horizon h;
	memset(&h, 0x55, sizeof(h));
	assert_int_equal(calendar_horizon_at(cal, -1, CST, WARN, &h), -1);
	assert_int_equal(h.years, 0);
	assert_false(h.warn);
	assert_int_equal(calendar_horizon_at(cal, DATES_MAX_MS + 1, CST, WARN, &h), -1);
	assert_int_equal(calendar_horizon_at(cal, 0, DATES_OFFSET_MAX_MIN + 1, WARN, &h), -1);
	assert_int_equal(calendar_horizon_at(cal, 0, CST, -1, &h), -1);

	/* the edges of the range are fine */
	assert_int_equal(calendar_horizon_at(cal, 0, -DATES_OFFSET_MAX_MIN, WARN, &h), 0);
	assert_int_equal(h.today_year, 1969);
	assert_true(h.expired);
	assert_int_equal(calendar_horizon_at(cal, DATES_MAX_MS, DATES_OFFSET_MAX_MIN, WARN, &h), 0);
	assert_int_equal(h.today_year, 10000);
	assert_true(h.expired);
	calendar_free(cal);
}

static void test_format_buffer(void **state)
{
	/* the longest line: gaps, expired, an old end; it fits CALENDAR_HORIZON_TEXT */
	struct calendar *cal = years_cal(1970, 1972, 9998, 0);
	struct calendar_horizon h = horizon(cal, DATES_MAX_MS, DATES_OFFSET_MAX_MIN, INT32_MAX);
	char buf[CALENDAR_HORIZON_TEXT];
	size_t n = calendar_horizon_format(&h, buf, sizeof(buf));
	assert_true(n > 0 && n < 300);
	assert_string_equal(buf, "working-day calendar covers 1970..9998 (no file for 1971 and "
				 "8025 other years) but not 10000, today's year: deadlines count "
				 "Monday-Friday only, without holidays or 调休, until 10000.cal is "
				 "added from the State Council's notice (it ended on 9998-12-31, "
				 "366 days ago)");

	/* too small: nothing, an empty string */
	char small[CALENDAR_HORIZON_TEXT - 1];
	memset(small, 'x', sizeof(small));
	assert_int_equal(calendar_horizon_format(&h, small, sizeof(small)), 0);
	assert_string_equal(small, "");
	assert_int_equal(calendar_horizon_format(&h, NULL, 0), 0);
	calendar_free(cal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_before_the_end),
		cmocka_unit_test(test_warning_starts_on_2_november),
		cmocka_unit_test(test_7_december),
		cmocka_unit_test(test_last_day_and_first_uncovered_day),
		cmocka_unit_test(test_no_calendar),
		cmocka_unit_test(test_gap_before_today),
		cmocka_unit_test(test_several_gaps_and_one_year),
		cmocka_unit_test(test_today_before_the_first_year),
		cmocka_unit_test(test_utc_offset_near_midnight),
		cmocka_unit_test(test_warn_days),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_format_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
