/*
 * keyset.c - the fixed-capacity key set behind keyset.h.
 */
#include "keyset.h"

#include <stdlib.h>

int keyset_init(struct keyset *set, size_t max_keys)
{
	set->cap = 16;
	while (set->cap < 2 * max_keys)
		set->cap *= 2;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	if (!set->slots) {
		set->cap = 0;
		return -1;
	}
	return 0;
}

void keyset_free(struct keyset *set)
{
	free(set->slots);
	set->slots = NULL;
	set->cap = 0;
}

/* The slot that holds key, or where it would go. */
static size_t slot_of(const struct keyset *set, uint64_t key)
{
	size_t mask = set->cap - 1, i = (size_t)key & mask;
	while (set->slots[i] != 0 && set->slots[i] != key)
		i = (i + 1) & mask;
	return i;
}

bool keyset_add(struct keyset *set, uint64_t key)
{
	size_t i = slot_of(set, key);
	if (set->slots[i] == key)
		return false;
	set->slots[i] = key;
	return true;
}

bool keyset_has(const struct keyset *set, uint64_t key)
{
	return set->cap > 0 && set->slots[slot_of(set, key)] == key;
}

uint64_t keyset_hash2(const char *a, const char *b)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* separator: no valid UTF-8 byte */
	for (const unsigned char *p = (const unsigned char *)b; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}
