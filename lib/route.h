/*
 * route.h - where a new ticket goes: the one routing decision.
 *
 * Owns: the order of the routing rules of a new ticket (docs/ticket-life.md, the
 * three join modes): an agent's record resolved on the call is closed at once
 * (直接办结); else the first rule that matches names the department; else a
 * ticket from a sub-centre feed (join mode subcenter) stays in the sub-centre's
 * own department; else it goes to the manual dispatch desk. hotlined's router
 * and `hotlinectl route test` both decide through route_decide(), so the tool
 * says exactly what the daemon does.
 * Never: reads the clock, computes a deadline, or changes a state (the state
 * machine does, with this decision as its event).
 * Callers: daemon/router.c, tools/hotlinectl.c, tests/unit/test_route.c.
 */
#ifndef HOTLINE_ROUTE_H
#define HOTLINE_ROUTE_H

#include <stdbool.h>

#include "config.h"
#include "rules.h"

enum route_kind {
	ROUTE_DIRECT_CLOSE, /* resolved on the call: closed at intake */
	ROUTE_RULE,	    /* a rule matched: its department */
	ROUTE_SUBCENTER,    /* no rule matched; the feed is a sub-centre: its department */
	ROUTE_DESK	    /* no rule matched: the manual dispatch desk (PENDING_DISPATCH) */
};

#define ROUTE_LABEL_MAX 80

struct route_decision {
	enum route_kind kind;
	const char *dept_code;	     /* ROUTE_RULE, ROUTE_SUBCENTER; NULL otherwise */
	const struct rule *rule;     /* ROUTE_RULE; NULL otherwise */
	char label[ROUTE_LABEL_MAX]; /* the audit's route_rule: the rule's name,
				      * "subcenter:FEED", or "" */
};

/*
 * Decides where a new ticket goes. rules may be NULL (none loaded); feed is the
 * feed's config section, NULL when unknown (then no sub-centre fallback);
 * in->feed_code, category, district and content are matched by the rules.
 */
void route_decide(const struct rule_set *rules, const struct feed_config *feed,
		  const struct rule_input *in, bool resolved_on_call, struct route_decision *out);

/* "direct-close", "rule", "subcenter", "desk" */
const char *route_kind_name(enum route_kind kind);

#endif
