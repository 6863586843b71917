/*
 * stats_live.h - the live board: open tickets by department and state, as
 * `hotline-stats live` and GET /api/v1/stats/live show them.
 *
 * Owns: folding the rows of queries/stats_live.sql (one per department and state)
 * into the board (waiting = DISPATCHED, in hand = ACCEPTED per department; the
 * manual desk, escalations, callbacks waiting and linked tickets for the whole
 * hotline), and the board's part of the JSON document both print, so the tool and
 * the daemon show one definition of each figure.
 * Never: runs a statement, reads the clock, or prints.
 * Callers: lib/stats_rows.c (the rows), tools/stats.c (live), daemon/http_stats.c.
 */
#ifndef HOTLINE_STATS_LIVE_H
#define HOTLINE_STATS_LIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define LIVE_DEPT_CODE_MAX 72 /* a department code and its NUL */

struct live_dept {
	char dept_code[LIVE_DEPT_CODE_MAX];
	int64_t waiting, in_hand, overdue, due_soon;
	int64_t oldest_ms; /* the oldest DISPATCHED (dispatched at); 0 none */
};

struct live_board {
	struct live_dept *depts; /* in the order the rows came (by dept_code) */
	size_t ndepts;
	int64_t desk, escalated, replied, linked;
	int64_t desk_oldest_ms, escalated_oldest_ms; /* created at; 0 none */
};

/* One row of stats_live.sql. */
struct live_row {
	const char *dept_code; /* "" none */
	const char *state;     /* enum ticket_state's name */
	int64_t tickets, overdue, due_soon, oldest_ms;
};

/* Adds row to *board. Returns 0, or -1 when out of memory (the board keeps what it had). */
int live_board_add(struct live_board *board, const struct live_row *row)
	__attribute__((warn_unused_result));

/* Frees the board's departments and empties it. */
void live_board_free(struct live_board *board);

/*
 * Sets the board's members of the document doc: "departments" (dept_code, waiting,
 * in_hand, overdue, due_soon, oldest_waiting_ms each), "manual_desk", "escalated",
 * "callbacks_waiting", "linked". Returns 0, or -1 when out of memory.
 */
int live_board_json(const struct live_board *board, json_t *doc)
	__attribute__((warn_unused_result));

/* One entry of "intake": {feed_code, last_minute, last_hour}; NULL when out of memory. */
json_t *live_feed_json(const char *feed_code, int64_t last_minute, int64_t last_hour);

#endif
