/*
 * calendar.c - the working-day calendar behind calendar.h: parser, lookups,
 * deadline arithmetic and the horizon.
 *
 * Owns: the covered years (a sorted array, each with one byte per day of the
 * year saying "holiday", "make-up workday" or "as the weekday says") and every
 * check a calendar file must pass. A file is parsed into a scratch year first and
 * joins the calendar only when the whole file is good. Never: reads files, logs,
 * reads the clock, or keeps a pointer into the text it parsed. Callers: see
 * calendar.h.
 */
#include "calendar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dates.h"
#include "linefile.h"
#include "text.h"

/* What a file says about one day of its year. */
enum day_mark {
	MARK_NONE = 0, /* as the weekday says */
	MARK_HOLIDAY,
	MARK_WORKDAY,
};

struct cal_year {
	int year;
	char *source; /* the filename that supplied it */
	unsigned char marks[366];
};

struct calendar {
	struct cal_year *years; /* sorted by year */
	size_t count, cap;
};

const char *calendar_day_kind_name(enum calendar_day_kind kind)
{
	switch (kind) {
	case CALENDAR_WORKDAY:
		return "workday";
	case CALENDAR_WEEKEND:
		return "weekend";
	case CALENDAR_HOLIDAY:
		return "holiday";
	case CALENDAR_MAKEUP_WORKDAY:
		return "makeup-workday";
	}
	return "INVALID";
}

struct calendar *calendar_new(void)
{
	return calloc(1, sizeof(struct calendar));
}

void calendar_free(struct calendar *cal)
{
	if (cal == NULL)
		return;
	for (size_t i = 0; i < cal->count; i++)
		free(cal->years[i].source);
	free(cal->years);
	free(cal);
}

/* ---- lookups ---- */

static const struct cal_year *find_year(const struct calendar *cal, int year)
{
	if (cal == NULL)
		return NULL;
	size_t lo = 0, hi = cal->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->years[mid].year == year)
			return &cal->years[mid];
		if (cal->years[mid].year < year)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool calendar_covers(const struct calendar *cal, int year)
{
	return find_year(cal, year) != NULL;
}

int calendar_first_year(const struct calendar *cal)
{
	return cal != NULL && cal->count > 0 ? cal->years[0].year : 0;
}

int calendar_last_year(const struct calendar *cal)
{
	return cal != NULL && cal->count > 0 ? cal->years[cal->count - 1].year : 0;
}

size_t calendar_year_count(const struct calendar *cal)
{
	return cal != NULL ? cal->count : 0;
}

const char *calendar_year_source(const struct calendar *cal, int year)
{
	const struct cal_year *y = find_year(cal, year);
	return y != NULL ? y->source : NULL;
}

/* The kind of day number days; *covered (may be NULL) says whether its year is. */
static enum calendar_day_kind kind_of_day(const struct calendar *cal, int64_t days, bool *covered)
{
	int year, month, day;
	dates_civil_from_days(days, &year, &month, &day);
	const struct cal_year *y = find_year(cal, year);
	bool weekend = dates_weekday(days) >= 6;

	if (covered != NULL)
		*covered = y != NULL;
	if (y != NULL) {
		int64_t index = days - dates_days_from_civil(year, 1, 1);
		if (y->marks[index] == MARK_HOLIDAY)
			return CALENDAR_HOLIDAY;
		if (y->marks[index] == MARK_WORKDAY)
			return CALENDAR_MAKEUP_WORKDAY;
	}
	return weekend ? CALENDAR_WEEKEND : CALENDAR_WORKDAY;
}

static bool kind_works(enum calendar_day_kind kind)
{
	return kind == CALENDAR_WORKDAY || kind == CALENDAR_MAKEUP_WORKDAY;
}

enum calendar_day_kind calendar_day_kind(const struct calendar *cal, int year, int month, int day)
{
	if (!dates_valid(year, month, day))
		return CALENDAR_WEEKEND;
	return kind_of_day(cal, dates_days_from_civil(year, month, day), NULL);
}

bool calendar_is_workday(const struct calendar *cal, int year, int month, int day)
{
	return kind_works(calendar_day_kind(cal, year, month, day));
}

bool calendar_is_workday_days(const struct calendar *cal, int64_t days)
{
	return kind_works(kind_of_day(cal, days, NULL));
}

/* ---- deadline arithmetic ---- */

int64_t calendar_add_hours(int64_t start_ms, int64_t hours)
{
	if (start_ms < 0 || start_ms > DATES_MAX_MS || hours < 0)
		return -1;
	if (hours > (DATES_MAX_MS - start_ms) / DATES_MS_PER_HOUR)
		return -1;
	return start_ms + hours * DATES_MS_PER_HOUR;
}

/* Is day number days a working day? Notes an uncovered year in *past_known. */
static bool works(const struct calendar *cal, int64_t days, bool *past_known)
{
	bool covered = false;
	enum calendar_day_kind kind = kind_of_day(cal, days, &covered);
	if (!covered)
		*past_known = true;
	return kind_works(kind);
}

int64_t calendar_add_workdays(const struct calendar *cal, int64_t start_ms, int utc_offset_min,
			      int n, bool *past_known)
{
	bool past = false;
	int64_t result = -1;

	if (start_ms < 0 || start_ms > DATES_MAX_MS || n < 0 || n > CALENDAR_MAX_WORKDAYS ||
	    !dates_offset_valid(utc_offset_min))
		goto out;
	if (n == 0) {
		result = start_ms;
		goto out;
	}

	int64_t of_day = 0;
	int64_t day = dates_local_day(start_ms, utc_offset_min, &of_day);
	if (!works(cal, day, &past)) {
		/* the clock starts at 00:00 of the next working day */
		do
			day++;
		while (!works(cal, day, &past));
		of_day = 0;
	}

	int64_t last; /* the deadline's local day */
	if (of_day == 0) {
		/* day is the first full working day; the deadline is the end of the n-th */
		int remaining = n - 1;
		while (remaining > 0) {
			day++;
			if (works(cal, day, &past))
				remaining--;
		}
		last = day + 1;
	} else {
		int remaining = n;
		while (remaining > 0) {
			day++;
			if (works(cal, day, &past))
				remaining--;
		}
		last = day;
	}

	/* last is at most ~1500 days past a day <= DATES_MAX_MS: no overflow here */
	int64_t deadline =
		last * DATES_MS_PER_DAY + of_day - (int64_t)utc_offset_min * DATES_MS_PER_MINUTE;
	if (deadline <= DATES_MAX_MS)
		result = deadline;
out:
	if (past_known != NULL)
		*past_known = past;
	return result;
}

/* ---- the horizon ---- */

int calendar_horizon_at(const struct calendar *cal, int64_t now_ms, int utc_offset_min,
			int warn_days, struct calendar_horizon *out)
{
	memset(out, 0, sizeof(*out));
	if (now_ms < 0 || now_ms > DATES_MAX_MS || !dates_offset_valid(utc_offset_min) ||
	    warn_days < 0)
		return -1;

	size_t count = cal != NULL ? cal->count : 0;
	const struct cal_year *years = cal != NULL ? cal->years : NULL;
	int month, day;
	out->today_days = dates_local_day(now_ms, utc_offset_min, NULL);
	dates_civil_from_days(out->today_days, &out->today_year, &month, &day);
	out->years = count;
	if (count > 0) {
		out->first_year = years[0].year;
		out->last_year = years[count - 1].year;
	}
	for (size_t i = 1; i < count; i++) {
		if (years[i].year != years[i - 1].year + 1) {
			out->gap_year = years[i - 1].year + 1;
			break;
		}
	}

	/* years is sorted: skip those before today's, then walk the unbroken run */
	size_t at = 0;
	while (at < count && years[at].year < out->today_year)
		at++;
	int missing = out->today_year;
	while (at < count && years[at].year == missing) {
		missing++;
		at++;
	}
	out->missing_year = missing;
	/* every year before index at is below missing */
	int last_known = at > 0 ? years[at - 1].year : missing - 1;
	out->last_day_days = dates_days_from_civil(last_known, 12, 31);
	out->days_left = out->last_day_days - out->today_days;
	out->warn_from_days = out->last_day_days - warn_days + 1;
	out->warn = out->days_left < warn_days;
	out->expired = out->days_left < 0;
	return 0;
}

/* Appends to buf[*used..len) like snprintf; *used stops growing once it is cut. */
static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void append(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
	if (*used >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *used, len - *used, fmt, ap);
	va_end(ap);
	*used = n < 0 ? len : *used + (size_t)n;
}

static void format_day(int64_t days, char *buf, size_t len)
{
	int year, month, day;
	dates_civil_from_days(days, &year, &month, &day);
	snprintf(buf, len, "%04d-%02d-%02d", year, month, day);
}

size_t calendar_horizon_format(const struct calendar_horizon *h, char *buf, size_t len)
{
	if (len > 0)
		buf[0] = '\0';
	if (len < CALENDAR_HORIZON_TEXT)
		return 0;

	static const char monday_friday[] =
		"deadlines count Monday-Friday only, without holidays or 调休,";
	char last[16];
	size_t used = 0;
	format_day(h->last_day_days, last, sizeof(last));

	if (h->years == 0) {
		append(buf, len, &used,
		       "working-day calendar has no files: %s until %d.cal is added from the State "
		       "Council's notice",
		       monday_friday, h->missing_year);
		return used < len ? used : 0;
	}
	if (h->first_year == h->last_year)
		append(buf, len, &used, "working-day calendar covers %d", h->first_year);
	else
		append(buf, len, &used, "working-day calendar covers %d..%d", h->first_year,
		       h->last_year);
	if (h->gap_year != 0) {
		long others = (long)(h->last_year - h->first_year + 1) - (long)h->years - 1;
		if (others > 0)
			append(buf, len, &used, " (no file for %d and %ld other year%s)",
			       h->gap_year, others, others == 1 ? "" : "s");
		else
			append(buf, len, &used, " (no file for %d)", h->gap_year);
	}

	if (h->expired) {
		append(buf, len, &used,
		       " but not %d, today's year: %s until %d.cal is added from "
		       "the State Council's notice",
		       h->missing_year, monday_friday, h->missing_year);
		if (h->first_year < h->today_year) {
			/* a covered year lies before today's: say when the calendar ended */
			long long ago = (long long)-h->days_left;
			append(buf, len, &used, " (it ended on %s, %lld day%s ago)", last, ago,
			       ago == 1 ? "" : "s");
		}
		return used < len ? used : 0;
	}

	if (h->days_left == 0)
		append(buf, len, &used, "; it ends on %s, today", last);
	else
		append(buf, len, &used, "; it ends on %s, in %lld day%s", last,
		       (long long)h->days_left, h->days_left == 1 ? "" : "s");
	if (h->warn)
		append(buf, len, &used,
		       ": add %d.cal once the State Council publishes its notice (deadlines past "
		       "%s count Monday-Friday only)",
		       h->missing_year, last);
	return used < len ? used : 0;
}

/* ---- parsing ---- */

struct parser {
	struct linefile file; /* the name, the line being parsed, the error buffer */
	const struct calendar *cal;
	int year;	    /* 0 until the year line */
	unsigned year_line; /* where it was */
	int64_t jan1;	    /* day number of year-01-01 */
	unsigned char marks[366];
	unsigned lines[366]; /* the line that marked each day, for "already listed" */
};

/* A date word of an entry line, checked against the year: its day index. */
static int parse_entry_date(struct parser *p, const char *s, const char *e, int *index)
{
	int year = 0, month = 0, day = 0;
	size_t len = (size_t)(e - s);
	int rc = dates_parse_ymd(s, len, &year, &month, &day);

	if (rc == -1)
		return linefile_error(&p->file,
				      "bad date '%.*s' (write YYYY-MM-DD, e.g. 2021-02-11)",
				      linefile_shown(s, len, 32), s);
	if (rc != 0)
		return linefile_error(&p->file, "no such day %04d-%02d-%02d", year, month, day);
	if (year != p->year)
		return linefile_error(&p->file, "%04d-%02d-%02d is outside year %d", year, month,
				      day, p->year);
	*index = (int)(dates_days_from_civil(year, month, day) - p->jan1);
	return 0;
}

static void day_text(const struct parser *p, int index, char *buf, size_t len)
{
	int year, month, day;
	dates_civil_from_days(p->jan1 + index, &year, &month, &day);
	snprintf(buf, len, "%04d-%02d-%02d", year, month, day);
}

/* "year YYYY": rest is everything after the keyword, trimmed. */
static int parse_year_line(struct parser *p, const char *s, const char *e)
{
	size_t len = (size_t)(e - s);
	int year = 0;

	if (p->year != 0)
		return linefile_error(&p->file, "second year line (the year is %d, from line %u)",
				      p->year, p->year_line);
	if (len != 4)
		return linefile_error(&p->file, "bad year '%.*s' (write: year YYYY)",
				      linefile_shown(s, len, 32), s);
	for (size_t i = 0; i < 4; i++) {
		if (s[i] < '0' || s[i] > '9')
			return linefile_error(&p->file, "bad year '%.*s' (write: year YYYY)",
					      (int)len, s);
		year = year * 10 + (s[i] - '0');
	}
	if (year < CALENDAR_MIN_YEAR || year > CALENDAR_MAX_YEAR)
		return linefile_error(&p->file, "year %d is outside %d-%d", year, CALENDAR_MIN_YEAR,
				      CALENDAR_MAX_YEAR);
	const char *source = calendar_year_source(p->cal, year);
	if (source != NULL)
		return linefile_error(&p->file, "year %d is already loaded from %s", year, source);
	p->year = year;
	p->year_line = p->file.lineno;
	p->jan1 = dates_days_from_civil(year, 1, 1);
	return 0;
}

static int check_name(struct parser *p, const char *keyword, const char *s, const char *e)
{
	if (s == e)
		return linefile_error(
			&p->file, "%s needs a name after its date (e.g. 春节, 春节调休)", keyword);
	if ((size_t)(e - s) > CALENDAR_MAX_NAME)
		return linefile_error(&p->file, "%s name is longer than %d bytes", keyword,
				      CALENDAR_MAX_NAME);
	return 0;
}

/* Marks days first..last (indexes) with mark, refusing a day marked before. */
static int mark_days(struct parser *p, int first, int last, enum day_mark mark)
{
	for (int i = first; i <= last; i++) {
		if (p->marks[i] != MARK_NONE) {
			char day[16];
			day_text(p, i, day, sizeof(day));
			return linefile_error(&p->file, "%s is already listed at line %u", day,
					      p->lines[i]);
		}
	}
	for (int i = first; i <= last; i++) {
		p->marks[i] = (unsigned char)mark;
		p->lines[i] = p->file.lineno;
	}
	return 0;
}

/* "holiday FIRST [LAST] NAME" */
static int parse_holiday_line(struct parser *p, const char *s, const char *e)
{
	int first = 0, last = 0;
	const char *word = s;
	const char *word_e = text_next_word(&s, e);

	if (word == word_e)
		return linefile_error(&p->file,
				      "holiday needs a date (write: holiday FIRST [LAST] NAME)");
	if (parse_entry_date(p, word, word_e, &first) != 0)
		return -1;
	last = first;
	/* a second word that starts with a digit is the last day of a range */
	if (s < e && *s >= '0' && *s <= '9') {
		word = s;
		word_e = text_next_word(&s, e);
		if (parse_entry_date(p, word, word_e, &last) != 0)
			return -1;
		if (last < first) {
			char a[16], b[16];
			day_text(p, first, a, sizeof(a));
			day_text(p, last, b, sizeof(b));
			return linefile_error(
				&p->file,
				"holiday range reversed: last day %s is before first day %s", b, a);
		}
	}
	if (s < e && *s >= '0' && *s <= '9')
		return linefile_error(&p->file, "holiday takes at most two dates (FIRST and LAST)");
	if (check_name(p, "holiday", s, e) != 0)
		return -1;
	return mark_days(p, first, last, MARK_HOLIDAY);
}

/* "workday DATE NAME" */
static int parse_workday_line(struct parser *p, const char *s, const char *e)
{
	int index = 0;
	const char *word = s;
	const char *word_e = text_next_word(&s, e);

	if (word == word_e)
		return linefile_error(&p->file, "workday needs a date (write: workday DATE NAME)");
	if (parse_entry_date(p, word, word_e, &index) != 0)
		return -1;
	int weekday = dates_weekday(p->jan1 + index);
	if (weekday < 6) {
		char day[16];
		day_text(p, index, day, sizeof(day));
		return linefile_error(
			&p->file,
			"workday %s is a %s, already a working day (only a Saturday or "
			"Sunday can be a make-up workday)",
			day, dates_weekday_name(weekday));
	}
	if (s < e && *s >= '0' && *s <= '9')
		return linefile_error(
			&p->file,
			"workday takes one date (write one workday line per make-up day)");
	if (check_name(p, "workday", s, e) != 0)
		return -1;
	return mark_days(p, index, index, MARK_WORKDAY);
}

/* linefile_parse: one line that is neither blank nor a comment. */
static int parse_line(void *arg, const char *word, size_t word_len, const char *s, const char *e)
{
	struct parser *p = arg;

	if (word_len == 4 && memcmp(word, "year", 4) == 0)
		return parse_year_line(p, s, e);
	bool holiday = word_len == 7 && memcmp(word, "holiday", 7) == 0;
	bool workday = word_len == 7 && memcmp(word, "workday", 7) == 0;
	if (!holiday && !workday)
		return linefile_error(&p->file,
				      "unknown keyword '%.*s' (expected year, holiday or workday)",
				      linefile_shown(word, word_len, 64), word);
	if (p->year == 0)
		return linefile_error(&p->file,
				      "%s before the year line (start the file with: year YYYY)",
				      holiday ? "holiday" : "workday");
	return holiday ? parse_holiday_line(p, s, e) : parse_workday_line(p, s, e);
}

/* Inserts the parsed year into cal, keeping the years sorted. */
static int add_year(struct calendar *cal, const struct parser *p)
{
	char *source = strdup(p->file.filename);
	if (source == NULL)
		return -1;
	if (cal->count == cal->cap) {
		size_t cap = cal->cap ? cal->cap * 2 : 8;
		struct cal_year *years = realloc(cal->years, cap * sizeof(*years));
		if (years == NULL) {
			free(source);
			return -1;
		}
		cal->years = years;
		cal->cap = cap;
	}
	size_t at = 0;
	while (at < cal->count && cal->years[at].year < p->year)
		at++;
	memmove(&cal->years[at + 1], &cal->years[at], (cal->count - at) * sizeof(*cal->years));
	struct cal_year *y = &cal->years[at];
	y->year = p->year;
	y->source = source;
	memcpy(y->marks, p->marks, sizeof(y->marks));
	cal->count++;
	return 0;
}

int calendar_add_text(struct calendar *cal, const char *text, size_t len, const char *filename,
		      char *err, size_t errlen)
{
	struct parser p = {
		.file = { .filename = filename != NULL ? filename : "calendar",
			  .err = err,
			  .errlen = errlen },
		.cal = cal,
	};

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (cal == NULL)
		return linefile_error(&p.file, "no calendar");
	if (text == NULL && len > 0)
		return linefile_error(&p.file, "no text");
	if (len > CALENDAR_MAX_TEXT)
		return linefile_error(&p.file, "larger than %d bytes", CALENDAR_MAX_TEXT);
	if (cal->count >= CALENDAR_MAX_YEARS)
		return linefile_error(&p.file, "more than %d years", CALENDAR_MAX_YEARS);

	if (linefile_parse(&p.file, text, len, CALENDAR_MAX_LINE, parse_line, &p) != 0)
		return -1;

	p.file.lineno = 0;
	if (p.year == 0)
		return linefile_error(&p.file, "no year line (start the file with: year YYYY)");
	if (add_year(cal, &p) != 0)
		return linefile_error(&p.file, "out of memory");
	return 0;
}
