/*
 * dates.c - civil dates and fixed-offset local time behind dates.h.
 *
 * Owns: the day-count arithmetic (Howard Hinnant, "chrono-Compatible Low-Level
 * Date Algorithms": days_from_civil / civil_from_days, exact for every year an
 * int holds) and floor division for instants before 1970. Never: the C
 * library's time zone functions, the clock, I/O. Callers: see dates.h.
 */
#include "dates.h"

#include <stdio.h>

bool dates_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int dates_days_in_month(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month < 1 || month > 12)
		return 0;
	return month == 2 && dates_is_leap(year) ? 29 : days[month - 1];
}

bool dates_valid(int year, int month, int day)
{
	return day >= 1 && day <= dates_days_in_month(year, month);
}

/* a / b and a mod b rounded towards minus infinity (b > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t floor_mod(int64_t a, int64_t b)
{
	return a - floor_div(a, b) * b;
}

int64_t dates_days_from_civil(int year, int month, int day)
{
	int64_t y = (int64_t)year - (month <= 2);
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;			     /* [0, 399] */
	int64_t mp = month > 2 ? month - 3 : month + 9;	     /* March = 0 */
	int64_t doy = (153 * mp + 2) / 5 + (int64_t)day - 1; /* [0, 365] */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
	return era * 146097 + doe - 719468; /* 719468 days from 0000-03-01 to 1970-01-01 */
}

void dates_civil_from_days(int64_t days, int *year, int *month, int *day)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	*year = (int)(yoe + era * 400 + (m <= 2));
	*month = (int)m;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

int dates_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (4). */
	return (int)floor_mod(days + 3, 7) + 1;
}

bool dates_offset_valid(int utc_offset_min)
{
	return utc_offset_min >= -DATES_OFFSET_MAX_MIN && utc_offset_min <= DATES_OFFSET_MAX_MIN;
}

int64_t dates_local_day(int64_t ms, int utc_offset_min, int64_t *ms_of_day)
{
	int64_t offset_ms = (int64_t)utc_offset_min * DATES_MS_PER_MINUTE;
	/* Split before adding the offset so that no instant overflows. */
	int64_t day = floor_div(ms, DATES_MS_PER_DAY);
	int64_t rest = floor_mod(ms, DATES_MS_PER_DAY) + offset_ms;
	day += floor_div(rest, DATES_MS_PER_DAY);
	if (ms_of_day != NULL)
		*ms_of_day = floor_mod(rest, DATES_MS_PER_DAY);
	return day;
}

void dates_from_ms(int64_t ms, int utc_offset_min, struct dates_local *out)
{
	int64_t of_day = 0;
	int64_t day = dates_local_day(ms, utc_offset_min, &of_day);

	dates_civil_from_days(day, &out->year, &out->month, &out->day);
	out->hour = (int)(of_day / DATES_MS_PER_HOUR);
	out->minute = (int)(of_day / DATES_MS_PER_MINUTE % 60);
	out->second = (int)(of_day / 1000 % 60);
	out->millisecond = (int)(of_day % 1000);
}

int64_t dates_to_ms(const struct dates_local *local, int utc_offset_min)
{
	int64_t day = dates_days_from_civil(local->year, local->month, local->day);
	return day * DATES_MS_PER_DAY + (int64_t)local->hour * DATES_MS_PER_HOUR +
	       (int64_t)local->minute * DATES_MS_PER_MINUTE + (int64_t)local->second * 1000 +
	       local->millisecond - (int64_t)utc_offset_min * DATES_MS_PER_MINUTE;
}

size_t dates_format_iso(int64_t ms, int utc_offset_min, char *buf, size_t len)
{
	struct dates_local t;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (buf == NULL || len < DATES_ISO_LEN || !dates_offset_valid(utc_offset_min))
		return 0;
	dates_from_ms(ms, utc_offset_min, &t);
	if (t.year < 0 || t.year > 9999)
		return 0;

	int off = utc_offset_min < 0 ? -utc_offset_min : utc_offset_min;
	char frac[8] = "";
	if (t.millisecond != 0)
		snprintf(frac, sizeof(frac), ".%03d", t.millisecond);
	int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%c%02d:%02d", t.year, t.month,
			 t.day, t.hour, t.minute, t.second, frac, utc_offset_min < 0 ? '-' : '+',
			 off / 60, off % 60);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

size_t dates_format_utc(int64_t ms, char *buf, size_t len)
{
	struct dates_local t;

	if (buf != NULL && len > 0)
		buf[0] = '\0';
	if (buf == NULL || len < DATES_UTC_LEN)
		return 0;
	dates_from_ms(ms, 0, &t);
	if (t.year < 0 || t.year > 9999)
		return 0;
	int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.year, t.month, t.day,
			 t.hour, t.minute, t.second, t.millisecond);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static int digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int dates_parse_ymd(const char *s, size_t len, int *year, int *month, int *day)
{
	if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-')
		return -1;
	int y = digits(s, 4), m = digits(s + 5, 2), d = digits(s + 8, 2);
	if (y < 0 || m < 0 || d < 0)
		return -1;
	*year = y;
	*month = m;
	*day = d;
	return dates_valid(y, m, d) ? 0 : -2;
}

int dates_parse_iso(const char *s, size_t len, int64_t *ms)
{
	int year, month, day;
	if (s == NULL || len < 20 || s[10] != 'T' ||
	    dates_parse_ymd(s, 10, &year, &month, &day) != 0)
		return -1;
	const char *t = s + 11;
	if (t[2] != ':' || t[5] != ':')
		return -1;
	int hour = digits(t, 2), minute = digits(t + 3, 2), second = digits(t + 6, 2);
	if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59)
		return -1;
	size_t at = 19, millis = 0;
	if (at < len && s[at] == '.') {
		if (len < at + 4)
			return -1;
		int m = digits(s + at + 1, 3);
		if (m < 0)
			return -1;
		millis = (size_t)m;
		at += 4;
	}
	int offset = 0;
	if (len == at + 1 && s[at] == 'Z') {
		offset = 0;
	} else if (len == at + 6 && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
		int oh = digits(s + at + 1, 2), om = digits(s + at + 4, 2);
		if (oh < 0 || om < 0 || om > 59)
			return -1;
		offset = (oh * 60 + om) * (s[at] == '-' ? -1 : 1);
		if (!dates_offset_valid(offset))
			return -1;
	} else {
		return -1;
	}
	struct dates_local local = { year, month, day, hour, minute, second, (int)millis };
	*ms = dates_to_ms(&local, offset);
	return 0;
}

const char *dates_weekday_name(int iso_weekday)
{
	static const char *const names[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
					      "Friday", "Saturday", "Sunday" };
	return iso_weekday >= 1 && iso_weekday <= 7 ? names[iso_weekday - 1] : "?";
}
