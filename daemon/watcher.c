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
#include "timer.h"

#define ALERT_CHANNEL "hotline:alerts"

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
	timer_arm(w->ev_timer, w->cfg->escalation_interval_ms);
}

/* Both marks return the same columns: one reader for both. */
_Static_assert((int)ESCALATE_DUE_SOON_C_TICKET_NO == (int)ESCALATE_OVERDUE_C_TICKET_NO &&
		       (int)ESCALATE_DUE_SOON_C_DEPT_CODE == (int)ESCALATE_OVERDUE_C_DEPT_CODE &&
		       (int)ESCALATE_DUE_SOON_C_STATE == (int)ESCALATE_OVERDUE_C_STATE &&
		       (int)ESCALATE_DUE_SOON_C_DEADLINE_MS == (int)ESCALATE_OVERDUE_C_DEADLINE_MS,
	       "escalate_due_soon.sql and escalate_overdue.sql return the same columns");

/* Publishes one alert per marked ticket and counts them. */
static void alert(struct watcher *w, const char *kind, const PGresult *res)
{
	int rows = PQntuples(res);
	for (int r = 0; r < rows; r++) {
		char msg[256];
		snprintf(msg, sizeof(msg),
			 "{\"kind\":\"%s\",\"ticket_no\":\"%s\",\"dept_code\":\"%s\","
			 "\"state\":\"%s\",\"deadline_at\":%s}",
			 kind, PQgetvalue(res, r, ESCALATE_OVERDUE_C_TICKET_NO),
			 PQgetvalue(res, r, ESCALATE_OVERDUE_C_DEPT_CODE),
			 PQgetvalue(res, r, ESCALATE_OVERDUE_C_STATE),
			 PQgetvalue(res, r, ESCALATE_OVERDUE_C_DEADLINE_MS));
		if (bus_alert(w->bus, ALERT_CHANNEL, msg) != 0)
			log_warn("watcher: Redis is down; alert for %s %s not published (the mark "
				 "and its audit row are stored)",
				 kind, PQgetvalue(res, r, ESCALATE_OVERDUE_C_TICKET_NO));
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
	const char *overdue_values[ESCALATE_OVERDUE_NPARAMS] = {
		[ESCALATE_OVERDUE_P_BATCH] = batch,
		[ESCALATE_OVERDUE_P_AT_MS] = now,
		[ESCALATE_OVERDUE_P_TIMEZONE] = w->cfg->pg_timezone,
	};
	store_pg_query(w->store, QUERY_ESCALATE_OVERDUE, overdue_values, on_overdue, w);
	if (w->cfg->due_soon_ms > 0) {
		w->inflight++;
		const char *soon_values[ESCALATE_DUE_SOON_NPARAMS] = {
			[ESCALATE_DUE_SOON_P_DUE_SOON_MS] = soon,
			[ESCALATE_DUE_SOON_P_BATCH] = batch,
			[ESCALATE_DUE_SOON_P_AT_MS] = now,
			[ESCALATE_DUE_SOON_P_TIMEZONE] = w->cfg->pg_timezone,
		};
		store_pg_query(w->store, QUERY_ESCALATE_DUE_SOON, soon_values, on_due_soon, w);
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
