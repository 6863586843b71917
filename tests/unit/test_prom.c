/*
 * test_prom.c - lib/prom.c (the Prometheus text format, histograms) and
 * lib/tally.c (per-feed counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "prom.h"
#include "tally.h"

static void test_family_and_samples(void **state)
{
	struct prom p;
	prom_init(&p);
	prom_family(&p, "hotline_x_total", "counter", "A help\\text\nwith a newline.");
	struct prom_label l[2] = { { "feed", "wa\"ter\\\n" }, { "code", "200" } };
	prom_sample(&p, "hotline_x_total", l, 2, 12);
	prom_sample(&p, "hotline_x_total", NULL, 0, 0.25);
	prom_sample(&p, "hotline_x_total", l, 1, 1e20);
	assert_false(p.failed);
	assert_string_equal(p.buf, "# HELP hotline_x_total A help\\\\text\\nwith a newline.\n"
				   "# TYPE hotline_x_total counter\n"
				   "hotline_x_total{feed=\"wa\\\"ter\\\\\\n\",code=\"200\"} 12\n"
				   "hotline_x_total 0.25\n"
				   "hotline_x_total{feed=\"wa\\\"ter\\\\\\n\"} 1e+20\n");
	prom_free(&p);
}

static void test_histogram(void **state)
{
	static const double bounds[] = { 1, 5, 10 };
	struct prom_histogram h;
	prom_histogram_init(&h, bounds, 3);
	prom_histogram_observe(&h, 0.5);
	prom_histogram_observe(&h, 1); /* le is inclusive */
	prom_histogram_observe(&h, 7);
	prom_histogram_observe(&h, 100);
	assert_int_equal(h.count, 4);
	struct prom p;
	prom_init(&p);
	struct prom_label l = { "dept", "water" };
	prom_histogram_write(&p, "lat", &l, 1, &h);
	assert_string_equal(p.buf, "lat_bucket{dept=\"water\",le=\"1\"} 2\n"
				   "lat_bucket{dept=\"water\",le=\"5\"} 2\n"
				   "lat_bucket{dept=\"water\",le=\"10\"} 3\n"
				   "lat_bucket{dept=\"water\",le=\"+Inf\"} 4\n"
				   "lat_sum{dept=\"water\"} 108.5\n"
				   "lat_count{dept=\"water\"} 4\n");
	prom_free(&p);
	/* more bounds than fit are cut, never overrun */
	static const double many[PROM_MAX_BUCKETS + 4] = { 0 };
	prom_histogram_init(&h, many, PROM_MAX_BUCKETS + 4);
	assert_int_equal(h.nbounds, PROM_MAX_BUCKETS);
	prom_histogram_observe(&h, 1);
	assert_int_equal(h.counts[PROM_MAX_BUCKETS], 1);
	/* the latency bounds ascend */
	for (size_t i = 1; i < prom_latency_nbounds; i++)
		assert_true(prom_latency_bounds[i] > prom_latency_bounds[i - 1]);
}

static void test_tally(void **state)
{
	struct tally t;
	tally_init(&t);
	struct feed_tally *water = tally_feed(&t, "water");
	assert_non_null(water);
	water->records = 3;
	for (int i = 0; i < 40; i++) {
		char code[16];
		snprintf(code, sizeof(code), "feed%d", i);
		assert_non_null(tally_feed(&t, code));
	}
	assert_int_equal(t.nfeeds, 41);
	water = tally_feed(&t, "water"); /* the same row, after the array grew */
	assert_int_equal(water->records, 3);
	assert_null(tally_feed(&t, "not a code"));
	assert_null(tally_feed(&t, ""));
	assert_null(tally_feed(&t, NULL));
	tally_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_family_and_samples),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_tally),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
