/*
 * fuzz_csv.c - libFuzzer target for lib/csv.c and lib/kbfile.c: a CSV file as
 * hotlinectl kb import reads it.
 *
 * Owns: throwing arbitrary bytes at the CSV reader with small bounds, checking
 * what comes out: no record has more fields or a field more bytes than
 * allowed, every field is NUL-terminated inside the reader's buffer, records
 * start on lines that never go back and never lie past the text's line
 * breaks; and at the knowledge-base format: an accepted file's entries are
 * valid UTF-8 within their limits with unique ids, a refused one leaves no
 * entries and says why, naming the file.
 * Never: does I/O. Run as in tests/fuzz/README.md.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "kbfile.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 4
#define MAX_FIELD 16

static void fuzz_reader(const char *text, size_t len)
{
	unsigned breaks = 1;
	for (size_t i = 0; i < len; i++)
		breaks += text[i] == '\n';
	char err[256];
	struct linefile file = { .filename = "f.csv", .err = err, .errlen = sizeof(err) };
	struct csv_reader r;
	csv_init(&r, text, len, MAX_FIELDS, MAX_FIELD, &file);
	unsigned last_line = 0;
	int rc;
	while ((rc = csv_next(&r)) == 1) {
		if (r.nfields == 0 || r.nfields > MAX_FIELDS || r.record_line <= last_line ||
		    r.record_line > breaks)
			abort();
		last_line = r.record_line;
		for (size_t i = 0; i < r.nfields; i++) {
			const struct csv_field *f = &r.fields[i];
			if (f->len > MAX_FIELD || f->data < r.buf ||
			    f->data + f->len >= r.buf + r.buf_len || f->data[f->len] != '\0')
				abort();
		}
	}
	if (rc < 0 && strncmp(err, "f.csv", 5) != 0)
		abort();
	csv_free(&r);
}

static void fuzz_kbfile(const char *text, size_t len)
{
	static const size_t max[KBFILE_NCOLUMNS] = { KBFILE_MAX_ID,	KBFILE_MAX_QUESTION,
						     KBFILE_MAX_ANSWER, KBFILE_MAX_LABEL,
						     KBFILE_MAX_LABEL,	10 };
	char err[512] = "";
	struct kbfile f;
	if (kbfile_parse("kb.csv", text, len, &f, err, sizeof(err)) != 0) {
		if (f.count != 0 || f.entries != NULL || strncmp(err, "kb.csv", 6) != 0)
			abort();
		return;
	}
	for (size_t i = 0; i < f.count; i++) {
		const struct kbfile_entry *e = &f.entries[i];
		for (int c = 0; c < KBFILE_NCOLUMNS; c++)
			if (e->lens[c] > max[c] || strlen(e->fields[c]) != e->lens[c] ||
			    !utf8_valid(e->fields[c], e->lens[c]))
				abort();
		if (e->lens[KBFILE_ID] == 0 || e->lens[KBFILE_UPDATED] != 10)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(f.entries[j].fields[KBFILE_ID], e->fields[KBFILE_ID]) == 0)
				abort();
	}
	kbfile_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reader((const char *)data, size);
	fuzz_kbfile((const char *)data, size);
	return 0;
}
