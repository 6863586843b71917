/*
 * bus_rules.c - following the routing rule set in Redis.
 *
 * Owns: reading hotline:rules and hotline:rules:version into the router (at
 * connect, on every message of the hotline:rules:changed channel the `sub`
 * connection subscribes to, and on the bus timer, for a message missed), lifting
 * Redis's version counter when it went back (data lost, then a rule set loaded
 * since), and giving Redis the rule set back when it has none.
 * Never: decides which rule set is in force (router.c does), or overwrites a
 * rule set Redis has (MSETNX only).
 * Callers: daemon/bus_redis.c (connect, timer), daemon/bus_epoch.c (after a
 * verification or a rebuild), through bus_private.h.
 */
#include "bus_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define KEY_RULES "hotline:rules"
#define KEY_RULES_VERSION "hotline:rules:version"
#define CHANNEL_RULES "hotline:rules:changed"

static void on_rules(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
		return;
	redisReply *version = reply->element[0], *text = reply->element[1];
	if (version->type == REDIS_REPLY_STRING && text->type == REDIS_REPLY_STRING) {
		long long v = strtoll(version->str, NULL, 10);
		long long ours = router_version(bus->router);
		if (v < ours && (!router_text(bus->router) ||
				 strcmp(router_text(bus->router), text->str) != 0)) {
			/* Versions never go backwards unless Redis lost its data and a
			 * rule set was loaded since: that load is the newest intent.
			 * Lift Redis's counter above ours; the next read adopts it. */
			log_warn("bus: rule version in Redis went back from %lld to %lld (data "
				 "lost, then loaded again): adopting the rules loaded since",
				 ours, v);
			char by[32];
			snprintf(by, sizeof(by), "%lld", ours - v + 1);
			redisAsyncCommand(bus->cmd, NULL, NULL, "INCRBY %s %s", KEY_RULES_VERSION,
					  by);
			bus_rules_fetch(bus);
			return;
		}
		if (router_offer_rules(bus->router, v, text->str, text->len) != 0)
			log_error("bus: rule set version %lld in Redis does not parse; keeping "
				  "version %lld",
				  v, router_version(bus->router));
		bus->stats.rules_version = router_version(bus->router);
		router_rules_seen(bus->router);
		return;
	}
	router_rules_seen(bus->router); /* Redis has none: PostgreSQL's are the newest */
	/* Redis has no rules (new, or lost): give it ours back, if we have any. */
	const char *ours = router_text(bus->router);
	if (ours && version->type == REDIS_REPLY_NIL) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", router_version(bus->router));
		redisAsyncCommand(bus->cmd, NULL, NULL, "MSETNX %s %s %s %s", KEY_RULES_VERSION, v,
				  KEY_RULES, ours);
		log_info("bus: gave Redis the rule set back (version %s)", v);
	}
}

void bus_rules_fetch(struct bus *bus)
{
	if (bus->cmd_up)
		redisAsyncCommand(bus->cmd, on_rules, bus, "MGET %s %s", KEY_RULES_VERSION,
				  KEY_RULES);
}

static void on_rules_changed(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	if (reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, "message") == 0)
		bus_rules_fetch(bus);
}

void bus_rules_subscribe(struct bus *bus)
{
	redisAsyncCommand(bus->sub, on_rules_changed, bus, "SUBSCRIBE %s", CHANNEL_RULES);
}
