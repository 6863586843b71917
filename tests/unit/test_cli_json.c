/*
 * test_cli_json.c - the tree-less JSON line writer of the reference clients:
 * every line it builds parses back (jansson) to exactly the members given,
 * whatever the bytes of the strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "cli_json.h"

/* The line built so far, closed and parsed. */
static json_t *parse(struct cli_line *l)
{
	char *text = malloc(l->len + 2);
	assert_non_null(text);
	memcpy(text, l->buf, l->len);
	memcpy(text + l->len, "}", 2);
	json_error_t err;
	json_t *obj = json_loads(text, 0, &err);
	if (obj == NULL)
		fail_msg("not JSON (%s): %s", err.text, text);
	free(text);
	return obj;
}

static void test_members_round_trip(void **state)
{
	struct cli_line l = { 0 };
	cli_line_begin(&l, "ticket");
	cli_line_str(&l, "plain", "20261128-00000001");
	cli_line_str(&l, "chinese", "路灯不亮，请尽快处理");
	cli_line_str(&l, "quotes", "say \"hi\" \\ back\\");
	cli_line_str(&l, "controls", "a\nb\tc\rd\x01\x1f e");
	cli_line_str(&l, "null", NULL);
	cli_line_int(&l, "big", -9007199254740993LL);
	cli_line_real(&l, "lat", 32.01234567890123);
	cli_line_real(&l, "whole", 120.0);
	cli_line_true(&l, "seen_before");
	json_t *obj = parse(&l);
	assert_string_equal(json_string_value(json_object_get(obj, "event")), "ticket");
	assert_true(json_integer_value(json_object_get(obj, "at_ms")) > 1700000000000LL);
	assert_string_equal(json_string_value(json_object_get(obj, "plain")), "20261128-00000001");
	assert_string_equal(json_string_value(json_object_get(obj, "chinese")),
			    "路灯不亮，请尽快处理");
	assert_string_equal(json_string_value(json_object_get(obj, "quotes")),
			    "say \"hi\" \\ back\\");
	assert_string_equal(json_string_value(json_object_get(obj, "controls")),
			    "a\nb\tc\rd\x01\x1f e");
	assert_string_equal(json_string_value(json_object_get(obj, "null")), "");
	assert_int_equal(json_integer_value(json_object_get(obj, "big")), -9007199254740993LL);
	assert_true(json_is_real(json_object_get(obj, "lat")));
	assert_true(json_real_value(json_object_get(obj, "lat")) == 32.01234567890123);
	assert_true(json_is_real(json_object_get(obj, "whole")));
	assert_true(json_real_value(json_object_get(obj, "whole")) == 120.0);
	assert_true(json_is_true(json_object_get(obj, "seen_before")));
	json_decref(obj);
	cli_line_free(&l);
}

/* Every real parses back to itself, whichever way it was written (coordinates
 * of at most 7 decimals take a short path; the rest go through printf). */
static void test_reals_round_trip(void **state)
{
	const double fixed[] = { 0.0,
				 -0.0,
				 32.01,
				 -120.5,
				 1e-7,
				 -1e-7,
				 121.8765432,
				 99999999.9999999,
				 -99999999.9999999,
				 1e8,
				 5e-8,
				 32.012345678,
				 1e300,
				 -2.5e-300,
				 0.1,
				 0.3,
				 1.0 / 3.0 };
	uint64_t seed = 88172645463325252ULL;
	for (int i = 0; i < 20000; i++) {
		double v;
		if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
			v = fixed[i];
		} else {
			seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
			/* half: k / 10^7 coordinates; half: any finite double */
			if (i % 2)
				v = (double)(long long)(seed % 3600000000ULL - 1800000000LL) / 1e7;
			else
				memcpy(&v, &seed, sizeof(v));
			if (!isfinite(v))
				continue;
		}
		struct cli_line l = { 0 };
		cli_line_begin(&l, "t");
		cli_line_real(&l, "v", v);
		json_t *obj = parse(&l);
		json_t *got = json_object_get(obj, "v");
		assert_true(json_is_real(got));
		assert_memory_equal(&(double){ json_real_value(got) }, &v,
				    sizeof(v)); /* -0.0 too */
		json_decref(obj);
		cli_line_free(&l);
	}
	/* the short path writes what a person would */
	struct cli_line l = { 0 };
	cli_line_begin(&l, "t");
	cli_line_real(&l, "lat", 32.01);
	cli_line_real(&l, "lon", -120.5);
	cli_line_real(&l, "z", 0.0);
	const char *tail = ",\"lat\":32.01,\"lon\":-120.5,\"z\":0.0";
	assert_true(l.len > strlen(tail));
	assert_memory_equal(l.buf + l.len - strlen(tail), tail, strlen(tail));
	cli_line_free(&l);
}

static void test_invalid_utf8_becomes_replacement(void **state)
{
	struct cli_line l = { 0 };
	cli_line_begin(&l, "ticket");
	cli_line_str(&l, "bad", "ok\xff\xc3(\xe4\xb8 end \xf0\x9f\x98");
	json_t *obj = parse(&l);
	assert_string_equal(json_string_value(json_object_get(obj, "bad")),
			    "ok\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd end "
			    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(obj);
	cli_line_free(&l);
}

/* The buffer is reused line after line; a long line grows it. */
static void test_reuse_and_growth(void **state)
{
	struct cli_line l = { 0 };
	char big[20000];
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 3; i++) {
		cli_line_begin(&l, i ? "small" : "big");
		cli_line_str(&l, "s", i ? "x" : big);
		json_t *obj = parse(&l);
		assert_string_equal(json_string_value(json_object_get(obj, "s")), i ? "x" : big);
		json_decref(obj);
	}
	cli_line_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_round_trip),
		cmocka_unit_test(test_reals_round_trip),
		cmocka_unit_test(test_invalid_utf8_becomes_replacement),
		cmocka_unit_test(test_reuse_and_growth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
