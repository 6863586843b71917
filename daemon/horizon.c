/*
 * horizon.c - the calendar's horizon, checked hourly (and whenever Redis comes
 * up), told once a day.
 */
#include "horizon.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "dates.h"
#include "log.h"
#include "timer.h"

#define ALERT_CHANNEL "hotline:alerts"
#define HORIZON_RETRY_MS 10000L /* Redis was down: tell it this soon after */

struct horizon {
	const struct hotline_config *cfg;
	const struct calendar **calendar;
	struct bus *bus;
	struct event *ev_timer;
	int64_t days_left;
	char warning[CALENDAR_HORIZON_TEXT]; /* the last check's warning; "" none */
	int64_t logged_day;		     /* local day of the last log warning; -1: none */
	int64_t alerted_day;		     /* local day of the last alert published; -1: none */
};

static void ymd(int64_t days, char *buf, size_t len)
{
	int y, m, d;
	dates_civil_from_days(days, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

/* The state for dashboards, and the alert: one JSON object. NULL when out of memory. */
static char *horizon_json(const struct calendar_horizon *ch, const char *message, bool alert)
{
	char last_day[16];
	ymd(ch->last_day_days, last_day, sizeof(last_day));
	json_t *o = json_object();
	if (!o)
		return NULL;
	if (alert)
		json_object_set_new(o, "kind", json_string("calendar_horizon"));
	json_object_set_new(o, "first_year", json_integer(ch->first_year));
	json_object_set_new(o, "last_year", json_integer(ch->last_year));
	json_object_set_new(o, "last_day", json_string(last_day));
	json_object_set_new(o, "days_left", json_integer(ch->days_left));
	json_object_set_new(o, "missing_year", json_integer(ch->missing_year));
	json_object_set_new(o, "warn", json_boolean(ch->warn));
	json_object_set_new(o, "expired", json_boolean(ch->expired));
	json_object_set_new(o, "message", json_string(message));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Returns true when something could not be told (Redis down): check again soon. */
static bool check(struct horizon *h)
{
	struct calendar_horizon ch;
	int offset = (int)h->cfg->utc_offset_minutes;
	int64_t now = clock_now_ms();
	if (calendar_horizon_at(*h->calendar, now, offset, CALENDAR_HORIZON_WARN_DAYS, &ch) != 0) {
		log_error("calendar: cannot compute the horizon at %lld", (long long)now);
		return false;
	}
	h->days_left = ch.days_left;
	char message[CALENDAR_HORIZON_TEXT];
	calendar_horizon_format(&ch, message, sizeof(message));
	snprintf(h->warning, sizeof(h->warning), "%s", ch.warn ? message : "");
	char *state = horizon_json(&ch, message, false);
	bool retry = !state || !bus_connected(h->bus) ||
		     bus_set_value(h->bus, HORIZON_KEY, state, HORIZON_CHECK_MS * 2 / 1000) != 0;
	free(state);
	if (!ch.warn)
		return retry;
	if (h->logged_day != ch.today_days) {
		h->logged_day = ch.today_days;
		log_warn("calendar: %s", message);
	}
	if (h->alerted_day != ch.today_days) {
		char *alert = horizon_json(&ch, message, true);
		if (alert && bus_connected(h->bus) && bus_alert(h->bus, ALERT_CHANNEL, alert) == 0)
			h->alerted_day = ch.today_days;
		else
			retry = true;
		free(alert);
	}
	return retry;
}

static void on_bus_ready(void *arg);

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct horizon *h = arg;
	timer_arm(h->ev_timer, check(h) ? HORIZON_RETRY_MS : HORIZON_CHECK_MS);
}

struct horizon *horizon_new(struct event_base *base, const struct hotline_config *cfg,
			    const struct calendar **calendar, struct bus *bus)
{
	struct horizon *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->cfg = cfg;
	h->calendar = calendar;
	h->bus = bus;
	h->logged_day = h->alerted_day = -1;
	h->ev_timer = event_new(base, -1, 0, on_timer, h);
	if (!h->ev_timer) {
		free(h);
		return NULL;
	}
	bus_on_ready(bus, on_bus_ready, h);
	return h;
}

void horizon_free(struct horizon *h)
{
	if (!h)
		return;
	event_free(h->ev_timer);
	free(h);
}

/* Redis is (back) up: tell it now rather than at the next check. */
static void on_bus_ready(void *arg)
{
	horizon_start(arg);
}

void horizon_start(struct horizon *h)
{
	timer_arm(h->ev_timer, 0);
}

void horizon_recheck(struct horizon *h)
{
	h->logged_day = h->alerted_day = -1;
	horizon_start(h);
}

int64_t horizon_days_left(const struct horizon *h)
{
	return h->days_left;
}

const char *horizon_warning(const struct horizon *h)
{
	return h && h->warning[0] ? h->warning : NULL;
}
