/*
 * write_batch.h - which decided ticket writes share one transaction, and in what order.
 *
 * Owns: the plan of the next group commit of transitions (daemon/transition.c): how
 * many writes from the head of the queue go together, and the order they are sent
 * in: by ticket id, so that every batch locks tickets' rows in one order (two
 * batches never wait for each other in a circle), equal ids in queue order (the
 * earlier move of a ticket is written first; the later then finds the version moved
 * and decides again, as it would have alone). A write marked solo (a batch it was in
 * failed on data) goes alone, so that only the write at fault fails.
 * Never: does I/O, or knows what a write holds.
 * Callers: daemon/transition.c, tests/unit/test_write_batch.c.
 */
#ifndef HOTLINE_WRITE_BATCH_H
#define HOTLINE_WRITE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct write_batch_item {
	int64_t ticket_id;
	bool solo;
};

/*
 * items[0..n) are the queued writes in queue order. Returns k, how many from the
 * head form the next batch (0 when n or max is 0): a solo item alone, else up to
 * max items before the first solo one; order[0..k) (room for min(n, max)) receives
 * their indexes sorted by ticket_id, ties in queue order.
 */
size_t write_batch_plan(const struct write_batch_item *items, size_t n, size_t max, size_t *order);

#endif
