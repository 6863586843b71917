/*
 * test_loadgen_record.c - hotline-loadgen's --year: sharing a year's records and
 * connections among feeds (tools/loadgen_record.c year_plan()), and the city mix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "loadgen_record.h"

static const char *const city[] = {
	"water",
	"power",
	"enterprise",
	"market12315",
	"construction12319",
	"environment12369",
	"hrss12333",
	"price12358",
	"transport12328",
	"health12320",
	"women12338",
	"youth12355",
	"legal12348",
	"civil12349",
	"culture12318",
	"agri12316",
	"land12336",
	"quality12365",
	"food12331",
	"safety12350",
	"disabled12385",
	"veterans12380",
	"union12351",
	"mayor-mailbox",
	"property96118",
	"education96111",
	"tax12366",
	"elevator96333",
	"gas96777",
	"transit96196",
	"taxi96520",
	"fund12329",
	"insurance12393",
	"haimen-line",
	"rudong-line",
	"kaifaqu-line",
};
#define NFEEDS (sizeof(city) / sizeof(city[0]))

/* The 36 lines take the year's 3,865,000 requests, 一企来 (enterprise) 10,000. */
static void test_year_table(void **state)
{
	(void)state;
	uint64_t sum = 0;
	for (size_t f = 0; f < NFEEDS; f++)
		sum += year_feed_requests(city[f]);
	assert_int_equal(sum, YEAR_REQUESTS);
	assert_int_equal(year_feed_requests("enterprise"), 10000);
	assert_int_equal(year_feed_requests("no-such-line"), YEAR_FEED_DEFAULT);
}

/* The whole year over 72 connections: every record given once, every feed its share
 * and at least one connection, connections of a feed even to one record. */
static void test_year_plan_whole_year(void **state)
{
	(void)state;
	unsigned feed_of[72];
	uint64_t records_of[72], per_feed[NFEEDS] = { 0 }, conns[NFEEDS] = { 0 }, sum = 0;
	assert_int_equal(year_plan(city, NFEEDS, 72, YEAR_REQUESTS, feed_of, records_of), 0);
	for (unsigned c = 0; c < 72; c++) {
		assert_true(feed_of[c] < NFEEDS);
		per_feed[feed_of[c]] += records_of[c];
		conns[feed_of[c]]++;
		sum += records_of[c];
	}
	assert_int_equal(sum, YEAR_REQUESTS);
	for (size_t f = 0; f < NFEEDS; f++) {
		assert_true(conns[f] >= 1);
		assert_int_equal(per_feed[f], year_feed_requests(city[f]));
	}
	for (unsigned c = 1; c < 72; c++)
		if (feed_of[c] == feed_of[c - 1]) {
			uint64_t a = records_of[c - 1], b = records_of[c];
			assert_true(a >= b && a - b <= 1);
		}
}

/* A share of the year: the total is exact; too few connections are refused. */
static void test_year_plan_scaled(void **state)
{
	(void)state;
	unsigned feed_of[40];
	uint64_t records_of[40], sum = 0, enterprise = 0;
	assert_int_equal(year_plan(city, NFEEDS, 40, 38650, feed_of, records_of), 0);
	for (unsigned c = 0; c < 40; c++) {
		sum += records_of[c];
		if (strcmp(city[feed_of[c]], "enterprise") == 0)
			enterprise += records_of[c];
	}
	assert_int_equal(sum, 38650);
	assert_int_equal(enterprise, 100);
	assert_int_equal(year_plan(city, NFEEDS, 35, 38650, feed_of, records_of), -1);
	assert_int_equal(year_plan(city, 0, 35, 38650, feed_of, records_of), -1);
}

/* The city mix draws every category, more consultations than praise. */
static void test_city_mix(void **state)
{
	(void)state;
	struct record_gen gen;
	assert_int_equal(record_gen_init(&gen, 200, true), 0);
	gen.city_mix = true;
	unsigned consultation = 0, praise = 0, phone = 0;
	for (uint64_t i = 0; i < 10000; i++) {
		struct gen_record rec;
		assert_int_equal(record_generate(&gen, "t", 0, i, 1, &rec), 0);
		consultation += strcmp(rec.category, "consultation") == 0;
		praise += strcmp(rec.category, "praise") == 0;
		phone += strcmp(rec.channel, "phone") == 0;
	}
	assert_true(consultation > 3500 && consultation < 4500);
	assert_true(praise > 100 && praise < 300);
	assert_true(phone > 7300 && phone < 8300);
	record_gen_free(&gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_year_table),
		cmocka_unit_test(test_year_plan_whole_year),
		cmocka_unit_test(test_year_plan_scaled),
		cmocka_unit_test(test_city_mix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
