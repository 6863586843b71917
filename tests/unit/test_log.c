/*
 * test_log.c - unit tests of lib/log.c (the line format on stderr).
 *
 * Owns: the exact shape of a log line (UTC time with milliseconds, level,
 * ident, message), level filtering, one line per message whatever it holds,
 * fatal()'s exit status, and the journal mode: when $JOURNAL_STREAM names
 * stderr, "<N>level: message" lines. Never: depends on the wall clock's value,
 * only on its format. Run by `meson test --suite unit`.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

#define TS_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "

/* stderr goes to a temporary file while a test runs; the text is read back. */
static int saved_stderr = -1;
static FILE *capture;

static void capture_start(void)
{
	capture = tmpfile();
	assert_non_null(capture);
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Returns what was logged (caller frees) and restores stderr. */
static char *capture_end(void)
{
	char *text;
	long size;

	fflush(stderr);
	assert_true(dup2(saved_stderr, STDERR_FILENO) >= 0);
	close(saved_stderr);
	size = ftell(capture);
	assert_true(size >= 0);
	text = calloc(1, (size_t)size + 1);
	assert_non_null(text);
	rewind(capture);
	assert_int_equal(fread(text, 1, (size_t)size, capture), (size_t)size);
	fclose(capture);
	return text;
}

static void assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("\"%s\" does not match /%s/", text, pattern);
	regfree(&re);
}

static void test_line_format(void **state)
{
	char *text;

	log_set_level(LOG_DEBUG);
	log_set_ident("hotlined");
	capture_start();
	log_info("listening on %s:%d", "127.0.0.1", 12345);
	text = capture_end();
	assert_matches(text, TS_RE "info hotlined: listening on 127\\.0\\.0\\.1:12345\n$");
	free(text);

	capture_start();
	log_debug("d");
	log_warn("w");
	log_error("e");
	text = capture_end();
	assert_matches(text, TS_RE "debug hotlined: d\n"
				   "[0-9TZ:.-]{24} warn hotlined: w\n"
				   "[0-9TZ:.-]{24} error hotlined: e\n$");
	free(text);
}

static void test_level_filter(void **state)
{
	char *text;

	log_set_ident("t");
	log_set_level(LOG_WARN);
	assert_int_equal(log_get_level(), LOG_WARN);
	capture_start();
	log_debug("hidden");
	log_info("hidden");
	log_warn("shown");
	log_error("shown too");
	text = capture_end();
	assert_null(strstr(text, "hidden"));
	assert_matches(text, TS_RE "warn t: shown\n[^\n]* error t: shown too\n$");
	free(text);
	log_set_level((enum log_level)42); /* ignored */
	assert_int_equal(log_get_level(), LOG_WARN);
	log_set_level(LOG_INFO);
}

static void test_one_line_per_message(void **state)
{
	char *text;

	log_set_ident("t");
	capture_start();
	log_info("external_id=%s", "E1\nfake 2026-01-01T00:00:00.000Z error t: forged\r");
	text = capture_end();
	assert_matches(text, TS_RE "info t: external_id=E1\\?fake [^\n]*forged\\?\n$");
	free(text);

	capture_start();
	log_info("del\x7f tilde~ tab\t 中文");
	text = capture_end();
	assert_matches(text, TS_RE "info t: del\\? tilde~ tab\\? 中文\n$");
	free(text);
}

static void test_long_message_cut(void **state)
{
	char *big = malloc(10000), *text;

	assert_non_null(big);
	memset(big, 'x', 9999);
	big[9999] = '\0';
	capture_start();
	log_info("%s", big);
	text = capture_end();
	assert_true(strlen(text) <= 4096);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1); /* one line */
	free(text);
	free(big);
}

static void test_ident(void **state)
{
	char *text;

	log_set_ident(NULL);
	capture_start();
	log_info("x");
	text = capture_end();
	assert_matches(text, TS_RE "info hotline: x\n$");
	free(text);
	log_set_ident("hotline-stats");
	capture_start();
	log_info("y");
	text = capture_end();
	assert_matches(text, TS_RE "info hotline-stats: y\n$");
	free(text);
}

static void test_errno_preserved(void **state)
{
	capture_start();
	errno = ECONNREFUSED;
	log_error("connect failed");
	assert_int_equal(errno, ECONNREFUSED);
	free(capture_end());
}

static void test_level_parse(void **state)
{
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("warn"), LOG_WARN);
	assert_int_equal(log_level_parse("error"), LOG_ERROR);
	assert_int_equal(log_level_parse("warning"), -1);
	assert_int_equal(log_level_parse("INFO"), -1);
	assert_int_equal(log_level_parse(""), -1);
	assert_int_equal(log_level_parse(NULL), -1);
}

static void test_fatal_exits_1(void **state)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);

		if (devnull >= 0)
			dup2(devnull, STDERR_FILENO);
		log_set_level(LOG_ERROR);
		fatal("cannot open %s", "hotlined.conf");
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void test_journal_stream_matches(void **state)
{
	assert_true(log_journal_stream_matches("64769:1234567", 64769, 1234567));
	assert_true(log_journal_stream_matches("0:0", 0, 0));
	assert_true(
		log_journal_stream_matches("18446744073709551615:1", 18446744073709551615ULL, 1));
	assert_false(log_journal_stream_matches(NULL, 64769, 1234567));
	assert_false(log_journal_stream_matches("", 0, 0));
	assert_false(log_journal_stream_matches("64769:1234568", 64769, 1234567)); /* ino */
	assert_false(log_journal_stream_matches("64768:1234567", 64769, 1234567)); /* dev */
	assert_false(log_journal_stream_matches("64769", 64769, 0));
	assert_false(log_journal_stream_matches("64769:", 64769, 0));
	assert_false(log_journal_stream_matches(":1234567", 0, 1234567));
	assert_false(log_journal_stream_matches("64769:1234567 ", 64769, 1234567));
	assert_false(log_journal_stream_matches(" 64769:1234567", 64769, 1234567));
	assert_false(log_journal_stream_matches("+64769:1234567", 64769, 1234567));
	assert_false(log_journal_stream_matches("64769:-1234567", 64769, 1234567));
	assert_false(log_journal_stream_matches("0x10:1", 16, 1));
	assert_false(log_journal_stream_matches("64769:1234567:1", 64769, 1234567));
	assert_false(log_journal_stream_matches("18446744073709551616:1", 18446744073709551615ULL,
						1)); /* overflow */
}

static void test_journal_format(void **state)
{
	char *text;

	log_set_ident("hotlined");
	log_set_level(LOG_DEBUG);
	log_set_journal(true);
	assert_true(log_get_journal());
	capture_start();
	log_debug("d");
	log_info("listening on %s", "127.0.0.1:12345");
	log_warn("w\nforged");
	log_error("e");
	text = capture_end();
	log_set_journal(false);
	log_set_level(LOG_INFO);
	assert_string_equal(text, "<7>debug: d\n"
				  "<6>info: listening on 127.0.0.1:12345\n"
				  "<4>warn: w?forged\n"
				  "<3>error: e\n");
	free(text);
	capture_start();
	log_info("plain again");
	text = capture_end();
	assert_matches(text, TS_RE "info hotlined: plain again\n$");
	free(text);
}

/* log_detect_journal() with $JOURNAL_STREAM set to value (NULL: unset), stderr captured. */
static bool detect_with(const char *value)
{
	bool journal;

	if (value)
		assert_int_equal(setenv("JOURNAL_STREAM", value, 1), 0);
	else
		assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
	journal = log_detect_journal();
	assert_int_equal(log_get_journal(), journal);
	return journal;
}

static void test_journal_detect(void **state)
{
	struct stat st;
	char stream[64], *text;

	log_set_ident("hotlined");
	capture_start();
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	assert_true(detect_with(stream));
	log_error("to the journal");
	snprintf(stream, sizeof(stream), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino + 1);
	assert_false(detect_with(stream)); /* another stream: a child writing elsewhere */
	log_error("to a file");
	assert_false(detect_with(NULL));
	log_error("to a file");
	text = capture_end();
	assert_matches(text, "^<3>error: to the journal\n"
			     "[0-9TZ:.-]{24} error hotlined: to a file\n"
			     "[0-9TZ:.-]{24} error hotlined: to a file\n$");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_format),
		cmocka_unit_test(test_level_filter),
		cmocka_unit_test(test_one_line_per_message),
		cmocka_unit_test(test_long_message_cut),
		cmocka_unit_test(test_ident),
		cmocka_unit_test(test_errno_preserved),
		cmocka_unit_test(test_level_parse),
		cmocka_unit_test(test_fatal_exits_1),
		cmocka_unit_test(test_journal_stream_matches),
		cmocka_unit_test(test_journal_format),
		cmocka_unit_test(test_journal_detect),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
