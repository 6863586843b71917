/*
 * test_kbfile.c - unit tests of lib/kbfile.c (the knowledge base's CSV file).
 *
 * Owns: the header (six named columns in any order), blank lines, each field's
 * limits and checks, duplicate ids, and the "file:line: reason" of every
 * refusal, naming the line an entry starts on; a refused file leaves nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kbfile.h"

#define HEADER "id,question,answer,category,department,updated\n"

static char err[512];

static int parse(const char *text, struct kbfile *f)
{
	err[0] = '\0';
	return kbfile_parse("kb.csv", text, strlen(text), f, err, sizeof(err));
}

/* The error of a file that must be refused. */
static const char *refusal(const char *text)
{
	struct kbfile f;
	assert_int_equal(parse(text, &f), -1);
	assert_int_equal(f.count, 0);
	assert_null(f.entries);
	return err;
}

static void test_entries_in_any_column_order(void **state)
{
	struct kbfile f;
	const char *text = "\xEF\xBB\xBF"
			   "updated,department,category,answer,question,id\r\n"
			   "2026-03-01,sanitation,环卫,\"每周二、五清运，\"\"大件\"\"另约。\","
			   "小区垃圾多久清运一次？,KB-1\r\n"
			   "\r\n"
			   "2025-12-31,,,\"第一行\n第二行\",停水怎么办,KB-2\r\n";
	assert_int_equal(parse(text, &f), 0);
	assert_int_equal(f.count, 2);
	struct kbfile_entry *e = &f.entries[0];
	assert_string_equal(e->fields[KBFILE_ID], "KB-1");
	assert_string_equal(e->fields[KBFILE_QUESTION], "小区垃圾多久清运一次？");
	assert_string_equal(e->fields[KBFILE_ANSWER], "每周二、五清运，\"大件\"另约。");
	assert_string_equal(e->fields[KBFILE_CATEGORY], "环卫");
	assert_string_equal(e->fields[KBFILE_DEPARTMENT], "sanitation");
	assert_string_equal(e->fields[KBFILE_UPDATED], "2026-03-01");
	assert_int_equal(e->lens[KBFILE_ID], 4);
	assert_int_equal(e->line, 2);
	e = &f.entries[1];
	assert_string_equal(e->fields[KBFILE_ANSWER], "第一行\n第二行");
	assert_string_equal(e->fields[KBFILE_CATEGORY], "");
	assert_int_equal(e->line, 4);
	kbfile_free(&f);
	assert_int_equal(f.count, 0);

	assert_int_equal(parse(HEADER, &f), 0); /* a header alone: no entries */
	assert_int_equal(f.count, 0);
	kbfile_free(&f);
}

static void test_header(void **state)
{
	assert_string_equal(refusal(""), "kb.csv: empty: the first line names the columns (id, "
					 "question, answer, category, department, updated)");
	assert_string_equal(refusal("id,question,answer\n"),
			    "kb.csv:1: the header has 3 columns; it names these six: id, question, "
			    "answer, category, department, updated");
	assert_string_equal(
		refusal("id,question,answer,category,dept,updated\n"),
		"kb.csv:1: unknown column 'dept' (the columns are id, question, answer, "
		"category, department, updated)");
	assert_string_equal(refusal("id,question,answer,category,id,updated\n"),
			    "kb.csv:1: column 'id' is named twice");
	/* names are exact: no case folding, no trimming */
	assert_string_equal(refusal("ID,question,answer,category,department,updated\n"),
			    "kb.csv:1: unknown column 'ID' (the columns are id, question, answer, "
			    "category, department, updated)");
}

static void test_fields(void **state)
{
	assert_string_equal(refusal(HEADER "a,b,c,d,e\n"), "kb.csv:2: 5 fields; the header has 6");
	assert_string_equal(refusal(HEADER ",q,a,,,2026-01-01\n"), "kb.csv:2: id is empty");
	assert_string_equal(refusal(HEADER "a b,q,a,,,2026-01-01\n"),
			    "kb.csv:2: id 'a b' holds a space");
	assert_string_equal(refusal(HEADER "x,\" \n\",a,,,2026-01-01\n"),
			    "kb.csv:2: question is empty");
	assert_string_equal(refusal(HEADER "x,q,,,,2026-01-01\n"), "kb.csv:2: answer is empty");
	assert_string_equal(refusal(HEADER "x,q,a,\"c\nd\",,2026-01-01\n"),
			    "kb.csv:2: category holds a control character");
	assert_string_equal(refusal(HEADER "x,q\x01,a,,,2026-01-01\n"),
			    "kb.csv:2: question holds a control character");
	assert_string_equal(refusal(HEADER "x,q,a\xff,,,2026-01-01\n"),
			    "kb.csv:2: answer is not valid UTF-8 or holds a NUL byte");
	assert_string_equal(refusal(HEADER "x,q,a,,,2026-1-01\n"),
			    "kb.csv:2: updated '2026-1-01' is not a date (YYYY-MM-DD)");
	assert_string_equal(refusal(HEADER "x,q,a,,,2026-02-29\n"),
			    "kb.csv:2: updated '2026-02-29' is not a real date");
	assert_string_equal(refusal(HEADER "x,q,a,,,0000-01-01\n"),
			    "kb.csv:2: updated '0000-01-01' is not a real date");
	assert_string_equal(refusal(HEADER "x,q,a,,,\n"),
			    "kb.csv:2: updated '' is not a date (YYYY-MM-DD)");
	/* the line named is the one the entry starts on */
	assert_string_equal(refusal(HEADER "x,\"q\nq\",a,,,2026-01-01\ny,q,a,,,2026-13-01\n"),
			    "kb.csv:4: updated '2026-13-01' is not a real date");
	/* a CSV error keeps its own line */
	assert_string_equal(refusal(HEADER "x,q,a,,,2026-01-01\ny,\"q,a,,,2026-01-01\n"),
			    "kb.csv:3: a quoted field that opens on this line is never closed");
}

static void test_nul_byte_is_refused(void **state)
{
	static const char text[] = HEADER "x,q\0q,a,,,2026-01-01\n";
	struct kbfile f;
	assert_int_equal(kbfile_parse("kb.csv", text, sizeof(text) - 1, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "kb.csv:2: question is not valid UTF-8 or holds a NUL byte");
}

/* A file whose one entry has a field of n bytes in column c. */
static int parse_sized(enum kbfile_column c, size_t n)
{
	static char text[40000];
	char field[20000];
	memset(field, 'x', n);
	field[n] = '\0';
	const char *v[KBFILE_NCOLUMNS] = { "id", "q", "a", "c", "d", "2026-01-01" };
	v[c] = field;
	snprintf(text, sizeof(text), HEADER "%s,%s,%s,%s,%s,%s\n", v[0], v[1], v[2], v[3], v[4],
		 v[5]);
	struct kbfile f;
	int rc = parse(text, &f);
	kbfile_free(&f);
	return rc;
}

static void test_limits(void **state)
{
	assert_int_equal(parse_sized(KBFILE_ID, KBFILE_MAX_ID), 0);
	assert_int_equal(parse_sized(KBFILE_ID, KBFILE_MAX_ID + 1), -1);
	assert_string_equal(err, "kb.csv:2: id is longer than 64 bytes");
	assert_int_equal(parse_sized(KBFILE_QUESTION, KBFILE_MAX_QUESTION), 0);
	assert_int_equal(parse_sized(KBFILE_QUESTION, KBFILE_MAX_QUESTION + 1), -1);
	assert_string_equal(err, "kb.csv:2: question is longer than 2000 bytes");
	assert_int_equal(parse_sized(KBFILE_ANSWER, KBFILE_MAX_ANSWER), 0);
	assert_int_equal(parse_sized(KBFILE_ANSWER, KBFILE_MAX_ANSWER + 1), -1);
	assert_string_equal(err, "kb.csv:2: a field is longer than 16000 bytes");
	assert_int_equal(parse_sized(KBFILE_CATEGORY, KBFILE_MAX_LABEL), 0);
	assert_int_equal(parse_sized(KBFILE_CATEGORY, KBFILE_MAX_LABEL + 1), -1);
	assert_string_equal(err, "kb.csv:2: category is longer than 200 bytes");
	assert_int_equal(parse_sized(KBFILE_DEPARTMENT, KBFILE_MAX_LABEL + 1), -1);
	assert_string_equal(err, "kb.csv:2: department is longer than 200 bytes");
}

static void test_duplicate_ids(void **state)
{
	assert_string_equal(refusal(HEADER "b,q,a,,,2026-01-01\n"
					   "a,q,a,,,2026-01-01\n"
					   "c,q,a,,,2026-01-01\n"
					   "b,q,a,,,2026-01-01\n"
					   "a,q,a,,,2026-01-01\n"
					   "a,q,a,,,2026-01-01\n"),
			    "kb.csv:5: id 'b' is used again (first on line 2)");
	/* ids differ by case: two entries */
	struct kbfile f;
	assert_int_equal(parse(HEADER "a,q,a,,,2026-01-01\nA,q,a,,,2026-01-01\n", &f), 0);
	assert_int_equal(f.count, 2);
	kbfile_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entries_in_any_column_order),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_nul_byte_is_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_duplicate_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
