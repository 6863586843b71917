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
 * Callers: daemon/main.c, daemon/relay.c (publish), daemon/conn_dept.c (consume),
 *          daemon/conn_agent.c (claim callbacks), daemon/horizon.c and
 *          daemon/watcher.c (alerts, values). This is the bus's one public header.
 * Implemented by daemon/bus_redis.c (the connections), bus_rules.c (following the
 * rule set), bus_epoch.c (lost data and the rebuild), bus_publish.c,
 * bus_consumer.c and bus_callback.c (the callback queue); what they share is in
 * bus_private.h, which no other module includes.
 *
 * Keys (a public contract with hotlinectl; see README "Redis keys"):
 *   hotline:rules            string   canonical rule text (rules.h format)
 *   hotline:rules:version    integer  incremented by every `hotlinectl route load`
 *   hotline:rules:changed    channel  a new version was loaded (message: the version)
 *   hotline:dept:CODE        stream   tickets for department CODE; fields ticket_no,
 *                                     ticket (a serialized hotline.v1.Ticket); group "hotline"
 *   hotline:published:HOUR   hash     publish markers written during HOUR (unix time / 3600
 *                                     by Redis's TIME), expiring 2 hours after the last write:
 *                                     field pub:TICKET_NO:R.O marks one dispatch (R returns, O
 *                                     reopens so far), cb:TICKET_NO:O.A one callback (O reopens,
 *                                     A attempts), value 1; a ticket whose marker is in this or
 *                                     the previous hour's hash is not published again
 *   hotline:callbacks        stream   replied tickets waiting for a callback; group "agents"
 *   hotline:epoch            string   set once per Redis dataset; missing = data was lost
 *   hotline:alerts           channel  escalations (督办): JSON {"kind":"due_soon"|"overdue",
 *                                     "ticket_no","dept_code","state","deadline_at"}; and
 *                                     {"kind":"calendar_horizon",...} once a day while the
 *                                     working-day calendar is within 60 days of its end
 *   hotline:calendar         string   the calendar's horizon, JSON (daemon/horizon.h),
 *                                     refreshed hourly, expiring after 2 hours
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
	unsigned long long failovers; /* new primaries the sentinels named */
	long long rules_version;
};

struct bus *bus_new(struct event_base *base, const struct hotline_config *cfg,
		    struct router *router, struct store_pg *store)
	__attribute__((warn_unused_result));
void bus_free(struct bus *bus);
void bus_start(struct bus *bus);
bool bus_connected(const struct bus *bus);
void bus_get_stats(const struct bus *bus, struct bus_stats *out);

/*
 * The epoch of the Redis dataset publishes go into now (daemon/bus_epoch.c): the
 * one verified against PostgreSQL's bus_epoch; "" while not ready. The relay
 * deletes what it published only while PostgreSQL still names it.
 */
const char *bus_epoch(const struct bus *bus);

/* Runs fn(arg) whenever the command connection (re)becomes usable. */
void bus_on_ready(struct bus *bus, void (*fn)(void *), void *arg);

/* One ticket for bus_publish: appended to stream unless publish marker `mark`
 * (a field of hotline:published:HOUR, above) says this dispatch (or callback) was
 * published before (then it is a no-op). */
struct bus_publish_item {
	const char *stream;
	const char *mark;
	const char *ticket_no;
	const void *ticket;
	size_t ticket_len;
	bool ok; /* set before done runs: published, or a no-op */
};
#define BUS_PUBLISH_MAX 64 /* items per call: one script run blocks Redis that long */

/*
 * Publishes items[0..n) (n <= BUS_PUBLISH_MAX) in one command. The strings are
 * copied during the call; items must stay valid until done(arg) runs, once,
 * with each item's ok set. Returns -1 (done never runs) when Redis is not connected, or
 * not yet known to have its data.
 */
int bus_publish(struct bus *bus, struct bus_publish_item *items, size_t n, void (*done)(void *arg),
		void *arg) __attribute__((warn_unused_result));

/* SET key value EX ttl_s (fire and forget). Returns -1 when not connected. */
int bus_set_value(struct bus *bus, const char *key, const char *value, long ttl_s)
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
/* The department acknowledged entry_id: XACK now, and within BUS_TRIM_INTERVAL_MS the
 * stream is trimmed below its oldest open entry (queries/stream_trim.lua). */
void bus_consumer_ack(struct bus_consumer *consumer, const char *entry_id);
/*
 * Ends the consumer. The ids it delivered but never saw acknowledged are made
 * immediately claimable by the department's other (or next) connection.
 * Safe from inside its own deliver callback.
 */
void bus_consumer_free(struct bus_consumer *consumer, const char *const *unacked, size_t n);

/*
 * The callback queue: stream hotline:callbacks, consumer group "agents" (made
 * at id 0 with MKSTREAM by the first claim that finds it missing). Agents take
 * one callback at a time through the shared command connection, with no
 * blocking read: an agent asks and is answered at once.
 *
 * Lifetime rule of the callbacks below: each runs exactly once, later from the
 * loop, with a failure when Redis goes away meanwhile; but never when the bus
 * itself is freed first (at exit), so arg must need no callback to be freed.
 */
#define BUS_CALLBACKS_STREAM "hotline:callbacks"
#define BUS_AGENTS_GROUP "agents"
#define BUS_CONSUMER_MAX 128 /* bytes of a consumer name, with its NUL */

enum bus_claim_status {
	BUS_CLAIM_TAKEN, /* entry_id and ticket_no name the callback now held by the consumer */
	BUS_CLAIM_NONE,	 /* no callback is waiting */
	BUS_CLAIM_FAILED /* Redis error or connection lost; nothing is held */
};

/* entry_id and ticket_no are set with BUS_CLAIM_TAKEN only, valid during the call. */
typedef void (*bus_claim_fn)(void *arg, enum bus_claim_status status, const char *entry_id,
			     const char *ticket_no);

/*
 * Takes one callback for consumer: an entry some consumer has held longer than
 * idle_ms (XAUTOCLAIM: its agent vanished or gave up; this consumer's own
 * included), else a new one (XREADGROUP COUNT 1, no BLOCK). An entry without a
 * ticket_no is acknowledged away and skipped. Returns -1 (done never runs) when
 * Redis is not connected, or not yet known to have its data.
 */
int bus_callback_claim(struct bus *bus, const char *consumer, long idle_ms, bus_claim_fn done,
		       void *arg) __attribute__((warn_unused_result));

/*
 * Checks that consumer still holds entry_id and, if so, restarts its idle
 * clock (one atomic script), so nobody can take it while its result is being
 * stored. done(arg, held): 1 held, 0 not (another consumer took it, or it is
 * gone), -1 Redis error. Returns -1 (done never runs) when not connected.
 */
int bus_callback_hold(struct bus *bus, const char *consumer, const char *entry_id,
		      void (*done)(void *arg, int held), void *arg)
	__attribute__((warn_unused_result));

/* The callback is done (or stale): XACK + XDEL. Without Redis it stays pending, is
 * claimed again after the timeout and found stale then: at-least-once. */
void bus_callback_ack(struct bus *bus, const char *entry_id);

/* Hands a claimed entry back at once (the next claim takes it): for a claim that
 * could not be given to its agent. Without Redis it comes back after the timeout. */
void bus_callback_release(struct bus *bus, const char *entry_id);

/* Deletes consumer from the group if it holds nothing (its connection ended
 * and finished its work); a consumer still holding entries is kept, so that
 * they are taken over after the timeout rather than lost. */
void bus_callback_forget(struct bus *bus, const char *consumer);

/*
 * For /metrics: the length of each of streams[0..n) and how many of its entries
 * its group (groups[i]) holds unacknowledged. done(arg, values) runs once, later:
 * values[2i] the length, values[2i + 1] the pending count, or values NULL when
 * Redis failed. Returns -1 (done never runs) when not connected, n is 0 or more
 * than BUS_DEPTHS_MAX, or out of memory. Same lifetime rule as the callback queue's.
 */
#define BUS_DEPTHS_MAX 1024
typedef void (*bus_depths_fn)(void *arg, const long long *values);
int bus_stream_depths(struct bus *bus, const char *const *streams, const char *const *groups,
		      size_t n, bus_depths_fn done, void *arg) __attribute__((warn_unused_result));

#endif
