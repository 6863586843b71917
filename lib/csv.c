/*
 * csv.c - CSV records (see csv.h).
 *
 * One pass over the text, byte by byte: a field's bytes (quotes undone) are
 * appended to the reader's buffer, each followed by a NUL, and the fields are
 * pointed at once the record is complete (the buffer may move while it grows).
 */
#include "csv.h"

#include <stdlib.h>
#include <string.h>

void csv_init(struct csv_reader *r, const char *text, size_t len, size_t max_fields,
	      size_t max_field, struct linefile *file)
{
	memset(r, 0, sizeof(*r));
	r->p = text ? text : "";
	r->end = r->p + (text ? len : 0);
	if (r->end - r->p >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0)
		r->p += 3;
	r->line = 1;
	r->max_fields = max_fields;
	r->max_field = max_field;
	r->file = file;
}

void csv_free(struct csv_reader *r)
{
	free(r->buf);
	free(r->fields);
	free(r->offsets);
	r->buf = NULL;
	r->fields = NULL;
	r->offsets = NULL;
}

static int fail_at(struct csv_reader *r, unsigned line, const char *reason)
{
	r->file->lineno = line;
	return linefile_error(r->file, "%s", reason);
}

/* Appends byte c to the buffer. */
static int append(struct csv_reader *r, char c)
{
	if (r->buf_len == r->buf_cap) {
		size_t cap = r->buf_cap ? 2 * r->buf_cap : 256;
		char *buf = realloc(r->buf, cap);
		if (!buf)
			return linefile_out_of_memory(r->file);
		r->buf = buf;
		r->buf_cap = cap;
	}
	r->buf[r->buf_len++] = c;
	return 0;
}

/* Appends c to the field being read (which began at buf offset start). */
static int put(struct csv_reader *r, size_t start, char c)
{
	if (r->buf_len - start >= r->max_field) {
		r->file->lineno = r->line;
		return linefile_error(r->file, "a field is longer than %zu bytes", r->max_field);
	}
	return append(r, c);
}

/* Begins field number r->nfields at the buffer's end. */
static int begin_field(struct csv_reader *r)
{
	if (r->nfields == r->max_fields) {
		r->file->lineno = r->line;
		return linefile_error(r->file, "a record has more than %zu fields", r->max_fields);
	}
	if (r->nfields == r->fields_cap) {
		size_t cap = r->fields_cap ? 2 * r->fields_cap : 8;
		if (cap > r->max_fields)
			cap = r->max_fields;
		size_t *offsets = realloc(r->offsets, cap * sizeof(*offsets));
		if (!offsets)
			return linefile_out_of_memory(r->file);
		r->offsets = offsets;
		struct csv_field *fields = realloc(r->fields, cap * sizeof(*fields));
		if (!fields)
			return linefile_out_of_memory(r->file);
		r->fields = fields;
		r->fields_cap = cap;
	}
	r->offsets[r->nfields] = r->buf_len;
	return 0;
}

enum field_end { END_FIELD, END_RECORD };

/*
 * At a record's line break (or the text's end) after a field: consumes it.
 * Returns END_RECORD when there was one, END_FIELD after a comma, -1 on
 * anything else (the caller says what was wrong).
 */
static int field_end(struct csv_reader *r)
{
	if (r->p == r->end)
		return END_RECORD;
	if (*r->p == ',') {
		r->p++;
		return END_FIELD;
	}
	if (*r->p == '\n' || (*r->p == '\r' && r->end - r->p >= 2 && r->p[1] == '\n')) {
		r->p += *r->p == '\r' ? 2 : 1;
		r->line++;
		return END_RECORD;
	}
	return -1;
}

/* A quoted field, r->p at its opening quote: END_FIELD, END_RECORD or -1. */
static int quoted_field(struct csv_reader *r, size_t start)
{
	unsigned opened = r->line;
	r->p++;
	for (;;) {
		if (r->p == r->end)
			return fail_at(r, opened,
				       "a quoted field that opens on this line is never closed");
		char c = *r->p;
		if (c == '"') {
			if (r->end - r->p >= 2 && r->p[1] == '"') {
				r->p += 2;
			} else {
				r->p++;
				break;
			}
		} else {
			if (c == '\n')
				r->line++;
			r->p++;
		}
		if (put(r, start, c) != 0)
			return -1;
	}
	int end = field_end(r);
	if (end < 0)
		return fail_at(r, r->line,
			       "text after the closing quote of a field (a quote inside a quoted "
			       "field is written twice: \"\")");
	return end;
}

/* An unquoted field: END_FIELD, END_RECORD or -1. */
static int plain_field(struct csv_reader *r, size_t start)
{
	for (;;) {
		int end = field_end(r);
		if (end >= 0)
			return end;
		char c = *r->p;
		if (c == '"')
			return fail_at(r, r->line,
				       "a double quote inside a field that does not start with one "
				       "(quote the whole field and write the quote twice: \"\")");
		if (c == '\r')
			return fail_at(r, r->line, "a carriage return not followed by a line feed");
		r->p++;
		if (put(r, start, c) != 0)
			return -1;
	}
}

int csv_next(struct csv_reader *r)
{
	if (r->p == r->end)
		return 0;
	r->record_line = r->line;
	r->nfields = 0;
	r->buf_len = 0;
	for (;;) {
		if (begin_field(r) != 0)
			return -1;
		size_t start = r->buf_len;
		int end = r->p < r->end && *r->p == '"' ? quoted_field(r, start)
							: plain_field(r, start);
		/* The NUL after the field is not part of it, nor counted against max_field. */
		if (end < 0 || append(r, '\0') != 0)
			return -1;
		r->nfields++;
		if (end == END_RECORD)
			break;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		size_t next = i + 1 < r->nfields ? r->offsets[i + 1] : r->buf_len;
		r->fields[i].data = r->buf + r->offsets[i];
		r->fields[i].len = next - r->offsets[i] - 1;
	}
	return 1;
}
