/*
 * deadline.h - the deadline policy: how long a department has for a ticket.
 *
 * Owns: the limit syntax of the [deadlines] config section ("2h" = hours on the
 * clock, "3wd" = working days on the calendar), the policy (a default limit,
 * limits per priority, limits per category) and the choice among them, and the
 * deadline of a dispatched ticket. Never: reads config files (config.c parses the
 * section and calls the setters), reads the clock (the dispatch time is passed
 * in), or does I/O. Callers: config.c, the daemon when it dispatches or
 * re-dispatches a ticket, hotlinectl, tests.
 *
 * Which limit applies to a ticket, first that is set wins:
 *   1. the limit of its priority (normal / urgent / critical), when set;
 *   2. the limit of its category (exact, case-sensitive match), when set;
 *   3. the default limit.
 * So a priority limit overrides every category: set urgent and critical, and
 * leave normal unset unless every normal ticket should get the same limit.
 *
 * A struct deadline_policy holds no pointers: copy it by assignment (the config
 * reload keeps the old copy when the new one fails).
 */
#ifndef HOTLINE_DEADLINE_H
#define HOTLINE_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calendar.h"

#define DEADLINE_MAX_HOURS 8760	    /* a year on the clock */
#define DEADLINE_MAX_WORKDAYS 365   /* <= CALENDAR_MAX_WORKDAYS */
#define DEADLINE_MAX_CATEGORY 64    /* bytes in a category name (= intake's limit) */
#define DEADLINE_MAX_CATEGORIES 64  /* category limits in one policy */
#define DEADLINE_DEFAULT_WORKDAYS 5 /* deadline_policy_init()'s default: configure it */
#define DEADLINE_LIMIT_TEXT 16	    /* room for a formatted limit ("365wd") and its NUL */

enum deadline_unit {
	DEADLINE_UNSET = 0, /* no limit given here; the next rule decides */
	DEADLINE_HOURS,	    /* count hours on the clock, nights and holidays included */
	DEADLINE_WORKDAYS,  /* count working days of the calendar */
};

struct deadline_limit {
	enum deadline_unit unit;
	int count; /* 1..DEADLINE_MAX_HOURS or 1..DEADLINE_MAX_WORKDAYS; 0 when unset */
};

/* Fields are the module's; use the functions. */
struct deadline_policy {
	struct deadline_limit default_limit;
	struct deadline_limit priority_limits[4]; /* by Hotline__V1__Priority; [0] unused */
	size_t category_count;
	struct deadline_category {
		char name[DEADLINE_MAX_CATEGORY + 1];
		struct deadline_limit limit;
	} categories[DEADLINE_MAX_CATEGORIES];
};

/*
 * Parses a limit: decimal digits followed by "h" (hours on the clock) or "wd"
 * (working days), e.g. "2h", "3wd", "13wd"; spaces and tabs around it are
 * ignored. Returns 0 with *out set, or -1 with *out unset (DEADLINE_UNSET) and a
 * reason in err naming the text: empty, unknown unit, zero, above the maximum.
 */
int deadline_parse_limit(const char *text, struct deadline_limit *out, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* Writes "2h" / "3wd" / "unset" into buf; returns its length, 0 when buf is too small. */
size_t deadline_format_limit(const struct deadline_limit *limit, char *buf, size_t len);

/*
 * "normal", "urgent", "critical" -> Hotline__V1__Priority (1, 2, 3); -1 for any
 * other name (case-sensitive, as in the JSON intake). For [deadlines] keys.
 */
int deadline_priority_from_name(const char *name);

/* Default limit DEADLINE_DEFAULT_WORKDAYS working days; no priority or category limits. */
void deadline_policy_init(struct deadline_policy *policy);

/*
 * The setters return 0, or -1 with a reason in err when the limit is not a valid
 * set limit, the priority is not 1-3 (0, unspecified, means normal: allowed too),
 * the category is empty, longer than DEADLINE_MAX_CATEGORY bytes or not UTF-8,
 * or the policy already holds DEADLINE_MAX_CATEGORIES other categories. Setting
 * the same priority or category again replaces its limit. The policy is
 * unchanged on error.
 */
int deadline_policy_set_default(struct deadline_policy *policy, const struct deadline_limit *limit,
				char *err, size_t errlen) __attribute__((warn_unused_result));
int deadline_policy_set_priority(struct deadline_policy *policy, int priority,
				 const struct deadline_limit *limit, char *err, size_t errlen)
	__attribute__((warn_unused_result));
int deadline_policy_set_category(struct deadline_policy *policy, const char *category,
				 const struct deadline_limit *limit, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The limit that applies to a ticket (see the order at the top). priority is a
 * Hotline__V1__Priority; unspecified or unknown values count as normal. category
 * may be NULL or "" (no category limit applies). The result points into policy.
 */
const struct deadline_limit *deadline_policy_pick(const struct deadline_policy *policy,
						  int priority, const char *category);

/*
 * start_ms plus limit: calendar_add_hours() for hours, calendar_add_workdays()
 * (with cal and utc_offset_min) for working days. *past_known (may be NULL) as in
 * calendar_add_workdays(), always false for hours. Returns the deadline in unix
 * ms, or -1 for an unset limit or the argument errors of those functions.
 */
int64_t deadline_apply(const struct deadline_limit *limit, const struct calendar *cal,
		       int utc_offset_min, int64_t start_ms, bool *past_known);

/*
 * The deadline of a ticket dispatched at dispatched_at_ms:
 * deadline_apply(deadline_policy_pick(...)). -1 as there.
 */
int64_t deadline_compute(const struct deadline_policy *policy, const struct calendar *cal,
			 int utc_offset_min, int priority, const char *category,
			 int64_t dispatched_at_ms, bool *past_known);

#endif
