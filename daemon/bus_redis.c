/*
 * bus_redis.c - the bus's transport: hotlined's shared Redis connections.
 *
 * Owns: the two shared connections, `cmd` (commands, publishing, acks) and
 * `sub` (the rules' SUBSCRIBE): AUTH, INFO (the server's run_id, for the epoch
 * check, and its role: a replica is left at once), loading the Lua scripts of
 * queries/ (queries.h scripts[], run later with EVALSHA by the SHA1 the build
 * computed), dropping both when either drops and reopening them together with
 * exponential backoff, at the primary's address (the configured one, or the
 * sentinels' answer, asked again before every reconnect), following a failover
 * (bus_failover), the bus timer (reconnect while down; the periodic epoch and rule
 * checks while up), readiness and its callbacks, the statistics, and the
 * fire-and-forget commands: bus_alert, bus_set_value, and finishing or handing
 * back stream entries for the consumers and the callback queue. Until Redis is
 * ready, publishing returns -1 (the relay leaves the work in the PostgreSQL
 * outbox) and consumers wait. With [redis] password set, AUTH is the first
 * command of every connection; a refusal is logged and drops the connection (the
 * usual backoff follows).
 * Never: decides what Redis's data means (bus_rules.c follows the rules,
 * bus_epoch.c notices lost data), blocks, or frees a context from inside its own
 * callback: a hiredis context frees itself after a disconnect, and our
 * references are dropped first (STYLE #6).
 * Callers: daemon/main.c (bus_new, bus_start, bus_free, bus_get_stats),
 *          daemon/horizon.c and daemon/watcher.c (alerts, values), every module
 *          that asks bus_connected or bus_on_ready, and the other bus_*.c files
 *          through bus_private.h.
 */
#include "bus_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "bus_libevent.h"
#include "log.h"
#include "timer.h"
#include "queries.h"

#define IDLE_AT_ONCE "31536000000" /* ms, a year: an entry claimable by the next claim */

/* ---- helpers ----------------------------------------------------------- */

static void split_address(const char *address, char *host, size_t hostlen, int *port)
{
	if (config_parse_hostport(address, host, hostlen, port) != 0) {
		snprintf(host, hostlen, "127.0.0.1");
		*port = 6379;
	}
}

/* A refused AUTH: the connection is useless; dropping it brings the usual
 * reconnect with backoff (the password may be fixed by then, or Redis's). */
static void on_auth(redisAsyncContext *ctx, void *r, void *privdata)
{
	redisReply *reply = r;
	if (!reply || !ctx->data || reply->type != REDIS_REPLY_ERROR)
		return;
	log_error("bus: Redis refused AUTH: %s (check [redis] username and password)", reply->str);
	redisAsyncDisconnect(ctx);
}

redisAsyncContext *bus_open_context(struct bus *bus)
{
	const struct hotline_config *cfg = bus->cfg;
	const char *address = bus->primary;
	if (address[0] == '\0')
		return NULL; /* the sentinels have not said yet */
	redisAsyncContext *ctx;
	if (address[0] == '/') {
		ctx = redisAsyncConnectUnix(address);
	} else {
		char host[256];
		int port;
		split_address(address, host, sizeof(host), &port);
		ctx = redisAsyncConnect(host, port);
	}
	if (!ctx)
		return NULL;
	if (ctx->err) {
		log_warn("bus: cannot connect to Redis at %s: %s", address, ctx->errstr);
		redisAsyncFree(ctx);
		return NULL;
	}
	if (bus_libevent_attach(ctx, bus->base) != REDIS_OK) {
		log_warn("bus: cannot attach a Redis connection to the loop (out of memory)");
		redisAsyncFree(ctx);
		return NULL;
	}
	/* Queued now, sent first once connected, ahead of anything the connect
	 * callback sends. */
	if (cfg->redis_password[0] && cfg->redis_username[0])
		redisAsyncCommand(ctx, on_auth, NULL, "AUTH %s %s", cfg->redis_username,
				  cfg->redis_password);
	else if (cfg->redis_password[0])
		redisAsyncCommand(ctx, on_auth, NULL, "AUTH %s", cfg->redis_password);
	return ctx;
}

long bus_next_backoff(long *backoff, const struct hotline_config *cfg)
{
	return backoff_next(backoff, cfg->pg_reconnect_min_ms, cfg->pg_reconnect_max_ms, 0, 25,
			    (unsigned long)random());
}

bool bus_is_nogroup(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOGROUP", 7) == 0;
}

bool bus_is_readonly(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "READONLY", 8) == 0;
}

/* ---- shared connections -------------------------------------------------- */

static void bus_connect(struct bus *bus);

static void bus_down(struct bus *bus, const char *why)
{
	bool was_up = bus->cmd || bus->sub;
	bus->ready = false;
	/* Each context frees itself; drop our references first so their
	 * disconnect callbacks do not come back here. */
	redisAsyncContext *cmd = bus->cmd, *sub = bus->sub;
	bus->cmd = bus->sub = NULL;
	bus->cmd_up = bus->sub_up = false;
	bus->gen++; /* answers of a verification in flight no longer count */
	bus->verifying = false;
	if (cmd) {
		cmd->data = NULL;
		redisAsyncDisconnect(cmd);
	}
	if (sub) {
		sub->data = NULL;
		redisAsyncDisconnect(sub);
	}
	if (bus->stopping)
		return;
	long delay = bus_next_backoff(&bus->backoff_ms, bus->cfg);
	if (was_up) {
		bus->stats.reconnects++;
		log_warn("bus: Redis connection lost (%s); retrying in %ld ms", why, delay);
	}
	timer_arm(bus->ev_timer, delay);
}

void bus_failover(struct bus *bus, const char *why)
{
	if (!bus->cmd && !bus->sub)
		return; /* already reconnecting */
	log_warn("bus: Redis at %s is not the primary now (%s)%s", bus->primary, why,
		 bus->sentinel ? "; asking the sentinels" : "");
	bus_down(bus, why);
}

void bus_primary_found(struct bus *bus, const char *host, int port)
{
	char address[BUS_ADDRESS_MAX];
	snprintf(address, sizeof(address), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
	if (strcmp(address, bus->primary) != 0) {
		if (bus->primary[0]) {
			bus->stats.failovers++;
			log_warn("bus: the sentinels name a new primary: %s (was %s)", address,
				 bus->primary);
		} else {
			log_info("bus: the sentinels name the primary: %s", address);
		}
		snprintf(bus->primary, sizeof(bus->primary), "%s", address);
		bus->primary_gen++;
	}
	if (bus->stopping || bus->cmd || bus->sub)
		return;
	bus_connect(bus);
	if (bus->cmd)
		timer_arm(bus->ev_timer, bus->cfg->redis_check_interval_ms);
}

void bus_primary_unknown(struct bus *bus, const char *why)
{
	if (bus->stopping || bus->cmd || bus->sub)
		return;
	long delay = bus_next_backoff(&bus->backoff_ms, bus->cfg);
	log_warn("bus: no sentinel named the primary of '%s' (%s); asking again in %ld ms",
		 bus->cfg->redis_master_name, why, delay);
	timer_arm(bus->ev_timer, delay);
}

/* ctx, one of the two connections, is going (hiredis frees it after a
 * disconnect or a failed connect): forget it, and drop the other with it. */
static void bus_context_gone(struct bus *bus, const redisAsyncContext *ctx, const char *why)
{
	if (ctx == bus->cmd)
		bus->cmd = NULL;
	else if (ctx == bus->sub)
		bus->sub = NULL;
	bus_down(bus, why);
}

static void on_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (bus)
		bus_context_gone(bus, ctx, ctx->errstr[0] ? ctx->errstr : "disconnected");
}

/* One script loaded: its SHA must be the one built in (queries.h); the last one
 * makes the connection usable. */
static void on_script_loaded(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data)
		return;
	bool known = false;
	for (int i = 0; reply->type == REDIS_REPLY_STRING && i < SCRIPT_COUNT; i++)
		known = known || strcmp(reply->str, scripts[i].sha) == 0;
	if (!known) {
		log_error("bus: SCRIPT LOAD failed: %s",
			  reply->type == REDIS_REPLY_ERROR    ? reply->str
			  : reply->type == REDIS_REPLY_STRING ? "a SHA1 this build does not know"
							      : "unexpected reply");
		bus_down(bus, "script load failed");
		return;
	}
	if (++bus->scripts_loaded < SCRIPT_COUNT)
		return;
	bus->backoff_ms = 0;
	/* The rule set first (routing waits for it), then: not ready to publish until
	 * we know whether Redis lost its data. */
	bus_rules_fetch(bus);
	bus_epoch_check(bus);
}

void bus_become_ready(struct bus *bus)
{
	if (bus->ready)
		return;
	bus->ready = true;
	log_info("bus: Redis ready at %s", bus->primary);
	for (int i = 0; i < bus->nready_cbs; i++)
		bus->ready_cbs[i].fn(bus->ready_cbs[i].arg);
}

/* The bus of a context that finished connecting; NULL when it failed (handled) or the bus is gone.
 */
static struct bus *connected(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (bus && status != REDIS_OK) {
		bus_context_gone(bus, ctx, ctx->errstr);
		return NULL;
	}
	return bus;
}

/*
 * INFO, the first answer on a new command connection: a replica is left at once
 * (hotlined writes only to the primary; a sentinel's answer may be stale, a
 * configured address may be a demoted server); the run_id names the server process
 * for the epoch check (bus_epoch.c). INFO refused (an ACL without +info): the
 * run_id stays unknown and a failover to a replica goes unnoticed by the epoch
 * check, which the log says once.
 */
static void on_info(redisAsyncContext *ctx, void *r, void *privdata)
{
	static bool refusal_logged;
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data)
		return;
	bus->run_id[0] = '\0';
	if (reply->type != REDIS_REPLY_STRING) {
		if (!refusal_logged)
			log_warn("bus: Redis refused INFO (%s): a failover to a replica that "
				 "lacks recent writes cannot be noticed; allow +info",
				 reply->type == REDIS_REPLY_ERROR ? reply->str
								  : "unexpected reply");
		refusal_logged = true;
	} else {
		char role[32];
		if (redis_ha_info_field(reply->str, reply->len, "role", role, sizeof(role)) == 0 &&
		    strcmp(role, "master") != 0) {
			char why[BUS_ADDRESS_MAX + 64], host[REDIS_HA_HOST_MAX], port[16];
			if (redis_ha_info_field(reply->str, reply->len, "master_host", host,
						sizeof(host)) != 0 ||
			    redis_ha_info_field(reply->str, reply->len, "master_port", port,
						sizeof(port)) != 0)
				snprintf(why, sizeof(why), "it is a %s", role);
			else
				snprintf(why, sizeof(why), "it is a replica of %s:%s", host, port);
			bus_failover(bus, why);
			return;
		}
		if (redis_ha_info_field(reply->str, reply->len, "run_id", bus->run_id,
					sizeof(bus->run_id)) != 0)
			bus->run_id[0] = '\0';
	}
	for (int i = 0; i < SCRIPT_COUNT; i++)
		redisAsyncCommand(bus->cmd, on_script_loaded, bus, "SCRIPT LOAD %s",
				  scripts[i].text);
}

static void on_cmd_connect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = connected(ctx, status);
	if (!bus)
		return;
	bus->cmd_up = true;
	bus->scripts_loaded = 0;
	redisAsyncCommand(bus->cmd, on_info, bus, "INFO");
}

static void on_sub_connect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = connected(ctx, status);
	if (!bus)
		return;
	bus->sub_up = true;
	bus_rules_subscribe(bus);
}

static void bus_connect(struct bus *bus)
{
	bus->cmd = bus_open_context(bus);
	bus->sub = bus->cmd ? bus_open_context(bus) : NULL;
	if (!bus->cmd || !bus->sub) {
		if (bus->cmd) {
			redisAsyncFree(bus->cmd);
			bus->cmd = NULL;
		}
		timer_arm(bus->ev_timer, bus_next_backoff(&bus->backoff_ms, bus->cfg));
		return;
	}
	bus->cmd->data = bus;
	bus->sub->data = bus;
	redisAsyncSetConnectCallback(bus->cmd, on_cmd_connect);
	redisAsyncSetDisconnectCallback(bus->cmd, on_disconnect);
	redisAsyncSetConnectCallback(bus->sub, on_sub_connect);
	redisAsyncSetDisconnectCallback(bus->sub, on_disconnect);
}

static void on_bus_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bus *bus = arg;
	if (!bus->cmd && !bus->sub && bus->sentinel) {
		bus_sentinel_ask(bus->sentinel); /* connects in bus_primary_found */
		return;
	}
	if (!bus->cmd && !bus->sub) {
		bus_connect(bus);
		if (bus->cmd)
			timer_arm(bus->ev_timer, bus->cfg->redis_check_interval_ms);
		return;
	}
	/* Periodic: notice a FLUSHALL, and a rules change whose message we missed. */
	bus_epoch_check(bus);
	bus_rules_fetch(bus);
	timer_arm(bus->ev_timer, bus->cfg->redis_check_interval_ms);
}

struct bus *bus_new(struct event_base *base, const struct hotline_config *cfg,
		    struct router *router, struct store_pg *store)
{
	struct bus *bus = calloc(1, sizeof(*bus));
	if (!bus)
		return NULL;
	bus->base = base;
	bus->cfg = cfg;
	bus->router = router;
	bus->store = store;
	if (!cfg->redis_sentinels[0])
		snprintf(bus->primary, sizeof(bus->primary), "%s", cfg->redis_address);
	bus->ev_timer = event_new(base, -1, 0, on_bus_timer, bus);
	if (!bus->ev_timer) {
		free(bus);
		return NULL;
	}
	if (cfg->redis_sentinels[0] && !(bus->sentinel = bus_sentinel_new(bus))) {
		event_free(bus->ev_timer);
		free(bus);
		return NULL;
	}
	return bus;
}

void bus_start(struct bus *bus)
{
	if (bus->sentinel)
		bus_sentinel_watch(bus->sentinel);
	timer_arm(bus->ev_timer, 0);
}

void bus_free(struct bus *bus)
{
	if (!bus)
		return;
	bus->stopping = true;
	bus_sentinel_free(bus->sentinel);
	if (bus->cmd) {
		bus->cmd->data = NULL;
		redisAsyncFree(bus->cmd);
	}
	if (bus->sub) {
		bus->sub->data = NULL;
		redisAsyncFree(bus->sub);
	}
	event_free(bus->ev_timer);
	free(bus);
}

bool bus_connected(const struct bus *bus)
{
	return bus->ready && bus->cmd_up;
}

const char *bus_epoch(const struct bus *bus)
{
	return bus_connected(bus) ? bus->epoch : "";
}

void bus_get_stats(const struct bus *bus, struct bus_stats *out)
{
	*out = bus->stats;
	out->connected = bus_connected(bus);
	out->rules_version = router_version(bus->router);
}

void bus_on_ready(struct bus *bus, void (*fn)(void *), void *arg)
{
	if (bus->nready_cbs < (int)(sizeof(bus->ready_cbs) / sizeof(bus->ready_cbs[0])))
		bus->ready_cbs[bus->nready_cbs++] = (struct bus_ready_cb){ fn, arg };
}

int bus_alert(struct bus *bus, const char *channel, const char *message)
{
	if (!bus->cmd_up)
		return -1;
	return redisAsyncCommand(bus->cmd, NULL, NULL, "PUBLISH %s %s", channel, message) ==
			       REDIS_OK
		       ? 0
		       : -1;
}

int bus_set_value(struct bus *bus, const char *key, const char *value, long ttl_s)
{
	if (!bus->cmd_up)
		return -1;
	char ttl[32];
	snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
	return redisAsyncCommand(bus->cmd, NULL, NULL, "SET %s %s EX %s", key, value, ttl) ==
			       REDIS_OK
		       ? 0
		       : -1;
}

/* ---- stream entries, for the consumers and the callback queue ------------ */

/* XACK (and with delete, XDEL) stream key group ids[0..n): see bus_private.h. */
static int entries_finish(struct bus *bus, const char *stream, const char *group,
			  const char *const *ids, size_t n, bool delete)
{
	if (n == 0)
		return 0;
	if (!bus->cmd_up || !bus->cmd)
		return -1;
	size_t argc = n + 3;
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *argvlen = calloc(argc, sizeof(*argvlen));
	int rc = -1;
	if (argv && argvlen) {
		argv[0] = "XACK";
		argv[1] = stream;
		argv[2] = group;
		for (size_t i = 0; i < n; i++)
			argv[3 + i] = ids[i];
		for (size_t i = 0; i < argc; i++)
			argvlen[i] = strlen(argv[i]);
		redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)argc, argv, argvlen);
		if (delete) {
			/* XDEL key id...: the ids stay in place; "XDEL key" takes the
			 * slots of "key group". */
			argv[1] = "XDEL";
			argvlen[1] = 4;
			argv[2] = stream;
			argvlen[2] = strlen(stream);
			redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)argc - 1, argv + 1,
					      argvlen + 1);
		}
		rc = 0;
	}
	free(argv);
	free(argvlen);
	return rc;
}

int bus_entries_done(struct bus *bus, const char *stream, const char *group, const char *const *ids,
		     size_t n)
{
	return entries_finish(bus, stream, group, ids, n, true);
}

int bus_entries_ack(struct bus *bus, const char *stream, const char *group, const char *const *ids,
		    size_t n)
{
	return entries_finish(bus, stream, group, ids, n, false);
}

/* Fire and forget but for an error, logged: the entries stay until the next trim. */
static void on_trimmed(redisAsyncContext *ctx, void *r, void *privdata)
{
	const redisReply *reply = r;
	(void)privdata;
	if (ctx->data && reply && reply->type == REDIS_REPLY_ERROR)
		log_warn("bus: trimming a stream failed: %s", reply->str);
}

int bus_stream_trim(struct bus *bus, const char *stream, const char *group)
{
	if (!bus->cmd_up || !bus->cmd || bus->scripts_loaded < SCRIPT_COUNT)
		return -1;
	return redisAsyncCommand(bus->cmd, on_trimmed, NULL, "EVALSHA %s 1 %s %s %d",
				 scripts[SCRIPT_STREAM_TRIM].sha, stream, group,
				 BUS_TRIM_KEEP_MAX) == REDIS_OK
		       ? 0
		       : -1;
}

void bus_entries_orphan(struct bus *bus, const char *stream, const char *group,
			const char *const *ids, size_t n)
{
	if (n == 0 || !bus->cmd_up || !bus->cmd)
		return;
	/* XCLAIM stream group orphans 0 id... IDLE <a year> JUSTID */
	size_t argc = 5 + n + 3;
	const char **argv = calloc(argc, sizeof(*argv));
	size_t *argvlen = calloc(argc, sizeof(*argvlen));
	if (argv && argvlen) {
		size_t k = 0;
		argv[k++] = "XCLAIM";
		argv[k++] = stream;
		argv[k++] = group;
		argv[k++] = BUS_ORPHANS;
		argv[k++] = "0";
		for (size_t i = 0; i < n; i++)
			argv[k++] = ids[i];
		argv[k++] = "IDLE";
		argv[k++] = IDLE_AT_ONCE;
		argv[k++] = "JUSTID";
		for (size_t i = 0; i < k; i++)
			argvlen[i] = strlen(argv[i]);
		redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)k, argv, argvlen);
	}
	free(argv);
	free(argvlen);
}
