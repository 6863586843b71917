/*
 * test_rules.c - unit tests of lib/rules.c (routing rules).
 *
 * Owns: what a rule file means (first match wins, each condition kind, all
 * conditions must hold, lists, catch-all, Chinese text), every parser error with
 * its exact "file:line: reason", the limits, the canonical form's round trip, and
 * that deploy/rules.example parses and routes sample tickets as its comments say.
 * Needs HOTLINE_SOURCE_ROOT (set by tests/unit/meson.build) for the example file.
 * Never: depends on anything but lib/rules.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

static struct rule_set *parse_ok(const char *text)
{
	struct rule_set *set = NULL;
	char err[512] = "";
	if (rules_parse(text, strlen(text), "t.rules", &set, err, sizeof(err)) != 0)
		fail_msg("unexpected parse error: %s", err);
	assert_non_null(set);
	return set;
}

static void expect_error_len(const char *text, size_t len, const char *want)
{
	struct rule_set *set = (struct rule_set *)0x1;
	char err[512] = "";

	assert_int_equal(rules_parse(text, len, "t.rules", &set, err, sizeof(err)), -1);
	assert_null(set);
	assert_string_equal(err, want);
}

static void expect_error(const char *text, const char *want)
{
	expect_error_len(text, strlen(text), want);
}

/* The department of the first matching rule, or "" for no match. */
static const char *route(const struct rule_set *set, const char *feed, const char *category,
			 const char *district, const char *content)
{
	struct rule_input in = {
		.feed_code = feed, .category = category, .district = district, .content = content
	};
	const struct rule *rule = rules_match(set, &in);
	return rule != NULL ? rule_dept(rule) : "";
}

static const char *route_rule(const struct rule_set *set, const char *feed, const char *category,
			      const char *district, const char *content)
{
	struct rule_input in = {
		.feed_code = feed, .category = category, .district = district, .content = content
	};
	const struct rule *rule = rules_match(set, &in);
	return rule != NULL ? rule_name(rule) : "";
}

static char *read_source_file(const char *relative, size_t *len)
{
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, relative);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return text;
}

/* serialize -> parse -> equal, and serialize again -> same bytes. Returns the text. */
static char *round_trip(const struct rule_set *set)
{
	char *text = NULL, *again = NULL;
	size_t len = 0, again_len = 0;
	struct rule_set *back = NULL;
	char err[512] = "";

	assert_int_equal(rules_serialize(set, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	if (rules_parse(text, len, "canonical", &back, err, sizeof(err)) != 0)
		fail_msg("canonical text does not parse: %s", err);
	assert_true(rules_equal(set, back));
	assert_true(rules_equal(back, set));
	assert_int_equal(rules_serialize(back, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_string_equal(again, text);
	free(again);
	rules_free(back);
	return text;
}

/* ---- matching ---- */

static void test_first_match_wins(void **state)
{
	struct rule_set *set = parse_ok("rule first -> water\n"
					"  keywords 停水\n"
					"rule second -> housing\n"
					"  keywords 小区\n");
	assert_string_equal(route(set, "agents", "", "", "小区停水三天了"), "water");
	assert_string_equal(route_rule(set, "agents", "", "", "小区停水三天了"), "first");
	assert_string_equal(route(set, "agents", "", "", "小区路灯坏了"), "housing");
	rules_free(set);

	/* the same rules the other way round */
	set = parse_ok("rule second -> housing\n"
		       "  keywords 小区\n"
		       "rule first -> water\n"
		       "  keywords 停水\n");
	assert_string_equal(route(set, "agents", "", "", "小区停水三天了"), "housing");
	assert_string_equal(route(set, "agents", "", "", "停水"), "water");
	rules_free(set);
}

static void test_feed_condition(void **state)
{
	struct rule_set *set = parse_ok("rule sub -> enterprise\n"
					"  feed enterprise, enterprise-2\n");
	assert_string_equal(route(set, "enterprise", "complaint", "崇川区", "任何内容"),
			    "enterprise");
	assert_string_equal(route(set, "enterprise-2", NULL, NULL, NULL), "enterprise");
	assert_string_equal(route(set, "water", "complaint", "崇川区", "enterprise"), "");
	assert_string_equal(route(set, "Enterprise", NULL, NULL, NULL), "");  /* case-sensitive */
	assert_string_equal(route(set, "enterprise-", NULL, NULL, NULL), ""); /* exact */
	assert_string_equal(route(set, "enterpris", NULL, NULL, NULL), "");
	assert_string_equal(route(set, NULL, NULL, NULL, NULL), "");
	assert_string_equal(route(set, "", NULL, NULL, NULL), "");
	rules_free(set);
}

static void test_category_condition(void **state)
{
	struct rule_set *set = parse_ok("rule c -> market\n"
					"  category complaint, request\n");
	assert_string_equal(route(set, "f", "complaint", "", ""), "market");
	assert_string_equal(route(set, "f", "request", "", ""), "market");
	assert_string_equal(route(set, "f", "consultation", "", ""), "");
	assert_string_equal(route(set, "f", "complaints", "", ""), ""); /* not a prefix */
	assert_string_equal(route(set, "f", "Complaint", "", ""), "");
	assert_string_equal(route(set, "f", NULL, "", "complaint"), "");
	rules_free(set);
}

static void test_district_condition(void **state)
{
	struct rule_set *set = parse_ok("rule d -> chongchuan-gov\n"
					"  district 崇川区, 崇川\n");
	assert_string_equal(route(set, "f", "", "崇川区", ""), "chongchuan-gov");
	assert_string_equal(route(set, "f", "", "崇川", ""), "chongchuan-gov");
	assert_string_equal(route(set, "f", "", "崇川区人民路", ""), ""); /* exact */
	assert_string_equal(route(set, "f", "", "通州区", ""), "");
	assert_string_equal(route(set, "f", "", NULL, "崇川区"), "");
	rules_free(set);
}

static void test_keywords_condition(void **state)
{
	struct rule_set *set = parse_ok("rule w -> water\n"
					"  keywords 停水, 水压低, 自来水\n");
	assert_string_equal(route(set, "f", "", "", "停水"), "water");
	assert_string_equal(route(set, "f", "", "", "我家从昨天开始停水了"), "water");
	assert_string_equal(route(set, "f", "", "", "楼上水压低"), "water");
	assert_string_equal(route(set, "f", "", "", "自来水"), "water");
	assert_string_equal(route(set, "f", "", "", "停电"), "");
	assert_string_equal(route(set, "f", "", "", "停"), "");
	assert_string_equal(route(set, "f", "", "", ""), "");
	assert_string_equal(route(set, "f", "", "", NULL), "");
	rules_free(set);

	/* ASCII keywords are case-sensitive byte substrings */
	set = parse_ok("rule b -> telecom\n  keywords WiFi, 5G\n");
	assert_string_equal(route(set, "f", "", "", "家里WiFi断了"), "telecom");
	assert_string_equal(route(set, "f", "", "", "家里wifi断了"), "");
	assert_string_equal(route(set, "f", "", "", "没有5G信号"), "telecom");
	rules_free(set);
}

static void test_all_conditions_must_hold(void **state)
{
	struct rule_set *set = parse_ok("rule all -> water\n"
					"  feed agents\n"
					"  category complaint\n"
					"  district 海门区\n"
					"  keywords 停水\n");
	assert_string_equal(route(set, "agents", "complaint", "海门区", "停水了"), "water");
	assert_string_equal(route(set, "water", "complaint", "海门区", "停水了"), "");
	assert_string_equal(route(set, "agents", "request", "海门区", "停水了"), "");
	assert_string_equal(route(set, "agents", "complaint", "启东市", "停水了"), "");
	assert_string_equal(route(set, "agents", "complaint", "海门区", "停电了"), "");
	rules_free(set);
}

static void test_catch_all(void **state)
{
	struct rule_set *set = parse_ok("rule w -> water\n"
					"  keywords 停水\n"
					"rule everything -> desk-b\n");
	assert_string_equal(route(set, "f", "c", "d", "停水"), "water");
	assert_string_equal(route(set, "f", "c", "d", "别的事"), "desk-b");
	assert_string_equal(route(set, NULL, NULL, NULL, NULL), "desk-b");
	rules_free(set);

	/* a catch-all first shadows everything after it */
	set = parse_ok("rule everything -> desk-b\nrule w -> water\n  keywords 停水\n");
	assert_string_equal(route(set, "f", "c", "d", "停水"), "desk-b");
	rules_free(set);
}

static void test_no_match_and_empty(void **state)
{
	struct rule_set *set = parse_ok("");
	struct rule_input in = { 0 };

	assert_int_equal(rules_count(set), 0);
	assert_null(rules_match(set, &in));
	assert_null(rules_at(set, 0));
	rules_free(set);

	set = parse_ok("# only comments\n\n   \n\t# indented comment\n");
	assert_int_equal(rules_count(set), 0);
	rules_free(set);

	assert_null(rules_match(NULL, &in));
	assert_int_equal(rules_count(NULL), 0);
	rules_free(NULL); /* fine */

	/* len 0 with a NULL text is an empty file */
	char err[64];
	assert_int_equal(rules_parse(NULL, 0, NULL, &set, err, sizeof(err)), 0);
	assert_int_equal(rules_count(set), 0);
	rules_free(set);
}

/* ---- syntax details ---- */

static void test_repeated_condition_joins_list(void **state)
{
	struct rule_set *set = parse_ok("rule w -> water\n"
					"  keywords 停水, 水压低\n"
					"  keywords 爆管\n"
					"  district 崇川区\n"
					"  keywords 水表\n");
	const struct rule *rule = rules_at(set, 0);
	assert_int_equal(rule_cond_count(rule, RULE_KEYWORDS), 4);
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 0), "停水");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 1), "水压低");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 2), "爆管");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 3), "水表");
	assert_string_equal(route(set, "f", "", "崇川区", "水表坏了"), "water");
	assert_string_equal(route(set, "f", "", "通州区", "水表坏了"), "");
	rules_free(set);
}

static void test_whitespace_separators_and_line_ends(void **state)
{
	/* BOM, CRLF, tabs, full-width comma and spaces, no indentation, no final newline */
	const char *text = "\xEF\xBB\xBF# 注释\r\n"
			   "rule\tw ->   water  \r\n"
			   "keywords 停水，水压低 ,\t爆管\xE3\x80\x80,\xE3\x80\x80自来水\r\n"
			   "\xE3\x80\x80\xE3\x80\x80"
			   "district 崇川区\r\n"
			   "  category  a b , c";
	struct rule_set *set = parse_ok(text);
	const struct rule *rule = rules_at(set, 0);

	assert_int_equal(rules_count(set), 1);
	assert_string_equal(rule_name(rule), "w");
	assert_string_equal(rule_dept(rule), "water");
	assert_int_equal(rule_line(rule), 2);
	assert_int_equal(rule_cond_count(rule, RULE_KEYWORDS), 4);
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 0), "停水");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 1), "水压低");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 2), "爆管");
	assert_string_equal(rule_cond_item(rule, RULE_KEYWORDS, 3), "自来水");
	assert_int_equal(rule_cond_count(rule, RULE_DISTRICT), 1);
	assert_string_equal(rule_cond_item(rule, RULE_DISTRICT, 0), "崇川区");
	assert_int_equal(rule_cond_count(rule, RULE_CATEGORY), 2);
	assert_string_equal(rule_cond_item(rule, RULE_CATEGORY, 0), "a b"); /* inner space kept */
	assert_string_equal(rule_cond_item(rule, RULE_CATEGORY, 1), "c");
	rules_free(set);

	/* "->" needs no spaces around it; names may contain '-' */
	set = parse_ok("rule water-outage->water\nrule x-->y\n");
	assert_string_equal(rule_name(rules_at(set, 0)), "water-outage");
	assert_string_equal(rule_dept(rules_at(set, 0)), "water");
	assert_string_equal(rule_name(rules_at(set, 1)), "x-");
	assert_string_equal(rule_dept(rules_at(set, 1)), "y");
	rules_free(set);
}

static void test_accessors(void **state)
{
	struct rule_set *set = parse_ok("# header\n"
					"\n"
					"rule a -> dept_a\n"
					"  feed f1\n"
					"\n"
					"rule b -> dept-b\n");
	assert_int_equal(rules_count(set), 2);
	const struct rule *a = rules_at(set, 0), *b = rules_at(set, 1);
	assert_string_equal(rule_name(a), "a");
	assert_string_equal(rule_dept(a), "dept_a");
	assert_int_equal(rule_line(a), 3);
	assert_int_equal(rule_line(b), 6);
	assert_int_equal(rule_cond_count(a, RULE_FEED), 1);
	assert_string_equal(rule_cond_item(a, RULE_FEED, 0), "f1");
	assert_null(rule_cond_item(a, RULE_FEED, 1));
	assert_int_equal(rule_cond_count(a, RULE_CATEGORY), 0);
	assert_null(rule_cond_item(a, RULE_CATEGORY, 0));
	assert_int_equal(rule_cond_count(a, RULE_COND_COUNT), 0);
	assert_null(rule_cond_item(a, RULE_COND_COUNT, 0));
	assert_int_equal(rule_cond_count(b, RULE_FEED), 0);
	assert_null(rules_at(set, 2));

	assert_string_equal(rules_cond_name(RULE_FEED), "feed");
	assert_string_equal(rules_cond_name(RULE_CATEGORY), "category");
	assert_string_equal(rules_cond_name(RULE_DISTRICT), "district");
	assert_string_equal(rules_cond_name(RULE_KEYWORDS), "keywords");
	assert_string_equal(rules_cond_name(RULE_COND_COUNT), "INVALID");
	rules_free(set);
}

/* ---- errors ---- */

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "foo bar\n",
		  "t.rules:1: unknown keyword 'foo' (expected rule, feed, category, district or "
		  "keywords)" },
		{ "rule a -> w\n  keyword x\n",
		  "t.rules:2: unknown keyword 'keyword' (expected rule, feed, category, district "
		  "or keywords)" },
		{ "Rule a -> w\n",
		  "t.rules:1: unknown keyword 'Rule' (expected rule, feed, category, district or "
		  "keywords)" },
		{ "rules a -> w\n",
		  "t.rules:1: unknown keyword 'rules' (expected rule, feed, category, district or "
		  "keywords)" },
		{ "# x\n\nkeywords 停水\nrule a -> w\n",
		  "t.rules:3: keywords: condition before any rule line" },
		{ "  feed water\n", "t.rules:1: feed: condition before any rule line" },
		{ "category a\n", "t.rules:1: category: condition before any rule line" },
		{ "district 崇川区\n", "t.rules:1: district: condition before any rule line" },
		{ "rule water\n",
		  "t.rules:1: rule 'water' has no department (write: rule NAME -> DEPT)" },
		{ "rule water ->\n",
		  "t.rules:1: rule 'water' has no department (write: rule NAME -> DEPT)" },
		{ "rule water ->  \xE3\x80\x80 \n",
		  "t.rules:1: rule 'water' has no department (write: rule NAME -> DEPT)" },
		{ "rule\n", "t.rules:1: rule needs a name (write: rule NAME -> DEPT)" },
		{ "rule   \n", "t.rules:1: rule needs a name (write: rule NAME -> DEPT)" },
		{ "rule -> water\n", "t.rules:1: rule needs a name (write: rule NAME -> DEPT)" },
		{ "rule a -> w\nrule b -> w\n\nrule a -> x\n",
		  "t.rules:4: duplicate rule name 'a' (first at line 1)" },
		{ "rule a -> 水务\n",
		  "t.rules:1: invalid department code '水务' (1-64 letters, digits, '_' or '-')" },
		{ "rule a -> b c\n",
		  "t.rules:1: invalid department code 'b c' (1-64 letters, digits, '_' or '-')" },
		{ "rule a -> b -> c\n",
		  "t.rules:1: invalid department code 'b -> c' (1-64 letters, digits, '_' or "
		  "'-')" },
		{ "rule a b -> c\n",
		  "t.rules:1: invalid rule name 'a b' (1-64 letters, digits, '_' or '-')" },
		{ "rule 停水 -> water\n",
		  "t.rules:1: invalid rule name '停水' (1-64 letters, digits, '_' or '-')" },
		{ "rule a -> w\n  keywords x,,y\n", "t.rules:2: keywords: item 2 is empty" },
		{ "rule a -> w\n  keywords x,\n", "t.rules:2: keywords: item 2 is empty" },
		{ "rule a -> w\n  keywords ,x\n", "t.rules:2: keywords: item 1 is empty" },
		{ "rule a -> w\n  keywords x， ，y\n", "t.rules:2: keywords: item 2 is empty" },
		{ "rule a -> w\n  district 崇川区,\xE3\x80\x80\n",
		  "t.rules:2: district: item 2 is empty" },
		{ "rule a -> w\n  keywords\n", "t.rules:2: keywords needs at least one item" },
		{ "rule a -> w\n  category   \t\n", "t.rules:2: category needs at least one item" },
		{ "rule a -> w\n  feed water supply\n",
		  "t.rules:2: invalid feed code 'water supply' (1-64 letters, digits, '_' or "
		  "'-')" },
		{ "rule a -> w\n  feed ok, 水务\n",
		  "t.rules:2: invalid feed code '水务' (1-64 letters, digits, '_' or '-')" },
		{ "rule a -> w\n  keywords \xff\n", "t.rules:2: invalid UTF-8" },
		{ "rule a -> w\n  keywords \xc0\xaf\n", "t.rules:2: invalid UTF-8" }, /* overlong */
		{ "rule a -> w\n  keywords \xed\xa0\x80\n",
		  "t.rules:2: invalid UTF-8" }, /* surrogate */
		{ "rule a -> w\n  keywords \xe5\x81\n",
		  "t.rules:2: invalid UTF-8" },			    /* truncated */
		{ "# \xfe comment\n", "t.rules:1: invalid UTF-8" }, /* even in a comment */
		{ "rule a -> w\n  keywords a\x01z\n",
		  "t.rules:2: control character (byte 0x01) in line" },
		{ "rule a -> w\r\r\n", "t.rules:1: control character (byte 0x0d) in line" },
		{ "rule a -> w\x7f\n", "t.rules:1: control character (byte 0x7f) in line" },
		{ "rule a -> w\nbad\nworse\n",
		  "t.rules:2: unknown keyword 'bad' (expected rule, feed, category, district or "
		  "keywords)" },
		{ "# c\r\n\r\nrule a -> w\r\n  bogus x\r\n",
		  "t.rules:4: unknown keyword 'bogus' (expected rule, feed, category, district or "
		  "keywords)" },
		{ "\xEF\xBB\xBFnope\n",
		  "t.rules:1: unknown keyword 'nope' (expected rule, feed, category, district or "
		  "keywords)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_error(cases[i].text, cases[i].want);

	/* a NUL byte inside the text (the parser takes a length, not a C string) */
	static const char nul[] = "rule a -> w\n  keywords a\0b\n";
	expect_error_len(nul, sizeof(nul) - 1, "t.rules:2: control character (byte 0x00) in line");
}

static void test_error_reporting_details(void **state)
{
	struct rule_set *set = NULL;
	char err[24];

	/* filename NULL -> "rules" */
	char big[256];
	assert_int_equal(rules_parse("x\n", 2, NULL, &set, big, sizeof(big)), -1);
	assert_string_equal(big, "rules:1: unknown keyword 'x' (expected rule, feed, category, "
				 "district or keywords)");
	/* a small buffer truncates; NULL err is fine */
	memset(err, 'X', sizeof(err));
	assert_int_equal(rules_parse("x\n", 2, "t.rules", &set, err, sizeof(err)), -1);
	assert_string_equal(err, "t.rules:1: unknown keyw");
	assert_int_equal(rules_parse("x\n", 2, "t.rules", &set, NULL, 0), -1);
	assert_null(set);
	/* success clears err */
	strcpy(big, "stale");
	assert_int_equal(rules_parse("", 0, "t.rules", &set, big, sizeof(big)), 0);
	assert_string_equal(big, "");
	rules_free(set);
	/* a long unknown keyword is shown cut at a character boundary (64 bytes max) */
	char text[512] = "";
	for (int i = 0; i < 30; i++)
		strcat(text, "停"); /* 90 bytes */
	strcat(text, "\n");
	assert_int_equal(rules_parse(text, strlen(text), "t.rules", &set, big, sizeof(big)), -1);
	char want[256] = "t.rules:1: unknown keyword '";
	for (int i = 0; i < 21; i++)
		strcat(want, "停"); /* 63 bytes: the 22nd would pass 64 */
	strcat(want, "' (expected rule, feed, category, district or keywords)");
	assert_string_equal(big, want);
}

static char *repeat(const char *unit, size_t times)
{
	size_t n = strlen(unit);
	char *s = malloc(n * times + 1);
	assert_non_null(s);
	for (size_t i = 0; i < times; i++)
		memcpy(s + i * n, unit, n);
	s[n * times] = '\0';
	return s;
}

static void test_limits(void **state)
{
	char *text, *a, *b;
	struct rule_set *set;
	size_t len;

	/* line length: 4096 bytes is fine (also before a CR), 4097 is not */
	a = repeat("x", 4095);
	len = (size_t)asprintf(&text, "#%s\r\nrule a -> w\n", a);
	set = parse_ok(text);
	assert_int_equal(rules_count(set), 1);
	rules_free(set);
	free(text);
	len = (size_t)asprintf(&text, "rule a -> w\n#%sy\n", a);
	expect_error_len(text, len, "t.rules:2: line is longer than 4096 bytes");
	free(text);
	free(a);

	/* keyword length 256, category/district 64 */
	a = repeat("k", 256);
	len = (size_t)asprintf(&text, "rule a -> w\n  keywords x, %s\n", a);
	set = parse_ok(text);
	assert_int_equal(strlen(rule_cond_item(rules_at(set, 0), RULE_KEYWORDS, 1)), 256);
	rules_free(set);
	free(text);
	len = (size_t)asprintf(&text, "rule a -> w\n  keywords x, %sk\n", a);
	expect_error_len(text, len, "t.rules:2: keywords: item 2 is longer than 256 bytes");
	free(text);
	free(a);
	a = repeat("区", 21); /* 63 bytes */
	len = (size_t)asprintf(&text, "rule a -> w\n  district %sx\n  category %sx\n", a, a);
	set = parse_ok(text);
	rules_free(set);
	free(text);
	len = (size_t)asprintf(&text, "rule a -> w\n  district %s区\n", a);
	expect_error_len(text, len, "t.rules:2: district: item 1 is longer than 64 bytes");
	free(text);
	len = (size_t)asprintf(&text, "rule a -> w\n  category ok, %sxx\n", a);
	expect_error_len(text, len, "t.rules:2: category: item 2 is longer than 64 bytes");
	free(text);
	free(a);

	/* codes: 64 bytes fine, 65 not */
	a = repeat("d", 64);
	len = (size_t)asprintf(&text, "rule %s -> %s\n  feed %s\n", a, a, a);
	set = parse_ok(text);
	rules_free(set);
	free(text);
	len = (size_t)asprintf(&text, "rule a -> %sd\n", a);
	expect_error_len(text, len,
			 "t.rules:1: invalid department code "
			 "'dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd' "
			 "(1-64 letters, digits, '_' or '-')");
	free(text);
	free(a);

	/* 256 items in one condition (over two lines), 257 refused */
	a = repeat("k, ", 127);
	b = repeat("q, ", 127);
	len = (size_t)asprintf(&text, "rule a -> w\n  keywords %sk\n  keywords %sq\n", a, b);
	set = parse_ok(text);
	assert_int_equal(rule_cond_count(rules_at(set, 0), RULE_KEYWORDS), 256);
	rules_free(set);
	free(text);
	len = (size_t)asprintf(&text, "rule a -> w\n  keywords %sk\n  keywords %sq\n  keywords z\n",
			       a, b);
	expect_error_len(text, len, "t.rules:4: keywords: more than 256 items in rule 'a'");
	free(text);
	free(a);
	free(b);

	/* 10000 rules, 10001 refused at the line of the 10001st */
	size_t cap = 10001 * 24;
	text = malloc(cap);
	assert_non_null(text);
	len = 0;
	for (int i = 0; i < 10000; i++)
		len += (size_t)snprintf(text + len, cap - len, "rule r%d -> d\n", i);
	set = parse_ok(text);
	assert_int_equal(rules_count(set), 10000);
	assert_int_equal(rule_line(rules_at(set, 9999)), 10000);
	struct rule_input in = { .content = "x" };
	assert_string_equal(rule_name(rules_match(set, &in)), "r0");
	rules_free(set);
	len += (size_t)snprintf(text + len, cap - len, "rule r%d -> d\n", 10000);
	expect_error_len(text, len, "t.rules:10001: more than 10000 rules");
	/* a duplicate far down is found (the name table grows as rules come in) */
	len = 0;
	for (int i = 0; i < 5000; i++)
		len += (size_t)snprintf(text + len, cap - len, "rule r%d -> d\n", i);
	len += (size_t)snprintf(text + len, cap - len, "rule r1234 -> d\n");
	expect_error_len(text, len,
			 "t.rules:5001: duplicate rule name 'r1234' (first at line 1235)");
	free(text);

	/* the whole file: 16 MiB */
	len = RULES_MAX_TEXT + 1;
	text = malloc(len);
	assert_non_null(text);
	memset(text, '\n', len);
	expect_error_len(text, len, "t.rules: larger than 16777216 bytes");
	set = NULL;
	char err[128];
	assert_int_equal(rules_parse(text, len - 1, "t.rules", &set, err, sizeof(err)), 0);
	assert_int_equal(rules_count(set), 0);
	rules_free(set);
	free(text);
}

/* ---- canonical form ---- */

static void test_serialize_canonical(void **state)
{
	struct rule_set *set = parse_ok("\xEF\xBB\xBF# comment goes away\r\n"
					"rule w->water\r\n"
					"\tkeywords 停水，水压低,爆管\n"
					"\tdistrict 崇川区\n"
					"\tkeywords 自来水\n"
					"\tcategory complaint\n"
					"\tfeed agents ,  web\n"
					"rule all -> desk\n"
					"rule d->haimen-gov\n"
					"district 海门区");
	char *text = round_trip(set);
	assert_string_equal(text, "rule w -> water\n"
				  "  feed agents, web\n"
				  "  category complaint\n"
				  "  district 崇川区\n"
				  "  keywords 停水, 水压低, 爆管, 自来水\n"
				  "\n"
				  "rule all -> desk\n"
				  "\n"
				  "rule d -> haimen-gov\n"
				  "  district 海门区\n");
	free(text);
	rules_free(set);

	/* the empty set is the empty text */
	set = parse_ok("# nothing\n");
	char *out = NULL;
	size_t len = 99;
	assert_int_equal(rules_serialize(set, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	free(out);
	rules_free(set);
}

static void test_serialize_wraps_long_lists(void **state)
{
	/* 256 keywords of 200 bytes: 51 KiB of list, far over one 4096-byte line */
	size_t cap = 300 * 256 + 4096;
	char *text = malloc(cap);
	char *kw = repeat("字", 66); /* 198 bytes */
	size_t len = (size_t)snprintf(text, cap, "rule long -> water\n");
	for (int i = 0; i < 256; i++)
		len += (size_t)snprintf(text + len, cap - len, "  keywords %s%02x\n", kw, i);
	struct rule_set *set = parse_ok(text);
	assert_int_equal(rule_cond_count(rules_at(set, 0), RULE_KEYWORDS), 256);

	char *canon = round_trip(set);
	/* every line well inside the parser's limit, each one a keywords line */
	size_t lines = 0;
	for (char *line = canon, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		assert_true((size_t)(nl - line) <= 1000);
		if (lines > 0)
			assert_memory_equal(line, "  keywords ", 11);
		lines++;
	}
	/* 200 + 2 bytes per item, after an 11-byte prefix: 4 items a line -> 64 lines + rule */
	assert_int_equal(lines, 65);
	free(canon);
	free(kw);
	free(text);
	rules_free(set);
}

static void test_rules_equal(void **state)
{
	static const char *const variants[] = {
		"rule a -> w\n  keywords x, y\n",
		"rule b -> w\n  keywords x, y\n",
		"rule a -> v\n  keywords x, y\n",
		"rule a -> w\n  keywords x, z\n",
		"rule a -> w\n  keywords y, x\n",
		"rule a -> w\n  keywords x\n",
		"rule a -> w\n  district x, y\n",
		"rule a -> w\n  keywords x, y\nrule b -> w\n",
		"",
	};
	size_t n = sizeof(variants) / sizeof(variants[0]);

	for (size_t i = 0; i < n; i++) {
		struct rule_set *x = parse_ok(variants[i]);
		for (size_t j = 0; j < n; j++) {
			struct rule_set *y = parse_ok(variants[j]);
			assert_int_equal(rules_equal(x, y), i == j);
			rules_free(y);
		}
		rules_free(x);
	}
	/* line numbers do not matter */
	struct rule_set *x = parse_ok("rule a -> w\n"), *y = parse_ok("\n\n# c\nrule a -> w\n");
	assert_true(rules_equal(x, y));
	rules_free(x);
	rules_free(y);
}

/* ---- the example file ---- */

static void test_example_file(void **state)
{
	size_t len;
	char *text = read_source_file("deploy/rules.example", &len);
	struct rule_set *set = NULL;
	char err[512] = "";

	if (rules_parse(text, len, "deploy/rules.example", &set, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_true(rules_count(set) >= 30);

	/* at least 20 distinct departments besides the district offices */
	const char *depts[256];
	size_t ndepts = 0, ndistrict = 0;
	for (size_t i = 0; i < rules_count(set); i++) {
		const char *dept = rule_dept(rules_at(set, i));
		size_t j = 0;
		while (j < ndepts && strcmp(depts[j], dept) != 0)
			j++;
		if (j == ndepts) {
			depts[ndepts++] = dept;
			if (strstr(dept, "-gov") != NULL)
				ndistrict++;
		}
		/* no catch-all: every rule has a condition */
		const struct rule *rule = rules_at(set, i);
		size_t conds = 0;
		for (int c = 0; c < RULE_COND_COUNT; c++)
			conds += rule_cond_count(rule, (enum rule_cond)c);
		assert_true(conds > 0);
	}
	assert_true(ndepts - ndistrict >= 20);
	assert_int_equal(ndistrict, 8);

	/* sample tickets, routed as the file's comments promise */
	assert_string_equal(route(set, "agents", "request", "崇川区", "楼道里闻到煤气味，很害怕"),
			    "gas");
	assert_string_equal(route(set, "enterprise", "consultation", "崇川区", "停水了怎么办"),
			    "enterprise"); /* sub-centre keeps its tickets */
	assert_string_equal(route(set, "agents", "consultation", "开发区", "园区企业招工补贴"),
			    "kaifaqu-gov");
	assert_string_equal(route(set, "agents", "complaint", "通州区", "小区停水两天了"), "water");
	assert_string_equal(route(set, "power", "complaint", "如皋市", "晚上经常停电"), "power");
	assert_string_equal(route(set, "agents", "complaint", "", "接到电信诈骗电话被骗了两千元"),
			    "public-security");
	assert_string_equal(route(set, "agents", "complaint", "", "电信公司宽带装机拖延"),
			    "telecom");
	assert_string_equal(route(set, "agents", "complaint", "启东市", "工地拖欠工资三个月"),
			    "hrss");
	assert_string_equal(route(set, "agents", "consultation", "启东市", "拖欠工资怎么维权"),
			    "qidong-gov"); /* a consultation falls through to the district */
	assert_string_equal(route(set, "agents", "complaint", "海安市", "路边占道经营严重"),
			    "chengguan");
	assert_string_equal(route(set, "agents", "suggestion", "", "建议增设一个停车场"),
			    "natural-resources");
	assert_string_equal(route(set, "agents", "complaint", "如东县", "邻居家装修太吵"),
			    "rudong-gov");
	assert_string_equal(route(set, "agents", "complaint", "海门", "邻居家装修太吵"),
			    "haimen-gov");
	/* no topic and no district: the manual desk */
	assert_string_equal(route(set, "agents", "complaint", "", "邻居家装修太吵"), "");
	assert_string_equal(route(set, "agents", "complaint", "南京市", "邻居家装修太吵"), "");
	assert_string_equal(route_rule(set, "agents", "request", "", "公积金提取"), "housing-fund");

	free(round_trip(set));
	rules_free(set);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_feed_condition),
		cmocka_unit_test(test_category_condition),
		cmocka_unit_test(test_district_condition),
		cmocka_unit_test(test_keywords_condition),
		cmocka_unit_test(test_all_conditions_must_hold),
		cmocka_unit_test(test_catch_all),
		cmocka_unit_test(test_no_match_and_empty),
		cmocka_unit_test(test_repeated_condition_joins_list),
		cmocka_unit_test(test_whitespace_separators_and_line_ends),
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_error_reporting_details),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_serialize_canonical),
		cmocka_unit_test(test_serialize_wraps_long_lists),
		cmocka_unit_test(test_rules_equal),
		cmocka_unit_test(test_example_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
