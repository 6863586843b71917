/*
 * route.c - the routing decision behind route.h.
 */
#include "route.h"

#include <stdio.h>
#include <string.h>

void route_decide(const struct rule_set *rules, const struct feed_config *feed,
		  const struct rule_input *in, bool resolved_on_call, struct route_decision *out)
{
	memset(out, 0, sizeof(*out));
	if (resolved_on_call) {
		out->kind = ROUTE_DIRECT_CLOSE;
		return;
	}
	const struct rule *rule = rules ? rules_match(rules, in) : NULL;
	if (rule) {
		out->kind = ROUTE_RULE;
		out->rule = rule;
		out->dept_code = rule_dept(rule);
		snprintf(out->label, sizeof(out->label), "%s", rule_name(rule));
		return;
	}
	if (feed && feed->mode == JOIN_SUBCENTER && feed->dept) {
		out->kind = ROUTE_SUBCENTER;
		out->dept_code = feed->dept;
		snprintf(out->label, sizeof(out->label), "subcenter:%s", feed->code);
		return;
	}
	out->kind = ROUTE_DESK;
}

const char *route_kind_name(enum route_kind kind)
{
	switch (kind) {
	case ROUTE_DIRECT_CLOSE:
		return "direct-close";
	case ROUTE_RULE:
		return "rule";
	case ROUTE_SUBCENTER:
		return "subcenter";
	case ROUTE_DESK:
		return "desk";
	}
	return "?";
}
