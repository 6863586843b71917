/*
 * router.c - routing of new tickets by the rule set in force.
 *
 * An agent's record resolved on the call is closed at once (DIRECT_CLOSE,
 * with the answer). A new ticket goes to the department of the first matching rule. A ticket
 * from a sub-centre feed (join mode subcenter) that no rule claims stays in
 * the sub-centre's domain: it goes to the feed's own department. Anything
 * else unmatched goes to the manual dispatch desk (PENDING_DISPATCH). The
 * move is made by lib/ticket_state.c like every other transition; the store
 * writes it with its audit row in the intake transaction.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "timer.h"
#include "pgtext.h"
#include "route.h"
#include "rules.h"
#include "deadline.h"
#include "ticket_state.h"

struct router {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct store_pg *store;
	const struct calendar **calendar;
	struct rule_set *rules; /* NULL = none */
	char *text;
	long long version;
	bool loaded_from_pg; /* PostgreSQL answered (with rules or without) */
	bool redis_seen;     /* the bus read Redis's rule set at least once */
	bool ready_logged;
	int64_t redis_wait_until; /* without Redis, route by PostgreSQL's set from then */
	struct event *ev_wait;
	bool warned_past_calendar;
};

/* Routing may have become possible: the store tries its queue again. */
static void on_wait_over(evutil_socket_t fd, short what, void *arg)
{
	struct router *router = arg;
	store_pg_kick(router->store);
}

struct router *router_new(struct event_base *base, const struct hotline_config *cfg,
			  struct store_pg *store, const struct calendar **calendar)
{
	struct router *router = calloc(1, sizeof(*router));
	if (!router)
		return NULL;
	router->base = base;
	router->cfg = cfg;
	router->store = store;
	router->calendar = calendar;
	router->ev_wait = event_new(base, -1, 0, on_wait_over, router);
	if (!router->ev_wait) {
		free(router);
		return NULL;
	}
	return router;
}

void router_free(struct router *router)
{
	if (!router)
		return;
	rules_free(router->rules);
	free(router->text);
	if (router->ev_wait)
		event_free(router->ev_wait);
	free(router);
}

static void on_remembered(void *arg, const PGresult *res, const char *error)
{
	if (error)
		log_warn("router: could not remember the rule set in PostgreSQL: %s", error);
}

static int install(struct router *router, long long version, const char *text, size_t len,
		   bool remember)
{
	struct rule_set *set = NULL;
	char err[512], name[64];
	snprintf(name, sizeof(name), "rules v%lld", version);
	if (rules_parse(text, len, name, &set, err, sizeof(err)) != 0) {
		log_error("router: refusing rule set version %lld: %s", version, err);
		return -1;
	}
	char *copy = malloc(len + 1);
	if (!copy) {
		rules_free(set);
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	for (size_t i = 0; i < rules_count(set); i++) {
		const struct rule *rule = rules_at(set, i);
		if (!config_find_dept(router->cfg, rule_dept(rule)))
			log_warn("router: rule '%s' sends tickets to department '%s', which has no "
				 "[dept.%s] section: nobody can take them",
				 rule_name(rule), rule_dept(rule), rule_dept(rule));
	}
	rules_free(router->rules);
	free(router->text);
	router->rules = set;
	router->text = copy;
	router->version = version;
	log_info("router: rule set version %lld in force (%zu rules)", version, rules_count(set));
	if (remember) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", version);
		const char *values[RULES_REMEMBER_NPARAMS] = {
			[RULES_REMEMBER_P_VERSION] = v,
			[RULES_REMEMBER_P_RULES] = copy,
		};
		store_pg_query(router->store, QUERY_RULES_REMEMBER, values, on_remembered, router);
	}
	return 0;
}

static void on_latest_rules(void *arg, const PGresult *res, const char *error)
{
	struct router *router = arg;
	router->loaded_from_pg = true;
	store_pg_kick(router->store);
	if (error) {
		log_error("router: reading routing_rules failed: %s", error);
		return;
	}
	if (PQntuples(res) == 0) {
		if (router->version == 0)
			log_warn("router: no rule set loaded yet (hotlinectl route load FILE): "
				 "new tickets go to the manual dispatch desk");
		return;
	}
	int64_t version;
	if (pgtext_int64(PQgetvalue(res, 0, RULES_LATEST_C_VERSION), &version) != 0) {
		log_error("router: routing_rules holds version '%s', not a number",
			  PQgetvalue(res, 0, RULES_LATEST_C_VERSION));
		return;
	}
	if (version > router->version &&
	    install(router, version, PQgetvalue(res, 0, RULES_LATEST_C_RULES),
		    (size_t)PQgetlength(res, 0, RULES_LATEST_C_RULES), false) != 0)
		log_error("router: the newest remembered rule set does not parse");
}

void router_start(struct router *router)
{
	router->redis_wait_until = clock_now_ms() + ROUTER_REDIS_WAIT_MS;
	timer_arm(router->ev_wait, ROUTER_REDIS_WAIT_MS);
	store_pg_query(router->store, QUERY_RULES_LATEST, NULL, on_latest_rules, router);
}

void router_rules_seen(struct router *router)
{
	if (router->redis_seen)
		return;
	router->redis_seen = true;
	event_del(router->ev_wait);
	store_pg_kick(router->store);
}

bool router_ready(void *arg)
{
	struct router *router = arg;
	if (!router->loaded_from_pg)
		return false;
	if (!router->redis_seen && clock_now_ms() < router->redis_wait_until)
		return false;
	if (!router->ready_logged) {
		router->ready_logged = true;
		if (router->redis_seen)
			log_info("router: routing intake with rule set version %lld",
				 router->version);
		else
			log_warn(
				"router: Redis unreadable for %d ms since the start: routing "
				"intake "
				"with the rule set PostgreSQL remembers (version %lld) until Redis "
				"is back",
				ROUTER_REDIS_WAIT_MS, router->version);
	}
	return true;
}

int router_offer_rules(struct router *router, long long version, const char *text, size_t len)
{
	if (version <= router->version)
		return 0;
	return install(router, version, text, len, true);
}

long long router_version(const struct router *router)
{
	return router->version;
}

const char *router_text(const struct router *router)
{
	return router->text;
}

void router_route(void *arg, struct store_intake *rec)
{
	struct router *router = arg;
	const struct intake *in = rec->intake;
	struct ticket_event ev = { 0 };
	ev.at_ms = rec->at_ms; /* the batch's instant: dispatched_at is the same */
	const struct feed_config *feed = config_find_feed(router->cfg, rec->feed_code);
	struct rule_input input = { rec->feed_code, in->category, in->district, in->content };
	struct route_decision where;
	route_decide(router->rules, feed, &input, in->resolved_on_call, &where);
	const char *rule_label = where.label;
	switch (where.kind) {
	case ROUTE_DIRECT_CLOSE: /* 直接办结: the agent answered on the call */
		ev.kind = TICKET_EV_DIRECT_CLOSE;
		ev.text = in->answer;
		break;
	case ROUTE_RULE:
	case ROUTE_SUBCENTER:
		ev.kind = TICKET_EV_ROUTE_MATCHED;
		ev.dept_code = where.dept_code;
		break;
	case ROUTE_DESK:
		ev.kind = TICKET_EV_ROUTE_NONE;
		break;
	}
	if (ev.kind == TICKET_EV_ROUTE_MATCHED) {
		/* The clock starts at dispatch, which is now. */
		bool past_known = false;
		int64_t deadline = deadline_compute(
			&router->cfg->deadlines, router->calendar ? *router->calendar : NULL,
			(int)router->cfg->utc_offset_minutes, in->priority, in->category, ev.at_ms,
			&past_known);
		ev.deadline_at_ms = deadline > ev.at_ms ? deadline : 0;
		if (past_known && !router->warned_past_calendar) {
			router->warned_past_calendar = true;
			log_warn("router: deadlines run past the last year the calendar knows; add "
				 "next year's file to [calendar] dir (counting Monday-Friday "
				 "meanwhile)");
		}
	}

	struct ticket_status cur, next;
	struct ticket_effects fx;
	struct ticket_limits limits;
	char err[256];
	ticket_status_init(&cur);
	ticket_limits_default(&limits);
	limits.max_returns = (uint32_t)router->cfg->max_returns;
	if (ticket_transition(&cur, &ev, &limits, &next, &fx, err, sizeof(err)) != TICKET_OK) {
		/* Only a broken rule set gets here: the desk is always a safe place. */
		log_error("router: %s; ticket goes to the manual desk", err);
		ev.kind = TICKET_EV_ROUTE_NONE;
		ev.dept_code = NULL;
		rule_label = "";
		if (ticket_transition(&cur, &ev, &limits, &next, &fx, err, sizeof(err)) !=
		    TICKET_OK)
			fatal("router: the state machine refuses RECEIVED -> ROUTE_NONE: %s", err);
	}
	rec->state = next.state;
	rec->route_event = ev.kind;
	rec->deadline_at_ms = next.deadline_at_ms;
	rec->counters = fx.counters;
	snprintf(rec->dept_code, sizeof(rec->dept_code), "%s", next.dept_code);
	snprintf(rec->route_rule, sizeof(rec->route_rule), "%s", rule_label);
}
