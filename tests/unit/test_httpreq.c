/*
 * test_httpreq.c - lib/httpreq.c: the path, the bearer token and body fields of
 * an HTTP API request; and lib/dates.c's API time format (dates_format_utc).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dates.h"
#include "httpreq.h"

static int split(const char *path, char *buf, size_t len, const char *segs[])
{
	return httpreq_split_path(path, buf, len, segs);
}

static void test_split_path(void **state)
{
	char buf[256];
	const char *segs[HTTPREQ_MAX_SEGMENTS];
	assert_int_equal(
		split("/api/v1/tickets/20261207-00000042/dispatch", buf, sizeof(buf), segs), 3);
	assert_string_equal(segs[0], "tickets");
	assert_string_equal(segs[1], "20261207-00000042");
	assert_string_equal(segs[2], "dispatch");
	/* empty segments are skipped; escapes are decoded */
	assert_int_equal(split("/api/v1//callers/%2B86%20138//tickets/", buf, sizeof(buf), segs),
			 3);
	assert_string_equal(segs[1], "+86 138");
	assert_int_equal(split("/api/v1/", buf, sizeof(buf), segs), 0);
	/* UTF-8, escaped or not */
	assert_int_equal(split("/api/v1/kb/%E5%9E%83%E5%9C%BE", buf, sizeof(buf), segs), 2);
	assert_string_equal(segs[1], "垃圾");
	/* refused: outside the prefix, NUL, '/', bad escapes, bad UTF-8, too many */
	assert_int_equal(split("/api/v2/me", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/a%00b", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/a%2Fb", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/a%2fb", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/a%4", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/a%zz", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/%ff", buf, sizeof(buf), segs), -1);
	assert_int_equal(split("/api/v1/1/2/3/4/5/6/7/8", buf, sizeof(buf), segs), 8);
	assert_int_equal(split("/api/v1/1/2/3/4/5/6/7/8/9", buf, sizeof(buf), segs), -1);
	/* the buffer must hold the path */
	assert_int_equal(split("/api/v1/tickets", buf, 8, segs), -1);
}

static void test_bearer(void **state)
{
	int64_t id = 0;
	char secret[HTTPREQ_SECRET_MAX + 1];
	assert_int_equal(httpreq_bearer("Bearer hl1.42.abc-_XYZ09", &id, secret, sizeof(secret)),
			 0);
	assert_int_equal(id, 42);
	assert_string_equal(secret, "abc-_XYZ09");
	assert_int_equal(httpreq_bearer("Bearer hl1.7.s3cret  ", &id, secret, sizeof(secret)), 0);
	assert_string_equal(secret, "s3cret");

	static const char *const bad[] = {
		NULL,
		"",
		"Basic hl1.1.abc",
		"bearer hl1.1.abc",
		"Bearer hl2.1.abc",
		"Bearer hl1..abc",
		"Bearer hl1.0.abc",
		"Bearer hl1.01.abc",
		"Bearer hl1.-1.abc",
		"Bearer hl1.1.",
		"Bearer hl1.1",
		"Bearer hl1.1.abc.def",
		"Bearer hl1.1.ab c",
		"Bearer hl1.1234567890123456789.abc",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(httpreq_bearer(bad[i], &id, secret, sizeof(secret)), -1);
	char longer[200] = "Bearer hl1.1.";
	memset(longer + strlen(longer), 'a', 129);
	assert_int_equal(httpreq_bearer(longer, &id, secret, sizeof(secret)), -1);
	longer[13 + 128] = '\0';
	assert_int_equal(httpreq_bearer(longer, &id, secret, sizeof(secret)), 0);
	assert_int_equal(strlen(secret), 128);
}

static int take(const char *text, const char **decision, const char **reason, bool *flag,
		int64_t *num, char *err)
{
	json_t *obj = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(obj);
	struct httpreq_field fields[] = {
		{ .name = "decision",
		  .type = HTTPREQ_STRING,
		  .required = true,
		  .max = 8,
		  .str = decision },
		{ .name = "reason",
		  .type = HTTPREQ_STRING,
		  .max = 64,
		  .not_blank = true,
		  .str = reason },
		{ .name = "flag", .type = HTTPREQ_BOOL, .flag = flag },
		{ .name = "n", .type = HTTPREQ_INT, .num = num },
	};
	int rc = httpreq_fields(obj, fields, 4, err, 256);
	json_decref(obj);
	return rc;
}

static void test_fields(void **state)
{
	const char *decision = NULL, *reason = NULL;
	bool flag = false;
	int64_t num = 0;
	char err[256];
	/* strings are borrowed from the object: check them before it goes */
	json_t *obj = json_loads(
		"{\"decision\":\"close\",\"reason\":\"测试\",\"flag\":true,\"n\":7}", 0, NULL);
	struct httpreq_field fields[] = {
		{ .name = "decision",
		  .type = HTTPREQ_STRING,
		  .required = true,
		  .max = 8,
		  .str = &decision },
		{ .name = "reason",
		  .type = HTTPREQ_STRING,
		  .max = 64,
		  .not_blank = true,
		  .str = &reason },
		{ .name = "flag", .type = HTTPREQ_BOOL, .flag = &flag },
		{ .name = "n", .type = HTTPREQ_INT, .num = &num },
	};
	assert_int_equal(httpreq_fields(obj, fields, 4, err, sizeof(err)), 0);
	assert_string_equal(decision, "close");
	assert_string_equal(reason, "测试");
	assert_true(flag);
	assert_int_equal(num, 7);
	json_decref(obj);

	/* null counts as absent; a blank optional string too */
	reason = "untouched";
	assert_int_equal(
		take("{\"decision\":\"x\",\"reason\":null}", &decision, &reason, &flag, &num, err),
		0);
	assert_string_equal(reason, "untouched");
	assert_int_equal(take("{\"decision\":\"x\",\"reason\":\" \\u3000 \"}", &decision, &reason,
			      &flag, &num, err),
			 0);
	assert_string_equal(reason, "untouched");

	assert_int_equal(take("{}", &decision, &reason, &flag, &num, err), -1);
	assert_string_equal(err, "\"decision\" is required");
	assert_int_equal(
		take("{\"decision\":\"x\",\"other\":1}", &decision, &reason, &flag, &num, err), -1);
	assert_string_equal(err, "unknown field \"other\"");
	assert_int_equal(take("{\"decision\":1}", &decision, &reason, &flag, &num, err), -1);
	assert_string_equal(err, "\"decision\" must be a string");
	assert_int_equal(
		take("{\"decision\":\"x\",\"flag\":1}", &decision, &reason, &flag, &num, err), -1);
	assert_string_equal(err, "\"flag\" must be true or false");
	assert_int_equal(
		take("{\"decision\":\"x\",\"n\":1.5}", &decision, &reason, &flag, &num, err), -1);
	assert_string_equal(err, "\"n\" must be an integer");
	assert_int_equal(take("{\"decision\":\"123456789\"}", &decision, &reason, &flag, &num, err),
			 -1);
	assert_string_equal(err, "\"decision\" is longer than 8 bytes");

	/* a NUL inside a string (jansson refuses \u0000 by default; a loader that
	 * allowed it must still not let it through) */
	obj = json_loads("{\"decision\":\"a\\u0000b\"}", JSON_ALLOW_NUL, NULL);
	assert_non_null(obj);
	assert_int_equal(httpreq_fields(obj, fields, 4, err, sizeof(err)), -1);
	assert_string_equal(err, "\"decision\" holds a NUL character");
	json_decref(obj);
	obj = json_loads("[1]", 0, NULL);
	assert_int_equal(httpreq_fields(obj, fields, 4, err, sizeof(err)), -1);
	json_decref(obj);
}

static void test_int_param(void **state)
{
	int64_t v;
	assert_int_equal(httpreq_int_param("", 20, 1, 100, &v), 0);
	assert_int_equal(v, 20);
	assert_int_equal(httpreq_int_param("100", 20, 1, 100, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(httpreq_int_param("101", 20, 1, 100, &v), -1);
	assert_int_equal(httpreq_int_param("0", 20, 1, 100, &v), -1);
	assert_int_equal(httpreq_int_param("-1", 20, 0, 100, &v), -1);
	assert_int_equal(httpreq_int_param("1e3", 20, 0, 10000, &v), -1);
	assert_int_equal(httpreq_int_param("99999999999999999999", 20, 0, 100, &v), -1);
}

static void test_format_utc(void **state)
{
	char buf[DATES_UTC_LEN];
	assert_int_equal(dates_format_utc(INT64_C(1795000000123), buf, sizeof(buf)), 24);
	assert_string_equal(buf, "2026-11-18T11:06:40.123Z");
	assert_int_equal(dates_format_utc(0, buf, sizeof(buf)), 24);
	assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
	assert_int_equal(dates_format_utc(0, buf, DATES_UTC_LEN - 1), 0);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_path), cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_fields),	   cmocka_unit_test(test_int_param),
		cmocka_unit_test(test_format_utc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
