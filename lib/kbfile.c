/*
 * kbfile.c - a knowledge-base CSV file (see kbfile.h).
 *
 * The header maps each CSV column to one of ours; every later record is checked
 * field by field and copied into one block of its own (the reader's buffer is
 * reused per record). Duplicate ids are found at the end, by sorting, so the
 * message can name both lines.
 */
#include "kbfile.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "dates.h"
#include "utf8.h"

#define MAX_CSV_FIELDS 16 /* a header of more is refused: six are needed */

static const char *const column_names[KBFILE_NCOLUMNS] = {
	[KBFILE_ID] = "id",
	[KBFILE_QUESTION] = "question",
	[KBFILE_ANSWER] = "answer",
	[KBFILE_CATEGORY] = "category",
	[KBFILE_DEPARTMENT] = "department",
	[KBFILE_UPDATED] = "updated",
};

#define COLUMN_LIST "id, question, answer, category, department, updated"

const char *kbfile_column_name(enum kbfile_column column)
{
	return column >= 0 && column < KBFILE_NCOLUMNS ? column_names[column] : "?";
}

void kbfile_free(struct kbfile *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->entries[i].block);
	free(f->entries);
	memset(f, 0, sizeof(*f));
}

/* The header: which of our columns each CSV column is (order[csv column]). */
static int read_header(struct csv_reader *r, struct linefile *file, int order[KBFILE_NCOLUMNS])
{
	int rc = csv_next(r);
	if (rc < 0)
		return -1;
	file->lineno = rc == 0 ? 0 : r->record_line;
	if (rc == 0)
		return linefile_error(file,
				      "empty: the first line names the columns (" COLUMN_LIST ")");
	if (r->nfields != KBFILE_NCOLUMNS)
		return linefile_error(
			file, "the header has %zu columns; it names these six: " COLUMN_LIST,
			r->nfields);
	bool seen[KBFILE_NCOLUMNS] = { false };
	for (size_t i = 0; i < r->nfields; i++) {
		const struct csv_field *f = &r->fields[i];
		int column = -1;
		for (int c = 0; c < KBFILE_NCOLUMNS; c++)
			if (strlen(column_names[c]) == f->len &&
			    memcmp(column_names[c], f->data, f->len) == 0)
				column = c;
		if (column < 0) {
			bool shown = utf8_valid(f->data, f->len);
			return linefile_error(
				file, "unknown column '%.*s' (the columns are " COLUMN_LIST ")",
				shown ? linefile_shown(f->data, f->len, 64) : 1,
				shown ? f->data : "?");
		}
		if (seen[column])
			return linefile_error(file, "column '%s' is named twice",
					      column_names[column]);
		seen[column] = true;
		order[i] = column;
	}
	return 0;
}

static bool has_control(const char *s, size_t len, bool allow_line_breaks)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (allow_line_breaks && (c == '\n' || c == '\r' || c == '\t'))
			continue;
		if (c < 0x20 || c == 0x7F)
			return true;
	}
	return false;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

/* Checks one field of an entry (file->lineno set): 0 or -1. */
static int check_field(struct linefile *file, enum kbfile_column column, const char *s, size_t len)
{
	static const size_t max[KBFILE_NCOLUMNS] = {
		[KBFILE_ID] = KBFILE_MAX_ID,
		[KBFILE_QUESTION] = KBFILE_MAX_QUESTION,
		[KBFILE_ANSWER] = KBFILE_MAX_ANSWER,
		[KBFILE_CATEGORY] = KBFILE_MAX_LABEL,
		[KBFILE_DEPARTMENT] = KBFILE_MAX_LABEL,
		[KBFILE_UPDATED] = 10,
	};
	const char *name = column_names[column];
	if (!utf8_valid(s, len))
		return linefile_error(file, "%s is not valid UTF-8 or holds a NUL byte", name);
	if (len > max[column])
		return linefile_error(file, "%s is longer than %zu bytes", name, max[column]);
	bool multi_line = column == KBFILE_QUESTION || column == KBFILE_ANSWER;
	if (has_control(s, len, multi_line))
		return linefile_error(file, "%s holds a control character", name);
	switch (column) {
	case KBFILE_ID:
		if (len == 0)
			return linefile_error(file, "id is empty");
		for (size_t i = 0; i < len; i++)
			if (s[i] == ' ')
				return linefile_error(file, "id '%.*s' holds a space",
						      linefile_shown(s, len, 64), s);
		return 0;
	case KBFILE_QUESTION:
	case KBFILE_ANSWER:
		if (blank(s, len))
			return linefile_error(file, "%s is empty", name);
		return 0;
	case KBFILE_UPDATED: {
		int year, month, day;
		int rc = dates_parse_ymd(s, len, &year, &month, &day);
		if (rc == -1)
			return linefile_error(file, "updated '%.*s' is not a date (YYYY-MM-DD)",
					      linefile_shown(s, len, 32), s);
		if (rc != 0 || year < 1)
			return linefile_error(file, "updated '%.*s' is not a real date",
					      linefile_shown(s, len, 32), s);
		return 0;
	}
	default:
		return 0;
	}
}

/* Copies the record into a new entry of out (fields checked first). */
static int add_entry(struct kbfile *out, struct csv_reader *r, struct linefile *file,
		     const int order[KBFILE_NCOLUMNS])
{
	file->lineno = r->record_line;
	if (r->nfields != KBFILE_NCOLUMNS)
		return linefile_error(file, "%zu fields; the header has %d", r->nfields,
				      KBFILE_NCOLUMNS);
	size_t total = 0;
	for (size_t i = 0; i < r->nfields; i++) {
		if (check_field(file, order[i], r->fields[i].data, r->fields[i].len) != 0)
			return -1;
		total += r->fields[i].len + 1;
	}
	if (out->count == KBFILE_MAX_ENTRIES)
		return linefile_error(file, "more than %d entries", KBFILE_MAX_ENTRIES);
	if (out->count == out->cap) {
		size_t cap = out->cap ? 2 * out->cap : 64;
		struct kbfile_entry *entries = realloc(out->entries, cap * sizeof(*entries));
		if (!entries)
			return linefile_out_of_memory(file);
		out->entries = entries;
		out->cap = cap;
	}
	struct kbfile_entry *e = &out->entries[out->count];
	if (!(e->block = malloc(total)))
		return linefile_out_of_memory(file);
	char *p = e->block;
	for (size_t i = 0; i < r->nfields; i++) {
		memcpy(p, r->fields[i].data, r->fields[i].len + 1);
		e->fields[order[i]] = p;
		e->lens[order[i]] = r->fields[i].len;
		p += r->fields[i].len + 1;
	}
	e->line = r->record_line;
	out->count++;
	return 0;
}

static int by_id_then_line(const void *a, const void *b)
{
	const struct kbfile_entry *x = *(const struct kbfile_entry *const *)a;
	const struct kbfile_entry *y = *(const struct kbfile_entry *const *)b;
	int c = strcmp(x->fields[KBFILE_ID], y->fields[KBFILE_ID]);
	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Refuses an id given twice, naming the earliest second use and the line it repeats. */
static int check_unique(const struct kbfile *f, struct linefile *file)
{
	if (f->count < 2)
		return 0;
	const struct kbfile_entry **sorted = malloc(f->count * sizeof(*sorted));
	if (!sorted)
		return linefile_out_of_memory(file);
	for (size_t i = 0; i < f->count; i++)
		sorted[i] = &f->entries[i];
	qsort(sorted, f->count, sizeof(*sorted), by_id_then_line);
	const struct kbfile_entry *again = NULL, *first = NULL;
	for (size_t i = 1, run = 0; i < f->count; i++) {
		if (strcmp(sorted[i]->fields[KBFILE_ID], sorted[run]->fields[KBFILE_ID]) != 0) {
			run = i;
			continue;
		}
		if (i == run + 1 && (!again || sorted[i]->line < again->line)) {
			again = sorted[i];
			first = sorted[run];
		}
	}
	free(sorted);
	if (!again)
		return 0;
	file->lineno = again->line;
	return linefile_error(file, "id '%s' is used again (first on line %u)",
			      again->fields[KBFILE_ID], first->line);
}

int kbfile_parse(const char *filename, const char *text, size_t len, struct kbfile *out, char *err,
		 size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct linefile file = { .filename = filename, .err = err, .errlen = errlen };
	struct csv_reader r;
	csv_init(&r, text, len, MAX_CSV_FIELDS, KBFILE_MAX_ANSWER, &file);
	int order[KBFILE_NCOLUMNS];
	int rc = read_header(&r, &file, order);
	while (rc == 0) {
		int next = csv_next(&r);
		if (next <= 0) {
			rc = next;
			break;
		}
		if (r.nfields == 1 && r.fields[0].len == 0)
			continue; /* a blank line */
		rc = add_entry(out, &r, &file, order);
	}
	csv_free(&r);
	if (rc == 0)
		rc = check_unique(out, &file);
	if (rc != 0)
		kbfile_free(out);
	return rc;
}
