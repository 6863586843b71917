/*
 * bus_sentinel.c - finding Redis's primary through Redis Sentinel.
 *
 * Owns: the sentinels of [redis] sentinels and two kinds of connection to them.
 * Asking: before every (re)connect of the bus, `SENTINEL get-master-addr-by-name
 * NAME` goes to one sentinel at a time, starting with the one that answered last,
 * each given ASK_TIMEOUT_MS to connect and answer; the first address wins (then
 * bus_primary_found), and when none answers, bus_primary_unknown retries with
 * backoff. Watching: one connection SUBSCRIBEd to `+switch-master` (moved to the
 * next sentinel, with backoff, when it drops), so that a failover is followed at
 * once (bus_failover) rather than when the old primary's connections time out.
 * AUTH ([redis] sentinel_username, sentinel_password) is the first command of each.
 * Never: decides what a failover means for the data (bus_epoch.c compares the
 * server's run_id), talks to anything but the sentinels, or frees a context from
 * inside its own callback (STYLE #6: our reference is dropped, hiredis frees it).
 * Callers: daemon/bus_redis.c, through bus_private.h.
 */
#include "bus_private.h"

#include <hiredis/adapters/libevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "timer.h"

#define ASK_TIMEOUT_MS 2000 /* one sentinel's time to connect and answer */
#define SWITCH_CHANNEL "+switch-master"

struct bus_sentinel {
	struct bus *bus;
	struct redis_ha_addr addrs[REDIS_HA_SENTINELS_MAX];
	size_t n;
	/* asking */
	redisAsyncContext *ask;
	bool asking;
	size_t first;	      /* the sentinel asked first: the one that answered last */
	size_t tried;	      /* sentinels tried in this round */
	size_t at;	      /* the one being asked */
	char why[256];	      /* the last sentinel's failure, for the log */
	struct event *ev_ask; /* ASK_TIMEOUT_MS for the one being asked */
	/* watching */
	redisAsyncContext *watch;
	size_t watch_at;
	long watch_backoff_ms;
	struct event *ev_watch; /* reconnect the watch */
};

/* Opens a connection to sentinel i with AUTH queued first; NULL (why set) when it
 * cannot even start. data is set to s. */
static redisAsyncContext *sentinel_open(struct bus_sentinel *s, size_t i)
{
	const struct hotline_config *cfg = s->bus->cfg;
	const struct redis_ha_addr *a = &s->addrs[i];
	redisAsyncContext *ctx = redisAsyncConnect(a->host, a->port);
	if (!ctx) {
		snprintf(s->why, sizeof(s->why), "%s:%d: out of memory", a->host, a->port);
		return NULL;
	}
	if (ctx->err) {
		snprintf(s->why, sizeof(s->why), "%s:%d: %s", a->host, a->port, ctx->errstr);
		redisAsyncFree(ctx);
		return NULL;
	}
	redisLibeventAttach(ctx, s->bus->base);
	ctx->data = s;
	if (cfg->redis_sentinel_password[0] && cfg->redis_sentinel_username[0])
		redisAsyncCommand(ctx, NULL, NULL, "AUTH %s %s", cfg->redis_sentinel_username,
				  cfg->redis_sentinel_password);
	else if (cfg->redis_sentinel_password[0])
		redisAsyncCommand(ctx, NULL, NULL, "AUTH %s", cfg->redis_sentinel_password);
	return ctx;
}

/* Lets go of a context of ours: its callbacks find data NULL and do nothing. */
static void sentinel_close(redisAsyncContext **slot, bool from_its_callback)
{
	redisAsyncContext *ctx = *slot;
	*slot = NULL;
	if (!ctx)
		return;
	ctx->data = NULL;
	if (from_its_callback)
		redisAsyncDisconnect(ctx); /* hiredis frees it once the callback returns */
	else
		redisAsyncFree(ctx);
}

/* ---- asking ------------------------------------------------------------------ */

static void ask_next(struct bus_sentinel *s);

/* The sentinel being asked failed (why): on to the next one. */
static void ask_failed(struct bus_sentinel *s, bool from_its_callback, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ask_failed(struct bus_sentinel *s, bool from_its_callback, const char *fmt, ...)
{
	const struct redis_ha_addr *a = &s->addrs[s->at];
	int n = snprintf(s->why, sizeof(s->why), "%s:%d: ", a->host, a->port);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(s->why))
		vsnprintf(s->why + n, sizeof(s->why) - (size_t)n, fmt, ap);
	va_end(ap);
	event_del(s->ev_ask);
	sentinel_close(&s->ask, from_its_callback);
	log_debug("bus: sentinel %s", s->why);
	ask_next(s);
}

static void on_master_addr(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_sentinel *s = ctx->data;
	redisReply *reply = r;
	if (!s || ctx != s->ask || !reply)
		return;
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    reply->element[1]->type == REDIS_REPLY_STRING) {
		char *end;
		long port = strtol(reply->element[1]->str, &end, 10);
		if (*end == '\0' && port > 0 && port <= 65535 &&
		    reply->element[0]->len < REDIS_HA_HOST_MAX) {
			char host[REDIS_HA_HOST_MAX];
			snprintf(host, sizeof(host), "%s", reply->element[0]->str);
			s->first = s->at;
			s->asking = false;
			event_del(s->ev_ask);
			sentinel_close(&s->ask, true);
			bus_primary_found(s->bus, host, (int)port);
			return;
		}
	}
	if (reply->type == REDIS_REPLY_NIL)
		ask_failed(s, true, "does not monitor '%s'", s->bus->cfg->redis_master_name);
	else
		ask_failed(s, true, "%s",
			   reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
}

static void on_ask_connect(const redisAsyncContext *ctx, int status)
{
	struct bus_sentinel *s = ctx->data;
	if (!s || ctx != s->ask || status == REDIS_OK)
		return;
	/* hiredis frees a context whose connect failed once this returns */
	((redisAsyncContext *)ctx)->data = NULL;
	s->ask = NULL;
	ask_failed(s, false, "%s", ctx->errstr);
}

static void on_ask_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus_sentinel *s = ctx->data;
	if (!s || ctx != s->ask)
		return;
	s->ask = NULL; /* freed by hiredis */
	ask_failed(s, false, "%s", ctx->errstr[0] ? ctx->errstr : "disconnected");
}

static void on_ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct bus_sentinel *s = arg;
	ask_failed(s, false, "no answer within %d ms", ASK_TIMEOUT_MS);
}

static void ask_next(struct bus_sentinel *s)
{
	if (s->tried == s->n) {
		s->asking = false;
		bus_primary_unknown(s->bus, s->why);
		return;
	}
	s->at = (s->first + s->tried++) % s->n;
	s->ask = sentinel_open(s, s->at);
	if (!s->ask) {
		ask_next(s); /* bounded: tried grows to n */
		return;
	}
	redisAsyncSetConnectCallback(s->ask, on_ask_connect);
	redisAsyncSetDisconnectCallback(s->ask, on_ask_disconnect);
	redisAsyncCommand(s->ask, on_master_addr, NULL, "SENTINEL get-master-addr-by-name %s",
			  s->bus->cfg->redis_master_name);
	timer_arm(s->ev_ask, ASK_TIMEOUT_MS);
}

void bus_sentinel_ask(struct bus_sentinel *s)
{
	if (s->asking)
		return;
	s->asking = true;
	s->tried = 0;
	s->why[0] = '\0';
	ask_next(s);
}

/* ---- watching ---------------------------------------------------------------- */

/* The watch dropped (or never came up): the next sentinel, after a backoff. */
static void watch_lost(struct bus_sentinel *s, const char *why)
{
	const struct redis_ha_addr *a = &s->addrs[s->watch_at % s->n];
	long delay = bus_next_backoff(&s->watch_backoff_ms, s->bus->cfg);
	log_warn("bus: watching sentinel %s:%d for failovers failed (%s); trying the next in "
		 "%ld ms",
		 a->host, a->port, why, delay);
	s->watch_at = (s->watch_at + 1) % s->n;
	timer_arm(s->ev_watch, delay);
}

static void on_switch(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_sentinel *s = ctx->data;
	redisReply *reply = r;
	if (!s || ctx != s->watch || !reply)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		char why[200];
		snprintf(why, sizeof(why), "%s", reply->str);
		sentinel_close(&s->watch, true);
		watch_lost(s, why);
		return;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[2]->type != REDIS_REPLY_STRING)
		return; /* the subscribe confirmation ([subscribe, channel, count]) */
	if (strcmp(reply->element[0]->str, "message") != 0)
		return;
	struct redis_ha_addr to;
	const redisReply *msg = reply->element[2];
	int ours = redis_ha_parse_switch(msg->str, msg->len, s->bus->cfg->redis_master_name, &to);
	if (ours < 0) {
		log_warn("bus: a %s message hotlined does not understand: %.200s", SWITCH_CHANNEL,
			 msg->str);
		return;
	}
	if (ours == 0)
		return; /* another master's failover */
	log_info("bus: the sentinels announce a failover of '%s' to %s:%d",
		 s->bus->cfg->redis_master_name, to.host, to.port);
	char why[REDIS_HA_HOST_MAX + 64];
	snprintf(why, sizeof(why), "the sentinels announced a failover to %s:%d", to.host, to.port);
	bus_failover(s->bus, why);
}

static void on_watch_connect(const redisAsyncContext *ctx, int status)
{
	struct bus_sentinel *s = ctx->data;
	if (!s || ctx != s->watch)
		return;
	if (status != REDIS_OK) {
		((redisAsyncContext *)ctx)->data = NULL;
		s->watch = NULL;
		watch_lost(s, ctx->errstr);
		return;
	}
	s->watch_backoff_ms = 0;
}

static void on_watch_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus_sentinel *s = ctx->data;
	if (!s || ctx != s->watch)
		return;
	s->watch = NULL;
	watch_lost(s, ctx->errstr[0] ? ctx->errstr : "disconnected");
}

void bus_sentinel_watch(struct bus_sentinel *s)
{
	if (s->watch || s->bus->stopping)
		return;
	s->watch = sentinel_open(s, s->watch_at % s->n);
	if (!s->watch) {
		watch_lost(s, s->why);
		return;
	}
	redisAsyncSetConnectCallback(s->watch, on_watch_connect);
	redisAsyncSetDisconnectCallback(s->watch, on_watch_disconnect);
	redisAsyncCommand(s->watch, on_switch, NULL, "SUBSCRIBE %s", SWITCH_CHANNEL);
}

static void on_watch_timer(evutil_socket_t fd, short what, void *arg)
{
	bus_sentinel_watch(arg);
}

/* ---- lifetime ------------------------------------------------------------------ */

struct bus_sentinel *bus_sentinel_new(struct bus *bus)
{
	struct bus_sentinel *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->bus = bus;
	char why[300];
	if (redis_ha_parse_addrs(bus->cfg->redis_sentinels, s->addrs, REDIS_HA_SENTINELS_MAX, &s->n,
				 why, sizeof(why)) != 0 ||
	    s->n == 0) {
		log_error("bus: [redis] sentinels: %s", why); /* config validation refuses it */
		free(s);
		return NULL;
	}
	s->ev_ask = event_new(bus->base, -1, 0, on_ask_timeout, s);
	s->ev_watch = event_new(bus->base, -1, 0, on_watch_timer, s);
	if (!s->ev_ask || !s->ev_watch) {
		bus_sentinel_free(s);
		return NULL;
	}
	return s;
}

void bus_sentinel_free(struct bus_sentinel *s)
{
	if (!s)
		return;
	sentinel_close(&s->ask, false);
	sentinel_close(&s->watch, false);
	if (s->ev_ask)
		event_free(s->ev_ask);
	if (s->ev_watch)
		event_free(s->ev_watch);
	free(s);
}
