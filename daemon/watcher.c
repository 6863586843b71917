/*
 * watcher.c - marks tickets due soon and overdue, once each, and raises alerts.
 *
 * One statement per mark kind: claim up to [escalation] batch rows in
 * deadline order (FOR UPDATE SKIP LOCKED, so two daemons take disjoint rows),
 * set the mark only where it is still unset (the re-check under the lock is
 * what makes it exactly once), write the audit row, and return what was
 * marked. The alert is published after the commit; a lost alert (Redis down)
 * loses nothing durable: the mark and its audit row are in PostgreSQL.
 */
#include "watcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define ALERT_CHANNEL "hotline:alerts"

/* $1 due_soon_ms, $2 batch, $3 now (unix ms, clock.h) */
static const char due_soon_sql[] =
	"WITH c AS ("
	"  SELECT ticket_id FROM tickets"
	"  WHERE state IN ('DISPATCHED', 'ACCEPTED') AND deadline_at IS NOT NULL"
	"    AND deadline_at > to_timestamp($3::float8 / 1000)"
	"    AND deadline_at <= to_timestamp(($3::int8 + $1::int8)::float8 / 1000)"
	"    AND due_soon_at IS NULL"
	"  ORDER BY deadline_at LIMIT $2 FOR UPDATE SKIP LOCKED"
	"), u AS ("
	"  UPDATE tickets t SET due_soon_at = to_timestamp($3::float8 / 1000) FROM c"
	"  WHERE t.ticket_id = c.ticket_id AND t.due_soon_at IS NULL"
	"  RETURNING t.ticket_id, t.ticket_no, t.dept_code, t.state, t.deadline_at, t.due_soon_at"
	"), e AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)"
	"  SELECT ticket_id, 'DUE_SOON', state, state, 'watcher', deadline_at::text, due_soon_at"
	"  FROM u"
	")"
	" SELECT ticket_no, COALESCE(dept_code, ''), state,"
	"   (extract(epoch FROM deadline_at) * 1000)::int8 FROM u";

/* $1 batch, $2 now (unix ms, clock.h) */
static const char overdue_sql[] =
	"WITH c AS ("
	"  SELECT ticket_id FROM tickets"
	"  WHERE state IN ('DISPATCHED', 'ACCEPTED') AND deadline_at IS NOT NULL"
	"    AND deadline_at <= to_timestamp($2::float8 / 1000) AND overdue_at IS NULL"
	"  ORDER BY deadline_at LIMIT $1 FOR UPDATE SKIP LOCKED"
	"), u AS ("
	"  UPDATE tickets t SET overdue_at = to_timestamp($2::float8 / 1000),"
	"    due_soon_at = COALESCE(t.due_soon_at, to_timestamp($2::float8 / 1000))"
	"  FROM c WHERE t.ticket_id = c.ticket_id AND t.overdue_at IS NULL"
	"  RETURNING t.ticket_id, t.ticket_no, t.dept_code, t.state, t.deadline_at, t.overdue_at"
	"), e AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)"
	"  SELECT ticket_id, 'OVERDUE', state, state, 'watcher', deadline_at::text, overdue_at"
	"  FROM u"
	")"
	" SELECT ticket_no, COALESCE(dept_code, ''), state,"
	"   (extract(epoch FROM deadline_at) * 1000)::int8 FROM u";

struct watcher {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct store_pg *store;
	struct bus *bus;
	struct event *ev_timer;
	int inflight; /* statements of this check still running */
	struct watcher_stats stats;
};

static void arm(struct watcher *w)
{
	long ms = w->cfg->escalation_interval_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(w->ev_timer, &tv);
}

/* Publishes one alert per marked ticket and counts them. */
static void alert(struct watcher *w, const char *kind, const PGresult *res)
{
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "{\"kind\":\"%s\",\"ticket_no\":\"%s\",\"dept_code\":\"%s\","
			 "\"state\":\"%s\",\"deadline_at\":%s}",
			 kind, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
			 PQgetvalue(res, r, 3));
		if (bus_alert(w->bus, ALERT_CHANNEL, msg) != 0)
			log_warn("watcher: Redis is down; alert for %s %s not published (the mark "
				 "and its audit row are stored)",
				 kind, PQgetvalue(res, r, 0));
	}
	if (rows > 0)
		log_info("watcher: %d tickets marked %s", rows, kind);
}

static void check_done(struct watcher *w)
{
	if (--w->inflight == 0)
		arm(w);
}

static void on_due_soon(void *arg, const PGresult *res, const char *error)
{
	struct watcher *w = arg;
	if (error) {
		log_warn("watcher: due-soon check failed: %s", error);
	} else {
		w->stats.due_soon += (unsigned long long)PQntuples(res);
		alert(w, "due_soon", res);
	}
	check_done(w);
}

static void on_overdue(void *arg, const PGresult *res, const char *error)
{
	struct watcher *w = arg;
	if (error) {
		log_warn("watcher: overdue check failed: %s", error);
	} else {
		w->stats.overdue += (unsigned long long)PQntuples(res);
		alert(w, "overdue", res);
	}
	check_done(w);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct watcher *w = arg;
	char batch[32], soon[32], now[32];
	snprintf(batch, sizeof(batch), "%ld", w->cfg->escalation_batch);
	snprintf(soon, sizeof(soon), "%ld", w->cfg->due_soon_ms);
	snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
	w->inflight = 1;
	const char *overdue_values[2] = { batch, now };
	store_pg_query(w->store, overdue_sql, 2, overdue_values, on_overdue, w);
	if (w->cfg->due_soon_ms > 0) {
		w->inflight++;
		const char *soon_values[3] = { soon, batch, now };
		store_pg_query(w->store, due_soon_sql, 3, soon_values, on_due_soon, w);
	}
}

struct watcher *watcher_new(struct event_base *base, const struct hotline_config *cfg,
			    struct store_pg *store, struct bus *bus)
{
	struct watcher *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->base = base;
	w->cfg = cfg;
	w->store = store;
	w->bus = bus;
	w->ev_timer = event_new(base, -1, 0, on_timer, w);
	if (!w->ev_timer) {
		free(w);
		return NULL;
	}
	return w;
}

void watcher_start(struct watcher *w)
{
	arm(w);
}

void watcher_free(struct watcher *w)
{
	if (!w)
		return;
	event_free(w->ev_timer);
	free(w);
}

void watcher_get_stats(const struct watcher *w, struct watcher_stats *out)
{
	*out = w->stats;
}
