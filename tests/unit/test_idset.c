/*
 * test_idset.c - unit tests of lib/idset.c: the set operations and the
 * PostgreSQL array literal. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idset.h"

static void test_add_remove_has(void **state)
{
	struct idset s = { 0 };
	assert_false(idset_has(&s, 1));
	assert_false(idset_remove(&s, 1));
	for (int64_t i = 1; i <= 100; i++)
		assert_int_equal(idset_add(&s, i * 7), 0);
	assert_int_equal(s.n, 100);
	assert_int_equal(idset_add(&s, 7), 0); /* present: no second copy */
	assert_int_equal(s.n, 100);
	assert_true(idset_has(&s, 700));
	assert_false(idset_has(&s, 701));
	assert_true(idset_remove(&s, 350));
	assert_false(idset_remove(&s, 350));
	assert_false(idset_has(&s, 350));
	assert_int_equal(s.n, 99);
	for (int64_t i = 1; i <= 100; i++)
		assert_int_equal(idset_has(&s, i * 7), i != 50);
	idset_clear(&s);
	assert_int_equal(s.n, 0);
	assert_false(idset_has(&s, 7));
	idset_free(&s);
	assert_null(s.ids);
}

static void test_pg_array(void **state)
{
	struct idset a = { 0 }, b = { 0 };
	const struct idset *none[] = { NULL };
	char *text = idset_pg_array(none, 1);
	assert_string_equal(text, "{}");
	free(text);
	const struct idset *empty[] = { &a, &b };
	text = idset_pg_array(empty, 2);
	assert_string_equal(text, "{}");
	free(text);
	assert_int_equal(idset_add(&a, 1), 0);
	assert_int_equal(idset_add(&a, INT64_MAX), 0);
	assert_int_equal(idset_add(&b, INT64_MIN), 0);
	assert_int_equal(idset_add(&b, 1), 0);
	const struct idset *both[] = { &a, NULL, &b };
	text = idset_pg_array(both, 3);
	assert_string_equal(text, "{1,9223372036854775807,-9223372036854775808,1}");
	free(text);
	idset_free(&a);
	idset_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_remove_has),
		cmocka_unit_test(test_pg_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
