/*
 * metrics.h - the operations listener: /metrics (Prometheus text format),
 * /healthz and /readyz, without a token, on a listen address of their own.
 *
 * Owns: the [http] ops_listen listener (evhttp on the daemon's loop), the page
 * of metrics built from every module's counters and histograms, the backlogs
 * counted every few seconds (PostgreSQL: outbox, desk, tickets past their
 * deadline, TicketUpdates owed; Redis: each department's stream and the
 * callback queue, their length and what is held unacknowledged), and the
 * event-loop lag (a one-second heartbeat that measures how late it fires).
 * Never: blocks (a scrape reads what was last counted), needs or accepts a token
 * (bind it where only the monitoring can reach it), or shows personal data.
 * Callers: daemon/main.c.
 */
#ifndef HOTLINE_METRICS_H
#define HOTLINE_METRICS_H

#include <event2/event.h>

#include "config.h"

struct server;
struct store_pg;
struct relay;
struct bus;
struct watcher;
struct horizon;
struct http;
struct router;

/* What the page reads (borrowed; every one outlives the metrics module's use). */
struct metrics_deps {
	struct server *server;
	struct store_pg *store;
	struct relay *relay;
	struct bus *bus;
	struct watcher *watcher;
	struct horizon *horizon;
	struct http *http;
	struct router *router;
	const bool *stopping; /* the daemon is stopping: /readyz says no */
};

struct metrics;

/* Binds [http] ops_listen (empty: no listener, a module that does nothing).
 * NULL after logging why when it cannot bind. */
struct metrics *metrics_new(struct event_base *base, const struct hotline_config *cfg,
			    const struct metrics_deps *deps) __attribute__((warn_unused_result));
/* Starts the heartbeat and the backlog counts. */
void metrics_start(struct metrics *m);
/* Stops counting and listening; pages in progress are answered. Before the bus and
 * the store are freed. */
void metrics_stop(struct metrics *m);
/* After the bus and the store are freed (their callbacks may still reach it). */
void metrics_free(struct metrics *m);

#endif
