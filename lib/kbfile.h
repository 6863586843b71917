/*
 * kbfile.h - a knowledge-base file: the CSV that `hotlinectl kb import` loads.
 *
 * Owns: the format (README "hotlinectl"): a header row naming the six columns
 * id, question, answer, category, department, updated in any order, then one
 * entry per record; blank lines are skipped. The limits of each field (the
 * same as kb_entries' CHECKs, deploy/sql/009_kb.sql), valid UTF-8 without NUL
 * bytes, `updated` a real date, ids unique in the file; every refusal as
 * "file:line: reason", naming the line the entry starts on.
 * Pure. Never: reads the file or talks to PostgreSQL (tools/ctl_kb.c does),
 * or accepts part of a file: one bad entry refuses the whole of it.
 * Callers: tools/ctl_kb.c, tests/unit/test_kbfile.c, tests/fuzz/fuzz_csv.c.
 */
#ifndef HOTLINE_KBFILE_H
#define HOTLINE_KBFILE_H

#include <stddef.h>

#define KBFILE_MAX_ID 64
#define KBFILE_MAX_QUESTION 2000
#define KBFILE_MAX_ANSWER 16000
#define KBFILE_MAX_LABEL 200 /* category, department */
#define KBFILE_MAX_ENTRIES 1000000

enum kbfile_column {
	KBFILE_ID,
	KBFILE_QUESTION,
	KBFILE_ANSWER,
	KBFILE_CATEGORY,
	KBFILE_DEPARTMENT,
	KBFILE_UPDATED,
	KBFILE_NCOLUMNS
};

/* The header's name of a column ("id", ...). */
const char *kbfile_column_name(enum kbfile_column column);

struct kbfile_entry {
	const char *fields[KBFILE_NCOLUMNS]; /* NUL-terminated, in `block` */
	size_t lens[KBFILE_NCOLUMNS];
	unsigned line; /* where its record starts */
	char *block;   /* the fields' bytes (owned) */
};

struct kbfile {
	struct kbfile_entry *entries; /* in file order */
	size_t count, cap;
};

/*
 * Reads text[0..len) (the file's bytes; filename names it in messages) into
 * *out (emptied first). Returns 0, or -1 with "filename:line: reason" (or
 * "filename: reason") in err and *out empty.
 */
int kbfile_parse(const char *filename, const char *text, size_t len, struct kbfile *out, char *err,
		 size_t errlen) __attribute__((warn_unused_result));

void kbfile_free(struct kbfile *f);

#endif
