/*
 * test_redis_ha.c - unit tests of lib/redis_ha.c.
 *
 * Owns: sentinel lists (blanks, IPv6, refusals), master names, +switch-master
 * messages (ours, another master's, malformed), INFO fields, and epochs that name
 * their server (made, read back, compared; the unknown run_id; old epochs without
 * one). Never: depends on anything but lib/. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "redis_ha.h"

static void test_sentinel_lists(void **state)
{
	(void)state;
	struct redis_ha_addr a[REDIS_HA_SENTINELS_MAX];
	size_t n;
	char why[200];
	assert_int_equal(redis_ha_parse_addrs("10.0.0.1:26379", a, 3, &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].host, "10.0.0.1");
	assert_int_equal(a[0].port, 26379);
	assert_int_equal(redis_ha_parse_addrs(" s1.city:26379 ,\ts2.city:26380,[::1]:26381 ", a, 3,
					      &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 3);
	assert_string_equal(a[0].host, "s1.city");
	assert_string_equal(a[1].host, "s2.city");
	assert_int_equal(a[1].port, 26380);
	assert_string_equal(a[2].host, "::1");
	assert_int_equal(a[2].port, 26381);

	const struct {
		const char *list, *why;
	} bad[] = {
		{ "", "entry 1 is empty" },
		{ "a:1,,b:2", "entry 2 is empty" },
		{ "a:1,", "entry 2 is empty" },
		{ "a", "'a' is not host:port" },
		{ "a:0", "'a:0' is not host:port" },
		{ "a:65536", "'a:65536' is not host:port" },
		{ "a:1,b:x", "'b:x' is not host:port" },
		{ "a:1, a:1", "'a:1' is listed twice" },
		{ "a:1,b:1,c:1,d:1", "more than 3 addresses" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(redis_ha_parse_addrs(bad[i].list, a, 3, &n, why, sizeof(why)), -1);
		assert_non_null(strstr(why, bad[i].why));
	}
}

static void test_master_names(void **state)
{
	(void)state;
	assert_true(redis_ha_name_valid("hotline"));
	assert_true(redis_ha_name_valid("city-12345_main.v2"));
	assert_false(redis_ha_name_valid(""));
	assert_false(redis_ha_name_valid("has space"));
	assert_false(redis_ha_name_valid("semi;colon"));
	char longest[REDIS_HA_NAME_MAX + 2];
	memset(longest, 'm', sizeof(longest));
	longest[REDIS_HA_NAME_MAX] = '\0';
	assert_true(redis_ha_name_valid(longest));
	longest[REDIS_HA_NAME_MAX] = 'm';
	longest[REDIS_HA_NAME_MAX + 1] = '\0';
	assert_false(redis_ha_name_valid(longest));
}

static int parse_switch(const char *msg, const char *name, struct redis_ha_addr *to)
{
	return redis_ha_parse_switch(msg, strlen(msg), name, to);
}

static void test_switch_master(void **state)
{
	(void)state;
	struct redis_ha_addr to = { "untouched", 7 };
	assert_int_equal(parse_switch("hotline 127.0.0.1 6379 127.0.0.1 6380", "hotline", &to), 1);
	assert_string_equal(to.host, "127.0.0.1");
	assert_int_equal(to.port, 6380);
	/* another master's failover: ours is untouched */
	struct redis_ha_addr other = { "untouched", 7 };
	assert_int_equal(parse_switch("cache 10.0.0.1 6379 10.0.0.2 6379", "hotline", &other), 0);
	assert_string_equal(other.host, "untouched");
	assert_int_equal(parse_switch("hotline2 1.1.1.1 1 2.2.2.2 2", "hotline", &other), 0);
	assert_int_equal(parse_switch("hot 1.1.1.1 1 2.2.2.2 2", "hotline", &other), 0);
	const char *malformed[] = {
		"",
		"hotline",
		"hotline 127.0.0.1 6379 127.0.0.1",
		"hotline 127.0.0.1 6379 127.0.0.1 6380 extra",
		"hotline 127.0.0.1 port 127.0.0.1 6380",
		"hotline 127.0.0.1 6379 127.0.0.1 0",
		"hotline 127.0.0.1 6379 127.0.0.1 70000",
		"hotline 127.0.0.1 6379 127.0.0.1 63x0",
	};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++)
		assert_int_equal(parse_switch(malformed[i], "hotline", &other), -1);
	/* a NUL inside the length given is not a host */
	const char nul[] = "hotline 1.1.1.1 1 2.2\0.2.2 2";
	assert_int_equal(redis_ha_parse_switch(nul, sizeof(nul) - 1, "hotline", &other), -1);
}

static void test_info_fields(void **state)
{
	(void)state;
	const char info[] = "# Server\r\nredis_version:7.0.15\r\nrun_id:"
			    "4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e\r\n\r\n# Replication\r\n"
			    "role:slave\r\nmaster_host:127.0.0.1\r\nrole_x:no\r\n";
	char v[64];
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "run_id", v, sizeof(v)), 0);
	assert_string_equal(v, "4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e");
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "role", v, sizeof(v)), 0);
	assert_string_equal(v, "slave");
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "master_host", v, sizeof(v)),
			 0);
	assert_string_equal(v, "127.0.0.1");
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "rol", v, sizeof(v)), -1);
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "missing", v, sizeof(v)), -1);
	assert_int_equal(redis_ha_info_field(info, sizeof(info) - 1, "run_id", v, 40), -1);
	/* a last line without CRLF, and LF alone */
	assert_int_equal(redis_ha_info_field("a:1\nrole:master", 15, "role", v, sizeof(v)), 0);
	assert_string_equal(v, "master");
	assert_int_equal(redis_ha_info_field("", 0, "role", v, sizeof(v)), -1);
}

static void test_epochs_name_their_server(void **state)
{
	(void)state;
	const unsigned char random[16] = { 0x00, 0x01, 0xab, 0xff, 1, 2,  3,  4,
					   5,	 6,    7,    8,	   9, 10, 11, 12 };
	const char *run_id = "4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e";
	char epoch[REDIS_HA_EPOCH_MAX];
	assert_int_equal(redis_ha_epoch_make(epoch, sizeof(epoch), random, 16, run_id), 0);
	assert_string_equal(epoch, "0001abff0102030405060708090a0b0c."
				   "4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e4b1d2f3e");
	assert_string_equal(redis_ha_epoch_server(epoch), run_id);
	assert_true(redis_ha_epoch_of_server(epoch, run_id));
	/* a promoted replica, or the same server restarted: another run_id */
	assert_false(redis_ha_epoch_of_server(epoch, "5c2e3f4a5c2e3f4a5c2e3f4a5c2e3f4a5c2e3f4a"));
	/* INFO refused: only the epochs are compared */
	assert_true(redis_ha_epoch_of_server(epoch, ""));

	/* without a run_id: the random part alone, as epochs were before */
	assert_int_equal(redis_ha_epoch_make(epoch, sizeof(epoch), random, 16, ""), 0);
	assert_string_equal(epoch, "0001abff0102030405060708090a0b0c");
	assert_string_equal(redis_ha_epoch_server(epoch), "");
	assert_false(redis_ha_epoch_of_server(epoch, run_id));
	assert_true(redis_ha_epoch_of_server(epoch, ""));

	/* too small a buffer, a run_id that is not letters and digits */
	assert_int_equal(redis_ha_epoch_make(epoch, 32, random, 16, ""), -1);
	assert_int_equal(redis_ha_epoch_make(epoch, 33, random, 16, ""), 0);
	assert_int_equal(redis_ha_epoch_make(epoch, 40, random, 16, run_id), -1);
	assert_int_equal(redis_ha_epoch_make(epoch, sizeof(epoch), random, 16, "a.b"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sentinel_lists),
		cmocka_unit_test(test_master_names),
		cmocka_unit_test(test_switch_master),
		cmocka_unit_test(test_info_fields),
		cmocka_unit_test(test_epochs_name_their_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
