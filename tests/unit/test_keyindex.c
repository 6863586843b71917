/*
 * test_keyindex.c - unit tests of lib/keyindex.c.
 *
 * Owns: the index agreeing with a plain array under long random runs of add,
 * find, delete and move (slots swapped down as conn_dept.c does), with keys
 * chosen to collide; several slots under one key; the limits (full index,
 * unknown key).
 * Never: depends on anything but lib/keyindex.c. Run by `meson test --suite unit`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "keyindex.h"

#define CAP 64

struct slots {
	char key[CAP][24];
	size_t n;
};

static const char *key_of(const void *ctx, uint32_t slot)
{
	const struct slots *s = ctx;
	assert_true(slot < s->n);
	return s->key[slot];
}

static uint32_t rnd(uint32_t *seed)
{
	*seed ^= *seed << 13;
	*seed ^= *seed >> 17;
	*seed ^= *seed << 5;
	return *seed;
}

static long linear_find(const struct slots *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->key[i], key) == 0)
			return (long)i;
	return -1;
}

/* Removes slot i the way conn_dept.c does: the last slot moves into the hole. */
static void remove_slot(struct keyindex *ix, struct slots *s, size_t i)
{
	char key[24];
	snprintf(key, sizeof(key), "%s", s->key[i]);
	assert_int_equal(keyindex_del(ix, key, (uint32_t)i), 0);
	size_t last = s->n - 1;
	if (i != last) {
		assert_int_equal(keyindex_move(ix, s->key[last], (uint32_t)last, (uint32_t)i), 0);
		memcpy(s->key[i], s->key[last], sizeof(s->key[i]));
	}
	s->n--;
	assert_int_equal(keyindex_find(ix, key), -1);
}

static void random_run(uint32_t seed, unsigned key_space)
{
	struct slots s = { .n = 0 };
	struct keyindex ix;
	assert_int_equal(keyindex_init(&ix, CAP, key_of, &s), 0);
	for (int step = 0; step < 200000; step++) {
		char key[24];
		snprintf(key, sizeof(key), "%u-0", rnd(&seed) % key_space);
		long want = linear_find(&s, key);
		assert_int_equal(keyindex_find(&ix, key), want);
		uint32_t op = rnd(&seed) % 3;
		if (op == 0 && want < 0) {
			int rc = keyindex_add(&ix, key, (uint32_t)s.n);
			if (s.n == CAP) {
				assert_int_equal(rc, -1); /* full */
			} else {
				assert_int_equal(rc, 0);
				snprintf(s.key[s.n++], sizeof(s.key[0]), "%s", key);
			}
		} else if (op == 1 && want >= 0) {
			remove_slot(&ix, &s, (size_t)want);
		} else if (op == 1) {
			assert_int_equal(keyindex_del(&ix, key, 0), -1);
		}
		assert_int_equal(ix.count, s.n);
	}
	/* every key still found, then all removed */
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(keyindex_find(&ix, s.key[i]), (long)i);
	while (s.n > 0)
		remove_slot(&ix, &s, rnd(&seed) % s.n);
	assert_int_equal(ix.count, 0);
	for (size_t i = 0; i <= ix.mask; i++)
		assert_int_equal(ix.table[i].slot1, 0);
	keyindex_free(&ix);
}

static void test_random_small_key_space(void **state)
{
	(void)state;
	random_run(12345, 80); /* often full, many deletes */
}

static void test_random_large_key_space(void **state)
{
	(void)state;
	random_run(777, 100000);
}

/* Keys of equal hash form one long run: deletes anywhere in it must keep the
 * rest reachable. With a table of 128, every key lands in 128 buckets, so 64
 * keys are bound to share runs; brute force finds keys of one home bucket. */
static void test_one_home_bucket(void **state)
{
	(void)state;
	struct slots s = { .n = 0 };
	struct keyindex ix;
	assert_int_equal(keyindex_init(&ix, CAP, key_of, &s), 0);
	for (unsigned k = 0; s.n < 40; k++) {
		char key[24];
		snprintf(key, sizeof(key), "t%u", k);
		snprintf(s.key[s.n], sizeof(s.key[0]), "%s", key);
		s.n++;
		assert_int_equal(keyindex_add(&ix, key, (uint32_t)s.n - 1), 0);
		long pos = -1;
		for (size_t i = 0; i <= ix.mask; i++)
			if (ix.table[i].slot1 == s.n)
				pos = (long)i;
		if ((ix.table[pos].hash & ix.mask) != 5) { /* keep only home bucket 5 */
			assert_int_equal(keyindex_del(&ix, key, (uint32_t)s.n - 1), 0);
			s.n--;
		}
	}
	uint32_t seed = 99;
	while (s.n > 0) {
		remove_slot(&ix, &s, rnd(&seed) % s.n);
		for (size_t i = 0; i < s.n; i++)
			assert_int_equal(keyindex_find(&ix, s.key[i]), (long)i);
	}
	keyindex_free(&ix);
}

/* Several slots under one key (a ticket dispatched again while its first
 * delivery awaits Ack): find gives the earliest added; each goes by its slot. */
static void test_shared_key(void **state)
{
	(void)state;
	struct slots s = { .n = 4 };
	struct keyindex ix;
	assert_int_equal(keyindex_init(&ix, CAP, key_of, &s), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(s.key[i], sizeof(s.key[0]), "%s", i == 2 ? "other" : "T-1");
		assert_int_equal(keyindex_add(&ix, s.key[i], (uint32_t)i), 0);
	}
	assert_int_equal(keyindex_find(&ix, "T-1"), 0);
	assert_int_equal(keyindex_del(&ix, "T-1", 2), -1); /* slot 2 is "other" */
	assert_int_equal(keyindex_del(&ix, "T-1", 0), 0);
	assert_int_equal(keyindex_find(&ix, "T-1"), 1);
	assert_int_equal(keyindex_move(&ix, "T-1", 3, 0), 0); /* slot 3 moved down */
	assert_int_equal(keyindex_del(&ix, "T-1", 1), 0);
	assert_int_equal(keyindex_find(&ix, "T-1"), 0);
	assert_int_equal(keyindex_del(&ix, "T-1", 0), 0);
	assert_int_equal(keyindex_find(&ix, "T-1"), -1);
	assert_int_equal(keyindex_find(&ix, "other"), 2);
	assert_int_equal(ix.count, 1);
	keyindex_free(&ix);
}

static void test_limits(void **state)
{
	(void)state;
	struct slots s = { .n = 0 };
	struct keyindex ix;
	assert_int_equal(keyindex_init(&ix, 0, key_of, &s), -1);
	assert_int_equal(keyindex_find(&ix, "x"), -1); /* failed init: empty, safe */
	assert_int_equal(keyindex_add(&ix, "x", 0), -1);
	assert_int_equal(keyindex_init(&ix, 1, key_of, &s), 0);
	snprintf(s.key[0], sizeof(s.key[0]), "a");
	s.n = 1;
	assert_int_equal(keyindex_add(&ix, "a", 0), 0);
	assert_int_equal(keyindex_add(&ix, "b", 1), -1); /* capacity 1 */
	assert_int_equal(keyindex_move(&ix, "b", 0, 0), -1);
	assert_int_equal(keyindex_move(&ix, "a", 1, 0), -1);
	assert_int_equal(keyindex_find(&ix, ""), -1);
	assert_int_equal(keyindex_del(&ix, "a", 0), 0);
	assert_int_equal(keyindex_del(&ix, "a", 0), -1);
	keyindex_free(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_small_key_space),
		cmocka_unit_test(test_random_large_key_space),
		cmocka_unit_test(test_one_home_bucket),
		cmocka_unit_test(test_shared_key),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
