/*
 * test_utf8.c - unit tests of lib/utf8.c (strict UTF-8 validation).
 *
 * Owns: the byte sequences that must pass and must fail, at each boundary of
 * RFC 3629 (overlongs, surrogates, U+10FFFF, truncation, stray bytes, NUL),
 * and what utf8_repaired makes of those that fail.
 * Never: depends on anything but lib/utf8.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

/* Checks s as a C string literal (sizeof - 1 bytes, so embedded NULs count). */
#define VALID(s) assert_true(utf8_valid((s), sizeof(s) - 1))
#define INVALID(s) assert_false(utf8_valid((s), sizeof(s) - 1))

static void test_ascii_and_empty(void **state)
{
	VALID("");
	VALID("hello, 12345");
	VALID("\x01\x7f");
	assert_true(utf8_valid(NULL, 0));
}

static void test_multibyte_valid(void **state)
{
	VALID("\xc2\x80");		       /* U+0080, smallest 2-byte */
	VALID("\xdf\xbf");		       /* U+07FF, largest 2-byte */
	VALID("\xe0\xa0\x80");		       /* U+0800, smallest 3-byte */
	VALID("\xed\x9f\xbf");		       /* U+D7FF, just below the surrogates */
	VALID("\xee\x80\x80");		       /* U+E000, just above them */
	VALID("\xef\xbf\xbf");		       /* U+FFFF */
	VALID("\xf0\x90\x80\x80");	       /* U+10000, smallest 4-byte */
	VALID("\xf0\x9f\x98\x80");	       /* U+1F600 emoji */
	VALID("\xf4\x8f\xbf\xbf");	       /* U+10FFFF, the last code point */
	VALID("南通市12345热线：路灯不亮");    /* Chinese mixed with ASCII */
	VALID("caf\xc3\xa9 \xf0\xa0\x80\x80"); /* U+00E9 and U+20000 (CJK ext B) */
}

static void test_overlong(void **state)
{
	INVALID("\xc0\x80");		     /* NUL as 2 bytes */
	INVALID("\xc1\xbf");		     /* U+007F as 2 bytes */
	INVALID("\xe0\x80\x80");	     /* U+0000 as 3 bytes */
	INVALID("\xe0\x9f\xbf");	     /* U+07FF as 3 bytes */
	INVALID("\xf0\x80\x80\x80");	     /* U+0000 as 4 bytes */
	INVALID("\xf0\x8f\xbf\xbf");	     /* U+FFFF as 4 bytes */
	INVALID("\xf8\x88\x80\x80\x80");     /* 5-byte form */
	INVALID("\xfc\x84\x80\x80\x80\x80"); /* 6-byte form */
}

static void test_surrogates(void **state)
{
	INVALID("\xed\xa0\x80");	     /* U+D800 */
	INVALID("\xed\xad\xbf");	     /* U+DB7F */
	INVALID("\xed\xb0\x80");	     /* U+DC00 */
	INVALID("\xed\xbf\xbf");	     /* U+DFFF */
	INVALID("\xed\xa0\xbd\xed\xb8\x80"); /* CESU-8 pair for U+1F600 */
}

static void test_above_max(void **state)
{
	INVALID("\xf4\x90\x80\x80"); /* U+110000 */
	INVALID("\xf4\xbf\xbf\xbf");
	INVALID("\xf5\x80\x80\x80");
	INVALID("\xf7\xbf\xbf\xbf"); /* U+1FFFFF */
	INVALID("\xff");
	INVALID("\xfe");
}

static void test_truncated(void **state)
{
	INVALID("\xc3");
	INVALID("\xe4\xb8"); /* first two bytes of 中 */
	INVALID("\xf0\x9f\x98");
	INVALID("ok\xe4\xb8"); /* truncated at the end of good text */
	INVALID("\xe4\xb8"
		"a"); /* continuation replaced by ASCII */
	/* a valid string cut by length inside a character */
	assert_false(utf8_valid("\xe4\xb8\xad", 2));
	assert_true(utf8_valid("\xe4\xb8\xad", 3));
}

static void test_stray_continuation(void **state)
{
	INVALID("\x80");
	INVALID("a\xbf"
		"b");
	INVALID("\xe4\xb8\xad\xad"); /* one continuation too many */
	INVALID("\xc3\xc3\xa9");     /* lead byte where a continuation belongs */
}

static void test_nul(void **state)
{
	INVALID("\0");
	INVALID("a\0b");
	INVALID("\xe4\xb8\xad\0");
	/* the same bytes without the NUL are fine */
	assert_true(utf8_valid("a\0b", 1));
}

static void test_length(void **state)
{
	assert_int_equal(utf8_length("", 0), 0);
	assert_int_equal(utf8_length("abc", 3), 3);
	assert_int_equal(utf8_length("中文", strlen("中文")), 2);
	assert_int_equal(utf8_length("a\xc3\xa9\xf0\x9f\x98\x80z", 8), 4);
	assert_int_equal(utf8_length("\xf4\x8f\xbf\xbf", 4), 1);
}

/* Repairs s (a literal, embedded NULs counted) and compares with want. */
#define REPAIRED(s, want)                                                      \
	do {                                                                   \
		size_t n_ = 12345;                                             \
		char *got_ = utf8_repaired((s), sizeof(s) - 1, &n_);           \
		assert_non_null(got_);                                         \
		assert_int_equal(n_, sizeof(want) - 1);                        \
		assert_memory_equal(got_, (want), sizeof(want)); /* and NUL */ \
		free(got_);                                                    \
	} while (0)
#define FFFD "\xef\xbf\xbd"

static void test_repaired_keeps_valid_text(void **state)
{
	REPAIRED("", "");
	REPAIRED("hello, 12345", "hello, 12345");
	REPAIRED("南通市12345热线：路灯不亮", "南通市12345热线：路灯不亮");
	REPAIRED("\xf4\x8f\xbf\xbf\x7f", "\xf4\x8f\xbf\xbf\x7f");
}

/* One U+FFFD per byte that is not part of a well-formed sequence, whatever the fault. */
static void test_repaired_replaces_each_bad_byte(void **state)
{
	REPAIRED("a\x80z", "a" FFFD "z"); /* stray continuation */
	REPAIRED("\xe4\xb8", FFFD FFFD);  /* truncated at the end */
	REPAIRED("\xe4\xb8"
		 "A\xe4\xb8\xad",
		 FFFD FFFD "A\xe4\xb8\xad");		   /* cut, then whole */
	REPAIRED("\xc0\x80", FFFD FFFD);		   /* overlong NUL */
	REPAIRED("\xed\xa0\x80", FFFD FFFD FFFD);	   /* surrogate U+D800 */
	REPAIRED("\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD); /* above U+10FFFF */
	REPAIRED("\xff\xfe", FFFD FFFD);		   /* never in UTF-8 */
	REPAIRED("a\0b", "a" FFFD "b");			   /* NUL */
}

static void test_repaired_result_is_valid(void **state)
{
	/* Every byte value, alone and after a lead byte: the result always passes. */
	for (int lead = 0; lead < 256; lead++) {
		for (int next = 0; next < 256; next += 15) {
			char in[3] = { (char)lead, (char)next, (char)0xbf };
			size_t n;
			char *out = utf8_repaired(in, sizeof(in), &n);
			assert_non_null(out);
			assert_true(utf8_valid(out, n));
			assert_true(n >= 3 && n <= 9);
			free(out);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii_and_empty),
		cmocka_unit_test(test_multibyte_valid),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_above_max),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_stray_continuation),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_repaired_keeps_valid_text),
		cmocka_unit_test(test_repaired_replaces_each_bad_byte),
		cmocka_unit_test(test_repaired_result_is_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
