/*
 * fuzz_calendar.c - libFuzzer target for lib/calendar.c (and dates.c under it).
 *
 * Owns: parsing arbitrary bytes as a calendar file and checking what must hold:
 * a refused file has a "file:line: reason" and leaves the calendar empty; an
 * accepted one covers exactly its year, cannot be loaded twice, marks make-up
 * workdays only on weekends, and gives deadlines that lie after their start and
 * land on a working day at the start's time of day or at 00:00 right after a
 * working day. Never: does I/O. Run as in README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "dates.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_deadline(const struct calendar *cal, int64_t start, int offset, int n)
{
	bool past = false;
	int64_t deadline = calendar_add_workdays(cal, start, offset, n, &past);
	if (deadline <= start)
		abort();
	int64_t of_day = 0, start_of_day = 0;
	int64_t day = dates_local_day(deadline, offset, &of_day);
	int64_t start_day = dates_local_day(start, offset, &start_of_day);
	if (of_day == 0) {
		if (!calendar_is_workday_days(cal, day - 1))
			abort();
	} else if (!calendar_is_workday_days(cal, day) || of_day != start_of_day ||
		   !calendar_is_workday_days(cal, start_day)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct calendar *cal = calendar_new();
	char err[512] = "";
	if (cal == NULL)
		return 0;

	if (calendar_add_text(cal, (const char *)data, size, "fuzz", err, sizeof(err)) != 0) {
		if (strncmp(err, "fuzz:", 5) != 0 || calendar_year_count(cal) != 0)
			abort();
		calendar_free(cal);
		return 0;
	}
	int year = calendar_first_year(cal);
	if (calendar_year_count(cal) != 1 || calendar_last_year(cal) != year ||
	    !calendar_covers(cal, year) || calendar_covers(cal, year + 1) ||
	    year < CALENDAR_MIN_YEAR || year > CALENDAR_MAX_YEAR)
		abort();
	if (calendar_add_text(cal, (const char *)data, size, "again", err, sizeof(err)) == 0 ||
	    calendar_year_count(cal) != 1)
		abort();

	for (int64_t day = dates_days_from_civil(year, 1, 1);
	     day <= dates_days_from_civil(year, 12, 31); day++) {
		int y, m, d;
		dates_civil_from_days(day, &y, &m, &d);
		enum calendar_day_kind kind = calendar_day_kind(cal, y, m, d);
		bool weekend = dates_weekday(day) >= 6;
		if ((kind == CALENDAR_MAKEUP_WORKDAY || kind == CALENDAR_WEEKEND) && !weekend)
			abort();
		if (kind == CALENDAR_WORKDAY && weekend)
			abort();
		if (calendar_is_workday(cal, y, m, d) != calendar_is_workday_days(cal, day))
			abort();
	}

	/* a few starts across the year, offsets and lengths taken from the input */
	unsigned h = 2166136261u;
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	int offset = (int)(h % (2 * DATES_OFFSET_MAX_MIN + 1)) - DATES_OFFSET_MAX_MIN;
	int64_t jan1 = dates_days_from_civil(year, 1, 1) * DATES_MS_PER_DAY;
	for (int i = 0; i < 8; i++) {
		int64_t start = jan1 + (int64_t)((h >> (i * 4)) % 366) * DATES_MS_PER_DAY +
				(int64_t)(h % 97) * 15 * DATES_MS_PER_MINUTE;
		check_deadline(cal, start, offset, 1 + (int)((h >> i) % 30));
	}

	calendar_free(cal);
	return 0;
}
