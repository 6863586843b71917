/*
 * store_pg.c - group commit of intake records into PostgreSQL.
 *
 * Shape: records wait in one FIFO queue. Each pool connection has at most one
 * transaction in flight; whenever a connection is idle and records wait, it
 * takes up to batch_max of them, gives each a ticket id from a pool drawn from
 * ticket_seq ahead of need, routes each (store_hooks.route) and sends ONE
 * statement (arrays of every column, unnested server-side, inserting tickets,
 * linking repeat complaints, writing audit events and outbox rows, returning
 * each record's ticket_no) followed by a pipeline Sync. Other statements
 * (store_pg_query: department actions, relay, watcher) go ahead of batches,
 * one transaction each. The
 * records' owners hear the outcome only when PGRES_PIPELINE_SYNC arrives, i.e.
 * after the implicit transaction has committed. While a commit is in flight
 * the next batch accumulates, so batch size follows load (group commit).
 *
 * Failure handling:
 *  - connection lost, server shutting down, serialization failure, schema not
 *    migrated: the batch goes back to the head of the queue unacknowledged,
 *    the connection is dropped and reopened with exponential backoff;
 *  - a data error in a multi-record batch: its records are retried one per
 *    batch, so only the bad record fails;
 *  - a record that lost a uniqueness race with another daemon is retried (it
 *    then finds the other daemon's ticket and reports it as a duplicate).
 *
 * Never: acknowledges a record before its commit, or frees a record (the
 * done callback hands it back to its owner).
 */
#include "store_pg.h"

#include <errno.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "clock.h"
#include "log.h"
#include "ticket_state.h"

enum pgconn_state {
	PGCONN_WAITING,	   /* backoff timer running before the next attempt */
	PGCONN_CONNECTING, /* PQconnectPoll in progress */
	PGCONN_READY	   /* in pipeline mode; idle or one batch in flight */
};

enum batch_kind { BATCH_INTAKE, BATCH_FEEDS, BATCH_QUERY };

TAILQ_HEAD(record_queue, store_intake);

struct store_query {
	TAILQ_ENTRY(store_query) link;
	const char *sql; /* static */
	int nparams;
	char **values; /* copies, in the same allocation as the struct */
	store_query_fn cb;
	void *arg;
};
TAILQ_HEAD(query_queue, store_query);

struct batch {
	enum batch_kind kind;
	struct record_queue records;
	size_t count;
	struct store_query *query; /* BATCH_QUERY */
	PGresult *result;	   /* BATCH_QUERY: kept until the Sync */
	uint64_t *keys;		   /* BATCH_INTAKE: set of its records' repeat_key()s */
	int64_t at_ms;		   /* BATCH_INTAKE: when it was built (every record's at_ms) */
	size_t keys_cap;	   /* a power of two, or 0 */
	bool got_rows;
	bool failed;
	char sqlstate[6];
	char message[256];
};

struct pgconn {
	struct store_pg *store;
	int index;
	enum pgconn_state state;
	PGconn *pg;
	int sock;
	struct event *ev_read;	/* persistent while READY; one-shot while CONNECTING */
	struct event *ev_write; /* one-shot: socket writable (connect step or flush) */
	struct event *ev_timer; /* backoff, or query timeout of the batch in flight */
	struct batch *batch;	/* in flight, or NULL */
	long backoff_ms;
	int nulls; /* consecutive NULL results: guards the result loop */
};

struct store_pg {
	struct event_base *base;
	const struct hotline_config *cfg;
	struct record_queue queue;
	size_t queued;
	struct query_queue queries;
	size_t queries_queued;
	struct store_hooks hooks;
	const char *linked_state; /* what the state machine makes of RECEIVED + LINK */
	/* Ticket ids drawn from ticket_seq ahead of need: ids[ids_head..ids_count). */
	int64_t *ids;
	size_t ids_head, ids_count, ids_cap;
	bool ids_pending;	    /* a refill is queued, in flight or backing off */
	struct event *ev_ids_retry; /* after a failed refill */
	size_t inflight;
	struct pgconn *conns;
	int nconns;
	bool feeds_dirty;
	bool last_was_query;   /* the last transaction sent was a statement (fairness) */
	struct event *ev_kick; /* deferred "try to send" so submit never re-enters */
	struct store_pg_stats stats;
};

/*
 * The intake statement. One row per record comes back, in input order:
 * (ord, ticket_no, duplicate, outbox_id, state). ticket_id ($1) was drawn from
 * ticket_seq ahead of time (see the id pool), so nothing needs numbering here and
 * every later step joins on that integer. ticket_no is NULL only when the record
 * was not inserted and its key is not visible yet: another daemon (or an earlier
 * record of this batch) is inserting the same (feed, external_id) concurrently;
 * the record is then retried and finds the committed original. outbox_id is set
 * for a new DISPATCHED ticket: the one outbox row of every ticket the batch
 * dispatched (the relay deletes it once all of them are published). The
 * routing columns ($16..$21) were decided in C by lib/ticket_state.c's state
 * machine; the statement records both transitions
 * (INTAKE, then the routing event) in the audit table. Repeat complaints are
 * linked to the oldest open ticket of the same caller and category, which this
 * statement can see only once committed: batch_take keeps a record out of every
 * batch while another batch (being built or in flight) holds its caller and
 * category.
 */
static const char intake_sql[] =
	"WITH ins AS ("
	"  INSERT INTO tickets (ticket_id, ticket_no, feed_code, external_id, received_at,"
	"    channel, caller_phone, caller_name, category, content, district, address, lat,"
	"    lon, priority, origin_number, state, dept_code, route_rule, dispatched_at,"
	"    deadline_at, reply, closed_at, resolved_on_call, parent_ticket_id, created_at,"
	"    updated_at)"
	/* at least 8 digits; lpad alone would cut a longer id down to 8 */
	"  SELECT n.ticket_id, d.day || '-' || lpad(n.ticket_id::text,"
	"    greatest(8, length(n.ticket_id::text)), '0'),"
	"    n.feed_code, n.external_id, to_timestamp(n.received_ms::float8 / 1000),"
	"    NULLIF(n.channel, ''), NULLIF(n.caller_phone, ''), NULLIF(n.caller_name, ''),"
	"    NULLIF(n.category, ''), n.content, NULLIF(n.district, ''),"
	"    NULLIF(n.address, ''), n.lat, n.lon, n.priority, NULLIF(n.origin_number, ''),"
	"    CASE WHEN l.parent_id IS NULL THEN n.state ELSE $23 END,"
	"    CASE WHEN l.parent_id IS NULL THEN NULLIF(n.dept_code, '') END,"
	"    CASE WHEN l.parent_id IS NULL THEN NULLIF(n.route_rule, '') END,"
	"    CASE WHEN n.state = 'DISPATCHED' AND l.parent_id IS NULL THEN c.at END,"
	"    CASE WHEN n.deadline_ms > 0 AND l.parent_id IS NULL"
	"      THEN to_timestamp(n.deadline_ms::float8 / 1000) END,"
	"    NULLIF(n.answer, ''), CASE WHEN n.state = 'CLOSED' THEN c.at END,"
	"    n.route_event = 'DIRECT_CLOSE', l.parent_id, c.at, c.at"
	"  FROM unnest($1::int8[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[],"
	"    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::float8[],"
	"    $13::float8[], $14::int2[], $15::text[], $16::text[], $17::text[], $18::text[],"
	"    $19::text[], $20::int8[], $21::text[])"
	"    AS n(ticket_id, feed_code, external_id, received_ms, channel, caller_phone,"
	"    caller_name, category, content, district, address, lat, lon, priority,"
	"    origin_number, state, dept_code, route_rule, route_event, deadline_ms, answer)"
	/* the batch's one instant (clock.h): every time this event writes */
	"  CROSS JOIN (SELECT to_timestamp($26::float8 / 1000) AS at) c"
	/* OFFSET 0 keeps the lookup a subquery evaluated once per record (inlined, it
	 * would run once per reference above). */
	"  CROSS JOIN LATERAL (SELECT CASE WHEN $24::int > 0 AND n.caller_phone <> ''"
	"        AND n.category <> '' AND n.route_event <> 'DIRECT_CLOSE' THEN"
	"      (SELECT p.ticket_id FROM tickets p"
	"        WHERE p.caller_phone = n.caller_phone AND p.category = n.category"
	"          AND p.state <> 'CLOSED' AND p.parent_ticket_id IS NULL"
	"          AND p.caller_phone IS NOT NULL"
	"          AND p.created_at > c.at - make_interval(hours => $24::int)"
	"        ORDER BY p.created_at LIMIT 1) END AS parent_id OFFSET 0) l,"
	"    LATERAL (SELECT to_char(c.at AT TIME ZONE $22::text, 'YYYYMMDD') AS day) d"
	"  ON CONFLICT (feed_code, external_id) DO NOTHING"
	"  RETURNING ticket_id, ticket_no, feed_code, state, dept_code, route_rule, reply,"
	"    parent_ticket_id, created_at"
	"), ev AS ("
	"  INSERT INTO ticket_events (ticket_id, kind, from_state, to_state, actor, detail, at)"
	"  SELECT ticket_id, 'INTAKE', NULL, 'RECEIVED', 'feed:' || feed_code, NULL, created_at"
	"  FROM ins"
	"  UNION ALL"
	"  SELECT ins.ticket_id,"
	"    CASE WHEN ins.parent_ticket_id IS NULL THEN e.route_event ELSE $25 END,"
	"    'RECEIVED', ins.state,"
	"    CASE WHEN e.route_event = 'DIRECT_CLOSE' THEN 'feed:' || ins.feed_code"
	"      ELSE 'router' END,"
	"    COALESCE('parent:' || ins.parent_ticket_id, ins.route_rule, ins.reply),"
	"    ins.created_at"
	"  FROM ins JOIN unnest($1::int8[], $19::text[]) AS e(ticket_id, route_event)"
	"    USING (ticket_id)"
	"), ob AS ("
	/* one outbox row for every ticket this batch dispatched (005_batch_outbox) */
	"  INSERT INTO outbox (ticket_ids, kind)"
	"  SELECT array_agg(ticket_id), 'dispatch' FROM ins WHERE state = 'DISPATCHED'"
	"  HAVING count(*) > 0"
	"  RETURNING outbox_id"
	")"
	/* A resend finds the original through the unique index (evaluated only for
	 * records this statement did not insert). */
	" SELECT k.ord,"
	"   COALESCE(ins.ticket_no, (SELECT t.ticket_no FROM tickets t"
	"     WHERE t.feed_code = k.feed_code AND t.external_id = k.external_id)),"
	"   ins.ticket_id IS NULL,"
	"   CASE WHEN ins.state = 'DISPATCHED' THEN (SELECT outbox_id FROM ob) END, ins.state"
	" FROM unnest($1::int8[], $2::text[], $3::text[]) WITH ORDINALITY"
	"   AS k(ticket_id, feed_code, external_id, ord)"
	" LEFT JOIN ins USING (ticket_id)"
	" ORDER BY k.ord";
#define INTAKE_NPARAMS 26
#define INTAKE_FIRST_SCALAR                                         \
	21 /* $22..$26: time zone, linked state, window hours, link \
	    * event, the batch's instant (unix ms) */

/* Draws ticket ids ahead of need: ticket_seq stays the one source of ids across
 * daemons; ids a daemon drew but never used are gaps, like any sequence's. */
static const char ids_sql[] = "SELECT nextval('ticket_seq') FROM generate_series(1, $1::int)";

/* Mirrors the config's feeds and departments into their tables. */
static const char feeds_sql[] =
	"WITH f AS ("
	"  INSERT INTO feeds (feed_code, name, join_mode, dept_code)"
	"  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
	"  ON CONFLICT (feed_code) DO UPDATE SET name = EXCLUDED.name,"
	"    join_mode = EXCLUDED.join_mode, dept_code = EXCLUDED.dept_code, updated_at = now()"
	"  RETURNING 1"
	")"
	" INSERT INTO departments (dept_code, name)"
	" SELECT * FROM unnest($5::text[], $6::text[])"
	" ON CONFLICT (dept_code) DO UPDATE SET name = EXCLUDED.name, updated_at = now()";

/* How many times a record may lose a uniqueness race before it fails. */
#define MAX_RACE_RETRIES 5

static void pgconn_schedule_connect(struct pgconn *pc, long delay_ms);
static void pgconn_drop(struct pgconn *pc, const char *why);
static void store_kick(struct store_pg *store);

/* ---- text-array parameter building ------------------------------------ */

struct strbuf {
	char *data;
	size_t len, cap;
};

static void sb_reserve(struct strbuf *sb, size_t extra)
{
	if (sb->len + extra + 1 <= sb->cap)
		return;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *grown = realloc(sb->data, cap);
	if (!grown)
		fatal("out of memory building a batch of %zu bytes", cap);
	sb->data = grown;
	sb->cap = cap;
}

static void sb_putc(struct strbuf *sb, char c)
{
	sb_reserve(sb, 1);
	sb->data[sb->len++] = c;
	sb->data[sb->len] = '\0';
}

static void sb_puts(struct strbuf *sb, const char *s, size_t n)
{
	sb_reserve(sb, n);
	memcpy(sb->data + sb->len, s, n);
	sb->len += n;
	sb->data[sb->len] = '\0';
}

static void sb_array_sep(struct strbuf *sb)
{
	if (sb->len > 1)
		sb_putc(sb, ',');
}

/* Appends s as a quoted element of a PostgreSQL text-array literal. */
static void sb_array_text(struct strbuf *sb, const char *s)
{
	sb_array_sep(sb);
	sb_putc(sb, '"');
	for (;;) {
		size_t plain = strcspn(s, "\\\"");
		sb_puts(sb, s, plain);
		s += plain;
		if (*s == '\0')
			break;
		sb_putc(sb, '\\');
		sb_putc(sb, *s++);
	}
	sb_putc(sb, '"');
}

static void sb_array_raw(struct strbuf *sb, const char *token)
{
	sb_array_sep(sb);
	sb_puts(sb, token, strlen(token));
}

static void sb_array_begin(struct strbuf *sb)
{
	sb->len = 0;
	sb_putc(sb, '{');
}

/*
 * Fixed-width columns go as one-dimensional arrays in PostgreSQL's binary
 * format: no text to print here or to parse there, and a double arrives bit for
 * bit. Layout: ndim, has-nulls flag, element type OID, length, lower bound
 * (int32 each, big-endian), then per element its byte length (-1: NULL) and
 * value.
 */
#define BIN_ARRAY_HEADER 20
#define OID_INT8 20
#define OID_INT2 21
#define OID_FLOAT8 701

static void sb_be(struct strbuf *sb, uint64_t v, int bytes)
{
	char b[8];
	for (int i = 0; i < bytes; i++)
		b[i] = (char)(v >> (8 * (bytes - 1 - i)));
	sb_puts(sb, b, (size_t)bytes);
}

static void bin_array_begin(struct strbuf *sb)
{
	sb->len = 0;
	sb_reserve(sb, BIN_ARRAY_HEADER);
	sb->len = BIN_ARRAY_HEADER; /* filled in by bin_array_end */
}

static void bin_array_int8(struct strbuf *sb, int64_t v)
{
	sb_be(sb, 8, 4);
	sb_be(sb, (uint64_t)v, 8);
}

static void bin_array_int2(struct strbuf *sb, int16_t v)
{
	sb_be(sb, 2, 4);
	sb_be(sb, (uint16_t)v, 2);
}

static void bin_array_float8(struct strbuf *sb, double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof(bits));
	sb_be(sb, 8, 4);
	sb_be(sb, bits, 8);
}

static void bin_array_null(struct strbuf *sb)
{
	sb_be(sb, 0xffffffffu, 4);
}

/* Fills in the header bin_array_begin left room for (in place: the elements stay). */
static void bin_array_end(struct strbuf *sb, uint32_t oid, size_t n, bool has_nulls)
{
	uint32_t header[] = { 1, has_nulls, oid, (uint32_t)n, 1 };
	for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++)
		for (int k = 0; k < 4; k++)
			sb->data[4 * i + (size_t)k] = (char)(header[i] >> (8 * (3 - k)));
}

/* ---- batches ------------------------------------------------------------ */

static struct batch *batch_new(enum batch_kind kind)
{
	struct batch *b = calloc(1, sizeof(*b));
	if (!b)
		fatal("out of memory allocating a batch");
	b->kind = kind;
	TAILQ_INIT(&b->records);
	return b;
}

/* ---- ticket ids ----------------------------------------------------------- */

static size_t ids_available(const struct store_pg *store)
{
	return store->ids_count - store->ids_head;
}

static void on_ids(void *arg, const PGresult *res, const char *error)
{
	struct store_pg *store = arg;
	if (error) {
		/* Transient failures never get here (the statement is retried);
		 * this is e.g. a permission problem: retry, but not in a loop. */
		log_warn("store: drawing ticket ids from ticket_seq failed (%s); retrying in 1 s",
			 error);
		struct timeval tv = { 1, 0 };
		event_add(store->ev_ids_retry, &tv);
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
	for (size_t i = 0; i < rows; i++)
		store->ids[store->ids_count++] = strtoll(PQgetvalue(res, (int)i, 0), NULL, 10);
	store_kick(store);
}

/* Keeps two batches' worth of ids at hand: asks for four when fewer remain. */
static void ids_refill(struct store_pg *store)
{
	size_t batch = (size_t)store->cfg->pg_batch_max;
	if (store->ids_pending || ids_available(store) >= 2 * batch)
		return;
	char n[32];
	snprintf(n, sizeof(n), "%zu", 4 * batch);
	const char *values[] = { n };
	store->ids_pending = true;
	store_pg_query(store, ids_sql, 1, values, on_ids, store);
}

static void on_ids_retry(evutil_socket_t fd, short what, void *arg)
{
	struct store_pg *store = arg;
	store->ids_pending = false;
	ids_refill(store);
}

/* ---- batches (continued) -------------------------------------------------- */

/* FNV-1a of a record's caller and category (never 0: 0 marks a free slot). */
static uint64_t repeat_key(const struct intake *in)
{
	uint64_t h = 14695981039346656037ULL;
	for (const unsigned char *p = (const unsigned char *)in->caller_phone; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL; /* separator: no valid UTF-8 byte */
	for (const unsigned char *p = (const unsigned char *)in->category; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h ? h : 1;
}

/* The slot of b's key set (open addressing) that holds key, or where it would go. */
static size_t keys_slot(const struct batch *b, uint64_t key)
{
	size_t mask = b->keys_cap - 1, i = (size_t)key & mask;
	while (b->keys[i] != 0 && b->keys[i] != key)
		i = (i + 1) & mask;
	return i;
}

/* Adds key to b's set; false when it was there already. */
static bool keys_add(struct batch *b, uint64_t key)
{
	size_t i = keys_slot(b, key);
	if (b->keys[i] == key)
		return false;
	b->keys[i] = key;
	return true;
}

static bool keys_has(const struct batch *b, uint64_t key)
{
	return b->keys_cap > 0 && b->keys[keys_slot(b, key)] == key;
}

/* Is a record of this caller and category in a transaction now? */
static bool key_in_flight(const struct store_pg *store, uint64_t key)
{
	for (int i = 0; i < store->nconns; i++) {
		const struct batch *b = store->conns[i].batch;
		if (b && b->kind == BATCH_INTAKE && keys_has(b, key))
			return true;
	}
	return false;
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
	struct batch *b = batch_new(BATCH_INTAKE);
	size_t max = (size_t)store->cfg->pg_batch_max;
	if (max > ids_available(store))
		max = ids_available(store);
	bool repeats = store->cfg->repeat_window_hours > 0;
	b->at_ms = clock_now_ms();
	if (repeats) {
		b->keys_cap = 16;
		while (b->keys_cap < 2 * max)
			b->keys_cap *= 2;
		b->keys = calloc(b->keys_cap, sizeof(*b->keys));
		if (!b->keys)
			fatal("out of memory building a batch");
	}
	struct store_intake *rec;
	while ((rec = TAILQ_FIRST(&store->queue)) != NULL && b->count < max) {
		if (rec->solo && b->count > 0)
			break;
		const struct intake *in = rec->intake;
		if (repeats && in->caller_phone[0] && in->category[0]) {
			uint64_t key = repeat_key(in);
			if (key_in_flight(store, key) || !keys_add(b, key)) {
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

static void batch_free(struct batch *b)
{
	free(b->keys);
	free(b);
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

/*
 * The batch's outcome is unknown or transient: its work goes back to the head
 * of its queue to be sent again (intake is idempotent; statements are written
 * to be). Frees b.
 */
static void batch_discard(struct store_pg *store, struct batch *b)
{
	switch (b->kind) {
	case BATCH_FEEDS:
		break; /* synced again when a connection becomes ready */
	case BATCH_QUERY:
		if (b->result)
			PQclear(b->result);
		TAILQ_INSERT_HEAD(&store->queries, b->query, link);
		store->queries_queued++;
		break;
	case BATCH_INTAKE:
		batch_requeue(store, b, false);
		break;
	}
	batch_free(b);
}

static void record_finish(struct store_pg *store, struct store_intake *rec,
			  const struct store_result *result)
{
	store->inflight--;
	if (result->outcome == STORE_COMMITTED) {
		store->stats.committed++;
		if (result->duplicate)
			store->stats.duplicates++;
	} else {
		store->stats.failed++;
	}
	rec->done(rec, result);
}

/* Which intake parameters are binary arrays (the rest are text). */
static bool intake_param_binary(int i)
{
	return i == 0 || i == 3 || i == 11 || i == 12 || i == 13 || i == 19;
}

static int send_intake_batch(struct pgconn *pc, struct batch *b)
{
	struct store_pg *store = pc->store;
	struct strbuf params[INTAKE_NPARAMS];
	memset(params, 0, sizeof(params));
	for (int i = 0; i < INTAKE_FIRST_SCALAR; i++) {
		if (intake_param_binary(i))
			bin_array_begin(&params[i]);
		else
			sb_array_begin(&params[i]);
	}

	struct store_intake *rec;
	bool no_location = false;
	TAILQ_FOREACH(rec, &b->records, link)
	{
		const struct intake *in = rec->intake;
		bin_array_int8(&params[0], rec->ticket_id);
		sb_array_text(&params[1], rec->feed_code);
		sb_array_text(&params[2], in->external_id);
		bin_array_int8(&params[3], in->received_at_ms);
		sb_array_text(&params[4], in->channel);
		sb_array_text(&params[5], in->caller_phone);
		sb_array_text(&params[6], in->caller_name);
		sb_array_text(&params[7], in->category);
		sb_array_text(&params[8], in->content);
		sb_array_text(&params[9], in->district);
		sb_array_text(&params[10], in->address);
		if (in->has_location) {
			bin_array_float8(&params[11], in->lat);
			bin_array_float8(&params[12], in->lon);
		} else {
			bin_array_null(&params[11]);
			bin_array_null(&params[12]);
			no_location = true;
		}
		bin_array_int2(&params[13], (int16_t)(in->priority ? in->priority : 1));
		sb_array_text(&params[14], in->origin_number);
		sb_array_text(&params[15], ticket_state_name(rec->state));
		sb_array_text(&params[16], rec->dept_code);
		sb_array_text(&params[17], rec->route_rule);
		sb_array_text(&params[18], ticket_event_name(rec->route_event));
		bin_array_int8(&params[19], rec->deadline_at_ms);
		sb_array_text(&params[20], rec->state == TICKET_CLOSED ? in->answer : "");
	}
	const char *values[INTAKE_NPARAMS];
	int lengths[INTAKE_NPARAMS] = { 0 };
	int formats[INTAKE_NPARAMS] = { 0 };
	char window[32], at[32];
	snprintf(window, sizeof(window), "%ld", store->cfg->repeat_window_hours);
	snprintf(at, sizeof(at), "%lld", (long long)b->at_ms);
	for (int i = 0; i < INTAKE_FIRST_SCALAR; i++) {
		if (intake_param_binary(i)) {
			uint32_t oid = i == 13		    ? OID_INT2
				       : i == 11 || i == 12 ? OID_FLOAT8
							    : OID_INT8;
			bin_array_end(&params[i], oid, b->count,
				      (i == 11 || i == 12) && no_location);
			lengths[i] = (int)params[i].len;
			formats[i] = 1;
		} else {
			sb_putc(&params[i], '}');
		}
		values[i] = params[i].data;
	}
	values[21] = store->cfg->pg_timezone;
	values[22] = store->linked_state;
	values[23] = window;
	values[24] = ticket_event_name(TICKET_EV_LINK);
	values[25] = at;
	int ok = PQsendQueryParams(pc->pg, intake_sql, INTAKE_NPARAMS, NULL, values, lengths,
				   formats, 0);
	for (int i = 0; i < INTAKE_NPARAMS; i++)
		free(params[i].data);
	return ok ? 0 : -1;
}

static int send_feeds_batch(struct pgconn *pc)
{
	const struct hotline_config *cfg = pc->store->cfg;
	struct strbuf params[6];
	memset(params, 0, sizeof(params));
	for (int i = 0; i < 6; i++)
		sb_array_begin(&params[i]);
	for (size_t i = 0; i < cfg->nfeeds; i++) {
		const struct feed_config *feed = &cfg->feeds[i];
		sb_array_text(&params[0], feed->code);
		sb_array_text(&params[1], feed->name);
		sb_array_text(&params[2], config_join_mode_name(feed->mode));
		if (feed->dept)
			sb_array_text(&params[3], feed->dept);
		else
			sb_array_raw(&params[3], "NULL");
	}
	for (size_t i = 0; i < cfg->ndepts; i++) {
		sb_array_text(&params[4], cfg->depts[i].code);
		sb_array_text(&params[5], cfg->depts[i].name);
	}
	const char *values[6];
	for (int i = 0; i < 6; i++) {
		sb_putc(&params[i], '}');
		values[i] = params[i].data;
	}
	int ok = PQsendQueryParams(pc->pg, feeds_sql, 6, NULL, values, NULL, NULL, 0);
	for (int i = 0; i < 6; i++)
		free(params[i].data);
	return ok ? 0 : -1;
}

static int send_query_batch(struct pgconn *pc, struct batch *b)
{
	struct store_query *q = b->query;
	int ok = PQsendQueryParams(pc->pg, q->sql, q->nparams, NULL, (const char *const *)q->values,
				   NULL, NULL, 0);
	return ok ? 0 : -1;
}

/* Flushes libpq's output; arms the write event while data remains. */
static int pgconn_flush(struct pgconn *pc)
{
	int rc = PQflush(pc->pg);
	if (rc < 0)
		return -1;
	if (rc > 0)
		event_add(pc->ev_write, NULL);
	return 0;
}

/* Sends the next batch on an idle ready connection, if there is work. */
static void pgconn_dispatch(struct pgconn *pc)
{
	struct store_pg *store = pc->store;
	if (pc->state != PGCONN_READY || pc->batch)
		return;
	struct batch *b;
	int rc;
	if (store->queued > 0)
		ids_refill(store);
	bool intake_ready = store->queued > 0 && ids_available(store) > 0 &&
			    (!store->hooks.ready || store->hooks.ready(store->hooks.route_arg));
	if (store->feeds_dirty) {
		store->feeds_dirty = false;
		b = batch_new(BATCH_FEEDS);
		rc = send_feeds_batch(pc);
	} else if (!TAILQ_EMPTY(&store->queries) && !(intake_ready && store->last_was_query)) {
		/* Statements go first, but never twice in a row while intake waits: a
		 * flood of department actions must not starve the feeds. */
		store->last_was_query = true;
		b = batch_new(BATCH_QUERY);
		b->query = TAILQ_FIRST(&store->queries);
		TAILQ_REMOVE(&store->queries, b->query, link);
		store->queries_queued--;
		rc = send_query_batch(pc, b);
	} else if (intake_ready) {
		store->last_was_query = false;
		b = batch_take(store);
		if (b->count == 0) {
			/* The head record waits for a batch in flight (repeat_key):
			 * statements may go meanwhile. */
			batch_free(b);
			if (!TAILQ_EMPTY(&store->queries))
				store_kick(store);
			return;
		}
		rc = send_intake_batch(pc, b);
	} else {
		return;
	}
	pc->batch = b;
	pc->nulls = 0;
	if (rc != 0 || !PQpipelineSync(pc->pg) || pgconn_flush(pc) != 0) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	if (b->kind == BATCH_INTAKE) {
		store->stats.batches++;
		if (b->count > store->stats.batch_records_max)
			store->stats.batch_records_max = b->count;
	}
	struct timeval tv = { store->cfg->pg_query_timeout_ms / 1000,
			      (store->cfg->pg_query_timeout_ms % 1000) * 1000 };
	event_add(pc->ev_timer, &tv);
}

/* SQLSTATEs after which the same batch should simply be tried again later. */
static bool sqlstate_transient(const char *state)
{
	if (state[0] == '\0')
		return true; /* no server error: a client-side or connection failure */
	return strncmp(state, "08", 2) == 0 || /* connection exception */
	       strncmp(state, "40", 2) == 0 || /* serialization failure, deadlock */
	       strncmp(state, "53", 2) == 0 || /* insufficient resources */
	       strncmp(state, "57", 2) == 0 || /* operator intervention (shutdown) */
	       strncmp(state, "58", 2) == 0 || /* system error */
	       strcmp(state, "42P01") == 0 ||  /* undefined table: not migrated yet */
	       strcmp(state, "42703") == 0 ||  /* undefined column: not migrated yet */
	       strcmp(state, "25006") == 0;    /* read-only transaction (a standby) */
}

static void batch_take_rows(struct batch *b, PGresult *res)
{
	int rows = PQntuples(res);
	struct store_intake *rec = TAILQ_FIRST(&b->records);
	for (int row = 0; row < rows && rec; row++, rec = TAILQ_NEXT(rec, link)) {
		if (PQgetisnull(res, row, 1)) {
			rec->ticket_no[0] = '\0';
			continue;
		}
		snprintf(rec->ticket_no, sizeof(rec->ticket_no), "%s", PQgetvalue(res, row, 1));
		rec->duplicate = PQgetvalue(res, row, 2)[0] == 't';
		rec->outbox_id =
			PQgetisnull(res, row, 3) ? 0 : strtoll(PQgetvalue(res, row, 3), NULL, 10);
		/* The state stored (LINKED is decided in SQL): for the owner's counters. */
		if (!PQgetisnull(res, row, 4)) {
			int stored = ticket_state_from_name(PQgetvalue(res, row, 4));
			if (stored > 0)
				rec->state = stored;
		}
	}
	b->got_rows = rows == (int)b->count;
	if (!b->got_rows) {
		b->failed = true;
		snprintf(b->message, sizeof(b->message),
			 "intake statement returned %d rows for %zu", rows, b->count);
	}
}

/* The batch's Sync arrived: its transaction is over, one way or the other. */
static void batch_complete(struct pgconn *pc)
{
	struct store_pg *store = pc->store;
	struct batch *b = pc->batch;
	pc->batch = NULL;
	event_del(pc->ev_timer);
	pc->backoff_ms = 0;

	if (b->kind == BATCH_FEEDS) {
		/* Not retried at once (a statement that always fails would spin):
		 * the next connection to become ready syncs again. */
		if (b->failed)
			log_warn("store: syncing the feeds and departments tables failed (%s: %s); "
				 "retried at the next connection",
				 b->sqlstate, b->message);
		batch_free(b);
		return;
	}
	if (b->kind == BATCH_QUERY) {
		struct store_query *q = b->query;
		if (b->failed && sqlstate_transient(b->sqlstate)) {
			log_warn("store: statement not committed (%s%s%s); retrying", b->sqlstate,
				 b->sqlstate[0] ? ": " : "", b->message);
			batch_discard(store, b);
			pgconn_drop(pc, "transient error");
			return;
		}
		store->stats.queries++;
		if (b->failed)
			q->cb(q->arg, NULL, b->message[0] ? b->message : "statement failed");
		else
			q->cb(q->arg, b->result, NULL);
		if (b->result)
			PQclear(b->result);
		free(q);
		batch_free(b);
		return;
	}
	if (b->failed) {
		if (sqlstate_transient(b->sqlstate)) {
			log_warn("store: batch of %zu records not committed (%s%s%s); retrying",
				 b->count, b->sqlstate, b->sqlstate[0] ? ": " : "", b->message);
			batch_discard(store, b);
			pgconn_drop(pc, "transient error");
			return;
		}
		if (b->count > 1) {
			log_warn("store: batch of %zu records failed (%s: %s); retrying each alone",
				 b->count, b->sqlstate, b->message);
			batch_requeue(store, b, true);
			batch_free(b);
			return;
		}
		struct store_intake *rec = TAILQ_FIRST(&b->records);
		TAILQ_REMOVE(&b->records, rec, link);
		log_warn("store: feed=%s record refused by PostgreSQL (%s: %s)", rec->feed_code,
			 b->sqlstate, b->message);
		struct store_result result = { STORE_FAILED, NULL, false, b->message };
		record_finish(store, rec, &result);
		batch_free(b);
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
	batch_free(b);
}

/* Returns true when it kept res (the caller must not clear it). */
static bool pgconn_on_result(struct pgconn *pc, PGresult *res)
{
	struct batch *b = pc->batch;
	ExecStatusType st = PQresultStatus(res);
	switch (st) {
	case PGRES_TUPLES_OK:
	case PGRES_COMMAND_OK:
		if (b->kind == BATCH_INTAKE && st == PGRES_TUPLES_OK) {
			batch_take_rows(b, res);
		} else if (b->kind == BATCH_QUERY && !b->result) {
			b->result = res;
			return true; /* kept until the Sync */
		}
		break;
	case PGRES_PIPELINE_ABORTED:
		b->failed = true;
		break;
	case PGRES_PIPELINE_SYNC:
		batch_complete(pc);
		break;
	default: {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		b->failed = true;
		snprintf(b->sqlstate, sizeof(b->sqlstate), "%s", state ? state : "");
		snprintf(b->message, sizeof(b->message), "%s", msg ? msg : PQresStatus(st));
		break;
	}
	}
	return false;
}

/* Reads every result that is complete; stops when libpq needs more input. */
static void pgconn_drain_results(struct pgconn *pc)
{
	while (pc->state == PGCONN_READY && pc->batch) {
		if (PQisBusy(pc->pg))
			return;
		PGresult *res = PQgetResult(pc->pg);
		if (!res) {
			/* End of one statement's results; a second NULL in a row means
			 * nothing more is ready. */
			if (++pc->nulls > 1)
				return;
			continue;
		}
		pc->nulls = 0;
		if (!pgconn_on_result(pc, res))
			PQclear(res);
	}
	if (pc->state == PGCONN_READY && PQstatus(pc->pg) == CONNECTION_BAD)
		pgconn_drop(pc, PQerrorMessage(pc->pg));
}

static void on_pg_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (!PQconsumeInput(pc->pg)) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	pgconn_drain_results(pc);
	if (pc->state == PGCONN_READY)
		pgconn_dispatch(pc);
}

static void on_pg_writable(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (pgconn_flush(pc) != 0)
		pgconn_drop(pc, PQerrorMessage(pc->pg));
}

static void pgconn_free_events(struct pgconn *pc)
{
	if (pc->ev_read) {
		event_free(pc->ev_read);
		pc->ev_read = NULL;
	}
	if (pc->ev_write) {
		event_free(pc->ev_write);
		pc->ev_write = NULL;
	}
}

/*
 * Drops the connection: the batch in flight (if any) goes back to the queue,
 * since without its Sync nobody knows whether it committed; resending is safe
 * because intake is idempotent on (feed, external_id).
 */
static void pgconn_drop(struct pgconn *pc, const char *why)
{
	struct store_pg *store = pc->store;
	char reason[256];
	snprintf(reason, sizeof(reason), "%s", why && why[0] ? why : "unknown error");
	reason[strcspn(reason, "\n")] = '\0';
	if (pc->batch) {
		batch_discard(store, pc->batch);
		pc->batch = NULL;
	}
	if (pc->state == PGCONN_READY)
		store->stats.connections_ready--;
	pgconn_free_events(pc);
	if (pc->pg) {
		PQfinish(pc->pg);
		pc->pg = NULL;
	}
	/* Jitter (+0..25%) keeps many daemons from reconnecting in lockstep. */
	long delay = backoff_next(&pc->backoff_ms, store->cfg->pg_reconnect_min_ms,
				  store->cfg->pg_reconnect_max_ms, 0, 25, (unsigned long)random());
	log_warn("store: connection %d to PostgreSQL lost (%s); retrying in %ld ms", pc->index,
		 reason, delay);
	store->stats.reconnects++;
	pgconn_schedule_connect(pc, delay);
	store_kick(store); /* another ready connection may take the requeued work */
}

static void pgconn_became_ready(struct pgconn *pc)
{
	struct store_pg *store = pc->store;
	pgconn_free_events(pc);
	if (PQsetnonblocking(pc->pg, 1) != 0 || !PQenterPipelineMode(pc->pg)) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	pc->sock = PQsocket(pc->pg);
	pc->ev_read = event_new(store->base, pc->sock, EV_READ | EV_PERSIST, on_pg_readable, pc);
	pc->ev_write = event_new(store->base, pc->sock, EV_WRITE, on_pg_writable, pc);
	if (!pc->ev_read || !pc->ev_write)
		fatal("out of memory creating PostgreSQL events");
	event_add(pc->ev_read, NULL);
	pc->state = PGCONN_READY;
	store->stats.connections_ready++;
	/* Mirror the config again: the server may be a new one (failover, restore). */
	store->feeds_dirty = true;
	log_info("store: connection %d to PostgreSQL ready (server %d)", pc->index,
		 PQserverVersion(pc->pg));
	pgconn_dispatch(pc);
}

static void pgconn_connect_step(struct pgconn *pc);

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
	pgconn_connect_step(arg);
}

/* Advances PQconnectPoll and waits for whatever the socket must do next. */
static void pgconn_connect_step(struct pgconn *pc)
{
	struct store_pg *store = pc->store;
	PostgresPollingStatusType st = PQconnectPoll(pc->pg);
	pgconn_free_events(pc);
	switch (st) {
	case PGRES_POLLING_OK:
		pgconn_became_ready(pc);
		return;
	case PGRES_POLLING_FAILED:
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	case PGRES_POLLING_READING:
	case PGRES_POLLING_WRITING:
	default: {
		/* The socket can change between attempts (several hosts). */
		short ev = st == PGRES_POLLING_WRITING ? EV_WRITE : EV_READ;
		pc->ev_read = event_new(store->base, PQsocket(pc->pg), ev, on_connect_io, pc);
		if (!pc->ev_read)
			fatal("out of memory creating PostgreSQL events");
		event_add(pc->ev_read, NULL);
		return;
	}
	}
}

static void pgconn_begin_connect(struct pgconn *pc)
{
	const struct hotline_config *cfg = pc->store->cfg;
	/* Defaults first: anything in conninfo (expanded from dbname) overrides them.
	 * jit=off: the intake statement's estimated cost passes jit_above_cost, and
	 * compiling it anew for every batch costs more than it saves. */
	char options[96];
	snprintf(options, sizeof(options), "-c work_mem=%s -c jit=off", cfg->pg_work_mem);
	const char *keys[] = { "application_name",
			       "connect_timeout",
			       "keepalives",
			       "keepalives_idle",
			       "keepalives_interval",
			       "keepalives_count",
			       "options",
			       "dbname",
			       NULL };
	const char *values[] = { "hotlined",	   "10", "1", "30", "10", "3", options,
				 cfg->pg_conninfo, NULL };
	pc->pg = PQconnectStartParams(keys, values, 1);
	if (!pc->pg)
		fatal("out of memory starting a PostgreSQL connection");
	if (PQstatus(pc->pg) == CONNECTION_BAD) {
		pgconn_drop(pc, PQerrorMessage(pc->pg));
		return;
	}
	pc->state = PGCONN_CONNECTING;
	pgconn_connect_step(pc);
}

static void on_pgconn_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pgconn *pc = arg;
	if (pc->state == PGCONN_WAITING) {
		pgconn_begin_connect(pc);
	} else if (pc->state == PGCONN_READY && pc->batch) {
		char why[96];
		snprintf(why, sizeof(why), "no answer within query_timeout_ms = %ld",
			 pc->store->cfg->pg_query_timeout_ms);
		pgconn_drop(pc, why);
	}
}

static void pgconn_schedule_connect(struct pgconn *pc, long delay_ms)
{
	pc->state = PGCONN_WAITING;
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };
	event_add(pc->ev_timer, &tv);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct store_pg *store = arg;
	for (int i = 0; i < store->nconns &&
			(store->queued > 0 || store->feeds_dirty || store->queries_queued > 0);
	     i++)
		pgconn_dispatch(&store->conns[i]);
}

static void store_kick(struct store_pg *store)
{
	event_active(store->ev_kick, EV_TIMEOUT, 0);
}

struct store_pg *store_pg_new(struct event_base *base, const struct hotline_config *cfg)
{
	struct store_pg *store = calloc(1, sizeof(*store));
	if (!store)
		return NULL;
	store->base = base;
	store->cfg = cfg;
	TAILQ_INIT(&store->queue);
	TAILQ_INIT(&store->queries);
	store->nconns = (int)cfg->pg_connections;
	store->conns = calloc((size_t)store->nconns, sizeof(*store->conns));
	store->ev_kick = event_new(base, -1, 0, on_kick, store);
	store->ev_ids_retry = event_new(base, -1, 0, on_ids_retry, store);
	if (!store->conns || !store->ev_kick || !store->ev_ids_retry) {
		if (store->ev_kick)
			event_free(store->ev_kick);
		if (store->ev_ids_retry)
			event_free(store->ev_ids_retry);
		free(store->conns);
		free(store);
		return NULL;
	}
	for (int i = 0; i < store->nconns; i++) {
		struct pgconn *pc = &store->conns[i];
		pc->store = store;
		pc->index = i;
		pc->sock = -1;
		pc->state = PGCONN_WAITING;
		pc->ev_timer = event_new(base, -1, 0, on_pgconn_timer, pc);
		if (!pc->ev_timer)
			fatal("out of memory creating PostgreSQL timers");
	}
	store->feeds_dirty = true;
	/* Repeat complaints are linked in SQL (only the database knows the parent);
	 * the move itself is the state machine's, decided once here. */
	struct ticket_status cur, next;
	struct ticket_limits limits;
	struct ticket_event link = { TICKET_EV_LINK, 1, NULL, 0, NULL };
	char err[128];
	ticket_status_init(&cur);
	ticket_limits_default(&limits);
	if (ticket_transition(&cur, &link, &limits, &next, err, sizeof(err)) != TICKET_OK)
		fatal("the state machine refuses RECEIVED -> LINK: %s", err);
	store->linked_state = ticket_state_name(next.state);
	return store;
}

void store_pg_start(struct store_pg *store)
{
	for (int i = 0; i < store->nconns; i++)
		pgconn_schedule_connect(&store->conns[i], 0);
}

void store_pg_free(struct store_pg *store)
{
	if (!store)
		return;
	for (int i = 0; i < store->nconns; i++) {
		struct pgconn *pc = &store->conns[i];
		pgconn_free_events(pc);
		if (pc->ev_timer)
			event_free(pc->ev_timer);
		if (pc->pg)
			PQfinish(pc->pg);
		if (pc->batch) {
			/* Only at exit after shutdown_timeout_ms: these were never acked. */
			batch_discard(store, pc->batch);
			pc->batch = NULL;
		}
	}
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
	struct store_query *q;
	while ((q = TAILQ_FIRST(&store->queries)) != NULL) {
		TAILQ_REMOVE(&store->queries, q, link);
		free(q);
	}
	event_free(store->ev_kick);
	event_free(store->ev_ids_retry);
	free(store->ids);
	free(store->conns);
	free(store);
}

void store_pg_set_hooks(struct store_pg *store, const struct store_hooks *hooks)
{
	store->hooks = *hooks;
}

void store_pg_query(struct store_pg *store, const char *sql, int nparams, const char *const *values,
		    store_query_fn cb, void *arg)
{
	size_t size = sizeof(struct store_query) + (size_t)nparams * sizeof(char *);
	for (int i = 0; i < nparams; i++)
		if (values[i])
			size += strlen(values[i]) + 1;
	struct store_query *q = calloc(1, size);
	if (!q)
		fatal("out of memory queueing a statement");
	q->sql = sql;
	q->nparams = nparams;
	q->values = (char **)(q + 1);
	char *p = (char *)(q->values + nparams);
	for (int i = 0; i < nparams; i++) {
		if (!values[i]) {
			q->values[i] = NULL;
			continue;
		}
		size_t n = strlen(values[i]) + 1;
		memcpy(p, values[i], n);
		q->values[i] = p;
		p += n;
	}
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&store->queries, q, link);
	store->queries_queued++;
	store_kick(store);
}

void store_pg_submit(struct store_pg *store, struct store_intake *rec)
{
	rec->solo = false;
	rec->retries = 0;
	rec->ticket_no[0] = '\0';
	TAILQ_INSERT_TAIL(&store->queue, rec, link);
	store->queued++;
	store_kick(store);
}

size_t store_pg_pending(const struct store_pg *store)
{
	return store->queued + store->inflight;
}

void store_pg_kick(struct store_pg *store)
{
	store_kick(store);
}

void store_pg_config_changed(struct store_pg *store)
{
	store->feeds_dirty = true;
	store_kick(store);
}

void store_pg_get_stats(const struct store_pg *store, struct store_pg_stats *out)
{
	*out = store->stats;
	out->queries_queued = store->queries_queued;
	out->queued = store->queued;
	out->inflight = store->inflight;
}
