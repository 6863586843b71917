/*
 * watcher.h - deadlines: due-soon and overdue escalation (督办).
 *
 * Owns: finding open tickets (DISPATCHED, ACCEPTED) whose deadline is near
 * ([escalation] due_soon_ms) or past, marking each once (due_soon_at,
 * overdue_at) with its audit event (DUE_SOON, OVERDUE) in the same statement,
 * then publishing an alert on Redis channel hotline:alerts and counting it.
 * With several daemons on one database each ticket is marked once: rows are
 * claimed with FOR UPDATE SKIP LOCKED and re-checked under the lock.
 * Never: changes a ticket's state (escalation is a mark and an alert; moving
 * a ticket is a supervisor's decision), or holds more than one check in flight.
 * Callers: daemon/main.c.
 */
#ifndef HOTLINE_WATCHER_H
#define HOTLINE_WATCHER_H

#include <event2/event.h>

#include "bus_redis.h"
#include "config.h"
#include "store_pg.h"

struct watcher;

struct watcher_stats {
	unsigned long long due_soon;
	unsigned long long overdue;
};

struct watcher *watcher_new(struct event_base *base, const struct hotline_config *cfg,
			    struct store_pg *store, struct bus *bus)
	__attribute__((warn_unused_result));
void watcher_free(struct watcher *w);
void watcher_start(struct watcher *w);
void watcher_get_stats(const struct watcher *w, struct watcher_stats *out);

#endif
