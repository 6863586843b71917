/*
 * test_shown.c - unit tests of lib/shown.c (untrusted text in messages).
 *
 * Owns: what each kind of byte is shown as (printable ASCII, UTF-8, the quote
 * and backslash, control bytes, NUL, C1 controls, every kind of broken UTF-8),
 * that the cut falls between characters and escapes with "..." after it, and
 * that no out buffer size, down to 0, is overrun. Never: does I/O.
 * Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "shown.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static void expect_shown(const char *s, size_t len, size_t max, const char *want)
{
	char out[SHOWN_SIZE(256)];

	assert_true(max <= 256);
	assert_int_equal(shown_escape(s, len, max, out, SHOWN_SIZE(max)), strlen(want));
	assert_string_equal(out, want);
}

static void test_each_kind_of_byte(void **state)
{
	expect_shown(S(""), 64, "");
	expect_shown(S("plain key_1 ~!"), 64, "plain key_1 ~!");
	expect_shown(S("it's a \\ b"), 64, "it\\'s a \\\\ b");
	expect_shown(S("a\nb\rc\td"), 64, "a\\nb\\rc\\td");
	expect_shown(S("\x01\x1b[31m\x7f"), 64, "\\x01\\x1b[31m\\x7f");
	/* a NUL is shown, and what follows it too: the length is what counts */
	expect_shown(S("con\0tent"), 64, "con\\x00tent");
	expect_shown(S("\0"), 64, "\\x00");
	/* UTF-8 as it is, C1 controls (U+0080..U+009F) escaped, U+00A0 kept */
	expect_shown(S("路灯 é ☃ 😀"), 64, "路灯 é ☃ 😀");
	expect_shown(S("\xc2\x80\xc2\x85\xc2\x9f\xc2\xa0"), 64, "\\u0080\\u0085\\u009f\xc2\xa0");
}

static void test_broken_utf8(void **state)
{
	expect_shown(S("\xff\xfe"), 64, "\\xff\\xfe");
	expect_shown(S("a\x80z"), 64, "a\\x80z");			 /* lone continuation */
	expect_shown(S("\xe8\xb7"), 64, "\\xe8\\xb7");			 /* cut at the end */
	expect_shown(S("\xe8\xb7z"), 64, "\\xe8\\xb7z");		 /* cut in the middle */
	expect_shown(S("\xc0\xaf"), 64, "\\xc0\\xaf");			 /* overlong '/' */
	expect_shown(S("\xed\xa0\x80"), 64, "\\xed\\xa0\\x80");		 /* a surrogate */
	expect_shown(S("\xf4\x90\x80\x80"), 64, "\\xf4\\x90\\x80\\x80"); /* above U+10FFFF */
	expect_shown(S("\xe8\xb7\xaf\xe8"), 64, "路\\xe8");
}

static void test_cut(void **state)
{
	/* exactly max bytes fit; one more is cut with "..." */
	expect_shown(S("abcd"), 4, "abcd");
	expect_shown(S("abcde"), 4, "abcd...");
	expect_shown(S("abcde"), 0, "...");
	/* never inside a character or an escape */
	expect_shown(S("ab路"), 4, "ab...");
	expect_shown(S("ab路"), 5, "ab路");
	expect_shown(S("ab\x01"), 5, "ab...");
	expect_shown(S("ab\x01"), 6, "ab\\x01");
	expect_shown(S("a\xc2\x85"), 6, "a...");
	expect_shown(S("a\xc2\x85"), 7, "a\\u0085");
	expect_shown(S("a'"), 2, "a...");
}

/* out smaller than SHOWN_SIZE(max): the shown part shrinks, nothing overruns. */
static void test_small_out(void **state)
{
	char out[16];

	memset(out, 'Z', sizeof(out));
	assert_int_equal(shown_escape(S("abcdef"), 64, out, 0), 0);
	assert_int_equal(out[0], 'Z');
	assert_int_equal(shown_escape(S("abcdef"), 64, out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(out[1], 'Z');
	assert_int_equal(shown_escape(S("abcdef"), 64, out, 3), 0);
	assert_string_equal(out, "");
	assert_int_equal(shown_escape(S("abcdef"), 64, out, 4), 3);
	assert_string_equal(out, "...");
	assert_int_equal(out[4], 'Z');
	assert_int_equal(shown_escape(S("abcdef"), 64, out, 6), 5);
	assert_string_equal(out, "ab...");
	assert_int_equal(out[6], 'Z');
	assert_int_equal(shown_escape(S("ab"), 64, out, 6), 2);
	assert_string_equal(out, "ab");
	/* the whole text fits without the room "..." would need: still cut */
	assert_int_equal(shown_escape(S("abc"), 64, out, 4), 3);
	assert_string_equal(out, "...");
	assert_int_equal(shown_escape(NULL, 0, 64, out, 4), 0);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_kind_of_byte),
		cmocka_unit_test(test_broken_utf8),
		cmocka_unit_test(test_cut),
		cmocka_unit_test(test_small_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
