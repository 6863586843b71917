/*
 * stats_live.c - the live board folded from stats_live.sql's rows (see stats_live.h).
 *
 * Pure: rows in, the board and its JSON out.
 */
#include "stats_live.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The department dept_code of the board, added when new; NULL when out of memory. */
static struct live_dept *board_dept(struct live_board *b, const char *dept_code)
{
	for (size_t i = 0; i < b->ndepts; i++)
		if (strcmp(b->depts[i].dept_code, dept_code) == 0)
			return &b->depts[i];
	struct live_dept *grown = realloc(b->depts, (b->ndepts + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	b->depts = grown;
	struct live_dept *d = &b->depts[b->ndepts++];
	memset(d, 0, sizeof(*d));
	snprintf(d->dept_code, sizeof(d->dept_code), "%s", dept_code);
	return d;
}

int live_board_add(struct live_board *b, const struct live_row *row)
{
	const char *state = row->state;
	if (strcmp(state, "PENDING_DISPATCH") == 0) {
		b->desk += row->tickets;
		b->desk_oldest_ms = row->oldest_ms;
	} else if (strcmp(state, "ESCALATED") == 0) {
		b->escalated += row->tickets;
		b->escalated_oldest_ms = row->oldest_ms;
	} else if (strcmp(state, "REPLIED") == 0) {
		b->replied += row->tickets;
	} else if (strcmp(state, "LINKED") == 0) {
		b->linked += row->tickets;
	} else if (strcmp(state, "DISPATCHED") == 0 || strcmp(state, "ACCEPTED") == 0) {
		struct live_dept *d = board_dept(b, row->dept_code);
		if (!d)
			return -1;
		if (state[0] == 'D') {
			d->waiting += row->tickets;
			d->oldest_ms = row->oldest_ms;
		} else {
			d->in_hand += row->tickets;
		}
		d->overdue += row->overdue;
		d->due_soon += row->due_soon;
	}
	return 0;
}

void live_board_free(struct live_board *b)
{
	free(b->depts);
	memset(b, 0, sizeof(*b));
}

int live_board_json(const struct live_board *b, json_t *doc)
{
	json_t *depts = json_array();
	int rc = depts ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < b->ndepts; i++) {
		const struct live_dept *d = &b->depts[i];
		rc = json_array_append_new(
			depts, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "dept_code",
					 d->dept_code, "waiting", (json_int_t)d->waiting, "in_hand",
					 (json_int_t)d->in_hand, "overdue", (json_int_t)d->overdue,
					 "due_soon", (json_int_t)d->due_soon, "oldest_waiting_ms",
					 (json_int_t)d->oldest_ms));
	}
	if (json_object_set_new(doc, "departments", depts) != 0 || rc != 0)
		return -1;
	const struct {
		const char *name;
		int64_t value;
	} counts[] = {
		{ "manual_desk", b->desk },
		{ "escalated", b->escalated },
		{ "callbacks_waiting", b->replied },
		{ "linked", b->linked },
	};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		if (json_object_set_new(doc, counts[i].name, json_integer(counts[i].value)) != 0)
			return -1;
	return 0;
}

json_t *live_feed_json(const char *feed_code, int64_t last_minute, int64_t last_hour)
{
	return json_pack("{s:s, s:I, s:I}", "feed_code", feed_code, "last_minute",
			 (json_int_t)last_minute, "last_hour", (json_int_t)last_hour);
}
