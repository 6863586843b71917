/*
 * bus_callback.c - the callback queue: replied tickets waiting for an agent.
 *
 * Owns: claiming one callback at a time for an agent's consumer (stream
 * hotline:callbacks, group "agents", made with MKSTREAM by the first claim that
 * finds it missing): an entry held too long (XPENDING IDLE, then XAUTOCLAIM from
 * it), else XREADGROUP COUNT 1 with no BLOCK; holding a claim while its result is stored
 * (queries/callback_hold.lua), acknowledging, releasing and forgetting. Every
 * command is one-shot on the shared command connection, so an agent connection
 * costs Redis no connection of its own.
 * Never: blocks Redis or the loop waiting for a callback (an agent asks and is
 * answered at once), calls a claim's or hold's callback twice, or calls one after
 * the bus is freed (its owner is gone by then).
 * Callers: daemon/conn_agent.c.
 */
#include "bus_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queries.h"

/* XAUTOCLAIM rounds per claim; each looks at up to 10 pending entries (COUNT 1). */
#define CLAIM_MAX_SCANS 64

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

/* An unusable reply to command: logged, and the claim ends FAILED. */
static void claim_refused(struct claim_req *req, const char *command, const redisReply *reply)
{
	log_warn("bus: %s on %s: %s", command, BUS_CALLBACKS_STREAM,
		 reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
	claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
}

/* Sends a command of the claim on the command connection, fn to get its reply.
 * Returns -1 when it could not be sent (not connected, or the connection is
 * closing): the claim is not over, its caller ends it. */
static int claim_command(struct claim_req *req, redisCallbackFn *fn, const char *fmt, ...)
{
	struct bus *bus = req->bus;
	int rc = REDIS_ERR;
	if (bus->cmd_up && bus->cmd) {
		va_list ap;
		va_start(ap, fmt);
		rc = redisvAsyncCommand(bus->cmd, fn, req, fmt, ap);
		va_end(ap);
	}
	return rc == REDIS_OK ? 0 : -1;
}

static void on_claim_pending(redisAsyncContext *ctx, void *r, void *privdata);
static void on_claim_autoclaim(redisAsyncContext *ctx, void *r, void *privdata);
static void on_claim_read(redisAsyncContext *ctx, void *r, void *privdata);
static void on_claim_group(redisAsyncContext *ctx, void *r, void *privdata);

/* The steps of a claim: each sends one command and returns as claim_command
 * does. A claim starts by asking for the first entry held too long (one command,
 * whatever the number of entries held within their time: the agents' claims in
 * flight; XAUTOCLAIM from 0-0 looked at ten of them per round trip). */
static int claim_pending(struct claim_req *req)
{
	return claim_command(req, on_claim_pending, "XPENDING %s %s IDLE %s - + 1",
			     BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, req->idle);
}

static int claim_autoclaim(struct claim_req *req)
{
	return claim_command(req, on_claim_autoclaim, "XAUTOCLAIM %s %s %s %s %s COUNT 1",
			     BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, req->consumer, req->idle,
			     req->cursor);
}

static int claim_read(struct claim_req *req)
{
	return claim_command(req, on_claim_read, "XREADGROUP GROUP %s %s COUNT 1 STREAMS %s >",
			     BUS_AGENTS_GROUP, req->consumer, BUS_CALLBACKS_STREAM);
}

static int claim_make_group(struct claim_req *req)
{
	return claim_command(req, on_claim_group, "XGROUP CREATE %s %s 0 MKSTREAM",
			     BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP);
}

/* Goes on with the claim from a reply: step sends its next command, or the
 * claim ends FAILED. */
static void claim_continue(struct claim_req *req, int (*step)(struct claim_req *))
{
	if (step(req) != 0)
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
}

static void on_claim_group(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_no_reply(req, reply))
		return;
	/* OK, or BUSYGROUP (another daemon made it meanwhile): either way, start over. */
	claim_continue(req, claim_pending);
}

/* Handles a NOGROUP error (the stream or group is new, or Redis lost its data):
 * makes the group once. True when reply was one (the claim goes on or ended). */
static bool claim_nogroup(struct claim_req *req, const redisReply *reply)
{
	if (!bus_is_nogroup(reply))
		return false;
	if (req->made_group) {
		claim_finish(req, BUS_CLAIM_FAILED, NULL, NULL);
		return true;
	}
	req->made_group = true;
	claim_continue(req, claim_make_group);
	return true;
}

/* The replies every step but the group's handles alike: true when reply ended
 * the claim or sent it on (none: the connection went; NOGROUP). */
static bool claim_reply_handled(struct claim_req *req, const redisReply *reply)
{
	return claim_no_reply(req, reply) || claim_nogroup(req, reply);
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

static void on_claim_pending(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_reply_handled(req, reply))
		return;
	/* [] or [[id, consumer, idle_ms, deliveries]] */
	if (reply->type != REDIS_REPLY_ARRAY) {
		claim_refused(req, "XPENDING", reply);
		return;
	}
	if (reply->elements == 0) {
		claim_continue(req, claim_read);
		return;
	}
	const redisReply *first = reply->element[0];
	if (first->type != REDIS_REPLY_ARRAY || first->elements < 1 ||
	    first->element[0]->type != REDIS_REPLY_STRING ||
	    first->element[0]->len >= sizeof(req->cursor)) {
		claim_refused(req, "XPENDING", reply);
		return;
	}
	/* XAUTOCLAIM from it: it takes the entry if it is still idle (another daemon's
	 * agent may have taken it meanwhile: then it looks on, as from 0-0). */
	snprintf(req->cursor, sizeof(req->cursor), "%s", first->element[0]->str);
	claim_continue(req, claim_autoclaim);
}

static void on_claim_autoclaim(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_reply_handled(req, reply))
		return;
	/* [next-cursor, [[id, fields], ...], [deleted ids]] */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		claim_refused(req, "XAUTOCLAIM", reply);
		return;
	}
	if (claim_take_entry(req, reply->element[1]))
		return;
	snprintf(req->cursor, sizeof(req->cursor), "%s", reply->element[0]->str);
	/* A cursor other than 0-0: more pending entries to look at (those held by
	 * agents still within their time are skipped, ten per round). */
	if (strcmp(req->cursor, "0-0") != 0 && ++req->scans < CLAIM_MAX_SCANS) {
		claim_continue(req, claim_autoclaim);
		return;
	}
	claim_continue(req, claim_read);
}

static void on_claim_read(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct claim_req *req = privdata;
	redisReply *reply = r;
	if (claim_reply_handled(req, reply))
		return;
	if (reply->type == REDIS_REPLY_NIL) {
		claim_finish(req, BUS_CLAIM_NONE, NULL, NULL);
		return;
	}
	/* [[stream, [[id, fields]]]] */
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 1 ||
	    reply->element[0]->type != REDIS_REPLY_ARRAY || reply->element[0]->elements != 2 ||
	    reply->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
		claim_refused(req, "XREADGROUP", reply);
		return;
	}
	const redisReply *entries = reply->element[0]->element[1];
	if (claim_take_entry(req, entries))
		return;
	if (entries->elements == 0) {
		claim_finish(req, BUS_CLAIM_NONE, NULL, NULL);
		return;
	}
	claim_continue(req,
		       claim_read); /* the one read was unusable and is acknowledged: the next */
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
	req->done = done;
	req->arg = arg;
	if (claim_pending(req) != 0) {
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
	(void)bus_entries_done(bus, BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, &entry_id, 1);
}

void bus_callback_release(struct bus *bus, const char *entry_id)
{
	/* Idle for a year, held by nobody live: the next XAUTOCLAIM takes it. */
	bus_entries_orphan(bus, BUS_CALLBACKS_STREAM, BUS_AGENTS_GROUP, &entry_id, 1);
}

void bus_callback_forget(struct bus *bus, const char *consumer)
{
	if (!bus->cmd_up || !bus->cmd)
		return; /* an empty consumer left behind costs a few bytes */
	redisAsyncCommand(bus->cmd, NULL, NULL, "EVALSHA %s 1 %s %s %s",
			  scripts[SCRIPT_CALLBACK_FORGET].sha, BUS_CALLBACKS_STREAM,
			  BUS_AGENTS_GROUP, consumer);
}
