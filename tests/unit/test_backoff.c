/*
 * test_backoff.c - unit tests of lib/backoff.c.
 *
 * Owns: the step doubling from min to max, and the delay staying inside the
 * jitter range for every random number, reaching both ends of it.
 * Never: depends on anything but lib/backoff.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "backoff.h"

static void test_steps_double_up_to_the_cap(void **state)
{
	(void)state;
	long step = 0;
	const long want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000 };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(backoff_next(&step, 100, 5000, 0, 0, 12345), want[i]);
		assert_int_equal(step, want[i]);
	}
}

/* The daemon's shape (+0..25%) and the tools' (+-20%), over many random numbers. */
static void test_delay_stays_in_the_jitter_range(void **state)
{
	(void)state;
	const struct {
		int down, up;
	} shapes[] = { { 0, 25 }, { 20, 20 } };
	for (size_t s = 0; s < 2; s++) {
		for (long base = 1; base <= 40000; base = base * 3 + 1) {
			long lo = base - base * shapes[s].down / 100;
			long hi = lo + base * (shapes[s].down + shapes[s].up) / 100;
			long seen_lo = hi, seen_hi = lo;
			for (unsigned long r = 0; r <= (unsigned long)(hi - lo) + 3; r++) {
				long step = base; /* min = max = base: the step stays */
				long d = backoff_next(&step, base, base, shapes[s].down,
						      shapes[s].up, r);
				assert_true(d >= lo && d <= hi);
				if (d < seen_lo)
					seen_lo = d;
				if (d > seen_hi)
					seen_hi = d;
			}
			assert_int_equal(seen_lo, lo);
			assert_int_equal(seen_hi, hi);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_steps_double_up_to_the_cap),
		cmocka_unit_test(test_delay_stays_in_the_jitter_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
