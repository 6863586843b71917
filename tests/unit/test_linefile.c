/*
 * test_linefile.c - unit tests of lib/linefile.c (lines of operator-written files).
 *
 * Owns: what a parser built on linefile_parse is promised: which lines it
 * sees (BOM, CRLF, blank and '#' lines, white space incl. U+3000 trimmed),
 * how a line is cut into keyword and rest, the line checks and their
 * messages, and the "file:line: " / "file: " prefixes.
 * Never: depends on a real file format (rules.c and calendar.c have theirs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "linefile.h"

/* Records "lineno:keyword|rest" per line; fails on the keyword "bad". */
struct seen {
	struct linefile *file;
	char lines[8][64];
	int n;
};

static int record(void *arg, const char *keyword, size_t keyword_len, const char *rest,
		  const char *end)
{
	struct seen *seen = arg;
	if (keyword_len == 3 && memcmp(keyword, "bad", 3) == 0)
		return linefile_error(seen->file, "bad line");
	snprintf(seen->lines[seen->n++], sizeof(seen->lines[0]), "%u:%.*s|%.*s", seen->file->lineno,
		 (int)keyword_len, keyword, (int)(end - rest), rest);
	return 0;
}

static int parse(const char *text, struct seen *seen, char *err, size_t errlen)
{
	static struct linefile file;
	file = (struct linefile){ .filename = "t.txt", .err = err, .errlen = errlen };
	memset(seen, 0, sizeof(*seen));
	seen->file = &file;
	return linefile_parse(&file, text, strlen(text), 24, record, seen);
}

static void test_lines_keywords_and_rest(void **state)
{
	struct seen seen;
	char err[128] = "";
	const char *text = "\xEF\xBB\xBF"
			   "year 2026\r\n"
			   "\n"
			   "# a comment\n"
			   "  \t\n"
			   "\xE3\x80\x80holiday  a b\xE3\x80\x80\n"
			   "last";
	assert_int_equal(parse(text, &seen, err, sizeof(err)), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.lines[0], "1:year|2026");
	assert_string_equal(seen.lines[1], "5:holiday|a b");
	assert_string_equal(seen.lines[2], "6:last|");
	assert_string_equal(err, "");
}

static void test_line_checks(void **state)
{
	struct seen seen;
	char err[128];
	assert_int_equal(parse("ok\nthis line is far too long\n", &seen, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: line is longer than 24 bytes");
	assert_int_equal(parse("a\x01 b\n", &seen, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:1: control character (byte 0x01) in line");
	assert_int_equal(parse("x\n\xff\n", &seen, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: invalid UTF-8");
	assert_int_equal(seen.n, 1);
}

static void test_stops_at_parser_failure(void **state)
{
	struct seen seen;
	char err[128];
	assert_int_equal(parse("a\nbad x\nc\n", &seen, err, sizeof(err)), -1);
	assert_string_equal(err, "t.txt:2: bad line");
	assert_int_equal(seen.n, 1); /* "c" never seen */
}

static void test_error_prefix_and_cut(void **state)
{
	char err[12];
	struct linefile file = {
		.filename = "rules", .lineno = 0, .err = err, .errlen = sizeof(err)
	};
	assert_int_equal(linefile_out_of_memory(&file), -1);
	assert_string_equal(err, "rules: out ");
	file.lineno = 7;
	assert_int_equal(linefile_error(&file, "%s", "x"), -1);
	assert_string_equal(err, "rules:7: x");
	file.err = NULL;
	assert_int_equal(linefile_error(&file, "ignored"), -1);
}

static void test_shown(void **state)
{
	assert_int_equal(linefile_shown("abc", 3, 64), 3);
	assert_int_equal(linefile_shown("abcdef", 6, 4), 4);
	/* "中" is 3 bytes: never cut inside it */
	assert_int_equal(linefile_shown("a\xe4\xb8\xad", 4, 2), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_keywords_and_rest),
		cmocka_unit_test(test_line_checks),
		cmocka_unit_test(test_stops_at_parser_failure),
		cmocka_unit_test(test_error_prefix_and_cut),
		cmocka_unit_test(test_shown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
