/*
 * test_errbuf.c - unit tests of lib/errbuf.c (a failure's reason in the caller's buffer).
 *
 * Owns: the promises every lib/ parser relies on: the reason is formatted,
 * cut to fit and NUL-terminated, nothing is written without a buffer, and
 * the status comes back as given.
 * Never: depends on anything but lib/errbuf.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errbuf.h"

static void test_formats_and_returns_minus_one(void **state)
{
	char err[64];
	assert_int_equal(errbuf_fail(err, sizeof(err), "line %d: %s", 7, "bad"), -1);
	assert_string_equal(err, "line 7: bad");
}

static void test_cut_to_fit(void **state)
{
	char err[8];
	memset(err, 'x', sizeof(err));
	assert_int_equal(errbuf_fail(err, sizeof(err), "%s", "far too long a reason"), -1);
	assert_string_equal(err, "far too");
}

static void test_no_buffer(void **state)
{
	char err[4] = "abc";
	assert_int_equal(errbuf_fail(NULL, 64, "ignored"), -1);
	assert_int_equal(errbuf_fail(err, 0, "ignored"), -1);
	assert_string_equal(err, "abc"); /* errlen 0: not even a NUL */
}

static void test_code(void **state)
{
	char err[32];
	assert_int_equal(errbuf_fail_code(-2, err, sizeof(err), "unknown event %d", 99), -2);
	assert_string_equal(err, "unknown event 99");
	assert_int_equal(errbuf_fail_code(-1, NULL, 0, "x"), -1);
}

/* A wrapper of its own, as a parser that prefixes "file:line: " has. */
static void prefixed(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void prefixed(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	errbuf_vprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void test_vprintf(void **state)
{
	char err[32];
	prefixed(err, sizeof(err), "%s:%u: %s", "rules", 3u, "oops");
	assert_string_equal(err, "rules:3: oops");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_and_returns_minus_one),
		cmocka_unit_test(test_cut_to_fit),
		cmocka_unit_test(test_no_buffer),
		cmocka_unit_test(test_code),
		cmocka_unit_test(test_vprintf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
