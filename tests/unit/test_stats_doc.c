/*
 * test_stats_doc.c - unit tests of lib/stats_live.c and lib/stats_doc.c: the live
 * board folded from stats_live.sql's rows and its JSON, a report's sums,
 * reconciliation and document (the figures hotline-stats and GET /api/v1/stats/live and report
 * both print).
 * Never: depends on anything but lib/. Run by `meson test --suite unit`.
 */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "stats_doc.h"
#include "stats_live.h"

static int64_t member(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	assert_non_null(v);
	return (int64_t)json_integer_value(v);
}

static void test_board_from_rows(void **state)
{
	const struct live_row rows[] = {
		{ "", "ESCALATED", 2, 0, 0, 1000 },
		{ "", "LINKED", 1, 0, 0, 0 },
		{ "", "PENDING_DISPATCH", 3, 0, 0, 2000 },
		{ "", "REPLIED", 4, 0, 0, 0 },
		{ "sdpower", "DISPATCHED", 5, 1, 2, 3000 },
		{ "sdwater", "ACCEPTED", 6, 3, 1, 4000 },
		{ "sdwater", "DISPATCHED", 7, 0, 4, 5000 },
		{ "sdwater", "RECEIVED", 9, 0, 0, 0 }, /* not on the board */
	};
	struct live_board b = { 0 };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(live_board_add(&b, &rows[i]), 0);
	assert_int_equal(b.ndepts, 2);
	assert_string_equal(b.depts[0].dept_code, "sdpower");
	assert_string_equal(b.depts[1].dept_code, "sdwater");
	/* waiting is DISPATCHED, in hand ACCEPTED; overdue and due soon of both */
	assert_int_equal(b.depts[1].waiting, 7);
	assert_int_equal(b.depts[1].in_hand, 6);
	assert_int_equal(b.depts[1].overdue, 3);
	assert_int_equal(b.depts[1].due_soon, 5);
	assert_int_equal(b.depts[1].oldest_ms, 5000); /* the oldest DISPATCHED */

	json_t *doc = json_object();
	assert_int_equal(live_board_json(&b, doc), 0);
	assert_int_equal(member(doc, "manual_desk"), 3);
	assert_int_equal(member(doc, "escalated"), 2);
	assert_int_equal(member(doc, "callbacks_waiting"), 4);
	assert_int_equal(member(doc, "linked"), 1);
	const json_t *depts = json_object_get(doc, "departments");
	assert_int_equal(json_array_size(depts), 2);
	const json_t *water = json_array_get(depts, 1);
	assert_string_equal(json_string_value(json_object_get(water, "dept_code")), "sdwater");
	assert_int_equal(member(water, "waiting"), 7);
	assert_int_equal(member(water, "in_hand"), 6);
	assert_int_equal(member(water, "oldest_waiting_ms"), 5000);
	json_decref(doc);
	live_board_free(&b);
	assert_int_equal(b.ndepts, 0);

	json_t *feed = live_feed_json("water", 2, 30);
	assert_string_equal(json_string_value(json_object_get(feed, "feed_code")), "water");
	assert_int_equal(member(feed, "last_minute"), 2);
	assert_int_equal(member(feed, "last_hour"), 30);
	json_decref(feed);
}

static void test_report_document(void **state)
{
	struct stats_group rows[2];
	memset(rows, 0, sizeof(rows));
	strcpy(rows[0].key, "sdpower");
	rows[0].t.v[TICKET_COUNT_RECEIVED] = 10;
	rows[0].t.v[TICKET_COUNT_SATISFIED] = 3;
	rows[0].t.v[TICKET_COUNT_UNSATISFIED] = 1;
	strcpy(rows[1].key, "sdwater");
	rows[1].t.v[TICKET_COUNT_RECEIVED] = 5;
	rows[1].t.v[TICKET_COUNT_CLOSED] = 4;
	struct stats_report rep;
	memset(&rep, 0, sizeof(rep));
	strcpy(rep.from, "2026-05-01");
	strcpy(rep.to, "2026-05-12");
	rep.days = 12;
	rep.by = "dept";
	rep.dept = "";
	rep.source = "rollup";
	rep.groups = (struct stats_groups){ rows, 2 };
	stats_groups_sum(&rep.groups, &rep.total);
	assert_int_equal(rep.total.v[TICKET_COUNT_RECEIVED], 15);
	rep.carried = 2;
	rep.open_end = 13;
	stats_report_reconcile(&rep, NULL);
	assert_int_equal(rep.received, 15);
	assert_int_equal(rep.closed, 4);
	assert_int_equal(rep.imbalance, 0); /* 2 + 15 = 4 + 13 */

	json_t *doc = stats_doc_report(&rep);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "groups")), 2);
	const json_t *sat = json_object_get(json_object_get(json_object_get(doc, "total"), "rates"),
					    "satisfaction");
	assert_int_equal(member(sat, "num"), 3);
	assert_int_equal(member(sat, "den"), 4);
	assert_true(json_real_value(json_object_get(sat, "value")) == 0.75);
	assert_string_equal(json_string_value(json_object_get(sat, "name_zh")), "有效参评满意率");
	const json_t *rec = json_object_get(doc, "reconciliation");
	assert_true(json_is_true(json_object_get(rec, "balanced")));
	assert_null(json_object_get(doc, "previous"));
	/* a department without callbacks: no data, never 0 % */
	json_t *none = stats_doc_rate(&rows[1].t, KPI_SATISFACTION);
	assert_true(json_is_null(json_object_get(none, "value")));
	assert_int_equal(member(none, "den"), 0);
	json_decref(none);
	json_decref(doc);

	assert_true(stats_doc_dimension("district"));
	assert_false(stats_doc_dimension(""));
	assert_false(stats_doc_dimension("nosuch"));
	assert_false(stats_doc_dimension(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_board_from_rows),
		cmocka_unit_test(test_report_document),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
