/*
 * test_pgtext.c - unit tests of lib/pgtext.c: every byte of a value is checked.
 * Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgtext.h"

static void test_integers(void **state)
{
	int64_t v;
	assert_int_equal(pgtext_int64("42", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(pgtext_int64("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(pgtext_int64("9223372036854775808", &v), -1); /* overflow */
	assert_int_equal(pgtext_int64("", &v), -1);
	assert_int_equal(pgtext_int64(NULL, &v), -1);
	assert_int_equal(pgtext_int64("12x", &v), -1);
	assert_int_equal(pgtext_int64(" 12", &v), -1);
	assert_int_equal(pgtext_int64("+12", &v), -1);
	assert_int_equal(pgtext_int64("1.5", &v), -1);
	assert_int_equal(pgtext_int64("t", &v), -1);
	int32_t i;
	assert_int_equal(pgtext_int32("2147483647", &i), 0);
	assert_int_equal(i, INT32_MAX);
	assert_int_equal(pgtext_int32("2147483648", &i), -1);
	uint32_t u;
	assert_int_equal(pgtext_uint32("4294967295", &u), 0);
	assert_true(u == UINT32_MAX);
	assert_int_equal(pgtext_uint32("-1", &u), -1);
}

static void test_bool_and_double(void **state)
{
	bool b = false;
	assert_int_equal(pgtext_bool("t", &b), 0);
	assert_true(b);
	assert_int_equal(pgtext_bool("f", &b), 0);
	assert_false(b);
	assert_int_equal(pgtext_bool("true", &b), -1);
	assert_int_equal(pgtext_bool("", &b), -1);
	assert_int_equal(pgtext_bool("1", &b), -1);
	double d;
	assert_int_equal(pgtext_double("32.0123456789", &d), 0);
	assert_true(d == 32.0123456789);
	assert_int_equal(pgtext_double("-1e-300", &d), 0);
	assert_int_equal(pgtext_double("NaN", &d), -1);
	assert_int_equal(pgtext_double("Infinity", &d), -1);
	assert_int_equal(pgtext_double("1.5 ", &d), -1);
	assert_int_equal(pgtext_double("", &d), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_bool_and_double),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
