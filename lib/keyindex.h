/*
 * keyindex.h - a fixed-size hash index from short string keys to slot numbers.
 *
 * Owns: its table of (hash, slot) pairs, open addressing with linear probing
 * and backward-shift deletion (no tombstones, so lookups stay short however
 * long the index lives). The keys themselves stay in the caller's slots and
 * are read back through key_of only to confirm a hash match when looking up.
 * Never: allocates after keyindex_init, grows, or holds more than the capacity
 * it was made for (the caller bounds its slots, e.g. a connection's window).
 * Callers: daemon/conn_dept.c (a department connection's tickets awaiting Ack),
 * tests/unit/test_keyindex.c.
 */
#ifndef HOTLINE_KEYINDEX_H
#define HOTLINE_KEYINDEX_H

#include <stddef.h>
#include <stdint.h>

/* The key held by slot (a NUL-terminated string that stays put while indexed). */
typedef const char *keyindex_key_fn(const void *ctx, uint32_t slot);

struct keyindex_entry {
	uint32_t hash;
	uint32_t slot1; /* slot + 1; 0 = empty */
};

struct keyindex {
	struct keyindex_entry *table;
	size_t mask; /* table size - 1; the size is a power of two >= 2 * capacity */
	size_t count, capacity;
	keyindex_key_fn *key_of;
	const void *ctx;
};

/* Returns 0, or -1 when out of memory (or capacity is 0 or absurd). */
int keyindex_init(struct keyindex *ix, size_t capacity, keyindex_key_fn *key_of, const void *ctx)
	__attribute__((warn_unused_result));
void keyindex_free(struct keyindex *ix);

/* A slot holding key (the earliest added of several), or -1. */
long keyindex_find(const struct keyindex *ix, const char *key);

/* Indexes slot under key (its current key). Several slots may share a key.
 * Returns 0, or -1 when the index is full. */
int keyindex_add(struct keyindex *ix, const char *key, uint32_t slot);

/* Forgets slot, indexed under key. Returns 0, or -1 when it was not. */
int keyindex_del(struct keyindex *ix, const char *key, uint32_t slot);

/* slot from, indexed under key, is now slot to (the caller moved the key).
 * Returns 0, or -1 when from was not indexed under key. */
int keyindex_move(struct keyindex *ix, const char *key, uint32_t from, uint32_t to);

#endif
