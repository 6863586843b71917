/*
 * test_ratelimit.c - unit tests of lib/ratelimit.c.
 *
 * Owns: a bucket that starts full, refuses past its burst, refills at exactly the
 * rate (in thousandths of a record per millisecond), never above its burst, not at
 * all when the clock goes backwards, and "no limit" for a rate of 0.
 * Never: depends on anything but lib/ratelimit.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

static int takes(struct rate_bucket *b, long rate, long burst, int64_t now_ms, int tries)
{
	int n = 0;
	for (int i = 0; i < tries; i++)
		n += rate_take(b, rate, burst, now_ms);
	return n;
}

static void test_starts_full_and_refuses_past_the_burst(void **state)
{
	(void)state;
	struct rate_bucket b = { 0 };
	assert_int_equal(takes(&b, 10, 20, 0, 100), 20); /* even at time 0 */
	assert_false(rate_take(&b, 10, 20, 0));
}

static void test_refills_at_the_rate(void **state)
{
	(void)state;
	struct rate_bucket b = { 0 };
	assert_int_equal(takes(&b, 10, 20, 5000, 100), 20);
	/* 10 records/s: one every 100 ms, not one sooner. */
	assert_false(rate_take(&b, 10, 20, 5099));
	assert_true(rate_take(&b, 10, 20, 5100));
	assert_false(rate_take(&b, 10, 20, 5100));
	/* 1.5 s later: 15 records; 50 ms more is half a record, kept for later. */
	assert_int_equal(takes(&b, 10, 20, 6600, 100), 15);
	assert_int_equal(takes(&b, 10, 20, 6650, 100), 0);
	assert_int_equal(takes(&b, 10, 20, 6700, 100), 1);
	/* A long pause refills only up to the burst. */
	assert_int_equal(takes(&b, 10, 20, 86400000, 100), 20);
}

static void test_sustained_rate_over_a_minute(void **state)
{
	(void)state;
	struct rate_bucket b = { 0 };
	int n = 0;
	for (int64_t t = 1000; t < 61000; t += 7)
		n += takes(&b, 200, 400, t, 50);
	/* The burst plus 200 a second for the 59.997 s from the first take (t = 1000)
	 * to the last (t = 60997). */
	assert_int_equal(n, 400 + 200 * 59997 / 1000);
}

static void test_backwards_clock_refills_nothing(void **state)
{
	(void)state;
	struct rate_bucket b = { 0 };
	assert_int_equal(takes(&b, 1, 1, 10000, 5), 1);
	assert_false(rate_take(&b, 1, 1, 2000));  /* went back 8 s */
	assert_false(rate_take(&b, 1, 1, 10999)); /* still measured from 10000 */
	assert_true(rate_take(&b, 1, 1, 11000));
}

static void test_zero_rate_is_no_limit_and_a_lower_burst_applies_at_once(void **state)
{
	(void)state;
	struct rate_bucket b = { 0 };
	assert_int_equal(takes(&b, 0, 0, 1, 100000), 100000);
	assert_false(b.started);
	assert_int_equal(takes(&b, 5, 50, 1, 10), 10);
	/* A reload lowers the burst: the bucket holds at most the new one. */
	assert_int_equal(takes(&b, 5, 2, 1, 100), 2);
	/* burst 0 counts as 1. */
	struct rate_bucket c = { 0 };
	assert_int_equal(takes(&c, 1000, 0, 1, 10), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starts_full_and_refuses_past_the_burst),
		cmocka_unit_test(test_refills_at_the_rate),
		cmocka_unit_test(test_sustained_rate_over_a_minute),
		cmocka_unit_test(test_backwards_clock_refills_nothing),
		cmocka_unit_test(test_zero_rate_is_no_limit_and_a_lower_burst_applies_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
