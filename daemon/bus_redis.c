/*
 * bus_redis.c - hotlined's Redis connections and the department streams.
 *
 * Two shared connections: `cmd` (commands, publishing, acks) and `sub`
 * (SUBSCRIBE hotline:rules:changed). If either drops, both are dropped and
 * reopened together with exponential backoff; until then publishing returns
 * -1 (the relay leaves the work in the PostgreSQL outbox) and consumers wait.
 * With [redis] password set, AUTH is the first command of every connection; a
 * refusal is logged and drops the connection (the usual backoff follows).
 *
 * Publishing: bus_publish appends up to BUS_PUBLISH_MAX tickets with one run of
 * queries/publish.lua, each guarded by its publish marker, so re-publishing the same
 * dispatch or callback (whichever outbox row carries it) is a no-op. The markers
 * are fields of one hash per hour (hotline:published:HOUR), not a key each: a
 * call costs Redis a TIME, two HMGETs, one HSET and one EXPIRE besides its XADDs.
 *
 * Data loss: Redis's hotline:epoch must equal the epoch PostgreSQL's bus_epoch
 * row recorded (006_bus_epoch). When it is missing (a restart without
 * persistence, FLUSHALL) or differs (an old snapshot, a rebuild never
 * announced), a daemon claims the rebuild in PostgreSQL together with a
 * 'rebuild' outbox row for every DISPATCHED ticket and REPLIED callback, in
 * one transaction, and only then sets the new epoch in Redis and gives Redis
 * the rule set back (check_epoch). A daemon killed between the two leaves the
 * rebuild owed, never skipped. The relay publishes the rows once more (the
 * marker hashes that made re-publishing a no-op were lost with the rest, so
 * each ticket lands in its stream once). Consumers re-create their group
 * (NOGROUP) by themselves.
 *
 * Consumers: each department connection owns one Redis connection for its
 * blocking XREADGROUP. At connect, and every redeliver_after_ms / 2, it
 * claims entries other consumers have held longer than redeliver_after_ms (a
 * consumer that vanished or went silent) — never its own. Acks collected during one loop pass go
 * out as one XACK and one XDEL. When a connection ends, its unacknowledged entries are XCLAIMed to
 * the "orphans" consumer with a huge idle time, so the next XAUTOCLAIM takes them at once.
 *
 * Callbacks (agents): one stream, hotline:callbacks, group "agents". Claims are
 * one-shot commands on `cmd` (see bus_callback_claim), so an agent connection
 * costs Redis no connection of its own.
 *
 * Lifetimes: a hiredis context frees itself after a disconnect; objects that
 * own one are marked dying and freed from a deferred event, never inside a
 * hiredis callback (STYLE #6).
 */
#include "bus_redis.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "backoff.h"
#include "clock.h"
#include "fault.h"
#include "log.h"
#include "queries.h"

#define KEY_RULES "hotline:rules"
#define KEY_RULES_VERSION "hotline:rules:version"
#define CHANNEL_RULES "hotline:rules:changed"
#define KEY_EPOCH "hotline:epoch"
#define ORPHANS "orphans"
#define BLOCK_MS 2000L /* longest XREADGROUP block, ms */
#define EPOCH_MAX 64   /* bytes of an epoch, with its NUL */

struct ready_cb {
	void (*fn)(void *);
	void *arg;
};

struct bus {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct router *router;
	struct store_pg *store;
	redisAsyncContext *cmd;
	redisAsyncContext *sub;
	bool cmd_up, sub_up;
	bool ready;	    /* script loaded, epoch verified against PostgreSQL */
	int scripts_loaded; /* SCRIPT LOADs answered on this connection */
	/* The epoch of the dataset known to be whole (Redis's hotline:epoch equal to
	 * PostgreSQL's bus_epoch), "" until verified; see check_epoch(). */
	char epoch[EPOCH_MAX];
	/* A verification (or rebuild) in flight, started on connection generation
	 * verify_gen: its answers are ignored once the connection changed. */
	bool verifying;
	unsigned gen, verify_gen;
	char seen_epoch[EPOCH_MAX]; /* Redis's epoch as the verification read it ("" = none) */
	char new_epoch[EPOCH_MAX];  /* the epoch a rebuild claims */
	long backoff_ms;
	struct event *ev_timer; /* reconnect while down; periodic checks while up */
	struct ready_cb ready_cbs[4];
	int nready_cbs;
	struct bus_stats stats;
	bool stopping;
};

struct bus_consumer {
	struct bus *bus;
	char dept_code[CODE_MAX + 1];
	char stream[CODE_MAX + 16];
	char name[96];
	bus_deliver_fn deliver;
	void *arg;
	redisAsyncContext *ctx;
	bool connected;
	bool reading; /* a command is in flight */
	bool dying;
	size_t room;
	long backoff_ms;
	int64_t next_claim_ms; /* XAUTOCLAIM at connect, then every redeliver_after_ms / 2 */
	/* acks collected during this loop pass, sent as one XACK and one XDEL */
	char **acks;
	size_t nacks, acks_cap;
	struct event *ev_timer; /* reconnect, or retry after an error */
	struct event *ev_reap;
	struct event *ev_flush;
};

static void bus_connect(struct bus *bus);
static void fetch_rules(struct bus *bus);
static void consumer_next(struct bus_consumer *c);
static void consumer_read(struct bus_consumer *c);
static void flush_acks(evutil_socket_t fd, short what, void *arg);

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

/* Opens a connection to cfg's Redis; AUTH, when configured, is its first command. */
static redisAsyncContext *open_context(struct event_base *base, const struct hotline_config *cfg)
{
	const char *address = cfg->redis_address;
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
	redisLibeventAttach(ctx, base);
	/* Queued now, sent first once connected, ahead of anything the connect
	 * callback sends. */
	if (cfg->redis_password[0] && cfg->redis_username[0])
		redisAsyncCommand(ctx, on_auth, NULL, "AUTH %s %s", cfg->redis_username,
				  cfg->redis_password);
	else if (cfg->redis_password[0])
		redisAsyncCommand(ctx, on_auth, NULL, "AUTH %s", cfg->redis_password);
	return ctx;
}

static void arm_timer(struct event *ev, long ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	event_add(ev, &tv);
}

/* The reconnect delay: the same schedule as PostgreSQL's, +0..25% jitter. */
static long next_backoff(long *backoff, const struct hotline_config *cfg)
{
	return backoff_next(backoff, cfg->pg_reconnect_min_ms, cfg->pg_reconnect_max_ms, 0, 25,
			    (unsigned long)random());
}

/* ---- shared connections -------------------------------------------------- */

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
	long delay = next_backoff(&bus->backoff_ms, bus->cfg);
	if (was_up) {
		bus->stats.reconnects++;
		log_warn("bus: Redis connection lost (%s); retrying in %ld ms", why, delay);
	}
	arm_timer(bus->ev_timer, delay);
}

static void on_cmd_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (!bus)
		return;
	bus->cmd = NULL; /* hiredis frees it */
	bus_down(bus, ctx->errstr[0] ? ctx->errstr : "disconnected");
}

static void on_sub_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (!bus)
		return;
	bus->sub = NULL;
	bus_down(bus, ctx->errstr[0] ? ctx->errstr : "disconnected");
}

static void on_rules(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
		return;
	redisReply *version = reply->element[0], *text = reply->element[1];
	if (version->type == REDIS_REPLY_STRING && text->type == REDIS_REPLY_STRING) {
		long long v = strtoll(version->str, NULL, 10);
		long long ours = router_version(bus->router);
		if (v < ours && (!router_text(bus->router) ||
				 strcmp(router_text(bus->router), text->str) != 0)) {
			/* Versions never go backwards unless Redis lost its data and a
			 * rule set was loaded since: that load is the newest intent.
			 * Lift Redis's counter above ours; the next read adopts it. */
			log_warn("bus: rule version in Redis went back from %lld to %lld (data "
				 "lost, then loaded again): adopting the rules loaded since",
				 ours, v);
			char by[32];
			snprintf(by, sizeof(by), "%lld", ours - v + 1);
			redisAsyncCommand(bus->cmd, NULL, NULL, "INCRBY %s %s", KEY_RULES_VERSION,
					  by);
			fetch_rules(bus);
			return;
		}
		if (router_offer_rules(bus->router, v, text->str, text->len) != 0)
			log_error("bus: rule set version %lld in Redis does not parse; keeping "
				  "version %lld",
				  v, router_version(bus->router));
		bus->stats.rules_version = router_version(bus->router);
		router_rules_seen(bus->router);
		return;
	}
	router_rules_seen(bus->router); /* Redis has none: PostgreSQL's are the newest */
	/* Redis has no rules (new, or lost): give it ours back, if we have any. */
	const char *ours = router_text(bus->router);
	if (ours && version->type == REDIS_REPLY_NIL) {
		char v[32];
		snprintf(v, sizeof(v), "%lld", router_version(bus->router));
		redisAsyncCommand(bus->cmd, NULL, NULL, "MSETNX %s %s %s %s", KEY_RULES_VERSION, v,
				  KEY_RULES, ours);
		log_info("bus: gave Redis the rule set back (version %s)", v);
	}
}

static void fetch_rules(struct bus *bus)
{
	if (bus->cmd_up)
		redisAsyncCommand(bus->cmd, on_rules, bus, "MGET %s %s", KEY_RULES_VERSION,
				  KEY_RULES);
}

static void become_ready(struct bus *bus);
static void check_epoch(struct bus *bus);

/*
 * Knowing that Redis has its data (check_epoch): Redis's hotline:epoch must
 * equal the epoch PostgreSQL's bus_epoch row records. Once it did, a later GET
 * returning the same value needs no PostgreSQL (the dataset is the one verified).
 * Otherwise (missing: a restart without persistence or FLUSHALL; different: a
 * restore of an old snapshot, another daemon's rebuild not yet announced, or a
 * daemon that died before announcing its own) a rebuild is owed: it is claimed in
 * PostgreSQL with its outbox rows in one transaction (rebuild_sql), and only
 * after that commit is the new epoch set in Redis. Publishing waits until then.
 * A daemon killed at any step leaves the rebuild owed, never skipped: before the
 * commit nothing changed; after it Redis's epoch still differs, and the next
 * daemon rebuilds once more (the publish markers make the copy a no-op).
 */

/* False for an answer of a verification whose connection is gone (bus_down
 * ended it; the next connection starts its own). */
static bool verify_current(const struct bus *bus)
{
	return bus->verifying && bus->verify_gen == bus->gen && bus->cmd_up;
}

static void on_epoch_set(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!ctx->data || !verify_current(bus))
		return;
	bus->verifying = false;
	if (!reply || reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: setting %s failed (%s); the rebuild stays owed and is retried",
			 KEY_EPOCH, reply ? reply->str : "no reply");
		return;
	}
	fault_point("rebuild_announced");
	snprintf(bus->epoch, sizeof(bus->epoch), "%s", bus->new_epoch);
	log_info("bus: rebuild announced in Redis (epoch %s)", bus->epoch);
	fetch_rules(bus); /* gives Redis the rule set back if it has none */
	become_ready(bus);
}

static void on_rebuild_done(void *arg, const PGresult *res, const char *error)
{
	struct bus *bus = arg;
	if (error) {
		if (verify_current(bus))
			bus->verifying = false;
		log_error("bus: the rebuild from PostgreSQL failed: %s (retried)", error);
		return;
	}
	bool claimed =
		PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, REBUILD_C_CLAIMED), "1") == 0;
	if (!claimed) {
		/* Another daemon claimed a rebuild meanwhile: look again. */
		if (!verify_current(bus))
			return;
		log_info("bus: another daemon rebuilt Redis meanwhile; checking again");
		bus->verifying = false;
		check_epoch(bus);
		return;
	}
	fault_point("rebuild_claimed");
	bus->stats.rebuilds++;
	log_warn("bus: rebuild claimed in PostgreSQL: %s open dispatches and callbacks queued for "
		 "republishing (epoch %s)",
		 PQgetvalue(res, 0, REBUILD_C_QUEUED), bus->new_epoch);
	if (!verify_current(bus))
		return; /* the claim is durable; the next connection's check rebuilds again */
	redisAsyncCommand(bus->cmd, on_epoch_set, bus, "SET %s %s", KEY_EPOCH, bus->new_epoch);
}

/* Fills buf with a fresh random epoch (hex of 16 bytes from getrandom, else random()). */
static void new_epoch(char *buf, size_t len)
{
	unsigned char bytes[16];
	ssize_t got = getrandom(bytes, sizeof(bytes), 0);
	for (size_t i = 0; i < sizeof(bytes); i++)
		if (got != (ssize_t)sizeof(bytes))
			bytes[i] = (unsigned char)random();
	size_t at = 0;
	for (size_t i = 0; i < sizeof(bytes) && at + 3 <= len; i++)
		at += (size_t)snprintf(buf + at, len - at, "%02x", bytes[i]);
}

static void on_pg_epoch(void *arg, const PGresult *res, const char *error)
{
	struct bus *bus = arg;
	if (!verify_current(bus))
		return;
	if (error) {
		bus->verifying = false;
		log_warn("bus: reading bus_epoch failed: %s (retried)", error);
		return;
	}
	bool have = PQntuples(res) == 1 && !PQgetisnull(res, 0, BUS_EPOCH_C_EPOCH);
	const char *recorded = have ? PQgetvalue(res, 0, BUS_EPOCH_C_EPOCH) : NULL;
	if (bus->seen_epoch[0] && recorded && strcmp(bus->seen_epoch, recorded) == 0) {
		bus->verifying = false;
		snprintf(bus->epoch, sizeof(bus->epoch), "%s", recorded);
		fetch_rules(bus);
		become_ready(bus);
		return;
	}
	fault_point("rebuild_seen");
	if (bus->seen_epoch[0])
		log_warn("bus: Redis's %s (%s) is not the epoch PostgreSQL rebuilt (%s): Redis may "
			 "lack data (an old snapshot, or a rebuild never announced); rebuilding "
			 "department streams from PostgreSQL",
			 KEY_EPOCH, bus->seen_epoch, recorded ? recorded : "none");
	else
		log_warn("bus: Redis has no hotline data (new, restarted without persistence, or "
			 "flushed): rebuilding department streams from PostgreSQL");
	new_epoch(bus->new_epoch, sizeof(bus->new_epoch));
	char now[32], who[64];
	snprintf(now, sizeof(now), "%lld", (long long)clock_now_ms());
	snprintf(who, sizeof(who), "hotlined pid %d", (int)getpid());
	const char *values[REBUILD_NPARAMS] = {
		[REBUILD_P_NEW_EPOCH] = bus->new_epoch,
		[REBUILD_P_OLD_EPOCH] = recorded,
		[REBUILD_P_AT_MS] = now,
		[REBUILD_P_REBUILT_BY] = who,
	};
	store_pg_query(bus->store, QUERY_REBUILD, values, on_rebuild_done, bus);
}

static void on_epoch(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || !verify_current(bus))
		return;
	if (reply->type == REDIS_REPLY_STRING && bus->epoch[0] &&
	    strcmp(bus->epoch, reply->str) == 0) {
		bus->verifying = false; /* the dataset verified before */
		become_ready(bus);
		return;
	}
	if (reply->type != REDIS_REPLY_STRING && reply->type != REDIS_REPLY_NIL) {
		bus->verifying = false;
		log_warn("bus: GET %s: %s", KEY_EPOCH,
			 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		return;
	}
	if (bus->ready) {
		/* The dataset changed under us: stop publishing until it is verified. */
		bus->ready = false;
		log_warn("bus: Redis's %s changed; publishing waits until it is checked",
			 KEY_EPOCH);
	}
	bus->epoch[0] = '\0';
	snprintf(bus->seen_epoch, sizeof(bus->seen_epoch), "%s",
		 reply->type == REDIS_REPLY_STRING ? reply->str : "");
	store_pg_query(bus->store, QUERY_BUS_EPOCH, NULL, on_pg_epoch, bus);
}

static void check_epoch(struct bus *bus)
{
	if (!bus->cmd_up || bus->verifying)
		return;
	bus->verifying = true;
	bus->verify_gen = bus->gen;
	redisAsyncCommand(bus->cmd, on_epoch, bus, "GET %s", KEY_EPOCH);
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
	fetch_rules(bus);
	check_epoch(bus);
}

static void become_ready(struct bus *bus)
{
	if (bus->ready)
		return;
	bus->ready = true;
	log_info("bus: Redis ready at %s", bus->cfg->redis_address);
	for (int i = 0; i < bus->nready_cbs; i++)
		bus->ready_cbs[i].fn(bus->ready_cbs[i].arg);
}

static void on_cmd_connect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (!bus)
		return;
	if (status != REDIS_OK) {
		bus->cmd = NULL; /* hiredis frees a context that failed to connect */
		bus_down(bus, ctx->errstr);
		return;
	}
	bus->cmd_up = true;
	bus->scripts_loaded = 0;
	for (int i = 0; i < SCRIPT_COUNT; i++)
		redisAsyncCommand(bus->cmd, on_script_loaded, bus, "SCRIPT LOAD %s",
				  scripts[i].text);
}

static void on_rules_changed(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus *bus = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
		return;
	if (reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, "message") == 0)
		fetch_rules(bus);
}

static void on_sub_connect(const redisAsyncContext *ctx, int status)
{
	struct bus *bus = ctx->data;
	if (!bus)
		return;
	if (status != REDIS_OK) {
		bus->sub = NULL;
		bus_down(bus, ctx->errstr);
		return;
	}
	bus->sub_up = true;
	redisAsyncCommand(bus->sub, on_rules_changed, bus, "SUBSCRIBE %s", CHANNEL_RULES);
}

static void bus_connect(struct bus *bus)
{
	bus->cmd = open_context(bus->base, bus->cfg);
	bus->sub = bus->cmd ? open_context(bus->base, bus->cfg) : NULL;
	if (!bus->cmd || !bus->sub) {
		if (bus->cmd) {
			redisAsyncFree(bus->cmd);
			bus->cmd = NULL;
		}
		arm_timer(bus->ev_timer, next_backoff(&bus->backoff_ms, bus->cfg));
		return;
	}
	bus->cmd->data = bus;
	bus->sub->data = bus;
	redisAsyncSetConnectCallback(bus->cmd, on_cmd_connect);
	redisAsyncSetDisconnectCallback(bus->cmd, on_cmd_disconnect);
	redisAsyncSetConnectCallback(bus->sub, on_sub_connect);
	redisAsyncSetDisconnectCallback(bus->sub, on_sub_disconnect);
}

static void on_bus_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bus *bus = arg;
	if (!bus->cmd && !bus->sub) {
		bus_connect(bus);
		if (bus->cmd)
			arm_timer(bus->ev_timer, bus->cfg->redis_check_interval_ms);
		return;
	}
	/* Periodic: notice a FLUSHALL, and a rules change whose message we missed. */
	check_epoch(bus);
	fetch_rules(bus);
	arm_timer(bus->ev_timer, bus->cfg->redis_check_interval_ms);
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
	bus->ev_timer = event_new(base, -1, 0, on_bus_timer, bus);
	if (!bus->ev_timer) {
		free(bus);
		return NULL;
	}
	return bus;
}

void bus_start(struct bus *bus)
{
	arm_timer(bus->ev_timer, 0);
}

void bus_free(struct bus *bus)
{
	if (!bus)
		return;
	bus->stopping = true;
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

void bus_get_stats(const struct bus *bus, struct bus_stats *out)
{
	*out = bus->stats;
	out->connected = bus_connected(bus);
	out->rules_version = router_version(bus->router);
}

void bus_on_ready(struct bus *bus, void (*fn)(void *), void *arg)
{
	if (bus->nready_cbs < (int)(sizeof(bus->ready_cbs) / sizeof(bus->ready_cbs[0])))
		bus->ready_cbs[bus->nready_cbs++] = (struct ready_cb){ fn, arg };
}

/* ---- publishing ---------------------------------------------------------- */

struct publish_req {
	struct bus *bus;
	struct bus_publish_item *items;
	size_t n;
	void (*done)(void *arg);
	void *arg;
};

static void on_published(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct publish_req *req = privdata;
	redisReply *reply = r;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == req->n) {
		size_t nrefused = 0, first = 0;
		for (size_t i = 0; i < req->n; i++) {
			const redisReply *e = reply->element[i];
			req->items[i].ok =
				e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_NIL;
			if (e->type == REDIS_REPLY_ERROR && nrefused++ == 0)
				first = i;
			if (!ctx->data)
				continue;
			if (e->type == REDIS_REPLY_STRING)
				req->bus->stats.published++;
			else if (e->type == REDIS_REPLY_NIL)
				req->bus->stats.republish_skipped++;
		}
		if (nrefused > 0)
			log_warn("bus: publish: Redis refused %zu of %zu tickets (the first, to "
				 "%s: %s)",
				 nrefused, req->n, req->items[first].stream,
				 reply->element[first]->str);
	} else if (reply && reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: publish failed: %s", reply->str);
	} else if (reply) {
		log_warn("bus: publish: unexpected reply (type %d)", reply->type);
	}
	req->done(req->arg);
	free(req);
}

int bus_publish(struct bus *bus, struct bus_publish_item *items, size_t n, void (*done)(void *arg),
		void *arg)
{
	if (!bus_connected(bus) || n == 0 || n > BUS_PUBLISH_MAX)
		return -1;
	struct publish_req *req = malloc(sizeof(*req));
	if (!req)
		return -1;
	*req = (struct publish_req){ bus, items, n, done, arg };
	/* EVALSHA sha numkeys, the streams, the markers, 2 arguments per ticket
	 * (the layout queries/publish.lua documents) */
	const char *argv[3 + 4 * BUS_PUBLISH_MAX];
	size_t argvlen[3 + 4 * BUS_PUBLISH_MAX];
	size_t k = 0;
	char nkeys[16];
	snprintf(nkeys, sizeof(nkeys), "%zu", n);
#define ARG(s, len) (argv[k] = (s), argvlen[k] = (len), k++)
	ARG("EVALSHA", 7);
	ARG(scripts[SCRIPT_PUBLISH].sha, strlen(scripts[SCRIPT_PUBLISH].sha));
	ARG(nkeys, strlen(nkeys));
	for (size_t i = 0; i < n; i++) {
		items[i].ok = false;
		ARG(items[i].stream, strlen(items[i].stream));
	}
	for (size_t i = 0; i < n; i++)
		ARG(items[i].mark, strlen(items[i].mark));
	for (size_t i = 0; i < n; i++) {
		ARG(items[i].ticket_no, strlen(items[i].ticket_no));
		ARG(items[i].ticket, items[i].ticket_len);
	}
#undef ARG
	/* hiredis copies the arguments into its output buffer here. */
	if (redisAsyncCommandArgv(bus->cmd, on_published, req, (int)k, argv, argvlen) != REDIS_OK) {
		free(req);
		return -1;
	}
	return 0;
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

/* ---- consumers ----------------------------------------------------------- */

static void consumer_reap(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	if (c->ctx) /* still tearing down: hiredis frees it, then we come back */
		return;
	flush_acks(-1, 0, c);
	free(c->acks);
	event_free(c->ev_flush);
	event_free(c->ev_timer);
	event_free(c->ev_reap);
	free(c);
}

static void consumer_lost(struct bus_consumer *c, const char *why)
{
	c->connected = false;
	c->reading = false;
	if (c->ctx) {
		redisAsyncContext *ctx = c->ctx;
		c->ctx = NULL;
		ctx->data = NULL;
		redisAsyncDisconnect(ctx);
	}
	if (c->dying) {
		event_active(c->ev_reap, EV_TIMEOUT, 0);
		return;
	}
	long delay = next_backoff(&c->backoff_ms, c->bus->cfg);
	log_debug("bus: consumer %s lost (%s); retrying in %ld ms", c->name, why, delay);
	arm_timer(c->ev_timer, delay);
}

static void on_consumer_disconnect(const redisAsyncContext *ctx, int status)
{
	struct bus_consumer *c = ctx->data;
	if (!c)
		return;
	c->ctx = NULL;
	consumer_lost(c, ctx->errstr[0] ? ctx->errstr : "disconnected");
}

/* Hands each [id, [field, value, ...]] entry of an array to deliver. */
static void deliver_entries(struct bus_consumer *c, const redisReply *entries)
{
	for (size_t i = 0; i < entries->elements && !c->dying; i++) {
		const redisReply *entry = entries->element[i];
		if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
		    entry->element[0]->type != REDIS_REPLY_STRING ||
		    entry->element[1]->type != REDIS_REPLY_ARRAY)
			continue; /* deleted meanwhile */
		const redisReply *fields = entry->element[1];
		const char *ticket_no = NULL, *ticket = NULL;
		size_t ticket_len = 0;
		for (size_t f = 0; f + 1 < fields->elements; f += 2) {
			const redisReply *k = fields->element[f], *v = fields->element[f + 1];
			if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(k->str, "ticket_no") == 0) {
				ticket_no = v->str;
			} else if (strcmp(k->str, "ticket") == 0) {
				ticket = v->str;
				ticket_len = v->len;
			}
		}
		if (!ticket_no || !ticket)
			continue;
		if (c->room > 0)
			c->room--;
		c->deliver(c->arg, entry->element[0]->str, ticket_no, ticket, ticket_len);
	}
}

static bool is_nogroup(const redisReply *reply)
{
	return reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "NOGROUP", 7) == 0;
}

static void on_group_created(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_consumer *c = privdata;
	if (!ctx->data || c->dying)
		return;
	c->reading = false;
	consumer_next(c);
}

static void create_group(struct bus_consumer *c)
{
	redisAsyncCommand(c->ctx, on_group_created, c, "XGROUP CREATE %s %s 0 MKSTREAM", c->stream,
			  BUS_GROUP);
}

static void on_read(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_consumer *c = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || c->dying)
		return;
	if (is_nogroup(reply)) {
		create_group(c);
		return;
	}
	c->reading = false;
	if (reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: XREADGROUP on %s: %s", c->stream, reply->str);
		arm_timer(c->ev_timer, 1000);
		return;
	}
	/* [[stream, [[id, fields], ...]]] or nil after BLOCK timed out */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
	    reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2)
		deliver_entries(c, reply->element[0]->element[1]);
	consumer_next(c);
}

static void on_autoclaim(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_consumer *c = privdata;
	redisReply *reply = r;
	if (!reply || !ctx->data || c->dying)
		return;
	if (is_nogroup(reply)) {
		create_group(c);
		return;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		c->reading = false;
		log_warn("bus: XAUTOCLAIM on %s: %s", c->stream, reply->str);
		arm_timer(c->ev_timer, 1000);
		return;
	}
	/* [next-cursor, [[id, fields], ...], [deleted ids]] */
	if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2 &&
	    reply->element[1]->type == REDIS_REPLY_ARRAY)
		deliver_entries(c, reply->element[1]);
	if (c->dying || !c->connected)
		return;
	if (c->room == 0) {
		c->reading = false;
		return;
	}
	consumer_read(c);
}

static void consumer_read(struct bus_consumer *c)
{
	/* Block at most half the redelivery time, so entries a silent consumer
	 * left behind are noticed on time. */
	long block = c->bus->cfg->redeliver_after_ms / 2;
	if (block > BLOCK_MS)
		block = BLOCK_MS;
	if (block < 50)
		block = 50;
	char count[32], block_ms[32];
	snprintf(count, sizeof(count), "%zu", c->room);
	snprintf(block_ms, sizeof(block_ms), "%ld", block);
	redisAsyncCommand(c->ctx, on_read, c,
			  "XREADGROUP GROUP %s %s COUNT %s BLOCK %s STREAMS %s >", BUS_GROUP,
			  c->name, count, block_ms, c->stream);
}

/*
 * One round: now and then claim what other consumers left behind (idle longer
 * than redeliver_after_ms), then wait for new tickets.
 */
static void consumer_next(struct bus_consumer *c)
{
	if (c->dying || !c->connected || c->reading || c->room == 0)
		return;
	c->reading = true;
	int64_t now = clock_now_ms();
	if (now < c->next_claim_ms) {
		consumer_read(c);
		return;
	}
	c->next_claim_ms = now + c->bus->cfg->redeliver_after_ms / 2;
	char idle[32], count[32];
	snprintf(idle, sizeof(idle), "%ld", c->bus->cfg->redeliver_after_ms);
	snprintf(count, sizeof(count), "%zu", c->room);
	redisAsyncCommand(c->ctx, on_autoclaim, c, "EVALSHA %s 1 %s %s %s %s %s",
			  scripts[SCRIPT_CONSUMER_CLAIM].sha, c->stream, BUS_GROUP, c->name, idle,
			  count);
}

static void on_consumer_connect(const redisAsyncContext *ctx, int status)
{
	struct bus_consumer *c = ctx->data;
	if (!c)
		return;
	if (status != REDIS_OK) {
		c->ctx = NULL;
		consumer_lost(c, ctx->errstr);
		return;
	}
	c->connected = true;
	c->backoff_ms = 0;
	c->next_claim_ms = 0; /* claim at once: a previous connection's leftovers */
	consumer_next(c);
}

static void consumer_connect(struct bus_consumer *c)
{
	c->ctx = open_context(c->bus->base, c->bus->cfg);
	if (!c->ctx) {
		arm_timer(c->ev_timer, next_backoff(&c->backoff_ms, c->bus->cfg));
		return;
	}
	c->ctx->data = c;
	redisAsyncSetConnectCallback(c->ctx, on_consumer_connect);
	redisAsyncSetDisconnectCallback(c->ctx, on_consumer_disconnect);
}

static void on_consumer_timer(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	if (c->dying)
		return;
	if (!c->ctx) {
		consumer_connect(c);
		return;
	}
	c->reading = false;
	consumer_next(c);
}

struct bus_consumer *bus_consumer_new(struct bus *bus, const char *dept_code,
				      const char *consumer_name, bus_deliver_fn deliver, void *arg)
{
	struct bus_consumer *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->bus = bus;
	snprintf(c->dept_code, sizeof(c->dept_code), "%s", dept_code);
	snprintf(c->stream, sizeof(c->stream), "hotline:dept:%s", dept_code);
	snprintf(c->name, sizeof(c->name), "%s", consumer_name);
	c->deliver = deliver;
	c->arg = arg;
	c->ev_timer = event_new(bus->base, -1, 0, on_consumer_timer, c);
	c->ev_reap = event_new(bus->base, -1, 0, consumer_reap, c);
	c->ev_flush = event_new(bus->base, -1, 0, flush_acks, c);
	if (!c->ev_timer || !c->ev_reap || !c->ev_flush) {
		if (c->ev_timer)
			event_free(c->ev_timer);
		if (c->ev_reap)
			event_free(c->ev_reap);
		if (c->ev_flush)
			event_free(c->ev_flush);
		free(c);
		return NULL;
	}
	consumer_connect(c);
	return c;
}

void bus_consumer_room(struct bus_consumer *c, size_t room)
{
	c->room = room;
	consumer_next(c);
}

/* Sends the acks collected during this loop pass: XACK and XDEL take many ids. */
static void flush_acks(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	struct bus *bus = c->bus;
	if (c->nacks == 0)
		return;
	if (bus->cmd_up) {
		size_t argc = c->nacks + 3;
		const char **argv = calloc(argc, sizeof(*argv));
		size_t *argvlen = calloc(argc, sizeof(*argvlen));
		if (argv && argvlen) {
			argv[0] = "XACK";
			argv[1] = c->stream;
			argv[2] = BUS_GROUP;
			for (size_t i = 0; i < c->nacks; i++)
				argv[3 + i] = c->acks[i];
			for (size_t i = 0; i < argc; i++)
				argvlen[i] = strlen(argv[i]);
			redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)argc, argv, argvlen);
			/* XDEL key id...: the stream keeps only open deliveries. The ids
			 * stay in place; "XDEL key" takes the slots of "key group". */
			argv[1] = "XDEL";
			argvlen[1] = 4;
			argv[2] = c->stream;
			argvlen[2] = strlen(c->stream);
			redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)argc - 1, argv + 1,
					      argvlen + 1);
			bus->stats.acked += c->nacks;
		}
		free(argv);
		free(argvlen);
	}
	/* Without Redis the entries stay pending and are redelivered: at-least-once. */
	for (size_t i = 0; i < c->nacks; i++)
		free(c->acks[i]);
	c->nacks = 0;
}

void bus_consumer_ack(struct bus_consumer *c, const char *entry_id)
{
	if (c->nacks == c->acks_cap) {
		size_t cap = c->acks_cap ? c->acks_cap * 2 : 64;
		char **grown = realloc(c->acks, cap * sizeof(*grown));
		if (!grown)
			return; /* stays pending: redelivered later */
		c->acks = grown;
		c->acks_cap = cap;
	}
	char *copy = strdup(entry_id);
	if (!copy)
		return;
	c->acks[c->nacks++] = copy;
	event_active(c->ev_flush, EV_TIMEOUT, 0);
}

void bus_consumer_free(struct bus_consumer *c, const char *const *unacked, size_t n)
{
	struct bus *bus = c->bus;
	flush_acks(-1, 0, c);
	if (n > 0 && bus->cmd_up) {
		/* XCLAIM stream group orphans 0 id... IDLE <huge> JUSTID */
		size_t argc = 5 + n + 3;
		const char **argv = calloc(argc, sizeof(*argv));
		size_t *argvlen = calloc(argc, sizeof(*argvlen));
		if (argv && argvlen) {
			size_t k = 0;
			argv[k++] = "XCLAIM";
			argv[k++] = c->stream;
			argv[k++] = BUS_GROUP;
			argv[k++] = ORPHANS;
			argv[k++] = "0";
			for (size_t i = 0; i < n; i++)
				argv[k++] = unacked[i];
			argv[k++] = "IDLE";
			argv[k++] = "31536000000"; /* a year: claimable at once */
			argv[k++] = "JUSTID";
			for (size_t i = 0; i < k; i++)
				argvlen[i] = strlen(argv[i]);
			redisAsyncCommandArgv(bus->cmd, NULL, NULL, (int)k, argv, argvlen);
		}
		free(argv);
		free(argvlen);
	}
	c->dying = true;
	event_del(c->ev_timer);
	if (c->ctx) {
		/* Free, not Disconnect: a graceful disconnect would wait for the
		 * blocking read and hand its reply to us after we are gone. Pending
		 * callbacks run now (or right after the current one) with no reply;
		 * the reap event comes later still. */
		redisAsyncContext *ctx = c->ctx;
		c->ctx = NULL;
		ctx->data = NULL;
		redisAsyncFree(ctx);
	}
	event_active(c->ev_reap, EV_TIMEOUT, 0);
}

/* ---- the callback queue -------------------------------------------------- */

/* XAUTOCLAIM rounds per claim; each looks at up to 10 pending entries (COUNT 1). */
#define CLAIM_MAX_SCANS 64
#define CLAIM_IDLE_AT_ONCE "31536000000" /* a year: claimable by the next claim */

struct claim_req {
	struct bus *bus;
	char consumer[BUS_CONSUMER_MAX];
	char idle[24];
	char cursor[BUS_ENTRY_ID_MAX];
	int scans;
	bool made_group; /* NOGROUP answered once already */
	bus_claim_fn done;
	void *arg;
};

static void claim_finish(struct claim_req *req, enum bus_claim_status status, const char *entry_id,
			 const char *ticket_no)
{
	req->done(req->arg, status, entry_id, ticket_no);
	free(req);
}

/*
 * No reply (the connection went): true, and the claim is over. It ends FAILED,
 * or, when the bus is being freed (its owner is gone), req is freed unannounced.
 */
static bool claim_no_reply(struct claim_req *req, const redisReply *reply)
{
	if (reply)
		return false;
	if (req->bus->stopping)
		free(req);
	else
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
	return true;
}

/* Sends the next command of a claim; on failure the claim ends FAILED. */
static void claim_send(struct claim_req *req, redisCallbackFn *fn, const char *fmt, ...)
{
	struct bus *bus = req->bus;
	int rc = REDIS_ERR;
	if (bus->cmd_up && bus->cmd) {
		va_list ap;
		va_start(ap, fmt);
		rc = redisvAsyncCommand(bus->cmd, fn, req, fmt, ap);
		va_end(ap);
	}
	if (rc != REDIS_OK)
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
}

static void on_claim_autoclaim(redisAsyncContext *ctx, void *r, void *privdata);
static void on_claim_read(redisAsyncContext *ctx, void *r, void *privdata);

static void claim_autoclaim(struct claim_req *req)
{
	claim_send(req, on_claim_autoclaim, "XAUTOCLAIM %s %s %s %s %s COUNT 1",
		   BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, req->consumer, req->idle, req->cursor);
}

static void claim_read(struct claim_req *req)
{
	claim_send(req, on_claim_read, "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s >",
		   BUS_AGENTS_GROUP, req->consumer, BUS_CALLBACKS_STREAM);
}

static void on_claim_group(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_no_reply(req, reply))
		return;
	/* OK, or BUSYGROUP (another daemon made it meanwhile): either way, start over. */
	snprintf(req->cursor, sizeof(req->cursor), "0-0");
	claim_autoclaim(req);
}

/* Handles a NOGROUP error (the stream or group is new, or Redis lost its data):
 * makes the group once. True when reply was one (the claim goes on or ended). */
static bool claim_nogroup(struct claim_req *req, const redisReply *reply)
{
	if (!is_nogroup(reply))
		return false;
	if (req->made_group) {
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
		return true;
	}
	req->made_group = true;
	claim_send(req, on_claim_group, "XGROUP CREATE %s %s 0 MKSTREAM", BUS_CALLBACKS_STREAM,
		   BUS_AGENTS_GROUP);
	return true;
}

/*
 * Looks through [id, [field, value, ...]] entries: finishes the claim with the
 * first that names a ticket and returns true; acknowledges away entries that
 * name none (they can never be called back) and returns false.
 */
static bool claim_take_entry(struct claim_req *req, const redisReply *entries)
{
	for (size_t i = 0; i < entries->elements; i++) {
		const redisReply *entry = entries->element[i];
		if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
		    entry->element[0]->type != REDIS_REPLY_STRING)
			continue;
		const char *entry_id = entry->element[0]->str;
		const redisReply *fields = entry->element[1];
		const char *ticket_no = NULL;
		for (size_t f = 0; fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
		     f += 2) {
			const redisReply *k = fields->element[f], *v = fields->element[f + 1];
			if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING &&
			    strcmp(k->str, "ticket_no") == 0 && v->len > 0)
				ticket_no = v->str;
		}
		if (ticket_no) {
			claim_finish(req, BUS_CLAIM_TAKEN, entry_id, ticket_no);
			return true;
		}
		if (fields->type == REDIS_REPLY_ARRAY) {
			log_error("bus: %s entry %s names no ticket; acknowledging it away",
				  BUS_CALLBACKS_STREAM, entry_id);
			bus_callback_ack(req->bus, entry_id);
		}
	}
	return false;
}

static void on_claim_autoclaim(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_no_reply(req, reply))
		return;
	if (claim_nogroup(req, reply))
		return;
	/* [next-cursor, [[id, fields], ...], [deleted ids]] */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		log_warn("bus: XAUTOCLAIM on %s: %s", BUS_CALLBACKS_STREAM,
			 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
		return;
	}
	if (claim_take_entry(req, reply->element[1]))
		return;
	snprintf(req->cursor, sizeof(req->cursor), "%s", reply->element[0]->str);
	/* A cursor other than 0-0: more pending entries to look at (those held by
	 * agents still within their time are skipped, ten per round). */
	if (strcmp(req->cursor, "0-0") != 0 && ++req->scans < CLAIM_MAX_SCANS) {
		claim_autoclaim(req);
		return;
	}
	claim_read(req);
}

static void on_claim_read(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_no_reply(req, reply))
		return;
	if (claim_nogroup(req, reply))
		return;
	if (reply->type == REDIS_REPLY_NIL) {
		claim_finish(req, BUS_CLAIM_NONE, NULL, NULL);
		return;
	}
	/* [[stream, [[id, fields]]]] */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 ||
	    reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2 ||
	    reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		log_warn("bus: XREADGROUP on %s: %s", BUS_CALLBACKS_STREAM,
			 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
		return;
	}
	const redisReply *entries = reply->element[0]->element[1];
	if (claim_take_entry(req, entries))
		return;
	if (entries->elements == 0) {
		claim_finish(req, BUS_CLAIM_NONE, NULL, NULL);
		return;
	}
	claim_read(req); /* the one read was unusable and is acknowledged: the next */
}

int bus_callback_claim(struct bus *bus, const char *consumer, long idle_ms, bus_claim_fn done,
		       void *arg)
{
	if (!bus_connected(bus))
		return -1;
	struct claim_req *req = calloc(1, sizeof(*req));
	if (!req)
		return -1;
	req->bus = bus;
	snprintf(req->consumer, sizeof(req->consumer), "%s", consumer);
	snprintf(req->idle, sizeof(req->idle), "%ld", idle_ms);
	snprintf(req->cursor, sizeof(req->cursor), "0-0");
	req->done = done;
	req->arg = arg;
	if (redisAsyncCommand(bus->cmd, on_claim_autoclaim, req,
			      "XAUTOCLAIM %s %s %s %s %s COUNT 1", BUS_CALLBACKS_STREAM,
			      BUS_AGENTS_GROUP, req->consumer, req->idle,
			      req->cursor) != REDIS_OK) {
		free(req);
		return -1;
	}
	return 0;
}

struct hold_req {
	struct bus *bus;
	void (*done)(void *arg, int held);
	void *arg;
};

static void on_hold(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct hold_req *req = privdata;
	redisReply *reply = r;
	if (!reply && req->bus->stopping) {
		free(req);
		return;
	}
	int held = -1;
	if (reply && reply->type == REDIS_REPLY_INTEGER) {
		held = reply->integer == 1;
	} else if (reply && reply->type == REDIS_REPLY_ERROR) {
		if (strstr(reply->str, "NOGROUP"))
			held = 0; /* the stream or group is gone (Redis lost its data) */
		else
			log_warn("bus: checking a callback claim: %s", reply->str);
	}
	req->done(req->arg, held);
	free(req);
}

int bus_callback_hold(struct bus *bus, const char *consumer, const char *entry_id,
		      void (*done)(void *arg, int held), void *arg)
{
	if (!bus_connected(bus))
		return -1;
	struct hold_req *req = malloc(sizeof(*req));
	if (!req)
		return -1;
	*req = (struct hold_req){ bus, done, arg };
	if (redisAsyncCommand(bus->cmd, on_hold, req, "EVALSHA %s 1 %s %s %s %s",
			      scripts[SCRIPT_CALLBACK_HOLD].sha, BUS_CALLBACKS_STREAM,
			      BUS_AGENTS_GROUP, consumer, entry_id) != REDIS_OK) {
		free(req);
		return -1;
	}
	return 0;
}

void bus_callback_ack(struct bus *bus, const char *entry_id)
{
	if (!bus->cmd_up || !bus->cmd)
		return;
	redisAsyncCommand(bus->cmd, NULL, NULL, "XACK %s %s %s", BUS_CALLBACKS_STREAM,
			  BUS_AGENTS_GROUP, entry_id);
	redisAsyncCommand(bus->cmd, NULL, NULL, "XDEL %s %s", BUS_CALLBACKS_STREAM, entry_id);
}

void bus_callback_release(struct bus *bus, const char *entry_id)
{
	if (!bus->cmd_up || !bus->cmd)
		return;
	/* Idle for a year, held by nobody live: the next XAUTOCLAIM takes it. */
	redisAsyncCommand(bus->cmd, NULL, NULL, "XCLAIM %s %s %s 0 %s IDLE %s JUSTID",
			  BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, ORPHANS, entry_id,
			  CLAIM_IDLE_AT_ONCE);
}

void bus_callback_forget(struct bus *bus, const char *consumer)
{
	if (!bus->cmd_up || !bus->cmd)
		return; /* an empty consumer left behind costs a few bytes */
	redisAsyncCommand(bus->cmd, NULL, NULL, "EVALSHA %s 1 %s %s %s",
			  scripts[SCRIPT_CALLBACK_FORGET].sha, BUS_CALLBACKS_STREAM,
			  BUS_AGENTS_GROUP, consumer);
}
