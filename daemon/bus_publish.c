/*
 * bus_publish.c - publishing tickets to department streams, idempotently.
 *
 * Owns: bus_publish, which appends up to BUS_PUBLISH_MAX tickets with one run of
 * queries/publish.lua, each guarded by its publish marker, so re-publishing the
 * same dispatch or callback (whichever outbox row carries it) is a no-op. The
 * markers are fields of one hash per hour (hotline:published:HOUR), not a key
 * each: a call costs Redis a TIME, two HMGETs, one HSET and one EXPIRE besides
 * its XADDs. The published and republish_skipped counters.
 * Never: publishes before Redis is known to have its data (returns -1: the relay
 * leaves the work in the PostgreSQL outbox), or keeps the caller's items past
 * done.
 * Callers: daemon/relay.c.
 */
#include "bus_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queries.h"

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
		if (nrefused > 0 && ctx->data && bus_is_readonly(reply->element[first]))
			bus_failover(req->bus, reply->element[first]->str);
	} else if (reply && reply->type == REDIS_REPLY_ERROR) {
		log_warn("bus: publish failed: %s", reply->str);
		if (ctx->data && bus_is_readonly(reply))
			bus_failover(req->bus, reply->str);
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
