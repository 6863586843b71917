/*
 * bus_consumer.c - one department connection's consumer of its stream.
 *
 * Owns: a consumer of group "hotline" on hotline:dept:CODE, with a Redis
 * connection of its own for its blocking XREADGROUP (reconnected with backoff),
 * reading only while its department connection has room. At connect, and every
 * redeliver_after_ms / 2, it claims entries other consumers have held longer
 * than redeliver_after_ms (a consumer that vanished or went silent), never its
 * own, and deletes the consumers that hold nothing and were idle that long
 * (closed connections', dead daemons'; queries/consumer_claim.lua). Acks
 * collected during one loop pass go out as one XACK on the shared command
 * connection; at most every BUS_TRIM_INTERVAL_MS after acks (and when the
 * connection ends) the stream is trimmed below its oldest open entry
 * (queries/stream_trim.lua: never an undelivered or pending one), which costs
 * Redis less than an XDEL of every acknowledged entry. When a connection ends,
 * its unacknowledged entries are
 * XCLAIMed to the "orphans" consumer with a huge idle time, so the next
 * XAUTOCLAIM takes them at once. A missing group (NOGROUP: new, or Redis
 * lost its data) is created. After a failover (the bus names a new primary, or
 * this connection is answered READONLY: its server was demoted) the connection
 * is dropped and made again to the primary.
 * Never: frees itself inside a hiredis callback: a consumer that ends is marked
 * dying and freed from a deferred event once hiredis has freed its context
 * (STYLE #6); keeps a reply past its callback (deliver's bytes are valid only
 * during the call).
 * Callers: daemon/conn_dept.c.
 */
#include "bus_private.h"
#include "timer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "queries.h"

#define BLOCK_MS 2000L /* longest XREADGROUP block, ms */
/* After acks, the stream is trimmed at most this often (ms) by each consumer: the
 * acknowledged entries stay in Redis's memory about that long. */
#define BUS_TRIM_INTERVAL_MS 100

struct bus_consumer {
	struct bus *bus;
	char dept_code[CODE_MAX + 1];
	char stream[CODE_MAX + 16];
	char name[96];
	bus_deliver_fn deliver;
	void *arg;
	redisAsyncContext *ctx;
	unsigned primary_gen; /* the bus's primary_gen this connection was made with */
	bool connected;
	bool reading; /* a command is in flight */
	bool dying;
	size_t room;
	long backoff_ms;
	int64_t next_claim_ms; /* XAUTOCLAIM at connect, then every redeliver_after_ms / 2 */
	/* acks collected during this loop pass, sent as one XACK */
	char **acks;
	size_t nacks, acks_cap;
	bool trim_owed;		/* acks sent since the last trim */
	struct event *ev_trim;	/* the next trim, BUS_TRIM_INTERVAL_MS after acks */
	struct event *ev_timer; /* reconnect, or retry after an error */
	struct event *ev_reap;
	struct event *ev_flush;
};

static void consumer_next(struct bus_consumer *c);
static void consumer_read(struct bus_consumer *c);
static void flush_acks(evutil_socket_t fd, short what, void *arg);
static void trim_stream(evutil_socket_t fd, short what, void *arg);

static void consumer_reap(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	if (c->ctx) /* still tearing down: hiredis frees it, then we come back */
		return;
	flush_acks(-1, 0, c);
	free(c->acks);
	event_free(c->ev_trim);
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
	long delay = bus_next_backoff(&c->backoff_ms, c->bus->cfg);
	log_debug("bus: consumer %s lost (%s); retrying in %ld ms", c->name, why, delay);
	timer_arm(c->ev_timer, delay);
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

/*
 * The start of every reply to a read or a claim: false when the round ends
 * here (no reply or the consumer ending; a missing group, now being created; an
 * error of command, logged and retried in a second).
 */
static bool consumer_reply_usable(struct bus_consumer *c, const redisAsyncContext *ctx,
				  const redisReply *reply, const char *command)
{
	if (!reply || !ctx->data || c->dying)
		return false;
	if (bus_is_nogroup(reply)) {
		create_group(c);
		return false;
	}
	if (bus_is_readonly(reply)) {
		/* Its server is a replica now. If the bus still takes it for the
		 * primary, the bus must follow too. */
		if (c->primary_gen == c->bus->primary_gen)
			bus_failover(c->bus, reply->str);
		consumer_lost(c, "the server is a replica now");
		return false;
	}
	if (reply->type == REDIS_REPLY_ERROR) {
		c->reading = false;
		log_warn("bus: %s on %s: %s", command, c->stream, reply->str);
		timer_arm(c->ev_timer, 1000);
		return false;
	}
	return true;
}

static void on_read(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct bus_consumer *c = privdata;
	redisReply *reply = r;
	if (!consumer_reply_usable(c, ctx, reply, "XREADGROUP"))
		return;
	c->reading = false;
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
	if (!consumer_reply_usable(c, ctx, reply, "XAUTOCLAIM"))
		return;
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
	if (c->dying || !c->connected || c->reading)
		return;
	if (c->primary_gen != c->bus->primary_gen) {
		consumer_lost(c, "the primary moved");
		return;
	}
	if (c->room == 0)
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
	c->ctx = bus_open_context(c->bus);
	c->primary_gen = c->bus->primary_gen;
	if (!c->ctx) {
		timer_arm(c->ev_timer, bus_next_backoff(&c->backoff_ms, c->bus->cfg));
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
	c->ev_trim = event_new(bus->base, -1, 0, trim_stream, c);
	if (!c->ev_timer || !c->ev_reap || !c->ev_flush || !c->ev_trim) {
		if (c->ev_timer)
			event_free(c->ev_timer);
		if (c->ev_reap)
			event_free(c->ev_reap);
		if (c->ev_flush)
			event_free(c->ev_flush);
		if (c->ev_trim)
			event_free(c->ev_trim);
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

/* Trims the stream after acks (BUS_TRIM_INTERVAL_MS after the first since the
 * last trim). Without Redis the entries stay until a later trim, by this consumer
 * or another of the department's. */
static void trim_stream(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	if (!c->trim_owed)
		return;
	c->trim_owed = false;
	(void)bus_stream_trim(c->bus, c->stream, BUS_GROUP);
}

/* Sends the acks collected during this loop pass: XACK takes many ids. */
static void flush_acks(evutil_socket_t fd, short what, void *arg)
{
	struct bus_consumer *c = arg;
	struct bus *bus = c->bus;
	if (c->nacks == 0)
		return;
	const char *const *ids = (const char *const *)c->acks;
	if (bus_entries_ack(bus, c->stream, BUS_GROUP, ids, c->nacks) == 0) {
		bus->stats.acked += c->nacks;
		if (!c->trim_owed && !c->dying)
			timer_arm(c->ev_trim, BUS_TRIM_INTERVAL_MS);
		c->trim_owed = true;
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
	bus_entries_orphan(bus, c->stream, BUS_GROUP, unacked, n);
	/* After the orphans' XCLAIM, which does not move the floor: the last acks'
	 * entries leave now rather than at another consumer's next trim. */
	trim_stream(-1, 0, c);
	c->dying = true;
	event_del(c->ev_trim);
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
