/*
 * server.c - listeners, the connection registry and back-pressure.
 *
 * Back-pressure: a connection reads a record only while (a) it has fewer than
 * max_conn_inflight records in flight, (b) the daemon has fewer than
 * max_inflight in all, and (c) fewer than CONN_MAX_OUTPUT reply bytes wait
 * for it to read. Otherwise it is parked on the paused list and its socket
 * buffer fills, which stops the feed: memory stays bounded however slow
 * PostgreSQL is. When records finish, one deferred event reconsiders the
 * paused connections after the current loop pass (never from inside the
 * store's callback, so nothing re-enters).
 *
 * Reaping: a closed connection whose records are still in the store stays
 * allocated (the store will call back into it) until the last one finishes;
 * then it moves to the dead list, freed by a deferred event.
 */
#include "server.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "clock.h"
#include "conn.h"
#include "log.h"
#include "prom.h"
#include "tally.h"
#include "timer.h"

TAILQ_HEAD(conn_list, conn);

/*
 * A warning that comes in bursts (connections refused, accept failing): the
 * first of a burst is logged at once, the rest are counted and summed up in one
 * line at most every BURST_LOG_MS (by the next one, or by the janitor).
 */
#define BURST_LOG_MS 10000
struct burst_log {
	int64_t last_ms;
	unsigned long suppressed;
	char last[160];
};

static void burst_log(struct burst_log *b, const char *message)
{
	int64_t now = clock_now_ms();
	if (b->last_ms != 0 && now - b->last_ms < BURST_LOG_MS) {
		b->suppressed++;
		snprintf(b->last, sizeof(b->last), "%s", message);
		return;
	}
	if (b->suppressed > 0)
		log_warn("%s (and %lu more like it in the last %d s)", message, b->suppressed,
			 BURST_LOG_MS / 1000);
	else
		log_warn("%s", message);
	b->last_ms = now;
	b->suppressed = 0;
}

/* The janitor: a burst that ended is summed up once. */
static void burst_log_flush(struct burst_log *b, int64_t now)
{
	if (b->suppressed == 0 || now - b->last_ms < BURST_LOG_MS)
		return;
	log_warn("%s (%lu times in the last %d s)", b->last, b->suppressed, BURST_LOG_MS / 1000);
	b->suppressed = 0;
	b->last_ms = now;
}

/* accept() failing for want of descriptors: listeners pause this long, doubling. */
#define ACCEPT_PAUSE_MIN_MS 100
#define ACCEPT_PAUSE_MAX_MS 1000

struct listener {
	struct evconnlistener *ev;
	enum conn_proto proto;
	struct server *server;
};

struct server {
	struct event_base *base;
	struct hotline_config *cfg;
	struct store_pg *store;
	struct bus *bus;
	struct transitions *transitions;
	struct listener listeners[2];
	struct conn_list open;	  /* HELLO, ACTIVE, DRAINING */
	struct conn_list closed;  /* CLOSED, records still in flight */
	struct conn_list dead;	  /* CLOSED, waiting to be freed */
	TAILQ_HEAD(, conn) hello; /* not authenticated yet, oldest first */
	TAILQ_HEAD(, conn) paused;
	struct event *ev_resume;
	struct event *ev_reap;
	struct event *ev_accept; /* listeners paused after EMFILE: re-enable */
	long accept_pause_ms;
	struct burst_log refused_log, accept_log, evicted_log;
	bool shutting_down;
	/* acknowledged TicketUpdates: waiting to be deleted, and in the DELETE in
	 * flight (one at a time); pulls skip both */
	struct idset acked, deleting;
	bool delete_busy;
	int64_t next_pull_ms;
	struct server_stats stats;
	struct tally tally;			/* per-feed intake counters */
	struct prom_histogram delivery_latency; /* stream entry -> department socket, s */
};

struct event_base *server_base(struct server *server)
{
	return server->base;
}

struct hotline_config *server_config(struct server *server)
{
	return server->cfg;
}

struct store_pg *server_store(struct server *server)
{
	return server->store;
}

struct bus *server_bus(struct server *server)
{
	return server->bus;
}

void server_set_transitions(struct server *server, struct transitions *t)
{
	server->transitions = t;
}

struct transitions *server_transitions(struct server *server)
{
	return server->transitions;
}

struct server_stats *server_stats_mut(struct server *server)
{
	return &server->stats;
}

static bool conn_may_read(const struct server *server, const struct conn *c)
{
	const struct hotline_config *cfg = server->cfg;
	if (c->inflight >= (size_t)cfg->max_conn_inflight)
		return false;
	/* A department's actions run one at a time: past its announced window the
	 * connection waits (back-pressure) rather than having actions refused. */
	if (c->role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT &&
	    c->nactions >= (size_t)conn_action_window(cfg))
		return false;
	if (c->role == HOTLINE__V1__ROLE__ROLE_AGENT && conn_agent_full(c))
		return false;
	if (server->stats.inflight >= (size_t)cfg->max_inflight)
		return false;
	if (c->bev && evbuffer_get_length(bufferevent_get_output(c->bev)) >= CONN_MAX_OUTPUT)
		return false;
	return true;
}

bool server_may_read(struct server *server, struct conn *c)
{
	if (conn_may_read(server, c))
		return true;
	if (!c->paused) {
		c->paused = true;
		TAILQ_INSERT_TAIL(&server->paused, c, paused_link);
		server->stats.paused++;
		server->stats.pauses++;
	}
	return false;
}

static void unpause(struct server *server, struct conn *c)
{
	if (!c->paused)
		return;
	TAILQ_REMOVE(&server->paused, c, paused_link);
	c->paused = false;
	server->stats.paused--;
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;
	struct conn *c, *next;
	for (c = TAILQ_FIRST(&server->paused); c; c = next) {
		next = TAILQ_NEXT(c, paused_link);
		if (!conn_may_read(server, c))
			continue;
		unpause(server, c);
		conn_on_readable(c); /* may pause c again: it goes to the tail */
		if (server->stats.inflight >= (size_t)server->cfg->max_inflight)
			break;
	}
}

static void schedule_resume(struct server *server)
{
	if (!TAILQ_EMPTY(&server->paused))
		event_active(server->ev_resume, EV_TIMEOUT, 0);
}

void server_record_begin(struct server *server)
{
	server->stats.inflight++;
}

void server_record_end(struct server *server)
{
	server->stats.inflight--;
	schedule_resume(server);
}

void server_output_drained(struct server *server, struct conn *c)
{
	schedule_resume(server);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;
	struct conn *c;
	while ((c = TAILQ_FIRST(&server->dead)) != NULL) {
		TAILQ_REMOVE(&server->dead, c, link);
		conn_free(c);
	}
}

static void hello_remove(struct server *server, struct conn *c)
{
	if (!c->unauthenticated)
		return;
	TAILQ_REMOVE(&server->hello, c, hello_link);
	c->unauthenticated = false;
	server->stats.unauthenticated--;
}

void server_conn_authenticated(struct server *server, struct conn *c)
{
	hello_remove(server, c);
}

void server_conn_closed(struct server *server, struct conn *c)
{
	hello_remove(server, c);
	unpause(server, c);
	TAILQ_REMOVE(&server->open, c, link);
	server->stats.connections--;
	if (c->inflight == 0) {
		TAILQ_INSERT_TAIL(&server->dead, c, link);
		event_active(server->ev_reap, EV_TIMEOUT, 0);
	} else {
		TAILQ_INSERT_TAIL(&server->closed, c, link);
	}
}

void server_conn_idle(struct server *server, struct conn *c)
{
	TAILQ_REMOVE(&server->closed, c, link);
	TAILQ_INSERT_TAIL(&server->dead, c, link);
	event_active(server->ev_reap, EV_TIMEOUT, 0);
}

/* Closes an unauthenticated connection to make room for a newer one. */
static void evict(struct server *server, struct conn *c, const char *limit, long value)
{
	char msg[160];
	snprintf(
		msg, sizeof(msg),
		"closing the oldest connection that has not said Hello (from %s): %s = %ld reached",
		c->peer_host, limit, value);
	burst_log(&server->evicted_log, msg);
	server->stats.evicted++;
	conn_close(c);
}

/*
 * Connections that have not authenticated have their own, smaller limits, so
 * that silent connections can never keep authenticated peers out: a new
 * connection from an address holding max_unauthenticated_per_address of them
 * closes that address's oldest; past max_unauthenticated in all, the oldest of
 * all goes; and at max_connections the oldest unauthenticated one makes room.
 * A real client says Hello at once and leaves this list within a round trip;
 * a silent one is the first to go. Only authenticated connections can make the
 * daemon refuse a new one.
 */
static void make_room_for_hello(struct server *server, const char *host)
{
	const struct hotline_config *cfg = server->cfg;
	struct conn *c, *oldest_same = NULL;
	long same = 0;
	TAILQ_FOREACH(c, &server->hello, hello_link)
	{
		if (strcmp(c->peer_host, host) == 0 && same++ == 0)
			oldest_same = c;
	}
	if (oldest_same && same >= cfg->max_unauthenticated_per_address)
		evict(server, oldest_same, "max_unauthenticated_per_address",
		      cfg->max_unauthenticated_per_address);
	else if (server->stats.unauthenticated >= (size_t)cfg->max_unauthenticated)
		evict(server, TAILQ_FIRST(&server->hello), "max_unauthenticated",
		      cfg->max_unauthenticated);
	if (server->stats.connections >= (size_t)cfg->max_connections &&
	    !TAILQ_EMPTY(&server->hello))
		evict(server, TAILQ_FIRST(&server->hello), "max_connections", cfg->max_connections);
}

static void on_accept(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *addr,
		      int socklen, void *arg)
{
	struct listener *l = arg;
	struct server *server = l->server;
	server->accept_pause_ms = 0; /* accept works again */
	if (server->shutting_down) {
		evutil_closesocket(fd);
		return;
	}
	char host[sizeof(((struct conn *)0)->peer_host)];
	(void)conn_addr_host(addr, host, sizeof(host));
	make_room_for_hello(server, host);
	if (server->stats.connections >= (size_t)server->cfg->max_connections) {
		server->stats.refused++;
		char msg[128];
		snprintf(msg, sizeof(msg), "refusing connections: max_connections = %ld reached",
			 server->cfg->max_connections);
		burst_log(&server->refused_log, msg);
		evutil_closesocket(fd);
		return;
	}
	struct conn *c = conn_new(server, fd, addr, l->proto);
	if (!c) {
		log_error("cannot set up a connection: out of memory");
		return;
	}
	TAILQ_INSERT_TAIL(&server->open, c, link);
	TAILQ_INSERT_TAIL(&server->hello, c, hello_link);
	c->unauthenticated = true;
	server->stats.unauthenticated++;
	server->stats.connections++;
	server->stats.accepted++;
	log_debug("conn=%llu peer=%s connected", (unsigned long long)c->id, c->peer);
}

static void set_listening(struct server *server, bool on)
{
	for (int i = 0; i < 2; i++) {
		if (!server->listeners[i].ev)
			continue;
		if (on)
			evconnlistener_enable(server->listeners[i].ev);
		else
			evconnlistener_disable(server->listeners[i].ev);
	}
}

static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct server *server = arg;
	if (!server->shutting_down)
		set_listening(server, true);
}

/*
 * accept() failed. Out of descriptors (EMFILE, ENFILE) or memory, the pending
 * connection stays in the backlog and the listener would fire again at once:
 * a loop at full CPU logging hundreds of thousands of lines a second. So the
 * listeners pause (100 ms, doubling to 1 s while it lasts) and the log line
 * comes once per burst. Anything else (a peer that gave up) is just logged.
 */
static void on_accept_error(struct evconnlistener *ev, void *arg)
{
	struct listener *l = arg;
	struct server *server = l->server;
	int err = EVUTIL_SOCKET_ERROR();
	server->stats.accept_failed++;
	char msg[160];
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		long pause =
			server->accept_pause_ms ? server->accept_pause_ms * 2 : ACCEPT_PAUSE_MIN_MS;
		if (pause > ACCEPT_PAUSE_MAX_MS)
			pause = ACCEPT_PAUSE_MAX_MS;
		server->accept_pause_ms = pause;
		snprintf(msg, sizeof(msg), "accept failed: %s; not accepting for %ld ms",
			 evutil_socket_error_to_string(err), pause);
		burst_log(&server->accept_log, msg);
		set_listening(server, false);
		timer_arm(server->ev_accept, pause);
		return;
	}
	snprintf(msg, sizeof(msg), "accept failed: %s", evutil_socket_error_to_string(err));
	burst_log(&server->accept_log, msg);
}

static int listen_on(struct server *server, struct listener *l, const char *what,
		     const char *address, enum conn_proto proto)
{
	l->server = server;
	l->proto = proto;
	if (address[0] == '\0')
		return 0;
	char host[256], port[16];
	int portnum;
	if (config_parse_hostport(address, host, sizeof(host), &portnum) != 0) {
		log_error("%s: '%s' is not host:port", what, address);
		return -1;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	struct evutil_addrinfo hints = { 0 }, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = EVUTIL_AI_PASSIVE;
	int rc = evutil_getaddrinfo(host, port, &hints, &ai);
	if (rc != 0) {
		log_error("%s: cannot resolve '%s': %s", what, host, evutil_gai_strerror(rc));
		return -1;
	}
	l->ev = evconnlistener_new_bind(server->base, on_accept, l,
					LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						LEV_OPT_CLOSE_ON_EXEC,
					1024, ai->ai_addr, (int)ai->ai_addrlen);
	evutil_freeaddrinfo(ai);
	if (!l->ev) {
		log_error("%s: cannot listen on %s: %s", what, address, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(l->ev, on_accept_error);
	log_info("listening on %s (%s)", address, what);
	return 0;
}

struct server *server_new(struct event_base *base, struct hotline_config *cfg,
			  struct store_pg *store, struct bus *bus)
{
	struct server *server = calloc(1, sizeof(*server));
	if (!server)
		return NULL;
	server->base = base;
	server->cfg = cfg;
	server->store = store;
	server->bus = bus;
	tally_init(&server->tally);
	prom_histogram_init(&server->delivery_latency, prom_latency_bounds, prom_latency_nbounds);
	TAILQ_INIT(&server->open);
	TAILQ_INIT(&server->closed);
	TAILQ_INIT(&server->dead);
	TAILQ_INIT(&server->paused);
	TAILQ_INIT(&server->hello);
	server->ev_resume = event_new(base, -1, 0, on_resume, server);
	server->ev_reap = event_new(base, -1, 0, on_reap, server);
	server->ev_accept = event_new(base, -1, 0, on_accept_resume, server);
	if (!server->ev_resume || !server->ev_reap || !server->ev_accept ||
	    listen_on(server, &server->listeners[0], "binary", cfg->listen_binary,
		      CONN_PROTO_BINARY) != 0 ||
	    listen_on(server, &server->listeners[1], "json-lines", cfg->listen_json,
		      CONN_PROTO_JSON) != 0) {
		server_free(server);
		return NULL;
	}
	return server;
}

static void close_listeners(struct server *server)
{
	for (int i = 0; i < 2; i++) {
		if (server->listeners[i].ev) {
			evconnlistener_free(server->listeners[i].ev);
			server->listeners[i].ev = NULL;
		}
	}
}

void server_free(struct server *server)
{
	if (!server)
		return;
	close_listeners(server);
	struct conn *c;
	while ((c = TAILQ_FIRST(&server->open)) != NULL)
		conn_close(c); /* moves it to closed or dead */
	/* At exit: records still in the store are freed by store_pg_free. */
	while ((c = TAILQ_FIRST(&server->closed)) != NULL) {
		TAILQ_REMOVE(&server->closed, c, link);
		conn_free(c);
	}
	on_reap(-1, 0, server);
	if (server->ev_resume)
		event_free(server->ev_resume);
	if (server->ev_reap)
		event_free(server->ev_reap);
	if (server->ev_accept)
		event_free(server->ev_accept);
	idset_free(&server->acked);
	idset_free(&server->deleting);
	tally_free(&server->tally);
	free(server);
}

#define ACKED_FLUSH_AT 1000 /* acknowledged updates that make a DELETE before the tick */

static void flush_acked_updates(struct server *server);

static void on_updates_deleted(void *arg, const PGresult *res, const char *error)
{
	struct server *server = arg;
	server->delete_busy = false;
	/* Failed (a data error: transient ones are retried by the store): the updates
	 * stay in feed_updates and are sent again, to be acknowledged again. */
	if (error)
		log_warn("deleting acknowledged TicketUpdates failed (they may be sent again): %s",
			 error);
	idset_clear(&server->deleting);
	if (server->acked.n >= ACKED_FLUSH_AT)
		flush_acked_updates(server);
}

static void flush_acked_updates(struct server *server)
{
	if (server->acked.n == 0 || server->delete_busy)
		return;
	struct idset swap = server->deleting;
	server->deleting = server->acked;
	server->acked = swap;
	idset_clear(&server->acked);
	const struct idset *sets[1] = { &server->deleting };
	char *ids = idset_pg_array(sets, 1);
	if (!ids) {
		log_error("out of memory deleting acknowledged TicketUpdates (they may be sent "
			  "again)");
		idset_clear(&server->deleting);
		return;
	}
	const char *values[UPDATES_DELETE_NPARAMS] = { [UPDATES_DELETE_P_UPDATE_IDS] = ids };
	server->delete_busy = true;
	store_pg_query(server->store, QUERY_UPDATES_DELETE, values, on_updates_deleted, server);
	free(ids);
}

void server_update_acked(struct server *server, struct conn *acker, long long update_id)
{
	if (idset_add(&server->acked, update_id) != 0) {
		log_error("out of memory recording an acknowledged TicketUpdate");
		return; /* it stays in feed_updates: sent again, acknowledged again */
	}
	struct conn *c, *next;
	for (c = TAILQ_FIRST(&server->open); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c != acker && c->state == CONN_ACTIVE &&
		    c->role == HOTLINE__V1__ROLE__ROLE_FEED &&
		    strcmp(c->feed_code, acker->feed_code) == 0)
			conn_update_delivered(c, update_id);
	}
	if (server->acked.n >= ACKED_FLUSH_AT)
		flush_acked_updates(server);
}

bool server_update_is_acked(const struct server *server, long long update_id)
{
	return idset_has(&server->acked, update_id) || idset_has(&server->deleting, update_id);
}

void server_updates_acked_sets(const struct server *server, const struct idset **waiting,
			       const struct idset **deleting)
{
	*waiting = &server->acked;
	*deleting = &server->deleting;
}

void server_feed_updates(struct server *server, const char *feed_code)
{
	struct conn *c;
	TAILQ_FOREACH(c, &server->open, link)
	if (c->state == CONN_ACTIVE && c->role == HOTLINE__V1__ROLE__ROLE_FEED &&
	    strcmp(c->feed_code, feed_code) == 0)
		conn_updates_pull(c);
}

void server_janitor(struct server *server, int64_t now_ms)
{
	long timeout = server->cfg->hello_timeout_ms;
	bool pull = now_ms >= server->next_pull_ms;
	if (pull)
		server->next_pull_ms = now_ms + server->cfg->update_poll_ms;
	struct conn *c, *next;
	for (c = TAILQ_FIRST(&server->open); c; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state == CONN_HELLO && now_ms - c->opened_ms > timeout) {
			log_info("conn=%llu peer=%s closed: no Hello within %ld ms",
				 (unsigned long long)c->id, c->peer, timeout);
			conn_close(c);
		} else if (pull && c->state == CONN_ACTIVE &&
			   c->role == HOTLINE__V1__ROLE__ROLE_FEED) {
			/* Updates written by other daemons reach us this way. */
			conn_updates_pull(c);
		}
	}
	flush_acked_updates(server);
	burst_log_flush(&server->refused_log, now_ms);
	burst_log_flush(&server->accept_log, now_ms);
	burst_log_flush(&server->evicted_log, now_ms);
}

void server_begin_shutdown(struct server *server)
{
	server->shutting_down = true;
	close_listeners(server);
	struct conn *c, *next;
	for (c = TAILQ_FIRST(&server->open); c; c = next) {
		next = TAILQ_NEXT(c, link);
		unpause(server, c);
		if (c->state == CONN_HELLO)
			conn_close(c);
		else
			conn_begin_drain(c);
	}
}

void server_get_stats(const struct server *server, struct server_stats *out)
{
	*out = server->stats;
}

struct tally *server_tally(struct server *server)
{
	return &server->tally;
}

/* How often, at most, a feed over its max_rate is logged (with the count since). */
#define RATE_LOG_INTERVAL_MS 10000

bool server_feed_within_rate(struct server *server, const struct feed_config *feed, long *burst)
{
	int64_t now = clock_mono_us() / 1000; /* a rate: immune to the wall clock's steps */
	*burst = feed->burst > 0 ? feed->burst : 2 * feed->max_rate;
	if (feed->max_rate <= 0)
		return true;
	struct feed_tally *t = tally_feed(&server->tally, feed->code);
	if (!t || rate_take(&t->bucket, feed->max_rate, *burst, now))
		return true;
	t->limited++;
	if (t->limited_logged == 0 || now - t->limited_logged_ms >= RATE_LOG_INTERVAL_MS) {
		log_warn("feed=%s over its max_rate (%ld records/s, burst %ld): %llu records "
			 "refused since the last warning (told to try again later)",
			 feed->code, feed->max_rate, *burst,
			 (unsigned long long)(t->limited - t->limited_logged));
		t->limited_logged_ms = now;
		t->limited_logged = t->limited;
	}
	return false;
}

struct prom_histogram *server_delivery_latency(struct server *server)
{
	return &server->delivery_latency;
}

size_t server_count_id(const struct server *server, int role, const char *code)
{
	size_t n = 0;
	const struct conn *c;
	TAILQ_FOREACH(c, &server->open, link)
	{
		if (c->state == CONN_HELLO || (int)c->role != role)
			continue;
		const char *mine =
			role == HOTLINE__V1__ROLE__ROLE_DEPARTMENT ? c->dept_code : c->feed_code;
		n += strcmp(mine, code) == 0;
	}
	return n;
}

void server_count_roles(const struct server *server, size_t counts[SERVER_ROLES])
{
	memset(counts, 0, SERVER_ROLES * sizeof(counts[0]));
	const struct conn *c;
	TAILQ_FOREACH(c, &server->open, link)
	{
		int role = c->state == CONN_HELLO ? 0 : (int)c->role;
		counts[role >= 0 && role < SERVER_ROLES ? role : 0]++;
	}
}
