/*
 * test_route.c - unit tests of lib/route.c: the order of the routing decision
 * (direct close, first matching rule, the sub-centre's own department, the desk).
 * Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "route.h"

static const char rules_text[] = "rule water -> water\n"
				 "  category complaint\n"
				 "  keywords 停水\n"
				 "rule ent-only -> enterprise-desk\n"
				 "  feed enterprise\n"
				 "  keywords 营业执照\n";

static struct rule_set *load(void)
{
	struct rule_set *set = NULL;
	char err[256];
	if (rules_parse(rules_text, strlen(rules_text), "t.rules", &set, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return set;
}

static void test_order(void **state)
{
	struct rule_set *set = load();
	struct feed_config sub = { .code = "enterprise",
				   .dept = "enterprise",
				   .mode = JOIN_SUBCENTER };
	struct feed_config merged = { .code = "water", .mode = JOIN_MERGED };
	struct route_decision d;

	struct rule_input water = { "water", "complaint", "崇川区", "小区停水三天" };
	route_decide(set, &merged, &water, false, &d);
	assert_int_equal(d.kind, ROUTE_RULE);
	assert_string_equal(d.dept_code, "water");
	assert_string_equal(d.label, "water");
	assert_non_null(d.rule);

	/* resolved on the call: closed, whatever the rules say */
	route_decide(set, &merged, &water, true, &d);
	assert_int_equal(d.kind, ROUTE_DIRECT_CLOSE);
	assert_null(d.dept_code);
	assert_string_equal(d.label, "");

	/* a rule wins over the sub-centre's own department */
	struct rule_input licence = { "enterprise", "request", "", "办理营业执照" };
	route_decide(set, &sub, &licence, false, &d);
	assert_int_equal(d.kind, ROUTE_RULE);
	assert_string_equal(d.dept_code, "enterprise-desk");

	/* no rule: a sub-centre keeps its ticket; any other feed goes to the desk */
	struct rule_input other = { "enterprise", "request", "", "咨询社保" };
	route_decide(set, &sub, &other, false, &d);
	assert_int_equal(d.kind, ROUTE_SUBCENTER);
	assert_string_equal(d.dept_code, "enterprise");
	assert_string_equal(d.label, "subcenter:enterprise");
	other.feed_code = "water";
	route_decide(set, &merged, &other, false, &d);
	assert_int_equal(d.kind, ROUTE_DESK);
	assert_null(d.dept_code);
	/* an unknown feed (NULL section), no rules at all */
	route_decide(NULL, NULL, &water, false, &d);
	assert_int_equal(d.kind, ROUTE_DESK);
	route_decide(NULL, &sub, &other, false, &d);
	assert_int_equal(d.kind, ROUTE_SUBCENTER);
	rules_free(set);
}

static void test_names(void **state)
{
	assert_string_equal(route_kind_name(ROUTE_DIRECT_CLOSE), "direct-close");
	assert_string_equal(route_kind_name(ROUTE_RULE), "rule");
	assert_string_equal(route_kind_name(ROUTE_SUBCENTER), "subcenter");
	assert_string_equal(route_kind_name(ROUTE_DESK), "desk");
	assert_string_equal(route_kind_name((enum route_kind)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
