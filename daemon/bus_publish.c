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

/* {status, first_error}: see queries/publish.lua. */
static void on_published(redisAsyncContext *ctx, void *r, void *privdata)
{
	struct publish_req *req = privdata;
	redisReply *reply = r;
	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
	    reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len == req->n) {
		const char *status = reply->element[0]->str;
		const redisReply *first_error = reply->element[1];
		size_t nrefused = 0, first = 0;
		for (size_t i = 0; i < req->n; i++) {
			req->items[i].ok = status[i] == '+' || status[i] == '=';
			if (!req->items[i].ok && nrefused++ == 0)
				first = i;
			if (!ctx->data)
				continue;
			if (status[i] == '+')
				req->bus->stats.published++;
			else if (status[i] == '=')
				req->bus->stats.republish_skipped++;
		}
		const char *why = first_error->type == REDIS_REPLY_ERROR ? first_error->str
									 : "no error given";
		if (nrefused > 0)
			log_warn("bus: publish: Redis refused %zu of %zu tickets (the first, to "
				 "%s: %s)",
				 nrefused, req->n, req->items[first].stream, why);
		if (nrefused > 0 && ctx->data && bus_is_readonly(first_error))
			bus_failover(req->bus, why);
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

/* The decimal digits of v. */
static size_t digits(size_t v)
{
	size_t d = 1;
	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* Writes v in decimal at out; returns its end. (Not printf: this runs four times
 * per ticket.) */
static char *put_decimal(char *out, size_t v)
{
	char *end = out + digits(v);
	char *p = end;
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return end;
}

/* Appends one RESP bulk string ("$LEN\r\nBYTES\r\n") at out; returns its end. */
static char *put_bulk(char *out, const void *bytes, size_t len)
{
	*out++ = '$';
	out = put_decimal(out, len);
	memcpy(out, "\r\n", 2);
	memcpy(out + 2, bytes, len);
	out += 2 + len;
	memcpy(out, "\r\n", 2);
	return out + 2;
}

/* What put_bulk writes for len bytes. */
static size_t bulk_size(size_t len)
{
	return 1 + digits(len) + 2 + len + 2;
}

int bus_publish(struct bus *bus, struct bus_publish_item *items, size_t n, void (*done)(void *arg),
		void *arg)
{
	if (!bus_connected(bus) || n == 0 || n > BUS_PUBLISH_MAX)
		return -1;
	/* EVALSHA sha numkeys, the streams, the markers, 2 arguments per ticket (the
	 * layout queries/publish.lua documents), written as RESP here in one buffer:
	 * hiredis's redisAsyncCommandArgv would build it in a string of its own
	 * first, growing and copying it, before copying it to its output buffer. */
	const char *sha = scripts[SCRIPT_PUBLISH].sha;
	char nkeys[24];
	snprintf(nkeys, sizeof(nkeys), "%zu", n);
	size_t size = 1 + digits(3 + 4 * n) + 2 + bulk_size(7) + bulk_size(strlen(sha)) +
		      bulk_size(strlen(nkeys));
	for (size_t i = 0; i < n; i++) {
		items[i].ok = false;
		size += bulk_size(strlen(items[i].stream)) + bulk_size(strlen(items[i].mark)) +
			bulk_size(strlen(items[i].ticket_no)) + bulk_size(items[i].ticket_len);
	}
	struct publish_req *req = malloc(sizeof(*req));
	char *command = malloc(size);
	if (!req || !command) {
		free(req);
		free(command);
		return -1;
	}
	*req = (struct publish_req){ bus, items, n, done, arg };
	char *out = command;
	*out++ = '*';
	out = put_decimal(out, 3 + 4 * n);
	memcpy(out, "\r\n", 2);
	out += 2;
	out = put_bulk(out, "EVALSHA", 7);
	out = put_bulk(out, sha, strlen(sha));
	out = put_bulk(out, nkeys, strlen(nkeys));
	for (size_t i = 0; i < n; i++)
		out = put_bulk(out, items[i].stream, strlen(items[i].stream));
	for (size_t i = 0; i < n; i++)
		out = put_bulk(out, items[i].mark, strlen(items[i].mark));
	for (size_t i = 0; i < n; i++) {
		out = put_bulk(out, items[i].ticket_no, strlen(items[i].ticket_no));
		out = put_bulk(out, items[i].ticket, items[i].ticket_len);
	}
	/* hiredis copies the command into its output buffer here. */
	int rc = redisAsyncFormattedCommand(bus->cmd, on_published, req, command,
					    (size_t)(out - command));
	free(command);
	if (rc != REDIS_OK) {
		free(req);
		return -1;
	}
	return 0;
}
