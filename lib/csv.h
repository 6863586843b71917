/*
 * csv.h - CSV text (RFC 4180) cut into records of fields.
 *
 * Owns: the syntax: fields separated by commas, records by CRLF or LF; a field
 * in double quotes may hold commas, line breaks and quotes (doubled: ""); a
 * UTF-8 BOM at the start is skipped; the last record may end without a line
 * break. The line each record starts on (lines counted by LF, also inside
 * quoted fields, as an editor shows them), for "file:line: reason" messages
 * (lib/linefile.h). Bounds on the fields of a record and the bytes of a field,
 * so a hostile file costs bounded memory.
 * Pure. Never: reads files, checks what a field holds (encoding, NUL bytes:
 * the caller's format does), or allocates per field (one growing buffer per
 * reader). Callers: lib/kbfile.c, tests/unit/test_csv.c, tests/fuzz/fuzz_csv.c.
 */
#ifndef HOTLINE_CSV_H
#define HOTLINE_CSV_H

#include <stddef.h>

#include "linefile.h"

struct csv_field {
	const char *data; /* the field's bytes, quotes undone, NUL-terminated (it may hold NULs) */
	size_t len;
};

struct csv_reader {
	const char *p, *end;	  /* what is left of the text */
	unsigned line;		  /* the line p is on */
	unsigned record_line;	  /* the line the last record began on */
	size_t max_fields;	  /* fields a record may have */
	size_t max_field;	  /* bytes a field may have */
	struct linefile *file;	  /* where errors are written ("file:line: reason") */
	struct csv_field *fields; /* the last record: fields[0..nfields) */
	size_t nfields;
	char *buf; /* the fields' bytes (owned) */
	size_t buf_len, buf_cap;
	size_t *offsets; /* each field's start in buf while the record is read (owned) */
	size_t fields_cap;
};

/*
 * Starts reading text[0..len) (borrowed: it must outlive the reader); errors
 * go to file, whose lineno csv_next sets. max_fields >= 1.
 */
void csv_init(struct csv_reader *r, const char *text, size_t len, size_t max_fields,
	      size_t max_field, struct linefile *file);

/*
 * Reads the next record into r->fields[0..r->nfields) (valid until the next
 * call) and r->record_line. An empty line is a record of one empty field.
 * Returns 1 with a record, 0 at the end of the text, or -1 with the reason in
 * the file's err: a quote inside an unquoted field, text after a closing
 * quote, a quoted field never closed (named by the line it opened on), a CR
 * not followed by LF outside quotes, too many fields, a field too long, or out
 * of memory.
 */
int csv_next(struct csv_reader *r) __attribute__((warn_unused_result));

void csv_free(struct csv_reader *r);

#endif
