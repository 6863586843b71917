/*
 * test_pgarray.c - unit tests of lib/pgarray.c: the text form's quoting and the
 * binary form's exact bytes (as PostgreSQL's array_send writes them). The forms
 * are also read back by PostgreSQL itself in every integration test that stores
 * intake. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "pgarray.h"

static void test_text(void **state)
{
	struct pgarray a = { 0 };
	pgarray_begin_text(&a);
	assert_int_equal(pgarray_end(&a), 0);
	assert_string_equal(a.data, "{}");
	pgarray_begin_text(&a);
	pgarray_text(&a, "water", 5);
	pgarray_text(&a, "a\"b\\c", 5);
	pgarray_text(&a, "", 0);
	pgarray_text_null(&a);
	pgarray_text(&a, "停水, {x}", strlen("停水, {x}"));
	pgarray_text(&a, "cut here", 3); /* the length counts, not a terminator */
	assert_int_equal(pgarray_end(&a), 0);
	assert_string_equal(a.data, "{\"water\",\"a\\\"b\\\\c\",\"\",NULL,\"停水, {x}\",\"cut\"}");
	assert_int_equal(a.count, 6);
	pgarray_begin_text(&a);
	pgarray_text_int64(&a, 1);
	pgarray_text_int64(&a, INT64_MIN);
	assert_int_equal(pgarray_end(&a), 0);
	assert_string_equal(a.data, "{1,-9223372036854775808}");
	pgarray_free(&a);
}

static void test_binary(void **state)
{
	struct pgarray a = { 0 };
	pgarray_begin_binary(&a, PGARRAY_INT8);
	pgarray_int8(&a, 0x0102030405060708LL);
	pgarray_null(&a);
	assert_int_equal(pgarray_end(&a), 0);
	static const unsigned char want[] = {
		0,    0,    0,	  1,	0, 0, 0, 1, 0, 0, 0, 20,
		0,    0,    0,	  2,	0, 0, 0, 1,		/* header */
		0,    0,    0,	  8,	1, 2, 3, 4, 5, 6, 7, 8, /* 8 bytes */
		0xff, 0xff, 0xff, 0xff,				/* NULL */
	};
	assert_int_equal(a.len, sizeof(want));
	assert_memory_equal(a.data, want, sizeof(want));

	pgarray_begin_binary(&a, PGARRAY_INT2);
	pgarray_int2(&a, -2);
	assert_int_equal(pgarray_end(&a), 0);
	static const unsigned char want2[] = { 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 21,   0,
					       0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xff, 0xfe };
	assert_int_equal(a.len, sizeof(want2));
	assert_memory_equal(a.data, want2, sizeof(want2));

	pgarray_begin_binary(&a, PGARRAY_FLOAT8);
	pgarray_float8(&a, 1.0);
	assert_int_equal(pgarray_end(&a), 0);
	static const unsigned char one[] = { 0x3f, 0xf0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(a.len, 20 + 4 + 8);
	assert_memory_equal(a.data + 24, one, 8);
	assert_int_equal((unsigned char)a.data[11], 701 & 0xff);

	pgarray_begin_binary(&a, PGARRAY_INT8); /* empty */
	assert_int_equal(pgarray_end(&a), 0);
	assert_int_equal(a.len, 20);
	assert_int_equal(a.data[15], 0);
	pgarray_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
