/*
 * bus_private.h - what the files of the Redis bus share with each other.
 *
 * Owns: struct bus (the shared connections' state, which bus_redis.c keeps, and
 * the data-loss check's, which bus_epoch.c keeps), the names two or more of the
 * files use, and the calls between them: the transport's helpers (bus_redis.c),
 * following the rule set (bus_rules.c), checking for lost data (bus_epoch.c),
 * finding the primary through Redis Sentinel (bus_sentinel.c).
 * Never: included outside daemon/bus_*.c (every other module includes
 * bus_redis.h, the bus's one public header), or holds a definition.
 * Callers: daemon/bus_redis.c, bus_rules.c, bus_epoch.c, bus_publish.c,
 *          bus_consumer.c, bus_callback.c, bus_sentinel.c.
 */
#ifndef HOTLINE_BUS_PRIVATE_H
#define HOTLINE_BUS_PRIVATE_H

#include <event2/event.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

#include "bus_redis.h"
#include "config.h"
#include "redis_ha.h"
#include "router.h"
#include "store_pg.h"

/* The consumer that holds entries handed back for anyone to take at once. */
#define BUS_ORPHANS "orphans"
#define BUS_EPOCH_MAX REDIS_HA_EPOCH_MAX /* bytes of an epoch, with its NUL */
#define BUS_ADDRESS_MAX 512		 /* bytes of "host:port" or a socket path, with its NUL */

struct bus_sentinel;

struct bus_ready_cb {
	void (*fn)(void *);
	void *arg;
};

struct bus {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct router *router;
	struct store_pg *store;
	/* Where the primary is: [redis] address, or what the sentinels said last;
	 * primary_gen counts its changes, so that consumers follow (bus_consumer.c). */
	char primary[BUS_ADDRESS_MAX];
	unsigned primary_gen;
	struct bus_sentinel *sentinel; /* NULL without [redis] sentinels */
	/* The connected server's INFO run_id ("" when INFO is refused): an epoch made on
	 * another server process means data may be missing (bus_epoch.c). */
	char run_id[REDIS_HA_RUN_ID_MAX];
	redisAsyncContext *cmd;
	redisAsyncContext *sub;
	bool cmd_up, sub_up;
	bool ready;	    /* script loaded, epoch verified against PostgreSQL */
	int scripts_loaded; /* SCRIPT LOADs answered on this connection */
	/* The epoch of the dataset known to be whole (Redis's hotline:epoch equal to
	 * PostgreSQL's bus_epoch), "" until verified; see bus_epoch.c. */
	char epoch[BUS_EPOCH_MAX];
	/* A verification (or rebuild) in flight, started on connection generation
	 * verify_gen: its answers are ignored once the connection changed. */
	bool verifying;
	unsigned gen, verify_gen;
	char seen_epoch[BUS_EPOCH_MAX]; /* Redis's epoch as the verification read it ("" = none) */
	char new_epoch[BUS_EPOCH_MAX];	/* the epoch a rebuild claims */
	long backoff_ms;
	struct event *ev_timer; /* reconnect while down; periodic checks while up */
	struct bus_ready_cb ready_cbs[4];
	int nready_cbs;
	struct bus_stats stats;
	bool stopping;
};

/* ---- the transport (bus_redis.c) ------------------------------------------ */

/* Opens a connection to the primary as bus->primary names it, attached to the
 * loop; AUTH, when configured, is its first command. NULL (logged) when it cannot
 * even start connecting, or the primary is not known yet. */
redisAsyncContext *bus_open_context(struct bus *bus);

/* True for a READONLY error: the server is a replica now (it was demoted by a
 * failover): the caller's connection must go to the new primary. */
bool bus_is_readonly(const redisReply *reply);

/* The server the shared connections reach is not (or no longer) the primary: a
 * failover (READONLY, INFO's role, Sentinel's +switch-master). Drops both shared
 * connections; the reconnect asks the sentinels again (or retries the address). */
void bus_failover(struct bus *bus, const char *why);

/* Sets the primary's address (from the sentinels) and connects to it. */
void bus_primary_found(struct bus *bus, const char *host, int port);

/* No sentinel answered: the reconnect is retried with backoff. */
void bus_primary_unknown(struct bus *bus, const char *why);

/* The next reconnect delay after *backoff (which it advances): the same
 * schedule as PostgreSQL's, +0..25% jitter. */
long bus_next_backoff(long *backoff, const struct hotline_config *cfg);

/* True for a NOGROUP error: the stream or its group does not exist (new, or lost). */
bool bus_is_nogroup(const redisReply *reply);

/* Redis is known to have its data: publishing may start. Unless the bus was
 * ready already, runs the bus_on_ready callbacks. */
void bus_become_ready(struct bus *bus);

/* XACK + XDEL ids[0..n) of stream in group on the command connection: the
 * stream keeps only open work (the callback queue). Returns -1 (nothing sent; the
 * entries stay pending and are delivered again: at-least-once) when not connected
 * or out of memory. */
int bus_entries_done(struct bus *bus, const char *stream, const char *group, const char *const *ids,
		     size_t n);

/* XACK only, the same way: the entries stay in the stream until bus_stream_trim
 * (the department streams). */
int bus_entries_ack(struct bus *bus, const char *stream, const char *group, const char *const *ids,
		    size_t n);

/* Acknowledged entries kept above a floor held down by one old pending entry before
 * queries/stream_trim.lua deletes them one by one. */
#define BUS_TRIM_KEEP_MAX 1000

/* Removes from stream what every group read and acknowledged (queries/stream_trim.lua:
 * never an undelivered or a pending entry), on the command connection, fire and
 * forget (an error is logged). Returns -1 (nothing sent) when not connected. */
int bus_stream_trim(struct bus *bus, const char *stream, const char *group);

/* Hands ids[0..n) of stream in group to BUS_ORPHANS with a huge idle time, so the
 * next XAUTOCLAIM takes them at once. Without Redis (nothing sent) they come back
 * after the usual timeout. */
void bus_entries_orphan(struct bus *bus, const char *stream, const char *group,
			const char *const *ids, size_t n);

/* ---- finding the primary through Sentinel (bus_sentinel.c) ----------------- */

/* With cfg's [redis] sentinels: the sentinel client of bus (NULL without). */
struct bus_sentinel *bus_sentinel_new(struct bus *bus) __attribute__((warn_unused_result));
void bus_sentinel_free(struct bus_sentinel *sentinel);

/* Subscribes to +switch-master on one of the sentinels (reconnected with backoff). */
void bus_sentinel_watch(struct bus_sentinel *sentinel);

/* Asks the sentinels, one at a time, for the primary's address; ends with
 * bus_primary_found or bus_primary_unknown (later, from the loop). No-op while an
 * ask is in flight. */
void bus_sentinel_ask(struct bus_sentinel *sentinel);

/* ---- following the rule set (bus_rules.c) --------------------------------- */

/* Reads hotline:rules and its version into the router (no-op while disconnected). */
void bus_rules_fetch(struct bus *bus);

/* SUBSCRIBEs the sub connection, just connected, to the rules' change channel. */
void bus_rules_subscribe(struct bus *bus);

/* ---- noticing lost data (bus_epoch.c) ------------------------------------- */

/* Starts verifying Redis's epoch (unless disconnected or one is in flight);
 * ends with bus_become_ready, or with a rebuild owed and retried. */
void bus_epoch_check(struct bus *bus);

#endif
