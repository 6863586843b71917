/*
 * test_deadline.c - unit tests of lib/deadline.c (the deadline policy).
 *
 * Owns: the limit syntax ("2h", "3wd") with its exact errors, priority names,
 * the setters' checks, the order in which a ticket's limit is chosen (priority,
 * then category, then default), and whole deadlines computed by hand on the
 * shipped 2021 calendar: 13 working days for a complaint, 2 hours on the clock
 * for an urgent ticket across midnight, the default over a weekend, the year
 * boundary. Needs HOTLINE_SOURCE_ROOT (set by tests/unit/meson.build) for
 * deploy/calendar/2021.cal. Never: depends on anything but deadline.c,
 * calendar.c and dates.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "calendar.h"
#include "dates.h"
#include "deadline.h"

#define CST DATES_OFFSET_CHINA_MIN
#define NORMAL 1
#define URGENT 2
#define CRITICAL 3

/* "YYYY-MM-DD HH:MM" in China (+08:00) -> unix ms. */
static int64_t cst(const char *text)
{
	struct dates_local t = { 0 };
	if (sscanf(text, "%d-%d-%d %d:%d", &t.year, &t.month, &t.day, &t.hour, &t.minute) != 5)
		fail_msg("bad test time '%s'", text);
	return dates_to_ms(&t, CST);
}

static const char *show(int64_t ms)
{
	static char bufs[4][DATES_ISO_LEN];
	static int next;
	char *buf = bufs[next++ % 4];
	if (ms < 0)
		snprintf(buf, DATES_ISO_LEN, "%lld", (long long)ms);
	else if (dates_format_iso(ms, CST, buf, DATES_ISO_LEN) == 0)
		fail_msg("cannot format %lld", (long long)ms);
	return buf;
}

static struct deadline_limit limit(const char *text)
{
	struct deadline_limit out;
	char err[256] = "";
	if (deadline_parse_limit(text, &out, err, sizeof(err)) != 0)
		fail_msg("unexpected limit error: %s", err);
	return out;
}

static void expect_limit_error(const char *text, const char *want)
{
	struct deadline_limit out = { DEADLINE_HOURS, 7 };
	char err[256] = "";
	assert_int_equal(deadline_parse_limit(text, &out, err, sizeof(err)), -1);
	assert_string_equal(err, want);
	assert_int_equal(out.unit, DEADLINE_UNSET);
	assert_int_equal(out.count, 0);
}

static struct calendar *cal_2021(void)
{
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char path[4096], err[512] = "";
	snprintf(path, sizeof(path), "%s/deploy/calendar/2021.cal", root);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	static char text[64 * 1024];
	size_t len = fread(text, 1, sizeof(text), f);
	fclose(f);
	struct calendar *cal = calendar_new();
	assert_non_null(cal);
	if (calendar_add_text(cal, text, len, "2021.cal", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return cal;
}

/* The policy the tests share: default 5wd, complaint 13wd, urgent 2h, critical 1h. */
static void example_policy(struct deadline_policy *policy)
{
	char err[256] = "";
	struct deadline_limit l;
	deadline_policy_init(policy);
	l = limit("13wd");
	assert_int_equal(deadline_policy_set_category(policy, "complaint", &l, err, sizeof(err)),
			 0);
	l = limit("2h");
	assert_int_equal(deadline_policy_set_priority(policy, URGENT, &l, err, sizeof(err)), 0);
	l = limit("1h");
	assert_int_equal(deadline_policy_set_priority(policy, CRITICAL, &l, err, sizeof(err)), 0);
}

static const char *pick(const struct deadline_policy *policy, int priority, const char *category)
{
	static char buf[DEADLINE_LIMIT_TEXT];
	deadline_format_limit(deadline_policy_pick(policy, priority, category), buf, sizeof(buf));
	return buf;
}

/* ---- limits ---- */

static void test_parse_limit(void **state)
{
	struct deadline_limit l = limit("2h");
	assert_int_equal(l.unit, DEADLINE_HOURS);
	assert_int_equal(l.count, 2);
	l = limit("3wd");
	assert_int_equal(l.unit, DEADLINE_WORKDAYS);
	assert_int_equal(l.count, 3);
	l = limit("13wd");
	assert_int_equal(l.unit, DEADLINE_WORKDAYS);
	assert_int_equal(l.count, 13);
	l = limit(" \t5wd \t");
	assert_int_equal(l.count, 5);
	l = limit("8760h");
	assert_int_equal(l.count, DEADLINE_MAX_HOURS);
	l = limit("365wd");
	assert_int_equal(l.count, DEADLINE_MAX_WORKDAYS);
	l = limit("007h");
	assert_int_equal(l.unit, DEADLINE_HOURS);
	assert_int_equal(l.count, 7);
}

static void test_parse_limit_errors(void **state)
{
	expect_limit_error(NULL, "empty deadline limit (write Nh for hours on the clock or Nwd for "
				 "working days, e.g. 2h, 3wd)");
	expect_limit_error("  ", "empty deadline limit (write Nh for hours on the clock or Nwd for "
				 "working days, e.g. 2h, 3wd)");
	expect_limit_error("3d", "bad deadline limit '3d' (write Nh for hours on the clock or Nwd "
				 "for working days, e.g. 2h, 3wd)");
	expect_limit_error("wd", "bad deadline limit 'wd' (write Nh for hours on the clock or Nwd "
				 "for working days, e.g. 2h, 3wd)");
	expect_limit_error("3",
			   "bad deadline limit '3' (write Nh for hours on the clock or Nwd for "
			   "working days, e.g. 2h, 3wd)");
	expect_limit_error("3 wd", "bad deadline limit '3 wd' (write Nh for hours on the clock or "
				   "Nwd for working days, e.g. 2h, 3wd)");
	expect_limit_error("3WD", "bad deadline limit '3WD' (write Nh for hours on the clock or "
				  "Nwd for working days, e.g. 2h, 3wd)");
	expect_limit_error("-1h", "bad deadline limit '-1h' (write Nh for hours on the clock or "
				  "Nwd for working days, e.g. 2h, 3wd)");
	expect_limit_error("1.5h", "bad deadline limit '1.5h' (write Nh for hours on the clock or "
				   "Nwd for working days, e.g. 2h, 3wd)");
	expect_limit_error("2hh", "bad deadline limit '2hh' (write Nh for hours on the clock or "
				  "Nwd for working days, e.g. 2h, 3wd)");
	expect_limit_error("0h", "deadline limit '0h' must be at least 1");
	expect_limit_error("00wd", "deadline limit '00wd' must be at least 1");
	expect_limit_error("8761h", "deadline limit '8761h' is more than 8760 hours");
	expect_limit_error("366wd", "deadline limit '366wd' is more than 365 working days");
	expect_limit_error("99999999999999999999h",
			   "deadline limit '99999999999999999999h' is more than 8760 hours");
}

static void test_format_limit(void **state)
{
	char buf[DEADLINE_LIMIT_TEXT];
	struct deadline_limit l = limit("13wd");
	assert_int_equal(deadline_format_limit(&l, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "13wd");
	l = limit("2h");
	assert_int_equal(deadline_format_limit(&l, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "2h");
	l.unit = DEADLINE_UNSET;
	deadline_format_limit(&l, buf, sizeof(buf));
	assert_string_equal(buf, "unset");
	l = limit("365wd");
	assert_int_equal(deadline_format_limit(&l, buf, 5), 0);
	assert_string_equal(buf, "");
}

static void test_priority_names(void **state)
{
	assert_int_equal(deadline_priority_from_name("normal"), NORMAL);
	assert_int_equal(deadline_priority_from_name("urgent"), URGENT);
	assert_int_equal(deadline_priority_from_name("critical"), CRITICAL);
	assert_int_equal(deadline_priority_from_name("Urgent"), -1);
	assert_int_equal(deadline_priority_from_name(""), -1);
	assert_int_equal(deadline_priority_from_name(NULL), -1);
}

/* ---- the policy ---- */

static void test_pick_order(void **state)
{
	struct deadline_policy policy;
	char err[256] = "";

	deadline_policy_init(&policy);
	assert_string_equal(pick(&policy, NORMAL, "complaint"), "5wd");
	assert_string_equal(pick(&policy, URGENT, NULL), "5wd");

	example_policy(&policy);
	/* category when no priority limit is set */
	assert_string_equal(pick(&policy, NORMAL, "complaint"), "13wd");
	assert_string_equal(pick(&policy, NORMAL, "request"), "5wd");
	assert_string_equal(pick(&policy, NORMAL, ""), "5wd");
	assert_string_equal(pick(&policy, NORMAL, NULL), "5wd");
	assert_string_equal(pick(&policy, NORMAL, "Complaint"), "5wd"); /* exact */
	assert_string_equal(pick(&policy, NORMAL, "complaints"), "5wd");
	/* a priority limit wins over the category */
	assert_string_equal(pick(&policy, URGENT, "complaint"), "2h");
	assert_string_equal(pick(&policy, CRITICAL, "complaint"), "1h");
	assert_string_equal(pick(&policy, CRITICAL, NULL), "1h");
	/* unspecified and unknown priorities count as normal */
	assert_string_equal(pick(&policy, 0, "complaint"), "13wd");
	assert_string_equal(pick(&policy, 7, "complaint"), "13wd");
	assert_string_equal(pick(&policy, -1, NULL), "5wd");

	/* a normal limit overrides every category for normal tickets */
	struct deadline_limit l = limit("10wd");
	assert_int_equal(deadline_policy_set_priority(&policy, 0, &l, err, sizeof(err)), 0);
	assert_string_equal(pick(&policy, NORMAL, "complaint"), "10wd");
	assert_string_equal(pick(&policy, 0, "complaint"), "10wd");
	assert_string_equal(pick(&policy, URGENT, "complaint"), "2h");

	/* the default can be changed; setting a category again replaces it */
	deadline_policy_init(&policy);
	l = limit("3wd");
	assert_int_equal(deadline_policy_set_default(&policy, &l, err, sizeof(err)), 0);
	l = limit("13wd");
	assert_int_equal(deadline_policy_set_category(&policy, "投诉", &l, err, sizeof(err)), 0);
	l = limit("15wd");
	assert_int_equal(deadline_policy_set_category(&policy, "投诉", &l, err, sizeof(err)), 0);
	assert_int_equal(policy.category_count, 1);
	assert_string_equal(pick(&policy, NORMAL, "投诉"), "15wd");
	assert_string_equal(pick(&policy, NORMAL, "咨询"), "3wd");

	/* plain data: a copy is independent of the original */
	struct deadline_policy copy = policy;
	l = limit("1wd");
	assert_int_equal(deadline_policy_set_category(&policy, "投诉", &l, err, sizeof(err)), 0);
	assert_string_equal(pick(&copy, NORMAL, "投诉"), "15wd");
	assert_string_equal(pick(&policy, NORMAL, "投诉"), "1wd");
}

static void test_setter_errors(void **state)
{
	struct deadline_policy policy;
	char err[256] = "";
	struct deadline_limit good = limit("3wd");
	struct deadline_limit unset = { DEADLINE_UNSET, 0 };
	struct deadline_limit zero = { DEADLINE_WORKDAYS, 0 };
	struct deadline_limit huge = { DEADLINE_HOURS, DEADLINE_MAX_HOURS + 1 };
	struct deadline_limit bad_unit = { (enum deadline_unit)9, 3 };

	deadline_policy_init(&policy);
	assert_int_equal(deadline_policy_set_default(&policy, &unset, err, sizeof(err)), -1);
	assert_string_equal(err, "no deadline limit given");
	assert_int_equal(deadline_policy_set_default(&policy, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "no deadline limit given");
	assert_int_equal(deadline_policy_set_default(&policy, &bad_unit, err, sizeof(err)), -1);
	assert_string_equal(err, "no deadline limit given");
	assert_int_equal(deadline_policy_set_default(&policy, &zero, err, sizeof(err)), -1);
	assert_string_equal(err, "deadline limit count 0 is outside 1-365");
	assert_int_equal(deadline_policy_set_default(&policy, &huge, err, sizeof(err)), -1);
	assert_string_equal(err, "deadline limit count 8761 is outside 1-8760");
	assert_string_equal(pick(&policy, NORMAL, NULL), "5wd"); /* unchanged */

	assert_int_equal(deadline_policy_set_priority(&policy, 4, &good, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown priority 4 (1 normal, 2 urgent, 3 critical)");
	assert_int_equal(deadline_policy_set_priority(&policy, -1, &good, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown priority -1 (1 normal, 2 urgent, 3 critical)");
	assert_int_equal(deadline_policy_set_priority(&policy, URGENT, &unset, err, sizeof(err)),
			 -1);
	assert_string_equal(pick(&policy, URGENT, NULL), "5wd");

	assert_int_equal(deadline_policy_set_category(&policy, "", &good, err, sizeof(err)), -1);
	assert_string_equal(err, "empty category name");
	assert_int_equal(deadline_policy_set_category(&policy, NULL, &good, err, sizeof(err)), -1);
	assert_string_equal(err, "empty category name");
	char name[DEADLINE_MAX_CATEGORY + 2];
	memset(name, 'c', DEADLINE_MAX_CATEGORY + 1);
	name[DEADLINE_MAX_CATEGORY + 1] = '\0';
	assert_int_equal(deadline_policy_set_category(&policy, name, &good, err, sizeof(err)), -1);
	assert_string_equal(err, "category name is longer than 64 bytes");
	name[DEADLINE_MAX_CATEGORY] = '\0'; /* exactly 64 bytes is fine */
	assert_int_equal(deadline_policy_set_category(&policy, name, &good, err, sizeof(err)), 0);
	assert_string_equal(pick(&policy, NORMAL, name), "3wd");
	assert_int_equal(deadline_policy_set_category(&policy, "\xC0\xAF", &good, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "category name is not valid UTF-8");
	assert_int_equal(deadline_policy_set_category(&policy, "x", &zero, err, sizeof(err)), -1);
	assert_string_equal(err, "deadline limit count 0 is outside 1-365");

	/* 64 categories fit; a 65th is refused, but replacing one still works */
	deadline_policy_init(&policy);
	for (int i = 0; i < DEADLINE_MAX_CATEGORIES; i++) {
		snprintf(name, sizeof(name), "category-%d", i);
		assert_int_equal(
			deadline_policy_set_category(&policy, name, &good, err, sizeof(err)), 0);
	}
	assert_int_equal(deadline_policy_set_category(&policy, "one-more", &good, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "more than 64 category limits");
	struct deadline_limit hours = limit("4h");
	assert_int_equal(
		deadline_policy_set_category(&policy, "category-63", &hours, err, sizeof(err)), 0);
	assert_string_equal(pick(&policy, NORMAL, "category-63"), "4h");
	assert_string_equal(pick(&policy, NORMAL, "category-0"), "3wd");
	assert_string_equal(pick(&policy, NORMAL, "one-more"), "5wd");
}

/* ---- whole deadlines ---- */

static void test_compute(void **state)
{
	struct calendar *cal = cal_2021();
	struct deadline_policy policy;
	bool past = true;
	example_policy(&policy);

	/*
	 * A complaint, 13 working days, dispatched Mon 2021-09-13 09:00: Tue 14 (1),
	 * Wed 15 (2), Thu 16 (3), Fri 17 (4), Sat 18 make-up (5), 中秋 Sep 19-21,
	 * Wed 22 (6), Thu 23 (7), Fri 24 (8), Sat 25 off, Sun 26 make-up (9),
	 * Mon 27 (10), Tue 28 (11), Wed 29 (12), Thu 30 (13).
	 */
	assert_string_equal(show(deadline_compute(&policy, cal, CST, NORMAL, "complaint",
						  cst("2021-09-13 09:00"), &past)),
			    "2021-09-30T09:00:00+08:00");
	assert_false(past);

	/* An urgent complaint: 2 hours on the clock, across midnight into 春节. */
	past = true;
	assert_string_equal(show(deadline_compute(&policy, cal, CST, URGENT, "complaint",
						  cst("2021-02-10 23:00"), &past)),
			    "2021-02-11T01:00:00+08:00");
	assert_false(past);
	/* critical: 1 hour, on a Sunday night */
	assert_string_equal(show(deadline_compute(&policy, cal, CST, CRITICAL, "request",
						  cst("2021-03-07 23:30"), &past)),
			    "2021-03-08T00:30:00+08:00");

	/* The default, 5 working days, Fri 2021-03-05 17:00: Mon 8 .. Fri 12 */
	assert_string_equal(show(deadline_compute(&policy, cal, CST, NORMAL, "request",
						  cst("2021-03-05 17:00"), &past)),
			    "2021-03-12T17:00:00+08:00");
	/* The default over Spring Festival, Wed 2021-02-10 10:00: Thu 18 (1), Fri 19 (2),
	 * Sat 20 make-up (3), Sun 21 off, Mon 22 (4), Tue 23 (5) */
	assert_string_equal(
		show(deadline_compute(&policy, cal, CST, 0, NULL, cst("2021-02-10 10:00"), &past)),
		"2021-02-23T10:00:00+08:00");

	/* Past the known years: Thu 2021-12-30 10:00 + 5: Fri 31 (1), Sat-Sun off,
	 * Mon 1-3 (2), Tue 1-4 (3), Wed 1-5 (4), Thu 1-6 (5) with 2022 unknown */
	assert_string_equal(show(deadline_compute(&policy, cal, CST, NORMAL, NULL,
						  cst("2021-12-30 10:00"), &past)),
			    "2022-01-06T10:00:00+08:00");
	assert_true(past);
	/* hours never consult the calendar */
	assert_string_equal(show(deadline_compute(&policy, cal, CST, URGENT, NULL,
						  cst("2021-12-31 23:00"), &past)),
			    "2022-01-01T01:00:00+08:00");
	assert_false(past);

	/* errors: no policy, a bad offset, a negative start */
	past = true;
	assert_int_equal(
		deadline_compute(NULL, cal, CST, NORMAL, NULL, cst("2021-03-05 17:00"), &past), -1);
	assert_false(past);
	assert_int_equal(
		deadline_compute(&policy, cal, 5000, NORMAL, NULL, cst("2021-03-05 17:00"), &past),
		-1);
	assert_int_equal(deadline_compute(&policy, cal, CST, URGENT, NULL, -5, &past), -1);
	calendar_free(cal);
}

static void test_apply(void **state)
{
	struct calendar *cal = cal_2021();
	bool past = true;
	struct deadline_limit l = limit("3wd");

	/* the Spring Festival example: Wed 02-10 10:00 + 3wd -> Sat 02-20 10:00 */
	assert_string_equal(show(deadline_apply(&l, cal, CST, cst("2021-02-10 10:00"), &past)),
			    "2021-02-20T10:00:00+08:00");
	assert_false(past);
	l = limit("48h");
	assert_string_equal(show(deadline_apply(&l, cal, CST, cst("2021-02-10 10:00"), &past)),
			    "2021-02-12T10:00:00+08:00");
	l.unit = DEADLINE_UNSET;
	assert_int_equal(deadline_apply(&l, cal, CST, cst("2021-02-10 10:00"), &past), -1);
	assert_int_equal(deadline_apply(NULL, cal, CST, cst("2021-02-10 10:00"), &past), -1);
	assert_int_equal(deadline_apply(NULL, cal, CST, cst("2021-02-10 10:00"), NULL), -1);
	calendar_free(cal);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limit),  cmocka_unit_test(test_parse_limit_errors),
		cmocka_unit_test(test_format_limit), cmocka_unit_test(test_priority_names),
		cmocka_unit_test(test_pick_order),   cmocka_unit_test(test_setter_errors),
		cmocka_unit_test(test_compute),	     cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
