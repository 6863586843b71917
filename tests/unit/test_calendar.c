/*
 * test_calendar.c - unit tests of lib/dates.c and lib/calendar.c.
 *
 * Owns: the date arithmetic (day counts, weekdays, fixed-offset local time,
 * RFC 3339 output, YYYY-MM-DD parsing), every calendar file error with its exact
 * "file:line: reason", which days work, and working-day deadlines worked out by
 * hand against the 2021 notice (国办发明电〔2020〕27号): ordinary weekends,
 * Spring Festival, National Day with its make-up Sunday and Saturday, a start on
 * a holiday, the year boundary with and without 2022, 13 working days, and the
 * UTC offset. Also that every shipped deploy/calendar/YYYY.cal parses and has the
 * holiday and make-up counts of its notice. Needs HOTLINE_SOURCE_ROOT (set by
 * tests/unit/meson.build). Never: depends on anything but dates.c and
 * calendar.c. Run by `meson test --suite unit`.
 */
#include <dirent.h>
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

/* ---- helpers ---- */

/* "YYYY-MM-DD HH:MM" at offset -> unix ms. */
static int64_t at_offset(const char *text, int offset)
{
	struct dates_local t = { 0 };
	if (sscanf(text, "%d-%d-%d %d:%d", &t.year, &t.month, &t.day, &t.hour, &t.minute) != 5)
		fail_msg("bad test time '%s'", text);
	return dates_to_ms(&t, offset);
}

/* "YYYY-MM-DD HH:MM" in China (+08:00) -> unix ms. */
static int64_t cst(const char *text)
{
	return at_offset(text, CST);
}

/* ms -> "YYYY-MM-DDTHH:MM:SS+08:00"; rotating buffers so two may be compared. */
static const char *show(int64_t ms)
{
	static char bufs[4][DATES_ISO_LEN];
	static int next;
	char *buf = bufs[next++ % 4];
	if (ms < 0)
		snprintf(buf, DATES_ISO_LEN, "%lld", (long long)ms);
	else if (dates_format_iso(ms, CST, buf, DATES_ISO_LEN) == 0)
		fail_msg("cannot format %lld", (long long)ms);
	return buf;
}

static void add_ok(struct calendar *cal, const char *text, const char *name)
{
	char err[512] = "";
	if (calendar_add_text(cal, text, strlen(text), name, err, sizeof(err)) != 0)
		fail_msg("unexpected calendar error: %s", err);
}

static void expect_error_len(const char *text, size_t len, const char *want)
{
	struct calendar *cal = calendar_new();
	char err[512] = "";
	assert_non_null(cal);
	assert_int_equal(calendar_add_text(cal, text, len, "t.cal", err, sizeof(err)), -1);
	assert_string_equal(err, want);
	/* refused whole: nothing of it was kept */
	assert_int_equal(calendar_year_count(cal), 0);
	assert_false(calendar_covers(cal, 2021));
	calendar_free(cal);
}

static void expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

static char *read_source_file(const char *relative, size_t *len)
{
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, relative);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return text;
}

static void add_shipped(struct calendar *cal, int year)
{
	char relative[64], err[512] = "";
	size_t len = 0;
	snprintf(relative, sizeof(relative), "deploy/calendar/%d.cal", year);
	char *text = read_source_file(relative, &len);
	if (calendar_add_text(cal, text, len, relative, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	free(text);
}

/* A calendar holding the shipped 2021.cal only. */
static struct calendar *cal_2021(void)
{
	struct calendar *cal = calendar_new();
	assert_non_null(cal);
	add_shipped(cal, 2021);
	return cal;
}

/* The deadline as text, and whether it ran past the known years. */
static const char *wd(const struct calendar *cal, const char *start, int n, bool *past)
{
	return show(calendar_add_workdays(cal, cst(start), CST, n, past));
}

/* ---- dates ---- */

static void test_day_counts(void **state)
{
	assert_int_equal(dates_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(dates_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(dates_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(dates_days_from_civil(2021, 2, 10), 18668);
	assert_int_equal(dates_days_from_civil(9999, 12, 31), 2932896);
	assert_int_equal(dates_days_from_civil(1, 1, 1), -719162);

	int y, m, d;
	dates_civil_from_days(18668, &y, &m, &d);
	assert_int_equal(y, 2021);
	assert_int_equal(m, 2);
	assert_int_equal(d, 10);
	dates_civil_from_days(-1, &y, &m, &d);
	assert_int_equal(y, 1969);
	assert_int_equal(m, 12);
	assert_int_equal(d, 31);
	/* every day 1900-2200 goes there and back */
	for (int64_t day = dates_days_from_civil(1900, 1, 1);
	     day <= dates_days_from_civil(2200, 12, 31); day++) {
		dates_civil_from_days(day, &y, &m, &d);
		assert_true(dates_valid(y, m, d));
		assert_int_equal(dates_days_from_civil(y, m, d), day);
	}
}

static void test_weekdays(void **state)
{
	assert_int_equal(dates_weekday(0), 4); /* 1970-01-01 Thursday */
	assert_int_equal(dates_weekday(-1), 3);
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 2, 10)), 3); /* Wednesday */
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 2, 7)), 7);	/* Sunday */
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 2, 20)), 6); /* Saturday */
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 10, 9)), 6);
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 9, 26)), 7);
	assert_int_equal(dates_weekday(dates_days_from_civil(2021, 3, 8)), 1); /* Monday */
	assert_string_equal(dates_weekday_name(1), "Monday");
	assert_string_equal(dates_weekday_name(7), "Sunday");
	assert_string_equal(dates_weekday_name(0), "?");
}

static void test_leap_years_and_validity(void **state)
{
	assert_true(dates_is_leap(2000));
	assert_false(dates_is_leap(1900));
	assert_true(dates_is_leap(2024));
	assert_false(dates_is_leap(2021));
	assert_true(dates_valid(2024, 2, 29));
	assert_false(dates_valid(2021, 2, 29));
	assert_false(dates_valid(1900, 2, 29));
	assert_true(dates_valid(2000, 2, 29));
	assert_false(dates_valid(2021, 4, 31));
	assert_false(dates_valid(2021, 13, 1));
	assert_false(dates_valid(2021, 0, 1));
	assert_false(dates_valid(2021, 1, 0));
	assert_int_equal(dates_days_in_month(2021, 2), 28);
	assert_int_equal(dates_days_in_month(2024, 2), 29);
	assert_int_equal(dates_days_in_month(2021, 12), 31);
	assert_int_equal(dates_days_in_month(2021, 13), 0);
}

static void test_local_time(void **state)
{
	struct dates_local t;

	/* 2021-02-10 10:00 in China is 02:00 UTC */
	assert_int_equal(cst("2021-02-10 10:00"), INT64_C(1612922400000));
	assert_int_equal(at_offset("2021-02-10 02:00", 0), INT64_C(1612922400000));
	/* 2021-02-10 20:00 UTC is already 2021-02-11 04:00 in China */
	dates_from_ms(INT64_C(1612987200000), CST, &t);
	assert_int_equal(t.year, 2021);
	assert_int_equal(t.month, 2);
	assert_int_equal(t.day, 11);
	assert_int_equal(t.hour, 4);
	assert_int_equal(t.minute, 0);
	dates_from_ms(INT64_C(1612987200000), 0, &t);
	assert_int_equal(t.day, 10);
	assert_int_equal(t.hour, 20);

	/* before 1970: floor, not truncation */
	dates_from_ms(-1, 0, &t);
	assert_int_equal(t.year, 1969);
	assert_int_equal(t.month, 12);
	assert_int_equal(t.day, 31);
	assert_int_equal(t.hour, 23);
	assert_int_equal(t.minute, 59);
	assert_int_equal(t.second, 59);
	assert_int_equal(t.millisecond, 999);

	int64_t of_day = -1;
	assert_int_equal(dates_local_day(INT64_C(1612987200000), CST, &of_day), 18669);
	assert_int_equal(of_day, 4 * DATES_MS_PER_HOUR);
	assert_int_equal(dates_local_day(INT64_C(1612987200000), 0, &of_day), 18668);
	assert_int_equal(of_day, 20 * DATES_MS_PER_HOUR);
	assert_int_equal(dates_local_day(DATES_MAX_MS, 0, &of_day), 2932896);
	assert_int_equal(of_day, DATES_MS_PER_DAY - 1);

	/* round trip at several offsets, every 7 hours 13 minutes for ~2 years */
	int offsets[] = { 0, CST, -300, 330, 345, -DATES_OFFSET_MAX_MIN, DATES_OFFSET_MAX_MIN };
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		for (int64_t ms = INT64_C(1577836800000); ms < INT64_C(1640995200000);
		     ms += 7 * DATES_MS_PER_HOUR + 13 * DATES_MS_PER_MINUTE + 17) {
			dates_from_ms(ms, offsets[i], &t);
			assert_int_equal(dates_to_ms(&t, offsets[i]), ms);
		}
	}
	assert_true(dates_offset_valid(CST));
	assert_true(dates_offset_valid(-1080));
	assert_false(dates_offset_valid(1081));
}

static void test_format_iso(void **state)
{
	char buf[DATES_ISO_LEN];

	assert_int_equal(dates_format_iso(INT64_C(1612922400000), CST, buf, sizeof(buf)), 25);
	assert_string_equal(buf, "2021-02-10T10:00:00+08:00");
	assert_int_equal(dates_format_iso(INT64_C(1612922400123), CST, buf, sizeof(buf)), 29);
	assert_string_equal(buf, "2021-02-10T10:00:00.123+08:00");
	dates_format_iso(INT64_C(1612922400000), 0, buf, sizeof(buf));
	assert_string_equal(buf, "2021-02-10T02:00:00+00:00");
	dates_format_iso(INT64_C(1612922400000), -330, buf, sizeof(buf));
	assert_string_equal(buf, "2021-02-09T20:30:00-05:30");
	dates_format_iso(0, 0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00+00:00");
	dates_format_iso(DATES_MAX_MS, 0, buf, sizeof(buf));
	assert_string_equal(buf, "9999-12-31T23:59:59.999+00:00");
	/* refused: too small a buffer, a year past 9999, a bad offset */
	assert_int_equal(dates_format_iso(0, 0, buf, DATES_ISO_LEN - 1), 0);
	assert_string_equal(buf, "");
	assert_int_equal(dates_format_iso(DATES_MAX_MS, CST, buf, sizeof(buf)), 0);
	assert_int_equal(dates_format_iso(0, 2000, buf, sizeof(buf)), 0);
}

static void test_parse_ymd(void **state)
{
	int y = 0, m = 0, d = 0;

	assert_int_equal(dates_parse_ymd("2021-02-10", 10, &y, &m, &d), 0);
	assert_int_equal(y, 2021);
	assert_int_equal(m, 2);
	assert_int_equal(d, 10);
	assert_int_equal(dates_parse_ymd("2021-02-29", 10, &y, &m, &d), -2);
	assert_int_equal(d, 29);
	assert_int_equal(dates_parse_ymd("2021-13-01", 10, &y, &m, &d), -2);
	assert_int_equal(dates_parse_ymd("2021-00-01", 10, &y, &m, &d), -2);
	assert_int_equal(dates_parse_ymd("2021-2-10", 9, &y, &m, &d), -1);
	assert_int_equal(dates_parse_ymd("2021/02/10", 10, &y, &m, &d), -1);
	assert_int_equal(dates_parse_ymd("2021-02-1x", 10, &y, &m, &d), -1);
	assert_int_equal(dates_parse_ymd("+021-02-10", 10, &y, &m, &d), -1);
	assert_int_equal(dates_parse_ymd("2021-02-100", 11, &y, &m, &d), -1);
	assert_int_equal(dates_parse_ymd("2021-02-10", 9, &y, &m, &d), -1); /* length counts */
	assert_int_equal(dates_parse_ymd(NULL, 10, &y, &m, &d), -1);
}

static int64_t iso(const char *s)
{
	int64_t ms = -1;
	if (dates_parse_iso(s, strlen(s), &ms) != 0)
		return -1;
	return ms;
}

static void test_parse_iso(void **state)
{
	assert_int_equal(iso("2021-02-10T10:00:00+08:00"), INT64_C(1612922400000));
	assert_int_equal(iso("2021-02-10T02:00:00Z"), INT64_C(1612922400000));
	assert_int_equal(iso("2021-02-10T10:00:00.123+08:00"), INT64_C(1612922400123));
	assert_int_equal(iso("2021-02-09T20:30:00-05:30"), INT64_C(1612922400000));
	assert_int_equal(iso("1970-01-01T00:00:00Z"), 0);
	/* round trip with dates_format_iso */
	char buf[DATES_ISO_LEN];
	dates_format_iso(INT64_C(1796000000123), CST, buf, sizeof(buf));
	assert_int_equal(iso(buf), INT64_C(1796000000123));
	/* refused: no offset, a bad date or time, a leap second, a bad offset, junk after */
	assert_int_equal(iso("2021-02-10T10:00:00"), -1);
	assert_int_equal(iso("2021-02-29T10:00:00Z"), -1);
	assert_int_equal(iso("2021-02-10T24:00:00Z"), -1);
	assert_int_equal(iso("2021-02-10T23:59:60Z"), -1);
	assert_int_equal(iso("2021-02-10T10:60:00Z"), -1);
	assert_int_equal(iso("2021-02-10 10:00:00Z"), -1);
	assert_int_equal(iso("2021-02-10T10:00:00+19:00"), -1);
	assert_int_equal(iso("2021-02-10T10:00:00+08:60"), -1);
	assert_int_equal(iso("2021-02-10T10:00:00+0800"), -1);
	assert_int_equal(iso("2021-02-10T10:00:00.12Z"), -1);
	assert_int_equal(iso("2021-02-10T10:00:00Zjunk"), -1);
	assert_int_equal(iso(""), -1);
	int64_t ms;
	assert_int_equal(dates_parse_iso(NULL, 20, &ms), -1);
	/* the length counts: a prefix of a valid instant is not one */
	assert_int_equal(dates_parse_iso("2021-02-10T02:00:00Z", 19, &ms), -1);
}

/* ---- the file format ---- */

static void test_parse_minimal_and_kinds(void **state)
{
	struct calendar *cal = calendar_new();
	assert_non_null(cal);
	assert_int_equal(calendar_first_year(cal), 0);
	assert_int_equal(calendar_last_year(cal), 0);
	assert_false(calendar_covers(cal, 2021));

	add_ok(cal,
	       "\xEF\xBB\xBF# a comment\r\n"
	       "\r\n"
	       "  year 2021  \r\n"
	       "holiday 2021-02-11 2021-02-17 春节\r\n"
	       "\t# indented comment\n"
	       "workday\t2021-02-07\t春节调休\n"
	       "holiday\xE3\x80\x80"
	       "2021-04-05\xE3\x80\x80清明节\xE3\x80\x80\n"
	       "holiday 2021-06-14 端午节 (a name may have spaces)",
	       "t.cal");
	assert_true(calendar_covers(cal, 2021));
	assert_false(calendar_covers(cal, 2022));
	assert_int_equal(calendar_first_year(cal), 2021);
	assert_int_equal(calendar_last_year(cal), 2021);
	assert_int_equal(calendar_year_count(cal), 1);
	assert_string_equal(calendar_year_source(cal, 2021), "t.cal");
	assert_null(calendar_year_source(cal, 2022));

	assert_int_equal(calendar_day_kind(cal, 2021, 2, 10), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 11), CALENDAR_HOLIDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 13), CALENDAR_HOLIDAY); /* a Saturday */
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 17), CALENDAR_HOLIDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 18), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 7), CALENDAR_MAKEUP_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 6), CALENDAR_WEEKEND);
	assert_int_equal(calendar_day_kind(cal, 2021, 4, 5), CALENDAR_HOLIDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 6, 14), CALENDAR_HOLIDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 30), CALENDAR_WEEKEND); /* invalid */
	assert_true(calendar_is_workday(cal, 2021, 2, 7));
	assert_false(calendar_is_workday(cal, 2021, 2, 11));
	assert_true(calendar_is_workday_days(cal, dates_days_from_civil(2021, 2, 7)));
	assert_false(calendar_is_workday_days(cal, dates_days_from_civil(2021, 2, 6)));
	/* not covered: plain weekdays and weekends */
	assert_int_equal(calendar_day_kind(cal, 2022, 1, 3), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2022, 1, 1), CALENDAR_WEEKEND);
	assert_int_equal(calendar_day_kind(NULL, 2021, 2, 11), CALENDAR_WORKDAY);
	assert_string_equal(calendar_day_kind_name(CALENDAR_MAKEUP_WORKDAY), "makeup-workday");
	assert_string_equal(calendar_day_kind_name((enum calendar_day_kind)9), "INVALID");
	calendar_free(cal);
}

static void test_several_files(void **state)
{
	struct calendar *cal = calendar_new();
	char err[512] = "";
	assert_non_null(cal);

	add_ok(cal, "year 2023\n", "2023.cal");
	add_ok(cal, "year 2021\nholiday 2021-01-01 元旦\n", "2021.cal");
	add_ok(cal, "year 2025\n", "2025.cal");
	assert_int_equal(calendar_year_count(cal), 3);
	assert_int_equal(calendar_first_year(cal), 2021);
	assert_int_equal(calendar_last_year(cal), 2025);
	assert_true(calendar_covers(cal, 2023));
	assert_false(calendar_covers(cal, 2022)); /* a gap */
	assert_false(calendar_covers(cal, 2024));
	assert_string_equal(calendar_year_source(cal, 2025), "2025.cal");

	/* a year is loaded once; the failure leaves the calendar as it was */
	const char *again = "year 2021\nholiday 2021-10-01 国庆节\n";
	assert_int_equal(calendar_add_text(cal, again, strlen(again), "copy.cal", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "copy.cal:1: year 2021 is already loaded from 2021.cal");
	assert_int_equal(calendar_year_count(cal), 3);
	assert_true(calendar_is_workday(cal, 2021, 10, 1));
	assert_false(calendar_is_workday(cal, 2021, 1, 1));

	/* NULL filename and NULL calendar */
	const char *bad = "holiday";
	assert_int_equal(calendar_add_text(cal, bad, strlen(bad), NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "calendar:1: holiday before the year line (start the file "
				 "with: year YYYY)");
	assert_int_equal(calendar_add_text(NULL, "year 2021", 9, "x", err, sizeof(err)), -1);
	assert_string_equal(err, "x: no calendar");
	calendar_free(cal);
	calendar_free(NULL);
}

static void test_year_limit(void **state)
{
	struct calendar *cal = calendar_new();
	char text[32], err[512] = "";
	assert_non_null(cal);
	for (int i = 0; i < CALENDAR_MAX_YEARS; i++) {
		snprintf(text, sizeof(text), "year %d\n", 2000 + i);
		add_ok(cal, text, "y.cal");
	}
	assert_int_equal(calendar_first_year(cal), 2000);
	assert_int_equal(calendar_last_year(cal), 2199);
	snprintf(text, sizeof(text), "year %d\n", 1999);
	assert_int_equal(calendar_add_text(cal, text, strlen(text), "y.cal", err, sizeof(err)), -1);
	assert_string_equal(err, "y.cal: more than 200 years");
	calendar_free(cal);
}

static void test_errors_name_line_and_reason(void **state)
{
	/* year line */
	expect_error("", "t.cal: no year line (start the file with: year YYYY)");
	expect_error("# only a comment\n\n",
		     "t.cal: no year line (start the file with: year YYYY)");
	expect_error("# 2021\nholiday 2021-01-01 元旦\n",
		     "t.cal:2: holiday before the year line (start the file with: year YYYY)");
	expect_error("\n\nworkday 2021-02-07 春节调休\nyear 2021\n",
		     "t.cal:3: workday before the year line (start the file with: year YYYY)");
	expect_error("year 21\n", "t.cal:1: bad year '21' (write: year YYYY)");
	expect_error("year\n", "t.cal:1: bad year '' (write: year YYYY)");
	expect_error("year 2021 2022\n", "t.cal:1: bad year '2021 2022' (write: year YYYY)");
	expect_error("year 20x1\n", "t.cal:1: bad year '20x1' (write: year YYYY)");
	expect_error("year 1969\n", "t.cal:1: year 1969 is outside 1970-9998");
	expect_error("year 9999\n", "t.cal:1: year 9999 is outside 1970-9998");
	expect_error("year 2021\n# again\nyear 2022\n",
		     "t.cal:3: second year line (the year is 2021, from line 1)");

	/* keywords */
	expect_error("year 2021\n\nvacation 2021-01-01 元旦\n",
		     "t.cal:3: unknown keyword 'vacation' (expected year, holiday or workday)");
	expect_error("year 2021\nHoliday 2021-01-01 元旦\n",
		     "t.cal:2: unknown keyword 'Holiday' (expected year, holiday or workday)");
	expect_error("year 2021\nholidays 2021-01-01 元旦\n",
		     "t.cal:2: unknown keyword 'holidays' (expected year, holiday or workday)");

	/* dates */
	expect_error("year 2021\nholiday\n",
		     "t.cal:2: holiday needs a date (write: holiday FIRST [LAST] NAME)");
	expect_error("year 2021\nworkday\n",
		     "t.cal:2: workday needs a date (write: workday DATE NAME)");
	expect_error("year 2021\nholiday 2021/02/11 春节\n",
		     "t.cal:2: bad date '2021/02/11' (write YYYY-MM-DD, e.g. 2021-02-11)");
	expect_error("year 2021\nholiday 2021-2-11 春节\n",
		     "t.cal:2: bad date '2021-2-11' (write YYYY-MM-DD, e.g. 2021-02-11)");
	expect_error("year 2021\nholiday 春节 2021-02-11\n",
		     "t.cal:2: bad date '春节' (write YYYY-MM-DD, e.g. 2021-02-11)");
	expect_error("year 2021\nholiday 2021-02-11 2021-02-1 春节\n",
		     "t.cal:2: bad date '2021-02-1' (write YYYY-MM-DD, e.g. 2021-02-11)");
	expect_error("year 2021\n\n\nholiday 2021-02-29 x\n", "t.cal:4: no such day 2021-02-29");
	expect_error("year 2021\nholiday 2021-02-27 2021-02-30 x\n",
		     "t.cal:2: no such day 2021-02-30");
	expect_error("year 2021\nworkday 2021-04-31 x\n", "t.cal:2: no such day 2021-04-31");
	expect_error("year 2021\nholiday 2021-12-31 2022-01-02 元旦\n",
		     "t.cal:2: 2022-01-02 is outside year 2021");
	expect_error("year 2023\nholiday 2022-12-31 2023-01-02 元旦\n",
		     "t.cal:2: 2022-12-31 is outside year 2023");
	expect_error("year 2021\nworkday 2020-12-26 x\n",
		     "t.cal:2: 2020-12-26 is outside year 2021");

	/* ranges, duplicates, overlaps */
	expect_error("year 2021\nholiday 2021-02-17 2021-02-11 春节\n",
		     "t.cal:2: holiday range reversed: last day 2021-02-11 is before first day "
		     "2021-02-17");
	expect_error("year 2021\nholiday 2021-02-12 春节\n# x\nholiday 2021-02-12 春节\n",
		     "t.cal:4: 2021-02-12 is already listed at line 2");
	expect_error("year 2021\nholiday 2021-02-11 2021-02-17 春节\n"
		     "holiday 2021-02-17 2021-02-18 多一天\n",
		     "t.cal:3: 2021-02-17 is already listed at line 2");
	expect_error("year 2021\nholiday 2021-02-15 2021-02-20 x\n"
		     "holiday 2021-02-11 2021-02-17 春节\n",
		     "t.cal:3: 2021-02-15 is already listed at line 2");
	expect_error("year 2021\nholiday 2021-02-11 2021-02-17 春节\nworkday 2021-02-13 x\n",
		     "t.cal:3: 2021-02-13 is already listed at line 2");
	expect_error("year 2021\nworkday 2021-02-07 春节调休\nworkday 2021-02-07 春节调休\n",
		     "t.cal:3: 2021-02-07 is already listed at line 2");
	expect_error("year 2021\nworkday 2021-02-07 x\nholiday 2021-02-06 2021-02-08 y\n",
		     "t.cal:3: 2021-02-07 is already listed at line 2");

	/* workdays are weekend days */
	expect_error("year 2021\nworkday 2021-02-08 春节调休\n",
		     "t.cal:2: workday 2021-02-08 is a Monday, already a working day (only a "
		     "Saturday or Sunday can be a make-up workday)");
	expect_error("year 2021\nworkday 2021-10-08 x\n",
		     "t.cal:2: workday 2021-10-08 is a Friday, already a working day (only a "
		     "Saturday or Sunday can be a make-up workday)");
	expect_error("year 2021\nworkday 2021-02-07 2021-02-20 春节调休\n",
		     "t.cal:2: workday takes one date (write one workday line per make-up day)");
	expect_error("year 2021\nholiday 2021-02-11 2021-02-17 2021-02-18 春节\n",
		     "t.cal:2: holiday takes at most two dates (FIRST and LAST)");

	/* names */
	expect_error("year 2021\nholiday 2021-01-01\n",
		     "t.cal:2: holiday needs a name after its date (e.g. 春节, 春节调休)");
	expect_error("year 2021\nholiday 2021-01-01 2021-01-03   \n",
		     "t.cal:2: holiday needs a name after its date (e.g. 春节, 春节调休)");
	expect_error("year 2021\nworkday 2021-02-07\n",
		     "t.cal:2: workday needs a name after its date (e.g. 春节, 春节调休)");
	expect_error("year 2021\nholiday 2021-01-01 "
		     "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm\n",
		     "t.cal:2: holiday name is longer than 64 bytes");

	/* bytes */
	expect_error("year 2021\nholiday 2021-01-01 元\x01旦\n",
		     "t.cal:2: control character (byte 0x01) in line");
	expect_error_len("year 2021\nholiday 2021-01-01 \0\n", 30,
			 "t.cal:2: control character (byte 0x00) in line");
	expect_error("year 2021\r\nholiday 2021-01-01 \xC0\xAF\r\n", "t.cal:2: invalid UTF-8");
	expect_error("year 2021\rholiday 2021-01-01 x\n",
		     "t.cal:1: control character (byte 0x0d) in line");

	static char long_line[CALENDAR_MAX_LINE + 32];
	strcpy(long_line, "year 2021\n#");
	memset(long_line + 11, 'x', CALENDAR_MAX_LINE);
	long_line[11 + CALENDAR_MAX_LINE] = '\0';
	expect_error(long_line, "t.cal:2: line is longer than 1024 bytes");
	long_line[11 + CALENDAR_MAX_LINE - 1] = '\0'; /* exactly the limit: fine */
	struct calendar *cal = calendar_new();
	add_ok(cal, long_line, "t.cal");
	calendar_free(cal);
}

static void test_error_refuses_whole_file(void **state)
{
	struct calendar *cal = cal_2021();
	char err[512] = "";
	const char *text = "year 2022\n"
			   "holiday 2022-01-01 2022-01-03 元旦\n"
			   "holiday 2022-01-31 2022-02-06 春节\n"
			   "holiday 2022-02-06 2022-02-07 x\n";
	assert_int_equal(calendar_add_text(cal, text, strlen(text), "2022.cal", err, sizeof(err)),
			 -1);
	assert_string_equal(err, "2022.cal:4: 2022-02-06 is already listed at line 3");
	assert_false(calendar_covers(cal, 2022));
	assert_true(calendar_is_workday(cal, 2022, 1, 3)); /* the 元旦 line was not kept */
	assert_int_equal(calendar_last_year(cal), 2021);
	/* a small err buffer is cut, not overrun */
	char small[8];
	assert_int_equal(
		calendar_add_text(cal, text, strlen(text), "2022.cal", small, sizeof(small)), -1);
	assert_string_equal(small, "2022.ca");
	calendar_free(cal);
}

/* ---- the shipped files ---- */

static void count_year(const struct calendar *cal, int year, int *holidays, int *makeups,
		       int *working)
{
	*holidays = *makeups = *working = 0;
	for (int64_t day = dates_days_from_civil(year, 1, 1);
	     day <= dates_days_from_civil(year, 12, 31); day++) {
		int y, m, d;
		dates_civil_from_days(day, &y, &m, &d);
		enum calendar_day_kind kind = calendar_day_kind(cal, y, m, d);
		*holidays += kind == CALENDAR_HOLIDAY;
		*makeups += kind == CALENDAR_MAKEUP_WORKDAY;
		*working += calendar_is_workday(cal, y, m, d);
	}
}

static void test_shipped_files(void **state)
{
	/* every deploy/calendar/YYYY.cal parses and declares the year in its name */
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char dir_path[4096];
	snprintf(dir_path, sizeof(dir_path), "%s/deploy/calendar", root);
	DIR *dir = opendir(dir_path);
	assert_non_null(dir);
	struct calendar *all = calendar_new();
	assert_non_null(all);
	struct dirent *ent;
	int files = 0;
	while ((ent = readdir(dir)) != NULL) {
		size_t n = strlen(ent->d_name);
		if (n < 4 || strcmp(ent->d_name + n - 4, ".cal") != 0)
			continue;
		char relative[512], err[512] = "";
		size_t len = 0;
		snprintf(relative, sizeof(relative), "deploy/calendar/%s", ent->d_name);
		char *text = read_source_file(relative, &len);
		if (calendar_add_text(all, text, len, relative, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		free(text);
		int year = atoi(ent->d_name);
		assert_true(calendar_covers(all, year));
		assert_string_equal(calendar_year_source(all, year), relative);
		files++;
	}
	closedir(dir);
	assert_int_equal((size_t)files, calendar_year_count(all));
	assert_true(files >= 6);
	assert_int_equal(calendar_first_year(all), 2021);

	/*
	 * Per year, from each notice's own day counts ("共N天") and its list of
	 * 上班 days; working days = Monday-Friday count - holidays on Monday-Friday
	 * + make-up days, counted by hand from the notice and a wall calendar.
	 */
	static const struct {
		int year, holidays, makeups, working;
	} want[] = {
		{ 2021, 3 + 7 + 3 + 5 + 3 + 3 + 7, 7, 261 - 18 + 7 }, /* 250 */
		{ 2022, 3 + 7 + 3 + 5 + 3 + 3 + 7, 7, 260 - 18 + 7 }, /* 249 */
		{ 2023, 2 + 7 + 1 + 5 + 3 + 8, 7, 260 - 18 + 7 },     /* 249; 2022-12-31 not here */
		{ 2024, 1 + 8 + 3 + 5 + 1 + 3 + 7, 8, 262 - 19 + 8 }, /* 251 */
		{ 2025, 1 + 8 + 3 + 5 + 3 + 8, 5, 261 - 18 + 5 },     /* 248 */
		{ 2026, 3 + 9 + 3 + 5 + 3 + 3 + 7, 6, 261 - 19 + 6 }, /* 248 */
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int holidays, makeups, working;
		assert_true(calendar_covers(all, want[i].year));
		count_year(all, want[i].year, &holidays, &makeups, &working);
		if (holidays != want[i].holidays || makeups != want[i].makeups ||
		    working != want[i].working)
			fail_msg("%d: holidays %d (want %d), make-up days %d (want %d), working "
				 "days %d (want %d)",
				 want[i].year, holidays, want[i].holidays, makeups, want[i].makeups,
				 working, want[i].working);
	}
	calendar_free(all);
}

static void test_2021_days(void **state)
{
	struct calendar *cal = cal_2021();
	/* holidays of 国办发明电〔2020〕27号, first and last day of each */
	static const int holidays[][3] = {
		{ 2021, 1, 1 },	 { 2021, 1, 3 },  { 2021, 2, 11 }, { 2021, 2, 17 }, { 2021, 4, 3 },
		{ 2021, 4, 5 },	 { 2021, 5, 1 },  { 2021, 5, 5 },  { 2021, 6, 12 }, { 2021, 6, 14 },
		{ 2021, 9, 19 }, { 2021, 9, 21 }, { 2021, 10, 1 }, { 2021, 10, 7 },
	};
	for (size_t i = 0; i < sizeof(holidays) / sizeof(holidays[0]); i++)
		assert_int_equal(
			calendar_day_kind(cal, holidays[i][0], holidays[i][1], holidays[i][2]),
			CALENDAR_HOLIDAY);
	/* its 上班 days: Sun 2-7, Sat 2-20, Sun 4-25, Sat 5-8, Sat 9-18, Sun 9-26, Sat 10-9 */
	static const int makeups[][3] = {
		{ 2021, 2, 7 },	 { 2021, 2, 20 }, { 2021, 4, 25 }, { 2021, 5, 8 },
		{ 2021, 9, 18 }, { 2021, 9, 26 }, { 2021, 10, 9 },
	};
	for (size_t i = 0; i < sizeof(makeups) / sizeof(makeups[0]); i++)
		assert_int_equal(
			calendar_day_kind(cal, makeups[i][0], makeups[i][1], makeups[i][2]),
			CALENDAR_MAKEUP_WORKDAY);
	/* the days just outside the ranges work (or are plain weekends) */
	assert_int_equal(calendar_day_kind(cal, 2021, 1, 4), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 10), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 18), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 4, 2), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 5, 6), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 6, 11), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 9, 22), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 10, 8), CALENDAR_WORKDAY);
	assert_int_equal(calendar_day_kind(cal, 2021, 10, 10), CALENDAR_WEEKEND);
	assert_int_equal(calendar_day_kind(cal, 2021, 2, 21), CALENDAR_WEEKEND);
	calendar_free(cal);
}

/* ---- deadlines ---- */

static void test_add_hours(void **state)
{
	/* urgent: 2 hours on the clock across midnight, into the Spring Festival */
	assert_string_equal(show(calendar_add_hours(cst("2021-02-10 23:00"), 2)),
			    "2021-02-11T01:00:00+08:00");
	assert_string_equal(show(calendar_add_hours(cst("2021-02-13 12:00"), 24)),
			    "2021-02-14T12:00:00+08:00");
	assert_int_equal(calendar_add_hours(INT64_C(1612922400000), 2), INT64_C(1612929600000));
	assert_int_equal(calendar_add_hours(5, 0), 5);
	assert_int_equal(calendar_add_hours(-1, 1), -1);
	assert_int_equal(calendar_add_hours(0, -1), -1);
	assert_int_equal(calendar_add_hours(DATES_MAX_MS, 1), -1);
	assert_int_equal(calendar_add_hours(DATES_MAX_MS + 1, 0), -1);
	assert_int_equal(calendar_add_hours(0, INT64_MAX), -1);
	assert_int_equal(calendar_add_hours(DATES_MAX_MS - DATES_MS_PER_HOUR, 1), DATES_MAX_MS);
}

static void test_ordinary_weekends(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/* March 2021 has no holiday. Fri 03-05 10:00 + 1 -> Mon 03-08 (Sat, Sun off) */
	assert_string_equal(wd(cal, "2021-03-05 10:00", 1, &past), "2021-03-08T10:00:00+08:00");
	assert_false(past);
	/* + 3 -> Mon 8 (1), Tue 9 (2), Wed 10 (3) */
	assert_string_equal(wd(cal, "2021-03-05 10:00", 3, &past), "2021-03-10T10:00:00+08:00");
	/* Thu 03-04 15:30 + 5 -> Fri 5, Mon 8, Tue 9, Wed 10, Thu 11 */
	assert_string_equal(wd(cal, "2021-03-04 15:30", 5, &past), "2021-03-11T15:30:00+08:00");
	/* Wed 03-10 09:00 + 1 -> Thu 03-11 09:00 */
	assert_string_equal(wd(cal, "2021-03-10 09:00", 1, &past), "2021-03-11T09:00:00+08:00");
	/* n = 0 is the start itself */
	assert_string_equal(wd(cal, "2021-03-06 15:00", 0, &past), "2021-03-06T15:00:00+08:00");
	/* exact milliseconds are kept: 2021-02-10 10:00 + 0.5 s + 1 -> 02-18 */
	assert_int_equal(calendar_add_workdays(cal, INT64_C(1612922400500), CST, 1, &past),
			 cst("2021-02-18 10:00") + 500);
	calendar_free(cal);
}

static void test_spring_festival_2021(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/*
	 * Wed 02-10 10:00 + 3: Feb 11-17 off, Thu 18 (1), Fri 19 (2), Sat 20 make-up (3)
	 * -> 2021-02-20 10:00, a Saturday counted as a working day.
	 */
	assert_string_equal(wd(cal, "2021-02-10 10:00", 3, &past), "2021-02-20T10:00:00+08:00");
	assert_false(past);
	assert_int_equal(calendar_add_workdays(cal, cst("2021-02-10 10:00"), CST, 3, NULL),
			 INT64_C(1613786400000));
	/* + 1 -> Thu 18; + 2 -> Fri 19; + 4 -> Sun 21 off, Mon 22 */
	assert_string_equal(wd(cal, "2021-02-10 10:00", 1, &past), "2021-02-18T10:00:00+08:00");
	assert_string_equal(wd(cal, "2021-02-10 10:00", 2, &past), "2021-02-19T10:00:00+08:00");
	assert_string_equal(wd(cal, "2021-02-10 10:00", 4, &past), "2021-02-22T10:00:00+08:00");
	/* Fri 02-05 09:00 + 1: Sat 6 off, Sun 7 is a make-up working day */
	assert_string_equal(wd(cal, "2021-02-05 09:00", 1, &past), "2021-02-07T09:00:00+08:00");
	/* Sat 02-20 (make-up) 14:00 + 1: Sun 21 off -> Mon 22 14:00 */
	assert_string_equal(wd(cal, "2021-02-20 14:00", 1, &past), "2021-02-22T14:00:00+08:00");
	/* Fri 02-19 16:00 + 1 -> Sat 02-20 16:00 (make-up day) */
	assert_string_equal(wd(cal, "2021-02-19 16:00", 1, &past), "2021-02-20T16:00:00+08:00");
	calendar_free(cal);
}

static void test_national_day_2021(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/* Fri 09-24 10:00 + 3: Sat 25 off, Sun 26 make-up (1), Mon 27 (2), Tue 28 (3) */
	assert_string_equal(wd(cal, "2021-09-24 10:00", 3, &past), "2021-09-28T10:00:00+08:00");
	assert_false(past);
	/* Fri 09-24 10:00 + 1 -> Sun 09-26 10:00 */
	assert_string_equal(wd(cal, "2021-09-24 10:00", 1, &past), "2021-09-26T10:00:00+08:00");
	/* Thu 09-30 10:00 + 1: Oct 1-7 off -> Fri 10-08 */
	assert_string_equal(wd(cal, "2021-09-30 10:00", 1, &past), "2021-10-08T10:00:00+08:00");
	/* + 2 -> Sat 10-09, the make-up Saturday */
	assert_string_equal(wd(cal, "2021-09-30 10:00", 2, &past), "2021-10-09T10:00:00+08:00");
	/* + 3 -> Sun 10 off -> Mon 10-11 */
	assert_string_equal(wd(cal, "2021-09-30 10:00", 3, &past), "2021-10-11T10:00:00+08:00");
	/*
	 * Fri 09-17 14:00 + 5 over 中秋 and the run-up to 国庆: Sat 18 make-up (1),
	 * Sep 19-21 off, Wed 22 (2), Thu 23 (3), Fri 24 (4), Sat 25 off, Sun 26 make-up (5)
	 */
	assert_string_equal(wd(cal, "2021-09-17 14:00", 5, &past), "2021-09-26T14:00:00+08:00");
	/* Sat 09-25 (plain weekend) 11:00 + 1: clock starts Sun 26 00:00 -> end of Sun 26 */
	assert_string_equal(wd(cal, "2021-09-25 11:00", 1, &past), "2021-09-27T00:00:00+08:00");
	calendar_free(cal);
}

static void test_start_on_non_working_day(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/*
	 * Sun 10-03 15:00 is inside 国庆节: the clock starts at 00:00 of Fri 10-08,
	 * the first working day; + 1 is the end of Fri 10-08, written 10-09 00:00.
	 */
	assert_string_equal(wd(cal, "2021-10-03 15:00", 1, &past), "2021-10-09T00:00:00+08:00");
	assert_false(past);
	/* + 3: Fri 8 (1), Sat 9 make-up (2), Sun 10 off, Mon 11 (3) -> end of Mon 11 */
	assert_string_equal(wd(cal, "2021-10-03 15:00", 3, &past), "2021-10-12T00:00:00+08:00");
	/* Thu 02-11 04:00 (春节) + 3: Thu 18 (1), Fri 19 (2), Sat 20 (3) -> 02-21 00:00 */
	assert_string_equal(wd(cal, "2021-02-11 04:00", 3, &past), "2021-02-21T00:00:00+08:00");
	/* an ordinary Saturday: Sat 03-06 15:00 + 1 -> end of Mon 03-08 */
	assert_string_equal(wd(cal, "2021-03-06 15:00", 1, &past), "2021-03-09T00:00:00+08:00");
	/* Sun 03-07 23:59 + 2 -> Mon 8, Tue 9 -> 03-10 00:00 */
	assert_string_equal(wd(cal, "2021-03-07 23:59", 2, &past), "2021-03-10T00:00:00+08:00");

	/* midnight at the start of a working day: that day counts whole */
	assert_string_equal(wd(cal, "2021-03-08 00:00", 1, &past), "2021-03-09T00:00:00+08:00");
	assert_string_equal(wd(cal, "2021-03-12 00:00", 1, &past), "2021-03-13T00:00:00+08:00");
	/* Thu 09-30 00:00 + 1 is the end of Sep 30, the instant 国庆节 starts */
	assert_string_equal(wd(cal, "2021-09-30 00:00", 1, &past), "2021-10-01T00:00:00+08:00");
	/* one minute later it is the same time on Fri 10-08 */
	assert_string_equal(wd(cal, "2021-09-30 00:01", 1, &past), "2021-10-08T00:01:00+08:00");
	assert_string_equal(wd(cal, "2021-09-30 23:59", 1, &past), "2021-10-08T23:59:00+08:00");
	calendar_free(cal);
}

static void test_year_boundary(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = false;
	/*
	 * Only 2021 known. Thu 12-30 10:00 + 3: Fri 12-31 (1), Sat 1-1 and Sun 1-2
	 * skipped as a weekend, Mon 1-3 (2, really 元旦, but 2022 is not known),
	 * Tue 1-4 (3) -> 2022-01-04 10:00, and past the known years.
	 */
	assert_string_equal(wd(cal, "2021-12-30 10:00", 3, &past), "2022-01-04T10:00:00+08:00");
	assert_true(past);
	/* + 1 only looks at Fri 12-31: still known */
	assert_string_equal(wd(cal, "2021-12-30 10:00", 1, &past), "2021-12-31T10:00:00+08:00");
	assert_false(past);
	/* the end of Fri 12-31 is 2022-01-01 00:00; no 2022 day was looked at */
	assert_string_equal(wd(cal, "2021-12-31 00:00", 1, &past), "2022-01-01T00:00:00+08:00");
	assert_false(past);
	/* a start in an unknown year is past the known years at once */
	assert_string_equal(wd(cal, "2020-12-30 10:00", 1, &past), "2020-12-31T10:00:00+08:00");
	assert_true(past);

	/* With 2022 known: Fri 12-31 (1), Jan 1-3 元旦, Tue 1-4 (2), Wed 1-5 (3). */
	add_shipped(cal, 2022);
	assert_string_equal(wd(cal, "2021-12-30 10:00", 3, &past), "2022-01-05T10:00:00+08:00");
	assert_false(past);

	/* No calendar at all: plain weekdays, always past the known years. */
	assert_string_equal(wd(NULL, "2021-02-10 10:00", 3, &past), "2021-02-15T10:00:00+08:00");
	assert_true(past);
	calendar_free(cal);
}

static void test_thirteen_working_days(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/*
	 * Complaints, 13 working days. Mon 09-13 09:00: Tue 14 (1), Wed 15 (2),
	 * Thu 16 (3), Fri 17 (4), Sat 18 make-up (5), Sep 19-21 中秋, Wed 22 (6),
	 * Thu 23 (7), Fri 24 (8), Sat 25 off, Sun 26 make-up (9), Mon 27 (10),
	 * Tue 28 (11), Wed 29 (12), Thu 30 (13).
	 */
	assert_string_equal(wd(cal, "2021-09-13 09:00", 13, &past), "2021-09-30T09:00:00+08:00");
	assert_false(past);
	/*
	 * Wed 02-03 16:00: Thu 4 (1), Fri 5 (2), Sat 6 off, Sun 7 make-up (3),
	 * Mon 8 (4), Tue 9 (5), Wed 10 (6), Feb 11-17 春节, Thu 18 (7), Fri 19 (8),
	 * Sat 20 make-up (9), Sun 21 off, Mon 22 (10), Tue 23 (11), Wed 24 (12),
	 * Thu 25 (13).
	 */
	assert_string_equal(wd(cal, "2021-02-03 16:00", 13, &past), "2021-02-25T16:00:00+08:00");
	calendar_free(cal);
}

static void test_utc_offset(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	/* 2021-02-10 20:00 UTC: a Wednesday in London, Thu 02-11 04:00 (春节) in China */
	int64_t start = INT64_C(1612987200000);
	assert_int_equal(start, at_offset("2021-02-10 20:00", 0));

	/* China: holiday start -> clock from Thu 02-18 00:00 -> end of Thu 18 */
	int64_t china = calendar_add_workdays(cal, start, CST, 1, &past);
	assert_string_equal(show(china), "2021-02-19T00:00:00+08:00");
	assert_int_equal(china, INT64_C(1613664000000)); /* 2021-02-18T16:00:00Z */
	assert_false(past);
	/* at UTC the start is a working Wednesday at 20:00 -> Thu 02-18 20:00 UTC */
	int64_t utc = calendar_add_workdays(cal, start, 0, 1, &past);
	assert_int_equal(utc, INT64_C(1613678400000)); /* 2021-02-18T20:00:00Z */
	/* an hour before 16:00 UTC it is still Wed 23:00 in China */
	assert_string_equal(
		show(calendar_add_workdays(cal, cst("2021-02-10 23:00"), CST, 1, &past)),
		"2021-02-18T23:00:00+08:00");
	calendar_free(cal);
}

static void test_bad_arguments(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	int64_t start = cst("2021-02-10 10:00");

	assert_int_equal(calendar_add_workdays(cal, start, CST, -1, &past), -1);
	assert_false(past);
	assert_int_equal(calendar_add_workdays(cal, start, CST, CALENDAR_MAX_WORKDAYS + 1, &past),
			 -1);
	assert_int_equal(calendar_add_workdays(cal, -1, CST, 1, &past), -1);
	assert_int_equal(calendar_add_workdays(cal, DATES_MAX_MS + 1, CST, 1, &past), -1);
	assert_int_equal(calendar_add_workdays(cal, start, 1081, 1, &past), -1);
	assert_int_equal(calendar_add_workdays(cal, start, -1081, 1, &past), -1);
	/* the last representable days: a deadline past 9999-12-31 is refused */
	assert_int_equal(calendar_add_workdays(cal, DATES_MAX_MS - DATES_MS_PER_DAY, 0, 5, &past),
			 -1);
	assert_true(calendar_add_workdays(cal, start, CST, CALENDAR_MAX_WORKDAYS, &past) > start);
	assert_true(past); /* 1000 working days reach 2025, not covered here */
	calendar_free(cal);
}

/* Every deadline lands after its start, on a working day or at the end of one. */
static void test_properties(void **state)
{
	struct calendar *cal = calendar_new();
	assert_non_null(cal);
	for (int year = 2021; year <= 2026; year++)
		add_shipped(cal, year);

	for (int64_t start = cst("2021-01-01 00:00"); start < cst("2026-12-01 00:00");
	     start += 5 * DATES_MS_PER_HOUR + 37 * DATES_MS_PER_MINUTE) {
		for (int n = 1; n <= 15; n += 7) {
			bool past = true;
			int64_t deadline = calendar_add_workdays(cal, start, CST, n, &past);
			assert_false(past);
			assert_true(deadline > start);
			int64_t of_day = 0, start_of_day = 0;
			int64_t day = dates_local_day(deadline, CST, &of_day);
			int64_t start_day = dates_local_day(start, CST, &start_of_day);
			if (of_day == 0) {
				/* the end of a working day */
				assert_true(calendar_is_workday_days(cal, day - 1));
			} else {
				/* a working day, at the start's time of day */
				assert_true(calendar_is_workday_days(cal, day));
				assert_int_equal(of_day, start_of_day);
				assert_true(calendar_is_workday_days(cal, start_day));
			}
			/* exactly n working days strictly between the start day and the
			 * deadline day, or n - 1 + the start day itself */
			int between = 0;
			for (int64_t d = start_day + 1; d < day; d++)
				between += calendar_is_workday_days(cal, d);
			if (of_day != 0)
				assert_int_equal(between, n - 1);
			else if (calendar_is_workday_days(cal, start_day) && start_of_day == 0)
				assert_int_equal(between + 1, n);
			else
				assert_int_equal(between, n);
		}
	}
	calendar_free(cal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_counts),
		cmocka_unit_test(test_weekdays),
		cmocka_unit_test(test_leap_years_and_validity),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_format_iso),
		cmocka_unit_test(test_parse_iso),
		cmocka_unit_test(test_parse_ymd),
		cmocka_unit_test(test_parse_minimal_and_kinds),
		cmocka_unit_test(test_several_files),
		cmocka_unit_test(test_year_limit),
		cmocka_unit_test(test_errors_name_line_and_reason),
		cmocka_unit_test(test_error_refuses_whole_file),
		cmocka_unit_test(test_shipped_files),
		cmocka_unit_test(test_2021_days),
		cmocka_unit_test(test_add_hours),
		cmocka_unit_test(test_ordinary_weekends),
		cmocka_unit_test(test_spring_festival_2021),
		cmocka_unit_test(test_national_day_2021),
		cmocka_unit_test(test_start_on_non_working_day),
		cmocka_unit_test(test_year_boundary),
		cmocka_unit_test(test_thirteen_working_days),
		cmocka_unit_test(test_utc_offset),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_properties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
