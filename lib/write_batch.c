/*
 * write_batch.c - the plan of one group commit of ticket writes (write_batch.h).
 */
#include "write_batch.h"

size_t write_batch_plan(const struct write_batch_item *items, size_t n, size_t max, size_t *order)
{
	if (n == 0 || max == 0)
		return 0;
	size_t k = 0;
	if (items[0].solo) {
		order[k++] = 0;
		return k;
	}
	while (k < n && k < max && !items[k].solo) {
		/* insertion sort: stable, and a batch is a few hundred writes at most */
		size_t at = k;
		while (at > 0 && items[order[at - 1]].ticket_id > items[k].ticket_id) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = k;
		k++;
	}
	return k;
}
