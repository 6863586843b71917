/*
 * dates.h - civil dates and local wall-clock time by arithmetic alone.
 *
 * Owns: the conversion between unix milliseconds and a local (year, month, day,
 * hour, minute, second, millisecond) at a fixed offset from UTC in minutes, the
 * proleptic Gregorian day count (days since 1970-01-01, Howard Hinnant's
 * days_from_civil), weekdays, and the strict YYYY-MM-DD form used by calendar
 * files. Never: reads the clock, calls localtime()/mktime() or the TZ database
 * (China has one fixed offset, +08:00, and no daylight saving time; the offset is
 * a parameter so tests and other cities can choose), or does I/O.
 * Callers: calendar.c (working days), deadline.c, the daemon's deadline code and
 * logs, tests.
 */
#ifndef HOTLINE_DATES_H
#define HOTLINE_DATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DATES_MS_PER_MINUTE INT64_C(60000)
#define DATES_MS_PER_HOUR INT64_C(3600000)
#define DATES_MS_PER_DAY INT64_C(86400000)
/* Offsets from UTC are limited to +-18 hours (ISO 8601 / RFC 3339 practice). */
#define DATES_OFFSET_MAX_MIN (18 * 60)
/* China Standard Time, UTC+08:00 all year. */
#define DATES_OFFSET_CHINA_MIN 480
/* 9999-12-31T23:59:59.999Z: the last instant a four-digit year can show. */
#define DATES_MAX_MS INT64_C(253402300799999)
/* Room for "YYYY-MM-DDTHH:MM:SS.mmm+HH:MM" and its NUL. */
#define DATES_ISO_LEN 30

/* A local wall-clock time. month 1-12, day 1-31, hour 0-23, minute and second 0-59. */
struct dates_local {
	int year;
	int month;
	int day;
	int hour;
	int minute;
	int second;
	int millisecond;
};

bool dates_is_leap(int year);
/* 28-31, or 0 when month is not 1-12. */
int dates_days_in_month(int year, int month);
/* True when year-month-day exists in the proleptic Gregorian calendar. */
bool dates_valid(int year, int month, int day);

/*
 * Days from 1970-01-01 to year-month-day (negative before it). The date should be
 * valid; an out-of-range day is counted on linearly (Jan 32 = Feb 1).
 */
int64_t dates_days_from_civil(int year, int month, int day);
/* The date of a day count from dates_days_from_civil(). */
void dates_civil_from_days(int64_t days, int *year, int *month, int *day);
/* ISO weekday of a day count: 1 = Monday ... 6 = Saturday, 7 = Sunday. */
int dates_weekday(int64_t days);

/* True when |utc_offset_min| <= DATES_OFFSET_MAX_MIN. */
bool dates_offset_valid(int utc_offset_min);

/*
 * The local day count (days since 1970-01-01 on the local calendar) of the instant
 * ms at utc_offset_min, and the milliseconds since local midnight in *ms_of_day
 * (may be NULL). Floor division: instants before 1970 work too.
 */
int64_t dates_local_day(int64_t ms, int utc_offset_min, int64_t *ms_of_day);

/* The local wall-clock time of the instant ms at utc_offset_min. */
void dates_from_ms(int64_t ms, int utc_offset_min, struct dates_local *out);
/*
 * The instant shown as *local at utc_offset_min. Fields are not checked: they are
 * added up linearly (hour 24 = next day's 00:00), so pass a valid time.
 */
int64_t dates_to_ms(const struct dates_local *local, int utc_offset_min);

/*
 * Writes the instant ms as RFC 3339 local time, "2021-02-20T10:00:00+08:00", with
 * ".mmm" after the seconds only when the milliseconds are not zero. Returns the
 * length written, or 0 (buf "" when len > 0) when len < DATES_ISO_LEN, the offset
 * is invalid or the year is outside 0-9999.
 */
size_t dates_format_iso(int64_t ms, int utc_offset_min, char *buf, size_t len);

/*
 * Writes the instant ms as the HTTP API writes times: RFC 3339 in UTC, always
 * with milliseconds, "2021-02-20T02:00:00.000Z" (as SQL's api_time()). Returns
 * the length, or 0 (buf "" when len > 0) when len < DATES_UTC_LEN or the year is
 * outside 0-9999.
 */
#define DATES_UTC_LEN 25
size_t dates_format_utc(int64_t ms, char *buf, size_t len);

/*
 * Parses exactly "YYYY-MM-DD" (four, two and two ASCII digits; s[0..len), no
 * terminator needed) into the three ints. Returns 0; -1 when the form is wrong;
 * -2 when the form is right but the day does not exist (2021-02-29), with the
 * fields still set so the caller can name them.
 */
int dates_parse_ymd(const char *s, size_t len, int *year, int *month, int *day)
	__attribute__((warn_unused_result));

/*
 * Parses exactly an RFC 3339 instant, s[0..len) (no terminator needed):
 * "YYYY-MM-DDTHH:MM:SS", optionally ".mmm" (exactly three digits), then "Z" or
 * "+HH:MM" / "-HH:MM" (within DATES_OFFSET_MAX_MIN). Returns 0 with the unix
 * milliseconds in *ms, or -1 when the form, the date, the time or the offset is
 * wrong (a leap second, 23:59:60, is refused).
 */
int dates_parse_iso(const char *s, size_t len, int64_t *ms) __attribute__((warn_unused_result));

/* "Monday" ... "Sunday" for ISO weekday 1-7, "?" otherwise. */
const char *dates_weekday_name(int iso_weekday);

#endif
