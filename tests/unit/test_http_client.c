/*
 * test_http_client.c - the text a request of the command-line clients is
 * built from: "HOST:PORT" as --http takes it, and percent-encoded path
 * segments and query values (phones with '+', Chinese search text, ticket
 * numbers that must not grow a '/').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http_client.h"

static void expect_hostport(const char *text, const char *host, int port)
{
	char got[64];
	int got_port = -1;
	if (http_client_parse_hostport(text, 12346, got, sizeof(got), &got_port) != 0)
		fail_msg("'%s' refused", text);
	assert_string_equal(got, host);
	assert_int_equal(got_port, port);
}

static void test_hostport(void **state)
{
	expect_hostport("127.0.0.1:12346", "127.0.0.1", 12346);
	expect_hostport("localhost:8080", "localhost", 8080);
	expect_hostport("hotline.example", "hotline.example", 12346);
	expect_hostport("[::1]:9000", "::1", 9000);
	expect_hostport("[::1]", "::1", 12346);
	expect_hostport("h:65535", "h", 65535);
	char host[64];
	int port;
	static const char *const bad[] = { "",	      ":80",	   "h:",     "h:0",
					   "h:65536", "h:-1",	   "h:80x",  "h: 80",
					   "::1:80",  "[::1",	   "[::1]x", "[]:80",
					   "a b:80",  "user@h:80", "h/x:80", "h:+80" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_client_parse_hostport(bad[i], 12346, host, sizeof(host), &port) == 0)
			fail_msg("'%s' accepted", bad[i]);
	/* a host longer than the buffer is refused, not cut */
	assert_int_equal(http_client_parse_hostport("abcdefgh:1", 1, host, 8, &port), -1);
	assert_int_equal(http_client_parse_hostport("abcdefg:1", 1, host, 8, &port), 0);
}

static void expect_escape(const char *in, const char *want)
{
	char *got = http_client_escape(in);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_escape(void **state)
{
	expect_escape("", "");
	expect_escape("20261207-00000042", "20261207-00000042");
	expect_escape("AZaz09-._~", "AZaz09-._~");
	expect_escape("+86 (0513) 8512-3456", "%2B86%20%280513%29%208512-3456");
	expect_escape("../x/y?z#w&v=1%", "..%2Fx%2Fy%3Fz%23w%26v%3D1%25");
	expect_escape("垃圾清运", "%E5%9E%83%E5%9C%BE%E6%B8%85%E8%BF%90");
	expect_escape("\x01\xff", "%01%FF");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
