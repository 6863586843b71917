/*
 * server.h - hotlined's listeners, connection registry and back-pressure.
 *
 * Owns: the binary and JSON-lines listeners, the list of open connections,
 * the global count of records in flight and the rule for when a connection
 * may read (its own window, the global window, its unread replies), resuming
 * paused connections, reaping closed ones after the loop pass, hello timeouts,
 * the graceful drain on shutdown, the feed connections' periodic TicketUpdate
 * pulls (update_poll_ms) and the TicketUpdates acknowledged and not yet deleted.
 * Never: parses a frame (conn*.c), or runs any statement except the batched
 * delete of acknowledged TicketUpdates (through store_pg_query).
 * Callers: daemon/main.c; daemon/conn*.c for the accounting calls, the
 * acknowledged updates and the pulls after a transition.
 */
#ifndef HOTLINE_SERVER_H
#define HOTLINE_SERVER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "idset.h"
#include "store_pg.h"

struct conn;
struct server;

struct server_stats {
	uint64_t accepted;
	uint64_t refused;	/* over max_connections */
	uint64_t accept_failed; /* accept() errors (EMFILE: listeners paused) */
	uint64_t evicted;	/* unauthenticated, closed to make room (max_unauthenticated) */
	uint64_t auth_failed;
	uint64_t records;	/* intake records submitted to the store */
	uint64_t acked;		/* IntakeAck sent (committed) */
	uint64_t duplicates;	/* ... of which duplicate */
	uint64_t direct_closed; /* ... new, closed on the call (直接办结) */
	uint64_t linked;	/* ... new, linked to an open ticket (repeat complaint) */
	uint64_t invalid;	/* refused by validation */
	uint64_t failed;	/* refused by the store */
	uint64_t bad_input;	/* connections closed for undecodable input */
	uint64_t pauses;	/* times a connection stopped reading (back-pressure) */
	size_t connections;
	size_t unauthenticated; /* connections with no Hello accepted yet */
	size_t inflight;
	size_t paused;
};

/*
 * Binds the configured listeners. cfg and store are borrowed and must outlive
 * the server. Returns NULL (after logging why) when a listener cannot bind.
 */
struct bus;
struct server *server_new(struct event_base *base, struct hotline_config *cfg,
			  struct store_pg *store, struct bus *bus)
	__attribute__((warn_unused_result));
void server_free(struct server *server);

/* Every tick: hello timeouts, TicketUpdate pulls and acknowledged-update deletes. */
void server_janitor(struct server *server, int64_t now_ms);

/*
 * Stops accepting, stops reading, and lets every connection finish the
 * replies it owes; each closes when done (stats.connections reaches 0).
 */
void server_begin_shutdown(struct server *server);

void server_get_stats(const struct server *server, struct server_stats *out);

/* For /metrics (borrowed, alive as long as the server): the per-feed intake
 * counters; seconds from a ticket's stream entry (Redis's clock) to its frame
 * going out to the department (the system clock); and the open connections by
 * role: [0] not authenticated yet, then Hotline__V1__Role FEED, DEPARTMENT, AGENT. */
#define SERVER_ROLES 4
struct tally;
struct prom_histogram;
struct tally *server_tally(struct server *server);
/*
 * [feed.CODE] max_rate, for every way a feed's records arrive (its connections, an
 * Open311 client's POSTs): takes one record from the feed's bucket, on the monotonic
 * clock. false when the feed is over its rate: counted (the tally's limited) and, at
 * most every 10 s, logged with the count since; the caller refuses the record ("try
 * again later"), *burst being the burst in force for its message. Always true for a
 * feed without max_rate.
 */
bool server_feed_within_rate(struct server *server, const struct feed_config *feed, long *burst);
struct prom_histogram *server_delivery_latency(struct server *server);
/* Open connections past their Hello with this role and feed or department code. */
size_t server_count_id(const struct server *server, int role, const char *code);

void server_count_roles(const struct server *server, size_t counts[SERVER_ROLES]);

/* ---- for conn*.c ---- */
struct event_base *server_base(struct server *server);
struct hotline_config *server_config(struct server *server);
struct store_pg *server_store(struct server *server);
struct bus *server_bus(struct server *server);
struct transitions;
void server_set_transitions(struct server *server, struct transitions *t);
struct transitions *server_transitions(struct server *server);
/* TicketUpdates were written for feed_code: its connections here pull them. */
void server_feed_updates(struct server *server, const char *feed_code);
/*
 * update_id was acknowledged on connection c: it is deleted (batched; flushed
 * by the janitor) and no longer owed to the feed's other connections.
 */
void server_update_acked(struct server *server, struct conn *c, long long update_id);
/* True while update_id is acknowledged and not yet deleted. */
bool server_update_is_acked(const struct server *server, long long update_id);
/* The acknowledged ids waiting to be deleted and being deleted: pulls skip them. */
void server_updates_acked_sets(const struct server *server, const struct idset **waiting,
			       const struct idset **deleting);
struct server_stats *server_stats_mut(struct server *server);

/* True when c may take one more record now; otherwise c is parked as paused. */
bool server_may_read(struct server *server, struct conn *c);
void server_record_begin(struct server *server);
/* A record finished: paused connections are reconsidered after this pass. */
void server_record_end(struct server *server);
/* c's unread replies fell below the limit: reconsider it. */
void server_output_drained(struct server *server, struct conn *c);
/* c's Hello was accepted: it leaves the unauthenticated connections. */
void server_conn_authenticated(struct server *server, struct conn *c);
/* c's socket is gone; it is freed after the loop pass once nothing is in flight. */
void server_conn_closed(struct server *server, struct conn *c);
/* A CLOSED c just finished its last in-flight record. */
void server_conn_idle(struct server *server, struct conn *c);

#endif
