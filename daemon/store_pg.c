/*
 * store_pg.c - group commit of intake records into PostgreSQL.
 *
 * Shape: records wait in one FIFO queue. Whenever a connection of the pool
 * (pgpool.c) is free and records wait, it takes up to batch_max of them, gives each
 * a ticket id from a pool drawn from ticket_seq ahead of need, routes each
 * (store_hooks.route) and sends ONE prepared statement (queries/intake.sql: arrays
 * of every column, unnested server-side) followed by a pipeline Sync. The records'
 * owners hear the outcome only when the Sync arrives, i.e. after the implicit
 * transaction has committed. While a commit is in flight the next batch
 * accumulates, so batch size follows load (group commit).
 *
 * Failure handling (the pool sorts failures; this file acts on them):
 *  - connection lost, transient error: the batch goes back to the head of the
 *    queue unacknowledged, and is sent again on a new connection;
 *  - a data error in a multi-record batch: its records are retried one per
 *    batch, so only the bad record fails;
 *  - a record that lost a uniqueness race with another daemon is retried (it
 *    then finds the other daemon's ticket and reports it as a duplicate).
 *
 * Never: acknowledges a record before its commit, or frees a record (the done
 * callback hands it back to its owner).
 */
#include "store_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "feeds_mirror.h"
#include "keyset.h"
#include "log.h"
#include "pgarray.h"
#include "prom.h"
#include "pgtext.h"
#include "ticket_state.h"

/* How many times a record may lose a uniqueness race before it fails. */
#define MAX_RACE_RETRIES 5

/*
 * An intake batch's outbox row waits this long for the relay's fast path (it is
 * published from memory right after the commit) before the sweeper may take it.
 */
#define OUTBOX_FAST_PATH_MS 5000

TAILQ_HEAD(record_queue, store_intake);

struct batch {
	struct record_queue records;
	size_t count;
	struct keyset keys; /* its records' repeat_key()s (empty without repeats) */
	int64_t at_ms;	    /* when it was built (every record's at_ms) */
	bool got_rows;
	bool failed;
	char message[256];
};

struct store_pg {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct pgpool *pool;
	struct record_queue queue;
	size_t queued;
	struct store_hooks hooks;
	const char *linked_state; /* what the state machine makes of RECEIVED + LINK */
	char link_counters[16];	  /* ... and the counters that move moves (decimal) */
	/* Ticket ids drawn from ticket_seq ahead of need: ids[ids_head..ids_count). */
	int64_t *ids;
	size_t ids_head, ids_count, ids_cap;
	bool ids_pending;	    /* a refill is queued, in flight or backing off */
	struct event *ev_ids_retry; /* after a failed refill */
	/* batches in flight, for the repeat-complaint keys */
	struct batch **flying;
	size_t nflying, flying_cap;
	size_t inflight;
	struct store_pg_stats stats;
	struct prom_histogram batch_size;     /* records per intake transaction */
	struct prom_histogram commit_latency; /* submit -> committed, seconds */
};

static const double batch_bounds[] = { 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000 };

/* ---- ticket ids ----------------------------------------------------------- */

static size_t ids_available(const struct store_pg *store)
{
	return store->ids_count - store->ids_head;
}

static void retry_ids_later(struct store_pg *store)
{
	struct timeval tv = { 1, 0 };
	if (event_add(store->ev_ids_retry, &tv) != 0)
		store->ids_pending = false; /* the next batch asks again */
}

static void on_ids(void *arg, const PGresult *res, const char *error)
{
	struct store_pg *store = arg;
	if (error) {
		/* Transient failures never get here (the statement is retried);
		 * this is e.g. a permission problem: retry, but not in a loop. */
		log_warn("store: drawing ticket ids from ticket_seq failed (%s); retrying in 1 s",
			 error);
		retry_ids_later(store);
		return;
	}
	store->ids_pending = false;
	size_t rows = (size_t)PQntuples(res), left = ids_available(store);
	if (left > 0 && store->ids_head > 0)
		memmove(store->ids, store->ids + store->ids_head, left * sizeof(*store->ids));
	store->ids_head = 0;
	store->ids_count = left;
	if (left + rows > store->ids_cap) {
		int64_t *grown = realloc(store->ids, (left + rows) * sizeof(*grown));
		if (!grown)
			fatal("out of memory keeping %zu ticket ids", left + rows);
		store->ids = grown;
		store->ids_cap = left + rows;
	}
	for (size_t i = 0; i < rows; i++) {
		int64_t id;
		if (pgtext_int64(PQgetvalue(res, (int)i, INTAKE_IDS_C_TICKET_ID), &id) != 0) {
			log_error("store: ticket_seq gave '%s', not a number",
				  PQgetvalue(res, (int)i, INTAKE_IDS_C_TICKET_ID));
			continue;
		}
		store->ids[store->ids_count++] = id;
	}
	pgpool_kick(store->pool);
}

/* Keeps two batches' worth of ids at hand: asks for four when fewer remain. */
static void ids_refill(struct store_pg *store)
{
	size_t batch = (size_t)store->cfg->pg_batch_max;
	if (store->ids_pending || ids_available(store) >= 2 * batch)
		return;
	char n[32];
	snprintf(n, sizeof(n), "%zu", 4 * batch);
	const char *values[INTAKE_IDS_NPARAMS] = { [INTAKE_IDS_P_COUNT] = n };
	store->ids_pending = true;
	pgpool_query(store->pool, QUERY_INTAKE_IDS, values, on_ids, store);
}

static void on_ids_retry(evutil_socket_t fd, short what, void *arg)
{
	struct store_pg *store = arg;
	store->ids_pending = false;
	ids_refill(store);
}

/* ---- batches ------------------------------------------------------------- */

/* A record's caller and category (never 0: keyset.h). */
static uint64_t repeat_key(const struct intake *in)
{
	return keyset_hash2(in->caller_phone, in->category);
}

/* Is a record of this caller and category in a transaction now? */
static bool key_in_flight(const struct store_pg *store, uint64_t key)
{
	for (size_t i = 0; i < store->nflying; i++)
		if (keyset_has(&store->flying[i]->keys, key))
			return true;
	return false;
}

static void flying_add(struct store_pg *store, struct batch *b)
{
	if (store->nflying == store->flying_cap) {
		size_t cap = store->flying_cap ? store->flying_cap * 2 : 8;
		struct batch **grown = realloc(store->flying, cap * sizeof(*grown));
		if (!grown)
			fatal("out of memory tracking batches in flight");
		store->flying = grown;
		store->flying_cap = cap;
	}
	store->flying[store->nflying++] = b;
}

static void flying_remove(struct store_pg *store, struct batch *b)
{
	for (size_t i = 0; i < store->nflying; i++) {
		if (store->flying[i] == b) {
			store->flying[i] = store->flying[--store->nflying];
			return;
		}
	}
}

static void batch_free(struct store_pg *store, struct batch *b)
{
	flying_remove(store, b);
	keyset_free(&b->keys);
	free(b);
}

/*
 * Moves up to batch_max records from the queue into a new batch, giving each a
 * ticket id. The repeat-complaint lookup of the intake statement sees only
 * committed tickets, so a record of the same caller and category as one in this
 * batch or in a batch in flight waits (with everything behind it) for that batch:
 * the batch is cut before it, and may be empty.
 */
static struct batch *batch_take(struct store_pg *store)
{
	struct batch *b = calloc(1, sizeof(*b));
	if (!b)
		fatal("out of memory allocating a batch");
	TAILQ_INIT(&b->records);
	size_t max = (size_t)store->cfg->pg_batch_max;
	if (max > ids_available(store))
		max = ids_available(store);
	bool repeats = store->cfg->repeat_window_hours > 0;
	b->at_ms = clock_now_ms();
	if (repeats && keyset_init(&b->keys, max) != 0)
		fatal("out of memory building a batch");
	struct store_intake *rec;
	while ((rec = TAILQ_FIRST(&store->queue)) != NULL && b->count < max) {
		if (rec->solo && b->count > 0)
			break;
		const struct intake *in = rec->intake;
		if (repeats && in->caller_phone[0] && in->category[0]) {
			uint64_t key = repeat_key(in);
			if (key_in_flight(store, key) || !keyset_add(&b->keys, key)) {
				store->stats.repeat_waits++;
				break;
			}
		}
		TAILQ_REMOVE(&store->queue, rec, link);
		TAILQ_INSERT_TAIL(&b->records, rec, link);
		b->count++;
		rec->ticket_id = store->ids[store->ids_head++];
		rec->outbox_id = 0;
		rec->at_ms = b->at_ms;
		if (store->hooks.route)
			store->hooks.route(store->hooks.route_arg, rec);
		store->queued--;
		store->inflight++;
		if (rec->solo)
			break;
	}
	return b;
}

/* Puts a batch's records back at the head of the queue, in their order. */
static void batch_requeue(struct store_pg *store, struct batch *b, bool solo)
{
	struct store_intake *rec;
	while ((rec = TAILQ_LAST(&b->records, record_queue)) != NULL) {
		TAILQ_REMOVE(&b->records, rec, link);
		rec->solo = rec->solo || solo;
		rec->ticket_no[0] = '\0';
		TAILQ_INSERT_HEAD(&store->queue, rec, link);
		store->queued++;
		store->inflight--;
	}
	b->count = 0;
}

static void record_finish(struct store_pg *store, struct store_intake *rec,
			  const struct store_result *result)
{
	store->inflight--;
	if (result->outcome == STORE_COMMITTED) {
		store->stats.committed++;
		prom_histogram_observe(&store->commit_latency,
				       (double)(clock_mono_us() - rec->submitted_us) / 1e6);
		if (result->duplicate)
			store->stats.duplicates++;
	} else {
		store->stats.failed++;
	}
	rec->done(rec, result);
}

/* ---- the intake statement's parameters -------------------------------------- */

/* Which intake parameters are arrays in binary form, and of what. */
static uint32_t binary_oid(int param)
{
	switch (param) {
	case INTAKE_P_TICKET_ID:
	case INTAKE_P_RECEIVED_MS:
	case INTAKE_P_DEADLINE_MS:
	case INTAKE_P_COUNTERS:
		return PGARRAY_INT8;
	case INTAKE_P_LAT:
	case INTAKE_P_LON:
		return PGARRAY_FLOAT8;
	case INTAKE_P_PRIORITY:
		return PGARRAY_INT2;
	default:
		return 0;
	}
}

/* $1..$22 are arrays, and $29; the rest scalars */
#define INTAKE_ARRAYS (INTAKE_P_ACTOR + 1)
_Static_assert(INTAKE_P_COUNTERS == INTAKE_NPARAMS - 2, "intake.sql: $29 is the last array");

static void put_text(struct pgarray *a, const char *s)
{
	pgarray_text(a, s, strlen(s)); /* validated record fields: no NUL inside */
}

static int send_intake(struct store_pg *store, struct batch *b, PGconn *pg)
{
	struct pgarray a[INTAKE_ARRAYS], counters;
	memset(a, 0, sizeof(a));
	memset(&counters, 0, sizeof(counters));
	for (int i = 0; i < INTAKE_ARRAYS; i++) {
		if (binary_oid(i))
			pgarray_begin_binary(&a[i], binary_oid(i));
		else
			pgarray_begin_text(&a[i]);
	}
	pgarray_begin_binary(&counters, binary_oid(INTAKE_P_COUNTERS));
	struct store_intake *rec;
	TAILQ_FOREACH(rec, &b->records, link)
	{
		const struct intake *in = rec->intake;
		pgarray_int8(&a[INTAKE_P_TICKET_ID], rec->ticket_id);
		put_text(&a[INTAKE_P_FEED_CODE], rec->feed_code);
		put_text(&a[INTAKE_P_EXTERNAL_ID], in->external_id);
		pgarray_int8(&a[INTAKE_P_RECEIVED_MS], in->received_at_ms);
		put_text(&a[INTAKE_P_CHANNEL], in->channel);
		put_text(&a[INTAKE_P_CALLER_PHONE], in->caller_phone);
		put_text(&a[INTAKE_P_CALLER_NAME], in->caller_name);
		put_text(&a[INTAKE_P_CATEGORY], in->category);
		put_text(&a[INTAKE_P_CONTENT], in->content);
		put_text(&a[INTAKE_P_DISTRICT], in->district);
		put_text(&a[INTAKE_P_ADDRESS], in->address);
		if (in->has_location) {
			pgarray_float8(&a[INTAKE_P_LAT], in->lat);
			pgarray_float8(&a[INTAKE_P_LON], in->lon);
		} else {
			pgarray_null(&a[INTAKE_P_LAT]);
			pgarray_null(&a[INTAKE_P_LON]);
		}
		pgarray_int2(&a[INTAKE_P_PRIORITY], (int16_t)(in->priority ? in->priority : 1));
		put_text(&a[INTAKE_P_ORIGIN_NUMBER], in->origin_number);
		put_text(&a[INTAKE_P_STATE], ticket_state_name(rec->state));
		put_text(&a[INTAKE_P_DEPT_CODE], rec->dept_code);
		put_text(&a[INTAKE_P_ROUTE_RULE], rec->route_rule);
		put_text(&a[INTAKE_P_ROUTE_EVENT], ticket_event_name(rec->route_event));
		pgarray_int8(&a[INTAKE_P_DEADLINE_MS], rec->deadline_at_ms);
		put_text(&a[INTAKE_P_ANSWER], rec->state == TICKET_CLOSED ? in->answer : "");
		put_text(&a[INTAKE_P_ACTOR], rec->actor);
		pgarray_int8(&counters, rec->counters);
	}
	const char *values[INTAKE_NPARAMS];
	int lengths[INTAKE_NPARAMS] = { 0 };
	int formats[INTAKE_NPARAMS] = { 0 };
	int rc = 0;
	for (int i = 0; i < INTAKE_ARRAYS; i++) {
		if (pgarray_end(&a[i]) != 0)
			rc = -1;
		values[i] = a[i].data;
		lengths[i] = (int)a[i].len;
		formats[i] = a[i].binary;
	}
	if (pgarray_end(&counters) != 0)
		rc = -1;
	values[INTAKE_P_COUNTERS] = counters.data;
	lengths[INTAKE_P_COUNTERS] = (int)counters.len;
	formats[INTAKE_P_COUNTERS] = counters.binary;
	char window[32], at[32], fast_path[32];
	snprintf(window, sizeof(window), "%ld", store->cfg->repeat_window_hours);
	snprintf(at, sizeof(at), "%lld", (long long)b->at_ms);
	snprintf(fast_path, sizeof(fast_path), "%d", OUTBOX_FAST_PATH_MS);
	values[INTAKE_P_TIMEZONE] = store->cfg->pg_timezone;
	values[INTAKE_P_LINKED_STATE] = store->linked_state;
	values[INTAKE_P_WINDOW_HOURS] = window;
	values[INTAKE_P_LINK_EVENT] = ticket_event_name(TICKET_EV_LINK);
	values[INTAKE_P_AT_MS] = at;
	values[INTAKE_P_FAST_PATH_MS] = fast_path;
	values[INTAKE_P_LINK_COUNTERS] = store->link_counters;
	if (rc == 0)
		rc = pgpool_send_prepared(pg, QUERY_INTAKE, values, lengths, formats);
	else
		log_error("store: out of memory building a batch of %zu records", b->count);
	for (int i = 0; i < INTAKE_ARRAYS; i++)
		pgarray_free(&a[i]);
	pgarray_free(&counters);
	return rc;
}

static void batch_take_rows(struct batch *b, const PGresult *res)
{
	int rows = PQntuples(res);
	bool ok = rows == (int)b->count && PQnfields(res) == INTAKE_NCOLUMNS;
	struct store_intake *rec = TAILQ_FIRST(&b->records);
	for (int row = 0; ok && row < rows && rec; row++, rec = TAILQ_NEXT(rec, link)) {
		if (PQgetisnull(res, row, INTAKE_C_TICKET_NO)) {
			rec->ticket_no[0] = '\0';
			continue;
		}
		snprintf(rec->ticket_no, sizeof(rec->ticket_no), "%s",
			 PQgetvalue(res, row, INTAKE_C_TICKET_NO));
		ok = pgtext_bool(PQgetvalue(res, row, INTAKE_C_DUPLICATE), &rec->duplicate) == 0;
		rec->outbox_id = 0;
		if (ok && !PQgetisnull(res, row, INTAKE_C_OUTBOX_ID))
			ok = pgtext_int64(PQgetvalue(res, row, INTAKE_C_OUTBOX_ID),
					  &rec->outbox_id) == 0;
		/* The state stored (LINKED is decided in SQL): for the owner's counters. */
		if (ok && !PQgetisnull(res, row, INTAKE_C_STATE)) {
			int stored = ticket_state_from_name(PQgetvalue(res, row, INTAKE_C_STATE));
			if (stored > 0)
				rec->state = stored;
		}
	}
	b->got_rows = ok;
	if (!ok) {
		b->failed = true;
		snprintf(b->message, sizeof(b->message),
			 "intake statement returned %d rows of %d columns for %zu records", rows,
			 PQnfields(res), b->count);
	}
}

/* ---- the pool's source ----------------------------------------------------- */

static void *source_take(void *owner)
{
	struct store_pg *store = owner;
	if (store->queued == 0)
		return NULL;
	ids_refill(store);
	if (ids_available(store) == 0 ||
	    (store->hooks.ready && !store->hooks.ready(store->hooks.route_arg)))
		return NULL;
	struct batch *b = batch_take(store);
	if (b->count == 0) {
		/* The head record waits for a batch in flight (repeat_key). */
		batch_free(store, b);
		return NULL;
	}
	flying_add(store, b);
	store->stats.batches++;
	prom_histogram_observe(&store->batch_size, (double)b->count);
	if (b->count > store->stats.batch_records_max)
		store->stats.batch_records_max = b->count;
	return b;
}

static int source_send(void *owner, void *work, PGconn *pg)
{
	return send_intake(owner, work, pg);
}

static bool source_result(void *owner, void *work, PGresult *res)
{
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		batch_take_rows(work, res);
	return false;
}

static void source_lost(void *owner, void *work)
{
	struct store_pg *store = owner;
	batch_requeue(store, work, false);
	batch_free(store, work);
}

/* The batch's Sync arrived: it committed, or failed for good. */
static void source_done(void *owner, void *work, const struct pgpool_failure *failure)
{
	struct store_pg *store = owner;
	struct batch *b = work;
	flying_remove(store, b);
	if (failure || b->failed) {
		const char *sqlstate = failure ? failure->sqlstate : "";
		const char *message = failure ? failure->message : b->message;
		if (b->count > 1) {
			log_warn("store: batch of %zu records failed (%s: %s); retrying each alone",
				 b->count, sqlstate, message);
			batch_requeue(store, b, true);
			batch_free(store, b);
			pgpool_kick(store->pool);
			return;
		}
		struct store_intake *rec = TAILQ_FIRST(&b->records);
		TAILQ_REMOVE(&b->records, rec, link);
		log_warn("store: feed=%s record refused by PostgreSQL (%s: %s)", rec->feed_code,
			 sqlstate, message);
		struct store_result result = { STORE_FAILED, NULL, false, message };
		record_finish(store, rec, &result);
		batch_free(store, b);
		pgpool_kick(store->pool);
		return;
	}
	struct store_intake *rec, *next;
	for (rec = TAILQ_FIRST(&b->records); rec; rec = next) {
		next = TAILQ_NEXT(rec, link);
		TAILQ_REMOVE(&b->records, rec, link);
		if (rec->ticket_no[0] == '\0') {
			/* Lost a race with another daemon on the same key: try again. */
			store->stats.retried++;
			if (++rec->retries > MAX_RACE_RETRIES) {
				struct store_result result = {
					STORE_FAILED, NULL, false,
					"could not settle a concurrent insert"
				};
				record_finish(store, rec, &result);
				continue;
			}
			store->inflight--;
			TAILQ_INSERT_TAIL(&store->queue, rec, link);
			store->queued++;
			continue;
		}
		if (rec->outbox_id > 0 && store->hooks.dispatched)
			store->hooks.dispatched(store->hooks.dispatched_arg, rec);
		struct store_result result = { STORE_COMMITTED, rec->ticket_no, rec->duplicate,
					       NULL };
		record_finish(store, rec, &result);
	}
	batch_free(store, b);
	pgpool_kick(store->pool);
}

static void source_connected(void *owner)
{
	struct store_pg *store = owner;
	feeds_mirror_sync(store->pool, store->cfg);
}

/* ---- the store -------------------------------------------------------------- */

struct store_pg *store_pg_new(struct event_base *base, const struct hotline_config *cfg)
{
	struct store_pg *store = calloc(1, sizeof(*store));
	if (!store)
		return NULL;
	store->base = base;
	store->cfg = cfg;
	TAILQ_INIT(&store->queue);
	prom_histogram_init(&store->batch_size, batch_bounds,
			    sizeof(batch_bounds) / sizeof(batch_bounds[0]));
	prom_histogram_init(&store->commit_latency, prom_latency_bounds, prom_latency_nbounds);
	struct pgpool_source source = { store,	     source_take, source_send,	   source_result,
					source_done, source_lost, source_connected };
	store->pool = pgpool_new(base, cfg, &source);
	store->ev_ids_retry = event_new(base, -1, 0, on_ids_retry, store);
	if (!store->pool || !store->ev_ids_retry) {
		pgpool_free(store->pool);
		if (store->ev_ids_retry)
			event_free(store->ev_ids_retry);
		free(store);
		return NULL;
	}
	/* Repeat complaints are linked in SQL (only the database knows the parent);
	 * the move itself is the state machine's, decided once here. */
	struct ticket_status cur, next;
	struct ticket_effects fx;
	struct ticket_limits limits;
	struct ticket_event link = { TICKET_EV_LINK, 1, NULL, 0, NULL };
	char err[128];
	ticket_status_init(&cur);
	ticket_limits_default(&limits);
	if (ticket_transition(&cur, &link, &limits, &next, &fx, err, sizeof(err)) != TICKET_OK)
		fatal("the state machine refuses RECEIVED -> LINK: %s", err);
	store->linked_state = ticket_state_name(next.state);
	snprintf(store->link_counters, sizeof(store->link_counters), "%u", fx.counters);
	return store;
}

void store_pg_start(struct store_pg *store)
{
	pgpool_start(store->pool);
}

void store_pg_free(struct store_pg *store)
{
	if (!store)
		return;
	pgpool_free(store->pool); /* batches in flight come back to the queue */
	if (store->queued)
		log_warn("store: exiting with %zu records not committed (not acknowledged; feeds "
			 "resend them)",
			 store->queued);
	/* Records still queued belong to connections that are being torn down too. */
	struct store_intake *rec;
	while ((rec = TAILQ_FIRST(&store->queue)) != NULL) {
		TAILQ_REMOVE(&store->queue, rec, link);
		intake_free(rec->intake);
		free(rec);
	}
	event_free(store->ev_ids_retry);
	free(store->flying);
	free(store->ids);
	free(store);
}

void store_pg_set_hooks(struct store_pg *store, const struct store_hooks *hooks)
{
	store->hooks = *hooks;
}

void store_pg_query(struct store_pg *store, enum query q, const char *const *values,
		    store_query_fn cb, void *arg)
{
	pgpool_query(store->pool, q, values, cb, arg);
}

struct pgpool *store_pg_pool(struct store_pg *store)
{
	return store->pool;
}

void store_pg_submit(struct store_pg *store, struct store_intake *rec)
{
	rec->solo = false;
	rec->retries = 0;
	rec->ticket_no[0] = '\0';
	rec->submitted_us = clock_mono_us();
	TAILQ_INSERT_TAIL(&store->queue, rec, link);
	store->queued++;
	pgpool_kick(store->pool);
}

size_t store_pg_pending(const struct store_pg *store)
{
	return store->queued + store->inflight;
}

void store_pg_kick(struct store_pg *store)
{
	pgpool_kick(store->pool);
}

void store_pg_config_changed(struct store_pg *store)
{
	feeds_mirror_sync(store->pool, store->cfg);
}

void store_pg_histograms(const struct store_pg *store, const struct prom_histogram **batch_size,
			 const struct prom_histogram **commit_latency)
{
	*batch_size = &store->batch_size;
	*commit_latency = &store->commit_latency;
}

void store_pg_get_stats(const struct store_pg *store, struct store_pg_stats *out)
{
	*out = store->stats;
	struct pgpool_stats ps;
	pgpool_get_stats(store->pool, &ps);
	out->reconnects = ps.reconnects;
	out->queries = ps.queries;
	out->queries_queued = ps.queries_queued;
	out->connections_ready = ps.connections_ready;
	out->queued = store->queued;
	out->inflight = store->inflight;
}
