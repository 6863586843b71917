/*
 * relay.h - the transactional outbox's relay: committed dispatches -> Redis.
 *
 * Owns: publishing every outbox row to its department's stream and deleting
 * the row once Redis has it. Fast path: a ticket dispatched by this daemon is
 * published from memory right after its intake commit. Sweeper: every
 * relay_interval_ms (and when the bus becomes ready) it publishes the rows whose
 * relay_after has passed: an intake batch's row the fast path did not finish
 * (another daemon crashed, Redis was down, the fast-path queue was full), and the
 * rows of transitions and rebuilds, which have no fast path.
 * Re-publishing is harmless (bus_publish is idempotent per dispatch and per
 * callback, whichever outbox row carries it).
 * Never: acknowledges anything to feeds, or holds more than max_inflight
 * tickets in memory (beyond that the sweeper takes over).
 * Callers: daemon/main.c (wiring: relay_dispatched as the store's hook, called by
 * daemon/store_pg.c; relay_kick as a bus ready callback, called by bus_redis.c).
 */
#ifndef HOTLINE_RELAY_H
#define HOTLINE_RELAY_H

#include <event2/event.h>

#include "bus_redis.h"
#include "config.h"
#include "store_pg.h"

struct relay;

struct relay_stats {
	unsigned long long published;
	unsigned long long swept;
	unsigned long long dropped; /* fast-path queue full: left to the sweeper */
	size_t queued;
};

struct relay *relay_new(struct event_base *base, const struct hotline_config *cfg, struct bus *bus,
			struct store_pg *store) __attribute__((warn_unused_result));
void relay_free(struct relay *relay);
/* Before the bus is freed: publish replies that still arrive only free their items. */
void relay_stop(struct relay *relay);
void relay_start(struct relay *relay);

/* Store hook (store_hooks.dispatched): rec was committed as a new DISPATCHED ticket. */
void relay_dispatched(void *relay, const struct store_intake *rec);

/* Sweep now (the bus just came up, or a rebuild was queued). */
void relay_kick(void *relay);

void relay_get_stats(const struct relay *relay, struct relay_stats *out);

struct prom_histogram;
/* Seconds from commit to the ticket in its stream, for tickets published from memory
 * right after their commit (the fast path). Borrowed. */
const struct prom_histogram *relay_publish_latency(const struct relay *relay);

/*
 * Packs the Ticket a department receives (caller phone masked). Returns a new
 * malloc'ed buffer of *len bytes, or NULL when out of memory.
 */
uint8_t *relay_pack_ticket(const Hotline__V1__Ticket *ticket, size_t *len);

#endif
