/*
 * test_mask.c - unit tests of lib/mask.c (caller phone masking).
 *
 * Owns: the exact masked form for each class of number in mask.h, and the
 * guarantee that truncation or junk input never reveals a hidden digit.
 * Never: depends on anything but lib/mask.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mask.h"

static void expect_mask(const char *phone, const char *want)
{
	char out[MASK_PHONE_SIZE];

	memset(out, 'X', sizeof(out));
	mask_phone(phone, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_mobile(void **state)
{
	expect_mask("13812345678", "138****5678");
	expect_mask("138 1234 5678", "138****5678");
	expect_mask("138-1234-5678", "138****5678");
	expect_mask("(138)1234-5678", "138****5678");
}

static void test_plus86(void **state)
{
	/* the '+' is kept; the digits follow the 11+ rule as they stand */
	expect_mask("+8613812345678", "+861******5678");
	expect_mask("+86 138 1234 5678", "+861******5678");
	expect_mask("+86-138-1234-5678", "+861******5678");
	expect_mask("008613812345678", "008********5678");
	/* only a '+' before the first digit counts */
	expect_mask("13812345678+", "138****5678");
	expect_mask("++8613812345678", "+861******5678");
}

static void test_landline(void **state)
{
	expect_mask("051385123456", "051*****3456"); /* 12 digits: area code + number */
	expect_mask("0513-8512345", "051****2345");  /* 11 digits */
	expect_mask("85123456", "****3456");	     /* 8 digits */
	expect_mask("8512345", "***2345");	     /* 7 digits */
	expect_mask("0513851234", "******1234");     /* 10 digits */
}

static void test_short(void **state)
{
	expect_mask("12345", "***45");
	expect_mask("110", "*10");
	expect_mask("123456", "****56");
	expect_mask("+12345", "+***45");
	expect_mask("12", "");
	expect_mask("1", "");
	expect_mask("+1", "");
}

static void test_empty_and_null(void **state)
{
	char out[MASK_PHONE_SIZE] = "junk";

	expect_mask("", "");
	mask_phone(NULL, out, sizeof(out));
	assert_string_equal(out, "");
	/* outlen 0 must not write at all */
	out[0] = 'Z';
	mask_phone("13812345678", out, 0);
	assert_int_equal(out[0], 'Z');
	mask_phone("13812345678", NULL, 10); /* must not crash */
}

static void test_junk_characters(void **state)
{
	expect_mask("tel:138abc1234xyz5678", "138****5678");
	expect_mask("phone: +86 (513) 8512-3456 ext.", "+865******3456");
	expect_mask("no digits here", "");
	expect_mask("\xe7\x94\xb5\xe8\xaf\x9d"
		    "85123456",
		    "****3456"); /* UTF-8 text dropped */
	expect_mask("\t8\n5\r1 2 3 4 5 6", "****3456");
}

static void test_truncation(void **state)
{
	char out[8];

	memset(out, 'X', sizeof(out));
	mask_phone("13812345678", out, 5);
	assert_string_equal(out, "138*");
	assert_int_equal(out[5], 'X'); /* nothing written past outlen */

	mask_phone("13812345678", out, 1);
	assert_string_equal(out, "");

	mask_phone("+8613812345678", out, 2);
	assert_string_equal(out, "+");

	mask_phone("13812345678", out, sizeof(out));
	assert_string_equal(out, "138****");
}

static void test_long_input(void **state)
{
	/* 32 digits, the intake limit: 3 + 25 '*' + 4, fits MASK_PHONE_SIZE */
	expect_mask("12345678901234567890123456789012", "123*************************9012");
}

static void test_length_preserved(void **state)
{
	const char *numbers[] = { "13812345678", "85123456", "12345", "008613812345678" };
	char out[MASK_PHONE_SIZE];

	for (size_t i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		mask_phone(numbers[i], out, sizeof(out));
		assert_int_equal(strlen(out), strlen(numbers[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mobile),		 cmocka_unit_test(test_plus86),
		cmocka_unit_test(test_landline),	 cmocka_unit_test(test_short),
		cmocka_unit_test(test_empty_and_null),	 cmocka_unit_test(test_junk_characters),
		cmocka_unit_test(test_truncation),	 cmocka_unit_test(test_long_input),
		cmocka_unit_test(test_length_preserved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
