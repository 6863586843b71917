/*
 * calendar.h - the working-day calendar and deadline arithmetic on it.
 *
 * Owns: the calendar file format (docs/calendar.md; one file per year in
 * deploy/calendar/, copied from the State Council General Office's yearly notice
 * on public holidays), its parser, which days are working days, adding hours or
 * working days to an instant, and the horizon (how far ahead working days are
 * known) at an instant. Never: reads files (calendar_dir.c reads them and passes
 * the text), reads the clock (instants are parameters), consults the C library's
 * time zone (the UTC offset is a parameter), or decides a ticket's limit
 * (deadline.h does). Callers: the daemon's deadline code and maintenance timer,
 * deadline.c, hotlinectl, tests, fuzzers.
 *
 * A file, line by line (UTF-8; '#' starts a comment line; blank lines are
 * ignored; spaces, tabs and U+3000 around words are ignored):
 *
 *   year 2021                                   the year this file describes
 *   holiday 2021-02-11 2021-02-17 春节          days off, first and last inclusive
 *   holiday 2021-04-05 清明节                   one day off
 *   workday 2021-02-07 春节调休                 a weekend day worked (调休)
 *
 * NAME is required free text of at most CALENDAR_MAX_NAME bytes that does not
 * start with an ASCII digit (so a stray extra date is refused, not taken as a
 * name). In a covered year a day is a working day when it is a Monday-Friday not inside
 * a holiday, or a listed workday. Outside covered years every Monday-Friday works
 * and every Saturday and Sunday does not; calendar_add_workdays() reports when it
 * had to assume that.
 */
#ifndef HOTLINE_CALENDAR_H
#define HOTLINE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits; exceeding any refuses the file. */
#define CALENDAR_MAX_YEARS 200
#define CALENDAR_MAX_TEXT (1024 * 1024) /* bytes in one file */
#define CALENDAR_MAX_LINE 1024		/* bytes in one line, without its line end */
#define CALENDAR_MAX_NAME 64		/* bytes in a holiday or workday name */
#define CALENDAR_MIN_YEAR 1970
#define CALENDAR_MAX_YEAR 9998 /* so that a deadline in its last days still fits */
/* Most working days calendar_add_workdays() adds (about four years). */
#define CALENDAR_MAX_WORKDAYS 1000

enum calendar_day_kind {
	CALENDAR_WORKDAY = 0,	/* Monday-Friday, not a holiday */
	CALENDAR_WEEKEND,	/* Saturday or Sunday, not worked */
	CALENDAR_HOLIDAY,	/* inside a holiday range (any weekday) */
	CALENDAR_MAKEUP_WORKDAY /* a Saturday or Sunday listed as a workday (调休) */
};

struct calendar;

/* An empty calendar (no year covered). NULL only when memory runs out. */
struct calendar *calendar_new(void);
void calendar_free(struct calendar *cal);

/*
 * Parses one calendar file, text[0..len) (no terminator needed; a leading UTF-8
 * BOM is skipped), and adds its year to cal. filename is used in messages and to
 * name the file that first loaded a year (NULL -> "calendar"). Returns 0, or -1
 * with cal unchanged and the first error in err as "file:line: reason" ("file:
 * reason" for the file as a whole). Any error refuses the whole file: a calendar
 * that is half right moves deadlines quietly. Errors: a bad or nonexistent date,
 * a date outside the declared year, a day listed twice (duplicate or overlapping
 * entries), a workday that is not a Saturday or Sunday, more dates than the
 * keyword takes, a holiday range whose last day is before its first, an unknown
 * keyword, an entry before the year line or no year line at all, a second year
 * line, a year another file already loaded, a missing or too long name, more
 * than CALENDAR_MAX_YEARS years.
 */
int calendar_add_text(struct calendar *cal, const char *text, size_t len, const char *filename,
		      char *err, size_t errlen) __attribute__((warn_unused_result));

/* True when a file for year has been added. cal may be NULL (covers nothing). */
bool calendar_covers(const struct calendar *cal, int year);
/* The lowest and highest covered years, 0 when none is; there may be gaps. */
int calendar_first_year(const struct calendar *cal);
int calendar_last_year(const struct calendar *cal);
/* Number of covered years. */
size_t calendar_year_count(const struct calendar *cal);
/* The name of the file that supplied year, or NULL when year is not covered. */
const char *calendar_year_source(const struct calendar *cal, int year);

/*
 * What kind of day year-month-day is (plain weekday/weekend outside covered
 * years). An invalid date is reported as CALENDAR_WEEKEND (not a working day).
 */
enum calendar_day_kind calendar_day_kind(const struct calendar *cal, int year, int month, int day);
/* True for CALENDAR_WORKDAY and CALENDAR_MAKEUP_WORKDAY. */
bool calendar_is_workday(const struct calendar *cal, int year, int month, int day);
/* The same for a day count from dates_days_from_civil(). */
bool calendar_is_workday_days(const struct calendar *cal, int64_t days);

/*
 * start_ms plus hours on the clock (urgent tickets run through nights and
 * holidays). Returns -1 when start_ms is outside 0..DATES_MAX_MS, hours is
 * negative, or the result would pass DATES_MAX_MS.
 */
int64_t calendar_add_hours(int64_t start_ms, int64_t hours);

/*
 * The deadline n working days after start_ms, local days taken at utc_offset_min
 * minutes east of UTC (China: DATES_OFFSET_CHINA_MIN, +480).
 *
 * Exactly: the earliest instant by which n x 24 hours of working-day time have
 * passed since start_ms, where only the hours of local days that are working
 * days count. So:
 *   - start on a working day at a time T after midnight: the same local time T
 *     on the n-th working day after the start day (Wed 10:00 + 1 = Thu 10:00;
 *     Fri 10:00 + 1 = Mon 10:00);
 *   - start on a non-working day (weekend, holiday): the clock starts at 00:00
 *     of the next working day W, and the deadline is the end of the n-th working
 *     day counted from W itself, written as 00:00 of the day after it (Sat 15:00
 *     + 1 = Tue 00:00 when Mon is W; that 00:00 may fall on a holiday);
 *   - start at exactly 00:00 of a working day: that day counts as the first
 *     (Mon 00:00 + 1 = Tue 00:00);
 *   - n == 0: start_ms itself.
 * *past_known (may be NULL) is set to true when a day that was looked at lies in
 * a year the calendar does not cover (weekends were still skipped, holidays
 * could not be), else false: the daemon warns "deadline runs past the last known
 * year". cal may be NULL (nothing covered).
 * Returns -1 when start_ms is outside 0..DATES_MAX_MS, n is outside
 * 0..CALENDAR_MAX_WORKDAYS, utc_offset_min fails dates_offset_valid(), or the
 * deadline would pass DATES_MAX_MS.
 */
int64_t calendar_add_workdays(const struct calendar *cal, int64_t start_ms, int utc_offset_min,
			      int n, bool *past_known);

/*
 * ---- The horizon: how far ahead the calendar knows working days ----
 *
 * "Today" is the local date of an instant at utc_offset_min. Deadlines start at
 * dispatch, so only today's year and later ones matter: the horizon is the last
 * day of the unbroken run of covered years that starts with today's year. A
 * deadline that runs past it is counted Monday-Friday (calendar_add_workdays()'s
 * past_known), without holidays or make-up working days, so the operator must
 * add the next year's file before then, copied from the State Council's notice
 * once it is published (never guessed).
 */

/* The default warn_days: with 31 December the last covered day, warn from 2 November. */
#define CALENDAR_HORIZON_WARN_DAYS 60
/* Room for calendar_horizon_format()'s longest line and its NUL. */
#define CALENDAR_HORIZON_TEXT 512

struct calendar_horizon {
	int first_year;	    /* lowest covered year; 0 when no year is covered */
	int last_year;	    /* highest covered year; 0 when no year is covered */
	size_t years;	    /* number of covered years */
	int gap_year;	    /* lowest year between first_year and last_year with no file; 0: none
			       (it may lie before today: then it moves no new deadline) */
	int today_year;	    /* the local year of the instant */
	int64_t today_days; /* the local date of the instant, as dates_days_from_civil() */
	int missing_year;   /* the first year from today_year on with no file: the file to add
			       next (last_year + 1 when today_year..last_year are all covered;
			       today_year itself when it is not covered) */
	/*
	 * 31 December of the highest covered year before missing_year (of
	 * missing_year - 1 when no year before it is covered). When today's year is
	 * covered this is the horizon: every day from today to it is covered, and it
	 * is 31 December of last_year unless a year between is missing. When it is not
	 * (expired), it is the day the calendar ended before today.
	 */
	int64_t last_day_days;
	/*
	 * last_day_days - today_days, in local days: 0 on the last covered day itself,
	 * 24 on 7 December with 31 December last; negative once expired (-1 on the
	 * first uncovered 1 January).
	 */
	int64_t days_left;
	int64_t warn_from_days; /* last_day_days - warn_days + 1: the first day warn is true */
	/*
	 * days_left < warn_days: at most warn_days covered days remain, today
	 * included, so with the default 60 and 31 December last, warn starts on
	 * 2 November at local 00:00. Always true when expired.
	 */
	bool warn;
	bool expired; /* days_left < 0: today's own year has no file */
};

/*
 * The horizon of cal (may be NULL: nothing covered) at the instant now_ms, local
 * days at utc_offset_min minutes east of UTC, warning warn_days days ahead
 * (0: only once expired). Fills *out. Returns 0, or -1 with *out zeroed when
 * now_ms is outside 0..DATES_MAX_MS, utc_offset_min fails dates_offset_valid() or
 * warn_days is negative. Pure: the caller reads the clock.
 */
int calendar_horizon_at(const struct calendar *cal, int64_t now_ms, int utc_offset_min,
			int warn_days, struct calendar_horizon *out)
	__attribute__((warn_unused_result));

/*
 * Writes one line (no newline) saying what *h means for logs and tools, e.g.
 * "working-day calendar covers 2021..2026; it ends on 2026-12-31, in 24 days:
 * add 2027.cal once the State Council publishes its notice (deadlines past
 * 2026-12-31 count Monday-Friday only)". Returns its length, or 0 (buf "" when
 * len > 0) when len < CALENDAR_HORIZON_TEXT.
 */
size_t calendar_horizon_format(const struct calendar_horizon *h, char *buf, size_t len);

/* "workday", "weekend", "holiday", "makeup-workday"; "INVALID" outside the enum. */
const char *calendar_day_kind_name(enum calendar_day_kind kind);

#endif
