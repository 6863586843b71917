/*
 * deadline.c - the deadline policy behind deadline.h.
 *
 * Owns: the limit syntax, the fixed-size policy tables and the order in which a
 * ticket's limit is chosen. The arithmetic itself is calendar.c's. Never: reads
 * config or the clock, allocates, does I/O. Callers: see deadline.h.
 */
#include "deadline.h"

#include <stdio.h>
#include <string.h>

#include "errbuf.h"
#include "hotline.pb-c.h"
#include "utf8.h"

_Static_assert(HOTLINE__V1__PRIORITY__PRIORITY_NORMAL == 1 &&
		       HOTLINE__V1__PRIORITY__PRIORITY_URGENT == 2 &&
		       HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL == 3,
	       "priority_limits[] is indexed by Hotline__V1__Priority");
_Static_assert(DEADLINE_MAX_WORKDAYS <= CALENDAR_MAX_WORKDAYS, "calendar cannot add that many");

#define LIMIT_HELP "write Nh for hours on the clock or Nwd for working days, e.g. 2h, 3wd"

int deadline_parse_limit(const char *text, struct deadline_limit *out, char *err, size_t errlen)
{
	out->unit = DEADLINE_UNSET;
	out->count = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (text == NULL)
		return errbuf_fail(err, errlen, "empty deadline limit (" LIMIT_HELP ")");

	const char *s = text, *e = text + strlen(text);
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	int shown = e - s > 32 ? 32 : (int)(e - s);
	if (s == e)
		return errbuf_fail(err, errlen, "empty deadline limit (" LIMIT_HELP ")");

	const char *p = s;
	long count = 0;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		if (count <= DEADLINE_MAX_HOURS) /* saturates above every maximum */
			count = count * 10 + (*p - '0');
	}
	enum deadline_unit unit = DEADLINE_UNSET;
	if (p > s && e - p == 1 && p[0] == 'h')
		unit = DEADLINE_HOURS;
	else if (p > s && e - p == 2 && p[0] == 'w' && p[1] == 'd')
		unit = DEADLINE_WORKDAYS;
	if (unit == DEADLINE_UNSET)
		return errbuf_fail(err, errlen, "bad deadline limit '%.*s' (" LIMIT_HELP ")", shown,
				   s);
	if (count == 0)
		return errbuf_fail(err, errlen, "deadline limit '%.*s' must be at least 1", shown,
				   s);
	if (unit == DEADLINE_HOURS && count > DEADLINE_MAX_HOURS)
		return errbuf_fail(err, errlen, "deadline limit '%.*s' is more than %d hours",
				   shown, s, DEADLINE_MAX_HOURS);
	if (unit == DEADLINE_WORKDAYS && count > DEADLINE_MAX_WORKDAYS)
		return errbuf_fail(err, errlen,
				   "deadline limit '%.*s' is more than %d working days", shown, s,
				   DEADLINE_MAX_WORKDAYS);
	out->unit = unit;
	out->count = (int)count;
	return 0;
}

size_t deadline_format_limit(const struct deadline_limit *limit, char *buf, size_t len)
{
	int n;
	if (limit == NULL || buf == NULL || len == 0)
		return 0;
	if (limit->unit == DEADLINE_HOURS)
		n = snprintf(buf, len, "%dh", limit->count);
	else if (limit->unit == DEADLINE_WORKDAYS)
		n = snprintf(buf, len, "%dwd", limit->count);
	else
		n = snprintf(buf, len, "unset");
	if (n < 0 || (size_t)n >= len) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

int deadline_priority_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	if (strcmp(name, "normal") == 0)
		return HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	if (strcmp(name, "urgent") == 0)
		return HOTLINE__V1__PRIORITY__PRIORITY_URGENT;
	if (strcmp(name, "critical") == 0)
		return HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL;
	return -1;
}

void deadline_policy_init(struct deadline_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->default_limit.unit = DEADLINE_WORKDAYS;
	policy->default_limit.count = DEADLINE_DEFAULT_WORKDAYS;
}

/* A limit a setter may store: a set unit and a count in its range. */
static int check_limit(const struct deadline_limit *limit, char *err, size_t errlen)
{
	if (limit == NULL || (limit->unit != DEADLINE_HOURS && limit->unit != DEADLINE_WORKDAYS))
		return errbuf_fail(err, errlen, "no deadline limit given");
	int max = limit->unit == DEADLINE_HOURS ? DEADLINE_MAX_HOURS : DEADLINE_MAX_WORKDAYS;
	if (limit->count < 1 || limit->count > max)
		return errbuf_fail(err, errlen, "deadline limit count %d is outside 1-%d",
				   limit->count, max);
	return 0;
}

int deadline_policy_set_default(struct deadline_policy *policy, const struct deadline_limit *limit,
				char *err, size_t errlen)
{
	if (check_limit(limit, err, errlen) != 0)
		return -1;
	policy->default_limit = *limit;
	return 0;
}

int deadline_policy_set_priority(struct deadline_policy *policy, int priority,
				 const struct deadline_limit *limit, char *err, size_t errlen)
{
	if (priority == HOTLINE__V1__PRIORITY__PRIORITY_UNSPECIFIED)
		priority = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	if (priority < HOTLINE__V1__PRIORITY__PRIORITY_NORMAL ||
	    priority > HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL)
		return errbuf_fail(err, errlen,
				   "unknown priority %d (1 normal, 2 urgent, 3 critical)",
				   priority);
	if (check_limit(limit, err, errlen) != 0)
		return -1;
	policy->priority_limits[priority] = *limit;
	return 0;
}

/* Index of category in policy->categories, or -1. */
static long find_category(const struct deadline_policy *policy, const char *category)
{
	for (size_t i = 0; i < policy->category_count; i++) {
		if (strcmp(policy->categories[i].name, category) == 0)
			return (long)i;
	}
	return -1;
}

int deadline_policy_set_category(struct deadline_policy *policy, const char *category,
				 const struct deadline_limit *limit, char *err, size_t errlen)
{
	size_t len = category != NULL ? strlen(category) : 0;

	if (len == 0)
		return errbuf_fail(err, errlen, "empty category name");
	if (len > DEADLINE_MAX_CATEGORY)
		return errbuf_fail(err, errlen, "category name is longer than %d bytes",
				   DEADLINE_MAX_CATEGORY);
	if (!utf8_valid(category, len))
		return errbuf_fail(err, errlen, "category name is not valid UTF-8");
	if (check_limit(limit, err, errlen) != 0)
		return -1;

	long at = find_category(policy, category);
	if (at < 0) {
		if (policy->category_count >= DEADLINE_MAX_CATEGORIES)
			return errbuf_fail(err, errlen, "more than %d category limits",
					   DEADLINE_MAX_CATEGORIES);
		at = (long)policy->category_count++;
		memcpy(policy->categories[at].name, category, len + 1);
	}
	policy->categories[at].limit = *limit;
	return 0;
}

const struct deadline_limit *deadline_policy_pick(const struct deadline_policy *policy,
						  int priority, const char *category)
{
	if (priority < HOTLINE__V1__PRIORITY__PRIORITY_NORMAL ||
	    priority > HOTLINE__V1__PRIORITY__PRIORITY_CRITICAL)
		priority = HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	if (policy->priority_limits[priority].unit != DEADLINE_UNSET)
		return &policy->priority_limits[priority];
	if (category != NULL && category[0] != '\0') {
		long at = find_category(policy, category);
		if (at >= 0)
			return &policy->categories[at].limit;
	}
	return &policy->default_limit;
}

int64_t deadline_apply(const struct deadline_limit *limit, const struct calendar *cal,
		       int utc_offset_min, int64_t start_ms, bool *past_known)
{
	if (past_known != NULL)
		*past_known = false;
	if (limit == NULL)
		return -1;
	switch (limit->unit) {
	case DEADLINE_HOURS:
		return calendar_add_hours(start_ms, limit->count);
	case DEADLINE_WORKDAYS:
		return calendar_add_workdays(cal, start_ms, utc_offset_min, limit->count,
					     past_known);
	case DEADLINE_UNSET:
		break;
	}
	return -1;
}

int64_t deadline_compute(const struct deadline_policy *policy, const struct calendar *cal,
			 int utc_offset_min, int priority, const char *category,
			 int64_t dispatched_at_ms, bool *past_known)
{
	if (policy == NULL) {
		if (past_known != NULL)
			*past_known = false;
		return -1;
	}
	return deadline_apply(deadline_policy_pick(policy, priority, category), cal, utc_offset_min,
			      dispatched_at_ms, past_known);
}
