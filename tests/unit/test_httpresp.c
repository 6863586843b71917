/*
 * test_httpresp.c - the HTTP/1.1 response reader of the command-line clients:
 * every framing (Content-Length, chunked, the end of the connection, none),
 * read whole and split at every byte; interim answers skipped; and the
 * refusals: malformed heads, bad chunk sizes, bodies past the limit, answers
 * cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "httpresp.h"

#define LIMIT 1024

/*
 * Reads text as one response, fed in pieces of step bytes (0: all at once).
 * Returns DONE or ERROR; *used_all says whether every byte was used (bytes
 * after a DONE belong to the next response). eof: end the input after it.
 */
static enum httpresp_result read_all(struct httpresp *r, const char *text, size_t len, size_t step,
				     bool eof, size_t *consumed, char *err)
{
	httpresp_init(r, LIMIT, false);
	size_t pos = 0;
	err[0] = '\0';
	while (pos < len) {
		size_t n = step && step < len - pos ? step : len - pos;
		size_t used = 0;
		enum httpresp_result rc = httpresp_feed(r, text + pos, n, &used, err, 200);
		assert_true(used <= n);
		pos += used;
		if (rc != HTTPRESP_MORE) {
			*consumed = pos;
			return rc;
		}
		assert_int_equal(used, n);
	}
	*consumed = pos;
	return eof ? httpresp_eof(r, err, 200) : HTTPRESP_MORE;
}

static void expect_body(const char *text, bool eof, int status, const char *body, bool close)
{
	size_t len = strlen(text);
	for (size_t step = 0; step <= len; step++) {
		struct httpresp r;
		char err[200];
		size_t consumed;
		enum httpresp_result rc = read_all(&r, text, len, step, eof, &consumed, err);
		if (rc != HTTPRESP_DONE)
			fail_msg("step %zu: %d (%s) for %s", step, rc, err, text);
		assert_int_equal(r.status, status);
		assert_int_equal(r.body_len, strlen(body));
		assert_memory_equal(r.body, body, r.body_len + 1); /* the NUL too */
		assert_int_equal(r.close, close);
		httpresp_free(&r);
	}
}

static void expect_error(const char *text, size_t len, bool eof, const char *reason)
{
	for (size_t step = 0; step <= len; step += (len > 64 ? 7 : 1)) {
		struct httpresp r;
		char err[200];
		size_t consumed;
		enum httpresp_result rc = read_all(&r, text, len, step, eof, &consumed, err);
		if (rc != HTTPRESP_ERROR)
			fail_msg("step %zu: %d, expected an error about '%s'", step, rc, reason);
		if (strstr(err, reason) == NULL)
			fail_msg("step %zu: '%s' does not mention '%s'", step, err, reason);
		httpresp_free(&r);
	}
}

static void test_content_length(void **state)
{
	expect_body("HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
		    "Content-Length: 16\r\n\r\n{\"name\": \"李\"}\n",
		    false, 200, "{\"name\": \"李\"}\n", false);
	/* the headers are read whatever their case; LF alone ends a line too */
	expect_body("HTTP/1.1 404 Not Found\ncontent-length: 2\nCONNECTION: Close\n\n{}", false,
		    404, "{}", true);
	/* Content-Length: 0, and the same length twice */
	expect_body("HTTP/1.1 201 Created\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", false,
		    201, "", false);
	struct httpresp r;
	char err[200];
	size_t consumed;
	const char *two = "HTTP/1.1 200 OK\r\nContent-Type:text/plain \r\nContent-Length: 3\r\n\r\n"
			  "abcHTTP/1.1 200 OK\r\n";
	assert_int_equal(read_all(&r, two, strlen(two), 0, false, &consumed, err), HTTPRESP_DONE);
	assert_int_equal(consumed, strlen(two) - strlen("HTTP/1.1 200 OK\r\n"));
	assert_string_equal(r.content_type, "text/plain");
	assert_string_equal(r.reason, "OK");
	httpresp_free(&r);
}

static void test_chunked(void **state)
{
	const char *text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
			   "5\r\nhello\r\n"
			   "1;ext=\"x\"\r\n,\r\n"
			   "A \r\n 01234567\n\r\n"
			   "0\r\nX-Trailer: yes\r\n\r\n";
	expect_body(text, false, 200, "hello, 01234567\n", false);
	/* a chunked answer wins over a Content-Length beside it */
	expect_body("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: gzip, chunked\r\n"
		    "\r\n2\r\nok\r\n0\r\n\r\n",
		    false, 200, "ok", false);
}

static void test_read_to_close(void **state)
{
	expect_body("HTTP/1.1 200 OK\r\n\r\nall of it", true, 200, "all of it", true);
	expect_body("HTTP/1.0 200 OK\r\n\r\n", true, 200, "", true);
	/* another transfer coding last: the body ends with the connection */
	expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz", true, 200, "zz", true);
	/* HTTP/1.0 with a length and keep-alive: not closed */
	expect_body("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		    false, 200, "x", false);
}

static void test_no_body(void **state)
{
	/* 204 and 304 have none whatever the headers say; interim answers are skipped */
	expect_body("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", false, 204, "", false);
	expect_body("HTTP/1.1 304 Not Modified\r\n\r\n", false, 304, "", false);
	expect_body("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\nX: y\r\n\r\n"
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		    false, 200, "ok", false);
	/* an answer to HEAD: no body follows its Content-Length */
	struct httpresp r;
	char err[200];
	size_t used;
	const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n";
	httpresp_init(&r, LIMIT, true);
	assert_int_equal(httpresp_feed(&r, text, strlen(text), &used, err, sizeof(err)),
			 HTTPRESP_DONE);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(r.body, "");
	httpresp_free(&r);
}

static void test_malformed(void **state)
{
#define BAD(text, reason) expect_error(text, strlen(text), true, reason)
	BAD("HTTP/2 200 OK\r\n\r\n", "status line");
	BAD("SSH-2.0-OpenSSH\r\n\r\n", "status line");
	BAD("HTTP/1.1 20 OK\r\n\r\n", "status line");
	BAD("HTTP/1.1 099 Low\r\n\r\n", "out of range");
	BAD("HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched");
	BAD("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", "without a name");
	BAD("HTTP/1.1 200 OK\r\n: empty\r\n\r\n", "without a name");
	BAD("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header name");
	BAD("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "folded");
	BAD("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length");
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", "Content-Length");
	BAD("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", "Content-Length");
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", "Content-Length");
	BAD("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "two different");
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "chunk size");
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", "chunk size");
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
	    "chunk size");
	BAD("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
	    "longer than its size");
	expect_error("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n", 25, true, "NUL");
#undef BAD
}

static void test_limits(void **state)
{
	char text[LIMIT + 200];
	/* a Content-Length past the limit is refused before its body comes */
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", LIMIT + 1);
	expect_error(text, strlen(text), false, "larger than");
	/* the same body in chunks, and to the end of the connection */
	snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n",
		 LIMIT + 1);
	expect_error(text, strlen(text), false, "larger than");
	int n = snprintf(text, sizeof(text), "HTTP/1.1 200 OK\r\n\r\n");
	memset(text + n, 'x', LIMIT + 1);
	expect_error(text, (size_t)n + LIMIT + 1, false, "larger than");
	/* exactly the limit is fine, chunked over several chunks */
	char *chunked = malloc(LIMIT * 8);
	assert_non_null(chunked);
	n = sprintf(chunked, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
	for (int i = 0; i < 4; i++) {
		n += sprintf(chunked + n, "%x\r\n", LIMIT / 4);
		memset(chunked + n, 'a' + i, LIMIT / 4);
		n += LIMIT / 4;
		n += sprintf(chunked + n, "\r\n");
	}
	n += sprintf(chunked + n, "0\r\n\r\n");
	struct httpresp r;
	char err[200];
	size_t consumed;
	assert_int_equal(read_all(&r, chunked, (size_t)n, 100, false, &consumed, err),
			 HTTPRESP_DONE);
	assert_int_equal(r.body_len, LIMIT);
	assert_int_equal(r.body[0], 'a');
	assert_int_equal(r.body[LIMIT - 1], 'd');
	httpresp_free(&r);
	free(chunked);
	/* a head that never ends */
	char *head = malloc(HTTPRESP_MAX_HEAD + 100);
	assert_non_null(head);
	n = sprintf(head, "HTTP/1.1 200 OK\r\nX: ");
	memset(head + n, 'h', HTTPRESP_MAX_HEAD);
	expect_error(head, (size_t)n + HTTPRESP_MAX_HEAD, false, "longer than");
	free(head);
}

static void test_cut_short(void **state)
{
	expect_error("", 0, true, "without an answer");
	expect_error("HTTP/1.1 200 OK\r\nContent-", 25, true, "headers");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 42, true, "3 bytes");
	const char *text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n";
	expect_error(text, strlen(text), true, "closed after 3 bytes");
	/* nothing may be fed after the end */
	struct httpresp r;
	char err[200];
	size_t used;
	httpresp_init(&r, LIMIT, false);
	const char *ok = "HTTP/1.1 204 No Content\r\n\r\n";
	assert_int_equal(httpresp_feed(&r, ok, strlen(ok), &used, err, sizeof(err)), HTTPRESP_DONE);
	assert_int_equal(httpresp_feed(&r, "x", 1, &used, err, sizeof(err)), HTTPRESP_ERROR);
	httpresp_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content_length), cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_read_to_close),  cmocka_unit_test(test_no_body),
		cmocka_unit_test(test_malformed),      cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cut_short),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
