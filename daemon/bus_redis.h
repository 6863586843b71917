/*
 * bus_redis.h - the routing fabric in Redis: rules, department streams.
 *
 * Owns: hotlined's Redis connections (hiredis async on the libevent loop), the
 * key schema below, following the rule set (pub/sub, plus a periodic check),
 * noticing that Redis lost its data and rebuilding what PostgreSQL knows,
 * publishing tickets to department streams idempotently, and one consumer per
 * department connection (consumer group "hotline": at-least-once, acked per
 * ticket, redelivered when unacknowledged too long or when its connection ends).
 * Never: blocks, keeps a hiredis reply past its callback, or is the only copy
 * of anything (Redis is a rebuildable view of PostgreSQL).
 * Callers: daemon/main.c, daemon/relay.c (publish), daemon/conn_dept.c (consume).
 *
 * Keys (a public contract with hotlinectl; see README "Redis keys"):
 *   hotline:rules            string   canonical rule text (rules.h format)
 *   hotline:rules:version    integer  incremented by every `hotlinectl route load`
 *   hotline:rules:changed    channel  a new version was loaded (message: the version)
 *   hotline:dept:CODE        stream   tickets for department CODE; fields ticket_no,
 *                                     ticket (a serialized hotline.v1.Ticket); group "hotline"
 *   hotline:pub:TICKET_NO:R.O  string "published" marker (1 hour) of one dispatch (R returns,
 *                                     O reopens so far) that makes a re-publish a no-op
 *   hotline:cb:TICKET_NO:O.A   string the same for a callback (O reopens, A attempts)
 *   hotline:callbacks        stream   replied tickets waiting for a callback; group "agents"
 *   hotline:epoch            string   set once per Redis dataset; missing = data was lost
 *   hotline:alerts           channel  escalations (督办): JSON {"kind":"due_soon"|"overdue",
 *                                     "ticket_no","dept_code","state","deadline_at"}
 */
#ifndef HOTLINE_BUS_REDIS_H
#define HOTLINE_BUS_REDIS_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "router.h"
#include "store_pg.h"

#define BUS_GROUP "hotline"
#define BUS_ENTRY_ID_MAX 48

struct bus;
struct bus_consumer;

struct bus_stats {
	bool connected;
	unsigned long long published;
	unsigned long long republish_skipped; /* dedup marker already there */
	unsigned long long acked;
	unsigned long long rebuilds;
	unsigned long long reconnects;
	long long rules_version;
};

struct bus *bus_new(struct event_base *base, const struct hotline_config *cfg,
		    struct router *router, struct store_pg *store)
	__attribute__((warn_unused_result));
void bus_free(struct bus *bus);
void bus_start(struct bus *bus);
bool bus_connected(const struct bus *bus);
void bus_get_stats(const struct bus *bus, struct bus_stats *out);

/* Runs fn(arg) whenever the command connection (re)becomes usable. */
void bus_on_ready(struct bus *bus, void (*fn)(void *), void *arg);

/*
 * Appends a ticket to stream unless marker key `mark` says this dispatch (or
 * callback) was published before: then it is a no-op. done(arg, ok) runs once
 * with the outcome (ok also for the no-op). Returns -1 (done never runs) when
 * Redis is not connected, or not yet known to have its data.
 */
int bus_publish(struct bus *bus, const char *stream, const char *mark, const char *ticket_no,
		const void *ticket, size_t ticket_len, void (*done)(void *arg, bool ok), void *arg)
	__attribute__((warn_unused_result));

/* PUBLISH message on channel (fire and forget). Returns -1 when not connected. */
int bus_alert(struct bus *bus, const char *channel, const char *message)
	__attribute__((warn_unused_result));

/*
 * A department connection's consumer. deliver(arg, entry_id, ticket_no,
 * ticket, len) runs for each ticket handed to it (the bytes are valid only
 * during the call). It reads only while it has room (bus_consumer_room).
 */
typedef void (*bus_deliver_fn)(void *arg, const char *entry_id, const char *ticket_no,
			       const char *ticket, size_t len);
struct bus_consumer *bus_consumer_new(struct bus *bus, const char *dept_code,
				      const char *consumer_name, bus_deliver_fn deliver, void *arg)
	__attribute__((warn_unused_result));
/* How many more tickets the connection can take now; reading resumes when > 0. */
void bus_consumer_room(struct bus_consumer *consumer, size_t room);
/* The department acknowledged entry_id: XACK + XDEL (the stream keeps only open work). */
void bus_consumer_ack(struct bus_consumer *consumer, const char *entry_id);
/*
 * Ends the consumer. The ids it delivered but never saw acknowledged are made
 * immediately claimable by the department's other (or next) connection.
 * Safe from inside its own deliver callback.
 */
void bus_consumer_free(struct bus_consumer *consumer, const char *const *unacked, size_t n);

#endif
