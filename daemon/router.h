/*
 * router.h - the rule set in force and the routing of new tickets.
 *
 * Owns: the current parsed rule set and its version (newest of what Redis
 * publishes and what PostgreSQL remembers), the routing decision for each new
 * ticket (direct resolution by an agent, rules, then the join mode's fallback,
 * through the state machine, with the deadline of a dispatched ticket),
 * and remembering every new version in PostgreSQL (routing_rules) so a Redis
 * that lost its data can be given the rules back.
 * Never: talks to Redis itself (bus_rules.c offers versions) or writes a
 * ticket (the store does, with the state the router decided).
 * Callers: daemon/main.c (wiring), daemon/store_pg.c (hooks), daemon/bus_rules.c
 * (rule sets read from Redis), daemon/bus_redis.c (the version, for the stats).
 */
#ifndef HOTLINE_ROUTER_H
#define HOTLINE_ROUTER_H

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

#include "calendar.h"
#include "config.h"
#include "store_pg.h"

struct router;

/* *calendar is read at each routing (it is swapped on reload); may be NULL. */
struct router *router_new(struct event_base *base, const struct hotline_config *cfg,
			  struct store_pg *store, const struct calendar **calendar)
	__attribute__((warn_unused_result));
void router_free(struct router *router);

/* Asks PostgreSQL for the newest remembered rule set; routing waits for the answer. */
void router_start(struct router *router);

/*
 * Store hooks: ready and route. Intake is routed only with a known rule set:
 * ready once PostgreSQL has said which set it remembers AND Redis has been read
 * (a set loaded while no daemon ran is only there), or, when Redis cannot be
 * read, ROUTER_REDIS_WAIT_MS after the start, with what PostgreSQL remembers.
 * Until then the store holds intake records back (unacknowledged, bounded by
 * the server's windows).
 */
#define ROUTER_REDIS_WAIT_MS 5000
bool router_ready(void *router);
void router_route(void *router, struct store_intake *rec);

/*
 * A rule set of this version (text in rules.h format). Newer than the current
 * one: parsed, put in force, remembered in PostgreSQL. Older or equal: ignored.
 * Returns 0, or -1 when the text does not parse (the current set stays).
 */
int router_offer_rules(struct router *router, long long version, const char *text, size_t len)
	__attribute__((warn_unused_result));

/* The bus read Redis's rule set (adopted, or found none): routing may start. */
void router_rules_seen(struct router *router);

/* The version in force (0 = none) and its canonical text (NULL when none). */
long long router_version(const struct router *router);
const char *router_text(const struct router *router);

#endif
