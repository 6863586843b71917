/*
 * test_json_codec.c - unit tests of lib/json_codec.c (JSON-lines protocol).
 *
 * Owns: what a hello or intake line must look like to be accepted, the exact
 * refusals (not JSON, not an object, wrong type, unknown or duplicate key),
 * that a refused intake still names its record, and that every reply line is
 * one compact, '\n'-terminated JSON object that parses back with the right
 * fields. Never: validates intake records beyond parsing (intake_validate has
 * its own tests). Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "json_codec.h"

#define S(lit) (lit), (sizeof(lit) - 1)

/* --- hello ------------------------------------------------------------- */

static void test_hello_ok(void **state)
{
	struct hello_msg hello;
	char err[128] = "untouched";

	assert_int_equal(
		json_parse_hello(S("{\"role\":\"feed\",\"id\":\"water\",\"token\":\"s3cret\","
				   "\"version\":1}\n"),
				 &hello, err, sizeof(err)),
		0);
	assert_int_equal(hello.role, HOTLINE__V1__ROLE__ROLE_FEED);
	assert_string_equal(hello.id, "water");
	assert_string_equal(hello.token, "s3cret");
	assert_int_equal(hello.version, 1);
	assert_string_equal(err, "");

	assert_int_equal(json_parse_hello(S(" { \"version\" : 2, \"token\":\"\", \"id\":\"d1\", "
					    "\"role\":\"department\" } "),
					  &hello, err, sizeof(err)),
			 0);
	assert_int_equal(hello.role, HOTLINE__V1__ROLE__ROLE_DEPARTMENT);
	assert_string_equal(hello.id, "d1");
	assert_string_equal(hello.token, "");
	assert_int_equal(hello.version, 2);

	assert_int_equal(json_parse_hello(S("{\"role\":\"agent\",\"id\":\"a7\",\"token\":\"t\","
					    "\"version\":4294967295}"),
					  &hello, err, sizeof(err)),
			 0);
	assert_int_equal(hello.role, HOTLINE__V1__ROLE__ROLE_AGENT);
	assert_int_equal(hello.version, UINT32_MAX);
}

static void expect_hello_error(const char *line, const char *reason)
{
	struct hello_msg hello;
	char err[256] = "";

	memset(&hello, 0x5a, sizeof(hello));
	assert_int_equal(json_parse_hello(line, strlen(line), &hello, err, sizeof(err)), -1);
	if (reason != NULL)
		assert_string_equal(err, reason);
	else
		assert_true(strncmp(err, "not JSON: ", 10) == 0);
	/* nothing half-filled is left behind, least of all a token */
	assert_int_equal(hello.role, 0);
	assert_string_equal(hello.id, "");
	assert_string_equal(hello.token, "");
}

static void test_hello_bad(void **state)
{
	expect_hello_error("", NULL);
	expect_hello_error("hello", NULL);
	expect_hello_error("{\"role\":\"feed\"", NULL);
	expect_hello_error("[1,2]", "line is not a JSON object");
	expect_hello_error("\"feed\"", "line is not a JSON object");
	expect_hello_error("{\"role\":\"boss\",\"id\":\"x\",\"token\":\"t\",\"version\":1}",
			   "role must be feed, department or agent");
	expect_hello_error("{\"role\":1,\"id\":\"x\",\"token\":\"t\",\"version\":1}",
			   "role must be a string");
	expect_hello_error("{\"role\":\"feed\",\"id\":7,\"token\":\"t\",\"version\":1}",
			   "id must be a string");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"\",\"token\":\"t\",\"version\":1}",
			   "id is empty");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":null,\"version\":1}",
			   "token must be a string");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":\"1\"}",
			   "version must be a non-negative integer");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":-1}",
			   "version must be a non-negative integer");
	expect_hello_error(
		"{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":4294967296}",
		"version must be a non-negative integer");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":1.0}",
			   "version must be a non-negative integer");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":1,"
			   "\"extra\":true}",
			   "unknown key 'extra' in hello");
	expect_hello_error("{\"id\":\"x\",\"token\":\"t\",\"version\":1}", "role is required");
	expect_hello_error("{\"role\":\"feed\",\"token\":\"t\",\"version\":1}", "id is required");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"version\":1}", "token is required");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\"}",
			   "version is required");
	/* duplicate keys: the second token must not win silently */
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"a\",\"token\":\"b\","
			   "\"version\":1}",
			   NULL);
	/* two objects on one line */
	expect_hello_error("{\"role\":\"feed\"} {}", NULL);
}

static void test_hello_lengths(void **state)
{
	struct hello_msg hello;
	char line[1024], err[128];
	char id[66], token[258];

	memset(id, 'i', 64);
	id[64] = '\0';
	memset(token, 't', 256);
	token[256] = '\0';
	snprintf(line, sizeof(line),
		 "{\"role\":\"feed\",\"id\":\"%s\",\"token\":\"%s\",\"version\":1}", id, token);
	assert_int_equal(json_parse_hello(line, strlen(line), &hello, err, sizeof(err)), 0);
	assert_int_equal(strlen(hello.id), 64);
	assert_int_equal(strlen(hello.token), 256);

	strcat(id, "i");
	snprintf(line, sizeof(line),
		 "{\"role\":\"feed\",\"id\":\"%s\",\"token\":\"t\",\"version\":1}", id);
	assert_int_equal(json_parse_hello(line, strlen(line), &hello, err, sizeof(err)), -1);
	assert_string_equal(err, "id is longer than 64 bytes");

	strcat(token, "t");
	snprintf(line, sizeof(line),
		 "{\"role\":\"feed\",\"id\":\"x\",\"token\":\"%s\",\"version\":1}", token);
	assert_int_equal(json_parse_hello(line, strlen(line), &hello, err, sizeof(err)), -1);
	assert_string_equal(err, "token is longer than 256 bytes");
}

static void test_hello_len_is_respected(void **state)
{
	struct hello_msg hello;
	char err[128];
	const char line[] = "{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":1}GARBAGE";

	/* only len bytes are read: the garbage after them is not part of the line */
	assert_int_equal(json_parse_hello(line, sizeof(line) - 1 - 7, &hello, err, sizeof(err)), 0);
	assert_int_equal(json_parse_hello(line, sizeof(line) - 1, &hello, err, sizeof(err)), -1);
}

/* --- intake ------------------------------------------------------------ */

static void test_intake_ok(void **state)
{
	const char line[] =
		"{\"external_id\":\"W-1\",\"received_at\":1795000000123,\"channel\":\"phone\","
		"\"caller_phone\":\"13812345678\",\"caller_name\":\"李先生\",\"category\":"
		"\"complaint\",\"content\":\"路灯不亮\\n\\\"三天了\\\"\",\"district\":\"崇川区\","
		"\"address\":\"南大街1号\",\"lat\":32.01,\"lon\":120,\"priority\":\"urgent\","
		"\"origin_number\":\"12319\",\"resolved_on_call\":true,\"answer\":\"已转交\"}\n";
	struct intake *in = NULL;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[128] = "untouched";

	assert_int_equal(json_parse_intake(line, strlen(line), &in, ext, err, sizeof(err)), 0);
	assert_non_null(in);
	assert_string_equal(err, "");
	assert_string_equal(ext, "W-1");
	assert_string_equal(in->external_id, "W-1");
	assert_int_equal(in->received_at_ms, INT64_C(1795000000123));
	assert_string_equal(in->channel, "phone");
	assert_string_equal(in->caller_phone, "13812345678");
	assert_string_equal(in->caller_name, "李先生");
	assert_string_equal(in->category, "complaint");
	assert_string_equal(in->content, "路灯不亮\n\"三天了\"");
	assert_string_equal(in->district, "崇川区");
	assert_string_equal(in->address, "南大街1号");
	assert_true(in->lat == 32.01);
	assert_true(in->lon == 120.0);
	assert_true(in->has_location);
	assert_int_equal(in->priority, HOTLINE__V1__PRIORITY__PRIORITY_URGENT);
	assert_string_equal(in->origin_number, "12319");
	assert_true(in->resolved_on_call);
	assert_string_equal(in->answer, "已转交");
	intake_free(in);
}

static void test_intake_minimal_and_defaults(void **state)
{
	struct intake *in = NULL;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[128];

	assert_int_equal(json_parse_intake(S("{\"external_id\":\"a\",\"content\":\"c\"}"), &in, ext,
					   err, sizeof(err)),
			 0);
	assert_non_null(in);
	assert_string_equal(in->caller_phone, "");
	assert_int_equal(in->received_at_ms, 0);
	assert_int_equal(in->priority, HOTLINE__V1__PRIORITY__PRIORITY_NORMAL);
	assert_false(in->has_location);
	assert_false(in->resolved_on_call);
	intake_free(in);

	/* null is "not given"; an empty object parses (validation refuses it later) */
	assert_int_equal(json_parse_intake(S("{\"external_id\":\"a\",\"content\":\"c\","
					     "\"district\":null,\"lat\":null}"),
					   &in, ext, err, sizeof(err)),
			 0);
	assert_string_equal(in->district, "");
	intake_free(in);
	assert_int_equal(json_parse_intake(S("{}"), &in, ext, err, sizeof(err)), 0);
	assert_string_equal(in->external_id, "");
	assert_string_equal(ext, "");
	intake_free(in);
}

static void test_intake_priority_forms(void **state)
{
	static const struct {
		const char *line;
		int priority;
	} cases[] = {
		{ "{\"priority\":\"normal\"}", HOTLINE__V1__PRIORITY__PRIORITY_NORMAL },
		{ "{\"priority\":\"urgent\"}", HOTLINE__V1__PRIORITY__PRIORITY_URGENT },
		{ "{\"priority\":\"critical\"}", HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL },
		{ "{\"priority\":0}", HOTLINE__V1__PRIORITY__PRIORITY_NORMAL },
		{ "{\"priority\":3}", HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL },
		{ "{\"priority\":9}", 9 }, /* parsed; intake_validate refuses it */
	};
	struct intake *in;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = NULL;
		assert_int_equal(json_parse_intake(cases[i].line, strlen(cases[i].line), &in, ext,
						   err, sizeof(err)),
				 0);
		assert_int_equal(in->priority, cases[i].priority);
		intake_free(in);
	}
}

/* Refusal: -1, no record, the exact reason, and the record's external_id when usable. */
static void expect_intake_error(const char *line, const char *reason, const char *ext_want)
{
	struct intake *in = (struct intake *)(uintptr_t)1;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[256] = "";

	memset(ext, 'Z', sizeof(ext));
	ext[sizeof(ext) - 1] = '\0';
	assert_int_equal(json_parse_intake(line, strlen(line), &in, ext, err, sizeof(err)), -1);
	assert_null(in);
	if (reason != NULL)
		assert_string_equal(err, reason);
	else
		assert_true(strncmp(err, "not JSON: ", 10) == 0);
	assert_string_equal(ext, ext_want);
}

static void test_intake_not_json(void **state)
{
	expect_intake_error("", NULL, "");
	expect_intake_error("external_id=1", NULL, "");
	expect_intake_error("{\"external_id\":\"E-1\",", NULL, "");
	expect_intake_error("{\"external_id\":\"E-1\",\"content\":\"a\\u0000b\"}", NULL, "");
	expect_intake_error("{\"external_id\":\"E-1\",\"content\":\"\xc3\x28\"}", NULL, "");
	expect_intake_error("{\"external_id\":\"E-1\"}{}", NULL, "");
}

static void test_intake_not_object(void **state)
{
	expect_intake_error("[{\"external_id\":\"E-1\"}]", "line is not a JSON object", "");
	expect_intake_error("42", "line is not a JSON object", "");
	expect_intake_error("null", "line is not a JSON object", "");
}

static void test_intake_wrong_types(void **state)
{
	expect_intake_error("{\"external_id\":\"E-1\",\"content\":5}", "content must be a string",
			    "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"content\":[\"x\"]}",
			    "content must be a string", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"received_at\":\"1795000000000\"}",
			    "received_at must be an integer (unix ms)", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"received_at\":1.5}",
			    "received_at must be an integer (unix ms)", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"lat\":\"32.0\"}", "lat must be a number",
			    "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"lon\":true}", "lon must be a number",
			    "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"priority\":\"high\"}",
			    "priority must be normal, urgent, critical or an integer", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"priority\":2.0}",
			    "priority must be normal, urgent, critical or an integer", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"priority\":4294967296}",
			    "priority must be normal, urgent, critical or an integer", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"resolved_on_call\":1}",
			    "resolved_on_call must be true or false", "E-1");
	expect_intake_error("{\"external_id\":\"E-1\",\"resolved_on_call\":\"true\"}",
			    "resolved_on_call must be true or false", "E-1");
	/* a non-string external_id is a type error and names nothing */
	expect_intake_error("{\"external_id\":17,\"content\":\"x\"}",
			    "external_id must be a string", "");
}

static void test_intake_unknown_key(void **state)
{
	expect_intake_error("{\"external_id\":\"E-1\",\"conent\":\"typo\"}",
			    "unknown key 'conent' in intake (see hotline.v1.Intake)", "E-1");
	expect_intake_error("{\"type\":\"intake\",\"external_id\":\"E-2\"}",
			    "unknown key 'type' in intake (see hotline.v1.Intake)", "E-2");
	expect_intake_error("{\"External_Id\":\"E-1\"}",
			    "unknown key 'External_Id' in intake (see hotline.v1.Intake)", "");
	expect_intake_error("{\"\":1}", "unknown key '' in intake (see hotline.v1.Intake)", "");
	/* a key that is a known key's prefix, or has one as its prefix */
	expect_intake_error("{\"content_\":\"x\"}",
			    "unknown key 'content_' in intake (see hotline.v1.Intake)", "");
	expect_intake_error("{\"conten\":\"x\"}",
			    "unknown key 'conten' in intake (see hotline.v1.Intake)", "");
}

/*
 * An unknown key is the peer's text: shown escaped (control characters,
 * the quote, the backslash, C1 controls) and cut to 64 bytes with "...",
 * so that the error line stays one readable line of bounded length.
 */
static void test_unknown_key_shown_safely(void **state)
{
	const char *intake = "in intake (see hotline.v1.Intake)";
	char key[128], shown[128], line[256], want[256];

	expect_intake_error("{\"a\\u0001b\\n\\t\\r\\u007f\":1}",
			    "unknown key 'a\\x01b\\n\\t\\r\\x7f' in intake (see hotline.v1.Intake)",
			    "");
	expect_intake_error("{\"it's \\\\ \\\"x\\\"\":1}",
			    "unknown key 'it\\'s \\\\ \"x\"' in intake (see hotline.v1.Intake)",
			    "");
	expect_intake_error(
		"{\"\\u0085\\u009f\\u00a0\":1}",
		"unknown key '\\u0085\\u009f\xc2\xa0' in intake (see hotline.v1.Intake)", "");
	/* Chinese stays readable */
	expect_intake_error("{\"内容\":\"x\"}",
			    "unknown key '内容' in intake (see hotline.v1.Intake)", "");

	/* 64 bytes are shown whole; 74 are cut to 64 and "..." */
	memset(key, 'k', 64);
	key[64] = '\0';
	snprintf(line, sizeof(line), "{\"%s\":1}", key);
	snprintf(want, sizeof(want), "unknown key '%s' %s", key, intake);
	expect_intake_error(line, want, "");
	memset(key, 'k', 74);
	key[74] = '\0';
	snprintf(line, sizeof(line), "{\"%s\":1}", key);
	snprintf(want, sizeof(want), "unknown key '%.64s...' %s", key, intake);
	expect_intake_error(line, want, "");

	/* cut between characters: 21 of 30 three-byte characters, then "..." */
	key[0] = shown[0] = '\0';
	for (int i = 0; i < 30; i++) {
		strcat(key, "路");
		if (i < 21)
			strcat(shown, "路");
	}
	snprintf(line, sizeof(line), "{\"%s\":1}", key);
	snprintf(want, sizeof(want), "unknown key '%s...' %s", shown, intake);
	expect_intake_error(line, want, "");

	/* ... and between escapes: 16 of 20 \x01, then "..." */
	key[0] = shown[0] = '\0';
	for (int i = 0; i < 20; i++) {
		strcat(key, "\\u0001");
		if (i < 16)
			strcat(shown, "\\x01");
	}
	snprintf(line, sizeof(line), "{\"%s\":1}", key);
	snprintf(want, sizeof(want), "unknown key '%s...' %s", shown, intake);
	expect_intake_error(line, want, "");

	/* hello alike */
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":1,"
			   "\"to\\u001bken\":1}",
			   "unknown key 'to\\x1bken' in hello");
	memset(key, 'h', 100);
	key[100] = '\0';
	snprintf(line, sizeof(line), "{\"%s\":1}", key);
	snprintf(want, sizeof(want), "unknown key '%.64s...' in hello", key);
	expect_hello_error(line, want);

	/* a NUL in a key never gets this far: jansson refuses it, ALLOW_NUL or not */
	expect_intake_error("{\"external_id\":\"E-1\",\"con\\u0000tent\":\"x\"}", NULL, "");
	expect_hello_error("{\"role\":\"feed\",\"id\":\"x\",\"token\":\"t\",\"version\":1,"
			   "\"role\\u0000\":1}",
			   NULL);
}

static void test_intake_duplicate_key(void **state)
{
	struct intake *in = NULL;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[256];
	const char line[] = "{\"external_id\":\"E-1\",\"content\":\"a\",\"content\":\"b\"}";

	assert_int_equal(json_parse_intake(line, strlen(line), &in, ext, err, sizeof(err)), -1);
	assert_null(in);
	assert_string_equal(err, "not JSON: duplicate object key near '\"content\"' at column 44");
	/* the record can still be named: its external_id is not the repeated key */
	assert_string_equal(ext, "E-1");

	/* a repeated external_id names nothing: which one would be a guess */
	expect_intake_error("{\"external_id\":\"E-1\",\"content\":\"a\",\"external_id\":\"E-2\"}",
			    NULL, "");
	/* nor does a repeat inside a nested value that mentions external_id */
	expect_intake_error("{\"external_id\":\"E-1\",\"x\":{\"external_id\":1,\"external_id\":2}}",
			    NULL, "");
	/* an unusable external_id is not echoed on this path either */
	expect_intake_error("{\"external_id\":7,\"content\":\"a\",\"content\":\"b\"}", NULL, "");
	/* hello: duplicates are refused the same way */
	{
		struct hello_msg hello;

		assert_int_equal(json_parse_hello(S("{\"role\":\"feed\",\"role\":\"agent\"}"),
						  &hello, err, sizeof(err)),
				 -1);
		assert_non_null(strstr(err, "duplicate object key"));
	}
}

static void test_intake_external_id_out(void **state)
{
	char line[512], id[INTAKE_MAX_EXTERNAL_ID + 2];

	/* at the limit: named even though the record is refused */
	memset(id, 'e', INTAKE_MAX_EXTERNAL_ID);
	id[INTAKE_MAX_EXTERNAL_ID] = '\0';
	snprintf(line, sizeof(line), "{\"content\":1,\"external_id\":\"%s\"}", id);
	expect_intake_error(line, "content must be a string", id);

	/* one over the limit: not usable, so not echoed */
	strcat(id, "e");
	snprintf(line, sizeof(line), "{\"external_id\":\"%s\",\"content\":1}", id);
	expect_intake_error(line, "content must be a string", "");

	/* empty: nothing to name */
	expect_intake_error("{\"external_id\":\"\",\"content\":1}", "content must be a string", "");

	/* Chinese external_id of acceptable length is echoed (validation refuses it later) */
	expect_intake_error("{\"external_id\":\"编号-1\",\"x\":1}",
			    "unknown key 'x' in intake (see hotline.v1.Intake)", "编号-1");

	/* NULL external_id_out is allowed */
	{
		struct intake *in = NULL;
		char err[64];

		assert_int_equal(json_parse_intake(S("{\"external_id\":\"E\",\"x\":1}"), &in, NULL,
						   err, sizeof(err)),
				 -1);
		assert_null(in);
	}
}

static void test_intake_does_not_validate(void **state)
{
	struct intake *in = NULL;
	char ext[INTAKE_MAX_EXTERNAL_ID + 1], err[128];

	/* out of range and missing content are the daemon's intake_validate() call */
	assert_int_equal(json_parse_intake(S("{\"external_id\":\"has space\",\"lat\":500,"
					     "\"received_at\":-5}"),
					   &in, ext, err, sizeof(err)),
			 0);
	assert_non_null(in);
	assert_string_equal(in->external_id, "has space");
	assert_true(in->lat == 500.0);
	assert_int_equal(in->received_at_ms, -5);
	intake_free(in);
}

/* --- reply lines ------------------------------------------------------- */

/* Parses a formatted line: exactly one '\n', at the end; compact; an object. */
static json_t *parse_reply(char *line, size_t len)
{
	json_error_t jerr;
	json_t *root;

	assert_non_null(line);
	assert_int_equal(strlen(line), len);
	assert_true(len >= 2);
	assert_int_equal(line[len - 1], '\n');
	assert_null(memchr(line, '\n', len - 1));
	assert_null(strstr(line, ", "));
	assert_null(strstr(line, "\": "));
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		fail_msg("reply is not JSON: %s: %s", jerr.text, line);
	assert_true(json_is_object(root));
	free(line);
	return root;
}

static void test_format_welcome(void **state)
{
	size_t len;
	char *line = json_format_welcome(1, "hotlined 0.1.0", 65536, 2000, &len);
	json_t *root;

	assert_non_null(line);
	assert_string_equal(line, "{\"type\":\"welcome\",\"version\":1,\"server\":\"hotlined "
				  "0.1.0\",\"max_line\":65536,\"window\":2000}\n");
	root = parse_reply(line, len);
	assert_int_equal(json_object_size(root), 5);
	assert_string_equal(json_string_value(json_object_get(root, "type")), "welcome");
	assert_int_equal(json_integer_value(json_object_get(root, "version")), 1);
	assert_string_equal(json_string_value(json_object_get(root, "server")), "hotlined 0.1.0");
	assert_int_equal(json_integer_value(json_object_get(root, "max_line")), 65536);
	assert_int_equal(json_integer_value(json_object_get(root, "window")), 2000);
	json_decref(root);

	line = json_format_welcome(UINT32_MAX, NULL, UINT32_MAX, 0, &len);
	root = parse_reply(line, len);
	assert_int_equal(json_integer_value(json_object_get(root, "version")), UINT32_MAX);
	assert_string_equal(json_string_value(json_object_get(root, "server")), "");
	json_decref(root);
}

static void test_format_ack(void **state)
{
	size_t len;
	char *line = json_format_ack("W-1", "20261127000001", false, &len);
	json_t *root;

	assert_string_equal(line, "{\"type\":\"ack\",\"external_id\":\"W-1\",\"ticket_no\":"
				  "\"20261127000001\",\"duplicate\":false}\n");
	root = parse_reply(line, len);
	assert_int_equal(json_object_size(root), 4);
	assert_true(json_is_false(json_object_get(root, "duplicate")));
	json_decref(root);

	line = json_format_ack("a\"b\\c", "T", true, &len);
	root = parse_reply(line, len);
	assert_string_equal(json_string_value(json_object_get(root, "type")), "ack");
	assert_string_equal(json_string_value(json_object_get(root, "external_id")), "a\"b\\c");
	assert_string_equal(json_string_value(json_object_get(root, "ticket_no")), "T");
	assert_true(json_is_true(json_object_get(root, "duplicate")));
	json_decref(root);
}

static void test_format_error_escaping(void **state)
{
	size_t len;
	const char *message = "content \"路灯\" is\nrequired\t\x01 end";
	char *line = json_format_error(HOTLINE__V1__ERROR_CODE__ERROR_INVALID, message, "编号\"1\"",
				       &len);
	json_t *root;

	assert_non_null(line);
	/* Chinese text is written as UTF-8, control characters escaped */
	assert_non_null(strstr(line, "\\\"路灯\\\""));
	assert_non_null(strstr(line, "\\n"));
	assert_non_null(strstr(line, "\\t"));
	assert_non_null(strstr(line, "\\u0001"));
	root = parse_reply(line, len);
	assert_int_equal(json_object_size(root), 4);
	assert_string_equal(json_string_value(json_object_get(root, "type")), "error");
	assert_string_equal(json_string_value(json_object_get(root, "code")), "invalid");
	assert_string_equal(json_string_value(json_object_get(root, "message")), message);
	assert_string_equal(json_string_value(json_object_get(root, "external_id")), "编号\"1\"");
	json_decref(root);

	/* no external_id: present and empty, so clients can read a fixed shape */
	line = json_format_error(HOTLINE__V1__ERROR_CODE__ERROR_AUTH, "bad token", NULL, &len);
	assert_string_equal(line, "{\"type\":\"error\",\"code\":\"auth\",\"message\":\"bad "
				  "token\",\"external_id\":\"\"}\n");
	json_decref(parse_reply(line, len));
}

static void test_format_invalid_utf8_is_replaced(void **state)
{
	size_t len;
	char *line = json_format_error(HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME,
				       "bad \xff\xc3 bytes \xe4\xb8\xad", "E\xed\xa0\x80", &len);
	json_t *root;

	root = parse_reply(line, len);
	assert_string_equal(json_string_value(json_object_get(root, "message")),
			    "bad \xef\xbf\xbd\xef\xbf\xbd bytes \xe4\xb8\xad");
	assert_string_equal(json_string_value(json_object_get(root, "external_id")),
			    "E\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(json_string_value(json_object_get(root, "code")), "bad_frame");
	json_decref(root);
}

static void test_error_code_names(void **state)
{
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_UNSPECIFIED),
			    "unspecified");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_BAD_FRAME),
			    "bad_frame");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_FRAME_TOO_LARGE),
			    "frame_too_large");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_AUTH), "auth");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_PROTOCOL),
			    "protocol");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_INVALID),
			    "invalid");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_UNAVAILABLE),
			    "unavailable");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_NOT_FOUND),
			    "not_found");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_STATE), "state");
	assert_string_equal(json_error_code_name(HOTLINE__V1__ERROR_CODE__ERROR_INTERNAL),
			    "internal");
	assert_string_equal(json_error_code_name(99), "unspecified");
	assert_string_equal(json_error_code_name(-1), "unspecified");
}

static void test_format_update(void **state)
{
	size_t len;
	char *line = json_format_update(42, "W-1", "20261128-00000001", "REPLIED",
					"已处理 \"done\"", 1795824000000LL, &len);
	assert_non_null(line);
	assert_int_equal(len, strlen(line));
	assert_true(line[len - 1] == '\n');
	json_error_t jerr;
	json_t *obj = json_loads(line, 0, &jerr);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(obj, "type")), "update");
	assert_int_equal(json_integer_value(json_object_get(obj, "update_id")), 42);
	assert_string_equal(json_string_value(json_object_get(obj, "external_id")), "W-1");
	assert_string_equal(json_string_value(json_object_get(obj, "ticket_no")),
			    "20261128-00000001");
	assert_string_equal(json_string_value(json_object_get(obj, "state")), "REPLIED");
	assert_string_equal(json_string_value(json_object_get(obj, "reply")), "已处理 \"done\"");
	assert_true(json_integer_value(json_object_get(obj, "at")) == 1795824000000LL);
	json_decref(obj);
	free(line);
}

static void test_parse_ack_update(void **state)
{
	uint64_t id = 0;
	char err[128] = "";
	const char *ok = "{\"ack_update\":7}";
	assert_int_equal(json_parse_ack_update(ok, strlen(ok), &id, err, sizeof(err)), 1);
	assert_true(id == 7);
	const char *intake = "{\"external_id\":\"x\",\"content\":\"c\"}";
	assert_int_equal(json_parse_ack_update(intake, strlen(intake), &id, err, sizeof(err)), 0);
	const char *zero = "{\"ack_update\":0}";
	assert_int_equal(json_parse_ack_update(zero, strlen(zero), &id, err, sizeof(err)), -1);
	assert_string_equal(err, "ack_update must be the only key, a positive integer");
	const char *extra = "{\"ack_update\":3,\"content\":\"c\"}";
	assert_int_equal(json_parse_ack_update(extra, strlen(extra), &id, err, sizeof(err)), -1);
	const char *text = "{\"ack_update\":\"3\"}";
	assert_int_equal(json_parse_ack_update(text, strlen(text), &id, err, sizeof(err)), -1);
	const char *garbage = "\"ack_update\" not json";
	assert_int_equal(json_parse_ack_update(garbage, strlen(garbage), &id, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_ok),
		cmocka_unit_test(test_hello_bad),
		cmocka_unit_test(test_hello_lengths),
		cmocka_unit_test(test_hello_len_is_respected),
		cmocka_unit_test(test_intake_ok),
		cmocka_unit_test(test_intake_minimal_and_defaults),
		cmocka_unit_test(test_intake_priority_forms),
		cmocka_unit_test(test_intake_not_json),
		cmocka_unit_test(test_intake_not_object),
		cmocka_unit_test(test_intake_wrong_types),
		cmocka_unit_test(test_intake_unknown_key),
		cmocka_unit_test(test_unknown_key_shown_safely),
		cmocka_unit_test(test_intake_duplicate_key),
		cmocka_unit_test(test_intake_external_id_out),
		cmocka_unit_test(test_intake_does_not_validate),
		cmocka_unit_test(test_format_welcome),
		cmocka_unit_test(test_format_ack),
		cmocka_unit_test(test_format_error_escaping),
		cmocka_unit_test(test_format_invalid_utf8_is_replaced),
		cmocka_unit_test(test_error_code_names),
		cmocka_unit_test(test_format_update),
		cmocka_unit_test(test_parse_ack_update),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
