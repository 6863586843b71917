/*
 * horizon.h - telling supervisors the working-day calendar is running out.
 *
 * Owns: checking the calendar's horizon (lib/calendar.h calendar_horizon_at)
 * at start, after every reload and every hour; from CALENDAR_HORIZON_WARN_DAYS
 * days before the last covered day (and once it has passed), a warning in the
 * log and an alert on Redis channel hotline:alerts, each once per local day,
 * the key hotline:calendar (JSON, refreshed hourly) that dashboards read, and the
 * warning for GET /api/v1/stats/live (the wallboard).
 * Never: changes a deadline (past the last known year they count Monday to
 * Friday; deadline.c says so), or invents a year's holidays.
 * Callers: daemon/main.c; daemon/http_stats.c reads the warning (the wallboard).
 */
#ifndef HOTLINE_HORIZON_H
#define HOTLINE_HORIZON_H

#include <event2/event.h>
#include <stdint.h>

#include "bus_redis.h"
#include "calendar.h"
#include "config.h"

#define HORIZON_KEY "hotline:calendar"
#define HORIZON_CHECK_MS 3600000L

struct horizon;

/* *calendar is read at each check (main.c swaps it on reload); may be NULL. */
struct horizon *horizon_new(struct event_base *base, const struct hotline_config *cfg,
			    const struct calendar **calendar, struct bus *bus)
	__attribute__((warn_unused_result));
void horizon_free(struct horizon *h);
/* Checks now and then every HORIZON_CHECK_MS. */
void horizon_start(struct horizon *h);
/* The calendar changed (reload): check again now, and warn again today. */
void horizon_recheck(struct horizon *h);
/* Days from today to the last covered day (negative: passed), as last checked. */
int64_t horizon_days_left(const struct horizon *h);
/*
 * The warning of the last check (calendar_horizon_format's line: the calendar ends
 * within CALENDAR_HORIZON_WARN_DAYS days, or has ended), or NULL when there is none
 * (or h is NULL). Borrowed: valid until the next check. For GET /api/v1/stats/live.
 */
const char *horizon_warning(const struct horizon *h);

#endif
