/*
 * test_form.c - lib/form.c: application/x-www-form-urlencoded bodies and query
 * strings: pairs, '+' and %XX, empty pairs and values, and every refusal (an
 * empty name, a bad escape, NUL, invalid UTF-8, a name twice, too many pairs, a
 * buffer too small), each leaving the form empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "form.h"

/* Parses text into f (its buffer: buf), failing the test when it is refused. */
static void parse_ok(const char *text, char *buf, size_t buflen, struct form *f)
{
	char err[256] = "";
	if (form_parse(text, strlen(text), buf, buflen, f, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
}

static void expect_refused(const char *text, size_t len, const char *want)
{
	char buf[1024], err[256] = "";
	struct form f;
	f.count = 99;
	assert_int_equal(form_parse(text, len, buf, sizeof(buf), &f, err, sizeof(err)), -1);
	assert_int_equal(f.count, 0);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_pairs_in_order(void **state)
{
	char buf[256];
	struct form f;
	parse_ok("api_key=xyz&service_code=001&lat=37.76524078&long=-122.4212043", buf, sizeof(buf),
		 &f);
	assert_int_equal(f.count, 4);
	assert_string_equal(f.fields[0].name, "api_key");
	assert_string_equal(f.fields[0].value, "xyz");
	assert_string_equal(f.fields[3].name, "long");
	assert_string_equal(f.fields[3].value, "-122.4212043");
	assert_string_equal(form_get(&f, "service_code"), "001");
	assert_null(form_get(&f, "description"));
	assert_null(form_get(&f, "api"));
}

static void test_decoding(void **state)
{
	char buf[256];
	struct form f;
	/* the spec's own example body, '+' as space and %XX */
	parse_ok("address_string=1234+5th+street&email=smit333%40sfgov.edu&media_url=http%3A%2F%2F"
		 "farm3.static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg",
		 buf, sizeof(buf), &f);
	assert_string_equal(form_get(&f, "address_string"), "1234 5th street");
	assert_string_equal(form_get(&f, "email"), "smit333@sfgov.edu");
	assert_string_equal(form_get(&f, "media_url"),
			    "http://farm3.static.flickr.com/2002/2212426634_5ed477a060.jpg");
	/* UTF-8, escaped (both cases of hex) and raw; an escaped '+', '=' and '&' */
	parse_ok("d=%E8%B7%AF%e7%81%af%E4%B8%8D%E4%BA%AE&raw=垃圾&p=%2B86&e=a%3Db%26c", buf,
		 sizeof(buf), &f);
	assert_string_equal(form_get(&f, "d"), "路灯不亮");
	assert_string_equal(form_get(&f, "raw"), "垃圾");
	assert_string_equal(form_get(&f, "p"), "+86");
	assert_string_equal(form_get(&f, "e"), "a=b&c");
	/* line breaks survive (descriptions may have them) */
	parse_ok("description=one%0D%0Atwo", buf, sizeof(buf), &f);
	assert_string_equal(form_get(&f, "description"), "one\r\ntwo");
	/* a name may be escaped too */
	parse_ok("attribute%5BWHISPAWN%5D=123456", buf, sizeof(buf), &f);
	assert_string_equal(f.fields[0].name, "attribute[WHISPAWN]");
}

static void test_empty_pairs_and_values(void **state)
{
	char buf[256];
	struct form f;
	parse_ok("", buf, sizeof(buf), &f);
	assert_int_equal(f.count, 0);
	parse_ok("&&", buf, sizeof(buf), &f);
	assert_int_equal(f.count, 0);
	parse_ok("a=1&&b=&c&", buf, sizeof(buf), &f);
	assert_int_equal(f.count, 3);
	assert_string_equal(form_get(&f, "a"), "1");
	assert_string_equal(form_get(&f, "b"), "");
	assert_string_equal(form_get(&f, "c"), "");
	/* only the first '=' splits */
	parse_ok("q=a=b", buf, sizeof(buf), &f);
	assert_string_equal(form_get(&f, "q"), "a=b");
}

static void test_refusals(void **state)
{
	expect_refused("=1", 2, "has no name");
	expect_refused("a=1&=2", 6, "has no name");
	expect_refused("a=%", 3, "the value of 'a' has a '%' without two hex digits");
	expect_refused("a=%4", 4, "without two hex digits");
	expect_refused("a=%G1", 5, "without two hex digits");
	expect_refused("a%zz=1", 6, "the name of 'a%zz'");
	expect_refused("a=x%00y", 7, "the value of 'a' holds a NUL byte");
	expect_refused("a=x\0y", 5, "holds a NUL byte");
	expect_refused("a=%C3%28", 8, "the value of 'a' is not valid UTF-8");
	expect_refused("a=\xff", 3, "not valid UTF-8");
	expect_refused("%ED%A0%80=1", 11, "the name of");
	expect_refused("api_key=a&api_key=b", 19, "'api_key' is given twice");
	expect_refused("a&a=", 4, "'a' is given twice");
	/* a name is shown escaped and cut */
	char text[300];
	snprintf(text, sizeof(text), "%s%%01=1&%s%%01=2",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		 "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn");
	expect_refused(text, strlen(text), "...' is given twice");
}

static void test_bounds(void **state)
{
	/* FORM_MAX_FIELDS pairs are fine, one more is not */
	char text[4096] = "";
	size_t len = 0;
	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%sf%d=%d", i ? "&" : "", i,
					i);
	char buf[4096];
	struct form f;
	parse_ok(text, buf, sizeof(buf), &f);
	assert_int_equal(f.count, FORM_MAX_FIELDS);
	snprintf(text + len, sizeof(text) - len, "&one=more");
	expect_refused(text, strlen(text), "more than 64 names");
	/* the buffer: len + 1 is always enough, less is refused */
	const char *t = "a=b&c=d";
	char exact[8];
	parse_ok(t, exact, strlen(t) + 1, &f);
	assert_string_equal(form_get(&f, "c"), "d");
	char err[128];
	assert_int_equal(form_parse(t, strlen(t), exact, strlen(t), &f, err, sizeof(err)), -1);
	assert_int_equal(f.count, 0);
	/* the length is obeyed: bytes past it are not read */
	parse_ok("a=1", buf, sizeof(buf), &f);
	assert_int_equal(form_parse("a=1&b=2", 3, buf, sizeof(buf), &f, err, sizeof(err)), 0);
	assert_int_equal(f.count, 1);
	assert_null(form_get(&f, "b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_in_order),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_empty_pairs_and_values),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
