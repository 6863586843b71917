/*
 * metrics.c - /metrics, /healthz and /readyz on the operations listener.
 *
 * A scrape never waits: counters and histograms are read from their modules
 * as they stand, and the backlogs (which cost a statement and a Redis script)
 * are counted every REFRESH_MS and shown as last counted, with their age. The
 * loop's health is measured by a heartbeat timer: how late it fires is how long
 * the loop was busy; the worst lag of the last LAG_WINDOW beats is shown, and
 * over UNHEALTHY_LAG_MS /healthz says so.
 */
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_redis.h"
#include "clock.h"
#include "horizon.h"
#include "http.h"
#include "http_routes.h"
#include "log.h"
#include "pgtext.h"
#include "prom.h"
#include "queries.h"
#include "relay.h"
#include "router.h"
#include "server.h"
#include "store_pg.h"
#include "tally.h"
#include "transition.h"
#include "timer.h"
#include "watcher.h"

#define REFRESH_MS 5000
#define HEARTBEAT_MS 1000
#define LAG_WINDOW 30
#define UNHEALTHY_LAG_MS 5000
#define CALLBACKS_GROUP "agents"

struct stream_depth {
	char stream[CODE_MAX + 16];
	char label[CODE_MAX + 1];
	long long length, pending;
};

struct metrics {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct metrics_deps deps;
	struct evhttp *evhttp;
	struct event *ev_heartbeat, *ev_refresh;
	bool stopped;
	int64_t last_beat_us;
	int64_t lag_ms[LAG_WINDOW];
	size_t lag_next;
	/* PostgreSQL's backlogs, as last counted */
	bool pg_busy, pg_known;
	int64_t pg_at_us;
	long long outbox_rows, outbox_tickets, pending_dispatch, escalated, past_deadline,
		updates_owed;
	/* Redis's: the departments' streams, then the callback queue */
	bool redis_busy, redis_known;
	int64_t redis_at_us;
	struct stream_depth *depths;
	size_t ndepths;
};

/* ---- counting ------------------------------------------------------------- */

static void on_gauges(void *arg, const PGresult *res, const char *error)
{
	struct metrics *m = arg;
	m->pg_busy = false;
	if (error || PQntuples(res) != 1) {
		log_debug("metrics: counting the backlogs failed: %s", error ? error : "no row");
		return;
	}
	long long *fields[] = { &m->outbox_rows, &m->outbox_tickets, &m->pending_dispatch,
				&m->escalated,	 &m->past_deadline,  &m->updates_owed };
	_Static_assert(METRICS_GAUGES_NCOLUMNS == 6, "metrics_gauges.sql's columns");
	for (int i = 0; i < METRICS_GAUGES_NCOLUMNS; i++) {
		int64_t v = 0;
		if (pgtext_int64(PQgetvalue(res, 0, i), &v) != 0)
			return;
		*fields[i] = v;
	}
	m->pg_known = true;
	m->pg_at_us = clock_mono_us();
}

/* The streams being counted: what the last request asked, in its order. */
struct depths_req {
	struct metrics *m;
	struct stream_depth *depths;
	size_t n;
};

static void on_depths(void *arg, const long long *values)
{
	struct depths_req *req = arg;
	struct metrics *m = req->m;
	m->redis_busy = false;
	if (values) {
		for (size_t i = 0; i < req->n; i++) {
			req->depths[i].length = values[2 * i];
			req->depths[i].pending = values[2 * i + 1];
		}
		free(m->depths);
		m->depths = req->depths;
		m->ndepths = req->n;
		m->redis_known = true;
		m->redis_at_us = clock_mono_us();
	} else {
		free(req->depths);
	}
	free(req);
}

static void count_streams(struct metrics *m)
{
	size_t n = m->cfg->ndepts + 1;
	struct depths_req *req = malloc(sizeof(*req));
	struct stream_depth *depths = calloc(n, sizeof(*depths));
	const char **streams = calloc(n, sizeof(*streams));
	const char **groups = calloc(n, sizeof(*groups));
	if (req && depths && streams && groups) {
		for (size_t i = 0; i < m->cfg->ndepts; i++) {
			const char *code = m->cfg->depts[i].code;
			snprintf(depths[i].stream, sizeof(depths[i].stream), "hotline:dept:%s",
				 code);
			snprintf(depths[i].label, sizeof(depths[i].label), "%s", code);
			groups[i] = BUS_GROUP;
		}
		snprintf(depths[n - 1].stream, sizeof(depths[n - 1].stream), "%s",
			 BUS_CALLBACKS_STREAM);
		groups[n - 1] = CALLBACKS_GROUP;
		for (size_t i = 0; i < n; i++)
			streams[i] = depths[i].stream;
		*req = (struct depths_req){ m, depths, n };
		if (bus_stream_depths(m->deps.bus, streams, groups, n, on_depths, req) == 0) {
			m->redis_busy = true;
			req = NULL;
			depths = NULL;
		}
	}
	free(req);
	free(depths);
	free(streams);
	free(groups);
}

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;
	if (m->stopped)
		return;
	if (!m->pg_busy) {
		char now[24];
		snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
		const char *values[METRICS_GAUGES_NPARAMS] = { [METRICS_GAUGES_P_NOW_MS] = now };
		m->pg_busy = true;
		store_pg_query(m->deps.store, QUERY_METRICS_GAUGES, values, on_gauges, m);
	}
	if (!m->redis_busy)
		count_streams(m);
	timer_arm(m->ev_refresh, REFRESH_MS);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct metrics *m = arg;
	int64_t now = clock_mono_us();
	int64_t late_ms = (now - m->last_beat_us) / 1000 - HEARTBEAT_MS;
	m->lag_ms[m->lag_next++ % LAG_WINDOW] = late_ms > 0 ? late_ms : 0;
	m->last_beat_us = now;
	if (!m->stopped)
		timer_arm(m->ev_heartbeat, HEARTBEAT_MS);
}

/* The worst lag of the last LAG_WINDOW beats, counting the beat now overdue. */
static int64_t loop_lag_ms(const struct metrics *m)
{
	int64_t worst = (clock_mono_us() - m->last_beat_us) / 1000 - HEARTBEAT_MS;
	for (size_t i = 0; i < LAG_WINDOW; i++)
		if (m->lag_ms[i] > worst)
			worst = m->lag_ms[i];
	return worst > 0 ? worst : 0;
}

/* ---- the page -------------------------------------------------------------- */

static void counter(struct prom *p, const char *name, const char *help, double value)
{
	prom_family(p, name, "counter", help);
	prom_sample(p, name, NULL, 0, value);
}

static void gauge(struct prom *p, const char *name, const char *help, double value)
{
	prom_family(p, name, "gauge", help);
	prom_sample(p, name, NULL, 0, value);
}

static void write_intake(struct prom *p, struct metrics *m)
{
	static const struct {
		const char *name, *help;
		size_t offset;
	} per_feed[] = {
		{ "hotline_intake_records_total", "Intake records submitted to the store, by feed.",
		  offsetof(struct feed_tally, records) },
		{ "hotline_intake_acked_total",
		  "Intake records committed and acknowledged, by feed.",
		  offsetof(struct feed_tally, acked) },
		{ "hotline_intake_duplicates_total",
		  "Acknowledged records that were resends of a stored one, by feed.",
		  offsetof(struct feed_tally, duplicates) },
		{ "hotline_intake_invalid_total", "Records refused by validation, by feed.",
		  offsetof(struct feed_tally, invalid) },
		{ "hotline_intake_failed_total", "Records the store could not take, by feed.",
		  offsetof(struct feed_tally, failed) },
		{ "hotline_intake_rate_limited_total",
		  "Records refused because the feed was over its max_rate, by feed.",
		  offsetof(struct feed_tally, limited) },
	};
	const struct tally *t = server_tally(m->deps.server);
	for (size_t k = 0; k < sizeof(per_feed) / sizeof(per_feed[0]); k++) {
		prom_family(p, per_feed[k].name, "counter", per_feed[k].help);
		for (size_t i = 0; i < t->nfeeds; i++) {
			const struct feed_tally *row = &t->feeds[i];
			struct prom_label l = { "feed", row->feed_code };
			uint64_t v = *(const uint64_t *)((const char *)row + per_feed[k].offset);
			prom_sample(p, per_feed[k].name, &l, 1, (double)v);
		}
	}
	const struct prom_histogram *batch, *commit;
	store_pg_histograms(m->deps.store, &batch, &commit);
	prom_family(p, "hotline_intake_batch_records", "histogram",
		    "Records per intake transaction (group commit).");
	prom_histogram_write(p, "hotline_intake_batch_records", NULL, 0, batch);
	prom_family(p, "hotline_intake_commit_seconds", "histogram",
		    "Seconds from a record's submission to the store to its commit.");
	prom_histogram_write(p, "hotline_intake_commit_seconds", NULL, 0, commit);
}

static void write_flow(struct prom *p, struct metrics *m)
{
	struct relay_stats rs;
	struct bus_stats bs;
	struct watcher_stats ws;
	relay_get_stats(m->deps.relay, &rs);
	bus_get_stats(m->deps.bus, &bs);
	watcher_get_stats(m->deps.watcher, &ws);
	counter(p, "hotline_published_total", "Tickets the relay published to Redis streams.",
		(double)rs.published);
	counter(p, "hotline_swept_total", "Tickets the relay took from the outbox by sweeping.",
		(double)rs.swept);
	prom_family(p, "hotline_publish_seconds", "histogram",
		    "Seconds from commit to the ticket in its stream (published from memory).");
	prom_histogram_write(p, "hotline_publish_seconds", NULL, 0,
			     relay_publish_latency(m->deps.relay));
	prom_family(p, "hotline_delivery_seconds", "histogram",
		    "Seconds from a stream entry to its ticket going out to the department.");
	prom_histogram_write(p, "hotline_delivery_seconds", NULL, 0,
			     server_delivery_latency(m->deps.server));
	counter(p, "hotline_department_acks_total", "Deliveries departments acknowledged.",
		(double)bs.acked);
	prom_family(p, "hotline_escalations_total", "counter",
		    "Deadline escalations (督办) raised, by kind.");
	struct prom_label soon = { "kind", "due_soon" }, over = { "kind", "overdue" };
	prom_sample(p, "hotline_escalations_total", &soon, 1, (double)ws.due_soon);
	prom_sample(p, "hotline_escalations_total", &over, 1, (double)ws.overdue);
	gauge(p, "hotline_rules_version", "The routing rule set in force.",
	      (double)bs.rules_version);
	gauge(p, "hotline_calendar_days_left",
	      "Days until the working-day calendar's last known day.",
	      (double)horizon_days_left(m->deps.horizon));
}

static void write_backlogs(struct prom *p, struct metrics *m)
{
	if (m->pg_known) {
		gauge(p, "hotline_outbox_rows", "Outbox rows not yet published.",
		      (double)m->outbox_rows);
		gauge(p, "hotline_outbox_tickets", "Tickets in outbox rows not yet published.",
		      (double)m->outbox_tickets);
		prom_family(p, "hotline_desk_tickets", "gauge",
			    "Tickets waiting for a person on the desk, by state.");
		struct prom_label pd = { "state", "PENDING_DISPATCH" },
				  es = { "state", "ESCALATED" };
		prom_sample(p, "hotline_desk_tickets", &pd, 1, (double)m->pending_dispatch);
		prom_sample(p, "hotline_desk_tickets", &es, 1, (double)m->escalated);
		gauge(p, "hotline_past_deadline_tickets",
		      "Tickets held by a department past their deadline.",
		      (double)m->past_deadline);
		gauge(p, "hotline_updates_owed", "TicketUpdates owed to feeds, not acknowledged.",
		      (double)m->updates_owed);
		gauge(p, "hotline_postgres_backlogs_age_seconds",
		      "Seconds since the PostgreSQL backlogs above were counted.",
		      (double)(clock_mono_us() - m->pg_at_us) / 1e6);
	}
	if (!m->redis_known)
		return;
	prom_family(p, "hotline_stream_length", "gauge",
		    "Entries in a department's stream (delivered or not), by department.");
	for (size_t i = 0; i + 1 < m->ndepths; i++) {
		struct prom_label l = { "dept", m->depths[i].label };
		prom_sample(p, "hotline_stream_length", &l, 1, (double)m->depths[i].length);
	}
	prom_family(p, "hotline_stream_pending", "gauge",
		    "Entries delivered to a department and not acknowledged, by department.");
	for (size_t i = 0; i + 1 < m->ndepths; i++) {
		struct prom_label l = { "dept", m->depths[i].label };
		prom_sample(p, "hotline_stream_pending", &l, 1, (double)m->depths[i].pending);
	}
	const struct stream_depth *cb = &m->depths[m->ndepths - 1];
	gauge(p, "hotline_callbacks_queued", "Callbacks (回访) in the queue, claimed or not.",
	      (double)cb->length);
	gauge(p, "hotline_callbacks_claimed", "Callbacks claimed by agents and not finished.",
	      (double)cb->pending);
	gauge(p, "hotline_redis_backlogs_age_seconds",
	      "Seconds since the Redis backlogs above were counted.",
	      (double)(clock_mono_us() - m->redis_at_us) / 1e6);
}

static void write_health(struct prom *p, struct metrics *m)
{
	struct store_pg_stats ps;
	struct server_stats ss;
	store_pg_get_stats(m->deps.store, &ps);
	server_get_stats(m->deps.server, &ss);
	gauge(p, "hotline_postgres_up", "1 while a PostgreSQL connection is ready.",
	      ps.connections_ready > 0);
	gauge(p, "hotline_redis_up", "1 while Redis is connected and its data verified.",
	      bus_connected(m->deps.bus));
	struct bus_stats bs;
	bus_get_stats(m->deps.bus, &bs);
	counter(p, "hotline_redis_rebuilds_total",
		"Rebuilds of Redis from PostgreSQL this daemon claimed (data lost, or another "
		"server's).",
		(double)bs.rebuilds);
	counter(p, "hotline_redis_failovers_total",
		"New primaries the sentinels named (failovers followed).", (double)bs.failovers);
	gauge(p, "hotline_loop_lag_seconds",
	      "The event loop's worst lateness over the last 30 seconds.",
	      (double)loop_lag_ms(m) / 1e3);
	size_t roles[SERVER_ROLES];
	server_count_roles(m->deps.server, roles);
	static const char *const role_names[SERVER_ROLES] = { "unauthenticated", "feed",
							      "department", "agent" };
	prom_family(p, "hotline_connections", "gauge",
		    "Open binary and JSON-lines connections, by role.");
	for (int i = 0; i < SERVER_ROLES; i++) {
		struct prom_label l = { "role", role_names[i] };
		prom_sample(p, "hotline_connections", &l, 1, (double)roles[i]);
	}
	counter(p, "hotline_connections_refused_total",
		"Connections closed at once: over max_connections.", (double)ss.refused);
	gauge(p, "hotline_intake_inflight", "Intake records queued or in a transaction.",
	      (double)store_pg_pending(m->deps.store));
	struct transition_stats ts;
	transitions_get_stats(server_transitions(m->deps.server), &ts);
	counter(p, "hotline_transition_commits_total",
		"Transactions of ticket moves (department actions, callbacks, rulings) committed: "
		"the group commit of transitions.",
		(double)ts.batches);
	counter(p, "hotline_transition_writes_total",
		"Ticket moves written in them (one that found its ticket changed included).",
		(double)ts.writes);
	gauge(p, "hotline_transition_batch_max", "The most ticket moves one transaction held.",
	      (double)ts.batch_max);
	counter(p, "hotline_transition_splits_total",
		"Batches of moves that failed on data and were sent again one move at a time.",
		(double)ts.split);
	gauge(p, "hotline_transition_queued", "Ticket moves and reads waiting for a transaction.",
	      (double)(ts.queued + ts.reads_queued));
	prom_family(p, "hotline_http_requests_total", "counter",
		    "HTTP API requests answered, by route and status.");
	for (size_t r = 0; r <= http_route_count(); r++) {
		for (size_t k = 0; k < HTTP_STATUS_KINDS; k++) {
			uint64_t n = http_answered(m->deps.http, r, k);
			if (n == 0)
				continue;
			char code[8];
			snprintf(code, sizeof(code), "%d", http_statuses[k]);
			struct prom_label l[2] = { { "route", r ? http_route_at(r - 1)->label
								: "unmatched" },
						   { "code", http_statuses[k] ? code : "other" } };
			prom_sample(p, "hotline_http_requests_total", l, 2, (double)n);
		}
	}
}

/* ---- the endpoints ----------------------------------------------------------- */

static void send_page(struct evhttp_request *req, int status, const char *type, const char *body,
		      size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
	evhttp_add_header(headers, "Content-Type", type);
	evhttp_add_header(headers, "Cache-Control", "no-store");
	if (buf)
		evbuffer_add(buf, body, len);
	evhttp_send_reply(req, status,
			  status == 200	  ? "OK"
			  : status == 404 ? "Not Found"
			  : status == 405 ? "Method Not Allowed"
					  : "Service Unavailable",
			  buf);
	if (buf)
		evbuffer_free(buf);
}

static void send_metrics(struct evhttp_request *req, struct metrics *m)
{
	struct prom p;
	prom_init(&p);
	write_health(&p, m);
	write_intake(&p, m);
	write_flow(&p, m);
	write_backlogs(&p, m);
	if (p.failed)
		send_page(req, 503, "text/plain; charset=utf-8", "out of memory\n", 14);
	else
		send_page(req, 200, "text/plain; version=0.0.4; charset=utf-8", p.buf, p.len);
	prom_free(&p);
}

/* /healthz: PostgreSQL and Redis reachable, the loop not stalled. /readyz: and the
 * rule set known (intake can be routed) and not stopping. */
static void send_health(struct evhttp_request *req, struct metrics *m, bool ready_check)
{
	struct store_pg_stats ps;
	store_pg_get_stats(m->deps.store, &ps);
	bool pg = ps.connections_ready > 0, redis = bus_connected(m->deps.bus);
	int64_t lag = loop_lag_ms(m);
	bool ok = pg && redis && lag < UNHEALTHY_LAG_MS;
	bool rules = router_ready(m->deps.router);
	bool stopping = m->deps.stopping && *m->deps.stopping;
	if (ready_check)
		ok = ok && rules && !stopping;
	char body[256];
	int n = snprintf(body, sizeof(body),
			 "{\"status\":\"%s\",\"postgres\":%s,\"redis\":%s,\"loop_lag_ms\":%lld"
			 "%s%s%s}\n",
			 ok ? "ok" : "unavailable", pg ? "true" : "false", redis ? "true" : "false",
			 (long long)lag, ready_check ? ",\"rules\":" : "",
			 ready_check ? (rules ? "true" : "false") : "",
			 ready_check ? (stopping ? ",\"stopping\":true" : ",\"stopping\":false")
				     : "");
	send_page(req, ok ? 200 : 503, "application/json; charset=utf-8", body, (size_t)n);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct metrics *m = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		static const char body[] = "only GET\n";
		send_page(req, 405, "text/plain; charset=utf-8", body, sizeof(body) - 1);
		return;
	}
	if (path && strcmp(path, "/metrics") == 0)
		send_metrics(req, m);
	else if (path && strcmp(path, "/healthz") == 0)
		send_health(req, m, false);
	else if (path && strcmp(path, "/readyz") == 0)
		send_health(req, m, true);
	else {
		static const char body[] = "not found: /metrics, /healthz, /readyz\n";
		send_page(req, 404, "text/plain; charset=utf-8", body, sizeof(body) - 1);
	}
}

/* ---- lifecycle ----------------------------------------------------------------- */

struct metrics *metrics_new(struct event_base *base, const struct hotline_config *cfg,
			    const struct metrics_deps *deps)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->base = base;
	m->cfg = cfg;
	m->deps = *deps;
	if (cfg->http_ops_listen[0] == '\0')
		return m;
	char host[256];
	int port;
	m->ev_heartbeat = event_new(base, -1, 0, on_heartbeat, m);
	m->ev_refresh = event_new(base, -1, 0, on_refresh, m);
	m->evhttp = evhttp_new(base);
	if (!m->ev_heartbeat || !m->ev_refresh || !m->evhttp ||
	    config_parse_hostport(cfg->http_ops_listen, host, sizeof(host), &port) != 0 ||
	    !evhttp_bind_socket_with_handle(m->evhttp, host, (uint16_t)port)) {
		log_error("metrics: cannot listen on %s", cfg->http_ops_listen);
		metrics_free(m);
		return NULL;
	}
	evhttp_set_max_headers_size(m->evhttp, 8192);
	evhttp_set_max_body_size(m->evhttp, 0);
	evhttp_set_timeout(m->evhttp, 10);
	evhttp_set_gencb(m->evhttp, on_request, m);
	log_info("listening on %s (metrics, healthz, readyz)", cfg->http_ops_listen);
	return m;
}

void metrics_start(struct metrics *m)
{
	if (!m->evhttp)
		return;
	m->last_beat_us = clock_mono_us();
	timer_arm(m->ev_heartbeat, HEARTBEAT_MS);
	timer_arm(m->ev_refresh, 0);
}

void metrics_stop(struct metrics *m)
{
	m->stopped = true;
	if (m->ev_refresh)
		event_del(m->ev_refresh);
	if (m->ev_heartbeat)
		event_del(m->ev_heartbeat);
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	if (m->evhttp)
		evhttp_free(m->evhttp);
	if (m->ev_heartbeat)
		event_free(m->ev_heartbeat);
	if (m->ev_refresh)
		event_free(m->ev_refresh);
	free(m->depths);
	free(m);
}
