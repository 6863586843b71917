/*
 * test_intake.c - unit tests of lib/intake.c (record building and validation).
 *
 * Owns: one passing and one failing case per validation rule, each limit at
 * exactly the limit and one byte over, and the exact reason text naming the
 * field. Never: reads the clock (a fixed "now" is used). Run by `meson test`.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "intake.h"

#define NOW_MS INT64_C(1795000000000) /* a fixed "now" in late 2026 */
#define MINUTE_MS INT64_C(60000)
#define DAY_MS (INT64_C(24) * 60 * MINUTE_MS)

/* A record that passes every rule; tests change one field at a time. */
static void good_pb(Hotline__V1__Intake *pb)
{
	Hotline__V1__Intake init = HOTLINE__V1__INTAKE__INIT;

	*pb = init;
	pb->external_id = "WATER-2026-000123";
	pb->received_at = NOW_MS - 5 * MINUTE_MS;
	pb->channel = "phone";
	pb->caller_phone = "+86 (513) 8512-3456";
	pb->caller_name = "王女士";
	pb->category = "complaint";
	pb->content = "小区停水两天，无人通知。";
	pb->district = "崇川区";
	pb->address = "南通市崇川区人民中路 1 号";
	pb->lat = 32.0;
	pb->lon = 120.86;
	pb->priority = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	pb->origin_number = "0513-96196";
}

/* Builds pb into a record, validates it with lim, returns rc; reason in err. */
static int check_with(const Hotline__V1__Intake *pb, const struct intake_limits *lim, char *err,
		      size_t errlen)
{
	struct intake *in = intake_from_pb(pb);
	int rc;

	assert_non_null(in);
	rc = intake_validate(in, NOW_MS, lim, err, errlen);
	intake_free(in);
	return rc;
}

static void expect_ok(const Hotline__V1__Intake *pb)
{
	struct intake_limits lim;
	char err[256] = "untouched";

	intake_limits_default(&lim);
	if (check_with(pb, &lim, err, sizeof(err)) != 0)
		fail_msg("expected valid, got: %s", err);
	assert_string_equal(err, "");
}

static void expect_error(const Hotline__V1__Intake *pb, const char *reason)
{
	struct intake_limits lim;
	char err[256] = "";

	intake_limits_default(&lim);
	assert_int_equal(check_with(pb, &lim, err, sizeof(err)), -1);
	assert_string_equal(err, reason);
}

/* A string of n copies of c (n bytes + NUL); caller frees. */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* n bytes made of 3-byte Chinese characters (n must be a multiple of 3). */
static char *repeat_chinese(size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(n % 3, 0);
	for (size_t i = 0; i < n; i += 3)
		memcpy(s + i, "\xe4\xb8\xad", 3); /* 中 */
	s[n] = '\0';
	return s;
}

static void test_defaults(void **state)
{
	struct intake_limits lim;

	intake_limits_default(&lim);
	assert_int_equal(lim.max_content, 8192);
	assert_int_equal(lim.max_age_ms, 30 * DAY_MS);
	assert_int_equal(lim.max_future_ms, 5 * MINUTE_MS);
}

static void test_from_pb_copies_everything(void **state)
{
	Hotline__V1__Intake pb;
	struct intake *in;

	good_pb(&pb);
	pb.priority = HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
	pb.resolved_on_call = 1;
	pb.answer = "已现场答复";
	in = intake_from_pb(&pb);
	assert_non_null(in);
	assert_string_equal(in->external_id, "WATER-2026-000123");
	assert_int_equal(in->received_at_ms, NOW_MS - 5 * MINUTE_MS);
	assert_string_equal(in->channel, "phone");
	assert_string_equal(in->caller_phone, "+86 (513) 8512-3456");
	assert_string_equal(in->caller_name, "王女士");
	assert_string_equal(in->category, "complaint");
	assert_string_equal(in->content, "小区停水两天，无人通知。");
	assert_string_equal(in->district, "崇川区");
	assert_string_equal(in->address, "南通市崇川区人民中路 1 号");
	assert_string_equal(in->origin_number, "0513-96196");
	assert_string_equal(in->answer, "已现场答复");
	assert_true(in->lat == 32.0);
	assert_true(in->lon == 120.86);
	assert_true(in->has_location);
	assert_int_equal(in->priority, HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL);
	assert_true(in->resolved_on_call);
	/* strings live in the record's own allocation, not in pb */
	assert_ptr_not_equal(in->content, pb.content);
	assert_true(in->content > (const char *)in);
	intake_free(in);
}

static void test_from_pb_null_strings_and_defaults(void **state)
{
	Hotline__V1__Intake pb = HOTLINE__V1__INTAKE__INIT;
	struct intake *in;

	pb.external_id = NULL;
	pb.content = NULL;
	pb.answer = NULL;
	in = intake_from_pb(&pb);
	assert_non_null(in);
	assert_string_equal(in->external_id, "");
	assert_string_equal(in->content, "");
	assert_string_equal(in->answer, "");
	assert_string_equal(in->caller_phone, "");
	assert_false(in->has_location);
	assert_int_equal(in->priority, HOTLINE__V1__PRIORITY__PRIORITY_NORMAL);
	assert_int_equal(in->received_at_ms, 0);
	assert_false(in->resolved_on_call);
	intake_free(in);
	intake_free(NULL);
	assert_null(intake_from_pb(NULL));
}

static void test_good_record(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	expect_ok(&pb);
}

static void test_minimal_record(void **state)
{
	Hotline__V1__Intake pb = HOTLINE__V1__INTAKE__INIT;

	pb.external_id = "x";
	pb.content = "c";
	expect_ok(&pb);
}

static void test_external_id(void **state)
{
	Hotline__V1__Intake pb;
	char *s;

	good_pb(&pb);
	pb.external_id = "";
	expect_error(&pb, "external_id is required");

	s = repeat('a', INTAKE_MAX_EXTERNAL_ID);
	pb.external_id = s;
	expect_ok(&pb);
	free(s);
	s = repeat('a', INTAKE_MAX_EXTERNAL_ID + 1);
	pb.external_id = s;
	expect_error(&pb, "external_id is longer than 128 bytes");
	free(s);

	pb.external_id = "A-1_b.c:d/e~!";
	expect_ok(&pb);
	pb.external_id = "has space";
	expect_error(&pb, "external_id may contain only printable ASCII without spaces");
	pb.external_id = "tab\there";
	expect_error(&pb, "external_id may contain only printable ASCII without spaces");
	pb.external_id = "nl\n";
	expect_error(&pb, "external_id may contain only printable ASCII without spaces");
	pb.external_id = "del\x7f";
	expect_error(&pb, "external_id may contain only printable ASCII without spaces");
	pb.external_id = "编号1";
	expect_error(&pb, "external_id may contain only printable ASCII without spaces");
}

static void test_content(void **state)
{
	Hotline__V1__Intake pb;
	struct intake_limits lim;
	char err[128];
	char *s;

	good_pb(&pb);
	pb.content = "";
	expect_error(&pb, "content is required");

	s = repeat('x', INTAKE_DEFAULT_MAX_CONTENT);
	pb.content = s;
	expect_ok(&pb);
	free(s);
	s = repeat('x', INTAKE_DEFAULT_MAX_CONTENT + 1);
	pb.content = s;
	expect_error(&pb, "content is longer than 8192 bytes");
	free(s);

	/* the limit is in bytes, not characters: 2730 Chinese characters = 8190 bytes */
	s = repeat_chinese(8190);
	pb.content = s;
	expect_ok(&pb);
	free(s);
	s = repeat_chinese(8193);
	pb.content = s;
	expect_error(&pb, "content is longer than 8192 bytes");
	free(s);

	/* a configured limit */
	intake_limits_default(&lim);
	lim.max_content = 10;
	pb.content = "0123456789";
	assert_int_equal(check_with(&pb, &lim, err, sizeof(err)), 0);
	pb.content = "0123456789A";
	assert_int_equal(check_with(&pb, &lim, err, sizeof(err)), -1);
	assert_string_equal(err, "content is longer than 10 bytes");

	pb.content = "bad \xc3\x28 utf8";
	expect_error(&pb, "content is not valid UTF-8");
}

/* Each short text field: at the limit passes, one byte over fails, bad UTF-8 fails. */
static void check_text_limit(size_t offset, const char *name, size_t max)
{
	Hotline__V1__Intake pb;
	char reason[128];
	char **field = (char **)(void *)((char *)&pb + offset);
	char *s;

	good_pb(&pb);
	s = repeat('9', max);
	*field = s;
	expect_ok(&pb);
	free(s);
	s = repeat('9', max + 1);
	*field = s;
	snprintf(reason, sizeof(reason), "%s is longer than %zu bytes", name, max);
	expect_error(&pb, reason);
	free(s);
}

#define TEXT_LIMIT(member, max) \
	check_text_limit(offsetof(Hotline__V1__Intake, member), #member, (max))

static void test_text_limits(void **state)
{
	TEXT_LIMIT(channel, INTAKE_MAX_SHORT);
	TEXT_LIMIT(caller_phone, INTAKE_MAX_PHONE);
	TEXT_LIMIT(caller_name, INTAKE_MAX_NAME);
	TEXT_LIMIT(category, INTAKE_MAX_SHORT);
	TEXT_LIMIT(district, INTAKE_MAX_SHORT);
	TEXT_LIMIT(address, INTAKE_MAX_ADDRESS);
	TEXT_LIMIT(origin_number, INTAKE_MAX_PHONE);
	TEXT_LIMIT(answer, INTAKE_DEFAULT_MAX_CONTENT);
}

static void test_utf8_every_field(void **state)
{
	static const struct {
		size_t offset;
		const char *reason;
	} fields[] = {
		{ offsetof(Hotline__V1__Intake, channel), "channel is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, caller_name), "caller_name is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, category), "category is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, content), "content is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, district), "district is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, address), "address is not valid UTF-8" },
		{ offsetof(Hotline__V1__Intake, answer), "answer is not valid UTF-8" },
	};
	const char *bad[] = {
		"\xc0\xaf",	    /* overlong '/' */
		"\xed\xa0\x80",	    /* surrogate */
		"abc\xe4\xb8",	    /* truncated */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
	};

	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			Hotline__V1__Intake pb;

			good_pb(&pb);
			*(const char **)(void *)((char *)&pb + fields[f].offset) = bad[b];
			expect_error(&pb, fields[f].reason);
		}
	}
}

static void test_caller_phone(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.caller_phone = "";
	expect_ok(&pb); /* optional (walk-in, letter) */
	pb.caller_phone = "13812345678";
	expect_ok(&pb);
	pb.caller_phone = "+86 (138) 1234-5678";
	expect_ok(&pb);
	pb.caller_phone = "138x12345678";
	expect_error(&pb, "caller_phone may contain only digits, '+', '-', spaces and parentheses");
	pb.caller_phone = "138.1234.5678";
	expect_error(&pb, "caller_phone may contain only digits, '+', '-', spaces and parentheses");
	pb.caller_phone = "１３８"; /* full-width digits */
	expect_error(&pb, "caller_phone may contain only digits, '+', '-', spaces and parentheses");
	pb.caller_phone = "( - )";
	expect_error(&pb, "caller_phone has no digits");

	good_pb(&pb);
	pb.origin_number = "12345#";
	expect_error(&pb,
		     "origin_number may contain only digits, '+', '-', spaces and parentheses");
}

static void test_received_at(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.received_at = 0;
	expect_ok(&pb); /* not given: now */
	pb.received_at = NOW_MS;
	expect_ok(&pb);
	pb.received_at = NOW_MS - 30 * DAY_MS;
	expect_ok(&pb);
	pb.received_at = NOW_MS - 30 * DAY_MS - 1;
	expect_error(&pb, "received_at is 30 days in the past");
	pb.received_at = NOW_MS - 40 * DAY_MS;
	expect_error(&pb, "received_at is 40 days in the past");
	pb.received_at = NOW_MS + 5 * MINUTE_MS;
	expect_ok(&pb);
	pb.received_at = NOW_MS + 5 * MINUTE_MS + 1;
	expect_error(&pb, "received_at is 5 minutes in the future");
	pb.received_at = NOW_MS + 2 * 60 * MINUTE_MS;
	expect_error(&pb, "received_at is 2 hours in the future");
	pb.received_at = NOW_MS + 60 * MINUTE_MS;
	expect_error(&pb, "received_at is 1 hour in the future");
	/* seconds, not milliseconds: a classic feed bug */
	pb.received_at = NOW_MS / 1000;
	expect_error(&pb, "received_at is 20754 days in the past");
	/* extremes must not overflow */
	pb.received_at = INT64_MIN;
	assert_int_equal(check_with(&pb, NULL, NULL, 0), -1);
	pb.received_at = INT64_MAX;
	assert_int_equal(check_with(&pb, NULL, NULL, 0), -1);
	pb.received_at = -1;
	expect_error(&pb, "received_at is 20775 days in the past");
}

static void test_received_at_custom_limits(void **state)
{
	Hotline__V1__Intake pb;
	struct intake_limits lim = { .max_content = 100, .max_age_ms = 1000, .max_future_ms = 0 };
	char err[128];

	good_pb(&pb);
	pb.received_at = NOW_MS - 1000;
	assert_int_equal(check_with(&pb, &lim, err, sizeof(err)), 0);
	pb.received_at = NOW_MS - 1001;
	assert_int_equal(check_with(&pb, &lim, err, sizeof(err)), -1);
	assert_string_equal(err, "received_at is 1 second in the past");
	pb.received_at = NOW_MS + 1;
	assert_int_equal(check_with(&pb, &lim, err, sizeof(err)), -1);
	assert_string_equal(err, "received_at is 0 seconds in the future");
}

static void test_location(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.lat = 90.0;
	pb.lon = 180.0;
	expect_ok(&pb);
	pb.lat = -90.0;
	pb.lon = -180.0;
	expect_ok(&pb);
	pb.lat = 0.0;
	pb.lon = 0.0;
	expect_ok(&pb);
	pb.lat = 90.000001;
	pb.lon = 120.0;
	expect_error(&pb, "lat must be a number in [-90, 90]");
	pb.lat = -90.5;
	expect_error(&pb, "lat must be a number in [-90, 90]");
	pb.lat = 32.0;
	pb.lon = 180.5;
	expect_error(&pb, "lon must be a number in [-180, 180]");
	pb.lon = -181.0;
	expect_error(&pb, "lon must be a number in [-180, 180]");
	pb.lat = NAN;
	pb.lon = 120.0;
	expect_error(&pb, "lat must be a number in [-90, 90]");
	pb.lat = 32.0;
	pb.lon = INFINITY;
	expect_error(&pb, "lon must be a number in [-180, 180]");
	pb.lon = -INFINITY;
	expect_error(&pb, "lon must be a number in [-180, 180]");
}

static void test_has_location(void **state)
{
	Hotline__V1__Intake pb;
	struct intake *in;

	good_pb(&pb);
	pb.lat = 0.0;
	pb.lon = 120.0; /* on the equator: still a location */
	in = intake_from_pb(&pb);
	assert_non_null(in);
	assert_true(in->has_location);
	intake_free(in);
	pb.lon = 0.0;
	in = intake_from_pb(&pb);
	assert_non_null(in);
	assert_false(in->has_location);
	intake_free(in);
}

static void test_priority(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.priority = HOTLINE__V1__PRIORITY__PRIORITY_UNSPECIFIED;
	expect_ok(&pb);
	pb.priority = HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
	expect_ok(&pb);
	pb.priority = HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
	expect_ok(&pb);
	pb.priority = (Hotline__V1__Priority)4;
	expect_error(&pb, "priority 4 is not a known priority");
	pb.priority = (Hotline__V1__Priority)-1;
	expect_error(&pb, "priority -1 is not a known priority");
}

static void test_resolved_on_call(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.resolved_on_call = 1;
	pb.answer = "";
	expect_error(&pb, "answer is required when resolved_on_call is set");
	pb.answer = "已告知停水原因和恢复时间";
	expect_ok(&pb);
	pb.resolved_on_call = 0;
	expect_ok(&pb); /* an answer alone is harmless */
}

static void test_error_buffer(void **state)
{
	Hotline__V1__Intake pb;
	char err[8];

	good_pb(&pb);
	pb.content = "";
	/* short buffers are truncated, never overrun; NULL is allowed */
	assert_int_equal(check_with(&pb, NULL, err, sizeof(err)), -1);
	assert_string_equal(err, "content");
	assert_int_equal(check_with(&pb, NULL, NULL, 0), -1);
	assert_int_equal(check_with(&pb, NULL, err, 0), -1);
}

/* The first failing rule is reported, in field order after the required ones. */
static void test_first_error_wins(void **state)
{
	Hotline__V1__Intake pb;

	good_pb(&pb);
	pb.external_id = "";
	pb.content = "";
	expect_error(&pb, "external_id is required");
	good_pb(&pb);
	pb.content = "";
	pb.lat = 1000.0;
	expect_error(&pb, "content is required");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_from_pb_copies_everything),
		cmocka_unit_test(test_from_pb_null_strings_and_defaults),
		cmocka_unit_test(test_good_record),
		cmocka_unit_test(test_minimal_record),
		cmocka_unit_test(test_external_id),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_text_limits),
		cmocka_unit_test(test_utf8_every_field),
		cmocka_unit_test(test_caller_phone),
		cmocka_unit_test(test_received_at),
		cmocka_unit_test(test_received_at_custom_limits),
		cmocka_unit_test(test_location),
		cmocka_unit_test(test_has_location),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_resolved_on_call),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_first_error_wins),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
