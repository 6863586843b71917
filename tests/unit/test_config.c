/*
 * test_config.c - unit tests of lib/config.c and lib/ini.c: the option table, the
 * INI syntax and its errors, duplicates, distinct secrets, the file-mode rule (on
 * real temp files), the time zone check, reload rules, and that README.md
 * documents every option.
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
#include <sys/stat.h>
#include <unistd.h>

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

/* Loads text, failing the test with the error when it is refused. */
static void load_ok(const char *text, struct hotline_config *cfg)
{
	char err[1024] = "";
	if (config_load_string(text, "t.conf", cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
}

/* A string of n copies of c (the caller frees it). */
static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* printf into a new string (the caller frees it). */
static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = NULL;
	assert_true(vasprintf(&out, fmt, ap) >= 0);
	va_end(ap);
	return out;
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
	assert_int_equal(cfg.max_unauthenticated, 256);
	assert_int_equal(cfg.max_unauthenticated_per_address, 16);
	assert_int_equal(cfg.extend_max_days, 365);
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
	assert_string_equal(water->token, "water-feed-secret");
	assert_int_equal(water->mode, JOIN_MERGED);
	assert_false(water->allow_resolved_on_call);
	const struct dept_config *water_dept = config_find_dept(&cfg, "water");
	assert_non_null(water_dept);
	assert_string_equal(water_dept->token, "water-dept-secret");
	assert_string_equal(cfg.agents_token, "agent-terminal-secret");
	assert_string_equal(config_find_feed(&cfg, "agents")->token, "agents-feed-secret");
	const struct feed_config *ent = config_find_feed(&cfg, "enterprise");
	assert_non_null(ent);
	assert_int_equal(ent->mode, JOIN_SUBCENTER);
	assert_string_equal(ent->dept, "enterprise");
	assert_null(config_find_feed(&cfg, "nosuch"));
	/* an Open311 client and the services it files requests for */
	const struct feed_config *app = config_find_open311_client(&cfg, "city-app-open311-key");
	assert_non_null(app);
	assert_string_equal(app->code, "city-app");
	assert_null(app->token);
	assert_true(cfg.nservices >= 2);
	assert_string_equal(config_find_service(&cfg, "streetlight")->category, "streetlight");
	assert_int_equal(cfg.max_unauthenticated, 256);
	assert_int_equal(cfg.max_unauthenticated_per_address, 16);
	assert_int_equal(cfg.extend_max_days, 365);
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
	expect_error("[feed.water]\n", "[feed.water]: token is required");
	expect_error("[feed.x]\ntoken = t\nmode = sideways\n",
		     "is not merged, parallel or subcenter");
	expect_error("[feed.x]\ntoken = t\nmode = subcenter\n", "needs dept");
	expect_error("[feed.x]\ntoken = t\ndept = water\n", "dept is only for mode = subcenter");
	expect_error("[feed.x]\ntoken = t\ncolour = red\n", "unknown key 'colour'");
	expect_error("[feed.bad code]\ntoken = t\n",
		     "t.conf:1: [feed.bad code]: feed code must be");
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

/* The INI rules of README.md ("Configuration"), one by one. */
static void test_ini_syntax(void **state)
{
	struct hotline_config cfg;
	/* comments: ';' or '#' at the start, ';' after a blank; "a;b" is a value */
	load_ok("; comment\n# comment\n  ; indented comment\n\n[hotlined] ; trailing\n"
		"log_level = warn ; the level\nmax_frame = 1024\t;tab before\n"
		"[feed.water]\ntoken = a;b#c\nname = Water # not a comment\n",
		&cfg);
	assert_string_equal(cfg.log_level, "warn");
	assert_int_equal(cfg.max_frame, 1024);
	assert_string_equal(cfg.feeds[0].token, "a;b#c");
	assert_string_equal(cfg.feeds[0].name, "Water # not a comment");
	config_free(&cfg);
	/* values may contain '='; blanks around key and value are dropped */
	load_ok("[postgres]\n  conninfo   =   host=/tmp dbname=x  \n", &cfg);
	assert_string_equal(cfg.pg_conninfo, "host=/tmp dbname=x");
	config_free(&cfg);
	/* no continuation lines: an indented line is a line of its own */
	load_ok("[hotlined]\nmax_frame = 1024\n    max_line = 2048\n", &cfg);
	assert_int_equal(cfg.max_frame, 1024);
	assert_int_equal(cfg.max_line, 2048);
	config_free(&cfg);
	expect_error("[postgres]\nconninfo = host=/tmp\n    dbname=x\n",
		     "t.conf:3: unknown option");
	/* a UTF-8 BOM is skipped; CRLF line ends work; an empty value is a value */
	load_ok("\xEF\xBB\xBF[hotlined]\r\nlog_level = error\r\nlisten_json =\r\n", &cfg);
	assert_string_equal(cfg.log_level, "error");
	assert_string_equal(cfg.listen_json, "");
	config_free(&cfg);
	/* no newline at the end */
	load_ok("[hotlined]\nlog_level = debug", &cfg);
	assert_string_equal(cfg.log_level, "debug");
	config_free(&cfg);
	expect_error("[hotlined]\nmax_frame 1024\n", "t.conf:2: expected key = value");
	expect_error("[hotlined]\n= 1024\n", "t.conf:2: expected key = value");
	expect_error("[hotlined]\nmax_frame: 1024\n", "t.conf:2: expected key = value");
	expect_error("log_level = warn\n", "t.conf:1: 'log_level' before any [section]");
	expect_error("[hotlined\nlog_level = warn\n", "t.conf:1: expected [section]");
	expect_error("[]\n", "t.conf:1: empty section name");
	expect_error("[hotlined] x\n", "t.conf:1: unexpected text after [hotlined]");
	expect_error("\n[nosuch]\n", "t.conf:2: unknown section [nosuch]");
	expect_error("[hotlined]\n\xEF\xBB\xBFlog_level = warn\n", "t.conf:2: unknown option");
	/* a NUL byte is an error, with its line */
	char err[512];
	static const char with_nul[] = "[hotlined]\nlog_level = wa\0rn\n";
	assert_int_equal(config_load_buffer(with_nul, sizeof(with_nul) - 1, "t.conf", &cfg, err,
					    sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "t.conf:2: NUL byte"));
}

/* libinih split lines at 200 bytes; these failed or silently changed meaning. */
static void test_long_lines(void **state)
{
	struct hotline_config cfg;
	char *token = repeat('t', 195);
	char *text = format("[feed.water]\ntoken = %s\n", token);
	load_ok(text, &cfg);
	assert_string_equal(cfg.feeds[0].token, token);
	config_free(&cfg);
	free(text);
	free(token);

	char *options = repeat('x', 10000 - 40);
	char *conninfo = format("host=/tmp dbname=hotline options=%s", options);
	text = format("[postgres]\nconninfo = %s\n", conninfo);
	load_ok(text, &cfg);
	assert_string_equal(cfg.pg_conninfo, conninfo);
	config_free(&cfg);
	free(text);
	free(conninfo);
	free(options);

	/* "name=...name=x": one key whose value holds "name=", not a second key */
	char *padding = repeat('n', 290);
	char *name = format("%sname=x", padding);
	text = format("[feed.water]\ntoken = w\nname=%s\n", name);
	load_ok(text, &cfg);
	assert_string_equal(cfg.feeds[0].name, name);
	config_free(&cfg);
	free(text);
	free(name);
	free(padding);

	/* 65536 bytes is the longest line; one byte more is refused, never split */
	const char *key = "conninfo = ";
	char *fill = repeat('c', 65536 - strlen(key));
	text = format("[postgres]\n%s%s\n[hotlined]\nlog_level = warn\n", key, fill);
	load_ok(text, &cfg);
	assert_int_equal(strlen(cfg.pg_conninfo), 65536 - strlen(key));
	assert_string_equal(cfg.log_level, "warn");
	config_free(&cfg);
	free(text);
	free(fill);
	fill = repeat('c', 65537 - strlen(key));
	text = format("[postgres]\n%s%s\n", key, fill);
	expect_error(text, "t.conf:2: line longer than 65536 bytes");
	free(text);
	free(fill);
	fill = repeat('c', 70000);
	text = format("[postgres]\nconninfo = x\n; %s\n", fill);
	expect_error(text, "t.conf:3: line longer than 65536 bytes");
	free(text);
	free(fill);
}

static void test_duplicates_refused(void **state)
{
	expect_error("[feed.water]\ntoken = a\nname = W\ntoken = b\n",
		     "t.conf:4: duplicate key 'token' in [feed.water] (first set on line 2)");
	expect_error("[feed.water]\ntoken = a\n\n[dept.water]\ntoken = b\n[feed.water]\nname = W\n",
		     "t.conf:6: section [feed.water] appears twice (first on line 1)");
	expect_error("[hotlined]\nlog_level = info\n[postgres]\n[hotlined]\n",
		     "t.conf:4: section [hotlined] appears twice (first on line 1)");
	expect_error("[hotlined]\nmax_frame = 1024\nmax_frame = 1024\n",
		     "t.conf:3: duplicate key 'max_frame' in [hotlined] (first set on line 2)");
	expect_error("[deadlines]\ndefault = 5wd\ncategory.complaint = 13wd\n"
		     "category.complaint = 3wd\n",
		     "t.conf:4: duplicate key 'category.complaint' in [deadlines] (first set on "
		     "line 3)");
	expect_error("[deadlines]\nurgent = 2h\nurgent = 3h\n",
		     "duplicate key 'urgent' in [deadlines] (first set on line 2)");
	/* the same key in different sections is fine */
	struct hotline_config cfg;
	load_ok("[feed.a]\ntoken = one\nname = A\n[dept.a]\ntoken = two\nname = A\n", &cfg);
	config_free(&cfg);
}

static void test_every_secret_distinct(void **state)
{
	expect_error("[feed.water]\ntoken = same\n[dept.water]\ntoken = same\n",
		     "t.conf: [dept.water] token is the same as [feed.water] token: every secret "
		     "must be distinct per role and per id");
	expect_error("[feed.a]\ntoken = same\n[feed.b]\ntoken = same\n",
		     "[feed.b] token is the same as [feed.a] token");
	expect_error("[dept.a]\ntoken = same\n[dept.b]\ntoken = same\n",
		     "[dept.b] token is the same as [dept.a] token");
	expect_error("[feed.a]\ntoken = same\n[dept.b]\ntoken = same\n",
		     "[dept.b] token is the same as [feed.a] token");
	expect_error("[agents]\ntoken = same\nfeed = a\n[feed.a]\ntoken = same\n",
		     "[feed.a] token is the same as [agents] token");
	expect_error("[agents]\ntoken = same\nfeed = a\n[feed.a]\ntoken = other\n"
		     "[dept.b]\ntoken = same\n",
		     "[dept.b] token is the same as [agents] token");
	expect_error("[redis]\npassword = same\n[feed.a]\ntoken = same\n",
		     "[feed.a] token is the same as [redis] password");
	expect_error("[redis]\npassword = same\n[dept.a]\ntoken = same\n",
		     "[dept.a] token is the same as [redis] password");
	expect_error("[redis]\npassword = same\n[agents]\ntoken = same\nfeed = a\n"
		     "[feed.a]\ntoken = other\n",
		     "[agents] token is the same as [redis] password");
	/* a prefix is not the same secret; empty agents token and password are no secrets */
	struct hotline_config cfg;
	load_ok("[redis]\npassword =\n[agents]\ntoken =\n[feed.a]\ntoken = abc\n"
		"[dept.a]\ntoken = abcd\n[dept.b]\ntoken = ab\n",
		&cfg);
	config_free(&cfg);
}

/* Open311: [service.CODE] sections, and client feeds with an open311_key and no token. */
static void test_open311_services_and_clients(void **state)
{
	struct hotline_config cfg;
	load_ok("[feed.water]\ntoken = w\n"
		"[feed.app]\nname = City app\nopen311_key = app-key\n"
		"[service.pothole]\n"
		"[service.streetlight]\nname = 路灯不亮\ndescription = A street light is out\n"
		"group = streets\nkeywords = lamp, light\ncategory = lighting\n"
		"notice = Repaired within 3 working days\n"
		"[open311]\njurisdiction_id = nantong.gov.cn\n",
		&cfg);
	assert_int_equal(cfg.nservices, 2);
	const struct service_config *svc = config_find_service(&cfg, "pothole");
	assert_non_null(svc);
	assert_string_equal(svc->name, "pothole");
	assert_string_equal(svc->category, "pothole");
	assert_string_equal(svc->description, "");
	assert_string_equal(svc->group, "");
	assert_string_equal(svc->keywords, "");
	assert_string_equal(svc->notice, "");
	svc = config_find_service(&cfg, "streetlight");
	assert_string_equal(svc->name, "路灯不亮");
	assert_string_equal(svc->category, "lighting");
	assert_string_equal(svc->group, "streets");
	assert_string_equal(svc->keywords, "lamp, light");
	assert_string_equal(svc->notice, "Repaired within 3 working days");
	assert_null(config_find_service(&cfg, "lighting"));
	assert_string_equal(cfg.open311_jurisdiction_id, "nantong.gov.cn");
	const struct feed_config *app = config_find_open311_client(&cfg, "app-key");
	assert_non_null(app);
	assert_string_equal(app->code, "app");
	assert_null(app->token);
	assert_null(config_find_open311_client(&cfg, "app-ke"));
	assert_null(config_find_open311_client(&cfg, "w")); /* a feed's token is no api_key */
	assert_null(config_find_open311_client(&cfg, ""));
	config_free(&cfg);

	expect_error("[feed.app]\ntoken = t\nopen311_key = k\n",
		     "[feed.app]: an Open311 client (open311_key) has no token");
	expect_error("[feed.app]\nopen311_key =\n", "[feed.app]: open311_key is empty");
	char *long_key = repeat('k', 257);
	char *text = format("[feed.app]\nopen311_key = %s\n", long_key);
	expect_error(text, "[feed.app]: open311_key is longer than 256 bytes");
	free(text);
	free(long_key);
	expect_error("[agents]\ntoken = a\nfeed = app\n[feed.app]\nopen311_key = k\n",
		     "[agents] feed: 'app' is an Open311 client");
	expect_error("[service.a]\ncategory = roads\n[service.b]\ncategory = roads\n",
		     "[service.b] category 'roads' is also [service.a]'s");
	expect_error("[service.a]\n[service.b]\ncategory = a\n",
		     "[service.b] category 'a' is also [service.a]'s");
	expect_error("[service.a]\ncolour = red\n", "[service.a]: unknown key 'colour'");
	expect_error("[service.a b]\n", "[service.a b]: service code must be");
	expect_error("[service.a]\nname = \xff\n", "[service.a] name: not valid UTF-8");
	expect_error("[service.a]\ncategory =\n", "[service.a]: category is empty");
	char *long_text = repeat('d', 1025);
	text = format("[service.a]\ndescription = %s\n", long_text);
	expect_error(text, "[service.a] description: longer than 1024 bytes");
	free(text);
	free(long_text);
	expect_error("[service.a]\n[service.a]\n", "section [service.a] appears twice");
	expect_error("[open311]\nrealm = x\n", "unknown option [open311] realm");
}

/* An api_key is a secret like any token: distinct from every other. */
static void test_open311_key_distinct(void **state)
{
	expect_error("[feed.water]\ntoken = same\n[feed.app]\nopen311_key = same\n",
		     "[feed.app] open311_key is the same as [feed.water] token");
	expect_error("[feed.app]\nopen311_key = same\n[dept.app]\ntoken = same\n",
		     "[dept.app] token is the same as [feed.app] open311_key");
	expect_error("[feed.a]\nopen311_key = same\n[feed.b]\nopen311_key = same\n",
		     "[feed.b] open311_key is the same as [feed.a] open311_key");
	expect_error("[redis]\npassword = same\n[feed.app]\nopen311_key = same\n",
		     "[feed.app] open311_key is the same as [redis] password");
	expect_error("[agents]\ntoken = same\nfeed = a\n[feed.a]\ntoken = t\n"
		     "[feed.app]\nopen311_key = same\n",
		     "[feed.app] open311_key is the same as [agents] token");
}

static void test_timezone_must_be_known(void **state)
{
	struct hotline_config cfg;
	load_ok("[postgres]\ntimezone = UTC\n", &cfg);
	config_free(&cfg);
	load_ok("[postgres]\ntimezone = Etc/GMT+8\n", &cfg);
	config_free(&cfg);
	expect_error("[postgres]\ntimezone = Mars/Olympus\n",
		     "t.conf: [postgres] timezone: 'Mars/Olympus' is not a time zone known to this "
		     "system (no /usr/share/zoneinfo/Mars/Olympus)");
	expect_error("[postgres]\ntimezone = ../etc/passwd\n",
		     "[postgres] timezone: '../etc/passwd' is not a time zone name");
	expect_error("[postgres]\ntimezone = Asia/../../etc/passwd\n", "is not a time zone name");
	expect_error("[postgres]\ntimezone = /etc/localtime\n", "is not a time zone name");
	expect_error("[postgres]\ntimezone = Asia/Shanghai'\n", "is not a time zone name");
	expect_error("[postgres]\ntimezone =\n", "is not a time zone name");
	expect_error("[postgres]\ntimezone = Asia\n",
		     "'Asia' is not a time zone known to this system (not a zone file: "
		     "/usr/share/zoneinfo/Asia)");

	/* $TZDIR moves the database; a file not starting with "TZif" is no zone */
	char dir[] = "/tmp/test_config_tz.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *sub = format("%s/Test", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	char *zone = format("%s/Test/Zone", dir);
	char *notzone = format("%s/Test/Text", dir);
	FILE *f = fopen(zone, "wb");
	assert_non_null(f);
	fputs("TZif2 and the rest", f);
	fclose(f);
	f = fopen(notzone, "wb");
	assert_non_null(f);
	fputs("plain text", f);
	fclose(f);
	assert_int_equal(setenv("TZDIR", dir, 1), 0);
	load_ok("[postgres]\ntimezone = Test/Zone\n", &cfg);
	config_free(&cfg);
	expect_error("[postgres]\ntimezone = Test/Text\n", "(not a zone file: ");
	expect_error("[postgres]\ntimezone = Asia/Shanghai\n", "(no /tmp/test_config_tz.");
	assert_int_equal(unsetenv("TZDIR"), 0);
	unlink(zone);
	unlink(notzone);
	rmdir(sub);
	rmdir(dir);
	free(zone);
	free(notzone);
	free(sub);
}

static void test_agents_feed_must_exist(void **state)
{
	expect_error("[agents]\ntoken = agent-secret\nfeed = nosuch\n[feed.water]\ntoken = w\n",
		     "t.conf: [agents] feed: 'nosuch' has no [feed.nosuch] section");
	expect_error("[agents]\ntoken = agent-secret\n", "[agents] feed: 'agents' has no");
	struct hotline_config cfg;
	load_ok("[agents]\ntoken =\nfeed = nosuch\n", &cfg);
	config_free(&cfg);
	load_ok("[agents]\ntoken = agent-secret\nfeed = desk\n[feed.desk]\ntoken = d\n", &cfg);
	config_free(&cfg);
}

static void test_new_limits(void **state)
{
	struct hotline_config cfg;
	expect_error("[hotlined]\nmax_unauthenticated = 0\n",
		     "[hotlined] max_unauthenticated: 0 is outside 1..1000000");
	expect_error("[hotlined]\nmax_unauthenticated = 1000001\n", "is outside 1..1000000");
	expect_error("[hotlined]\nmax_unauthenticated_per_address = 0\n",
		     "[hotlined] max_unauthenticated_per_address: 0 is outside 1..1000000");
	expect_error("[routing]\nextend_max_days = 0\n",
		     "[routing] extend_max_days: 0 is outside 1..3650");
	expect_error("[routing]\nextend_max_days = 3651\n", "is outside 1..3650");
	load_ok("[routing]\nextend_max_days = 3650\n", &cfg);
	assert_int_equal(cfg.extend_max_days, 3650);
	config_free(&cfg);
	/* per address <= in all <= max_connections */
	expect_error("[hotlined]\nmax_unauthenticated = 10\nmax_unauthenticated_per_address = 11\n",
		     "t.conf: [hotlined] max_unauthenticated_per_address (11) exceeds "
		     "max_unauthenticated (10)");
	expect_error("[hotlined]\nmax_connections = 100\n",
		     "t.conf: [hotlined] max_unauthenticated (256) exceeds max_connections (100)");
	load_ok("[hotlined]\nmax_connections = 100\nmax_unauthenticated = 100\n"
		"max_unauthenticated_per_address = 100\n",
		&cfg);
	assert_int_equal(cfg.max_unauthenticated, 100);
	assert_int_equal(cfg.max_unauthenticated_per_address, 100);
	config_free(&cfg);
	/* a reload cannot raise max_connections, so it cannot raise the others above it */
	struct hotline_config fresh;
	char note[256];
	load_ok("[hotlined]\nmax_connections = 100\nmax_unauthenticated = 50\n", &cfg);
	load_ok("[hotlined]\nmax_connections = 1000\nmax_unauthenticated = 500\n"
		"max_unauthenticated_per_address = 200\n",
		&fresh);
	assert_int_equal(config_apply_reload(&cfg, &fresh, note, sizeof(note)), 1);
	assert_string_equal(note, "max_connections");
	assert_int_equal(cfg.max_connections, 100);
	assert_int_equal(cfg.max_unauthenticated, 100);
	assert_int_equal(cfg.max_unauthenticated_per_address, 100);
	config_free(&fresh);
	config_free(&cfg);
}

static void test_allow_resolved_on_call(void **state)
{
	struct hotline_config cfg;
	load_ok("[feed.a]\ntoken = a\nallow_resolved_on_call = yes\n"
		"[feed.b]\ntoken = b\nallow_resolved_on_call = no\n[feed.c]\ntoken = c\n",
		&cfg);
	assert_true(config_find_feed(&cfg, "a")->allow_resolved_on_call);
	assert_false(config_find_feed(&cfg, "b")->allow_resolved_on_call);
	assert_false(config_find_feed(&cfg, "c")->allow_resolved_on_call);
	config_free(&cfg);
	expect_error("[feed.a]\ntoken = a\nallow_resolved_on_call = maybe\n",
		     "t.conf:3: [feed.a] allow_resolved_on_call: 'maybe' is not yes or no");
	expect_error("[feed.a]\ntoken = a\nallow_resolved_on_call = Yes\n", "is not yes or no");
	expect_error("[feed.a]\ntoken = a\nallow_resolved_on_call = 1\n", "is not yes or no");
	expect_error("[dept.a]\ntoken = a\nallow_resolved_on_call = yes\n",
		     "[dept.a]: unknown key 'allow_resolved_on_call'");
}

static void test_feed_rate_limit(void **state)
{
	struct hotline_config cfg;
	load_ok("[feed.a]\ntoken = a\nmax_rate = 200\n"
		"[feed.b]\ntoken = b\nmax_rate = 5\nburst = 50\n[feed.c]\ntoken = c\n",
		&cfg);
	assert_int_equal(config_find_feed(&cfg, "a")->max_rate, 200);
	assert_int_equal(config_find_feed(&cfg, "a")->burst, 0); /* 2 x max_rate, in use */
	assert_int_equal(config_find_feed(&cfg, "b")->max_rate, 5);
	assert_int_equal(config_find_feed(&cfg, "b")->burst, 50);
	assert_int_equal(config_find_feed(&cfg, "c")->max_rate, 0); /* no limit */
	config_free(&cfg);
	expect_error("[feed.a]\ntoken = a\nmax_rate = -1\n",
		     "t.conf:3: [feed.a] max_rate: '-1' is not a whole number in 0..10000000");
	expect_error("[feed.a]\ntoken = a\nmax_rate = 20/s\n", "is not a whole number");
	expect_error("[feed.a]\ntoken = a\nburst = 99999999999\n",
		     "[feed.a] burst: '99999999999' is not a whole number in 0..10000000");
	expect_error("[dept.a]\ntoken = a\nmax_rate = 5\n", "[dept.a]: unknown key 'max_rate'");
}

/* Writes text to a new temp file with mode; returns its path (the caller frees it). */
static char *temp_config(const char *text, mode_t mode)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	assert_non_null(path);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t len = strlen(text);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return path;
}

/* config_load on a file: its error, or "" when it loaded. */
static void load_file(const char *path, char *err, size_t errlen)
{
	struct hotline_config cfg;
	err[0] = '\0';
	if (config_load(path, &cfg, err, errlen) == 0)
		config_free(&cfg);
	else
		assert_true(err[0] != '\0');
}

static void test_file_mode_and_owner(void **state)
{
	static const char secrets[] = "[feed.water]\ntoken = water-feed-secret\n";
	char err[1024], want[1024];

	char *path = temp_config(secrets, 0644);
	load_file(path, err, sizeof(err));
	snprintf(want, sizeof(want),
		 "%s: mode 0644 lets group or others read it, and it holds tokens and passwords: "
		 "chmod 600 %s",
		 path, path);
	assert_string_equal(err, want);
	assert_int_equal(chmod(path, 0640), 0);
	load_file(path, err, sizeof(err));
	assert_non_null(strstr(err, ": mode 0640 lets group or others read it"));
	assert_int_equal(chmod(path, 0604), 0);
	load_file(path, err, sizeof(err));
	assert_non_null(strstr(err, ": mode 0604 lets group or others read it"));
	assert_int_equal(chmod(path, 0600), 0);
	load_file(path, err, sizeof(err));
	assert_string_equal(err, "");
	assert_int_equal(chmod(path, 0400), 0);
	load_file(path, err, sizeof(err));
	assert_string_equal(err, "");
	/* a file owned by someone else is refused, whatever its mode (only root can
	 * give a file away to try it) */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, (gid_t)-1), 0);
		load_file(path, err, sizeof(err));
		assert_non_null(strstr(err, "owned by uid 4242, neither the user running this"));
	}
	unlink(path);
	free(path);

	/* a Redis password alone, and an agents token alone, are secrets too */
	path = temp_config("[redis]\npassword = p\n", 0644);
	load_file(path, err, sizeof(err));
	assert_non_null(strstr(err, "mode 0644 lets group or others read it"));
	unlink(path);
	free(path);
	path = temp_config("[agents]\ntoken = a\nfeed = d\n[feed.d]\ntoken = d\n", 0660);
	load_file(path, err, sizeof(err));
	assert_non_null(strstr(err, "mode 0660 lets group or others read it"));
	unlink(path);
	free(path);

	/* without secrets the mode is the owner's business */
	path = temp_config("[hotlined]\nlog_level = warn\n[agents]\ntoken =\n", 0644);
	load_file(path, err, sizeof(err));
	assert_string_equal(err, "");
	unlink(path);
	free(path);

	/* errors in a file name the file and line */
	path = temp_config("[hotlined]\nlog_level = warn\nlog_level = info\n", 0600);
	load_file(path, err, sizeof(err));
	snprintf(want, sizeof(want), "%s:3: duplicate key 'log_level' in [hotlined]", path);
	assert_non_null(strstr(err, want));
	unlink(path);
	free(path);
}

static void test_reload_keeps_restart_only_options(void **state)
{
	struct hotline_config cur, fresh;
	char err[512], note[256];
	assert_int_equal(
		config_load_string(
			"[hotlined]\nlisten_binary = 127.0.0.1:1\n"
			"max_inflight = 100\nmax_conn_inflight = 10\n[feed.a]\ntoken = one\n"
			"[service.old]\n",
			"a", &cur, err, sizeof(err)),
		0);
	assert_int_equal(
		config_load_string(
			"[hotlined]\nlisten_binary = 127.0.0.1:2\n"
			"max_inflight = 200\nmax_conn_inflight = 10\n[feed.b]\ntoken = two\n"
			"[service.new]\n[open311]\njurisdiction_id = j\n",
			"b", &fresh, err, sizeof(err)),
		0);
	int kept = config_apply_reload(&cur, &fresh, note, sizeof(note));
	assert_int_equal(kept, 1);
	assert_string_equal(note, "listen_binary");
	assert_string_equal(cur.listen_binary, "127.0.0.1:1");
	assert_int_equal(cur.max_inflight, 200);
	assert_null(config_find_feed(&cur, "a"));
	assert_non_null(config_find_feed(&cur, "b"));
	/* the Open311 services and jurisdiction_id are reloaded too */
	assert_null(config_find_service(&cur, "old"));
	assert_non_null(config_find_service(&cur, "new"));
	assert_string_equal(cur.open311_jurisdiction_id, "j");
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
	/* the service keys, in their own table: "| `name` |" would be found in the
	 * feeds' table, so each is looked for as a row of the services' table */
	const char *services = strstr(readme, "`[service.CODE]`");
	if (!services) {
		print_error("README.md does not document [service.CODE]\n");
		missing++;
	}
	keys = config_service_keys(&n);
	for (size_t i = 0; services && i < n; i++) {
		snprintf(needle, sizeof(needle), "| `%s` |", keys[i].name);
		if (!strstr(services, needle)) {
			print_error("README.md does not document service key %s after "
				    "[service.CODE]\n",
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
		cmocka_unit_test(test_ini_syntax),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_duplicates_refused),
		cmocka_unit_test(test_every_secret_distinct),
		cmocka_unit_test(test_open311_services_and_clients),
		cmocka_unit_test(test_open311_key_distinct),
		cmocka_unit_test(test_timezone_must_be_known),
		cmocka_unit_test(test_agents_feed_must_exist),
		cmocka_unit_test(test_new_limits),
		cmocka_unit_test(test_allow_resolved_on_call),
		cmocka_unit_test(test_feed_rate_limit),
		cmocka_unit_test(test_file_mode_and_owner),
		cmocka_unit_test(test_reload_keeps_restart_only_options),
		cmocka_unit_test(test_hostport_and_tokens),
		cmocka_unit_test(test_readme_documents_every_option),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
