/*
 * relay.c - publishes committed dispatches to department streams.
 *
 * A round: take up to relay_batch items and publish them all at once, up to
 * BUS_PUBLISH_MAX tickets per command (hiredis pipelines the commands); when
 * every reply is in, the next round starts at once. An item is one ticket of an
 * outbox row: an intake batch's row carries every ticket the batch dispatched
 * (005_batch_outbox), other rows one. A row is done when all its items are
 * (published, found published before, or stale); rows whose items all went are
 * deleted from the outbox by one DELETE at a time, covering everything done
 * since the previous one, so PostgreSQL sees a few large statements rather than
 * one per round. A row with an item that failed stays for the sweeper.
 * Deletes are fenced by the epoch of the Redis dataset the row's tickets went
 * into (bus_epoch): PostgreSQL deletes only while its bus_epoch still names it,
 * and a row whose tickets went into two datasets (a failover between rounds)
 * stays for the sweeper; so a publish into an old primary cut off by a failover,
 * which the new primary may never get, is published again, never dropped.
 */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hotline.pb-c.h"
#include "clock.h"
#include "log.h"
#include "prom.h"
#include "timer.h"
#include "mask.h"
#include "pgarray.h"
#include "pgtext.h"
#include "redis_ha.h"
#include "ticket_state.h"

/*
 * An outbox row being relayed: deleted when its last item is done, if none
 * failed. A batch row with some tickets published and some not is narrowed to
 * the ones that were not, so that the next attempts (the sweeper's, maybe long
 * after the publish markers expired) never publish the others again.
 */
struct relay_row {
	long long outbox_id;
	size_t pending;		/* items not done yet */
	size_t items;		/* items made for it so far */
	bool failed;		/* an item could not be published (or not even queued) */
	bool batch;		/* a batch row (ticket_ids), which can be narrowed */
	bool whole;		/* keep it whole: not every ticket in it became an item */
	bool published_once;	/* an item of it was in a round: epoch_gen says which */
	bool epochs_mixed;	/* its items went into more than one dataset: keep it */
	unsigned epoch_gen;	/* the relay's epoch_gen of its items' rounds */
	long long *unpublished; /* ticket ids of the failed items */
	size_t nunpublished, unpublished_cap;
};

struct relay_item {
	TAILQ_ENTRY(relay_item) link;
	struct relay *relay;
	struct relay_row *row;
	long long ticket_id;
	bool ok;
	bool stale; /* delete only */
	char stream[CODE_MAX + 16];
	char mark[STORE_TICKET_NO_MAX + 48];
	char ticket_no[STORE_TICKET_NO_MAX];
	size_t len;
	uint8_t *payload;
	int64_t committed_us; /* fast path: clock_mono_us() right after the commit; else 0 */
};
TAILQ_HEAD(item_list, relay_item);

struct relay {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct bus *bus;
	struct store_pg *store;
	struct item_list queue;
	size_t queued;
	struct item_list round;
	size_t awaiting; /* publish replies still to come */
	bool busy;	 /* a round or a sweep query is in flight */
	bool sweep_again;
	long long sweep_after; /* the next sweep takes rows after this outbox_id */
	/* the row of the intake batch being reported (relay_dispatched), or NULL */
	struct relay_row *last_row;
	/* published rows waiting to be deleted (an int8[] being written); one DELETE
	 * in flight */
	struct pgarray done;
	char done_epoch[REDIS_HA_EPOCH_MAX]; /* the dataset the rows of done went into */
	bool deleting;
	/* the dataset the current round publishes into, and a count of its changes */
	char round_epoch[REDIS_HA_EPOCH_MAX];
	unsigned epoch_gen;
	bool stopping;
	struct event *ev_timer;
	struct event *ev_kick;
	struct relay_stats stats;
	struct prom_histogram publish_latency; /* fast path: commit -> in its stream, seconds */
};

static void relay_next(struct relay *relay);

uint8_t *relay_pack_ticket(const Hotline__V1__Ticket *ticket, size_t *len)
{
	*len = hotline__v1__ticket__get_packed_size(ticket);
	uint8_t *buf = malloc(*len ? *len : 1);
	if (buf)
		hotline__v1__ticket__pack(ticket, buf);
	return buf;
}

static void remember_published(struct relay *relay, long long outbox_id);

static void row_free(struct relay *relay, struct relay_row *row);

/*
 * The row for outbox_id: *last when it is that row (items of one row arrive one
 * after the other), else a new one, which becomes *last. A row left behind with
 * no item in flight (every ticket of it dropped) is forgotten: it stays in the
 * outbox, whole. NULL when out of memory.
 */
static struct relay_row *row_for(struct relay *relay, struct relay_row **last, long long outbox_id)
{
	if (*last && (*last)->outbox_id == outbox_id)
		return *last;
	if (*last && (*last)->pending == 0)
		row_free(relay, *last);
	struct relay_row *row = calloc(1, sizeof(*row));
	if (row)
		row->outbox_id = outbox_id;
	*last = row;
	return row;
}

/* Notes that ticket_id of row was not published; out of memory: keep the row whole. */
static void row_unpublished(struct relay_row *row, long long ticket_id)
{
	row->failed = true;
	if (row->whole)
		return;
	if (row->nunpublished == row->unpublished_cap) {
		size_t cap = row->unpublished_cap ? row->unpublished_cap * 2 : 16;
		long long *grown = realloc(row->unpublished, cap * sizeof(*grown));
		if (!grown) {
			row->whole = true;
			return;
		}
		row->unpublished = grown;
		row->unpublished_cap = cap;
	}
	row->unpublished[row->nunpublished++] = ticket_id;
}

static void on_shrunk(void *arg, const PGresult *res, const char *error)
{
	(void)arg;
	(void)res;
	if (error)
		log_warn("relay: narrowing a partly published outbox row failed (its published "
			 "tickets may be published again): %s",
			 error);
}

/* Narrows row to its unpublished tickets (one statement; the row stays otherwise). */
static void row_shrink(struct relay *relay, struct relay_row *row)
{
	struct pgarray ids = { 0 };
	pgarray_begin_text(&ids);
	for (size_t i = 0; i < row->nunpublished; i++)
		pgarray_text_int64(&ids, row->unpublished[i]);
	if (pgarray_end(&ids) == 0) {
		char id[32];
		snprintf(id, sizeof(id), "%lld", row->outbox_id);
		const char *values[OUTBOX_SHRINK_NPARAMS] = {
			[OUTBOX_SHRINK_P_OUTBOX_ID] = id,
			[OUTBOX_SHRINK_P_TICKET_IDS] = ids.data,
			[OUTBOX_SHRINK_P_EPOCH] = relay->round_epoch,
		};
		store_pg_query(relay->store, QUERY_OUTBOX_SHRINK, values, on_shrunk, relay);
	}
	pgarray_free(&ids);
}

static void row_free(struct relay *relay, struct relay_row *row)
{
	if (relay->last_row == row)
		relay->last_row = NULL;
	free(row->unpublished);
	free(row);
}

/* One item of row is done (ok: published or not to be); the last one settles it. */
static void row_item_done(struct relay *relay, struct relay_row *row, long long ticket_id, bool ok)
{
	if (!ok)
		row_unpublished(row, ticket_id);
	if (--row->pending > 0)
		return;
	if (!relay->stopping && !row->epochs_mixed) {
		if (!row->failed)
			remember_published(relay, row->outbox_id);
		else if (row->batch && !row->whole && row->nunpublished > 0 &&
			 row->nunpublished < row->items)
			row_shrink(relay, row);
	}
	row_free(relay, row);
}

static void item_free(struct relay_item *item, bool ok)
{
	if (item->row)
		row_item_done(item->relay, item->row, item->ticket_id, ok);
	free(item->payload);
	free(item);
}

/*
 * An item for outbox row outbox_id. kind "dispatch" goes to dept's stream,
 * "callback" to hotline:callbacks; the publish marker (a field of the
 * hotline:published:HOUR hashes, see bus_redis.h) names the dispatch,
 * pub:TICKET_NO:RETURNS.REOPENS, or the callback, cb:TICKET_NO:REOPENS.ATTEMPTS,
 * so republishing the same one is a no-op whichever outbox row carries it.
 */
static struct relay_item *item_new(struct relay *relay, struct relay_row *row, long long ticket_id,
				   const char *kind, const char *dept, unsigned returns,
				   unsigned reopens, unsigned attempts,
				   const Hotline__V1__Ticket *ticket)
{
	struct relay_item *item = calloc(1, sizeof(*item));
	if (!item)
		return NULL;
	item->relay = relay;
	item->ticket_id = ticket_id;
	snprintf(item->ticket_no, sizeof(item->ticket_no), "%s", ticket->ticket_no);
	if (strcmp(kind, "callback") == 0) {
		snprintf(item->stream, sizeof(item->stream), "hotline:callbacks");
		snprintf(item->mark, sizeof(item->mark), "cb:%s:%u.%u", ticket->ticket_no, reopens,
			 attempts);
	} else {
		snprintf(item->stream, sizeof(item->stream), "hotline:dept:%s", dept);
		snprintf(item->mark, sizeof(item->mark), "pub:%s:%u.%u", ticket->ticket_no, returns,
			 reopens);
	}
	item->payload = relay_pack_ticket(ticket, &item->len);
	if (!item->payload) {
		free(item);
		return NULL;
	}
	item->row = row;
	row->pending++;
	row->items++;
	return item;
}

static void flush_deletes(struct relay *relay);

static void on_deleted(void *arg, const PGresult *res, const char *error)
{
	struct relay *relay = arg;
	if (error)
		log_warn("relay: deleting published outbox rows failed (they will be published "
			 "again, harmlessly): %s",
			 error);
	relay->deleting = false;
	flush_deletes(relay);
}

/* One DELETE at a time, of everything published since the last one. */
static void flush_deletes(struct relay *relay)
{
	if (relay->deleting || relay->done.count == 0)
		return;
	if (pgarray_end(&relay->done) != 0) {
		/* Out of memory: the rows stay and are swept, found published, deleted. */
		log_error("relay: out of memory listing published outbox rows");
	} else {
		const char *values[OUTBOX_DELETE_NPARAMS] = {
			[OUTBOX_DELETE_P_OUTBOX_IDS] = relay->done.data,
			[OUTBOX_DELETE_P_EPOCH] = relay->done_epoch,
		};
		relay->deleting = true;
		store_pg_query(relay->store, QUERY_OUTBOX_DELETE, values, on_deleted, relay);
	}
	pgarray_begin_text(&relay->done);
}

/* outbox_id went into the current round's dataset. Rows gathered for another
 * dataset (a failover since) are let go: they stay for the sweeper. */
static void remember_published(struct relay *relay, long long outbox_id)
{
	if (relay->done.count > 0 && strcmp(relay->done_epoch, relay->round_epoch) != 0)
		pgarray_begin_text(&relay->done);
	snprintf(relay->done_epoch, sizeof(relay->done_epoch), "%s", relay->round_epoch);
	pgarray_text_int64(&relay->done, outbox_id);
}

static void round_finish(struct relay *relay)
{
	if (relay->stopping) {
		struct relay_item *dead;
		while ((dead = TAILQ_FIRST(&relay->round)) != NULL) {
			TAILQ_REMOVE(&relay->round, dead, link);
			item_free(dead, false);
		}
		return;
	}
	size_t ok = 0;
	struct relay_item *item;
	while ((item = TAILQ_FIRST(&relay->round)) != NULL) {
		TAILQ_REMOVE(&relay->round, item, link);
		if (item->ok)
			ok++;
		if (item->ok && item->committed_us)
			prom_histogram_observe(&relay->publish_latency,
					       (double)(clock_mono_us() - item->committed_us) /
						       1e6);
		item_free(item, item->ok);
	}
	relay->stats.published += ok;
	relay->busy = false;
	flush_deletes(relay);
	/* When Redis refused everything, wait for the sweeper rather than spin. */
	if (ok > 0)
		relay_next(relay);
}

/* One bus_publish call: up to BUS_PUBLISH_MAX items of a round. */
struct relay_chunk {
	struct relay *relay;
	size_t n;
	struct relay_item *items[BUS_PUBLISH_MAX];
	struct bus_publish_item pub[BUS_PUBLISH_MAX];
};

static void on_published(void *arg)
{
	struct relay_chunk *chunk = arg;
	struct relay *relay = chunk->relay;
	for (size_t i = 0; i < chunk->n; i++)
		chunk->items[i]->ok = chunk->pub[i].ok;
	free(chunk);
	if (--relay->awaiting == 0)
		round_finish(relay);
}

/* Sends one chunk; on failure its items stay not ok (the sweeper retries them). */
static void publish_chunk(struct relay *relay, struct relay_chunk *chunk)
{
	relay->awaiting++;
	if (bus_publish(relay->bus, chunk->pub, chunk->n, on_published, chunk) != 0) {
		free(chunk);
		relay->awaiting--;
	}
}

/* Starts a round from the queue, if there is work and Redis is there. */
static void relay_next(struct relay *relay)
{
	if (relay->busy)
		return;
	if (TAILQ_EMPTY(&relay->queue)) {
		if (relay->sweep_again) {
			relay->sweep_again = false;
			relay_kick(relay);
		}
		return;
	}
	if (!bus_connected(relay->bus))
		return;
	const char *epoch = bus_epoch(relay->bus);
	if (strcmp(epoch, relay->round_epoch) != 0) {
		snprintf(relay->round_epoch, sizeof(relay->round_epoch), "%s", epoch);
		relay->epoch_gen++;
	}
	relay->busy = true;
	size_t taken = 0;
	struct relay_item *item;
	while (taken < (size_t)relay->cfg->relay_batch &&
	       (item = TAILQ_FIRST(&relay->queue)) != NULL) {
		TAILQ_REMOVE(&relay->queue, item, link);
		relay->queued--;
		TAILQ_INSERT_TAIL(&relay->round, item, link);
		taken++;
		struct relay_row *row = item->row;
		if (row && row->published_once && row->epoch_gen != relay->epoch_gen)
			row->epochs_mixed = true;
		if (row) {
			row->published_once = true;
			row->epoch_gen = relay->epoch_gen;
		}
	}
	relay->awaiting = 1; /* ours, so replies cannot finish the round early */
	struct relay_chunk *chunk = NULL;
	TAILQ_FOREACH(item, &relay->round, link)
	{
		if (item->stale) {
			item->ok = true; /* nothing to publish; the row just goes */
			continue;
		}
		item->ok = false;
		if (!chunk) {
			chunk = malloc(sizeof(*chunk));
			if (!chunk)
				continue; /* not ok: the sweeper publishes it later */
			chunk->relay = relay;
			chunk->n = 0;
		}
		chunk->items[chunk->n] = item;
		chunk->pub[chunk->n] =
			(struct bus_publish_item){ item->stream,  item->mark, item->ticket_no,
						   item->payload, item->len,  false };
		if (++chunk->n == BUS_PUBLISH_MAX) {
			publish_chunk(relay, chunk);
			chunk = NULL;
		}
	}
	if (chunk)
		publish_chunk(relay, chunk);
	if (--relay->awaiting == 0)
		round_finish(relay);
}

static void enqueue(struct relay *relay, struct relay_item *item)
{
	TAILQ_INSERT_TAIL(&relay->queue, item, link);
	relay->queued++;
}

void relay_dispatched(void *arg, const struct store_intake *rec)
{
	struct relay *relay = arg;
	struct relay_row *row = row_for(relay, &relay->last_row, rec->outbox_id);
	if (!row) {
		relay->stats.dropped++; /* the row stays: the sweeper publishes it */
		return;
	}
	row->batch = true; /* intake writes one row per batch */
	const struct intake *in = rec->intake;
	char masked[MASK_PHONE_SIZE];
	mask_phone(in->caller_phone, masked, sizeof(masked));
	Hotline__V1__Ticket t = HOTLINE__V1__TICKET__INIT;
	t.ticket_no = (char *)rec->ticket_no;
	t.category = (char *)in->category;
	t.content = (char *)in->content;
	t.caller_phone_masked = masked;
	t.district = (char *)in->district;
	t.address = (char *)in->address;
	t.priority = in->priority ? in->priority : HOTLINE__V1__PRIORITY__PRIORITY_NORMAL;
	t.received_at = in->received_at_ms;
	t.deadline_at = rec->deadline_at_ms;
	t.state = rec->state;
	t.lat = in->lat;
	t.lon = in->lon;
	struct relay_item *item = relay->queued < (size_t)relay->cfg->max_inflight
					  ? item_new(relay, row, rec->ticket_id, "dispatch",
						     rec->dept_code, 0, 0, 0, &t)
					  : NULL;
	if (!item) { /* queue full, or out of memory: the sweeper publishes it */
		relay->stats.dropped++;
		row_unpublished(row, rec->ticket_id);
		row->items++;
		return;
	}
	item->committed_us = clock_mono_us();
	enqueue(relay, item);
	event_active(relay->ev_kick, EV_TIMEOUT, 0);
}

/* One row of outbox_sweep.sql, read and checked. Strings point into the result. */
struct sweep_row {
	int64_t outbox_id, ticket_id;
	const char *dept_code, *kind;
	uint32_t return_count, callback_attempts;
	bool current, batch;
	char masked[MASK_PHONE_SIZE];
	Hotline__V1__Ticket ticket;
};

static int sweep_row_read(const PGresult *res, int r, struct sweep_row *sw)
{
	Hotline__V1__Ticket *t = &sw->ticket;
	hotline__v1__ticket__init(t);
	int32_t priority;
	double lat = 0, lon = 0;
	bool ok = pgtext_int64(PQgetvalue(res, r, OUTBOX_SWEEP_C_OUTBOX_ID), &sw->outbox_id) == 0 &&
		  pgtext_int64(PQgetvalue(res, r, OUTBOX_SWEEP_C_TICKET_ID), &sw->ticket_id) == 0 &&
		  pgtext_int32(PQgetvalue(res, r, OUTBOX_SWEEP_C_PRIORITY), &priority) == 0 &&
		  pgtext_int64(PQgetvalue(res, r, OUTBOX_SWEEP_C_RECEIVED_MS), &t->received_at) ==
			  0 &&
		  pgtext_int64(PQgetvalue(res, r, OUTBOX_SWEEP_C_DEADLINE_MS), &t->deadline_at) ==
			  0 &&
		  pgtext_uint32(PQgetvalue(res, r, OUTBOX_SWEEP_C_REOPEN_COUNT),
				&t->reopen_count) == 0 &&
		  pgtext_uint32(PQgetvalue(res, r, OUTBOX_SWEEP_C_RETURN_COUNT),
				&sw->return_count) == 0 &&
		  pgtext_uint32(PQgetvalue(res, r, OUTBOX_SWEEP_C_CALLBACK_ATTEMPTS),
				&sw->callback_attempts) == 0 &&
		  pgtext_bool(PQgetvalue(res, r, OUTBOX_SWEEP_C_CURRENT), &sw->current) == 0 &&
		  pgtext_bool(PQgetvalue(res, r, OUTBOX_SWEEP_C_BATCH), &sw->batch) == 0 &&
		  (PQgetisnull(res, r, OUTBOX_SWEEP_C_LAT) ||
		   pgtext_double(PQgetvalue(res, r, OUTBOX_SWEEP_C_LAT), &lat) == 0) &&
		  (PQgetisnull(res, r, OUTBOX_SWEEP_C_LON) ||
		   pgtext_double(PQgetvalue(res, r, OUTBOX_SWEEP_C_LON), &lon) == 0);
	int state = ticket_state_from_name(PQgetvalue(res, r, OUTBOX_SWEEP_C_STATE));
	if (!ok || state <= 0)
		return -1;
	mask_phone(PQgetvalue(res, r, OUTBOX_SWEEP_C_CALLER_PHONE), sw->masked, sizeof(sw->masked));
	sw->dept_code = PQgetvalue(res, r, OUTBOX_SWEEP_C_DEPT_CODE);
	sw->kind = PQgetvalue(res, r, OUTBOX_SWEEP_C_KIND);
	t->ticket_no = PQgetvalue(res, r, OUTBOX_SWEEP_C_TICKET_NO);
	t->category = PQgetvalue(res, r, OUTBOX_SWEEP_C_CATEGORY);
	t->content = PQgetvalue(res, r, OUTBOX_SWEEP_C_CONTENT);
	t->caller_phone_masked = sw->masked;
	t->district = PQgetvalue(res, r, OUTBOX_SWEEP_C_DISTRICT);
	t->address = PQgetvalue(res, r, OUTBOX_SWEEP_C_ADDRESS);
	t->priority = priority;
	t->state = state;
	t->lat = lat;
	t->lon = lon;
	return 0;
}

static void on_swept(void *arg, const PGresult *res, const char *error)
{
	struct relay *relay = arg;
	relay->busy = false;
	if (error) {
		log_warn("relay: sweeping the outbox failed: %s", error);
		return;
	}
	int rows = PQntuples(res);
	size_t outbox_rows = 0;
	struct relay_row *last = NULL;
	int64_t last_outbox_id = 0;
	for (int r = 0; r < rows; r++) {
		struct sweep_row sw;
		if (sweep_row_read(res, r, &sw) != 0) {
			log_error("relay: outbox row %s cannot be read; left for a later sweep",
				  PQgetvalue(res, r, OUTBOX_SWEEP_C_OUTBOX_ID));
			if (last)
				last->whole = last->failed = true;
			break;
		}
		last_outbox_id = sw.outbox_id;
		if (!last || last->outbox_id != sw.outbox_id)
			outbox_rows++;
		struct relay_row *row = row_for(relay, &last, sw.outbox_id);
		if (!row)
			break;
		struct relay_item *item =
			item_new(relay, row, sw.ticket_id, sw.kind, sw.dept_code, sw.return_count,
				 sw.ticket.reopen_count, sw.callback_attempts, &sw.ticket);
		if (!item) {
			/* Out of memory: the row stays whole (the next sweep has it again). */
			row->failed = true;
			row->whole = true;
			break;
		}
		row->batch = sw.batch;
		item->stale = !sw.current;
		enqueue(relay, item);
		relay->stats.swept++;
	}
	if (last && last->pending == 0)
		row_free(relay, last); /* nothing of it queued: it stays whole */
	relay->sweep_again = outbox_rows >= (size_t)relay->cfg->relay_batch ||
			     (size_t)rows >= (size_t)relay->cfg->relay_batch;
	relay->sweep_after = relay->sweep_again ? last_outbox_id : 0;
	relay_next(relay);
}

static void sweep(struct relay *relay)
{
	if (relay->busy || !TAILQ_EMPTY(&relay->queue) || !bus_connected(relay->bus))
		return;
	relay->busy = true;
	char limit[32], after[32];
	snprintf(limit, sizeof(limit), "%ld", relay->cfg->relay_batch);
	snprintf(after, sizeof(after), "%lld", relay->sweep_after);
	const char *values[OUTBOX_SWEEP_NPARAMS] = {
		[OUTBOX_SWEEP_P_LIMIT] = limit,
		[OUTBOX_SWEEP_P_AFTER] = after,
	};
	store_pg_query(relay->store, QUERY_OUTBOX_SWEEP, values, on_swept, relay);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct relay *relay = arg;
	if (TAILQ_EMPTY(&relay->queue))
		sweep(relay);
	else
		relay_next(relay);
}

void relay_kick(void *arg)
{
	struct relay *relay = arg;
	event_active(relay->ev_kick, EV_TIMEOUT, 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct relay *relay = arg;
	on_kick(fd, what, arg);
	timer_arm(relay->ev_timer, relay->cfg->relay_interval_ms);
}

struct relay *relay_new(struct event_base *base, const struct hotline_config *cfg, struct bus *bus,
			struct store_pg *store)
{
	struct relay *relay = calloc(1, sizeof(*relay));
	if (!relay)
		return NULL;
	relay->base = base;
	relay->cfg = cfg;
	prom_histogram_init(&relay->publish_latency, prom_latency_bounds, prom_latency_nbounds);
	relay->bus = bus;
	relay->store = store;
	TAILQ_INIT(&relay->queue);
	TAILQ_INIT(&relay->round);
	pgarray_begin_text(&relay->done);
	relay->ev_timer = event_new(base, -1, 0, on_timer, relay);
	relay->ev_kick = event_new(base, -1, 0, on_kick, relay);
	if (!relay->ev_timer || !relay->ev_kick) {
		relay_free(relay);
		return NULL;
	}
	return relay;
}

void relay_start(struct relay *relay)
{
	timer_arm(relay->ev_timer, 0);
}

void relay_stop(struct relay *relay)
{
	relay->stopping = true;
	event_del(relay->ev_timer);
	event_del(relay->ev_kick);
}

void relay_free(struct relay *relay)
{
	if (!relay)
		return;
	struct relay_item *item;
	relay->stopping = true; /* rows not done stay in the outbox */
	if (relay->last_row && relay->last_row->pending == 0)
		row_free(relay, relay->last_row);
	while ((item = TAILQ_FIRST(&relay->queue)) != NULL) {
		TAILQ_REMOVE(&relay->queue, item, link);
		item_free(item, false);
	}
	/* A round in flight was finished by the bus (freed before us, after
	 * relay_stop()), which runs every publish callback when it goes. */
	if (relay->ev_timer)
		event_free(relay->ev_timer);
	if (relay->ev_kick)
		event_free(relay->ev_kick);
	pgarray_free(&relay->done);
	free(relay);
}

const struct prom_histogram *relay_publish_latency(const struct relay *relay)
{
	return &relay->publish_latency;
}

void relay_get_stats(const struct relay *relay, struct relay_stats *out)
{
	*out = relay->stats;
	out->queued = relay->queued;
}
