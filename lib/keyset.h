/*
 * keyset.h - a fixed-capacity set of nonzero 64-bit keys (open addressing).
 *
 * Owns: adding and looking up keys in a table sized once (a power of two at
 * least twice the keys it will hold, so probes stay short). Never: grows, or
 * holds the key 0 (it marks a free slot).
 * Callers: daemon/store_pg.c (the callers and categories of an intake batch,
 * for repeat complaints), tests/unit/test_keyset.c.
 */
#ifndef HOTLINE_KEYSET_H
#define HOTLINE_KEYSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keyset {
	uint64_t *slots;
	size_t cap; /* a power of two, or 0 (empty, holds nothing) */
};

/* Room for at least max_keys keys. Returns 0, or -1 when out of memory. */
int keyset_init(struct keyset *set, size_t max_keys) __attribute__((warn_unused_result));
void keyset_free(struct keyset *set);

/* Adds key (nonzero; at most max_keys of them): false when it was there already. */
bool keyset_add(struct keyset *set, uint64_t key);
bool keyset_has(const struct keyset *set, uint64_t key);

/* FNV-1a of two strings with a separator no UTF-8 text holds; never 0. */
uint64_t keyset_hash2(const char *a, const char *b);

#endif
