/*
 * test_csv.c - unit tests of lib/csv.c (RFC 4180 records).
 *
 * Owns: what a format built on csv_next is promised: fields and records as
 * RFC 4180 cuts them (quotes, "" escapes, commas and line breaks inside
 * quotes, LF and CRLF, a BOM, a missing last line break, empty fields), the
 * line each record starts on, and every refusal with its "file:line: reason".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "csv.h"

/* Every record of text as "line:f1|f2|..." joined by '\n'; or the error. */
static const char *records(const char *text, size_t len, size_t max_fields, size_t max_field)
{
	static char out[1024];
	char err[256] = "";
	struct linefile file = { .filename = "t.csv", .err = err, .errlen = sizeof(err) };
	struct csv_reader r;
	csv_init(&r, text, len, max_fields, max_field, &file);
	size_t n = 0;
	out[0] = '\0';
	int rc;
	while ((rc = csv_next(&r)) == 1) {
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%u:", n ? "\n" : "",
				      r.record_line);
		for (size_t i = 0; i < r.nfields; i++) {
			assert_int_equal(r.fields[i].data[r.fields[i].len], '\0');
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", i ? "|" : "",
					      (int)r.fields[i].len, r.fields[i].data);
		}
	}
	if (rc < 0)
		snprintf(out, sizeof(out), "error %s", err);
	csv_free(&r);
	return out;
}

static const char *all(const char *text)
{
	return records(text, strlen(text), 16, 100);
}

static void test_plain_records(void **state)
{
	assert_string_equal(all("a,b,c\n1,2,3\n"), "1:a|b|c\n2:1|2|3");
	assert_string_equal(all("a,b\r\n1,2\r\n"), "1:a|b\n2:1|2");
	assert_string_equal(all("a,b\n1,2"), "1:a|b\n2:1|2"); /* no last line break */
	assert_string_equal(all(",,\n"), "1:||");	      /* empty fields */
	assert_string_equal(all("a,\n"), "1:a|");
	assert_string_equal(all("x\n\ny\n"), "1:x\n2:\n3:y"); /* a blank line: one empty field */
	assert_string_equal(all(""), "");
	assert_string_equal(all("\xEF\xBB\xBF"), "");
	assert_string_equal(all("\xEF\xBB\xBFid,q\n"), "1:id|q");
	/* a BOM anywhere else is text */
	assert_string_equal(all("a,\xEF\xBB\xBF\n"), "1:a|\xEF\xBB\xBF");
	/* spaces are kept, as RFC 4180 says */
	assert_string_equal(all(" a , b \n"), "1: a | b ");
	assert_string_equal(all("垃圾清运,停水\n"), "1:垃圾清运|停水");
}

static void test_quoted_fields(void **state)
{
	assert_string_equal(all("\"a,b\",c\n"), "1:a,b|c");
	assert_string_equal(all("\"say \"\"hi\"\"\",x\n"), "1:say \"hi\"|x");
	assert_string_equal(all("\"\",\"\"\n"), "1:|");
	assert_string_equal(all("\"\"\"\"\n"), "1:\"");
	/* line breaks inside quotes are kept, and counted: the next record starts on line 4 */
	assert_string_equal(all("\"one\ntwo\r\nthree\",x\nnext,y\n"),
			    "1:one\ntwo\r\nthree|x\n4:next|y");
	assert_string_equal(all("a,\"b\"\r\nc,\"d\""), "1:a|b\n2:c|d");
	assert_string_equal(all("\"a\",\n"), "1:a|");
}

static void test_refusals(void **state)
{
	assert_string_equal(
		all("id,q\n1,\"never closed\n\nmore\n"),
		"error t.csv:2: a quoted field that opens on this line is never closed");
	assert_string_equal(
		all("a,b\nx,\"y\"z\n"),
		"error t.csv:2: text after the closing quote of a field (a quote inside "
		"a quoted field is written twice: \"\")");
	assert_string_equal(
		all("a,b\n\"x\" ,y\n"),
		"error t.csv:2: text after the closing quote of a field (a quote inside "
		"a quoted field is written twice: \"\")");
	assert_string_equal(all("a,b\nx,y\"z\n"),
			    "error t.csv:2: a double quote inside a field that does not start "
			    "with one (quote the whole field and write the quote twice: \"\")");
	assert_string_equal(all("a,b\rc\n"),
			    "error t.csv:1: a carriage return not followed by a line feed");
	/* the line of an error inside a record is the line it is on */
	assert_string_equal(
		all("a,\"b\nc\"x\n"),
		"error t.csv:2: text after the closing quote of a field (a quote inside "
		"a quoted field is written twice: \"\")");
}

static void test_bounds(void **state)
{
	assert_string_equal(records("a,b,c\n", 6, 3, 10), "1:a|b|c");
	assert_string_equal(records("a,b,c,d\n", 8, 3, 10),
			    "error t.csv:1: a record has more than 3 fields");
	assert_string_equal(records("abcde,x\n", 8, 3, 5), "1:abcde|x");
	assert_string_equal(records("abcdef,x\n", 9, 3, 5),
			    "error t.csv:1: a field is longer than 5 bytes");
	assert_string_equal(records("\"ab\"\"cd\"\n", 9, 3, 5), "1:ab\"cd");
	assert_string_equal(records("\"ab\"\"cde\"\n", 10, 3, 5),
			    "error t.csv:1: a field is longer than 5 bytes");
}

static void test_text_is_not_read_past_its_length(void **state)
{
	/* "a,b" of "a,b,c": the reader stops at len, not at a NUL */
	assert_string_equal(records("a,b,c", 3, 16, 100), "1:a|b");
	/* a record ending in a comma at the end of the text has an empty last field */
	assert_string_equal(records("a,b,c", 2, 16, 100), "1:a|");
	assert_string_equal(
		records("\"a\"\"", 4, 16, 100),
		"error t.csv:1: a quoted field that opens on this line is never closed");
	/* NUL bytes are field bytes here (the format decides) */
	char err[128];
	struct linefile file = { .filename = "t.csv", .err = err, .errlen = sizeof(err) };
	struct csv_reader r;
	csv_init(&r, "a\0b,c\n", 6, 16, 100, &file);
	assert_int_equal(csv_next(&r), 1);
	assert_int_equal(r.nfields, 2);
	assert_int_equal(r.fields[0].len, 3);
	assert_memory_equal(r.fields[0].data, "a\0b", 4);
	assert_int_equal(csv_next(&r), 0);
	csv_free(&r);
}

static void test_many_records_reuse_the_buffer(void **state)
{
	char text[64 * 1024];
	size_t n = 0;
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%d,\"v\"\"%d\"\n", i, i);
	char err[128];
	struct linefile file = { .filename = "t.csv", .err = err, .errlen = sizeof(err) };
	struct csv_reader r;
	csv_init(&r, text, n, 4, 64, &file);
	int count = 0;
	while (csv_next(&r) == 1) {
		char want[32];
		snprintf(want, sizeof(want), "v\"%d", count);
		assert_int_equal(r.nfields, 2);
		assert_string_equal(r.fields[1].data, want);
		assert_int_equal(r.record_line, (unsigned)count + 1);
		count++;
	}
	assert_int_equal(count, 2000);
	csv_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_records),
		cmocka_unit_test(test_quoted_fields),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_text_is_not_read_past_its_length),
		cmocka_unit_test(test_many_records_reuse_the_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
