/*
 * test_cli_table.c - the readable output of the command-line tools: display
 * widths of Chinese and other text, cells made safe for a terminal and
 * clipped, tables whose columns line up whatever the characters, fields with
 * line breaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli_table.h"

static void test_char_width(void **state)
{
	assert_int_equal(cli_char_width('a'), 1);
	assert_int_equal(cli_char_width(0x4E2D), 2);  /* 中 */
	assert_int_equal(cli_char_width(0x3000), 2);  /* the ideographic space */
	assert_int_equal(cli_char_width(0xFF0C), 2);  /* ， fullwidth comma */
	assert_int_equal(cli_char_width(0x3002), 2);  /* 。 */
	assert_int_equal(cli_char_width(0xAC00), 2);  /* 가 */
	assert_int_equal(cli_char_width(0x20BB7), 2); /* 𠮷, outside the BMP */
	assert_int_equal(cli_char_width(0x1F600), 2); /* an emoji */
	assert_int_equal(cli_char_width(0x0301), 0);  /* a combining acute */
	assert_int_equal(cli_char_width(0x200B), 0);  /* zero width space */
	assert_int_equal(cli_char_width(0xFF61), 1);  /* halfwidth katakana stop */
	assert_int_equal(cli_char_width(0x00E9), 1);  /* é */
	assert_int_equal(cli_char_width(0x303F), 1);
}

static void test_text_width(void **state)
{
	assert_int_equal(cli_text_width(""), 0);
	assert_int_equal(cli_text_width("ticket_no"), 9);
	assert_int_equal(cli_text_width("崇川区"), 6);
	assert_int_equal(cli_text_width("小区垃圾清运不及时，已经三天没人收了"), 36);
	assert_int_equal(cli_text_width("A区3号"), 6);
	assert_int_equal(cli_text_width("e\xcc\x81"), 1);    /* e + combining acute */
	assert_int_equal(cli_text_width("a\nb\x1b"), 4);     /* controls are shown as one column */
	assert_int_equal(cli_text_width("\xff\xfe"), 2);     /* invalid bytes: one each */
	assert_int_equal(cli_text_width("\xe4\xb8"), 2);     /* a cut sequence */
	assert_int_equal(cli_text_width("\xed\xa0\x80"), 3); /* a surrogate is not text */
}

static void expect_cell(const char *in, size_t max, const char *want)
{
	char *got = cli_cell_text(in, max);
	assert_string_equal(got, want);
	if (max > 3)
		assert_true(cli_text_width(got) <= max);
	free(got);
}

static void test_cells(void **state)
{
	expect_cell(NULL, 0, "-");
	expect_cell("plain", 0, "plain");
	/* line breaks and tabs are blanks, other controls and escape sequences '?' */
	expect_cell("a\r\nb\tc", 0, "a  b c");
	expect_cell("red \x1b[31mALERT\x1b[0m", 0, "red ?[31mALERT?[0m");
	expect_cell("c1 \xc2\x9b"
		    "2J",
		    0, "c1 ?2J");
	expect_cell("del\x7f", 0, "del?");
	expect_cell("\xff", 0, "?");
	/* clipped to the width, never cutting a wide character in half */
	expect_cell("abcdefghij", 10, "abcdefghij");
	expect_cell("abcdefghijk", 10, "abcdefg...");
	expect_cell("小区垃圾清运不及时", 10, "小区垃...");
	expect_cell("小区垃圾清运不及时", 11, "小区垃圾...");
	expect_cell("小区垃圾清运不及时", 18, "小区垃圾清运不及时");
	expect_cell("a小区垃圾", 8, "a小区...");
}

/* What print writes, as a string (the caller frees it). */
static char *captured(void (*print)(FILE *out, void *arg), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	print(out, arg);
	fclose(out);
	return buf;
}

static void print_table(FILE *out, void *arg)
{
	static const char *const heads[] = { "ticket_no", "district", "content" };
	static const size_t max[] = { 0, 0, 12 };
	struct cli_table t;
	cli_table_init(&t, 3, heads, max);
	cli_table_row(&t, (const char *const[]){ "20261207-00000001", "崇川区", "路灯不亮" });
	cli_table_row(&t, (const char *const[]){ "20261207-00000002", "A", "小区垃圾清运不及时" });
	cli_table_row(&t, (const char *const[]){ "X", NULL, "two\nlines" });
	cli_table_print(&t, out);
	cli_table_free(&t);
}

static void test_table_aligns(void **state)
{
	char *text = captured(print_table, NULL);
	assert_string_equal(text, "ticket_no          district  content\n"
				  "20261207-00000001  崇川区    路灯不亮\n"
				  "20261207-00000002  A         小区垃圾...\n"
				  "X                  -         two lines\n");
	/* every column starts at the same display column on every line */
	free(text);
}

static void print_fields(FILE *out, void *arg)
{
	cli_print_field(out, "state", 9, "DISPATCHED");
	cli_print_field(out, "content", 9, "第一行\r\n第二行\x1b");
	cli_print_field(out, "reply", 9, NULL);
	cli_print_field(out, "a_very_long_key", 9, "v");
}

static void test_fields(void **state)
{
	char *text = captured(print_fields, NULL);
	assert_string_equal(text, "state      DISPATCHED\n"
				  "content    第一行\n"
				  "           第二行?\n"
				  "reply      -\n"
				  "a_very_long_key  v\n");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_char_width), cmocka_unit_test(test_text_width),
		cmocka_unit_test(test_cells),	   cmocka_unit_test(test_table_aligns),
		cmocka_unit_test(test_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
