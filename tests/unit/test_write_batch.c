/*
 * test_write_batch.c - unit tests of lib/write_batch.c: how many queued ticket
 * writes share a transaction, and that they go in ticket order with ties in queue
 * order. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "write_batch.h"

static void test_empty(void **state)
{
	struct write_batch_item items[1] = { { 7, false } };
	size_t order[1];
	assert_int_equal(write_batch_plan(items, 0, 10, order), 0);
	assert_int_equal(write_batch_plan(items, 1, 0, order), 0);
}

static void test_sorted_stable(void **state)
{
	struct write_batch_item items[] = {
		{ 30, false }, { 10, false }, { 30, false }, { 20, false }, { 10, false }
	};
	size_t order[5];
	assert_int_equal(write_batch_plan(items, 5, 10, order), 5);
	const size_t want[] = { 1, 4, 3, 0, 2 }; /* 10 (first), 10, 20, 30 (first), 30 */
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(order[i], want[i]);
}

static void test_max(void **state)
{
	struct write_batch_item items[] = { { 3, false }, { 2, false }, { 1, false } };
	size_t order[2];
	assert_int_equal(write_batch_plan(items, 3, 2, order), 2);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 0);
}

static void test_solo(void **state)
{
	struct write_batch_item items[] = { { 5, true }, { 1, false }, { 2, true }, { 0, false } };
	size_t order[4];
	/* a solo write at the head goes alone */
	assert_int_equal(write_batch_plan(items, 4, 10, order), 1);
	assert_int_equal(order[0], 0);
	/* the batch stops before the next solo one */
	assert_int_equal(write_batch_plan(items + 1, 3, 10, order), 1);
	assert_int_equal(order[0], 0);
	assert_int_equal(write_batch_plan(items + 2, 2, 10, order), 1);
	assert_int_equal(write_batch_plan(items + 3, 1, 10, order), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_sorted_stable),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_solo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
