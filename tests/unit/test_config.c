/*
 * test_config.c - unit tests of lib/config.c: the option table, the INI
 * loader's errors, reload rules, and that README.md documents every option.
 * Needs HOTLINE_SOURCE_ROOT (set by tests/unit/meson.build) for the example
 * config and README. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static char *read_source_file(const char *relative)
{
	const char *root = getenv("HOTLINE_SOURCE_ROOT");
	assert_non_null(root);
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, relative);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	text[n] = '\0';
	fclose(f);
	return text;
}

static void expect_error(const char *text, const char *want)
{
	struct hotline_config cfg;
	char err[512] = "";
	assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_defaults(void **state)
{
	struct hotline_config cfg;
	char err[512];
	assert_int_equal(config_load_string("", "empty", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.listen_binary, "127.0.0.1:12345");
	assert_string_equal(cfg.listen_json, "127.0.0.1:12347");
	assert_int_equal(cfg.max_frame, 65536);
	assert_int_equal(cfg.pg_batch_max, 3000);
	assert_string_equal(cfg.pg_work_mem, "64MB");
	assert_int_equal(cfg.pg_connections, 2);
	assert_string_equal(cfg.pg_timezone, "Asia/Shanghai");
	assert_int_equal(cfg.nfeeds, 0);
	config_free(&cfg);
}

static void test_example_config_loads(void **state)
{
	char *text = read_source_file("deploy/hotlined.conf.example");
	struct hotline_config cfg;
	char err[512];
	if (config_load_string(text, "hotlined.conf.example", &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	const struct feed_config *water = config_find_feed(&cfg, "water");
	assert_non_null(water);
	assert_string_equal(water->token, "water-secret");
	assert_int_equal(water->mode, JOIN_MERGED);
	const struct feed_config *ent = config_find_feed(&cfg, "enterprise");
	assert_non_null(ent);
	assert_int_equal(ent->mode, JOIN_SUBCENTER);
	assert_string_equal(ent->dept, "enterprise");
	assert_null(config_find_feed(&cfg, "nosuch"));
	config_free(&cfg);
	free(text);
}

static void test_errors_name_line_and_reason(void **state)
{
	expect_error("[hotlined]\nmax_frame = 12\n",
		     "t.conf:2: [hotlined] max_frame: 12 is outside");
	expect_error("[hotlined]\nmax_frame = 12k\n", "is not a whole number");
	expect_error("[hotlined]\n\nnosuch = 1\n", "t.conf:3: unknown option [hotlined] nosuch");
	expect_error("[feed.water]\nname = W\n", "[feed.water]: token is required");
	expect_error("[feed.x]\ntoken = t\nmode = sideways\n",
		     "is not merged, parallel or subcenter");
	expect_error("[feed.x]\ntoken = t\nmode = subcenter\n", "needs dept");
	expect_error("[feed.x]\ntoken = t\ndept = water\n", "dept is only for mode = subcenter");
	expect_error("[feed.x]\ntoken = t\ncolour = red\n", "unknown key 'colour'");
	expect_error("[feed.bad code]\ntoken = t\n", "feed code must be");
	expect_error("[dept.water]\nname = W\n", "[dept.water]: token is required");
	expect_error("[dept.water]\ntoken = t\nmode = x\n", "[dept.water]: unknown key 'mode'");
	expect_error("[routing]\nmax_returns = 0\n", "max_returns: 0 is outside");
	expect_error("[postgres]\nwork_mem = lots\n",
		     "[postgres] work_mem: 'lots' is not like 64MB");
	expect_error("[hotlined]\nlisten_binary = nowhere\n", "is not host:port");
	expect_error("[hotlined]\nlog_level = loud\n", "log_level");
	expect_error("[hotlined]\nmax_inflight = 10\nmax_conn_inflight = 20\n",
		     "exceeds max_inflight");
	struct hotline_config cfg;
	char err[512];
	assert_int_equal(config_load("/nonexistent/hotlined.conf", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open"));
}

static void test_reload_keeps_restart_only_options(void **state)
{
	struct hotline_config cur, fresh;
	char err[512], note[256];
	assert_int_equal(
		config_load_string(
			"[hotlined]\nlisten_binary = 127.0.0.1:1\n"
			"max_inflight = 100\nmax_conn_inflight = 10\n[feed.a]\ntoken = one\n",
			"a", &cur, err, sizeof(err)),
		0);
	assert_int_equal(
		config_load_string(
			"[hotlined]\nlisten_binary = 127.0.0.1:2\n"
			"max_inflight = 200\nmax_conn_inflight = 10\n[feed.b]\ntoken = two\n",
			"b", &fresh, err, sizeof(err)),
		0);
	int kept = config_apply_reload(&cur, &fresh, note, sizeof(note));
	assert_int_equal(kept, 1);
	assert_string_equal(note, "listen_binary");
	assert_string_equal(cur.listen_binary, "127.0.0.1:1");
	assert_int_equal(cur.max_inflight, 200);
	assert_null(config_find_feed(&cur, "a"));
	assert_non_null(config_find_feed(&cur, "b"));
	config_free(&fresh);
	config_free(&cur);
}

static void test_hostport_and_tokens(void **state)
{
	char host[64];
	int port;
	assert_int_equal(config_parse_hostport("127.0.0.1:12345", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 12345);
	assert_int_equal(config_parse_hostport("[::1]:80", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 80);
	assert_int_equal(config_parse_hostport("host:99999", host, sizeof(host), &port), -1);
	assert_int_equal(config_parse_hostport(":80", host, sizeof(host), &port), -1);
	assert_int_equal(config_parse_hostport("host", host, sizeof(host), &port), -1);
	assert_true(config_token_equal("secret", "secret"));
	assert_false(config_token_equal("secret", "secreT"));
	assert_false(config_token_equal("secret", "secret2"));
	assert_false(config_token_equal("", "x"));
}

/* Every option and feed key must be named in README.md as `name`. */
static void test_readme_documents_every_option(void **state)
{
	char *readme = read_source_file("README.md");
	size_t n;
	const struct config_option *opts = config_options(&n);
	int missing = 0;
	char needle[128];
	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "`%s`", opts[i].name);
		if (!strstr(readme, needle)) {
			print_error("README.md does not document [%s] %s\n", opts[i].section,
				    opts[i].name);
			missing++;
		}
	}
	const struct config_feed_key *keys = config_feed_keys(&n);
	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "`%s`", keys[i].name);
		if (!strstr(readme, needle)) {
			print_error("README.md does not document feed key %s\n", keys[i].name);
			missing++;
		}
	}
	keys = config_dept_keys(&n);
	for (size_t i = 0; i < n; i++) {
		snprintf(needle, sizeof(needle), "`%s`", keys[i].name);
		if (!strstr(readme, needle)) {
			print_error("README.md does not document department key %s\n",
				    keys[i].name);
			missing++;
		}
	}
	free(readme);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_config_loads),
		cmocka_unit_test(test_errors_name_line_and_reason),
		cmocka_unit_test(test_reload_keeps_restart_only_options),
		cmocka_unit_test(test_hostport_and_tokens),
		cmocka_unit_test(test_readme_documents_every_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
