/*
 * idset.h - a small set of 64-bit ids, and its PostgreSQL array literal.
 *
 * Owns: an unordered, growable array of distinct ids with add, remove and
 * lookup (linear: the sets it serves hold a window's worth, about a hundred),
 * and writing one or several sets as one int8[] literal "{1,2,3}" for a
 * statement parameter. Never: does I/O.
 * Callers: daemon/conn_feed.c (TicketUpdates sent on a connection; conn.c frees
 * the sets), daemon/server.c (TicketUpdates acknowledged, waiting to be deleted),
 * tests/unit/test_idset.c.
 */
#ifndef HOTLINE_IDSET_H
#define HOTLINE_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idset {
	int64_t *ids;
	size_t n, cap;
};

/* An empty set needs no init beyond zeroing ({0}). */
void idset_free(struct idset *set);
void idset_clear(struct idset *set);

/* Adds id (a no-op when present). Returns 0, or -1 when out of memory (set unchanged). */
int idset_add(struct idset *set, int64_t id) __attribute__((warn_unused_result));
/* Removes id; true when it was there. */
bool idset_remove(struct idset *set, int64_t id);
bool idset_has(const struct idset *set, int64_t id);

/*
 * The ids of sets[0..nsets) (NULL entries skipped; an id in two sets is written
 * twice, which an array used with = ANY or <> ALL does not mind) as a new
 * malloc'ed PostgreSQL array literal, "{}" when they are empty. NULL when out
 * of memory. The caller frees it.
 */
char *idset_pg_array(const struct idset *const *sets, size_t nsets);

#endif
