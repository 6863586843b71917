/*
 * keyindex.c - a fixed-size hash index from short string keys to slot numbers.
 *
 * Owns: the probing table. Hash: 32-bit FNV-1a. Load stays at or below one half,
 * so a probe run is short; deletion shifts the following entries of the run back
 * instead of leaving tombstones. Never: allocates after init.
 * Callers: see keyindex.h.
 */
#include "keyindex.h"

#include <stdlib.h>
#include <string.h>

#define KEYINDEX_CAPACITY_MAX (1u << 24)

static uint32_t key_hash(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

int keyindex_init(struct keyindex *ix, size_t capacity, keyindex_key_fn *key_of, const void *ctx)
{
	memset(ix, 0, sizeof(*ix));
	if (capacity == 0 || capacity > KEYINDEX_CAPACITY_MAX || !key_of)
		return -1;
	size_t size = 4;
	while (size < 2 * capacity)
		size *= 2;
	ix->table = calloc(size, sizeof(*ix->table));
	if (!ix->table)
		return -1;
	ix->mask = size - 1;
	ix->capacity = capacity;
	ix->key_of = key_of;
	ix->ctx = ctx;
	return 0;
}

void keyindex_free(struct keyindex *ix)
{
	free(ix->table);
	memset(ix, 0, sizeof(*ix));
}

/* The table position holding key (and slot, unless slot is UINT32_MAX), or -1.
 * Insertion fills the first free position of a run, so among entries of one key
 * the earliest added is met first. */
static long position_of(const struct keyindex *ix, const char *key, uint32_t slot)
{
	if (!ix->table)
		return -1;
	uint32_t hash = key_hash(key);
	for (size_t i = hash & ix->mask;; i = (i + 1) & ix->mask) {
		const struct keyindex_entry *e = &ix->table[i];
		if (e->slot1 == 0)
			return -1;
		if (e->hash != hash)
			continue;
		if (slot != UINT32_MAX ? e->slot1 == slot + 1
				       : strcmp(ix->key_of(ix->ctx, e->slot1 - 1), key) == 0)
			return (long)i;
	}
}

long keyindex_find(const struct keyindex *ix, const char *key)
{
	long pos = position_of(ix, key, UINT32_MAX);
	return pos < 0 ? -1 : (long)ix->table[pos].slot1 - 1;
}

int keyindex_add(struct keyindex *ix, const char *key, uint32_t slot)
{
	if (!ix->table || ix->count >= ix->capacity || slot == UINT32_MAX)
		return -1;
	uint32_t hash = key_hash(key);
	size_t i = hash & ix->mask;
	while (ix->table[i].slot1 != 0)
		i = (i + 1) & ix->mask;
	ix->table[i] = (struct keyindex_entry){ hash, slot + 1 };
	ix->count++;
	return 0;
}

int keyindex_del(struct keyindex *ix, const char *key, uint32_t slot)
{
	long pos = slot == UINT32_MAX ? -1 : position_of(ix, key, slot);
	if (pos < 0)
		return -1;
	/* Backward shift: pull each later entry of the run into the hole unless
	 * its home lies cyclically after the hole (it would then be unreachable).
	 * Entries keep their order along the run. */
	size_t hole = (size_t)pos;
	for (size_t i = (hole + 1) & ix->mask; ix->table[i].slot1 != 0; i = (i + 1) & ix->mask) {
		size_t home = ix->table[i].hash & ix->mask;
		if (((i - home) & ix->mask) >= ((i - hole) & ix->mask)) {
			ix->table[hole] = ix->table[i];
			hole = i;
		}
	}
	ix->table[hole] = (struct keyindex_entry){ 0, 0 };
	ix->count--;
	return 0;
}

int keyindex_move(struct keyindex *ix, const char *key, uint32_t from, uint32_t to)
{
	long pos = from == UINT32_MAX || to == UINT32_MAX ? -1 : position_of(ix, key, from);
	if (pos < 0)
		return -1;
	ix->table[pos].slot1 = to + 1;
	return 0;
}
