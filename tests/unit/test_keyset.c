/*
 * test_keyset.c - unit tests of lib/keyset.c against a plain array, with keys
 * that collide in the table. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "keyset.h"

static void test_against_a_plain_array(void **state)
{
	struct keyset set = { 0 };
	assert_false(keyset_has(&set, 1)); /* empty: holds nothing */
	assert_int_equal(keyset_init(&set, 300), 0);
	assert_true(set.cap >= 600);
	uint64_t added[300];
	for (size_t i = 0; i < 300; i++) {
		/* multiples of the capacity all start at slot 0 */
		added[i] = (i % 2 ? (uint64_t)set.cap * (i + 1) : 0x9E3779B97F4A7C15ULL * (i + 1));
		assert_true(keyset_add(&set, added[i]));
	}
	for (size_t i = 0; i < 300; i++) {
		assert_true(keyset_has(&set, added[i]));
		assert_false(keyset_add(&set, added[i]));
	}
	assert_false(keyset_has(&set, 12345));
	keyset_free(&set);
	assert_false(keyset_has(&set, added[0]));
}

static void test_hash2(void **state)
{
	assert_true(keyset_hash2("13812345678", "complaint") != 0);
	assert_true(keyset_hash2("ab", "c") != keyset_hash2("a", "bc"));
	assert_true(keyset_hash2("13812345678", "complaint") ==
		    keyset_hash2("13812345678", "complaint"));
	assert_true(keyset_hash2("", "") != 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_a_plain_array),
		cmocka_unit_test(test_hash2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
