/*
 * bus_epoch.c - noticing that Redis lost its data, and the rebuild.
 *
 * Owns: verifying that Redis's hotline:epoch equals the epoch PostgreSQL's
 * bus_epoch row recorded (006_bus_epoch) and was made on the server process now
 * connected (the epoch carries its run_id: lib/redis_ha.h), and when it is missing
 * (a restart without persistence, FLUSHALL), differs (an old snapshot, a rebuild
 * never announced) or was made on another process (a replica promoted by a
 * failover, a restart from a snapshot or an append-only file: either may lack the
 * last writes the old process acknowledged): claiming the rebuild in PostgreSQL
 * together with an outbox row
 * (due at once) for every DISPATCHED ticket and REPLIED callback, in one
 * transaction (queries/rebuild.sql), and only then setting the new epoch in
 * Redis and giving Redis the rule set back; the crash points between those
 * steps (fault_point: rebuild_seen, rebuild_claimed, rebuild_announced). The
 * relay publishes the rows once more (the marker hashes that made re-publishing
 * a no-op were lost with the rest, so each ticket lands in its stream once).
 * Consumers re-create their group (NOGROUP) by themselves.
 * Never: lets the bus become ready before the epoch is verified or announced, or
 * announces an epoch whose rebuild has not committed (a daemon killed between the
 * two leaves the rebuild owed, never skipped).
 * Callers: daemon/bus_redis.c (once the scripts are loaded, and on the bus
 * timer), through bus_private.h.
 */
#include "bus_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "fault.h"
#include "log.h"
#include "queries.h"

#define KEY_EPOCH "hotline:epoch"

/*
 * Knowing that Redis has its data (bus_epoch_check): Redis's hotline:epoch must
 * equal the epoch PostgreSQL's bus_epoch row records, and name the run_id of the
 * server connected (INFO, read by bus_redis.c on every new connection). Once it did,
 * a later GET returning the same value on the same server needs no PostgreSQL (the
 * dataset is the one verified). A Redis whose epoch names another run_id holds data
 * another process wrote: a replica promoted by a failover (replication is
 * asynchronous: what the old primary acknowledged last may never have reached it),
 * or the same server restarted from its snapshot or append-only file (which may
 * lag too). Its streams may lack entries the relay saw published and deleted
 * from the outbox, so it is rebuilt like a Redis that lost everything: departments
 * receive their open tickets once more, and the publish markers that did survive
 * keep what the new primary has from being published twice within their hour.
 * Otherwise (missing: a restart without persistence or FLUSHALL; different: a
 * restore of an old snapshot, another daemon's rebuild not yet announced, or a
 * daemon that died before announcing its own) a rebuild is owed: it is claimed in
 * PostgreSQL with its outbox rows in one transaction (queries/rebuild.sql), and only
 * after that commit is the new epoch set in Redis. Publishing waits until then.
 * A daemon killed at any step leaves the rebuild owed, never skipped: before the
 * commit nothing changed; after it Redis's epoch still differs, and the next
 * daemon rebuilds once more (the publish markers make the copy a no-op).
 */

/* False for an answer of a verification whose connection is gone (bus_down, in
 * bus_redis.c, ended it; the next connection starts its own). */
static bool verify_current(const struct bus *bus)
{
	return bus->verifying && bus->verify_gen == bus->gen && bus->cmd_up;
}

static void on_epoch_set(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!ctx->data || !verify_current(bus))
		return;
	bus->verifying = false;
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: setting %s failed (%s); the rebuild stays owed and is retried",
			 KEY_EPOCH, reply ? reply->str : "no reply");
		return;
	}
	fault_point("rebuild_announced");
	snprintf(bus->epoch, sizeof(bus->epoch), "%s", bus->new_epoch);
	log_info("bus: rebuild announced in Redis (epoch %s)", bus->epoch);
	bus_rules_fetch(bus); /* gives Redis the rule set back if it has none */
	bus_become_ready(bus);
}

static void on_rebuild_done(void *arg, const PGresult *res, const char *error)
{
	struct bus *bus = arg;
	if (error) {
		if (verify_current(bus))
			bus->verifying = false;
		log_error("bus: the rebuild from PostgreSQL failed: %s (retried)", error);
		return;
	}
	bool claimed =
		PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, REBUILD_C_CLAIMED), "1") == 0;
	if (!claimed) {
		/* Another daemon claimed a rebuild meanwhile: look again. */
		if (!verify_current(bus))
			return;
		log_info("bus: another daemon rebuilt Redis meanwhile; checking again");
		bus->verifying = false;
		bus_epoch_check(bus);
		return;
	}
	fault_point("rebuild_claimed");
	bus->stats.rebuilds++;
	log_warn("bus: rebuild claimed in PostgreSQL: %s open dispatches and callbacks queued for "
		 "republishing (epoch %s)",
		 PQgetvalue(res, 0, REBUILD_C_QUEUED), bus->new_epoch);
	if (!verify_current(bus))
		return; /* the claim is durable; the next connection's check rebuilds again */
	redisAsyncCommand(bus->cmd, on_epoch_set, bus, "SET %s %s", KEY_EPOCH, bus->new_epoch);
}

/* Fills buf with a fresh epoch of this server: 16 random bytes (getrandom, else
 * random()) and the run_id (lib/redis_ha.h); without the run_id if it does not fit. */
static void new_epoch(char *buf, size_t len, const char *run_id)
{
	unsigned char bytes[16];
	ssize_t got = getrandom(bytes, sizeof(bytes), 0);
	for (size_t i = 0; i < sizeof(bytes); i++)
		if (got != (ssize_t)sizeof(bytes))
			bytes[i] = (unsigned char)random();
	if (redis_ha_epoch_make(buf, len, bytes, sizeof(bytes), run_id) != 0 &&
	    redis_ha_epoch_make(buf, len, bytes, sizeof(bytes), "") != 0)
		buf[0] = '\0';
}

/* True when Redis's epoch, as read, is the one recorded and was made on this server. */
static bool epoch_whole(const struct bus *bus, const char *recorded)
{
	return bus->seen_epoch[0] && recorded && strcmp(bus->seen_epoch, recorded) == 0 &&
	       redis_ha_epoch_of_server(bus->seen_epoch, bus->run_id);
}

static void on_pg_epoch(void *arg, const PGresult *res, const char *error)
{
	struct bus *bus = arg;
	if (!verify_current(bus))
		return;
	if (error) {
		bus->verifying = false;
		log_warn("bus: reading bus_epoch failed: %s (retried)", error);
		return;
	}
	bool have = PQntuples(res) == 1 && !PQgetisnull(res, 0, BUS_EPOCH_C_EPOCH);
	const char *recorded = have ? PQgetvalue(res, 0, BUS_EPOCH_C_EPOCH) : NULL;
	if (epoch_whole(bus, recorded)) {
		bus->verifying = false;
		snprintf(bus->epoch, sizeof(bus->epoch), "%s", recorded);
		bus_rules_fetch(bus);
		bus_become_ready(bus);
		return;
	}
	fault_point("rebuild_seen");
	if (bus->seen_epoch[0] && recorded && strcmp(bus->seen_epoch, recorded) == 0) {
		const char *was = redis_ha_epoch_server(bus->seen_epoch);
		log_warn("bus: Redis's data was written by another server process (run_id %s; "
			 "this is %s): a replica promoted by a failover, or a restart from a "
			 "snapshot, may lack what the old one acknowledged last; rebuilding "
			 "department streams from PostgreSQL",
			 was[0] ? was : "not recorded", bus->run_id);
	} else if (bus->seen_epoch[0])
		log_warn("bus: Redis's %s (%s) is not the epoch PostgreSQL rebuilt (%s): Redis may "
			 "lack data (an old snapshot, or a rebuild never announced); rebuilding "
			 "department streams from PostgreSQL",
			 KEY_EPOCH, bus->seen_epoch, recorded ? recorded : "none");
	else
		log_warn("bus: Redis has no hotline data (new, restarted without persistence, or "
			 "flushed): rebuilding department streams from PostgreSQL");
	new_epoch(bus->new_epoch, sizeof(bus->new_epoch), bus->run_id);
	char now[32], who[64];
	snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
	snprintf(who, sizeof(who), "hotlined pid %d", (int)getpid());
	const char *values[REBUILD_NPARAMS] = {
		[REBUILD_P_NEW_EPOCH] = bus->new_epoch,
		[REBUILD_P_OLD_EPOCH] = recorded,
		[REBUILD_P_AT_MS] = now,
		[REBUILD_P_REBUILT_BY] = who,
	};
	store_pg_query(bus->store, QUERY_REBUILD, values, on_rebuild_done, bus);
}

static void on_epoch(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || !verify_current(bus))
		return;
	if (reply->type == REDIS_REPLY_STRING && bus->epoch[0] &&
	    strcmp(bus->epoch, reply->str) == 0 &&
	    redis_ha_epoch_of_server(reply->str, bus->run_id)) {
		bus->verifying = false; /* the dataset verified before */
		bus_become_ready(bus);
		return;
	}
	if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL) {
		bus->verifying = false;
		log_warn("bus: GET %s: %s", KEY_EPOCH,
			 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		return;
	}
	if (bus->ready) {
		/* The dataset changed under us: stop publishing until it is verified. */
		bus->ready = false;
		log_warn("bus: Redis's %s changed; publishing waits until it is checked",
			 KEY_EPOCH);
	}
	bus->epoch[0] = '\0';
	snprintf(bus->seen_epoch, sizeof(bus->seen_epoch), "%s",
		 reply->type == REDIS_REPLY_STRING ? reply->str : "");
	store_pg_query(bus->store, QUERY_BUS_EPOCH, NULL, on_pg_epoch, bus);
}

void bus_epoch_check(struct bus *bus)
{
	/* Not before INFO named the server and the scripts are loaded (bus_redis.c). */
	if (!bus->cmd_up || bus->verifying || bus->scripts_loaded < SCRIPT_COUNT)
		return;
	bus->verifying = true;
	bus->verify_gen = bus->gen;
	redisAsyncCommand(bus->cmd, on_epoch, bus, "GET %s", KEY_EPOCH);
}
